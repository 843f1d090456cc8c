//! Authenticode hashes, embedded signatures, catalogs and signature verdicts.
//!
//! The question this module answers for every driver file of a case: what vouches for it? Its
//! own embedded signature, a catalog Code Integrity reads (CatRoot), or only a catalog the
//! servicing stack keeps (`servicing\Packages`), which Code Integrity does not read: the
//! STATUS_INVALID_IMAGE_HASH boot failure (docs/formats/signing.md §0.2).
//!
//! * [`authenticode_hashes`]: Authenticode SHA1/SHA256 (the catalog keys) and flat hashes.
//! * [`embedded_signature`]: signer, issuer, digest algorithm, digest check, signing time, nested.
//! * [`Catalog`], [`CatalogIndex`]: `.cat` members and a parallel index of catalog folders.
//! * [`verdict`]: one [`FileVerdict`] per file, judged by Windows' kernel-mode signing policy
//!   against a [`RootStore`] (shipped Microsoft roots, pinned cross-certificates, given roots):
//!   every signature as explicit [`Check`] states, the chain ([`chain`]), the timestamp, page
//!   hashes, and what Windows does ([`policy`]); [`verify`] for a whole case: the one entry point.
//! * [`imported`]: sigcheck CSV and SIGVERIF.TXT, shown beside our verdicts.

pub(crate) mod authenticode;
pub mod catalog;
pub mod chain;
pub mod der;
pub mod embedded;
pub mod imported;
pub mod pkcs7;
pub mod policy;
pub mod report;

pub use authenticode::{AuthenticodeHashes, PeLayout, PeLayoutError, authenticode_hashes};
pub use catalog::{
    Catalog, CatalogDir, CatalogError, CatalogHit, CatalogIndex, CatalogLocation, CatalogMember,
    CatalogRef, CatalogReport, CatalogSignature, IndexProgress,
};
pub use chain::{AnchorKind, ChainReport, ChainStatus, RootStore, RootsError};
pub use embedded::{
    EmbeddedSignature, SignatureInfo, SignatureTrust, Timestamp, TimestampState, embedded_signature,
};
pub use imported::ThirdPartyVerdict;
pub use pkcs7::{Check, CheckState};

