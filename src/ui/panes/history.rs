//! History: every crash and every change of the case on one timeline (BlueScreenView's crash
//! list joined to what was installed before): crashes per day as a strip, the counts per
//! culprit and per bug check, then the rows, oldest first. The driver focus narrows the rows
//! to the ones that concern it; `f` focuses a row's driver; Enter on a crash opens its dump in
//! the Dump pane.

use crate::analysis::CaseAnalysis;
use crate::driver::DriverKey;
use crate::history::{CrashKind, TimelineRow, iso_utc};
use crate::ui::action::{Outcome, PaneAction};
use crate::ui::pane::{Pane, PaneContext};
use crate::ui::pane_id::PaneId;
use crate::ui::theme::Theme;
use crate::ui::widgets::chooser::TableLayout;
use crate::ui::widgets::cursor::Cursor;
use crate::ui::widgets::export::ViewTable;
use crate::ui::widgets::search::{Jump, Search};
use crate::ui::widgets::table::{self, Column, DataTable, TableRow};
use crate::ui::widgets::{self, fit};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, SparklineBar};

/// The files this pane reads, named when the case has none of them.
const NEEDS: &[&str] = &[
    "MEMORY.DMP or Minidump\\*.dmp (crash dumps)",
    "System.evtx (BugCheck 1001, Kernel-Power 41, EventLog 6008)",
    "Windows\\INF\\setupapi.dev.log, Windows\\Logs\\CBS\\CBS.log (what was installed)",
];

#[derive(Default)]
pub struct HistoryPane {
    cursor: Cursor,
    /// The cursor was placed on the first crash (done once, at the first render).
    placed: bool,
    /// `Z`: the table takes the whole pane (no summary, no strip).
    zoom: bool,
    /// `W`, `C`, `<`/`>`: the table's wrap, columns and sideways scroll.
    layout: TableLayout,
    /// `/` over the rows' time, kind, what, drivers and sources.
    search: Search,
}

impl HistoryPane {
    pub fn new() -> HistoryPane {
        HistoryPane::default()
    }

    /// The rows shown: the timeline, narrowed to the focused driver's rows.
    fn visible<'a>(analysis: &'a CaseAnalysis, focus: Option<&DriverKey>) -> Vec<&'a TimelineRow> {
        analysis
            .timeline
            .iter()
            .filter(|r| focus.is_none_or(|f| r.drivers.contains(f)))
            .collect()
    }

    /// Move to a match of the search among the rows shown, centred.
    fn search_jump(&mut self, ctx: &PaneContext, how: Jump) -> Outcome {
        let rows = HistoryPane::visible(ctx.analysis, ctx.focus);
        let search = &self.search;
        let (to, outcome) = search.jump(rows.len(), self.cursor.selected, how, "row", |i| {
            search.matches_any(row_fields(rows[i]).iter().map(String::as_str))
        });
        if let Some(i) = to {
            self.placed = true;
            self.cursor.center(i);
        }
        outcome
    }

    fn selected<'a>(&self, ctx: &PaneContext<'a>) -> Option<&'a TimelineRow> {
        HistoryPane::visible(ctx.analysis, ctx.focus)
            .get(self.cursor.selected)
            .copied()
    }
}

