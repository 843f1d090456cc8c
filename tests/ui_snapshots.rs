//! Every pane drawn on ratatui's TestBackend at 80x24 and 160x48, kept as insta snapshots.

mod common;

use bsod_workbench::analysis::CaseAnalysis;
use bsod_workbench::case::{self, Case, Problem};
use bsod_workbench::ui::App;
use bsod_workbench::ui::action::Outcome;
use bsod_workbench::ui::pane::{Pane, PaneContext};
use bsod_workbench::ui::panes::integrity::{IntegrityPane, Table};
use bsod_workbench::ui::panes::overview::{List, OverviewPane};
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
    // Round to the last pane.
    assert_eq!(app.active_title(), "History");
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
    // Analysed where it was loaded, shown under a stable root.
    let analysis = CaseAnalysis::build(&case);
    case.root = Some(PathBuf::from("/cases/demo"));
    let mut app = App::with_analysis(case, analysis, Theme::ansi16());
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

/// The text of every row drawn in the selection style (reverse video) inside a pane's boxes.
fn reversed_rows(t: &Terminal<TestBackend>) -> Vec<String> {
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
        .collect()
}

fn demo_case() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo");
    let mut case = Case::load(dir.path(), &mut |_| {}).expect("load");
    case.root = Some(PathBuf::from("/cases/demo"));
    (dir, case)
}

fn type_search<P: Pane>(pane: &mut P, case: &Case, query: &str) -> Outcome {
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case,
        analysis: &CaseAnalysis::build(case),
        focus: None,
        theme: &theme,
    };
    assert_eq!(
        pane.handle_key(key(KeyCode::Char('/')), &ctx),
        Outcome::Consumed
    );
    assert!(pane.captures_input());
    for c in query.chars() {
        pane.handle_key(key(KeyCode::Char(c)), &ctx);
    }
    let out = pane.handle_key(key(KeyCode::Enter), &ctx);
    assert!(!pane.captures_input());
    out
}

/// The Overview's list with the cursor, over `case` and its analysis.
fn list_of(pane: &OverviewPane, case: &Case) -> List {
    let theme = Theme::ansi16();
    pane.list(&PaneContext {
        case,
        analysis: &CaseAnalysis::build(case),
        focus: None,
        theme: &theme,
    })
}

fn press_pane<P: Pane>(pane: &mut P, case: &Case, code: KeyCode) -> Outcome {
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case,
        analysis: &CaseAnalysis::build(case),
        focus: None,
        theme: &theme,
    };
    pane.handle_key(key(code), &ctx)
}

fn draw_pane<P: Pane>(pane: &mut P, case: &Case, w: u16, h: u16) -> Terminal<TestBackend> {
    let theme = Theme::ansi16();
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| {
        let ctx = PaneContext {
            case,
            analysis: &CaseAnalysis::build(case),
            focus: None,
            theme: &theme,
        };
        pane.render(f, f.area(), &ctx);
    })
    .expect("draw");
    t
}

#[test]
fn overview_search_on_the_sample_case_through_the_app() {
    let Some(case) = sample_case() else { return };
    let mut app = App::new(case, Theme::ansi16());
    app.handle_key(key(KeyCode::Char('/')));
    // While the search line is open, digits and `q` are text, not pane switches or quit.
    for c in "x64".chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
    assert_eq!(app.active, 0);
    let t = draw(&mut app, 80, 24);
    assert!(format!("{}", t.backend()).contains("Search findings, files and load problems"));
    app.handle_key(key(KeyCode::Enter));
    let t = draw(&mut app, 80, 24);
    let rows = reversed_rows(&t);
    // The status line is reverse video too; the other reversed row is the selected file.
    assert!(
        rows.iter().any(|r| r.starts_with("│triage_x64.dmp ")),
        "{rows:?}"
    );
    assert!(format!("{}", t.backend()).contains("/x64: match 1 of 2"));
    app.handle_key(key(KeyCode::Char('n')));
    let t = draw(&mut app, 80, 24);
    assert!(
        reversed_rows(&t)
            .iter()
            .any(|r| r.starts_with("│triage_x64.expected.json "))
    );
    app.handle_key(key(KeyCode::Char('n')));
    let t = draw(&mut app, 80, 24);
    assert!(
        reversed_rows(&t)
            .iter()
            .any(|r| r.starts_with("│triage_x64.dmp "))
    );
    let text = format!("{}", t.backend());
    assert!(
        text.contains("match 1 of 2 (search hit the bottom"),
        "{text}"
    );
    // The help overlay lists the search keys, and still every global key at 80x24.
    app.handle_key(key(KeyCode::Char('?')));
    let text = format!("{}", draw(&mut app, 80, 24).backend());
    assert!(
        text.contains("/           search all three lists"),
        "{text}"
    );
    assert!(text.contains("n/N         next/previous match"), "{text}");
    for b in &app.keymap.global {
        assert!(text.contains(&b.desc), "help lacks {:?}", b.desc);
    }
}

