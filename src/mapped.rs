//! Read-only memory maps of case files: the one place that needs `unsafe`.

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

/// The bytes of a file, memory-mapped read-only (or held in memory for inflated archive entries).
pub enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    /// Map `path` read-only. Empty files are held as an empty vector (mmap refuses length 0).
    pub fn open(path: &Path) -> std::io::Result<Bytes> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(Bytes::Owned(Vec::new()));
        }
        #[allow(unsafe_code)]
        // SAFETY: the map is read-only and private to this process; case files are evidence copies
        // that nobody writes while we read them. A concurrent truncation could fault (SIGBUS);
        // that is the documented price of memmap2 and is accepted for speed on multi-GiB files.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Bytes::Mapped(map))
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes::Owned(v)
    }
}
