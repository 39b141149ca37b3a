//! Snapshot tests: every pane and the whole screen from fixed snapshots, at 80×24 and
//! 160×48, through ratatui's `TestBackend` with an injected clock. The expected screens are
//! insta snapshots in `src/tui/snapshots/<name>.snap`; after an intended change, review and
//! accept the new ones with `cargo insta review` (or `INSTA_UPDATE=always cargo test` and
//! read the diff). `cargo xtask test` sets `INSTA_UPDATE=no`: a mismatch fails, nothing is
//! written.

use std::sync::Arc;

use ratatui::{Terminal, backend::TestBackend, buffer::Buffer, layout::Rect};

use super::{
    draw::draw,
    panes,
    rates::Rates,
    screen::{HeaderFacts, Screen},
    state::{GroupBy, UiState},
};
use crate::{
    aggregate::{CgroupCount, ExtfragGroup, FailureGroup, Snapshot, StackCount},
    gfp::{GfpName, GfpTable},
    host::buddyinfo::ZoneFree,
};

const NOW: u64 = 1_000_000_000_000;

fn gfp() -> GfpTable {
    GfpTable {
        names: vec![
            GfpName { value: 0x400cc0, name: "GFP_KERNEL_ACCOUNT".into() },
            GfpName { value: 0xcc0, name: "GFP_KERNEL".into() },
            GfpName { value: 0x2000, name: "__GFP_NOWARN".into() },
            GfpName { value: 0x40000, name: "__GFP_COMP".into() },
        ],
    }
}

fn screen(snapshot: Snapshot, rates: Rates, ui: UiState) -> Screen {
    let stacks = crate::definitions::Definitions::new();
    stacks.define_stack(7, &["__alloc_pages_noprof".to_string(), "___kmalloc_large_node".into(), "pipe_resize_ring".into(), "pipe_fcntl".into(), "do_fcntl".into()]);
    stacks.define_stack(8, &["__alloc_pages_noprof".to_string(), "nf_conntrack_init_net".into(), "ops_init".into(), "setup_net".into()]);
    Screen {
        header: HeaderFacts {
            host: "node-7".into(),
            kernel: "6.18.0".into(),
            probe_mode: "tp_btf".into(),
            elapsed_s: 754.0,
            interval_s: 2.0,
            filters: String::new(),
            replay: None,
        },
        snapshot: Arc::new(snapshot),
        rates,
        stacks,
        gfp: Arc::new(gfp()),
        now_ns: NOW,
        pageblock_order: 9,
        page_size: 4096,
        collected: Some(Vec::new()),
        ui,
    }
}

fn zones() -> Vec<ZoneFree> {
    vec![
        ZoneFree { node: 0, zone: "DMA".into(), free_blocks: vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3] },
        ZoneFree { node: 0, zone: "DMA32".into(), free_blocks: vec![1, 1, 4, 2, 5, 4, 3, 3, 4, 2, 752] },
        ZoneFree { node: 0, zone: "Normal".into(), free_blocks: vec![19138, 20402, 11771, 3939, 1797, 905, 0, 0, 0, 0, 0] },
    ]
}

fn normal() -> (Snapshot, Rates) {
    let mut s = Snapshot { failures: 42, silent_failures: 12, ..Default::default() };
    s.by_order[4] = 30;
    s.by_order[6] = 12;
    s.silent_by_order[4] = 12;
    s.groups = vec![
        FailureGroup { comm: "mysqld".into(), order: 4, gfp_mask: 0x402cc0, count: 30, last_seen_ns: NOW - 2_000_000_000, top_stack: Some(7), stacks: vec![(7, 28), (8, 2)] },
        FailureGroup { comm: "runc:[1:CHILD]".into(), order: 6, gfp_mask: 0x400cc0, count: 12, last_seen_ns: NOW - 95_000_000_000, top_stack: Some(8), stacks: vec![(8, 12)] },
    ];
    s.by_gfp = vec![(0x402cc0, 30), (0x400cc0, 12)];
    s.by_comm = vec![("mysqld".into(), 30), ("runc:[1:CHILD]".into(), 12)];
    s.by_cgroup = vec![
        CgroupCount { cgroup_id: 9, path: Some("/kubepods/burstable/pod1234/abcd".into()), count: 30, last_seen_ns: 0 },
        CgroupCount { cgroup_id: 1, path: Some("/".into()), count: 12, last_seen_ns: 0 },
    ];
    s.by_stack = vec![StackCount { stack_id: 7, count: 28, last_seen_ns: NOW - 2_000_000_000 }, StackCount { stack_id: 8, count: 14, last_seen_ns: NOW - 95_000_000_000 }];
    s.extfrag = 5400;
    s.extfrag_fragmenting = 3000;
    s.extfrag_severe = 800;
    s.extfrag_groups = vec![
        ExtfragGroup { alloc_migratetype: 0, fallback_migratetype: 1, count: 5000, fragmenting: 2900, severe: 700 },
        ExtfragGroup { alloc_migratetype: 2, fallback_migratetype: 1, count: 400, fragmenting: 100, severe: 100 },
    ];
    s.zones = zones();
    s.zones_ts_ns = Some(NOW);
    s.counters.allocs_seen = 9_000_000;
    let mut rates = Rates { allocs_per_s: 51234.0, failures_per_s: 1.5, extfrag_per_s: 250.0, ..Default::default() };
    rates.groups.insert(("mysqld".into(), 4, 0x402cc0), 1.5);
    rates.extfrag.insert((0, 1), 240.0);
    rates.cgroups.insert(9, 1.5);
    rates.stacks.insert(7, 1.5);
    (s, rates)
}

