//! Trace file format, version 2 (described in docs/file-format.md).
//!
//! ```text
//! file   := file_header block*
//! file_header (16 bytes) := "FRAGTRCE" | u32 version | u32 flags
//! block  := block_header (24 bytes) | payload
//! block_header := "FTBK" | u8 kind | u8 codec | u16 0 | u32 stored_len | u32 raw_len
//!               | u32 crc32(payload as stored) | u32 crc32(block_header[0..20])
//! ```
//! All integers little-endian. The header checksum makes a block's length trustworthy, so a
//! damaged payload is skipped exactly; a damaged header is skipped by scanning for the next
//! "FTBK" whose header checksum holds.

use serde::{Deserialize, Serialize};

use crate::{event::Counters, probe_status::{KernelInfo, ProbeMode}};

pub const MAGIC: &[u8; 8] = b"FRAGTRCE";
pub const VERSION: u32 = 2;
pub const FILE_HEADER_LEN: usize = 16;
pub const BLOCK_SYNC: &[u8; 4] = b"FTBK";
pub const BLOCK_HEADER_LEN: usize = 24;
/// A block larger than this (stored or decompressed) is corruption, not data.
pub const MAX_BLOCK_LEN: u32 = 16 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum BlockKind {
    /// JSON `RecordingHeader`; always the first block of a file.
    Header = 1,
    /// Records (see `records.rs`).
    Data = 2,
    /// JSON `EndMarker`: the file was closed cleanly.
    End = 3,
}

impl BlockKind {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::Header,
            2 => Self::Data,
            3 => Self::End,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Codec {
    None = 0,
    Zstd = 1,
}

impl Codec {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::None,
            1 => Self::Zstd,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    pub kind: u8,
    pub codec: u8,
    pub stored_len: u32,
    pub raw_len: u32,
    pub payload_crc: u32,
}

impl BlockHeader {
    pub fn encode(&self) -> [u8; BLOCK_HEADER_LEN] {
        let mut b = [0u8; BLOCK_HEADER_LEN];
        b[0..4].copy_from_slice(BLOCK_SYNC);
        b[4] = self.kind;
        b[5] = self.codec;
        b[8..12].copy_from_slice(&self.stored_len.to_le_bytes());
        b[12..16].copy_from_slice(&self.raw_len.to_le_bytes());
        b[16..20].copy_from_slice(&self.payload_crc.to_le_bytes());
        let crc = crc32fast::hash(&b[0..20]);
        b[20..24].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// `None` unless the sync bytes and the header checksum hold and the lengths are
    /// plausible: anything else is damage.
    pub fn parse(b: &[u8; BLOCK_HEADER_LEN]) -> Option<Self> {
        let le = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        if &b[0..4] != BLOCK_SYNC || crc32fast::hash(&b[0..20]) != le(20) {
            return None;
        }
        let header = Self { kind: b[4], codec: b[5], stored_len: le(8), raw_len: le(12), payload_crc: le(16) };
        (header.stored_len <= MAX_BLOCK_LEN && header.raw_len <= MAX_BLOCK_LEN).then_some(header)
    }
}

pub fn file_header() -> [u8; FILE_HEADER_LEN] {
    let mut b = [0u8; FILE_HEADER_LEN];
    b[0..8].copy_from_slice(MAGIC);
    b[8..12].copy_from_slice(&VERSION.to_le_bytes());
    b
}

/// Everything needed to interpret a recording on another machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingHeader {
    pub fragtrace_version: String,
    /// Random id shared by every part of one recording (rotation writes several files).
    pub recording_id: String,
    /// 0 for the first file, 1 for `FILE.1`, …
    pub part: u32,
    pub hostname: String,
    pub boot_id: String,
    /// Unix time of the recording's start, nanoseconds (the same in every part).
    pub start_wall_ns: u64,
    /// CLOCK_MONOTONIC at the same instant: event `ts_ns` − this + `start_wall_ns` is the
    /// event's wall-clock time.
    pub start_monotonic_ns: u64,
    pub command_line: Vec<String>,
    pub probe_mode: ProbeMode,
    /// What watched failures (`None` in recordings made before fexit hooks).
    #[serde(default)]
    pub failure_hooks: Option<crate::probe_status::FailureHooks>,
    /// The filters the recorder applied (`EventFilter::describe`), "" for none.
    pub filter: String,
    /// Tracepoint layouts, GFP name table, pageblock order, page size.
    pub kernel: KernelInfo,
    /// Extfrag fallbacks carry the stack of every this-many-th one per CPU
    /// (`event::EXTFRAG_STACK_EVERY`); `None` in recordings made before extfrag stacks.
    #[serde(default)]
    pub extfrag_stack_every: Option<u32>,
}

impl RecordingHeader {
    /// Wall-clock Unix nanoseconds of a CLOCK_MONOTONIC timestamp from this recording.
    pub fn wall_ns(&self, ts_ns: u64) -> u64 {
        self.start_wall_ns.saturating_add(ts_ns).saturating_sub(self.start_monotonic_ns)
    }

    /// The CLOCK_MONOTONIC timestamp of a wall-clock instant.
    pub fn monotonic_ns(&self, wall_ns: u64) -> u64 {
        self.start_monotonic_ns.saturating_add(wall_ns).saturating_sub(self.start_wall_ns)
    }
}

/// The payload of the `End` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndMarker {
    /// Kernel counters when the file was closed.
    pub counters: Counters,
    /// Events written to this file.
    pub events: u64,
    /// The recording continues in the next part (rotation), rather than ending here.
    pub continued: bool,
}

/// Path of part `part` of a recording written to `base` (`base`, `base.1`, `base.2`, …).
pub fn part_path(base: &std::path::Path, part: u32) -> std::path::PathBuf {
    if part == 0 {
        return base.to_path_buf();
    }
    let mut name = base.as_os_str().to_os_string();
    name.push(format!(".{part}"));
    name.into()
}
