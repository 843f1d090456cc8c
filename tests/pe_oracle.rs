//! `pe` against pefile (Python, PyPI `pefile`) on every real PE sample: headers, sections,
//! the security directory, `.pdata`, unwind-info sizes, CodeView, checksum and version strings.

mod common;

use bsod_workbench::pe::{Layout, Pe};
use serde_json::Value;
use std::path::Path;

const ORACLE: &str = r#"
import json, sys, pefile
pe = pefile.PE(sys.argv[1])
oh, fh = pe.OPTIONAL_HEADER, pe.FILE_HEADER
out = {
  "machine": fh.Machine, "timestamp": fh.TimeDateStamp, "characteristics": fh.Characteristics,
  "size_of_image": oh.SizeOfImage, "checksum": oh.CheckSum, "computed_checksum": pe.generate_checksum(),
  "subsystem": oh.Subsystem, "entry_point": oh.AddressOfEntryPoint, "image_base": oh.ImageBase,
  "sections": [[s.Name.rstrip(b"\0").decode("latin-1"), s.VirtualAddress, s.Misc_VirtualSize,
                s.PointerToRawData, s.SizeOfRawData] for s in pe.sections],
  "security": [oh.DATA_DIRECTORY[4].VirtualAddress, oh.DATA_DIRECTORY[4].Size],
  "pdata": [[e.struct.BeginAddress, e.struct.EndAddress, e.struct.UnwindData]
            for e in getattr(pe, "DIRECTORY_ENTRY_EXCEPTION", [])],
  "codeview": None, "strings": {},
}
for d in getattr(pe, "DIRECTORY_ENTRY_DEBUG", []):
  if d.struct.Type == 2 and d.entry is not None and hasattr(d.entry, "Signature_String"):
    e = d.entry
    guid = "%08x-%04x-%04x-%02x%02x-%s" % (e.Signature_Data1, e.Signature_Data2, e.Signature_Data3,
            e.Signature_Data4, e.Signature_Data5, bytes(e.Signature_Data6).hex())
    out["codeview"] = [e.PdbFileName.rstrip(b"\0").decode("latin-1"), guid, e.Age]
for fi in getattr(pe, "FileInfo", []):
  for entry in fi:
    for st in getattr(entry, "StringTable", []):
      for k, v in st.entries.items():
        out["strings"].setdefault(k.decode("utf-8"), v.decode("utf-8").strip())
print(json.dumps(out))
"#;

fn pefile_view(path: &Path) -> Value {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(ORACLE)
        .arg(path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "pefile failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle JSON")
}

fn n(v: &Value) -> u64 {
    v.as_u64().expect("number")
}

fn check(rel: &str) {
    let Some(path) = common::sample(rel) else {
        return;
    };
    let o = pefile_view(&path);
    let bytes = std::fs::read(&path).expect("read");
    let pe = Pe::parse(&bytes, Layout::File).expect("parse");
    let h = pe.headers();
    assert_eq!(u64::from(h.machine), n(&o["machine"]), "{rel} machine");
    assert_eq!(
        u64::from(h.timestamp),
        n(&o["timestamp"]),
        "{rel} timestamp"
    );
    assert_eq!(
        u64::from(h.characteristics),
        n(&o["characteristics"]),
        "{rel} characteristics"
    );
    assert_eq!(
        u64::from(h.size_of_image),
        n(&o["size_of_image"]),
        "{rel} size"
    );
    assert_eq!(u64::from(h.checksum), n(&o["checksum"]), "{rel} checksum");
    assert_eq!(
        u64::from(pe.compute_checksum()),
        n(&o["computed_checksum"]),
        "{rel} computed checksum"
    );
    assert_eq!(
        u64::from(h.subsystem),
        n(&o["subsystem"]),
        "{rel} subsystem"
    );
    assert_eq!(
        u64::from(h.entry_point),
        n(&o["entry_point"]),
        "{rel} entry point"
    );
    assert_eq!(h.image_base, n(&o["image_base"]), "{rel} image base");
    let secs: Vec<Value> = pe
        .sections()
        .iter()
        .map(|s| {
            serde_json::json!([
                s.name,
                s.virtual_address,
                s.virtual_size,
                s.raw_offset,
                s.raw_size
            ])
        })
        .collect();
    assert_eq!(Value::Array(secs), o["sections"], "{rel} sections");
    let sec = pe
        .security_directory()
        .map_or(serde_json::json!([0, 0]), |(a, b)| {
            serde_json::json!([a, b])
        });
    assert_eq!(sec, o["security"], "{rel} security directory");
    let pdata: Vec<Value> = pe
        .runtime_functions()
        .iter()
        .map(|r| serde_json::json!([r.begin, r.end, r.unwind_info]))
        .collect();
    assert_eq!(Value::Array(pdata), o["pdata"], "{rel} .pdata");
    for rf in pe.runtime_functions() {
        let ui = pe.unwind_info(rf.unwind_info).expect("unwind info");
        assert!(matches!(ui.version, 1 | 2), "{rel} {rf:?}");
        // The decoded prolog ops stay inside the prolog (version 2 EPILOG codes carry epilog
        // offsets instead, so they are left out).
        let codes = ui.codes();
        let mut prolog_ops = codes
            .iter()
            .filter(|c| c.op != bsod_workbench::pe::UnwindOp::Epilog);
        assert!(
            prolog_ops.all(|c| c.code_offset <= ui.size_of_prolog),
            "{rel} {rf:?} {ui:?}"
        );
    }
    match (&o["codeview"], pe.codeview()) {
        (Value::Null, None) => {}
        (Value::Array(a), Some(cv)) => {
            assert_eq!(a[0], Value::String(cv.pdb_path.clone()), "{rel} pdb path");
            assert_eq!(a[1], Value::String(cv.guid_string()), "{rel} guid");
            assert_eq!(n(&a[2]), u64::from(cv.age), "{rel} age");
        }
        (a, b) => panic!("{rel}: codeview differs: pefile {a} vs {b:?}"),
    }
    let strings = pe.version_info().map(|v| v.strings).unwrap_or_default();
    let theirs: std::collections::BTreeMap<String, String> =
        serde_json::from_value(o["strings"].clone()).expect("strings");
    assert_eq!(strings, theirs, "{rel} version strings");
}

#[test]
fn samples_agree_with_pefile() {
    if !common::python_oracle("pefile") {
        return;
    }
    for rel in [
        "windows-seh-tests/xcpt4.exe",
        "windows-seh-tests/nested_collided.exe",
        "arduino-drivers/ftdi/amd64/ftdibus.sys",
        "arduino-drivers/libusb0/amd64/libusb0.sys",
        "arduino-drivers/derived/ftdibus.nosig.sys",
        "arduino-drivers/derived/ftdibus.badhash.sys",
    ] {
        check(rel);
    }
}
