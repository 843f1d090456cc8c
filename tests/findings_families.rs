//! The findings families on the synthetic scenarios (`bsodwb synth --scenario`): each gives its
//! finding first in `bsodwb analyze`, with the fix on the machine and from WinRE; each healthy
//! twin (the same machine without the fault) gives no error. Then one negative case per rule
//! the scenarios do not reach: the similar case without the fault stays quiet.

mod common;

use bsod_workbench::findings::catalogue;
use bsod_workbench::synth::dump::{DumpSpec, write_bitmap_dump};
use bsod_workbench::synth::evtx::EvtxWriter;
use bsod_workbench::synth::regf::{HiveWriter, RegData, ServiceSpec};
use bsod_workbench::synth::scenarios::{SCENARIOS, find};
use serde_json::Value;
use std::path::Path;

fn analyze(dir: &Path) -> Vec<Value> {
    common::analyze_json(dir)["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn scenario(name: &str, healthy: bool) -> (tempfile::TempDir, Vec<Value>) {
    let dir = tempfile::tempdir().expect("tempdir");
    find(name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
        .write(dir.path(), healthy)
        .expect("write scenario");
    let fs = analyze(dir.path());
    (dir, fs)
}

fn by_rule<'a>(fs: &'a [Value], rule: &str) -> Option<&'a Value> {
    fs.iter().find(|f| f["rule"] == rule)
}

fn evidence(f: &Value) -> String {
    f["evidence"].to_string()
}

fn serious(fs: &[Value]) -> Vec<&Value> {
    fs.iter()
        .filter(|f| f["severity"] == "critical" || f["severity"] == "error")
        .collect()
}

#[test]
fn every_scenario_gives_its_finding_first_and_its_healthy_twin_no_error() {
    for s in SCENARIOS {
        let (_d, fs) = scenario(s.name, false);
        let first = fs
            .first()
            .unwrap_or_else(|| panic!("{}: no finding", s.name));
        if s.rule.is_empty() {
            // The BCD family has no catalogue rule: its finding names BCD.
            assert!(
                first["title"]
                    .as_str()
                    .is_some_and(|t| t.contains("BCD testsigning is off")),
                "{}: {first:#}",
                s.name
            );
        } else {
            assert_eq!(first["rule"], s.rule, "{}: {fs:#?}", s.name);
            let rule = catalogue::rule(s.rule).expect("rule");
            assert_eq!(first["weight"], "proves", "{}", s.name);
            assert!(
                first["remediation_winre"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty()),
                "{}",
                s.name
            );
            assert!(!rule.source.is_empty());
        }
        assert!(
            first["remediation"].as_str().is_some_and(|r| !r.is_empty()),
            "{}",
            s.name
        );
        let (_h, healthy) = scenario(s.name, true);
        assert!(
            serious(&healthy).is_empty(),
            "{} healthy: {healthy:#?}",
            s.name
        );
        if !s.rule.is_empty() {
            assert!(by_rule(&healthy, s.rule).is_none(), "{} healthy", s.name);
        }
    }
}

