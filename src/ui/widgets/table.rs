//! One table widget for every pane: columns with a title, a width rule and a priority, rows
//! built by a [`RowSource`] only for the [`Cursor`]'s visible window, drawn through ratatui's
//! `Table`. Widths are display columns (a CJK character is two, a combining mark none), and a
//! cell longer than its column is cut with `~` (or keeps its end, for paths).

use super::cursor::Cursor;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Text};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use unicode_width::UnicodeWidthChar;

/// How wide a column is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// Exactly this many columns.
    Fixed(u16),
    /// At least this many columns, and a share (weight 1) of the width left over.
    Min(u16),
    /// A share, by weight, of the width left over (possibly none).
    Fill(u16),
}

/// Where a cell's text sits, and which end of a long text is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Align {
    #[default]
    Left,
    Right,
    /// Left-aligned, a long text cut in the middle so that both ends stay (a path's start
    /// says where, CatRoot or servicing; its end says which file).
    Path,
}

/// One column: its title, width rule, alignment and priority. When the columns do not fit, the
/// lowest priority goes first (the rightmost among equals); a column of priority
/// [`Column::KEEP`] is never dropped.
#[derive(Clone, Debug)]
pub struct Column {
    pub title: String,
    /// The title shown when the whole one does not fit ("Op" for "Operation"): a header is
    /// shortened on purpose, never cut mid-word.
    pub short: Option<String>,
    pub width: Width,
    pub align: Align,
    pub priority: u8,
}

impl Column {
    /// The priority of a column that is never dropped.
    pub const KEEP: u8 = u8::MAX;

    pub fn new(title: impl Into<String>, width: Width) -> Column {
        Column {
            title: title.into(),
            short: None,
            width,
            align: Align::Left,
            priority: Column::KEEP,
        }
    }

    pub fn fixed(title: impl Into<String>, width: u16) -> Column {
        Column::new(title, Width::Fixed(width))
    }

    pub fn min(title: impl Into<String>, width: u16) -> Column {
        Column::new(title, Width::Min(width))
    }

    pub fn fill(title: impl Into<String>, weight: u16) -> Column {
        Column::new(title, Width::Fill(weight))
    }

    pub fn right(mut self) -> Column {
        self.align = Align::Right;
        self
    }

    /// A path column: a long path is cut in the middle.
    pub fn path(mut self) -> Column {
        self.align = Align::Path;
        self
    }

    pub fn priority(mut self, priority: u8) -> Column {
        self.priority = priority;
        self
    }

    /// The title to show when the whole one does not fit.
    pub fn short(mut self, title: impl Into<String>) -> Column {
        self.short = Some(title.into());
        self
    }
}

/// What the user chose to see of a table: columns hidden with the column chooser, and how
/// many columns it is scrolled sideways. The first titled column (and the untitled marker
/// columns before it) stays put, as a spreadsheet's frozen column; the scroll hides the
/// columns after it, one by one, so the ones dropped for width come into view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableView {
    /// By column index; a column past the end is shown.
    pub hidden: Vec<bool>,
    pub skip: usize,
    /// Long cells wrap onto more lines instead of being cut (rows grow).
    pub wrap: bool,
}

impl TableView {
    /// Whether column `i` is hidden by the chooser.
    pub fn is_hidden(&self, i: usize) -> bool {
        self.hidden.get(i).copied().unwrap_or(false)
    }

    /// Show or hide column `i`.
    pub fn toggle(&mut self, i: usize) {
        if self.hidden.len() <= i {
            self.hidden.resize(i + 1, false);
        }
        self.hidden[i] = !self.hidden[i];
    }

    /// The columns the view leaves out of `columns`: hidden ones, and the first `skip` of
    /// those after the frozen column (never all of them: the last stays).
    pub fn excluded(&self, columns: &[Column]) -> Vec<bool> {
        let mut out: Vec<bool> = (0..columns.len()).map(|i| self.is_hidden(i)).collect();
        let frozen = columns
            .iter()
            .position(|c| !c.title.is_empty())
            .map_or(columns.len(), |i| i + 1);
        let movable: Vec<usize> = (frozen..columns.len()).filter(|&i| !out[i]).collect();
        for &i in movable
            .iter()
            .take(self.skip.min(movable.len().saturating_sub(1)))
        {
            out[i] = true;
        }
        out
    }

