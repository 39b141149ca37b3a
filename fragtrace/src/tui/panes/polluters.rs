//! Who fragments: the processes, pods and kernel stacks behind the extfrag fallbacks, most
//! harmful first (a stolen pageblock weighs most, see `aggregate::polluters`).

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Modifier, Style},
    text::Line,
    widgets::{Paragraph, Widget},
};

use super::{DIM, block, compact, fit};
use crate::{aggregate::HarmCounts, tui::screen::Screen, view::polluters::fallback_caller};

/// Whether there is anything to show (the pane is drawn only then).
pub fn has_data(screen: &Screen) -> bool {
    !screen.snapshot.polluters.by_comm.is_empty()
}

fn row(name: &str, c: &HarmCounts, name_width: usize) -> Line<'static> {
    Line::raw(format!(
        "{:<name_width$} {:>6} {:>6} {:>6} {:>6}",
        fit(name, name_width),
        compact(c.harm()),
        compact(c.stolen),
        compact(c.fragmenting),
        compact(c.other)
    ))
}

pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer) {
    let p = &screen.snapshot.polluters;
    let block = block("Who fragments");
    if p.by_comm.is_empty() {
        Paragraph::new(Line::styled("no extfrag fallbacks", DIM)).block(block).render(area, buf);
        return;
    }
    let rows = usize::from(area.height.saturating_sub(3));
    let name_width = usize::from(area.width.saturating_sub(2)).saturating_sub(4 * 7).clamp(8, 40);
    let mut lines = vec![Line::styled(
        format!("{:<name_width$} {:>6} {:>6} {:>6} {:>6}", "PROCESS / pod / stack", "HARM", "STOLEN", "FRAG", "OTHER"),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    // Processes first, then pods and stacks in what room is left (at least one of each).
    let pods = p.by_pod.len().min(1);
    let stacks = p.stacks.len().min(1);
    let comms = rows.saturating_sub(pods + stacks).max(1);
    lines.extend(p.by_comm.iter().take(comms).map(|c| row(&c.comm, &c.counts, name_width)));
    lines.extend(p.by_pod.iter().take(pods).map(|c| row(&format!("pod {}", c.pod), &c.counts, name_width)));
    for s in p.stacks.iter().take(stacks) {
        let frames = screen.stacks.stack(s.stack_id);
        let caller = frames.as_deref().and_then(fallback_caller).unwrap_or("?");
        lines.push(row(&format!("stack {caller}"), &s.counts, name_width));
    }
    Paragraph::new(lines).block(block).render(area, buf);
}
