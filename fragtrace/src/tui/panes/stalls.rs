//! Stalls (direct compaction and reclaim) and OOM kills. Their probes come with the
//! fragmentation-state issue; until then the pane says so rather than show made-up zeros.

use ratatui::{
    buffer::Buffer,
    layout::{Constraint, Layout, Rect},
    text::Line,
    widgets::{Paragraph, Widget, Wrap},
};

use super::{DIM, block};
use crate::tui::screen::Screen;

pub fn render(_screen: &Screen, area: Rect, buf: &mut Buffer) {
    if area.height < 3 {
        Paragraph::new(Line::styled("Stalls: not yet collected · OOM kills: not yet collected", DIM)).render(area, buf);
        return;
    }
    let [stalls, oom] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    Paragraph::new(Line::styled("not yet collected (stall probes)", DIM))
        .wrap(Wrap { trim: true })
        .block(block("Stalls"))
        .render(stalls, buf);
    Paragraph::new(Line::styled("not yet collected (OOM probe)", DIM)).wrap(Wrap { trim: true }).block(block("OOM kills")).render(oom, buf);
}
