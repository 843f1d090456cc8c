//! A scrolling popup: a bordered box over a pane with a title, wrapped lines, a scroll offset
//! clamped to the text, the rows shown in the title and a "more below" mark on the bottom
//! border while text remains under the fold.

use super::super::theme::Theme;
use crate::ui::action::PaneAction;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use unicode_width::UnicodeWidthChar;

/// Where a popup is scrolled to: its first shown row and its rows per page at the last render.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PopupScroll {
    pub top: usize,
    pub page: usize,
}

impl PopupScroll {
    /// Apply a scroll action (down, up, page, first, last: the pane's movement keys, as the
    /// keymap binds them); false for any other action. The next render clamps the offset.
    pub fn act(&mut self, action: PaneAction) -> bool {
        let page = self.page.max(1);
        match action {
            PaneAction::Down => self.top = self.top.saturating_add(1),
            PaneAction::Up => self.top = self.top.saturating_sub(1),
            PaneAction::PageDown => self.top = self.top.saturating_add(page),
            PaneAction::PageUp => self.top = self.top.saturating_sub(page),
            PaneAction::First => self.top = 0,
            PaneAction::Last => self.top = usize::MAX,
            _ => return false,
        }
        true
    }
}

/// A small list to pick from, centred over `area` (the column chooser, the Timeline's sort
/// and value pickers): as wide as its longest row or title (at most 90 columns and the area),
/// row `at` selected, a long row cut in the middle.
pub fn choice_list(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    rows: &[String],
    at: usize,
    theme: &Theme,
) {
    let longest = rows
        .iter()
        .map(|r| r.chars().count())
        .chain([title.chars().count() + 2])
        .max()
        .unwrap_or(0);
    let width = u16::try_from(longest + 2)
        .unwrap_or(u16::MAX)
        .min(area.width.saturating_sub(4))
        .min(90);
    let rect = centred(
        area,
        width,
        u16::try_from(rows.len() + 2).unwrap_or(u16::MAX),
    );
    frame.render_widget(Clear, rect);
    let inner_w = usize::from(width.saturating_sub(2));
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let style = if i == at { theme.selected } else { theme.text };
            Line::styled(super::fit_middle(r, inner_w), style)
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(super::block(title, theme, true)),
        rect,
    );
}

/// A `width` x `height` rect centred in `area` (both cut to it).
pub fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// Greedy word wrap to `width` display columns; a word longer than a line is cut across lines.
pub fn wrap_text(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    let mut len = 0usize;
    for word in text.split(' ') {
        let word_w: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
        if len > 0 && len + 1 + word_w > width {
            out.push(std::mem::take(&mut line));
            len = 0;
        }
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        for c in word.chars() {
            let w = c.width().unwrap_or(0);
            if len + w > width && len > 0 {
                out.push(std::mem::take(&mut line));
                len = 0;
            }
            line.push(c);
            len += w;
        }
    }
    out.push(line);
    out
}

/// Draw the popup in `rect`: `lines` wrapped to its width and scrolled to `scroll.top`
/// (clamped); the title says which rows show when they do not all fit.
pub fn render(
    frame: &mut Frame,
    rect: Rect,
    title: &str,
    lines: &[(String, Style)],
    theme: &Theme,
    scroll: &mut PopupScroll,
) {
    let inner_w = usize::from(rect.width.saturating_sub(2));
    let rows: Vec<Line<'static>> = lines
        .iter()
        .flat_map(|(text, style)| {
            wrap_text(text, inner_w)
                .into_iter()
                .map(move |l| Line::styled(l, *style))
        })
        .collect();
    render_rows(frame, rect, title, rows, theme, scroll);
}

/// Wrap a line of several styles to `width` display columns, each piece keeping its style.
pub fn wrap_line(line: &Line<'_>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut out = vec![Line::default().style(line.style)];
    let mut used = 0usize;
    for span in &line.spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width && used > 0 {
                if let Some(last) = out.last_mut() {
                    last.spans
                        .push(Span::styled(std::mem::take(&mut piece), span.style));
                }
                out.push(Line::default().style(line.style));
                used = 0;
            }
            piece.push(c);
            used += w;
        }
        if let Some(last) = out.last_mut() {
            last.spans.push(Span::styled(piece, span.style));
        }
    }
    out
}

/// Draw rows already cut to the popup's width (styled lines, e.g. from [`wrap_line`]),
/// scrolled to `scroll.top` (clamped), with the rows shown in the title and a "more below"
/// mark while text remains under the fold.
pub fn render_rows(
    frame: &mut Frame,
    rect: Rect,
    title: &str,
    rows: Vec<Line<'static>>,
    theme: &Theme,
    scroll: &mut PopupScroll,
) {
    let visible = usize::from(rect.height.saturating_sub(2));
    let total = rows.len();
    scroll.page = visible.max(1);
    scroll.top = scroll.top.min(total.saturating_sub(visible));
    let shown = total.min(scroll.top + visible);
    let title = if total > visible {
        format!(
            "{title} {}-{} of {total} (j/k PgDn/PgUp g/G)",
            scroll.top + 1,
            shown
        )
    } else {
        title.to_string()
    };
    let mut block = super::block(&title, theme, true);
    if shown < total {
        let arrow = if theme.ascii { "v" } else { "↓" };
        block = block.title_bottom(
            Line::from(Span::styled(format!(" {arrow} more below "), theme.dim)).right_aligned(),
        );
    }
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(rows[scroll.top..shown].to_vec()).block(block),
        rect,
    );
}

