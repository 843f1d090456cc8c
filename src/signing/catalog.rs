//! Catalog files (`.cat`): PKCS#7 SignedData whose content is a Certificate Trust List, and the
//! index of whole catalog folders (CatRoot, servicing\Packages) by member hash.
//!
//! CTL layout (docs/formats/signing.md §3.3b; MS-CAT / wincrypt.h CTL_INFO):
//! `SEQUENCE { subjectUsage SEQUENCE OF OID, listIdentifier OCTET STRING OPT, sequenceNumber
//! INTEGER OPT, thisUpdate Time, nextUpdate Time OPT, subjectAlgorithm AlgorithmIdentifier,
//! trustedSubjects SEQUENCE OF TrustedSubject OPT, ctlExtensions [0] EXPLICIT Extensions OPT }`,
//! `TrustedSubject ::= SEQUENCE { subjectIdentifier OCTET STRING, attributes SET OF Attribute }`.

use super::chain::{ChainReport, ChainStatus, Purpose, RootStore};
use super::der::{self, DerError, DerResult, Tlv};
use super::embedded::{SignatureTrust, Timestamp};
use super::pkcs7;
use super::pkcs7::{Check, CheckState};
use crate::warning::Warning;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const OID_CAT_NAMEVALUE: &str = "1.3.6.1.4.1.311.12.2.1";
pub const OID_CAT_MEMBERINFO: &str = "1.3.6.1.4.1.311.12.2.2";
pub const OID_CATALOG_LIST: &str = "1.3.6.1.4.1.311.12.1.1";
/// subjectAlgorithm of v1 (SHA1) catalogs.
pub const OID_CATALOG_LIST_MEMBER: &str = "1.3.6.1.4.1.311.12.1.2";
/// subjectAlgorithm of v2 (SHA256) catalogs.
pub const OID_CATALOG_LIST_MEMBER2: &str = "1.3.6.1.4.1.311.12.1.3";
/// SIP of PE images (Authenticode hash) and of flat files (hash of the whole file).
pub const SIP_PE_IMAGE: &str = "{C689AAB8-8E78-11D0-8C47-00C04FC295EE}";
pub const SIP_FLAT_FILE: &str = "{DE351A42-8E59-11D0-8C47-00C04FC295EE}";

/// Where a catalog sits in a case: decides `signed-catalog` versus `catalog-only-in-servicing`
/// and `catalog-not-in-catroot`.
///
/// Code Integrity looks a catalog-signed file up in the catalog database (`CatRoot`, indexed by
/// `CatRoot2`'s catdb): a catalog is used once it is installed there (PnP installation,
/// `CryptCATAdminAddCatalog`, `signtool catdb`). Copies elsewhere (the servicing stack's, the
/// driver store's, a vendor folder in the case) vouch for nothing at boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CatalogLocation {
    /// `System32\CatRoot\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}`: what Code Integrity reads.
    Catroot,
    /// `servicing\Packages`: copies the servicing stack keeps; CI does not read them.
    Servicing,
    /// `System32\DriverStore\FileRepository\<package>`: the driver store's copy of a package's
    /// catalog; CI uses the catalog only once the package is installed (copied into CatRoot).
    DriverStore,
    /// A `.cat` found anywhere else in a case folder (a vendor package, a copy): not installed.
    Elsewhere,
    /// A folder given by the user (`--catalogs`): taken as installed (the user vouches that
    /// the machine's catalog database holds these catalogs).
    #[default]
    Other,
}

impl CatalogLocation {
    /// Classify a path by its components (any case, either separator).
    pub fn of_path(path: &Path) -> CatalogLocation {
        let lower = path
            .to_string_lossy()
            .replace('\\', "/")
            .to_ascii_lowercase();
        if lower.contains("servicing/packages") {
            CatalogLocation::Servicing
        } else if lower.contains("catroot/{f750e6c3-38ee-11d1-85e5-00c04fc295ee}")
            || lower.trim_end_matches('/').ends_with("/catroot")
        {
            CatalogLocation::Catroot
        } else if lower.contains("driverstore/filerepository") {
            CatalogLocation::DriverStore
        } else {
            CatalogLocation::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogLocation::Catroot => "catroot",
            CatalogLocation::Servicing => "servicing",
            CatalogLocation::DriverStore => "driver-store",
            CatalogLocation::Elsewhere => "elsewhere",
            CatalogLocation::Other => "other",
        }
    }

    /// The place in words, for reasons and findings.
    pub fn place(self) -> &'static str {
        match self {
            CatalogLocation::Catroot => "CatRoot",
            CatalogLocation::Servicing => "servicing\\Packages",
            CatalogLocation::DriverStore => {
                "the DriverStore (System32\\DriverStore\\FileRepository)"
            }
            CatalogLocation::Elsewhere => "a folder of the case outside the catalog database",
            CatalogLocation::Other => "a catalog folder given with --catalogs",
        }
    }

    /// Whether Code Integrity would consult a catalog here at boot (CatRoot; a `--catalogs`
    /// folder is taken as installed).
    pub fn used_at_boot(self) -> bool {
        matches!(self, CatalogLocation::Catroot | CatalogLocation::Other)
    }

    /// Order of consideration: CatRoot, given folders, then copies CI does not read.
    pub fn rank(self) -> u8 {
        match self {
            CatalogLocation::Catroot => 0,
            CatalogLocation::Other => 1,
            CatalogLocation::DriverStore => 2,
            CatalogLocation::Elsewhere => 3,
            CatalogLocation::Servicing => 4,
        }
    }
}

