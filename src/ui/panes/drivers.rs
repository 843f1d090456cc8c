//! Drivers: the service configuration of every driver in the SYSTEM hive (Start, Type,
//! ErrorControl, Group, ImagePath), sortable and searchable. Boot/system-start drivers with
//! ErrorControl = critical are marked: their failure to load bug checks 0x5A
//! CRITICAL_SERVICE_FAILED. `f` focuses the driver under the cursor; the focused driver's
//! row is highlighted and its full service key shown below the table.

use crate::case::Case;
use crate::driver::DriverKey;
use crate::registry::{Service, SystemHive};
use crate::ui::action::Outcome;
use crate::ui::pane::{Hint, Pane, PaneContext, hint};
use crate::ui::theme::Theme;
use crate::ui::widgets::search::{Edit, Jump, Search};
use crate::ui::widgets::table::{self, Column, DataTable, TableCell, TableRow};
use crate::ui::widgets::{self, cursor::Cursor, fit};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use std::collections::HashMap;

/// What other artefacts of the case say about a driver, shown beside its service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverFacts {
    /// The signature verdict (`signed-catalog`, `catalog-only-in-servicing`, ...).
    pub verdict: Option<String>,
    /// Whether the crash dump's module list has the driver loaded.
    pub loaded_in_dump: Option<bool>,
}

/// The table's sort orders, cycled with `s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// Start, group order, tag: the order the boot loader and the I/O manager load drivers.
    LoadOrder,
    Name,
    Type,
    ErrorControl,
    Group,
    ImagePath,
}

impl SortBy {
    const ALL: [SortBy; 6] = [
        SortBy::LoadOrder,
        SortBy::Name,
        SortBy::Type,
        SortBy::ErrorControl,
        SortBy::Group,
        SortBy::ImagePath,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SortBy::LoadOrder => "load order",
            SortBy::Name => "name",
            SortBy::Type => "type",
            SortBy::ErrorControl => "error control",
            SortBy::Group => "group",
            SortBy::ImagePath => "image path",
        }
    }

    fn next(self) -> SortBy {
        let i = SortBy::ALL.iter().position(|s| *s == self).unwrap_or(0);
        SortBy::ALL[(i + 1) % SortBy::ALL.len()]
    }
}

pub struct DriversPane {
    hive: Option<SystemHive>,
    facts: HashMap<DriverKey, DriverFacts>,
    /// Indices into `hive.services`, filtered and sorted.
    rows: Vec<usize>,
    cursor: Cursor,
    sort: SortBy,
    descending: bool,
    /// Show every service, not only kernel-mode drivers.
    all_services: bool,
    /// Show only boot/system-start drivers with ErrorControl = critical.
    critical_only: bool,
    search: Search,
    focus: Option<DriverKey>,
    /// First line shown in the detail box (`]` and `[` scroll it).
    detail_scroll: u16,
}

/// The files this pane needs when the case has no hive.
const NEEDS: &[&str] = &["SYSTEM (the registry hive from Windows\\System32\\config)"];

impl DriversPane {
    /// The pane over a case's SYSTEM hive (`None`: the pane says which file it needs).
    pub fn new(hive: Option<SystemHive>) -> DriversPane {
        let mut pane = DriversPane {
            hive,
            facts: HashMap::new(),
            rows: Vec::new(),
            cursor: Cursor::default(),
            sort: SortBy::LoadOrder,
            descending: false,
            all_services: false,
            critical_only: false,
            search: Search::default(),
            focus: None,
            detail_scroll: 0,
        };
        pane.rebuild();
        pane
    }

