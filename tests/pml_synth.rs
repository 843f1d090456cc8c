//! The PML writer against two readers: procmon-parser (PyPI, an independent oracle) must see
//! exactly the events we wrote, and our reader must too, including the per-driver query,
//! rollover chains and logs that were never closed.

mod common;

use bsod_workbench::driver::DriverKey;
use bsod_workbench::pml::{self, DriverQuery};
use bsod_workbench::synth::pml::{
    BOOT_TIME, Capture, EventSpec, ModuleSpec, PmlWriter, ProcessSpec, RegData, driver_range,
    status, write_boot_log,
};
use std::path::Path;

/// What an event should look like to any reader: process, PID, operation, path, result text.
#[derive(Debug, Clone, PartialEq)]
struct Expect {
    process: String,
    pid: u32,
    operation: String,
    path: String,
    result: String,
    detail_has: String,
}

/// A small boot log with every builder, 64- or 32-bit; returns what each event must read as.
fn write_fixture(path: &Path, is_64bit: bool) -> Vec<Expect> {
    let mut w = PmlWriter::new(Capture {
        is_64bit,
        ..Capture::default()
    });
    let system = w.add_process(ProcessSpec {
        pid: 4,
        name: "System".into(),
        user: "NT AUTHORITY\\SYSTEM".into(),
        is_64bit,
        ..Default::default()
    });
    let (base, size) = if is_64bit {
        driver_range(0)
    } else {
        (0x8A00_0000, 0x4_0000)
    };
    w.add_module(
        system,
        ModuleSpec {
            base,
            size,
            path: "C:\\Windows\\System32\\drivers\\filecrypt.sys".into(),
            version: "10.0.19041.1".into(),
            company: "Microsoft Corporation".into(),
            description: "Windows sandboxing and encryption filter".into(),
            timestamp: 0x1234_5678,
        },
    );
    let services = w.add_process(ProcessSpec {
        pid: 640,
        parent_pid: 4,
        name: "services.exe".into(),
        image_path: "C:\\Windows\\System32\\services.exe".into(),
        is_64bit,
        ..Default::default()
    });
    let ev = |p, t: u64, result| EventSpec {
        process: p,
        tid: 12,
        time: BOOT_TIME + t * 1000,
        duration: 7,
        result,
        stack: vec![base + 0x1234, base + 0x10],
    };
    let image = "C:\\Windows\\System32\\drivers\\filecrypt.sys";
    let key = "HKLM\\System\\CurrentControlSet\\Services\\FileCrypt";
    w.load_image(&ev(system, 1, status::SUCCESS), image, base, size)
        .expect("write");
    w.reg_open_key(&ev(services, 2, status::SUCCESS), key, 0x20019)
        .expect("write");
    w.reg_query_value(
        &ev(services, 3, status::SUCCESS),
        &format!("{key}\\Start"),
        Some(&RegData::Dword(3)),
    )
    .expect("write");
    w.reg_query_value(
        &ev(services, 4, status::SUCCESS),
        &format!("{key}\\ImagePath"),
        Some(&RegData::ExpandSz(
            "system32\\drivers\\filecrypt.sys".into(),
        )),
    )
    .expect("write");
    w.reg_query_value(
        &ev(services, 5, status::NAME_NOT_FOUND),
        &format!("{key}\\Group"),
        None,
    )
    .expect("write");
    w.create_file(
        &ev(system, 6, status::SUCCESS),
        image,
        0x120089,
        1,
        0x60,
        1,
        Some(1),
    )
    .expect("write");
    w.create_file(
        &ev(system, 7, status::NAME_NOT_FOUND),
        "C:\\Windows\\System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}\\fc.cat",
        0x120089,
        1,
        0x60,
        7,
        None,
    )
    .expect("write");
    w.create_file(
        &ev(system, 8, status::INVALID_IMAGE_HASH),
        "C:\\Windows\\System32\\drivers\\ünïcode.sys",
        0x120089,
        1,
        0x60,
        1,
        None,
    )
    .expect("write");
    w.thread_create(&ev(services, 9, status::SUCCESS), 4242)
        .expect("write");
    w.write_to(path).expect("write file");
    let e = |process: &str, pid, operation: &str, path: &str, result: &str, detail: &str| Expect {
        process: process.into(),
        pid,
        operation: operation.into(),
        path: path.into(),
        result: result.into(),
        detail_has: detail.into(),
    };
    vec![
        e(
            "System",
            4,
            "Load Image",
            image,
            "SUCCESS",
            &format!("Image Base: 0x{base:x}"),
        ),
        e(
            "services.exe",
            640,
            "RegOpenKey",
            key,
            "SUCCESS",
            "Desired Access: Read",
        ),
        e(
            "services.exe",
            640,
            "RegQueryValue",
            &format!("{key}\\Start"),
            "SUCCESS",
            "Data: 3",
        ),
        e(
            "services.exe",
            640,
            "RegQueryValue",
            &format!("{key}\\ImagePath"),
            "SUCCESS",
            "Data: system32\\drivers\\filecrypt.sys",
        ),
        e(
            "services.exe",
            640,
            "RegQueryValue",
            &format!("{key}\\Group"),
            "NAME NOT FOUND",
            "Length: 144",
        ),
        e(
            "System",
            4,
            "CreateFile",
            image,
            "SUCCESS",
            "OpenResult: Opened",
        ),
        e(
            "System",
            4,
            "CreateFile",
            "C:\\Windows\\System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}\\fc.cat",
            "NAME NOT FOUND",
            "Disposition: Open",
        ),
        e(
            "System",
            4,
            "CreateFile",
            "C:\\Windows\\System32\\drivers\\ünïcode.sys",
            "INVALID IMAGE HASH",
            "ShareMode: Read",
        ),
        e(
            "services.exe",
            640,
            "Thread Create",
            "",
            "SUCCESS",
            "Thread ID: 4242",
        ),
    ]
}

