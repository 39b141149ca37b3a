//! Real allocation failures, provoked in a memory cgroup, caught by the real probes in both
//! probe modes, with exact fields.

use std::time::Duration;

use fragtrace::probe_status::ProbeMode;
use fragtrace_tests::{MemCgroupPath, SysctlGuard, collect_during, require_root, run_trigger};

/// Pipe sizes (MiB) and the order of the pipe-slot kcalloc each one needs on x86_64
/// (`struct pipe_buffer` is 40 bytes: 16 MiB → 4096 slots → 160 KiB → order 6).
const SIZES_AND_ORDERS: [(u64, u32); 4] = [(16, 6), (32, 7), (64, 8), (128, 9)];

fn failures_are_caught(mode: ProbeMode) {
    let _serial = require_root();
    let _pipe_max = SysctlGuard::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string());
    let cgroup = MemCgroupPath::create(&format!("fragtrace-e2e-fail-{mode:?}-{}", std::process::id()), 128 * 1024);
    let dir = cgroup.leaf.display().to_string();
    let sizes: Vec<String> = SIZES_AND_ORDERS.iter().map(|(mib, _)| mib.to_string()).collect();

    let (trigger, collected, stats, kernel) = collect_during(mode, move || {
        let mut args = vec!["pipe-resize".to_string(), dir];
        args.extend(sizes);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_trigger(&args, Duration::from_secs(60))
    });
    drop(cgroup);

    assert_eq!(trigger.errnos, vec![libc::ENOMEM; 4], "every resize must fail with ENOMEM in the full cgroup");
    let ours = collected.failures_of(trigger.pid);
    let orders: Vec<u32> = ours.iter().map(|f| f.order).collect();
    assert_eq!(orders, SIZES_AND_ORDERS.iter().map(|(_, o)| *o).collect::<Vec<_>>(), "one failure per resize, in order");

    let account = kernel.gfp.value_of("__GFP_ACCOUNT").expect("this kernel's table names __GFP_ACCOUNT");
    for f in &ours {
        assert_eq!(f.task.pid, trigger.pid, "single-threaded trigger: pid == tgid");
        assert_eq!(f.task.comm, "alloc-trigger");
        assert_ne!(f.task.cgroup_id, 0);
        assert_eq!(f.gfp_mask & account, account, "GFP mask {:#x} lacks __GFP_ACCOUNT", f.gfp_mask);
        let flags = kernel.gfp.decode(f.gfp_mask);
        assert_eq!(flags.first().map(String::as_str), Some("GFP_KERNEL_ACCOUNT"), "decoded {flags:?}");
        assert!(flags.iter().all(|f| !f.starts_with("0x")), "undecoded bits in {flags:?}");
        let stack = f.stack_id.and_then(|id| collected.stacks.get(&id)).expect("a kernel stack for every failure");
        assert!(
            stack.iter().any(|s| s == "pipe_resize_ring" || s == "pipe_fcntl"),
            "stack {stack:?} does not show the pipe resize"
        );
        assert!(!stack[0].starts_with("bpf_") && !stack[0].starts_with("__traceiter"), "tracing frames not stripped: {stack:?}");
    }
    let counters = collected.finished.expect("finish was called");
    assert!(counters.failures >= 4, "kernel counted {} failures", counters.failures);
    assert!(counters.allocs_seen > counters.failures);
    assert_eq!(counters.dropped, 0, "no ring-buffer drops at this rate");
    assert_eq!(stats.decode_errors, 0);
}

#[test]
fn failures_are_caught_with_tp_btf() {
    failures_are_caught(ProbeMode::TpBtf);
}

#[test]
fn failures_are_caught_with_classic_tracepoint() {
    failures_are_caught(ProbeMode::Classic);
}
