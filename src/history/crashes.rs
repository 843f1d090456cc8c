//! One row per crash, merged from every source that records one.
//!
//! The System log reports a crash at the next boot: Kernel-Power 41 (rebooted without a clean
//! shutdown, with the bug check when there was one), EventLog 6008 (the previous shutdown was
//! unexpected, with its time in the Binary data) and BugCheck 1001 (the bug check, its
//! parameters and the dump written). The reports of one boot are grouped: they are logged
//! within minutes of each other, each ID at most once, with no boot mark (6005, Kernel-General
//! 12) between them. Each group is one crash; so every 41/6008/1001 is in exactly one row.
//! A dump joins the first group logged after its crash time with the same bug check (or with
//! none known), a 1001 naming the dump's file wins; two dumps of one crash (MEMORY.DMP and its
//! minidump) are one row. `Report.wer` manifests join the crash with their bug check and
//! parameters; whatever joins nothing is a row of its own.

use super::wer::{self, WerReport};
use super::{MachineClock, base_name, case_path, iso_utc};
use crate::bugcheck::Bugcheck;
use crate::case::Kind;
use crate::case::{Case, DumpArtefact, Problem};
use crate::driver::DriverKey;
use crate::eventlog::Event;
use crate::eventlog::system::{self as sys, SystemEvent};
use serde::Serialize;
use std::collections::HashSet;

/// Reports of one boot further apart than this are separate crashes.
const GROUP_GAP_SECS: i64 = 3600;
/// A boot mark this long after a group's last report starts a new boot.
const BOOT_MARK_SLACK_SECS: i64 = 120;
/// A dump's crash is reported within this long after it (the machine may stay off a while).
const REPORT_WITHIN_SECS: i64 = 7 * 86_400;
/// Clocks of a dump header and an event disagree by up to this much.
const CLOCK_SKEW_SECS: i64 = 300;
/// Two dumps of one crash (MEMORY.DMP and its minidump) are written within this long.
const SAME_CRASH_SECS: i64 = 120;

/// What kind of crash a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashKind {
    /// A bug check (a blue screen).
    BugCheck,
    /// A live kernel dump (WATCHDOG, USB, PDC...): no reboot.
    LiveDump,
    /// The machine went down without a bug check known: power loss, a hang, a hard reset
    /// (Kernel-Power 41 with BugcheckCode 0, EventLog 6008).
    UnexpectedShutdown,
}

impl CrashKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CrashKind::BugCheck => "crash",
            CrashKind::LiveDump => "live-dump",
            CrashKind::UnexpectedShutdown => "unexpected-shutdown",
        }
    }
}

/// Where a crash row's time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeBasis {
    /// The dump header's SystemTime: the crash itself.
    DumpHeader,
    /// EventLog 6008's Binary data: the last time the machine was known alive (UTC).
    ShutdownRecordUtc,
    /// EventLog 6008's local time, through the hive's time zone.
    ShutdownRecordLocal,
    /// When the next boot reported it (41, 1001): the crash was before.
    ReportedAtBoot,
    /// The WER report's EventTime.
    WerReport,
    /// No time known.
    Unknown,
}

impl TimeBasis {
    /// Timesketch's `timestamp_desc`.
    pub fn describe(self) -> &'static str {
        match self {
            TimeBasis::DumpHeader => "crash time (dump header)",
            TimeBasis::ShutdownRecordUtc => "last time alive (EventLog 6008, UTC)",
            TimeBasis::ShutdownRecordLocal => "last time alive (EventLog 6008, local time)",
            TimeBasis::ReportedAtBoot => "reported at the next boot",
            TimeBasis::WerReport => "WER report time",
            TimeBasis::Unknown => "unknown",
        }
    }
}

/// Which artefact records a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Dump,
    LiveDump,
    /// BugCheck / WER-SystemErrorReporting 1001.
    Event1001,
    /// Kernel-Power 41.
    Event41,
    /// EventLog 6008.
    Event6008,
    /// A WER `Report.wer`.
    WerReport,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Dump => "dump",
            SourceKind::LiveDump => "live dump",
            SourceKind::Event1001 => "BugCheck 1001",
            SourceKind::Event41 => "Kernel-Power 41",
            SourceKind::Event6008 => "EventLog 6008",
            SourceKind::WerReport => "WER report",
        }
    }
}

