//! The `:` command line (vim's, k9s'): a one-line input with Tab completion of command names
//! and their fixed arguments, and Up/Down through the commands given before in this session.
//!
//! Commands: `:export csv|tsv|md|json [FILE]` (the current view, as the pane shows it under its
//! filters and focus), `:filter RULE` and `:sort COLUMN` (the Timeline's, in `bsodwb pml
//! --filter` form), `:goto TIME` (the Timeline's time of day), `:bugcheck CODE [P1..P4]` (what
//! `bsodwb bugcheck` prints, in a popup), `:w` / `:write` (the case's Markdown report, written
//! to `bsodwb-report.md` beside the notes), `:open CASE` (another case in a new tab), `:q` /
//! `:quit`.

use super::input::{InputEvent, LineInput};
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use std::path::PathBuf;

/// The formats `:export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Tsv,
    Markdown,
    Json,
}

impl ExportFormat {
    pub const ALL: [(&'static str, ExportFormat); 4] = [
        ("csv", ExportFormat::Csv),
        ("tsv", ExportFormat::Tsv),
        ("md", ExportFormat::Markdown),
        ("json", ExportFormat::Json),
    ];

    /// The file extension (and the word typed after `:export`).
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Tsv => "tsv",
            ExportFormat::Markdown => "md",
            ExportFormat::Json => "json",
        }
    }
}

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Export {
        format: ExportFormat,
        file: Option<PathBuf>,
    },
    Filter(String),
    Sort(String),
    Goto(String),
    /// `:bugcheck CODE [P1..P4]`: the bug check explained, as `bsodwb bugcheck` prints it.
    Bugcheck(String),
    /// `:w`: write the case's report (`bsodwb-report.md`) beside the notes.
    WriteReport,
    /// `:open CASE`: another case in a new tab.
    Open(PathBuf),
    Quit,
}

/// Command names with what they take, for completion and the error message.
const COMMANDS: &[(&str, &str)] = &[
    ("export", "csv|tsv|md|json [FILE]"),
    (
        "filter",
        "RULE (Path ends with .sys), save|load NAME, presets, import FILE",
    ),
    ("sort", "COLUMN"),
    ("goto", "TIME (HH:MM:SS)"),
    ("bugcheck", "CODE [P1 P2 P3 P4]"),
    ("write", "(the case's report to bsodwb-report.md)"),
    ("open", "CASE (a folder or file, in a new tab)"),
    ("quit", ""),
];

/// Parse what was typed after `:`.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (name, rest) = match line.split_once(char::is_whitespace) {
        Some((n, r)) => (n, r.trim()),
        None => (line, ""),
    };
    let need = |what: &str| -> Result<String, String> {
        if rest.is_empty() {
            Err(format!(":{name} needs {what}"))
        } else {
            Ok(rest.to_string())
        }
    };
    Ok(match name {
        "export" | "e" => {
            let (fmt, file) = match rest.split_once(char::is_whitespace) {
                Some((f, path)) => (f, Some(PathBuf::from(path.trim()))),
                None => (rest, None),
            };
            let format = ExportFormat::ALL
                .iter()
                .find(|(n, _)| *n == fmt)
                .map(|(_, f)| *f)
                .ok_or_else(|| format!(":export takes csv, tsv, md or json, not {fmt:?}"))?;
            Command::Export { format, file }
        }
        "filter" => Command::Filter(need("a rule, e.g. Path ends with .sys")?),
        "sort" => Command::Sort(need("a column")?),
        "goto" => Command::Goto(need("a time of day")?),
        "bugcheck" => {
            Command::Bugcheck(need("a code, e.g. 0xD1 or DRIVER_IRQL_NOT_LESS_OR_EQUAL")?)
        }
        "w" | "write" if rest.is_empty() => Command::WriteReport,
        "w" | "write" => {
            return Err(format!(
                ":{name} takes no file: the report always goes to {} in the case folder (:export md FILE writes a view anywhere)",
                crate::report::REPORT_FILE
            ));
        }
        "open" => Command::Open(expand_home(&need("a case folder or file")?)),
        "q" | "quit" => Command::Quit,
        "" => return Err("no command".into()),
        other => {
            let known: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown command :{} (known: {})",
                crate::escape::escape_field(other),
                known.join(", ")
            ));
        }
    })
}

/// `~/x` as `$HOME/x`, as a shell would read it.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ if path == "~" => {
            std::env::var_os("HOME").map_or_else(|| PathBuf::from(path), PathBuf::from)
        }
        _ => PathBuf::from(path),
    }
}

/// Tab completion: the longest unambiguous completion of a command name, or of `:export`'s
/// format; `None` when nothing (more) can be completed.
pub fn complete(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let (candidates, prefix, head): (Vec<&str>, &str, String) = match words.as_slice() {
        [one] => (
            COMMANDS.iter().map(|(n, _)| *n).collect(),
            one,
            String::new(),
        ),
        ["export", fmt] => (
            ExportFormat::ALL.iter().map(|(n, _)| *n).collect(),
            fmt,
            "export ".to_string(),
        ),
        _ => return None,
    };
    let hits: Vec<&str> = candidates
        .into_iter()
        .filter(|c| c.starts_with(prefix))
        .collect();
    let first = hits.first()?;
    let mut common = first.to_string();
    for h in &hits[1..] {
        while !h.starts_with(&common) {
            common.pop();
        }
    }
    let space = if hits.len() == 1 { " " } else { "" };
    let done = format!("{head}{common}{space}");
    (done != line).then_some(done)
}

