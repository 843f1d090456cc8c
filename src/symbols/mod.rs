//! Symbols: symbol paths, symbol-store layout, PDB lookup, export-table fallback.
//!
//! [`Symbolizer`] answers three questions for a module of a crash dump:
//! * where is its image? ([`Symbolizer::find_image`]: `name/TIMESTAMPSIZEOFIMAGE/name` in a store,
//!   or a file of that name with that timestamp and size in a plain or extra folder);
//! * where is its PDB? ([`Symbolizer::find_pdb`]: `name.pdb/GUIDAGE/name.pdb`, or a flat file
//!   whose GUID and age match the image's CodeView record);
//! * what is at this RVA? ([`Symbolizer::symbolize`]: PDB publics and procedures, else the
//!   nearest preceding export), cached per module.
//!
//! [`Symbolizer::new`] is offline: it reads local folders and the downstream stores (caches) of
//! the path's `srv*` elements, and never touches the network. [`Symbolizer::with_server`] adds a
//! [`server::SymbolServer`]: what the local folders lack is then downloaded from the symbol
//! servers the path names, behind the same [`Symbolizer::find_image`] and
//! [`Symbolizer::find_pdb`]; [`Symbolizer::prefetch`] downloads several modules in parallel.

pub mod config;
pub mod fetch;
mod frames;
pub(crate) mod path;
pub mod pdbfile;
pub mod server;
pub(crate) mod store;
pub mod table;

pub use path::{SymbolPath, SymbolPathEntry};
pub use table::{Symbol, SymbolEntry, SymbolSource, SymbolTable};

use crate::pe::{CodeView, Layout, Pe, PeFile, VersionInfo};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use store::{CaseFolder, StoreHit};

/// A module as a crash dump knows it.
#[derive(Clone, Copy, Debug)]
pub struct ModuleRef<'a> {
    /// Its file name or any path spelling (`\SystemRoot\system32\ntoskrnl.exe`).
    pub name: &'a str,
    /// TimeDateStamp from the module list.
    pub timestamp: u32,
    /// SizeOfImage from the module list.
    pub size_of_image: u32,
    /// The image as loaded (from a full dump's memory), when the caller has it.
    pub image: Option<&'a [u8]>,
    /// The CodeView record, when the caller read it already (e.g. from the debug directory
    /// pages of an image in a dump): enough to find the PDB without any image.
    pub codeview: Option<&'a CodeView>,
}

