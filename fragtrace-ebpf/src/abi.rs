//! Records written by the probes into the `EVENTS` ring buffer.

use core::mem::size_of;

/// Bumped whenever a record's layout changes; the decoder refuses other versions.
pub const ABI_VERSION: u16 = 5;

/// `TASK_COMM_LEN` in the kernel.
pub const COMM_LEN: usize = 16;

/// Record kinds (`EventHeader::kind`).
pub mod kind {
    /// `kmem:mm_page_alloc` returned no page.
    pub const FAILURE: u16 = 1;
    /// `kmem:mm_page_alloc_extfrag`: the allocator fell back to another migratetype.
    pub const EXTFRAG: u16 = 2;
    /// A task stalled in direct reclaim or direct compaction ([`StallEvent`]).
    pub const STALL: u16 = 3;
    /// The OOM killer chose a victim (`oom:mark_victim`, [`OomEvent`]).
    pub const OOM: u16 = 4;
    /// An allocation entered the allocator's slow path while the per-allocation probe was
    /// detached ([`SlowPathEvent`]): user space attaches it.
    pub const SLOW_PATH: u16 = 5;
}

/// `SlowPathEvent::reason`: which slow-path tracepoint fired.
pub mod slow_path {
    /// `vmscan:mm_vmscan_wakeup_kswapd`: an allocation found a zone below its watermark (or
    /// no block of its order) and woke kswapd.
    pub const KSWAPD_WAKE: u32 = 1;
    /// `compaction:mm_compaction_wakeup_kcompactd`: a non-blocking allocation found no block
    /// of its order on a balanced node.
    pub const KCOMPACTD_WAKE: u32 = 2;
    /// `vmscan:mm_vmscan_direct_reclaim_begin`.
    pub const DIRECT_RECLAIM: u32 = 3;
    /// `vmscan:mm_vmscan_memcg_reclaim_begin`: a memory cgroup hit its limit.
    pub const MEMCG_RECLAIM: u32 = 4;
    /// `compaction:mm_compaction_try_to_compact_pages`: direct compaction.
    pub const COMPACTION: u32 = 5;
}

/// The allocator's slow path was entered while `mm_page_alloc` was not being watched.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlowPathEvent {
    pub header: EventHeader,
    pub reason: u32,
    pub _pad: u32,
}
const _: () = assert!(size_of::<SlowPathEvent>() == 56);

/// `StallEvent::stall_kind`.
pub mod stall {
    /// `vmscan:mm_vmscan_direct_reclaim_begin` → `_end`; `result` is `nr_reclaimed`.
    pub const RECLAIM: u32 = 1;
    /// Direct compaction of one zone: `compaction:mm_compaction_begin` → `_end` in a task
    /// that entered `mm_compaction_try_to_compact_pages` (kcompactd's passes are not
    /// stalls); `result` is the zone's `enum compact_result` status.
    pub const COMPACTION: u32 = 2;
    /// `vmscan:mm_vmscan_memcg_reclaim_begin` → `_end`: a task reclaiming in its memory
    /// cgroup because the cgroup hit its limit; `result` is `nr_reclaimed`.
    pub const MEMCG_RECLAIM: u32 = 3;
}

/// Time a task spent in direct reclaim or direct compaction, measured in the kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StallEvent {
    /// The stalled task; `ts_ns` is when the stall ended.
    pub header: EventHeader,
    pub gfp_mask: u64,
    pub duration_ns: u64,
    pub result: i64,
    pub order: i32,
    pub stall_kind: u32,
}
const _: () = assert!(size_of::<StallEvent>() == 80);

/// An OOM kill: the header is the task that ran the OOM killer; the victim follows.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OomEvent {
    pub header: EventHeader,
    pub victim_pid: u32,
    pub _pad: u32,
    pub victim_comm: [u8; COMM_LEN],
    /// Anonymous resident memory of the victim, kB (0 when the kernel does not say).
    pub anon_rss_kb: u64,
}
const _: () = assert!(size_of::<OomEvent>() == 80);

/// `FailureEvent::stack_id` / `ExtfragEvent::stack_id` when `bpf_get_stackid` failed (map
/// full, no frames).
pub const NO_STACK: i32 = -1;

/// `ExtfragEvent::stack_id` of a fallback whose stack was not taken: extfrag stacks are
/// sampled (every `EXTFRAG_STACK_EVERY`-th fallback per CPU), the fallback itself is not.
pub const NOT_SAMPLED: i32 = -2;

/// Common first part of every record. Fields are ordered largest-alignment-last-free so no
/// implicit padding exists.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventHeader {
    pub version: u16,
    pub kind: u16,
    /// CPU the event fired on.
    pub cpu: u32,
    /// `bpf_ktime_get_ns()`: CLOCK_MONOTONIC nanoseconds.
    pub ts_ns: u64,
    /// Kernel task id (the thread's pid).
    pub pid: u32,
    /// Thread-group id (the process's pid).
    pub tgid: u32,
    /// Id of the task's memory cgroup: the kernfs node id (= inode number) of its directory
    /// in the hierarchy that holds the memory controller (cgroup v1 `memory`, or v2). When
    /// the loader could not find the kernel's struct offsets (no BTF), the cgroup v2 id from
    /// `bpf_get_current_cgroup_id` instead.
    pub cgroup_id: u64,
    /// Task name, NUL-padded.
    pub comm: [u8; COMM_LEN],
}
const _: () = assert!(size_of::<EventHeader>() == 48);

