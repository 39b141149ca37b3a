//! `report --format pprof` read by `go tool pprof` (no privileges): a recording written with the
//! library's own recorder, shaped like one from before failure hooks, with failures that have
//! a stack, failures without one (counted under `[no stack]`: no stack id, or an id whose
//! stack could not be read, which the recorder stores with no frames), a pod and a known cause. Counts, labels and stacks as pprof shows them.

use std::path::Path;

use fragtrace::{
    event::{Counters, Event, Failure, Task},
    gfp::GfpTable,
    host::tracefs::{EventFormat, layout::page_alloc_layout},
    identity::Workload,
    probe_status::{KernelInfo, ProbeMode},
    record::{Recorder, RecorderOptions, RecordingHeader},
    sink::Sink,
};
use fragtrace_tests::{
    cli::{TempPath, fragtrace},
    pprof::{GoPprof, report_pprof, shown, tags, top_rows, total_samples},
};

const PAGE_ALLOC_FORMAT: &str = include_str!("../../fragtrace/testdata/format/6.18-mm_page_alloc");
const KERNEL_ACCOUNT: u64 = 0x400cc0;
const PIPE_STACK: [&str; 5] = ["__alloc_frozen_pages_noprof", "___kmalloc_large_node", "pipe_resize_ring", "pipe_set_size", "pipe_fcntl"];
const START_NS: u64 = 1_000_000_000;

fn header() -> RecordingHeader {
    let page_alloc_format = EventFormat::parse(PAGE_ALLOC_FORMAT).expect("format");
    let (_, page_field) = page_alloc_layout(&page_alloc_format).expect("layout");
    let gfp = GfpTable::from_page_alloc_format(&page_alloc_format).expect("gfp table");
    RecordingHeader {
        fragtrace_version: "0.1.0".into(),
        recording_id: "pprof-test".into(),
        part: 0,
        hostname: "pprof-node".into(),
        boot_id: "pprof".into(),
        start_wall_ns: 1_800_000_000_000_000_000,
        start_monotonic_ns: START_NS,
        command_line: vec!["fragtrace".into(), "record".into()],
        probe_mode: ProbeMode::TpBtf,
        // As recordings made before the fexit hooks and extfrag stacks.
        failure_hooks: None,
        filter: String::new(),
        kernel: KernelInfo { release: "6.18.0-test".into(), page_alloc_format, extfrag_format: None, page_field, gfp, pageblock_order: 9, page_size: 4096 },
        extfrag_stack_every: None,
    }
}

fn failure(comm: &str, cgroup_id: u64, order: u32, stack_id: Option<u32>, ts_ns: u64) -> Event {
    let task = Task { ts_ns, cpu: 0, pid: 4242, tgid: 4242, cgroup_id, comm: comm.into() };
    Event::Failure(Failure { task, order, gfp_mask: KERNEL_ACCOUNT, migratetype: 0, stack_id, ancestry: vec![], captured_cgroup: None, hook: Default::default() })
}

/// 3 pipe resizes in pod shop/web-0 (orders 6, 6, 9), 2 order-0 failures without a stack id, 1
/// order-3 failure whose stack id was never defined (the kernel's stack map lost it).
fn write_recording(path: &Path) {
    let mut rec = Recorder::create(RecorderOptions { force: true, ..RecorderOptions::new(path) }, header()).expect("recorder");
    rec.stack(1, &PIPE_STACK.map(String::from)).unwrap();
    rec.cgroup(100, Some("/kubepods/burstable/podabc/c1")).unwrap();
    let mut w = Workload::default();
    w.pod.pod_namespace = Some("shop".into());
    w.pod.pod_name = Some("web-0".into());
    rec.workload(100, &w).unwrap();
    rec.cgroup(200, Some("/system.slice")).unwrap();
    let events = [
        failure("alloc-trigger", 100, 6, Some(1), START_NS + 1_000),
        failure("alloc-trigger", 100, 6, Some(1), START_NS + 2_000),
        failure("alloc-trigger", 100, 9, Some(1), START_NS + 3_000),
        failure("kworker/0:1", 200, 0, None, START_NS + 4_000),
        failure("kworker/0:1", 200, 0, None, START_NS + 5_000),
        failure("kworker/0:1", 200, 3, Some(77), START_NS + 6_000),
    ];
    for e in &events {
        rec.event(e).unwrap();
    }
    rec.tick(START_NS + 1_000_000_000, &Counters { failures: 6, allocs_seen: 1000, ..Counters::default() }).unwrap();
    rec.finish(&Counters { failures: 6, allocs_seen: 1000, ..Counters::default() }).unwrap();
}