    /// Scroll one column right (`true`) or left; false when it cannot go further.
    pub fn scroll(&mut self, right: bool, columns: &[Column]) -> bool {
        let frozen = columns
            .iter()
            .position(|c| !c.title.is_empty())
            .map_or(columns.len(), |i| i + 1);
        let movable = (frozen..columns.len())
            .filter(|&i| !self.is_hidden(i))
            .count();
        match right {
            true if self.skip + 1 < movable => self.skip += 1,
            false if self.skip > 0 => self.skip -= 1,
            _ => return false,
        }
        true
    }
}

/// A column's title in `width` columns: whole, else its short title, else its leading whole
/// words ("Args to Child" → "Args"); cut with `~` only when not even a word fits.
fn header_title(c: &Column, width: usize) -> String {
    if display_width(&c.title) <= width {
        return c.title.clone();
    }
    if let Some(short) = &c.short {
        return short.clone();
    }
    let mut out = String::new();
    for word in c.title.split(' ') {
        let next = if out.is_empty() {
            word.to_string()
        } else {
            format!("{out} {word}")
        };
        if display_width(&next) > width {
            break;
        }
        out = next;
    }
    if out.is_empty() { c.title.clone() } else { out }
}

/// The gap between two columns.
pub const SPACING: u16 = 1;

/// The width of each column (in the order given; 0 for a dropped one) in `total` columns:
/// lowest priorities dropped until the fixed and minimum widths (and the gaps) fit, then the
/// rest shared by the `Min` and `Fill` columns by weight, the last of them taking the remainder.
pub fn allocate(columns: &[Column], total: u16) -> Vec<u16> {
    plan(columns, total, &[]).1
}

/// Which columns are kept, and the width of each; `excluded` columns (by index) are left out
/// first.
fn plan(columns: &[Column], total: u16, excluded: &[bool]) -> (Vec<bool>, Vec<u16>) {
    let mut kept: Vec<bool> = (0..columns.len())
        .map(|i| !excluded.get(i).copied().unwrap_or(false))
        .collect();
    let need = |kept: &[bool]| -> u32 {
        let mut n = 0u32;
        let mut count = 0u32;
        for (c, _) in columns.iter().zip(kept).filter(|(_, k)| **k) {
            count += 1;
            n += match c.width {
                Width::Fixed(w) | Width::Min(w) => u32::from(w),
                Width::Fill(_) => 0,
            };
        }
        n + count.saturating_sub(1) * u32::from(SPACING)
    };
    while need(&kept) > u32::from(total) {
        // The lowest priority, rightmost among equals.
        let victim = columns
            .iter()
            .enumerate()
            .filter(|(i, c)| kept[*i] && c.priority != Column::KEEP)
            .min_by_key(|(i, c)| (c.priority, std::cmp::Reverse(*i)))
            .map(|(i, _)| i);
        match victim {
            Some(i) => kept[i] = false,
            None => break,
        }
    }
    let mut widths: Vec<u16> = columns
        .iter()
        .zip(&kept)
        .map(|(c, k)| match (k, c.width) {
            (false, _) => 0,
            (true, Width::Fixed(w) | Width::Min(w)) => w,
            (true, Width::Fill(_)) => 0,
        })
        .collect();
    let left = u32::from(total).saturating_sub(need(&kept));
    let weight = |c: &Column| match c.width {
        Width::Fixed(_) => 0,
        Width::Min(_) => 1,
        Width::Fill(w) => u32::from(w),
    };
    let growing: Vec<usize> = (0..columns.len())
        .filter(|&i| kept[i] && weight(&columns[i]) > 0)
        .collect();
    let weights: u32 = growing.iter().map(|&i| weight(&columns[i])).sum();
    let mut given = 0u32;
    for (n, &i) in growing.iter().enumerate() {
        let share = if n + 1 == growing.len() {
            left - given
        } else {
            (left * weight(&columns[i]))
                .checked_div(weights)
                .unwrap_or(0)
        };
        given += share;
        widths[i] = widths[i].saturating_add(u16::try_from(share).unwrap_or(u16::MAX));
    }
    (kept, widths)
}