/// One source of a crash row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CrashSource {
    pub kind: SourceKind,
    /// The case file.
    pub file: String,
    /// The event's record ID.
    pub record_id: Option<u64>,
    /// When the source was written or logged (UTC seconds).
    pub time: Option<i64>,
}

impl CrashSource {
    pub fn describe(&self) -> String {
        match self.record_id {
            Some(r) => format!("{} ({} record {r})", self.kind.as_str(), self.file),
            None => format!("{} ({})", self.kind.as_str(), self.file),
        }
    }
}

/// The driver a crash's dump blames, with what the case says of its file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Culprit {
    pub driver: DriverKey,
    pub version: Option<String>,
    pub company: Option<String>,
    /// The image's link date (PE TimeDateStamp), `YYYY-MM-DD`.
    pub file_date: Option<String>,
}

/// One crash.
#[derive(Clone, Debug, Serialize)]
pub struct Crash {
    pub kind: CrashKind,
    /// UTC seconds since the Unix epoch.
    pub time: Option<i64>,
    pub time_basis: TimeBasis,
    /// The machine's local time (ISO 8601 with offset), through the hive's time zone.
    pub machine_time: Option<String>,
    /// Seconds since boot, from the dump header.
    pub uptime_seconds: Option<u64>,
    pub bugcheck: Option<Bugcheck>,
    pub culprit: Option<Culprit>,
    /// The dump's case path (the first dump when several record the crash).
    pub dump: Option<String>,
    pub sources: Vec<CrashSource>,
}

impl Crash {
    pub fn bugcheck_name(&self) -> Option<&'static str> {
        self.bugcheck.as_ref().and_then(Bugcheck::name)
    }

    /// `0x5A CRITICAL_SERVICE_FAILED`.
    pub fn bugcheck_label(&self) -> Option<String> {
        let b = self.bugcheck.as_ref()?;
        Some(match b.name() {
            Some(n) => format!("0x{:X} {n}", b.code),
            None => format!("0x{:X}", b.code),
        })
    }

    pub fn source_files(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for s in &self.sources {
            if !v.contains(&s.file) {
                v.push(s.file.clone());
            }
        }
        v
    }

    /// One line: what happened, the culprit, the sources.
    pub fn message(&self) -> String {
        let mut m = match (&self.bugcheck, self.kind) {
            (Some(b), kind) => format!(
                "{} 0x{:X}{} (0x{:x}, 0x{:x}, 0x{:x}, 0x{:x})",
                if kind == CrashKind::LiveDump {
                    "live kernel dump"
                } else {
                    "bug check"
                },
                b.code,
                b.name().map(|n| format!(" {n}")).unwrap_or_default(),
                b.parameters[0],
                b.parameters[1],
                b.parameters[2],
                b.parameters[3]
            ),
            (None, CrashKind::LiveDump) => "live kernel dump".to_string(),
            (None, _) => {
                "unexpected shutdown (no bug check recorded: power loss, hang or reset)".to_string()
            }
        };
        if let Some(c) = &self.culprit {
            m.push_str(&format!(", culprit {}", c.driver));
            if let Some(v) = &c.version {
                m.push_str(&format!(" {v}"));
            }
        }
        let kinds: Vec<&str> = self.sources.iter().map(|s| s.kind.as_str()).collect();
        m.push_str(&format!(" [{}]", kinds.join(", ")));
        m
    }
}

/// One crash report of the System log.
struct Report<'a> {
    time: i64,
    event: &'a Event,
    file: String,
}

/// Collect the crash rows and the boot marks of `case`.
pub(crate) fn collect(
    case: &Case,
    clock: MachineClock,
    warnings: &mut Vec<Problem>,
) -> (Vec<Crash>, Vec<super::Mark>) {
    let (reports, marks) = system_reports(case);
    let mut crashes = group_reports(&reports, &marks, clock);
    join_dumps(case, clock, &mut crashes);
    join_wer(case, clock, &mut crashes, warnings);
    crashes.sort_by_key(|c| (c.time.is_none(), c.time));
    (crashes, marks)
}

