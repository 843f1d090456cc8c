//! The keymap, read from `assets/keymap.toml` (compiled in) and the user's override file:
//! the global keys (key -> [`Action`]) and each pane's section (keys -> [`PaneAction`]), each
//! with its description. Key handling, the help overlay, the tab bar and the hint bar (the
//! status line) all read it; no key has two actions in one pane.

use super::action::{Action, PaneAction};
use super::pane::Hint;
use super::pane_id::PaneId;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const KEYMAP_TOML: &str = include_str!("../../assets/keymap.toml");

/// An override file larger than this is refused (a keymap is a few kilobytes).
const MAX_OVERRIDE_BYTES: u64 = 64 * 1024;

/// One entry of a keymap file, in any section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: Keys,
    action: String,
    desc: Option<String>,
    bar: Option<String>,
}

/// `key = "j"` or `key = ["j", "down"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Keys {
    One(String),
    Many(Vec<String>),
}

impl Keys {
    fn into_vec(self) -> Vec<String> {
        match self {
            Keys::One(k) => vec![k],
            Keys::Many(v) => v,
        }
    }
}

/// A keymap file: sections by name (`global` and the panes'), each a list of entries with the
/// byte span they were read from (for the line in an error).
type FileSections = BTreeMap<String, Vec<toml::Spanned<Entry>>>;

/// One global binding.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    pub key: String,
    pub action: Action,
    pub desc: String,
}

/// One binding of a pane's section: its keys (one or more), the action, the help text, and
/// the short name in the hint bar (none: not in the bar).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaneBinding {
    pub keys: Vec<String>,
    pub action: PaneAction,
    pub desc: String,
    pub bar: Option<String>,
}

/// The keymap: the global keys and each pane's keys.
#[derive(Clone, Debug)]
pub struct Keymap {
    pub global: Vec<Binding>,
    /// One section per pane, in [`PaneId::ALL`] order.
    panes: Vec<Vec<PaneBinding>>,
}

impl Keymap {
    /// The built-in keymap. It is compiled in and checked by a unit test, so parsing cannot fail
    /// at run time; should it ever, the workbench still starts with no global keys but `q`.
    pub fn builtin() -> Keymap {
        builtin_ref().clone()
    }

    /// The built-in keymap with the bindings of an override file's text: each entry gives its
    /// action new keys (and, optionally, a new description) in its section. Unknown keys,
    /// sections or actions, an action given twice, or two actions on one key in one pane
    /// (its section plus the global keys) are errors, with the line.
    pub fn with_overrides(text: &str) -> Result<Keymap, String> {
        let file: FileSections = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let mut km = Keymap::builtin();
        // Where each overridden binding was given: (section, action name) -> line.
        let mut lines: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (section, entries) in file {
            let pane = section_pane(&section)?;
            for spanned in entries {
                let line = line_of(text, spanned.span().start);
                let at = |e: String| format!("line {line}: {e}");
                let o = spanned.into_inner();
                let keys = o.key.into_vec();
                if keys.is_empty() {
                    return Err(at("an entry with no key".into()));
                }
                for k in &keys {
                    check_key(k).map_err(at)?;
                }
                if lines
                    .insert((section.clone(), o.action.clone()), line)
                    .is_some()
                {
                    return Err(at(format!(
                        "\"{}\" is bound twice in [[{section}]]",
                        crate::escape::escape_field(&o.action)
                    )));
                }
                match pane {
                    None => {
                        if keys.len() > 1 {
                            return Err(at("a global action takes one key".into()));
                        }
                        let action = Action::try_from(o.action).map_err(at)?;
                        let key = keys.into_iter().next().unwrap_or_default();
                        match km.global.iter_mut().find(|b| b.action == action) {
                            Some(b) => {
                                b.key = key;
                                if let Some(d) = o.desc {
                                    b.desc = d;
                                }
                            }
                            None => km.global.push(Binding {
                                desc: o.desc.unwrap_or_default(),
                                key,
                                action,
                            }),
                        }
                    }
                    Some(id) => {
                        let action = pane_action(id, o.action).map_err(at)?;
                        let section = &mut km.panes[id.index()];
                        match section.iter_mut().find(|b| b.action == action) {
                            Some(b) => {
                                b.keys = keys;
                                if let Some(d) = o.desc {
                                    b.desc = d;
                                }
                                if o.bar.is_some() {
                                    b.bar = o.bar;
                                }
                            }
                            None => section.push(PaneBinding {
                                keys,
                                action,
                                desc: o.desc.unwrap_or_default(),
                                bar: o.bar,
                            }),
                        }
                    }
                }
            }
        }
        km.check_unique(&|section: &str, action: &str| {
            lines
                .get(&(section.to_string(), action.to_string()))
                .copied()
        })?;
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

    /// Whether a key press starts a two-key global sequence (`g` of `gt`).
    pub fn starts_sequence(&self, key: &KeyEvent) -> bool {
        let Some(name) = key_name(key) else {
            return false;
        };
        self.global
            .iter()
            .any(|b| key_sequence(&b.key).is_some() && b.key.starts_with(name.as_str()))
    }

    /// The global action of the two-key sequence `first` then `second`, if one is bound.
    pub fn sequence_action(&self, first: &KeyEvent, second: &KeyEvent) -> Option<Action> {
        let name = format!("{}{}", key_name(first)?, key_name(second)?);
        self.global
            .iter()
            .find(|b| b.key == name && key_sequence(&b.key).is_some())
            .map(|b| b.action)
    }

    /// The key bound to a global action, as the keymap names it.
    pub fn key_for(&self, action: Action) -> Option<&str> {
        self.global
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.key.as_str())
    }

