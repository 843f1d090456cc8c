//! 32-bit `PAGEDUMP` kernel dumps written by `synth::dump::write_dump32` are read back: header,
//! body (full run list and SUMMARY_DUMP32 bitmap), PAE and non-PAE page walks, the module list
//! from PsLoadedModuleList, unloaded drivers, the EBP-chain stack, the CLI, and no panics on
//! truncated or corrupted copies.

use bsod_workbench::dump::{self, DumpKind, analysis, memory::Paging, report};
use bsod_workbench::synth::dump::{
    Dump32Options, DumpSpec, Layout32, ModuleSpec, Written32, write_dump32,
};
use std::path::Path;

/// The 0x5A demo on a 32-bit Windows 10 (KLDR TimeDateStamp at 0x58).
fn spec_0x5a() -> DumpSpec {
    let mut spec = DumpSpec::demo_0x5a();
    spec.build = 19041;
    spec
}

/// A driver on the stack of a Windows 7 x86 kernel (TimeDateStamp at 0x44).
fn spec_driver() -> DumpSpec {
    let mut spec = DumpSpec::demo_0x5a();
    spec.build = 7601;
    spec.bugcheck = 0x1e;
    spec.params = [0xc000_0005, 0, 0, 0];
    spec.string_params.clear();
    spec.modules.truncate(6);
    spec.modules.push(ModuleSpec::driver("faultydrv.sys"));
    spec.unloaded = vec!["oldflt.sys".into()];
    spec.call_chain = [
        "nt!KeBugCheckEx",
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

fn write(
    dir: &Path,
    name: &str,
    spec: &DumpSpec,
    opts: Dump32Options,
) -> (std::path::PathBuf, Written32) {
    let p = dir.join(name);
    let w = write_dump32(&p, spec, opts).unwrap();
    (p, w)
}

/// Everything the writer placed is what the reader finds.
fn check_read_back(d: &dump::CrashDump, w: &Written32, spec: &DumpSpec, paging: Paging) {
    assert_eq!(d.machine, 0x14c);
    assert!(!d.is_64bit());
    assert_eq!(d.build, spec.build);
    assert_eq!(d.memory.paging(), Some(paging), "warnings {:?}", d.warnings);
    assert_eq!(d.directory_table_base, Some(w.cr3));
    let bc = d.bugcheck.as_ref().unwrap();
    assert_eq!(bc.code, spec.bugcheck);
    assert_eq!(bc.parameters[0], spec.params[0] & 0xffff_ffff);
    assert_eq!(d.system_time, Some(spec.system_time));
    assert_eq!(d.system_uptime, Some(spec.uptime));
    // The module list, field by field.
    assert_eq!(
        d.modules.len(),
        w.modules.len(),
        "warnings {:?}",
        d.warnings
    );
    for (m, e) in d.modules.iter().zip(&w.modules) {
        assert_eq!(m.name, e.name);
        assert_eq!(m.path, e.path);
        assert_eq!(m.base, e.base);
        assert_eq!(m.size, e.size);
        assert_eq!(m.timestamp, e.timestamp, "{}", m.name);
        assert_eq!(m.checksum, e.checksum, "{}", m.name);
    }
    assert_eq!(d.modules[0].short_name(), "nt");
    let unloaded: Vec<&str> = d.unloaded_modules.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        unloaded,
        spec.unloaded.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // Virtual reads through the page tables, across page boundaries, and translations of
    // 4 KiB pages and the large page.
    for (va, bytes) in &w.probes {
        assert_eq!(
            &d.memory.read_vec(*va, bytes.len()).unwrap(),
            bytes,
            "read at {va:#x}"
        );
    }
    assert!(w.translations.len() > 10);
    for (va, pa) in &w.translations {
        assert_eq!(d.memory.translate(*va).unwrap(), *pa, "translate {va:#x}");
    }
    // Unmapped and above-4 GiB addresses fail cleanly.
    assert!(d.memory.read_u32(0x1000).is_err());
    assert!(d.memory.read_u32(0xffff_f800_0000_0000).is_err());
    assert!(d.memory.read_vec(0xffff_fffe, 4).is_err());
    // The body is read: no "memory is not read" warning, but the unverified-offsets one stays.
    assert!(
        !d.warnings
            .iter()
            .any(|w| w.says("not read") && w.says("memory")),
        "{:?}",
        d.warnings
    );
    assert!(
        d.warnings
            .iter()
            .any(|w| w.says("not verified on a real 32-bit file"))
    );
}

/// The stack is the writer's call chain, frame 0 from the context, the rest by the EBP chain,
/// every return address checked for a call (E8 and FF 15 forms).
fn check_stack(d: &dump::CrashDump, a: &analysis::Analysis, spec: &DumpSpec, w: &Written32) {
    let sites: Vec<String> = a
        .stack
        .iter()
        .map(|f| {
            format!(
                "{}!{}",
                f.module_short.clone().unwrap_or_default(),
                f.symbol.clone().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        sites, spec.call_chain,
        "stack {:#?} warnings {:?}",
        a.stack, a.warnings
    );
    assert_eq!(a.stack[0].ip, u64::from(w.eip));
    assert_eq!(a.stack[0].method, analysis::FrameMethod::Unwind);
    for f in &a.stack[1..] {
        assert_eq!(
            f.method,
            analysis::FrameMethod::FramePointer,
            "{}",
            f.call_site
        );
        assert!(f.verified, "call-site check of {}", f.call_site);
    }
    for win in a.stack.windows(2) {
        assert_eq!(win[0].return_address, win[1].ip);
    }
    assert_eq!(a.stack.last().unwrap().return_address, 0);
    // KeBugCheckEx's arguments: the code and P1..P3.
    let p = d.bugcheck.as_ref().unwrap().parameters;
    assert_eq!(
        a.stack[0].args,
        [
            Some(u64::from(spec.bugcheck)),
            Some(p[0]),
            Some(p[1]),
            Some(p[2])
        ]
    );
}

#[test]
fn full_dump_with_pae_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_0x5a();
    let opts = Dump32Options {
        layout: Layout32::Full,
        pae: true,
        pae_flag: true,
    };
    let (p, w) = write(dir.path(), "MEMORY32.DMP", &spec, opts);
    assert_eq!(w.cr3 & 0xfff, 0x20, "PAE CR3 is 32-byte, not page, aligned");
    let d = dump::open(&p).unwrap();
    assert_eq!(d.kind, DumpKind::KernelFull);
    assert_eq!(d.dump_type, 1);
    check_read_back(&d, &w, &spec, Paging::X86Pae);
    let a = analysis::analyze(&d, &analysis::AnalyzeOptions::default());
    check_stack(&d, &a, &spec, &w);
    // 0x5A: P3 is a UNICODE_STRING32 naming the driver that failed to load.
    assert_eq!(a.parameter_driver.as_deref(), Some("filecrypt.sys"));
    assert_eq!(a.faulting_module.as_deref(), Some("filecrypt.sys"));
    assert_eq!(
        a.failure_bucket_id.as_deref(),
        Some("0x5A_nt!IopLoadDriver")
    );
    // Windows 10 x86: no KTHREAD/EPROCESS offsets, said in a warning.
    assert_eq!(d.process_name, None);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.says("PROCESS_NAME are not read"))
    );
}

#[test]
fn summary_dump_without_pae_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_driver();
    let opts = Dump32Options {
        layout: Layout32::Summary,
        pae: false,
        pae_flag: true,
    };
    let (p, w) = write(dir.path(), "MEMORY32.DMP", &spec, opts);
    assert_eq!(w.cr3 & 0xfff, 0);
    let d = dump::open(&p).unwrap();
    assert_eq!(d.kind, DumpKind::KernelBitmap);
    assert_eq!(d.dump_type, 2);
    assert_eq!(d.secondary_signature.as_deref(), Some("SDMP"));
    assert_eq!(
        d.dump_type_name(),
        "Summary (kernel memory dump) kernel (SDMP)"
    );
    check_read_back(&d, &w, &spec, Paging::X86);
    let a = analysis::analyze(&d, &analysis::AnalyzeOptions::default());
    check_stack(&d, &a, &spec, &w);
    assert_eq!(a.faulting_module.as_deref(), Some("faultydrv.sys"));
    assert_eq!(a.module_name.as_deref(), Some("faultydrv"));
    // Windows 7 x86: the crashing thread through KiProcessorBlock, and PROCESS_NAME.
    assert_eq!(d.process_name.as_deref(), Some("System"));
    let t = d.thread.as_ref().unwrap();
    let (start, size) = (t.stack_start.unwrap(), t.stack_size.unwrap());
    assert!((start..start + size).contains(&u64::from(w.esp)));
    assert_eq!(
        a.symbol_name.as_deref(),
        Some(
            format!(
                "faultydrv!ReadRegisterBlock+{:x}",
                a.stack[1].symbol_offset.unwrap()
            )
            .as_str()
        )
    );
    let text = report::text_report(&d, &a);
    assert!(text.contains("faultydrv!ReadRegisterBlock+0x"), "{text}");
}

