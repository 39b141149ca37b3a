//! The flight recorder: everything observed in the last `window`, bounded in memory.

use std::collections::VecDeque;

use crate::{
    event::{Counters, Event},
    host::zones::ZoneSnapshot,
};

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Event(Event),
    Zones(ZoneSnapshot),
    Tick(u64, Counters),
}

impl Item {
    pub fn ts_ns(&self) -> u64 {
        match self {
            Item::Event(e) => e.ts_ns(),
            Item::Zones(z) => z.ts_ns,
            Item::Tick(ts, _) => *ts,
        }
    }
}

pub struct Flight {
    window_ns: u64,
    max_items: usize,
    items: VecDeque<Item>,
    /// Items dropped because `max_items` was reached (storms), reported in the summary.
    pub overflowed: u64,
}

impl Flight {
    pub fn new(window_ns: u64, max_items: usize) -> Self {
        Self { window_ns, max_items: max_items.max(1), items: VecDeque::new(), overflowed: 0 }
    }

    /// Adds an item and forgets what fell out of the window (by the newest timestamp).
    pub fn push(&mut self, item: Item) {
        let now = item.ts_ns();
        self.items.push_back(item);
        let oldest = now.saturating_sub(self.window_ns);
        while self.items.front().is_some_and(|i| i.ts_ns() < oldest) {
            self.items.pop_front();
        }
        while self.items.len() > self.max_items {
            self.items.pop_front();
            self.overflowed += 1;
        }
    }

    pub fn drain(&mut self) -> impl Iterator<Item = Item> + '_ {
        self.items.drain(..)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Lost;

    fn lost(ts: u64) -> Item {
        Item::Event(Event::Lost(Lost { ts_ns: ts, count: 1 }))
    }

    #[test]
    fn keeps_only_the_window_and_at_most_max_items() {
        let mut f = Flight::new(10, 100);
        for ts in 0..30 {
            f.push(lost(ts));
        }
        let kept: Vec<u64> = f.drain().map(|i| i.ts_ns()).collect();
        assert_eq!(kept, (19..30).collect::<Vec<_>>(), "the last 10 ns, inclusive");
        let mut f = Flight::new(1_000, 5);
        for ts in 0..8 {
            f.push(lost(ts));
        }
        assert_eq!(f.len(), 5);
        assert_eq!(f.overflowed, 3);
    }
}
