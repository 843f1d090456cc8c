//! Detail views (Enter in every list), notes and marks, on the demo case through the app, at
//! 80x24 and 160x48, with insta snapshots of the new views.

use bsod_workbench::case::Case;
use bsod_workbench::ui::App;
use bsod_workbench::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
}

fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| app.draw(f)).expect("draw");
    t
}

fn demo_app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo");
    let mut case = Case::load(dir.path(), &mut |_| {}).expect("load");
    case.root = Some(PathBuf::from("/cases/demo"));
    (dir, App::new(case, Theme::ansi16()))
}

/// The text inside the popup's borders (the box whose title starts with `title`), its rows
/// joined, so a value wrapped over rows reads whole.
fn popup_text(t: &Terminal<TestBackend>, title: &str) -> String {
    let buf = t.backend().buffer();
    let area = buf.area;
    let row = |y: u16| -> Vec<String> {
        (0..area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect()
    };
    let head = format!("┌ {title}");
    let Some(top) = (0..area.height).find(|&y| row(y).concat().contains(&head)) else {
        return String::new();
    };
    let cells = row(top);
    let x0 = (0..cells.len())
        .find(|&x| cells[x..].concat().starts_with(&head))
        .unwrap_or(0);
    let x1 = x0 + 1 + cells[x0 + 1..].iter().position(|c| c == "┐").unwrap_or(0);
    let mut out = String::new();
    for y in top + 1..area.height {
        let cells = row(y);
        if cells[x0] == "└" {
            break;
        }
        // Wrapped values hang under their first line: the row's text without its indent.
        out.push_str(cells[x0 + 1..x1].concat().trim());
    }
    out
}

const CATALOG: &str = "\\Device\\HarddiskVolume2\\Windows\\System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}\\Package_1257_for_KB5036899~31bf3856ad364e35~amd64~~10.0.1.27.cat";

/// Open the 3010 in the Integrity pane: search for it, then Enter.
fn open_3010(app: &mut App) {
    press(app, "4/3010");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Enter));
}

#[test]
fn enter_on_the_demo_3010_shows_the_missing_catalogs_full_name() {
    const TITLE: &str = "Event 3010";
    let (_dir, mut app) = demo_app();
    open_3010(&mut app);
    for (w, h) in [(160, 48), (80, 24)] {
        let t = draw(&mut app, w, h);
        let screen = format!("{}", t.backend());
        assert!(screen.contains("Event 3010 CodeIntegrity"), "{screen}");
        // Page through the popup: the whole catalog path shows (wrapped, never cut).
        let mut text = popup_text(&t, TITLE);
        for _ in 0..4 {
            app.handle_key(key(KeyCode::PageDown));
            text.push_str(&popup_text(&draw(&mut app, w, h), TITLE));
        }
        assert!(text.contains(CATALOG), "{w}x{h}: {text}");
        assert!(
            text.contains("FileNameBuffer"),
            "the EventData field by name: {text}"
        );
        app.handle_key(key(KeyCode::Char('g')));
        insta::assert_snapshot!(
            format!("event_3010_{w}x{h}"),
            draw(&mut app, w, h).backend()
        );
    }
    app.handle_key(key(KeyCode::Esc));
    let screen = format!("{}", draw(&mut app, 160, 48).backend());
    assert!(
        !screen.contains("Esc closes"),
        "Esc closes the view: {screen}"
    );
}

#[test]
fn focusing_the_driver_keeps_the_catalog_lookup_of_its_catalog() {
    let (_dir, mut app) = demo_app();
    // The Dump's `b`: Integrity, focused on filecrypt.sys.
    press(&mut app, "2b");
    assert_eq!(app.active_title(), "Integrity");
    let screen = format!("{}", draw(&mut app, 160, 48).backend());
    let events: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("2024-05-14"))
        .collect();
    assert!(
        events.iter().any(|l| l.contains(" 3010 ")),
        "the 3010 about its lost catalog stays: {screen}"
    );
    assert!(events.iter().any(|l| l.contains(" 3004 ")), "{screen}");
    // Another lost driver (listed by the same catalog) keeps it too; a driver of another
    // catalog does not.
}

