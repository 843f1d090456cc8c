//! `eventlog` against the real samples: expected-summary.json (counts by pyevtx 0.14) is the
//! oracle for what is in each file; python-evtx is the oracle for field values.

mod common;

use bsod_workbench::driver::DriverKey;
use bsod_workbench::eventlog::{self, EventKind, EventLog, Selection, SystemEvent};
use std::collections::BTreeMap;
use std::path::Path;

fn summary(folder: &str, file: &str) -> serde_json::Value {
    let path = common::samples_root()
        .join(folder)
        .join("expected-summary.json");
    let text = std::fs::read_to_string(&path).expect("expected-summary.json");
    let all: serde_json::Value = serde_json::from_str(&text).expect("json");
    all[file].clone()
}

fn counts(log: &EventLog) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for e in &log.events {
        *out.entry(format!("{}/{}", e.provider, e.event_id))
            .or_insert(0) += 1;
    }
    out
}

fn expected_counts(s: &serde_json::Value) -> BTreeMap<String, u64> {
    s["provider_eventid_counts"]
        .as_object()
        .expect("counts")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
        .collect()
}

/// pyevtx prints `2018-07-06T18:37:44.8816283Z UTC`; we print RFC 3339.
fn oracle_time(s: &serde_json::Value, key: &str) -> String {
    s[key]
        .as_str()
        .expect("time")
        .trim_end_matches(" UTC")
        .to_string()
}

/// Every record, with counts per provider/ID, channels and time range as the oracle says.
fn check_whole_file(folder: &str, file: &str) -> Option<EventLog> {
    let path = common::sample(&format!("{folder}/{file}"))?;
    let s = summary(folder, file);
    let log = eventlog::open_with(&path, &Selection::all()).expect("open");
    assert_eq!(
        log.events.len() as u64,
        s["records_parsed_by_pyevtx_0.14.0"].as_u64().expect("n"),
        "{file}: record count"
    );
    assert_eq!(
        counts(&log),
        expected_counts(&s),
        "{file}: provider/ID counts"
    );
    let mut channels: BTreeMap<String, u64> = BTreeMap::new();
    for e in &log.events {
        *channels.entry(e.channel.clone()).or_insert(0) += 1;
    }
    let want: BTreeMap<String, u64> = s["channels"]
        .as_object()
        .expect("channels")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("n")))
        .collect();
    assert_eq!(channels, want, "{file}: channels");
    let times: Vec<String> = log.events.iter().map(|e| e.time.to_string()).collect();
    assert_eq!(
        times.first().cloned(),
        Some(oracle_time(&s, "first_timestamp"))
    );
    assert_eq!(
        times.last().cloned(),
        Some(oracle_time(&s, "last_timestamp"))
    );
    assert!(
        log.events.windows(2).all(|w| w[0].time <= w[1].time),
        "{file}: events are time-ordered"
    );
    Some(log)
}

#[test]
fn system_logs_match_the_oracle_record_for_record() {
    for file in [
        "system.evtx",
        "2-vss_7-System.evtx",
        "Application_no_crc32.evtx",
    ] {
        check_whole_file("omerbenamram-evtx", file);
    }
}

#[test]
fn the_real_codeintegrity_log_reads_as_typed_3085s() {
    let Some(log) = check_whole_file(
        "tugix456-randaodcxjj",
        "Microsoft-Windows-CodeIntegrity%4Operational.evtx",
    ) else {
        return;
    };
    // The default selection keeps every CodeIntegrity event.
    let path = log.path.clone();
    let default = eventlog::open(&path).expect("open");
    assert_eq!(default.events.len(), 5);
    for e in &default.events {
        let ci = e.code_integrity().expect("typed CodeIntegrity");
        assert_eq!(ci.id, 3085);
        assert_eq!(ci.settings.as_deref(), Some("0x0"));
        assert_eq!(ci.exemption.as_deref(), Some("1"));
        assert_eq!(e.channel, "Microsoft-Windows-CodeIntegrity/Operational");
        assert_eq!(e.process_id, Some(4));
        assert!(e.activity_id.is_some());
        assert_eq!(
            ci.info().map(|i| i.meaning),
            Some("WHQL driver enforcement disabled for this boot session")
        );
    }
    assert!(default.warnings.is_empty(), "{:?}", default.warnings);
}

