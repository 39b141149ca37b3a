//! When the per-allocation probe (`kmem:mm_page_alloc`) is attached: `--alloc-probe`.
//!
//! That probe runs for every page the kernel hands out; on a page-fault benchmark it costs a
//! few per cent of throughput even with `tp_btf` (BENCHMARKS.md). Allocation failures only
//! happen on the allocator's slow path, which announces itself through rare tracepoints
//! (kswapd/kcompactd wake-ups, direct and memcg reclaim, direct compaction, extfrag
//! fallbacks, OOM kills) and through /proc/vmstat counters (THP fallbacks, compaction and
//! reclaim stalls). With `--alloc-probe on-pressure`
//! ([`AllocProbePolicy::OnPressure`](crate::probe_status::AllocProbePolicy::OnPressure)) the
//! per-allocation probe is attached when any of those fire and detached again after [`HOLD`]
//! of calm, so an idle machine pays nothing. What that misses is documented in BENCHMARKS.md ("Overhead"): a failure that
//! happens before any slow-path signal (no reclaim, no wake-up, e.g. an isolated
//! `GFP_NOWAIT` failure on a machine with kswapd already running), and the first failures of
//! a burst while the probe is being attached (about a millisecond).
//!
//! This module is the decision only, a pure state machine; the session applies it.

use std::{collections::BTreeMap, time::Duration};

use crate::probe_status::{ArmReason, TracepointUse};

/// Calm time after the last slow-path signal before the per-allocation probe is detached.
pub const HOLD: Duration = Duration::from_secs(30);

/// /proc/vmstat counters that move only when allocations struggle. THP fallbacks matter most:
/// `GFP_TRANSHUGE_LIGHT` allocations neither reclaim nor wake kswapd, so no tracepoint
/// other than `mm_page_alloc` sees them fail.
pub const PRESSURE_VMSTAT: &[&str] = &[
    "thp_fault_fallback",
    "thp_fault_fallback_charge",
    "thp_collapse_alloc_failed",
    "thp_file_fallback",
    "compact_stall",
    "compact_fail",
    "allocstall_dma",
    "allocstall_dma32",
    "allocstall_normal",
    "allocstall_movable",
    "allocstall_device",
    "oom_kill",
];

/// What the session must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateAction {
    Attach(ArmReason),
    Detach,
}

/// The decision: fed signals and ticks, answers attach/detach.
#[derive(Clone, Debug)]
pub struct Gate {
    tracepoint: TracepointUse,
    hold_ns: u64,
    attached: bool,
    last_activity_ns: u64,
    last_slow_path: Option<u64>,
    last_pressure: Option<u64>,
}

impl Gate {
    pub fn new(tracepoint: TracepointUse, hold: Duration) -> Self {
        Self { tracepoint, hold_ns: hold.as_nanos() as u64, attached: false, last_activity_ns: 0, last_slow_path: None, last_pressure: None }
    }

    /// At start: `always` attaches right away.
    pub fn start(&mut self, now_ns: u64) -> Option<GateAction> {
        self.last_activity_ns = now_ns;
        (self.tracepoint == TracepointUse::Always).then(|| {
            self.attached = true;
            GateAction::Attach(ArmReason::Always)
        })
    }

    /// The session could not attach (or detach): keep the gate's view in line with reality.
    pub fn set_attached(&mut self, attached: bool) {
        self.attached = attached;
    }

    /// A slow-path signal arrived (kernel event).
    pub fn signal(&mut self, now_ns: u64, reason: ArmReason) -> Option<GateAction> {
        self.last_activity_ns = self.last_activity_ns.max(now_ns);
        if self.attached || self.tracepoint != TracepointUse::OnPressure {
            return None;
        }
        self.attached = true;
        Some(GateAction::Attach(reason))
    }

    /// Periodic: the kernel's slow-path counter (counts even while attached, when the
    /// sentinels send no events) and the sum of the [`PRESSURE_VMSTAT`] counters.
    pub fn tick(&mut self, now_ns: u64, slow_path_count: u64, pressure: Option<u64>) -> Option<GateAction> {
        let slow_moved = self.last_slow_path.replace(slow_path_count).is_some_and(|before| slow_path_count != before);
        let pressure_moved = match pressure {
            Some(p) => self.last_pressure.replace(p).is_some_and(|before| p != before),
            None => false,
        };
        if self.tracepoint != TracepointUse::OnPressure {
            return None;
        }
        if slow_moved || pressure_moved {
            // While attached the sentinels send no events, so the counters are what keeps the
            // gate open; while detached a moved slow-path counter means its event was lost.
            let reason = if slow_moved { ArmReason::SlowPath } else { ArmReason::Vmstat };
            return self.signal(now_ns, reason);
        }
        if self.attached && now_ns.saturating_sub(self.last_activity_ns) >= self.hold_ns {
            self.attached = false;
            return Some(GateAction::Detach);
        }
        None
    }
}

