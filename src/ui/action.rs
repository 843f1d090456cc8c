//! Every global action of the workbench, named as in `assets/keymap.toml`.

use super::pane_id::PaneId;
use crate::driver::DriverKey;
use serde::Deserialize;

/// Global actions. Pane-local keys (moving, searching, drilling in) are handled by the pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Action {
    NextPane,
    PrevPane,
    /// Show a pane (`pane:dump` in the keymap file).
    ShowPane(PaneId),
    ClearFocus,
    /// Copy what is under the cursor (a cell, row, finding or fix) to the clipboard.
    Yank,
    /// Copy the whole view (a table as TSV, the findings as Markdown).
    YankView,
    /// Open the `:` command line.
    Command,
    Help,
    Quit,
}

impl Action {
    /// Every action, each pane's included: the keymap file must bind them all.
    pub fn all() -> Vec<Action> {
        let mut v = vec![Action::NextPane, Action::PrevPane];
        v.extend(PaneId::ALL.map(Action::ShowPane));
        v.extend([
            Action::ClearFocus,
            Action::Yank,
            Action::YankView,
            Action::Command,
            Action::Help,
            Action::Quit,
        ]);
        v
    }
}

impl TryFrom<String> for Action {
    type Error = String;
    fn try_from(s: String) -> Result<Action, String> {
        Ok(match s.as_str() {
            "next-pane" => Action::NextPane,
            "prev-pane" => Action::PrevPane,
            "clear-focus" => Action::ClearFocus,
            "yank" => Action::Yank,
            "yank-view" => Action::YankView,
            "command" => Action::Command,
            "help" => Action::Help,
            "quit" => Action::Quit,
            other => match other.strip_prefix("pane:").and_then(PaneId::from_name) {
                Some(p) => Action::ShowPane(p),
                None => {
                    let panes: Vec<String> = PaneId::ALL
                        .iter()
                        .map(|p| format!("pane:{}", p.name()))
                        .collect();
                    return Err(format!(
                        "unknown action \"{}\" (known: next-pane, prev-pane, {}, clear-focus, yank, yank-view, command, help, quit)",
                        crate::escape::escape_field(other),
                        panes.join(", ")
                    ));
                }
            },
        })
    }
}

/// What a pane asks of the app after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The key is not the pane's; the app may use it.
    Ignored,
    /// The pane used the key (and wants a redraw).
    Consumed,
    /// Focus every pane on this driver.
    Focus(DriverKey),
    /// Switch to another pane (by its index in [`PaneId::ALL`]), e.g. from a hint.
    GoTo(usize),
    /// Focus every pane on this driver and switch to a pane (the bug check's "look there").
    FocusAndGoTo(DriverKey, usize),
    /// Show a message in the status line.
    Message(String),
}
