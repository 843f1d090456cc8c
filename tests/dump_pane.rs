//! The Dump pane on ratatui's TestBackend (80x24 and 160x48), as insta snapshots, over a written
//! 0x5A demo dump and the real x64 triage sample: bug check and parameter meanings on top, the
//! stack, the module list, details with disassembly, sorting and the driver focus.

mod common;

use bsod_workbench::analysis::CaseAnalysis;
use bsod_workbench::case::{Case, DumpArtefact};
use bsod_workbench::driver::DriverKey;
use bsod_workbench::dump::{self, analysis};
use bsod_workbench::synth::dump::{DumpSpec, write_bitmap_dump};
use bsod_workbench::ui::action::Outcome;
use bsod_workbench::ui::pane::{Pane, PaneContext};
use bsod_workbench::ui::panes::dump::DumpPane;
use bsod_workbench::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn case_of(path: &std::path::Path, file: &str) -> Case {
    let d = dump::open(path).expect("open");
    let a = analysis::analyze(&d, &analysis::AnalyzeOptions::default());
    Case {
        dumps: vec![DumpArtefact {
            file: file.to_string(),
            dump: d,
            analysis: a,
        }],
        ..Case::default()
    }
}

fn draw(pane: &mut DumpPane, case: &Case, focus: Option<&DriverKey>, w: u16, h: u16) -> String {
    let theme = Theme::ansi16();
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| {
        let ctx = PaneContext {
            case,
            analysis: &CaseAnalysis::build(case),
            focus,
            theme: &theme,
        };
        pane.render(f, f.area(), &ctx);
    })
    .expect("draw");
    format!("{}", t.backend())
}

fn press(pane: &mut DumpPane, case: &Case, c: KeyCode) -> Outcome {
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case,
        analysis: &CaseAnalysis::build(case),
        focus: None,
        theme: &theme,
    };
    pane.handle_key(key(c), &ctx)
}

fn demo_case() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("MEMORY.DMP");
    write_bitmap_dump(&p, &DumpSpec::demo_0x5a()).unwrap();
    let case = case_of(&p, "MEMORY.DMP");
    (dir, case)
}

#[test]
fn demo_0x5a_at_both_sizes() {
    let (_dir, case) = demo_case();
    let mut pane = DumpPane::new();
    for (w, h) in [(80, 24), (160, 48)] {
        let text = draw(&mut pane, &case, None, w, h);
        insta::assert_snapshot!(format!("dump_pane_0x5a_{w}x{h}"), text);
        assert!(text.contains("CRITICAL_SERVICE_FAILED (0x5a)"));
        assert!(text.contains("STATUS_INVALID_IMAGE_HASH"));
        assert!(text.contains("b: Integrity pane"));
        assert!(text.contains("nt!IopLoadDriver+0x"));
    }
    // `b` goes to the Integrity pane (index 3), focused on the driver P3 names.
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('b')),
        Outcome::FocusAndGoTo(
            bsod_workbench::driver::DriverKey::from_path("filecrypt.sys").expect("key"),
            3
        )
    );
}

#[test]
fn enter_on_a_frame_shows_module_details_and_disassembly() {
    let (_dir, case) = demo_case();
    let mut pane = DumpPane::new();
    press(&mut pane, &case, KeyCode::Down); // frame 1: nt!IopLoadDriver
    press(&mut pane, &case, KeyCode::Enter);
    for (w, h) in [(80, 24), (160, 48)] {
        let text = draw(&mut pane, &case, None, w, h);
        insta::assert_snapshot!(format!("dump_pane_frame_detail_{w}x{h}"), text);
        assert!(text.contains("\\SystemRoot\\system32\\ntoskrnl.exe"));
        assert!(text.contains("call"), "the call before the return address");
        // The call target is named from the kernel's exports, as WinDbg does.
        assert!(text.contains("call nt!KeBugCheckEx"), "{text}");
    }
    assert_eq!(press(&mut pane, &case, KeyCode::Esc), Outcome::Consumed);
    assert!(!draw(&mut pane, &case, None, 80, 24).contains("Esc closes"));
}

#[test]
fn focus_sort_and_highlight_modules() {
    let (_dir, case) = demo_case();
    let mut pane = DumpPane::new();
    // `f` on frame 0 focuses ntoskrnl.exe.
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('f')),
        Outcome::Focus(DriverKey::from_path("ntoskrnl.exe").unwrap())
    );
    // In the module list, sorted by name, `f` focuses the selected module.
    press(&mut pane, &case, KeyCode::Char('l'));
    press(&mut pane, &case, KeyCode::Char('s')); // by name
    let first = press(&mut pane, &case, KeyCode::Char('f'));
    assert_eq!(
        first,
        Outcome::Focus(DriverKey::from_path("ACPI.sys").unwrap())
    );
    let cdrom = DriverKey::from_path("cdrom.sys").unwrap();
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: Some(&cdrom),
        theme: &Theme::ansi16(),
    });
    for (w, h) in [(80, 24), (160, 48)] {
        let text = draw(&mut pane, &case, Some(&cdrom), w, h);
        insta::assert_snapshot!(format!("dump_pane_modules_focus_{w}x{h}"), text);
        assert!(text.contains("cdrom.sys"));
        assert!(text.contains("sort by name"));
    }
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('f')),
        Outcome::Focus(cdrom)
    );
}

