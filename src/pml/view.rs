//! A view over a log for the Timeline pane, testable without a terminal: which events show
//! (filter rules, quick toggles, a driver's events) and in what order (a sort over the column
//! index), computed as a permutation of event numbers, never as decoded events. [`ViewJob`]
//! runs [`compute`] on a worker thread with progress and cancellation; [`Find`] moves a
//! cursor to the next row that matches a search; [`time_of_day_ticks`] and [`row_at_time`]
//! serve the jump to a time.

use super::driver::{DriverEvents, DriverQuery};
use super::index::EventIndex;
use super::{Filter, PmlLog, names, render};
use crate::driver::DriverKey;
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// The columns a view sorts by. Detail is not sortable: it would decode every event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortColumn {
    /// Time of Day (ties in event order): the log's own order.
    Time,
    Process,
    Pid,
    Operation,
    Path,
    Result,
}

impl SortColumn {
    pub const ALL: [SortColumn; 6] = [
        SortColumn::Time,
        SortColumn::Process,
        SortColumn::Pid,
        SortColumn::Operation,
        SortColumn::Path,
        SortColumn::Result,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SortColumn::Time => "time",
            SortColumn::Process => "process",
            SortColumn::Pid => "PID",
            SortColumn::Operation => "operation",
            SortColumn::Path => "path",
            SortColumn::Result => "result",
        }
    }

    /// The next column in [`SortColumn::ALL`], wrapping.
    pub fn next(self) -> SortColumn {
        let i = SortColumn::ALL.iter().position(|c| *c == self).unwrap_or(0);
        SortColumn::ALL[(i + 1) % SortColumn::ALL.len()]
    }
}

/// Quick toggles: each one narrows the view further.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Toggles {
    /// Results that are not success (NTSTATUS warnings and errors: 0x80000000 and above).
    pub failures: bool,
    /// Load Image events.
    pub image_loads: bool,
    /// Events of the System process (PID 4).
    pub system: bool,
}

impl Toggles {
    pub fn any(&self) -> bool {
        self.failures || self.image_loads || self.system
    }
}

/// Whether an NTSTATUS is a failure (warning or error severity).
pub fn is_failure(code: u32) -> bool {
    code >= 0x8000_0000
}

/// The driver whose events a view is narrowed to, with what the rest of the case knows of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverTarget {
    pub key: DriverKey,
    /// The service key name when it differs from the image stem (from the SYSTEM hive).
    pub service: Option<String>,
    /// The file name of the catalog that vouches (or should vouch) for the image, when the
    /// case's signature scan knows it: file events naming it are the catalog lookups.
    pub catalog: Option<String>,
}

/// Every event of one driver: [`PmlLog::driver_events`] plus the file events on its catalog.
#[derive(Clone, Debug)]
pub struct DriverScope {
    pub target: DriverTarget,
    pub events: DriverEvents,
    /// File-system events whose path's file name is the driver's catalog (e.g. code integrity
    /// looking for it in CatRoot).
    pub catalog: Vec<u32>,
    /// Union of `events.all` and `catalog`, sorted.
    pub all: Vec<u32>,
}

impl DriverScope {
    pub fn build(log: &PmlLog, target: &DriverTarget) -> DriverScope {
        let events = log.driver_events(&target.key, target.service.as_deref());
        let catalog = match target.catalog.as_deref() {
            Some(c) => catalog_events(log, c),
            None => Vec::new(),
        };
        let mut all: Vec<u32> = events.all.iter().chain(&catalog).copied().collect();
        all.sort_unstable();
        all.dedup();
        DriverScope {
            target: target.clone(),
            events,
            catalog,
            all,
        }
    }

    /// Why an event belongs to the driver: "load image", "file", "registry", "stack",
    /// "catalog" (several may apply).
    pub fn reasons(&self, event: u32) -> Vec<&'static str> {
        let e = &self.events;
        [
            (&e.load_image, "load image"),
            (&e.file_system, "its image"),
            (&e.registry, "its service key"),
            (&e.stack, "on the stack"),
            (&self.catalog, "its catalog"),
        ]
        .into_iter()
        .filter(|(v, _)| v.binary_search(&event).is_ok())
        .map(|(_, r)| r)
        .collect()
    }
}

