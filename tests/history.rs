//! The case history: crashes merged across dumps, the System log and WER reports, changes from
//! the install logs, one timeline, and its export in Timesketch's JSONL format read back by
//! Timesketch's own importer.

mod common;

use bsod_workbench::case::Case;
use bsod_workbench::eventlog;
use bsod_workbench::history::{CrashKind, History, SourceKind};
use bsod_workbench::synth::evtx::EvtxWriter;
use std::collections::HashSet;
use std::path::Path;

fn ts(unix: i64) -> evtx::Timestamp {
    evtx::Timestamp::from_second(unix).expect("timestamp")
}

fn case_of_logs(paths: &[&Path]) -> Case {
    let mut case = Case::empty();
    for p in paths {
        case.event_logs.push(eventlog::open(p).expect("log opens"));
    }
    case
}

/// Every 41/6008/1001 of `case` is in exactly one crash row.
fn assert_each_report_once(case: &Case, h: &History) {
    let mut expected = HashSet::new();
    for log in &case.event_logs {
        for e in &log.events {
            let report = matches!(
                (e.provider.as_str(), e.event_id),
                (eventlog::system::KERNEL_POWER, 41)
                    | (eventlog::system::EVENTLOG, 6008)
                    | (
                        eventlog::system::WER_SYSTEM | eventlog::system::BUGCHECK_SOURCE,
                        1001
                    )
            );
            if report {
                expected.insert((e.event_id, e.record_id));
            }
        }
    }
    let mut seen = HashSet::new();
    for c in &h.crashes {
        for s in &c.sources {
            let id = match s.kind {
                SourceKind::Event41 => 41,
                SourceKind::Event6008 => 6008,
                SourceKind::Event1001 => 1001,
                _ => continue,
            };
            let key = (id, s.record_id.expect("events have a record id"));
            assert!(seen.insert(key), "{key:?} appears twice");
        }
    }
    assert_eq!(seen, expected);
}

#[test]
fn real_system_logs_give_every_crash_report_one_row() {
    let mut any = false;
    for rel in [
        "omerbenamram-evtx/system.evtx",
        "omerbenamram-evtx/2-vss_7-System.evtx",
        "synthetic-evtx/synth_system_16MiB.evtx",
    ] {
        let Some(p) = common::sample(rel) else {
            continue;
        };
        any = true;
        let case = case_of_logs(&[&p]);
        let h = History::build(&case);
        assert_each_report_once(&case, &h);
        // A report without a bug check is an unexpected shutdown, never a bug check.
        for c in &h.crashes {
            assert_eq!(
                c.bugcheck.is_none(),
                c.kind == CrashKind::UnexpectedShutdown,
                "{c:?}"
            );
        }
    }
    if !any {
        eprintln!("SKIP: no System log sample");
    }
}

#[test]
fn the_reports_of_one_boot_are_one_crash_and_the_next_boot_another() {
    let dir = tempfile::tempdir().unwrap();
    let crash = 1_715_652_821; // 2024-05-14 02:13:41 UTC
    let boot = crash + 600;
    let params = [
        1,
        0xffff_9907_c7d2_3060,
        0xffff_d50f_e221_39c0,
        0xffff_ffff_c000_0428,
    ];
    let w = EvtxWriter::new()
        .computer("SRV-FS01")
        .kernel_general_12(ts(boot), [10, 0, 14393, 6795])
        .eventlog_6008_with_binary(
            ts(boot + 20),
            (2024, 5, 13, 19, 13, 41, 0),
            (2024, 5, 14, 2, 13, 41, 0),
        )
        .kernel_power_41(ts(boot + 21), 0x5a, params)
        .wer_1001(
            ts(boot + 90),
            0x5a,
            params,
            "C:\\Windows\\MEMORY.DMP",
            "0a1b",
        )
        // A day later: a power loss (41 with no bug check), reported by the next boot.
        .kernel_general_12(ts(boot + 86_400), [10, 0, 14393, 6795])
        .kernel_power_41(ts(boot + 86_410), 0, [0; 4]);
    let path = dir.path().join("System.evtx");
    w.write_to(&path).unwrap();
    let case = case_of_logs(&[&path]);
    let h = History::build(&case);
    assert_each_report_once(&case, &h);
    assert_eq!(h.crashes.len(), 2, "{:#?}", h.crashes);
    let first = &h.crashes[0];
    assert_eq!(first.kind, CrashKind::BugCheck);
    assert_eq!(first.bugcheck.as_ref().unwrap().code, 0x5a);
    // The 6008's Binary UTC time, not the time the next boot logged it.
    assert_eq!(first.time, Some(crash));
    assert_eq!(first.sources.len(), 3);
    assert_eq!(h.crashes[1].kind, CrashKind::UnexpectedShutdown);
    assert_eq!(h.by_bugcheck.len(), 1);
    assert_eq!(h.by_bugcheck[0].crashes, 1);
    assert_eq!(h.marks.len(), 2);
}
