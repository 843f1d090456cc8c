//! The Integrity pane on a case written with our writers and loaded like any case folder:
//! the motivating case (filecrypt.sys, a critical system-start driver whose catalog is only in
//! servicing\Packages; CodeIntegrity 3004 for it; SCM 7000/7026; Kernel-Power 41 with 0x5A).
//! Snapshots at 80x24 and 160x48, with and without the focus on filecrypt.sys.

use bsod_workbench::analysis::CaseAnalysis;
use bsod_workbench::case::Case;
use bsod_workbench::driver::DriverKey;
use bsod_workbench::eventlog::NtStatus;
use bsod_workbench::signing;
use bsod_workbench::synth::catalog::{CatalogSpec, CatalogVersion, MemberSpec, write_catalog};
use bsod_workbench::synth::evtx::{EvtxWriter, Guid, Signature3089};
use bsod_workbench::synth::pe::{PeSpec, write_pe};
use bsod_workbench::synth::regf::{HiveWriter, ServiceSpec};
use bsod_workbench::ui::action::Outcome;
use bsod_workbench::ui::pane::{Pane, PaneContext};
use bsod_workbench::ui::panes::integrity::{IntegrityModel, IntegrityPane, Table};
use bsod_workbench::ui::theme::Theme;
use evtx::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;

const FILECRYPT_NT: &str = "\\Device\\HarddiskVolume2\\Windows\\System32\\drivers\\filecrypt.sys";

fn t(s: &str) -> Timestamp {
    s.parse().expect("ts")
}

/// The motivating case as a folder: drivers, catalogs, the hive and both event logs.
fn write_case(root: &Path) {
    let drivers = root.join("Windows/System32/drivers");
    let catroot = root.join("Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}");
    let servicing = root.join("Windows/servicing/Packages");
    let logs = root.join("Windows/System32/winevt/Logs");
    let config = root.join("Windows/System32/config");
    for d in [&drivers, &catroot, &servicing, &logs, &config] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let mut hashes = Vec::new();
    for (i, name) in ["filecrypt.sys", "cdrom.sys"].iter().enumerate() {
        let mut spec = PeSpec::driver(name);
        spec.timestamp += i as u32;
        let bytes = write_pe(&spec);
        std::fs::write(drivers.join(name), &bytes).expect("write driver");
        hashes.push(signing::authenticode_hashes(&bytes).expect("pe"));
    }
    let v2 = CatalogVersion::V2Sha256;
    let mut good = CatalogSpec::new(1, v2);
    good.members
        .push(MemberSpec::pe("cdrom.sys", &hashes[1], v2));
    std::fs::write(
        catroot.join("Microsoft-Windows-Client-Features-Package~amd64~~10.0.1.1.cat"),
        write_catalog(&good),
    )
    .expect("write");
    let mut lost = CatalogSpec::new(1257, v2);
    lost.members
        .push(MemberSpec::pe("filecrypt.sys", &hashes[0], v2));
    std::fs::write(
        servicing.join("Package_1257_for_KB5036899~31bf3856ad364e35~amd64~~10.0.1.27.cat"),
        write_catalog(&lost),
    )
    .expect("write");

    HiveWriter::system()
        .service(
            ServiceSpec::driver("FileCrypt", 1, 2, 3)
                .image_path("system32\\drivers\\filecrypt.sys")
                .group("FSFilter Encryption"),
        )
        .service(
            ServiceSpec::driver("cdrom", 1, 1, 1)
                .image_path("System32\\drivers\\cdrom.sys")
                .group("SCSI CDROM Class"),
        )
        .write_to(&config.join("SYSTEM"))
        .expect("hive");

    let activity = Guid::parse("{2d9f3a42-01d4-4733-97f7-041e8021dc84}").expect("guid");
    EvtxWriter::new()
        .computer("SRV2016")
        .code_integrity_3004(
            t("2026-11-27T08:00:02Z"),
            FILECRYPT_NT,
            "System",
            NtStatus { code: 0xC000_0428 },
            Some(activity),
        )
        .code_integrity_3089(
            t("2026-11-27T08:00:02Z"),
            activity,
            &Signature3089 {
                total_signature_count: 0,
                index: 0,
                cache_state: 0,
                hash: vec![0x11; 32],
                page_hash: false,
                signature_type: 0,
                validated_level: 1,
                verification_error: 3,
                flags: 0,
                policy_bits: 0,
                not_valid_before: t("2020-01-01T00:00:00Z"),
                not_valid_after: t("2020-01-01T00:00:00Z"),
                publisher: String::new(),
                issuer: String::new(),
                publisher_tbs_hash: Vec::new(),
                issuer_tbs_hash: Vec::new(),
            },
        )
        .write_to(&logs.join("Microsoft-Windows-CodeIntegrity%4Operational.evtx"))
        .expect("ci log");
    let p = [1, 0xffff_c000_0000_0000, 0, 0xffff_ffff_c000_0428];
    EvtxWriter::new()
        .computer("SRV2016")
        .kernel_general_12(t("2026-11-27T07:59:50Z"), [10, 0, 14393, 6795])
        .scm_7000(t("2026-11-27T08:00:03Z"), "FileCrypt", 577, "FileCrypt")
        .scm_7026(t("2026-11-27T08:00:04Z"), &["FileCrypt"])
        .kernel_power_41(t("2026-11-27T08:05:00Z"), 0x5A, p)
        .wer_1001(
            t("2026-11-27T08:05:10Z"),
            0x5A,
            p,
            "C:\\Windows\\MEMORY.DMP",
            "0b6c3c2e-5a00-4c00-8000-000000000428",
        )
        .write_to(&logs.join("System.evtx"))
        .expect("system log");
}

