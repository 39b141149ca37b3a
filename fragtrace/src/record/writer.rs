//! The recorder sink: events into self-contained, checksummed (optionally zstd-compressed)
//! blocks. A block is written when it reaches `block_bytes` and at every tick, so a crash
//! or `kill -9` loses at most the last tick's worth of events; a clean finish writes an `End`
//! block and fsyncs. With `max_size` the recording rotates to `FILE.1`, `FILE.2`, …, each
//! file readable on its own.

use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use thiserror::Error;

use super::{
    format::{BlockHeader, BlockKind, Codec, EndMarker, RecordingHeader, file_header, part_path},
    records::BlockEncoder,
};
use crate::{
    event::{Counters, Event},
    sink::{Sink, SinkError},
    zones::ZoneSnapshot,
};

/// Raw bytes per data block before it is sealed: big enough for zstd to find the
/// repetition between events, small enough that a damaged block loses little.
pub const DEFAULT_BLOCK_BYTES: usize = 64 * 1024;
/// zstd level: 3 is zstd's default and costs ~2 % CPU at incident event rates.
const ZSTD_LEVEL: i32 = 3;

#[derive(Debug, Error)]
pub enum RecordError {
    #[error("{0} exists; pass --force to overwrite it")]
    Exists(String),
    #[error("creating {0}: {1}")]
    Create(String, std::io::Error),
    #[error("removing the stale part {0}: {1}")]
    RemoveStale(String, std::io::Error),
    #[error("writing {0}: {1}")]
    Write(String, std::io::Error),
    #[error("zstd: {0}")]
    Compress(std::io::Error),
    #[error("encoding the header: {0}")]
    Header(#[from] serde_json::Error),
}

impl From<RecordError> for SinkError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Write(_, io) | RecordError::Create(_, io) | RecordError::Compress(io) | RecordError::RemoveStale(_, io) => SinkError::Io(io),
            RecordError::Header(j) => SinkError::Json(j),
            RecordError::Exists(p) => SinkError::Io(std::io::Error::new(std::io::ErrorKind::AlreadyExists, p)),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RecorderOptions {
    pub path: PathBuf,
    /// Overwrite an existing recording (and remove its stale rotated parts).
    pub force: bool,
    /// zstd-compress every block.
    pub compress: bool,
    /// Rotate to the next part once a file reaches this many bytes.
    pub max_size: Option<u64>,
    /// Keep at most this many parts, deleting the oldest (requires `max_size`).
    pub keep: Option<u32>,
    pub block_bytes: usize,
}

impl RecorderOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), force: false, compress: false, max_size: None, keep: None, block_bytes: DEFAULT_BLOCK_BYTES }
    }
}

pub struct Recorder {
    options: RecorderOptions,
    header: RecordingHeader,
    file: File,
    file_path: PathBuf,
    block: BlockEncoder,
    /// Every stack and cgroup seen, so each block can define the ones it uses.
    stacks: HashMap<u32, Vec<String>>,
    cgroups: HashMap<u64, Option<String>>,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    out: Vec<u8>,
    file_bytes: u64,
    file_events: u64,
    total_bytes: u64,
    total_events: u64,
    counters: Counters,
}

fn create_file(path: &Path, overwrite: bool) -> Result<File, RecordError> {
    let mut options = OpenOptions::new();
    options.write(true).mode(0o600);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => RecordError::Exists(path.display().to_string()),
        _ => RecordError::Create(path.display().to_string(), e),
    })
}

fn push_block(out: &mut Vec<u8>, kind: BlockKind, codec: Codec, raw_len: usize, payload: &[u8]) {
    let header = BlockHeader {
        kind: kind as u8,
        codec: codec as u8,
        stored_len: payload.len() as u32,
        raw_len: raw_len as u32,
        payload_crc: crc32fast::hash(payload),
    };
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(payload);
}

impl Recorder {
    /// Creates the first file (mode 0600; refusing to overwrite it, or a rotated part next
    /// to it, unless `force`) and writes the file header and the recording header.
    pub fn create(options: RecorderOptions, mut header: RecordingHeader) -> Result<Self, RecordError> {
        let display = |p: &Path| p.display().to_string();
        if options.force {
            // Stale parts of an earlier recording would be mistaken for ours by `report FILE*`.
            let mut part = 1;
            while let Ok(meta) = std::fs::symlink_metadata(part_path(&options.path, part)) {
                if meta.is_file() {
                    std::fs::remove_file(part_path(&options.path, part)).map_err(|e| RecordError::RemoveStale(display(&part_path(&options.path, part)), e))?;
                }
                part += 1;
            }
        } else if options.max_size.is_some() && part_path(&options.path, 1).exists() {
            return Err(RecordError::Exists(display(&part_path(&options.path, 1))));
        }
        header.part = 0;
        let file = create_file(&options.path, options.force)?;
        let compressor = if options.compress {
            Some(zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(RecordError::Compress)?)
        } else {
            None
        };
        let mut recorder = Self {
            file_path: options.path.clone(),
            options,
            header,
            file,
            block: BlockEncoder::default(),
            stacks: HashMap::new(),
            cgroups: HashMap::new(),
            compressor,
            out: Vec::with_capacity(DEFAULT_BLOCK_BYTES + 64),
            file_bytes: 0,
            file_events: 0,
            total_bytes: 0,
            total_events: 0,
            counters: Counters::default(),
        };
        recorder.start_file()?;
        Ok(recorder)
    }

