//! Authenticode digests of PE images (the catalog lookup keys) and flat file hashes.
//!
//! Algorithm (Microsoft "Windows Authenticode Portable Executable Signature Format", §"Calculating
//! the PE Image Hash"; reference integrity-and-signing.md §3.3a): hash the headers up to the
//! CheckSum field, skip it (4 bytes), hash up to the Certificate Table data-directory entry, skip
//! it (8 bytes), hash the rest of the headers up to SizeOfHeaders, then every section's raw data
//! in PointerToRawData order, then any data after the sections except the certificate table.

use serde::Serialize;
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// Why a file has no Authenticode digest: not a PE image, or its headers point outside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable PE image: at byte offset {offset:#x}: expected {expected}")]
pub struct PeLayoutError {
    pub offset: usize,
    pub expected: String,
}

fn err(offset: usize, expected: impl Into<String>) -> PeLayoutError {
    PeLayoutError {
        offset,
        expected: expected.into(),
    }
}

/// What the Authenticode digest needs from the PE headers (PE/COFF spec: DOS e_lfanew at 0x3c,
/// COFF header 20 bytes, optional header magic 0x10b PE32 / 0x20b PE32+, CheckSum at +64,
/// data directories at +96 / +112, the Certificate Table is entry 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeLayout {
    pub machine: u16,
    pub pe32_plus: bool,
    pub checksum_offset: usize,
    /// File offset of the Certificate Table directory entry (absent with < 5 directories).
    pub security_entry_offset: Option<usize>,
    pub size_of_headers: usize,
    /// (PointerToRawData, SizeOfRawData) of every section with raw data.
    pub sections: Vec<(usize, usize)>,
    /// The certificate table as (file offset, size), when the directory entry is non-empty.
    pub cert_table: Option<(usize, usize)>,
}

fn u16_at(b: &[u8], off: usize) -> Result<u16, PeLayoutError> {
    b.get(off..off + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| err(off, "2 bytes of header"))
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, PeLayoutError> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| err(off, "4 bytes of header"))
}

fn to_usize(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl PeLayout {
    /// Read the layout from the file bytes; every offset is checked against the file size.
    pub fn parse(b: &[u8]) -> Result<PeLayout, PeLayoutError> {
        if b.get(..2) != Some(b"MZ") {
            return Err(err(0, "the DOS signature MZ"));
        }
        let pe = to_usize(u32_at(b, 0x3c)?);
        if b.get(pe..pe + 4) != Some(b"PE\0\0") {
            return Err(err(pe, "the PE signature PE\\0\\0 at e_lfanew"));
        }
        let coff = pe + 4;
        let machine = u16_at(b, coff)?;
        let n_sections = usize::from(u16_at(b, coff + 2)?);
        let opt_size = usize::from(u16_at(b, coff + 16)?);
        let opt = coff + 20;
        let magic = u16_at(b, opt)?;
        let (pe32_plus, dirs_at, n_dirs_at) = match magic {
            0x10b => (false, opt + 96, opt + 92),
            0x20b => (true, opt + 112, opt + 108),
            _ => {
                return Err(err(
                    opt,
                    format!("optional header magic 0x10b or 0x20b (found {magic:#x})"),
                ));
            }
        };
        let checksum_offset = opt + 64;
        u32_at(b, checksum_offset)?;
        let size_of_headers = to_usize(u32_at(b, opt + 60)?);
        if size_of_headers > b.len() || size_of_headers < checksum_offset + 4 {
            return Err(err(
                opt + 60,
                "SizeOfHeaders within the file and past the CheckSum",
            ));
        }
        let n_dirs = to_usize(u32_at(b, n_dirs_at)?);
        let (security_entry_offset, cert_table) = if n_dirs > 4 {
            let entry = dirs_at + 4 * 8;
            let off = to_usize(u32_at(b, entry)?);
            let size = to_usize(u32_at(b, entry + 4)?);
            let table = if off != 0 && size != 0 {
                if off.checked_add(size).is_none_or(|end| end > b.len()) {
                    return Err(err(entry, "a certificate table within the file"));
                }
                Some((off, size))
            } else {
                None
            };
            (Some(entry), table)
        } else {
            (None, None)
        };
        let sec_table = opt + opt_size;
        let mut sections = Vec::with_capacity(n_sections);
        for i in 0..n_sections {
            let h = sec_table + i * 40;
            let size = to_usize(u32_at(b, h + 16)?);
            let ptr = to_usize(u32_at(b, h + 20)?);
            if size == 0 {
                continue;
            }
            if ptr.checked_add(size).is_none_or(|end| end > b.len()) {
                return Err(err(h + 16, format!("section {i} raw data within the file")));
            }
            sections.push((ptr, size));
        }
        sections.sort_unstable();
        Ok(PeLayout {
            machine,
            pe32_plus,
            checksum_offset,
            security_entry_offset,
            size_of_headers,
            sections,
            cert_table,
        })
    }

    /// The byte ranges hashed for the Authenticode digest, in order.
    pub fn digest_ranges(&self, file_len: usize) -> Vec<(usize, usize)> {
        let mut ranges = Vec::with_capacity(self.sections.len() + 4);
        let after_checksum = self.checksum_offset + 4;
        ranges.push((0, self.checksum_offset));
        match self.security_entry_offset {
            Some(sec) if sec + 8 <= self.size_of_headers => {
                ranges.push((after_checksum, sec));
                ranges.push((sec + 8, self.size_of_headers));
            }
            _ => ranges.push((after_checksum, self.size_of_headers)),
        }
        let mut hashed = self.size_of_headers;
        for &(ptr, size) in &self.sections {
            ranges.push((ptr, ptr + size));
            hashed = hashed.saturating_add(size);
        }
        // The spec hashes (file size - certificate table size - bytes hashed so far) bytes.
        let end = file_len.saturating_sub(self.cert_table.map_or(0, |(_, size)| size));
        if end > hashed {
            ranges.push((hashed, end));
        }
        ranges
    }
}

/// Authenticode and flat digests of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthenticodeHashes {
    #[serde(serialize_with = "ser_hex")]
    pub sha1: [u8; 20],
    #[serde(serialize_with = "ser_hex")]
    pub sha256: [u8; 32],
    #[serde(serialize_with = "ser_hex")]
    pub flat_sha1: [u8; 20],
    #[serde(serialize_with = "ser_hex")]
    pub flat_sha256: [u8; 32],
}

