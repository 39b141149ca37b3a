//! Real extfrag fallbacks: unmovable pipe pages beyond the free unmovable pool make the
//! allocator steal movable blocks.

use std::time::Duration;

use fragtrace::probe_status::ProbeMode;
use fragtrace_tests::{SysctlGuard, collect_during, mem_available, require_root, run_trigger};

/// Fills of growing size, one after the other: right after another big pipe fill (a run of
/// e2e_polluters, or of this test) the blocks it stole are free and unmovable, and a small
/// fill is served from them without any fallback. The later fills then have to steal.
const FILLS_MIB: [u64; 3] = [384, 1024, 2048];
const MIN_AVAILABLE: u64 = 8 << 30;

#[test]
fn extfrag_fallbacks_are_caught() {
    let _serial = require_root();
    assert!(
        mem_available() > MIN_AVAILABLE + (FILLS_MIB[2] << 20) + (512 << 20),
        "MemAvailable {} MiB is too low to run this test safely (needs > 8 GiB after it)",
        mem_available() >> 20
    );
    // 1 MiB pipes are within the default limit; pinned in case the host changed it.
    let _pipe_max = SysctlGuard::set("/proc/sys/fs/pipe-max-size", "1048576");
    let (triggers, collected, _stats, kernel) = collect_during(ProbeMode::TpBtf, || {
        FILLS_MIB.map(|mib| run_trigger(&["fill-pipes", &mib.to_string()], Duration::from_secs(120)))
    });
    for trigger in &triggers {
        assert!(trigger.errnos.iter().all(|&e| e == 0), "F_SETPIPE_SZ failed: {:?}", trigger.errnos);
    }
    let ours: Vec<_> = triggers.iter().flat_map(|t| collected.extfrags_of(t.pid)).collect();
    let pids: Vec<u32> = triggers.iter().map(|t| t.pid).collect();
    assert!(!ours.is_empty(), "no extfrag event from the triggers (pids {pids:?})");
    assert_eq!(kernel.pageblock_order, 9, "x86_64 pageblock order, read from the format file");
    // Most fallbacks come from the order-0 pipe pages (GFP_HIGHUSER|__GFP_ACCOUNT: unmovable);
    // the pipe-slot arrays (order 2) and slab pages of the trigger may fall back too.
    let page_fallbacks = ours.iter().filter(|x| x.alloc_order == 0 && x.alloc_migratetype == 0).count();
    assert!(page_fallbacks * 2 >= ours.len(), "{page_fallbacks} of {} fallbacks are order-0 unmovable: {ours:?}", ours.len());
    for x in &ours {
        assert_eq!(x.task.comm, "alloc-trigger");
        assert_ne!(x.fallback_migratetype, x.alloc_migratetype, "a fallback is to another migratetype: {x:?}");
        assert!((0..=10).contains(&x.alloc_order), "{x:?}");
        assert!(x.fallback_order >= x.alloc_order && x.fallback_order <= 10, "{x:?}");
        assert_eq!(x.fragmenting(kernel.pageblock_order), x.fallback_order < 9);
    }
    eprintln!("extfrag: {} fallbacks from the triggers, {} order-0 unmovable", ours.len(), page_fallbacks);
    let counters = collected.finished.expect("finish was called");
    assert!(counters.extfrag >= ours.len() as u64, "kernel counter {} < events seen {}", counters.extfrag, ours.len());
    assert_eq!(counters.dropped, 0);
}
