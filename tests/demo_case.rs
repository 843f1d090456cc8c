//! The demo case: the motivating 0x5A case written by `bsodwb demo`, read back by our own loader
//! (every clue linked) and by independent readers of each format (procmon-parser, kdmp-parser,
//! python-evtx, regipy).

mod common;

use bsod_workbench::analysis::CaseAnalysis;
use bsod_workbench::case::{Case, Kind};
use bsod_workbench::driver::DriverKey;
use bsod_workbench::signing::Verdict;
use bsod_workbench::synth::demo;
use std::path::Path;
use std::process::Command;

fn demo_case() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    demo::write_demo_case(dir.path()).expect("write the demo case");
    dir
}

fn python(script: &str, arg: &Path) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(arg)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_clue_of_the_story_is_loaded_and_linked() {
    let dir = demo_case();
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    assert!(case.problems.is_empty(), "{:#?}", case.problems);
    let inv = case.inventory.as_ref().expect("inventory");
    for (kind, at_least) in [
        (Kind::CrashDump, 1),
        (Kind::ProcmonLog, 1),
        (Kind::EventLog, 2),
        (Kind::RegistryHive, 1),
        (Kind::Catalog, 10),
        (Kind::PeImage, 31),
    ] {
        assert!(inv.of_kind(kind).count() >= at_least, "{kind}");
    }
    // The dump: 0x5A with P4 = STATUS_INVALID_IMAGE_HASH, unwound (not scanned) through IopLoadDriver.
    let d = case.dump().expect("dump");
    let bc = d.dump.bugcheck.as_ref().expect("bugcheck");
    assert_eq!(bc.code, 0x5a);
    assert_eq!(bc.parameters[3], 0xffff_ffff_c000_0428);
    // Windows Server 2016: IMAGE_VERSION agrees with the dump's build (and the story's version).
    assert_eq!(d.dump.build, 14393);
    assert_eq!(d.analysis.image_version.as_deref(), Some("10.0.14393.6795"));
    let chain: Vec<&str> = d
        .analysis
        .stack
        .iter()
        .map(|f| f.call_site.split('+').next().unwrap_or(""))
        .collect();
    assert_eq!(
        chain,
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
    assert!(
        d.analysis
            .stack
            .iter()
            .all(|f| f.method.as_str() == "unwind")
    );
    // filecrypt.sys across every artefact.
    let fc = DriverKey::from_path("filecrypt.sys").expect("key");
    let analysis = CaseAnalysis::build(&case);
    let links = analysis.links.get(&fc).expect("filecrypt.sys is linked");
    let svc = links.service.as_ref().expect("service");
    assert_eq!((svc.start, svc.error_control), (Some(1), Some(3)));
    assert!(svc.is_critical_boot_driver());
    let sig = links.signature.as_ref().expect("signature");
    assert_eq!(sig.verdict, Verdict::CatalogOnlyInServicing);
    assert!(
        sig.catalog
            .as_deref()
            .is_some_and(|c| c.ends_with(demo_catalog()))
    );
    assert!(links.events.ids.contains(&3004));
    assert!(
        links
            .dump
            .as_ref()
            .is_some_and(|d| d.named_by_parameter && d.base.is_none())
    );
    // The findings tell the story in order.
    let titles: Vec<&str> = analysis.findings.iter().map(|f| f.title.as_str()).collect();
    assert!(
        titles[0].starts_with("Bug check 0x5A CRITICAL_SERVICE_FAILED"),
        "{titles:#?}"
    );
    assert!(
        titles[1].starts_with(
            "filecrypt.sys failed its code-integrity check and is a critical boot driver"
        ),
        "{titles:#?}"
    );
    assert!(titles.iter().any(|t| {
        t.contains("17 driver(s) are vouched for only by catalogs in servicing\\Packages")
    }));
    let fix = analysis.findings[1]
        .remediation
        .as_deref()
        .expect("remediation");
    assert!(fix.contains("xcopy C:\\Windows\\servicing\\Packages\\*.cat C:\\Windows\\System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}"));
}

fn demo_catalog() -> &'static str {
    bsod_workbench::synth::story::LOST_CATALOG
}

#[test]
fn bsodwb_sig_gives_filecrypt_catalog_only_in_servicing() {
    let dir = demo_case();
    let file = dir.path().join("Windows/System32/drivers/filecrypt.sys");
    // The demo's catalogs are signed by the synthetic test root: given explicitly.
    let roots = dir
        .path()
        .join(bsod_workbench::synth::demo::SYNTHETIC_ROOT_FILE);
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--format", "json", "--roots"])
        .arg(&roots)
        .arg(&file)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let first = if v.is_array() { &v[0] } else { &v };
    assert_eq!(first["verdict"], "catalog-only-in-servicing", "{v:#}");
    assert_eq!(first["catalog"]["location"], "servicing");
}

