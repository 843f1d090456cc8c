//! A small borrowed DER/BER walker: the one reader under catalogs, PKCS#7 and certificates.
//!
//! Why not `cms`/`x509-cert` decoding: their strict DER structs allocate every certificate of every
//! catalog (thousands per index build), stop at the first deviation (old Authenticode blobs carry
//! BER indefinite lengths and odd serial numbers), and report no offset we can hand to the user.
//! This walker borrows from the memory map, keeps absolute offsets, and lets callers skip what
//! they do not need. `der::asn1::ObjectIdentifier` still renders OIDs.
//! Encoding rules: ITU-T X.690 §8.1 (identifier, length, contents; indefinite length ends in 00 00).

use std::fmt;

/// A decoding failure: where (absolute byte offset) and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte offset {offset:#x}: expected {expected}")]
pub struct DerError {
    pub offset: usize,
    pub expected: String,
}

impl DerError {
    pub fn new(offset: usize, expected: impl Into<String>) -> DerError {
        DerError {
            offset,
            expected: expected.into(),
        }
    }
}

pub type DerResult<T> = Result<T, DerError>;

// Universal tags used by the callers (X.690 §8.1.2, class universal).
pub const BOOLEAN: u8 = 0x01;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const UTF8_STRING: u8 = 0x0c;
pub const PRINTABLE_STRING: u8 = 0x13;
pub const T61_STRING: u8 = 0x14;
pub const IA5_STRING: u8 = 0x16;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const BMP_STRING: u8 = 0x1e;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
/// `[n]` constructed, context-specific.
pub const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// One element: its identifier byte, where it starts, and its content bytes.
#[derive(Clone, Copy)]
pub struct Tlv<'a> {
    /// The first identifier byte (class, constructed bit, tag number < 31).
    pub tag: u8,
    /// Absolute offset of the identifier byte.
    pub offset: usize,
    /// The content octets (for indefinite lengths: without the end-of-contents marker).
    pub value: &'a [u8],
    /// The whole encoding: identifier, length and content.
    pub raw: &'a [u8],
    /// Absolute offset of the first content byte.
    value_offset: usize,
}

impl fmt::Debug for Tlv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tlv({:#04x} @ {:#x}, {} bytes)",
            self.tag,
            self.offset,
            self.value.len()
        )
    }
}

impl<'a> Tlv<'a> {
    /// The children of a constructed element.
    pub fn children(&self) -> Reader<'a> {
        Reader {
            data: self.value,
            pos: 0,
            base: self.value_offset,
        }
    }

    /// Absolute offset of the first content byte.
    pub fn value_offset(&self) -> usize {
        self.value_offset
    }

    /// Fail unless the tag is `tag`.
    pub fn expect_tag(self, tag: u8, what: &str) -> DerResult<Tlv<'a>> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(DerError::new(
                self.offset,
                format!("{what} (tag {tag:#04x}, found {:#04x})", self.tag),
            ))
        }
    }

    /// The dotted form of an OBJECT IDENTIFIER element.
    pub fn oid(&self) -> DerResult<String> {
        if self.tag != OID {
            return Err(DerError::new(self.offset, "an OBJECT IDENTIFIER"));
        }
        oid_string(self.value)
            .ok_or_else(|| DerError::new(self.offset, "a valid OBJECT IDENTIFIER"))
    }

    /// A small non-negative INTEGER (up to 8 content bytes).
    pub fn small_uint(&self) -> DerResult<u64> {
        if self.tag != INTEGER || self.value.is_empty() || self.value.len() > 9 {
            return Err(DerError::new(self.offset, "a small INTEGER"));
        }
        let bytes = match self.value {
            [0, rest @ ..] => rest,
            v => v,
        };
        if bytes.len() > 8 {
            return Err(DerError::new(self.offset, "a small INTEGER"));
        }
        Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A string element as text: BMPString (UTF-16BE), UTF8/Printable/IA5/T61 (lossy).
    pub fn text(&self) -> String {
        match self.tag {
            BMP_STRING => {
                let units: Vec<u16> = self
                    .value
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
                    .trim_end_matches('\0')
                    .to_string()
            }
            _ => String::from_utf8_lossy(self.value).into_owned(),
        }
    }

    /// UTCTime or GeneralizedTime as ISO 8601 (`2021-07-08T14:54:18Z`).
    pub fn time(&self) -> DerResult<String> {
        let s = std::str::from_utf8(self.value)
            .ok()
            .filter(|s| s.is_ascii())
            .ok_or_else(|| DerError::new(self.offset, "an ASCII time"))?;
        let digits = s.trim_end_matches('Z');
        let (year, rest) = match self.tag {
            UTC_TIME if digits.len() >= 10 => {
                // X.509 rule (RFC 5280 §4.1.2.5.1): YY >= 50 is 19YY.
                let yy: u32 = digits
                    .get(..2)
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| DerError::new(self.offset, "UTCTime digits"))?;
                (
                    if yy >= 50 { 1900 + yy } else { 2000 + yy },
                    digits.get(2..).unwrap_or_default(),
                )
            }
            GENERALIZED_TIME if digits.len() >= 12 => {
                let y: u32 = digits
                    .get(..4)
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| DerError::new(self.offset, "GeneralizedTime digits"))?;
                (y, digits.get(4..).unwrap_or_default())
            }
            _ => return Err(DerError::new(self.offset, "a UTCTime or GeneralizedTime")),
        };
        let part = |i: usize| rest.get(i..i + 2).unwrap_or("00");
        Ok(format!(
            "{year:04}-{}-{}T{}:{}:{}Z",
            part(0),
            part(2),
            part(4),
            part(6),
            part(8)
        ))
    }
}

