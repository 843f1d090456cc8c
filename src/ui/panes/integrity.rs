//! Integrity: the CodeIntegrity and System events of every event log in one time-ordered table,
//! the same events grouped by driver (count, first and last time, worst status), and a
//! signature table of every driver the case knows (dump modules, hive driver services, driver
//! files, events) with its verdict, catalog, service Start and ErrorControl, and whether it is
//! in the boot log and on the crash stack. The driver focus filters all three tables.

use crate::analysis::CaseAnalysis;
use crate::case::Case;
use crate::driver::DriverKey;
use crate::eventlog::{Event, SystemEvent};
use crate::registry::{FileTime, TimeZone};
use crate::signing::{self, CatalogLocation, Verdict};
use crate::ui::action::{Outcome, PaneAction};
use crate::ui::pane::{Pane, PaneContext, Yank};
use crate::ui::pane_id::PaneId;
use crate::ui::theme::Theme;
use crate::ui::widgets::chooser::TableLayout;
use crate::ui::widgets::export::ViewTable;
use crate::ui::widgets::popup::Detail;
use crate::ui::widgets::search::{Jump, Search};
use crate::ui::widgets::table::{self, Column, DataTable, TableCell, TableRow, TableView};
use crate::ui::widgets::{self, cursor::Cursor};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The three tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Events,
    Drivers,
    Signatures,
}

impl Table {
    fn index(self) -> usize {
        match self {
            Table::Events => 0,
            Table::Drivers => 1,
            Table::Signatures => 2,
        }
    }
}

/// One event, ready to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub time: String,
    /// The machine's local time (the hive's `TimeZoneInformation`), same shape; `None` without it.
    pub local: Option<String>,
    pub source: String,
    pub id: u16,
    pub level: &'static str,
    /// 3 error/critical, 2 warning, 1 other.
    pub severity: u8,
    /// The drivers the event names, service key names resolved through the hive.
    pub drivers: Vec<DriverKey>,
    /// The driver or service shown in the Driver column.
    pub subject: String,
    /// The status, error or bug check the event reports, by name.
    pub status: String,
    pub summary: String,
    /// The drivers whose catalog the event names (a 3010 about a lost catalog), kept under
    /// their focus beside the drivers the event names.
    pub catalog_drivers: Vec<DriverKey>,
    /// Where the event is: `case.event_logs[log].events[index]`.
    pub log: usize,
    pub index: usize,
    /// The log's file name and the event's record ID (the source a note names).
    pub file: String,
    pub record: u64,
}

/// The events of one driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRow {
    pub driver: DriverKey,
    pub count: usize,
    pub first: String,
    pub last: String,
    /// First and last in the machine's local time, when the hive gives its time zone.
    pub first_local: Option<String>,
    pub last_local: Option<String>,
    /// The status of its worst event (or that event's ID and level).
    pub worst: String,
    pub severity: u8,
}

/// One driver's signature and configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureRow {
    pub driver: DriverKey,
    /// `None`: no file of this driver in the case.
    pub verdict: Option<Verdict>,
    /// What the trust rests on (`microsoft`, `cross-signed`, `test-root`, …).
    pub trust: Option<&'static str>,
    /// Why the verdict, and what Windows does (shown on Enter).
    pub reason: Option<String>,
    /// The catalog that lists it (file name) and where it is.
    pub catalog: Option<(String, CatalogLocation)>,
    pub start: Option<String>,
    pub error_control: Option<String>,
    /// `None`: the case has no boot log to tell.
    pub in_boot_log: Option<bool>,
    /// The boot log shows a Load Image of it (`in_boot_log` alone: only other events on it).
    pub loaded_in_boot_log: bool,
    /// `None`: the case has no analysed dump.
    pub on_stack: Option<bool>,
    /// Named by a bug-check parameter (0x5A names the driver that failed to load).
    pub named_by_bugcheck: bool,
    pub events: usize,
    /// Worth a look first: a failing verdict, error events, on the stack, or a critical boot driver.
    pub attention: bool,
    /// How strongly the case points at this driver (sort key, highest first): named by the bug
    /// check, error events, a failing verdict, a critical boot driver.
    pub rank: u8,
}

/// Everything the pane shows, built once per case from its artefacts.
#[derive(Clone, Debug, Default)]
pub struct IntegrityModel {
    pub events: Vec<EventRow>,
    pub groups: Vec<GroupRow>,
    pub signatures: Vec<SignatureRow>,
}

fn short_source(provider: &str) -> String {
    match provider {
        "Service Control Manager" => "SCM".to_string(),
        "Microsoft-Windows-CodeIntegrity" => "CodeIntegrity".to_string(),
        "Microsoft-Windows-WER-SystemErrorReporting" => "WER".to_string(),
        p => p
            .strip_prefix("Microsoft-Windows-")
            .unwrap_or(p)
            .to_string(),
    }
}

fn short_level(e: &Event) -> &'static str {
    match e.level {
        Some(1) => "Crit",
        Some(2) => "Err",
        Some(3) => "Warn",
        Some(5) => "Verb",
        _ => "Info",
    }
}

