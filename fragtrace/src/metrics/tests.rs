use super::*;
use crate::{
    definitions::Definitions,
    event::{Extfrag, Failure, Stall, Task},
    gfp::eras::Era,
};

fn options(pod_labels: bool, max_pods: usize) -> MetricsOptions {
    MetricsOptions { pod_labels, max_pods, probe_mode: "tp_btf".into(), alloc_probe_policy: "on-pressure".into(), failure_hooks: "tp_btf:mm_page_alloc".into(), complete: false }
}

fn table() -> GfpTable {
    Era::V5_1.table()
}

fn task(i: u64) -> Task {
    Task { ts_ns: i, cpu: 0, pid: i as u32, tgid: i as u32, cgroup_id: i, comm: format!("proc-{i}") }
}

/// Series in an exposition: sample lines, not comments or `# EOF`.
fn series(text: &str) -> usize {
    text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count()
}

#[test]
fn failures_are_counted_by_order_class_and_nowarn() {
    let gfp = table();
    let metrics = Arc::new(Metrics::new(&options(false, 10)));
    let mut sink = MetricsSink::new(metrics.clone(), gfp.clone(), 9, &options(false, 10));
    let kernel = gfp.value_of("GFP_KERNEL").expect("GFP_KERNEL");
    let nowarn = gfp.value_of("__GFP_NOWARN").expect("__GFP_NOWARN");
    for (order, mask) in [(4, kernel), (4, kernel), (9, kernel | nowarn), (15, kernel)] {
        sink.event(&Event::Failure(Failure { task: task(1), order, gfp_mask: mask, migratetype: 0, stack_id: None, ancestry: vec![], captured_cgroup: None, hook: Default::default() }))
            .unwrap();
    }
    let text = metrics.encode();
    assert!(text.contains("fragtrace_alloc_failures_total{order=\"4\",gfp_class=\"kernel\",nowarn=\"false\"} 2"), "{text}");
    assert!(text.contains("fragtrace_alloc_failures_total{order=\"9\",gfp_class=\"kernel\",nowarn=\"true\"} 1"), "{text}");
    assert!(text.contains("fragtrace_alloc_failures_total{order=\"10\",gfp_class=\"kernel\",nowarn=\"false\"} 1"), "orders above 10 share 10: {text}");
    assert!(text.contains("fragtrace_build_info{version="), "{text}");
    assert!(text.contains("fragtrace_probe{mode=\"tp_btf\",alloc_probe=\"on-pressure\",hooks=\"tp_btf:mm_page_alloc\"} 1"), "{text}");
    assert!(text.contains("fragtrace_failure_hooks_complete 0"), "on-pressure can miss, and /metrics says so: {text}");
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn gfp_classes_are_a_small_fixed_set() {
    let gfp = table();
    let v = |n: &str| gfp.value_of(n).unwrap_or_else(|| panic!("{n}"));
    assert_eq!(gfp_class(&gfp, v("GFP_KERNEL")), "kernel");
    assert_eq!(gfp_class(&gfp, v("GFP_KERNEL_ACCOUNT")), "kernel");
    assert_eq!(gfp_class(&gfp, v("GFP_ATOMIC")), "atomic");
    assert_eq!(gfp_class(&gfp, v("GFP_NOWAIT")), "nowait");
    assert_eq!(gfp_class(&gfp, v("GFP_HIGHUSER_MOVABLE")), "user_movable");
    assert_eq!(gfp_class(&gfp, v("GFP_TRANSHUGE_LIGHT")), "transhuge");
    assert_eq!(gfp_class(&gfp, 0), "other");
}

#[test]
fn cardinality_is_bounded_whatever_the_workload() {
    let gfp = table();
    let opts = options(true, 5);
    let metrics = Arc::new(Metrics::new(&opts));
    let mut sink = MetricsSink::new(metrics.clone(), gfp, 9, &opts);
    let defs = Definitions::new();
    sink.use_definitions(&defs);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..50_000u64 {
        // A new pod per thousand events, random masks and orders, a new comm every time.
        if i % 1000 == 0 {
            let mut w = Workload::default();
            w.pod.pod_name = Some(format!("pod-{i}"));
            w.pod.pod_namespace = Some(format!("ns-{i}"));
            defs.define_workload(i / 1000, w);
        }
        let mut t = task(i);
        t.cgroup_id = i / 1000;
        let r = next();
        let event = match r % 3 {
            0 => Event::Failure(Failure { task: t, order: (r >> 8) as u32 % 64, gfp_mask: r >> 16, migratetype: 0, stack_id: None, ancestry: vec![], captured_cgroup: None, hook: Default::default() }),
            1 => Event::Extfrag(Extfrag {
                task: t,
                alloc_order: (r >> 8) as i32 % 11,
                fallback_order: (r >> 12) as i32 % 11,
                alloc_migratetype: (r >> 16) as i32 % 9,
                fallback_migratetype: (r >> 20) as i32 % 9,
                change_ownership: r & 1 == 0,
                stack_id: None,
            }),
            _ => Event::Stall(Stall { task: t, kind: StallKind::MemcgReclaim, order: 0, gfp_mask: r, duration_ns: r % 1_000_000_000, result: 0 }),
        };
        sink.event(&event).unwrap();
    }
    let text = metrics.encode();
    let pods: std::collections::HashSet<&str> =
        text.lines().filter(|l| l.starts_with("fragtrace_pod_alloc_failures_total{")).filter_map(|l| l.split("pod=\"").nth(1)?.split('"').next()).collect();
    assert_eq!(pods.len(), 6, "five pods and the overflow bucket: {pods:?}");
    assert!(pods.contains(OVERFLOW_POD));
    // orders 0-10 × 6 classes × 2 + 7 migratetype names² × 2 + stalls + fixed metrics.
    let bound = 11 * 6 * 2 + 7 * 7 * 2 + 6 + 16 + 20 + 3 * (MAX_POLLUTER_SERIES + 1);
    assert!(series(&text) <= bound, "{} series > {bound}", series(&text));
}

#[test]
fn zone_gauges_and_kernel_counters() {
    let opts = options(false, 0);
    let metrics = Arc::new(Metrics::new(&opts));
    let mut sink = MetricsSink::new(metrics.clone(), table(), 9, &opts);
    sink.zones(&ZoneSnapshot {
        ts_ns: 1,
        buddyinfo: "Node 0, zone   Normal   100   50   0   0   0   0   0   0   0   0   0\n".into(),
        pagetypeinfo: None,
    })
    .unwrap();
    sink.tick(1, &Counters { ooms: 2, dropped: 5, allocs_seen: 100, ..Default::default() }).unwrap();
    sink.tick(2, &Counters { ooms: 3, dropped: 5, allocs_seen: 150, ..Default::default() }).unwrap();
    sink.alloc_probe(&AllocProbeState { attached: true, reason: None, since_ns: 0 }).unwrap();
    let text = metrics.encode();
    assert!(text.contains("fragtrace_zone_free_blocks{node=\"0\",zone=\"Normal\",order=\"1\"} 50"), "{text}");
    assert!(text.contains("fragtrace_zone_fragmentation_index{node=\"0\",zone=\"Normal\",order=\"1\"} -1.0"), "a block exists: {text}");
    assert!(text.contains("fragtrace_zone_unusable_index{node=\"0\",zone=\"Normal\",order=\"2\"} 1.0"), "{text}");
    assert!(text.contains("fragtrace_oom_kills_total 3"), "{text}");
    assert!(text.contains("fragtrace_ringbuf_dropped_events_total 5"), "{text}");
    assert!(text.contains("fragtrace_page_allocations_seen_total 150"), "{text}");
    assert!(text.contains("fragtrace_alloc_probe_attached 1"), "{text}");
}

#[test]
fn prometheus_text_names_counters_with_their_total_suffix() {
    let om = "# HELP x_events Events.\n# TYPE x_events counter\nx_events_total 3\n# HELP x_up Up.\n# TYPE x_up gauge\nx_up 1\n# EOF\n";
    assert_eq!(
        to_prometheus_text(om),
        "# HELP x_events_total Events.\n# TYPE x_events_total counter\nx_events_total 3\n# HELP x_up Up.\n# TYPE x_up gauge\nx_up 1\n"
    );
}

/// A pod name is outside data (container annotations): quotes, backslashes, newlines and ESC
/// in it must not break the exposition or forge a series.
#[test]
fn hostile_pod_names_cannot_forge_series() {
    let gfp = table();
    let metrics = Arc::new(Metrics::new(&options(true, 10)));
    let mut sink = MetricsSink::new(metrics.clone(), gfp.clone(), 9, &options(true, 10));
    let defs = Definitions::new();
    sink.use_definitions(&defs);
    let mut w = Workload::default();
    w.pod.pod_name = Some("evil\"} 1\nfragtrace_forged_total 99\n\x1b[2J\\".into());
    w.pod.pod_namespace = Some("ns".into());
    defs.define_workload(7, w);
    let mut t = task(1);
    t.cgroup_id = 7;
    let kernel = gfp.value_of("GFP_KERNEL").expect("GFP_KERNEL");
    sink.event(&Event::Failure(Failure { task: t, order: 3, gfp_mask: kernel, migratetype: 0, stack_id: None, ancestry: vec![], captured_cgroup: None, hook: Default::default() })).unwrap();
    for text in [metrics.encode(), metrics.encode_prometheus()] {
        assert!(!text.contains('\x1b'), "no raw ESC: {text}");
        assert!(!text.lines().any(|l| l.starts_with("fragtrace_forged_total")), "no forged series: {text}");
        let pod_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("fragtrace_pod_alloc_failures_total{")).collect();
        assert_eq!(pod_lines.len(), 1, "one series for the pod, on one line: {text}");
        assert!(pod_lines[0].ends_with(" 1"), "{}", pod_lines[0]);
    }
}

