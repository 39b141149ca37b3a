//! The full-screen `top`: a view that runs as its own task on the command's tokio runtime,
//! never inside the session's drain. It waits on three things at once: refreshes published
//! by the aggregate stage ([`Publisher`](fragtrace::aggregate::Publisher), a `watch`
//! channel), terminal input (crossterm's `EventStream`: keys and resizes) and, in a replay,
//! the signals that end the process.
//!
//! Control goes back without touching the stream: `r` bumps the publisher's reset counter
//! (the view shows the reset at once and ignores refreshes taken before it), and ending the
//! view drops its receiver, which stops the stream at its next event or tick.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use crossterm::event::{Event as TermEvent, EventStream, KeyEvent, KeyEventKind};
use futures_util::StreamExt;
use tokio::{
    signal::unix::{Signal, SignalKind, signal},
    sync::watch,
};

use fragtrace::{
    aggregate::{Published, Snapshot},
    gfp::GfpTable,
    tui::{
        draw::draw,
        rates::Rates,
        rows::failure_rows,
        screen::{HeaderFacts, Screen},
        state::{Action, UiState},
        terminal::TerminalGuard,
    },
};

/// How a view ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewEnd {
    /// `q`, Ctrl-C, `--iterations` reached, or terminal input gone (no way left to quit).
    Quit,
    /// The stream ended and the view does not hold its last screen.
    Ended,
    /// One of [`ExitSignals`] arrived (its number).
    Signal(i32),
}

/// SIGINT, SIGTERM and SIGHUP as a view that must end the process on them waits for them:
/// a replay, whose feed runs on a blocking thread and cannot be stopped between events.
pub struct ExitSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl ExitSignals {
    pub fn new() -> std::io::Result<Self> {
        Ok(Self { int: signal(SignalKind::interrupt())?, term: signal(SignalKind::terminate())?, hup: signal(SignalKind::hangup())? })
    }

    async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.int.recv() => libc::SIGINT,
            _ = self.term.recv() => libc::SIGTERM,
            _ = self.hup.recv() => libc::SIGHUP,
        }
    }
}