/// A detail view: a title and label/value lines (an event's fields, a `sigcheck -i` report, an
/// `lmvm` listing), built by the library and shown in a popup that scrolls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detail {
    pub title: String,
    pub fields: Vec<(String, String)>,
    pub scroll: PopupScroll,
}

impl Detail {
    pub fn new(title: impl Into<String>, fields: Vec<(String, String)>) -> Detail {
        Detail {
            title: title.into(),
            fields,
            scroll: PopupScroll::default(),
        }
    }

    /// The view as text, one `Label: value` a line (what `y` copies and a note holds).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.fields {
            if k.is_empty() {
                out.push_str(&format!("  {v}\n"));
            } else {
                out.push_str(&format!("{k}: {v}\n"));
            }
        }
        out
    }

    /// Draw the view over `area` (nearly all of it): each label in the header style, its value
    /// wrapped under the popup's width; case text escaped.
    pub fn render(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(4).min(120);
        let h = area.height.saturating_sub(2);
        let rect = centred(area, w, h);
        let iw = usize::from(w.saturating_sub(2));
        let label_w = self
            .fields
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0)
            .min(18);
        let mut rows: Vec<Line<'static>> = Vec::new();
        for (k, v) in &self.fields {
            let value = crate::escape::escape_field(v).into_owned();
            let label = crate::escape::escape_field(k).into_owned();
            let lead = format!("{label:<label_w$} ");
            let lead_w = lead.chars().count();
            // The value wraps under itself (a hanging indent), unless the label leaves it no room.
            if lead_w + 16 <= iw {
                for (i, part) in wrap_text(&value, iw - lead_w).into_iter().enumerate() {
                    let head = if i == 0 {
                        Span::styled(lead.clone(), theme.header)
                    } else {
                        Span::raw(" ".repeat(lead_w))
                    };
                    rows.push(Line::from(vec![head, Span::styled(part, theme.text)]));
                }
            } else {
                let line = Line::from(vec![
                    Span::styled(lead, theme.header),
                    Span::styled(value, theme.text),
                ]);
                rows.extend(wrap_line(&line, iw));
            }
        }
        // "Esc closes" while the title leaves room for the rows shown ("1-18 of 30 ...").
        let title = if self.title.chars().count() + 50 <= usize::from(w) {
            format!("{} (Esc closes)", self.title)
        } else {
            self.title.clone()
        };
        render_rows(frame, rect, &title, rows, theme, &mut self.scroll);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    #[test]
    fn a_styled_line_wraps_with_its_styles() {
        let bold = Style::new().add_modifier(ratatui::style::Modifier::BOLD);
        let line = Line::from(vec![
            Span::styled("Path ", bold),
            Span::raw("C:\\Windows\\x"),
        ]);
        let rows = wrap_line(&line, 8);
        let text: Vec<String> = rows.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, ["Path C:\\", "Windows\\", "x"]);
        assert_eq!(rows[0].spans[0].style, bold);
        assert_eq!(rows[1].spans[0].style, Style::new());
    }

    #[test]
    fn wraps_words_and_cuts_long_ones() {
        assert_eq!(wrap_text("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap_text("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap_text("x abcdefgh", 4), ["x", "abcd", "efgh"]);
        assert_eq!(wrap_text("", 4), [""]);
        // Display columns: two CJK characters fill a line of four.
        assert_eq!(wrap_text("驱动程序", 4), ["驱动", "程序"]);
    }

    #[test]
    fn scrolls_clamps_and_marks_more_below() {
        let lines: Vec<(String, Style)> = (1..=30)
            .map(|i| (format!("line {i}"), Style::new()))
            .collect();
        let mut scroll = PopupScroll::default();
        let draw = |scroll: &mut PopupScroll| -> String {
            let mut t = Terminal::new(TestBackend::new(40, 12)).expect("terminal");
            t.draw(|f| {
                let rect = centred(f.area(), 30, 10);
                render(f, rect, "Event", &lines, &Theme::ansi16(), scroll);
            })
            .expect("draw");
            format!("{}", t.backend())
        };
        let s = draw(&mut scroll);
        assert!(s.contains("Event 1-8 of 30"), "{s}");
        assert!(s.contains("more below"), "{s}");
        assert_eq!(scroll.page, 8);
        assert!(scroll.act(PaneAction::PageDown));
        assert_eq!(scroll.top, 8);
        assert!(scroll.act(PaneAction::Last));
        let s = draw(&mut scroll);
        assert_eq!(scroll.top, 22, "clamped to the last page");
        assert!(
            s.contains("Event 23-30 of 30") && !s.contains("more below"),
            "{s}"
        );
        assert!(scroll.act(PaneAction::First));
        assert_eq!(scroll.top, 0);
        assert!(!scroll.act(PaneAction::Sort));
    }
}
