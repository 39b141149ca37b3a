//! Lays the panes out for the terminal's size and draws one frame. Generic over the
//! ratatui backend: the real terminal and the tests' `TestBackend` take the same path.

use ratatui::{
    Frame,
    layout::{Constraint, Direction, Layout, Rect},
};

use super::{
    panes::{extfrag, failures, footer, header, help, orders, polluters, stacks, stalls, zones, zones_census},
    screen::Screen,
};

/// Wide enough for the two-column layout: the right column must hold a zone row (~54).
const WIDE: u16 = 150;

pub fn draw(frame: &mut Frame<'_>, screen: &Screen) {
    let area = frame.area();
    let buf = frame.buffer_mut();
    let [head, body, foot] = Layout::vertical([Constraint::Length(2), Constraint::Min(0), Constraint::Length(1)]).areas(area);
    header::render(screen, head, buf);
    footer::render(screen, foot, buf);
    let zone_rows = screen.snapshot.zones.len().clamp(1, 8) as u16;
    if area.width >= WIDE {
        let [left, right] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(body);
        let [fail, ord] = Layout::vertical([Constraint::Min(6), Constraint::Length(13)]).areas(left);
        let extfrag_rows = (screen.snapshot.extfrag_groups.len() as u16).clamp(1, 12) + 4;
        let s = &screen.snapshot;
        let stall_rows = (s.stalls.len().max(s.ooms.len() + 1) as u16 + 4).clamp(3, 14);
        let [zon, ext, stl, who] = Layout::vertical([
            Constraint::Length(zone_rows + 3 + zones_census::rows(screen, 3)),
            Constraint::Length(extfrag_rows),
            Constraint::Length(stall_rows),
            Constraint::Min(0),
        ])
        .areas(right);
        failures::render(screen, fail, buf);
        orders::render(screen, ord, buf);
        zones::render(screen, zon, buf);
        extfrag::render(screen, ext, buf);
        stalls::render(screen, stl, buf);
        if polluters::has_data(screen) {
            polluters::render(screen, who, buf);
        }
    } else {
        // On short terminals the failures pane gets the rows: the stall panes shrink to a
        // line and the middle row loses one.
        let short = area.height < 30;
        let zone_height = zone_rows.min(3) + 3 + zones_census::rows(screen, 1);
        let (mid_height, stall_height) = if short { (6, 1) } else { (7, 1) };
        let [fail, mid, zon, stl] = Layout::vertical([
            Constraint::Min(5),
            Constraint::Length(mid_height),
            Constraint::Length(zone_height),
            Constraint::Length(stall_height),
        ])
        .areas(body);
        let [ord, ext] = Layout::new(Direction::Horizontal, [Constraint::Percentage(45), Constraint::Percentage(55)]).areas(mid);
        failures::render(screen, fail, buf);
        orders::render(screen, ord, buf);
        extfrag::render(screen, ext, buf);
        zones::render(screen, zon, buf);
        stalls::render(screen, stl, buf);
    }
    if screen.ui.show_stacks {
        stacks::render(screen, centered(area, 90, 80), buf);
    }
    if screen.ui.show_help {
        let w = if area.width < 100 { 96 } else { 60 };
        help::render(screen, centered(area, w, 96), buf);
    }
}

/// A rectangle `pct_w` × `pct_h` percent of `area`, centred.
pub fn centered(area: Rect, pct_w: u16, pct_h: u16) -> Rect {
    // u32: width × percent overflows u16 on very wide terminals.
    let w = (u32::from(area.width) * u32::from(pct_w) / 100) as u16;
    let h = (u32::from(area.height) * u32::from(pct_h) / 100) as u16;
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}
