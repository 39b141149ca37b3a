//! Recording survives what happens during incidents: `kill -9` of the recorder, SIGINT right
//! after the failures, damage on disk. And filters select by comm, pid, order and cgroup.

use std::{path::Path, time::Duration};

use fragtrace_tests::{
    cli::{
        TempPath, fragtrace, json_lines, provoke_failures, signal, start_recorder, temp_path, wait_for, wait_until_recorded_failures,
        wait_until_recorded_ticks,
    },
    require_root,
};

/// `report --jsonl` of `file`: (failure orders of `pid`, stderr, exit status).
fn failures_of(file: &Path, pid: u32, extra: &[&str]) -> (Vec<u64>, String, i32) {
    let out = fragtrace().args(["report", "--jsonl"]).args(extra).arg(file).output().expect("report");
    let orders = json_lines(&out.stdout)
        .iter()
        .filter(|o| o["kind"] == "failure" && o["tgid"] == pid)
        .map(|o| o["order"].as_u64().expect("order"))
        .collect();
    (orders, String::from_utf8_lossy(&out.stderr).into_owned(), out.status.code().unwrap_or(-1))
}

#[test]
fn kill_9_keeps_every_complete_block() {
    let _serial = require_root();
    let file = TempPath::new("killed.ftr");
    let (mut recorder, _stderr, _) = start_recorder(&file, &["--compress"]);
    let trigger = provoke_failures("kill9");
    // Blocks are written at every one-second tick: wait until the failures are on disk.
    wait_until_recorded_failures(&file, trigger.pid, &[6, 7, 8, 9]);
    signal(&recorder, libc::SIGKILL);
    let status = recorder.wait().expect("recorder exit");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));

    let (orders, stderr, code) = failures_of(&file, trigger.pid, &[]);
    assert_eq!(code, 0, "a killed recording is still readable: {stderr}");
    assert_eq!(orders, vec![6, 7, 8, 9], "every failure in a complete block is recovered");
    assert!(stderr.contains("warning") && stderr.contains("killed.ftr"), "the interruption is reported: {stderr}");
    let (_, stderr, code) = failures_of(&file, trigger.pid, &["--strict"]);
    assert_eq!(code, 1, "--strict turns the warning into an error: {stderr}");
    assert!(stderr.contains("--strict"), "{stderr}");
}

#[test]
fn sigint_right_after_the_failures_loses_nothing() {
    let _serial = require_root();
    let file = TempPath::new("interrupted.ftr");
    let (mut recorder, stderr, mut seen) = start_recorder(&file, &[]);
    let trigger = provoke_failures("sigint");
    // No grace period: the events are in the ring buffer, and stopping drains it.
    signal(&recorder, libc::SIGINT);
    let status = recorder.wait().expect("recorder exit");
    assert!(status.success(), "{status}");
    wait_for(&stderr, "recorded", &mut seen);
    let (orders, report_err, code) = failures_of(&file, trigger.pid, &["--strict"]);
    assert_eq!(code, 0, "a cleanly closed file passes --strict: {report_err}");
    assert_eq!(orders, vec![6, 7, 8, 9]);
}