/// The display width of `s` (what the terminal draws; ratatui measures the same way).
pub fn display_width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Cut `s` to at most `width` display columns, marking a cut with `~` at the end.
pub fn fit(s: &str, width: usize) -> String {
    if display_width(s) <= width {
        return s.to_string();
    }
    let mut out = take_width(s.chars(), width);
    if width > 0 {
        out.push('~');
    }
    out
}

/// Cut `s` to at most `width` display columns in the middle (`C:\\Windows\\Sys~\\x.cat`),
/// keeping a little more of the end than of the start, and the whole last component of a
/// path when it takes at most four fifths. A cell narrower than 32 columns keeps the end
/// (`~ivers\\filecrypt.sys`): there the start says little.
pub fn fit_middle(s: &str, width: usize) -> String {
    if display_width(s) <= width {
        return s.to_string();
    }
    if width < 32 {
        let tail: String = take_width(s.chars().rev(), width).chars().rev().collect();
        return if width == 0 { tail } else { format!("~{tail}") };
    }
    let name_w = s
        .rfind(['\\', '/'])
        .map_or(usize::MAX, |i| display_width(&s[i..]));
    let tail_w = if name_w <= (width - 1) * 4 / 5 {
        name_w.max((width - 1) * 3 / 5)
    } else {
        (width - 1) * 3 / 5
    };
    let head_w = width - 1 - tail_w;
    // `take_width` leaves a column for the `~`: ask for one more.
    let head = take_width(s.chars(), head_w + 1);
    let tail: String = take_width(s.chars().rev(), tail_w + 1)
        .chars()
        .rev()
        .collect();
    format!("{head}~{tail}")
}

/// The leading characters of `chars` that fill at most `width - 1` display columns (room for
/// the `~` of a cut), in the order taken.
fn take_width(chars: impl Iterator<Item = char>, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in chars {
        let w = c.width().unwrap_or(0);
        if used + w >= width {
            break;
        }
        used += w;
        out.push(c);
    }
    out
}

/// One cell's text and style (patched over the row's style).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableCell {
    pub text: String,
    pub style: Style,
}

impl TableCell {
    pub fn styled(text: impl Into<String>, style: Style) -> TableCell {
        TableCell {
            text: text.into(),
            style,
        }
    }
}

impl From<String> for TableCell {
    fn from(text: String) -> TableCell {
        TableCell {
            text,
            style: Style::new(),
        }
    }
}

impl From<&str> for TableCell {
    fn from(text: &str) -> TableCell {
        TableCell::from(text.to_string())
    }
}

/// One row: a cell for every column (in the order of the columns; dropped ones are skipped)
/// and the row's style.
#[derive(Clone, Debug, Default)]
pub struct TableRow {
    pub cells: Vec<TableCell>,
    pub style: Style,
}

impl TableRow {
    pub fn new(cells: Vec<TableCell>, style: Style) -> TableRow {
        TableRow { cells, style }
    }
}

/// What a row builder knows about the row it builds.
#[derive(Clone, Copy, Debug)]
pub struct RowContext<'a> {
    /// The row has the cursor.
    pub selected: bool,
    /// Each column's width at this render (0 for a dropped column).
    pub widths: &'a [u16],
}

/// The rows of a table. Only the rows of the visible window are ever asked for.
pub trait RowSource {
    /// How many rows there are.
    fn len(&self) -> usize;
    /// There are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row `index` (`None` skips it).
    fn row(&self, index: usize, ctx: &RowContext) -> Option<TableRow>;
}

/// A [`RowSource`] made of a row count and a closure.
pub struct FnRows<F> {
    len: usize,
    build: F,
}

/// Rows `0..len`, each built by `build` when it is on screen.
pub fn rows<F>(len: usize, build: F) -> FnRows<F>
where
    F: Fn(usize, &RowContext) -> Option<TableRow>,
{
    FnRows { len, build }
}

impl<F> RowSource for FnRows<F>
where
    F: Fn(usize, &RowContext) -> Option<TableRow>,
{
    fn len(&self) -> usize {
        self.len
    }

    fn row(&self, index: usize, ctx: &RowContext) -> Option<TableRow> {
        (self.build)(index, ctx)
    }
}

/// A table's columns and how it draws its header and an empty body.
pub struct DataTable<'a> {
    columns: &'a [Column],
    header: Option<Style>,
    empty: Option<Text<'a>>,
    view: Option<&'a TableView>,
}

