//! `fragtrace top`: the live view. Full-screen on a terminal; plain text (or JSON) every
//! interval with `--batch`, `--json` or when stdout is not a terminal; from a recording with
//! `--replay`.

use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use anyhow::Context;
use clap::Args;
use crossterm::event::EventStream;
use fragtrace::{
    definitions::Definitions,
    aggregate::{Aggregator, Publisher},
    event::{Counters, Event},
    filter::EventFilter,
    gfp::GfpTable,
    host::{kallsyms::caller_frame, system::hostname, zones::ZoneSnapshot},
    probe_status::FailureHooks,
    record::{Recording, RecordingHeader, ReplayOptions, ReplayReport, open_all, replay, replay::SPEED_RANGE},
    session::{RunOptions, Session},
    sink::{Sink, SinkError},
    tui::{rates::Rates, screen::HeaderFacts, terminal::TerminalGuard},
    view::{
        json::{ReportSource, report_document},
        text::{HeaderInfo, RenderInput, render},
    },
};
use serde_json::json;
use tokio::sync::Notify;

use super::{FilterArgs, ProbeArgs, live, parse_duration, top_tui::{ExitSignals, TuiView, ViewEnd}};

#[derive(Debug, Args)]
#[command(after_help = "On a terminal, a full-screen view (press ? for keys). With --batch, --json, or when \
stdout is not a terminal (kubectl exec, pipes, logs), a plain report every interval.\n\n\
Examples:\n  \
  sudo fragtrace top\n  \
  sudo fragtrace top --comm 'runc*' --min-order 4\n  \
  sudo fragtrace top --batch --iterations 5 > top.log\n  \
  sudo fragtrace top --json --iterations 1 | jq .failures\n  \
  fragtrace top --replay incident.ftr --speed 10")]
pub struct TopArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Refresh interval (a replay refreshes at the recorded ticks).
    #[arg(long, short = 'i', default_value = "2s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Exit after this many refreshes.
    #[arg(long, short = 'n', alias = "count", value_name = "N")]
    pub iterations: Option<u64>,
    /// Plain text reports instead of the full-screen view (automatic when stdout is not a
    /// terminal).
    #[arg(long)]
    pub batch: bool,
    /// One JSON object per interval (implies --batch); schema in docs/json.md.
    #[arg(long)]
    pub json: bool,
    /// Rows per table in batch mode.
    #[arg(long, default_value_t = 15)]
    pub rows: usize,
    /// Drive the view from recordings instead of the live kernel (no privileges needed).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub replay: Vec<PathBuf>,
    /// With --replay: play at this multiple of the recorded speed.
    #[arg(long, default_value_t = 1.0, requires = "replay")]
    pub speed: f64,
}

/// The batch view: text or JSON reports appended every refresh.
struct BatchTop {
    aggregator: Aggregator,
    gfp: GfpTable,
    /// The stream's definitions (see `Sink::use_definitions`), for stacks.
    stacks: Definitions,
    host: String,
    kernel: String,
    probe_mode: String,
    failure_hooks: Option<FailureHooks>,
    filters: String,
    json: bool,
    interval_s: f64,
    /// First tick (CLOCK_MONOTONIC of the source) and the previous refresh's snapshot.
    first_ts: Option<u64>,
    previous: Option<(fragtrace::aggregate::Snapshot, u64)>,
    refreshes: u64,
    iterations: Option<u64>,
    rows: usize,
    /// Replays draw the final state too (events after the last recorded tick).
    draw_on_finish: bool,
    /// Live: the stall/OOM probes attached on this kernel.
    collected: Option<Vec<String>>,
    extfrag_stack_every: Option<u32>,
}

