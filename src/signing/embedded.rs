//! Embedded Authenticode signatures: the certificate table of a PE image (WIN_CERTIFICATE
//! entries, PE/COFF spec "The Attribute Certificate Table"), each a PKCS#7 SignedData over an
//! SpcIndirectDataContent that carries the image digest; nested signatures sit in the unsigned
//! attribute 1.3.6.1.4.1.311.2.4.1, timestamps in 1.2.840.113549.1.9.6 (countersignature) or
//! 1.3.6.1.4.1.311.3.3.1 (RFC 3161). docs/formats/signing.md §3.3c.
//!
//! Every signature is judged as explicit states ([`SignatureInfo`]): image digest, signed
//! attributes' messageDigest, the signer's signature, the chain, the timestamp and the page
//! hashes. Only the first WIN_CERTIFICATE is judged, as Windows reads only the first.

use super::authenticode::{self, PeLayout};
use super::chain::{ChainReport, ChainStatus, Purpose, RootStore};
use super::der::{self, DerResult, Tlv};
use super::pkcs7::{self, Check, CheckState};
use super::{catalog, pkcs7::SignedData};
use serde::Serialize;
use std::cell::RefCell;

/// WIN_CERT_TYPE_PKCS_SIGNED_DATA.
const WIN_CERT_TYPE_PKCS_SIGNED_DATA: u16 = 0x0002;

/// The embedded signatures of one image.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EmbeddedSignature {
    /// Whether the image carries a certificate table (a signature Windows will try to read).
    pub present: bool,
    /// Why the first WIN_CERTIFICATE could not be read as a signature (a broken signature).
    pub unreadable: Option<String>,
    /// The primary signature first, then nested ones (`depth` > 0) in file order.
    pub signatures: Vec<SignatureInfo>,
    /// What could not be read (the readable part is still reported).
    pub warnings: Vec<String>,
}

/// Whether a timestamp was verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimestampState {
    /// The timestamp's signature, its imprint of the signer's signature and its authority's
    /// chain all verify.
    Verified,
    /// A timestamp is present but does not verify (the reason is in `detail`).
    Unverified,
    /// No timestamp.
    None,
}

/// A signature's timestamp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timestamp {
    pub state: TimestampState,
    /// The time it states (genTime or signingTime), verified or not.
    pub time: Option<String>,
    /// `rfc3161` or `countersignature`.
    pub kind: Option<&'static str>,
    /// Common name of the timestamp authority.
    pub authority: Option<String>,
    pub detail: Option<String>,
}

impl Timestamp {
    pub fn none() -> Timestamp {
        Timestamp {
            state: TimestampState::None,
            time: None,
            kind: None,
            authority: None,
            detail: None,
        }
    }

    /// The verified time, if any: the only time certificate validity is judged at.
    pub fn verified_time(&self) -> Option<&str> {
        (self.state == TimestampState::Verified)
            .then_some(self.time.as_deref())
            .flatten()
    }

    pub fn describe(&self) -> String {
        match self.state {
            TimestampState::Verified => format!(
                "verified {} ({}{})",
                self.time.as_deref().unwrap_or("?"),
                self.kind.unwrap_or("?"),
                self.authority
                    .as_deref()
                    .map(|a| format!(", {a}"))
                    .unwrap_or_default()
            ),
            TimestampState::Unverified => format!(
                "UNVERIFIED{} ({})",
                self.time
                    .as_deref()
                    .map(|t| format!(" {t}"))
                    .unwrap_or_default(),
                self.detail.as_deref().unwrap_or("?")
            ),
            TimestampState::None => "none".to_string(),
        }
    }
}

/// The judgement of one signature, from its states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureTrust {
    /// Digest, messageDigest, signature, page hashes and chain all good by kernel-mode rules.
    Trusted,
    /// The file changed after signing.
    DigestMismatch,
    /// The signature, messageDigest or page hashes do not verify (or cannot be checked), or a
    /// signature inside the chain is bad.
    BadSignature,
    /// The chain ends at a root outside the trust store (test signing).
    TestSigned,
    /// Intact, but no chain to a root trusted for kernel code.
    Untrusted,
}

