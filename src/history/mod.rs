//! The case's history: every crash and every change the artefacts record, on one timeline.
//!
//! [`crashes`] merges the dumps (`MEMORY.DMP`, `Minidump\*.dmp`, `LiveKernelReports\**`), the
//! System log's crash records (BugCheck 1001, Kernel-Power 41, EventLog 6008, with the boot and
//! shutdown marks 6005/6006/12/13 separating boots) and Windows Error Reporting's `Report.wer`
//! files into one row per crash, each naming its sources. [`changes`] reads what was installed or
//! changed: SetupAPI sections, CBS/DISM package installs, `servicing\Packages` manifests and
//! catalogs, SCM 7045/7040, WindowsUpdateClient 19/20/43, service keys' last-write times and the
//! drivers' link dates. [`History::timeline`] interleaves both, each row with the driver it concerns.
//!
//! Times are UTC seconds since the Unix epoch; the machine's local time comes from the hive's
//! time zone. Text logs are read through [`crate::input`] within bounds, tolerant of encoding
//! and of cut-off last lines; what is skipped becomes a warning naming the file and line.

pub(crate) mod changes;
pub(crate) mod crashes;
pub mod export;
pub(crate) mod text;
pub(crate) mod wer;

pub use changes::{Change, ChangeKind, ServicingPackage};
pub use crashes::{Crash, CrashKind, CrashSource, Culprit, SourceKind, TimeBasis};

use crate::case::{Case, Problem};
use crate::driver::DriverKey;
use crate::filetime::{FileTime, format_unix};
use crate::registry::TimeZone;
use serde::Serialize;

/// The machine's clock: UTC to local time and back, through the hive's time zone.
#[derive(Clone, Copy, Debug, Default)]
pub struct MachineClock<'a> {
    pub tz: Option<&'a TimeZone>,
}

impl MachineClock<'_> {
    /// `utc` (Unix seconds) in the machine's local time with its offset, when the hive says.
    pub fn local_string(&self, utc: i64) -> Option<String> {
        self.tz?.local_string(FileTime::from_unix_seconds(utc))
    }

    /// A local wall-clock time (Unix seconds of the local civil time) as UTC; without a time
    /// zone the local time is taken as UTC (and said so by the caller's time basis).
    pub fn to_utc(&self, local: i64) -> i64 {
        let Some(tz) = self.tz else { return local };
        let guess = tz
            .utc_offset_minutes(FileTime::from_unix_seconds(local))
            .unwrap_or(0);
        let utc = local - i64::from(guess) * 60;
        let offset = tz
            .utc_offset_minutes(FileTime::from_unix_seconds(utc))
            .unwrap_or(guess);
        local - i64::from(offset) * 60
    }

    pub fn knows_zone(&self) -> bool {
        self.tz.is_some()
    }
}

/// `2024-05-14T02:13:41Z`.
pub fn iso_utc(secs: i64) -> String {
    format_unix(secs, 0)
}

/// How many times a culprit or a bug check comes back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    /// `filecrypt.sys`, or `0x5A CRITICAL_SERVICE_FAILED`.
    pub what: String,
    pub crashes: usize,
    /// Of how many crashes (bug checks and live dumps; unexpected shutdowns aside).
    pub of: usize,
    /// The first of them (UTC seconds).
    pub since: Option<i64>,
}

impl Count {
    /// `dxgkrnl.sys in 14 of 17 crashes since 2024-03-02`.
    pub fn sentence(&self) -> String {
        let since = self
            .since
            .map(|s| format!(" since {}", &iso_utc(s)[..10]))
            .unwrap_or_default();
        format!(
            "{} in {} of {} crashes{since}",
            self.what, self.crashes, self.of
        )
    }
}

