//! One module per sub-command: argument structs (clap) and the glue that prints a library result.
//! Knowledge lives in the library; these only choose the output format.

pub mod analyze;
pub mod bcd;
pub mod bugcheck;
pub mod demo;
pub mod dump;
pub mod evtx;
pub mod history;
pub mod hive;
pub mod pml;
pub mod scan;
pub mod sig;

/// Output formats shared by the artefact sub-commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
}

use bsod_workbench::escape::{Mode, SafeWriter};
use std::io::{IsTerminal, Write};

/// How output of `format` is escaped: text always (case content is shown, never obeyed),
/// CSV and JSON only on a terminal, so CSV to a file or a pipe stays byte-exact.
pub fn mode_for(format: Format, to_terminal: bool) -> Mode {
    match (format, to_terminal) {
        (Format::Text, _) => Mode::Text,
        (Format::Csv, true) => Mode::Csv,
        (Format::Json, true) => Mode::Json,
        (_, false) => Mode::Raw,
    }
}

/// The terminal-safe, buffered standard output for `format`. Every sub-command prints through
/// it; call `flush` at the end.
pub fn stdout(format: Format) -> SafeWriter<std::io::BufWriter<std::io::StdoutLock<'static>>> {
    let out = std::io::stdout();
    let mode = mode_for(format, out.is_terminal());
    SafeWriter::new(std::io::BufWriter::new(out.lock()), mode)
}

/// A line to standard error (warnings, problems), escaped: it names case content too.
pub fn eline_args(args: std::fmt::Arguments) {
    let mut err = SafeWriter::new(std::io::stderr().lock(), Mode::Text);
    let _ = err.write_fmt(args);
    let _ = err.write_all(b"\n");
    let _ = err.flush();
}

/// [`eline`] with `format!` arguments.
macro_rules! eline {
    ($($t:tt)*) => { $crate::cmd::eline_args(format_args!($($t)*)) };
}
pub(crate) use eline;

/// A CLI path argument must be a regular file, checked before any parser opens it (a FIFO
/// would block, a device never end).
pub fn check_file(path: &std::path::Path) -> anyhow::Result<()> {
    bsod_workbench::input::check_regular(path)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_are_escaped_only_on_a_terminal() {
        assert_eq!(mode_for(Format::Text, false), Mode::Text);
        assert_eq!(mode_for(Format::Text, true), Mode::Text);
        assert_eq!(mode_for(Format::Csv, true), Mode::Csv);
        assert_eq!(mode_for(Format::Csv, false), Mode::Raw);
        assert_eq!(mode_for(Format::Json, true), Mode::Json);
        assert_eq!(mode_for(Format::Json, false), Mode::Raw);
    }
}
