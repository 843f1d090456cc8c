//! Dirty hives with transaction logs as Windows 8.1+ and Windows XP-8 leave them, written by
//! `synth::regf`, replayed as the regf specification and yarp do (log entries numbered later
//! than the primary's secondary sequence number, dual logs, an invalid primary base block,
//! old-format logs), checked against regipy's `apply_transaction_logs`; logs that are FIFOs,
//! devices or huge sparse files; values of unusual types; truncated, non-SYSTEM hives and
//! transaction logs given as the hive.

mod common;

use bsod_workbench::registry::{self, HiveError, ValueData, log::LogFormat};
use bsod_workbench::synth::regf::{
    HiveWriter, KeySpec, RegData, ServiceSpec, mark_dirty, new_format_log, old_format_log,
    transaction_log, write_dirty_with_dual_logs,
};
use std::path::Path;

fn filecrypt(start: u32, error_control: u32) -> ServiceSpec {
    ServiceSpec::driver("FileCrypt", start, 2, error_control)
        .image_path("system32\\drivers\\filecrypt.sys")
        .group("FSFilter Encryption")
        .display_name("@%systemroot%\\system32\\drivers\\filecrypt.sys,-100")
}

fn base_writer() -> HiveWriter {
    let mut w = HiveWriter::system();
    for i in 0..60 {
        w = w.service(
            ServiceSpec::driver(format!("drv{i:03}"), 3, 1, 1)
                .image_path(format!("System32\\drivers\\drv{i:03}.sys")),
        );
    }
    w
}

/// Four states of the hive: without FileCrypt; FileCrypt added (demand start); FileCrypt made
/// a critical system-start driver; drv005 disabled.
fn states() -> Vec<Vec<u8>> {
    vec![
        base_writer().to_bytes(),
        base_writer().service(filecrypt(3, 1)).to_bytes(),
        base_writer().service(filecrypt(1, 3)).to_bytes(),
        base_writer()
            .service(filecrypt(1, 3))
            .service(
                ServiceSpec::driver("drv005", 4, 1, 1).image_path("System32\\drivers\\drv005.sys"),
            )
            .to_bytes(),
    ]
}

fn start_of(hive: &registry::SystemHive, name: &str) -> Option<u32> {
    hive.service(name).and_then(|s| s.start).map(|s| s.0)
}

#[test]
fn later_sequence_dual_logs_are_replayed_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Primary 4317/4316; .LOG2 holds entries 4318 and 4319, .LOG1 continues with 4320.
    write_dirty_with_dual_logs(dir.path(), &states(), 4316, 2, 2).expect("write");
    let path = dir.path().join("SYSTEM");
    let hive = registry::open(&path).expect("open");
    assert!(hive.header.dirty);
    assert_eq!(
        (hive.header.primary_sequence, hive.header.secondary_sequence),
        (4317, 4316)
    );
    let fc = hive
        .service("FileCrypt")
        .expect("FileCrypt recovered from the logs");
    assert_eq!(fc.start.map(|s| s.0), Some(1));
    assert_eq!(fc.error_control.map(|s| s.0), Some(3));
    assert_eq!(start_of(&hive, "drv005"), Some(4));
    let r = hive.recovery.as_ref().expect("recovery report");
    assert_eq!(r.sequence, Some(4320));
    let log1 = &r.logs[0];
    let log2 = &r.logs[1];
    assert!(log1.path.ends_with("SYSTEM.LOG1") && log2.path.ends_with("SYSTEM.LOG2"));
    assert_eq!(log2.sequences, Some((4318, 4319)), "{r:?}");
    assert_eq!(log1.sequences, Some((4320, 4320)), "{r:?}");
    assert_eq!(log1.format, Some(LogFormat::New));
    assert!(log1.applied && log2.applied);
    assert!(r.dirty_pages >= 3 && r.dirty_pages == log1.dirty_pages + log2.dirty_pages);
    assert_eq!(
        hive.logs_applied,
        vec![
            dir.path().join("SYSTEM.LOG2"),
            dir.path().join("SYSTEM.LOG1")
        ],
        "in the order applied"
    );
    let warning = bsod_workbench::warning::lines(&hive.warnings);
    assert!(
        warning.contains("4317 and 4316") && warning.contains("dirty pages"),
        "{warning}"
    );

    // The CLI says the same: dirty pages, sequence numbers, which logs.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["hive", "--service", "FileCrypt"])
        .arg(&path)
        .output()
        .expect("bsodwb runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("now at sequence 4320") && text.contains("SYSTEM.LOG2 + SYSTEM.LOG1"),
        "{text}"
    );
    assert!(
        text.contains("sequence 4318..=4319") && text.contains("FileCrypt!"),
        "{text}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["hive", "--format", "json", "--service", "FileCrypt"])
        .arg(&path)
        .output()
        .expect("bsodwb runs");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["recovery"]["sequence"], 4320);
    assert_eq!(
        doc["recovery"]["logs"][1]["sequences"],
        serde_json::json!([4318, 4319])
    );
    assert!(
        doc["recovery"]["dirty_pages"]
            .as_u64()
            .is_some_and(|n| n >= 3)
    );
}