/// File-system events whose path ends in the file name of `catalog` (a bare name or a path;
/// compared case-insensitively).
pub fn catalog_events(log: &PmlLog, catalog: &str) -> Vec<u32> {
    let name = catalog
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(catalog)
        .to_ascii_lowercase();
    if name.is_empty() {
        return Vec::new();
    }
    let ix = log.index();
    let by_path: Vec<bool> = ix
        .paths
        .iter()
        .map(|p| {
            p.rsplit(['\\', '/'])
                .next()
                .is_some_and(|f| f.eq_ignore_ascii_case(&name))
        })
        .collect();
    (0..ix.len())
        .filter(|&i| {
            ix.op_of(i)
                .is_some_and(|o| o.class == names::CLASS_FILE_SYSTEM || o.class == names::CLASS_IPC)
                && ix
                    .path
                    .get(i)
                    .is_some_and(|&p| by_path.get(p as usize) == Some(&true))
        })
        .map(|i| i as u32)
        .collect()
}

/// What a view shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewSpec {
    /// Include/exclude rules, as `bsodwb pml --filter` takes them.
    pub filter: Filter,
    pub toggles: Toggles,
    /// Narrow to this driver's events.
    pub driver: Option<DriverTarget>,
    pub sort: Option<SortColumn>,
    pub descending: bool,
}

impl ViewSpec {
    /// Whether the view is every event in log order (nothing to compute).
    pub fn is_identity(&self) -> bool {
        self.filter.is_empty()
            && !self.toggles.any()
            && self.driver.is_none()
            && matches!(self.sort, None | Some(SortColumn::Time))
            && !self.descending
    }
}

/// The rows of a view: event numbers in display order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rows {
    /// Every event of the log, in log order (no permutation held).
    All(usize),
    List(Vec<u32>),
}

impl Default for Rows {
    fn default() -> Rows {
        Rows::All(0)
    }
}

impl Rows {
    pub fn len(&self) -> usize {
        match self {
            Rows::All(n) => *n,
            Rows::List(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The event number at row `row`.
    pub fn get(&self, row: usize) -> Option<usize> {
        match self {
            Rows::All(n) => (row < *n).then_some(row),
            Rows::List(v) => v.get(row).map(|&e| e as usize),
        }
    }

    /// The row showing event `event`.
    pub fn position(&self, event: usize) -> Option<usize> {
        match self {
            Rows::All(n) => (event < *n).then_some(event),
            Rows::List(v) => v.iter().position(|&e| e as usize == event),
        }
    }

    /// The event numbers, in display order (for tests and exports).
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            Rows::All(n) => (0..*n as u32).collect(),
            Rows::List(v) => v.clone(),
        }
    }
}

/// Where a computation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub stage: &'static str,
    pub done: usize,
    pub total: usize,
}

/// What a computation produced.
/// The boot log's events over time, for the Timeline's strip: how many events (and how many
/// failures) fell in each of `events.len()` equal slices of the log's time span, and the
/// longest silence between two consecutive events (where the boot stalled).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// FILETIME of the first event and the width of a slice (100 ns units, at least 1).
    pub start: u64,
    pub slice: u64,
    pub events: Vec<u64>,
    pub failures: Vec<u64>,
    /// The longest gap between consecutive events (by time): its start FILETIME and length.
    pub stall: Option<(u64, u64)>,
}

impl Activity {
    /// The slice that holds FILETIME `t`.
    pub fn slice_of(&self, t: u64) -> usize {
        let i = (t.saturating_sub(self.start) / self.slice.max(1)) as usize;
        i.min(self.events.len().saturating_sub(1))
    }
}

