//! Registry values decoded by their `REG_*` type.

use crate::text::utf16le_until_nul as utf16_until_nul;
use serde::Serialize;
use std::fmt;

/// `REG_*` type codes (winnt.h).
pub const REG_NONE: u32 = 0;
pub const REG_SZ: u32 = 1;
pub const REG_EXPAND_SZ: u32 = 2;
pub const REG_BINARY: u32 = 3;
pub const REG_DWORD: u32 = 4;
pub const REG_DWORD_BIG_ENDIAN: u32 = 5;
pub const REG_LINK: u32 = 6;
pub const REG_MULTI_SZ: u32 = 7;
pub const REG_RESOURCE_LIST: u32 = 8;
pub const REG_FULL_RESOURCE_DESCRIPTOR: u32 = 9;
pub const REG_RESOURCE_REQUIREMENTS_LIST: u32 = 10;
pub const REG_QWORD: u32 = 11;

/// The name of a `REG_*` type code, `None` for codes Windows does not define (they occur:
/// device properties use 0xFFFF00xx).
pub fn kind_name(kind: u32) -> Option<&'static str> {
    Some(match kind {
        REG_NONE => "REG_NONE",
        REG_SZ => "REG_SZ",
        REG_EXPAND_SZ => "REG_EXPAND_SZ",
        REG_BINARY => "REG_BINARY",
        REG_DWORD => "REG_DWORD",
        REG_DWORD_BIG_ENDIAN => "REG_DWORD_BIG_ENDIAN",
        REG_LINK => "REG_LINK",
        REG_MULTI_SZ => "REG_MULTI_SZ",
        REG_RESOURCE_LIST => "REG_RESOURCE_LIST",
        REG_FULL_RESOURCE_DESCRIPTOR => "REG_FULL_RESOURCE_DESCRIPTOR",
        REG_RESOURCE_REQUIREMENTS_LIST => "REG_RESOURCE_REQUIREMENTS_LIST",
        REG_QWORD => "REG_QWORD",
        _ => return None,
    })
}

/// Value data as its type says; data too short for its type stays raw bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueData {
    String(String),
    MultiString(Vec<String>),
    Dword(u32),
    Qword(u64),
    #[serde(serialize_with = "as_hex")]
    Bytes(Vec<u8>),
}

