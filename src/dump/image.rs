//! A module image seen by RVA, either in the dump's memory (full/bitmap dumps: the loader's
//! layout) or in a PE file on disk (case folder, symbol store): PE headers, the exception
//! directory (x64 RUNTIME_FUNCTIONs), UNWIND_INFO bytes, exports and the version resource.
//! Only what unwinding and frame naming need; the general PE reader lives in `crate::pe`.

use super::le::{u16_at, u32_at};
use super::memory::Memory;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the image bytes come from.
pub enum ImageSource<'a> {
    /// Mapped at `base` in the dump's virtual memory.
    Memory { memory: &'a Memory, base: u64 },
    /// A PE file: RVAs go through the section table.
    File {
        path: PathBuf,
        bytes: Arc<crate::mapped::Bytes>,
    },
}

/// A section header: virtual range and raw-data range.
#[derive(Clone, Copy, Debug)]
struct Section {
    va: u32,
    vsize: u32,
    raw: u32,
    raw_size: u32,
    characteristics: u32,
}

/// One RUNTIME_FUNCTION (x64: Begin, End, UnwindInfo RVAs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeFunction {
    pub begin: u32,
    pub end: u32,
    pub unwind_info: u32,
}

/// A parsed image.
pub struct Image<'a> {
    source: ImageSource<'a>,
    pub machine: u16,
    pub timestamp: u32,
    pub size_of_image: u32,
    sections: Vec<Section>,
    dirs: Vec<(u32, u32)>,
    functions: Vec<RuntimeFunction>,
    exports: Option<Vec<(u32, String)>>,
}

