//! The harnesses behind the fuzz targets: one function per parser, taking arbitrary bytes and
//! driving the parser as bsodwb does (open, then read everything a command would print).
//! Any panic, hang or runaway allocation is a finding. The same functions replay the corpora
//! under `cargo test --no-default-features` (tests/replay.rs).

use bsod_workbench::{case, dump, eventlog, pe, pml, registry, signing};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// A harness: arbitrary bytes in, a panic is a finding.
pub type Harness = fn(&[u8]);

/// Every target, by name (the names of `fuzz_targets/*.rs` and of the corpus folders).
pub const TARGETS: &[(&str, Harness)] = &[
    ("pml", pml),
    ("dump", dump),
    ("evtx", evtx),
    ("hive", hive),
    ("hive_log", hive_log),
    ("pe", pe),
    ("signing", signing),
    ("catalog", catalog),
    ("text_reports", text_reports),
    ("sniff", sniff),
];

/// Procmon log: the header, tables and index, then every event (at most 2,000) rendered as the
/// CSV row and stack, and a filter over all of them.
pub fn pml(data: &[u8]) {
    let Ok(log) = pml::from_bytes(Path::new("fuzz.pml"), data.to_vec()) else {
        return;
    };
    let r = pml::csv::Renderer::new(&log);
    for i in 0..log.len().min(2_000) {
        if let Ok(ev) = log.event(i) {
            let _ = r.row(&ev);
            let _ = log.stack(&ev);
        }
    }
    if let Ok(f) = pml::Filter::parse(&["Path contains sys", "Duration more than 0.1"]) {
        let _ = f.apply(&log, &mut |_, _| {}, &AtomicBool::new(false));
    }
}

/// Crash dump: header, module lists, memory, the `!analyze` pass and both reports.
pub fn dump(data: &[u8]) {
    let bytes = Arc::new(bsod_workbench::mapped::Bytes::from(data.to_vec()));
    let Ok(d) = dump::from_bytes(Path::new("fuzz.dmp"), bytes) else {
        return;
    };
    let opts = dump::analysis::AnalyzeOptions {
        symbol_path: None,
        image_folders: Vec::new(),
        symbols: None,
        max_frames: 32,
    };
    let a = dump::analysis::analyze(&d, &opts);
    let _ = dump::report::text_report(&d, &a);
    let _ = dump::report::json_report(&d, &a);
}

/// EVTX: the chunk layer, BinXML through the `evtx` crate, and our typed events.
pub fn evtx(data: &[u8]) {
    let _ = eventlog::from_bytes(Path::new("fuzz.evtx"), data, &eventlog::Selection::all());
}

/// A SYSTEM hive: base block, cells, the control set, services, time zone.
pub fn hive(data: &[u8]) {
    if let Ok(h) = registry::from_bytes(data, Path::new("SYSTEM")) {
        for s in h.services() {
            let _ = (s.is_driver(), s.is_critical_boot_driver());
        }
    }
}

/// A dirty hive (written by `synth::regf`) with the input as its SYSTEM.LOG1.
pub fn hive_log(data: &[u8]) {
    thread_local! {
        static DIRTY: Vec<u8> = {
            let mut h = bsod_workbench::synth::regf::HiveWriter::system()
                .service(bsod_workbench::synth::regf::ServiceSpec::driver("cdrom", 1, 1, 1))
                .to_bytes();
            bsod_workbench::synth::regf::mark_dirty(&mut h);
            h
        };
    }
    let Some(dir) = scratch() else { return };
    let log = dir.join("SYSTEM.LOG1");
    if write(&log, data).is_none() {
        return;
    }
    DIRTY.with(|hive| {
        let _ =
            registry::from_bytes_with_logs(hive, &dir.join("SYSTEM"), std::slice::from_ref(&log));
    });
}

/// PE images: headers, sections, exports, unwind data, version resource, CodeView, and the
/// Authenticode layout and hashes.
pub fn pe(data: &[u8]) {
    for layout in [pe::Layout::File, pe::Layout::Mapped] {
        if let Ok(p) = pe::Pe::parse(data, layout) {
            let _ = format!("{p:?}");
        }
    }
    if let Ok(layout) = signing::PeLayout::parse(data) {
        let _ = signing::authenticode::hashes_with_layout(data, &layout);
    }
}

/// DER / PKCS#7 / X.509 as found in a PE's certificate table, and the embedded-signature check.
pub fn signing(data: &[u8]) {
    if let Ok(tlv) = signing::der::parse(data, 0) {
        let _ = signing::pkcs7::parse_certificate(tlv);
    }
    let _ = signing::pkcs7::parse_content_info(data, 0);
    if let Ok(layout) = signing::PeLayout::parse(data) {
        let _ = signing::embedded::read_embedded(data, &layout, &signing::RootStore::builtin(), &[]);
    }
}

/// Security catalogs (`.cat`): CTL members, hashes, names, attributes.
pub fn catalog(data: &[u8]) {
    let _ = signing::catalog::Catalog::parse(data);
}

/// Text reports read whole: sigcheck CSV and SIGVERIF.TXT (split at the first byte).
pub fn text_reports(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if which & 1 == 0 {
        let _ = signing::imported::parse_sigcheck_csv(&text, Path::new("sigcheck.csv"));
    } else {
        let _ = signing::imported::parse_sigverif(&text, Path::new("SIGVERIF.TXT"));
    }
}

/// Case discovery on one file: kind sniffing (text logs included) and, through zip, gzip, zlib
/// and xz, the sniffing of what is inside (`bsodwb scan`: nothing is inflated to disk).
pub fn sniff(data: &[u8]) {
    let _ = case::sniff::sniff(data);
    let _ = case::sniff::Wrapper::sniff(data);
    let Some(dir) = scratch() else { return };
    let f = dir.join("case.bin");
    if write(&f, data).is_some() {
        let _ = case::scan(&dir);
    }
}

/// A private scratch folder per thread, reused between runs.
fn scratch() -> Option<PathBuf> {
    thread_local! {
        static DIR: Option<tempfile::TempDir> = tempfile::Builder::new()
            .prefix("bsodwb-fuzz-")
            .tempdir()
            .ok();
    }
    DIR.with(|d| d.as_ref().map(|d| d.path().to_path_buf()))
}

fn write(path: &Path, data: &[u8]) -> Option<()> {
    let mut f = std::fs::File::create(path).ok()?;
    f.write_all(data).ok()
}
