//! Catalogs anywhere in a case are indexed with their place named (issue 12, item 5): a driver
//! listed only by the DriverStore's copy of its package catalog, or by a `.cat` lying elsewhere
//! in the case, is not `signed-catalog` and never "in no catalog of the case": Code Integrity
//! looks catalogs up in the catalog database (CatRoot) only, so the verdict is
//! `catalog-not-in-catroot`, with the place and the fix. Synthetic cases (catalogs signed by the
//! synthetic root) and the real FTDI package of the arduino-drivers sample.

mod common;

use bsod_workbench::analysis::CaseAnalysis;
use bsod_workbench::signing::{self, CatalogLocation, RootStore, Verdict};
use bsod_workbench::synth::catalog::{CatalogSpec, CatalogVersion, MemberSpec, write_catalog};
use bsod_workbench::synth::pe::{PeSpec, write_pe};
use std::path::{Path, PathBuf};
use std::process::Command;

const CATROOT: &str = "Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}";
const PACKAGE: &str = "Windows/System32/DriverStore/FileRepository/acme.inf_amd64_0f1e2d3c4b5a6978";

/// Three drivers: acme.sys listed only by its DriverStore package catalog, loose.sys only by a
/// catalog left in a vendor folder of the case, inbox.sys by a CatRoot catalog.
fn write_case(root: &Path) -> Vec<PathBuf> {
    let drivers_dir = root.join("Windows/System32/drivers");
    let package = root.join(PACKAGE);
    let vendor = root.join("Users/Public/Downloads/acme-2.1");
    for d in [&drivers_dir, &package, &vendor, &root.join(CATROOT)] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let mut paths = Vec::new();
    for (i, (name, cat_dir)) in [
        ("acme.sys", package.clone()),
        ("loose.sys", vendor.clone()),
        ("inbox.sys", root.join(CATROOT)),
    ]
    .into_iter()
    .enumerate()
    {
        let mut spec = PeSpec::driver(name);
        spec.timestamp += i as u32;
        let bytes = write_pe(&spec);
        let p = drivers_dir.join(name);
        std::fs::write(&p, &bytes).expect("write driver");
        let h = signing::authenticode_hashes(&bytes).expect("pe");
        let mut cat = CatalogSpec::new(40 + i as u64, CatalogVersion::V2Sha256);
        cat.members
            .push(MemberSpec::pe(name, &h, CatalogVersion::V2Sha256));
        let stem = name.trim_end_matches(".sys");
        std::fs::write(cat_dir.join(format!("{stem}.cat")), write_catalog(&cat)).expect("cat");
        paths.push(p);
    }
    paths
}

