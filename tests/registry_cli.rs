//! `bsodwb hive` on a written hive: the JSON schema (services with codes beside names, the
//! control set, the time zone) and the text table.

use bsod_workbench::synth::regf::{HiveWriter, ServiceSpec};
use std::process::Command;

fn written_hive(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("SYSTEM");
    HiveWriter::system()
        .service(
            ServiceSpec::driver("FileCrypt", 1, 2, 3)
                .image_path("system32\\drivers\\filecrypt.sys")
                .group("FSFilter Encryption")
                .display_name("@%systemroot%\\system32\\drivers\\filecrypt.sys,-100"),
        )
        .service(ServiceSpec::driver("cdrom", 1, 1, 1).image_path("System32\\drivers\\cdrom.sys"))
        .service(ServiceSpec::driver("Spooler", 2, 0x110, 1))
        .write_to(&path)
        .expect("write");
    path
}

#[test]
fn hive_json_lists_services_control_set_and_time_zone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = written_hive(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["hive", "--format", "json"])
        .arg(&path)
        .output()
        .expect("run bsodwb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["control_set"]["current"], 1);
    assert_eq!(doc["control_set"]["key"], "ControlSet001");
    assert_eq!(doc["time_zone"]["key_name"], "Pacific Standard Time");
    assert_eq!(doc["time_zone"]["bias"], 480);
    let services = doc["services"].as_array().expect("services array");
    assert_eq!(services.len(), 3);
    let fc = services
        .iter()
        .find(|s| s["name"] == "FileCrypt")
        .expect("FileCrypt");
    assert_eq!(
        fc["start"],
        serde_json::json!({"code": 1, "name": "system"})
    );
    assert_eq!(
        fc["type"],
        serde_json::json!({"code": 2, "name": "file-system driver"})
    );
    assert_eq!(
        fc["error_control"],
        serde_json::json!({"code": 3, "name": "critical"})
    );
    assert_eq!(fc["image_path"], "system32\\drivers\\filecrypt.sys");
    assert_eq!(fc["group"], "FSFilter Encryption");
    assert_eq!(fc["driver"], "filecrypt.sys");
    assert!(
        fc["last_write"]["utc"]
            .as_str()
            .is_some_and(|t| t.starts_with("2024-04-09T"))
    );
    let spooler = services
        .iter()
        .find(|s| s["name"] == "Spooler")
        .expect("Spooler");
    assert_eq!(spooler["type"]["name"], "own process, interactive");
    assert!(spooler["driver"].is_null());
}

#[test]
fn hive_text_marks_critical_boot_drivers_and_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = written_hive(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["hive", "--drivers"])
        .arg(&path)
        .output()
        .expect("run bsodwb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ControlSet001"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("FileCrypt"))
        .expect("FileCrypt row");
    assert!(line.starts_with("FileCrypt!"), "{line}");
    assert!(
        line.contains("1 system")
            && line.contains("2 file-system driver")
            && line.contains("3 critical")
    );
    assert!(!text.contains("Spooler"), "--drivers keeps drivers only");

    // A file that is not a hive: a non-zero exit and an error naming it.
    let bogus = dir.path().join("notahive");
    std::fs::write(&bogus, b"not a hive at all, just some bytes").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .arg("hive")
        .arg(&bogus)
        .output()
        .expect("run bsodwb");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("notahive") && err.contains("regf"), "{err}");
}
