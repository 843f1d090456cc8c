//! The kernel dump header (`PAGEDU64` 0x2000 bytes, `PAGEDUMP` 0x1000 bytes), CONTEXT and
//! EXCEPTION_RECORD decoding, and dispatch to the body readers by DumpType and by the signature
//! of the secondary header (docs/formats/crash-dump.md §2.2–§2.5).

use super::le::{u32_at, u64_at};
use super::memory::{Backing, Memory};
use super::{Bugcheck, CrashDump, DumpError, DumpKind, not_page64, physical, triage};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// AMD64 CONTEXT (0x4D0 bytes; offsets from docs/formats/crash-dump.md §2.3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Amd64Context {
    pub context_flags: u32,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rbx: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub eflags: u32,
    pub seg_cs: u16,
    pub seg_ss: u16,
}

/// Size of an AMD64 CONTEXT.
pub const AMD64_CONTEXT_SIZE: usize = 0x4d0;

impl Amd64Context {
    /// Decode from at least 0x100 bytes.
    pub fn parse(b: &[u8]) -> Option<Amd64Context> {
        let q = |o: usize| u64_at(b, o);
        Some(Amd64Context {
            context_flags: u32_at(b, 0x30)?,
            seg_cs: super::le::u16_at(b, 0x38)?,
            seg_ss: super::le::u16_at(b, 0x42)?,
            eflags: u32_at(b, 0x44)?,
            rax: q(0x78)?,
            rcx: q(0x80)?,
            rdx: q(0x88)?,
            rbx: q(0x90)?,
            rsp: q(0x98)?,
            rbp: q(0xa0)?,
            rsi: q(0xa8)?,
            rdi: q(0xb0)?,
            r8: q(0xb8)?,
            r9: q(0xc0)?,
            r10: q(0xc8)?,
            r11: q(0xd0)?,
            r12: q(0xd8)?,
            r13: q(0xe0)?,
            r14: q(0xe8)?,
            r15: q(0xf0)?,
            rip: q(0xf8)?,
        })
    }

    /// The integer registers in x64 encoding order (rax=0 .. r15=15).
    pub fn gpr(&self) -> [u64; 16] {
        [
            self.rax, self.rcx, self.rdx, self.rbx, self.rsp, self.rbp, self.rsi, self.rdi,
            self.r8, self.r9, self.r10, self.r11, self.r12, self.r13, self.r14, self.r15,
        ]
    }

    /// Write the fields back into a CONTEXT-sized buffer (used by the writer).
    pub fn write(&self, b: &mut [u8]) {
        let mut put = |o: usize, v: &[u8]| {
            if let Some(d) = b.get_mut(o..o + v.len()) {
                d.copy_from_slice(v);
            }
        };
        put(0x30, &self.context_flags.to_le_bytes());
        put(0x38, &self.seg_cs.to_le_bytes());
        put(0x42, &self.seg_ss.to_le_bytes());
        put(0x44, &self.eflags.to_le_bytes());
        for (i, v) in self.gpr().iter().enumerate() {
            put(0x78 + 8 * i, &v.to_le_bytes());
        }
        put(0xf8, &self.rip.to_le_bytes());
    }
}

/// ARM64 CONTEXT: ContextFlags 0, Cpsr 4, X0..X28 8.., Fp 0xF0, Lr 0xF8, Sp 0x100, Pc 0x108.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Arm64Context {
    pub context_flags: u32,
    pub cpsr: u32,
    pub x: Vec<u64>,
    pub fp: u64,
    pub lr: u64,
    pub sp: u64,
    pub pc: u64,
}

impl Arm64Context {
    pub fn parse(b: &[u8]) -> Option<Arm64Context> {
        let mut x = Vec::with_capacity(29);
        for i in 0..29 {
            x.push(u64_at(b, 8 + 8 * i)?);
        }
        Some(Arm64Context {
            context_flags: u32_at(b, 0)?,
            cpsr: u32_at(b, 4)?,
            x,
            fp: u64_at(b, 0xf0)?,
            lr: u64_at(b, 0xf8)?,
            sp: u64_at(b, 0x100)?,
            pc: u64_at(b, 0x108)?,
        })
    }
}

