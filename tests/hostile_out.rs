//! Hostile input at the command line: FIFOs, devices and folders where files are expected,
//! escape sequences inside case content and file names, filters with unusable values, nothing
//! to judge. Each test builds its input itself and runs the real binary with a deadline, so a
//! hang fails instead of blocking the suite.

use bsod_workbench::synth::dump::{DumpSpec, ModuleSpec, write_triage_dump};
use bsod_workbench::synth::evtx::EvtxWriter;
use bsod_workbench::synth::pml::{BOOT_TIME, Capture, EventSpec, PmlWriter, ProcessSpec};
use bsod_workbench::synth::regf::{HiveWriter, ServiceSpec};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Retitles the terminal, rings the bell, leaves the alternate screen; a C1 CSI; a bidi override.
const EVIL: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[?1049l\u{9b}2J\u{202e}";
/// How each of those must read after escaping.
const EVIL_SHOWN: &str = "evil\\x1b]0;pwned\\x07\\x1b[?1049l\\u{9b}2J\\u{202e}";

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Run bsodwb with output captured (not a terminal); kill it after 20 s.
fn bsodwb(args: &[&str], paths: &[&Path]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bsodwb"));
    cmd.args(args)
        .args(paths)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn bsodwb");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out: Output = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(o) => o.expect("wait"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("bsodwb {args:?} {paths:?} hung (killed after 20 s)");
        }
    };
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo")
        .arg(p)
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok, "mkfifo {}", p.display());
}

fn assert_no_raw_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for (i, c) in text.char_indices() {
        let bad =
            (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}');
        assert!(
            !bad,
            "{what}: raw control {c:?} at byte {i}: {:?}",
            &text[i.saturating_sub(40)..(i + 40).min(text.len())]
        );
    }
}

#[test]
fn a_fifo_given_as_file_is_refused_at_once_by_every_command() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("Bootlog.pml");
    mkfifo(&fifo);
    let started = Instant::now();
    for cmd in ["pml", "dump", "evtx", "hive", "sig"] {
        let r = bsodwb(&[cmd], &[&fifo]);
        assert_eq!(r.code, Some(1), "{cmd}: {}", r.stderr);
        assert_eq!(
            r.stderr.trim(),
            format!("bsodwb: {}: not a regular file (a FIFO)", fifo.display()),
            "{cmd}"
        );
    }
    // --roots and --import too, and a FIFO as the case.
    let sys = dir.path().join("x.sys");
    std::fs::write(&sys, b"MZ").expect("w");
    let r = bsodwb(&["sig", "--no-case", "--roots"], &[&fifo, &sys]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("not a regular file (a FIFO)"),
        "{}",
        r.stderr
    );
    let r = bsodwb(&["sig", "--no-case", "--import"], &[&fifo, &sys]);
    assert!(
        r.stderr.contains("not a regular file (a FIFO)"),
        "{}",
        r.stderr
    );
    // A FIFO named *.cat in a catalog folder is not read (the deadline would catch a hang).
    let cats = dir.path().join("CatRoot");
    std::fs::create_dir(&cats).expect("mkdir");
    mkfifo(&cats.join("evil.cat"));
    let r = bsodwb(&["sig", "--no-case", "--catalogs"], &[&cats, &sys]);
    assert!(r.stderr.contains("indexed 0 catalogs"), "{}", r.stderr);
    for cmd in ["scan", "analyze"] {
        let r = bsodwb(&[cmd], &[&fifo]);
        assert_eq!(r.code, Some(1), "{cmd}");
        assert!(
            r.stderr.contains("not a regular file (a FIFO)"),
            "{cmd}: {}",
            r.stderr
        );
    }
    // As the CASE of the workbench: said before the terminal is taken over.
    let r = bsodwb(&[], &[&fifo]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr.trim(),
        format!(
            "bsodwb: cannot open case {}: not a regular file (a FIFO)",
            fifo.display()
        )
    );
    // Nothing waited on the FIFO: a hang would have hit the 20 s deadline per run.
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn devices_are_never_read_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    let sys = dir.path().join("x.sys");
    std::fs::write(&sys, b"MZ").expect("w");
    let r = bsodwb(&["sig", "--no-case", "--roots", "/dev/zero"], &[&sys]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr
            .contains("/dev/zero: cannot read: not a regular file (a character device)"),
        "{}",
        r.stderr
    );
    let r = bsodwb(&["sig", "--no-case", "--import", "/dev/urandom"], &[&sys]);
    assert!(
        r.stderr
            .contains("/dev/urandom: cannot read: not a regular file (a character device)"),
        "{}",
        r.stderr
    );
}

