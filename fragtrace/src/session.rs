//! Drives a live session: ring buffer → decode → filter → sinks, with periodic counter
//! checks that turn ring-buffer drops into `Lost` events near the point they happened, and
//! periodic zone snapshots.

use std::{
    future::Future,
    os::fd::{AsRawFd, RawFd},
    sync::Arc,
    time::{Duration, Instant},
};

use rustc_hash::FxHashMap;
use thiserror::Error;
use tokio::io::{Interest, unix::AsyncFd};

use crate::{
    decode::{DecodeError, Decoded, decode_record},
    definitions::Definitions,
    event::{Counters, Event, Lost},
    filter::EventFilter,
    host::{cgroup::CgroupResolver, clock::monotonic_ns, kallsyms::Kallsyms, zones::ZoneSnapshot},
    identity::{Workload, WorkloadResolver},
    probe::{
        Probes,
        gate::{Gate, GateAction},
    },
    probe_status::{AllocProbeState, ArmReason, TracepointUse},
    sink::{Sink, SinkError},
};

/// How often drops are checked for while events flow, so a `Lost` event lands close to
/// where the drops happened (a counter read is one syscall).
const DROP_CHECK_EVERY: Duration = Duration::from_millis(100);

/// Pause after draining before waiting for the ring buffer again. The kernel wakes the
/// reader for the first record after it caught up, so without a pause a storm costs one
/// wake-up (and epoll round trip) per event; with it, at most 100 wake-ups a second, each
/// draining everything that arrived meanwhile. Only while the per-allocation probe is
/// attached: detached, the reader must react to a slow-path signal at once.
const DRAIN_PAUSE: Duration = Duration::from_millis(10);

#[derive(Debug, Error)]
pub enum SessionError {
    #[error("polling the ring buffer: {0}")]
    Poll(std::io::Error),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// What a finished session saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionStats {
    /// Events delivered to the sinks (after filters).
    pub events: u64,
    /// Events the filters dropped.
    pub filtered: u64,
    pub decode_errors: u64,
    pub counters: Counters,
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How often sinks get `tick` with fresh counters.
    pub tick: Duration,
    /// How often sinks get a zone snapshot (`None`: never).
    pub zones_every: Option<Duration>,
    pub filter: EventFilter,
}

/// Cgroups whose paths a session remembers at most (see [`Session::drain`]).
const MAX_CGROUPS_REMEMBERED: usize = 65_536;

/// Who an event belongs to, as far as [`Session::attribute`] looked.
#[derive(Default)]
struct Attribution {
    cgroup: Option<u64>,
    path: Option<Arc<str>>,
    workload: Option<Arc<Workload>>,
}

pub struct Session {
    probes: Probes,
    kallsyms: Kallsyms,
    cgroups: CgroupResolver,
    /// The stream's stacks, cgroups and workloads, shared with the sinks.
    definitions: Definitions,
    /// Paths resolved for cgroups not defined yet (all their events so far were filtered
    /// out): the table holds only what the sinks were told.
    undefined_cgroups: FxHashMap<u64, Option<Arc<str>>>,
    workloads: WorkloadResolver,
    reported_dropped: u64,
    last_drop_check: Instant,
    stats: SessionStats,
    gate: Gate,
    /// Gate changes not yet told to the sinks.
    pending_gate: Vec<AllocProbeState>,
}

impl Session {
    pub fn new(probes: Probes, kallsyms: Kallsyms, cgroups: CgroupResolver) -> Self {
        Self::with_workloads(probes, kallsyms, cgroups, WorkloadResolver::new(Vec::new()))
    }

    /// With a workload resolver searching extra OCI bundle roots (`--oci-root`).
    pub fn with_workloads(probes: Probes, kallsyms: Kallsyms, cgroups: CgroupResolver, workloads: WorkloadResolver) -> Self {
        let (tracepoint, probes_hold) = (probes.hooks.tracepoint, probes.alloc_hold);
        Self {
            probes,
            kallsyms,
            cgroups,
            workloads,
            definitions: Definitions::new(),
            undefined_cgroups: FxHashMap::default(),
            reported_dropped: 0,
            last_drop_check: Instant::now(),
            stats: SessionStats::default(),
            gate: Gate::new(tracepoint, probes_hold),
            pending_gate: Vec::new(),
        }
    }

