//! The EVTX writer (`synth::evtx`) against two readers: ours (through the `evtx` crate) must
//! read back every field of CodeIntegrity 3001/3004/3010/3033/3089 and the System events, and
//! python-evtx (an independent reader) must read the same values from the same file.

mod common;

use bsod_workbench::driver::DriverKey;
use bsod_workbench::eventlog::{self, EventKind, NtStatus, Selection, SystemEvent};
use bsod_workbench::synth::evtx::{EvtxWriter, Guid, Signature3089};
use evtx::Timestamp;
use std::path::Path;

const FILECRYPT: &str = "\\Device\\HarddiskVolume2\\Windows\\System32\\drivers\\filecrypt.sys";
const PROCESS: &str = "System";
const CATALOG: &str = "\\Windows\\System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}\\Package_1_for_KB5034441~31bf3856ad364e35~amd64~~10.0.1.6.cat";
const UNSIGNED: &str = "\\Device\\HarddiskVolume2\\Windows\\System32\\drivers\\vendor.sys";
const REGSVR: &str = "\\Device\\HarddiskVolume3\\Windows\\System32\\regsvr32.exe";
const SCROBJ: &str = "\\Device\\HarddiskVolume3\\Windows\\System32\\scrobj.dll";

fn t(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn activity() -> Guid {
    Guid::parse("{2d9f3a42-01d4-4733-97f7-041e8021dc84}").expect("guid")
}

fn activity_3033() -> Guid {
    Guid::parse("{06dc59e1-0a4c-4d0f-8d3c-1f5e2b7a9c10}").expect("guid")
}

fn signature(index: u32) -> Signature3089 {
    Signature3089 {
        total_signature_count: 2,
        index,
        cache_state: 22,
        hash: (0..20u8)
            .map(|b| b.wrapping_mul(7).wrapping_add(index as u8))
            .collect(),
        page_hash: index == 1,
        signature_type: 4,
        validated_level: 12,
        verification_error: 3,
        flags: 0,
        policy_bits: 2050,
        not_valid_before: t("2023-01-05T00:00:00Z"),
        not_valid_after: t("2024-01-05T00:00:00Z"),
        publisher: "Microsoft Windows".into(),
        issuer: "Microsoft Windows Production PCA 2011".into(),
        publisher_tbs_hash: vec![0xAB; 32],
        issuer_tbs_hash: vec![0xCD; 32],
    }
}

fn written_log() -> EvtxWriter {
    EvtxWriter::new()
        .computer("CASE-PC")
        .kernel_general_12(t("2026-11-27T08:00:00Z"), [10, 0, 19045, 3803])
        .code_integrity_3010(
            t("2026-11-27T08:00:01Z"),
            CATALOG,
            NtStatus { code: 0xC000_0034 },
        )
        .code_integrity_3004(
            t("2026-11-27T08:00:02Z"),
            FILECRYPT,
            PROCESS,
            NtStatus { code: 0xC000_0428 },
            Some(activity()),
        )
        .code_integrity_3089(t("2026-11-27T08:00:02.5Z"), activity(), &signature(0))
        .code_integrity_3089(t("2026-11-27T08:00:02.5Z"), activity(), &signature(1))
        .code_integrity_3001(t("2026-11-27T08:00:03Z"), UNSIGNED, PROCESS)
        .code_integrity_3033(
            t("2026-11-27T08:00:04Z"),
            SCROBJ,
            REGSVR,
            2,
            1,
            NtStatus {
                code: 3_236_495_362,
            },
            Some(activity_3033()),
        )
        .scm_7000(t("2026-11-27T08:00:05Z"), "FileCrypt", 577, "FileCrypt")
        .scm_7026(t("2026-11-27T08:00:06Z"), &["FileCrypt", "dam"])
        .scm_7045(
            t("2026-11-27T08:00:07Z"),
            "Vendor Driver",
            "\\SystemRoot\\System32\\drivers\\vendor.sys",
            "kernel mode driver",
            "boot start",
        )
        .kernel_power_41(
            t("2026-11-27T08:05:00Z"),
            0x5A,
            [1, 0xffff_c000_0000_0000, 0, 0xffff_ffff_c000_0428],
        )
        .wer_1001(
            t("2026-11-27T08:05:10Z"),
            0x5A,
            [1, 0xffff_c000_0000_0000, 0, 0xffff_ffff_c000_0428],
            "C:\\Windows\\MEMORY.DMP",
            "8d1f0c3e-aaaa-bbbb-cccc-0123456789ab",
        )
        .eventlog_6008(t("2026-11-27T08:05:11Z"), "8:04:58 AM", "11/27/2026")
}

fn write(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("written.evtx");
    written_log().write_to(&path).expect("write");
    path
}

#[test]
fn our_reader_reads_back_every_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(dir.path());
    let log = eventlog::open(&path).expect("open");
    assert!(log.warnings.is_empty(), "{:?}", log.warnings);
    assert_eq!(log.events.len(), 13);
    // Our template says who each record is: nothing rendered in vain, nothing skipped.
    assert_eq!(log.stats.skipped_rendered, 0);
    assert_eq!(log.stats.skipped_unrendered, 0);
    for e in &log.events {
        assert_eq!(e.computer, "CASE-PC");
    }

    let ci = |id: u16| {
        log.events
            .iter()
            .filter(move |e| e.event_id == id)
            .map(|e| (e, e.code_integrity().expect("typed CI")))
    };

    let (e, c) = ci(3004).next().expect("3004");
    assert_eq!(e.channel, "Microsoft-Windows-CodeIntegrity/Operational");
    assert_eq!(e.level, Some(2));
    assert_eq!(c.file.as_deref(), Some(FILECRYPT));
    assert_eq!(c.process.as_deref(), Some(PROCESS));
    assert_eq!(
        c.status.and_then(|s| s.name()),
        Some("STATUS_INVALID_IMAGE_HASH")
    );
    assert_eq!(e.time.to_string(), "2026-11-27T08:00:02Z");
    assert_eq!(
        e.activity_id.as_deref().map(str::to_ascii_lowercase),
        Some(activity().to_string())
    );
    // Its two 3089 signatures joined by ActivityID, every field typed.
    assert_eq!(c.signatures.len(), 2);
    for (i, s) in c.signatures.iter().enumerate() {
        let want = signature(i as u32);
        assert_eq!(s.index, Some(i as u32));
        assert_eq!(s.total_signature_count, Some(2));
        assert_eq!(s.cache_state, Some(22));
        assert_eq!(s.hash.as_deref().map(unhex), Some(want.hash.clone()));
        assert_eq!(s.page_hash, Some(i == 1));
        assert_eq!(
            s.signature_type.and_then(|t| t.name()),
            Some("un-cached catalog")
        );
        assert_eq!(s.validated_level.and_then(|l| l.name()), Some("Windows"));
        assert_eq!(
            s.verification_error.and_then(|v| v.name()),
            Some("file not signed")
        );
        assert_eq!(s.flags, Some(0));
        assert_eq!(s.policy_bits, Some(2050));
        assert!(
            s.not_valid_before
                .as_deref()
                .is_some_and(|v| v.starts_with("2023-01-05"))
        );
        assert!(
            s.not_valid_after
                .as_deref()
                .is_some_and(|v| v.starts_with("2024-01-05"))
        );
        assert_eq!(s.publisher.as_deref(), Some("Microsoft Windows"));
        assert_eq!(
            s.issuer.as_deref(),
            Some("Microsoft Windows Production PCA 2011")
        );
        assert_eq!(
            s.publisher_tbs_hash.as_deref().map(unhex),
            Some(vec![0xAB; 32])
        );
        assert_eq!(
            s.issuer_tbs_hash.as_deref().map(unhex),
            Some(vec![0xCD; 32])
        );
    }
    assert_eq!(ci(3089).count(), 2);
    assert!(ci(3089).all(|(_, c)| c.signature.is_some() && c.signatures.is_empty()));

    let (_, c) = ci(3010).next().expect("3010");
    assert_eq!(c.catalog.as_deref(), Some(CATALOG));
    assert_eq!(c.file, None);
    assert_eq!(
        c.status.and_then(|s| s.name()),
        Some("STATUS_OBJECT_NAME_NOT_FOUND")
    );

    let (e, c) = ci(3001).next().expect("3001");
    assert_eq!(e.level, Some(3));
    assert_eq!(c.file.as_deref(), Some(UNSIGNED));
    assert_eq!(c.process.as_deref(), Some(PROCESS));

    let (e, c) = ci(3033).next().expect("3033");
    assert_eq!(c.file.as_deref(), Some(SCROBJ));
    assert_eq!(c.process.as_deref(), Some(REGSVR));
    assert_eq!(c.requested_level.and_then(|l| l.name()), Some("Enterprise"));
    assert_eq!(c.validated_level.and_then(|l| l.name()), Some("Unsigned"));
    assert_eq!(
        c.status.and_then(|s| s.name()),
        Some("STATUS_SYSTEM_INTEGRITY_POLICY_VIOLATION")
    );
    assert_eq!(e.opcode, Some(111));
    assert!(c.signatures.is_empty(), "no 3089 shares its ActivityID");

    // Drivers: filecrypt.sys gathers the 3004, the 7000 (by its key name) and the 7026.
    let filecrypt = DriverKey::from_path("filecrypt.sys").expect("key");
    let ids: Vec<u16> = log
        .by_driver(&filecrypt)
        .iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(ids, vec![3004, 7026]);
    let by_service: Vec<u16> = log
        .by_service("filecrypt")
        .iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(by_service, vec![7000]);

    let sys = |id: u16| {
        log.events
            .iter()
            .find(|e| e.event_id == id)
            .and_then(|e| e.system())
            .cloned()
            .expect("typed system event")
    };
    let SystemEvent::ServiceStartFailed {
        service,
        error,
        key_name,
    } = sys(7000)
    else {
        panic!("7000")
    };
    assert_eq!(service, "FileCrypt");
    assert_eq!(error.name(), Some("ERROR_INVALID_IMAGE_HASH"));
    assert_eq!(key_name.as_deref(), Some("FileCrypt"));
    assert_eq!(
        sys(7026),
        SystemEvent::BootDriversNotLoaded {
            drivers: vec!["FileCrypt".into(), "dam".into()]
        }
    );
    let SystemEvent::UncleanReboot {
        bugcheck: Some(b), ..
    } = sys(41)
    else {
        panic!("41")
    };
    assert_eq!(b.code, 0x5A);
    assert_eq!(b.parameters[3], 0xffff_ffff_c000_0428);
    let SystemEvent::BugCheckReport {
        bugcheck: Some(b),
        dump_path,
        report_id,
        ..
    } = sys(1001)
    else {
        panic!("1001")
    };
    assert_eq!(b.code, 0x5A);
    assert_eq!(b.parameters[1], 0xffff_c000_0000_0000);
    assert_eq!(dump_path.as_deref(), Some("C:\\Windows\\MEMORY.DMP"));
    assert_eq!(
        report_id.as_deref(),
        Some("8d1f0c3e-aaaa-bbbb-cccc-0123456789ab")
    );
    assert_eq!(
        sys(6008),
        SystemEvent::UnexpectedShutdown {
            when: Some("8:04:58 AM 11/27/2026".into())
        }
    );
    assert!(
        matches!(sys(12), SystemEvent::OsStarted { version: Some(v), .. } if v == "10.0.19045.3803")
    );
    let vendor = DriverKey::from_path("vendor.sys").expect("key");
    let ids: Vec<u16> = log.by_driver(&vendor).iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec![3001, 7045]);
    assert!(
        log.events
            .iter()
            .all(|e| !matches!(e.kind, EventKind::Other))
    );
}

