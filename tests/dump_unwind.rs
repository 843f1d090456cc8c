//! The x64 unwinder on real compiler output: the .pdata / UNWIND_INFO of the windows-seh-tests
//! programs (MSVC-built, with their PDBs). A stack is built by running the real prologs forward
//! along a real call chain (caller -> `call rel32` -> callee found in the code), then unwound:
//! every return address, stack pointer and restored non-volatile register must come back, every
//! return address must pass the call-site check, and the frames are named from the PDB.

mod common;

use bsod_workbench::dump::image::{Image, ImageSource, RuntimeFunction};
use bsod_workbench::dump::unwind::{self, ReadMemory, Regs, StepKind};
use std::collections::HashMap;
use std::sync::Arc;

const BASE: u64 = 0x1_4000_0000;

struct Mem(HashMap<u64, u64>);
impl ReadMemory for Mem {
    fn read_u64(&self, va: u64) -> Option<u64> {
        self.0.get(&va).copied()
    }
}

/// (op, info, operand) codes of one UNWIND_INFO in listed order, with its header.
struct Info {
    frame_reg: usize,
    frame_off: u64,
    codes: Vec<(u8, u8, u64)>,
    chained: Option<RuntimeFunction>,
}

fn info(img: &Image<'_>, f: RuntimeFunction) -> Info {
    let h = img.read(f.unwind_info, 4).unwrap();
    let count = h[2] as usize;
    let raw = img
        .read(f.unwind_info + 4, count.div_ceil(2) * 4 + 12)
        .unwrap_or_else(|| img.read(f.unwind_info + 4, count * 2).unwrap());
    let slot = |i: usize| u16::from_le_bytes([raw[2 * i], raw[2 * i + 1]]);
    let mut codes = Vec::new();
    let mut i = 0;
    while i < count {
        let c = slot(i);
        let (op, inf) = ((c >> 8) as u8 & 0xf, (c >> 12) as u8);
        let (n, operand) = match op {
            1 if inf == 0 => (2, u64::from(slot(i + 1)) * 8),
            1 => (3, u64::from(slot(i + 1)) | (u64::from(slot(i + 2)) << 16)),
            2 => (1, u64::from(inf) * 8 + 8),
            4 => (2, u64::from(slot(i + 1)) * 8),
            5 => (3, u64::from(slot(i + 1)) | (u64::from(slot(i + 2)) << 16)),
            8 => (2, 0),
            9 | 7 => (3, 0),
            _ => (1, 0),
        };
        codes.push((op, inf, operand));
        i += n;
    }
    let chained = (h[0] >> 3 & 4 != 0).then(|| {
        let at = 2 * (count + (count & 1));
        let w = |o: usize| u32::from_le_bytes(raw[at + o..at + o + 4].try_into().unwrap());
        RuntimeFunction {
            begin: w(0),
            end: w(4),
            unwind_info: w(8),
        }
    });
    Info {
        frame_reg: (h[3] & 0xf) as usize,
        frame_off: u64::from(h[3] >> 4) * 16,
        codes,
        chained,
    }
}

/// Run the prolog(s) of the range `f` forward from `entry` (RSP at entry): push and save the
/// caller's registers, then give the callee's non-volatiles new values. Returns None for
/// prologs this test does not model (machine frames).
fn run_prolog(
    img: &Image<'_>,
    f: RuntimeFunction,
    regs: &mut Regs,
    mem: &mut Mem,
    tag: u64,
) -> Option<()> {
    let mut chain = vec![info(img, f)];
    while let Some(c) = chain.last().unwrap().chained {
        chain.push(info(img, c));
        if chain.len() > 8 {
            return None;
        }
    }
    let caller = regs.clone();
    let mut saves = Vec::new();
    let mut touched = Vec::new();
    let mut frame = None;
    // Prolog order: the outermost parent first, each info's codes in reverse listed order.
    for inf in chain.iter().rev() {
        for &(op, r, operand) in inf.codes.iter().rev() {
            match op {
                0 => {
                    regs.gpr[4] -= 8;
                    mem.0.insert(regs.gpr[4], caller.gpr[r as usize]);
                    touched.push(r as usize);
                }
                1 | 2 => regs.gpr[4] -= operand,
                3 => {
                    frame = Some((inf.frame_reg, inf.frame_off));
                    regs.gpr[inf.frame_reg] = regs.gpr[4] + inf.frame_off;
                }
                4 | 5 => saves.push((r as usize, operand)),
                10 => return None,
                _ => {}
            }
        }
    }
    let base = match frame {
        Some((fr, off)) => regs.gpr[fr] - off,
        None => regs.gpr[4],
    };
    for (r, off) in saves {
        mem.0.insert(base + off, caller.gpr[r]);
        touched.push(r);
    }
    for r in touched {
        if Some(r) != frame.map(|f| f.0) {
            regs.gpr[r] = 0xf00d_0000_0000 + tag * 0x100 + r as u64;
        }
    }
    Some(())
}

