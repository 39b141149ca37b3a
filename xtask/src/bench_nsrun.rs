//! `cargo xtask bench ns-per-run`: the kernel's own accounting of each eBPF program's cost
//! (`kernel.bpf_stats_enabled`: run count and total run time per program, from `bpftool prog
//! show --json`), for fragtrace's programs and the bpftrace one-liner, while the page-fault
//! workload runs, a failure storm passes through the failure path and pipes full of
//! unmovable pages make the allocator steal movable pageblocks (the extfrag program). Enabling the stats
//! adds two clock reads per run, so absolute figures are a little higher than without.

use std::{process::Command, time::Duration};

use anyhow::{Context, bail};

use crate::proc::{Ready, Restore, TightMemcg, Tracer, today};

const START: &str = "<!-- nsrun-bench:start -->";
const END: &str = "<!-- nsrun-bench:end -->";

struct ProgStat {
    tool: &'static str,
    name: String,
    runs: u64,
    ns: u64,
}

/// Programs whose descriptors `pid` holds (from /proc/PID/fdinfo: `prog_id`, `run_cnt`,
/// `run_time_ns`), named by `bpftool prog show` (this bpftool cannot list owners itself).
fn programs_of(pid: u32, tool: &'static str) -> anyhow::Result<Vec<ProgStat>> {
    let out = Command::new("bpftool").args(["prog", "show", "--json"]).output().context("running bpftool")?;
    if !out.status.success() {
        bail!("bpftool prog show: {}", String::from_utf8_lossy(&out.stderr));
    }
    let progs: serde_json::Value = serde_json::from_slice(&out.stdout).context("bpftool JSON")?;
    let name_of = |id: u64| {
        progs.as_array().and_then(|ps| ps.iter().find(|p| p["id"].as_u64() == Some(id))).and_then(|p| p["name"].as_str()).unwrap_or("?").to_string()
    };
    let field = |info: &str, key: &str| info.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().parse::<u64>().ok());
    let mut stats = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fdinfo")).context("fdinfo")?.flatten() {
        let Ok(info) = std::fs::read_to_string(entry.path()) else { continue };
        // Program descriptors carry run statistics; links carry a prog_id but none.
        let (Some(id), Some(runs), Some(ns)) = (field(&info, "prog_id:"), field(&info, "run_cnt:"), field(&info, "run_time_ns:")) else { continue };
        if seen.insert(id) {
            stats.push(ProgStat { tool, name: name_of(id), runs, ns });
        }
    }
    stats.sort_by_key(|s| std::cmp::Reverse(s.runs));
    Ok(stats)
}

fn exercise(memcg: &TightMemcg, seconds: f64, pid: u32) -> anyhow::Result<()> {
    let workload = Command::new("taskset")
        .args(["-c", "1", "target/release/pagefault-bench", &format!("{seconds}")])
        .output()
        .context("pagefault-bench")?;
    if !workload.status.success() {
        bail!("pagefault-bench failed");
    }
    let storm = Command::new("target/release/alloc-trigger")
        .arg("storm")
        .arg(&memcg.dir)
        .args(["1", "4"])
        .output()
        .context("alloc-trigger storm")?;
    if !storm.status.success() {
        bail!("alloc-trigger storm failed: {}", String::from_utf8_lossy(&storm.stderr));
    }
    // How far the free unmovable pool can be beyond reach of /proc/pagetypeinfo (per-CPU
    // lists, blocks freed back mid-fill) depends on what ran before: grow the fill until the
    // tracer's extfrag program has run.
    for extra_mib in [384, 1024, 2048] {
        if !extfrag_fallbacks(extra_mib)? || extfrag_runs(pid)? > 0 {
            break;
        }
    }
    Ok(())
}

/// Runs of the extfrag program (names are cut to 15 characters: `mm_page_alloc_e…`) that `pid` holds.
fn extfrag_runs(pid: u32) -> anyhow::Result<u64> {
    Ok(programs_of(pid, "")?.iter().filter(|p| p.name.starts_with("mm_page_alloc_e")).map(|p| p.runs).sum())
}

/// Pipes filled with unmovable pages beyond the free unmovable pool: extfrag fallbacks, so
/// the extfrag program (and its sampled stacks) is measured too. Skipped, with a word, when
/// it would take MemAvailable below 8 GiB (then `false`).
fn extfrag_fallbacks(extra_mib: u64) -> anyhow::Result<bool> {
    // Beyond the free unmovable pool (which earlier fills leave behind: the blocks they
    // stole are free and unmovable again), or the fill is served without any fallback.
    let fill_mib = free_unmovable_mib() + extra_mib;
    let available_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find_map(|l| l.strip_prefix("MemAvailable:")?.trim().trim_end_matches("kB").trim().parse::<u64>().ok()))
        .unwrap_or(0);
    if available_kib < (8 << 20) + ((fill_mib + 512) << 10) {
        eprintln!("bench ns-per-run: MemAvailable {} MiB is too low to fill {fill_mib} MiB of pipes safely; extfrag not exercised further", available_kib >> 10);
        return Ok(false);
    }
    let fill = Command::new("target/release/alloc-trigger").args(["fill-pipes", &fill_mib.to_string()]).output().context("alloc-trigger fill-pipes")?;
    if !fill.status.success() {
        bail!("alloc-trigger fill-pipes failed: {}", String::from_utf8_lossy(&fill.stderr));
    }
    Ok(true)
}

