//! The writers (src/synth/pe.rs, src/synth/catalog.rs) checked by third parties (pefile,
//! openssl, osslsigncode), and the motivating case built with them: filecrypt.sys listed only in
//! a servicing\Packages catalog gets `catalog-only-in-servicing` from `bsodwb sig`.

mod common;

use bsod_workbench::signing::{self, CatalogLocation, RootStore, Verdict};
use bsod_workbench::synth::catalog::{CatalogSpec, CatalogVersion, MemberSpec, write_catalog};
use bsod_workbench::synth::pe::{PeSpec, write_pe};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tool_or_skip(name: &str) -> bool {
    let ok = Command::new(name)
        .arg(if name == "openssl" {
            "version"
        } else {
            "--version"
        })
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("BSODWB_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!("{name} is required (BSODWB_REQUIRE_ORACLES=1)");
        }
        eprintln!("SKIP: {name} not installed");
    }
    ok
}

const CATROOT: &str = "Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}";
const PACKAGE_CAT: &str = "Package_1257_for_KB5036899~31bf3856ad364e35~amd64~~10.0.1.27.cat";
const DRIVERS: &[&str] = &[
    "filecrypt.sys",
    "cdrom.sys",
    "BasicDisplay.sys",
    "CmBatt.sys",
];

/// The motivating case: four unsigned inbox drivers; CatRoot lists all but filecrypt.sys;
/// the servicing package catalog lists filecrypt.sys (and cdrom.sys, as real packages overlap).
fn write_case(root: &Path) -> Vec<PathBuf> {
    let drivers_dir = root.join("Windows/System32/drivers");
    let catroot = root.join(CATROOT);
    let servicing = root.join("Windows/servicing/Packages");
    for d in [&drivers_dir, &catroot, &servicing] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let mut paths = Vec::new();
    let mut hashes = Vec::new();
    for (i, name) in DRIVERS.iter().enumerate() {
        let mut spec = PeSpec::driver(name);
        spec.timestamp += i as u32;
        let bytes = write_pe(&spec);
        let p = drivers_dir.join(name);
        std::fs::write(&p, &bytes).expect("write driver");
        hashes.push(signing::authenticode_hashes(&bytes).expect("pe"));
        paths.push(p);
    }
    // One CatRoot catalog per driver except filecrypt.sys (v2 SHA256 and one v1 SHA1).
    for (i, name) in DRIVERS.iter().enumerate().skip(1) {
        let version = if i == 3 {
            CatalogVersion::V1Sha1
        } else {
            CatalogVersion::V2Sha256
        };
        let mut spec = CatalogSpec::new(i as u64, version);
        spec.members
            .push(MemberSpec::pe(&name.to_lowercase(), &hashes[i], version));
        let file = catroot.join(format!(
            "Microsoft-Windows-{i}-Package~31bf3856ad364e35~amd64~~10.0.1.1.cat"
        ));
        std::fs::write(file, write_catalog(&spec)).expect("write catalog");
    }
    let mut spec = CatalogSpec::new(1257, CatalogVersion::V2Sha256);
    spec.members.push(MemberSpec::pe(
        "filecrypt.sys",
        &hashes[0],
        CatalogVersion::V2Sha256,
    ));
    spec.members.push(MemberSpec::pe(
        "cdrom.sys",
        &hashes[1],
        CatalogVersion::V2Sha256,
    ));
    std::fs::write(servicing.join(PACKAGE_CAT), write_catalog(&spec)).expect("write package");
    paths
}