#[test]
fn overview_search_goes_through_findings_then_files_of_the_demo_case() {
    let (_dir, case) = demo_case();
    let q = "filecrypt";
    // What the search should visit, worked out from the case itself: the findings whose title
    // or second line name it, then the files whose path, kind or detail name it.
    let analysis = CaseAnalysis::build(&case);
    let mut expected: Vec<(List, usize)> = Vec::new();
    for (i, f) in analysis.findings.iter().enumerate() {
        let line = f
            .remediation
            .clone()
            .or_else(|| f.evidence.first().map(|e| e.text.clone()))
            .unwrap_or_default();
        if f.title.to_lowercase().contains(q) || line.to_lowercase().contains(q) {
            expected.push((List::Findings, i));
        }
    }
    let files = &case.inventory.as_ref().expect("inventory").files;
    for (i, f) in files.iter().enumerate() {
        if format!("{} {} {}", f.path, f.kind.as_str(), f.detail)
            .to_lowercase()
            .contains(q)
        {
            expected.push((List::Files, i));
        }
    }
    assert!(expected.iter().any(|(l, _)| *l == List::Findings));
    assert!(expected.iter().any(|(l, _)| *l == List::Files));

    let mut pane = OverviewPane::new();
    let at = |p: &OverviewPane| {
        let (finding, file, _) = p.selected();
        match list_of(p, &case) {
            List::Findings => (List::Findings, finding),
            List::Files => (List::Files, file),
            List::Problems => unreachable!("the demo case reads cleanly"),
        }
    };
    let out = type_search(&mut pane, &case, "FileCrypt");
    assert_eq!(
        out,
        Outcome::Message(format!("/FileCrypt: match 1 of {}", expected.len()))
    );
    assert_eq!(at(&pane), expected[0]);
    for want in expected.iter().skip(1) {
        press_pane(&mut pane, &case, KeyCode::Char('n'));
        assert_eq!(at(&pane), *want);
    }
    // The selected file row is drawn selected, and it names the driver.
    let t = draw_pane(&mut pane, &case, 160, 48);
    let rows = reversed_rows(&t);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].to_lowercase().contains("filecrypt"), "{rows:?}");
    // N goes back; from the first, N wraps to the last.
    press_pane(&mut pane, &case, KeyCode::Char('g'));
    press_pane(&mut pane, &case, KeyCode::Char('h'));
    press_pane(&mut pane, &case, KeyCode::Char('g'));
    let out = press_pane(&mut pane, &case, KeyCode::Char('N'));
    assert_eq!(at(&pane), *expected.last().unwrap());
    assert!(matches!(out, Outcome::Message(m) if m.contains("hit the top")));
}

#[test]
fn overview_search_reaches_load_problems_past_the_fourth() {
    let Some(mut case) = sample_case() else {
        return;
    };
    case.problems = (1..=6)
        .map(|i| {
            Problem::new(
                format!("broken{i}.evtx"),
                format!("not an EVTX file: chunk {i} has a bad checksum"),
            )
        })
        .collect();
    let mut pane = OverviewPane::new();
    let out = type_search(&mut pane, &case, "CHUNK 6");
    assert_eq!(out, Outcome::Message("/CHUNK 6: match 1 of 1".into()));
    assert_eq!(list_of(&pane, &case), List::Problems);
    assert_eq!(pane.selected().2, 5);
    // The box shows four problems; it scrolls to the sixth and draws it selected.
    let t = draw_pane(&mut pane, &case, 80, 24);
    let rows = reversed_rows(&t);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].starts_with("│broken6.evtx: not an EVTX file: chunk 6"),
        "{rows:?}"
    );
    // Enter shows the whole problem; Esc closes it.
    press_pane(&mut pane, &case, KeyCode::Enter);
    let text = format!("{}", draw_pane(&mut pane, &case, 80, 24).backend());
    assert!(text.contains("Load problem") && text.contains("chunk 6 has a bad checksum"));
    press_pane(&mut pane, &case, KeyCode::Esc);
    // h/l go round findings (none here), files and problems.
    press_pane(&mut pane, &case, KeyCode::Char('l'));
    assert_eq!(list_of(&pane, &case), List::Files);
}

