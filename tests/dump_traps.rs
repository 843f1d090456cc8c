//! Stacks as WinDbg walks them, on synthetic dumps (src/synth): a system-service trap frame at
//! the top of the kernel stack ends the stack with the user-mode return address; a page-fault
//! KTRAP_FRAME is crossed (`(TrapFrame @ ...)`); stray values that point into loaded drivers
//! never become frames after a trap frame, and an unverified scan frame is never the culprit.
//! With and without the module images (a triage dump holds no code).

use bsod_workbench::dump::{
    self,
    analysis::{self, Analysis, FrameMethod, NameSource},
};
use bsod_workbench::synth::dump::{
    DumpSpec, write_bitmap_dump, write_module_images, write_triage_dump,
};
use std::path::Path;

fn analyze_with_store(d: &dump::CrashDump, store: Option<&Path>) -> Analysis {
    let opts = analysis::AnalyzeOptions {
        symbol_path: store.map(|s| s.display().to_string()),
        ..Default::default()
    };
    analysis::analyze(d, &opts)
}

/// The KTRAP_FRAME of a system service sits at InitialStack - 0x190 (the synthetic stack top).
fn syscall_trap_address(a: &Analysis) -> u64 {
    a.stack
        .iter()
        .find_map(|f| f.trap_frame_address)
        .expect("a frame with (TrapFrame @ ...)")
}

fn check_syscall_stack(a: &Analysis, spec: &DumpSpec, named: bool) {
    let (user_rip, user_rsp) = spec.user_return.unwrap();
    let n = a.stack.len();
    // KeBugCheckEx, KiBugCheckDispatch, KiSystemServiceExitPico (TrapFrame), user address.
    assert_eq!(n, 4, "{:#?}", a.stack);
    let last = &a.stack[3];
    assert_eq!(last.ip, user_rip);
    assert_eq!(last.child_sp, user_rsp);
    assert_eq!(last.module, None);
    assert_eq!(last.call_site, "0x00007ffe`7350d0c4");
    assert_eq!(last.return_address, 0);
    let owner = &a.stack[2];
    assert!(owner.trap_frame);
    assert_eq!(owner.return_address, user_rip);
    let t = syscall_trap_address(a);
    assert_eq!(owner.trap_frame_address, Some(t));
    assert_eq!(
        owner.child_sp, t,
        "the trap frame is the handler's Child-SP"
    );
    assert!(owner.trusted());
    assert_eq!(a.stack.iter().filter(|f| f.module.is_none()).count(), 1);
    // No frame names win32k: its stray values sit inside the trap frame.
    assert!(
        a.stack
            .iter()
            .all(|f| f.module_short.as_deref() != Some("win32k"))
    );
    // The culprit: the system-service exit, in nt; the process in the bucket.
    assert_eq!(a.faulting_frame, Some(2));
    assert_eq!(a.module_name.as_deref(), Some("nt"));
    assert_eq!(a.image_name.as_deref(), Some("ntkrnlmp.exe"));
    let off = owner.offset.unwrap();
    if named {
        let so = owner.symbol_offset.unwrap();
        assert_eq!(owner.symbol.as_deref(), Some("KiSystemServiceExitPico"));
        assert_eq!(owner.name_source, NameSource::Exports);
        assert_eq!(
            a.symbol_name,
            Some(format!("nt!KiSystemServiceExitPico+{so:x}"))
        );
        assert_eq!(
            a.failure_bucket_id.as_deref(),
            Some("RAISED_IRQL_FAULT_notmyfault64.e_nt!KiSystemServiceExitPico")
        );
    } else {
        assert_eq!(owner.name_source, NameSource::None);
        assert_eq!(a.symbol_name, Some(format!("nt+{off:x}")));
        assert_eq!(
            a.failure_bucket_id.as_deref(),
            Some("RAISED_IRQL_FAULT_notmyfault64.e_nt!unknown_function")
        );
    }
}

#[test]
fn system_service_trap_ends_the_stack_in_user_mode_triage_without_images() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Mini120426-01.dmp");
    let spec = DumpSpec::syscall_0x4a();
    write_triage_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let a = analysis::analyze(&d, &Default::default());
    check_syscall_stack(&a, &spec, false);
    // The trap frame was found by the scan: the frame after it is restored from it.
    assert_eq!(a.stack[3].method, FrameMethod::Trap);
    assert_eq!(a.stack[1].method, FrameMethod::Scan);
}

