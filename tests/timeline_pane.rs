//! The Timeline pane on ratatui's TestBackend (80x24 and 160x48), as insta snapshots, over the
//! demo case (its Procmon boot log tells the filecrypt.sys story) and a real Procmon sample:
//! the driver focus narrows the rows to the library's driver events, filter rules hide rows
//! exactly as `Filter::apply` (the CLI's path) does, highlight rules keep them, Enter shows the
//! stack, `f` focuses the row's driver, `/` with `n`/`N` moves the cursor, `t` jumps to a time.

mod common;

use bsod_workbench::analysis::CaseAnalysis;
use bsod_workbench::case::Case;
use bsod_workbench::driver::DriverKey;
use bsod_workbench::pml::view::{self, DriverScope, DriverTarget};
use bsod_workbench::pml::{self, DriverQuery, Filter, PmlLog};
use bsod_workbench::ui::action::Outcome;
use bsod_workbench::ui::pane::{Pane, PaneContext};
use bsod_workbench::ui::panes::timeline::TimelinePane;
use bsod_workbench::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn draw_with(
    pane: &mut TimelinePane,
    case: &Case,
    theme: &Theme,
    w: u16,
    h: u16,
) -> Terminal<TestBackend> {
    let focus = None;
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| {
        let analysis = CaseAnalysis::build(case);
        let ctx = PaneContext {
            case,
            analysis: &analysis,
            focus,
            theme,
        };
        pane.render(f, f.area(), &ctx);
    })
    .expect("draw");
    t
}

fn draw(pane: &mut TimelinePane, case: &Case, w: u16, h: u16) -> String {
    format!(
        "{}",
        draw_with(pane, case, &Theme::ansi16(), w, h).backend()
    )
}

fn press(pane: &mut TimelinePane, case: &Case, c: KeyCode) -> Outcome {
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case,
        analysis: &CaseAnalysis::build(case),
        focus: None,
        theme: &theme,
    };
    pane.handle_key(key(c), &ctx)
}

fn type_text(pane: &mut TimelinePane, case: &Case, text: &str) -> Outcome {
    for ch in text.chars() {
        press(pane, case, KeyCode::Char(ch));
    }
    press(pane, case, KeyCode::Enter)
}

/// The demo case, loaded like the workbench loads it, under a fixed root for stable snapshots.
fn demo_case() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo");
    let mut case = Case::load(dir.path(), &mut |_| {}).expect("load");
    case.root = Some(PathBuf::from("/cases/demo"));
    (dir, case)
}

/// A real Procmon log (64-bit, process and image events) as the case's boot log.
fn sample_case() -> Option<Case> {
    let path = common::sample("procmon-parser/uncompressed/CompressedLogFileUTC64Process.pml")?;
    let log = pml::open(&path).expect("open sample");
    Some(Case {
        boot_log: Some(Arc::new(log)),
        boot_log_path: Some("CompressedLogFileUTC64Process.pml".into()),
        ..Case::default()
    })
}

fn log_of(case: &Case) -> &PmlLog {
    case.boot_log.as_deref().expect("a boot log")
}

fn filecrypt() -> DriverKey {
    DriverKey::from_path("filecrypt.sys").expect("key")
}

/// Move the cursor to the first row whose path ends with `suffix`.
fn select_path(pane: &mut TimelinePane, case: &Case, suffix: &str) {
    press(pane, case, KeyCode::Char('g'));
    let log = log_of(case);
    for _ in 0..pane.rows().len() {
        let e = pane.selected_event().expect("a row");
        if log
            .index()
            .path_of(e)
            .to_ascii_lowercase()
            .ends_with(suffix)
        {
            return;
        }
        press(pane, case, KeyCode::Char('j'));
    }
    panic!("no row with a path ending in {suffix}");
}

