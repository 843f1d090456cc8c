//! No panics on any input: truncated and corrupted copies of every sample and of written dumps
//! open (or fail with an error) and analyse without panicking.

mod common;

use bsod_workbench::dump::{self, analysis, report};
use bsod_workbench::synth::dump::{DumpSpec, write_bitmap_dump, write_triage_dump};

/// A small deterministic generator (xorshift) so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn exercise(bytes: Vec<u8>, name: &str) {
    let path = std::path::Path::new(name);
    let shared = std::sync::Arc::new(bsod_workbench::mapped::Bytes::from(bytes));
    if let Ok(d) = dump::from_bytes(path, shared) {
        let a = analysis::analyze(&d, &analysis::AnalyzeOptions::default());
        let _ = report::text_report(&d, &a);
        let _ = serde_json::to_string(&report::json_report(&d, &a)).unwrap();
    }
}

fn mutate(original: &[u8], name: &str, seed: u64) {
    let mut rng = Rng(seed);
    // Truncations, including inside the header and the secondary header.
    for cut in [
        0usize, 4, 8, 0x40, 0x348, 0xf98, 0x1fff, 0x2000, 0x2010, 0x2080, 0x3000,
    ] {
        exercise(original[..cut.min(original.len())].to_vec(), name);
    }
    for _ in 0..12 {
        let cut = (rng.next() as usize) % original.len().max(1);
        exercise(original[..cut].to_vec(), name);
    }
    // Corrupted bytes: in the headers (offsets, counts) and anywhere.
    for round in 0..60 {
        let mut b = original.to_vec();
        for _ in 0..16 {
            let span = if round % 2 == 0 {
                0x2100.min(b.len())
            } else {
                b.len()
            };
            if span == 0 {
                break;
            }
            let at = (rng.next() as usize) % span;
            b[at] = rng.next() as u8;
            if round % 3 == 0 && at + 4 <= b.len() {
                b[at..at + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
            }
        }
        exercise(b, name);
    }
}

#[test]
fn corrupted_samples_never_panic() {
    for s in [
        "rizin-testbins/triage_x64.dmp",
        "rizin-testbins/triage_arm64.dmp",
        "rizin-testbins/calc.dmp",
        "imhex-patterns/minidump_user.dmp",
        "imhex-patterns/dmp64_full_header_19045.bin",
    ] {
        let p = sample_or_skip!(s);
        mutate(&std::fs::read(&p).unwrap(), s, 0x9e37_79b9_7f4a_7c15);
    }
}

#[test]
fn corrupted_written_dumps_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = DumpSpec::demo_0xd1();
    spec.size_bytes = 8 << 20;
    spec.dense_bitmap = false;
    let bmp = dir.path().join("MEMORY.DMP");
    write_bitmap_dump(&bmp, &spec).unwrap();
    let tri = dir.path().join("mini.dmp");
    write_triage_dump(&tri, &spec).unwrap();
    mutate(&std::fs::read(&bmp).unwrap(), "MEMORY.DMP", 7);
    mutate(&std::fs::read(&tri).unwrap(), "mini.dmp", 11);
    // A system-service trap frame with stray values: the trap-frame search and the
    // raised-IRQL rule on corrupted stacks.
    let sys = dir.path().join("mini4a.dmp");
    write_triage_dump(&sys, &DumpSpec::syscall_0x4a()).unwrap();
    mutate(&std::fs::read(&sys).unwrap(), "mini4a.dmp", 13);
}