fn load_case() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().expect("tmp");
    write_case(dir.path());
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    (dir, case)
}

fn draw(
    pane: &mut IntegrityPane,
    case: &Case,
    focus: Option<&DriverKey>,
    w: u16,
    h: u16,
) -> String {
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case,
        analysis: &CaseAnalysis::build(case),
        focus,
        theme: &theme,
    };
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| pane.render(f, f.area(), &ctx)).expect("draw");
    format!("{}", term.backend())
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

#[test]
fn filecrypt_3004_sits_beside_its_verdict() {
    let (_dir, case) = load_case();
    assert_eq!(case.event_logs.len(), 2, "{:?}", case.problems);
    let model = IntegrityModel::build(&case, &CaseAnalysis::build(&case), None);
    let fc = DriverKey::from_path("filecrypt.sys").expect("key");
    // The events: 3004 and its 3089 (by ActivityID), SCM 7000 (its key name through the hive)
    // and 7026.
    let ids: Vec<u16> = model
        .events
        .iter()
        .filter(|e| e.drivers.contains(&fc))
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, vec![3004, 3089, 7000, 7026]);
    let group = model.groups.iter().find(|g| g.driver == fc).expect("group");
    assert_eq!(group.count, 4);
    assert_eq!(group.worst, "INVALID_IMAGE_HASH");
    assert_eq!(group.first, "2026-11-27 08:00:02");
    assert_eq!(group.last, "2026-11-27 08:00:04");
    let sig = model
        .signatures
        .iter()
        .find(|s| s.driver == fc)
        .expect("signature row");
    assert_eq!(
        sig.verdict.map(|v| v.as_str()),
        Some("catalog-only-in-servicing")
    );
    assert_eq!(sig.start.as_deref(), Some("system"));
    assert_eq!(sig.error_control.as_deref(), Some("critical"));
    assert_eq!(sig.events, 4);
    assert!(sig.attention);
    // The failing driver comes first; cdrom.sys verifies through CatRoot.
    assert_eq!(model.signatures.first().map(|s| &s.driver), Some(&fc));
    let cd = DriverKey::from_path("cdrom.sys").expect("key");
    let cdrom = model
        .signatures
        .iter()
        .find(|s| s.driver == cd)
        .expect("cdrom");
    assert_eq!(cdrom.verdict.map(|v| v.as_str()), Some("signed-catalog"));
    assert_eq!(cdrom.events, 0);
}

