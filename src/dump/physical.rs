//! Physical memory of full (run list), bitmap (`SDMP`/`FDMP`) and range (`RDMP`) dumps, 64- and
//! 32-bit, and the kernel structures read through it: PsLoadedModuleList and KDBG's
//! unloaded-driver table (docs/formats/crash-dump.md §2.4, §2.5, §2.7, §2.8).

use super::le::{u32_at, u64_at};
use super::memory::{Backing, Memory, Paging, ReadError};
use super::{CrashDump, DumpError, Module, UnloadedModule};
use std::path::Path;

const PAGE: u64 = 0x1000;

/// A run of consecutive PFNs stored consecutively in the file.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub base_pfn: u64,
    pub count: u64,
    /// File offset of the run's first page.
    pub file_offset: u64,
}

/// Where each physical page lives in the file.
#[derive(Clone, Debug)]
pub enum PhysMap {
    /// Runs sorted by PFN (full and range dumps).
    Runs(Vec<Run>),
    /// A bitmap in the file: bit n set = PFN n stored; pages follow in PFN order from
    /// `first_page`. `rank[i]` counts the set bits before bit `i * 512`.
    Bitmap {
        bitmap_offset: usize,
        bits: u64,
        first_page: u64,
        rank: Vec<u32>,
    },
}

/// Bits per rank entry: 512 pages = 64 bytes of bitmap.
const RANK_BITS: u64 = 512;

