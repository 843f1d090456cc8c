//! Drivers: the service configuration of every driver in the SYSTEM hive (Start, Type,
//! ErrorControl, Group, ImagePath), sortable and searchable. Boot/system-start drivers with
//! ErrorControl = critical are marked: their failure to load bug checks 0x5A
//! CRITICAL_SERVICE_FAILED. `f` focuses the driver under the cursor; the focused driver's
//! row is highlighted and its full service key shown below the table.

use crate::analysis::DriverFacts;
use crate::case::Case;
use crate::driver::DriverKey;
use crate::registry::{Service, SystemHive};
use crate::ui::action::{Outcome, PaneAction};
use crate::ui::pane::{Pane, PaneContext};
use crate::ui::pane_id::PaneId;
use crate::ui::theme::Theme;
use crate::ui::widgets::chooser::TableLayout;
use crate::ui::widgets::export::ViewTable;
use crate::ui::widgets::search::{Jump, Search};
use crate::ui::widgets::table::{self, Column, DataTable, TableCell, TableRow};
use crate::ui::widgets::{self, cursor::Cursor, fit};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

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

impl Default for DriversPane {
    fn default() -> Self {
        DriversPane::new()
    }
}

/// The Drivers pane: view state only; the hive and each driver's facts are read from the
/// [`PaneContext`] (the case and its analysis).
pub struct DriversPane {
    /// Indices into the case hive's `services`, filtered and sorted.
    rows: Vec<usize>,
    /// Which hive `rows` were built for (its address and service count).
    rows_for: Option<(usize, usize)>,
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
    /// The service's detail view (Enter): its configuration and its file's signature.
    detail: Option<crate::ui::widgets::popup::Detail>,
    /// `Z`: the table takes the whole pane (no summary, no focused key).
    zoom: bool,
    /// `W` wraps long cells, `C` chooses the columns, `<`/`>` scroll them sideways.
    layout: TableLayout,
}

/// The files this pane needs when the case has no hive.
const NEEDS: &[&str] = &["SYSTEM (the registry hive from Windows\\System32\\config)"];

impl DriversPane {
    /// The pane; it shows the case's SYSTEM hive (or names the file it needs).
    pub fn new() -> DriversPane {
        DriversPane {
            rows: Vec::new(),
            rows_for: None,
            cursor: Cursor::default(),
            sort: SortBy::LoadOrder,
            descending: false,
            all_services: false,
            critical_only: false,
            search: Search::default(),
            focus: None,
            detail_scroll: 0,
            detail: None,
            zoom: false,
            layout: TableLayout::default(),
        }
    }

    /// Rebuild the rows when the case's hive is not the one they were built for.
    fn sync(&mut self, hive: Option<&SystemHive>) {
        let id = hive.map(|h| (std::ptr::from_ref(h) as usize, h.services.len()));
        if id != self.rows_for {
            self.rows_for = id;
            self.rebuild(hive);
        }
    }

