//! Replaying one or more trace files (the parts of a rotated recording, or several
//! recordings) into sinks, exactly as a live session would feed them: filters, a time
//! window, optional pacing at recorded speed, and warnings for damage instead of failure.

use std::{
    collections::HashMap,
    fmt,
    path::PathBuf,
    time::{Duration, Instant},
};

use rustc_hash::FxHashMap;

use super::{
    reader::{ReadError, RecordingFile, Step},
    records::{BlockDecoder, Record},
};
use crate::{
    definitions::Definitions,
    event::Counters,
    filter::EventFilter,
    identity::Workload,
    sink::{Sink, SinkError},
};

#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    pub filter: EventFilter,
    /// Only what happened at or after this Unix time (ns).
    pub since_wall_ns: Option<u64>,
    /// Only what happened before this Unix time (ns).
    pub until_wall_ns: Option<u64>,
    /// Fail on the first warning instead of reading on.
    pub strict: bool,
    /// Replay at `speed` × recorded speed (sleeping between events) instead of at once.
    pub speed: Option<f64>,
}

/// Something wrong with the input that did not stop the replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// The file stops inside a block (recorder killed, disk full).
    Truncated { file: PathBuf, offset: u64, bytes: u64 },
    /// A block failed its checks; reading resumed after it.
    Damaged { file: PathBuf, offset: u64, skipped: u64, reason: String },
    /// A block's records could not be decoded past some point.
    BadRecords { file: PathBuf, offset: u64, reason: String },
    /// The last file of a recording has no end marker and was not cut inside a block.
    Interrupted { file: PathBuf },
    /// Parts of a rotated recording are missing between the ones given.
    MissingParts { recording_id: String, missing: Vec<u32> },
    /// The same part was given twice (e.g. `FILE` and a glob matching it); read once.
    DuplicatePart { file: PathBuf, same_as: PathBuf },
    /// Bytes after the end block (e.g. files concatenated); not read.
    TrailingData { file: PathBuf, offset: u64, bytes: u64 },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Truncated { file, offset, bytes } => write!(
                f,
                "{}: the file ends inside a block (the recorder was killed or the disk filled); ignored its last {bytes} bytes from byte {offset}; every complete block was read",
                file.display()
            ),
            Warning::Damaged { file, offset, skipped, reason } => write!(
                f,
                "{}: damaged block at byte {offset} ({reason}); skipped {skipped} bytes and read on",
                file.display()
            ),
            Warning::BadRecords { file, offset, reason } => {
                write!(f, "{}: block at byte {offset} has undecodable records ({reason}); kept the ones before", file.display())
            }
            Warning::Interrupted { file } => write!(
                f,
                "{}: no end marker: the recorder was interrupted; showing everything it wrote",
                file.display()
            ),
            Warning::MissingParts { recording_id, missing } => {
                write!(f, "recording {recording_id}: parts {missing:?} are missing; events in them are not shown")
            }
            Warning::DuplicatePart { file, same_as } => {
                write!(f, "{} is the same recording part as {}; read once", file.display(), same_as.display())
            }
            Warning::TrailingData { file, offset, bytes } => {
                write!(f, "{}: {bytes} bytes after the end of the recording at byte {offset} were not read", file.display())
            }
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ReplayReport {
    /// Events delivered (after filters and window).
    pub events: u64,
    /// Events read, before filters and window.
    pub events_read: u64,
    /// The last counters in the input (the final ones when `clean_end`).
    pub counters: Counters,
    /// The last part ended with an end marker that closes the recording.
    pub clean_end: bool,
    pub warnings: Vec<Warning>,
    /// CLOCK_MONOTONIC of the first and last event read.
    pub first_ts_ns: Option<u64>,
    pub last_ts_ns: Option<u64>,
    /// CLOCK_MONOTONIC of the last timestamped record of any kind (ticks included).
    pub end_ts_ns: Option<u64>,
}

/// The parts of one recording, opened and in part order, plus warnings about duplicates.
pub struct Recording {
    pub files: Vec<RecordingFile>,
    pub duplicates: Vec<Warning>,
}

