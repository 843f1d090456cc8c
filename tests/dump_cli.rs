//! `bsodwb dump FILE --format json|text`: the "must show" items through the real binary.

mod common;

use serde_json::Value;

fn run(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(args)
        .env_remove("_NT_SYMBOL_PATH")
        .output()
        .expect("run bsodwb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn json_of_the_x64_triage_dump() {
    let p = sample_or_skip!("rizin-testbins/triage_x64.dmp");
    let v: Value =
        serde_json::from_str(&run(&["dump", p.to_str().unwrap(), "--format", "json"])).unwrap();
    assert_eq!(v["bugcheck"]["code"], "0x1000007e");
    assert_eq!(
        v["bugcheck"]["name"],
        "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M"
    );
    assert_eq!(v["bugcheck"]["parameters"][0], "0xffffffffc0000005");
    assert_eq!(v["bugcheck"]["parameters"].as_array().unwrap().len(), 4);
    assert_eq!(v["modules"].as_array().unwrap().len(), 151);
    assert_eq!(v["faulting_module"], "amdppm.sys");
    assert_eq!(v["machine"], "0x8664");
    assert_eq!(v["build"], 19041);
    assert_eq!(v["processors"], 16);
    assert_eq!(v["system_time"], "2021-02-21 01:38:22.987765Z");
    assert!((v["uptime_seconds"].as_f64().unwrap() - 3.747).abs() < 0.001);
    assert_eq!(v["dump_type"], "Triage (small memory dump)");
    let amd = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "amdppm.sys")
        .unwrap();
    assert_eq!(amd["base"], "0xfffff8048b580000");
    assert_eq!(amd["size"], "0x3b000");
    for k in ["path", "timestamp", "checksum"] {
        assert!(amd[k].is_string(), "module key {k}");
    }
    assert_eq!(v["unloaded_modules"].as_array().unwrap().len(), 4);
    let f0 = &v["stack"][0];
    for k in [
        "index",
        "child_sp",
        "return_address",
        "call_site",
        "module",
        "offset",
        "symbol",
        "method",
    ] {
        assert!(f0.get(k).is_some(), "stack key {k}");
    }
    assert_eq!(f0["call_site"], "amdppm+0x334c");
    assert_eq!(f0["method"], "unwind");
    assert_eq!(v["stack"][1]["method"], "scan");
}

#[test]
fn json_of_the_arm64_triage_dump() {
    let p = sample_or_skip!("rizin-testbins/triage_arm64.dmp");
    let v: Value =
        serde_json::from_str(&run(&["dump", p.to_str().unwrap(), "--format", "json"])).unwrap();
    assert_eq!(v["bugcheck"]["code"], "0x1c8");
    assert_eq!(
        v["bugcheck"]["name"],
        "MANUALLY_INITIATED_POWER_BUTTON_HOLD"
    );
    assert_eq!(v["modules"].as_array().unwrap().len(), 245);
    assert_eq!(v["machine"], "0xaa64");
}

#[test]
fn text_of_a_written_0x5a_dump() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("MEMORY.DMP");
    bsod_workbench::synth::dump::write_bitmap_dump(
        &p,
        &bsod_workbench::synth::dump::DumpSpec::demo_0x5a(),
    )
    .unwrap();
    let text = run(&["dump", p.to_str().unwrap()]);
    assert!(text.contains("CRITICAL_SERVICE_FAILED (5a)"), "{text}");
    assert!(text.contains("STATUS_INVALID_IMAGE_HASH"), "{text}");
    assert!(text.contains("\\FileSystem\\FileCrypt"), "{text}");
    let stack: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("STACK_TEXT:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    let sites: Vec<String> = stack
        .iter()
        .map(|l| {
            l.rsplit(" : ")
                .next()
                .unwrap()
                .split('+')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        sites,
        [
            "nt!KeBugCheckEx",
            "nt!IopLoadDriver",
            "nt!IopInitializeSystemDrivers",
            "nt!IoInitSystem",
            "nt!Phase1Initialization",
            "nt!PspSystemThreadStartup",
            "nt!KiStartSystemThread"
        ]
    );
    assert!(stack.iter().all(|l| !l.contains("(scan")), "{text}");
    assert!(text.contains("SYMBOL_NAME:  nt!IopLoadDriver+"), "{text}");
    assert!(text.contains("IMAGE_NAME:  ntkrnlmp.exe"), "{text}");
    assert!(text.contains("IMAGE_VERSION:  10.0.19041."), "{text}");
    // The lm table lists cdrom.
    assert!(
        text.lines()
            .any(|l| l.contains(" cdrom ") && l.contains("cdrom.sys")),
        "{text}"
    );
}