#[test]
fn demo_timeline_focus_on_filecrypt_shows_its_story() {
    let (_dir, case) = demo_case();
    let mut pane = TimelinePane::from_case(&case).expect("the demo has a boot log");
    let log = log_of(&case);
    assert_eq!(pane.rows().len(), log.len());
    insta::assert_snapshot!("demo_timeline_80x24", draw(&mut pane, &case, 80, 24));
    insta::assert_snapshot!("demo_timeline_160x48", draw(&mut pane, &case, 160, 48));

    // Focus: the driver's events per the library, plus the file events on its catalog.
    let key = filecrypt();
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: Some(&key),
        theme: &Theme::ansi16(),
    });
    pane.wait_idle();
    let mine = log.driver_events(&key, Some("FileCrypt"));
    let analysis = CaseAnalysis::build(&case);
    let links = analysis.links.get(&key).expect("filecrypt.sys links");
    let catalog = links
        .signature
        .as_ref()
        .and_then(|s| s.catalog.clone())
        .expect("the signature scan names its catalog");
    let scope = DriverScope::build(
        log,
        &DriverTarget {
            key: key.clone(),
            service: Some("FileCrypt".into()),
            catalog: Some(catalog),
        },
    );
    assert_eq!(mine.registry.len(), 3, "OpenKey, Start, ImagePath");
    assert_eq!(mine.file_system.len(), 1, "the open of its image");
    assert!(mine.load_image.is_empty(), "it never loaded");
    assert_eq!(scope.catalog.len(), 1, "the failed open of its catalog");
    assert_eq!(pane.rows().to_vec(), scope.all);
    assert_eq!(pane.rows().len(), mine.all.len() + 1);
    let cat = log.event(scope.catalog[0] as usize).expect("event");
    assert!(cat.path.contains("\\CatRoot\\"), "{}", cat.path);
    assert_eq!(cat.result_text(), "NAME NOT FOUND");
    let text = draw(&mut pane, &case, 80, 24);
    assert!(text.contains("5/75 events"), "{text}");
    insta::assert_snapshot!("demo_timeline_filecrypt_80x24", text);
    let text = draw(&mut pane, &case, 160, 48);
    assert!(text.contains("NAME NOT FOUND"));
    insta::assert_snapshot!("demo_timeline_filecrypt_160x48", text);

    // d turns the narrowing off and on again.
    press(&mut pane, &case, KeyCode::Char('d'));
    pane.wait_idle();
    assert_eq!(pane.rows().len(), log.len());
    press(&mut pane, &case, KeyCode::Char('d'));
    pane.wait_idle();
    assert_eq!(pane.rows().len(), 5);

    // Enter on the image open: every field, the stack, and the (absent) module entry.
    select_path(&mut pane, &case, "filecrypt.sys");
    press(&mut pane, &case, KeyCode::Enter);
    assert!(pane.open_event().is_some());
    let text = draw(&mut pane, &case, 160, 48);
    assert!(text.contains("Stack (3 frames)"), "{text}");
    assert!(text.contains("ntoskrnl.exe+0x5b3e10"), "{text}");
    assert!(
        text.contains("C:\\Windows\\system32\\ntoskrnl.exe  10.0.14393.6795"),
        "{text}"
    );
    insta::assert_snapshot!("demo_timeline_event_160x48", text);
    press(&mut pane, &case, KeyCode::PageDown);
    press(&mut pane, &case, KeyCode::PageDown);
    press(&mut pane, &case, KeyCode::PageDown);
    let text = draw(&mut pane, &case, 80, 24);
    assert!(
        text.contains("filecrypt.sys in the System process's module list"),
        "{text}"
    );
    assert!(text.contains("not there"), "{text}");
    assert_eq!(press(&mut pane, &case, KeyCode::Esc), Outcome::Consumed);
    assert!(pane.open_event().is_none());
}