use crate::driver::DriverKey;
use crate::warning::Warning;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The verdict for one file (serialised as the kebab-case strings below). What Windows does
/// with each is in README.md (`bsodwb sig`) and [`Verdict::windows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// An embedded signature whose digest, signature and chain all hold by kernel-mode rules.
    SignedEmbedded,
    /// Listed in a catalog outside `servicing\Packages` whose signature and chain hold.
    SignedCatalog,
    /// Listed only in `servicing\Packages` catalogs: Code Integrity will not find it.
    CatalogOnlyInServicing,
    /// Listed only by catalogs Code Integrity does not consult at boot other than servicing's:
    /// the DriverStore's copy of a package catalog, or a `.cat` elsewhere in the case. The
    /// catalog is not in the catalog database (CatRoot), so the driver loads as unsigned.
    CatalogNotInCatroot,
    /// An embedded signature whose signed digest differs from the file's (changed after signing).
    DigestMismatch,
    /// A signature (embedded, or of the only catalogs listing the file) that does not verify
    /// or cannot be checked: bad messageDigest or signature, unknown algorithm, no signer, bad
    /// page hashes, a bad signature inside the chain, an unreadable certificate table.
    BadSignature,
    /// Intact, but chaining to a root outside the trust store (a WDK test certificate or a
    /// self-made root): loads only with testsigning on.
    TestSigned,
    /// Intact, but no chain to a root Windows trusts for kernel code (incomplete chain, a
    /// user-mode-only root, a policy violation such as a non-CA issuer or a wrong EKU).
    UntrustedSigner,
    /// No embedded signature and in no catalog.
    Unsigned,
    /// Not a PE image (no driver) and no catalog lists its flat hash: nothing to judge.
    NotAPeImage,
    /// Not readable, or a PE image whose headers are broken.
    Unreadable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::SignedEmbedded => "signed-embedded",
            Verdict::SignedCatalog => "signed-catalog",
            Verdict::CatalogOnlyInServicing => "catalog-only-in-servicing",
            Verdict::CatalogNotInCatroot => "catalog-not-in-catroot",
            Verdict::DigestMismatch => "digest-mismatch",
            Verdict::BadSignature => "bad-signature",
            Verdict::TestSigned => "test-signed",
            Verdict::UntrustedSigner => "untrusted-signer",
            Verdict::Unsigned => "unsigned",
            Verdict::NotAPeImage => "not-a-pe-image",
            Verdict::Unreadable => "unreadable",
        }
    }

    /// Whether Code Integrity would accept the file's signature.
    pub fn is_signed(self) -> bool {
        matches!(self, Verdict::SignedEmbedded | Verdict::SignedCatalog)
    }

    /// What Windows does with a kernel driver given this verdict.
    pub fn windows(self) -> &'static str {
        match self {
            Verdict::SignedEmbedded | Verdict::SignedCatalog => {
                "Code Integrity loads it (subject to the cross-signing rules noted)"
            }
            Verdict::CatalogOnlyInServicing => {
                "Code Integrity does not read servicing\\Packages: the driver fails to load (0xC0000428, CI event 3004) until its catalog is back in CatRoot"
            }
            Verdict::CatalogNotInCatroot => {
                "Code Integrity looks catalogs up in the catalog database (CatRoot) only: the driver fails to load (0xC0000428, CI event 3004) until its package is installed or its catalog registered"
            }
            Verdict::DigestMismatch | Verdict::BadSignature => {
                "Code Integrity refuses it (STATUS_INVALID_IMAGE_HASH 0xC0000428, CI event 3004/3033)"
            }
            Verdict::TestSigned => {
                "loads only with BCD testsigning on; otherwise refused (0xC0000428)"
            }
            Verdict::UntrustedSigner => {
                "Code Integrity refuses it on 64-bit Windows (0xC0000428): no chain to a root trusted for kernel code"
            }
            Verdict::Unsigned => "Code Integrity refuses it on 64-bit Windows (0xC0000428)",
            Verdict::NotAPeImage => "not an image Windows loads as a driver",
            Verdict::Unreadable => "cannot be judged",
        }
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
    /// Why the first WIN_CERTIFICATE is not a readable signature.
    pub unreadable: Option<String>,
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

/// The PE CheckSum field and the one computed from the file (ImageHlp's CheckSumMappedFile).
#[derive(Clone, Debug, Serialize)]
pub struct PeChecksum {
    pub header: u32,
    pub computed: u32,
}

impl PeChecksum {
    /// A non-zero CheckSum that differs from the file's (0 means "not set").
    pub fn mismatch(&self) -> bool {
        self.header != 0 && self.header != self.computed
    }
}

impl std::fmt::Display for PeChecksum {
    /// `0x00012345 in the header, 0x00012345 computed`, with "(not set)" or "(MISMATCH)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:#010x} in the header, {:#010x} computed{}",
            self.header,
            self.computed,
            if self.header == 0 {
                " (not set)"
            } else if self.mismatch() {
                " (MISMATCH)"
            } else {
                ""
            }
        )
    }
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
    /// Why the verdict is what it is (which signature, which check), and what Windows does.
    pub reason: String,
    pub windows: String,
    /// The PE CheckSum, header and computed (PE images only).
    pub checksum: Option<PeChecksum>,
    /// Verdicts of sigcheck / sigverif reports found for this file: shown, never used.
    pub third_party: Vec<ThirdPartyVerdict>,
    /// What could not be read: about the file itself, or about a catalog that lists it.
    pub warnings: Vec<Warning>,
}

