//! A panic-free PE32/PE32+ reader over `&[u8]`, for files on disk and for images mapped in memory.
//!
//! What the workbench needs from an image: identity (machine, timestamp, size of image, checksum),
//! kind (driver, executable, DLL), sections and RVA translation, the data directories (the
//! security directory for Authenticode), the x64 exception directory (`.pdata` RUNTIME_FUNCTIONs and
//! their UNWIND_INFO) for stack unwinding, the CodeView record for symbol-store lookup, exports for
//! symbolization without a PDB, and the version resource for IMAGE_VERSION.
//!
//! Format facts: Microsoft's "PE Format" specification (learn.microsoft.com, `windows/win32/debug/pe-format`)
//! for headers, directories, exports, debug entries and resources; "x64 exception handling" for
//! RUNTIME_FUNCTION / UNWIND_INFO (summarised in docs/formats/crash-dump.md §2.10);
//! `VS_VERSIONINFO` / `VS_FIXEDFILEINFO` from the Win32 version-information docs.
//!
//! Every read is bounds-checked: bad input gives an error for the headers (nothing else can be read
//! without them) and `None`/empty results plus [`Pe::warnings`] for everything after.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where an image's bytes come from: a file on disk, or a loaded (mapped) image where offset = RVA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Layout {
    /// The file as stored: sections at their PointerToRawData.
    File,
    /// The image as loaded (a crash dump's memory, a mapped module): sections at their RVA.
    Mapped,
}

/// Why the headers of an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PeError {
    #[error("offset 0x0: expected the DOS signature `MZ`, found {found:02x?}")]
    NotMz { found: Vec<u8> },
    #[error("offset 0x3c: e_lfanew 0x{e_lfanew:x} points outside the {len}-byte image")]
    BadLfanew { e_lfanew: u32, len: usize },
    #[error("offset 0x{offset:x}: expected the NT signature `PE\\0\\0`")]
    NotPe { offset: usize },
    #[error("offset 0x{offset:x}: truncated {what} (needs {need} bytes, image has {len})")]
    Truncated {
        offset: usize,
        what: &'static str,
        need: usize,
        len: usize,
    },
    #[error(
        "offset 0x{offset:x}: unknown optional-header magic 0x{magic:x} (expected 0x10b or 0x20b)"
    )]
    BadMagic { offset: usize, magic: u16 },
}

/// A PE file that could not be opened or whose headers could not be read, with its path.
#[derive(Debug, thiserror::Error)]
pub enum PeFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Pe { path: PathBuf, source: PeError },
}

// Little-endian reads that return None past the end: the only way this module touches bytes.
use crate::le::{u8_at, u16_at, u32_at, u64_at};
/// A NUL-terminated byte string starting at `off` (at most `max` bytes), lossily decoded.
fn cstr_at(d: &[u8], off: usize, max: usize) -> Option<String> {
    let rest = d.get(off..)?;
    let rest = &rest[..rest.len().min(max)];
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// IMAGE_FILE_MACHINE_* values seen on Windows systems.
pub mod machine {
    pub const I386: u16 = 0x014c;
    pub const AMD64: u16 = 0x8664;
    pub const ARM64: u16 = 0xaa64;
    pub const ARMNT: u16 = 0x01c4;
    pub const IA64: u16 = 0x0200;
}

/// The name of an IMAGE_FILE_MACHINE value (`x64`, `x86`, `ARM64`...).
pub fn machine_name(m: u16) -> Option<&'static str> {
    Some(match m {
        machine::I386 => "x86",
        machine::AMD64 => "x64",
        machine::ARM64 => "ARM64",
        machine::ARMNT => "ARM",
        machine::IA64 => "IA64",
        0xa641 => "ARM64EC",
        _ => return None,
    })
}

/// IMAGE_SUBSYSTEM_* values that matter here.
pub mod subsystem {
    pub const NATIVE: u16 = 1;
    pub const WINDOWS_GUI: u16 = 2;
    pub const WINDOWS_CUI: u16 = 3;
    pub const EFI_APPLICATION: u16 = 10;
    pub const EFI_BOOT_SERVICE_DRIVER: u16 = 11;
    pub const EFI_RUNTIME_DRIVER: u16 = 12;
}

/// The name of an IMAGE_SUBSYSTEM value.
pub fn subsystem_name(s: u16) -> Option<&'static str> {
    Some(match s {
        0 => "unknown",
        1 => "native",
        2 => "windows-gui",
        3 => "windows-cui",
        5 => "os2-cui",
        7 => "posix-cui",
        8 => "native-windows",
        9 => "windows-ce-gui",
        10 => "efi-application",
        11 => "efi-boot-service-driver",
        12 => "efi-runtime-driver",
        13 => "efi-rom",
        14 => "xbox",
        16 => "windows-boot-application",
        _ => return None,
    })
}

/// IMAGE_FILE_DLL in the COFF Characteristics.
pub const CHARACTERISTICS_DLL: u16 = 0x2000;
/// IMAGE_DLLCHARACTERISTICS_WDM_DRIVER in the optional header's DllCharacteristics.
pub const DLLCHARACTERISTICS_WDM_DRIVER: u16 = 0x2000;

/// Data directory indexes (the PE spec's "Optional Header Data Directories").
pub mod dir {
    pub const EXPORT: usize = 0;
    pub const IMPORT: usize = 1;
    pub const RESOURCE: usize = 2;
    pub const EXCEPTION: usize = 3;
    /// The certificate table: its "RVA" is a file offset, and it is not mapped.
    pub const SECURITY: usize = 4;
    pub const BASERELOC: usize = 5;
    pub const DEBUG: usize = 6;
}

/// What an image is, for the workbench's purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ImageKind {
    /// Native subsystem with the WDM flag or a `.sys` name: a kernel driver.
    Driver,
    /// Native subsystem, DLL flag (hal.dll, kdcom.dll, ci.dll: kernel export libraries).
    KernelDll,
    /// Native subsystem, not a DLL (ntoskrnl.exe, smss.exe, autochk.exe).
    NativeExecutable,
    /// A user-mode DLL.
    Dll,
    /// A user-mode program.
    Executable,
    /// An EFI image (boot manager, firmware drivers).
    Efi,
}

/// One section header (40 bytes each, after the optional header).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    pub name: String,
    pub virtual_address: u32,
    pub virtual_size: u32,
    pub raw_offset: u32,
    pub raw_size: u32,
    pub characteristics: u32,
}

impl Section {
    /// IMAGE_SCN_MEM_EXECUTE.
    pub fn is_executable(&self) -> bool {
        self.characteristics & 0x2000_0000 != 0
    }
    /// The extent of the section in memory: VirtualSize, or SizeOfRawData when VirtualSize is 0.
    pub fn mapped_size(&self) -> u32 {
        if self.virtual_size == 0 {
            self.raw_size
        } else {
            self.virtual_size
        }
    }
    /// Whether `rva` falls inside the section as loaded.
    pub fn contains_rva(&self, rva: u32) -> bool {
        rva >= self.virtual_address
            && u64::from(rva) < u64::from(self.virtual_address) + u64::from(self.mapped_size())
    }
}

/// One data directory entry: RVA (a file offset for the security directory) and size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DataDirectory {
    pub rva: u32,
    pub size: u32,
}

