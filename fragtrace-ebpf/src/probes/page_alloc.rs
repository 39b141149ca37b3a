//! `kmem:mm_page_alloc`: fires at the end of every `__alloc_pages*` call. This is one of the
//! hottest paths in the kernel, so the success path is one load and one compare, nothing
//! else: no counter (/proc/vmstat `pgalloc_*` already counts allocations).

use aya_ebpf::{
    macros::{btf_tracepoint, tracepoint},
    programs::{BtfTracePointContext, TracePointContext},
    Global,
};
use fragtrace_ebpf::{PageAllocLayout, hook};

use super::{
    diag,
    emit::{Failure, emit_failure},
    fexit::take_memcg_mark,
};

/// The failure's cause when an fexit program marked it, else "tracepoint".
#[inline(always)]
fn hook_of(order: u32) -> u32 {
    if take_memcg_mark(order) { hook::MEMCG_CHARGE } else { hook::TRACEPOINT }
}

/// Set by the loader from `events/kmem/mm_page_alloc/format` (classic mode only).
#[unsafe(no_mangle)]
static PAGE_ALLOC_LAYOUT: Global<PageAllocLayout> = Global::new(PageAllocLayout {
    failed_value: u64::MAX,
    page_offset: 8,
    order_offset: 16,
    gfp_offset: 24,
    gfp_size: 8,
    migratetype_offset: 32,
    _pad: 0,
});

/// BTF tracepoint: arguments are `(struct page *, unsigned int order, gfp_t, int migratetype)`
/// on every kernel version, read straight from the context (no probe_read).
#[btf_tracepoint(function = "mm_page_alloc")]
pub fn mm_page_alloc_btf(ctx: BtfTracePointContext) -> i32 {
    let page: u64 = ctx.arg(0);
    if page != 0 {
        return 0;
    }
    let order: u64 = ctx.arg(1);
    let gfp_mask: u64 = ctx.arg(2);
    let migratetype: u64 = ctx.arg(3);
    emit_failure(
        &ctx,
        Failure {
            order: order as u32,
            gfp_mask,
            migratetype: migratetype as i32,
            hook: hook_of(order as u32),
        },
    );
    0
}

/// Classic tracepoint fallback for kernels without BTF; field offsets come from the loader.
#[tracepoint(category = "kmem", name = "mm_page_alloc")]
pub fn mm_page_alloc_classic(ctx: TracePointContext) -> i32 {
    let layout = PAGE_ALLOC_LAYOUT.load();
    // SAFETY: offsets come from the tracepoint's own format file; bpf_probe_read_kernel
    // fails cleanly on a bad address.
    let page: u64 = match unsafe { ctx.read_at(layout.page_offset as usize) } {
        Ok(v) => v,
        Err(_) => return 0,
    };
    if page != layout.failed_value {
        return 0;
    }
    if try_classic_failure(&ctx, &layout).is_err() {
        diag::tracepoint_field_unreadable(&ctx);
    }
    0
}

#[inline(always)]
fn try_classic_failure(ctx: &TracePointContext, layout: &PageAllocLayout) -> Result<(), i32> {
    // SAFETY: see above.
    let order: u32 = unsafe { ctx.read_at(layout.order_offset as usize)? };
    let gfp_mask: u64 = if layout.gfp_size == 8 {
        // SAFETY: as above.
        unsafe { ctx.read_at::<u64>(layout.gfp_offset as usize)? }
    } else {
        // SAFETY: as above.
        u64::from(unsafe { ctx.read_at::<u32>(layout.gfp_offset as usize)? })
    };
    // SAFETY: as above.
    let migratetype: i32 = unsafe { ctx.read_at(layout.migratetype_offset as usize)? };
    emit_failure(
        ctx,
        Failure {
            order,
            gfp_mask,
            migratetype,
            hook: hook_of(order),
        },
    );
    Ok(())
}
