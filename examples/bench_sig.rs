//! Benchmark: hash 500 written driver files and look them up against 6,000 written catalogs
//! (3,000 in CatRoot, 3,000 in servicing\Packages), side by side with osslsigncode.
//!
//! `cargo run --release --example bench_sig [-- FILES CATALOGS OSSL_SUBSET]`
//!
//! Target (issue 10): under 1 s on 2 cores for index + verdicts, with every catalog signed (by
//! the synthetic test root) and every signature, timestamp and chain checked. Then the two
//! denial-of-service inputs of issue 10, each under 1 s: a 3.4 MB catalog listing one member
//! 8,000 times, and a driver carrying 8 certificates that all cross-sign each other (needs
//! openssl and osslsigncode). osslsigncode has no catalog
//! index: `verify -catalog X.cat -in Y.sys` checks one file against one named catalog, so it is
//! timed on a subset of (file, its catalog) pairs and scaled to all files, both for the case where
//! the right catalog is known (1 call per file) and for a search through every catalog.

use bsod_workbench::signing::{self, CatalogDir, CatalogIndex, CatalogLocation, Verdict};
use bsod_workbench::synth::catalog::{
    CatalogSpec, CatalogVersion, MemberKind, MemberSpec, write_catalog,
};
use bsod_workbench::synth::pe::{FunctionSpec, PeSpec, write_pe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// splitmix64: deterministic filler for hashes and sizes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_files = args.first().copied().unwrap_or(500);
    let n_cats = args.get(1).copied().unwrap_or(6000);
    let ossl_subset = args.get(2).copied().unwrap_or(20);
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    let drivers = root.join("Windows/System32/drivers");
    let catroot = root.join("Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}");
    let servicing = root.join("Windows/servicing/Packages");
    for d in [&drivers, &catroot, &servicing] {
        std::fs::create_dir_all(d)?;
    }

    // --- write the inputs (not timed) ---
    let t = Instant::now();
    let mut rng = Rng(5);
    let mut files = Vec::new();
    let mut driver_bytes = 0usize;
    let mut hashes = Vec::new();
    for i in 0..n_files {
        let name = format!("drv{i:04}.sys");
        let mut spec = PeSpec::driver(&name);
        spec.timestamp = 0x5f00_0000 + i as u32;
        // Inbox drivers are 20 KB - 1 MB; most are under 200 KB.
        spec.data_size = 0x4000 + (rng.next() % 0x30000) as u32;
        spec.functions
            .extend((0..(rng.next() % 40)).map(|f| FunctionSpec::new(&format!("f{f}"), 200, 0x28)));
        let bytes = write_pe(&spec);
        driver_bytes += bytes.len();
        hashes.push(signing::authenticode_hashes(&bytes)?);
        let p = drivers.join(&name);
        std::fs::write(&p, &bytes)?;
        files.push(p);
    }
    // Catalogs: half CatRoot, half servicing; 10-80 members each; every driver listed in one
    // catalog of each folder except every 10th, which is only in servicing.
    let mut pairs: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut cat_bytes = 0usize;
    let mut members_total = 0usize;
    for c in 0..n_cats {
        let in_servicing = c % 2 == 1;
        let version = if c % 3 == 0 {
            CatalogVersion::V1Sha1
        } else {
            CatalogVersion::V2Sha256
        };
        let mut spec = CatalogSpec::new(c as u64, version);
        let len = if version == CatalogVersion::V1Sha1 {
            20
        } else {
            32
        };
        let n = 10 + (rng.next() % 71) as usize;
        for m in 0..n {
            spec.members.push(MemberSpec {
                digest: rng.bytes(len),
                file: format!("file{c}_{m}.dll"),
                os_attr: Some("2:10.0".into()),
                kind: MemberKind::PeImage,
            });
        }
        // Driver i goes to catalog pair (2k, 2k+1) with k = i mod (n_cats/2).
        let stride = (n_cats / 2).max(1);
        let mut listed = Vec::new();
        for i in (c / 2..n_files).step_by(stride) {
            if in_servicing || i % 10 != 0 {
                spec.members.push(MemberSpec::pe(
                    &format!("drv{i:04}.sys"),
                    &hashes[i],
                    version,
                ));
                listed.push(i);
            }
        }
        members_total += spec.members.len();
        let bytes = write_catalog(&spec);
        cat_bytes += bytes.len();
        let dir = if in_servicing { &servicing } else { &catroot };
        let path = dir.join(format!(
            "Package_{c}_for_KB50{c:05}~31bf3856ad364e35~amd64~~10.0.1.{c}.cat"
        ));
        std::fs::write(&path, bytes)?;
        if !in_servicing && pairs.len() < ossl_subset {
            for i in listed {
                pairs.push((files[i].clone(), path.clone()));
            }
        }
    }
    pairs.truncate(ossl_subset);
    println!(
        "inputs: {n_files} drivers ({:.1} MiB), {n_cats} catalogs ({:.1} MiB, {members_total} members); written in {:.2} s",
        driver_bytes as f64 / 1048576.0,
        cat_bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    // --- bsodwb: index both folders, then judge every driver ---
    let threads = rayon::current_num_threads();
    let t = Instant::now();
    let index = CatalogIndex::build(
        &[
            CatalogDir::with_location(&catroot, CatalogLocation::Catroot),
            CatalogDir::with_location(&servicing, CatalogLocation::Servicing),
        ],
        &|_| {},
    );
    let t_index = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let roots = signing::RootStore::builtin();
    let verdicts = signing::verdicts(&files, &index, &roots);
    let t_verdicts = t.elapsed().as_secs_f64();
    // Again, with every catalog already judged (what the first pass spent on catalogs shows).
    let t2 = Instant::now();
    let _ = signing::verdicts(&files, &index, &roots);
    let t_again = t2.elapsed().as_secs_f64();
    let total = t_index + t_verdicts;
    let only_servicing = verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::CatalogOnlyInServicing)
        .count();
    let signed = verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::SignedCatalog)
        .count();
    assert_eq!(
        signed + only_servicing,
        n_files,
        "every driver is in some catalog"
    );
    assert_eq!(only_servicing, n_files.div_ceil(10).min(n_files));
    println!(
        "bsodwb ({threads} threads): index {} catalogs / {} hashes in {t_index:.3} s, {n_files} verdicts in {t_verdicts:.3} s ({t_again:.3} s again with the catalogs judged); total {total:.3} s (target < 1 s) -> {signed} signed-catalog, {only_servicing} catalog-only-in-servicing",
        index.catalogs.len(),
        index.member_count()
    );
    dos_catalog(root, &files[0], &hashes[0])?;
    if tool("osslsigncode") && tool("openssl") {
        dos_cross_signing(root)?;
    }

    // --- osslsigncode on the same inputs ---
    if !tool("osslsigncode") || !tool("openssl") || pairs.is_empty() {
        println!("osslsigncode: not installed (or no pairs); comparison skipped");
        return Ok(());
    }
    let (key, cert) = signer(root)?;
    let signed_dir = root.join("signed");
    std::fs::create_dir_all(&signed_dir)?;
    let mut signed_pairs = Vec::new();
    for (k, (sys, cat)) in pairs.iter().enumerate() {
        let out = signed_dir.join(format!("{k}.cat"));
        let ok = Command::new("osslsigncode")
            .args(["sign", "-certs"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .arg("-in")
            .arg(cat)
            .arg("-out")
            .arg(&out)
            .output()?
            .status
            .success();
        if ok {
            signed_pairs.push((sys.clone(), out));
        }
    }
    let t = Instant::now();
    let mut agree = 0;
    for (sys, cat) in &signed_pairs {
        let out = Command::new("osslsigncode")
            .args(["verify", "-ignore-crl", "-CAfile"])
            .arg(&cert)
            .arg("-catalog")
            .arg(cat)
            .arg("-in")
            .arg(sys)
            .output()?;
        if out.status.success() {
            agree += 1;
        }
    }
    let per_call = t.elapsed().as_secs_f64() / signed_pairs.len().max(1) as f64;
    let known = per_call * n_files as f64;
    let search = per_call * n_files as f64 * (n_cats as f64 / 2.0);
    println!(
        "osslsigncode: {} verify -catalog calls, {agree} succeeded, {:.1} ms per call",
        signed_pairs.len(),
        per_call * 1000.0
    );
    println!(
        "  scaled to {n_files} files with the right catalog named: {known:.2} s -> bsodwb is {:.1}x faster",
        known / total
    );
    println!(
        "  scaled to {n_files} files searched through {} catalogs each (average half of {n_cats}): {search:.0} s -> bsodwb is {:.0}x faster",
        n_cats / 2,
        search / total
    );
    Ok(())
}

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg(if name == "openssl" {
            "version"
        } else {
            "--version"
        })
        .output()
        .is_ok_and(|o| o.status.success())
}

