//! Stalls and OOM kills: how long tasks wait in direct reclaim and memory-cgroup reclaim
//! (`vmscan` begin/end tracepoints) and in direct compaction (per zone, `compaction`
//! begin/end tracepoints in a task that entered `try_to_compact_pages`; tracepoints rather
//! than fentry/fexit, which need BPF trampolines some kernels, like this one, lack), and which
//! task the OOM killer chose. Not on the allocation fast
//! path: these only run when the allocator is already in its slow path.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_ktime_get_ns, bpf_probe_read_kernel_str_bytes},
    macros::{map, tracepoint},
    maps::LruHashMap,
    programs::TracePointContext,
};
use fragtrace_ebpf::{OomEvent, StallEvent, StallLayout, counter, kind, slow_path, stall};

use super::{
    emit::header,
    gate::slow_path,
    maps::{EVENTS, FAILURE_WAKEUP, count, lazy_wakeup},
};

/// Set by the loader from the vmscan and oom format files.
#[unsafe(no_mangle)]
static STALL_LAYOUT: Global<StallLayout> = Global::new(StallLayout {
    reclaim_order_offset: 8,
    reclaim_gfp_offset: 16,
    reclaim_gfp_size: 8,
    reclaim_nr_offset: 8,
    oom_pid_offset: 8,
    oom_comm_loc_offset: StallLayout::ABSENT,
    oom_anon_rss_offset: StallLayout::ABSENT,
    compact_order_offset: 8,
    compact_gfp_offset: 16,
    compact_gfp_size: 8,
    compact_status_offset: 44,
    _pad: 0,
});

#[repr(C)]
#[derive(Clone, Copy)]
struct Start {
    ts_ns: u64,
    gfp_mask: u64,
    order: i32,
    _pad: u32,
}

/// In-flight stalls by task id. LRU: a task killed mid-stall never reaches the end event and
/// must not pin an entry forever.
#[map]
static RECLAIM_STARTS: LruHashMap<u32, Start> = LruHashMap::with_max_entries(8192, 0);
#[map]
static MEMCG_STARTS: LruHashMap<u32, Start> = LruHashMap::with_max_entries(8192, 0);
#[map]
static COMPACT_STARTS: LruHashMap<u32, Start> = LruHashMap::with_max_entries(8192, 0);
/// Per task: the zone compaction in progress (its start time, the pass's order and flags).
#[map]
static ZONE_STARTS: LruHashMap<u32, Start> = LruHashMap::with_max_entries(8192, 0);

#[inline(always)]
fn tid() -> u32 {
    aya_ebpf::helpers::bpf_get_current_pid_tgid() as u32
}

#[inline(always)]
fn emit_stall(start: &Start, stall_kind: u32, result: i64) {
    count(counter::STALLS);
    let Some(mut entry) = EVENTS.reserve::<StallEvent>(0) else {
        count(counter::DROPPED);
        return;
    };
    let header = header(kind::STALL);
    entry.write(StallEvent {
        duration_ns: header.ts_ns.saturating_sub(start.ts_ns),
        header,
        gfp_mask: start.gfp_mask,
        result,
        order: start.order,
        stall_kind,
    });
    entry.submit(lazy_wakeup());
}

#[inline(always)]
fn reclaim_begin(ctx: &TracePointContext, starts: &LruHashMap<u32, Start>) {
    let l = STALL_LAYOUT.load();
    // SAFETY: offsets from the tracepoint's own format file.
    let order: i32 = unsafe { ctx.read_at(l.reclaim_order_offset as usize) }.unwrap_or(-1);
    let gfp_mask: u64 = if l.reclaim_gfp_size == 8 {
        // SAFETY: as above.
        unsafe { ctx.read_at::<u64>(l.reclaim_gfp_offset as usize) }.unwrap_or(0)
    } else {
        // SAFETY: as above.
        u64::from(unsafe { ctx.read_at::<u32>(l.reclaim_gfp_offset as usize) }.unwrap_or(0))
    };
    // SAFETY: helper without preconditions.
    let start = Start { ts_ns: unsafe { bpf_ktime_get_ns() }, gfp_mask, order, _pad: 0 };
    let _ = starts.insert(tid(), start, 0);
}

#[inline(always)]
fn reclaim_end(ctx: &TracePointContext, starts: &LruHashMap<u32, Start>, stall_kind: u32) {
    let id = tid();
    // SAFETY: the value is copied out before the entry is removed.
    let Some(start) = (unsafe { starts.get(id) }).copied() else { return };
    let _ = starts.remove(id);
    let l = STALL_LAYOUT.load();
    // SAFETY: offset from the format file.
    let nr: u64 = unsafe { ctx.read_at(l.reclaim_nr_offset as usize) }.unwrap_or(0);
    emit_stall(&start, stall_kind, nr as i64);
}

#[tracepoint(category = "vmscan", name = "mm_vmscan_direct_reclaim_begin")]
pub fn direct_reclaim_begin(ctx: TracePointContext) -> u32 {
    slow_path(slow_path::DIRECT_RECLAIM);
    reclaim_begin(&ctx, &RECLAIM_STARTS);
    0
}