impl PhysMap {
    /// The 4 KiB of PFN `pfn`, when the file stores it.
    pub fn page<'a>(&self, bytes: &'a [u8], pfn: u64) -> Option<&'a [u8]> {
        let off = self.file_offset(bytes, pfn)?;
        let start = usize::try_from(off).ok()?;
        bytes.get(start..start.checked_add(PAGE as usize)?)
    }

    /// File offset of PFN `pfn`.
    pub fn file_offset(&self, bytes: &[u8], pfn: u64) -> Option<u64> {
        match self {
            PhysMap::Runs(runs) => {
                let i = runs.partition_point(|r| r.base_pfn <= pfn).checked_sub(1)?;
                let r = runs.get(i)?;
                (pfn - r.base_pfn < r.count).then(|| {
                    r.file_offset
                        .saturating_add((pfn - r.base_pfn).saturating_mul(PAGE))
                })
            }
            PhysMap::Bitmap {
                bitmap_offset,
                bits,
                first_page,
                rank,
            } => {
                if pfn >= *bits {
                    return None;
                }
                let byte = |i: u64| {
                    bytes
                        .get(bitmap_offset.checked_add(usize::try_from(i).ok()?)?)
                        .copied()
                };
                if byte(pfn / 8)? & (1 << (pfn % 8)) == 0 {
                    return None;
                }
                let chunk = pfn / RANK_BITS;
                let mut count = u64::from(*rank.get(usize::try_from(chunk).ok()?)?);
                let mut i = chunk * RANK_BITS;
                // Whole bytes, then the bits of the last byte below `pfn`.
                while i + 8 <= pfn {
                    count += u64::from(byte(i / 8)?.count_ones());
                    i += 8;
                }
                let mask = (1u16 << (pfn - i)) - 1;
                count += u64::from((u16::from(byte(i / 8)?) & mask).count_ones());
                Some(first_page.saturating_add(count.saturating_mul(PAGE)))
            }
        }
    }

    /// Number of physical pages the dump stores.
    pub fn stored_pages(&self, bytes: &[u8]) -> u64 {
        match self {
            PhysMap::Runs(runs) => runs.iter().map(|r| r.count).sum(),
            PhysMap::Bitmap {
                bitmap_offset,
                bits,
                ..
            } => {
                let n = (bits.div_ceil(8)) as usize;
                bytes
                    .get(*bitmap_offset..bitmap_offset.saturating_add(n))
                    .map_or(0, |s| s.iter().map(|b| u64::from(b.count_ones())).sum())
            }
        }
    }

    /// When the file is shorter than the pages its run list or bitmap stores: how much is
    /// missing, with the offsets (and for a run list, the PFNs that are lost).
    pub fn truncation(&self, bytes: &[u8]) -> Option<String> {
        let len = bytes.len() as u64;
        match self {
            PhysMap::Runs(runs) => {
                let end = runs
                    .iter()
                    .map(|r| r.file_offset.saturating_add(r.count.saturating_mul(PAGE)))
                    .max()?;
                if len >= end {
                    return None;
                }
                let mut lost = Vec::new();
                let mut lost_pages = 0u64;
                for r in runs {
                    let run_end = r.file_offset.saturating_add(r.count.saturating_mul(PAGE));
                    if run_end <= len {
                        continue;
                    }
                    // Pages of the run wholly in the file stay readable.
                    let kept = len.saturating_sub(r.file_offset) / PAGE;
                    let first = r.base_pfn.saturating_add(kept.min(r.count));
                    let last = r.base_pfn.saturating_add(r.count.saturating_sub(1));
                    lost_pages = lost_pages.saturating_add(r.count.saturating_sub(kept));
                    lost.push(format!("{first:#x}-{last:#x}"));
                }
                let shown = lost.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
                Some(format!(
                    "truncated: the file ends at offset {len:#x}, its physical memory run list stores pages up to offset {end:#x}: {} bytes missing ({lost_pages} pages, PFNs {shown}{}); memory there is not in the file",
                    end - len,
                    if lost.len() > 4 {
                        format!(" and {} more runs", lost.len() - 4)
                    } else {
                        String::new()
                    }
                ))
            }
            PhysMap::Bitmap { first_page, .. } => {
                let stored = self.stored_pages(bytes);
                let end = first_page.saturating_add(stored.saturating_mul(PAGE));
                if len >= end {
                    return None;
                }
                let kept = len.saturating_sub(*first_page) / PAGE;
                Some(format!(
                    "truncated: the file ends at offset {len:#x}, its bitmap stores {stored} pages from offset {first_page:#x} up to offset {end:#x}: {} bytes missing (the last {} stored pages); memory there is not in the file",
                    end - len,
                    stored.saturating_sub(kept)
                ))
            }
        }
    }

    /// The 64-bit bitmap header at `off` (§2.5): FirstPage @0x20, Pages @0x30, bitmap @0x38.
    pub fn bitmap64(path: &Path, bytes: &[u8], off: usize) -> Result<PhysMap, DumpError> {
        let err = |o: usize, what: &str| DumpError::Format {
            path: path.to_path_buf(),
            offset: o as u64,
            expected: what.to_string(),
        };
        let first_page =
            u64_at(bytes, off + 0x20).ok_or_else(|| err(off + 0x20, "bitmap FirstPage"))?;
        let bits = u64_at(bytes, off + 0x30).ok_or_else(|| err(off + 0x30, "bitmap Pages"))?;
        Self::bitmap_at(path, bytes, off + 0x30, off + 0x38, bits, first_page)
    }

    /// The 32-bit SUMMARY_DUMP32 at `off` (0x1000 in a `PAGEDUMP` file; WDK `_SUMMARY_DUMP32`):
    /// Signature, ValidDump, DumpOptions, HeaderSize @0xC (file offset of the first stored
    /// page), BitmapSize @0x10 (bits), Pages @0x14 (set bits), Bitmap.SizeOfBitMap @0x18,
    /// reserved @0x1C, the bitmap from @0x20.
    pub fn bitmap32(path: &Path, bytes: &[u8], off: usize) -> Result<PhysMap, DumpError> {
        let err = |o: usize, what: &str| DumpError::Format {
            path: path.to_path_buf(),
            offset: o as u64,
            expected: what.to_string(),
        };
        let first_page =
            u32_at(bytes, off + 0xc).ok_or_else(|| err(off + 0xc, "SUMMARY_DUMP32 HeaderSize"))?;
        let bits = u32_at(bytes, off + 0x10)
            .ok_or_else(|| err(off + 0x10, "SUMMARY_DUMP32 BitmapSize"))?;
        Self::bitmap_at(
            path,
            bytes,
            off + 0x10,
            off + 0x20,
            bits.into(),
            first_page.into(),
        )
    }

    /// A bitmap of `bits` bits at `bitmap_offset`, pages from `first_page`; `size_at` names the
    /// size field in errors.
    fn bitmap_at(
        path: &Path,
        bytes: &[u8],
        size_at: usize,
        bitmap_offset: usize,
        bits: u64,
        first_page: u64,
    ) -> Result<PhysMap, DumpError> {
        let err = |o: usize, what: &str| DumpError::Format {
            path: path.to_path_buf(),
            offset: o as u64,
            expected: what.to_string(),
        };
        let nbytes =
            usize::try_from(bits.div_ceil(8)).map_err(|_| err(size_at, "a bitmap size"))?;
        let bitmap = bytes
            .get(bitmap_offset..bitmap_offset.saturating_add(nbytes))
            .ok_or_else(|| err(bitmap_offset, &format!("a bitmap of {nbytes:#x} bytes")))?;
        let mut rank = Vec::with_capacity(nbytes / 64 + 1);
        let mut total: u32 = 0;
        for chunk in bitmap.chunks(64) {
            rank.push(total);
            // Eight u64 popcounts per chunk: the whole pass is a few hundred µs per GiB... of bitmap.
            total = total.saturating_add(chunk.iter().map(|b| b.count_ones()).sum::<u32>());
        }
        Ok(PhysMap::Bitmap {
            bitmap_offset,
            bits,
            first_page,
            rank,
        })
    }

    /// A full dump's PhysicalMemoryBlock at `off` (NumberOfRuns u32, pad, NumberOfPages u64,
    /// then {BasePage, PageCount} u64 pairs, at most 42); pages start at `data`.
    pub fn runs64(path: &Path, bytes: &[u8], off: usize, data: u64) -> Result<PhysMap, DumpError> {
        PhysMap::runs(path, bytes, off, data, RunLayout::WIDE)
    }

    /// A 32-bit full dump's PHYSICAL_MEMORY_DESCRIPTOR32 at `off` (0x64): NumberOfRuns u32,
    /// NumberOfPages u32, then {BasePage u32, PageCount u32} pairs (at most 86 fit the 700-byte
    /// field); pages start at `data` (0x1000).
    pub fn runs32(path: &Path, bytes: &[u8], off: usize, data: u64) -> Result<PhysMap, DumpError> {
        PhysMap::runs(path, bytes, off, data, RunLayout::NARROW)
    }

    /// The run list of either descriptor: the count, then pairs of `layout.field`-byte fields.
    fn runs(
        path: &Path,
        bytes: &[u8],
        off: usize,
        data: u64,
        layout: RunLayout,
    ) -> Result<PhysMap, DumpError> {
        let n = u32_at(bytes, off).ok_or_else(|| DumpError::Format {
            path: path.to_path_buf(),
            offset: off as u64,
            expected: "PhysicalMemoryBlock.NumberOfRuns".to_string(),
        })?;
        if n == super::PAGE_PATTERN_32 || n > layout.max_runs {
            return Err(DumpError::Format {
                path: path.to_path_buf(),
                offset: off as u64,
                expected: format!(
                    "at most {} physical memory runs (found {n:#x})",
                    layout.max_runs
                ),
            });
        }
        let field = |at: usize| -> u64 {
            if layout.field == 8 {
                u64_at(bytes, at).unwrap_or(0)
            } else {
                u32_at(bytes, at).map_or(0, u64::from)
            }
        };
        let mut runs = Vec::new();
        let mut file_offset = data;
        for i in 0..n as usize {
            let at = off + layout.first + 2 * layout.field * i;
            let base_pfn = field(at);
            let count = field(at + layout.field);
            runs.push(Run {
                base_pfn,
                count,
                file_offset,
            });
            file_offset = file_offset.saturating_add(count.saturating_mul(PAGE));
        }
        runs.sort_by_key(|r| r.base_pfn);
        Ok(PhysMap::Runs(runs))
    }

    /// An `RDMP` range dump at `off` (§2.7): FirstPageOffset @0x18, ranges from @0x30.
    pub fn range64(
        path: &Path,
        bytes: &[u8],
        off: usize,
        dump_type: u32,
    ) -> Result<PhysMap, DumpError> {
        let first = u64_at(bytes, off + 0x18).ok_or_else(|| DumpError::Format {
            path: path.to_path_buf(),
            offset: (off + 0x18) as u64,
            expected: "RDMP FirstPageOffset".to_string(),
        })?;
        let limit = if dump_type == 0xA {
            u32_at(bytes, off + 0x20).unwrap_or(0) as usize
        } else {
            usize::MAX
        };
        let mut runs = Vec::new();
        let mut file_offset = first;
        let mut at = off + 0x30;
        while runs.len() < limit && (at as u64) + 16 <= first && runs.len() < 1 << 20 {
            let (Some(base_pfn), Some(count)) = (u64_at(bytes, at), u64_at(bytes, at + 8)) else {
                break;
            };
            if count == 0 {
                break;
            }
            runs.push(Run {
                base_pfn,
                count,
                file_offset,
            });
            file_offset = file_offset.saturating_add(count.saturating_mul(PAGE));
            at += 16;
        }
        runs.sort_by_key(|r| r.base_pfn);
        Ok(PhysMap::Runs(runs))
    }
}

