//! `cargo xtask bench storm`: a real event storm from the kernel. Two `alloc-trigger storm`
//! processes resize pipes in a tight loop inside a memory cgroup with no headroom: every call
//! is a failed `GFP_KERNEL_ACCOUNT` allocation preceded by a round of memcg reclaim, so the
//! probes emit failures and memcg-reclaim stalls as fast as the kernel can fail. fragtrace
//! records with `--alloc-probe always` and ring buffers of several sizes; the kernel's own
//! counters are compared with what reached the file, so drops are counted exactly.
//!
//! The userspace half alone (decode → filter → aggregate on one core, no kernel) is measured
//! by `pipeline-bench`, because no kernel path here fails a million times a second.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

use crate::proc::{Ready, Restore, TightMemcg, Tracer, cpu_seconds, peak_rss_mib, today};

const START: &str = "<!-- storm-bench:start -->";
const END: &str = "<!-- storm-bench:end -->";

struct StormRow {
    what: String,
    ring_kib: u32,
    kernel_events: u64,
    delivered: u64,
    dropped: u64,
    lost_reported: u64,
    seconds: f64,
    cpu_pct: f64,
    rss_mib: f64,
}

fn json(bytes: &[u8]) -> anyhow::Result<serde_json::Value> {
    serde_json::from_slice(bytes).context("parsing fragtrace JSON")
}

/// Runs the storm for `seconds` with two trigger processes; returns the failed calls.
fn run_storm(memcg: &TightMemcg, seconds: f64) -> anyhow::Result<u64> {
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new("target/release/alloc-trigger")
                .arg("storm")
                .arg(&memcg.dir)
                .args([format!("{seconds}"), "4".into()])
                .output()
        })
        .map(|c| std::thread::spawn(move || c))
        .collect();
    let mut failed = 0;
    for child in children {
        let out = child.join().map_err(|_| anyhow::anyhow!("storm thread panicked"))?.context("alloc-trigger storm")?;
        if !out.status.success() {
            bail!("alloc-trigger storm failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        failed += json(&out.stdout)?["failed"].as_u64().unwrap_or(0);
    }
    Ok(failed)
}

fn record_row(memcg: &TightMemcg, ring_kib: u32, seconds: f64) -> anyhow::Result<StormRow> {
    let file = "target/bench/storm.ftr";
    let mut c = Command::new("target/release/fragtrace");
    c.args(["record", "--force", "--alloc-probe", "always", "--ring-buffer-kib", &ring_kib.to_string(), "-o", file]);
    let tracer = Tracer::start(c, Ready::Stderr("recording to"), Duration::from_secs(30))?;
    let pid = tracer.pid();
    let (cpu0, t0) = (cpu_seconds(pid)?, Instant::now());
    run_storm(memcg, seconds)?;
    let (cpu1, wall) = (cpu_seconds(pid)?, t0.elapsed().as_secs_f64());
    let rss_mib = peak_rss_mib(pid)?;
    if !tracer.stop(Duration::from_secs(30))? {
        bail!("fragtrace record did not stop on SIGINT");
    }
    let out = Command::new("target/release/fragtrace").args(["report", "--jsonl", file]).output().context("fragtrace report")?;
    if !out.status.success() {
        bail!("fragtrace report: {}", String::from_utf8_lossy(&out.stderr));
    }
    let (mut delivered, mut lost_reported, mut summary) = (0u64, 0u64, None);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).context("report line")?;
        match v["kind"].as_str() {
            Some("lost") => lost_reported += v["count"].as_u64().unwrap_or(0),
            Some("summary") => summary = Some(v),
            _ => delivered += 1,
        }
    }
    let summary = summary.context("no summary line")?;
    // Kernel-side totals of every record kind the probes emit in this storm.
    let dropped = summary["dropped"].as_u64().unwrap_or(0);
    let recorded = Command::new("target/release/fragtrace").args(["report", "--json", file]).output().context("report --json")?;
    let doc = json(&recorded.stdout)?;
    let c = &doc["counters"];
    let kernel_events = ["failures", "extfrag", "stalls", "ooms"].iter().map(|k| c[*k].as_u64().unwrap_or(0)).sum();
    std::fs::remove_file(file).ok();
    Ok(StormRow {
        what: "record".into(),
        ring_kib,
        kernel_events,
        delivered,
        dropped,
        lost_reported,
        seconds: wall,
        cpu_pct: (cpu1 - cpu0) / wall * 100.0,
        rss_mib,
    })
}

fn top_row(memcg: &TightMemcg, seconds: f64) -> anyhow::Result<StormRow> {
    let mut c = Command::new("target/release/fragtrace");
    c.args(["top", "--json", "--interval", "1s", "--alloc-probe", "always"]);
    let tracer = Tracer::start(c, Ready::Stdout("\"kind\":\"top\""), Duration::from_secs(30))?;
    let pid = tracer.pid();
    let (cpu0, t0) = (cpu_seconds(pid)?, Instant::now());
    run_storm(memcg, seconds)?;
    let (cpu1, wall) = (cpu_seconds(pid)?, t0.elapsed().as_secs_f64());
    let rss_mib = peak_rss_mib(pid)?;
    // The next interval's document has the counters after the storm.
    std::thread::sleep(Duration::from_millis(1500));
    let last = tracer.lines.try_iter().filter(|l| l.contains("\"kind\":\"top\"")).last().context("no top --json output")?;
    tracer.stop(Duration::from_secs(10))?;
    let doc: serde_json::Value = serde_json::from_str(&last).context("top --json")?;
    let c = &doc["counters"];
    let kernel_events = ["failures", "extfrag", "stalls", "ooms"].iter().map(|k| c[*k].as_u64().unwrap_or(0)).sum();
    let dropped = c["dropped"].as_u64().unwrap_or(0);
    Ok(StormRow {
        what: "top --json".into(),
        ring_kib: 1024,
        kernel_events,
        delivered: kernel_events.saturating_sub(dropped),
        dropped,
        lost_reported: doc["dropped"].as_u64().unwrap_or(0),
        seconds: wall,
        cpu_pct: (cpu1 - cpu0) / wall * 100.0,
        rss_mib,
    })
}