#[test]
fn snapshots_at_both_sizes() {
    let (_dir, case) = load_case();
    let mut pane = IntegrityPane::new();
    for (w, h) in [(80, 24), (160, 48)] {
        let text = draw(&mut pane, &case, None, w, h);
        assert!(text.contains("catalog-only-in-servicing"), "{text}");
        assert!(text.contains("INVALID_IMAGE_HASH"), "{text}");
        // The bug check by name where the Status column has room for it.
        assert!(
            w < 100 || text.contains("0x5a CRITICAL_SERVICE_FAILED"),
            "{text}"
        );
        insta::assert_snapshot!(format!("integrity_{w}x{h}"), text);
    }
}

#[test]
fn the_focus_filters_every_table_to_one_driver() {
    let (_dir, case) = load_case();
    let fc = DriverKey::from_path("filecrypt.sys").expect("key");
    let mut pane = IntegrityPane::new();
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: Some(&fc),
        theme: &Theme::ansi16(),
    });
    for (w, h) in [(80, 24), (160, 48)] {
        let text = draw(&mut pane, &case, Some(&fc), w, h);
        assert!(text.contains("Events of filecrypt.sys (4)"), "{text}");
        assert!(!text.contains("cdrom.sys"), "{text}");
        assert!(
            !text.contains("bugcheck 0x5a"),
            "unrelated events are hidden: {text}"
        );
        insta::assert_snapshot!(format!("integrity_focus_filecrypt_{w}x{h}"), text);
    }
}

#[test]
fn keys_switch_tables_and_enter_focuses_the_row() {
    let (_dir, case) = load_case();
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: None,
        theme: &theme,
    };
    let mut pane = IntegrityPane::new();
    assert_eq!(pane.active(), Table::Events);
    // h/l go round the tables: back from the events to the signatures.
    assert_eq!(
        pane.handle_key(key(KeyCode::Char('h')), &ctx),
        Outcome::Consumed
    );
    assert_eq!(pane.active(), Table::Signatures);
    // The first signature row is filecrypt.sys (it needs attention): Enter opens its signature
    // view (why its verdict is what it is, what Windows does), f focuses it, Esc closes.
    assert_eq!(
        pane.handle_key(key(KeyCode::Enter), &ctx),
        Outcome::Consumed
    );
    let text = draw(&mut pane, &case, None, 160, 48);
    assert!(text.contains("Signature of filecrypt.sys"), "{text}");
    assert!(text.contains("catalog-only-in-servicing"), "{text}");
    assert!(text.contains("Code Integrity does not read"), "{text}");
    assert_eq!(
        pane.handle_key(key(KeyCode::Char('f')), &ctx),
        Outcome::Focus(DriverKey::from_path("filecrypt.sys").expect("key"))
    );
    assert_eq!(pane.handle_key(key(KeyCode::Esc), &ctx), Outcome::Consumed);
    assert!(!draw(&mut pane, &case, None, 160, 48).contains("Signature of filecrypt.sys"));
    assert_eq!(
        pane.handle_key(key(KeyCode::Char('j')), &ctx),
        Outcome::Consumed
    );
    assert_eq!(
        pane.handle_key(key(KeyCode::Char('f')), &ctx),
        Outcome::Focus(DriverKey::from_path("cdrom.sys").expect("key"))
    );
    assert_eq!(
        pane.handle_key(key(KeyCode::Char('h')), &ctx),
        Outcome::Consumed
    );
    assert_eq!(pane.active(), Table::Drivers);
    assert_eq!(
        pane.handle_key(key(KeyCode::Char('x')), &ctx),
        Outcome::Ignored
    );
    // The bottom table at 80 columns follows the choice.
    let text = draw(&mut pane, &case, None, 80, 24);
    assert!(text.contains("By driver"), "{text}");
}

#[test]
fn a_case_without_integrity_artefacts_says_what_it_needs() {
    let case = Case::empty();
    let mut pane = IntegrityPane::new();
    let text = draw(&mut pane, &case, None, 80, 24);
    assert!(text.contains("CodeIntegrity%4Operational.evtx"), "{text}");
}

