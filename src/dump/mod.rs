//! Crash dumps: kernel (full, kernel, bitmap, range, triage) and user-mode minidumps.
//!
//! [`open`] recognises a file by its content (format reference:
//! `docs/formats/crash-dump.md` §2.1) and returns a [`CrashDump`]: the header facts,
//! the module lists, the context and exception records and a [`Memory`] that reads virtual
//! addresses where the dump holds the page. [`analysis::analyze`] builds the `!analyze`-like
//! summary (stack, faulting module) on top.
//!
//! Why our own readers and not the `kdmp-parser` crate for full/bitmap dumps: it rejects triage
//! dumps (type 4) and summary dumps (type 2), and it builds a BTreeMap of every stored page
//! (~38 B per page: 40 MB for 4 GiB, 0.6 GB for 64 GiB). Our bitmap reader keeps the bitmap in
//! the memory map and a prefix-count index of one `u32` per 512 pages, so opening a 4 GiB dump
//! costs a few hundred KiB. kdmp-parser (PyPI) stays our independent oracle in the tests.

pub mod analysis;
pub use crate::bugcheck;
pub mod followup;
pub(crate) mod header;
pub mod image;
pub mod lmvm;
pub mod memory;
pub mod physical;
pub mod report;
pub(crate) mod triage;
pub mod unwind;
pub(crate) mod unwind_arm64;
pub(crate) mod user;

use crate::warning::Warning;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use header::{Amd64Context, Arm64Context, Context, ExceptionRecord, X86Context};
pub use memory::{Memory, ReadError};

/// The `PAGE` fill that marks unused header fields in kernel dumps (§2.1).
pub const PAGE_PATTERN_32: u32 = 0x4547_4150;
/// The `PAGE` fill over a 64-bit field.
pub const PAGE_PATTERN_64: u64 = 0x4547_4150_4547_4150;

/// What went wrong opening a dump: always the file, the offset and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error(transparent)]
    Io(#[from] crate::mapped::OpenError),
    #[error("{}: {}", path.display(), self.cause())]
    Format {
        path: PathBuf,
        offset: u64,
        expected: String,
    },
}

impl DumpError {
    /// What went wrong, without the file (for a listing that names the file itself).
    pub fn cause(&self) -> String {
        match self {
            DumpError::Io(e) => e.cause(),
            DumpError::Format {
                offset, expected, ..
            } => format!("at offset {offset:#x}: expected {expected}"),
        }
    }
}

/// Which kind of dump the file is, by content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpKind {
    /// Small memory dump (DumpType 4): `C:\Windows\Minidump\*.dmp`.
    KernelTriage,
    /// Complete memory dump with a run list (DumpType 1).
    KernelFull,
    /// Bitmap dump: kernel/automatic/active (`SDMP`) or complete (`FDMP`) (DumpType 2, 5, 6).
    KernelBitmap,
    /// dbgeng range dump (`RDMP`, DumpType 8, 9, 0xA).
    KernelRange,
    /// A kernel dump header whose body we cannot read (header-only or unknown type).
    KernelHeaderOnly,
    /// User-mode minidump (`MDMP`).
    UserMinidump,
}

pub use crate::bugcheck::Bugcheck;

/// A loaded module (kernel driver or user DLL).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Module {
    /// File name, e.g. `amdppm.sys`.
    pub name: String,
    /// The path as the dump spells it, e.g. `\SystemRoot\System32\drivers\amdppm.sys`.
    pub path: String,
    pub base: u64,
    pub size: u32,
    pub timestamp: u32,
    pub checksum: u32,
}

impl Module {
    /// The driver identity of this module.
    pub fn key(&self) -> Option<crate::driver::DriverKey> {
        crate::driver::DriverKey::from_path(&self.path)
            .or_else(|| crate::driver::DriverKey::from_path(&self.name))
    }

    /// Whether `va` falls inside the image.
    pub fn contains(&self, va: u64) -> bool {
        va >= self.base && va - self.base < u64::from(self.size)
    }

