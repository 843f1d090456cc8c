//! Bad input never panics and keeps what can be read: truncated and bit-flipped samples,
//! corrupt catalogs among good ones, files that are not PE images.

mod common;

use bsod_workbench::signing::{self, Catalog, CatalogDir, CatalogIndex, Verdict};
use bsod_workbench::synth::catalog::{CatalogSpec, CatalogVersion, MemberSpec, write_catalog};
use bsod_workbench::synth::pe::{PeSpec, write_pe};

/// Every prefix (in steps) and a spread of single-byte flips of `bytes` go through `f`.
fn mutate(bytes: &[u8], step: usize, mut f: impl FnMut(&[u8])) {
    for len in (0..bytes.len()).step_by(step) {
        f(&bytes[..len]);
    }
    let mut copy = bytes.to_vec();
    for at in (0..bytes.len()).step_by(step / 2 + 1) {
        for mask in [0x01, 0x80, 0xff] {
            copy[at] ^= mask;
            f(&copy);
            copy[at] ^= mask;
        }
    }
}

#[test]
fn truncated_and_flipped_catalogs_never_panic() {
    let root = sample_or_skip!("arduino-drivers");
    let bytes = std::fs::read(root.join("ftdi/ftdibus.cat")).expect("sample");
    let mut partial = 0;
    mutate(&bytes, 97, |b| {
        if let Ok(c) = Catalog::parse(b)
            && !c.warnings.is_empty()
        {
            partial += 1;
        }
    });
    // Some damaged copies still give their readable members plus a warning.
    assert!(partial > 0);
    // A copy cut inside the member list keeps the members before the cut... or fails with an
    // offset inside the file: never one outside it.
    for len in [bytes.len() / 4, bytes.len() / 2] {
        match Catalog::parse(&bytes[..len]) {
            Ok(c) => assert!(c.members.len() < 9),
            Err(e) => assert!(e.offset <= len, "{e}"),
        }
    }
}

#[test]
fn truncated_and_flipped_drivers_never_panic() {
    let root = sample_or_skip!("arduino-drivers");
    let bytes = std::fs::read(root.join("ftdi/amd64/ftdibus.sys")).expect("sample");
    // The headers and the certificate table are where the parsing is: mutate them densely.
    let table = 126_976;
    mutate(&bytes[..0x400], 7, |b| {
        let _ = signing::authenticode_hashes(b);
        let _ = signing::embedded_signature(b);
    });
    let mut tail = bytes.clone();
    for at in (table..bytes.len()).step_by(41) {
        tail[at] ^= 0x5a;
        if let Ok(e) = signing::embedded_signature(&tail) {
            // Whatever was read is consistent: a damaged signature is never reported intact
            // unless the flipped byte is outside what the checks cover.
            let _ = e.intact();
        }
        tail[at] ^= 0x5a;
    }
    for len in (table..bytes.len()).step_by(389) {
        let cut = &bytes[..len];
        // The directory now points past the end: an error, not a panic.
        assert!(signing::authenticode_hashes(cut).is_err());
    }
}

#[test]
fn a_corrupt_catalog_does_not_hide_the_good_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pe = write_pe(&PeSpec::driver("cdrom.sys"));
    let h = signing::authenticode_hashes(&pe).expect("pe");
    let sys = dir.path().join("cdrom.sys");
    std::fs::write(&sys, &pe).expect("write");
    let cats = dir.path().join("cats/nested");
    std::fs::create_dir_all(&cats).expect("mkdir");
    let mut spec = CatalogSpec::new(1, CatalogVersion::V2Sha256);
    spec.members
        .push(MemberSpec::pe("cdrom.sys", &h, CatalogVersion::V2Sha256));
    std::fs::write(cats.join("good.CAT"), write_catalog(&spec)).expect("write");
    std::fs::write(cats.join("bad.cat"), b"\x30\x82\xff\xff garbage").expect("write");
    std::fs::write(cats.join("empty.cat"), b"").expect("write");
    std::fs::write(cats.join("notes.txt"), b"not a catalog").expect("write");
    let index = CatalogIndex::build(&[CatalogDir::new(dir.path().join("cats"))], &|_| {});
    assert_eq!(index.catalogs.len(), 3);
    let errors = index.catalogs.iter().filter(|c| c.error.is_some()).count();
    assert_eq!(errors, 2);
    let v = signing::verdict(&sys, &index, &signing::RootStore::builtin());
    assert_eq!(v.verdict, Verdict::SignedCatalog);
    assert!(v.catalog.expect("hit").path.ends_with("good.CAT"));
}

#[test]
fn files_that_are_not_pe_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = CatalogIndex::build(&[], &|_| {});
    // A text file: flat hashes, not a PE image (neither unsigned nor unreadable).
    let txt = dir.path().join("readme.sys");
    std::fs::write(&txt, b"hello").expect("write");
    let v = signing::verdict(&txt, &index, &signing::RootStore::builtin());
    assert_eq!(v.verdict, Verdict::NotAPeImage);
    assert_eq!(v.hash_kind, signing::HashKind::Flat);
    assert_eq!(
        v.sha1.as_deref(),
        Some("AAF4C61DDCC5E8A2DABEDE0F3B482CD9AEA9434D")
    );
    // MZ with a broken PE header: unreadable, and the warning names the file and offset.
    let bad = dir.path().join("bad.sys");
    let mut b = vec![0u8; 0x100];
    b[..2].copy_from_slice(b"MZ");
    b[0x3c] = 0x40;
    std::fs::write(&bad, &b).expect("write");
    let v = signing::verdict(&bad, &index, &signing::RootStore::builtin());
    assert_eq!(v.verdict, Verdict::Unreadable);
    assert!(
        v.warnings[0].says("bad.sys") && v.warnings[0].says("0x40"),
        "{:?}",
        v.warnings
    );
    // A missing file: unreadable.
    let v = signing::verdict(
        &dir.path().join("gone.sys"),
        &index,
        &signing::RootStore::builtin(),
    );
    assert_eq!(v.verdict, Verdict::Unreadable);
    assert!(v.warnings[0].says("gone.sys"));
}

/// A flat-file member (the INF in ftdibus.cat) is found by the file's plain SHA1.
#[test]
fn an_inf_is_found_by_its_flat_hash() {
    let root = sample_or_skip!("arduino-drivers");
    let index = CatalogIndex::build(&[CatalogDir::new(root.join("ftdi"))], &|_| {});
    let v = signing::verdict(
        &root.join("ftdi/ftdibus.inf"),
        &index,
        &signing::RootStore::builtin(),
    );
    assert_eq!(v.verdict, Verdict::SignedCatalog);
    assert_eq!(
        v.sha1.as_deref(),
        Some("5D4AE8370FB8A05189B0ED9430459BCB97BB9E54")
    );
    assert_eq!(
        v.catalog.and_then(|c| c.member_file).as_deref(),
        Some("ftdibus.inf")
    );
}