/// One member of a catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogMember {
    /// The subject identifier as written (usually the upper-case hex digest; MakeCat may use a name).
    pub tag: String,
    /// The member digest from its SPC_INDIRECT_DATA (else from a hex tag): the lookup key.
    #[serde(serialize_with = "ser_hex")]
    pub digest: Vec<u8>,
    /// `sha1` or `sha256` (or the raw OID when unknown).
    pub digest_algorithm: String,
    /// The "File" name/value, e.g. `ftdibus.sys`.
    pub file: Option<String>,
    /// The "OSAttr" name/value, e.g. `2:6.1,2:6.2,2:6.3,2:10.0`.
    pub os_attr: Option<String>,
    /// SIP GUID of CAT_MEMBERINFO: PE image or flat file.
    pub sip_guid: Option<String>,
    /// Every other name/value pair of the member.
    pub name_values: Vec<(String, String)>,
}

fn ser_hex<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&der::hex_upper(v))
}

/// A whole catalog.
#[derive(Clone, Debug, Serialize)]
pub struct Catalog {
    pub list_identifier: Option<String>,
    pub this_update: Option<String>,
    /// The subjectAlgorithm OID (CATALOG_LIST_MEMBER v1, CATALOG_LIST_MEMBER2 v2).
    pub subject_algorithm: Option<String>,
    pub members: Vec<CatalogMember>,
    /// Catalog-level name/values ("OS", "HWID1", …).
    pub attributes: Vec<(String, String)>,
    /// Common name of the first signer's certificate, and of its issuer.
    pub signer: Option<String>,
    pub signer_issuer: Option<String>,
    /// Members or certificates that could not be read.
    pub warnings: Vec<String>,
}

/// Errors reading a catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a catalog: {source}")]
    Format { path: PathBuf, source: DerError },
}

impl Catalog {
    /// Parse a catalog from its bytes. Members that fail to decode are skipped with a warning.
    pub fn parse(bytes: &[u8]) -> DerResult<Catalog> {
        let sd = pkcs7::parse_content_info(bytes, 0)?;
        let mut cat = Catalog {
            list_identifier: None,
            this_update: None,
            subject_algorithm: None,
            members: Vec::new(),
            attributes: Vec::new(),
            signer: None,
            signer_issuer: None,
            warnings: sd.warnings.clone(),
        };
        if let Some(si) = sd.signer_infos.first() {
            if let Some(cert) = sd.signer_certificate(si) {
                cat.signer = Some(pkcs7::common_name(&cert.subject));
                cat.signer_issuer = Some(pkcs7::common_name(&cert.issuer));
            } else if let Some(issuer) = &si.issuer {
                cat.signer_issuer = Some(pkcs7::common_name(issuer));
            }
        }
        let ctl = ctl_element(&sd)?;
        let header = walk_ctl(ctl, |member| {
            match member {
                Ok(m) => cat.members.push(m.into_member()),
                Err(e) => cat.warnings.push(format!("member skipped: {e}")),
            }
            true
        })?;
        cat.list_identifier = header.list_identifier.map(der::hex_upper);
        cat.this_update = header.this_update;
        cat.subject_algorithm = header.subject_algorithm;
        if let Some(ext) = header.extensions {
            cat.attributes = catalog_attributes(ext);
        }
        Ok(cat)
    }

    /// Read and parse a catalog file.
    pub fn open(path: &Path) -> Result<Catalog, CatalogError> {
        let bytes = crate::mapped::Bytes::open(path).map_err(|source| CatalogError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Catalog::parse(&bytes).map_err(|source| CatalogError::Format {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The members whose digest is `digest`.
    pub fn find(&self, digest: &[u8]) -> impl Iterator<Item = &CatalogMember> {
        self.members.iter().filter(move |m| m.digest == digest)
    }
}

/// The CTL SEQUENCE inside a SignedData (checks the content type).
fn ctl_element<'a>(sd: &pkcs7::SignedData<'a>) -> DerResult<Tlv<'a>> {
    ctl_and_signed_bytes(sd).map(|(ctl, _)| ctl)
}

/// The CTL SEQUENCE and the bytes its signer's messageDigest covers: the content octets of the
/// encapsulated element, i.e. the CTL's contents in PKCS#7 v1.5 framing (what MakeCat writes)
/// and the whole CTL in CMS framing (an OCTET STRING wrapping it, accepted by osslsigncode).
fn ctl_and_signed_bytes<'a>(sd: &pkcs7::SignedData<'a>) -> DerResult<(Tlv<'a>, &'a [u8])> {
    let content = sd
        .content
        .ok_or_else(|| DerError::new(0, "an encapsulated CTL (content is absent)"))?;
    if sd.content_type != pkcs7::OID_CTL {
        return Err(DerError::new(
            content.offset,
            format!(
                "content type CTL {} (found {})",
                pkcs7::OID_CTL,
                sd.content_type
            ),
        ));
    }
    if content.tag == der::OCTET_STRING {
        let inner = der::parse(content.value, content.value_offset())?
            .expect_tag(der::SEQUENCE, "a CTL SEQUENCE inside the OCTET STRING")?;
        return Ok((inner, content.value));
    }
    let ctl = content.expect_tag(der::SEQUENCE, "a CTL SEQUENCE")?;
    Ok((ctl, ctl.value))
}

struct CtlHeader<'a> {
    list_identifier: Option<&'a [u8]>,
    this_update: Option<String>,
    subject_algorithm: Option<String>,
    extensions: Option<Tlv<'a>>,
}

