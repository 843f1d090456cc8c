//! Replay every corpus and every saved crash input through the harnesses (stable Rust, no
//! libFuzzer): `cargo test --no-default-features` in fuzz/. Corpora come from
//! `fuzz/seed.sh`; a target without a corpus replays nothing.

use std::path::Path;

#[test]
fn replay_corpora_and_artifacts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut total = 0usize;
    let mut failed = Vec::new();
    for (name, run) in bsod_workbench_fuzz::TARGETS {
        for folder in [
            root.join("corpus").join(name),
            root.join("artifacts").join(name),
        ] {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(data) = std::fs::read(e.path()) else {
                    continue;
                };
                total += 1;
                if std::panic::catch_unwind(|| run(&data)).is_err() {
                    failed.push(e.path().display().to_string());
                }
            }
        }
    }
    eprintln!("replayed {total} inputs, {} panicked", failed.len());
    assert!(
        failed.is_empty(),
        "inputs that panic:\n{}",
        failed.join("\n")
    );
}
