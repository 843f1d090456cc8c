//! The terminal workbench: panes over a loaded case, one driver focus shared by all.
//!
//! `app` holds the state and the event handling, `keymap` maps keys to [`action::Action`]s from
//! `assets/keymap.toml`, `panes` has one file per pane, `widgets` the shared pieces, `theme` the
//! style slots. Loading runs on a worker thread; the UI thread only drains messages and draws.

pub mod action;
pub mod app;
pub mod keymap;
pub mod pane;
pub mod panes;
pub mod theme;
pub mod widgets;

pub use app::{App, PANE_TITLES};

use ratatui::crossterm::event::{self, Event};
use std::path::PathBuf;
use std::time::Duration;

/// Run the workbench on a case folder (`None`: the empty screen) until the user quits.
/// The terminal is restored on every exit path, panics included (ratatui's init installs the hook).
pub fn run(case: Option<PathBuf>, ascii: bool) -> std::io::Result<()> {
    let theme = theme::Theme::from_env(ascii);
    let mut app = match case {
        Some(root) => App::loading(root, theme),
        None => App::new(crate::case::Case::empty(), theme),
    };
    let mut terminal = ratatui::init();
    // Pastes arrive as one event (inserted at once), not as thousands of key presses.
    let _ = ratatui::crossterm::execute!(std::io::stdout(), event::EnableBracketedPaste);
    let result = event_loop(&mut terminal, &mut app);
    let _ = ratatui::crossterm::execute!(std::io::stdout(), event::DisableBracketedPaste);
    ratatui::restore();
    result
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> std::io::Result<()> {
    let mut dirty = true;
    while !app.quit {
        dirty |= app.tick();
        if dirty {
            terminal.draw(|f| app.draw(f))?;
            dirty = false;
        }
        // Short polls keep progress and worker results flowing without busy-waiting.
        if event::poll(Duration::from_millis(40))? {
            // Drain everything pending, then draw once (coalesced rendering).
            loop {
                match event::read()? {
                    Event::Key(k) => app.handle_key(k),
                    Event::Paste(text) => app.handle_paste(&text),
                    Event::Resize(..) => {}
                    _ => {}
                }
                dirty = true;
                if app.quit || !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        }
    }
    Ok(())
}
