//! Every pane drawn on ratatui's TestBackend at 80x24 and 160x48, kept as insta snapshots.

mod common;

use bsod_workbench::case::{self, Case};
use bsod_workbench::ui::App;
use bsod_workbench::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| app.draw(f)).expect("draw");
    t
}

/// A case made of the rizin-testbins samples, shown under a fixed root so snapshots are stable.
fn sample_case() -> Option<Case> {
    let dir = common::sample("rizin-testbins")?;
    let inventory = case::scan(&dir).expect("scan");
    Some(Case {
        root: Some(PathBuf::from("/cases/rizin-testbins")),
        inventory: Some(inventory),
        ..Case::default()
    })
}

#[test]
fn empty_case_screen_says_how_to_open_a_case() {
    let mut app = App::new(Case::empty(), Theme::ansi16());
    for (w, h) in [(80, 24), (160, 48)] {
        let t = draw(&mut app, w, h);
        insta::assert_snapshot!(format!("empty_overview_{w}x{h}"), t.backend());
        let text = format!("{}", t.backend());
        assert!(text.contains("bsodwb PATH/TO/CASE"));
    }
}

#[test]
fn every_pane_at_both_sizes() {
    let Some(case) = sample_case() else { return };
    let mut app = App::new(case, Theme::ansi16());
    for (i, name) in [
        "overview",
        "dump",
        "timeline",
        "integrity",
        "drivers",
        "notes",
    ]
    .iter()
    .enumerate()
    {
        app.handle_key(key(KeyCode::Char(char::from(b'1' + i as u8))));
        assert_eq!(app.active, i);
        for (w, h) in [(80, 24), (160, 48)] {
            let t = draw(&mut app, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
        }
    }
}

#[test]
fn help_overlay_lists_pane_and_global_keys_from_the_keymap() {
    let mut app = App::new(Case::empty(), Theme::ansi16());
    app.handle_key(key(KeyCode::Char('?')));
    assert!(app.help);
    let t = draw(&mut app, 80, 24);
    let text = format!("{}", t.backend());
    for b in &app.keymap.global {
        assert!(text.contains(&b.desc), "help lacks {:?}", b.desc);
    }
    insta::assert_snapshot!("help_80x24", t.backend());
    app.handle_key(key(KeyCode::Esc));
    assert!(!app.help);
}

#[test]
fn tab_digits_and_quit_move_between_panes() {
    let mut app = App::new(Case::empty(), Theme::ansi16());
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.active_title(), "Dump");
    app.handle_key(key(KeyCode::BackTab));
    app.handle_key(key(KeyCode::BackTab));
    assert_eq!(app.active_title(), "Notes");
    app.handle_key(key(KeyCode::Char('4')));
    assert_eq!(app.active_title(), "Integrity");
    app.handle_key(key(KeyCode::Char('q')));
    assert!(app.quit);
}

#[test]
fn focus_shows_on_the_status_line_of_every_pane_and_clears() {
    let Some(case) = sample_case() else { return };
    let mut app = App::new(case, Theme::ansi16());
    app.set_focus(bsod_workbench::driver::DriverKey::from_path(
        "\\SystemRoot\\System32\\drivers\\amdppm.sys",
    ));
    for i in 0..6 {
        app.handle_key(key(KeyCode::Char(char::from(b'1' + i as u8))));
        let text = format!("{}", draw(&mut app, 80, 24).backend());
        assert!(text.contains("focus: amdppm.sys"), "pane {i}");
    }
    app.handle_key(key(KeyCode::Char('F')));
    assert!(app.focus.is_none());
    let text = format!("{}", draw(&mut app, 80, 24).backend());
    assert!(text.contains("focus: none"));
}

#[test]
fn no_color_theme_draws_without_colours() {
    let Some(case) = sample_case() else { return };
    let mut app = App::new(case, Theme::monochrome());
    let t = draw(&mut app, 80, 24);
    for cell in t.backend().buffer().content() {
        assert_eq!(
            cell.fg,
            ratatui::style::Color::Reset,
            "a coloured cell under NO_COLOR: {cell:?}"
        );
        assert_eq!(cell.bg, ratatui::style::Color::Reset);
    }
}

#[test]
fn notes_are_saved_atomically_into_the_case_folder_and_nothing_else_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("SIGVERIF.TXT"),
        "Microsoft Signature Verification\r\n\r\nLog file generated on 1/1/2024\r\n",
    )
    .expect("w");
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    let mut app = App::new(case, Theme::ansi16());
    app.handle_key(key(KeyCode::Char('6')));
    app.handle_key(key(KeyCode::Char('i')));
    for c in "filecrypt.sys: catalog missing".chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
    // `q` while editing is text, not quit.
    app.handle_key(key(KeyCode::Char('q')));
    assert!(!app.quit);
    app.handle_key(key(KeyCode::Esc));
    let saved = std::fs::read_to_string(dir.path().join("bsodwb-notes.md")).expect("notes saved");
    assert_eq!(saved, "filecrypt.sys: catalog missingq\n");
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["SIGVERIF.TXT", "bsodwb-notes.md"]);
    // Reopening the case shows the saved notes.
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    let mut app = App::new(case, Theme::ansi16());
    app.handle_key(key(KeyCode::Char('6')));
    assert!(format!("{}", draw(&mut app, 80, 24).backend()).contains("catalog missingq"));
}

#[test]
fn demo_case_overview_findings_evidence_and_focus() {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo");
    let mut case = Case::load(dir.path(), &mut |_| {}).expect("load");
    case.root = Some(PathBuf::from("/cases/demo"));
    let mut app = App::new(case, Theme::ansi16());
    let t = draw(&mut app, 80, 24);
    insta::assert_snapshot!("demo_overview_80x24", t.backend());
    // The second finding is filecrypt.sys: its evidence, then focus.
    app.handle_key(key(KeyCode::Char('j')));
    app.handle_key(key(KeyCode::Enter));
    let t = draw(&mut app, 160, 48);
    let text = format!("{}", t.backend());
    assert!(text.contains("CodeIntegrity 3004"), "{text}");
    assert!(text.contains("catalog-only-in-servicing"));
    assert!(text.contains("ErrorControl=3 (critical)"));
    insta::assert_snapshot!("demo_evidence_160x48", t.backend());
    app.handle_key(key(KeyCode::Char('f')));
    assert_eq!(app.focus.as_ref().map(|k| k.name()), Some("filecrypt.sys"));
    app.handle_key(key(KeyCode::Esc));
    let text = format!("{}", draw(&mut app, 80, 24).backend());
    assert!(text.contains("focus: filecrypt.sys"));
}
