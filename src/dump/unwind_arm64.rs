//! ARM64 table-based virtual unwind (Microsoft's "ARM64 exception handling" rules): the
//! `.pdata` entry of PC gives either packed unwind data (Flag 1/2: a canonical prolog described
//! by RegI, RegF, H, CR and FrameSize) or an `.xdata` record whose unwind codes are run in
//! order, from the code that matches PC when PC sits in the prolog or in an epilog. The
//! caller's PC is the restored LR.

use super::image::{Image, RuntimeFunction};
use super::le::u32_at;
use super::unwind::{ReadMemory, UnwindError};

/// x0..x30 (x29 = FP, x30 = LR), SP and PC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arm64Regs {
    pub x: [u64; 31],
    pub sp: u64,
    pub pc: u64,
}

const FP: usize = 29;
const LR: usize = 30;

impl From<&super::Arm64Context> for Arm64Regs {
    fn from(c: &super::Arm64Context) -> Self {
        let mut x = [0u64; 31];
        for (i, v) in c.x.iter().take(29).enumerate() {
            x[i] = *v;
        }
        x[FP] = c.fp;
        x[LR] = c.lr;
        Arm64Regs {
            x,
            sp: c.sp,
            pc: c.pc,
        }
    }
}

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arm64Step {
    /// Packed unwind data.
    Packed,
    /// `.xdata` unwind codes.
    Codes,
    /// No `.pdata` entry: a leaf, PC = LR.
    Leaf,
    /// MSFT_OP_MACHINE_FRAME: SP and PC restored from a machine frame.
    MachineFrame,
}

fn rd(mem: &dyn ReadMemory, va: u64) -> Result<u64, UnwindError> {
    mem.read_u64(va).ok_or(UnwindError::Read(va))
}

/// Unwind one frame of the function at `regs.pc` in `image` mapped at `base`.
pub fn step(
    image: &Image<'_>,
    base: u64,
    mem: &dyn ReadMemory,
    regs: &mut Arm64Regs,
) -> Result<Arm64Step, UnwindError> {
    let rva = u32::try_from(regs.pc.wrapping_sub(base)).unwrap_or(u32::MAX);
    let Some(func) = image.function_for(rva) else {
        regs.pc = regs.x[LR];
        return Ok(Arm64Step::Leaf);
    };
    let offset = rva - func.begin;
    let flag = func.unwind_info & 3;
    if flag == 1 || flag == 2 {
        packed(func.unwind_info, offset, flag == 2, mem, regs)?;
        return Ok(Arm64Step::Packed);
    }
    let machine = xdata(image, func, offset, mem, regs)?;
    Ok(if machine {
        Arm64Step::MachineFrame
    } else {
        Arm64Step::Codes
    })
}

/// Packed unwind data: Flag 0-1, FunctionLength 2-12, RegF 13-15, RegI 16-19, H 20, CR 21-22,
/// FrameSize 23-31. The prolog it stands for: save x19.. (and LR when CR = 1) and d8.. in a
/// block of SavSZ bytes, the home registers when H, then the locals (with FP/LR at their
/// bottom and `mov fp,sp` when CR = 3). A fragment (Flag 2) has no prolog.
fn packed(
    word: u32,
    offset: u32,
    fragment: bool,
    mem: &dyn ReadMemory,
    regs: &mut Arm64Regs,
) -> Result<(), UnwindError> {
    let reg_f = (word >> 13) & 7;
    let reg_i = u64::from((word >> 16) & 0xf);
    let h = (word >> 20) & 1;
    let cr = (word >> 21) & 3;
    let frame_size = u64::from(word >> 23) * 16;
    // At the first instruction nothing of the prolog has run.
    if offset == 0 && !fragment {
        regs.pc = regs.x[LR];
        return Ok(());
    }
    let int_sz = 8 * (reg_i + u64::from(cr == 1));
    let fp_sz = if reg_f == 0 {
        0
    } else {
        8 * u64::from(reg_f + 1)
    };
    let sav_sz = (int_sz + fp_sz + 64 * u64::from(h) + 0xf) & !0xf;
    let loc_sz = frame_size.saturating_sub(sav_sz);
    let mut sp = regs.sp;
    if cr == 3 {
        // The body runs with FP = SP after the locals were allocated.
        sp = regs.x[FP];
        regs.x[FP] = rd(mem, sp)?;
        regs.x[LR] = rd(mem, sp.wrapping_add(8))?;
    }
    sp = sp.wrapping_add(loc_sz);
    for i in 0..reg_i {
        regs.x[19 + i as usize] = rd(mem, sp.wrapping_add(8 * i))?;
    }
    if cr == 1 {
        regs.x[LR] = rd(mem, sp.wrapping_add(8 * reg_i))?;
    }
    sp = sp.wrapping_add(sav_sz);
    regs.sp = sp;
    regs.pc = regs.x[LR];
    Ok(())
}

