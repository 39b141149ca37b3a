//! Typed events: what the decode stage produces and every later stage consumes.

use serde::{Deserialize, Serialize};

/// Who and when, common to every kernel record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// CLOCK_MONOTONIC nanoseconds.
    pub ts_ns: u64,
    pub cpu: u32,
    pub pid: u32,
    pub tgid: u32,
    pub cgroup_id: u64,
    /// Task name; invalid UTF-8 is replaced, never passed through raw.
    pub comm: String,
}

/// An ancestor of a failing task, captured in the kernel with the failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ancestor {
    /// Process id (tgid).
    pub pid: u32,
    pub comm: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub task: Task,
    pub order: u32,
    pub gfp_mask: u64,
    pub migratetype: i32,
    /// Id in the kernel's stack map; `None` when the stack could not be taken.
    pub stack_id: Option<u32>,
    /// Parent, grandparent, … as they were at the failure (`runc:[1:CHILD]` ← `runc` ←
    /// `containerd-shim`).
    pub ancestry: Vec<Ancestor>,
    /// The memory cgroup's path as the kernel named it at the failure (live only: the session
    /// turns it into a cgroup definition and clears it).
    #[serde(skip)]
    pub captured_cgroup: Option<String>,
    /// Which program saw it, which also says what failed (recordings before fexit hooks:
    /// the tracepoint).
    #[serde(default)]
    pub hook: FailureHook,
}

/// Where a failure was seen. The tracepoint sees both causes without telling them apart;
/// the fexit programs (or their mark on the tracepoint) say which it was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureHook {
    /// `kmem:mm_page_alloc` with no page.
    #[default]
    Tracepoint,
    /// The memory cgroup's charge failed: the cgroup is at its limit, not the node.
    MemcgCharge,
    /// The page allocator gave up (`__alloc_pages_slowpath` returned NULL).
    PageAllocator,
}

impl FailureHook {
    /// From `FailureEvent::hook`.
    pub fn from_kernel(hook: u32) -> Self {
        match hook {
            fragtrace_ebpf::hook::MEMCG_CHARGE => FailureHook::MemcgCharge,
            fragtrace_ebpf::hook::SLOWPATH => FailureHook::PageAllocator,
            _ => FailureHook::Tracepoint,
        }
    }

    /// Stable code in recordings.
    pub fn code(self) -> u64 {
        match self {
            FailureHook::Tracepoint => 0,
            FailureHook::MemcgCharge => 1,
            FailureHook::PageAllocator => 2,
        }
    }

    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            0 => FailureHook::Tracepoint,
            1 => FailureHook::MemcgCharge,
            2 => FailureHook::PageAllocator,
            _ => return None,
        })
    }

    /// The name JSON and the profiles' labels use (serde's kebab-case name).
    pub fn name(self) -> &'static str {
        match self {
            FailureHook::Tracepoint => "tracepoint",
            FailureHook::MemcgCharge => "memcg-charge",
            FailureHook::PageAllocator => "page-allocator",
        }
    }

    /// What failed, for people.
    pub fn label(self) -> &'static str {
        match self {
            FailureHook::Tracepoint => "allocation",
            FailureHook::MemcgCharge => "memcg charge (cgroup at its limit)",
            FailureHook::PageAllocator => "page allocator",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extfrag {
    pub task: Task,
    pub alloc_order: i32,
    pub fallback_order: i32,
    pub alloc_migratetype: i32,
    pub fallback_migratetype: i32,
    pub change_ownership: bool,
    /// The fallback's kernel stack, when it was sampled ([`EXTFRAG_STACK_EVERY`]): an id
    /// with [`EXTFRAG_STACK_BIT`] set, so it never collides with a failure's stack id.
    #[serde(default)]
    pub stack_id: Option<u32>,
}

/// The kernel takes the stack of every this-many-th extfrag fallback on each CPU (the first
/// included): `bpf_get_stackid` costs about a microsecond and extfrag can storm at tens of
/// thousands a second. Every fallback is still counted and attributed to its task and
/// cgroup; only the stacks are a sample.
pub const EXTFRAG_STACK_EVERY: u32 = 8;

/// Set in the stack ids of extfrag stacks: they come from a map of their own
/// (`EXTFRAG_STACKS`), whose ids would otherwise collide with the failures' (kernel stack
/// ids are below the maps' sizes, far under this bit).
pub const EXTFRAG_STACK_BIT: u32 = 1 << 31;

impl Extfrag {
    /// Fragmenting: the fallback split a block smaller than a pageblock, mixing migratetypes
    /// inside one pageblock (Documentation/trace/events-kmem.rst).
    pub fn fragmenting(&self, pageblock_order: u32) -> bool {
        self.fallback_order < pageblock_order as i32
    }

    /// trace-pagealloc-postprocess.pl's "severe": the fallback was of order ≤ 3.
    pub fn severe(&self) -> bool {
        self.fallback_order <= 3
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StallKind {
    /// Direct reclaim (`vmscan:mm_vmscan_direct_reclaim_begin/end`).
    Reclaim,
    /// Direct compaction (`try_to_compact_pages`).
    Compaction,
    /// Reclaim inside a memory cgroup at its limit (`mm_vmscan_memcg_reclaim_begin/end`).
    #[serde(rename = "memcg-reclaim")]
    MemcgReclaim,
}

/// A task waited in direct reclaim or compaction for `duration_ns` (ending at `task.ts_ns`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stall {
    pub task: Task,
    pub kind: StallKind,
    pub order: i32,
    pub gfp_mask: u64,
    pub duration_ns: u64,
    /// Reclaim: pages reclaimed. Compaction: the kernel's `enum compact_result`.
    pub result: i64,
}

/// The OOM killer chose a victim; `task` is the task that ran it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OomKill {
    pub task: Task,
    pub victim_pid: u32,
    pub victim_comm: String,
    pub anon_rss_kb: u64,
}

/// Records the ring buffer could not take, reported where they were noticed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lost {
    pub ts_ns: u64,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Failure(Failure),
    Extfrag(Extfrag),
    Stall(Stall),
    Oom(OomKill),
    Lost(Lost),
}

