//! `cargo xtask bench overhead`: what tracing `kmem:mm_page_alloc` costs the workload, for
//! fragtrace and for the tools an SRE would otherwise run, side by side in one run.
//!
//! The workload (`pagefault-bench`, pinned to CPU 1) maps anonymous memory, touches one byte
//! per 4 KiB page (one order-0 allocation each) and unmaps, for a fixed time, and reports
//! pages/s. Configurations run alternately (A B C … A B C …) for several rounds; each
//! traced run is divided by the untraced run of the same round, because absolute numbers on
//! a shared VM drift. Every tracer is started and confirmed live before the workload starts,
//! and stopped with SIGINT after it.

use std::{
    path::Path,
    process::Command,
    time::Duration,
};

use anyhow::{Context, bail};

use crate::proc::{Ready, Tracer, median, today};

const START: &str = "<!-- overhead-bench:start -->";
const END: &str = "<!-- overhead-bench:end -->";

/// The bpftrace program a user would write: failures by comm and order, plus extfrag.
pub const BPFTRACE_PROGRAM: &str = "tracepoint:kmem:mm_page_alloc /args->pfn == 0xffffffffffffffff/ { @[comm, args->order] = count(); } \
     tracepoint:kmem:mm_page_alloc_extfrag { @extfrag = count(); } BEGIN { printf(\"ready\\n\"); }";

struct Config {
    label: &'static str,
    /// `None`: untraced.
    command: Option<fn() -> (Command, Ready)>,
    /// What a missing peer needs.
    needs: Option<&'static str>,
}

fn fragtrace(args: &[&str]) -> Command {
    let mut c = Command::new("target/release/fragtrace");
    c.args(args);
    c
}

fn configs() -> Vec<Config> {
    vec![
        Config { label: "no tracing (baseline)", command: None, needs: None },
        Config {
            label: "fragtrace record (default: --alloc-probe on-pressure, idle machine)",
            command: Some(|| (fragtrace(&["record", "--force", "-o", "target/bench/overhead.ftr"]), Ready::Stderr("recording to"))),
            needs: None,
        },
        Config {
            label: "fragtrace record --alloc-probe always (tp_btf)",
            command: Some(|| {
                (fragtrace(&["record", "--force", "--alloc-probe", "always", "-o", "target/bench/overhead.ftr"]), Ready::Stderr("recording to"))
            }),
            needs: None,
        },
        Config {
            label: "fragtrace record --alloc-probe always --probe-mode classic",
            command: Some(|| {
                (
                    fragtrace(&["record", "--force", "--alloc-probe", "always", "--probe-mode", "classic", "-o", "target/bench/overhead.ftr"]),
                    Ready::Stderr("recording to"),
                )
            }),
            needs: None,
        },
        Config {
            label: "fragtrace top --batch (default)",
            command: Some(|| (fragtrace(&["top", "--batch", "--interval", "1s"]), Ready::After(Duration::from_millis(1200)))),
            needs: None,
        },
        Config {
            label: "fragtrace top --batch --alloc-probe always",
            command: Some(|| {
                (fragtrace(&["top", "--batch", "--interval", "1s", "--alloc-probe", "always"]), Ready::After(Duration::from_millis(1200)))
            }),
            needs: None,
        },
        Config {
            label: "bpftrace one-liner (failures by comm/order + extfrag count)",
            command: Some(|| {
                let mut c = Command::new("bpftrace");
                c.args(["-e", BPFTRACE_PROGRAM]);
                (c, Ready::Stdout("ready"))
            }),
            needs: Some("bpftrace"),
        },
        Config {
            label: "perf record -e kmem:mm_page_alloc --filter 'pfn == 0xffffffffffffffff' -a",
            command: Some(|| {
                let mut c = Command::new("perf");
                c.args(["record", "-q", "-o", "target/bench/perf.data", "-e", "kmem:mm_page_alloc", "--filter", "pfn == 0xffffffffffffffff", "-a"]);
                (c, Ready::After(Duration::from_millis(1500)))
            }),
            needs: Some("perf"),
        },
        Config {
            label: "perf kmem --page record -a (reference: every allocation)",
            command: Some(|| {
                let mut c = Command::new("perf");
                c.args(["kmem", "--page", "record", "-a", "-o", "target/bench/perf-kmem.data"]);
                (c, Ready::After(Duration::from_millis(1500)))
            }),
            needs: Some("perf"),
        },
        Config {
            // -d: this kernel has no function tracer, and without -d trace-cmd gives up when it
            // cannot switch it on ("Can't enable ftrace").
            label: "trace-cmd record -d -e kmem:mm_page_alloc -f 'pfn == 0xffffffffffffffff'",
            command: Some(|| {
                let mut c = Command::new("trace-cmd");
                c.args(["record", "-d", "-q", "-o", "target/bench/trace.dat", "-e", "kmem:mm_page_alloc", "-f", "pfn == 0xffffffffffffffff"]);
                (c, Ready::After(Duration::from_millis(1500)))
            }),
            needs: Some("trace-cmd"),
        },
    ]
}

