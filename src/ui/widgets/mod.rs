//! Widgets shared by the panes.

pub mod cursor;
pub mod help;
pub mod input;
pub mod popup;
pub mod search;
pub mod table;

use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// A bordered block in the theme's style.
pub fn block(title: &str, theme: &Theme, active: bool) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_set(theme.border_set)
        .border_style(if active {
            theme.border_active
        } else {
            theme.border
        })
        .title(Span::styled(format!(" {title} "), theme.title))
}

/// What a pane shows when the case lacks its artefact: which file it needs and how to get it.
pub fn missing(frame: &mut Frame, area: Rect, title: &str, needs: &[&str], theme: &Theme) {
    let mut lines = vec![
        Line::styled(format!("This case has no {title} artefact."), theme.warn),
        Line::raw(""),
    ];
    lines.push(Line::raw("This pane needs one of:"));
    for n in needs {
        lines.push(Line::from(vec![
            Span::raw("  - "),
            Span::styled(n.to_string(), theme.key),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Copy the file into the case folder (zipped is fine) and reopen it: bsodwb CASE",
        theme.dim,
    ));
    let p = Paragraph::new(lines)
        .block(block(title, theme, true))
        .wrap(Wrap { trim: false });
    frame.render_widget(p, area);
}

/// Truncate to `width` display columns (a CJK character is two, a combining mark none),
/// marking a cut with `~`.
pub fn fit(s: &str, width: usize) -> String {
    table::fit(s, width)
}