#[test]
fn a_log_that_does_not_continue_the_sequence_is_named_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = states();
    write_dirty_with_dual_logs(dir.path(), &s, 100, 1, 2).expect("write");
    // Rewrite .LOG1 to start at 104 where 103 would continue .LOG2's 101..=102.
    let primary = std::fs::read(dir.path().join("SYSTEM")).expect("read");
    std::fs::write(
        dir.path().join("SYSTEM.LOG1"),
        new_format_log(&primary, 104, &[(&s[2], &s[3])]),
    )
    .expect("write");
    let hive = registry::open(dir.path().join("SYSTEM")).expect("open");
    let r = hive.recovery.as_ref().expect("recovery");
    assert!(r.logs[1].applied, "{r:?}");
    assert!(!r.logs[0].applied);
    let why = r.logs[0].note.as_deref().unwrap_or("");
    assert!(why.contains("104") && why.contains("102"), "{why}");
    assert_eq!(start_of(&hive, "FileCrypt"), Some(1));
    assert_eq!(
        start_of(&hive, "drv005"),
        Some(3),
        "the change only .LOG1 holds is not applied"
    );

    // A log older than the primary's secondary sequence number: already in the primary.
    std::fs::remove_file(dir.path().join("SYSTEM.LOG2")).expect("rm");
    std::fs::write(
        dir.path().join("SYSTEM.LOG1"),
        new_format_log(&primary, 90, &[(&s[0], &s[1])]),
    )
    .expect("write");
    let hive = registry::open(dir.path().join("SYSTEM")).expect("open");
    let r = hive.recovery.as_ref().expect("recovery");
    let why = r.logs[0].note.as_deref().unwrap_or("");
    assert!(
        !r.logs[0].applied && why.contains("90") && why.contains("100"),
        "{why}"
    );
    assert!(hive.service("FileCrypt").is_none());
    assert!(hive.warnings.iter().any(|w| w.says("read as is")));
}

#[test]
fn an_invalid_primary_base_block_is_recovered_from_the_latest_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = states();
    // One step per log: .LOG2 (earlier) 0 -> 2, .LOG1 (later) 2 -> 3, and .LOG1 alone also
    // carries every page of 0 -> 3 so the latest log suffices.
    write_dirty_with_dual_logs(dir.path(), &[s[0].clone(), s[2].clone()], 7, 1, 1).expect("write");
    let mut primary = std::fs::read(dir.path().join("SYSTEM")).expect("read");
    std::fs::write(
        dir.path().join("SYSTEM.LOG1"),
        new_format_log(&primary, 9, &[(&s[0], &s[3])]),
    )
    .expect("write");
    primary[0x1FC] ^= 0x55; // checksum wrong
    primary[0x24] ^= 0xFF; // and a damaged root cell offset that only the log's base block fixes
    std::fs::write(dir.path().join("SYSTEM"), &primary).expect("write");
    let hive = registry::open(dir.path().join("SYSTEM")).expect("open");
    assert!(!hive.header.checksum_ok);
    let r = hive.recovery.as_ref().expect("recovery");
    assert!(r.logs[0].applied && !r.logs[1].applied, "{r:?}");
    assert!(
        r.logs[1]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("invalid")),
        "{r:?}"
    );
    assert_eq!(start_of(&hive, "FileCrypt"), Some(1));
    assert_eq!(start_of(&hive, "drv005"), Some(4));
    assert!(hive.warnings.iter().any(|w| w.says("checksum is wrong")));
}