fn strip(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

/// The status, error or bug check an event reports, by name.
fn status_label(e: &Event) -> String {
    if let Some(ci) = e.code_integrity() {
        if let Some(s) = ci.status {
            return s
                .name()
                .map_or_else(|| format!("{:#010x}", s.code), |n| strip(n, "STATUS_"));
        }
        if let Some(v) = ci.signature.as_ref().and_then(|s| s.verification_error) {
            return v.name().unwrap_or("verification error").to_string();
        }
        return String::new();
    }
    match e.system() {
        Some(SystemEvent::ServiceStartFailed { error, .. })
        | Some(SystemEvent::ServiceTerminated { error, .. })
        | Some(SystemEvent::DependencyStartFailed { error, .. })
        | Some(SystemEvent::ServiceSpecificError { error, .. }) => error
            .name()
            .map_or_else(|| error.raw.clone(), |n| strip(n, "ERROR_")),
        Some(SystemEvent::DeviceDriverFailed {
            status: Some(s), ..
        }) => s
            .name()
            .map_or_else(|| format!("{:#010x}", s.code), |n| strip(n, "STATUS_")),
        Some(SystemEvent::UncleanReboot {
            bugcheck: Some(b), ..
        })
        | Some(SystemEvent::BugCheckReport {
            bugcheck: Some(b), ..
        }) => b.name().map_or_else(
            || format!("bugcheck {:#x}", b.code),
            |n| format!("{:#x} {n}", b.code),
        ),
        Some(SystemEvent::BootDriversNotLoaded { .. }) => "did not load".to_string(),
        _ => String::new(),
    }
}

fn time_text(e: &Event) -> String {
    e.time.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// The event's time on the machine's clock (`YYYY-MM-DD HH:MM:SS`), from the hive's time zone.
fn local_text(e: &Event, tz: Option<&TimeZone>) -> Option<String> {
    let iso = tz?.local_string(FileTime::from_unix_seconds(e.time.as_second()))?;
    // `2017-10-20T00:47:58-07:00`: the date and time, without the offset.
    Some(iso.get(..19)?.replacen('T', " ", 1))
}

impl IntegrityModel {
    /// Build the tables from the case; `boot_log` is the set of drivers a boot log saw load,
    /// when the case has one.
    pub fn build(
        case: &Case,
        analysis: &CaseAnalysis,
        boot_log: Option<&BTreeSet<DriverKey>>,
    ) -> IntegrityModel {
        let hive = case.hive.as_ref();
        let tz = hive.and_then(|h| h.time_zone());
        let mut events: Vec<(&Event, EventRow)> = Vec::new();
        for (li, log) in case.event_logs.iter().enumerate() {
            for (ei, e) in log.events.iter().enumerate() {
                // The analysis resolved service names and 3089 ActivityIDs to drivers.
                let drivers = analysis.drivers_of_event(li, ei).to_vec();
                let subject = drivers
                    .first()
                    .map(|d| d.name().to_string())
                    .or_else(|| e.services.first().cloned())
                    .unwrap_or_default();
                let row = EventRow {
                    time: time_text(e),
                    local: local_text(e, tz),
                    source: short_source(&e.provider),
                    id: e.event_id,
                    level: short_level(e),
                    severity: e.severity(),
                    drivers,
                    subject,
                    status: status_label(e),
                    summary: e.summary(),
                    catalog_drivers: analysis.catalog_drivers_of_event(li, ei).to_vec(),
                    log: li,
                    index: ei,
                    file: log
                        .path
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                    record: e.record_id,
                };
                events.push((e, row));
            }
        }
        events.sort_by(|a, b| {
            a.0.time
                .cmp(&b.0.time)
                .then(a.0.record_id.cmp(&b.0.record_id))
        });
        let events: Vec<EventRow> = events.into_iter().map(|(_, r)| r).collect();

        let mut groups: BTreeMap<DriverKey, GroupRow> = BTreeMap::new();
        for r in &events {
            for d in &r.drivers {
                let g = groups.entry(d.clone()).or_insert_with(|| GroupRow {
                    driver: d.clone(),
                    count: 0,
                    first: r.time.clone(),
                    last: r.time.clone(),
                    first_local: r.local.clone(),
                    last_local: r.local.clone(),
                    worst: String::new(),
                    severity: 0,
                });
                g.count += 1;
                g.last = r.time.clone();
                g.last_local = r.local.clone();
                if r.severity > g.severity || (r.severity == g.severity && g.worst.is_empty()) {
                    g.severity = r.severity;
                    g.worst = if r.status.is_empty() {
                        format!("{} {}", r.id, r.level)
                    } else {
                        r.status.clone()
                    };
                }
            }
        }

        let dump = case.dump();
        // Without an explicit list, the links say which drivers the case's boot log saw.
        let boot_log_loaded = case.boot_log.is_some();
        let mut known: BTreeSet<DriverKey> = groups.keys().cloned().collect();
        if let Some(d) = dump {
            known.extend(d.dump.modules.iter().filter_map(|m| m.key()));
        }
        if let Some(h) = hive {
            known.extend(h.drivers().filter_map(|s| s.driver.clone()));
        }
        known.extend(case.signatures.iter().filter_map(|v| v.driver.clone()));

        let mut signatures: Vec<SignatureRow> = known
            .into_iter()
            .map(|driver| {
                let verdict = signing::for_driver(&case.signatures, &driver)
                    .first()
                    .map(|v| (*v).clone());
                let service = hive.and_then(|h| h.service_for_driver(&driver));
                let group = groups.get(&driver);
                // The links count each driver's frames on the analysed dump's stack.
                let on_stack = dump.map(|_| {
                    analysis
                        .links
                        .get(&driver)
                        .and_then(|l| l.dump.as_ref())
                        .is_some_and(|d| d.frames > 0)
                });
                let named_by_bugcheck = analysis
                    .links
                    .drivers
                    .get(&driver)
                    .and_then(|l| l.dump.as_ref())
                    .is_some_and(|d| d.named_by_parameter);
                let critical_boot = service.is_some_and(|s| s.is_critical_boot_driver());
                let bad_verdict = verdict.as_ref().is_some_and(|v| !v.verdict.is_signed());
                let attention = bad_verdict
                    || group.is_some_and(|g| g.severity >= 3)
                    || named_by_bugcheck
                    || on_stack == Some(true) && critical_boot;
                let rank = u8::from(named_by_bugcheck) * 8
                    + u8::from(group.is_some_and(|g| g.severity >= 3)) * 4
                    + u8::from(bad_verdict) * 2
                    + u8::from(critical_boot);
                SignatureRow {
                    rank,
                    catalog: verdict.as_ref().and_then(|v| {
                        v.catalog.as_ref().map(|c| {
                            let name = c
                                .path
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            (name, c.location)
                        })
                    }),
                    trust: verdict.as_ref().map(|v| v.trust_word()),
                    reason: verdict
                        .as_ref()
                        .map(|v| format!("{}: {} Windows: {}", v.verdict, v.reason, v.windows)),
                    verdict: verdict.map(|v| v.verdict),
                    start: service
                        .and_then(|s| s.start)
                        .map(|s| s.name().map_or_else(|| s.0.to_string(), str::to_string)),
                    error_control: service
                        .and_then(|s| s.error_control)
                        .map(|e| e.name().map_or_else(|| e.0.to_string(), str::to_string)),
                    in_boot_log: match boot_log {
                        Some(b) => Some(b.contains(&driver)),
                        None if boot_log_loaded => Some(
                            analysis
                                .links
                                .drivers
                                .get(&driver)
                                .is_some_and(|l| l.boot_log_events > 0 || l.boot_log_loaded),
                        ),
                        None => None,
                    },
                    named_by_bugcheck,
                    loaded_in_boot_log: analysis
                        .links
                        .drivers
                        .get(&driver)
                        .is_some_and(|l| l.boot_log_loaded),
                    on_stack,
                    events: group.map_or(0, |g| g.count),
                    attention,
                    driver,
                }
            })
            .collect();
        signatures.sort_by(|a, b| b.rank.cmp(&a.rank).then(a.driver.cmp(&b.driver)));
        IntegrityModel {
            events,
            groups: groups.into_values().collect(),
            signatures,
        }
    }
}

/// The Integrity pane.
pub struct IntegrityPane {
    model: Option<Arc<IntegrityModel>>,
    /// What the model was built from (artefact counts), to rebuild when the case changes.
    built_from: Option<(usize, usize, usize, usize, usize)>,
    boot_log: Option<BTreeSet<DriverKey>>,
    active: Table,
    /// The table with the cursor takes the whole pane (`Z`).
    zoom: bool,
    /// The lower table shown when there is room for only one (Drivers or Signatures).
    lower: Table,
    cursors: [Cursor; 3],
    /// Per table: wrap (`W`), the columns (`C`) and the sideways scroll (`<`/`>`).
    layouts: [TableLayout; 3],
    focus: Option<DriverKey>,
    /// `/` over the events, the drivers, then the signatures (the rows under the focus).
    search: Search,
    /// Show times on the machine's clock (`z`) instead of UTC.
    local_time: bool,
    /// The detail view open over the tables (Enter): an event, a driver's events, a signature.
    detail: Option<Detail>,
}

impl Default for IntegrityPane {
    fn default() -> Self {
        IntegrityPane::new()
    }
}

fn fingerprint(case: &Case) -> (usize, usize, usize, usize, usize) {
    (
        case.event_logs.len(),
        case.event_logs.iter().map(|l| l.events.len()).sum(),
        case.signatures.len(),
        case.hive.as_ref().map_or(0, |h| h.services.len()),
        case.dumps.len(),
    )
}

const NEEDS: &[&str] = &[
    "Microsoft-Windows-CodeIntegrity%4Operational.evtx",
    "System.evtx",
    "driver files (.sys) with CatRoot or servicing\\Packages catalogs",
    "SYSTEM (the registry hive), for Start and ErrorControl",
];

impl IntegrityPane {
    pub fn new() -> IntegrityPane {
        IntegrityPane {
            zoom: false,
            model: None,
            built_from: None,
            boot_log: None,
            active: Table::Events,
            lower: Table::Signatures,
            cursors: [Cursor::default(); 3],
            layouts: Default::default(),
            focus: None,
            search: Search::default(),
            local_time: false,
            detail: None,
        }
    }

    /// The drivers a boot log (Procmon) saw load, for the "boot log" column.
    pub fn set_boot_log_drivers(&mut self, drivers: BTreeSet<DriverKey>) {
        self.boot_log = Some(drivers);
        self.model = None;
    }

    /// The table that moves with j/k.
    pub fn active(&self) -> Table {
        self.active
    }

    /// The model, rebuilt when the case changed (shared, so a frame never copies it).
    fn model(&mut self, ctx: &PaneContext) -> Arc<IntegrityModel> {
        let fp = fingerprint(ctx.case);
        if self.model.is_none() || self.built_from != Some(fp) {
            self.model = Some(Arc::new(IntegrityModel::build(
                ctx.case,
                ctx.analysis,
                self.boot_log.as_ref(),
            )));
            self.built_from = Some(fp);
        }
        Arc::clone(self.model.get_or_insert_with(Arc::default))
    }

    /// The rows of each table under the focus.
    fn visible(
        model: &IntegrityModel,
        focus: Option<&DriverKey>,
    ) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
        // The indices of the rows `keep` keeps.
        fn kept<T>(rows: &[T], keep: impl Fn(&T) -> bool) -> Vec<usize> {
            (0..rows.len()).filter(|&i| keep(&rows[i])).collect()
        }
        // A driver's events: those that name it, and the catalog events about its catalog.
        let ev = kept(&model.events, |r| {
            focus.is_none_or(|f| r.drivers.contains(f) || r.catalog_drivers.contains(f))
        });
        let gr = kept(&model.groups, |r| focus.is_none_or(|f| r.driver == *f));
        let sg = kept(&model.signatures, |r| focus.is_none_or(|f| r.driver == *f));
        (ev, gr, sg)
    }
}

/// One row of the Integrity tables: its cells, whether `/` matches it, its severity.
type IntegrityRow = (Vec<TableCell>, bool, u8);

/// Builds row `i` of a table given its columns' widths.
type RowBuilder<'a> = Box<dyn Fn(usize, &[u16]) -> Option<IntegrityRow> + 'a>;

/// One of the three tables in its box (highlighted when `active`, the only one whose cursor
/// shows).
fn draw_table(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    active: bool,
    (cursor, view): (&mut Cursor, &TableView),
    spec: Spec,
    theme: &Theme,
) {
    let source = table::rows(spec.len, |i, ctx| {
        let (cells, matched, severity) = (spec.row)(i, ctx.widths)?;
        let style = row_style(theme, active && ctx.selected, matched, severity);
        Some(TableRow::new(cells, style))
    });
    widgets::TableBox::new(title, spec.len, spec.empty)
        .active(active)
        .table(
            frame,
            area,
            theme,
            DataTable::new(&spec.columns).view(view),
            cursor,
            &source,
        );
}

/// What the three tables read.
#[derive(Clone, Copy)]
struct View<'a> {
    model: &'a IntegrityModel,
    search: &'a Search,
    /// Times in the machine's zone rather than UTC.
    local: bool,
}

