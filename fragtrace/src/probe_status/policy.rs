//! The `--alloc-probe` policy and what the loader and the gate made of it: plain values that
//! sinks, views and recordings carry (the decisions themselves are in `probe::gate`).

use serde::{Deserialize, Serialize};

/// `--alloc-probe`: how failing allocations are watched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AllocProbePolicy {
    /// The cheapest combination that sees every failure from the first moment: `fexit` where
    /// the kernel has BPF trampolines and `__alloc_pages_slowpath` in its BTF (no program on
    /// the allocation fast path), else `always`.
    #[default]
    Auto,
    /// Keep `mm_page_alloc` attached all the time: every failure, at a cost on every
    /// allocation.
    Always,
    /// fexit on `__memcg_kmem_charge_page` (memory-cgroup charge failures) and on
    /// `__alloc_pages_slowpath` (page-allocator failures); where the slow path is inlined
    /// (Debian's 6.1, 6.12), `mm_page_alloc` stays attached for those. Needs BPF
    /// trampolines: an error where the kernel has none.
    Fexit,
    /// Attach `mm_page_alloc` while the allocator is on its slow path and for 30 s after;
    /// an idle machine pays nothing, but a failure that comes before any slow-path signal is
    /// missed (memory-cgroup charge failures are still caught where fexit works).
    OnPressure,
}

impl std::fmt::Display for AllocProbePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AllocProbePolicy::Auto => "auto",
            AllocProbePolicy::OnPressure => "on-pressure",
            AllocProbePolicy::Always => "always",
            AllocProbePolicy::Fexit => "fexit",
        })
    }
}

/// When `mm_page_alloc` is attached, as the loader resolved the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TracepointUse {
    /// From the start to the end.
    Always,
    /// By the gate, on slow-path signals ([`AllocProbePolicy::OnPressure`]).
    OnPressure,
    /// Never: fexit programs see every failure.
    Off,
}

/// What made the gate open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArmReason {
    /// `--alloc-probe always`.
    Always,
    KswapdWake,
    KcompactdWake,
    DirectReclaim,
    MemcgReclaim,
    Compaction,
    Extfrag,
    OomKill,
    /// A /proc/vmstat pressure counter moved (`probe::gate::PRESSURE_VMSTAT`).
    Vmstat,
    /// The kernel's slow-path counter moved without an event reaching user space.
    SlowPath,
    /// fexit programs watch every failure; `mm_page_alloc` is not needed.
    Fexit,
}

impl ArmReason {
    pub fn label(self) -> &'static str {
        match self {
            ArmReason::Always => "always",
            ArmReason::KswapdWake => "kswapd woken",
            ArmReason::KcompactdWake => "kcompactd woken",
            ArmReason::DirectReclaim => "direct reclaim",
            ArmReason::MemcgReclaim => "memcg reclaim",
            ArmReason::Compaction => "direct compaction",
            ArmReason::Extfrag => "extfrag fallback",
            ArmReason::OomKill => "OOM kill",
            ArmReason::Vmstat => "vmstat pressure counters",
            ArmReason::SlowPath => "slow path",
            ArmReason::Fexit => "fexit",
        }
    }

    /// From `SlowPathEvent::reason`.
    pub fn from_kernel(reason: u32) -> Option<Self> {
        use fragtrace_ebpf::slow_path as k;
        Some(match reason {
            k::KSWAPD_WAKE => ArmReason::KswapdWake,
            k::KCOMPACTD_WAKE => ArmReason::KcompactdWake,
            k::DIRECT_RECLAIM => ArmReason::DirectReclaim,
            k::MEMCG_RECLAIM => ArmReason::MemcgReclaim,
            k::COMPACTION => ArmReason::Compaction,
            _ => return None,
        })
    }

    /// Stable numeric code for the trace file.
    pub fn code(self) -> u64 {
        match self {
            ArmReason::Always => 0,
            ArmReason::KswapdWake => 1,
            ArmReason::KcompactdWake => 2,
            ArmReason::DirectReclaim => 3,
            ArmReason::MemcgReclaim => 4,
            ArmReason::Compaction => 5,
            ArmReason::Extfrag => 6,
            ArmReason::OomKill => 7,
            ArmReason::Vmstat => 8,
            ArmReason::SlowPath => 9,
            ArmReason::Fexit => 10,
        }
    }

    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            0 => ArmReason::Always,
            1 => ArmReason::KswapdWake,
            2 => ArmReason::KcompactdWake,
            3 => ArmReason::DirectReclaim,
            4 => ArmReason::MemcgReclaim,
            5 => ArmReason::Compaction,
            6 => ArmReason::Extfrag,
            7 => ArmReason::OomKill,
            8 => ArmReason::Vmstat,
            9 => ArmReason::SlowPath,
            10 => ArmReason::Fexit,
            _ => return None,
        })
    }
}

/// Whether every failure is being watched, as sinks and views see it: `mm_page_alloc` is
/// attached, or fexit programs make it unnecessary (reason [`ArmReason::Fexit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocProbeState {
    pub attached: bool,
    /// What opened the gate (when attached).
    pub reason: Option<ArmReason>,
    /// CLOCK_MONOTONIC ns of the change.
    pub since_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_round_trip() {
        for code in 0..=10 {
            assert_eq!(ArmReason::from_code(code).map(ArmReason::code), Some(code));
        }
        assert_eq!(ArmReason::from_code(11), None);
        assert_eq!(ArmReason::from_kernel(fragtrace_ebpf::slow_path::COMPACTION), Some(ArmReason::Compaction));
        assert_eq!(ArmReason::from_kernel(99), None);
    }
}