/// One Authenticode signature.
#[derive(Clone, Debug, Serialize)]
pub struct SignatureInfo {
    /// 0 for the primary signature, 1 for a signature nested in it.
    pub depth: u32,
    /// Common name of the signing certificate, and of its issuer.
    pub signer: Option<String>,
    pub issuer: Option<String>,
    /// Full subject of the signing certificate (`CN=…, O=…`).
    pub signer_subject: Option<String>,
    /// Digest algorithm of the signed image digest (`sha1`, `sha256`, …).
    pub digest_algorithm: String,
    /// The image digest the signature vouches for, and the one computed from the file.
    pub signed_digest: String,
    pub computed_digest: Option<String>,
    /// Image digest: ok / mismatch / unsupported.
    pub digest: Check,
    /// Signed attributes' messageDigest over the SpcIndirectDataContent.
    pub message_digest: Check,
    /// The signer's signature over the signed attributes: ok / bad / unsupported / no-signer.
    pub signature: Check,
    /// The chain by kernel-mode rules (`not-checked` only without any trust anchor).
    pub chain: ChainReport,
    pub timestamp: Timestamp,
    /// SpcPeImagePageHashes: ok / mismatch / unsupported / none (absent).
    pub page_hashes: Check,
    /// The signing time: a timestamp's (verified or not) or the signed signingTime.
    pub signing_time: Option<String>,
    /// Where the signing time came from: `rfc3161`, `countersignature` or `signing-time`.
    pub signing_time_source: Option<&'static str>,
    /// Number of certificates carried.
    pub certificates: usize,
    /// What the states add up to, and why.
    pub trust: SignatureTrust,
    pub reason: String,
}

impl SignatureInfo {
    /// The judgement as a word: `trusted`, `digest-mismatch`, `bad-signature`, …
    pub fn trust_str(&self) -> &'static str {
        match self.trust {
            SignatureTrust::Trusted => "trusted",
            SignatureTrust::DigestMismatch => "digest-mismatch",
            SignatureTrust::BadSignature => "bad-signature",
            SignatureTrust::TestSigned => "test-signed",
            SignatureTrust::Untrusted => "untrusted-signer",
        }
    }

    /// Whether the signed image digest equals the file's.
    pub fn digest_ok(&self) -> bool {
        self.digest.is_ok()
    }

    /// Judge the states: `trusted` only when every required one is good.
    fn judge(&mut self) {
        let (trust, reason) = if !self.digest.is_ok() {
            match self.digest.state {
                CheckState::Mismatch => (
                    SignatureTrust::DigestMismatch,
                    "the file changed after signing (image digest mismatch)".to_string(),
                ),
                _ => (
                    SignatureTrust::BadSignature,
                    format!("image digest {}", self.digest.describe()),
                ),
            }
        } else if !self.message_digest.is_ok() {
            (
                SignatureTrust::BadSignature,
                format!("message digest {}", self.message_digest.describe()),
            )
        } else if !self.signature.is_ok() {
            (
                SignatureTrust::BadSignature,
                format!("signature {}", self.signature.describe()),
            )
        } else if matches!(
            self.page_hashes.state,
            CheckState::Mismatch | CheckState::Unsupported | CheckState::Bad
        ) {
            (
                SignatureTrust::BadSignature,
                format!("page hashes {}", self.page_hashes.describe()),
            )
        } else {
            match self.chain.status {
                ChainStatus::Verified => (
                    SignatureTrust::Trusted,
                    format!("chain {}", self.chain.describe()),
                ),
                ChainStatus::TestRoot => (
                    SignatureTrust::TestSigned,
                    format!("chain {}", self.chain.describe()),
                ),
                ChainStatus::BadSignature => (
                    SignatureTrust::BadSignature,
                    format!("chain {}", self.chain.describe()),
                ),
                _ => (
                    SignatureTrust::Untrusted,
                    format!("chain {}", self.chain.describe()),
                ),
            }
        };
        self.trust = trust;
        self.reason = reason;
    }
}