impl<'a> DataTable<'a> {
    /// A table of `columns` without a header row.
    pub fn new(columns: &'a [Column]) -> DataTable<'a> {
        DataTable {
            columns,
            header: None,
            empty: None,
            view: None,
        }
    }

    /// Leave out what the user hid or scrolled past.
    pub fn view(mut self, view: &'a TableView) -> DataTable<'a> {
        self.view = Some(view);
        self
    }

    /// Draw the column titles on the first row, in `style`.
    pub fn header(mut self, style: Style) -> DataTable<'a> {
        self.header = Some(style);
        self
    }

    /// What the body says when there are no rows (wrapped).
    pub fn empty(mut self, text: impl Into<Text<'a>>) -> DataTable<'a> {
        self.empty = Some(text.into());
        self
    }

    /// Draw into `area`: the header, then the rows of `cursor`'s window (which this moves to
    /// keep the selection in view). Returns the widths the columns got and the rows shown.
    pub fn render<S: RowSource + ?Sized>(
        &self,
        frame: &mut Frame,
        area: Rect,
        cursor: &mut Cursor,
        source: &S,
    ) -> Drawn {
        let excluded = self
            .view
            .map(|v| v.excluded(self.columns))
            .unwrap_or_default();
        let (kept, widths) = plan(self.columns, area.width, &excluded);
        let shown: Vec<usize> = (0..self.columns.len()).filter(|&i| kept[i]).collect();
        let header_h = u16::from(self.header.is_some()).min(area.height);
        let [head, body] =
            Layout::vertical([Constraint::Length(header_h), Constraint::Min(0)]).areas(area);
        let len = source.len();
        let range = cursor.window(len, body.height as usize);
        let wrap = self.view.is_some_and(|v| v.wrap);
        // Cells, and the lines the tallest takes (1 unless wrapping).
        let cells = |texts: Vec<TableCell>| -> (Vec<Cell<'static>>, u16) {
            let mut texts = texts.into_iter();
            let mut out = Vec::with_capacity(shown.len());
            let mut height = 1u16;
            for (i, c) in self.columns.iter().enumerate() {
                let t = texts.next().unwrap_or_default();
                if !kept[i] {
                    continue;
                }
                let w = usize::from(widths[i]);
                let align = match c.align {
                    Align::Right => Alignment::Right,
                    Align::Left | Align::Path => Alignment::Left,
                };
                if wrap && display_width(&t.text) > w && w > 0 {
                    let lines: Vec<Line<'static>> = super::popup::wrap_text(&t.text, w)
                        .into_iter()
                        .map(|l| Line::styled(l, t.style).alignment(align))
                        .collect();
                    height = height.max(u16::try_from(lines.len()).unwrap_or(u16::MAX));
                    out.push(Cell::from(Text::from(lines)));
                    continue;
                }
                let text = match c.align {
                    Align::Left | Align::Right => fit(&t.text, w),
                    Align::Path => fit_middle(&t.text, w),
                };
                out.push(Cell::from(Line::styled(text, t.style).alignment(align)));
            }
            (out, height)
        };
        let constraints: Vec<Constraint> = shown
            .iter()
            .map(|&i| Constraint::Length(widths[i]))
            .collect();
        if let Some(style) = self.header {
            let titles = self
                .columns
                .iter()
                .zip(&widths)
                .map(|(c, &w)| TableCell::from(header_title(c, usize::from(w))))
                .collect();
            let table = Table::new(vec![Row::new(cells(titles).0).style(style)], &constraints)
                .column_spacing(SPACING);
            frame.render_widget(table, head);
        }
        if len == 0 {
            if let Some(text) = &self.empty {
                frame.render_widget(
                    Paragraph::new(text.clone()).wrap(Wrap { trim: false }),
                    body,
                );
            }
            return Drawn {
                widths,
                shown: 0..0,
            };
        }
        let mut rows = Vec::with_capacity(range.len());
        let build = |index: usize| {
            let ctx = RowContext {
                selected: index == cursor.selected,
                widths: &widths,
            };
            source.row(index, &ctx).map(|r| {
                let (c, h) = cells(r.cells);
                (Row::new(c).style(r.style).height(h), h)
            })
        };
        let mut shown = range.clone();
        if wrap {
            // Rows grow: start where the window starts, and move the start down until the
            // selected row's last line is on screen.
            let mut built: Vec<(Row, u16)> = Vec::new();
            let mut start = range.start;
            for index in range.start..len {
                let Some(r) = build(index) else { continue };
                built.push(r);
                let lines = |b: &[(Row, u16)]| b.iter().map(|(_, h)| u32::from(*h)).sum::<u32>();
                // Up to the selected row, drop rows from the top until it fits.
                while index <= cursor.selected
                    && built.len() > 1
                    && lines(&built) > u32::from(body.height)
                {
                    built.remove(0);
                    start += 1;
                }
                if index >= cursor.selected && lines(&built) >= u32::from(body.height) {
                    break;
                }
            }
            cursor.offset = start;
            shown = start..start + built.len();
            rows.extend(built.into_iter().map(|(r, _)| r));
        } else {
            for index in range {
                if let Some((r, _)) = build(index) {
                    rows.push(r);
                }
            }
        }
        frame.render_widget(Table::new(rows, &constraints).column_spacing(SPACING), body);
        super::cursor::draw_mark(frame, body, cursor, len);
        Drawn { widths, shown }
    }
}

/// What a [`DataTable`] drew: each column's width (0 for a dropped one) and the rows on
/// screen (for a title's "40, 11-20 shown").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drawn {
    pub widths: Vec<u16>,
    pub shown: std::ops::Range<usize>,
}

#[cfg(test)]
mod view_tests {
    use super::*;