fn ours(path: &Path) -> Vec<Expect> {
    let log = pml::open(path).expect("open");
    assert!(log.warnings().is_empty(), "{:?}", log.warnings());
    (0..log.len())
        .map(|i| {
            let ev = log.event(i).expect("event");
            let p = ev.process.and_then(|s| log.process(s)).expect("process");
            Expect {
                process: p.name.clone(),
                pid: p.pid,
                operation: ev.operation_name.clone(),
                path: ev.path.clone(),
                result: ev.result_text().into_owned(),
                detail_has: ev.detail_text(),
            }
        })
        .collect()
}

/// Result texts as raw codes, for readers that name fewer results than Procmon.
fn with_codes(want: &[Expect]) -> Vec<Expect> {
    want.iter()
        .map(|e| {
            let code = match e.result.as_str() {
                "SUCCESS" => 0,
                "NAME NOT FOUND" => status::NAME_NOT_FOUND,
                "INVALID IMAGE HASH" => status::INVALID_IMAGE_HASH,
                other => panic!("fixture result {other} has no code here"),
            };
            Expect {
                result: format!("0x{code:08X}"),
                ..e.clone()
            }
        })
        .collect()
}

fn check(got: &[Expect], want: &[Expect], who: &str) {
    assert_eq!(got.len(), want.len(), "{who}: event count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            (&g.process, g.pid, &g.operation, &g.path, &g.result),
            (&w.process, w.pid, &w.operation, &w.path, &w.result),
            "{who}"
        );
        assert!(
            g.detail_has.contains(&w.detail_has),
            "{who}: detail {:?} lacks {:?}",
            g.detail_has,
            w.detail_has
        );
    }
}

const PARSER_SCRIPT: &str = r#"
import json, sys
from procmon_parser import ProcmonLogsReader
with open(sys.argv[1], "rb") as f:
    r = ProcmonLogsReader(f)
    first = None
    for ev in r:
        c = ev.get_compatible_csv_info(first)
        first = first or ev.date_filetime
        # procmon-parser names fewer results than Procmon: compare the raw code.
        print(json.dumps({"process": c["Process Name"], "pid": int(c["PID"]),
                          "operation": c["Operation"], "path": c["Path"],
                          "result": "0x%08X" % ev.result, "detail": c["Detail"]}))
"#;

fn procmon_parser_reads(path: &Path) -> Vec<Expect> {
    let out = std::process::Command::new("python3")
        .args(["-c", PARSER_SCRIPT])
        .arg(path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "procmon-parser failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            Expect {
                process: s("process"),
                pid: v["pid"].as_u64().unwrap_or(0) as u32,
                operation: s("operation"),
                path: s("path"),
                result: s("result"),
                detail_has: s("detail"),
            }
        })
        .collect()
}

#[test]
fn procmon_parser_sees_the_events_we_wrote() {
    if !common::python_oracle("procmon_parser") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for is_64bit in [true, false] {
        let p = dir
            .path()
            .join(format!("boot{}.pml", if is_64bit { 64 } else { 32 }));
        let want = write_fixture(&p, is_64bit);
        check(
            &procmon_parser_reads(&p),
            &with_codes(&want),
            "procmon-parser",
        );
    }
}