impl EmbeddedSignature {
    /// The primary signature.
    pub fn primary(&self) -> Option<&SignatureInfo> {
        self.signatures.first()
    }

    /// The signature Windows would accept: the first trusted one (primary or nested; Code
    /// Integrity evaluates every signature of a dual-signed file).
    /// A signature through a Microsoft root is preferred: it loads under every policy,
    /// where a cross-signed one may not (Windows 10 1607+ with Secure Boot on).
    pub fn trusted(&self) -> Option<&SignatureInfo> {
        let trusted = || {
            self.signatures
                .iter()
                .filter(|s| s.trust == SignatureTrust::Trusted)
        };
        trusted()
            .find(|s| s.chain.anchor == Some(super::chain::AnchorKind::Microsoft))
            .or_else(|| trusted().next())
    }

    /// Whether a signature holds by kernel-mode rules.
    pub fn intact(&self) -> bool {
        self.trusted().is_some()
    }
}

/// The embedded signatures of a PE image, judged against the shipped roots.
pub fn embedded_signature(bytes: &[u8]) -> Result<EmbeddedSignature, authenticode::PeLayoutError> {
    let layout = PeLayout::parse(bytes)?;
    Ok(read_embedded(bytes, &layout, &RootStore::builtin(), &[]))
}

/// Authenticode digests of one image, each algorithm computed once however many signatures
/// ask for it.
struct ImageDigests<'b> {
    bytes: &'b [u8],
    layout: &'b PeLayout,
    cache: RefCell<Vec<(String, Option<Vec<u8>>)>>,
}

impl ImageDigests<'_> {
    fn get(&self, alg: &str) -> Option<Vec<u8>> {
        if let Some((_, d)) = self.cache.borrow().iter().find(|(a, _)| a == alg) {
            return d.clone();
        }
        let d = authenticode::authenticode_digest(self.bytes, self.layout, alg);
        self.cache.borrow_mut().push((alg.to_string(), d.clone()));
        d
    }
}

/// The embedded signatures with a layout already read, judged against `roots`. `known` are
/// Authenticode digests already computed (`("sha1", …)`, `("sha256", …)`): not recomputed.
pub fn read_embedded(
    bytes: &[u8],
    layout: &PeLayout,
    roots: &RootStore,
    known: &[(&str, &[u8])],
) -> EmbeddedSignature {
    let mut out = EmbeddedSignature::default();
    let Some((table_off, table_size)) = layout.cert_table else {
        return out;
    };
    out.present = true;
    let digests = ImageDigests {
        bytes,
        layout,
        cache: RefCell::new(
            known
                .iter()
                .map(|(a, d)| (a.to_string(), Some(d.to_vec())))
                .collect(),
        ),
    };
    let table = bytes
        .get(table_off..table_off + table_size)
        .unwrap_or_default();
    // WIN_CERTIFICATE { dwLength u32, wRevision u16, wCertificateType u16, bCertificate[] }:
    // Windows reads the first entry only.
    let at = table_off;
    let len = table
        .get(0..4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let len = usize::try_from(len).unwrap_or(0);
    let ctype = table
        .get(6..8)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]));
    if len < 8 || len > table.len() {
        out.unreadable = Some(format!(
            "at byte offset {at:#x}: expected a WIN_CERTIFICATE length within the {}-byte table (found {len})",
            table.len()
        ));
        return out;
    }
    if ctype != WIN_CERT_TYPE_PKCS_SIGNED_DATA {
        out.unreadable = Some(format!(
            "at byte offset {at:#x}: the first certificate's type {ctype:#x} is not PKCS#7 SignedData (Windows reads only the first)"
        ));
        return out;
    }
    let next = (len + 7) & !7;
    if next + 8 <= table.len() {
        out.warnings.push(format!(
            "at byte offset {:#x}: {} more byte(s) of WIN_CERTIFICATE entries after the first: not judged (Windows reads only the first)",
            table_off + next,
            table.len() - next
        ));
    }
    let blob = table.get(8..len).unwrap_or_default();
    match der::parse(blob, at + 8) {
        Ok(ci) => {
            let extra = blob.get(ci.raw.len()..).unwrap_or_default();
            if extra.len() >= 8 || extra.iter().any(|b| *b != 0) {
                out.warnings.push(format!(
                    "at byte offset {:#x}: {} byte(s) after the signature inside its WIN_CERTIFICATE: data hidden in the padding (CVE-2013-3900); Windows ignores it unless EnableCertPaddingCheck is set",
                    at + 8 + ci.raw.len(),
                    extra.len()
                ));
            }
            read_signature(ci, &digests, roots, 0, &mut out);
            if out.signatures.is_empty() && out.unreadable.is_none() {
                out.unreadable = out.warnings.last().cloned();
            }
        }
        Err(e) => out.unreadable = Some(format!("signature: {e}")),
    }
    if !table.is_empty() && table_off + table_size < bytes.len() {
        out.warnings.push(format!(
            "at byte offset {:#x}: {} byte(s) after the certificate table (outside the signed digest)",
            table_off + table_size,
            bytes.len() - table_off - table_size
        ));
    }
    out
}

