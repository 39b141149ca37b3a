//! `cargo xtask soak --duration 1h`: a long failure storm under `record`, `top --json` and
//! `serve` at once, sampling each one's resident memory and CPU over time. The goal is flat
//! lines: a tracer that grows during a long incident eventually becomes the incident.
//!
//! The storm is the benchmark's (`alloc-trigger storm`: failing `GFP_KERNEL_ACCOUNT` pipe
//! resizes in a memory cgroup without headroom). `record` rotates compressed parts with
//! `--max-size/--keep`, so the disk stays bounded too; `top` runs with a 16 KiB ring buffer,
//! far below what the storm needs, so it drops all along and its drop accounting is checked
//! against the kernel's counter at the end. The table goes into docs/reliability.md.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

use crate::bench_storm::{metric, scrape};
use crate::proc::{Ready, Restore, TightMemcg, Tracer, catch_interrupts, cpu_seconds, interrupted, peak_rss_mib, sleep_until, status_mib, today};

const START: &str = "<!-- soak:start -->";
const END: &str = "<!-- soak:end -->";

/// Resident memory of `pid` now, MiB.
fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    status_mib(pid, "VmRSS")
}

/// One fragtrace process under observation.
struct Watched {
    name: &'static str,
    tracer: Tracer,
    last_cpu: f64,
}

impl Watched {
    fn start(name: &'static str, command: Command, ready: Ready) -> anyhow::Result<Self> {
        let tracer = Tracer::start(command, ready, Duration::from_secs(30)).with_context(|| format!("starting {name}"))?;
        let last_cpu = cpu_seconds(tracer.pid())?;
        Ok(Self { name, tracer, last_cpu })
    }

    /// (RSS MiB, CPU % since the previous sample).
    fn sample(&mut self, seconds: f64) -> anyhow::Result<(f64, f64)> {
        let pid = self.tracer.pid();
        let cpu = cpu_seconds(pid).with_context(|| format!("{} (pid {pid}) is gone", self.name))?;
        let pct = (cpu - self.last_cpu) / seconds * 100.0;
        self.last_cpu = cpu;
        Ok((rss_mib(pid)?, pct))
    }
}

struct Sample {
    at_s: f64,
    /// (RSS MiB, CPU %) per watched process, in start order.
    procs: Vec<(f64, f64)>,
    events_per_s: f64,
    disk_mib: f64,
}

fn dir_mib(dir: &Path) -> f64 {
    let entries = std::fs::read_dir(dir).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
    entries.iter().filter_map(|e| e.metadata().ok()).map(|m| m.len() as f64).sum::<f64>() / (1024.0 * 1024.0)
}

/// Delivered + dropped records seen by `serve` so far: the storm's rate, as fragtrace saw it.
fn serve_total(addr: &str) -> anyhow::Result<f64> {
    let m = scrape(addr)?;
    Ok(metric(&m, "fragtrace_events_total").context("fragtrace_events_total")?
        + metric(&m, "fragtrace_ringbuf_dropped_events_total").context("fragtrace_ringbuf_dropped_events_total")?)
}

fn storm_workers(memcg: &TightMemcg, workers: usize, seconds: f64) -> anyhow::Result<Vec<Tracer>> {
    (0..workers)
        .map(|_| {
            let mut c = Command::new("target/release/alloc-trigger");
            c.arg("storm").arg(&memcg.dir).args([format!("{seconds}"), "4".into()]);
            Tracer::start(c, Ready::After(Duration::from_millis(200)), Duration::from_secs(5))
        })
        .collect()
}

