//! Tracepoint record layouts the loader reads from tracefs `format` files and hands to the
//! classic-tracepoint programs as read-only globals. Nothing about a record's layout is
//! hard-coded in the probes: field offsets moved between kernels (a `page` pointer before 4.1,
//! a 4-byte `gfp_flags` before 5.19).

use core::mem::size_of;

/// Where the fields of `kmem:mm_page_alloc` are in the classic tracepoint record.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageAllocLayout {
    /// Value of the page/pfn field that means "no page": `u64::MAX` for `pfn` (4.1+),
    /// 0 for the `page` pointer of older kernels.
    pub failed_value: u64,
    /// Offset of `pfn` (or `page`), an 8-byte field.
    pub page_offset: u32,
    pub order_offset: u32,
    pub gfp_offset: u32,
    /// 4 or 8.
    pub gfp_size: u32,
    pub migratetype_offset: u32,
    pub _pad: u32,
}
const _: () = assert!(size_of::<PageAllocLayout>() == 32);

/// Where the fields of `kmem:mm_page_alloc_extfrag` are.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtfragLayout {
    pub alloc_order_offset: u32,
    pub fallback_order_offset: u32,
    pub alloc_migratetype_offset: u32,
    pub fallback_migratetype_offset: u32,
    /// Offset of `change_ownership`, or [`ExtfragLayout::ABSENT`] on kernels without it.
    pub change_ownership_offset: u32,
    pub _pad: u32,
}
const _: () = assert!(size_of::<ExtfragLayout>() == 24);

impl ExtfragLayout {
    pub const ABSENT: u32 = u32::MAX;
}

/// Kernel struct offsets (from the running kernel's BTF) for following
/// task → css_set → memory cgroup → kernfs node, and task → parent.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskLayout {
    /// 0 when the loader found no offsets: the probes then use `bpf_get_current_cgroup_id`
    /// and capture no path or ancestry.
    pub enabled: u32,
    /// `memory_cgrp_id`: the memory controller's index in `css_set.subsys`.
    pub memory_cgrp_id: u32,
    pub task_cgroups: u32,
    pub task_real_parent: u32,
    pub task_tgid: u32,
    pub task_comm: u32,
    pub css_set_subsys: u32,
    pub css_cgroup: u32,
    pub cgroup_kn: u32,
    pub kn_parent: u32,
    pub kn_name: u32,
    pub kn_id: u32,
}
const _: () = assert!(size_of::<TaskLayout>() == 48);

/// Where the fields of the stall and OOM tracepoints are (from their format files).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StallLayout {
    /// `vmscan:mm_vmscan_direct_reclaim_begin`.
    pub reclaim_order_offset: u32,
    pub reclaim_gfp_offset: u32,
    /// 4 or 8.
    pub reclaim_gfp_size: u32,
    /// `vmscan:mm_vmscan_direct_reclaim_end`.
    pub reclaim_nr_offset: u32,
    /// `oom:mark_victim`.
    pub oom_pid_offset: u32,
    /// Offset of the `__data_loc char[] comm` word, or [`StallLayout::ABSENT`].
    pub oom_comm_loc_offset: u32,
    /// Offset of `anon_rss` (8 bytes, kB), or [`StallLayout::ABSENT`].
    pub oom_anon_rss_offset: u32,
    /// `compaction:mm_compaction_try_to_compact_pages`.
    pub compact_order_offset: u32,
    pub compact_gfp_offset: u32,
    /// 4 or 8.
    pub compact_gfp_size: u32,
    /// `status` in `compaction:mm_compaction_end`.
    pub compact_status_offset: u32,
    pub _pad: u32,
}
const _: () = assert!(size_of::<StallLayout>() == 48);

impl StallLayout {
    pub const ABSENT: u32 = u32::MAX;
}

#[cfg(feature = "user")]
mod user {
    // SAFETY: plain-old-data: `#[repr(C)]`, integer fields only, no implicit padding
    // (asserted by the size checks above).
    unsafe impl aya::Pod for super::PageAllocLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::ExtfragLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::TaskLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::StallLayout {}
}
