//! Symbol-store layout (docs/formats/crash-dump.md §2.11): where a PDB or an image sits in a local store.
//!
//! * PDB: `<store>/<name.pdb>/<GUIDAGE>/<name.pdb>`;
//! * image: `<store>/<name>/<TIMESTAMP:08X><SizeOfImage:x>/<name>`;
//! * an `index2.txt` at the root means the two-tier layout `<store>/<first 2 chars>/<name>/...`;
//! * a `file.ptr` in the key folder holds `PATH:<path>` (or `MSG:<text>`);
//! * a compressed file has its last character replaced by `_` (`name.pd_`, a CAB): found and
//!   reported, not expanded.
//!
//! Stores copied from Windows keep their case; on Linux every component is matched without
//! regard to case.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a lookup found under one key folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreHit {
    /// The file itself.
    File(PathBuf),
    /// A compressed copy (`name.pd_`) that this offline reader does not expand.
    Compressed(PathBuf),
}

/// Case-insensitive directory lookups with a per-directory listing cache.
#[derive(Default)]
pub struct CaseFolder {
    listings: Mutex<HashMap<PathBuf, HashMap<String, PathBuf>>>,
}

impl CaseFolder {
    /// `dir/name`, matched exactly first and then without regard to case.
    pub fn child(&self, dir: &Path, name: &str) -> Option<PathBuf> {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return None;
        }
        let exact = dir.join(name);
        if exact.exists() {
            return Some(exact);
        }
        let mut cache = self.listings.lock().ok()?;
        let listing = cache.entry(dir.to_path_buf()).or_insert_with(|| {
            let mut m = HashMap::new();
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    if let Some(n) = e.file_name().to_str() {
                        m.insert(n.to_ascii_lowercase(), e.path());
                    }
                }
            }
            m
        });
        listing.get(&name.to_ascii_lowercase()).cloned()
    }

    /// Follow `parts` from `root`, each matched without regard to case.
    pub fn walk(&self, root: &Path, parts: &[&str]) -> Option<PathBuf> {
        let mut p = root.to_path_buf();
        for part in parts {
            p = self.child(&p, part)?;
        }
        Some(p)
    }
}

/// The compressed spelling of a store file name: last character replaced by `_`.
fn compressed_name(name: &str) -> Option<String> {
    let mut s = name.to_string();
    s.pop()?;
    s.push('_');
    Some(s)
}

/// Read a `file.ptr`: `PATH:<path>` gives the file's location.
fn read_file_ptr(path: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().next()?.trim();
    let target = line.strip_prefix("PATH:")?.trim();
    let p = PathBuf::from(target);
    p.is_file().then_some(p)
}

/// Look `file_name` up under `key` in the store at `root`.
pub fn lookup(folders: &CaseFolder, root: &Path, file_name: &str, key: &str) -> Option<StoreHit> {
    let mut tiers: Vec<PathBuf> = vec![root.to_path_buf()];
    // Two-tier stores index by the first two characters of the file name.
    if folders.child(root, "index2.txt").is_some() {
        let prefix: String = file_name.chars().take(2).collect();
        if let Some(t) = folders.child(root, &prefix) {
            tiers.insert(0, t);
        }
    }
    for tier in tiers {
        let Some(key_dir) = folders.walk(&tier, &[file_name, key]) else {
            continue;
        };
        if let Some(f) = folders.child(&key_dir, file_name).filter(|f| f.is_file()) {
            return Some(StoreHit::File(f));
        }
        if let Some(f) = folders
            .child(&key_dir, "file.ptr")
            .and_then(|p| read_file_ptr(&p))
        {
            return Some(StoreHit::File(f));
        }
        if let Some(f) = compressed_name(file_name).and_then(|c| folders.child(&key_dir, &c)) {
            return Some(StoreHit::Compressed(f));
        }
    }
    None
}

/// The store key of an image: `%08X` TimeDateStamp then `%x` SizeOfImage.
pub fn image_key(timestamp: u32, size_of_image: u32) -> String {
    format!("{timestamp:08X}{size_of_image:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_case_pointer_compressed_two_tier() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let f = CaseFolder::default();
        // Plain store, written with Windows case.
        let d = root.join("s1/XCPT4.pdb/C8C2329E0E9949E68B6F132BECA69E7E1");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("XCPT4.pdb"), b"x").unwrap();
        assert_eq!(
            lookup(
                &f,
                &root.join("s1"),
                "xcpt4.pdb",
                "c8c2329e0e9949e68b6f132beca69e7e1"
            ),
            Some(StoreHit::File(d.join("XCPT4.pdb")))
        );
        // Image key and file.ptr.
        assert_eq!(image_key(0x6252_4d63, 0xe000), "62524D63e000");
        let d = root.join("s1/ntoskrnl.exe/62524D63e000");
        std::fs::create_dir_all(&d).unwrap();
        let real = root.join("elsewhere.exe");
        std::fs::write(&real, b"MZ").unwrap();
        std::fs::write(d.join("file.ptr"), format!("PATH:{}\n", real.display())).unwrap();
        assert_eq!(
            lookup(&f, &root.join("s1"), "ntoskrnl.exe", "62524D63e000"),
            Some(StoreHit::File(real))
        );
        // Compressed.
        let d = root.join("s1/amdppm.pdb/ABC1");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("amdppm.pd_"), b"MSCF").unwrap();
        assert_eq!(
            lookup(&f, &root.join("s1"), "amdppm.pdb", "ABC1"),
            Some(StoreHit::Compressed(d.join("amdppm.pd_")))
        );
        // Two-tier.
        let s2 = root.join("s2");
        std::fs::create_dir_all(s2.join("nt/ntkrnlmp.pdb/K1")).unwrap();
        std::fs::write(s2.join("index2.txt"), b"").unwrap();
        std::fs::write(s2.join("nt/ntkrnlmp.pdb/K1/ntkrnlmp.pdb"), b"x").unwrap();
        assert_eq!(
            lookup(&f, &s2, "ntkrnlmp.pdb", "K1"),
            Some(StoreHit::File(s2.join("nt/ntkrnlmp.pdb/K1/ntkrnlmp.pdb")))
        );
        // Misses and hostile names.
        assert_eq!(lookup(&f, &s2, "ntkrnlmp.pdb", "K2"), None);
        assert_eq!(lookup(&f, &s2, "../s1", "K1"), None);
    }
}
