//! fragtrace must never make an incident worse or become a way in: live commands drop the
//! capabilities they no longer need and keep out of the OOM killer's way; nothing stays
//! attached after any way of ending; drops in a storm are counted exactly; hostile process
//! names reach no output raw.

use std::{process::Command, time::Duration};

use fragtrace_tests::{
    built_binary,
    cli::{FailingCgroup, Says, TempPath, fragtrace, json_lines, provoke_in_child, signal, spawn_until, start_recorder, wait_for},
    poll, require_root,
};

/// The effective capability mask of `pid`.
fn cap_eff(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:")).expect("CapEff").trim();
    u64::from_str_radix(hex, 16).expect("hex")
}

fn bits(caps: &[u32]) -> u64 {
    caps.iter().fold(0, |m, c| m | 1 << c)
}

const DAC_OVERRIDE: u32 = 1;
const DAC_READ_SEARCH: u32 = 2;
const PERFMON: u32 = 38;
const BPF: u32 = 39;
const SYS_RESOURCE: u32 = 24;

#[test]
fn live_commands_drop_capabilities_and_keep_out_of_the_oom_killers_way() {
    let _serial = require_root();
    let file = TempPath::new("caps.ftr");
    let (mut recorder, _stderr, _) = start_recorder(&file, &[]);
    let pid = recorder.id();
    assert_eq!(cap_eff(pid), bits(&[DAC_OVERRIDE, DAC_READ_SEARCH, PERFMON, BPF]), "record keeps only what attaching and writing need");
    // Lowering oom_score_adj needs CAP_SYS_RESOURCE, which some sandboxes (this CI's
    // included) withhold even from root: then the value must be left as it was.
    let can_lower = cap_eff(std::process::id()) & bits(&[SYS_RESOURCE]) != 0;
    let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).expect("oom_score_adj");
    eprintln!("CAP_SYS_RESOURCE {}: oom_score_adj {}", if can_lower { "held" } else { "withheld" }, adj.trim());
    assert_eq!(adj.trim(), if can_lower { "-900" } else { "0" });
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("exit").success());

    let (mut serve, _lines, seen) = spawn_until(fragtrace().args(["serve", "--listen", "127.0.0.1:0"]), Says::Stderr, "serving metrics on");
    assert_eq!(cap_eff(serve.id()), bits(&[DAC_READ_SEARCH, PERFMON, BPF]), "serve writes no files: no CAP_DAC_OVERRIDE");
    signal(&serve, libc::SIGTERM);
    assert!(serve.wait().expect("exit").success(), "{seen:?}");
}

/// fragtrace's programs as the kernel lists them: (id, name cut to 15 characters).
fn our_program_ids() -> Vec<(u64, String)> {
    const OURS: [&str; 6] = ["mm_page_alloc_b", "mm_page_alloc_c", "mm_page_alloc_e", "memcg_reclaim_b", "wakeup_kswapd", "mark_victim"];
    let out = Command::new("bpftool").args(["prog", "show", "--json"]).output().expect("bpftool (`cargo xtask test` installs it)");
    assert!(out.status.success());
    let progs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    let mut ours: Vec<(u64, String)> = progs
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| Some((p["id"].as_u64()?, p["name"].as_str()?.to_string())))
        .filter(|(_, n)| OURS.contains(&n.as_str()))
        .collect();
    ours.sort();
    ours
}

/// fragtrace's program names (sorted).
fn our_programs() -> Vec<String> {
    let mut names: Vec<String> = our_program_ids().into_iter().map(|(_, n)| n).collect();
    names.sort();
    names
}

