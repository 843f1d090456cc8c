//! A loaded case: the inventory plus every artefact parsed from it, and what could not be read.

use super::{CaseError, Extract, Inventory, Problem};
use std::path::{Path, PathBuf};

/// Progress of a case load, for the UI's progress line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadProgress {
    pub stage: String,
    pub done: usize,
    pub total: usize,
}

/// Everything the workbench knows about one case folder. Each artefact is optional: a case with
/// only a dump still works, and whatever failed to load is listed in `problems`.
#[derive(Debug, Default)]
pub struct Case {
    /// The case folder; `None` for the empty screen shown when no case is open.
    pub root: Option<PathBuf>,
    pub inventory: Option<Inventory>,
    pub problems: Vec<Problem>,
}

/// The name of the notes file the workbench keeps in a case folder (the only file it writes).
pub const NOTES_FILE: &str = "bsodwb-notes.md";

impl Case {
    /// No case open.
    pub fn empty() -> Case {
        Case::default()
    }

    /// Discover and load every artefact of `root`, reporting progress as it goes.
    pub fn load(root: &Path, progress: &mut dyn FnMut(LoadProgress)) -> Result<Case, CaseError> {
        let mut seen = 0usize;
        let inventory = Inventory::discover(root, Extract::ToTempDir, &mut |path| {
            seen += 1;
            progress(LoadProgress {
                stage: format!("discovering {path}"),
                done: seen,
                total: 0,
            });
        })?;
        let problems = inventory.problems.clone();
        Ok(Case {
            root: Some(root.to_path_buf()),
            inventory: Some(inventory),
            problems,
        })
    }

    /// Where the case's notes live: `CASE/bsodwb-notes.md` (beside the file when the case is one file).
    pub fn notes_path(&self) -> Option<PathBuf> {
        let root = self.root.as_ref()?;
        let dir = if root.is_file() {
            root.parent()?.to_path_buf()
        } else {
            root.clone()
        };
        Some(dir.join(NOTES_FILE))
    }
}

/// Write `contents` to `path` atomically: a temp file in the same folder, synced, then renamed
/// over the target, so a crash never leaves half a notes file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".bsodwb-notes-")
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