impl<'a> Image<'a> {
    /// Parse the headers and the exception directory. `None` when no PE header is readable.
    pub fn load(source: ImageSource<'a>) -> Option<Image<'a>> {
        let head = match &source {
            ImageSource::Memory { memory, base } => memory.read_prefix(*base, 0x1000),
            ImageSource::File { bytes, .. } => bytes.get(..0x1000.min(bytes.len()))?.to_vec(),
        };
        if head.get(..2)? != b"MZ" {
            return None;
        }
        let pe = u32_at(&head, 0x3c)? as usize;
        if head.get(pe..pe + 4)? != b"PE\0\0" {
            return None;
        }
        let machine = u16_at(&head, pe + 4)?;
        let nsect = u16_at(&head, pe + 6)? as usize;
        let timestamp = u32_at(&head, pe + 8)?;
        let opt_size = u16_at(&head, pe + 0x14)? as usize;
        let opt = pe + 0x18;
        let magic = u16_at(&head, opt)?;
        let size_of_image = u32_at(&head, opt + 0x38)?;
        let (ndirs_at, dirs_at) = if magic == 0x20b {
            (opt + 0x6c, opt + 0x70)
        } else {
            (opt + 0x5c, opt + 0x60)
        };
        let ndirs = u32_at(&head, ndirs_at)?.min(16) as usize;
        let dirs = (0..ndirs)
            .map(|i| {
                (
                    u32_at(&head, dirs_at + 8 * i).unwrap_or(0),
                    u32_at(&head, dirs_at + 8 * i + 4).unwrap_or(0),
                )
            })
            .collect();
        let sect_at = opt + opt_size;
        let mut sections = Vec::new();
        for i in 0..nsect.min(96) {
            let s = sect_at + 40 * i;
            let Some(vsize) = u32_at(&head, s + 8) else {
                break;
            };
            sections.push(Section {
                vsize,
                va: u32_at(&head, s + 12).unwrap_or(0),
                raw_size: u32_at(&head, s + 16).unwrap_or(0),
                raw: u32_at(&head, s + 20).unwrap_or(0),
                characteristics: u32_at(&head, s + 36).unwrap_or(0),
            });
        }
        let mut image = Image {
            source,
            machine,
            timestamp,
            size_of_image,
            sections,
            dirs,
            functions: Vec::new(),
            exports: None,
        };
        image.functions = image.load_functions();
        Some(image)
    }

    /// Data directory `index`: (rva, size).
    pub fn directory(&self, index: usize) -> Option<(u32, u32)> {
        self.dirs
            .get(index)
            .copied()
            .filter(|d| d.0 != 0 && d.1 != 0)
    }

    /// Whether the image is a reproducible build (an IMAGE_DEBUG_TYPE_REPRO entry in its debug
    /// directory): its TimeDateStamp is then a hash of the build, not a time. `None` when
    /// the debug directory cannot be read.
    pub fn is_reproducible(&self) -> Option<bool> {
        let (rva, size) = self.directory(6)?;
        let n = (size as usize / 28).min(64);
        let bytes = self.read(rva, n * 28)?;
        Some((0..n).any(|i| u32_at(&bytes, i * 28 + 12) == Some(16)))
    }

    /// Whether `rva` lies in a section that holds code (IMAGE_SCN_CNT_CODE or MEM_EXECUTE).
    /// `None` when the section table is unknown.
    pub fn is_code(&self, rva: u32) -> Option<bool> {
        if self.sections.is_empty() {
            return None;
        }
        Some(self.sections.iter().any(|s| {
            rva >= s.va
                && rva - s.va < s.vsize.max(s.raw_size)
                && s.characteristics & 0x2000_0020 != 0
        }))
    }

    /// Read `len` bytes at `rva` (all of them, or `None`).
    pub fn read(&self, rva: u32, len: usize) -> Option<Vec<u8>> {
        match &self.source {
            ImageSource::Memory { memory, base } => {
                memory.read_vec(base.checked_add(u64::from(rva))?, len).ok()
            }
            ImageSource::File { bytes, .. } => {
                let off = self.file_offset(rva)?;
                bytes.get(off..off.checked_add(len)?).map(<[u8]>::to_vec)
            }
        }
    }

    /// As many bytes as are readable at `rva`, up to `len`.
    pub fn read_prefix(&self, rva: u32, len: usize) -> Vec<u8> {
        match &self.source {
            ImageSource::Memory { memory, base } => {
                memory.read_prefix(base.wrapping_add(u64::from(rva)), len)
            }
            ImageSource::File { bytes, .. } => match self.file_offset(rva) {
                Some(off) => bytes
                    .get(off..off.saturating_add(len).min(bytes.len()))
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default(),
                None => Vec::new(),
            },
        }
    }

    fn file_offset(&self, rva: u32) -> Option<usize> {
        for s in &self.sections {
            let span = s.vsize.max(s.raw_size);
            if rva >= s.va && rva - s.va < span {
                let delta = rva - s.va;
                if delta >= s.raw_size {
                    return None;
                }
                return usize::try_from(s.raw.checked_add(delta)?).ok();
            }
        }
        // Headers map 1:1.
        let first = self.sections.iter().map(|s| s.raw).filter(|&r| r > 0).min();
        (rva < first.unwrap_or(0x400)).then_some(rva as usize)
    }

    /// The file this image was read from, if any.
    pub fn file_path(&self) -> Option<&Path> {
        match &self.source {
            ImageSource::File { path, .. } => Some(path),
            ImageSource::Memory { .. } => None,
        }
    }

    fn load_functions(&self) -> Vec<RuntimeFunction> {
        let Some((rva, size)) = self.directory(3) else {
            return Vec::new();
        };
        let raw = self.read_prefix(rva, size.min(16 << 20) as usize);
        if self.machine == 0xaa64 {
            // ARM64: BeginAddress, UnwindData (an .xdata RVA, or packed data when the low
            // bits are 1 or 2); the end comes from the function length.
            let mut v: Vec<RuntimeFunction> = raw
                .chunks_exact(8)
                .filter_map(|c| {
                    let begin = u32_at(c, 0)?;
                    let unwind_info = u32_at(c, 4)?;
                    let end = super::unwind_arm64::function_end(self, begin, unwind_info)?;
                    Some(RuntimeFunction {
                        begin,
                        end,
                        unwind_info,
                    })
                })
                .collect();
            v.sort_by_key(|f| f.begin);
            return v;
        }
        if self.machine != 0x8664 {
            return Vec::new();
        }
        let mut v: Vec<RuntimeFunction> = raw
            .chunks_exact(12)
            .map(|c| RuntimeFunction {
                begin: u32_at(c, 0).unwrap_or(0),
                end: u32_at(c, 4).unwrap_or(0),
                unwind_info: u32_at(c, 8).unwrap_or(0),
            })
            .filter(|f| f.end > f.begin)
            .collect();
        v.sort_by_key(|f| f.begin);
        v
    }

    /// The RUNTIME_FUNCTIONs, sorted by begin address.
    pub fn functions(&self) -> &[RuntimeFunction] {
        &self.functions
    }

    /// Number of RUNTIME_FUNCTIONs read.
    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// The RUNTIME_FUNCTION covering `rva`.
    pub fn function_for(&self, rva: u32) -> Option<RuntimeFunction> {
        let i = self
            .functions
            .partition_point(|f| f.begin <= rva)
            .checked_sub(1)?;
        let f = *self.functions.get(i)?;
        (rva < f.end).then_some(f)
    }

    /// Exported names sorted by RVA (forwarders skipped).
    pub fn exports(&mut self) -> &[(u32, String)] {
        if self.exports.is_none() {
            let v = self.load_exports();
            self.exports = Some(v);
        }
        self.exports.as_deref().unwrap_or(&[])
    }

    fn load_exports(&self) -> Vec<(u32, String)> {
        let Some((rva, size)) = self.directory(0) else {
            return Vec::new();
        };
        let Some(dir) = self.read(rva, 40) else {
            return Vec::new();
        };
        let nfuncs = u32_at(&dir, 0x14).unwrap_or(0).min(1 << 16) as usize;
        let nnames = u32_at(&dir, 0x18).unwrap_or(0).min(1 << 16) as usize;
        let funcs = self.read_prefix(u32_at(&dir, 0x1c).unwrap_or(0), nfuncs * 4);
        let names = self.read_prefix(u32_at(&dir, 0x20).unwrap_or(0), nnames * 4);
        let ords = self.read_prefix(u32_at(&dir, 0x24).unwrap_or(0), nnames * 2);
        let mut out = Vec::new();
        for i in 0..nnames {
            let (Some(name_rva), Some(ord)) = (u32_at(&names, 4 * i), u16_at(&ords, 2 * i)) else {
                break;
            };
            let Some(func) = u32_at(&funcs, 4 * ord as usize) else {
                continue;
            };
            if func >= rva && func < rva.saturating_add(size) {
                continue; // forwarder string, not code
            }
            let raw = self.read_prefix(name_rva, 256);
            let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
            if let Ok(name) = std::str::from_utf8(&raw[..end]) {
                out.push((func, name.to_string()));
            }
        }
        out.sort();
        out
    }

    /// The nearest export at or below `rva` within its RUNTIME_FUNCTION (or, for images
    /// without .pdata, within 64 KiB): `(name, offset)`.
    pub fn export_symbol(&mut self, rva: u32) -> Option<(String, u32)> {
        let func = self.function_for(rva);
        let exports = self.exports();
        let i = exports.partition_point(|e| e.0 <= rva).checked_sub(1)?;
        let (start, name) = exports.get(i)?;
        let ok = match func {
            // A chained entry may start after the export: accept any export inside the image
            // whose own function is the one containing `rva` or precedes it closely.
            Some(f) => *start >= f.begin.saturating_sub(0x10000) && *start <= rva,
            None => rva - start < 0x10000,
        };
        ok.then(|| (name.clone(), rva - start))
    }

    /// FileVersion from VS_FIXEDFILEINFO (RT_VERSION resource), as `a.b.c.d`.
    pub fn version(&self) -> Option<String> {
        let (rva, _) = self.directory(2)?;
        // Root -> type 16 (RT_VERSION) -> first name -> first language -> data entry.
        let mut dir = rva;
        let mut want = Some(16u32);
        for _ in 0..3 {
            let hdr = self.read(dir, 16)?;
            let n = usize::from(u16_at(&hdr, 12)?) + usize::from(u16_at(&hdr, 14)?);
            let entries = self.read(dir.checked_add(16)?, n.min(512) * 8)?;
            let mut next = None;
            for i in 0..n.min(512) {
                let id = u32_at(&entries, 8 * i)?;
                let off = u32_at(&entries, 8 * i + 4)?;
                if want.is_none_or(|w| w == id) {
                    next = Some(off);
                    break;
                }
            }
            let off = next?;
            want = None;
            if off & 0x8000_0000 != 0 {
                dir = rva.checked_add(off & 0x7fff_ffff)?;
            } else {
                // A data entry where a directory was expected: read it.
                dir = rva.checked_add(off)?;
                break;
            }
        }
        let entry = self.read(dir, 8)?;
        let data_rva = u32_at(&entry, 0)?;
        let data = self.read_prefix(data_rva, u32_at(&entry, 4)?.min(0x10000) as usize);
        let sig = 0xfeef_04bd_u32.to_le_bytes();
        let at = data.windows(4).position(|w| w == sig)?;
        let ms = u32_at(&data, at + 8)?;
        let ls = u32_at(&data, at + 12)?;
        Some(format!(
            "{}.{}.{}.{}",
            ms >> 16,
            ms & 0xffff,
            ls >> 16,
            ls & 0xffff
        ))
    }
}

/// Where to look for module images of minidumps: folders searched flat and as symbol stores
/// (`name/TIMESTAMPSIZEOFIMAGE/name`, docs/formats/crash-dump.md §2.10).
#[derive(Clone, Debug, Default)]
pub struct ImageLocator {
    pub folders: Vec<PathBuf>,
    /// Case folders, searched recursively by file name (a case copied from a broken machine
    /// keeps `Windows\System32\drivers\*.sys`).
    pub case_folders: Vec<PathBuf>,
    index: std::sync::OnceLock<std::collections::HashMap<String, Vec<PathBuf>>>,
}

/// A file in the case (or a symbol-path folder) named like a loaded module whose TimeDateStamp
/// or SizeOfImage differ: not the image the dump ran, so not used.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImageMismatch {
    pub module: String,
    pub file: PathBuf,
    pub file_timestamp: u32,
    pub file_size_of_image: u32,
    pub file_version: Option<String>,
    pub dump_timestamp: u32,
    pub dump_size_of_image: u32,
    /// The version of the image the dump ran, when an image of it was at hand.
    pub dump_version: Option<String>,
}

