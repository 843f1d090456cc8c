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
    /// Go back to where the last jump came from (pane and focus), as a browser does.
    Back,
    /// Undo a Back.
    Forward,
    /// The next case tab (`:open CASE` opens one), as vim's `gt`.
    NextTab,
    /// The previous case tab (`gT`).
    PrevTab,
    /// Set a mark on the row under the cursor of the list (`m`), shown beside it.
    Mark,
    /// Jump back to the list's mark (`'`).
    JumpMark,
    /// Append the selected finding, row, event or frame to the notes, with its source.
    Note,
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
            Action::Back,
            Action::Forward,
            Action::NextTab,
            Action::PrevTab,
            Action::Mark,
            Action::JumpMark,
            Action::Note,
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
            "back" => Action::Back,
            "forward" => Action::Forward,
            "next-tab" => Action::NextTab,
            "prev-tab" => Action::PrevTab,
            "mark" => Action::Mark,
            "jump-mark" => Action::JumpMark,
            "note" => Action::Note,
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
                        "unknown action \"{}\" (known: next-pane, prev-pane, {}, clear-focus, yank, yank-view, command, back, forward, next-tab, prev-tab, mark, jump-mark, note, help, quit)",
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
    /// Open dump `n` of the case (`case.dumps[n]`) in the Dump pane.
    OpenDump(usize),
    /// Show the row a clue comes from in its pane (an evidence line of a finding).
    Reveal(crate::findings::SourceRef),
}

/// Declares [`PaneAction`] and its keymap names once: `Variant => "name"`, with its docs.
macro_rules! pane_actions {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// What a key does inside a pane, named as in the pane sections of `assets/keymap.toml`
        /// (`[[dump]]`, `[[timeline]]`, ...). A key means one thing wherever it is bound: Enter
        /// is always "details", `f` always "focus the driver", `s` always "sort".
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
        #[serde(try_from = "String")]
        pub enum PaneAction {
            $($(#[doc = $doc])* $variant,)*
        }

        impl PaneAction {
            /// Every pane action with its name in the keymap file.
            pub const NAMES: &'static [(PaneAction, &'static str)] =
                &[$((PaneAction::$variant, $name),)*];
        }
    };
}

pane_actions! {
    Down => "down",
    Up => "up",
    PageDown => "page-down",
    PageUp => "page-up",
    First => "first",
    Last => "last",
    /// The next list or table of the pane (Overview, Dump, Integrity).
    NextBox => "next-box",
    PrevBox => "prev-box",
    /// Open (or close again) the details of the row under the cursor.
    Details => "details",
    /// Close the details or popup.
    Close => "close",
    /// Focus every pane on the row's driver.
    Focus => "focus",
    Search => "search",
    NextMatch => "next-match",
    PrevMatch => "prev-match",
    /// Sort (by the next column; in the Timeline, by a column picked from a list).
    Sort => "sort",
    /// Reverse the sort.
    Reverse => "reverse",
    /// Dump: open the pane the bug check points to, focused on the driver it names.
    BugCheckPane => "bug-check-pane",
    /// Dump: the next dump of the case.
    NextDump => "next-dump",
    /// Dump: module time stamps as dates or raw.
    RawTimes => "raw-times",
    /// Timeline: add a filter rule.
    AddFilter => "add-filter",
    /// Timeline: add a highlight rule.
    AddHighlight => "add-highlight",
    /// Timeline: show or hide the rule list.
    Rules => "rules",
    /// Timeline: remove the rule under the list's cursor (the newest when the list is hidden).
    UndoRule => "undo-rule",
    /// Timeline: switch the rule under the list's cursor on or off.
    ToggleRule => "toggle-rule",
    /// Timeline: include, exclude or highlight a value of the event under the cursor.
    ValueRule => "value-rule",
    /// Timeline: remove every rule.
    ClearRules => "clear-rules",
    /// Timeline: only failures.
    Failures => "failures",
    /// Timeline: image loads shown or hidden.
    ImageLoads => "image-loads",
    /// Timeline: the System process shown or hidden.
    SystemProcess => "system-process",
    /// Timeline: only the focused driver's events.
    DriverOnly => "driver-only",
    /// Timeline: jump to a time.
    GotoTime => "goto-time",
    /// Integrity: times in UTC or on the machine's clock.
    TimeZone => "time-zone",
    /// Drivers: only critical boot drivers.
    CriticalOnly => "critical-only",
    /// Drivers: drivers only or every service.
    AllServices => "all-services",
    /// Drivers: scroll the focused driver's key down / up.
    ScrollDown => "scroll-down",
    ScrollUp => "scroll-up",
    /// Notes: edit.
    Edit => "edit",
    /// Overview: write the case's Markdown report beside the notes (`bsodwb-report.md`).
    WriteReport => "write-report",
    /// The table takes the whole pane (and back), as lazygit's `+`.
    Zoom => "zoom",
    /// Wrap long cells of a table onto more lines (and back).
    Wrap => "wrap",
    /// Choose the columns a table shows.
    Columns => "columns",
    /// Scroll a wide table sideways, one column.
    ColumnsLeft => "columns-left",
    ColumnsRight => "columns-right",
}

