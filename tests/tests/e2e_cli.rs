//! The real binary end to end: `record` while failures are provoked, `report --json` and
//! `report` on the file, `top --batch` while failures are provoked, and bad input.

use std::{
    io::{BufRead, BufReader},
    os::unix::fs::PermissionsExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use fragtrace_tests::{MemCgroup, SysctlGuard, TriggerResult, built_binary, require_root, row_starting_with, run_trigger};

fn fragtrace() -> Command {
    Command::new(built_binary("fragtrace"))
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fragtrace-e2e-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// Forwards a child's output lines to a channel.
fn lines_of(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(rx: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return;
                }
            }
            Err(_) => panic!("no line containing {needle:?} within 30 s; got {seen:?}"),
        }
    }
}

/// Provokes the four pipe-resize failures (orders 6–9) in a fresh memory cgroup.
fn provoke_failures(tag: &str) -> TriggerResult {
    let _pipe_max = SysctlGuard::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string());
    let cgroup = MemCgroup::with_headroom(&format!("fragtrace-e2e-cli-{tag}"), 128 * 1024);
    let dir = cgroup.dir.display().to_string();
    let result = run_trigger(&["pipe-resize", &dir, "16", "32", "64", "128"], Duration::from_secs(60));
    assert_eq!(result.errnos, vec![libc::ENOMEM; 4]);
    result
}

fn interrupt(child: &mut Child) {
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
}

#[test]
fn record_then_report_json_and_text() {
    let _serial = require_root();
    let file = temp_path("failures.ftr");
    let mut recorder = fragtrace()
        .args(["record", "-o"])
        .arg(&file)
        .args(["--duration", "60s"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning fragtrace record");
    let stderr = lines_of(recorder.stderr.take().expect("stderr"));
    let mut seen = Vec::new();
    wait_for(&stderr, "recording to", &mut seen);
    let trigger = provoke_failures("record");
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&mut recorder);
    let status = recorder.wait().expect("recorder exit");
    assert!(status.success(), "record exited with {status}; stderr {seen:?}");
    wait_for(&stderr, "recorded", &mut seen);
    assert_eq!(std::fs::metadata(&file).expect("file").permissions().mode() & 0o777, 0o600);

    let report = fragtrace().args(["report", "--json"]).arg(&file).output().expect("report --json");
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let objects: Vec<serde_json::Value> = String::from_utf8_lossy(&report.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    let ours: Vec<&serde_json::Value> =
        objects.iter().filter(|o| o["kind"] == "failure" && o["tgid"] == trigger.pid).collect();
    let orders: Vec<u64> = ours.iter().map(|o| o["order"].as_u64().expect("order")).collect();
    assert_eq!(orders, vec![6, 7, 8, 9]);
    for o in &ours {
        assert_eq!(o["pid"], trigger.pid);
        assert_eq!(o["comm"], "alloc-trigger");
        assert!(o["cgroup_id"].as_u64().expect("cgroup_id") > 0);
        assert!(o["ts_ns"].as_u64().expect("ts_ns") > 0);
        assert!(o["gfp_mask"].as_str().expect("gfp_mask").starts_with("0x"));
        assert_eq!(o["gfp_flags"][0], "GFP_KERNEL_ACCOUNT", "{o}");
        assert!(o["migratetype"].is_i64());
        let stack: Vec<&str> = o["stack"].as_array().expect("stack").iter().filter_map(|s| s.as_str()).collect();
        assert!(stack.contains(&"pipe_resize_ring") || stack.contains(&"pipe_fcntl"), "{stack:?}");
    }
    let summary = objects.last().expect("output");
    assert_eq!(summary["kind"], "summary");
    assert_eq!(summary["dropped"], 0);
    assert!(summary["failures"].as_u64().expect("failures") >= 4);
    assert!(summary["allocs_seen"].as_u64().expect("allocs_seen") > 0);

    let text = fragtrace().arg("report").arg(&file).output().expect("report");
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    let row = row_starting_with(text.lines(), &["alloc-trigger", "6"], false)
        .unwrap_or_else(|| panic!("no alloc-trigger order-6 row in:\n{text}"));
    assert!(row.contains("GFP_KERNEL_ACCOUNT") && row.contains("pipe_resize_ring"), "{row}");

    // An existing file is not overwritten without --force.
    let again = fragtrace().args(["record", "--duration", "1s", "-o"]).arg(&file).output().expect("record again");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    std::fs::remove_file(&file).expect("cleanup");
}

#[test]
fn top_batch_shows_provoked_failures() {
    let _serial = require_root();
    let mut top = fragtrace()
        .args(["top", "--batch", "--interval", "300ms", "--count", "10"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawning fragtrace top");
    let stdout = lines_of(top.stdout.take().expect("stdout"));
    let mut seen = Vec::new();
    wait_for(&stdout, "fragtrace — ", &mut seen);
    let trigger = provoke_failures("top");
    let status = top.wait().expect("top exit");
    assert!(status.success(), "top exited with {status}");
    seen.extend(stdout.try_iter());
    let row = row_starting_with(seen.iter().map(String::as_str), &["alloc-trigger", "9"], true)
        .unwrap_or_else(|| panic!("top never showed the trigger's (pid {}) order-9 failure:\n{}", trigger.pid, seen.join("\n")));
    let fields: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(fields[2], "1", "one order-9 failure: {row}");
    assert!(fields[3].starts_with("GFP_KERNEL_ACCOUNT"), "{row}");
    assert_eq!(fields.last(), Some(&"pipe_resize_ring"), "{row}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let garbage = temp_path("garbage.ftr");
    std::fs::write(&garbage, b"this is not a recording").expect("write");
    let out = fragtrace().arg("report").arg(&garbage).output().expect("report");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a fragtrace recording"));
    let missing = fragtrace().args(["report", "/nonexistent/file.ftr"]).output().expect("report");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("No such file"));
    let bad_duration = fragtrace().args(["record", "-o", "/tmp/x.ftr", "--duration", "soon"]).output().expect("record");
    assert_eq!(bad_duration.status.code(), Some(2), "clap usage error");
    assert!(String::from_utf8_lossy(&bad_duration.stderr).contains("not a duration"));
    let _ = std::fs::remove_file(&garbage);
}
