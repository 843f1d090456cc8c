//! A catalog (`.cat`) writer: PKCS#7 SignedData whose content is a CTL listing chosen member
//! hashes and file names, laid out as MakeCat writes them (compare `openssl asn1parse` of
//! arduino-drivers/ftdi/ftdibus.cat). Signed by the synthetic test root ([`super::signer`]),
//! which only the process that wrote the catalog trusts; `signed: false` writes an unsigned
//! catalog (SignerInfos empty), which vouches for nothing.

use crate::signing::authenticode::AuthenticodeHashes;

/// Member hash version: v1 catalogs list SHA1 Authenticode hashes, v2 (Windows 8+) SHA256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogVersion {
    V1Sha1,
    V2Sha256,
}

/// How a member was hashed: a PE image (Authenticode) or a flat file (INF, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberKind {
    PeImage,
    FlatFile,
}

/// One member to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSpec {
    /// The digest (20 bytes for v1, 32 for v2).
    pub digest: Vec<u8>,
    /// The "File" name/value.
    pub file: String,
    /// The "OSAttr" name/value (e.g. `2:10.0`).
    pub os_attr: Option<String>,
    pub kind: MemberKind,
}

impl MemberSpec {
    /// A PE image member keyed by its Authenticode hash in the catalog's version.
    pub fn pe(file: &str, hashes: &AuthenticodeHashes, version: CatalogVersion) -> MemberSpec {
        MemberSpec {
            digest: match version {
                CatalogVersion::V1Sha1 => hashes.sha1.to_vec(),
                CatalogVersion::V2Sha256 => hashes.sha256.to_vec(),
            },
            file: file.to_string(),
            os_attr: Some("2:10.0".to_string()),
            kind: MemberKind::PeImage,
        }
    }
}

/// A catalog to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogSpec {
    /// The 16-byte list identifier (MakeCat writes a random GUID).
    pub list_identifier: [u8; 16],
    /// thisUpdate as UTCTime digits `YYMMDDHHMMSSZ`.
    pub this_update: String,
    pub version: CatalogVersion,
    pub members: Vec<MemberSpec>,
    /// Catalog-level name/values (e.g. ("OS", "_v100_X64")).
    pub attributes: Vec<(String, String)>,
    /// Sign with the synthetic test root (SHA-256, RSA); `false` leaves SignerInfos empty.
    pub signed: bool,
}

impl CatalogSpec {
    /// An empty v2 catalog with an identifier derived from `seed`.
    pub fn new(seed: u64, version: CatalogVersion) -> CatalogSpec {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&seed.to_le_bytes());
        id[8..].copy_from_slice(&seed.rotate_left(17).to_be_bytes());
        CatalogSpec {
            list_identifier: id,
            this_update: "240409120000Z".to_string(),
            version,
            members: Vec::new(),
            attributes: vec![("OS".to_string(), "_v100_X64".to_string())],
            signed: true,
        }
    }
}

// OIDs (docs/formats/signing.md §3.3b).
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_CTL: &str = "1.3.6.1.4.1.311.10.1";
const OID_CATALOG_LIST: &str = "1.3.6.1.4.1.311.12.1.1";
const OID_CATALOG_LIST_MEMBER: &str = "1.3.6.1.4.1.311.12.1.2";
const OID_CATALOG_LIST_MEMBER2: &str = "1.3.6.1.4.1.311.12.1.3";
const OID_CAT_NAMEVALUE: &str = "1.3.6.1.4.1.311.12.2.1";
const OID_CAT_MEMBERINFO: &str = "1.3.6.1.4.1.311.12.2.2";
const OID_SPC_INDIRECT_DATA: &str = "1.3.6.1.4.1.311.2.1.4";
const OID_SPC_PE_IMAGE_DATA: &str = "1.3.6.1.4.1.311.2.1.15";
const OID_SPC_CAB_DATA: &str = "1.3.6.1.4.1.311.2.1.25";
const OID_SHA1: &str = "1.3.14.3.2.26";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SIP_PE_IMAGE: &str = "{C689AAB8-8E78-11D0-8C47-00C04FC295EE}";
const SIP_FLAT_FILE: &str = "{DE351A42-8E59-11D0-8C47-00C04FC295EE}";
/// CAT_NAMEVALUE flags MakeCat writes: CRYPTCAT_ATTR_NAMEASCII | DATAASCII | AUTHENTICATED.
const NAMEVALUE_FLAGS: u32 = 0x1001_0001;