impl Recording {
    /// The first part's header: host, kernel and clock anchors shared by every part.
    pub fn header(&self) -> &super::RecordingHeader {
        &self.files[0].header
    }
}

/// Opens every file, which must all be parts of one recording (ids, GFP tables and clocks
/// differ between recordings, so mixing them would misattribute stacks and cgroups), and
/// orders them by part. A part given twice is read once.
pub fn open_all(paths: &[PathBuf]) -> Result<Recording, ReadError> {
    if paths.is_empty() {
        return Err(ReadError::Strict("no recording given".into()));
    }
    let mut files = paths.iter().map(|p| RecordingFile::open(p)).collect::<Result<Vec<_>, _>>()?;
    let mut by_id: HashMap<&str, Vec<String>> = HashMap::new();
    for f in &files {
        by_id.entry(&f.header.recording_id).or_default().push(f.path.display().to_string());
    }
    if by_id.len() > 1 {
        let mut groups: Vec<String> = by_id.into_iter().map(|(id, names)| format!("{id}: {}", names.join(" "))).collect();
        groups.sort();
        return Err(ReadError::MixedRecordings { count: groups.len(), detail: groups.join("; ") });
    }
    files.sort_by_key(|f| f.header.part);
    let mut duplicates = Vec::new();
    let mut kept: Vec<RecordingFile> = Vec::with_capacity(files.len());
    for f in files {
        match kept.last() {
            Some(last) if last.header.part == f.header.part => {
                duplicates.push(Warning::DuplicatePart { file: f.path.clone(), same_as: last.path.clone() });
            }
            _ => kept.push(f),
        }
    }
    Ok(Recording { files: kept, duplicates })
}

/// Gaps between the parts given (a missing oldest part is what `--keep` does, so only gaps
/// between given parts count).
fn missing_parts(files: &[RecordingFile]) -> Option<Warning> {
    let parts: Vec<u32> = files.iter().map(|f| f.header.part).collect();
    let missing: Vec<u32> = parts.windows(2).flat_map(|w| w[0] + 1..w[1]).collect();
    (!missing.is_empty()).then(|| Warning::MissingParts { recording_id: files[0].header.recording_id.clone(), missing })
}

/// Slowest and fastest replay speeds accepted (`top --replay --speed`).
pub const SPEED_RANGE: std::ops::RangeInclusive<f64> = 0.001..=1_000_000.0;
/// A recorded gap longer than this (a damaged timestamp, a suspended machine) is replayed
/// as this long rather than waited out.
const MAX_PAUSE: Duration = Duration::from_secs(10);
const PACE_SLICE: Duration = Duration::from_millis(10);

struct Pacer {
    speed: f64,
    origin: Option<(u64, Instant)>,
}

impl Pacer {
    fn wait_for(&mut self, ts_ns: u64) {
        let (ts0, t0) = *self.origin.get_or_insert((ts_ns, Instant::now()));
        let recorded = Duration::from_nanos(ts_ns.saturating_sub(ts0));
        let due = Duration::try_from_secs_f64(recorded.as_secs_f64() / self.speed).unwrap_or(Duration::MAX);
        match due.checked_sub(t0.elapsed()) {
            Some(sleep) if sleep > MAX_PAUSE => {
                std::thread::sleep(MAX_PAUSE);
                // Re-anchor so what follows keeps its recorded spacing.
                self.origin = Some((ts_ns, Instant::now()));
            }
            // Sleeping per event would cost a syscall per event at storm rates: catch up in
            // slices of at least PACE_SLICE instead (the view refreshes once a second anyway).
            Some(sleep) if sleep >= PACE_SLICE => std::thread::sleep(sleep),
            _ => {}
        }
    }
}

/// Stack definitions passed on at most, and frames per stack (PERF_MAX_STACK_DEPTH).
pub(super) const MAX_STACKS: usize = 65_536;
const MAX_FRAMES: usize = 127;
/// Cgroup and workload definitions remembered at most; past it they start over.
const MAX_DEFINITIONS: usize = 262_144;