    /// The key bound to a global action as shown to the user ("Tab", "?"), or "-" when none is.
    pub fn label_for(&self, action: Action) -> String {
        self.key_for(action).map_or_else(|| "-".into(), label)
    }

    /// A pane's bindings, in the keymap file's order.
    pub fn pane(&self, pane: PaneId) -> &[PaneBinding] {
        self.panes.get(pane.index()).map_or(&[], Vec::as_slice)
    }

    /// The pane action bound to a key press in `pane`, if any.
    pub fn pane_action(&self, pane: PaneId, key: &KeyEvent) -> Option<PaneAction> {
        let name = key_name(key)?;
        self.pane(pane)
            .iter()
            .find(|b| b.keys.contains(&name))
            .map(|b| b.action)
    }

    /// The keys of a pane action as the user reads them ("s", "j/Down"), "-" when unbound.
    pub fn pane_label(&self, pane: PaneId, action: PaneAction) -> String {
        match self.pane(pane).iter().find(|b| b.action == action) {
            Some(b) if !b.keys.is_empty() => b
                .keys
                .iter()
                .map(|k| label(k))
                .collect::<Vec<_>>()
                .join("/"),
            _ => "-".into(),
        }
    }

    /// The help overlay's lines for a pane: one per binding, adjacent bindings with the same
    /// description on one line, their keys side by side ("j/k ↓/↑  move").
    pub fn hints(&self, pane: PaneId) -> Vec<Hint> {
        let mut out: Vec<Hint> = Vec::new();
        let mut group: Vec<&PaneBinding> = Vec::new();
        let flush = |group: &mut Vec<&PaneBinding>, out: &mut Vec<Hint>| {
            if let Some(first) = group.first() {
                out.push(Hint {
                    key: group_keys(group),
                    desc: first.desc.clone(),
                });
            }
            group.clear();
        };
        for b in self.pane(pane) {
            if group.first().is_some_and(|g| g.desc != b.desc) {
                flush(&mut group, &mut out);
            }
            group.push(b);
        }
        flush(&mut group, &mut out);
        out
    }

    /// The help overlay's lines for the global keys: adjacent bindings with the same
    /// description share a line, their keys side by side (`m/'  mark the row / jump to it`).
    pub fn global_hints(&self) -> Vec<Hint> {
        let mut out: Vec<Hint> = Vec::new();
        let mut last_desc: Option<&str> = None;
        for b in &self.global {
            match out.last_mut() {
                Some(h) if last_desc == Some(b.desc.as_str()) => {
                    h.key = format!("{}/{}", h.key, label(&b.key));
                }
                _ => out.push(Hint {
                    key: label(&b.key),
                    desc: b.desc.clone(),
                }),
            }
            last_desc = Some(b.desc.as_str());
        }
        out
    }

