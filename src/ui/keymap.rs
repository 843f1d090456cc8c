//! The keymap, read from `assets/keymap.toml` (compiled in) and the user's override file:
//! key -> global action + description. Key handling, the help overlay, the tab bar and the
//! status line all read it.

use super::action::Action;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use std::path::{Path, PathBuf};

const KEYMAP_TOML: &str = include_str!("../../assets/keymap.toml");

/// An override file larger than this is refused (a keymap is a few hundred bytes).
const MAX_OVERRIDE_BYTES: u64 = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    global: Vec<Binding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    #[serde(default)]
    global: Vec<OverrideBinding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBinding {
    key: String,
    action: Action,
    desc: Option<String>,
}

/// One binding of the keymap file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    pub key: String,
    pub action: Action,
    pub desc: String,
}

/// The global keymap.
#[derive(Clone, Debug)]
pub struct Keymap {
    pub global: Vec<Binding>,
}

impl Keymap {
    /// The built-in keymap. It is compiled in and checked by a unit test, so parsing cannot fail
    /// at run time; should it ever, the workbench still starts with no global keys but `q`.
    pub fn builtin() -> Keymap {
        match parse_builtin(KEYMAP_TOML) {
            Ok(k) => k,
            Err(e) => {
                tracing::error!("assets/keymap.toml: {e}");
                Keymap {
                    global: vec![Binding {
                        key: "q".into(),
                        action: Action::Quit,
                        desc: "quit".into(),
                    }],
                }
            }
        }
    }

    /// The built-in keymap with the bindings of an override file's text: each `[[global]]`
    /// entry gives its action a new key (and, optionally, a new description). Unknown keys or
    /// actions, an action given twice, or two actions on one key are errors (with the line).
    pub fn with_overrides(text: &str) -> Result<Keymap, String> {
        let file: OverrideFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let mut km = Keymap::builtin();
        let mut seen = Vec::new();
        for o in file.global {
            if seen.contains(&o.action) {
                return Err(format!("{} is bound twice", action_label(&km, o.action)));
            }
            seen.push(o.action);
            check_key(&o.key)?;
            match km.global.iter_mut().find(|b| b.action == o.action) {
                Some(b) => {
                    b.key = o.key;
                    if let Some(d) = o.desc {
                        b.desc = d;
                    }
                }
                None => km.global.push(Binding {
                    desc: o.desc.unwrap_or_default(),
                    key: o.key,
                    action: o.action,
                }),
            }
        }
        km.check_unique()?;
        Ok(km)
    }

    /// The keymap for this user: the built-in one with `keymap_path()`'s overrides. A missing
    /// file is no error; a bad one leaves the defaults and says why (the status line shows it).
    pub fn load_user() -> (Keymap, Option<String>) {
        match keymap_path() {
            Some(path) => Keymap::load_from(&path),
            None => (Keymap::builtin(), None),
        }
    }

    /// The built-in keymap with the overrides in `path` (see [`Keymap::load_user`]).
    pub fn load_from(path: &Path) -> (Keymap, Option<String>) {
        let shown = crate::escape::escape_field(&path.display().to_string()).into_owned();
        let text = match read_override(path) {
            Ok(Some(t)) => t,
            Ok(None) => return (Keymap::builtin(), None),
            Err(e) => {
                return (
                    Keymap::builtin(),
                    Some(format!("{shown}: {e}; using the default keys")),
                );
            }
        };
        match Keymap::with_overrides(&text) {
            Ok(k) => (k, None),
            Err(e) => (
                Keymap::builtin(),
                Some(format!(
                    "{shown}: {}; using the default keys",
                    crate::escape::escape_field(&e)
                )),
            ),
        }
    }

    /// The global action bound to a key press, if any.
    pub fn action_for(&self, key: &KeyEvent) -> Option<Action> {
        let name = key_name(key)?;
        self.global.iter().find(|b| b.key == name).map(|b| b.action)
    }

    /// The key bound to an action, as the keymap names it.
    pub fn key_for(&self, action: Action) -> Option<&str> {
        self.global
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.key.as_str())
    }

    /// The key bound to an action as shown to the user ("Tab", "?"), or "-" when none is.
    pub fn label_for(&self, action: Action) -> String {
        self.key_for(action).map_or_else(|| "-".into(), label)
    }

    fn check_unique(&self) -> Result<(), String> {
        for (i, b) in self.global.iter().enumerate() {
            if let Some(other) = self.global[..i].iter().find(|o| o.key == b.key) {
                return Err(format!(
                    "key \"{}\" is bound to both {} and {}",
                    crate::escape::escape_field(&b.key),
                    action_label(self, other.action),
                    action_label(self, b.action)
                ));
            }
        }
        Ok(())
    }
}

fn parse_builtin(text: &str) -> Result<Keymap, String> {
    let f: KeymapFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    for b in &f.global {
        check_key(&b.key)?;
    }
    let km = Keymap { global: f.global };
    km.check_unique()?;
    Ok(km)
}

/// An action as the user reads it in an error: its description in the built-in keymap.
fn action_label(km: &Keymap, a: Action) -> String {
    match km.global.iter().find(|b| b.action == a) {
        Some(b) if !b.desc.is_empty() => format!("\"{}\"", b.desc),
        _ => format!("{a:?}"),
    }
}

fn check_key(key: &str) -> Result<(), String> {
    match key_event(key) {
        Some(_) => Ok(()),
        None => Err(format!(
            "unknown key \"{}\" (a character, or tab, backtab, esc, enter, up, down, left, \
             right, pageup, pagedown, home, end, f1 ... f12)",
            crate::escape::escape_field(key)
        )),
    }
}

