//! Timeline: the Procmon boot log as a virtualised table (Time of Day, Process, PID, Operation,
//! Path, Result, Detail) over the column index: only the rows on screen are decoded. Filter
//! rules in Procmon's form (the same as `bsodwb pml --filter`), highlight rules, quick toggles
//! (failures, image loads, the System process, the focused driver's events), sorting, a jump
//! to a time and a search with `n`/`N`. Filtering and sorting run on a worker thread
//! ([`ViewJob`]); the pane only polls it in `tick`. Enter opens one event: every field, the
//! detail, the resolved stack and, with a driver focused, the System process's module entry.

use crate::case::Case;
use crate::driver::DriverKey;
use crate::pml::csv::{HEADER, Renderer};
use crate::pml::view::{
    self, DriverScope, DriverTarget, Find, Rows, SortColumn, Toggles, ViewJob, ViewSpec,
};
use crate::pml::{DriverQuery, Filter, PmlLog, Rule, names, render};
use crate::ui::action::Outcome;
use crate::ui::pane::{Hint, Pane, PaneContext, hint};
use crate::ui::theme::Theme;
use crate::ui::widgets::input::{InputEvent, LineInput};
use crate::ui::widgets::table::{self, Column, DataTable, TableCell, TableRow, Width};
use crate::ui::widgets::{self, cursor::Cursor, fit};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use std::sync::Arc;

/// What the text input is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InputKind {
    Filter,
    Highlight,
    Search,
    Time,
}

impl InputKind {
    fn label(self) -> &'static str {
        match self {
            InputKind::Filter => "Filter rule: Column relation value [include|exclude]",
            InputKind::Highlight => "Highlight rule: Column relation value",
            InputKind::Search => "Find (process, PID, operation, path, result)",
            InputKind::Time => "Jump to time HH:MM:SS[.fffffff]",
        }
    }
}

/// One event opened with Enter.
struct EventView {
    event: usize,
    scroll: u16,
}

pub struct TimelinePane {
    log: Arc<PmlLog>,
    /// The log's path in the case.
    name: String,
    filter: Filter,
    highlight: Filter,
    toggles: Toggles,
    sort: SortColumn,
    descending: bool,
    /// The focused driver, with what the case knows of it.
    focus: Option<DriverTarget>,
    /// Narrow to the focused driver's events (on when a driver gets focused).
    driver_only: bool,
    rows: Rows,
    /// The last driver scope computed (reused while the focus stays).
    scope: Option<Arc<DriverScope>>,
    job: Option<ViewJob>,
    /// The event to keep under the cursor when the rows change.
    keep: Option<usize>,
    cursor: Cursor,
    input: Option<(InputKind, LineInput)>,
    input_error: Option<String>,
    find: Option<Find>,
    show_rules: bool,
    open: Option<EventView>,
}

impl TimelinePane {
    /// The pane over a loaded boot log; `name` is its path in the case.
    pub fn new(log: Arc<PmlLog>, name: &str) -> TimelinePane {
        let n = log.len();
        TimelinePane {
            log,
            name: name.to_string(),
            filter: Filter::default(),
            highlight: Filter::default(),
            toggles: Toggles::default(),
            sort: SortColumn::Time,
            descending: false,
            focus: None,
            driver_only: false,
            rows: Rows::All(n),
            scope: None,
            job: None,
            keep: None,
            cursor: Cursor::default(),
            input: None,
            input_error: None,
            find: None,
            show_rules: false,
            open: None,
        }
    }

    /// The pane for a case, when it has a boot log.
    pub fn from_case(case: &Case) -> Option<TimelinePane> {
        let log = case.boot_log.as_ref()?;
        let name = case.boot_log_path.as_deref().unwrap_or("boot log");
        Some(TimelinePane::new(Arc::clone(log), name))
    }

    /// The rows shown (event numbers in display order).
    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    /// The event number under the cursor.
    pub fn selected_event(&self) -> Option<usize> {
        self.rows.get(self.cursor.selected)
    }

    /// The row under the cursor.
    pub fn selected_row(&self) -> usize {
        self.cursor.selected
    }

    /// The event opened with Enter.
    pub fn open_event(&self) -> Option<usize> {
        self.open.as_ref().map(|o| o.event)
    }

