//! Failures: rows grouped by (comm, order, flags), cgroup or stack, with count, rate, last
//! seen and decoded GFP flags; the selected row is highlighted and kept in view.

use ratatui::{
    buffer::Buffer,
    layout::{Constraint, Rect},
    style::{Modifier, Style},
    text::Line,
    widgets::{Paragraph, Row, StatefulWidget, Table, TableState, Widget},
};

use super::{DIM, block, compact, fit, rate};
use crate::tui::{rows::failure_rows, screen::Screen, state::GroupBy};

pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer) {
    let rows = failure_rows(screen);
    let title = format!("Failures by {} — {} groups", screen.ui.group_by.label(), rows.len());
    let block = block(&title);
    if rows.is_empty() {
        let text = if screen.snapshot.failures == 0 {
            "no allocation failures since the start (or the last reset)"
        } else if screen.ui.group_by == GroupBy::Pod {
            "no failures in Kubernetes pods (g: other groupings)"
        } else {
            "no group matches the filter"
        };
        Paragraph::new(Line::styled(text, DIM)).block(block).render(area, buf);
        return;
    }
    let inner_width = area.width.saturating_sub(2) as usize;
    // COMM is at most 15 characters (TASK_COMM_LEN - 1); the flags get what they need, up
    // to what leaves the caller a useful width; the caller takes the rest.
    let fixed = 15 + 3 + 6 + 7 + 4 + 6;
    let longest_gfp = rows.iter().filter_map(|r| r.gfp.as_ref()).map(|g| g.chars().count()).max().unwrap_or(9).max(9);
    let gfp_width = longest_gfp.min(inner_width.saturating_sub(fixed + 14)).max(9) as u16;
    let (header, widths): (Vec<&str>, Vec<Constraint>) = match screen.ui.group_by {
        GroupBy::Process => (
            vec!["COMM", "ORD", "COUNT", "RATE", "LAST", "GFP FLAGS", "CALLER"],
            vec![
                Constraint::Length(15),
                Constraint::Length(3),
                Constraint::Length(6),
                Constraint::Length(7),
                Constraint::Length(4),
                Constraint::Length(gfp_width),
                Constraint::Fill(1),
            ],
        ),
        GroupBy::Pod | GroupBy::Cgroup | GroupBy::Stack => (
            vec![
                match screen.ui.group_by {
                    GroupBy::Pod => "POD",
                    GroupBy::Cgroup => "CGROUP",
                    _ => "CALLER (stack)",
                },
                "COUNT",
                "RATE",
                "LAST",
            ],
            vec![Constraint::Fill(1), Constraint::Length(7), Constraint::Length(8), Constraint::Length(5)],
        ),
    };
    let label_width = if screen.ui.group_by == GroupBy::Process { 15 } else { inner_width.saturating_sub(24).max(8) };
    let table_rows: Vec<Row<'_>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![fit(&r.label, label_width)];
            if screen.ui.group_by == GroupBy::Process {
                cells.push(r.order.map_or_else(String::new, |o| o.to_string()));
            }
            cells.push(compact(r.count));
            cells.push(rate(r.rate));
            cells.push(screen.ago(r.last_seen_ns));
            if screen.ui.group_by == GroupBy::Process {
                // Too long: drop the GFP_ prefix of composite names before cutting anything.
                let gfp = r.gfp.as_deref().unwrap_or_default();
                let gfp = if gfp.chars().count() > gfp_width as usize { gfp.replace("GFP_", "") } else { gfp.to_string() };
                cells.push(fit(&gfp, gfp_width as usize));
                cells.push(r.caller.clone().unwrap_or_else(|| "?".into()));
            }
            Row::new(cells)
        })
        .collect();
    let selected = screen.ui.selected.min(rows.len() - 1);
    let table = Table::new(table_rows, widths)
        .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .block(block);
    let mut state = TableState::default().with_selected(Some(selected));
    StatefulWidget::render(table, area, buf, &mut state);
}
