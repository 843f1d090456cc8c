//! x64 table-based virtual unwind (the RtlVirtualUnwind algorithm, docs/formats/crash-dump.md §2.10): find the
//! RUNTIME_FUNCTION of RIP, undo the prolog with the UNWIND_INFO codes (chained entries,
//! SET_FPREG, machine frames), or emulate an epilog when RIP sits in one; then pop the return
//! address. And the call-site check used by the stack scan.

use super::image::{Image, RuntimeFunction};
use super::le::{u16_at, u32_at};

/// Integer registers (x64 encoding order: rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15)
/// plus RIP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regs {
    pub gpr: [u64; 16],
    pub rip: u64,
}

pub const RSP: usize = 4;

impl Regs {
    pub fn rsp(&self) -> u64 {
        self.gpr[RSP]
    }
}

impl From<&super::Amd64Context> for Regs {
    fn from(c: &super::Amd64Context) -> Self {
        Regs {
            gpr: c.gpr(),
            rip: c.rip,
        }
    }
}

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Unwound with the function's UNWIND_INFO.
    Table,
    /// RIP was in an epilog: the remaining instructions were emulated.
    Epilog,
    /// No RUNTIME_FUNCTION: a leaf function, `RIP = [RSP]`.
    Leaf,
    /// A PUSH_MACHFRAME code restored RIP/RSP from a hardware (trap) frame.
    MachineFrame,
}

/// Why a step failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnwindError {
    #[error("stack read at {0:#x} failed")]
    Read(u64),
    #[error("UNWIND_INFO at rva {0:#x} unreadable or invalid")]
    BadInfo(u32),
    #[error("chained unwind entries too deep")]
    ChainTooDeep,
}

/// A way to read the stack (and anything else) by virtual address.
pub trait ReadMemory {
    fn read_u64(&self, va: u64) -> Option<u64>;
}

impl ReadMemory for super::Memory {
    fn read_u64(&self, va: u64) -> Option<u64> {
        super::Memory::read_u64(self, va).ok()
    }
}

/// Unwind one frame of the function at `regs.rip` in `image` mapped at `base`.
pub fn step(
    image: &Image<'_>,
    base: u64,
    mem: &dyn ReadMemory,
    regs: &mut Regs,
) -> Result<StepKind, UnwindError> {
    let rva = u32::try_from(regs.rip.wrapping_sub(base)).unwrap_or(u32::MAX);
    let Some(func) = image.function_for(rva) else {
        pop_return(mem, regs)?;
        return Ok(StepKind::Leaf);
    };
    if try_epilog(image, rva, func, mem, regs)? {
        return Ok(StepKind::Epilog);
    }
    let mut machine = false;
    let mut current = func;
    let mut primary = true;
    for _ in 0..32 {
        let (chained, mf) = apply_info(image, current, rva, primary, mem, regs)?;
        machine |= mf;
        primary = false;
        match chained {
            Some(next) => current = next,
            None => {
                if !machine {
                    pop_return(mem, regs)?;
                    return Ok(StepKind::Table);
                }
                return Ok(StepKind::MachineFrame);
            }
        }
    }
    Err(UnwindError::ChainTooDeep)
}

fn pop_return(mem: &dyn ReadMemory, regs: &mut Regs) -> Result<(), UnwindError> {
    let rsp = regs.rsp();
    regs.rip = mem.read_u64(rsp).ok_or(UnwindError::Read(rsp))?;
    regs.gpr[RSP] = rsp.wrapping_add(8);
    Ok(())
}

