//! Header: host, kernel, trace uptime, probe mode, rates, drops (red when non-zero),
//! refresh interval, filters.

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Modifier, Style},
    text::{Line, Span},
    widgets::{Paragraph, Widget},
};

use super::{DIM, WARN, compact, rate};
use crate::tui::screen::Screen;

fn uptime(s: f64) -> String {
    let s = s.max(0.0) as u64;
    if s < 3600 { format!("{}m{:02}s", s / 60, s % 60) } else { format!("{}h{:02}m", s / 3600, s % 3600 / 60) }
}

pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer) {
    let h = &screen.header;
    let s = &screen.snapshot;
    let r = &screen.rates;
    let mut first = vec![
        Span::styled("fragtrace ", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!("{} · kernel {} · {} · up {} · every {:.1}s", h.host, h.kernel, h.probe_mode, uptime(h.elapsed_s), h.interval_s)),
    ];
    if let Some(replay) = &h.replay {
        first.push(Span::styled(format!(" · replay {replay}"), DIM));
    }
    if !h.filters.is_empty() {
        first.push(Span::raw(format!(" · filter {}", h.filters)));
    }
    if screen.ui.paused {
        first.push(Span::styled(" · PAUSED", WARN));
    }
    let silent = if s.failures > 0 { s.silent_failures * 100 / s.failures } else { 0 };
    let mut second = Vec::new();
    // Drops come first when there are any: they qualify every other number.
    if s.lost > 0 {
        second.push(Span::styled(format!("DROPPED {} · ", compact(s.lost)), WARN));
    }
    second.push(Span::raw(format!(
        "allocs {} · failures {} ({}, {silent}% silent) · extfrag {} ({})",
        rate(r.allocs_per_s),
        compact(s.failures),
        rate(r.failures_per_s),
        compact(s.extfrag),
        rate(r.extfrag_per_s),
    )));
    if s.lost == 0 {
        second.push(Span::styled(" · no drops", DIM));
    }
    Paragraph::new(vec![Line::from(first), Line::from(second)]).render(area, buf);
}
