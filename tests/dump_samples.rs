//! Real dumps: the x64 and ARM64 triage minidumps (every value of triage_x64.expected.json),
//! the real full-dump header, and the user-mode minidumps.

mod common;

use bsod_workbench::dump::{self, Context, DumpKind};
use serde_json::Value;

fn hex(v: &Value) -> u64 {
    let s = v.as_str().expect("hex string");
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex")
}

#[test]
fn triage_x64_matches_expected_json() {
    let p = sample_or_skip!("rizin-testbins/triage_x64.dmp");
    let e = sample_or_skip!("rizin-testbins/triage_x64.expected.json");
    let exp: Value = serde_json::from_str(&std::fs::read_to_string(e).unwrap()).unwrap();
    let d = dump::open(&p).unwrap();
    assert_eq!(d.kind, DumpKind::KernelTriage);
    assert_eq!(u64::from(d.dump_type), exp["dump_type"].as_u64().unwrap());
    assert_eq!(
        u64::from(d.major_version),
        exp["major_version"].as_u64().unwrap()
    );
    assert_eq!(u64::from(d.build), exp["build"].as_u64().unwrap());
    assert_eq!(u64::from(d.machine), hex(&exp["machine"]));
    assert_eq!(u64::from(d.processors), exp["processors"].as_u64().unwrap());
    assert_eq!(
        d.directory_table_base,
        Some(hex(&exp["directory_table_base"]))
    );
    assert_eq!(d.pfn_database, Some(hex(&exp["pfn_database"])));
    assert_eq!(
        d.ps_loaded_module_list,
        Some(hex(&exp["ps_loaded_module_list"]))
    );
    assert_eq!(
        d.ps_active_process_head,
        Some(hex(&exp["ps_active_process_head"]))
    );
    assert_eq!(
        d.kd_debugger_data_block,
        Some(hex(&exp["kd_debugger_data_block"]))
    );
    let bc = d.bugcheck.as_ref().unwrap();
    assert_eq!(u64::from(bc.code), hex(&exp["bugcheck_code"]));
    for (i, p) in exp["bugcheck_params"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(bc.parameters[i], hex(p), "P{}", i + 1);
    }
    let t = dump::filetime_to_string(d.system_time.unwrap());
    assert_eq!(t, exp["system_time_utc"].as_str().unwrap());
    let up = d.system_uptime.unwrap() as f64 / 1e7;
    assert!((up - exp["system_uptime_seconds"].as_f64().unwrap()).abs() < 0.001);
    let ex = d.exception.as_ref().unwrap();
    assert_eq!(u64::from(ex.code), hex(&exp["exception_code"]));
    assert_eq!(ex.address, hex(&exp["exception_address"]));
    // TRIAGE_DUMP64: every field of the expected object.
    let tri = serde_json::to_value(d.triage.as_ref().unwrap()).unwrap();
    let names = [
        ("ServicePackBuild", "service_pack_build"),
        ("SizeOfDump", "size_of_dump"),
        ("ValidOffset", "valid_offset"),
        ("ContextOffset", "context_offset"),
        ("ExceptionOffset", "exception_offset"),
        ("MmOffset", "mm_offset"),
        ("UnloadedDriversOffset", "unloaded_drivers_offset"),
        ("PrcbOffset", "prcb_offset"),
        ("ProcessOffset", "process_offset"),
        ("ThreadOffset", "thread_offset"),
        ("CallStackOffset", "call_stack_offset"),
        ("SizeOfCallStack", "size_of_call_stack"),
        ("DriverListOffset", "driver_list_offset"),
        ("DriverCount", "driver_count"),
        ("StringPoolOffset", "string_pool_offset"),
        ("StringPoolSize", "string_pool_size"),
        ("BrokenDriverOffset", "broken_driver_offset"),
        ("TriageOptions", "triage_options"),
        ("TopOfStack", "top_of_stack"),
        ("DataPageAddress", "data_page_address"),
        ("DataPageOffset", "data_page_offset"),
        ("DataPageSize", "data_page_size"),
        ("DebuggerDataOffset", "debugger_data_offset"),
        ("DebuggerDataSize", "debugger_data_size"),
        ("DataBlocksOffset", "data_blocks_offset"),
        ("DataBlocksCount", "data_blocks_count"),
    ];
    let et = exp["triage"].as_object().unwrap();
    let mut checked = 0;
    for (k, v) in et {
        let ours = names.iter().find(|n| n.0 == k).map(|n| n.1);
        let Some(ours) = ours else { continue };
        assert_eq!(tri[ours].as_u64().unwrap(), hex(v), "triage {k}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} triage fields compared");
    assert!(d.triage.as_ref().unwrap().valid, "TRGD at ValidOffset");
    // Modules: all 151, every field.
    let em = exp["modules"].as_array().unwrap();
    assert_eq!(d.modules.len(), em.len());
    for (m, e) in d.modules.iter().zip(em) {
        assert_eq!(m.path, e["name"].as_str().unwrap());
        assert_eq!(m.base, hex(&e["base"]), "{}", m.path);
        assert_eq!(u64::from(m.size), hex(&e["size"]), "{}", m.path);
        assert_eq!(u64::from(m.checksum), hex(&e["checksum"]), "{}", m.path);
        assert_eq!(
            u64::from(m.timestamp),
            hex(&e["timedatestamp"]),
            "{}",
            m.path
        );
    }
    let eu = exp["unloaded_drivers"].as_array().unwrap();
    assert_eq!(d.unloaded_modules.len(), eu.len());
    for (u, e) in d.unloaded_modules.iter().zip(eu) {
        assert_eq!(u.name, e["name"].as_str().unwrap());
        assert_eq!(u.start, hex(&e["start"]));
        assert_eq!(u.end, hex(&e["end"]));
    }
    let Some(Context::Amd64(c)) = &d.context else {
        panic!("x64 context expected")
    };
    let regs: std::collections::HashMap<&str, u64> = d
        .context
        .as_ref()
        .unwrap()
        .registers()
        .into_iter()
        .collect();
    for (k, v) in exp["context"].as_object().unwrap() {
        let key = if k == "eflags" { "efl" } else { k.as_str() };
        assert_eq!(regs[key], hex(v), "register {k}");
    }
    assert_eq!(c.rip, d.bugcheck.as_ref().unwrap().parameters[1]);
    assert_eq!(d.process_name.as_deref(), Some("System"));
    // Memory: the faulting bytes are captured in a data block (43 89 14 01).
    let ip = d.bugcheck.as_ref().unwrap().parameters[1];
    assert_eq!(d.memory.read_vec(ip, 4).unwrap(), [0x43, 0x89, 0x14, 0x01]);
    assert!(d.memory.read_vec(0x1000, 1).is_err());
}

#[test]
fn triage_x64_analysis_names_amdppm() {
    let p = sample_or_skip!("rizin-testbins/triage_x64.dmp");
    let d = dump::open(&p).unwrap();
    let a = dump::analysis::analyze(&d, &Default::default());
    assert_eq!(a.faulting_module.as_deref(), Some("amdppm.sys"));
    assert_eq!(a.module_name.as_deref(), Some("amdppm"));
    assert_eq!(a.symbol_name.as_deref(), Some("amdppm+334c"));
    assert_eq!(
        a.failure_bucket_id.as_deref(),
        Some("AV_amdppm!unknown_function")
    );
    assert_eq!(a.stack[0].call_site, "amdppm+0x334c");
    // P3's EXCEPTION_RECORD (docs/formats/crash-dump.md §1.3): c0000005 at P2, parameters [1, ffffffffffffffff].
    let ex = a
        .exception_record
        .as_ref()
        .expect("P3 exception record captured");
    assert_eq!(ex.code, 0xc000_0005);
    assert_eq!(ex.flags, 0);
    assert_eq!(ex.address, 0xfffff8048b58334c);
    assert_eq!(ex.parameters, [1, u64::MAX]);
    assert!(a.context_source.as_deref().unwrap().contains(".cxr"));
    assert_eq!(
        a.faulting_ip_disasm
            .as_deref()
            .map(|s| s.trim_start_matches("43891401").trim()),
        Some("mov [r9+r8],edx")
    );
    // With no images, the rest of the stack is a scan, and every scan frame points into a module.
    assert!(a.stack.len() > 1);
    for f in &a.stack[1..] {
        assert_eq!(f.method, dump::analysis::FrameMethod::Scan);
        assert!(f.module.is_some());
    }
}

#[test]
fn triage_x64_scan_ends_at_the_thread_start() {
    // The system thread's initial frame holds the stack base and limit (0xffff850429893000,
    // 0xffff85042988d000 in this dump): WinDbg's STACK_TEXT ends with KiStartSystemThread, whose
    // return address is 0, so the scan ends there too; values a scan cannot verify that are
    // pointers rather than return addresses (repeats, 16-byte-aligned function starts such as
    // the thread's start routine) are not listed.
    let p = sample_or_skip!("rizin-testbins/triage_x64.dmp");
    let d = dump::open(&p).unwrap();
    let a = dump::analysis::analyze(&d, &Default::default());
    let last = a.stack.last().unwrap();
    assert_eq!(last.return_address, 0);
    assert_eq!(last.module_short.as_deref(), Some("nt"));
    assert_eq!(last.offset, Some(0x3fd0d8), "{}", last.call_site);
    assert!(last.child_sp < 0xffff850429893000);
    // Before: 53 frames, six of them the same unverified nt+0x36b110.
    assert!(a.stack.len() <= 40, "{} frames", a.stack.len());
    let mut seen = std::collections::HashSet::new();
    for f in a.stack.iter().skip(1).filter(|f| !f.verified) {
        assert!(seen.insert(f.ip), "{} listed twice", f.call_site);
        assert_ne!(f.ip % 16, 0, "{} is a function start", f.call_site);
    }
}

#[test]
fn triage_arm64_header_bugcheck_and_modules() {
    let p = sample_or_skip!("rizin-testbins/triage_arm64.dmp");
    let d = dump::open(&p).unwrap();
    assert_eq!(d.kind, DumpKind::KernelTriage);
    assert_eq!(d.machine, 0xaa64);
    assert_eq!(d.build, 22000);
    assert_eq!(d.processors, 8);
    let bc = d.bugcheck.as_ref().unwrap();
    assert_eq!(bc.code, 0x1c8);
    assert_eq!(bc.parameters[0], 0x1b58);
    assert_eq!(bc.parameters[1], 0xfffff803f3a20860);
    assert!(dump::filetime_to_string(d.system_time.unwrap()).starts_with("2021-09-14 02:51:58"));
    let up = d.system_uptime.unwrap() as f64 / 1e7;
    assert!((up - 796.7).abs() < 0.1, "uptime {up}");
    assert_eq!(d.modules.len(), 245);
    assert!(d.triage.as_ref().unwrap().valid);
    assert_eq!(d.triage.as_ref().unwrap().data_blocks_count, 679);
    let nt = &d.modules[0];
    assert!(
        nt.path.to_ascii_lowercase().ends_with("ntoskrnl.exe"),
        "{}",
        nt.path
    );
    // The module holding P2 (a global in nt) is the kernel.
    assert_eq!(
        d.module_at(bc.parameters[1]).map(|m| m.short_name()),
        Some("nt".into())
    );
    for m in &d.modules {
        assert!(
            m.base >= 0xffff_8000_0000_0000,
            "{} base {:#x}",
            m.path,
            m.base
        );
        assert!(
            m.size > 0 && m.size % 0x1000 == 0,
            "{} size {:#x}",
            m.path,
            m.size
        );
        assert!(m.path.starts_with('\\'), "{}", m.path);
    }
    assert!(matches!(d.context, Some(Context::Arm64(_))));
}

#[test]
fn full_dump_header_19045() {
    let p = sample_or_skip!("imhex-patterns/dmp64_full_header_19045.bin");
    let d = dump::open(&p).unwrap();
    assert_eq!(d.kind, DumpKind::KernelFull);
    assert_eq!(d.dump_type, 1);
    assert_eq!(d.build, 19045);
    assert_eq!(d.machine, 0x8664);
    assert_eq!(d.processors, 4);
    // 5 runs totalling 0x7fe86 pages; the first two stored pages are in the 16 KiB.
    let dump::memory::Backing::Physical { phys, .. } = d.memory.backing() else {
        panic!("physical backing expected")
    };
    assert_eq!(phys.stored_pages(d.memory.file()), 0x7fe86);
    let dump::physical::PhysMap::Runs(runs) = phys else {
        panic!("runs expected")
    };
    assert_eq!(runs.len(), 5);
    assert_eq!(
        phys.file_offset(d.memory.file(), runs[0].base_pfn),
        Some(0x2000)
    );
    assert!(phys.page(d.memory.file(), runs[0].base_pfn).is_some());
    let Some(Context::Amd64(c)) = &d.context else {
        panic!("x64 context")
    };
    assert_ne!(c.rsp, 0);
    assert_eq!(c.seg_cs, 0x10);
}

#[test]
fn user_minidumps() {
    let p = sample_or_skip!("rizin-testbins/calc.dmp");
    let d = dump::open(&p).unwrap();
    assert_eq!(d.kind, DumpKind::UserMinidump);
    assert_eq!(d.machine, 0x8664);
    assert_eq!(d.os_version.as_deref(), Some("6.1.7601"));
    assert!(!d.modules.is_empty());
    assert!(
        d.modules
            .iter()
            .any(|m| m.name.eq_ignore_ascii_case("ntdll.dll"))
    );
    assert!(d.context.is_some());

    let p = sample_or_skip!("imhex-patterns/minidump_user.dmp");
    let d = dump::open(&p).unwrap();
    assert_eq!(d.kind, DumpKind::UserMinidump);
    assert_eq!(d.machine, 0x14c);
    assert!(d.os_version.as_deref().unwrap().starts_with("5.1."));
}

#[test]
fn not_a_dump_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.dmp");
    std::fs::write(&p, b"hello world").unwrap();
    let e = dump::open(&p).unwrap_err().to_string();
    assert!(e.contains("x.dmp") && e.contains("offset 0x0"), "{e}");
    // A truncated PAGEDU64 is an error too, not a panic.
    std::fs::write(&p, b"PAGEDU64\0\0\0\0").unwrap();
    assert!(dump::open(&p).is_err());
}