/// Ids of the BPF links (`bpftool link show`) of the programs `prog_ids`: other BPF users
/// (systemd attaching cgroup programs, say) come and go meanwhile and are not counted.
fn links_of(prog_ids: &[u64]) -> Vec<u64> {
    let out = Command::new("bpftool").args(["link", "show", "--json"]).output().expect("bpftool");
    assert!(out.status.success());
    let links: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    let mut ids: Vec<u64> = links
        .as_array()
        .expect("list")
        .iter()
        .filter(|l| l["prog_id"].as_u64().is_some_and(|p| prog_ids.contains(&p)))
        .filter_map(|l| l["id"].as_u64())
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn nothing_stays_loaded_or_attached_after_any_ending() {
    let _serial = require_root();
    let before = our_programs();
    let ids_before: Vec<u64> = our_program_ids().into_iter().map(|(id, _)| id).collect();
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGKILL] {
        let file = TempPath::new(&format!("detach-{sig}.ftr"));
        let (mut recorder, _stderr, _) = start_recorder(&file, &[]);
        assert!(our_programs().len() > before.len(), "the recorder's programs are loaded while it runs");
        let recorder_progs: Vec<u64> = our_program_ids().into_iter().map(|(id, _)| id).filter(|id| !ids_before.contains(id)).collect();
        assert!(!links_of(&recorder_progs).is_empty(), "and attached through links");
        signal(&recorder, sig);
        let status = recorder.wait().expect("exit");
        assert!(sig == libc::SIGKILL || status.success(), "signal {sig}: {status}");
        // Program teardown is asynchronous in the kernel (RCU): wait for it, 5 s at most.
        let mut left = (Vec::new(), Vec::new());
        let _ = poll(Duration::from_secs(5), || {
            left = (our_programs(), links_of(&recorder_progs));
            (left == (before.clone(), Vec::new())).then_some(())
        });
        assert_eq!(left.0, before, "programs left loaded after signal {sig}");
        assert_eq!(left.1, Vec::<u64>::new(), "links left attached after signal {sig}");
    }
}

#[test]
fn drops_in_a_storm_are_counted_exactly() {
    let _serial = require_root();
    let failing = FailingCgroup::new("storm");
    let cgroup = &failing.cgroup;
    let file = TempPath::new("storm.ftr");
    // The smallest ring buffer: a 2-s storm overflows it.
    let (mut recorder, stderr, mut seen) = start_recorder(&file, &["--ring-buffer-kib", "4"]);
    let storm = Command::new(built_binary("alloc-trigger")).arg("storm").arg(&cgroup.leaf).args(["2", "4"]).output().expect("storm");
    assert!(storm.status.success(), "{}", String::from_utf8_lossy(&storm.stderr));
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("exit").success());
    wait_for(&stderr, "recorded", &mut seen);
    let out = fragtrace().args(["report", "--jsonl"]).arg(&file).output().expect("report");
    assert!(out.status.success());
    let objects = json_lines(&out.stdout);
    let lost: u64 = objects.iter().filter(|o| o["kind"] == "lost").map(|o| o["count"].as_u64().expect("count")).sum();
    let summary = objects.last().expect("summary");
    let dropped = summary["dropped"].as_u64().expect("dropped");
    assert!(dropped > 0, "a 4 KiB ring must overflow in this storm: {summary}");
    assert_eq!(lost, dropped, "every drop the kernel counted is in the file as a lost record");
    let delivered = objects.iter().filter(|o| o["kind"] == "failure" || o["kind"] == "stall").count();
    assert!(delivered > 0, "events still flow during the storm");
    // The eBPF side said so too, once, through aya-log and RUST_LOG's default (warn).
    let full = seen.iter().filter(|l| l.contains("ring buffer full: events are being dropped")).count();
    assert_eq!(full, 1, "the programs' own diagnostic, once: {seen:?}");
}

