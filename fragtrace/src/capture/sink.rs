//! The capture sink: feeds the flight recorder while waiting; on a matching failure, writes
//! a bundle (snapshots now, the recording of the window around it, then the failing events
//! and SUMMARY.md once the window after it has passed).

use std::{
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use super::{
    bundle,
    flight::{Flight, Item},
    memcg,
    summary::{IncidentFacts, WindowStats, render},
};
use crate::{
    aggregate::ORDERS,
    definitions::Definitions,
    event::{Counters, Event, Failure},
    filter::EventFilter,
    host::{buddyinfo::{self, ZoneFree}, memcg::MemcgState, zones::ZoneSnapshot},
    identity::Workload,
    record::{Recorder, RecorderOptions, RecordingHeader},
    sink::{Sink, SinkError},
    timespec::format_utc,
    view::json::JsonLines,
};

/// Lines for the summary saying who a workload is.
pub fn identity_lines(w: &Workload) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(label) = w.pod_label() {
        let uid = w.container.pod_uid.as_deref().or(w.pod.pod_uid.as_deref());
        let uid = match uid {
            Some(uid) if !label.contains(uid) => format!(" (uid {uid})"),
            _ => String::new(),
        };
        lines.push(format!("pod: {label}{uid}"));
    }
    if let Some(id) = &w.container.container_id {
        let name = w.pod.container_name.as_deref().map(|n| format!(" \"{n}\"")).unwrap_or_default();
        let runtime = w.container.runtime.or(w.pod.runtime).map(|r| format!(", {}", serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())).unwrap_or_default();
        lines.push(format!("container: {id}{name}{runtime}"));
    }
    if let Some(q) = w.container.qos {
        lines.push(format!("QoS class: {}", serde_json::to_value(q).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()));
    }
    lines
}

pub struct CaptureOptions {
    /// Bundles go into subdirectories of this one.
    pub dir: PathBuf,
    pub before: Duration,
    pub after: Duration,
    /// Incidents to capture before stopping.
    pub count: u32,
    pub min_order: u32,
    pub filter: EventFilter,
    /// Header for each incident's recording (its `recording_id` is replaced per incident).
    pub header: RecordingHeader,
    /// Items the flight recorder keeps at most (a bound on memory in storms).
    pub max_items: usize,
}

struct Active {
    dir: PathBuf,
    recorder: Recorder,
    until_ns: u64,
    trigger: Failure,
    when: String,
    zones: Vec<ZoneFree>,
    memcg: Vec<MemcgState>,
    sysctls: Vec<(String, String)>,
    stats: WindowStats,
    failures: Vec<Failure>,
}

pub struct CaptureSink {
    options: CaptureOptions,
    flight: Flight,
    /// The stream's stacks, cgroups and workloads (see [`Sink::use_definitions`]).
    definitions: Definitions,
    active: Option<Active>,
    counters: Counters,
    /// The latest per-allocation probe state, written first into each incident's trace.
    alloc_probe: Option<crate::probe_status::AllocProbeState>,
    /// Bundles written so far.
    pub captured: Vec<PathBuf>,
}

/// Failing events kept per incident for `failures.jsonl` (a storm must not exhaust memory).
const MAX_FAILURES_KEPT: usize = 10_000;

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

fn unique_dir(parent: &Path, name: &str) -> PathBuf {
    let mut dir = parent.join(name);
    let mut n = 2;
    while dir.exists() {
        dir = parent.join(format!("{name}-{n}"));
        n += 1;
    }
    dir
}

impl CaptureSink {
    pub fn new(options: CaptureOptions) -> Self {
        let flight = Flight::new(options.before.as_nanos() as u64, options.max_items);
        Self {
            options,
            flight,
            definitions: Definitions::new(),
            active: None,
            counters: Counters::default(),
            alloc_probe: None,
            captured: Vec::new(),
        }
    }

    fn triggers(&self, event: &Event) -> Option<Failure> {
        let Event::Failure(f) = event else { return None };
        let path = self.definitions.cgroup_path(f.task.cgroup_id);
        let workload = self.definitions.workload(f.task.cgroup_id);
        (f.order >= self.options.min_order && self.options.filter.matches_with(event, path.as_deref(), workload.as_deref()))
            .then(|| f.clone())
    }

    fn count(stats: &mut WindowStats, event: &Event, pageblock_order: u32) {
        match event {
            Event::Failure(f) => {
                stats.failures += 1;
                stats.by_order[(f.order as usize).min(ORDERS - 1)] += 1;
            }
            Event::Extfrag(e) => {
                stats.extfrag += 1;
                stats.extfrag_fragmenting += u64::from(e.fragmenting(pageblock_order));
                stats.who_fragments.add(e, pageblock_order);
            }
            Event::Lost(l) => stats.lost += l.count,
            Event::Stall(_) | Event::Oom(_) => {}
        }
    }