/// Bytes of unwind code `op` (its first byte).
fn code_len(op: u8) -> usize {
    match op {
        0x00..=0xbf => 1,
        0xc0..=0xdf => 2,
        0xe0 => 4,
        0xe1 => 1,
        0xe2 => 2,
        0xe7 => 3,
        _ => 1,
    }
}

/// Whether the code at `at` ends the sequence.
fn is_end(op: u8) -> bool {
    op == 0xe4 || op == 0xe5
}

/// Run `.xdata` unwind codes; true when a machine frame restored PC itself.
fn xdata(
    image: &Image<'_>,
    func: RuntimeFunction,
    offset: u32,
    mem: &dyn ReadMemory,
    regs: &mut Arm64Regs,
) -> Result<bool, UnwindError> {
    let at = func.unwind_info;
    let bad = || UnwindError::BadInfo(at);
    let head = image.read(at, 8).ok_or_else(bad)?;
    let w0 = u32_at(&head, 0).ok_or_else(bad)?;
    let func_len = (w0 & 0x3ffff) * 4;
    let e = (w0 >> 21) & 1 != 0;
    let mut epilogs = (w0 >> 22) & 0x1f;
    let mut words = (w0 >> 27) & 0x1f;
    let mut pos = at.checked_add(4).ok_or_else(bad)?;
    if epilogs == 0 && words == 0 {
        let w1 = u32_at(&head, 4).ok_or_else(bad)?;
        epilogs = w1 & 0xffff;
        words = (w1 >> 16) & 0xff;
        pos = pos.checked_add(4).ok_or_else(bad)?;
    }
    // Epilog scopes (E = 0): start offset (×4) and the index of its first code.
    let mut scopes = Vec::new();
    if !e {
        let raw = image
            .read(pos, 4 * epilogs.min(1024) as usize)
            .ok_or_else(bad)?;
        for i in 0..epilogs.min(1024) as usize {
            let s = u32_at(&raw, 4 * i).ok_or_else(bad)?;
            scopes.push(((s & 0x3ffff) * 4, (s >> 22) as usize));
        }
        pos = pos.checked_add(4 * epilogs.min(1024)).ok_or_else(bad)?;
    }
    let codes = image.read(pos, 4 * words as usize).ok_or_else(bad)?;
    // Where to start: the epilog PC is in, else the part of the prolog that ran.
    let mut start = 0usize;
    let mut in_epilog = false;
    let epilog_at = |index: usize| -> Option<u32> {
        // The length of an epilog is the number of its codes before `end`.
        let mut i = index;
        let mut n = 0u32;
        while let Some(&op) = codes.get(i) {
            if is_end(op) {
                return Some(n);
            }
            i += code_len(op);
            n += 1;
        }
        None
    };
    let single = e.then_some(epilogs as usize);
    let candidates: Vec<(u32, usize)> = match single {
        // The epilog ends the function: its codes, then `ret` (the `end` code).
        Some(index) => epilog_at(index)
            .map(|n| vec![(func_len.saturating_sub(4 * (n + 1)), index)])
            .unwrap_or_default(),
        None => scopes,
    };
    for (begin, index) in candidates {
        if offset >= begin
            && let Some(n) = epilog_at(index)
            && u64::from(offset) < u64::from(begin) + 4 * (u64::from(n) + 1)
        {
            // Skip the epilog instructions that already ran.
            let mut skip = (offset - begin) / 4;
            start = index;
            while skip > 0 {
                start += code_len(*codes.get(start).ok_or_else(bad)?);
                skip -= 1;
            }
            in_epilog = true;
            break;
        }
    }
    if !in_epilog {
        // Prolog codes are in reverse order: the last `n - ran` codes did not run yet.
        let n = epilog_at(0).ok_or_else(bad)?;
        let ran = offset / 4;
        if ran < n {
            let mut skip = n - ran;
            while skip > 0 {
                start += code_len(*codes.get(start).ok_or_else(bad)?);
                skip -= 1;
            }
        }
    }
    run_codes(&codes, start, mem, regs).map_err(|e| match e {
        UnwindError::BadInfo(_) => bad(),
        other => other,
    })
}