#[tracepoint(category = "vmscan", name = "mm_vmscan_direct_reclaim_end")]
pub fn direct_reclaim_end(ctx: TracePointContext) -> u32 {
    reclaim_end(&ctx, &RECLAIM_STARTS, stall::RECLAIM);
    0
}

/// The same event class as direct reclaim (identical layout, checked by the loader).
#[tracepoint(category = "vmscan", name = "mm_vmscan_memcg_reclaim_begin")]
pub fn memcg_reclaim_begin(ctx: TracePointContext) -> u32 {
    slow_path(slow_path::MEMCG_RECLAIM);
    reclaim_begin(&ctx, &MEMCG_STARTS);
    0
}

#[tracepoint(category = "vmscan", name = "mm_vmscan_memcg_reclaim_end")]
pub fn memcg_reclaim_end(ctx: TracePointContext) -> u32 {
    reclaim_end(&ctx, &MEMCG_STARTS, stall::MEMCG_RECLAIM);
    0
}

/// A task entered direct compaction: remember its order and flags (kcompactd never passes
/// here, so only tasks marked here count as stalled).
#[tracepoint(category = "compaction", name = "mm_compaction_try_to_compact_pages")]
pub fn compact_try(ctx: TracePointContext) -> u32 {
    slow_path(slow_path::COMPACTION);
    let l = STALL_LAYOUT.load();
    // SAFETY: offsets from the tracepoint's own format file.
    let order: i32 = unsafe { ctx.read_at(l.compact_order_offset as usize) }.unwrap_or(-1);
    let gfp_mask: u64 = if l.compact_gfp_size == 8 {
        // SAFETY: as above.
        unsafe { ctx.read_at::<u64>(l.compact_gfp_offset as usize) }.unwrap_or(0)
    } else {
        // SAFETY: as above.
        u64::from(unsafe { ctx.read_at::<u32>(l.compact_gfp_offset as usize) }.unwrap_or(0))
    };
    // SAFETY: helper without preconditions.
    let start = Start { ts_ns: unsafe { bpf_ktime_get_ns() }, gfp_mask, order, _pad: 0 };
    let _ = COMPACT_STARTS.insert(tid(), start, 0);
    0
}

/// A zone's compaction starts; timed only for tasks in direct compaction.
#[tracepoint(category = "compaction", name = "mm_compaction_begin")]
pub fn compact_zone_begin(_ctx: TracePointContext) -> u32 {
    let id = tid();
    // SAFETY: copied out.
    if let Some(mut start) = (unsafe { COMPACT_STARTS.get(id) }).copied() {
        // SAFETY: helper without preconditions.
        start.ts_ns = unsafe { bpf_ktime_get_ns() };
        let _ = ZONE_STARTS.insert(id, start, 0);
    }
    0
}

#[tracepoint(category = "compaction", name = "mm_compaction_end")]
pub fn compact_zone_end(ctx: TracePointContext) -> u32 {
    let id = tid();
    // SAFETY: copied out before removal.
    let Some(start) = (unsafe { ZONE_STARTS.get(id) }).copied() else { return 0 };
    let _ = ZONE_STARTS.remove(id);
    let l = STALL_LAYOUT.load();
    // SAFETY: offset from the format file.
    let status: i32 = unsafe { ctx.read_at(l.compact_status_offset as usize) }.unwrap_or(-1);
    emit_stall(&start, stall::COMPACTION, i64::from(status));
    0
}

#[tracepoint(category = "oom", name = "mark_victim")]
pub fn mark_victim(ctx: TracePointContext) -> u32 {
    count(counter::OOMS);
    let l = STALL_LAYOUT.load();
    let Some(mut entry) = EVENTS.reserve::<OomEvent>(0) else {
        count(counter::DROPPED);
        return 0;
    };
    let event = entry.as_mut_ptr();
    // SAFETY: reserved ring memory of the record's size, ours until submit; offsets from
    // the format file; the comm copy is bounded by the destination.
    unsafe {
        (*event).header = header(kind::OOM);
        (*event).victim_pid = ctx.read_at::<i32>(l.oom_pid_offset as usize).unwrap_or(0) as u32;
        (*event)._pad = 0;
        (*event).victim_comm = [0; 16];
        if l.oom_comm_loc_offset != StallLayout::ABSENT
            && let Ok(loc) = ctx.read_at::<u32>(l.oom_comm_loc_offset as usize)
        {
            // __data_loc: low 16 bits the offset in the record, high 16 bits the length.
            let src = (ctx.as_ptr() as *const u8).add((loc & 0xffff) as usize);
            let _ = bpf_probe_read_kernel_str_bytes(src, &mut (*event).victim_comm);
        }
        (*event).anon_rss_kb = if l.oom_anon_rss_offset == StallLayout::ABSENT { 0 } else { ctx.read_at::<u64>(l.oom_anon_rss_offset as usize).unwrap_or(0) };
    }
    entry.submit(FAILURE_WAKEUP);
    0
}
