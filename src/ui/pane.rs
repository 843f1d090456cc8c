//! The contract every pane keeps: render, do the actions its keymap section binds, follow the
//! driver focus.

use super::action::{Outcome, PaneAction};
use super::keymap::{self, Keymap};
use super::pane_id::PaneId;
use super::theme::Theme;
use super::widgets::command::{Command, ExportFormat};
use super::widgets::export::ViewTable;
use crate::analysis::CaseAnalysis;
use crate::case::Case;
use crate::driver::DriverKey;
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;

/// What a pane may read while it renders or handles a key.
pub struct PaneContext<'a> {
    /// The artefacts as read.
    pub case: &'a Case,
    /// What the case's artefacts say together: links, findings, each event's drivers.
    pub analysis: &'a CaseAnalysis,
    pub focus: Option<&'a DriverKey>,
    pub theme: &'a Theme,
}

/// Text a pane hands to the clipboard, and what it is ("fix", "row", "STACK_TEXT").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Yank {
    pub what: &'static str,
    pub text: String,
}

/// What `A` appends to the notes: the selected finding, row, event or frame, and where it
/// comes from (file and record, or pane and row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteEntry {
    pub text: String,
    pub source: String,
}

impl NoteEntry {
    /// The entry as Markdown: a heading naming the source, then the text.
    pub fn markdown(&self) -> String {
        let text = self.text.trim_end();
        format!("### {}\n\n{text}\n", self.source.trim())
    }
}

/// One line of the help overlay: keys (as users type them) and what they do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub key: String,
    pub desc: String,
}

pub fn hint(key: &str, desc: &str) -> Hint {
    Hint {
        key: key.to_string(),
        desc: desc.to_string(),
    }
}

/// The cursor of a pane with one list, in its field `$field`: [`Pane::table_row`] is its
/// selected row, [`Pane::cursor_mut`] the cursor itself.
macro_rules! one_cursor {
    ($field:ident) => {
        fn table_row(&self) -> Option<usize> {
            Some(self.$field.selected)
        }

        fn cursor_mut(&mut self) -> Option<&mut crate::ui::widgets::cursor::Cursor> {
            Some(&mut self.$field)
        }
    };
}
pub(crate) use one_cursor;

/// What `y`/`Y` copy from a pane's table: the whole table as TSV, or the selected row.
pub fn table_yank<P: Pane + ?Sized>(pane: &P, ctx: &PaneContext, whole: bool) -> Option<Yank> {
    let t = pane.table(ctx)?;
    Some(if whole {
        Yank {
            what: "the table (TSV)",
            text: t.to_tsv(),
        }
    } else {
        Yank {
            what: "the row (TSV)",
            text: t.row_tsv(pane.table_row()?)?,
        }
    })
}

/// A pane of the workbench. Panes read the loaded [`Case`] and its [`CaseAnalysis`] through
/// [`PaneContext`] and keep only view state; they never parse bytes.
pub trait Pane {
    /// The pane's title, shown in the tab bar.
    fn title(&self) -> &'static str;