/// Execute unwind codes from `start` to `end`.
fn run_codes(
    codes: &[u8],
    start: usize,
    mem: &dyn ReadMemory,
    regs: &mut Arm64Regs,
) -> Result<bool, UnwindError> {
    let bad = UnwindError::BadInfo(0);
    let mut i = start;
    // `save_next` runs extend the next pair save: resolved by looking ahead.
    let mut pending_next = 0u64;
    let mut guard = 0;
    while let Some(&op) = codes.get(i) {
        guard += 1;
        if guard > 4096 {
            return Err(bad);
        }
        let b = |k: usize| codes.get(i + k).copied().map(u64::from).ok_or(bad.clone());
        let op64 = u64::from(op);
        match op {
            0x00..=0x1f => regs.sp = regs.sp.wrapping_add(op64 * 16),
            0x20..=0x3f => {
                // save_r19r20_x: stp x19,x20,[sp,#-z*8]!
                let z = (op64 & 0x1f) * 8;
                restore_pairs(mem, regs, 19, regs.sp, &mut pending_next)?;
                regs.sp = regs.sp.wrapping_add(z);
            }
            0x40..=0x7f => {
                let at = regs.sp.wrapping_add((op64 & 0x3f) * 8);
                regs.x[FP] = rd(mem, at)?;
                regs.x[LR] = rd(mem, at.wrapping_add(8))?;
            }
            0x80..=0xbf => {
                regs.x[FP] = rd(mem, regs.sp)?;
                regs.x[LR] = rd(mem, regs.sp.wrapping_add(8))?;
                regs.sp = regs.sp.wrapping_add(((op64 & 0x3f) + 1) * 8);
            }
            0xc0..=0xc7 => {
                let x = ((op64 & 7) << 8) | b(1)?;
                regs.sp = regs.sp.wrapping_add(x * 16);
            }
            0xc8..=0xcf => {
                // save_regp / save_regp_x: x(19+X), x(20+X)
                let w = (op64 << 8) | b(1)?;
                let reg = 19 + ((w >> 6) & 0xf) as usize;
                let z = w & 0x3f;
                if op & 4 == 0 {
                    restore_pairs(
                        mem,
                        regs,
                        reg,
                        regs.sp.wrapping_add(z * 8),
                        &mut pending_next,
                    )?;
                } else {
                    restore_pairs(mem, regs, reg, regs.sp, &mut pending_next)?;
                    regs.sp = regs.sp.wrapping_add((z + 1) * 8);
                }
            }
            0xd0..=0xd3 => {
                let w = (op64 << 8) | b(1)?;
                let reg = 19 + ((w >> 6) & 0xf) as usize;
                if reg < 31 {
                    regs.x[reg] = rd(mem, regs.sp.wrapping_add((w & 0x3f) * 8))?;
                }
            }
            0xd4 | 0xd5 => {
                let w = (op64 << 8) | b(1)?;
                let reg = 19 + ((w >> 5) & 0xf) as usize;
                if reg < 31 {
                    regs.x[reg] = rd(mem, regs.sp)?;
                }
                regs.sp = regs.sp.wrapping_add(((w & 0x1f) + 1) * 8);
            }
            0xd6 | 0xd7 => {
                // save_lrpair: x(19+2X), lr
                let w = (op64 << 8) | b(1)?;
                let reg = 19 + 2 * ((w >> 6) & 7) as usize;
                let at = regs.sp.wrapping_add((w & 0x3f) * 8);
                if reg < 31 {
                    regs.x[reg] = rd(mem, at)?;
                }
                regs.x[LR] = rd(mem, at.wrapping_add(8))?;
            }
            0xd8 | 0xd9 | 0xdc | 0xdd => pending_next = 0, // FP saves: no integer effect
            0xda | 0xdb => {
                let w = (op64 << 8) | b(1)?;
                regs.sp = regs.sp.wrapping_add(((w & 0x3f) + 1) * 8);
                pending_next = 0;
            }
            0xde => {
                let z = b(1)? & 0x1f;
                regs.sp = regs.sp.wrapping_add((z + 1) * 8);
            }
            0xdf => {} // alloc_z (SVE): not used by kernel code
            0xe0 => {
                let x = (b(1)? << 16) | (b(2)? << 8) | b(3)?;
                regs.sp = regs.sp.wrapping_add(x * 16);
            }
            0xe1 => regs.sp = regs.x[FP],
            0xe2 => regs.sp = regs.x[FP].wrapping_add(b(1)? * 8),
            0xe3 => {}
            0xe4 | 0xe5 => break,
            0xe6 => pending_next += 1,
            0xe7 => {} // save_any_reg: not used for the integer pairs we restore
            0xe9 => {
                // MSFT_OP_MACHINE_FRAME: SP at +0, PC at +8.
                let sp = regs.sp;
                regs.pc = rd(mem, sp.wrapping_add(8))?;
                regs.sp = rd(mem, sp)?;
                return Ok(true);
            }
            0xe8 | 0xea | 0xeb => return Err(bad), // trap frame / CONTEXT records
            _ => {}
        }
        i += code_len(op);
    }
    regs.pc = regs.x[LR];
    Ok(false)
}

