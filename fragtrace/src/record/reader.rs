//! Reading a trace file back into the same event stream the live session produces.

use std::{io::Read, path::Path};

use thiserror::Error;

use super::format::{FILE_HEADER_LEN, FRAME_HEADER_LEN, FrameKind, MAGIC, MAX_FRAME_LEN, RecordingHeader, StackFrame, VERSION};
use crate::{
    decode::{DecodeError, decode},
    event::{Counters, Event, Lost},
    sink::{Sink, SinkError},
};

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
    #[error("not a fragtrace recording (bad magic)")]
    BadMagic,
    #[error("recording format version {0}; this fragtrace reads version {VERSION}")]
    Version(u32),
    #[error("the recording has no header frame")]
    NoHeader,
    #[error("frame at byte {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
    #[error("event at byte {offset}: {source}")]
    Decode { offset: u64, source: DecodeError },
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// How a replay ended.
#[derive(Clone, Debug, Default)]
pub struct ReplayStats {
    pub events: u64,
    /// The last counters in the file (the final ones when `clean_end`).
    pub counters: Counters,
    /// The file ended with an `End` frame.
    pub clean_end: bool,
    /// Bytes of an incomplete last frame that were ignored.
    pub truncated_bytes: u64,
}

pub struct Recording {
    pub header: RecordingHeader,
    data: Vec<u8>,
    /// Offset of the first frame after the header frame.
    pub(crate) body: usize,
}

struct RawFrame<'a> {
    kind: u8,
    payload: &'a [u8],
    offset: usize,
}

enum Next<'a> {
    Frame(RawFrame<'a>),
    End,
    Truncated(usize),
}

fn next_frame(data: &[u8], at: usize) -> Result<Next<'_>, ReadError> {
    if at == data.len() {
        return Ok(Next::End);
    }
    if data.len() - at < FRAME_HEADER_LEN {
        return Ok(Next::Truncated(data.len() - at));
    }
    let h = &data[at..at + FRAME_HEADER_LEN];
    let len = u32::from_le_bytes(h[0..4].try_into().expect("4 bytes"));
    if len > MAX_FRAME_LEN {
        return Err(ReadError::Corrupt { offset: at as u64, reason: format!("frame length {len} is implausible") });
    }
    let start = at + FRAME_HEADER_LEN;
    let Some(payload) = data.get(start..start + len as usize) else {
        return Ok(Next::Truncated(data.len() - at));
    };
    let crc = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
    if crc32fast::hash(payload) != crc {
        return Err(ReadError::Corrupt { offset: at as u64, reason: "checksum mismatch".into() });
    }
    Ok(Next::Frame(RawFrame { kind: h[4], payload, offset: at }))
}

fn json<T: serde::de::DeserializeOwned>(frame: &RawFrame<'_>) -> Result<T, ReadError> {
    serde_json::from_slice(frame.payload).map_err(|e| ReadError::Corrupt { offset: frame.offset as u64, reason: e.to_string() })
}

impl Recording {
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let mut data = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map_err(|e| ReadError::Io(path.display().to_string(), e))?;
        Self::from_bytes(data)
    }

    pub fn from_bytes(data: Vec<u8>) -> Result<Self, ReadError> {
        if data.len() < FILE_HEADER_LEN || &data[..8] != MAGIC {
            return Err(ReadError::BadMagic);
        }
        let version = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(ReadError::Version(version));
        }
        let (header, body) = match next_frame(&data, FILE_HEADER_LEN)? {
            Next::Frame(f) if f.kind == FrameKind::Header as u8 => (json(&f)?, f.offset + FRAME_HEADER_LEN + f.payload.len()),
            _ => return Err(ReadError::NoHeader),
        };
        Ok(Self { header, data, body })
    }

    /// Feeds every frame to `sinks`, in file order, as a live session would.
    pub fn replay(&self, sinks: &mut [&mut dyn Sink]) -> Result<ReplayStats, ReadError> {
        let mut stats = ReplayStats::default();
        let mut at = self.body;
        loop {
            let frame = match next_frame(&self.data, at)? {
                Next::Frame(f) => f,
                Next::End => break,
                Next::Truncated(n) => {
                    stats.truncated_bytes = n as u64;
                    break;
                }
            };
            at = frame.offset + FRAME_HEADER_LEN + frame.payload.len();
            match FrameKind::from_u8(frame.kind) {
                Some(FrameKind::Event) => {
                    let event = decode(frame.payload).map_err(|source| ReadError::Decode { offset: frame.offset as u64, source })?;
                    stats.events += 1;
                    for s in sinks.iter_mut() {
                        s.event(&event)?;
                    }
                }
                Some(FrameKind::Lost) => {
                    let lost: Lost = json(&frame)?;
                    stats.events += 1;
                    for s in sinks.iter_mut() {
                        s.event(&Event::Lost(lost.clone()))?;
                    }
                }
                Some(FrameKind::Stack) => {
                    let stack: StackFrame = json(&frame)?;
                    for s in sinks.iter_mut() {
                        s.stack(stack.id, &stack.frames)?;
                    }
                }
                Some(FrameKind::Counters) => {
                    stats.counters = json(&frame)?;
                    for s in sinks.iter_mut() {
                        s.tick(0, &stats.counters)?;
                    }
                }
                Some(FrameKind::End) => {
                    stats.counters = json(&frame)?;
                    stats.clean_end = true;
                }
                Some(FrameKind::Header) => {
                    return Err(ReadError::Corrupt { offset: frame.offset as u64, reason: "second header frame".into() });
                }
                // Unknown kinds from a newer minor writer are skipped, not fatal.
                None => log::debug!("skipping frame of unknown kind {} at {}", frame.kind, frame.offset),
            }
        }
        for s in sinks.iter_mut() {
            s.finish(&stats.counters)?;
        }
        Ok(stats)
    }
}
