//! A loaded case: the inventory plus every artefact parsed from it, and what could not be read.
//!
//! Loading sniffs the folder (inflating archives into a private temp dir), then parses the
//! artefacts in parallel: the dump with its stack analysis, the event logs, the SYSTEM hive and
//! the signature verdicts of every driver file. A failure of one artefact is a [`Problem`]; the
//! others still load.

use super::{CaseError, CaseFile, Extract, Inventory, Kind, Problem};
use crate::dump::{self, CrashDump, analysis::Analysis};
use crate::eventlog::{self, EventLog};
use crate::pml::{self, PmlLog};
use crate::registry::{self, SystemHive};
use crate::signing::{self, FileVerdict};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Progress of a case load, for the loading screen: what is being done, and per artefact the
/// files and bytes done of the total. Counts never go backwards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadProgress {
    pub stage: String,
    /// Files done of the total, over every artefact row.
    pub done: usize,
    pub total: usize,
    pub artefacts: Vec<ArtefactProgress>,
}

/// One row of the loading screen: the case's files (discovery), the dumps, the boot log, ...
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArtefactProgress {
    pub name: &'static str,
    pub files_done: usize,
    pub files_total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

const ROW_FILES: usize = 0;
const ROW_DUMPS: usize = 1;
const ROW_BOOT_LOG: usize = 2;
const ROW_EVENT_LOGS: usize = 3;
const ROW_HIVES: usize = 4;
const ROW_SIGNATURES: usize = 5;
const ROW_NAMES: [&str; 6] = [
    "case files",
    "crash dumps",
    "boot log",
    "event logs",
    "registry hives",
    "driver signatures",
];

/// The progress shared by the loaders running in parallel.
struct Tracker<'p> {
    state: Mutex<LoadProgress>,
    sink: Mutex<&'p mut (dyn FnMut(LoadProgress) + Send)>,
}

impl<'p> Tracker<'p> {
    fn new(sink: &'p mut (dyn FnMut(LoadProgress) + Send)) -> Tracker<'p> {
        let artefacts = ROW_NAMES
            .iter()
            .map(|name| ArtefactProgress {
                name,
                ..ArtefactProgress::default()
            })
            .collect();
        Tracker {
            state: Mutex::new(LoadProgress {
                stage: "starting".into(),
                artefacts,
                ..LoadProgress::default()
            }),
            sink: Mutex::new(sink),
        }
    }

    /// Change the state (counts only grow) and hand a copy to the sink.
    fn update(&self, f: impl FnOnce(&mut LoadProgress)) {
        let snapshot = {
            let Ok(mut s) = self.state.lock() else { return };
            f(&mut s);
            s.done = s.artefacts.iter().map(|a| a.files_done).sum();
            s.total = s.artefacts.iter().map(|a| a.files_total).sum();
            s.clone()
        };
        if let Ok(mut sink) = self.sink.lock() {
            sink(snapshot);
        }
    }

    fn stage(&self, stage: String) {
        self.update(|s| s.stage = stage);
    }

    /// Set a row's totals (once its files are known).
    fn plan(&self, row: usize, files: usize, bytes: u64) {
        self.update(|s| {
            let a = &mut s.artefacts[row];
            a.files_total = a.files_total.max(files);
            a.bytes_total = a.bytes_total.max(bytes);
        });
    }

    /// A row's counts reached `files` and `bytes` (never lowered).
    fn reach(&self, row: usize, files: usize, bytes: u64) {
        self.update(|s| {
            let a = &mut s.artefacts[row];
            a.files_done = a.files_done.max(files);
            a.bytes_done = a.bytes_done.max(bytes);
        });
    }

    /// One more file of a row is done.
    fn one_done(&self, row: usize, bytes: u64) {
        self.update(|s| {
            let a = &mut s.artefacts[row];
            a.files_done += 1;
            a.bytes_done = a
                .bytes_done
                .saturating_add(bytes)
                .min(a.bytes_total.max(bytes));
        });
    }
}

/// The bytes a parser reads for `f`: its inflated copy, or the file itself.
fn readable_size(f: &CaseFile) -> u64 {
    f.local
        .as_deref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(f.size, |m| m.len())
}

/// A crash dump of the case with its `!analyze`-like analysis.
#[derive(Debug)]
pub struct DumpArtefact {
    /// The dump's path in the case (as in the inventory).
    pub file: String,
    pub dump: CrashDump,
    pub analysis: Analysis,
}

/// A BCD store of the case.
#[derive(Debug)]
pub struct BcdArtefact {
    /// The store's path in the case (as in the inventory).
    pub file: String,
    pub store: crate::registry::bcd::BcdStore,
}

/// The artefacts of one case folder, as read (what the workbench concludes from them is
/// `analysis::CaseAnalysis`). Each artefact is optional: a case with
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
    /// BCD stores (`Boot\BCD`, `EFI\Microsoft\Boot\BCD`).
    pub bcd: Vec<BcdArtefact>,
    /// The Procmon boot log (with its rollover files), indexed; events decode on demand. Shared
    /// so the Timeline pane's filter worker can read it off the UI thread.
    pub boot_log: Option<Arc<PmlLog>>,
    /// The boot log's path in the case (`Bootlog.zip!Bootlog.pml` for an archive entry).
    pub boot_log_path: Option<String>,
    /// The signature verdict of every driver file in the case.
    pub signatures: Vec<FileVerdict>,
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
            .field("bcd", &self.bcd.len())
            .field("boot_log_events", &self.boot_log.as_ref().map(|l| l.len()))
            .field("signatures", &self.signatures.len())
            .finish()
    }
}