fn try_unhex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// python-evtx reads the same file: every record, provider, ID, ActivityID and data value.
#[test]
fn python_evtx_reads_what_we_write() {
    if !common::python_oracle("Evtx") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(dir.path());
    let script = r#"
import sys, json, base64
import Evtx.Evtx as E
from xml.etree import ElementTree as ET
NS='{http://schemas.microsoft.com/win/2004/08/events/event}'
out=[]
with E.Evtx(sys.argv[1]) as log:
    for r in log.records():
        root=ET.fromstring(r.xml())
        s=root.find(NS+'System')
        c=s.find(NS+'Correlation')
        data=[]
        for d in root.find(NS+'EventData'):
            tag=d.tag.replace(NS,'')
            data.append([d.get('Name') if tag=='Data' else tag, d.text or ''])
        out.append({'record_id': r.record_num(),
            'provider': s.find(NS+'Provider').get('Name'),
            'event_id': int(s.find(NS+'EventID').text),
            'level': int(s.find(NS+'Level').text),
            'channel': s.find(NS+'Channel').text,
            'computer': s.find(NS+'Computer').text,
            'activity': c.get('ActivityID') if c is not None else None,
            'time': s.find(NS+'TimeCreated').get('SystemTime'),
            'data': data})
json.dump(out, sys.stdout)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let ours = eventlog::open_with(&path, &Selection::all()).expect("open");
    assert_eq!(theirs.len(), ours.events.len());
    let mut compared = 0;
    for (t, e) in theirs.iter().zip(&ours.events) {
        assert_eq!(t["record_id"], e.record_id);
        assert_eq!(t["provider"], e.provider.as_str());
        assert_eq!(t["event_id"], u64::from(e.event_id));
        assert_eq!(t["level"], u64::from(e.level.expect("level")));
        assert_eq!(t["channel"], e.channel.as_str());
        assert_eq!(t["computer"], "CASE-PC");
        assert!(
            t["time"]
                .as_str()
                .is_some_and(|s| s.replace(' ', "T").starts_with(&e.time.to_string()[..19])),
            "{} vs {}",
            t["time"],
            e.time
        );
        assert_eq!(
            t["activity"].as_str().map(str::to_ascii_lowercase),
            e.activity_id.as_deref().map(str::to_ascii_lowercase)
        );
        let data = t["data"].as_array().expect("data");
        assert_eq!(data.len(), e.fields.len(), "record {}", e.record_id);
        for (pair, f) in data.iter().zip(&e.fields) {
            let name = pair[0].as_str();
            let value = pair[1].as_str().unwrap_or("");
            assert_eq!(name, f.name.as_deref(), "record {}", e.record_id);
            same_value(name.unwrap_or(""), value, &f.value);
            compared += 1;
        }
    }
    assert!(compared > 60, "compared {compared}");
}