fn overflowing() -> (Snapshot, Rates) {
    let (mut s, rates) = normal();
    for i in 0..300u64 {
        s.groups.push(FailureGroup {
            comm: format!("a-very-long-process-name-{i}"),
            order: (i % 11) as u32,
            gfp_mask: 0x400cc0 | 0x2000 | 0x40000,
            count: 1_000_000 + i,
            last_seen_ns: NOW - i * 1_000_000_000,
            top_stack: Some(7),
            stacks: vec![(7, 1_000_000 + i)],
        });
    }
    s.by_order = [123_456_789; 11];
    s.silent_by_order = [23_456_789; 11];
    s.failures = 1_358_024_679;
    s.lost = 98_765;
    (s, rates)
}

/// The buffer as text, one line per row, trailing spaces trimmed.
fn text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buf[(x, y)].symbol().to_string()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Compares with `src/tui/snapshots/{name}.snap`. Rows are right-trimmed and the screen has a
/// fixed height, so insta's trimming of trailing blank lines loses nothing.
fn check(name: &str, actual: &str) {
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, actual);
    });
}

fn full(name: &str, screen: &Screen, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, screen)).unwrap();
    let t = text(terminal.backend().buffer());
    check(&format!("{name}-{w}x{h}"), &t);
    t
}

#[test]
fn full_screen_empty_normal_overflowing_at_two_sizes() {
    for (w, h) in [(80, 24), (160, 48)] {
        let empty = full("empty", &screen(Snapshot::default(), Rates::default(), UiState::default()), w, h);
        assert!(empty.contains("no allocation failures"), "{empty}");
        assert!(empty.contains("not yet collected"), "stall panes never fake data");
        let (s, r) = normal();
        let t = full("normal", &screen(s, r, UiState::default()), w, h);
        assert!(t.contains("mysqld") && t.contains("runc:[1:CHILD]"), "{t}");
        assert!(t.contains("GFP_KERNEL_ACCOUNT"), "{t}");
        let (s, r) = overflowing();
        let t = full("overflowing", &screen(s, r, UiState::default()), w, h);
        assert!(t.contains("DROPPED 98.8k"), "{t}");
        assert!(t.contains("a-very-long-pr…"), "long names are cut visibly: {t}");
    }
}

#[test]
fn overlays_and_modes() {
    let (s, r) = normal();
    let t = full("help", &screen(s.clone(), r.clone(), UiState { show_help: true, ..Default::default() }), 80, 24);
    assert!(t.contains("quit") && t.contains("fragmentation index"), "{t}");
    let t = full("stacks", &screen(s.clone(), r.clone(), UiState { show_stacks: true, ..Default::default() }), 80, 24);
    assert!(t.contains("pipe_resize_ring") && t.contains("28 failures"), "the selected group's stacks: {t}");
    let mut with_pod = s.clone();
    with_pod.by_pod = vec![crate::aggregate::PodCount { pod: "default/web-0".into(), count: 30, last_seen_ns: NOW - 2_000_000_000, cgroup_ids: vec![9] }];
    let t = full("by-pod", &screen(with_pod, r.clone(), UiState { group_by: GroupBy::Pod, ..Default::default() }), 80, 24);
    assert!(t.lines().any(|l| l.contains("default/web-0") && l.contains("1.5/s")), "pod rows with their containers' rate: {t}");
    let t = full("by-cgroup", &screen(s.clone(), r.clone(), UiState { group_by: GroupBy::Cgroup, ..Default::default() }), 160, 48);
    assert!(t.contains("/kubepods/burstable/pod1234/abcd"), "{t}");
    let t = full("by-stack", &screen(s.clone(), r.clone(), UiState { group_by: GroupBy::Stack, ..Default::default() }), 160, 48);
    assert!(t.contains("pipe_resize_ring") && t.contains("nf_conntrack_init_net"), "{t}");
    let t = full("filtering", &screen(s.clone(), r.clone(), UiState { filter: "runc".into(), editing_filter: true, paused: true, ..Default::default() }), 80, 24);
    assert!(t.contains("filter: runc") && t.contains("PAUSED") && !t.contains("mysqld"), "{t}");
    let mut narrow = screen(s.clone(), r.clone(), UiState { paused: true, ..Default::default() });
    narrow.header.host = "ip-10-0-12-34.eu-west-1.compute.internal".into();
    narrow.header.filters = "comm=runc*".into();
    let t = full("paused-filtered", &narrow, 80, 24);
    assert!(t.lines().next().unwrap().starts_with("PAUSED"), "pause is the first thing on screen: {t}");
    assert!(t.contains("filter comm=runc*"), "filters stay visible at 80 columns: {t}");
    assert!(t.contains("NOWARN"), "the silent marker survives at 80 columns: {t}");
}