#[test]
fn hostile_process_names_reach_no_output_raw() {
    let _serial = require_root();
    // The cgroup's name is hostile too (cgroupfs takes ESC and BEL, though not newlines).
    let failing = FailingCgroup::new("hostile-\x1b[2J\x07");
    let cgroup = &failing.cgroup;
    let file = TempPath::new("hostile.ftr");
    let (mut recorder, stderr, mut seen) = start_recorder(&file, &[]);
    // Clears the screen, moves the cursor, rings the bell, and breaks lines, if printed raw.
    let name = "\x1b[2J\x1b[H\nx\x07y";
    provoke_in_child(name, &cgroup.leaf);
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("exit").success());
    wait_for(&stderr, "recorded", &mut seen);
    for args in [&["report"][..], &["report", "--json"], &["report", "--jsonl"], &["report", "--format", "chrome-trace"], &["top", "--batch", "--replay"]] {
        let out = fragtrace().args(args).arg(&file).output().expect("fragtrace");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!out.stdout.iter().any(|&b| b == 0x1b || b == 0x07), "{args:?} printed a raw control character");
        let text = String::from_utf8(out.stdout).expect("valid UTF-8");
        assert!(text.contains("\\u{1b}[2J") || text.contains("\\\\u{1b}[2J"), "{args:?}: the name is shown escaped:\n{text}");
    }
    let jsonl = fragtrace().args(["report", "--jsonl"]).arg(&file).output().expect("report");
    let comms: Vec<String> = json_lines(&jsonl.stdout).iter().filter_map(|o| o["comm"].as_str().map(str::to_string)).collect();
    assert!(comms.iter().any(|c| c == "\\u{1b}[2J\\u{1b}[H\\nx\\u{7}y"), "{comms:?}");
    let cgroups: Vec<String> = json_lines(&jsonl.stdout).iter().filter_map(|o| o["cgroup"].as_str().map(str::to_string)).collect();
    let escaped = format!("/fragtrace-e2e-hostile-\\u{{1b}}[2J\\u{{7}}-{}", std::process::id());
    assert!(cgroups.contains(&escaped), "the cgroup path is shown escaped: {cgroups:?}");
}

/// Under a storm far beyond what a 4 KiB ring drains, `top --json` keeps producing its
/// document every interval and `record` still stops promptly on SIGINT with its file closed.
/// The bounds are liveness checks (generous multiples of the interval), not performance
/// figures: those are in BENCHMARKS.md ("Event storms").
#[test]
fn top_and_record_stay_responsive_in_a_storm() {
    let _serial = require_root();
    let failing = FailingCgroup::new("responsive");
    let cgroup = &failing.cgroup;
    let file = TempPath::new("responsive.ftr");
    let (mut recorder, rec_stderr, mut rec_seen) = start_recorder(&file, &["--ring-buffer-kib", "4"]);
    let (mut top, docs, _) =
        spawn_until(fragtrace().args(["top", "--json", "--interval", "1s", "--alloc-probe", "always", "--ring-buffer-kib", "4"]), Says::Stdout, "\"kind\":\"top\"");

    let leaf = cgroup.leaf.clone();
    let storm = std::thread::spawn(move || Command::new(built_binary("alloc-trigger")).arg("storm").arg(&leaf).args(["5", "4"]).output());
    let started = std::time::Instant::now();
    let mut arrivals = Vec::new();
    while started.elapsed() < Duration::from_secs(4) {
        if let Ok(line) = docs.recv_timeout(Duration::from_millis(100))
            && line.contains("\"kind\":\"top\"")
        {
            arrivals.push(started.elapsed());
        }
    }
    // Still storming: stop the recorder and time it.
    let asked = std::time::Instant::now();
    signal(&recorder, libc::SIGINT);
    let status = recorder.wait().expect("exit");
    let took = asked.elapsed();
    let out = storm.join().expect("storm thread").expect("storm");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    signal(&top, libc::SIGTERM);
    assert!(top.wait().expect("top exit").success());

    assert!(arrivals.len() >= 3, "a document per 1-s interval during a 4-s storm, got them at {arrivals:?}");
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g < Duration::from_secs(3)), "no interval stalls: {gaps:?}");
    assert!(status.success() && took < Duration::from_secs(5), "record stopped in {took:?} mid-storm: {status}");
    wait_for(&rec_stderr, "recorded", &mut rec_seen);
    let report = fragtrace().args(["report", "--json"]).arg(&file).output().expect("report");
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    assert_eq!(doc["source"]["clean_end"], true, "the file was closed properly");
    assert!(doc["counters"]["dropped"].as_u64().expect("dropped") > 0, "the storm did overflow the ring");
}
