//! Building and submitting records. Only reached on the (rare) failure/extfrag paths.

use aya_ebpf::{
    EbpfContext,
    helpers::{
        bpf_get_current_cgroup_id, bpf_get_current_comm, bpf_get_current_pid_tgid,
        bpf_get_smp_processor_id, bpf_ktime_get_ns,
    },
    programs::tracing::StackIdContext,
};
use fragtrace_ebpf::{
    ABI_VERSION, EventHeader, ExtfragEvent, FailureEvent, NO_STACK, NOT_SAMPLED, TaskLayout, counter, kind,
};

use super::{
    diag,
    maps::{EVENTS, EXTFRAG_STACKS, FAILURE_WAKEUP, STACKS, count, count_on_cpu, lazy_wakeup},
    task,
};

/// Fields of a failed allocation, as read from either probe flavour.
pub struct Failure {
    pub order: u32,
    pub gfp_mask: u64,
    pub migratetype: i32,
    /// `fragtrace_ebpf::hook`.
    pub hook: u32,
}

/// Fields of an extfrag fallback.
pub struct Extfrag {
    pub alloc_order: i32,
    pub fallback_order: i32,
    pub alloc_migratetype: i32,
    pub fallback_migratetype: i32,
    pub change_ownership: i32,
}

/// The memory cgroup's id from its kernfs node when the kernel's offsets are known, else the
/// cgroup v2 id.
#[inline(always)]
fn cgroup_id(layout: Option<&TaskLayout>, kn: Option<u64>) -> u64 {
    if let (Some(l), Some(kn)) = (layout, kn)
        && let Some(id) = task::kn_id(l, kn)
    {
        return id;
    }
    // SAFETY: helper without preconditions.
    unsafe { bpf_get_current_cgroup_id() }
}

/// The header of a record about the current task.
#[inline(always)]
pub fn header(kind: u16) -> EventHeader {
    let layout = task::layout();
    let kn = layout.as_ref().and_then(task::memcg_kn);
    header_with(kind, cgroup_id(layout.as_ref(), kn))
}

#[inline(always)]
fn header_with(kind: u16, cgroup_id: u64) -> EventHeader {
    let pid_tgid = bpf_get_current_pid_tgid();
    EventHeader {
        version: ABI_VERSION,
        kind,
        // SAFETY: helper without preconditions.
        cpu: unsafe { bpf_get_smp_processor_id() },
        // SAFETY: helper without preconditions.
        ts_ns: unsafe { bpf_ktime_get_ns() },
        pid: pid_tgid as u32,
        tgid: (pid_tgid >> 32) as u32,
        cgroup_id,
        comm: bpf_get_current_comm().unwrap_or([0; 16]),
    }
}

#[inline(always)]
pub fn emit_failure<C: EbpfContext + StackIdContext>(ctx: &C, failure: Failure) {
    count(counter::FAILURES);
    // The stack is taken first: reserving ring space we might then not fill is wasted work.
    let stack_id = match ctx.get_stackid(&STACKS, 0) {
        Ok(id) => id as i32,
        Err(_) => {
            count(counter::STACK_ERRORS);
            NO_STACK
        }
    };
    let Some(mut entry) = EVENTS.reserve::<FailureEvent>(0) else {
        count(counter::DROPPED);
        diag::ring_full(ctx);
        return;
    };
    // The record (~1 KiB) is far bigger than the 512-byte BPF stack: fill it in place.
    let event = entry.as_mut_ptr();
    // The memory cgroup's node serves both the header's id and the path: walk to it once.
    let layout = task::layout();
    let kn = layout.as_ref().and_then(task::memcg_kn);
    if layout.is_some() && kn.is_none() {
        diag::memcg_unreachable(ctx);
    }
    // SAFETY: `event` points at reserved ring-buffer memory of the record's size, ours
    // until submit; fields are written one by one through the raw pointer.
    unsafe {
        (*event).header = header_with(kind::FAILURE, cgroup_id(layout.as_ref(), kn));
        (*event).gfp_mask = failure.gfp_mask;
        (*event).order = failure.order;
        (*event).migratetype = failure.migratetype;
        (*event).stack_id = stack_id;
        (*event).hook = failure.hook;
        match layout {
            Some(l) => task::fill_attribution(&l, kn, &mut (*event).attribution),
            None => {
                (*event).attribution.levels = 0;
                (*event).attribution.flags = 0;
                (*event).attribution.ancestors_len = 0;
            }
        }
    }
    entry.submit(FAILURE_WAKEUP);
}

/// Whether the `n`-th fallback on this CPU (from 1) gets its stack taken.
#[inline(always)]
fn sampled(n: u64, every: u32) -> bool {
    match every {
        0 => false,
        1 => true,
        // `every` ≥ 2 here: no division by zero for the verifier to reject.
        e => n % u64::from(e) == 1,
    }
}

#[inline(always)]
pub fn emit_extfrag<C: EbpfContext + StackIdContext>(ctx: &C, stack_every: u32, e: Extfrag) {
    let n = count_on_cpu(counter::EXTFRAG);
    // ~1 µs per stack, and extfrag can storm: only a sample pays for it.
    let stack_id = if !sampled(n, stack_every) {
        NOT_SAMPLED
    } else {
        match ctx.get_stackid(&EXTFRAG_STACKS, 0) {
            Ok(id) => id as i32,
            Err(_) => NO_STACK,
        }
    };
    let Some(mut entry) = EVENTS.reserve::<ExtfragEvent>(0) else {
        count(counter::DROPPED);
        return;
    };
    entry.write(ExtfragEvent {
        header: header(kind::EXTFRAG),
        alloc_order: e.alloc_order,
        fallback_order: e.fallback_order,
        alloc_migratetype: e.alloc_migratetype,
        fallback_migratetype: e.fallback_migratetype,
        change_ownership: e.change_ownership,
        stack_id,
    });
    entry.submit(lazy_wakeup());
}
