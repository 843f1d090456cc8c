//! CodeIntegrity/Operational events (provider Microsoft-Windows-CodeIntegrity, IDs 3001-3110),
//! typed. Field names differ between IDs and versions (`FileNameBuffer` in 3004/3033, `File Name`
//! in 3077, with spaces); each typed field lists every spelling docs/formats/evtx.md §2.2/§2.4
//! gives.

use super::codes::{NtStatus, SignatureType, SigningLevel, VerificationError, parse_number};
use super::json::Field;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;

pub const PROVIDER: &str = "Microsoft-Windows-CodeIntegrity";

/// The event table (id, level, channel, meaning), shared with other tools as a TSV.
const EVENTS_TSV: &str = include_str!("../../assets/codeintegrity_events.tsv");

/// What a CodeIntegrity event ID means, as its level, channel and a one-line meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CiEventInfo {
    pub id: u16,
    pub level: &'static str,
    pub channel: &'static str,
    pub meaning: &'static str,
}

fn table() -> &'static HashMap<u16, CiEventInfo> {
    static TABLE: OnceLock<HashMap<u16, CiEventInfo>> = OnceLock::new();
    TABLE.get_or_init(|| {
        EVENTS_TSV
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut cols = l.split('\t');
                let id = cols.next()?.parse::<u16>().ok()?;
                let level = cols.next()?;
                let channel = cols.next()?;
                let meaning = cols.next()?;
                Some((
                    id,
                    CiEventInfo {
                        id,
                        level,
                        channel,
                        meaning,
                    },
                ))
            })
            .collect()
    })
}

/// The meaning of a CodeIntegrity event ID, when the reference names it.
pub fn event_info(id: u16) -> Option<CiEventInfo> {
    table().get(&id).copied()
}

/// An App Control (WDAC) policy named by an event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CiPolicy {
    pub name: Option<String>,
    pub id: Option<String>,
    pub guid: Option<String>,
    pub hash: Option<String>,
}

impl CiPolicy {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.id.is_none() && self.guid.is_none() && self.hash.is_none()
    }
}

/// One signature of a file, from a 3089 event ("Signature information for another event").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CiSignature {
    pub total_signature_count: Option<u32>,
    /// This signature's index among them.
    pub index: Option<u32>,
    pub cache_state: Option<u32>,
    pub hash: Option<String>,
    pub page_hash: Option<bool>,
    pub signature_type: Option<SignatureType>,
    pub validated_level: Option<SigningLevel>,
    pub verification_error: Option<VerificationError>,
    pub flags: Option<u32>,
    pub policy_bits: Option<u32>,
    pub not_valid_before: Option<String>,
    pub not_valid_after: Option<String>,
    pub publisher: Option<String>,
    pub issuer: Option<String>,
    pub publisher_tbs_hash: Option<String>,
    pub issuer_tbs_hash: Option<String>,
}

/// A CodeIntegrity event with its fields typed. Fields an ID does not carry stay `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CiEvent {
    pub id: u16,
    /// The image the event is about (NT path as logged, e.g.
    /// `\Device\HarddiskVolume2\Windows\System32\drivers\filecrypt.sys`).
    pub file: Option<String>,
    /// The process that loaded it.
    pub process: Option<String>,
    /// The catalog named: 3010's FileNameBuffer, CatalogNameBuffer of 3006/3008/3059-3062.
    pub catalog: Option<String>,
    pub status: Option<NtStatus>,
    pub requested_level: Option<SigningLevel>,
    pub validated_level: Option<SigningLevel>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub sha1_flat: Option<String>,
    pub sha256_flat: Option<String>,
    pub policy: Option<CiPolicy>,
    /// SI Signing Scenario of 3076/3077 (0 kernel, 1 user mode; unverified mapping).
    pub signing_scenario: Option<u8>,
    /// RequirementType of 3063-3065.
    pub requirement_type: Option<String>,
    /// Settings and Exemption of 3084/3085.
    pub settings: Option<String>,
    pub exemption: Option<String>,
    /// A 3089's own signature.
    pub signature: Option<CiSignature>,
    /// For other events: the signatures of the 3089 events with the same ActivityID.
    pub signatures: Vec<CiSignature>,
}

impl CiEvent {
    pub fn info(&self) -> Option<CiEventInfo> {
        event_info(self.id)
    }

    /// The path that names a driver image, if any (3010 names a catalog, not an image).
    pub fn image_path(&self) -> Option<&str> {
        self.file.as_deref().filter(|f| {
            let lower = f.to_ascii_lowercase();
            !lower.ends_with(".cat") && !lower.ends_with(".p7b")
        })
    }
}

/// The value of the first of `names` present among the fields.
pub(crate) fn field<'a>(fields: &'a [Field], names: &[&str]) -> Option<&'a str> {
    for name in names {
        if let Some(f) = fields.iter().find(|f| {
            f.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        }) {
            return Some(f.value.as_str());
        }
    }
    None
}