/// x86 CONTEXT (the integer part; offsets after the 112-byte FloatSave area).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct X86Context {
    pub context_flags: u32,
    pub edi: u32,
    pub esi: u32,
    pub ebx: u32,
    pub edx: u32,
    pub ecx: u32,
    pub eax: u32,
    pub ebp: u32,
    pub eip: u32,
    pub eflags: u32,
    pub esp: u32,
}

impl X86Context {
    pub fn parse(b: &[u8]) -> Option<X86Context> {
        Some(X86Context {
            context_flags: u32_at(b, 0)?,
            edi: u32_at(b, 0x9c)?,
            esi: u32_at(b, 0xa0)?,
            ebx: u32_at(b, 0xa4)?,
            edx: u32_at(b, 0xa8)?,
            ecx: u32_at(b, 0xac)?,
            eax: u32_at(b, 0xb0)?,
            ebp: u32_at(b, 0xb4)?,
            eip: u32_at(b, 0xb8)?,
            eflags: u32_at(b, 0xc0)?,
            esp: u32_at(b, 0xc4)?,
        })
    }
}

/// A CONTEXT record of the dump's machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "arch", rename_all = "snake_case")]
pub enum Context {
    Amd64(Amd64Context),
    Arm64(Arm64Context),
    X86(X86Context),
}

impl Context {
    /// Decode a CONTEXT for `machine` from its bytes.
    pub fn parse(machine: u32, b: &[u8]) -> Option<Context> {
        match machine {
            0x8664 => Amd64Context::parse(b).map(Context::Amd64),
            0xaa64 => Arm64Context::parse(b).map(Context::Arm64),
            0x14c => X86Context::parse(b).map(Context::X86),
            _ => None,
        }
    }

    /// Instruction pointer.
    pub fn ip(&self) -> u64 {
        match self {
            Context::Amd64(c) => c.rip,
            Context::Arm64(c) => c.pc,
            Context::X86(c) => u64::from(c.eip),
        }
    }

    /// Stack pointer.
    pub fn sp(&self) -> u64 {
        match self {
            Context::Amd64(c) => c.rsp,
            Context::Arm64(c) => c.sp,
            Context::X86(c) => u64::from(c.esp),
        }
    }

    /// Named registers for display, in WinDbg's order.
    pub fn registers(&self) -> Vec<(&'static str, u64)> {
        match self {
            Context::Amd64(c) => vec![
                ("rax", c.rax),
                ("rbx", c.rbx),
                ("rcx", c.rcx),
                ("rdx", c.rdx),
                ("rsi", c.rsi),
                ("rdi", c.rdi),
                ("rip", c.rip),
                ("rsp", c.rsp),
                ("rbp", c.rbp),
                ("r8", c.r8),
                ("r9", c.r9),
                ("r10", c.r10),
                ("r11", c.r11),
                ("r12", c.r12),
                ("r13", c.r13),
                ("r14", c.r14),
                ("r15", c.r15),
                ("efl", u64::from(c.eflags)),
            ],
            Context::Arm64(c) => {
                let mut v: Vec<(&'static str, u64)> = Vec::new();
                const NAMES: [&str; 29] = [
                    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
                    "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22",
                    "x23", "x24", "x25", "x26", "x27", "x28",
                ];
                for (n, x) in NAMES.iter().zip(c.x.iter()) {
                    v.push((n, *x));
                }
                v.extend([("fp", c.fp), ("lr", c.lr), ("sp", c.sp), ("pc", c.pc)]);
                v
            }
            Context::X86(c) => vec![
                ("eax", c.eax.into()),
                ("ebx", c.ebx.into()),
                ("ecx", c.ecx.into()),
                ("edx", c.edx.into()),
                ("esi", c.esi.into()),
                ("edi", c.edi.into()),
                ("eip", c.eip.into()),
                ("esp", c.esp.into()),
                ("ebp", c.ebp.into()),
                ("efl", c.eflags.into()),
            ],
        }
    }
}

/// EXCEPTION_RECORD64 (code, flags, record, address @0x10, NumberParameters @0x18, Information @0x20).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExceptionRecord {
    pub code: u32,
    pub flags: u32,
    pub record: u64,
    pub address: u64,
    pub parameters: Vec<u64>,
}

