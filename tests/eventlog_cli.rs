//! `bsodwb evtx` end to end, on a log written by `synth::evtx`.

use bsod_workbench::eventlog::NtStatus;
use bsod_workbench::synth::evtx::{EvtxWriter, Guid};
use std::process::Command;

const FILECRYPT: &str = "\\Device\\HarddiskVolume2\\Windows\\System32\\drivers\\filecrypt.sys";

fn written() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir
        .path()
        .join("Microsoft-Windows-CodeIntegrity%4Operational.evtx");
    let t = |s: &str| s.parse::<evtx::Timestamp>().expect("ts");
    EvtxWriter::new()
        .code_integrity_3004(
            t("2026-11-27T08:00:02Z"),
            FILECRYPT,
            "System",
            NtStatus { code: 0xC000_0428 },
            Guid::parse("{2d9f3a42-01d4-4733-97f7-041e8021dc84}"),
        )
        .scm_7026(t("2026-11-27T08:00:06Z"), &["FileCrypt"])
        .write_to(&path)
        .expect("write");
    (dir, path)
}

#[test]
fn json_output_carries_typed_fields_with_names_beside_codes() {
    let (_dir, path) = written();
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["evtx", "--format", "json"])
        .arg(&path)
        .output()
        .expect("run bsodwb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let events = v["events"].as_array().expect("events");
    assert_eq!(events.len(), 2);
    let ci = &events[0];
    assert_eq!(ci["event_id"], 3004);
    assert_eq!(ci["kind"]["category"], "code_integrity");
    assert_eq!(ci["kind"]["detail"]["file"], FILECRYPT);
    assert_eq!(ci["kind"]["detail"]["status"]["code"], "0xc0000428");
    assert_eq!(
        ci["kind"]["detail"]["status"]["name"],
        "STATUS_INVALID_IMAGE_HASH"
    );
    assert_eq!(ci["drivers"][0], "filecrypt.sys");
    let scm = &events[1];
    assert_eq!(scm["kind"]["detail"]["type"], "boot_drivers_not_loaded");
    assert_eq!(scm["kind"]["detail"]["drivers"][0], "FileCrypt");
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(0));
}

#[test]
fn text_output_is_one_line_per_event() {
    let (_dir, path) = written();
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["evtx"])
        .arg(&path)
        .output()
        .expect("run bsodwb");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("2 events selected of 2 records"));
    assert!(lines[1].contains("3004") && lines[1].contains("STATUS_INVALID_IMAGE_HASH"));
    assert!(lines[1].contains("[driver filecrypt.sys]"));
    assert!(lines[2].contains("7026") && lines[2].contains("FileCrypt"));
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["evtx", "/nonexistent/x.evtx"])
        .output()
        .expect("run bsodwb");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.evtx"));
}