/// Write a catalog.
pub fn write_catalog(spec: &CatalogSpec) -> Vec<u8> {
    let (digest_oid, member_alg) = match spec.version {
        CatalogVersion::V1Sha1 => (OID_SHA1, OID_CATALOG_LIST_MEMBER),
        CatalogVersion::V2Sha256 => (OID_SHA256, OID_CATALOG_LIST_MEMBER2),
    };
    let members: Vec<u8> = spec
        .members
        .iter()
        .flat_map(|m| member(m, digest_oid))
        .collect();
    let mut ctl = Vec::new();
    ctl.extend(seq(&oid(OID_CATALOG_LIST)));
    ctl.extend(tlv(0x04, &spec.list_identifier));
    ctl.extend(tlv(0x17, spec.this_update.as_bytes()));
    ctl.extend(seq(&[oid(member_alg), null()].concat()));
    ctl.extend(seq(&members));
    if !spec.attributes.is_empty() {
        let exts: Vec<u8> = spec
            .attributes
            .iter()
            .flat_map(
                |(k, v)| seq(&[oid(OID_CAT_NAMEVALUE), tlv(0x04, &name_value(k, v))].concat()),
            )
            .collect();
        ctl.extend(tlv(0xa0, &seq(&exts)));
    }
    let ctl = seq(&ctl);
    let (certs, signers) = if spec.signed {
        super::signer::trust_synthetic_root();
        let root = super::signer::synthetic_root_der();
        let (issuer, serial) = issuer_and_serial(&root);
        let content_digest =
            crate::signing::pkcs7::digest("sha256", ctl_contents(&ctl)).unwrap_or_default();
        let attrs = vec![
            seq(&[oid("1.2.840.113549.1.9.3"), set(&[oid(OID_CTL)])].concat()),
            seq(&[
                oid("1.2.840.113549.1.9.4"),
                set(&[tlv(0x04, &content_digest)]),
            ]
            .concat()),
        ];
        let signed_attrs = set(&attrs);
        let signature = super::signer::sign_sha256(&signed_attrs);
        let mut implicit = signed_attrs.clone();
        implicit[0] = 0xa0;
        let si = seq(&[
            integer(1),
            seq(&[issuer, serial].concat()),
            seq(&[oid(OID_SHA256), null()].concat()),
            implicit,
            seq(&[oid("1.2.840.113549.1.1.1"), null()].concat()),
            tlv(0x04, &signature),
        ]
        .concat());
        (tlv(0xa0, &root), set(&[si]))
    } else {
        (Vec::new(), set(&[]))
    };
    let signed_data = seq(&[
        integer(1),
        set(&[seq(&[oid(digest_oid), null()].concat())]),
        seq(&[oid(OID_CTL), tlv(0xa0, &ctl)].concat()),
        certs,
        signers,
    ]
    .concat());
    seq(&[oid(OID_SIGNED_DATA), tlv(0xa0, &signed_data)].concat())
}

/// The content octets of a DER element written by [`tlv`] (what a PKCS#7 v1.5 messageDigest
/// covers).
fn ctl_contents(element: &[u8]) -> &[u8] {
    crate::signing::der::parse(element, 0)
        .map(|t| t.value)
        .unwrap_or_default()
}

/// The issuer Name and serialNumber INTEGER of a certificate, as DER.
fn issuer_and_serial(cert: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let parsed = crate::signing::der::parse(cert, 0)
        .ok()
        .and_then(|t| crate::signing::pkcs7::parse_certificate(t).ok());
    match parsed {
        Some(c) => (c.issuer.raw.to_vec(), tlv(0x02, c.serial)),
        None => (seq(&[]), integer(0)),
    }
}

fn member(m: &MemberSpec, digest_oid: &str) -> Vec<u8> {
    let tag = crate::text::utf16le_z(&crate::signing::der::hex_upper(&m.digest));
    let mut attrs = vec![
        attribute(OID_CAT_NAMEVALUE, &name_value("File", &m.file)),
        attribute(
            OID_CAT_MEMBERINFO,
            &seq(&[
                bmp(match m.kind {
                    MemberKind::PeImage => SIP_PE_IMAGE,
                    MemberKind::FlatFile => SIP_FLAT_FILE,
                }),
                integer(512),
            ]
            .concat()),
        ),
        attribute(OID_SPC_INDIRECT_DATA, &indirect_data(m, digest_oid)),
    ];
    if let Some(os) = &m.os_attr {
        attrs.push(attribute(OID_CAT_NAMEVALUE, &name_value("OSAttr", os)));
    }
    seq(&[tlv(0x04, &tag), set(&attrs)].concat())
}