impl ExceptionRecord {
    /// Decode an EXCEPTION_RECORD64.
    pub fn parse64(b: &[u8]) -> Option<ExceptionRecord> {
        let n = u32_at(b, 0x18)?.min(15) as usize;
        let mut parameters = Vec::with_capacity(n);
        for i in 0..n {
            parameters.push(u64_at(b, 0x20 + 8 * i)?);
        }
        Some(ExceptionRecord {
            code: u32_at(b, 0)?,
            flags: u32_at(b, 4)?,
            record: u64_at(b, 8)?,
            address: u64_at(b, 0x10)?,
            parameters,
        })
    }

    /// Decode an EXCEPTION_RECORD32 (code, flags, record, address, n, `info[15]` as u32).
    pub fn parse32(b: &[u8]) -> Option<ExceptionRecord> {
        let n = u32_at(b, 0x10)?.min(15) as usize;
        let mut parameters = Vec::with_capacity(n);
        for i in 0..n {
            parameters.push(u64::from(u32_at(b, 0x14 + 4 * i)?));
        }
        Some(ExceptionRecord {
            code: u32_at(b, 0)?,
            flags: u32_at(b, 4)?,
            record: u32_at(b, 8)?.into(),
            address: u32_at(b, 0xc)?.into(),
            parameters,
        })
    }
}

fn format_err(path: &Path, offset: u64, expected: &str) -> DumpError {
    DumpError::Format {
        path: path.to_path_buf(),
        offset,
        expected: expected.to_string(),
    }
}

/// A set 32-bit field (not the `PAGE` fill).
fn not_page32(v: u32) -> Option<u32> {
    (v != super::PAGE_PATTERN_32).then_some(v)
}

/// Where DUMP_HEADER64 and DUMP_HEADER32 keep the facts both have (docs/formats/crash-dump.md
/// §2.1, §2.2).
struct HeaderLayout {
    /// The header's size: the body starts here.
    size: usize,
    /// 8 or 4: the width of the pointers and of the bug check parameters.
    ptr: usize,
    /// DirectoryTableBase; PfnDataBase, PsLoadedModuleList and PsActiveProcessHead follow.
    directory_table_base: usize,
    machine: usize,
    processors: usize,
    bugcheck_code: usize,
    bugcheck_parameters: usize,
    kd_debugger_data_block: usize,
    context: (usize, usize),
    exception: (usize, usize),
    parse_exception: fn(&[u8]) -> Option<ExceptionRecord>,
    dump_type: usize,
    system_time: usize,
    system_uptime: usize,
}

const HEADER64: HeaderLayout = HeaderLayout {
    size: 0x2000,
    ptr: 8,
    directory_table_base: 0x10,
    machine: 0x30,
    processors: 0x34,
    bugcheck_code: 0x38,
    bugcheck_parameters: 0x40,
    kd_debugger_data_block: 0x80,
    context: (0x348, 3000),
    exception: (0xf00, 0x98),
    parse_exception: ExceptionRecord::parse64,
    dump_type: 0xf98,
    system_time: 0xfa8,
    system_uptime: 0x1030,
};

const HEADER32: HeaderLayout = HeaderLayout {
    size: 0x1000,
    ptr: 4,
    directory_table_base: 0x10,
    machine: 0x20,
    processors: 0x24,
    bugcheck_code: 0x28,
    bugcheck_parameters: 0x2c,
    kd_debugger_data_block: 0x60,
    context: (0x320, 1200),
    exception: (0x7d0, 0x50),
    parse_exception: ExceptionRecord::parse32,
    dump_type: 0xf88,
    system_time: 0xfc0,
    system_uptime: 0xfb8,
};

