//! BCD stores written by `synth::bcd`, read back as `bcdedit /enum all /store` shows them, by
//! `bsodwb bcd`, with inheritance, a dirty store recovered from its log, and regipy as the
//! oracle of every element's stored value.

mod common;

use bsod_workbench::registry::bcd::{self, ElementValue};
use bsod_workbench::synth::bcd::{BcdWriter, Element, LOADER};
use bsod_workbench::synth::regf::{RegData, mark_dirty, transaction_log};
use std::path::Path;
use std::process::Command;

fn bsodwb(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(args)
        .output()
        .expect("run bsodwb");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn troubled() -> BcdWriter {
    BcdWriter::windows()
        .loader_flag(bcd::TESTSIGNING, true)
        .loader_integer(bcd::SAFEBOOT, 0)
        .loader_integer(bcd::BOOTSTATUSPOLICY, 1)
        .loader_integer(bcd::HYPERVISORLAUNCHTYPE, 1)
        .loader_flag(bcd::BOOTLOG, true)
        .element(
            LOADER,
            bcd::LOADOPTIONS,
            Element::String("DISABLE_INTEGRITY_CHECKS".into()),
        )
}

#[test]
fn bcd_text_reads_like_bcdedit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("BCD");
    troubled().write_to(&path).expect("write");
    let (ok, text, err) = bsodwb(&["bcd", path.to_str().expect("utf-8"), "--format", "text"]);
    assert!(ok, "{err}");
    assert!(
        text.starts_with(
            "Windows Boot Manager\n--------------------\nidentifier              {bootmgr}\n"
        ),
        "{text}"
    );
    for line in [
        "default                 {default}",
        "displayorder            {default}",
        "toolsdisplayorder       {memdiag}",
        "timeout                 30",
        "Windows Boot Loader\n-------------------\nidentifier              {default}",
        r"path                    \Windows\system32\winload.efi",
        "inherit                 {bootloadersettings}",
        "testsigning             Yes",
        "recoveryenabled         No",
        "loadoptions             DISABLE_INTEGRITY_CHECKS",
        "safeboot                Minimal",
        "bootstatuspolicy        IgnoreAllFailures",
        "hypervisorlaunchtype    Auto",
        "bootlog                 Yes",
        "nx                      OptIn",
        "bootmenupolicy          Standard",
        "Resume from Hibernate",
        r"filepath                \hiberfil.sys",
        "Windows Memory Tester\n---------------------\nidentifier              {memdiag}",
        "Global Settings\n---------------\nidentifier              {globalsettings}",
        "Boot Loader Settings\n--------------------\nidentifier              {bootloadersettings}",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(
        text.contains("osdevice                partition=GPT disk {22222222-2222-2222-2222-222222222222} partition {33333333-3333-3333-3333-333333333333}"),
        "{text}"
    );
    // The loader precedes the resume entry, which precedes the memory tester and the settings.
    let at = |s: &str| text.find(s).expect(s);
    assert!(at("Windows Boot Loader") < at("Resume from Hibernate"));
    assert!(at("Resume from Hibernate") < at("Windows Memory Tester"));
    assert!(at("Windows Memory Tester") < at("Global Settings"));
}

#[test]
fn bcd_json_has_the_default_loaders_integrity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("BCD");
    troubled().write_to(&path).expect("write");
    let (ok, json, err) = bsodwb(&["bcd", path.to_str().expect("utf-8"), "--format", "json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["default"], LOADER);
    assert_eq!(v["integrity"]["testsigning"], true);
    assert_eq!(v["integrity"]["nointegritychecks"], false);
    assert_eq!(v["integrity"]["disable_integrity_checks_option"], true);
    assert_eq!(v["integrity"]["safeboot"], "Minimal");
    assert_eq!(v["integrity"]["bootlog"], true);
    assert_eq!(v["integrity"]["bootdebug"], false);
    assert_eq!(v["integrity"]["recoveryenabled"], false);
    assert_eq!(v["integrity"]["bootstatuspolicy"], "IgnoreAllFailures");
    assert_eq!(v["integrity"]["hypervisorlaunchtype"], "Auto");
}

#[test]
fn a_clean_store_has_integrity_on_and_no_safeboot() {
    let store = bcd::from_bytes_with_logs(&BcdWriter::windows().to_bytes(), Path::new("BCD"), &[])
        .expect("read");
    assert!(store.warnings.is_empty(), "{:?}", store.warnings);
    let i = store.integrity().expect("a default loader");
    assert_eq!(i.entry, "{default}");
    assert!(!i.testsigning && !i.nointegritychecks && !i.disable_integrity_checks_option);
    assert_eq!(i.safeboot, None);
    assert_eq!(
        i.summary(),
        "BCD {default}: testsigning off, integrity checks on"
    );
}

#[test]
fn settings_are_inherited_through_the_inherit_chain() {
    // testsigning set on {globalsettings}: {default} -> {bootloadersettings} -> {globalsettings}.
    let w = BcdWriter::windows().element(
        "{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}",
        bcd::TESTSIGNING,
        Element::Boolean(true),
    );
    let store = bcd::from_bytes_with_logs(&w.to_bytes(), Path::new("BCD"), &[]).expect("read");
    let loader = store.default_loader().expect("default");
    let e = store
        .effective(loader, bcd::TESTSIGNING)
        .expect("inherited");
    assert_eq!(e.from.alias.as_deref(), Some("{globalsettings}"));
    assert!(store.integrity().expect("integrity").testsigning);
    // A cycle of inherit lists ends.
    let w = BcdWriter::windows().element(
        "{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}",
        bcd::INHERIT,
        Element::ObjectList(vec![LOADER.into()]),
    );
    let store = bcd::from_bytes_with_logs(&w.to_bytes(), Path::new("BCD"), &[]).expect("read");
    let loader = store.default_loader().expect("default");
    assert!(store.effective(loader, bcd::TESTSIGNING).is_none());
}

#[test]
fn values_stored_the_wrong_way_are_shown_not_dropped() {
    let w = BcdWriter::windows()
        .raw_element(LOADER, bcd::TESTSIGNING, RegData::Dword(1))
        .raw_element(LOADER, bcd::SAFEBOOT, RegData::Sz("Minimal".into()))
        .element(LOADER, 0x2500_0777, Element::Integer(7));
    let store = bcd::from_bytes_with_logs(&w.to_bytes(), Path::new("BCD"), &[]).expect("read");
    let loader = store.default_loader().expect("default");
    assert_eq!(
        loader.element(bcd::TESTSIGNING).map(|e| &e.value),
        Some(&ElementValue::Boolean(true))
    );
    assert!(matches!(
        loader.element(bcd::SAFEBOOT).map(|e| &e.value),
        Some(ElementValue::Undecoded { reg_type: 1, .. })
    ));
    let text = store.to_text();
    assert!(text.contains("custom:25000777         7"), "{text}");
    assert!(
        text.contains("safeboot                (stored as registry type 1"),
        "{text}"
    );
}

#[test]
fn a_dirty_store_is_recovered_from_its_log() {
    let mut before = BcdWriter::windows().to_bytes();
    let after = BcdWriter::windows()
        .loader_flag(bcd::TESTSIGNING, true)
        .to_bytes();
    let log = transaction_log(&before, &after);
    mark_dirty(&mut before);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("BCD");
    std::fs::write(&path, &before).expect("write");
    let as_is = bcd::open(&path).expect("open");
    assert!(as_is.header.dirty);
    assert!(!as_is.integrity().expect("integrity").testsigning);
    std::fs::write(dir.path().join("BCD.LOG1"), &log).expect("write log");
    let recovered = bcd::open(&path).expect("open");
    assert_eq!(recovered.logs_applied.len(), 1, "{:?}", recovered.warnings);
    assert!(recovered.integrity().expect("integrity").testsigning);
}

#[test]
fn a_system_hive_is_not_a_bcd_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("SYSTEM");
    bsod_workbench::synth::regf::HiveWriter::system()
        .write_to(&path)
        .expect("write");
    let (ok, _, err) = bsodwb(&["bcd", path.to_str().expect("utf-8")]);
    assert!(!ok);
    assert!(err.contains("no Objects key"), "{err}");
}

const REGIPY_ELEMENTS: &str = r#"
import json, sys
from regipy.registry import RegistryHive
hive = RegistryHive(sys.argv[1])
out = {}
for obj in hive.get_key('\\Objects').iter_subkeys():
    t = obj.get_subkey('Description').get_value('Type')
    els = {}
    for e in obj.get_subkey('Elements').iter_subkeys():
        v = e.get_value('Element')
        if isinstance(v, bytes):
            v = v.hex()
        els[e.name] = v
    out[obj.name] = {'type': t, 'elements': els}
print(json.dumps(out))
"#;

#[test]
fn regipy_reads_the_same_objects_and_elements() {
    if !common::python_oracle("regipy") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("BCD");
    troubled().write_to(&path).expect("write");
    let output = Command::new("python3")
        .args(["-c", REGIPY_ELEMENTS])
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let ours = bcd::open(&path).expect("open");
    assert_eq!(
        theirs.as_object().map(|o| o.len()),
        Some(ours.objects.len())
    );
    let mut compared = 0;
    for o in &ours.objects {
        let t = &theirs[&o.id];
        assert_eq!(t["type"].as_u64(), o.object_type.map(u64::from), "{}", o.id);
        assert_eq!(
            t["elements"].as_object().map(|e| e.len()),
            Some(o.elements.len()),
            "{}",
            o.id
        );
        for e in &o.elements {
            let v = &t["elements"][format!("{:08x}", e.element_type)];
            let le_hex = |n: u64, len: usize| {
                n.to_le_bytes()[..len]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            };
            match &e.value {
                ElementValue::String(s) | ElementValue::Object(s) => {
                    assert_eq!(
                        v.as_str().map(str::to_ascii_lowercase),
                        Some(s.to_ascii_lowercase())
                    )
                }
                ElementValue::ObjectList(l) => {
                    let theirs: Vec<String> = v
                        .as_array()
                        .expect("list")
                        .iter()
                        .filter_map(|s| s.as_str())
                        .filter(|s| !s.is_empty())
                        .map(str::to_ascii_lowercase)
                        .collect();
                    assert_eq!(&theirs, l);
                }
                ElementValue::Integer(n) => assert_eq!(v.as_str(), Some(le_hex(*n, 8).as_str())),
                ElementValue::Boolean(b) => {
                    assert_eq!(v.as_str(), Some(le_hex(u64::from(*b), 1).as_str()))
                }
                ElementValue::Device(_) => {
                    assert!(v.as_str().is_some_and(|h| h.len() >= 0x48 * 2), "{v}")
                }
                other => panic!("unexpected {other:?}"),
            }
            compared += 1;
        }
    }
    assert!(compared > 30, "{compared}");
}

#[test]
fn damaged_stores_never_panic() {
    let good = troubled().to_bytes();
    let mut read = 0;
    // Every cut and a byte flipped every 61 bytes: an error or a store, never a panic.
    for cut in (0..good.len()).step_by(97) {
        if bcd::from_bytes_with_logs(&good[..cut], Path::new("BCD"), &[]).is_ok() {
            read += 1;
        }
    }
    for at in (0x1000..good.len()).step_by(61) {
        let mut bad = good.clone();
        bad[at] ^= 0xA5;
        if let Ok(store) = bcd::from_bytes_with_logs(&bad, Path::new("BCD"), &[]) {
            let _ = store.to_text();
            let _ = store.integrity();
            read += 1;
        }
    }
    assert!(read > 0);
    // Device elements of any length decode to something.
    for len in 0..0x60 {
        let d = bcd::decode_device(&vec![0x06; len]);
        assert!(!d.text.is_empty());
    }
}
