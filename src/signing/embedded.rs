//! Embedded Authenticode signatures: the certificate table of a PE image (WIN_CERTIFICATE
//! entries, PE/COFF spec "The Attribute Certificate Table"), each a PKCS#7 SignedData over an
//! SpcIndirectDataContent that carries the image digest; nested signatures sit in the unsigned
//! attribute 1.3.6.1.4.1.311.2.4.1, timestamps in 1.2.840.113549.1.9.6 (countersignature) or
//! 1.3.6.1.4.1.311.3.3.1 (RFC 3161). Reference integrity-and-signing.md §3.3c.

use super::authenticode::{self, PeLayout};
use super::chain::{ChainReport, ChainStatus, RootStore};
use super::der::{self, DerResult, Tlv};
use super::{catalog, pkcs7};
use serde::Serialize;

/// WIN_CERT_TYPE_PKCS_SIGNED_DATA.
const WIN_CERT_TYPE_PKCS_SIGNED_DATA: u16 = 0x0002;

/// The embedded signatures of one image.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EmbeddedSignature {
    /// Whether the image carries a certificate table with at least one PKCS#7 signature.
    pub present: bool,
    /// The primary signature first, then nested ones (`depth` > 0) in file order.
    pub signatures: Vec<SignatureInfo>,
    /// What could not be read (the readable part is still reported).
    pub warnings: Vec<String>,
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
    /// Whether the signed digest equals the file's Authenticode digest.
    pub digest_ok: bool,
    /// Whether the signed attributes' messageDigest matches the SpcIndirectDataContent.
    pub message_digest_ok: Option<bool>,
    /// Whether the signer's RSA signature over the signed attributes verifies
    /// (`None`: algorithm not supported or signer certificate absent).
    pub signature_ok: Option<bool>,
    /// The signing time from a timestamp (RFC 3161 or countersignature) or signingTime.
    pub signing_time: Option<String>,
    /// Where the signing time came from: `rfc3161`, `countersignature` or `signing-time`.
    pub signing_time_source: Option<&'static str>,
    /// The chain check, when roots were given.
    pub chain: Option<ChainReport>,
    /// Number of certificates carried.
    pub certificates: usize,
}

impl EmbeddedSignature {
    /// The primary signature.
    pub fn primary(&self) -> Option<&SignatureInfo> {
        self.signatures.first()
    }

    /// Whether the primary signature is intact: digest, messageDigest and RSA signature
    /// (those that could be checked) all match.
    pub fn intact(&self) -> bool {
        self.primary().is_some_and(|s| {
            s.digest_ok && s.message_digest_ok != Some(false) && s.signature_ok != Some(false)
        })
    }
}

/// The embedded signatures of a PE image (no chain check).
pub fn embedded_signature(bytes: &[u8]) -> Result<EmbeddedSignature, authenticode::PeLayoutError> {
    let layout = PeLayout::parse(bytes)?;
    Ok(read_embedded(bytes, &layout, None))
}

/// The embedded signatures with a layout already read, and a chain check when `roots` is given.
pub fn read_embedded(
    bytes: &[u8],
    layout: &PeLayout,
    roots: Option<&RootStore>,
) -> EmbeddedSignature {
    let mut out = EmbeddedSignature::default();
    let Some((table_off, table_size)) = layout.cert_table else {
        return out;
    };
    let table = bytes
        .get(table_off..table_off + table_size)
        .unwrap_or_default();
    let mut pos = 0usize;
    // WIN_CERTIFICATE { dwLength u32, wRevision u16, wCertificateType u16, bCertificate[] },
    // each entry padded to 8 bytes.
    while pos + 8 <= table.len() {
        let at = table_off + pos;
        let len = table
            .get(pos..pos + 4)
            .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
        let len = usize::try_from(len).unwrap_or(0);
        let ctype = table
            .get(pos + 6..pos + 8)
            .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]));
        if len < 8 || pos + len > table.len() {
            out.warnings.push(format!(
                "at byte offset {at:#x}: expected a WIN_CERTIFICATE length within the table (found {len})"
            ));
            break;
        }
        if ctype == WIN_CERT_TYPE_PKCS_SIGNED_DATA {
            let blob = table.get(pos + 8..pos + len).unwrap_or_default();
            match der::parse(blob, at + 8) {
                Ok(ci) => {
                    out.present = true;
                    read_signature(ci, bytes, layout, roots, 0, &mut out);
                }
                Err(e) => out.warnings.push(format!("signature: {e}")),
            }
        } else {
            out.warnings.push(format!(
                "at byte offset {at:#x}: certificate type {ctype:#x} is not PKCS#7 SignedData; skipped"
            ));
        }
        pos += (len + 7) & !7;
    }
    out
}

/// Nested signatures deeper than this are not followed.
const MAX_NESTING: u32 = 4;

