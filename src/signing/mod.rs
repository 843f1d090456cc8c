//! Authenticode hashes, embedded signatures, catalogs and signature verdicts.
//!
//! The question this module answers for every driver file of a case: what vouches for it? Its
//! own embedded signature, a catalog Code Integrity reads (CatRoot), or only a catalog the
//! servicing stack keeps (`servicing\Packages`), which Code Integrity does not read: the
//! STATUS_INVALID_IMAGE_HASH boot failure (reference integrity-and-signing.md §0.2).
//!
//! * [`authenticode_hashes`]: Authenticode SHA1/SHA256 (the catalog keys) and flat hashes.
//! * [`embedded_signature`]: signer, issuer, digest algorithm, digest check, signing time, nested.
//! * [`Catalog`], [`CatalogIndex`]: `.cat` members and a parallel index of catalog folders.
//! * [`verdict`]: one [`FileVerdict`] per file; [`CaseSignatures::scan`] for a whole case.
//! * [`imported`]: sigcheck CSV and SIGVERIF.TXT, shown beside our verdicts.

pub mod authenticode;
pub mod catalog;
pub mod chain;
pub mod der;
pub mod embedded;
pub mod imported;
pub mod pkcs7;

pub use authenticode::{AuthenticodeHashes, PeLayout, PeLayoutError, authenticode_hashes};
pub use catalog::{
    Catalog, CatalogDir, CatalogError, CatalogHit, CatalogIndex, CatalogLocation, CatalogMember,
    CatalogRef, IndexProgress,
};
pub use chain::{ChainReport, ChainStatus, RootStore, RootsError};
pub use embedded::{EmbeddedSignature, SignatureInfo, embedded_signature};
pub use imported::ThirdPartyVerdict;

use crate::driver::DriverKey;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The verdict for one file (serialised as the kebab-case strings below).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// An intact embedded Authenticode signature.
    SignedEmbedded,
    /// Listed in a catalog outside `servicing\Packages` (CatRoot or a given folder).
    SignedCatalog,
    /// Listed only in `servicing\Packages` catalogs: Code Integrity will not find it.
    CatalogOnlyInServicing,
    /// An embedded signature that does not hold: its signed digest differs from the file's
    /// (changed after signing), its signed attributes do not verify, or it cannot be decoded.
    DigestMismatch,
    /// No embedded signature and in no catalog.
    Unsigned,
    /// Not readable, or a PE image whose headers are broken.
    Unreadable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::SignedEmbedded => "signed-embedded",
            Verdict::SignedCatalog => "signed-catalog",
            Verdict::CatalogOnlyInServicing => "catalog-only-in-servicing",
            Verdict::DigestMismatch => "digest-mismatch",
            Verdict::Unsigned => "unsigned",
            Verdict::Unreadable => "unreadable",
        }
    }

    /// Whether Code Integrity would accept the file's signature.
    pub fn is_signed(self) -> bool {
        matches!(self, Verdict::SignedEmbedded | Verdict::SignedCatalog)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which hashes were computed: Authenticode for PE images, flat for other files (INF, CAT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashKind {
    Authenticode,
    Flat,
    None,
}

/// The embedded-signature part of a verdict: the primary signature's summary and every
/// signature in full.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EmbeddedSummary {
    pub present: bool,
    pub signer: Option<String>,
    pub issuer: Option<String>,
    /// Whether the primary signature's signed digest matches the file (`None` when absent).
    pub digest_ok: Option<bool>,
    pub digest_algorithm: Option<String>,
    pub signing_time: Option<String>,
    pub chain: Option<ChainStatus>,
    /// All signatures (primary first, then nested).
    pub signatures: Vec<SignatureInfo>,
}

/// Everything known about one file's signature.
#[derive(Clone, Debug, Serialize)]
pub struct FileVerdict {
    pub path: PathBuf,
    pub driver: Option<DriverKey>,
    pub size: Option<u64>,
    pub hash_kind: HashKind,
    /// Authenticode SHA1/SHA256 for PE images, else the flat hashes (upper-case hex).
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub flat_sha1: Option<String>,
    pub flat_sha256: Option<String>,
    /// Identity of a PE image: machine, link time and version resource (sigcheck's columns).
    pub image: Option<ImageInfo>,
    pub embedded: EmbeddedSummary,
    /// The catalog that vouches (CatRoot, then other folders, then servicing), if any.
    pub catalog: Option<CatalogRef>,
    /// Every catalog listing the file.
    pub catalogs: Vec<CatalogRef>,
    /// When no catalog lists the file's hash: catalogs that list a driver of the same file
    /// name under another hash (the file was replaced, patched or is another version).
    pub listed_by_name: Vec<CatalogRef>,
    pub verdict: Verdict,
    /// Verdicts of sigcheck / sigverif reports found for this file: shown, never used.
    pub third_party: Vec<ThirdPartyVerdict>,
    pub warnings: Vec<String>,
}

/// What sigcheck shows beside a signature: machine, link date, version strings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImageInfo {
    pub machine: u16,
    pub machine_name: Option<&'static str>,
    /// COFF TimeDateStamp (seconds since 1970; "Link date").
    pub timestamp: u32,
    pub company: Option<String>,
    pub description: Option<String>,
    pub file_version: Option<String>,
    pub product: Option<String>,
    pub original_filename: Option<String>,
}