#[test]
fn boot_filter_names_the_class_key_and_the_edit_that_removes_it() {
    let (_d, fs) = scenario("boot-filter-0x7b", false);
    let f = by_rule(&fs, "boot-filter-missing").expect("finding");
    assert_eq!(f["severity"], "critical");
    let ev = evidence(f);
    assert!(ev.contains(r"Control\\Class\\{71a27cdd-812a-11d0-bec7-08002be2092f}: UpperFilters = volsnap, bkfilter"), "{ev}");
    assert!(ev.contains("no key named bkfilter"), "{ev}");
    assert!(
        ev.contains("bug check 0x7B INACCESSIBLE_BOOT_DEVICE"),
        "{ev}"
    );
    assert!(
        ev.contains(r"Did not load driver \\SystemRoot\\system32\\drivers\\bkfilter.sys"),
        "{ev}"
    );
    assert_eq!(
        f["remediation"],
        r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\Class\{71a27cdd-812a-11d0-bec7-08002be2092f}" /v UpperFilters /t REG_MULTI_SZ /d "volsnap" /f"#
    );
    assert!(f["remediation_winre"].as_str().is_some_and(|r| r.starts_with(r#"reg load HKLM\OFFLINE C:\Windows\System32\config\SYSTEM && reg add "HKLM\OFFLINE\ControlSet001\Control\Class\"#)));
}

#[test]
fn a_critical_driver_missing_joins_the_dump_the_scm_chain_and_ntbtlog() {
    let (_d, fs) = scenario("critical-driver-missing-0x5a", false);
    let f = by_rule(&fs, "critical-load-failed").expect("finding");
    assert!(f["title"].as_str().is_some_and(|t| t.starts_with(
        "contosoflt.sys could not load (c0000034 STATUS_OBJECT_NAME_NOT_FOUND: its image is not on the disk)"
    )), "{f:#}");
    let ev = evidence(f);
    assert!(ev.contains("ErrorControl=3 (critical)"), "{ev}");
    assert!(ev.contains("7026"), "{ev}");
    assert!(
        f["remediation"]
            .as_str()
            .is_some_and(|r| r.contains(r"DriverStore\FileRepository\contosoflt.sys"))
    );
    let chain = by_rule(&fs, "scm-chain-driver").expect("chain");
    assert_eq!(chain["severity"], "error");
    assert!(
        chain["title"]
            .as_str()
            .is_some_and(|t| t.contains("so Contoso Backup Service did not start either")),
        "{chain:#}"
    );
    assert!(evidence(chain).contains("7001"));
}

#[test]
fn a_driver_fault_says_its_age_the_newer_copy_and_the_history() {
    let (_d, fs) = scenario("driver-fault-0xd1", false);
    let f = by_rule(&fs, "driver-fault").expect("finding");
    assert_eq!(f["driver"], "contosonet.sys");
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("contosonet.sys (Contoso Ltd., 2.1.0.5) faulted: 0xD1")),
        "{f:#}"
    );
    let ev = evidence(f);
    assert!(
        ev.contains("built 2017-03-02, 7 years before the crash"),
        "{ev}"
    );
    assert!(ev.contains("a newer contosonet.sys is in the case: Windows/System32/DriverStore/FileRepository/contosonet.inf_amd64_7d1e2f3a9b8c4d5e/contosonet.sys (2.4.0.0"), "{ev}");
    assert!(ev.contains("contosonet.sys in 3 of 3 crashes"), "{ev}");
    assert!(
        ev.contains("faulting frame contosonet!ReadRegisterBlock"),
        "{ev}"
    );
    assert_eq!(
        f["remediation"],
        r#"install the newer package the machine already has: pnputil /add-driver "C:\Windows\System32\DriverStore\FileRepository\contosonet.inf_amd64_7d1e2f3a9b8c4d5e\contosonet.inf" /install, then restart"#
    );
}

#[test]
fn stop_code_families_name_what_windows_names() {
    let (_d, fs) = scenario("power-irp-0x9f", false);
    let f = by_rule(&fs, "power-irp-blocked").expect("0x9F");
    assert_eq!(f["driver"], "contosousb.sys");
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.contains("the device stack of pci.sys"))
    );
    let (_d, fs) = scenario("whea-0x124", false);
    let f = by_rule(&fs, "whea-hardware").expect("0x124");
    assert!(f["driver"].is_null());
    assert!(evidence(f).contains("WHEA-Logger 18"), "{f:#}");
    assert!(
        evidence(f).contains("ComponentName=Processor Core"),
        "{f:#}"
    );
    let (_d, fs) = scenario("critical-process-0xef", false);
    let f = by_rule(&fs, "critical-process-died").expect("0xEF");
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("the critical process svchost.exe ended"))
    );
    let (_d, fs) = scenario("verifier-0xc4", false);
    let f = by_rule(&fs, "verifier-caught").expect("0xC4");
    assert!(
        evidence(f).contains(r#"VerifyDrivers \"contosonet.sys\""#),
        "{f:#}"
    );
    assert!(
        f["remediation"]
            .as_str()
            .is_some_and(|r| r.contains("verifier /reset"))
    );
    // Verifier's own finding replaces the "Verifier is on" warning.
    assert!(by_rule(&fs, "verifier-on").is_none());
    let (_d, fs) = scenario("dpc-watchdog-0x133", false);
    let f = by_rule(&fs, "dpc-watchdog-single").expect("0x133");
    assert_eq!(f["driver"], "contosowlan.sys");
}

