//! The full-screen `top`: a sink that aggregates every event, takes a snapshot once per
//! refresh interval, and redraws on refresh and on keys. Keys are read on a thread and
//! handled at the session's short ticks, so a key takes effect within a tick.

use std::{
    collections::HashMap,
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use crossterm::event::{self, Event as TermEvent, KeyEvent, KeyEventKind};
use fragtrace::{
    aggregate::{Aggregator, Snapshot},
    event::{Counters, Event},
    gfp::GfpTable,
    host::zones::ZoneSnapshot,
    sink::{Sink, SinkError},
    tui::{
        draw::draw,
        rates::Rates,
        rows::failure_rows,
        screen::{HeaderFacts, Screen},
        state::{Action, UiState},
        terminal::TerminalGuard,
    },
};

pub enum Input {
    Key(KeyEvent),
    Resize,
}

/// Reads terminal input on its own thread; ends when the receiver is dropped.
pub fn spawn_input_reader() -> mpsc::Receiver<Input> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        loop {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let input = match event::read() {
                Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => Input::Key(k),
                Ok(TermEvent::Resize(..)) => Input::Resize,
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(input).is_err() {
                return;
            }
        }
    });
    rx
}

pub struct TuiTop {
    pub aggregator: Aggregator,
    pub header: HeaderFacts,
    pub gfp: Arc<GfpTable>,
    pub pageblock_order: u32,
    pub interval_ns: u64,
    pub guard: TerminalGuard,
    pub input: mpsc::Receiver<Input>,
    /// A replay keeps its last screen until `q`.
    pub hold_at_end: bool,
    /// Stop after this many refreshes (`--iterations`).
    pub iterations: Option<u64>,
    pub page_size: u64,
    /// Live: the stall/OOM probes attached; `None` in a replay.
    pub collected: Option<Vec<String>>,
    /// `q` was pressed: do not hold at the end.
    quitting: bool,
    refreshes: u64,
    /// The selected group, followed across refreshes as rows re-sort.
    selected_key: Option<String>,
    /// The clock shown while paused (ages and uptime stop with the numbers).
    paused_at: Option<u64>,
    last_key_poll: Instant,
    ui: UiState,
    stacks: Arc<HashMap<u32, Vec<String>>>,
    snapshot: Arc<Snapshot>,
    previous: Option<(Arc<Snapshot>, u64)>,
    rates: Rates,
    first_ts: Option<u64>,
    last_refresh: u64,
    now_ns: u64,
}

