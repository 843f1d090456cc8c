//! RSA signature checks and certificate chains to a set of trusted roots (a PEM file).
//!
//! Chains are built by issuer/subject name through the certificates a signature carries and
//! checked signature by signature (RSA PKCS#1 v1.5, RFC 8017 §8.2). Validity periods are not
//! enforced: Authenticode signatures are judged at their timestamp, and Windows accepts expired
//! catalog signers, so an expired certificate is not a broken chain here.

use super::der::{self, DerError};
use super::pkcs7::{self, Certificate};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The outcome of a chain check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainStatus {
    /// Every link verifies and the last certificate is signed by a given root.
    Verified,
    /// Links verify up to a self-signed certificate that is not among the given roots.
    UntrustedRoot,
    /// An issuer is neither carried by the signature nor among the roots (e.g. kernel
    /// cross-signing to "Microsoft Code Verification Root", which no public store holds).
    Incomplete,
    /// A certificate's signature does not verify with its issuer's key.
    BadSignature,
    /// A key or signature algorithm this checker does not implement (e.g. ECDSA).
    UnsupportedAlgorithm,
    /// No roots were given.
    NotChecked,
}

impl ChainStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChainStatus::Verified => "verified",
            ChainStatus::UntrustedRoot => "untrusted-root",
            ChainStatus::Incomplete => "incomplete",
            ChainStatus::BadSignature => "bad-signature",
            ChainStatus::UnsupportedAlgorithm => "unsupported-algorithm",
            ChainStatus::NotChecked => "not-checked",
        }
    }
}

/// A chain check: status and the subjects from the signer up (the root last when found).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub status: ChainStatus,
    pub subjects: Vec<String>,
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

/// Trusted root certificates (owned DER).
#[derive(Debug, Default, Clone)]
pub struct RootStore {
    roots: Vec<Vec<u8>>,
}

impl RootStore {
    /// Load every `CERTIFICATE` block of a PEM file.
    pub fn from_pem_file(path: &Path) -> Result<RootStore, RootsError> {
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
        let mut roots = Vec::new();
        let mut current: Option<(usize, String)> = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line == "-----BEGIN CERTIFICATE-----" {
                current = Some((i + 1, String::new()));
            } else if line == "-----END CERTIFICATE-----" {
                if let Some((start, b64)) = current.take() {
                    let fail = |what: String| RootsError::Format {
                        path: path.to_path_buf(),
                        index: roots.len(),
                        line: start,
                        what,
                    };
                    let der = crate::text::base64_decode(&b64)
                        .ok_or_else(|| fail("invalid base64".into()))?;
                    let tlv = der::parse(&der, 0).map_err(|e| fail(e.to_string()))?;
                    pkcs7::parse_certificate(tlv).map_err(|e| fail(e.to_string()))?;
                    roots.push(der);
                }
            } else if let Some((_, b64)) = current.as_mut() {
                b64.push_str(line);
            }
        }
        Ok(RootStore { roots })
    }

    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    fn certificates(&self) -> Vec<Certificate<'_>> {
        self.roots
            .iter()
            .filter_map(|d| der::parse(d, 0).ok())
            .filter_map(|t| pkcs7::parse_certificate(t).ok())
            .collect()
    }

    /// Check the chain of `leaf` through `bag` (the signature's certificates) to these roots.
    pub fn check_chain(&self, leaf: &Certificate<'_>, bag: &[Certificate<'_>]) -> ChainReport {
        let roots = self.certificates();
        let mut subjects = vec![pkcs7::common_name(&leaf.subject)];
        let status = walk(leaf, bag, &roots, &mut subjects, 0);
        ChainReport { status, subjects }
    }
}

/// Chains longer than this are refused (real ones have 3-4 links; cross-certificates can loop).
const MAX_CHAIN: usize = 8;

