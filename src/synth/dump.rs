//! Crash-dump writers for fixtures, the demo case and benchmarks: x64 bitmap kernel dumps
//! (MEMORY.DMP, DumpType 5, `SDMP`) with page tables, and triage minidumps (DumpType 4), both
//! with a module list, real in-memory PE images (headers, .text, .pdata, UNWIND_INFO, exports),
//! a KDBG with unloaded drivers and a thread stack that unwinds to a chosen call chain; and
//! 32-bit `PAGEDUMP` kernel dumps ([`write_dump32`]: full or summary, PAE or non-PAE page
//! tables, PE32 images, an EBP-chain stack).
//!
//! Layouts follow `docs/formats/crash-dump.md` §2.2–§2.6 and §2.8; the reader in
//! `crate::dump` and kdmp-parser (PyPI) read what this writes.
//!
//! Function names resolve through each image's export table, so the reader names frames with its
//! generic export fallback (no hidden side channel).

use crate::dump::Amd64Context;
use crate::synth::minidump::MinidumpModule;
use crate::synth::pe::{self as synth_pe, ImageLayout, ImageSpec, SectionSpec};
use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A module to place in the dump.
#[derive(Clone, Debug)]
pub struct ModuleSpec {
    /// File name, e.g. `ntoskrnl.exe`.
    pub name: String,
    /// Path as the loader records it, e.g. `\SystemRoot\system32\ntoskrnl.exe`.
    pub path: String,
    /// Extra exported functions beside those of the call chain.
    pub functions: Vec<String>,
    /// The image's TimeDateStamp; `None` derives one from the name.
    pub timestamp: Option<u32>,
}

impl ModuleSpec {
    /// A driver under `\SystemRoot\System32\drivers\`.
    pub fn driver(name: &str) -> ModuleSpec {
        ModuleSpec {
            name: name.to_string(),
            path: format!("\\SystemRoot\\System32\\drivers\\{name}"),
            functions: vec!["DriverEntry".to_string()],
            timestamp: None,
        }
    }

    /// An image under `\SystemRoot\system32\`.
    pub fn system(name: &str) -> ModuleSpec {
        ModuleSpec {
            name: name.to_string(),
            path: format!("\\SystemRoot\\system32\\{name}"),
            functions: Vec::new(),
            timestamp: None,
        }
    }
}

/// What to write.
#[derive(Clone, Debug)]
pub struct DumpSpec {
    pub bugcheck: u32,
    /// P1..P4. Parameters listed in `string_params` are replaced by the address of a
    /// UNICODE_STRING holding the text.
    pub params: [u64; 4],
    /// (parameter index 0..3, text): written as UNICODE_STRING in memory.
    pub string_params: Vec<(usize, String)>,
    /// The first module must be the kernel (`ntoskrnl.exe`).
    pub modules: Vec<ModuleSpec>,
    /// Unloaded drivers (name) recorded in MmUnloadedDrivers / the triage table.
    pub unloaded: Vec<String>,
    /// Innermost first: `nt!KeBugCheckEx`, `nt!IopLoadDriver`, ... (`module!function`, where
    /// module is the short name: `nt`, or the file stem).
    pub call_chain: Vec<String>,
    /// A parameter set to the faulting IP: the instruction of the frame a trap handler
    /// (KiPageFault...) interrupted (P4 of 0xD1, P2 of 0x1E...).
    pub fault_ip_param: Option<usize>,
    /// Physical memory size of the bitmap dump (the file is sparse: only written pages use
    /// disk).
    pub size_bytes: u64,
    /// All bits set in the bitmap (a complete dump) or only the written pages plus every
    /// third page (exercises the PFN-to-offset index).
    pub dense_bitmap: bool,
    /// The OS build: in the header and in every module's version resource.
    pub build: u32,
    /// The revision in the modules' version resources (`10.0.build.revision`); `None` gives
    /// each module its own, derived from its name.
    pub revision: Option<u16>,
    pub processors: u32,
    /// FILETIME of the crash.
    pub system_time: u64,
    /// Up-time in 100 ns units.
    pub uptime: u64,
    /// Process name in the EPROCESS copy (triage).
    pub process_name: String,
    /// A system-service return to user mode: (RIP, RSP) in the KTRAP_FRAME of the outermost
    /// call-chain function, which must be a system-service exit ([`SYSCALL_EXITS`]). The trap
    /// frame sits at the top of the kernel stack (InitialStack - 0x190), as KiSystemCall64
    /// builds it.
    pub user_return: Option<(u64, u64)>,
    /// `module!function` entries whose addresses (inside the function, not after a call) are
    /// left as stray values in unused stack slots: locals and the trap frames' volatile
    /// registers. A stack walk must not take them for frames.
    pub stray: Vec<String>,
    /// 0x9F P1 = 3: (driver file of the PDO, driver file holding the blocked IRP). P2 becomes
    /// the PDO's DEVICE_OBJECT and P4 the IRP, whose current stack location names the holder's
    /// device (x64 layouts: IRP +0xb8, IO_STACK_LOCATION +0x28, DEVICE_OBJECT +0x8,
    /// DRIVER_OBJECT +0x18 DriverStart, +0x38 DriverName).
    pub power_irp: Option<(String, String)>,
}