fn signer(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=bench signer", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()?
        .status
        .success();
    anyhow::ensure!(ok, "openssl req failed");
    Ok((key, cert))
}

/// A 3.4 MB catalog listing one driver 8,000 times: one parse, one hash, one verdict.
fn dos_catalog(
    root: &Path,
    sys: &Path,
    hashes: &signing::AuthenticodeHashes,
) -> anyhow::Result<()> {
    let dir = root.join("dos-catalog");
    std::fs::create_dir_all(&dir)?;
    let mut spec = CatalogSpec::new(8000, CatalogVersion::V2Sha256);
    let member = MemberSpec::pe("drv0000.sys", hashes, CatalogVersion::V2Sha256);
    let mut big = member.clone();
    big.file = "drv0000.sys".to_string();
    spec.members = vec![big; 8000];
    let bytes = write_catalog(&spec);
    std::fs::write(dir.join("dos.cat"), &bytes)?;
    let t = Instant::now();
    let index = CatalogIndex::build(&[CatalogDir::new(&dir)], &|_| {});
    let v = signing::verdict(sys, &index, &signing::RootStore::builtin());
    println!(
        "denial of service: a {:.1} MB catalog listing one member 8,000 times: index + verdict in {:.3} s (target < 1 s) -> {}",
        bytes.len() as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        v.verdict
    );
    Ok(())
}