struct Replayer<'a, 's> {
    options: &'a ReplayOptions,
    sinks: &'a mut [&'s mut dyn Sink],
    report: ReplayReport,
    /// The file's definition records, shared with the sinks as a live session's are.
    definitions: Definitions,
    /// Cgroups defined by the file but not yet by the stream (no event of theirs passed
    /// the filters yet): the shared table holds only what the sinks were told.
    cgroups: FxHashMap<u64, Option<String>>,
    workloads: FxHashMap<u64, Workload>,
    pacer: Option<Pacer>,
    /// The window in this recording's CLOCK_MONOTONIC.
    window: (u64, u64),
}

impl Replayer<'_, '_> {
    fn warn(&mut self, warning: Warning) -> Result<(), ReadError> {
        if self.options.strict {
            return Err(ReadError::Strict(format!("{warning} (--strict)")));
        }
        self.report.warnings.push(warning);
        Ok(())
    }

    fn in_window(&self, ts: u64) -> bool {
        ts >= self.window.0 && ts < self.window.1
    }

    fn timed(&mut self, ts: u64) -> bool {
        self.report.end_ts_ns = Some(self.report.end_ts_ns.map_or(ts, |e| e.max(ts)));
        if !self.in_window(ts) {
            return false;
        }
        if let Some(p) = &mut self.pacer {
            p.wait_for(ts);
        }
        true
    }

    fn record(&mut self, record: Record) -> Result<(), SinkError> {
        match record {
            Record::Stack(id, frames) => {
                // A live session has at most 16 384 stack ids of at most 127 frames (the
                // kernel's stack map); a file claiming more is not allowed to cost more.
                if self.definitions.stack_count() < MAX_STACKS
                    && let Some(frames) = self.definitions.define_stack(id, &frames[..frames.len().min(MAX_FRAMES)])
                {
                    for s in self.sinks.iter_mut() {
                        s.stack(id, &frames)?;
                    }
                }
            }
            Record::Cgroup(id, path) => {
                if self.cgroups.len() >= MAX_DEFINITIONS && !self.cgroups.contains_key(&id) {
                    log::warn!("more than {MAX_DEFINITIONS} cgroup definitions: starting over (later events may show cgroup ids)");
                    self.cgroups.clear();
                    self.definitions.forget_cgroups();
                }
                self.cgroups.entry(id).or_insert(path);
            }
            Record::Workload(id, workload) => {
                if self.workloads.len() >= MAX_DEFINITIONS && !self.workloads.contains_key(&id) {
                    self.workloads.clear();
                }
                self.workloads.entry(id).or_insert(workload);
            }
            Record::Event(event) => self.event(event)?,
            Record::Counters(ts, counters) => {
                self.report.counters = counters;
                if self.timed(ts) {
                    for s in self.sinks.iter_mut() {
                        s.tick(ts, &counters)?;
                    }
                }
            }
            Record::Zones(z) => {
                if self.timed(z.ts_ns) {
                    for s in self.sinks.iter_mut() {
                        s.zones(&z)?;
                    }
                }
            }
            Record::AllocProbe(state) => {
                // Always passed on: a window that starts while the probe was attached must
                // still say so.
                for s in self.sinks.iter_mut() {
                    s.alloc_probe(&state)?;
                }
            }
        }
        Ok(())
    }

    fn event(&mut self, event: crate::event::Event) -> Result<(), SinkError> {
        let ts = event.ts_ns();
        self.report.events_read += 1;
        self.report.first_ts_ns = Some(self.report.first_ts_ns.map_or(ts, |f| f.min(ts)));
        self.report.last_ts_ns = Some(self.report.last_ts_ns.map_or(ts, |l| l.max(ts)));
        let cgroup = event.task().map(|t| t.cgroup_id);
        let path = match cgroup {
            Some(id) if self.options.filter.needs_cgroup_path() => self.cgroups.get(&id).and_then(|p| p.as_deref()),
            _ => None,
        };
        let workload = cgroup.and_then(|id| self.workloads.get(&id));
        if !self.options.filter.matches_with(&event, path, workload) || !self.timed(ts) {
            return Ok(());
        }
        if let Some(id) = cgroup
            && let Some(path) = self.cgroups.get(&id)
            && self.definitions.define_cgroup(id, path.as_deref())
        {
            let workload = self.workloads.get(&id);
            if let Some(w) = workload {
                self.definitions.define_workload(id, w.clone());
            }
            for s in self.sinks.iter_mut() {
                s.cgroup(id, path.as_deref())?;
                if let Some(w) = workload {
                    s.workload(id, w)?;
                }
            }
        }
        self.report.events += 1;
        for s in self.sinks.iter_mut() {
            s.event(&event)?;
        }
        Ok(())
    }