#[test]
fn demo_timeline_loaded_driver_shows_its_module_entry_and_f_focuses() {
    let (_dir, case) = demo_case();
    let mut pane = TimelinePane::from_case(&case).expect("boot log");
    let log = log_of(&case);
    // f on the Load Image of fltmgr.sys focuses it.
    press(&mut pane, &case, KeyCode::Char('o'));
    pane.wait_idle();
    select_path(&mut pane, &case, "fltmgr.sys");
    let fltmgr = DriverKey::from_path("fltmgr.sys").expect("key");
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('f')),
        Outcome::Focus(fltmgr.clone())
    );
    press(&mut pane, &case, KeyCode::Char('o'));
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: Some(&fltmgr),
        theme: &Theme::ansi16(),
    });
    pane.wait_idle();
    assert_eq!(
        pane.rows().len(),
        log.driver_events(&fltmgr, Some("FltMgr")).all.len()
    );
    select_path(&mut pane, &case, "fltmgr.sys");
    press(&mut pane, &case, KeyCode::Enter);
    for _ in 0..40 {
        press(&mut pane, &case, KeyCode::Char('j'));
    }
    let text = draw(&mut pane, &case, 160, 48);
    let m = log
        .driver_module(&fltmgr)
        .expect("fltmgr.sys is in the module list");
    assert!(text.contains(&format!("0x{:x}", m.base)), "{text}");
    assert!(text.contains(&format!("0x{:x}", m.size)), "{text}");
    assert!(text.contains(&format!("0x{:08x}", m.timestamp)), "{text}");
    assert!(text.contains(&m.company), "{text}");
    assert!(text.contains(&m.version), "{text}");
    // f in the event view, and on a registry row under Services\FileCrypt (the hive names
    // the service's driver).
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('f')),
        Outcome::Focus(fltmgr.clone())
    );
    press(&mut pane, &case, KeyCode::Esc);
    // A driver the log never mentions: no rows, and the pane says why.
    let absent = DriverKey::from_path("nosuch.sys").expect("key");
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: Some(&absent),
        theme: &Theme::ansi16(),
    });
    pane.wait_idle();
    assert!(pane.rows().is_empty());
    let text = draw(&mut pane, &case, 80, 24);
    assert!(text.contains("no event of nosuch.sys"), "{text}");
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: None,
        theme: &Theme::ansi16(),
    });
    pane.wait_idle();
    assert_eq!(pane.rows().len(), log.len());
    select_path(&mut pane, &case, "services\\filecrypt");
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('f')),
        Outcome::Focus(filecrypt())
    );
}

