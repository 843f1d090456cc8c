//! The `!analyze`-like summary of a dump: STACK_TEXT (unwound with .pdata where module images
//! are available, else a call-site-checked stack scan), SYMBOL_NAME, MODULE_NAME, IMAGE_NAME,
//! IMAGE_VERSION, FAULTING_IP and the faulting module (docs/formats/crash-dump.md §2.10, §2.11).

use super::followup::{self, Followup};
use super::image::{Image, ImageLocator, ImageSource};
use super::unwind::{self, Regs, StepKind};
use super::{Context, CrashDump, DumpKind, Module};
use crate::warning::Warning;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;

/// How a frame was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameMethod {
    /// From the context record or by table-based unwinding.
    Unwind,
    /// By scanning the stack for return addresses.
    Scan,
    /// By following the x86 EBP chain (`[ebp]` = caller's EBP, `[ebp+4]` = return address),
    /// each return address checked for a call before it where code bytes are at hand.
    FramePointer,
    /// Restored from a KTRAP_FRAME (or a machine frame): the instruction a trap interrupted,
    /// or the user-mode address a system service returns to.
    Trap,
}

impl FrameMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            FrameMethod::Unwind => "unwind",
            FrameMethod::Scan => "scan",
            FrameMethod::FramePointer => "frame_pointer",
            FrameMethod::Trap => "trap",
        }
    }
}

/// Where a frame's name came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameSource {
    /// A matching PDB.
    Pdb,
    /// The export table of the module image.
    Exports,
    /// No name: `module+offset` or a raw address.
    #[default]
    None,
}

impl NameSource {
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::Pdb => "pdb",
            NameSource::Exports => "exports",
            NameSource::None => "none",
        }
    }
}

/// One STACK_TEXT line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Frame {
    pub index: usize,
    /// RSP inside this frame.
    pub child_sp: u64,
    /// Where this frame returns to (0 when unknown: the last frame).
    pub return_address: u64,
    /// The four qwords at Child-SP+8 (the home area).
    pub args: [Option<u64>; 4],
    /// The instruction pointer of the frame.
    pub ip: u64,
    /// Module file name (`amdppm.sys`).
    pub module: Option<String>,
    /// WinDbg's short module name (`nt`, `amdppm`).
    pub module_short: Option<String>,
    /// Offset of `ip` in the module.
    pub offset: Option<u64>,
    /// Function name, when a symbol source named it.
    pub symbol: Option<String>,
    /// Offset of `ip` from the function start.
    pub symbol_offset: Option<u64>,
    /// `module!symbol+0xoffset` (or `module+0xoffset`, or the raw address).
    pub call_site: String,
    pub method: FrameMethod,
    /// A scan frame whose call instruction was checked in the code bytes.
    pub verified: bool,
    /// The unwind of this frame crossed a machine (trap) frame.
    pub trap_frame: bool,
    /// The KTRAP_FRAME this frame's unwind went through (WinDbg's `(TrapFrame @ ...)`).
    pub trap_frame_address: Option<u64>,
    /// Where the function name came from.
    pub name_source: NameSource,
}

impl Frame {
    /// How the frame was found, in the words of the JSON and the Dump pane: `unwind`, `trap`,
    /// `scan-verified`, `scan-unverified`, `frame-pointer`, `frame-pointer-unverified`.
    pub fn walk_label(&self) -> &'static str {
        match (self.method, self.verified) {
            (FrameMethod::Unwind, _) => "unwind",
            (FrameMethod::Trap, _) => "trap",
            (FrameMethod::Scan, true) => "scan-verified",
            (FrameMethod::Scan, false) => "scan-unverified",
            (FrameMethod::FramePointer, true) => "frame-pointer",
            (FrameMethod::FramePointer, false) => "frame-pointer-unverified",
        }
    }

    /// Whether the frame may be named as the culprit: anything but an unverified guess.
    pub fn trusted(&self) -> bool {
        self.verified || matches!(self.method, FrameMethod::Unwind | FrameMethod::Trap)
    }
}

/// A symbol source beyond the images' exports (PDBs from a symbol store): module + RVA ->
/// (name, offset), and the image file of a module.
pub trait FrameSymbols {
    fn symbolize(&self, module: &Module, rva: u32) -> Option<(String, u32)>;
    /// The same with where the name came from (a PDB unless the source says otherwise).
    fn symbolize_sourced(&self, module: &Module, rva: u32) -> Option<(String, u32, NameSource)> {
        self.symbolize(module, rva)
            .map(|(n, o)| (n, o, NameSource::Pdb))
    }
    fn find_image(&self, _module: &Module) -> Option<PathBuf> {
        None
    }
}

/// Options of an analysis.
#[derive(Default)]
pub struct AnalyzeOptions<'s> {
    /// A symbol path (`--symbols` or `_NT_SYMBOL_PATH`): its local folders are searched for
    /// module images.
    pub symbol_path: Option<String>,
    /// Extra folders (the case folder) searched for module images.
    pub image_folders: Vec<PathBuf>,
    /// PDB symbols, when available.
    pub symbols: Option<&'s dyn FrameSymbols>,
    /// Maximum number of frames.
    pub max_frames: usize,
}

/// The summary of a dump.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Analysis {
    pub stack: Vec<Frame>,
    /// The frame chosen as the culprit (index into `stack`).
    pub faulting_frame: Option<usize>,
    /// `module!function+offset` without `0x` (WinDbg's SYMBOL_NAME).
    pub symbol_name: Option<String>,
    pub module_name: Option<String>,
    pub image_name: Option<String>,
    pub image_version: Option<String>,
    /// The file name of the faulting module (`amdppm.sys`).
    pub faulting_module: Option<String>,
    /// The address FAULTING_IP disassembles, and its text.
    pub faulting_ip: Option<u64>,
    /// The context the stack starts from, and where it came from (header, `.cxr`, `.trap`).
    pub context: Option<Context>,
    pub context_source: Option<String>,
    /// The EXCEPTION_RECORD a bug-check parameter points to (0x7E P3, 0x139 P3).
    pub exception_record: Option<super::ExceptionRecord>,
    pub faulting_ip_disasm: Option<String>,
    /// WinDbg-style bucket: `AV_amdppm!unknown_function`, `0x5A_nt!IopLoadDriver`.
    pub failure_bucket_id: Option<String>,
    /// For 0x5A and friends: the driver image named by a bug-check parameter.
    pub parameter_driver: Option<String>,
    /// The function at the faulting address when the culprit is an address, not a frame.
    pub culprit_function: Option<String>,
    /// 0x9F P1 = 3: the driver holding the blocked IRP (its DriverName's last part).
    pub power_irp_holder: Option<String>,
    /// Module images used for unwinding: module name -> where from.
    pub images: Vec<(String, String)>,
    /// Files in the case (or symbol-path folders) named like a loaded module but built
    /// differently (TimeDateStamp/SizeOfImage): reported, not used.
    pub image_mismatches: Vec<super::image::ImageMismatch>,
    pub warnings: Vec<Warning>,
}

impl Analysis {
    /// What the culprit frame rests on, when it is less than an unwound frame: `a
    /// scan-verified frame` (found by a stack scan, its call checked in the code bytes), and
    /// how many frames above it the walk could not verify. `None`: an unwound (or trap)
    /// frame under verified frames, or no culprit frame.
    pub fn culprit_basis(&self) -> Option<String> {
        let i = self.faulting_frame?;
        let c = self.stack.iter().find(|f| f.index == i)?;
        let above = self
            .stack
            .iter()
            .filter(|f| f.index < c.index && !f.trusted())
            .count();
        let mut notes = Vec::new();
        if !matches!(c.method, FrameMethod::Unwind | FrameMethod::Trap) || !c.trusted() {
            notes.push(format!("a {} frame", c.walk_label()));
        }
        if above > 0 {
            notes.push(format!("{above} unverified frame(s) above it"));
        }
        (!notes.is_empty()).then(|| notes.join(", "))
    }
}

/// Size of an x86 CONTEXT (with the extended registers area).
const X86_CONTEXT_SIZE: usize = 0x2cc;

/// Codes whose P2 is the faulting IP, and codes whose P4 is.
const IP_IN_P2: &[u32] = &[0x1e, 0x7e, 0x8e, 0x3b, 0x1000_007e, 0x1000_008e];
const IP_IN_P4: &[u32] = &[0x0a, 0xd1, 0xc5];

