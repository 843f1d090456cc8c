//! Dump analysis with symbol servers: an offline pass names what the local folders and caches
//! can; the modules whose frames stayed unnamed are then downloaded in parallel and the dump is
//! analysed again (whatever the second pass newly reaches is fetched on demand). Used by
//! `bsodwb dump` (progress on stderr) and the Dump pane's worker (progress in the pane).

use super::server::{self, ServerOptions, SymbolServer};
use super::{ModuleRef, SymbolPath, Symbolizer};
use crate::dump::CrashDump;
use crate::dump::analysis::{self, Analysis};
use std::path::PathBuf;

/// How many frames of `a` sit in a module but have no function name.
pub fn unnamed_frames(a: &Analysis) -> usize {
    a.stack
        .iter()
        .filter(|f| f.module.is_some() && f.symbol.is_none())
        .count()
}

/// What to tell a user whose stack has unnamed frames and whose symbol path names no server:
/// the symbol path that would name them. `None` when every frame is named or a server is set.
pub fn symbol_path_hint(path: &SymbolPath, a: &Analysis) -> Option<String> {
    let n = unnamed_frames(a);
    if n == 0 || !path.urls().is_empty() {
        return None;
    }
    Some(format!(
        "{n} frame(s) have no names: the symbol path {} would name them (--symbols, _NT_SYMBOL_PATH, or path in the [symbols] table of ~/.config/bsodwb/config.toml)",
        server::suggested_path()
    ))
}

/// The dump's modules with frames in `a` that the local folders and caches give no PDB for
/// (frames unnamed, or named from the exports only), each once.
fn modules_to_fetch<'d>(
    dump: &'d CrashDump,
    a: &Analysis,
    local: &Symbolizer,
) -> Vec<ModuleRef<'d>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for f in a.stack.iter().filter(|f| f.module.is_some()) {
        if let Some(m) = dump.module_at(f.ip)
            && seen.insert(m.base)
        {
            let r = ModuleRef::new(&m.name, m.timestamp, m.size);
            if local.module_symbols(&r).source != Some(super::SymbolSource::Pdb) {
                out.push(r);
            }
        }
    }
    out
}

/// Options of [`analyze`].
pub struct FetchOptions {
    pub path: SymbolPath,
    /// Extra folders searched for images and PDBs (the case folder).
    pub folders: Vec<PathBuf>,
    pub server: ServerOptions,
    pub progress: Option<server::ProgressFn>,
    pub max_frames: usize,
}

/// What [`analyze`] did.
pub struct Fetched {
    pub analysis: Analysis,
    /// HTTP requests sent (0 when the path names no server, or every file was cached).
    pub requests: u64,
    /// Failures and server messages.
    pub notes: Vec<String>,
}

fn run(dump: &CrashDump, o: &FetchOptions, sym: &Symbolizer) -> Analysis {
    let opts = analysis::AnalyzeOptions {
        symbol_path: Some(o.path.source.clone()).filter(|s| !s.is_empty()),
        image_folders: o.folders.clone(),
        symbols: Some(sym),
        max_frames: o.max_frames,
    };
    analysis::analyze(dump, &opts)
}

/// Analyse `dump`, downloading from the path's symbol servers what its stack needs. Without a
/// server in the path this is the offline analysis, and nothing touches the network.
pub fn analyze(dump: &CrashDump, o: &FetchOptions) -> Fetched {
    let offline = Symbolizer::with_default_cache(&o.path, &o.folders, &o.server.default_cache);
    let first = run(dump, o, &offline);
    let wanted = if o.path.urls().is_empty() {
        Vec::new()
    } else {
        modules_to_fetch(dump, &first, &offline)
    };
    let server = if wanted.is_empty() {
        None
    } else {
        SymbolServer::from_path(&o.path, o.server.clone())
    };
    let Some(mut server) = server else {
        return Fetched {
            analysis: first,
            requests: 0,
            notes: Vec::new(),
        };
    };
    if let Some(p) = &o.progress {
        server = server.with_progress(p.clone());
    }
    let online = Symbolizer::with_default_cache(&o.path, &o.folders, &o.server.default_cache)
        .with_server(Some(server));
    online.prefetch(&wanted);
    let analysis = run(dump, o, &online);
    let (requests, notes) = online
        .server()
        .map_or((0, Vec::new()), |s| (s.requests(), s.notes()));
    Fetched {
        analysis,
        requests,
        notes,
    }
}

/// What the download worker reports.
pub enum WorkerMsg {
    /// A transfer's progress.
    Progress(server::Progress),
    /// The dump at `index` analysed again with what came down.
    Done {
        index: usize,
        analysis: Box<Analysis>,
        requests: u64,
        notes: Vec<String>,
    },
    /// The dump at `index` could not be opened again.
    Failed { index: usize, error: String },
    /// Every dump is done.
    Finished,
}

/// Analyse the dumps at `paths` (with their index) on a worker thread, downloading from the
/// symbol servers of `path`; the receiver gets progress and each new analysis. The thread holds
/// nothing the caller waits for: dropping the receiver (quitting) never blocks.
pub fn spawn_worker(
    dumps: Vec<(usize, PathBuf)>,
    path: SymbolPath,
    folders: Vec<PathBuf>,
    server: ServerOptions,
) -> std::io::Result<crossbeam_channel::Receiver<WorkerMsg>> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("symbol-downloads".into())
        .spawn(move || {
            let ptx = tx.clone();
            let progress: server::ProgressFn = std::sync::Arc::new(move |p: &server::Progress| {
                let _ = ptx.send(WorkerMsg::Progress(p.clone()));
            });
            let o = FetchOptions {
                path,
                folders,
                server,
                progress: Some(progress),
                max_frames: 64,
            };
            for (index, p) in dumps {
                let msg = match crate::dump::open(&p) {
                    Ok(d) => {
                        let f = analyze(&d, &o);
                        WorkerMsg::Done {
                            index,
                            analysis: Box::new(f.analysis),
                            requests: f.requests,
                            notes: f.notes,
                        }
                    }
                    Err(e) => WorkerMsg::Failed {
                        index,
                        error: e.to_string(),
                    },
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
            let _ = tx.send(WorkerMsg::Finished);
        })?;
    Ok(rx)
}