#[test]
fn the_other_two_combinations_read_back() {
    let dir = tempfile::tempdir().unwrap();
    for (layout, pae) in [(Layout32::Summary, true), (Layout32::Full, false)] {
        let spec = spec_driver();
        let opts = Dump32Options {
            layout,
            pae,
            pae_flag: true,
        };
        let (p, w) = write(dir.path(), "m.dmp", &spec, opts);
        let d = dump::open(&p).unwrap();
        check_read_back(
            &d,
            &w,
            &spec,
            if pae { Paging::X86Pae } else { Paging::X86 },
        );
        let a = analysis::analyze(&d, &analysis::AnalyzeOptions::default());
        check_stack(&d, &a, &spec, &w);
    }
}

#[test]
fn a_missing_pae_flag_is_guessed_and_said() {
    let dir = tempfile::tempdir().unwrap();
    for pae in [true, false] {
        let spec = spec_driver();
        let opts = Dump32Options {
            layout: Layout32::Full,
            pae,
            pae_flag: false,
        };
        let (p, w) = write(dir.path(), "m.dmp", &spec, opts);
        let d = dump::open(&p).unwrap();
        let want = if pae {
            "guessed PAE paging"
        } else {
            "guessed non-PAE paging"
        };
        assert!(d.warnings.iter().any(|x| x.says(want)), "{:?}", d.warnings);
        check_read_back(
            &d,
            &w,
            &spec,
            if pae { Paging::X86Pae } else { Paging::X86 },
        );
    }
}