impl ImageInfo {
    fn of(pe: &crate::pe::Pe<'_>) -> ImageInfo {
        let vi = pe.version_info();
        let s = |f: fn(&crate::pe::VersionInfo) -> Option<&str>| {
            vi.as_ref().and_then(|v| f(v).map(str::to_string))
        };
        ImageInfo {
            machine: pe.machine(),
            machine_name: crate::pe::machine_name(pe.machine()),
            timestamp: pe.timestamp(),
            company: s(crate::pe::VersionInfo::company_name),
            description: s(crate::pe::VersionInfo::file_description),
            file_version: vi.as_ref().and_then(|v| v.file_version()),
            product: s(crate::pe::VersionInfo::product_name),
            original_filename: s(crate::pe::VersionInfo::original_filename),
        }
    }
}

/// Errors of the path-level API.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Pe {
        path: PathBuf,
        source: PeLayoutError,
    },
}

/// The verdict for one file against a catalog index, with a chain check when `roots` is given.
/// Never fails: an unreadable file gets [`Verdict::Unreadable`] and the reason in `warnings`.
///
/// Order, as Code Integrity would see it: an intact embedded signature; else a catalog it reads
/// (CatRoot, or a folder given as one) whose own signature does not fail; else a broken embedded
/// signature; else a catalog only in servicing\Packages; else unsigned. Chain checks are
/// reported, not folded into the verdict: Microsoft roots are rarely all available offline.
pub fn verdict(path: &Path, index: &CatalogIndex, roots: Option<&RootStore>) -> FileVerdict {
    let mut v = FileVerdict {
        path: path.to_path_buf(),
        driver: DriverKey::from_path(&path.to_string_lossy()),
        size: None,
        hash_kind: HashKind::None,
        sha1: None,
        sha256: None,
        flat_sha1: None,
        flat_sha256: None,
        image: None,
        embedded: EmbeddedSummary::default(),
        catalog: None,
        catalogs: Vec::new(),
        listed_by_name: Vec::new(),
        verdict: Verdict::Unreadable,
        third_party: Vec::new(),
        warnings: Vec::new(),
    };
    let bytes = match crate::mapped::Bytes::open(path) {
        Ok(b) => b,
        Err(source) => {
            v.warnings.push(
                SigningError::Io {
                    path: path.to_path_buf(),
                    source,
                }
                .to_string(),
            );
            return v;
        }
    };
    v.size = u64::try_from(bytes.len()).ok();
    let (keys, embedded) = if bytes.starts_with(b"MZ") {
        let layout = match crate::pe::Pe::parse(&bytes, crate::pe::Layout::File)
            .map_err(PeLayoutError::from)
            .and_then(|pe| {
                v.image = Some(ImageInfo::of(&pe));
                PeLayout::from_pe(&pe)
            }) {
            Ok(l) => l,
            Err(source) => {
                v.warnings.push(
                    SigningError::Pe {
                        path: path.to_path_buf(),
                        source,
                    }
                    .to_string(),
                );
                return v;
            }
        };
        let h = authenticode::hashes_with_layout(&bytes, &layout);
        v.hash_kind = HashKind::Authenticode;
        v.sha1 = Some(der::hex_upper(&h.sha1));
        v.sha256 = Some(der::hex_upper(&h.sha256));
        v.flat_sha1 = Some(der::hex_upper(&h.flat_sha1));
        v.flat_sha256 = Some(der::hex_upper(&h.flat_sha256));
        let emb = embedded::read_embedded(&bytes, &layout, roots);
        (vec![h.sha1.to_vec(), h.sha256.to_vec()], Some(emb))
    } else {
        let (s1, s256) = authenticode::flat_hashes(&bytes);
        v.hash_kind = HashKind::Flat;
        v.sha1 = Some(der::hex_upper(&s1));
        v.sha256 = Some(der::hex_upper(&s256));
        v.flat_sha1 = v.sha1.clone();
        v.flat_sha256 = v.sha256.clone();
        (vec![s1.to_vec(), s256.to_vec()], None)
    };
    drop(bytes);

    let mut hits: Vec<CatalogHit> = keys.iter().flat_map(|k| index.lookup(k)).collect();
    hits.sort_by_key(|h| (h.catalog, h.member));
    hits.dedup();
    v.catalogs = hits.iter().map(|h| index.describe(*h, roots)).collect();
    // CatRoot first, then other folders, then servicing: the first is the one that vouches.
    v.catalogs.sort_by_key(|c| match c.location {
        CatalogLocation::Catroot => 0,
        CatalogLocation::Other => 1,
        CatalogLocation::Servicing => 2,
    });
    for c in &v.catalogs {
        v.warnings.extend(c.warnings.iter().cloned());
    }
    v.catalog = v.catalogs.first().cloned();
    if v.catalogs.is_empty()
        && let Some(key) = &v.driver
    {
        let mut named = index.lookup_name(key);
        named.sort_by_key(|h| (h.catalog, h.member));
        named.dedup_by_key(|h| h.catalog);
        v.listed_by_name = named
            .into_iter()
            .map(|h| index.describe(h, roots))
            .collect();
        if let Some(first) = v.listed_by_name.first() {
            v.warnings.push(format!(
                "{} lists {} under another hash: this file is not the one catalogued",
                first.path.display(),
                key
            ));
        }
    }

    let mut embedded_intact = false;
    let mut embedded_present = false;
    if let Some(emb) = embedded {
        embedded_present = emb.present;
        embedded_intact = emb.intact();
        let p = emb.primary();
        v.embedded = EmbeddedSummary {
            present: emb.present,
            signer: p.and_then(|s| s.signer.clone()),
            issuer: p.and_then(|s| s.issuer.clone()),
            digest_ok: p.map(|s| s.digest_ok),
            digest_algorithm: p.map(|s| s.digest_algorithm.clone()),
            signing_time: p.and_then(|s| s.signing_time.clone()),
            chain: p.and_then(|s| s.chain.as_ref().map(|c| c.status)),
            signatures: emb.signatures.clone(),
        };
        v.warnings.extend(emb.warnings);
    }
    // A catalog whose own signature fails (changed after signing) vouches for nothing.
    for c in v.catalogs.iter().filter(|c| c.signature_ok == Some(false)) {
        v.warnings.push(format!(
            "{}: the catalog's signature does not verify (changed after signing); not counted",
            c.path.display()
        ));
    }
    let vouching: Vec<&CatalogRef> = v
        .catalogs
        .iter()
        .filter(|c| c.signature_ok != Some(false))
        .collect();
    let outside_servicing = vouching
        .iter()
        .any(|c| c.location != CatalogLocation::Servicing);
    v.verdict = if embedded_intact {
        Verdict::SignedEmbedded
    } else if outside_servicing {
        Verdict::SignedCatalog
    } else if embedded_present {
        Verdict::DigestMismatch
    } else if !vouching.is_empty() {
        Verdict::CatalogOnlyInServicing
    } else {
        Verdict::Unsigned
    };
    v
}