/// Nested signatures deeper than this are not followed.
const MAX_NESTING: u32 = 4;
/// Nested signatures read at most (a file with thousands is hostile).
const MAX_SIGNATURES: usize = 16;

fn read_signature(
    ci: Tlv<'_>,
    digests: &ImageDigests<'_>,
    roots: &RootStore,
    depth: u32,
    out: &mut EmbeddedSignature,
) {
    if out.signatures.len() >= MAX_SIGNATURES {
        out.warnings.push(format!(
            "more than {MAX_SIGNATURES} signatures: the rest are not read"
        ));
        return;
    }
    match signature_info(ci, digests, roots, depth) {
        Ok((info, nested)) => {
            out.signatures.push(info);
            if depth < MAX_NESTING {
                for n in nested {
                    read_signature(n, digests, roots, depth + 1, out);
                }
            }
        }
        Err(e) => out.warnings.push(format!("signature (depth {depth}): {e}")),
    }
}

const OID_SPC_PE_IMAGE_PAGE_HASHES_V1: &str = "1.3.6.1.4.1.311.2.3.1";
const OID_SPC_PE_IMAGE_PAGE_HASHES_V2: &str = "1.3.6.1.4.1.311.2.3.2";
/// SpcSerializedObject class id of page hashes (a6b586d5-b4a1-2466-ae05-a217da8e60d6).
const PAGE_HASH_CLASS_ID: [u8; 16] = [
    0xa6, 0xb5, 0x86, 0xd5, 0xb4, 0xa1, 0x24, 0x66, 0xae, 0x05, 0xa2, 0x17, 0xda, 0x8e, 0x60, 0xd6,
];