fn text(fields: &[Field], names: &[&str]) -> Option<String> {
    field(fields, names)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn number(fields: &[Field], names: &[&str]) -> Option<u64> {
    field(fields, names).and_then(parse_number)
}

fn boolean(fields: &[Field], names: &[&str]) -> Option<bool> {
    let v = field(fields, names)?.trim().to_ascii_lowercase();
    match v.as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Type a CodeIntegrity event from its data fields.
pub(crate) fn from_fields(id: u16, fields: &[Field]) -> CiEvent {
    let file = text(fields, &["FileNameBuffer", "File Name", "FileName"]);
    let (file, catalog) = if matches!(id, 3010 | 3011 | 3012 | 3026) {
        (None, file)
    } else {
        (
            file,
            text(
                fields,
                &["CatalogNameBuffer", "Catalog Name", "CatalogName"],
            ),
        )
    };
    let policy = CiPolicy {
        name: text(fields, &["PolicyName", "PolicyNameBuffer"]),
        id: text(fields, &["PolicyID", "PolicyIdBuffer", "PolicyId"]),
        guid: text(fields, &["PolicyGUID"]),
        hash: text(fields, &["PolicyHash"]),
    };
    let signature = (id == 3089).then(|| CiSignature {
        total_signature_count: number(fields, &["TotalSignatureCount"]).map(|v| v as u32),
        index: number(fields, &["Signature"]).map(|v| v as u32),
        cache_state: number(fields, &["CacheState"]).map(|v| v as u32),
        hash: text(fields, &["Hash"]),
        page_hash: boolean(fields, &["PageHash"]),
        signature_type: number(fields, &["SignatureType"]).map(|v| SignatureType { code: v as u8 }),
        validated_level: field(fields, &["ValidatedSigningLevel"]).and_then(SigningLevel::parse),
        verification_error: number(fields, &["VerificationError"])
            .map(|v| VerificationError { code: v as u8 }),
        flags: number(fields, &["Flags"]).map(|v| v as u32),
        policy_bits: number(fields, &["PolicyBits"]).map(|v| v as u32),
        not_valid_before: text(fields, &["NotValidBefore"]),
        not_valid_after: text(fields, &["NotValidAfter"]),
        publisher: text(fields, &["PublisherName"]),
        issuer: text(fields, &["IssuerName"]),
        publisher_tbs_hash: text(fields, &["PublisherTBSHash"]),
        issuer_tbs_hash: text(fields, &["IssuerTBSHash"]),
    });
    CiEvent {
        id,
        file,
        process: text(
            fields,
            &["ProcessNameBuffer", "Process Name", "ProcessName"],
        ),
        catalog,
        status: field(fields, &["Status"]).and_then(NtStatus::parse),
        requested_level: field(
            fields,
            &[
                "RequestedPolicy",
                "Requested Signing Level",
                "RequestedSigningLevel",
            ],
        )
        .and_then(SigningLevel::parse),
        validated_level: if id == 3089 {
            None
        } else {
            field(
                fields,
                &[
                    "ValidatedPolicy",
                    "Validated Signing Level",
                    "ValidatedSigningLevel",
                ],
            )
            .and_then(SigningLevel::parse)
        },
        sha1: text(fields, &["SHA1 Hash", "SHA1Hash"]),
        sha256: text(fields, &["SHA256 Hash", "SHA256Hash"]),
        sha1_flat: text(fields, &["SHA1 Flat Hash", "SHA1FlatHash"]),
        sha256_flat: text(fields, &["SHA256 Flat Hash", "SHA256FlatHash"]),
        policy: (!policy.is_empty()).then_some(policy),
        signing_scenario: number(fields, &["SI Signing Scenario", "SISigningScenario"])
            .map(|v| v as u8),
        requirement_type: text(fields, &["RequirementType"]),
        settings: text(fields, &["Settings"]),
        exemption: text(fields, &["Exemption"]),
        signature,
        signatures: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, value: &str) -> Field {
        Field {
            name: Some(name.into()),
            value: value.into(),
        }
    }

    #[test]
    fn a_3033_from_the_reference_types_every_field() {
        // Real 3033 v0 fields (docs/formats/evtx.md §2.4, AaronLocker docs).
        let fields = [
            f("FileNameLength", "51"),
            f(
                "FileNameBuffer",
                "\\Device\\HarddiskVolume3\\Windows\\System32\\scrobj.dll",
            ),
            f("ProcessNameLength", "53"),
            f(
                "ProcessNameBuffer",
                "\\Device\\HarddiskVolume3\\Windows\\System32\\regsvr32.exe",
            ),
            f("RequestedPolicy", "2"),
            f("ValidatedPolicy", "1"),
            f("Status", "3236495362"),
        ];
        let e = from_fields(3033, &fields);
        assert!(e.file.as_deref().is_some_and(|p| p.ends_with("scrobj.dll")));
        assert!(
            e.process
                .as_deref()
                .is_some_and(|p| p.ends_with("regsvr32.exe"))
        );
        assert_eq!(e.requested_level.and_then(|l| l.name()), Some("Enterprise"));
        assert_eq!(e.validated_level.and_then(|l| l.name()), Some("Unsigned"));
        assert_eq!(
            e.status.and_then(|s| s.name()),
            Some("STATUS_SYSTEM_INTEGRITY_POLICY_VIOLATION")
        );
        assert_eq!(
            e.info().map(|i| i.meaning),
            Some("image did not meet the signing level requirements")
        );
    }

    #[test]
    fn a_3010_names_a_catalog_not_an_image() {
        let e = from_fields(
            3010,
            &[
                f(
                    "FileNameBuffer",
                    "\\Windows\\System32\\CatRoot\\{F750E6C3}\\x.cat",
                ),
                f("Status", "0xC0000428"),
            ],
        );
        assert_eq!(e.file, None);
        assert!(e.catalog.is_some());
        assert_eq!(e.image_path(), None);
    }

    #[test]
    fn every_reference_id_has_a_meaning() {
        for id in [
            3001, 3002, 3004, 3010, 3023, 3033, 3077, 3085, 3089, 3099, 3104, 3110,
        ] {
            assert!(event_info(id).is_some(), "{id}");
        }
        assert_eq!(event_info(2999), None);
    }
}
