//! The known cause (fragtrace/causes.toml) of one of a row's stacks, for the stacks overlay.

use ratatui::{
    style::{Modifier, Style},
    text::Line,
};

use super::{DIM, fit};
use crate::{
    causes::{CauseInput, find, of_group},
    tui::{rows::FailureRow, screen::Screen},
};

/// "Known cause: …" and "Remedy: …" for stack `id` of `row`, or nothing when none matches.
/// A row grouped by process knows its comm, order and mask; other groupings match on the
/// stack alone.
pub fn lines(screen: &Screen, row: &FailureRow, id: u32, width: usize) -> Vec<Line<'static>> {
    // The same key as rows.rs gives a process row.
    let group = screen.snapshot.groups.iter().find(|g| format!("p\0{}\0{}\0{}", g.comm, g.order, g.gfp_mask) == row.key);
    let frames = screen.stacks.stack(id);
    let cause = match group {
        Some(g) => of_group(&g.comm, g.order, g.gfp_mask, frames.as_deref(), &screen.gfp),
        None => find(&CauseInput { frames: frames.as_deref().unwrap_or(&[]), ..CauseInput::default() }),
    };
    let Some(c) = cause else { return Vec::new() };
    vec![
        Line::styled(fit(&format!("  Known cause: {} ({})", c.title, c.id), width), Style::new().add_modifier(Modifier::ITALIC)),
        Line::styled(fit(&format!("  Remedy: {}", c.remedy), width), DIM),
    ]
}