fn signature_info<'a>(
    ci: Tlv<'a>,
    digests: &ImageDigests<'_>,
    roots: &RootStore,
    depth: u32,
) -> DerResult<(SignatureInfo, Vec<Tlv<'a>>)> {
    let sd =
        pkcs7::parse_content_info_tlv(ci.expect_tag(der::SEQUENCE, "a ContentInfo SEQUENCE")?)?;
    let raw_content = sd
        .content
        .ok_or_else(|| der::DerError::new(ci.offset, "an SpcIndirectDataContent"))?;
    let content = if raw_content.tag == der::OCTET_STRING {
        der::parse(raw_content.value, raw_content.value_offset())?
    } else {
        raw_content
    };
    if sd.content_type != pkcs7::OID_SPC_INDIRECT_DATA {
        return Err(der::DerError::new(
            ci.offset,
            format!(
                "content type SpcIndirectDataContent {} (found {})",
                pkcs7::OID_SPC_INDIRECT_DATA,
                sd.content_type
            ),
        ));
    }
    let (alg_oid, signed_digest) = catalog::indirect_data_digest(content)?;
    let digest_algorithm = pkcs7::digest_name(&alg_oid).to_string();
    let computed = digests.get(&digest_algorithm);
    let digest = match &computed {
        None => Check::new(
            CheckState::Unsupported,
            format!("digest algorithm {digest_algorithm} is not supported"),
        ),
        Some(c) if c.as_slice() == signed_digest => Check::ok(),
        Some(_) => Check::new(CheckState::Mismatch, "the file changed after signing"),
    };
    let mut info = SignatureInfo {
        depth,
        signer: None,
        issuer: None,
        signer_subject: None,
        digest_algorithm,
        signed_digest: der::hex_upper(signed_digest),
        computed_digest: computed.as_deref().map(der::hex_upper),
        digest,
        message_digest: Check::new(CheckState::NoSigner, "no SignerInfo"),
        signature: Check::new(CheckState::NoSigner, "no SignerInfo"),
        chain: ChainReport::not_checked("no signer"),
        timestamp: Timestamp::none(),
        page_hashes: page_hash_check(content, digests),
        signing_time: None,
        signing_time_source: None,
        certificates: sd.certificates.len(),
        trust: SignatureTrust::BadSignature,
        reason: String::new(),
    };
    let mut nested = Vec::new();
    if sd.signer_infos.len() != 1 {
        let what = if sd.signer_infos.is_empty() {
            "no SignerInfo (signerInfos is empty)".to_string()
        } else {
            format!(
                "{} SignerInfos (Authenticode allows exactly one)",
                sd.signer_infos.len()
            )
        };
        info.message_digest = Check::new(CheckState::NoSigner, what.clone());
        info.signature = Check::new(CheckState::NoSigner, what.clone());
        info.chain = ChainReport::not_checked(&what);
        info.judge();
        return Ok((info, nested));
    }
    let si = &sd.signer_infos[0];
    let check = pkcs7::verify_signer(&sd, si, raw_content.value);
    if let Some(cert) = check.certificate {
        info.signer = Some(pkcs7::common_name(&cert.subject));
        info.issuer = Some(pkcs7::common_name(&cert.issuer));
        info.signer_subject = Some(pkcs7::name_string(&cert.subject));
    } else if let Some(issuer) = &si.issuer {
        info.issuer = Some(pkcs7::common_name(issuer));
    }
    info.message_digest = check.message_digest;
    info.signature = check.signature;
    if let Some(t) = pkcs7::attributes(si.signed_attrs)
        .into_iter()
        .find(|a| a.oid == pkcs7::OID_SIGNING_TIME)
        .and_then(|a| a.values.first().and_then(|v| v.time().ok()))
    {
        info.signing_time = Some(t);
        info.signing_time_source = Some("signing-time");
    }
    for attr in pkcs7::attributes(si.unsigned_attrs) {
        if attr.oid == pkcs7::OID_NESTED_SIGNATURE {
            nested.extend(attr.values);
        }
    }
    info.timestamp = timestamp_of(&sd, si, roots);
    if let Some(t) = &info.timestamp.time {
        info.signing_time = Some(t.clone());
        info.signing_time_source = info.timestamp.kind;
    }
    info.chain = match check.certificate {
        Some(c) => roots.check_chain(
            c,
            &sd.certificates,
            Purpose::KernelCode,
            info.timestamp.verified_time(),
        ),
        None => ChainReport::not_checked("the signer's certificate is not in the signature"),
    };
    info.judge();
    Ok((info, nested))
}

/// The page hashes a signature carries, checked against the file (osslsigncode's layout: one
/// entry per page of headers and section raw data, each page zero-padded, then a final entry
/// with the end offset and a zero hash).
fn page_hash_check(content: Tlv<'_>, digests: &ImageDigests<'_>) -> Check {
    let Some((alg, stored)) = find_page_hashes(content) else {
        return Check {
            state: CheckState::None,
            detail: None,
        };
    };
    match compute_page_hashes(digests.bytes, digests.layout, alg) {
        None => Check::new(
            CheckState::Unsupported,
            "the image's page layout cannot be hashed",
        ),
        Some(c) if c == stored => Check::ok(),
        Some(c) => {
            let width = 4 + if alg == "sha1" { 20 } else { 32 };
            let first = c
                .chunks(width)
                .zip(stored.chunks(width))
                .position(|(a, b)| a != b)
                .unwrap_or(c.len().min(stored.len()) / width);
            Check::new(
                CheckState::Mismatch,
                format!("{alg} page hash entry {first} differs"),
            )
        }
    }
}

