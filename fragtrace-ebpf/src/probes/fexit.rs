//! Synchronous failure capture without a program on the allocation fast path: fexit on the
//! two functions whose failure is an allocation failure. Both run only after the fast path
//! has failed or for `__GFP_ACCOUNT` allocations, so a busy machine's millions of successful
//! allocations never enter them.
//!
//! - `__memcg_kmem_charge_page(page, gfp, order)` returns non-zero when the memory cgroup
//!   is at its limit: the page is freed and the allocation fails (the pod-start case).
//! - `__alloc_pages_slowpath(gfp, order, ac)` returns NULL when the page allocator gives up.
//!
//! BPF trampolines are needed: the loader tries, and falls back to `mm_page_alloc` where
//! the kernel has none (or inlines the function). When `mm_page_alloc` is attached as well,
//! it is the one that reports; the fexit programs only mark the task so the tracepoint can
//! say *what* failed, and a failure is never counted twice.
//!
//! The return value is read as the argument after the last one (`ctx.arg(3)`), not with
//! `bpf_get_func_ret`, which needs 5.17: Debian's 5.10 has trampolines too.

use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid,
    macros::{fexit, map},
    maps::LruHashMap,
    programs::FExitContext,
};
use fragtrace_ebpf::{counter, hook};

use super::{
    emit::{Failure, emit_failure},
    gate::tracepoint_attached,
    maps::count,
};

/// Tasks whose memcg charge just failed, with the order, while `mm_page_alloc` is attached:
/// the tracepoint fires next in the same task for the same allocation and takes the mark.
/// LRU: a mark the tracepoint never takes (detached in between) must not pin an entry.
#[map]
static MEMCG_MARKS: LruHashMap<u32, u32> = LruHashMap::with_max_entries(4096, 0);

/// `migratetype` as `gfp_migratetype()` computes it: `__GFP_MOVABLE` (0x8) and
/// `__GFP_RECLAIMABLE` (0x10) have had these values on every kernel with trampolines.
#[inline(always)]
fn gfp_migratetype(gfp_mask: u64) -> i32 {
    ((gfp_mask & 0x18) >> 3) as i32
}

/// `gfp_t` is a 32-bit `unsigned int`: the register the trampoline saved may carry
/// garbage in its upper half (x86-64 leaves it undefined for 32-bit arguments).
#[inline(always)]
fn gfp_arg(ctx: &FExitContext, n: usize) -> u64 {
    let raw: u64 = ctx.arg(n);
    u64::from(raw as u32)
}

#[inline(always)]
fn tid() -> u32 {
    bpf_get_current_pid_tgid() as u32
}

#[fexit(function = "__memcg_kmem_charge_page")]
pub fn memcg_charge_exit(ctx: FExitContext) -> i32 {
    let ret: i64 = ctx.arg(3);
    if ret as i32 == 0 {
        return 0;
    }
    let gfp_mask = gfp_arg(&ctx, 1);
    let order: i64 = ctx.arg(2);
    if tracepoint_attached() {
        let _ = MEMCG_MARKS.insert(tid(), order as u32, 0);
        return 0;
    }
    count(counter::FEXIT_FAILURES);
    emit_failure(&ctx, Failure { order: order as u32, gfp_mask, migratetype: gfp_migratetype(gfp_mask), hook: hook::MEMCG_CHARGE });
    0
}

#[fexit(function = "__alloc_pages_slowpath")]
pub fn slowpath_exit(ctx: FExitContext) -> i32 {
    let page: u64 = ctx.arg(3);
    // The tracepoint, when attached, sees the same NULL right after: it reports.
    if page != 0 || tracepoint_attached() {
        return 0;
    }
    let gfp_mask = gfp_arg(&ctx, 0);
    let order: u64 = ctx.arg(1);
    count(counter::FEXIT_FAILURES);
    emit_failure(&ctx, Failure { order: order as u32, gfp_mask, migratetype: gfp_migratetype(gfp_mask), hook: hook::SLOWPATH });
    0
}

/// Called by `mm_page_alloc` on a failure: whether this task's memcg charge of the same
/// order just failed (the mark is taken either way, so it cannot apply to a later failure).
#[inline(always)]
pub fn take_memcg_mark(order: u32) -> bool {
    let id = tid();
    // SAFETY: the value is copied out before the entry is removed.
    let Some(marked) = (unsafe { MEMCG_MARKS.get(id) }).copied() else { return false };
    let _ = MEMCG_MARKS.remove(id);
    marked == order
}