/// toml's error on one line: its message and the line it points to.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    match e.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |t| t.matches('\n').count())
                + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

/// The override file: `$BSODWB_KEYMAP`, else `keymap.toml` in bsodwb's configuration folder
/// (`~/.config/bsodwb/keymap.toml` on Linux).
pub fn keymap_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BSODWB_KEYMAP") {
        return Some(PathBuf::from(p));
    }
    Some(dirs::config_dir()?.join("bsodwb").join("keymap.toml"))
}

/// The text of an override file; `None` when there is none.
fn read_override(path: &Path) -> Result<Option<String>, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_OVERRIDE_BYTES {
        return Err(format!(
            "{} bytes, more than a keymap's {MAX_OVERRIDE_BYTES}",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
}

/// The keymap's name of a key press: "q", "F", "?", "tab", "backtab", "esc", ...
pub fn key_name(key: &KeyEvent) -> Option<String> {
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    Some(match key.code {
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "backtab".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::PageUp => "pageup".into(),
        KeyCode::PageDown => "pagedown".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::F(n) => format!("f{n}"),
        _ => return None,
    })
}

/// The key press a keymap name stands for (the inverse of [`key_name`]); `None` for a name
/// that is no key.
pub fn key_event(name: &str) -> Option<KeyEvent> {
    let mut chars = name.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_control() && c != ' ' => KeyCode::Char(c),
        _ => match name {
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "esc" => KeyCode::Esc,
            "enter" => KeyCode::Enter,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            f => match f.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                Some(n @ 1..=12) => KeyCode::F(n),
                _ => return None,
            },
        },
    };
    let modifiers = match code {
        KeyCode::BackTab => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    Some(KeyEvent::new(code, modifiers))
}

/// A keymap key name as the status line and tab bar show it: "Tab", "PgUp", "F1", "q".
pub fn label(name: &str) -> String {
    match name {
        "backtab" => "Shift-Tab".into(),
        "pageup" => "PgUp".into(),
        "pagedown" => "PgDn".into(),
        n if n.chars().count() > 1 => {
            let mut c = n.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        }
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::pane_id::PaneId;

    #[test]
    fn the_builtin_keymap_parses_and_binds_every_global_action() {
        let km = parse_builtin(KEYMAP_TOML).expect("assets/keymap.toml parses");
        let actions: Vec<Action> = km.global.iter().map(|b| b.action).collect();
        for a in Action::all() {
            assert!(actions.contains(&a), "{a:?} has no binding");
        }
        let km = Keymap::builtin();
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action_for(&q), Some(Action::Quit));
        let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
        assert_eq!(km.action_for(&tab), Some(Action::NextPane));
        let ctrl_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(km.action_for(&ctrl_q), None);
        assert_eq!(km.key_for(Action::ShowPane(PaneId::Dump)), Some("2"));
        // Every name maps back to itself.
        for b in &km.global {
            let ev = key_event(&b.key).expect("a key");
            assert_eq!(key_name(&ev).as_deref(), Some(b.key.as_str()));
        }
    }

    #[test]
    fn overrides_rebind_and_bad_files_say_why() {
        let km = Keymap::with_overrides(
            "[[global]]\nkey = \"x\"\naction = \"quit\"\n\n[[global]]\nkey = \"f2\"\naction = \"pane:dump\"\ndesc = \"the dump\"\n",
        )
        .expect("valid overrides");
        assert_eq!(km.key_for(Action::Quit), Some("x"));
        assert_eq!(km.key_for(Action::ShowPane(PaneId::Dump)), Some("f2"));
        assert_eq!(km.label_for(Action::ShowPane(PaneId::Dump)), "F2");
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action_for(&q), None);
        // Unknown action, unknown key, a key taken twice, bad TOML, unknown field.
        for (text, want) in [
            (
                "[[global]]\nkey = \"x\"\naction = \"explode\"\n",
                "unknown action \"explode\"",
            ),
            (
                "[[global]]\nkey = \"ctrl-x\"\naction = \"quit\"\n",
                "unknown key \"ctrl-x\"",
            ),
            (
                "[[global]]\nkey = \"?\"\naction = \"quit\"\n",
                "key \"?\" is bound to both",
            ),
            ("[[global]\nkey = 1\n", "line 1"),
            (
                "[[global]]\nkey = \"x\"\naction = \"quit\"\ncolour = 1\n",
                "colour",
            ),
            (
                "[[global]]\nkey = \"x\"\naction = \"quit\"\n[[global]]\nkey = \"y\"\naction = \"quit\"\n",
                "bound twice",
            ),
        ] {
            let e = Keymap::with_overrides(text).expect_err(text);
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_bad_override_file_falls_back_to_the_defaults_with_a_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keymap.toml");
        let (km, msg) = Keymap::load_from(&path);
        assert!(msg.is_none(), "a missing file is fine");
        assert_eq!(km.key_for(Action::Quit), Some("q"));
        std::fs::write(
            &path,
            b"[[global]]\nkey = \"\x1b[31m\"\naction = \"quit\"\n",
        )
        .expect("write");
        let (km, msg) = Keymap::load_from(&path);
        let msg = msg.expect("a message");
        assert!(
            msg.contains("keymap.toml") && msg.contains("using the default keys"),
            "{msg}"
        );
        assert!(!msg.contains('\x1b'), "{msg:?}");
        assert_eq!(km.key_for(Action::Quit), Some("q"));
        std::fs::write(&path, [0xffu8, 0xfe, 0]).expect("write");
        let (_, msg) = Keymap::load_from(&path);
        assert!(msg.expect("a message").contains("not UTF-8"));
        let (_, msg) = Keymap::load_from(dir.path());
        assert!(msg.expect("a message").contains("not a regular file"));
    }
}