impl PaneAction {
    /// The name in the keymap file.
    pub fn name(self) -> &'static str {
        PaneAction::NAMES
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("?", |(_, n)| n)
    }

    /// The actions a pane handles: its keymap section binds each of them and no other.
    pub fn of(pane: PaneId) -> Vec<PaneAction> {
        use PaneAction::*;
        // Every list pane moves, opens details, focuses and searches.
        const LIST: [PaneAction; 13] = [
            Down, Up, PageDown, PageUp, First, Last, Details, Focus, Search, NextMatch, PrevMatch,
            Sort, Reverse,
        ];
        let list = |sorts: bool, more: &[PaneAction]| -> Vec<PaneAction> {
            let n = if sorts { LIST.len() } else { LIST.len() - 2 };
            LIST[..n].iter().chain(more).copied().collect()
        };
        match pane {
            PaneId::Overview => list(
                false,
                &[
                    NextBox,
                    PrevBox,
                    Close,
                    WriteReport,
                    Zoom,
                    Wrap,
                    Columns,
                    ColumnsLeft,
                    ColumnsRight,
                ],
            ),
            PaneId::Dump => list(
                true,
                &[
                    NextBox,
                    PrevBox,
                    Close,
                    BugCheckPane,
                    NextDump,
                    RawTimes,
                    Zoom,
                    Wrap,
                    Columns,
                    ColumnsLeft,
                    ColumnsRight,
                ],
            ),
            PaneId::Timeline => list(
                true,
                &[
                    Close,
                    AddFilter,
                    AddHighlight,
                    Rules,
                    UndoRule,
                    ToggleRule,
                    ValueRule,
                    Zoom,
                    Wrap,
                    Columns,
                    ColumnsLeft,
                    ColumnsRight,
                    ClearRules,
                    Failures,
                    ImageLoads,
                    SystemProcess,
                    DriverOnly,
                    GotoTime,
                ],
            ),
            PaneId::Integrity => list(
                false,
                &[
                    NextBox,
                    PrevBox,
                    Close,
                    TimeZone,
                    Zoom,
                    Wrap,
                    Columns,
                    ColumnsLeft,
                    ColumnsRight,
                ],
            ),
            PaneId::Drivers => list(
                true,
                &[
                    Close,
                    CriticalOnly,
                    AllServices,
                    ScrollDown,
                    ScrollUp,
                    Zoom,
                    Wrap,
                    Columns,
                    ColumnsLeft,
                    ColumnsRight,
                ],
            ),
            PaneId::Notes => vec![Edit, Wrap, Zoom],
            PaneId::History => vec![
                Down,
                Up,
                PageDown,
                PageUp,
                First,
                Last,
                Details,
                Focus,
                Close,
                Zoom,
                Wrap,
                Columns,
                ColumnsLeft,
                ColumnsRight,
                Search,
                NextMatch,
                PrevMatch,
            ],
        }
    }
}

impl TryFrom<String> for PaneAction {
    type Error = String;
    fn try_from(s: String) -> Result<PaneAction, String> {
        PaneAction::NAMES
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(a, _)| *a)
            .ok_or_else(|| {
                format!(
                    "unknown pane action \"{}\"",
                    crate::escape::escape_field(&s)
                )
            })
    }
}