/// SpcIndirectDataContent with the SpcPeImageData / SPC_CAB_DATA link MakeCat writes.
fn indirect_data(m: &MemberSpec, digest_oid: &str) -> Vec<u8> {
    let data = match m.kind {
        // SpcPeImageData { flags BIT STRING, file [0] SpcLink { file [2] SpcString { unicode [0] "" } } }
        MemberKind::PeImage => seq(&[
            oid(OID_SPC_PE_IMAGE_DATA),
            seq(&[0x03, 0x02, 0x05, 0xa0, 0xa0, 0x04, 0xa2, 0x02, 0x80, 0x00]),
        ]
        .concat()),
        MemberKind::FlatFile => {
            seq(&[oid(OID_SPC_CAB_DATA), vec![0xa2, 0x02, 0x80, 0x00]].concat())
        }
    };
    let digest_info = seq(&[
        seq(&[oid(digest_oid), null()].concat()),
        tlv(0x04, &m.digest),
    ]
    .concat());
    seq(&[data, digest_info].concat())
}

/// CAT_NAMEVALUE { tag BMPString, flags INTEGER, value OCTET STRING (UTF-16LE + NUL) }.
fn name_value(name: &str, value: &str) -> Vec<u8> {
    seq(&[
        bmp(name),
        integer(NAMEVALUE_FLAGS),
        tlv(0x04, &crate::text::utf16le_z(value)),
    ]
    .concat())
}

fn attribute(oid_str: &str, value: &[u8]) -> Vec<u8> {
    seq(&[oid(oid_str), set(&[value.to_vec()])].concat())
}

// ---- DER encoding (X.690 §10: definite lengths, minimal length octets, SET OF sorted) ----

pub(crate) fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

pub(crate) fn seq(content: &[u8]) -> Vec<u8> {
    tlv(0x30, content)
}

/// A SET OF: DER orders the element encodings.
pub(crate) fn set(elements: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = elements.to_vec();
    sorted.sort();
    tlv(0x31, &sorted.concat())
}

pub(crate) fn oid(dotted: &str) -> Vec<u8> {
    tlv(0x06, &crate::signing::der::oid_bytes(dotted))
}

fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

pub(crate) fn integer(v: u32) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    let mut content = bytes[skip..].to_vec();
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

fn bmp(s: &str) -> Vec<u8> {
    let units: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    tlv(0x1e, &units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::Catalog;

    #[test]
    fn written_catalogs_read_back_with_every_field() {
        for version in [CatalogVersion::V1Sha1, CatalogVersion::V2Sha256] {
            let len = if version == CatalogVersion::V1Sha1 {
                20
            } else {
                32
            };
            let mut spec = CatalogSpec::new(7, version);
            spec.members.push(MemberSpec {
                digest: vec![0xab; len],
                file: "filecrypt.sys".into(),
                os_attr: Some("2:10.0".into()),
                kind: MemberKind::PeImage,
            });
            spec.members.push(MemberSpec {
                digest: vec![0x5d; len],
                file: "filecrypt.inf".into(),
                os_attr: None,
                kind: MemberKind::FlatFile,
            });
            let cat = Catalog::parse(&write_catalog(&spec)).expect("reads back");
            assert!(cat.warnings.is_empty(), "{:?}", cat.warnings);
            assert_eq!(cat.members.len(), 2);
            let m = &cat.members[0];
            assert_eq!(m.digest, vec![0xab; len]);
            assert_eq!(
                m.tag,
                crate::signing::der::hex_upper(&[0xab; 1]).repeat(len)
            );
            assert_eq!(m.file.as_deref(), Some("filecrypt.sys"));
            assert_eq!(m.os_attr.as_deref(), Some("2:10.0"));
            assert_eq!(m.sip_guid.as_deref(), Some(SIP_PE_IMAGE));
            assert_eq!(cat.members[1].sip_guid.as_deref(), Some(SIP_FLAT_FILE));
            assert_eq!(
                m.digest_algorithm,
                if len == 20 { "sha1" } else { "sha256" }
            );
            assert_eq!(cat.this_update.as_deref(), Some("2024-04-09T12:00:00Z"));
            assert_eq!(cat.attributes, vec![("OS".into(), "_v100_X64".into())]);
            assert_eq!(cat.signer.as_deref(), Some("bsodwb synthetic test root"));
        }
    }

    #[test]
    fn long_lengths_and_integers_encode_minimally() {
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(integer(512), vec![0x02, 0x02, 0x02, 0x00]);
        assert_eq!(integer(0x80), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(0), vec![0x02, 0x01, 0x00]);
    }
}