/// What one of the three tables shows at a width: its columns, what it says when empty, and
/// a builder of row `i` given the columns' widths.
struct Spec<'a> {
    columns: Vec<Column>,
    empty: &'static str,
    len: usize,
    row: RowBuilder<'a>,
}

/// The events: time, source (wide), ID, level, driver, status, details.
fn event_spec<'a>(v: View<'a>, rows: &'a [usize], width: u16) -> Spec<'a> {
    let (src_w, drv_w, st_w) = if width >= 140 {
        (14, 16, 30)
    } else if width >= 100 {
        (13, 14, 22)
    } else {
        (0, 13, 18)
    };
    let local = v.local;
    let time_title = if local {
        "Time (machine)"
    } else {
        "Time (UTC)"
    };
    let mut columns = vec![Column::fixed(time_title, 19)];
    if src_w > 0 {
        columns.push(Column::fixed("Source", src_w).priority(1));
    }
    columns.extend([
        Column::fixed("ID", 4).right(),
        Column::fixed("Lvl", 4).priority(2),
        Column::fixed("Driver", drv_w),
        Column::fixed("Status", st_w).priority(3),
        Column::fill("Details", 1),
    ]);
    let search = v.search;
    let row = move |i: usize, _: &[u16]| {
        let r = v.model.events.get(*rows.get(i)?)?;
        let time = match (&r.local, local) {
            (Some(l), true) => l,
            _ => &r.time,
        };
        let mut cells: Vec<TableCell> = vec![time.as_str().into()];
        if src_w > 0 {
            cells.push(r.source.as_str().into());
        }
        cells.extend([
            r.id.to_string().into(),
            r.level.into(),
            r.subject.as_str().into(),
            r.status.as_str().into(),
            r.summary.as_str().into(),
        ]);
        Some((cells, event_matches(search, r), r.severity))
    };
    Spec {
        columns,
        empty: "no events",
        len: rows.len(),
        row: Box::new(row),
    }
}