/// Resolved images, cached per module base.
struct Images<'a> {
    dump: &'a CrashDump,
    symbols: Option<&'a dyn FrameSymbols>,
    locator: ImageLocator,
    cache: HashMap<u64, Option<Image<'a>>>,
    headers: HashMap<u64, Option<Image<'a>>>,
    used: Vec<(String, String)>,
}

impl<'a> Images<'a> {
    /// Whether `va` is in a code section of `m`, from any readable headers (the image, or the
    /// header page a triage dump captured). `None` when no section table is at hand.
    fn is_code(&mut self, m: &Module, va: u64) -> Option<bool> {
        let rva = u32::try_from(va - m.base).ok()?;
        if let Some(img) = self.get(m) {
            return img.is_code(rva);
        }
        if !self.headers.contains_key(&m.base) {
            let img = Image::load(ImageSource::Memory {
                memory: &self.dump.memory,
                base: m.base,
            });
            self.headers.insert(m.base, img);
        }
        self.headers.get(&m.base)?.as_ref()?.is_code(rva)
    }

    fn get(&mut self, m: &Module) -> Option<&mut Image<'a>> {
        if !self.cache.contains_key(&m.base) {
            let img = self.load(m);
            if let Some(i) = &img {
                let from = i
                    .file_path()
                    .map_or_else(|| "dump memory".to_string(), |p| p.display().to_string());
                self.used.push((m.name.clone(), from));
            }
            self.cache.insert(m.base, img);
        }
        self.cache.get_mut(&m.base).and_then(Option::as_mut)
    }

    fn load(&self, m: &Module) -> Option<Image<'a>> {
        // In-memory first (full/bitmap dumps hold the images), with .pdata present.
        let in_memory = matches!(
            self.dump.kind,
            DumpKind::KernelFull | DumpKind::KernelBitmap | DumpKind::KernelRange
        );
        if in_memory
            && let Some(img) = Image::load(ImageSource::Memory {
                memory: &self.dump.memory,
                base: m.base,
            })
            && (img.function_count() > 0 || self.dump.machine != 0x8664)
        {
            return Some(img);
        }
        let found = self.symbols.and_then(|s| s.find_image(m)).and_then(|p| {
            let bytes = crate::mapped::Bytes::open(&p).ok()?;
            Some((p, std::sync::Arc::new(bytes)))
        });
        let (path, bytes) = found.or_else(|| self.locator.find(m))?;
        Image::load(ImageSource::File { path, bytes })
    }
}

/// Build the analysis of `dump`.
pub fn analyze<'s>(dump: &'s CrashDump, opts: &AnalyzeOptions<'s>) -> Analysis {
    let mut folders = opts.image_folders.clone();
    if let Some(dir) = dump.path.parent() {
        folders.push(dir.to_path_buf());
    }
    let env_path = std::env::var("_NT_SYMBOL_PATH").ok();
    let sym_path = opts.symbol_path.clone().or(env_path);
    let mut images = Images {
        dump,
        symbols: opts.symbols,
        locator: ImageLocator::from_symbol_path(sym_path.as_deref(), &folders),
        cache: HashMap::new(),
        headers: HashMap::new(),
        used: Vec::new(),
    };
    let mut out = Analysis::default();
    let max = if opts.max_frames == 0 {
        64
    } else {
        opts.max_frames
    };
    let start = start_context(dump, &mut out);
    out.context = start.clone();
    if let Some(ctx) = &start {
        out.stack = match ctx {
            Context::Amd64(c) => walk_x64(dump, &mut images, Regs::from(c), max, &mut out.warnings),
            Context::Arm64(c) => walk_arm64(dump, &mut images, c, max, &mut out.warnings),
            Context::X86(c) => walk_x86(dump, &mut images, c, max),
        };
    } else {
        out.warnings.push(Warning::new(
            &dump.path,
            "no context record: no stack".to_string(),
        ));
    }
    let mut after_trap = false;
    for f in &mut out.stack {
        let exact = f.index == 0 || after_trap;
        after_trap = f.trap_frame;
        name_frame(dump, &mut images, opts.symbols, f, exact);
    }
    choose_culprit(dump, &mut images, opts.symbols, &mut out);
    for m in &dump.modules {
        for mut mm in images.locator.mismatches(m) {
            mm.dump_version = images.get(m).and_then(|img| img.version());
            out.warnings.push(Warning::new(&dump.path, mm.sentence()));
            out.image_mismatches.push(mm);
        }
    }
    out.failure_bucket_id = failure_bucket(dump, &out);
    out.images = images.used;
    out
}

/// The context to start from: the CONTEXT a bug-check parameter points to (0x7E P4, 0x3B P3,
/// `.cxr`), else a KTRAP_FRAME parameter (0x8E P3, 0x139 P2, `.trap`), else the header's.
fn start_context(dump: &CrashDump, out: &mut Analysis) -> Option<Context> {
    if let Some(bc) = &dump.bugcheck {
        let p = bc.parameters;
        let (cxr, trap, exr) = match bc.code {
            0x7e | 0x1000_007e => (Some(p[3]), None, Some(p[2])),
            0x3b => (Some(p[2]), None, None),
            0x8e | 0x1000_008e => (None, Some(p[2]), None),
            0x139 => (None, Some(p[1]), Some(p[2])),
            _ => (None, None, None),
        };
        if let Some(at) = exr.filter(|&a| a != 0) {
            let x86 = dump.machine == 0x14c;
            let size = if x86 { 0x50 } else { 0x98 };
            match dump.memory.read_vec(at, size) {
                Ok(b) => {
                    out.exception_record = if x86 {
                        super::ExceptionRecord::parse32(&b)
                    } else {
                        super::ExceptionRecord::parse64(&b)
                    }
                }
                Err(e) => out.warnings.push(Warning::new(
                    &dump.path,
                    format!("EXCEPTION_RECORD at {at:#x} (bug-check parameter): {e}"),
                )),
            }
        }
        if let Some(at) = cxr.filter(|&a| a != 0) {
            let size = match dump.machine {
                0xaa64 => 0x390,
                0x14c => X86_CONTEXT_SIZE,
                _ => super::header::AMD64_CONTEXT_SIZE,
            };
            match dump.memory.read_vec(at, size) {
                Ok(b) => {
                    if let Some(c) = Context::parse(dump.machine, &b) {
                        out.context_source = Some(format!("CONTEXT at {at:#x} (.cxr)"));
                        return Some(c);
                    }
                }
                Err(e) => out.warnings.push(Warning::new(
                    &dump.path,
                    format!("CONTEXT at {at:#x} (bug-check parameter): {e}"),
                )),
            }
        }
        if let Some(at) = trap.filter(|&a| a != 0 && dump.machine == 0x8664) {
            match dump.memory.read_vec(at, 0x190) {
                Ok(b) => {
                    if let Some(c) =
                        trap_frame_context(&b).filter(|c| dump.module_at(c.rip).is_some())
                    {
                        out.context_source = Some(format!("KTRAP_FRAME at {at:#x} (.trap)"));
                        return Some(Context::Amd64(c));
                    }
                }
                Err(e) => out.warnings.push(Warning::new(
                    &dump.path,
                    format!("KTRAP_FRAME at {at:#x} (bug-check parameter): {e}"),
                )),
            }
        }
    }
    out.context_source = dump.context.as_ref().map(|_| "dump header".to_string());
    dump.context.clone()
}

/// The registers a x64 KTRAP_FRAME holds (volatile ones, plus rbx/rdi/rsi/rbp, RIP, RSP):
/// Rax 0x30, Rcx 0x38, Rdx 0x40, R8..R11 0x48..0x60, Rbx 0x140, Rdi 0x148, Rsi 0x150,
/// Rbp 0x158, Rip 0x168, SegCs 0x170, EFlags 0x178, Rsp 0x180, SegSs 0x188.
fn trap_frame_context(b: &[u8]) -> Option<super::Amd64Context> {
    use super::le::{u16_at, u32_at, u64_at};
    Some(super::Amd64Context {
        context_flags: 0,
        rax: u64_at(b, 0x30)?,
        rcx: u64_at(b, 0x38)?,
        rdx: u64_at(b, 0x40)?,
        r8: u64_at(b, 0x48)?,
        r9: u64_at(b, 0x50)?,
        r10: u64_at(b, 0x58)?,
        r11: u64_at(b, 0x60)?,
        rbx: u64_at(b, 0x140)?,
        rdi: u64_at(b, 0x148)?,
        rsi: u64_at(b, 0x150)?,
        rbp: u64_at(b, 0x158)?,
        rip: u64_at(b, 0x168)?,
        seg_cs: u16_at(b, 0x170)?,
        eflags: u32_at(b, 0x178)?,
        rsp: u64_at(b, 0x180)?,
        seg_ss: u16_at(b, 0x188)?,
        ..Default::default()
    })
}