/// Install physical memory and read the kernel lists through it (x64: 4-level walk).
pub fn attach_kernel(dump: &mut CrashDump, phys: PhysMap) {
    if dump.machine != 0x8664 {
        let bytes = dump.memory_bytes();
        if let Some(w) = phys.truncation(&bytes) {
            dump.warn(w);
        }
        let cr3 = dump.directory_table_base.unwrap_or(0);
        dump.memory = Memory::new(
            bytes,
            Backing::Physical {
                phys,
                cr3,
                paging: Paging::X64,
            },
        );
        dump.warn(format!(
            "machine {:#x}: only the x64 and x86 page walks are implemented; virtual memory is not read",
            dump.machine
        ));
        return;
    }
    attach_with_paging(dump, phys, Paging::X64);
}

/// Install physical memory with a chosen page-table format, then read PsLoadedModuleList,
/// KDBG's unloaded drivers and the crashing thread, by the kernel's pointer width.
pub fn attach_with_paging(dump: &mut CrashDump, phys: PhysMap, paging: Paging) {
    let bytes = dump.memory_bytes();
    if let Some(w) = phys.truncation(&bytes) {
        dump.warn(w);
    }
    let cr3 = dump.directory_table_base.unwrap_or(0);
    dump.memory = Memory::new(bytes, Backing::Physical { phys, cr3, paging });
    let kernel = if paging == Paging::X64 {
        KernelLayout::X64
    } else {
        KernelLayout::x86(dump.build)
    };
    if let Some(head) = dump.ps_loaded_module_list {
        let (modules, warnings) = walk_modules(&dump.memory, head, &kernel);
        dump.modules = modules;
        for w in warnings {
            dump.warn(w);
        }
    } else {
        dump.warn("PsLoadedModuleList is not set in the header");
    }
    if let Some(kdbg) = dump.kd_debugger_data_block {
        match read_unloaded(&dump.memory, kdbg, &kernel) {
            Ok(u) => dump.unloaded_modules = u,
            Err(e) => dump.warn(e.to_string()),
        }
        match current_thread(dump, kdbg, &kernel) {
            Ok((thread, process)) => {
                dump.thread = Some(thread);
                dump.process_name = process;
            }
            Err(e) => dump.warn(e.to_string()),
        }
    }
}

