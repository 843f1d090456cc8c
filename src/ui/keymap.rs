//! The keymap, read from `assets/keymap.toml` (compiled in): key -> global action + description.

use super::action::Action;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

const KEYMAP_TOML: &str = include_str!("../../assets/keymap.toml");

#[derive(Debug, Deserialize)]
struct KeymapFile {
    global: Vec<Binding>,
}

/// One binding of the keymap file.
#[derive(Clone, Debug, Deserialize)]
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
        match toml::from_str::<KeymapFile>(KEYMAP_TOML) {
            Ok(f) => Keymap { global: f.global },
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

    /// The global action bound to a key press, if any.
    pub fn action_for(&self, key: &KeyEvent) -> Option<Action> {
        let name = key_name(key)?;
        self.global.iter().find(|b| b.key == name).map(|b| b.action)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_keymap_parses_and_binds_every_global_action() {
        let f: KeymapFile = toml::from_str(KEYMAP_TOML).expect("assets/keymap.toml parses");
        let actions: Vec<Action> = f.global.iter().map(|b| b.action).collect();
        for a in [
            Action::NextPane,
            Action::PrevPane,
            Action::Pane1,
            Action::Pane2,
            Action::Pane3,
            Action::Pane4,
            Action::Pane5,
            Action::Pane6,
            Action::ClearFocus,
            Action::Help,
            Action::Quit,
        ] {
            assert!(actions.contains(&a), "{a:?} has no binding");
        }
        let km = Keymap::builtin();
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action_for(&q), Some(Action::Quit));
        let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
        assert_eq!(km.action_for(&tab), Some(Action::NextPane));
        let ctrl_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(km.action_for(&ctrl_q), None);
    }
}