/// A member as walked: borrowed, allocation-free until turned into a [`CatalogMember`].
pub(crate) struct RawMember<'a> {
    tag: &'a [u8],
    digest: Option<&'a [u8]>,
    /// Content octets of the digest algorithm OID (rendered only for full parses).
    digest_oid: Option<&'a [u8]>,
    attrs: Option<Tlv<'a>>,
    /// The "File" name/value as written (UTF-16LE), found while walking for the digest.
    file_utf16: Option<&'a [u8]>,
}

impl<'a> RawMember<'a> {
    /// The lookup digest: the SPC_INDIRECT_DATA digest, else the tag read as hex.
    fn digest(&self) -> Option<std::borrow::Cow<'a, [u8]>> {
        if let Some(d) = self.digest {
            return Some(std::borrow::Cow::Borrowed(d));
        }
        let tag = crate::text::utf16le_lossy(self.tag);
        der::from_hex(&tag)
            .filter(|d| d.len() == 20 || d.len() == 32)
            .map(std::borrow::Cow::Owned)
    }

    fn into_member(self) -> CatalogMember {
        let mut m = CatalogMember {
            tag: crate::text::utf16le_lossy(self.tag),
            digest: self.digest().map(|d| d.into_owned()).unwrap_or_default(),
            digest_algorithm: self
                .digest_oid
                .and_then(der::oid_string)
                .map(|o| pkcs7::digest_name(&o).to_string())
                .unwrap_or_else(|| match self.digest().map(|d| d.len()) {
                    Some(32) => "sha256".to_string(),
                    _ => "sha1".to_string(),
                }),
            file: None,
            os_attr: None,
            sip_guid: None,
            name_values: Vec::new(),
        };
        for attr in pkcs7::attributes(self.attrs) {
            match attr.oid.as_str() {
                OID_CAT_NAMEVALUE => {
                    for v in attr.values {
                        if let Some((name, value)) = name_value(v) {
                            match name.as_str() {
                                "File" => m.file = Some(value),
                                "OSAttr" => m.os_attr = Some(value),
                                _ => m.name_values.push((name, value)),
                            }
                        }
                    }
                }
                OID_CAT_MEMBERINFO => {
                    if let Some(v) = attr.values.first()
                        && let Ok(Some(guid)) = v.children().next_tlv()
                    {
                        m.sip_guid = Some(guid.text());
                    }
                }
                _ => {}
            }
        }
        m
    }
}

/// Walk a CTL, handing each member to `visit` (return `false` to stop). Returns the header.
fn walk_ctl<'a>(
    ctl: Tlv<'a>,
    mut visit: impl FnMut(DerResult<RawMember<'a>>) -> bool,
) -> DerResult<CtlHeader<'a>> {
    let mut r = ctl.children();
    r.expect_tag(der::SEQUENCE, "the CTL subjectUsage SEQUENCE")?;
    let list_identifier = r.optional(der::OCTET_STRING)?.map(|t| t.value);
    r.optional(der::INTEGER)?;
    let this_update = r.any("the CTL thisUpdate")?.time().ok();
    if matches!(r.peek_tag(), Some(der::UTC_TIME | der::GENERALIZED_TIME)) {
        r.next_tlv()?;
    }
    let subject_algorithm = Some(pkcs7::algorithm_oid(
        r.expect_tag(der::SEQUENCE, "the CTL subjectAlgorithm")?,
    )?);
    let mut header = CtlHeader {
        list_identifier,
        this_update,
        subject_algorithm,
        extensions: None,
    };
    if let Some(subjects) = r.optional(der::SEQUENCE)? {
        let mut sr = subjects.children();
        loop {
            match sr.next_tlv() {
                Ok(Some(s)) => {
                    if !visit(raw_member(s)) {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    // The rest of the list cannot be framed: report and keep what was read.
                    visit(Err(e));
                    break;
                }
            }
        }
    }
    if let Some(ext) = r.optional(der::ctx(0))? {
        header.extensions = ext.children().next_tlv()?;
    }
    Ok(header)
}

