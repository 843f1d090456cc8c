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
        // Every boot and shutdown mark of the log is on the timeline.
        let marks = case.event_logs[0]
            .events
            .iter()
            .filter(|e| {
                matches!(
                    (e.provider.as_str(), e.event_id),
                    (eventlog::system::EVENTLOG, 6005 | 6006)
                        | (eventlog::system::KERNEL_GENERAL, 12 | 13)
                )
            })
            .count();
        assert_eq!(h.marks.len(), marks, "{rel}");
        assert!(marks > 0, "{rel}: the samples hold boot marks");
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

/// A case with a crash reported by the System log and WER, a driver install and a CBS update.
fn small_case(dir: &Path) {
    use bsod_workbench::synth::casefiles::{self, SetupapiSection};
    let crash = 1_715_652_821; // 2024-05-14 02:13:41 UTC
    let boot = crash + 600;
    let params = [
        1,
        0xffff_9907_c7d2_3060,
        0xffff_d50f_e221_39c0,
        0xffff_ffff_c000_0428,
    ];
    EvtxWriter::new()
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
        .write_to(&dir.join("System.evtx"))
        .unwrap();
    let inf = dir.join("Windows/INF");
    std::fs::create_dir_all(&inf).unwrap();
    std::fs::write(
        inf.join("setupapi.dev.log"),
        casefiles::setupapi_dev_log_sections(&[SetupapiSection {
            title: "Device Install (DiInstallDriver) - C:\\Drivers\\filecrypt.inf",
            start: "2024/05/14 01:12:01.093",
            end: "2024/05/14 01:12:04.312",
            copied: &["C:\\Windows\\System32\\drivers\\filecrypt.sys"],
            status: "SUCCESS",
        }]),
    )
    .unwrap();
    let cbs = dir.join("Windows/Logs/CBS");
    std::fs::create_dir_all(&cbs).unwrap();
    std::fs::write(
        cbs.join("CBS.log"),
        casefiles::cbs_install_lines(
            "2024-05-14 01:30:00",
            "Package_for_KB5036899~31bf3856ad364e35~amd64~~14393.6897.1.10",
            (0, "S_OK"),
        ),
    )
    .unwrap();
    let wer = dir.join("ProgramData/Microsoft/Windows/WER/ReportArchive/Kernel_5a_0a1b");
    std::fs::create_dir_all(&wer).unwrap();
    let report_time = bsod_workbench::filetime::FileTime::from_unix_seconds(boot + 95).0;
    std::fs::write(
        wer.join("Report.wer"),
        casefiles::report_wer(false, report_time, 0x5a, params),
    )
    .unwrap();
}

