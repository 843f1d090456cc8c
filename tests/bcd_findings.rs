//! The BCD findings on small synthetic cases (a SYSTEM hive, one driver vouched for by a
//! catalog of the synthetic test root, and a BCD store), each with a case without the fault.
//! `bsodwb analyze` runs in its own process, which does not trust the synthetic root: the
//! driver is test-signed there, as a driver signed by a test certificate is on a real machine.

mod common;

use bsod_workbench::registry::bcd;
use bsod_workbench::signing::authenticode_hashes;
use bsod_workbench::synth::bcd::{BcdWriter, Element, LOADER};
use bsod_workbench::synth::catalog::{CatalogSpec, CatalogVersion, MemberSpec, write_catalog};
use bsod_workbench::synth::pe::{PeSpec, write_pe};
use bsod_workbench::synth::regf::{HiveWriter, ServiceSpec};
use serde_json::Value;
use std::path::Path;

const CATROOT: &str = "Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}";

/// A case with `store` at `store_path`; with `driver`, a system-start test-signed driver.
fn write_case(dir: &Path, store: &BcdWriter, store_path: &str, driver: bool) {
    let mut hive = HiveWriter::system();
    if driver {
        hive = hive.service(
            ServiceSpec::driver("TestDrv", 1, 1, 1)
                .image_path(r"System32\drivers\testdrv.sys")
                .group("Boot Bus Extender"),
        );
        let pe = write_pe(&PeSpec::driver("testdrv.sys"));
        let hashes = authenticode_hashes(&pe).expect("pe");
        let drivers = dir.join("Windows/System32/drivers");
        std::fs::create_dir_all(&drivers).expect("mkdir");
        std::fs::write(drivers.join("testdrv.sys"), &pe).expect("driver");
        let mut spec = CatalogSpec::new(41, CatalogVersion::V2Sha256);
        spec.members.push(MemberSpec::pe(
            "testdrv.sys",
            &hashes,
            CatalogVersion::V2Sha256,
        ));
        std::fs::create_dir_all(dir.join(CATROOT)).expect("mkdir");
        std::fs::write(dir.join(CATROOT).join("oem7.cat"), write_catalog(&spec)).expect("cat");
    }
    std::fs::create_dir_all(dir.join("Windows/System32/config")).expect("mkdir");
    hive.write_to(&dir.join("Windows/System32/config/SYSTEM"))
        .expect("hive");
    let path = dir.join(store_path);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    store.write_to(&path).expect("bcd");
}

fn findings(dir: &Path) -> Vec<Value> {
    let v = common::analyze_json(dir);
    // The stores are listed with their default entry's integrity settings.
    assert!(
        v["bcd"]
            .as_array()
            .is_some_and(|b| b.len() == 1 && b[0]["integrity"]["entry"] == "{default}"),
        "{}",
        v["bcd"]
    );
    v["findings"].as_array().cloned().unwrap_or_default()
}

fn with_title<'a>(fs: &'a [Value], needle: &str) -> Option<&'a Value> {
    fs.iter()
        .find(|f| f["title"].as_str().is_some_and(|t| t.contains(needle)))
}

const EFI: &str = "EFI/Microsoft/Boot/BCD";