#[test]
fn integrity_search_goes_through_events_drivers_and_signatures() {
    let (_dir, case) = demo_case();
    let mut pane = IntegrityPane::new();
    let out = type_search(&mut pane, &case, "filecrypt");
    let Outcome::Message(m) = out else {
        panic!("{out:?}")
    };
    assert!(m.starts_with("/filecrypt: match 1 of "), "{m}");
    assert_eq!(pane.active(), Table::Events);
    let selected = |pane: &mut IntegrityPane| {
        let rows = reversed_rows(&draw_pane(pane, &case, 160, 48));
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows[0].clone()
    };
    assert!(selected(&mut pane).to_lowercase().contains("filecrypt"));
    // n walks every match: events, then the by-driver table, then the signatures.
    let mut tables = vec![pane.active()];
    for _ in 0..200 {
        if let Outcome::Message(m) = press_pane(&mut pane, &case, KeyCode::Char('n'))
            && m.contains("hit the bottom")
        {
            break;
        }
        assert!(selected(&mut pane).to_lowercase().contains("filecrypt"));
        if tables.last() != Some(&pane.active()) {
            tables.push(pane.active());
        }
    }
    assert_eq!(tables, [Table::Events, Table::Drivers, Table::Signatures]);
    assert_eq!(pane.active(), Table::Events, "wrapped to the first match");
    let hints = pane.hints();
    let keys: Vec<&str> = hints.iter().map(|h| h.key.as_str()).collect();
    assert!(keys.contains(&"/") && keys.contains(&"n/N"), "{keys:?}");
}

#[test]
fn every_pane_help_fits_80x24_with_every_key() {
    let (_dir, case) = demo_case();
    let keymap = bsod_workbench::ui::keymap::Keymap::builtin();
    let panes: Vec<Box<dyn Pane>> =
        bsod_workbench::ui::panes::build(&case, &CaseAnalysis::build(&case));
    assert_eq!(panes.len(), 7, "six panes and the History");
    for pane in &panes {
        let hints = pane.hints();
        let mut t = Terminal::new(TestBackend::new(80, 22)).expect("terminal");
        t.draw(|f| {
            bsod_workbench::ui::widgets::help::render(
                f,
                f.area(),
                pane.title(),
                &hints,
                &keymap,
                &Theme::ansi16(),
            )
        })
        .expect("draw");
        let text = format!("{}", t.backend());
        for h in &hints {
            let first = h.desc.split_whitespace().next().unwrap_or("");
            assert!(
                text.contains(&format!("  {:<12}{first}", h.key)),
                "{}: help lacks {:?}\n{text}",
                pane.title(),
                h.key
            );
        }
        for b in &keymap.global {
            assert!(
                text.contains(&b.desc),
                "{}: lacks {:?}",
                pane.title(),
                b.desc
            );
        }
        assert!(text.contains("Esc or ? closes"), "{}", pane.title());
        if ["Overview", "Dump", "Integrity", "Drivers"].contains(&pane.title()) {
            let keys: Vec<&str> = hints.iter().map(|h| h.key.as_str()).collect();
            assert!(keys.contains(&"/") && keys.contains(&"n/N"), "{keys:?}");
        }
    }
}

