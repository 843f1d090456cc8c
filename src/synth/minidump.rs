//! User-mode minidumps (`MDMP`) of given modules with one thread: what the symbol-server tests
//! and the minidump benchmark analyse. The layout is the one `dump::minidump` reads (reference
//! docs/formats/crash-dump.md §1): SystemInfo, ModuleList, ThreadList and Exception streams, the
//! thread's CONTEXT and its stack memory.

use crate::dump::Amd64Context;
use crate::pe::Pe;

/// A module of the dump's module list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinidumpModule {
    /// The path as the loader recorded it (`C:\tests\xcpt4.exe`).
    pub path: String,
    pub base: u64,
    pub size: u32,
    pub timestamp: u32,
    pub checksum: u32,
}

/// What to write: an AMD64 process stopped by an exception at `rip`.
#[derive(Clone, Debug)]
pub struct UserMinidump {
    pub modules: Vec<MinidumpModule>,
    pub rip: u64,
    pub rsp: u64,
    /// The stack memory from `rsp` up.
    pub stack: Vec<u8>,
    pub exception_code: u32,
    pub thread_id: u32,
}

/// The minidump's bytes.
pub fn write_user_minidump(spec: &UserMinidump) -> Vec<u8> {
    let mut ctx = vec![0u8; 0x4d0];
    Amd64Context {
        context_flags: 0x10_001f,
        rip: spec.rip,
        rsp: spec.rsp,
        ..Default::default()
    }
    .write(&mut ctx);
    let names: Vec<Vec<u8>> = spec
        .modules
        .iter()
        .map(|m| m.path.encode_utf16().flat_map(u16::to_le_bytes).collect())
        .collect();
    // Header 0x20, a directory of 4 streams, then the streams and their data.
    let sysinfo_at = 0x20 + 4 * 12;
    let modules_at = sysinfo_at + 56;
    let modules_len = 4 + 108 * spec.modules.len();
    let threads_at = modules_at + modules_len;
    let exception_at = threads_at + 4 + 48;
    let mut names_at = Vec::new();
    let mut at = exception_at + 0xa8;
    for n in &names {
        names_at.push(at);
        at += 4 + n.len() + 2;
    }
    let ctx_at = (at + 15) & !15;
    let stack_at = ctx_at + ctx.len();
    let mut f = vec![0u8; stack_at + spec.stack.len()];
    let mut put = |o: usize, b: &[u8]| f[o..o + b.len()].copy_from_slice(b);
    put(0, b"MDMP");
    put(4, &0xa793u32.to_le_bytes());
    put(8, &4u32.to_le_bytes());
    put(0xc, &0x20u32.to_le_bytes());
    put(0x14, &0x6000_0000u32.to_le_bytes());
    for (i, (kind, size, rva)) in [
        (7u32, 56usize, sysinfo_at),
        (4, modules_len, modules_at),
        (3, 4 + 48, threads_at),
        (6, 0xa8, exception_at),
    ]
    .iter()
    .enumerate()
    {
        put(0x20 + 12 * i, &kind.to_le_bytes());
        put(0x24 + 12 * i, &(*size as u32).to_le_bytes());
        put(0x28 + 12 * i, &(*rva as u32).to_le_bytes());
    }
    // SystemInfo: AMD64, one processor, Windows 10.0.19041.
    put(sysinfo_at, &9u16.to_le_bytes());
    put(sysinfo_at + 6, &[1, 1]);
    put(sysinfo_at + 8, &10u32.to_le_bytes());
    put(sysinfo_at + 0x10, &19041u32.to_le_bytes());
    put(modules_at, &(spec.modules.len() as u32).to_le_bytes());
    for (i, m) in spec.modules.iter().enumerate() {
        let e = modules_at + 4 + 108 * i;
        put(e, &m.base.to_le_bytes());
        put(e + 8, &m.size.to_le_bytes());
        put(e + 0xc, &m.checksum.to_le_bytes());
        put(e + 0x10, &m.timestamp.to_le_bytes());
        put(e + 0x14, &(names_at[i] as u32).to_le_bytes());
        put(names_at[i], &(names[i].len() as u32).to_le_bytes());
        put(names_at[i] + 4, &names[i]);
    }
    put(threads_at, &1u32.to_le_bytes());
    let t = threads_at + 4;
    put(t, &spec.thread_id.to_le_bytes());
    put(t + 0x18, &spec.rsp.to_le_bytes());
    put(t + 0x20, &(spec.stack.len() as u32).to_le_bytes());
    put(t + 0x24, &(stack_at as u32).to_le_bytes());
    put(t + 0x28, &(ctx.len() as u32).to_le_bytes());
    put(t + 0x2c, &(ctx_at as u32).to_le_bytes());
    put(exception_at, &spec.thread_id.to_le_bytes());
    put(exception_at + 8, &spec.exception_code.to_le_bytes());
    put(exception_at + 0x18, &spec.rip.to_le_bytes());
    put(exception_at + 0xa0, &(ctx.len() as u32).to_le_bytes());
    put(exception_at + 0xa4, &(ctx_at as u32).to_le_bytes());
    put(ctx_at, &ctx);
    put(stack_at, &spec.stack);
    f
}

/// Direct calls in `pe`'s code whose target starts a function with unwind data: (the callee's
/// start RVA, the return RVA after the `call rel32` in the caller). A thread stopped at the
/// callee's first instruction, with the return address on top of its stack, is a real two-frame
/// stack of that program.
pub fn direct_calls(pe: &Pe) -> Vec<(u32, u32)> {
    let funcs = pe.runtime_functions();
    let begins: std::collections::HashSet<u32> = funcs.iter().map(|f| f.begin).collect();
    let mut out = Vec::new();
    for f in &funcs {
        let len = f.end.saturating_sub(f.begin) as usize;
        let Some(code) = pe.bytes_at_rva(f.begin, len) else {
            continue;
        };
        for i in 0..code.len().saturating_sub(4) {
            if code[i] != 0xe8 {
                continue;
            }
            let rel = i32::from_le_bytes([code[i + 1], code[i + 2], code[i + 3], code[i + 4]]);
            let ret = f.begin + i as u32 + 5;
            let target = ret.wrapping_add_signed(rel);
            if begins.contains(&target) && target != f.begin {
                out.push((target, ret));
            }
        }
    }
    out
}

/// Write `count` kernel small memory dumps into `dir` (a `Minidump` folder), one every
/// `interval_secs` from `first_crash` (Unix seconds), named as Windows names them
/// (`MMDDYY-<boot counter>-01.dmp`), each `spec` with its crash time. Returns the file names
/// and crash times.
pub fn write_minidump_folder(
    dir: &std::path::Path,
    spec: &super::dump::DumpSpec,
    count: usize,
    first_crash: i64,
    interval_secs: i64,
) -> Result<Vec<(String, i64)>, super::dump::SynthDumpError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| super::dump::SynthDumpError::Io(dir.to_path_buf(), e))?;
    let mut spec = spec.clone();
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let t = first_crash + i as i64 * interval_secs;
        spec.system_time = crate::filetime::FileTime::from_unix_seconds(t).0;
        let (y, m, d) = crate::filetime::civil_from_days(t.div_euclid(86_400));
        let name = format!("{m:02}{d:02}{:02}-{}-01.dmp", y % 100, 10_000 + i);
        super::dump::write_triage_dump(&dir.join(&name), &spec)?;
        out.push((name, t));
    }
    Ok(out)
}
