//! The selection and scroll state of a virtualised list: only the visible window is ever built.

use crate::ui::action::PaneAction;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
    /// Rows visible at the last render (page size).
    pub page: usize,
    /// The row marked with `m` (`'` jumps back to it).
    pub mark: Option<usize>,
}

/// Draw the mark of `cursor` (set with `m`) on the left border of the box whose inner area is
/// `inner`, beside its row, when the row is in view (call after the rows are drawn); `len`:
/// the list's rows.
pub fn draw_mark(
    frame: &mut ratatui::Frame,
    inner: ratatui::layout::Rect,
    cursor: &Cursor,
    len: usize,
) {
    let Some(m) = cursor.mark.filter(|&m| m < len) else {
        return;
    };
    if inner.x == 0 || m < cursor.offset {
        return;
    }
    let row = m - cursor.offset;
    if row >= usize::from(inner.height) || row >= cursor.page.max(1) {
        return;
    }
    let y = inner.y + row as u16;
    if let Some(cell) = frame.buffer_mut().cell_mut((inner.x - 1, y)) {
        cell.set_symbol("'");
        cell.set_style(ratatui::style::Style::new().add_modifier(ratatui::style::Modifier::BOLD));
    }
}

impl Cursor {
    /// Apply a movement key (arrows, h/j/k/l, PgUp/PgDn, g/G, Home/End) over `len` rows.
    /// Returns false for keys that are not movement.
    pub fn handle(&mut self, key: &KeyEvent, len: usize) -> bool {
        let page = self.page.max(1);
        let last = len.saturating_sub(1);
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => self.selected = (self.selected + 1).min(last),
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::PageDown => self.selected = (self.selected + page).min(last),
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(page),
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = last,
            _ => return false,
        }
        true
    }

    /// Select `row` and scroll so it sits in the middle of the window (a search hit, a jump),
    /// rather than at its edge.
    pub fn center(&mut self, row: usize) {
        self.selected = row;
        self.offset = row.saturating_sub(self.page / 2);
    }

    /// Apply a movement action (down, up, page, first, last) over `len` rows. Returns false
    /// for actions that are not movement.
    pub fn act(&mut self, action: PaneAction, len: usize) -> bool {
        let page = self.page.max(1);
        let last = len.saturating_sub(1);
        match action {
            PaneAction::Down => self.selected = (self.selected + 1).min(last),
            PaneAction::Up => self.selected = self.selected.saturating_sub(1),
            PaneAction::PageDown => self.selected = (self.selected + page).min(last),
            PaneAction::PageUp => self.selected = self.selected.saturating_sub(page),
            PaneAction::First => self.selected = 0,
            PaneAction::Last => self.selected = last,
            _ => return false,
        }
        true
    }

    /// Keep the selection inside `len` and visible in `height` rows; returns the visible range.
    pub fn window(&mut self, len: usize, height: usize) -> std::ops::Range<usize> {
        self.page = height;
        if len == 0 {
            self.selected = 0;
            self.offset = 0;
            return 0..0;
        }
        self.selected = self.selected.min(len - 1);
        if self.selected < self.offset {
            self.offset = self.selected;
        }
        if height > 0 && self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height.max(1)));
        self.offset..(self.offset + height).min(len)
    }

    /// [`Cursor::window`] for items of several lines each (`heights`, wrapped text) in
    /// `lines` lines: the items from the offset that fit, the offset moved down until the
    /// selected item's last line shows (an item taller than the window still shows its top).
    pub fn window_tall(&mut self, heights: &[usize], lines: usize) -> std::ops::Range<usize> {
        let len = heights.len();
        if len == 0 {
            return self.window(0, lines);
        }
        self.selected = self.selected.min(len - 1);
        self.offset = self.offset.min(self.selected);
        let sum = |r: std::ops::Range<usize>| heights[r].iter().sum::<usize>();
        while self.offset < self.selected && sum(self.offset..self.selected + 1) > lines {
            self.offset += 1;
        }
        let mut end = self.offset + 1;
        while end < len && sum(self.offset..end + 1) <= lines {
            end += 1;
        }
        self.page = (end - self.offset).max(1);
        self.offset..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn k(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn moves_and_scrolls_within_bounds() {
        let mut c = Cursor::default();
        assert_eq!(c.window(100, 10), 0..10);
        assert!(c.handle(&k(KeyCode::Char('G')), 100));
        assert_eq!(c.window(100, 10), 90..100);
        assert!(c.handle(&k(KeyCode::PageUp), 100));
        assert_eq!(c.selected, 89);
        assert!(c.handle(&k(KeyCode::Char('g')), 100));
        assert_eq!(c.window(100, 10), 0..10);
        assert!(!c.handle(&k(KeyCode::Char('x')), 100));
        assert_eq!(c.window(0, 10), 0..0);
        c.selected = 50;
        assert_eq!(c.window(5, 10), 0..5);
        assert_eq!(c.selected, 4);
    }

    #[test]
    fn tall_items_scroll_until_the_selected_one_shows_whole() {
        let mut c = Cursor::default();
        let heights = [2, 3, 1, 4, 2];
        assert_eq!(c.window_tall(&heights, 6), 0..3);
        c.selected = 3;
        // Items 2 and 3 take 5 lines; adding item 1 would take 8.
        assert_eq!(c.window_tall(&heights, 6), 2..4);
        c.selected = 4;
        assert_eq!(c.window_tall(&heights, 6), 3..5);
        c.selected = 0;
        assert_eq!(c.window_tall(&heights, 6), 0..3);
        // An item taller than the window shows alone.
        assert_eq!(c.window_tall(&[9, 1], 4), 0..1);
        assert_eq!(c.window_tall(&[], 4), 0..0);
    }

    #[test]
    fn a_centred_row_sits_mid_window() {
        let mut c = Cursor::default();
        c.window(1000, 20);
        c.center(500);
        assert_eq!(c.window(1000, 20), 490..510);
        c.center(3);
        assert_eq!(c.window(1000, 20), 0..20);
        c.center(999);
        assert_eq!(c.window(1000, 20), 980..1000);
        assert_eq!(c.selected, 999);
    }
}
