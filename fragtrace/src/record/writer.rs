//! The recorder sink: writes a trace file as events arrive, flushing every tick so a crash
//! loses at most one tick of data.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Write},
    os::unix::fs::OpenOptionsExt,
    path::Path,
};

use bytes::{BufMut, BytesMut};
use fragtrace_ebpf::{ExtfragEvent, FailureEvent, EventHeader, ABI_VERSION, kind};
use thiserror::Error;

use super::format::{FILE_HEADER_LEN, FRAME_HEADER_LEN, FrameKind, MAGIC, RecordingHeader, StackFrame, VERSION};
use crate::{
    decode::{encode_extfrag, encode_failure},
    event::{Counters, Event},
    sink::{Sink, SinkError},
};

#[derive(Debug, Error)]
pub enum RecordError {
    #[error("{0} exists; pass --force to overwrite it")]
    Exists(String),
    #[error("creating {0}: {1}")]
    Create(String, std::io::Error),
    #[error("writing the header: {0}")]
    Header(#[from] SinkError),
}

pub struct Recorder {
    out: BufWriter<File>,
    frame: BytesMut,
    bytes_written: u64,
    events_written: u64,
}

impl Recorder {
    /// Creates `path` with mode 0600 (refusing to overwrite unless `force`) and writes the
    /// file header and the recording header.
    pub fn create(path: &Path, force: bool, header: &RecordingHeader) -> Result<Self, RecordError> {
        let mut options = OpenOptions::new();
        options.write(true).mode(0o600);
        if force {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        let file = options.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => RecordError::Exists(path.display().to_string()),
            _ => RecordError::Create(path.display().to_string(), e),
        })?;
        let mut recorder = Self { out: BufWriter::with_capacity(256 * 1024, file), frame: BytesMut::with_capacity(4096), bytes_written: 0, events_written: 0 };
        let mut file_header = Vec::with_capacity(FILE_HEADER_LEN);
        file_header.extend_from_slice(MAGIC);
        file_header.extend_from_slice(&VERSION.to_le_bytes());
        file_header.extend_from_slice(&0u32.to_le_bytes());
        recorder.out.write_all(&file_header).map_err(SinkError::from)?;
        recorder.bytes_written += FILE_HEADER_LEN as u64;
        recorder.write_json(FrameKind::Header, header)?;
        recorder.out.flush().map_err(SinkError::from)?;
        Ok(recorder)
    }

    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    pub fn events_written(&self) -> u64 {
        self.events_written
    }

    fn write_frame(&mut self, kind: FrameKind, payload: &[u8]) -> Result<(), SinkError> {
        self.frame.clear();
        self.frame.put_u32_le(payload.len() as u32);
        self.frame.put_u8(kind as u8);
        self.frame.put_bytes(0, 3);
        self.frame.put_u32_le(crc32fast::hash(payload));
        self.frame.put_slice(payload);
        self.out.write_all(&self.frame)?;
        self.bytes_written += (FRAME_HEADER_LEN + payload.len()) as u64;
        Ok(())
    }

    fn write_json<T: serde::Serialize>(&mut self, kind: FrameKind, value: &T) -> Result<(), SinkError> {
        let payload = serde_json::to_vec(value)?;
        self.write_frame(kind, &payload)
    }
}

/// Re-encodes a decoded event into its ABI record (the same bytes the probe wrote).
fn encode(event: &Event) -> Option<Vec<u8>> {
    let header = |k: u16, t: &crate::event::Task| {
        let mut comm = [0u8; 16];
        // The kernel's comm is at most 15 bytes; cut at a character boundary so the stored
        // name stays valid UTF-8.
        let mut n = t.comm.len().min(15);
        while !t.comm.is_char_boundary(n) {
            n -= 1;
        }
        comm[..n].copy_from_slice(&t.comm.as_bytes()[..n]);
        EventHeader { version: ABI_VERSION, kind: k, cpu: t.cpu, ts_ns: t.ts_ns, pid: t.pid, tgid: t.tgid, cgroup_id: t.cgroup_id, comm }
    };
    match event {
        Event::Failure(f) => Some(encode_failure(&FailureEvent {
            header: header(kind::FAILURE, &f.task),
            gfp_mask: f.gfp_mask,
            order: f.order,
            migratetype: f.migratetype,
            stack_id: f.stack_id.map_or(fragtrace_ebpf::NO_STACK, |id| id as i32),
            _pad: 0,
        })),
        Event::Extfrag(e) => Some(encode_extfrag(&ExtfragEvent {
            header: header(kind::EXTFRAG, &e.task),
            alloc_order: e.alloc_order,
            fallback_order: e.fallback_order,
            alloc_migratetype: e.alloc_migratetype,
            fallback_migratetype: e.fallback_migratetype,
            change_ownership: i32::from(e.change_ownership),
            _pad: 0,
        })),
        Event::Lost(_) => None,
    }
}

impl Sink for Recorder {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        self.write_json(FrameKind::Stack, &StackFrame { id, frames: frames.to_vec() })
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.events_written += 1;
        match (event, encode(event)) {
            (Event::Lost(lost), _) => self.write_json(FrameKind::Lost, lost),
            (_, Some(bytes)) => self.write_frame(FrameKind::Event, &bytes),
            (_, None) => Ok(()),
        }
    }

    fn tick(&mut self, _ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.write_json(FrameKind::Counters, counters)?;
        self.out.flush()?;
        Ok(())
    }

    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        self.write_json(FrameKind::End, counters)?;
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        Ok(())
    }
}
