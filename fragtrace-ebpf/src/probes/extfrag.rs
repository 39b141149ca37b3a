//! `kmem:mm_page_alloc_extfrag`: the allocator stole a block of another migratetype. Rare
//! compared to `mm_page_alloc`, so the classic tracepoint with loader-provided offsets is
//! used in both probe modes (its `change_ownership` field is computed inside the tracepoint
//! and is not an argument a BTF tracepoint could read).

use aya_ebpf::{Global, macros::tracepoint, programs::TracePointContext};
use fragtrace_ebpf::ExtfragLayout;

use super::emit::{Extfrag, emit_extfrag};

/// Set by the loader from `events/kmem/mm_page_alloc_extfrag/format`.
#[unsafe(no_mangle)]
static EXTFRAG_LAYOUT: Global<ExtfragLayout> = Global::new(ExtfragLayout {
    alloc_order_offset: 16,
    fallback_order_offset: 20,
    alloc_migratetype_offset: 24,
    fallback_migratetype_offset: 28,
    change_ownership_offset: 32,
    _pad: 0,
});

/// Take the kernel stack of every this-many-th fallback on each CPU (the first included);
/// 0: none. Set by the loader (`fragtrace::event::EXTFRAG_STACK_EVERY`); every fallback is
/// counted and attributed whatever this says, only the stack is sampled.
#[unsafe(no_mangle)]
static EXTFRAG_STACK_EVERY: Global<u32> = Global::new(1);

#[tracepoint(category = "kmem", name = "mm_page_alloc_extfrag")]
pub fn mm_page_alloc_extfrag(ctx: TracePointContext) -> i32 {
    let _ = try_extfrag(&ctx);
    0
}

#[inline(always)]
fn try_extfrag(ctx: &TracePointContext) -> Result<(), i32> {
    let layout = EXTFRAG_LAYOUT.load();
    // SAFETY: offsets come from the tracepoint's own format file.
    let read = |offset: u32| unsafe { ctx.read_at::<i32>(offset as usize) };
    let change_ownership = if layout.change_ownership_offset == ExtfragLayout::ABSENT {
        0
    } else {
        read(layout.change_ownership_offset)?
    };
    emit_extfrag(ctx, EXTFRAG_STACK_EVERY.load(), Extfrag {
        alloc_order: read(layout.alloc_order_offset)?,
        fallback_order: read(layout.fallback_order_offset)?,
        alloc_migratetype: read(layout.alloc_migratetype_offset)?,
        fallback_migratetype: read(layout.fallback_migratetype_offset)?,
        change_ownership,
    });
    Ok(())
}
