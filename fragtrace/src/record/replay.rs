//! Replaying one or more trace files (the parts of a rotated recording, or several
//! recordings) into sinks, exactly as a live session would feed them: filters, a time
//! window, optional pacing at recorded speed, and warnings for damage instead of failure.

use std::{
    collections::HashMap,
    fmt,
    path::PathBuf,
    time::{Duration, Instant},
};

use rustc_hash::{FxHashMap, FxHashSet};

use super::{
    reader::{ReadError, RecordingFile, Step},
    records::{BlockDecoder, Record},
};
use crate::{
    event::{Counters, Event},
    filter::EventFilter,
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
    /// The files come from more than one recording.
    MixedRecordings { count: usize },
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
            Warning::MixedRecordings { count } => {
                write!(f, "the files come from {count} different recordings; they are shown together")
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
    /// The (last) recording ended with an end marker.
    pub clean_end: bool,
    pub warnings: Vec<Warning>,
    /// CLOCK_MONOTONIC of the first and last event read.
    pub first_ts_ns: Option<u64>,
    pub last_ts_ns: Option<u64>,
    /// CLOCK_MONOTONIC of the last timestamped record of any kind (ticks included).
    pub end_ts_ns: Option<u64>,
}

/// Opens every file and orders them by recording start, then part.
pub fn open_all(paths: &[PathBuf]) -> Result<Vec<RecordingFile>, ReadError> {
    let mut files = paths.iter().map(|p| RecordingFile::open(p)).collect::<Result<Vec<_>, _>>()?;
    files.sort_by(|a, b| {
        (a.header.start_wall_ns, &a.header.recording_id, a.header.part).cmp(&(b.header.start_wall_ns, &b.header.recording_id, b.header.part))
    });
    Ok(files)
}

/// Gaps between parts of the same recording (a missing oldest part is what `--keep` does,
/// so only gaps between given parts count).
fn missing_parts(files: &[RecordingFile]) -> Vec<Warning> {
    let mut parts: HashMap<&str, Vec<u32>> = HashMap::new();
    for f in files {
        parts.entry(&f.header.recording_id).or_default().push(f.header.part);
    }
    let mut warnings = Vec::new();
    if parts.len() > 1 {
        warnings.push(Warning::MixedRecordings { count: parts.len() });
    }
    let mut ids: Vec<_> = parts.into_iter().collect();
    ids.sort();
    for (id, mut ps) in ids {
        ps.sort_unstable();
        ps.dedup();
        let missing: Vec<u32> = ps.windows(2).flat_map(|w| w[0] + 1..w[1]).collect();
        if !missing.is_empty() {
            warnings.push(Warning::MissingParts { recording_id: id.to_string(), missing });
        }
    }
    warnings
}

struct Pacer {
    speed: f64,
    origin: Option<(u64, Instant)>,
}

impl Pacer {
    fn wait_for(&mut self, ts_ns: u64) {
        let (ts0, t0) = *self.origin.get_or_insert((ts_ns, Instant::now()));
        let due = Duration::from_secs_f64(ts_ns.saturating_sub(ts0) as f64 / 1e9 / self.speed);
        if let Some(sleep) = due.checked_sub(t0.elapsed()) {
            std::thread::sleep(sleep);
        }
    }
}

struct Replayer<'a, 's> {
    options: &'a ReplayOptions,
    sinks: &'a mut [&'s mut dyn Sink],
    report: ReplayReport,
    stacks_sent: FxHashSet<u32>,
    cgroups: FxHashMap<u64, Option<String>>,
    cgroups_sent: FxHashSet<u64>,
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
                if self.stacks_sent.insert(id) {
                    for s in self.sinks.iter_mut() {
                        s.stack(id, &frames)?;
                    }
                }
            }
            Record::Cgroup(id, path) => {
                self.cgroups.entry(id).or_insert(path);
            }
            Record::Event(event) => {
                let ts = event.ts_ns();
                self.report.events_read += 1;
                self.report.first_ts_ns = Some(self.report.first_ts_ns.map_or(ts, |f| f.min(ts)));
                self.report.last_ts_ns = Some(self.report.last_ts_ns.map_or(ts, |l| l.max(ts)));
                let cgroup = match &event {
                    Event::Failure(f) => Some(f.task.cgroup_id),
                    Event::Extfrag(e) => Some(e.task.cgroup_id),
                    Event::Lost(_) => None,
                };
                let path = match cgroup {
                    Some(id) if self.options.filter.needs_cgroup_path() => self.cgroups.get(&id).and_then(|p| p.as_deref()),
                    _ => None,
                };
                if !self.options.filter.matches(&event, path) || !self.timed(ts) {
                    return Ok(());
                }
                if let Some(id) = cgroup.filter(|id| !self.cgroups_sent.contains(id))
                    && let Some(path) = self.cgroups.get(&id)
                {
                    self.cgroups_sent.insert(id);
                    for s in self.sinks.iter_mut() {
                        s.cgroup(id, path.as_deref())?;
                    }
                }
                self.report.events += 1;
                for s in self.sinks.iter_mut() {
                    s.event(&event)?;
                }
            }
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
                Step::End { marker, .. } => {
                    self.report.counters = marker.counters;
                    self.report.clean_end = !marker.continued;
                    if marker.continued && last_of_recording {
                        self.warn(Warning::MissingParts { recording_id: h.recording_id.clone(), missing: vec![h.part + 1] })?;
                    }
                    return Ok(());
                }
                Step::Eof => {
                    self.report.clean_end = false;
                    if last_of_recording {
                        return self.warn(Warning::Interrupted { file: path });
                    }
                    return Ok(());
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
pub fn replay(files: &[RecordingFile], options: &ReplayOptions, sinks: &mut [&mut dyn Sink]) -> Result<ReplayReport, ReadError> {
    let mut replayer = Replayer {
        options,
        sinks,
        report: ReplayReport::default(),
        stacks_sent: FxHashSet::default(),
        cgroups: FxHashMap::default(),
        cgroups_sent: FxHashSet::default(),
        pacer: options.speed.filter(|s| *s > 0.0).map(|speed| Pacer { speed, origin: None }),
        window: (0, u64::MAX),
    };
    for w in missing_parts(files) {
        replayer.warn(w)?;
    }
    for (i, file) in files.iter().enumerate() {
        let last = files.get(i + 1).is_none_or(|next| next.header.recording_id != file.header.recording_id);
        match replayer.file(file, last) {
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
