//! One module per pane; each renders from the immutable `Screen` into a buffer region.

pub mod cause;
pub mod extfrag;
pub mod failures;
pub mod footer;
pub mod header;
pub mod help;
pub mod orders;
pub mod polluters;
pub mod stacks;
pub mod stalls;
pub mod zones;
pub mod zones_census;

use ratatui::{
    style::{Color, Modifier, Style},
    text::Span,
    widgets::{Block, Borders},
};

/// A bordered block with a bold title.
pub fn block(title: &str) -> Block<'_> {
    Block::default().borders(Borders::ALL).title(Span::styled(format!(" {title} "), Style::default().add_modifier(Modifier::BOLD)))
}

pub use crate::view::text::bar_of_width as bar;

/// Compact counts: 999, 12.3k, 4.5M.
pub fn compact(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

/// Rates: "-" for zero, one decimal below 10.
pub fn rate(r: f64) -> String {
    if r <= 0.0 {
        "-".into()
    } else if r < 10.0 {
        format!("{r:.1}/s")
    } else {
        format!("{}/s", compact(r.round() as u64))
    }
}

/// Cuts `s` to `width` characters, marking the cut with `…`.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const WARN: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