/// The verdicts of many files, in parallel, in the order given.
pub fn verdicts(
    paths: &[PathBuf],
    index: &CatalogIndex,
    roots: Option<&RootStore>,
) -> Vec<FileVerdict> {
    use rayon::prelude::*;
    paths.par_iter().map(|p| verdict(p, index, roots)).collect()
}

/// Attach third-party report lines to the verdicts of the files they name: by driver name,
/// and when several files share the name, only to those whose path ends with the report's
/// (`windows\system32\drivers\x.sys`); a report's PESHA1 must also equal our SHA1.
pub fn attach_third_party(verdicts: &mut [FileVerdict], reports: &[ThirdPartyVerdict]) {
    let canonical: Vec<String> = verdicts
        .iter()
        .map(|v| crate::driver::canonical_path(&v.path.to_string_lossy()))
        .collect();
    for r in reports {
        let Some(key) = r.driver() else { continue };
        let theirs = crate::driver::canonical_path(&r.file);
        let candidates: Vec<usize> = verdicts
            .iter()
            .enumerate()
            .filter(|(_, v)| v.driver.as_ref() == Some(&key))
            .filter(|(_, v)| match (&r.pesha1, &v.sha1) {
                (Some(t), Some(o)) => t == o,
                _ => true,
            })
            .map(|(i, _)| i)
            .collect();
        let by_path: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| {
                theirs.contains('\\')
                    && canonical
                        .get(i)
                        .is_some_and(|c| c.ends_with(&format!("\\{theirs}")) || *c == theirs)
            })
            .collect();
        let chosen = if by_path.is_empty() {
            candidates
        } else {
            by_path
        };
        for i in chosen {
            if let Some(v) = verdicts.get_mut(i) {
                v.third_party.push(r.clone());
            }
        }
    }
}