#[test]
fn demo_timeline_search_time_jump_toggles_and_highlight() {
    let (_dir, case) = demo_case();
    let mut pane = TimelinePane::from_case(&case).expect("boot log");
    let log = log_of(&case);
    let ix = log.index();
    let load_rows: Vec<usize> = (0..log.len())
        .filter(|&i| ix.op_of(i).is_some_and(|o| o.name() == "Load Image"))
        .collect();
    assert!(load_rows.len() > 3);
    // / finds the first match at or after the cursor; n and N move between matches.
    press(&mut pane, &case, KeyCode::Char('/'));
    assert!(pane.captures_input());
    // Each move says which match of how many (as every pane's search does).
    assert_eq!(
        type_text(&mut pane, &case, "load image"),
        Outcome::Message(format!("/load image: match 1 of {}", load_rows.len()))
    );
    assert!(!pane.captures_input());
    assert_eq!(pane.selected_row(), load_rows[0]);
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('n')),
        Outcome::Message(format!("/load image: match 2 of {}", load_rows.len()))
    );
    assert_eq!(pane.selected_row(), load_rows[1]);
    press(&mut pane, &case, KeyCode::Char('n'));
    assert_eq!(pane.selected_row(), load_rows[2]);
    press(&mut pane, &case, KeyCode::Char('N'));
    assert_eq!(pane.selected_row(), load_rows[1]);
    press(&mut pane, &case, KeyCode::Char('g'));
    let n = load_rows.len();
    // From the first row, N goes round to the last match.
    let wrapped =
        format!("/load image: match {n} of {n} (search hit the top, went on from the bottom)");
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('N')),
        Outcome::Message(wrapped)
    );
    assert_eq!(pane.selected_row(), *load_rows.last().expect("one"));
    // Find does not hide anything.
    assert_eq!(pane.rows().len(), log.len());

    // t jumps to the first event at or after a time of day.
    let target = ix.time[40];
    let c = pml::render::civil(target);
    let typed = format!(
        "{:02}:{:02}:{:02}.{:07}",
        c.hour, c.minute, c.second, c.ticks
    );
    press(&mut pane, &case, KeyCode::Char('g'));
    press(&mut pane, &case, KeyCode::Char('t'));
    type_text(&mut pane, &case, &typed);
    assert_eq!(
        pane.selected_row(),
        ix.time.iter().position(|&t| t >= target).unwrap()
    );
    press(&mut pane, &case, KeyCode::Char('t'));
    assert!(matches!(
        type_text(&mut pane, &case, "25:00"),
        Outcome::Message(_)
    ));

    // e: failures only (the one failed catalog open of the demo), computed on the worker
    // thread: the pane keeps drawing (with its progress) and picks the rows up in tick.
    press(&mut pane, &case, KeyCode::Char('e'));
    assert!(pane.is_busy());
    let text = draw(&mut pane, &case, 80, 24);
    assert!(text.contains("%..."), "{text}");
    let start = std::time::Instant::now();
    while pane.is_busy() {
        pane.tick();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(start.elapsed().as_secs() < 30, "the worker never finished");
    }
    let failures: Vec<u32> = (0..log.len() as u32)
        .filter(|&i| view::is_failure(ix.result_of(i as usize)))
        .collect();
    assert_eq!(pane.rows().to_vec(), failures);
    press(&mut pane, &case, KeyCode::Char('e'));
    // p: the System process (every event of the demo).
    press(&mut pane, &case, KeyCode::Char('p'));
    pane.wait_idle();
    assert_eq!(pane.rows().len(), log.len());
    press(&mut pane, &case, KeyCode::Char('p'));
    pane.wait_idle();

    // *: a highlight rule marks rows and hides none.
    press(&mut pane, &case, KeyCode::Char('*'));
    type_text(&mut pane, &case, "Path contains FileCrypt");
    pane.wait_idle();
    assert_eq!(pane.rows().len(), log.len());
    press(&mut pane, &case, KeyCode::Char('/'));
    type_text(&mut pane, &case, "drivers\\filecrypt.sys");
    let t = draw_with(&mut pane, &case, &Theme::ansi16(), 160, 48);
    let buf = t.backend().buffer();
    let cyan_rows = (0..48)
        .filter(|&y| (0..160).any(|x| buf[(x, y)].fg == Color::Cyan && buf[(x, y)].symbol() == "y"))
        .count();
    // The selected row shows reversed; the other highlighted rows (System) are cyan.
    assert!(cyan_rows >= 2, "highlighted rows: {cyan_rows}");
}

#[test]
fn demo_timeline_filter_rule_hides_rows_like_the_cli() {
    let (dir, case) = demo_case();
    let mut pane = TimelinePane::from_case(&case).expect("boot log");
    let log = log_of(&case);
    press(&mut pane, &case, KeyCode::Char('+'));
    assert_eq!(
        type_text(&mut pane, &case, "Path ends with .sys"),
        Outcome::Consumed
    );
    pane.wait_idle();
    let cancel = AtomicBool::new(false);
    let expected = Filter::parse(&["Path ends with .sys"])
        .expect("rule")
        .apply(log, &mut |_, _| {}, &cancel);
    assert!(!expected.is_empty() && expected.len() < log.len());
    assert_eq!(pane.rows().to_vec(), expected);
    // The CLI prints the same rows.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .arg("pml")
        .arg(dir.path().join("Bootlog.pml"))
        .args(["--format", "csv", "--filter", "Path ends with .sys"])
        .output()
        .expect("run bsodwb pml");
    assert!(out.status.success());
    let csv_rows = String::from_utf8_lossy(&out.stdout).lines().count() - 1;
    assert_eq!(pane.rows().len(), csv_rows);

    // A second rule accumulates (exclude), and the list shows both.
    press(&mut pane, &case, KeyCode::Char('+'));
    type_text(&mut pane, &case, "Operation is Load Image exclude");
    pane.wait_idle();
    let both = Filter::parse(&["Path ends with .sys", "Operation is Load Image exclude"])
        .expect("rules")
        .apply(log, &mut |_, _| {}, &cancel);
    assert!(both.len() < expected.len());
    assert_eq!(pane.rows().to_vec(), both);
    press(&mut pane, &case, KeyCode::Char('R'));
    let text = draw(&mut pane, &case, 80, 24);
    assert!(text.contains("Path ends with .sys"), "{text}");
    assert!(text.contains("Operation is Load Image exclude"), "{text}");
    insta::assert_snapshot!("demo_timeline_rules_80x24", text);

    // A bad rule keeps the bar open and says why.
    press(&mut pane, &case, KeyCode::Char('+'));
    assert!(matches!(
        type_text(&mut pane, &case, "Colour is red"),
        Outcome::Message(_)
    ));
    assert!(pane.captures_input());
    press(&mut pane, &case, KeyCode::Esc);
    assert!(!pane.captures_input());

    // x removes the last rule, X clears them all.
    press(&mut pane, &case, KeyCode::Char('x'));
    pane.wait_idle();
    assert_eq!(pane.rows().to_vec(), expected);
    press(&mut pane, &case, KeyCode::Char('X'));
    pane.wait_idle();
    assert_eq!(pane.rows().len(), log.len());
}

