//! Real failures as a profile: `record` while pipe resizes fail in a full memory cgroup, then
//! `report --format pprof`, read by `go tool pprof`. The failing kernel path (the allocator
//! entry, the pipe resize that asked) is in it, with the counts and labels `report --json`
//! and `--jsonl` give for the same recording.

use std::collections::BTreeMap;

use fragtrace_tests::{
    cli::{TempPath, provoke_failures, report_json, report_jsonl, signal, start_recorder, wait_until_recorded_failures},
    pprof::{GoPprof, report_pprof, shown, tags, top_rows, total_samples},
    require_root,
};
use serde_json::Value;

#[test]
fn go_tool_pprof_shows_the_failing_kernel_path() {
    let _serial = require_root();
    let file = TempPath::new("pprof.ftr");
    let (mut recorder, _stderr, _) = start_recorder(&file, &[]);
    let trigger = provoke_failures("pprof");
    wait_until_recorded_failures(&file, trigger.pid, &[6, 7, 8, 9]);
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("recorder exit").success());

    let ours: Vec<Value> = report_jsonl(&file, &[]).into_iter().filter(|o| o["kind"] == "failure" && o["tgid"] == trigger.pid).collect();
    assert_eq!(ours.len(), 4, "{ours:?}");
    let stacks: Vec<Vec<String>> = ours.iter().map(|o| o["stack"].as_array().expect("stack").iter().map(|f| f.as_str().expect("frame").to_string()).collect()).collect();
    let stack = &stacks[0];
    assert!(stack.iter().any(|f| f.contains("alloc_pages")), "the allocator entry in {stack:?}");
    assert!(stack.iter().any(|f| f == "pipe_resize_ring"), "the caller in {stack:?}");

    let profile = TempPath::new("pprof.pb.gz");
    report_pprof(&file, &[], &profile);
    let pprof = GoPprof::new("e2e");
    // Every failure of the recording (other processes' too), as `report --json` counts them.
    let top = pprof.run(&profile, &["-top"]);
    assert_eq!(total_samples(&top), report_json(&file)["failures"]["total"].as_u64(), "{top}");

    // The trigger's four, on the pipe-resize path, leaf first.
    let mine = pprof.run(&profile, &["-top", "-nodecount=200", "-nodefraction=0", "-tagfocus=comm=^alloc-trigger$"]);
    assert_eq!(shown(&mine), Some(4), "{mine}");
    let rows = top_rows(&mine);
    let cum = |name: &str| rows.iter().find(|r| r.2 == name).map(|r| r.1);
    for frame in stack {
        assert_eq!(cum(frame), Some(4), "frame {frame} of every failure's stack:\n{mine}");
    }
    assert_eq!(rows.iter().find(|r| r.0 > 0).map(|r| r.2.as_str()), Some(stack[0].as_str()), "the leaf is the innermost frame:\n{mine}");
    let traces = pprof.run(&profile, &["-traces", "-tagfocus=comm=^alloc-trigger$"]);
    let trace = traces.split("-----------+").find(|t| t.contains("pipe_resize_ring")).unwrap_or_else(|| panic!("{traces}"));
    let frames: Vec<&str> = trace.lines().filter(|l| !l.contains(": ")).filter_map(|l| l.split_whitespace().last()).filter(|f| !f.starts_with('-')).collect();
    assert_eq!(frames, stack.iter().map(String::as_str).collect::<Vec<_>>(), "the whole stack, as recorded:\n{trace}");

    // Labels, as the JSON report names them.
    let labels = tags(&pprof.run(&profile, &["-tags", "-tagfocus=comm=^alloc-trigger$"]));
    let one = |value: &str| BTreeMap::from([(value.to_string(), 4)]);
    assert_eq!(labels["comm"], one("alloc-trigger"));
    assert_eq!(labels["cause"], one("pipe-resize-memcg"));
    assert_eq!(labels["gfp"], one("kernel"));
    assert_eq!(labels["hook"], one(ours[0]["hook"].as_str().expect("hook")));
    assert_eq!(labels["cgroup"], one(ours[0]["cgroup"].as_str().expect("cgroup path")));
    assert_eq!(labels["order"], BTreeMap::from(["6", "7", "8", "9"].map(|o| (o.to_string(), 1))));
    assert!(labels["gfp_flags"].keys().all(|f| f.starts_with("GFP_KERNEL_ACCOUNT")), "{:?}", labels["gfp_flags"]);
}
