//! Benchmark: a bracketed paste into the Notes editor, as the terminal delivers it (one
//! `Event::Paste` with CR line ends), through the app, then the save.
//!
//!     cargo run --release --example bench_notes_paste [-- SIZE_KIB]

use bsod_workbench::case::Case;
use bsod_workbench::ui::App;
use bsod_workbench::ui::theme::Theme;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Instant;

fn main() {
    let kib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::tempdir().expect("tempdir");
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    let mut app = App::new(case, Theme::ansi16());
    let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
    app.handle_key(key(KeyCode::Char('6')));
    app.handle_key(key(KeyCode::Char('i')));
    let line = format!("{}\r", "x".repeat(63));
    let text = line.repeat(kib * 16);
    let t = Instant::now();
    app.handle_paste(&text);
    let pasted = t.elapsed();
    let t = Instant::now();
    app.handle_key(key(KeyCode::Esc));
    let saved = t.elapsed();
    let size = std::fs::metadata(dir.path().join("bsodwb-notes.md"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "paste of {} KiB ({} lines): {:.1} ms; save of {size} bytes: {:.1} ms",
        kib,
        kib * 16,
        pasted.as_secs_f64() * 1e3,
        saved.as_secs_f64() * 1e3
    );
}
