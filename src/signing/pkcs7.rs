//! PKCS#7 / CMS SignedData as borrowed views: content, certificates and signer infos.
//! Layout: RFC 5652 §5 (SignedData, SignerInfo), RFC 5280 §4.1 (Certificate); Authenticode
//! keeps PKCS#7 v1.5 framing (`content [0] EXPLICIT` holds the inner structure directly).

use super::der::{self, DerError, DerResult, Tlv};

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
    /// SubjectPublicKeyInfo algorithm OID and the key bits (RSAPublicKey DER for RSA).
    pub key_algorithm: String,
    pub key: &'a [u8],
    pub signature_algorithm: String,
    pub signature: &'a [u8],
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
    let ci = der::parse(data, base)?.expect(der::SEQUENCE, "a ContentInfo SEQUENCE")?;
    parse_content_info_tlv(ci)
}

/// As [`parse_content_info`], from an already located ContentInfo element.
pub fn parse_content_info_tlv(ci: Tlv<'_>) -> DerResult<SignedData<'_>> {
    let mut r = ci.children();
    let ty = r.expect(der::OID, "the ContentInfo content type")?;
    let oid = ty.oid()?;
    if oid != OID_SIGNED_DATA {
        return Err(DerError::new(
            ty.offset,
            format!("content type signedData {OID_SIGNED_DATA} (found {oid})"),
        ));
    }
    let wrapper = r.expect(der::ctx(0), "[0] EXPLICIT SignedData")?;
    let sd = wrapper
        .children()
        .expect(der::SEQUENCE, "a SignedData SEQUENCE")?;
    parse_signed_data(sd)
}

fn parse_signed_data(sd: Tlv<'_>) -> DerResult<SignedData<'_>> {
    let mut r = sd.children();
    r.expect(der::INTEGER, "the SignedData version")?;
    r.expect(der::SET, "the digestAlgorithms SET")?;
    let encap = r.expect(der::SEQUENCE, "the encapContentInfo SEQUENCE")?;
    let mut er = encap.children();
    let content_type = er.expect(der::OID, "the eContentType")?.oid()?;
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
    let signers = r.expect(der::SET, "the signerInfos SET")?;
    let mut sr = signers.children();
    while let Some(si) = sr.next_tlv()? {
        out.signer_infos.push(parse_signer_info(
            si.expect(der::SEQUENCE, "a SignerInfo SEQUENCE")?,
        )?);
    }
    Ok(out)
}

/// Parse an X.509 certificate element.
pub fn parse_certificate(c: Tlv<'_>) -> DerResult<Certificate<'_>> {
    let mut r = c.children();
    let tbs = r.expect(der::SEQUENCE, "a TBSCertificate SEQUENCE")?;
    let sig_alg = r.expect(der::SEQUENCE, "the certificate signatureAlgorithm")?;
    let sig = r.expect(der::BIT_STRING, "the certificate signature BIT STRING")?;
    let mut t = tbs.children();
    t.optional(der::ctx(0))?; // version
    let serial = t.expect(der::INTEGER, "the serialNumber")?;
    t.expect(der::SEQUENCE, "the TBS signature algorithm")?;
    let issuer = t.expect(der::SEQUENCE, "the issuer Name")?;
    let validity = t.expect(der::SEQUENCE, "the Validity")?;
    let subject = t.expect(der::SEQUENCE, "the subject Name")?;
    let spki = t.expect(der::SEQUENCE, "the SubjectPublicKeyInfo")?;
    let mut v = validity.children();
    let not_before = v.any("notBefore").ok().and_then(|x| x.time().ok());
    let not_after = v.any("notAfter").ok().and_then(|x| x.time().ok());
    let mut k = spki.children();
    let key_algorithm = algorithm_oid(k.expect(der::SEQUENCE, "the key AlgorithmIdentifier")?)?;
    let key_bits = k.expect(der::BIT_STRING, "the subjectPublicKey BIT STRING")?;
    Ok(Certificate {
        raw: c.raw,
        tbs: tbs.raw,
        serial: serial.value,
        issuer,
        subject,
        not_before,
        not_after,
        key_algorithm,
        key: key_bits.value.get(1..).unwrap_or_default(),
        signature_algorithm: algorithm_oid(sig_alg)?,
        signature: sig.value.get(1..).unwrap_or_default(),
    })
}

pub(crate) fn parse_signer_info(si: Tlv<'_>) -> DerResult<SignerInfo<'_>> {
    let mut r = si.children();
    r.expect(der::INTEGER, "the SignerInfo version")?;
    let sid = r.any("the signer identifier")?;
    let (issuer, serial) = if sid.tag == der::SEQUENCE {
        let mut s = sid.children();
        let issuer = s.expect(der::SEQUENCE, "the signer's issuer Name")?;
        let serial = s.expect(der::INTEGER, "the signer's serialNumber")?;
        (Some(issuer), Some(serial.value))
    } else {
        // [0] SubjectKeyIdentifier: no issuer/serial to match by.
        (None, None)
    };
    let digest_algorithm = algorithm_oid(r.expect(der::SEQUENCE, "the digestAlgorithm")?)?;
    let signed_attrs = r.optional(der::ctx(0))?;
    let signature_algorithm = algorithm_oid(r.expect(der::SEQUENCE, "the signatureAlgorithm")?)?;
    let signature = r
        .expect(der::OCTET_STRING, "the signature OCTET STRING")?
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
        .expect(der::OID, "an algorithm OBJECT IDENTIFIER")?
        .oid()
}

/// The attributes of a `[0]`/`[1]` attribute set (errors in one attribute end the list).
pub fn attributes<'a>(set: Option<Tlv<'a>>) -> Vec<Attribute<'a>> {
    let mut out = Vec::new();
    let Some(set) = set else { return out };
    let mut r = set.children();
    while let Ok(Some(a)) = r.next_tlv() {
        let mut ar = a.children();
        let Ok(oid) = ar.expect(der::OID, "attribute type").and_then(|t| t.oid()) else {
            break;
        };
        let mut values = Vec::new();
        if let Ok(vs) = ar.expect(der::SET, "attribute values") {
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

/// A short name for a digest algorithm OID.
pub fn digest_name(oid: &str) -> &str {
    match oid {
        "1.3.14.3.2.26" | "1.2.840.113549.1.1.5" => "sha1",
        "2.16.840.1.101.3.4.2.1" | "1.2.840.113549.1.1.11" => "sha256",
        "2.16.840.1.101.3.4.2.2" | "1.2.840.113549.1.1.12" => "sha384",
        "2.16.840.1.101.3.4.2.3" | "1.2.840.113549.1.1.13" => "sha512",
        "1.2.840.113549.2.5" | "1.2.840.113549.1.1.4" => "md5",
        other => other,
    }
}

/// The checks of a signer over its content: (messageDigest matches the content, RSA signature
/// over the signed attributes verifies). `None` where it cannot be checked (no signed
/// attributes, no signer certificate, unsupported algorithm).
pub fn verify_signer(
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    content: &Tlv<'_>,
) -> (Option<bool>, Option<bool>) {
    use sha1::Digest;
    let alg = digest_name(&si.digest_algorithm);
    let hashed: Option<Vec<u8>> = match alg {
        "sha1" => Some(sha1::Sha1::digest(content.value).to_vec()),
        "sha256" => Some(sha2::Sha256::digest(content.value).to_vec()),
        "sha384" => Some(sha2::Sha384::digest(content.value).to_vec()),
        "sha512" => Some(sha2::Sha512::digest(content.value).to_vec()),
        _ => None,
    };
    let message_digest_ok = attributes(si.signed_attrs)
        .into_iter()
        .find(|a| a.oid == OID_MESSAGE_DIGEST)
        .and_then(|a| a.values.first().map(|v| v.value.to_vec()))
        .and_then(|v| hashed.as_ref().map(|h| *h == v));
    let signature_ok = match (sd.signer_certificate(si), si.signed_attrs) {
        (Some(cert), Some(attrs)) => {
            // The signature covers the DER SET OF the attributes, not their [0] IMPLICIT form.
            let mut msg = attrs.raw.to_vec();
            if let Some(first) = msg.first_mut() {
                *first = der::SET;
            }
            super::chain::rsa_verify(cert, alg, &msg, si.signature).ok()
        }
        _ => None,
    };
    (message_digest_ok, signature_ok)
}