    /// Bytes written to every part so far.
    pub fn bytes_written(&self) -> u64 {
        self.total_bytes
    }

    pub fn events_written(&self) -> u64 {
        self.total_events
    }

    /// The file being written now.
    pub fn current_path(&self) -> &Path {
        &self.file_path
    }

    pub fn part(&self) -> u32 {
        self.header.part
    }

    fn write_out(&mut self) -> Result<(), RecordError> {
        self.file.write_all(&self.out).map_err(|e| RecordError::Write(self.file_path.display().to_string(), e))?;
        self.file_bytes += self.out.len() as u64;
        self.total_bytes += self.out.len() as u64;
        self.out.clear();
        Ok(())
    }

    fn start_file(&mut self) -> Result<(), RecordError> {
        self.out.clear();
        self.out.extend_from_slice(&file_header());
        let json = serde_json::to_vec(&self.header)?;
        self.push_block(BlockKind::Header, Codec::None, json.len(), &json);
        self.write_out()
    }

    fn push_block(&mut self, kind: BlockKind, codec: Codec, raw_len: usize, payload: &[u8]) {
        push_block(&mut self.out, kind, codec, raw_len, payload);
    }

    /// Writes the current data block, if any, and rotates when the file is full.
    fn seal(&mut self) -> Result<(), RecordError> {
        if self.block.is_empty() {
            return Ok(());
        }
        let raw = self.block.bytes();
        let compressed = match &mut self.compressor {
            Some(c) => Some(c.compress(raw).map_err(RecordError::Compress)?),
            None => None,
        };
        match compressed {
            // Incompressible blocks (rare: tiny ones) are stored as they are.
            Some(z) if z.len() < raw.len() => push_block(&mut self.out, BlockKind::Data, Codec::Zstd, raw.len(), &z),
            _ => push_block(&mut self.out, BlockKind::Data, Codec::None, raw.len(), raw),
        }
        self.file_events += self.block.events();
        self.block.clear();
        self.write_out()?;
        if self.options.max_size.is_some_and(|max| self.file_bytes >= max) {
            self.rotate()?;
        }
        Ok(())
    }

    fn end_file(&mut self, continued: bool) -> Result<(), RecordError> {
        let end = EndMarker { counters: self.counters, events: self.file_events, continued };
        let json = serde_json::to_vec(&end)?;
        self.push_block(BlockKind::End, Codec::None, json.len(), &json);
        self.write_out()?;
        self.file.sync_all().map_err(|e| RecordError::Write(self.file_path.display().to_string(), e))
    }

    fn rotate(&mut self) -> Result<(), RecordError> {
        self.end_file(true)?;
        let part = self.header.part + 1;
        self.header.part = part;
        self.file_path = part_path(&self.options.path, part);
        // Parts after the first are always new files: `create` removed stale ones.
        self.file = create_file(&self.file_path, false)?;
        self.file_bytes = 0;
        self.file_events = 0;
        self.start_file()?;
        if let Some(keep) = self.options.keep.filter(|&k| k > 0 && part >= k) {
            let old = part_path(&self.options.path, part - keep);
            if let Err(e) = std::fs::remove_file(&old) {
                log::warn!("could not remove the old part {}: {e}", old.display());
            }
        }
        Ok(())
    }

    fn define_for(&mut self, event: &Event) {
        let (task, stack) = match event {
            Event::Failure(f) => (&f.task, f.stack_id),
            Event::Extfrag(e) => (&e.task, None),
            Event::Lost(_) => return,
        };
        if let Some(id) = stack.filter(|&id| !self.block.has_stack(id)) {
            let frames = self.stacks.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            self.block.define_stack(id, frames);
        }
        let cgroup = task.cgroup_id;
        if !self.block.has_cgroup(cgroup)
            && let Some(path) = self.cgroups.get(&cgroup)
        {
            self.block.define_cgroup(cgroup, path.as_deref());
        }
    }
}

impl Sink for Recorder {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        self.stacks.insert(id, frames.to_vec());
        Ok(())
    }

    fn cgroup(&mut self, id: u64, path: Option<&str>) -> Result<(), SinkError> {
        self.cgroups.insert(id, path.map(str::to_string));
        Ok(())
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.define_for(event);
        self.block.event(event);
        self.total_events += 1;
        if self.block.len() >= self.options.block_bytes {
            self.seal()?;
        }
        Ok(())
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        self.block.zones(snapshot);
        Ok(())
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.counters = *counters;
        self.block.counters(ts_ns, counters);
        Ok(self.seal()?)
    }

    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        self.counters = *counters;
        self.seal()?;
        Ok(self.end_file(false)?)
    }
}