fn args_at(dump: &CrashDump, sp: u64, width: u64) -> [Option<u64>; 4] {
    let mut a = [None; 4];
    for (i, slot) in a.iter_mut().enumerate() {
        let at = sp.wrapping_add(width * (i as u64 + 1));
        *slot = if width == 8 {
            dump.memory.read_u64(at).ok()
        } else {
            dump.memory.read_u32(at).ok().map(u64::from)
        };
    }
    a
}

fn blank_frame(index: usize, ip: u64, sp: u64, method: FrameMethod) -> Frame {
    Frame {
        index,
        child_sp: sp,
        return_address: 0,
        args: [None; 4],
        ip,
        module: None,
        module_short: None,
        offset: None,
        symbol: None,
        symbol_offset: None,
        call_site: String::new(),
        method,
        verified: method == FrameMethod::Unwind,
        trap_frame: false,
        trap_frame_address: None,
        name_source: NameSource::None,
    }
}

/// Size of an x64 KTRAP_FRAME.
const KTRAP_FRAME_SIZE: u64 = 0x190;

/// A KTRAP_FRAME recognised on a x64 kernel stack.
#[derive(Clone, Debug)]
struct TrapHit {
    address: u64,
    context: super::Amd64Context,
    /// The trap came from user mode (CS 0x33 or 0x23): a system service or a user-mode fault.
    user: bool,
}

/// Whether `va` is a user-mode address of a kernel dump (x64 and ARM64: below the canonical
/// kernel half; x86: below 2 GiB).
fn is_user_address(dump: &CrashDump, va: u64) -> bool {
    if dump.kind == DumpKind::UserMinidump {
        return false;
    }
    if dump.is_64bit() {
        va < 0x0000_8000_0000_0000
    } else {
        va < 0x8000_0000
    }
}

/// Read and check a KTRAP_FRAME at `at` (x64 layout: Rip 0x168, SegCs 0x170, EFlags 0x178,
/// Rsp 0x180, SegSs 0x188). A frame from user mode has CS 0x33/0x23, SS 0x2b, a user-mode RIP
/// and RSP and interrupts enabled; one from kernel mode has CS 0x10, SS 0x18 (or 0), RIP in a
/// loaded image's code and RSP just above the frame. EFlags bit 1 is always set and bits
/// 22..63 are always clear.
fn trap_frame_at(dump: &CrashDump, images: &mut Images<'_>, at: u64) -> Option<TrapHit> {
    // SegCs, SegSs are USHORTs and EFlags a ULONG, each followed by fill bytes.
    let cs = dump.memory.read_u64(at.checked_add(0x170)?).ok()? & 0xffff;
    if !matches!(cs, 0x10 | 0x33 | 0x23) {
        return None;
    }
    let b = dump.memory.read_vec(at, KTRAP_FRAME_SIZE as usize).ok()?;
    let c = trap_frame_context(&b)?;
    let eflags = super::le::u32_at(&b, 0x178)?;
    let ss = super::le::u16_at(&b, 0x188)?;
    if eflags & 2 == 0 || eflags >= 0x40_0000 || c.rip == 0 || c.rsp % 8 != 0 {
        return None;
    }
    let user = cs != 0x10;
    let ok = if user {
        ss == 0x2b
            && eflags & 0x200 != 0
            && is_user_address(dump, c.rip)
            && is_user_address(dump, c.rsp)
            && c.rsp != 0
    } else {
        (ss == 0x18 || ss == 0)
            && c.rsp > at
            && c.rsp - at < 0x1_0000
            && dump
                .module_at(c.rip)
                .cloned()
                .is_some_and(|m| images.is_code(&m, c.rip) != Some(false))
    };
    ok.then_some(TrapHit {
        address: at,
        context: c,
        user,
    })
}

/// The first trap frame `probe` recognises at a 16-byte aligned address in `[from, to)` where
/// a record of `size` bytes still fits (the kernel builds them 16-byte aligned on x64 and
/// ARM64); none unless the dump is of `machine` and has a bug check.
fn find_trap<T>(
    dump: &CrashDump,
    machine: u32,
    (from, to): (u64, u64),
    size: u64,
    mut probe: impl FnMut(u64) -> Option<T>,
) -> Option<T> {
    if dump.machine != machine || dump.bugcheck.is_none() {
        return None;
    }
    let mut at = from.checked_add(15)? & !15;
    while at.checked_add(size)? <= to {
        if let Some(hit) = probe(at) {
            return Some(hit);
        }
        at += 16;
    }
    None
}

/// Scan the stack from `sp` up to `limit` onto `frames`, the last frame returning to the first
/// one found.
fn scan_onto(
    dump: &CrashDump,
    images: &mut Images<'_>,
    frames: &mut Vec<Frame>,
    sp: u64,
    limit: u64,
    max: usize,
) {
    let more = scan_from(dump, images, sp, limit, frames.len(), max, 8);
    if let (Some(last), Some(next)) = (frames.last_mut(), more.first()) {
        last.return_address = next.ip;
    }
    frames.extend(more);
}

/// Mark the last frame as the owner of the trap frame at `address`, which returns to `ip`.
fn trap_owner(frames: &mut [Frame], address: u64, ip: u64) -> Option<&mut Frame> {
    let owner = frames.last_mut()?;
    owner.trap_frame = true;
    owner.trap_frame_address = Some(address);
    owner.return_address = ip;
    Some(owner)
}

/// Where a stack scan from `sp` ends: the captured stack window, else 16 KiB.
fn scan_end(dump: &CrashDump, sp: u64) -> u64 {
    let window = dump
        .thread
        .as_ref()
        .and_then(|t| Some((t.stack_start?, t.stack_start?.checked_add(t.stack_size?)?)));
    match window {
        Some((lo, hi)) if hi > sp && sp >= lo => hi.min(sp.saturating_add(0x10000)),
        _ => sp.saturating_add(0x4000),
    }
}

/// The frame of a user-mode address that ends a kernel stack: WinDbg prints it raw as the
/// last STACK_TEXT line.
fn user_frame(index: usize, ip: u64, sp: u64, method: FrameMethod) -> Frame {
    blank_frame(index, ip, sp, method)
}

/// Table-based unwinding while images allow it, a scan where they do not; through machine
/// frames and KTRAP_FRAMEs (`(TrapFrame @ ...)`), and ending at the first user-mode address.
/// A scan never crosses a trap frame: it stops at the first one it recognises, and the walk
/// goes on from the registers that frame saved.
fn walk_x64(
    dump: &CrashDump,
    images: &mut Images<'_>,
    mut regs: Regs,
    max: usize,
    warnings: &mut Vec<Warning>,
) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    let mut method = FrameMethod::Unwind;
    while frames.len() < max {
        let mut f = blank_frame(frames.len(), regs.rip, regs.rsp(), method);
        if is_user_address(dump, regs.rip) {
            // The kernel stack ends at the user-mode address it returns to.
            frames.push(user_frame(frames.len(), regs.rip, regs.rsp(), method));
            break;
        }
        f.args = args_at(dump, regs.rsp(), 8);
        let module = dump.module_at(regs.rip).cloned();
        let Some(module) = module else {
            frames.push(f);
            break;
        };
        let scan_from_sp = match images.get(&module) {
            None => Some(regs.rsp()),
            Some(image) => {
                let before = regs.clone();
                match unwind::step(image, module.base, &dump.memory, &mut regs) {
                    Ok(kind) => {
                        if kind == StepKind::MachineFrame {
                            f.trap_frame = true;
                            f.trap_frame_address = Some(before.rsp());
                        }
                        f.return_address = regs.rip;
                        frames.push(f);
                        if regs.rip == 0
                            || (regs.rsp() <= before.rsp() && !is_user_address(dump, regs.rip))
                        {
                            break;
                        }
                        // Table-unwound through a machine frame or not, the caller's
                        // registers come from unwind data.
                        method = FrameMethod::Unwind;
                        continue;
                    }
                    Err(e) => {
                        warnings.push(Warning::new(
                            &dump.path,
                            format!("unwind stopped at {:#x} ({}): {e}", before.rip, module.name),
                        ));
                        regs = before;
                        Some(regs.rsp().saturating_add(8))
                    }
                }
            }
        };
        let Some(sp) = scan_from_sp else { break };
        // No image (or no unwind data): scan, up to the first trap frame.
        frames.push(f);
        let end = scan_end(dump, sp);
        let trap = find_trap(dump, 0x8664, (sp, end), KTRAP_FRAME_SIZE, |at| {
            trap_frame_at(dump, images, at)
        });
        let limit = trap.as_ref().map_or(end, |t| t.address);
        scan_onto(dump, images, &mut frames, sp, limit, max);
        let Some(t) = trap else { break };
        if let Some(owner) = trap_owner(&mut frames, t.address, t.context.rip) {
            // A return address in the slot just below the KTRAP_FRAME is the call the trap
            // handler made: the frame is as certain as the trap frame.
            if owner.method == FrameMethod::Scan && owner.child_sp == t.address {
                owner.verified = true;
            }
        }
        regs = Regs::from(&t.context);
        method = FrameMethod::Trap;
        if !t.user && regs.rsp() <= t.address {
            break;
        }
    }
    frames
}

