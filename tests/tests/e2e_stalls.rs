//! Stall and OOM probes on the real kernel: a process reading a file bigger than its memory
//! cgroup's limit stalls in memcg reclaim (the probes time it), and a memcg OOM kill is seen
//! by `oom:mark_victim`.

use std::{io::Write, process::Stdio};

use fragtrace_tests::{
    MemCgroupPath, built_binary,
    cli::{TempPath, fragtrace, json_lines, signal, start_recorder},
    require_root,
};
use serde_json::Value;

#[test]
fn every_stall_probe_attaches_on_this_kernel() {
    let _serial = require_root();
    let out = fragtrace().args(["top", "--json", "--iterations", "1", "--interval", "300ms"]).output().expect("top --json");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "no probe was left out: {}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().expect("line")).expect("json");
    assert_eq!(doc["stall_probes"], serde_json::json!(["reclaim", "memcg-reclaim", "compaction", "oom"]));
}

#[test]
fn memcg_reclaim_stalls_and_an_oom_kill_are_recorded() {
    let _serial = require_root();
    // A 96 MiB file, out of the page cache, read by a process whose memory cgroup holds 16 MiB.
    let big = TempPath::new("stall-input.bin");
    {
        let mut f = std::fs::File::create(&big).expect("file");
        let chunk = vec![0xa5u8; 1 << 20];
        for _ in 0..96 {
            f.write_all(&chunk).expect("write");
        }
        f.sync_all().expect("sync");
    }
    let file = TempPath::new("stalls.ftr");
    let (mut recorder, _stderr, _) = start_recorder(&file, &[]);

    let reader_cg = MemCgroupPath::create(&format!("fragtrace-e2e-stall-{}", std::process::id()), 0);
    std::fs::write(reader_cg.leaf.join("memory.limit_in_bytes"), (16u64 << 20).to_string()).expect("limit");
    std::fs::write(reader_cg.leaf.join("memory.oom_control"), "0").expect("oom killer on");
    // Drop the file's cached pages first so reading it allocates (and reclaims) for real.
    std::fs::write("/proc/sys/vm/drop_caches", "1\n").expect("drop_caches");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("echo $$ > {}/cgroup.procs && cat {} > /dev/null", reader_cg.leaf.display(), big.display()))
        .status()
        .expect("reader");
    assert!(status.success());

    let oom_cg = MemCgroupPath::create(&format!("fragtrace-e2e-stall-oom-{}", std::process::id()), 0);
    std::fs::write(oom_cg.leaf.join("memory.limit_in_bytes"), (32u64 << 20).to_string()).expect("limit");
    std::fs::write(oom_cg.leaf.join("memory.oom_control"), "0").expect("oom killer on");
    let status = std::process::Command::new(built_binary("alloc-trigger")).arg("eat").arg(&oom_cg.leaf).arg("256").stdout(Stdio::null()).status().expect("trigger");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL), "the memcg OOM killer ran");
    // No grace period: the stalls and the kill are in the ring buffer (the victim is marked
    // before it is killed), and stopping drains it.
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("exit").success());

    let events = json_lines(&fragtrace().args(["report", "--jsonl"]).arg(&file).output().expect("report").stdout);
    let cg_path = format!("/fragtrace-e2e-stall-{}", std::process::id());
    let stalls: Vec<&Value> = events.iter().filter(|e| e["kind"] == "stall" && e["comm"] == "cat" && e["cgroup"] == cg_path.as_str()).collect();
    assert!(!stalls.is_empty(), "the reader stalled in memcg reclaim: {:?}", events.iter().filter(|e| e["kind"] == "stall").take(3).collect::<Vec<_>>());
    for s in &stalls {
        assert_eq!(s["stall"], "memcg-reclaim");
        let us = s["duration_us"].as_u64().expect("duration");
        assert!(us < 10_000_000, "a plausible stall duration: {s}");
        assert!(s["result"].as_i64().expect("result") >= 0, "pages reclaimed: {s}");
    }
    let total_us: u64 = stalls.iter().map(|s| s["duration_us"].as_u64().unwrap_or(0)).sum();
    assert!(total_us > 0, "measurable time in reclaim");
    let oom = events.iter().find(|e| e["kind"] == "oom" && e["victim_comm"] == "alloc-trigger").expect("the OOM kill was recorded");
    assert!(oom["victim_pid"].as_u64().expect("pid") > 0);
    assert!(oom["anon_rss_kb"].as_u64().expect("rss") >= 16 * 1024, "the victim held about 32 MiB: {oom}");
    let doc: Value = serde_json::from_slice(&fragtrace().args(["report", "--json"]).arg(&file).output().expect("report").stdout).expect("json");
    let memcg = doc["stalls"].as_array().expect("stalls").iter().find(|s| s["kind"] == "memcg-reclaim").expect("memcg reclaim histogram");
    assert!(memcg["count"].as_u64().expect("count") >= stalls.len() as u64);
    assert!(memcg["p99_us"].as_u64().expect("p99") <= memcg["max_us"].as_u64().expect("max"));
    assert_eq!(doc["oom_kills"]["total"], 1);
    let text = String::from_utf8(fragtrace().arg("report").arg(&file).output().expect("report").stdout).expect("utf-8");
    assert!(text.contains("STALLS") && text.contains("memcg-reclaim") && text.contains("OOM KILLS 1"), "{text}");
}