impl ImageMismatch {
    /// "the case's ntoskrnl.exe is 10.0.19041.3636, the dump ran 10.0.19041.3803".
    pub fn sentence(&self) -> String {
        let ours = match &self.file_version {
            Some(v) => format!(
                "{v} (TimeDateStamp {:08x}, SizeOfImage {:#x})",
                self.file_timestamp, self.file_size_of_image
            ),
            None => format!(
                "TimeDateStamp {:08x}, SizeOfImage {:#x}",
                self.file_timestamp, self.file_size_of_image
            ),
        };
        let ran = match &self.dump_version {
            Some(v) => format!(
                "{v} (TimeDateStamp {:08x}, SizeOfImage {:#x})",
                self.dump_timestamp, self.dump_size_of_image
            ),
            None => format!(
                "TimeDateStamp {:08x}, SizeOfImage {:#x}",
                self.dump_timestamp, self.dump_size_of_image
            ),
        };
        format!(
            "the case's {} is {ours}, the dump ran {ran}: {} is not used",
            self.module,
            ran_path(&self.file)
        )
    }
}

fn ran_path(p: &Path) -> String {
    p.display().to_string()
}

impl ImageLocator {
    /// Folders from a symbol path (`srv*C:\cache*https://...;cache*dir;plain`) plus extras.
    /// URLs are ignored: everything here is offline.
    pub fn from_symbol_path(symbol_path: Option<&str>, extra: &[PathBuf]) -> ImageLocator {
        let mut folders: Vec<PathBuf> = extra.to_vec();
        for entry in symbol_path.unwrap_or("").split(';') {
            for part in entry.split('*') {
                let p = part.trim();
                let lower = p.to_ascii_lowercase();
                if p.is_empty()
                    || lower == "srv"
                    || lower == "cache"
                    || lower == "symsrv"
                    || lower.starts_with("http:")
                    || lower.starts_with("https:")
                    || lower.ends_with(".dll")
                {
                    continue;
                }
                folders.push(PathBuf::from(p));
            }
        }
        ImageLocator {
            folders,
            case_folders: extra.to_vec(),
            index: std::sync::OnceLock::new(),
        }
    }