    /// Applies a gate decision to the probes; the sinks hear of it at the next chance.
    fn apply_gate(&mut self, action: Option<GateAction>, now_ns: u64) {
        let Some(action) = action else { return };
        let (result, state) = match action {
            GateAction::Attach(reason) => {
                (self.probes.attach_alloc_probe(), AllocProbeState { attached: true, reason: Some(reason), since_ns: now_ns })
            }
            GateAction::Detach => (self.probes.detach_alloc_probe(), AllocProbeState { attached: false, reason: None, since_ns: now_ns }),
        };
        match result {
            Ok(()) => {
                log::debug!("per-allocation probe {}", if state.attached { "attached" } else { "detached" });
                self.pending_gate.push(state);
            }
            Err(e) => {
                log::warn!("per-allocation probe: {e}");
                self.gate.set_attached(self.probes.alloc_probe_attached());
            }
        }
    }

    fn tell_gate(&mut self, sinks: &mut [&mut dyn Sink]) -> Result<(), SinkError> {
        for state in self.pending_gate.drain(..) {
            for sink in sinks.iter_mut() {
                sink.alloc_probe(&state)?;
            }
        }
        Ok(())
    }


    /// The table this session fills; sinks look stacks, cgroups and workloads up in it.
    pub fn definitions(&self) -> &Definitions {
        &self.definitions
    }

    pub fn probes(&self) -> &Probes {
        &self.probes
    }

    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Runs until `stop` completes or a sink says `Stopped`, then drains what is left and
    /// calls `finish` on every sink.
    pub async fn run(
        &mut self,
        sinks: &mut [&mut dyn Sink],
        options: &RunOptions,
        stop: impl Future<Output = ()>,
    ) -> Result<SessionStats, SessionError> {
        // SAFETY: the fd belongs to `self.probes.ring`, which outlives `fd` (dropped below,
        // before this function returns).
        let fd = unsafe { AsyncFd::register_with_interest(self.probes.ring.as_raw_fd(), Interest::READABLE) }
            .map_err(|e| SessionError::Poll(std::io::Error::other(e.to_string())))?;
        for sink in sinks.iter_mut() {
            sink.use_definitions(&self.definitions);
        }
        let outcome = self.run_until(&fd, sinks, options, stop).await;
        drop(fd);
        match outcome {
            Ok(()) | Err(SinkError::Stopped) => {}
            Err(e) => return Err(e.into()),
        }
        self.finish(sinks, &options.filter)
    }

