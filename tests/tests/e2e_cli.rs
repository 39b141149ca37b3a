//! The real binary end to end: `record` while failures are provoked, then every report
//! format and `top --replay` on the file; `top --batch` live; bad input.

use std::{os::unix::fs::PermissionsExt, process::Stdio, time::Duration};

use fragtrace_tests::{
    cli::{
        KillOnDrop, TempPath, fragtrace, json_lines, lines_of, provoke_failures, signal, start_recorder, wait_for, wait_until_recorded_failures,
        wait_until_recorded_ticks,
    },
    require_root, row_starting_with,
};

#[test]
fn record_then_every_report_format_and_replay() {
    let _serial = require_root();
    let file = TempPath::new("failures.ftr");
    let (mut recorder, stderr, mut seen) = start_recorder(&file, &["--compress", "--zones-interval", "500ms"]);
    // A zone snapshot and a tick on disk before the failures, so the replay has ticks.
    wait_until_recorded_ticks(&file);
    let trigger = provoke_failures("record");
    // And the failures in a block of their own, written at the next tick.
    wait_until_recorded_failures(&file, trigger.pid, &[6, 7, 8, 9]);
    signal(&recorder, libc::SIGINT);
    let status = recorder.wait().expect("recorder exit");
    assert!(status.success(), "record exited with {status}; stderr {seen:?}");
    wait_for(&stderr, "recorded", &mut seen);
    assert_eq!(std::fs::metadata(&file).expect("file").permissions().mode() & 0o777, 0o600);

    // --jsonl: one object per event (the foundation schema), then a summary.
    let report = fragtrace().args(["report", "--jsonl"]).arg(&file).output().expect("report --jsonl");
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    assert!(report.stderr.is_empty(), "a clean recording gives no warnings: {}", String::from_utf8_lossy(&report.stderr));
    let objects = json_lines(&report.stdout);
    let ours: Vec<&serde_json::Value> = objects.iter().filter(|o| o["kind"] == "failure" && o["tgid"] == trigger.pid).collect();
    let orders: Vec<u64> = ours.iter().map(|o| o["order"].as_u64().expect("order")).collect();
    assert_eq!(orders, vec![6, 7, 8, 9]);
    for o in &ours {
        assert_eq!(o["pid"], trigger.pid);
        assert_eq!(o["comm"], "alloc-trigger");
        assert!(o["cgroup_id"].as_u64().expect("cgroup_id") > 0);
        assert!(o["cgroup"].is_string(), "the cgroup id was resolved to a path at record time: {o}");
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

    // --json: the aggregate report as one document.
    let doc = fragtrace().args(["report", "--json", "--comm", "alloc-trigger"]).arg(&file).output().expect("report --json");
    assert!(doc.status.success(), "{}", String::from_utf8_lossy(&doc.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&doc.stdout).expect("one JSON document");
    assert_eq!(doc["kind"], "report");
    assert_eq!(doc["failures"]["total"], 4);
    for order in ["6", "7", "8", "9"] {
        assert_eq!(doc["failures"]["by_order"][order], 1, "{}", doc["failures"]);
    }
    assert_eq!(doc["failures"]["by_comm"][0]["comm"], "alloc-trigger");
    assert_eq!(doc["failures"]["by_gfp"][0]["count"], 4);
    assert_eq!(doc["failures"]["by_cgroup"][0]["count"], 4);
    assert!(doc["zones"].as_array().expect("zones").iter().any(|z| z["zone"] == "Normal"), "zone snapshots were recorded");

    // Text: tables with bars, and the zone state from the file.
    let text = fragtrace().arg("report").arg(&file).output().expect("report");
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    let row = row_starting_with(text.lines(), &["alloc-trigger", "6"], false).unwrap_or_else(|| panic!("no alloc-trigger order-6 row in:\n{text}"));
    assert!(row.contains("GFP_KERNEL_ACCOUNT") && row.contains("pipe_resize_ring"), "{row}");
    assert!(text.lines().any(|l| l.trim_start().starts_with("order 9") && l.contains('█')), "order bars:\n{text}");
    assert!(text.lines().any(|l| l.split_whitespace().take(3).eq(["node", "0", "Normal"])), "zones from the file:\n{text}");

    // Chrome trace: valid JSON with the four failures on the trigger's track.
    let trace = fragtrace().args(["report", "--format", "chrome-trace"]).arg(&file).output().expect("chrome-trace");
    assert!(trace.status.success());
    let trace: serde_json::Value = serde_json::from_slice(&trace.stdout).expect("trace is JSON");
    let events = trace["traceEvents"].as_array().expect("traceEvents");
    let instants = events.iter().filter(|e| e["ph"] == "i" && e["pid"] == trigger.pid && e["cat"] == "failure").count();
    assert_eq!(instants, 4);
    assert!(events.iter().any(|e| e["ph"] == "C" && e["name"].as_str().is_some_and(|n| n.contains("Normal"))), "buddyinfo counter tracks");

    // The live view, driven from the file.
    let replay = fragtrace().args(["top", "--batch", "--speed", "50", "--replay"]).arg(&file).output().expect("top --replay");
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    let out = String::from_utf8_lossy(&replay.stdout);
    assert!(row_starting_with(out.lines(), &["alloc-trigger", "9"], true).is_some(), "replay shows the failures:\n{out}");
    assert!(out.contains("replay"), "{out}");

    // An existing file is not overwritten without --force.
    let again = fragtrace().args(["record", "--duration", "1s", "-o"]).arg(&file).output().expect("record again");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
}

#[test]
fn top_batch_shows_provoked_failures() {
    let _serial = require_root();
    let mut top = KillOnDrop(
        fragtrace()
            .args(["top", "--batch", "--interval", "300ms", "--comm", "alloc-trig*", "--alloc-probe", "always"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawning fragtrace top"),
    );
    let stdout = lines_of(top.stdout.take().expect("stdout"));
    let mut seen = Vec::new();
    wait_for(&stdout, "fragtrace — ", &mut seen);
    let trigger = provoke_failures("top");
    // Refreshes keep coming; wait for one that shows the order-9 failure, then one more
    // whole report so the --comm check below sees a complete refresh.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while row_starting_with(seen.iter().map(String::as_str), &["alloc-trigger", "9"], true).is_none() {
        assert!(std::time::Instant::now() < deadline, "top never showed the trigger's (pid {}) order-9 failure:\n{}", trigger.pid, seen.join("\n"));
        if let Ok(line) = stdout.recv_timeout(Duration::from_secs(1)) {
            seen.push(line);
        }
    }
    wait_for(&stdout, "fragtrace — ", &mut seen);
    wait_for(&stdout, "fragtrace — ", &mut seen);
    signal(&top, libc::SIGINT);
    let status = top.wait().expect("top exit");
    assert!(status.success(), "top exited with {status}");
    let row = row_starting_with(seen.iter().map(String::as_str), &["alloc-trigger", "9"], true).expect("row");
    let fields: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(fields[2], "1", "one order-9 failure: {row}");
    assert!(fields[3].starts_with("GFP_KERNEL_ACCOUNT"), "{row}");
    assert_eq!(fields.last(), Some(&"pipe_resize_ring"), "{row}");
    // The last complete report: between the last two header lines.
    let headers: Vec<usize> = seen.iter().enumerate().filter(|(_, l)| l.starts_with("fragtrace — ")).map(|(i, _)| i).collect();
    let report = &seen[headers[headers.len() - 2]..headers[headers.len() - 1]];
    let start = report.iter().position(|l| l.starts_with("FAILURES  ")).expect("failures table");
    let rows: Vec<&String> = report[start + 1..].iter().take_while(|l| !l.is_empty()).collect();
    assert!(!rows.is_empty() && rows.iter().all(|l| l.contains("alloc-trigger")), "--comm keeps only the trigger's failures: {rows:?}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let garbage = TempPath::new("garbage.ftr");
    std::fs::write(&garbage, b"this is not a recording").expect("write");
    let out = fragtrace().arg("report").arg(&garbage).output().expect("report");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a fragtrace recording") && err.contains("garbage.ftr"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let empty = TempPath::new("empty.ftr");
    std::fs::write(&empty, b"").expect("write");
    let out = fragtrace().arg("report").arg(&empty).output().expect("report");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty.ftr: the file is empty"));
    let newer = TempPath::new("newer.ftr");
    std::fs::write(&newer, [&b"FRAGTRCE"[..], &7u32.to_le_bytes(), &[0; 4]].concat()).expect("write");
    let out = fragtrace().arg("report").arg(&newer).output().expect("report");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("version 7 is newer"), "{}", String::from_utf8_lossy(&out.stderr));
    let missing = fragtrace().args(["report", "/nonexistent/file.ftr"]).output().expect("report");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("No such file"));
    for (args, needle) in [
        (&["record", "-o", "/tmp/x.ftr", "--duration", "soon"][..], "not a duration"),
        (&["record", "-o", "/tmp/x.ftr", "--max-size", "lots"][..], "not a size"),
        (&["report", "--since", "yesterday", "x.ftr"][..], "yesterday"),
        (&["report", "--format", "pdf", "x.ftr"][..], "pdf"),
    ] {
        let out = fragtrace().args(args).output().expect("fragtrace");
        assert_eq!(out.status.code(), Some(2), "clap usage error for {args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(needle), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let bad_cgroup = fragtrace().args(["report", "--cgroup", "kubepods", "x.ftr"]).output().expect("report");
    assert_eq!(bad_cgroup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_cgroup.stderr).contains("kubepods"), "{}", String::from_utf8_lossy(&bad_cgroup.stderr));
}

#[test]
fn record_shows_a_status_line_on_a_terminal_only() {
    let _serial = require_root();
    let file = TempPath::new("status.ftr");
    // `script` gives the recorder a pseudo-terminal as stderr.
    let command = format!("{} record -o {} --duration 2500ms", fragtrace_tests::built_binary("fragtrace").display(), file.display());
    let out = std::process::Command::new("script").args(["-qfec", &command, "/dev/null"]).output().expect("script (util-linux)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let tty = String::from_utf8_lossy(&out.stdout);
    let updates: Vec<&str> = tty.split('\r').filter(|l| l.contains("events,") && l.contains("dropped,") && l.contains("KiB,")).collect();
    assert!(updates.len() >= 2, "a status update every second on a terminal: {tty:?}");
    assert!(updates.last().expect("update").trim_end().ends_with("2s"), "elapsed time: {updates:?}");
    // The same path again: the second recorder refuses an existing file without --force.
    std::fs::remove_file(&file).expect("removing the first recording");
    // Not a terminal: no status line, only the start and end messages.
    let out = fragtrace().args(["record", "--duration", "1500ms", "-o"]).arg(&file).output().expect("record");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\r') && err.lines().count() == 2, "{err:?}");
}