#[test]
fn system_service_trap_ends_the_stack_in_user_mode_triage_with_images() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Mini120426-01.dmp");
    let spec = DumpSpec::syscall_0x4a();
    write_triage_dump(&p, &spec).unwrap();
    let store = tempfile::tempdir().unwrap();
    write_module_images(store.path(), &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let a = analyze_with_store(&d, Some(store.path()));
    check_syscall_stack(&a, &spec, true);
    // Unwound with .pdata through the machine frame.
    assert!(a.stack.iter().all(|f| f.method == FrameMethod::Unwind));
    let text = dump::report::text_report(&d, &a);
    let t = syscall_trap_address(&a);
    assert!(
        text.contains(&format!(
            "nt!KiSystemServiceExitPico+{:#x} (TrapFrame @ {:08x}`{:08x})",
            a.stack[2].symbol_offset.unwrap(),
            t >> 32,
            t & 0xffff_ffff
        )),
        "{text}"
    );
    let json = serde_json::to_value(dump::report::json_report(&d, &a)).unwrap();
    let f2 = &json["stack"][2];
    assert_eq!(f2["walk"], "unwind");
    assert_eq!(f2["symbol_source"], "exports");
    assert_eq!(f2["trap_frame_address"], format!("{t:#x}"));
    assert_eq!(json["stack"][3]["call_site"], "0x00007ffe`7350d0c4");
    assert_eq!(json["stack"][3]["symbol_source"], "none");
}

#[test]
fn system_service_trap_in_a_kernel_dump() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("MEMORY.DMP");
    let mut spec = DumpSpec::syscall_0x4a();
    spec.size_bytes = 16 << 20;
    write_bitmap_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let a = analysis::analyze(&d, &Default::default());
    check_syscall_stack(&a, &spec, true);
}

/// 0xD1 through KiPageFault: the trap frame is crossed, the interrupted driver is the culprit.
fn check_page_fault(a: &Analysis, d: &dump::CrashDump, spec: &DumpSpec) {
    let p4 = d.bugcheck.as_ref().unwrap().parameters[3];
    let i = a
        .stack
        .iter()
        .position(|f| f.ip == p4)
        .expect("the interrupted frame");
    assert!(a.stack[i - 1].trap_frame_address.is_some());
    assert_eq!(a.stack[i - 1].return_address, p4);
    assert_eq!(a.faulting_frame, Some(i));
    assert_eq!(a.module_name.as_deref(), Some("faultydrv"));
    assert_eq!(a.faulting_module.as_deref(), Some("faultydrv.sys"));
    assert!(
        a.failure_bucket_id
            .as_deref()
            .unwrap()
            .starts_with("AV_faultydrv!")
    );
    // Every call-chain function is on the stack, in order; the last frame is the outermost one.
    let mut want = spec.call_chain.iter();
    let mut next = want.next();
    for f in &a.stack {
        let site = format!("{}!", f.module_short.clone().unwrap_or_default());
        if let Some(w) = next
            && (f.symbol.as_deref().is_some_and(|s| w.ends_with(s)) || f.symbol.is_none())
            && w.starts_with(&site)
            && f.trusted()
        {
            next = want.next();
        }
    }
    // The culprit is never an unverified frame.
    let culprit = &a.stack[a.faulting_frame.unwrap()];
    assert!(culprit.trusted());
}

#[test]
fn page_fault_trap_frame_with_images_and_stray_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Mini120426-02.dmp");
    let mut spec = DumpSpec::demo_0xd1();
    spec.modules[9].functions.push("FxDispatch".into()); // Wdf01000.sys
    spec.stray = vec![
        "wdf01000!FxDispatch".into(),
        "nt!IoCreateDriver".into(),
        "wdf01000!FxDispatch".into(),
        "nt!IoCreateDriver".into(),
    ];
    write_triage_dump(&p, &spec).unwrap();
    let store = tempfile::tempdir().unwrap();
    write_module_images(store.path(), &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let a = analyze_with_store(&d, Some(store.path()));
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
    check_page_fault(&a, &d, &spec);
    let json = serde_json::to_value(dump::report::json_report(&d, &a)).unwrap();
    let trap_owner = a
        .stack
        .iter()
        .position(|f| f.trap_frame_address.is_some())
        .unwrap();
    assert!(json["stack"][trap_owner]["trap_frame_address"].is_string());
    assert!(json["stack"][0]["trap_frame_address"].is_null());
}

