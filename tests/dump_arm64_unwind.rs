//! ARM64 stacks unwound with the module image's .pdata/.xdata: a packed-unwind function (frame
//! pointer, saved x19/x20) called by a function with full .xdata codes, found in the case folder
//! by TimeDateStamp and SizeOfImage.

use bsod_workbench::dump::analysis::{self, FrameMethod};
use bsod_workbench::dump::memory::{Backing, Block, Memory};
use bsod_workbench::dump::{self, Arm64Context, CrashDump, DumpKind, Module, ThreadInfo};
use std::sync::Arc;

const BASE: u64 = 0xffff_f803_1000_0000;
const TS: u32 = 0x6123_4567;
const SIZE: u32 = 0x4000;

/// A PE32+ ARM64 image: one section at 0x1000 (raw = rva) with .pdata at 0x1000, .xdata at
/// 0x1100 and code from 0x2000.
fn arm64_image(pdata: &[(u32, u32)], xdata: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; SIZE as usize];
    b[0..2].copy_from_slice(b"MZ");
    b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    b[0x40..0x44].copy_from_slice(b"PE\0\0");
    b[0x44..0x46].copy_from_slice(&0xaa64u16.to_le_bytes());
    b[0x46..0x48].copy_from_slice(&1u16.to_le_bytes());
    b[0x48..0x4c].copy_from_slice(&TS.to_le_bytes());
    b[0x54..0x56].copy_from_slice(&0xf0u16.to_le_bytes());
    let opt = 0x58;
    b[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
    b[opt + 0x38..opt + 0x3c].copy_from_slice(&SIZE.to_le_bytes());
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
    // Every call site is a BL (so the scan would verify it too).
    for at in (0x2000..0x2400).step_by(4) {
        b[at..at + 4].copy_from_slice(&0x9400_0000u32.to_le_bytes());
    }
    b
}

