//! Timeline: the Procmon boot log as a virtualised table (Time of Day, Process, PID, Operation,
//! Path, Result, Detail) over the column index: only the rows on screen are decoded. Filter
//! rules in Procmon's form (the same as `bsodwb pml --filter`), highlight rules, quick toggles
//! (failures, image loads, the System process, the focused driver's events), sorting, a jump
//! to a time and a search with `n`/`N`. Filtering and sorting run on a worker thread
//! ([`ViewJob`]); the pane only polls it in `tick`. Enter opens one event: every field, the
//! detail, the resolved stack and, with a driver focused, the System process's module entry.

use crate::analysis::CaseAnalysis;
use crate::case::Case;
use crate::pml::csv::{HEADER, Renderer};
use crate::pml::preset::{self, RuleEntry, RuleKind};
use crate::pml::view::{
    self, Activity, DriverScope, DriverTarget, Find, Rows, SortColumn, Toggles, ViewJob, ViewSpec,
};
use crate::pml::{Column as PmlColumn, DriverQuery, Filter, PmlLog, Rule, names, render};
use crate::ui::action::{Outcome, PaneAction};
use crate::ui::pane::{Pane, PaneContext, Yank};
use crate::ui::theme::Theme;
use crate::ui::widgets::chooser::TableLayout;
use crate::ui::widgets::command::{Command, ExportFormat};
use crate::ui::widgets::input::{InputEvent, LineInput};
use crate::ui::widgets::popup::{self, PopupScroll};
use crate::ui::widgets::table::{self, Column, DataTable, TableCell, TableRow, Width};
use crate::ui::widgets::{self, cursor::Cursor, fit};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, SparklineBar};
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

/// A small menu over the table, answered by one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Picker {
    /// `s`: the column to sort by (1-6, or move and Enter).
    Sort { at: usize },
    /// `v`: a column of the event under the cursor, to include (i), exclude (e) or highlight
    /// (h) its value, as Procmon's right-click does.
    Value { at: usize },
}

/// The columns whose value under the cursor the value picker offers.
const VALUE_COLUMNS: [PmlColumn; 5] = [
    PmlColumn::ProcessName,
    PmlColumn::Pid,
    PmlColumn::Operation,
    PmlColumn::Path,
    PmlColumn::Result,
];

/// One event opened with Enter.
struct EventView {
    event: usize,
    scroll: PopupScroll,
}

/// Logs with fewer events have their activity strip binned on the UI thread (about 10 ms at
/// this size in release builds); larger ones on a worker.
const ACTIVITY_INLINE_EVENTS: usize = 500_000;

/// Sparkline levels in ASCII for `--ascii`.
const ASCII_BARS: ratatui::symbols::bar::Set = ratatui::symbols::bar::Set {
    full: "#",
    seven_eighths: "#",
    three_quarters: "%",
    five_eighths: "=",
    half: "=",
    three_eighths: "-",
    one_quarter: ":",
    one_eighth: ".",
    empty: " ",
};

pub struct TimelinePane {
    log: Arc<PmlLog>,
    /// The log's path in the case.
    name: String,
    /// The rule list, in the order the rules were added; each on or off.
    rules: Vec<RuleEntry>,
    /// The rule under the list's cursor (while the list shows).
    rule_at: usize,
    /// The filter and highlight rules that are on (built from `rules`).
    filter: Filter,
    highlight: Filter,
    picker: Option<Picker>,
    /// The table's wrap, columns and sideways scroll (`W`, `C`, `<`/`>`), as every table's.
    layout: TableLayout,
    /// The table takes the whole pane (header lines, strip and rule list hidden).
    zoom: bool,
    /// The choices Tab left in the rule editor.
    input_hint: Option<String>,
    /// Where presets are saved and loaded (`~/.config/bsodwb/filters`).
    preset_dir: Option<std::path::PathBuf>,
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
    /// The rows the search matches, in order (dropped when the rows change).
    find_hits: Option<Vec<u32>>,
    show_rules: bool,
    open: Option<EventView>,
    /// The shown rows' events per slice of the boot (the activity strip), from the worker.
    activity: Option<Arc<Activity>>,
    /// The whole log's activity, computed once (shown when no rule or toggle narrows it).
    all_activity: Option<Arc<Activity>>,
    /// Its worker's answer, while it bins the log.
    all_activity_rx: Option<std::sync::mpsc::Receiver<Arc<Activity>>>,
}

