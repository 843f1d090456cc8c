//! EVTX files cut short, made here from the real System logs in the samples (copied into a
//! temp dir and truncated): the loss is said with offsets, and every record before the cut is
//! still read.

mod common;

use bsod_workbench::eventlog::{self, Selection};
use std::collections::BTreeSet;
use std::path::Path;

const HEADER: usize = 4096;
const CHUNK: usize = 65536;

/// Record IDs of the records of the file's chunks that end at or before `cut`, walked by the
/// record headers (magic 0x2a2a, size at +4, record ID at +8) from offset 512 of each chunk up
/// to the chunk's free space offset: an independent count of what must still be readable.
fn records_before(bytes: &[u8], cut: usize) -> BTreeSet<u64> {
    let mut ids = BTreeSet::new();
    let mut start = HEADER;
    while start + CHUNK <= bytes.len() && start < cut {
        let chunk = &bytes[start..start + CHUNK];
        if &chunk[..8] == b"ElfChnk\0" {
            let free = u32::from_le_bytes(chunk[48..52].try_into().unwrap()) as usize;
            let mut at = 512;
            while at + 24 <= free.min(CHUNK) && chunk[at..at + 4] == [0x2a, 0x2a, 0, 0] {
                let size = u32::from_le_bytes(chunk[at + 4..at + 8].try_into().unwrap()) as usize;
                if size < 24 {
                    break;
                }
                if start + at + size <= cut {
                    ids.insert(u64::from_le_bytes(
                        chunk[at + 8..at + 16].try_into().unwrap(),
                    ));
                }
                at += size;
            }
        }
        start += CHUNK;
    }
    ids
}

fn truncated_copy(src: &Path, dir: &Path, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let full = std::fs::read(src).expect("read sample");
    let path = dir.join("System.evtx");
    std::fs::write(&path, &full[..len]).expect("write");
    (path, full)
}

fn record_ids(path: &Path) -> (BTreeSet<u64>, Vec<String>, u64) {
    let log = eventlog::open_with(path, &Selection::all()).expect("opens");
    let ids = log.events.iter().map(|e| e.record_id).collect();
    let warnings = log.warnings.iter().map(|w| w.to_string()).collect();
    (ids, warnings, log.stats.records)
}

#[test]
fn a_52_kb_file_gives_its_records_and_says_it_was_cut() {
    let sample = sample_or_skip!("omerbenamram-evtx/system.evtx");
    let dir = tempfile::tempdir().expect("tempdir");
    let len = 52 * 1024;
    let (path, full) = truncated_copy(&sample, dir.path(), len);
    let (ids, warnings, records) = record_ids(&path);
    let want = records_before(&full, len);
    assert!(want.len() > 50, "{}", want.len());
    assert_eq!(ids, want);
    assert_eq!(records, want.len() as u64);
    let all = warnings.join("\n");
    // The header of this file says 3 chunks.
    assert!(
        all.contains(
            "truncated at offset 0xd000: the file header says 3 chunks (to offset 0x31000)"
        ),
        "{all}"
    );
    assert!(
        all.contains("offset 0x1000: chunk 0: chunk cut at offset 0xd000 after 49152"),
        "{all}"
    );
    // The record that straddles the cut is named, not given half zeros.
    assert!(
        all.contains("past the end of the file at 0xd000; not read"),
        "{all}"
    );

    // The CLI no longer says "0 records (0 chunks)" and "0 warnings".
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["evtx", "--all"])
        .arg(&path)
        .output()
        .expect("bsodwb runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains(&format!("of {} records (1 chunks), 3 warnings", want.len())),
        "{text}"
    );
}

#[test]
fn a_last_chunk_cut_short_keeps_every_record_before_the_cut() {
    let sample = sample_or_skip!("omerbenamram-evtx/2-vss_7-System.evtx");
    let dir = tempfile::tempdir().expect("tempdir");
    // Two whole chunks and 20000 bytes of the third.
    let len = HEADER + 2 * CHUNK + 20_000;
    let (path, full) = truncated_copy(&sample, dir.path(), len);
    let (ids, warnings, _) = record_ids(&path);
    let want = records_before(&full, len);
    assert_eq!(ids, want);
    let all = warnings.join("\n");
    assert!(
        all.contains(&format!(
            "offset {:#x}: chunk 2: chunk cut at offset {len:#x} after 20000 of its 65536 bytes",
            HEADER + 2 * CHUNK
        )),
        "{all}"
    );
    // The header says 4 chunks: the fourth is absent.
    assert!(
        all.contains("the file header says 4 chunks") && all.contains("chunks 3..3 absent"),
        "{all}"
    );

    // Cut exactly on a chunk boundary: no chunk is cut, the header still says more.
    let len = HEADER + 2 * CHUNK;
    let (path, full) = truncated_copy(&sample, dir.path(), len);
    let (ids, warnings, _) = record_ids(&path);
    assert_eq!(ids, records_before(&full, len));
    let all = warnings.join("\n");
    assert!(
        all.contains("the file holds 2 whole chunks; 131072 bytes missing"),
        "{all}"
    );
    assert!(!all.contains("chunk cut"), "{all}");
}

#[test]
fn whole_files_get_no_truncation_warning() {
    let sample = sample_or_skip!("omerbenamram-evtx/system.evtx");
    let (_, warnings, _) = record_ids(&sample);
    assert!(
        !warnings
            .iter()
            .any(|w| w.contains("truncated") || w.contains("cut")),
        "{warnings:?}"
    );
}