#[test]
fn the_vulnerable_driver_blocklist_is_named_by_its_policy() {
    let (_d, fs) = scenario("ci-driver-blocklist", false);
    let f = by_rule(&fs, "ci-driver-blocklist").expect("finding");
    assert_eq!(f["driver"], "rtcore64.sys");
    assert!(
        evidence(f).contains("policy Microsoft Windows Driver Policy"),
        "{f:#}"
    );
    assert!(evidence(f).contains("Start=2 (auto)"), "{f:#}");
}

// ---- One negative (and positive) case per rule the scenarios do not reach. ----

fn write_system(dir: &Path, hive: &HiveWriter) {
    std::fs::create_dir_all(dir.join("Windows/System32/config")).expect("mkdir");
    hive.write_to(&dir.join("Windows/System32/config/SYSTEM"))
        .expect("hive");
}

fn write_dump(dir: &Path, code: u32, params: [u64; 4]) {
    let mut spec = DumpSpec::demo_0x5a();
    spec.bugcheck = code;
    spec.params = params;
    spec.string_params.clear();
    spec.size_bytes = 16 << 20;
    write_bitmap_dump(&dir.join("MEMORY.DMP"), &spec).expect("dump");
}

fn case(hive: &HiveWriter, dump: Option<(u32, [u64; 4])>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_system(dir.path(), hive);
    if let Some((code, params)) = dump {
        write_dump(dir.path(), code, params);
    }
    dir
}

fn volume_hive(filter_start: u32) -> HiveWriter {
    let mut hive = HiveWriter::system().service(
        ServiceSpec::driver("bkfilter", filter_start, 1, 1)
            .image_path(r"System32\drivers\bkfilter.sys"),
    );
    hive.key(r"ControlSet001\Control\Class\{71a27cdd-812a-11d0-bec7-08002be2092f}")
        .set("UpperFilters", RegData::MultiSz(vec!["bkfilter".into()]));
    hive
}

#[test]
fn a_disabled_class_filter_is_critical_and_an_enabled_one_is_not() {
    let d = case(&volume_hive(4), None);
    let fs = analyze(d.path());
    let f = by_rule(&fs, "boot-filter-disabled").unwrap_or_else(|| panic!("{fs:#?}"));
    // The only filter: the value is deleted rather than set empty.
    assert!(f["remediation"].as_str().is_some_and(|r| r.starts_with(r#"reg delete "HKLM\SYSTEM\CurrentControlSet\Control\Class\{71a27cdd-812a-11d0-bec7-08002be2092f}" /v UpperFilters /f"#)), "{f:#}");
    let d = case(&volume_hive(0), None);
    assert!(serious(&analyze(d.path())).is_empty());
}

#[test]
fn storage_drivers_are_suspects_only_with_a_0x7b() {
    let hive = HiveWriter::system().service(
        ServiceSpec::driver("storahci", 4, 1, 3)
            .image_path(r"System32\drivers\storahci.sys")
            .group("SCSI miniport"),
    );
    let d = case(&hive, Some((0x7b, [0, 0xffff_ffff_c000_0034, 0, 0])));
    let fs = analyze(d.path());
    let f = by_rule(&fs, "boot-storage-disabled").unwrap_or_else(|| panic!("{fs:#?}"));
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["weight"], "suggests");
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.contains("may stop with 0x7B"))
    );
    // The same hive with another crash, and with none: nothing about storahci.
    let d = case(&hive, Some((0xd1, [0x10, 2, 0, 0])));
    assert!(by_rule(&analyze(d.path()), "boot-storage-disabled").is_none());
    let d = case(&hive, None);
    assert!(by_rule(&analyze(d.path()), "boot-storage-disabled").is_none());
}