    fn file(&mut self, file: &RecordingFile, last_of_recording: bool) -> Result<(), ReadError> {
        let h = &file.header;
        self.window = (
            self.options.since_wall_ns.map_or(0, |w| h.monotonic_ns(w)),
            self.options.until_wall_ns.map_or(u64::MAX, |w| h.monotonic_ns(w)),
        );
        let mut blocks = file.blocks();
        let path = file.path.clone();
        loop {
            match blocks.next_step()? {
                Step::Data { offset } => {
                    let mut failed = None;
                    for record in BlockDecoder::new(blocks.data()) {
                        match record {
                            Ok(r) => match self.record(r) {
                                Ok(()) => {}
                                Err(SinkError::Stopped) => return Err(ReadError::Sink(SinkError::Stopped)),
                                Err(e) => return Err(e.into()),
                            },
                            Err(e) => failed = Some(e),
                        }
                    }
                    if let Some(e) = failed {
                        self.warn(Warning::BadRecords { file: path.clone(), offset, reason: e.to_string() })?;
                    }
                }
                Step::End { marker, trailing, .. } => {
                    self.report.counters = marker.counters;
                    self.report.clean_end = !marker.continued;
                    if marker.continued && last_of_recording {
                        self.warn(Warning::MissingParts { recording_id: h.recording_id.clone(), missing: vec![h.part + 1] })?;
                    }
                    if trailing > 0 {
                        self.warn(Warning::TrailingData { file: path, offset: file.len() - trailing, bytes: trailing })?;
                    }
                    return Ok(());
                }
                Step::Eof => {
                    self.report.clean_end = false;
                    return self.warn(Warning::Interrupted { file: path });
                }
                Step::Truncated { offset, bytes } => {
                    self.report.clean_end = false;
                    return self.warn(Warning::Truncated { file: path, offset, bytes });
                }
                Step::Damaged { offset, skipped, reason } => {
                    self.warn(Warning::Damaged { file: path.clone(), offset, skipped, reason })?;
                }
            }
        }
    }
}

/// Feeds every file to `sinks`, in order, then calls `finish` once. A sink returning
/// `SinkError::Stopped` ends the replay early without error.
pub fn replay(recording: &Recording, options: &ReplayOptions, sinks: &mut [&mut dyn Sink]) -> Result<ReplayReport, ReadError> {
    let files = &recording.files;
    let mut replayer = Replayer {
        options,
        sinks,
        report: ReplayReport::default(),
        definitions: Definitions::new(),
        cgroups: FxHashMap::default(),
        workloads: FxHashMap::default(),
        pacer: options.speed.map(|speed| Pacer { speed: speed.clamp(*SPEED_RANGE.start(), *SPEED_RANGE.end()), origin: None }),
        window: (0, u64::MAX),
    };
    for s in replayer.sinks.iter_mut() {
        s.use_definitions(&replayer.definitions);
    }
    for w in recording.duplicates.iter().cloned().chain(missing_parts(files)) {
        replayer.warn(w)?;
    }
    for (i, file) in files.iter().enumerate() {
        match replayer.file(file, i + 1 == files.len()) {
            Ok(()) => {}
            Err(ReadError::Sink(SinkError::Stopped)) => break,
            Err(e) => return Err(e),
        }
    }
    let counters = replayer.report.counters;
    for s in replayer.sinks.iter_mut() {
        match s.finish(&counters) {
            Ok(()) | Err(SinkError::Stopped) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(replayer.report)
}