/// The name of the notes file the workbench keeps in a case folder (with the report,
/// `report::REPORT_FILE`, the only files it writes there).
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
        // Temp folders left by killed runs go before this one makes its own.
        super::temp::remove_stale(&std::env::temp_dir());
        let tracker = Tracker::new(progress);
        let inventory = Inventory::discover(root, Extract::ToTempDir, &mut |p| {
            tracker.update(|s| {
                s.stage = if p.written > 0 {
                    format!(
                        "discovering {} ({} MiB inflated so far)",
                        p.path,
                        p.written >> 20
                    )
                } else {
                    format!("discovering {}", p.path)
                };
                let a = &mut s.artefacts[ROW_FILES];
                a.files_total = a.files_total.max(p.files_total);
                a.bytes_total = a.bytes_total.max(p.bytes_total);
                a.files_done = a.files_done.max(p.files_done);
                a.bytes_done = a.bytes_done.max(p.bytes_done);
            });
        })?;
        let mut case = Case {
            root: Some(root.to_path_buf()),
            problems: inventory.problems.clone(),
            ..Case::default()
        };
        let plan = |row: usize, kinds: &[Kind], first_only: bool| {
            let mut files: Vec<&CaseFile> = inventory
                .files
                .iter()
                .filter(|f| kinds.contains(&f.kind) && f.local.is_some())
                .collect();
            if first_only {
                files.truncate(1);
            }
            tracker.plan(
                row,
                files.len(),
                files.iter().map(|f| readable_size(f)).sum(),
            );
        };
        plan(ROW_DUMPS, &[Kind::CrashDump, Kind::UserDump], false);
        plan(ROW_BOOT_LOG, &[Kind::ProcmonLog], true);
        plan(ROW_EVENT_LOGS, &[Kind::EventLog], false);
        plan(ROW_HIVES, &[Kind::RegistryHive], false);
        let drivers = drivers_of(&inventory);
        tracker.plan(
            ROW_SIGNATURES,
            drivers.len(),
            drivers.iter().map(|f| readable_size(f)).sum(),
        );
        let say = |stage: String| tracker.stage(stage);
        let done = |row: usize, f: &CaseFile| tracker.one_done(row, readable_size(f));
        let problems = Mutex::new(Vec::new());
        // Readers' warnings and errors' causes leave the file out: the problem names it by its
        // case path, never by its inflated copy in the temp folder.
        let problem = |f: &CaseFile, message: String| {
            if let Ok(mut p) = problems.lock() {
                p.push(Problem::new(f.path.clone(), message));
            }
        };
        let sig_progress = |files: usize, bytes: u64| tracker.reach(ROW_SIGNATURES, files, bytes);
        let cx = Loader {
            inv: &inventory,
            say: &say,
            problem: &problem,
        };
        let ((mut dumps, boot_log), (event_logs, (hive, signatures))) = rayon::join(
            || {
                rayon::join(
                    || load_dumps(root, &cx, &|f| done(ROW_DUMPS, f)),
                    || load_boot_log(&cx, &|f| done(ROW_BOOT_LOG, f)),
                )
            },
            || {
                rayon::join(
                    || load_event_logs(&cx, &|f| done(ROW_EVENT_LOGS, f)),
                    || {
                        rayon::join(
                            || load_hive(&cx, &|f| done(ROW_HIVES, f)),
                            || load_signatures(root, &drivers, &say, &sig_progress),
                        )
                    },
                )
            },
        );
        dumps.sort_by_key(|d| dump_rank(&d.dump));
        case.dumps = dumps;
        case.event_logs = event_logs;
        let (hive, bcd) = hive;
        case.hive = hive;
        case.bcd = bcd;
        if let Some((path, log)) = boot_log {
            case.boot_log = Some(Arc::new(log));
            case.boot_log_path = Some(path);
        }
        case.signatures = signatures;
        case.problems
            .extend(problems.into_inner().unwrap_or_default());
        case.inventory = Some(inventory);
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