impl FileVerdict {
    /// A verdict for `path` before anything is known: unreadable until judged.
    fn blank(path: &Path) -> FileVerdict {
        FileVerdict {
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
            reason: String::new(),
            windows: String::new(),
            checksum: None,
            third_party: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The chain that vouches for the file, when it is signed.
    pub fn vouching_chain(&self) -> Option<&ChainReport> {
        match self.verdict {
            Verdict::SignedEmbedded => {
                let trusted = || {
                    self.embedded
                        .signatures
                        .iter()
                        .filter(|s| s.trust == SignatureTrust::Trusted)
                };
                trusted()
                    .find(|s| s.chain.anchor == Some(AnchorKind::Microsoft))
                    .or_else(|| trusted().next())
                    .map(|s| &s.chain)
            }
            Verdict::SignedCatalog
            | Verdict::CatalogOnlyInServicing
            | Verdict::CatalogNotInCatroot => self.catalog.as_ref().map(|c| &c.signature.chain),
            _ => None,
        }
    }

    /// What the trust rests on, in a word: `microsoft`, `x-signed` (cross-signed), `given`, or why
    /// there is none (`test-root`, `untrusted`, `broken`, `none`).
    pub fn trust_word(&self) -> &'static str {
        if let Some(c) = self.vouching_chain() {
            return match c.anchor {
                Some(AnchorKind::Microsoft) => "microsoft",
                Some(AnchorKind::CrossCertificate) => "x-signed",
                Some(AnchorKind::Given) => "given",
                Some(AnchorKind::UserMode) | None => "untrusted",
            };
        }
        match self.verdict {
            Verdict::TestSigned => "test-root",
            Verdict::UntrustedSigner => "untrusted",
            Verdict::DigestMismatch | Verdict::BadSignature => "broken",
            _ => "none",
        }
    }
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

impl FileVerdict {
    /// The file could not be judged: why in `warnings`, a short reason, what Windows does.
    fn unreadable(mut self, error: SigningError, reason: &str) -> FileVerdict {
        self.warnings
            .push(Warning::new(&self.path, error.to_string()));
        self.verdict = Verdict::Unreadable;
        self.reason = reason.into();
        self.windows = Verdict::Unreadable.windows().into();
        self
    }
}

/// The verdict for one file against a catalog index and trust anchors. Never fails: an
/// unreadable file gets [`Verdict::Unreadable`] and the reason in `warnings`.
///
/// Order, as Code Integrity would see it: an embedded signature that holds (primary or nested:
/// CI evaluates every signature); else a catalog it reads (CatRoot, or a folder given as one)
/// whose signature holds; else what breaks the embedded signature; else a trusted catalog only
/// in servicing\Packages; else what breaks the catalogs listing the file; else unsigned.
pub fn verdict(path: &Path, index: &CatalogIndex, roots: &RootStore) -> FileVerdict {
    let mut v = FileVerdict::blank(path);
    let bytes = match crate::mapped::Bytes::open(path) {
        Ok(b) => b,
        Err(source) => {
            let path = path.to_path_buf();
            return v.unreadable(SigningError::Io { path, source }, "the file cannot be read");
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
                let path = path.to_path_buf();
                return v.unreadable(
                    SigningError::Pe { path, source },
                    "the PE headers are broken",
                );
            }
        };
        let h = authenticode::hashes_with_layout(&bytes, &layout);
        v.hash_kind = HashKind::Authenticode;
        v.sha1 = Some(der::hex_upper(&h.sha1));
        v.sha256 = Some(der::hex_upper(&h.sha256));
        v.flat_sha1 = Some(der::hex_upper(&h.flat_sha1));
        v.flat_sha256 = Some(der::hex_upper(&h.flat_sha256));
        v.checksum = Some(PeChecksum {
            header: bytes
                .get(layout.checksum_offset..layout.checksum_offset + 4)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            computed: pe_checksum(&bytes, layout.checksum_offset),
        });
        let emb = embedded::read_embedded(
            &bytes,
            &layout,
            roots,
            &[("sha1", &h.sha1[..]), ("sha256", &h.sha256[..])],
        );
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
    // One hit per catalog: a catalog listing the same member 8,000 times is read once.
    hits.dedup_by_key(|h| h.catalog);
    // Catalogs Code Integrity reads first; once one vouches, servicing\\Packages catalogs are
    // listed but not judged (they cannot change the verdict).
    let location = |h: &CatalogHit| {
        index
            .catalog(*h)
            .map_or(CatalogLocation::Servicing, |c| c.location)
    };
    hits.sort_by_key(|h| (location(h).rank(), h.catalog));
    let mut vouched = false;
    for h in &hits {
        if vouched && !location(h).used_at_boot() {
            v.catalogs.push(index.describe_unjudged(*h));
            continue;
        }
        let c = index.describe(*h, roots);
        vouched |= c.trusted() && c.location.used_at_boot();
        v.catalogs.push(c);
    }
    // CatRoot first, then given folders, then copies CI does not read; trusted first.
    v.catalogs
        .sort_by_key(|c| (c.location.rank(), !c.trusted()));
    for c in &v.catalogs {
        v.warnings.extend(c.warnings.iter().cloned());
    }
    v.catalog = v
        .catalogs
        .iter()
        .find(|c| c.trusted())
        .or(v.catalogs.first())
        .cloned();
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
            v.warnings.push(Warning::new(
                &first.path,
                format!("lists {key} under another hash: this file is not the one catalogued"),
            ));
        }
    }