/// ARM64: unwinding with `.pdata`/`.xdata` (packed and full unwind data) while module images
/// allow it; where they do not, a scan (frame 0 also offers LR as its caller).
fn walk_arm64(
    dump: &CrashDump,
    images: &mut Images<'_>,
    c: &super::Arm64Context,
    max: usize,
    warnings: &mut Vec<Warning>,
) -> Vec<Frame> {
    use super::unwind_arm64::{self, Arm64Regs, Arm64Step};
    let mut regs = Arm64Regs::from(c);
    let mut frames: Vec<Frame> = Vec::new();
    let mut method = FrameMethod::Unwind;
    while frames.len() < max {
        let mut f = blank_frame(frames.len(), regs.pc, regs.sp, method);
        if is_user_address(dump, regs.pc) && !frames.is_empty() {
            frames.push(f);
            break;
        }
        f.args = args_at(dump, regs.sp, 8);
        let Some(module) = dump.module_at(regs.pc).cloned() else {
            frames.push(f);
            break;
        };
        if let Some(image) = images.get(&module).filter(|i| i.function_count() > 0) {
            let before = regs.clone();
            match unwind_arm64::step(image, module.base, &dump.memory, &mut regs) {
                Ok(kind) => {
                    if kind == Arm64Step::MachineFrame {
                        f.trap_frame = true;
                        f.trap_frame_address = Some(before.sp);
                    }
                    f.return_address = regs.pc;
                    frames.push(f);
                    let stuck = regs.sp < before.sp
                        || (regs.sp == before.sp && regs.pc == before.pc)
                        || (kind == Arm64Step::Leaf && frames.len() > 1);
                    if regs.pc == 0 || stuck {
                        break;
                    }
                    continue;
                }
                Err(e) => warnings.push(Warning::new(
                    &dump.path,
                    format!("unwind stopped at {:#x} ({}): {e}", before.pc, module.name),
                )),
            }
        }
        // No image or no unwind data: scan from here, up to the first KTRAP_FRAME; the walk
        // goes on from the registers that frame saved.
        let sp = regs.sp;
        let end = scan_end(dump, sp);
        let trap = find_trap(dump, 0xaa64, (sp, end), ARM64_KTRAP_FRAME_SIZE, |at| {
            arm64_trap_frame_at(dump, images, at)
        });
        let limit = trap.as_ref().map_or(end, |t| t.address);
        if frames.is_empty() {
            frames = scan_frames(dump, images, regs.pc, sp, Some(regs.x[30]), max, limit);
        } else {
            frames.push(f);
            scan_onto(dump, images, &mut frames, sp, limit, max);
        }
        let Some(t) = trap else { break };
        trap_owner(&mut frames, t.address, t.pc);
        // The trap frame holds the volatile registers, FP, LR, SP and PC; x19..x28 are the
        // callee's to preserve and stay as they are.
        for (i, v) in t.x.iter().enumerate() {
            regs.x[i] = *v;
        }
        regs.x[29] = t.fp;
        regs.x[30] = t.lr;
        regs.sp = t.sp;
        regs.pc = t.pc;
        method = FrameMethod::Trap;
        if !t.user && t.sp <= t.address {
            break;
        }
    }
    frames
}

/// Size of an ARM64 KTRAP_FRAME.
const ARM64_KTRAP_FRAME_SIZE: u64 = 0x150;

/// A KTRAP_FRAME recognised on an ARM64 kernel stack.
#[derive(Clone, Debug)]
struct Arm64TrapHit {
    address: u64,
    /// X0..X18.
    x: [u64; 19],
    fp: u64,
    lr: u64,
    sp: u64,
    pc: u64,
    /// The trap came from EL0 (a system service or a user-mode fault).
    user: bool,
}

/// Read and check an ARM64 KTRAP_FRAME at `at` (public layout, as in the .NET runtime's ARM64
/// unwinder: ExceptionActive 0x0 (0 interrupt, 1 exception, 2 service), PreviousMode or
/// PreviousIrql 0x3, Spsr 0x90, Esr 0x94, Sp 0x98, X0..X18 0xA0, Lr 0x138, Fp 0x140, Pc 0x148).
/// SPSR's mode is EL0t (0) from user mode, EL1t/EL1h (4/5) from kernel mode, its AArch32 bit and
/// reserved bits 5 and 14..19 are clear; PC is 4-byte and SP 16-byte aligned. From user mode PC
/// and SP are user addresses; from kernel mode PC lies in a loaded image's code and SP just above
/// the frame.
fn arm64_trap_frame_at(dump: &CrashDump, images: &mut Images<'_>, at: u64) -> Option<Arm64TrapHit> {
    use super::le::{u32_at, u64_at};
    let head = dump.memory.read_vec(at, 4).ok()?;
    if head[0] > 2 || head[1] > 1 || head[2] > 1 || head[3] > 15 {
        return None;
    }
    let b = dump
        .memory
        .read_vec(at, ARM64_KTRAP_FRAME_SIZE as usize)
        .ok()?;
    let spsr = u32_at(&b, 0x90)?;
    if spsr & (0x3f << 14 | 0x30) != 0 {
        return None;
    }
    let sp = u64_at(&b, 0x98)?;
    let lr = u64_at(&b, 0x138)?;
    let fp = u64_at(&b, 0x140)?;
    let pc = u64_at(&b, 0x148)?;
    if pc == 0 || pc % 4 != 0 || sp == 0 || sp % 16 != 0 {
        return None;
    }
    let user = match spsr & 0xf {
        0 => true,
        4 | 5 => false,
        _ => return None,
    };
    let ok = if user {
        is_user_address(dump, pc) && is_user_address(dump, sp)
    } else {
        sp > at
            && sp - at < 0x1_0000
            && dump
                .module_at(pc)
                .cloned()
                .is_some_and(|m| images.is_code(&m, pc) != Some(false))
    };
    if !ok {
        return None;
    }
    let mut x = [0u64; 19];
    for (i, v) in x.iter_mut().enumerate() {
        *v = u64_at(&b, 0xa0 + 8 * i)?;
    }
    Some(Arm64TrapHit {
        address: at,
        x,
        fp,
        lr,
        sp,
        pc,
        user,
    })
}