#[test]
fn stalls_and_oom_kills_when_collected() {
    use crate::{aggregate::{OomSummary, StallSummary}, event::StallKind};
    let (mut s, r) = normal();
    s.stalls = vec![
        StallSummary { kind: StallKind::Reclaim, order: 0, count: 120, p50_us: 80, p90_us: 400, p99_us: 2500, max_us: 9000, total_us: 60_000 },
        StallSummary { kind: StallKind::Compaction, order: 6, count: 3, p50_us: 15_000, p90_us: 40_000, p99_us: 180_000, max_us: 210_000, total_us: 300_000 },
    ];
    s.stalls_by_comm = vec![("runc:[1:CHILD]".into(), 300_000)];
    s.ooms = vec![OomSummary { ts_ns: NOW - 30_000_000_000, killer: "java".into(), victim_pid: 4242, victim_comm: "java".into(), anon_rss_kb: 2 << 20 }];
    s.oom_total = 1;
    let mut sc = screen(s, r, UiState::default());
    sc.collected = Some(vec!["reclaim".into(), "compaction".into(), "oom".into()]);
    let t = full("stalls", &sc, 160, 48);
    assert!(t.contains("compact") && t.contains("210ms") && t.contains("java 4242 2048M 30s"), "{t}");
    assert!(t.contains("not collected: memcg-reclaim"), "a missing probe is named: {t}");
    let t = full("stalls", &sc, 80, 24);
    assert!(t.contains("Stalls: 123 (max 210ms) · OOM kills: 1"), "{t}");
    let (s, r) = normal();
    let mut sc = screen(s, r, UiState::default());
    sc.collected = Some(vec!["oom".into()]);
    let t = full("stalls-not-collected", &sc, 160, 48);
    assert!(t.contains("not yet collected"), "{t}");
}

#[test]
fn every_pane_alone() {
    let (s, r) = normal();
    let sc = screen(s, r, UiState { selected: 1, ..Default::default() });
    let area = Rect::new(0, 0, 78, 12);
    type Pane = fn(&Screen, Rect, &mut Buffer);
    let panes: [(&str, Pane); 7] = [
        ("pane-header", panes::header::render),
        ("pane-failures", panes::failures::render),
        ("pane-orders", panes::orders::render),
        ("pane-extfrag", panes::extfrag::render),
        ("pane-zones", panes::zones::render),
        ("pane-stalls", panes::stalls::render),
        ("pane-footer", panes::footer::render),
    ];
    for (name, render) in panes {
        let mut buf = Buffer::empty(area);
        render(&sc, area, &mut buf);
        check(name, &text(&buf));
    }
}

#[test]
fn zone_order_defaults_to_the_highest_recent_failure() {
    let (s, r) = normal();
    let sc = screen(s, r, UiState::default());
    assert_eq!(sc.zone_order(), 4, "order 6 failed 95 s ago, order 4 two seconds ago");
    let sc = screen(Snapshot::default(), Rates::default(), UiState::default());
    assert_eq!(sc.zone_order(), 3);
    let (s, r) = normal();
    assert_eq!(screen(s, r, UiState { zone_order: Some(9), ..Default::default() }).zone_order(), 9);
}

#[test]
fn the_header_says_when_the_per_allocation_probe_is_idle() {
    use crate::{aggregate::AllocProbeSummary, probe_status::ArmReason};
    let (mut s, r) = normal();
    s.alloc_probe = Some(AllocProbeSummary { attached: false, state_ns: 40_000_000_000, observed_ns: 100_000_000_000, attached_ns: 60_000_000_000, attaches: 2, ..Default::default() });
    let t = full("alloc-probe-idle", &screen(s.clone(), r.clone(), UiState::default()), 160, 48);
    assert!(t.lines().next().unwrap_or("").contains("per-alloc probe idle for 40s (no memory pressure)"), "{t}");
    s.alloc_probe = Some(AllocProbeSummary { attached: true, reason: Some(ArmReason::MemcgReclaim), state_ns: 3_000_000_000, ..Default::default() });
    let t = full("alloc-probe-on", &screen(s, r, UiState::default()), 160, 48);
    assert!(t.lines().next().unwrap_or("").contains("per-alloc probe on for 3s (memcg reclaim)"), "{t}");
}