fn ser_hex<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&super::der::hex_upper(v))
}

/// The Authenticode SHA1 and SHA256 of a PE image, and its flat SHA1/SHA256.
pub fn authenticode_hashes(bytes: &[u8]) -> Result<AuthenticodeHashes, PeLayoutError> {
    let layout = PeLayout::parse(bytes)?;
    Ok(hashes_with_layout(bytes, &layout))
}

/// As [`authenticode_hashes`] with a layout already read.
pub fn hashes_with_layout(bytes: &[u8], layout: &PeLayout) -> AuthenticodeHashes {
    let mut s1 = Sha1::new();
    let mut s256 = Sha256::new();
    for (start, end) in layout.digest_ranges(bytes.len()) {
        if let Some(chunk) = bytes.get(start..end) {
            s1.update(chunk);
            s256.update(chunk);
        }
    }
    let (flat_sha1, flat_sha256) = flat_hashes(bytes);
    AuthenticodeHashes {
        sha1: s1.finalize().into(),
        sha256: s256.finalize().into(),
        flat_sha1,
        flat_sha256,
    }
}

/// SHA1 and SHA256 of the whole file (flat-file catalog members such as INFs use these).
pub fn flat_hashes(bytes: &[u8]) -> ([u8; 20], [u8; 32]) {
    (Sha1::digest(bytes).into(), Sha256::digest(bytes).into())
}

/// The Authenticode digest with a named algorithm (`sha1`, `sha256`, `sha384`, `sha512`).
pub fn authenticode_digest(bytes: &[u8], layout: &PeLayout, algorithm: &str) -> Option<Vec<u8>> {
    fn run<D: Digest>(bytes: &[u8], ranges: &[(usize, usize)]) -> Vec<u8> {
        let mut d = D::new();
        for &(s, e) in ranges {
            if let Some(chunk) = bytes.get(s..e) {
                d.update(chunk);
            }
        }
        d.finalize().to_vec()
    }
    let ranges = layout.digest_ranges(bytes.len());
    match algorithm {
        "sha1" => Some(run::<Sha1>(bytes, &ranges)),
        "sha256" => Some(run::<Sha256>(bytes, &ranges)),
        "sha384" => Some(run::<sha2::Sha384>(bytes, &ranges)),
        "sha512" => Some(run::<sha2::Sha512>(bytes, &ranges)),
        _ => None,
    }
}

/// The PE CheckSum as the loader computes it (16-bit one's-complement sum of the file's
/// words, CheckSum field taken as zero, plus the file length): used by the writer and to report
/// a stale checksum.
pub fn pe_checksum(bytes: &[u8], checksum_offset: usize) -> u32 {
    let mut sum: u64 = 0;
    for (i, chunk) in bytes.chunks(2).enumerate() {
        let off = i * 2;
        if off == checksum_offset || off == checksum_offset + 2 {
            continue;
        }
        let w = match chunk {
            [a, b] => u16::from_le_bytes([*a, *b]),
            [a] => u16::from(*a),
            _ => 0,
        };
        sum += u64::from(w);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum = (sum & 0xffff) + (sum >> 16);
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    u32::try_from((sum & 0xffff).wrapping_add(len) & 0xffff_ffff).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_pe_input_is_an_error_with_an_offset() {
        assert_eq!(PeLayout::parse(b"").map_err(|e| e.offset), Err(0));
        let mut b = vec![0u8; 0x100];
        b[0] = b'M';
        b[1] = b'Z';
        b[0x3c] = 0x80;
        let e = PeLayout::parse(&b).expect_err("no PE signature");
        assert_eq!(e.offset, 0x80);
        b[0x3c] = 0xff;
        b[0x3d] = 0xff;
        assert!(PeLayout::parse(&b).is_err());
    }
}