    /// The filter rules in force.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// The focused driver's events, once computed.
    pub fn scope(&self) -> Option<&DriverScope> {
        self.scope.as_deref()
    }

    /// A filter job is running.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// Block until the running filter job is done and apply its rows (tests, benchmarks).
    pub fn wait_idle(&mut self) {
        if let Some(job) = self.job.take() {
            match job.wait() {
                Ok(r) => self.apply(r),
                Err(e) => tracing::error!("{e}"),
            }
        }
    }

    fn spec(&self) -> ViewSpec {
        ViewSpec {
            filter: self.filter.clone(),
            toggles: self.toggles,
            driver: self.focus.clone().filter(|_| self.driver_only),
            sort: Some(self.sort),
            descending: self.descending,
        }
    }

    /// Recompute the rows for the current rules, toggles, focus and sort.
    fn refresh(&mut self) {
        if self.job.is_none() {
            self.keep = self.selected_event();
        }
        let spec = self.spec();
        if spec.is_identity() {
            self.job = None;
            self.apply(view::ViewResult {
                rows: Rows::All(self.log.len()),
                scope: None,
                cancelled: false,
            });
            return;
        }
        // Dropping the previous job cancels it.
        self.job = Some(ViewJob::spawn(
            Arc::clone(&self.log),
            spec,
            self.scope.clone(),
        ));
    }

    fn apply(&mut self, r: view::ViewResult) {
        if r.cancelled {
            return;
        }
        self.rows = r.rows;
        if let Some(s) = r.scope {
            self.scope = Some(s);
        }
        self.cursor.selected = self
            .keep
            .and_then(|e| self.rows.position(e))
            .unwrap_or_default();
        self.cursor.offset = 0;
    }

    fn submit(&mut self, kind: InputKind, text: String) -> Outcome {
        let text = text.trim().to_string();
        if text.is_empty() {
            return Outcome::Consumed;
        }
        match kind {
            InputKind::Filter | InputKind::Highlight => match Rule::parse(&text) {
                Ok(rule) => {
                    self.input_error = None;
                    if kind == InputKind::Filter {
                        self.filter.rules.push(rule);
                        self.refresh();
                    } else {
                        self.highlight.rules.push(rule);
                    }
                    Outcome::Consumed
                }
                Err(e) => {
                    // Keep the bar open with the text so the rule can be corrected.
                    self.input = Some((kind, LineInput::new(kind.label(), &text)));
                    self.input_error = Some(e.to_string());
                    Outcome::Message(e.to_string())
                }
            },
            InputKind::Search => {
                let find = Find::new(&self.log, &text);
                let n = self.rows.len();
                // The first match at or after the cursor.
                let from = (self.cursor.selected + n.max(1) - 1) % n.max(1);
                let hit = find.next_row(&self.log, &self.rows, from, true);
                self.find = Some(find);
                match hit {
                    Some(row) => {
                        self.cursor.selected = row;
                        Outcome::Consumed
                    }
                    None => Outcome::Message(format!("no row matches {text:?}")),
                }
            }
            InputKind::Time => match view::time_of_day_ticks(&text) {
                Some(t) => match view::row_at_time(&self.log, &self.rows, t) {
                    Some(row) => {
                        self.cursor.selected = row;
                        Outcome::Consumed
                    }
                    None => Outcome::Message("no rows to jump in".into()),
                },
                None => Outcome::Message(format!(
                    "{text:?}: expected a time of day, HH:MM:SS[.fffffff] (24-hour) or H:MM:SS AM"
                )),
            },
        }
    }

    fn find_next(&mut self, forward: bool) -> Outcome {
        let Some(find) = &self.find else {
            return Outcome::Message("no search yet: / to search".into());
        };
        match find.next_row(&self.log, &self.rows, self.cursor.selected, forward) {
            Some(row) => {
                self.cursor.selected = row;
                Outcome::Consumed
            }
            None => Outcome::Message(format!("no row matches {:?}", find.query)),
        }
    }

