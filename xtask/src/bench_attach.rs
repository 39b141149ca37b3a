//! `cargo xtask bench attach`: how long from starting `fragtrace capture` until its probes are
//! live ("armed" on stderr), measured from outside (spawn to the line), over many runs.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, bail};

use crate::{setup, shell};

const START: &str = "<!-- attach-bench:start -->";
const END: &str = "<!-- attach-bench:end -->";

pub fn attach(runs: usize, update: bool) -> anyhow::Result<()> {
    let toolchain = setup::ensure()?;
    shell::cargo(&toolchain, &["build", "--release", "--package", "fragtrace"])?;
    let dir = std::path::Path::new("target/bench/attach-bundles");
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = Command::new("target/release/fragtrace")
            .args(["capture", "--timeout", "300ms", "--comm", "no-such-task", "-o"])
            .arg(dir)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .context("starting fragtrace capture")?;
        let stderr = child.stderr.take().context("stderr")?;
        let mut armed = None;
        for line in BufReader::new(stderr).lines() {
            let line = line?;
            if line.contains("armed") && armed.is_none() {
                armed = Some(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let status = child.wait()?;
        if status.code() != Some(2) {
            bail!("fragtrace capture exited with {status} (expected 2: nothing captured)");
        }
        samples.push(armed.context("fragtrace capture never said it was armed")?);
    }
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let p90 = samples[(samples.len() * 9 / 10).min(samples.len() - 1)];
    let section = format!(
        "{START}\nFrom spawning `fragtrace capture` until it prints \"armed\" (probes loaded and attached, ring buffer \
         open), {runs} runs, release build — {}:\n\n\
         | median | p90 | min | max | target |\n|---:|---:|---:|---:|---:|\n\
         | {median:.0} ms | {p90:.0} ms | {:.0} ms | {:.0} ms | ≤ 150 ms median |\n\n\
         Reproduce: `cargo xtask bench attach --runs {runs}`\n{END}",
        shell::output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_default().trim(),
        samples[0],
        samples[samples.len() - 1],
    );
    println!("{section}");
    if update {
        crate::bench::update_section(START, END, "## Attach latency", &section)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}
