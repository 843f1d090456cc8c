//! Every dump the writer writes is read back: header, modules, unloaded drivers, memory through
//! the page tables, and a stack that unwinds (not scans) to the chosen call chain. kdmp-parser
//! (PyPI) reads the bitmap dump as an independent check.

mod common;

use bsod_workbench::dump::{self, DumpKind, analysis::FrameMethod};
use bsod_workbench::synth::dump::{
    DumpSpec, write_bitmap_dump, write_module_images, write_triage_dump,
};

fn check_stack(d: &dump::CrashDump, a: &dump::analysis::Analysis, spec: &DumpSpec) {
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
    for f in &a.stack {
        assert_eq!(
            f.method,
            FrameMethod::Unwind,
            "frame {} {}",
            f.index,
            f.call_site
        );
    }
    // KeBugCheckEx's home area holds the bug-check code and P1..P3, as WinDbg shows.
    let f0 = &a.stack[0];
    assert_eq!(f0.args[0], Some(0x5a));
    assert_eq!(f0.args[1], Some(1));
    assert_eq!(f0.call_site, "nt!KeBugCheckEx");
    assert_eq!(a.faulting_module.as_deref(), Some("filecrypt.sys"));
    // Return addresses follow a call instruction, and the last frame returns to 0.
    assert_eq!(a.stack.last().unwrap().return_address, 0);
    for w in a.stack.windows(2) {
        assert_eq!(w[0].return_address, w[1].ip);
        assert!(w[1].child_sp > w[0].child_sp);
    }
    assert_eq!(
        a.symbol_name.as_deref(),
        Some(format!("nt!IopLoadDriver+{:x}", a.stack[1].symbol_offset.unwrap()).as_str())
    );
    assert_eq!(a.module_name.as_deref(), Some("nt"));
    assert_eq!(a.image_name.as_deref(), Some("ntkrnlmp.exe"));
    assert!(
        a.image_version
            .as_deref()
            .is_some_and(|v| v.starts_with("10.0.19041.")),
        "{:?}",
        a.image_version
    );
    assert_eq!(a.parameter_driver.as_deref(), Some("filecrypt.sys"));
    // P2/P3 point at UNICODE_STRINGs in memory.
    let bc = d.bugcheck.as_ref().unwrap();
    assert_eq!(
        d.memory.read_unicode_string64(bc.parameters[1]).unwrap(),
        "\\FileSystem\\FileCrypt"
    );
    assert_eq!(bc.parameters[3], 0xffff_ffff_c000_0428);
}

#[test]
fn bitmap_dump_reads_back_and_unwinds() {
    for dense in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("MEMORY.DMP");
        let mut spec = DumpSpec::demo_0x5a();
        spec.dense_bitmap = dense;
        write_bitmap_dump(&p, &spec).unwrap();
        let d = dump::open(&p).unwrap();
        assert_eq!(d.kind, DumpKind::KernelBitmap);
        assert_eq!(d.dump_type, 5);
        assert_eq!(d.secondary_signature.as_deref(), Some("SDMP"));
        assert_eq!(d.build, 19041);
        assert_eq!(d.processors, 4);
        assert_eq!(d.bugcheck.as_ref().unwrap().code, 0x5a);
        assert_eq!(d.modules.len(), spec.modules.len(), "{:?}", d.warnings);
        for (m, s) in d.modules.iter().zip(&spec.modules) {
            assert_eq!(m.name, s.name);
            assert_eq!(m.path, s.path);
        }
        let names: Vec<&str> = d.unloaded_modules.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["dam.sys", "WdBoot.sys"]);
        assert_eq!(d.process_name.as_deref(), Some("System"));
        let t = d.thread.as_ref().unwrap();
        assert!(t.address.is_some());
        let rsp = d.context.as_ref().unwrap().sp();
        assert!(
            rsp >= t.stack_start.unwrap() && rsp < t.stack_start.unwrap() + t.stack_size.unwrap()
        );
        assert!(
            d.module_by_key(&bsod_workbench::driver::DriverKey::from_path("cdrom.sys").unwrap())
                .is_some()
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let a = dump::analysis::analyze(&d, &Default::default());
        check_stack(&d, &a, &spec);
        assert!(a.images.iter().all(|(_, from)| from == "dump memory"));
    }
}

