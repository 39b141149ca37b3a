//! `fragtrace top`: a periodic plain-text view (the full-screen TUI replaces it later).

use std::{
    collections::HashMap,
    io::{IsTerminal, Write},
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Args;
use fragtrace::{
    aggregate::Aggregator,
    buddyinfo,
    event::{Counters, Event},
    gfp::GfpTable,
    probe::kernel::hostname,
    sink::{Sink, SinkError},
    symbolize::caller_frame,
    view::text::{HeaderInfo, RenderInput, render},
};
use tokio::sync::Notify;

use super::{ProbeArgs, live, parse_duration};

#[derive(Debug, Args)]
pub struct TopArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Refresh interval.
    #[arg(long, short = 'i', default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Exit after this many refreshes.
    #[arg(long, short = 'n')]
    pub count: Option<u64>,
    /// Append plain reports instead of redrawing the screen (for logs and pipes).
    #[arg(long)]
    pub batch: bool,
    /// Rows per table.
    #[arg(long, default_value_t = 15)]
    pub rows: usize,
}

struct TopView {
    aggregator: Aggregator,
    gfp: GfpTable,
    callers: HashMap<u32, String>,
    host: String,
    kernel: String,
    probe_mode: String,
    started: Instant,
    last: Option<(Instant, u64)>,
    refreshes: u64,
    count: Option<u64>,
    clear_screen: bool,
    rows: usize,
    done: Arc<Notify>,
}

impl TopView {
    fn draw(&mut self, counters: &Counters) -> Result<(), SinkError> {
        let now = Instant::now();
        let allocs_per_s = match self.last {
            Some((at, seen)) => counters.allocs_seen.saturating_sub(seen) as f64 / now.duration_since(at).as_secs_f64().max(1e-3),
            None => 0.0,
        };
        self.last = Some((now, counters.allocs_seen));
        let zones = buddyinfo::read().unwrap_or_default();
        let snapshot = self.aggregator.snapshot();
        let callers = &self.callers;
        let stack_of = |id: u32| callers.get(&id).cloned();
        let text = render(&RenderInput {
            header: HeaderInfo {
                host: &self.host,
                kernel: &self.kernel,
                probe_mode: &self.probe_mode,
                elapsed_s: self.started.elapsed().as_secs_f64(),
                allocs_per_s,
            },
            snapshot: &snapshot,
            gfp: &self.gfp,
            zones: &zones,
            stack_of: &stack_of,
            max_rows: self.rows,
        });
        let mut out = std::io::stdout().lock();
        if self.clear_screen {
            out.write_all(b"\x1b[H\x1b[2J")?;
        } else if self.refreshes > 0 {
            out.write_all(b"\n")?;
        }
        out.write_all(text.as_bytes())?;
        out.flush()?;
        Ok(())
    }
}

impl Sink for TopView {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        self.callers.insert(id, caller_frame(frames).unwrap_or("?").to_string());
        self.aggregator.stack(id, frames)
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.aggregator.event(event)
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.aggregator.tick(ts_ns, counters)?;
        // The first tick fires immediately; draw from the second on so rates are real.
        if self.last.is_none() {
            self.last = Some((Instant::now(), counters.allocs_seen));
            return Ok(());
        }
        self.draw(counters)?;
        self.refreshes += 1;
        if self.count.is_some_and(|n| self.refreshes >= n) {
            self.done.notify_one();
        }
        Ok(())
    }

    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        self.aggregator.finish(counters)
    }
}

pub async fn run(args: TopArgs) -> anyhow::Result<()> {
    if args.count == Some(0) {
        anyhow::bail!("--count must be at least 1");
    }
    let mut session = live::start_session(&args.probe)?;
    let kernel = &session.probes().kernel;
    let nowarn = kernel.gfp.value_of("__GFP_NOWARN").unwrap_or(0);
    let done = Arc::new(Notify::new());
    let mut view = TopView {
        aggregator: Aggregator::new(kernel.pageblock_order, nowarn, true),
        gfp: kernel.gfp.clone(),
        callers: HashMap::new(),
        host: hostname(),
        kernel: kernel.release.clone(),
        probe_mode: session.probes().mode.to_string(),
        started: Instant::now(),
        last: None,
        refreshes: 0,
        count: args.count,
        clear_screen: !args.batch && std::io::stdout().is_terminal(),
        rows: args.rows,
        done: done.clone(),
    };
    let stop = live::stop_signal(None, done)?;
    session.run(&mut [&mut view], args.interval, stop).await?;
    Ok(())
}