/// The header facts of a kernel dump laid out as `h` (`what` names the header in the error
/// for a file too short to hold it); the body is left to the caller.
fn read_header(
    path: &Path,
    bytes: &Arc<crate::mapped::Bytes>,
    h: &HeaderLayout,
    what: &str,
) -> Result<CrashDump, DumpError> {
    let b: &[u8] = bytes;
    if b.len() < h.size {
        return Err(format_err(path, b.len() as u64, what));
    }
    let d = |o: usize| u32_at(b, o).unwrap_or(0);
    let q = |o: usize| u64_at(b, o).unwrap_or(0);
    // A pointer-sized field: the parameters as stored, the pointers unless left `PAGE`-filled.
    let word = |o: usize| if h.ptr == 8 { q(o) } else { u64::from(d(o)) };
    let ptr = |o: usize| {
        if h.ptr == 8 {
            not_page64(q(o))
        } else {
            not_page32(d(o)).map(u64::from)
        }
    };
    let machine = d(h.machine);
    let p = h.bugcheck_parameters;
    let (c, c_len) = h.context;
    let (e, e_len) = h.exception;
    Ok(CrashDump {
        dump_type: d(h.dump_type),
        machine,
        major_version: d(0x8),
        build: d(0xc),
        processors: d(h.processors),
        bugcheck: Some(Bugcheck {
            code: d(h.bugcheck_code),
            parameters: [
                word(p),
                word(p + h.ptr),
                word(p + 2 * h.ptr),
                word(p + 3 * h.ptr),
            ],
        }),
        system_time: not_page64(q(h.system_time)).filter(|&t| t != 0),
        system_uptime: not_page64(q(h.system_uptime)),
        directory_table_base: ptr(h.directory_table_base),
        pfn_database: ptr(h.directory_table_base + h.ptr),
        ps_loaded_module_list: ptr(h.directory_table_base + 2 * h.ptr),
        ps_active_process_head: ptr(h.directory_table_base + 3 * h.ptr),
        kd_debugger_data_block: ptr(h.kd_debugger_data_block),
        context: b.get(c..c + c_len).and_then(|c| Context::parse(machine, c)),
        exception: b.get(e..e + e_len).and_then(h.parse_exception),
        ..CrashDump::new(
            path,
            DumpKind::KernelHeaderOnly,
            Memory::new(bytes.clone(), Backing::None),
        )
    })
}

/// Open a `PAGEDU64` dump: the header, then the body by type and secondary signature.
pub fn open_kernel64(
    path: &Path,
    bytes: Arc<crate::mapped::Bytes>,
) -> Result<CrashDump, DumpError> {
    let mut dump = read_header(path, &bytes, &HEADER64, "a 0x2000-byte PAGEDU64 header")?;
    let b: &[u8] = &bytes;
    let (machine, dump_type) = (dump.machine, dump.dump_type);
    if dump.context.is_none() {
        dump.warn_at(
            0x348,
            format!("header context: machine {machine:#x} has no CONTEXT decoder"),
        );
    }
    let secondary = b
        .get(0x2000..0x2004)
        .map(|s| String::from_utf8_lossy(s).into_owned());
    let sig = b.get(0x2000..0x2004).unwrap_or(&[]);
    let sig_at4 = b.get(0x2004..0x2008).unwrap_or(&[]);
    // Dispatch on the secondary signature first: new types keep appearing (§5, kdmp-parser#26).
    if (sig == b"SDMP" || sig == b"FDMP") && sig_at4 == b"DUMP" {
        dump.secondary_signature = secondary;
        dump.kind = DumpKind::KernelBitmap;
        let phys = physical::PhysMap::bitmap64(path, &bytes, 0x2000)?;
        physical::attach_kernel(&mut dump, phys);
    } else if sig_at4 == b"RDMP" {
        dump.secondary_signature = Some("RDMP".to_string());
        dump.kind = DumpKind::KernelRange;
        let phys = physical::PhysMap::range64(path, &bytes, 0x2000, dump_type)?;
        physical::attach_kernel(&mut dump, phys);
    } else if dump_type == 4 {
        dump.kind = DumpKind::KernelTriage;
        triage::read_triage64(&mut dump, &bytes)?;
    } else if dump_type == 1 {
        dump.kind = DumpKind::KernelFull;
        let phys = physical::PhysMap::runs64(path, &bytes, 0x88, 0x2000)?;
        physical::attach_kernel(&mut dump, phys);
    } else {
        dump.warn_at(
            0xf98,
            format!(
                "DumpType {dump_type:#x} with secondary signature {:?}: body not read",
                String::from_utf8_lossy(sig)
            ),
        );
    }
    Ok(dump)
}