#[test]
fn bsodwb_sig_finds_filecrypt_only_in_servicing() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(dir.path());
    // sigverif's log, where Windows writes it: shown beside our verdict, not instead of it.
    std::fs::write(
        dir.path().join("Windows/SIGVERIF.TXT"),
        "Microsoft Signature Verification\r\n\r\n\
         File            Modified    Version     Status        Catalog       Signed By\r\n\
         [c:\\windows\\system32\\drivers]\r\n\
         filecrypt.sys   1/1/2024    10.0        Not Signed    N/A\r\n",
    )
    .expect("write sigverif");
    // The catalogs are signed by the synthetic test root, trusted only when given.
    let pem = dir.path().join("synthetic-root.pem");
    std::fs::write(&pem, bsod_workbench::synth::signer::SYNTHETIC_ROOT_PEM).expect("pem");
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--format", "json", "--roots"])
        .arg(&pem)
        .arg(dir.path().join("Windows/System32/drivers"))
        .output()
        .expect("runs bsodwb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let files = json.as_array().expect("array");
    assert_eq!(files.len(), 4);
    let by_name = |n: &str| {
        files
            .iter()
            .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(n)))
            .unwrap_or_else(|| panic!("{n} in output"))
    };
    let fc = by_name("filecrypt.sys");
    assert_eq!(fc["verdict"], "catalog-only-in-servicing");
    assert_eq!(fc["catalog"]["location"], "servicing");
    assert!(
        fc["catalog"]["path"]
            .as_str()
            .expect("path")
            .ends_with(PACKAGE_CAT)
    );
    assert_eq!(fc["embedded"]["present"], false);
    assert!(fc["embedded"]["signer"].is_null());
    assert!(fc["embedded"]["digest_ok"].is_null());
    assert_eq!(fc["sha1"].as_str().map(str::len), Some(40));
    assert_eq!(fc["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(fc["third_party"][0]["source"], "sigverif");
    assert_eq!(fc["third_party"][0]["status"], "Not Signed");
    for n in ["cdrom.sys", "BasicDisplay.sys", "CmBatt.sys"] {
        let f = by_name(n);
        assert_eq!(f["verdict"], "signed-catalog", "{n}");
        assert_eq!(f["catalog"]["location"], "catroot", "{n}");
    }
    // cdrom.sys is in both: the CatRoot catalog is the one that vouches; servicing is listed too.
    assert_eq!(
        by_name("cdrom.sys")["catalogs"].as_array().map(Vec::len),
        Some(2)
    );

    // The text form names the finding.
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--roots"])
        .arg(&pem)
        .arg(dir.path().join("Windows/System32/drivers/filecrypt.sys"))
        .output()
        .expect("runs bsodwb");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Verdict:     catalog-only-in-servicing"),
        "{text}"
    );
    assert!(text.contains("CatRoot catalogs are missing"), "{text}");
    assert!(text.contains("sigverif:    Not Signed"), "{text}");

    // CSV, one line per file.
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--format", "csv", "--roots"])
        .arg(&pem)
        .arg(dir.path())
        .output()
        .expect("runs bsodwb");
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(csv.lines().count(), 5, "{csv}");
    // Without the synthetic root the same catalogs are test-signed: they vouch for nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--format", "csv"])
        .arg(dir.path())
        .output()
        .expect("runs bsodwb");
    let plain = String::from_utf8_lossy(&out.stdout);
    assert!(
        plain.lines().skip(1).all(|l| l.contains(",test-signed,")),
        "{plain}"
    );
    assert!(
        csv.lines()
            .any(|l| l.contains("filecrypt.sys,catalog-only-in-servicing,")),
        "{csv}"
    );
}