/// A driver whose signature carries 8 certificates naming 8 CAs that all sign each other (56
/// cross-certificates, every path a loop): the chain check stays linear.
fn dos_cross_signing(root: &Path) -> anyhow::Result<()> {
    let dir = root.join("dos-cross");
    std::fs::create_dir_all(&dir)?;
    let run = |c: &mut Command| -> anyhow::Result<()> {
        let out = c.output()?;
        anyhow::ensure!(
            out.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    let n = 8;
    let ext = dir.join("ext.cnf");
    std::fs::write(
        &ext,
        "[ca]\nbasicConstraints=critical,CA:TRUE\n[leaf]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=codeSigning\n",
    )?;
    for i in 0..n {
        run(Command::new("openssl")
            .args(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj"])
            .arg(format!("/CN=loop CA {i}"))
            .arg("-keyout")
            .arg(dir.join(format!("k{i}.pem")))
            .arg("-out")
            .arg(dir.join(format!("r{i}.csr"))))?;
        // A self-signed copy to sign the others with.
        run(Command::new("openssl")
            .args(["x509", "-req", "-days", "30", "-in"])
            .arg(dir.join(format!("r{i}.csr")))
            .arg("-signkey")
            .arg(dir.join(format!("k{i}.pem")))
            .arg("-out")
            .arg(dir.join(format!("s{i}.pem"))))?;
    }
    let mut chain = String::new();
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let out = dir.join(format!("c{i}_{j}.pem"));
            run(Command::new("openssl")
                .args(["x509", "-req", "-days", "30", "-set_serial"])
                .arg(format!("{}", 100 + i * n + j))
                .arg("-in")
                .arg(dir.join(format!("r{i}.csr")))
                .arg("-CA")
                .arg(dir.join(format!("s{j}.pem")))
                .arg("-CAkey")
                .arg(dir.join(format!("k{j}.pem")))
                .args(["-extfile"])
                .arg(&ext)
                .args(["-extensions", "ca", "-out"])
                .arg(&out))?;
            chain.push_str(&std::fs::read_to_string(&out)?);
        }
    }
    run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=loop signer",
            "-keyout",
        ])
        .arg(dir.join("leaf.key"))
        .arg("-out")
        .arg(dir.join("leaf.csr")))?;
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "30", "-set_serial", "7", "-in"])
        .arg(dir.join("leaf.csr"))
        .arg("-CA")
        .arg(dir.join("s0.pem"))
        .arg("-CAkey")
        .arg(dir.join("k0.pem"))
        .arg("-extfile")
        .arg(&ext)
        .args(["-extensions", "leaf", "-out"])
        .arg(dir.join("leaf.pem")))?;
    let certs = dir.join("certs.pem");
    std::fs::write(
        &certs,
        format!("{}{chain}", std::fs::read_to_string(dir.join("leaf.pem"))?),
    )?;
    let unsigned = dir.join("loop.sys");
    std::fs::write(&unsigned, write_pe(&PeSpec::driver("loop.sys")))?;
    let signed = dir.join("loop.signed.sys");
    run(Command::new("osslsigncode")
        .args(["sign", "-h", "sha256", "-certs"])
        .arg(&certs)
        .arg("-key")
        .arg(dir.join("leaf.key"))
        .arg("-in")
        .arg(&unsigned)
        .arg("-out")
        .arg(&signed))?;
    let size = std::fs::metadata(&signed)?.len();
    let index = CatalogIndex::build(&[], &|_| {});
    let t = Instant::now();
    let v = signing::verdict(&signed, &index, &signing::RootStore::builtin());
    println!(
        "denial of service: a {:.0} KB driver carrying {} mutually cross-signing CA certificates: verdict in {:.3} s (target < 1 s) -> {} ({})",
        size as f64 / 1e3,
        n * (n - 1),
        t.elapsed().as_secs_f64(),
        v.verdict,
        v.embedded
            .signatures
            .first()
            .map(|s| s.chain.describe())
            .unwrap_or_default()
    );
    Ok(())
}