/// The 41/6008/1001 reports and the boot and shutdown marks of every log, each record once
/// (a log found twice in a case, e.g. in a zip and beside it, counts once).
fn system_reports(case: &Case) -> (Vec<Report<'_>>, Vec<super::Mark>) {
    let mut seen = HashSet::new();
    let mut reports = Vec::new();
    let mut marks = Vec::new();
    for log in &case.event_logs {
        let file = case_path(case, &log.path);
        for e in &log.events {
            let id = e.event_id;
            let provider = e.provider.as_str();
            let is_report = matches!(
                (provider, id),
                (sys::KERNEL_POWER, 41)
                    | (sys::WER_SYSTEM | sys::BUGCHECK_SOURCE, 1001)
                    | (sys::EVENTLOG, 6008)
            );
            let mark = match (provider, id) {
                (sys::EVENTLOG, 6005) | (sys::KERNEL_GENERAL, 12) => Some(true),
                (sys::EVENTLOG, 6006) | (sys::KERNEL_GENERAL, 13) => Some(false),
                _ => None,
            };
            if !is_report && mark.is_none() {
                continue;
            }
            let key = (
                e.computer.to_ascii_lowercase(),
                e.record_id,
                id,
                e.time.as_millisecond(),
            );
            if !seen.insert(key) {
                continue;
            }
            let time = e.time.as_second();
            if let Some(boot) = mark {
                marks.push(super::Mark {
                    time,
                    boot,
                    event_id: id,
                    file: file.clone(),
                    record_id: e.record_id,
                });
            } else {
                reports.push(Report {
                    time,
                    event: e,
                    file: file.clone(),
                });
            }
        }
    }
    reports.sort_by_key(|r| (r.time, r.event.record_id));
    marks.sort_by_key(|m| (m.time, m.record_id));
    (reports, marks)
}

fn bugcheck_of(e: &Event) -> Option<Bugcheck> {
    match e.system()? {
        SystemEvent::UncleanReboot { bugcheck, .. }
        | SystemEvent::BugCheckReport { bugcheck, .. } => bugcheck.clone(),
        _ => None,
    }
}

fn source_kind(e: &Event) -> SourceKind {
    match e.event_id {
        41 => SourceKind::Event41,
        1001 => SourceKind::Event1001,
        _ => SourceKind::Event6008,
    }
}