/// Verdicts grouped by driver (lower-case file name).
pub fn by_driver(verdicts: &[FileVerdict]) -> BTreeMap<DriverKey, Vec<&FileVerdict>> {
    let mut map: BTreeMap<DriverKey, Vec<&FileVerdict>> = BTreeMap::new();
    for v in verdicts {
        if let Some(k) = &v.driver {
            map.entry(k.clone()).or_default().push(v);
        }
    }
    map
}

/// The verdicts of one driver.
pub fn for_driver<'a>(verdicts: &'a [FileVerdict], key: &DriverKey) -> Vec<&'a FileVerdict> {
    verdicts
        .iter()
        .filter(|v| v.driver.as_ref() == Some(key))
        .collect()
}

/// The CatRoot GUID folder that holds the system catalogs.
pub const CATROOT_GUID: &str = "{F750E6C3-38EE-11D1-85E5-00C04FC295EE}";

/// The catalog folders of the case that contains `path`: walk up from `path` to the first
/// folder holding `Windows\System32\CatRoot\{F750E6C3-…}` and/or `Windows\servicing\Packages`
/// (any letter case; the folder may also be the Windows folder itself).
pub fn find_case_catalogs(path: &Path) -> Vec<CatalogDir> {
    find_case_root(path)
        .map(|root| case_catalogs(&root))
        .unwrap_or_default()
}

/// The nearest folder at or above `path` that holds a case's catalog folders: the case root
/// (the folder holding `Windows`), or the Windows folder itself when nothing is above it.
pub fn find_case_root(path: &Path) -> Option<PathBuf> {
    let start = if path.is_dir() {
        Some(path)
    } else {
        path.parent()
    };
    let dir = start
        .into_iter()
        .flat_map(Path::ancestors)
        .find(|dir| !case_catalogs(dir).is_empty())?;
    // Reached through the Windows folder: the case root is its parent (where reports such as a
    // sigcheck CSV are usually saved), when that parent sees the same catalogs.
    match dir.parent() {
        Some(parent) if !case_catalogs(parent).is_empty() => Some(parent.to_path_buf()),
        _ => Some(dir.to_path_buf()),
    }
}

