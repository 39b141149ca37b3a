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

use crossterm::event::{Event as TermEvent, KeyEvent, KeyEventKind};
use futures_util::{Stream, StreamExt};
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

/// Where frames go: the real terminal, or a recorder in tests. Lets the view's logic be
/// tested without a terminal.
pub trait Canvas {
    fn draw_screen(&mut self, screen: &Screen) -> std::io::Result<()>;
}

impl Canvas for TerminalGuard {
    fn draw_screen(&mut self, screen: &Screen) -> std::io::Result<()> {
        self.terminal.draw(|f| draw(f, screen))?;
        Ok(())
    }
}

async fn next_signal(signals: &mut Option<ExitSignals>) -> i32 {
    match signals {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

pub struct TuiView<C: Canvas> {
    pub header: HeaderFacts,
    pub gfp: Arc<GfpTable>,
    pub pageblock_order: u32,
    /// The terminal (its guard restores it when the view is dropped).
    pub canvas: C,
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
    stacks: fragtrace::definitions::Definitions,
    snapshot: Arc<Snapshot>,
    previous: Option<(Arc<Snapshot>, u64)>,
    rates: Rates,
    first_ts: Option<u64>,
    now_ns: u64,
}

impl<C: Canvas> TuiView<C> {
    pub fn new(header: HeaderFacts, gfp: GfpTable, pageblock_order: u32, canvas: C, resets: Arc<AtomicU64>) -> Self {
        Self {
            header,
            gfp: Arc::new(gfp),
            pageblock_order,
            canvas,
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
            stacks: Default::default(),
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
        self.canvas.draw_screen(&screen)
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

    /// Draws the first frame at once (the screen is never blank), then follows refreshes,
    /// `input` (crossterm's `EventStream` on a terminal) and `signals` until the view ends.
    /// Dropping the view (on return) restores the terminal, and dropping the receiver stops
    /// the stream.
    pub async fn run(
        mut self,
        mut refreshes: watch::Receiver<Arc<Published>>,
        mut input: impl Stream<Item = std::io::Result<TermEvent>> + Unpin,
        mut signals: Option<ExitSignals>,
    ) -> std::io::Result<ViewEnd> {
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

#[cfg(test)]
mod tests {
    //! The view's logic on a current-thread runtime, as it runs: refreshes through a watch
    //! channel, keys through a stream, frames recorded instead of drawn.

    use std::sync::Mutex;

    use crossterm::event::{KeyCode, KeyModifiers};
    use fragtrace::tui::state::SortBy;
    use tokio::{sync::mpsc, task::JoinHandle};

    use super::*;

    const S: u64 = 1_000_000_000;

    struct Frames(Arc<Mutex<Vec<Screen>>>);

    impl Canvas for Frames {
        fn draw_screen(&mut self, screen: &Screen) -> std::io::Result<()> {
            self.0.lock().expect("frames").push(screen.clone());
            Ok(())
        }
    }

    struct Harness {
        frames: Arc<Mutex<Vec<Screen>>>,
        refreshes: Option<watch::Sender<Arc<Published>>>,
        keys: Option<mpsc::UnboundedSender<std::io::Result<TermEvent>>>,
        resets: Arc<AtomicU64>,
        view: JoinHandle<std::io::Result<ViewEnd>>,
    }

    fn start(replay: bool, iterations: Option<u64>) -> Harness {
        let (tx, rx) = watch::channel(Arc::new(Published::default()));
        let (keys, mut key_rx) = mpsc::unbounded_channel();
        let input = futures_util::stream::poll_fn(move |cx| key_rx.poll_recv(cx));
        let frames = Arc::new(Mutex::new(Vec::new()));
        let resets = Arc::new(AtomicU64::new(0));
        let header = HeaderFacts { replay: replay.then(|| "t.ftr ×1".to_string()), ..HeaderFacts::default() };
        let mut view = TuiView::new(header, GfpTable::default(), 9, Frames(frames.clone()), resets.clone());
        view.hold_at_end = replay;
        view.iterations = iterations;
        let view = tokio::spawn(view.run(rx, input, None));
        Harness { frames, refreshes: Some(tx), keys: Some(keys), resets, view }
    }

    impl Harness {
        fn publish(&self, ts_s: u64, failures: u64, epoch: u64, last: bool) {
            let snapshot = Snapshot { failures, ..Snapshot::default() };
            let published = Published { ts_ns: ts_s * S, epoch, snapshot: Arc::new(snapshot), stacks: Default::default(), last };
            self.refreshes.as_ref().expect("sender").send_replace(Arc::new(published));
        }

        fn key(&self, code: KeyCode, modifiers: KeyModifiers) {
            self.keys.as_ref().expect("keys").send(Ok(TermEvent::Key(KeyEvent::new(code, modifiers)))).expect("the view reads keys");
        }

        fn char(&self, c: char) {
            self.key(KeyCode::Char(c), KeyModifiers::NONE);
        }

        /// Lets the view task run until the newest frame satisfies `pred` (one turn of the
        /// runtime handles everything pending; a thousand turns is a hang).
        async fn until(&self, what: &str, pred: impl Fn(&Screen) -> bool) -> Screen {
            for _ in 0..1000 {
                if let Some(last) = self.frames.lock().expect("frames").last()
                    && pred(last)
                {
                    return last.clone();
                }
                tokio::task::yield_now().await;
            }
            panic!("no frame with {what}; last: {:?}", self.frames.lock().expect("frames").last().map(|s| (s.snapshot.failures, &s.ui, &s.header)));
        }

        async fn settle(&self) {
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
        }

        fn frame_count(&self) -> usize {
            self.frames.lock().expect("frames").len()
        }
    }

    #[tokio::test]
    async fn a_reset_shows_at_once_and_refreshes_taken_before_it_are_ignored() {
        let h = start(false, None);
        h.until("the first frame", |_| true).await;
        h.publish(1, 5, 0, false);
        h.until("the first refresh", |s| s.snapshot.failures == 5).await;
        h.char('r');
        h.until("the reset", |s| s.snapshot.failures == 0).await;
        assert_eq!(h.resets.load(Ordering::Relaxed), 1, "the publisher is asked to reset");
        // Taken before the publisher applied the reset.
        h.publish(2, 7, 0, false);
        h.char('s');
        let s = h.until("the sort change", |s| s.ui.sort == SortBy::Rate).await;
        h.settle().await;
        assert_eq!(s.snapshot.failures, 0, "a refresh from before the reset is not shown");
        h.publish(3, 2, 1, false);
        h.until("the refresh after the reset", |s| s.snapshot.failures == 2).await;
    }

    #[tokio::test]
    async fn a_paused_view_keeps_its_numbers_and_clock_until_unpaused() {
        let h = start(false, None);
        h.publish(1, 5, 0, false);
        h.until("the first refresh", |s| s.snapshot.failures == 5).await;
        h.publish(3, 6, 0, false);
        h.until("the second refresh", |s| s.snapshot.failures == 6 && s.header.elapsed_s == 2.0).await;
        h.char('p');
        h.until("the pause", |s| s.ui.paused).await;
        h.publish(5, 9, 0, false);
        h.settle().await;
        let frames = h.frame_count();
        h.char('s');
        let s = h.until("the sort change", |s| s.ui.sort == SortBy::Rate).await;
        assert_eq!(h.frame_count(), frames + 1, "refreshes while paused draw nothing");
        assert_eq!((s.snapshot.failures, s.header.elapsed_s), (6, 2.0), "numbers and clock stand still");
        h.char('p');
        h.until("the end of the pause", |s| !s.ui.paused).await;
        h.publish(7, 11, 0, false);
        let s = h.until("the refresh after the pause", |s| s.snapshot.failures == 11).await;
        assert_eq!(s.rates.failures_per_s, 1.0, "rates cover the time since unpausing (9 → 11 over 2 s)");
    }

    #[tokio::test]
    async fn iterations_end_the_view_after_that_many_refreshes_past_the_first() {
        let h = start(false, Some(1));
        h.publish(1, 1, 0, false);
        h.until("the first refresh", |s| s.snapshot.failures == 1).await;
        h.publish(2, 2, 0, false);
        assert_eq!(h.view.await.expect("join").expect("view"), ViewEnd::Quit);
    }

    #[tokio::test]
    async fn a_live_view_ends_with_its_stream() {
        let mut h = start(false, None);
        h.publish(1, 1, 0, false);
        h.until("the first refresh", |s| s.snapshot.failures == 1).await;
        drop(h.refreshes.take());
        assert_eq!(h.view.await.expect("join").expect("view"), ViewEnd::Ended);
        let h = start(false, None);
        h.publish(1, 1, 0, true);
        assert_eq!(h.view.await.expect("join").expect("view"), ViewEnd::Ended, "the final state is not held");
    }

    #[tokio::test]
    async fn a_replay_holds_its_final_state_until_q() {
        let mut h = start(true, None);
        h.publish(1, 1, 0, false);
        h.until("the first refresh", |s| s.snapshot.failures == 1).await;
        h.publish(1, 4, 0, true);
        drop(h.refreshes.take());
        h.until("the final state", |s| s.snapshot.failures == 4 && s.header.replay.as_deref() == Some("t.ftr ×1 · ended, q quits")).await;
        h.settle().await;
        assert!(!h.view.is_finished(), "held after the stream ended");
        h.char('q');
        assert_eq!(h.view.await.expect("join").expect("view"), ViewEnd::Quit);
    }

    #[tokio::test]
    async fn ctrl_c_quits_and_so_does_losing_the_input() {
        let h = start(false, None);
        h.key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(h.view.await.expect("join").expect("view"), ViewEnd::Quit);
        let mut h = start(false, None);
        h.until("the first frame", |_| true).await;
        drop(h.keys.take());
        assert_eq!(h.view.await.expect("join").expect("view"), ViewEnd::Quit, "no way left to quit");
    }
}
