//! Hives written by `synth::regf` read back by our reader and by regipy, dirty hives with a
//! written transaction log, and damaged hives that must not panic.

mod common;

use bsod_workbench::registry::{self, FileTime, ValueData};
use bsod_workbench::synth::regf::{
    HiveWriter, KeySpec, RegData, ServiceSpec, mark_dirty, transaction_log,
};
use std::path::Path;

fn filecrypt() -> ServiceSpec {
    ServiceSpec::driver("FileCrypt", 1, 2, 3)
        .image_path("system32\\drivers\\filecrypt.sys")
        .group("FSFilter Encryption")
        .display_name("@%systemroot%\\system32\\drivers\\filecrypt.sys,-100")
        .description("@%systemroot%\\system32\\drivers\\filecrypt.sys,-101")
        .depend_on_service("FltMgr")
        .value("SupportedFeatures", RegData::Dword(7))
        .subkey({
            let mut k = KeySpec::new("Instances");
            k.set("DefaultInstance", RegData::Sz("FileCrypt Instance".into()));
            k
        })
        .last_write(FileTime(132_024_685_203_480_747))
}

/// A SYSTEM hive with the story's drivers, every value type, a name outside Latin-1, data
/// long enough for big-data segments, and enough services to span several hive bins.
fn story_hive() -> HiveWriter {
    let mut w =
        HiveWriter::system()
            .service(filecrypt())
            .service(
                ServiceSpec::driver("BasicDisplay", 3, 1, 0)
                    .image_path("\\SystemRoot\\System32\\drivers\\BasicDisplay.sys")
                    .group("Video")
                    .tag(1),
            )
            .service(
                ServiceSpec::driver("cdrom", 1, 1, 1)
                    .image_path("System32\\drivers\\cdrom.sys")
                    .group("SCSI CDROM Class")
                    .value(
                        "AutoRunAlwaysDisable",
                        RegData::MultiSz(vec![
                            "Brother RemovableDisk(U)".into(),
                            "PLEXTOR CD-R   PX-W1210A".into(),
                        ]),
                    )
                    .value("Blob", RegData::Binary((0..=255).collect()))
                    .value(
                        "Big",
                        RegData::Binary((0..40_000u32).map(|i| (i % 251) as u8).collect()),
                    )
                    .value("Counter", RegData::Qword(0x0123_4567_89AB_CDEF)),
            )
            .service(ServiceSpec::driver("Ω-Driver", 0, 1, 3))
            .service(ServiceSpec::driver("EventLog", 2, 0x20, 1).image_path(
                "%SystemRoot%\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p",
            ));
    for i in 0..300 {
        w = w.service(
            ServiceSpec::driver(format!("drv{i:03}"), 3, 1, 1)
                .image_path(format!("System32\\drivers\\drv{i:03}.sys"))
                .display_name(format!("Driver number {i}")),
        );
    }
    w
}