#[test]
fn real_triage_dump_at_both_sizes() {
    let p = sample_or_skip!("rizin-testbins/triage_x64.dmp");
    let case = case_of(&p, "Minidump/triage_x64.dmp");
    let mut pane = DumpPane::new();
    for (w, h) in [(80, 24), (160, 48)] {
        let text = draw(&mut pane, &case, None, w, h);
        insta::assert_snapshot!(format!("dump_pane_triage_x64_{w}x{h}"), text);
        assert!(text.contains("SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M (0x1000007e)"));
        assert!(text.contains("FAULTING amdppm.sys"));
    }
    // Frame 0's code page is in the dump: the faulting instruction is disassembled.
    press(&mut pane, &case, KeyCode::Enter);
    let text = draw(&mut pane, &case, None, 160, 48);
    insta::assert_snapshot!("dump_pane_triage_x64_frame0_160x48", text);
    assert!(text.contains("mov [r9+r8],edx"));
}

#[test]
fn no_dump_says_what_the_pane_needs() {
    let mut pane = DumpPane::new();
    let text = draw(&mut pane, &Case::default(), None, 80, 24);
    assert!(text.contains("MEMORY.DMP"));
}

/// The text of the row drawn in the selection style (reverse video), at 160x48.
fn selected_row(pane: &mut DumpPane, case: &Case) -> String {
    let theme = Theme::ansi16();
    let mut t = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
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
    let buf = t.backend().buffer();
    let rows: Vec<String> = (0..48)
        .filter(|&y| {
            buf[(1, y)]
                .modifier
                .contains(ratatui::style::Modifier::REVERSED)
        })
        .map(|y| (1..159).map(|x| buf[(x, y)].symbol().to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 1, "one selected row: {rows:?}");
    rows[0].trim_end().to_string()
}

fn search(pane: &mut DumpPane, case: &Case, query: &str) -> Outcome {
    assert_eq!(press(pane, case, KeyCode::Char('/')), Outcome::Consumed);
    assert!(pane.captures_input(), "the search line takes the keys");
    // The line opens holding the last query: clear it first.
    for _ in 0..32 {
        press(pane, case, KeyCode::Backspace);
    }
    for c in query.chars() {
        // `f`, `n`, `m`, `s` and `/` are text while the line is open.
        assert_eq!(press(pane, case, KeyCode::Char(c)), Outcome::Consumed);
    }
    let out = press(pane, case, KeyCode::Enter);
    assert!(!pane.captures_input());
    out
}

#[test]
fn slash_searches_frames_then_modules_and_n_steps_through_matches() {
    let (_dir, case) = demo_case();
    let mut pane = DumpPane::new();
    // A call site: the cursor goes to frame 02 (case does not matter).
    let out = search(&mut pane, &case, "iopINITIALIZE");
    assert_eq!(out, Outcome::Message("/iopINITIALIZE: match 1 of 1".into()));
    let row = selected_row(&mut pane, &case);
    assert!(
        row.starts_with(" 02 ") && row.contains("nt!IopInitializeSystemDrivers+0x2ce"),
        "{row}"
    );
    assert!(draw(&mut pane, &case, None, 80, 24).contains("Stack"));

    // A path fragment only the module list has: from frame 02 the first match is CLFS.SYS
    // (\SystemRoot\System32\drivers\CLFS.SYS), then cng.sys, in load order.
    let drivers_c: Vec<String> = case.dumps[0]
        .dump
        .modules
        .iter()
        .filter(|m| m.path.to_lowercase().contains("drivers\\c"))
        .map(|m| m.name.clone())
        .collect();
    assert!(drivers_c.len() >= 3, "{drivers_c:?}");
    assert_eq!(drivers_c[..2], ["CLFS.SYS", "cng.sys"]);
    let out = search(&mut pane, &case, "DRIVERS\\C");
    assert_eq!(
        out,
        Outcome::Message(format!("/DRIVERS\\C: match 1 of {}", drivers_c.len()))
    );
    assert!(selected_row(&mut pane, &case).contains("CLFS.SYS"));
    // `f` focuses the module the search landed on: the cursor really moved to the module list.
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('f')),
        Outcome::Focus(DriverKey::from_path("CLFS.SYS").unwrap())
    );
    press(&mut pane, &case, KeyCode::Char('n'));
    assert!(selected_row(&mut pane, &case).contains("cng.sys"));
    press(&mut pane, &case, KeyCode::Char('N'));
    assert!(selected_row(&mut pane, &case).contains("CLFS.SYS"));
    // Before the first match, N wraps to the last and says so.
    let out = press(&mut pane, &case, KeyCode::Char('N'));
    let last = drivers_c.last().unwrap();
    assert!(
        matches!(&out, Outcome::Message(m) if m.contains("hit the top")),
        "{out:?}"
    );
    assert!(selected_row(&mut pane, &case).contains(last.as_str()));
    // And past the last, n wraps to the first.
    let out = press(&mut pane, &case, KeyCode::Char('n'));
    assert!(
        matches!(&out, Outcome::Message(m) if m.contains("match 1 of") && m.contains("hit the bottom")),
        "{out:?}"
    );
    assert!(selected_row(&mut pane, &case).contains("CLFS.SYS"));
    // Matching rows are drawn in the key style (bold), the selected one in reverse video.
    let theme = Theme::monochrome();
    let mut t = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    t.draw(|f| {
        let ctx = PaneContext {
            case: &case,
            analysis: &CaseAnalysis::build(&case),
            focus: None,
            theme: &theme,
        };
        pane.render(f, f.area(), &ctx);
    })
    .expect("draw");
    let buf = t.backend().buffer();
    let cng = (0..48)
        .find(|&y| {
            (1..60)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .contains("cng.sys")
        })
        .expect("cng.sys row");
    assert!(
        buf[(2, cng)]
            .modifier
            .contains(ratatui::style::Modifier::BOLD)
    );
    assert_eq!(buf[(2, cng)].fg, ratatui::style::Color::Reset);
}