/// Crashes per day over the days the case's crashes span, resampled to `cols` bars (a bar
/// holds the crashes of its days).
fn crashes_per_day(analysis: &CaseAnalysis, cols: usize) -> Option<(Vec<u64>, i64, i64)> {
    let days: Vec<i64> = analysis
        .history
        .crashes
        .iter()
        .filter(|c| c.kind != CrashKind::UnexpectedShutdown)
        .filter_map(|c| c.time)
        .map(|t| t.div_euclid(86_400))
        .collect();
    let (first, last) = (*days.iter().min()?, *days.iter().max()?);
    let span = (last - first + 1) as usize;
    let cols = cols.max(1).min(span);
    let mut bars = vec![0u64; cols];
    for d in days {
        bars[(d - first) as usize * cols / span] += 1;
    }
    Some((bars, first * 86_400, last * 86_400))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The row as the search sees it: what every column shows.
fn row_fields(r: &TimelineRow) -> [String; 5] {
    let drivers: Vec<&str> = r.drivers.iter().map(|d| d.name()).collect();
    [
        iso_utc(r.time)[..19].replace('T', " "),
        r.kind.clone(),
        r.message.clone(),
        drivers.join(", "),
        r.source_files.join(", "),
    ]
}

fn row_style(
    r: &TimelineRow,
    theme: &Theme,
    selected: bool,
    matched: bool,
) -> ratatui::style::Style {
    if selected {
        theme.selected
    } else if matched {
        theme.key
    } else {
        match r.kind.as_str() {
            "crash" | "live-dump" => theme.bad,
            "unexpected-shutdown" => theme.warn,
            "boot" | "shutdown" => theme.dim,
            _ => theme.text,
        }
    }
}

fn columns() -> [Column; 5] {
    [
        Column::fixed("Time (UTC)", 19),
        Column::fixed("Kind", 19).priority(2),
        // What happened comes first: at 80 columns the drivers and sources make way for it.
        Column::min("What", 30),
        Column::min("Driver", 14).priority(1),
        Column::min("Source", 12).path().priority(0),
    ]
}

impl Pane for HistoryPane {
    fn title(&self) -> &'static str {
        PaneId::History.title()
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext) {
        let theme = ctx.theme;
        let a = ctx.analysis;
        if a.timeline.is_empty() {
            widgets::missing(frame, area, PaneId::History.title(), NEEDS, theme);
            return;
        }
        let (area, search_area) = self.search.split(area);
        let h = &a.history;
        let strip_h = u16::from(area.height >= 16 && !self.zoom);
        let [head, strip, body] = Layout::vertical([
            Constraint::Length(if self.zoom { 0 } else { 2 }),
            Constraint::Length(strip_h),
            Constraint::Min(3),
        ])
        .areas(area);
        let crashes = h
            .crashes
            .iter()
            .filter(|c| c.kind != CrashKind::UnexpectedShutdown)
            .count();
        let shutdowns = h.crashes.len() - crashes;
        let first = h
            .first_crash()
            .and_then(|c| c.time)
            .map(|t| format!(", the first on {}", &iso_utc(t)[..10]))
            .unwrap_or_default();
        let counts: Vec<String> = h
            .by_culprit
            .iter()
            .take(1)
            .chain(h.by_bugcheck.iter().take(1))
            .map(|c| c.sentence())
            .collect();
        let w = usize::from(head.width);
        let lines = vec![
            Line::from(vec![
                Span::styled("History ", theme.header),
                Span::raw(fit(
                    &format!(
                        "{}{first}, {}, {}",
                        plural(crashes, "crash", "crashes"),
                        plural(shutdowns, "unexpected shutdown", "unexpected shutdowns"),
                        plural(h.changes.len(), "change", "changes")
                    ),
                    w.saturating_sub(8),
                )),
            ]),
            Line::styled(fit(&counts.join("; "), w), theme.text),
        ];
        frame.render_widget(Paragraph::new(lines), head);
        if strip_h > 0 {
            let label = "crashes/day ";
            let [l, bars, r] = Layout::horizontal([
                Constraint::Length(label.len() as u16),
                Constraint::Min(4),
                Constraint::Length(24),
            ])
            .areas(strip);
            if let Some((per_day, from, to)) = crashes_per_day(a, usize::from(bars.width)) {
                frame.render_widget(Paragraph::new(Span::styled(label, theme.dim)), l);
                let data: Vec<SparklineBar> = per_day
                    .into_iter()
                    .map(|n| SparklineBar::from(n).style(Some(theme.bad)))
                    .collect();
                let set = if theme.ascii {
                    ratatui::symbols::bar::THREE_LEVELS
                } else {
                    ratatui::symbols::bar::NINE_LEVELS
                };
                frame.render_widget(Sparkline::default().data(data).bar_set(set), bars);
                frame.render_widget(
                    Paragraph::new(Span::styled(
                        format!(" {}..{}", &iso_utc(from)[..10], &iso_utc(to)[5..10]),
                        theme.dim,
                    )),
                    r,
                );
            }
        }
        let rows = HistoryPane::visible(a, ctx.focus);
        if !self.placed {
            // Open on the first crash, centred, so what changed just before it shows above.
            self.placed = true;
            self.cursor.page = usize::from(body.height.saturating_sub(3));
            if let Some(i) = rows.iter().position(|r| r.kind == "crash") {
                self.cursor.center(i);
            }
        }
        let name = match ctx.focus {
            Some(k) => format!("Timeline of {k}"),
            None => "Timeline".to_string(),
        };
        let columns = columns();
        let search = &self.search;
        let source = table::rows(rows.len(), |i, rc| {
            let r = rows.get(i)?;
            let fields = row_fields(r);
            let matched = search.matches_any(fields.iter().map(String::as_str));
            Some(TableRow::new(
                fields.into_iter().map(Into::into).collect(),
                row_style(r, theme, rc.selected, matched),
            ))
        });
        let mut cursor = self.cursor;
        widgets::TableBox::new(&name, rows.len(), "no row concerns the focused driver")
            .noun("rows")
            .table(
                frame,
                body,
                theme,
                DataTable::new(&columns).view(&self.layout.view),
                &mut cursor,
                &source,
            );
        self.cursor = cursor;
        self.layout.drawn(&columns);
        self.search.render(frame, search_area, theme);
        self.layout.render_chooser(frame, area, theme);
    }

    fn edit_key(&mut self, key: KeyEvent, ctx: &PaneContext) -> Option<Outcome> {
        if let Some(o) = self.layout.key(key) {
            return Some(o);
        }
        let applied = self.search.edit_open(key)?;
        Some(if applied {
            self.search_jump(ctx, Jump::First)
        } else {
            Outcome::Consumed
        })
    }

    fn captures_input(&self) -> bool {
        self.search.is_open() || self.layout.is_open()
    }

    fn handle_action(&mut self, action: PaneAction, ctx: &PaneContext) -> Outcome {
        use PaneAction as A;
        let n = HistoryPane::visible(ctx.analysis, ctx.focus).len();
        if self.cursor.act(action, n) {
            return Outcome::Consumed;
        }
        if let Some(o) = self.layout.act(action) {
            return o;
        }
        match action {
            A::Search => {
                self.search.open("Search the history");
                return Outcome::Consumed;
            }
            A::NextMatch => return self.search_jump(ctx, Jump::Next),
            A::PrevMatch => return self.search_jump(ctx, Jump::Prev),
            A::Zoom => {
                self.zoom = !self.zoom;
                return Outcome::Consumed;
            }
            A::Close if self.zoom => {
                self.zoom = false;
                return Outcome::Consumed;
            }
            _ => {}
        }
        let Some(row) = self.selected(ctx) else {
            return Outcome::Message("the case records no crash and no change".into());
        };
        match action {
            A::Focus => match row.drivers.first() {
                Some(k) => Outcome::Focus(k.clone()),
                None => Outcome::Message("this row names no driver".into()),
            },
            // A crash opens its dump in the Dump pane; any other row says all it knows.
            A::Details => {
                let dump = row
                    .crash
                    .and_then(|c| ctx.analysis.history.crashes.get(c))
                    .and_then(|c| c.dump.as_deref())
                    .and_then(|path| ctx.case.dumps.iter().position(|d| d.file == path));
                match dump {
                    Some(i) => Outcome::OpenDump(i),
                    None => Outcome::Message(format!(
                        "{} ({}): {} [{}]",
                        iso_utc(row.time),
                        row.timestamp_desc,
                        row.message,
                        row.source_files.join(", ")
                    )),
                }
            }
            _ => Outcome::Ignored,
        }
    }

    fn on_focus(&mut self, _ctx: &PaneContext) {
        self.cursor = Cursor::default();
        self.placed = false;
    }

    /// A clue about the history: its change's or crash's row, else the first crash about its
    /// driver (any row about it when none crashed), else the first crash.
    fn reveal(&mut self, source: &crate::findings::SourceRef, ctx: &PaneContext) -> bool {
        let crate::findings::SourceRef::History {
            driver,
            crash,
            change,
        } = source
        else {
            return false;
        };
        let rows = HistoryPane::visible(ctx.analysis, ctx.focus);
        let about = |r: &TimelineRow| driver.as_ref().is_none_or(|d| r.drivers.contains(d));
        let at = if let Some(c) = change {
            rows.iter().position(|r| r.change == Some(*c))
        } else if let Some(c) = crash {
            rows.iter().position(|r| r.crash == Some(*c))
        } else {
            rows.iter()
                .position(|r| r.crash.is_some() && about(r))
                .or_else(|| rows.iter().position(|r| about(r)))
        };
        let Some(i) = at else { return false };
        // The row stays selected at the first render (which would place the first crash).
        self.placed = true;
        self.cursor.center(i);
        true
    }

    fn table(&self, ctx: &PaneContext) -> Option<ViewTable> {
        let mut t = ViewTable::new(&["Time (UTC)", "Kind", "What", "Drivers", "Sources"]);
        t.rows = HistoryPane::visible(ctx.analysis, ctx.focus)
            .into_iter()
            .map(|r| {
                vec![
                    iso_utc(r.time),
                    r.kind.clone(),
                    r.message.clone(),
                    r.drivers
                        .iter()
                        .map(|d| d.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.source_files.join(", "),
                ]
            })
            .collect();
        Some(t)
    }

    crate::ui::pane::one_cursor!(cursor);
}