/// The x64 triage sample turned into a 0x124 (P1 `p1`) whose WHEA_ERROR_RECORD (one section of
/// type `section`, body `body`) lies in the saved stack.
fn whea_variant(
    p: &std::path::Path,
    p1: u64,
    section: [u8; 16],
    body: &[u8],
) -> dump::analysis::Analysis {
    let d = dump::open(p).unwrap();
    let t = d.triage.clone().unwrap();
    let original = std::fs::read(p).unwrap();
    let mut rec = vec![0u8; 0x100];
    rec[..4].copy_from_slice(b"CPER");
    rec[0xa..0xc].copy_from_slice(&1u16.to_le_bytes());
    rec[0x80..0x84].copy_from_slice(&0xc8u32.to_le_bytes());
    rec[0x8c..0x90].copy_from_slice(&1u32.to_le_bytes()); // primary
    rec[0x90..0xa0].copy_from_slice(&section);
    rec[0xc8..0xc8 + body.len()].copy_from_slice(body);
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("Mini-0x124.dmp");
    // A place in the saved stack that no other data block shadows: the record reads back.
    for at in (0x100..0x2000usize).step_by(0x100) {
        let mut b = original.clone();
        let record_va = t.top_of_stack + at as u64;
        b[0x38..0x3c].copy_from_slice(&0x124u32.to_le_bytes());
        b[0x40..0x48].copy_from_slice(&p1.to_le_bytes());
        b[0x48..0x50].copy_from_slice(&record_va.to_le_bytes());
        // Written wherever the file holds that address: the stack window and any data block
        // ({VA u64, file offset u32, size u32}) covering it.
        let mut places = vec![t.call_stack_offset as usize + at];
        for i in 0..t.data_blocks_count as usize {
            let e = t.data_blocks_offset as usize + i * 16;
            let va = u64::from_le_bytes(original[e..e + 8].try_into().unwrap());
            let off = u32::from_le_bytes(original[e + 8..e + 12].try_into().unwrap()) as usize;
            let size = u32::from_le_bytes(original[e + 12..e + 16].try_into().unwrap()) as u64;
            if va <= record_va && record_va + rec.len() as u64 <= va + size {
                places.push(off + (record_va - va) as usize);
            }
        }
        for f in places {
            b[f..f + rec.len()].copy_from_slice(&rec);
        }
        std::fs::write(&q, &b).unwrap();
        let d = dump::open(&q).unwrap();
        if d.memory.read_vec(record_va, rec.len()).ok() == Some(rec.clone()) {
            return dump::analysis::analyze(&d, &Default::default());
        }
    }
    panic!("no unshadowed place in the saved stack");
}

