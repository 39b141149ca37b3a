//! `cargo xtask bench dmesg`: `fragtrace dmesg` over a 100 MB kernel log (the fixture corpus
//! repeated among ordinary kernel noise), wall time and MB/s.

use std::{io::Write, path::Path, process::{Command, Stdio}, time::Instant};

use anyhow::{Context, bail};

use crate::{setup, shell};

const START: &str = "<!-- dmesg-bench:start -->";
const END: &str = "<!-- dmesg-bench:end -->";

fn generate(path: &Path, target_bytes: u64) -> anyhow::Result<u64> {
    let mut corpus = String::new();
    let dir = Path::new("fragtrace/testdata/kernel-logs");
    let mut names: Vec<_> = std::fs::read_dir(dir).context("fixtures")?.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "log")).collect();
    names.sort();
    for name in names {
        corpus.push_str(&std::fs::read_to_string(&name)?);
        corpus.push('\n');
    }
    let noise: String = (0..200)
        .map(|i| format!("[{i:>5}.{:06}] e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx\n", i * 7))
        .collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut written = 0u64;
    while written < target_bytes {
        out.write_all(noise.as_bytes())?;
        out.write_all(corpus.as_bytes())?;
        written += (noise.len() + corpus.len()) as u64;
    }
    out.flush()?;
    Ok(written)
}

pub fn dmesg(mb: u64, update: bool) -> anyhow::Result<()> {
    let toolchain = setup::ensure()?;
    shell::cargo(&toolchain, &["build", "--release", "--package", "fragtrace"])?;
    std::fs::create_dir_all("target/bench")?;
    let path = Path::new("target/bench/dmesg-100mb.log");
    let bytes = generate(path, mb << 20)?;
    let mut best = f64::INFINITY;
    let mut reports = 0usize;
    for _ in 0..3 {
        let started = Instant::now();
        let out = Command::new("target/release/fragtrace").args(["dmesg", "--jsonl"]).arg(path).stderr(Stdio::piped()).output().context("running fragtrace dmesg")?;
        best = best.min(started.elapsed().as_secs_f64());
        if !out.status.success() {
            bail!("fragtrace dmesg failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        reports = out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count().saturating_sub(1);
    }
    std::fs::remove_file(path).ok();
    let mbs = bytes as f64 / (1 << 20) as f64 / best;
    let section = format!(
        "{START}\n`fragtrace dmesg --jsonl` over a {} MB log (the kernel-log fixture corpus repeated among link-up noise lines), \
         best of 3, release build — {}:\n\n| log | reports | time | throughput |\n|---:|---:|---:|---:|\n| {} MB | {reports} | {best:.2} s | {mbs:.0} MB/s |\n\n\
         Reproduce: `cargo xtask bench dmesg --mb {mb}`\n{END}",
        bytes >> 20,
        shell::output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_default().trim(),
        bytes >> 20,
    );
    println!("{section}");
    if update {
        crate::bench::update_section(START, END, "## Kernel-log parsing", &section)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}
