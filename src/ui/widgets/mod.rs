//! Widgets shared by the panes.

pub mod chooser;
pub mod command;
pub mod cursor;
pub mod export;
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

/// A box title's count of what it holds: `"17"` when every row shows, `"17, 4-9 shown ↓"`
/// when some are above or below (`v`/`^` in ASCII).
pub fn count_shown(total: usize, shown: std::ops::Range<usize>, ascii: bool) -> String {
    if shown.start == 0 && shown.end >= total {
        return total.to_string();
    }
    let (down, up) = if ascii { ("v", "^") } else { ("↓", "↑") };
    let arrows = match (shown.start > 0, shown.end < total) {
        (true, true) => format!(" {up}{down}"),
        (true, false) => format!(" {up}"),
        (false, true) => format!(" {down}"),
        (false, false) => String::new(),
    };
    format!(
        "{total}, {}-{} shown{arrows}",
        shown.start + 1,
        shown.end.min(total)
    )
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

/// `s` in at most `width` characters, cut in the middle (`C:\Windows\Sys~\Package_1257.cat`):
/// for paths, whose start says where and whose end says what (CatRoot or servicing, which
/// catalog), so neither end is lost. Keeps a little more of the end than of the start.
pub fn fit_middle(s: &str, width: usize) -> String {
    let count = s.chars().count();
    if count <= width {
        return s.to_string();
    }
    if width < 8 {
        return fit(s, width);
    }
    let tail = (width - 1) * 3 / 5;
    let head = width - 1 - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('~');
    out.extend(s.chars().skip(count - tail));
    out
}

/// Truncate to `width` display columns (a CJK character is two, a combining mark none),
/// marking a cut with `~`.
pub fn fit(s: &str, width: usize) -> String {
    table::fit(s, width)
}

/// Rows for two stacked boxes that need `a` and `b` rows in `total`: a box that needs less
/// than half gets what it needs and the other the rest; when both need more, 3:2 as before.
pub fn share_rows(total: u16, a: u16, b: u16) -> (u16, u16) {
    let half = total / 2;
    let first = if a <= half {
        a
    } else if b <= total - half {
        total - b
    } else {
        total * 3 / 5
    };
    (first, total - first)
}

/// The rows a table box needs for `rows` rows: its borders and header line, and at least one
/// line for its "nothing here" text.
pub fn table_need(rows: usize) -> u16 {
    u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .max(1)
        .saturating_add(3)
}

#[cfg(test)]
mod fit_tests {
    use super::*;

    #[test]
    fn a_box_says_when_it_holds_more_than_it_shows() {
        assert_eq!(count_shown(3, 0..3, false), "3");
        assert_eq!(count_shown(4, 0..3, false), "4, 1-3 shown ↓");
        assert_eq!(count_shown(40, 10..20, true), "40, 11-20 shown ^v");
        assert_eq!(count_shown(40, 30..40, false), "40, 31-40 shown ↑");
    }

    #[test]
    fn a_path_cut_in_the_middle_keeps_both_ends() {
        let p = r"Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}/Package_1257_for_KB5036899~31bf3856ad364e35~amd64~~10.0.1.27.cat";
        let s = fit_middle(p, 60);
        assert_eq!(s.chars().count(), 60);
        assert!(s.starts_with("Windows/System32/CatRoo"), "{s}");
        assert!(s.ends_with("~amd64~~10.0.1.27.cat"), "{s}");
        assert_eq!(fit_middle("short", 60), "short");
        assert_eq!(fit_middle(p, 5), fit(p, 5));
    }
}
