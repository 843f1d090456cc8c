//! The keymap file drives every key: each binding of `assets/keymap.toml` (global and each pane's
//! section) reaches its pane's handler and shows in that pane's `?` overlay; no key has two
//! actions in one pane, also after a user's override file is merged (a conflict names the file
//! and the line); an override rebinding a pane key moves the action to the new key.

use bsod_workbench::case::Case;
use bsod_workbench::driver::DriverKey;
use bsod_workbench::ui::action::PaneAction;
use bsod_workbench::ui::keymap::{Keymap, PaneBinding, key_event, label};
use bsod_workbench::ui::theme::Theme;
use bsod_workbench::ui::{App, PaneId};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn demo_case() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().expect("tempdir");
    bsod_workbench::synth::demo::write_demo_case(dir.path()).expect("demo");
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    (dir, case)
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| app.draw(f)).expect("draw");
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Whether a help line's keys ("j/k ↓/↑", "/ n N") name `key`.
fn has_key(keys: &str, key: &str) -> bool {
    keys.split(' ')
        .any(|t| t == key || t.split('/').any(|p| p == key))
}

fn press(app: &mut App, name: &str) {
    app.handle_key(key_event(name).unwrap_or_else(|| panic!("{name:?} is no key")));
}

/// Actions that open a text input, a picker (the Timeline's sort and value lists) or the
/// notes editor: Esc leaves it before the next key.
const OPENS_INPUT: [PaneAction; 8] = [
    PaneAction::Search,
    PaneAction::AddFilter,
    PaneAction::AddHighlight,
    PaneAction::GotoTime,
    PaneAction::Edit,
    PaneAction::Sort,
    PaneAction::ValueRule,
    PaneAction::Columns,
];

/// Every key of every pane section, pressed on that pane of the demo case in a state where it
/// applies, reaches the pane's handler for its action; the `?` overlay lists it.
fn every_pane_key_reaches_its_handler(keymap: &Keymap) {
    let (_dir, case) = demo_case();
    let mut app = App::new(case, Theme::ansi16());
    app.keymap = keymap.clone();
    for _ in 0..200 {
        app.tick();
    }
    for pane in PaneId::ALL {
        let bindings: Vec<PaneBinding> = keymap.pane(pane).to_vec();
        assert!(!bindings.is_empty(), "{pane:?} has no keys");
        for b in &bindings {
            for k in &b.keys {
                app.active = pane.index();
                app.help = false;
                app.last_action = None;
                let what = format!("[[{}]] {k:?} -> {}", pane.name(), b.action.name());
                if b.action == PaneAction::Close {
                    // Close needs something open: the details of the row.
                    let details = keymap
                        .pane(pane)
                        .iter()
                        .find(|d| d.action == PaneAction::Details)
                        .and_then(|d| d.keys.first())
                        .expect("a details key");
                    press(&mut app, details);
                    assert_eq!(
                        app.active,
                        pane.index(),
                        "{what}: details opened another pane"
                    );
                }
                press(&mut app, k);
                assert_eq!(
                    app.last_action,
                    Some((pane, b.action)),
                    "{what} did not reach its handler (message: {:?})",
                    app.message
                );
                assert!(
                    !app.message
                        .as_deref()
                        .unwrap_or("")
                        .starts_with("no action for"),
                    "{what}: {:?}",
                    app.message
                );
                if OPENS_INPUT.contains(&b.action) || b.action == PaneAction::Details {
                    app.active = pane.index();
                    press(&mut app, "esc");
                }
            }
        }
        // The `?` overlay of the pane lists every key with its description, at 80x24 too.
        app.active = pane.index();
        app.focus = None;
        app.message = None;
        let hints = keymap.hints(pane);
        for b in &bindings {
            for k in &b.keys {
                assert!(
                    hints
                        .iter()
                        .any(|h| h.desc == b.desc && has_key(&h.key, &label(k))),
                    "[[{}]] {k:?}: no help line {hints:?}",
                    pane.name()
                );
            }
        }
        for (w, h) in [(80, 24), (160, 48)] {
            app.help = false;
            press(
                &mut app,
                keymap
                    .key_for(bsod_workbench::ui::action::Action::Help)
                    .expect("?"),
            );
            assert!(app.help);
            let text = screen(&mut app, w, h);
            for hint in &hints {
                let first = hint.desc.split_whitespace().next().unwrap_or("");
                assert!(
                    text.contains(&format!("  {:<12}{first}", hint.key)),
                    "{w}x{h} {}: `?` lacks {:?}\n{text}",
                    pane.title(),
                    hint.key
                );
            }
            // Every global key, adjacent keys of one description on one line.
            for g in &keymap.global {
                let line = keymap
                    .global_hints()
                    .into_iter()
                    .find(|h| h.desc == g.desc && h.key.split('/').any(|k| k == label(&g.key)))
                    .map(|h| {
                        // A key wider than its column keeps a space before the description.
                        let key = if h.key.chars().count() >= 12 {
                            format!("{} ", h.key)
                        } else {
                            h.key
                        };
                        format!("  {key:<12}{}", h.desc)
                    })
                    .expect("a help line");
                assert!(text.contains(&line), "{w}x{h}: `?` lacks {line:?}\n{text}");
            }
            press(&mut app, "esc");
            assert!(!app.help);
        }
    }
}

#[test]
fn every_key_of_every_pane_section_reaches_its_handler_and_shows_in_help() {
    every_pane_key_reaches_its_handler(&Keymap::builtin());
}

