//! `cargo xtask bench`: benchmarks whose figures go into BENCHMARKS.md.
//!
//! `reader`: `fragtrace report` over a generated recording of ≥ 10 million events
//! (`gen-recording`, a realistic incident mix), uncompressed and zstd-compressed: events per
//! second on one core (the report is single-threaded; pinned with taskset when available)
//! and bytes per event on disk. The fastest of three runs is kept: the file is in the page
//! cache after the first, so the figure is the reader's CPU cost, not the disk's.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, bail};

use crate::{setup, shell};

const START: &str = "<!-- reader-bench:start -->";
const END: &str = "<!-- reader-bench:end -->";

struct Result {
    label: &'static str,
    events: u64,
    bytes: u64,
    best_s: f64,
}

fn generate(path: &Path, events: u64, compress: bool) -> anyhow::Result<()> {
    let mut cmd = Command::new("target/release/gen-recording");
    cmd.arg("-o").arg(path).args(["--events", &events.to_string()]);
    if compress {
        cmd.arg("--compress");
    }
    let status = cmd.status().context("running gen-recording")?;
    if !status.success() {
        bail!("gen-recording failed: {status}");
    }
    Ok(())
}

/// Wall time of `fragtrace report FILE > /dev/null`, best of `runs`.
fn time_report(path: &Path, runs: usize) -> anyhow::Result<f64> {
    let pin = shell::succeeds("taskset", &["--version"]);
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let mut cmd = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "0", "target/release/fragtrace"]);
            c
        } else {
            Command::new("target/release/fragtrace")
        };
        cmd.arg("report").arg(path).stdout(Stdio::null()).stderr(Stdio::piped());
        let started = Instant::now();
        let out = cmd.output().context("running fragtrace report")?;
        let elapsed = started.elapsed().as_secs_f64();
        if !out.status.success() || !out.stderr.is_empty() {
            bail!("fragtrace report {} failed or warned: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        }
        best = best.min(elapsed);
    }
    Ok(best)
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())))
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = shell::output("uname", &["-r"]).unwrap_or_default();
    format!("{cpu}, {} CPUs, kernel {}", std::thread::available_parallelism().map_or(0, |n| n.get()), kernel.trim())
}

fn render(results: &[Result]) -> String {
    let mut s = format!(
        "{START}\nReader (`fragtrace report`, text summary, one core), {} — measured {}:\n\n\
         | file | events | bytes/event | report time | events/s |\n|---|---:|---:|---:|---:|\n",
        machine(),
        shell::output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_default().trim()
    );
    for r in results {
        s.push_str(&format!(
            "| {} | {} | {:.1} | {:.2} s | {:.1} M |\n",
            r.label,
            r.events,
            r.bytes as f64 / r.events as f64,
            r.best_s,
            r.events as f64 / r.best_s / 1e6
        ));
    }
    s.push_str(&format!("\nReproduce: `cargo xtask bench reader --events {}`\n{END}", results[0].events));
    s
}

/// Replaces the section between `start` and `end` in BENCHMARKS.md, or appends it under
/// `heading`.
pub fn update_section(start: &str, end: &str, heading: &str, section: &str) -> anyhow::Result<()> {
    update_section_in(Path::new("BENCHMARKS.md"), start, end, heading, section)
}

/// Like [`update_section`], in any Markdown file.
pub fn update_section_in(path: &Path, start: &str, end: &str, heading: &str, section: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# fragtrace\n".into());
    let new = match (old.find(start), old.find(end)) {
        (Some(a), Some(b)) if a < b => format!("{}{}{}", &old[..a], section, &old[b + end.len()..]),
        _ => format!("{}\n\n{heading}\n\n{section}\n", old.trim_end()),
    };
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))
}

/// Release build of fragtrace and the helper binaries (workloads, generators).
pub fn build_release() -> anyhow::Result<()> {
    let toolchain = setup::ensure()?;
    shell::cargo(&toolchain, &["build", "--release", "--package", "fragtrace", "--package", "fragtrace-tests", "--bins"])
}

pub fn reader(events: u64, update: bool) -> anyhow::Result<()> {
    build_release()?;
    let dir = PathBuf::from("target/bench");
    std::fs::create_dir_all(&dir).context("creating target/bench")?;
    let mut results = Vec::new();
    for (label, compress) in [("uncompressed", false), ("zstd (--compress)", true)] {
        let path = dir.join(if compress { "reader-zstd.ftr" } else { "reader-plain.ftr" });
        eprintln!("bench: generating {events} events → {}", path.display());
        generate(&path, events, compress)?;
        let bytes = std::fs::metadata(&path).context("bench file")?.len();
        eprintln!("bench: timing fragtrace report {} (best of 3)", path.display());
        let best_s = time_report(&path, 3)?;
        results.push(Result { label, events, bytes, best_s });
        std::fs::remove_file(&path).ok();
    }
    let section = render(&results);
    println!("{section}");
    if update {
        update_section(START, END, "## Reader", &section)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}