fn raw_member(s: Tlv<'_>) -> DerResult<RawMember<'_>> {
    let s = s.expect_tag(der::SEQUENCE, "a TrustedSubject SEQUENCE")?;
    let mut r = s.children();
    let tag = r
        .expect_tag(der::OCTET_STRING, "the subjectIdentifier")?
        .value;
    let attrs = r.optional(der::SET)?;
    let mut member = RawMember {
        tag,
        digest: None,
        digest_oid: None,
        attrs,
        file_utf16: None,
    };
    // Find SPC_INDIRECT_DATA and the "File" name without allocating: compare content octets.
    if let Some(set) = attrs {
        let mut ar = set.children();
        while let Some(a) = ar.next_tlv()? {
            let mut fields = a.children();
            let oid = fields.expect_tag(der::OID, "an attribute type")?;
            if oid.value == CAT_NAMEVALUE_BYTES {
                if let Ok(values) = fields.expect_tag(der::SET, "name/value values")
                    && let Ok(nv) = values.children().expect_tag(der::SEQUENCE, "CAT_NAMEVALUE")
                {
                    let mut f = nv.children();
                    if f.expect_tag(der::BMP_STRING, "name").map(|t| t.value) == Ok(FILE_BMP) {
                        let _ = f.optional(der::INTEGER);
                        member.file_utf16 = f
                            .expect_tag(der::OCTET_STRING, "value")
                            .ok()
                            .map(|t| t.value);
                    }
                }
                continue;
            }
            if oid.value != SPC_INDIRECT_DATA_BYTES {
                continue;
            }
            let values = fields.expect_tag(der::SET, "the SPC_INDIRECT_DATA values")?;
            let (alg, digest) = indirect_data_digest_raw(
                values
                    .children()
                    .expect_tag(der::SEQUENCE, "SpcIndirectDataContent")?,
            )?;
            member.digest = Some(digest);
            member.digest_oid = Some(alg);
        }
    }
    Ok(member)
}

/// 1.3.6.1.4.1.311.12.2.1 as content octets.
const CAT_NAMEVALUE_BYTES: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x0c, 0x02, 0x01];
/// "File" as a BMPString (UTF-16BE).
const FILE_BMP: &[u8] = &[0, b'F', 0, b'i', 0, b'l', 0, b'e'];

/// 1.3.6.1.4.1.311.2.1.4 as content octets.
const SPC_INDIRECT_DATA_BYTES: &[u8] =
    &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04];

/// `SpcIndirectDataContent { data, messageDigest DigestInfo { alg, digest } }`: (alg OID, digest).
pub(crate) fn indirect_data_digest(content: Tlv<'_>) -> DerResult<(String, &[u8])> {
    let (alg, digest) = indirect_data_digest_raw(content)?;
    let dotted = der::oid_string(alg)
        .ok_or_else(|| DerError::new(content.offset, "a valid digest algorithm OID"))?;
    Ok((dotted, digest))
}

/// As [`indirect_data_digest`] with the OID as content octets (no allocation: the index path).
fn indirect_data_digest_raw(content: Tlv<'_>) -> DerResult<(&[u8], &[u8])> {
    let mut r = content.children();
    r.expect_tag(der::SEQUENCE, "SpcAttributeTypeAndOptionalValue")?;
    let di = r.expect_tag(der::SEQUENCE, "the DigestInfo")?;
    let mut d = di.children();
    let alg = d.expect_tag(der::SEQUENCE, "the digest AlgorithmIdentifier")?;
    let oid = alg
        .children()
        .expect_tag(der::OID, "an algorithm OBJECT IDENTIFIER")?;
    let digest = d
        .expect_tag(der::OCTET_STRING, "the digest OCTET STRING")?
        .value;
    Ok((oid.value, digest))
}

/// `CAT_NAMEVALUE ::= SEQUENCE { tag BMPString, flags INTEGER, value OCTET STRING (UTF-16LE) }`.
fn name_value(v: Tlv<'_>) -> Option<(String, String)> {
    let mut r = v.children();
    let name = r.expect_tag(der::BMP_STRING, "name").ok()?.text();
    r.optional(der::INTEGER).ok()?;
    let value = r.expect_tag(der::OCTET_STRING, "value").ok()?;
    Some((name, crate::text::utf16le_lossy(value.value)))
}