#[test]
fn a_log_that_grows_the_hive_bins_is_applied_in_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let small = base_writer().to_bytes();
    let mut big = base_writer();
    for i in 0..200 {
        big = big.service(ServiceSpec::driver(format!("new{i:03}"), 3, 1, 1));
    }
    let big = big.service(filecrypt(1, 3)).to_bytes();
    assert!(big.len() > small.len() + 8192);
    let mut primary = small.clone();
    mark_dirty(&mut primary);
    std::fs::write(dir.path().join("SYSTEM"), &primary).expect("write");
    std::fs::write(
        dir.path().join("SYSTEM.LOG1"),
        transaction_log(&small, &big),
    )
    .expect("write");
    let hive = registry::open(dir.path().join("SYSTEM")).expect("open");
    let r = hive.recovery.as_ref().expect("recovery");
    assert_eq!(r.hbins_after as usize, big.len() - 4096, "{r:?}");
    assert_eq!(hive.services().len(), 60 + 200 + 1);
    assert_eq!(start_of(&hive, "FileCrypt"), Some(1));
}

#[test]
fn an_old_format_log_applies_when_not_older_than_the_primary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = states();
    let mut primary = s[0].clone();
    mark_dirty(&mut primary);
    std::fs::write(dir.path().join("SYSTEM"), &primary).expect("write");
    std::fs::write(dir.path().join("SYSTEM.LOG1"), old_format_log(&s[0], &s[2])).expect("write");
    let hive = registry::open(dir.path().join("SYSTEM")).expect("open");
    let r = hive.recovery.as_ref().expect("recovery");
    assert_eq!(r.logs[0].format, Some(LogFormat::Old));
    assert!(r.logs[0].applied && r.logs[0].dirty_pages > 0, "{r:?}");
    assert_eq!(start_of(&hive, "FileCrypt"), Some(1));

    // The same log written before the primary's last write: it holds an older write.
    let older = HiveWriter {
        last_written: registry::FileTime(hive.header.last_written.0 - 10_000_000),
        ..base_writer().service(filecrypt(1, 3))
    }
    .to_bytes();
    std::fs::write(
        dir.path().join("SYSTEM.LOG1"),
        old_format_log(&s[0], &older),
    )
    .expect("write");
    let hive = registry::open(dir.path().join("SYSTEM")).expect("open");
    let r = hive.recovery.as_ref().expect("recovery");
    assert!(!r.logs[0].applied);
    assert!(
        r.logs[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("older")),
        "{r:?}"
    );
    assert!(hive.service("FileCrypt").is_none());
}

const REGIPY_DUAL: &str = r#"
import json, sys
from regipy.recovery import apply_transaction_logs
from regipy.registry import RegistryHive
h = sys.argv[1]
restored, pages = apply_transaction_logs(h, h + '.LOG1', secondary_log_path=h + '.LOG2', restored_hive_path=h + '.restored')
hive = RegistryHive(restored)
out = {}
for sk in hive.get_key('\\ControlSet001\\Services').iter_subkeys():
    out[sk.name] = {v.name: v.value for v in sk.iter_values() if isinstance(v.value, int)}
print(json.dumps({'pages': pages, 'services': out}))
"#;

