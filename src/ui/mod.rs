//! The terminal workbench: panes over a loaded case, one driver focus shared by all.
//!
//! `app` holds the state and the event handling, `pane_id` the panes in tab order, `keymap` maps
//! keys to global [`action::Action`]s and each pane's [`action::PaneAction`]s from
//! `assets/keymap.toml` and the user's `keymap.toml`, `panes` has one file per pane, `widgets` the shared pieces, `theme` the
//! style slots. Loading runs on a worker thread; the UI thread only drains messages and draws.

pub mod action;
pub mod app;
pub mod clipboard;
pub mod keymap;
pub mod pane;
pub mod pane_id;
pub mod panes;
pub mod theme;
pub mod widgets;

pub use app::App;
pub use pane_id::PaneId;

use ratatui::crossterm::event::{self, Event};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

/// The signal that asked the workbench to quit (0: none); the event loop polls it.
static QUIT_SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Whether the workbench captured the mouse (`--mouse`), to release it on restore.
static MOUSE: AtomicBool = AtomicBool::new(false);
/// Whether the terminal is in the workbench's mode (raw, alternate screen).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Ask the running workbench to quit because of signal `signo` (from a signal-watching thread).
pub fn request_quit(signo: i32) {
    QUIT_SIGNAL.store(signo, Ordering::SeqCst);
}

/// The signal that asked the workbench to quit, if one did.
pub fn quit_signal() -> Option<i32> {
    Some(QUIT_SIGNAL.load(Ordering::SeqCst)).filter(|s| *s != 0)
}

/// Whether the workbench still holds the terminal.
pub fn is_active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// Give the terminal back (leave the alternate screen, show the cursor, cooked mode), as on a
/// panic. Does nothing when the workbench does not hold the terminal.
pub fn restore_terminal() {
    // One restorer at a time, and `is_active` turns false only once the terminal is back, so a
    // signal thread waiting on it never exits the process in the middle of a restore.
    static RESTORING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = RESTORING.lock();
    if ACTIVE.load(Ordering::SeqCst) {
        let _ = ratatui::crossterm::execute!(std::io::stdout(), event::DisableBracketedPaste);
        if MOUSE.swap(false, Ordering::SeqCst) {
            let _ = ratatui::crossterm::execute!(std::io::stdout(), event::DisableMouseCapture);
        }
        ratatui::restore();
        ACTIVE.store(false, Ordering::SeqCst);
    }
}

/// Run the workbench on a case folder (`None`: the empty screen) until the user quits.
/// The terminal is restored on every exit path, panics included (ratatui's init installs the hook).
/// How the workbench draws and listens.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Borders and markers in ASCII.
    pub ascii: bool,
    /// Mouse-wheel scrolling (captures the mouse, so the terminal's own selection needs Shift).
    pub mouse: bool,
}

pub fn run(case: Option<PathBuf>, options: Options) -> std::io::Result<()> {
    let ascii = options.ascii;
    use std::io::IsTerminal;
    // Without a terminal (a pipe, cron, `ssh host bsodwb CASE` with no -t) there is nothing to
    // draw on: say what to run instead, before anything is loaded.
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(std::io::Error::other(
            "the workbench needs a terminal (stdin and stdout are not one); for a report \
             without one run `bsodwb analyze CASE` (or `--format json`), over ssh use `ssh -t`",
        ));
    }
    let theme = theme::Theme::from_env(ascii);
    let mut app = match case {
        Some(root) => App::loading(root, theme),
        None => App::new(crate::case::Case::empty(), theme),
    };
    // The user's key overrides; a bad file leaves the defaults and says so in the status line.
    let (keys, problem) = keymap::Keymap::load_user();
    keymap::set_current(keys.clone());
    app.keymap = keys;
    if problem.is_some() {
        app.message = problem;
    }
    let mut terminal = ratatui::try_init()?;
    // Pastes arrive as one event (inserted at once), not as thousands of key presses.
    let _ = ratatui::crossterm::execute!(std::io::stdout(), event::EnableBracketedPaste);
    if options.mouse {
        let _ = ratatui::crossterm::execute!(std::io::stdout(), event::EnableMouseCapture);
        MOUSE.store(true, Ordering::SeqCst);
    }
    ACTIVE.store(true, Ordering::SeqCst);
    // A panic on the main thread gives the terminal back whole (bracketed paste too) before the
    // message is printed.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("main") {
            restore_terminal();
        }
        previous(info);
    }));
    let result = event_loop(&mut terminal, &mut app);
    restore_terminal();
    result
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> std::io::Result<()> {
    let mut dirty = true;
    while !app.quit {
        if quit_signal().is_some() {
            break;
        }
        dirty |= app.tick();
        if dirty {
            terminal.draw(|f| app.draw(f))?;
            dirty = false;
        }
        // A copy (`y`, `Y`) goes to the terminal's clipboard between frames.
        if let Some(text) = app.take_clipboard() {
            use std::io::Write;
            let mut out = std::io::stdout();
            out.write_all(clipboard::osc52(&text).as_bytes())?;
            out.flush()?;
        }
        // Short polls keep progress and worker results flowing without busy-waiting.
        if event::poll(Duration::from_millis(40))? {
            // Drain everything pending, then draw once (coalesced rendering).
            loop {
                match event::read()? {
                    Event::Key(k) => app.handle_key(k),
                    Event::Paste(text) => app.handle_paste(&text),
                    // `--mouse`: the wheel moves the cursor as the arrow keys do.
                    Event::Mouse(m) => {
                        let code = match m.kind {
                            event::MouseEventKind::ScrollDown => Some(event::KeyCode::Down),
                            event::MouseEventKind::ScrollUp => Some(event::KeyCode::Up),
                            _ => None,
                        };
                        if let Some(code) = code {
                            app.handle_key(event::KeyEvent::new(code, event::KeyModifiers::NONE));
                        }
                    }
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