#[test]
fn a_test_signed_boot_driver_with_testsigning_off_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(dir.path(), &BcdWriter::windows(), EFI, true);
    let fs = findings(dir.path());
    let f = with_title(&fs, "BCD testsigning is off").unwrap_or_else(|| panic!("{fs:#?}"));
    assert_eq!(f["severity"], "error");
    assert_eq!(f["driver"], "testdrv.sys");
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("testdrv.sys is test-signed")),
        "{f}"
    );
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains(
            "EFI/Microsoft/Boot/BCD: {default} (\\\"Windows Server\\\") testsigning not set"
        ),
        "{evidence}"
    );
    assert!(evidence.contains("Start=1"), "{evidence}");
    let fix = f["remediation"].as_str().expect("fix");
    assert!(
        fix.contains("bcdedit /set {default} testsigning on"),
        "{fix}"
    );
    assert!(
        fix.contains(r"mountvol S: /s, then bcdedit /store S:\EFI\Microsoft\Boot\BCD /set {default} testsigning on"),
        "{fix}"
    );
    // The signature rule's "check BCD" guess about the same driver is replaced.
    assert_eq!(
        fs.iter()
            .filter(|f| f["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("testdrv.sys is test-signed")))
            .count(),
        1,
        "{fs:#?}"
    );
}

#[test]
fn with_testsigning_on_the_driver_loads_and_the_policy_finding_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(
        dir.path(),
        &BcdWriter::windows().loader_flag(bcd::TESTSIGNING, true),
        EFI,
        true,
    );
    let fs = findings(dir.path());
    assert!(
        with_title(&fs, "BCD testsigning is off").is_none(),
        "{fs:#?}"
    );
    // The driver loads: no finding says the boot fails on it.
    assert!(
        !fs.iter()
            .any(|f| f["severity"] == "error" || f["severity"] == "critical"),
        "{fs:#?}"
    );
    let f = with_title(&fs, "BCD weakens code integrity").unwrap_or_else(|| panic!("{fs:#?}"));
    assert_eq!(f["severity"], "warning");
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.contains("testsigning on"))
    );
    assert!(
        f["evidence"]
            .to_string()
            .contains("test-signed drivers that load only because of it: testdrv.sys"),
        "{f}"
    );
    assert!(
        f["remediation"]
            .as_str()
            .is_some_and(|r| r.contains("bcdedit /deletevalue {default} testsigning")),
        "{f}"
    );
}

#[test]
fn a_clean_store_gives_no_bcd_finding() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(dir.path(), &BcdWriter::windows(), EFI, false);
    let fs = findings(dir.path());
    assert!(
        fs.iter()
            .all(|f| !f["title"].as_str().is_some_and(|t| t.contains("BCD"))),
        "{fs:#?}"
    );
}

#[test]
fn safeboot_left_on_is_found_with_the_deletevalue_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(
        dir.path(),
        &BcdWriter::windows().loader_integer(bcd::SAFEBOOT, 1),
        "Boot/BCD",
        false,
    );
    let fs = findings(dir.path());
    let f = with_title(&fs, "safeboot").unwrap_or_else(|| panic!("{fs:#?}"));
    assert_eq!(f["severity"], "warning");
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.contains("BCD safeboot Network is left on for {default}")),
        "{f}"
    );
    let fix = f["remediation"].as_str().expect("fix");
    assert!(
        fix.contains("on the machine (elevated): bcdedit /deletevalue {default} safeboot"),
        "{fix}"
    );
    assert!(
        fix.contains(r"bcdedit /store X:\Boot\BCD /deletevalue {default} safeboot"),
        "{fix}"
    );
}

#[test]
fn integrity_checks_off_by_either_setting_is_a_policy_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(
        dir.path(),
        &BcdWriter::windows()
            .loader_flag(bcd::NOINTEGRITYCHECKS, true)
            .element(
                LOADER,
                bcd::LOADOPTIONS,
                Element::String("NOEXECUTE=OPTIN".into()),
            ),
        EFI,
        false,
    );
    let fs = findings(dir.path());
    let f = with_title(&fs, "BCD weakens code integrity").unwrap_or_else(|| panic!("{fs:#?}"));
    let title = f["title"].as_str().expect("title");
    assert!(title.contains("nointegritychecks on"), "{title}");
    // Load options without DISABLE_INTEGRITY_CHECKS are not named.
    assert!(!title.contains("loadoptions"), "{title}");
    // The option itself, among others, is found; the fix keeps the other options.
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(
        dir.path(),
        &BcdWriter::windows().element(
            LOADER,
            bcd::LOADOPTIONS,
            Element::String("DISABLE_INTEGRITY_CHECKS NOEXECUTE=OPTIN".into()),
        ),
        EFI,
        false,
    );
    let fs = findings(dir.path());
    let f = with_title(&fs, "BCD weakens code integrity").unwrap_or_else(|| panic!("{fs:#?}"));
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.contains("loadoptions DISABLE_INTEGRITY_CHECKS"))
    );
    assert!(
        f["remediation"]
            .as_str()
            .is_some_and(|r| r.contains("bcdedit /set {default} loadoptions \"NOEXECUTE=OPTIN\"")),
        "{f}"
    );
}