#[test]
fn the_default_selection_keeps_exactly_the_wanted_ids_without_rendering_the_rest() {
    let Some(path) = common::sample("omerbenamram-evtx/system.evtx") else {
        return;
    };
    let s = summary("omerbenamram-evtx", "system.evtx");
    let log = eventlog::open(&path).expect("open");
    let sel = Selection::boot_failure();
    let want: BTreeMap<String, u64> = expected_counts(&s)
        .into_iter()
        .filter(|(k, _)| {
            let (p, id) = k.rsplit_once('/').expect("p/id");
            sel.wants(p, id.parse().expect("id"))
        })
        .collect();
    assert_eq!(counts(&log), want);
    assert_eq!(log.stats.records, 1881);
    // Real templates say who each record is: nothing is rendered only to be thrown away.
    assert_eq!(log.stats.skipped_rendered, 0);
    assert_eq!(
        log.stats.skipped_unrendered,
        1881 - want.values().sum::<u64>()
    );
}

#[test]
fn system_events_are_typed_and_linked_to_drivers() {
    let Some(path) = common::sample("omerbenamram-evtx/system.evtx") else {
        return;
    };
    let log = eventlog::open(&path).expect("open");
    // 7026: "\r\nCSC\r\ndam" split into drivers, found by driver key.
    let csc = DriverKey::from_path("csc.sys").expect("key");
    let by_csc = log.by_driver(&csc);
    assert!(!by_csc.is_empty());
    assert!(by_csc.iter().all(|e| matches!(
        e.system(),
        Some(SystemEvent::BootDriversNotLoaded { drivers }) if drivers.iter().any(|d| d == "CSC")
    )));
    // 7000 CldFlt, %%50, its key name from the Binary data.
    let cld = log.by_service("cldflt");
    assert!(cld.iter().any(|e| matches!(
        e.system(),
        Some(SystemEvent::ServiceStartFailed { error, key_name: Some(k), .. })
            if k == "CldFlt" && error.name() == Some("ERROR_NOT_SUPPORTED")
    )));
    // 219: WudfRd failed; its status named.
    let wudf = DriverKey::from_path("wudfrd.sys").expect("key");
    assert!(log.by_driver(&wudf).iter().any(|e| matches!(
        e.system(),
        Some(SystemEvent::DeviceDriverFailed { status: Some(st), .. })
            if st.name() == Some("STATUS_FAILED_DRIVER_ENTRY")
    )));
    // 7045 of a kernel driver names its image; of a user-mode service, no driver.
    for e in &log.events {
        if let Some(SystemEvent::ServiceInstalled {
            image_path,
            service_type,
            ..
        }) = e.system()
        {
            if service_type == "kernel mode driver" {
                assert_eq!(
                    e.drivers,
                    vec![DriverKey::from_path(image_path).expect("k")]
                );
            } else if service_type.contains("service") {
                assert!(e.drivers.is_empty(), "{image_path}");
            }
        }
    }
    // Kernel-General 12 with its version.
    assert!(log.events.iter().any(|e| matches!(
        e.system(),
        Some(SystemEvent::OsStarted { version: Some(v), .. }) if v == "10.0.15063.413"
    )));
}

/// Field values equal python-evtx's for every typed System event of system.evtx.
#[test]
fn typed_fields_equal_python_evtx() {
    let Some(path) = common::sample("omerbenamram-evtx/system.evtx") else {
        return;
    };
    if !common::python_oracle("Evtx") {
        return;
    }
    let oracle = python_fields(&path);
    let log = eventlog::open(&path).expect("open");
    let mut compared = 0;
    for e in log
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::System(_)))
    {
        // python-evtx 0.8 stops after the first chunks of this file (326 of 1881 records);
        // compare the records it reads.
        let Some(theirs) = oracle.get(e.record_id.to_string()) else {
            continue;
        };
        assert_eq!(theirs["provider"], e.provider.as_str());
        assert_eq!(theirs["event_id"], u64::from(e.event_id));
        for pair in theirs["data"].as_array().expect("data") {
            let name = pair[0].as_str();
            let value = pair[1].as_str().unwrap_or("");
            // Times and binary data render differently in the two readers by design.
            if name.is_none_or(|n| n.contains("Time") || n == "Binary") {
                continue;
            }
            let ours = e
                .fields
                .iter()
                .find(|f| f.name.as_deref() == name)
                // An XML parser normalises CRLF to LF (XML 1.0 §2.11); the record holds CRLF.
                .map(|f| f.value.replace("\r\n", "\n"));
            assert_eq!(
                ours.as_deref(),
                Some(value),
                "record {} field {name:?}",
                e.record_id
            );
            compared += 1;
        }
    }
    assert!(compared > 50, "compared {compared} fields");
}

