//! The export tasks, on the session's tokio runtime but never in its way: the session only
//! `try_send`s into a bounded queue ([`super::sink`]); the log task batches (by size and by
//! time) and retries with backoff; the metrics task pushes the registry every interval.
//! Shutdown sets a deadline: what is queued is still sent until then, then counted as failed.

use std::{sync::Arc, time::Duration};

use opentelemetry_proto::tonic::{
    collector::{
        logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse},
        metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse},
    },
    logs::v1::LogRecord,
    metrics::v1::{ResourceMetrics, ScopeMetrics},
    resource::v1::Resource,
};
use prost::Message;
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};

use super::{
    config::Signal,
    delivery::{Accounting, Backoff, Outcome},
    metrics::{Stamp, from_exposition},
    records::{resource_logs, scope, wall_now_ns},
    transport::{Answer, Transport},
};
use crate::metrics::Metrics;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Tuning of the exporter (`serve --otlp-*`).
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Log records the queue holds (`--otlp-queue`).
    pub queue: usize,
    /// Records per request, at most.
    pub batch_size: usize,
    /// How long a record may wait for others to fill its batch.
    pub batch_delay: Duration,
    /// How often metrics are pushed (`--otlp-interval`).
    pub metrics_interval: Duration,
    /// Failure records a second, on average (`--otlp-max-logs-per-sec`; 0: no limit).
    pub max_logs_per_sec: u32,
    /// A batch is retried for this long at most, then counted as failed.
    pub retry_for: Duration,
    pub backoff: Backoff,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            queue: 4096,
            batch_size: 512,
            batch_delay: Duration::from_secs(1),
            metrics_interval: Duration::from_secs(15),
            max_logs_per_sec: 100,
            retry_for: Duration::from_secs(300),
            backoff: Backoff::DEFAULT,
        }
    }
}

/// The shutdown deadline, shared with the tasks (`None` while running).
pub type Deadline = watch::Receiver<Option<Instant>>;

/// State the two tasks share.
#[derive(Clone)]
pub struct Shared {
    pub transport: Transport,
    pub accounting: Accounting,
    pub resource: Resource,
    pub options: ExportOptions,
    pub deadline: Deadline,
}

impl Shared {
    fn closing(&self) -> Option<Instant> {
        *self.deadline.borrow()
    }

    /// Sends `body` until it is taken, refused, or retrying is over (the retry budget, or the
    /// shutdown deadline). Returns the receiver's body on acceptance.
    async fn deliver(&mut self, signal: Signal, body: Vec<u8>, budget: Duration) -> Result<bytes::Bytes, Outcome> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let timeout = match self.closing() {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()).min(REQUEST_TIMEOUT).max(Duration::from_millis(100)),
                None => REQUEST_TIMEOUT,
            };
            let (after, why) = match self.transport.post(signal, body.clone(), timeout).await {
                Answer::Accepted(bytes) => return Ok(bytes),
                Answer::Refused(why) => {
                    log::warn!("OTLP {}: the receiver refused a batch: {why}", signal.label());
                    return Err(Outcome::Rejected);
                }
                Answer::Retry { after, why } => (after, why),
            };
            let wait = self.options.backoff.delay(attempt, after, fastrand::f64());
            let give_up_at = self.closing().unwrap_or(started + budget);
            if Instant::now() + wait > give_up_at {
                log::warn!("OTLP {}: giving up on a batch after {} attempts: {why}", signal.label(), attempt + 1);
                return Err(Outcome::Failed);
            }
            if attempt == 0 {
                log::info!("OTLP {}: {why}; retrying", signal.label());
            }
            attempt += 1;
            // A shutdown cuts the wait short: one more attempt at once, then the deadline rules.
            let mut deadline = self.deadline.clone();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = deadline.wait_for(Option::is_some), if self.closing().is_none() => {}
            }
        }
    }
}

/// Takes up to `batch_size` records: waits for the first, then for at most `batch_delay`
/// for more. `None` when the queue is closed and empty.
async fn next_batch(rx: &mut mpsc::Receiver<LogRecord>, options: &ExportOptions) -> Option<Vec<LogRecord>> {
    let first = rx.recv().await?;
    let mut batch = vec![first];
    let until = Instant::now() + options.batch_delay;
    while batch.len() < options.batch_size {
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Some(record)) => batch.push(record),
            Ok(None) | Err(_) => break,
        }
    }
    Some(batch)
}

/// The log task: until the queue is closed (every sender dropped) and drained.
pub async fn export_logs(mut shared: Shared, mut rx: mpsc::Receiver<LogRecord>) {
    while let Some(batch) = next_batch(&mut rx, &shared.options).await {
        shared.accounting.set_queue_depth(rx.len());
        let n = batch.len() as u64;
        if shared.closing().is_some_and(|d| Instant::now() >= d) {
            shared.accounting.count(Signal::Logs, Outcome::Failed, n);
            continue;
        }
        let request = ExportLogsServiceRequest { resource_logs: vec![resource_logs(&shared.resource, batch)] };
        let budget = shared.options.retry_for;
        match shared.deliver(Signal::Logs, request.encode_to_vec(), budget).await {
            Ok(body) => {
                let rejected = ExportLogsServiceResponse::decode(body).ok().and_then(|r| r.partial_success).map_or(0, |p| p.rejected_log_records.max(0) as u64).min(n);
                shared.accounting.count(Signal::Logs, Outcome::Rejected, rejected);
                shared.accounting.count(Signal::Logs, Outcome::Sent, n - rejected);
            }
            Err(outcome) => shared.accounting.count(Signal::Logs, outcome, n),
        }
        shared.accounting.set_queue_depth(rx.len());
    }
}

/// The metrics task: a push every interval, and a last one when `last_push` turns true (at
/// shutdown, after the log task is done, so the final loss counts are in it).
pub async fn export_metrics(mut shared: Shared, metrics: Arc<Metrics>, mut last_push: watch::Receiver<bool>) {
    let start_ns = wall_now_ns();
    let mut ticks = tokio::time::interval(shared.options.metrics_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        let last = tokio::select! {
            _ = ticks.tick() => false,
            _ = last_push.wait_for(|last| *last) => true,
        };
        push_metrics(&mut shared, &metrics, start_ns).await;
        if last {
            return;
        }
    }
}

async fn push_metrics(shared: &mut Shared, metrics: &Metrics, start_ns: u64) {
    let exported = from_exposition(&metrics.encode(), Stamp { start_ns, now_ns: wall_now_ns() });
    let points: u64 = exported.iter().map(|m| super::metrics::point_count(m) as u64).sum();
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(shared.resource.clone()),
            scope_metrics: vec![ScopeMetrics { scope: Some(scope()), metrics: exported, ..Default::default() }],
            ..Default::default()
        }],
    };
    // Cumulative values: the next push supersedes this one, so retry only within an interval.
    let budget = shared.options.metrics_interval;
    match shared.deliver(Signal::Metrics, request.encode_to_vec(), budget).await {
        Ok(body) => {
            let rejected = ExportMetricsServiceResponse::decode(body).ok().and_then(|r| r.partial_success).map_or(0, |p| p.rejected_data_points.max(0) as u64).min(points);
            shared.accounting.count(Signal::Metrics, Outcome::Rejected, rejected);
            shared.accounting.count(Signal::Metrics, Outcome::Sent, points - rejected);
        }
        Err(outcome) => shared.accounting.count(Signal::Metrics, outcome, points),
    }
}

#[cfg(test)]
mod tests;