/// Reads consecutive elements from a byte range, remembering absolute offsets.
#[derive(Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, which starts at absolute offset `base` of its file.
    pub fn new(data: &'a [u8], base: usize) -> Reader<'a> {
        Reader { data, pos: 0, base }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Absolute offset of the next element.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The identifier byte of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// The next element, `None` at the end (or at a BER end-of-contents marker).
    pub fn next_tlv(&mut self) -> DerResult<Option<Tlv<'a>>> {
        if self.is_empty() {
            return Ok(None);
        }
        let (tlv, len) = read_tlv(self.data, self.pos, self.base, 0)?;
        self.pos += len;
        Ok(tlv)
    }

    /// The next element, which must exist and carry `tag`.
    pub fn expect_tag(&mut self, tag: u8, what: &str) -> DerResult<Tlv<'a>> {
        let at = self.offset();
        match self.next_tlv()? {
            Some(t) => t.expect_tag(tag, what),
            None => Err(DerError::new(at, format!("{what} (end of data found)"))),
        }
    }

    /// The next element of any tag, which must exist.
    pub fn any(&mut self, what: &str) -> DerResult<Tlv<'a>> {
        let at = self.offset();
        self.next_tlv()?
            .ok_or_else(|| DerError::new(at, format!("{what} (end of data found)")))
    }

    /// The next element if it carries `tag` (an OPTIONAL field), else nothing is consumed.
    pub fn optional(&mut self, tag: u8) -> DerResult<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(tag) {
            self.next_tlv()
        } else {
            Ok(None)
        }
    }
}

/// Nesting beyond this is rejected: real signatures are < 15 deep, and recursion must stay bounded.
const MAX_DEPTH: usize = 64;