/// At 80x24 the evidence popup scrolls (j/k, PgDn/PgUp, g/G) and says which rows show, so
/// the fix line at its end can be reached.
#[test]
fn evidence_popup_scrolls_to_the_fix_at_80x24() {
    let (_dir, case) = demo_case();
    let fix = CaseAnalysis::build(&case).findings[1]
        .remediation
        .clone()
        .expect("the filecrypt finding has a fix");
    let mut app = App::new(case, Theme::ansi16());
    app.handle_key(key(KeyCode::Char('j')));
    app.handle_key(key(KeyCode::Enter));
    let text = format!("{}", draw(&mut app, 80, 24).backend());
    let mark = |text: &str| -> (usize, usize, usize) {
        let at = text.find("Evidence ").expect("title with a position mark") + 9;
        let rest: String = text[at..].chars().take(20).collect();
        let (range, _) = rest.split_once(' ').unwrap_or((&rest, ""));
        let (a, b) = range.split_once('-').expect("a-b");
        let total: String = text[at..]
            .split(" of ")
            .nth(1)
            .expect("of N")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (
            a.parse().expect("first"),
            b.parse().expect("last"),
            total.parse().expect("total"),
        )
    };
    let (first, last, total) = mark(&text);
    assert_eq!(first, 1, "{text}");
    assert!(last < total, "the evidence does not fit at 80x24: {text}");
    // The fix's end and the closing line are below the fold.
    let last_word = fix.split_whitespace().last().expect("fix text").to_string();
    assert!(!text.contains("Esc closes"), "{text}");
    app.handle_key(key(KeyCode::Char('j')));
    let (first, _, _) = mark(&format!("{}", draw(&mut app, 80, 24).backend()));
    assert_eq!(first, 2);
    app.handle_key(key(KeyCode::Char('G')));
    let text = format!("{}", draw(&mut app, 80, 24).backend());
    let (_, last, total2) = mark(&text);
    assert_eq!((last, total2), (total, total), "{text}");
    assert!(text.contains("Esc closes"), "{text}");
    assert!(text.contains(&last_word), "{last_word} in {text}");
    app.handle_key(key(KeyCode::Char('g')));
    let (first, _, _) = mark(&format!("{}", draw(&mut app, 80, 24).backend()));
    assert_eq!(first, 1);
    app.handle_key(key(KeyCode::PageDown));
    let (first, _, _) = mark(&format!("{}", draw(&mut app, 80, 24).backend()));
    assert!(first > 2);
    app.handle_key(key(KeyCode::PageUp));
    let (first, _, _) = mark(&format!("{}", draw(&mut app, 80, 24).backend()));
    assert_eq!(first, 1);
}

/// `Y` copies whole views: the Dump pane its `!analyze`-style report (as `bsodwb dump`
/// prints it), the Drivers pane its table as TSV with a header; `y` one row.
#[test]
fn yank_copies_the_dump_report_and_the_drivers_table() {
    let (_dir, case) = demo_case();
    let report =
        bsod_workbench::dump::report::text_report(&case.dumps[0].dump, &case.dumps[0].analysis);
    let mut app = App::new(case, Theme::ansi16());
    app.handle_key(key(KeyCode::Char('2')));
    draw(&mut app, 160, 48);
    app.handle_key(key(KeyCode::Char('Y')));
    let copied = app.take_clipboard().expect("the dump report");
    assert!(copied.contains("STACK_TEXT"), "{copied}");
    assert_eq!(copied, report);
    assert_eq!(
        app.message.as_deref(),
        Some(format!("copied the analysis: {} chars", report.chars().count()).as_str())
    );
    app.handle_key(key(KeyCode::Char('5')));
    draw(&mut app, 160, 48);
    app.handle_key(key(KeyCode::Char('Y')));
    let tsv = app.take_clipboard().expect("the drivers table");
    let mut lines = tsv.lines();
    assert_eq!(
        lines.next(),
        Some("Name\tStart\tType\tErrorControl\tGroup\tImagePath")
    );
    assert!(
        tsv.lines().any(|l| l.starts_with("FileCrypt\t1 system\t")),
        "{tsv}"
    );
    app.handle_key(key(KeyCode::Char('y')));
    let row = app.take_clipboard().expect("one row");
    assert_eq!(row.lines().count(), 1);
    assert!(tsv.contains(&row));
}