    /// `f`: the driver of an event's path (an image, or a service key the hive names the
    /// driver of) or of its innermost driver frame.
    fn focus_event(&self, event: usize, case: &Case) -> Outcome {
        let ev = match self.log.event(event) {
            Ok(ev) => ev,
            Err(e) => return Outcome::Message(e.to_string()),
        };
        if let Some(k) = self.log.driver_of_event(&ev) {
            return Outcome::Focus(k);
        }
        if let Some(service) = view::service_of_path(&ev.path) {
            let by_hive = case
                .hive
                .as_ref()
                .and_then(|h| h.service(service))
                .and_then(|s| s.driver.clone());
            let by_links = case.links.drivers.iter().find_map(|(k, l)| {
                l.service
                    .as_ref()
                    .filter(|s| s.name.eq_ignore_ascii_case(service))
                    .map(|_| k.clone())
            });
            if let Some(k) = by_hive.or(by_links) {
                return Outcome::Focus(k);
            }
        }
        Outcome::Message(format!(
            "event {event}: no driver in its path or on its stack"
        ))
    }

    fn handle_open_key(&mut self, key: KeyEvent, case: &Case) -> Outcome {
        let Some(open) = &mut self.open else {
            return Outcome::Ignored;
        };
        match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Backspace | KeyCode::Left => {
                self.open = None;
            }
            KeyCode::Down | KeyCode::Char('j') => open.scroll = open.scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => open.scroll = open.scroll.saturating_sub(1),
            KeyCode::PageDown => open.scroll = open.scroll.saturating_add(10),
            KeyCode::PageUp => open.scroll = open.scroll.saturating_sub(10),
            KeyCode::Home | KeyCode::Char('g') => open.scroll = 0,
            KeyCode::Char('f') => {
                let e = open.event;
                return self.focus_event(e, case);
            }
            _ => return Outcome::Ignored,
        }
        Outcome::Consumed
    }

    fn header_lines(&self, theme: &Theme, width: usize) -> Vec<Line<'static>> {
        let total = self.log.len();
        let mut first = vec![
            Span::styled("Boot log ", theme.header),
            Span::raw(format!("{}  ", self.name)),
            Span::styled(
                format!("{}/{} events", thousands(self.rows.len()), thousands(total)),
                theme.title,
            ),
        ];
        if let Some(job) = &self.job {
            let p = job.progress;
            let pct = (p.done * 100).checked_div(p.total).unwrap_or(0);
            first.push(Span::styled(format!("  {} {pct}%...", p.stage), theme.warn));
        }
        let arrow = sort_arrow(self.descending, theme);
        first.push(Span::styled(
            format!("  sort: {} {arrow}", self.sort.label()),
            theme.dim,
        ));
        let on = |b: bool| if b { "[x]" } else { "[ ]" };
        let mut second = vec![
            Span::styled(
                format!("e{}failures ", on(self.toggles.failures)),
                toggle_style(self.toggles.failures, theme),
            ),
            Span::styled(
                format!("o{}loads ", on(self.toggles.image_loads)),
                toggle_style(self.toggles.image_loads, theme),
            ),
            Span::styled(
                format!("p{}System ", on(self.toggles.system)),
                toggle_style(self.toggles.system, theme),
            ),
        ];
        match &self.focus {
            Some(t) => second.push(Span::styled(
                format!("d{}{} ", on(self.driver_only), t.key),
                if self.driver_only {
                    theme.focused_driver
                } else {
                    theme.dim
                },
            )),
            None => second.push(Span::styled("d[ ]driver ", theme.dim)),
        }
        let rules = self.filter.rules.len();
        let hl = self.highlight.rules.len();
        second.push(match (rules, hl) {
            (0, 0) => Span::styled(" no rules", theme.dim),
            _ => Span::styled(format!(" rules: {rules} filter, {hl} highlight"), theme.key),
        });
        if let Some(f) = &self.find {
            second.push(Span::styled(format!("  find: {}", f.query), theme.dim));
        }
        vec![clip(first, width), clip(second, width)]
    }

    fn rules_lines(&self, theme: &Theme) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        for r in &self.filter.rules {
            lines.push(Line::from(vec![
                Span::styled("filter    ", theme.key),
                Span::raw(r.to_string()),
            ]));
        }
        for r in &self.highlight.rules {
            lines.push(Line::from(vec![
                Span::styled("highlight ", theme.key),
                Span::raw(r.to_string()),
            ]));
        }
        if lines.is_empty() {
            lines.push(Line::styled(
                "No rules. i adds a filter rule, h a highlight rule (e.g. Path ends with .sys).",
                theme.dim,
            ));
        } else {
            lines.push(Line::styled(
                "x removes the last rule, c clears them all, l hides this list",
                theme.dim,
            ));
        }
        lines
    }

    fn render_table(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let block = widgets::block(
            &format!(
                "Timeline {}/{}",
                thousands(self.rows.len()),
                thousands(self.log.len())
            ),
            theme,
            true,
        );
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let cols = Cols::for_width(inner.width as usize);
        let arrow = sort_arrow(self.descending, theme);
        let label = |name: &str, col: SortColumn| {
            if self.sort == col {
                format!("{name}{arrow}")
            } else {
                name.to_string()
            }
        };
        // Each width of `cols` counts the gap after its column.
        let gap = |w: usize| u16::try_from(w.saturating_sub(1)).unwrap_or(u16::MAX);
        let mut columns = vec![
            Column::fixed("", 1),
            Column::fixed(label("Time of Day", SortColumn::Time), gap(cols.time)),
            Column::fixed(label("Process", SortColumn::Process), gap(cols.process)).priority(3),
        ];
        if cols.pid > 0 {
            columns.push(Column::fixed(label("PID", SortColumn::Pid), gap(cols.pid)).priority(1));
        }
        columns.push(Column::fixed(
            label("Operation", SortColumn::Operation),
            gap(cols.op),
        ));
        let path = Column::new(
            label("Path", SortColumn::Path),
            if cols.detail {
                Width::Fill(6)
            } else {
                Width::Min(7)
            },
        );
        columns.push(path.keep_end());
        columns
            .push(Column::fixed(label("Result", SortColumn::Result), gap(cols.result)).priority(2));
        if cols.detail {
            columns.push(Column::fill("Detail", 4));
        }
        let empty = if self.rows.is_empty() {
            let driver = self.focus.as_ref().filter(|_| self.driver_only);
            if self.job.is_some() {
                "filtering...".to_string()
            } else if self.log.is_empty() {
                "The boot log holds no events.".to_string()
            } else if let (Some(t), true, false) =
                (driver, self.filter.is_empty(), self.toggles.any())
            {
                format!(
                    "The boot log has no event of {}: no open of its image, no read of its \
                     service key, no stack through it. d shows every event.",
                    t.key
                )
            } else {
                "No event matches: l lists the rules, x removes the last, c clears them; \
                 e/o/p/d switch the toggles."
                    .to_string()
            }
        } else {
            String::new()
        };
        let ix = self.log.index();
        let source = table::rows(self.rows.len(), |row, ctx| {
            let e = self.rows.get(row)?;
            let t = ix.time.get(e).copied().unwrap_or(0);
            let proc = ix.process_of(e).and_then(|s| self.log.process(s));
            let op = ix.op_of(e).map(|o| o.name()).unwrap_or_default();
            let code = ix.result_of(e);
            let time = if cols.long_time {
                render::time_of_day(t)
            } else {
                short_time(t)
            };
            let marker = if ctx.selected {
                theme.cursor().trim_end()
            } else {
                " "
            };
            let mut cells: Vec<TableCell> = vec![
                marker.into(),
                time.into(),
                proc.map_or("", |p| p.name.as_str()).into(),
            ];
            if cols.pid > 0 {
                cells.push(proc.map_or_else(String::new, |p| p.pid.to_string()).into());
            }
            cells.push(op.into());
            cells.push(ix.path_of(e).into());
            let result_style = if view::is_failure(code) {
                theme.bad
            } else {
                Style::new()
            };
            cells.push(TableCell::styled(names::result_text(code), result_style));
            if cols.detail {
                // Only the rows on screen are decoded.
                let detail = self
                    .log
                    .event(e)
                    .map(|ev| ev.detail_text())
                    .unwrap_or_default();
                cells.push(detail.into());
            }
            let highlighted = !self.highlight.is_empty() && self.highlight.matches(&self.log, e);
            let style = if ctx.selected {
                theme.selected
            } else if highlighted {
                theme.key
            } else {
                theme.text
            };
            Some(TableRow::new(cells, style))
        });
        let mut cursor = self.cursor;
        DataTable::new(&columns)
            .header(theme.header)
            .empty(Line::styled(empty, theme.dim))
            .render(frame, inner, &mut cursor, &source);
        self.cursor = cursor;
    }

    /// Every field of one event, its detail, its stack and the focused driver's module entry.
    fn event_lines(&self, event: usize, theme: &Theme) -> Vec<Line<'static>> {
        let label = |s: &str| Span::styled(format!("{s:<18}"), theme.header);
        let ev = match self.log.event(event) {
            Ok(ev) => ev,
            Err(e) => return vec![Line::styled(e.to_string(), theme.bad)],
        };
        let mut lines = vec![Line::styled(
            format!(
                "Event {} of {} (file {}, offset 0x{:x})",
                event,
                thousands(self.log.len()),
                ev.file,
                ev.offset
            ),
            theme.title,
        )];
        let row = Renderer::new(&self.log).row(&ev);
        for (name, value) in HEADER.iter().zip(row) {
            let style = if *name == "Result" && view::is_failure(ev.result) {
                theme.bad
            } else {
                theme.text
            };
            lines.push(Line::from(vec![label(name), Span::styled(value, style)]));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled("Detail", theme.header));
        if ev.details.is_empty() {
            lines.push(Line::styled("  (none)", theme.dim));
        }
        for (k, v) in &ev.details {
            lines.push(Line::from(vec![
                Span::styled(format!("  {k:<22} "), theme.key),
                Span::raw(v.clone()),
            ]));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("Stack ({} frames)", ev.stack.len()),
            theme.header,
        ));
        let focus_key = self.focus.as_ref().map(|t| &t.key);
        for (k, f) in self.log.stack(&ev).into_iter().enumerate() {
            let module = self.log.frame_module(&ev, f.address);
            let mine = focus_key
                .is_some_and(|key| f.module.as_deref().is_some_and(|m| key.matches_path(m)));
            let mut spans = vec![
                Span::styled(
                    format!("  {k:>2} {} ", if f.kernel { "K" } else { "U" }),
                    theme.dim,
                ),
                Span::styled(
                    format!("{:<28} ", f.label()),
                    if mine {
                        theme.focused_driver
                    } else {
                        theme.text
                    },
                ),
                Span::styled(format!("0x{:016x} ", f.address), theme.dim),
            ];
            match module {
                Some(m) => {
                    spans.push(Span::raw(m.path.clone()));
                    if !m.version.is_empty() {
                        spans.push(Span::styled(format!("  {}", m.version), theme.dim));
                    }
                }
                None => spans.push(Span::styled("(no module)", theme.dim)),
            }
            lines.push(Line::from(spans));
        }
        if let Some(t) = &self.focus {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!("{} in the System process's module list", t.key),
                theme.header,
            ));
            match self.log.driver_module(&t.key) {
                Some(m) => {
                    for (k, v) in [
                        ("Path", m.path.clone()),
                        ("Base", format!("0x{:x}", m.base)),
                        ("Size", format!("0x{:x}", m.size)),
                        ("Timestamp", format!("0x{:08x}", m.timestamp)),
                        ("Version", m.version.clone()),
                        ("Company", m.company.clone()),
                        ("Description", m.description.clone()),
                    ] {
                        lines.push(Line::from(vec![label(&format!("  {k}")), Span::raw(v)]));
                    }
                }
                None => lines.push(Line::styled(
                    "  not there: the driver was not loaded when the capture's module list was taken",
                    theme.warn,
                )),
            }
            if let Some(s) = &self.scope
                && s.target.key == t.key
            {
                let why = s.reasons(event as u32);
                if !why.is_empty() {
                    lines.push(Line::from(vec![
                        label("  This event"),
                        Span::raw(format!("{} ({})", t.key, why.join(", "))),
                    ]));
                }
            }
        }
        lines
    }
}

