//! Delivery policy, apart from any I/O so it can be tested: the loss accounting exported on
//! `/metrics`, the token bucket that sheds failure storms, and the retry backoff.

use std::time::Duration;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

use super::config::Signal;

/// What became of a record (a log record, or a metric data point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the receiver.
    Sent,
    /// The queue was full when the session offered it.
    DroppedQueueFull,
    /// Over `--otlp-max-logs-per-sec`.
    ShedRateLimit,
    /// The receiver refused it for good (a 4xx other than 429, or a partial success).
    Rejected,
    /// Retries ran out (or the shutdown deadline passed) without the receiver taking it.
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [Outcome::Sent, Outcome::DroppedQueueFull, Outcome::ShedRateLimit, Outcome::Rejected, Outcome::Failed];

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::DroppedQueueFull => "dropped_queue_full",
            Outcome::ShedRateLimit => "shed_rate_limit",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RecordLabels {
    signal: &'static str,
    outcome: &'static str,
}

/// `fragtrace_otlp_records_total{signal,outcome}` and `fragtrace_otlp_queue_depth`: what the
/// exporter did with every record, on `/metrics` (and so over OTLP too). Cheap clones of the
/// same counters.
#[derive(Clone, Debug, Default)]
pub struct Accounting {
    records: Family<RecordLabels, Counter>,
    queue_depth: Gauge,
}

impl Accounting {
    /// Registers the families (with every series at 0, so a loss shows as a rise from 0).
    pub fn register(&self, registry: &mut Registry) {
        for signal in [Signal::Logs, Signal::Metrics] {
            // Metrics are not queued nor shed: only three outcomes apply to them.
            let applies = |o: &Outcome| signal == Signal::Logs || matches!(o, Outcome::Sent | Outcome::Rejected | Outcome::Failed);
            for outcome in Outcome::ALL.into_iter().filter(applies) {
                let _ = self.records.get_or_create(&RecordLabels { signal: signal.label(), outcome: outcome.label() });
            }
        }
        registry.register(
            "otlp_records",
            "OTLP records by what became of them: log records (signal=logs) and metric data points (signal=metrics); every outcome but sent is a loss",
            self.records.clone(),
        );
        registry.register("otlp_queue_depth", "Log records waiting in the OTLP export queue (bounded by --otlp-queue)", self.queue_depth.clone());
    }

    pub fn count(&self, signal: Signal, outcome: Outcome, n: u64) {
        if n > 0 {
            self.records.get_or_create(&RecordLabels { signal: signal.label(), outcome: outcome.label() }).inc_by(n);
        }
    }

    pub fn get(&self, signal: Signal, outcome: Outcome) -> u64 {
        self.records.get_or_create(&RecordLabels { signal: signal.label(), outcome: outcome.label() }).get()
    }

    pub fn set_queue_depth(&self, depth: usize) {
        self.queue_depth.set(depth as i64);
    }
}

/// A token bucket: `rate` records a second on average, bursts of up to `burst`.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last_ns: u64,
}

impl RateLimiter {
    /// `rate` 0 means no limit.
    pub fn new(rate: u32, burst: u32, now_ns: u64) -> Self {
        let burst = f64::from(burst.max(1));
        Self { rate: f64::from(rate), burst, tokens: burst, last_ns: now_ns }
    }

    /// Takes a token if there is one (monotonic `now_ns`).
    pub fn admit(&mut self, now_ns: u64) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let elapsed = now_ns.saturating_sub(self.last_ns) as f64 / 1e9;
        self.last_ns = self.last_ns.max(now_ns);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Exponential backoff with jitter: attempt n waits a random time in [d/2, d] with
/// d = `initial` × 2ⁿ capped at `max` (jitter spreads a fleet's retries after an outage).
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const DEFAULT: Backoff = Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(8) };

    /// The wait before retry `attempt` (0-based); a receiver's `Retry-After` replaces it,
    /// kept between `initial` (a `Retry-After: 0` must not make a busy loop) and a minute (a
    /// wrong header must not stall the queue for hours).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(after) = retry_after {
            return after.clamp(self.initial, Duration::from_secs(60).max(self.initial));
        }
        let full = self.initial.saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX)).min(self.max);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// Whether an HTTP status is worth retrying (the OTLP/HTTP specification's list).
pub fn retryable(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_sheds_beyond_its_burst_and_refills_at_the_rate() {
        let mut limiter = RateLimiter::new(10, 5, 0);
        let admitted = (0..100).filter(|_| limiter.admit(0)).count();
        assert_eq!(admitted, 5, "the burst, then nothing in the same instant");
        let admitted = (0..100).filter(|_| limiter.admit(1_000_000_000)).count();
        assert_eq!(admitted, 5, "one second refills 10 tokens, capped at the burst of 5");
        let mut slow = RateLimiter::new(10, 5, 0);
        (0..5).for_each(|_| assert!(slow.admit(0)));
        assert!(!slow.admit(50_000_000), "half a token after 50 ms");
        assert!(slow.admit(100_000_000), "a whole one after 100 ms");
        let mut off = RateLimiter::new(0, 1, 0);
        assert!((0..1000).all(|_| off.admit(0)), "rate 0 is no limit");
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter_and_honours_retry_after() {
        let b = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(1) };
        assert_eq!(b.delay(0, None, 1.0), Duration::from_millis(100));
        assert_eq!(b.delay(0, None, 0.0), Duration::from_millis(50));
        assert_eq!(b.delay(3, None, 1.0), Duration::from_millis(800));
        assert_eq!(b.delay(4, None, 1.0), Duration::from_secs(1));
        assert_eq!(b.delay(40, None, 1.0), Duration::from_secs(1), "no overflow");
        assert_eq!(b.delay(2, Some(Duration::from_secs(7)), 0.3), Duration::from_secs(7));
        assert_eq!(b.delay(2, Some(Duration::from_secs(7200)), 0.3), Duration::from_secs(60));
        assert_eq!(b.delay(2, Some(Duration::ZERO), 0.3), Duration::from_millis(100), "Retry-After: 0 is no busy loop");
    }

    #[test]
    fn only_the_specified_statuses_are_retried() {
        for s in [429, 502, 503, 504] {
            assert!(retryable(s));
        }
        for s in [400, 401, 403, 404, 413, 500] {
            assert!(!retryable(s), "{s}");
        }
    }

    #[test]
    fn accounting_counts_by_signal_and_outcome_and_registers_every_series() {
        let a = Accounting::default();
        let mut registry = Registry::with_prefix("fragtrace");
        a.register(&mut registry);
        a.count(Signal::Logs, Outcome::ShedRateLimit, 3);
        a.count(Signal::Logs, Outcome::Sent, 0);
        assert_eq!(a.get(Signal::Logs, Outcome::ShedRateLimit), 3);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("fragtrace_otlp_records_total{signal=\"logs\",outcome=\"shed_rate_limit\"} 3"), "{text}");
        assert!(text.contains("fragtrace_otlp_records_total{signal=\"metrics\",outcome=\"failed\"} 0"), "{text}");
        assert!(text.contains("fragtrace_otlp_queue_depth 0"), "{text}");
    }
}