/// x86: frame 0 from the context, then the EBP chain (WinDbg's `kb` without FPO data): a
/// frame's return address is `[ebp+4]` and its caller's EBP is `[ebp]`. Frames carry their EBP
/// as Child-SP (WinDbg's ChildEBP) and the three dwords at EBP+8 as arguments. Frame 0 captured
/// at a function entry (`mov edi,edi` / `push ebp`) or after `push ebp` returns through
/// `[esp]` / `[esp+4]` first, since its EBP is still the caller's. A return address must lie
/// in a module and, where code bytes are readable, follow a call; EBP must grow. When the chain
/// breaks early the rest of the stack is scanned.
fn walk_x86(
    dump: &CrashDump,
    images: &mut Images<'_>,
    c: &super::X86Context,
    max: usize,
) -> Vec<Frame> {
    let eip = u64::from(c.eip);
    let esp = u64::from(c.esp);
    let mut frames = Vec::new();
    let mut f0 = blank_frame(0, eip, esp, FrameMethod::Unwind);
    f0.args = args_at(dump, esp, 4);
    frames.push(f0);
    let code = dump.memory.read_vec(eip, 2).ok().or_else(|| {
        let m = dump.module_at(eip)?.clone();
        images.get(&m)?.read(u32::try_from(eip - m.base).ok()?, 2)
    });
    let ret_slot = match code.as_deref() {
        Some([0x8b, 0xff]) | Some([0x55, _]) => Some(esp),
        Some([0x8b, 0xec]) => esp.checked_add(4),
        _ => None,
    };
    let mut fp = u64::from(c.ebp);
    let mut floor = esp;
    let mut clean_end = false;
    // Frame 0 before its `mov ebp,esp`: its return address is on top of the stack.
    if let Some(slot) = ret_slot {
        match dump.memory.read_u32(slot).map(u64::from) {
            Ok(ret) if valid_return(dump, images, ret) => {
                frames[0].return_address = ret;
                let mut f = blank_frame(1, ret, fp, FrameMethod::FramePointer);
                f.verified = call_verdict(dump, images, ret) == Some(true);
                f.args = args_at(dump, fp.saturating_add(4), 4);
                frames.push(f);
                floor = slot.saturating_add(4);
            }
            _ => {}
        }
    }
    while frames.len() < max {
        if fp < floor || fp % 4 != 0 || fp > 0xffff_fff0 {
            break;
        }
        let (Ok(next_fp), Ok(ret)) = (
            dump.memory.read_u32(fp).map(u64::from),
            dump.memory.read_u32(fp + 4).map(u64::from),
        ) else {
            break;
        };
        if ret == 0 {
            clean_end = true;
            break;
        }
        if !valid_return(dump, images, ret) {
            break;
        }
        if let Some(last) = frames.last_mut() {
            last.return_address = ret;
        }
        let mut f = blank_frame(frames.len(), ret, next_fp, FrameMethod::FramePointer);
        f.verified = call_verdict(dump, images, ret) == Some(true);
        f.args = args_at(dump, next_fp.saturating_add(4), 4);
        frames.push(f);
        floor = fp + 8;
        if next_fp == 0 {
            clean_end = true;
            break;
        }
        if next_fp <= fp {
            break;
        }
        fp = next_fp;
    }
    if !clean_end && frames.len() < max {
        // FPO code or a broken chain: scan on from where the chain stopped.
        let from = floor.max(esp);
        let more = scan_from(
            dump,
            images,
            from,
            scan_end(dump, from),
            frames.len(),
            max,
            4,
        );
        let seen: Vec<u64> = frames.iter().map(|f| f.ip).collect();
        let more: Vec<Frame> = more
            .into_iter()
            .skip_while(|f| seen.contains(&f.ip))
            .collect();
        if let (Some(last), Some(next)) = (frames.last_mut(), more.first())
            && last.return_address == 0
        {
            last.return_address = next.ip;
        }
        for mut f in more {
            f.index = frames.len();
            frames.push(f);
        }
    }
    frames
}

/// A plausible x86 return address: inside a module, past its headers, and not after something
/// that is known not to be a call.
fn valid_return(dump: &CrashDump, images: &mut Images<'_>, ret: u64) -> bool {
    dump.module_at(ret)
        .cloned()
        .is_some_and(|m| ret - m.base >= 0x1000 && call_verdict(dump, images, ret) != Some(false))
}

/// A scan-only ARM64 stack up to `end`: frame 0 from the context, its link register when that
/// lies in a module, then return addresses.
fn scan_frames(
    dump: &CrashDump,
    images: &mut Images<'_>,
    ip: u64,
    sp: u64,
    link: Option<u64>,
    max: usize,
    end: u64,
) -> Vec<Frame> {
    let width = 8;
    let mut f0 = blank_frame(0, ip, sp, FrameMethod::Unwind);
    f0.args = args_at(dump, sp, width);
    let mut frames = vec![f0];
    // ARM64: the link register is the first caller when it lies in a module.
    if let Some(lr) = link.filter(|&lr| dump.module_at(lr).is_some() && lr != ip) {
        let mut f = blank_frame(1, lr, sp, FrameMethod::Scan);
        f.verified =
            code_before(dump, images, lr, 4).is_some_and(|b| unwind::follows_call_arm64(&b));
        frames.push(f);
    }
    let more = scan_from(dump, images, sp, end, frames.len(), max, width);
    frames.extend(more);
    for i in 1..frames.len() {
        let ip = frames[i].ip;
        frames[i - 1].return_address = ip;
    }
    frames
}

/// Bytes `[va-n, va)` from the module image (memory, then file).
fn code_before(dump: &CrashDump, images: &mut Images<'_>, va: u64, n: usize) -> Option<Vec<u8>> {
    let start = va.checked_sub(n as u64)?;
    if let Ok(b) = dump.memory.read_vec(start, n) {
        return Some(b);
    }
    let m = dump.module_at(va)?.clone();
    let img = images.get(&m)?;
    let rva = u32::try_from(start.checked_sub(m.base)?).ok()?;
    img.read(rva, n)
}

/// Whether the code before the return address `ret` ends with a call: `None` when no code bytes
/// are at hand.
fn call_verdict(dump: &CrashDump, images: &mut Images<'_>, ret: u64) -> Option<bool> {
    let check = if dump.machine == 0xaa64 { 4 } else { 7 };
    code_before(dump, images, ret, check).map(|b| match dump.machine {
        0xaa64 => unwind::follows_call_arm64(&b),
        0x14c => unwind::follows_call_x86(&b, ret),
        _ => unwind::follows_call_x64(&b, ret),
    })
}

/// Scan the stack from `sp` for return addresses into module code. A candidate is kept when
/// the bytes before it decode as a call; when no bytes are available it is kept unverified
/// (WinDbg-like "(scan)"), except for module bases and addresses at offset < 0x1000 (headers).
fn scan_from(
    dump: &CrashDump,
    images: &mut Images<'_>,
    sp: u64,
    end: u64,
    first_index: usize,
    max: usize,
    width: u64,
) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    let mut at = sp;
    while at.saturating_add(width) <= end
        && at < u64::MAX - width
        && first_index + frames.len() < max
    {
        let value = if width == 8 {
            dump.memory.read_u64(at).ok()
        } else {
            dump.memory.read_u32(at).ok().map(u64::from)
        };
        let Some(v) = value else {
            if frames.is_empty() && at > sp.saturating_add(0x100) {
                break;
            }
            at += width;
            continue;
        };
        // The thread's initial frame holds its stack base and limit (KiStartSystemThread's
        // frame, the last line of WinDbg's STACK_TEXT for a system thread): nothing above it
        // was ever called.
        if width == 8 && is_stack_bounds(dump, at, v) {
            break;
        }
        let arm64 = dump.machine == 0xaa64;
        if let Some(m) = dump.module_at(v).cloned()
            && v - m.base >= 0x1000
            && (!arm64 || v % 4 == 0)
            && v & 0xfff != 0
            && images.is_code(&m, v) != Some(false)
        {
            {
                let verdict = call_verdict(dump, images, v);
                // Without code bytes to check, two kinds of values are not taken for return
                // addresses: one already listed from a lower slot (a pointer kept in several
                // locals), and one on a 16-byte boundary on x64, where functions start (a
                // callback or thread start routine, e.g. PspSystemThreadStartup next to its
                // own frame), which a return address after a call rarely is.
                let pointer_like = verdict.is_none()
                    && (frames.iter().any(|f| f.ip == v)
                        || (width == 8 && !arm64 && dump.machine == 0x8664 && v % 16 == 0));
                if verdict != Some(false) && !pointer_like {
                    let mut f =
                        blank_frame(first_index + frames.len(), v, at + width, FrameMethod::Scan);
                    f.verified = verdict == Some(true);
                    f.args = args_at(dump, at + width, width);
                    frames.push(f);
                }
            }
        }
        at += width;
    }
    for i in 1..frames.len() {
        let ip = frames[i].ip;
        frames[i - 1].return_address = ip;
    }
    frames
}