    fn start(&mut self, trigger: Failure) -> Result<(), SinkError> {
        let header = &self.options.header;
        let wall = header.wall_ns(trigger.task.ts_ns);
        let when = format_utc(wall);
        std::fs::create_dir_all(&self.options.dir)?;
        let name = format!("{}-{}-order{}", when.replace(':', ""), sanitize(&trigger.task.comm), trigger.order);
        let dir = unique_dir(&self.options.dir, &name);
        std::fs::create_dir(&dir)?;
        // The state at the moment of the failure, before anything else takes time.
        let zones = buddyinfo::read().unwrap_or_default();
        let cgroup = self.definitions.cgroup_path(trigger.task.cgroup_id);
        let memcg = memcg::read_now(cgroup.as_deref());
        memcg::write_json(&dir, cgroup.as_deref(), &memcg)?;
        let sysctls = bundle::take(&dir)?;
        let mut incident_header = header.clone();
        incident_header.recording_id = format!("{}-{}", header.recording_id, self.captured.len() + 1);
        let mut recorder = Recorder::create(RecorderOptions { compress: true, ..RecorderOptions::new(dir.join("trace.ftr")) }, incident_header)
            .map_err(SinkError::from)?;
        // Everything defined so far: the flight recorder's events may refer to any of it.
        let all = self.definitions.all();
        for (id, frames) in &all.stacks {
            recorder.stack(*id, frames)?;
        }
        for (id, path) in &all.cgroups {
            recorder.cgroup(*id, path.as_deref())?;
        }
        for (id, w) in &all.workloads {
            recorder.workload(*id, w)?;
        }
        if let Some(state) = &self.alloc_probe {
            recorder.alloc_probe(state)?;
        }
        let mut stats = WindowStats { before_s: self.options.before.as_secs(), after_s: self.options.after.as_secs(), overflowed: self.flight.overflowed, ..Default::default() };
        let mut failures = Vec::new();
        let pageblock = header.kernel.pageblock_order;
        for item in self.flight.drain() {
            match item {
                Item::Event(e) => {
                    Self::count(&mut stats, &e, pageblock);
                    if let Event::Failure(f) = &e
                        && failures.len() < MAX_FAILURES_KEPT
                    {
                        failures.push(f.clone());
                    }
                    recorder.event(&e)?;
                }
                Item::Zones(z) => recorder.zones(&z)?,
                Item::Tick(ts, c) => recorder.tick(ts, &c)?,
            }
        }
        self.flight.overflowed = 0;
        eprintln!("fragtrace: order-{} failure of {} (pid {}) at {when}: capturing into {}", trigger.order, trigger.task.comm, trigger.task.pid, dir.display());
        self.active = Some(Active {
            dir,
            recorder,
            until_ns: trigger.task.ts_ns.saturating_add(self.options.after.as_nanos() as u64),
            trigger,
            when,
            zones,
            memcg,
            sysctls,
            stats,
            failures,
        });
        Ok(())
    }

    fn finish_incident(&mut self, counters: &Counters) -> Result<(), SinkError> {
        let Some(mut a) = self.active.take() else { return Ok(()) };
        a.recorder.finish(counters)?;
        let header = &self.options.header;
        // failures.jsonl: the foundation's per-event schema plus who the cgroup belongs to.
        // JsonLines only formats here (its own output is discarded).
        let json = JsonLines::new(std::io::sink(), header.kernel.gfp.clone(), header.kernel.pageblock_order).with_definitions(&self.definitions);
        let mut out = BufWriter::new(std::fs::File::create(a.dir.join("failures.jsonl"))?);
        for f in &a.failures {
            serde_json::to_writer(&mut out, &json.to_json(&Event::Failure(f.clone())))?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        let path = self.definitions.cgroup_path(a.trigger.task.cgroup_id);
        let identity = self.definitions.workload(a.trigger.task.cgroup_id).as_deref().map(identity_lines).unwrap_or_default();
        let stack = a.trigger.stack_id.and_then(|id| self.definitions.stack(id));
        let (path, stack) = (path.as_deref(), stack.as_deref());
        let text = render(&IncidentFacts {
            host: &header.hostname,
            kernel: &header.kernel.release,
            when: &a.when,
            trigger: &a.trigger,
            gfp: &header.kernel.gfp,
            stack,
            cgroup_path: path,
            identity,
            zones: &a.zones,
            page_size: header.kernel.page_size,
            sysctls: &a.sysctls,
            window: &a.stats,
            memcg: &a.memcg,
        });
        std::fs::write(a.dir.join("SUMMARY.md"), text)?;
        eprintln!("fragtrace: captured {}", a.dir.display());
        self.captured.push(a.dir);
        if self.captured.len() as u32 >= self.options.count {
            return Err(SinkError::Stopped);
        }
        Ok(())
    }
}

impl Sink for CaptureSink {
    fn alloc_probe(&mut self, state: &crate::probe_status::AllocProbeState) -> Result<(), SinkError> {
        self.alloc_probe = Some(*state);
        if let Some(a) = &mut self.active {
            a.recorder.alloc_probe(state)?;
        }
        Ok(())
    }