/// Decode one element at `pos`; returns it and the number of bytes it takes.
/// `None` for an end-of-contents marker (00 00).
fn read_tlv<'a>(
    data: &'a [u8],
    pos: usize,
    base: usize,
    depth: usize,
) -> DerResult<(Option<Tlv<'a>>, usize)> {
    let at = base + pos;
    if depth > MAX_DEPTH {
        return Err(DerError::new(at, "nesting depth below 64"));
    }
    let tag = *data
        .get(pos)
        .ok_or_else(|| DerError::new(at, "an identifier byte"))?;
    let mut p = pos + 1;
    if tag & 0x1f == 0x1f {
        // High tag number form: skip the continuation bytes (we never need such tags).
        loop {
            let b = *data
                .get(p)
                .ok_or_else(|| DerError::new(base + p, "a tag number byte"))?;
            p += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let first = *data
        .get(p)
        .ok_or_else(|| DerError::new(base + p, "a length byte"))?;
    p += 1;
    if tag == 0 && first == 0 {
        return Ok((None, 2));
    }
    let (value_start, value_end, end) = if first < 0x80 {
        let e = p + usize::from(first);
        (p, e, e)
    } else if first == 0x80 {
        // BER indefinite length: children up to the end-of-contents marker.
        if tag & 0x20 == 0 {
            return Err(DerError::new(
                at,
                "a definite length on a primitive element",
            ));
        }
        let mut q = p;
        loop {
            if q >= data.len() {
                return Err(DerError::new(base + q, "an end-of-contents marker"));
            }
            let (child, n) = read_tlv(data, q, base, depth + 1)?;
            if child.is_none() {
                break (p, q, q + n);
            }
            q += n;
        }
    } else {
        let n = usize::from(first & 0x7f);
        if n > 4 {
            return Err(DerError::new(base + p - 1, "a length of at most 4 bytes"));
        }
        let bytes = data
            .get(p..p + n)
            .ok_or_else(|| DerError::new(base + p, "length bytes"))?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let start = p + n;
        let e = start
            .checked_add(len)
            .ok_or_else(|| DerError::new(at, "a length within the data"))?;
        (start, e, e)
    };
    let value = data.get(value_start..value_end).ok_or_else(|| {
        DerError::new(
            at,
            format!(
                "{} content bytes (only {} left)",
                value_end.saturating_sub(value_start),
                data.len().saturating_sub(value_start)
            ),
        )
    })?;
    let raw = data
        .get(pos..end)
        .ok_or_else(|| DerError::new(at, "an element within the data"))?;
    Ok((
        Some(Tlv {
            tag,
            offset: at,
            value,
            raw,
            value_offset: base + value_start,
        }),
        end - pos,
    ))
}

/// Parse exactly one element spanning `data` (trailing bytes are tolerated: some
/// WIN_CERTIFICATE blobs are padded to 8 bytes).
pub fn parse(data: &[u8], base: usize) -> DerResult<Tlv<'_>> {
    Reader::new(data, base).any("a DER element")
}

/// The dotted form of the content octets of an OID.
pub fn oid_string(content: &[u8]) -> Option<String> {
    der::asn1::ObjectIdentifier::from_bytes(content)
        .ok()
        .map(|o| o.to_string())
}

/// Content octets of a dotted OID (for comparisons without allocation at the call site).
pub fn oid_bytes(dotted: &str) -> Vec<u8> {
    der::asn1::ObjectIdentifier::new(dotted)
        .map(|o| o.as_bytes().to_vec())
        .unwrap_or_default()
}

/// Upper-case hexadecimal, as sigcheck and the catalog tags print digests.
pub fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Parse hexadecimal (either case); `None` on odd length or a non-hex digit.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|d| u8::from_str_radix(d, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_definite_and_indefinite_lengths_with_offsets() {
        // SEQUENCE { INTEGER 5, OCTET STRING "ab" } in DER, then the same with an indefinite length.
        let der = [0x30, 0x07, 0x02, 0x01, 0x05, 0x04, 0x02, b'a', b'b'];
        let t = parse(&der, 100).expect("parses");
        let mut r = t.children();
        assert_eq!(
            r.expect_tag(INTEGER, "int").expect("int").small_uint(),
            Ok(5)
        );
        let s = r.expect_tag(OCTET_STRING, "octets").expect("octets");
        assert_eq!((s.value, s.offset), (&b"ab"[..], 105));
        let ber = [0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00];
        let t = parse(&ber, 0).expect("parses");
        assert_eq!(t.value, &[0x02, 0x01, 0x05]);
        assert_eq!(t.raw.len(), 7);
    }

    #[test]
    fn truncated_input_names_the_offset() {
        let der = [0x30, 0x10, 0x02, 0x01];
        let e = parse(&der, 7).expect_err("truncated");
        assert_eq!(e.offset, 7);
        assert!(e.expected.contains("content bytes"), "{e}");
        let e = parse(&[0x30, 0x84, 0xff], 0).expect_err("short length");
        assert_eq!(e.offset, 2);
    }

    #[test]
    fn deep_indefinite_nesting_is_refused_not_a_stack_overflow() {
        let deep: Vec<u8> = [0x30, 0x80].repeat(100_000);
        let e = parse(&deep, 0).expect_err("too deep");
        assert!(e.expected.contains("nesting depth"), "{e}");
        // Random bytes: walking every element never panics.
        let mut x: u64 = 1;
        for _ in 0..2000 {
            let buf: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            fn walk(r: &mut Reader<'_>) {
                while let Ok(Some(t)) = r.next_tlv() {
                    let _ = (t.time(), t.oid(), t.small_uint(), t.text());
                    if t.tag & 0x20 != 0 {
                        walk(&mut t.children());
                    }
                }
            }
            walk(&mut Reader::new(&buf, 0));
        }
    }

    #[test]
    fn times_and_hex() {
        let t = parse(b"\x17\x0d210708145418Z", 0).expect("utc");
        assert_eq!(t.time().as_deref(), Ok("2021-07-08T14:54:18Z"));
        let g = parse(b"\x18\x0f20210708145418Z", 0).expect("gt");
        assert_eq!(g.time().as_deref(), Ok("2021-07-08T14:54:18Z"));
        let odd = parse("\x17\x0e21\u{e9}0708145418Z".as_bytes(), 0).expect("utc");
        assert!(odd.time().is_err());
        assert_eq!(hex_upper(&[0xd4, 0x16]), "D416");
        assert_eq!(from_hex("d416"), Some(vec![0xd4, 0x16]));
        assert_eq!(from_hex("d41"), None);
    }
}