    /// WinDbg's short module name: `nt` for the kernel, else the file stem (`amdppm`).
    pub fn short_name(&self) -> String {
        let lower = self.name.to_ascii_lowercase();
        if is_kernel_image(&lower) {
            return "nt".to_string();
        }
        match lower.rsplit_once('.') {
            Some((stem, _)) => stem.to_string(),
            None => lower,
        }
    }

    /// The symbol-store key of the image: `name/TIMESTAMPSIZEOFIMAGE/name` (§2.10).
    pub fn image_store_key(&self) -> String {
        format!("{:08X}{:x}", self.timestamp, self.size)
    }
}

/// Whether a lower-case file name is one of the kernel images (`nt`).
pub fn is_kernel_image(lower_name: &str) -> bool {
    matches!(
        lower_name,
        "ntoskrnl.exe" | "ntkrnlmp.exe" | "ntkrnlpa.exe" | "ntkrpamp.exe" | "ntkrla57.exe"
    )
}

/// A driver that was unloaded before the crash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnloadedModule {
    pub name: String,
    pub start: u64,
    pub end: u64,
}

/// The crashing thread, as far as the dump tells.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ThreadInfo {
    /// Thread id (user minidumps) when known.
    pub id: Option<u32>,
    /// Address of the KTHREAD/ETHREAD when known (kernel dumps).
    pub address: Option<u64>,
    /// The stack window captured in the dump: `[start, start+size)`.
    pub stack_start: Option<u64>,
    pub stack_size: Option<u64>,
}

/// An opened crash dump. Memory reads go through [`CrashDump::memory`].
#[derive(Debug, Serialize)]
pub struct CrashDump {
    pub path: PathBuf,
    pub kind: DumpKind,
    /// Raw DumpType (kernel dumps) or 0 for user minidumps.
    pub dump_type: u32,
    /// The signature at the secondary header (`SDMP`, `FDMP`, `RDMP`, `TRGD`) when any.
    pub secondary_signature: Option<String>,
    /// IMAGE_FILE_MACHINE value: 0x8664, 0xaa64, 0x14c.
    pub machine: u32,
    /// Kernel dumps: MajorVersion (0xF free build, 0xC checked).
    pub major_version: u32,
    /// OS build number.
    pub build: u32,
    /// User minidumps: `major.minor.build`.
    pub os_version: Option<String>,
    pub processors: u32,
    pub bugcheck: Option<Bugcheck>,
    /// FILETIME of the crash (100 ns since 1601), when set.
    pub system_time: Option<u64>,
    /// Up-time in 100 ns units, when set.
    pub system_uptime: Option<u64>,
    pub directory_table_base: Option<u64>,
    pub pfn_database: Option<u64>,
    pub ps_loaded_module_list: Option<u64>,
    pub ps_active_process_head: Option<u64>,
    pub kd_debugger_data_block: Option<u64>,
    /// The context of the crashing CPU/thread (the header CONTEXT for kernel dumps).
    pub context: Option<Context>,
    /// The header's EXCEPTION_RECORD (kernel dumps) or the exception stream (user dumps).
    pub exception: Option<ExceptionRecord>,
    pub modules: Vec<Module>,
    pub unloaded_modules: Vec<UnloadedModule>,
    pub process_name: Option<String>,
    pub thread: Option<ThreadInfo>,
    /// Triage (small memory dump) offsets and counts.
    pub triage: Option<triage::TriageHeader>,
    /// Things that could not be read; the rest of the dump is still usable.
    pub warnings: Vec<Warning>,
    #[serde(skip)]
    pub memory: Memory,
}

