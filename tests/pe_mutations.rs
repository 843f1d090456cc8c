//! The PE reader never panics: every accessor on thousands of randomly damaged copies of the
//! real samples (bytes flipped anywhere, truncations), in both layouts.

mod common;

use bsod_workbench::pe::{Layout, Pe};

/// A small deterministic generator (no dependency needed for test noise).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn exercise(bytes: &[u8], layout: Layout) -> usize {
    let Ok(pe) = Pe::parse(bytes, layout) else {
        return 0;
    };
    let rfs = pe.runtime_functions();
    for rf in rfs.iter().take(64) {
        if let Some(ui) = pe.unwind_info(rf.unwind_info) {
            let _ = ui.codes();
        }
        let _ = Pe::find_runtime_function(&rfs, rf.begin);
    }
    let _ = pe.arm64_runtime_functions();
    let _ = pe.codeview().map(|cv| cv.store_key());
    let _ = pe.exports();
    let _ = pe.version_info().map(|v| v.file_version());
    let _ = pe.security_directory();
    let _ = pe.image_kind(Some("x.sys"));
    let _ = pe.compute_checksum();
    for s in pe.sections() {
        let _ = pe.bytes_at_rva(s.virtual_address, 16);
        let _ = pe.cstr_at_rva(s.virtual_address.wrapping_add(s.virtual_size));
    }
    1
}

#[test]
fn damaged_samples_never_panic() {
    let mut rng = Lcg(0x5eed);
    let mut parsed = 0;
    for rel in [
        "windows-seh-tests/xcpt4.exe",
        "windows-seh-tests/nested_collided.exe",
        "arduino-drivers/ftdi/amd64/ftdibus.sys",
        "arduino-drivers/libusb0/amd64/libusb0.sys",
    ] {
        let Some(path) = common::sample(rel) else {
            return;
        };
        let original = std::fs::read(&path).expect("read");
        for round in 0..300 {
            let mut b = original.clone();
            // Damage the headers more often than the body: that is where the tables are found.
            for _ in 0..1 + rng.next() % 8 {
                let span = if round % 2 == 0 {
                    0x400.min(b.len())
                } else {
                    b.len()
                };
                let i = (rng.next() as usize) % span;
                b[i] = rng.next() as u8;
            }
            if round % 10 == 0 {
                let cut = (rng.next() as usize) % b.len();
                b.truncate(cut);
            }
            parsed += exercise(&b, Layout::File);
            parsed += exercise(&b, Layout::Mapped);
        }
    }
    assert!(
        parsed > 1000,
        "most damaged copies still parse their headers ({parsed})"
    );
}