/// Months of pod churn under `--max-pods`: pods idle for an hour give their series up to
/// newcomers; busy ones keep theirs; when none is idle the newcomer counts under `_other`.
#[test]
fn idle_pods_give_their_series_up_to_new_ones() {
    const MIN: u64 = 60_000_000_000;
    let gfp = table();
    let kernel = gfp.value_of("GFP_KERNEL").expect("GFP_KERNEL");
    let metrics = Arc::new(Metrics::new(&options(true, 2)));
    let mut sink = MetricsSink::new(metrics.clone(), gfp.clone(), 9, &options(true, 2));
    let defs = Definitions::new();
    sink.use_definitions(&defs);
    for (cgroup, name) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
        let mut w = Workload::default();
        w.pod.pod_name = Some(name.into());
        w.pod.pod_namespace = Some("ns".into());
        defs.define_workload(cgroup, w);
    }
    let mut fail = |cgroup: u64, at_min: u64| {
        let mut t = task(1);
        t.cgroup_id = cgroup;
        t.ts_ns = at_min * MIN;
        sink.event(&Event::Failure(Failure { task: t, order: 3, gfp_mask: kernel, migratetype: 0, stack_id: None, ancestry: vec![], captured_cgroup: None, hook: Default::default() })).unwrap();
    };
    let pod = |text: &str, name: &str| text.lines().any(|l| l.starts_with(&format!("fragtrace_pod_alloc_failures_total{{namespace=\"{name}\"")) || l.contains(&format!("pod=\"{name}\"}}")));
    fail(1, 0); // a
    fail(2, 50); // b
    fail(3, 30); // c: a and b were busy within the hour
    let text = metrics.encode();
    assert!(pod(&text, "a") && pod(&text, "b") && !pod(&text, "c") && pod(&text, "_other"), "{text}");
    fail(3, 70); // c again: a has been idle 70 minutes and gives way
    let text = metrics.encode();
    assert!(!pod(&text, "a") && pod(&text, "b") && pod(&text, "c"), "{text}");
    fail(4, 100); // d: b idle 50 min, c 30 min: no one gives way
    let text = metrics.encode();
    assert!(pod(&text, "b") && pod(&text, "c") && !pod(&text, "d"), "{text}");
}