    let mut embedded_trusted: Option<SignatureInfo> = None;
    let mut embedded_failure: Option<(Verdict, String)> = None;
    if let Some(emb) = embedded {
        let p = emb.primary();
        v.embedded = EmbeddedSummary {
            present: emb.present,
            unreadable: emb.unreadable.clone(),
            signer: p.and_then(|s| s.signer.clone()),
            issuer: p.and_then(|s| s.issuer.clone()),
            digest_ok: p.map(SignatureInfo::digest_ok),
            digest_algorithm: p.map(|s| s.digest_algorithm.clone()),
            signing_time: p.and_then(|s| s.signing_time.clone()),
            chain: p.map(|s| s.chain.status),
            signatures: emb.signatures.clone(),
        };
        embedded_trusted = emb.trusted().cloned();
        if emb.present && embedded_trusted.is_none() {
            embedded_failure = Some(match (&emb.unreadable, p) {
                (Some(why), _) => (
                    Verdict::BadSignature,
                    format!("the embedded signature cannot be read: {why}"),
                ),
                (None, Some(p)) => (
                    trust_verdict(p.trust),
                    format!("embedded signature: {}", p.reason),
                ),
                (None, None) => (
                    Verdict::BadSignature,
                    "the certificate table holds no readable signature".into(),
                ),
            });
        }
        let path = v.path.clone();
        v.warnings
            .extend(emb.warnings.into_iter().map(|w| Warning::new(&path, w)));
    }
    for c in v.catalogs.iter().filter(|c| c.judged && !c.trusted()) {
        v.warnings.push(Warning::new(
            &c.path,
            format!("the catalog vouches for nothing: {}", c.signature.reason),
        ));
    }
    let trusted_outside = v
        .catalogs
        .iter()
        .find(|c| c.trusted() && c.location.used_at_boot());
    let trusted_unused = v.catalogs.iter().find(|c| {
        c.trusted() && !c.location.used_at_boot() && c.location != CatalogLocation::Servicing
    });
    let trusted_servicing = v
        .catalogs
        .iter()
        .find(|c| c.trusted() && c.location == CatalogLocation::Servicing);
    (v.verdict, v.reason) = if let Some(s) = &embedded_trusted {
        (
            Verdict::SignedEmbedded,
            format!(
                "{} signature by {}: digest, signature and chain ok; {}",
                if s.depth == 0 { "primary" } else { "nested" },
                s.signer.as_deref().unwrap_or("?"),
                s.reason
            ),
        )
    } else if let Some(c) = trusted_outside {
        (
            Verdict::SignedCatalog,
            format!(
                "listed in {} ({}), signed by {}: {}",
                c.path.display(),
                c.location.as_str(),
                c.signer.as_deref().unwrap_or("?"),
                c.signature.reason
            ),
        )
    } else if let Some(f) = embedded_failure {
        f
    } else if let Some(c) = trusted_servicing {
        (
            Verdict::CatalogOnlyInServicing,
            format!(
                "listed only in {} (servicing\\Packages), which Code Integrity does not read",
                c.path.display()
            ),
        )
    } else if let Some(c) = trusted_unused {
        (
            Verdict::CatalogNotInCatroot,
            format!(
                "listed only in {} ({}), signed by {}, which Code Integrity does not consult at boot: {}",
                c.path.display(),
                c.location.place(),
                c.signer.as_deref().unwrap_or("?"),
                not_in_catroot_fix(c)
            ),
        )
    } else if let Some(c) = v.catalogs.first() {
        (
            trust_verdict(c.signature.trust),
            format!(
                "listed in {}, whose signature does not hold: {}",
                c.path.display(),
                c.signature.reason
            ),
        )
    } else if v.hash_kind == HashKind::Flat {
        (
            Verdict::NotAPeImage,
            "not a PE image (no driver) and no catalog of the case lists its hash".into(),
        )
    } else {
        (
            Verdict::Unsigned,
            "no embedded signature and in no catalog of the case".into(),
        )
    };
    v.windows = windows_note(&v, embedded_trusted.as_ref());
    if v.checksum.as_ref().is_some_and(PeChecksum::mismatch)
        && let Some(c) = &v.checksum
    {
        v.warnings.push(Warning::new(
            &v.path,
            format!(
                "PE CheckSum {:#010x} in the header, {:#010x} computed: the loader verifies drivers' checksums, so a boot driver with this mismatch fails to load",
                c.header, c.computed
            ),
        ));
    }
    v
}