fn python_fields(path: &Path) -> serde_json::Value {
    let script = r#"
import sys, json
import Evtx.Evtx as E
from xml.etree import ElementTree as ET
NS='{http://schemas.microsoft.com/win/2004/08/events/event}'
out={}
with E.Evtx(sys.argv[1]) as log:
    for r in log.records():
        root=ET.fromstring(r.xml())
        s=root.find(NS+'System')
        data=[]
        ed=root.find(NS+'EventData')
        if ed is not None:
            for d in ed:
                tag=d.tag.replace(NS,'')
                data.append([d.get('Name') if tag=='Data' else tag, d.text or ''])
        out[str(r.record_num())]={'provider':s.find(NS+'Provider').get('Name'),
            'event_id':int(s.find(NS+'EventID').text),'data':data}
json.dump(out,sys.stdout)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle json")
}

#[test]
fn a_bad_chunk_is_skipped_with_a_warning_and_the_rest_loads() {
    let Some(path) = common::sample("omerbenamram-evtx/sample_with_a_bad_chunk_magic.evtx") else {
        return;
    };
    let log = eventlog::open_with(&path, &Selection::all()).expect("loads despite the bad chunk");
    // The evtx crate reads 301 records past the damage (expected-summary.json's note); python
    // stops after 14.
    assert_eq!(log.events.len(), 301);
    let skipped: Vec<_> = log
        .warnings
        .iter()
        .filter(|w| w.message.contains("chunk skipped"))
        .collect();
    assert!(!skipped.is_empty(), "{:?}", log.warnings);
    for w in skipped {
        let chunk: u64 = w
            .message
            .strip_prefix("chunk ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse().ok())
            .expect("names the chunk");
        assert_eq!(w.offset, Some(4096 + chunk * 65536));
        assert!(w.to_string().contains(&format!("chunk {chunk}")));
    }
}

#[test]
fn a_log_without_checksums_loads_and_says_so() {
    let Some(path) = common::sample("omerbenamram-evtx/Application_no_crc32.evtx") else {
        return;
    };
    let log = eventlog::open_with(&path, &Selection::all()).expect("open");
    assert_eq!(log.events.len(), 17);
    assert!(
        log.warnings
            .iter()
            .all(|w| w.message.contains("checksums are zero"))
    );
    assert_eq!(log.warnings.len(), 1);
}

#[test]
fn the_48_mib_mixed_log_selects_its_system_events() {
    let Some(path) = common::sample("synthetic-evtx/synth_mixed_48MiB.evtx") else {
        return;
    };
    let s = summary("synthetic-evtx", "synth_mixed_48MiB.evtx");
    let log = eventlog::open(&path).expect("open");
    let sel = Selection::boot_failure();
    let want: BTreeMap<String, u64> = expected_counts(&s)
        .into_iter()
        .filter(|(k, _)| {
            let (p, id) = k.rsplit_once('/').expect("p/id");
            sel.wants(p, id.parse().expect("id"))
        })
        .collect();
    assert_eq!(counts(&log), want);
    assert_eq!(log.stats.records, 77_517);
    assert!(log.warnings.is_empty(), "{:?}", &log.warnings[..1]);
}

#[test]
fn a_file_that_is_not_evtx_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("not.evtx");
    std::fs::write(&p, b"MZ\x90\x00 not an event log").expect("write");
    let err = eventlog::open(&p).expect_err("not evtx");
    let msg = err.to_string();
    assert!(
        msg.contains("not.evtx") && msg.contains("offset 0"),
        "{msg}"
    );
}
