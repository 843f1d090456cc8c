//! The contract every pane keeps: render, do the actions its keymap section binds, follow the
//! driver focus.

use super::action::{Outcome, PaneAction};
use super::keymap::{self, Keymap};
use super::pane_id::PaneId;
use super::theme::Theme;
use crate::case::Case;
use crate::driver::DriverKey;
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;

/// What a pane may read while it renders or handles a key.
pub struct PaneContext<'a> {
    pub case: &'a Case,
    pub focus: Option<&'a DriverKey>,
    pub theme: &'a Theme,
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

/// A pane of the workbench. Panes read the loaded [`Case`]; they never parse bytes.
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

    /// The driver focus changed (or was cleared): filter or highlight what concerns it.
    fn on_focus(&mut self, focus: Option<&DriverKey>, case: &Case);

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
