//! Searching a pane: `/` opens a search line (it takes every key while open), Enter applies
//! it, Esc cancels; `n` and `N` step to the next and previous match, wrapping around. The
//! match is a case-insensitive substring of what a row shows.
//!
//! A pane lays its lists end to end in screen order (one flat row index over all of them) and
//! says which rows match; [`Search::jump`] finds the row to go to and words the status line.

use super::super::action::Outcome;
use super::super::theme::Theme;
use super::input::{InputEvent, LineInput};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};

/// Where a search moves the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jump {
    /// The first match at or after the cursor (Enter on the search line).
    First,
    /// The next match after the cursor (`n`).
    Next,
    /// The previous match before the cursor (`N`).
    Prev,
}

/// What a key did to the open search line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Still typing.
    Editing,
    /// Esc: the line closed, the previous query stays.
    Cancelled,
    /// Enter: the query is applied (an empty one clears the search).
    Applied,
}

/// The search state of a pane: the open search line, if any, and the applied query.
#[derive(Default)]
pub struct Search {
    input: Option<LineInput>,
    query: String,
    /// The query lowercased, compared against lowercased row text.
    needle: String,
}

impl Search {
    /// Open the search line, holding the current query.
    pub fn open(&mut self, label: &'static str) {
        self.input = Some(LineInput::new(label, &self.query));
    }

    /// The search line is open (the pane captures input).
    pub fn is_open(&self) -> bool {
        self.input.is_some()
    }

    /// The applied query (empty: none).
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Apply a query without the search line.
    pub fn set_query(&mut self, query: &str) {
        self.query = query.trim().to_string();
        self.needle = self.query.to_lowercase();
    }

    /// Take a key while the search line is open.
    /// While the search line is open: edit it with `key` (`Some(true)`: Enter applied it, so
    /// jump to the first match); `None` when it is closed (the key is not the search's).
    pub fn edit_open(&mut self, key: KeyEvent) -> Option<bool> {
        self.is_open().then(|| self.edit(key) == Edit::Applied)
    }

    pub fn edit(&mut self, key: KeyEvent) -> Edit {
        let Some(input) = &mut self.input else {
            return Edit::Cancelled;
        };
        match input.handle(key) {
            InputEvent::Submit(text) => {
                self.input = None;
                self.set_query(&text);
                Edit::Applied
            }
            InputEvent::Cancel => {
                self.input = None;
                Edit::Cancelled
            }
            InputEvent::Edited => Edit::Editing,
        }
    }

    /// Whether `text` contains the query, ignoring case (never, without a query).
    pub fn matches(&self, text: &str) -> bool {
        !self.needle.is_empty() && text.to_lowercase().contains(&self.needle)
    }

    /// Whether any of `fields` contains the query.
    pub fn matches_any<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> bool {
        !self.needle.is_empty() && fields.into_iter().any(|f| self.matches(f))
    }

