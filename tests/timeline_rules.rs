//! The Timeline's rule list as a user drives it: `:export csv` of a filtered Timeline is
//! byte for byte what `bsodwb pml --filter` writes with the rules that are on (a highlight
//! rule and a rule switched off change nothing); `v` includes, excludes or highlights a value
//! of the row under the cursor (Procmon's right-click); Space switches a listed rule off and
//! on; presets save and load the list; a Procmon configuration file built by procmon-parser
//! (the oracle) imports with the same rules.

mod common;

use bsod_workbench::analysis::CaseAnalysis;
use bsod_workbench::case::Case;
use bsod_workbench::pml::preset::RuleKind;
use bsod_workbench::pml::{self, Filter};
use bsod_workbench::ui::action::Outcome;
use bsod_workbench::ui::keymap::key_event;
use bsod_workbench::ui::pane::{Pane, PaneContext};
use bsod_workbench::ui::panes::timeline::TimelinePane;
use bsod_workbench::ui::theme::Theme;
use bsod_workbench::ui::widgets::command::Command;
use bsod_workbench::ui::{App, PaneId};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::atomic::AtomicBool;

fn demo() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo");
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    (dir, case)
}

fn keys(app: &mut App, names: &[&str]) {
    for n in names {
        app.handle_key(key_event(n).unwrap_or_else(|| panic!("{n:?} is no key")));
    }
}