#[test]
fn signature_view_is_sigcheck_i_style() {
    const TITLE: &str = "Signature of";
    let (_dir, mut app) = demo_app();
    press(&mut app, "2b");
    // Events -> By driver -> Signatures.
    press(&mut app, "ll");
    app.handle_key(key(KeyCode::Enter));
    for (w, h) in [(160, 48), (80, 24)] {
        let t = draw(&mut app, w, h);
        let mut text = popup_text(&t, TITLE);
        for _ in 0..6 {
            app.handle_key(key(KeyCode::PageDown));
            text.push_str(&popup_text(&draw(&mut app, w, h), TITLE));
        }
        for want in [
            "Verified",
            "catalog-only-in-servicing",
            "Package_1257_for_KB5036899~31bf3856ad364e35~amd64~~10.0.1.27.cat",
            "Company",
            "File version",
            "PESHA1",
            "PESHA256",
            "Start system, ErrorControl critical",
        ] {
            assert!(text.contains(want), "{w}x{h}: {want} in {text}");
        }
        app.handle_key(key(KeyCode::Char('g')));
        insta::assert_snapshot!(
            format!("signature_filecrypt_{w}x{h}"),
            draw(&mut app, w, h).backend()
        );
    }
}

#[test]
fn dump_modules_show_dates_versions_stack_and_vendor_marks() {
    let (_dir, mut app) = demo_app();
    press(&mut app, "2l");
    for (w, h) in [(160, 48), (80, 24)] {
        let screen = format!("{}", draw(&mut app, w, h).backend());
        assert!(screen.contains("Date"), "{screen}");
        assert!(screen.contains("Stk"), "{screen}");
        insta::assert_snapshot!(format!("dump_modules_{w}x{h}"), screen);
    }
    let screen = format!("{}", draw(&mut app, 160, 48).backend());
    // nt has frames on the stack: its row carries their count in Stk.
    let nt = screen
        .lines()
        .find(|l| l.contains("│ fffff") && l.contains("ntoskrnl.exe"))
        .expect("the kernel's row");
    // Its link date (WinDbg: Thu Jan  7 10:12:00 2021 (5FF6DE70)) and its 7 frames.
    assert!(nt.contains("2021-01-07"), "a link date: {nt}");
    assert!(nt.contains("ntoskrnl.exe           7 "), "{nt}");
    // T: raw time stamps, and back.
    press(&mut app, "T");
    let raw = format!("{}", draw(&mut app, 160, 48).backend());
    assert!(raw.contains("5ff6de70"), "{raw}");
    press(&mut app, "T");
    let body = |s: &str| s.lines().take(47).collect::<Vec<_>>().join("\n");
    let back = format!("{}", draw(&mut app, 160, 48).backend());
    assert_eq!(
        body(&back),
        body(&screen),
        "dates again (the status line says so)"
    );
}

#[test]
fn module_view_is_lmvm_style() {
    const TITLE: &str = "Module ";
    let (_dir, mut app) = demo_app();
    press(&mut app, "2l");
    app.handle_key(key(KeyCode::Enter));
    for (w, h) in [(160, 48), (80, 24)] {
        let t = draw(&mut app, w, h);
        let mut text = popup_text(&t, TITLE);
        for _ in 0..3 {
            app.handle_key(key(KeyCode::PageDown));
            text.push_str(&popup_text(&draw(&mut app, w, h), TITLE));
        }
        for want in [
            "start",
            "end",
            "Image path",
            "Timestamp",
            "CheckSum",
            "ImageSize",
            "module name",
        ] {
            assert!(text.contains(want), "{w}x{h}: {want} in {text}");
        }
        app.handle_key(key(KeyCode::Char('g')));
        insta::assert_snapshot!(
            format!("module_lmvm_{w}x{h}"),
            draw(&mut app, w, h).backend()
        );
    }
    app.handle_key(key(KeyCode::Esc));
    assert!(!format!("{}", draw(&mut app, 160, 48).backend()).contains("(lmvm)"));
}

