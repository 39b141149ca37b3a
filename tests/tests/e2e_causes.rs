//! Known causes (fragtrace/causes.toml) as users see them: real kernel reports through
//! `fragtrace dmesg --json`, and a live pipe-resize failure in a full memory cgroup through
//! `record` → `report --jsonl` and through `capture`'s SUMMARY.md.

use std::{path::PathBuf, process::Stdio, time::Duration};

use fragtrace_tests::{
    cli::{KillOnDrop, TempPath, fragtrace, lines_of, provoke_failures, report_jsonl, signal, start_capture, start_recorder, wait_for, wait_until_recorded_failures},
    require_root,
};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fragtrace/testdata/kernel-logs").join(name)
}

/// `dmesg --json FILE`: each report's (comm, cause id or "-").
fn dmesg_causes(name: &str) -> Vec<(String, String)> {
    let out = fragtrace().args(["dmesg", "--json"]).arg(fixture(name)).output().expect("dmesg");
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    let doc: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json array");
    doc.iter()
        .filter(|r| r["kind"] == "failure")
        .map(|r| (r["comm"].as_str().unwrap_or("?").to_string(), r["cause"]["id"].as_str().unwrap_or("-").to_string()))
        .collect()
}

#[test]
fn dmesg_json_names_the_causes_of_real_nf_conntrack_and_veth_reports() {
    let conntrack = "nf-conntrack-netns-cache".to_string();
    assert_eq!(dmesg_causes("03-centos7-3.10.0-957-runc-nf_conntrack-order5.log"), vec![("runc:[1:CHILD]".into(), conntrack.clone())]);
    assert_eq!(
        dmesg_causes("39-tke-doc-mysqld-order4-and-runc-order6-0x10c0d0.ONELINERS.log"),
        vec![("mysqld".into(), "-".into()), ("runc:[1:CHILD]".into(), conntrack.clone())]
    );
    assert_eq!(dmesg_causes("40-runbook-runc-order6-0x10c0d0.ONELINER.log"), vec![("runc:[1:CHILD]".into(), conntrack)]);
    assert_eq!(dmesg_causes("41-ubuntu-5.15.0-91-dockerd-veth_alloc_queues-order4.FRAGMENT.log"), vec![("dockerd".into(), "veth-queue-array".into())]);
    // The whole object, and `null` (not a missing field) when nothing matches.
    let out = fragtrace().args(["dmesg", "--jsonl"]).arg(fixture("39-tke-doc-mysqld-order4-and-runc-order6-0x10c0d0.ONELINERS.log")).output().expect("dmesg");
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert!(lines[0]["cause"].is_null() && lines[0].as_object().is_some_and(|o| o.contains_key("cause")), "{}", lines[0]);
    let cause = &lines[1]["cause"];
    assert!(["title", "explanation", "remedy"].iter().all(|k| cause[k].as_str().is_some_and(|s| !s.is_empty())), "{cause}");
    assert!(cause["fixed_in"].as_str().is_some_and(|f| f.contains("4.7")), "{cause}");
    // The unknown kernel's mask: a guess, marked as one.
    assert_eq!(lines[1]["gfp_era_guess"]["era"], "3.8–3.14", "{}", lines[1]);
    assert_eq!(lines[1]["gfp_era_guess"]["family"], "2.6–4.3");
    assert_eq!(lines[1]["gfp_era_guess"]["confidence"], "likely");
    let text = String::from_utf8(fragtrace().arg("dmesg").arg(fixture("40-runbook-runc-order6-0x10c0d0.ONELINER.log")).output().expect("dmesg").stdout).expect("utf-8");
    assert!(text.contains("best guess: 3.8–3.14 era") && text.contains("KNOWN CAUSES") && text.contains("nf-conntrack-netns-cache"), "{text}");
}

#[test]
fn a_recorded_pipe_resize_memcg_failure_carries_its_cause() {
    let _serial = require_root();
    let file = TempPath::new("causes.ftr");
    let (mut recorder, _stderr, _) = start_recorder(&file, &[]);
    let trigger = provoke_failures("causes");
    wait_until_recorded_failures(&file, trigger.pid, &[6, 7, 8, 9]);
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("recorder exit").success());
    let failures: Vec<Value> = report_jsonl(&file, &[]).into_iter().filter(|o| o["kind"] == "failure" && o["tgid"] == trigger.pid).collect();
    assert_eq!(failures.len(), 4, "{failures:?}");
    for f in &failures {
        assert_eq!(f["cause"]["id"], "pipe-resize-memcg", "{f}");
        assert!(f["cause"]["fixed_in"].is_null() && f["cause"]["remedy"].as_str().is_some_and(|r| r.contains("limit")), "{f}");
    }
}

#[test]
fn capture_summary_names_the_known_cause() {
    let _serial = require_root();
    let dir = TempPath::new("causes-bundles");
    let (mut capture, err, mut seen) = start_capture(&dir, &["--comm", "alloc-trigger", "--min-order", "6", "--before", "2s", "--after", "1s", "--timeout", "60s"]);
    provoke_failures("causes-capture");
    let status = capture.wait_timeout(Duration::from_secs(30));
    seen.extend(err.try_iter());
    assert_eq!(status.and_then(|s| s.code()), Some(0), "capture did not write its bundle within 30 s: {seen:?}");
    let bundles: Vec<_> = std::fs::read_dir(&dir).expect("bundle dir").flatten().map(|e| e.path()).collect();
    assert_eq!(bundles.len(), 1, "{bundles:?}");
    let summary = std::fs::read_to_string(bundles[0].join("SUMMARY.md")).expect("SUMMARY.md");
    for needle in ["## Known cause", "(`pipe-resize-memcg`)", "Pipe resize (F_SETPIPE_SZ) charged to a full memory cgroup", "- remedy: "] {
        assert!(summary.contains(needle), "SUMMARY.md lacks {needle:?}:\n{summary}");
    }
}

#[test]
fn doctor_names_the_cause_of_failures_while_sampling() {
    let _serial = require_root();
    let mut doctor = KillOnDrop(fragtrace().args(["doctor", "--duration", "6s"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("doctor"));
    let err = lines_of(doctor.stderr.take().expect("stderr"));
    let out = lines_of(doctor.stdout.take().expect("stdout"));
    // Sampling starts once the probes are attached.
    let mut seen = Vec::new();
    wait_for(&err, "sampling for", &mut seen);
    provoke_failures("causes-doctor");
    let status = doctor.wait_timeout(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "doctor did not finish: {seen:?}");
    let text: Vec<String> = out.iter().collect();
    let text = text.join("\n");
    assert!(text.contains("KNOWN CAUSES") && text.contains("(pipe-resize-memcg): 4 failure(s) caught while sampling, by alloc-trigger"), "{text}");
}