/// Why a kernel list or the crashing thread could not be read from a dump's memory: kept as a
/// warning, the rest of the dump is still shown.
#[derive(Debug, thiserror::Error)]
pub enum KernelReadError {
    /// A structure the walk needs is not readable (not in the dump, paged out).
    #[error("{what}: {source}")]
    Read {
        what: String,
        #[source]
        source: ReadError,
    },
    /// The debugger data block is not in clear (encoded KDBG, or not a KDBG).
    #[error("KDBG at {kdbg:#x}: no `KDBG` tag (encoded block?); unloaded drivers not read")]
    NoKdbgTag { kdbg: u64 },
    /// No processor's current thread has the context's stack pointer on its stack.
    #[error(
        "no processor's current thread has {register} {sp:#x} on its stack: PROCESS_NAME not read"
    )]
    NoCurrentThread { register: &'static str, sp: u64 },
    /// A 32-bit kernel whose KTHREAD/EPROCESS offsets are not known.
    #[error(
        "x86 build {build}: KTHREAD/EPROCESS offsets are only known for Windows 7 (7600/7601); the crashing thread and PROCESS_NAME are not read"
    )]
    UnknownX86Build { build: u32 },
}

impl KernelReadError {
    fn read(what: impl Into<String>) -> impl FnOnce(ReadError) -> KernelReadError {
        let what = what.into();
        move |source| KernelReadError::Read { what, source }
    }
}