/// Column widths for a table of `w` columns, each counting the gap after it (the first two
/// columns hold the cursor marker); the path and, when wide, the detail share the rest 6:4.
struct Cols {
    time: usize,
    long_time: bool,
    process: usize,
    pid: usize,
    op: usize,
    result: usize,
    detail: bool,
}

impl Cols {
    fn for_width(w: usize) -> Cols {
        let avail = w.saturating_sub(2);
        if avail >= 140 {
            Cols {
                time: 19,
                long_time: true,
                process: 14,
                pid: 6,
                op: 19,
                result: 16,
                detail: true,
            }
        } else if avail >= 100 {
            Cols {
                time: 19,
                long_time: true,
                process: 13,
                pid: 6,
                op: 17,
                result: 15,
                detail: true,
            }
        } else {
            Cols {
                time: 17,
                long_time: false,
                process: 9,
                pid: 0,
                op: 15,
                result: 15,
                detail: false,
            }
        }
    }
}

/// 24-hour `HH:MM:SS.fffffff` for narrow tables (what the jump to a time takes).
fn short_time(filetime: u64) -> String {
    let c = render::civil(filetime);
    format!(
        "{:02}:{:02}:{:02}.{:07}",
        c.hour, c.minute, c.second, c.ticks
    )
}

fn thousands(n: usize) -> String {
    render::thousands(n as i128)
}