fn bsodwb(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(args)
        .output()
        .expect("bsodwb runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn a_case_joins_its_crash_sources_and_puts_the_changes_before_it() {
    let dir = tempfile::tempdir().unwrap();
    small_case(dir.path());
    let case = Case::load(dir.path(), &mut |_| {}).unwrap();
    let h = History::build(&case);
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    assert_eq!(h.crashes.len(), 1, "{:#?}", h.crashes);
    let kinds: Vec<SourceKind> = h.crashes[0].sources.iter().map(|s| s.kind).collect();
    for k in [
        SourceKind::Event41,
        SourceKind::Event6008,
        SourceKind::Event1001,
        SourceKind::WerReport,
    ] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    let rows = h.timeline();
    let kind_order: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    let install = kind_order
        .iter()
        .position(|k| *k == "device-install")
        .expect("install row");
    let package = kind_order
        .iter()
        .position(|k| *k == "package-install")
        .expect("package row");
    let crash = kind_order
        .iter()
        .position(|k| *k == "crash")
        .expect("crash row");
    assert!(install < package && package < crash, "{kind_order:?}");
    assert_eq!(rows[install].drivers[0].name(), "filecrypt.sys");
    // The finding: the crash and what changed in the 72 hours before it.
    let findings = bsod_workbench::analysis::CaseAnalysis::build(&case).findings;
    let f = findings
        .iter()
        .find(|f| f.title.contains("hours before the first crash"))
        .expect("a change-window finding");
    assert!(
        f.evidence.iter().any(|e| e.contains("KB5036899")),
        "{:?}",
        f.evidence
    );
    assert!(
        f.evidence.iter().any(|e| e.contains("filecrypt.inf")),
        "{:?}",
        f.evidence
    );
}

#[test]
fn crashes_and_timeline_commands_print_every_format() {
    let dir = tempfile::tempdir().unwrap();
    small_case(dir.path());
    let case = dir.path().to_str().unwrap();
    let text = bsodwb(&["crashes", case]);
    assert!(
        text.contains("bug check 0x5A CRITICAL_SERVICE_FAILED"),
        "{text}"
    );
    assert!(
        text.contains("0x5A CRITICAL_SERVICE_FAILED in 1 of 1 crashes since 2024-05-14"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&bsodwb(&["crashes", case, "--format", "json"])).unwrap();
    assert_eq!(json["crashes"].as_array().unwrap().len(), 1);
    let csv = bsodwb(&["crashes", case, "--format", "csv"]);
    assert!(csv.starts_with("time_utc,machine_time,"), "{csv}");
    assert_eq!(csv.lines().count(), 2);
    let tl = bsodwb(&["timeline", case, "--format", "csv"]);
    assert!(
        tl.starts_with("datetime,timestamp_desc,kind,driver,"),
        "{tl}"
    );
    let jsonl = bsodwb(&["timeline", case, "--format", "jsonl"]);
    let mut crash_seen = false;
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        // Timesketch's required fields.
        for f in ["message", "datetime", "timestamp_desc"] {
            assert!(
                v[f].as_str().is_some_and(|s| !s.is_empty()),
                "{f} in {line}"
            );
        }
        if v["kind"] == "crash" {
            crash_seen = true;
            assert_eq!(v["bugcheck_code"], "0x5A");
            assert_eq!(v["datetime"], "2024-05-14T02:13:41+00:00");
            assert!(v["source_file"].as_str().unwrap().contains("System.evtx"));
        }
    }
    assert!(crash_seen, "{jsonl}");

    // Timesketch's own importer reads the file as it would for an upload (no server: the events
    // stay in its buffer, after its own field fixing).
    if !common::python_oracle("timesketch_import_client") {
        return;
    }
    let file = dir.path().join("timeline.jsonl");
    std::fs::write(&file, &jsonl).unwrap();
    let script = r#"
import sys, json
from timesketch_import_client import importer
s = importer.ImportStreamer()
s._sketch = object()  # set without a server; nothing is flushed below the threshold
s.set_entry_threshold(10**9)
s.add_file(sys.argv[1])
out = [{k: e.get(k) for k in ("message", "datetime", "timestamp_desc", "bugcheck_code", "driver", "source_file", "kind")} for e in s._data_lines]
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read.len(), jsonl.lines().count(), "every line imported");
    for e in &read {
        assert!(e["datetime"].as_str().is_some_and(|d| !d.is_empty()), "{e}");
    }
    let crash = read
        .iter()
        .find(|e| e["kind"] == "crash")
        .expect("the crash imported");
    assert!(
        crash["datetime"]
            .as_str()
            .unwrap()
            .starts_with("2024-05-14T02:13:41"),
        "{crash}"
    );
    assert_eq!(crash["bugcheck_code"], "0x5A");
}

#[test]
fn the_demo_timeline_has_the_update_then_the_first_crash_and_the_finding_joins_them() {
    let dir = tempfile::tempdir().unwrap();
    bsod_workbench::synth::demo::write_demo_case(dir.path()).unwrap();
    let case = Case::load(dir.path(), &mut |_| {}).unwrap();
    let analysis = bsod_workbench::analysis::CaseAnalysis::build(&case);
    let h = &analysis.history;
    let rows = h.timeline();
    let update = rows
        .iter()
        .position(|r| r.kind == "package-install" && r.message.contains("KB5036899"))
        .expect("the KB5036899 install");
    let crash = rows
        .iter()
        .position(|r| r.kind == "crash")
        .expect("the 0x5A");
    assert!(update < crash);
    assert_eq!(rows[crash].bugcheck_code, Some(0x5a));
    // One crash, reported by the dump, Kernel-Power 41, EventLog 6008, BugCheck 1001 and WER.
    assert_eq!(h.crashes.len(), 1, "{:#?}", h.crashes);
    let kinds: Vec<SourceKind> = h.crashes[0].sources.iter().map(|s| s.kind).collect();
    for k in [
        SourceKind::Event41,
        SourceKind::Event6008,
        SourceKind::Event1001,
        SourceKind::WerReport,
    ] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    assert!(h.crashes[0].sources.len() >= 5, "{kinds:?}");
    // 18:40 PDT is 01:40 UTC: the hive's time zone turned the CBS local time into UTC.
    assert_eq!(rows[update].time, 1_715_650_800);
    let f = analysis
        .findings
        .iter()
        .find(|f| f.title.contains("hours before the first crash"))
        .expect("the change-window finding");
    assert_eq!(f.driver.as_ref().map(|d| d.name()), Some("filecrypt.sys"));
    assert_eq!(f.severity, bsod_workbench::findings::Severity::Error);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("Package_1257_for_KB5036899") && e.contains("missing from CatRoot")),
        "{:?}",
        f.evidence
    );
}

