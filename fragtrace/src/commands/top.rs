//! `fragtrace top`: a periodic plain-text view (the full-screen TUI replaces it later), live
//! or replayed from a recording.

use std::{
    collections::HashMap,
    io::{IsTerminal, Write},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use clap::Args;
use fragtrace::{
    aggregate::Aggregator,
    event::{Counters, Event},
    gfp::GfpTable,
    probe::kernel::hostname,
    record::{ReplayOptions, open_all, replay, replay::SPEED_RANGE},
    session::RunOptions,
    sink::{Sink, SinkError},
    symbolize::caller_frame,
    view::text::{HeaderInfo, RenderInput, render},
    zones::ZoneSnapshot,
};
use tokio::sync::Notify;

use super::{FilterArgs, ProbeArgs, live, parse_duration};

#[derive(Debug, Args)]
pub struct TopArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Refresh interval (live; a replay refreshes at the recorded ticks).
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
    /// Drive the view from recordings instead of the live kernel (no privileges needed).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub replay: Vec<PathBuf>,
    /// With --replay: play at this multiple of the recorded speed.
    #[arg(long, default_value_t = 1.0, requires = "replay")]
    pub speed: f64,
}

struct TopView {
    aggregator: Aggregator,
    gfp: GfpTable,
    callers: HashMap<u32, String>,
    host: String,
    kernel: String,
    probe_mode: String,
    /// First tick (CLOCK_MONOTONIC of the source) and the previous one with its counters.
    first_ts: Option<u64>,
    last: Option<(u64, u64)>,
    refreshes: u64,
    count: Option<u64>,
    clear_screen: bool,
    rows: usize,
    /// Replays draw the final state too (events after the last recorded tick).
    draw_on_finish: bool,
}

impl TopView {
    fn draw(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        let allocs_per_s = self.last.map(|(at, seen)| {
            counters.allocs_seen.saturating_sub(seen) as f64 / (ts_ns.saturating_sub(at) as f64 / 1e9).max(1e-3)
        });
        self.last = Some((ts_ns, counters.allocs_seen));
        let snapshot = self.aggregator.snapshot();
        let callers = &self.callers;
        let stack_of = |id: u32| callers.get(&id).cloned();
        let text = render(&RenderInput {
            header: HeaderInfo {
                host: &self.host,
                kernel: &self.kernel,
                probe_mode: &self.probe_mode,
                elapsed_s: ts_ns.saturating_sub(self.first_ts.unwrap_or(ts_ns)) as f64 / 1e9,
                allocs_per_s,
            },
            snapshot: &snapshot,
            gfp: &self.gfp,
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

    fn cgroup(&mut self, id: u64, path: Option<&str>) -> Result<(), SinkError> {
        self.aggregator.cgroup(id, path)
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.aggregator.event(event)
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        self.aggregator.zones(snapshot)
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.aggregator.tick(ts_ns, counters)?;
        // The first tick only sets the baseline, so every drawn rate covers a real interval.
        if self.first_ts.is_none() {
            self.first_ts = Some(ts_ns);
            self.last = Some((ts_ns, counters.allocs_seen));
            return Ok(());
        }
        self.draw(ts_ns, counters)?;
        self.refreshes += 1;
        if self.count.is_some_and(|n| self.refreshes >= n) {
            return Err(SinkError::Stopped);
        }
        Ok(())
    }

    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        self.aggregator.finish(counters)?;
        if self.draw_on_finish && self.count.is_none_or(|n| self.refreshes < n) {
            let ts = self.last.map_or(0, |(ts, _)| ts);
            self.draw(ts, counters)?;
        }
        Ok(())
    }
}

pub async fn run(args: TopArgs) -> anyhow::Result<()> {
    if args.count == Some(0) {
        anyhow::bail!("--count must be at least 1");
    }
    let filter = args.filter.to_filter()?;
    let clear_screen = !args.batch && std::io::stdout().is_terminal();
    if !args.replay.is_empty() {
        if !SPEED_RANGE.contains(&args.speed) {
            anyhow::bail!(
                "--speed must be between {} and {} (e.g. 10 for ten times the recorded speed), got {}",
                SPEED_RANGE.start(),
                SPEED_RANGE.end(),
                args.speed
            );
        }
        let recording = open_all(&args.replay)?;
        let h = recording.header();
        let nowarn = h.kernel.gfp.value_of("__GFP_NOWARN").unwrap_or(0);
        let mut view = TopView {
            aggregator: Aggregator::new(h.kernel.pageblock_order, nowarn, false),
            gfp: h.kernel.gfp.clone(),
            callers: HashMap::new(),
            host: h.hostname.clone(),
            kernel: h.kernel.release.clone(),
            probe_mode: format!("{} (replay ×{})", h.probe_mode, args.speed),
            first_ts: None,
            last: None,
            refreshes: 0,
            count: args.count,
            clear_screen,
            rows: args.rows,
            draw_on_finish: true,
        };
        let options = ReplayOptions { filter, speed: Some(args.speed), ..Default::default() };
        let report = replay(&recording, &options, &mut [&mut view])?;
        for w in &report.warnings {
            eprintln!("fragtrace: warning: {w}");
        }
        return Ok(());
    }
    let mut session = live::start_session(&args.probe)?;
    let kernel = &session.probes().kernel;
    let nowarn = kernel.gfp.value_of("__GFP_NOWARN").unwrap_or(0);
    let mut view = TopView {
        aggregator: Aggregator::new(kernel.pageblock_order, nowarn, true),
        gfp: kernel.gfp.clone(),
        callers: HashMap::new(),
        host: hostname(),
        kernel: kernel.release.clone(),
        probe_mode: session.probes().mode.to_string(),
        first_ts: None,
        last: None,
        refreshes: 0,
        count: args.count,
        clear_screen,
        rows: args.rows,
        draw_on_finish: false,
    };
    let stop = live::stop_signal(None, Arc::new(Notify::new()))?;
    let run = RunOptions { tick: args.interval, zones_every: Some(args.interval), filter };
    session.run(&mut [&mut view], &run, stop).await?;
    Ok(())
}