impl BatchTop {
    fn draw(&mut self, ts_ns: u64) -> Result<(), SinkError> {
        let snapshot = self.aggregator.snapshot();
        let rates = self.previous.as_ref().map(|(prev, at)| Rates::between(Some(prev), &snapshot, ts_ns.saturating_sub(*at) as f64 / 1e9));
        let elapsed_s = ts_ns.saturating_sub(self.first_ts.unwrap_or(ts_ns)) as f64 / 1e9;
        let mut out = std::io::stdout().lock();
        if self.json {
            let source = ReportSource {
                files: vec![],
                hostname: &self.host,
                kernel: &self.kernel,
                probe_mode: self.probe_mode.clone(),
                failure_hooks: self.failure_hooks.as_ref(),
                start_wall_ns: 0,
                span_s: elapsed_s,
                warnings: vec![],
                clean_end: true,
                extfrag_stack_every: self.extfrag_stack_every,
            };
            let mut doc = report_document(&source, &snapshot, &self.gfp, &self.stacks);
            doc["kind"] = json!("top");
            doc["interval"] = json!(self.refreshes + 1);
            doc["filters"] = json!(self.filters);
            doc["interval_s"] = json!(self.interval_s);
            doc["stall_probes"] = json!(self.collected);
            doc["rates"] = match &rates {
                Some(r) => json!({"allocs_per_s": r.allocs_per_s, "failures_per_s": r.failures_per_s, "extfrag_per_s": r.extfrag_per_s}),
                None => serde_json::Value::Null,
            };
            serde_json::to_writer(&mut out, &doc)?;
            out.write_all(b"\n")?;
        } else {
            let stacks = &self.stacks;
            let stack_of = |id: u32| stacks.stack(id).map(|f| caller_frame(&f).unwrap_or("?").to_string());
            let probe_mode = if self.filters.is_empty() { self.probe_mode.clone() } else { format!("{} — filter {}", self.probe_mode, self.filters) };
            let text = render(&RenderInput {
                header: HeaderInfo {
                    host: &self.host,
                    kernel: &self.kernel,
                    probe_mode: &probe_mode,
                    elapsed_s,
                    allocs_per_s: rates.as_ref().map(|r| r.allocs_per_s),
                },
                snapshot: &snapshot,
                gfp: &self.gfp,
                stack_of: &stack_of,
                max_rows: self.rows,
            });
            if self.refreshes > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(text.as_bytes())?;
        }
        out.flush()?;
        self.previous = Some((snapshot, ts_ns));
        self.refreshes += 1;
        if self.iterations.is_some_and(|n| self.refreshes >= n) {
            return Err(SinkError::Stopped);
        }
        Ok(())
    }
}

impl Sink for BatchTop {
    fn use_definitions(&mut self, definitions: &Definitions) {
        self.stacks = definitions.clone();
        self.aggregator.use_definitions(definitions);
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.aggregator.event(event)
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        self.aggregator.zones(snapshot)
    }

