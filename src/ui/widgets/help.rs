//! The help overlay: generated from the keymap (the global keys and the active pane's section),
//! never by hand; keys are named as users type them (`Shift-Tab`, `PgDn`, `Enter`).

use super::super::keymap::Keymap;
use super::super::pane::Hint;
use super::super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
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
        out.push(key_line(&h.key, &h.desc, theme));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Everywhere", theme.header));
    for h in keymap.global_hints() {
        out.push(key_line(&h.key, &h.desc, theme));
    }
    out.push(Line::raw(""));
    out.push(Line::styled(
        format!("Esc or {} closes this help", help_key(keymap)),
        theme.dim,
    ));
    out
}

/// The key that opens (and closes) the help, as the user reads it.
fn help_key(keymap: &Keymap) -> String {
    keymap.label_for(super::super::action::Action::Help)
}

fn key_line(key: &str, desc: &str, theme: &Theme) -> Line<'static> {
    let (key, desc) = if theme.ascii {
        (ascii_glyphs(key), ascii_glyphs(desc))
    } else {
        (key.to_string(), desc.to_string())
    };
    // A key wider than its column still keeps a space before the description.
    let key = if key.chars().count() >= KEY_W - 2 {
        format!("{key} ")
    } else {
        key
    };
    Line::from(vec![
        Span::styled(format!("  {key:<w$}", w = KEY_W - 2), theme.key),
        Span::raw(desc),
    ])
}

/// Key and description text for `--ascii` terminals: arrow and other non-ASCII glyphs in
/// their ASCII spelling (`↑` Up, `←` Left, `⏎` Enter, `…` ...).
pub fn ascii_glyphs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '↑' => out.push_str("Up"),
            '↓' => out.push_str("Down"),
            '←' => out.push_str("Left"),
            '→' => out.push_str("Right"),
            '⏎' | '↵' => out.push_str("Enter"),
            '…' => out.push_str("..."),
            '—' | '–' => out.push('-'),
            '·' | '•' => out.push('.'),
            '▶' | '►' => out.push('>'),
            '◀' | '◄' => out.push('<'),
            c if c.is_ascii() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// Draw the overlay centred over `area`: one column when it fits, else the pane's keys on the
/// left (descriptions wrapped) and the global keys on the right, so 80x24 shows every key.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    pane_title: &str,
    hints: &[Hint],
    keymap: &Keymap,
    theme: &Theme,
) {
    let single = lines(pane_title, hints, keymap, theme);
    if single.len() as u16 + 2 <= area.height {
        let inner = draw_block(frame, area, 60, single.len() as u16, "Help", theme);
        frame.render_widget(Paragraph::new(single), inner);
        return;
    }
    let mut right = vec![Line::styled("Everywhere", theme.header)];
    for h in keymap.global_hints() {
        right.push(key_line(&h.key, &h.desc, theme));
    }
    // The closing keys go in the frame's title: every row of a 24-line terminal holds keys.
    let title = format!("Help (Esc or {} closes)", help_key(keymap));
    let right_w = right.iter().map(Line::width).max().unwrap_or(0) as u16 + 1;
    let width = 100.min(area.width);
    let left_w = width.saturating_sub(2 + right_w + 1);
    let desc_w = (left_w as usize).saturating_sub(KEY_W).max(8);
    let mut left = vec![Line::styled(format!("{pane_title} pane"), theme.header)];
    for h in hints {
        for (i, part) in wrap(&h.desc, desc_w).into_iter().enumerate() {
            let key = if i == 0 { h.key.as_str() } else { "" };
            left.push(key_line(key, &part, theme));
        }
    }
    let rows = left.len().max(right.len()) as u16;
    let popup = draw_block(frame, area, width, rows, &title, theme);
    let [l, _, r] = Layout::horizontal([
        Constraint::Length(left_w),
        Constraint::Length(1),
        Constraint::Length(right_w),
    ])
    .areas(popup);
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(Paragraph::new(right), r);
}

/// The width of the key column.
const KEY_W: usize = 14;

/// Greedy word wrap to `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push(line);
    out
}

/// Clear and frame a centred popup of `width` and `rows` inner rows; returns its inner area.
fn draw_block(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    rows: u16,
    title: &str,
    theme: &Theme,
) -> Rect {
    let popup = super::popup::centred(area, width, rows.saturating_add(2));
    frame.render_widget(Clear, popup);
    let block = super::block(title, theme, true);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    inner
}

#[cfg(test)]
mod tests {
    use crate::ui::keymap::Keymap;
    use crate::ui::pane::hint;
    use crate::ui::theme::Theme;

    /// `--ascii`: the overlay, single-column or split, holds no arrow (or other non-ASCII) glyph.
    #[test]
    fn ascii_help_has_no_arrow_glyphs() {
        let hints = [
            hint("j/k ↑/↓", "move"),
            hint("h/l ←/→", "findings/files/problems"),
            hint("Enter", "open … the evidence — scrolled"),
        ];
        let keymap = Keymap::builtin();
        for (w, h) in [(80u16, 24u16), (120, 60)] {
            let mut term =
                ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("term");
            term.draw(|f| {
                super::render(
                    f,
                    f.area(),
                    "Overview",
                    &hints,
                    &keymap,
                    &Theme::monochrome().with_ascii(),
                )
            })
            .expect("draw");
            let text: String = term
                .backend()
                .buffer()
                .content()
                .iter()
                .map(|c| c.symbol().to_string())
                .collect();
            assert!(text.is_ascii(), "{w}x{h}: {text}");
            assert!(text.contains("j/k Up/Down"), "{w}x{h}");
        }
        assert_eq!(super::ascii_glyphs("s/m ←/→"), "s/m Left/Right");
    }

    #[test]
    fn wraps_on_words() {
        assert_eq!(
            super::wrap("search the stack, then the modules", 16),
            ["search the", "stack, then the", "modules"]
        );
        assert_eq!(super::wrap("short", 16), ["short"]);
    }
}
