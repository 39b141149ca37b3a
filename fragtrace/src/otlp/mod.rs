//! OTLP export (`serve --otlp-endpoint`, `capture --otlp-endpoint`): failures as log records,
//! capture bundles as log records, and the `/metrics` registry as OTLP metrics, pushed over
//! OTLP/HTTP with protobuf bodies to a Collector (deploy/otel/). What arrives where, every
//! attribute and the loss accounting: docs/otlp.md.
//!
//! Messages are the maintained `opentelemetry-proto` crate's prost types; the SDK's batch
//! processors are not used because the delivery policy here is specific (a bounded queue the
//! probe path only ever `try_send`s into, storm shedding with the shed count exported, loss
//! counters on `/metrics`) and all of it fits in [`delivery`] and [`exporter`].

pub mod bundles;
pub mod config;
pub mod delivery;
pub mod exporter;
pub mod metrics;
pub mod records;
pub mod sink;
pub mod transport;

use std::{path::Path, sync::Arc, time::Duration};

use opentelemetry_proto::tonic::logs::v1::LogRecord;
use thiserror::Error;
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
    time::Instant,
};

pub use config::{Destination, Signal};
pub use delivery::{Accounting, Outcome};
pub use exporter::ExportOptions;
pub use sink::{Offer, OtlpLogSink};

use crate::gfp::GfpTable;

#[derive(Debug, Error)]
pub enum OtlpError {
    #[error("{0}")]
    Config(String),
}

/// The running export tasks. Dropping it without [`Exporter::shutdown`] aborts nothing: the
/// tasks end when the runtime does.
pub struct Exporter {
    offer: Offer,
    deadline: watch::Sender<Option<Instant>>,
    last_push: watch::Sender<bool>,
    logs: JoinHandle<()>,
    metrics: Option<JoinHandle<()>>,
    options: ExportOptions,
    destination: Destination,
}

impl Exporter {
    /// Starts the log task (and the metrics task when `metrics` is given) on the current
    /// tokio runtime. `accounting` is the one registered on `/metrics`.
    pub fn start(destination: Destination, options: ExportOptions, accounting: Accounting, metrics: Option<Arc<crate::metrics::Metrics>>) -> Self {
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let (deadline, deadline_rx) = watch::channel(None);
        let (last_push, last_push_rx) = watch::channel(false);
        let resource = records::resource(|name| std::env::var(name).ok());
        let shared = exporter::Shared { transport: transport::Transport::new(destination.clone()), accounting: accounting.clone(), resource, options: options.clone(), deadline: deadline_rx };
        let logs = tokio::spawn(exporter::export_logs(shared.clone(), rx));
        let metrics = metrics.map(|m| tokio::spawn(exporter::export_metrics(shared, m, last_push_rx)));
        Self { offer: Offer { tx, accounting }, deadline, last_push, logs, metrics, options, destination }
    }

    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// A sink for the session's failures.
    pub fn log_sink(&self, gfp: GfpTable, pageblock_order: u32) -> OtlpLogSink {
        OtlpLogSink::new(self.offer.clone(), gfp, pageblock_order, self.options.max_logs_per_sec)
    }

    pub fn offer(&self) -> &Offer {
        &self.offer
    }

    /// The loss counters this exporter counts into.
    pub fn accounting(&self) -> &Accounting {
        &self.offer.accounting
    }

    /// Sends what is queued (the sinks must be dropped by now), for at most `flush_for`,
    /// then a last metrics push. What could not be sent by then is counted as failed.
    pub async fn shutdown(self, flush_for: Duration) {
        let Self { offer, deadline, last_push, logs, metrics, .. } = self;
        let until = Instant::now() + flush_for;
        let _ = deadline.send(Some(until));
        drop(offer);
        let grace = Duration::from_secs(1);
        if tokio::time::timeout_at(until + grace, logs).await.is_err() {
            log::warn!("OTLP: the log export did not finish within {} s", flush_for.as_secs_f64());
        }
        let _ = last_push.send(true);
        if let Some(metrics) = metrics
            && tokio::time::timeout(flush_for.min(REQUEST_GRACE) + grace, metrics).await.is_err()
        {
            log::warn!("OTLP: the last metrics push did not finish in time");
        }
    }
}

/// The last metrics push at shutdown gets this long at most.
const REQUEST_GRACE: Duration = Duration::from_secs(5);

/// The record of one capture bundle: its SUMMARY.md, and the attributes of the failure that
/// triggered it (the first line of its failures.jsonl).
pub fn capture_record(bundle: &Path, gfp: &GfpTable) -> std::io::Result<LogRecord> {
    let summary = std::fs::read_to_string(bundle.join("SUMMARY.md"))?;
    let failures = std::fs::read_to_string(bundle.join("failures.jsonl")).unwrap_or_default();
    let trigger = failures.lines().find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok().filter(|v| v["kind"] == "failure"));
    Ok(records::capture_record(&summary, &bundle.display().to_string(), trigger.as_ref(), records::wall_now_ns(), gfp))
}