#[test]
fn a_boot_storage_image_is_missing_only_where_the_case_has_the_drivers_folder() {
    let hive = HiveWriter::system().service(
        ServiceSpec::driver("stornvme", 0, 1, 3)
            .image_path(r"System32\drivers\stornvme.sys")
            .group("SCSI miniport"),
    );
    let d = case(&hive, Some((0x7b, [0, 0, 0, 0])));
    // No drivers folder in the case: the image is unknown, not missing.
    assert!(by_rule(&analyze(d.path()), "boot-storage-missing").is_none());
    let drivers = d.path().join("Windows/System32/drivers");
    std::fs::create_dir_all(&drivers).expect("mkdir");
    std::fs::write(drivers.join("disk.sys"), b"MZ").expect("write");
    let fs = analyze(d.path());
    let f = by_rule(&fs, "boot-storage-missing").unwrap_or_else(|| panic!("{fs:#?}"));
    assert_eq!(f["weight"], "suggests");
    std::fs::write(drivers.join("stornvme.sys"), b"MZ").expect("write");
    assert!(by_rule(&analyze(d.path()), "boot-storage-missing").is_none());
}

#[test]
fn process1_initialization_failure_reads_its_status() {
    let d = case(
        &HiveWriter::system(),
        Some((0x6b, [0xffff_ffff_c000_0034, 2, 0, 0])),
    );
    let fs = analyze(d.path());
    let f = by_rule(&fs, "process1-init-failed").unwrap_or_else(|| panic!("{fs:#?}"));
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.contains("c0000034 STATUS_OBJECT_NAME_NOT_FOUND")),
        "{f:#}"
    );
    let d = case(
        &HiveWriter::system(),
        Some((0x5a, [1, 0, 0, 0xffff_ffff_c000_0034])),
    );
    assert!(by_rule(&analyze(d.path()), "process1-init-failed").is_none());
}

fn system_log(dir: &Path, w: EvtxWriter) {
    std::fs::write(dir.join("System.evtx"), w.to_bytes()).expect("evtx");
}

fn at(s: i64) -> evtx::Timestamp {
    evtx::Timestamp::from_second(1_710_400_000 + s).expect("time")
}

#[test]
fn a_failed_service_is_a_finding_only_when_others_depend_on_it() {
    let hive = HiveWriter::system()
        .service(ServiceSpec::driver("ContosoSvc", 2, 0x10, 1).display_name("Contoso Service"))
        .service(
            ServiceSpec::driver("ContosoUi", 2, 0x10, 1)
                .display_name("Contoso UI")
                .depend_on_service("ContosoSvc"),
        );
    let d = case(&hive, None);
    system_log(
        d.path(),
        EvtxWriter::new().scm_7000(at(0), "Contoso Service", 1053, "ContosoSvc"),
    );
    assert!(analyze(d.path()).iter().all(|f| {
        !f["rule"]
            .as_str()
            .is_some_and(|r| r.starts_with("scm-chain"))
    }));
    system_log(
        d.path(),
        EvtxWriter::new()
            .scm_7000(at(0), "Contoso Service", 1053, "ContosoSvc")
            .scm_7001(at(1), "Contoso UI", "Contoso Service", 1068),
    );
    let fs = analyze(d.path());
    let f = by_rule(&fs, "scm-chain-service").unwrap_or_else(|| panic!("{fs:#?}"));
    assert_eq!(f["severity"], "warning");
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.contains("so Contoso UI did not start either"))
    );
}

#[test]
fn a_cumulative_dpc_watchdog_only_suggests() {
    let s = find("dpc-watchdog-0x133").expect("scenario");
    let d = tempfile::tempdir().expect("tempdir");
    s.write(d.path(), false).expect("write");
    // Rewrite the dump with P1 = 1.
    let spec = bsod_workbench::synth::scenarios::dpc_watchdog_spec(1);
    write_bitmap_dump(&d.path().join("Windows/MEMORY.DMP"), &spec).expect("dump");
    let fs = analyze(d.path());
    let f = by_rule(&fs, "dpc-watchdog-cumulative").unwrap_or_else(|| panic!("{fs:#?}"));
    assert_eq!(f["severity"], "warning");
    assert!(by_rule(&fs, "dpc-watchdog-single").is_none());
}

