//! Who fragments: a process that makes the kernel steal pageblocks (pipes full of unmovable
//! pages beyond the free unmovable pool) is ranked first under `extfrag.by_comm` in
//! `report --json`, while another process allocates movable pages all along; its fallbacks
//! come with sampled kernel stacks, and cgroups and pods are reported too.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use fragtrace_tests::{
    SysctlGuard, built_binary,
    cli::{KillOnDrop, TempPath, report_json, signal, start_recorder, wait_for},
    mem_available, poll, require_root, run_trigger,
};
use serde_json::Value;

/// Fills of growing size until the trigger's fallbacks are on record: right after another
/// fill (e2e_extfrag, or a run of this test) the blocks it stole are free and unmovable, and
/// a fill can be served from them without any fallback.
const FILLS_MIB: [u64; 3] = [1024, 2048, 3072];
const BACKGROUND_MIB: u64 = 256;
const MIN_AVAILABLE: u64 = 8 << 30;

fn count(row: &Value, key: &str) -> u64 {
    row[key].as_u64().unwrap_or_else(|| panic!("{key} in {row}"))
}

#[test]
fn the_process_that_steals_pageblocks_ranks_first() {
    let _serial = require_root();
    assert!(
        mem_available() > MIN_AVAILABLE + ((FILLS_MIB[2] + BACKGROUND_MIB) << 20) + (512 << 20),
        "MemAvailable {} MiB is too low to run this test safely (needs > 8 GiB after it)",
        mem_available() >> 20
    );
    let _pipe_max = SysctlGuard::set("/proc/sys/fs/pipe-max-size", "1048576");
    let file = TempPath::new("polluters.ftr");
    let (mut recorder, stderr, mut seen) = start_recorder(&file, &[]);
    // A competitor: order-0 movable page faults for as long as the trigger runs.
    let background = KillOnDrop(
        Command::new(built_binary("pagefault-bench"))
            .args(["120", &BACKGROUND_MIB.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("spawning pagefault-bench"),
    );
    for mib in FILLS_MIB {
        let trigger = run_trigger(&["fill-pipes", &mib.to_string()], Duration::from_secs(120));
        assert!(trigger.errnos.iter().all(|&e| e == 0), "F_SETPIPE_SZ failed: {:?}", trigger.errnos);
        // The recorder writes a block every second: wait for it to hold the fill's fallbacks.
        let stole = poll(Duration::from_secs(3), || {
            let doc = report_json(&file);
            doc["extfrag"]["by_comm"].as_array()?.iter().any(|c| c["comm"] == "alloc-trigger").then_some(())
        });
        if stole.is_some() {
            break;
        }
        eprintln!("polluters: a {mib} MiB fill caused no fallback (free unmovable blocks left by an earlier fill); filling more");
    }
    drop(background);
    // SIGINT drains the ring buffer and closes the file cleanly.
    signal(&recorder, libc::SIGINT);
    assert!(recorder.expect_exit("the recorder", Duration::from_secs(30)).success());
    wait_for(&stderr, "recorded", &mut seen);

    let extfrag = report_json(&file)["extfrag"].clone();
    let by_comm = extfrag["by_comm"].as_array().expect("extfrag.by_comm");
    assert!(!by_comm.is_empty(), "no polluters: {extfrag:#}");
    let first = &by_comm[0];
    assert_eq!(first["comm"], "alloc-trigger", "the pageblock thief ranks first: {by_comm:#?}");
    let harm = count(first, "harm");
    assert_eq!(harm, 10 * count(first, "stolen") + 3 * count(first, "fragmenting") + count(first, "other"), "the documented score: {first}");
    assert!(count(first, "stolen") + count(first, "fragmenting") > 0, "the trigger steals or splits pageblocks: {first}");
    assert!(by_comm.windows(2).all(|w| count(&w[0], "harm") >= count(&w[1], "harm")), "ranked by harm: {by_comm:#?}");
    let total = count(&extfrag, "total");
    assert_eq!(by_comm.iter().map(|c| count(c, "fallbacks")).sum::<u64>(), total, "every fallback is attributed to a process");

    let by_cgroup = extfrag["by_cgroup"].as_array().expect("extfrag.by_cgroup");
    assert_eq!(by_cgroup.iter().map(|c| count(c, "fallbacks")).sum::<u64>(), total, "and to a cgroup: {by_cgroup:#?}");
    assert!(extfrag["by_pod"].is_array(), "by_pod is there (empty outside pods): {extfrag:#}");

    let sampling = &extfrag["stack_sampling"];
    assert_eq!(sampling["every"], 8, "{sampling}");
    let sampled = count(sampling, "sampled");
    assert!(sampled > 0 && sampled <= total, "{sampling}");
    let stacks = extfrag["stacks"].as_array().expect("extfrag.stacks");
    assert!(!stacks.is_empty(), "sampled stacks are reported: {extfrag:#}");
    for s in stacks {
        let frames: Vec<&str> = s["stack"].as_array().expect("frames").iter().filter_map(Value::as_str).collect();
        assert!(!frames.is_empty(), "a stack with no frames: {s}");
        let top = frames[0];
        assert!(!top.starts_with("bpf_") && !top.starts_with("__traceiter_") && !top.starts_with("perf_trace_") && top != "_einittext", "tracing frames trimmed: {frames:?}");
    }
    assert!(
        stacks.iter().any(|s| s["stack"].as_array().is_some_and(|f| f.iter().filter_map(Value::as_str).any(|f| f.contains("pipe_write")))),
        "the trigger's pipe writes are among the stacks: {stacks:#?}"
    );
    eprintln!("polluters: {} fallbacks, {sampled} stacks sampled; first {first}", total);
}