/// The value of an unlabelled sample in a Prometheus text exposition.
pub fn metric(exposition: &str, name: &str) -> Option<f64> {
    exposition.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// GET /metrics from a `fragtrace serve` on `addr` (10 s at most).
pub fn scrape(addr: &str) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

fn serve_row(memcg: &TightMemcg, seconds: f64) -> anyhow::Result<StormRow> {
    let addr = format!("127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port());
    let mut c = Command::new("target/release/fragtrace");
    c.args(["serve", "--alloc-probe", "always", "--listen", &addr]);
    let tracer = Tracer::start(c, Ready::Stderr("serving metrics on"), Duration::from_secs(30))?;
    let pid = tracer.pid();
    let (cpu0, t0) = (cpu_seconds(pid)?, Instant::now());
    run_storm(memcg, seconds)?;
    let (cpu1, wall) = (cpu_seconds(pid)?, t0.elapsed().as_secs_f64());
    // Scraped after the storm's last events have been drained.
    std::thread::sleep(Duration::from_millis(1500));
    let metrics = scrape(&addr)?;
    let rss_mib = peak_rss_mib(pid)?;
    tracer.stop(Duration::from_secs(10))?;
    let delivered = metric(&metrics, "fragtrace_events_total").context("fragtrace_events_total")? as u64;
    let dropped = metric(&metrics, "fragtrace_ringbuf_dropped_events_total").context("dropped")? as u64;
    Ok(StormRow {
        what: "serve".into(),
        ring_kib: 1024,
        kernel_events: delivered + dropped,
        delivered,
        dropped,
        lost_reported: dropped,
        seconds: wall,
        cpu_pct: (cpu1 - cpu0) / wall * 100.0,
        rss_mib,
    })
}

/// `pipeline-bench`: decode → filter → aggregate throughput on one core.
fn pipeline(events: u64) -> anyhow::Result<f64> {
    let out = Command::new("taskset")
        .args(["-c", "0", "target/release/pipeline-bench", &events.to_string()])
        .output()
        .context("running pipeline-bench")?;
    if !out.status.success() {
        bail!("pipeline-bench: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("events_per_sec="))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("pipeline-bench said {text:?}"))
}

pub fn storm(seconds: f64, pipeline_events: u64, update: bool) -> anyhow::Result<()> {
    crate::bench::build_release()?;
    std::fs::create_dir_all("target/bench").context("creating target/bench")?;
    let per_core = pipeline(pipeline_events)?;
    eprintln!("bench storm: pipeline {per_core:.0} events/s on one core");
    let _pipe_max = Restore::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string())?;
    let memcg = TightMemcg::create("fragtrace-bench-storm", 128 * 1024)?;
    let mut rows = Vec::new();
    for ring_kib in [1024, 64, 16, 4] {
        eprintln!("bench storm: record, ring buffer {ring_kib} KiB, {seconds} s");
        rows.push(record_row(&memcg, ring_kib, seconds)?);
    }
    eprintln!("bench storm: top --json, {seconds} s");
    rows.push(top_row(&memcg, seconds)?);
    eprintln!("bench storm: serve, {seconds} s");
    rows.push(serve_row(&memcg, seconds)?);
    drop(memcg);
    let mut s = format!(
        "{START}\nDecode → filter → aggregate of ring-buffer records (60 % failures with attribution, 40 % extfrag), \
         one core, no kernel (`pipeline-bench`): **{:.2} M events/s** (target ≥ 1 M/s).\n\n\
         Kernel storm: two `alloc-trigger storm` processes failing `GFP_KERNEL_ACCOUNT` pipe resizes in a memory cgroup \
         without headroom (each failure follows a round of memcg reclaim: failure and stall records), {seconds} s per row, \
         `--alloc-probe always`, {} — {}:\n\n\
         | tool | ring buffer | kernel records/s | delivered | dropped (kernel counter) | drops reported to user | fragtrace CPU | peak RSS |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
        per_core / 1e6,
        crate::bench::machine(),
        today()
    );
    for r in &rows {
        s.push_str(&format!(
            "| {} | {} KiB | {:.0} | {} | {} | {} | {:.1} % | {:.1} MiB |\n",
            r.what,
            r.ring_kib,
            r.kernel_events as f64 / r.seconds,
            r.delivered,
            r.dropped,
            r.lost_reported,
            r.cpu_pct,
            r.rss_mib
        ));
    }
    s.push_str(&format!(
        "\n\"delivered\" + \"dropped\" = every record the probes produced; \"drops reported\" is the sum of the `lost` \
         records in the file, which must equal the kernel counter.\n\n\
         Reproduce: `cargo xtask bench storm --seconds {seconds}`\n{END}"
    ));
    println!("{s}");
    if update {
        crate::bench::update_section(START, END, "## Event storms", &s)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}