#[test]
fn our_reader_reads_every_written_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("SYSTEM");
    story_hive().write_to(&path).expect("write");
    let hive = registry::open(&path).expect("open");
    assert!(hive.warnings.is_empty(), "{:?}", hive.warnings);
    assert!(!hive.header.dirty && hive.header.checksum_ok);
    assert_eq!(hive.control_set.key, "ControlSet001");
    assert_eq!(hive.services().len(), 305);
    assert_eq!(hive.computer_name.as_deref(), Some("DESKTOP-BSODWB"));

    let fc = hive.service("FileCrypt").expect("FileCrypt");
    assert_eq!(fc.start.map(|v| v.0), Some(1));
    assert_eq!(fc.service_type.map(|v| v.0), Some(2));
    assert_eq!(fc.error_control.map(|v| v.0), Some(3));
    assert_eq!(
        fc.image_path.as_deref(),
        Some("system32\\drivers\\filecrypt.sys")
    );
    assert_eq!(fc.group.as_deref(), Some("FSFilter Encryption"));
    assert_eq!(
        fc.display_name.as_deref(),
        Some("@%systemroot%\\system32\\drivers\\filecrypt.sys,-100")
    );
    assert_eq!(fc.depend_on_service, vec!["FltMgr".to_string()]);
    assert_eq!(fc.subkeys, vec!["Instances".to_string()]);
    assert_eq!(fc.last_write, FileTime(132_024_685_203_480_747));
    assert_eq!(fc.value("ImagePath").map(|v| v.kind), Some(2));
    assert_eq!(
        fc.value("SupportedFeatures").map(|v| &v.data),
        Some(&ValueData::Dword(7))
    );
    assert!(fc.is_critical_boot_driver());

    let cd = hive.service("cdrom").expect("cdrom");
    assert_eq!(
        cd.value("AutoRunAlwaysDisable").map(|v| &v.data),
        Some(&ValueData::MultiString(vec![
            "Brother RemovableDisk(U)".into(),
            "PLEXTOR CD-R   PX-W1210A".into()
        ]))
    );
    assert_eq!(
        cd.value("Blob").map(|v| &v.data),
        Some(&ValueData::Bytes((0..=255).collect()))
    );
    let big: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(
        cd.value("Big").map(|v| &v.data),
        Some(&ValueData::Bytes(big))
    );
    assert_eq!(
        cd.value("Counter").map(|v| &v.data),
        Some(&ValueData::Qword(0x0123_4567_89AB_CDEF))
    );

    let omega = hive
        .service("ω-driver")
        .or_else(|| hive.service("Ω-Driver"))
        .expect("Ω-Driver");
    assert_eq!(omega.name, "Ω-Driver");
    assert_eq!(
        hive.service("drv299")
            .and_then(|s| s.display_name.as_deref()),
        Some("Driver number 299")
    );
    // A process service has no driver identity; a driver is found by its image.
    assert_eq!(
        hive.service("EventLog").and_then(|s| s.driver.as_ref()),
        None
    );
    let key = bsod_workbench::driver::DriverKey::from_path(
        "C:\\Windows\\System32\\drivers\\BASICDISPLAY.SYS",
    )
    .expect("key");
    assert_eq!(
        hive.service_for_driver(&key).map(|s| s.name.as_str()),
        Some("BasicDisplay")
    );

    assert_eq!(
        hive.service_group_order,
        bsod_workbench::synth::regf::SERVICE_GROUP_ORDER.to_vec()
    );
    let tz = hive.time_zone().expect("tz");
    assert_eq!(tz, &bsod_workbench::synth::regf::pacific_time_zone());
}

const REGIPY_SERVICES: &str = r#"
import json, sys
from regipy.registry import RegistryHive
hive = RegistryHive(sys.argv[1])
current = hive.get_key('\\Select').get_value('Current')
out = {}
for sk in hive.get_key('\\ControlSet%03d\\Services' % current).iter_subkeys():
    vals = {}
    for v in sk.iter_values(trim_values=False):
        val = v.value
        if isinstance(val, bytes):
            val = val.hex()
        vals[v.name] = [v.value_type, val]
    out[sk.name] = {'values': vals, 'subkeys': [k.name for k in sk.iter_subkeys()]}
tz = {v.name: v.value for v in hive.get_key('\\ControlSet%03d\\Control\\TimeZoneInformation' % current).iter_values()}
print(json.dumps({'current': current, 'services': out, 'tz': tz}))
"#;

fn regipy_json(script: &str, path: &Path) -> serde_json::Value {
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json")
}