/// The events grouped by driver: count, first and last, worst status.
fn group_spec<'a>(v: View<'a>, rows: &'a [usize], width: u16) -> Spec<'a> {
    // Narrow: the times without their year.
    let tw: u16 = if width >= 100 { 19 } else { 14 };
    let columns = [
        Column::fixed("Driver", 16),
        Column::fixed("Count", 5).right(),
        Column::fixed("First", tw).priority(1),
        Column::fixed("Last", tw).priority(2),
        Column::fill("Worst status", 1),
    ];
    let local = v.local;
    let time = move |utc: &str, l: &Option<String>| -> String {
        let t = match l {
            Some(l) if local => l.as_str(),
            _ => utc,
        };
        t.chars().skip(19 - usize::from(tw)).collect()
    };
    let search = v.search;
    let row = move |i: usize, _: &[u16]| {
        let r = v.model.groups.get(*rows.get(i)?)?;
        let cells = vec![
            r.driver.name().into(),
            r.count.to_string().into(),
            time(&r.first, &r.first_local).into(),
            time(&r.last, &r.last_local).into(),
            r.worst.as_str().into(),
        ];
        Some((cells, group_matches(search, r), r.severity))
    };
    Spec {
        columns: columns.to_vec(),
        empty: "no event names a driver",
        len: rows.len(),
        row: Box::new(row),
    }
}