/// The two readers render some types differently: binary as base64 (python) or hex (evtx),
/// booleans `True`/`true`, FILETIMEs with a space or a `T`, CRLF normalised by XML parsing.
fn same_value(name: &str, theirs: &str, ours: &str) {
    let ours_n = ours.replace("\r\n", "\n");
    if theirs == ours_n || theirs.eq_ignore_ascii_case(&ours_n) {
        return;
    }
    // Hex integers: `0x0000000000000001` (python) and `0x1` (evtx).
    let number = bsod_workbench::eventlog::codes::parse_number;
    if theirs.starts_with("0x") && number(theirs).is_some() && number(theirs) == number(ours) {
        return;
    }
    if let Some(bytes) = base64(theirs)
        && Some(bytes) == try_unhex(ours)
    {
        return;
    }
    if theirs.len() >= 19 && ours.len() >= 19 && theirs.replace(' ', "T")[..19] == ours[..19] {
        return;
    }
    panic!("{name}: python-evtx {theirs:?}, ours {ours:?}");
}

fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[test]
fn many_events_span_several_chunks_with_valid_checksums() {
    let start = t("2026-11-27T08:00:00Z");
    let mut w = EvtxWriter::new();
    for i in 0..3000i64 {
        let time = start.checked_add(jiff_seconds(i)).expect("time");
        w = w.code_integrity_3004(
            time,
            &format!("\\Device\\HarddiskVolume2\\Windows\\System32\\drivers\\drv{i}.sys"),
            PROCESS,
            NtStatus { code: 0xC000_0428 },
            None,
        );
    }
    let bytes = w.to_bytes();
    assert!(bytes.len() > 4096 + 65536 * 3, "several chunks");
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("many.evtx");
    std::fs::write(&p, &bytes).expect("write");
    let log = eventlog::open(&p).expect("open");
    assert!(log.warnings.is_empty(), "{:?}", log.warnings.first());
    assert_eq!(log.events.len(), 3000);
    let ids: Vec<u64> = log.events.iter().map(|e| e.record_id).collect();
    assert_eq!(ids, (1..=3000).collect::<Vec<_>>());
    // The evtx crate's own checksum validation accepts every chunk.
    let mut parser = evtx::EvtxParser::from_path(&p)
        .expect("parser")
        .with_configuration(evtx::ParserSettings::new().validate_checksums(true));
    assert_eq!(parser.records().filter(|r| r.is_ok()).count(), 3000);
}