/// One row of the case timeline.
#[derive(Clone, Debug, Serialize)]
pub struct TimelineRow {
    /// UTC seconds since the Unix epoch.
    pub time: i64,
    /// What the time is (`crash time (dump header)`, `section start`, `key last written`...).
    pub timestamp_desc: String,
    /// `crash`, `unexpected-shutdown`, `live-dump`, `boot`, `shutdown`, or a change kind.
    pub kind: String,
    pub message: String,
    /// The drivers the row concerns (a crash's culprit; what a change touched).
    pub drivers: Vec<DriverKey>,
    pub bugcheck_code: Option<u32>,
    /// The case files the row comes from.
    pub source_files: Vec<String>,
    /// Index into [`History::crashes`] or [`History::changes`].
    pub crash: Option<usize>,
    pub change: Option<usize>,
}

/// A boot or shutdown mark of the System log.
#[derive(Clone, Debug, Serialize)]
pub struct Mark {
    pub time: i64,
    /// `true` for a start (6005, Kernel-General 12), `false` for a clean stop (6006, 13).
    pub boot: bool,
    pub event_id: u16,
    pub file: String,
    pub record_id: u64,
}

/// Everything the case records about its crashes and changes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct History {
    /// One row per crash, oldest first (rows without a time last).
    pub crashes: Vec<Crash>,
    /// Boot and shutdown marks of the System logs.
    pub marks: Vec<Mark>,
    /// What changed, oldest first.
    pub changes: Vec<Change>,
    /// `servicing\Packages` manifests with their KB and catalogs.
    pub packages: Vec<ServicingPackage>,
    /// Per culprit driver, most frequent first.
    pub by_culprit: Vec<Count>,
    /// Per bug check, most frequent first.
    pub by_bugcheck: Vec<Count>,
    /// What could not be read, naming the file (and line).
    pub warnings: Vec<Problem>,
}

impl History {
    /// Read the history of a loaded case.
    pub fn build(case: &Case) -> History {
        let clock = MachineClock {
            tz: case.hive.as_ref().and_then(|h| h.time_zone()),
        };
        let mut warnings = Vec::new();
        let (crashes, marks) = crashes::collect(case, clock, &mut warnings);
        let (changes, packages) = changes::collect(case, clock, &mut warnings);
        let (by_culprit, by_bugcheck) = counts(&crashes);
        History {
            crashes,
            marks,
            changes,
            packages,
            by_culprit,
            by_bugcheck,
            warnings,
        }
    }

    /// Crashes and changes (and boot marks) interleaved, oldest first. Rows without a time
    /// (a crash known only from a dump with no header time) are left out.
    pub fn timeline(&self) -> Vec<TimelineRow> {
        let mut rows = Vec::with_capacity(self.crashes.len() + self.changes.len());
        for (i, c) in self.crashes.iter().enumerate() {
            let Some(time) = c.time else { continue };
            rows.push(TimelineRow {
                time,
                timestamp_desc: c.time_basis.describe().to_string(),
                kind: c.kind.as_str().to_string(),
                message: c.message(),
                drivers: c.culprit.iter().map(|k| k.driver.clone()).collect(),
                bugcheck_code: c.bugcheck.as_ref().map(|b| b.code),
                source_files: c.source_files(),
                crash: Some(i),
                change: None,
            });
        }
        for m in &self.marks {
            rows.push(TimelineRow {
                time: m.time,
                timestamp_desc: "event logged".into(),
                kind: if m.boot { "boot" } else { "shutdown" }.into(),
                message: match (m.boot, m.event_id) {
                    (true, 12) => "the operating system started (Kernel-General 12)".into(),
                    (true, _) => "the event log service started (EventLog 6005)".into(),
                    (false, 13) => {
                        "the operating system is shutting down (Kernel-General 13)".into()
                    }
                    (false, _) => "the event log service stopped (EventLog 6006)".into(),
                },
                drivers: Vec::new(),
                bugcheck_code: None,
                source_files: vec![m.file.clone()],
                crash: None,
                change: None,
            });
        }
        for (i, c) in self.changes.iter().enumerate() {
            rows.push(TimelineRow {
                time: c.time,
                timestamp_desc: c.timestamp_desc.clone(),
                kind: c.kind.as_str().to_string(),
                message: c.message.clone(),
                drivers: c.drivers.clone(),
                bugcheck_code: None,
                source_files: vec![c.file.clone()],
                crash: None,
                change: Some(i),
            });
        }
        rows.sort_by(|a, b| a.time.cmp(&b.time).then(a.kind.cmp(&b.kind)));
        rows
    }