#[test]
fn catalogs_outside_catroot_are_named_and_not_trusted_at_boot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let drivers = write_case(dir.path());
    let full = signing::verify(dir.path(), &drivers, &RootStore::for_workbench(), &|_| {});
    // Every catalog of the case is indexed, each with its place.
    let places: Vec<CatalogLocation> = full.catalog_dirs.iter().map(|d| d.location).collect();
    for want in [
        CatalogLocation::Catroot,
        CatalogLocation::DriverStore,
        CatalogLocation::Elsewhere,
    ] {
        assert!(places.contains(&want), "{want:?} in {places:?}");
    }
    assert_eq!(full.catalogs, 3);
    let v = &full.verdicts;
    assert_eq!(v[2].verdict, Verdict::SignedCatalog, "{}", v[2].reason);

    let acme = &v[0];
    assert_eq!(
        acme.verdict,
        Verdict::CatalogNotInCatroot,
        "{}",
        acme.reason
    );
    let cat = acme.catalog.as_ref().expect("the catalog is named");
    assert_eq!(cat.location, CatalogLocation::DriverStore);
    assert!(cat.trusted(), "the catalog's own signature holds");
    assert!(acme.reason.contains("DriverStore"), "{}", acme.reason);
    assert!(
        acme.reason
            .contains("pnputil /add-driver C:\\Windows\\System32\\DriverStore\\FileRepository\\acme.inf_amd64_0f1e2d3c4b5a6978"),
        "{}",
        acme.reason
    );
    assert!(
        acme.windows.contains("catalog database"),
        "{}",
        acme.windows
    );

    let loose = &v[1];
    assert_eq!(
        loose.verdict,
        Verdict::CatalogNotInCatroot,
        "{}",
        loose.reason
    );
    assert_eq!(
        loose.catalog.as_ref().map(|c| c.location),
        Some(CatalogLocation::Elsewhere)
    );
    assert!(loose.reason.contains("signtool catdb"), "{}", loose.reason);
    for f in v {
        assert!(!f.reason.contains("in no catalog"), "{}", f.reason);
        assert!(
            !f.verdict.is_signed()
                || f.catalog
                    .as_ref()
                    .is_some_and(|c| c.location == CatalogLocation::Catroot)
        );
    }

    // Installing the package (its catalog copied into CatRoot) makes the driver signed.
    std::fs::copy(
        dir.path().join(PACKAGE).join("acme.cat"),
        dir.path().join(CATROOT).join("oem7.cat"),
    )
    .expect("copy");
    let again = signing::verify(
        dir.path(),
        &drivers[..1],
        &RootStore::for_workbench(),
        &|_| {},
    )
    .verdicts;
    assert_eq!(
        again[0].verdict,
        Verdict::SignedCatalog,
        "{}",
        again[0].reason
    );
    assert_eq!(
        again[0].catalog.as_ref().map(|c| c.location),
        Some(CatalogLocation::Catroot)
    );
    // The DriverStore copy is still listed beside it.
    assert!(
        again[0]
            .catalogs
            .iter()
            .any(|c| c.location == CatalogLocation::DriverStore)
    );
}

/// `bsodwb sig` on the case's drivers finds the same catalogs and says the same in JSON and CSV.
#[test]
fn bsodwb_sig_names_the_place_of_the_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(dir.path());
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
    let by_name = |n: &str| {
        json.as_array()
            .expect("array")
            .iter()
            .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(n)))
            .unwrap_or_else(|| panic!("{n} in output"))
            .clone()
    };
    assert_eq!(by_name("acme.sys")["verdict"], "catalog-not-in-catroot");
    assert_eq!(by_name("acme.sys")["catalog"]["location"], "driver-store");
    assert_eq!(by_name("loose.sys")["verdict"], "catalog-not-in-catroot");
    assert_eq!(by_name("loose.sys")["catalog"]["location"], "elsewhere");
    assert_eq!(by_name("inbox.sys")["verdict"], "signed-catalog");

    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--format", "csv", "--roots"])
        .arg(&pem)
        .arg(dir.path().join("Windows/System32/drivers/acme.sys"))
        .output()
        .expect("runs bsodwb");
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.contains(",catalog-not-in-catroot,"), "{csv}");

    // Text: the verdict, the place, the fix, and the summary's advice; stderr counts the loose
    // catalogs instead of listing each.
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--roots"])
        .arg(&pem)
        .arg(dir.path().join("Windows/System32/drivers"))
        .output()
        .expect("runs bsodwb");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Verdict:     catalog-not-in-catroot"),
        "{text}"
    );
    assert!(text.contains("pnputil /add-driver"), "{text}");
    assert!(
        text.contains("2 file(s) are listed only by catalogs outside the catalog database"),
        "{text}"
    );
    assert!(!text.contains("in no catalog"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("(driver-store)"), "{err}");
    assert!(err.contains("1 more .cat file(s) elsewhere"), "{err}");
}

