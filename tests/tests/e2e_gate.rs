//! `--alloc-probe`: the per-allocation probe is detached on a calm machine, attached by the
//! slow-path sentinels when memory gets tight (here: memcg reclaim before the charge fails),
//! and detached again after the hold time. Attachment is read from the recorder's own BPF
//! link descriptors (/proc/PID/fdinfo), not from fragtrace's word.

use std::time::Duration;

use fragtrace_tests::{
    cli::{TempPath, fragtrace, provoke_failures, report_json, signal, start_recorder, wait_for, wait_until_recorded_ticks},
    links_on, require_root, wait_until,
};

#[test]
fn on_pressure_attaches_on_memcg_reclaim_and_detaches_when_calm() {
    let _serial = require_root();
    let file = TempPath::new("gate.ftr");
    let (mut recorder, stderr, mut seen) = start_recorder(&file, &["--alloc-probe", "on-pressure", "--alloc-probe-hold", "3s"]);
    let pid = recorder.id();
    assert_eq!(links_on(pid, "mm_page_alloc"), 0, "idle machine: mm_page_alloc must not be attached");
    assert!(links_on(pid, "mm_vmscan_memcg_reclaim_begin") == 1 && links_on(pid, "mm_vmscan_wakeup_kswapd") == 1, "the sentinels are attached");

    // The first burst's memcg reclaim attaches the probe; its first failure may come before
    // the attach (≈0.3 ms; documented), the rest may not.
    let first = provoke_failures("gate");
    assert_eq!(links_on(pid, "mm_page_alloc"), 1, "memcg reclaim attached the per-allocation probe");
    // A second burst within the hold time finds the probe attached: every failure is seen.
    let second = provoke_failures("gate2");
    assert_eq!(links_on(pid, "mm_page_alloc"), 1);
    // Hold 3 s after the last signal, checked on the 1-s tick: detached within a few seconds.
    wait_until("mm_page_alloc to be detached after the hold time", Duration::from_secs(10), || links_on(pid, "mm_page_alloc") == 0);
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("recorder exit").success(), "{seen:?}");
    wait_for(&stderr, "recorded", &mut seen);

    let doc = report_json(&file);
    let orders_of = |pid: u32| -> Vec<u64> {
        let out = fragtrace().args(["report", "--jsonl", "--pid", &pid.to_string()]).arg(&file).output().expect("report --jsonl");
        fragtrace_tests::cli::json_lines(&out.stdout).iter().filter(|o| o["kind"] == "failure").map(|o| o["order"].as_u64().expect("order")).collect()
    };
    let first_orders = orders_of(first.pid);
    assert!(
        !first_orders.is_empty() && [6, 7, 8, 9].ends_with(&first_orders),
        "the arming burst: its last failures at least, in order: {first_orders:?}"
    );
    eprintln!("arming burst: {} of 4 failures seen", first_orders.len());
    assert_eq!(orders_of(second.pid), vec![6, 7, 8, 9], "while attached, every failure is recorded");
    let gate = &doc["alloc_probe"];
    assert_eq!(gate["attached"], false, "detached again at the end: {gate}");
    assert!(gate["attaches"].as_u64().expect("attaches") >= 1, "{gate}");
    let attached_ns = gate["attached_ns"].as_u64().expect("attached_ns");
    let observed_ns = gate["observed_ns"].as_u64().expect("observed_ns");
    assert!(attached_ns >= 2_000_000_000 && attached_ns < observed_ns, "attached for the hold time, not all along: {gate}");
    assert!(doc["counters"]["allocs_seen"].as_u64().expect("allocs_seen") > 0);
    let text = fragtrace().arg("report").arg(&file).output().expect("report");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("per-allocation probe idle") && text.contains("failures while idle were not seen"), "{text}");
}

#[test]
fn always_attaches_from_the_start() {
    let _serial = require_root();
    let file = TempPath::new("gate-always.ftr");
    let (mut recorder, stderr, mut seen) = start_recorder(&file, &["--alloc-probe", "always"]);
    assert_eq!(links_on(recorder.id(), "mm_page_alloc"), 1);
    assert_eq!(links_on(recorder.id(), "mm_vmscan_wakeup_kswapd"), 0, "no sentinels needed when always attached");
    // A tick with the allocations the probe saw, on disk.
    wait_until_recorded_ticks(&file);
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("recorder exit").success());
    wait_for(&stderr, "recorded", &mut seen);
    let doc = report_json(&file);
    let gate = &doc["alloc_probe"];
    assert_eq!((gate["attached"].as_bool(), gate["reason"].as_str()), (Some(true), Some("always")), "{gate}");
    assert!(doc["counters"]["allocs_seen"].as_u64().expect("allocs_seen") > 0, "the probe saw allocations");
}