/// Each driver's signature verdict and configuration.
fn signature_spec<'a>(v: View<'a>, rows: &'a [usize], width: u16) -> Spec<'a> {
    // Driver, verdict, Start, ErrorControl, boot log, stack (and events when wide); the
    // catalog gets the rest. Short of room, the trust goes first, then the events.
    let wide = width >= 100;
    let mut columns = vec![
        Column::fixed("Driver", if wide { 18 } else { 14 }),
        Column::fixed("Verdict", 25),
        Column::fixed("Trust", 9).priority(1),
        Column::fixed("Start", 7).priority(4),
        Column::fixed("ErrorCtl", 8).priority(3),
        Column::fixed("Boot", 4).priority(5),
        Column::fixed("Stack", 5).priority(6),
    ];
    if wide {
        columns.push(Column::fixed("Ev", 2).right().priority(2));
    }
    columns.push(Column::min("Catalog", 9));
    let catalog_col = columns.len() - 1;
    let search = v.search;
    let row = move |i: usize, widths: &[u16]| {
        let r = v.model.signatures.get(*rows.get(i)?)?;
        let cat_w = widths.get(catalog_col).copied().unwrap_or(0);
        let catalog = match &r.catalog {
            Some((name, loc)) if cat_w >= 24 => format!("{} {}", location_word(*loc), name),
            Some((_, loc)) => location_word(*loc).to_string(),
            None => "-".to_string(),
        };
        let mut cells: Vec<TableCell> = vec![
            r.driver.name().into(),
            verdict_text(r).into(),
            r.trust.unwrap_or("-").into(),
            r.start.as_deref().unwrap_or("-").into(),
            r.error_control.as_deref().unwrap_or("-").into(),
            match (r.in_boot_log, r.loaded_in_boot_log) {
                (Some(true), true) => "load",
                (Some(true), false) => "seen",
                (other, _) => yes_no(other),
            }
            .into(),
            match (r.on_stack, r.named_by_bugcheck) {
                (Some(true), _) => "yes",
                (_, true) => "param",
                (other, false) => yes_no(other),
            }
            .into(),
        ];
        if wide {
            cells.push(r.events.to_string().into());
        }
        cells.push(catalog.into());
        let severity = if r.verdict.is_some_and(|v| !v.is_signed()) {
            3
        } else if r.attention {
            2
        } else {
            1
        };
        Some((cells, signature_matches(search, r), severity))
    };
    Spec {
        columns,
        empty: "no driver known to the case",
        len: rows.len(),
        row: Box::new(row),
    }
}

/// An event's detail view: Event Viewer's General text and properties, then every field.
fn event_detail(case: &Case, r: &EventRow) -> Option<Detail> {
    let e = case.event_logs.get(r.log)?.events.get(r.index)?;
    let mut fields = e.detail();
    fields.insert(1, ("File".to_string(), r.file.clone()));
    Some(Detail::new(
        format!("Event {} {}, record {}", r.id, r.source, r.record),
        fields,
    ))
}

/// A driver's events, one line each.
fn group_detail(model: &IntegrityModel, g: &GroupRow) -> Detail {
    let mut fields = vec![
        ("Driver".to_string(), g.driver.to_string()),
        (
            "Events".to_string(),
            format!("{} from {} to {} (UTC)", g.count, g.first, g.last),
        ),
        ("Worst".to_string(), g.worst.clone()),
    ];
    for r in model
        .events
        .iter()
        .filter(|r| r.drivers.contains(&g.driver))
    {
        fields.push((
            format!("{} {}", r.id, r.level),
            format!("{} {} {}", r.time, r.status, r.summary),
        ));
    }
    Detail::new(format!("Events of {}", g.driver), fields)
}

/// A driver's signature as `sigcheck -i` reports it, with its service's Start and
/// ErrorControl; a driver without a file in the case says so.
fn signature_detail(ctx: &PaneContext, r: &SignatureRow) -> Detail {
    let mut fields = match signing::for_driver(&ctx.case.signatures, &r.driver).first() {
        Some(v) => signing::report::sigcheck_info(v),
        None => vec![(
            "Verified".to_string(),
            "no file of this driver in the case: nothing to judge".to_string(),
        )],
    };
    fields.push((
        "Service".to_string(),
        format!(
            "Start {}, ErrorControl {}",
            r.start.as_deref().unwrap_or("-"),
            r.error_control.as_deref().unwrap_or("-")
        ),
    ));
    // Paths as the case names them, not where this machine keeps the case.
    if let Some(inv) = &ctx.case.inventory {
        for (_, v) in fields.iter_mut() {
            *v = inv.shorten(v);
        }
    }
    Detail::new(format!("Signature of {}", r.driver), fields)
}

fn row_style(theme: &Theme, selected: bool, matched: bool, severity: u8) -> Style {
    if selected {
        theme.selected
    } else if matched {
        theme.key
    } else if severity >= 3 {
        theme.bad
    } else if severity == 2 {
        theme.warn
    } else {
        theme.text
    }
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

fn location_word(l: CatalogLocation) -> &'static str {
    l.as_str()
}

/// The case has something this pane shows.
fn has_artefacts(case: &Case) -> bool {
    !(case.event_logs.is_empty() && case.signatures.is_empty() && case.hive.is_none())
}

fn verdict_text(r: &SignatureRow) -> &'static str {
    r.verdict.map_or("no file in case", |v| v.as_str())
}

fn event_matches(search: &Search, r: &EventRow) -> bool {
    search.matches_any([
        r.time.as_str(),
        r.local.as_deref().unwrap_or(""),
        &r.source,
        &r.id.to_string(),
        r.level,
        &r.subject,
        &r.status,
        &r.summary,
    ])
}

fn group_matches(search: &Search, r: &GroupRow) -> bool {
    search.matches_any([r.driver.name(), &r.first, &r.last, &r.worst])
}

fn signature_matches(search: &Search, r: &SignatureRow) -> bool {
    let catalog = r
        .catalog
        .as_ref()
        .map(|(name, loc)| format!("{} {name}", location_word(*loc)))
        .unwrap_or_default();
    search.matches_any([
        r.driver.name(),
        verdict_text(r),
        r.start.as_deref().unwrap_or(""),
        r.error_control.as_deref().unwrap_or(""),
        &catalog,
    ])
}