    fn use_definitions(&mut self, definitions: &Definitions) {
        self.definitions = definitions.clone();
    }

    // The definitions are in the shared table already; an incident being recorded
    // persists the new ones.
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        if let Some(a) = &mut self.active {
            a.recorder.stack(id, frames)?;
        }
        Ok(())
    }

    fn cgroup(&mut self, id: u64, path: Option<&str>) -> Result<(), SinkError> {
        if let Some(a) = &mut self.active {
            a.recorder.cgroup(id, path)?;
        }
        Ok(())
    }

    fn workload(&mut self, cgroup_id: u64, workload: &Workload) -> Result<(), SinkError> {
        if let Some(a) = &mut self.active {
            a.recorder.workload(cgroup_id, workload)?;
        }
        Ok(())
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        let pageblock = self.options.header.kernel.pageblock_order;
        if let Some(a) = &mut self.active {
            Self::count(&mut a.stats, event, pageblock);
            if let Event::Failure(f) = event
                && a.failures.len() < MAX_FAILURES_KEPT
            {
                a.failures.push(f.clone());
            }
            return a.recorder.event(event);
        }
        // Once `--count` bundles are written, events still drained while the session stops
        // must not start another incident (finish() would write it as a bundle too many).
        let done = self.captured.len() as u32 >= self.options.count;
        match self.triggers(event).filter(|_| !done) {
            Some(trigger) => {
                self.flight.push(Item::Event(event.clone()));
                self.start(trigger)
            }
            None => {
                self.flight.push(Item::Event(event.clone()));
                Ok(())
            }
        }
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        match &mut self.active {
            Some(a) => a.recorder.zones(snapshot),
            None => {
                self.flight.push(Item::Zones(snapshot.clone()));
                Ok(())
            }
        }
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.counters = *counters;
        match &mut self.active {
            Some(a) => {
                a.recorder.tick(ts_ns, counters)?;
                if ts_ns >= a.until_ns {
                    return self.finish_incident(counters);
                }
                Ok(())
            }
            None => {
                self.flight.push(Item::Tick(ts_ns, *counters));
                Ok(())
            }
        }
    }

    /// Stopped early (signal, timeout): an incident in progress is finished with what it has.
    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        match self.finish_incident(counters) {
            Ok(()) | Err(SinkError::Stopped) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Task;

    fn failure(ts_ns: u64) -> Event {
        let task = Task { ts_ns, cpu: 0, pid: 7, tgid: 7, cgroup_id: 1, comm: "runc:[1:CHILD]".into() };
        Event::Failure(Failure { task, order: 5, gfp_mask: 0xcc0, migratetype: 0, stack_id: None, ancestry: vec![], captured_cgroup: None, hook: Default::default() })
    }

    #[test]
    fn a_failure_drained_after_the_last_bundle_starts_no_other() {
        let dir = std::env::temp_dir().join(format!("fragtrace-capture-count-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let options = CaptureOptions {
            dir: dir.clone(),
            before: Duration::from_secs(1),
            after: Duration::from_millis(100),
            count: 1,
            min_order: 0,
            filter: EventFilter::default(),
            header: crate::record::tests::header(),
            max_items: 1000,
        };
        let mut sink = CaptureSink::new(options);
        let s = 1_000_000_000;
        sink.event(&failure(s)).unwrap();
        assert!(matches!(sink.tick(2 * s, &Counters::default()), Err(SinkError::Stopped)), "--count 1 reached");
        // The session drains what is left before it stops: one more matching failure.
        sink.event(&failure(2 * s + 1)).unwrap();
        sink.finish(&Counters::default()).unwrap();
        let bundles = std::fs::read_dir(&dir).unwrap().count();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(bundles, 1, "exactly --count bundles");
    }
}
