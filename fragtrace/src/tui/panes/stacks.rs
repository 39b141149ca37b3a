//! The `Enter` overlay: the selected group's most frequent kernel stacks, innermost first.

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Modifier, Style},
    text::Line,
    widgets::{Clear, Paragraph, Widget},
};

use super::{DIM, block, compact, fit};
use crate::tui::{rows::failure_rows, screen::Screen};

pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let rows = failure_rows(screen);
    let Some(row) = rows.get(screen.ui.selected.min(rows.len().saturating_sub(1))) else {
        Paragraph::new(Line::styled("nothing selected", DIM)).block(block("Stacks")).render(area, buf);
        return;
    };
    let width = area.width.saturating_sub(4) as usize;
    let mut lines = Vec::new();
    if row.stacks.is_empty() {
        lines.push(Line::styled("no kernel stacks for this row (group by process or stack to see them)", DIM));
    }
    for (id, count) in &row.stacks {
        lines.push(Line::styled(format!("{} failures · stack {id}", compact(*count)), Style::new().add_modifier(Modifier::BOLD)));
        lines.extend(super::cause::lines(screen, row, *id, width));
        match screen.stacks.stack(*id) {
            Some(frames) if !frames.is_empty() => lines.extend(frames.iter().map(|f| Line::raw(format!("  {}", fit(f, width))))),
            _ => lines.push(Line::styled("  (stack not captured)", DIM)),
        }
        lines.push(Line::raw(""));
    }
    let title = format!("Stacks of {} — ↑↓ PgUp PgDn scroll · Esc closes", fit(&row.label, 40));
    let max_scroll = (lines.len() as u16).saturating_sub(area.height.saturating_sub(2));
    Paragraph::new(lines).scroll((screen.ui.stack_scroll.min(max_scroll), 0)).block(block(&title)).render(area, buf);
}