fn report_json_total(recording: &Path, extra: &[&str]) -> u64 {
    let out = fragtrace().args(["report", "--json"]).args(extra).arg(recording).output().expect("report --json");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    doc["failures"]["total"].as_u64().expect("failures.total")
}

#[test]
fn go_tool_pprof_reads_failures_with_and_without_stacks() {
    let recording = TempPath::new("pprof-synthetic.ftr");
    write_recording(&recording);
    let profile = TempPath::new("pprof-synthetic.pb.gz");
    report_pprof(&recording, &[], &profile);
    let pprof = GoPprof::new("synthetic");
    let top = pprof.run(&profile, &["-top", "-nodecount=100", "-nodefraction=0"]);
    assert_eq!(total_samples(&top), Some(report_json_total(&recording, &[])), "{top}");
    assert_eq!(total_samples(&top), Some(6), "{top}");
    let rows = top_rows(&top);
    let row = |name: &str| rows.iter().find(|r| r.2 == name).unwrap_or_else(|| panic!("no {name} in:\n{top}")).clone();
    assert_eq!(row("[no stack]").0, 3, "failures without a stack count, under a placeholder\n{top}");
    assert_eq!(row("__alloc_frozen_pages_noprof").0, 3, "the leaf is the innermost frame\n{top}");
    assert_eq!((row("pipe_fcntl").0, row("pipe_fcntl").1), (0, 3), "callers carry the cumulative count\n{top}");
    assert!(top.contains("fragtrace allocation failures on pprof-node (kernel 6.18.0-test)"), "the comments: {top}");

    let traces = pprof.run(&profile, &["-traces"]);
    let pipe_trace = traces.split("-----------+").find(|t| t.contains("pipe_resize_ring")).unwrap_or_else(|| panic!("{traces}"));
    let frames: Vec<&str> = pipe_trace.lines().filter_map(|l| l.split_whitespace().last()).filter(|f| PIPE_STACK.contains(f)).collect();
    assert_eq!(frames, PIPE_STACK, "the whole stack, leaf first:\n{pipe_trace}");

    let tags = tags(&pprof.run(&profile, &["-tags"]));
    let label = |key: &str| tags.get(key).cloned().unwrap_or_else(|| panic!("no {key} label in {tags:?}")).into_iter().collect::<Vec<_>>();
    let pair = |v: &str, n: u64| (v.to_string(), n);
    assert_eq!(label("pod"), [pair("shop/web-0", 3)], "only failures in a pod carry one");
    assert_eq!(label("cause"), [pair("pipe-resize-memcg", 3)]);
    assert_eq!(label("comm"), [pair("alloc-trigger", 3), pair("kworker/0:1", 3)]);
    assert_eq!(label("gfp"), [pair("kernel", 6)]);
    assert_eq!(label("gfp_flags"), [pair("GFP_KERNEL_ACCOUNT", 6)]);
    assert_eq!(label("hook"), [pair("tracepoint", 6)], "recordings without hooks: the tracepoint");
    assert_eq!(label("order"), [pair("0", 2), pair("3", 1), pair("6", 2), pair("9", 1)]);
    assert_eq!(label("cgroup"), [pair("/kubepods/burstable/podabc/c1", 3), pair("/system.slice", 3)]);
    let focus = |filter: &str| shown(&pprof.run(&profile, &["-top", &format!("-tagfocus={filter}")])).unwrap_or_else(|| panic!("{filter}"));
    assert_eq!(focus("order=0"), 2, "order 0 is a label too");
    assert_eq!(focus("order=6"), 2);
    assert_eq!(focus("order=6:9"), 3);
    assert_eq!(focus("pod=shop/web-0"), 3);
    assert_eq!(focus("comm=kworker"), 3);
    assert_eq!(focus("cause=pipe-resize-memcg"), 3);
    // The second value: bytes asked for, 2^order pages of 4 KiB.
    let bytes = pprof.run(&profile, &["-top", "-sample_index=requested", "-unit=bytes"]);
    assert_eq!(total_samples(&bytes), Some(2 * 4096 * 64 + 4096 * 512 + 2 * 4096 + 4096 * 8), "{bytes}");
}