#[test]
fn sample_timeline_sorts_filters_and_renders() {
    let Some(case) = sample_case() else { return };
    let mut pane = TimelinePane::from_case(&case).expect("boot log");
    let log = log_of(&case);
    insta::assert_snapshot!("sample_timeline_80x24", draw(&mut pane, &case, 80, 24));
    insta::assert_snapshot!("sample_timeline_160x48", draw(&mut pane, &case, 160, 48));
    // s opens the column list; 5 picks Path at once: one sort, rows sorted by path.
    press(&mut pane, &case, KeyCode::Char('s'));
    insta::assert_snapshot!(
        "sample_timeline_sort_picker_80x24",
        draw(&mut pane, &case, 80, 24)
    );
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('5')),
        Outcome::Message("sorted by path".into())
    );
    assert!(!pane.captures_input(), "the list closes after the pick");
    pane.wait_idle();
    let ix = log.index();
    let paths: Vec<String> = pane
        .rows()
        .to_vec()
        .iter()
        .map(|&e| ix.path_of(e as usize).to_ascii_lowercase())
        .collect();
    assert_eq!(paths.len(), log.len());
    assert!(paths.windows(2).all(|w| w[0] <= w[1]));
    press(&mut pane, &case, KeyCode::Char('r'));
    pane.wait_idle();
    let first = pane.rows().get(0).expect("a row");
    assert_eq!(
        ix.path_of(first).to_ascii_lowercase(),
        *paths.last().expect("a path")
    );
    insta::assert_snapshot!(
        "sample_timeline_path_desc_160x48",
        draw(&mut pane, &case, 160, 48)
    );
    // A filter over the real log equals Filter::apply.
    press(&mut pane, &case, KeyCode::Char('+'));
    type_text(&mut pane, &case, "Operation is Load Image");
    pane.wait_idle();
    let cancel = AtomicBool::new(false);
    let mut expected = Filter::parse(&["Operation is Load Image"])
        .expect("rule")
        .apply(log, &mut |_, _| {}, &cancel);
    let rank = |e: &u32| ix.path_of(*e as usize).to_ascii_lowercase();
    expected.sort_by_key(|e| (std::cmp::Reverse(rank(e)), std::cmp::Reverse(*e)));
    assert!(!expected.is_empty());
    assert_eq!(pane.rows().to_vec(), expected);
    // Enter on a Load Image of the sample: every field, its stack resolved to modules.
    press(&mut pane, &case, KeyCode::Char('g'));
    press(&mut pane, &case, KeyCode::Enter);
    let text = draw(&mut pane, &case, 160, 48);
    let ev = log.event(pane.open_event().expect("open")).expect("event");
    assert!(
        text.contains(&format!("Stack ({} frames)", ev.stack.len())),
        "{text}"
    );
    assert!(text.contains("Image Base"), "{text}");
    insta::assert_snapshot!("sample_timeline_event_160x48", text);
}

