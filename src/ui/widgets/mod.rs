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

/// A table's box: drawn around what `draw` puts inside it, with a title that counts what the
/// table holds and says when some rows are off screen ("Stack (39 frames, 1-5 shown ↓)"). An
/// empty table's box collapses to its title line, which says why it is empty.
pub struct TableBox<'a> {
    /// The box's name ("Stack").
    name: &'a str,
    /// What the count counts ("frames"; empty for a bare number).
    noun: &'a str,
    /// After the count in the title ("; s: sort by name").
    tail: &'a str,
    /// After the parenthesis (": Enter opens a file's pane").
    after: &'a str,
    active: bool,
    /// How many rows the table holds.
    len: usize,
    /// Why an empty table is empty.
    empty: &'a str,
}

impl<'a> TableBox<'a> {
    /// The box of a table named `name` holding `len` rows, which says `empty` when it holds
    /// none; active (its border lit), no noun, nothing after the count.
    pub fn new(name: &'a str, len: usize, empty: &'a str) -> TableBox<'a> {
        TableBox {
            name,
            noun: "",
            tail: "",
            after: "",
            active: true,
            len,
            empty,
        }
    }

    pub fn noun(mut self, noun: &'a str) -> TableBox<'a> {
        self.noun = noun;
        self
    }

    pub fn tail(mut self, tail: &'a str) -> TableBox<'a> {
        self.tail = tail;
        self
    }

    pub fn after(mut self, after: &'a str) -> TableBox<'a> {
        self.after = after;
        self
    }

    pub fn active(mut self, active: bool) -> TableBox<'a> {
        self.active = active;
        self
    }

    /// Draw the box and `table` (with its header) inside it: the rows of `cursor`'s window.
    pub fn table<S: table::RowSource + ?Sized>(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        table: table::DataTable,
        cursor: &mut cursor::Cursor,
        source: &S,
    ) {
        self.render(frame, area, theme, |frame, inner| {
            table
                .header(theme.header)
                .render(frame, inner, cursor, source)
                .shown
        });
    }

    /// Draw the box in `area` and, unless the table is empty, the table inside it with
    /// `draw`, which returns the rows it showed.
    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        draw: impl FnOnce(&mut Frame, Rect) -> std::ops::Range<usize>,
    ) {
        let noun = if self.noun.is_empty() {
            String::new()
        } else {
            format!(" {}", self.noun)
        };
        if self.len == 0 {
            let title = format!("{} (0{noun}): {}", self.name, self.empty);
            let line = Rect {
                height: area.height.min(1),
                ..area
            };
            frame.render_widget(
                block(&title, theme, self.active).borders(Borders::TOP),
                line,
            );
            return;
        }
        let b = block("", theme, self.active);
        let inner = b.inner(area);
        frame.render_widget(b, area);
        let shown = draw(frame, inner);
        let count = count_shown(self.len, shown, theme.ascii);
        let count = match count.split_once(',') {
            Some((n, rest)) => format!("{n}{noun},{rest}"),
            None => format!("{count}{noun}"),
        };
        let title = format!("{} ({count}{}){}", self.name, self.tail, self.after);
        // Only the top line is redrawn with the title: the table may have marked the left
        // border (the cursor's mark).
        let mut scratch = ratatui::buffer::Buffer::empty(area);
        ratatui::widgets::Widget::render(block(&title, theme, self.active), area, &mut scratch);
        let buf = frame.buffer_mut();
        for x in area.left()..area.right() {
            if area.height > 0 {
                buf[(x, area.y)] = scratch[(x, area.y)].clone();
            }
        }
    }
}

/// The rows a box needs for a table of `rows` rows: its borders and header line, and one
/// more line per `extra`; an empty table's box needs only its title line (and the extras).
pub fn table_box_need(rows: usize, extra: u16) -> u16 {
    if rows == 0 {
        return extra.saturating_add(1);
    }
    u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .saturating_add(3 + extra)
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
    table::fit_middle(s, width)
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
    fn an_empty_table_box_collapses_to_its_title_line() {
        use ratatui::{Terminal, backend::TestBackend};
        let theme = Theme::ansi16();
        let draw = |len: usize, shown: std::ops::Range<usize>| {
            let mut t = Terminal::new(TestBackend::new(60, 6)).expect("terminal");
            t.draw(|f| {
                let b = TableBox::new("Stack", len, "the unwinder found no frames")
                    .noun("frames")
                    .tail("; s: sort")
                    .active(false);
                b.render(f, f.area(), &theme, |f, inner| {
                    f.render_widget(Paragraph::new("row"), inner);
                    shown.clone()
                });
            })
            .expect("draw");
            let buf = t.backend().buffer().clone();
            (0..6)
                .map(|y| (0..60).map(|x| buf[(x, y)].symbol()).collect::<String>())
                .collect::<Vec<_>>()
        };
        let empty = draw(0, 0..0);
        assert!(
            empty[0].contains("Stack (0 frames): the unwinder found no frames"),
            "{empty:?}"
        );
        // One line: nothing under the title, not even a border.
        assert!(empty[1..].iter().all(|l| l.trim().is_empty()), "{empty:?}");
        let full = draw(10, 0..3);
        assert!(
            full[0].contains("Stack (10 frames, 1-3 shown ↓; s: sort)"),
            "{full:?}"
        );
        assert!(
            full[1].contains("row") && full[5].starts_with('└'),
            "{full:?}"
        );
        assert_eq!(table_box_need(0, 0), 1);
        assert_eq!(table_box_need(0, 1), 2);
        assert_eq!(table_box_need(4, 1), 8);
    }

    #[test]
    fn a_path_cut_in_the_middle_keeps_both_ends() {
        let p = r"Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}/Package_1257_for_KB5036899~31bf3856ad364e35~amd64~~10.0.1.27.cat";
        let s = fit_middle(p, 60);
        assert_eq!(s.chars().count(), 60);
        assert!(s.starts_with("Windows/System32/CatRoo"), "{s}");
        assert!(s.ends_with("~amd64~~10.0.1.27.cat"), "{s}");
        assert_eq!(fit_middle("short", 60), "short");
        assert_eq!(fit_middle(p, 5), "~.cat");
    }
}
