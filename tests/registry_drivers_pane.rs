//! The Drivers pane on ratatui's TestBackend at 80x24 and 160x48: a written hive with the
//! motivating case's drivers (values as in the regipy sample), focus, sort, search, filters;
//! and the real sample hive focused on FileCrypt.

mod common;

use bsod_workbench::analysis::{CaseAnalysis, DriverFacts};
use bsod_workbench::case::Case;
use bsod_workbench::driver::DriverKey;
use bsod_workbench::registry::{self, SystemHive};
use bsod_workbench::synth::regf::{HiveWriter, RegData, ServiceSpec};
use bsod_workbench::ui::action::Outcome;
use bsod_workbench::ui::pane::{Pane, PaneContext};
use bsod_workbench::ui::panes::drivers::{DriversPane, SortBy};
use bsod_workbench::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn driver(
    name: &str,
    start: u32,
    ty: u32,
    ec: u32,
    group: Option<&str>,
    image: Option<&str>,
) -> ServiceSpec {
    let mut s = ServiceSpec::driver(name, start, ty, ec);
    s.group = group.map(str::to_string);
    s.image_path = image.map(str::to_string);
    s
}

/// The motivating case's drivers with the sample hive's values.
fn story_hive(dir: &Path) -> SystemHive {
    let path = dir.join("SYSTEM");
    let mut w = HiveWriter::system();
    for s in [
        driver(
            "ACPI",
            0,
            1,
            3,
            Some("Core"),
            Some("System32\\drivers\\ACPI.sys"),
        ),
        driver(
            "BasicDisplay",
            1,
            1,
            0,
            Some("Video"),
            Some("\\SystemRoot\\System32\\drivers\\BasicDisplay.sys"),
        ),
        driver("Beep", 1, 1, 1, Some("Base"), None),
        driver(
            "cdrom",
            1,
            1,
            1,
            Some("SCSI CDROM Class"),
            Some("\\SystemRoot\\System32\\drivers\\cdrom.sys"),
        ),
        driver(
            "CLFS",
            0,
            1,
            3,
            Some("Filter"),
            Some("System32\\drivers\\CLFS.sys"),
        ),
        driver(
            "CmBatt",
            3,
            1,
            1,
            None,
            Some("\\SystemRoot\\System32\\drivers\\CmBatt.sys"),
        ),
        driver(
            "CNG",
            0,
            1,
            3,
            Some("Core"),
            Some("System32\\Drivers\\cng.sys"),
        ),
        driver("disk", 0, 1, 1, None, Some("System32\\drivers\\disk.sys")),
        driver(
            "FileCrypt",
            1,
            2,
            3,
            Some("FSFilter Encryption"),
            Some("system32\\drivers\\filecrypt.sys"),
        )
        .display_name("@%systemroot%\\system32\\drivers\\filecrypt.sys,-100")
        .depend_on_service("FltMgr")
        .value("SupportedFeatures", RegData::Dword(7)),
        driver(
            "FltMgr",
            0,
            2,
            3,
            Some("FSFilter Infrastructure"),
            Some("system32\\drivers\\fltmgr.sys"),
        ),
        driver("Ntfs", 3, 2, 1, Some("Boot File System"), None),
        driver(
            "pci",
            0,
            1,
            3,
            Some("Boot Bus Extender"),
            Some("System32\\drivers\\pci.sys"),
        ),
        driver(
            "storahci",
            0,
            1,
            3,
            Some("SCSI Miniport"),
            Some("System32\\drivers\\storahci.sys"),
        ),
        driver(
            "Tcpip",
            0,
            1,
            1,
            Some("PNP_TDI"),
            Some("System32\\drivers\\tcpip.sys"),
        ),
        driver(
            "volmgr",
            0,
            1,
            3,
            Some("System Bus Extender"),
            Some("System32\\drivers\\volmgr.sys"),
        ),
        driver(
            "Wdf01000",
            0,
            1,
            1,
            Some("WdfLoadGroup"),
            Some("system32\\drivers\\Wdf01000.sys"),
        ),
        driver("Fax", 4, 1, 1, None, Some("System32\\drivers\\fax.sys")),
        driver(
            "EventLog",
            2,
            0x20,
            1,
            Some("Event Log"),
            Some("%SystemRoot%\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p"),
        ),
    ] {
        w = w.service(s);
    }
    w.write_to(&path).expect("write");
    let mut hive = registry::open(&path).expect("open");
    // A stable path in the snapshots.
    hive.path = PathBuf::from("/cases/demo/Windows/System32/config/SYSTEM");
    hive
}

/// A case holding only `hive` (the pane reads the hive from the case), with no analysis.
fn hive_case(hive: Option<SystemHive>) -> (Case, CaseAnalysis) {
    (
        Case {
            hive,
            ..Case::default()
        },
        CaseAnalysis::default(),
    )
}