/// The headers of an image: everything that does not need a directory walk.
#[derive(Clone, Debug, Serialize)]
pub struct PeHeaders {
    /// e_lfanew: file offset of `PE\0\0`.
    pub nt_offset: usize,
    pub machine: u16,
    pub timestamp: u32,
    /// COFF Characteristics (IMAGE_FILE_*).
    pub characteristics: u16,
    /// PE32+ (64-bit optional header) rather than PE32.
    pub is_pe32_plus: bool,
    pub entry_point: u32,
    pub image_base: u64,
    pub section_alignment: u32,
    pub file_alignment: u32,
    pub size_of_image: u32,
    pub size_of_headers: u32,
    pub checksum: u32,
    /// File offset of the CheckSum field (Authenticode skips these 4 bytes).
    pub checksum_offset: usize,
    pub subsystem: u16,
    pub dll_characteristics: u16,
    pub major_os_version: u16,
    pub minor_os_version: u16,
    pub data_directories: Vec<DataDirectory>,
    /// File offset of the first data directory entry (entry `i` is at `+ 8 * i`).
    pub data_directories_offset: usize,
    pub sections: Vec<Section>,
}

/// A parsed image over borrowed bytes.
#[derive(Clone, Debug)]
pub struct Pe<'a> {
    data: &'a [u8],
    layout: Layout,
    headers: PeHeaders,
    warnings: Vec<String>,
}

/// One x64 `.pdata` entry: RVAs of the function start, its end (exclusive) and its UNWIND_INFO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RuntimeFunction {
    pub begin: u32,
    pub end: u32,
    pub unwind_info: u32,
}

/// One ARM64 `.pdata` entry: function start RVA and either packed unwind data (flag bits 0..2
/// non-zero) or the RVA of an `.xdata` record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Arm64RuntimeFunction {
    pub begin: u32,
    pub unwind_data: u32,
}

/// UNWIND_INFO flag: an exception handler follows.
pub const UNW_FLAG_EHANDLER: u8 = 1;
/// UNWIND_INFO flag: a termination handler follows.
pub const UNW_FLAG_UHANDLER: u8 = 2;
/// UNWIND_INFO flag: a chained RUNTIME_FUNCTION follows instead of a handler.
pub const UNW_FLAG_CHAININFO: u8 = 4;

/// A decoded x64 UNWIND_INFO (layout in docs/formats/crash-dump.md §2.10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnwindInfo {
    pub version: u8,
    pub flags: u8,
    pub size_of_prolog: u8,
    pub count_of_codes: u8,
    pub frame_register: u8,
    /// Already scaled: the offset in bytes (FrameOffset × 16).
    pub frame_offset: u32,
    /// The raw 16-bit UNWIND_CODE slots, `count_of_codes` of them.
    pub slots: Vec<u16>,
    /// The chained parent entry when `flags & UNW_FLAG_CHAININFO`.
    pub chained: Option<RuntimeFunction>,
    /// The language handler RVA when `flags & (EHANDLER|UHANDLER)`.
    pub handler: Option<u32>,
}

/// One unwind operation, decoded from one to three slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UnwindOp {
    PushNonvol {
        reg: u8,
    },
    /// Stack allocation in bytes (ALLOC_SMALL and ALLOC_LARGE).
    Alloc {
        size: u32,
    },
    SetFpreg,
    /// A non-volatile register saved at `[frame base + offset]`.
    SaveNonvol {
        reg: u8,
        offset: u32,
    },
    SaveXmm128 {
        reg: u8,
        offset: u32,
    },
    /// A machine frame; `error_code` when OpInfo = 1 (an error code was pushed too).
    PushMachframe {
        error_code: bool,
    },
    /// Version 2 epilog descriptors and spare codes: nothing to undo in a prolog walk.
    Epilog,
    /// An op number this reader does not know.
    Unknown {
        op: u8,
        info: u8,
    },
}

/// A decoded unwind code: its prolog offset and operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct UnwindCode {
    /// Offset in the prolog of the end of the instruction this code undoes.
    pub code_offset: u8,
    pub op: UnwindOp,
}

impl UnwindInfo {
    /// Decode UNWIND_INFO bytes (as returned by [`Pe::unwind_info_bytes`]).
    pub fn parse(b: &[u8]) -> Option<UnwindInfo> {
        let v = u8_at(b, 0)?;
        let count = u8_at(b, 2)?;
        let fr = u8_at(b, 3)?;
        let flags = v >> 3;
        let mut slots = Vec::with_capacity(usize::from(count));
        for i in 0..usize::from(count) {
            slots.push(u16_at(b, 4 + 2 * i)?);
        }
        // The slot array is padded to an even count before the trailer.
        let trailer = 4 + 2 * (usize::from(count) + usize::from(count) % 2);
        let chained = if flags & UNW_FLAG_CHAININFO != 0 {
            Some(RuntimeFunction {
                begin: u32_at(b, trailer)?,
                end: u32_at(b, trailer + 4)?,
                unwind_info: u32_at(b, trailer + 8)?,
            })
        } else {
            None
        };
        let handler = if chained.is_none() && flags & (UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER) != 0 {
            u32_at(b, trailer)
        } else {
            None
        };
        Some(UnwindInfo {
            version: v & 7,
            flags,
            size_of_prolog: u8_at(b, 1)?,
            count_of_codes: count,
            frame_register: fr & 0xf,
            frame_offset: u32::from(fr >> 4) * 16,
            slots,
            chained,
            handler,
        })
    }

    /// The unwind codes in stored order (descending prolog offset), multi-slot ops folded.
    /// Stops at a code whose extra slots are missing.
    pub fn codes(&self) -> Vec<UnwindCode> {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(&slot) = self.slots.get(i) {
            let code_offset = (slot & 0xff) as u8;
            let op = ((slot >> 8) & 0xf) as u8;
            let info = (slot >> 12) as u8;
            let next = |k: usize| self.slots.get(i + k).map(|&s| u32::from(s));
            let (decoded, used) = match op {
                0 => (UnwindOp::PushNonvol { reg: info }, 1),
                1 if info == 0 => match next(1) {
                    Some(s) => (UnwindOp::Alloc { size: s * 8 }, 2),
                    None => break,
                },
                1 => match (next(1), next(2)) {
                    (Some(lo), Some(hi)) => (
                        UnwindOp::Alloc {
                            size: lo | (hi << 16),
                        },
                        3,
                    ),
                    _ => break,
                },
                2 => (
                    UnwindOp::Alloc {
                        size: u32::from(info) * 8 + 8,
                    },
                    1,
                ),
                3 => (UnwindOp::SetFpreg, 1),
                4 => match next(1) {
                    Some(s) => (
                        UnwindOp::SaveNonvol {
                            reg: info,
                            offset: s * 8,
                        },
                        2,
                    ),
                    None => break,
                },
                5 => match (next(1), next(2)) {
                    (Some(lo), Some(hi)) => (
                        UnwindOp::SaveNonvol {
                            reg: info,
                            offset: lo | (hi << 16),
                        },
                        3,
                    ),
                    _ => break,
                },
                // Version 2 EPILOG takes one slot; op 7 (SPARE) takes two.
                6 => (UnwindOp::Epilog, 1),
                7 => (UnwindOp::Epilog, 2),
                8 => match next(1) {
                    Some(s) => (
                        UnwindOp::SaveXmm128 {
                            reg: info,
                            offset: s * 16,
                        },
                        2,
                    ),
                    None => break,
                },
                9 => match (next(1), next(2)) {
                    (Some(lo), Some(hi)) => (
                        UnwindOp::SaveXmm128 {
                            reg: info,
                            offset: lo | (hi << 16),
                        },
                        3,
                    ),
                    _ => break,
                },
                10 => (
                    UnwindOp::PushMachframe {
                        error_code: info == 1,
                    },
                    1,
                ),
                _ => (UnwindOp::Unknown { op, info }, 1),
            };
            out.push(UnwindCode {
                code_offset,
                op: decoded,
            });
            i += used;
        }
        out
    }
}

