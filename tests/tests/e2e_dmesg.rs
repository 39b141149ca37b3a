//! `fragtrace dmesg` and `fragtrace gfp` as users run them: on saved logs of old kernels, and
//! following the live kernel log while the kernel prints reports.

use std::{
    io::Write,
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use fragtrace_tests::{
    MemCgroupPath, built_binary,
    cli::{KillOnDrop, fragtrace, json_lines, lines_of, signal},
    require_root,
};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fragtrace/testdata/kernel-logs").join(name)
}

#[test]
fn the_seed_case_decodes_for_3_10() {
    let file = fixture("39-tke-doc-mysqld-order4-and-runc-order6-0x10c0d0.ONELINERS.log");
    let out = fragtrace().args(["dmesg", "--kernel", "3.10", "--json"]).arg(&file).output().expect("dmesg");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json array");
    assert_eq!(doc.last().expect("summary")["kind"], "summary");
    let reports = &doc[..doc.len() - 1];
    let got: Vec<(String, u64)> = reports.iter().map(|r| (r["comm"].as_str().expect("comm").to_string(), r["order"].as_u64().expect("order"))).collect();
    assert_eq!(got, vec![("mysqld".to_string(), 4), ("runc:[1:CHILD]".to_string(), 6)]);
    for r in reports {
        assert_eq!(r["gfp_mask"], "0x10c0d0");
        // As 3.10 printed it: singles without the leading `__`.
        assert_eq!(r["gfp_flags"], serde_json::json!(["GFP_KERNEL", "GFP_COMP", "GFP_ZERO", "GFP_KMEMCG"]), "{r}");
        assert_eq!(r["gfp_source"], "table:3.8–3.14");
        assert_eq!(r["era_note"], Value::Null);
        assert_eq!(r["verdict"]["verdict"], "unknown", "one-liners have no zone lines");
    }
    // Without a kernel version, the ambiguity is shown, not guessed away.
    let text = String::from_utf8(fragtrace().arg("dmesg").arg(&file).output().expect("dmesg").stdout).expect("utf-8");
    assert!(text.contains("AMBIGUOUS") && text.contains("GFP_KMEMCG"), "{text}");
    assert!(text.contains("RHEL 7.8+ (3.10.0-1127+)") || text.contains("0x100000"), "the ACCOUNT reading is a candidate too: {text}");
}

/// Issue 21's examples, through the binary: each mask as its kernel printed it.
#[test]
fn gfp_decodes_as_each_kernel_printed_it() {
    let run = |args: &[&str]| {
        let out = fragtrace().arg("gfp").args(args).output().expect("gfp");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let rhel79 = run(&["0x10c0d0", "--kernel", "3.10.0-1160.el7.x86_64"]);
    assert!(rhel79.contains("= GFP_KERNEL|GFP_COMP|GFP_ZERO|0x100000 (kernel RHEL 7.8+ (3.10.0-1127+))") && !rhel79.contains("KMEMCG"), "{rhel79}");
    assert!(rhel79.contains("0x100000 = __GFP_ACCOUNT"), "{rhel79}");
    assert!(run(&["0x10c0d0", "--kernel", "3.10.0-514.el7"]).contains("GFP_KERNEL|GFP_COMP|GFP_ZERO|GFP_KMEMCG"));
    let v4_4 = run(&["0x25000c0", "--kernel", "4.4"]);
    assert!(v4_4.contains("= GFP_KERNEL|0x100000") && !v4_4.contains("GFP_KERNEL_ACCOUNT"), "{v4_4}");
    let v4_14 = run(&["0x14000d0", "--kernel", "4.14.67"]);
    assert!(v4_14.contains("= GFP_KERNEL|__GFP_RECLAIMABLE") && !v4_14.contains("GFP_TEMPORARY"), "{v4_14}");
    assert!(run(&["0x1100cca", "--kernel", "5.15"]).contains("0x1100cca = GFP_HIGHUSER_MOVABLE (kernel 5.14–5.17)"));
    assert!(run(&["0x442dc0", "--kernel", "6.18"]).contains("= GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_NOWARN|__GFP_COMP"));
    assert!(run(&["0x442dc0", "--kernel", "6.12"]).contains("= GFP_KERNEL_ACCOUNT|__GFP_NOWARN|__GFP_COMP|__GFP_ZERO"));
    assert!(run(&["0", "--kernel", "4.5"]).contains("0 = GFP_NOWAIT"));
    // A distribution build read with an upstream table says so, in text and JSON.
    assert!(run(&["0xcc0", "--kernel", "4.18.0-553.el8_10.x86_64"]).contains("note: RHEL 8 kernel 4.18.0-553.el8_10.x86_64: decoded with upstream 4.18's table"));
    let json: Value = serde_json::from_str(&run(&["0x6000c0", "--kernel", "5.14.0-427.el9.x86_64", "--json"])).expect("json");
    assert!(json[0]["era_note"].as_str().is_some_and(|n| n.contains("RHEL 9")), "{json}");
    let unknown = fragtrace().args(["gfp", "0x10", "--kernel", "linux"]).output().expect("gfp");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("MAJOR.MINOR"), "{}", String::from_utf8_lossy(&unknown.stderr));
}