impl IntegrityPane {
    /// Move to a match: the events, then the drivers, then the signatures (each as filtered by
    /// the focus).
    fn search_jump(&mut self, ctx: &PaneContext, how: Jump) -> Outcome {
        let focus = ctx.focus.or(self.focus.as_ref()).cloned();
        let model = self.model(ctx);
        let (ev, gr, sg) = IntegrityPane::visible(&model, focus.as_ref());
        let (ne, ng) = (ev.len(), gr.len());
        let cursor = self.cursors[self.active.index()].selected
            + match self.active {
                Table::Events => 0,
                Table::Drivers => ne,
                Table::Signatures => ne + ng,
            };
        let search = &self.search;
        let (to, outcome) = search.jump(ne + ng + sg.len(), cursor, how, "event or driver", |i| {
            if i < ne {
                model
                    .events
                    .get(ev[i])
                    .is_some_and(|r| event_matches(search, r))
            } else if i < ne + ng {
                model
                    .groups
                    .get(gr[i - ne])
                    .is_some_and(|r| group_matches(search, r))
            } else {
                sg.get(i - ne - ng)
                    .and_then(|&j| model.signatures.get(j))
                    .is_some_and(|r| signature_matches(search, r))
            }
        });
        if let Some(i) = to {
            let (table, row) = if i < ne {
                (Table::Events, i)
            } else if i < ne + ng {
                (Table::Drivers, i - ne)
            } else {
                (Table::Signatures, i - ne - ng)
            };
            self.active = table;
            if table != Table::Events {
                self.lower = table;
            }
            self.cursors[table.index()].center(row);
        }
        outcome
    }
}

