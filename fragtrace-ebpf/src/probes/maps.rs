//! Maps shared by all programs. Sizes are defaults; the loader may resize `EVENTS`.

use aya_ebpf::{
    macros::map,
    maps::{PerCpuArray, RingBuf, StackTrace},
};
use fragtrace_ebpf::counter;

/// Records for userspace (`FailureEvent`, `ExtfragEvent`).
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 20, 0);

/// Kernel stacks of failing allocations, deduplicated by the kernel.
#[map]
pub static STACKS: StackTrace = StackTrace::with_max_entries(16384, 0);

/// Kernel stacks of sampled extfrag fallbacks: a map of their own, so an extfrag storm can
/// never fill the failures' map. Bounded: fallbacks come from few call paths.
#[map]
pub static EXTFRAG_STACKS: StackTrace = StackTrace::with_max_entries(1024, 0);

/// Per-CPU counters indexed by `fragtrace_ebpf::counter::*`; per-CPU so the hot path never
/// contends on a shared cache line.
#[map]
pub static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

#[inline(always)]
pub fn count(index: u32) {
    if let Some(slot) = COUNTERS.get_ptr_mut(index) {
        // SAFETY: per-CPU slot, programs on one CPU do not preempt each other mid-update
        // for these tracepoints (they run with preemption/migration disabled).
        unsafe { *slot += 1 };
    }
}

/// Increments a per-CPU counter and returns this CPU's new value (0 if the slot is missing).
#[inline(always)]
pub fn count_on_cpu(index: u32) -> u64 {
    match COUNTERS.get_ptr_mut(index) {
        // SAFETY: as in `count`.
        Some(slot) => unsafe {
            *slot += 1;
            *slot
        },
        None => 0,
    }
}
