//! Loading a whole case: every artefact of the samples folder parsed in one go, failures listed.

mod common;

use bsod_workbench::case::Case;
use bsod_workbench::driver::DriverKey;

#[test]
fn the_samples_folder_loads_as_one_case() {
    let Some(root) = common::sample("README.md").and_then(|p| p.parent().map(|p| p.to_path_buf()))
    else {
        return;
    };
    let mut stages = Vec::new();
    let case = Case::load(&root, &mut |p| stages.push(p.stage)).expect("load");
    assert!(stages.iter().any(|s| s.starts_with("discovering")));
    // The dumps: the x64 triage dump is analysed with amdppm.sys at fault.
    let x64 = case
        .dumps
        .iter()
        .find(|d| d.file.ends_with("triage_x64.dmp"))
        .expect("x64 dump loaded");
    assert_eq!(x64.dump.bugcheck.as_ref().map(|b| b.code), Some(0x1000007e));
    assert_eq!(x64.analysis.faulting_module.as_deref(), Some("amdppm.sys"));
    assert!(
        case.dumps
            .iter()
            .any(|d| d.file.ends_with("triage_arm64.dmp"))
    );
    // The xz-compressed SYSTEM hive is inflated and read: FileCrypt as regipy's SOURCE.txt lists it.
    let hive = case.hive.as_ref().expect("hive loaded through xz");
    let fc = hive
        .services
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case("FileCrypt"))
        .expect("FileCrypt");
    assert_eq!(fc.start.map(|s| s.0), Some(1));
    // Event logs, including the real CodeIntegrity log.
    assert!(case.event_logs.len() >= 5, "{}", case.event_logs.len());
    // Driver signatures: ftdibus.sys is vouched for by its catalog? It sits in a vendor folder,
    // not a case's CatRoot, so the verdict comes from its embedded signature.
    let ftdi = DriverKey::from_path("ftdibus.sys").expect("key");
    assert!(
        case.signatures
            .iter()
            .any(|v| v.driver.as_ref() == Some(&ftdi))
    );
    // The bad-chunk log's warning is a load problem naming the file.
    assert!(
        case.problems
            .iter()
            .any(|p| p.path.contains("sample_with_a_bad_chunk_magic")),
        "{:#?}",
        case.problems
    );
}

#[test]
fn problems_of_inflated_files_name_the_case_path_and_the_cause_once() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut z =
            zip::ZipWriter::new(std::fs::File::create(dir.path().join("case.zip")).expect("zip"));
        let opts = zip::write::SimpleFileOptions::default();
        // A dump cut inside its 0x2000-byte header, and an event log whose header is not one.
        z.start_file("Windows/Minidump/cut.dmp", opts)
            .expect("entry");
        let mut dmp = vec![0u8; 0x800];
        dmp[..8].copy_from_slice(b"PAGEDU64");
        z.write_all(&dmp).expect("write");
        z.start_file("Logs/System.evtx", opts).expect("entry");
        let mut evtx = b"ElfFile\0".to_vec();
        evtx.resize(0x1000, 0xff);
        z.write_all(&evtx).expect("write");
        z.finish().expect("finish");
    }
    let case = Case::load(dir.path(), &mut |_| {}).expect("load");
    let temp = std::env::temp_dir().display().to_string();
    let dump = case
        .problems
        .iter()
        .find(|p| p.path.ends_with("cut.dmp"))
        .unwrap_or_else(|| panic!("a problem for the cut dump: {:?}", case.problems));
    assert!(dump.path.contains("case.zip"), "{:?}", dump.path);
    assert!(
        dump.message
            .contains("expected a 0x2000-byte PAGEDU64 header"),
        "{:?}",
        dump.message
    );
    for p in &case.problems {
        assert!(!p.message.contains(&temp), "temp path in {p:?}");
        assert!(!p.message.contains("bsodwb-case-"), "temp folder in {p:?}");
        // The listing names the file; the message does not name it again.
        let name = p.path.rsplit(['/', '\\']).next().unwrap_or(&p.path);
        assert!(!p.message.contains(name), "file named twice: {p:?}");
    }
}
