//! The zones pane's pageblock census: unmovable and reclaimable pageblocks per zone, how
//! many more than at the start, and how fast they grow (`/proc/pagetypeinfo`, root or
//! CAP_DAC_READ_SEARCH). Those blocks rarely turn movable again: their growth is
//! fragmentation compaction cannot undo.

use ratatui::text::{Line, Span};

use super::{DIM, WARN};
use crate::{census::ZoneCensus, tui::screen::Screen};

/// A rate over less than this is an extrapolation from noise: shown as `-`.
const MIN_RATE_WINDOW_S: f64 = 60.0;

/// The zones worth a row: those with unmovable or reclaimable blocks, or whose count moved;
/// at most `max`, the ones with the most such blocks, in the kernel's order.
fn shown(screen: &Screen, max: usize) -> Vec<&ZoneCensus> {
    let census = &screen.snapshot.pageblocks;
    let mut zones: Vec<&ZoneCensus> = census.iter().filter(|z| z.last.pinned() > 0 || z.pinned_growth() != 0).collect();
    if zones.len() > max {
        zones.sort_by_key(|z| std::cmp::Reverse(z.last.pinned()));
        zones.truncate(max);
        zones.sort_by_key(|z| census.iter().position(|o| o == *z));
    }
    zones
}

/// Rows the census takes with up to `max` zones (its header included); 0 without a census.
pub fn rows(screen: &Screen, max: usize) -> u16 {
    match shown(screen, max).len() {
        0 => 0,
        n => n as u16 + 1,
    }
}

pub fn lines(screen: &Screen, max: usize) -> Vec<Line<'static>> {
    let zones = shown(screen, max);
    if zones.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::styled(format!("{:<12} {:>6} {:>6} {:>7} {:>9}", "PAGEBLOCKS", "UNMOV", "RECL", "+START", "PER HOUR"), DIM)];
    for z in zones {
        let growth = z.pinned_growth();
        let rate = z.per_hour(growth).filter(|_| z.window_s() >= MIN_RATE_WINDOW_S);
        let head = format!("{:<12} {:>6} {:>6} ", format!("n{} {}", z.node, z.zone), z.last.count("Unmovable").unwrap_or(0), z.last.count("Reclaimable").unwrap_or(0));
        let since = format!("{growth:>+7}");
        let rate = rate.map_or(format!(" {:>9}", "-"), |r| format!(" {:>9}", format!("{r:+.1}/h")));
        let since = if growth > 0 { Span::styled(since, WARN) } else { Span::raw(since) };
        lines.push(Line::from(vec![Span::raw(head), since, Span::raw(rate)]));
    }
    lines
}