/// The PDB identity from the debug directory's CodeView entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct CodeView {
    /// The PDB path as the linker wrote it (often a build machine path).
    pub pdb_path: String,
    /// The GUID as stored (Data1..Data3 little-endian, Data4 bytes). Zero for NB10 records.
    pub guid: [u8; 16],
    pub age: u32,
    /// The NB10 signature (a timestamp) when the record is the old NB10 kind.
    pub nb10_signature: Option<u32>,
}

impl CodeView {
    /// The PDB file name (the last component of `pdb_path`, either separator).
    pub fn pdb_name(&self) -> &str {
        self.pdb_path
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(&self.pdb_path)
    }

    /// The GUID in the registry spelling, e.g. `c8c2329e-0e99-49e6-8b6f-132beca69e7e`.
    pub fn guid_string(&self) -> String {
        let g = &self.guid;
        format!(
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
            u16::from_le_bytes([g[4], g[5]]),
            u16::from_le_bytes([g[6], g[7]]),
            g[8],
            g[9],
            g[10],
            g[11],
            g[12],
            g[13],
            g[14],
            g[15]
        )
    }

    /// The symbol-store directory name: GUID as `%08X%04X%04X` + Data4 in hex, then the age in
    /// hex without padding (`GUIDAGE`); for NB10, `%08X` signature + age.
    pub fn store_key(&self) -> String {
        if let Some(sig) = self.nb10_signature {
            return format!("{sig:08X}{:X}", self.age);
        }
        let compact: String = self.guid_string().chars().filter(|c| *c != '-').collect();
        format!("{}{:X}", compact.to_ascii_uppercase(), self.age)
    }
}

/// One exported symbol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Export {
    /// None for an export by ordinal only.
    pub name: Option<String>,
    /// The biased ordinal (Base + index), as `dumpbin` and `link /def` show it.
    pub ordinal: u32,
    pub rva: u32,
    /// `DLL.Function` when the export forwards elsewhere (its RVA points into the export directory).
    pub forwarder: Option<String>,
}

/// The exports of an image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Exports {
    /// The DLL name in the export directory (e.g. `ntoskrnl.exe`).
    pub dll_name: Option<String>,
    pub base: u32,
    pub entries: Vec<Export>,
}

/// The version resource (VS_VERSIONINFO): the fixed versions and the first string table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// VS_FIXEDFILEINFO dwFileVersionMS/LS as four parts.
    pub fixed_file_version: Option<[u16; 4]>,
    pub fixed_product_version: Option<[u16; 4]>,
    /// The StringFileInfo key (language + code page, e.g. `040904b0`) of the table read.
    pub string_table: Option<String>,
    /// Key/value pairs of that table (`FileVersion`, `CompanyName`...).
    pub strings: BTreeMap<String, String>,
}

impl VersionInfo {
    fn get(&self, key: &str) -> Option<&str> {
        self.strings.get(key).map(String::as_str)
    }
    /// The FileVersion string; falls back to the fixed version when the table lacks it.
    pub fn file_version(&self) -> Option<String> {
        self.get("FileVersion").map(str::to_string).or_else(|| {
            self.fixed_file_version
                .map(|v| format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3]))
        })
    }
    pub fn product_version(&self) -> Option<String> {
        self.get("ProductVersion").map(str::to_string).or_else(|| {
            self.fixed_product_version
                .map(|v| format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3]))
        })
    }
    pub fn company_name(&self) -> Option<&str> {
        self.get("CompanyName")
    }
    pub fn file_description(&self) -> Option<&str> {
        self.get("FileDescription")
    }
    pub fn original_filename(&self) -> Option<&str> {
        self.get("OriginalFilename")
    }
    pub fn product_name(&self) -> Option<&str> {
        self.get("ProductName")
    }
}

/// Limits that keep hostile counts from turning into huge loops or allocations.
const MAX_SECTIONS: usize = 96; // the loader's own limit
const MAX_DEBUG_ENTRIES: usize = 64;
const MAX_EXPORTS: usize = 1 << 16;
const MAX_STRING: usize = 4096;

impl<'a> Pe<'a> {
    /// Parse the headers of an image whose bytes are laid out as `layout`.
    pub fn parse(data: &'a [u8], layout: Layout) -> Result<Pe<'a>, PeError> {
        let len = data.len();
        let trunc = |offset: usize, what: &'static str, need: usize| PeError::Truncated {
            offset,
            what,
            need,
            len,
        };
        if data.get(0..2) != Some(b"MZ") {
            return Err(PeError::NotMz {
                found: data.iter().take(2).copied().collect(),
            });
        }
        let e_lfanew = u32_at(data, 0x3c).ok_or_else(|| trunc(0, "DOS header", 0x40))?;
        let nt = e_lfanew as usize;
        if nt >= len {
            return Err(PeError::BadLfanew { e_lfanew, len });
        }
        if data.get(nt..nt + 4) != Some(b"PE\0\0") {
            return Err(PeError::NotPe { offset: nt });
        }
        let coff = nt + 4;
        let cu16 = |o: usize| u16_at(data, coff + o).ok_or_else(|| trunc(coff, "COFF header", 20));
        let cu32 = |o: usize| u32_at(data, coff + o).ok_or_else(|| trunc(coff, "COFF header", 20));
        let machine = cu16(0)?;
        let nsections = usize::from(cu16(2)?);
        let timestamp = cu32(4)?;
        let opt_size = usize::from(cu16(16)?);
        let characteristics = cu16(18)?;
        let opt = coff + 20;
        let magic = u16_at(data, opt).ok_or_else(|| trunc(opt, "optional header", 2))?;
        let is_pe32_plus = match magic {
            0x20b => true,
            0x10b => false,
            _ => return Err(PeError::BadMagic { offset: opt, magic }),
        };
        // Offsets inside the optional header that differ between PE32 and PE32+.
        let fixed_len = if is_pe32_plus { 112 } else { 96 };
        let ou16 = |o: usize| {
            u16_at(data, opt + o).ok_or_else(|| trunc(opt, "optional header", fixed_len))
        };
        let ou32 = |o: usize| {
            u32_at(data, opt + o).ok_or_else(|| trunc(opt, "optional header", fixed_len))
        };
        let image_base = if is_pe32_plus {
            u64_at(data, opt + 24).ok_or_else(|| trunc(opt, "optional header", fixed_len))?
        } else {
            u64::from(ou32(28)?)
        };
        let entry_point = ou32(16)?;
        let section_alignment = ou32(32)?;
        let file_alignment = ou32(36)?;
        let major_os_version = ou16(40)?;
        let minor_os_version = ou16(42)?;
        let size_of_image = ou32(56)?;
        let size_of_headers = ou32(60)?;
        let checksum = ou32(64)?;
        let subsystem = ou16(68)?;
        let dll_characteristics = ou16(70)?;
        let rva_count_off = if is_pe32_plus { 108 } else { 92 };
        let mut warnings = Vec::new();
        let declared_dirs = ou32(rva_count_off)? as usize;
        // Only the entries that fit in SizeOfOptionalHeader exist, whatever the count says.
        let room = opt_size.saturating_sub(fixed_len) / 8;
        let ndirs = declared_dirs.min(16).min(room);
        if declared_dirs > 16 {
            warnings.push(format!(
                "NumberOfRvaAndSizes {declared_dirs} > 16; reading 16"
            ));
        }
        let dirs_off = opt + fixed_len;
        let mut data_directories = Vec::with_capacity(ndirs);
        for i in 0..ndirs {
            match (
                u32_at(data, dirs_off + 8 * i),
                u32_at(data, dirs_off + 8 * i + 4),
            ) {
                (Some(rva), Some(size)) => data_directories.push(DataDirectory { rva, size }),
                _ => {
                    warnings.push(format!(
                        "offset 0x{:x}: data directory {i} truncated",
                        dirs_off + 8 * i
                    ));
                    break;
                }
            }
        }
        let sec_off = opt + opt_size;
        if nsections > MAX_SECTIONS {
            warnings.push(format!(
                "{nsections} sections declared; reading the first {MAX_SECTIONS}"
            ));
        }
        let mut sections = Vec::new();
        for i in 0..nsections.min(MAX_SECTIONS) {
            let o = sec_off + 40 * i;
            let Some(raw) = data.get(o..o + 40) else {
                warnings.push(format!("offset 0x{o:x}: section header {i} truncated"));
                break;
            };
            let name_end = raw[..8].iter().position(|&b| b == 0).unwrap_or(8);
            let f = |k: usize| u32_at(raw, k).unwrap_or(0);
            sections.push(Section {
                name: String::from_utf8_lossy(&raw[..name_end]).into_owned(),
                virtual_size: f(8),
                virtual_address: f(12),
                raw_size: f(16),
                raw_offset: f(20),
                characteristics: f(36),
            });
        }
        let headers = PeHeaders {
            nt_offset: nt,
            machine,
            timestamp,
            characteristics,
            is_pe32_plus,
            entry_point,
            image_base,
            section_alignment,
            file_alignment,
            size_of_image,
            size_of_headers,
            checksum,
            checksum_offset: opt + 64,
            subsystem,
            dll_characteristics,
            major_os_version,
            minor_os_version,
            data_directories,
            data_directories_offset: dirs_off,
            sections,
        };
        Ok(Pe {
            data,
            layout,
            headers,
            warnings,
        })
    }