#[test]
fn our_reader_sees_the_events_we_wrote_and_the_driver_they_concern() {
    let dir = tempfile::tempdir().expect("tempdir");
    for is_64bit in [true, false] {
        let p = dir.path().join("boot.pml");
        let want = write_fixture(&p, is_64bit);
        check(&ours(&p), &want, "bsodwb");
        let log = pml::open(&p).expect("open");
        let key = DriverKey::from_path("FILECRYPT.SYS").expect("key");
        let d = log.driver_events(&key, None);
        assert_eq!(d.load_image, vec![0]);
        assert_eq!(d.registry, vec![1, 2, 3, 4]);
        assert_eq!(d.file_system, vec![5]);
        // Every event's stack passes through filecrypt.sys.
        assert_eq!(d.stack.len(), log.len());
        let m = d.module.expect("kernel module entry");
        assert_eq!(
            (m.timestamp, m.company.as_str()),
            (0x1234_5678, "Microsoft Corporation")
        );
        let ev = log.event(0).expect("event");
        let frame = log.resolve_frame(&ev, ev.stack[0]);
        assert_eq!(frame.label(), "filecrypt.sys+0x1234");
        assert!(log.drivers().contains(&key));
    }
}

#[test]
fn a_boot_log_that_never_closed_yields_every_event_and_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("Bootlog.pml");
    let mut w = PmlWriter::create(&p, Capture::default()).expect("create");
    let sys = w.add_process(ProcessSpec {
        pid: 4,
        name: "System".into(),
        ..Default::default()
    });
    for k in 0..500u64 {
        let ev = EventSpec {
            process: sys,
            tid: 4,
            time: BOOT_TIME + k * 10,
            duration: 1,
            result: 0,
            stack: vec![0xFFFF_F800_0000_1000; (k % 7) as usize],
        };
        w.load_image(
            &ev,
            &format!("C:\\Windows\\System32\\drivers\\d{k}.sys"),
            0xFFFF_F801_0000_0000,
            0x1000,
        )
        .expect("write");
    }
    w.finish_unclosed().expect("finish");
    let log = pml::open(&p).expect("open");
    assert_eq!(log.len(), 500);
    assert!(
        log.warnings()[0].message.contains("not closed"),
        "{:?}",
        log.warnings()
    );
    let last = log.event(499).expect("event");
    assert_eq!(last.path, "C:\\Windows\\System32\\drivers\\d499.sys");
}

#[test]
fn rollover_files_read_as_one_timeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("Bootlog.pml");
    let s0 = write_boot_log(&first, 700, &["filecrypt", "disk"]).expect("write");
    let s1 = write_boot_log(&dir.path().join("Bootlog-1.pml"), 300, &["tcpip"]).expect("write");
    let log = pml::open(&first).expect("open");
    assert_eq!(log.files().len(), 2);
    assert_eq!(log.len(), s0.events + s1.events);
    assert_eq!(
        log.event(700).expect("event").path,
        "C:\\Windows\\System32\\drivers\\tcpip.sys"
    );
    let ix = log.index();
    assert_eq!(ix.len(), 1000);
    // The second file's events resolve to the second file's System process.
    let ev = log.event(999).expect("event");
    let p = ev.process.and_then(|s| log.process(s)).expect("process");
    assert!(p.name == "System" || p.name == "smss.exe");
    let tcpip = DriverKey::from_path("tcpip.sys").expect("key");
    let d = log.driver_events(&tcpip, None);
    assert!(d.load_image.iter().all(|&i| i >= 700) && !d.load_image.is_empty());
    let filter = pml::Filter::parse(&["Path ends with tcpip.sys", "Operation is Load Image"])
        .expect("rules");
    let hits = filter.apply(
        &log,
        &mut |_, _| {},
        &std::sync::atomic::AtomicBool::new(false),
    );
    assert_eq!(hits, d.load_image);
}

#[test]
fn a_duration_rule_reads_each_events_header_and_agrees_with_the_decoded_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Bootlog.pml");
    write_boot_log(&path, 2000, &["filecrypt", "disk"]).expect("write");
    let log = pml::open(&path).expect("open");
    let durations: Vec<u64> = (0..log.len())
        .map(|i| log.event(i).expect("event").duration)
        .collect();
    let mut distinct = durations.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > 1, "the writer varies durations");
    let cut = distinct[distinct.len() / 2];
    let rule = format!("Duration more than {}", pml::render::duration(cut));
    let filter = pml::Filter::parse(&[rule.as_str()]).expect("rule");
    let hits = filter.apply(
        &log,
        &mut |_, _| {},
        &std::sync::atomic::AtomicBool::new(false),
    );
    let want: Vec<u32> = (0..log.len() as u32)
        .filter(|&i| durations[i as usize] > cut)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(hits, want, "{rule}");
    for i in [0, 1, log.len() - 1] {
        assert_eq!(log.duration_of(i), Some(durations[i]));
    }
}