impl DumpSpec {
    /// The demo case: a boot-time 0x5A CRITICAL_SERVICE_FAILED, P4 = STATUS_INVALID_IMAGE_HASH,
    /// raised by nt!IopLoadDriver for filecrypt.sys (which is therefore not loaded).
    pub fn demo_0x5a() -> DumpSpec {
        let mut modules = vec![
            ModuleSpec::system("ntoskrnl.exe"),
            ModuleSpec::system("hal.dll"),
            ModuleSpec::system("kd.dll"),
            ModuleSpec::system("mcupdate_GenuineIntel.dll"),
            ModuleSpec::driver("CLFS.SYS"),
            ModuleSpec::driver("tm.sys"),
            ModuleSpec::driver("PSHED.dll"),
            ModuleSpec::system("CI.dll"),
            ModuleSpec::driver("cng.sys"),
            ModuleSpec::driver("Wdf01000.sys"),
            ModuleSpec::driver("ACPI.sys"),
            ModuleSpec::driver("msisadrv.sys"),
            ModuleSpec::driver("pci.sys"),
            ModuleSpec::driver("partmgr.sys"),
            ModuleSpec::driver("volmgr.sys"),
            ModuleSpec::driver("volmgrx.sys"),
            ModuleSpec::driver("mountmgr.sys"),
            ModuleSpec::driver("storahci.sys"),
            ModuleSpec::driver("storport.sys"),
            ModuleSpec::driver("disk.sys"),
            ModuleSpec::driver("CLASSPNP.SYS"),
            ModuleSpec::driver("cdrom.sys"),
            ModuleSpec::driver("FLTMGR.SYS"),
            ModuleSpec::driver("Ntfs.sys"),
            ModuleSpec::driver("ksecdd.sys"),
            ModuleSpec::driver("volsnap.sys"),
        ];
        modules[0].functions = vec!["KeBugCheck".into(), "IoCreateDriver".into()];
        DumpSpec {
            bugcheck: 0x5a,
            params: [1, 0, 0, 0xffff_ffff_c000_0428],
            string_params: vec![
                (1, "\\FileSystem\\FileCrypt".to_string()),
                (
                    2,
                    "\\SystemRoot\\System32\\drivers\\filecrypt.sys".to_string(),
                ),
            ],
            modules,
            unloaded: vec!["dam.sys".into(), "WdBoot.sys".into()],
            call_chain: [
                "nt!KeBugCheckEx",
                "nt!IopLoadDriver",
                "nt!IopInitializeSystemDrivers",
                "nt!IoInitSystem",
                "nt!Phase1Initialization",
                "nt!PspSystemThreadStartup",
                "nt!KiStartSystemThread",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            fault_ip_param: None,
            size_bytes: 64 << 20,
            dense_bitmap: true,
            build: 19041,
            revision: None,
            processors: 4,
            // 2024-03-14 07:15:02 UTC
            system_time: 133_548_741_020_000_000,
            uptime: 41_500_000,
            process_name: "System".to_string(),
            user_return: None,
            stray: Vec::new(),
            power_irp: None,
        }
    }
}

impl DumpSpec {
    /// A driver fault: 0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL in `faultydrv.sys`, reached through a
    /// page fault (a trap frame on the stack), P4 = the faulting IP.
    pub fn demo_0xd1() -> DumpSpec {
        let mut spec = DumpSpec::demo_0x5a();
        spec.bugcheck = 0xd1;
        spec.params = [0x10, 2, 0, 0];
        spec.string_params.clear();
        spec.fault_ip_param = Some(3);
        spec.modules.push(ModuleSpec::driver("faultydrv.sys"));
        spec.call_chain = [
            "nt!KeBugCheckEx",
            "nt!KiBugCheckDispatch",
            "nt!KiPageFault",
            "faultydrv!ReadRegisterBlock",
            "faultydrv!DispatchDeviceControl",
            "nt!IofCallDriver",
            "nt!IopXxxControlFile",
            "nt!NtDeviceIoControlFile",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        spec
    }
}

impl DumpSpec {
    /// A 0x4A IRQL_GT_ZERO_AT_SYSTEM_SERVICE: a system service returned to user mode at raised
    /// IRQL; nt!KiSystemServiceExitPico calls KiBugCheckDispatch with the trap frame at the top
    /// of the kernel stack, whose RIP (= P1) is the user-mode return. Stray values pointing
    /// into win32k.sys sit in the trap frame's volatile registers.
    pub fn syscall_0x4a() -> DumpSpec {
        let mut spec = DumpSpec::demo_0x5a();
        let user_rip = 0x0000_7ffe_7350_d0c4;
        spec.bugcheck = 0x4a;
        spec.params = [user_rip, 2, 0, 0xffff_8504_2980_0b70];
        spec.string_params.clear();
        spec.user_return = Some((user_rip, 0x0000_00d3_a3cf_f1d8));
        let mut win32k = ModuleSpec::system("win32k.sys");
        win32k.functions = vec!["NtUserCallOneParam".into(), "xxxSendMessage".into()];
        spec.modules.push(win32k);
        spec.stray = vec![
            "win32k!NtUserCallOneParam".into(),
            "win32k!xxxSendMessage".into(),
            "nt!IoCreateDriver".into(),
        ];
        spec.call_chain = [
            "nt!KeBugCheckEx",
            "nt!KiBugCheckDispatch",
            "nt!KiSystemServiceExitPico",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        spec.process_name = "notmyfault64.e".to_string();
        spec
    }
}

/// Why a spec cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum SynthDumpError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("invalid dump spec: {0}")]
    Spec(String),
}

// ---------------------------------------------------------------------------------------------
// Virtual address plan.

const NT_BASE: u64 = 0xffff_f803_1200_0000;
const POOL_BASE: u64 = 0xffff_c08b_e400_0000;
/// The stack lives in a 2 MiB large page (exercises the PS path of the page walk).
const STACK_REGION: u64 = 0xffff_8504_2960_0000;
const STACK_TOP: u64 = STACK_REGION + 0x1f_f000;
const STACK_LARGE_PFN: u64 = 0x400;
const TEXT_RVA: u32 = 0x1000;

/// Prolog shapes, so that the chain exercises every unwind code the kernel uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// push rbx; push rsi; push rdi; sub rsp,0x40
    Pushes,
    /// sub rsp,0x48; mov [rsp+0x50],rbx (SAVE_NONVOL)
    SaveNonvol,
    /// push rbp; sub rsp,0x50; lea rbp,[rsp+0x20] (SET_FPREG)
    FramePointer,
    /// push r12; sub rsp,0x1a0 (ALLOC_LARGE); the call sits in a chained range.
    Chained,
    /// A trap handler entered through a hardware frame with an error code (PUSH_MACHFRAME 1):
    /// push rbp; sub rsp,0x158. Used for the functions named in [`TRAP_HANDLERS`].
    Trap,
}

/// Functions written as trap handlers: the frame below them was interrupted, not calling.
pub const TRAP_HANDLERS: &[&str] = &[
    "KiPageFault",
    "KiInterruptDispatchNoLockNoEtw",
    "KiGeneralProtectionFault",
    "KiDivideErrorFault",
    "KiInvalidOpcodeFault",
];

/// System-service exits: written like trap handlers (the KTRAP_FRAME at RSP, a machine frame
/// on top); as the outermost call-chain function with [`DumpSpec::user_return`] set, their
/// machine frame holds the user-mode return.
pub const SYSCALL_EXITS: &[&str] = &["KiSystemServiceExitPico", "KiSystemServiceExit"];

const SHAPES: [Shape; 4] = [
    Shape::Pushes,
    Shape::SaveNonvol,
    Shape::FramePointer,
    Shape::Chained,
];

/// A placed function, for either pointer width. x64: a prolog of its [`Shape`], a body, the
/// call to the next-inner function (`E8 rel32`), the epilog. x86: `mov edi,edi; push ebp;
/// mov ebp,esp; sub esp,0x20`, a body, the call (`E8 rel32`, or `FF 15 [slot]` through a
/// pointer in .rdata), then `leave; ret 0x10`.
struct Func {
    name: String,
    /// x64 only: the prolog and unwind shape.
    shape: Shape,
    rva: u32,
    /// RVA of the call instruction to the next-inner function.
    call_rva: u32,
    /// 5 (`E8`) or 6 (`FF 15`, x86 only).
    call_len: u32,
    /// Callee VA.
    callee: Option<u64>,
    /// End RVA of the primary range (Chained: where the chained range starts).
    split: u32,
    end: u32,
}

impl Shape {
    fn prolog(self) -> Vec<u8> {
        match self {
            Shape::Pushes => vec![0x53, 0x56, 0x57, 0x48, 0x83, 0xec, 0x40],
            Shape::SaveNonvol => vec![0x48, 0x83, 0xec, 0x48, 0x48, 0x89, 0x5c, 0x24, 0x50],
            Shape::FramePointer => vec![0x55, 0x48, 0x83, 0xec, 0x50, 0x48, 0x8d, 0x6c, 0x24, 0x20],
            Shape::Chained => vec![0x41, 0x54, 0x48, 0x81, 0xec, 0xa0, 0x01, 0, 0],
            Shape::Trap => vec![0x55, 0x48, 0x81, 0xec, 0x58, 0x01, 0, 0],
        }
    }
    fn epilog(self) -> Vec<u8> {
        match self {
            Shape::Pushes => vec![0x48, 0x83, 0xc4, 0x40, 0x5f, 0x5e, 0x5b, 0xc3],
            Shape::SaveNonvol => vec![0x48, 0x8b, 0x5c, 0x24, 0x50, 0x48, 0x83, 0xc4, 0x48, 0xc3],
            Shape::FramePointer => vec![0x48, 0x83, 0xc4, 0x50, 0x5d, 0xc3],
            Shape::Chained => vec![0x48, 0x81, 0xc4, 0xa0, 0x01, 0, 0, 0x41, 0x5c, 0xc3],
            // add rsp,0x158; pop rbp; add rsp,8 (the error code); iretq
            Shape::Trap => vec![
                0x48, 0x81, 0xc4, 0x58, 0x01, 0, 0, 0x5d, 0x48, 0x83, 0xc4, 0x08, 0x48, 0xcf,
            ],
        }
    }
    /// UNWIND_INFO for the primary range: version 1, codes in reverse prolog order.
    fn unwind_info(self) -> Vec<u8> {
        let code = |off: u8, op: u8, info: u8| [off, op | (info << 4)];
        let mut v = Vec::new();
        let (prolog, frame, codes): (u8, u8, Vec<[u8; 2]>) = match self {
            Shape::Pushes => (
                7,
                0,
                vec![code(7, 2, 7), code(3, 0, 7), code(2, 0, 6), code(1, 0, 3)],
            ),
            Shape::SaveNonvol => (9, 0, vec![code(9, 4, 3), [0x0a, 0], code(4, 2, 8)]),
            Shape::FramePointer => (
                10,
                0x25, // rbp, offset 2*16
                vec![code(10, 3, 0), code(5, 2, 9), code(1, 0, 5)],
            ),
            Shape::Chained => (9, 0, vec![code(9, 1, 0), [0x34, 0], code(2, 0, 12)]),
            Shape::Trap => (
                8,
                0,
                vec![code(8, 1, 0), [0x2b, 0], code(1, 0, 5), code(0, 10, 1)],
            ),
        };
        v.push(1); // version 1, no flags
        v.push(prolog);
        v.push(codes.len() as u8);
        v.push(frame);
        for c in &codes {
            v.extend_from_slice(c);
        }
        if codes.len() % 2 == 1 {
            v.extend_from_slice(&[0, 0]);
        }
        v
    }
}

/// A module placed in memory, for either pointer width.
struct Placed {
    spec: ModuleSpec,
    /// (build, revision) of its version resource.
    version: (u32, u32),
    base: u64,
    image: Vec<u8>,
    timestamp: u32,
    checksum: u32,
    funcs: Vec<Func>,
}

fn fnv(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

fn short_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if crate::dump::is_kernel_image(&lower) {
        return "nt".to_string();
    }
    lower
        .rsplit_once('.')
        .map_or(lower.clone(), |(s, _)| s.to_string())
}

impl Placed {
    /// Where `.rdata` starts: after the whole pages of `.text`.
    fn rdata_rva(&self) -> u32 {
        let text_end = self
            .funcs
            .iter()
            .map(|f| f.end)
            .max()
            .unwrap_or(TEXT_RVA + 0x10);
        TEXT_RVA + (text_end - TEXT_RVA).max(0x10).div_ceil(0x1000) * 0x1000
    }
}

/// The pointer width a dump is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Width {
    X64,
    X86,
}

/// Lay out every module's functions and addresses, and build its image.
fn place_modules(spec: &DumpSpec, width: Width) -> Result<Vec<Placed>, SynthDumpError> {
    let per_module = module_functions(spec)?;
    let mut placed = Vec::new();
    let mut base = match width {
        Width::X64 => NT_BASE,
        Width::X86 => NT_BASE32,
    };
    // Functions laid out so far (x64: picks the next prolog shape; x86: the call form).
    let mut n = 0usize;
    for (i, m) in spec.modules.iter().enumerate() {
        let mut funcs = Vec::new();
        let mut rva = TEXT_RVA;
        for name in &per_module[i] {
            let f = match width {
                Width::X64 => lay_out_x64(name, rva, &mut n),
                Width::X86 => lay_out_x86(name, rva, &mut n),
            };
            rva = (f.end + 15) & !15;
            funcs.push(f);
        }
        let (tag, revision) = match width {
            Width::X64 => (
                0x5f00_0000,
                spec.revision.map_or(fnv(&m.name) % 4000, u32::from),
            ),
            Width::X86 => (0x4a00_0000, 0),
        };
        placed.push(Placed {
            spec: m.clone(),
            version: (spec.build, revision),
            base,
            image: Vec::new(),
            timestamp: m.timestamp.unwrap_or(tag | (fnv(&m.name) & 0x00ff_ffff)),
            checksum: fnv(&m.path) & 0x00ff_ffff,
            funcs,
        });
        base = match width {
            Width::X64 => base + 0x20_0000 + u64::from(fnv(&m.name) & 0xf) * 0x1000,
            // The image: .text, then .rdata (two pages), and a gap.
            Width::X86 => {
                let size = placed.last().map_or(0, |p: &Placed| p.rdata_rva() + 0x2000);
                base + u64::from(size) + 0x1_0000
            }
        };
        base = (base + 0xffff) & !0xffff;
    }
    link_chain(&mut placed, spec)?;
    for p in &mut placed {
        p.image = match width {
            Width::X64 => build_image(p),
            Width::X86 => build_image32(p),
        };
    }
    Ok(placed)
}

/// An x64 function at `rva`: the next prolog shape (trap handlers and system-service exits
/// their own), a body of plausible size, the call, the epilog.
fn lay_out_x64(name: &str, rva: u32, n: &mut usize) -> Func {
    let shape = if TRAP_HANDLERS.contains(&name) || SYSCALL_EXITS.contains(&name) {
        Shape::Trap
    } else {
        *n += 1;
        SHAPES[(*n - 1) % SHAPES.len()]
    };
    let p = shape.prolog().len() as u32;
    // A body of plausible size before the call, so offsets look like real ones.
    let pad = 0x10 + fnv(name) % 0x300;
    let (call_rva, split) = if shape == Shape::Chained {
        // prolog, two nops, then the chained range with the call.
        (rva + p + 2 + pad, rva + p + 2)
    } else {
        (rva + p + pad, 0)
    };
    let end = call_rva + 5 + shape.epilog().len() as u32;
    Func {
        name: name.to_string(),
        shape,
        rva,
        call_rva,
        call_len: 5,
        callee: None,
        split: if split == 0 { end } else { split },
        end,
    }
}

/// An x86 function at `rva`: the EBP-frame prolog, a body, the call (`E8` and `FF 15` in
/// turn), `leave; ret`.
fn lay_out_x86(name: &str, rva: u32, n: &mut usize) -> Func {
    *n += 1;
    let call_len = if n.is_multiple_of(2) { 6 } else { 5 };
    let call_rva = rva + PROLOG32.len() as u32 + 0x10 + fnv(name) % 0x300;
    let end = call_rva + call_len + EPILOG32.len() as u32;
    Func {
        name: name.to_string(),
        shape: Shape::FramePointer, // an EBP frame
        rva,
        call_rva,
        call_len,
        callee: None,
        split: end,
        end,
    }
}