    /// The event loop: ring-buffer wake-ups, ticks and zone snapshots until `stop`.
    async fn run_until(
        &mut self,
        fd: &AsyncFd<RawFd>,
        sinks: &mut [&mut dyn Sink],
        options: &RunOptions,
        stop: impl Future<Output = ()>,
    ) -> Result<(), SinkError> {
        let mut ticker = tokio::time::interval(options.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut zone_timer = tokio::time::interval(options.zones_every.unwrap_or(Duration::from_secs(3600)));
        zone_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        self.announce_gate(sinks)?;
        loop {
            tokio::select! {
                ready = fd.readable() => {
                    let mut guard = ready.map_err(|e| SinkError::Io(std::io::Error::other(format!("polling the ring buffer: {e}"))))?;
                    guard.clear_ready();
                    self.on_wakeup(sinks, &options.filter).await?;
                }
                _ = ticker.tick() => self.on_tick(sinks, &options.filter)?,
                _ = zone_timer.tick(), if options.zones_every.is_some() => send_zones(sinks)?,
                () = &mut stop => return Ok(()),
            }
        }
    }

    /// The per-allocation probe's state at the start (`always` was attached by the loader:
    /// only the state is news), and the gate's first look at the counters.
    fn announce_gate(&mut self, sinks: &mut [&mut dyn Sink]) -> Result<(), SinkError> {
        let now = monotonic_ns();
        if self.gate.start(now).is_some() || self.probes.alloc_probe_attached() {
            self.gate.set_attached(self.probes.alloc_probe_attached());
            self.pending_gate.push(AllocProbeState { attached: true, reason: Some(ArmReason::Always), since_ns: now });
        } else if self.probes.hooks.tracepoint == TracepointUse::Off {
            self.pending_gate.push(AllocProbeState { attached: true, reason: Some(ArmReason::Fexit), since_ns: now });
        } else {
            self.pending_gate.push(AllocProbeState { attached: false, reason: None, since_ns: now });
        }
        self.gate.tick(now, self.probes.counters().slow_path, crate::probe::gate::read_pressure());
        self.tell_gate(sinks)
    }

    /// The ring buffer has records: drain them, check drops now and then, and pause while a
    /// storm is possible.
    async fn on_wakeup(&mut self, sinks: &mut [&mut dyn Sink], filter: &EventFilter) -> Result<(), SinkError> {
        self.drain(sinks, filter)?;
        if self.last_drop_check.elapsed() >= DROP_CHECK_EVERY {
            self.report_drops(sinks)?;
        }
        // Detached, every wake-up may be a slow-path signal that must be acted on at once;
        // only attached failure probes can produce a storm.
        if self.probes.alloc_probe_attached() || self.probes.hooks.tracepoint == TracepointUse::Off {
            tokio::time::sleep(DRAIN_PAUSE).await;
        }
        Ok(())
    }

    /// Periodic: drain, fresh counters (and drops), the gate's decision, then `tick`.
    fn on_tick(&mut self, sinks: &mut [&mut dyn Sink], filter: &EventFilter) -> Result<(), SinkError> {
        self.drain(sinks, filter)?;
        self.probes.flush_logs();
        let counters = self.report_drops(sinks)?;
        let now = monotonic_ns();
        let action = self.gate.tick(now, counters.slow_path, crate::probe::gate::read_pressure());
        self.apply_gate(action, now);
        self.tell_gate(sinks)?;
        for sink in sinks.iter_mut() {
            sink.tick(now, &counters)?;
        }
        Ok(())
    }

    /// After the stop: whatever is still in the ring buffer was observed before it, so it
    /// is delivered; then the final counters and `finish`.
    fn finish(&mut self, sinks: &mut [&mut dyn Sink], filter: &EventFilter) -> Result<SessionStats, SessionError> {
        match self.drain(sinks, filter) {
            Ok(()) | Err(SinkError::Stopped) => {}
            Err(e) => return Err(e.into()),
        }
        self.probes.flush_logs();
        let counters = self.report_drops(sinks)?;
        for sink in sinks.iter_mut() {
            match sink.finish(&counters) {
                Ok(()) | Err(SinkError::Stopped) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.stats.counters = counters;
        Ok(self.stats)
    }

    /// Drains the ring buffer: each record is decoded, signals the gate, is attributed to
    /// its cgroup and workload, filtered, has its new ids defined, and is delivered.
    fn drain(&mut self, sinks: &mut [&mut dyn Sink], filter: &EventFilter) -> Result<(), SinkError> {
        // Months of pod churn: now and then forget every resolved cgroup. The ones still
        // failing are resolved (and defined to the sinks) again on their next event.
        if self.definitions.cgroup_count() + self.undefined_cgroups.len() >= MAX_CGROUPS_REMEMBERED {
            self.definitions.forget_cgroups();
            self.undefined_cgroups.clear();
        }
        while let Some(decoded) = self.probes.ring.next().map(|item| decode_record(&item)) {
            let Some(mut event) = self.decode(decoded, sinks)? else { continue };
            self.signal_gate(&event, sinks)?;
            let who = self.attribute(&mut event, filter);
            if !filter.matches_with(&event, who.path.as_deref(), who.workload.as_deref()) {
                self.stats.filtered += 1;
                continue;
            }
            self.define(&event, who, sinks)?;
            self.deliver(&event, sinks)?;
        }
        Ok(())
    }

    /// An event, or `None` for a slow-path signal (acted on here) or an undecodable record.
    fn decode(&mut self, decoded: Result<Decoded, DecodeError>, sinks: &mut [&mut dyn Sink]) -> Result<Option<Event>, SinkError> {
        match decoded {
            Ok(Decoded::Event(event)) => Ok(Some(event)),
            Ok(Decoded::SlowPath { ts_ns, reason }) => {
                let reason = ArmReason::from_kernel(reason).unwrap_or(ArmReason::SlowPath);
                let action = self.gate.signal(ts_ns, reason);
                self.apply_gate(action, monotonic_ns());
                if action.is_some() {
                    let reaction_us = monotonic_ns().saturating_sub(ts_ns) / 1000;
                    log::debug!("per-allocation probe attached {reaction_us} µs after the slow-path entry ({})", reason.label());
                }
                self.tell_gate(sinks)?;
                Ok(None)
            }
            Err(e) => {
                self.stats.decode_errors += 1;
                log::warn!("skipping undecodable ring-buffer record: {e}");
                Ok(None)
            }
        }
    }

    /// Extfrag fallbacks and OOM kills are slow-path signals too.
    fn signal_gate(&mut self, event: &Event, sinks: &mut [&mut dyn Sink]) -> Result<(), SinkError> {
        let (ts, reason) = match event {
            Event::Extfrag(e) => (e.task.ts_ns, ArmReason::Extfrag),
            Event::Oom(o) => (o.task.ts_ns, ArmReason::OomKill),
            _ => return Ok(()),
        };
        let action = self.gate.signal(ts, reason);
        self.apply_gate(action, monotonic_ns());
        self.tell_gate(sinks)
    }

    /// The event's cgroup, and its path and workload where the filters or a first
    /// definition need them; the common case (storms in known cgroups) skips both lookups.
    fn attribute(&mut self, event: &mut Event, filter: &EventFilter) -> Attribution {
        let Some(id) = event.task().map(|t| t.cgroup_id) else { return Attribution::default() };
        // The kernel named the failing task's cgroup: better than any lookup, which could
        // lose the race with a cgroup removed right after the failure.
        let captured = match event {
            Event::Failure(f) => f.captured_cgroup.take(),
            _ => None,
        };
        let defined = self.definitions.cgroup(id);
        if defined.is_some() && !filter.needs_cgroup_path() {
            return Attribution { cgroup: Some(id), ..Attribution::default() };
        }
        let path = match defined {
            Some(path) => path.or_else(|| captured.map(Arc::from)),
            None => {
                let cgroups = &mut self.cgroups;
                let pending = self.undefined_cgroups.entry(id).or_insert_with(|| cgroups.resolve(id).map(Arc::from));
                if pending.is_none() {
                    *pending = captured.map(Arc::from);
                }
                pending.clone()
            }
        };
        let workload = path.as_deref().and_then(|p| self.workloads.resolve(p)).map(Arc::new);
        Attribution { cgroup: Some(id), path, workload }
    }

    /// Definitions only for what passed the filters: a recording carries the stacks and
    /// cgroups of its events, nothing else. Each id is defined once, then announced to the
    /// sinks that persist definitions.
    fn define(&mut self, event: &Event, who: Attribution, sinks: &mut [&mut dyn Sink]) -> Result<(), SinkError> {
        if let Some(id) = who.cgroup
            && let Some(path) = self.undefined_cgroups.remove(&id)
        {
            self.definitions.define_cgroup(id, path.as_deref());
            if let Some(w) = &who.workload {
                self.definitions.define_workload(id, Workload::clone(w));
            }
            for sink in sinks.iter_mut() {
                sink.cgroup(id, path.as_deref())?;
                if let Some(w) = &who.workload {
                    sink.workload(id, w)?;
                }
            }
        }
        if let Some(id) = event.stack_id()
            && !self.definitions.has_stack(id)
        {
            let frames = self.probes.stack(id).map(|ips| self.kallsyms.symbolize_stack(&ips)).unwrap_or_default();
            if let Some(frames) = self.definitions.define_stack(id, &frames) {
                for sink in sinks.iter_mut() {
                    sink.stack(id, &frames)?;
                }
            }
        }
        Ok(())
    }

    fn deliver(&mut self, event: &Event, sinks: &mut [&mut dyn Sink]) -> Result<(), SinkError> {
        self.stats.events += 1;
        for sink in sinks.iter_mut() {
            sink.event(event)?;
        }
        Ok(())
    }

    /// Emits a `Lost` event when the kernel's drop counter moved; returns the counters.
    fn report_drops(&mut self, sinks: &mut [&mut dyn Sink]) -> Result<Counters, SinkError> {
        self.last_drop_check = Instant::now();
        let counters = self.probes.counters();
        if counters.dropped > self.reported_dropped {
            let lost = Event::Lost(Lost { ts_ns: monotonic_ns(), count: counters.dropped - self.reported_dropped });
            self.reported_dropped = counters.dropped;
            for sink in sinks.iter_mut() {
                sink.event(&lost)?;
            }
        }
        Ok(counters)
    }
}

/// A zone snapshot for every sink (a warning if /proc/buddyinfo cannot be read).
fn send_zones(sinks: &mut [&mut dyn Sink]) -> Result<(), SinkError> {
    match ZoneSnapshot::read(monotonic_ns()) {
        Ok(snapshot) => {
            for sink in sinks.iter_mut() {
                sink.zones(&snapshot)?;
            }
        }
        Err(e) => log::warn!("cannot read /proc/buddyinfo: {e}"),
    }
    Ok(())
}