pub fn soak(duration: Duration, samples: usize, workers: usize, update: bool) -> anyhow::Result<()> {
    if duration < Duration::from_secs(10) {
        bail!("--duration must be at least 10s (a soak samples memory over time)");
    }
    crate::bench::build_release()?;
    catch_interrupts();
    let scratch = Scratch(std::path::PathBuf::from(format!("target/soak-{}", std::process::id())));
    let dir = &scratch.0;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let _pipe_max = Restore::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string())?;
    let memcg = TightMemcg::create("fragtrace-soak", 128 * 1024)?;
    let file = dir.join("soak.ftr");
    let addr = format!("127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port());
    let fragtrace = || Command::new("target/release/fragtrace");

    let mut record = fragtrace();
    record.args(["record", "--force", "--alloc-probe", "always", "--compress", "--max-size", "64M", "--keep", "2", "-o"]);
    record.arg(&file);
    let mut top = fragtrace();
    top.args(["top", "--json", "--interval", "5s", "--alloc-probe", "always", "--ring-buffer-kib", "16"]);
    let mut serve = fragtrace();
    serve.args(["serve", "--alloc-probe", "always", "--listen", &addr]);
    let mut watched = vec![
        Watched::start("record", record, Ready::Stderr("recording to"))?,
        Watched::start("top --json (16 KiB ring)", top, Ready::Stdout("\"kind\":\"top\""))?,
        Watched::start("serve", serve, Ready::Stderr("serving metrics on"))?,
    ];

    let seconds = duration.as_secs_f64();
    eprintln!("soak: {workers} storm worker(s) for {seconds:.0} s; record, top --json and serve attached");
    let storm = storm_workers(&memcg, workers, seconds)?;
    let started = Instant::now();
    let step = seconds / samples as f64;
    let mut rows = Vec::new();
    let (mut last_total, mut last_at) = (serve_total(&addr)?, 0.0);
    let mut last_top = String::new();
    for i in 1..=samples {
        if sleep_until(started + Duration::from_secs_f64(step * i as f64)) {
            eprintln!("soak: interrupted; stopping everything and printing what was sampled");
            break;
        }
        let at_s = started.elapsed().as_secs_f64();
        let procs = watched.iter_mut().map(|w| w.sample(at_s - last_at)).collect::<anyhow::Result<Vec<_>>>()?;
        let total = serve_total(&addr)?;
        // Keep only the newest top document; the rest are drained so nothing piles up here.
        if let Some(line) = watched[1].tracer.lines.try_iter().filter(|l| l.contains("\"kind\":\"top\"")).last() {
            last_top = line;
        }
        let row = Sample { at_s, procs, events_per_s: (total - last_total) / (at_s - last_at), disk_mib: dir_mib(dir) };
        eprintln!(
            "soak: {:>6.0} s  {}  {:.0} records/s  disk {:.1} MiB",
            row.at_s,
            row.procs.iter().zip(&watched).map(|((r, c), w)| format!("{} {r:.1} MiB {c:.1} %", w.name)).collect::<Vec<_>>().join(" | "),
            row.events_per_s,
            row.disk_mib
        );
        (last_total, last_at) = (total, at_s);
        rows.push(row);
    }
    let peaks = watched.iter().map(|w| peak_rss_mib(w.tracer.pid())).collect::<anyhow::Result<Vec<_>>>()?;
    let mut failed_calls = 0u64;
    for worker in storm {
        // The workers stop by themselves at the duration; their last line is the summary.
        let deadline = Instant::now() + Duration::from_secs(if interrupted() { 0 } else { 30 });
        let mut failed = None;
        while failed.is_none() && Instant::now() < deadline {
            if let Ok(line) = worker.lines.recv_timeout(Duration::from_millis(200)) {
                failed = serde_json::from_str::<serde_json::Value>(&line).ok().and_then(|v| v["failed"].as_u64());
            }
        }
        worker.wait_exit(Duration::from_secs(1))?;
        failed_calls += failed.unwrap_or(0);
    }
    if !interrupted() {
        // The next top document then holds every drop of the storm.
        std::thread::sleep(Duration::from_millis(6000));
    }
    if let Some(line) = watched[1].tracer.lines.try_iter().filter(|l| l.contains("\"kind\":\"top\"")).last() {
        last_top = line;
    }
    let metrics = scrape(&addr)?;
    let mut names = Vec::new();
    for w in watched {
        names.push(w.name);
        if !w.tracer.stop(Duration::from_secs(30))? {
            bail!("{} did not stop on SIGINT", names.last().unwrap_or(&""));
        }
    }
    drop(memcg);
    // Every record the probes produced (the kernel's own per-kind counters) must be either
    // delivered to top's aggregator or counted as dropped: nothing vanishes unaccounted.
    let top = serde_json::from_str::<serde_json::Value>(&last_top).ok().map(|doc| {
        let c = &doc["counters"];
        let produced = ["failures", "extfrag", "stalls", "ooms"].iter().map(|k| c[*k].as_u64().unwrap_or(0)).sum();
        let stalls: u64 = doc["stalls"].as_array().map_or(0, |v| v.iter().filter_map(|s| s["count"].as_u64()).sum());
        let delivered = doc["failures"]["total"].as_u64().unwrap_or(0)
            + doc["extfrag"]["total"].as_u64().unwrap_or(0)
            + stalls
            + doc["oom_kills"]["total"].as_u64().unwrap_or(0);
        TopAccount { produced, delivered, dropped: c["dropped"].as_u64().unwrap_or(0) }
    });
    let serve_delivered = metric(&metrics, "fragtrace_events_total").unwrap_or(0.0);
    let serve_dropped = metric(&metrics, "fragtrace_ringbuf_dropped_events_total").unwrap_or(0.0);
    // `--keep 2` has deleted the first parts by now (soak.ftr itself included): read what is left.
    let mut parts: Vec<std::path::PathBuf> = std::fs::read_dir(dir)?.flatten().map(|e| e.path()).collect();
    parts.sort();
    let report = Command::new("target/release/fragtrace").args(["report", "--json"]).args(&parts).output().context("fragtrace report")?;
    let read_back = serde_json::from_slice::<serde_json::Value>(&report.stdout).ok().and_then(|d| d["failures"]["total"].as_u64());
    let record_ok = report.status.success() && read_back.is_some_and(|n| n > 0);

    let section = render(&Rendered {
        duration_s: seconds,
        workers,
        names: &names,
        rows: &rows,
        peaks: &peaks,
        failed_calls,
        top,
        serve_delivered,
        serve_dropped,
        record_ok,
    });
    println!("{section}");
    if !record_ok {
        bail!("fragtrace report could not read the soak's recording ({parts:?}): {}", String::from_utf8_lossy(&report.stderr));
    }
    if let Some(t) = top
        && t.produced != t.delivered + t.dropped
    {
        bail!("top: the probes produced {} records, but {} were delivered and {} dropped", t.produced, t.delivered, t.dropped);
    }
    if interrupted() {
        bail!("interrupted after {} of {} samples: docs/reliability.md left as it was", rows.len(), samples);
    }
    if update {
        crate::bench::update_section_in(Path::new("docs/reliability.md"), START, END, "## Soak", &section)?;
        eprintln!("soak: docs/reliability.md updated");
    }
    Ok(())
}

