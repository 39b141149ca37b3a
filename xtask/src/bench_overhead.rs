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

type Make = Box<dyn Fn() -> (Command, Ready)>;

struct Config {
    label: &'static str,
    /// `None`: untraced.
    command: Option<Make>,
    /// What a missing peer needs.
    needs: Option<&'static str>,
    /// The tracer runs a command that ends after the workload (trace-cmd: it crashes when
    /// interrupted without one on this machine), instead of being stopped with SIGINT.
    ends_by_itself: bool,
}

fn fragtrace(args: &[&str]) -> Command {
    let mut c = Command::new("target/release/fragtrace");
    c.args(args);
    c
}

fn config(label: &'static str, needs: Option<&'static str>, make: impl Fn() -> (Command, Ready) + 'static) -> Config {
    Config { label, command: Some(Box::new(make)), needs, ends_by_itself: false }
}

fn configs(seconds: f64) -> Vec<Config> {
    let record = |extra: &'static [&'static str]| {
        move || {
            let mut c = fragtrace(&["record", "--force", "-o", "target/bench/overhead.ftr"]);
            c.args(extra);
            (c, Ready::Stderr("recording to"))
        }
    };
    let top = |extra: &'static [&'static str]| {
        move || {
            let mut c = fragtrace(&["top", "--batch", "--interval", "1s"]);
            c.args(extra);
            (c, Ready::After(Duration::from_millis(1200)))
        }
    };
    let ready_after = Ready::After(Duration::from_millis(1500));
    vec![
        Config { label: "no tracing (baseline)", command: None, needs: None, ends_by_itself: false },
        config("fragtrace record (default: --alloc-probe auto; here tp_btf mm_page_alloc on every allocation, no trampolines)", None, record(&[])),
        config("fragtrace record --alloc-probe always --probe-mode classic", None, record(&["--alloc-probe", "always", "--probe-mode", "classic"])),
        config("fragtrace record --alloc-probe on-pressure (opt-in, can miss; idle machine)", None, record(&["--alloc-probe", "on-pressure"])),
        config("fragtrace top --batch (default)", None, top(&[])),
        config("fragtrace serve (default)", None, || (fragtrace(&["serve", "--listen", "127.0.0.1:0"]), Ready::Stderr("serving metrics"))),
        config("bpftrace one-liner (failures by comm/order + extfrag count)", Some("bpftrace"), || {
            let mut c = Command::new("bpftrace");
            c.args(["-e", BPFTRACE_PROGRAM]);
            (c, Ready::Stdout("ready"))
        }),
        config("perf record -e kmem:mm_page_alloc --filter 'pfn == 0xffffffffffffffff' -a", Some("perf"), move || {
            let mut c = Command::new("perf");
            c.args(["record", "-q", "-o", "target/bench/perf.data", "-e", "kmem:mm_page_alloc", "--filter", "pfn == 0xffffffffffffffff", "-a"]);
            (c, ready_after)
        }),
        config("perf kmem --page record -a (reference: every allocation)", Some("perf"), move || {
            let mut c = Command::new("perf");
            c.args(["kmem", "--page", "record", "-a", "-o", "target/bench/perf-kmem.data"]);
            (c, ready_after)
        }),
        // -d: this kernel has no function tracer, and without -d trace-cmd gives up when it
        // cannot switch it on ("Can't enable ftrace"). It records while `sleep` runs: stopped
        // with SIGINT instead, trace-cmd 3.1 crashes here and leaves the event enabled.
        Config {
            ends_by_itself: true,
            ..config("trace-cmd record -d -e kmem:mm_page_alloc -f 'pfn == 0xffffffffffffffff'", Some("trace-cmd"), move || {
                let mut c = Command::new("trace-cmd");
                c.args(["record", "-d", "-q", "-o", "target/bench/trace.dat", "-e", "kmem:mm_page_alloc", "-f", "pfn == 0xffffffffffffffff"]);
                c.args(["sleep", &format!("{}", seconds + 2.0)]);
                (c, ready_after)
            })
        },
    ]
}

/// A peer that dies badly can leave `kmem:mm_page_alloc` enabled in tracefs, which would
/// slow every later run: switch it off and clear its filter after each configuration.
fn restore_tracefs_event() {
    let dir = Path::new("/sys/kernel/tracing/events/kmem/mm_page_alloc");
    if std::fs::read_to_string(dir.join("enable")).is_ok_and(|v| v.trim() != "0") {
        eprintln!("bench overhead: a tracer left kmem:mm_page_alloc enabled; switching it off");
        let _ = std::fs::write(dir.join("enable"), "0");
    }
    let _ = std::fs::write(dir.join("filter"), "0");
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
    let configs = configs(seconds);
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
            let tracer = match &config.command {
                None => None,
                Some(make) => {
                    let (command, ready) = make();
                    match Tracer::start(command, ready, Duration::from_secs(30)) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            eprintln!("bench overhead: {}: {e:#}", config.label);
                            let text = e.to_string();
                            rows[i].skipped = Some(if text.contains("set_ftrace_filter") {
                                // trace-cmd 3.1 treats EPERM on the function-tracer files as fatal.
                                "cannot record on this kernel: function tracing is disabled (EPERM opening \
                                 set_ftrace_filter), which trace-cmd treats as fatal"
                                    .to_string()
                            } else {
                                let first: String = text.chars().take(120).collect();
                                format!("failed to start: {}", first.replace('|', "/"))
                            });
                            continue;
                        }
                    }
                }
            };
            let pages = workload(seconds)?;
            if let Some(t) = tracer {
                if config.ends_by_itself {
                    t.wait_exit(Duration::from_secs(30))?;
                } else {
                    t.stop(Duration::from_secs(20))?;
                }
            }
            restore_tracefs_event();
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
