//! Notes: a Markdown editor saved to `CASE/bsodwb-notes.md` by an atomic write.

use crate::case::Case;
use crate::notes::{self, Notes};
use crate::ui::action::{Outcome, PaneAction};
use crate::ui::pane::{Pane, PaneContext};
use crate::ui::widgets;
use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui_textarea::{TextArea, WrapMode};
use std::path::PathBuf;
use std::time::Duration;

pub struct NotesPane {
    editor: TextArea<'static>,
    path: Option<PathBuf>,
    /// What was read (encoding, line ends, mode, read-only reason); `None` while loading.
    notes: Option<Notes>,
    /// The reader thread's answer, while it is pending.
    loading: Option<Receiver<Notes>>,
    /// The one short wait for the reader (so a fast disk shows the notes in the first frame)
    /// has been spent; afterwards the pane only polls.
    waited: bool,
    editing: bool,
    dirty: bool,
    /// The last save failed: `q` asks before the changes are lost.
    save_failed: bool,
    status: String,
    /// Long lines wrap at words (the default: appended fixes are long); `W` cuts them
    /// instead and scrolls sideways.
    wrap: bool,
}

impl NotesPane {
    /// The pane over a case's notes, read on a worker thread: a slow disk, a FIFO or a huge file
    /// in the notes' place never holds up the UI.
    pub fn new(case: &Case) -> NotesPane {
        let path = case.notes_path();
        let mut pane = NotesPane {
            editor: TextArea::default(),
            path: path.clone(),
            notes: None,
            loading: None,
            waited: false,
            editing: false,
            dirty: false,
            save_failed: false,
            status: "no case open: notes are not kept".to_string(),
            wrap: true,
        };
        if let Some(p) = path {
            let (tx, rx) = crossbeam_channel::bounded(1);
            let spawned = std::thread::Builder::new()
                .name("notes-reader".into())
                .spawn(move || {
                    let _ = tx.send(notes::load(&p));
                });
            match spawned {
                Ok(_) => {
                    pane.loading = Some(rx);
                    pane.status = "reading the notes".into();
                }
                Err(e) => pane.status = format!("cannot start the notes reader: {e}"),
            }
        }
        pane
    }

    /// Take the reader's answer if it is there (waiting briefly the first time); true when it
    /// arrived now.
    fn poll(&mut self, may_wait: bool) -> bool {
        let Some(rx) = &self.loading else {
            return false;
        };
        let got = if may_wait && !self.waited {
            self.waited = true;
            rx.recv_timeout(Duration::from_millis(200))
                .map_err(|e| matches!(e, RecvTimeoutError::Disconnected))
        } else {
            rx.try_recv()
                .map_err(|e| matches!(e, TryRecvError::Disconnected))
        };
        match got {
            Ok(n) => {
                self.show(n);
                self.loading = None;
                true
            }
            Err(true) => {
                self.status = "the notes reader stopped".into();
                self.loading = None;
                true
            }
            Err(false) => false,
        }
    }

    /// Wait until the notes are read (tests).
    pub fn wait_loaded(&mut self) {
        if let Some(n) = self.loading.take().and_then(|rx| rx.recv().ok()) {
            self.show(n);
        }
    }

    fn show(&mut self, n: Notes) {
        self.editor = TextArea::new(n.text.lines().map(str::to_string).collect());
        self.status = n.status();
        self.notes = Some(n);
    }

    /// Save now (atomic; encoding, line ends and mode kept); the status line says what happened.
    pub fn save(&mut self) -> Outcome {
        let text = self.text();
        let Some(n) = self.notes.as_mut() else {
            return Outcome::Message(self.status.clone());
        };
        match notes::save(n, &text) {
            Ok(saved) => {
                self.dirty = false;
                self.save_failed = false;
                self.status = format!("saved {}", n.path.display());
                if let Some(kept) = saved.kept_original {
                    self.status.push_str(&format!(
                        " as UTF-8; the original is kept as {}",
                        kept.display()
                    ));
                }
            }
            Err(e) => {
                self.save_failed = true;
                self.status = e;
            }
        }
        Outcome::Message(self.status.clone())
    }

    pub fn text(&self) -> String {
        self.editor.lines().join("\n")
    }