    /// The pane over a loaded case: its hive, plus each driver's signature verdict and, when
    /// the case has a dump, whether the dump's module list has it loaded.
    pub fn from_case(case: &Case) -> DriversPane {
        let mut facts: HashMap<DriverKey, DriverFacts> = HashMap::new();
        let has_dump = case.dump().is_some();
        for (key, links) in &case.links.drivers {
            let loaded = links
                .dump
                .as_ref()
                .is_some_and(|d| d.base.is_some() && !d.unloaded);
            facts.insert(
                key.clone(),
                DriverFacts {
                    verdict: links
                        .signature
                        .as_ref()
                        .map(|s| s.verdict.as_str().to_string()),
                    loaded_in_dump: has_dump.then_some(loaded),
                },
            );
        }
        if has_dump && let Some(hive) = &case.hive {
            // Drivers the dump never mentions were not loaded when it was taken.
            for key in hive.drivers().filter_map(|s| s.driver.clone()) {
                facts.entry(key).or_insert(DriverFacts {
                    verdict: None,
                    loaded_in_dump: Some(false),
                });
            }
        }
        DriversPane::new(case.hive.clone()).with_facts(facts)
    }

    /// Add what the rest of the case knows per driver (signature verdict, loaded in the dump).
    pub fn with_facts(mut self, facts: HashMap<DriverKey, DriverFacts>) -> DriversPane {
        self.facts = facts;
        self
    }

    /// The services shown, in table order (for tests and callers that drive the pane).
    pub fn visible(&self) -> Vec<&Service> {
        let Some(hive) = &self.hive else {
            return Vec::new();
        };
        self.rows
            .iter()
            .filter_map(|&i| hive.services.get(i))
            .collect()
    }

    pub fn sort(&self) -> SortBy {
        self.sort
    }

    /// The service under the cursor.
    pub fn selected(&self) -> Option<&Service> {
        let hive = self.hive.as_ref()?;
        hive.services.get(*self.rows.get(self.cursor.selected)?)
    }

    fn rebuild(&mut self) {
        let Some(hive) = &self.hive else {
            self.rows.clear();
            return;
        };
        let keep_selected = self.rows.get(self.cursor.selected).copied();
        let mut rows: Vec<usize> = hive
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| self.all_services || s.is_driver())
            .filter(|(_, s)| !self.critical_only || s.is_critical_boot_driver())
            .map(|(i, _)| i)
            .collect();
        let text = |v: &Option<String>| v.as_deref().unwrap_or("\u{10FFFF}").to_ascii_lowercase();
        let services = &hive.services;
        let key = |i: &usize| services.get(*i);
        match self.sort {
            SortBy::LoadOrder => rows.sort_by_cached_key(|i| key(i).map(|s| hive.load_order(s))),
            SortBy::Name => {
                rows.sort_by_cached_key(|i| key(i).map(|s| s.name.to_ascii_lowercase()))
            }
            SortBy::Type => rows.sort_by_cached_key(|i| {
                key(i).map(|s| (s.service_type.map_or(u32::MAX, |t| t.0), hive.load_order(s)))
            }),
            SortBy::ErrorControl => rows.sort_by_cached_key(|i| {
                // Most severe first, then load order.
                key(i).map(|s| {
                    (
                        std::cmp::Reverse(s.error_control.map_or(0, |e| e.0)),
                        hive.load_order(s),
                    )
                })
            }),
            SortBy::Group => {
                rows.sort_by_cached_key(|i| key(i).map(|s| (text(&s.group), hive.load_order(s))))
            }
            SortBy::ImagePath => rows.sort_by_cached_key(|i| key(i).map(|s| text(&s.image_path))),
        }
        if self.descending {
            rows.reverse();
        }
        self.rows = rows;
        if let Some(sel) = keep_selected
            && let Some(pos) = self.rows.iter().position(|&r| r == sel)
        {
            self.cursor.selected = pos;
        }
    }

    fn matches(&self, s: &Service) -> bool {
        self.search.matches_any(
            [
                Some(s.name.as_str()),
                s.group.as_deref(),
                s.image_path.as_deref(),
                s.display_name.as_deref(),
                s.driver.as_ref().map(DriverKey::name),
            ]
            .into_iter()
            .flatten(),
        )
    }

    /// Move the cursor to a row matching the query (wrapping around) and say which.
    fn search_jump(&mut self, how: Jump) -> Outcome {
        let Some(hive) = &self.hive else {
            return Outcome::Consumed;
        };
        let (to, outcome) =
            self.search
                .jump(self.rows.len(), self.cursor.selected, how, "driver", |i| {
                    self.rows
                        .get(i)
                        .and_then(|&r| hive.services.get(r))
                        .is_some_and(|s| self.matches(s))
                });
        if let Some(i) = to {
            self.cursor.selected = i;
        }
        outcome
    }

    fn focused_service(&self) -> Option<&Service> {
        let focus = self.focus.as_ref()?;
        self.hive.as_ref()?.service_for_driver(focus)
    }

    /// A service's row: the selection over the focus, then critical, search match, disabled.
    fn row_style(&self, s: &Service, selected: bool, theme: &Theme) -> Style {
        if selected && self.is_focused(s) {
            theme.focused_driver.patch(theme.selected)
        } else if selected {
            theme.selected
        } else if self.is_focused(s) {
            theme.focused_driver
        } else if s.is_critical_boot_driver() {
            theme.bad
        } else if self.matches(s) {
            theme.key
        } else if s.start.map(|v| v.0) == Some(4) {
            theme.dim
        } else {
            theme.text
        }
    }

    fn is_focused(&self, s: &Service) -> bool {
        self.focus.is_some() && s.driver.as_ref() == self.focus.as_ref()
    }
}

