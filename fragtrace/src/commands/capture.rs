//! `fragtrace capture`: attach, wait for a matching failure, write an incident bundle, exit.

use std::{path::PathBuf, sync::Arc, time::{Duration, Instant}};

use anyhow::Context;
use clap::Args;
use fragtrace::{
    capture::{CaptureOptions, CaptureSink},
    session::RunOptions,
};
use tokio::sync::Notify;

use super::{Exit, FilterArgs, ProbeArgs, live, parse_duration};

#[derive(Debug, Args)]
#[command(after_help = "Waits for an allocation failure that matches the filters, then writes a bundle \
directory: trace.ftr (the --before window before it and the --after window after it), \
failures.jsonl, snapshots/ (buddyinfo, pagetypeinfo, zoneinfo, meminfo, vmstat, sysctls at that \
moment), memcg.json (the failing memory cgroup's and its ancestors' limit, usage and failure \
counters when the failure arrived) and SUMMARY.md. Exit status: 0 when something was captured, 2 when --timeout passed \
without a match, 1 on errors.\n\n\
Examples:\n  \
  sudo fragtrace capture --comm 'runc*' --min-order 4 -o /var/tmp/incidents\n  \
  sudo fragtrace capture --timeout 1h --count 3 --before 60s")]
pub struct CaptureArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Which failures trigger a capture (--min-order included).
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Directory for the bundles (one subdirectory per incident).
    #[arg(long, short = 'o', value_name = "DIR", default_value = "fragtrace-incidents")]
    pub output: PathBuf,
    /// Seconds of events kept from before the failure.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub before: Duration,
    /// How long to keep recording after the failure.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub after: Duration,
    /// Incidents to capture before exiting.
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// Give up (exit status 2) when nothing matched for this long.
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// How often zone state is sampled into the flight recorder.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub zones_interval: Duration,
    /// Also send each bundle as one OTLP log record (SUMMARY.md as its body) when done.
    #[command(flatten)]
    pub otlp: super::otlp::OtlpArgs,
}

pub async fn run(args: CaptureArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if args.count == 0 {
        anyhow::bail!("--count must be at least 1");
    }
    let filter = args.filter.to_filter()?;
    let otlp_to = args.otlp.destination()?;
    let mut session = live::start_session(&args.probe).await?;
    live::harden(true);
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let header = live::recording_header(&session, &filter, format!("capture-{}-{secs}", std::process::id()));
    let options = CaptureOptions {
        dir: args.output.clone(),
        before: args.before,
        after: args.after,
        count: args.count,
        min_order: filter.min_order.unwrap_or(0),
        filter: filter.clone(),
        header,
        max_items: 500_000,
    };
    let mut sink = CaptureSink::new(options);
    // Handlers first: a SIGTERM right after the readiness line must stop cleanly too.
    let stop = live::stop_signal(args.timeout, Arc::new(Notify::new()))?;
    eprintln!(
        "fragtrace: armed after {} ms: waiting for {}an allocation failure{}; bundles go to {} (failures watched by {})",
        started.elapsed().as_millis(),
        if args.count > 1 { format!("{} × ", args.count) } else { String::new() },
        if filter.is_empty() { String::new() } else { format!(" matching {}", filter.describe()) },
        args.output.display(),
        session.probes().hooks.describe(),
    );
    // The whole session is unfiltered: the flight recorder keeps the context around the
    // failure; the filters only decide what triggers a capture.
    let run = RunOptions { tick: Duration::from_millis(250), zones_every: Some(args.zones_interval), filter: Default::default() };
    let exporter = super::otlp::start_for_bundles(otlp_to, &args.otlp)?;
    match &exporter {
        Some(e) => {
            let mut bundles = fragtrace::otlp::bundles::BundleSink::new(&mut sink, e.offer().clone(), session.probes().kernel.gfp.clone());
            session.run(&mut [&mut bundles], &run, stop).await.context("capturing")?;
        }
        None => {
            session.run(&mut [&mut sink], &run, stop).await.context("capturing")?;
        }
    }
    // Records still queued are sent before exiting, whether or not anything was captured.
    let otlp_result = match exporter {
        Some(e) => super::otlp::finish_bundles(e, &args.otlp, sink.captured.len()).await,
        None => Ok(()),
    };
    if sink.captured.is_empty() {
        let why = match args.timeout {
            Some(t) if started.elapsed() >= t => format!("no matching failure within {}s (--timeout)", t.as_secs_f64()),
            _ => "stopped before any matching failure".to_string(),
        };
        return Err(Exit { code: 2, message: format!("nothing captured: {why}") }.into());
    }
    for dir in &sink.captured {
        println!("{}", dir.display());
    }
    otlp_result
}