/// The catalog-level name/values of `ctlExtensions` (each extension value wraps a CAT_NAMEVALUE).
fn catalog_attributes(exts: Tlv<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut r = exts.children();
    while let Ok(Some(ext)) = r.next_tlv() {
        let mut e = ext.children();
        let Ok(oid) = e.expect_tag(der::OID, "extension id") else {
            continue;
        };
        let _ = e.optional(der::BOOLEAN);
        let Ok(value) = e.expect_tag(der::OCTET_STRING, "extension value") else {
            continue;
        };
        if oid.oid().ok().as_deref() == Some(OID_CAT_NAMEVALUE)
            && let Ok(inner) = der::parse(value.value, value.value_offset())
            && let Some(nv) = name_value(inner)
        {
            out.push(nv);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The index

/// A folder of catalogs (or one `.cat` file) and where it sits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogDir {
    pub path: PathBuf,
    pub location: CatalogLocation,
}

impl CatalogDir {
    /// A folder whose location is read from its path (CatRoot, servicing\Packages, else other).
    pub fn new(path: impl Into<PathBuf>) -> CatalogDir {
        let path = path.into();
        let location = CatalogLocation::of_path(&path);
        CatalogDir { path, location }
    }

    pub fn with_location(path: impl Into<PathBuf>, location: CatalogLocation) -> CatalogDir {
        CatalogDir {
            path: path.into(),
            location,
        }
    }
}

/// One indexed catalog file.
#[derive(Clone, Debug, Serialize)]
pub struct IndexedCatalog {
    pub path: PathBuf,
    pub location: CatalogLocation,
    pub members: u32,
    /// Why the catalog (or part of it) could not be read.
    pub error: Option<String>,
}

/// Progress of an index build: catalogs parsed so far of the total found.
#[derive(Clone, Copy, Debug)]
pub struct IndexProgress {
    pub done: usize,
    pub total: usize,
}

/// A hit: which catalog, which member (its position in the catalog's member list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogHit {
    pub catalog: u32,
    pub member: u32,
}

/// Every member hash of every catalog in some folders, for lookups by Authenticode digest.
///
/// Kept lean for CatRoots with hundreds of thousands of members: sorted `(digest, hit)` arrays
/// (28-40 bytes per member, binary search), member details re-read from the catalog on demand.
#[derive(Debug, Default)]
pub struct CatalogIndex {
    pub catalogs: Vec<IndexedCatalog>,
    sha1: Vec<([u8; 20], CatalogHit)>,
    sha256: Vec<([u8; 32], CatalogHit)>,
    other: Vec<(Box<[u8]>, CatalogHit)>,
    /// Lower-case "File" names of `.sys` members: to say a catalog lists a driver by name
    /// under another hash (a replaced or patched file).
    by_name: Vec<(Box<str>, CatalogHit)>,
    /// Each catalog's signature and members, read on first use (once per run).
    details: Vec<std::sync::OnceLock<CatalogDetails>>,
}

impl CatalogIndex {
    /// Index every `.cat` file under each folder (recursively; a folder may also be one `.cat`
    /// file), in parallel. Unreadable catalogs are listed with their error, never fatal.
    pub fn build(dirs: &[CatalogDir], progress: &(dyn Fn(IndexProgress) + Sync)) -> CatalogIndex {
        let mut files: Vec<(PathBuf, CatalogLocation)> = Vec::new();
        for dir in dirs {
            collect_catalogs(&dir.path, dir.location, &mut files, 0);
        }
        files.sort();
        files.dedup_by(|a, b| a.0 == b.0);
        let total = files.len();
        let done = AtomicUsize::new(0);
        let parsed: Vec<(IndexedCatalog, Indexed)> = files
            .par_iter()
            .map(|(path, location)| {
                let indexed = index_one(path);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(256) || n == total {
                    progress(IndexProgress { done: n, total });
                }
                (
                    IndexedCatalog {
                        path: path.clone(),
                        location: *location,
                        members: u32::try_from(indexed.members()).unwrap_or(u32::MAX),
                        error: indexed.error.clone(),
                    },
                    indexed,
                )
            })
            .collect();
        let mut index = CatalogIndex::default();
        for (ci, (cat, indexed)) in parsed.into_iter().enumerate() {
            let catalog = u32::try_from(ci).unwrap_or(u32::MAX);
            for (name, member) in indexed.names {
                index.by_name.push((name, CatalogHit { catalog, member }));
            }
            let hit = |member| CatalogHit { catalog, member };
            index
                .sha1
                .extend(indexed.sha1.into_iter().map(|(d, m)| (d, hit(m))));
            index
                .sha256
                .extend(indexed.sha256.into_iter().map(|(d, m)| (d, hit(m))));
            index
                .other
                .extend(indexed.other.into_iter().map(|(d, m)| (d, hit(m))));
            index.catalogs.push(cat);
            index.details.push(std::sync::OnceLock::new());
        }
        index.sha1.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        index.sha256.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        index.other.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        index.by_name.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        index
    }

    /// The catalogs listing a `.sys` member with this driver's file name (any hash).
    pub fn lookup_name(&self, driver: &crate::driver::DriverKey) -> Vec<CatalogHit> {
        let key = driver.name();
        let start = self.by_name.partition_point(|(k, _)| &**k < key);
        self.by_name
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|(k, _)| &**k == key)
            .map(|(_, h)| *h)
            .collect()
    }

    /// The catalogs listing `digest` (an Authenticode SHA1/SHA256 or a flat-file hash).
    pub fn lookup(&self, digest: &[u8]) -> Vec<CatalogHit> {
        fn range<K: Ord>(v: &[(K, CatalogHit)], key: &K) -> Vec<CatalogHit> {
            let start = v.partition_point(|(k, _)| k < key);
            v.get(start..)
                .unwrap_or_default()
                .iter()
                .take_while(|(k, _)| k == key)
                .map(|(_, h)| *h)
                .collect()
        }
        if let Ok(d) = <[u8; 20]>::try_from(digest) {
            range(&self.sha1, &d)
        } else if let Ok(d) = <[u8; 32]>::try_from(digest) {
            range(&self.sha256, &d)
        } else {
            range(&self.other, &Box::<[u8]>::from(digest))
        }
    }

    /// The catalog of a hit.
    pub fn catalog(&self, hit: CatalogHit) -> Option<&IndexedCatalog> {
        self.catalogs.get(usize::try_from(hit.catalog).ok()?)
    }

    /// The member details of a hit (re-reads that one catalog).
    pub fn member(&self, hit: CatalogHit) -> Result<CatalogMember, CatalogError> {
        let cat = self.catalog(hit).ok_or_else(|| CatalogError::Format {
            path: PathBuf::new(),
            source: DerError::new(0, "a catalog number within the index"),
        })?;
        let parsed = Catalog::open(&cat.path)?;
        let n = usize::try_from(hit.member).unwrap_or(usize::MAX);
        parsed
            .members
            .into_iter()
            .nth(n)
            .ok_or_else(|| CatalogError::Format {
                path: cat.path.clone(),
                source: DerError::new(0, format!("member {n} in the catalog")),
            })
    }

    /// What a catalog's signature is worth, judged once per run (the first call parses and
    /// hashes the catalog; later calls reuse the result). The index is meant for one root
    /// store: the first call's `roots` decide.
    pub fn details(
        &self,
        catalog: u32,
        roots: &RootStore,
    ) -> Option<std::borrow::Cow<'_, CatalogDetails>> {
        let i = usize::try_from(catalog).ok()?;
        let cat = self.catalogs.get(i)?;
        let cell = self.details.get(i)?;
        let d = cell.get_or_init(|| CatalogDetails::read(&cat.path, roots));
        // Judged against other anchors earlier in this run: judge again, uncached.
        if d.roots != roots.id() {
            return Some(std::borrow::Cow::Owned(CatalogDetails::read(
                &cat.path, roots,
            )));
        }
        Some(std::borrow::Cow::Borrowed(d))
    }

    /// A hit listed without reading its catalog (another catalog already vouches).
    pub fn describe_unjudged(&self, hit: CatalogHit) -> CatalogRef {
        let mut out = self.listed(hit);
        out.signature.reason =
            "not judged: a catalog Code Integrity reads first already vouches".into();
        out
    }

    /// What a hit says: the catalog's path and location, the member's file name and OS
    /// attributes, the catalog signer, and its signature, timestamp and chain checks.
    pub fn describe(&self, hit: CatalogHit, roots: &RootStore) -> CatalogRef {
        let mut out = self.listed(hit);
        let Some(d) = self.details(hit.catalog, roots) else {
            return out;
        };
        if let Some((file, os)) = usize::try_from(hit.member)
            .ok()
            .and_then(|m| d.members.get(m))
        {
            out.member_file = file.clone();
            out.os_attr = os.clone();
        }
        out.signer = d.signature.signer.clone();
        out.signature = d.signature.clone();
        out.judged = true;
        out.warnings = d.warnings.clone();
        out
    }

    /// The catalog of a hit by path and location only (an empty listing for a stale hit).
    fn listed(&self, hit: CatalogHit) -> CatalogRef {
        self.catalog(hit)
            .map(|cat| CatalogRef {
                path: cat.path.clone(),
                location: cat.location,
                ..CatalogRef::default()
            })
            .unwrap_or_default()
    }

    /// Number of member hashes indexed.
    pub fn member_count(&self) -> usize {
        self.sha1.len() + self.sha256.len() + self.other.len()
    }
}