    /// The bytes this reader works on.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    pub fn layout(&self) -> Layout {
        self.layout
    }
    pub fn headers(&self) -> &PeHeaders {
        &self.headers
    }
    /// Problems met while reading (truncated tables, absurd counts); the rest was still read.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    pub fn machine(&self) -> u16 {
        self.headers.machine
    }
    pub fn timestamp(&self) -> u32 {
        self.headers.timestamp
    }
    pub fn size_of_image(&self) -> u32 {
        self.headers.size_of_image
    }
    pub fn checksum(&self) -> u32 {
        self.headers.checksum
    }
    pub fn sections(&self) -> &[Section] {
        &self.headers.sections
    }

    /// The kind of image; `file_name` (any spelling) lets a `.sys` name decide for drivers that
    /// lack the WDM flag.
    pub fn image_kind(&self, file_name: Option<&str>) -> ImageKind {
        let h = &self.headers;
        let is_dll = h.characteristics & CHARACTERISTICS_DLL != 0;
        let sys_name = file_name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".sys"));
        match h.subsystem {
            subsystem::NATIVE => {
                if h.dll_characteristics & DLLCHARACTERISTICS_WDM_DRIVER != 0 || sys_name {
                    ImageKind::Driver
                } else if is_dll {
                    ImageKind::KernelDll
                } else {
                    ImageKind::NativeExecutable
                }
            }
            subsystem::EFI_APPLICATION..=13 => ImageKind::Efi,
            _ if is_dll => ImageKind::Dll,
            _ => ImageKind::Executable,
        }
    }

    /// A data directory entry, when present and non-empty.
    pub fn data_directory(&self, index: usize) -> Option<DataDirectory> {
        self.headers
            .data_directories
            .get(index)
            .copied()
            .filter(|d| d.rva != 0 && d.size != 0)
    }

    /// The certificate table (Authenticode signatures) as (file offset, size); `None` when absent
    /// or when the image is mapped (the loader does not map it).
    pub fn security_directory(&self) -> Option<(u32, u32)> {
        if self.layout == Layout::Mapped {
            return None;
        }
        self.data_directory(dir::SECURITY).map(|d| (d.rva, d.size))
    }

    /// File offset of the security directory entry itself (Authenticode skips its 8 bytes).
    pub fn security_directory_entry_offset(&self) -> usize {
        self.headers.data_directories_offset + 8 * dir::SECURITY
    }

    /// The section containing `rva`.
    pub fn section_for_rva(&self, rva: u32) -> Option<&Section> {
        self.headers.sections.iter().find(|s| s.contains_rva(rva))
    }

    /// The offset in [`Pe::data`] of `rva`: itself for mapped images; through the section table
    /// for files (headers map 1:1). `None` when the RVA has no bytes in the file.
    pub fn rva_to_offset(&self, rva: u32) -> Option<usize> {
        match self.layout {
            Layout::Mapped => Some(rva as usize),
            Layout::File => {
                if rva < self.headers.size_of_headers.max(1)
                    && self
                        .headers
                        .sections
                        .iter()
                        .all(|s| rva < s.virtual_address)
                {
                    return Some(rva as usize);
                }
                let s = self.section_for_rva(rva)?;
                let delta = rva - s.virtual_address;
                if delta >= s.raw_size {
                    return None; // uninitialised tail (.bss-like): no file bytes
                }
                // The loader rounds PointerToRawData down to 512 when FileAlignment >= 512.
                let raw = if self.headers.file_alignment >= 0x200 {
                    s.raw_offset & !0x1ff
                } else {
                    s.raw_offset
                };
                Some(raw as usize + delta as usize)
            }
        }
    }

    /// `len` bytes at `rva`, if all of them are present.
    pub fn bytes_at_rva(&self, rva: u32, len: usize) -> Option<&'a [u8]> {
        let off = self.rva_to_offset(rva)?;
        self.data.get(off..off.checked_add(len)?)
    }

    /// The bytes from `rva` to the end of what is available (the section's raw data for files).
    fn tail_at_rva(&self, rva: u32) -> Option<&'a [u8]> {
        let off = self.rva_to_offset(rva)?;
        let end = match self.layout {
            Layout::Mapped => self.data.len(),
            Layout::File => match self.section_for_rva(rva) {
                Some(s) => {
                    let raw = if self.headers.file_alignment >= 0x200 {
                        s.raw_offset & !0x1ff
                    } else {
                        s.raw_offset
                    };
                    (raw as usize)
                        .saturating_add(s.raw_size as usize)
                        .min(self.data.len())
                }
                None => self.data.len(),
            },
        };
        self.data.get(off..end)
    }

    /// A NUL-terminated ASCII string at `rva`.
    pub fn cstr_at_rva(&self, rva: u32) -> Option<String> {
        cstr_at(self.tail_at_rva(rva)?, 0, MAX_STRING)
    }

    /// The x64 exception directory as RUNTIME_FUNCTION entries (12 bytes each), in stored order
    /// (sorted by `begin` in any linker output). Empty for other machines or when absent.
    pub fn runtime_functions(&self) -> Vec<RuntimeFunction> {
        if self.headers.machine != machine::AMD64 {
            return Vec::new();
        }
        let Some(d) = self.data_directory(dir::EXCEPTION) else {
            return Vec::new();
        };
        let n = d.size as usize / 12;
        let Some(b) = self
            .bytes_at_rva(d.rva, n * 12)
            .or_else(|| self.tail_at_rva(d.rva))
        else {
            return Vec::new();
        };
        b.chunks_exact(12)
            .take(n)
            .filter_map(|c| {
                Some(RuntimeFunction {
                    begin: u32_at(c, 0)?,
                    end: u32_at(c, 4)?,
                    unwind_info: u32_at(c, 8)?,
                })
            })
            .filter(|rf| rf.begin != 0 || rf.end != 0)
            .collect()
    }

    /// The ARM64 exception directory (8-byte entries). Empty for other machines.
    pub fn arm64_runtime_functions(&self) -> Vec<Arm64RuntimeFunction> {
        if self.headers.machine != machine::ARM64 {
            return Vec::new();
        }
        let Some(d) = self.data_directory(dir::EXCEPTION) else {
            return Vec::new();
        };
        let n = d.size as usize / 8;
        let Some(b) = self
            .bytes_at_rva(d.rva, n * 8)
            .or_else(|| self.tail_at_rva(d.rva))
        else {
            return Vec::new();
        };
        b.chunks_exact(8)
            .take(n)
            .filter_map(|c| {
                Some(Arm64RuntimeFunction {
                    begin: u32_at(c, 0)?,
                    unwind_data: u32_at(c, 4)?,
                })
            })
            .collect()
    }

    /// The RUNTIME_FUNCTION covering `rva` (binary search over `functions`, which must be sorted
    /// as [`Pe::runtime_functions`] returns them).
    pub fn find_runtime_function(
        functions: &[RuntimeFunction],
        rva: u32,
    ) -> Option<RuntimeFunction> {
        let i = functions.partition_point(|f| f.begin <= rva);
        let f = *functions.get(i.checked_sub(1)?)?;
        (rva < f.end).then_some(f)
    }

    /// The raw UNWIND_INFO bytes at `rva`: header, codes (padded to even) and the trailer
    /// (chained entry or handler RVA) when the flags say there is one.
    pub fn unwind_info_bytes(&self, rva: u32) -> Option<&'a [u8]> {
        let head = self.bytes_at_rva(rva, 4)?;
        let flags = head[0] >> 3;
        let count = usize::from(head[2]);
        let mut len = 4 + 2 * (count + count % 2);
        if flags & UNW_FLAG_CHAININFO != 0 {
            len += 12;
        } else if flags & (UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER) != 0 {
            len += 4;
        }
        self.bytes_at_rva(rva, len)
            .or_else(|| self.bytes_at_rva(rva, 4 + 2 * count))
    }

    /// The decoded UNWIND_INFO at `rva`.
    pub fn unwind_info(&self, rva: u32) -> Option<UnwindInfo> {
        UnwindInfo::parse(self.unwind_info_bytes(rva)?)
    }

    /// The CodeView record (RSDS, or the old NB10) from the debug directory.
    pub fn codeview(&self) -> Option<CodeView> {
        let d = self.data_directory(dir::DEBUG)?;
        let n = (d.size as usize / 28).min(MAX_DEBUG_ENTRIES);
        for i in 0..n {
            let Some(e) = self.bytes_at_rva(d.rva.checked_add(28 * i as u32)?, 28) else {
                break;
            };
            if u32_at(e, 12) != Some(2) {
                continue; // IMAGE_DEBUG_TYPE_CODEVIEW
            }
            let size = u32_at(e, 16)? as usize;
            let rva = u32_at(e, 20)?;
            let ptr = u32_at(e, 24)? as usize;
            let rec = match self.layout {
                Layout::Mapped => self.bytes_at_rva(rva, size),
                Layout::File => self
                    .data
                    .get(ptr..ptr.checked_add(size)?)
                    .or_else(|| self.bytes_at_rva(rva, size)),
            };
            let Some(rec) = rec else { continue };
            if let Some(cv) = parse_codeview(rec) {
                return Some(cv);
            }
        }
        None
    }

    /// The export table. Bad entries are skipped; counts are bounded.
    pub fn exports(&self) -> Exports {
        let Some(d) = self.data_directory(dir::EXPORT) else {
            return Exports::default();
        };
        let Some(h) = self.bytes_at_rva(d.rva, 40) else {
            return Exports::default();
        };
        let f = |o: usize| u32_at(h, o).unwrap_or(0);
        let (name_rva, base, nfuncs, nnames, afuncs, anames, aords) = (
            f(12),
            f(16),
            f(20) as usize,
            f(24) as usize,
            f(28),
            f(32),
            f(36),
        );
        let nfuncs = nfuncs.min(MAX_EXPORTS);
        let nnames = nnames.min(MAX_EXPORTS);
        let dll_name = if name_rva != 0 {
            self.cstr_at_rva(name_rva)
        } else {
            None
        };
        // Names map to function indexes through the ordinal table.
        let mut names: BTreeMap<usize, String> = BTreeMap::new();
        if let (Some(nt), Some(ot)) = (
            self.bytes_at_rva(anames, nnames * 4),
            self.bytes_at_rva(aords, nnames * 2),
        ) {
            for i in 0..nnames {
                let (Some(nrva), Some(idx)) = (u32_at(nt, 4 * i), u16_at(ot, 2 * i)) else {
                    break;
                };
                if let Some(name) = self.cstr_at_rva(nrva) {
                    names.entry(usize::from(idx)).or_insert(name);
                }
            }
        }
        let mut entries = Vec::new();
        if let Some(ft) = self.bytes_at_rva(afuncs, nfuncs * 4) {
            let dir_end = u64::from(d.rva) + u64::from(d.size);
            for i in 0..nfuncs {
                let Some(rva) = u32_at(ft, 4 * i) else { break };
                if rva == 0 {
                    continue; // a gap in the ordinal range
                }
                let forwarder = (rva >= d.rva && u64::from(rva) < dir_end)
                    .then(|| self.cstr_at_rva(rva))
                    .flatten();
                entries.push(Export {
                    name: names.get(&i).cloned(),
                    ordinal: base.wrapping_add(i as u32),
                    rva,
                    forwarder,
                });
            }
        }
        Exports {
            dll_name,
            base,
            entries,
        }
    }

    /// The version resource, when the image has one (RT_VERSION, first name, first language).
    pub fn version_info(&self) -> Option<VersionInfo> {
        let d = self.data_directory(dir::RESOURCE)?;
        let root = d.rva;
        // Resource directory: 16-byte header, then 8-byte entries (named ones first). An entry's
        // high offset bit means "subdirectory"; offsets are relative to the resource root.
        let find = |dir_off: u32, want: Option<u32>| -> Option<u32> {
            let h = self.bytes_at_rva(root.checked_add(dir_off)?, 16)?;
            let n = usize::from(u16_at(h, 12)?) + usize::from(u16_at(h, 14)?);
            for i in 0..n.min(4096) {
                let e = self.bytes_at_rva(
                    root.checked_add(dir_off)?.checked_add(16 + 8 * i as u32)?,
                    8,
                )?;
                let id = u32_at(e, 0)?;
                let off = u32_at(e, 4)?;
                if want.is_none_or(|w| id & 0x8000_0000 == 0 && id == w) {
                    return Some(off);
                }
            }
            None
        };
        let t = find(0, Some(16))?; // RT_VERSION
        if t & 0x8000_0000 == 0 {
            return None;
        }
        let n = find(t & 0x7fff_ffff, None)?;
        let leaf = if n & 0x8000_0000 != 0 {
            find(n & 0x7fff_ffff, None)?
        } else {
            n
        };
        if leaf & 0x8000_0000 != 0 {
            return None;
        }
        // IMAGE_RESOURCE_DATA_ENTRY: OffsetToData (an RVA), Size.
        let de = self.bytes_at_rva(root.checked_add(leaf)?, 16)?;
        let data_rva = u32_at(de, 0)?;
        let size = u32_at(de, 4)? as usize;
        let blob = self
            .bytes_at_rva(data_rva, size)
            .or_else(|| self.tail_at_rva(data_rva))?;
        parse_version_info(blob)
    }

    /// The PE checksum computed over the file (the CheckSum field counted as zero), as the
    /// loader and `MapFileAndCheckSum` compute it. Meaningful for the file layout only.
    pub fn compute_checksum(&self) -> u32 {
        compute_checksum(self.data, self.headers.checksum_offset)
    }
}

