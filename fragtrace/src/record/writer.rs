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
    format::{BlockHeader, BlockKind, Codec, EndMarker, MAX_BLOCK_LEN, RecordingHeader, file_header, part_path},
    records::BlockEncoder,
};
use crate::{
    event::{Counters, Event},
    host::zones::ZoneSnapshot,
    identity::Workload,
    probe_status::AllocProbeState,
    sink::{Sink, SinkError},
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
    workloads: HashMap<u64, Workload>,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    out: Vec<u8>,
    file_bytes: u64,
    file_events: u64,
    total_bytes: u64,
    total_events: u64,
    counters: Counters,
}

/// Creates `path` with mode 0600. Always a new inode: with `overwrite` an existing file (or a
/// symlink planted there) is unlinked first rather than truncated, so root never writes
/// through a link and the mode is 0600 whatever the old file's was.
fn create_file(path: &Path, overwrite: bool) -> Result<File, RecordError> {
    if overwrite {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RecordError::Create(path.display().to_string(), e)),
        }
    }
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| match e.kind() {
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

/// Every `base.<n>` (n a number) next to `base`, in no particular order.
fn existing_parts(base: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (base.parent(), base.file_name()) else { return Vec::new() };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let prefix = format!("{}.", name.to_string_lossy());
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.strip_prefix(&prefix).is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|e| dir.join(e.file_name()))
        .collect()
}

/// Largest zone snapshot text stored: /proc/pagetypeinfo on a big NUMA machine is tens of
/// KiB; anything beyond this is cut (with a marker) so a record always fits a block.
const MAX_SNAPSHOT_TEXT: usize = 1 << 20;

fn capped(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_SNAPSHOT_TEXT {
        return text.into();
    }
    let mut cut = MAX_SNAPSHOT_TEXT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n[fragtrace: cut at {MAX_SNAPSHOT_TEXT} bytes]\n", &text[..cut]).into()
}

impl Recorder {
    /// Creates the first file (mode 0600; refusing to overwrite it, or a rotated part next
    /// to it, unless `force`) and writes the file header and the recording header.
    pub fn create(options: RecorderOptions, mut header: RecordingHeader) -> Result<Self, RecordError> {
        // Parts of an earlier recording (any FILE.<n>, with gaps where --keep deleted some)
        // would collide with ours at rotation and be mixed into `report FILE*`.
        let stale = existing_parts(&options.path);
        if options.force {
            for part in stale {
                std::fs::remove_file(&part).map_err(|e| RecordError::RemoveStale(part.display().to_string(), e))?;
            }
        } else if let Some(first) = stale.into_iter().next().filter(|_| options.max_size.is_some()) {
            return Err(RecordError::Exists(first.display().to_string()));
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
            workloads: HashMap::new(),
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

    /// Writes the current data block, if any, and rotates when the file is full (unless
    /// this is the last block: finishing never starts an empty part).
    fn seal(&mut self, may_rotate: bool) -> Result<(), RecordError> {
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
        // Cannot happen with capped snapshots and 64 KiB blocks; checked so a reader never
        // sees a block it must reject.
        debug_assert!(raw.len() <= MAX_BLOCK_LEN as usize);
        self.file_events += self.block.events();
        self.block.clear();
        self.write_out()?;
        if may_rotate && self.options.max_size.is_some_and(|max| self.file_bytes >= max) {
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
        let part = self.header.part + 1;
        let next_path = part_path(&self.options.path, part);
        // Open the next part before marking this one `continued`, so a failure here leaves
        // a file that honestly ends the recording. `create` removed stale parts.
        let next = create_file(&next_path, false)?;
        self.end_file(true)?;
        self.header.part = part;
        self.file_path = next_path;
        self.file = next;
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
            Event::Extfrag(e) => (&e.task, e.stack_id),
            Event::Stall(s) => (&s.task, None),
            Event::Oom(o) => (&o.task, None),
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
            if let Some(w) = self.workloads.get(&cgroup) {
                self.block.define_workload(cgroup, w);
            }
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

    fn workload(&mut self, cgroup_id: u64, workload: &Workload) -> Result<(), SinkError> {
        self.workloads.insert(cgroup_id, workload.clone());
        Ok(())
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.define_for(event);
        self.block.event(event);
        self.total_events += 1;
        if self.block.len() >= self.options.block_bytes {
            self.seal(true)?;
        }
        Ok(())
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        let capped = ZoneSnapshot {
            ts_ns: snapshot.ts_ns,
            buddyinfo: capped(&snapshot.buddyinfo).into_owned(),
            pagetypeinfo: snapshot.pagetypeinfo.as_deref().map(|p| capped(p).into_owned()),
        };
        self.block.zones(&capped);
        if self.block.len() >= self.options.block_bytes {
            self.seal(true)?;
        }
        Ok(())
    }

    fn alloc_probe(&mut self, state: &AllocProbeState) -> Result<(), SinkError> {
        self.block.alloc_probe(state);
        Ok(())
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.counters = *counters;
        self.block.counters(ts_ns, counters);
        Ok(self.seal(true)?)
    }

    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        self.counters = *counters;
        self.seal(false)?;
        Ok(self.end_file(false)?)
    }
}