/// Bin the events of `rows` into `slices` slices over their time span (one pass over the
/// index; the times of a Procmon log are in order, but any order works).
pub fn activity(log: &PmlLog, rows: &Rows, slices: usize) -> Activity {
    let ix = log.index();
    let slices = slices.max(1);
    let times = || {
        (0..rows.len())
            .filter_map(|r| rows.get(r))
            .filter_map(|e| ix.time.get(e).map(|t| (e, *t)))
    };
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for (_, t) in times() {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if lo > hi {
        return Activity {
            slice: 1,
            events: vec![0; slices],
            failures: vec![0; slices],
            ..Activity::default()
        };
    }
    let slice = ((hi - lo) / slices as u64 + 1).max(1);
    let mut a = Activity {
        start: lo,
        slice,
        events: vec![0; slices],
        failures: vec![0; slices],
        stall: None,
    };
    let mut sorted: Vec<u64> = Vec::with_capacity(rows.len());
    for (e, t) in times() {
        let i = a.slice_of(t);
        a.events[i] += 1;
        if is_failure(ix.result_of(e)) {
            a.failures[i] += 1;
        }
        sorted.push(t);
    }
    if !sorted.is_sorted() {
        sorted.sort_unstable();
    }
    a.stall = sorted
        .windows(2)
        .map(|w| (w[0], w[1] - w[0]))
        .max_by_key(|&(_, gap)| gap)
        .filter(|&(_, gap)| gap > 0);
    a
}

/// Slices of the Timeline's activity strip (resampled to the terminal's width when drawn).
pub const STRIP_SLICES: usize = 512;

#[derive(Clone, Debug)]
pub struct ViewResult {
    pub rows: Rows,
    /// The rows' events per slice of time (`STRIP_SLICES`), computed by the worker.
    pub activity: Option<Arc<Activity>>,
    /// The driver's events, when the view was narrowed to a driver (reusable by the next spec).
    pub scope: Option<Arc<DriverScope>>,
    /// Stopped early by cancellation: `rows` is incomplete.
    pub cancelled: bool,
}

/// Computes the rows of `spec`. `scope` is reused when it is for the same driver target.
/// `progress` is called now and then; `cancel` stops early.
pub fn compute(
    log: &PmlLog,
    spec: &ViewSpec,
    scope: Option<Arc<DriverScope>>,
    progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> ViewResult {
    let ix = log.index();
    let n = ix.len();
    if spec.is_identity() {
        return ViewResult {
            rows: Rows::All(n),
            activity: None,
            scope: None,
            cancelled: false,
        };
    }
    let scope = spec
        .driver
        .as_ref()
        .map(|t| match scope.filter(|s| s.target == *t) {
            Some(s) => s,
            None => {
                progress(Progress {
                    stage: "finding the driver's events",
                    done: 0,
                    total: n,
                });
                Arc::new(DriverScope::build(log, t))
            }
        });
    let cancelled = || cancel.load(Ordering::Relaxed);
    let mut rows: Vec<u32> = match &scope {
        Some(s) => {
            let total = s.all.len();
            let mut out = Vec::new();
            for (k, &e) in s.all.iter().enumerate() {
                if k % 4096 == 0 {
                    if cancelled() {
                        break;
                    }
                    progress(Progress {
                        stage: "filtering",
                        done: k,
                        total,
                    });
                }
                if spec.filter.matches(log, e as usize) {
                    out.push(e);
                }
            }
            out
        }
        None => spec.filter.apply(
            log,
            &mut |done, total| {
                progress(Progress {
                    stage: "filtering",
                    done,
                    total,
                })
            },
            cancel,
        ),
    };
    if spec.toggles.any() && !cancelled() {
        let system: Vec<bool> = log.processes().iter().map(|p| p.pid == 4).collect();
        let t = spec.toggles;
        rows.retain(|&e| {
            let i = e as usize;
            (!t.failures || is_failure(ix.result_of(i)))
                && (!t.image_loads
                    || ix.op_of(i).is_some_and(|o| {
                        o.class == names::CLASS_PROCESS && o.operation == names::proc_op::LOAD_IMAGE
                    }))
                && (!t.system
                    || ix
                        .process_of(i)
                        .is_some_and(|s| system.get(s as usize) == Some(&true)))
        });
    }
    if !cancelled() {
        progress(Progress {
            stage: "sorting",
            done: 0,
            total: rows.len(),
        });
        sort_rows(log, &mut rows, spec.sort.unwrap_or(SortColumn::Time));
        if spec.descending {
            rows.reverse();
        }
    }
    progress(Progress {
        stage: "done",
        done: rows.len(),
        total: rows.len(),
    });
    ViewResult {
        rows: Rows::List(rows),
        activity: None,
        scope,
        cancelled: cancelled(),
    }
}

/// Ranks of distinct strings (case-insensitive order): `rank[id]` orders ids by `text(id)`.
fn ranks<'a>(count: usize, text: impl Fn(usize) -> &'a str + Sync) -> Vec<u32> {
    let mut ids: Vec<usize> = (0..count).collect();
    ids.par_sort_by_cached_key(|&id| text(id).to_ascii_lowercase());
    let mut rank = vec![0u32; count];
    for (r, id) in ids.into_iter().enumerate() {
        rank[id] = r as u32;
    }
    rank
}

/// Sorts event numbers by a column of the index (ties in event order), in parallel.
pub fn sort_rows(log: &PmlLog, rows: &mut [u32], column: SortColumn) {
    let ix: &EventIndex = log.index();
    let key_of = |rank: &[u32], id: Option<usize>| id.and_then(|i| rank.get(i)).copied();
    match column {
        SortColumn::Time => {
            rows.par_sort_unstable_by_key(|&e| (ix.time.get(e as usize).copied().unwrap_or(0), e))
        }
        SortColumn::Process | SortColumn::Pid => {
            let procs = log.processes();
            let rank: Vec<u32> = if column == SortColumn::Process {
                ranks(procs.len(), |s| procs[s].name.as_str())
            } else {
                procs.iter().map(|p| p.pid).collect()
            };
            rows.par_sort_unstable_by_key(|&e| {
                let slot = ix.process_of(e as usize).map(|s| s as usize);
                (key_of(&rank, slot).unwrap_or(u32::MAX), e)
            })
        }
        SortColumn::Operation => {
            let names: Vec<String> = ix.ops.iter().map(|o| o.name()).collect();
            let rank = ranks(names.len(), |i| names[i].as_str());
            rows.par_sort_unstable_by_key(|&e| {
                let op = ix.op.get(e as usize).map(|&o| usize::from(o));
                (key_of(&rank, op).unwrap_or(u32::MAX), e)
            })
        }
        SortColumn::Path => {
            let rank = ranks(ix.paths.len(), |i| &ix.paths[i]);
            rows.par_sort_unstable_by_key(|&e| {
                let p = ix.path.get(e as usize).map(|&p| p as usize);
                (key_of(&rank, p).unwrap_or(u32::MAX), e)
            })
        }
        SortColumn::Result => {
            let texts: Vec<String> = ix
                .results
                .iter()
                .map(|&r| names::result_text(r).into_owned())
                .collect();
            let rank = ranks(texts.len(), |i| texts[i].as_str());
            rows.par_sort_unstable_by_key(|&e| {
                let r = ix.result.get(e as usize).map(|&r| usize::from(r));
                (key_of(&rank, r).unwrap_or(u32::MAX), e)
            })
        }
    }
}

/// A message from a [`ViewJob`]'s worker.
enum JobMsg {
    Progress(Progress),
    Done(ViewResult),
}

/// [`compute`] on a worker thread. Dropping the job cancels it.
pub struct ViewJob {
    rx: Receiver<JobMsg>,
    cancel: Arc<AtomicBool>,
    pub progress: Progress,
}

impl ViewJob {
    pub fn spawn(log: Arc<PmlLog>, spec: ViewSpec, scope: Option<Arc<DriverScope>>) -> ViewJob {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        let total = log.len();
        let worker = move || {
            let progress_tx = tx.clone();
            let mut last = std::time::Instant::now();
            let result = compute(
                &log,
                &spec,
                scope,
                &mut |p| {
                    // A few updates a second is plenty for a progress line.
                    if last.elapsed() > std::time::Duration::from_millis(30) {
                        last = std::time::Instant::now();
                        let _ = progress_tx.send(JobMsg::Progress(p));
                    }
                },
                &flag,
            );
            let mut result = result;
            if !result.cancelled {
                result.activity = Some(Arc::new(activity(&log, &result.rows, STRIP_SLICES)));
            }
            let _ = tx.send(JobMsg::Done(result));
        };
        if let Err(e) = std::thread::Builder::new()
            .name("timeline-filter".into())
            .spawn(worker)
        {
            tracing::error!("cannot start the timeline filter thread: {e}");
        }
        ViewJob {
            rx,
            cancel,
            progress: Progress {
                stage: "starting",
                done: 0,
                total,
            },
        }
    }

    /// Drains the worker's messages: the result once it is done (`Err` when the worker is gone
    /// without one), `Ok(None)` while it runs.
    pub fn poll(&mut self) -> Result<Option<ViewResult>, JobStopped> {
        loop {
            match self.rx.try_recv() {
                Ok(JobMsg::Progress(p)) => self.progress = p,
                Ok(JobMsg::Done(r)) => return Ok(Some(r)),
                Err(TryRecvError::Empty) => return Ok(None),
                Err(TryRecvError::Disconnected) => {
                    return Err(JobStopped);
                }
            }
        }
    }

    /// Blocks until the worker is done (tests and benchmarks).
    pub fn wait(self) -> Result<ViewResult, JobStopped> {
        loop {
            match self.rx.recv() {
                Ok(JobMsg::Progress(_)) => {}
                Ok(JobMsg::Done(r)) => return Ok(r),
                Err(_) => return Err(JobStopped),
            }
        }
    }
}

/// The filter worker ended without a result (it panicked or could not start).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the timeline filter stopped unexpectedly")]
pub struct JobStopped;

impl Drop for ViewJob {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// A search over the cells the index holds (Process, PID, Operation, Path, Result),
/// case-insensitive substring, prepared once per query over the distinct values.
pub struct Find {
    pub query: String,
    paths: Vec<bool>,
    procs: Vec<bool>,
    ops: Vec<bool>,
    results: Vec<bool>,
}

impl Find {
    pub fn new(log: &PmlLog, query: &str) -> Find {
        let ix = log.index();
        let q = query.to_ascii_lowercase();
        let has = |s: &str| s.to_ascii_lowercase().contains(&q);
        Find {
            query: query.to_string(),
            paths: ix.paths.iter().map(|p| has(p)).collect(),
            procs: log
                .processes()
                .iter()
                .map(|p| has(&p.name) || p.pid.to_string() == q)
                .collect(),
            ops: ix.ops.iter().map(|o| has(&o.name())).collect(),
            results: ix
                .results
                .iter()
                .map(|&r| has(&names::result_text(r)))
                .collect(),
        }
    }

    /// Whether event `i` matches.
    pub fn matches(&self, ix: &EventIndex, i: usize) -> bool {
        let at = |v: &[bool], id: Option<usize>| id.and_then(|k| v.get(k)).copied() == Some(true);
        at(&self.paths, ix.path.get(i).map(|&p| p as usize))
            || at(&self.procs, ix.process_of(i).map(|s| s as usize))
            || at(&self.ops, ix.op.get(i).map(|&o| usize::from(o)))
            || at(&self.results, ix.result.get(i).map(|&r| usize::from(r)))
    }

    /// Every row of `rows` whose event matches, in order (for "match n of N").
    pub fn hits(&self, log: &PmlLog, rows: &Rows) -> Vec<u32> {
        let ix = log.index();
        (0..rows.len())
            .filter(|&row| rows.get(row).is_some_and(|e| self.matches(ix, e)))
            .map(|row| row as u32)
            .collect()
    }

    /// The next (or previous) row after `from` whose event matches, wrapping around;
    /// `from` itself counts last.
    pub fn next_row(&self, log: &PmlLog, rows: &Rows, from: usize, forward: bool) -> Option<usize> {
        let ix = log.index();
        let n = rows.len();
        if n == 0 {
            return None;
        }
        let from = from.min(n - 1);
        (1..=n)
            .map(|step| {
                if forward {
                    (from + step) % n
                } else {
                    (from + n - step % n) % n
                }
            })
            .find(|&row| rows.get(row).is_some_and(|e| self.matches(ix, e)))
    }
}

/// 100 ns ticks per day.
const DAY: u64 = 86_400 * render::TICKS_PER_SECOND;

/// A time of day typed by the user: `HH:MM[:SS[.fffffff]]` (24-hour), or Procmon's
/// `H:MM:SS.fffffff AM|PM`. Returns ticks since midnight.
pub fn time_of_day_ticks(text: &str) -> Option<u64> {
    let t = text.trim();
    let (clock, ampm) = match t.to_ascii_uppercase() {
        u if u.ends_with("AM") => (t[..t.len() - 2].trim(), Some(false)),
        u if u.ends_with("PM") => (t[..t.len() - 2].trim(), Some(true)),
        _ => (t, None),
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (clock, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty() || p.len() > 2) {
        return None;
    }
    let num = |s: &str| s.parse::<u64>().ok();
    let mut h = num(parts[0])?;
    let m = num(parts[1])?;
    let s = match parts.get(2) {
        Some(p) => num(p)?,
        None => 0,
    };
    match ampm {
        Some(pm) => {
            if !(1..=12).contains(&h) {
                return None;
            }
            h = h % 12 + if pm { 12 } else { 0 };
        }
        None if h > 23 => return None,
        None => {}
    }
    if m > 59 || s > 59 {
        return None;
    }
    let ticks_frac = match frac {
        Some(f) if !f.is_empty() && f.len() <= 7 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{f:0<7}");
            padded.parse::<u64>().ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    Some(((h * 60 + m) * 60 + s) * render::TICKS_PER_SECOND + ticks_frac)
}

/// The row to jump to for a time of day: the earliest event at or after it (the day is the
/// log's first day, or the next one for times before the first event's time of day); the
/// latest event when every event is earlier.
pub fn row_at_time(log: &PmlLog, rows: &Rows, ticks_of_day: u64) -> Option<usize> {
    let ix = log.index();
    let first = log.first_timestamp()?;
    let day = first - first % DAY;
    let mut target = day + ticks_of_day;
    if target + render::TICKS_PER_SECOND <= first {
        target += DAY;
    }
    let time = |row: usize| rows.get(row).and_then(|e| ix.time.get(e)).copied();
    let mut best: Option<(u64, usize)> = None;
    let mut latest: Option<(u64, usize)> = None;
    for row in 0..rows.len() {
        let Some(t) = time(row) else { continue };
        if t >= target && best.is_none_or(|(b, _)| t < b) {
            best = Some((t, row));
        }
        if latest.is_none_or(|(l, _)| t > l) {
            latest = Some((t, row));
        }
    }
    best.or(latest).map(|(_, row)| row)
}

/// The service name of a registry path under `...\Services\<name>` (the key or below it).
pub fn service_of_path(path: &str) -> Option<&str> {
    let lower = path.to_ascii_lowercase();
    let at = lower.find("\\services\\")? + "\\services\\".len();
    let name = path.get(at..)?.split('\\').next()?;
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_parse_in_24_and_12_hour_forms() {
        let t =
            |h: u64, m: u64, s: u64, f: u64| ((h * 60 + m) * 60 + s) * render::TICKS_PER_SECOND + f;
        assert_eq!(time_of_day_ticks("02:13:32"), Some(t(2, 13, 32, 0)));
        assert_eq!(
            time_of_day_ticks("2:13:32.0099"),
            Some(t(2, 13, 32, 99_000))
        );
        assert_eq!(
            time_of_day_ticks("2:13:32.0092500 AM"),
            Some(t(2, 13, 32, 92_500))
        );
        assert_eq!(time_of_day_ticks("12:00:00 AM"), Some(0));
        assert_eq!(time_of_day_ticks("1:05 pm"), Some(t(13, 5, 0, 0)));
        assert_eq!(time_of_day_ticks("23:59:59.9999999"), Some(DAY - 1));
        for bad in [
            "",
            "24:00",
            "1:60",
            "13:00 PM",
            "1:2:3:4",
            "1:00:00.12345678",
            "x:00",
        ] {
            assert_eq!(time_of_day_ticks(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sort_columns_cycle_and_rows_index() {
        let mut c = SortColumn::Time;
        for _ in 0..SortColumn::ALL.len() {
            c = c.next();
        }
        assert_eq!(c, SortColumn::Time);
        let r = Rows::List(vec![5, 3, 9]);
        assert_eq!((r.len(), r.get(1), r.position(9)), (3, Some(3), Some(2)));
        assert_eq!(Rows::All(4).get(4), None);
        assert_eq!(
            service_of_path("HKLM\\System\\CurrentControlSet\\Services\\FileCrypt\\Start"),
            Some("FileCrypt")
        );
        assert_eq!(service_of_path("HKLM\\Software\\Services"), None);
        assert!(is_failure(0xC000_0034) && is_failure(0x8000_0005) && !is_failure(0));
    }
}