/// Open a 32-bit `PAGEDUMP` (DUMP_HEADER32, docs/formats/crash-dump.md §2.2; offsets from the `DH_*` indexes and
/// the WDK `_DUMP_HEADER32` type, unverified on a real file): header facts, then the body by
/// the signature at 0x1000 and DumpType: a summary/bitmap dump (`SDMP`/`FDMP`,
/// SUMMARY_DUMP32), a full dump (PHYSICAL_MEMORY_DESCRIPTOR32 at 0x64, pages from 0x1000), or a
/// triage dump. Memory of full and bitmap dumps is read through an x86 page walk, PAE or not by
/// the header's PaeEnabled byte (0x5C).
pub fn open_kernel32(
    path: &Path,
    bytes: Arc<crate::mapped::Bytes>,
) -> Result<CrashDump, DumpError> {
    let mut dump = read_header(path, &bytes, &HEADER32, "a 0x1000-byte PAGEDUMP header")?;
    let b: &[u8] = &bytes;
    let (machine, dump_type) = (dump.machine, dump.dump_type);
    dump.warn(
        "32-bit PAGEDUMP: header, summary-header and KLDR offsets come from the DH_* indexes and public type layouts and are not verified on a real 32-bit file".to_string(),
    );
    let sig = b.get(0x1000..0x1004).unwrap_or(&[]);
    let sig_at4 = b.get(0x1004..0x1008).unwrap_or(&[]);
    let phys = if (sig == b"SDMP" || sig == b"FDMP") && sig_at4 == b"DUMP" {
        dump.secondary_signature = Some(String::from_utf8_lossy(sig).into_owned());
        dump.kind = DumpKind::KernelBitmap;
        physical::PhysMap::bitmap32(path, &bytes, 0x1000).map(Some)
    } else if dump_type == 4 {
        dump.kind = DumpKind::KernelTriage;
        triage::read_triage32(&mut dump, &bytes);
        Ok(None)
    } else if dump_type == 1 {
        dump.kind = DumpKind::KernelFull;
        physical::PhysMap::runs32(path, &bytes, 0x64, 0x1000).map(Some)
    } else {
        dump.warn_at(
            0xf88,
            format!(
                "DumpType {dump_type:#x} with secondary signature {:?}: body not read",
                String::from_utf8_lossy(sig)
            ),
        );
        Ok(None)
    };
    // A body that cannot be mapped (a hostile run count or bitmap size) leaves the header facts.
    let phys = match phys {
        Ok(p) => p,
        Err(e) => {
            dump.warn(format!("{e}: memory is not read"));
            dump.kind = DumpKind::KernelHeaderOnly;
            None
        }
    };
    if let Some(phys) = phys {
        if machine != 0x14c {
            physical::attach_kernel(&mut dump, phys);
            return Ok(dump);
        }
        let paging = choose_x86_paging(&mut dump, &phys, b.get(0x5c).copied());
        physical::attach_with_paging(&mut dump, phys, paging);
    }
    Ok(dump)
}

/// PAE or not from the PaeEnabled byte (0x5C). When it is neither 0 nor 1 (e.g. the `PAGE`
/// fill), try both walks on PsLoadedModuleList's head and say so in a warning.
fn choose_x86_paging(
    dump: &mut CrashDump,
    phys: &physical::PhysMap,
    flag: Option<u8>,
) -> super::memory::Paging {
    use super::memory::Paging;
    match flag {
        Some(1) => return Paging::X86Pae,
        Some(0) => return Paging::X86,
        _ => {}
    }
    let cr3 = dump.directory_table_base.unwrap_or(0);
    let head = dump.ps_loaded_module_list;
    let file = dump.memory_bytes();
    let works = |paging: Paging| {
        let Some(head) = head else { return false };
        let probe = Memory::new(
            file.clone(),
            Backing::Physical {
                phys: phys.clone(),
                cr3,
                paging,
            },
        );
        probe
            .read_u32(head)
            .is_ok_and(|flink| probe.read_u32(u64::from(flink)).is_ok())
    };
    // A non-PAE CR3 is page-aligned; a PAE one only 32-byte aligned.
    let (first, second) = if cr3 & 0xfe0 != 0 {
        (Paging::X86Pae, Paging::X86)
    } else {
        (Paging::X86, Paging::X86Pae)
    };
    let chosen = if works(first) {
        first
    } else if works(second) {
        second
    } else {
        first
    };
    let shown = flag.map_or_else(|| "missing".to_string(), |v| format!("{v:#x}"));
    dump.warn(format!(
        "PaeEnabled at 0x5c is {shown} (not 0 or 1): guessed {} paging from CR3 and PsLoadedModuleList",
        if chosen == Paging::X86Pae {
            "PAE"
        } else {
            "non-PAE"
        }
    ));
    chosen
}