#[test]
fn search_esc_cancels_and_no_match_says_so() {
    let (_dir, case) = demo_case();
    let mut pane = DumpPane::new();
    press(&mut pane, &case, KeyCode::Char('/'));
    for c in "hal".chars() {
        press(&mut pane, &case, KeyCode::Char(c));
    }
    assert!(draw(&mut pane, &case, None, 80, 24).contains("Search frames and modules"));
    assert_eq!(press(&mut pane, &case, KeyCode::Esc), Outcome::Consumed);
    assert!(!pane.captures_input());
    assert!(selected_row(&mut pane, &case).starts_with(" 00 "));
    assert_eq!(
        search(&mut pane, &case, "no-such-module"),
        Outcome::Message("no frame or module matches \"no-such-module\"".into())
    );
    assert!(selected_row(&mut pane, &case).starts_with(" 00 "));
    // The help lists the search keys.
    let hints = pane.hints();
    let keys: Vec<&str> = hints.iter().map(|h| h.key.as_str()).collect();
    assert!(keys.contains(&"/") && keys.contains(&"n/N"), "{keys:?}");
}

#[test]
fn search_the_real_triage_dump() {
    let p = sample_or_skip!("rizin-testbins/triage_x64.dmp");
    let case = case_of(&p, "Minidump/triage_x64.dmp");
    let mut pane = DumpPane::new();
    let out = search(&mut pane, &case, "amdppm");
    let Outcome::Message(m) = &out else {
        panic!("{out:?}")
    };
    assert!(m.starts_with("/amdppm: match 1 of "), "{m}");
    let first = selected_row(&mut pane, &case);
    assert!(first.to_lowercase().contains("amdppm"), "{first}");
    // The module row is among the matches: n reaches it.
    let mut seen_module = false;
    for _ in 0..64 {
        press(&mut pane, &case, KeyCode::Char('n'));
        let row = selected_row(&mut pane, &case);
        assert!(row.to_lowercase().contains("amdppm"), "{row}");
        if row.contains("\\amdppm.sys") {
            seen_module = true;
            break;
        }
    }
    assert!(seen_module, "n reaches the amdppm.sys module row");
}

#[test]
fn z_zooms_the_list_with_the_cursor_and_back() {
    let (_dir, case) = demo_case();
    let mut pane = DumpPane::new();
    press(&mut pane, &case, KeyCode::Char('l')); // the modules
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('Z')),
        Outcome::Consumed
    );
    let zoomed = draw(&mut pane, &case, None, 80, 24);
    let first = zoomed.lines().next().unwrap_or_default();
    assert!(first.contains("Modules"), "{zoomed}");
    assert!(!zoomed.contains("Stack ("), "{zoomed}");
    assert!(!zoomed.contains("CRITICAL_SERVICE_FAILED"), "{zoomed}");
    // 22 module rows (24 minus the borders) where the unzoomed pane shows a handful.
    let rows = zoomed.lines().filter(|l| l.contains("│ fffff")).count();
    assert!(rows >= 20, "{rows}: {zoomed}");
    press(&mut pane, &case, KeyCode::Char('Z'));
    let back = draw(&mut pane, &case, None, 80, 24);
    assert!(
        back.contains("CRITICAL_SERVICE_FAILED") && back.contains("Stack ("),
        "{back}"
    );
}