/// Where the kernel keeps what the module, unloaded-driver and thread walks read, for one
/// pointer width. One walk serves both widths; only these numbers differ.
struct KernelLayout {
    /// 64-bit pointers and UNICODE_STRING64 (else 32-bit, UNICODE_STRING32).
    wide: bool,
    /// The name of the stack pointer, for messages.
    sp_name: &'static str,
    /// KLDR_DATA_TABLE_ENTRY: DllBase, SizeOfImage, FullDllName, BaseDllName, CheckSum,
    /// TimeDateStamp (InLoadOrderLinks.Flink at 0).
    ldr: [u64; 6],
    /// UNLOADED_DRIVERS: entry size, StartAddress, EndAddress (Name at 0).
    unloaded: [u64; 3],
    /// KPRCB.CurrentThread, KTHREAD.StackLimit, StackBase, ApcState.Process; `None` when the
    /// build's offsets are not known.
    thread: Option<[u64; 4]>,
    /// EPROCESS.ImageFileName candidates, most likely first.
    image_file_name: Vec<u64>,
}

impl KernelLayout {
    /// x64 (§2.8): KLDR_DATA_TABLE_ENTRY DllBase 0x30, SizeOfImage 0x40, FullDllName 0x48,
    /// BaseDllName 0x58, CheckSum 0x78, TimeDateStamp 0x9C; 0x28-byte UNLOADED_DRIVERS
    /// {Name UNICODE_STRING64, StartAddress, EndAddress, CurrentTime}; KPRCB.CurrentThread 0x8,
    /// KTHREAD.StackLimit 0x30, StackBase 0x38, ApcState.Process 0xb8 (stable since Windows 8);
    /// EPROCESS.ImageFileName 0x5a8 (19041+) or 0x450 (it moved in 20H1: both are tried).
    const X64: KernelLayout = KernelLayout {
        wide: true,
        sp_name: "RSP",
        ldr: [0x30, 0x40, 0x48, 0x58, 0x78, 0x9c],
        unloaded: [0x28, 0x10, 0x18],
        thread: Some([0x8, 0x30, 0x38, 0xb8]),
        image_file_name: Vec::new(),
    };

    /// The x64 layout with ImageFileName candidates ordered by build.
    fn x64_for(build: u32) -> KernelLayout {
        KernelLayout {
            image_file_name: if build >= 19041 {
                vec![0x5a8, 0x450]
            } else {
                vec![0x450, 0x5a8]
            },
            ..KernelLayout::X64
        }
    }

    /// x86: KLDR_DATA_TABLE_ENTRY32 DllBase 0x18, SizeOfImage 0x20, FullDllName 0x24,
    /// BaseDllName 0x2C, CheckSum 0x40, TimeDateStamp by build ([`kldr32_timestamp_offset`]);
    /// 0x18-byte UNLOADED_DRIVERS32 {Name UNICODE_STRING32, StartAddress @0x8, EndAddress @0xC,
    /// CurrentTime}. Thread offsets of Windows 7 only (builds 7600/7601; public type dumps of
    /// the Windows 7 SP1 x86 kernel): KPRCB.CurrentThread 0x4, KTHREAD.StackLimit 0x2C,
    /// StackBase 0x190, ApcState.Process 0x50, EPROCESS.ImageFileName 0x16C; other 32-bit
    /// builds moved them.
    fn x86(build: u32) -> KernelLayout {
        let win7 = (7600..=7601).contains(&build);
        KernelLayout {
            wide: false,
            sp_name: "ESP",
            ldr: [0x18, 0x20, 0x24, 0x2c, 0x40, kldr32_timestamp_offset(build)],
            unloaded: [0x18, 0x8, 0xc],
            thread: win7.then_some([0x4, 0x2c, 0x190, 0x50]),
            image_file_name: vec![0x16c],
        }
    }

    fn ptr(&self, mem: &Memory, va: u64) -> Result<u64, ReadError> {
        mem.read_ptr(va, self.wide)
    }

    /// A KDDEBUGGER_DATA64 field: 64-bit on every kernel, sign-extended on 32-bit ones.
    fn kdbg_ptr(&self, mem: &Memory, va: u64) -> Result<u64, ReadError> {
        let v = mem.read_u64(va)?;
        Ok(if self.wide { v } else { v & 0xffff_ffff })
    }
}