/// `SpcIndirectDataContent.data = { SPC_PE_IMAGE_DATA, SpcPeImageData { flags, file [0]
/// SpcLink } }`, SpcLink `moniker [1] SpcSerializedObject { classId, serializedData }` whose
/// data is a SET of `{ page-hash OID, SET { OCTET STRING } }`.
fn find_page_hashes<'a>(content: Tlv<'a>) -> Option<(&'static str, &'a [u8])> {
    let data = content.children().next_tlv().ok()??;
    let mut d = data.children();
    d.next_tlv().ok()?; // type
    let image_data = d.next_tlv().ok()??;
    let mut r = image_data.children();
    let mut link = None;
    while let Ok(Some(t)) = r.next_tlv() {
        if t.tag == der::ctx(0) {
            link = Some(t);
        }
    }
    let link = link?;
    let moniker = link.children().next_tlv().ok()??;
    if moniker.tag != 0xa1 {
        return None;
    }
    let mut m = moniker.children();
    let class = m.next_tlv().ok()??;
    if class.value != PAGE_HASH_CLASS_ID {
        return None;
    }
    let serialized = m.next_tlv().ok()??;
    let set = der::parse(serialized.value, serialized.value_offset()).ok()?;
    let mut sr = set.children();
    while let Ok(Some(attr)) = sr.next_tlv() {
        let mut a = attr.children();
        let oid = a.next_tlv().ok()??.oid().ok()?;
        let alg = match oid.as_str() {
            OID_SPC_PE_IMAGE_PAGE_HASHES_V1 => "sha1",
            OID_SPC_PE_IMAGE_PAGE_HASHES_V2 => "sha256",
            _ => continue,
        };
        let values = a.next_tlv().ok()??;
        let hashes = values.children().next_tlv().ok()??;
        return Some((alg, hashes.value));
    }
    None
}

/// Page hashes of an image as signtool writes them (pages of SectionAlignment bytes).
pub fn compute_page_hashes(bytes: &[u8], layout: &PeLayout, alg: &str) -> Option<Vec<u8>> {
    let opt = layout.checksum_offset.checked_sub(64)?;
    let page = usize::try_from(crate::le::u32_at(bytes, opt + 32)?).ok()?;
    if !(512..=0x10_0000).contains(&page) || layout.size_of_headers > page {
        return None;
    }
    let zeros = vec![0u8; page];
    let mut out = Vec::new();
    let hash_parts = |parts: &[&[u8]]| -> Option<Vec<u8>> {
        let joined: Vec<u8> = parts.concat();
        pkcs7::digest(alg, &joined)
    };
    // The header page, without the checksum and the certificate table entry.
    let hdr = bytes.get(..layout.size_of_headers)?;
    let cs = layout.checksum_offset;
    let sec = layout
        .security_entry_offset
        .unwrap_or(layout.size_of_headers);
    let h = hash_parts(&[
        hdr.get(..cs)?,
        hdr.get(cs + 4..sec)?,
        hdr.get((sec + 8).min(hdr.len())..)?,
        &zeros[..page - layout.size_of_headers],
    ])?;
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&h);
    for &(ptr, size) in &layout.sections {
        let mut l = 0;
        while l < size {
            let n = (size - l).min(page);
            let chunk = bytes.get(ptr + l..ptr + l + n)?;
            let h = hash_parts(&[chunk, &zeros[..page - n]])?;
            out.extend_from_slice(&u32::try_from(ptr + l).ok()?.to_le_bytes());
            out.extend_from_slice(&h);
            l += page;
        }
    }
    let end = layout.cert_table.map_or(bytes.len(), |(off, _)| off);
    out.extend_from_slice(&u32::try_from(end).ok()?.to_le_bytes());
    out.extend(std::iter::repeat_n(0u8, pkcs7::digest(alg, b"")?.len()));
    Some(out)
}

