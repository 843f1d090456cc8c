//! The column chooser of any table (htop's F2): a popup listing the table's titled columns,
//! each shown or hidden with Space (or Enter); j/k move, Esc closes. One column always stays.
//! It edits the table's [`TableView`], which the table reads at its next render.

use super::table::{Column, TableView};
use crate::ui::action::{Outcome, PaneAction};
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;

/// An open chooser: the row under its cursor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColumnChooser {
    pub at: usize,
}

/// The indices of the columns the chooser lists (the titled ones; marker columns stay).
fn listed(columns: &[Column]) -> Vec<usize> {
    (0..columns.len())
        .filter(|&i| !columns[i].title.is_empty())
        .collect()
}

impl ColumnChooser {
    /// Handle a key while open; `false` when the key closed it.
    pub fn key(&mut self, key: KeyEvent, view: &mut TableView, columns: &[Column]) -> bool {
        let list = listed(columns);
        let n = list.len().max(1);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('C') => return false,
            KeyCode::Down | KeyCode::Char('j') => self.at = (self.at + 1) % n,
            KeyCode::Up | KeyCode::Char('k') => self.at = (self.at + n - 1) % n,
            KeyCode::Char(' ') | KeyCode::Enter => {
                if let Some(&i) = list.get(self.at) {
                    let shown = list.iter().filter(|&&c| !view.is_hidden(c)).count();
                    if shown > 1 || view.is_hidden(i) {
                        view.toggle(i);
                        view.skip = 0;
                    }
                }
            }
            _ => {}
        }
        true
    }

    /// Draw the chooser centred over `area`.
    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        view: &TableView,
        columns: &[Column],
    ) {
        let title = "Columns: Space shows/hides (Esc)";
        let rows: Vec<String> = listed(columns)
            .into_iter()
            .map(|i| {
                let on = if view.is_hidden(i) {
                    "[ ] hidden "
                } else {
                    "[x] shown  "
                };
                format!("{on}{}", columns[i].title)
            })
            .collect();
        super::popup::choice_list(frame, area, title, &rows, self.at, theme);
    }
}

/// What a pane keeps of one of its tables' layout: the view (hidden columns, sideways scroll,
/// wrap), the columns of its last render, and the chooser when open. `W`, `C`, `<`/`>` act the
/// same in every table through it.
#[derive(Clone, Debug, Default)]
pub struct TableLayout {
    pub view: TableView,
    /// The columns of the last render (the scroll and the chooser count them).
    pub columns: Vec<Column>,
    pub chooser: Option<ColumnChooser>,
}

impl TableLayout {
    /// The chooser is open: it takes every key (`q` and the digits too) until Esc.
    pub fn is_open(&self) -> bool {
        self.chooser.is_some()
    }

    /// Remember the columns drawn this time.
    pub fn drawn(&mut self, columns: &[Column]) {
        columns.clone_into(&mut self.columns);
    }

    /// A key while the chooser is open (`None`: it is not).
    pub fn key(&mut self, key: KeyEvent) -> Option<Outcome> {
        let c = self.chooser.as_mut()?;
        if !c.key(key, &mut self.view, &self.columns) {
            self.chooser = None;
        }
        Some(Outcome::Consumed)
    }

    /// `W`, `C`, `<`, `>` (`None` for any other action).
    pub fn act(&mut self, action: PaneAction) -> Option<Outcome> {
        Some(match action {
            PaneAction::Wrap => {
                self.view.wrap = !self.view.wrap;
                Outcome::Message(
                    if self.view.wrap {
                        "long cells wrap"
                    } else {
                        "long cells are shortened"
                    }
                    .into(),
                )
            }
            PaneAction::Columns => {
                self.chooser = Some(ColumnChooser::default());
                Outcome::Consumed
            }
            PaneAction::ColumnsLeft | PaneAction::ColumnsRight => {
                if self
                    .view
                    .scroll(action == PaneAction::ColumnsRight, &self.columns)
                {
                    Outcome::Consumed
                } else {
                    Outcome::Message("no more columns that way".into())
                }
            }
            _ => return None,
        })
    }

    /// Draw the chooser when open.
    pub fn render_chooser(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        if let Some(c) = &self.chooser {
            c.render(frame, area, theme, &self.view, &self.columns);
        }
    }
}