/// `1 system`: the raw code beside its name.
fn coded(code: Option<u32>, name: Option<&str>) -> String {
    match (code, name) {
        (Some(c), Some(n)) => format!("{c} {n}"),
        (Some(c), None) => format!("{c:#x}"),
        _ => "-".into(),
    }
}

/// A short type label for narrow tables.
fn type_label(s: &Service) -> String {
    match s.service_type.map(|t| t.0) {
        Some(1) => "1 kernel".into(),
        Some(2) => "2 file system".into(),
        Some(8) => "8 recognizer".into(),
        code => coded(code, s.service_type.and_then(|t| t.name())),
    }
}

/// The services table's columns: narrow, wide, or wide with the other artefacts' facts.
fn columns(wide: bool, with_facts: bool) -> Vec<Column> {
    let mark = Column::fixed("", 1);
    if with_facts {
        vec![
            mark,
            Column::fixed("NAME", 24),
            Column::fixed("START", 10).priority(4),
            Column::fixed("TYPE", 14).priority(1),
            Column::fixed("ERROR", 11).priority(3),
            Column::fixed("GROUP", 24).priority(2),
            Column::fixed("SIGNATURE", 26).priority(5),
            Column::fixed("LOADED", 7).priority(4),
            Column::fill("IMAGE PATH", 1),
        ]
    } else if wide {
        vec![
            mark,
            Column::fixed("NAME", 24),
            Column::fixed("START", 10).priority(4),
            Column::fixed("TYPE", 20).priority(1),
            Column::fixed("ERROR", 11).priority(3),
            Column::fixed("GROUP", 28).priority(2),
            Column::fill("IMAGE PATH", 1),
        ]
    } else {
        vec![
            mark,
            Column::fixed("NAME", 16),
            Column::fixed("START", 9).priority(4),
            Column::fixed("TYPE", 13).priority(1),
            Column::fixed("ERROR", 10).priority(3),
            Column::fill("GROUP", 1),
        ]
    }
}