fn draw(
    pane: &mut DriversPane,
    (case, analysis): &(Case, CaseAnalysis),
    focus: Option<&DriverKey>,
    w: u16,
    h: u16,
) -> Terminal<TestBackend> {
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case,
        analysis,
        focus,
        theme: &theme,
    };
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| pane.render(f, f.area(), &ctx)).expect("draw");
    t
}

fn press(
    pane: &mut DriversPane,
    (case, analysis): &(Case, CaseAnalysis),
    code: KeyCode,
) -> Outcome {
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case,
        analysis,
        focus: None,
        theme: &theme,
    };
    pane.handle_key(key(code), &ctx)
}

fn press_focused(
    pane: &mut DriversPane,
    (case, analysis): &(Case, CaseAnalysis),
    focus: &DriverKey,
    code: KeyCode,
) -> Outcome {
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case,
        analysis,
        focus: Some(focus),
        theme: &theme,
    };
    pane.handle_key(key(code), &ctx)
}

fn focus_on(pane: &mut DriversPane, (case, analysis): &(Case, CaseAnalysis), focus: &DriverKey) {
    let theme = Theme::ansi16();
    pane.on_focus(&PaneContext {
        case,
        analysis,
        focus: Some(focus),
        theme: &theme,
    });
}

fn filecrypt() -> DriverKey {
    DriverKey::from_path("filecrypt.sys").expect("key")
}

#[test]
fn drivers_in_load_order_with_critical_boot_drivers_marked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = hive_case(Some(story_hive(dir.path())));
    let mut pane = DriversPane::new();
    // Drivers only (EventLog is a process), in boot load order: Start, then group order.
    let names: Vec<&str> = pane
        .visible(&case.0)
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert!(!names.contains(&"EventLog"));
    assert_eq!(names.first(), Some(&"Wdf01000"), "{names:?}");
    let pos = |n: &str| names.iter().position(|x| *x == n).expect(n);
    assert!(
        pos("pci") < pos("volmgr")
            && pos("volmgr") < pos("FltMgr")
            && pos("FltMgr") < pos("FileCrypt")
    );
    assert_eq!(names.last(), Some(&"Fax"));
    for (w, h) in [(80, 24), (160, 48)] {
        let t = draw(&mut pane, &case, None, w, h);
        insta::assert_snapshot!(format!("drivers_{w}x{h}"), t.backend());
        let text = format!("{}", t.backend());
        assert!(
            text.contains("! FileCrypt") && text.contains("! ACPI") && text.contains("  Beep"),
            "{text}"
        );
    }
}

#[test]
fn focus_highlights_the_row_and_shows_the_service_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let facts = BTreeMap::from([(
        filecrypt(),
        DriverFacts {
            verdict: Some("catalog-only-in-servicing".into()),
            loaded_in_dump: Some(false),
        },
    )]);
    let mut case = hive_case(Some(story_hive(dir.path())));
    case.1.driver_facts = facts;
    let case = case;
    let mut pane = DriversPane::new();
    // `/` searches; Enter jumps to the first match; `f` focuses the driver under the cursor.
    press(&mut pane, &case, KeyCode::Char('/'));
    assert!(pane.captures_input());
    for c in "filecrypt".chars() {
        press(&mut pane, &case, KeyCode::Char(c));
    }
    press(&mut pane, &case, KeyCode::Enter);
    assert!(!pane.captures_input());
    assert_eq!(
        pane.selected(&case.0).map(|s| s.name.as_str()),
        Some("FileCrypt")
    );
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('f')),
        Outcome::Focus(filecrypt())
    );

    let focus = filecrypt();
    focus_on(&mut pane, &case, &focus);
    press(&mut pane, &case, KeyCode::Char('j')); // move off, so the highlight is the focus style alone
    for (w, h) in [(80, 24), (160, 48)] {
        let t = draw(&mut pane, &case, Some(&focus), w, h);
        insta::assert_snapshot!(format!("drivers_focused_{w}x{h}"), t.backend());
        let text = format!("{}", t.backend());
        assert!(
            text.contains("Services\\FileCrypt (filecrypt.sys)"),
            "{text}"
        );
        assert!(text.contains("3 critical") && text.contains("FSFilter Encryption"));
        assert!(text.contains("catalog-only-in-servicing"), "{text}");
        // The focused row is drawn in the focus style.
        let buf = t.backend().buffer();
        let row = (0..h)
            .find(|&y| {
                let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
                line.starts_with("│! FileCrypt") || line.starts_with("! FileCrypt")
            })
            .expect("FileCrypt row");
        let cell = &buf[(3, row)];
        assert_eq!(cell.fg, Color::Magenta);
        assert!(cell.modifier.contains(Modifier::BOLD));
    }
    // `]` scrolls the detail box down to the values the small screen cut off.
    press_focused(&mut pane, &case, &focus, KeyCode::Char(']'));
    press_focused(&mut pane, &case, &focus, KeyCode::Char(']'));
    let text = format!("{}", draw(&mut pane, &case, Some(&focus), 80, 24).backend());
    assert!(
        text.contains("[line 3]") && !text.contains("│Start "),
        "{text}"
    );
    press_focused(&mut pane, &case, &focus, KeyCode::Char('['));
    press_focused(&mut pane, &case, &focus, KeyCode::Char('['));
    let wide = format!(
        "{}",
        draw(&mut pane, &case, Some(&focus), 160, 48).backend()
    );
    assert!(
        wide.contains("SIGNATURE") && wide.contains("not loaded"),
        "{wide}"
    );
    assert!(wide.contains("bug checks 0x5A"), "{wide}");
}