#[test]
fn arm64_stack_unwinds_with_packed_and_xdata() {
    // inner at 0x2000 (0x40 bytes): packed, RegI 2, CR 3, FrameSize 48.
    let inner = 1 | (0x10 << 2) | (2 << 16) | (3 << 21) | (3 << 23);
    // outer at 0x2100 (0x30 bytes): xdata codes alloc_s 4, save_fplr 2, save_r19r20_x 4, end.
    let header: u32 = 12 | (1 << 21) | (1 << 27);
    let mut x = header.to_le_bytes().to_vec();
    x.extend_from_slice(&[0x04, 0x42, 0x24, 0xe4]);
    let image = arm64_image(&[(0x2000, inner), (0x2100, 0x1100)], &x);
    let case = tempfile::tempdir().unwrap();
    std::fs::write(case.path().join("armdrv.sys"), &image).unwrap();

    // The stack: inner's frame (fp/lr at S, locals 32, x19/x20 at S+32), then outer's
    // (locals 64, fp/lr at +16 of the saved block, x19/x20 at +0).
    let s = 0xffff_a000_0000_1000u64;
    let ret_outer = BASE + 0x2114; // inner returns into outer's body
    let outer_sp = s + 48;
    let outer_frame = outer_sp + 64;
    let mut stack = vec![0u8; 0x200];
    let mut put = |va: u64, v: u64| {
        let o = (va - s) as usize;
        stack[o..o + 8].copy_from_slice(&v.to_le_bytes());
    };
    put(s, outer_sp + 0x10); // inner's saved fp (outer's fp)
    put(s + 8, ret_outer);
    put(s + 32, 0x1919);
    put(s + 40, 0x2020);
    put(outer_frame, 0x1919_0000);
    put(outer_frame + 8, 0x2020_0000);
    put(outer_frame + 16, 0);
    put(outer_frame + 24, 0); // outer returns to 0: the end
    let mut file = vec![0u8; 0x100];
    file.extend_from_slice(&stack);
    let memory = Memory::new(
        Arc::new(file.into()),
        Backing::Blocks(vec![Block {
            va: s,
            file_offset: 0x100,
            size: 0x200,
        }]),
    );
    let mut xr = vec![0u64; 29];
    xr[0] = 1;
    let d = CrashDump {
        path: case.path().join("Mini.dmp"),
        kind: DumpKind::KernelTriage,
        dump_type: 4,
        secondary_signature: None,
        machine: 0xaa64,
        major_version: 15,
        build: 22000,
        os_version: None,
        processors: 8,
        bugcheck: Some(dump::Bugcheck {
            code: 0x1c8,
            parameters: [0; 4],
        }),
        system_time: None,
        system_uptime: None,
        directory_table_base: None,
        pfn_database: None,
        ps_loaded_module_list: None,
        ps_active_process_head: None,
        kd_debugger_data_block: None,
        context: Some(dump::Context::Arm64(Arm64Context {
            context_flags: 0,
            cpsr: 0,
            x: xr,
            fp: s,
            lr: 0xdead,
            sp: s,
            pc: BASE + 0x2010,
        })),
        exception: None,
        modules: vec![Module {
            name: "armdrv.sys".into(),
            path: "\\SystemRoot\\System32\\drivers\\armdrv.sys".into(),
            base: BASE,
            size: SIZE,
            timestamp: TS,
            checksum: 0,
        }],
        unloaded_modules: Vec::new(),
        process_name: None,
        thread: Some(ThreadInfo {
            id: None,
            address: None,
            stack_start: Some(s),
            stack_size: Some(0x200),
        }),
        triage: None,
        warnings: Vec::new(),
        memory,
    };
    let a = analysis::analyze(
        &d,
        &analysis::AnalyzeOptions {
            image_folders: vec![case.path().to_path_buf()],
            ..Default::default()
        },
    );
    let ips: Vec<u64> = a.stack.iter().map(|f| f.ip).collect();
    assert_eq!(
        ips,
        [BASE + 0x2010, ret_outer],
        "{:#?} {:?}",
        a.stack,
        a.warnings
    );
    assert!(a.stack.iter().all(|f| f.method == FrameMethod::Unwind));
    assert_eq!(a.stack[0].child_sp, s);
    assert_eq!(a.stack[1].child_sp, outer_sp);
    assert_eq!(a.stack[0].return_address, ret_outer);
    assert_eq!(a.stack[1].return_address, 0);
    assert!(a.images.iter().any(|(m, _)| m == "armdrv.sys"));
    // The culprit is the driver's frame, by offset (no names).
    assert_eq!(a.module_name.as_deref(), Some("armdrv"));
    assert_eq!(a.symbol_name.as_deref(), Some("armdrv+2010"));
}

/// A kernel triage dump of armdrv.sys (no image at hand) whose stack `stack` lies at `s`.
fn arm64_scan_dump(s: u64, stack: Vec<u8>, pc: u64, lr: u64) -> CrashDump {
    let size = stack.len() as u64;
    let mut file = vec![0u8; 0x100];
    file.extend_from_slice(&stack);
    let memory = Memory::new(
        Arc::new(file.into()),
        Backing::Blocks(vec![Block {
            va: s,
            file_offset: 0x100,
            size,
        }]),
    );
    CrashDump {
        path: "Mini-arm64-trap.dmp".into(),
        kind: DumpKind::KernelTriage,
        dump_type: 4,
        secondary_signature: None,
        machine: 0xaa64,
        major_version: 15,
        build: 22000,
        os_version: None,
        processors: 8,
        bugcheck: Some(dump::Bugcheck {
            code: 0x4a,
            parameters: [0x7ff6_1234_5678, 2, 0, 0],
        }),
        system_time: None,
        system_uptime: None,
        directory_table_base: None,
        pfn_database: None,
        ps_loaded_module_list: None,
        ps_active_process_head: None,
        kd_debugger_data_block: None,
        context: Some(dump::Context::Arm64(Arm64Context {
            context_flags: 0,
            cpsr: 0,
            x: vec![0; 29],
            fp: s,
            lr,
            sp: s,
            pc,
        })),
        exception: None,
        modules: vec![Module {
            name: "armdrv.sys".into(),
            path: "\\SystemRoot\\System32\\drivers\\armdrv.sys".into(),
            base: BASE,
            size: SIZE,
            timestamp: TS,
            checksum: 0,
        }],
        unloaded_modules: Vec::new(),
        process_name: Some("armapp.exe".into()),
        thread: Some(ThreadInfo {
            id: None,
            address: None,
            stack_start: Some(s),
            stack_size: Some(size),
        }),
        triage: None,
        warnings: Vec::new(),
        memory,
    }
}

