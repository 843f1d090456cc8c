//! `bsodwb scan` over the real samples: every file gets the kind its content says, including
//! the PML logs stored as raw zlib streams and the xz-compressed hive.

mod common;

use bsod_workbench::case::{self, Kind};
use std::collections::BTreeMap;

#[test]
fn every_sample_gets_the_right_kind() {
    let root = common::samples_root();
    if common::sample("README.md").is_none() {
        return;
    }
    let inv = case::scan(&root).expect("scan samples");
    let kinds: BTreeMap<&str, Kind> = inv
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.kind))
        .collect();
    let expect = |path: &str, kind: Kind| {
        assert_eq!(kinds.get(path), Some(&kind), "{path}");
    };
    for d in ["triage_x64.dmp", "triage_arm64.dmp"] {
        expect(&format!("rizin-testbins/{d}"), Kind::CrashDump);
    }
    expect(
        "imhex-patterns/dmp64_full_header_19045.bin",
        Kind::CrashDump,
    );
    expect("imhex-patterns/minidump_user.dmp", Kind::UserDump);
    expect("rizin-testbins/calc.dmp", Kind::UserDump);
    expect("arduino-drivers/ftdi/ftdibus.cat", Kind::Catalog);
    for d in [
        "ftdi/amd64/ftdibus.sys",
        "libusb0/amd64/libusb0.sys",
        "derived/ftdibus.badhash.sys",
        "derived/ftdibus.nosig.sys",
    ] {
        expect(&format!("arduino-drivers/{d}"), Kind::PeImage);
    }
    expect("windows-seh-tests/xcpt4.exe", Kind::PeImage);
    expect("windows-seh-tests/xcpt4.pdb", Kind::Pdb);
    expect("regipy/SYSTEM_WIN_10_1709.xz", Kind::RegistryHive);
    expect(
        "tugix456-randaodcxjj/Microsoft-Windows-CodeIntegrity%4Operational.evtx",
        Kind::EventLog,
    );
    expect(
        "omerbenamram-evtx/sample_with_a_bad_chunk_magic.evtx",
        Kind::EventLog,
    );
    expect(
        "procmon-parser/uncompressed/CompressedLogFileUTC64Process.pml",
        Kind::ProcmonLog,
    );
    // Raw zlib streams are sniffed through their compression.
    let compressed_pml: Vec<_> = inv
        .files
        .iter()
        .filter(|f| f.path.starts_with("procmon-parser/compressed/") && f.path.ends_with("PML"))
        .collect();
    assert_eq!(compressed_pml.len(), 5);
    for f in compressed_pml {
        assert_eq!(f.kind, Kind::ProcmonLog, "{}", f.path);
        assert!(f.detail.contains("zlib"), "{}", f.detail);
    }
    let drivers = inv
        .files
        .iter()
        .filter(|f| f.kind == Kind::PeImage && f.detail.starts_with("driver"))
        .count();
    assert_eq!(drivers, 5, "the five .sys files are drivers");
    // Text files and the CSV exports are not mistaken for anything.
    expect("rizin-testbins/triage_x64.expected.json", Kind::Unknown);
    expect(
        "procmon-parser/uncompressed/CompressedLogFileUTC64Process.csv",
        Kind::Unknown,
    );
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
}

#[test]
fn zip_entries_are_listed_with_bang_paths_and_cannot_escape() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let zip_path = dir.path().join("case.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).expect("create"));
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("Windows/Minidump/a.dmp", opts).expect("entry");
        let mut hdr = vec![0u8; 0x2010];
        hdr[..8].copy_from_slice(b"PAGEDU64");
        hdr[0xf98] = 4;
        z.write_all(&hdr).expect("write");
        z.start_file("../../evil.txt", opts).expect("entry");
        z.write_all(b"nope").expect("write");
        z.start_file("logs/Bootlog.pml.gz", opts).expect("entry");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"PML_\x09\0\0\0\x01\0\0\0").expect("gz");
        z.write_all(&gz.finish().expect("gz")).expect("write");
        z.finish().expect("finish");
    }
    let inv = case::scan(dir.path()).expect("scan");
    let dmp = inv
        .files
        .iter()
        .find(|f| f.path == "case.zip!Windows/Minidump/a.dmp")
        .expect("entry listed");
    assert_eq!(dmp.kind, Kind::CrashDump);
    let pml = inv
        .files
        .iter()
        .find(|f| f.path == "case.zip!logs/Bootlog.pml.gz")
        .expect("gz entry");
    assert_eq!(pml.kind, Kind::ProcmonLog);
    assert!(
        inv.problems.iter().any(|p| p.message.contains("escapes")),
        "{:?}",
        inv.problems
    );
    assert!(!inv.files.iter().any(|f| f.path.contains("evil")));

    // Opening (not just scanning) inflates entries to a private temp dir, never into the case.
    let before: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
    let inv = case::Inventory::discover(dir.path(), case::Extract::ToTempDir, &mut |_| {})
        .expect("discover");
    let dmp = inv
        .files
        .iter()
        .find(|f| f.path == "case.zip!Windows/Minidump/a.dmp")
        .expect("entry");
    let local = dmp.local.as_ref().expect("inflated copy");
    assert!(!local.starts_with(dir.path()));
    assert_eq!(std::fs::read(local).expect("read").len(), 0x2010);
    let after: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
    assert_eq!(
        before.len(),
        after.len(),
        "nothing written into the case folder"
    );
}

#[test]
fn a_bomb_is_refused_with_a_clear_message() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let mut block = vec![0u8; 1 << 20];
    block[..4].copy_from_slice(b"PML_");
    z.write_all(&block).expect("w");
    for _ in 0..8 {
        z.write_all(&[0u8; 1 << 20]).expect("w");
    }
    std::fs::write(dir.path().join("Bootlog.zz"), z.finish().expect("finish")).expect("write");
    // SAFETY of the test: the bound is read from the environment at discovery time.
    // SAFETY: tests in this binary do not read BSODWB_MAX_INFLATE concurrently except this one.
    unsafe { std::env::set_var("BSODWB_MAX_INFLATE", "4194304") };
    let inv = case::Inventory::discover(dir.path(), case::Extract::ToTempDir, &mut |_| {})
        .expect("discover");
    unsafe { std::env::remove_var("BSODWB_MAX_INFLATE") };
    assert!(inv.files.is_empty());
    assert!(
        inv.problems[0]
            .message
            .contains("inflates past 4194304 bytes"),
        "{:?}",
        inv.problems
    );
}