#[test]
fn regipy_recovers_the_same_services_from_the_dual_logs() {
    if !common::python_oracle("regipy") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write_dirty_with_dual_logs(dir.path(), &states(), 4316, 2, 2).expect("write");
    let path = dir.path().join("SYSTEM");
    let output = std::process::Command::new("python3")
        .args(["-c", REGIPY_DUAL])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let ours = registry::open(&path).expect("open");
    let services = theirs["services"].as_object().expect("services");
    assert_eq!(services.len(), ours.services().len());
    for s in ours.services() {
        let t = &services[&s.name];
        for name in ["Start", "Type", "ErrorControl"] {
            assert_eq!(
                t[name].as_u64(),
                s.value(name).and_then(|v| v.data.as_dword()).map(u64::from),
                "{} {name}",
                s.name
            );
        }
    }
    assert_eq!(services["FileCrypt"]["Start"], 1);
    assert_eq!(
        theirs["pages"].as_u64(),
        ours.recovery.as_ref().map(|r| u64::from(r.dirty_pages))
    );
}

#[cfg(unix)]
#[test]
fn logs_that_are_not_regular_files_or_are_huge_never_hang_or_flood_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = states();
    let mut primary = s[0].clone();
    mark_dirty(&mut primary);
    let path = dir.path().join("SYSTEM");
    std::fs::write(&path, &primary).expect("write");
    let fifo = dir.path().join("SYSTEM.LOG1");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let hive = registry::open(&path).expect("open");
        let note = hive
            .recovery
            .as_ref()
            .and_then(|r| r.logs[0].note.clone())
            .unwrap_or_default();
        assert!(
            note.contains("not a regular file") && note.contains("FIFO"),
            "{note}"
        );
        std::fs::remove_file(&fifo).expect("rm");
    }
    std::os::unix::fs::symlink("/dev/zero", &fifo).expect("symlink");
    let hive = registry::open(&path).expect("open");
    let note = hive
        .recovery
        .as_ref()
        .and_then(|r| r.logs[0].note.clone())
        .unwrap_or_default();
    assert!(note.contains("character device"), "{note}");
    std::fs::remove_file(&fifo).expect("rm");

    // A real log followed by a 4 GiB sparse tail: read only up to the bound.
    std::fs::write(&fifo, transaction_log(&s[0], &s[2])).expect("write");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open");
    f.set_len(4 << 30).expect("sparse");
    drop(f);
    let hive = registry::open(&path).expect("open");
    let r = hive.recovery.as_ref().expect("recovery");
    assert!(r.logs[0].applied, "{r:?}");
    let note = r.logs[0].note.clone().unwrap_or_default();
    assert!(note.contains("4294967296 bytes"), "{note}");
    assert_eq!(start_of(&hive, "FileCrypt"), Some(1));
}

#[test]
fn values_of_unusual_types_read_as_reg_query_shows_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let utf16: Vec<u8> = "FSFilter Encryption\0"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let odd = ServiceSpec::driver("Odd", 0, 1, 3)
        .value(
            "ImagePath",
            RegData::Sz("system32\\drivers\\odd.sys".into()),
        )
        .value("DisplayName", RegData::MultiSz(vec!["Odd Driver".into()]))
        .value("Group", RegData::Binary(utf16.clone()))
        .value("Tag", RegData::Qword(5))
        .value(
            "Description",
            RegData::MultiSz(vec!["one".into(), "two".into()]),
        );
    let mut odd_start = ServiceSpec::driver("OddStart", 0, 1, 1);
    odd_start.start = 0;
    let odd_start = odd_start.value("Start", RegData::Binary(vec![1, 0, 0, 0]));
    let path = dir.path().join("SYSTEM");
    HiveWriter::system()
        .service(odd)
        .service(odd_start)
        .write_to(&path)
        .expect("write");
    let hive = registry::open(&path).expect("open");
    let s = hive.service("Odd").expect("Odd");
    assert_eq!(s.image_path.as_deref(), Some("system32\\drivers\\odd.sys"));
    assert_eq!(s.display_name.as_deref(), Some("Odd Driver"));
    assert_eq!(s.description.as_deref(), Some("one\\0two"));
    assert_eq!(
        s.group.as_deref(),
        Some(ValueData::Bytes(utf16).reg_query_text().as_str())
    );
    assert_eq!(s.tag, Some(5));
    assert!(s.driver.is_some());
    assert_eq!(start_of(&hive, "OddStart"), Some(1));
    let w = bsod_workbench::warning::lines(&hive.warnings);
    assert!(
        w.contains("Odd: Group is REG_BINARY") && w.contains("OddStart: Start is REG_BINARY"),
        "{w}"
    );
}

