//! The `!analyze`-like summary of a dump: STACK_TEXT (unwound with .pdata where module images
//! are available, else a call-site-checked stack scan), SYMBOL_NAME, MODULE_NAME, IMAGE_NAME,
//! IMAGE_VERSION, FAULTING_IP and the faulting module (reference §2.10, §2.11).

use super::image::{Image, ImageLocator, ImageSource};
use super::unwind::{self, Regs, StepKind};
use super::{Context, CrashDump, DumpKind, Module};
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
}

impl FrameMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            FrameMethod::Unwind => "unwind",
            FrameMethod::Scan => "scan",
            FrameMethod::FramePointer => "frame_pointer",
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
}

/// A symbol source beyond the images' exports (PDBs from a symbol store): module + RVA ->
/// (name, offset), and the image file of a module.
pub trait FrameSymbols {
    fn symbolize(&self, module: &Module, rva: u32) -> Option<(String, u32)>;
    fn find_image(&self, _module: &Module) -> Option<PathBuf> {
        None
    }
}

/// The symbol store and PDB reader of `crate::symbols`.
impl FrameSymbols for crate::symbols::Symbolizer {
    fn symbolize(&self, module: &Module, rva: u32) -> Option<(String, u32)> {
        let m = crate::symbols::ModuleRef::new(&module.name, module.timestamp, module.size);
        let s = crate::symbols::Symbolizer::symbolize(self, &m, rva)?;
        Some((s.name, u32::try_from(s.offset).ok()?))
    }
    fn find_image(&self, module: &Module) -> Option<PathBuf> {
        crate::symbols::Symbolizer::find_image(self, &module.name, module.timestamp, module.size)
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
    /// Module images used for unwinding: module name -> where from.
    pub images: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

/// Bug-check plumbing and exception dispatch: never the culprit (§2.11).
const PLUMBING: &[&str] = &[
    "KeBugCheck",
    "KeBugCheckEx",
    "KeBugCheck2",
    "KiBugCheckDispatch",
    "KiBugCheckDebugBreak",
    "KiPageFault",
    "KiGeneralProtectionFault",
    "KiExceptionDispatch",
    "KiDispatchException",
    "RtlDispatchException",
    "RtlRaiseStatus",
    "RtlRaiseException",
    "KiSystemServiceHandler",
    "KiRaiseSecurityCheckFailure",
    "KiFastFailDispatch",
    "KiDoubleFaultAbort",
    "KiInterruptDispatch",
    "PspSystemThreadStartup$filt$0",
    "PspUnhandledExceptionInSystemThread",
];

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
            Context::Arm64(c) => scan_frames(dump, &mut images, c.pc, c.sp, Some(c.lr), max, 8),
            Context::X86(c) => walk_x86(dump, &mut images, c, max),
        };
    } else {
        out.warnings.push("no context record: no stack".to_string());
    }
    let mut after_trap = false;
    for f in &mut out.stack {
        let exact = f.index == 0 || after_trap;
        after_trap = f.trap_frame;
        name_frame(dump, &mut images, opts.symbols, f, exact);
    }
    choose_culprit(dump, &mut images, &mut out);
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
                Err(e) => out.warnings.push(format!(
                    "EXCEPTION_RECORD at {at:#x} (bug-check parameter): {e}"
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
                Err(e) => out
                    .warnings
                    .push(format!("CONTEXT at {at:#x} (bug-check parameter): {e}")),
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
                Err(e) => out
                    .warnings
                    .push(format!("KTRAP_FRAME at {at:#x} (bug-check parameter): {e}")),
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
    }
}