/// The catalog folders directly under a case root (or a Windows folder).
pub fn case_catalogs(dir: &Path) -> Vec<CatalogDir> {
    for prefix in [&["windows"][..], &[][..]] {
        let mut found = Vec::new();
        let catroot: Vec<&str> = prefix
            .iter()
            .copied()
            .chain(["system32", "catroot", CATROOT_GUID])
            .collect();
        let servicing: Vec<&str> = prefix
            .iter()
            .copied()
            .chain(["servicing", "packages"])
            .collect();
        if let Some(p) = resolve_ci(dir, &catroot) {
            found.push(CatalogDir::with_location(p, CatalogLocation::Catroot));
        }
        if let Some(p) = resolve_ci(dir, &servicing) {
            found.push(CatalogDir::with_location(p, CatalogLocation::Servicing));
        }
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// Every catalog folder inside a case folder: the `case_catalogs` layout at the root, and any
/// `CatRoot\{F750E6C3-…}` or `servicing\Packages` folder further down (a `C\Windows\…` copy,
/// catalogs collected into a sub-folder), at most six levels deep. WinSxS is not entered.
pub fn discover_catalog_dirs(case_root: &Path) -> Vec<CatalogDir> {
    let mut found = case_catalogs(case_root);
    walk_catalog_dirs(case_root, 0, &mut found);
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|a, b| a.path == b.path);
    found
}

fn walk_catalog_dirs(dir: &Path, depth: usize, out: &mut Vec<CatalogDir>) {
    if depth > 6 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = e.file_name().to_string_lossy().to_ascii_lowercase();
        let path = e.path();
        let parent_is = |want: &str| {
            dir.file_name()
                .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(want))
        };
        if name.eq_ignore_ascii_case(CATROOT_GUID) && parent_is("catroot") {
            out.push(CatalogDir::with_location(path, CatalogLocation::Catroot));
        } else if name == "packages" && parent_is("servicing") {
            out.push(CatalogDir::with_location(path, CatalogLocation::Servicing));
        } else if name != "winsxs" {
            walk_catalog_dirs(&path, depth + 1, out);
        }
    }
}

/// Counts of verdicts over a set of files, and what they point to.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub files: usize,
    pub counts: BTreeMap<Verdict, usize>,
    /// Files whose hash is only in servicing\Packages catalogs.
    pub only_in_servicing: Vec<PathBuf>,
}

impl Summary {
    pub fn of(verdicts: &[FileVerdict]) -> Summary {
        let mut s = Summary {
            files: verdicts.len(),
            ..Summary::default()
        };
        for v in verdicts {
            *s.counts.entry(v.verdict).or_default() += 1;
            if v.verdict == Verdict::CatalogOnlyInServicing {
                s.only_in_servicing.push(v.path.clone());
            }
        }
        s
    }

    /// The finding the counts support, when there is one (reference §0.2).
    pub fn advice(&self) -> Option<String> {
        let n = self.only_in_servicing.len();
        (n > 0).then(|| {
            format!(
                "{n} file(s) are listed only in servicing\\Packages catalogs: their CatRoot \
                 catalogs are missing, so Code Integrity treats them as unsigned \
                 (STATUS_INVALID_IMAGE_HASH, CI 3004). Restoring the catalogs \
                 (copy servicing\\Packages\\*.cat into CatRoot\\{CATROOT_GUID}) fixes that."
            )
        })
    }
}

/// Follow `parts` below `base`, matching each name without regard to letter case.
fn resolve_ci(base: &Path, parts: &[&str]) -> Option<PathBuf> {
    let mut cur = base.to_path_buf();
    for part in parts {
        let exact = cur.join(part);
        if exact.is_dir() {
            cur = exact;
            continue;
        }
        let entry = std::fs::read_dir(&cur).ok()?.flatten().find(|e| {
            e.file_name().to_string_lossy().eq_ignore_ascii_case(part)
                && e.file_type().is_ok_and(|t| t.is_dir())
        })?;
        cur = entry.path();
    }
    Some(cur)
}

/// Whether a file name looks like a driver image (what folder walks pick up).
pub fn is_driver_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("sys"))
}

