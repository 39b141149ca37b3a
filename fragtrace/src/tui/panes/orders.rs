//! Failing orders: a bar per order 0–10 that failed, with the share of silent
//! (`__GFP_NOWARN`) failures — the ones `dmesg` never shows.

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Color, Style},
    text::{Line, Span},
    widgets::{Paragraph, Widget},
};

use super::{DIM, bar, block, compact, header::share};
use crate::{aggregate::ORDERS, tui::screen::Screen};

pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer) {
    let s = &screen.snapshot;
    let block = block("Failing orders");
    let inner_h = area.height.saturating_sub(2) as usize;
    let mut orders: Vec<usize> = (0..ORDERS).filter(|&o| s.by_order[o] > 0).collect();
    if orders.is_empty() {
        Paragraph::new(Line::styled("none", DIM)).block(block).render(area, buf);
        return;
    }
    // When they do not all fit, keep the most frequent, shown in order.
    if orders.len() > inner_h {
        orders.sort_by_key(|&o| std::cmp::Reverse(s.by_order[o]));
        orders.truncate(inner_h);
        orders.sort_unstable();
    }
    let max = orders.iter().map(|&o| s.by_order[o]).max().unwrap_or(0);
    // "o10+ 12345 " + bar + " 100% silent"
    let bar_width = (area.width as usize).saturating_sub(2 + 12 + 12).max(1);
    let lines: Vec<Line<'_>> = orders
        .iter()
        .map(|&o| {
            let n = s.by_order[o];
            let silent = s.silent_by_order[o];
            let label = if o == ORDERS - 1 { format!("{o}+") } else { o.to_string() };
            Line::from(vec![
                Span::raw(format!("o{label:<3} {:>6} ", compact(n))),
                Span::styled(format!("{:<bar_width$}", bar(n, max, bar_width)), Style::new().fg(Color::Yellow)),
                Span::styled(if silent > 0 { format!(" {:>3} silent", share(silent, n)) } else { String::new() }, DIM),
            ])
        })
        .collect();
    Paragraph::new(lines).block(block).render(area, buf);
}