/// A catalog that lists a file, as shown beside its verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CatalogRef {
    pub path: PathBuf,
    pub location: CatalogLocation,
    /// The member's "File" and "OSAttr" name/values.
    pub member_file: Option<String>,
    pub os_attr: Option<String>,
    /// Common name of the catalog's signing certificate (`None` for an unsigned catalog).
    pub signer: Option<String>,
    /// The catalog's own signature: states, chain and judgement.
    pub signature: CatalogSignature,
    /// `false`: listed without reading it (a catalog Code Integrity reads first vouches).
    pub judged: bool,
    pub warnings: Vec<Warning>,
}

impl CatalogRef {
    /// Whether the catalog's signature holds by kernel-mode rules.
    pub fn trusted(&self) -> bool {
        self.signature.trust == SignatureTrust::Trusted
    }
}

/// The signature of a catalog, judged as an embedded signature is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogSignature {
    pub signer: Option<String>,
    pub signer_issuer: Option<String>,
    pub digest_algorithm: Option<String>,
    pub message_digest: Check,
    pub signature: Check,
    pub timestamp: Timestamp,
    pub chain: ChainReport,
    pub trust: SignatureTrust,
    pub reason: String,
}

impl Default for CatalogSignature {
    fn default() -> CatalogSignature {
        CatalogSignature {
            signer: None,
            signer_issuer: None,
            digest_algorithm: None,
            message_digest: Check::new(CheckState::Missing, "not read"),
            signature: Check::new(CheckState::Missing, "not read"),
            timestamp: Timestamp::none(),
            chain: ChainReport::not_checked("not read"),
            trust: SignatureTrust::Untrusted,
            reason: "the catalog was not read".into(),
        }
    }
}