#[test]
fn a_damaged_block_is_named_and_skipped() {
    let _serial = require_root();
    let file = TempPath::new("damaged.ftr");
    let (mut recorder, _stderr, _) = start_recorder(&file, &["--zones-interval", "200ms"]);
    // A first data block (zone snapshots and a tick) on disk before the failures…
    wait_until_recorded_ticks(&file);
    let trigger = provoke_failures("damage");
    // …and the failures in a later one.
    wait_until_recorded_failures(&file, trigger.pid, &[6, 7, 8, 9]);
    signal(&recorder, libc::SIGTERM);
    assert!(recorder.wait().expect("recorder exit").success());
    // Flip a byte in the first data block (before the failures were written).
    let mut bytes = std::fs::read(&file).expect("read");
    let header_block = 16 + 24 + u32::from_le_bytes(bytes[24..28].try_into().expect("len")) as usize;
    let victim = header_block + 24 + 3;
    bytes[victim] ^= 0xff;
    std::fs::write(&file, &bytes).expect("write");
    let (orders, stderr, code) = failures_of(&file, trigger.pid, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("damaged block at byte {header_block}")), "names the block's offset: {stderr}");
    assert_eq!(orders, vec![6, 7, 8, 9], "the blocks after the damaged one are read");
    let (_, stderr, code) = failures_of(&file, trigger.pid, &["--strict"]);
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn filters_select_by_comm_pid_order_and_cgroup() {
    let _serial = require_root();
    // The memory cgroup `provoke_failures("filter")` puts the trigger in.
    let cgroup_path = format!("/fragtrace-e2e-filter-{}", std::process::id());
    let kept = TempPath::new("kept.ftr");
    let none = TempPath::new("none.ftr");
    let (mut a, a_err, mut a_seen) =
        start_recorder(&kept, &["--comm", "alloc-trigger", "--min-order", "8", "--cgroup", &cgroup_path]);
    let (mut b, b_err, mut b_seen) = start_recorder(&none, &["--comm", "no-such-task", "--pid", "1"]);
    let trigger = provoke_failures("filter");
    for (child, err, seen) in [(&mut a, &a_err, &mut a_seen), (&mut b, &b_err, &mut b_seen)] {
        signal(child, libc::SIGINT);
        assert!(child.wait().expect("exit").success());
        wait_for(err, "recorded", seen);
    }
    let (orders, stderr, _) = failures_of(&kept, trigger.pid, &[]);
    assert_eq!(orders, vec![8, 9], "only orders ≥ 8 of the trigger in its cgroup: {stderr}");
    let all = json_lines(&fragtrace().args(["report", "--jsonl"]).arg(&kept).output().expect("report").stdout);
    for o in all.iter().filter(|o| o["kind"] == "failure") {
        assert_eq!(o["comm"], "alloc-trigger", "{o}");
        assert_eq!(o["cgroup"], cgroup_path.as_str(), "the cgroup path was resolved at record time: {o}");
    }
    let doc: serde_json::Value =
        serde_json::from_slice(&fragtrace().args(["report", "--json"]).arg(&kept).output().expect("report").stdout).expect("json");
    assert_eq!(doc["failures"]["by_cgroup"][0]["cgroup"], cgroup_path.as_str());
    assert_eq!(doc["failures"]["by_cgroup"][0]["count"], 2);
    let (orders, _, _) = failures_of(&none, trigger.pid, &[]);
    assert!(orders.is_empty(), "a filter matching nothing records none of the trigger's failures");
    // The same filters apply when reading.
    let (orders, _, _) = failures_of(&kept, trigger.pid, &["--min-order", "9"]);
    assert_eq!(orders, vec![9]);
    let (orders, _, _) = failures_of(&kept, trigger.pid, &["--cgroup", "/elsewhere"]);
    assert!(orders.is_empty());
}

/// A small tmpfs, unmounted and removed on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = temp_path("tmpfs");
        std::fs::create_dir_all(&dir).expect("mount point");
        let status = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&dir).status().expect("mount");
        assert!(status.success(), "mounting a {size} tmpfs at {}", dir.display());
        Self(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_full_disk_stops_the_recorder_and_keeps_what_was_written() {
    let _serial = require_root();
    let disk = Tmpfs::mount("256k");
    let file = disk.0.join("full.ftr");
    // Zone snapshots every 20 ms (pagetypeinfo is a few KiB) fill 256 KiB in about a second.
    let (mut recorder, stderr, mut seen) = start_recorder(&file, &["--zones-interval", "20ms"]);
    let status = recorder.expect_exit("the recorder, on a full disk,", Duration::from_secs(30));
    assert_eq!(status.code(), Some(1), "a full disk is an error");
    seen.extend(stderr.iter());
    let err = seen.join("\n");
    assert!(err.contains("No space left on device") && err.contains("full.ftr"), "names the cause and the file: {err}");
    assert!(err.contains("readable"), "says the data written so far is kept: {err}");
    let out = fragtrace().args(["report", "--json"]).arg(&file).output().expect("report");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(!doc["zones"].as_array().expect("zones").is_empty(), "the snapshots written before the disk filled are read");
    // The recorded pagetypeinfo replays into the pageblock census: first and last sample apart.
    let census = doc["pageblocks"].as_array().expect("pageblocks");
    let normal = census.iter().find(|z| z["zone"] == "Normal").unwrap_or_else(|| panic!("a Normal zone: {census:?}"));
    assert!(normal["last"]["ts_ns"].as_u64() > normal["first"]["ts_ns"].as_u64(), "{normal}");
    assert!(normal["last"]["blocks"]["Unmovable"].as_u64().is_some_and(|n| n > 0), "{normal}");
    assert!(normal["unmovable_reclaimable"]["growth_per_hour"].is_f64(), "{normal}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"), "the cut is reported");
}