#[test]
fn arm64_scan_stops_at_a_user_mode_trap_frame() {
    // No image: the stack is scanned. A KTRAP_FRAME from EL0 (SPSR mode 0, user PC and SP) at
    // S+0x20 ends the kernel stack with the user-mode PC it saved; the stray return address into
    // armdrv above the trap frame is never listed.
    let s = 0xffff_a000_0000_1000u64;
    let ret = BASE + 0x2114;
    let trap = s + 0x20;
    let user_pc = 0x7ff6_1234_5678u64;
    let user_sp = 0x0000_00a1_2340_0000u64;
    let mut stack = vec![0u8; 0x200];
    let mut put = |va: u64, v: u64| {
        let o = (va - s) as usize;
        stack[o..o + 8].copy_from_slice(&v.to_le_bytes());
    };
    put(s + 8, ret);
    put(trap, 0x0000_0001_0000_0002); // ExceptionActive 2 (service), PreviousMode 1
    put(trap + 0x90, 0x6000_0000); // Spsr: Z and C set, EL0t
    put(trap + 0x98, user_sp);
    put(trap + 0x138, 0x7ff6_1234_0000); // Lr
    put(trap + 0x140, user_sp + 0x40); // Fp
    put(trap + 0x148, user_pc);
    put(trap + 0x160, BASE + 0x2204); // stray, above the trap frame
    let d = arm64_scan_dump(s, stack, BASE + 0x2010, 0xdead);
    let a = analysis::analyze(&d, &Default::default());
    let ips: Vec<u64> = a.stack.iter().map(|f| f.ip).collect();
    assert_eq!(ips, [BASE + 0x2010, ret, user_pc], "{:#?}", a.stack);
    assert_eq!(a.stack[1].trap_frame_address, Some(trap));
    assert_eq!(a.stack[1].return_address, user_pc);
    assert_eq!(a.stack[2].method, FrameMethod::Trap);
    assert_eq!(a.stack[2].child_sp, user_sp);
}

#[test]
fn arm64_trap_frame_needs_a_valid_spsr() {
    // The same stack with SPSR mode 1 (not a mode Windows runs in): no trap frame, the scan
    // goes on and lists the stray value.
    let s = 0xffff_a000_0000_1000u64;
    let trap = s + 0x20;
    let mut stack = vec![0u8; 0x200];
    let mut put = |va: u64, v: u64| {
        let o = (va - s) as usize;
        stack[o..o + 8].copy_from_slice(&v.to_le_bytes());
    };
    put(s + 8, BASE + 0x2114);
    put(trap + 0x90, 0x6000_0001);
    put(trap + 0x98, 0x0000_00a1_2340_0000);
    put(trap + 0x148, 0x7ff6_1234_5678);
    put(trap + 0x160, BASE + 0x2204);
    let d = arm64_scan_dump(s, stack, BASE + 0x2010, 0xdead);
    let a = analysis::analyze(&d, &Default::default());
    assert!(a.stack.iter().all(|f| f.trap_frame_address.is_none()));
    assert!(a.stack.iter().any(|f| f.ip == BASE + 0x2204));
}