/// How to make Code Integrity use a catalog that is in the case but not in the catalog database.
fn not_in_catroot_fix(c: &CatalogRef) -> String {
    let name = c
        .path
        .file_name()
        .map_or_else(|| "X.cat".into(), |n| n.to_string_lossy().into_owned());
    match c.location {
        CatalogLocation::DriverStore => {
            let package = c
                .path
                .parent()
                .and_then(Path::file_name)
                .map_or_else(|| "<package>".into(), |n| n.to_string_lossy().into_owned());
            // The package's INF, named when the package folder holds exactly one.
            let infs: Vec<String> = c
                .path
                .parent()
                .and_then(|d| std::fs::read_dir(d).ok())
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.to_ascii_lowercase().ends_with(".inf"))
                .take(2)
                .collect();
            let inf = match infs.as_slice() {
                [one] => one.as_str(),
                _ => "<its .inf>",
            };
            format!(
                "re-install the package so its catalog is registered (pnputil /add-driver C:\\Windows\\System32\\DriverStore\\FileRepository\\{package}\\{inf} /install), or register {name} (signtool catdb /v /u {name})"
            )
        }
        _ => format!(
            "install its driver package (pnputil /add-driver <inf> /install) or register the catalog in the catalog database (signtool catdb /v /u {name}, CryptCATAdminAddCatalog), which copies it into CatRoot\\{CATROOT_GUID}"
        ),
    }
}

/// The verdict a signature's judgement gives on its own.
fn trust_verdict(t: SignatureTrust) -> Verdict {
    match t {
        SignatureTrust::Trusted => Verdict::SignedEmbedded,
        SignatureTrust::DigestMismatch => Verdict::DigestMismatch,
        SignatureTrust::BadSignature => Verdict::BadSignature,
        SignatureTrust::TestSigned => Verdict::TestSigned,
        SignatureTrust::Untrusted => Verdict::UntrustedSigner,
    }
}

/// What Windows does, with the cross-signing rules of the driver signing policy page
/// (<https://learn.microsoft.com/en-us/windows-hardware/drivers/install/kernel-mode-code-signing-policy--windows-vista-and-later->).
fn windows_note(v: &FileVerdict, trusted: Option<&SignatureInfo>) -> String {
    let mut note = v.verdict.windows().to_string();
    let chain = match (v.verdict, trusted) {
        (Verdict::SignedEmbedded, Some(s)) => Some(&s.chain),
        (Verdict::SignedCatalog, _) => v.catalog.as_ref().map(|c| &c.signature.chain),
        _ => None,
    };
    if let Some(chain) = chain {
        for rule in policy::applicable(chain) {
            note.push_str("; ");
            note.push_str(&rule.effect(chain));
            note.push_str(&format!(" [{}]", rule.source));
        }
    }
    note
}