#[test]
fn each_cause_is_named_once_with_its_path() {
    let dir = tempfile::tempdir().expect("tmp");
    // A folder where a file is expected.
    let r = bsodwb(&["dump"], &[dir.path()]);
    assert_eq!(
        r.stderr.trim(),
        format!("bsodwb: {}: is a folder, not a file", dir.path().display())
    );
    // A symlink loop.
    let a = dir.path().join("a.evtx");
    let b = dir.path().join("b.evtx");
    std::os::unix::fs::symlink(&b, &a).expect("ln");
    std::os::unix::fs::symlink(&a, &b).expect("ln");
    let r = bsodwb(&["evtx"], &[&a]);
    assert_eq!(
        r.stderr.trim(),
        format!("bsodwb: {}: too many levels of symbolic links", a.display())
    );
    // A missing file, through a library open that carries its own source.
    let r = bsodwb(&["hive"], &[&dir.path().join("SYSTEM")]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr.matches("no such file or folder").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("os error"), "{}", r.stderr);
    // --roots on a file that is not PEM.
    let sys = dir.path().join("x.sys");
    std::fs::write(&sys, b"MZ").expect("w");
    let bin = dir.path().join("roots.bin");
    std::fs::write(&bin, b"\x30\x82\xff\xfe not pem").expect("w");
    let r = bsodwb(&["sig", "--no-case", "--roots"], &[&bin, &sys]);
    assert!(r.stderr.contains("PEM expected"), "{}", r.stderr);
    let txt = dir.path().join("roots.txt");
    std::fs::write(&txt, "hello\n").expect("w");
    let r = bsodwb(&["sig", "--no-case", "--roots"], &[&txt, &sys]);
    assert!(r.stderr.contains("PEM expected"), "{}", r.stderr);
}