#[test]
fn bootlog_on_is_information() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = BcdWriter::windows().loader_flag(bcd::BOOTLOG, true);
    // Found by content too: a store whose name and base block say nothing of BCD.
    store.hive.file_name = "bootstore".into();
    write_case(dir.path(), &store, "evidence/store.hiv", false);
    let fs = findings(dir.path());
    let f = with_title(&fs, "bootlog is on").unwrap_or_else(|| panic!("{fs:#?}"));
    assert_eq!(f["severity"], "info");
    assert!(
        f["title"]
            .as_str()
            .is_some_and(|t| t.contains("ntbtlog.txt"))
    );
    assert!(
        f["remediation"]
            .as_str()
            .is_some_and(|r| r.contains("/deletevalue {default} bootlog")
                && r.contains("<this store's path, evidence/store.hiv>")),
        "{f}"
    );
    // Without it: nothing.
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(
        dir.path(),
        &BcdWriter::windows().loader_flag(bcd::BOOTLOG, false),
        EFI,
        false,
    );
    assert!(with_title(&findings(dir.path()), "bootlog").is_none());
}

#[test]
fn the_overview_shows_the_default_entrys_integrity_in_one_line() {
    use bsod_workbench::ui::{App, theme::Theme};
    use ratatui::{Terminal, backend::TestBackend};
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(
        dir.path(),
        &BcdWriter::windows()
            .loader_flag(bcd::NOINTEGRITYCHECKS, true)
            .loader_integer(bcd::SAFEBOOT, 0),
        EFI,
        true,
    );
    let case = bsod_workbench::case::Case::load(dir.path(), &mut |_| {}).expect("load");
    assert_eq!(case.bcd.len(), 1);
    assert_eq!(case.bcd[0].file, EFI);
    let mut app = App::new(case, Theme::ansi16());
    let mut t = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    t.draw(|f| app.draw(f)).expect("draw");
    let buf = t.backend().buffer();
    let text: String = (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                + "\n"
        })
        .collect();
    assert!(
        text.contains(
            "Boot BCD {default}: testsigning off, integrity checks OFF, safeboot Minimal"
        ),
        "{text}"
    );
    // The Drivers pane shows it above the services.
    app.handle_key(ratatui::crossterm::event::KeyEvent::new(
        ratatui::crossterm::event::KeyCode::Char('5'),
        ratatui::crossterm::event::KeyModifiers::NONE,
    ));
    t.draw(|f| app.draw(f)).expect("draw");
    let buf = t.backend().buffer();
    let text: String = (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                + "\n"
        })
        .collect();
    assert!(
        text.contains("BCD {default}: testsigning off, integrity checks OFF, safeboot Minimal"),
        "{text}"
    );
    assert!(text.contains("Services of ControlSet001"), "{text}");
}

#[test]
fn a_dirty_store_in_a_case_is_recovered_from_its_log_beside_it() {
    use bsod_workbench::synth::regf::{mark_dirty, transaction_log};
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(dir.path(), &BcdWriter::windows(), EFI, false);
    let mut before = BcdWriter::windows().to_bytes();
    let after = BcdWriter::windows()
        .loader_integer(bcd::SAFEBOOT, 0)
        .to_bytes();
    let log = transaction_log(&before, &after);
    mark_dirty(&mut before);
    std::fs::write(dir.path().join(EFI), &before).expect("bcd");
    std::fs::write(dir.path().join("EFI/Microsoft/Boot/BCD.LOG1"), &log).expect("log");
    let case = bsod_workbench::case::Case::load(dir.path(), &mut |_| {}).expect("load");
    assert_eq!(case.bcd.len(), 1, "{:?}", case.problems);
    assert_eq!(case.bcd[0].store.logs_applied.len(), 1);
    // The recovery is reported (as for the SYSTEM hive); the log itself is no problem.
    assert!(
        case.problems.iter().all(|p| !p.path.ends_with("BCD.LOG1")),
        "{:?}",
        case.problems
    );
    let fs = findings(dir.path());
    assert!(with_title(&fs, "safeboot Minimal").is_some(), "{fs:#?}");
}
