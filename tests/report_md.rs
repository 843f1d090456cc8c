//! `bsodwb analyze CASE --format md`: the demo case's report section by section, hostile case
//! text that must neither inject Markdown/HTML nor reach the terminal (markdown-it-py, a
//! CommonMark renderer, as the oracle), and the atomic write beside the notes.

mod common;

use bsod_workbench::registry::bcd;
use bsod_workbench::report;
use bsod_workbench::synth::bcd::{BcdWriter, Element, LOADER};
use std::path::Path;
use std::process::Command;

fn analyze_md(case: &Path, roots: Option<&Path>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bsodwb"));
    cmd.args(["analyze", case.to_str().expect("utf-8"), "--format", "md"]);
    if let Some(r) = roots {
        cmd.env("BSODWB_ROOTS", r);
    }
    let out = cmd.output().expect("run bsodwb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn the_demo_report_has_every_section() {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo");
    let roots = dir
        .path()
        .join(bsod_workbench::synth::demo::SYNTHETIC_ROOT_FILE);
    let md = analyze_md(dir.path(), Some(&roots));
    assert!(md.starts_with("## bsodwb report: "), "{md}");
    let summary = md
        .lines()
        .find(|l| l.starts_with("**Summary:**"))
        .expect("summary");
    assert!(
        summary.starts_with(r"**Summary:** [CRITICAL] Bug check 0x5A CRITICAL\_SERVICE\_FAILED ("),
        "{summary}"
    );
    assert!(summary.contains("1 crash(es) in the history"), "{summary}");
    for needle in [
        "### Findings\n",
        "#### 2. [CRITICAL] filecrypt.sys failed its code-integrity check and is a critical boot driver",
        "- MEMORY.DMP: bug check 0x5a CRITICAL\\_SERVICE\\_FAILED\n",
        "Driver: filecrypt.sys\n",
        // Fixes are fenced: the command is copied as is, backslashes and all.
        "```text\nrestore its catalog: xcopy C:\\Windows\\servicing\\Packages\\*.cat C:\\Windows\\System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}\\ then confirm with sigcheck -i\n```\n",
        "### Crash history\n",
        "| Time (UTC) | What | Culprit | Recorded by |\n|---|---|---|---|\n| 2024-05-14T02:13:41Z | 0x5A CRITICAL\\_SERVICE\\_FAILED | filecrypt.sys",
        "### Drivers that matter\n",
        "| filecrypt.sys | catalog-only-in-servicing | FileCrypt: 1 (system), 3 (critical) | faulting module | 3004, 7000 |",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    let at = |s: &str| md.find(s).expect(s);
    assert!(at("### Findings") < at("### Crash history"));
    assert!(at("### Crash history") < at("### Drivers that matter"));
    // The driver of the first findings leads the table; the kernel is not listed.
    let table = &md[at("### Drivers that matter")..];
    let first_row = table.lines().nth(4).expect("a row");
    assert!(first_row.starts_with("| filecrypt.sys |"), "{table}");
    assert!(!table.contains("ntoskrnl"), "{table}");
}

/// A case whose BCD entry description carries terminal controls, HTML, Markdown and a bidi
/// override, with bootlog on so a finding quotes it.
fn hostile_case(dir: &Path) {
    let evil = "Win\u{1b}]0;pwned\u{7}\u{1b}[2J <img src=x onerror=alert(1)> | `tick` *bold* [link](http://x) \u{202e}gnp.exe\n# heading";
    let store = BcdWriter::windows()
        .loader_flag(bcd::BOOTLOG, true)
        .element(LOADER, bcd::DESCRIPTION, Element::String(evil.into()));
    std::fs::create_dir_all(dir.join("EFI/Microsoft/Boot")).expect("mkdir");
    store
        .write_to(&dir.join("EFI/Microsoft/Boot/BCD"))
        .expect("bcd");
}

const RENDER: &str = r#"
import sys
from markdown_it import MarkdownIt
md = MarkdownIt("commonmark").enable("table")
print(md.render(open(sys.argv[1], encoding="utf-8").read()))
"#;

#[test]
fn case_text_cannot_inject_markdown_html_or_terminal_controls() {
    let dir = tempfile::tempdir().expect("tempdir");
    hostile_case(dir.path());
    let md = analyze_md(dir.path(), None);
    assert!(md.contains("bootlog is on"), "{md}");
    for bad in ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}'] {
        assert!(!md.contains(bad), "raw {bad:?} in\n{md}");
    }
    let line = md
        .lines()
        .find(|l| l.contains("onerror"))
        .expect("the description is quoted");
    assert!(
        line.starts_with(r"- EFI/Microsoft/Boot/BCD: \{default\} ("),
        "{line}"
    );
    assert!(line.contains(r"\<img src=x onerror=alert(1)\>"), "{line}");
    assert!(line.contains(r"\\x1b\]0;pwned\\x07"), "{line}");
    assert!(line.contains(r"\\n\# heading"), "{line}");
    if !common::python_oracle("markdown_it") {
        return;
    }
    let file = dir.path().join("report.md");
    std::fs::write(&file, &md).expect("write");
    let out = Command::new("python3")
        .args(["-c", RENDER])
        .arg(&file)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8_lossy(&out.stdout);
    // The description renders as text: no element, link, code span or emphasis from it.
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<a href"), "{html}");
    assert!(!html.contains("<code>tick</code>"), "{html}");
    assert!(!html.contains("<em>bold</em>"), "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    // Only the report's own headings: one h2, h3 sections, one h4 per finding.
    assert_eq!(html.matches("<h2>").count(), 1, "{html}");
    assert_eq!(html.matches("<h1>").count(), 0, "{html}");
    let findings = md.lines().filter(|l| l.starts_with("#### ")).count();
    assert_eq!(html.matches("<h4>").count(), findings, "{html}");
}

