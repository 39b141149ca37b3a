//! Zones: free blocks per order as a heat row (from /proc/buddyinfo), free memory, and the
//! kernel's unusable-free-space and fragmentation indices for one order; below them the
//! pageblock census ([`zones_census`]).

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Color, Style},
    text::{Line, Span},
    widgets::{Paragraph, Widget},
};

use super::{DIM, WARN, block, zones_census};
use crate::tui::screen::Screen;

/// A cell for a free-block count: darker and emptier as blocks run out (log scale).
fn heat(n: u64) -> Span<'static> {
    let (glyph, color) = match n {
        0 => ('·', Color::Red),
        1..=9 => ('▂', Color::LightRed),
        10..=99 => ('▄', Color::Yellow),
        100..=999 => ('▆', Color::LightGreen),
        _ => ('█', Color::Green),
    };
    Span::styled(glyph.to_string(), Style::new().fg(color))
}

pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer) {
    let order = screen.zone_order();
    let title = format!("Zones · free blocks by order · indices for order {order} (o)");
    let block = block(&title);
    let zones = &screen.snapshot.zones;
    if zones.is_empty() {
        Paragraph::new(Line::styled("no zone snapshot yet", DIM)).block(block).render(area, buf);
        return;
    }
    let mut lines = vec![Line::styled(format!("{:<12} {:<11} {:>9} {:>8} {:>6}", "ZONE", "0 → 10", "FREE", "UNUSABLE", "FRAG"), DIM)];
    // When they do not all fit, show the zones with the most free memory (a near-empty DMA
    // zone matters less than node 1's Normal), in node order, and say how many are hidden.
    let room = area.height.saturating_sub(3) as usize;
    // The pageblock census takes the rows left once every zone has one (a header and up
    // to three zones).
    let census = zones_census::lines(screen, room.saturating_sub(zones.len() + 1).min(3));
    let room = room - census.len();
    let mut shown: Vec<&crate::host::buddyinfo::ZoneFree> = zones.iter().collect();
    let hidden = shown.len().saturating_sub(room.max(1));
    if hidden > 0 {
        shown.sort_by_key(|z| std::cmp::Reverse(z.free_pages()));
        shown.truncate(room.saturating_sub(1).max(1));
        shown.sort_by_key(|z| (z.node, zones.iter().position(|o| o == *z)));
    }
    for z in &shown {
        let idx = z.indices(order);
        let mut spans = vec![Span::raw(format!("{:<12} ", format!("n{} {}", z.node, z.zone)))];
        spans.extend((0..11).map(|o| heat(z.free_blocks.get(o).copied().unwrap_or(0))));
        let free_mib = z.free_pages() * screen.page_size / (1 << 20);
        spans.push(Span::raw(format!(" {:>7}M ", free_mib)));
        let unusable = format!("{:>8.3}", idx.unusable);
        spans.push(if idx.unusable >= 0.9 && free_mib > 0 { Span::styled(unusable, WARN) } else { Span::raw(unusable) });
        spans.push(match idx.fragmentation {
            // A suitable block exists: the kernel's -1000.
            None => Span::styled(format!(" {:>6}", "ok"), DIM),
            Some(f) if f > 0.5 => Span::styled(format!(" {f:>6.3}"), WARN),
            Some(f) => Span::raw(format!(" {f:>6.3}")),
        });
        lines.push(Line::from(spans));
    }
    if hidden > 0 {
        lines.push(Line::styled(format!("+{} more zones", zones.len() - shown.len()), DIM));
    }
    lines.extend(census);
    Paragraph::new(lines).block(block).render(area, buf);
}