    fn alloc_probe(&mut self, state: &fragtrace::probe_status::AllocProbeState) -> Result<(), SinkError> {
        self.aggregator.alloc_probe(state)
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.aggregator.tick(ts_ns, counters)?;
        // The first tick only sets the baseline, so every report's rates cover an interval.
        if self.first_ts.is_none() {
            self.first_ts = Some(ts_ns);
            self.previous = Some((self.aggregator.snapshot(), ts_ns));
            return Ok(());
        }
        self.draw(ts_ns)
    }

    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        self.aggregator.finish(counters)?;
        if self.draw_on_finish && self.iterations.is_none_or(|n| self.refreshes < n) {
            let ts = self.previous.as_ref().map_or(0, |(_, ts)| *ts);
            match self.draw(ts) {
                Ok(()) | Err(SinkError::Stopped) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

struct Source {
    host: String,
    kernel: String,
    /// What watched failures, briefly: the header's "probe" part (JSON has it in full).
    probe_mode: String,
    failure_hooks: Option<FailureHooks>,
    gfp: GfpTable,
    pageblock_order: u32,
    page_size: u64,
    nowarn: u64,
    /// How extfrag stacks were sampled; `None` for recordings made before extfrag stacks.
    extfrag_stack_every: Option<u32>,
}

fn batch_view(args: &TopArgs, src: &Source, filter: &EventFilter, live: bool, interval_s: f64) -> BatchTop {
    BatchTop {
        aggregator: Aggregator::new(src.pageblock_order, src.nowarn, live),
        gfp: src.gfp.clone(),
        stacks: Definitions::new(),
        host: src.host.clone(),
        kernel: src.kernel.clone(),
        probe_mode: src.probe_mode.clone(),
        failure_hooks: src.failure_hooks.clone(),
        filters: filter.describe(),
        json: args.json,
        interval_s,
        first_ts: None,
        previous: None,
        refreshes: 0,
        iterations: args.iterations,
        rows: args.rows,
        draw_on_finish: !live,
        collected: None,
        extfrag_stack_every: src.extfrag_stack_every,
    }
}

fn tui_view(src: &Source, filter: &EventFilter, interval: Duration, replay: Option<String>, iterations: Option<u64>, resets: Arc<AtomicU64>) -> anyhow::Result<TuiView<TerminalGuard>> {
    let guard = TerminalGuard::enter().context("cannot switch the terminal to full-screen mode (try --batch)")?;
    let header = HeaderFacts {
        host: src.host.clone(),
        kernel: src.kernel.clone(),
        probe_mode: src.probe_mode.clone(),
        elapsed_s: 0.0,
        interval_s: interval.as_secs_f64(),
        filters: filter.describe(),
        replay,
    };
    // A replay keeps its last screen until `q`.
    let hold_at_end = header.replay.is_some();
    let mut tui = TuiView::new(header, src.gfp.clone(), src.pageblock_order, guard, resets);
    tui.hold_at_end = hold_at_end;
    tui.iterations = iterations;
    tui.page_size = src.page_size;
    Ok(tui)
}

impl Source {
    fn of_recording(h: &RecordingHeader) -> Self {
        Source {
            host: h.hostname.clone(),
            kernel: h.kernel.release.clone(),
            probe_mode: h.failure_hooks.as_ref().map_or_else(|| h.probe_mode.to_string(), FailureHooks::short),
            failure_hooks: h.failure_hooks.clone(),
            gfp: h.kernel.gfp.clone(),
            pageblock_order: h.kernel.pageblock_order,
            page_size: h.kernel.page_size,
            nowarn: h.kernel.gfp.value_of("__GFP_NOWARN").unwrap_or(0),
            extfrag_stack_every: h.extfrag_stack_every,
        }
    }

    fn of_session(session: &Session) -> Self {
        let kernel = &session.probes().kernel;
        Source {
            host: hostname(),
            kernel: kernel.release.clone(),
            probe_mode: session.probes().hooks.short(),
            failure_hooks: Some(session.probes().hooks.clone()),
            gfp: kernel.gfp.clone(),
            pageblock_order: kernel.pageblock_order,
            page_size: kernel.page_size,
            nowarn: kernel.gfp.value_of("__GFP_NOWARN").unwrap_or(0),
            extfrag_stack_every: Some(fragtrace::event::EXTFRAG_STACK_EVERY),
        }
    }
}

pub async fn run(args: TopArgs) -> anyhow::Result<()> {
    if args.iterations == Some(0) {
        anyhow::bail!("--iterations must be at least 1");
    }
    let filter = args.filter.to_filter()?;
    let full_screen = !args.batch && !args.json && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if args.replay.is_empty() { run_live(&args, filter, full_screen).await } else { run_replay(&args, filter, full_screen).await }
}

async fn run_replay(args: &TopArgs, filter: EventFilter, full_screen: bool) -> anyhow::Result<()> {
    if !SPEED_RANGE.contains(&args.speed) {
        anyhow::bail!(
            "--speed must be between {} and {} (e.g. 10 for ten times the recorded speed), got {}",
            SPEED_RANGE.start(),
            SPEED_RANGE.end(),
            args.speed
        );
    }
    let recording = open_all(&args.replay)?;
    let src = Source::of_recording(recording.header());
    let options = ReplayOptions { filter: filter.clone(), speed: Some(args.speed), ..Default::default() };
    let label = format!("{} ×{}", args.replay[0].display(), args.speed);
    // Recordings tick once a second: that is the replay's refresh.
    let report = if full_screen {
        replay_full_screen(recording, options, &src, &filter, label, args.iterations).await?
    } else {
        let mut view = batch_view(args, &src, &filter, false, 1.0);
        view.probe_mode = format!("{} (replay {label})", src.probe_mode);
        replay(&recording, &options, &mut [&mut view])?
    };
    for w in &report.warnings {
        eprintln!("fragtrace: warning: {w}");
    }
    Ok(())
}

/// The replay blocks in paced sleeps, so it runs on the runtime's blocking pool and feeds
/// the publisher; the view runs here. Signals end the process with the terminal restored
/// (the feed cannot be stopped inside a sleep).
async fn replay_full_screen(
    recording: Recording,
    options: ReplayOptions,
    src: &Source,
    filter: &EventFilter,
    label: String,
    iterations: Option<u64>,
) -> anyhow::Result<ReplayReport> {
    let (publisher, refreshes) = Publisher::new(Aggregator::new(src.pageblock_order, src.nowarn, false), Duration::from_secs(1));
    let signals = ExitSignals::new().context("installing the signal handlers")?;
    let view = tui_view(src, filter, Duration::from_secs(1), Some(label), iterations, publisher.reset_requests())?;
    let feed = tokio::task::spawn_blocking(move || {
        let mut publisher = publisher;
        replay(&recording, &options, &mut [&mut publisher])
    });
    // The view restores the terminal when it returns (it is dropped).
    let end = view.run(refreshes, EventStream::new(), Some(signals)).await;
    if let Ok(ViewEnd::Signal(sig)) = end {
        std::process::exit(128 + sig);
    }
    // Without its watcher the feed stops at its next event or tick.
    let report = feed.await.context("the replay thread failed")?;
    end.context("drawing the full-screen view")?;
    Ok(report?)
}

async fn run_live(args: &TopArgs, filter: EventFilter, full_screen: bool) -> anyhow::Result<()> {
    let mut session = live::start_session(&args.probe).await?;
    live::harden(false);
    let src = Source::of_session(&session);
    let view_done = Arc::new(Notify::new());
    let stop = live::stop_signal(None, view_done.clone())?;
    if full_screen {
        return live_full_screen(&mut session, args, &src, filter, stop, view_done).await;
    }
    let mut view = batch_view(args, &src, &filter, true, args.interval.as_secs_f64());
    view.collected = Some(session.probes().stall_probes.iter().map(|s| s.to_string()).collect());
    let run = RunOptions { tick: args.interval, zones_every: Some(args.interval), filter };
    session.run(&mut [&mut view], &run, stop).await?;
    Ok(())
}

/// The session feeds the publisher, which publishes a snapshot once per interval; the view
/// is a task of its own that draws them and reads keys. Quitting it stops the session
/// (`view_done`); the end of the session ends the view.
async fn live_full_screen(
    session: &mut Session,
    args: &TopArgs,
    src: &Source,
    filter: EventFilter,
    stop: impl Future<Output = ()>,
    view_done: Arc<Notify>,
) -> anyhow::Result<()> {
    let (mut publisher, refreshes) = Publisher::new(Aggregator::new(src.pageblock_order, src.nowarn, true), args.interval);
    let mut view = tui_view(src, &filter, args.interval, None, args.iterations, publisher.reset_requests())?;
    view.collected = Some(session.probes().stall_probes.iter().map(|s| s.to_string()).collect());
    let view = tokio::spawn(async move {
        let end = view.run(refreshes, EventStream::new(), None).await;
        view_done.notify_one();
        end
    });
    // The session keeps the short tick it had when it also drove the view: the gate and
    // the drop checks react within 100 ms as before.
    let run = RunOptions { tick: Duration::from_millis(100), zones_every: Some(args.interval), filter };
    let result = session.run(&mut [&mut publisher], &run, stop).await;
    drop(publisher);
    // The terminal is restored (the view returned) before any error is printed.
    let end = view.await.context("the full-screen view failed")?;
    result?;
    end.context("drawing the full-screen view")?;
    Ok(())
}