/// Table-based unwinding while images allow it, then a scan from where it stopped.
fn walk_x64(
    dump: &CrashDump,
    images: &mut Images<'_>,
    mut regs: Regs,
    max: usize,
    warnings: &mut Vec<String>,
) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut method = FrameMethod::Unwind;
    while frames.len() < max {
        let mut f = blank_frame(frames.len(), regs.rip, regs.rsp(), method);
        f.args = args_at(dump, regs.rsp(), 8);
        let module = dump.module_at(regs.rip).cloned();
        let Some(module) = module else {
            frames.push(f);
            break;
        };
        let Some(image) = images.get(&module) else {
            // No image: scan the rest of the stack from here.
            let sp = regs.rsp();
            frames.push(f);
            let more = scan_from(dump, images, sp, frames.len(), max, 8);
            if let (Some(last), Some(next)) = (frames.last_mut(), more.first()) {
                last.return_address = next.ip;
            }
            frames.extend(more);
            break;
        };
        let before = regs.clone();
        match unwind::step(image, module.base, &dump.memory, &mut regs) {
            Ok(kind) => {
                f.trap_frame = kind == StepKind::MachineFrame;
                f.return_address = regs.rip;
                frames.push(f);
                if regs.rip == 0 || regs.rsp() <= before.rsp() {
                    break;
                }
            }
            Err(e) => {
                warnings.push(format!(
                    "unwind stopped at {:#x} ({}): {e}",
                    before.rip, module.name
                ));
                let sp = before.rsp();
                frames.push(f);
                let more = scan_from(dump, images, sp.saturating_add(8), frames.len(), max, 8);
                if let (Some(last), Some(next)) = (frames.last_mut(), more.first()) {
                    last.return_address = next.ip;
                }
                frames.extend(more);
                break;
            }
        }
        method = FrameMethod::Unwind;
    }
    frames
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
        let more = scan_from(dump, images, from, frames.len(), max, 4);
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