#[test]
fn regipy_reads_the_written_hive() {
    if !common::python_oracle("regipy") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("SYSTEM");
    story_hive().write_to(&path).expect("write");
    let ours = registry::open(&path).expect("open");
    let theirs = regipy_json(REGIPY_SERVICES, &path);
    assert_eq!(theirs["current"].as_u64(), Some(1));
    let services = theirs["services"].as_object().expect("services");
    assert_eq!(services.len(), ours.services().len());
    for s in ours.services() {
        let t = &services[&s.name];
        assert_eq!(
            t["subkeys"].as_array().map(Vec::len),
            Some(s.subkeys.len()),
            "{}",
            s.name
        );
        let values = t["values"].as_object().expect("values");
        assert_eq!(values.len(), s.values.len(), "{}", s.name);
        for v in &s.values {
            let tv = &values[&v.name];
            assert_eq!(tv[0].as_str(), v.kind_name(), "{} {}", s.name, v.name);
            let same = match &v.data {
                ValueData::Dword(d) => tv[1].as_u64() == Some(u64::from(*d)),
                ValueData::Qword(q) => tv[1].as_u64() == Some(*q),
                ValueData::String(x) => tv[1].as_str() == Some(x.as_str()),
                ValueData::MultiString(list) => tv[1].as_array().is_some_and(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .filter(|x| !x.is_empty())
                        .eq(list.iter().map(String::as_str))
                }),
                ValueData::Bytes(b) => {
                    tv[1].as_str() == Some(bsod_workbench::registry::hex(b).as_str())
                }
            };
            assert!(
                same,
                "{} {}: ours {:?}, regipy {}",
                s.name, v.name, v.data, tv[1]
            );
        }
    }
    assert_eq!(
        theirs["services"]["FileCrypt"]["values"]["ErrorControl"][1].as_u64(),
        Some(3)
    );
    assert_eq!(
        theirs["tz"]["TimeZoneKeyName"].as_str(),
        Some("Pacific Standard Time")
    );
    assert_eq!(theirs["tz"]["Bias"].as_u64(), Some(480));
}

/// FileCrypt as the crashed machine had it (demand start) and as the pending write left it
/// (system start, critical): same layout, so the log holds only the changed page.
fn before_and_after() -> (Vec<u8>, Vec<u8>) {
    let mut before_spec = filecrypt();
    before_spec.start = 3;
    before_spec.error_control = 1;
    let before = story_hive().service(before_spec).to_bytes();
    let after = story_hive().to_bytes();
    assert_eq!(before.len(), after.len());
    (before, after)
}

#[test]
fn a_dirty_hive_is_recovered_from_its_log() {
    let (mut primary, after) = before_and_after();
    let log = transaction_log(&primary, &after);
    mark_dirty(&mut primary);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("SYSTEM");
    std::fs::write(&path, &primary).expect("write");

    // Without the log: read as is, with a warning, and the old values.
    let as_is = registry::open(&path).expect("open");
    assert!(as_is.header.dirty);
    assert!(
        as_is.warnings.iter().any(|w| w.says("dirty")),
        "{:?}",
        as_is.warnings
    );
    assert_eq!(
        as_is
            .service("FileCrypt")
            .and_then(|s| s.start)
            .map(|s| s.0),
        Some(3)
    );

    // With SYSTEM.LOG1 beside it: replayed.
    std::fs::write(dir.path().join("SYSTEM.LOG1"), &log).expect("write log");
    let hive = registry::open(&path).expect("open");
    assert_eq!(hive.logs_applied, vec![dir.path().join("SYSTEM.LOG1")]);
    let fc = hive.service("FileCrypt").expect("FileCrypt");
    assert_eq!(fc.start.map(|s| s.0), Some(1));
    assert_eq!(fc.error_control.map(|s| s.0), Some(3));
    assert!(
        hive.warnings.iter().any(|w| w.says("recovered")),
        "{:?}",
        hive.warnings
    );

    // A log whose entry was damaged fails its hash and is not applied.
    let mut bad = log.clone();
    let last = bad.len() - 600;
    bad[last] ^= 0xFF;
    std::fs::write(dir.path().join("SYSTEM.LOG1"), &bad).expect("write log");
    let hive = registry::open(&path).expect("open");
    assert!(hive.logs_applied.is_empty());
    assert!(
        hive.warnings.iter().any(|w| w.says("Marvin32")),
        "{:?}",
        hive.warnings
    );
    assert_eq!(
        hive.service("FileCrypt").and_then(|s| s.start).map(|s| s.0),
        Some(3)
    );
}

const REGIPY_RECOVER: &str = r#"
import json, sys
from regipy.recovery import apply_transaction_logs
from regipy.registry import RegistryHive
restored, pages = apply_transaction_logs(sys.argv[1], sys.argv[1] + '.LOG1', restored_hive_path=sys.argv[1] + '.restored')
fc = RegistryHive(restored).get_key('\\ControlSet001\\Services\\FileCrypt')
print(json.dumps({'pages': pages, 'values': {v.name: v.value for v in fc.iter_values() if isinstance(v.value, int)}}))
"#;

