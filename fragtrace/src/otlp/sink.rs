//! The session side of OTLP logs: a [`Sink`] that turns each failure into a log record and
//! offers it to the export queue without ever waiting (`try_send`). A full queue drops the
//! record; a storm beyond `--otlp-max-logs-per-sec` is shed before any formatting work; both
//! are counted (`fragtrace_otlp_records_total`), and what was shed is also announced in a log
//! record of its own every [`SHED_NOTE_EVERY`].

use opentelemetry_proto::tonic::logs::v1::LogRecord;
use tokio::sync::mpsc;

use super::{
    config::Signal,
    delivery::{Accounting, Outcome, RateLimiter},
    records::{failure_record, shed_record, wall_now_ns},
};
use crate::{
    definitions::Definitions,
    event::{Counters, Event},
    gfp::GfpTable,
    host::clock::monotonic_ns,
    sink::{Sink, SinkError},
    view::json::JsonLines,
};

/// How often, at most, a "records shed" note is sent while a storm lasts.
pub const SHED_NOTE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Offers records to the export queue; never blocks. Cheap to clone.
#[derive(Clone)]
pub struct Offer {
    pub(super) tx: mpsc::Sender<LogRecord>,
    pub(super) accounting: Accounting,
}

impl Offer {
    /// Queues `record`, or counts it as dropped when the queue is full (or gone).
    pub fn offer(&self, record: LogRecord) -> bool {
        let queued = self.tx.try_send(record).is_ok();
        if !queued {
            self.accounting.count(Signal::Logs, Outcome::DroppedQueueFull, 1);
        }
        self.accounting.set_queue_depth(self.tx.max_capacity() - self.tx.capacity());
        queued
    }
}

pub struct OtlpLogSink {
    offer: Offer,
    limiter: RateLimiter,
    rate: u32,
    /// Formats a failure as its JSON object (docs/json.md), which the record is mapped from;
    /// its own output goes nowhere.
    json: JsonLines<std::io::Sink>,
    gfp: GfpTable,
    /// Unix time minus CLOCK_MONOTONIC, refreshed every tick (the clock may be stepped).
    wall_offset_ns: i128,
    shed_since_note: u64,
    last_note_ns: u64,
}

fn wall_offset_ns() -> i128 {
    i128::from(wall_now_ns()) - i128::from(monotonic_ns())
}

impl OtlpLogSink {
    pub fn new(offer: Offer, gfp: GfpTable, pageblock_order: u32, max_logs_per_sec: u32) -> Self {
        let now = monotonic_ns();
        // A burst of a few seconds' worth passes whole: a short incident arrives complete.
        let burst = max_logs_per_sec.saturating_mul(5);
        Self {
            offer,
            limiter: RateLimiter::new(max_logs_per_sec, burst, now),
            rate: max_logs_per_sec,
            json: JsonLines::new(std::io::sink(), gfp.clone(), pageblock_order),
            gfp,
            wall_offset_ns: wall_offset_ns(),
            shed_since_note: 0,
            last_note_ns: now,
        }
    }

    fn wall_ns(&self, monotonic: u64) -> u64 {
        (i128::from(monotonic) + self.wall_offset_ns).max(0) as u64
    }

    /// Sends the "records shed" note when there is something to say and it is time.
    fn note_shed(&mut self, now_ns: u64, force: bool) {
        let due = now_ns.saturating_sub(self.last_note_ns) >= SHED_NOTE_EVERY.as_nanos() as u64;
        if self.shed_since_note == 0 || !(due || force) {
            return;
        }
        let interval_s = now_ns.saturating_sub(self.last_note_ns) as f64 / 1e9;
        self.offer.offer(shed_record(self.shed_since_note, interval_s, self.rate, self.wall_ns(now_ns)));
        self.shed_since_note = 0;
        self.last_note_ns = now_ns;
    }
}

impl Sink for OtlpLogSink {
    fn use_definitions(&mut self, definitions: &Definitions) {
        self.json.use_definitions(definitions);
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        let Event::Failure(f) = event else { return Ok(()) };
        if !self.limiter.admit(f.task.ts_ns) {
            self.shed_since_note += 1;
            self.offer.accounting.count(Signal::Logs, Outcome::ShedRateLimit, 1);
            return Ok(());
        }
        let record = failure_record(&self.json.to_json(event), self.wall_ns(f.task.ts_ns), wall_now_ns(), &self.gfp);
        self.offer.offer(record);
        Ok(())
    }

    fn tick(&mut self, _ts_ns: u64, _counters: &Counters) -> Result<(), SinkError> {
        self.wall_offset_ns = wall_offset_ns();
        self.note_shed(monotonic_ns(), false);
        Ok(())
    }

    fn finish(&mut self, _counters: &Counters) -> Result<(), SinkError> {
        self.note_shed(monotonic_ns(), true);
        Ok(())
    }
}