/// Free unmovable memory, MiB (/proc/pagetypeinfo: free blocks per order and migratetype).
fn free_unmovable_mib() -> u64 {
    let text = std::fs::read_to_string("/proc/pagetypeinfo").unwrap_or_default();
    let pages: u64 = text
        .lines()
        .filter(|l| l.starts_with("Node") && l.contains("type    Unmovable"))
        .flat_map(|l| l.split_whitespace().skip(6).enumerate().filter_map(|(order, n)| Some(n.parse::<u64>().ok()? << order)).collect::<Vec<_>>())
        .sum();
    pages * 4 / 1024
}

pub fn ns_per_run(seconds: f64, update: bool) -> anyhow::Result<()> {
    crate::bench::build_release()?;
    crate::setup::ensure_peers();
    std::fs::create_dir_all("target/bench").context("creating target/bench")?;
    let _stats = Restore::set("/proc/sys/kernel/bpf_stats_enabled", "1")?;
    let _pipe_max = Restore::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string())?;
    let memcg = TightMemcg::create("fragtrace-bench-nsrun", 128 * 1024)?;
    let mut rows = Vec::new();
    let tools: [(&'static str, Command, Ready); 3] = [
        ("fragtrace (default: auto, here tp_btf)", {
            let mut c = Command::new("target/release/fragtrace");
            c.args(["record", "--force", "-o", "target/bench/nsrun.ftr"]);
            c
        }, Ready::Stderr("recording to")),
        ("fragtrace (classic)", {
            let mut c = Command::new("target/release/fragtrace");
            c.args(["record", "--force", "--alloc-probe", "always", "--probe-mode", "classic", "-o", "target/bench/nsrun.ftr"]);
            c
        }, Ready::Stderr("recording to")),
        ("bpftrace one-liner", {
            let mut c = Command::new("bpftrace");
            c.args(["-e", crate::bench_overhead::BPFTRACE_PROGRAM]);
            c
        }, Ready::Stdout("ready")),
    ];
    for (tool, command, ready) in tools {
        eprintln!("bench ns-per-run: {tool}");
        let tracer = match Tracer::start(command, ready, Duration::from_secs(30)) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("bench ns-per-run: {tool} not measured: {e:#}");
                continue;
            }
        };
        exercise(&memcg, seconds, tracer.pid())?;
        rows.extend(programs_of(tracer.pid(), tool)?);
        tracer.stop(Duration::from_secs(20))?;
    }
    drop(memcg);
    std::fs::remove_file("target/bench/nsrun.ftr").ok();
    let mut s = format!(
        "{START}\nIn-kernel cost per program run (`kernel.bpf_stats_enabled=1`, from `bpftool prog show`), while \
         `pagefault-bench` ran {seconds} s, then a 1-s failure storm, then `alloc-trigger fill-pipes` beyond the free unmovable pool (extfrag fallbacks), {} — {}:\n\n\
         | tool | program | runs | ns/run |\n|---|---|---:|---:|\n",
        crate::bench::machine(),
        today()
    );
    for r in &rows {
        let per = if r.runs > 0 { format!("{:.0}", r.ns as f64 / r.runs as f64) } else { "— (not run)".into() };
        s.push_str(&format!("| {} | `{}` | {} | {} |\n", r.tool, r.name, r.runs, per));
    }
    s.push_str(&format!(
        "\nProgram names are cut to 15 characters by the kernel. `mm_page_alloc_b…`/`mm_page_alloc_c…` run on every \
         page allocation (almost all successes: one load and one compare); the others run only on the \
         slow path. `mm_page_alloc_extfrag` runs per extfrag fallback and takes the kernel stack of a \
         sample of fallbacks (`fragtrace::event::EXTFRAG_STACK_EVERY`, per CPU; `bpf_get_stackid`, into a map of its own): its ns/run \
         averages sampled and unsampled runs.\n\nReproduce: `cargo xtask bench ns-per-run --seconds {seconds}`\n{END}"
    ));
    println!("{s}");
    if update {
        crate::bench::update_section(START, END, "## In-kernel cost per program run", &s)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}
