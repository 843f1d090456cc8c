//! Numeric values that events carry, each kept raw beside its name: NTSTATUS, Win32 errors (the
//! `%%N` insertions of SCM events), CodeIntegrity signing levels, 3089 signature types and
//! verification errors. Enumerations follow docs/formats/evtx.md §2.3 (Microsoft's
//! "event-tag-explanations"); unknown values are data, not errors.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// Parse a number as events render it: decimal (`3236495362`), or hex with `0x` (`0xc0e90002`).
pub fn parse_number(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else {
        t.parse::<u64>()
            .ok()
            .or_else(|| t.parse::<i64>().ok().map(|v| v as u64))
    }
}

/// Serialise a coded value as `{"code": .., "name": ..}` so JSON keeps the raw value beside its name.
fn serialize_coded<S: Serializer, C: Serialize>(
    s: S,
    ty: &'static str,
    code: C,
    name: Option<&str>,
) -> Result<S::Ok, S::Error> {
    let mut st = s.serialize_struct(ty, 2)?;
    st.serialize_field("code", &code)?;
    st.serialize_field("name", &name)?;
    st.end()
}

/// An NTSTATUS value (e.g. 0xC0000428 STATUS_INVALID_IMAGE_HASH).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NtStatus {
    pub code: u32,
}

impl NtStatus {
    /// From an event field: decimal or `0x` hex; a 64-bit sign-extended value keeps its low half.
    pub fn parse(text: &str) -> Option<NtStatus> {
        parse_number(text).map(|v| NtStatus { code: v as u32 })
    }

    pub fn name(&self) -> Option<&'static str> {
        // The app's one NTSTATUS table (assets/ntstatus_codes.tsv, with the CodeIntegrity statuses).
        crate::bugcheck::ntstatus::name(self.code)
    }

    /// Whether this is an error status (severity bits 11).
    pub fn is_error(&self) -> bool {
        self.code >> 30 == 3
    }
}

impl Serialize for NtStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_coded(s, "NtStatus", format!("{:#010x}", self.code), self.name())
    }
}

impl std::fmt::Display for NtStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{:#010x} {n}", self.code),
            None => write!(f, "{:#010x}", self.code),
        }
    }
}

/// Win32 error names for the codes SCM events insert as `%%N` (the ones a boot failure shows;
/// winerror.h). Others keep their number.
const WIN32_ERRORS: &[(u32, &str)] = &[
    (0, "ERROR_SUCCESS"),
    (1, "ERROR_INVALID_FUNCTION"),
    (2, "ERROR_FILE_NOT_FOUND"),
    (3, "ERROR_PATH_NOT_FOUND"),
    (5, "ERROR_ACCESS_DENIED"),
    (6, "ERROR_INVALID_HANDLE"),
    (14, "ERROR_OUTOFMEMORY"),
    (31, "ERROR_GEN_FAILURE"),
    (50, "ERROR_NOT_SUPPORTED"),
    (87, "ERROR_INVALID_PARAMETER"),
    (193, "ERROR_BAD_EXE_FORMAT"),
    (577, "ERROR_INVALID_IMAGE_HASH"),
    (1053, "ERROR_SERVICE_REQUEST_TIMEOUT"),
    (1058, "ERROR_SERVICE_DISABLED"),
    (1060, "ERROR_SERVICE_DOES_NOT_EXIST"),
    (1066, "ERROR_SERVICE_SPECIFIC_ERROR"),
    (1067, "ERROR_PROCESS_ABORTED"),
    (1068, "ERROR_SERVICE_DEPENDENCY_FAIL"),
    (1069, "ERROR_SERVICE_LOGON_FAILED"),
    (1075, "ERROR_SERVICE_DEPENDENCY_DELETED"),
    (1079, "ERROR_DIFFERENT_SERVICE_ACCOUNT"),
    (1168, "ERROR_NOT_FOUND"),
    (1275, "ERROR_DRIVER_BLOCKED"),
    (1450, "ERROR_NO_SYSTEM_RESOURCES"),
    (1455, "ERROR_COMMITMENT_LIMIT"),
];

/// A Win32 error code, as SCM events insert it (`%%577`) or as an HRESULT (`%%2147942414`,
/// 0x8007000E, which is FACILITY_WIN32 around error 14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Win32Error {
    /// The text as logged (`%%577`).
    pub raw: String,
    /// The number in it, when it has one.
    pub code: Option<u32>,
}

impl Win32Error {
    pub fn parse(text: &str) -> Win32Error {
        let t = text.trim();
        let code = parse_number(t.trim_start_matches("%%")).map(|v| v as u32);
        Win32Error {
            raw: t.to_string(),
            code,
        }
    }

    /// The Win32 error this names: the code itself, or the low word of a FACILITY_WIN32 HRESULT.
    pub fn win32_code(&self) -> Option<u32> {
        let code = self.code?;
        if code & 0xFFFF_0000 == 0x8007_0000 {
            Some(code & 0xFFFF)
        } else {
            Some(code)
        }
    }

    pub fn name(&self) -> Option<&'static str> {
        let code = self.win32_code()?;
        WIN32_ERRORS
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, n)| *n)
    }
}

