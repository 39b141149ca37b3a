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

/// "12%", "<1%" for a non-zero share that rounds to zero, "0%" for none.
pub fn share(part: u64, whole: u64) -> String {
    if whole == 0 || part == 0 {
        return "0%".into();
    }
    let pct = part as f64 * 100.0 / whole as f64;
    if pct < 1.0 { "<1%".into() } else { format!("{pct:.0}%") }
}

pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer) {
    let h = &screen.header;
    let s = &screen.snapshot;
    let r = &screen.rates;
    let mut first = Vec::new();
    // What qualifies every number comes first, so a narrow terminal cannot cut it off.
    if screen.ui.paused {
        first.push(Span::styled("PAUSED · ", WARN));
    }
    first.push(Span::styled("fragtrace ", Style::new().add_modifier(Modifier::BOLD)));
    first.push(Span::raw(format!("{} · up {} · every {:.1}s · {} · kernel {}", h.host, uptime(h.elapsed_s), h.interval_s, h.probe_mode, h.kernel)));
    if let Some(replay) = &h.replay {
        first.push(Span::styled(format!(" · replay {replay}"), DIM));
    }
    // Last: the least essential, and the first thing a narrow terminal cuts.
    if let Some(a) = &s.alloc_probe {
        let style = if a.attached { Style::new() } else { DIM };
        first.push(Span::styled(format!(" · per-alloc probe {}", a.describe()), style));
    }
    let mut second = Vec::new();
    if s.lost > 0 {
        second.push(Span::styled(format!("DROPPED {} · ", compact(s.lost)), WARN));
    }
    if !h.filters.is_empty() {
        second.push(Span::styled(format!("filter {} · ", h.filters), Style::new().add_modifier(Modifier::BOLD)));
    }
    second.push(Span::raw(format!(
        "events {} · failures {} ({}, {} silent) · extfrag {} ({}) · allocs {}",
        rate(r.failures_per_s + r.extfrag_per_s),
        compact(s.failures),
        rate(r.failures_per_s),
        share(s.silent_failures, s.failures),
        compact(s.extfrag),
        rate(r.extfrag_per_s),
        rate(r.allocs_per_s),
    )));
    if s.lost == 0 {
        second.push(Span::styled(" · no drops", DIM));
    }
    Paragraph::new(vec![Line::from(first), Line::from(second)]).render(area, buf);
}

#[cfg(test)]
mod tests {
    #[test]
    fn shares_never_hide_a_few() {
        assert_eq!(super::share(1, 1000), "<1%");
        assert_eq!(super::share(0, 1000), "0%");
        assert_eq!(super::share(5, 10), "50%");
        assert_eq!(super::share(3, 0), "0%");
    }
}
