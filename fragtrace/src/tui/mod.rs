//! The full-screen live view (`fragtrace top` on a terminal).
//!
//! - [`screen::Screen`] is the immutable input of one frame: the aggregate snapshot, rates
//!   over the last refresh, UI state and an injected clock. Rendering is a pure function of
//!   it, so every pane is snapshot-tested with ratatui's `TestBackend`.
//! - [`state::UiState`] holds what the keys change (grouping, sorting, filter, selection,
//!   overlays) and maps keys to actions.
//! - [`rates`] turns two snapshots into per-row rates.
//! - [`panes`]: one module per pane, each `render(&Screen, Rect, &mut Buffer)`.
//! - [`terminal`]: raw mode and the alternate screen, restored on drop and on panic.

pub mod draw;
pub mod panes;
pub mod rates;
pub mod rows;
pub mod screen;
pub mod state;
pub mod terminal;

#[cfg(test)]
mod tests;