    /// Draw into `area`.
    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext);

    /// The pane this is (its section of the keymap).
    fn id(&self) -> PaneId {
        PaneId::ALL
            .into_iter()
            .find(|p| p.title() == self.title())
            .unwrap_or(PaneId::Overview)
    }

    /// Take a key press while the pane edits text (a search or filter line, the notes editor):
    /// `Some` with what it did, every key included. `None` when the pane edits nothing, so the
    /// key goes through the keymap.
    fn edit_key(&mut self, _key: KeyEvent, _ctx: &PaneContext) -> Option<Outcome> {
        None
    }

    /// Do a pane action (resolved through the keymap). Return [`Outcome::Ignored`] when it
    /// does not apply in the pane's present state.
    fn handle_action(&mut self, action: PaneAction, ctx: &PaneContext) -> Outcome;

    /// Take a key press through the keymap the workbench runs with (see [`Pane::handle_key_with`]).
    fn handle_key(&mut self, key: KeyEvent, ctx: &PaneContext) -> Outcome {
        self.handle_key_with(keymap::current(), key, ctx)
    }

    /// Take a key press: raw while the pane edits text, else the action `keymap` binds to it in
    /// this pane's section. Keys the pane does not bind give [`Outcome::Ignored`], so the app
    /// can apply its global bindings (only when [`Pane::captures_input`] is false).
    fn handle_key_with(&mut self, keymap: &Keymap, key: KeyEvent, ctx: &PaneContext) -> Outcome {
        if let Some(outcome) = self.edit_key(key, ctx) {
            return outcome;
        }
        match keymap.pane_action(self.id(), &key) {
            Some(action) => self.handle_action(action, ctx),
            None => Outcome::Ignored,
        }
    }

    /// The driver focus changed (or was cleared) to `ctx.focus`: filter or highlight what
    /// concerns it.
    fn on_focus(&mut self, ctx: &PaneContext);

    /// What `y` (`whole` false: the row, finding or fix under the cursor) or `Y` (`whole`
    /// true: the whole view, tables as TSV) copies, with a word for the message; `None`:
    /// nothing to copy here.
    /// By default: the pane's [`Pane::table`] as TSV, or its selected row ([`Pane::table_row`]).
    fn yank(&self, ctx: &PaneContext, whole: bool) -> Option<Yank> {
        table_yank(self, ctx, whole)
    }

    /// The cursor of the list that moves with j/k (for `m` and `'`); `None`: no list here.
    fn cursor_mut(&mut self) -> Option<&mut super::widgets::cursor::Cursor> {
        None
    }

    /// What `A` appends to the notes; by default the selected row of [`Pane::table`] as
    /// `Column: value` lines, its source the pane and row.
    fn note(&self, ctx: &PaneContext) -> Option<NoteEntry> {
        let t = self.table(ctx)?;
        let i = self.table_row()?;
        let row = t.rows.get(i)?;
        let text = t
            .header
            .iter()
            .zip(row)
            .filter(|(_, v)| !v.is_empty())
            .map(|(h, v)| format!("- {h}: {v}"))
            .collect::<Vec<_>>()
            .join("\n");
        Some(NoteEntry {
            text,
            source: format!("{} pane, row {}", self.title(), i + 1),
        })
    }

    /// Append Markdown to the notes and save (the Notes pane); `None`: not the notes.
    fn append_note(&mut self, _markdown: &str) -> Option<Outcome> {
        None
    }

    /// Select the row `source` names (an event, a frame, a signature, a service); false when
    /// the pane does not show it.
    fn reveal(&mut self, _source: &crate::findings::SourceRef, _ctx: &PaneContext) -> bool {
        false
    }

    /// Show dump `index` of the case (the Dump pane; others ignore it).
    fn open_dump(&mut self, _index: usize) {}

    /// The row of [`Pane::table`] under the cursor.
    fn table_row(&self) -> Option<usize> {
        None
    }

    /// The view as a table of text (what `:export` writes and `Y` copies): the rows shown,
    /// under the pane's filters and the focus; `None`: the pane shows no table.
    fn table(&self, _ctx: &PaneContext) -> Option<ViewTable> {
        None
    }

    /// `:export FORMAT`: the bytes of the view and how many rows; by default the table in that
    /// format. `Err`: the pane does not export in that format (and says which it does).
    fn export(&self, ctx: &PaneContext, format: ExportFormat) -> Result<(Vec<u8>, usize), String> {
        match self.table(ctx) {
            Some(t) => Ok((t.to_bytes(format), t.rows.len())),
            None => Err(format!("the {} pane has no table to export", self.title())),
        }
    }

    /// A pane command of the `:` line (`:filter`, `:sort`, `:goto`).
    fn command(&mut self, _ctx: &PaneContext, cmd: &Command) -> Outcome {
        let name = match cmd {
            Command::Filter(_) => "filter",
            Command::Sort(_) => "sort",
            Command::Goto(_) => "goto",
            Command::Bugcheck(_) => "bugcheck",
            Command::Open(_) => "open",
            Command::Export { .. } => "export",
            Command::WriteReport => "write",
            Command::Quit => "quit",
        };
        Outcome::Message(format!(":{name} does nothing in the {} pane", self.title()))
    }

    /// This pane's own keys for the help overlay, from the keymap the workbench runs with.
    fn hints(&self) -> Vec<Hint> {
        keymap::current().hints(self.id())
    }

    /// True while the pane edits text (a filter bar, the notes editor): every key goes to the
    /// pane first, global keys included, until it lets go (Esc).
    fn captures_input(&self) -> bool {
        false
    }

    /// Work that quitting would lose (unsaved notes), as a sentence; `q` asks first.
    fn unsaved(&self) -> Option<String> {
        None
    }

    /// Text pasted in one piece (bracketed paste).
    fn handle_paste(&mut self, _text: &str) -> Outcome {
        Outcome::Ignored
    }

    /// Poll background work; true when something changed and the pane wants a redraw.
    fn tick(&mut self) -> bool {
        false
    }

    /// The mode shown in the status line while this pane is active.
    fn mode(&self) -> &'static str {
        if self.captures_input() {
            "INSERT"
        } else {
            "NORMAL"
        }
    }
}