/// The thread whose kernel stack holds the context's stack pointer, found through KDBG's
/// KiProcessorBlock (0x218, an array of KPRCB pointers), and its process name.
fn current_thread(
    dump: &CrashDump,
    kdbg: u64,
    kernel: &KernelLayout,
) -> Result<(super::ThreadInfo, Option<String>), KernelReadError> {
    let x64;
    let kernel = if kernel.wide {
        x64 = KernelLayout::x64_for(dump.build);
        &x64
    } else {
        kernel
    };
    let Some([current, limit_off, base_off, process_off]) = kernel.thread else {
        return Err(KernelReadError::UnknownX86Build { build: dump.build });
    };
    let mem = &dump.memory;
    let sp = dump.context.as_ref().map(|c| c.sp()).unwrap_or(0);
    let blocks = kernel
        .kdbg_ptr(mem, kdbg.saturating_add(0x218))
        .map_err(KernelReadError::read("KDBG KiProcessorBlock"))?;
    let step = if kernel.wide { 8 } else { 4 };
    let at = |base: u64, off: u64| kernel.ptr(mem, base.saturating_add(off));
    for cpu in 0..u64::from(dump.processors.min(1024)) {
        let Ok(prcb) = at(blocks, step * cpu) else {
            continue;
        };
        let Ok(thread) = at(prcb, current) else {
            continue;
        };
        let (Ok(limit), Ok(base)) = (at(thread, limit_off), at(thread, base_off)) else {
            continue;
        };
        if !(limit..base).contains(&sp) {
            continue;
        }
        let process = at(thread, process_off).ok().and_then(|p| {
            kernel.image_file_name.iter().find_map(|o| {
                // EPROCESS.ImageFileName: UCHAR[15], NUL-terminated when shorter.
                let b = mem.read_vec(p.saturating_add(*o), 15).ok()?;
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                let name = b.get(..end)?;
                (end > 0 && name.iter().all(|c| c.is_ascii_graphic() || *c == b' '))
                    .then(|| String::from_utf8_lossy(name).into_owned())
            })
        });
        let info = super::ThreadInfo {
            id: None,
            address: Some(thread),
            stack_start: Some(limit),
            stack_size: Some(base - limit),
        };
        return Ok((info, process));
    }
    Err(KernelReadError::NoCurrentThread {
        register: kernel.sp_name,
        sp,
    })
}

impl CrashDump {
    /// The shared file bytes behind the dump.
    pub(crate) fn memory_bytes(&self) -> std::sync::Arc<crate::mapped::Bytes> {
        self.memory.shared_bytes()
    }
}

/// Walk PsLoadedModuleList of an x64 kernel ([`KernelLayout::X64`]), bounded and cycle-safe.
pub fn walk_loaded_modules(mem: &Memory, head: u64) -> (Vec<Module>, Vec<String>) {
    walk_modules(mem, head, &KernelLayout::X64)
}

/// The KLDR_DATA_TABLE_ENTRY32 field that holds TimeDateStamp: 0x44 in the Windows XP/Vista/7
/// LDR_DATA_TABLE_ENTRY layout (after HashLinks / SectionPointer+CheckSum at 0x3C), 0x58 in the
/// Windows 8+ KLDR_DATA_TABLE_ENTRY (CoverageSection, LoadedImports, Spare and
/// SizeOfImageNotRounded come first; checked against public Windows 10 x86 type dumps).
pub fn kldr32_timestamp_offset(build: u32) -> u64 {
    if build >= 9200 { 0x58 } else { 0x44 }
}

/// Walk PsLoadedModuleList of a 32-bit kernel ([`KernelLayout::x86`]), bounded and
/// cycle-safe, like the x64 walk.
pub fn walk_loaded_modules32(mem: &Memory, head: u64, build: u32) -> (Vec<Module>, Vec<String>) {
    walk_modules(mem, head, &KernelLayout::x86(build))
}