impl Pane for DriversPane {
    fn title(&self) -> &'static str {
        crate::ui::pane_id::PaneId::Drivers.title()
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext) {
        let theme = ctx.theme;
        let Some(hive) = &self.hive else {
            widgets::missing(
                frame,
                area,
                crate::ui::pane_id::PaneId::Drivers.title(),
                NEEDS,
                theme,
            );
            return;
        };
        let focused = self.focused_service().cloned();
        let detail_lines = self
            .focus
            .as_ref()
            .map(|k| detail(k, focused.as_ref(), hive, self.facts.get(k), theme));
        let detail_height = detail_lines
            .as_ref()
            .map_or(0, |l| (l.len() as u16 + 2).min(area.height / 2));
        let search_height = if self.search.is_open() { 3 } else { 0 };
        let [head, table, search, detail_area] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(3),
            Constraint::Length(search_height),
            Constraint::Length(detail_height),
        ])
        .areas(area);

        // Summary: what hive, which control set, how many drivers and how many are critical.
        let drivers = hive.drivers().count();
        let critical = hive
            .drivers()
            .filter(|s| s.is_critical_boot_driver())
            .count();
        let mut first = vec![
            Span::styled("Hive ", theme.header),
            Span::raw(format!(
                "{}  {}  {} drivers, {} services  ",
                hive.path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                hive.control_set.key,
                drivers,
                hive.services.len()
            )),
            Span::styled(format!("! {critical} critical boot drivers"), theme.bad),
        ];
        if hive.header.dirty {
            let state = match hive
                .recovery
                .as_ref()
                .filter(|_| !hive.logs_applied.is_empty())
            {
                Some(r) => format!(
                    "  dirty hive, {} pages replayed to sequence {}",
                    r.dirty_pages,
                    r.sequence.unwrap_or(0)
                ),
                None => "  dirty hive, read as is".to_string(),
            };
            first.push(Span::styled(state, theme.warn));
        }
        let mut view = format!(
            "sort: {}{}  showing: {}",
            self.sort.label(),
            if self.descending { " (reversed)" } else { "" },
            match (self.all_services, self.critical_only) {
                (_, true) => "critical boot drivers",
                (true, false) => "all services",
                (false, false) => "drivers",
            }
        );
        if !self.search.query().is_empty() {
            view.push_str(&format!("  search: {}", self.search.query()));
        }
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(first),
                Line::styled(fit(&view, head.width as usize), theme.dim),
            ]),
            head,
        );

        let block = widgets::block(
            &format!(
                "Services of {} ({} rows)",
                hive.control_set.key,
                self.rows.len()
            ),
            theme,
            true,
        );
        let inner = block.inner(table);
        frame.render_widget(block, table);
        let wide = inner.width >= 120;
        let with_facts = wide && !self.facts.is_empty();
        let columns = columns(wide, with_facts);
        let source = table::rows(self.rows.len(), |row, ctx| {
            let s = self.rows.get(row).and_then(|&i| hive.services.get(i))?;
            let mark = if s.is_critical_boot_driver() {
                "!"
            } else {
                " "
            };
            let start = coded(s.start.map(|v| v.0), s.start.and_then(|v| v.name()));
            let error = coded(
                s.error_control.map(|v| v.0),
                s.error_control.and_then(|v| v.name()),
            );
            let group = s.group.as_deref().unwrap_or("-");
            let image = s.image_path.as_deref().unwrap_or("-");
            let mut cells: Vec<TableCell> = vec![mark.into(), s.name.as_str().into(), start.into()];
            if with_facts {
                let facts = s.driver.as_ref().and_then(|k| self.facts.get(k));
                let verdict = facts.and_then(|f| f.verdict.as_deref()).unwrap_or("-");
                let loaded = match facts.and_then(|f| f.loaded_in_dump) {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                };
                cells.extend([
                    type_label(s).into(),
                    error.into(),
                    group.into(),
                    verdict.into(),
                    loaded.into(),
                    image.into(),
                ]);
            } else if wide {
                let ty = coded(
                    s.service_type.map(|v| v.0),
                    s.service_type.and_then(|v| v.name()),
                );
                cells.extend([ty.into(), error.into(), group.into(), image.into()]);
            } else {
                cells.extend([type_label(s).into(), error.into(), group.into()]);
            }
            Some(TableRow::new(cells, self.row_style(s, ctx.selected, theme)))
        });
        let mut cursor = self.cursor;
        DataTable::new(&columns)
            .header(theme.header)
            .render(frame, inner, &mut cursor, &source);
        self.cursor = cursor;

        self.search.render(frame, search, theme);
        if let (Some(lines), Some(k)) = (detail_lines, &self.focus) {
            let title = match &focused {
                Some(s) => format!("Services\\{} ({})", s.name, k),
                None => format!("{k}: no service key"),
            };
            // Keep at least one line in view when the box shrinks.
            let max_scroll = (lines.len() as u16).saturating_sub(1);
            self.detail_scroll = self.detail_scroll.min(max_scroll);
            let title = if self.detail_scroll > 0 {
                format!("{title} [line {}]", self.detail_scroll + 1)
            } else {
                title
            };
            frame.render_widget(
                Paragraph::new(lines)
                    .block(widgets::block(&title, theme, false))
                    .wrap(Wrap { trim: false })
                    .scroll((self.detail_scroll, 0)),
                detail_area,
            );
        }
    }

    fn handle_key(&mut self, key: KeyEvent, _ctx: &PaneContext) -> Outcome {
        if self.search.is_open() {
            return match self.search.edit(key) {
                Edit::Applied => self.search_jump(Jump::First),
                Edit::Cancelled | Edit::Editing => Outcome::Consumed,
            };
        }
        if self.hive.is_none() {
            return Outcome::Ignored;
        }
        if self.cursor.handle(&key, self.rows.len()) {
            return Outcome::Consumed;
        }
        match key.code {
            KeyCode::Char('f') | KeyCode::Enter => match self.selected() {
                Some(s) => match &s.driver {
                    Some(k) => Outcome::Focus(k.clone()),
                    None => Outcome::Message(format!("{} is not a driver service", s.name)),
                },
                None => Outcome::Consumed,
            },
            KeyCode::Char('s') => {
                self.sort = self.sort.next();
                self.rebuild();
                Outcome::Consumed
            }
            KeyCode::Char('r') => {
                self.descending = !self.descending;
                self.rebuild();
                Outcome::Consumed
            }
            KeyCode::Char('a') => {
                self.all_services = !self.all_services;
                self.rebuild();
                Outcome::Consumed
            }
            KeyCode::Char('c') => {
                self.critical_only = !self.critical_only;
                self.rebuild();
                Outcome::Consumed
            }
            KeyCode::Char('/') => {
                self.search.open("Search drivers");
                Outcome::Consumed
            }
            KeyCode::Char(']') if self.focus.is_some() => {
                self.detail_scroll = self.detail_scroll.saturating_add(1);
                Outcome::Consumed
            }
            KeyCode::Char('[') if self.focus.is_some() => {
                self.detail_scroll = self.detail_scroll.saturating_sub(1);
                Outcome::Consumed
            }
            KeyCode::Char('n') => self.search_jump(Jump::Next),
            KeyCode::Char('N') => self.search_jump(Jump::Prev),
            _ => Outcome::Ignored,
        }
    }

    fn on_focus(&mut self, focus: Option<&DriverKey>, _case: &Case) {
        self.focus = focus.cloned();
        self.detail_scroll = 0;
        // Bring the focused driver's row into view.
        let Some(hive) = &self.hive else { return };
        if let Some(pos) = self.rows.iter().position(|&i| {
            hive.services
                .get(i)
                .is_some_and(|s| s.driver.is_some() && s.driver.as_ref() == focus)
        }) {
            self.cursor.selected = pos;
        }
    }

    fn hints(&self) -> Vec<Hint> {
        vec![
            hint("j/k ↑/↓", "move"),
            hint("f / Enter", "focus the driver under the cursor"),
            hint("s", "sort by the next column"),
            hint("r", "reverse the sort"),
            hint("/", "search name, group, image path"),
            hint("n/N", "next/previous match"),
            hint("c", "only critical boot drivers"),
            hint("a", "drivers only / all services"),
            hint("] / [", "scroll the focused driver's key"),
        ]
    }

    fn captures_input(&self) -> bool {
        self.search.is_open()
    }
}