#[test]
fn procmon_parser_reads_the_boot_log() {
    if !common::python_oracle("procmon_parser") {
        return;
    }
    let dir = demo_case();
    let path = dir.path().join("Bootlog.pml");
    let text = python(
        r#"
import sys
from procmon_parser import ProcmonLogsReader
with open(sys.argv[1], "rb") as f:
    evs = list(ProcmonLogsReader(f))
last = evs[-1]
print(len(evs))
print(last.process.process_name, last.path)
print(sum(1 for e in evs if "filecrypt" in e.path.lower()))
"#,
        &path,
    );
    let ours = bsod_workbench::pml::open(&path).expect("our reader");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0].parse::<usize>().ok(), Some(ours.len()));
    // The log ends where the machine died: the failed catalog lookup for filecrypt.sys.
    assert!(
        lines[1].starts_with("System C:\\Windows\\System32\\CatRoot\\{F750E6C3"),
        "{text}"
    );
    assert!(lines[1].ends_with(demo_catalog()));
    assert!(lines[2].parse::<usize>().is_ok_and(|n| n >= 4), "{text}");
}

#[test]
fn kdmp_parser_reads_the_memory_dump() {
    if !common::python_oracle("kdmp_parser") {
        return;
    }
    let dir = demo_case();
    let text = python(
        r#"
import sys, kdmp_parser
p = kdmp_parser.KernelDumpParser(sys.argv[1])
h = p.header
print(p.type.name, hex(h.BugCheckCode), hex(h.BugCheckCodeParameter[3]))
"#,
        &dir.path().join("MEMORY.DMP"),
    );
    assert_eq!(text.trim(), "BMPDump 0x5a 0xffffffffc0000428");
}

#[test]
fn python_evtx_reads_both_event_logs() {
    if !common::python_oracle("Evtx") {
        return;
    }
    let dir = demo_case();
    let script = r#"
import sys, re
from Evtx.Evtx import Evtx
with Evtx(sys.argv[1]) as log:
    for r in log.records():
        x = r.xml()
        print(re.search(r"<EventID[^>]*>(\d+)</EventID>", x).group(1), "filecrypt.sys" in x)
"#;
    let ci = python(
        script,
        &dir.path()
            .join("Microsoft-Windows-CodeIntegrity%4Operational.evtx"),
    );
    assert!(ci.lines().any(|l| l == "3004 True"), "{ci}");
    assert!(ci.lines().any(|l| l.starts_with("3010 ")), "{ci}");
    assert!(
        ci.lines().filter(|l| l.starts_with("3001 ")).count() >= 10,
        "{ci}"
    );
    let sys = python(script, &dir.path().join("System.evtx"));
    let ids: Vec<&str> = sys.lines().filter_map(|l| l.split(' ').next()).collect();
    for id in ["41", "7000", "7026", "6008"] {
        assert!(ids.contains(&id), "{id} missing: {sys}");
    }
}

#[test]
fn regipy_reads_the_system_hive() {
    if !common::python_oracle("regipy") {
        return;
    }
    let dir = demo_case();
    let text = python(
        r#"
import sys
from regipy.registry import RegistryHive
h = RegistryHive(sys.argv[1])
k = h.get_key(r"\ControlSet001\Services\FileCrypt")
v = {x.name: x.value for x in k.iter_values()}
print(v["Start"], v["Type"], v["ErrorControl"], v["Group"])
"#,
        &dir.path().join("SYSTEM"),
    );
    assert_eq!(text.trim(), "1 2 3 FSFilter Encryption");
}

#[test]
fn the_demo_is_reused_until_its_version_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("demo");
    demo::ensure_demo_case(&root).expect("first write");
    let dump = root.join("MEMORY.DMP");
    let first = std::fs::metadata(&dump)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::thread::sleep(std::time::Duration::from_millis(20));
    demo::ensure_demo_case(&root).expect("reuse");
    assert_eq!(
        std::fs::metadata(&dump)
            .and_then(|m| m.modified())
            .expect("mtime"),
        first,
        "reused, not rewritten"
    );
    std::fs::write(root.join(".bsodwb-demo"), "old").expect("stamp");
    demo::ensure_demo_case(&root).expect("rewrite");
    assert_ne!(
        std::fs::metadata(&dump)
            .and_then(|m| m.modified())
            .expect("mtime"),
        first
    );
}