impl CrashDump {
    /// Note something that could not be read (at no file offset: dump warnings name virtual
    /// addresses and records).
    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(Warning::new(&self.path, message));
    }

    /// Note something that could not be read at `offset` of the file.
    pub(crate) fn warn_at(&mut self, offset: u64, message: impl Into<String>) {
        self.warnings.push(Warning::at(&self.path, offset, message));
    }

    /// A dump of `kind` at `path` with nothing read yet: the readers fill in what they find.
    pub(crate) fn new(path: &Path, kind: DumpKind, memory: Memory) -> CrashDump {
        CrashDump {
            path: path.to_path_buf(),
            kind,
            dump_type: 0,
            secondary_signature: None,
            machine: 0,
            major_version: 0,
            build: 0,
            os_version: None,
            processors: 0,
            bugcheck: None,
            system_time: None,
            system_uptime: None,
            directory_table_base: None,
            pfn_database: None,
            ps_loaded_module_list: None,
            ps_active_process_head: None,
            kd_debugger_data_block: None,
            context: None,
            exception: None,
            modules: Vec::new(),
            unloaded_modules: Vec::new(),
            process_name: None,
            thread: None,
            triage: None,
            warnings: Vec::new(),
            memory,
        }
    }

    /// The module containing `va`.
    pub fn module_at(&self, va: u64) -> Option<&Module> {
        self.modules.iter().find(|m| m.contains(va))
    }

    /// The module of a driver identity.
    pub fn module_by_key(&self, key: &crate::driver::DriverKey) -> Option<&Module> {
        self.modules.iter().find(|m| m.key().as_ref() == Some(key))
    }

    /// Whether the dump is a 64-bit one.
    pub fn is_64bit(&self) -> bool {
        self.machine != 0x14c
    }

    /// A human name of the dump type, with the secondary signature where it matters.
    pub fn dump_type_name(&self) -> String {
        let base = match (self.kind, self.dump_type) {
            (DumpKind::UserMinidump, _) => "User-mode minidump",
            (_, 1) => "Full (complete memory dump)",
            (_, 2) => "Summary (kernel memory dump)",
            (_, 3) => "Header only",
            (_, 4) => "Triage (small memory dump)",
            (_, 5) => "Bitmap",
            (_, 6) => "Bitmap kernel (live kernel memory dump)",
            (_, 8) => "Range kernel",
            (_, 9) => "Range kernel+user",
            (_, 0xA) => "Range complete",
            _ => "Unknown type",
        };
        match self.secondary_signature.as_deref() {
            Some("SDMP") => format!("{base} kernel (SDMP)"),
            Some("FDMP") => format!("{base} complete (FDMP)"),
            _ => base.to_string(),
        }
    }

    /// The machine name: `x64`, `ARM64`, `x86`.
    pub fn machine_name(&self) -> Option<&'static str> {
        match self.machine {
            0x8664 => Some("x64"),
            0xaa64 => Some("ARM64"),
            0x14c => Some("x86"),
            _ => None,
        }
    }
}

/// Open any Windows crash dump by its content (read-only memory map).
pub fn open(path: &Path) -> Result<CrashDump, DumpError> {
    let bytes = crate::mapped::Bytes::open_file(path)?;
    from_bytes(path, Arc::new(bytes))
}

/// Read a dump from bytes already in memory (or mapped). `path` names it in errors.
pub fn from_bytes(path: &Path, bytes: Arc<crate::mapped::Bytes>) -> Result<CrashDump, DumpError> {
    let head = bytes.get(..8).unwrap_or(&bytes[..]);
    match head {
        b"PAGEDU64" => header::open_kernel64(path, bytes),
        b"PAGEDUMP" => header::open_kernel32(path, bytes),
        _ if head.starts_with(b"MDMP") => user::open_user(path, bytes),
        _ => Err(DumpError::Format {
            path: path.to_path_buf(),
            offset: 0,
            expected: "a crash dump signature (PAGEDU64, PAGEDUMP or MDMP)".to_string(),
        }),
    }
}

pub(crate) use crate::le;

/// A 64-bit field, or `None` when it carries the `PAGE` fill.
pub(crate) fn not_page64(v: u64) -> Option<u64> {
    (v != PAGE_PATTERN_64).then_some(v)
}

pub use crate::filetime::filetime_to_string;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_formats_utc() {
        // 2021-02-21 01:38:22.987765 from the triage sample's header.
        assert_eq!(filetime_to_string(0), "1601-01-01 00:00:00.000000");
        assert_eq!(
            filetime_to_string(116_444_736_000_000_000),
            "1970-01-01 00:00:00.000000"
        );
    }
}
