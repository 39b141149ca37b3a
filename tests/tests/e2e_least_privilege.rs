//! fragtrace needs neither root nor CAP_SYS_ADMIN: an unprivileged user (uid 65534) holding
//! exactly CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH (granted with `setpriv`) records,
//! serves and shows real allocation failures with process and cgroup attribution. CAP_SYSLOG
//! only adds symbol names to kernel stacks. Without any one of the three, fragtrace refuses
//! to start and names the missing capability.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use fragtrace_tests::{
    MemCgroupPath,
    cli::{NOBODY, Says, Unprivileged, fragtrace, json_lines, provoke_in_child, signal, spawn_until, wait_for},
    http::get,
    links_on, require_root,
};

const THREE: [&str; 3] = ["bpf", "perfmon", "dac_read_search"];

/// (CapEff, CapAmb, real uid) of `pid`.
fn creds(pid: u32) -> (u64, u64, u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).expect(name).trim().to_string();
    let hex = |name: &str| u64::from_str_radix(&field(name), 16).expect("hex");
    let uid = field("Uid:").split_whitespace().next().expect("uid").parse().expect("uid");
    (hex("CapEff:"), hex("CapAmb:"), uid)
}

/// CAP_DAC_READ_SEARCH (2), CAP_PERFMON (38), CAP_BPF (39).
const THREE_BITS: u64 = 1 << 2 | 1 << 38 | 1 << 39;

/// Whether a process without CAP_SYSLOG sees real addresses in /proc/kallsyms
/// (kernel/kallsyms.c: kallsyms_show_value).
fn kallsyms_open_to_all() -> bool {
    let read = |p: &str| std::fs::read_to_string(p).expect(p).trim().parse::<i32>().expect(p);
    read("/proc/sys/kernel/kptr_restrict") == 0 && read("/proc/sys/kernel/perf_event_paranoid") <= 1
}

#[test]
fn record_works_as_an_unprivileged_user_with_exactly_three_capabilities() {
    let _serial = require_root();
    let cgroup = MemCgroupPath::create(&format!("fragtrace-e2e-leastpriv-{}", std::process::id()), 128 * 1024);
    let user = Unprivileged::new("record");
    for (caps, symbols) in [(&THREE[..], kallsyms_open_to_all()), (&["bpf", "perfmon", "dac_read_search", "syslog"][..], true)] {
        let file = user.dir.join("least.ftr");
        let _ = std::fs::remove_file(&file);
        let (mut recorder, stderr, mut seen) =
            spawn_until(user.fragtrace(caps).args(["record", "--duration", "120s", "--alloc-probe", "always", "-o"]).arg(&file), Says::Stderr, "recording to");
        let (eff, amb, uid) = creds(recorder.id());
        assert_eq!(uid, NOBODY, "{caps:?}");
        // CAP_SYSLOG was only needed to read kallsyms; it is dropped after loading.
        assert_eq!(eff, THREE_BITS, "{caps:?}: keeps exactly CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH");
        assert_eq!(amb, 0, "{caps:?}: nothing it might run inherits capabilities");
        assert_eq!(links_on(recorder.id(), "mm_page_alloc"), 1, "{caps:?}: the failure probe is attached");

        let trigger = provoke_in_child("leastpriv", &cgroup.leaf);
        signal(&recorder, libc::SIGINT);
        assert!(recorder.wait().expect("exit").success(), "{caps:?}: {seen:?}");
        wait_for(&stderr, "recorded", &mut seen);
        let warned = seen.iter().any(|l| l.contains("kernel stacks will show raw addresses") && l.contains("CAP_SYSLOG"));
        assert_eq!(warned, !symbols, "{caps:?}: the missing-symbols warning names CAP_SYSLOG exactly when symbols are hidden: {seen:?}");

        let meta = std::fs::metadata(&file).expect("recording");
        assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o600), "{caps:?}: the recording belongs to the user, mode 0600");
        let out = fragtrace().args(["report", "--jsonl"]).arg(&file).output().expect("report");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let ours: Vec<serde_json::Value> =
            json_lines(&out.stdout).into_iter().filter(|o| o["kind"] == "failure" && o["pid"] == trigger.child_pid).collect();
        let orders: Vec<u64> = ours.iter().map(|o| o["order"].as_u64().expect("order")).collect();
        assert_eq!(orders, vec![6, 7, 8, 9], "{caps:?}: every provoked failure, in order");
        for o in &ours {
            assert_eq!(o["comm"], "leastpriv", "{caps:?}: {o}");
            assert!(o["cgroup"].as_str().is_some_and(|c| c.contains("fragtrace-e2e-leastpriv")), "{caps:?}: cgroup attribution: {o}");
            let stack: Vec<&str> = o["stack"].as_array().expect("stack").iter().filter_map(|f| f.as_str()).collect();
            assert!(!stack.is_empty(), "{caps:?}: a kernel stack, named or not: {o}");
            if symbols {
                assert!(stack.contains(&"pipe_resize_ring") || stack.contains(&"pipe_fcntl"), "{caps:?}: {stack:?}");
            } else {
                assert!(stack.iter().all(|f| f.starts_with("0xffff")), "{caps:?}: raw kernel addresses: {stack:?}");
            }
        }
    }
}

