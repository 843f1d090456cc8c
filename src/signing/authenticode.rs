//! Authenticode digests of PE images (the catalog lookup keys) and flat file hashes.
//!
//! Algorithm (Microsoft "Windows Authenticode Portable Executable Signature Format", §"Calculating
//! the PE Image Hash"; docs/formats/signing.md §3.3a): hash the headers up to the
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

impl From<crate::pe::PeError> for PeLayoutError {
    fn from(e: crate::pe::PeError) -> PeLayoutError {
        use crate::pe::PeError;
        let offset = match &e {
            PeError::NotMz { .. } => 0,
            PeError::BadLfanew { .. } => 0x3c,
            PeError::NotPe { offset }
            | PeError::Truncated { offset, .. }
            | PeError::BadMagic { offset, .. } => *offset,
        };
        err(offset, format!("PE headers ({e})"))
    }
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

fn to_usize(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl PeLayout {
    /// Read the layout from the file bytes (headers through [`crate::pe::Pe`]); the certificate
    /// table and every section's raw data must lie within the file, as Windows requires.
    pub fn parse(b: &[u8]) -> Result<PeLayout, PeLayoutError> {
        use crate::pe::{Layout, Pe};
        let pe = Pe::parse(b, Layout::File).map_err(PeLayoutError::from)?;
        PeLayout::from_pe(&pe)
    }

    /// The layout of an image already parsed (file layout).
    pub fn from_pe(pe: &crate::pe::Pe<'_>) -> Result<PeLayout, PeLayoutError> {
        let b = pe.data();
        let h = pe.headers();
        let checksum_offset = h.checksum_offset;
        let size_of_headers = to_usize(h.size_of_headers);
        if size_of_headers > b.len() || size_of_headers < checksum_offset + 4 {
            return Err(err(
                checksum_offset - 4,
                "SizeOfHeaders within the file and past the CheckSum",
            ));
        }
        let has_security_entry = h.data_directories.len() > crate::pe::dir::SECURITY;
        let security_entry_offset =
            has_security_entry.then(|| pe.security_directory_entry_offset());
        let cert_table = match pe.security_directory() {
            Some((off, size)) => {
                let (off, size) = (to_usize(off), to_usize(size));
                if off.checked_add(size).is_none_or(|end| end > b.len()) {
                    return Err(err(
                        security_entry_offset.unwrap_or(0),
                        "a certificate table within the file",
                    ));
                }
                Some((off, size))
            }
            None => None,
        };
        let mut sections = Vec::with_capacity(h.sections.len());
        for (i, s) in h.sections.iter().enumerate() {
            let (ptr, size) = (to_usize(s.raw_offset), to_usize(s.raw_size));
            if size == 0 {
                continue;
            }
            if ptr.checked_add(size).is_none_or(|end| end > b.len()) {
                return Err(err(
                    ptr,
                    format!("section {i} ({}) raw data within the file", s.name),
                ));
            }
            sections.push((ptr, size));
        }
        sections.sort_unstable();
        Ok(PeLayout {
            machine: h.machine,
            pe32_plus: h.is_pe32_plus,
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