/// A scan-only stack (ARM64, x86): frame 0 from the context, then return addresses.
fn scan_frames(
    dump: &CrashDump,
    images: &mut Images<'_>,
    ip: u64,
    sp: u64,
    link: Option<u64>,
    max: usize,
    width: u64,
) -> Vec<Frame> {
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
    let more = scan_from(dump, images, sp, frames.len(), max, width);
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
    first_index: usize,
    max: usize,
    width: u64,
) -> Vec<Frame> {
    let end = match dump
        .thread
        .as_ref()
        .and_then(|t| Some(t.stack_start? + t.stack_size?))
    {
        Some(e)
            if e > sp
                && sp
                    >= dump
                        .thread
                        .as_ref()
                        .and_then(|t| t.stack_start)
                        .unwrap_or(0) =>
        {
            e.min(sp.saturating_add(0x10000))
        }
        _ => sp.saturating_add(0x4000),
    };
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
        let arm64 = dump.machine == 0xaa64;
        if let Some(m) = dump.module_at(v).cloned()
            && v - m.base >= 0x1000
            && (!arm64 || v % 4 == 0)
            && v & 0xfff != 0
            && images.is_code(&m, v) != Some(false)
        {
            {
                let verdict = call_verdict(dump, images, v);
                if verdict != Some(false) {
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

fn name_frame(
    dump: &CrashDump,
    images: &mut Images<'_>,
    symbols: Option<&dyn FrameSymbols>,
    f: &mut Frame,
    exact: bool,
) {
    let Some(m) = dump.module_at(f.ip).cloned() else {
        f.call_site = format!("{:#x}", f.ip);
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
        .and_then(|s| s.symbolize(&m, rva))
        .or_else(|| images.get(&m).and_then(|img| img.export_symbol(rva)));
    if let Some((name, off)) = named {
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

fn is_core(m: &str) -> bool {
    let l = m.to_ascii_lowercase();
    super::is_kernel_image(&l) || l == "hal.dll" || l == "halmacpi.dll" || l == "halacpi.dll"
}

fn choose_culprit(dump: &CrashDump, images: &mut Images<'_>, out: &mut Analysis) {
    let code = dump.bugcheck.as_ref().map_or(0, |b| b.code);
    let params = dump.bugcheck.as_ref().map_or([0; 4], |b| b.parameters);
    // FAULTING_IP: the exception address for exception codes, else the first frame's IP.
    let fip = if IP_IN_P2.contains(&code) {
        Some(params[1])
    } else if IP_IN_P4.contains(&code) {
        Some(params[3])
    } else if dump.bugcheck.is_none() {
        // User-mode dumps: the exception stream's address.
        dump.exception.as_ref().map(|e| e.address)
    } else {
        None
    };
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
        {
            out.parameter_driver =
                crate::driver::DriverKey::from_path(&s).map(|k| k.name().to_string());
        }
    }
    // The first non-plumbing frame outside nt/hal; else the first non-plumbing frame.
    let plumbing = |f: &Frame| f.symbol.as_deref().is_some_and(|s| PLUMBING.contains(&s));
    let outside = out
        .stack
        .iter()
        .position(|f| f.module.as_deref().is_some_and(|m| !is_core(m)) && !plumbing(f));
    let ip_module = fip
        .and_then(|ip| dump.module_at(ip))
        .filter(|m| !is_core(&m.name));
    let chosen = match (outside, ip_module) {
        (_, Some(m)) => out
            .stack
            .iter()
            .position(|f| f.module.as_deref() == Some(m.name.as_str())),
        (Some(i), None) => Some(i),
        (None, None) => out
            .stack
            .iter()
            .position(|f| f.module.is_some() && !plumbing(f)),
    };
    out.faulting_frame = chosen;
    let module = chosen
        .and_then(|i| out.stack.get(i))
        .and_then(|f| dump.module_at(f.ip))
        .or(ip_module)
        .cloned();
    if let Some(i) = chosen {
        if let Some(f) = out.stack.get(i) {
            out.symbol_name = Some(
                match (&f.symbol, f.symbol_offset, &f.module_short, f.offset) {
                    (Some(s), Some(o), Some(m), _) => format!("{m}!{s}+{o:x}"),
                    (_, _, Some(m), Some(o)) => format!("{m}+{o:x}"),
                    _ => format!("{:x}", f.ip),
                },
            );
        }
    } else if let Some(m) = &module {
        let off = fip.unwrap_or(m.base).wrapping_sub(m.base);
        out.symbol_name = Some(format!("{}+{off:x}", m.short_name()));
    }
    if let Some(m) = module {
        out.module_name = Some(m.short_name());
        let lower = m.name.to_ascii_lowercase();
        out.image_name = Some(if super::is_kernel_image(&lower) && dump.processors > 1 {
            "ntkrnlmp.exe".to_string()
        } else {
            m.name.clone()
        });
        out.image_version = images.get(&m).and_then(|img| img.version());
        out.faulting_module = Some(m.name.clone());
    }
    // Only nt/hal on the stack and a driver named by a parameter (0x5A's image path): that
    // driver is the one to look at, loaded or not.
    if outside.is_none()
        && ip_module.is_none()
        && let Some(d) = &out.parameter_driver
    {
        out.faulting_module = Some(d.clone());
    }
}

/// `<class>_<module>!<function>`: the class is `AV` for an access violation (the exception
/// record's or P1's code), else the bug-check code; the function is `unknown_function` without
/// symbols (WinDbg's spelling).
fn failure_bucket(dump: &CrashDump, a: &Analysis) -> Option<String> {
    let module = a.module_name.as_ref()?;
    let frame = a.faulting_frame.and_then(|i| a.stack.get(i));
    let function = frame
        .and_then(|f| f.symbol.clone())
        .unwrap_or_else(|| "unknown_function".to_string());
    let av = a.exception_record.as_ref().map(|e| e.code) == Some(0xc000_0005)
        || dump.exception.as_ref().map(|e| e.code) == Some(0xc000_0005) && dump.bugcheck.is_none()
        || dump.bugcheck.as_ref().is_some_and(|b| {
            IP_IN_P2.contains(&b.code) && b.parameters[0] & 0xffff_ffff == 0xc000_0005
        });
    let class = match (&dump.bugcheck, av) {
        (_, true) => "AV".to_string(),
        (Some(b), false) => format!("{:#X}", b.code).replace("0X", "0x"),
        (None, false) => dump.exception.as_ref().map_or_else(
            || "APPLICATION_FAULT".to_string(),
            |e| format!("{:08x}", e.code),
        ),
    };
    Some(format!("{class}_{module}!{function}"))
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
        let start = (ins.ip() - ip) as usize;
        let hex: String = bytes
            .get(start..start + ins.len())
            .unwrap_or(&[])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        out.push((ins.ip(), format!("{hex:<16} {text}")));
    }
    out
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
        let start = (ins.ip() - ip) as usize;
        let hex: String = bytes
            .get(start..start + ins.len())
            .unwrap_or(&[])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        out.push((ins.ip(), format!("{hex:<16} {text}")));
    }
    out
}
