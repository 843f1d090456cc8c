//! Reading the case's text logs: bounded, any of the encodings Windows writes them in.

use crate::case::Problem;
use std::path::Path;

/// The largest text log read whole (setupapi.dev.log and CBS.log grow to hundreds of MiB on old
/// servers; past this the file is refused with a warning rather than read into memory).
pub const MAX_TEXT_LOG_BYTES: u64 = 256 << 20;

/// A decoded text log.
pub struct TextLog {
    pub text: String,
    /// The last line has no line end: the file was cut off (or is still being written).
    pub cut_off: bool,
}

/// Decode UTF-16LE/BE (by BOM, or by NULs in every other byte), UTF-8 (BOM or not) or ANSI:
/// [`crate::text::decode_text`].
pub fn decode(bytes: &[u8]) -> String {
    crate::text::decode_text(bytes)
}

/// Read and decode a case text log; a failure is a warning naming `case_path`.
pub fn read(local: &Path, case_path: &str, warnings: &mut Vec<Problem>) -> Option<TextLog> {
    match crate::input::read_bounded(local, MAX_TEXT_LOG_BYTES) {
        Ok(bytes) => {
            let text = decode(&bytes);
            let cut_off = !text.is_empty() && !text.ends_with('\n');
            Some(TextLog { text, cut_off })
        }
        Err(e) => {
            warnings.push(Problem::new(
                case_path.to_string(),
                format!("not read for the history: {}", crate::input::plain(e)),
            ));
            None
        }
    }
}

/// `YYYY/MM/DD hh:mm:ss[.fff]` or `YYYY-MM-DD hh:mm:ss` as seconds of that civil time.
pub fn civil_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 19 || !matches!(b[4], b'/' | b'-') || b[7] != b[4] || b[10] != b' ' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = crate::filetime::days_from_civil(y, mo as u32, d as u32);
    Some(days * 86_400 + h * 3600 + mi * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_decodes_to_the_same_text() {
        let s = "[Device Install Log]\r\n";
        let mut le = vec![0xff, 0xfe];
        le.extend(crate::text::utf16le(s));
        let mut be = vec![0xfe, 0xff];
        be.extend(s.encode_utf16().flat_map(|u| u.to_be_bytes()));
        let mut bom8 = b"\xef\xbb\xbf".to_vec();
        bom8.extend(s.as_bytes());
        for bytes in [le, be, bom8, s.as_bytes().to_vec(), crate::text::utf16le(s)] {
            assert_eq!(decode(&bytes), s);
        }
    }

    #[test]
    fn civil_times_of_both_spellings() {
        assert_eq!(
            civil_seconds("2024/05/14 02:12:01.093"),
            Some(1_715_652_721)
        );
        assert_eq!(
            civil_seconds("2024-05-14 02:12:01, Info"),
            Some(1_715_652_721)
        );
        assert_eq!(civil_seconds("2024-13-14 02:12:01"), None);
        assert_eq!(civil_seconds("2024/05/1"), None);
    }
}
