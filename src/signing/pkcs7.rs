//! PKCS#7 / CMS SignedData as borrowed views: content, certificates and signer infos.
//! Layout: RFC 5652 §5 (SignedData, SignerInfo), RFC 5280 §4.1 (Certificate); Authenticode
//! keeps PKCS#7 v1.5 framing (`content [0] EXPLICIT` holds the inner structure directly).

use super::der::{self, DerError, DerResult, Tlv};
use serde::Serialize;

pub const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
pub const OID_CTL: &str = "1.3.6.1.4.1.311.10.1";
pub const OID_SPC_INDIRECT_DATA: &str = "1.3.6.1.4.1.311.2.1.4";
pub const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
pub const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
pub const OID_COUNTERSIGNATURE: &str = "1.2.840.113549.1.9.6";
pub const OID_RFC3161_TIMESTAMP: &str = "1.3.6.1.4.1.311.3.3.1";
pub const OID_NESTED_SIGNATURE: &str = "1.3.6.1.4.1.311.2.4.1";
pub const OID_TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";

/// A SignedData structure, borrowed from the file bytes.
#[derive(Debug, Clone)]
pub struct SignedData<'a> {
    /// Dotted OID of the encapsulated content (CTL for catalogs, SPC_INDIRECT_DATA for PE).
    pub content_type: String,
    /// The encapsulated content element (the CTL or SpcIndirectDataContent SEQUENCE, or the
    /// OCTET STRING wrapping it in CMS framing).
    pub content: Option<Tlv<'a>>,
    pub certificates: Vec<Certificate<'a>>,
    pub signer_infos: Vec<SignerInfo<'a>>,
    /// Certificates that could not be read, with why (kept, not fatal).
    pub warnings: Vec<String>,
}

/// A certificate's parts needed for names and chain checks.
#[derive(Debug, Clone)]
pub struct Certificate<'a> {
    pub raw: &'a [u8],
    /// The whole TBSCertificate element (what the issuer signed).
    pub tbs: &'a [u8],
    pub serial: &'a [u8],
    /// DER of the issuer and subject Names (compared byte-wise when building chains).
    pub issuer: Tlv<'a>,
    pub subject: Tlv<'a>,
    pub not_before: Option<String>,
    pub not_after: Option<String>,
    /// SubjectPublicKeyInfo algorithm OID and the key bits (RSAPublicKey DER for RSA, the SEC1
    /// point for EC keys).
    pub key_algorithm: String,
    /// The named curve of an EC key (`1.2.840.10045.3.1.7` P-256, `1.3.132.0.34` P-384).
    pub key_curve: Option<String>,
    pub key: &'a [u8],
    pub signature_algorithm: String,
    pub signature: &'a [u8],
    /// X.509 version (1 or 3; v1 certificates carry no extensions).
    pub version: u8,
    /// basicConstraints cA (RFC 5280 §4.2.1.9); `None` when the extension is absent.
    pub is_ca: Option<bool>,
    /// keyUsage bits (RFC 5280 §4.2.1.3, bit 0 = digitalSignature is the lowest bit here).
    pub key_usage: Option<u16>,
    /// extKeyUsage OIDs (RFC 5280 §4.2.1.12); `None` when absent (any usage, as CryptoAPI reads it).
    pub ext_key_usage: Option<Vec<String>>,
    /// Critical extensions this reader does not know (RFC 5280: the certificate must be refused).
    pub unknown_critical: Vec<String>,
}

impl Certificate<'_> {
    /// SHA-1 of the whole certificate (the "thumbprint" Windows shows and pins).
    pub fn sha1_thumbprint(&self) -> [u8; 20] {
        use sha1::Digest;
        sha1::Sha1::digest(self.raw).into()
    }

    /// Whether the certificate names itself as its issuer.
    pub fn is_self_issued(&self) -> bool {
        self.subject.raw == self.issuer.raw
    }
}

