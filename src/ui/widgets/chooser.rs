//! The column chooser of any table (htop's F2): a popup listing the table's titled columns,
//! each shown or hidden with Space (or Enter); j/k move, Esc closes. One column always stays.
//! It edits the table's [`TableView`], which the table reads at its next render.

use super::table::{Column, TableView};
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

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
        let longest = rows
            .iter()
            .map(|r| r.chars().count())
            .chain([title.chars().count() + 2])
            .max()
            .unwrap_or(0);
        let width = (longest as u16 + 2).min(area.width.saturating_sub(4));
        let rect = super::popup::centred(area, width, rows.len() as u16 + 2);
        frame.render_widget(Clear, rect);
        let lines: Vec<Line> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let style = if i == self.at {
                    theme.selected
                } else {
                    theme.text
                };
                Line::styled(r.clone(), style)
            })
            .collect();
        frame.render_widget(
            Paragraph::new(lines).block(super::block(title, theme, true)),
            rect,
        );
    }
}