fn jiff_seconds(i: i64) -> std::time::Duration {
    std::time::Duration::from_secs(i as u64)
}

/// Damaged copies of a written log never panic the reader: each loads (with warnings) or is
/// refused with an error.
#[test]
fn damaged_logs_load_or_fail_without_panicking() {
    let clean = written_log().to_bytes();
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("damaged.evtx");
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    // The interesting bytes: the file header, the chunk header and the records.
    let span = 4096 + 512 + 6000;
    for round in 0..200 {
        let mut bytes = clean.clone();
        for _ in 0..(1 + round % 8) {
            let at = next() % span.min(bytes.len());
            bytes[at] = next() as u8;
        }
        std::fs::write(&p, &bytes).expect("write");
        let _ = eventlog::open(&p);
        let _ = eventlog::open_with(&p, &Selection::all());
    }
    // A truncated log keeps what it can read (the records before the cut; issue 12 item 3:
    // this once asserted that nothing was read) and says where it was cut.
    std::fs::write(&p, &clean[..4096 + 30_000]).expect("write");
    let log = eventlog::open(&p).expect("a cut log loads");
    assert!(!log.events.is_empty());
    assert!(
        log.warnings
            .iter()
            .any(|w| w.message.contains("chunk cut at offset 0x8530")),
        "{:?}",
        log.warnings
    );
}
