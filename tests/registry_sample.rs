//! The real, dirty Windows 10 1709 SYSTEM hive from regipy's test data
//! (`regipy/SYSTEM_WIN_10_1709.xz`; its values are listed in the sample's SOURCE.txt), read by
//! our reader and checked against regipy itself.

mod common;

use bsod_workbench::driver::DriverKey;
use bsod_workbench::registry::{self, FileTime, SystemHive, days_from_civil};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Decompress the sample once per build (into Cargo's per-target scratch folder), never into
/// the repository.
fn decompressed(xz: &Path) -> PathBuf {
    static DONE: OnceLock<PathBuf> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("regipy-sample");
        let out = dir.join("SYSTEM");
        if std::fs::metadata(&out).map(|m| m.len()).ok() != Some(15_466_496) {
            std::fs::create_dir_all(&dir).expect("scratch dir");
            let mut input = std::io::BufReader::new(std::fs::File::open(xz).expect("open xz"));
            let mut bytes = Vec::new();
            lzma_rs::xz_decompress(&mut input, &mut bytes).expect("xz");
            let tmp = dir.join("SYSTEM.partial");
            std::fs::write(&tmp, &bytes).expect("write");
            std::fs::rename(&tmp, &out).expect("rename");
        }
        out
    })
    .clone()
}

fn sample_hive() -> Option<(PathBuf, SystemHive)> {
    let xz = common::sample("regipy/SYSTEM_WIN_10_1709.xz")?;
    let path = decompressed(&xz);
    let hive = registry::open(&path).expect("the sample hive opens");
    Some((path, hive))
}

#[test]
fn filecrypt_is_a_critical_system_start_filter() {
    let Some((_, hive)) = sample_hive() else {
        return;
    };
    let fc = hive.service("FileCrypt").expect("FileCrypt service");
    assert_eq!(fc.start.map(|s| s.0), Some(1));
    assert_eq!(fc.start.and_then(|s| s.name()), Some("system"));
    assert_eq!(fc.service_type.map(|t| t.0), Some(2));
    assert_eq!(
        fc.service_type.and_then(|t| t.name()),
        Some("file-system driver")
    );
    assert_eq!(fc.error_control.map(|e| e.0), Some(3));
    assert_eq!(fc.error_control.and_then(|e| e.name()), Some("critical"));
    assert_eq!(
        fc.image_path.as_deref(),
        Some("system32\\drivers\\filecrypt.sys")
    );
    assert_eq!(fc.group.as_deref(), Some("FSFilter Encryption"));
    assert_eq!(fc.depend_on_service, vec!["FltMgr".to_string()]);
    assert_eq!(fc.subkeys, vec!["Instances".to_string()]);
    assert!(fc.is_critical_boot_driver());
    // Boot load order: FSFilter Encryption is the 19th group of ServiceGroupOrder\List.
    assert_eq!(hive.service_group_order.len(), 70);
    assert_eq!(hive.load_order(fc).0, 1);
    assert_eq!(hive.load_order(fc).1, 18);
    // Case-insensitive lookup and the driver identity agree.
    let key = DriverKey::from_path("\\SystemRoot\\System32\\drivers\\FileCrypt.sys").expect("key");
    assert_eq!(
        hive.service_for_driver(&key).map(|s| s.name.as_str()),
        Some("FileCrypt")
    );
    assert_eq!(
        hive.service("filecrypt").map(|s| s.name.as_str()),
        Some("FileCrypt")
    );
}

#[test]
fn control_set_and_counts_match_the_source_notes() {
    let Some((_, hive)) = sample_hive() else {
        return;
    };
    let cs = &hive.control_set;
    assert_eq!(
        (cs.current, cs.default, cs.failed, cs.last_known_good),
        (1, Some(1), Some(0), Some(1))
    );
    assert_eq!(cs.key, "ControlSet001");
    assert_eq!(hive.services().len(), 737);
    let disabled = hive
        .services()
        .iter()
        .filter(|s| s.start.map(|v| v.0) == Some(4))
        .count();
    assert_eq!(disabled, 15);
    // The sample is dirty and has no logs beside it: read as is, with a warning.
    assert!(hive.header.dirty);
    assert_eq!(
        (hive.header.primary_sequence, hive.header.secondary_sequence),
        (4317, 4316)
    );
    assert!(hive.logs_applied.is_empty());
    assert!(
        hive.warnings
            .iter()
            .any(|w| w.says("dirty") && w.says("no transaction log")),
        "{:?}",
        hive.warnings
    );
}

