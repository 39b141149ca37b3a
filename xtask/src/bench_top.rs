//! `cargo xtask bench top`: the cost of the full-screen view under an extfrag storm.
//!
//! `fragtrace top` runs on a pseudo-terminal (full screen, as a user runs it) replaying a
//! generated recording of extfrag fallbacks at 50,000 events per recorded second, at
//! recorded speed, so the view decodes and aggregates 50 k events/s while redrawing every
//! second. CPU time comes from /proc/PID/stat (utime + stime) over a measured window after
//! a warm-up, peak RSS from VmHWM. The live path differs only in where events come from (the
//! ring buffer instead of the file), which costs less than reading and decompressing.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use fragtrace_pty::Pty;

use crate::{
    proc::{cpu_seconds, peak_rss_mib},
    setup, shell,
};

const START: &str = "<!-- top-bench:start -->";
const END: &str = "<!-- top-bench:end -->";
const WARMUP: Duration = Duration::from_secs(3);

pub fn top(seconds: u64, update: bool) -> anyhow::Result<()> {
    let toolchain = setup::ensure()?;
    shell::cargo(&toolchain, &["build", "--release", "--package", "fragtrace", "--package", "fragtrace-tests", "--bins"])?;
    std::fs::create_dir_all("target/bench").context("creating target/bench")?;
    let file = Path::new("target/bench/top-extfrag.ftr");
    // 50 k events per recorded second, for the measured window plus warm-up and slack.
    let events = (seconds + 10) * 50_000;
    let status = Command::new("target/release/gen-recording")
        .arg("-o")
        .arg(file)
        .args(["--events", &events.to_string(), "--compress", "--extfrag-only"])
        .status()
        .context("running gen-recording")?;
    if !status.success() {
        bail!("gen-recording failed");
    }
    let (cpu_pct, rss) = measure_top(file, seconds, WARMUP)?;
    std::fs::remove_file(file).ok();
    let section = format!(
        "{START}\n`fragtrace top` full screen (160×48 pty), extfrag storm of 50,000 events/s replayed at recorded speed, \
         measured over {seconds} s after a {}-s warm-up — {}:\n\n\
         | metric | result | target |\n|---|---:|---:|\n\
         | CPU (one core) | {cpu_pct:.2} % | < 2 % |\n| peak RSS | {rss:.1} MiB | < 50 MiB |\n\n\
         Reproduce: `cargo xtask bench top --seconds {seconds}`\n{END}",
        WARMUP.as_secs(),
        shell::output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_default().trim(),
    );
    println!("{section}");
    if update {
        crate::bench::update_section(START, END, "## top under an extfrag storm", &section)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}

/// Runs `fragtrace top --replay file` full screen on a 160×48 pty (its output read as a
/// terminal would) and measures it over `seconds` after `warmup`: CPU in % of one core and
/// peak RSS in MiB. Quits it with `q`; on any failure, dropping the pty kills it.
fn measure_top(file: &Path, seconds: u64, warmup: Duration) -> anyhow::Result<(f64, f64)> {
    let mut command = Command::new("target/release/fragtrace");
    command.arg("top").arg("--replay").arg(file);
    let mut top = Pty::spawn(command, 160, 48).context("starting fragtrace top on a pty")?;
    let pid = top.child.id();
    std::thread::sleep(warmup);
    let (cpu0, t0) = (cpu_seconds(pid)?, Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (cpu1, wall) = (cpu_seconds(pid)?, t0.elapsed().as_secs_f64());
    let rss = peak_rss_mib(pid)?;
    top.type_keys(b"q").context("typing q")?;
    if top.wait_exit(Duration::from_secs(10)).context("waiting for fragtrace top")?.is_none() {
        bail!("fragtrace top did not quit on q");
    }
    Ok(((cpu1 - cpu0) / wall * 100.0, rss))
}
