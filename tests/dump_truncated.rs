//! A dump shorter than its run list or bitmap says how much is missing, with the offsets
//! (issue 12 item 3), on written x64 bitmap and x86 full (run list) dumps cut in half.

use bsod_workbench::dump;
use bsod_workbench::synth::dump::{
    Dump32Options, DumpSpec, Layout32, write_bitmap_dump, write_dump32,
};

fn cut(path: &std::path::Path, len: u64) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    f.set_len(len).expect("truncate");
}

#[test]
fn a_cut_bitmap_dump_says_how_many_bytes_and_pages_are_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("MEMORY.DMP");
    write_bitmap_dump(&path, &DumpSpec::demo_0x5a()).expect("write");
    let full = dump::open(&path).expect("open");
    assert!(
        !full.warnings.iter().any(|w| w.says("truncated")),
        "{:?}",
        full.warnings
    );
    let len = std::fs::metadata(&path).expect("meta").len();
    let keep = (len / 2) & !0xFFF;
    cut(&path, keep);
    let d = dump::open(&path).expect("a cut dump still opens");
    let w = bsod_workbench::warning::lines(&d.warnings);
    assert!(
        w.contains(&format!(
            "truncated: the file ends at offset {keep:#x}, its bitmap stores"
        )),
        "{w}"
    );
    assert!(w.contains(&format!("{} bytes missing", len - keep)), "{w}");
}

#[test]
fn a_cut_full_dump_names_the_lost_pfns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("MEMORY.DMP");
    let opts = Dump32Options {
        layout: Layout32::Full,
        pae: true,
        pae_flag: true,
    };
    write_dump32(&path, &DumpSpec::demo_0x5a(), opts).expect("write");
    let len = std::fs::metadata(&path).expect("meta").len();
    let keep = 0x1000 + 0x3000;
    cut(&path, keep);
    let d = dump::open(&path).expect("a cut dump still opens");
    let w = bsod_workbench::warning::lines(&d.warnings);
    assert!(
        w.contains(&format!(
            "truncated: the file ends at offset {keep:#x}, its physical memory run list stores pages up to offset {len:#x}: {} bytes missing",
            len - keep
        )),
        "{w}"
    );
    assert!(w.contains("PFNs 0x"), "{w}");
}