/// One signer.
#[derive(Debug, Clone)]
pub struct SignerInfo<'a> {
    pub issuer: Option<Tlv<'a>>,
    pub serial: Option<&'a [u8]>,
    pub digest_algorithm: String,
    /// The `[0] IMPLICIT` signed attributes element, if present.
    pub signed_attrs: Option<Tlv<'a>>,
    pub signature_algorithm: String,
    pub signature: &'a [u8],
    pub unsigned_attrs: Option<Tlv<'a>>,
}

/// An attribute: type OID and its values.
pub struct Attribute<'a> {
    pub oid: String,
    pub values: Vec<Tlv<'a>>,
}

/// Parse `ContentInfo { signedData, [0] SignedData }` starting at absolute offset `base`.
pub fn parse_content_info(data: &[u8], base: usize) -> DerResult<SignedData<'_>> {
    let ci = der::parse(data, base)?.expect_tag(der::SEQUENCE, "a ContentInfo SEQUENCE")?;
    parse_content_info_tlv(ci)
}

/// As [`parse_content_info`], from an already located ContentInfo element.
pub fn parse_content_info_tlv(ci: Tlv<'_>) -> DerResult<SignedData<'_>> {
    let mut r = ci.children();
    let ty = r.expect_tag(der::OID, "the ContentInfo content type")?;
    let oid = ty.oid()?;
    if oid != OID_SIGNED_DATA {
        return Err(DerError::new(
            ty.offset,
            format!("content type signedData {OID_SIGNED_DATA} (found {oid})"),
        ));
    }
    let wrapper = r.expect_tag(der::ctx(0), "[0] EXPLICIT SignedData")?;
    let sd = wrapper
        .children()
        .expect_tag(der::SEQUENCE, "a SignedData SEQUENCE")?;
    parse_signed_data(sd)
}

fn parse_signed_data(sd: Tlv<'_>) -> DerResult<SignedData<'_>> {
    let mut r = sd.children();
    r.expect_tag(der::INTEGER, "the SignedData version")?;
    r.expect_tag(der::SET, "the digestAlgorithms SET")?;
    let encap = r.expect_tag(der::SEQUENCE, "the encapContentInfo SEQUENCE")?;
    let mut er = encap.children();
    let content_type = er.expect_tag(der::OID, "the eContentType")?.oid()?;
    let content = match er.optional(der::ctx(0))? {
        Some(explicit) => explicit.children().next_tlv()?,
        None => None,
    };
    let mut out = SignedData {
        content_type,
        content,
        certificates: Vec::new(),
        signer_infos: Vec::new(),
        warnings: Vec::new(),
    };
    if let Some(certs) = r.optional(der::ctx(0))? {
        let mut cr = certs.children();
        while let Some(c) = cr.next_tlv()? {
            // CertificateChoices: only plain certificates (SEQUENCE) are used; others are skipped.
            if c.tag != der::SEQUENCE {
                continue;
            }
            match parse_certificate(c) {
                Ok(cert) => out.certificates.push(cert),
                Err(e) => out.warnings.push(format!("certificate skipped: {e}")),
            }
        }
    }
    // CRLs are not used.
    r.optional(der::ctx(1))?;
    let signers = r.expect_tag(der::SET, "the signerInfos SET")?;
    let mut sr = signers.children();
    while let Some(si) = sr.next_tlv()? {
        out.signer_infos.push(parse_signer_info(
            si.expect_tag(der::SEQUENCE, "a SignerInfo SEQUENCE")?,
        )?);
    }
    Ok(out)
}

/// Parse an X.509 certificate element.
pub fn parse_certificate(c: Tlv<'_>) -> DerResult<Certificate<'_>> {
    let mut r = c.children();
    let tbs = r.expect_tag(der::SEQUENCE, "a TBSCertificate SEQUENCE")?;
    let sig_alg = r.expect_tag(der::SEQUENCE, "the certificate signatureAlgorithm")?;
    let sig = r.expect_tag(der::BIT_STRING, "the certificate signature BIT STRING")?;
    let mut t = tbs.children();
    let version = match t.optional(der::ctx(0))? {
        Some(v) => v
            .children()
            .expect_tag(der::INTEGER, "the certificate version")?
            .small_uint()
            .map(|n| u8::try_from(n + 1).unwrap_or(u8::MAX))?,
        None => 1,
    };
    let serial = t.expect_tag(der::INTEGER, "the serialNumber")?;
    t.expect_tag(der::SEQUENCE, "the TBS signature algorithm")?;
    let issuer = t.expect_tag(der::SEQUENCE, "the issuer Name")?;
    let validity = t.expect_tag(der::SEQUENCE, "the Validity")?;
    let subject = t.expect_tag(der::SEQUENCE, "the subject Name")?;
    let spki = t.expect_tag(der::SEQUENCE, "the SubjectPublicKeyInfo")?;
    let mut v = validity.children();
    let not_before = v.any("notBefore").ok().and_then(|x| x.time().ok());
    let not_after = v.any("notAfter").ok().and_then(|x| x.time().ok());
    let mut k = spki.children();
    let key_alg = k.expect_tag(der::SEQUENCE, "the key AlgorithmIdentifier")?;
    let key_algorithm = algorithm_oid(key_alg)?;
    let key_curve = {
        let mut a = key_alg.children();
        a.next_tlv()?;
        match a.next_tlv() {
            Ok(Some(p)) if p.tag == der::OID => p.oid().ok(),
            _ => None,
        }
    };
    let key_bits = k.expect_tag(der::BIT_STRING, "the subjectPublicKey BIT STRING")?;
    // issuerUniqueID [1], subjectUniqueID [2], extensions [3].
    let mut is_ca = None;
    let mut key_usage = None;
    let mut ext_key_usage = None;
    let mut unknown_critical = Vec::new();
    while let Some(x) = t.next_tlv()? {
        if x.tag != der::ctx(3) {
            continue;
        }
        let exts = x
            .children()
            .expect_tag(der::SEQUENCE, "the Extensions SEQUENCE")?;
        let mut er = exts.children();
        while let Some(ext) = er.next_tlv()? {
            let mut f = ext.children();
            let id = f.expect_tag(der::OID, "an extension id")?.oid()?;
            let critical = match f.optional(der::BOOLEAN)? {
                Some(b) => b.value.first().is_some_and(|v| *v != 0),
                None => false,
            };
            let value = f.expect_tag(der::OCTET_STRING, "an extension value")?;
            let inner = der::parse(value.value, value.value_offset())?;
            match id.as_str() {
                "2.5.29.19" => {
                    let mut b = inner.children();
                    is_ca = Some(match b.optional(der::BOOLEAN)? {
                        Some(v) => v.value.first().is_some_and(|v| *v != 0),
                        None => false,
                    });
                }
                "2.5.29.15" => {
                    let bits = inner.expect_tag(der::BIT_STRING, "keyUsage bits")?.value;
                    // First content byte: unused bits; then bit 0 is the MSB of the next byte.
                    let b0 = bits.get(1).copied().unwrap_or(0);
                    let b1 = bits.get(2).copied().unwrap_or(0);
                    let raw = (u16::from(b0) << 8) | u16::from(b1);
                    key_usage = Some(raw.reverse_bits());
                }
                "2.5.29.37" => {
                    let mut list = Vec::new();
                    let mut r = inner.children();
                    while let Some(o) = r.next_tlv()? {
                        list.push(o.oid()?);
                    }
                    ext_key_usage = Some(list);
                }
                // Known and harmless for chain building: key identifiers, policies, names,
                // CRL/AIA pointers, Microsoft's template/application-policy extensions.
                "2.5.29.14"
                | "2.5.29.35"
                | "2.5.29.32"
                | "2.5.29.17"
                | "2.5.29.18"
                | "2.5.29.31"
                | "1.3.6.1.5.5.7.1.1"
                | "2.5.29.30"
                | "2.5.29.36"
                | "2.5.29.54"
                | "1.3.6.1.4.1.311.21.10"
                | "1.3.6.1.4.1.311.21.7"
                | "1.3.6.1.4.1.311.21.1"
                | "1.3.6.1.4.1.311.20.2" => {}
                other => {
                    if critical {
                        unknown_critical.push(other.to_string());
                    }
                }
            }
        }
    }
    Ok(Certificate {
        raw: c.raw,
        tbs: tbs.raw,
        serial: serial.value,
        issuer,
        subject,
        not_before,
        not_after,
        key_algorithm,
        key_curve,
        key: key_bits.value.get(1..).unwrap_or_default(),
        signature_algorithm: algorithm_oid(sig_alg)?,
        signature: sig.value.get(1..).unwrap_or_default(),
        version,
        is_ca,
        key_usage,
        ext_key_usage,
        unknown_critical,
    })
}

pub(crate) fn parse_signer_info(si: Tlv<'_>) -> DerResult<SignerInfo<'_>> {
    let mut r = si.children();
    r.expect_tag(der::INTEGER, "the SignerInfo version")?;
    let sid = r.any("the signer identifier")?;
    let (issuer, serial) = if sid.tag == der::SEQUENCE {
        let mut s = sid.children();
        let issuer = s.expect_tag(der::SEQUENCE, "the signer's issuer Name")?;
        let serial = s.expect_tag(der::INTEGER, "the signer's serialNumber")?;
        (Some(issuer), Some(serial.value))
    } else {
        // [0] SubjectKeyIdentifier: no issuer/serial to match by.
        (None, None)
    };
    let digest_algorithm = algorithm_oid(r.expect_tag(der::SEQUENCE, "the digestAlgorithm")?)?;
    let signed_attrs = r.optional(der::ctx(0))?;
    let signature_algorithm =
        algorithm_oid(r.expect_tag(der::SEQUENCE, "the signatureAlgorithm")?)?;
    let signature = r
        .expect_tag(der::OCTET_STRING, "the signature OCTET STRING")?
        .value;
    let unsigned_attrs = r.optional(der::ctx(1))?;
    Ok(SignerInfo {
        issuer,
        serial,
        digest_algorithm,
        signed_attrs,
        signature_algorithm,
        signature,
        unsigned_attrs,
    })
}

/// The OID of an AlgorithmIdentifier SEQUENCE.
pub fn algorithm_oid(alg: Tlv<'_>) -> DerResult<String> {
    alg.children()
        .expect_tag(der::OID, "an algorithm OBJECT IDENTIFIER")?
        .oid()
}

/// The attributes of a `[0]`/`[1]` attribute set (errors in one attribute end the list).
pub fn attributes<'a>(set: Option<Tlv<'a>>) -> Vec<Attribute<'a>> {
    let mut out = Vec::new();
    let Some(set) = set else { return out };
    let mut r = set.children();
    while let Ok(Some(a)) = r.next_tlv() {
        let mut ar = a.children();
        let Ok(oid) = ar
            .expect_tag(der::OID, "attribute type")
            .and_then(|t| t.oid())
        else {
            break;
        };
        let mut values = Vec::new();
        if let Ok(vs) = ar.expect_tag(der::SET, "attribute values") {
            let mut vr = vs.children();
            while let Ok(Some(v)) = vr.next_tlv() {
                values.push(v);
            }
        }
        out.push(Attribute { oid, values });
    }
    out
}

impl<'a> SignedData<'a> {
    /// The certificate a signer info names (issuer + serial).
    pub fn signer_certificate(&self, si: &SignerInfo<'a>) -> Option<&Certificate<'a>> {
        let (issuer, serial) = (si.issuer?, si.serial?);
        self.certificates
            .iter()
            .find(|c| c.serial == serial && c.issuer.raw == issuer.raw)
    }
}

/// A Name as `CN=…, O=…` in the order written (RFC 4514 order is reversed; sigcheck and
/// osslsigncode print it as stored, so do we).
pub fn name_string(name: &Tlv<'_>) -> String {
    let mut parts = Vec::new();
    let mut rdns = name.children();
    while let Ok(Some(rdn)) = rdns.next_tlv() {
        let mut atvs = rdn.children();
        while let Ok(Some(atv)) = atvs.next_tlv() {
            let mut r = atv.children();
            let (Ok(t), Ok(v)) = (r.any("type"), r.any("value")) else {
                continue;
            };
            let oid = t.oid().unwrap_or_default();
            let label = match oid.as_str() {
                "2.5.4.3" => "CN".to_string(),
                "2.5.4.6" => "C".to_string(),
                "2.5.4.7" => "L".to_string(),
                "2.5.4.8" => "ST".to_string(),
                "2.5.4.10" => "O".to_string(),
                "2.5.4.11" => "OU".to_string(),
                "2.5.4.5" => "serialNumber".to_string(),
                "1.2.840.113549.1.9.1" => "emailAddress".to_string(),
                _ => oid,
            };
            parts.push(format!("{label}={}", v.text()));
        }
    }
    parts.join(", ")
}

/// The common name of a Name (else its whole string form).
pub fn common_name(name: &Tlv<'_>) -> String {
    let mut rdns = name.children();
    let mut cn = None;
    while let Ok(Some(rdn)) = rdns.next_tlv() {
        let mut atvs = rdn.children();
        while let Ok(Some(atv)) = atvs.next_tlv() {
            let mut r = atv.children();
            if let (Ok(t), Ok(v)) = (r.any("type"), r.any("value"))
                && t.value == [0x55, 0x04, 0x03]
            {
                cn = Some(v.text());
            }
        }
    }
    cn.unwrap_or_else(|| name_string(name))
}

/// A short name for a digest algorithm OID (or a signature algorithm naming one).
pub fn digest_name(oid: &str) -> &str {
    match oid {
        "1.3.14.3.2.26" | "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" | "1.2.840.10045.4.1" => "sha1",
        "2.16.840.1.101.3.4.2.1" | "1.2.840.113549.1.1.11" | "1.2.840.10045.4.3.2" => "sha256",
        "2.16.840.1.101.3.4.2.2" | "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => "sha384",
        "2.16.840.1.101.3.4.2.3" | "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => "sha512",
        "1.2.840.113549.2.5" | "1.2.840.113549.1.1.4" => "md5",
        "1.2.840.113549.2.2" | "1.2.840.113549.1.1.2" => "md2",
        other => other,
    }
}

/// A digest of `data` with a named algorithm; `None` for an algorithm not implemented or
/// refused (MD2/MD5: Windows refuses them for code signing).
pub fn digest(alg: &str, data: &[u8]) -> Option<Vec<u8>> {
    use sha1::Digest;
    match alg {
        "sha1" => Some(sha1::Sha1::digest(data).to_vec()),
        "sha256" => Some(sha2::Sha256::digest(data).to_vec()),
        "sha384" => Some(sha2::Sha384::digest(data).to_vec()),
        "sha512" => Some(sha2::Sha512::digest(data).to_vec()),
        _ => None,
    }
}

/// The state of one check, as shown to the user: never "not false".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckState {
    /// Checked and holds.
    Ok,
    /// Checked: the digests differ.
    Mismatch,
    /// Checked: the signature does not verify.
    Bad,
    /// Could not be checked: an algorithm this checker does not implement or refuses.
    Unsupported,
    /// Could not be checked: the signer's certificate is not carried.
    NoSigner,
    /// Could not be checked: what it needs is absent (no signed attributes, no messageDigest).
    Missing,
    /// Nothing to check (e.g. no page hashes): neither good nor bad.
    None,
}

impl CheckState {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Ok => "ok",
            CheckState::Mismatch => "mismatch",
            CheckState::Bad => "bad",
            CheckState::Unsupported => "unsupported",
            CheckState::NoSigner => "no-signer",
            CheckState::Missing => "missing",
            CheckState::None => "none",
        }
    }
}

