//! The timeline and the crash table as other tools read them: Timesketch's JSONL import format
//! (`message`, `datetime` ISO 8601, `timestamp_desc`, then one attribute per field) and flat rows
//! for CSV.

use super::{Crash, History, TimelineRow, iso_utc};
use serde_json::{Map, Value, json};

/// `2024-05-14T02:13:41+00:00`: ISO 8601 with an explicit offset, as Timesketch's importer reads it.
pub fn iso_offset(secs: i64) -> String {
    let z = iso_utc(secs);
    format!("{}+00:00", z.trim_end_matches('Z'))
}

/// One Timesketch event of a timeline row: the three required fields, then `kind`, `driver`,
/// `bugcheck_code`, `bugcheck_name`, `parameters`, `culprit_*`, `machine_time`, `uptime_seconds`,
/// `kb`, `status`, `source_file`, `sources` where they apply.
pub fn timesketch_event(h: &History, row: &TimelineRow) -> Value {
    let mut m = Map::new();
    m.insert("message".into(), json!(row.message));
    m.insert("datetime".into(), json!(iso_offset(row.time)));
    m.insert(
        "timestamp".into(),
        json!(row.time.saturating_mul(1_000_000)),
    );
    m.insert("timestamp_desc".into(), json!(row.timestamp_desc));
    m.insert(
        "data_type".into(),
        json!(format!("bsodwb:history:{}", row.kind)),
    );
    m.insert("kind".into(), json!(row.kind));
    if !row.drivers.is_empty() {
        let names: Vec<String> = row.drivers.iter().map(|d| d.to_string()).collect();
        m.insert("driver".into(), json!(names.join(",")));
    }
    m.insert("source_file".into(), json!(row.source_files.join(";")));
    if let Some(c) = row.crash.and_then(|i| h.crashes.get(i)) {
        crash_attributes(c, &mut m);
    }
    if let Some(c) = row.change.and_then(|i| h.changes.get(i)) {
        if let Some(kb) = &c.kb {
            m.insert("kb".into(), json!(kb));
        }
        if let Some(s) = &c.status {
            m.insert("status".into(), json!(s));
        }
        if let Some(l) = c.line {
            m.insert("source_line".into(), json!(l));
        }
        if let Some(r) = c.record_id {
            m.insert("record_id".into(), json!(r));
        }
    }
    Value::Object(m)
}

fn crash_attributes(c: &Crash, m: &mut Map<String, Value>) {
    if let Some(b) = &c.bugcheck {
        m.insert("bugcheck_code".into(), json!(format!("0x{:X}", b.code)));
        if let Some(n) = b.name() {
            m.insert("bugcheck_name".into(), json!(n));
        }
        for (i, p) in b.parameters.iter().enumerate() {
            m.insert(format!("parameter{}", i + 1), json!(format!("0x{p:x}")));
        }
    }
    if let Some(k) = &c.culprit {
        if let Some(v) = &k.version {
            m.insert("culprit_version".into(), json!(v));
        }
        if let Some(v) = &k.company {
            m.insert("culprit_company".into(), json!(v));
        }
        if let Some(v) = &k.file_date {
            m.insert("culprit_file_date".into(), json!(v));
        }
    }
    if let Some(t) = &c.machine_time {
        m.insert("machine_time".into(), json!(t));
    }
    if let Some(u) = c.uptime_seconds {
        m.insert("uptime_seconds".into(), json!(u));
    }
    if let Some(d) = &c.dump {
        m.insert("dump".into(), json!(d));
    }
    let sources: Vec<String> = c.sources.iter().map(|s| s.describe()).collect();
    m.insert("sources".into(), json!(sources.join("; ")));
}

/// The crash table's columns, for CSV.
pub const CRASH_COLUMNS: [&str; 16] = [
    "time_utc",
    "machine_time",
    "time_basis",
    "uptime_seconds",
    "kind",
    "bugcheck_code",
    "bugcheck_name",
    "p1",
    "p2",
    "p3",
    "p4",
    "culprit",
    "culprit_version",
    "culprit_company",
    "culprit_file_date",
    "sources",
];

/// One crash as [`CRASH_COLUMNS`].
pub fn crash_row(c: &Crash) -> Vec<String> {
    let p = |i: usize| {
        c.bugcheck
            .as_ref()
            .map(|b| format!("0x{:x}", b.parameters[i]))
            .unwrap_or_default()
    };
    let k = c.culprit.as_ref();
    vec![
        c.time.map(iso_utc).unwrap_or_default(),
        c.machine_time.clone().unwrap_or_default(),
        c.time_basis.describe().to_string(),
        c.uptime_seconds.map(|u| u.to_string()).unwrap_or_default(),
        c.kind.as_str().to_string(),
        c.bugcheck
            .as_ref()
            .map(|b| format!("0x{:X}", b.code))
            .unwrap_or_default(),
        c.bugcheck_name().unwrap_or_default().to_string(),
        p(0),
        p(1),
        p(2),
        p(3),
        k.map(|k| k.driver.to_string()).unwrap_or_default(),
        k.and_then(|k| k.version.clone()).unwrap_or_default(),
        k.and_then(|k| k.company.clone()).unwrap_or_default(),
        k.and_then(|k| k.file_date.clone()).unwrap_or_default(),
        c.sources
            .iter()
            .map(|s| s.describe())
            .collect::<Vec<_>>()
            .join("; "),
    ]
}

/// The timeline's columns, for CSV.
pub const TIMELINE_COLUMNS: [&str; 7] = [
    "datetime",
    "timestamp_desc",
    "kind",
    "driver",
    "bugcheck_code",
    "message",
    "source_file",
];

pub fn timeline_row(row: &TimelineRow) -> Vec<String> {
    vec![
        iso_utc(row.time),
        row.timestamp_desc.clone(),
        row.kind.clone(),
        row.drivers
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(","),
        row.bugcheck_code
            .map(|c| format!("0x{c:X}"))
            .unwrap_or_default(),
        row.message.clone(),
        row.source_files.join(";"),
    ]
}
