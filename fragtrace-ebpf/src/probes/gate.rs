//! The slow-path sentinels behind `--alloc-probe on-pressure`.
//!
//! A program on `mm_page_alloc` runs for every page the kernel hands out and costs a few per
//! cent of page-fault throughput even when it does nothing (BENCHMARKS.md). Failures only
//! happen on the allocator's slow path, and that path announces itself: it wakes kswapd or
//! kcompactd, enters direct reclaim, memcg reclaim or direct compaction. These programs sit
//! on those rare tracepoints; while user space has `mm_page_alloc` detached (`ALLOC_PROBE`
//! is 0) they send a `SlowPathEvent` with a forced wake-up, and user space attaches the
//! per-allocation probe within about a millisecond.

use aya_ebpf::{
    bindings::BPF_RB_FORCE_WAKEUP,
    macros::{map, tracepoint},
    maps::Array,
    programs::TracePointContext,
};
use fragtrace_ebpf::{SlowPathEvent, counter, kind, slow_path};

use super::{
    emit::header,
    maps::{EVENTS, count},
};

/// 1 while user space has the per-allocation probe attached (written by user space only).
#[map]
pub static ALLOC_PROBE: Array<u32> = Array::with_max_entries(1, 0);

/// Whether user space has `mm_page_alloc` attached (then it reports every failure).
#[inline(always)]
pub fn tracepoint_attached() -> bool {
    ALLOC_PROBE.get(0).is_some_and(|on| *on != 0)
}

/// Counts a slow-path entry and, while the per-allocation probe is detached, asks user space
/// to attach it.
#[inline(always)]
pub fn slow_path(reason: u32) {
    count(counter::SLOW_PATH);
    if tracepoint_attached() {
        return;
    }
    let Some(mut entry) = EVENTS.reserve::<SlowPathEvent>(0) else {
        count(counter::DROPPED);
        return;
    };
    entry.write(SlowPathEvent { header: header(kind::SLOW_PATH), reason, _pad: 0 });
    // Forced: the default adaptive wake-up may wait for more records, and the point is to
    // attach before the failing allocation finishes.
    entry.submit(BPF_RB_FORCE_WAKEUP as u64);
}

#[tracepoint(category = "vmscan", name = "mm_vmscan_wakeup_kswapd")]
pub fn wakeup_kswapd(_ctx: TracePointContext) -> u32 {
    slow_path(slow_path::KSWAPD_WAKE);
    0
}

#[tracepoint(category = "compaction", name = "mm_compaction_wakeup_kcompactd")]
pub fn wakeup_kcompactd(_ctx: TracePointContext) -> u32 {
    slow_path(slow_path::KCOMPACTD_WAKE);
    0
}
