//! Maps shared by all programs. Sizes are defaults; the loader may resize `EVENTS`.

use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, BPF_RB_RING_SIZE},
    macros::map,
    maps::{PerCpuArray, RingBuf, StackTrace},
};
use fragtrace_ebpf::counter;

/// Records for userspace (`FailureEvent`, `ExtfragEvent`).
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 20, 0);

/// Submit flags for records that may come in storms (extfrag fallbacks, stalls): wake the
/// reader only once the ring is a quarter full. A wake-up is an irq_work self-IPI; in a VM
/// that is an APIC write and a VM exit, measured here at ≈7 µs of the extfrag program's ≈11 µs
/// per run. The session drains on every tick (≤ 1 s, 100 ms for the full-screen view) anyway,
/// so these records are only later, never lost; the quarter-full wake-up keeps a storm from
/// filling the ring between ticks. Failures always wake the reader: see [`FAILURE_WAKEUP`].
#[inline(always)]
pub fn lazy_wakeup() -> u64 {
    let pending = EVENTS.query(u64::from(BPF_RB_AVAIL_DATA));
    let size = EVENTS.query(u64::from(BPF_RB_RING_SIZE));
    u64::from(if pending >= size / 4 { BPF_RB_FORCE_WAKEUP } else { BPF_RB_NO_WAKEUP })
}

/// Submit flags for a failure or an OOM kill: the reader must see it at once (capture's
/// trigger, the views). The default flag wakes the reader only when it has consumed everything
/// before this record, which lazily submitted records (see [`lazy_wakeup`]) would prevent, so
/// the wake-up is forced. (Asking the ring whether anything is pending would not help: the
/// reservation of this very record already counts.) A wake-up still queued is not sent twice.
pub const FAILURE_WAKEUP: u64 = BPF_RB_FORCE_WAKEUP as u64;

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