/// The detail box of the focused driver: its service values decoded, what the rest of the
/// case says, then every value of the key as stored.
fn detail(
    key: &DriverKey,
    service: Option<&Service>,
    hive: &SystemHive,
    facts: Option<&DriverFacts>,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let label = |s: &str| Span::styled(format!("{s:<13}"), theme.header);
    let mut lines = Vec::new();
    let Some(s) = service else {
        lines.push(Line::raw(format!(
            "No service in {} loads {key}: it is not a configured driver on this machine \
             (a dependency loaded by name, or a file copied without its service).",
            hive.control_set.key
        )));
        push_facts(&mut lines, facts, theme);
        return lines;
    };
    lines.push(Line::from(vec![
        label("Start"),
        Span::raw(coded(s.start.map(|v| v.0), s.start.and_then(|v| v.name()))),
        Span::raw("   "),
        label("Type"),
        Span::raw(coded(
            s.service_type.map(|v| v.0),
            s.service_type.and_then(|v| v.name()),
        )),
    ]));
    let error = coded(
        s.error_control.map(|v| v.0),
        s.error_control.and_then(|v| v.name()),
    );
    lines.push(Line::from(vec![
        label("ErrorControl"),
        Span::styled(
            error,
            if s.error_control.is_some_and(|e| e.is_critical()) {
                theme.bad
            } else {
                theme.text
            },
        ),
        Span::raw("   "),
        label("Group"),
        Span::raw(s.group.clone().unwrap_or_else(|| "-".into())),
    ]));
    lines.push(Line::from(vec![
        label("ImagePath"),
        Span::raw(s.image_path.clone().unwrap_or_else(|| "-".into())),
    ]));
    let local = hive
        .time_zone()
        .and_then(|tz| tz.local_string(s.last_write))
        .map(|l| format!("  (machine time {l})"))
        .unwrap_or_default();
    lines.push(Line::from(vec![
        label("Last write"),
        Span::raw(format!("{}{local}", s.last_write)),
    ]));
    if s.is_critical_boot_driver() {
        lines.push(Line::styled(
            "! Boot-time driver with ErrorControl=3: if it fails to load (e.g. STATUS_INVALID_IMAGE_HASH), \
             Windows bug checks 0x5A CRITICAL_SERVICE_FAILED.",
            theme.bad,
        ));
    }
    push_facts(&mut lines, facts, theme);
    lines.push(Line::styled("Values", theme.header));
    for v in &s.values {
        let kind = v
            .kind_name()
            .map_or_else(|| format!("{:#x}", v.kind), str::to_string);
        let name = if v.name.is_empty() {
            "(default)"
        } else {
            &v.name
        };
        lines.push(Line::from(vec![
            Span::raw(format!("  {name:<24} ")),
            Span::styled(format!("{kind:<14} "), theme.dim),
            Span::raw(v.data.to_string()),
        ]));
    }
    if !s.subkeys.is_empty() {
        lines.push(Line::from(vec![
            label("Subkeys"),
            Span::raw(s.subkeys.join(", ")),
        ]));
    }
    lines
}

fn push_facts(lines: &mut Vec<Line<'static>>, facts: Option<&DriverFacts>, theme: &Theme) {
    let Some(f) = facts else { return };
    let mut spans = Vec::new();
    if let Some(v) = &f.verdict {
        let style: Style = if v.starts_with("signed") {
            theme.good
        } else {
            theme.bad
        };
        spans.push(Span::styled("Signature    ".to_string(), theme.header));
        spans.push(Span::styled(v.clone(), style));
        spans.push(Span::raw("   "));
    }
    if let Some(loaded) = f.loaded_in_dump {
        spans.push(Span::styled("In dump      ".to_string(), theme.header));
        spans.push(Span::raw(if loaded { "loaded" } else { "not loaded" }));
    }
    if !spans.is_empty() {
        lines.push(Line::from(spans));
    }
}