/// Walk PsLoadedModuleList: at most 4096 entries, stopping at a loop or an unreadable Flink.
fn walk_modules(mem: &Memory, head: u64, kernel: &KernelLayout) -> (Vec<Module>, Vec<String>) {
    let [
        dll_base,
        size_of_image,
        full_name,
        base_name,
        checksum,
        timestamp,
    ] = kernel.ldr;
    let mut modules = Vec::new();
    let mut warnings = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut entry = match kernel.ptr(mem, head) {
        Ok(v) => v,
        Err(e) => {
            warnings.push(format!("PsLoadedModuleList head {head:#x}: {e}"));
            return (modules, warnings);
        }
    };
    while entry != head && entry != 0 && modules.len() < 4096 {
        if !seen.insert(entry) {
            warnings.push(format!("module list loops at {entry:#x}"));
            break;
        }
        let at = |o: u64| entry.saturating_add(o);
        let path = mem
            .read_unicode_string(at(full_name), kernel.wide)
            .unwrap_or_else(|_| "<unreadable>".to_string());
        let name = mem
            .read_unicode_string(at(base_name), kernel.wide)
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| path.rsplit('\\').next().unwrap_or("").to_string());
        modules.push(Module {
            name,
            path,
            base: kernel.ptr(mem, at(dll_base)).unwrap_or(0),
            size: mem.read_u32(at(size_of_image)).unwrap_or(0),
            timestamp: mem.read_u32(at(timestamp)).unwrap_or(0),
            checksum: mem.read_u32(at(checksum)).unwrap_or(0),
        });
        entry = match kernel.ptr(mem, entry) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!("module list entry {entry:#x}: Flink {e}"));
                break;
            }
        };
    }
    (modules, warnings)
}

/// KDBG (decoded, `KDBG` tag at +0x10; KDDEBUGGER_DATA64 keeps 64-bit fields on every
/// kernel): MmUnloadedDrivers @0x220 (pointer to the array of UNLOADED_DRIVERS),
/// MmLastUnloadedDriver @0x228 (pointer to the count); at most 50 entries.
fn read_unloaded(
    mem: &Memory,
    kdbg: u64,
    kernel: &KernelLayout,
) -> Result<Vec<UnloadedModule>, KernelReadError> {
    let tag = mem
        .read_u32(kdbg.saturating_add(0x10))
        .map_err(KernelReadError::read(format!("KDBG at {kdbg:#x}")))?;
    if tag != u32::from_le_bytes(*b"KDBG") {
        return Err(KernelReadError::NoKdbgTag { kdbg });
    }
    let list_ptr = kernel
        .kdbg_ptr(mem, kdbg.saturating_add(0x220))
        .map_err(KernelReadError::read("KDBG MmUnloadedDrivers"))?;
    let count_ptr = kernel
        .kdbg_ptr(mem, kdbg.saturating_add(0x228))
        .map_err(KernelReadError::read("KDBG MmLastUnloadedDriver"))?;
    if list_ptr == 0 || count_ptr == 0 {
        return Ok(Vec::new());
    }
    let array = kernel
        .ptr(mem, list_ptr)
        .map_err(KernelReadError::read("MmUnloadedDrivers"))?;
    let count = mem
        .read_u32(count_ptr)
        .map_err(KernelReadError::read("MmLastUnloadedDriver"))?
        .min(50);
    let [size, start, end] = kernel.unloaded;
    let mut out = Vec::new();
    for i in 0..u64::from(count) {
        let e = array.saturating_add(i * size);
        out.push(UnloadedModule {
            name: mem.read_unicode_string(e, kernel.wide).unwrap_or_default(),
            start: kernel.ptr(mem, e.saturating_add(start)).unwrap_or(0),
            end: kernel.ptr(mem, e.saturating_add(end)).unwrap_or(0),
        });
    }
    Ok(out)
}

/// Where a physical-memory descriptor's runs start, how wide its fields are, how many fit.
#[derive(Clone, Copy)]
struct RunLayout {
    first: usize,
    field: usize,
    max_runs: u32,
}

impl RunLayout {
    /// PHYSICAL_MEMORY_DESCRIPTOR64: runs from +0x10, u64 fields, at most 42.
    const WIDE: RunLayout = RunLayout {
        first: 0x10,
        field: 8,
        max_runs: 42,
    };
    /// PHYSICAL_MEMORY_DESCRIPTOR32: runs from +8, u32 fields, at most 86.
    const NARROW: RunLayout = RunLayout {
        first: 8,
        field: 4,
        max_runs: 86,
    };
}