#[test]
fn filters_apply_and_stdout_works_when_it_is_not_a_terminal() {
    let recording = TempPath::new("pprof-filters.ftr");
    write_recording(&recording);
    let profile = TempPath::new("pprof-filters.pb.gz");
    report_pprof(&recording, &["--comm", "alloc-trigger", "--min-order", "7"], &profile);
    let top = GoPprof::new("filters").run(&profile, &["-top"]);
    assert_eq!(total_samples(&top), Some(report_json_total(&recording, &["--comm", "alloc-trigger", "--min-order", "7"])));
    assert_eq!(total_samples(&top), Some(1), "{top}");
    // Piped stdout: the same bytes as --output.
    let piped = fragtrace().args(["report", "--format", "pprof"]).arg(&recording).output().expect("report");
    assert!(piped.status.success(), "{}", String::from_utf8_lossy(&piped.stderr));
    let written = TempPath::new("pprof-same.pb.gz");
    report_pprof(&recording, &[], &written);
    assert_eq!(piped.stdout, std::fs::read(&written).expect("profile"), "stdout and --output write the same profile");
    // An unwritable --output: one clear line, non-zero.
    let bad = fragtrace().args(["report", "--format", "pprof", "-o", "/nonexistent-dir/p.pb.gz"]).arg(&recording).output().expect("report");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.contains("writing /nonexistent-dir/p.pb.gz") && err.lines().count() == 1, "{err:?}");
    // --output never overwrites what is being read.
    let onto = fragtrace().args(["report", "--format", "pprof", "-o"]).arg(&recording).arg(&recording).output().expect("report");
    assert!(!onto.status.success() && String::from_utf8_lossy(&onto.stderr).contains("is one of the recordings being read"), "{onto:?}");
    assert_eq!(report_json_total(&recording, &[]), 6, "the recording is intact");
    // --output belongs to the binary format.
    let text = fragtrace().args(["report", "--json", "-o", "/dev/null"]).arg(&recording).output().expect("report");
    assert!(!text.status.success() && String::from_utf8_lossy(&text.stderr).contains("--output is for --format pprof"), "{text:?}");
}

#[test]
fn a_terminal_gets_an_error_not_binary() {
    let recording = TempPath::new("pprof-tty.ftr");
    write_recording(&recording);
    // `script` gives the report a pseudo-terminal as stdout.
    let command = format!("{} report --format pprof {}", fragtrace_tests::built_binary("fragtrace").display(), recording.display());
    let out = std::process::Command::new("script").args(["-qfec", &command, "/dev/null"]).output().expect("script (util-linux)");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "refused: {tty:?}");
    assert!(tty.contains("refusing to write a binary (gzip'd) profile to a terminal") && tty.contains("--output"), "{tty:?}");
    assert!(!out.stdout.windows(2).any(|w| w == [0x1f, 0x8b]), "no gzip bytes on the terminal");
}