/// The first timestamp of a signer (RFC 3161 or countersignature), verified.
pub(crate) fn timestamp_of(
    sd: &SignedData<'_>,
    si: &pkcs7::SignerInfo<'_>,
    roots: &RootStore,
) -> Timestamp {
    for attr in pkcs7::attributes(si.unsigned_attrs) {
        let Some(v) = attr.values.first() else {
            continue;
        };
        match attr.oid.as_str() {
            pkcs7::OID_RFC3161_TIMESTAMP => return rfc3161_timestamp(*v, si.signature, roots),
            pkcs7::OID_COUNTERSIGNATURE => return countersignature(*v, sd, si.signature, roots),
            _ => {}
        }
    }
    Timestamp::none()
}

/// An RFC 3161 timestamp token (RFC 3161 §2.4.2): its signer's signature over the TSTInfo,
/// the TSTInfo's messageImprint of the timestamped signature, and the authority's chain.
fn rfc3161_timestamp(token: Tlv<'_>, signed: &[u8], roots: &RootStore) -> Timestamp {
    let mut ts = Timestamp {
        state: TimestampState::Unverified,
        time: None,
        kind: Some("rfc3161"),
        authority: None,
        detail: None,
    };
    let sd = match pkcs7::parse_content_info_tlv(token) {
        Ok(sd) => sd,
        Err(e) => {
            ts.detail = Some(format!("timestamp token: {e}"));
            return ts;
        }
    };
    let Some(content) = sd.content else {
        ts.detail = Some("the token carries no TSTInfo".into());
        return ts;
    };
    let tst = if content.tag == der::OCTET_STRING {
        der::parse(content.value, content.value_offset()).ok()
    } else {
        Some(content)
    };
    let parsed = tst.and_then(|tst| {
        let mut r = tst.children();
        r.expect_tag(der::INTEGER, "version").ok()?;
        r.expect_tag(der::OID, "policy").ok()?;
        let imprint = r.expect_tag(der::SEQUENCE, "messageImprint").ok()?;
        r.expect_tag(der::INTEGER, "serialNumber").ok()?;
        let time = r.any("genTime").ok()?.time().ok()?;
        let mut i = imprint.children();
        let alg = pkcs7::algorithm_oid(i.expect_tag(der::SEQUENCE, "hashAlgorithm").ok()?).ok()?;
        let hashed = i.expect_tag(der::OCTET_STRING, "hashedMessage").ok()?.value;
        Some((time, alg, hashed))
    });
    let Some((time, imprint_alg, imprint)) = parsed else {
        ts.detail = Some("the TSTInfo cannot be read".into());
        return ts;
    };
    ts.time = Some(time);
    let imprint_ok =
        pkcs7::digest(pkcs7::digest_name(&imprint_alg), signed).is_some_and(|h| h == imprint);
    finish_timestamp(
        ts,
        &sd,
        sd.signer_infos.first(),
        content.value,
        imprint_ok,
        roots,
    )
}

/// A PKCS#9 countersignature: a SignerInfo whose messageDigest covers the signature it
/// timestamps, signed by a certificate of the outer SignedData.
fn countersignature(
    si: Tlv<'_>,
    outer: &SignedData<'_>,
    signed: &[u8],
    roots: &RootStore,
) -> Timestamp {
    let mut ts = Timestamp {
        state: TimestampState::Unverified,
        time: None,
        kind: Some("countersignature"),
        authority: None,
        detail: None,
    };
    let si = match pkcs7::parse_signer_info(si) {
        Ok(si) => si,
        Err(e) => {
            ts.detail = Some(format!("countersignature: {e}"));
            return ts;
        }
    };
    ts.time = pkcs7::attributes(si.signed_attrs)
        .into_iter()
        .find(|a| a.oid == pkcs7::OID_SIGNING_TIME)
        .and_then(|a| a.values.first().and_then(|v| v.time().ok()));
    if ts.time.is_none() {
        ts.detail = Some("the countersignature states no signingTime".into());
        return ts;
    }
    // The messageDigest check below is the imprint: it covers the timestamped signature.
    finish_timestamp(ts, outer, Some(&si), signed, true, roots)
}