fn direct_calls(img: &Image<'_>, f: RuntimeFunction) -> Vec<(u32, u32)> {
    use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind};
    let code = img.read_prefix(f.begin, (f.end - f.begin) as usize);
    let mut dec = Decoder::with_ip(64, &code, BASE + u64::from(f.begin), DecoderOptions::NONE);
    let mut out = Vec::new();
    while dec.can_decode() {
        let ins = dec.decode();
        if ins.mnemonic() == Mnemonic::Call && ins.op0_kind() == OpKind::NearBranch64 {
            // (return-address rva, target rva)
            out.push((
                (ins.next_ip() - BASE) as u32,
                (ins.near_branch_target().wrapping_sub(BASE)) as u32,
            ));
        }
    }
    out
}

fn check_program(name: &str) {
    let exe = sample_or_skip!(&format!("windows-seh-tests/{name}.exe"));
    let bytes = Arc::new(bsod_workbench::mapped::Bytes::open(&exe).unwrap());
    let img = Image::load(ImageSource::File {
        path: exe.clone(),
        bytes,
    })
    .unwrap();
    assert!(img.function_count() > 30, "{name}: .pdata read");
    // The call graph between functions that have unwind data.
    let funcs: Vec<RuntimeFunction> = img.functions().to_vec();
    let mut callers: HashMap<u32, Vec<(u32, RuntimeFunction)>> = HashMap::new();
    for f in &funcs {
        for (ret, target) in direct_calls(&img, *f) {
            if img.function_for(target).is_some_and(|t| t.begin == target) {
                callers.entry(target).or_default().push((ret, *f));
            }
        }
    }
    // The longest chain (up to 8) of callee <- caller <- caller ..., innermost first.
    let mut best: Vec<(u32, Option<(u32, RuntimeFunction)>)> = Vec::new();
    for f in &funcs {
        let mut chain = vec![(f.begin, None)];
        let mut cur = f.begin;
        let mut seen = vec![cur];
        while chain.len() < 8 {
            let Some(&(ret, caller)) = callers
                .get(&cur)
                .and_then(|v| v.iter().find(|(_, c)| !seen.contains(&primary(&img, *c))))
            else {
                break;
            };
            let p = primary(&img, caller);
            chain.push((p, Some((ret, caller))));
            seen.push(p);
            cur = p;
        }
        if chain.len() > best.len() {
            best = chain;
        }
    }
    assert!(
        best.len() >= 3,
        "{name}: a call chain of at least 3 functions"
    );
    // Build the stack from the outermost caller inwards.
    let mut mem = Mem(HashMap::new());
    let mut regs = Regs {
        gpr: [0; 16],
        rip: 0,
    };
    for (i, r) in regs.gpr.iter_mut().enumerate() {
        *r = 0xaaaa_0000 + i as u64;
    }
    regs.gpr[4] = 0x7ff0_0000_0000 - 0x48;
    mem.0.insert(regs.gpr[4], 0); // the outermost frame returns to 0
    let mut expected: Vec<(u64, u64, [u64; 16])> = Vec::new(); // (rip, rsp, regs) per frame, outermost first
    for k in (1..best.len()).rev() {
        let (ret, range) = best[k].1.unwrap();
        if run_prolog(&img, range, &mut regs, &mut mem, k as u64).is_none() {
            eprintln!("SKIP: {name}: a machine-frame prolog in the chain");
            return;
        }
        expected.push((BASE + u64::from(ret), regs.gpr[4], regs.gpr));
        regs.gpr[4] -= 8;
        mem.0.insert(regs.gpr[4], BASE + u64::from(ret));
    }
    // The innermost function, stopped right after its prolog.
    let inner = img.function_for(best[0].0).unwrap();
    let prolog = img.read(inner.unwind_info, 4).unwrap()[1];
    run_prolog(&img, inner, &mut regs, &mut mem, 0).unwrap();
    regs.rip = BASE + u64::from(inner.begin) + u64::from(prolog);
    // The same stack as a user-mode minidump, analysed end to end (image from the case folder,
    // names from the PDB) before the step-by-step check below.
    let start = regs.clone();
    let mdmp = minidump_of(&exe, &img, &mem, &start);
    let caller_begins: Vec<u32> = best.iter().map(|b| b.0).collect();
    check_minidump(&exe, &mdmp, &caller_begins, expected.len() + 1);
    // Unwind and compare, innermost caller first.
    expected.reverse();
    for (i, (rip, rsp, gpr)) in expected.iter().enumerate() {
        let kind = unwind::step(&img, BASE, &mem, &mut regs)
            .unwrap_or_else(|e| panic!("{name}: frame {i}: {e}"));
        assert_ne!(kind, StepKind::MachineFrame);
        assert_eq!(regs.rip, *rip, "{name}: frame {i} return address");
        assert_eq!(regs.gpr[4], *rsp, "{name}: frame {i} rsp");
        // Non-volatile registers (rbx, rbp, rsi, rdi, r12-r15) as the caller had them.
        for r in [3usize, 5, 6, 7, 12, 13, 14, 15] {
            assert_eq!(regs.gpr[r], gpr[r], "{name}: frame {i} register {r}");
        }
        // The return address follows a call instruction in the image.
        let rva = (rip - BASE) as u32;
        let before = img.read(rva - 7, 7).unwrap();
        assert!(
            unwind::follows_call_x64(&before, *rip),
            "{name}: call before {rva:#x}"
        );
    }
    unwind::step(&img, BASE, &mem, &mut regs).unwrap();
    assert_eq!(regs.rip, 0, "{name}: the outermost frame returns to 0");
    // The frames are named from the PDB (matched by the image's CodeView record).
    let dir = exe.parent().unwrap().to_path_buf();
    let sym = bsod_workbench::symbols::Symbolizer::new(
        &bsod_workbench::symbols::SymbolPath::parse(""),
        &[dir],
    );
    let m = bsod_workbench::symbols::ModuleRef::new(
        exe.file_name().unwrap().to_str().unwrap(),
        img.timestamp,
        img.size_of_image,
    );
    let mut named = 0;
    for (i, (rip, _, _)) in expected.iter().enumerate() {
        let rva = (rip - BASE) as u32 - 1;
        let s = sym
            .symbolize(&m, rva)
            .unwrap_or_else(|| panic!("{name}: frame {i} unnamed"));
        // The name is the caller's function: its start is the chain's primary begin.
        assert_eq!(
            u64::from(rva) - s.offset,
            u64::from(best[i + 1].0),
            "{name}: frame {i} {}",
            s.name
        );
        named += 1;
    }
    assert_eq!(named, expected.len());
    // Every RUNTIME_FUNCTION (primary and chained ranges) alone: one frame, stopped after
    // its prolog, must unwind to its return address with the caller's registers.
    let mut checked = 0;
    for f in &funcs {
        let mut mem = Mem(HashMap::new());
        let mut regs = Regs {
            gpr: [0; 16],
            rip: 0,
        };
        for (i, r) in regs.gpr.iter_mut().enumerate() {
            *r = 0xbbbb_0000 + i as u64;
        }
        regs.gpr[4] = 0x7ff0_0000_0000 - 0x48;
        mem.0.insert(regs.gpr[4], 0x1234_5678);
        let caller = regs.clone();
        if run_prolog(&img, *f, &mut regs, &mut mem, 1).is_none() {
            continue;
        }
        let is_primary = primary(&img, *f) == f.begin;
        let prolog = u32::from(img.read(f.unwind_info, 4).unwrap()[1]);
        regs.rip = BASE + u64::from(f.begin) + if is_primary { u64::from(prolog) } else { 0 };
        if regs.rip >= BASE + u64::from(f.end) {
            continue;
        }
        unwind::step(&img, BASE, &mem, &mut regs).unwrap_or_else(|e| panic!("{name}: {f:x?}: {e}"));
        assert_eq!(regs.rip, 0x1234_5678, "{name}: {f:x?}");
        assert_eq!(regs.gpr[4], caller.gpr[4] + 8, "{name}: {f:x?}");
        for r in [3usize, 5, 6, 7, 12, 13, 14, 15] {
            assert_eq!(regs.gpr[r], caller.gpr[r], "{name}: {f:x?} register {r}");
        }
        checked += 1;
    }
    assert!(
        checked * 10 >= funcs.len() * 9,
        "{name}: {checked} of {} functions unwound",
        funcs.len()
    );
    eprintln!(
        "{name}: chain of {} frames unwound; {checked} of {} functions unwound alone",
        expected.len(),
        funcs.len()
    );
}

