//! Drives a live session: ring buffer → decode → sinks, with periodic counter checks that
//! turn ring-buffer drops into `Lost` events at the point they were noticed.

use std::{collections::HashSet, future::Future, os::fd::AsRawFd, time::Duration};

use thiserror::Error;
use tokio::io::{Interest, unix::AsyncFd};

use crate::{
    decode::decode,
    event::{Counters, Event, Lost},
    probe::{Probes, kernel::monotonic_ns},
    sink::{Sink, SinkError},
    symbolize::Kallsyms,
};

#[derive(Debug, Error)]
pub enum SessionError {
    #[error("polling the ring buffer: {0}")]
    Poll(std::io::Error),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// What a finished session saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionStats {
    pub events: u64,
    pub decode_errors: u64,
    pub counters: Counters,
}

pub struct Session {
    probes: Probes,
    kallsyms: Kallsyms,
    known_stacks: HashSet<u32>,
    reported_dropped: u64,
    stats: SessionStats,
}

impl Session {
    pub fn new(probes: Probes, kallsyms: Kallsyms) -> Self {
        Self { probes, kallsyms, known_stacks: HashSet::new(), reported_dropped: 0, stats: SessionStats::default() }
    }

    pub fn probes(&self) -> &Probes {
        &self.probes
    }

    /// Runs until `stop` completes, then drains what is left and calls `finish` on every sink.
    pub async fn run(
        &mut self,
        sinks: &mut [&mut dyn Sink],
        tick: Duration,
        stop: impl Future<Output = ()>,
    ) -> Result<SessionStats, SessionError> {
        // SAFETY: the fd belongs to `self.probes.ring`, which outlives `fd` (dropped below,
        // before this function returns).
        let fd = unsafe { AsyncFd::register_with_interest(self.probes.ring.as_raw_fd(), Interest::READABLE) }
            .map_err(|e| SessionError::Poll(std::io::Error::other(e.to_string())))?;
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                ready = fd.readable() => {
                    let mut guard = ready.map_err(SessionError::Poll)?;
                    guard.clear_ready();
                    self.drain(sinks)?;
                }
                _ = ticker.tick() => {
                    self.drain(sinks)?;
                    let counters = self.report_drops(sinks)?;
                    for sink in sinks.iter_mut() {
                        sink.tick(monotonic_ns(), &counters)?;
                    }
                }
                () = &mut stop => break,
            }
        }
        drop(fd);
        self.drain(sinks)?;
        let counters = self.report_drops(sinks)?;
        for sink in sinks.iter_mut() {
            sink.finish(&counters)?;
        }
        self.stats.counters = counters;
        Ok(self.stats)
    }

    fn drain(&mut self, sinks: &mut [&mut dyn Sink]) -> Result<(), SinkError> {
        loop {
            let decoded = match self.probes.ring.next() {
                Some(item) => decode(&item),
                None => return Ok(()),
            };
            let event = match decoded {
                Ok(event) => event,
                Err(e) => {
                    self.stats.decode_errors += 1;
                    log::warn!("skipping undecodable ring-buffer record: {e}");
                    continue;
                }
            };
            if let Event::Failure(f) = &event
                && let Some(id) = f.stack_id
                && self.known_stacks.insert(id)
            {
                let frames = self
                    .probes
                    .stack(id)
                    .map(|ips| self.kallsyms.symbolize_stack(&ips))
                    .unwrap_or_default();
                for sink in sinks.iter_mut() {
                    sink.stack(id, &frames)?;
                }
            }
            self.stats.events += 1;
            for sink in sinks.iter_mut() {
                sink.event(&event)?;
            }
        }
    }

    /// Emits a `Lost` event when the kernel's drop counter moved; returns the counters.
    fn report_drops(&mut self, sinks: &mut [&mut dyn Sink]) -> Result<Counters, SinkError> {
        let counters = self.probes.counters();
        if counters.dropped > self.reported_dropped {
            let lost = Event::Lost(Lost { ts_ns: monotonic_ns(), count: counters.dropped - self.reported_dropped });
            self.reported_dropped = counters.dropped;
            for sink in sinks.iter_mut() {
                sink.event(&lost)?;
            }
        }
        Ok(counters)
    }
}