/// The PE checksum of `data` with the 4 bytes at `checksum_offset` taken as zero: 16-bit one's
/// complement-style sum with carry folding, plus the file length.
pub fn compute_checksum(data: &[u8], checksum_offset: usize) -> u32 {
    let mut sum: u64 = 0;
    let mut i = 0;
    while i < data.len() {
        let lo = data[i];
        let hi = data.get(i + 1).copied().unwrap_or(0);
        let word = if i >= checksum_offset && i < checksum_offset + 4 {
            0
        } else {
            u64::from(u16::from_le_bytes([lo, hi]))
        };
        sum += word;
        sum = (sum & 0xffff) + (sum >> 16);
        i += 2;
    }
    sum = (sum & 0xffff) + (sum >> 16);
    (sum as u32 & 0xffff).wrapping_add(data.len() as u32)
}

/// Decode a CodeView record: `RSDS` GUID(16) Age(4) path, or `NB10` Offset(4) Signature(4) Age(4) path.
pub fn parse_codeview(rec: &[u8]) -> Option<CodeView> {
    match rec.get(0..4)? {
        b"RSDS" => {
            let mut guid = [0u8; 16];
            guid.copy_from_slice(rec.get(4..20)?);
            let age = u32_at(rec, 20)?;
            let pdb_path = match cstr_at(rec, 24, MAX_STRING) {
                Some(p) => p,
                None => String::from_utf8_lossy(rec.get(24..)?).into_owned(),
            };
            Some(CodeView {
                pdb_path,
                guid,
                age,
                nb10_signature: None,
            })
        }
        b"NB10" => {
            let sig = u32_at(rec, 8)?;
            let age = u32_at(rec, 12)?;
            let pdb_path = cstr_at(rec, 16, MAX_STRING).unwrap_or_default();
            Some(CodeView {
                pdb_path,
                guid: [0; 16],
                age,
                nb10_signature: Some(sig),
            })
        }
        _ => None,
    }
}