impl TuiTop {
    pub fn new(aggregator: Aggregator, header: HeaderFacts, gfp: GfpTable, pageblock_order: u32, interval: Duration, guard: TerminalGuard) -> Self {
        // A refresh is due at the first tick: `last_refresh` 0 means never.
        Self {
            aggregator,
            header,
            gfp: Arc::new(gfp),
            pageblock_order,
            interval_ns: interval.as_nanos() as u64,
            guard,
            input: spawn_input_reader(),
            hold_at_end: false,
            iterations: None,
            page_size: 4096,
            collected: None,
            quitting: false,
            refreshes: 0,
            selected_key: None,
            paused_at: None,
            last_key_poll: Instant::now(),
            ui: UiState::default(),
            stacks: Arc::new(HashMap::new()),
            snapshot: Arc::new(Snapshot::default()),
            previous: None,
            rates: Rates::default(),
            first_ts: None,
            last_refresh: 0,
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

    fn refresh(&mut self, ts_ns: u64) {
        let next = Arc::new(self.aggregator.snapshot());
        let dt = self.previous.as_ref().map_or(0.0, |(_, at)| ts_ns.saturating_sub(*at) as f64 / 1e9);
        // A refresh right after another (the end of a replay) has no interval to rate over:
        // keep the last rates rather than divide by almost nothing.
        if self.previous.is_none() || dt >= 0.01 {
            self.rates = Rates::between(self.previous.as_ref().map(|(s, _)| s.as_ref()), &next, dt);
            self.previous = Some((next.clone(), ts_ns));
        }
        self.snapshot = next;
        self.last_refresh = ts_ns;
        self.follow_selection();
    }

    fn draw(&mut self) -> Result<(), SinkError> {
        let screen = self.screen();
        self.guard.terminal.draw(|f| draw(f, &screen))?;
        Ok(())
    }

    /// Applies pending keys; `Err(Stopped)` on quit, or when input can no longer be read
    /// (there would be no way to quit).
    fn keys(&mut self) -> Result<bool, SinkError> {
        self.last_key_poll = Instant::now();
        let mut dirty = false;
        loop {
            let input = match self.input.try_recv() {
                Ok(input) => input,
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.quitting = true;
                    return Err(SinkError::Stopped);
                }
            };
            let key = match input {
                Input::Key(k) => k,
                Input::Resize => {
                    dirty = true;
                    continue;
                }
            };
            let screen = self.screen();
            let rows = failure_rows(&screen).len();
            let auto_order = Screen { ui: UiState { zone_order: None, ..self.ui.clone() }, ..screen }.zone_order();
            let was_paused = self.ui.paused;
            match self.ui.handle(key, rows, auto_order) {
                Action::Quit => {
                    self.quitting = true;
                    return Err(SinkError::Stopped);
                }
                Action::Reset => {
                    // Kernel counters are not reset: keep them as the baseline for rates.
                    let counters = self.snapshot.counters;
                    self.aggregator.reset();
                    self.previous = Some((Arc::new(Snapshot { counters, ..Snapshot::default() }), self.now_ns));
                    self.snapshot = Arc::new(self.aggregator.snapshot());
                    self.rates = Rates::default();
                    self.ui.selected = 0;
                    dirty = true;
                }
                Action::Redraw => dirty = true,
                Action::None => {}
            }
            match (was_paused, self.ui.paused) {
                (false, true) => self.paused_at = Some(self.now_ns),
                (true, false) => {
                    // Rates after a pause cover the time since un-pausing, not the pause.
                    self.paused_at = None;
                    self.previous = Some((Arc::new(self.aggregator.snapshot()), self.now_ns));
                }
                _ => {}
            }
            let rows = failure_rows(&self.screen());
            self.selected_key = rows.get(self.ui.selected).map(|r| r.key.clone());
        }
        Ok(dirty)
    }

    /// Draws the first frame before any data arrives, so the screen is never blank.
    pub fn draw_initial(&mut self) -> Result<(), SinkError> {
        self.draw()
    }
}

impl Sink for TuiTop {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        Arc::make_mut(&mut self.stacks).insert(id, frames.to_vec());
        Ok(())
    }

    fn cgroup(&mut self, id: u64, path: Option<&str>) -> Result<(), SinkError> {
        self.aggregator.cgroup(id, path)
    }

    fn workload(&mut self, cgroup_id: u64, workload: &fragtrace::identity::Workload) -> Result<(), SinkError> {
        self.aggregator.workload(cgroup_id, workload)
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.aggregator.event(event)?;
        // A replay can go a long time between ticks: look at the keys in between too.
        if self.last_key_poll.elapsed() >= Duration::from_millis(50) && self.keys()? {
            self.draw()?;
        }
        Ok(())
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        self.aggregator.zones(snapshot)
    }

    fn alloc_probe(&mut self, state: &fragtrace::probe_status::AllocProbeState) -> Result<(), SinkError> {
        self.aggregator.alloc_probe(state)
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.aggregator.tick(ts_ns, counters)?;
        self.now_ns = ts_ns;
        let first = *self.first_ts.get_or_insert(ts_ns);
        let mut dirty = self.keys()?;
        let due = ts_ns.saturating_sub(self.last_refresh) >= self.interval_ns || self.last_refresh == 0;
        let mut refreshed = false;
        if due && !self.ui.paused {
            self.refresh(ts_ns);
            refreshed = true;
            dirty = true;
        }
        if first == ts_ns {
            dirty = true;
        }
        if dirty {
            self.draw()?;
        }
        if refreshed {
            self.refreshes += 1;
            if self.iterations.is_some_and(|n| self.refreshes > n) {
                self.quitting = true;
                return Err(SinkError::Stopped);
            }
        }
        Ok(())
    }

    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        self.aggregator.finish(counters)?;
        if !self.hold_at_end || self.quitting {
            return Ok(());
        }
        self.header.replay = self.header.replay.take().map(|r| format!("{r} · ended, q quits"));
        self.refresh(self.now_ns);
        self.draw()?;
        loop {
            match self.keys() {
                Err(SinkError::Stopped) => return Ok(()),
                Err(e) => return Err(e),
                Ok(true) => self.draw()?,
                Ok(false) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}