#[test]
fn triage_dump_reads_back_and_unwinds_with_store_images() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Mini031424-01.dmp");
    let spec = DumpSpec::demo_0x5a();
    write_triage_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    assert_eq!(d.kind, DumpKind::KernelTriage);
    assert!(d.triage.as_ref().unwrap().valid);
    assert_eq!(d.modules.len(), spec.modules.len());
    assert_eq!(d.process_name.as_deref(), Some("System"));
    assert_eq!(d.unloaded_modules.len(), 2);
    // Without images: frame 0 from the context, then a scan.
    let a = dump::analysis::analyze(&d, &Default::default());
    assert!(
        a.stack
            .iter()
            .skip(1)
            .all(|f| f.method == FrameMethod::Scan)
    );
    // With the images in a symbol store: a full unwind.
    let store = tempfile::tempdir().unwrap();
    write_module_images(store.path(), &spec).unwrap();
    let opts = dump::analysis::AnalyzeOptions {
        symbol_path: Some(format!(
            "srv*{}*https://msdl.microsoft.com/download/symbols",
            store.path().display()
        )),
        ..Default::default()
    };
    let a = dump::analysis::analyze(&d, &opts);
    check_stack(&d, &a, &spec);
}

#[test]
fn kdmp_parser_reads_the_written_bitmap_dump() {
    if !common::python_oracle("kdmp_parser") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("MEMORY.DMP");
    let mut spec = DumpSpec::demo_0x5a();
    spec.dense_bitmap = false;
    write_bitmap_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let nt = &d.modules[0];
    let rsp = match d.context.as_ref().unwrap() {
        dump::Context::Amd64(c) => c.rsp,
        _ => unreachable!(),
    };
    let script = format!(
        r#"
import kdmp_parser, sys
p = kdmp_parser.KernelDumpParser(sys.argv[1])
h = p.header
print(p.type.name)
print(hex(h.BugCheckCode), hex(h.BugCheckCodeParameter[3]) if hasattr(h, 'BugCheckCodeParameter') else '')
print(hex(p.context.Rip), hex(p.context.Rsp))
nt = p.read_virtual_page({nt_base})
print(bytes(nt[:2]).decode())
stk = p.read_virtual_page({rsp} & ~0xfff)
off = {rsp} & 0xfff
print(hex(int.from_bytes(stk[off:off+8], 'little')))
print(hex(p.translate_virtual({rsp})))
"#,
        nt_base = nt.base,
        rsp = rsp
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script, p.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "BMPDump");
    assert!(lines[1].starts_with("0x5a"));
    let ctx = d.context.as_ref().unwrap();
    assert_eq!(lines[2], format!("{:#x} {:#x}", ctx.ip(), ctx.sp()));
    assert_eq!(lines[3], "MZ");
    // The return address at RSP, read by both.
    assert_eq!(lines[4], format!("{:#x}", d.memory.read_u64(rsp).unwrap()));
    assert_eq!(lines[5], format!("{:#x}", d.memory.translate(rsp).unwrap()));
}

#[test]
fn trap_frame_unwinds_through_the_machine_frame() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("MEMORY.DMP");
    let spec = DumpSpec::demo_0xd1();
    write_bitmap_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let a = dump::analysis::analyze(&d, &Default::default());
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
    assert_eq!(sites, spec.call_chain, "{:?}", a.warnings);
    assert!(a.stack.iter().all(|f| f.method == FrameMethod::Unwind));
    // KiPageFault's frame crosses the hardware frame; the next frame is the interrupted IP (P4).
    assert!(a.stack[2].trap_frame);
    assert_eq!(a.stack.iter().filter(|f| f.trap_frame).count(), 1);
    let p4 = d.bugcheck.as_ref().unwrap().parameters[3];
    assert_eq!(a.stack[3].ip, p4);
    assert_eq!(a.stack[2].return_address, p4);
    // The culprit: the driver, not the nt plumbing.
    assert_eq!(a.faulting_module.as_deref(), Some("faultydrv.sys"));
    assert_eq!(a.module_name.as_deref(), Some("faultydrv"));
    let off = a.stack[3].symbol_offset.unwrap();
    assert_eq!(
        a.symbol_name,
        Some(format!("faultydrv!ReadRegisterBlock+{off:x}"))
    );
    assert_eq!(a.faulting_ip, Some(p4));
    assert!(
        a.faulting_ip_disasm
            .as_deref()
            .is_some_and(|s| s.contains("call")),
        "{:?}",
        a.faulting_ip_disasm
    );
}