    #[test]
    fn the_view_hides_chosen_columns_and_scrolls_past_the_frozen_one() {
        let cols = [
            Column::fixed("", 1),
            Column::fixed("Time", 8),
            Column::fixed("Process", 10).priority(1),
            Column::fixed("Path", 20).priority(2),
            Column::fixed("Result", 10).priority(3),
        ];
        let mut v = TableView::default();
        assert_eq!(v.excluded(&cols), [false; 5]);
        // Wrapping: a long path takes as many lines as it needs, and the selected row stays
        // on screen.
        let wide = [Column::fixed("Path", 10), Column::fixed("N", 3)];
        let src = rows(20, |i, _| {
            Some(TableRow::new(
                vec![
                    format!("C:\\Windows\\System32\\{i}.sys").into(),
                    i.to_string().into(),
                ],
                Style::new(),
            ))
        });
        let wrapped = TableView {
            wrap: true,
            ..TableView::default()
        };
        let mut cursor = Cursor {
            selected: 5,
            ..Cursor::default()
        };
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(14, 9)).expect("t");
        t.draw(|f| {
            DataTable::new(&wide)
                .view(&wrapped)
                .header(Style::new())
                .render(f, f.area(), &mut cursor, &src);
        })
        .expect("draw");
        let text = format!("{}", t.backend());
        assert!(text.contains("\"C:\\Windows 5  \""), "{text}");
        assert!(text.contains("\"\\System32\\    \""), "{text}");
        assert!(text.contains("5.sys"), "the selected row shows: {text}");
        assert!(cursor.offset > 0, "{cursor:?}");
        assert!(v.scroll(true, &cols));
        // The marker and Time stay; Process scrolls out.
        assert_eq!(v.excluded(&cols), [false, false, true, false, false]);
        assert!(v.scroll(true, &cols));
        assert!(!v.scroll(true, &cols), "the last column stays");
        assert_eq!(v.excluded(&cols), [false, false, true, true, false]);
        v.skip = 0;
        v.toggle(3);
        assert_eq!(v.excluded(&cols), [false, false, false, true, false]);
        // Hidden columns give their width to the others: Result now fits in 30 columns.
        let (kept, _) = plan(&cols, 34, &v.excluded(&cols));
        assert_eq!(kept, [true, true, true, false, true]);
        let (kept, _) = plan(&cols, 34, &[]);
        assert!(kept.iter().filter(|k| **k).count() < 5);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::cell::Cell as StdCell;