type Done<'a> = &'a (dyn Fn(&CaseFile) + Sync);

/// What every artefact loader is given: the case's files, the stage line, the problem list.
#[derive(Clone, Copy)]
struct Loader<'a> {
    inv: &'a Inventory,
    say: &'a (dyn Fn(String) + Sync),
    problem: &'a (dyn Fn(&CaseFile, String) + Sync),
}

fn load_dumps(root: &Path, cx: &Loader<'_>, done: Done) -> Vec<DumpArtefact> {
    let Loader { inv, say, problem } = *cx;
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
        let result = dump::open(path);
        done(f);
        match result {
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
            Err(e) => problem(f, e.cause()),
        }
    }
    out
}

/// The first Procmon log (by path); rollover siblings beside it join as one timeline.
fn load_boot_log(cx: &Loader<'_>, done: Done) -> Option<(String, PmlLog)> {
    let Loader { inv, say, problem } = *cx;
    let f = inv.of_kind(Kind::ProcmonLog).find(|f| f.local.is_some())?;
    let path = readable(f)?;
    say(format!("indexing the boot log {}", f.path));
    let result = pml::open(path);
    done(f);
    match result {
        Ok(log) => {
            for w in log.warnings() {
                problem(f, crate::warning::Warning::from(w).to_string());
            }
            Some((f.path.clone(), log))
        }
        Err(e) => {
            problem(f, e.cause());
            None
        }
    }
}

fn load_event_logs(cx: &Loader<'_>, done: Done) -> Vec<EventLog> {
    let Loader { inv, say, problem } = *cx;
    let mut out = Vec::new();
    for f in inv.of_kind(Kind::EventLog) {
        let Some(path) = readable(f) else { continue };
        say(format!("reading events of {}", f.path));
        let result = eventlog::open(path);
        done(f);
        match result {
            Ok(log) => {
                for w in &log.warnings {
                    problem(f, w.to_string());
                }
                out.push(log);
            }
            Err(e) => problem(f, e.cause()),
        }
    }
    out
}

