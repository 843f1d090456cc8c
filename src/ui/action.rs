//! Every global action of the workbench, named as in `assets/keymap.toml`.

use crate::driver::DriverKey;
use serde::Deserialize;

/// Global actions. Pane-local keys (moving, searching, drilling in) are handled by the pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NextPane,
    PrevPane,
    #[serde(rename = "pane-1")]
    Pane1,
    #[serde(rename = "pane-2")]
    Pane2,
    #[serde(rename = "pane-3")]
    Pane3,
    #[serde(rename = "pane-4")]
    Pane4,
    #[serde(rename = "pane-5")]
    Pane5,
    #[serde(rename = "pane-6")]
    Pane6,
    ClearFocus,
    Help,
    Quit,
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
    /// Switch to another pane (by its index in [`super::PANE_TITLES`]), e.g. from a hint.
    GoTo(usize),
    /// Show a message in the status line.
    Message(String),
}