/// Apply one UNWIND_INFO; returns the chained RUNTIME_FUNCTION if any and whether a machine
/// frame was popped.
fn apply_info(
    image: &Image<'_>,
    func: RuntimeFunction,
    rva: u32,
    primary: bool,
    mem: &dyn ReadMemory,
    regs: &mut Regs,
) -> Result<(Option<RuntimeFunction>, bool), UnwindError> {
    let bad = UnwindError::BadInfo(func.unwind_info);
    let head = image.read(func.unwind_info, 4).ok_or(bad.clone())?;
    let version = head[0] & 7;
    let flags = head[0] >> 3;
    if !(1..=2).contains(&version) {
        return Err(bad);
    }
    let prolog_size = u32::from(head[1]);
    let count = usize::from(head[2]);
    let frame_reg = usize::from(head[3] & 0xf);
    let frame_off = u64::from(head[3] >> 4) * 16;
    let codes = image
        .read(func.unwind_info.wrapping_add(4), count.div_ceil(2) * 4 + 12)
        .or_else(|| image.read(func.unwind_info.wrapping_add(4), count * 2))
        .ok_or(bad.clone())?;
    let slot = |i: usize| u16_at(&codes, 2 * i);
    // Only the primary entry can be mid-prolog; chained parents ran completely.
    let prolog_offset = if primary {
        rva.saturating_sub(func.begin)
    } else {
        u32::MAX
    };
    let in_prolog = primary && prolog_offset < prolog_size;
    let executed = |code_offset: u8| !in_prolog || u32::from(code_offset) <= prolog_offset;
    // The establisher frame: the frame register once SET_FPREG has run, else RSP.
    let mut fp_set = frame_reg != 0;
    if in_prolog && frame_reg != 0 {
        fp_set = false;
        let mut i = 0;
        while i < count {
            let c = slot(i).ok_or(bad.clone())?;
            let (off, op, info) = ((c & 0xff) as u8, (c >> 8) as u8 & 0xf, (c >> 12) as u8);
            if op == 3 && executed(off) {
                fp_set = true;
            }
            i += slots(op, info);
        }
    }
    let frame_base = if fp_set {
        regs.gpr[frame_reg].wrapping_sub(frame_off)
    } else {
        regs.rsp()
    };
    let mut machine = false;
    let mut i = 0;
    while i < count {
        let c = slot(i).ok_or(bad.clone())?;
        let (off, op, info) = ((c & 0xff) as u8, (c >> 8) as u8 & 0xf, (c >> 12) as u8);
        let n = slots(op, info);
        if op == 6 || !executed(off) {
            i += n;
            continue;
        }
        let rsp = regs.rsp();
        match op {
            0 => {
                regs.gpr[usize::from(info)] = mem.read_u64(rsp).ok_or(UnwindError::Read(rsp))?;
                regs.gpr[RSP] = rsp.wrapping_add(8);
            }
            1 => {
                let size = if info == 0 {
                    u64::from(slot(i + 1).ok_or(bad.clone())?) * 8
                } else {
                    u64::from(u32_at(&codes, 2 * (i + 1)).ok_or(bad.clone())?)
                };
                regs.gpr[RSP] = rsp.wrapping_add(size);
            }
            2 => regs.gpr[RSP] = rsp.wrapping_add(u64::from(info) * 8 + 8),
            3 => regs.gpr[RSP] = regs.gpr[frame_reg].wrapping_sub(frame_off),
            4 => {
                let at = frame_base.wrapping_add(u64::from(slot(i + 1).ok_or(bad.clone())?) * 8);
                regs.gpr[usize::from(info)] = mem.read_u64(at).ok_or(UnwindError::Read(at))?;
            }
            5 => {
                let at = frame_base
                    .wrapping_add(u64::from(u32_at(&codes, 2 * (i + 1)).ok_or(bad.clone())?));
                regs.gpr[usize::from(info)] = mem.read_u64(at).ok_or(UnwindError::Read(at))?;
            }
            10 => {
                // Hardware frame: [error code], RIP, CS, EFLAGS, old RSP, SS.
                let top = if info == 1 { rsp.wrapping_add(8) } else { rsp };
                regs.rip = mem.read_u64(top).ok_or(UnwindError::Read(top))?;
                let sp_at = top.wrapping_add(0x18);
                regs.gpr[RSP] = mem.read_u64(sp_at).ok_or(UnwindError::Read(sp_at))?;
                machine = true;
            }
            _ => {} // XMM saves and spare codes do not touch integer registers.
        }
        i += n;
    }
    let chained = if flags & 4 != 0 {
        let at = 2 * (count + (count & 1));
        let (Some(begin), Some(end), Some(unwind_info)) = (
            u32_at(&codes, at),
            u32_at(&codes, at + 4),
            u32_at(&codes, at + 8),
        ) else {
            return Err(bad);
        };
        Some(RuntimeFunction {
            begin,
            end,
            unwind_info,
        })
    } else {
        None
    };
    Ok((chained, machine))
}

/// Slots (2 bytes each) an unwind code occupies. EPILOG (version 2) codes take one slot each,
/// as LLVM's and MSVC's v2 emitters write them.
fn slots(op: u8, info: u8) -> usize {
    match op {
        1 => {
            if info == 0 {
                2
            } else {
                3
            }
        }
        4 | 8 => 2,
        5 | 9 => 3,
        7 => 3,
        _ => 1,
    }
}