/// A version-resource node: `wLength, wValueLength, wType, szKey (UTF-16, NUL), pad to 4, Value,
/// pad to 4, Children`. Returns (key, value bytes, children bytes, wType, wValueLength).
struct VsNode<'b> {
    key: String,
    value: &'b [u8],
    value_len_field: usize,
    value_is_text: bool,
    children: &'b [u8],
}

fn align4(x: usize) -> usize {
    (x + 3) & !3
}

fn utf16z(b: &[u8], off: usize) -> Option<(String, usize)> {
    let mut units = Vec::new();
    let mut o = off;
    loop {
        let u = u16_at(b, o)?;
        o += 2;
        if u == 0 {
            break;
        }
        units.push(u);
        if units.len() > MAX_STRING {
            return None;
        }
    }
    Some((String::from_utf16_lossy(&units), o))
}

fn vs_node(b: &[u8]) -> Option<(VsNode<'_>, usize)> {
    let len = usize::from(u16_at(b, 0)?);
    if len < 6 {
        return None;
    }
    let b = b.get(..len.min(b.len()))?;
    let value_len_field = usize::from(u16_at(b, 2)?);
    let value_is_text = u16_at(b, 4)? == 1;
    let (key, after_key) = utf16z(b, 6)?;
    let vstart = align4(after_key).min(b.len());
    let vbytes = if value_is_text {
        value_len_field * 2
    } else {
        value_len_field
    };
    let vend = vstart.saturating_add(vbytes).min(b.len());
    let value = b.get(vstart..vend)?;
    let cstart = align4(vend).min(b.len());
    let children = b.get(cstart..)?;
    Some((
        VsNode {
            key,
            value,
            value_len_field,
            value_is_text,
            children,
        },
        len,
    ))
}

fn vs_children(mut b: &[u8]) -> Vec<VsNode<'_>> {
    let mut out = Vec::new();
    while let Some((n, len)) = vs_node(b) {
        out.push(n);
        let next = align4(len);
        match b.get(next..) {
            Some(rest) if !rest.is_empty() => b = rest,
            _ => break,
        }
        if out.len() > 1024 {
            break;
        }
    }
    out
}

/// Decode a VS_VERSIONINFO blob.
pub fn parse_version_info(blob: &[u8]) -> Option<VersionInfo> {
    let (root, _) = vs_node(blob)?;
    if root.key != "VS_VERSION_INFO" {
        return None;
    }
    let mut vi = VersionInfo::default();
    // VS_FIXEDFILEINFO: dwSignature 0xFEEF04BD, then file version MS/LS at 8/12, product at 16/20.
    if u32_at(root.value, 0) == Some(0xfeef_04bd) {
        let four = |ms: u32, ls: u32| [(ms >> 16) as u16, ms as u16, (ls >> 16) as u16, ls as u16];
        if let (Some(a), Some(b)) = (u32_at(root.value, 8), u32_at(root.value, 12)) {
            vi.fixed_file_version = Some(four(a, b));
        }
        if let (Some(a), Some(b)) = (u32_at(root.value, 16), u32_at(root.value, 20)) {
            vi.fixed_product_version = Some(four(a, b));
        }
    }
    for child in vs_children(root.children) {
        if child.key != "StringFileInfo" {
            continue;
        }
        for table in vs_children(child.children) {
            if vi.string_table.is_some() {
                break;
            }
            vi.string_table = Some(table.key.clone());
            for s in vs_children(table.children) {
                let value = if s.value_is_text {
                    // wValueLength counts UTF-16 units, including the NUL in most linkers' output.
                    let units: Vec<u16> = s
                        .value
                        .chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .take_while(|&u| u != 0)
                        .collect();
                    String::from_utf16_lossy(&units)
                } else {
                    let _ = s.value_len_field;
                    String::from_utf8_lossy(s.value)
                        .trim_end_matches('\0')
                        .to_string()
                };
                vi.strings.insert(s.key, value.trim().to_string());
            }
        }
    }
    Some(vi)
}

/// A PE file on disk, mapped read-only, with its path for error messages.
pub struct PeFile {
    path: PathBuf,
    bytes: crate::mapped::Bytes,
}