#[test]
fn sort_filters_and_a_focus_without_a_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = hive_case(Some(story_hive(dir.path())));
    let mut pane = DriversPane::new();
    press(&mut pane, &case, KeyCode::Char('s'));
    assert_eq!(pane.sort(), SortBy::Name);
    let names: Vec<String> = pane
        .visible(&case.0)
        .iter()
        .map(|s| s.name.to_ascii_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    press(&mut pane, &case, KeyCode::Char('r'));
    assert_eq!(
        pane.visible(&case.0).first().map(|s| s.name.as_str()),
        Some("Wdf01000")
    );

    press(&mut pane, &case, KeyCode::Char('c'));
    let critical: Vec<&str> = pane
        .visible(&case.0)
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(critical.len(), 8, "{critical:?}");
    assert!(
        pane.visible(&case.0)
            .iter()
            .all(|s| s.is_critical_boot_driver())
    );
    press(&mut pane, &case, KeyCode::Char('c'));
    press(&mut pane, &case, KeyCode::Char('a'));
    assert!(pane.visible(&case.0).iter().any(|s| s.name == "EventLog"));

    // A focused driver the hive has no service for: the box says so.
    let ghost = DriverKey::from_path("ghost.sys").expect("key");
    focus_on(&mut pane, &case, &ghost);
    let text = format!("{}", draw(&mut pane, &case, Some(&ghost), 80, 24).backend());
    assert!(text.contains("ghost.sys: no service key"), "{text}");

    // No hive: the pane names the file it needs.
    let mut empty = DriversPane::new();
    let t = draw(&mut empty, &hive_case(None), None, 80, 24);
    insta::assert_snapshot!("drivers_no_hive_80x24", t.backend());
    assert!(format!("{}", t.backend()).contains("SYSTEM (the registry hive"));
}

#[test]
fn the_sample_hive_focused_on_filecrypt() {
    let Some(xz) = common::sample("regipy/SYSTEM_WIN_10_1709.xz") else {
        return;
    };
    let mut input = std::io::BufReader::new(std::fs::File::open(&xz).expect("open"));
    let mut bytes = Vec::new();
    lzma_rs::xz_decompress(&mut input, &mut bytes).expect("xz");
    let mut hive = registry::from_bytes(&bytes, Path::new("SYSTEM")).expect("hive");
    hive.path = PathBuf::from("/cases/regipy/SYSTEM");
    let critical = hive
        .drivers()
        .filter(|s| s.is_critical_boot_driver())
        .count();
    // regipy counts 31 too (Type & 0xB, no process bits, Start <= 1, ErrorControl = 3).
    assert_eq!(critical, 31);
    let case = hive_case(Some(hive));
    let mut pane = DriversPane::new();
    let focus = filecrypt();
    focus_on(&mut pane, &case, &focus);
    assert_eq!(
        pane.selected(&case.0).map(|s| s.name.as_str()),
        Some("FileCrypt")
    );
    let t = draw(&mut pane, &case, Some(&focus), 160, 48);
    insta::assert_snapshot!("drivers_sample_focused_160x48", t.backend());
    let text = format!("{}", t.backend());
    assert!(text.contains("dirty hive, read as is"), "{text}");
    assert!(
        text.contains("machine time 2019-05-16T01:22:00-07:00"),
        "{text}"
    );
}

#[test]
fn the_demo_case_shows_filecrypt_with_its_verdict_and_dump_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo case");
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    assert!(case.hive.is_some(), "{:?}", case.problems);
    let analysis = CaseAnalysis::build(&case);
    let mut pane = DriversPane::new();
    let focus = filecrypt();
    let theme = Theme::ansi16();
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &analysis,
        focus: Some(&focus),
        theme: &theme,
    });
    assert_eq!(
        pane.selected(&case).map(|s| s.name.as_str()),
        Some("FileCrypt")
    );
    let ctx = PaneContext {
        case: &case,
        analysis: &analysis,
        focus: Some(&focus),
        theme: &theme,
    };
    let mut t = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    t.draw(|f| pane.render(f, f.area(), &ctx)).expect("draw");
    let text = format!("{}", t.backend());
    assert!(
        text.contains("Services\\FileCrypt (filecrypt.sys)"),
        "{text}"
    );
    assert!(text.contains("3 critical"), "{text}");
    // The story: filecrypt.sys is listed only by a servicing\Packages catalog and never loaded.
    assert!(text.contains("catalog-only-in-servicing"), "{text}");
    assert!(text.contains("not loaded"), "{text}");
}