impl<'a> ModuleRef<'a> {
    pub fn new(name: &'a str, timestamp: u32, size_of_image: u32) -> ModuleRef<'a> {
        ModuleRef {
            name,
            timestamp,
            size_of_image,
            image: None,
            codeview: None,
        }
    }
    /// The same module with its CodeView record.
    pub fn with_codeview(self, codeview: &'a CodeView) -> ModuleRef<'a> {
        ModuleRef {
            codeview: Some(codeview),
            ..self
        }
    }
    /// The same module with its in-memory image.
    pub fn with_image(self, image: &'a [u8]) -> ModuleRef<'a> {
        ModuleRef {
            image: Some(image),
            ..self
        }
    }
    /// The file name (last path component), as spelled.
    pub fn file_name(&self) -> &'a str {
        let n = self.name.trim().trim_matches('"');
        n.rsplit(['\\', '/']).next().unwrap_or(n)
    }
}

/// WinDbg's short name of a module: `nt` for the kernel, `hal` for the HAL, else the file stem.
pub fn module_short_name(file_name: &str) -> String {
    let lower = file_name
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(file_name)
        .to_ascii_lowercase();
    match lower.as_str() {
        "ntoskrnl.exe" | "ntkrnlmp.exe" | "ntkrnlpa.exe" | "ntkrpamp.exe" | "ntkrla57.exe" => {
            "nt".to_string()
        }
        "hal.dll" | "halmacpi.dll" | "halacpi.dll" | "halaacpi.dll" => "hal".to_string(),
        _ => {
            let spelled = file_name.rsplit(['\\', '/']).next().unwrap_or(file_name);
            spelled
                .rsplit_once('.')
                .map_or(spelled, |(s, _)| s)
                .to_string()
        }
    }
}

/// What the symbolizer found for one module.
#[derive(Clone, Debug, Serialize)]
pub struct ModuleSymbols {
    /// The module's file name as given.
    pub module: String,
    /// The image file used (from a store or a folder), when one was found.
    pub image_path: Option<PathBuf>,
    /// The CodeView record (from the in-memory image or the image file).
    pub codeview: Option<CodeView>,
    /// The PDB used, when one was found and matched.
    pub pdb_path: Option<PathBuf>,
    /// Where the names come from; `None` when there are none.
    pub source: Option<SymbolSource>,
    /// The image's version resource, when an image was read (IMAGE_VERSION).
    pub version: Option<VersionInfo>,
    #[serde(skip)]
    pub table: SymbolTable,
    /// Why a better source was not used (PDB missing, compressed, mismatched...).
    pub notes: Vec<String>,
}

impl ModuleSymbols {
    /// The symbol at `rva`.
    pub fn lookup(&self, rva: u32) -> Option<Symbol> {
        let source = self.source?;
        let (e, off) = self.table.lookup(rva)?;
        Some(Symbol {
            name: e.name.clone(),
            offset: u64::from(off),
            source,
        })
    }
}

type ModuleKey = (String, u32, u32);

/// Finds images and PDBs in local symbol stores and folders, and names addresses.
pub struct Symbolizer {
    dirs: Vec<PathBuf>,
    extra_dirs: Vec<PathBuf>,
    urls: Vec<String>,
    folders: CaseFolder,
    extra_index: OnceLock<HashMap<String, Vec<PathBuf>>>,
    cache: Mutex<HashMap<ModuleKey, Arc<ModuleSymbols>>>,
    /// Where a CAB-compressed local store file is expanded when no server chain gives a store.
    expand_to: PathBuf,
    server: Option<Arc<server::SymbolServer>>,
}

impl Symbolizer {
    /// A symbolizer over the local parts of `symbol_path`, then `extra_dirs` (e.g. the case
    /// folder, searched recursively for images and PDBs by name).
    pub fn new(symbol_path: &SymbolPath, extra_dirs: &[PathBuf]) -> Symbolizer {
        Symbolizer::with_default_cache(
            symbol_path,
            extra_dirs,
            &config::SymbolsConfig::load().options().default_cache,
        )
    }

    /// As [`Symbolizer::new`], with `default_cache` as the downstream store of `srv*URL`
    /// elements that name none.
    pub fn with_default_cache(
        symbol_path: &SymbolPath,
        extra_dirs: &[PathBuf],
        default_cache: &Path,
    ) -> Symbolizer {
        let mut dirs = symbol_path.local_dirs();
        for chain in server::chains(symbol_path, default_cache) {
            for c in chain.caches {
                if !dirs.contains(&c) {
                    dirs.push(c);
                }
            }
        }
        Symbolizer {
            dirs,
            extra_dirs: extra_dirs.to_vec(),
            urls: symbol_path.urls().into_iter().map(str::to_string).collect(),
            folders: CaseFolder::default(),
            extra_index: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
            expand_to: default_cache.to_path_buf(),
            server: None,
        }
    }

    /// Download what the local folders lack from `server` (built from the same symbol path).
    /// `None` keeps the symbolizer offline.
    pub fn with_server(mut self, server: Option<server::SymbolServer>) -> Symbolizer {
        if let Some(s) = &server {
            for chain in s.chains() {
                for c in &chain.caches {
                    if !self.dirs.contains(c) {
                        self.dirs.push(c.clone());
                    }
                }
            }
            if let Some(c) = s.chains().first().and_then(|c| c.caches.first()) {
                self.expand_to = c.clone();
            }
        }
        self.server = server.map(Arc::new);
        self
    }

    /// The symbol-server client, when the symbolizer may download.
    pub fn server(&self) -> Option<&server::SymbolServer> {
        self.server.as_deref()
    }

    /// Find (and so download, with a server) the images and PDBs of `modules`, up to the
    /// server's parallel limit at once. Modules already looked up are skipped.
    pub fn prefetch(&self, modules: &[ModuleRef]) {
        let workers = self
            .server
            .as_ref()
            .map_or(1, |s| s.options().parallel.max(1))
            .min(modules.len().max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(m) = modules.get(i) else { break };
                        self.module_symbols(m);
                    }
                });
            }
        });
    }

    /// The local folders searched, in order (symbol path, then extra folders).
    pub fn search_dirs(&self) -> Vec<&Path> {
        self.dirs
            .iter()
            .chain(&self.extra_dirs)
            .map(PathBuf::as_path)
            .collect()
    }

    /// Symbol-server URLs from the path: recorded, not fetched.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    fn extra_index(&self) -> &HashMap<String, Vec<PathBuf>> {
        self.extra_index
            .get_or_init(|| crate::input::index_by_name(&self.extra_dirs, true))
    }

    /// Candidate files named `file_name`: flat in each symbol-path folder, then anywhere under
    /// the extra folders.
    fn flat_candidates(&self, file_name: &str) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .dirs
            .iter()
            .filter_map(|d| self.folders.child(d, file_name))
            .filter(|p| p.is_file())
            .collect();
        if let Some(v) = self.extra_index().get(&file_name.to_ascii_lowercase()) {
            out.extend(v.iter().cloned());
        }
        out
    }

    /// The image file of a module: `<store>/<name>/<TS:08X><SIZE:x>/<name>` in each symbol-path
    /// folder, else a file of that name whose PE TimeDateStamp and SizeOfImage match.
    pub fn find_image(&self, name: &str, timestamp: u32, size_of_image: u32) -> Option<PathBuf> {
        let file_name = ModuleRef::new(name, 0, 0).file_name();
        let key = store::image_key(timestamp, size_of_image);
        let matches = |p: &Path| {
            PeFile::open(p).ok().is_some_and(|f| {
                f.pe().ok().is_some_and(|pe| {
                    pe.timestamp() == timestamp && pe.size_of_image() == size_of_image
                })
            })
        };
        for d in &self.dirs {
            if let Some(StoreHit::File(p)) = store::lookup(&self.folders, d, file_name, &key)
                && matches(&p)
            {
                return Some(p);
            }
        }
        if let Some(p) = self
            .flat_candidates(file_name)
            .into_iter()
            .find(|p| matches(p))
        {
            return Some(p);
        }
        self.server
            .as_ref()
            .and_then(|s| s.fetch(file_name, &key, &|p: &Path| matches(p)))
    }

    /// The PDB named by a CodeView record: `<store>/<pdb>/<GUIDAGE>/<pdb>` in each symbol-path
    /// folder, else a flat file of that name whose GUID and age match.
    pub fn find_pdb(&self, cv: &CodeView) -> Option<PathBuf> {
        self.find_pdb_noting(cv, &mut Vec::new())
    }

    fn find_pdb_noting(&self, cv: &CodeView, notes: &mut Vec<String>) -> Option<PathBuf> {
        let name = cv.pdb_name();
        let key = cv.store_key();
        for d in &self.dirs {
            match store::lookup(&self.folders, d, name, &key) {
                Some(StoreHit::File(p)) => return Some(p),
                Some(StoreHit::Compressed(p)) => {
                    // Expanded once into the downstream store, then found there.
                    let accept = |f: &Path| pdbfile::identity(f).is_ok_and(|id| id.matches(cv));
                    let limit = self
                        .server
                        .as_ref()
                        .map_or(server::ServerOptions::default().max_download, |s| {
                            s.options().max_download
                        });
                    match server::store_into(
                        std::slice::from_ref(&self.expand_to),
                        name,
                        &key,
                        &accept,
                        |out| server::expand_cab(&p, name, out, limit),
                    ) {
                        Ok(Some(f)) => return Some(f),
                        Ok(None) => notes.push(format!(
                            "{}: the expanded PDB does not match {}",
                            p.display(),
                            key
                        )),
                        Err(e) => notes.push(e),
                    }
                }
                None => {}
            }
        }
        for p in self.flat_candidates(name) {
            match pdbfile::identity(&p) {
                Ok(id) if id.matches(cv) => return Some(p),
                Ok(id) => notes.push(format!(
                    "{}: PDB {} age {} does not match {} age {}",
                    p.display(),
                    id.guid,
                    id.age,
                    cv.guid_string(),
                    cv.age
                )),
                Err(e) => notes.push(e.to_string()),
            }
        }
        let accept = |f: &Path| pdbfile::identity(f).is_ok_and(|id| id.matches(cv));
        let fetched = self
            .server
            .as_ref()
            .and_then(|s| s.fetch(name, &key, &accept));
        if fetched.is_none()
            && let Some(s) = &self.server
        {
            notes.extend(
                s.notes()
                    .into_iter()
                    .filter(|n| n.starts_with(&format!("{name}:"))),
            );
        }
        fetched
    }

    /// Symbols of a module (loaded once, then cached by name, timestamp and size).
    pub fn module_symbols(&self, module: &ModuleRef) -> Arc<ModuleSymbols> {
        let key = (
            module.file_name().to_ascii_lowercase(),
            module.timestamp,
            module.size_of_image,
        );
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return hit;
        }
        let loaded = Arc::new(self.load_module(module));
        if let Ok(mut c) = self.cache.lock() {
            c.entry(key).or_insert_with(|| loaded.clone());
        }
        loaded
    }

    /// `name+offset` for an RVA inside `module`, from its PDB or else its exports.
    pub fn symbolize(&self, module: &ModuleRef, rva: u32) -> Option<Symbol> {
        self.module_symbols(module).lookup(rva)
    }

    fn load_module(&self, module: &ModuleRef) -> ModuleSymbols {
        let mut out = ModuleSymbols {
            module: module.file_name().to_string(),
            image_path: None,
            codeview: None,
            pdb_path: None,
            source: None,
            version: None,
            table: SymbolTable::default(),
            notes: Vec::new(),
        };
        // The image: in memory when given, else a file from a store or folder.
        let mut export_table = None;
        let mut sections = Vec::new();
        let mut read_image = |pe: &Pe, out: &mut ModuleSymbols| {
            out.codeview = pe.codeview().or_else(|| out.codeview.take());
            out.version = pe.version_info().or_else(|| out.version.take());
            sections = table::section_extents(pe);
            let ex = pe.exports();
            if !ex.entries.is_empty() {
                export_table = Some(SymbolTable::from_exports(&ex, pe));
            }
        };
        let in_memory = module.image.and_then(|b| Pe::parse(b, Layout::Mapped).ok());
        if let Some(pe) = &in_memory {
            read_image(pe, &mut out);
        } else if module.image.is_some() {
            out.notes
                .push("the in-memory image has no readable PE header".into());
        }
        if out.codeview.is_none() {
            out.codeview = module.codeview.cloned();
        }
        if in_memory.is_none() || out.codeview.is_none() {
            if let Some(p) = self.find_image(module.name, module.timestamp, module.size_of_image) {
                match PeFile::open(&p) {
                    Ok(f) => {
                        if let Ok(pe) = f.pe() {
                            read_image(&pe, &mut out);
                        }
                        out.image_path = Some(p);
                    }
                    Err(e) => out.notes.push(e.to_string()),
                }
            } else if in_memory.is_none() {
                out.notes.push(format!(
                    "no image {}/{}/{} in the symbol path or extra folders",
                    module.file_name(),
                    store::image_key(module.timestamp, module.size_of_image),
                    module.file_name()
                ));
            }
        }
        if let Some(cv) = out.codeview.clone() {
            let mut notes = Vec::new();
            match self.find_pdb_noting(&cv, &mut notes) {
                Some(p) => match pdbfile::load(&p, Some(&cv)) {
                    Ok(ps) => {
                        out.table = if sections.is_empty() {
                            ps.table
                        } else {
                            ps.table.with_sections(sections.clone())
                        };
                        out.source = Some(SymbolSource::Pdb);
                        out.pdb_path = Some(p);
                    }
                    Err(e) => notes.push(e.to_string()),
                },
                None => notes.push(format!(
                    "no PDB {}/{}/{} found",
                    cv.pdb_name(),
                    cv.store_key(),
                    cv.pdb_name()
                )),
            }
            out.notes.extend(notes);
        }
        if out.source.is_none()
            && let Some(t) = export_table
        {
            out.table = t;
            out.source = Some(SymbolSource::Export);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(
            module_short_name("\\SystemRoot\\system32\\ntoskrnl.exe"),
            "nt"
        );
        assert_eq!(module_short_name("ntkrnlmp.exe"), "nt");
        assert_eq!(module_short_name("hal.dll"), "hal");
        assert_eq!(
            module_short_name("\\SystemRoot\\System32\\drivers\\amdppm.sys"),
            "amdppm"
        );
        assert_eq!(module_short_name("ACPI.sys"), "ACPI");
        assert_eq!(
            ModuleRef::new("\\SystemRoot\\System32\\drivers\\ACPI.sys", 0, 0).file_name(),
            "ACPI.sys"
        );
    }
}