#[test]
fn a_key_appends_the_selected_event_frame_and_finding_to_the_notes_with_their_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo");
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    let mut app = App::new(case, Theme::ansi16());
    let notes = dir.path().join("bsodwb-notes.md");
    // The 3010 in Integrity: its log file and record ID.
    press(&mut app, "4/3010");
    app.handle_key(key(KeyCode::Enter));
    press(&mut app, "A");
    let m = app.message.clone().unwrap_or_default();
    assert!(
        m.contains("Microsoft-Windows-CodeIntegrity%4Operational.evtx record 1"),
        "{m}"
    );
    let text = std::fs::read_to_string(&notes).expect("notes written");
    assert!(
        text.contains("### Microsoft-Windows-CodeIntegrity%4Operational.evtx record 1"),
        "{text}"
    );
    assert!(text.contains(" 3010 "), "{text}");
    // A Dump frame: the dump file and frame number, the STACK_TEXT line.
    press(&mut app, "2j");
    press(&mut app, "A");
    let text = std::fs::read_to_string(&notes).expect("notes");
    assert!(text.contains("### MEMORY.DMP frame 01"), "{text}");
    assert!(text.contains("nt!IopLoadDriver+0x2ff"), "{text}");
    // The Overview's first finding with its evidence.
    press(&mut app, "1A");
    let text = std::fs::read_to_string(&notes).expect("notes");
    assert!(text.contains("### finding 1: "), "{text}");
    assert!(text.contains("    - "), "its clues: {text}");
    // Appended in order, the earlier entries kept; the Notes pane shows them.
    let a = text.find("record 1").expect("event");
    let b = text.find("frame 01").expect("frame");
    let c = text.find("finding 1").expect("finding");
    assert!(a < b && b < c, "{text}");
    // A service row of the Drivers pane: the hive file and the service's key.
    press(&mut app, "5");
    draw(&mut app, 80, 24);
    press(&mut app, "A");
    let text = std::fs::read_to_string(&notes).expect("notes");
    assert!(
        text.contains("### SYSTEM ControlSet001\\Services\\"),
        "{text}"
    );
    press(&mut app, "6");
    let screen = format!("{}", draw(&mut app, 160, 48).backend());
    assert!(screen.contains("### MEMORY.DMP frame 01"), "{screen}");
}

#[test]
fn marks_set_show_and_jump_back_in_any_list() {
    let (_dir, mut app) = demo_app();
    // Integrity's events: mark the third row, go to the end, jump back.
    press(&mut app, "4jjm");
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("marked row 3"))
    );
    press(&mut app, "G'");
    assert_eq!(app.message.as_deref(), Some("at the mark, row 3"));
    for (w, h) in [(160, 48), (80, 24)] {
        let t = draw(&mut app, w, h);
        let screen = format!("{}", t.backend());
        // The mark sits on the box's left border, on the selected (marked) row.
        let marked: Vec<&str> = screen.lines().filter(|l| l.starts_with("\"'")).collect();
        assert_eq!(marked.len(), 1, "{screen}");
        assert!(marked[0].contains("2024-05-14"), "{marked:?}");
        insta::assert_snapshot!(format!("integrity_mark_{w}x{h}"), t.backend());
    }
    // The Dump's stack keeps its own mark.
    press(&mut app, "2jm");
    press(&mut app, "jj'");
    assert_eq!(app.message.as_deref(), Some("at the mark, row 2"));
    let screen = format!("{}", draw(&mut app, 80, 24).backend());
    assert!(screen.lines().any(|l| l.starts_with("\"'*01 ")), "{screen}");
    // A list without a mark says how to set one.
    press(&mut app, "5'");
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("no mark in this list"))
    );
}