impl CatalogSignature {
    /// Judge a catalog's SignedData (its CTL's signed bytes given).
    pub fn judge(sd: &pkcs7::SignedData<'_>, signed: &[u8], roots: &RootStore) -> CatalogSignature {
        let mut out = CatalogSignature::default();
        if sd.signer_infos.len() != 1 {
            let what = if sd.signer_infos.is_empty() {
                "an unsigned catalog (signerInfos is empty)".to_string()
            } else {
                format!(
                    "{} SignerInfos (a catalog has exactly one)",
                    sd.signer_infos.len()
                )
            };
            out.message_digest = Check::new(CheckState::NoSigner, what.clone());
            out.signature = Check::new(CheckState::NoSigner, what.clone());
            out.chain = ChainReport::not_checked(&what);
            out.trust = SignatureTrust::BadSignature;
            out.reason = what;
            return out;
        }
        let si = &sd.signer_infos[0];
        out.digest_algorithm = Some(pkcs7::digest_name(&si.digest_algorithm).to_string());
        let check = pkcs7::verify_signer(sd, si, signed);
        if let Some(cert) = check.certificate {
            out.signer = Some(pkcs7::common_name(&cert.subject));
            out.signer_issuer = Some(pkcs7::common_name(&cert.issuer));
        } else if let Some(issuer) = &si.issuer {
            out.signer_issuer = Some(pkcs7::common_name(issuer));
        }
        out.message_digest = check.message_digest;
        out.signature = check.signature;
        out.timestamp = super::embedded::timestamp_of(sd, si, roots);
        out.chain = match check.certificate {
            Some(c) => roots.check_chain(
                c,
                &sd.certificates,
                Purpose::KernelCode,
                out.timestamp.verified_time(),
            ),
            None => ChainReport::not_checked("the signer's certificate is not in the catalog"),
        };
        (out.trust, out.reason) = if !out.message_digest.is_ok() {
            (
                SignatureTrust::BadSignature,
                format!("message digest {}", out.message_digest.describe()),
            )
        } else if !out.signature.is_ok() {
            (
                SignatureTrust::BadSignature,
                format!("signature {}", out.signature.describe()),
            )
        } else {
            let why = format!("chain {}", out.chain.describe());
            match out.chain.status {
                ChainStatus::Verified => (SignatureTrust::Trusted, why),
                ChainStatus::TestRoot => (SignatureTrust::TestSigned, why),
                ChainStatus::BadSignature => (SignatureTrust::BadSignature, why),
                _ => (SignatureTrust::Untrusted, why),
            }
        };
        out
    }
}

/// A catalog described on its own (`bsodwb sig X.cat`): what a listing beside a verdict shows
/// (path, location, signer, signature states, warnings), then its own name/values and members.
#[derive(Clone, Debug, Serialize)]
pub struct CatalogReport {
    #[serde(flatten)]
    pub catalog: CatalogRef,
    pub list_identifier: Option<String>,
    pub this_update: Option<String>,
    pub subject_algorithm: Option<String>,
    /// Catalog-level name/values ("OS", "HWID1", …).
    pub attributes: Vec<(String, String)>,
    pub members: Vec<CatalogMember>,
}