/// `dmesg --kernel` with a distribution build: the note reaches the JSON and the text.
#[test]
fn dmesg_says_which_table_a_distribution_kernel_got() {
    let file = fixture("39-tke-doc-mysqld-order4-and-runc-order6-0x10c0d0.ONELINERS.log");
    let out = fragtrace().args(["dmesg", "--kernel", "4.18.0-553.el8_10.x86_64", "--json"]).arg(&file).output().expect("dmesg");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json array");
    assert!(doc[0]["era_note"].as_str().is_some_and(|n| n.starts_with("RHEL 8 kernel")), "{}", doc[0]);
    assert_eq!(doc[0]["gfp_source"], "table:4.16–5.0");
    let out = fragtrace().args(["dmesg", "--kernel", "3.10.0-1160.el7.x86_64"]).arg(&file).output().expect("dmesg");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("GFP_KERNEL|GFP_COMP|GFP_ZERO|0x100000"), "{text}");
    let out = fragtrace().args(["dmesg", "--kernel", "5.15.0-91-generic"]).arg(&file).output().expect("dmesg");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("GFP TABLE") && text.contains("Ubuntu kernel 5.15.0-91-generic"), "{text}");
}

#[test]
fn gfp_decodes_and_encodes_per_era() {
    let run = |args: &[&str]| {
        let out = fragtrace().arg("gfp").args(args).output().expect("gfp");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    assert!(run(&["0x10c0d0", "--kernel", "3.10"]).contains("GFP_KERNEL|GFP_COMP|GFP_ZERO|GFP_KMEMCG"));
    assert!(run(&["GFP_KERNEL", "--kernel", "4.4"]).contains("0x24000c0"));
    let all = run(&["0x10c0d0", "--all-eras"]);
    assert!(all.lines().count() > 20, "one line per era: {all}");
    assert!(all.contains("4.14.0–4.14.12") && all.contains("RHEL 7.8+ (3.10.0-1127+)") && all.contains("best guess"), "{all}");
    let out = fragtrace().args(["gfp", "NOT_A_FLAG", "--kernel", "5.10"]).output().expect("gfp");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT_A_FLAG"));
}

/// Follows the live log in the background; returns the child and its stdout lines.
/// `dmesg --follow`, started with SIGINT ignored, as a script's background job inherits it:
/// its own handler must still make SIGINT stop it (see [`stops_on_sigint`]).
fn follow() -> (KillOnDrop, std::sync::mpsc::Receiver<String>) {
    use std::os::unix::process::CommandExt;
    let mut command = fragtrace();
    command.args(["dmesg", "--follow", "--jsonl"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: between fork and exec only signal(), which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = KillOnDrop(command.spawn().expect("dmesg --follow"));
    let err = lines_of(child.stderr.take().expect("stderr"));
    let mut seen = Vec::new();
    fragtrace_tests::cli::wait_for(&err, "following", &mut seen);
    let out = lines_of(child.stdout.take().expect("stdout"));
    (child, out)
}

/// SIGINT ends `--follow` cleanly within a few seconds.
fn stops_on_sigint(mut child: KillOnDrop) {
    signal(&child, libc::SIGINT);
    let status = child.expect_exit("dmesg --follow, started with SIGINT ignored, on SIGINT", Duration::from_secs(10));
    assert!(status.success(), "dmesg --follow ends with success on SIGINT: {status}");
}

fn wait_report(rx: &std::sync::mpsc::Receiver<String>, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {what} reported within 30 s");
        if let Ok(line) = rx.recv_timeout(left) {
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"));
            if pred(&v) {
                return v;
            }
        }
    }
}

#[test]
fn follow_reports_a_memcg_oom_the_kernel_prints() {
    let _serial = require_root();
    let (child, rx) = follow();
    // A 32 MiB memory cgroup with its OOM killer on; the trigger touches 256 MiB in it, so
    // the kernel kills it (this cgroup only) and prints the report.
    let cgroup = MemCgroupPath::create(&format!("fragtrace-e2e-oom-{}", std::process::id()), 0);
    std::fs::write(cgroup.leaf.join("memory.limit_in_bytes"), (32u64 << 20).to_string()).expect("limit");
    std::fs::write(cgroup.leaf.join("memory.oom_control"), "0").expect("oom killer on");
    let status = std::process::Command::new(built_binary("alloc-trigger")).arg("eat").arg(&cgroup.leaf).arg("256").stdout(Stdio::null()).status().expect("trigger");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL), "the memcg OOM killer killed the trigger");
    let oom = wait_report(&rx, "OOM report", |v| v["kind"] == "oom" && v["comm"] == "alloc-trigger");
    assert_eq!(oom["order"], 0);
    assert_eq!(oom["oom"]["victim_comm"], "alloc-trigger", "{oom}");
    assert!(oom["oom"]["constraint"].as_str().is_some_and(|c| c.contains("MEMCG")), "{oom}");
    assert_eq!(oom["gfp_source"], "printed", "modern kernels print the flag names: {oom}");
    stops_on_sigint(child);
}