    /// A reason to ask before quitting: changes not saved, or the last save failed.
    pub fn unsaved_reason(&self) -> Option<String> {
        let path = self.path.as_ref()?.display();
        match (self.dirty, self.save_failed) {
            (true, true) => Some(format!("the last save of {path} failed")),
            (true, false) => Some(format!("unsaved changes to {path}")),
            _ => None,
        }
    }

    /// A bracketed paste: inserted in one step (line ends as the terminal sent them).
    pub fn paste(&mut self, text: &str) -> Outcome {
        if !self.editing {
            return Outcome::Ignored;
        }
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if self.editor.insert_str(text) {
            self.dirty = true;
        }
        Outcome::Consumed
    }
}

impl Pane for NotesPane {
    fn title(&self) -> &'static str {
        crate::ui::pane_id::PaneId::Notes.title()
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext) {
        self.poll(true);
        let where_ = self
            .path
            .as_ref()
            .map_or("no case".to_string(), |p| p.display().to_string());
        let state = if self.editing {
            "editing, Esc to stop and save"
        } else {
            "i to edit"
        };
        let mark = if self.dirty { " [modified]" } else { "" };
        let title = format!("Notes: {where_}{mark} ({state}; {})", self.status);
        self.editor
            .set_block(widgets::block(&title, ctx.theme, self.editing));
        self.editor.set_cursor_line_style(ctx.theme.text);
        let mode = if self.wrap {
            WrapMode::WordOrGlyph
        } else {
            WrapMode::None
        };
        if self.editor.wrap_mode() != mode {
            self.editor.set_wrap_mode(mode);
        }
        self.editor.set_cursor_style(if self.editing {
            ctx.theme.selected
        } else {
            ctx.theme.text
        });
        frame.render_widget(&self.editor, area);
    }

    fn edit_key(&mut self, key: KeyEvent, _ctx: &PaneContext) -> Option<Outcome> {
        self.poll(true);
        if !self.editing {
            return None;
        }
        // While editing, keys type text: Esc stops (and saves), Ctrl-S saves.
        if key.code == KeyCode::Esc {
            self.editing = false;
            return Some(if self.dirty {
                self.save()
            } else {
                Outcome::Consumed
            });
        }
        if key.code == KeyCode::Char('s') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Some(self.save());
        }
        if self.editor.input(key) {
            self.dirty = true;
        }
        Some(Outcome::Consumed)
    }

    fn handle_action(&mut self, action: PaneAction, _ctx: &PaneContext) -> Outcome {
        self.poll(true);
        let editable = self.notes.as_ref().is_some_and(|n| n.read_only.is_none());
        match action {
            PaneAction::Edit if editable => {
                self.editing = true;
                Outcome::Consumed
            }
            PaneAction::Edit => Outcome::Message(self.status.clone()),
            PaneAction::Wrap => {
                self.wrap = !self.wrap;
                Outcome::Message(
                    if self.wrap {
                        "long lines wrap"
                    } else {
                        "long lines run on (the cursor scrolls them)"
                    }
                    .into(),
                )
            }
            PaneAction::Zoom => Outcome::Message("the notes already have the whole pane".into()),
            _ => Outcome::Ignored,
        }
    }

    fn on_focus(&mut self, _ctx: &PaneContext) {}

    fn captures_input(&self) -> bool {
        self.editing
    }

    fn tick(&mut self) -> bool {
        self.poll(false)
    }

    fn unsaved(&self) -> Option<String> {
        self.unsaved_reason()
    }

    /// Append at the end of the notes (after a blank line) and save at once, atomically.
    fn append_note(&mut self, markdown: &str) -> Option<Outcome> {
        if self.notes.is_none() && self.loading.is_some() {
            self.wait_loaded();
        }
        let Some(n) = &self.notes else {
            return Some(Outcome::Message(self.status.clone()));
        };
        if let Some(why) = &n.read_only {
            return Some(Outcome::Message(format!(
                "not added: the notes are read-only ({why})"
            )));
        }
        let mut lines: Vec<String> = self.editor.lines().to_vec();
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.extend(markdown.lines().map(str::to_string));
        self.editor = TextArea::new(lines);
        self.dirty = true;
        Some(self.save())
    }

    fn handle_paste(&mut self, text: &str) -> Outcome {
        self.paste(text)
    }
}
