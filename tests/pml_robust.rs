//! Logs cut short and mutated logs: every event before a cut is recovered with a warning that
//! names the offset, and no input makes the reader panic (a deterministic mutation fuzzer over
//! the real samples; `examples/bench_pml_fuzz.rs` runs the same loop for longer).

mod common;

use bsod_workbench::pml::{self, DriverQuery};
use std::io::Read;
use std::path::Path;

fn inflate(p: &Path) -> Vec<u8> {
    let raw = std::fs::read(p).expect("read sample");
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .expect("inflate");
    out
}

/// Offsets and ends of every event of an intact log, from its own offset array.
fn event_spans(log: &pml::PmlLog) -> Vec<(usize, usize)> {
    let f = &log.files()[0];
    (0..f.len())
        .map(|i| {
            let off = f.event_offset(i).expect("offset");
            let next = if i + 1 < f.len() {
                f.event_offset(i + 1).expect("offset")
            } else {
                f.header.event_offsets_offset as usize
            };
            (off, next)
        })
        .collect()
}

#[test]
fn a_cut_log_yields_every_event_before_the_cut_and_names_the_offset() {
    for rel in [
        "procmon-parser/uncompressed/CompressedLogFileUTC64Process.pml",
        "procmon-parser/uncompressed/CompressedLogFileUTC32Filesystem.pml",
    ] {
        let p = sample_or_skip!(rel);
        let bytes = std::fs::read(&p).expect("read");
        let whole = pml::from_bytes(&p, bytes.clone()).expect("open");
        let spans = event_spans(&whole);
        for frac in [0.1, 0.37, 0.5, 0.93] {
            let cut = (whole.files()[0].header.event_offsets_offset as f64 * frac) as usize;
            let log =
                pml::from_bytes(Path::new("cut.pml"), bytes[..cut].to_vec()).expect("open cut");
            // Events wholly before the cut (the last one may end in padding Procmon leaves).
            let complete = spans.iter().filter(|(_, end)| *end <= cut).count();
            assert!(
                log.len() == complete || log.len() == complete + 1,
                "{rel} cut at {cut}: {} events, {complete} complete",
                log.len()
            );
            let w = &log.warnings()[0];
            assert!(w.message.contains("cut short"), "{w}");
            assert!(
                w.offset as usize <= cut && w.offset as usize >= spans[log.len() - 1].0,
                "{w}"
            );
            for i in [0, log.len() / 2, log.len() - 1] {
                let (a, b) = (
                    log.event(i).expect("cut event"),
                    whole.event(i).expect("event"),
                );
                assert_eq!(
                    (a.timestamp, &a.operation_name, &a.path, a.detail_text()),
                    (b.timestamp, &b.operation_name, &b.path, b.detail_text()),
                    "{rel} event {i}"
                );
            }
        }
    }
}

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Mutates a log the way a fuzzer does: byte flips, interesting values in the header and in
/// random events, truncation.
fn mutate(base: &[u8], rng: &mut XorShift, event_offsets: &[usize]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = match rng.below(4) {
            0 => rng.below(0x3A8),
            1 => event_offsets[rng.below(event_offsets.len())] + rng.below(0x60),
            _ => rng.below(b.len()),
        };
        if at >= b.len() {
            continue;
        }
        match rng.below(5) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => b[at] = 0xFF,
            2 => b[at] = 0,
            3 => {
                let v = [0u32, 1, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, 0xffff_ffff][rng.below(7)];
                for (k, byte) in v.to_le_bytes().iter().enumerate() {
                    if let Some(x) = b.get_mut(at + k) {
                        *x = *byte;
                    }
                }
            }
            _ => b.truncate(at.max(4)),
        }
    }
    b
}

/// Opens, indexes, filters, decodes and renders a (mutated) log: must not panic.
fn exercise(bytes: Vec<u8>) -> usize {
    let Ok(log) = pml::from_bytes(Path::new("fuzz.pml"), bytes) else {
        return 0;
    };
    let ix = log.index();
    let f = pml::Filter::parse(&["Path contains sys", "Detail contains Offset exclude"])
        .expect("rules");
    let _ = f.apply(
        &log,
        &mut |_, _| {},
        &std::sync::atomic::AtomicBool::new(false),
    );
    let r = pml::csv::Renderer::new(&log);
    let n = log.len();
    let mut decoded = 0;
    for i in (0..n).step_by((n / 200).max(1)) {
        if let Ok(ev) = log.event(i) {
            let _ = r.row(&ev);
            let _ = log.stack(&ev);
            decoded += 1;
        }
    }
    let _ = ix.len();
    if let Some(k) = log.drivers().first() {
        let _ = log.driver_events(k, None);
    }
    decoded
}

#[test]
fn mutated_samples_never_panic() {
    let p = sample_or_skip!("procmon-parser/compressed/CompressedLogfileTests32bitUTCPML");
    let q = sample_or_skip!("procmon-parser/uncompressed/CompressedLogFileUTC64Process.pml");
    let iterations: usize = std::env::var("PML_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    for (k, base) in [inflate(&p), std::fs::read(&q).expect("read")]
        .into_iter()
        .enumerate()
    {
        let log = pml::from_bytes(&q, base.clone()).expect("open");
        let offsets: Vec<usize> = (0..log.files()[0].len())
            .filter_map(|i| log.files()[0].event_offset(i))
            .collect();
        let mut rng = XorShift(0x5EED_0000 + k as u64);
        for _ in 0..iterations {
            let m = mutate(&base, &mut rng, &offsets);
            exercise(m);
        }
    }
}