#[test]
fn a_hostile_run_count_keeps_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_driver();
    let opts = Dump32Options {
        layout: Layout32::Full,
        pae: true,
        pae_flag: true,
    };
    let (p, _) = write(dir.path(), "m.dmp", &spec, opts);
    let mut b = std::fs::read(&p).unwrap();
    b[0x64..0x68].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let d = dump::from_bytes(
        &p,
        std::sync::Arc::new(bsod_workbench::mapped::Bytes::from(b)),
    )
    .unwrap();
    assert_eq!(d.kind, DumpKind::KernelHeaderOnly);
    assert_eq!(d.bugcheck.as_ref().unwrap().code, spec.bugcheck);
    assert!(d.modules.is_empty());
    assert!(
        d.warnings.iter().any(|w| w.says("physical memory runs")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn the_wrong_paging_mode_does_not_read_the_module_list() {
    // Flip the PaeEnabled byte: the walk must fail cleanly (warning, no modules), not panic or
    // invent modules.
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_driver();
    let opts = Dump32Options {
        layout: Layout32::Full,
        pae: false,
        pae_flag: true,
    };
    let (p, _) = write(dir.path(), "m.dmp", &spec, opts);
    let mut b = std::fs::read(&p).unwrap();
    b[0x5c] = 1;
    let d = dump::from_bytes(
        &p,
        std::sync::Arc::new(bsod_workbench::mapped::Bytes::from(b)),
    )
    .unwrap();
    assert_eq!(d.memory.paging(), Some(Paging::X86Pae));
    assert!(d.modules.iter().all(|m| m.name != "ntoskrnl.exe"));
    assert!(
        d.warnings.iter().any(|w| w.says("PsLoadedModuleList")),
        "{:?}",
        d.warnings
    );
}

fn run_cli(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(args)
        .env_remove("_NT_SYMBOL_PATH")
        .output()
        .expect("run bsodwb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn cli_shows_the_module_list_of_a_32_bit_dump() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_0x5a();
    let opts = Dump32Options {
        layout: Layout32::Full,
        pae: true,
        pae_flag: true,
    };
    let (p, w) = write(dir.path(), "MEMORY32.DMP", &spec, opts);
    let file = p.to_str().unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&run_cli(&["dump", file, "--format", "json"])).unwrap();
    assert_eq!(v["machine"], "0x14c");
    assert_eq!(v["bugcheck"]["code"], "0x5a");
    let modules = v["modules"].as_array().unwrap();
    assert_eq!(modules.len(), w.modules.len());
    for (m, e) in modules.iter().zip(&w.modules) {
        assert_eq!(m["name"], e.name.as_str());
        assert_eq!(m["base"], format!("{:#x}", e.base).as_str());
        assert_eq!(m["size"], format!("{:#x}", e.size).as_str());
    }
    assert_eq!(
        v["stack"][1]["call_site"]
            .as_str()
            .unwrap()
            .split('+')
            .next(),
        Some("nt!IopLoadDriver")
    );
    let text = run_cli(&["dump", file, "--format", "text"]);
    for e in &w.modules {
        assert!(text.contains(&e.name), "{} missing from\n{text}", e.name);
        assert!(
            text.contains(&format!("{:x}", e.base)),
            "{:#x} missing",
            e.base
        );
    }
}

/// xorshift, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn exercise(bytes: Vec<u8>) {
    let path = Path::new("MEMORY32.DMP");
    let shared = std::sync::Arc::new(bsod_workbench::mapped::Bytes::from(bytes));
    if let Ok(d) = dump::from_bytes(path, shared) {
        let a = analysis::analyze(&d, &analysis::AnalyzeOptions::default());
        let _ = report::text_report(&d, &a);
        let _ = serde_json::to_string(&report::json_report(&d, &a)).unwrap();
    }
}

#[test]
fn corrupted_and_truncated_32_bit_dumps_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x3232_dead_beef_0001);
    for (layout, pae) in [(Layout32::Full, true), (Layout32::Summary, false)] {
        let opts = Dump32Options {
            layout,
            pae,
            pae_flag: true,
        };
        let (p, _) = write(dir.path(), "m.dmp", &spec_driver(), opts);
        let original = std::fs::read(&p).unwrap();
        for cut in [
            0usize, 8, 0x20, 0x5c, 0x64, 0x68, 0x320, 0xf88, 0xfff, 0x1000, 0x1010, 0x1020, 0x2000,
            0x3000,
        ] {
            exercise(original[..cut.min(original.len())].to_vec());
        }
        for _ in 0..12 {
            let cut = (rng.next() as usize) % original.len();
            exercise(original[..cut].to_vec());
        }
        // Hostile header fields: run counts, page counts, bitmap sizes, pointers.
        for (off, v) in [
            (0x64usize, u32::MAX),
            (0x64, 86),
            (0x6c, u32::MAX),
            (0x70, u32::MAX),
            (0x1000 + 0xc, u32::MAX),
            (0x1000 + 0x10, u32::MAX),
            (0x1000 + 0x10, 0),
            (0x10, 0xffff_ffff),
            (0x18, 0xffff_fffc),
            (0x60, 0xffff_fff0),
            (0x328 + 0xb4 - 8, 0xffff_fffc),
        ] {
            let mut b = original.clone();
            b[off..off + 4].copy_from_slice(&v.to_le_bytes());
            exercise(b);
        }
        for round in 0..40 {
            let mut b = original.clone();
            for _ in 0..16 {
                let span = if round % 2 == 0 {
                    0x1100.min(b.len())
                } else {
                    b.len()
                };
                let at = (rng.next() as usize) % span;
                b[at] = rng.next() as u8;
                if round % 3 == 0 && at + 4 <= b.len() {
                    b[at..at + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
                }
            }
            exercise(b);
        }
    }
}