    /// Split `area` into the pane's part and the search line (three rows at the bottom while
    /// the line is open, none otherwise).
    pub fn split(&self, area: Rect) -> (Rect, Rect) {
        let h = if self.is_open() && area.height > 6 {
            3
        } else {
            0
        };
        let [main, line] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(h)]).areas(area);
        (main, line)
    }

    /// Draw the search line (when open) into `area` (from [`Search::split`]).
    pub fn render(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        if let Some(input) = &mut self.input
            && area.height > 0
        {
            input.render(frame, area, theme);
        }
    }

    /// Find where `how` goes among `len` rows from the flat row `cursor`; `hit` says whether a
    /// row matches. Returns the row to move to (`None`: stay) and what to tell the user:
    /// which match of how many, whether the search wrapped, or that nothing matches (`what`
    /// names the rows: "no module or frame matches ...").
    pub fn jump(
        &self,
        len: usize,
        cursor: usize,
        how: Jump,
        what: &str,
        hit: impl Fn(usize) -> bool,
    ) -> (Option<usize>, Outcome) {
        if self.needle.is_empty() {
            return match how {
                Jump::First => (None, Outcome::Message("search cleared".into())),
                _ => (
                    None,
                    Outcome::Message("no search yet: press / first".into()),
                ),
            };
        }
        let hits: Vec<usize> = (0..len).filter(|&i| hit(i)).collect();
        if hits.is_empty() {
            return (
                None,
                Outcome::Message(format!("no {what} matches {:?}", self.query)),
            );
        }
        let cursor = cursor.min(len.saturating_sub(1));
        // `hits` is sorted: the next is the first past the cursor, else the search wraps.
        let (pos, wrapped) = match how {
            Jump::First => match hits.iter().position(|&i| i >= cursor) {
                Some(p) => (p, false),
                None => (0, true),
            },
            Jump::Next => match hits.iter().position(|&i| i > cursor) {
                Some(p) => (p, false),
                None => (0, true),
            },
            Jump::Prev => match hits.iter().rposition(|&i| i < cursor) {
                Some(p) => (p, false),
                None => (hits.len() - 1, true),
            },
        };
        let note = match (wrapped, how) {
            (false, _) => "",
            (true, Jump::Prev) => " (search hit the top, went on from the bottom)",
            (true, _) => " (search hit the bottom, went on from the top)",
        };
        (
            Some(hits[pos]),
            Outcome::Message(format!(
                "/{}: match {} of {}{note}",
                self.query,
                pos + 1,
                hits.len()
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    fn typed(q: &str) -> Search {
        let mut s = Search::default();
        s.open("Search");
        assert!(s.is_open());
        for c in q.chars() {
            assert_eq!(
                s.edit(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
                Edit::Editing
            );
        }
        assert_eq!(
            s.edit(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            Edit::Applied
        );
        assert!(!s.is_open());
        s
    }

    const ROWS: [&str; 6] = [
        "ntoskrnl.exe",
        "FileCrypt.sys",
        "hal.dll",
        "filecrypt.sys!Init",
        "cdrom.sys",
        "FILECRYPT",
    ];

    #[test]
    fn first_next_previous_and_wrap() {
        let s = typed("filecrypt");
        let hit = |i: usize| s.matches(ROWS[i]);
        // Enter: at or after the cursor.
        assert_eq!(s.jump(6, 1, Jump::First, "row", hit).0, Some(1));
        assert_eq!(s.jump(6, 2, Jump::First, "row", hit).0, Some(3));
        // n: strictly after; past the last match it wraps to the first and says so.
        assert_eq!(s.jump(6, 1, Jump::Next, "row", hit).0, Some(3));
        let (to, out) = s.jump(6, 5, Jump::Next, "row", hit);
        assert_eq!(to, Some(1));
        assert_eq!(
            out,
            Outcome::Message(
                "/filecrypt: match 1 of 3 (search hit the bottom, went on from the top)".into()
            )
        );
        // N: strictly before; before the first it wraps to the last.
        assert_eq!(s.jump(6, 3, Jump::Prev, "row", hit).0, Some(1));
        let (to, out) = s.jump(6, 1, Jump::Prev, "row", hit);
        assert_eq!(to, Some(5));
        assert!(
            matches!(out, Outcome::Message(m) if m.contains("match 3 of 3") && m.contains("hit the top"))
        );
    }

    #[test]
    fn no_match_no_query_and_cancel() {
        let s = typed("nothing-like-it");
        let (to, out) = s.jump(6, 0, Jump::First, "row", |i| s.matches(ROWS[i]));
        assert_eq!(to, None);
        assert_eq!(
            out,
            Outcome::Message("no row matches \"nothing-like-it\"".into())
        );
        let empty = Search::default();
        assert!(!empty.matches("anything"));
        assert_eq!(empty.jump(6, 0, Jump::Next, "row", |_| true).0, None);
        // Esc keeps the applied query.
        let mut s = typed("hal");
        s.open("Search");
        s.edit(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(
            s.edit(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
            Edit::Cancelled
        );
        assert_eq!(s.query(), "hal");
        assert!(s.matches("HAL.DLL"));
    }
}