#[test]
fn pageblock_census_gauges_per_zone_and_migratetype() {
    let opts = options(false, 0);
    let metrics = Arc::new(Metrics::new(&opts));
    let mut sink = MetricsSink::new(metrics.clone(), table(), 9, &opts);
    let buddyinfo = "Node 0, zone   Normal   100   50   0   0   0   0   0   0   0   0   0\n".to_string();
    sink.zones(&ZoneSnapshot { ts_ns: 1, buddyinfo: buddyinfo.clone(), pagetypeinfo: None }).unwrap();
    assert!(!metrics.encode().contains("fragtrace_pageblocks{"), "no series before a readable pagetypeinfo");
    let pti = include_str!("../../testdata/procfs/pagetypeinfo-6.18-live-2.txt");
    sink.zones(&ZoneSnapshot { ts_ns: 2, buddyinfo: buddyinfo.clone(), pagetypeinfo: Some(pti.into()) }).unwrap();
    let text = metrics.encode();
    for line in [
        "fragtrace_pageblocks{node=\"0\",zone=\"Normal\",migratetype=\"Unmovable\"} 205",
        "fragtrace_pageblocks{node=\"0\",zone=\"Normal\",migratetype=\"Movable\"} 7478",
        "fragtrace_pageblocks{node=\"0\",zone=\"Normal\",migratetype=\"Reclaimable\"} 317",
        "fragtrace_pageblocks{node=\"0\",zone=\"DMA32\",migratetype=\"HighAtomic\"} 0",
        "fragtrace_pageblocks{node=\"0\",zone=\"DMA\",migratetype=\"Isolate\"} 0",
    ] {
        assert!(text.contains(line), "{line} missing: {text}");
    }
    assert_eq!(text.lines().filter(|l| l.starts_with("fragtrace_pageblocks{")).count(), 3 * 5, "3 zones × 5 migratetypes");
    assert!(text.contains("# TYPE fragtrace_pageblocks gauge"), "{text}");
    // A later snapshot without it (the file became unreadable) leaves the last values.
    sink.zones(&ZoneSnapshot { ts_ns: 3, buddyinfo, pagetypeinfo: None }).unwrap();
    assert!(metrics.encode().contains("fragtrace_pageblocks{node=\"0\",zone=\"Normal\",migratetype=\"Unmovable\"} 205"));
}