#[test]
fn a_transaction_log_given_as_the_hive_says_what_it_is() {
    let s = states();
    let log = transaction_log(&s[0], &s[1]);
    let err = registry::from_bytes(&log, Path::new("case/SYSTEM.LOG1")).expect_err("a log");
    assert!(matches!(err, HiveError::TransactionLog { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("transaction log") && msg.contains("\"SYSTEM\"") && msg.contains("HvLE"),
        "{msg}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("SYSTEM.LOG1");
    std::fs::write(&path, old_format_log(&s[0], &s[1])).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .arg("hive")
        .arg(&path)
        .output()
        .expect("bsodwb runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("transaction log (file type 1, old format") && err.contains("SYSTEM"),
        "{err}"
    );
}

#[test]
fn a_truncated_hive_says_where_and_gives_what_it_read() {
    let mut w = HiveWriter::system();
    for i in 0..300 {
        w = w.service(ServiceSpec::driver(format!("drv{i:03}"), 3, 1, 1));
    }
    let full = w.to_bytes();
    let stated = full.len();
    // Cut near the end: the key tree's lists are written last, so the root's subkeys are gone,
    // but the service keys in the whole bins are counted and named.
    let cut = stated - 8192;
    let err = registry::from_bytes(&full[..cut], Path::new("case/SYSTEM")).expect_err("cut");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "truncated at offset {cut:#x}, the header says {stated:#x}"
        )),
        "{msg}"
    );
    assert!(msg.contains("service keys (drv000, drv001"), "{msg}");
    // Cut early: an error that still says where, what the header says and what was read.
    let err = registry::from_bytes(&full[..4096 + 4096], Path::new("case/SYSTEM"))
        .expect_err("too short");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "truncated at offset {:#x}, the header says {stated:#x}",
            8192
        )),
        "{msg}"
    );
    assert!(!msg.contains("not a SYSTEM hive"), "{msg}");
}

#[test]
fn a_hive_that_is_not_system_says_which_it_is() {
    let mut software = HiveWriter::new().file_name("\\??\\C:\\Windows\\System32\\Config\\SOFTWARE");
    software.key("Microsoft\\Windows NT\\CurrentVersion");
    software.key("Classes");
    let err = registry::from_bytes(&software.to_bytes(), Path::new("case/SOFTWARE"))
        .expect_err("not SYSTEM");
    assert!(err.to_string().contains("it is the SOFTWARE hive"), "{err}");

    // No usable file name: the root keys tell.
    let mut bcd = HiveWriter::new().file_name("");
    bcd.key("Description");
    bcd.key("Objects");
    let err = registry::from_bytes(&bcd.to_bytes(), Path::new("case/BCD")).expect_err("BCD");
    assert!(err.to_string().contains("BCD store"), "{err}");
    let mut user = HiveWriter::new().file_name("");
    *user.key("Control Panel") = KeySpec::new("Control Panel");
    user.key("Environment");
    user.key("Software");
    let err =
        registry::from_bytes(&user.to_bytes(), Path::new("case/NTUSER.DAT")).expect_err("user");
    assert!(err.to_string().contains("NTUSER.DAT"), "{err}");
}

const REGIPY_SINGLE: &str = r#"
import json, sys
from regipy.recovery import apply_transaction_logs
from regipy.registry import RegistryHive
h = sys.argv[1]
restored, pages = apply_transaction_logs(h, h + '.LOG1', restored_hive_path=h + '.restored')
hive = RegistryHive(restored)
fc = hive.get_key('\\ControlSet001\\Services\\FileCrypt')
print(json.dumps({'pages': pages, 'values': {v.name: v.value for v in fc.iter_values() if isinstance(v.value, int)}}))
"#;