impl Pane for IntegrityPane {
    fn title(&self) -> &'static str {
        crate::ui::pane_id::PaneId::Integrity.title()
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext) {
        let theme = ctx.theme;
        let case = ctx.case;
        if !has_artefacts(case) {
            widgets::missing(frame, area, PaneId::Integrity.title(), NEEDS, theme);
            return;
        }
        let (area, search_area) = self.search.split(area);
        let model = self.model(ctx);
        let focus = ctx.focus.or(self.focus.as_ref()).cloned();
        let (ev, gr, sg) = IntegrityPane::visible(&model, focus.as_ref());

        let ci = model
            .events
            .iter()
            .filter(|e| e.source == "CodeIntegrity")
            .count();
        let mut head = vec![
            Span::styled("Integrity ", theme.header),
            Span::raw(format!(
                "{} events ({} CodeIntegrity, {} System) in {} logs, {} drivers",
                model.events.len(),
                ci,
                model.events.len() - ci,
                case.event_logs.len(),
                model.signatures.len()
            )),
        ];
        if let Some(f) = &focus {
            head.push(Span::raw("  focus "));
            head.push(Span::styled(f.name().to_string(), theme.focused_driver));
        }

        let title = match &focus {
            Some(f) => format!("Events of {}", f.name()),
            None => "Events".to_string(),
        };
        // Each box sized to what it holds (a short table leaves its rows to the others), the
        // events first.
        let need = |rows| widgets::table_box_need(rows, 0);
        let body = area.height.saturating_sub(1);
        let (top, events_area, groups_area, sigs_area) = if area.height >= 36 {
            // Room for all three tables, one under the other, each at full width.
            let (events_h, lower_h) = widgets::share_rows(
                body,
                need(ev.len()),
                need(gr.len()).saturating_add(need(sg.len())),
            );
            let (groups_h, _) = widgets::share_rows(lower_h, need(gr.len()), need(sg.len()));
            let [top, events, groups, sigs] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Length(events_h),
                Constraint::Length(groups_h),
                Constraint::Fill(1),
            ])
            .areas(area);
            (top, events, Some(groups), Some(sigs))
        } else {
            // The events, and under them the table last chosen with d or s.
            let lower_rows = match self.lower {
                Table::Drivers => gr.len(),
                _ => sg.len(),
            };
            let (events_h, _) = widgets::share_rows(body, need(ev.len()), need(lower_rows));
            let [top, events, lower] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Length(events_h),
                Constraint::Fill(1),
            ])
            .areas(area);
            match self.lower {
                Table::Drivers => (top, events, Some(lower), None),
                _ => (top, events, None, Some(lower)),
            }
        };
        // Zoomed, the table with the cursor has the pane under the head line.
        let (events_area, groups_area, sigs_area) = if self.zoom {
            let full = Rect {
                y: area.y + 1,
                height: area.height.saturating_sub(1),
                ..area
            };
            match self.active {
                Table::Events => (full, None, None),
                Table::Drivers => (Rect::default(), Some(full), None),
                Table::Signatures => (Rect::default(), None, Some(full)),
            }
        } else {
            (events_area, groups_area, sigs_area)
        };
        frame.render_widget(Paragraph::new(Line::from(head)), top);
        let view = View {
            model: &model,
            search: &self.search,
            local: self.local_time,
        };
        let inner = |a: Rect| a.width.saturating_sub(2);
        let mut tables = Vec::new();
        if events_area.height > 0 {
            tables.push((
                Table::Events,
                events_area,
                title,
                event_spec(view, &ev, inner(events_area)),
            ));
        }
        if let Some(a) = groups_area {
            let spec = group_spec(view, &gr, inner(a));
            tables.push((Table::Drivers, a, "By driver".to_string(), spec));
        }
        if let Some(a) = sigs_area {
            let spec = signature_spec(view, &sg, inner(a));
            tables.push((Table::Signatures, a, "Signatures".to_string(), spec));
        }
        for (which, a, title, spec) in tables {
            let active = self.active == which;
            let i = which.index();
            self.layouts[i].drawn(&spec.columns);
            let cursor = &mut self.cursors[i];
            let state = (cursor, &self.layouts[i].view);
            draw_table(frame, a, &title, active, state, spec, theme);
        }
        self.search.render(frame, search_area, theme);
        self.layouts[self.active.index()].render_chooser(frame, area, theme);
        if let Some(d) = self.detail.as_mut() {
            d.render(frame, area, theme);
        }
    }

    fn edit_key(&mut self, key: KeyEvent, ctx: &PaneContext) -> Option<Outcome> {
        if let Some(o) = self.layouts[self.active.index()].key(key) {
            return Some(o);
        }
        let jump = self.search.edit_open(key)?.then_some(Jump::First);
        Some(jump.map_or(Outcome::Consumed, |j| self.search_jump(ctx, j)))
    }

    fn handle_action(&mut self, action: PaneAction, ctx: &PaneContext) -> Outcome {
        use PaneAction as A;
        if let Some(d) = self.detail.as_mut() {
            match action {
                A::Close | A::Details => self.detail = None,
                A::Focus => {}
                a => {
                    d.scroll.act(a);
                    return Outcome::Consumed;
                }
            }
            if action != A::Focus {
                return Outcome::Consumed;
            }
        }
        match action {
            A::Close => return Outcome::Ignored,
            A::Search if has_artefacts(ctx.case) => {
                self.search.open("Search events, drivers and signatures");
                return Outcome::Consumed;
            }
            A::Search => {
                return Outcome::Message("no event log, driver or signature to search".into());
            }
            A::TimeZone => {
                let tz = ctx.case.hive.as_ref().and_then(|h| h.time_zone());
                return match tz {
                    None => Outcome::Message(
                        "no time zone: the case has no SYSTEM hive with TimeZoneInformation; times stay in UTC"
                            .to_string(),
                    ),
                    Some(tz) => {
                        self.local_time = !self.local_time;
                        Outcome::Message(if self.local_time {
                            format!(
                                "times on the machine's clock ({})",
                                tz.key_name.as_deref().unwrap_or("TimeZoneInformation")
                            )
                        } else {
                            "times in UTC".to_string()
                        })
                    }
                };
            }
            A::NextMatch => return self.search_jump(ctx, Jump::Next),
            A::PrevMatch => return self.search_jump(ctx, Jump::Prev),
            A::Zoom => {
                self.zoom = !self.zoom;
                return Outcome::Consumed;
            }
            // W, C, </> act on the table with the cursor.
            A::Wrap | A::Columns | A::ColumnsLeft | A::ColumnsRight => {
                return self.layouts[self.active.index()]
                    .act(action)
                    .unwrap_or(Outcome::Consumed);
            }
            // h/l (←/→) go round the three tables.
            A::NextBox | A::PrevBox => {
                let order = [Table::Events, Table::Drivers, Table::Signatures];
                let at = self.active.index();
                let to = if action == A::NextBox {
                    (at + 1) % 3
                } else {
                    (at + 2) % 3
                };
                self.active = order[to];
                if self.active != Table::Events {
                    self.lower = self.active;
                }
                return Outcome::Consumed;
            }
            _ => {}
        }
        let focus = ctx.focus.or(self.focus.as_ref()).cloned();
        let model = self.model(ctx);
        let (ev, gr, sg) = IntegrityPane::visible(&model, focus.as_ref());
        let len = match self.active {
            Table::Events => ev.len(),
            Table::Drivers => gr.len(),
            Table::Signatures => sg.len(),
        };
        let cursor = &mut self.cursors[self.active.index()];
        if cursor.act(action, len) {
            return Outcome::Consumed;
        }
        let sel = cursor.selected;
        match action {
            // The row's detail view: an event as Event Viewer shows it, a driver's events, a
            // signature as `sigcheck -i` reports it.
            A::Details => {
                let detail = match self.active {
                    Table::Events => ev
                        .get(sel)
                        .and_then(|i| model.events.get(*i))
                        .and_then(|r| event_detail(ctx.case, r)),
                    Table::Drivers => gr
                        .get(sel)
                        .and_then(|i| model.groups.get(*i))
                        .map(|g| group_detail(&model, g)),
                    Table::Signatures => sg
                        .get(sel)
                        .and_then(|i| model.signatures.get(*i))
                        .map(|r| signature_detail(ctx, r)),
                };
                match detail {
                    Some(d) => {
                        self.detail = Some(d);
                        Outcome::Consumed
                    }
                    None => Outcome::Message("no row selected".to_string()),
                }
            }
            A::Focus => {
                let driver = match self.active {
                    Table::Events => ev
                        .get(sel)
                        .and_then(|i| model.events.get(*i))
                        .and_then(|r| r.drivers.first().cloned()),
                    Table::Drivers => gr
                        .get(sel)
                        .and_then(|i| model.groups.get(*i))
                        .map(|r| r.driver.clone()),
                    Table::Signatures => sg
                        .get(sel)
                        .and_then(|i| model.signatures.get(*i))
                        .map(|r| r.driver.clone()),
                };
                match driver {
                    Some(d) => Outcome::Focus(d),
                    None => Outcome::Message("this row names no driver".to_string()),
                }
            }
            _ => Outcome::Ignored,
        }
    }

    /// The active table (events, drivers or signatures), its rows under the focus.
    fn table(&self, ctx: &PaneContext) -> Option<ViewTable> {
        let model = self.model.as_ref()?;
        let focus = ctx.focus.or(self.focus.as_ref());
        let (ev, gr, sg) = IntegrityPane::visible(model, focus);
        Some(match self.active {
            Table::Events => ViewTable {
                header: [
                    "Time (UTC)",
                    "Source",
                    "ID",
                    "Level",
                    "Driver",
                    "Status",
                    "Details",
                ]
                .map(String::from)
                .to_vec(),
                rows: ev
                    .iter()
                    .filter_map(|&i| model.events.get(i))
                    .map(|r| {
                        vec![
                            r.time.clone(),
                            r.source.clone(),
                            r.id.to_string(),
                            r.level.to_string(),
                            r.subject.clone(),
                            r.status.clone(),
                            r.summary.clone(),
                        ]
                    })
                    .collect(),
            },
            Table::Drivers => ViewTable {
                header: ["Driver", "Events", "First (UTC)", "Last (UTC)", "Worst"]
                    .map(String::from)
                    .to_vec(),
                rows: gr
                    .iter()
                    .filter_map(|&i| model.groups.get(i))
                    .map(|r| {
                        vec![
                            r.driver.to_string(),
                            r.count.to_string(),
                            r.first.clone(),
                            r.last.clone(),
                            r.worst.clone(),
                        ]
                    })
                    .collect(),
            },
            Table::Signatures => ViewTable {
                header: [
                    "Driver",
                    "Verdict",
                    "Trust",
                    "Catalog",
                    "Start",
                    "ErrorControl",
                    "Why",
                ]
                .map(String::from)
                .to_vec(),
                rows: sg
                    .iter()
                    .filter_map(|&i| model.signatures.get(i))
                    .map(|r| {
                        vec![
                            r.driver.to_string(),
                            r.verdict.map_or("no file", |v| v.as_str()).to_string(),
                            r.trust.unwrap_or("").to_string(),
                            r.catalog.as_ref().map_or(String::new(), |c| c.0.clone()),
                            r.start.clone().unwrap_or_default(),
                            r.error_control.clone().unwrap_or_default(),
                            r.reason.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
            },
        })
    }

    fn table_row(&self) -> Option<usize> {
        Some(self.cursors[self.active.index()].selected)
    }

    fn cursor_mut(&mut self) -> Option<&mut Cursor> {
        Some(&mut self.cursors[self.active.index()])
    }

    /// An event (by log and index) in the events table, a driver's row in the signatures.
    fn reveal(&mut self, source: &crate::findings::SourceRef, ctx: &PaneContext) -> bool {
        use crate::findings::SourceRef as S;
        let focus = ctx.focus.or(self.focus.as_ref()).cloned();
        let model = self.model(ctx);
        let (ev, _, sg) = IntegrityPane::visible(&model, focus.as_ref());
        let (table, row) = match source {
            S::Event { log, event, .. } => (
                Table::Events,
                ev.iter().position(|&i| {
                    model
                        .events
                        .get(i)
                        .is_some_and(|r| r.log == *log && r.index == *event)
                }),
            ),
            S::Signature { driver } => (
                Table::Signatures,
                sg.iter()
                    .position(|&i| model.signatures.get(i).is_some_and(|r| r.driver == *driver)),
            ),
            _ => return false,
        };
        let Some(row) = row else { return false };
        self.detail = None;
        self.active = table;
        if table != Table::Events {
            self.lower = table;
        }
        self.cursors[table.index()].center(row);
        true
    }

    /// An event with its log file and record ID; a signature with its file; the open detail
    /// view whole.
    fn note(&self, ctx: &PaneContext) -> Option<crate::ui::pane::NoteEntry> {
        use crate::ui::pane::NoteEntry;
        let model = self.model.as_ref()?;
        let focus = ctx.focus.or(self.focus.as_ref());
        let (ev, _, sg) = IntegrityPane::visible(model, focus);
        let sel = self.cursors[self.active.index()].selected;
        match self.active {
            Table::Events => {
                let r = model.events.get(*ev.get(sel)?)?;
                let text = match &self.detail {
                    Some(d) => d.text(),
                    None => format!(
                        "{} {} {} {} {}: {} {}",
                        r.time, r.source, r.id, r.level, r.subject, r.status, r.summary
                    ),
                };
                Some(NoteEntry {
                    text,
                    source: format!("{} record {}", r.file, r.record),
                })
            }
            Table::Signatures => {
                let r = model.signatures.get(*sg.get(sel)?)?;
                let file = signing::for_driver(&ctx.case.signatures, &r.driver)
                    .first()
                    .map(|v| v.path.display().to_string());
                let source = match (file, &ctx.case.inventory) {
                    (Some(f), Some(inv)) => inv.shorten(&f),
                    (Some(f), None) => f,
                    (None, _) => format!("Integrity pane, signature of {}", r.driver),
                };
                Some(NoteEntry {
                    text: match &self.detail {
                        Some(d) => d.text(),
                        None => format!(
                            "{}: {}",
                            r.driver,
                            r.reason
                                .as_deref()
                                .unwrap_or("no file of this driver in the case")
                        ),
                    },
                    source,
                })
            }
            Table::Drivers => {
                let t = self.table(ctx)?;
                let row = t.rows.get(sel)?;
                Some(NoteEntry {
                    text: row.join(" "),
                    source: format!("Integrity pane, events of {}", row.first()?),
                })
            }
        }
    }

    fn on_focus(&mut self, ctx: &PaneContext) {
        self.focus = ctx.focus.cloned();
        self.cursors = [Cursor::default(); 3];
    }

    fn captures_input(&self) -> bool {
        self.search.is_open() || self.layouts.iter().any(TableLayout::is_open)
    }

    fn yank(&self, ctx: &PaneContext, whole: bool) -> Option<Yank> {
        if let Some(d) = &self.detail {
            return Some(Yank {
                what: "the details",
                text: d.text(),
            });
        }
        crate::ui::pane::table_yank(self, ctx, whole)
    }
}
