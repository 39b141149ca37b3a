//! Footer: the filter being typed, or the keys.

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Modifier, Style},
    text::{Line, Span},
    widgets::{Paragraph, Widget},
};

use super::DIM;
use crate::tui::screen::Screen;

pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer) {
    let ui = &screen.ui;
    let line = if ui.editing_filter {
        Line::from(vec![
            Span::styled("filter: ", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!("{}▏", ui.filter)),
            Span::styled("  Enter apply · Esc clear", DIM),
        ])
    } else {
        let filter = if ui.filter.is_empty() { String::new() } else { format!(" \"{}\"", ui.filter) };
        let text = if area.width >= 120 {
            format!(
                "q quit · p pause · r reset · g group ({}) · s sort ({}) · / filter{filter} · ↑↓ Enter stacks · o order · ? help",
                ui.group_by.label(),
                ui.sort.label(),
            )
        } else {
            format!("q quit p pause r reset g group s sort({}) /{filter} ↑↓⏎ stacks o order ? help", ui.sort.label())
        };
        Line::from(Span::styled(text, DIM))
    };
    Paragraph::new(line).render(area, buf);
}