#[test]
fn page_fault_trap_frame_scanned_without_images() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Mini120426-03.dmp");
    let mut spec = DumpSpec::demo_0xd1();
    spec.modules[9].functions.push("FxDispatch".into());
    spec.stray = vec!["wdf01000!FxDispatch".into(), "wdf01000!FxDispatch".into()];
    write_triage_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let a = analysis::analyze(&d, &Default::default());
    // The scan stops at the KiPageFault trap frame and goes on from the registers it saved.
    let p4 = d.bugcheck.as_ref().unwrap().parameters[3];
    let i = a
        .stack
        .iter()
        .position(|f| f.ip == p4)
        .expect("interrupted frame");
    assert_eq!(a.stack[i].method, FrameMethod::Trap);
    assert!(a.stack[i].trusted());
    let owner = &a.stack[i - 1];
    assert_eq!(owner.trap_frame_address, Some(owner.child_sp));
    assert!(
        owner.verified,
        "the call just below a KTRAP_FRAME is certain"
    );
    check_page_fault(&a, &d, &spec);
    // Stray wdf01000 values may show as unverified scan frames, never as the culprit.
    for f in &a.stack {
        if f.module_short.as_deref() == Some("wdf01000") {
            assert_eq!(f.walk_label(), "scan-unverified");
        }
    }
}

#[test]
fn only_unverified_frames_fall_back_to_nt() {
    // 0x5A with no images and a stray driver value on the stack: nt is named, not the driver.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Mini120426-04.dmp");
    let mut spec = DumpSpec::demo_0x5a();
    spec.modules[10].functions.push("AcpiDispatch".into()); // ACPI.sys
    spec.stray = vec!["acpi!AcpiDispatch".into(); 3];
    write_triage_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let a = analysis::analyze(&d, &Default::default());
    assert!(
        a.stack
            .iter()
            .any(|f| f.module_short.as_deref() == Some("acpi") && !f.trusted()),
        "{:#?}",
        a.stack
    );
    assert_eq!(a.module_name.as_deref(), Some("nt"));
    assert_eq!(a.image_name.as_deref(), Some("ntkrnlmp.exe"));
    assert!(
        a.failure_bucket_id
            .as_deref()
            .unwrap()
            .starts_with("0x5A_nt!")
    );
    if let Some(i) = a.faulting_frame {
        assert!(a.stack[i].trusted());
    }
}