#[test]
fn minidumps_join_their_boot_reports_and_a_live_dump_stays_apart() {
    use bsod_workbench::synth::dump::{DumpSpec, write_triage_dump};
    use bsod_workbench::synth::minidump::write_minidump_folder;
    let dir = tempfile::tempdir().unwrap();
    let spec = DumpSpec::demo_0x5a();
    let params = spec.params;
    let first = 1_715_652_821;
    let dumps = write_minidump_folder(
        &dir.path().join("Windows/Minidump"),
        &spec,
        3,
        first,
        86_400,
    )
    .unwrap();
    let mut w = EvtxWriter::new().computer("SRV-FS01");
    // Reports of the first two crashes only: the third rebooted with its log lost.
    for (name, t) in &dumps[..2] {
        w = w
            .kernel_general_12(ts(t + 300), [10, 0, 14393, 6795])
            .kernel_power_41(ts(t + 310), spec.bugcheck, params)
            .wer_1001(
                ts(t + 400),
                spec.bugcheck,
                params,
                &format!("C:\\Windows\\Minidump\\{name}"),
                "r",
            );
    }
    w.write_to(&dir.path().join("System.evtx")).unwrap();
    // A live kernel dump of the same code an hour after the first crash: no reboot, its own row.
    let live = dir.path().join("Windows/LiveKernelReports/WATCHDOG");
    std::fs::create_dir_all(&live).unwrap();
    let mut live_spec = spec.clone();
    live_spec.system_time = bsod_workbench::filetime::FileTime::from_unix_seconds(first + 3600).0;
    write_triage_dump(&live.join("WATCHDOG-20240514-0313.dmp"), &live_spec).unwrap();
    let case = Case::load(dir.path(), &mut |_| {}).unwrap();
    let h = History::build(&case);
    assert_each_report_once(&case, &h);
    assert_eq!(h.crashes.len(), 4, "{:#?}", h.crashes);
    let kinds: Vec<CrashKind> = h.crashes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            CrashKind::BugCheck,
            CrashKind::LiveDump,
            CrashKind::BugCheck,
            CrashKind::BugCheck
        ]
    );
    for (c, (name, t)) in [&h.crashes[0], &h.crashes[2], &h.crashes[3]]
        .into_iter()
        .zip(&dumps)
    {
        assert_eq!(c.time, Some(*t));
        assert!(c.dump.as_deref().unwrap().ends_with(name.as_str()));
        assert_eq!(
            c.culprit.as_ref().map(|k| k.driver.name()),
            Some("filecrypt.sys")
        );
    }
    assert_eq!(h.crashes[0].sources.len(), 3);
    assert_eq!(
        h.crashes[3].sources.len(),
        1,
        "the third crash has only its dump"
    );
    assert_eq!(
        h.by_culprit[0].sentence(),
        "filecrypt.sys in 4 of 4 crashes since 2024-05-14"
    );
}

#[test]
fn a_renamed_wer_manifest_inside_a_zip_is_found_by_its_content() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    small_case(dir.path());
    // Move the WER folder into a zip under another name.
    let wer_dir = dir
        .path()
        .join("ProgramData/Microsoft/Windows/WER/ReportArchive/Kernel_5a_0a1b");
    let bytes = std::fs::read(wer_dir.join("Report.wer")).unwrap();
    std::fs::remove_dir_all(dir.path().join("ProgramData")).unwrap();
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(dir.path().join("wer.zip")).unwrap());
        z.start_file(
            "Kernel_5a_0a1b/manifest.txt",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        z.write_all(&bytes).unwrap();
        z.finish().unwrap();
    }
    let case = Case::load(dir.path(), &mut |_| {}).unwrap();
    let h = History::build(&case);
    assert_eq!(h.crashes.len(), 1, "{:#?}", h.crashes);
    let wer = h.crashes[0]
        .sources
        .iter()
        .find(|s| s.kind == SourceKind::WerReport)
        .unwrap_or_else(|| panic!("the manifest joins the crash: {:?}", h.crashes[0].sources));
    assert!(wer.file.ends_with("manifest.txt"), "{}", wer.file);
}