/// Driver files under `path` (the file itself, or `.sys` files found recursively), sorted.
pub fn driver_files(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if path.is_file() {
        out.push(path.to_path_buf());
    } else {
        walk_drivers(path, &mut out, 0);
        out.sort();
    }
    out
}

fn walk_drivers(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk_drivers(&p, out, depth + 1),
            Ok(t) if t.is_file() && is_driver_file(&p) => out.push(p),
            _ => {}
        }
    }
}

/// Progress of a case scan.
#[derive(Clone, Copy, Debug)]
pub enum ScanProgress {
    /// Catalogs parsed of those found.
    Indexing { done: usize, total: usize },
    /// Files judged of those given.
    Verdicts { done: usize, total: usize },
}

/// Signature verdicts for the driver files of a case folder, with what they were judged
/// against: the catalog folders found, catalogs that could not be read, the reports imported.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaseSignatures {
    pub catalog_dirs: Vec<CatalogDir>,
    /// Number of catalog files indexed, and the member hashes they list.
    pub catalogs: usize,
    pub catalog_members: usize,
    /// Catalogs that could not be read (or only in part), with why: load problems to show.
    pub catalog_errors: Vec<(PathBuf, String)>,
    /// sigcheck CSV / SIGVERIF.TXT files imported, and those that could not be read.
    pub reports: Vec<PathBuf>,
    pub report_errors: Vec<String>,
    pub verdicts: Vec<FileVerdict>,
}

impl CaseSignatures {
    /// Find the case's catalog folders (CatRoot and servicing\Packages anywhere under
    /// `case_root`, see [`discover_catalog_dirs`]), index them, judge every file of `drivers`,
    /// and attach sigcheck / SIGVERIF.TXT reports found in the case. Chains are not checked
    /// (see [`CaseSignatures::load`]).
    pub fn scan(
        case_root: &Path,
        drivers: &[PathBuf],
        progress: &(dyn Fn(ScanProgress) + Sync),
    ) -> Vec<FileVerdict> {
        Self::load(case_root, drivers, None, progress).verdicts
    }

    /// As [`CaseSignatures::scan`], with a chain check against `roots`.
    pub fn scan_with_roots(
        case_root: &Path,
        drivers: &[PathBuf],
        roots: Option<&RootStore>,
        progress: &(dyn Fn(ScanProgress) + Sync),
    ) -> Vec<FileVerdict> {
        Self::load(case_root, drivers, roots, progress).verdicts
    }

