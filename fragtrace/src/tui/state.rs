//! What the keys change, and which key does what. Kept apart from drawing so key handling is
//! tested without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupBy {
    /// (comm, order, GFP flags): who fails, how.
    #[default]
    Process,
    /// Kubernetes pod (namespace/name, from the cgroup path and the OCI bundle).
    Pod,
    Cgroup,
    /// The kernel call path.
    Stack,
}

impl GroupBy {
    pub fn next(self) -> Self {
        match self {
            GroupBy::Process => GroupBy::Pod,
            GroupBy::Pod => GroupBy::Cgroup,
            GroupBy::Cgroup => GroupBy::Stack,
            GroupBy::Stack => GroupBy::Process,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            GroupBy::Process => "process/order/flags",
            GroupBy::Pod => "pod",
            GroupBy::Cgroup => "cgroup",
            GroupBy::Stack => "stack",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortBy {
    #[default]
    Count,
    Rate,
    LastSeen,
    Order,
}

impl SortBy {
    pub fn next(self) -> Self {
        match self {
            SortBy::Count => SortBy::Rate,
            SortBy::Rate => SortBy::LastSeen,
            SortBy::LastSeen => SortBy::Order,
            SortBy::Order => SortBy::Count,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            SortBy::Count => "count",
            SortBy::Rate => "rate",
            SortBy::LastSeen => "last seen",
            SortBy::Order => "order",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UiState {
    pub group_by: GroupBy,
    pub sort: SortBy,
    /// Substring filter over the failure rows' labels (`/`).
    pub filter: String,
    /// Typing into the filter.
    pub editing_filter: bool,
    /// Index of the selected failure row.
    pub selected: usize,
    /// The selected group's stacks are shown (`Enter`).
    pub show_stacks: bool,
    /// First line shown in the stacks overlay (↑/↓/PgUp/PgDn scroll it).
    pub stack_scroll: u16,
    pub show_help: bool,
    pub paused: bool,
    /// Order for the zones' indices; `None`: automatic.
    pub zone_order: Option<u32>,
}

/// What a key asks of the app beyond changing `UiState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing to do (unbound key).
    None,
    /// State changed: draw again.
    Redraw,
    /// Forget the counts so far.
    Reset,
    Quit,
}

impl UiState {
    pub fn handle(&mut self, key: KeyEvent, rows: usize, auto_zone_order: u32) -> Action {
        // Rows come and go between refreshes: never act on a selection past the end.
        self.selected = self.selected.min(rows.saturating_sub(1));
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Action::Quit;
        }
        if self.editing_filter {
            match key.code {
                KeyCode::Enter => self.editing_filter = false,
                KeyCode::Esc => {
                    self.editing_filter = false;
                    self.filter.clear();
                }
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) if !c.is_control() && self.filter.chars().count() < 64 => self.filter.push(c),
                _ => return Action::None,
            }
            self.selected = 0;
            return Action::Redraw;
        }
        if self.show_stacks {
            match key.code {
                KeyCode::Up | KeyCode::Char('k') => self.stack_scroll = self.stack_scroll.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => self.stack_scroll = self.stack_scroll.saturating_add(1),
                KeyCode::PageUp => self.stack_scroll = self.stack_scroll.saturating_sub(10),
                KeyCode::PageDown => self.stack_scroll = self.stack_scroll.saturating_add(10),
                KeyCode::Home => self.stack_scroll = 0,
                _ => {}
            }
            if matches!(key.code, KeyCode::Up | KeyCode::Down | KeyCode::Char('k') | KeyCode::Char('j') | KeyCode::PageUp | KeyCode::PageDown | KeyCode::Home) {
                return Action::Redraw;
            }
        }
        if self.show_help || self.show_stacks {
            // Overlays close on Esc, Enter, q or their own key; everything else is ignored.
            return match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('?') | KeyCode::Char('q') => {
                    self.show_help = false;
                    self.show_stacks = false;
                    Action::Redraw
                }
                _ => Action::None,
            };
        }
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('r') => return Action::Reset,
            KeyCode::Char('p') => self.paused = !self.paused,
            KeyCode::Char('?') => self.show_help = true,
            KeyCode::Char('s') => self.sort = self.sort.next(),
            KeyCode::Char('g') => {
                self.group_by = self.group_by.next();
                self.selected = 0;
            }
            KeyCode::Char('/') => self.editing_filter = true,
            KeyCode::Esc if !self.filter.is_empty() => self.filter.clear(),
            KeyCode::Char('o') => self.zone_order = Some((self.zone_order.unwrap_or(auto_zone_order) + 1) % 11),
            KeyCode::Char('O') => self.zone_order = None,
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.selected = (self.selected + 1).min(rows.saturating_sub(1)),
            KeyCode::Home => self.selected = 0,
            KeyCode::End => self.selected = rows.saturating_sub(1),
            KeyCode::Enter if rows > 0 => {
                self.show_stacks = true;
                self.stack_scroll = 0;
            }
            _ => return Action::None,
        }
        Action::Redraw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn keys_change_state_and_ask_for_actions() {
        let mut ui = UiState::default();
        assert_eq!(ui.handle(key(KeyCode::Char('q')), 0, 3), Action::Quit);
        assert_eq!(ui.handle(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), 0, 3), Action::Quit);
        assert_eq!(ui.handle(key(KeyCode::Char('r')), 0, 3), Action::Reset);
        ui.handle(key(KeyCode::Char('p')), 0, 3);
        assert!(ui.paused);
        ui.handle(key(KeyCode::Char('s')), 0, 3);
        assert_eq!(ui.sort, SortBy::Rate);
        ui.handle(key(KeyCode::Char('g')), 0, 3);
        assert_eq!(ui.group_by, GroupBy::Pod);
        ui.handle(key(KeyCode::Char('g')), 0, 3);
        assert_eq!(ui.group_by, GroupBy::Cgroup);
        for _ in 0..5 {
            ui.handle(key(KeyCode::Down), 3, 3);
        }
        assert_eq!(ui.selected, 2, "selection stops at the last row");
        ui.handle(key(KeyCode::Enter), 3, 3);
        assert!(ui.show_stacks);
        ui.handle(key(KeyCode::Down), 3, 3);
        ui.handle(key(KeyCode::PageDown), 3, 3);
        assert_eq!((ui.stack_scroll, ui.selected), (11, 2), "arrows scroll the open overlay, not the rows");
        assert_eq!(ui.handle(key(KeyCode::Char('r')), 3, 3), Action::None, "overlays swallow other keys");
        ui.handle(key(KeyCode::Esc), 3, 3);
        assert!(!ui.show_stacks);
        ui.handle(key(KeyCode::Char('o')), 3, 6);
        assert_eq!(ui.zone_order, Some(7), "o starts from the automatic order");
        ui.handle(key(KeyCode::Char('O')), 3, 6);
        assert_eq!(ui.zone_order, None);
    }

    #[test]
    fn a_selection_past_the_end_is_clamped_first() {
        let mut ui = UiState { selected: 40, ..Default::default() };
        ui.handle(key(KeyCode::Up), 3, 3);
        assert_eq!(ui.selected, 1, "one press moves from the last row, not from row 40");
    }

    #[test]
    fn the_filter_is_typed_in_place() {
        let mut ui = UiState { selected: 4, ..Default::default() };
        ui.handle(key(KeyCode::Char('/')), 9, 3);
        for c in "q?my".chars() {
            assert_eq!(ui.handle(key(KeyCode::Char(c)), 9, 3), Action::Redraw, "while typing, q and ? are text");
        }
        ui.handle(key(KeyCode::Backspace), 9, 3);
        ui.handle(key(KeyCode::Enter), 9, 3);
        assert_eq!(ui.filter, "q?m");
        assert_eq!(ui.selected, 0);
        assert!(!ui.editing_filter);
        ui.handle(key(KeyCode::Esc), 9, 3);
        assert_eq!(ui.filter, "");
    }
}