#[test]
fn kernel_pnp_events_are_changes_naming_the_device_and_driver() {
    use bsod_workbench::history::ChangeKind;
    use bsod_workbench::synth::evtx::{DataItem, EventSpec, Value};
    // The real System log: Kernel-PnP 219, WudfRd failing to load for a HID device.
    if let Some(path) = common::sample("omerbenamram-evtx/system.evtx") {
        let case = case_of_logs(&[&path]);
        let h = History::build(&case);
        let failed: Vec<_> = h
            .changes
            .iter()
            .filter(|c| c.kind == ChangeKind::DeviceDriverFailed)
            .collect();
        assert!(!failed.is_empty(), "no Kernel-PnP 219 change");
        assert!(
            failed
                .iter()
                .all(|c| c.message.contains("WudfRd") && c.message.contains("Kernel-PnP 219")),
            "{:?}",
            failed.iter().map(|c| &c.message).collect::<Vec<_>>()
        );
        assert!(failed[0].record_id.is_some());
    }
    // The Configuration log: a device configured with a driver package, then started with its
    // service, whose driver the focus then finds.
    let dir = tempfile::tempdir().unwrap();
    let field = |n: &str, v: &str| DataItem::Named(n.into(), Value::Str(v.into()));
    let channel = "Microsoft-Windows-Kernel-PnP/Configuration";
    let pnp = "Microsoft-Windows-Kernel-PnP";
    let dev = "PCI\\VEN_144D&DEV_A808\\4&1f0a6d1&0&0008";
    let log = EvtxWriter::new()
        .event(EventSpec::new(
            ts(1_715_650_000),
            pnp,
            400,
            channel,
            vec![
                field("DeviceInstanceId", dev),
                field("DriverName", "oem42.inf"),
                field("DriverVersion", "1.2.3.4"),
                field("DriverProvider", "Contoso"),
            ],
        ))
        .event(EventSpec::new(
            ts(1_715_650_010),
            pnp,
            410,
            channel,
            vec![
                field("DeviceInstanceId", dev),
                field("DriverName", "oem42.inf"),
                field("ServiceName", "contnvme"),
            ],
        ));
    let path = dir.path().join("Kernel-PnP.evtx");
    std::fs::write(&path, log.to_bytes()).unwrap();
    let case = case_of_logs(&[&path]);
    let h = History::build(&case);
    let kinds: Vec<ChangeKind> = h.changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ChangeKind::DeviceConfigured, ChangeKind::DeviceStarted],
        "{:?}",
        h.changes
    );
    assert!(
        h.changes[0]
            .message
            .contains("oem42.inf 1.2.3.4 from Contoso")
    );
    assert!(h.changes[1].message.contains("service contnvme"));
}

#[test]
fn zipped_driver_files_keep_their_times_on_the_timeline() {
    use bsod_workbench::history::ChangeKind;
    use bsod_workbench::synth::pe::{PeSpec, write_pe};
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut z =
            zip::ZipWriter::new(std::fs::File::create(dir.path().join("drivers.zip")).unwrap());
        // The DOS date and time of the entry: the archiving machine's local time.
        let when = zip::DateTime::from_date_and_time(2024, 5, 14, 1, 35, 0).unwrap();
        let opts = zip::write::SimpleFileOptions::default().last_modified_time(when);
        z.start_file("Windows/System32/drivers/filecrypt.sys", opts)
            .unwrap();
        z.write_all(&write_pe(&PeSpec::driver("filecrypt.sys")))
            .unwrap();
        z.finish().unwrap();
    }
    let case = Case::load(dir.path(), &mut |_| {}).unwrap();
    let f = case
        .inventory
        .as_ref()
        .and_then(|inv| inv.files.iter().find(|f| f.path.ends_with("filecrypt.sys")))
        .expect("the zipped driver");
    let stamp = f.modified.expect("the entry's time");
    assert_eq!(stamp.source, bsod_workbench::case::StampSource::ZipDos);
    let h = History::build(&case);
    let row = h
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::DriverFileTime)
        .unwrap_or_else(|| panic!("a file-time change: {:#?}", h.changes));
    // No hive, no time zone: the local time stays as it is.
    assert_eq!(row.time, 1_715_650_500);
    assert_eq!(row.drivers[0].name(), "filecrypt.sys");
    assert!(row.message.contains("zip DOS time"), "{}", row.message);
}
