//! fragtrace shares the machine with other tracers: a bpftrace program on the same
//! `kmem:mm_page_alloc` tracepoint counts exactly the same failures whether zero, one or two
//! fragtrace instances (a `record` on the classic tracepoint and a `serve` on `tp_btf`) are
//! attached beside it, and keeps counting after they detach.

use std::{
    process::{Child, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use fragtrace_tests::{
    MemCgroupPath,
    cli::{Says, fragtrace, json_lines, provoke_in_child, signal, spawn_until, start_recorder, temp_path, wait_for},
    http::{free_port, get},
    require_root,
};

const COMM: &str = "coexist";

/// Failures of tasks named [`COMM`], as a bpftrace user would watch them: one line per
/// failure with the failing pid, and the count at exit.
fn start_bpftrace() -> (Child, mpsc::Receiver<String>) {
    let program = format!(
        "tracepoint:kmem:mm_page_alloc /args->pfn == 0xffffffffffffffff && comm == \"{COMM}\"/ \
         {{ @failures = count(); printf(\"failure %d\\n\", pid); }} BEGIN {{ printf(\"ready\\n\"); }}"
    );
    // (`cargo xtask test` installs bpftrace.)
    let (child, stdout, _) = spawn_until(std::process::Command::new("bpftrace").args(["-e", &program]).stderr(Stdio::piped()), Says::Stdout, "ready");
    (child, stdout)
}

/// Stops bpftrace as a user would, with Ctrl-C, and returns its output. bpftrace sometimes
/// misses a SIGINT that arrives while it waits for events (seen under CPU load: it kept
/// running for minutes), so the signal is repeated until it exits.
fn interrupt(mut bpftrace: Child) -> std::process::Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        signal(&bpftrace, libc::SIGINT);
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(2) {
            if bpftrace.try_wait().expect("try_wait").is_some() {
                return bpftrace.wait_with_output().expect("bpftrace output");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if Instant::now() > deadline {
            let _ = bpftrace.kill();
            panic!("bpftrace did not exit on SIGINT within 30 s");
        }
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
    let (bpftrace, bpftrace_out) = start_bpftrace();

    // Two fragtrace instances beside it, on both kinds of attachment.
    let file = temp_path("coexist.ftr");
    let (mut recorder, rec_stderr, mut rec_seen) = start_recorder(&file, &["--probe-mode", "classic", "--comm", COMM]);
    let addr = format!("127.0.0.1:{}", free_port());
    let (mut serve, _serve_lines, serve_seen) =
        spawn_until(fragtrace().args(["serve", "--alloc-probe", "always", "--comm", COMM, "--listen", &addr]), Says::Stderr, "serving metrics on");

    let first = provoke_in_child(COMM, &cgroup.leaf);
    let deadline = Instant::now() + Duration::from_secs(20);
    while failures_served(&addr) < 4.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
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
    std::thread::sleep(Duration::from_millis(200));
    let exit = interrupt(bpftrace);
    // Its stdout ends when it exits: every line is in the channel by then.
    let lines: Vec<String> = bpftrace_out.iter().collect();
    let seen = |pid: u32| lines.iter().filter(|l| l.trim() == format!("failure {pid}")).count();
    let stderr = String::from_utf8_lossy(&exit.stderr);
    assert_eq!(seen(first.child_pid), 4, "bpftrace saw the four failures while fragtrace was attached: {lines:?} {stderr}");
    assert_eq!(seen(second.child_pid), 4, "and the four after it left: {lines:?} {stderr}");
    assert!(lines.iter().any(|l| l.trim() == "@failures: 8"), "its count says eight: {lines:?} {stderr}");
    std::fs::remove_file(&file).ok();
}