    /// The hint bar's entries for a pane: (keys as read, short name).
    pub fn bar(&self, pane: PaneId) -> Vec<(PaneAction, String, String)> {
        self.pane(pane)
            .iter()
            .filter_map(|b| {
                let short = b.bar.as_ref()?;
                Some((b.action, self.pane_label(pane, b.action), short.clone()))
            })
            .collect()
    }

    /// No key has two actions in one context: the global keys, and each pane's section with
    /// them. `line` gives the override file's line of a binding, to name it in the error.
    fn check_unique(&self, line: &dyn Fn(&str, &str) -> Option<usize>) -> Result<(), String> {
        // (key, section, action name, description)
        let global: Vec<(&str, &str, String, &str)> = self
            .global
            .iter()
            .map(|b| {
                (
                    b.key.as_str(),
                    "global",
                    action_name(b.action),
                    b.desc.as_str(),
                )
            })
            .collect();
        let mut contexts = vec![global.clone()];
        for id in PaneId::ALL {
            let mut c = global.clone();
            for b in self.pane(id) {
                for k in &b.keys {
                    c.push((k.as_str(), id.name(), b.action.name().to_string(), &b.desc));
                }
            }
            contexts.push(c);
        }
        for c in contexts {
            for (i, (key, section, action, desc)) in c.iter().enumerate() {
                let Some((_, osec, oact, odesc)) = c[..i].iter().find(|o| o.0 == *key) else {
                    continue;
                };
                let where_ = line(section, action)
                    .or_else(|| line(osec, oact))
                    .map(|l| format!("line {l}: "))
                    .unwrap_or_default();
                let what = |d: &str, a: &str| {
                    if d.is_empty() {
                        a.to_string()
                    } else {
                        format!("\"{d}\"")
                    }
                };
                return Err(format!(
                    "{where_}key \"{}\" is bound to both {} and {}{}",
                    crate::escape::escape_field(key),
                    what(odesc, oact),
                    what(desc, action),
                    if *section == "global" && *osec == "global" {
                        String::new()
                    } else {
                        format!(
                            " in [[{}]]",
                            if *section == "global" { osec } else { section }
                        )
                    }
                ));
            }
        }
        Ok(())
    }
}

/// The keymap the workbench runs with (set once by [`set_current`] when the user's overrides are
/// read), else the built-in one: pane text that names a key (a box title, a popup's footer)
/// reads it.
pub fn current() -> &'static Keymap {
    CURRENT.get().unwrap_or_else(builtin_ref)
}

/// Make `keymap` the one [`current`] gives (the first call wins).
pub fn set_current(keymap: Keymap) {
    let _ = CURRENT.set(keymap);
}

static CURRENT: OnceLock<Keymap> = OnceLock::new();

/// The built-in keymap, parsed once.
pub fn builtin_ref() -> &'static Keymap {
    static BUILTIN: OnceLock<Keymap> = OnceLock::new();
    BUILTIN.get_or_init(|| match parse_builtin(KEYMAP_TOML) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!("assets/keymap.toml: {e}");
            Keymap {
                global: vec![Binding {
                    key: "q".into(),
                    action: Action::Quit,
                    desc: "quit".into(),
                }],
                panes: vec![Vec::new(); PaneId::ALL.len()],
            }
        }
    })
}