/// The command line's state: closed, or an input with the session's history.
#[derive(Default)]
pub struct CommandLine {
    input: Option<LineInput>,
    history: Vec<String>,
    /// While browsing the history with Up/Down: the entry shown.
    browsing: Option<usize>,
}

/// What a key did to the command line.
#[derive(Debug, PartialEq, Eq)]
pub enum CommandEvent {
    Editing,
    Cancelled,
    /// Enter on a line that parsed.
    Run(Command),
    /// Enter on a line that did not: the line stays open to be corrected.
    Invalid(String),
}

impl CommandLine {
    pub fn is_open(&self) -> bool {
        self.input.is_some()
    }

    pub fn open(&mut self) {
        self.input = Some(LineInput::new("Command :", ""));
        self.browsing = None;
    }

    /// The commands given so far, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    pub fn handle(&mut self, key: KeyEvent) -> CommandEvent {
        let Some(input) = self.input.as_mut() else {
            return CommandEvent::Cancelled;
        };
        match key.code {
            KeyCode::Tab => {
                if let Some(done) = complete(&input.text()) {
                    *input = LineInput::new("Command :", &done);
                }
                CommandEvent::Editing
            }
            KeyCode::Up | KeyCode::Down if !self.history.is_empty() => {
                let last = self.history.len() - 1;
                let at = match (self.browsing, key.code) {
                    (None, KeyCode::Up) => Some(last),
                    (Some(i), KeyCode::Up) => Some(i.saturating_sub(1)),
                    (Some(i), KeyCode::Down) if i < last => Some(i + 1),
                    _ => None,
                };
                self.browsing = at;
                let text = at.map_or("", |i| self.history[i].as_str());
                *input = LineInput::new("Command :", text);
                CommandEvent::Editing
            }
            _ => match input.handle(key) {
                InputEvent::Submit(text) => match parse(&text) {
                    Ok(cmd) => {
                        if self.history.last() != Some(&text) {
                            self.history.push(text);
                        }
                        self.input = None;
                        CommandEvent::Run(cmd)
                    }
                    Err(e) => CommandEvent::Invalid(e),
                },
                InputEvent::Cancel => {
                    self.input = None;
                    CommandEvent::Cancelled
                }
                InputEvent::Edited => CommandEvent::Editing,
            },
        }
    }

    pub fn render(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        if let Some(input) = self.input.as_mut() {
            input.render(frame, area, theme);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn commands_parse_with_their_arguments() {
        assert_eq!(
            parse("export csv /tmp/x.csv"),
            Ok(Command::Export {
                format: ExportFormat::Csv,
                file: Some(PathBuf::from("/tmp/x.csv"))
            })
        );
        assert_eq!(
            parse(" export md "),
            Ok(Command::Export {
                format: ExportFormat::Markdown,
                file: None
            })
        );
        assert_eq!(
            parse("filter Path ends with .sys"),
            Ok(Command::Filter("Path ends with .sys".into()))
        );
        assert_eq!(parse("q"), Ok(Command::Quit));
        assert_eq!(parse("w"), Ok(Command::WriteReport));
        assert_eq!(parse(" write "), Ok(Command::WriteReport));
        assert!(parse("w /etc/passwd").is_err_and(|e| e.contains("bsodwb-report.md")));
        assert_eq!(
            parse("open /tmp/case 2"),
            Ok(Command::Open(PathBuf::from("/tmp/case 2")))
        );
        assert!(parse("open").unwrap_err().contains("needs a case"));
        assert!(
            parse("export xml")
                .unwrap_err()
                .contains("csv, tsv, md or json")
        );
        assert!(parse("filter").unwrap_err().contains("needs a rule"));
        assert!(parse("frob").unwrap_err().contains("unknown command :frob"));
        // Case text in an error is escaped.
        assert!(parse("\u{1b}]0;x").unwrap_err().contains("\\x1b"));
    }

    #[test]
    fn tab_completes_names_and_formats() {
        assert_eq!(complete("ex").as_deref(), Some("export "));
        assert_eq!(complete("export j").as_deref(), Some("export json "));
        assert_eq!(complete("export ").as_deref(), None);
        assert_eq!(complete("zz"), None);
        assert_eq!(complete("q").as_deref(), Some("quit "));
    }

    #[test]
    fn history_goes_back_and_forth() {
        let mut c = CommandLine::default();
        for cmd in ["sort Path", "goto 02:13:32"] {
            c.open();
            for ch in cmd.chars() {
                c.handle(key(KeyCode::Char(ch)));
            }
            assert!(matches!(
                c.handle(key(KeyCode::Enter)),
                CommandEvent::Run(_)
            ));
        }
        assert_eq!(c.history(), ["sort Path", "goto 02:13:32"]);
        c.open();
        c.handle(key(KeyCode::Up));
        c.handle(key(KeyCode::Up));
        assert_eq!(
            c.handle(key(KeyCode::Enter)),
            CommandEvent::Run(Command::Sort("Path".into()))
        );
        // A bad line stays open to be corrected.
        c.open();
        c.handle(key(KeyCode::Char('x')));
        assert!(matches!(
            c.handle(key(KeyCode::Enter)),
            CommandEvent::Invalid(_)
        ));
        assert!(c.is_open());
        assert_eq!(c.handle(key(KeyCode::Esc)), CommandEvent::Cancelled);
        assert!(!c.is_open());
    }
}
