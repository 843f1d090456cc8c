//! Case folders: discovery, sniffing, inventory and loading.
//!
//! [`scan`] lists what a folder holds (through zip, gzip, xz and raw zlib) without writing
//! anything; [`Inventory::discover`] also inflates compressed artefacts into a private temp dir
//! ([`temp`]) so the parsers can map them, within bounds. The case folder itself is only ever read.

mod discover;
mod load;
pub(crate) mod sniff;
pub mod temp;

pub use discover::{
    DEFAULT_MAX_CASE_INFLATE, DEFAULT_MAX_INFLATE, DiscoverProgress, Extract, Limits,
};
pub use load::{
    ArtefactProgress, BcdArtefact, Case, DumpArtefact, LoadProgress, NOTES_FILE, write_atomic,
};
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
    /// When the file was last written, as its archive entry (or the file system) says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<FileStamp>,
}

/// When a case file was last written, and what says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FileStamp {
    /// Seconds since the Unix epoch: UTC, except for [`StampSource::ZipDos`], which is the
    /// local time of the machine that made the archive (its zone is not recorded).
    pub seconds: i64,
    pub source: StampSource,
}

/// Where a [`FileStamp`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StampSource {
    /// The file's mtime on this machine's file system (a copy may have reset it).
    FileSystem,
    /// A zip entry's extended timestamp extra field (0x5455, "UT"): UTC seconds.
    ZipExtended,
    /// A zip entry's NTFS extra field (0x000a): the file's FILETIME on the machine, UTC.
    ZipNtfs,
    /// A zip entry's MS-DOS date and time: local time, zone unknown, two-second steps.
    ZipDos,
}

impl StampSource {
    /// In words, for the timeline.
    pub fn words(self) -> &'static str {
        match self {
            StampSource::FileSystem => "file system time",
            StampSource::ZipExtended => "zip extended timestamp, UTC",
            StampSource::ZipNtfs => "zip NTFS time, UTC",
            StampSource::ZipDos => "zip DOS time, the archiving machine's local time",
        }
    }

    /// Whether the time is the archive's record of the file (copies keep it).
    pub fn from_archive(self) -> bool {
        self != StampSource::FileSystem
    }
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
    /// Bytes written to the temp folder (inflated artefacts and nested archives).
    pub inflated_bytes: u64,
    /// Owns the inflated archive entries; deleted with the inventory.
    temp: Option<temp::CaseTemp>,
}

impl Inventory {
    /// `text` with every path under the case folder (or under its private temp folder of
    /// inflated archives) shown relative to the case: `/tmp/x/Windows/System32/...` reads
    /// `Windows/System32/...`, the way the case's file list names it.
    pub fn shorten(&self, text: &str) -> String {
        let mut out = text.to_string();
        let mut roots: Vec<String> = vec![self.root.display().to_string()];
        if let Some(t) = &self.temp {
            roots.push(t.path().display().to_string());
        }
        for r in roots.iter().filter(|r| r.len() > 1) {
            for sep in ['/', '\\'] {
                out = out.replace(&format!("{r}{sep}"), "");
            }
        }
        out
    }

    /// Walk `root` (a folder, or a single file), sniff every file; with [`Extract::ToTempDir`],
    /// inflate archives and compressed streams so each file has a readable `local` path.
    /// `progress` is called as files are reached and read (files and bytes done of the total).
    pub fn discover(
        root: &Path,
        extract: Extract,
        progress: &mut dyn FnMut(&DiscoverProgress),
    ) -> Result<Inventory, CaseError> {
        Inventory::discover_limited(root, extract, Limits::from_env(), progress)
    }

    /// [`Inventory::discover`] with explicit bounds instead of the environment's.
    pub fn discover_limited(
        root: &Path,
        extract: Extract,
        limits: Limits,
        progress: &mut dyn FnMut(&DiscoverProgress),
    ) -> Result<Inventory, CaseError> {
        let mut walker = discover::Walker::new(root, extract, limits, progress);
        walker.walk()?;
        Ok(Inventory {
            root: root.to_path_buf(),
            files: walker.files,
            problems: walker.problems,
            inflated_bytes: walker.written,
            temp: walker.temp,
        })
    }

    /// The private temp folder holding inflated entries, if anything was inflated.
    pub fn temp_dir(&self) -> Option<&Path> {
        self.temp.as_ref().map(|t| t.path())
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