#[test]
fn time_zone_is_pacific_with_its_us_rules() {
    let Some((_, hive)) = sample_hive() else {
        return;
    };
    let tz = hive.time_zone().expect("time zone");
    assert_eq!(tz.key_name.as_deref(), Some("Pacific Standard Time"));
    assert_eq!(
        (tz.bias, tz.standard_bias, tz.daylight_bias),
        (Some(480), Some(0), Some(-60))
    );
    assert_eq!(tz.active_time_bias, Some(420));
    let at =
        |y, m, d, h: i64| FileTime::from_unix_seconds(days_from_civil(y, m, d) * 86_400 + h * 3600);
    // US rules: DST from the second Sunday of March to the first Sunday of November, 02:00 local.
    assert_eq!(tz.utc_offset_minutes(at(2019, 3, 10, 9)), Some(-480));
    assert_eq!(tz.utc_offset_minutes(at(2019, 3, 10, 11)), Some(-420));
    assert_eq!(tz.utc_offset_minutes(at(2019, 11, 3, 8)), Some(-420));
    assert_eq!(tz.utc_offset_minutes(at(2019, 11, 3, 10)), Some(-480));
    // The service keys were last written in May 2019: daylight time, as ActiveTimeBias says.
    let fc = hive.service("FileCrypt").expect("FileCrypt");
    assert_eq!(
        tz.utc_offset_minutes(fc.last_write),
        Some(-tz.active_time_bias.unwrap_or(0))
    );
}

const REGIPY_DUMP: &str = r#"
import json, sys
from regipy.registry import RegistryHive
from regipy.utils import convert_wintime
hive = RegistryHive(sys.argv[1])
current = hive.get_key('\\Select').get_value('Current')
services = hive.get_key('\\ControlSet%03d\\Services' % current)
out = []
for sk in services.iter_subkeys():
    values = {v.name: v.value for v in sk.iter_values(trim_values=False)}
    pick = {k: values.get(k) for k in ('Start', 'Type', 'ErrorControl', 'ImagePath', 'Group', 'DisplayName')}
    pick['name'] = sk.name
    pick['last_write'] = convert_wintime(sk.header.last_modified, as_json=True)
    pick['value_count'] = len(values)
    out.append(pick)
print(json.dumps({'current': current, 'services': out}))
"#;

#[test]
fn every_service_matches_regipy() {
    let Some((path, hive)) = sample_hive() else {
        return;
    };
    if !common::python_oracle("regipy") {
        return;
    }
    let output = std::process::Command::new("python3")
        .args(["-c", REGIPY_DUMP])
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let oracle: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(
        oracle["current"].as_u64(),
        Some(u64::from(hive.control_set.current))
    );
    let theirs = oracle["services"].as_array().expect("services");
    assert_eq!(theirs.len(), hive.services().len());
    for (t, ours) in theirs.iter().zip(hive.services()) {
        let name = &ours.name;
        assert_eq!(t["name"].as_str(), Some(name.as_str()));
        assert_eq!(
            t["Start"].as_u64(),
            ours.start.map(|v| u64::from(v.0)),
            "{name} Start"
        );
        assert_eq!(
            t["Type"].as_u64(),
            ours.service_type.map(|v| u64::from(v.0)),
            "{name} Type"
        );
        assert_eq!(
            t["ErrorControl"].as_u64(),
            ours.error_control.map(|v| u64::from(v.0)),
            "{name} ErrorControl"
        );
        assert_eq!(
            t["ImagePath"].as_str(),
            ours.image_path.as_deref(),
            "{name} ImagePath"
        );
        assert_eq!(t["Group"].as_str(), ours.group.as_deref(), "{name} Group");
        assert_eq!(
            t["DisplayName"].as_str(),
            ours.display_name.as_deref(),
            "{name} DisplayName"
        );
        assert_eq!(
            t["value_count"].as_u64(),
            Some(ours.values.len() as u64),
            "{name} values"
        );
        // regipy prints microseconds; we print seconds.
        let theirs_time = t["last_write"].as_str().unwrap_or_default();
        let ours_time = ours.last_write.utc_string().unwrap_or_default();
        assert_eq!(
            theirs_time.get(..19),
            ours_time.get(..19),
            "{name} last write {theirs_time} vs {ours_time}"
        );
    }
}