/// The real FTDI package (catalog signed by Microsoft's WHQL publisher) as Windows keeps it
/// after `pnputil /add-driver` without install: the catalog-only driver (its embedded signature
/// removed) is listed by the DriverStore's ftdibus.cat, which Code Integrity does not consult.
#[test]
fn real_ftdi_package_only_in_the_driverstore() {
    let sample = sample_or_skip!("arduino-drivers");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let package =
        root.join("Windows/System32/DriverStore/FileRepository/ftdibus.inf_amd64_e5b5b1a9e2c3d4f0");
    let drivers_dir = root.join("Windows/System32/drivers");
    for d in [&package.join("amd64"), &drivers_dir, &root.join(CATROOT)] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    for f in ["ftdibus.inf", "ftdibus.cat"] {
        std::fs::copy(sample.join("ftdi").join(f), package.join(f)).expect("copy");
    }
    let driver = drivers_dir.join("ftdibus.sys");
    std::fs::copy(sample.join("derived/ftdibus.nosig.sys"), &driver).expect("copy");
    std::fs::copy(&driver, package.join("amd64/ftdibus.sys")).expect("copy");
    let roots = RootStore::builtin();
    let full = signing::verify(root, std::slice::from_ref(&driver), &roots, &|_| {});
    let v = &full.verdicts[0];
    assert_eq!(v.verdict, Verdict::CatalogNotInCatroot, "{}", v.reason);
    let cat = v.catalog.as_ref().expect("catalog");
    assert_eq!(cat.location, CatalogLocation::DriverStore);
    assert!(cat.trusted(), "{}", cat.signature.reason);
    assert_eq!(cat.member_file.as_deref(), Some("ftdibus.sys"));
    assert!(
        v.reason
            .contains("FileRepository\\ftdibus.inf_amd64_e5b5b1a9e2c3d4f0\\ftdibus.inf /install"),
        "{}",
        v.reason
    );
    assert!(!v.reason.contains("in no catalog"), "{}", v.reason);

    // Registered (copied into CatRoot as PnP installation does, under an oemN.cat name).
    std::fs::copy(
        package.join("ftdibus.cat"),
        root.join(CATROOT).join("oem3.cat"),
    )
    .expect("copy");
    let full = signing::verify(root, std::slice::from_ref(&driver), &roots, &|_| {});
    let v = &full.verdicts[0];
    assert_eq!(v.verdict, Verdict::SignedCatalog, "{}", v.reason);
    assert_eq!(
        v.catalog.as_ref().map(|c| c.location),
        Some(CatalogLocation::Catroot)
    );
}

/// A file that is not a PE image gets `not-a-pe-image` from the library: JSON says so too.
#[test]
fn not_a_pe_image_is_a_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("readme.sys");
    std::fs::write(&f, b"this is text, not a driver\n").expect("write");
    let index = signing::CatalogIndex::default();
    let v = signing::verdict(&f, &index, &RootStore::empty());
    assert_eq!(v.verdict, Verdict::NotAPeImage);
    assert!(!v.verdict.is_signed());
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--no-case", "--format", "json"])
        .arg(&f)
        .output()
        .expect("runs bsodwb");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json[0]["verdict"], "not-a-pe-image");
    // Nothing was judged: the exit code says so.
    assert!(!out.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--no-case"])
        .arg(&f)
        .output()
        .expect("runs bsodwb");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not a PE image"), "{text}");
    assert!(!text.contains("unsigned"), "{text}");
}

/// The workbench's case load and findings: a driver listed only by its DriverStore catalog gets
/// a finding naming the place and the fix, and no finding says "in no catalog of the case".
#[test]
fn findings_name_the_catalog_outside_catroot() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_case(dir.path());
    let case = bsod_workbench::case::Case::load(dir.path(), &mut |_| {}).expect("load");
    let findings = CaseAnalysis::build(&case).findings;
    let titles: Vec<&str> = findings.iter().map(|f| f.title.as_str()).collect();
    let acme = findings
        .iter()
        .find(|f| f.title.starts_with("acme.sys"))
        .unwrap_or_else(|| panic!("a finding for acme.sys in {titles:#?}"));
    assert!(acme.title.contains("not in CatRoot"), "{}", acme.title);
    assert!(
        acme.remediation
            .as_deref()
            .is_some_and(|r| r.contains("pnputil /add-driver")),
        "{:?}",
        acme.remediation
    );
    assert!(
        acme.evidence.iter().any(|e| e.contains("DriverStore")),
        "{:?}",
        acme.evidence
    );
    assert!(
        titles.iter().all(|t| !t.contains("in no catalog")),
        "{titles:#?}"
    );
}
