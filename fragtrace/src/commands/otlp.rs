//! The `--otlp-*` options of `serve` and `capture`, and their wiring to `fragtrace::otlp`.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use fragtrace::otlp::{Destination, ExportOptions, config};

use super::parse_duration;

/// OTLP export (docs/otlp.md). Off unless an endpoint is given here or in the environment.
#[derive(Debug, Args, Clone)]
pub struct OtlpArgs {
    /// Also push OTLP/HTTP (protobuf) to this base URL, e.g. http://otel-collector:4318:
    /// failures as log records to URL/v1/logs, the /metrics registry to URL/v1/metrics.
    /// Default: $OTEL_EXPORTER_OTLP_ENDPOINT; $OTEL_EXPORTER_OTLP_LOGS_ENDPOINT and
    /// _METRICS_ENDPOINT override per signal; $OTEL_EXPORTER_OTLP_HEADERS adds headers
    /// (k=v,k2=v2, percent-encoded values). http:// only; TLS is the Collector's job.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// How often metrics are pushed.
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "DURATION")]
    pub otlp_interval: Duration,
    /// Log records waiting to be sent, at most; beyond it new records are dropped (and
    /// counted: fragtrace_otlp_records_total{outcome="dropped_queue_full"}).
    #[arg(long, default_value_t = 4096, value_name = "N")]
    pub otlp_queue: usize,
    /// Failure records a second on average (bursts of five seconds' worth pass); the rest is
    /// shed, counted, and announced in a record of its own every 10 s. 0: no limit.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub otlp_max_logs_per_sec: u32,
    /// Log records per request, at most.
    #[arg(long, default_value_t = 512, value_name = "N")]
    pub otlp_batch_size: usize,
    /// How long a record waits for others to fill its request.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub otlp_batch_delay: Duration,
    /// On exit, how long queued records may still take to be sent.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub otlp_flush_timeout: Duration,
}

impl OtlpArgs {
    /// Where to send, if anywhere.
    pub fn destination(&self) -> anyhow::Result<Option<Destination>> {
        config::resolve(self.otlp_endpoint.as_deref(), |name| std::env::var(name).ok()).context("OTLP export")
    }

    pub fn options(&self) -> anyhow::Result<ExportOptions> {
        if self.otlp_queue == 0 || self.otlp_batch_size == 0 {
            anyhow::bail!("--otlp-queue and --otlp-batch-size must be at least 1");
        }
        if self.otlp_interval.is_zero() {
            anyhow::bail!("--otlp-interval must be longer than 0");
        }
        Ok(ExportOptions {
            queue: self.otlp_queue,
            batch_size: self.otlp_batch_size,
            batch_delay: self.otlp_batch_delay,
            metrics_interval: self.otlp_interval,
            max_logs_per_sec: self.otlp_max_logs_per_sec,
            ..ExportOptions::default()
        })
    }
}

/// `capture --otlp-endpoint`: the exporter the bundles' records go to as they are written
/// (never shed: a capture writes a handful of bundles at most).
pub fn start_for_bundles(to: Option<Destination>, args: &OtlpArgs) -> anyhow::Result<Option<fragtrace::otlp::Exporter>> {
    let Some(to) = to else { return Ok(None) };
    let options = ExportOptions { max_logs_per_sec: 0, ..args.options()? };
    Ok(Some(fragtrace::otlp::Exporter::start(to, options, fragtrace::otlp::Accounting::default(), None)))
}

/// Sends what is still queued; a bundle record not delivered is an error (the bundles are on
/// disk either way).
pub async fn finish_bundles(exporter: fragtrace::otlp::Exporter, args: &OtlpArgs, bundles: usize) -> anyhow::Result<()> {
    use fragtrace::otlp::{Outcome, Signal};
    let accounting = exporter.accounting().clone();
    exporter.shutdown(args.otlp_flush_timeout).await;
    let sent = accounting.get(Signal::Logs, Outcome::Sent);
    if sent < bundles as u64 {
        anyhow::bail!(
            "OTLP: {} of {bundles} bundle record(s) not delivered to {} (the bundles are on disk)",
            bundles as u64 - sent,
            args.otlp_endpoint.as_deref().unwrap_or("$OTEL_EXPORTER_OTLP_ENDPOINT")
        );
    }
    if bundles > 0 {
        eprintln!("fragtrace: sent {sent} bundle record(s) over OTLP");
    }
    Ok(())
}