/// Group the reports of each boot into one crash.
fn group_reports(reports: &[Report], marks: &[super::Mark], clock: MachineClock) -> Vec<Crash> {
    let mut groups: Vec<Vec<&Report>> = Vec::new();
    for r in reports {
        let new = match groups.last() {
            None => true,
            Some(g) => {
                let last = g.last().map_or(r.time, |x| x.time);
                g.iter().any(|x| x.event.event_id == r.event.event_id)
                    || r.time - last > GROUP_GAP_SECS
                    || marks
                        .iter()
                        .any(|m| m.boot && m.time > last + BOOT_MARK_SLACK_SECS && m.time <= r.time)
            }
        };
        if new {
            groups.push(vec![r]);
        } else if let Some(g) = groups.last_mut() {
            g.push(r);
        }
    }
    groups
        .into_iter()
        .map(|g| {
            // 1001's bug check first (it has the parameters as WER read them), then 41's.
            let bugcheck = g
                .iter()
                .filter(|r| r.event.event_id == 1001)
                .chain(g.iter().filter(|r| r.event.event_id == 41))
                .find_map(|r| bugcheck_of(r.event));
            let shutdown = g
                .iter()
                .find(|r| r.event.event_id == 6008)
                .map(|r| sys::unexpected_shutdown_seconds(&r.event.fields));
            let first = g.first().map(|r| r.time);
            let (time, time_basis) = match shutdown {
                Some((_, Some(utc))) => (Some(utc), TimeBasis::ShutdownRecordUtc),
                Some((Some(local), None)) => {
                    (Some(clock.to_utc(local)), TimeBasis::ShutdownRecordLocal)
                }
                _ => (first, TimeBasis::ReportedAtBoot),
            };
            Crash {
                kind: if bugcheck.is_some() {
                    CrashKind::BugCheck
                } else {
                    CrashKind::UnexpectedShutdown
                },
                time,
                time_basis,
                machine_time: time.and_then(|t| clock.local_string(t)),
                uptime_seconds: None,
                bugcheck,
                culprit: None,
                dump: None,
                sources: g
                    .iter()
                    .map(|r| CrashSource {
                        kind: source_kind(r.event),
                        file: r.file.clone(),
                        record_id: Some(r.event.record_id),
                        time: Some(r.time),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A dump written by a live kernel report (no reboot).
fn is_live_dump(path: &str) -> bool {
    path.to_ascii_lowercase().contains("livekernelreports")
}

fn dump_time(d: &DumpArtefact) -> Option<i64> {
    d.dump
        .system_time
        .filter(|t| *t != 0)
        .map(|t| crate::filetime::FileTime(t).unix_seconds())
}

/// The driver the dump blames (a bug-check parameter's driver, else the faulting module), with
/// its version, company and link date from the case's copy of the file or the dump's module list.
fn culprit(case: &Case, d: &DumpArtefact) -> Option<Culprit> {
    let a = &d.analysis;
    let name = a
        .parameter_driver
        .as_deref()
        .or(a.faulting_module.as_deref())?;
    let driver = DriverKey::from_path(name)?;
    let image = case
        .signatures
        .iter()
        .filter(|s| s.driver.as_ref() == Some(&driver))
        .find_map(|s| s.image.as_ref());
    let module = d
        .dump
        .modules
        .iter()
        .find(|m| DriverKey::from_path(&m.name).as_ref() == Some(&driver));
    let analysis_version = a
        .image_name
        .as_deref()
        .filter(|n| n.eq_ignore_ascii_case(driver.name()))
        .and(a.image_version.clone());
    let stamp = image
        .map(|i| i.timestamp)
        .or(module.map(|m| m.timestamp))
        .filter(|t| *t != 0);
    Some(Culprit {
        version: analysis_version.or_else(|| image.and_then(|i| i.file_version.clone())),
        company: image.and_then(|i| i.company.clone()),
        file_date: stamp.map(|t| iso_utc(i64::from(t))[..10].to_string()),
        driver,
    })
}

fn same_bugcheck(a: Option<&Bugcheck>, b: Option<&Bugcheck>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x.code == y.code && x.parameters == y.parameters)
}

/// The dump file a 1001 of the crash names (its base name), when any.
fn named_dumps(c: &Crash, case: &Case) -> Vec<String> {
    let mut out = Vec::new();
    for s in c.sources.iter().filter(|s| s.kind == SourceKind::Event1001) {
        for log in &case.event_logs {
            for e in log
                .events
                .iter()
                .filter(|e| Some(e.record_id) == s.record_id)
            {
                if let Some(SystemEvent::BugCheckReport {
                    dump_path: Some(p), ..
                }) = e.system()
                {
                    out.push(base_name(p).to_ascii_lowercase());
                }
            }
        }
    }
    out
}

fn join_dumps(case: &Case, clock: MachineClock, crashes: &mut Vec<Crash>) {
    let reported = crashes.len();
    let mut dumps: Vec<&DumpArtefact> = case.dumps.iter().collect();
    dumps.sort_by_key(|d| (dump_time(d).is_none(), dump_time(d), d.file.clone()));
    let named: Vec<Vec<String>> = crashes.iter().map(|c| named_dumps(c, case)).collect();
    let mut has_dump = vec![false; reported];
    for d in dumps {
        if d.dump.kind == crate::dump::DumpKind::UserMinidump {
            continue;
        }
        let live = is_live_dump(&d.file);
        let t = dump_time(d);
        let bugcheck = d.dump.bugcheck.as_ref().map(|b| Bugcheck {
            code: b.code,
            parameters: b.parameters,
        });
        let source = CrashSource {
            kind: if live {
                SourceKind::LiveDump
            } else {
                SourceKind::Dump
            },
            file: d.file.clone(),
            record_id: None,
            time: t,
        };
        // A second dump of a crash already in a row (MEMORY.DMP beside its minidump).
        if let Some(row) = crashes.iter_mut().find(|c| {
            c.sources
                .iter()
                .any(|s| matches!(s.kind, SourceKind::Dump | SourceKind::LiveDump))
                && c.time_basis == TimeBasis::DumpHeader
                && same_bugcheck(c.bugcheck.as_ref(), bugcheck.as_ref())
                && matches!((c.time, t), (Some(a), Some(b)) if (a - b).abs() <= SAME_CRASH_SECS)
        }) {
            row.sources.push(source);
            continue;
        }
        let base = base_name(&d.file).to_ascii_lowercase();
        let target = if live {
            None
        } else {
            let compatible = |i: usize, c: &Crash| {
                !has_dump[i]
                    && match (&c.bugcheck, &bugcheck) {
                        (Some(x), Some(y)) => x.code == y.code,
                        _ => true,
                    }
            };
            let by_name = (0..reported).find(|&i| {
                compatible(i, &crashes[i]) && base != "memory.dmp" && named[i].contains(&base)
            });
            by_name.or_else(|| {
                let t = t?;
                (0..reported)
                    .filter(|&i| compatible(i, &crashes[i]))
                    .filter(|&i| {
                        let first = crashes[i].sources.iter().filter_map(|s| s.time).min();
                        first.is_some_and(|f| {
                            f >= t - CLOCK_SKEW_SECS && f <= t + REPORT_WITHIN_SECS
                        })
                    })
                    .min_by_key(|&i| crashes[i].sources.iter().filter_map(|s| s.time).min())
            })
        };
        let culprit = culprit(case, d);
        let uptime = d
            .dump
            .system_uptime
            .filter(|u| *u != 0)
            .map(|u| u / crate::filetime::TICKS_PER_SECOND);
        match target {
            Some(i) => {
                has_dump[i] = true;
                let c = &mut crashes[i];
                c.sources.insert(0, source);
                c.kind = CrashKind::BugCheck;
                // The dump's parameters are the crash's own (1001 and 41 copy them at boot).
                if bugcheck.is_some() {
                    c.bugcheck = bugcheck;
                }
                if let Some(t) = t {
                    c.time = Some(t);
                    c.time_basis = TimeBasis::DumpHeader;
                    c.machine_time = clock.local_string(t);
                }
                c.uptime_seconds = uptime;
                c.culprit = culprit;
                c.dump = Some(d.file.clone());
            }
            None => crashes.push(Crash {
                kind: if live {
                    CrashKind::LiveDump
                } else {
                    CrashKind::BugCheck
                },
                time: t,
                time_basis: if t.is_some() {
                    TimeBasis::DumpHeader
                } else {
                    TimeBasis::Unknown
                },
                machine_time: t.and_then(|t| clock.local_string(t)),
                uptime_seconds: uptime,
                bugcheck,
                culprit,
                dump: Some(d.file.clone()),
                sources: vec![source],
            }),
        }
    }
}

/// `Report.wer` manifests of the case, found by content (any name, inside archives too).
fn join_wer(
    case: &Case,
    clock: MachineClock,
    crashes: &mut Vec<Crash>,
    warnings: &mut Vec<Problem>,
) {
    let Some(inv) = &case.inventory else { return };
    let mut reports: Vec<(String, WerReport)> = Vec::new();
    for f in inv.of_kind(Kind::WerReport) {
        let Some(local) = &f.local else { continue };
        let bytes = match crate::input::read_bounded(local, wer::MAX_WER_BYTES) {
            Ok(b) => b,
            Err(e) => {
                warnings.push(Problem::new(
                    f.path.clone(),
                    format!("WER report not read: {}", crate::input::plain(e)),
                ));
                continue;
            }
        };
        match wer::parse(&super::text::decode(&bytes)) {
            Some(r) if r.is_kernel() => reports.push((f.path.clone(), r)),
            Some(_) => {}
            None => warnings.push(Problem::new(
                f.path.clone(),
                "not a WER report manifest (no EventType line)".into(),
            )),
        }
    }
    reports.sort_by_key(|(_, r)| r.time);
    for (file, r) in reports {
        let source = CrashSource {
            kind: SourceKind::WerReport,
            file,
            record_id: None,
            time: r.time,
        };
        let live = r.is_live();
        let found = crashes
            .iter_mut()
            .filter(|c| (c.kind == CrashKind::LiveDump) == live)
            .filter(|c| !c.sources.iter().any(|s| s.kind == SourceKind::WerReport))
            .filter(|c| same_bugcheck(c.bugcheck.as_ref(), r.bugcheck.as_ref()))
            .filter(|c| match (c.time, r.time) {
                (Some(a), Some(b)) => b >= a - CLOCK_SKEW_SECS && b <= a + REPORT_WITHIN_SECS,
                _ => false,
            })
            .min_by_key(|c| c.time.zip(r.time).map(|(a, b)| (b - a).abs()));
        match found {
            Some(c) => c.sources.push(source),
            None => crashes.push(Crash {
                kind: if live {
                    CrashKind::LiveDump
                } else {
                    CrashKind::BugCheck
                },
                time: r.time,
                time_basis: if r.time.is_some() {
                    TimeBasis::WerReport
                } else {
                    TimeBasis::Unknown
                },
                machine_time: r.time.and_then(|t| clock.local_string(t)),
                uptime_seconds: None,
                bugcheck: r.bugcheck,
                culprit: None,
                dump: None,
                sources: vec![source],
            }),
        }
    }
}