fn type_line(app: &mut App, text: &str) {
    for c in text.chars() {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    keys(app, &["enter"]);
}

/// Let the Timeline's filter worker finish.
fn settle(app: &mut App) {
    for _ in 0..400 {
        if !app.tick() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn cli_csv(dir: &std::path::Path, rules: &[&str]) -> Vec<u8> {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"));
    cmd.arg("pml")
        .arg(dir.join("Bootlog.pml"))
        .args(["--format", "csv"]);
    for r in rules {
        cmd.args(["--filter", r]);
    }
    let out = cmd.output().expect("run bsodwb pml");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn export_csv_of_the_filtered_timeline_equals_bsodwb_pml_filter() {
    let (dir, case) = demo();
    let mut app = App::new(case, Theme::ansi16());
    keys(&mut app, &["3"]);
    assert_eq!(app.active_title(), "Timeline");
    // Two filter rules, a highlight rule, and a third filter rule switched off.
    keys(&mut app, &["+"]);
    type_line(&mut app, "Path ends with .sys");
    keys(&mut app, &["+"]);
    type_line(&mut app, "Operation is Load Image exclude");
    keys(&mut app, &["*"]);
    type_line(&mut app, "Process Name is System");
    keys(&mut app, &["+"]);
    type_line(&mut app, "Result is SUCCESS");
    keys(&mut app, &["R", "space"]);
    assert!(
        app.message.as_deref().unwrap_or("").ends_with(" off"),
        "{:?}",
        app.message
    );
    settle(&mut app);
    let out = tempfile::tempdir().expect("out");
    let file = out.path().join("view.csv");
    keys(&mut app, &[":"]);
    type_line(&mut app, &format!("export csv {}", file.display()));
    let msg = app.message.clone().unwrap_or_default();
    assert!(msg.starts_with("wrote "), "{msg}");
    let ours = std::fs::read(&file).expect("export written");
    let theirs = cli_csv(
        dir.path(),
        &["Path ends with .sys", "Operation is Load Image exclude"],
    );
    assert!(
        String::from_utf8_lossy(&theirs).lines().count() > 2,
        "the rules leave rows"
    );
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
    // Switched back on, the third rule narrows the export as the CLI's third --filter does.
    keys(&mut app, &["space"]);
    settle(&mut app);
    keys(&mut app, &[":"]);
    type_line(&mut app, &format!("export csv {}", file.display()));
    let ours = std::fs::read(&file).expect("export written");
    let theirs = cli_csv(
        dir.path(),
        &[
            "Path ends with .sys",
            "Operation is Load Image exclude",
            "Result is SUCCESS",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
}

fn ctx_press(pane: &mut TimelinePane, case: &Case, analysis: &CaseAnalysis, c: KeyCode) -> Outcome {
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case,
        analysis,
        focus: None,
        theme: &theme,
    };
    pane.handle_key(KeyEvent::new(c, KeyModifiers::NONE), &ctx)
}

fn draw(pane: &mut TimelinePane, case: &Case, analysis: &CaseAnalysis, w: u16, h: u16) -> String {
    let theme = Theme::ansi16();
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| {
        let ctx = PaneContext {
            case,
            analysis,
            focus: None,
            theme: &theme,
        };
        pane.render(f, f.area(), &ctx);
    })
    .expect("draw");
    format!("{}", t.backend())
}

#[test]
fn v_includes_excludes_and_highlights_the_value_under_the_cursor() {
    let (_dir, case) = demo();
    let analysis = CaseAnalysis::build(&case);
    let log = case.boot_log.clone().expect("boot log");
    let mut pane = TimelinePane::from_case(&case).expect("timeline");
    let press = |p: &mut TimelinePane, c| ctx_press(p, &case, &analysis, c);
    // The first event's operation: exclude it.
    press(&mut pane, KeyCode::Char('v'));
    assert!(pane.captures_input());
    let shown = draw(&mut pane, &case, &analysis, 80, 24);
    insta::assert_snapshot!("timeline_value_picker_80x24", shown);
    insta::assert_snapshot!(
        "timeline_value_picker_160x48",
        draw(&mut pane, &case, &analysis, 160, 48)
    );
    // Path is preselected; k moves up to Operation.
    press(&mut pane, KeyCode::Char('k'));
    let op = log
        .index()
        .op_of(pane.selected_event().expect("row"))
        .expect("op")
        .name();
    let out = press(&mut pane, KeyCode::Char('e'));
    assert_eq!(
        out,
        Outcome::Message(format!("excluding Operation is {op} exclude"))
    );
    pane.wait_idle();
    let cancel = AtomicBool::new(false);
    let expected = Filter::parse(&[format!("Operation is {op} exclude")])
        .expect("rule")
        .apply(&log, &mut |_, _| {}, &cancel);
    assert!(!expected.is_empty() && expected.len() < log.len());
    assert_eq!(pane.rows().to_vec(), expected);
    // Include the path of the row now under the cursor; highlight its process.
    let path = log
        .index()
        .path_of(pane.selected_event().expect("row"))
        .to_string();
    press(&mut pane, KeyCode::Char('v'));
    press(&mut pane, KeyCode::Char('i'));
    press(&mut pane, KeyCode::Char('v'));
    for _ in 0..3 {
        press(&mut pane, KeyCode::Char('k'));
    }
    press(&mut pane, KeyCode::Char('h'));
    pane.wait_idle();
    let kinds: Vec<(RuleKind, String, bool)> = pane
        .rule_list()
        .iter()
        .map(|r| (r.kind, r.rule.to_string(), r.on))
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert_eq!(kinds[1].1, format!("Path is {path} include"));
    assert_eq!(kinds[2].0, RuleKind::Highlight);
    assert!(kinds[2].1.starts_with("Process Name is "), "{kinds:?}");
    assert_eq!(pane.highlight().rules.len(), 1);
    assert!(
        pane.rows()
            .to_vec()
            .iter()
            .all(|&e| log.index().path_of(e as usize) == path)
    );
    // The list: Space switches the highlight rule off (the cursor follows the newest rule),
    // k then Space the path rule; x removes the rule under the cursor.
    press(&mut pane, KeyCode::Char('R'));
    press(&mut pane, KeyCode::Char(' '));
    assert!(pane.highlight().rules.is_empty());
    press(&mut pane, KeyCode::Char('k'));
    press(&mut pane, KeyCode::Char(' '));
    pane.wait_idle();
    assert_eq!(pane.rows().to_vec(), expected);
    let text = draw(&mut pane, &case, &analysis, 80, 24);
    assert!(text.contains("[ ] "), "{text}");
    insta::assert_snapshot!("timeline_rule_list_80x24", text);
    insta::assert_snapshot!(
        "timeline_rule_list_160x48",
        draw(&mut pane, &case, &analysis, 160, 48)
    );
    press(&mut pane, KeyCode::Char('x'));
    assert_eq!(pane.rule_list().len(), 2);
    assert!(
        pane.rule_list()
            .iter()
            .all(|r| !r.rule.to_string().starts_with("Path is"))
    );
}

#[test]
fn tab_completes_the_rule_being_typed() {
    let (_dir, case) = demo();
    let analysis = CaseAnalysis::build(&case);
    let mut pane = TimelinePane::from_case(&case).expect("timeline");
    let press = |p: &mut TimelinePane, c| ctx_press(p, &case, &analysis, c);
    press(&mut pane, KeyCode::Char('+'));
    for c in "pat".chars() {
        press(&mut pane, KeyCode::Char(c));
    }
    press(&mut pane, KeyCode::Tab);
    for c in "en".chars() {
        press(&mut pane, KeyCode::Char(c));
    }
    press(&mut pane, KeyCode::Tab);
    for c in ".sys".chars() {
        press(&mut pane, KeyCode::Char(c));
    }
    press(&mut pane, KeyCode::Enter);
    pane.wait_idle();
    assert_eq!(
        pane.filter()
            .rules
            .first()
            .map(|r| r.to_string())
            .as_deref(),
        Some("Path ends with .sys include")
    );
    // Several choices are listed under the editor.
    press(&mut pane, KeyCode::Char('+'));
    press(&mut pane, KeyCode::Char('P'));
    press(&mut pane, KeyCode::Tab);
    let text = draw(&mut pane, &case, &analysis, 80, 24);
    assert!(text.contains("Tab: Process Name | PID | Path"), "{text}");
}

#[test]
fn presets_save_and_load_the_rule_list_with_off_rules() {
    let (_dir, case) = demo();
    let analysis = CaseAnalysis::build(&case);
    let home = tempfile::tempdir().expect("home");
    let presets = home.path().join(".config/bsodwb/filters");
    let mut pane = TimelinePane::from_case(&case).expect("timeline");
    pane.set_preset_dir(presets.clone());
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case: &case,
        analysis: &analysis,
        focus: None,
        theme: &theme,
    };
    let cmd = |p: &mut TimelinePane, s: &str| p.command(&ctx, &Command::Filter(s.into()));
    cmd(&mut pane, "Path ends with .sys");
    cmd(&mut pane, "Result is SUCCESS");
    pane.handle_key(KeyEvent::new(KeyCode::Char('R'), KeyModifiers::NONE), &ctx);
    pane.handle_key(KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE), &ctx);
    pane.wait_idle();
    let rows = pane.rows().to_vec();
    let out = cmd(&mut pane, "save boot-drivers");
    let file = presets.join("boot-drivers.toml");
    assert_eq!(
        out,
        Outcome::Message(format!("saved 2 rules as {}", file.display()))
    );
    let text = std::fs::read_to_string(&file).expect("preset written");
    assert!(
        text.contains("rule = \"Result is SUCCESS include\""),
        "{text}"
    );
    assert!(text.contains("on = false"), "{text}");
    pane.handle_key(KeyEvent::new(KeyCode::Char('X'), KeyModifiers::NONE), &ctx);
    pane.wait_idle();
    assert!(pane.rule_list().is_empty());
    assert_eq!(
        cmd(&mut pane, "load boot-drivers"),
        Outcome::Message("loaded preset boot-drivers (2 rules)".into())
    );
    pane.wait_idle();
    assert_eq!(pane.rows().to_vec(), rows);
    assert!(!pane.rule_list()[1].on);
    assert_eq!(
        cmd(&mut pane, "presets"),
        Outcome::Message("presets: boot-drivers".into())
    );
    let Outcome::Message(m) = cmd(&mut pane, "load nope") else {
        panic!("a message")
    };
    assert!(m.contains("nope.toml"), "{m}");
    let Outcome::Message(m) = cmd(&mut pane, "save ../../etc/x") else {
        panic!("a message")
    };
    assert!(m.starts_with("preset name"), "{m}");
}

/// procmon-parser writes a Procmon configuration with filter and highlight rules; the import
/// reads the same rules (column, relation, value, include/exclude, kind).
const BUILD_PMC: &str = r#"
import sys
from procmon_parser import dumps_configuration, Rule
records = {
    "ColumnCount": 3,
    "FilterRules": [
        Rule("PATH", "ends_with", ".sys", "include"),
        Rule("OPERATION", "is", "Load Image", "exclude"),
        Rule("PID", "more_than", "4", "include"),
    ],
    "HighlightRules": [Rule("PROCESS_NAME", "is", "System", "include")],
}
open(sys.argv[1], "wb").write(dumps_configuration(records))
"#;

#[test]
fn a_procmon_configuration_from_procmon_parser_imports_its_rules() {
    if !common::python_oracle("procmon_parser") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("boot.PMC");
    let out = std::process::Command::new("python3")
        .args(["-c", BUILD_PMC])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = pml::preset::import_procmon(&path).expect("import");
    let rules: Vec<(RuleKind, String)> = got
        .entries
        .iter()
        .map(|e| (e.kind, e.rule.to_string()))
        .collect();
    assert_eq!(
        rules,
        [
            (RuleKind::Filter, "Path ends with .sys include".to_string()),
            (
                RuleKind::Filter,
                "Operation is Load Image exclude".to_string()
            ),
            (RuleKind::Filter, "PID more than 4 include".to_string()),
            (
                RuleKind::Highlight,
                "Process Name is System include".to_string()
            ),
        ]
    );
    assert!(got.skipped.is_empty(), "{:?}", got.skipped);
    // Through the command line: the rules join the list and filter the view.
    let (_d, case) = demo();
    let analysis = CaseAnalysis::build(&case);
    let theme = Theme::ansi16();
    let ctx = PaneContext {
        case: &case,
        analysis: &analysis,
        focus: None,
        theme: &theme,
    };
    let mut pane = TimelinePane::from_case(&case).expect("timeline");
    let out = pane.command(&ctx, &Command::Filter(format!("import {}", path.display())));
    assert_eq!(
        out,
        Outcome::Message(format!("imported 4 rules from {}", path.display()))
    );
    pane.wait_idle();
    assert_eq!(pane.filter().rules.len(), 3);
    assert_eq!(pane.highlight().rules.len(), 1);
    let _ = PaneId::Timeline;
}

/// `>` scrolls the 80-column table sideways until PID and Detail show (Time of Day stays),
/// `C` hides a column, `Z` gives the table the whole pane; Esc leaves the zoom.
#[test]
fn wide_tables_scroll_sideways_choose_columns_and_zoom() {
    let (_dir, case) = demo();
    let analysis = CaseAnalysis::build(&case);
    let mut pane = TimelinePane::from_case(&case).expect("timeline");
    let press = |p: &mut TimelinePane, c| ctx_press(p, &case, &analysis, c);
    let header = |text: &str| {
        text.lines()
            .find(|l| l.contains('│') && l.contains("Time"))
            .unwrap_or("")
            .to_string()
    };
    let before = draw(&mut pane, &case, &analysis, 80, 24);
    let h = header(&before);
    assert!(!h.contains("PID") && !h.contains("Detail"), "{h}");
    // Past Process, PID, Operation and Path: Detail fits beside Result.
    for _ in 0..4 {
        press(&mut pane, KeyCode::Char('>'));
    }
    let moved = draw(&mut pane, &case, &analysis, 80, 24);
    let h = header(&moved);
    assert!(h.contains("Time of Day") && h.contains("Detail"), "{moved}");
    assert!(!h.contains("Process"), "{h}");
    insta::assert_snapshot!("timeline_sideways_80x24", moved);
    for _ in 0..4 {
        press(&mut pane, KeyCode::Char('<'));
    }
    assert_eq!(draw(&mut pane, &case, &analysis, 80, 24), before);
    assert_eq!(
        press(&mut pane, KeyCode::Char('<')),
        Outcome::Message("no more columns that way".into())
    );
    // The chooser: hide Process (its second row); at 160 columns PID stays.
    press(&mut pane, KeyCode::Char('C'));
    press(&mut pane, KeyCode::Char('j'));
    press(&mut pane, KeyCode::Char(' '));
    let chooser = draw(&mut pane, &case, &analysis, 80, 24);
    assert!(chooser.contains("[ ] hidden Process"), "{chooser}");
    insta::assert_snapshot!("timeline_columns_80x24", chooser);
    press(&mut pane, KeyCode::Esc);
    let h = header(&draw(&mut pane, &case, &analysis, 160, 48));
    assert!(!h.contains("Process") && h.contains("PID"), "{h}");
    // Zoom: no header lines, no strip; the table's frame starts on the first row.
    press(&mut pane, KeyCode::Char('Z'));
    let zoomed = draw(&mut pane, &case, &analysis, 160, 48);
    assert!(
        zoomed.lines().next().unwrap_or("").contains("┌ Timeline"),
        "{zoomed}"
    );
    insta::assert_snapshot!("timeline_zoom_160x48", zoomed);
    insta::assert_snapshot!(
        "timeline_zoom_80x24",
        draw(&mut pane, &case, &analysis, 80, 24)
    );
    // Wrap: the full path of the first row, on as many lines as it takes.
    press(&mut pane, KeyCode::Char('W'));
    let wrapped = draw(&mut pane, &case, &analysis, 80, 24);
    assert!(wrapped.contains("HKLM\\System\\CurrentC"), "{wrapped}");
    assert!(!wrapped.contains("~olSet"), "{wrapped}");
    insta::assert_snapshot!("timeline_wrap_80x24", wrapped);
    press(&mut pane, KeyCode::Char('W'));
    press(&mut pane, KeyCode::Esc);
    assert!(
        draw(&mut pane, &case, &analysis, 80, 24)
            .lines()
            .next()
            .unwrap_or("")
            .contains("Boot log")
    );
}
