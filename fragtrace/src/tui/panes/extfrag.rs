//! Extfrag: fallbacks per second by (allocating → fallback) migratetype, the share that
//! fragments a pageblock, and the severe ones (fallback order ≤ 3).

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Modifier, Style},
    text::{Line, Span},
    widgets::{Paragraph, Widget},
};

use super::{DIM, WARN, block, compact, rate};
use crate::{event::migratetype_name, tui::screen::Screen};

/// Migratetype names short enough for an 80-column terminal.
fn short_name(mt: i32) -> &'static str {
    match mt {
        0 => "Unmov",
        1 => "Mov",
        2 => "Recl",
        3 => "HiAtom",
        _ => migratetype_name(mt),
    }
}

pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer) {
    let s = &screen.snapshot;
    let frag = (s.extfrag_fragmenting * 100).checked_div(s.extfrag).unwrap_or(0);
    let block = block("Extfrag fallbacks");
    if s.extfrag == 0 {
        Paragraph::new(Line::styled("none: every allocation found its own migratetype", DIM)).block(block).render(area, buf);
        return;
    }
    let narrow = area.width < 60;
    let name_width = if narrow { 13 } else { 24 };
    let name = |mt: i32| if narrow { short_name(mt) } else { migratetype_name(mt) };
    let mut lines = vec![Line::from(vec![
        Span::raw(format!("{} · {} · ", compact(s.extfrag), rate(screen.rates.extfrag_per_s))),
        Span::styled(format!("{frag}% fragmenting"), if frag >= 50 { WARN } else { Style::new() }),
        Span::raw(format!(" · {} severe", compact(s.extfrag_severe))),
    ])];
    if let Some(worst) = s.polluters.by_comm.first().filter(|_| narrow) {
        // Narrow terminals have no room for the "who fragments" pane: its first row, here.
        let c = &worst.counts;
        lines.push(Line::styled(format!("worst: {} harm {} ({} stolen)", worst.comm, compact(c.harm()), compact(c.stolen)), WARN));
    }
    lines.push(Line::styled(
        format!("{:<name_width$} {:>6} {:>7} {:>5} {:>6}", "alloc→fallback", "COUNT", "RATE", "FRAG", "SEVERE"),
        Style::new().add_modifier(Modifier::BOLD),
    ));
    for g in &s.extfrag_groups {
        let r = screen.rates.extfrag.get(&(g.alloc_migratetype, g.fallback_migratetype)).copied().unwrap_or(0.0);
        lines.push(Line::raw(format!(
            "{:<name_width$} {:>6} {:>7} {:>4}% {:>6}",
            format!("{}→{}", name(g.alloc_migratetype), name(g.fallback_migratetype)),
            compact(g.count),
            rate(r),
            g.fragmenting * 100 / g.count.max(1),
            compact(g.severe),
        )));
    }
    Paragraph::new(lines).block(block).render(area, buf);
}
