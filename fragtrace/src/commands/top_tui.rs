//! The full-screen `top`: a sink that aggregates every event, takes a snapshot once per
//! refresh interval, and redraws on refresh and on keys. Keys are read on a thread and
//! handled at the session's short ticks, so a key takes effect within a tick.

use std::{
    collections::HashMap,
    sync::{Arc, mpsc},
    time::Duration,
};

use crossterm::event::{self, Event as TermEvent, KeyEvent, KeyEventKind};
use fragtrace::{
    aggregate::{Aggregator, Snapshot},
    event::{Counters, Event},
    gfp::GfpTable,
    sink::{Sink, SinkError},
    tui::{
        draw::draw,
        rates::Rates,
        rows::failure_rows,
        screen::{HeaderFacts, Screen},
        state::{Action, UiState},
        terminal::TerminalGuard,
    },
    zones::ZoneSnapshot,
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
    /// `q` was pressed: do not hold at the end.
    quitting: bool,
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
        Self {
            aggregator,
            header,
            gfp: Arc::new(gfp),
            pageblock_order,
            interval_ns: interval.as_nanos() as u64,
            guard,
            input: spawn_input_reader(),
            hold_at_end: false,
            quitting: false,
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
        header.elapsed_s = self.now_ns.saturating_sub(self.first_ts.unwrap_or(self.now_ns)) as f64 / 1e9;
        Screen {
            header,
            snapshot: self.snapshot.clone(),
            rates: self.rates.clone(),
            stacks: self.stacks.clone(),
            gfp: self.gfp.clone(),
            now_ns: self.now_ns,
            pageblock_order: self.pageblock_order,
            ui: self.ui.clone(),
        }
    }

    fn refresh(&mut self, ts_ns: u64) {
        let next = Arc::new(self.aggregator.snapshot());
        let dt = self.previous.as_ref().map_or(self.interval_ns as f64 / 1e9, |(_, at)| ts_ns.saturating_sub(*at) as f64 / 1e9);
        self.rates = Rates::between(self.previous.as_ref().map(|(s, _)| s.as_ref()), &next, dt);
        self.previous = Some((next.clone(), ts_ns));
        self.snapshot = next;
        self.last_refresh = ts_ns;
    }

    fn draw(&mut self) -> Result<(), SinkError> {
        let screen = self.screen();
        self.guard.terminal.draw(|f| draw(f, &screen))?;
        Ok(())
    }

    /// Applies pending keys; `Err(Stopped)` on quit.
    fn keys(&mut self) -> Result<bool, SinkError> {
        let mut dirty = false;
        while let Ok(input) = self.input.try_recv() {
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
            match self.ui.handle(key, rows, auto_order) {
                Action::Quit => {
                    self.quitting = true;
                    return Err(SinkError::Stopped);
                }
                Action::Reset => {
                    self.aggregator.reset();
                    self.previous = None;
                    self.refresh(self.now_ns);
                    dirty = true;
                }
                Action::Redraw => dirty = true,
                Action::None => {}
            }
        }
        Ok(dirty)
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

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.aggregator.event(event)
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        self.aggregator.zones(snapshot)
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.aggregator.tick(ts_ns, counters)?;
        self.now_ns = ts_ns;
        let first = *self.first_ts.get_or_insert(ts_ns);
        let mut dirty = self.keys()?;
        let due = ts_ns.saturating_sub(self.last_refresh) >= self.interval_ns || self.last_refresh == 0;
        if due && !self.ui.paused {
            self.refresh(ts_ns);
            dirty = true;
        }
        if first == ts_ns {
            dirty = true;
        }
        if dirty {
            self.draw()?;
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
