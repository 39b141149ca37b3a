//! fragtrace keeps working when memory runs out around it: a recorder inside a memory cgroup
//! that is driven to its limit again and again (the memcg OOM killer fires each time) stays
//! alive, records every OOM kill, and still records failures afterwards. Its own memory
//! is bounded: the aggregator's and caches' bounds are unit-tested
//! (`aggregate::tests::distinct_keys_are_bounded_and_the_overflow_is_counted`), the hour-long
//! storm is `cargo xtask soak` (docs/reliability.md).

use std::{
    os::unix::process::ExitStatusExt,
    process::{Command, Stdio},
};

use fragtrace_tests::{
    MemCgroupPath, built_binary,
    cli::{Says, TempPath, fragtrace, json_lines, provoke_in_child, signal, spawn_until, wait_for},
    require_root,
};

const LIMIT: u64 = 192 << 20;

fn read_u64(path: &std::path::Path) -> u64 {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).trim().parse().expect("number")
}

#[test]
fn the_recorder_survives_repeated_oom_kills_in_its_own_memory_cgroup() {
    let _serial = require_root();
    let shared = MemCgroupPath::create(&format!("fragtrace-e2e-pressure-{}", std::process::id()), 0);
    std::fs::write(shared.leaf.join("memory.limit_in_bytes"), LIMIT.to_string()).expect("limit");
    std::fs::write(shared.leaf.join("memory.oom_control"), "0").expect("OOM killer on");
    let tight = MemCgroupPath::create(&format!("fragtrace-e2e-pressure-fail-{}", std::process::id()), 128 * 1024);

    // The recorder joins the cgroup before it starts, so everything it allocates is charged there.
    let file = TempPath::new("pressure.ftr");
    let mut command = Command::new("sh");
    command.arg("-c").arg(r#"echo $$ > "$1/cgroup.procs" && shift && exec "$@""#).arg("sh").arg(&shared.leaf).arg(built_binary("fragtrace"));
    command.args(["record", "--duration", "120s", "--alloc-probe", "always", "-o"]).arg(&file);
    let (mut recorder, stderr, mut seen) = spawn_until(&mut command, Says::Stderr, "recording to");
    let procs = std::fs::read_to_string(shared.leaf.join("cgroup.procs")).expect("procs");
    assert!(procs.lines().any(|p| p.trim() == recorder.id().to_string()), "the recorder runs in the cgroup");

    let mut victims = Vec::new();
    for _ in 0..3 {
        // Wants 512 MiB in a 192 MiB cgroup it shares with the recorder: the cgroup's OOM
        // killer must pick the hog, and the recorder must carry on under that pressure.
        let hog = Command::new(built_binary("alloc-trigger")).arg("eat").arg(&shared.leaf).arg("512").stdout(Stdio::null()).spawn().expect("hog");
        let pid = hog.id();
        let status = hog.wait_with_output().expect("hog exit").status;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "the memcg OOM killer ran");
        assert!(recorder.try_wait().expect("try_wait").is_none(), "the recorder was not the victim: {seen:?}");
        victims.push(pid);
    }
    assert!(read_u64(&shared.leaf.join("memory.failcnt")) > 0, "the cgroup really was at its limit");
    let after = provoke_in_child("pressure", &tight.leaf);
    // No grace period: the failures are in the ring buffer, and stopping drains it
    // (e2e_record.rs: sigint_right_after_the_failures_loses_nothing).
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("exit").success(), "{seen:?}");
    wait_for(&stderr, "recorded", &mut seen);

    let out = fragtrace().args(["report", "--jsonl"]).arg(&file).output().expect("report");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events = json_lines(&out.stdout);
    let killed: Vec<u32> = events.iter().filter(|e| e["kind"] == "oom").filter_map(|e| e["victim_pid"].as_u64()).map(|p| p as u32).collect();
    for v in &victims {
        assert!(killed.contains(v), "OOM kill of {v} recorded: {killed:?}");
    }
    let failures: Vec<u64> =
        events.iter().filter(|e| e["kind"] == "failure" && e["pid"] == after.child_pid).filter_map(|e| e["order"].as_u64()).collect();
    assert_eq!(failures, vec![6, 7, 8, 9], "failures after the OOM kills are still recorded");
    let summary = events.last().expect("summary");
    assert_eq!(summary["dropped"], 0, "nothing lost under pressure: {summary}");
}