#[test]
fn nothing_judged_is_a_failure() {
    let dir = tempfile::tempdir().expect("tmp");
    // A folder without drivers.
    let r = bsodwb(&["sig", "--no-case"], &[dir.path()]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("no driver files (.sys) found"),
        "{}",
        r.stderr
    );
    // A file that is not a PE image is not "unsigned".
    let txt = dir.path().join("readme.sys");
    std::fs::write(&txt, "just text\n").expect("w");
    let r = bsodwb(&["sig", "--no-case"], &[&txt]);
    assert_eq!(r.code, Some(1));
    assert!(r.out().contains("not a PE image"), "{}", r.out());
    assert!(!r.out().contains("Verdict:     unsigned"), "{}", r.out());
    assert!(r.stderr.contains("no file was judged"), "{}", r.stderr);
    // A case of files bsodwb does not read: "No findings." is not the answer.
    let r = bsodwb(&["analyze"], &[dir.path()]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("nothing was judged"), "{}", r.stderr);
    // A service that is not there.
    let hive = dir.path().join("SYSTEM");
    HiveWriter::system()
        .service(ServiceSpec::driver("cdrom", 1, 1, 1))
        .write_to(&hive)
        .expect("hive");
    let r = bsodwb(&["hive", "--service", "nope"], &[&hive]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("no service named \"nope\""),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    let r = bsodwb(&["hive", "--service", "CDROM"], &[&hive]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

fn small_pml(path: &Path, image: &str, file: &str) {
    let mut w = PmlWriter::new(Capture::default());
    let sys = w.add_process(ProcessSpec {
        pid: 4,
        name: "System".into(),
        ..Default::default()
    });
    let ev = EventSpec {
        process: sys,
        tid: 8,
        time: BOOT_TIME + 10_000,
        duration: 5,
        result: 0,
        stack: Vec::new(),
    };
    w.load_image(&ev, image, 0xFFFF_F800_1000_0000, 0x1000)
        .expect("ev");
    w.create_file(&ev, file, 0x8000_0000, 1, 0, 7, Some(1))
        .expect("ev");
    w.write_to(path).expect("pml");
}

#[test]
fn filter_values_that_cannot_work_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let pml = dir.path().join("Bootlog.pml");
    small_pml(&pml, "\\SystemRoot\\System32\\drivers\\a.sys", "C:\\x");
    for (rule, says) in [
        ("Duration less than NaN", "is not a number"),
        ("Time of Day less than 99:99:99", "is not a time"),
        ("Path contains", "the value is empty"),
    ] {
        let r = bsodwb(&["pml", "--filter", rule], &[&pml]);
        assert_eq!(r.code, Some(1), "{rule}");
        assert!(
            r.stderr.contains(says) && r.stderr.contains(rule),
            "{rule}: {}",
            r.stderr
        );
    }
    let r = bsodwb(
        &["pml", "--filter", "Time of Day more than 0:00:00"],
        &[&pml],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn escape_sequences_in_a_hive_are_shown_escaped() {
    let dir = tempfile::tempdir().expect("tmp");
    let hive = dir.path().join("SYSTEM");
    HiveWriter::system()
        .service(
            ServiceSpec::driver(EVIL, 1, 1, 3)
                .image_path(format!("\\SystemRoot\\{EVIL}.sys"))
                .display_name("two\nlines"),
        )
        .write_to(&hive)
        .expect("hive");
    let r = bsodwb(&["hive"], &[&hive]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_no_raw_controls("hive text", &r.stdout);
    let out = r.out();
    assert!(out.contains(EVIL_SHOWN), "{out}");
    assert!(out.contains("two\\nlines"), "{out}");
    // CSV to a pipe stays byte-exact (a file is data, not a screen).
    let r = bsodwb(&["hive", "--format", "csv"], &[&hive]);
    assert!(r.out().contains(EVIL), "csv to a pipe must be unchanged");
    let r = bsodwb(&["hive", "--format", "json"], &[&hive]);
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).expect("json");
    assert_eq!(doc["services"][0]["name"], EVIL);
}

#[test]
fn escape_sequences_in_a_dump_an_event_log_and_a_boot_log_are_shown_escaped() {
    let dir = tempfile::tempdir().expect("tmp");
    // A driver path inside a dump.
    let mut spec = DumpSpec::demo_0x5a();
    spec.modules
        .push(ModuleSpec::driver(&format!("{EVIL}.sys")));
    let dmp = dir.path().join("evil.dmp");
    write_triage_dump(&dmp, &spec).expect("dump");
    let r = bsodwb(&["dump"], &[&dmp]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_no_raw_controls("dump text", &r.stdout);
    assert!(r.out().contains(EVIL_SHOWN), "{}", r.out());
    // An event string.
    let evtx_path = dir.path().join("System.evtx");
    let t = "2026-11-27T08:00:06Z"
        .parse::<evtx::Timestamp>()
        .expect("ts");
    EvtxWriter::new()
        .scm_7000(t, EVIL, 577, EVIL)
        .write_to(&evtx_path)
        .expect("evtx");
    let r = bsodwb(&["evtx"], &[&evtx_path]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_no_raw_controls("evtx text", &r.stdout);
    assert!(r.out().contains(EVIL_SHOWN), "{}", r.out());
    // A boot-log path, in text; CSV to a pipe stays byte-exact.
    let pml = dir.path().join("Bootlog.pml");
    small_pml(
        &pml,
        &format!("\\SystemRoot\\System32\\drivers\\{EVIL}.sys"),
        "C:\\new\nline.txt",
    );
    let r = bsodwb(&["pml"], &[&pml]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_no_raw_controls("pml text", &r.stdout);
    assert!(r.out().contains(EVIL_SHOWN), "{}", r.out());
    assert!(r.out().contains("C:\\new\\nline.txt"), "{}", r.out());
    let r = bsodwb(&["pml", "--format", "csv"], &[&pml]);
    assert!(r.out().contains(EVIL));
}

#[test]
fn file_names_with_escapes_and_newlines_stay_on_one_escaped_row() {
    let dir = tempfile::tempdir().expect("tmp");
    let case = dir.path().join("case");
    std::fs::create_dir(&case).expect("mkdir");
    std::fs::write(case.join(format!("{EVIL}.txt")), "x").expect("w");
    std::fs::write(case.join("two\nlines.log"), "x").expect("w");
    // A name that is not UTF-8.
    {
        use std::os::unix::ffi::OsStrExt;
        let raw = std::ffi::OsStr::from_bytes(b"latin\xe9\x9b.txt");
        std::fs::write(case.join(raw), "x").expect("w");
    }
    mkfifo(&case.join("pipe\u{1b}[2J"));
    let r = bsodwb(&["scan"], &[&case]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_no_raw_controls("scan", &r.stdout);
    assert_no_raw_controls("scan stderr", r.stderr.as_bytes());
    let out = r.out();
    assert!(out.contains(&format!("{EVIL_SHOWN}.txt")), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("two\\nlines.log")),
        "{out}"
    );
    assert!(out.contains("3 files"), "{out}");
    // The FIFO is named as skipped, escaped, and never opened.
    assert!(
        r.stderr
            .contains("problem: pipe\\x1b[2J: skipped: not a regular file (a FIFO)"),
        "{}",
        r.stderr
    );
    let r = bsodwb(&["analyze"], &[&case]);
    assert_no_raw_controls("analyze", &r.stdout);
    assert_no_raw_controls("analyze stderr", r.stderr.as_bytes());
}

#[test]
fn symlinks_are_followed_only_inside_the_case() {
    let dir = tempfile::tempdir().expect("tmp");
    let case = dir.path().join("case");
    std::fs::create_dir_all(case.join("logs")).expect("mkdir");
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "outside").expect("w");
    std::fs::write(case.join("logs/setupapi.dev.log"), "[Device Install]").expect("w");
    std::os::unix::fs::symlink(&secret, case.join("out.txt")).expect("ln");
    std::os::unix::fs::symlink("logs/setupapi.dev.log", case.join("in.log")).expect("ln");
    std::os::unix::fs::symlink("logs", case.join("logs2")).expect("ln");
    std::os::unix::fs::symlink("/dev/zero", case.join("zero.dmp")).expect("ln");
    let r = bsodwb(&["scan", "--format", "json"], &[&case]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let files: Vec<serde_json::Value> = serde_json::from_slice(&r.stdout).expect("json");
    let names: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(names, ["in.log", "logs/setupapi.dev.log"]);
    assert!(
        r.stderr.contains("out.txt: skipped: symbolic link to"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("outside the case folder"), "{}", r.stderr);
    assert!(r.stderr.contains("logs2: skipped"), "{}", r.stderr);
    assert!(r.stderr.contains("zero.dmp: skipped"), "{}", r.stderr);
}

/// On a terminal CSV is escaped too (checked on a pseudo-terminal made by `script`).
#[test]
fn csv_to_a_terminal_is_escaped() {
    let Ok(path) = which("script") else {
        eprintln!("skipped: `script` (bsdutils) is not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let hive = dir.path().join("SYSTEM");
    HiveWriter::system()
        .service(ServiceSpec::driver(EVIL, 1, 1, 3))
        .write_to(&hive)
        .expect("hive");
    let typescript = dir.path().join("typescript");
    let command = format!(
        "{} hive --format csv {}",
        env!("CARGO_BIN_EXE_bsodwb"),
        hive.display()
    );
    let status = Command::new(path)
        .args(["-qefc", &command])
        .arg(&typescript)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("script");
    assert!(status.success());
    let seen = std::fs::read(&typescript).expect("typescript");
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains(EVIL_SHOWN), "{text}");
    assert!(!text.contains(EVIL), "{text}");
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

mod notes {
    //! The Notes pane through the app: unreadable notes are kept, `q` asks, pastes are one step.

    use bsod_workbench::case::Case;
    use bsod_workbench::ui::App;
    use bsod_workbench::ui::theme::Theme;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn screen(app: &mut App) -> String {
        let mut t = Terminal::new(TestBackend::new(160, 30)).expect("terminal");
        t.draw(|f| app.draw(f)).expect("draw");
        format!("{}", t.backend())
    }

    fn app_on(dir: &std::path::Path) -> App {
        let case = Case::load(dir, &mut |_| {}).expect("load");
        let mut app = App::new(case, Theme::ansi16());
        app.handle_key(key(KeyCode::Char('6')));
        app
    }

    #[test]
    fn windows_1252_notes_are_shown_and_the_original_is_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let orig = b"Caf\xe9 \x96 filecrypt.sys\r\n".to_vec();
        std::fs::write(dir.path().join("bsodwb-notes.md"), &orig).expect("w");
        let mut app = app_on(dir.path());
        let s = screen(&mut app);
        assert!(s.contains("Café – filecrypt.sys"), "{s}");
        assert!(s.contains("Windows-1252"), "{s}");
        // One keystroke and Esc: the notes are saved as UTF-8, the original is beside them.
        app.handle_key(key(KeyCode::Char('i')));
        app.handle_key(key(KeyCode::Char('!')));
        app.handle_key(key(KeyCode::Esc));
        assert_eq!(
            std::fs::read(dir.path().join("bsodwb-notes.windows-1252.md")).expect("kept"),
            orig
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("bsodwb-notes.md")).expect("saved"),
            "!Café – filecrypt.sys\r\n"
        );
    }

    #[test]
    fn binary_notes_open_read_only_and_say_which_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let notes = dir.path().join("bsodwb-notes.md");
        std::fs::write(&notes, b"\x00\x01PK\x03\x04").expect("w");
        let mut app = app_on(dir.path());
        app.handle_key(key(KeyCode::Char('i')));
        let msg = app.message.clone().unwrap_or_default();
        assert!(
            msg.contains("read-only") && msg.contains(&notes.display().to_string()),
            "{msg}"
        );
        app.handle_key(key(KeyCode::Char('x')));
        app.handle_key(key(KeyCode::Esc));
        assert_eq!(std::fs::read(&notes).expect("r"), b"\x00\x01PK\x03\x04");
    }

    #[test]
    fn q_after_a_failed_save_asks_first() {
        let dir = tempfile::tempdir().expect("tmp");
        let case = dir.path().join("case");
        std::fs::create_dir(&case).expect("mkdir");
        // A killed save's leftover is cleaned when the notes are read.
        std::fs::write(case.join(".bsodwb-notes-Ab12Cd"), "half").expect("w");
        let mut app = app_on(&case);
        screen(&mut app);
        assert!(!case.join(".bsodwb-notes-Ab12Cd").exists());
        app.handle_key(key(KeyCode::Char('i')));
        for c in "lost?".chars() {
            app.handle_key(key(KeyCode::Char(c)));
        }
        std::fs::remove_dir_all(&case).expect("rm");
        app.handle_key(key(KeyCode::Esc));
        let msg = app.message.clone().unwrap_or_default();
        assert_eq!(
            msg,
            format!(
                "cannot save {}: no such file or folder",
                case.join("bsodwb-notes.md").display()
            )
        );
        app.handle_key(key(KeyCode::Char('q')));
        assert!(!app.quit, "q must ask");
        assert!(app.message.as_deref().unwrap_or("").contains("(y/n)"));
        app.handle_key(key(KeyCode::Char('n')));
        assert!(!app.quit);
        app.handle_key(key(KeyCode::Char('q')));
        app.handle_key(key(KeyCode::Char('y')));
        assert!(app.quit);
    }

    #[test]
    fn a_large_paste_is_inserted_in_one_step() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut app = app_on(dir.path());
        app.handle_key(key(KeyCode::Char('i')));
        // 1 MiB in 16,384 lines, with the CR line ends terminals send in a paste.
        let line = format!("{}\r", "x".repeat(63));
        let text = line.repeat(16_384);
        app.handle_paste(&text);
        app.handle_key(key(KeyCode::Esc));
        let saved = std::fs::read_to_string(dir.path().join("bsodwb-notes.md")).expect("saved");
        // Every CR became a line end; the text ends with the paste's last one.
        assert_eq!(saved.len(), 64 * 16_384);
        assert_eq!(saved.lines().count(), 16_384);
        assert!(saved.lines().all(|l| l.len() == 63));
    }
}

/// In a real terminal (tmux): Windows-1252 notes shown decoded, 1 MiB pasted as one bracketed
/// paste, saved with CRLF and the file's mode kept, the original kept beside it.
#[test]
fn tmux_notes_paste_and_windows_1252() {
    use std::os::unix::fs::PermissionsExt;
    if !Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert_ne!(
            std::env::var("BSODWB_REQUIRE_ORACLES").as_deref(),
            Ok("1"),
            "tmux is required"
        );
        eprintln!("SKIP: tmux not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let case = dir.path().join("case");
    std::fs::create_dir(&case).expect("mkdir");
    let notes = case.join("bsodwb-notes.md");
    std::fs::write(&notes, b"Caf\xe9\r\n").expect("w");
    std::fs::set_permissions(&notes, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let paste = dir.path().join("paste.txt");
    std::fs::write(&paste, format!("{}\n", "y".repeat(63)).repeat(16_384)).expect("w");
    let socket = format!("bsodwb-hostile-{}", std::process::id());
    let status = dir.path().join("status");
    let tmux = |args: &[&str]| {
        let out = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let script = format!(
        "'{}' '{}'; echo $? > '{}'; sleep 30",
        env!("CARGO_BIN_EXE_bsodwb"),
        case.display(),
        status.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "30",
        "sh",
        "-c",
        &script,
    ]);
    let wait_for = |needle: &str| {
        let start = Instant::now();
        loop {
            let s = tmux(&["capture-pane", "-p"]);
            if s.contains(needle) {
                return;
            }
            if start.elapsed() > Duration::from_secs(30) {
                tmux(&["kill-server"]);
                panic!("timed out waiting for {needle:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("1 Overview");
    tmux(&["send-keys", "6"]);
    wait_for("Café");
    wait_for("decoded from Windows-12");
    tmux(&["send-keys", "i"]);
    tmux(&["load-buffer", &paste.display().to_string()]);
    tmux(&["paste-buffer", "-p"]);
    wait_for("[modified]");
    tmux(&["send-keys", "Escape"]);
    wait_for("saved");
    tmux(&["send-keys", "q"]);
    let start = Instant::now();
    let code = loop {
        if let Ok(s) = std::fs::read_to_string(&status) {
            break s.trim().to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "bsodwb did not exit"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    tmux(&["kill-server"]);
    assert_eq!(code, "0");
    let saved = std::fs::read(&notes).expect("notes");
    let expected = format!(
        "{}Café\r\n",
        format!("{}\r\n", "y".repeat(63)).repeat(16_384)
    );
    assert_eq!(saved.len(), expected.len());
    assert!(saved == expected.as_bytes(), "the paste arrived altered");
    let mode = std::fs::metadata(&notes)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(
        std::fs::read(case.join("bsodwb-notes.windows-1252.md")).expect("kept"),
        b"Caf\xe9\r\n"
    );
}
