//! Case folders: discovery, sniffing, inventory and loading.
//!
//! [`scan`] lists what a folder holds (through zip, gzip, xz and raw zlib) without writing
//! anything; [`Inventory::discover`] also inflates compressed content into a private temp dir so
//! the parsers can map it. The case folder itself is only ever read.

mod discover;
mod load;
pub mod sniff;

pub use discover::{DEFAULT_MAX_INFLATE, Extract};
pub use load::{Case, DumpArtefact, LoadProgress, NOTES_FILE, write_atomic};
pub use sniff::{Kind, Wrapper};

use serde::Serialize;
use std::path::{Path, PathBuf};

/// One file of a case (an archive entry counts as a file).
#[derive(Clone, Debug, Serialize)]
pub struct CaseFile {
    /// Relative to the case root, `/`-separated; `archive.zip!inner/path` for archive entries.
    pub path: String,
    /// Where the bytes can be read: the file itself, or its inflated copy in the case's private
    /// temp dir. `None` when only sniffed (scan) through compression.
    #[serde(skip)]
    pub local: Option<PathBuf>,
    pub kind: Kind,
    /// Bytes on disk (for an archive entry: its uncompressed size).
    pub size: u64,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<Wrapper>,
}

/// Something in the case that could not be read, and why.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: String, message: String) -> Problem {
        Problem { path, message }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("cannot open case {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a case folder holds.
#[derive(Debug)]
pub struct Inventory {
    pub root: PathBuf,
    pub files: Vec<CaseFile>,
    pub problems: Vec<Problem>,
    /// Owns the inflated archive entries; deleted with the inventory.
    _temp: Option<tempfile::TempDir>,
}

impl Inventory {
    /// Walk `root` (a folder, or a single file), sniff every file; with [`Extract::ToTempDir`],
    /// inflate archives and compressed streams so each file has a readable `local` path.
    /// `progress` is called with each file's relative path as it is reached.
    pub fn discover(
        root: &Path,
        extract: Extract,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Inventory, CaseError> {
        let mut walker = discover::Walker::new(root, extract, progress);
        walker.walk()?;
        Ok(Inventory {
            root: root.to_path_buf(),
            files: walker.files,
            problems: walker.problems,
            _temp: walker.temp,
        })
    }

    /// The files of one kind, in path order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &CaseFile> {
        self.files.iter().filter(move |f| f.kind == kind)
    }
}

/// `bsodwb scan`: the inventory without writing anything.
pub fn scan(root: &Path) -> Result<Inventory, CaseError> {
    Inventory::discover(root, Extract::SniffOnly, &mut |_| {})
}