/// Each module's functions: those of the call chain first, then its extras. The first module
/// must be the kernel.
fn module_functions(spec: &DumpSpec) -> Result<Vec<Vec<String>>, SynthDumpError> {
    if spec.modules.is_empty() || short_name(&spec.modules[0].name) != "nt" {
        return Err(SynthDumpError::Spec(
            "the first module must be ntoskrnl.exe".to_string(),
        ));
    }
    let mut per_module: Vec<Vec<String>> = vec![Vec::new(); spec.modules.len()];
    for k in 0..spec.call_chain.len() {
        let (m, f) = chain_entry(spec, k)?;
        let idx = spec
            .modules
            .iter()
            .position(|s| short_name(&s.name) == m)
            .ok_or_else(|| {
                SynthDumpError::Spec(format!("call chain module {m:?} is not in the module list"))
            })?;
        if !per_module[idx].contains(&f) {
            per_module[idx].push(f);
        }
    }
    for (i, m) in spec.modules.iter().enumerate() {
        for f in &m.functions {
            if !per_module[i].contains(f) {
                per_module[i].push(f.clone());
            }
        }
    }
    Ok(per_module)
}

/// Call chain entry `k` as (lower-case module short name, function).
fn chain_entry(spec: &DumpSpec, k: usize) -> Result<(String, String), SynthDumpError> {
    let entry = spec
        .call_chain
        .get(k)
        .ok_or_else(|| SynthDumpError::Spec("call chain index".into()))?;
    let (m, f) = entry.split_once('!').ok_or_else(|| {
        SynthDumpError::Spec(format!(
            "call chain entry {entry:?}: expected module!function"
        ))
    })?;
    Ok((m.to_ascii_lowercase(), f.to_string()))
}

/// (module index, function index) of call chain entry `k`.
fn chain_index(
    placed: &[Placed],
    spec: &DumpSpec,
    k: usize,
) -> Result<(usize, usize), SynthDumpError> {
    let (m, f) = chain_entry(spec, k)?;
    for (mi, p) in placed.iter().enumerate() {
        if short_name(&p.spec.name) == m
            && let Some(fi) = p.funcs.iter().position(|x| x.name == f)
        {
            return Ok((mi, fi));
        }
    }
    Err(SynthDumpError::Spec(format!("{m}!{f} not placed")))
}

/// Resolve the callees: call chain entry k calls entry k-1.
fn link_chain(placed: &mut [Placed], spec: &DumpSpec) -> Result<(), SynthDumpError> {
    for k in 1..spec.call_chain.len() {
        let (cmi, cfi) = chain_index(placed, spec, k - 1)?;
        let callee = placed[cmi].base + u64::from(placed[cmi].funcs[cfi].rva);
        let (mi, fi) = chain_index(placed, spec, k)?;
        placed[mi].funcs[fi].callee = Some(callee);
    }
    Ok(())
}

/// The VA of `module!function` among the placed modules.
fn function_va(placed: &[Placed], entry: &str) -> Result<u64, SynthDumpError> {
    let (m, f) = entry.split_once('!').unwrap_or(("", entry));
    placed
        .iter()
        .find(|p| short_name(&p.spec.name) == m.to_ascii_lowercase())
        .and_then(|p| {
            p.funcs
                .iter()
                .find(|x| x.name == f)
                .map(|x| p.base + u64::from(x.rva))
        })
        .ok_or_else(|| SynthDumpError::Spec(format!("stray {entry:?} is not a placed function")))
}

fn put(buf: &mut Vec<u8>, off: usize, bytes: &[u8]) {
    if buf.len() < off + bytes.len() {
        buf.resize(off + bytes.len(), 0);
    }
    buf[off..off + bytes.len()].copy_from_slice(bytes);
}

/// `.text` of a loaded image: int3 filler from [`TEXT_RVA`] to `end`, each function's code put
/// at its RVA by `code`.
fn text_section(end: u32, funcs: impl Iterator<Item = (u32, Vec<u8>)>) -> SectionSpec {
    let mut text = vec![0xcc; (end - TEXT_RVA) as usize];
    for (rva, code) in funcs {
        put(&mut text, (rva - TEXT_RVA) as usize, &code);
    }
    let mut s = SectionSpec::new(b".text\0\0\0", TEXT_RVA, text, 0x6000_0020);
    s.fill = 0xcc;
    s
}

/// `.rdata` of a loaded image: `rdata` (ending 4-aligned), then the export directory of the
/// placed functions; two pages. Returns the section and the export directory's (RVA, size).
fn rdata_with_exports(p: &Placed, rdata_rva: u32, mut rdata: Vec<u8>) -> (Vec<u8>, (u32, u32)) {
    while !rdata.len().is_multiple_of(4) {
        rdata.push(0);
    }
    let export_rva = rdata_rva + rdata.len() as u32;
    let named: Vec<(&str, u32)> = p.funcs.iter().map(|f| (f.name.as_str(), f.rva)).collect();
    let exp = synth_pe::export_directory(&p.spec.name, &named, export_rva, 0);
    let export_size = exp.len() as u32;
    rdata.extend_from_slice(&exp);
    (rdata, (export_rva, export_size))
}

/// The image of `p` in loaded layout (the bytes a dump holds), through the one PE writer.
fn loaded_image(
    p: &Placed,
    machine: u16,
    sections: Vec<SectionSpec>,
    dirs: [(u32, u32); 16],
) -> Vec<u8> {
    synth_pe::assemble(&ImageSpec {
        machine,
        base: p.base,
        timestamp: p.timestamp,
        entry: TEXT_RVA,
        sections,
        dirs,
        layout: ImageLayout::Loaded {
            checksum: p.checksum,
        },
    })
}

/// A PE32+ image: `.text`, `.rdata` (unwind info, exports, the version resource) and `.pdata`.
fn build_image(p: &Placed) -> Vec<u8> {
    let rdata_rva = p.rdata_rva();
    let pdata_rva = rdata_rva + 0x2000;
    let mut rdata = Vec::new();
    let mut pdata = Vec::new();
    let mut code_at = Vec::new();
    for f in &p.funcs {
        let mut code = f.shape.prolog();
        if f.shape == Shape::Chained {
            code.extend_from_slice(&[0x90, 0x90]);
        }
        let call_at = f.call_rva;
        code.resize((call_at - f.rva) as usize, 0x90);
        let target = f.callee.unwrap_or(p.base + u64::from(f.rva));
        let next = p.base + u64::from(call_at) + 5;
        let rel = (target as i64).wrapping_sub(next as i64) as i32;
        code.push(0xe8);
        code.extend_from_slice(&rel.to_le_bytes());
        code.extend_from_slice(&f.shape.epilog());
        code_at.push((f.rva, code));
        // UNWIND_INFO of the primary range.
        while !rdata.len().is_multiple_of(4) {
            rdata.push(0);
        }
        let info_rva = rdata_rva + rdata.len() as u32;
        rdata.extend_from_slice(&f.shape.unwind_info());
        pdata.push((f.rva, f.split, info_rva));
        if f.shape == Shape::Chained {
            // A chained entry: no codes, CHAININFO, then the parent RUNTIME_FUNCTION.
            while !rdata.len().is_multiple_of(4) {
                rdata.push(0);
            }
            let chained_rva = rdata_rva + rdata.len() as u32;
            rdata.extend_from_slice(&[1 | (4 << 3), 0, 0, 0]);
            for v in [f.rva, f.split, info_rva] {
                rdata.extend_from_slice(&v.to_le_bytes());
            }
            pdata.push((f.split, f.end, chained_rva));
        }
    }
    let (mut rdata, export) = rdata_with_exports(p, rdata_rva, rdata);
    while !rdata.len().is_multiple_of(4) {
        rdata.push(0);
    }
    let rsrc_rva = rdata_rva + rdata.len() as u32;
    let (build, rev) = p.version;
    let version = [10, 0, build as u16, rev as u16];
    let rsrc = synth_pe::resource_section(&synth_pe::version_info(version, &[]), rsrc_rva);
    let rsrc_size = rsrc.len() as u32;
    rdata.extend_from_slice(&rsrc);
    let mut pd = Vec::new();
    pdata.sort();
    for (b, e, u) in &pdata {
        for v in [b, e, u] {
            pd.extend_from_slice(&v.to_le_bytes());
        }
    }
    let mut dirs = [(0u32, 0u32); 16];
    dirs[0] = export;
    dirs[2] = (rsrc_rva, rsrc_size);
    dirs[3] = (pdata_rva, pd.len() as u32);
    let mut rdata = SectionSpec::new(b".rdata\0\0", rdata_rva, rdata, 0x4000_0040);
    rdata.size = 0x2000;
    let mut pdata = SectionSpec::new(b".pdata\0\0", pdata_rva, pd, 0x4000_0040);
    pdata.size = 0x1000;
    let text = text_section(rdata_rva, code_at.into_iter());
    loaded_image(p, 0x8664, vec![text, rdata, pdata], dirs)
}

// ---------------------------------------------------------------------------------------------
// The kernel's memory, built as a map of virtual pages.

#[derive(Default)]
struct VSpace {
    pages: BTreeMap<u64, Vec<u8>>,
}

impl VSpace {
    fn write(&mut self, va: u64, bytes: &[u8]) {
        let mut done = 0;
        while done < bytes.len() {
            let cur = va + done as u64;
            let page = cur & !0xfff;
            let off = (cur & 0xfff) as usize;
            let n = (0x1000 - off).min(bytes.len() - done);
            let p = self.pages.entry(page).or_insert_with(|| vec![0u8; 0x1000]);
            p[off..off + n].copy_from_slice(&bytes[done..done + n]);
            done += n;
        }
    }
    fn read(&self, va: u64, len: usize) -> Vec<u8> {
        (0..len as u64)
            .map(|i| {
                let a = va + i;
                self.pages
                    .get(&(a & !0xfff))
                    .map_or(0, |p| p[(a & 0xfff) as usize])
            })
            .collect()
    }
}

/// A bump allocator in the pool region.
struct Pool {
    next: u64,
}

impl Pool {
    fn alloc(&mut self, len: usize) -> u64 {
        let va = self.next;
        self.next = (self.next + len as u64 + 15) & !15;
        va
    }
}

fn unicode_string(vs: &mut VSpace, pool: &mut Pool, text: &str) -> u64 {
    let utf16: Vec<u8> = text.encode_utf16().flat_map(|c| c.to_le_bytes()).collect();
    let buf = pool.alloc(utf16.len() + 2);
    vs.write(buf, &utf16);
    let s = pool.alloc(16);
    let len = utf16.len() as u16;
    let mut us = Vec::new();
    us.extend_from_slice(&len.to_le_bytes());
    us.extend_from_slice(&(len + 2).to_le_bytes());
    us.extend_from_slice(&[0; 4]);
    us.extend_from_slice(&buf.to_le_bytes());
    vs.write(s, &us);
    s
}