#[test]
fn top_and_serve_work_as_an_unprivileged_user() {
    let _serial = require_root();
    let user = Unprivileged::new("live");
    let (mut top, _lines, seen) = spawn_until(user.fragtrace(&THREE).args(["top", "--json", "--interval", "1s"]), Says::Stdout, "\"kind\":\"top\"");
    let doc: serde_json::Value = serde_json::from_str(seen.last().expect("line")).expect("top --json");
    assert!(doc["zones"].as_array().is_some_and(|z| !z.is_empty()), "zones from /proc as an unprivileged user: {doc}");
    // /proc/pagetypeinfo is mode 0400: CAP_DAC_READ_SEARCH reads it.
    assert!(doc["pageblocks"].as_array().is_some_and(|z| !z.is_empty()), "the pageblock census with CAP_DAC_READ_SEARCH: {doc}");
    assert_eq!(creds(top.id()).0, THREE_BITS);
    signal(&top, libc::SIGTERM);
    assert!(top.wait().expect("exit").success());

    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let addr = format!("127.0.0.1:{port}");
    let (mut serve, _lines, seen) = spawn_until(user.fragtrace(&THREE).args(["serve", "--listen", &addr]), Says::Stderr, "serving metrics on");
    // The first zone snapshot is taken as the session starts: a scrape right after the
    // readiness line can come before it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let (status, body) = loop {
        let (status, body) = get(&addr, "/metrics");
        if status != 200 || body.contains("fragtrace_pageblocks{") || std::time::Instant::now() > deadline {
            break (status, body);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(status, 200);
    assert!(body.contains("fragtrace_zone_free_blocks{"), "zone metrics as an unprivileged user:\n{body}");
    assert!(body.contains("fragtrace_pageblocks{"), "pageblock gauges with CAP_DAC_READ_SEARCH:\n{body}");
    assert_eq!(creds(serve.id()).0, THREE_BITS);
    signal(&serve, libc::SIGTERM);
    assert!(serve.wait().expect("exit").success(), "{seen:?}");
}

#[test]
fn each_missing_capability_is_named_and_nothing_is_created() {
    let _serial = require_root();
    let user = Unprivileged::new("missing");
    for missing in THREE {
        let caps: Vec<&str> = THREE.iter().copied().filter(|c| *c != missing).collect();
        let file = user.dir.join("refused.ftr");
        let out = user.fragtrace(&caps).args(["record", "--duration", "5s", "-o"]).arg(&file).output().expect("setpriv");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "without {missing}: a clear error, not a panic (101) or success: {stderr}");
        let name = format!("CAP_{}", missing.to_uppercase());
        assert!(stderr.contains(&format!("missing capabilities: {name}")), "names {name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!file.exists(), "without {missing} no recording is created");
    }
    // The directory stays the user's own, 0700, throughout.
    let meta = std::fs::metadata(&user.dir).expect("dir");
    assert_eq!((meta.uid(), meta.permissions().mode() & 0o777), (NOBODY, 0o700));
}

/// The grant the missing-capabilities error suggests, `setcap cap_bpf,cap_perfmon,
/// cap_dac_read_search+ep`, is enough on its own: the user holds no capability, the binary does.
#[test]
fn file_capabilities_as_the_error_suggests_are_enough() {
    let _serial = require_root();
    let user = Unprivileged::new("setcap");
    user.grant_file_capabilities(&THREE);
    let (mut top, _lines, _) = spawn_until(user.fragtrace_bounded(&[], &THREE).args(["top", "--json", "--interval", "1s"]), Says::Stdout, "\"kind\":\"top\"");
    let (eff, amb, uid) = creds(top.id());
    assert_eq!((eff, amb, uid), (THREE_BITS, 0, NOBODY));
    assert!(links_on(top.id(), "mm_compaction_begin") + links_on(top.id(), "mm_vmscan_wakeup_kswapd") > 0, "probes attached");
    signal(&top, libc::SIGTERM);
    assert!(top.wait().expect("exit").success());
}