#[test]
fn no_color_draws_without_colours() {
    let (_dir, case) = demo_case();
    let mut pane = TimelinePane::from_case(&case).expect("boot log");
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: Some(&filecrypt()),
        theme: &Theme::ansi16(),
    });
    pane.wait_idle();
    press(&mut pane, &case, KeyCode::Char('*'));
    type_text(&mut pane, &case, "Result is NAME NOT FOUND");
    let t = draw_with(&mut pane, &case, &Theme::monochrome(), 80, 24);
    let buf = t.backend().buffer();
    for y in 0..24 {
        for x in 0..80 {
            let c = &buf[(x, y)];
            assert!(
                matches!(c.fg, Color::Reset) && matches!(c.bg, Color::Reset),
                "colour at {x},{y}: {:?}",
                c
            );
        }
    }
}

#[test]
fn sample_f_focuses_the_innermost_driver_frame_of_the_stack() {
    let Some(case) = sample_case() else { return };
    let mut pane = TimelinePane::from_case(&case).expect("boot log");
    let log = log_of(&case);
    // An event whose path is no driver, with a .sys frame on its stack.
    let found = (0..log.len()).find_map(|i| {
        let ev = log.event(i).ok()?;
        if ev.path.to_ascii_lowercase().ends_with(".sys") {
            return None;
        }
        let frame = log
            .stack(&ev)
            .into_iter()
            .filter_map(|f| f.module)
            .find(|m| m.to_ascii_lowercase().ends_with(".sys"))?;
        Some((i, DriverKey::from_path(&frame)?))
    });
    let (event, driver) = found.expect("the sample has kernel stacks through drivers");
    for _ in 0..event {
        press(&mut pane, &case, KeyCode::Char('j'));
    }
    assert_eq!(pane.selected_event(), Some(event));
    assert_eq!(
        press(&mut pane, &case, KeyCode::Char('f')),
        Outcome::Focus(driver.clone())
    );
    // Focused on it, the pane narrows to the library's events of that driver (stack included).
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &CaseAnalysis::build(&case),
        focus: Some(&driver),
        theme: &Theme::ansi16(),
    });
    pane.wait_idle();
    let mine = log.driver_events(&driver, None);
    assert!(mine.stack.contains(&(event as u32)));
    assert_eq!(pane.rows().to_vec(), mine.all);
}

/// The Timeline's strip of events per slice of the boot: every event of a real Procmon log
/// lands in one slice, failures counted from each decoded event's own result, and the stall is
/// the longest gap between consecutive decoded event times.
#[test]
fn activity_bins_every_event_and_finds_the_longest_silence() {
    let Some(case) = sample_case() else {
        return;
    };
    let log = log_of(&case);
    let rows = view::Rows::All(log.len());
    let a = view::activity(log, &rows, 60);
    assert_eq!(a.events.len(), 60);
    assert_eq!(a.events.iter().sum::<u64>(), log.len() as u64);
    let mut times = Vec::new();
    let mut failures = 0u64;
    for i in 0..log.len() {
        let ev = log.event(i).expect("event");
        times.push(ev.timestamp);
        failures += u64::from(view::is_failure(ev.result));
    }
    assert_eq!(a.failures.iter().sum::<u64>(), failures);
    times.sort_unstable();
    let gap = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert_eq!(a.stall.map(|s| s.1), Some(gap).filter(|g| *g > 0));
    assert_eq!(a.start, times[0]);
    assert_eq!(a.slice_of(*times.last().expect("events")), 59);
    // A filtered view: only its rows count.
    let some = view::Rows::List(vec![0, 1, 2]);
    assert_eq!(view::activity(log, &some, 10).events.iter().sum::<u64>(), 3);
}

/// `--ascii`: the Timeline, its activity strip included, draws in ASCII only.
#[test]
fn ascii_theme_draws_the_timeline_and_its_strip_in_ascii() {
    let (_dir, case) = demo_case();
    let mut pane = TimelinePane::from_case(&case).expect("a boot log");
    let theme = Theme::ansi16().with_ascii();
    let t = draw_with(&mut pane, &case, &theme, 80, 24);
    let text = format!("{}", t.backend());
    assert!(text.contains("events/time"), "{text}");
    let odd: Vec<char> = text.chars().filter(|c| !c.is_ascii()).collect();
    assert!(odd.is_empty(), "{odd:?}\n{text}");
}