/// The keys of bindings that share a help line, side by side: their first keys joined by "/",
/// then their second keys, and so on ("j/k ↓/↑"). A "/" key keeps them apart with spaces.
fn group_keys(group: &[&PaneBinding]) -> String {
    let sep = if group.iter().any(|b| b.keys.iter().any(|k| k == "/")) {
        " "
    } else {
        "/"
    };
    let most = group.iter().map(|b| b.keys.len()).max().unwrap_or(0);
    (0..most)
        .map(|i| {
            group
                .iter()
                .filter_map(|b| b.keys.get(i))
                .map(|k| label(k))
                .collect::<Vec<_>>()
                .join(sep)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A global action's name in the keymap file.
fn action_name(a: Action) -> String {
    match a {
        Action::NextPane => "next-pane".into(),
        Action::PrevPane => "prev-pane".into(),
        Action::ShowPane(p) => format!("pane:{}", p.name()),
        Action::ClearFocus => "clear-focus".into(),
        Action::Yank => "yank".into(),
        Action::YankView => "yank-view".into(),
        Action::Command => "command".into(),
        Action::Back => "back".into(),
        Action::Forward => "forward".into(),
        Action::NextTab => "next-tab".into(),
        Action::PrevTab => "prev-tab".into(),
        Action::Mark => "mark".into(),
        Action::JumpMark => "jump-mark".into(),
        Action::Note => "note".into(),
        Action::Help => "help".into(),
        Action::Quit => "quit".into(),
    }
}

/// The pane a section is for (`None`: `[[global]]`).
fn section_pane(section: &str) -> Result<Option<PaneId>, String> {
    if section == "global" {
        return Ok(None);
    }
    PaneId::from_name(section).map(Some).ok_or_else(|| {
        let names: Vec<&str> = PaneId::ALL.iter().map(|p| p.name()).collect();
        format!(
            "unknown section [[{}]] (known: global, {})",
            crate::escape::escape_field(section),
            names.join(", ")
        )
    })
}

/// A pane action by name, one that `pane` handles.
fn pane_action(pane: PaneId, name: String) -> Result<PaneAction, String> {
    let a = PaneAction::try_from(name)?;
    if PaneAction::of(pane).contains(&a) {
        Ok(a)
    } else {
        let known: Vec<&str> = PaneAction::of(pane).iter().map(|a| a.name()).collect();
        Err(format!(
            "the {} pane has no action \"{}\" (it has: {})",
            pane.title(),
            a.name(),
            known.join(", ")
        ))
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
}

fn parse_builtin(text: &str) -> Result<Keymap, String> {
    let file: FileSections = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    let mut km = Keymap {
        global: Vec::new(),
        panes: vec![Vec::new(); PaneId::ALL.len()],
    };
    for (section, entries) in file {
        let pane = section_pane(&section)?;
        for spanned in entries {
            let line = line_of(text, spanned.span().start);
            let at = |e: String| format!("line {line}: {e}");
            let e = spanned.into_inner();
            let keys = e.key.into_vec();
            for k in &keys {
                check_key(k).map_err(at)?;
            }
            let desc = e.desc.ok_or_else(|| at("no desc".into()))?;
            match pane {
                None => {
                    let [key] = <[String; 1]>::try_from(keys)
                        .map_err(|_| at("a global action takes one key".into()))?;
                    km.global.push(Binding {
                        key,
                        action: Action::try_from(e.action).map_err(at)?,
                        desc,
                    });
                }
                Some(id) => km.panes[id.index()].push(PaneBinding {
                    keys,
                    action: pane_action(id, e.action).map_err(at)?,
                    desc,
                    bar: e.bar,
                }),
            }
        }
    }
    km.check_unique(&|_, _| None)?;
    Ok(km)
}

fn check_key(key: &str) -> Result<(), String> {
    match key_event(key)
        .map(|_| ())
        .or_else(|| key_sequence(key).map(|_| ()))
    {
        Some(()) => Ok(()),
        None => Err(format!(
            "unknown key \"{}\" (a character, or tab, backtab, esc, enter, space, up, down, \
             left, right, pageup, pagedown, home, end, f1 ... f12, or two characters typed one after \
             the other, as gt)",
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
    // Ctrl with a letter ("ctrl-o"); other Ctrl and Alt combinations are not bindable.
    if key.modifiers == KeyModifiers::CONTROL
        && let KeyCode::Char(c) = key.code
        && c.is_ascii_alphabetic()
    {
        return Some(format!("ctrl-{}", c.to_ascii_lowercase()));
    }
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    Some(match key.code {
        KeyCode::Backspace => "backspace".into(),
        KeyCode::Char(' ') => "space".into(),
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
    if let Some(c) = name.strip_prefix("ctrl-") {
        let mut chars = c.chars();
        return match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_lowercase() => {
                Some(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
            }
            _ => None,
        };
    }
    let mut chars = name.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_control() && c != ' ' => KeyCode::Char(c),
        _ => match name {
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
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

/// The two key presses of a sequence name ("gt": `g` then `t`, vim's tab keys): two printable
/// characters that are no key name of their own; `None` for anything else.
pub fn key_sequence(name: &str) -> Option<[KeyEvent; 2]> {
    if key_event(name).is_some() {
        return None;
    }
    let mut chars = name.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (Some(a), Some(b), None) if a.is_ascii_graphic() && b.is_ascii_graphic() => Some([
            KeyEvent::new(KeyCode::Char(a), KeyModifiers::NONE),
            KeyEvent::new(KeyCode::Char(b), KeyModifiers::NONE),
        ]),
        _ => None,
    }
}

/// A keymap key name as users type it, for the help, the tab bar and the hint bar: "Tab",
/// "Shift-Tab", "PgDn", "Enter", "↓", "q".
pub fn label(name: &str) -> String {
    match name {
        "backtab" => "Shift-Tab".into(),
        n if n.starts_with("ctrl-") => format!("Ctrl-{}", n[5..].to_ascii_uppercase()),
        "pageup" => "PgUp".into(),
        "pagedown" => "PgDn".into(),
        "up" => "↑".into(),
        "down" => "↓".into(),
        "left" => "←".into(),
        "right" => "→".into(),
        n if key_sequence(n).is_some() => n.to_string(),
        n if n.chars().count() > 1 => {
            let mut c = n.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        }
        n => n.to_string(),
    }
}

/// A key press as users name it, modifiers included ("Ctrl-x", "Alt-Enter", "Shift-Tab").
pub fn key_label(key: &KeyEvent) -> String {
    let mut out = String::new();
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        out.push_str("Ctrl-");
    }
    if key.modifiers.contains(KeyModifiers::ALT) {
        out.push_str("Alt-");
    }
    let plain = KeyEvent::new(key.code, KeyModifiers::NONE);
    let name = match key.code {
        KeyCode::BackTab => Some("backtab".to_string()),
        _ => key_name(&plain),
    };
    match name {
        Some(n) => out.push_str(&label(&n)),
        None => out.push_str(&format!("{:?}", key.code)),
    }
    out
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
            match key_sequence(&b.key) {
                // A sequence's keys, named in turn, spell it.
                Some([a, c]) => assert_eq!(
                    format!("{}{}", key_name(&a).expect("a"), key_name(&c).expect("c")),
                    b.key
                ),
                None => {
                    let ev = key_event(&b.key).expect("a key");
                    assert_eq!(key_name(&ev).as_deref(), Some(b.key.as_str()));
                }
            }
        }
        // gt and gT are sequences; f1, tab and single characters are not.
        assert!(key_sequence("gt").is_some() && key_sequence("gT").is_some());
        assert!(key_sequence("f1").is_none() && key_sequence("tab").is_none());
        assert!(key_sequence("g").is_none() && key_sequence("gtx").is_none());
        let g = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE);
        let t = KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE);
        assert!(km.starts_sequence(&g) && !km.starts_sequence(&t));
        assert_eq!(km.sequence_action(&g, &t), Some(Action::NextTab));
    }

    #[test]
    fn overrides_rebind_and_bad_files_say_why() {
        let km = Keymap::with_overrides(
            "[[global]]\nkey = \"Q\"\naction = \"quit\"\n\n[[global]]\nkey = \"f2\"\naction = \"pane:dump\"\ndesc = \"the dump\"\n",
        )
        .expect("valid overrides");
        assert_eq!(km.key_for(Action::Quit), Some("Q"));
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
                "[[global]]\nkey = \"meta-x\"\naction = \"quit\"\n",
                "unknown key \"meta-x\"",
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
