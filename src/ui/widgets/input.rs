//! A one-line text input (search and filter bars) on ratatui-textarea.

use super::super::theme::Theme;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders};
use ratatui_textarea::TextArea;

/// What a key did to the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputEvent {
    /// Enter: the text is submitted.
    Submit(String),
    /// Esc: editing is abandoned.
    Cancel,
    /// The text changed or the cursor moved.
    Edited,
}

pub struct LineInput {
    area: TextArea<'static>,
    label: &'static str,
}

impl LineInput {
    pub fn new(label: &'static str, initial: &str) -> LineInput {
        let mut area = TextArea::new(vec![initial.to_string()]);
        area.move_cursor(ratatui_textarea::CursorMove::End);
        LineInput { area, label }
    }

    pub fn text(&self) -> String {
        self.area.lines().first().cloned().unwrap_or_default()
    }

    pub fn handle(&mut self, key: KeyEvent) -> InputEvent {
        match key.code {
            KeyCode::Enter => InputEvent::Submit(self.text()),
            KeyCode::Esc => InputEvent::Cancel,
            _ => {
                self.area.input(key);
                InputEvent::Edited
            }
        }
    }

    pub fn render(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        self.area.set_cursor_line_style(theme.text);
        self.area.set_block(
            Block::default()
                .borders(Borders::ALL)
                .border_set(theme.border_set)
                .border_style(theme.border_active)
                .title(format!(" {} (Enter apply, Esc cancel) ", self.label)),
        );
        frame.render_widget(&self.area, area);
    }
}