/// The normal snapshot with a census: Normal gained 15 unmovable/reclaimable pageblocks in
/// two hours, DMA32 has only movable ones (no row), DMA one unmovable block (a row).
fn with_census(window_ns: u64) -> (Snapshot, Rates) {
    let (mut s, r) = normal();
    let table = |u: u64, r: u64| {
        format!(
            "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate \n\
             Node 0, zone      DMA            1            7            0            0            0 \n\
             Node 0, zone    DMA32            0         1528            0            0            0 \n\
             Node 0, zone   Normal {u:>12} {:>12} {r:>12}            0            0 \n",
            8000 - u - r
        )
    };
    let mut census = crate::census::PageblockCensus::default();
    census.observe_text(NOW, Some(&table(207, 317)));
    census.observe_text(NOW + window_ns, Some(&table(217, 322)));
    s.pageblocks = census.zones;
    (s, r)
}

fn fragmenting() -> (Snapshot, Rates) {
    use crate::aggregate::{CommPolluter, HarmCounts, PodPolluter, PollutersSnapshot, StackPolluter};
    let (mut s, r) = normal();
    s.polluters = PollutersSnapshot {
        by_comm: vec![
            CommPolluter { comm: "alloc-trigger".into(), counts: HarmCounts { stolen: 41, fragmenting: 300, other: 2 } },
            CommPolluter { comm: "kworker/u8:3".into(), counts: HarmCounts { stolen: 0, fragmenting: 10, other: 900 } },
        ],
        by_pod: vec![PodPolluter { pod: "shop/web-0".into(), counts: HarmCounts { stolen: 41, fragmenting: 300, other: 2 } }],
        stacks: vec![StackPolluter { stack_id: 7, counts: HarmCounts { stolen: 5, fragmenting: 30, other: 0 } }],
        stacks_sampled: 35,
        ..Default::default()
    };
    (s, r)
}

#[test]
fn the_zones_pane_shows_the_pageblock_census_and_its_growth() {
    let (s, r) = with_census(7_200_000_000_000);
    let sc = screen(s, r, UiState::default());
    let mut buf = Buffer::empty(Rect::new(0, 0, 78, 12));
    panes::zones::render(&sc, buf.area, &mut buf);
    let t = text(&buf);
    check("pane-zones-census", &t);
    assert!(t.contains("n0 Normal       217    322     +15    +7.5/h"), "{t}");
    assert!(t.contains("n0 DMA            1      0      +0    +0.0/h"), "{t}");
    assert!(!t.contains("n0 DMA32      0"), "only movable blocks: no census row\n{t}");
    let wide = full("census", &sc, 160, 48);
    assert!(wide.contains("PAGEBLOCKS") && wide.contains("+7.5/h"), "{wide}");
    let narrow = full("census", &sc, 80, 24);
    assert!(narrow.contains("n0 Normal       217    322     +15"), "the zone with the most such blocks: {narrow}");
    // Under a minute: growth, but no hourly rate extrapolated from seconds.
    let (s, r) = with_census(10_000_000_000);
    let mut buf = Buffer::empty(Rect::new(0, 0, 78, 12));
    panes::zones::render(&screen(s, r, UiState::default()), buf.area, &mut buf);
    assert!(text(&buf).contains("n0 Normal       217    322     +15         -"), "{}", text(&buf));
}

#[test]
fn who_fragments_pane_and_line() {
    let (s, r) = fragmenting();
    let t = full("who-fragments", &screen(s.clone(), r.clone(), UiState::default()), 160, 48);
    assert!(t.contains("Who fragments"), "{t}");
    let first = t.lines().position(|l| l.contains("alloc-trigger")).expect("alloc-trigger listed");
    let second = t.lines().position(|l| l.contains("kworker/u8:3")).expect("kworker listed");
    assert!(first < second, "ranked by harm, not by count: {t}");
    assert!(t.contains("pod shop/web-0") && t.contains("stack pipe_resize_ring"), "{t}");
    let t = full("who-fragments", &screen(s.clone(), r.clone(), UiState::default()), 80, 24);
    assert!(t.contains("worst: alloc-trigger harm 1312 (41 stolen)"), "{t}");
    let mut buf = Buffer::empty(Rect::new(0, 0, 78, 12));
    panes::polluters::render(&screen(s, r, UiState::default()), buf.area, &mut buf);
    check("pane-polluters", &text(&buf));
}