#[test]
fn no_key_has_two_actions_in_one_pane() {
    let km = Keymap::builtin();
    for pane in PaneId::ALL {
        let mut seen: Vec<String> = km.global.iter().map(|g| g.key.clone()).collect();
        for b in km.pane(pane) {
            assert!(
                PaneAction::of(pane).contains(&b.action),
                "{pane:?} binds {:?}, which it does not handle",
                b.action
            );
            for k in &b.keys {
                assert!(
                    !seen.contains(k),
                    "[[{}]]: {k:?} has two actions",
                    pane.name()
                );
                seen.push(k.clone());
            }
        }
        for a in PaneAction::of(pane) {
            assert!(
                km.pane(pane).iter().any(|b| b.action == a),
                "{pane:?}: {a:?} has no key"
            );
        }
    }
    // The meanings the issue fixed: Enter is details, f focus, s sort wherever they are bound.
    for pane in PaneId::ALL {
        for (key, action) in [
            ("enter", PaneAction::Details),
            ("f", PaneAction::Focus),
            ("s", PaneAction::Sort),
            ("/", PaneAction::Search),
        ] {
            if let Some(b) = km
                .pane(pane)
                .iter()
                .find(|b| b.keys.iter().any(|k| k == key))
            {
                assert_eq!(b.action, action, "{pane:?}: {key}");
            }
        }
    }
}

#[test]
fn a_conflicting_override_names_the_file_and_line_and_keeps_the_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keymap.toml");
    // `s` sorts in the Dump pane: binding it to the bug check's pane too is a conflict.
    std::fs::write(
        &path,
        "# mine\n[[dump]]\nkey = \"D\"\naction = \"next-dump\"\n\n[[dump]]\nkey = \"s\"\naction = \"bug-check-pane\"\n",
    )
    .expect("write");
    let (km, msg) = Keymap::load_from(&path);
    let msg = msg.expect("a conflict is reported");
    assert!(msg.contains("keymap.toml"), "{msg}");
    assert!(msg.contains("line 6"), "{msg}");
    assert!(msg.contains("key \"s\" is bound to both"), "{msg}");
    assert!(msg.contains("using the default keys"), "{msg}");
    let b = KeyEvent::new(KeyCode::Char('b'), KeyModifiers::NONE);
    assert_eq!(
        km.pane_action(PaneId::Dump, &b),
        Some(PaneAction::BugCheckPane)
    );
    // A global key taken by a pane binding conflicts in that pane.
    let e = Keymap::with_overrides("[[timeline]]\nkey = \"q\"\naction = \"rules\"\n")
        .expect_err("q quits");
    assert!(
        e.starts_with("line 1: key \"q\" is bound to both \"quit\""),
        "{e}"
    );
    assert!(e.contains("[[timeline]]"), "{e}");
    // An action the pane does not have, an unknown section.
    let e = Keymap::with_overrides("\n[[notes]]\nkey = \"x\"\naction = \"sort\"\n").expect_err("x");
    assert!(
        e.contains("line 2") && e.contains("Notes pane has no action \"sort\""),
        "{e}"
    );
    let e = Keymap::with_overrides("[[dumps]]\nkey = \"x\"\naction = \"sort\"\n").expect_err("x");
    assert!(e.contains("unknown section [[dumps]]"), "{e}");
}

#[test]
fn an_override_rebinds_a_pane_key_everywhere_it_shows() {
    let text = "[[dump]]\nkey = \"B\"\naction = \"bug-check-pane\"\n\n\
                [[timeline]]\nkey = [\"R\", \"f2\"]\naction = \"rules\"\ndesc = \"the rule list\"\n";
    let km = Keymap::with_overrides(text).expect("valid overrides");
    every_pane_key_reaches_its_handler(&km);
    let (_dir, case) = demo_case();
    let mut app = App::new(case, Theme::ansi16());
    app.keymap = km;
    press(&mut app, "2");
    assert_eq!(app.active_title(), "Dump");
    let bar = app.hint_bar();
    assert!(bar.contains("B bug check's pane"), "{bar}");
    // The old key has no action now, and says so.
    press(&mut app, "b");
    assert_eq!(app.active_title(), "Dump");
    assert_eq!(
        app.message.as_deref(),
        Some("no action for b here, ? for help")
    );
    press(&mut app, "B");
    assert_eq!(app.active_title(), "Integrity");
    assert_eq!(app.focus, DriverKey::from_path("filecrypt.sys"));
    press(&mut app, "2");
    press(&mut app, "?");
    let text = screen(&mut app, 160, 48);
    assert!(
        text.contains("  B           the bug check's pane"),
        "{text}"
    );
    press(&mut app, "esc");
    press(&mut app, "3");
    press(&mut app, "?");
    let text = screen(&mut app, 160, 48);
    assert!(text.contains("  R F2        the rule list"), "{text}");
}

#[test]
fn unknown_keys_say_so_and_help_names_keys_as_typed() {
    let (_dir, case) = demo_case();
    let mut app = App::new(case, Theme::ansi16());
    press(&mut app, "4");
    press(&mut app, "w");
    assert_eq!(
        app.message.as_deref(),
        Some("no action for w here, ? for help")
    );
    app.handle_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL));
    assert_eq!(
        app.message.as_deref(),
        Some("no action for Ctrl-x here, ? for help")
    );
    press(&mut app, "?");
    let text = screen(&mut app, 160, 48);
    for shown in ["Shift-Tab", "Enter", "PgDn", "Tab"] {
        assert!(text.contains(shown), "{shown}\n{text}");
    }
    assert!(!text.contains("backtab"), "{text}");
}