/// Memory-cgroup path levels captured with a failure, leaf first.
pub const CGROUP_LEVELS: usize = 6;
/// Longest cgroup directory name kept (`cri-containerd-<64 hex>.scope` is 85 bytes).
pub const CGROUP_NAME_LEN: usize = 128;
/// Ancestors captured with a failure (parent, grandparent, great-grandparent).
pub const ANCESTORS: usize = 3;

/// One ancestor of the failing task.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ancestor {
    pub tgid: u32,
    pub _pad: u32,
    pub comm: [u8; COMM_LEN],
}
const _: () = assert!(size_of::<Ancestor>() == 24);

/// Who failed, captured in the kernel at the moment of the failure: short-lived tasks such
/// as `runc:[1:CHILD]` are gone before user space could look them up in /proc.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribution {
    /// Memory-cgroup directory names filled, leaf first (0 without kernel offsets).
    pub levels: u32,
    /// [`ATTR_TRUNCATED`]: the cgroup is deeper than [`CGROUP_LEVELS`].
    pub flags: u32,
    /// NUL-terminated directory names, leaf first; the hierarchy root is not included.
    pub names: [[u8; CGROUP_NAME_LEN]; CGROUP_LEVELS],
    /// Ancestors filled.
    pub ancestors_len: u32,
    pub _pad: u32,
    pub ancestors: [Ancestor; ANCESTORS],
}
const _: () = assert!(size_of::<Attribution>() == 8 + CGROUP_LEVELS * CGROUP_NAME_LEN + 8 + ANCESTORS * 24);

/// `Attribution::flags`: the path has more levels than were captured.
pub const ATTR_TRUNCATED: u32 = 1;

/// A failed page allocation.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureEvent {
    pub header: EventHeader,
    /// The GFP mask as the kernel passed it (64 bits wide so future kernels fit).
    pub gfp_mask: u64,
    pub order: u32,
    pub migratetype: i32,
    /// Id in the `STACKS` map, or [`NO_STACK`].
    pub stack_id: i32,
    /// Which program saw it and what failed ([`hook`]).
    pub hook: u32,
    pub attribution: Attribution,
}

/// `FailureEvent::hook`: where the failure was seen, which also says what failed.
pub mod hook {
    /// `kmem:mm_page_alloc` returned no page (either cause below, undistinguished).
    pub const TRACEPOINT: u32 = 0;
    /// The page was found but its memory-cgroup charge failed: the cgroup is at its limit
    /// (`__memcg_kmem_charge_page` returned non-zero; fexit, or its mark on the tracepoint).
    pub const MEMCG_CHARGE: u32 = 1;
    /// The page allocator gave up (`__alloc_pages_slowpath` returned NULL; fexit).
    pub const SLOWPATH: u32 = 2;
}
const _: () = assert!(size_of::<FailureEvent>() == 72 + size_of::<Attribution>());

/// An external-fragmentation fallback (`mm_page_alloc_extfrag`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtfragEvent {
    pub header: EventHeader,
    pub alloc_order: i32,
    pub fallback_order: i32,
    pub alloc_migratetype: i32,
    pub fallback_migratetype: i32,
    /// Non-zero when the whole pageblock changed migratetype.
    pub change_ownership: i32,
    /// Id in the `EXTFRAG_STACKS` map (not `STACKS`: extfrag stacks never take failure
    /// stacks' room), [`NO_STACK`] or [`NOT_SAMPLED`].
    pub stack_id: i32,
}
const _: () = assert!(size_of::<ExtfragEvent>() == 72);

/// Indices into the per-CPU `COUNTERS` array.
pub mod counter {
    /// Failures reported by an fexit program rather than `mm_page_alloc` (the tracepoint's
    /// success path stays a load and a compare: allocation rates come from /proc/vmstat).
    pub const FEXIT_FAILURES: u32 = 0;
    /// Failed allocations (page == NULL).
    pub const FAILURES: u32 = 1;
    /// Extfrag fallbacks.
    pub const EXTFRAG: u32 = 2;
    /// Records lost because the ring buffer was full.
    pub const DROPPED: u32 = 3;
    /// Failures whose kernel stack could not be stored (stack map full or collision).
    pub const STACK_ERRORS: u32 = 4;
    /// Direct reclaim/compaction stalls measured.
    pub const STALLS: u32 = 5;
    /// OOM kills seen.
    pub const OOMS: u32 = 6;
    /// Slow-path tracepoints seen (kswapd/kcompactd wake-ups, direct and memcg reclaim,
    /// direct compaction), whether or not the per-allocation probe was attached.
    pub const SLOW_PATH: u32 = 7;
    /// Number of counters.
    pub const COUNT: u32 = 8;
}