/// Whether the slot at `at` (holding `base`) starts the stack-bounds pair of a thread's initial
/// frame: the stack base then the stack limit, page aligned, with `at` between them.
fn is_stack_bounds(dump: &CrashDump, at: u64, base: u64) -> bool {
    if base & 0xfff != 0 || at >= base || !is_kernel_stack_address(dump, base) {
        return false;
    }
    let Ok(limit) = dump.memory.read_u64(at.saturating_add(8)) else {
        return false;
    };
    limit < base
        && limit & 0xfff == 0
        && at >= limit
        && base - limit <= 0x10_0000
        && base - at <= 0x10_0000
}

/// A kernel-mode address (upper half on 64-bit).
fn is_kernel_stack_address(dump: &CrashDump, va: u64) -> bool {
    if dump.is_64bit() {
        va >= 0xffff_8000_0000_0000
    } else {
        va >= 0x8000_0000
    }
}

fn name_frame(
    dump: &CrashDump,
    images: &mut Images<'_>,
    symbols: Option<&dyn FrameSymbols>,
    f: &mut Frame,
    exact: bool,
) {
    let Some(m) = dump.module_at(f.ip).cloned() else {
        f.call_site = if dump.is_64bit() {
            windbg_address(f.ip)
        } else {
            format!("{:#x}", f.ip)
        };
        return;
    };
    let offset = f.ip - m.base;
    f.module = Some(m.name.clone());
    f.module_short = Some(m.short_name());
    f.offset = Some(offset);
    // For return addresses look up the call instruction (ip-1) so that a call at the very end
    // of a function names that function.
    // (Frame 0 and the frame a trap interrupted hold an exact IP.)
    let probe = if exact {
        offset
    } else {
        offset.saturating_sub(1)
    };
    let rva = u32::try_from(probe).unwrap_or(u32::MAX);
    let named = symbols
        .and_then(|s| s.symbolize_sourced(&m, rva))
        .or_else(|| {
            images
                .get(&m)
                .and_then(|img| img.export_symbol(rva))
                .map(|(n, o)| (n, o, NameSource::Exports))
        });
    if let Some((name, off, source)) = named {
        f.name_source = source;
        let off = u64::from(off) + (offset - probe);
        // WinDbg prints a function start without `+0x0`.
        f.call_site = if off == 0 {
            format!("{}!{}", m.short_name(), name)
        } else {
            format!("{}!{}+{:#x}", m.short_name(), name, off)
        };
        f.symbol = Some(name);
        f.symbol_offset = Some(off);
    } else {
        f.call_site = format!("{}+{:#x}", m.short_name(), offset);
    }
}

/// A 64-bit address as WinDbg prints an unnamed one: `0x00007ffe`7350d0c4`.
pub fn windbg_address(va: u64) -> String {
    format!("0x{:08x}`{:08x}", va >> 32, va & 0xffff_ffff)
}

/// What the followup rules make of a frame (`None`: no module).
fn followup_of(f: &Frame) -> Option<Followup> {
    let m = f.module_short.as_deref()?;
    Some(followup::classify(m, f.symbol.as_deref()))
}

/// The first frame from `from` on that may be the culprit by WinDbg's followup rules: trusted
/// (never an unverified scan), not plumbing, outside the core modules; else the first trusted
/// core-module frame that is not plumbing.
fn stack_culprit(stack: &[Frame], from: usize) -> Option<usize> {
    let usable = |f: &Frame| f.trusted() && f.module.is_some();
    let rest = || stack.iter().enumerate().skip(from);
    rest()
        .find(|(_, f)| usable(f) && followup_of(f) == Some(Followup::Candidate))
        .or_else(|| rest().find(|(_, f)| usable(f) && followup_of(f) == Some(Followup::LastResort)))
        .map(|(i, _)| i)
}

fn read_ptr(dump: &CrashDump, va: u64, what: &str) -> Result<u64, String> {
    dump.memory
        .read_u64(va)
        .map_err(|e| format!("{what} at {va:#x}: {e}"))
}

/// The driver of a DEVICE_OBJECT (x64): DriverObject (+0x8) -> DRIVER_OBJECT.DriverStart
/// (+0x18), the image it was loaded from, and DriverName (+0x38, `\Driver\RtsPer`).
fn device_driver(dump: &CrashDump, dev: u64) -> Result<(Module, Option<String>), String> {
    let drv = read_ptr(dump, dev.wrapping_add(0x8), "DEVICE_OBJECT.DriverObject")?;
    let start = read_ptr(dump, drv.wrapping_add(0x18), "DRIVER_OBJECT.DriverStart")?;
    let name = dump
        .memory
        .read_unicode_string64(drv.wrapping_add(0x38))
        .ok()
        .and_then(|s| s.rsplit('\\').next().map(str::to_string))
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()));
    let m = dump
        .module_at(start)
        .cloned()
        .ok_or_else(|| format!("DriverStart {start:#x} is in no loaded module"))?;
    Ok((m, name))
}

/// The driver holding the IRP at `irp` (x64): Tail.Overlay.CurrentStackLocation (+0xb8) ->
/// IO_STACK_LOCATION.DeviceObject (+0x28) -> its driver.
fn irp_owner(dump: &CrashDump, irp: u64) -> Result<(Module, Option<String>), String> {
    let sl = read_ptr(dump, irp.wrapping_add(0xb8), "IRP.CurrentStackLocation")?;
    let dev = read_ptr(
        dump,
        sl.wrapping_add(0x28),
        "IO_STACK_LOCATION.DeviceObject",
    )?;
    device_driver(dump, dev)
}