impl Serialize for Win32Error {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Win32Error", 3)?;
        st.serialize_field("raw", &self.raw)?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("name", &self.name())?;
        st.end()
    }
}

impl std::fmt::Display for Win32Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} {n}", self.raw),
            None => f.write_str(&self.raw),
        }
    }
}

/// A CodeIntegrity signing level (`SE_SIGNING_LEVEL_*`): RequestedPolicy / ValidatedPolicy of
/// 3033, "Requested/Validated Signing Level" of 3076/3077, ValidatedSigningLevel of 3089.
/// Mapped by numeric value, never by position in ci.dll's map (§2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SigningLevel {
    pub code: u8,
}

impl SigningLevel {
    pub fn parse(text: &str) -> Option<SigningLevel> {
        parse_number(text).map(|v| SigningLevel { code: v as u8 })
    }

    pub fn name(&self) -> Option<&'static str> {
        Some(match self.code {
            0 => "Unchecked",
            1 => "Unsigned",
            2 => "Enterprise",
            3 => "Developer",
            4 => "Authenticode",
            5 => "Store PPL",
            6 => "Store",
            7 => "Antimalware",
            8 => "Microsoft",
            9 => "Custom 4",
            10 => "Custom 5",
            11 => "Dynamic Code Generation",
            12 => "Windows",
            13 => "Windows PPL",
            14 => "Windows TCB",
            15 => "Custom 6",
            16 => "Shared Sections",
            _ => return None,
        })
    }
}

impl Serialize for SigningLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_coded(s, "SigningLevel", self.code, self.name())
    }
}

/// How a 3089 signature was found (SignatureType).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignatureType {
    pub code: u8,
}

impl SignatureType {
    pub fn name(&self) -> Option<&'static str> {
        Some(match self.code {
            0 => "unsigned or not attempted",
            1 => "embedded",
            2 => "cached",
            3 => "cached catalog",
            4 => "un-cached catalog",
            5 => "catalog hinted by EA",
            6 => "package catalog",
            7 => "file verified",
            _ => return None,
        })
    }
}

impl Serialize for SignatureType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_coded(s, "SignatureType", self.code, self.name())
    }
}

/// Why a 3089 signature failed (VerificationError, 0-25; 26 is seen but undocumented).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VerificationError {
    pub code: u8,
}

impl VerificationError {
    pub fn name(&self) -> Option<&'static str> {
        Some(match self.code {
            0 => "success",
            1 => "invalid file hash",
            2 => "shared writable section",
            3 => "file not signed",
            4 => "revoked signature",
            5 => "expired signature",
            6 => "weak hash algorithm",
            7 => "invalid root certificate",
            8 => "unable to verify",
            9 => "signing time not trusted",
            10 => "page hashes required",
            11 => "page hash mismatch",
            12 => "not valid for PPL",
            13 => "not valid for PP",
            14 => "missing ARM EKU",
            15 => "failed WHQL check",
            16 => "default policy signing level not met",
            17 => "custom policy signing level not met",
            18 => "custom signing level not met (UMCI)",
            19 => "revoked by file hash",
            20 => "SHA1 certificate hash timestamp missing or after cutoff",
            21 => "cannot pass App Control policy",
            22 => "not IUM-signed",
            23 => "invalid image hash",
            24 => "flight root not allowed",
            25 => "anti-cheat policy violation",
            _ => return None,
        })
    }
}

impl Serialize for VerificationError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_coded(s, "VerificationError", self.code, self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_in_both_spellings_and_name_themselves() {
        let dec = NtStatus::parse("3236495362").expect("decimal");
        let hex = NtStatus::parse("0xc0e90002").expect("hex");
        assert_eq!(dec, hex);
        assert_eq!(dec.name(), Some("STATUS_SYSTEM_INTEGRITY_POLICY_VIOLATION"));
        let hash = NtStatus::parse("0xFFFFFFFFC0000428").expect("sign-extended");
        assert_eq!(hash.code, 0xC000_0428);
        assert_eq!(hash.name(), Some("STATUS_INVALID_IMAGE_HASH"));
        assert!(hash.is_error());
        assert_eq!(NtStatus { code: 0x1234_5678 }.name(), None);
    }

    #[test]
    fn win32_insertions_and_hresults_name_their_error() {
        assert_eq!(
            Win32Error::parse("%%577").name(),
            Some("ERROR_INVALID_IMAGE_HASH")
        );
        assert_eq!(
            Win32Error::parse("%%2147942414").name(),
            Some("ERROR_OUTOFMEMORY")
        );
        let odd = Win32Error::parse("%%99999");
        assert_eq!(odd.code, Some(99999));
        assert_eq!(odd.name(), None);
    }

    #[test]
    fn signing_levels_map_by_value() {
        assert_eq!(SigningLevel { code: 12 }.name(), Some("Windows"));
        assert_eq!(SigningLevel { code: 1 }.name(), Some("Unsigned"));
        assert_eq!(SigningLevel { code: 200 }.name(), None);
        let json = serde_json::to_string(&SigningLevel { code: 4 }).expect("json");
        assert_eq!(json, r#"{"code":4,"name":"Authenticode"}"#);
    }
}