fn read_signature(
    ci: Tlv<'_>,
    bytes: &[u8],
    layout: &PeLayout,
    roots: Option<&RootStore>,
    depth: u32,
    out: &mut EmbeddedSignature,
) {
    match signature_info(ci, bytes, layout, roots, depth) {
        Ok((info, nested)) => {
            out.signatures.push(info);
            if depth < MAX_NESTING {
                for n in nested {
                    read_signature(n, bytes, layout, roots, depth + 1, out);
                }
            }
        }
        Err(e) => out.warnings.push(format!("signature (depth {depth}): {e}")),
    }
}

fn signature_info<'a>(
    ci: Tlv<'a>,
    bytes: &[u8],
    layout: &PeLayout,
    roots: Option<&RootStore>,
    depth: u32,
) -> DerResult<(SignatureInfo, Vec<Tlv<'a>>)> {
    let sd = pkcs7::parse_content_info_tlv(ci.expect(der::SEQUENCE, "a ContentInfo SEQUENCE")?)?;
    let content = sd
        .content
        .ok_or_else(|| der::DerError::new(ci.offset, "an SpcIndirectDataContent"))?;
    let content = if content.tag == der::OCTET_STRING {
        der::parse(content.value, content.value_offset())?
    } else {
        content
    };
    let (alg_oid, signed_digest) = catalog::indirect_data_digest(content)?;
    let digest_algorithm = pkcs7::digest_name(&alg_oid).to_string();
    let computed = authenticode::authenticode_digest(bytes, layout, &digest_algorithm);
    let mut info = SignatureInfo {
        depth,
        signer: None,
        issuer: None,
        signer_subject: None,
        digest_algorithm,
        signed_digest: der::hex_upper(signed_digest),
        computed_digest: computed.as_deref().map(der::hex_upper),
        digest_ok: computed.as_deref() == Some(signed_digest),
        message_digest_ok: None,
        signature_ok: None,
        signing_time: None,
        signing_time_source: None,
        chain: None,
        certificates: sd.certificates.len(),
    };
    let mut nested = Vec::new();
    let Some(si) = sd.signer_infos.first() else {
        return Ok((info, nested));
    };
    let cert = sd.signer_certificate(si);
    if let Some(cert) = cert {
        info.signer = Some(pkcs7::common_name(&cert.subject));
        info.issuer = Some(pkcs7::common_name(&cert.issuer));
        info.signer_subject = Some(pkcs7::name_string(&cert.subject));
    } else if let Some(issuer) = &si.issuer {
        info.issuer = Some(pkcs7::common_name(issuer));
    }
    let (md_ok, sig_ok) = pkcs7::verify_signer(&sd, si, &content);
    info.message_digest_ok = md_ok;
    info.signature_ok = sig_ok;
    if let Some(t) = pkcs7::attributes(si.signed_attrs)
        .into_iter()
        .find(|a| a.oid == pkcs7::OID_SIGNING_TIME)
        .and_then(|a| a.values.first().and_then(|v| v.time().ok()))
    {
        info.signing_time = Some(t);
        info.signing_time_source = Some("signing-time");
    }
    for attr in pkcs7::attributes(si.unsigned_attrs) {
        match attr.oid.as_str() {
            pkcs7::OID_RFC3161_TIMESTAMP => {
                if let Some(t) = attr.values.first().and_then(|v| rfc3161_time(*v)) {
                    info.signing_time = Some(t);
                    info.signing_time_source = Some("rfc3161");
                }
            }
            pkcs7::OID_COUNTERSIGNATURE => {
                if let Some(t) = attr.values.first().and_then(|v| countersignature_time(*v)) {
                    info.signing_time = Some(t);
                    info.signing_time_source = Some("countersignature");
                }
            }
            pkcs7::OID_NESTED_SIGNATURE => nested.extend(attr.values),
            _ => {}
        }
    }
    if let Some(roots) = roots {
        info.chain = Some(match cert {
            Some(c) => roots.check_chain(c, &sd.certificates),
            None => ChainReport {
                status: ChainStatus::Incomplete,
                subjects: Vec::new(),
            },
        });
    }
    Ok((info, nested))
}

/// genTime of the TSTInfo inside an RFC 3161 timestamp token (RFC 3161 §2.4.2).
fn rfc3161_time(token: Tlv<'_>) -> Option<String> {
    let sd = pkcs7::parse_content_info_tlv(token).ok()?;
    let content = sd.content?;
    let tst = if content.tag == der::OCTET_STRING {
        der::parse(content.value, content.value_offset()).ok()?
    } else {
        content
    };
    let mut r = tst.children();
    r.expect(der::INTEGER, "version").ok()?;
    r.expect(der::OID, "policy").ok()?;
    r.expect(der::SEQUENCE, "messageImprint").ok()?;
    r.expect(der::INTEGER, "serialNumber").ok()?;
    r.any("genTime").ok()?.time().ok()
}

/// signingTime of a PKCS#9 countersignature (a SignerInfo).
fn countersignature_time(si: Tlv<'_>) -> Option<String> {
    let si = pkcs7::parse_signer_info(si).ok()?;
    pkcs7::attributes(si.signed_attrs)
        .into_iter()
        .find(|a| a.oid == pkcs7::OID_SIGNING_TIME)
        .and_then(|a| a.values.first().and_then(|v| v.time().ok()))
}