fn choose_culprit(
    dump: &CrashDump,
    images: &mut Images<'_>,
    symbols: Option<&dyn FrameSymbols>,
    out: &mut Analysis,
) {
    let code = dump.bugcheck.as_ref().map_or(0, |b| b.code);
    let params = dump.bugcheck.as_ref().map_or([0; 4], |b| b.parameters);
    // FAULTING_IP: the exception or trap address the bug check names, else the first frame's.
    let fip = if IP_IN_P2.contains(&code) {
        Some(params[1])
    } else if IP_IN_P4.contains(&code) {
        Some(params[3])
    } else if code == 0x50 && dump.module_at(params[2]).is_some() {
        // Windows 8 and later: P3 is the address of the faulting instruction.
        Some(params[2])
    } else if dump.bugcheck.is_none() {
        // User-mode dumps: the exception stream's address.
        dump.exception.as_ref().map(|e| e.address)
    } else {
        out.exception_record.as_ref().map(|e| e.address)
    }
    .filter(|&ip| ip != 0);
    if let Some(ip) = fip
        .or(out.stack.first().map(|f| f.ip))
        .filter(|&ip| ip != 0)
    {
        out.faulting_ip = Some(ip);
        if let Ok(bytes) = dump.memory.read_vec(ip, 16).or_else(|_| {
            let b = dump.memory.read_prefix(ip, 16);
            if b.is_empty() { Err(()) } else { Ok(b) }
        }) {
            out.faulting_ip_disasm = disassemble_one(dump.machine, ip, &bytes);
        }
    }
    // 0x5A and similar name a driver image in a parameter (a UNICODE_STRING pointer).
    if code == 0x5a
        && let Ok(s) = dump.memory.read_unicode_string(params[2], dump.is_64bit())
    {
        out.parameter_driver =
            crate::driver::DriverKey::from_path(&s).map(|k| k.name().to_string());
    }
    let mut chosen: Option<usize> = None;
    let mut module: Option<Module> = None;
    // Raised-IRQL faults (0x4A): the system service that returned to user mode at raised
    // IRQL, i.e. the frame whose trap frame holds the user-mode return.
    if followup::is_raised_irql(code) {
        chosen = out.stack.windows(2).position(|w| {
            w[0].trap_frame_address.is_some()
                && w[0].trusted()
                && w[0].module.is_some()
                && w[1].module.is_none()
                && is_user_address(dump, w[1].ip)
        });
    }
    // 0x9F P1 = 3: IMAGE_NAME is the driver of the stack's PDO (P2); the bucket also names
    // the driver holding the blocked IRP (P4).
    if chosen.is_none() && code == 0x9f && params[0] == 3 && dump.is_64bit() {
        match (irp_owner(dump, params[3]), device_driver(dump, params[1])) {
            (Ok((owner, name)), Ok((pdo, _))) => {
                let holder = name.unwrap_or_else(|| owner.short_name());
                out.power_irp_holder = Some(holder);
                module = Some(pdo);
            }
            (Err(e), _) | (_, Err(e)) => out.warnings.push(Warning::new(
                &dump.path,
                format!("0x9F P2/P4 (PDO, blocked IRP) not read: {e}"),
            )),
        }
    }
    // The exception or trap address: its frame, then outward past plumbing and core modules.
    let ip_module = fip.and_then(|ip| dump.module_at(ip)).cloned();
    if chosen.is_none() && module.is_none() {
        let from = fip
            .and_then(|ip| out.stack.iter().position(|f| f.ip == ip))
            .unwrap_or(0);
        if fip.is_some() && from < out.stack.len() && out.stack[from].ip == fip.unwrap_or(0) {
            // The bug check itself vouches for this frame's address.
            out.stack[from].verified = true;
        }
        let driver_at_ip = ip_module
            .as_ref()
            .filter(|m| followup::classify(&m.short_name(), None) == Followup::Candidate);
        chosen = if let Some(m) = driver_at_ip {
            match out.stack.get(from) {
                Some(f) if f.ip == fip.unwrap_or(0) => Some(from),
                _ => {
                    module = Some(m.clone());
                    None
                }
            }
        } else {
            // Frame 0 of the dump header's context is where the bug check was raised
            // (KeBugCheckEx): plumbing even when no symbol names it.
            let header_frame0 = dump.bugcheck.is_some()
                && out.context_source.as_deref() == Some("dump header")
                && out
                    .stack
                    .first()
                    .and_then(|f| f.module.as_deref())
                    .is_some_and(|m| super::is_kernel_image(&m.to_ascii_lowercase()));
            let first = usize::from(header_frame0);
            stack_culprit(&out.stack, from.max(first))
                .or_else(|| stack_culprit(&out.stack, first))
                .or_else(|| stack_culprit(&out.stack, 0))
        };
    }
    // Nothing trusted: `nt`, never a guess.
    if chosen.is_none() && module.is_none() {
        module = dump
            .modules
            .iter()
            .find(|m| super::is_kernel_image(&m.name.to_ascii_lowercase()))
            .cloned();
    }
    out.faulting_frame = chosen;
    if let Some(f) = chosen.and_then(|i| out.stack.get(i)) {
        module = dump.module_at(f.ip).cloned();
        out.symbol_name = Some(
            match (&f.symbol, f.symbol_offset, &f.module_short, f.offset) {
                (Some(s), Some(o), Some(m), _) => format!("{m}!{s}+{o:x}"),
                (_, _, Some(m), Some(o)) => format!("{m}+{o:x}"),
                _ => format!("{:x}", f.ip),
            },
        );
    } else if let Some(m) = &module
        && let Some(ip) = fip.filter(|&ip| m.contains(ip))
    {
        // Named like a frame at that address would be (its exact instruction).
        let mut f = blank_frame(0, ip, 0, FrameMethod::Trap);
        name_frame(dump, images, symbols, &mut f, true);
        out.symbol_name = Some(match (&f.symbol, f.symbol_offset) {
            (Some(s), Some(o)) => format!("{}!{s}+{o:x}", m.short_name()),
            _ => format!("{}+{:x}", m.short_name(), ip - m.base),
        });
        out.culprit_function = f.symbol;
    }
    if let Some(m) = module {
        out.module_name = Some(m.short_name());
        let lower = m.name.to_ascii_lowercase();
        out.image_name = Some(if super::is_kernel_image(&lower) {
            kernel_image_name(dump).to_string()
        } else {
            m.name.clone()
        });
        out.image_version = images.get(&m).and_then(|img| img.version());
        out.faulting_module = Some(m.name.clone());
    }
    // 0x124 WHEA_UNCORRECTABLE_ERROR: WinDbg names the processor's vendor (the CPUID string
    // kept in the saved KPRCB) as MODULE_NAME and `<vendor>.sys` as IMAGE_NAME, with no
    // SYMBOL_NAME: `MODULE_NAME: GenuineIntel`, `IMAGE_NAME:  GenuineIntel.sys`.
    if code == 0x124
        && let Some(vendor) = dump.triage.as_ref().and_then(|t| t.cpu_vendor.clone())
    {
        out.symbol_name = None;
        out.culprit_function = None;
        out.faulting_frame = None;
        out.image_version = None;
        out.image_name = Some(format!("{vendor}.sys"));
        out.faulting_module = out.image_name.clone();
        out.module_name = Some(vendor);
        return;
    }
    // Only core modules on the stack and a driver named by a parameter (0x5A's image path):
    // that driver is the one to look at, loaded or not.
    if out
        .module_name
        .as_deref()
        .is_none_or(|m| followup::classify(m, None) == Followup::LastResort)
        && ip_module.is_none()
        && let Some(d) = &out.parameter_driver
    {
        out.faulting_module = Some(d.clone());
    }
}

/// IMAGE_NAME of the kernel as WinDbg prints it: the name of the kernel's PDB. Windows 8 and later
/// ship only the multiprocessor kernel (`ntkrnlmp.exe`, `ntkrpamp.exe` on 32-bit x86, which is PAE
/// only); before, a uniprocessor system ran `ntoskrnl.exe` (`ntkrnlpa.exe` on x86).
fn kernel_image_name(dump: &CrashDump) -> &'static str {
    let mp = dump.processors > 1 || dump.build >= 9200;
    match (dump.machine == 0x14c, mp) {
        (true, true) => "ntkrpamp.exe",
        (true, false) => "ntkrnlpa.exe",
        (false, true) => "ntkrnlmp.exe",
        (false, false) => "ntoskrnl.exe",
    }
}

/// `<prefix>_<module>!<function>`: the prefix from `assets/bugcheck_buckets.tsv` (`AV`,
/// `0x1a_41792`, `RAISED_IRQL_FAULT_<process>`...), the function `unknown_function` without
/// symbols (WinDbg's spelling).
fn failure_bucket(dump: &CrashDump, a: &Analysis) -> Option<String> {
    let module = a.module_name.as_ref()?;
    let frame = a.faulting_frame.and_then(|i| a.stack.get(i));
    let function = frame
        .and_then(|f| f.symbol.clone())
        .or_else(|| a.culprit_function.clone())
        .unwrap_or_else(|| "unknown_function".to_string());
    let Some(bc) = &dump.bugcheck else {
        let class = match dump.exception.as_ref().map(|e| e.code) {
            Some(0xc000_0005) => "AV".to_string(),
            Some(c) => format!("{c:08x}"),
            None => "APPLICATION_FAULT".to_string(),
        };
        return Some(format!("{class}_{module}!{function}"));
    };
    if bc.code == 0x124 {
        return whea_bucket(dump, a);
    }
    if let (0x9f, Some(holder), None) = (bc.code, &a.power_irp_holder, frame) {
        return Some(format!(
            "0x9F_{:x}_{holder}_IMAGE_{}",
            bc.parameters[0],
            a.image_name.as_deref().unwrap_or(module)
        ));
    }
    let exception_code = a.exception_record.as_ref().map(|e| e.code).or_else(|| {
        IP_IN_P2
            .contains(&bc.code)
            .then_some((bc.parameters[0] & 0xffff_ffff) as u32)
    });
    let mut params = bc.parameters;
    // Before Windows 8, 0x50's P2 was 0 (read) or 1 (write); since then it is the page-fault
    // error code, whose bit 1 marks a write.
    if bc.code == 0x50 && dump.build != 0 && dump.build < 9200 && params[1] == 1 {
        params[1] = 2;
    }
    let mut prefix = followup::bucket_prefix(
        bc.code,
        params,
        exception_code,
        dump.process_name.as_deref(),
    );
    // 0xA/0xD1 raised by executing the address itself (P3 bit 3, P1 = P4) inside a loaded
    // image: the code page was paged out at raised IRQL, `AV_CODE_AV_PAGED_IP_<module>!...`.
    if prefix == "AV"
        && matches!(bc.code, 0xa | 0xd1)
        && params[2] & 8 != 0
        && params[0] == params[3]
        && dump.module_at(params[3]).is_some()
    {
        prefix = "AV_CODE_AV_PAGED_IP".to_string();
    }
    Some(format!("{prefix}_{module}!{function}"))
}

/// CPER section type of the processor-generic error section,
/// {9876ccad-47b4-4bdb-b65e-16f193c4f3db}, as stored (little-endian first three fields).
const CPER_PROCESSOR_GENERIC: [u8; 16] = [
    0xad, 0xcc, 0x76, 0x98, 0xb4, 0x47, 0xdb, 0x4b, 0xb6, 0x5e, 0x16, 0xf1, 0x93, 0xc4, 0xf3, 0xdb,
];