/// The `:` command line on the Timeline: `:filter RULE` narrows it as `bsodwb pml --filter`
/// does, and `:export csv FILE` writes exactly what `bsodwb pml FILE --filter RULE --format
/// csv` prints; an export into the case folder is refused; a bad command says why.
#[test]
fn command_line_filters_the_timeline_and_exports_what_the_cli_prints() {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo");
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    let mut app = App::new(case, Theme::ansi16());
    let typed = |app: &mut App, text: &str| {
        app.handle_key(key(KeyCode::Char(':')));
        for c in text.chars() {
            app.handle_key(key(KeyCode::Char(c)));
        }
        app.handle_key(key(KeyCode::Enter));
    };
    app.handle_key(key(KeyCode::Char('3')));
    let rule = "Path ends with .sys";
    typed(&mut app, &format!("filter {rule}"));
    // The filter runs on the worker: wait for it.
    let start = std::time::Instant::now();
    loop {
        app.tick();
        let screen = format!("{}", draw(&mut app, 160, 48).backend());
        if !screen.contains("filtering") && !screen.contains("75/75") {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "the filter never finished:\n{screen}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = tempfile::tempdir().expect("out");
    let file = out.path().join("timeline.csv");
    typed(&mut app, &format!("export csv {}", file.display()));
    let msg = app.message.clone().unwrap_or_default();
    assert!(
        msg.starts_with("wrote ") && msg.contains("rows to"),
        "{msg}"
    );
    let exported = std::fs::read(&file).expect("the export");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .arg("pml")
        .arg(dir.path().join("Bootlog.pml"))
        .args(["--filter", rule, "--format", "csv"])
        .output()
        .expect("bsodwb pml");
    assert!(cli.status.success());
    assert_eq!(
        String::from_utf8_lossy(&exported),
        String::from_utf8_lossy(&cli.stdout)
    );
    assert!(exported.len() > 200);
    // Not into the case folder; a format the Timeline does not write is named.
    typed(
        &mut app,
        &format!("export csv {}", dir.path().join("x.csv").display()),
    );
    assert!(
        app.message
            .as_deref()
            .unwrap_or("")
            .contains("not exporting into the case folder"),
        "{:?}",
        app.message
    );
    assert!(!dir.path().join("x.csv").exists());
    typed(&mut app, "export md");
    assert!(app.message.as_deref().unwrap_or("").contains("exports csv"));
    typed(&mut app, "frob");
    assert!(
        app.message
            .as_deref()
            .unwrap_or("")
            .contains("unknown command :frob")
    );
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.command_history().len(), 4);
}

/// Back (Backspace) returns from Integrity to the Dump frame the jump came from, focus as it
/// was; Forward (Ctrl-F) goes there again; the status line shows the way back.
#[test]
fn back_returns_from_integrity_to_the_dump_frame_it_came_from() {
    let (_dir, case) = demo_case();
    let mut app = App::new(case, Theme::ansi16());
    app.handle_key(key(KeyCode::Char('2')));
    for _ in 0..3 {
        app.handle_key(key(KeyCode::Char('j')));
    }
    // The selected frame: the reversed row inside a box (the status line is reversed too).
    let selected = |t: &Terminal<TestBackend>| -> Vec<String> {
        reversed_rows(t)
            .into_iter()
            .filter(|r| r.starts_with('│'))
            .collect()
    };
    let t = draw(&mut app, 160, 48);
    let frame = selected(&t);
    assert_eq!(frame.len(), 1, "{frame:?}");
    assert!(frame[0].contains(" 03 "), "{frame:?}");
    // `b`: the pane the bug check points to (Integrity), focused on filecrypt.sys.
    app.handle_key(key(KeyCode::Char('b')));
    assert_eq!(app.active_title(), "Integrity");
    assert!(app.focus.is_some());
    app.handle_key(key(KeyCode::Backspace));
    assert_eq!(app.active_title(), "Dump");
    assert!(app.focus.is_none(), "the focus as it was before the jump");
    let t = draw(&mut app, 160, 48);
    assert_eq!(selected(&t), frame, "the same frame is selected");
    assert_eq!(app.message.as_deref(), Some("Overview › Dump"));
    app.handle_key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL));
    assert_eq!(app.active_title(), "Integrity");
    assert!(app.focus.is_some());
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("Overview › Dump › Integrity (")),
        "{:?}",
        app.message
    );
    for _ in 0..3 {
        app.handle_key(key(KeyCode::Backspace));
    }
    assert_eq!(app.active_title(), "Overview");
    assert_eq!(app.message.as_deref(), Some("nothing to go back to"));
}

