//! Rare diagnostics through aya-log: user space reads them into the `log` crate, so
//! `RUST_LOG` shows them. Each says one thing once per load, and each call sits on an error
//! branch (a layout that does not fit the kernel, a full ring buffer), never on the path
//! every allocation takes.

use aya_ebpf::EbpfContext;
use aya_log_ebpf::warn;

const LAYOUT: usize = 0;
const FIELD: usize = 1;
const RING_FULL: usize = 2;

/// Which diagnostics were said (a `.bss` array: zero at load).
static mut SAID: [u8; 3] = [0; 3];

/// True the first time `which` is asked for. Two CPUs may both see zero and both say it: a
/// duplicate line is harmless, an atomic on this path is not worth it.
#[inline(always)]
fn first_time(which: usize) -> bool {
    // SAFETY: a constant index into a static array the verifier bounds-checks; plain loads
    // and stores, volatile so the compiler keeps them.
    unsafe {
        let slot = core::ptr::addr_of_mut!(SAID[which]);
        if core::ptr::read_volatile(slot) != 0 {
            return false;
        }
        core::ptr::write_volatile(slot, 1);
    }
    true
}

/// The task layout's BTF offsets did not lead to a memory cgroup.
#[inline(always)]
pub fn memcg_unreachable<C: EbpfContext>(ctx: &C) {
    if first_time(LAYOUT) {
        warn!(ctx, "memory cgroup unreachable through the task layout's BTF offsets: failures lose their cgroup path");
    }
}

/// A `kmem:mm_page_alloc` field could not be read at the offset its format file gave.
#[inline(always)]
pub fn tracepoint_field_unreadable<C: EbpfContext>(ctx: &C) {
    if first_time(FIELD) {
        warn!(ctx, "kmem:mm_page_alloc: a field is unreadable at the offset from its format file: failures are being missed");
    }
}

/// The ring buffer had no room: the event is counted as dropped.
#[inline(always)]
pub fn ring_full<C: EbpfContext>(ctx: &C) {
    if first_time(RING_FULL) {
        warn!(ctx, "ring buffer full: events are being dropped (each one counted; see the lost records)");
    }
}
