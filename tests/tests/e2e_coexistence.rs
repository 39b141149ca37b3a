//! fragtrace shares the machine with other tracers: a bpftrace program on the same
//! `kmem:mm_page_alloc` tracepoint counts exactly the same failures whether zero, one or two
//! fragtrace instances (a `record` on the classic tracepoint and a `serve` on `tp_btf`) are
//! attached beside it, and keeps counting after they detach.

use std::{
    process::Stdio,
    sync::mpsc,
    time::{Duration, Instant},
};

use fragtrace_tests::{
    MemCgroupPath,
    cli::{KillOnDrop, Says, TempPath, fragtrace, json_lines, lines_of, provoke_in_child, signal, spawn_until, start_recorder, wait_for},
    http::{free_port, get},
    require_root, wait_until,
};

const COMM: &str = "coexist";

/// Failures of tasks named [`COMM`], as a bpftrace user would watch them: one line per
/// failure with the failing pid, and the count at exit. Returns bpftrace, its stdout lines
/// and its stderr lines.
fn start_bpftrace() -> (KillOnDrop, mpsc::Receiver<String>, mpsc::Receiver<String>) {
    let program = format!(
        "tracepoint:kmem:mm_page_alloc /args->pfn == 0xffffffffffffffff && comm == \"{COMM}\"/ \
         {{ @failures = count(); printf(\"failure %d\\n\", pid); }} BEGIN {{ printf(\"ready\\n\"); }}"
    );
    // (`cargo xtask test` installs bpftrace.)
    let (mut child, stdout, _) = spawn_until(std::process::Command::new("bpftrace").args(["-e", &program]).stderr(Stdio::piped()), Says::Stdout, "ready");
    let stderr = lines_of(child.stderr.take().expect("bpftrace stderr"));
    (child, stdout, stderr)
}

/// Reads bpftrace's lines into `lines` until it has printed `n` failures of `pid`.
fn wait_bpftrace_failures(out: &mpsc::Receiver<String>, lines: &mut Vec<String>, pid: u32, n: usize) {
    let line = format!("failure {pid}");
    wait_until(&format!("bpftrace to print {n} failures of {pid}"), Duration::from_secs(20), || {
        lines.extend(out.try_iter());
        lines.iter().filter(|l| l.trim() == line).count() >= n
    });
}

/// Stops bpftrace as a user would, with Ctrl-C. bpftrace sometimes misses a SIGINT that
/// arrives while it waits for events (seen under CPU load: it kept running for minutes), so
/// the signal is repeated until it exits.
fn interrupt(bpftrace: &mut KillOnDrop) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        signal(bpftrace, libc::SIGINT);
        if bpftrace.wait_timeout(Duration::from_secs(2)).is_some() {
            return;
        }
        assert!(Instant::now() < deadline, "bpftrace did not exit on SIGINT within 30 s");
    }
}

/// The sum of `fragtrace_alloc_failures_total` over its labels.
fn failures_served(addr: &str) -> f64 {
    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, 200);
    body.lines()
        .filter(|l| l.starts_with("fragtrace_alloc_failures_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn other_bpf_users_of_the_same_tracepoint_are_undisturbed() {
    let _serial = require_root();
    let cgroup = MemCgroupPath::create(&format!("fragtrace-e2e-coexist-{}", std::process::id()), 128 * 1024);
    let (mut bpftrace, bpftrace_out, bpftrace_err) = start_bpftrace();
    let mut lines = Vec::new();

    // Two fragtrace instances beside it, on both kinds of attachment.
    let file = TempPath::new("coexist.ftr");
    let (mut recorder, rec_stderr, mut rec_seen) = start_recorder(&file, &["--probe-mode", "classic", "--comm", COMM]);
    let addr = format!("127.0.0.1:{}", free_port());
    let (mut serve, _serve_lines, serve_seen) =
        spawn_until(fragtrace().args(["serve", "--alloc-probe", "always", "--comm", COMM, "--listen", &addr]), Says::Stderr, "serving metrics on");

    let first = provoke_in_child(COMM, &cgroup.leaf);
    wait_until("serve to count four failures", Duration::from_secs(20), || failures_served(&addr) >= 4.0);
    assert_eq!(failures_served(&addr), 4.0, "serve counts the four failures beside bpftrace and record");
    signal(&serve, libc::SIGTERM);
    assert!(serve.wait().expect("serve exit").success(), "{serve_seen:?}");
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("record exit").success());
    wait_for(&rec_stderr, "recorded", &mut rec_seen);
    let out = fragtrace().args(["report", "--jsonl"]).arg(&file).output().expect("report");
    let recorded = json_lines(&out.stdout).iter().filter(|o| o["kind"] == "failure" && o["pid"] == first.child_pid).count();
    assert_eq!(recorded, 4, "record (classic tracepoint) sees the four failures beside bpftrace and serve");

    // Both fragtrace instances are gone; bpftrace's program must still be attached.
    let second = provoke_in_child(COMM, &cgroup.leaf);
    wait_bpftrace_failures(&bpftrace_out, &mut lines, second.child_pid, 4);
    interrupt(&mut bpftrace);
    // Its output ends when it exits: every line is in the channels by then.
    lines.extend(bpftrace_out.iter());
    let stderr = bpftrace_err.iter().collect::<Vec<_>>().join("\n");
    let seen = |pid: u32| lines.iter().filter(|l| l.trim() == format!("failure {pid}")).count();
    assert_eq!(seen(first.child_pid), 4, "bpftrace saw the four failures while fragtrace was attached: {lines:?} {stderr}");
    assert_eq!(seen(second.child_pid), 4, "and the four after it left: {lines:?} {stderr}");
    assert!(lines.iter().any(|l| l.trim() == "@failures: 8"), "its count says eight: {lines:?} {stderr}");
}
