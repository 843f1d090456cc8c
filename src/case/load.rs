//! A loaded case: the inventory plus every artefact parsed from it, and what could not be read.
//!
//! Loading sniffs the folder (inflating archives into a private temp dir), then parses the
//! artefacts in parallel: the dump with its stack analysis, the event logs, the SYSTEM hive and
//! the signature verdicts of every driver file. A failure of one artefact is a [`Problem`]; the
//! others still load.

use super::{CaseError, CaseFile, Extract, Inventory, Kind, Problem};
use crate::dump::{self, CrashDump, analysis::Analysis};
use crate::eventlog::{self, EventLog};
use crate::links::DriverIndex;
use crate::pml::{self, PmlLog};
use crate::registry::{self, SystemHive};
use crate::signing::{self, FileVerdict};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Progress of a case load, for the UI's progress line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadProgress {
    pub stage: String,
    pub done: usize,
    pub total: usize,
}

/// A crash dump of the case with its `!analyze`-like analysis.
#[derive(Debug)]
pub struct DumpArtefact {
    /// The dump's path in the case (as in the inventory).
    pub file: String,
    pub dump: CrashDump,
    pub analysis: Analysis,
}

/// Everything the workbench knows about one case folder. Each artefact is optional: a case with
/// only a dump still works, and whatever failed to load is listed in `problems`.
#[derive(Default)]
pub struct Case {
    /// The case folder; `None` for the empty screen shown when no case is open.
    pub root: Option<PathBuf>,
    pub inventory: Option<Inventory>,
    pub problems: Vec<Problem>,
    /// Crash dumps, the one to analyse first (a kernel MEMORY.DMP, else the newest minidump) first.
    pub dumps: Vec<DumpArtefact>,
    /// Event logs (CodeIntegrity, System, ...), with the events a boot failure needs.
    pub event_logs: Vec<EventLog>,
    /// The SYSTEM hive.
    pub hive: Option<SystemHive>,
    /// The Procmon boot log (with its rollover files), indexed; events decode on demand. Shared
    /// so the Timeline pane's filter worker can read it off the UI thread.
    pub boot_log: Option<Arc<PmlLog>>,
    /// The boot log's path in the case (`Bootlog.zip!Bootlog.pml` for an archive entry).
    pub boot_log_path: Option<String>,
    /// The signature verdict of every driver file in the case.
    pub signatures: Vec<FileVerdict>,
    /// Every reference to each driver across the artefacts above.
    pub links: DriverIndex,
    /// What the rules conclude from all of the above, most severe first.
    pub findings: Vec<crate::findings::Finding>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("root", &self.root)
            .field("files", &self.inventory.as_ref().map(|i| i.files.len()))
            .field("problems", &self.problems.len())
            .field("dumps", &self.dumps.len())
            .field("event_logs", &self.event_logs.len())
            .field("hive", &self.hive.is_some())
            .field("boot_log_events", &self.boot_log.as_ref().map(|l| l.len()))
            .field("signatures", &self.signatures.len())
            .field("findings", &self.findings.len())
            .finish()
    }
}

/// The name of the notes file the workbench keeps in a case folder (the only file it writes).
pub const NOTES_FILE: &str = "bsodwb-notes.md";

impl Case {
    /// No case open.
    pub fn empty() -> Case {
        Case::default()
    }

    /// Discover and load every artefact of `root`, reporting progress as it goes.
    pub fn load(
        root: &Path,
        progress: &mut (dyn FnMut(LoadProgress) + Send),
    ) -> Result<Case, CaseError> {
        let mut seen = 0usize;
        let inventory = Inventory::discover(root, Extract::ToTempDir, &mut |path| {
            seen += 1;
            progress(LoadProgress {
                stage: format!("discovering {path}"),
                done: seen,
                total: 0,
            });
        })?;
        let mut case = Case {
            root: Some(root.to_path_buf()),
            problems: inventory.problems.clone(),
            ..Case::default()
        };
        let progress = Mutex::new(progress);
        let say = |stage: String| {
            if let Ok(mut p) = progress.lock() {
                p(LoadProgress {
                    stage,
                    done: 0,
                    total: 0,
                });
            }
        };
        let problems = Mutex::new(Vec::new());
        let problem = |f: &CaseFile, message: String| {
            // Messages name the file by its case path, not by its inflated copy in the temp dir.
            let message = match &f.local {
                Some(local) => message
                    .replace(&format!("{}: ", local.display()), "")
                    .replace(&local.display().to_string(), &f.path),
                None => message,
            };
            if let Ok(mut p) = problems.lock() {
                p.push(Problem::new(f.path.clone(), message));
            }
        };
        let ((mut dumps, boot_log), (event_logs, (hive, signatures))) = rayon::join(
            || {
                rayon::join(
                    || load_dumps(root, &inventory, &say, &problem),
                    || load_boot_log(&inventory, &say, &problem),
                )
            },
            || {
                rayon::join(
                    || load_event_logs(&inventory, &say, &problem),
                    || {
                        rayon::join(
                            || load_hive(&inventory, &say, &problem),
                            || load_signatures(root, &inventory, &say),
                        )
                    },
                )
            },
        );
        dumps.sort_by_key(|d| dump_rank(&d.dump));
        case.dumps = dumps;
        case.event_logs = event_logs;
        case.hive = hive;
        if let Some((path, log)) = boot_log {
            case.boot_log = Some(Arc::new(log));
            case.boot_log_path = Some(path);
        }
        case.signatures = signatures;
        case.problems
            .extend(problems.into_inner().unwrap_or_default());
        case.inventory = Some(inventory);
        case.links = DriverIndex::build(&case);
        case.findings = crate::findings::analyze(&case);
        Ok(case)
    }