/// 0x124's bucket, `0x124_<P1 in decimal>_<vendor>_<error>_IMAGE_<vendor>.sys`, from the
/// WHEA_ERROR_RECORD at P2 (a CPER record: `CPER` signature, SectionCount at 0xA, 0x48-byte
/// section descriptors from 0x80 with the section's offset at +0, flags at +0xC (bit 0 primary)
/// and type GUID at +0x10). Public outputs show two forms, and only those are built: a
/// processor-generic section with a cache error (ErrorType 1 at +0xA of the section) gives
/// `PROCESSOR_CACHE` (`0x124_0_GenuineIntel_PROCESSOR_CACHE_IMAGE_GenuineIntel.sys`); a section
/// of the null type gives `_UNKNOWN` (`0x124_16_GenuineIntel__UNKNOWN_IMAGE_GenuineIntel.sys`).
/// Other errors, an unreadable record or no vendor: no bucket rather than a guess.
fn whea_bucket(dump: &CrashDump, a: &Analysis) -> Option<String> {
    use super::le::{u16_at, u32_at};
    let bc = dump.bugcheck.as_ref()?;
    let vendor = a.module_name.as_deref()?;
    if a.image_name.as_deref() != Some(&format!("{vendor}.sys")) {
        return None;
    }
    let record = bc.parameters[1];
    let head = dump.memory.read_vec(record, 0x80).ok()?;
    if head.get(..4)? != b"CPER" {
        return None;
    }
    let count = usize::from(u16_at(&head, 0xa)?).min(64);
    let descriptors = dump
        .memory
        .read_vec(record.checked_add(0x80)?, count * 0x48)
        .ok()?;
    let section = (0..count)
        .map(|i| &descriptors[i * 0x48..(i + 1) * 0x48])
        .find(|d| u32_at(d, 0xc).is_some_and(|f| f & 1 != 0))
        .or_else(|| descriptors.get(..0x48))?;
    let kind = section.get(0x10..0x20)?;
    let error = if kind == CPER_PROCESSOR_GENERIC {
        let at = record.checked_add(u64::from(u32_at(section, 0)?))?;
        let body = dump.memory.read_vec(at, 0x10).ok()?;
        // ValidBits bit 2: ErrorType is valid.
        (body[0] & 4 != 0 && body[0xa] == 1).then_some("PROCESSOR_CACHE")?
    } else if kind.iter().all(|&x| x == 0) {
        "_UNKNOWN"
    } else {
        return None;
    };
    Some(format!(
        "0x124_{}_{vendor}_{error}_IMAGE_{vendor}.sys",
        bc.parameters[0]
    ))
}

/// One instruction at `ip`, Intel syntax.
pub fn disassemble_one(machine: u32, ip: u64, bytes: &[u8]) -> Option<String> {
    disassemble(machine, ip, bytes, 1)
        .into_iter()
        .next()
        .map(|l| l.1)
}

/// Like [`disassemble`], with the targets of direct calls and jumps named by `name`, as WinDbg
/// shows them (`call nt!KeBugCheckEx`), and an indirect call or jump through a RIP-relative or
/// absolute pointer (`call qword ptr [...]`, an import) followed by `; name` of the pointer's
/// target, which `read_pointer` reads from the dump. Unnamed targets stay as addresses.
pub fn disassemble_named(
    machine: u32,
    ip: u64,
    bytes: &[u8],
    count: usize,
    name: &dyn Fn(u64) -> Option<String>,
    read_pointer: &dyn Fn(u64) -> Option<u64>,
) -> Vec<(u64, String)> {
    use iced_x86::{
        Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, Mnemonic, OpKind,
        SymbolResolver, SymbolResult,
    };
    use std::collections::HashMap;
    struct Names(HashMap<u64, String>);
    impl SymbolResolver for Names {
        fn symbol(
            &mut self,
            ins: &Instruction,
            _operand: u32,
            instruction_operand: Option<u32>,
            address: u64,
            _size: u32,
        ) -> Option<SymbolResult<'_>> {
            let branch = instruction_operand.is_some_and(|k| {
                matches!(
                    ins.op_kind(k),
                    OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
                )
            });
            if !branch {
                return None;
            }
            self.0
                .get(&address)
                .map(|n| SymbolResult::with_string(address, n.clone()))
        }
    }
    let bitness = match machine {
        0x8664 => 64,
        0x14c => 32,
        _ => return Vec::new(),
    };
    let decode_all = || {
        let mut dec = Decoder::with_ip(bitness, bytes, ip, DecoderOptions::NONE);
        let mut v = Vec::new();
        while dec.can_decode() && v.len() < count {
            let ins = dec.decode();
            if ins.is_invalid() {
                break;
            }
            v.push(ins);
        }
        v
    };
    let instructions = decode_all();
    let mut names = HashMap::new();
    let mut notes: HashMap<u64, String> = HashMap::new();
    for ins in &instructions {
        if matches!(
            ins.op0_kind(),
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
        ) {
            let target = ins.near_branch_target();
            if let Some(n) = name(target) {
                names.insert(target, n);
            }
        } else if matches!(ins.mnemonic(), Mnemonic::Call | Mnemonic::Jmp)
            && ins.op0_kind() == OpKind::Memory
            && ins.memory_index() == iced_x86::Register::None
            && (ins.is_ip_rel_memory_operand() || ins.memory_base() == iced_x86::Register::None)
        {
            let slot = if ins.is_ip_rel_memory_operand() {
                ins.ip_rel_memory_address()
            } else {
                ins.memory_displacement64()
            };
            if let Some(n) = read_pointer(slot).and_then(name) {
                notes.insert(ins.ip(), n);
            }
        }
    }
    let mut fmt = IntelFormatter::with_options(Some(Box::new(Names(names))), None);
    let mut out = Vec::new();
    for ins in &instructions {
        let mut text = String::new();
        fmt.format(ins, &mut text);
        if let Some(n) = notes.get(&ins.ip()) {
            text.push_str(" ; ");
            text.push_str(n);
        }
        out.push((ins.ip(), listing_line(bytes, ip, ins, &text)));
    }
    out
}

/// A disassembly line: the instruction's bytes (read from `bytes`, which start at `ip`) in hex,
/// then its text.
fn listing_line(bytes: &[u8], ip: u64, ins: &iced_x86::Instruction, text: &str) -> String {
    let start = (ins.ip() - ip) as usize;
    let hex: String = bytes
        .get(start..start + ins.len())
        .unwrap_or(&[])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex:<16} {text}")
}

/// Up to `count` instructions from `bytes` at `ip`: (address, `hex bytes  text`). x86/x64 only.
pub fn disassemble(machine: u32, ip: u64, bytes: &[u8], count: usize) -> Vec<(u64, String)> {
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
    let bitness = match machine {
        0x8664 => 64,
        0x14c => 32,
        _ => return Vec::new(),
    };
    let mut dec = Decoder::with_ip(bitness, bytes, ip, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    let mut out = Vec::new();
    while dec.can_decode() && out.len() < count {
        let ins = dec.decode();
        if ins.is_invalid() {
            break;
        }
        let mut text = String::new();
        fmt.format(&ins, &mut text);
        out.push((ins.ip(), listing_line(bytes, ip, &ins, &text)));
    }
    out
}

#[cfg(test)]
mod culprit_basis_tests {
    use super::*;

    #[test]
    fn the_culprit_line_says_what_the_frame_rests_on() {
        let mut a = Analysis {
            stack: vec![
                blank_frame(0, 0x1000, 0x10, FrameMethod::Unwind),
                blank_frame(1, 0x2000, 0x20, FrameMethod::Unwind),
            ],
            faulting_frame: Some(1),
            ..Analysis::default()
        };
        assert_eq!(a.culprit_basis(), None, "unwound frames");
        // A scan frame whose call was checked, under a stray (unverified) scan hit.
        a.stack[0].method = FrameMethod::Scan;
        a.stack[0].verified = false;
        a.stack[1].method = FrameMethod::Scan;
        a.stack[1].verified = true;
        assert_eq!(
            a.culprit_basis().as_deref(),
            Some("a scan-verified frame, 1 unverified frame(s) above it")
        );
        a.faulting_frame = None;
        assert_eq!(a.culprit_basis(), None);
    }
}