    /// Draw `table` over `source` on a `w` x `h` screen; the screen's lines, a wide character
    /// counted once.
    fn draw(
        table: &DataTable,
        w: u16,
        h: u16,
        cursor: &mut Cursor,
        source: &dyn RowSource,
    ) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t.draw(|f| {
            table.render(f, f.area(), cursor, source);
        })
        .expect("draw");
        let buf = t.backend().buffer();
        (0..buf.area.height)
            .map(|y| {
                let mut line = String::new();
                let mut x = 0;
                while x < buf.area.width {
                    let s = buf[(x, y)].symbol();
                    line.push_str(s);
                    x += (display_width(s).max(1)) as u16;
                }
                line
            })
            .collect()
    }

    #[test]
    fn fixed_min_and_fill_widths() {
        let cols = [
            Column::fixed("A", 4),
            Column::min("B", 6),
            Column::fill("C", 3),
            Column::fill("D", 1),
        ];
        // 4 + 6 + three gaps = 13; 27 left: B gets 1 share, C 3, D the rest of 5.
        assert_eq!(
            allocate(&cols, 40),
            [4, 6 + 27 / 5, 27 * 3 / 5, 27 - 5 - 16]
        );
        assert_eq!(allocate(&cols, 40).iter().sum::<u16>() + 3, 40);
        // Nothing left over: the minimums hold, the fills get nothing.
        assert_eq!(allocate(&cols, 13), [4, 6, 0, 0]);
        // Fixed only: the rest stays blank.
        assert_eq!(
            allocate(&[Column::fixed("A", 3), Column::fixed("B", 2)], 20),
            [3, 2]
        );
    }

    #[test]
    fn lowest_priorities_drop_first_at_80_columns() {
        let cols = [
            Column::fixed("Time", 19),
            Column::fixed("Source", 14).priority(1),
            Column::fixed("ID", 4).right(),
            Column::fixed("Driver", 16).priority(3),
            Column::fixed("Status", 30).priority(2),
            Column::min("Details", 20),
        ];
        // Needs 19+14+4+16+30+20 + 5 gaps = 108: at 80, Source (1) goes, then Status (2).
        let w = allocate(&cols, 80);
        assert_eq!(w[1], 0, "Source dropped: {w:?}");
        assert_eq!(w[4], 0, "Status dropped: {w:?}");
        assert_eq!(w[0], 19);
        assert_eq!(w[3], 16);
        // Time + ID + Driver + 3 gaps = 42: Details takes the other 38.
        assert_eq!(w[5], 80 - 42);
        // At 120 everything fits.
        assert!(allocate(&cols, 120).iter().all(|&w| w > 0));
        // Columns that are never dropped overflow rather than vanish.
        let keep = [Column::fixed("A", 50), Column::fixed("B", 50)];
        assert_eq!(allocate(&keep, 80), [50, 50]);

        // Drawn: the dropped columns' titles are gone, the rest stay in order.
        let source = rows(1, |_, _| {
            let cells = ["12:00", "System", "7026", "FileCrypt", "bad", "more"];
            Some(TableRow::new(
                cells.map(TableCell::from).to_vec(),
                Style::new(),
            ))
        });
        let table = DataTable::new(&cols).header(Style::new());
        let s = draw(&table, 80, 2, &mut Cursor::default(), &source);
        // Time, ID (right-aligned), Driver, then the rest of the line.
        let line = |a: &str, b: &str, c: &str, d: &str| format!("{a:<19} {b:>4} {c:<16} {d}");
        assert!(
            s[0].starts_with(&line("Time", "ID", "Driver", "Details")),
            "{s:?}"
        );
        assert!(!s[0].contains("Source") && !s[0].contains("Status"));
        assert!(
            s[1].starts_with(&line("12:00", "7026", "FileCrypt", "more")),
            "{s:?}"
        );
    }

    #[test]
    fn a_header_that_does_not_fit_is_shortened_at_a_word() {
        assert_eq!(
            header_title(&Column::fixed("Time of Day", 12), 12),
            "Time of Day"
        );
        assert_eq!(header_title(&Column::fixed("Time of Day", 8), 8), "Time of");
        assert_eq!(
            header_title(&Column::fixed("Operation", 5).short("Op"), 5),
            "Op"
        );
        // Not even a word fits: the cell cuts it with `~`.
        assert_eq!(header_title(&Column::fixed("Operation", 5), 5), "Operation");
    }