fn has(program: &str) -> bool {
    crate::shell::succeeds("sh", &["-c", &format!("command -v {program}")])
}

/// One workload run: pages/s.
fn workload(seconds: f64) -> anyhow::Result<f64> {
    let pin = has("taskset");
    let mut c = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "1", "target/release/pagefault-bench"]);
        c
    } else {
        Command::new("target/release/pagefault-bench")
    };
    let out = c.arg(format!("{seconds}")).output().context("running pagefault-bench")?;
    if !out.status.success() {
        bail!("pagefault-bench failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("pages_per_sec="))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("pagefault-bench said {text:?}"))
}

struct Row {
    label: &'static str,
    pages_per_s: Vec<f64>,
    ratios: Vec<f64>,
    skipped: Option<String>,
}

pub fn overhead(rounds: usize, seconds: f64, update: bool) -> anyhow::Result<()> {
    crate::bench::build_release()?;
    crate::setup::ensure_peers();
    std::fs::create_dir_all("target/bench").context("creating target/bench")?;
    let configs = configs();
    let mut rows: Vec<Row> = configs
        .iter()
        .map(|c| Row {
            label: c.label,
            pages_per_s: Vec::new(),
            ratios: Vec::new(),
            skipped: c.needs.filter(|p| !has(p)).map(|p| format!("{p} not installed")),
        })
        .collect();
    for round in 1..=rounds {
        let mut baseline = None;
        for (i, config) in configs.iter().enumerate() {
            if rows[i].skipped.is_some() {
                continue;
            }
            eprintln!("bench overhead: round {round}/{rounds}: {}", config.label);
            let tracer = match config.command {
                None => None,
                Some(make) => {
                    let (command, ready) = make();
                    match Tracer::start(command, ready, Duration::from_secs(30)) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            eprintln!("bench overhead: {}: {e:#}", config.label);
                            let first: String = e.to_string().chars().take(120).collect();
                            rows[i].skipped = Some(format!("failed to start: {}", first.replace('|', "/")));
                            continue;
                        }
                    }
                }
            };
            let pages = workload(seconds)?;
            if let Some(t) = tracer {
                t.stop(Duration::from_secs(20))?;
            }
            if config.command.is_none() {
                baseline = Some(pages);
            }
            rows[i].pages_per_s.push(pages);
            if let Some(b) = baseline {
                rows[i].ratios.push(pages / b);
            }
        }
    }
    for f in ["overhead.ftr", "perf.data", "perf-kmem.data", "trace.dat"] {
        std::fs::remove_file(Path::new("target/bench").join(f)).ok();
    }
    let section = render(&mut rows, rounds, seconds);
    println!("{section}");
    if update {
        crate::bench::update_section(START, END, "## Overhead on the page-fault path", &section)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}

fn render(rows: &mut [Row], rounds: usize, seconds: f64) -> String {
    let mut s = format!(
        "{START}\nPage-fault workload (`pagefault-bench`: 64 MiB mapped, one byte touched per 4 KiB page, unmapped; \
         pinned to CPU 1), {rounds} alternating rounds of {seconds} s per configuration, {} — {}:\n\n\
         | configuration | median pages/s | median ratio to baseline | mean ratio |\n|---|---:|---:|---:|\n",
        crate::bench::machine(),
        today(),
    );
    for r in rows.iter_mut() {
        if let Some(why) = &r.skipped {
            s.push_str(&format!("| {} | — | not measured: {why} | |\n", r.label));
            continue;
        }
        let mean = r.ratios.iter().sum::<f64>() / r.ratios.len().max(1) as f64;
        s.push_str(&format!(
            "| {} | {:.0} | {:.3} | {:.3} |\n",
            r.label,
            median(&mut r.pages_per_s),
            median(&mut r.ratios),
            mean
        ));
    }
    s.push_str(&format!("\nReproduce: `cargo xtask bench overhead --rounds {rounds} --seconds {seconds}`\n{END}"));
    s
}