#[test]
fn regipy_replays_the_written_log_the_same_way() {
    if !common::python_oracle("regipy") {
        return;
    }
    let (mut primary, after) = before_and_after();
    let log = transaction_log(&primary, &after);
    mark_dirty(&mut primary);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("SYSTEM");
    std::fs::write(&path, &primary).expect("write");
    std::fs::write(dir.path().join("SYSTEM.LOG1"), &log).expect("write log");
    let theirs = regipy_json(REGIPY_RECOVER, &path);
    assert!(theirs["pages"].as_u64().is_some_and(|p| p >= 1), "{theirs}");
    let ours = registry::open(&path).expect("open");
    let fc = ours.service("FileCrypt").expect("FileCrypt");
    for name in ["Start", "Type", "ErrorControl", "SupportedFeatures"] {
        assert_eq!(
            theirs["values"][name].as_u64(),
            fc.value(name)
                .and_then(|v| v.data.as_dword())
                .map(u64::from),
            "{name}"
        );
    }
    assert_eq!(theirs["values"]["Start"].as_u64(), Some(1));
}

#[test]
fn damaged_hives_give_errors_or_warnings_never_panics() {
    let good = story_hive().to_bytes();
    let name = Path::new("damaged/SYSTEM");
    // Not a hive, and a truncated base block: errors naming the file and offset.
    let err = registry::from_bytes(b"MZ\x90\0 this is not a hive", name).expect_err("not a hive");
    assert!(
        err.to_string().contains("damaged/SYSTEM") && err.to_string().contains("offset"),
        "{err}"
    );
    let err = registry::from_bytes(&good[..8000], name).map(|h| h.warnings);
    assert!(err.is_err() || err.is_ok_and(|w| !w.is_empty()));
    // Random corruption of the hive bins: whatever happens, no panic.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..300 {
        let mut bytes = good.clone();
        for _ in 0..16 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = 4096 + (state as usize) % (bytes.len() - 4096);
            bytes[at] = (state >> 32) as u8;
        }
        if let Ok(hive) = registry::from_bytes(&bytes, name) {
            assert!(hive.services().len() <= 305);
        }
    }
}

/// An old-format (Windows 8 and earlier) log, built here by the format's description: a base
/// block, "DIRT" at 512, one bit per 512-byte sector of the hive bins, then the dirty sectors
/// from the next 512-byte boundary.
fn dirt_log(before: &[u8], after: &[u8]) -> Vec<u8> {
    let mut log = after[..512].to_vec();
    let sum = bsod_workbench::registry::regf::checksum(&log);
    log[0x1FC..0x200].copy_from_slice(&sum.to_le_bytes());
    let sectors = (after.len() - 4096) / 512;
    let mut bitmap = vec![0u8; sectors.div_ceil(8)];
    let mut data = Vec::new();
    for i in 0..sectors {
        let range = 4096 + i * 512..4096 + (i + 1) * 512;
        if before.get(range.clone()) != after.get(range.clone()) {
            bitmap[i / 8] |= 1 << (i % 8);
            data.extend_from_slice(&after[range]);
        }
    }
    log.extend_from_slice(b"DIRT");
    log.extend_from_slice(&bitmap);
    log.resize(log.len().next_multiple_of(512), 0);
    log.extend_from_slice(&data);
    log
}

#[test]
fn an_old_format_dirt_log_is_replayed() {
    let (mut primary, after) = before_and_after();
    let log = dirt_log(&primary, &after);
    mark_dirty(&mut primary);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("SYSTEM");
    std::fs::write(&path, &primary).expect("write");
    std::fs::write(dir.path().join("system.log"), &log).expect("write log");
    let hive = registry::open(&path).expect("open");
    assert_eq!(hive.logs_applied, vec![dir.path().join("system.log")]);
    let fc = hive.service("FileCrypt").expect("FileCrypt");
    assert_eq!(fc.start.map(|s| s.0), Some(1));
    assert_eq!(fc.error_control.map(|s| s.0), Some(3));
    assert!(
        hive.warnings.iter().any(|w| w.says("dirty sectors")),
        "{:?}",
        hive.warnings
    );
}