/// The demo case (`synth::demo`, the motivating case with every artefact): filecrypt.sys shows
/// its CodeIntegrity 3004 and its signature verdict in the pane, on one row each, with the
/// service's Start and ErrorControl from the hive.
#[test]
fn the_demo_case_shows_filecrypt_3004_beside_its_verdict() {
    let dir = tempfile::tempdir().expect("tmp");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo case");
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    let fc = DriverKey::from_path("filecrypt.sys").expect("key");
    let model = IntegrityModel::build(&case, &CaseAnalysis::build(&case), None);
    assert!(
        model
            .events
            .iter()
            .any(|e| e.id == 3004 && e.drivers.contains(&fc) && e.status == "INVALID_IMAGE_HASH")
    );
    let sig = model
        .signatures
        .iter()
        .find(|s| s.driver == fc)
        .expect("filecrypt.sys signature row");
    assert_eq!(
        sig.verdict.map(|v| v.as_str()),
        Some("catalog-only-in-servicing")
    );
    assert_eq!(sig.error_control.as_deref(), Some("critical"));
    assert!(sig.on_stack.is_some(), "the demo has an analysed dump");
    assert!(sig.in_boot_log.is_some(), "the demo has a boot log");
    assert!(sig.attention);
    let mut pane = IntegrityPane::new();
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: Some(&fc),
        theme: &Theme::ansi16(),
    });
    let text = draw(&mut pane, &case, Some(&fc), 160, 48);
    let row = text
        .lines()
        .find(|l| l.contains("filecrypt.sys") && l.contains("catalog-only-in-servicing"))
        .unwrap_or_else(|| panic!("no signature row for filecrypt.sys:\n{text}"));
    assert!(row.contains("critical"), "{row}");
    assert!(
        text.lines()
            .any(|l| l.contains(" 3004 ") && l.contains("filecrypt.sys")),
        "{text}"
    );
}

#[test]
fn z_shows_the_times_on_the_machines_clock() {
    let (_dir, case) = load_case();
    let fc = DriverKey::from_path("filecrypt.sys").expect("key");
    let model = IntegrityModel::build(&case, &CaseAnalysis::build(&case), None);
    // The hive's zone is Pacific; on 27 November daylight time is over (it ended on Sunday
    // 1 November 2026), so the machine's clock read UTC-8.
    let group = model.groups.iter().find(|g| g.driver == fc).expect("group");
    assert_eq!(group.first_local.as_deref(), Some("2026-11-27 00:00:02"));
    assert_eq!(group.last_local.as_deref(), Some("2026-11-27 00:00:04"));
    let mut pane = IntegrityPane::new();
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: Some(&fc),
        theme: &theme,
    };
    let before = draw(&mut pane, &case, Some(&fc), 160, 48);
    assert!(before.contains("Time (UTC)") && before.contains("2026-11-27 08:00:02"));
    match pane.handle_key(key(KeyCode::Char('z')), &ctx) {
        Outcome::Message(m) => assert!(m.contains("Pacific Standard Time"), "{m}"),
        other => panic!("z: {other:?}"),
    }
    let after = draw(&mut pane, &case, Some(&fc), 160, 48);
    assert!(after.contains("Time (machine)"), "{after}");
    assert!(after.contains("2026-11-27 00:00:02"), "{after}");
    assert!(!after.contains("2026-11-27 08:00:02"), "{after}");
    pane.handle_key(key(KeyCode::Char('z')), &ctx);
    assert!(draw(&mut pane, &case, Some(&fc), 160, 48).contains("2026-11-27 08:00:02"));
}

#[test]
fn z_without_a_time_zone_says_why_times_stay_in_utc() {
    let case = Case::empty();
    let mut pane = IntegrityPane::new();
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: None,
        theme: &theme,
    };
    match pane.handle_key(key(KeyCode::Char('z')), &ctx) {
        Outcome::Message(m) => assert!(m.contains("stay in UTC"), "{m}"),
        other => panic!("z: {other:?}"),
    }
}