fn finish_timestamp(
    mut ts: Timestamp,
    sd: &SignedData<'_>,
    si: Option<&pkcs7::SignerInfo<'_>>,
    covered: &[u8],
    imprint_ok: bool,
    roots: &RootStore,
) -> Timestamp {
    let Some(si) = si else {
        ts.detail = Some("the timestamp has no signer".into());
        return ts;
    };
    let check = pkcs7::verify_signer(sd, si, covered);
    if let Some(c) = check.certificate {
        ts.authority = Some(pkcs7::common_name(&c.subject));
    }
    if !imprint_ok {
        ts.detail = Some("its imprint is not of this signature".into());
        return ts;
    }
    if !check.message_digest.is_ok() {
        ts.detail = Some(format!(
            "message digest {}",
            check.message_digest.describe()
        ));
        return ts;
    }
    if !check.signature.is_ok() {
        ts.detail = Some(format!("signature {}", check.signature.describe()));
        return ts;
    }
    let Some(cert) = check.certificate else {
        ts.detail = Some("the timestamp's certificate is not carried".into());
        return ts;
    };
    let chain = roots.check_chain(
        cert,
        &sd.certificates,
        Purpose::Timestamp,
        ts.time.as_deref(),
    );
    if chain.status != ChainStatus::Verified {
        ts.detail = Some(format!("authority chain {}", chain.describe()));
        return ts;
    }
    ts.state = TimestampState::Verified;
    ts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = value.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let b = len.to_be_bytes();
            let skip = b.iter().take_while(|x| **x == 0).count();
            out.push(0x80 | (b.len() - skip) as u8);
            out.extend_from_slice(&b[skip..]);
        }
        out.extend_from_slice(value);
        out
    }

    fn oid(dotted: &str) -> Vec<u8> {
        tlv(der::OID, &der::oid_bytes(dotted))
    }

    /// An RFC 3161 token over `signed` with the given signerInfos content.
    fn token(signed: &[u8], signer_infos: &[u8]) -> Vec<u8> {
        let imprint = pkcs7::digest("sha256", signed).expect("sha256");
        let tst = tlv(
            0x30,
            &[
                tlv(der::INTEGER, &[1]),
                oid("1.2.3.4"),
                tlv(
                    0x30,
                    &[
                        tlv(0x30, &[oid("2.16.840.1.101.3.4.2.1"), vec![5, 0]].concat()),
                        tlv(der::OCTET_STRING, &imprint),
                    ]
                    .concat(),
                ),
                tlv(der::INTEGER, &[7]),
                tlv(der::GENERALIZED_TIME, b"20240101120000Z"),
            ]
            .concat(),
        );
        let sd = tlv(
            0x30,
            &[
                tlv(der::INTEGER, &[3]),
                tlv(der::SET, &[]),
                tlv(
                    0x30,
                    &[
                        oid(pkcs7::OID_TST_INFO),
                        tlv(0xa0, &tlv(der::OCTET_STRING, &tst)),
                    ]
                    .concat(),
                ),
                tlv(der::SET, signer_infos),
            ]
            .concat(),
        );
        tlv(
            0x30,
            &[oid(pkcs7::OID_SIGNED_DATA), tlv(0xa0, &sd)].concat(),
        )
    }

    #[test]
    fn an_rfc3161_timestamp_without_a_signer_is_unverified() {
        let roots = RootStore::builtin();
        let bytes = token(b"the signature", &[]);
        let t = rfc3161_timestamp(
            der::parse(&bytes, 0).expect("der"),
            b"the signature",
            &roots,
        );
        assert_eq!(t.state, TimestampState::Unverified);
        assert_eq!(t.time.as_deref(), Some("2024-01-01T12:00:00Z"));
        assert_eq!(t.detail.as_deref(), Some("the timestamp has no signer"));
        assert_eq!(t.verified_time(), None, "an unverified time is never used");
        // Its imprint of another signature: unverified whatever else holds.
        let t = rfc3161_timestamp(der::parse(&bytes, 0).expect("der"), b"another", &roots);
        assert_eq!(t.state, TimestampState::Unverified);
        assert!(
            t.describe().starts_with("UNVERIFIED 2024-01-01T12:00:00Z"),
            "{}",
            t.describe()
        );
    }
}
