//! Trace file format, version 1 (described in docs/file-format.md).
//!
//! ```text
//! file   := magic "FRAGTRCE" | u32 version | u32 flags | frame*
//! frame  := u32 payload_len | u8 kind | 3 zero bytes | u32 crc32(payload) | payload
//! ```
//! All integers little-endian. Event payloads are the probe's ABI records verbatim (decoded
//! by the same length-checked decoder as live records); other payloads are JSON.

use serde::{Deserialize, Serialize};

use crate::probe::{KernelInfo, ProbeMode};

pub const MAGIC: &[u8; 8] = b"FRAGTRCE";
pub const VERSION: u32 = 1;
pub const FILE_HEADER_LEN: usize = 16;
pub const FRAME_HEADER_LEN: usize = 12;
/// A frame larger than this is corruption, not data.
pub const MAX_FRAME_LEN: u32 = 16 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// JSON `RecordingHeader`; always the first frame.
    Header = 1,
    /// A raw ABI record (`FailureEvent`/`ExtfragEvent`).
    Event = 2,
    /// JSON `StackFrame`: a symbolized kernel stack, written before the first event using it.
    Stack = 3,
    /// JSON `Lost`: ring-buffer drops noticed at this point.
    Lost = 4,
    /// JSON `Counters`: kernel counters, periodically and at the end.
    Counters = 5,
    /// JSON `Counters`: clean end of the recording.
    End = 6,
}

impl FrameKind {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::Header,
            2 => Self::Event,
            3 => Self::Stack,
            4 => Self::Lost,
            5 => Self::Counters,
            6 => Self::End,
            _ => return None,
        })
    }
}

/// Everything needed to interpret a recording on another machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingHeader {
    pub fragtrace_version: String,
    pub hostname: String,
    pub boot_id: String,
    /// Unix time of the start, nanoseconds.
    pub start_wall_ns: u64,
    /// CLOCK_MONOTONIC at the same instant: event `ts_ns` minus this plus `start_wall_ns` is
    /// the event's wall-clock time.
    pub start_monotonic_ns: u64,
    pub command_line: Vec<String>,
    pub probe_mode: ProbeMode,
    /// Byte order of the raw event records.
    pub little_endian: bool,
    pub kernel: KernelInfo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackFrame {
    pub id: u32,
    pub frames: Vec<String>,
}