/// Sum of the [`PRESSURE_VMSTAT`] counters in a parsed /proc/vmstat.
pub fn pressure_sum(vmstat: &BTreeMap<String, u64>) -> u64 {
    PRESSURE_VMSTAT.iter().filter_map(|k| vmstat.get(*k)).fold(0u64, |a, v| a.wrapping_add(*v))
}

/// Reads /proc/vmstat and sums the pressure counters (`None` when unreadable).
pub fn read_pressure() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/vmstat").ok()?;
    Some(pressure_sum(&crate::host::procfs::vmstat::parse_vmstat(&text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn on_pressure() -> Gate {
        Gate::new(TracepointUse::OnPressure, Duration::from_secs(30))
    }

    #[test]
    fn always_attaches_at_start_and_never_detaches() {
        let mut g = Gate::new(TracepointUse::Always, HOLD);
        assert_eq!(g.start(0), Some(GateAction::Attach(ArmReason::Always)));
        assert_eq!(g.tick(3600 * S, 0, Some(0)), None);
        assert_eq!(g.tick(7200 * S, 0, Some(0)), None);
        assert_eq!(g.signal(7201 * S, ArmReason::Compaction), None);
    }

    #[test]
    fn fexit_never_attaches_the_tracepoint() {
        let mut g = Gate::new(TracepointUse::Off, HOLD);
        assert_eq!(g.start(0), None);
        assert_eq!(g.tick(S, 1, Some(1)), None);
        assert_eq!(g.tick(2 * S, 5, Some(9)), None, "pressure does not matter: every failure is seen");
        assert_eq!(g.signal(3 * S, ArmReason::MemcgReclaim), None);
    }

    #[test]
    fn on_pressure_starts_detached_and_attaches_on_the_first_signal_only() {
        let mut g = on_pressure();
        assert_eq!(g.start(0), None);
        assert_eq!(g.tick(S, 0, Some(10)), None, "first tick only sets the baselines");
        assert_eq!(g.tick(2 * S, 0, Some(10)), None);
        assert_eq!(g.signal(3 * S, ArmReason::MemcgReclaim), Some(GateAction::Attach(ArmReason::MemcgReclaim)));
        assert_eq!(g.signal(3 * S + 1, ArmReason::Compaction), None, "already attached");
    }

    #[test]
    fn detaches_after_the_hold_time_of_calm_and_activity_extends_it() {
        let mut g = on_pressure();
        g.start(0);
        g.tick(0, 5, Some(10));
        assert!(g.signal(S, ArmReason::DirectReclaim).is_some());
        // While attached the kernel sends no events; its counter moving keeps the gate open.
        assert_eq!(g.tick(20 * S, 9, Some(10)), None);
        assert_eq!(g.tick(49 * S, 9, Some(10)), None, "29 s after the last activity");
        assert_eq!(g.tick(50 * S, 9, Some(10)), Some(GateAction::Detach));
        assert_eq!(g.tick(51 * S, 9, Some(10)), None);
    }

    #[test]
    fn vmstat_pressure_or_a_silent_counter_attaches() {
        let mut g = on_pressure();
        g.start(0);
        g.tick(S, 7, Some(10));
        assert_eq!(g.tick(2 * S, 7, Some(11)), Some(GateAction::Attach(ArmReason::Vmstat)));
        let mut g = on_pressure();
        g.start(0);
        g.tick(S, 7, None);
        assert!(matches!(g.tick(2 * S, 8, None), Some(GateAction::Attach(_))));
    }

    #[test]
    fn pressure_sum_reads_only_the_listed_counters() {
        let text = "nr_free_pages 100\nthp_fault_fallback 3\ncompact_stall 4\nallocstall_normal 5\npgfault 1000000\n";
        assert_eq!(pressure_sum(&crate::host::procfs::vmstat::parse_vmstat(text)), 12);
    }
}
