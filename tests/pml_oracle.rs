//! Oracle test: our rendering of every sample equals Procmon's own CSV export of it, row by
//! row, on Time of Day, Process Name, PID, Operation, Path, Result and Detail, and on every
//! other column of the export. Only documented
//! Procmon quirks are excepted (see `quirk`), each with its reason.

mod common;

use bsod_workbench::pml::render::{ListingLayout, RenderOptions, TimeZone};
use bsod_workbench::pml::{self, csv as pmlcsv};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

const SAMPLES: &[&str] = &[
    "CompressedLogfileTests64bitUTC",
    "CompressedLogfileTests32bitUTC",
    "CompressedLogFileUTC64Filesystem",
    "CompressedLogFileUTC64Process",
    "CompressedLogFileUTC32Filesystem",
];

/// The columns the issue requires, then every other column of Procmon's export.
const COLUMNS: &[&str] = &[
    "Time of Day",
    "Process Name",
    "PID",
    "Operation",
    "Path",
    "Result",
    "Detail",
    "Date & Time",
    "Relative Time",
    "Duration",
    "Completion Time",
    "Event Class",
    "Sequence",
    "Image Path",
    "Company",
    "Description",
    "Version",
    "User",
    "Authentication ID",
    "Session",
    "Command Line",
    "TID",
    "Virtualized",
    "Integrity",
    "Category",
    "Parent PID",
    "Architecture",
];

fn inflate(p: &Path) -> Vec<u8> {
    let raw = std::fs::read(p).expect("read sample");
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .expect("inflate sample (raw zlib stream)");
    out
}

/// Documented Procmon quirks (docs/formats/pml.md §14): a mismatch is excepted only when one of
/// these explains it.
fn quirk(column: &str, ours: &str, procmon: &str) -> Option<&'static str> {
    match column {
        // Procmon prints REG_BINARY data of a KEY_VALUE_FULL_INFORMATION reply past the end of
        // the captured bytes (up to 20 bytes, the extra ones taken from whatever follows the
        // blob in the file); what it shows from the blob itself must equal ours.
        "Detail"
            if ours.contains("Type: REG_BINARY")
                && procmon.starts_with(ours)
                && procmon.len() <= ours.len() + 12 =>
        {
            Some("REG_BINARY shown past the captured data")
        }
        // Sub-operations newer than the Procmon that wrote the CSV print as <Unknown>.
        "Operation" if procmon == "<Unknown>" => Some("sub-operation unknown to that Procmon"),
        // Result codes the older Procmon had no name for print as hex.
        "Result" if procmon.starts_with("0x") => Some("result unnamed in that Procmon"),
        _ => None,
    }
}

/// The QueryDirectory layout of the Procmon that wrote a CSV: the class first (current
/// Procmon), in slot 2 (3.5x), or not shown.
fn listing_layout_of(rows: &[csv::StringRecord], headers: &csv::StringRecord) -> ListingLayout {
    let op = headers
        .iter()
        .position(|h| h == "Operation")
        .expect("Operation");
    let detail = headers.iter().position(|h| h == "Detail").expect("Detail");
    let mut layout = ListingLayout::NoClass;
    for r in rows.iter().filter(|r| r.get(op) == Some("QueryDirectory")) {
        let d = r.get(detail).unwrap_or("");
        if d.starts_with("FileInformationClass: ") {
            return ListingLayout::ClassFirst;
        }
        if d.contains("FileInformationClass: ") {
            layout = ListingLayout::ClassInSlot2;
        }
    }
    layout
}

#[test]
fn every_sample_matches_procmons_csv() {
    let mut failures = Vec::new();
    for stem in SAMPLES {
        let pml_path = sample_or_skip!(&format!("procmon-parser/compressed/{stem}PML"));
        let csv_path = sample_or_skip!(&format!("procmon-parser/compressed/{stem}CSV"));
        let mut log = pml::from_bytes(&pml_path, inflate(&pml_path)).expect("open sample");
        assert!(log.warnings().is_empty(), "{stem}: {:?}", log.warnings());
        let csv_bytes = inflate(&csv_path);
        let mut rd = csv::ReaderBuilder::new().has_headers(true).from_reader(
            csv_bytes
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or(&csv_bytes),
        );
        let headers = rd.headers().expect("csv header").clone();
        let col_idx: Vec<usize> = COLUMNS
            .iter()
            .map(|c| headers.iter().position(|h| h == *c).expect("column"))
            .collect();
        let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.expect("csv row")).collect();
        assert_eq!(rows.len(), log.len(), "{stem}: row count");
        // The captures and their CSVs were made in UTC (SOURCE.txt); the Procmon version
        // that exported each CSV shows in where its QueryDirectory rows put the class.
        let listing = listing_layout_of(&rows, &headers);
        println!("{stem}: CSV listing layout {listing:?}");
        log.set_render_options(RenderOptions {
            tz: TimeZone::parse("utc").expect("utc"),
            listing,
        });
        let detail_k = COLUMNS.iter().position(|c| *c == "Detail").expect("Detail");
        let mut per_op: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let renderer = pmlcsv::Renderer::new(&log);
        let mut matched = vec![0usize; COLUMNS.len()];
        let mut excepted = vec![0usize; COLUMNS.len()];
        let mut shown = vec![0usize; COLUMNS.len()];
        for (i, row) in rows.iter().enumerate() {
            let ev = log.event(i).expect("decode event");
            let ours = renderer.columns(&ev);
            for (k, col) in COLUMNS.iter().enumerate() {
                let theirs = row.get(col_idx[k]).unwrap_or("");
                let mine = ours.get(col).map(String::as_str).unwrap_or("");
                if k == detail_k {
                    let e = per_op.entry(ev.operation_name.clone()).or_default();
                    e.1 += 1;
                    if mine == theirs || quirk(col, mine, theirs).is_some() {
                        e.0 += 1;
                    }
                }
                if mine == theirs {
                    matched[k] += 1;
                } else if quirk(col, mine, theirs).is_some() {
                    excepted[k] += 1;
                } else if shown[k] < 40 {
                    shown[k] += 1;
                    eprintln!(
                        "{stem} row {i} {col} [{}]:\n  ours:   {mine:?}\n  procmon:{theirs:?}",
                        ev.operation_name
                    );
                }
            }
        }
        println!("{stem}: Detail match per operation");
        for (op, (ok, n)) in &per_op {
            let rate = 100.0 * *ok as f64 / (*n).max(1) as f64;
            println!("  {op:<40} {rate:7.3}% ({ok} of {n})");
            // The floor: every operation's Detail equals Procmon's (bar documented quirks).
            if ok != n {
                failures.push(format!("{stem} Detail of {op}: {rate:.3}%"));
            }
        }
        println!("{stem}: {} events", rows.len());
        for (k, col) in COLUMNS.iter().enumerate() {
            let rate = 100.0 * (matched[k] + excepted[k]) as f64 / rows.len().max(1) as f64;
            println!(
                "  {col:<13} {rate:7.3}% ({} equal, {} documented quirks)",
                matched[k], excepted[k]
            );
            if matched[k] + excepted[k] != rows.len() {
                failures.push(format!("{stem} {col}: {rate:.3}%"));
            }
        }
    }
    assert!(failures.is_empty(), "columns below 100%: {failures:#?}");
}
