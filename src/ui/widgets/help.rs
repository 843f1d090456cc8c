//! The help overlay: generated from the keymap and the active pane's hints, never by hand.

use super::super::keymap::Keymap;
use super::super::pane::Hint;
use super::super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

/// The lines of the overlay: the pane's keys first, then the global ones.
pub fn lines(
    pane_title: &str,
    hints: &[Hint],
    keymap: &Keymap,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut out = vec![Line::styled(format!("{pane_title} pane"), theme.header)];
    for h in hints {
        out.push(key_line(h.key, h.desc, theme));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Everywhere", theme.header));
    for b in &keymap.global {
        out.push(key_line(&b.key, &b.desc, theme));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Esc or ? closes this help", theme.dim));
    out
}

fn key_line(key: &str, desc: &str, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("  {key:<12}"), theme.key),
        Span::raw(desc.to_string()),
    ])
}

/// Draw the overlay centred over `area`.
pub fn render(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>, theme: &Theme) {
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = 60.min(area.width);
    let x = area.x + (area.width - width) / 2;
    let y = area.y + (area.height - height) / 2;
    let popup = Rect {
        x,
        y,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    let p = Paragraph::new(lines).block(super::block("Help", theme, true));
    frame.render_widget(p, popup);
}