#[test]
fn regipy_replays_the_old_format_log_the_same_way() {
    if !common::python_oracle("regipy") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let s = states();
    let mut primary = s[1].clone();
    mark_dirty(&mut primary);
    let path = dir.path().join("SYSTEM");
    std::fs::write(&path, &primary).expect("write");
    std::fs::write(dir.path().join("SYSTEM.LOG1"), old_format_log(&s[1], &s[2])).expect("write");
    let output = std::process::Command::new("python3")
        .args(["-c", REGIPY_SINGLE])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let ours = registry::open(&path).expect("open");
    let fc = ours.service("FileCrypt").expect("FileCrypt");
    for name in ["Start", "Type", "ErrorControl"] {
        assert_eq!(
            theirs["values"][name].as_u64(),
            fc.value(name)
                .and_then(|v| v.data.as_dword())
                .map(u64::from),
            "{name}"
        );
    }
    assert_eq!(theirs["values"]["Start"], 1);
    // regipy counts 512-byte sectors for old-format logs, as we do.
    assert_eq!(
        theirs["pages"].as_u64(),
        ours.recovery.as_ref().map(|r| u64::from(r.dirty_pages))
    );
}

/// The real Windows 10 1709 SYSTEM hive (regipy's test data), cut short as a partial copy
/// leaves it: the cut is named and every service in the whole bins is still read.
#[test]
fn the_real_hive_cut_short_still_gives_its_services() {
    let xz = sample_or_skip!("regipy/SYSTEM_WIN_10_1709.xz");
    let mut input = std::io::BufReader::new(std::fs::File::open(&xz).expect("open"));
    let mut hive = Vec::new();
    lzma_rs::xz_decompress(&mut input, &mut hive).expect("xz");
    assert_eq!(hive.len(), 15_466_496);
    let name = Path::new("case/SYSTEM");
    let cut = 6_000_000;
    let read = registry::from_bytes(&hive[..cut], name).expect("a cut hive still reads");
    let w = bsod_workbench::warning::lines(&read.warnings);
    assert!(
        w.contains("truncated at offset 0x5b8d80, the header says 0xe54000"),
        "{w}"
    );
    // SOURCE.txt: 737 services under ControlSet001\Services, FileCrypt among them.
    assert_eq!(read.services().len(), 737);
    let fc = read.service("FileCrypt").expect("FileCrypt");
    assert_eq!(fc.start.map(|s| s.0), Some(1));
    assert_eq!(fc.group.as_deref(), Some("FSFilter Encryption"));
    // Cut before the services: no service, and the warning counts what the bins hold.
    let read = registry::from_bytes(&hive[..3_000_000], name).expect("reads");
    assert!(read.services().is_empty());
    assert!(
        read.warnings
            .iter()
            .any(|w| w.says("truncated at offset 0x2dc6c0") && w.says("keys and")),
        "{:?}",
        read.warnings
    );
}

/// Damaged logs (random bytes changed in the base blocks, entry headers and pages, or cut
/// anywhere) never panic: each open gives a hive with every log named, or an error.
#[test]
fn damaged_logs_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_dirty_with_dual_logs(dir.path(), &states(), 4316, 2, 2).expect("write");
    let log1 = std::fs::read(dir.path().join("SYSTEM.LOG1")).expect("read");
    let log2 = std::fs::read(dir.path().join("SYSTEM.LOG2")).expect("read");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..120 {
        let (mut a, mut b) = (log1.clone(), log2.clone());
        for target in [&mut a, &mut b] {
            match round % 3 {
                0 => {
                    // The interesting bytes: base block fields and the first entry header.
                    for _ in 0..4 {
                        let at = (next() as usize) % 600;
                        target[at] = next() as u8;
                    }
                }
                1 => {
                    let at = (next() as usize) % target.len();
                    target[at] ^= 0xFF;
                }
                _ => {
                    let len = (next() as usize) % target.len();
                    target.truncate(len);
                }
            }
        }
        std::fs::write(dir.path().join("SYSTEM.LOG1"), &a).expect("write");
        std::fs::write(dir.path().join("SYSTEM.LOG2"), &b).expect("write");
        if let Ok(hive) = registry::open(dir.path().join("SYSTEM")) {
            let r = hive.recovery.expect("dirty: a recovery report");
            assert_eq!(r.logs.len(), 2);
            assert!(
                r.logs.iter().all(|l| l.applied || l.note.is_some()),
                "{r:?}"
            );
        }
    }
}