/// The selected rows (reversed) inside boxes.
fn selected_rows(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    let area = buf.area;
    (0..area.height)
        .filter(|&y| {
            buf[(1, y)]
                .modifier
                .contains(ratatui::style::Modifier::REVERSED)
        })
        .map(|y| {
            (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .filter(|r| r.starts_with('│'))
        .collect()
}

#[test]
fn evidence_lines_jump_to_their_source_row_and_back_returns() {
    let (_dir, mut app) = demo_app();
    // The filecrypt.sys finding (the second): its clues, the CodeIntegrity event first.
    press(&mut app, "1j");
    app.handle_key(key(KeyCode::Enter));
    press(&mut app, "l");
    for (w, h) in [(160, 48), (80, 24)] {
        insta::assert_snapshot!(
            format!("evidence_clue_{w}x{h}"),
            draw(&mut app, w, h).backend()
        );
    }
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.active_title(), "Integrity");
    let t = draw(&mut app, 160, 48);
    let rows = selected_rows(&t);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains(" 3004 ") && rows[0].contains("filecrypt.sys"),
        "{rows:?}"
    );
    // Back: the Overview, the evidence still open; the next clue (its signature) opens the
    // signatures table on filecrypt.sys.
    app.handle_key(key(KeyCode::Backspace));
    assert_eq!(app.active_title(), "Overview");
    press(&mut app, "l");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.active_title(), "Integrity");
    let rows = selected_rows(&draw(&mut app, 160, 48));
    assert!(
        rows.iter()
            .any(|r| r.contains("filecrypt.sys") && r.contains("catalog-only-in-servicing")),
        "{rows:?}"
    );
    // The bug check's faulting frame opens the Dump on frame 01.
    app.handle_key(key(KeyCode::Backspace));
    app.handle_key(key(KeyCode::Esc));
    press(&mut app, "k");
    app.handle_key(key(KeyCode::Enter));
    // From the last clue ("the dump points at filecrypt.sys", the dump) back one.
    press(&mut app, "hh");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.active_title(), "Dump");
    let rows = selected_rows(&draw(&mut app, 160, 48));
    assert!(rows.iter().any(|r| r.starts_with("│*01 ")), "{rows:?}");
    app.handle_key(key(KeyCode::Backspace));
    assert_eq!(app.active_title(), "Overview");
}

#[test]
fn drivers_enter_shows_the_service_and_its_signature() {
    const TITLE: &str = "Service FileCrypt";
    let (_dir, mut app) = demo_app();
    // Focused on filecrypt.sys, the Drivers pane opens on its service.
    press(&mut app, "2b5");
    assert_eq!(app.active_title(), "Drivers");
    app.handle_key(key(KeyCode::Enter));
    for (w, h) in [(160, 48), (80, 24)] {
        let mut text = popup_text(&draw(&mut app, w, h), TITLE);
        for _ in 0..6 {
            app.handle_key(key(KeyCode::PageDown));
            text.push_str(&popup_text(&draw(&mut app, w, h), TITLE));
        }
        for want in [
            "ErrorControl",
            "critical",
            "FSFilter Encryption",
            "catalog-only-in-servicing",
            "PESHA256",
        ] {
            assert!(text.contains(want), "{w}x{h}: {want} in {text}");
        }
        app.handle_key(key(KeyCode::Char('g')));
        insta::assert_snapshot!(
            format!("drivers_service_{w}x{h}"),
            draw(&mut app, w, h).backend()
        );
    }
    app.handle_key(key(KeyCode::Esc));
    assert!(!format!("{}", draw(&mut app, 160, 48).backend()).contains(TITLE));
}