/// The PE checksum as ImageHlp's CheckSumMappedFile computes it: 16-bit one's-complement-style
/// sum of the file with the CheckSum field taken as zero, folded, plus the file length.
pub fn pe_checksum(bytes: &[u8], checksum_offset: usize) -> u32 {
    let mut sum: u64 = 0;
    for (i, chunk) in bytes.chunks(2).enumerate() {
        let off = i * 2;
        if off >= checksum_offset && off < checksum_offset + 4 {
            continue;
        }
        let w = u64::from(chunk[0]) | (u64::from(chunk.get(1).copied().unwrap_or(0)) << 8);
        sum += w;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum = (sum & 0xffff) + (sum >> 16);
    let len = u64::try_from(bytes.len()).unwrap_or(0);
    u32::try_from((sum & 0xffff) + len).unwrap_or(u32::MAX)
}

/// The verdicts of many files, in parallel, in the order given.
pub fn verdicts(paths: &[PathBuf], index: &CatalogIndex, roots: &RootStore) -> Vec<FileVerdict> {
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
        let store: Vec<&str> = prefix
            .iter()
            .copied()
            .chain(["system32", "driverstore", "filerepository"])
            .collect();
        if let Some(p) = resolve_ci(dir, &store) {
            found.push(CatalogDir::with_location(p, CatalogLocation::DriverStore));
        }
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// Every catalog inside a case folder: the `case_catalogs` layout at the root, and any
/// `CatRoot\{F750E6C3-…}`, `servicing\Packages` or `DriverStore\FileRepository` folder further
/// down (a `C\Windows\…` copy, catalogs collected into a sub-folder), and every other `.cat`
/// file (location `elsewhere`: listed, but not what Code Integrity reads), at most six levels
/// deep. WinSxS is not entered.
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
    let parent_is = |want: &str| {
        dir.file_name()
            .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(want))
    };
    for e in entries.flatten() {
        // Links are not followed (no loops); FIFOs and devices are not catalogs.
        let Ok(t) = e.file_type() else { continue };
        let path = e.path();
        if t.is_file() {
            if path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("cat"))
            {
                out.push(CatalogDir::with_location(path, CatalogLocation::Elsewhere));
            }
            continue;
        }
        if !t.is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().to_ascii_lowercase();
        if name.eq_ignore_ascii_case(CATROOT_GUID) && parent_is("catroot") {
            out.push(CatalogDir::with_location(path, CatalogLocation::Catroot));
        } else if name == "packages" && parent_is("servicing") {
            out.push(CatalogDir::with_location(path, CatalogLocation::Servicing));
        } else if name == "filerepository" && parent_is("driverstore") {
            out.push(CatalogDir::with_location(
                path,
                CatalogLocation::DriverStore,
            ));
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
    /// Files whose hash is only in DriverStore or other catalogs outside CatRoot.
    pub not_in_catroot: Vec<PathBuf>,
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
            if v.verdict == Verdict::CatalogNotInCatroot {
                s.not_in_catroot.push(v.path.clone());
            }
        }
        s
    }

    /// The findings the counts support, when there are any (docs/formats/signing.md §0.2).
    pub fn advice(&self) -> Option<String> {
        let mut parts = Vec::new();
        let n = self.only_in_servicing.len();
        if n > 0 {
            parts.push(format!(
                "{n} file(s) are listed only in servicing\\Packages catalogs: their CatRoot \
                 catalogs are missing, so Code Integrity treats them as unsigned \
                 (STATUS_INVALID_IMAGE_HASH, CI 3004). Restoring the catalogs \
                 (copy servicing\\Packages\\*.cat into CatRoot\\{CATROOT_GUID}) fixes that."
            ));
        }
        let n = self.not_in_catroot.len();
        if n > 0 {
            parts.push(format!(
                "{n} file(s) are listed only by catalogs outside the catalog database (DriverStore \
                 or elsewhere in the case): Code Integrity does not consult them, so the drivers \
                 load as unsigned (0xC0000428, CI 3004). Installing their packages \
                 (pnputil /add-driver <inf> /install) or registering the catalogs \
                 (signtool catdb /v /u X.cat) fixes that."
            ));
        }
        (!parts.is_empty()).then(|| parts.join("\n"))
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

/// Verify the driver files of a case: the one entry point for signature verification.
///
/// Finds the case's catalog folders (CatRoot and servicing\Packages anywhere under
/// `case_root`, see [`discover_catalog_dirs`]), indexes them, judges every file of `drivers`
/// ([`verdict`], in parallel, in the order given) with chains checked against `roots`
/// ([`RootStore::for_workbench`] for the shipped roots plus `BSODWB_ROOTS`), and attaches the
/// sigcheck / SIGVERIF.TXT reports found in the case. The catalog folders, unreadable
/// catalogs and imported reports are kept beside the verdicts.
pub fn verify(
    case_root: &Path,
    drivers: &[PathBuf],
    roots: &RootStore,
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
            sha1: Some("AA".into()),
            verdict: Verdict::Unsigned,
            ..FileVerdict::blank(Path::new(path))
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
            Verdict::BadSignature,
            Verdict::TestSigned,
            Verdict::UntrustedSigner,
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