fn walk(
    cert: &Certificate<'_>,
    bag: &[Certificate<'_>],
    roots: &[Certificate<'_>],
    subjects: &mut Vec<String>,
    depth: usize,
) -> ChainStatus {
    if depth > MAX_CHAIN {
        return ChainStatus::Incomplete;
    }
    let mut saw_bad = None;
    for root in roots.iter().filter(|r| r.subject.raw == cert.issuer.raw) {
        match verify_cert(cert, root) {
            Ok(true) => {
                if root.raw != cert.raw {
                    subjects.push(pkcs7::common_name(&root.subject));
                }
                return ChainStatus::Verified;
            }
            Ok(false) => saw_bad = Some(ChainStatus::BadSignature),
            Err(s) => saw_bad = Some(s),
        }
    }
    if cert.subject.raw == cert.issuer.raw {
        // Self-signed and not among the roots.
        return saw_bad.unwrap_or(ChainStatus::UntrustedRoot);
    }
    let mut best = saw_bad.unwrap_or(ChainStatus::Incomplete);
    for issuer in bag
        .iter()
        .filter(|c| c.subject.raw == cert.issuer.raw && c.raw != cert.raw)
    {
        match verify_cert(cert, issuer) {
            Ok(true) => {
                let mut path = subjects.clone();
                path.push(pkcs7::common_name(&issuer.subject));
                let status = walk(issuer, bag, roots, &mut path, depth + 1);
                if status == ChainStatus::Verified || rank(status) < rank(best) {
                    *subjects = path;
                    best = status;
                }
                if status == ChainStatus::Verified {
                    return status;
                }
            }
            Ok(false) => best = ChainStatus::BadSignature,
            Err(s) => {
                if rank(s) < rank(best) {
                    best = s;
                }
            }
        }
    }
    best
}

/// Lower is a more informative outcome when several paths fail.
fn rank(s: ChainStatus) -> u8 {
    match s {
        ChainStatus::Verified => 0,
        ChainStatus::UntrustedRoot => 1,
        ChainStatus::Incomplete => 2,
        ChainStatus::UnsupportedAlgorithm => 3,
        ChainStatus::BadSignature => 4,
        ChainStatus::NotChecked => 5,
    }
}

/// Whether `issuer`'s key verifies `cert`'s signature over its TBSCertificate.
fn verify_cert(cert: &Certificate<'_>, issuer: &Certificate<'_>) -> Result<bool, ChainStatus> {
    let alg = pkcs7::digest_name(&cert.signature_algorithm).to_string();
    rsa_verify(issuer, &alg, cert.tbs, cert.signature)
}

/// RSA PKCS#1 v1.5 verification of `message` (hashed with `digest`) by `signer`'s key.
/// `Err` when the key or digest algorithm is not supported.
pub fn rsa_verify(
    signer: &Certificate<'_>,
    digest: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, ChainStatus> {
    use sha1::Digest;
    if signer.key_algorithm != "1.2.840.113549.1.1.1" {
        return Err(ChainStatus::UnsupportedAlgorithm);
    }
    let key = rsa_key(signer.key).map_err(|_| ChainStatus::UnsupportedAlgorithm)?;
    // DigestInfo prefixes (RFC 8017 §9.2 note 1).
    let (hashed, prefix): (Vec<u8>, &[u8]) = match digest {
        "sha1" => (
            sha1::Sha1::digest(message).to_vec(),
            &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ],
        ),
        "sha256" => (
            sha2::Sha256::digest(message).to_vec(),
            &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
        ),
        "sha384" => (
            sha2::Sha384::digest(message).to_vec(),
            &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
        ),
        "sha512" => (
            sha2::Sha512::digest(message).to_vec(),
            &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        ),
        _ => return Err(ChainStatus::UnsupportedAlgorithm),
    };
    let scheme = rsa::Pkcs1v15Sign {
        hash_len: Some(hashed.len()),
        prefix: prefix.to_vec().into_boxed_slice(),
    };
    Ok(key.verify(scheme, &hashed, signature).is_ok())
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
fn rsa_key(bits: &[u8]) -> Result<rsa::RsaPublicKey, DerError> {
    let seq = der::parse(bits, 0)?.expect(der::SEQUENCE, "an RSAPublicKey SEQUENCE")?;
    let mut r = seq.children();
    let n = r.expect(der::INTEGER, "the modulus")?;
    let e = r.expect(der::INTEGER, "the public exponent")?;
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
    fn base64_round_trip_values() {
        assert_eq!(
            crate::text::base64_decode("TWFu").as_deref(),
            Some(&b"Man"[..])
        );
        assert_eq!(
            crate::text::base64_decode("TWE=").as_deref(),
            Some(&b"Ma"[..])
        );
        assert_eq!(
            crate::text::base64_decode("TQ==\n").as_deref(),
            Some(&b"M"[..])
        );
        assert_eq!(crate::text::base64_decode("T*=="), None);
    }
}