fn text(t: &Terminal<TestBackend>) -> String {
    let b = t.backend().buffer();
    let mut out = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            out.push_str(b[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn drivers_zoom_wrap_and_sideways_columns() {
    let (_dir, mut app) = demo_app();
    press(&mut app, "5");
    assert_eq!(app.active_title(), "Drivers");
    let before = text(&draw(&mut app, 80, 24));
    assert!(before.contains("Hive "), "{before}");
    // Z: the table takes the pane (the summary goes), Esc brings it back.
    press(&mut app, "Z");
    let zoomed = text(&draw(&mut app, 80, 24));
    assert!(!zoomed.contains("Hive "), "{zoomed}");
    app.handle_key(key(KeyCode::Esc));
    assert!(text(&draw(&mut app, 80, 24)).contains("Hive "));
    // >: the columns after the frozen name column scroll by one; < brings them back.
    let header = |s: &str| -> String {
        s.lines()
            .find(|l| l.contains("NAME"))
            .unwrap_or_default()
            .to_string()
    };
    let h0 = header(&before);
    press(&mut app, ">");
    let h1 = header(&text(&draw(&mut app, 80, 24)));
    assert_ne!(h0, h1, "the header moved sideways");
    assert!(h1.contains("NAME"), "the name column stays: {h1}");
    assert!(!h1.contains("START"), "the first movable column left: {h1}");
    press(&mut app, "<");
    assert_eq!(header(&text(&draw(&mut app, 80, 24))), h0);
    // W: long cells wrap instead of being cut (a narrow terminal cuts the long groups).
    let cut = text(&draw(&mut app, 64, 24));
    assert!(!cut.contains("Extender"), "{cut}");
    press(&mut app, "W");
    let wrapped = text(&draw(&mut app, 64, 24));
    assert_ne!(cut, wrapped);
    assert!(wrapped.contains("Extender"), "{wrapped}");
}

#[test]
fn history_zoom_gives_the_table_the_pane() {
    let (_dir, mut app) = demo_app();
    press(&mut app, "7");
    assert_eq!(app.active_title(), "History");
    let before = text(&draw(&mut app, 80, 24));
    press(&mut app, "Z");
    let zoomed = text(&draw(&mut app, 80, 24));
    assert_ne!(before, zoomed);
    assert!(
        before.contains("Crashes") || before.contains("crash"),
        "{before}"
    );
    assert!(!zoomed.contains("crashes/day"), "{zoomed}");
    app.handle_key(key(KeyCode::Esc));
    assert!(text(&draw(&mut app, 80, 24)).contains("crashes/day"));
}

#[test]
fn integrity_tables_wrap_and_scroll_sideways() {
    let (_dir, mut app) = demo_app();
    press(&mut app, "4");
    assert_eq!(app.active_title(), "Integrity");
    let header = |s: &str| -> String {
        s.lines()
            .find(|l| l.contains("Time") && l.contains("ID"))
            .unwrap_or_default()
            .to_string()
    };
    let before = text(&draw(&mut app, 80, 24));
    let h0 = header(&before);
    assert!(!h0.is_empty(), "{before}");
    press(&mut app, ">");
    let h1 = header(&text(&draw(&mut app, 80, 24)));
    assert_ne!(h0, h1, "the events table moved sideways");
    press(&mut app, "<");
    assert_eq!(header(&text(&draw(&mut app, 80, 24))), h0);
    // W: the events' long details wrap (the 3010's catalog name shows whole).
    press(&mut app, "W");
    let wrapped = text(&draw(&mut app, 80, 24));
    assert_ne!(before, wrapped);
}

#[test]
fn the_column_chooser_hides_and_shows_columns_of_drivers_and_integrity() {
    let (_dir, mut app) = demo_app();
    press(&mut app, "5");
    press(&mut app, "C");
    let open = text(&draw(&mut app, 80, 24));
    assert!(open.contains("Columns: Space shows/hides"), "{open}");
    assert!(open.contains("[x] shown  START"), "{open}");
    // The second listed column (START) hidden, then the chooser closed.
    press(&mut app, "j ");
    assert!(text(&draw(&mut app, 80, 24)).contains("[ ] hidden START"));
    app.handle_key(key(KeyCode::Esc));
    let hidden = text(&draw(&mut app, 80, 24));
    assert!(!hidden.contains("Columns: Space"), "{hidden}");
    let header = hidden
        .lines()
        .find(|l| l.contains("NAME"))
        .unwrap_or_default();
    assert!(!header.contains("START"), "{header}");
    // Integrity: the events table's chooser.
    press(&mut app, "4C");
    let open = text(&draw(&mut app, 80, 24));
    assert!(open.contains("[x] shown  Time"), "{open}");
    press(&mut app, " ");
    app.handle_key(key(KeyCode::Esc));
    let t = text(&draw(&mut app, 80, 24));
    let header = t.lines().find(|l| l.contains(" ID ")).unwrap_or_default();
    assert!(!header.contains("Time"), "{header}");
}

#[test]
fn dump_stack_modules_and_history_tables_have_the_same_column_keys() {
    let (_dir, mut app) = demo_app();
    // `l` moves the Dump's cursor from the stack to the modules.
    for (pane, first) in [("2", "Call Site"), ("2l", "Module"), ("7", "Time (UTC)")] {
        press(&mut app, pane);
        press(&mut app, "C");
        let open = text(&draw(&mut app, 160, 48));
        assert!(
            open.contains("Columns: Space shows/hides"),
            "{pane}: {open}"
        );
        assert!(
            open.contains(&format!("[x] shown  {first}")),
            "{pane}: {open}"
        );
        press(&mut app, "j ");
        assert!(
            text(&draw(&mut app, 160, 48)).contains("[ ] hidden "),
            "{pane}"
        );
        app.handle_key(key(KeyCode::Esc));
        let closed = text(&draw(&mut app, 160, 48));
        assert!(!closed.contains("Columns: Space"), "{pane}: {closed}");
        // Wrap answers with its message, and again turns it off.
        press(&mut app, "W");
        press(&mut app, "W");
    }
}

#[test]
fn the_stack_scrolls_sideways_to_windbg_columns_at_80x24() {
    let (_dir, mut app) = demo_app();
    press(&mut app, "2");
    let before = text(&draw(&mut app, 80, 24));
    let header = |t: &str| {
        t.lines()
            .find(|l| l.contains("Call Site"))
            .unwrap_or_default()
            .to_string()
    };
    // 80 columns hold the frame, Child-SP and the call site; the stack's title counts what
    // is off screen.
    assert!(header(&before).contains("Child-SP"), "{before}");
    assert!(!header(&before).contains("RetAddr"), "{before}");
    assert!(before.contains("Stack (7 frames, 1-"), "{before}");
    // `>` scrolls Child-SP away and brings RetAddr in, as WinDbg's STACK_TEXT has it.
    press(&mut app, ">");
    let after = text(&draw(&mut app, 80, 24));
    assert!(header(&after).contains("RetAddr"), "{after}");
    assert!(!header(&after).contains("Child-SP"), "{after}");
    assert!(after.contains("fffff8031200135f"), "{after}");
    // The open chooser takes every key: a digit neither switches panes nor leaves it open.
    press(&mut app, "C4");
    assert_eq!(app.active_title(), "Dump");
    assert!(text(&draw(&mut app, 80, 24)).contains("Columns: Space"));
    app.handle_key(key(KeyCode::Esc));
    press(&mut app, "4");
    assert_eq!(app.active_title(), "Integrity");
}

#[test]
fn overview_findings_wrap_whole_and_the_files_are_a_table_with_columns() {
    let (_dir, mut app) = demo_app();
    press(&mut app, "1");
    let cut = text(&draw(&mut app, 80, 24));
    // The fix's CatRoot GUID is past the 80th column: cut, until W wraps the findings.
    assert!(
        !cut.contains("F750E6C3-38EE-11D1-85E5-00C04FC295EE"),
        "{cut}"
    );
    press(&mut app, "W");
    assert_eq!(
        app.message.as_deref(),
        Some("findings and load problems show whole")
    );
    let whole = text(&draw(&mut app, 80, 24));
    assert!(
        whole.contains("F750E6C3-38EE-11D1-85E5-00C04FC295EE"),
        "{whole}"
    );
    // The files: a table whose columns the chooser hides, and an empty load-problem list
    // is one line.
    press(&mut app, "l");
    let files = text(&draw(&mut app, 80, 24));
    assert!(
        files.contains("Path") && files.contains("Detail"),
        "{files}"
    );
    assert!(
        files.contains(" Load problems (0): everything in the case was read ─"),
        "{files}"
    );
    press(&mut app, "C");
    let open = text(&draw(&mut app, 80, 24));
    assert!(open.contains("[x] shown  Kind"), "{open}");
    press(&mut app, "j ");
    app.handle_key(key(KeyCode::Esc));
    let hidden = text(&draw(&mut app, 80, 24));
    let header = hidden
        .lines()
        .find(|l| l.contains("Path") && l.contains("Size"))
        .unwrap_or_default();
    assert!(!header.contains("Kind"), "{hidden}");
}

#[test]
fn notes_wrap_long_lines_and_w_runs_them_on() {
    // The case where it was written (demo_app names another root), so the notes are kept.
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo");
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    let mut app = App::new(case, Theme::ansi16());
    // The first finding (its long fix) appended to the notes.
    press(&mut app, "1A");
    press(&mut app, "6");
    let wrapped = text(&draw(&mut app, 80, 24));
    assert!(wrapped.contains("3001/3004/3010 events"), "{wrapped}");
    press(&mut app, "W");
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("long lines run on")),
        "{:?}",
        app.message
    );
    let run_on = text(&draw(&mut app, 80, 24));
    assert!(!run_on.contains("3001/3004/3010 events"), "{run_on}");
    press(&mut app, "W");
    let again = text(&draw(&mut app, 80, 24));
    assert!(again.contains("3001/3004/3010 events"), "{again}");
}

/// A clue that counts several rows (the culprit's crashes in the history) points at the
/// first of them: Enter on it opens that row in the History.
#[test]
fn a_counting_clue_opens_the_first_row_it_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::scenarios::find("driver-fault-0xd1")
        .expect("scenario")
        .write(dir.path(), false)
        .expect("write");
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    let mut app = App::new(case, Theme::ansi16());
    press(&mut app, "1");
    draw(&mut app, 160, 48);
    app.handle_key(key(KeyCode::Enter));
    // Pick the linked clues one by one (l) and open each (Enter) until one opens the
    // History; Back returns to the evidence between tries.
    let mut opened = Vec::new();
    for _ in 0..20 {
        press(&mut app, "l");
        app.handle_key(key(KeyCode::Enter));
        opened.push(app.active_title().to_string());
        if app.active_title() == "History" {
            break;
        }
        app.handle_key(key(KeyCode::Backspace));
    }
    assert_eq!(app.active_title(), "History", "{opened:?}");
    // The Dump's clues (the bug check, the culprit's version line) opened the Dump first.
    assert!(opened.iter().any(|p| p == "Dump"), "{opened:?}");
    let selected = selected_rows(&draw(&mut app, 160, 48));
    assert_eq!(selected.len(), 1, "{selected:?}");
    assert!(selected[0].contains("contosonet.sys"), "{selected:?}");
    assert!(selected[0].contains("crash"), "{selected:?}");
}

#[test]
fn history_search_says_which_match_of_how_many() {
    let (_dir, mut app) = demo_app();
    // From the first row (the search goes forward from the cursor, as vim's does).
    press(&mut app, "7");
    draw(&mut app, 80, 24);
    press(&mut app, "g/filecrypt");
    app.handle_key(key(KeyCode::Enter));
    let first = app.message.clone().unwrap_or_default();
    assert!(first.starts_with("/filecrypt: match 1 of "), "{first}");
    let total: usize = first
        .trim_start_matches("/filecrypt: match 1 of ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(total >= 1);
    press(&mut app, "n");
    let next = app.message.clone().unwrap_or_default();
    if total > 1 {
        assert!(next.starts_with("/filecrypt: match 2 of "), "{next}");
    } else {
        assert!(next.contains("search hit the bottom"), "{next}");
    }
    // The selected row is a match.
    let selected = selected_rows(&draw(&mut app, 160, 48));
    assert_eq!(selected.len(), 1, "{selected:?}");
    assert!(
        selected[0].to_lowercase().contains("filecrypt"),
        "{selected:?}"
    );
}