/// Everything the two writers share.
struct Kernel {
    placed: Vec<Placed>,
    vs: VSpace,
    context: Amd64Context,
    params: [u64; 4],
    ps_loaded_module_list: u64,
    kdbg: u64,
    kdbg_bytes: Vec<u8>,
    stack_low: u64,
    /// Pool addresses holding the UNICODE_STRINGs of string parameters (and their buffers).
    param_blocks: Vec<(u64, usize)>,
}

fn build_kernel(spec: &DumpSpec) -> Result<Kernel, SynthDumpError> {
    let placed = place_modules(spec, Width::X64)?;
    let mut vs = VSpace::default();
    for p in &placed {
        vs.write(p.base, &p.image);
    }
    let mut pool = Pool { next: POOL_BASE };
    // Parameters that are strings.
    let mut params = spec.params;
    let mut param_blocks = Vec::new();
    for (i, text) in &spec.string_params {
        let before = pool.next;
        let va = unicode_string(&mut vs, &mut pool, text);
        if let Some(p) = params.get_mut(*i) {
            *p = va;
        }
        param_blocks.push((before, (pool.next - before) as usize));
    }
    if let Some((pdo_driver, holder)) = &spec.power_irp {
        let before = pool.next;
        let device_of = |vs: &mut VSpace, pool: &mut Pool, file: &str| {
            let p = placed
                .iter()
                .find(|p| p.spec.name.eq_ignore_ascii_case(file))?;
            let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
            let name = unicode_string(vs, pool, &format!("\\Driver\\{stem}"));
            let drv = pool.alloc(0x150);
            vs.write(drv + 0x18, &p.base.to_le_bytes());
            vs.write(drv + 0x38, &vs.read(name, 16));
            let dev = pool.alloc(0x150);
            vs.write(dev + 0x8, &drv.to_le_bytes());
            Some(dev)
        };
        let (Some(pdo), Some(fdo)) = (
            device_of(&mut vs, &mut pool, pdo_driver),
            device_of(&mut vs, &mut pool, holder),
        ) else {
            return Err(SynthDumpError::Spec(
                "power_irp drivers must be in the module list".into(),
            ));
        };
        let sl = pool.alloc(0x48);
        vs.write(sl + 0x28, &fdo.to_le_bytes());
        let irp = pool.alloc(0xd0);
        vs.write(irp + 0xb8, &sl.to_le_bytes());
        params[1] = pdo;
        params[3] = irp;
        param_blocks.push((before, (pool.next - before) as usize));
    }
    // PsLoadedModuleList: head + KLDR_DATA_TABLE_ENTRY (0xa0 bytes used) per module.
    let head = pool.alloc(16);
    let mut entries = Vec::new();
    for p in &placed {
        let e = pool.alloc(0xa0);
        let full = unicode_string(&mut vs, &mut pool, &p.spec.path);
        let base_name = unicode_string(&mut vs, &mut pool, &p.spec.name);
        let mut b = vec![0u8; 0xa0];
        b[0x10..0x18]
            .copy_from_slice(&(p.base + u64::from(p.image.len() as u32 - 0x1000)).to_le_bytes());
        b[0x30..0x38].copy_from_slice(&p.base.to_le_bytes());
        b[0x38..0x40].copy_from_slice(&(p.base + 0x1000).to_le_bytes());
        b[0x40..0x44].copy_from_slice(&(p.image.len() as u32).to_le_bytes());
        b[0x48..0x58].copy_from_slice(&vs.read(full, 16));
        b[0x58..0x68].copy_from_slice(&vs.read(base_name, 16));
        b[0x78..0x7c].copy_from_slice(&p.checksum.to_le_bytes());
        b[0x9c..0xa0].copy_from_slice(&p.timestamp.to_le_bytes());
        vs.write(e, &b);
        entries.push(e);
    }
    for (i, &e) in entries.iter().enumerate() {
        let next = entries.get(i + 1).copied().unwrap_or(head);
        let prev = if i == 0 { head } else { entries[i - 1] };
        vs.write(e, &next.to_le_bytes());
        vs.write(e + 8, &prev.to_le_bytes());
    }
    vs.write(
        head,
        &entries.first().copied().unwrap_or(head).to_le_bytes(),
    );
    vs.write(
        head + 8,
        &entries.last().copied().unwrap_or(head).to_le_bytes(),
    );
    // Unloaded drivers: MmUnloadedDrivers -> array of 0x28-byte entries; MmLastUnloadedDriver.
    let array = pool.alloc(0x28 * spec.unloaded.len().max(1));
    for (i, name) in spec.unloaded.iter().enumerate() {
        let s = unicode_string(&mut vs, &mut pool, name);
        let start = 0xffff_f803_0000_0000 + (i as u64) * 0x10_0000;
        let mut b = vs.read(s, 16);
        b.extend_from_slice(&start.to_le_bytes());
        b.extend_from_slice(&(start + 0x1_c000).to_le_bytes());
        b.extend_from_slice(&spec.system_time.to_le_bytes());
        vs.write(array + 0x28 * i as u64, &b);
    }
    let mm_unloaded = pool.alloc(8);
    vs.write(mm_unloaded, &array.to_le_bytes());
    let mm_last = pool.alloc(4);
    vs.write(mm_last, &(spec.unloaded.len() as u32).to_le_bytes());
    // KiProcessorBlock -> KPRCB per CPU; CPU 0 runs the crashing thread: KTHREAD with its
    // stack limits and ApcState.Process -> EPROCESS.ImageFileName (x64 19041 offsets).
    let eprocess = pool.alloc(0x640);
    let name = spec.process_name.as_bytes();
    vs.write(eprocess + 0x5a8, &name[..name.len().min(14)]);
    let kthread = pool.alloc(0x100);
    vs.write(kthread + 0x28, &STACK_TOP.to_le_bytes()); // InitialStack
    vs.write(kthread + 0x30, &(STACK_TOP - 0x6000).to_le_bytes());
    vs.write(kthread + 0x38, &STACK_TOP.to_le_bytes());
    vs.write(kthread + 0xb8, &eprocess.to_le_bytes());
    let processor_block = pool.alloc(8 * spec.processors.max(1) as usize);
    for cpu in 0..u64::from(spec.processors.max(1)) {
        let prcb = pool.alloc(0x100);
        // Other CPUs run their idle threads (no stack here).
        let t = if cpu == 0 { kthread } else { pool.alloc(0x100) };
        vs.write(prcb + 8, &t.to_le_bytes());
        vs.write(processor_block + 8 * cpu, &prcb.to_le_bytes());
    }
    // KDBG (decoded): List, OwnerTag, Size, KernBase, PsLoadedModuleList, MmUnloadedDrivers...
    // It sits alone in a page that the page tables mark as a transition PTE.
    let kdbg = POOL_BASE + 0x10_0000;
    let mut kd = vec![0u8; 0x380];
    kd[0x10..0x14].copy_from_slice(b"KDBG");
    kd[0x14..0x18].copy_from_slice(&0x380u32.to_le_bytes());
    kd[0x18..0x20].copy_from_slice(&NT_BASE.to_le_bytes());
    kd[0x48..0x50].copy_from_slice(&head.to_le_bytes());
    kd[0x218..0x220].copy_from_slice(&processor_block.to_le_bytes());
    kd[0x220..0x228].copy_from_slice(&mm_unloaded.to_le_bytes());
    kd[0x228..0x230].copy_from_slice(&mm_last.to_le_bytes());
    vs.write(kdbg, &kd);
    // The stack: from the outermost function inwards.
    if let Some(i) = spec.fault_ip_param {
        let trap = spec.call_chain.iter().position(|e| {
            e.split_once('!')
                .is_some_and(|(_, f)| TRAP_HANDLERS.contains(&f))
        });
        let Some(t) = trap.filter(|t| t + 1 < spec.call_chain.len()) else {
            return Err(SynthDumpError::Spec(
                "fault_ip_param needs a trap handler with an interrupted frame above it".into(),
            ));
        };
        let (mi, fi) = chain_index(&placed, spec, t + 1)?;
        let f = &placed[mi].funcs[fi];
        if let Some(p) = params.get_mut(i) {
            *p = placed[mi].base + u64::from(f.call_rva);
        }
    }
    let mut regs: [u64; 16] = [0; 16];
    for (i, r) in regs.iter_mut().enumerate() {
        *r = 0x1111_0000 + i as u64;
    }
    let n = spec.call_chain.len();
    if n == 0 {
        return Err(SynthDumpError::Spec("empty call chain".into()));
    }
    let mut entry_rsp = STACK_TOP - 0x48; // 8 mod 16, like a real function entry
    vs.write(entry_rsp, &0u64.to_le_bytes()); // the outermost frame returns to 0
    // Unused slots where stray values go.
    let mut free_slots: Vec<u64> = Vec::new();
    if let Some((user_rip, user_rsp)) = spec.user_return {
        let outer = spec.call_chain.last().and_then(|e| e.split_once('!'));
        if !outer.is_some_and(|(_, f)| SYSCALL_EXITS.contains(&f)) {
            return Err(SynthDumpError::Spec(
                "user_return needs a system-service exit as the outermost call-chain entry".into(),
            ));
        }
        // KiSystemCall64: RSP = InitialStack, push SS, RSP, RFLAGS, CS, RIP; sub rsp,8;
        // push rbp; sub rsp,0x158: the KTRAP_FRAME at InitialStack - 0x190.
        let trap = STACK_TOP - 0x190;
        let mut top = STACK_TOP;
        for v in [0x2b, user_rsp, 0x246, 0x33, user_rip, 0] {
            top -= 8;
            vs.write(top, &v.to_le_bytes());
        }
        entry_rsp = top;
        free_slots.extend((0..7).map(|i| trap + 0x30 + 8 * i));
    }
    let mut rip = 0;
    for k in (0..n).rev() {
        let (mi, fi) = chain_index(&placed, spec, k)?;
        let f = &placed[mi].funcs[fi];
        let fva = placed[mi].base + u64::from(f.rva);
        if k == 0 {
            // Frame 0 (KeBugCheckEx) is captured at its entry with the arguments spilled to
            // its home area, as in real dumps.
            rip = fva;
            let home = [u64::from(spec.bugcheck), params[0], params[1], params[2]];
            for (j, v) in home.iter().enumerate() {
                vs.write(entry_rsp + 8 + 8 * j as u64, &v.to_le_bytes());
            }
            break;
        }
        let mut sp = entry_rsp;
        let push = |vs: &mut VSpace, sp: &mut u64, v: u64| {
            *sp -= 8;
            vs.write(*sp, &v.to_le_bytes());
        };
        match f.shape {
            Shape::Pushes => {
                push(&mut vs, &mut sp, regs[3]);
                push(&mut vs, &mut sp, regs[6]);
                push(&mut vs, &mut sp, regs[7]);
                sp -= 0x40;
                // Above the callee's home area: locals.
                free_slots.extend([sp + 0x28, sp + 0x30]);
                regs[3] = 0xb000 + k as u64;
                regs[6] = 0x5000 + k as u64;
                regs[7] = 0xd000 + k as u64;
            }
            Shape::SaveNonvol => {
                sp -= 0x48;
                vs.write(sp + 0x50, &regs[3].to_le_bytes());
                regs[3] = 0xb100 + k as u64;
            }
            Shape::FramePointer => {
                push(&mut vs, &mut sp, regs[5]);
                sp -= 0x50;
                regs[5] = sp + 0x20;
            }
            Shape::Chained => {
                push(&mut vs, &mut sp, regs[12]);
                sp -= 0x1a0;
                regs[12] = 0xc000 + k as u64;
            }
            Shape::Trap => {
                push(&mut vs, &mut sp, regs[5]);
                sp -= 0x158;
                regs[5] = 0xf000 + k as u64;
                if spec.user_return.is_none() || k + 1 < n {
                    // The volatile registers of this KTRAP_FRAME (Rax..R11).
                    free_slots.extend((0..7).map(|i| sp + 0x30 + 8 * i));
                }
            }
        }
        let at = placed[mi].base + u64::from(f.call_rva);
        let (cmi, cfi) = chain_index(&placed, spec, k - 1)?;
        if placed[cmi].funcs[cfi].shape == Shape::Trap {
            // Interrupted at `at`: the CPU pushes SS, RSP, RFLAGS, CS, RIP and an error code
            // on a 16-byte aligned stack.
            let mut top = sp & !0xf;
            for v in [0x18, sp, 0x10282, 0x10, at, 2] {
                top -= 8;
                vs.write(top, &v.to_le_bytes());
            }
            entry_rsp = top;
        } else {
            // The call to the next-inner function pushes the return address.
            entry_rsp = sp - 8;
            vs.write(entry_rsp, &(at + 5).to_le_bytes());
        }
    }
    regs[4] = entry_rsp;
    for (entry, slot) in spec.stray.iter().zip(free_slots.iter()) {
        let va = function_va(&placed, entry)?;
        // Past the function's first instructions: not a return address (no call before it).
        vs.write(*slot, &(va + 1).to_le_bytes());
    }
    let context = Amd64Context {
        context_flags: 0x0010_001f,
        rax: regs[0],
        rcx: u64::from(spec.bugcheck),
        rdx: params[0],
        rbx: regs[3],
        rsp: regs[4],
        rbp: regs[5],
        rsi: regs[6],
        rdi: regs[7],
        r8: params[1],
        r9: params[2],
        r10: regs[10],
        r11: regs[11],
        r12: regs[12],
        r13: regs[13],
        r14: regs[14],
        r15: regs[15],
        rip,
        eflags: 0x86,
        seg_cs: 0x10,
        seg_ss: 0x18,
    };
    Ok(Kernel {
        placed,
        vs,
        context,
        params,
        ps_loaded_module_list: head,
        kdbg,
        kdbg_bytes: kd,
        stack_low: entry_rsp,
        param_blocks,
    })
}