/// The soak's scratch directory (the rotating recording), removed however the run ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Clone, Copy)]
struct TopAccount {
    produced: u64,
    delivered: u64,
    dropped: u64,
}

struct Rendered<'a> {
    duration_s: f64,
    workers: usize,
    names: &'a [&'static str],
    rows: &'a [Sample],
    peaks: &'a [f64],
    failed_calls: u64,
    top: Option<TopAccount>,
    serve_delivered: f64,
    serve_dropped: f64,
    record_ok: bool,
}

/// "+0.4 MiB": growth of each process's RSS from the first sample (after warm-up) to the last.
fn growth(rows: &[Sample], proc: usize) -> f64 {
    match (rows.first(), rows.last()) {
        (Some(a), Some(b)) => b.procs[proc].0 - a.procs[proc].0,
        _ => 0.0,
    }
}

fn render(r: &Rendered<'_>) -> String {
    let mut s = format!(
        "{START}\n`cargo xtask soak --duration {}` — {} — {}:\n\n\
         {} `alloc-trigger storm` worker(s) failing `GFP_KERNEL_ACCOUNT` pipe resizes in a memory cgroup without \
         headroom for the whole run ({} failed calls), traced at once by `record --alloc-probe always --compress \
         --max-size 64M --keep 2`, `top --json --ring-buffer-kib 16` (too small on purpose: it drops all along) and \
         `serve`. RSS is VmRSS at the sample; CPU is the share of one core since the previous sample.\n\n| time |",
        human(r.duration_s),
        crate::bench::machine(),
        today(),
        r.workers,
        r.failed_calls
    );
    for n in r.names {
        s.push_str(&format!(" {n} RSS | {n} CPU |"));
    }
    s.push_str(" records/s | recording on disk |\n|---:|");
    s.push_str(&"---:|".repeat(r.names.len() * 2 + 2));
    s.push('\n');
    for row in r.rows {
        s.push_str(&format!("| {} |", human(row.at_s)));
        for (rss, cpu) in &row.procs {
            s.push_str(&format!(" {rss:.1} MiB | {cpu:.1} % |"));
        }
        s.push_str(&format!(" {:.0} | {:.1} MiB |\n", row.events_per_s, row.disk_mib));
    }
    s.push_str("\nRSS from the first sample to the last, and peak (VmHWM):\n\n");
    for (i, n) in r.names.iter().enumerate() {
        s.push_str(&format!("- {n}: {:+.1} MiB, peak {:.1} MiB\n", growth(r.rows, i), r.peaks[i]));
    }
    s.push_str(&format!(
        "\nDrops: `top` (16 KiB ring) — {}; `serve` (1 MiB ring) delivered \
         {:.0} records and dropped {:.0}. The parts the rotation kept {} by `fragtrace report`.\n\n\
         Reproduce: `sudo cargo xtask soak --duration {}`\n{END}",
        match r.top {
            Some(t) => format!(
                "the kernel's per-kind counters say the probes produced {} records; {} reached top's aggregator and the \
                 kernel's drop counter says {} were dropped: {}",
                t.produced,
                t.delivered,
                t.dropped,
                if t.produced == t.delivered + t.dropped { "every record accounted for" } else { "MISMATCH" }
            ),
            None => "no document from top (interrupted early)".to_string(),
        },
        r.serve_delivered,
        r.serve_dropped,
        if r.record_ok { "were read back" } else { "could NOT be read back" },
        human(r.duration_s)
    ));
    s
}

fn human(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// `1h`, `30m`, `90s`, or plain seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = number.parse().with_context(|| format!("duration {text:?}: expected e.g. 1h, 30m, 90s"))?;
    let unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => bail!("duration {text:?}: unit must be s, m or h"),
    };
    Ok(Duration::from_secs(n.checked_mul(unit).with_context(|| format!("duration {text:?} is too long"))?))
}
