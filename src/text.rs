//! Text encodings every Windows format uses: UTF-16LE strings and base64 blobs. One copy here,
//! shared by the parsers and the writers.

/// Decode UTF-16LE (lossy), dropping trailing NULs. An odd last byte is ignored.
pub fn utf16le_lossy(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
        .trim_end_matches('\0')
        .to_string()
}

/// Decode UTF-16LE (lossy) exactly as stored: NULs kept, an odd last byte ignored.
pub fn utf16le_all(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Decode UTF-16LE up to the first NUL (the bytes after a terminator are often leftovers).
pub fn utf16le_until_nul(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// Encode as UTF-16LE, no terminator.
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Encode as UTF-16LE with a terminating NUL.
pub fn utf16le_z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// The text of a Windows text file (INF, setupapi, CBS, Report.wer, ntbtlog): UTF-16LE/BE by
/// BOM (or by NUL bytes in every other place), UTF-8 with or without BOM, else ANSI
/// (Windows-1252's Latin-1 subset). A sequence cut at the end is dropped.
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        return utf16le_lossy(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let probe = &bytes[..bytes.len().min(512)];
    let odd_nuls = probe.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    let even_nuls = probe.iter().step_by(2).filter(|b| **b == 0).count();
    if probe.len() >= 4 && odd_nuls * 10 >= (probe.len() / 2) * 9 && even_nuls < odd_nuls / 10 {
        return utf16le_lossy(bytes);
    }
    let rest = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(rest) {
        Ok(s) => s.to_string(),
        Err(e) if e.error_len().is_none() && e.valid_up_to() + 4 > rest.len() => {
            // Cut off inside a UTF-8 sequence.
            String::from_utf8_lossy(&rest[..e.valid_up_to()]).into_owned()
        }
        Err(_) => rest.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A byte count for people: `512 B`, `1.5 MiB` (binary units, one decimal).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Standard base64 (RFC 4648 §4) with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (RFC 4648 §4), ignoring whitespace; `None` on any other character.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_round_trips_and_stops_where_asked() {
        let z = utf16le_z("FileCrypt");
        assert_eq!(z.len(), 20);
        assert_eq!(utf16le_lossy(&z), "FileCrypt");
        let mut leftovers = z.clone();
        leftovers.extend_from_slice(&utf16le_z("junk"));
        assert_eq!(utf16le_until_nul(&leftovers), "FileCrypt");
        assert_eq!(utf16le_lossy(&[0x41, 0x00, 0x42]), "A");
    }

    #[test]
    fn base64_decodes_rfc4648_vectors() {
        assert_eq!(base64_decode("Zm9vYmFy").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base64_decode("Zm9v\r\nYg==").as_deref(), Some(&b"foob"[..]));
        assert_eq!(base64_decode("Zm9v!"), None);
    }
}