/// Restore the pair `reg`, `reg+1` from `at`, and the pairs a run of `save_next` codes
/// before it named: each the next two registers, 16 bytes further on.
fn restore_pairs(
    mem: &dyn ReadMemory,
    regs: &mut Arm64Regs,
    reg: usize,
    at: u64,
    pending_next: &mut u64,
) -> Result<(), UnwindError> {
    for k in 0..=*pending_next {
        let r = reg + 2 * k as usize;
        let a = at.wrapping_add(16 * k);
        if r < 30 {
            regs.x[r] = rd(mem, a)?;
            regs.x[r + 1] = rd(mem, a.wrapping_add(8))?;
        } else if r == 30 {
            regs.x[LR] = rd(mem, a)?;
        }
    }
    *pending_next = 0;
    Ok(())
}

/// The end of an ARM64 function from its `.pdata` UnwindData: packed length, or the `.xdata`
/// header's FunctionLength.
pub fn function_end(image: &Image<'_>, begin: u32, unwind_data: u32) -> Option<u32> {
    let len = match unwind_data & 3 {
        1 | 2 => ((unwind_data >> 2) & 0x7ff) * 4,
        0 => (u32_at(&image.read(unwind_data, 4)?, 0)? & 0x3ffff) * 4,
        _ => return None,
    };
    begin.checked_add(len.max(4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dump::image::ImageSource;
    use std::collections::HashMap;
    use std::sync::Arc;

    struct Mem(HashMap<u64, u64>);
    impl ReadMemory for Mem {
        fn read_u64(&self, va: u64) -> Option<u64> {
            self.0.get(&va).copied()
        }
    }

    const BASE: u64 = 0xffff_f803_0000_0000;

    /// A PE32+ ARM64 image: headers, one section at 0x1000 holding .pdata (at 0x1000), .xdata
    /// (at 0x1100) and code (from 0x2000).
    fn image(pdata: &[(u32, u32)], xdata: &[u8]) -> Image<'static> {
        let mut b = vec![0u8; 0x4000];
        b[0..2].copy_from_slice(b"MZ");
        b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        b[0x40..0x44].copy_from_slice(b"PE\0\0");
        b[0x44..0x46].copy_from_slice(&0xaa64u16.to_le_bytes());
        b[0x46..0x48].copy_from_slice(&1u16.to_le_bytes());
        b[0x54..0x56].copy_from_slice(&0xf0u16.to_le_bytes());
        let opt = 0x58;
        b[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        b[opt + 0x38..opt + 0x3c].copy_from_slice(&0x4000u32.to_le_bytes());
        b[opt + 0x6c..opt + 0x70].copy_from_slice(&16u32.to_le_bytes());
        let dir3 = opt + 0x70 + 3 * 8;
        b[dir3..dir3 + 4].copy_from_slice(&0x1000u32.to_le_bytes());
        b[dir3 + 4..dir3 + 8].copy_from_slice(&(8 * pdata.len() as u32).to_le_bytes());
        let sect = opt + 0xf0;
        b[sect..sect + 5].copy_from_slice(b".text");
        for (off, v) in [(8, 0x3000u32), (12, 0x1000), (16, 0x3000), (20, 0x1000)] {
            b[sect + off..sect + off + 4].copy_from_slice(&v.to_le_bytes());
        }
        b[sect + 36..sect + 40].copy_from_slice(&0x6000_0020u32.to_le_bytes());
        for (i, (begin, ud)) in pdata.iter().enumerate() {
            let e = 0x1000 + 8 * i;
            b[e..e + 4].copy_from_slice(&begin.to_le_bytes());
            b[e + 4..e + 8].copy_from_slice(&ud.to_le_bytes());
        }
        b[0x1100..0x1100 + xdata.len()].copy_from_slice(xdata);
        Image::load(ImageSource::File {
            path: "test.sys".into(),
            bytes: Arc::new(crate::mapped::Bytes::Owned(b)),
        })
        .unwrap()
    }

    #[test]
    fn packed_frame_with_fp_and_saved_registers() {
        // stp x19,x20,[sp,#-16]!; stp fp,lr,[sp,#-32]!; mov fp,sp: RegI 2, CR 3,
        // FrameSize 48 (SavSZ 16 + locals 32), function of 0x40 bytes.
        let word = 1 | (0x10 << 2) | (2 << 16) | (3 << 21) | (3 << 23);
        let img = image(&[(0x2000, word)], &[]);
        let sp = 0xffff_a000_0000_1000u64;
        let mut m = HashMap::new();
        m.insert(sp, 0x1111); // caller's fp
        m.insert(sp + 8, BASE + 0x2104); // lr
        m.insert(sp + 32, 0x1919);
        m.insert(sp + 40, 0x2020);
        let mut regs = Arm64Regs {
            x: [0; 31],
            sp,
            pc: BASE + 0x2010,
        };
        regs.x[FP] = sp;
        let kind = step(&img, BASE, &Mem(m), &mut regs).unwrap();
        assert_eq!(kind, Arm64Step::Packed);
        assert_eq!(regs.pc, BASE + 0x2104);
        assert_eq!(regs.sp, sp + 48);
        assert_eq!(regs.x[19], 0x1919);
        assert_eq!(regs.x[20], 0x2020);
        assert_eq!(regs.x[FP], 0x1111);
        assert_eq!(function_end(&img, 0x2000, word), Some(0x2040));
    }

    #[test]
    fn xdata_codes_in_body_prolog_and_epilog() {
        // Prolog: stp x19,x20,[sp,#-32]! (save_r19r20_x 4); stp fp,lr,[sp,#16] (save_fplr 2);
        // sub sp,sp,#64 (alloc_s 4). Codes (reverse order): alloc_s 4, save_fplr 2,
        // save_r19r20_x 4, end. One epilog at the end (E = 1, codes from index 0).
        // Function of 0x30 bytes: header FunctionLength 12, E, EpilogCount(=index) 0,
        // CodeWords 1.
        let header: u32 = 12 | (1 << 21) | (1 << 27);
        let mut x = header.to_le_bytes().to_vec();
        x.extend_from_slice(&[0x04, 0x42, 0x24, 0xe4]);
        let img = image(&[(0x2000, 0x1100)], &x);
        assert_eq!(function_end(&img, 0x2000, 0x1100), Some(0x2030));
        let body_sp = 0xffff_a000_0000_2000u64;
        let frame = body_sp + 64; // after undoing the locals
        let mut m = HashMap::new();
        m.insert(frame + 16, 0x2929);
        m.insert(frame + 24, BASE + 0x2200);
        m.insert(frame, 0x1919);
        m.insert(frame + 8, 0x2020);
        let run = |pc: u64, sp: u64| {
            let mut regs = Arm64Regs { x: [0; 31], sp, pc };
            let kind = step(&img, BASE, &Mem(m.clone()), &mut regs).unwrap();
            assert_eq!(kind, Arm64Step::Codes);
            regs
        };
        // In the body: everything is undone.
        let r = run(BASE + 0x2010, body_sp);
        assert_eq!((r.pc, r.sp), (BASE + 0x2200, frame + 32));
        assert_eq!((r.x[19], r.x[20], r.x[FP]), (0x1919, 0x2020, 0x2929));
        // After the first prolog instruction only x19/x20 are saved: LR is still live.
        let mut regs = Arm64Regs {
            x: [0; 31],
            sp: frame,
            pc: BASE + 0x2004,
        };
        regs.x[LR] = BASE + 0x2300;
        step(&img, BASE, &Mem(m.clone()), &mut regs).unwrap();
        assert_eq!(
            (regs.pc, regs.sp, regs.x[19]),
            (BASE + 0x2300, frame + 32, 0x1919)
        );
        // In the epilog (at 0x2024 = its second instruction, `ldp fp,lr,[sp,#16]`): the
        // locals are already freed.
        let r = run(BASE + 0x2024, frame);
        assert_eq!((r.pc, r.sp), (BASE + 0x2200, frame + 32));
    }

    #[test]
    fn hostile_unwind_data_never_panics() {
        // Arbitrary .pdata words, .xdata bytes, registers and stack contents.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300 {
            let ud = next() as u32;
            let ud = if ud & 3 == 0 { 0x1100 } else { ud };
            let x: Vec<u8> = (0..64).map(|_| next() as u8).collect();
            let img = image(&[(0x2000, ud)], &x);
            let mut m = HashMap::new();
            let sp = next() | 0xfff0_0000_0000_0000;
            for k in 0..64u64 {
                m.insert(sp.wrapping_add(8 * k), next());
            }
            let mut regs = Arm64Regs {
                x: [0; 31].map(|_: u64| next()),
                sp,
                pc: BASE + 0x2000 + (next() % 0x200) * 4,
            };
            let _ = step(&img, BASE, &Mem(m), &mut regs);
        }
    }
}