    /// Everything [`CaseSignatures::scan`] does, keeping the catalog folders, unreadable
    /// catalogs and imported reports beside the verdicts.
    pub fn load(
        case_root: &Path,
        drivers: &[PathBuf],
        roots: Option<&RootStore>,
        progress: &(dyn Fn(ScanProgress) + Sync),
    ) -> CaseSignatures {
        use rayon::prelude::*;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let catalog_dirs = discover_catalog_dirs(case_root);
        let index = CatalogIndex::build(&catalog_dirs, &|p: IndexProgress| {
            progress(ScanProgress::Indexing {
                done: p.done,
                total: p.total,
            })
        });
        let total = drivers.len();
        let done = AtomicUsize::new(0);
        let mut verdicts: Vec<FileVerdict> = drivers
            .par_iter()
            .map(|p| {
                let v = verdict(p, &index, roots);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(ScanProgress::Verdicts { done: n, total });
                v
            })
            .collect();
        let reports = imported::find_reports(case_root);
        let mut lines = Vec::new();
        let mut report_errors = Vec::new();
        for r in &reports {
            match imported::read_report(r) {
                Ok(l) => lines.extend(l),
                Err(e) => report_errors.push(e.to_string()),
            }
        }
        attach_third_party(&mut verdicts, &lines);
        CaseSignatures {
            catalog_dirs,
            catalogs: index.catalogs.len(),
            catalog_members: index.member_count(),
            catalog_errors: index
                .catalogs
                .iter()
                .filter_map(|c| c.error.as_ref().map(|e| (c.path.clone(), e.clone())))
                .collect(),
            reports,
            report_errors,
            verdicts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_roots_are_found_from_any_depth_and_letter_case() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let catroot = root.join("WINDOWS/system32/CATROOT/{f750e6c3-38ee-11d1-85e5-00c04fc295ee}");
        let servicing = root.join("WINDOWS/Servicing/packages");
        let drivers = root.join("WINDOWS/system32/drivers");
        for d in [&catroot, &servicing, &drivers] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let sys = drivers.join("filecrypt.sys");
        std::fs::write(&sys, b"not a PE").expect("write");
        assert_eq!(find_case_root(&sys).as_deref(), Some(root));
        assert_eq!(find_case_root(&drivers).as_deref(), Some(root));
        let dirs = find_case_catalogs(&sys);
        assert_eq!(
            dirs,
            vec![
                CatalogDir::with_location(&catroot, CatalogLocation::Catroot),
                CatalogDir::with_location(&servicing, CatalogLocation::Servicing),
            ]
        );
        // A Windows folder given directly: its parent is the case root.
        let only = tempfile::tempdir().expect("tempdir");
        let win = only.path().join("Windows");
        std::fs::create_dir_all(win.join("servicing/Packages")).expect("mkdir");
        assert_eq!(find_case_root(&win).as_deref(), Some(only.path()));
        assert!(find_case_root(Path::new("/nonexistent/x.sys")).is_none());
    }

    #[test]
    fn catalog_folders_deeper_in_a_case_are_discovered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let catroot = root.join("C/Windows/System32/catroot").join(CATROOT_GUID);
        let servicing = root.join("collected/Servicing/Packages");
        let sxs = root.join("C/Windows/WinSxS/servicing/packages");
        for d in [&catroot, &servicing, &sxs] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        assert_eq!(
            discover_catalog_dirs(root),
            vec![
                CatalogDir::with_location(&catroot, CatalogLocation::Catroot),
                CatalogDir::with_location(&servicing, CatalogLocation::Servicing),
            ]
        );
    }

    fn bare(path: &str) -> FileVerdict {
        FileVerdict {
            path: PathBuf::from(path),
            driver: DriverKey::from_path(path),
            size: None,
            hash_kind: HashKind::None,
            sha1: Some("AA".into()),
            sha256: None,
            flat_sha1: None,
            flat_sha256: None,
            image: None,
            embedded: EmbeddedSummary::default(),
            catalog: None,
            catalogs: Vec::new(),
            listed_by_name: Vec::new(),
            verdict: Verdict::Unsigned,
            third_party: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn reports_attach_by_path_when_names_repeat() {
        let mut v = vec![
            bare("/case/Windows/System32/drivers/filecrypt.sys"),
            bare("/case/Windows/System32/DriverStore/FileRepository/x/filecrypt.sys"),
            bare("/case/Windows/System32/drivers/cdrom.sys"),
        ];
        let line = |file: &str, pesha1: Option<&str>| ThirdPartyVerdict {
            source: "sigcheck",
            report: PathBuf::from("s.csv"),
            file: file.into(),
            status: "Unsigned".into(),
            catalog: None,
            signer: None,
            pesha1: pesha1.map(str::to_string),
        };
        attach_third_party(
            &mut v,
            &[
                line("c:\\windows\\system32\\drivers\\filecrypt.sys", None),
                line("cdrom.sys", Some("BB")),
            ],
        );
        assert_eq!(v[0].third_party.len(), 1);
        assert!(v[1].third_party.is_empty());
        // A PESHA1 that is not ours: not our file.
        assert!(v[2].third_party.is_empty());
    }

    #[test]
    fn verdict_strings_are_the_documented_ones() {
        let all = [
            Verdict::SignedEmbedded,
            Verdict::SignedCatalog,
            Verdict::CatalogOnlyInServicing,
            Verdict::DigestMismatch,
            Verdict::Unsigned,
            Verdict::Unreadable,
        ];
        for v in all {
            let json = serde_json::to_string(&v).expect("json");
            assert_eq!(json, format!("\"{}\"", v.as_str()));
        }
        assert_eq!(
            Verdict::CatalogOnlyInServicing.as_str(),
            "catalog-only-in-servicing"
        );
    }
}