/// The 0x2000-byte DUMP_HEADER64, `PAGE`-filled where unused.
fn header64(spec: &DumpSpec, k: &Kernel, dump_type: u32, cr3: u64, file_size: u64) -> Vec<u8> {
    let mut h = b"PAGE".repeat(0x800);
    let mut set = |off: usize, b: &[u8]| h[off..off + b.len()].copy_from_slice(b);
    set(0, b"PAGEDU64");
    set(8, &0xfu32.to_le_bytes());
    set(0xc, &spec.build.to_le_bytes());
    set(0x10, &cr3.to_le_bytes());
    set(0x18, &(0xffff_a580_0000_0000u64).to_le_bytes());
    set(0x20, &k.ps_loaded_module_list.to_le_bytes());
    set(0x28, &(POOL_BASE + 0x20_0000).to_le_bytes());
    set(0x30, &0x8664u32.to_le_bytes());
    set(0x34, &spec.processors.to_le_bytes());
    set(0x38, &spec.bugcheck.to_le_bytes());
    set(0x3c, &0u32.to_le_bytes());
    for (i, p) in k.params.iter().enumerate() {
        set(0x40 + 8 * i, &p.to_le_bytes());
    }
    set(0x60, &[0u8; 32]);
    set(0x80, &k.kdbg.to_le_bytes());
    let mut ctx = vec![0u8; crate::dump::header::AMD64_CONTEXT_SIZE];
    k.context.write(&mut ctx);
    set(0x348, &ctx);
    // The header exception record: the breakpoint KeBugCheckEx raises, as in real dumps.
    let mut ex = vec![0u8; 0x98];
    ex[0..4].copy_from_slice(&0x8000_0003u32.to_le_bytes());
    ex[0x10..0x18].copy_from_slice(&k.context.rip.to_le_bytes());
    set(0xf00, &ex);
    set(0xf98, &dump_type.to_le_bytes());
    set(0xf9c, &0u32.to_le_bytes());
    set(0xfa0, &file_size.to_le_bytes());
    set(0xfa8, &spec.system_time.to_le_bytes());
    set(0x1030, &spec.uptime.to_le_bytes());
    set(0x1038, &0u32.to_le_bytes());
    set(0x1040, &1u32.to_le_bytes());
    set(0x1044, &0x110u32.to_le_bytes());
    set(0x1048, &0u32.to_le_bytes());
    h
}

/// Write an x64 bitmap kernel dump (MEMORY.DMP, DumpType 5, `SDMP`). The file is sparse:
/// only the header, the bitmap and the written pages use disk.
pub fn write_bitmap_dump(path: &Path, spec: &DumpSpec) -> Result<(), SynthDumpError> {
    let io = |e| SynthDumpError::Io(path.to_path_buf(), e);
    let k = build_kernel(spec)?;
    // Physical pages: the stack region as one 2 MiB large page, the rest 4 KiB pages.
    let mut next_pfn = 0x10u64;
    let mut phys: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let alloc = |next: &mut u64| {
        let p = *next;
        *next += 1;
        if *next == STACK_LARGE_PFN {
            *next = STACK_LARGE_PFN + 0x200;
        }
        p
    };
    let pml4 = alloc(&mut next_pfn);
    phys.insert(pml4, vec![0u8; 0x1000]);
    let mut tables: BTreeMap<(u8, u64), u64> = BTreeMap::new();
    let entry = |phys: &mut BTreeMap<u64, Vec<u8>>, table: u64, idx: u64, value: u64| {
        let t = phys.entry(table).or_insert_with(|| vec![0u8; 0x1000]);
        let o = (idx * 8) as usize;
        t[o..o + 8].copy_from_slice(&value.to_le_bytes());
    };
    // Walk/create the tables down to level `stop` (1 = PD for large pages, 0 = PT).
    let mut table_for =
        |phys: &mut BTreeMap<u64, Vec<u8>>, next: &mut u64, va: u64, stop: u8| -> u64 {
            let mut table = pml4;
            for (level, shift) in [(3u8, 39u32), (2, 30), (1, 21)] {
                if level == stop {
                    break;
                }
                let key = (level, va >> (shift) << shift);
                let child = match tables.get(&key) {
                    Some(&c) => c,
                    None => {
                        let c = alloc(next);
                        phys.insert(c, vec![0u8; 0x1000]);
                        tables.insert(key, c);
                        entry(phys, table, (va >> shift) & 0x1ff, (c << 12) | 0x63);
                        c
                    }
                };
                table = child;
            }
            table
        };
    // The large stack page.
    let pd = table_for(&mut phys, &mut next_pfn, STACK_REGION, 1);
    entry(
        &mut phys,
        pd,
        (STACK_REGION >> 21) & 0x1ff,
        (STACK_LARGE_PFN << 12) | 0xe3,
    );
    for (va, bytes) in &k.vs.pages {
        if *va >= STACK_REGION && *va < STACK_REGION + 0x20_0000 {
            phys.insert(STACK_LARGE_PFN + ((va - STACK_REGION) >> 12), bytes.clone());
            continue;
        }
        let pt = table_for(&mut phys, &mut next_pfn, *va, 0);
        let pfn = alloc(&mut next_pfn);
        phys.insert(pfn, bytes.clone());
        // KDBG's page is in transition (not present, bit 11): still readable from RAM.
        let flags = if *va == k.kdbg & !0xfff { 0x800 } else { 0x63 };
        entry(&mut phys, pt, (va >> 12) & 0x1ff, (pfn << 12) | flags);
    }
    let highest = phys.keys().next_back().copied().unwrap_or(0);
    let pages = (spec.size_bytes / 0x1000)
        .max(highest + 1)
        .max(STACK_LARGE_PFN + 0x200);
    // The bitmap.
    let nbytes = pages.div_ceil(8) as usize;
    let mut bitmap = vec![0u8; nbytes];
    let set_bit = |bitmap: &mut Vec<u8>, pfn: u64| bitmap[(pfn / 8) as usize] |= 1 << (pfn % 8);
    if spec.dense_bitmap {
        for b in bitmap.iter_mut() {
            *b = 0xff;
        }
        if !pages.is_multiple_of(8) {
            bitmap[nbytes - 1] = (1u8 << (pages % 8)) - 1;
        }
    } else {
        for pfn in (0..pages).step_by(3) {
            set_bit(&mut bitmap, pfn);
        }
        for pfn in phys.keys() {
            set_bit(&mut bitmap, *pfn);
        }
    }
    let present: u64 = bitmap.iter().map(|b| u64::from(b.count_ones())).sum();
    let first_page = (0x2038 + nbytes as u64).div_ceil(0x1000) * 0x1000;
    let file_size = first_page + present * 0x1000;
    let cr3 = pml4 << 12;
    let mut f = std::fs::File::create(path).map_err(io)?;
    f.write_all(&header64(spec, &k, 5, cr3, file_size))
        .map_err(io)?;
    let mut bh = vec![0u8; 0x38];
    bh[0..4].copy_from_slice(b"SDMP");
    bh[4..8].copy_from_slice(b"DUMP");
    bh[0x20..0x28].copy_from_slice(&first_page.to_le_bytes());
    bh[0x28..0x30].copy_from_slice(&present.to_le_bytes());
    bh[0x30..0x38].copy_from_slice(&pages.to_le_bytes());
    f.write_all(&bh).map_err(io)?;
    f.write_all(&bitmap).map_err(io)?;
    f.set_len(file_size).map_err(io)?;
    // Pages in PFN order: the rank of each written PFN among the set bits.
    let mut rank = 0u64;
    let mut last = 0u64;
    for (pfn, bytes) in &phys {
        for p in last..*pfn {
            if bitmap[(p / 8) as usize] & (1 << (p % 8)) != 0 {
                rank += 1;
            }
        }
        last = *pfn + 1;
        f.seek(SeekFrom::Start(first_page + rank * 0x1000))
            .map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        rank += 1;
    }
    f.flush().map_err(io)?;
    Ok(())
}