#[test]
fn case_scan_gives_the_same_verdicts_and_imports_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let drivers = write_case(dir.path());
    // A sigcheck CSV made on the machine says filecrypt.sys is unsigned.
    std::fs::write(
        dir.path().join("sigcheck.csv"),
        "Path,Verified,Date,Publisher,Company,Description\n\
         c:\\windows\\system32\\drivers\\filecrypt.sys,Unsigned,n/a,n/a,Microsoft Corporation,x\n",
    )
    .expect("write csv");
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let verdicts = signing::verify(dir.path(), &drivers, &RootStore::for_workbench(), &|_| {
        seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .verdicts;
    assert!(seen.into_inner() >= drivers.len());
    let got: Vec<(String, Verdict)> = verdicts
        .iter()
        .map(|v| {
            (
                v.driver.as_ref().expect("key").name().to_string(),
                v.verdict,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("filecrypt.sys".to_string(), Verdict::CatalogOnlyInServicing),
            ("cdrom.sys".to_string(), Verdict::SignedCatalog),
            ("basicdisplay.sys".to_string(), Verdict::SignedCatalog),
            ("cmbatt.sys".to_string(), Verdict::SignedCatalog),
        ]
    );
    let fc = &verdicts[0];
    assert_eq!(
        fc.catalog.as_ref().map(|c| c.location),
        Some(CatalogLocation::Servicing)
    );
    assert_eq!(
        fc.catalog.as_ref().and_then(|c| c.member_file.as_deref()),
        Some("filecrypt.sys")
    );
    assert_eq!(fc.third_party.len(), 1);
    assert_eq!(fc.third_party[0].status, "Unsigned");
    assert!(verdicts[1].third_party.is_empty());
    let key = bsod_workbench::driver::DriverKey::from_path("FILECRYPT.SYS").expect("key");
    assert_eq!(signing::for_driver(&verdicts, &key).len(), 1);
    assert_eq!(signing::by_driver(&verdicts).len(), 4);

    // Restoring the catalog (copying the package catalog into CatRoot) fixes the verdict.
    std::fs::copy(
        dir.path()
            .join("Windows/servicing/Packages")
            .join(PACKAGE_CAT),
        dir.path().join(CATROOT).join(PACKAGE_CAT),
    )
    .expect("copy");
    let verdicts = signing::verify(
        dir.path(),
        &drivers[..1],
        &RootStore::for_workbench(),
        &|_| {},
    )
    .verdicts;
    assert_eq!(verdicts[0].verdict, Verdict::SignedCatalog);
}

/// pefile (the Python PE reader) reads the written driver: headers, checksum, exports,
/// version strings and exception entries.
#[test]
fn pefile_reads_the_written_driver() {
    if !common::python_oracle("pefile") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = PeSpec::driver("filecrypt.sys");
    spec.exports = vec!["filecryptDispatch".into(), "DriverEntry".into()];
    let path = dir.path().join("filecrypt.sys");
    std::fs::write(&path, write_pe(&spec)).expect("write");
    let script = r#"
import sys, json, pefile
pe = pefile.PE(sys.argv[1])
out = {
  "machine": pe.FILE_HEADER.Machine,
  "timestamp": pe.FILE_HEADER.TimeDateStamp,
  "magic": pe.OPTIONAL_HEADER.Magic,
  "subsystem": pe.OPTIONAL_HEADER.Subsystem,
  "checksum_ok": pe.verify_checksum(),
  "exports": [e.name.decode() for e in pe.DIRECTORY_ENTRY_EXPORT.symbols],
  "pdata": len(pe.DIRECTORY_ENTRY_EXCEPTION),
  "strings": {k.decode(): v.decode() for fi in pe.FileInfo for e in fi if hasattr(e, "StringTable") for st in e.StringTable for k, v in st.entries.items()},
  "file_version_ms": pe.VS_FIXEDFILEINFO[0].FileVersionMS,
  "warnings": pe.get_warnings(),
}
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["machine"], 0x8664);
    assert_eq!(v["timestamp"], spec.timestamp);
    assert_eq!(v["magic"], 0x20b);
    assert_eq!(v["subsystem"], 1);
    assert_eq!(v["checksum_ok"], true);
    assert_eq!(
        v["exports"],
        serde_json::json!(["DriverEntry", "filecryptDispatch"])
    );
    assert_eq!(v["pdata"], 3);
    assert_eq!(v["strings"]["CompanyName"], "Microsoft Corporation");
    assert_eq!(v["strings"]["OriginalFilename"], "filecrypt.sys");
    assert_eq!(v["strings"]["FileVersion"], "10.0.19041.3636");
    assert_eq!(v["file_version_ms"], (10u64 << 16));
    // pefile only remarks on the zero padding of a small image.
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|w| w.as_str())
        .filter(|w| !w.starts_with("Byte 0x00 makes up"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// openssl parses a written catalog as DER and shows the CTL content type and member digests.
#[test]
fn openssl_parses_a_written_catalog() {
    if !tool_or_skip("openssl") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = write_pe(&PeSpec::driver("cdrom.sys"));
    let h = signing::authenticode_hashes(&bytes).expect("pe");
    let mut spec = CatalogSpec::new(3, CatalogVersion::V2Sha256);
    spec.members
        .push(MemberSpec::pe("cdrom.sys", &h, CatalogVersion::V2Sha256));
    let cat = dir.path().join("x.cat");
    std::fs::write(&cat, write_catalog(&spec)).expect("write");
    let out = Command::new("openssl")
        .args(["asn1parse", "-inform", "DER", "-in"])
        .arg(&cat)
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(":pkcs7-signedData"), "{text}");
    assert!(text.contains(":1.3.6.1.4.1.311.10.1"), "{text}");
    assert!(text.contains(":1.3.6.1.4.1.311.12.1.3"), "{text}");
    assert!(text.contains(&signing::der::hex_upper(&h.sha256)), "{text}");
    // And the strict CMS reader agrees it is SignedData with CTL content.
    // openssl's PKCS#7 reader (catalogs use PKCS#7 v1.5 framing, which its CMS reader refuses,
    // as it does for real catalogs) prints the CTL content type.
    let out = Command::new("openssl")
        .args(["pkcs7", "-print", "-inform", "DER", "-in"])
        .arg(&cat)
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1.3.6.1.4.1.311.10.1"), "{text}");
}

/// A throw-away self-signed code-signing certificate and key made by openssl.
fn test_signer(dir: &Path) -> (PathBuf, PathBuf) {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
        ])
        .args(["-subj", "/CN=bsodwb test signer", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl req");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (key, cert)
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// osslsigncode signs a written catalog, then finds the written driver in it, printing the
/// digest it computed itself (v1: SHA1, v2: SHA256), which must be the one we index by; our
/// reader then reads the signed catalog, its signer and a chain to the test certificate.
#[test]
fn osslsigncode_signs_and_verifies_written_catalogs() {
    if !tool_or_skip("osslsigncode") || !tool_or_skip("openssl") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, cert) = test_signer(dir.path());
    let roots = signing::RootStore::from_pem_file(&cert).expect("roots");
    for (i, version) in [CatalogVersion::V1Sha1, CatalogVersion::V2Sha256]
        .into_iter()
        .enumerate()
    {
        let mut pe = PeSpec::driver("CmBatt.sys");
        pe.data_size = 0x3000 + 0x100 * i as u32;
        let bytes = write_pe(&pe);
        let h = signing::authenticode_hashes(&bytes).expect("pe");
        let sys = dir.path().join(format!("CmBatt{i}.sys"));
        std::fs::write(&sys, &bytes).expect("write");
        let mut spec = CatalogSpec::new(9, version);
        spec.members.push(MemberSpec::pe("cmbatt.sys", &h, version));
        let unsigned = dir.path().join(format!("u{i}.cat"));
        std::fs::write(&unsigned, write_catalog(&spec)).expect("write");
        let cats = dir.path().join(format!("cats{i}"));
        std::fs::create_dir_all(&cats).expect("mkdir");
        let signed = cats.join("cmbatt.cat");
        let (ok, text) = run(Command::new("osslsigncode")
            .args(["sign", "-certs"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .arg("-in")
            .arg(&unsigned)
            .arg("-out")
            .arg(&signed));
        assert!(ok, "sign: {text}");
        let (ok, text) = run(Command::new("osslsigncode")
            .args(["verify", "-ignore-crl", "-CAfile"])
            .arg(&cert)
            .arg("-catalog")
            .arg(&signed)
            .arg("-in")
            .arg(&sys));
        let want = match version {
            CatalogVersion::V1Sha1 => signing::der::hex_upper(&h.sha1),
            CatalogVersion::V2Sha256 => signing::der::hex_upper(&h.sha256),
        };
        assert!(ok, "{version:?}: {text}");
        assert!(
            text.contains(&format!("Calculated message digest : {want}")),
            "{text}"
        );
        let cat = signing::Catalog::open(&signed).expect("reads the signed catalog");
        assert_eq!(cat.signer.as_deref(), Some("bsodwb test signer"));
        assert_eq!(cat.members.len(), 1);
        let index = signing::CatalogIndex::build(&[signing::CatalogDir::new(&cats)], &|_| {});
        let v = signing::verdict(&sys, &index, &roots);
        assert_eq!(v.verdict, Verdict::SignedCatalog);
        let c = v.catalog.expect("catalog");
        assert!(c.trusted(), "{}", c.signature.reason);
        assert_eq!(c.signature.chain.status, signing::ChainStatus::Verified);

        // Change the member's file name inside the signed catalog: its signature no longer
        // holds (osslsigncode agrees), so it vouches for nothing.
        let mut bytes = std::fs::read(&signed).expect("read");
        let name: Vec<u8> = "cmbatt.sys"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let at = bytes
            .windows(name.len())
            .position(|w| w == name.as_slice())
            .expect("file name in the catalog");
        bytes[at] = b'k';
        std::fs::write(&signed, &bytes).expect("write");
        let (ok, text) = run(Command::new("osslsigncode")
            .args(["verify", "-ignore-crl", "-CAfile"])
            .arg(&cert)
            .arg("-catalog")
            .arg(&signed)
            .arg("-in")
            .arg(&sys));
        assert!(!ok, "osslsigncode accepted a changed catalog: {text}");
        let index = signing::CatalogIndex::build(&[signing::CatalogDir::new(&cats)], &|_| {});
        let v = signing::verdict(&sys, &index, &roots);
        let c = v.catalog.as_ref().expect("catalog");
        assert_eq!(
            c.signature.message_digest.state,
            signing::CheckState::Mismatch
        );
        assert_eq!(v.verdict, Verdict::BadSignature, "{}", v.reason);
        assert!(v.warnings.iter().any(|w| w.says("vouches for nothing")));
    }
}

/// osslsigncode signs a written driver: we see an intact embedded signature whose digest is
/// the one osslsigncode computed, a verified chain to the test certificate, and after a
/// one-byte change in .text a digest mismatch (as osslsigncode reports).
#[test]
fn osslsigncode_signed_drivers_get_embedded_verdicts() {
    if !tool_or_skip("osslsigncode") || !tool_or_skip("openssl") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, cert) = test_signer(dir.path());
    let roots = signing::RootStore::from_pem_file(&cert).expect("roots");
    let unsigned = dir.path().join("cdrom.unsigned.sys");
    let bytes = write_pe(&PeSpec::driver("cdrom.sys"));
    std::fs::write(&unsigned, &bytes).expect("write");
    let signed = dir.path().join("cdrom.sys");
    let (ok, text) = run(Command::new("osslsigncode")
        .args(["sign", "-h", "sha256", "-certs"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .arg("-in")
        .arg(&unsigned)
        .arg("-out")
        .arg(&signed));
    assert!(ok, "sign: {text}");
    let (ok, text) = run(Command::new("osslsigncode")
        .args(["verify", "-ignore-crl", "-CAfile"])
        .arg(&cert)
        .arg("-in")
        .arg(&signed));
    assert!(ok, "{text}");
    let index = signing::CatalogIndex::build(&[], &|_| {});
    let v = signing::verdict(&signed, &index, &roots);
    assert_eq!(v.verdict, Verdict::SignedEmbedded, "{:?}", v.warnings);
    let sha256 = v.sha256.clone().expect("sha256");
    assert!(
        text.contains(&format!("Calculated message digest : {sha256}")),
        "{text}"
    );
    // Signing does not change the Authenticode hash.
    let h = signing::authenticode_hashes(&bytes).expect("pe");
    assert_eq!(sha256, signing::der::hex_upper(&h.sha256));
    assert_eq!(v.embedded.signer.as_deref(), Some("bsodwb test signer"));
    assert_eq!(v.embedded.digest_ok, Some(true));
    assert_eq!(v.embedded.chain, Some(signing::ChainStatus::Verified));
    let s = &v.embedded.signatures[0];
    assert!(s.signature.is_ok() && s.message_digest.is_ok(), "{s:?}");
    // Without the test certificate among the roots the chain stops at an unknown root.
    let shipped = signing::RootStore::builtin();
    let v2 = signing::verdict(&signed, &index, &shipped);
    assert_eq!(v2.embedded.chain, Some(signing::ChainStatus::TestRoot));
    assert_eq!(v2.verdict, Verdict::TestSigned);

    // Flip one byte of .text (file offset 0x400 + 8): digest mismatch for us and osslsigncode.
    let mut tampered = std::fs::read(&signed).expect("read");
    tampered[0x408] ^= 1;
    let bad = dir.path().join("cdrom.bad.sys");
    std::fs::write(&bad, &tampered).expect("write");
    let (ok, text) = run(Command::new("osslsigncode")
        .args(["verify", "-ignore-crl", "-CAfile"])
        .arg(&cert)
        .arg("-in")
        .arg(&bad));
    assert!(!ok && text.contains("MISMATCH"), "{text}");
    let v = signing::verdict(&bad, &index, &roots);
    assert_eq!(v.verdict, Verdict::DigestMismatch);
    assert_eq!(v.embedded.digest_ok, Some(false));
}

/// A case that holds a copy of the system drive one level down (`C\Windows\…`): the case loader
/// hands over the case folder and the catalogs are still found; progress counts them.
#[test]
fn case_scan_finds_catalogs_in_a_drive_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let drivers = write_case(&dir.path().join("C"));
    let indexed = std::sync::Mutex::new(Vec::new());
    let verdicts = signing::verify(dir.path(), &drivers, &RootStore::for_workbench(), &|p| {
        if let signing::ScanProgress::Indexing { done, total } = p {
            indexed.lock().expect("lock").push((done, total));
        }
    })
    .verdicts;
    assert_eq!(indexed.into_inner().expect("lock").last(), Some(&(4, 4)));
    assert_eq!(verdicts[0].verdict, Verdict::CatalogOnlyInServicing);
    assert!(
        verdicts[1..]
            .iter()
            .all(|v| v.verdict == Verdict::SignedCatalog)
    );
    // The full load keeps what the verdicts were judged against; a damaged catalog is a problem
    // to show, not a failure.
    std::fs::write(
        dir.path().join("C").join(CATROOT).join("broken.cat"),
        b"\x30\x05oops",
    )
    .expect("write");
    let full = signing::verify(
        dir.path(),
        &drivers,
        &signing::RootStore::builtin(),
        &|_| {},
    );
    assert_eq!(full.catalog_dirs.len(), 2);
    assert_eq!((full.catalogs, full.catalog_errors.len()), (5, 1));
    assert!(full.catalog_errors[0].0.ends_with("broken.cat"));
    assert_eq!(full.verdicts.len(), drivers.len());
    let summary = signing::Summary::of(&verdicts);
    assert_eq!(summary.only_in_servicing, vec![drivers[0].clone()]);
    assert!(
        summary
            .advice()
            .is_some_and(|a| a.contains("servicing\\Packages"))
    );
}