    /// The first bug check (or live dump) with a time.
    pub fn first_crash(&self) -> Option<&Crash> {
        self.crashes
            .iter()
            .filter(|c| c.kind != CrashKind::UnexpectedShutdown && c.time.is_some())
            .min_by_key(|c| c.time)
    }

    /// The changes in the `hours` before `time` (inclusive of `time`).
    pub fn changes_before(&self, time: i64, hours: i64) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(move |c| c.time <= time && c.time >= time - hours * 3600)
    }
}

/// Counts per culprit and per bug check over the crashes (unexpected shutdowns aside).
fn counts(crashes: &[Crash]) -> (Vec<Count>, Vec<Count>) {
    use std::collections::BTreeMap;
    let real: Vec<&Crash> = crashes
        .iter()
        .filter(|c| c.kind != CrashKind::UnexpectedShutdown)
        .collect();
    let of = real.len();
    let tally = |key: &dyn Fn(&Crash) -> Option<String>| {
        let mut m: BTreeMap<String, (usize, Option<i64>)> = BTreeMap::new();
        for c in &real {
            if let Some(k) = key(c) {
                let e = m.entry(k).or_default();
                e.0 += 1;
                e.1 = match (e.1, c.time) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        let mut v: Vec<Count> = m
            .into_iter()
            .map(|(what, (crashes, since))| Count {
                what,
                crashes,
                of,
                since,
            })
            .collect();
        v.sort_by(|a, b| b.crashes.cmp(&a.crashes).then(a.what.cmp(&b.what)));
        v
    };
    let by_culprit = tally(&|c| c.culprit.as_ref().map(|k| k.driver.to_string()));
    let by_bugcheck = tally(&|c| {
        c.bugcheck.as_ref().map(|b| match b.name() {
            Some(n) => format!("0x{:X} {n}", b.code),
            None => format!("0x{:X}", b.code),
        })
    });
    (by_culprit, by_bugcheck)
}

/// The case path of a file the case loaded from `local` (its inflated copy or itself).
pub(crate) fn case_path(case: &Case, local: &std::path::Path) -> String {
    case.inventory
        .as_ref()
        .and_then(|inv| {
            inv.files
                .iter()
                .find(|f| f.local.as_deref() == Some(local))
                .map(|f| f.path.clone())
        })
        .unwrap_or_else(|| local.display().to_string())
}

/// The last path component, for any separator.
pub(crate) fn base_name(p: &str) -> &str {
    p.rsplit(['/', '\\', '!']).next().unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_reads_as_a_sentence() {
        let c = Count {
            what: "dxgkrnl.sys".into(),
            crashes: 14,
            of: 17,
            since: Some(1_709_337_600),
        };
        assert_eq!(
            c.sentence(),
            "dxgkrnl.sys in 14 of 17 crashes since 2024-03-02"
        );
    }

    #[test]
    fn local_time_goes_back_to_utc_through_the_zone() {
        let tz = crate::synth::regf::pacific_time_zone();
        let clock = MachineClock { tz: Some(&tz) };
        // 2024-05-14 02:13:41 UTC is 2024-05-13 19:13:41 PDT.
        let utc = 1_715_652_821;
        assert_eq!(
            clock.local_string(utc).as_deref(),
            Some("2024-05-13T19:13:41-07:00")
        );
        assert_eq!(clock.to_utc(utc - 7 * 3600), utc);
        // Winter: PST, eight hours.
        let jan = 1_704_067_200;
        assert_eq!(clock.to_utc(jan - 8 * 3600), jan);
    }
}