/// A user-mode minidump (MINIDUMP_HEADER, SystemInfo, ModuleList, ThreadList, Exception) with
/// one thread whose stack is `mem` and whose context is `regs`.
fn minidump_of(exe: &std::path::Path, img: &Image<'_>, mem: &Mem, regs: &Regs) -> Vec<u8> {
    let lo = *mem.0.keys().min().unwrap();
    let hi = *mem.0.keys().max().unwrap() + 8;
    let mut stack = vec![0u8; (hi - lo) as usize];
    for (va, v) in &mem.0 {
        let o = (va - lo) as usize;
        stack[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }
    let mut ctx = vec![0u8; 0x4d0];
    let mut c = bsod_workbench::dump::Amd64Context {
        context_flags: 0x10_001f,
        rip: regs.rip,
        ..Default::default()
    };
    let g = regs.gpr;
    (c.rax, c.rcx, c.rdx, c.rbx, c.rsp, c.rbp, c.rsi, c.rdi) =
        (g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]);
    (c.r8, c.r9, c.r10, c.r11, c.r12, c.r13, c.r14, c.r15) =
        (g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
    c.write(&mut ctx);
    let name: Vec<u8> = format!("C:\\tests\\{}", exe.file_name().unwrap().to_str().unwrap())
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    // Layout: header 0x20, directory 4*12, then the streams and data.
    let sysinfo_at = 0x20 + 48;
    let modules_at = sysinfo_at + 56;
    let threads_at = modules_at + 4 + 108;
    let exception_at = threads_at + 4 + 48;
    let name_at = exception_at + 0xa8;
    let ctx_at = (name_at + 4 + name.len() + 15) & !15;
    let stack_at = ctx_at + ctx.len();
    let mut f = vec![0u8; stack_at + stack.len()];
    let mut put = |o: usize, b: &[u8]| f[o..o + b.len()].copy_from_slice(b);
    put(0, b"MDMP");
    put(4, &0xa793u32.to_le_bytes());
    put(8, &4u32.to_le_bytes());
    put(0xc, &0x20u32.to_le_bytes());
    put(0x14, &0x6000_0000u32.to_le_bytes());
    for (i, (kind, size, rva)) in [
        (7u32, 56u32, sysinfo_at),
        (4, 4 + 108, modules_at),
        (3, 4 + 48, threads_at),
        (6, 0xa8, exception_at),
    ]
    .iter()
    .enumerate()
    {
        put(0x20 + 12 * i, &kind.to_le_bytes());
        put(0x24 + 12 * i, &size.to_le_bytes());
        put(0x28 + 12 * i, &(*rva as u32).to_le_bytes());
    }
    put(sysinfo_at, &9u16.to_le_bytes());
    put(sysinfo_at + 6, &[1, 1]);
    put(sysinfo_at + 8, &10u32.to_le_bytes());
    put(sysinfo_at + 0x10, &19041u32.to_le_bytes());
    put(modules_at, &1u32.to_le_bytes());
    let m = modules_at + 4;
    put(m, &BASE.to_le_bytes());
    put(m + 8, &img.size_of_image.to_le_bytes());
    put(m + 0x10, &img.timestamp.to_le_bytes());
    put(m + 0x14, &(name_at as u32).to_le_bytes());
    put(name_at, &(name.len() as u32).to_le_bytes());
    put(name_at + 4, &name);
    put(threads_at, &1u32.to_le_bytes());
    let t = threads_at + 4;
    put(t, &0x1234u32.to_le_bytes());
    put(t + 0x18, &lo.to_le_bytes());
    put(t + 0x20, &(stack.len() as u32).to_le_bytes());
    put(t + 0x24, &(stack_at as u32).to_le_bytes());
    put(t + 0x28, &(ctx.len() as u32).to_le_bytes());
    put(t + 0x2c, &(ctx_at as u32).to_le_bytes());
    put(exception_at, &0x1234u32.to_le_bytes());
    put(exception_at + 8, &0xc000_0005u32.to_le_bytes());
    put(exception_at + 0x18, &regs.rip.to_le_bytes());
    put(exception_at + 0xa0, &(ctx.len() as u32).to_le_bytes());
    put(exception_at + 0xa4, &(ctx_at as u32).to_le_bytes());
    put(ctx_at, &ctx);
    put(stack_at, &stack);
    f
}

/// Open the minidump, analyse it with the sample folder as the case folder and check the stack
/// unwinds (not scans) through the functions beginning at `begins`, named from the PDB.
fn check_minidump(exe: &std::path::Path, mdmp: &[u8], begins: &[u32], frames: usize) {
    use bsod_workbench::dump::{self, analysis};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.dmp");
    std::fs::write(&p, mdmp).unwrap();
    let d = dump::open(&p).unwrap();
    assert_eq!(d.kind, dump::DumpKind::UserMinidump);
    assert_eq!(d.modules.len(), 1);
    let folder = exe.parent().unwrap().to_path_buf();
    let sym = bsod_workbench::symbols::Symbolizer::new(
        &bsod_workbench::symbols::SymbolPath::parse(""),
        std::slice::from_ref(&folder),
    );
    let opts = analysis::AnalyzeOptions {
        image_folders: vec![folder],
        symbols: Some(&sym),
        ..Default::default()
    };
    let a = analysis::analyze(&d, &opts);
    assert!(a.stack.len() >= frames, "{:#?} {:?}", a.stack, a.warnings);
    let m = bsod_workbench::symbols::ModuleRef::new(
        &d.modules[0].name,
        d.modules[0].timestamp,
        d.modules[0].size,
    );
    for (i, f) in a.stack.iter().take(frames).enumerate() {
        assert_eq!(
            f.method,
            analysis::FrameMethod::Unwind,
            "frame {i}: {}",
            f.call_site
        );
        let want = sym
            .symbolize(&m, begins[i])
            .expect("PDB names the function");
        assert_eq!(want.offset, 0);
        assert_eq!(f.symbol.as_deref(), Some(want.name.as_str()), "frame {i}");
        assert_eq!(f.name_source, analysis::NameSource::Pdb, "frame {i}");
        assert_eq!(f.walk_label(), "unwind");
    }
    assert_eq!(
        a.faulting_module.as_deref(),
        Some(d.modules[0].name.as_str())
    );
    assert_eq!(a.images.len(), 1, "the image came from the case folder");
}

/// The primary RUNTIME_FUNCTION begin of a (possibly chained) range.
fn primary(img: &Image<'_>, f: RuntimeFunction) -> u32 {
    let mut cur = f;
    for _ in 0..8 {
        match info(img, cur).chained {
            Some(p) => cur = p,
            None => break,
        }
    }
    cur.begin
}

#[test]
fn unwinds_xcpt4_with_pdb_names() {
    check_program("xcpt4");
}

#[test]
fn unwinds_nested_collided_with_pdb_names() {
    check_program("nested_collided");
}