fn sort_arrow(descending: bool, theme: &Theme) -> &'static str {
    match (descending, theme.ascii) {
        (false, false) => "↑",
        (true, false) => "↓",
        (false, true) => "^",
        (true, true) => "v",
    }
}

fn toggle_style(on: bool, theme: &Theme) -> Style {
    if on { theme.key } else { theme.dim }
}

/// Cut a line of spans to `width` columns.
fn clip(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut left = width;
    let mut out = Vec::new();
    for s in spans {
        if left == 0 {
            break;
        }
        let n = s.content.chars().count();
        if n <= left {
            left -= n;
            out.push(s);
        } else {
            out.push(Span::styled(fit(&s.content, left), s.style));
            left = 0;
        }
    }
    Line::from(out)
}

impl Pane for TimelinePane {
    fn title(&self) -> &'static str {
        crate::ui::pane_id::PaneId::Timeline.title()
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext) {
        let theme = ctx.theme;
        let input_h = if self.input.is_some() { 3 } else { 0 };
        let error_h = u16::from(self.input.is_some() && self.input_error.is_some());
        let rules = if self.show_rules {
            Some(self.rules_lines(theme))
        } else {
            None
        };
        let rules_h = rules
            .as_ref()
            .map_or(0, |l| (l.len() as u16 + 2).min(area.height / 3));
        let [head, body, error, input, rules_area] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(3),
            Constraint::Length(error_h),
            Constraint::Length(input_h),
            Constraint::Length(rules_h),
        ])
        .areas(area);
        frame.render_widget(
            Paragraph::new(self.header_lines(theme, head.width as usize)),
            head,
        );
        match self.open.as_ref().map(|o| (o.event, o.scroll)) {
            Some((event, scroll)) => {
                let lines = self.event_lines(event, theme);
                let max = (lines.len() as u16).saturating_sub(1);
                let scroll = scroll.min(max);
                if let Some(o) = &mut self.open {
                    o.scroll = scroll;
                }
                frame.render_widget(
                    Paragraph::new(lines)
                        .block(widgets::block(
                            &format!("Event {event} (Esc back, j/k scroll, f focus)"),
                            theme,
                            true,
                        ))
                        .wrap(Wrap { trim: false })
                        .scroll((scroll, 0)),
                    body,
                );
            }
            None => self.render_table(frame, body, theme),
        }
        if let (Some(e), true) = (&self.input_error, error_h > 0) {
            frame.render_widget(
                Paragraph::new(Line::styled(fit(e, error.width as usize), theme.bad)),
                error,
            );
        }
        if let Some((_, i)) = &mut self.input {
            i.render(frame, input, theme);
        }
        if let Some(lines) = rules {
            frame.render_widget(
                Paragraph::new(lines).block(widgets::block("Rules", theme, false)),
                rules_area,
            );
        }
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &PaneContext) -> Outcome {
        if let Some((kind, input)) = &mut self.input {
            let kind = *kind;
            return match input.handle(key) {
                InputEvent::Submit(text) => {
                    self.input = None;
                    self.submit(kind, text)
                }
                InputEvent::Cancel => {
                    self.input = None;
                    self.input_error = None;
                    Outcome::Consumed
                }
                InputEvent::Edited => Outcome::Consumed,
            };
        }
        if self.open.is_some() {
            return self.handle_open_key(key, ctx.case);
        }
        if self.cursor.handle(&key, self.rows.len()) {
            return Outcome::Consumed;
        }
        let start = |kind: InputKind, text: &str| Some((kind, LineInput::new(kind.label(), text)));
        match key.code {
            KeyCode::Enter => {
                if let Some(e) = self.selected_event() {
                    self.open = Some(EventView {
                        event: e,
                        scroll: 0,
                    });
                }
            }
            KeyCode::Char('f') => {
                return match self.selected_event() {
                    Some(e) => self.focus_event(e, ctx.case),
                    None => Outcome::Consumed,
                };
            }
            KeyCode::Char('s') => {
                self.sort = self.sort.next();
                self.refresh();
            }
            KeyCode::Char('S') => {
                self.descending = !self.descending;
                self.refresh();
            }
            KeyCode::Char('i') => self.input = start(InputKind::Filter, ""),
            KeyCode::Char('h') => self.input = start(InputKind::Highlight, ""),
            KeyCode::Char('/') => {
                let q = self
                    .find
                    .as_ref()
                    .map(|f| f.query.clone())
                    .unwrap_or_default();
                self.input = start(InputKind::Search, &q);
            }
            KeyCode::Char('t') => self.input = start(InputKind::Time, ""),
            KeyCode::Char('l') => self.show_rules = !self.show_rules,
            KeyCode::Char('x') => {
                if self.highlight.rules.pop().is_none() && self.filter.rules.pop().is_some() {
                    self.refresh();
                }
            }
            KeyCode::Char('c') => {
                self.highlight.rules.clear();
                if !self.filter.rules.is_empty() {
                    self.filter.rules.clear();
                    self.refresh();
                }
            }
            KeyCode::Char('e') => {
                self.toggles.failures = !self.toggles.failures;
                self.refresh();
            }
            KeyCode::Char('o') => {
                self.toggles.image_loads = !self.toggles.image_loads;
                self.refresh();
            }
            KeyCode::Char('p') => {
                self.toggles.system = !self.toggles.system;
                self.refresh();
            }
            KeyCode::Char('d') => {
                if self.focus.is_none() {
                    return Outcome::Message(
                        "no driver focused: f on a row focuses its driver".into(),
                    );
                }
                self.driver_only = !self.driver_only;
                self.refresh();
            }
            KeyCode::Char('n') => return self.find_next(true),
            KeyCode::Char('N') => return self.find_next(false),
            _ => return Outcome::Ignored,
        }
        Outcome::Consumed
    }

    fn on_focus(&mut self, focus: Option<&DriverKey>, case: &Case) {
        let target = focus.map(|k| {
            let links = case.links.get(k);
            DriverTarget {
                key: k.clone(),
                service: links
                    .and_then(|l| l.service.as_ref())
                    .map(|s| s.name.clone()),
                catalog: links
                    .and_then(|l| l.signature.as_ref())
                    .and_then(|s| s.catalog.clone()),
            }
        });
        if target == self.focus {
            return;
        }
        self.driver_only = target.is_some();
        self.focus = target;
        self.open = None;
        self.refresh();
    }

    fn hints(&self) -> Vec<Hint> {
        vec![
            hint("j/k g/G", "move, first/last row"),
            hint("PgUp/PgDn", "page"),
            hint("Enter/Esc", "event + stack / back"),
            hint("f", "focus the row's driver"),
            hint("s / S", "next sort column/reverse"),
            hint("i / h", "add filter/highlight rule"),
            hint("l / x / c", "rules: list/undo/clear"),
            hint("e / o / p", "failures/loads/System"),
            hint("d", "focused driver's events"),
            hint("t", "jump to time HH:MM:SS"),
            hint("/ n N", "find, next/previous"),
        ]
    }

    fn captures_input(&self) -> bool {
        self.input.is_some()
    }

    fn tick(&mut self) -> bool {
        let Some(job) = &mut self.job else {
            return false;
        };
        match job.poll() {
            Ok(Some(r)) => {
                self.job = None;
                self.apply(r);
                true
            }
            // Still running: redraw for the progress line.
            Ok(None) => true,
            Err(e) => {
                tracing::error!("{e}");
                self.job = None;
                true
            }
        }
    }
}