#[test]
fn power_failure_names_the_pdo_image_and_the_irp_holder() {
    // 0x9F P1 = 3 as WinDbg buckets it: `0x9F_3_<holder>_IMAGE_<PDO driver>`.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Mini120426-05.dmp");
    let mut spec = DumpSpec::demo_0x5a();
    spec.bugcheck = 0x9f;
    spec.params = [3, 0, 0xffff_f801_3bb1_1850, 0];
    spec.string_params.clear();
    spec.power_irp = Some(("pci.sys".into(), "storahci.sys".into()));
    spec.call_chain = [
        "nt!KeBugCheckEx",
        "nt!PopIrpWatchdogBugcheck",
        "nt!PopIrpWatchdog",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    write_triage_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let a = analysis::analyze(&d, &Default::default());
    assert_eq!(a.module_name.as_deref(), Some("pci"), "{:?}", a.warnings);
    assert_eq!(a.image_name.as_deref(), Some("pci.sys"));
    assert_eq!(
        a.failure_bucket_id.as_deref(),
        Some("0x9F_3_storahci_IMAGE_pci.sys")
    );
}

#[test]
fn exception_address_outside_the_stack_is_named_from_the_image() {
    // 0x1E with P2 inside a driver that is on no frame: the culprit is that address, named
    // like a frame would be (exports here), and the bucket carries its function.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Mini120426-06.dmp");
    let mut spec = DumpSpec::demo_0x5a();
    spec.bugcheck = 0x1e;
    spec.string_params.clear();
    let store = tempfile::tempdir().unwrap();
    write_module_images(store.path(), &spec).unwrap();
    // Where cng.sys's DriverEntry lands (placement is deterministic): first pass.
    write_triage_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let cng = d
        .modules
        .iter()
        .find(|m| m.name == "cng.sys")
        .unwrap()
        .clone();
    let at = cng.base + 0x1000 + 0x10;
    spec.params = [0xc000_0005, at, 0, 0];
    write_triage_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let a = analyze_with_store(&d, Some(store.path()));
    assert_eq!(a.faulting_frame, None);
    assert_eq!(a.module_name.as_deref(), Some("cng"));
    assert_eq!(a.image_name.as_deref(), Some("cng.sys"));
    assert_eq!(a.symbol_name.as_deref(), Some("cng!DriverEntry+10"));
    // 0x1E is never bucketed `AV_`: WinDbg spells the access violation with its kind from P3
    // (0 = read), as in `0x1E_c0000005_R_nt!CmpCreateKeyBody`.
    assert_eq!(
        a.failure_bucket_id.as_deref(),
        Some("0x1E_c0000005_R_cng!DriverEntry")
    );
}

#[test]
fn interrupt_trap_frame_names_the_interrupted_dpc() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Mini120426-07.dmp");
    // 0x133 DPC_WATCHDOG_VIOLATION (P1 0): the clock interrupt's trap frame interrupted
    // contosowlan.sys's DPC (the findings scenario's dump).
    let spec = bsod_workbench::synth::scenarios::dpc_watchdog_spec(0);
    write_triage_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    // Without images: the scan stops at the interrupt's KTRAP_FRAME; the DPC it interrupted is
    // restored from it, trusted, and outside the core modules.
    let a = analysis::analyze(&d, &Default::default());
    let i = a.faulting_frame.expect("a culprit frame");
    assert_eq!(a.stack[i].method, FrameMethod::Trap);
    assert!(a.stack[i - 1].trap_frame_address.is_some());
    assert_eq!(a.module_name.as_deref(), Some("contosowlan"));
    assert_eq!(
        a.failure_bucket_id.as_deref(),
        Some("0x133_DPC_contosowlan!unknown_function")
    );
    // With images: unwound and named.
    let store = tempfile::tempdir().unwrap();
    write_module_images(store.path(), &spec).unwrap();
    let a = analyze_with_store(&d, Some(store.path()));
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
    assert_eq!(
        a.failure_bucket_id.as_deref(),
        Some("0x133_DPC_contosowlan!DpcRoutine")
    );
    assert!(
        a.symbol_name
            .as_deref()
            .is_some_and(|s| s.starts_with("contosowlan!DpcRoutine+"))
    );
}

#[test]
fn d1_executing_paged_out_code_is_a_paged_ip_bucket() {
    // 0xD1 with P3 = 8 (execute) and P1 = P4: the driver ran code from a page that was not
    // present at DISPATCH_LEVEL; WinDbg buckets it `AV_CODE_AV_PAGED_IP_<driver>!<function>`
    // (`AV_CODE_AV_PAGED_IP_TestDriver!AccessPageableMemory`).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Mini-paged-ip.dmp");
    let mut spec = DumpSpec::demo_0xd1();
    write_triage_dump(&p, &spec).unwrap();
    let p4 = dump::open(&p).unwrap().bugcheck.unwrap().parameters[3];
    spec.params = [p4, 2, 8, 0];
    write_triage_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    assert_eq!(d.bugcheck.as_ref().unwrap().parameters[3], p4);
    let a = analysis::analyze(&d, &Default::default());
    assert_eq!(a.module_name.as_deref(), Some("faultydrv"));
    let bucket = a.failure_bucket_id.unwrap();
    assert!(
        bucket.starts_with("AV_CODE_AV_PAGED_IP_faultydrv!"),
        "{bucket}"
    );
    // A read of another address stays `AV_`.
    spec.params = [0x10, 2, 0, 0];
    write_triage_dump(&p, &spec).unwrap();
    let d = dump::open(&p).unwrap();
    let a = analysis::analyze(&d, &Default::default());
    assert!(a.failure_bucket_id.unwrap().starts_with("AV_faultydrv!"));
}