    /// The services of `case` shown, in table order (for tests and callers that drive the pane).
    pub fn visible<'c>(&mut self, case: &'c Case) -> Vec<&'c Service> {
        let hive = case.hive.as_ref();
        self.sync(hive);
        let Some(hive) = hive else {
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

    /// The service of `case` under the cursor.
    pub fn selected<'c>(&mut self, case: &'c Case) -> Option<&'c Service> {
        self.sync(case.hive.as_ref());
        self.selected_in(case.hive.as_ref()?)
    }

    fn selected_in<'h>(&self, hive: &'h SystemHive) -> Option<&'h Service> {
        hive.services.get(*self.rows.get(self.cursor.selected)?)
    }

    fn rebuild(&mut self, hive: Option<&SystemHive>) {
        let Some(hive) = hive else {
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
    fn search_jump(&mut self, how: Jump, hive: Option<&SystemHive>) -> Outcome {
        let Some(hive) = hive else {
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
            self.cursor.center(i);
        }
        outcome
    }

    fn focused_service<'h>(&self, hive: &'h SystemHive) -> Option<&'h Service> {
        hive.service_for_driver(self.focus.as_ref()?)
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

/// One service's cells: name, Start, Type, ErrorControl, Group, ImagePath.
/// A service's detail view: its configuration as the hive holds it, then (for a driver) the
/// signature of its file in the case, `sigcheck -i` style.
fn service_detail(ctx: &PaneContext, s: &Service) -> crate::ui::widgets::popup::Detail {
    let c = service_cells(s);
    let mut fields: Vec<(String, String)> = [
        ("Service", c[0].clone()),
        ("Start", c[1].clone()),
        ("Type", c[2].clone()),
        ("ErrorControl", c[3].clone()),
        ("Group", c[4].clone()),
        ("ImagePath", c[5].clone()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(d) = &s.display_name {
        fields.push(("DisplayName".into(), d.clone()));
    }
    if let Some(t) = s.tag {
        fields.push(("Tag".into(), t.to_string()));
    }
    if !s.depend_on_service.is_empty() {
        fields.push(("DependOnService".into(), s.depend_on_service.join(", ")));
    }
    if !s.depend_on_group.is_empty() {
        fields.push(("DependOnGroup".into(), s.depend_on_group.join(", ")));
    }
    match s.driver.as_ref().and_then(|k| {
        crate::signing::for_driver(&ctx.case.signatures, k)
            .first()
            .copied()
    }) {
        Some(v) => {
            fields.push((String::new(), String::new()));
            let mut report = crate::signing::report::sigcheck_info(v);
            if let Some(inv) = &ctx.case.inventory {
                for (_, val) in report.iter_mut() {
                    *val = inv.shorten(val);
                }
            }
            fields.extend(report);
        }
        None if s.driver.is_some() => fields.push((
            "Verified".into(),
            "no file of this driver in the case: nothing to judge".into(),
        )),
        None => {}
    }
    crate::ui::widgets::popup::Detail::new(format!("Service {}", s.name), fields)
}

fn service_cells(s: &Service) -> Vec<String> {
    vec![
        s.name.clone(),
        coded(s.start.map(|v| v.0), s.start.and_then(|v| v.name())),
        coded(
            s.service_type.map(|t| t.0),
            s.service_type.and_then(|t| t.name()),
        ),
        coded(
            s.error_control.map(|v| v.0),
            s.error_control.and_then(|v| v.name()),
        ),
        s.group.clone().unwrap_or_default(),
        s.image_path.clone().unwrap_or_default(),
    ]
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
    // Widths: (name, start, type, error, group) for narrow, wide, and wide with facts.
    let (name, start, ty, error, group) = match (wide, with_facts) {
        (false, _) => (16, 9, 13, 10, 0),
        (true, false) => (24, 10, 20, 11, 28),
        (true, true) => (24, 10, 14, 11, 24),
    };
    let mut columns = vec![
        Column::fixed("", 1),
        Column::fixed("NAME", name),
        Column::fixed("START", start).priority(4),
        Column::fixed("TYPE", ty).priority(1),
        Column::fixed("ERROR", error).priority(3),
    ];
    if !wide {
        columns.push(Column::fill("GROUP", 1));
        return columns;
    }
    columns.push(Column::fixed("GROUP", group).priority(2));
    if with_facts {
        columns.push(Column::fixed("SIGNATURE", 26).priority(5));
        columns.push(Column::fixed("LOADED", 7).priority(4));
    }
    columns.push(Column::fill("IMAGE PATH", 1));
    columns
}

impl Pane for DriversPane {
    fn title(&self) -> &'static str {
        crate::ui::pane_id::PaneId::Drivers.title()
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext) {
        let theme = ctx.theme;
        self.sync(ctx.case.hive.as_ref());
        let Some(hive) = ctx.case.hive.as_ref() else {
            widgets::missing(frame, area, PaneId::Drivers.title(), NEEDS, theme);
            return;
        };
        let focused = self.focused_service(hive);
        let detail_lines = self
            .focus
            .as_ref()
            .map(|k| detail(k, focused, hive, ctx.analysis.driver_facts.get(k), theme));
        let detail_height = detail_lines
            .as_ref()
            .filter(|_| !self.zoom)
            .map_or(0, |l| (l.len() as u16 + 2).min(area.height / 2));
        let search_height = if self.search.is_open() { 3 } else { 0 };
        // The BCD store's integrity settings take a line when the case has one.
        let bcd_line = ctx.case.bcd.first().map(|b| {
            b.store
                .integrity()
                .map_or_else(|| "BCD: no default boot entry".to_string(), |i| i.summary())
        });
        let head_height = if self.zoom {
            0
        } else {
            2 + u16::from(bcd_line.is_some())
        };
        let [head, table, search, detail_area] = Layout::vertical([
            Constraint::Length(head_height),
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
        let mut head_lines = vec![
            Line::from(first),
            Line::styled(fit(&view, head.width as usize), theme.dim),
        ];
        if let Some(line) = bcd_line {
            // Test-signed drivers load only with testsigning on: the verdict column reads with it.
            let weak = line.contains("OFF") || line.contains("testsigning on");
            head_lines.push(Line::styled(
                fit(&crate::escape::escape_field(&line), head.width as usize),
                if weak { theme.warn } else { theme.dim },
            ));
        }
        frame.render_widget(Paragraph::new(head_lines), head);

        let name = format!("Services of {}", hive.control_set.key);
        let wide = table.width.saturating_sub(2) >= 120;
        let driver_facts = &ctx.analysis.driver_facts;
        let with_facts = wide && !driver_facts.is_empty();
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
                let facts = s.driver.as_ref().and_then(|k| driver_facts.get(k));
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
        let empty = "no service matches the view (a: all services, c: critical only)";
        widgets::TableBox::new(&name, self.rows.len(), empty)
            .noun("rows")
            .table(
                frame,
                table,
                theme,
                DataTable::new(&columns).view(&self.layout.view),
                &mut cursor,
                &source,
            );
        self.layout.drawn(&columns);
        self.cursor = cursor;

        self.search.render(frame, search, theme);
        if let (Some(lines), Some(k), false) = (detail_lines, &self.focus, self.zoom) {
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
        self.layout.render_chooser(frame, area, theme);
        if let Some(d) = self.detail.as_mut() {
            d.render(frame, area, theme);
        }
    }

    fn edit_key(&mut self, key: KeyEvent, ctx: &PaneContext) -> Option<Outcome> {
        if let Some(o) = self.layout.key(key) {
            return Some(o);
        }
        let applied = self.search.edit_open(key)?;
        let hive = ctx.case.hive.as_ref();
        self.sync(hive);
        Some(if applied {
            self.search_jump(Jump::First, hive)
        } else {
            Outcome::Consumed
        })
    }

    fn handle_action(&mut self, action: PaneAction, ctx: &PaneContext) -> Outcome {
        use PaneAction as A;
        let hive = ctx.case.hive.as_ref();
        self.sync(hive);
        let Some(hive) = hive else {
            return Outcome::Ignored;
        };
        if let Some(d) = self.detail.as_mut() {
            match action {
                A::Close | A::Details => self.detail = None,
                A::Focus => {}
                a => {
                    d.scroll.act(a);
                }
            }
            if action != A::Focus {
                return Outcome::Consumed;
            }
        }
        if self.cursor.act(action, self.rows.len()) {
            return Outcome::Consumed;
        }
        match action {
            A::Close if self.zoom => {
                self.zoom = false;
                Outcome::Consumed
            }
            A::Close => Outcome::Ignored,
            A::Zoom => {
                self.zoom = !self.zoom;
                Outcome::Consumed
            }
            A::Wrap | A::Columns | A::ColumnsLeft | A::ColumnsRight => {
                self.layout.act(action).unwrap_or(Outcome::Consumed)
            }
            A::Focus => match self.selected_in(hive) {
                Some(s) => match &s.driver {
                    Some(k) => Outcome::Focus(k.clone()),
                    None => Outcome::Message(format!("{} is not a driver service", s.name)),
                },
                None => Outcome::Consumed,
            },
            // The service's configuration, then its file's signature as `sigcheck -i` reports it.
            A::Details => match self.selected_in(hive) {
                Some(s) => {
                    self.detail = Some(service_detail(ctx, s));
                    Outcome::Consumed
                }
                None => Outcome::Consumed,
            },
            // The view changes: sort, order, which services; then the rows again.
            A::Sort | A::Reverse | A::AllServices | A::CriticalOnly => {
                match action {
                    A::Sort => self.sort = self.sort.next(),
                    A::Reverse => self.descending = !self.descending,
                    A::AllServices => self.all_services = !self.all_services,
                    _ => self.critical_only = !self.critical_only,
                }
                self.rebuild(Some(hive));
                Outcome::Consumed
            }
            A::Search => {
                self.search.open("Search drivers");
                Outcome::Consumed
            }
            A::ScrollDown | A::ScrollUp if self.focus.is_none() => {
                Outcome::Message("no driver focused: f shows its service key".into())
            }
            A::ScrollDown => {
                self.detail_scroll = self.detail_scroll.saturating_add(1);
                Outcome::Consumed
            }
            A::ScrollUp => {
                self.detail_scroll = self.detail_scroll.saturating_sub(1);
                Outcome::Consumed
            }
            A::NextMatch => self.search_jump(Jump::Next, Some(hive)),
            A::PrevMatch => self.search_jump(Jump::Prev, Some(hive)),
            _ => Outcome::Ignored,
        }
    }

    /// The services shown, in table order: Name, Start, Type, ErrorControl, Group, ImagePath.
    fn table(&self, ctx: &PaneContext) -> Option<ViewTable> {
        let hive = ctx.case.hive.as_ref()?;
        let mut t = ViewTable::new(&[
            "Name",
            "Start",
            "Type",
            "ErrorControl",
            "Group",
            "ImagePath",
        ]);
        t.rows = self
            .rows
            .iter()
            .filter_map(|&i| hive.services.get(i))
            .map(service_cells)
            .collect();
        Some(t)
    }

    crate::ui::pane::one_cursor!(cursor);

    /// A service's configuration (its detail view when open), its source the hive file and
    /// the service's key.
    fn note(&self, ctx: &PaneContext) -> Option<crate::ui::pane::NoteEntry> {
        let hive = ctx.case.hive.as_ref()?;
        let s = hive.services.get(*self.rows.get(self.cursor.selected)?)?;
        let text = match &self.detail {
            Some(d) => d.text(),
            None => {
                let c = service_cells(s);
                format!(
                    "- Start {}, Type {}, ErrorControl {}, Group {}, ImagePath {}",
                    c[1], c[2], c[3], c[4], c[5]
                )
            }
        };
        let file = hive.path.file_name().map_or_else(
            || "SYSTEM".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Some(crate::ui::pane::NoteEntry {
            text,
            source: format!("{file} {}\\Services\\{}", hive.control_set.key, s.name),
        })
    }

    /// A driver's service row.
    fn reveal(&mut self, source: &crate::findings::SourceRef, ctx: &PaneContext) -> bool {
        let crate::findings::SourceRef::Service { driver } = source else {
            return false;
        };
        let hive = ctx.case.hive.as_ref();
        self.sync(hive);
        let Some(hive) = hive else { return false };
        match self.rows.iter().position(|&i| {
            hive.services
                .get(i)
                .is_some_and(|s| s.driver.as_ref() == Some(driver))
        }) {
            Some(pos) => {
                self.cursor.center(pos);
                true
            }
            None => false,
        }
    }

    fn on_focus(&mut self, ctx: &PaneContext) {
        let focus = ctx.focus;
        self.focus = focus.cloned();
        self.detail_scroll = 0;
        // Bring the focused driver's row into view.
        let hive = ctx.case.hive.as_ref();
        self.sync(hive);
        let Some(hive) = hive else { return };
        if let Some(pos) = self.rows.iter().position(|&i| {
            hive.services
                .get(i)
                .is_some_and(|s| s.driver.is_some() && s.driver.as_ref() == focus)
        }) {
            self.cursor.selected = pos;
        }
    }

    fn captures_input(&self) -> bool {
        self.search.is_open() || self.layout.is_open()
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