/// The History pane (7) of the demo case: the KB5036899 install before the first 0x5A, the
/// crash blaming filecrypt.sys, crashes per day; Enter on the crash opens its dump in the Dump
/// pane; the focus narrows the rows to the driver's.
#[test]
fn history_pane_shows_the_update_before_the_crash_and_opens_its_dump() {
    let (_dir, case) = demo_case();
    let analysis = CaseAnalysis::build(&case);
    let crash_row = analysis
        .timeline
        .iter()
        .position(|r| r.kind == "crash")
        .expect("the demo's crash");
    let install = analysis
        .timeline
        .iter()
        .position(|r| r.message.contains("KB5036899"))
        .expect("the demo's update");
    assert!(install < crash_row, "the update comes before the crash");
    let mut app = App::with_analysis(case, analysis, Theme::ansi16());
    app.handle_key(key(KeyCode::Char('7')));
    assert_eq!(app.active_title(), "History");
    for (w, h) in [(80, 24), (160, 48)] {
        let t = draw(&mut app, w, h);
        insta::assert_snapshot!(format!("history_{w}x{h}"), t.backend());
    }
    let text = format!("{}", draw(&mut app, 160, 48).backend());
    assert!(text.contains("crashes/day"), "{text}");
    let (upd, crash) = (text.find("KB5036899"), text.find("bug check 0x5A"));
    assert!(
        upd.is_some() && upd < crash,
        "the update above the crash:\n{text}"
    );
    assert!(text.contains("filecrypt.sys in 1 of 1 crashes"), "{text}");
    // The pane opens on the first crash (the update just above it): Enter opens its dump.
    let _ = crash_row;
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.active_title(), "Dump");
    let dump = format!("{}", draw(&mut app, 160, 48).backend());
    assert!(dump.contains("CRITICAL_SERVICE_FAILED"), "{dump}");
    // Back to the History, then focus the crash's driver: only its rows remain.
    app.handle_key(key(KeyCode::Backspace));
    assert_eq!(app.active_title(), "History");
    app.handle_key(key(KeyCode::Char('f')));
    let focused = format!("{}", draw(&mut app, 160, 48).backend());
    assert!(focused.contains("Timeline of filecrypt.sys"), "{focused}");
}

/// `:bugcheck 0x133 1 1e00 fffff80304cfb320 0` explains the bug check in a popup as
/// `bsodwb bugcheck` prints it (P1 = 1 decoded); Esc closes it; a bad code says why.
#[test]
fn command_line_bugcheck_explains_in_a_popup() {
    let mut app = App::new(Case::empty(), Theme::ansi16());
    let typed = |app: &mut App, text: &str| {
        app.handle_key(key(KeyCode::Char(':')));
        for c in text.chars() {
            app.handle_key(key(KeyCode::Char(c)));
        }
        app.handle_key(key(KeyCode::Enter));
    };
    typed(&mut app, "bugcheck 0x133 1 1e00 fffff80304cfb320 0");
    let text = format!("{}", draw(&mut app, 160, 48).backend());
    let info = bsod_workbench::bugcheck::describe(0x133, [1, 0x1e00, 0xfffff80304cfb320, 0]);
    let want = bsod_workbench::bugcheck::show_text(0x133, &info, 4);
    let first = want.lines().next().expect("a name line");
    assert!(text.contains(first), "{first}\n{text}");
    assert!(text.contains("DPC_WATCHDOG_VIOLATION"), "{text}");
    let arg1 = want.lines().find(|l| l.starts_with("Arg1:")).expect("Arg1");
    assert!(arg1.contains("=>"), "P1 = 1 is decoded: {arg1}");
    app.handle_key(key(KeyCode::Esc));
    let text = format!("{}", draw(&mut app, 160, 48).backend());
    assert!(!text.contains("DPC_WATCHDOG_VIOLATION"), "{text}");
    typed(&mut app, "bugcheck NOT_A_BUGCHECK");
    assert!(
        app.message
            .as_deref()
            .unwrap_or("")
            .contains("neither a bug check code"),
        "{:?}",
        app.message
    );
}