#[test]
fn polluters_are_labelled_by_comm_pod_and_kind_and_bounded() {
    let opts = options(true, 5);
    let metrics = Arc::new(Metrics::new(&opts));
    let mut sink = MetricsSink::new(metrics.clone(), table(), 9, &opts);
    let defs = Definitions::new();
    sink.use_definitions(&defs);
    let mut w = Workload::default();
    w.pod.pod_name = Some("web-0".into());
    w.pod.pod_namespace = Some("shop".into());
    defs.define_workload(3, w);
    let fallback = |comm: String, cgroup_id: u64, stolen: bool| {
        let task = Task { ts_ns: 1, cpu: 0, pid: 1, tgid: 1, cgroup_id, comm };
        Event::Extfrag(Extfrag { task, alloc_order: 0, fallback_order: 2, alloc_migratetype: 0, fallback_migratetype: 1, change_ownership: stolen, stack_id: None })
    };
    sink.event(&fallback("alloc-trigger".into(), 3, true)).unwrap();
    sink.event(&fallback("alloc-trigger".into(), 3, false)).unwrap();
    for i in 0..100 {
        sink.event(&fallback(format!("churn-{i}"), 1000 + i, false)).unwrap();
    }
    let text = metrics.encode();
    assert!(text.contains("fragtrace_extfrag_polluter_fallbacks_total{comm=\"alloc-trigger\",pod=\"shop/web-0\",kind=\"stolen\"} 1"), "{text}");
    assert!(text.contains("fragtrace_extfrag_polluter_fallbacks_total{comm=\"alloc-trigger\",pod=\"shop/web-0\",kind=\"fragmenting\"} 1"), "{text}");
    let overflow = 100 - (MAX_POLLUTER_SERIES - 1);
    assert!(text.contains(&format!("fragtrace_extfrag_polluter_fallbacks_total{{comm=\"_other\",pod=\"_other\",kind=\"fragmenting\"}} {overflow}")), "{text}");
    let polluter_series = text.lines().filter(|l| l.starts_with("fragtrace_extfrag_polluter_fallbacks_total{")).count();
    assert_eq!(polluter_series, MAX_POLLUTER_SERIES + 2, "20 pairs (one with two kinds) and the overflow");
}