#[test]
fn verifier_left_on_is_a_warning_and_off_is_nothing() {
    let mut hive = HiveWriter::system().service(ServiceSpec::driver("disk", 0, 1, 3));
    hive.key(r"ControlSet001\Control\Session Manager\Memory Management")
        .set("VerifyDrivers", RegData::Sz("contoso.sys other.sys".into()));
    let d = case(&hive, None);
    let fs = analyze(d.path());
    let f = by_rule(&fs, "verifier-on").unwrap_or_else(|| panic!("{fs:#?}"));
    assert_eq!(f["severity"], "warning");
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.contains("contoso.sys other.sys"))
    );
    let mut hive = HiveWriter::system().service(ServiceSpec::driver("disk", 0, 1, 3));
    hive.key(r"ControlSet001\Control\Session Manager\Memory Management")
        .set("VerifyDriverLevel", RegData::Dword(0x209bb));
    let d = case(&hive, None);
    assert!(by_rule(&analyze(d.path()), "verifier-on").is_none());
}

fn ci_case(w: EvtxWriter) -> Vec<Value> {
    let d = case(&HiveWriter::system(), None);
    std::fs::write(
        d.path()
            .join("Microsoft-Windows-CodeIntegrity%4Operational.evtx"),
        w.to_bytes(),
    )
    .expect("evtx");
    analyze(d.path())
}

#[test]
fn code_integrity_blocks_of_drivers_are_judged_and_user_mode_refusals_are_not() {
    let drv = r"\Device\HarddiskVolume3\Windows\System32\drivers\contoso.sys";
    let dll = r"\Device\HarddiskVolume3\Program Files\Contoso\helper.dll";
    let other = EvtxWriter::new().code_integrity_3077(
        at(0),
        drv,
        "System",
        12,
        4,
        "Contoso Lockdown",
        "{11111111-2222-3333-4444-555555555555}",
    );
    let fs = ci_case(other);
    assert!(
        by_rule(&fs, "ci-policy-block").is_some_and(|f| f["title"]
            .as_str()
            .is_some_and(|t| t.contains("Contoso Lockdown"))),
        "{fs:#?}"
    );
    let fs = ci_case(EvtxWriter::new().code_integrity_3077(
        at(0),
        dll,
        r"C:\Program Files\Contoso\app.exe",
        12,
        4,
        "Contoso Lockdown",
        "{11111111-2222-3333-4444-555555555555}",
    ));
    assert!(fs.iter().all(|f| f["rule"].is_null()), "{fs:#?}");
    let status = bsod_workbench::eventlog::codes::NtStatus { code: 0xc000_0428 };
    let fs =
        ci_case(EvtxWriter::new().code_integrity_3033(at(0), drv, "System", 12, 4, status, None));
    let f = by_rule(&fs, "ci-signing-level").unwrap_or_else(|| panic!("{fs:#?}"));
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.contains("Windows required, Authenticode validated")),
        "{f:#}"
    );
    let fs = ci_case(EvtxWriter::new().code_integrity_3033(
        at(0),
        dll,
        r"C:\Windows\System32\svchost.exe",
        12,
        4,
        status,
        None,
    ));
    assert!(fs.iter().all(|f| f["rule"].is_null()), "{fs:#?}");
    for (id, rule) in [(3023, "ci-revoked"), (3087, "ci-hvci"), (3083, "ci-whql")] {
        let fs = ci_case(EvtxWriter::new().code_integrity_file(at(0), id, 2, drv, "System"));
        assert!(by_rule(&fs, rule).is_some(), "{id}: {fs:#?}");
        // The same ID about a user-mode DLL: no finding.
        let fs = ci_case(EvtxWriter::new().code_integrity_file(
            at(0),
            id,
            2,
            dll,
            r"C:\Program Files\Contoso\app.exe",
        ));
        assert!(by_rule(&fs, rule).is_none(), "{id}: {fs:#?}");
    }
    // The blocklist's 3077 and its 3023 are one finding, of the stronger rule.
    let fs = ci_case(
        EvtxWriter::new()
            .code_integrity_3077(
                at(0),
                drv,
                "System",
                12,
                4,
                bsod_workbench::findings::DRIVER_POLICY_NAME,
                "{d2bda982-ccf6-4344-ac5b-0b44427b6816}",
            )
            .code_integrity_file(at(0), 3023, 2, drv, "System"),
    );
    assert!(
        by_rule(&fs, "ci-driver-blocklist")
            .is_some_and(|f| f["evidence"].as_array().is_some_and(|e| e.len() >= 2)),
        "{fs:#?}"
    );
    assert!(by_rule(&fs, "ci-revoked").is_none());
}