async fn next_signal(signals: &mut Option<ExitSignals>) -> i32 {
    match signals {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

pub struct TuiView {
    pub header: HeaderFacts,
    pub gfp: Arc<GfpTable>,
    pub pageblock_order: u32,
    pub guard: TerminalGuard,
    /// The publisher's reset counter (see `Publisher::reset_requests`).
    pub resets: Arc<AtomicU64>,
    /// A replay keeps its last screen until `q`.
    pub hold_at_end: bool,
    /// Stop after this many refreshes (`--iterations`).
    pub iterations: Option<u64>,
    pub page_size: u64,
    /// Live: the stall/OOM probes attached; `None` in a replay.
    pub collected: Option<Vec<String>>,
    refreshes: u64,
    /// Resets asked for; refreshes taken before the latest one are ignored.
    epoch: u64,
    /// The stream ended (a held replay): only keys are left.
    ended: bool,
    /// The selected group, followed across refreshes as rows re-sort.
    selected_key: Option<String>,
    /// The clock shown while paused (ages and uptime stop with the numbers).
    paused_at: Option<u64>,
    ui: UiState,
    /// The newest refresh of the current epoch, shown or not (paused).
    latest: Arc<Published>,
    stacks: Arc<std::collections::HashMap<u32, Vec<String>>>,
    snapshot: Arc<Snapshot>,
    previous: Option<(Arc<Snapshot>, u64)>,
    rates: Rates,
    first_ts: Option<u64>,
    now_ns: u64,
}

impl TuiView {
    pub fn new(header: HeaderFacts, gfp: GfpTable, pageblock_order: u32, guard: TerminalGuard, resets: Arc<AtomicU64>) -> Self {
        Self {
            header,
            gfp: Arc::new(gfp),
            pageblock_order,
            guard,
            resets,
            hold_at_end: false,
            iterations: None,
            page_size: 4096,
            collected: None,
            refreshes: 0,
            epoch: 0,
            ended: false,
            selected_key: None,
            paused_at: None,
            ui: UiState::default(),
            latest: Arc::default(),
            stacks: Arc::default(),
            snapshot: Arc::default(),
            previous: None,
            rates: Rates::default(),
            first_ts: None,
            now_ns: 0,
        }
    }

    fn screen(&self) -> Screen {
        let mut header = self.header.clone();
        let now_ns = self.paused_at.unwrap_or(self.now_ns);
        header.elapsed_s = now_ns.saturating_sub(self.first_ts.unwrap_or(now_ns)) as f64 / 1e9;
        Screen {
            header,
            snapshot: self.snapshot.clone(),
            rates: self.rates.clone(),
            stacks: self.stacks.clone(),
            gfp: self.gfp.clone(),
            now_ns,
            pageblock_order: self.pageblock_order,
            page_size: self.page_size,
            collected: self.collected.clone(),
            ui: self.ui.clone(),
        }
    }

    /// Keeps the selection on the same group after rows changed order or number.
    fn follow_selection(&mut self) {
        let rows = failure_rows(&self.screen());
        if let Some(key) = &self.selected_key
            && let Some(i) = rows.iter().position(|r| &r.key == key)
        {
            self.ui.selected = i;
        }
        self.ui.selected = self.ui.selected.min(rows.len().saturating_sub(1));
        self.selected_key = rows.get(self.ui.selected).map(|r| r.key.clone());
    }

    /// Shows `self.latest`, with rates since the previous refresh shown.
    fn refresh(&mut self) {
        let (next, ts_ns) = (self.latest.snapshot.clone(), self.latest.ts_ns);
        self.stacks = self.latest.stacks.clone();
        let dt = self.previous.as_ref().map_or(0.0, |(_, at)| ts_ns.saturating_sub(*at) as f64 / 1e9);
        // A refresh right after another (the end of a replay) has no interval to rate over:
        // keep the last rates rather than divide by almost nothing.
        if self.previous.is_none() || dt >= 0.01 {
            self.rates = Rates::between(self.previous.as_ref().map(|(s, _)| s.as_ref()), &next, dt);
            self.previous = Some((next.clone(), ts_ns));
        }
        self.snapshot = next;
        self.follow_selection();
    }

    fn draw(&mut self) -> std::io::Result<()> {
        let screen = self.screen();
        self.guard.terminal.draw(|f| draw(f, &screen))?;
        Ok(())
    }

    /// A refresh from the publisher; `Some` when the view ends.
    fn published(&mut self, published: Arc<Published>) -> std::io::Result<Option<ViewEnd>> {
        if published.last {
            if !self.hold_at_end {
                return Ok(Some(ViewEnd::Ended));
            }
            // The final state (events after the last tick), kept until `q`.
            self.ended = true;
            self.header.replay = self.header.replay.take().map(|r| format!("{r} · ended, q quits"));
            if published.epoch == self.epoch {
                self.latest = published;
                self.refresh();
            }
            self.draw()?;
            return Ok(None);
        }
        if published.epoch != self.epoch {
            // Taken before the reset the view already shows.
            return Ok(None);
        }
        self.latest = published;
        self.now_ns = self.latest.ts_ns;
        let first = self.first_ts.is_none();
        self.first_ts.get_or_insert(self.now_ns);
        if self.ui.paused {
            if first {
                self.draw()?;
            }
            return Ok(None);
        }
        self.refresh();
        self.draw()?;
        self.refreshes += 1;
        if self.iterations.is_some_and(|n| self.refreshes > n) {
            return Ok(Some(ViewEnd::Quit));
        }
        Ok(None)
    }

    /// Applies a key; `Some(Quit)` on quit.
    fn key(&mut self, key: KeyEvent) -> std::io::Result<Option<ViewEnd>> {
        let screen = self.screen();
        let rows = failure_rows(&screen).len();
        let auto_order = Screen { ui: UiState { zone_order: None, ..self.ui.clone() }, ..screen }.zone_order();
        let was_paused = self.ui.paused;
        let dirty = match self.ui.handle(key, rows, auto_order) {
            Action::Quit => return Ok(Some(ViewEnd::Quit)),
            Action::Reset => {
                // Shown at once; the publisher forgets its counts before its next event or
                // tick. Kernel counters are not reset: they stay the baseline for rates.
                self.epoch += 1;
                self.resets.store(self.epoch, Ordering::Relaxed);
                let counters = self.snapshot.counters;
                self.latest = Arc::new(Published {
                    ts_ns: self.now_ns,
                    epoch: self.epoch,
                    snapshot: Arc::new(self.latest.snapshot.after_reset()),
                    stacks: self.latest.stacks.clone(),
                    last: false,
                });
                self.previous = Some((Arc::new(Snapshot { counters, ..Snapshot::default() }), self.now_ns));
                self.snapshot = self.latest.snapshot.clone();
                self.rates = Rates::default();
                self.ui.selected = 0;
                true
            }
            Action::Redraw => true,
            Action::None => false,
        };
        match (was_paused, self.ui.paused) {
            (false, true) => self.paused_at = Some(self.now_ns),
            (true, false) => {
                // Rates after a pause cover the time since un-pausing, not the pause.
                self.paused_at = None;
                self.previous = Some((self.latest.snapshot.clone(), self.now_ns));
            }
            _ => {}
        }
        let rows = failure_rows(&self.screen());
        self.selected_key = rows.get(self.ui.selected).map(|r| r.key.clone());
        if dirty {
            self.draw()?;
        }
        Ok(None)
    }

    /// Draws the first frame at once (the screen is never blank), then refreshes, keys and
    /// `signals` until the view ends. Dropping the view (on return) restores the terminal
    /// and the receiver, which stops the stream.
    pub async fn run(mut self, mut refreshes: watch::Receiver<Arc<Published>>, mut signals: Option<ExitSignals>) -> std::io::Result<ViewEnd> {
        let mut input = EventStream::new();
        self.draw()?;
        loop {
            let end = tokio::select! {
                changed = refreshes.changed(), if !self.ended => match changed {
                    Ok(()) => {
                        let published = refreshes.borrow_and_update().clone();
                        self.published(published)?
                    }
                    // The stream failed before its end: the caller reports why.
                    Err(_) => Some(ViewEnd::Ended),
                },
                event = input.next() => match event {
                    Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => self.key(k)?,
                    Some(Ok(TermEvent::Resize(..))) => {
                        self.draw()?;
                        None
                    }
                    Some(Ok(_)) => None,
                    // Input can no longer be read: there would be no way to quit.
                    Some(Err(_)) | None => Some(ViewEnd::Quit),
                },
                sig = next_signal(&mut signals) => Some(ViewEnd::Signal(sig)),
            };
            if let Some(end) = end {
                return Ok(end);
            }
        }
    }
}