    #[test]
    fn cells_align_by_display_width() {
        // A CJK name is two columns a character; a combining accent is none.
        assert_eq!(display_width("驱动程序"), 8);
        assert_eq!(display_width("e\u{301}cran"), 5);
        assert_eq!(fit("驱动程序.sys", 6), "驱动~");
        assert_eq!(display_width(&fit("驱动程序.sys", 6)), 5);
        assert_eq!(fit("e\u{301}cran.sys", 5), "e\u{301}cra~");
        // A path cut in the middle keeps both ends, counting display columns, and the
        // whole file name when it fits in four fifths.
        let p = "C:\\Windows\\System32\\drivers\\驱动程序\\驱动.sys";
        let cut = fit_middle(p, 32);
        assert!(display_width(&cut) <= 32, "{cut}");
        assert!(
            cut.starts_with("C:\\Windows\\") && cut.ends_with("\\驱动程序\\驱动.sys"),
            "{cut}"
        );
        let sys = "C:\\Windows\\System32\\drivers\\filecrypt.sys";
        assert_eq!(
            fit_middle(sys, 36),
            "C:\\Windows\\Sys~drivers\\filecrypt.sys"
        );
        // A narrow cell keeps the end.
        assert_eq!(fit_middle(sys, 20), "~ivers\\filecrypt.sys");
        assert_eq!(fit_middle("驱动程序.sys", 7), "~序.sys");

        let cols = [Column::fixed("Name", 8), Column::fixed("Size", 5).right()];
        let names = ["驱动程序", "e\u{301}cran", "disk", "驱动程序.sys"];
        let source = rows(names.len(), |i, _| {
            let size = format!("{}", i * 100);
            Some(TableRow::new(
                vec![names[i].into(), size.into()],
                Style::new(),
            ))
        });
        let table = DataTable::new(&cols).header(Style::new());
        let s = draw(&table, 20, 5, &mut Cursor::default(), &source);
        // The size column starts at display column 9 on every row, whatever the name's script.
        let at = |line: &str| -> usize {
            let p = line.find(char::is_numeric).expect("a size");
            display_width(&line[..p])
        };
        assert_eq!(s[1].trim_end(), "驱动程序     0");
        assert_eq!(at(&s[2]), 11, "{:?}", s[2]);
        assert_eq!(at(&s[3]), 11, "{:?}", s[3]);
        assert_eq!(at(&s[4]), 11, "{:?}", s[4]);
        assert!(s[4].starts_with("驱动程~"), "{:?}", s[4]);
        assert_eq!(display_width(&s[4]), 20);
    }

    #[test]
    fn only_the_visible_window_is_built() {
        struct Counting {
            built: StdCell<usize>,
            asked: std::cell::RefCell<Vec<usize>>,
        }
        impl RowSource for Counting {
            fn len(&self) -> usize {
                1_000_000
            }
            fn row(&self, index: usize, ctx: &RowContext) -> Option<TableRow> {
                self.built.set(self.built.get() + 1);
                self.asked.borrow_mut().push(index);
                let mark = if ctx.selected { ">" } else { " " };
                Some(TableRow::new(
                    vec![mark.into(), index.to_string().into()],
                    Style::new(),
                ))
            }
        }
        let cols = [Column::fixed("", 1), Column::fill("Row", 1)];
        let source = Counting {
            built: StdCell::new(0),
            asked: Default::default(),
        };
        let mut cursor = Cursor {
            selected: 500_000,
            ..Cursor::default()
        };
        let table = DataTable::new(&cols).header(Style::new());
        let s = draw(&table, 30, 11, &mut cursor, &source);
        // A header and ten rows: ten rows built, the window ending at the selection.
        assert_eq!(source.built.get(), 10);
        assert_eq!(
            *source.asked.borrow(),
            (499_991..=500_000).collect::<Vec<_>>()
        );
        assert_eq!(s[10].trim_end(), "> 500000");
        assert_eq!(cursor.page, 10);
    }

    #[test]
    fn empty_table_says_so_under_the_header() {
        let cols = [Column::fixed("Driver", 8), Column::fill("Status", 1)];
        let table = DataTable::new(&cols)
            .header(Style::new())
            .empty("No events.");
        let s = draw(&table, 30, 3, &mut Cursor::default(), &rows(0, |_, _| None));
        assert_eq!(s[0].trim_end(), "Driver   Status");
        assert_eq!(s[1].trim_end(), "No events.");
    }
}