fn load_hive(cx: &Loader<'_>, done: Done) -> (Option<SystemHive>, Vec<BcdArtefact>) {
    let Loader { inv, say, problem } = *cx;
    let mut found = None;
    let mut stores = Vec::new();
    for f in inv.of_kind(Kind::RegistryHive) {
        let Some(path) = readable(f) else { continue };
        // A BCD store by its name (`Boot/BCD`, `EFI/Microsoft/Boot/BCD`, `BCD-Template`) or by
        // its base block's file name; any other hive is tried as a SYSTEM hive first.
        let name = f.path.rsplit(['/', '\\', '!']).next().unwrap_or("");
        let by_name = name.eq_ignore_ascii_case("BCD")
            || name.to_ascii_uppercase().starts_with("BCD-")
            || f.detail.to_ascii_uppercase().ends_with("BCD");
        let bcd = |f: &CaseFile, stores: &mut Vec<BcdArtefact>| match registry::bcd::open(path) {
            Ok(store) => {
                for w in &store.warnings {
                    problem(f, w.to_string());
                }
                stores.push(BcdArtefact {
                    file: f.path.clone(),
                    store,
                });
                true
            }
            // A store's transaction log is used when the store is read.
            Err(registry::HiveError::TransactionLog { .. }) => false,
            Err(e) => {
                problem(f, e.cause());
                false
            }
        };
        if by_name {
            say(format!("reading BCD store {}", f.path));
            bcd(f, &mut stores);
            done(f);
            continue;
        }
        say(format!("reading hive {}", f.path));
        let result = registry::open(path);
        match result {
            Ok(h) => {
                // A hive read with no service (e.g. truncated) still says why.
                for w in &h.warnings {
                    problem(f, w.to_string());
                }
                if found.is_none() && !h.services.is_empty() {
                    found = Some(h);
                }
            }
            // A transaction log beside its hive is used when the hive is read, not a problem.
            Err(registry::HiveError::TransactionLog { .. }) => {}
            // Not a SYSTEM hive: a BCD store under another name is read as one.
            Err(e @ registry::HiveError::NotSystemHive { .. }) => {
                if e.cause().contains("BCD store") {
                    bcd(f, &mut stores);
                } else {
                    problem(f, e.cause());
                }
            }
            Err(e) => problem(f, e.cause()),
        }
        done(f);
    }
    (found, stores)
}

/// The driver files whose signatures are judged.
fn drivers_of(inv: &Inventory) -> Vec<&CaseFile> {
    inv.of_kind(Kind::PeImage)
        .filter(|f| f.detail.starts_with("driver") || f.path.to_ascii_lowercase().ends_with(".sys"))
        .filter(|f| f.local.is_some())
        .collect()
}

fn load_signatures(
    root: &Path,
    drivers: &[&CaseFile],
    say: &(dyn Fn(String) + Sync),
    reach: &(dyn Fn(usize, u64) + Sync),
) -> Vec<FileVerdict> {
    let paths: Vec<PathBuf> = drivers.iter().filter_map(|f| f.local.clone()).collect();
    if paths.is_empty() {
        return Vec::new();
    }
    let bytes_total: u64 = drivers.iter().map(|f| readable_size(f)).sum();
    let case_root = if root.is_file() {
        root.parent().unwrap_or(root)
    } else {
        root
    };
    let roots = signing::RootStore::for_workbench();
    signing::verify(case_root, &paths, &roots, &|p| match p {
        signing::ScanProgress::Indexing { done, total } => {
            if done % 64 == 0 || done == total {
                say(format!("indexing catalogs {done}/{total}"));
            }
        }
        signing::ScanProgress::Verdicts { done, total } => {
            // Verdicts finish in parallel, in no set order: bytes are counted pro rata.
            let bytes = if total == 0 {
                bytes_total
            } else {
                bytes_total.saturating_mul(done as u64) / total as u64
            };
            reach(done, bytes);
            if done % 16 == 0 || done == total {
                say(format!("checking driver signatures {done}/{total}"));
            }
        }
    })
    .verdicts
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