#[test]
fn triage_x64_cpu_vendor_names_whea_errors() {
    let p = sample_or_skip!("rizin-testbins/triage_x64.dmp");
    let d = dump::open(&p).unwrap();
    // The saved KPRCB's vendor string (an AMD machine: amdppm.sys is loaded).
    assert_eq!(
        d.triage.as_ref().unwrap().cpu_vendor.as_deref(),
        Some("AuthenticAMD")
    );
    // A device-driver WHEA error (P1 0x10) whose record's section has the null type, as in
    // WinDbg's `0x124_16_GenuineIntel__UNKNOWN_IMAGE_GenuineIntel.sys`.
    let a = whea_variant(&p, 0x10, [0; 16], &[]);
    assert_eq!(a.module_name.as_deref(), Some("AuthenticAMD"));
    assert_eq!(a.image_name.as_deref(), Some("AuthenticAMD.sys"));
    assert_eq!(a.symbol_name, None);
    assert_eq!(
        a.failure_bucket_id.as_deref(),
        Some("0x124_16_AuthenticAMD__UNKNOWN_IMAGE_AuthenticAMD.sys")
    );
    // A machine check whose processor-generic section reports a cache error.
    let generic = [
        0xad, 0xcc, 0x76, 0x98, 0xb4, 0x47, 0xdb, 0x4b, 0xb6, 0x5e, 0x16, 0xf1, 0x93, 0xc4, 0xf3,
        0xdb,
    ];
    let mut body = [0u8; 0x10];
    body[0] = 4; // ErrorType valid
    body[0xa] = 1; // cache
    let a = whea_variant(&p, 0, generic, &body);
    assert_eq!(
        a.failure_bucket_id.as_deref(),
        Some("0x124_0_AuthenticAMD_PROCESSOR_CACHE_IMAGE_AuthenticAMD.sys")
    );
    // A TLB error: no public output shows its spelling, so no bucket rather than a guess.
    body[0xa] = 2;
    let a = whea_variant(&p, 0, generic, &body);
    assert_eq!(a.module_name.as_deref(), Some("AuthenticAMD"));
    assert_eq!(a.failure_bucket_id, None);
}
