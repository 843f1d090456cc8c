//! One warning type for every reader: what could not be read, in which file and where. A
//! reader that warns has kept everything else it could read.

use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Something a reader could not read; the rest of the file was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The file as the reader was given it.
    pub file: PathBuf,
    /// The byte offset in the file, when the problem sits at one.
    pub offset: Option<u64>,
    /// What could not be read and why (naming the record, chunk or virtual address where that
    /// helps more than a file offset).
    pub message: String,
}

impl Warning {
    /// A warning about `file` at no particular offset.
    pub fn new(file: &Path, message: impl Into<String>) -> Warning {
        Warning {
            file: file.to_path_buf(),
            offset: None,
            message: message.into(),
        }
    }

    /// A warning about the bytes of `file` at `offset`.
    pub fn at(file: &Path, offset: u64, message: impl Into<String>) -> Warning {
        Warning {
            file: file.to_path_buf(),
            offset: Some(offset),
            message: message.into(),
        }
    }

    /// Whether the message says `text` (what tests and filters look for).
    pub fn says(&self, text: &str) -> bool {
        self.message.contains(text)
    }

    /// As shown in a listing about `subject`: the file is named when it is another one (a
    /// catalog that lists the subject, say).
    pub fn shown_for(&self, subject: &Path) -> String {
        if self.file == subject {
            self.to_string()
        } else {
            self.with_file()
        }
    }

    /// The warning with its file first: `file: offset 0x10: message`.
    pub fn with_file(&self) -> String {
        format!("{}: {self}", self.file.display())
    }
}

/// The offset (when known) and the message; the file is left to the listing that shows it
/// (a case names files by their case path, not by the copy a reader was given).
impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(o) = self.offset {
            write!(f, "offset {o:#x}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl From<&procmon_pml::Warning> for Warning {
    fn from(w: &procmon_pml::Warning) -> Warning {
        Warning::at(&w.file, w.offset, w.message.clone())
    }
}

/// Warnings as lines (for messages and test output).
pub fn lines(warnings: &[Warning]) -> String {
    warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