fn as_hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(bytes))
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl ValueData {
    /// Decode `bytes` as a value of type `kind`.
    pub fn decode(kind: u32, bytes: &[u8]) -> ValueData {
        match kind {
            REG_SZ | REG_EXPAND_SZ | REG_LINK => ValueData::String(utf16_until_nul(bytes)),
            REG_MULTI_SZ => ValueData::MultiString(multi_string(bytes)),
            REG_DWORD => match bytes.get(..4) {
                Some(b) => ValueData::Dword(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                None => ValueData::Bytes(bytes.to_vec()),
            },
            REG_DWORD_BIG_ENDIAN => match bytes.get(..4) {
                Some(b) => ValueData::Dword(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                None => ValueData::Bytes(bytes.to_vec()),
            },
            REG_QWORD => match bytes.get(..8) {
                Some(b) => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    ValueData::Qword(u64::from_le_bytes(a))
                }
                None => ValueData::Bytes(bytes.to_vec()),
            },
            _ => ValueData::Bytes(bytes.to_vec()),
        }
    }

    pub fn as_dword(&self) -> Option<u32> {
        match self {
            ValueData::Dword(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            ValueData::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_strings(&self) -> Option<&[String]> {
        match self {
            ValueData::MultiString(v) => Some(v),
            _ => None,
        }
    }

    /// The data as a number when it holds one: a DWORD or QWORD, or binary data of exactly 4
    /// or 8 bytes (little-endian, as `reg query` would read them back with `/t REG_DWORD`).
    pub fn number(&self) -> Option<u64> {
        match self {
            ValueData::Dword(v) => Some(u64::from(*v)),
            ValueData::Qword(v) => Some(*v),
            ValueData::Bytes(b) if b.len() == 4 => {
                Some(u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            }
            ValueData::Bytes(b) if b.len() == 8 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Some(u64::from_le_bytes(a))
            }
            _ => None,
        }
    }

    /// The data as `reg query` prints it: strings as they are, REG_MULTI_SZ joined with a
    /// literal `\0`, numbers as `0x..`, binary data as upper-case hex.
    pub fn reg_query_text(&self) -> String {
        match self {
            ValueData::String(s) => s.clone(),
            ValueData::MultiString(v) => v.join("\\0"),
            ValueData::Dword(v) => format!("{v:#x}"),
            ValueData::Qword(v) => format!("{v:#x}"),
            ValueData::Bytes(b) => hex(b).to_ascii_uppercase(),
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            ValueData::Bytes(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for ValueData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueData::String(s) => f.write_str(s),
            ValueData::MultiString(v) => f.write_str(&v.join(" | ")),
            ValueData::Dword(v) => write!(f, "{v} ({v:#x})"),
            ValueData::Qword(v) => write!(f, "{v} ({v:#x})"),
            ValueData::Bytes(b) if b.len() > 32 => {
                write!(
                    f,
                    "{}... ({} bytes)",
                    hex(b.get(..32).unwrap_or(b)),
                    b.len()
                )
            }
            ValueData::Bytes(b) => f.write_str(&hex(b)),
        }
    }
}

/// REG_MULTI_SZ: NUL-separated UTF-16 strings ending with an empty one. Empty strings in the
/// middle are kept out, as Windows' own editors do.
fn multi_string(bytes: &[u8]) -> Vec<String> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    units
        .split(|&u| u == 0)
        .filter(|s| !s.is_empty())
        .map(String::from_utf16_lossy)
        .collect()
}

/// One value of a key, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegValue {
    /// The value name; empty for the key's default value.
    pub name: String,
    /// `REG_*` type code.
    pub kind: u32,
    pub data: ValueData,
}

impl RegValue {
    /// `REG_SZ`, `REG_DWORD`... for the type code.
    pub fn kind_name(&self) -> Option<&'static str> {
        kind_name(self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16z(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    #[test]
    fn strings_stop_at_the_terminator() {
        let mut bytes = utf16z("FSFilter Encryption");
        bytes.extend_from_slice(&[0x41, 0, 0x42, 0]);
        assert_eq!(
            ValueData::decode(REG_SZ, &bytes),
            ValueData::String("FSFilter Encryption".into())
        );
    }

    #[test]
    fn multi_strings_split_on_nul() {
        let mut bytes = utf16z("FltMgr");
        bytes.extend(utf16z("Ntfs"));
        bytes.extend([0, 0]);
        assert_eq!(
            ValueData::decode(REG_MULTI_SZ, &bytes),
            ValueData::MultiString(vec!["FltMgr".into(), "Ntfs".into()])
        );
    }

    #[test]
    fn short_dwords_stay_bytes() {
        assert_eq!(
            ValueData::decode(REG_DWORD, &[1, 0]),
            ValueData::Bytes(vec![1, 0])
        );
        assert_eq!(
            ValueData::decode(REG_DWORD, &[3, 0, 0, 0]),
            ValueData::Dword(3)
        );
        assert_eq!(kind_name(0xFFFF_0012), None);
    }

    #[test]
    fn odd_types_read_as_reg_query_shows_them() {
        let mut multi = utf16z("FSFilter Encryption");
        multi.extend(utf16z("Second"));
        multi.extend([0, 0]);
        assert_eq!(
            ValueData::decode(REG_MULTI_SZ, &multi).reg_query_text(),
            "FSFilter Encryption\\0Second"
        );
        assert_eq!(
            ValueData::decode(REG_BINARY, &[0x46, 0, 0x53, 0]).reg_query_text(),
            "46005300"
        );
        assert_eq!(
            ValueData::decode(REG_BINARY, &[1, 0, 0, 0]).number(),
            Some(1)
        );
        assert_eq!(
            ValueData::decode(REG_QWORD, &[3, 0, 0, 0, 0, 0, 0, 0]).number(),
            Some(3)
        );
        assert_eq!(ValueData::decode(REG_BINARY, &[1, 0, 0]).number(), None);
    }
}
