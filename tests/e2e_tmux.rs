//! End-to-end: the real `bsodwb` binary in tmux at 80x24, driven by keys, read by capture-pane.
//! Run under TERM=xterm-256color, TERM=screen and NO_COLOR=1; each run quits with `q` and must
//! exit 0 with the terminal out of the alternate screen.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    status: PathBuf,
}

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("BSODWB_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!("tmux is required (BSODWB_REQUIRE_ORACLES=1)");
        }
        eprintln!("SKIP: tmux not installed");
    }
    ok
}

impl Tmux {
    fn start(name: &str, env: &[(&str, &str)], args: &[&Path], work: &Path) -> Tmux {
        let socket = format!("bsodwb-e2e-{}-{name}", std::process::id());
        let status = work.join(format!("{name}.status"));
        let bin = env!("CARGO_BIN_EXE_bsodwb");
        let args: Vec<String> = args.iter().map(|a| format!("'{}'", a.display())).collect();
        let script = format!(
            "'{bin}' {}; echo $? > '{}'; sleep 60",
            args.join(" "),
            status.display()
        );
        let mut cmd = Command::new("tmux");
        cmd.args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
        ]);
        for (k, v) in env {
            cmd.args(["-e", &format!("{k}={v}")]);
        }
        cmd.args(["sh", "-c", &script]);
        let out = cmd.output().expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux { socket, status }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    fn screen_with_escapes(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e"])
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", k]);
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
    }

    /// Poll the screen until it contains `needle` (generous timeout for slow CI machines).
    fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(30) {
                panic!("timed out waiting for {needle:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait for the process to exit; its exit code.
    fn exit_code(&self) -> i32 {
        let start = Instant::now();
        loop {
            if let Ok(s) = std::fs::read_to_string(&self.status) {
                return s.trim().parse().expect("exit code");
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("bsodwb did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn alternate_on(&self) -> bool {
        self.tmux(&["display-message", "-p", "#{alternate_on}"])
            .trim()
            == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// A small case folder of our own (a copy of a real minidump plus a sigverif log), in a temp dir
/// so the notes the test writes never touch the shared samples.
fn case_dir() -> Option<tempfile::TempDir> {
    let dump = common::sample("rizin-testbins/triage_x64.dmp")?;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("Minidump")).expect("mkdir");
    std::fs::copy(dump, dir.path().join("Minidump/022121-01.dmp")).expect("copy");
    Some(dir)
}

fn walk(name: &str, env: &[(&str, &str)]) {
    if !tmux_available() {
        return;
    }
    let Some(case) = case_dir() else { return };
    let work = tempfile::tempdir().expect("work");
    let t = Tmux::start(name, env, &[case.path()], work.path());
    let s = t.wait_for("Minidump/022121-01.dmp");
    assert!(s.contains("1 Overview"), "{s}");
    assert!(
        t.alternate_on(),
        "the workbench draws on the alternate screen"
    );
    t.keys(&["2"]);
    t.wait_for("Dump");
    // `/` searches the pane: the line takes `q` and digits as text; Enter jumps, `n` goes on.
    t.keys(&["/"]);
    t.wait_for("Search frames and modules");
    t.text("amdppm");
    t.keys(&["Enter"]);
    t.wait_for("/amdppm: match 1 of");
    t.keys(&["n"]);
    t.wait_for("/amdppm: match 2 of");
    t.keys(&["?"]);
    t.wait_for("Everywhere");
    t.keys(&["Escape", "6", "i"]);
    t.text("checked in tmux");
    t.keys(&["Escape"]);
    t.wait_for("saved");
    t.keys(&["q"]);
    assert_eq!(t.exit_code(), 0, "bsodwb exits 0 on q");
    assert!(!t.alternate_on(), "the terminal left the alternate screen");
    let notes =
        std::fs::read_to_string(case.path().join("bsodwb-notes.md")).expect("notes written");
    assert_eq!(notes.trim(), "checked in tmux");
}

#[test]
fn tmux_xterm_256color() {
    walk("xterm", &[("TERM", "xterm-256color")]);
}

#[test]
fn tmux_screen() {
    walk("screen", &[("TERM", "screen")]);
}

#[test]
fn tmux_no_color_draws_no_colour_escapes() {
    if !tmux_available() {
        return;
    }
    let Some(case) = case_dir() else { return };
    let work = tempfile::tempdir().expect("work");
    let t = Tmux::start(
        "nocolor",
        &[("TERM", "xterm-256color"), ("NO_COLOR", "1")],
        &[case.path()],
        work.path(),
    );
    t.wait_for("Minidump/022121-01.dmp");
    let raw = t.screen_with_escapes();
    // SGR colour parameters: 30-37, 38;..., 40-47, 48;..., 90-97, 100-107.
    let coloured = raw.split("\x1b[").skip(1).any(|seq| {
        let params = seq.split('m').next().unwrap_or("");
        params.split(';').any(|p| {
            matches!(
                p.parse::<u32>(),
                Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
            )
        })
    });
    assert!(!coloured, "colour escapes under NO_COLOR:\n{raw:?}");
    t.keys(&["q"]);
    assert_eq!(t.exit_code(), 0);
    assert!(!t.alternate_on());
}

/// The demo walk of the README, by keys alone: the Dump pane's 0x5A, then `b` follows the bug
/// check to the Integrity pane focused on filecrypt.sys, its 3004 beside its signature verdict.
#[test]
fn tmux_demo_walk_from_the_bugcheck_to_filecrypt() {
    if !tmux_available() {
        return;
    }
    let case = tempfile::tempdir().expect("case");
    bsod_workbench::synth::demo::write_demo_case(case.path()).expect("demo case");
    let work = tempfile::tempdir().expect("work");
    // The demo's catalogs are signed by the synthetic test root: given to the workbench.
    let roots = work.path().join("synthetic-root.pem");
    std::fs::write(&roots, bsod_workbench::synth::signer::SYNTHETIC_ROOT_PEM).expect("pem");
    let roots = roots.to_string_lossy().into_owned();
    let t = Tmux::start(
        "demo",
        &[("TERM", "xterm-256color"), ("BSODWB_ROOTS", roots.as_str())],
        &[case.path()],
        work.path(),
    );
    let s = t.wait_for("Findings");
    assert!(s.contains("Bug check 0x5A CRITICAL_SERVICE_FAILED"), "{s}");
    t.keys(&["2"]);
    let s = t.wait_for("STATUS_INVALID_IMAGE_HASH");
    assert!(s.contains("CRITICAL_SERVICE_FAILED"), "{s}");
    assert!(s.contains("IopLoadDriver"), "{s}");
    t.keys(&["b"]);
    let s = t.wait_for("focus: filecrypt.sys");
    assert!(s.contains("4 Integrity"), "{s}");
    let s = t.wait_for("3004");
    assert!(s.contains("catalog-only-in-servicing"), "{s}");
    // `3`: the Timeline narrowed to filecrypt.sys: its service key, its image, its catalog.
    t.keys(&["3"]);
    let s = t.wait_for("5/75 events");
    assert!(s.contains("Services\\FileCrypt"), "{s}");
    assert!(s.contains("\\filecrypt.sys"), "{s}");
    assert!(s.contains("10.0.1.27.cat"), "{s}");
    assert!(s.contains("NAME NOT FOUND"), "{s}");
    t.keys(&["q"]);
    assert_eq!(t.exit_code(), 0);
    assert!(!t.alternate_on());
}

/// A case of the shape the hostile-input test needs: a dump and a boot log mapped straight from
/// the case folder (so they can be cut while open), and a gzip'd event log so the private temp
/// folder exists.
fn hostile_case_dir() -> Option<tempfile::TempDir> {
    use std::io::Write;
    let dump = common::sample("rizin-testbins/triage_x64.dmp")?;
    let pml = common::sample("procmon-parser/uncompressed/CompressedLogFileUTC64Process.pml")?;
    let evtx = common::sample("omerbenamram-evtx/system.evtx")?;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("Minidump")).expect("mkdir");
    std::fs::copy(dump, dir.path().join("Minidump/022121-01.dmp")).expect("copy");
    std::fs::copy(pml, dir.path().join("Bootlog.pml")).expect("copy");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&std::fs::read(evtx).expect("read"))
        .expect("gz");
    std::fs::write(dir.path().join("System.evtx.gz"), gz.finish().expect("gz")).expect("write");
    Some(dir)
}

fn temp_folders(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("bsodwb-case-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Truncate the open boot log and dump while the TUI shows them, then send `signal`: the
/// process lives through the truncation, exits with 128+signo, leaves the alternate screen and
/// removes its temp folder.
fn cut_then_signal(name: &str, signal: &str, signo: i32) {
    if !tmux_available() {
        return;
    }
    let Some(case) = hostile_case_dir() else {
        return;
    };
    let work = tempfile::tempdir().expect("work");
    let tmp = work.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let tmp_s = tmp.to_str().expect("utf-8").to_string();
    let t = Tmux::start(
        name,
        &[("TERM", "xterm-256color"), ("TMPDIR", &tmp_s)],
        &[case.path()],
        work.path(),
    );
    t.wait_for("Minidump/022121-01.dmp");
    assert!(t.alternate_on());
    assert_eq!(temp_folders(&tmp).len(), 1, "the gzip'd log is inflated");
    // Open the timeline, then cut both mapped files to one page and read past the cut.
    t.keys(&["3"]);
    t.wait_for("events");
    for f in ["Bootlog.pml", "Minidump/022121-01.dmp"] {
        std::fs::OpenOptions::new()
            .write(true)
            .open(case.path().join(f))
            .expect("open")
            .set_len(4096)
            .expect("truncate");
    }
    // The event's detail reads its bytes past the cut; the dump pane reads the dump's.
    t.keys(&["End", "Enter"]);
    let s = t.wait_for("changed while open");
    assert!(s.contains("Bootlog.pml"), "{s}");
    t.keys(&["Escape", "2", "End", "PageUp", "1"]);
    assert!(s.contains("1 Overview"), "still drawing:\n{s}");
    assert!(
        !t.status.exists(),
        "bsodwb lived through the truncation:\n{s}"
    );
    // The workbench process is the pane shell's child.
    let shell = t.tmux(&["display-message", "-p", "#{pane_pid}"]);
    let out = Command::new("pgrep")
        .args(["-P", shell.trim()])
        .output()
        .expect("pgrep");
    let pid = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .expect("bsodwb pid")
        .trim()
        .to_string();
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert_eq!(t.exit_code(), 128 + signo, "exits with 128+{signal}");
    assert!(!t.alternate_on(), "the terminal left the alternate screen");
    assert_eq!(
        temp_folders(&tmp),
        Vec::<String>::new(),
        "temp folder removed"
    );
}

#[test]
fn tmux_truncated_files_then_sigterm() {
    cut_then_signal("sigterm", "TERM", 15);
}

#[test]
fn tmux_truncated_files_then_sighup() {
    cut_then_signal("sighup", "HUP", 1);
}

/// `q` while a large compressed boot log is still being inflated: the loading screen shows files
/// and bytes per artefact, and quitting stops the inflation and removes the temp folder.
#[test]
fn tmux_q_during_inflation_removes_the_temp_folder() {
    use std::io::Write;
    if !tmux_available() {
        return;
    }
    let case = tempfile::tempdir().expect("case");
    // 4 GiB inflated (a PML header, then zeros), as 64 concatenated gzip members.
    let mut member = vec![0u8; 64 << 20];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    member[..12].copy_from_slice(b"PML_\x09\0\0\0\x01\0\0\0");
    gz.write_all(&member).expect("gz");
    let first = gz.finish().expect("gz");
    member[..12].fill(0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&member).expect("gz");
    let rest = gz.finish().expect("gz").repeat(63);
    std::fs::write(case.path().join("Bootlog.pml.gz"), [first, rest].concat()).expect("write");
    let work = tempfile::tempdir().expect("work");
    let tmp = work.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let tmp_s = tmp.to_str().expect("utf-8").to_string();
    let t = Tmux::start(
        "quit-inflating",
        &[("TERM", "xterm-256color"), ("TMPDIR", &tmp_s)],
        &[case.path()],
        work.path(),
    );
    let s = t.wait_for("case files");
    assert!(s.contains("Loading the case"), "{s}");
    let start = Instant::now();
    while temp_folders(&tmp).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "no temp folder");
        std::thread::sleep(Duration::from_millis(20));
    }
    t.keys(&["q"]);
    assert_eq!(t.exit_code(), 0);
    assert!(!t.alternate_on());
    assert_eq!(
        temp_folders(&tmp),
        Vec::<String>::new(),
        "temp folder removed"
    );
}

/// `y` on the demo's filecrypt finding copies its fix through OSC 52: with tmux's
/// `set-clipboard on` the whole command (CatRoot path, GUID and all) lands in tmux's paste
/// buffer, uncut by borders; the status line says how many characters.
#[test]
fn tmux_y_copies_the_demo_fix_into_the_tmux_buffer() {
    if !tmux_available() {
        return;
    }
    let case = tempfile::tempdir().expect("case");
    bsod_workbench::synth::demo::write_demo_case(case.path()).expect("demo case");
    let work = tempfile::tempdir().expect("work");
    let roots = work.path().join("synthetic-root.pem");
    std::fs::write(&roots, bsod_workbench::synth::signer::SYNTHETIC_ROOT_PEM).expect("pem");
    let roots = roots.to_string_lossy().into_owned();
    let t = Tmux::start(
        "yank",
        &[("TERM", "xterm-256color"), ("BSODWB_ROOTS", roots.as_str())],
        &[case.path()],
        work.path(),
    );
    t.tmux(&["set-option", "-g", "set-clipboard", "on"]);
    t.wait_for("Findings");
    // The second finding is filecrypt.sys, whose fix copies the catalogs back into CatRoot.
    t.keys(&["j", "y"]);
    let s = t.wait_for("copied the fix");
    let buffer = t.tmux(&["show-buffer"]);
    assert!(
        buffer.contains(r"CatRoot\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}"),
        "{buffer:?}\n{s}"
    );
    assert!(buffer.contains("servicing"), "{buffer:?}");
    assert!(
        !buffer.contains('│') && !buffer.contains('\u{1b}'),
        "{buffer:?}"
    );
    let n = buffer.chars().count();
    assert!(
        s.contains(&format!("copied the fix: {n} chars")),
        "{n}\n{s}"
    );
    t.keys(&["q"]);
    assert_eq!(t.exit_code(), 0);
}

/// The mouse stays the terminal's by default (its selection works); `--mouse` captures it
/// for wheel scrolling, and quitting gives it back.
#[test]
fn tmux_mouse_is_captured_only_with_the_flag() {
    if !tmux_available() {
        return;
    }
    let case = tempfile::tempdir().expect("case");
    bsod_workbench::synth::demo::write_demo_case(case.path()).expect("demo case");
    for (name, flag) in [("nomouse", None), ("mouse", Some("--mouse"))] {
        let work = tempfile::tempdir().expect("work");
        let mut args: Vec<&Path> = flag.iter().map(Path::new).collect();
        args.push(case.path());
        let t = Tmux::start(name, &[("TERM", "xterm-256color")], &args, work.path());
        t.wait_for("Findings");
        let captured = || {
            t.tmux(&[
                "display-message",
                "-p",
                "#{mouse_any_flag}#{mouse_button_flag}#{mouse_standard_flag}",
            ])
            .trim()
            .chars()
            .any(|c| c == '1')
        };
        assert_eq!(captured(), flag.is_some(), "{name}");
        t.keys(&["q"]);
        assert_eq!(t.exit_code(), 0);
        assert!(!captured(), "{name}: the mouse is given back");
    }
}

/// `:open CASE` opens a second case in a tab of its own (loaded while the screen stays
/// live), the tab line names both cases, `gt`/`gT` switch and each tab keeps its pane; a
/// path that does not exist says so and leaves the user on the case they were reading.
#[test]
fn tmux_open_a_second_case_in_a_tab_and_switch_with_gt() {
    if !tmux_available() {
        return;
    }
    let demo = tempfile::tempdir().expect("case");
    let demo_case = demo.path().join("demo-case");
    bsod_workbench::synth::demo::write_demo_case(&demo_case).expect("demo case");
    let other = tempfile::tempdir().expect("other");
    let other_case = other.path().join("second-case");
    std::fs::create_dir_all(&other_case).expect("mkdir");
    std::fs::write(other_case.join("SIGVERIF.TXT"), "not much\r\n").expect("write");
    let work = tempfile::tempdir().expect("work");
    let t = Tmux::start(
        "tabs",
        &[("TERM", "xterm-256color")],
        &[&demo_case],
        work.path(),
    );
    t.wait_for("Findings");
    t.keys(&["2"]);
    t.wait_for("CRITICAL_SERVICE_FAILED");
    // A bad path: a message, the same case and pane.
    t.keys(&[":"]);
    t.text("open /no/such/case");
    t.keys(&["Enter"]);
    let s = t.wait_for("cannot open /no/such/case");
    assert!(s.contains("CRITICAL_SERVICE_FAILED"), "{s}");
    assert!(!s.contains("[2]"), "{s}");
    t.keys(&[":"]);
    t.text(&format!("open {}", other_case.display()));
    t.keys(&["Enter"]);
    let s = t.wait_for("[2] second-case");
    assert!(s.contains("[1] demo-case"), "{s}");
    t.wait_for("everything in the case was read");
    // gt: back to the demo's Dump pane (it wraps); gT: the second case again.
    t.keys(&["g", "t"]);
    let s = t.wait_for("CRITICAL_SERVICE_FAILED");
    assert!(s.contains("case 1 of 2: demo-case"), "{s}");
    t.keys(&["g", "T"]);
    let s = t.wait_for("case 2 of 2: second-case");
    assert!(!s.contains("CRITICAL_SERVICE_FAILED"), "{s}");
    t.keys(&["q"]);
    assert_eq!(t.exit_code(), 0);
}

/// A filter preset saved from the Timeline lands in `$HOME/.config/bsodwb/filters/NAME.toml`
/// (no `$XDG_CONFIG_HOME`) and loads back after the rules are cleared.
#[test]
fn tmux_timeline_preset_saves_under_home_and_loads_back() {
    if !tmux_available() {
        return;
    }
    let case = tempfile::tempdir().expect("case");
    bsod_workbench::synth::demo::write_demo_case(case.path()).expect("demo case");
    let home = tempfile::tempdir().expect("home");
    let work = tempfile::tempdir().expect("work");
    let home_s = home.path().to_string_lossy().into_owned();
    let t = Tmux::start(
        "preset",
        &[
            ("TERM", "xterm-256color"),
            ("HOME", home_s.as_str()),
            ("XDG_CONFIG_HOME", ""),
        ],
        &[case.path()],
        work.path(),
    );
    t.wait_for("Findings");
    t.keys(&["3"]);
    t.wait_for("Boot log");
    t.keys(&[":"]);
    t.text("filter Path ends with .sys");
    t.keys(&["Enter"]);
    t.wait_for("rules: 1 filter");
    t.keys(&[":"]);
    t.text("filter save boot-drivers");
    t.keys(&["Enter"]);
    t.wait_for("saved 1 rules");
    let file = home.path().join(".config/bsodwb/filters/boot-drivers.toml");
    let text = std::fs::read_to_string(&file).expect("preset under $HOME/.config");
    assert!(text.contains("Path ends with .sys include"), "{text}");
    t.keys(&["X"]);
    t.wait_for("no rules");
    t.keys(&[":"]);
    t.text("filter load boot-drivers");
    t.keys(&["Enter"]);
    let s = t.wait_for("loaded preset boot-drivers (1 rules)");
    assert!(s.contains("rules: 1 filter"), "{s}");
    t.keys(&["q"]);
    assert_eq!(t.exit_code(), 0);
}