impl TimelinePane {
    /// The pane over a loaded boot log; `name` is its path in the case.
    pub fn new(log: Arc<PmlLog>, name: &str) -> TimelinePane {
        let n = log.len();
        TimelinePane {
            log,
            name: name.to_string(),
            rules: Vec::new(),
            rule_at: 0,
            filter: Filter::default(),
            highlight: Filter::default(),
            picker: None,
            layout: TableLayout::default(),
            zoom: false,
            input_hint: None,
            preset_dir: preset::presets_dir(),
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
            find_hits: None,
            show_rules: false,
            open: None,
            activity: None,
            all_activity: None,
            all_activity_rx: None,
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

    /// The rule list (filter and highlight rules, each on or off).
    pub fn rule_list(&self) -> &[RuleEntry] {
        &self.rules
    }

    /// The highlight rules in force.
    pub fn highlight(&self) -> &Filter {
        &self.highlight
    }

    /// Save and load presets in `dir` instead of the configuration folder.
    pub fn set_preset_dir(&mut self, dir: std::path::PathBuf) {
        self.preset_dir = Some(dir);
    }

    /// The rule list changed: rebuild the rules in force and refilter when the filter moved.
    fn rules_changed(&mut self) {
        self.rule_at = self.rule_at.min(self.rules.len().saturating_sub(1));
        self.highlight = preset::active(&self.rules, RuleKind::Highlight);
        let filter = preset::active(&self.rules, RuleKind::Filter);
        if filter != self.filter {
            self.filter = filter;
            self.refresh();
        }
    }

    /// Add a rule to the list (on) and apply it.
    fn add_rule(&mut self, rule: Rule, kind: RuleKind) {
        self.rules.push(RuleEntry::new(rule, kind));
        // The list's cursor follows the new rule.
        self.rule_at = self.rules.len() - 1;
        self.rules_changed();
    }

    /// The value picker's answer: a rule on `column`'s value in the event under the cursor.
    fn value_rule(&mut self, at: usize, kind: RuleKind, include: bool) -> Outcome {
        let Some(e) = self.selected_event() else {
            return Outcome::Message("no event under the cursor".into());
        };
        let column = VALUE_COLUMNS[at.min(VALUE_COLUMNS.len() - 1)];
        let value = self.cell(e, column);
        let rule = Rule::new(column, crate::pml::Relation::Is, &value, include);
        let what = match (kind, include) {
            (RuleKind::Highlight, _) => "highlighting",
            (_, true) => "including",
            (_, false) => "excluding",
        };
        let msg = format!("{what} {}", crate::escape::escape_field(&rule.to_string()));
        self.add_rule(rule, kind);
        Outcome::Message(msg)
    }

    /// The text of one column of event `e`, as the filter compares it.
    fn cell(&self, e: usize, column: PmlColumn) -> String {
        let ix = self.log.index();
        let proc = ix.process_of(e).and_then(|s| self.log.process(s));
        match column {
            PmlColumn::ProcessName => proc.map_or_else(String::new, |p| p.name.clone()),
            PmlColumn::Pid => proc.map_or_else(String::new, |p| p.pid.to_string()),
            PmlColumn::Operation => ix.op_of(e).map(|o| o.name()).unwrap_or_default(),
            PmlColumn::Path => ix.path_of(e).to_string(),
            PmlColumn::Result => names::result_text(ix.result_of(e)).to_string(),
            _ => String::new(),
        }
    }

    /// A key while a picker shows: `Some` with what it did.
    fn picker_key(&mut self, key: KeyEvent) -> Option<Outcome> {
        let picker = self.picker?;
        let (at, n) = match picker {
            Picker::Sort { at } => (at, SortColumn::ALL.len()),
            Picker::Value { at } => (at, VALUE_COLUMNS.len()),
        };
        let moved = |to: usize| match picker {
            Picker::Sort { .. } => Picker::Sort { at: to },
            Picker::Value { .. } => Picker::Value { at: to },
        };
        let outcome = match (picker, key.code) {
            (_, KeyCode::Esc) => {
                self.picker = None;
                Outcome::Consumed
            }
            (_, KeyCode::Down | KeyCode::Char('j')) => {
                self.picker = Some(moved((at + 1) % n));
                Outcome::Consumed
            }
            (_, KeyCode::Up | KeyCode::Char('k')) => {
                self.picker = Some(moved((at + n - 1) % n));
                Outcome::Consumed
            }
            (Picker::Sort { .. }, KeyCode::Enter) => self.sort_by(at),
            (Picker::Sort { .. }, KeyCode::Char(c @ '1'..='9')) => {
                let i = c as usize - '1' as usize;
                if i < n {
                    self.sort_by(i)
                } else {
                    Outcome::Consumed
                }
            }
            (Picker::Value { .. }, KeyCode::Char('i') | KeyCode::Enter) => {
                self.picker = None;
                self.value_rule(at, RuleKind::Filter, true)
            }
            (Picker::Value { .. }, KeyCode::Char('e')) => {
                self.picker = None;
                self.value_rule(at, RuleKind::Filter, false)
            }
            (Picker::Value { .. }, KeyCode::Char('h')) => {
                self.picker = None;
                self.value_rule(at, RuleKind::Highlight, true)
            }
            _ => Outcome::Consumed,
        };
        Some(outcome)
    }

    /// Sort by the picker's column `i` (once, on the worker) and close the picker.
    fn sort_by(&mut self, i: usize) -> Outcome {
        self.picker = None;
        let c = SortColumn::ALL[i.min(SortColumn::ALL.len() - 1)];
        if c != self.sort {
            self.sort = c;
            self.refresh();
        }
        Outcome::Message(format!("sorted by {}", c.label()))
    }

    /// The picker's box over the table.
    fn render_picker(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let Some(picker) = self.picker else {
            return;
        };
        let (title, at, rows): (&str, usize, Vec<String>) = match picker {
            Picker::Sort { at } => (
                "Sort by (1-6 or Enter, Esc)",
                at,
                SortColumn::ALL
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let now = if *c == self.sort { "  (now)" } else { "" };
                        format!("{} {}{now}", i + 1, c.label())
                    })
                    .collect(),
            ),
            Picker::Value { at } => {
                let e = self.selected_event();
                (
                    "i include, e exclude, h highlight (Esc)",
                    at,
                    VALUE_COLUMNS
                        .iter()
                        .map(|c| {
                            let v = e.map(|e| self.cell(e, *c)).unwrap_or_default();
                            format!("{:<13}{}", c.name(), crate::escape::escape_field(&v))
                        })
                        .collect(),
                )
            }
        };
        popup::choice_list(frame, area, title, &rows, at, theme);
    }