#[test]
fn follow_and_the_live_log_report_a_failure_written_to_the_kernel_log() {
    let _serial = require_root();
    let (child, rx) = follow();
    // This machine cannot make the page allocator print a failure without exhausting memory
    // (the probes' trigger fails quietly, __GFP_NOWARN), so a real 3.10 report goes into the
    // kernel log through /dev/kmsg, line by line, exactly as a kernel would print it.
    let text = std::fs::read_to_string(fixture("03-centos7-3.10.0-957-runc-nf_conntrack-order5.log")).expect("fixture");
    // Writes to /dev/kmsg are rate-limited (10 lines) unless printk_devkmsg is on.
    let _devkmsg = fragtrace_tests::SysctlGuard::set("/proc/sys/kernel/printk_devkmsg", "on");
    let mut kmsg = std::fs::OpenOptions::new().write(true).open("/dev/kmsg").expect("/dev/kmsg");
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        // One write is one record; the kernel keeps at most ~1 KiB per record.
        kmsg.write_all(line.chars().take(900).collect::<String>().as_bytes()).expect("writing to /dev/kmsg");
    }
    // The log keeps earlier runs' reports too: wait for a complete one (whole call trace).
    let complete = |v: &Value| {
        v["kind"] == "failure" && v["comm"] == "runc:[1:CHILD]" && v["call_trace"].as_array().is_some_and(|t| t.iter().any(|f| f == "nf_conntrack_init_net"))
    };
    let failure = wait_report(&rx, "page allocation failure", complete);
    assert_eq!(failure["order"], 5);
    assert_eq!(failure["gfp_mask"], "0x10c0d0");
    assert_eq!(failure["gfp_source"], "table:RHEL 7.0–7.7 (3.10.0-123…1062)", "decoded for the report's own kernel, not the running one: {failure}");
    assert_eq!(failure["verdict"]["verdict"], "fragmentation", "from the report's own buddy lines: {failure}");
    stops_on_sigint(child);
    // The whole live log (no --follow) has it too.
    let out = fragtrace().args(["dmesg", "--jsonl"]).output().expect("dmesg");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let all = json_lines(&out.stdout);
    assert!(all.iter().any(complete), "the live log has the whole report");
}
