//! Notes: a Markdown editor saved to `CASE/bsodwb-notes.md` by an atomic write.

use crate::case::{Case, write_atomic};
use crate::driver::DriverKey;
use crate::ui::action::Outcome;
use crate::ui::pane::{Hint, Pane, PaneContext, hint};
use crate::ui::widgets;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;
use std::path::PathBuf;

pub struct NotesPane {
    editor: TextArea<'static>,
    path: Option<PathBuf>,
    editing: bool,
    dirty: bool,
    status: String,
}

impl NotesPane {
    pub fn new(case: &Case) -> NotesPane {
        let path = case.notes_path();
        let (lines, status) = match path.as_ref().map(std::fs::read_to_string) {
            Some(Ok(text)) => (
                text.lines().map(str::to_string).collect(),
                "loaded".to_string(),
            ),
            Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                (Vec::new(), "new notes".to_string())
            }
            Some(Err(e)) => (Vec::new(), format!("cannot read notes: {e}")),
            None => (Vec::new(), "no case open: notes are not kept".to_string()),
        };
        NotesPane {
            editor: TextArea::new(lines),
            path,
            editing: false,
            dirty: false,
            status,
        }
    }

    /// Save now (atomic); the status line says what happened.
    pub fn save(&mut self) -> Outcome {
        let Some(path) = self.path.clone() else {
            return Outcome::Message("no case open: nothing to save to".into());
        };
        let mut text = self.editor.lines().join("\n");
        text.push('\n');
        match write_atomic(&path, text.as_bytes()) {
            Ok(()) => {
                self.dirty = false;
                self.status = format!("saved {}", path.display());
                Outcome::Message(self.status.clone())
            }
            Err(e) => {
                self.status = format!("cannot save {}: {e}", path.display());
                Outcome::Message(self.status.clone())
            }
        }
    }

    pub fn text(&self) -> String {
        self.editor.lines().join("\n")
    }
}

impl Pane for NotesPane {
    fn title(&self) -> &'static str {
        "Notes"
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext) {
        let where_ = self
            .path
            .as_ref()
            .map_or("no case".to_string(), |p| p.display().to_string());
        let state = if self.editing {
            "editing, Esc to stop and save"
        } else {
            "i or Enter to edit"
        };
        let mark = if self.dirty { " [modified]" } else { "" };
        let title = format!("Notes: {where_}{mark} ({state}; {})", self.status);
        self.editor
            .set_block(widgets::block(&title, ctx.theme, self.editing));
        self.editor.set_cursor_line_style(ctx.theme.text);
        self.editor.set_cursor_style(if self.editing {
            ctx.theme.selected
        } else {
            ctx.theme.text
        });
        frame.render_widget(&self.editor, area);
    }

    fn handle_key(&mut self, key: KeyEvent, _ctx: &PaneContext) -> Outcome {
        if !self.editing {
            return match key.code {
                KeyCode::Char('i') | KeyCode::Enter if self.path.is_some() => {
                    self.editing = true;
                    Outcome::Consumed
                }
                KeyCode::Char('i') | KeyCode::Enter => Outcome::Message(self.status.clone()),
                _ => Outcome::Ignored,
            };
        }
        if key.code == KeyCode::Esc {
            self.editing = false;
            return if self.dirty {
                self.save()
            } else {
                Outcome::Consumed
            };
        }
        if key.code == KeyCode::Char('s') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return self.save();
        }
        if self.editor.input(key) {
            self.dirty = true;
        }
        Outcome::Consumed
    }

    fn on_focus(&mut self, _focus: Option<&DriverKey>, _case: &Case) {}

    fn captures_input(&self) -> bool {
        self.editing
    }

    fn hints(&self) -> Vec<Hint> {
        vec![
            hint("i / Enter", "edit the notes"),
            hint("Esc", "stop editing and save"),
            hint("Ctrl-S", "save while editing"),
        ]
    }
}