impl CatalogReport {
    /// Read a catalog file and judge its signature against `roots`.
    pub fn open(path: &Path, roots: &RootStore) -> Result<CatalogReport, CatalogError> {
        let bytes = crate::mapped::Bytes::open(path).map_err(|source| CatalogError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let fail = |source| CatalogError::Format {
            path: path.to_path_buf(),
            source,
        };
        let cat = Catalog::parse(&bytes).map_err(fail)?;
        let sd = pkcs7::parse_content_info(&bytes, 0).map_err(fail)?;
        let (_, signed) = ctl_and_signed_bytes(&sd).map_err(fail)?;
        let signature = CatalogSignature::judge(&sd, signed, roots);
        Ok(CatalogReport {
            catalog: CatalogRef {
                path: path.to_path_buf(),
                location: CatalogLocation::of_path(path),
                signer: signature.signer.clone(),
                signature,
                judged: true,
                warnings: cat
                    .warnings
                    .into_iter()
                    .map(|w| Warning::new(path, w))
                    .collect(),
                ..CatalogRef::default()
            },
            list_identifier: cat.list_identifier,
            this_update: cat.this_update,
            subject_algorithm: cat.subject_algorithm,
            attributes: cat.attributes,
            members: cat.members,
        })
    }
}

/// A catalog read once per run: its signature's judgement and every member's File/OSAttr.
#[derive(Clone, Debug, Default)]
pub struct CatalogDetails {
    pub signature: CatalogSignature,
    pub members: Vec<(Option<String>, Option<String>)>,
    pub warnings: Vec<Warning>,
    /// [`RootStore::id`] of the anchors it was judged against.
    roots: u64,
}

impl CatalogDetails {
    fn read(path: &Path, roots: &RootStore) -> CatalogDetails {
        let mut out = CatalogDetails {
            roots: roots.id(),
            ..CatalogDetails::default()
        };
        let bytes = match crate::mapped::Bytes::open(path) {
            Ok(b) => b,
            Err(e) => {
                out.warnings
                    .push(Warning::new(path, format!("cannot read: {e}")));
                return out;
            }
        };
        let sd = match pkcs7::parse_content_info(&bytes, 0) {
            Ok(sd) => sd,
            Err(e) => {
                out.warnings.push(Warning::new(path, e.to_string()));
                return out;
            }
        };
        match ctl_and_signed_bytes(&sd) {
            Ok((ctl, signed)) => {
                let _ = walk_ctl(ctl, |m| {
                    out.members.push(match m {
                        Ok(m) => {
                            let m = m.into_member();
                            (m.file, m.os_attr)
                        }
                        Err(_) => (None, None),
                    });
                    true
                });
                out.signature = CatalogSignature::judge(&sd, signed, roots);
            }
            Err(e) => out.warnings.push(Warning::new(path, e.to_string())),
        }
        out
    }
}

/// (digest, member number) of every member of one catalog.
/// What one catalog gives the index: member digests by length, `.sys` member names, an error.
#[derive(Default)]
struct Indexed {
    sha1: Vec<([u8; 20], u32)>,
    sha256: Vec<([u8; 32], u32)>,
    other: Vec<(Box<[u8]>, u32)>,
    names: Vec<(Box<str>, u32)>,
    error: Option<String>,
}

impl Indexed {
    fn members(&self) -> usize {
        self.sha1.len() + self.sha256.len() + self.other.len()
    }
}

/// Whether a UTF-16LE file name (NUL-terminated or not) ends in `.sys`, any case: decided on
/// the bytes so that the index only allocates names of drivers.
fn ends_with_sys(utf16: &[u8]) -> bool {
    let body = utf16.strip_suffix(&[0, 0]).unwrap_or(utf16);
    body.len() >= 8
        && body[body.len() - 8..]
            .chunks_exact(2)
            .zip(".sys".bytes())
            .all(|(c, want)| c[1] == 0 && c[0].eq_ignore_ascii_case(&want))
}

/// Parse one catalog for the index: its member digests and driver names, and an error if any.
fn index_one(path: &Path) -> Indexed {
    let mut out = Indexed::default();
    let bytes = match crate::mapped::Bytes::open(path) {
        Ok(b) => b,
        Err(e) => {
            out.error = Some(format!("cannot read: {e}"));
            return out;
        }
    };
    let ctl = match pkcs7::parse_content_info(&bytes, 0).and_then(|sd| ctl_element(&sd)) {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    let mut n: u32 = 0;
    let res = walk_ctl(ctl, |m| {
        match m {
            Ok(m) => {
                if let Some(d) = m.digest() {
                    if let Ok(k) = <[u8; 20]>::try_from(&*d) {
                        out.sha1.push((k, n));
                    } else if let Ok(k) = <[u8; 32]>::try_from(&*d) {
                        out.sha256.push((k, n));
                    } else {
                        out.other.push((d.into_owned().into_boxed_slice(), n));
                    }
                }
                if let Some(f) = m.file_utf16
                    && ends_with_sys(f)
                {
                    let name = crate::text::utf16le_lossy(f).to_ascii_lowercase();
                    out.names.push((name.into_boxed_str(), n));
                }
            }
            Err(e) => {
                out.error.get_or_insert_with(|| format!("member {n}: {e}"));
            }
        }
        n = n.saturating_add(1);
        true
    });
    if let Err(e) = res {
        out.error.get_or_insert_with(|| e.to_string());
    }
    out
}

/// Depth limit for catalog folder walks (servicing trees are flat; this only stops loops).
const MAX_WALK_DEPTH: usize = 8;

fn collect_catalogs(
    path: &Path,
    location: CatalogLocation,
    out: &mut Vec<(PathBuf, CatalogLocation)>,
    depth: usize,
) {
    if path.is_file() {
        out.push((path.to_path_buf(), location));
        return;
    }
    if depth > MAX_WALK_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            collect_catalogs(&p, location, out, depth + 1);
        } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("cat"))
            // Only regular files (links followed): a FIFO named *.cat would block the index.
            && std::fs::metadata(&p).is_ok_and(|m| m.is_file())
        {
            out.push((p, location));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_from_paths() {
        let cat = Path::new(
            "/case/Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}/a.cat",
        );
        assert_eq!(CatalogLocation::of_path(cat), CatalogLocation::Catroot);
        let svc = Path::new("/case/WINDOWS/servicing/Packages");
        assert_eq!(CatalogLocation::of_path(svc), CatalogLocation::Servicing);
        assert_eq!(
            CatalogLocation::of_path(Path::new("/tmp/vendor")),
            CatalogLocation::Other
        );
        let store = Path::new(
            "C:\\Windows\\System32\\DriverStore\\FileRepository\\ftdibus.inf_amd64_1\\ftdibus.cat",
        );
        assert_eq!(
            CatalogLocation::of_path(store),
            CatalogLocation::DriverStore
        );
        assert!(!CatalogLocation::DriverStore.used_at_boot());
        assert!(!CatalogLocation::Elsewhere.used_at_boot());
        assert!(CatalogLocation::Catroot.used_at_boot() && CatalogLocation::Other.used_at_boot());
    }

    #[test]
    fn garbage_is_an_error_with_an_offset_not_a_panic() {
        for bytes in [
            &b""[..],
            b"\x30\x03\x06\x01",
            b"MZ\x90\x00",
            &[0x30, 0x80, 0x30, 0x80],
        ] {
            assert!(Catalog::parse(bytes).is_err());
        }
    }
}