impl PeFile {
    /// Map `path` and check that its headers parse.
    pub fn open(path: &Path) -> Result<PeFile, PeFileError> {
        let bytes = crate::mapped::Bytes::open(path).map_err(|source| PeFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let f = PeFile {
            path: path.to_path_buf(),
            bytes,
        };
        f.pe()?;
        Ok(f)
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The parsed image (file layout).
    pub fn pe(&self) -> Result<Pe<'_>, PeFileError> {
        Pe::parse(&self.bytes, Layout::File).map_err(|source| PeFileError::Pe {
            path: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rel: &str) -> Option<Vec<u8>> {
        let root = std::env::var_os("BSODWB_SAMPLES")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples"));
        match std::fs::read(root.join(rel)) {
            Ok(b) => Some(b),
            Err(_) => {
                if std::env::var("BSODWB_REQUIRE_SAMPLES").as_deref() == Ok("1") {
                    panic!("required sample is missing: {rel}");
                }
                eprintln!("SKIP: sample {rel} not found");
                None
            }
        }
    }

    /// Lay a file-layout image out as the loader would (sections at their RVAs).
    fn map_image(pe: &Pe) -> Vec<u8> {
        let mut img = vec![0u8; pe.size_of_image() as usize];
        let hs = pe.headers().size_of_headers as usize;
        img[..hs].copy_from_slice(&pe.data()[..hs]);
        for s in pe.sections() {
            let n = s.raw_size.min(s.mapped_size()) as usize;
            let src = &pe.data()[s.raw_offset as usize..s.raw_offset as usize + n];
            img[s.virtual_address as usize..s.virtual_address as usize + n].copy_from_slice(src);
        }
        img
    }

    #[test]
    fn xcpt4_headers_pdata_codeview() {
        let Some(b) = sample("windows-seh-tests/xcpt4.exe") else {
            return;
        };
        let pe = Pe::parse(&b, Layout::File).unwrap();
        assert_eq!(pe.machine(), machine::AMD64);
        assert!(pe.headers().is_pe32_plus);
        // Values from pefile 2024.8.26 on the same file.
        assert_eq!(pe.timestamp(), 0x6252_4d63);
        assert_eq!(pe.size_of_image(), 0xe000);
        assert_eq!(pe.headers().subsystem, subsystem::WINDOWS_CUI);
        assert_eq!(pe.image_kind(Some("xcpt4.exe")), ImageKind::Executable);
        let names: Vec<_> = pe.sections().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [".text", ".rdata", ".data", ".pdata", ".rsrc", ".reloc"]
        );
        let rfs = pe.runtime_functions();
        assert_eq!(rfs.len(), 241, "SOURCE.txt: 241 RUNTIME_FUNCTION entries");
        assert!(rfs.windows(2).all(|w| w[0].begin < w[1].begin));
        for rf in &rfs {
            let ui = pe
                .unwind_info(rf.unwind_info)
                .expect("every entry has UNWIND_INFO");
            assert!(ui.version == 1 || ui.version == 2, "{rf:?} {ui:?}");
        }
        let mid = rfs[10].begin + 1;
        assert_eq!(Pe::find_runtime_function(&rfs, mid), Some(rfs[10]));
        assert_eq!(Pe::find_runtime_function(&rfs, 0x10), None);
        let cv = pe.codeview().unwrap();
        assert_eq!(cv.pdb_name(), "xcpt4.pdb");
        assert_eq!(cv.guid_string(), "c8c2329e-0e99-49e6-8b6f-132beca69e7e");
        assert_eq!(cv.age, 1);
        assert_eq!(cv.store_key(), "C8C2329E0E9949E68B6F132BECA69E7E1");
        assert!(pe.security_directory().is_none());
        assert!(pe.exports().entries.is_empty());
        assert!(pe.warnings().is_empty());
    }

    #[test]
    fn mapped_layout_reads_the_same_as_file_layout() {
        let Some(b) = sample("windows-seh-tests/nested_collided.exe") else {
            return;
        };
        let file = Pe::parse(&b, Layout::File).unwrap();
        let img = map_image(&file);
        let mapped = Pe::parse(&img, Layout::Mapped).unwrap();
        assert_eq!(file.runtime_functions(), mapped.runtime_functions());
        assert_eq!(file.runtime_functions().len(), 39);
        assert_eq!(file.codeview(), mapped.codeview());
        for rf in file.runtime_functions() {
            assert_eq!(
                file.unwind_info_bytes(rf.unwind_info),
                mapped.unwind_info_bytes(rf.unwind_info)
            );
        }
        assert_eq!(file.version_info(), mapped.version_info());
    }

    #[test]
    fn ftdibus_driver_checksum_security_version() {
        let Some(b) = sample("arduino-drivers/ftdi/amd64/ftdibus.sys") else {
            return;
        };
        let pe = Pe::parse(&b, Layout::File).unwrap();
        assert_eq!(pe.image_kind(Some("ftdibus.sys")), ImageKind::Driver);
        assert_eq!(pe.timestamp(), 0x60e2_fcf7);
        assert_eq!(pe.size_of_image(), 0x24000);
        assert_eq!(pe.checksum(), 0x28957);
        assert_eq!(
            pe.compute_checksum(),
            pe.checksum(),
            "pefile: generate_checksum() == CheckSum"
        );
        assert_eq!(u32_at(&b, pe.headers().checksum_offset), Some(0x28957));
        // The certificate table: pefile says file offset 0x1f000, 18216 bytes (ground-truth.json too).
        assert_eq!(pe.security_directory(), Some((0x1f000, 18216)));
        assert_eq!(
            u32_at(&b, pe.security_directory_entry_offset()),
            Some(0x1f000)
        );
        assert_eq!(pe.runtime_functions().len(), 294);
        assert_eq!(pe.codeview().unwrap().pdb_name(), "FTDIBUS.pdb");
        let vi = pe.version_info().unwrap();
        assert_eq!(vi.file_version().as_deref(), Some("2.12.36.3"));
        assert_eq!(vi.product_version().as_deref(), Some("2.12.36.4"));
        assert_eq!(
            vi.company_name(),
            Some("Future Technology Devices International Ltd.")
        );
        assert_eq!(vi.file_description(), Some("D2XX Driver"));
        assert_eq!(vi.original_filename(), Some("FTDIBUS"));
        // The mapped image has no certificate table.
        let img = map_image(&pe);
        let m = Pe::parse(&img, Layout::Mapped).unwrap();
        assert!(m.security_directory().is_none());
        assert_eq!(m.version_info(), Some(vi));
    }

    #[test]
    fn libusb0_version_and_kind() {
        let Some(b) = sample("arduino-drivers/libusb0/amd64/libusb0.sys") else {
            return;
        };
        let pe = Pe::parse(&b, Layout::File).unwrap();
        assert_eq!(pe.headers().subsystem, subsystem::NATIVE);
        assert_eq!(pe.compute_checksum(), 0x11368);
        assert_eq!(pe.security_directory(), Some((0xae00, 8288)));
        let vi = pe.version_info().unwrap();
        assert_eq!(vi.file_version().as_deref(), Some("1.2.6.0"));
        assert_eq!(vi.original_filename(), Some("libusb0.sys"));
        assert_eq!(vi.file_description(), Some("LibUSB-Win32 - Kernel Driver"));
    }

    #[test]
    fn every_truncation_is_an_error_or_partial_never_a_panic() {
        let Some(b) = sample("arduino-drivers/libusb0/amd64/libusb0.sys") else {
            return;
        };
        for cut in (0..b.len())
            .step_by(97)
            .chain([0, 1, 2, 0x3c, 0x40, 0x100, 0x200])
        {
            let d = &b[..cut.min(b.len())];
            if let Ok(pe) = Pe::parse(d, Layout::File) {
                let _ = (
                    pe.runtime_functions(),
                    pe.codeview(),
                    pe.exports(),
                    pe.version_info(),
                    pe.compute_checksum(),
                );
            }
            if let Ok(pe) = Pe::parse(d, Layout::Mapped) {
                let _ = (
                    pe.runtime_functions(),
                    pe.codeview(),
                    pe.exports(),
                    pe.version_info(),
                );
            }
        }
        // Corrupt every 4th header byte in turn.
        for i in (0..0x400).step_by(3) {
            let mut c = b.clone();
            c[i] ^= 0xff;
            if let Ok(pe) = Pe::parse(&c, Layout::File) {
                let _ = (
                    pe.runtime_functions(),
                    pe.codeview(),
                    pe.exports(),
                    pe.version_info(),
                );
            }
        }
        assert!(matches!(
            Pe::parse(b"MZ", Layout::File),
            Err(PeError::Truncated { .. })
        ));
        assert!(matches!(
            Pe::parse(b"ELF\0", Layout::File),
            Err(PeError::NotMz { .. })
        ));
    }

    /// A minimal PE32+ image (mapped layout) with an export table, built by hand: checks names,
    /// ordinals, ordinal-only exports and forwarders.
    pub(crate) fn tiny_image_with_exports() -> Vec<u8> {
        let mut img = vec![0u8; 0x3000];
        img[0..2].copy_from_slice(b"MZ");
        img[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        img[0x80..0x84].copy_from_slice(b"PE\0\0");
        let coff = 0x84;
        img[coff..coff + 2].copy_from_slice(&machine::AMD64.to_le_bytes());
        img[coff + 2..coff + 4].copy_from_slice(&1u16.to_le_bytes());
        img[coff + 16..coff + 18].copy_from_slice(&(112u16 + 16 * 8).to_le_bytes());
        let opt = coff + 20;
        img[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        img[opt + 56..opt + 60].copy_from_slice(&0x3000u32.to_le_bytes());
        img[opt + 60..opt + 64].copy_from_slice(&0x400u32.to_le_bytes());
        img[opt + 68..opt + 70].copy_from_slice(&1u16.to_le_bytes());
        img[opt + 108..opt + 112].copy_from_slice(&16u32.to_le_bytes());
        let dirs = opt + 112;
        img[dirs..dirs + 4].copy_from_slice(&0x2000u32.to_le_bytes());
        img[dirs + 4..dirs + 8].copy_from_slice(&0x200u32.to_le_bytes());
        let sec = opt + 112 + 128;
        img[sec..sec + 5].copy_from_slice(b".text");
        img[sec + 8..sec + 12].copy_from_slice(&0x2000u32.to_le_bytes());
        img[sec + 12..sec + 16].copy_from_slice(&0x1000u32.to_le_bytes());
        // Export directory at 0x2000: Name, Base 1, 3 functions, 2 names.
        let put =
            |img: &mut Vec<u8>, o: usize, v: u32| img[o..o + 4].copy_from_slice(&v.to_le_bytes());
        let e = 0x2000;
        put(&mut img, e + 12, 0x2100);
        put(&mut img, e + 16, 1);
        put(&mut img, e + 20, 3);
        put(&mut img, e + 24, 2);
        put(&mut img, e + 28, 0x2040);
        put(&mut img, e + 32, 0x2060);
        put(&mut img, e + 36, 0x2070);
        put(&mut img, 0x2040, 0x1010); // ordinal 1: KeBugCheckEx
        put(&mut img, 0x2044, 0x1100); // ordinal 2: by ordinal only
        put(&mut img, 0x2048, 0x2120); // ordinal 3: forwarder
        put(&mut img, 0x2060, 0x2110);
        put(&mut img, 0x2064, 0x2118);
        img[0x2070..0x2072].copy_from_slice(&0u16.to_le_bytes());
        img[0x2072..0x2074].copy_from_slice(&2u16.to_le_bytes());
        img[0x2100..0x210d].copy_from_slice(b"ntoskrnl.exe\0");
        img[0x2110..0x2115].copy_from_slice(b"KeBu\0");
        img[0x2118..0x211d].copy_from_slice(b"Fwd1\0");
        img[0x2120..0x212f].copy_from_slice(b"HAL.HalFunc123\0");
        img
    }

    #[test]
    fn exports_names_ordinals_forwarders() {
        let img = tiny_image_with_exports();
        let pe = Pe::parse(&img, Layout::Mapped).unwrap();
        assert_eq!(
            pe.image_kind(Some("ntoskrnl.exe")),
            ImageKind::NativeExecutable
        );
        let ex = pe.exports();
        assert_eq!(ex.dll_name.as_deref(), Some("ntoskrnl.exe"));
        assert_eq!(ex.entries.len(), 3);
        assert_eq!(
            ex.entries[0],
            Export {
                name: Some("KeBu".into()),
                ordinal: 1,
                rva: 0x1010,
                forwarder: None
            }
        );
        assert_eq!(
            ex.entries[1],
            Export {
                name: None,
                ordinal: 2,
                rva: 0x1100,
                forwarder: None
            }
        );
        assert_eq!(ex.entries[2].name.as_deref(), Some("Fwd1"));
        assert_eq!(ex.entries[2].forwarder.as_deref(), Some("HAL.HalFunc123"));
    }

    #[test]
    fn unwind_codes_decode() {
        // Version 1, no flags, prolog 0x10, 5 slots, frame reg 5 (rbp) offset 2*16:
        // SET_FPREG @0xe, ALLOC_LARGE(0) 0x28 slots @0xa, PUSH_NONVOL rbx @4, PUSH_MACHFRAME(1) @1.
        let bytes = [
            0x01, 0x10, 0x05, 0x25, //
            0x0e, 0x03, 0x0a, 0x01, 0x28, 0x00, 0x04, 0x30, 0x01, 0x1a, 0x00, 0x00,
        ];
        let ui = UnwindInfo::parse(&bytes).unwrap();
        assert_eq!((ui.version, ui.frame_register, ui.frame_offset), (1, 5, 32));
        assert_eq!(
            ui.codes(),
            vec![
                UnwindCode {
                    code_offset: 0x0e,
                    op: UnwindOp::SetFpreg
                },
                UnwindCode {
                    code_offset: 0x0a,
                    op: UnwindOp::Alloc { size: 0x28 * 8 }
                },
                UnwindCode {
                    code_offset: 0x04,
                    op: UnwindOp::PushNonvol { reg: 3 }
                },
                UnwindCode {
                    code_offset: 0x01,
                    op: UnwindOp::PushMachframe { error_code: true }
                },
            ]
        );
        // Chained: flag 4, no codes, then a RUNTIME_FUNCTION.
        let chained = [
            0x21, 0, 0, 0, 0x00, 0x10, 0, 0, 0x40, 0x10, 0, 0, 0x80, 0x20, 0, 0,
        ];
        let ui = UnwindInfo::parse(&chained).unwrap();
        assert_eq!(
            ui.chained,
            Some(RuntimeFunction {
                begin: 0x1000,
                end: 0x1040,
                unwind_info: 0x2080
            })
        );
    }

    #[test]
    fn codeview_nb10_and_store_key() {
        let mut rec = b"NB10".to_vec();
        rec.extend_from_slice(&0u32.to_le_bytes());
        rec.extend_from_slice(&0x3c1a_2b3du32.to_le_bytes());
        rec.extend_from_slice(&0xau32.to_le_bytes());
        rec.extend_from_slice(b"C:\\x\\old.pdb\0");
        let cv = parse_codeview(&rec).unwrap();
        assert_eq!(cv.pdb_name(), "old.pdb");
        assert_eq!(cv.store_key(), "3C1A2B3DA");
    }
}