    /// Files under the case folders by lower-case name (bounded depth and count).
    fn index(&self) -> &std::collections::HashMap<String, Vec<PathBuf>> {
        self.index
            .get_or_init(|| crate::input::index_by_name(&self.case_folders, false))
    }

    /// Every file named like `module`: flat in the folders, then anywhere in the case folders.
    fn candidates(&self, module: &super::Module) -> Vec<PathBuf> {
        let name = &module.name;
        let key = module.image_store_key();
        let mut out = Vec::new();
        for dir in &self.folders {
            for c in [
                dir.join(name).join(&key).join(name),
                dir.join(name.to_ascii_lowercase())
                    .join(&key)
                    .join(name.to_ascii_lowercase()),
                dir.join(name),
                dir.join(name.to_ascii_lowercase()),
            ] {
                if c.is_file() && !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        if let Some(v) = self.index().get(&name.to_ascii_lowercase()) {
            for p in v {
                if !out.contains(p) {
                    out.push(p.clone());
                }
            }
        }
        out
    }

    /// Files named like `module` whose TimeDateStamp or SizeOfImage differ from the dump's.
    pub fn mismatches(&self, module: &super::Module) -> Vec<ImageMismatch> {
        let mut out = Vec::new();
        for c in self.candidates(module) {
            let Ok(bytes) = crate::mapped::Bytes::open(&c) else {
                continue;
            };
            let Some(img) = Image::load(ImageSource::File {
                path: c.clone(),
                bytes: Arc::new(bytes),
            }) else {
                continue;
            };
            if img.timestamp == module.timestamp && img.size_of_image == module.size {
                continue;
            }
            out.push(ImageMismatch {
                module: module.name.clone(),
                file_timestamp: img.timestamp,
                file_size_of_image: img.size_of_image,
                file_version: img.version(),
                file: c,
                dump_timestamp: module.timestamp,
                dump_size_of_image: module.size,
                dump_version: None,
            });
        }
        out
    }

    /// The image file of `module` whose TimeDateStamp and SizeOfImage match.
    pub fn find(&self, module: &super::Module) -> Option<(PathBuf, Arc<crate::mapped::Bytes>)> {
        for c in self.candidates(module) {
            let Ok(bytes) = crate::mapped::Bytes::open(&c) else {
                continue;
            };
            let bytes = Arc::new(bytes);
            let ok = Image::load(ImageSource::File {
                path: c.clone(),
                bytes: bytes.clone(),
            })
            .is_some_and(|img| {
                img.timestamp == module.timestamp && img.size_of_image == module.size
            });
            if ok {
                return Some((c, bytes));
            }
        }
        None
    }
}