/// If RIP is in an epilog (`add rsp,imm` / `lea rsp,[fp+d]`, `pop`s, then `ret` or a `jmp`
/// tail call), emulate it and return true.
fn try_epilog(
    image: &Image<'_>,
    rva: u32,
    func: RuntimeFunction,
    mem: &dyn ReadMemory,
    regs: &mut Regs,
) -> Result<bool, UnwindError> {
    use iced_x86::{Code, Decoder, DecoderOptions, Mnemonic, OpKind, Register};
    let bytes = image.read_prefix(rva, 64);
    if bytes.is_empty() {
        return Ok(false);
    }
    let mut dec = Decoder::with_ip(64, &bytes, regs.rip, DecoderOptions::NONE);
    let mut plan = Vec::new();
    let mut ends = false;
    let mut first = true;
    while dec.can_decode() && plan.len() < 24 {
        let ins = dec.decode();
        if ins.is_invalid() {
            break;
        }
        match ins.mnemonic() {
            Mnemonic::Add
                if first
                    && ins.op0_register() == Register::RSP
                    && matches!(
                        ins.op1_kind(),
                        OpKind::Immediate32to64 | OpKind::Immediate8to64 | OpKind::Immediate32
                    ) =>
            {
                plan.push((0u8, ins.immediate(1) as i64 as u64, Register::None));
            }
            Mnemonic::Lea
                if first
                    && ins.op0_register() == Register::RSP
                    && ins.op1_kind() == OpKind::Memory
                    && ins.memory_index() == Register::None =>
            {
                plan.push((1, ins.memory_displacement64(), ins.memory_base()));
            }
            Mnemonic::Pop if ins.op0_kind() == OpKind::Register => {
                plan.push((2, 0, ins.op0_register()));
            }
            Mnemonic::Ret => {
                ends = true;
                break;
            }
            Mnemonic::Jmp => {
                // A tail call leaves the function; a jump inside it is ordinary code.
                let target = ins.near_branch_target();
                let inside = ins.code() != Code::Jmp_rm64
                    && target >= image_va(regs.rip, rva, func.begin)
                    && target < image_va(regs.rip, rva, func.end);
                ends = !inside && !plan.is_empty();
                break;
            }
            _ => break,
        }
        first = false;
    }
    if !ends {
        return Ok(false);
    }
    for (kind, value, reg) in plan {
        match kind {
            0 => regs.gpr[RSP] = regs.rsp().wrapping_add(value),
            1 => {
                let base = reg_index(reg).map_or(0, |i| regs.gpr[i]);
                regs.gpr[RSP] = base.wrapping_add(value);
            }
            _ => {
                let rsp = regs.rsp();
                let v = mem.read_u64(rsp).ok_or(UnwindError::Read(rsp))?;
                if let Some(i) = reg_index(reg) {
                    regs.gpr[i] = v;
                }
                regs.gpr[RSP] = rsp.wrapping_add(8);
            }
        }
    }
    pop_return(mem, regs)?;
    Ok(true)
}

fn image_va(rip: u64, rip_rva: u32, rva: u32) -> u64 {
    rip.wrapping_sub(u64::from(rip_rva))
        .wrapping_add(u64::from(rva))
}

fn reg_index(r: iced_x86::Register) -> Option<usize> {
    use iced_x86::Register::{
        R8, R9, R10, R11, R12, R13, R14, R15, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP,
    };
    Some(match r {
        RAX => 0,
        RCX => 1,
        RDX => 2,
        RBX => 3,
        RSP => 4,
        RBP => 5,
        RSI => 6,
        RDI => 7,
        R8 => 8,
        R9 => 9,
        R10 => 10,
        R11 => 11,
        R12 => 12,
        R13 => 13,
        R14 => 14,
        R15 => 15,
        _ => return None,
    })
}

/// Whether the bytes just before `ret` (given as `before`, ending at the return address)
/// end with a near call: `E8 rel32`, or `FF /2` (optionally REX-prefixed) of 2–7 bytes.
pub fn follows_call_x64(before: &[u8], ret: u64) -> bool {
    follows_call_bitness(before, ret, 64)
}

/// The x86 (32-bit code) form of [`follows_call_x64`]: `E8 rel32` at −5, `FF /2` with lengths
/// 2–7 (no REX prefixes in 32-bit code: 0x41 is `inc ecx` there).
pub fn follows_call_x86(before: &[u8], ret: u64) -> bool {
    follows_call_bitness(before, ret, 32)
}

fn follows_call_bitness(before: &[u8], ret: u64, bitness: u32) -> bool {
    use iced_x86::{Decoder, DecoderOptions, Mnemonic};
    for len in 2..=7usize.min(before.len()) {
        let start = before.len() - len;
        let code = &before[start..];
        let mut ip = ret.wrapping_sub(len as u64);
        if bitness == 32 {
            ip &= 0xffff_ffff;
        }
        let mut dec = Decoder::with_ip(bitness, code, ip, DecoderOptions::NONE);
        let ins = dec.decode();
        if !ins.is_invalid() && ins.len() == len && ins.mnemonic() == Mnemonic::Call {
            return true;
        }
    }
    false
}

/// Whether the 4 bytes before an ARM64 return address are `BL imm26` or `BLR Xn`.
pub fn follows_call_arm64(before: &[u8]) -> bool {
    let Some(word) = before.len().checked_sub(4).and_then(|s| u32_at(before, s)) else {
        return false;
    };
    word & 0xfc00_0000 == 0x9400_0000 || word & 0xffff_fc1f == 0xd63f_0000
}
