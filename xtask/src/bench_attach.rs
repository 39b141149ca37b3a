//! `cargo xtask bench attach`: how long from starting a tracer until its probes are live,
//! measured from outside (spawn to the tracer's own "live" line), over many runs:
//! `fragtrace record` ("recording to", printed after the eBPF object is loaded and verified,
//! BTF parsed, programs attached, ring buffer open and the file created), `fragtrace capture`
//! ("armed"), and for comparison bpftrace running the one-liner an SRE would type (its
//! `BEGIN` probe prints after every probe is attached).

use std::{process::Command, time::Duration};

use anyhow::bail;

use crate::proc::{Ready, Tracer, median, today};

const START: &str = "<!-- attach-bench:start -->";
const END: &str = "<!-- attach-bench:end -->";

struct Row {
    label: &'static str,
    target: &'static str,
    samples: Vec<f64>,
}

fn fragtrace(args: &[&str]) -> Command {
    let mut c = Command::new("target/release/fragtrace");
    c.args(args);
    c
}

fn measure(label: &'static str, target: &'static str, runs: usize, make: impl Fn() -> (Command, Ready)) -> anyhow::Result<Option<Row>> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (command, ready) = make();
        let tracer = match Tracer::start(command, ready, Duration::from_secs(30)) {
            Ok(t) => t,
            Err(e) if samples.is_empty() => {
                eprintln!("bench attach: {label} not measured: {e:#}");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        samples.push(tracer.ready_after.as_secs_f64() * 1000.0);
        if !tracer.stop(Duration::from_secs(10))? {
            bail!("{label} did not stop on SIGINT");
        }
    }
    Ok(Some(Row { label, target, samples }))
}

pub fn attach(runs: usize, update: bool) -> anyhow::Result<()> {
    crate::bench::build_release()?;
    crate::setup::ensure_peers();
    std::fs::create_dir_all("target/bench").ok();
    let mut rows = Vec::new();
    rows.extend(measure("`fragtrace record` (default)", "≤ 100 ms", runs, || {
        (fragtrace(&["record", "--force", "-o", "target/bench/attach.ftr"]), Ready::Stderr("recording to"))
    })?);
    rows.extend(measure("`fragtrace record --alloc-probe always`", "≤ 100 ms", runs, || {
        (fragtrace(&["record", "--force", "--alloc-probe", "always", "-o", "target/bench/attach.ftr"]), Ready::Stderr("recording to"))
    })?);
    rows.extend(measure("`fragtrace capture`", "≤ 150 ms", runs, || {
        (fragtrace(&["capture", "--timeout", "60s", "--comm", "no-such-task", "-o", "target/bench/attach-bundles"]), Ready::Stderr("armed"))
    })?);
    rows.extend(measure("bpftrace one-liner (`BEGIN` fires after attach)", "", runs, || {
        let mut c = Command::new("bpftrace");
        c.args(["-e", crate::bench_overhead::BPFTRACE_PROGRAM]);
        (c, Ready::Stdout("ready"))
    })?);
    std::fs::remove_file("target/bench/attach.ftr").ok();
    let mut section = format!(
        "{START}\nFrom spawning the tracer until it says its probes are live, {runs} runs each, release build — {}:\n\n\
         | tracer | median | p90 | min | max | target |\n|---|---:|---:|---:|---:|---:|\n",
        today()
    );
    for r in &mut rows {
        let mut sorted = r.samples.clone();
        sorted.sort_by(f64::total_cmp);
        let p90 = sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)];
        section.push_str(&format!(
            "| {} | {:.0} ms | {p90:.0} ms | {:.0} ms | {:.0} ms | {} |\n",
            r.label,
            median(&mut r.samples),
            sorted[0],
            sorted[sorted.len() - 1],
            r.target
        ));
    }
    section.push_str(&format!("\nReproduce: `cargo xtask bench attach --runs {runs}`\n{END}"));
    println!("{section}");
    if update {
        crate::bench::update_section(START, END, "## Attach latency", &section)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}