    /// `:filter save|load|import|presets ...`: the rule list as a preset.
    fn preset_command(&mut self, text: &str) -> Option<Outcome> {
        let (verb, arg) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let arg = arg.trim();
        let dir = || {
            self.preset_dir
                .clone()
                .ok_or_else(|| preset::PresetError::NoConfigDir.to_string())
        };
        let esc = |s: &str| crate::escape::escape_field(s).into_owned();
        let msg = match verb {
            "save" if !arg.is_empty() => match dir()
                .and_then(|d| preset::save_in(&d, arg, &self.rules).map_err(|e| e.to_string()))
            {
                Ok(path) => format!(
                    "saved {} rules as {}",
                    self.rules.len(),
                    esc(&path.display().to_string())
                ),
                Err(e) => e,
            },
            "load" if !arg.is_empty() => {
                match dir().and_then(|d| preset::load_in(&d, arg).map_err(|e| e.to_string())) {
                    Ok(rules) => {
                        let n = rules.len();
                        self.rules = rules;
                        self.rules_changed();
                        format!("loaded preset {} ({n} rules)", esc(arg))
                    }
                    Err(e) => e,
                }
            }
            "import" if !arg.is_empty() => {
                match preset::import_procmon(std::path::Path::new(arg)) {
                    Ok(got) => {
                        let n = got.entries.len();
                        self.rules.extend(got.entries);
                        self.rules_changed();
                        let skipped = match got.skipped.first() {
                            Some(first) => {
                                format!("; {} left out ({})", got.skipped.len(), esc(first))
                            }
                            None => String::new(),
                        };
                        format!("imported {n} rules from {}{skipped}", esc(arg))
                    }
                    Err(e) => e.to_string(),
                }
            }
            "presets" => match dir() {
                Ok(d) => {
                    let names = preset::list_in(&d);
                    if names.is_empty() {
                        format!(
                            "no presets in {} (:filter save NAME saves the rules)",
                            esc(&d.display().to_string())
                        )
                    } else {
                        format!("presets: {}", names.join(", "))
                    }
                }
                Err(e) => e,
            },
            "save" | "load" | "import" => format!(":filter {verb} needs a name"),
            _ => return None,
        };
        Some(Outcome::Message(msg))
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
            let all = self.whole_log_activity();
            self.apply(view::ViewResult {
                rows: Rows::All(self.log.len()),
                activity: all,
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

    /// The whole log's activity strip, computed once.
    /// `None` until a worker has binned the whole log (a pass over millions of events is
    /// not done on the UI thread); `tick` picks the result up.
    fn whole_log_activity(&mut self) -> Option<Arc<Activity>> {
        if let Some(a) = &self.all_activity {
            return Some(Arc::clone(a));
        }
        // A small log is binned at once (well under a frame); a large one on a worker.
        if self.log.len() < ACTIVITY_INLINE_EVENTS {
            let rows = Rows::All(self.log.len());
            let a = Arc::new(view::activity(&self.log, &rows, view::STRIP_SLICES));
            self.all_activity = Some(Arc::clone(&a));
            return Some(a);
        }
        if self.all_activity_rx.is_none() {
            let (tx, rx) = std::sync::mpsc::channel();
            let log = Arc::clone(&self.log);
            let spawned = std::thread::Builder::new()
                .name("timeline-activity".into())
                .spawn(move || {
                    let rows = Rows::All(log.len());
                    let _ = tx.send(Arc::new(view::activity(&log, &rows, view::STRIP_SLICES)));
                });
            if spawned.is_ok() {
                self.all_activity_rx = Some(rx);
            }
        }
        None
    }

    fn apply(&mut self, r: view::ViewResult) {
        if r.cancelled {
            return;
        }
        self.rows = r.rows;
        self.activity = r.activity;
        self.find_hits = None;
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
                    let kind = if kind == InputKind::Filter {
                        RuleKind::Filter
                    } else {
                        RuleKind::Highlight
                    };
                    self.add_rule(rule, kind);
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
                self.find = Some(Find::new(&self.log, &text));
                self.find_hits = None;
                // The first match at or after the cursor.
                self.find_move(true, true)
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

    /// `n`/`N` (and a new search): the next or previous matching row, centred, and which
    /// match it is of how many ("match 3 of 41"), saying when the search wrapped.
    fn find_next(&mut self, forward: bool) -> Outcome {
        self.find_move(forward, false)
    }

    /// The next (previous) match after (before) the cursor, or at it when `inclusive`.
    fn find_move(&mut self, forward: bool, inclusive: bool) -> Outcome {
        let Some(find) = &self.find else {
            return Outcome::Message("no search yet: / to search".into());
        };
        let hits = self
            .find_hits
            .get_or_insert_with(|| find.hits(&self.log, &self.rows));
        let from = self.cursor.selected;
        let at = hits.partition_point(|&r| (r as usize) < from + usize::from(!inclusive));
        let (k, wrapped) = if hits.is_empty() {
            return Outcome::Message(format!("no row matches {:?}", find.query));
        } else if forward {
            if at < hits.len() {
                (at, false)
            } else {
                (0, true)
            }
        } else {
            let before = hits.partition_point(|&r| (r as usize) < from);
            if before > 0 {
                (before - 1, false)
            } else {
                (hits.len() - 1, true)
            }
        };
        let row = hits[k] as usize;
        let note = match (wrapped, forward) {
            (false, _) => "",
            (true, true) => " (search hit the bottom, went on from the top)",
            (true, false) => " (search hit the top, went on from the bottom)",
        };
        let msg = format!("/{}: match {} of {}{note}", find.query, k + 1, hits.len());
        self.cursor.center(row);
        Outcome::Message(msg)
    }

    /// `f`: the driver of an event's path (an image, or a service key the hive names the
    /// driver of) or of its innermost driver frame.
    fn focus_event(&self, event: usize, analysis: &CaseAnalysis) -> Outcome {
        let ev = match self.log.event(event) {
            Ok(ev) => ev,
            Err(e) => return Outcome::Message(e.to_string()),
        };
        if let Some(k) = self.log.driver_of_event(&ev) {
            return Outcome::Focus(k);
        }
        if let Some(service) = view::service_of_path(&ev.path)
            && let Some(k) = analysis.driver_of_service(service)
        {
            return Outcome::Focus(k.clone());
        }
        Outcome::Message(format!(
            "event {event}: no driver in its path or on its stack"
        ))
    }

    fn handle_open_action(&mut self, action: PaneAction, analysis: &CaseAnalysis) -> Outcome {
        use PaneAction as A;
        let Some(open) = &mut self.open else {
            return Outcome::Ignored;
        };
        match action {
            A::Close | A::Details => self.open = None,
            A::Focus => {
                let e = open.event;
                return self.focus_event(e, analysis);
            }
            a => {
                if !open.scroll.act(a) {
                    return Outcome::Ignored;
                }
            }
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
        // Each toggle shows the key that flips it, from the keymap.
        let key = |a: PaneAction| {
            crate::ui::keymap::current().pane_label(crate::ui::pane_id::PaneId::Timeline, a)
        };
        let mut second = vec![
            Span::styled(
                format!(
                    "{}{}failures ",
                    key(PaneAction::Failures),
                    on(self.toggles.failures)
                ),
                toggle_style(self.toggles.failures, theme),
            ),
            Span::styled(
                format!(
                    "{}{}loads ",
                    key(PaneAction::ImageLoads),
                    on(self.toggles.image_loads)
                ),
                toggle_style(self.toggles.image_loads, theme),
            ),
            Span::styled(
                format!(
                    "{}{}System ",
                    key(PaneAction::SystemProcess),
                    on(self.toggles.system)
                ),
                toggle_style(self.toggles.system, theme),
            ),
        ];
        match &self.focus {
            Some(t) => second.push(Span::styled(
                format!(
                    "{}{}{} ",
                    key(PaneAction::DriverOnly),
                    on(self.driver_only),
                    t.key
                ),
                if self.driver_only {
                    theme.focused_driver
                } else {
                    theme.dim
                },
            )),
            None => second.push(Span::styled(
                format!("{}[ ]driver ", key(PaneAction::DriverOnly)),
                theme.dim,
            )),
        }
        let rules = self.filter.rules.len();
        let hl = self.highlight.rules.len();
        let off = self.rules.iter().filter(|r| !r.on).count();
        let off = if off > 0 {
            format!(", {off} off")
        } else {
            String::new()
        };
        second.push(match (rules, hl, self.rules.len()) {
            (_, _, 0) => Span::styled(" no rules", theme.dim),
            _ => Span::styled(
                format!(" rules: {rules} filter, {hl} highlight{off}"),
                theme.key,
            ),
        });
        if let Some(f) = &self.find {
            second.push(Span::styled(format!("  find: {}", f.query), theme.dim));
        }
        vec![clip(first, width), clip(second, width)]
    }

    fn rules_lines(&self, theme: &Theme) -> Vec<Line<'static>> {
        let key = |a: PaneAction| {
            crate::ui::keymap::current().pane_label(crate::ui::pane_id::PaneId::Timeline, a)
        };
        let mut lines = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            let mark = if r.on { "[x] on  " } else { "[ ] off " };
            let kind = match r.kind {
                RuleKind::Filter => "filter    ",
                RuleKind::Highlight => "highlight ",
            };
            let cursor = if i == self.rule_at {
                theme.cursor()
            } else {
                "  "
            };
            let style = match (i == self.rule_at, r.on) {
                (true, _) => theme.selected,
                (false, true) => theme.text,
                (false, false) => theme.dim,
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{cursor}{mark}"), style),
                Span::styled(kind, if r.on { theme.key } else { theme.dim }),
                Span::styled(r.rule.to_string(), style),
            ]));
        }
        if lines.is_empty() {
            lines.push(Line::styled(
                format!(
                    "No rules. {} adds a filter rule, {} a highlight rule (e.g. Path ends with .sys).",
                    key(PaneAction::AddFilter),
                    key(PaneAction::AddHighlight)
                ),
                theme.dim,
            ));
        } else {
            lines.push(Line::styled(
                format!(
                    "{} on/off, {} removes the rule, {} clears all, {} hides; :filter save NAME",
                    key(PaneAction::ToggleRule),
                    key(PaneAction::UndoRule),
                    key(PaneAction::ClearRules),
                    key(PaneAction::Rules)
                ),
                theme.dim,
            ));
        }
        lines
    }

    /// One line: the shown events per slice of the boot as a sparkline (slices with failures
    /// in the bad style, the selected event's slice reversed), then the longest silence.
    fn render_strip(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        if self.activity.is_none() && self.job.is_none() && self.rows.len() == self.log.len() {
            self.activity = self.whole_log_activity();
        }
        let Some(a) = self.activity.as_deref() else {
            return;
        };
        let stall = a
            .stall
            .filter(|&(_, gap)| gap >= 10_000_000)
            .map(|(at, gap)| {
                format!(
                    " {:.1} s silent after {}",
                    gap as f64 / 1e7,
                    render::time_of_day(at)
                )
            })
            .unwrap_or_default();
        let label = "events/time ";
        // Failures in a word too, not only in the bars' colour.
        let failed: u64 = a.failures.iter().sum();
        let failed = if failed > 0 {
            format!(" !{failed} failed")
        } else {
            String::new()
        };
        let [l, bars, f, r] = Layout::horizontal([
            Constraint::Length(label.len() as u16),
            Constraint::Min(8),
            Constraint::Length(failed.chars().count() as u16),
            Constraint::Length(stall.chars().count() as u16),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(Span::styled(label, theme.dim)), l);
        frame.render_widget(Paragraph::new(Span::styled(failed, theme.bad)), f);
        frame.render_widget(Paragraph::new(Span::styled(stall, theme.warn)), r);
        let cols = bars.width as usize;
        let n = a.events.len();
        if cols == 0 || n == 0 {
            return;
        }
        let selected = self
            .selected_event()
            .and_then(|e| self.log.index().time.get(e).copied())
            .map(|t| a.slice_of(t) * cols / n);
        let data: Vec<SparklineBar> = (0..cols)
            .map(|c| {
                let (from, to) = (c * n / cols, ((c + 1) * n / cols).max(c * n / cols + 1));
                let events: u64 = a.events[from..to.min(n)].iter().sum();
                let failures: u64 = a.failures[from..to.min(n)].iter().sum();
                let style = if selected == Some(c) {
                    theme.selected
                } else if failures > 0 {
                    theme.bad
                } else {
                    theme.good
                };
                SparklineBar::from(events).style(Some(style))
            })
            .collect();
        let set = if theme.ascii {
            ASCII_BARS
        } else {
            ratatui::symbols::bar::NINE_LEVELS
        };
        frame.render_widget(Sparkline::default().data(data).bar_set(set), bars);
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
        // Every column, always in this order (the column chooser counts on it); on a narrow
        // screen PID and Detail come into view by scrolling sideways.
        let columns = timeline_columns(&cols, &label);
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
                let key = |a: PaneAction| {
                    crate::ui::keymap::current().pane_label(crate::ui::pane_id::PaneId::Timeline, a)
                };
                format!(
                    "No event matches: {} lists the rules ({} switches one off), {} clears them; \
                     {}/{}/{}/{} switch the toggles.",
                    key(PaneAction::Rules),
                    key(PaneAction::ToggleRule),
                    key(PaneAction::ClearRules),
                    key(PaneAction::Failures),
                    key(PaneAction::ImageLoads),
                    key(PaneAction::SystemProcess),
                    key(PaneAction::DriverOnly)
                )
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
            cells.push(proc.map_or_else(String::new, |p| p.pid.to_string()).into());
            cells.push(op.into());
            cells.push(ix.path_of(e).into());
            let result_style = if view::is_failure(code) {
                theme.bad
            } else {
                Style::new()
            };
            cells.push(TableCell::styled(names::result_text(code), result_style));
            // Only the rows on screen are decoded, and only when Detail shows.
            if ctx.widths.get(7).is_some_and(|w| *w > 0) {
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
                theme.highlight
            } else {
                theme.text
            };
            Some(TableRow::new(cells, style))
        });
        let mut cursor = self.cursor;
        DataTable::new(&columns)
            .view(&self.layout.view)
            .header(theme.header)
            .empty(Line::styled(empty, theme.dim))
            .render(frame, inner, &mut cursor, &source);
        self.cursor = cursor;
        self.layout.drawn(&columns);
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

/// The Timeline's columns: marker, Time of Day, Process, PID, Operation, Path, Result, Detail.
fn timeline_columns(cols: &Cols, label: &dyn Fn(&str, SortColumn) -> String) -> Vec<Column> {
    // Each width of `cols` counts the gap after its column.
    let gap = |w: usize| u16::try_from(w.saturating_sub(1)).unwrap_or(u16::MAX);
    let (pid, path, detail) = if cols.detail {
        (
            Column::fixed(label("PID", SortColumn::Pid), gap(cols.pid)).priority(1),
            Column::new(label("Path", SortColumn::Path), Width::Fill(6)),
            Column::fill("Detail", 4),
        )
    } else {
        (
            Column::fixed(label("PID", SortColumn::Pid), 5).priority(0),
            Column::new(label("Path", SortColumn::Path), Width::Min(20)),
            Column::fixed("Detail", 40).priority(0),
        )
    };
    vec![
        Column::fixed("", 1),
        Column::fixed(label("Time of Day", SortColumn::Time), gap(cols.time)).short("Time"),
        Column::fixed(label("Process", SortColumn::Process), gap(cols.process))
            .priority(3)
            .short("Proc"),
        pid,
        Column::fixed(label("Operation", SortColumn::Operation), gap(cols.op)).short("Op"),
        path.path(),
        Column::fixed(label("Result", SortColumn::Result), gap(cols.result))
            .priority(2)
            .short("Res"),
        detail,
    ]
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
        let error_h = u16::from(
            self.input.is_some() && (self.input_error.is_some() || self.input_hint.is_some()),
        );
        let rules = if self.show_rules {
            Some(self.rules_lines(theme))
        } else {
            None
        };
        let rules_h = rules
            .as_ref()
            .map_or(0, |l| (l.len() as u16 + 2).min(area.height / 3));
        // The activity strip over the list when there is room (a 24-row terminal keeps it).
        let strip_h = u16::from(area.height >= 16 && self.open.is_none() && !self.zoom);
        let (head_h, rules_h) = if self.zoom { (0, 0) } else { (2, rules_h) };
        let [head, strip, body, error, input, rules_area] = Layout::vertical([
            Constraint::Length(head_h),
            Constraint::Length(strip_h),
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
        if strip_h > 0 {
            self.render_strip(frame, strip, theme);
        }
        match self.open.as_ref().map(|o| o.event) {
            Some(event) => {
                // The event's fields and stack in the one scrolling popup, over the list.
                let width = usize::from(body.width.saturating_sub(2));
                let rows: Vec<Line<'static>> = self
                    .event_lines(event, theme)
                    .iter()
                    .flat_map(|l| popup::wrap_line(l, width))
                    .collect();
                if let Some(o) = &mut self.open {
                    popup::render_rows(
                        frame,
                        body,
                        &format!("Event {event} (Esc back, f focus)"),
                        rows,
                        theme,
                        &mut o.scroll,
                    );
                }
            }
            None => self.render_table(frame, body, theme),
        }
        if let (Some(e), true) = (&self.input_error, error_h > 0) {
            frame.render_widget(
                Paragraph::new(Line::styled(fit(e, error.width as usize), theme.bad)),
                error,
            );
        } else if let (Some(h), true) = (&self.input_hint, error_h > 0) {
            frame.render_widget(
                Paragraph::new(Line::styled(fit(h, error.width as usize), theme.text)),
                error,
            );
        }
        if let Some((_, i)) = &mut self.input {
            i.render(frame, input, theme);
        }
        if let Some(lines) = rules {
            // The list keeps its cursor row in view.
            let inner = usize::from(rules_area.height.saturating_sub(2));
            let skip = (self.rule_at + 1).saturating_sub(inner) as u16;
            frame.render_widget(
                Paragraph::new(lines)
                    .scroll((skip, 0))
                    .block(widgets::block("Rules", theme, true)),
                rules_area,
            );
        }
        self.render_picker(frame, body, theme);
        self.layout.render_chooser(frame, body, theme);
    }

    fn edit_key(&mut self, key: KeyEvent, _ctx: &PaneContext) -> Option<Outcome> {
        if let Some(outcome) = self.layout.key(key) {
            return Some(outcome);
        }
        if let Some(outcome) = self.picker_key(key) {
            return Some(outcome);
        }
        let (kind, input) = self.input.as_mut()?;
        let kind = *kind;
        // Tab completes a rule's column, relation and action; the choices left show below.
        if key.code == KeyCode::Tab && matches!(kind, InputKind::Filter | InputKind::Highlight) {
            let done = preset::complete_rule(&input.text());
            if let Some(text) = &done.text {
                *input = LineInput::new(kind.label(), text);
            }
            self.input_error = None;
            self.input_hint =
                (!done.choices.is_empty()).then(|| format!("Tab: {}", done.choices.join(" | ")));
            return Some(Outcome::Consumed);
        }
        self.input_hint = None;
        Some(match input.handle(key) {
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
        })
    }

    fn handle_action(&mut self, action: PaneAction, ctx: &PaneContext) -> Outcome {
        use PaneAction as A;
        if self.open.is_some() {
            return self.handle_open_action(action, ctx.analysis);
        }
        // While the rule list shows, moves go through it.
        if self.show_rules && !self.rules.is_empty() {
            let last = self.rules.len() - 1;
            let to = match action {
                A::Down => Some((self.rule_at + 1).min(last)),
                A::Up => Some(self.rule_at.saturating_sub(1)),
                A::First => Some(0),
                A::Last => Some(last),
                _ => None,
            };
            if let Some(to) = to {
                self.rule_at = to;
                return Outcome::Consumed;
            }
        }
        if self.cursor.act(action, self.rows.len()) {
            return Outcome::Consumed;
        }
        let start = |kind: InputKind, text: &str| Some((kind, LineInput::new(kind.label(), text)));
        match action {
            A::Details => {
                if let Some(e) = self.selected_event() {
                    self.open = Some(EventView {
                        event: e,
                        scroll: PopupScroll::default(),
                    });
                }
            }
            A::Focus => {
                return match self.selected_event() {
                    Some(e) => self.focus_event(e, ctx.analysis),
                    None => Outcome::Consumed,
                };
            }
            A::Sort => {
                let at = SortColumn::ALL
                    .iter()
                    .position(|c| *c == self.sort)
                    .unwrap_or(0);
                self.picker = Some(Picker::Sort { at });
            }
            A::ValueRule => {
                if self.selected_event().is_none() {
                    return Outcome::Message("no event under the cursor".into());
                }
                self.picker = Some(Picker::Value { at: 3 });
            }
            A::ToggleRule => {
                if !self.show_rules {
                    self.show_rules = true;
                }
                match self.rules.get_mut(self.rule_at) {
                    Some(r) => {
                        r.on = !r.on;
                        let msg = format!(
                            "rule {} {}",
                            crate::escape::escape_field(&r.rule.to_string()),
                            if r.on { "on" } else { "off" }
                        );
                        self.rules_changed();
                        return Outcome::Message(msg);
                    }
                    None => return Outcome::Message("no rules yet".into()),
                }
            }
            A::Close if self.show_rules => self.show_rules = false,
            A::Close if self.zoom => self.zoom = false,
            A::Zoom => self.zoom = !self.zoom,
            A::Wrap | A::Columns | A::ColumnsLeft | A::ColumnsRight => {
                return self.layout.act(action).unwrap_or(Outcome::Ignored);
            }
            A::Reverse => {
                self.descending = !self.descending;
                self.refresh();
            }
            A::AddFilter => self.input = start(InputKind::Filter, ""),
            A::AddHighlight => self.input = start(InputKind::Highlight, ""),
            A::Search => {
                let q = self
                    .find
                    .as_ref()
                    .map(|f| f.query.clone())
                    .unwrap_or_default();
                self.input = start(InputKind::Search, &q);
            }
            A::GotoTime => self.input = start(InputKind::Time, ""),
            A::Rules => self.show_rules = !self.show_rules,
            A::UndoRule => {
                // The rule under the list's cursor while it shows, else the newest.
                let at = if self.show_rules {
                    self.rule_at
                } else {
                    self.rules.len().saturating_sub(1)
                };
                if at < self.rules.len() {
                    let gone = self.rules.remove(at);
                    self.rules_changed();
                    return Outcome::Message(format!(
                        "removed {}",
                        crate::escape::escape_field(&gone.rule.to_string())
                    ));
                }
                return Outcome::Message("no rules to remove".into());
            }
            A::ClearRules => {
                self.rules.clear();
                self.rules_changed();
            }
            A::Failures => {
                self.toggles.failures = !self.toggles.failures;
                self.refresh();
            }
            A::ImageLoads => {
                self.toggles.image_loads = !self.toggles.image_loads;
                self.refresh();
            }
            A::SystemProcess => {
                self.toggles.system = !self.toggles.system;
                self.refresh();
            }
            A::DriverOnly => {
                if self.focus.is_none() {
                    return Outcome::Message(
                        "no driver focused: f on a row focuses its driver".into(),
                    );
                }
                self.driver_only = !self.driver_only;
                self.refresh();
            }
            A::NextMatch => return self.find_next(true),
            A::PrevMatch => return self.find_next(false),
            _ => return Outcome::Ignored,
        }
        Outcome::Consumed
    }

    /// `:export csv`: the rows shown, as Procmon's CSV export (and `bsodwb pml --format csv`
    /// with the same rules) writes them, every row (no clipboard cap).
    fn export(&self, _ctx: &PaneContext, format: ExportFormat) -> Result<(Vec<u8>, usize), String> {
        if format != ExportFormat::Csv {
            return Err(
                "the Timeline exports csv, Procmon's own format (:export csv [FILE])".into(),
            );
        }
        let r = Renderer::new(&self.log);
        let mut out = Vec::new();
        let io = |e: std::io::Error| e.to_string();
        crate::pml::csv::write_header(&mut out).map_err(io)?;
        for row in 0..self.rows.len() {
            let Some(e) = self.rows.get(row) else {
                continue;
            };
            // An event that cannot be decoded is left out, as the CLI leaves it out.
            if let Ok(ev) = self.log.event(e) {
                crate::pml::csv::write_event(&mut out, &r, &ev).map_err(io)?;
            }
        }
        Ok((out, self.rows.len()))
    }

    /// `:filter RULE` adds a rule, `:sort COLUMN` sorts, `:goto TIME` jumps.
    fn command(&mut self, _ctx: &PaneContext, cmd: &Command) -> Outcome {
        match cmd {
            Command::Filter(rule) => match self.preset_command(rule.trim()) {
                Some(outcome) => outcome,
                None => self.submit(InputKind::Filter, rule.clone()),
            },
            Command::Goto(time) => self.submit(InputKind::Time, time.clone()),
            Command::Sort(col) => {
                let want = col.trim().to_ascii_lowercase();
                match SortColumn::ALL.into_iter().find(|c| {
                    c.label().eq_ignore_ascii_case(&want)
                        || (want == "pid" && *c == SortColumn::Pid)
                }) {
                    Some(c) => {
                        self.sort = c;
                        self.refresh();
                        Outcome::Message(format!("sorted by {}", c.label()))
                    }
                    None => Outcome::Message(format!(
                        ":sort takes {}",
                        SortColumn::ALL.map(|c| c.label()).join(", ")
                    )),
                }
            }
            Command::Export { .. }
            | Command::Bugcheck(_)
            | Command::WriteReport
            | Command::Open(_)
            | Command::Quit => Outcome::Ignored,
        }
    }

    /// `y`: the selected event as Procmon's CSV export writes it; `Y`: the filtered view as
    /// CSV with its header (as much as a clipboard takes).
    fn yank(&self, _ctx: &PaneContext, whole: bool) -> Option<Yank> {
        let r = Renderer::new(&self.log);
        let csv = |e: usize| -> Option<String> {
            let ev = self.log.event(e).ok()?;
            let mut line = Vec::new();
            crate::pml::csv::write_event(&mut line, &r, &ev).ok()?;
            Some(String::from_utf8_lossy(&line).trim_end().to_string())
        };
        if !whole {
            return Some(Yank {
                what: "the event (CSV)",
                text: csv(self.selected_event()?)?,
            });
        }
        let mut out = Vec::new();
        crate::pml::csv::write_header(&mut out).ok()?;
        let mut text = String::from_utf8_lossy(out.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&out))
            .replace("\r\n", "\n");
        for row in 0..self.rows.len() {
            // A clipboard takes no more than this; stop building rows past it.
            if text.len() > crate::ui::clipboard::MAX_COPY_CHARS * 2 {
                break;
            }
            if let Some(line) = self.rows.get(row).and_then(csv) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        Some(Yank {
            what: "the filtered events (CSV)",
            text,
        })
    }

    fn on_focus(&mut self, ctx: &PaneContext) {
        let target = ctx.focus.map(|k| {
            let links = ctx.analysis.links.get(k);
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

    fn captures_input(&self) -> bool {
        self.input.is_some() || self.picker.is_some() || self.layout.is_open()
    }

    fn cursor_mut(&mut self) -> Option<&mut Cursor> {
        Some(&mut self.cursor)
    }

    /// The selected event as Procmon's CSV writes it, its source the log and event number.
    fn note(&self, ctx: &PaneContext) -> Option<crate::ui::pane::NoteEntry> {
        let e = self.selected_event()?;
        let text = self.yank(ctx, false)?.text;
        Some(crate::ui::pane::NoteEntry {
            text: format!("    {text}"),
            source: format!(
                "{} event {e}",
                ctx.case.boot_log_path.as_deref().unwrap_or("the boot log")
            ),
        })
    }

    fn tick(&mut self) -> bool {
        if let Some(a) = self
            .all_activity_rx
            .as_ref()
            .and_then(|rx| rx.try_recv().ok())
        {
            self.all_activity_rx = None;
            self.all_activity = Some(Arc::clone(&a));
            if self.job.is_none() && self.spec().is_identity() {
                self.activity = Some(a);
                return true;
            }
        }
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