/// Write the module images as PE files in a symbol-store layout
/// (`dir/name/TIMESTAMPSIZEOFIMAGE/name`): what a triage dump needs to be unwound.
pub fn write_module_images(dir: &Path, spec: &DumpSpec) -> Result<Vec<PathBuf>, SynthDumpError> {
    let placed = place_modules(spec, Width::X64)?;
    let mut out = Vec::new();
    for p in &placed {
        let key = format!("{:08X}{:x}", p.timestamp, p.image.len());
        let d = dir.join(&p.spec.name).join(key);
        std::fs::create_dir_all(&d).map_err(|e| SynthDumpError::Io(d.clone(), e))?;
        let file = d.join(&p.spec.name);
        std::fs::write(&file, &p.image).map_err(|e| SynthDumpError::Io(file.clone(), e))?;
        out.push(file);
    }
    Ok(out)
}

/// Write a triage (small memory) dump, DumpType 4, with TRIAGE_DUMP64 at 0x2000.
pub fn write_triage_dump(path: &Path, spec: &DumpSpec) -> Result<(), SynthDumpError> {
    let io = |e| SynthDumpError::Io(path.to_path_buf(), e);
    let k = build_kernel(spec)?;
    let mut body: Vec<u8> = vec![0u8; 0x80]; // TRIAGE_DUMP64, offsets relative to the file
    let base = 0x2000usize;
    let at = |body: &mut Vec<u8>, bytes: &[u8]| -> u32 {
        while !body.len().is_multiple_of(8) {
            body.push(0);
        }
        let off = (base + body.len()) as u32;
        body.extend_from_slice(bytes);
        off
    };
    let mm = at(&mut body, &[0u8; 0x50]);
    // Unloaded drivers: count, pad, then 0x38-byte entries with the name inline.
    let mut ud = Vec::new();
    ud.extend_from_slice(&(spec.unloaded.len() as u32).to_le_bytes());
    ud.extend_from_slice(&[0; 4]);
    for (i, name) in spec.unloaded.iter().enumerate() {
        let mut e = vec![0u8; 0x38];
        let units: Vec<u8> = name
            .encode_utf16()
            .take(12)
            .flat_map(|c| c.to_le_bytes())
            .collect();
        e[0..2].copy_from_slice(&(units.len() as u16).to_le_bytes());
        e[2..4].copy_from_slice(&(units.len() as u16).to_le_bytes());
        e[0x10..0x10 + units.len()].copy_from_slice(&units);
        let start = 0xffff_f803_0000_0000 + (i as u64) * 0x10_0000;
        e[0x28..0x30].copy_from_slice(&start.to_le_bytes());
        e[0x30..0x38].copy_from_slice(&(start + 0x1_c000).to_le_bytes());
        ud.extend_from_slice(&e);
    }
    let unloaded = at(&mut body, &ud);
    let prcb = at(&mut body, &[0u8; 0x100]);
    let mut eprocess = vec![0u8; 0x640];
    let name = spec.process_name.as_bytes();
    let n = name.len().min(14);
    eprocess[0x5a8..0x5a8 + n].copy_from_slice(&name[..n]);
    let process = at(&mut body, &eprocess);
    let thread = at(&mut body, &[0u8; 0x400]);
    let stack_size = (STACK_TOP - k.stack_low) as usize;
    let stack = k.vs.read(k.stack_low, stack_size);
    let call_stack = at(&mut body, &stack);
    // Driver list: 0x90-byte entries; names in the string pool.
    let mut strings = Vec::new();
    let mut name_offsets = Vec::new();
    let driver_list_off = {
        let len = 0x90 * k.placed.len();
        at(&mut body, &vec![0u8; len])
    };
    let string_pool = (base + body.len()) as u32;
    for p in &k.placed {
        while strings.len() % 2 != 0 {
            strings.push(0);
        }
        name_offsets.push(string_pool + strings.len() as u32);
        let units: Vec<u16> = p.spec.path.encode_utf16().collect();
        strings.extend_from_slice(&(units.len() as u32).to_le_bytes());
        for u in &units {
            strings.extend_from_slice(&u.to_le_bytes());
        }
        strings.extend_from_slice(&[0, 0]);
    }
    let pool_off = at(&mut body, &strings);
    debug_assert_eq!(pool_off, string_pool);
    for (i, p) in k.placed.iter().enumerate() {
        let e = (driver_list_off as usize - base) + 0x90 * i;
        body[e..e + 4].copy_from_slice(&name_offsets[i].to_le_bytes());
        body[e + 0x38..e + 0x40].copy_from_slice(&p.base.to_le_bytes());
        body[e + 0x48..e + 0x4c].copy_from_slice(&(p.image.len() as u32).to_le_bytes());
        body[e + 0x80..e + 0x84].copy_from_slice(&p.checksum.to_le_bytes());
        body[e + 0x88..e + 0x8c].copy_from_slice(&p.timestamp.to_le_bytes());
    }
    let debugger = at(&mut body, &k.kdbg_bytes);
    // Data blocks: the string parameters, the page of the first frame's code, nt's headers.
    let mut blocks: Vec<(u64, Vec<u8>)> = Vec::new();
    for (va, len) in &k.param_blocks {
        blocks.push((*va, k.vs.read(*va, *len)));
    }
    let ip_page = k.context.rip & !0xfff;
    blocks.push((ip_page, k.vs.read(ip_page, 0x1000)));
    if let Some(nt) = k.placed.first() {
        blocks.push((nt.base, k.vs.read(nt.base, 0x1000)));
    }
    let mut block_table = Vec::new();
    let mut datas = Vec::new();
    for (va, bytes) in &blocks {
        let off = at(&mut body, bytes);
        datas.push((*va, off, bytes.len() as u32));
    }
    for (va, off, size) in &datas {
        block_table.extend_from_slice(&va.to_le_bytes());
        block_table.extend_from_slice(&off.to_le_bytes());
        block_table.extend_from_slice(&size.to_le_bytes());
    }
    let blocks_off = at(&mut body, &block_table);
    let valid = at(&mut body, b"TRGD");
    let size_of_dump = valid + 4;
    let fields: [(usize, u32); 24] = [
        (0x4, size_of_dump),
        (0x8, valid),
        (0xc, 0x348),
        (0x10, 0xf00),
        (0x14, mm),
        (0x18, unloaded),
        (0x1c, prcb),
        (0x20, process),
        (0x24, thread),
        (0x28, call_stack),
        (0x2c, stack_size as u32),
        (0x30, driver_list_off),
        (0x34, k.placed.len() as u32),
        (0x38, string_pool),
        (0x3c, strings.len() as u32),
        (0x40, 0),
        (0x44, 0xffff_ffff),
        (0x68, 0),
        (0x6c, 0),
        (0x70, debugger),
        (0x74, 0x380),
        (0x78, blocks_off),
        (0x7c, datas.len() as u32),
        (0x0, 0),
    ];
    for (off, v) in fields {
        body[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    body[0x48..0x50].copy_from_slice(&k.stack_low.to_le_bytes());
    let file_size = base as u64 + body.len() as u64;
    let mut f = std::fs::File::create(path).map_err(io)?;
    f.write_all(&header64(spec, &k, 4, 0x1ad000, file_size))
        .map_err(io)?;
    f.write_all(&body).map_err(io)?;
    f.flush().map_err(io)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 32-bit (x86) kernel dumps: `PAGEDUMP` with a run list (full) or SUMMARY_DUMP32 (summary),
// PAE or non-PAE page tables, PE32 images, KLDR_DATA_TABLE_ENTRY32 entries and an EBP chain.

/// The body of a 32-bit dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout32 {
    /// DumpType 1: PHYSICAL_MEMORY_DESCRIPTOR32 runs at 0x64, pages from 0x1000.
    Full,
    /// DumpType 2: SUMMARY_DUMP32 (`SDMP`) at 0x1000 with a bitmap.
    Summary,
}

/// How to write a 32-bit dump.
#[derive(Clone, Copy, Debug)]
pub struct Dump32Options {
    pub layout: Layout32,
    /// PAE page tables (3-level, 8-byte entries, 2 MiB large page) or non-PAE (2-level, 4-byte
    /// entries, 4 MiB large page).
    pub pae: bool,
    /// Write the PaeEnabled byte at 0x5C; `false` leaves the `PAGE` fill there.
    pub pae_flag: bool,
}

/// A module as the writer placed it: its name, then where and what it is (the fields a
/// module list entry has, as [`MinidumpModule`] names them; read through `Deref`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written32Module {
    pub name: String,
    pub module: MinidumpModule,
}

impl std::ops::Deref for Written32Module {
    type Target = MinidumpModule;
    fn deref(&self) -> &MinidumpModule {
        &self.module
    }
}

/// What a 32-bit writer placed: the facts a reader must find.
#[derive(Clone, Debug)]
pub struct Written32 {
    pub modules: Vec<Written32Module>,
    /// The header's DirectoryTableBase (32-byte aligned for PAE, page-aligned otherwise).
    pub cr3: u64,
    /// (virtual address, bytes there): a module header, code, the stack (in the large page)
    /// and pool.
    pub probes: Vec<(u64, Vec<u8>)>,
    /// (virtual address, physical address) pairs of the page tables, large page included.
    pub translations: Vec<(u64, u64)>,
    /// The context: EIP, ESP, EBP.
    pub eip: u32,
    pub esp: u32,
    pub ebp: u32,
}

const NT_BASE32: u64 = 0x8280_0000;
const POOL32: u64 = 0x8540_0000;
/// The stack lives in a large page: 2 MiB (PAE) or 4 MiB (non-PAE); 4 MiB aligned for both.
const STACK_REGION32: u64 = 0x8a00_0000;
const STACK_TOP32: u64 = STACK_REGION32 + 0x1f_f000;
/// First PFN of the large page (aligned to 2 MiB and 4 MiB).
const LARGE_PFN32: u64 = 0x800;

const PROLOG32: [u8; 8] = [0x8b, 0xff, 0x55, 0x8b, 0xec, 0x83, 0xec, 0x20];
const EPILOG32: [u8; 4] = [0xc9, 0xc2, 0x10, 0x00];

/// A PE32 (x86) image: `.text` and `.rdata` (call slots and exports).
fn build_image32(p: &Placed) -> Vec<u8> {
    let rdata_rva = p.rdata_rva();
    let base = p.base as u32;
    // .rdata: one pointer slot per function (for `call dword ptr [slot]`), then exports.
    let mut rdata = Vec::new();
    let mut code_at = Vec::new();
    for f in &p.funcs {
        let slot = rdata_rva + rdata.len() as u32;
        let target = f.callee.unwrap_or(p.base + u64::from(f.rva)) as u32;
        rdata.extend_from_slice(&target.to_le_bytes());
        let mut code = PROLOG32.to_vec();
        code.resize((f.call_rva - f.rva) as usize, 0x90);
        if f.call_len == 5 {
            let next = base.wrapping_add(f.call_rva + 5);
            code.push(0xe8);
            code.extend_from_slice(&target.wrapping_sub(next).to_le_bytes());
        } else {
            code.extend_from_slice(&[0xff, 0x15]);
            code.extend_from_slice(&base.wrapping_add(slot).to_le_bytes());
        }
        code.extend_from_slice(&EPILOG32);
        code_at.push((f.rva, code));
    }
    let (rdata, export) = rdata_with_exports(p, rdata_rva, rdata);
    let mut dirs = [(0u32, 0u32); 16];
    dirs[0] = export;
    let mut rdata = SectionSpec::new(b".rdata\0\0", rdata_rva, rdata, 0x4000_0040);
    rdata.size = 0x2000;
    let text = text_section(rdata_rva, code_at.into_iter());
    loaded_image(p, 0x14c, vec![text, rdata], dirs)
}

fn unicode_string32(vs: &mut VSpace, pool: &mut Pool, text: &str) -> u64 {
    let utf16: Vec<u8> = text.encode_utf16().flat_map(|c| c.to_le_bytes()).collect();
    let buf = pool.alloc(utf16.len() + 2);
    vs.write(buf, &utf16);
    let s = pool.alloc(8);
    let len = utf16.len() as u16;
    let mut us = Vec::new();
    us.extend_from_slice(&len.to_le_bytes());
    us.extend_from_slice(&(len + 2).to_le_bytes());
    us.extend_from_slice(&(buf as u32).to_le_bytes());
    vs.write(s, &us);
    s
}

/// A 32-bit pointer as KDDEBUGGER_DATA64 stores it: sign-extended to 64 bits.
fn sign_extend32(v: u64) -> u64 {
    i64::from(v as u32 as i32) as u64
}

/// Write a 32-bit kernel dump (`PAGEDUMP`) of `spec`: a full dump (DumpType 1) or a summary
/// dump (DumpType 2, `SDMP`), with PAE or non-PAE page tables. Offsets follow the reference
/// §2.2 and the public WDK types (`_DUMP_HEADER32`, `_SUMMARY_DUMP32`,
/// `_KLDR_DATA_TABLE_ENTRY`), so reading back checks the reader against the same layout, not
/// against a real 32-bit file. `fault_ip_param` is not supported (no x86 trap frames).
pub fn write_dump32(
    path: &Path,
    spec: &DumpSpec,
    opts: Dump32Options,
) -> Result<Written32, SynthDumpError> {
    let io = |e| SynthDumpError::Io(path.to_path_buf(), e);
    if spec.fault_ip_param.is_some() {
        return Err(SynthDumpError::Spec(
            "fault_ip_param: the 32-bit writer has no trap frames".into(),
        ));
    }
    if spec.call_chain.is_empty() {
        return Err(SynthDumpError::Spec("empty call chain".into()));
    }
    let placed = place_modules(spec, Width::X86)?;
    let mut vs = VSpace::default();
    for p in &placed {
        vs.write(p.base, &p.image);
    }
    let mut pool = Pool { next: POOL32 };
    let mut params = spec.params.map(|p| p & 0xffff_ffff);
    for (i, text) in &spec.string_params {
        let va = unicode_string32(&mut vs, &mut pool, text);
        if let Some(p) = params.get_mut(*i) {
            *p = va;
        }
    }
    // PsLoadedModuleList: KLDR_DATA_TABLE_ENTRY32 (TimeDateStamp 0x44 before Windows 8, 0x58
    // after).
    let ts_off = if spec.build >= 9200 { 0x58 } else { 0x44 };
    let head = pool.alloc(8);
    let mut entries = Vec::new();
    for p in &placed {
        let e = pool.alloc(0x60);
        let full = unicode_string32(&mut vs, &mut pool, &p.spec.path);
        let base_name = unicode_string32(&mut vs, &mut pool, &p.spec.name);
        let mut b = vec![0u8; 0x60];
        b[0x18..0x1c].copy_from_slice(&(p.base as u32).to_le_bytes());
        b[0x1c..0x20].copy_from_slice(&(p.base as u32 + TEXT_RVA).to_le_bytes());
        b[0x20..0x24].copy_from_slice(&(p.image.len() as u32).to_le_bytes());
        b[0x24..0x2c].copy_from_slice(&vs.read(full, 8));
        b[0x2c..0x34].copy_from_slice(&vs.read(base_name, 8));
        b[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        b[0x40..0x44].copy_from_slice(&p.checksum.to_le_bytes());
        b[ts_off..ts_off + 4].copy_from_slice(&p.timestamp.to_le_bytes());
        vs.write(e, &b);
        entries.push(e);
    }
    for (i, &e) in entries.iter().enumerate() {
        let next = entries.get(i + 1).copied().unwrap_or(head);
        let prev = if i == 0 { head } else { entries[i - 1] };
        vs.write(e, &(next as u32).to_le_bytes());
        vs.write(e + 4, &(prev as u32).to_le_bytes());
    }
    let first = entries.first().copied().unwrap_or(head);
    let last = entries.last().copied().unwrap_or(head);
    vs.write(head, &(first as u32).to_le_bytes());
    vs.write(head + 4, &(last as u32).to_le_bytes());
    // Unloaded drivers: 0x18-byte UNLOADED_DRIVERS32 entries.
    let array = pool.alloc(0x18 * spec.unloaded.len().max(1));
    for (i, name) in spec.unloaded.iter().enumerate() {
        let s = unicode_string32(&mut vs, &mut pool, name);
        let start = 0x8100_0000u32 + (i as u32) * 0x10_0000;
        let mut b = vs.read(s, 8);
        b.extend_from_slice(&start.to_le_bytes());
        b.extend_from_slice(&(start + 0x1_c000).to_le_bytes());
        b.extend_from_slice(&spec.system_time.to_le_bytes());
        vs.write(array + 0x18 * i as u64, &b);
    }
    let mm_unloaded = pool.alloc(4);
    vs.write(mm_unloaded, &(array as u32).to_le_bytes());
    let mm_last = pool.alloc(4);
    vs.write(mm_last, &(spec.unloaded.len() as u32).to_le_bytes());
    // KiProcessorBlock -> KPRCB per CPU (CurrentThread at +0x4); CPU 0 runs the crashing
    // thread: Windows 7 x86 KTHREAD (StackLimit 0x2C, StackBase 0x190, ApcState.Process 0x50)
    // and EPROCESS.ImageFileName 0x16C.
    let eprocess = pool.alloc(0x2c0);
    let pname = spec.process_name.as_bytes();
    vs.write(eprocess + 0x16c, &pname[..pname.len().min(14)]);
    let kthread = pool.alloc(0x200);
    vs.write(
        kthread + 0x2c,
        &((STACK_TOP32 - 0x3000) as u32).to_le_bytes(),
    );
    vs.write(kthread + 0x190, &(STACK_TOP32 as u32).to_le_bytes());
    vs.write(kthread + 0x50, &(eprocess as u32).to_le_bytes());
    let processor_block = pool.alloc(4 * spec.processors.max(1) as usize);
    for cpu in 0..u64::from(spec.processors.max(1)) {
        let prcb = pool.alloc(0x20);
        let t = if cpu == 0 { kthread } else { pool.alloc(0x200) };
        vs.write(prcb + 4, &(t as u32).to_le_bytes());
        vs.write(processor_block + 4 * cpu, &(prcb as u32).to_le_bytes());
    }
    // KDBG (decoded; 64-bit fields, sign-extended pointers), alone in a transition page.
    let kdbg = POOL32 + 0x10_0000;
    let mut kd = vec![0u8; 0x340];
    kd[0x10..0x14].copy_from_slice(b"KDBG");
    kd[0x14..0x18].copy_from_slice(&0x340u32.to_le_bytes());
    kd[0x18..0x20].copy_from_slice(&sign_extend32(NT_BASE32).to_le_bytes());
    kd[0x48..0x50].copy_from_slice(&sign_extend32(head).to_le_bytes());
    kd[0x218..0x220].copy_from_slice(&sign_extend32(processor_block).to_le_bytes());
    kd[0x220..0x228].copy_from_slice(&sign_extend32(mm_unloaded).to_le_bytes());
    kd[0x228..0x230].copy_from_slice(&sign_extend32(mm_last).to_le_bytes());
    vs.write(kdbg, &kd);
    // The stack, outermost frame first: each function pushes EBP, sets EBP = ESP, reserves
    // 0x20 bytes, pushes its callee's arguments and calls. Frame 0 (KeBugCheckEx) is captured at
    // its entry, its return address on top of the stack and EBP still its caller's.
    let mut esp = STACK_TOP32 - 0x40;
    vs.write(esp, &0u32.to_le_bytes());
    let mut ebp = 0u64;
    let mut eip = 0u64;
    for k in (0..spec.call_chain.len()).rev() {
        let (mi, fi) = chain_index(&placed, spec, k)?;
        let f = &placed[mi].funcs[fi];
        let fva = placed[mi].base + u64::from(f.rva);
        if k == 0 {
            eip = fva;
            break;
        }
        esp -= 4;
        vs.write(esp, &(ebp as u32).to_le_bytes());
        ebp = esp;
        esp -= 0x20;
        vs.write(esp, &(0x1000_0000u32 + k as u32).to_le_bytes());
        let args: Vec<u64> = if k == 1 {
            vec![
                u64::from(spec.bugcheck),
                params[0],
                params[1],
                params[2],
                params[3],
            ]
        } else {
            (0..3).map(|j| 0xa000 + 0x10 * k as u64 + j).collect()
        };
        for a in args.iter().rev() {
            esp -= 4;
            vs.write(esp, &(*a as u32).to_le_bytes());
        }
        esp -= 4;
        let ret = placed[mi].base + u64::from(f.call_rva + f.call_len);
        vs.write(esp, &(ret as u32).to_le_bytes());
    }
    // A marker near the end of the large page (above 2 MiB for the 4 MiB non-PAE page), so the
    // large-page offset bits are exercised, not only those of the stack.
    let large_bytes: u64 = if opts.pae { 0x20_0000 } else { 0x40_0000 };
    let marker = STACK_REGION32 + large_bytes - 0x7f0;
    vs.write(
        marker,
        b"large page marker: the last page of the large page",
    );
    // Physical pages: 4 KiB pages from PFN 0x10, the stack region as one large page.
    let large_pages: u64 = if opts.pae { 0x200 } else { 0x400 };
    let mut phys: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut next_pfn = 0x10u64;
    let alloc = |next: &mut u64| {
        let p = *next;
        *next += 1;
        if *next == LARGE_PFN32 {
            *next = LARGE_PFN32 + large_pages;
        }
        p
    };
    let top = alloc(&mut next_pfn);
    phys.insert(top, vec![0u8; 0x1000]);
    // PAE: the 4-entry PDPT sits 0x20 into its page (CR3 is 32-byte aligned).
    let cr3 = if opts.pae {
        (top << 12) | 0x20
    } else {
        top << 12
    };
    let mut tables: BTreeMap<u64, u64> = BTreeMap::new();
    let set_entry = |phys: &mut BTreeMap<u64, Vec<u8>>, pa: u64, value: u64, wide: bool| {
        let page = phys.entry(pa >> 12).or_insert_with(|| vec![0u8; 0x1000]);
        let o = (pa & 0xfff) as usize;
        if wide {
            page[o..o + 8].copy_from_slice(&value.to_le_bytes());
        } else {
            page[o..o + 4].copy_from_slice(&(value as u32).to_le_bytes());
        }
    };
    // The page directory for `va`: PAE needs one per 1 GiB (PDPTE), non-PAE has the one at CR3.
    let mut pd_for = |phys: &mut BTreeMap<u64, Vec<u8>>, next: &mut u64, va: u64| -> u64 {
        if !opts.pae {
            return cr3;
        }
        let key = va >> 30;
        if let Some(&pd) = tables.get(&key) {
            return pd << 12;
        }
        let pd = alloc(next);
        phys.insert(pd, vec![0u8; 0x1000]);
        tables.insert(key, pd);
        set_entry(phys, cr3 + key * 8, (pd << 12) | 1, true);
        pd << 12
    };
    let pde_shift = if opts.pae { 21 } else { 22 };
    let pde_index = |va: u64| {
        if opts.pae {
            (va >> 21) & 0x1ff
        } else {
            va >> 22
        }
    };
    let esize = if opts.pae { 8 } else { 4 };
    let pd = pd_for(&mut phys, &mut next_pfn, STACK_REGION32);
    set_entry(
        &mut phys,
        pd + pde_index(STACK_REGION32) * esize,
        (LARGE_PFN32 << 12) | 0xe3,
        opts.pae,
    );
    let mut translations = Vec::new();
    let mut pts: BTreeMap<u64, u64> = BTreeMap::new();
    for (va, bytes) in &vs.pages {
        if *va >= STACK_REGION32 && *va < STACK_REGION32 + large_pages * 0x1000 {
            let pfn = LARGE_PFN32 + ((va - STACK_REGION32) >> 12);
            phys.insert(pfn, bytes.clone());
            translations.push((*va + 0x123, (pfn << 12) + 0x123));
            continue;
        }
        let pd = pd_for(&mut phys, &mut next_pfn, *va);
        let pt = match pts.get(&(va >> pde_shift)) {
            Some(&pt) => pt,
            None => {
                let pt = alloc(&mut next_pfn);
                phys.insert(pt, vec![0u8; 0x1000]);
                pts.insert(va >> pde_shift, pt);
                set_entry(
                    &mut phys,
                    pd + pde_index(*va) * esize,
                    (pt << 12) | 0x63,
                    opts.pae,
                );
                pt
            }
        };
        let pfn = alloc(&mut next_pfn);
        phys.insert(pfn, bytes.clone());
        let pti = if opts.pae {
            (va >> 12) & 0x1ff
        } else {
            (va >> 12) & 0x3ff
        };
        // KDBG's page is in transition (not present, bit 11): still readable from RAM.
        let flags = if *va == kdbg & !0xfff { 0x800 } else { 0x63 };
        set_entry(
            &mut phys,
            (pt << 12) + pti * esize,
            (pfn << 12) | flags,
            opts.pae,
        );
        translations.push((*va + 0x10, (pfn << 12) + 0x10));
    }
    // Every PFN of the large page is in the dump, written or not.
    let mut present: Vec<u64> = phys.keys().copied().collect();
    present.extend(LARGE_PFN32..LARGE_PFN32 + large_pages);
    present.sort_unstable();
    present.dedup();
    let (eip, esp, ebp) = (eip as u32, esp as u32, ebp as u32);
    let header = header32(
        spec, &params, &opts, cr3, head, kdbg, eip, esp, ebp, &present,
    );
    let mut f = std::fs::File::create(path).map_err(io)?;
    f.write_all(&header).map_err(io)?;
    // Page order in the file: PFN order (runs are written in PFN order; the bitmap stores
    // pages in PFN order).
    let first_page = match opts.layout {
        Layout32::Full => 0x1000u64,
        Layout32::Summary => {
            let bits = present.last().map_or(0, |p| p + 1);
            let nbytes = bits.div_ceil(32) * 4;
            let first = (0x1020 + nbytes).div_ceil(0x1000) * 0x1000;
            let mut sh = vec![0u8; 0x20];
            sh[0..4].copy_from_slice(b"SDMP");
            sh[4..8].copy_from_slice(b"DUMP");
            sh[0xc..0x10].copy_from_slice(&(first as u32).to_le_bytes());
            sh[0x10..0x14].copy_from_slice(&(bits as u32).to_le_bytes());
            sh[0x14..0x18].copy_from_slice(&(present.len() as u32).to_le_bytes());
            sh[0x18..0x1c].copy_from_slice(&(bits as u32).to_le_bytes());
            let mut bitmap = vec![0u8; nbytes as usize];
            for p in &present {
                bitmap[(p / 8) as usize] |= 1 << (p % 8);
            }
            f.write_all(&sh).map_err(io)?;
            f.write_all(&bitmap).map_err(io)?;
            first
        }
    };
    let file_size = first_page + present.len() as u64 * 0x1000;
    f.set_len(file_size).map_err(io)?;
    for (i, pfn) in present.iter().enumerate() {
        if let Some(bytes) = phys.get(pfn) {
            f.seek(SeekFrom::Start(first_page + i as u64 * 0x1000))
                .map_err(io)?;
            f.write_all(bytes).map_err(io)?;
        }
    }
    f.flush().map_err(io)?;
    let mut probes = Vec::new();
    if let Some(nt) = placed.first() {
        probes.push((nt.base, vs.read(nt.base, 0x200)));
        probes.push((u64::from(eip), vs.read(u64::from(eip), 32)));
    }
    probes.push((u64::from(esp), vs.read(u64::from(esp), 0x40)));
    probes.push((head, vs.read(head, 8)));
    probes.push((kdbg, kd[..0x20].to_vec()));
    probes.push((marker, vs.read(marker, 0x30)));
    // A read across a page boundary inside the large page.
    probes.push((STACK_TOP32 - 8, vs.read(STACK_TOP32 - 8, 16)));
    Ok(Written32 {
        modules: placed
            .iter()
            .map(|p| Written32Module {
                name: p.spec.name.clone(),
                module: MinidumpModule {
                    path: p.spec.path.clone(),
                    base: p.base,
                    size: p.image.len() as u32,
                    timestamp: p.timestamp,
                    checksum: p.checksum,
                },
            })
            .collect(),
        cr3,
        probes,
        translations,
        eip,
        esp,
        ebp,
    })
}

/// The 0x1000-byte DUMP_HEADER32, `PAGE`-filled where unused; the run list describes
/// `present` (the PFNs in the dump) as maximal runs.
#[allow(clippy::too_many_arguments)]
fn header32(
    spec: &DumpSpec,
    params: &[u64; 4],
    opts: &Dump32Options,
    cr3: u64,
    head: u64,
    kdbg: u64,
    eip: u32,
    esp: u32,
    ebp: u32,
    present: &[u64],
) -> Vec<u8> {
    let mut h = b"PAGE".repeat(0x400);
    let mut set = |off: usize, b: &[u8]| h[off..off + b.len()].copy_from_slice(b);
    set(0, b"PAGEDUMP");
    set(8, &0xfu32.to_le_bytes());
    set(0xc, &spec.build.to_le_bytes());
    set(0x10, &(cr3 as u32).to_le_bytes());
    set(0x14, &0x8400_0000u32.to_le_bytes());
    set(0x18, &(head as u32).to_le_bytes());
    set(0x1c, &(POOL32 as u32 + 0x2_0000).to_le_bytes());
    set(0x20, &0x14cu32.to_le_bytes());
    set(0x24, &spec.processors.to_le_bytes());
    set(0x28, &spec.bugcheck.to_le_bytes());
    for (i, p) in params.iter().enumerate() {
        set(0x2c + 4 * i, &(*p as u32).to_le_bytes());
    }
    set(0x3c, &[0u8; 32]);
    if opts.pae_flag {
        set(0x5c, &[u8::from(opts.pae), 0, 0, 0]);
    }
    set(0x60, &(kdbg as u32).to_le_bytes());
    // PHYSICAL_MEMORY_DESCRIPTOR32: NumberOfRuns, NumberOfPages, {BasePage, PageCount}.
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &p in present {
        match runs.last_mut() {
            Some((b, n)) if *b + *n == p => *n += 1,
            _ => runs.push((p, 1)),
        }
    }
    let mut pmd = Vec::new();
    pmd.extend_from_slice(&(runs.len() as u32).to_le_bytes());
    pmd.extend_from_slice(&(present.len() as u32).to_le_bytes());
    for (b, n) in &runs {
        pmd.extend_from_slice(&(*b as u32).to_le_bytes());
        pmd.extend_from_slice(&(*n as u32).to_le_bytes());
    }
    set(0x64, &pmd);
    // x86 CONTEXT: ContextFlags, then the integer registers after the FloatSave area.
    let mut ctx = vec![0u8; 0x2cc];
    let mut c = |off: usize, v: u32| ctx[off..off + 4].copy_from_slice(&v.to_le_bytes());
    c(0, 0x0001_0007);
    c(0x9c, 0xd1d1_0000);
    c(0xa0, 0x5151_0000);
    c(0xa4, 0xb1b1_0000);
    c(0xa8, params[0] as u32);
    c(0xac, spec.bugcheck);
    c(0xb0, 0xa1a1_0000);
    c(0xb4, ebp);
    c(0xb8, eip);
    c(0xbc, 8);
    c(0xc0, 0x246);
    c(0xc4, esp);
    c(0xc8, 0x10);
    set(0x320, &ctx);
    // EXCEPTION_RECORD32: the breakpoint KeBugCheckEx raises.
    let mut ex = vec![0u8; 0x50];
    ex[0..4].copy_from_slice(&0x8000_0003u32.to_le_bytes());
    ex[0xc..0x10].copy_from_slice(&eip.to_le_bytes());
    set(0x7d0, &ex);
    let dump_type: u32 = match opts.layout {
        Layout32::Full => 1,
        Layout32::Summary => 2,
    };
    set(0xf88, &dump_type.to_le_bytes());
    set(0xf8c, &0u32.to_le_bytes());
    set(0xf94, &1u32.to_le_bytes());
    set(0xfa0, &((present.len() as u64 + 1) * 0x1000).to_le_bytes());
    set(0xfb8, &spec.uptime.to_le_bytes());
    set(0xfc0, &spec.system_time.to_le_bytes());
    h
}