/// A check's state and, when it is not `ok`, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub state: CheckState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Check {
    pub fn ok() -> Check {
        Check {
            state: CheckState::Ok,
            detail: None,
        }
    }
    pub fn new(state: CheckState, detail: impl Into<String>) -> Check {
        Check {
            state,
            detail: Some(detail.into()),
        }
    }
    pub fn is_ok(&self) -> bool {
        self.state == CheckState::Ok
    }
    /// `ok`, or `state (detail)`.
    pub fn describe(&self) -> String {
        match &self.detail {
            Some(d) => format!("{} ({d})", self.state.as_str()),
            None => self.state.as_str().to_string(),
        }
    }
}

/// What a signer's checks found: the signed attributes' messageDigest against the content,
/// the signature over the signed attributes, and the certificate that made it.
pub struct SignerCheck<'s, 'a> {
    pub message_digest: Check,
    pub signature: Check,
    pub certificate: Option<&'s Certificate<'a>>,
}

/// Check a signer over `content` (the bytes its messageDigest covers: the content octets of
/// the encapsulated SEQUENCE in PKCS#7 v1.5 framing, of the OCTET STRING in CMS framing).
pub fn verify_signer<'s, 'a>(
    sd: &'s SignedData<'a>,
    si: &SignerInfo<'a>,
    content: &[u8],
) -> SignerCheck<'s, 'a> {
    let alg = digest_name(&si.digest_algorithm).to_string();
    let certificate = sd.signer_certificate(si);
    let Some(attrs) = si.signed_attrs else {
        // Authenticode requires signed attributes (contentType, messageDigest, SpcSpOpusInfo).
        return SignerCheck {
            message_digest: Check::new(CheckState::Missing, "no signed attributes"),
            signature: Check::new(CheckState::Missing, "no signed attributes to verify"),
            certificate,
        };
    };
    let message_digest = match (
        digest(&alg, content),
        attributes(Some(attrs))
            .into_iter()
            .find(|a| a.oid == OID_MESSAGE_DIGEST)
            .and_then(|a| a.values.first().map(|v| v.value.to_vec())),
    ) {
        (None, _) => Check::new(
            CheckState::Unsupported,
            format!("digest algorithm {alg} is not supported"),
        ),
        (_, None) => Check::new(CheckState::Missing, "no messageDigest attribute"),
        (Some(h), Some(v)) if h == v => Check::ok(),
        (Some(_), Some(_)) => Check::new(
            CheckState::Mismatch,
            "the signed messageDigest is not the content's",
        ),
    };
    let signature = match certificate {
        None => Check::new(
            CheckState::NoSigner,
            "the signer's certificate is not in the signature",
        ),
        Some(cert) => {
            // The signature covers the DER SET OF the attributes, not their [0] IMPLICIT form.
            let mut msg = attrs.raw.to_vec();
            if let Some(first) = msg.first_mut() {
                *first = der::SET;
            }
            match super::chain::verify_signature(
                cert,
                &si.signature_algorithm,
                &alg,
                &msg,
                si.signature,
            ) {
                Ok(true) => Check::ok(),
                Ok(false) => Check::new(CheckState::Bad, "the signature does not verify"),
                Err(why) => Check::new(CheckState::Unsupported, why),
            }
        }
    };
    SignerCheck {
        message_digest,
        signature,
        certificate,
    }
}

/// The bytes a messageDigest covers for an encapsulated content element.
pub fn signed_content_bytes<'a>(content: &Tlv<'a>) -> &'a [u8] {
    content.value
}