    /// The dump to analyse first.
    pub fn dump(&self) -> Option<&DumpArtefact> {
        self.dumps.first()
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

/// A kernel MEMORY.DMP first, then minidumps newest first, then user dumps; a dump whose module
/// list could not be read (a cut or damaged file) after the rest.
fn dump_rank(d: &CrashDump) -> (bool, u8, std::cmp::Reverse<u64>) {
    let kind = match d.dump_type {
        4 => 1,
        0 => 2,
        _ => 0,
    };
    (
        d.modules.is_empty(),
        kind,
        std::cmp::Reverse(d.system_time.unwrap_or(0)),
    )
}

fn readable(f: &CaseFile) -> Option<&Path> {
    f.local.as_deref()
}

fn load_dumps(
    root: &Path,
    inv: &Inventory,
    say: &(dyn Fn(String) + Sync),
    problem: &(dyn Fn(&CaseFile, String) + Sync),
) -> Vec<DumpArtefact> {
    let symbol_path = crate::symbols::SymbolPath::from_arg_or_env(None);
    let folders: Vec<PathBuf> = vec![if root.is_file() {
        root.parent().unwrap_or(root).to_path_buf()
    } else {
        root.to_path_buf()
    }];
    let symbolizer = crate::symbols::Symbolizer::new(&symbol_path, &folders);
    let mut out = Vec::new();
    for f in inv
        .files
        .iter()
        .filter(|f| matches!(f.kind, Kind::CrashDump | Kind::UserDump))
    {
        let Some(path) = readable(f) else { continue };
        say(format!("reading dump {}", f.path));
        match dump::open(path) {
            Ok(d) => {
                say(format!("unwinding the stack of {}", f.path));
                let opts = dump::analysis::AnalyzeOptions {
                    symbol_path: std::env::var("_NT_SYMBOL_PATH").ok(),
                    image_folders: folders.clone(),
                    symbols: Some(&symbolizer),
                    max_frames: 64,
                };
                let analysis = dump::analysis::analyze(&d, &opts);
                out.push(DumpArtefact {
                    file: f.path.clone(),
                    dump: d,
                    analysis,
                });
            }
            Err(e) => problem(f, e.to_string()),
        }
    }
    out
}

/// The first Procmon log (by path); rollover siblings beside it join as one timeline.
fn load_boot_log(
    inv: &Inventory,
    say: &(dyn Fn(String) + Sync),
    problem: &(dyn Fn(&CaseFile, String) + Sync),
) -> Option<(String, PmlLog)> {
    let f = inv.of_kind(Kind::ProcmonLog).next()?;
    let path = readable(f)?;
    say(format!("indexing the boot log {}", f.path));
    match pml::open(path) {
        Ok(log) => {
            for w in log.warnings() {
                problem(f, w.to_string());
            }
            Some((f.path.clone(), log))
        }
        Err(e) => {
            problem(f, e.to_string());
            None
        }
    }
}

fn load_event_logs(
    inv: &Inventory,
    say: &(dyn Fn(String) + Sync),
    problem: &(dyn Fn(&CaseFile, String) + Sync),
) -> Vec<EventLog> {
    let mut out = Vec::new();
    for f in inv.of_kind(Kind::EventLog) {
        let Some(path) = readable(f) else { continue };
        say(format!("reading events of {}", f.path));
        match eventlog::open(path) {
            Ok(log) => {
                for w in &log.warnings {
                    problem(f, w.to_string());
                }
                out.push(log);
            }
            Err(e) => problem(f, e.to_string()),
        }
    }
    out
}

fn load_hive(
    inv: &Inventory,
    say: &(dyn Fn(String) + Sync),
    problem: &(dyn Fn(&CaseFile, String) + Sync),
) -> Option<SystemHive> {
    let mut found = None;
    for f in inv.of_kind(Kind::RegistryHive) {
        let Some(path) = readable(f) else { continue };
        say(format!("reading hive {}", f.path));
        match registry::open(path) {
            Ok(h) => {
                // A hive read with no service (e.g. truncated) still says why.
                for w in &h.warnings {
                    problem(f, w.clone());
                }
                if found.is_none() && !h.services.is_empty() {
                    found = Some(h);
                }
            }
            // A transaction log beside its hive is used when the hive is read, not a problem.
            Err(registry::HiveError::TransactionLog { .. }) => {}
            Err(e) => problem(f, e.to_string()),
        }
    }
    found
}

fn load_signatures(
    root: &Path,
    inv: &Inventory,
    say: &(dyn Fn(String) + Sync),
) -> Vec<FileVerdict> {
    let drivers: Vec<PathBuf> = inv
        .of_kind(Kind::PeImage)
        .filter(|f| f.detail.starts_with("driver") || f.path.to_ascii_lowercase().ends_with(".sys"))
        .filter_map(|f| f.local.clone())
        .collect();
    if drivers.is_empty() {
        return Vec::new();
    }
    let case_root = if root.is_file() {
        root.parent().unwrap_or(root)
    } else {
        root
    };
    signing::CaseSignatures::scan(case_root, &drivers, &|p| match p {
        signing::ScanProgress::Indexing { done, total } => {
            if done % 64 == 0 || done == total {
                say(format!("indexing catalogs {done}/{total}"));
            }
        }
        signing::ScanProgress::Verdicts { done, total } => {
            if done % 16 == 0 || done == total {
                say(format!("checking driver signatures {done}/{total}"));
            }
        }
    })
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