#[test]
fn the_report_is_written_atomically_beside_the_notes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case_dir = dir.path().join("case");
    hostile_case(&case_dir);
    // A killed write's leftover, and an older report.
    std::fs::write(case_dir.join(".bsodwb-report-Zz9"), "half").expect("w");
    std::fs::write(case_dir.join(report::REPORT_FILE), "old report").expect("w");
    let case = bsod_workbench::case::Case::load(&case_dir, &mut |_| {}).expect("load");
    let a = bsod_workbench::analysis::CaseAnalysis::build(&case);
    let path = report::write_for(&case, &a).expect("written");
    assert_eq!(path, case_dir.join("bsodwb-report.md"));
    let written = std::fs::read_to_string(&path).expect("read");
    assert_eq!(written, report::markdown(&case, &a));
    assert!(
        written.contains("### Boot configuration (BCD)"),
        "{written}"
    );
    let names: Vec<String> = std::fs::read_dir(&case_dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with(".bsodwb-report")),
        "{names:?}"
    );
    // The report is not read back as case evidence.
    let again = bsod_workbench::case::Case::load(&case_dir, &mut |_| {}).expect("load");
    assert!(again.problems.is_empty(), "{:?}", again.problems);
}

#[test]
fn a_read_only_case_gives_a_message_naming_the_report() {
    // Root writes into a 0555 folder; sysfs refuses everyone, so it stands in then.
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = if is_root() {
        let sys = Path::new("/sys");
        if !sys.is_dir() || tempfile::tempfile_in(sys).is_ok() {
            eprintln!("SKIP: no folder this user cannot write");
            return;
        }
        sys.to_path_buf()
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555))
                .expect("chmod");
        }
        dir.path().to_path_buf()
    };
    let path = folder.join(report::REPORT_FILE);
    let err = report::write(&path, "x").expect_err("not writable");
    assert!(
        err.starts_with(&format!("cannot write {}: ", path.display())),
        "{err}"
    );
    assert!(
        err.contains("permission denied") || err.contains("read-only"),
        "{err}"
    );
    assert!(!err.contains(".bsodwb-report-"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

mod workbench {
    use super::hostile_case;
    use bsod_workbench::case::Case;
    use bsod_workbench::ui::App;
    use bsod_workbench::ui::theme::Theme;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn app_on(dir: &std::path::Path) -> App {
        let case = Case::load(dir, &mut |_| {}).expect("load");
        App::new(case, Theme::ansi16())
    }

    #[test]
    fn w_on_the_overview_writes_the_report_beside_the_notes() {
        let dir = tempfile::tempdir().expect("tempdir");
        hostile_case(dir.path());
        let mut app = app_on(dir.path());
        app.handle_key(key(KeyCode::Char('1')));
        app.handle_key(key(KeyCode::Char('w')));
        let report = dir.path().join("bsodwb-report.md");
        let msg = app.message.clone().unwrap_or_default();
        assert_eq!(
            msg,
            format!("report written to {} (1 finding(s))", report.display())
        );
        let text = std::fs::read_to_string(&report).expect("written");
        assert!(text.contains("bootlog is on"), "{text}");
        assert!(!text.contains('\u{1b}'));
        // The same from the command line, over the first one.
        std::fs::write(&report, "stale").expect("w");
        app.handle_key(key(KeyCode::Char(':')));
        app.handle_key(key(KeyCode::Char('w')));
        app.handle_key(key(KeyCode::Enter));
        assert_eq!(app.message.clone().unwrap_or_default(), msg);
        assert_eq!(std::fs::read_to_string(&report).expect("read"), text);
    }

    #[test]
    fn a_case_folder_that_cannot_be_written_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let case = dir.path().join("case");
        hostile_case(&case);
        let mut app = app_on(&case);
        std::fs::remove_dir_all(&case).expect("rm");
        app.handle_key(key(KeyCode::Char('1')));
        app.handle_key(key(KeyCode::Char('w')));
        assert_eq!(
            app.message.clone().unwrap_or_default(),
            format!(
                "cannot write {}: no such file or folder",
                case.join("bsodwb-report.md").display()
            )
        );
    }
}