impl Event {
    /// The task an event is about (`None` for drops).
    pub fn task(&self) -> Option<&Task> {
        match self {
            Event::Failure(f) => Some(&f.task),
            Event::Extfrag(e) => Some(&e.task),
            Event::Stall(s) => Some(&s.task),
            Event::Oom(o) => Some(&o.task),
            Event::Lost(_) => None,
        }
    }

    /// The event's kernel stack id, if it has one (failures, sampled extfrag fallbacks).
    pub fn stack_id(&self) -> Option<u32> {
        match self {
            Event::Failure(f) => f.stack_id,
            Event::Extfrag(e) => e.stack_id,
            _ => None,
        }
    }

    pub fn ts_ns(&self) -> u64 {
        match self {
            Event::Failure(f) => f.task.ts_ns,
            Event::Extfrag(e) => e.task.ts_ns,
            Event::Stall(s) => s.task.ts_ns,
            Event::Oom(o) => o.task.ts_ns,
            Event::Lost(l) => l.ts_ns,
        }
    }
}

/// Kernel-side counters summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Pages the kernel allocated (/proc/vmstat `pgalloc_*`, summed over zones): the
    /// failure probe itself counts nothing on the success path.
    pub allocs_seen: u64,
    pub failures: u64,
    pub extfrag: u64,
    pub dropped: u64,
    pub stack_errors: u64,
    #[serde(default)]
    pub stalls: u64,
    #[serde(default)]
    pub ooms: u64,
    /// Slow-path tracepoints seen by the sentinels (`--alloc-probe on-pressure`).
    #[serde(default)]
    pub slow_path: u64,
}

/// Kernel migratetype names (include/linux/mmzone.h order, stable since 3.x for the first
/// four).
pub fn migratetype_name(mt: i32) -> &'static str {
    match mt {
        0 => "Unmovable",
        1 => "Movable",
        2 => "Reclaimable",
        3 => "HighAtomic",
        4 => "CMA/Isolate",
        5 => "Isolate",
        _ => "?",
    }
}

#[cfg(test)]
mod hook_tests {
    use super::FailureHook;

    #[test]
    fn hook_names_are_the_serialized_names() {
        for hook in [FailureHook::Tracepoint, FailureHook::MemcgCharge, FailureHook::PageAllocator] {
            assert_eq!(serde_json::to_value(hook).expect("hook"), hook.name());
        }
    }
}
