//! Shared test support: where the samples are, and how a test skips without them.
#![allow(dead_code)]

use std::path::PathBuf;

/// The samples folder: `$BSODWB_SAMPLES`, else `../shared/samples` beside the repository.
pub fn samples_root() -> PathBuf {
    match std::env::var_os("BSODWB_SAMPLES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples"),
    }
}

/// The path of a sample, or `None` (with one printed skip line) when it is absent.
/// With `BSODWB_REQUIRE_SAMPLES=1` an absent sample fails the test instead.
pub fn sample(relative: &str) -> Option<PathBuf> {
    let path = samples_root().join(relative);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("BSODWB_REQUIRE_SAMPLES").as_deref() == Ok("1") {
        panic!(
            "required sample is missing: {} (BSODWB_REQUIRE_SAMPLES=1)",
            path.display()
        );
    }
    eprintln!(
        "SKIP: sample {} not found (set BSODWB_SAMPLES)",
        path.display()
    );
    None
}

/// Skip the calling test (return early) when a sample is absent.
#[macro_export]
macro_rules! sample_or_skip {
    ($rel:expr) => {
        match common::sample($rel) {
            Some(p) => p,
            None => return,
        }
    };
}

/// Whether a Python oracle module can be imported (`python3 -c "import NAME"`). When it cannot,
/// prints one skip line, or fails with `BSODWB_REQUIRE_ORACLES=1` (which `.ci/run` sets after it
/// has installed them).
pub fn python_oracle(module: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("BSODWB_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!(
                "required Python oracle `{module}` is not importable (BSODWB_REQUIRE_ORACLES=1)"
            );
        }
        eprintln!("SKIP: Python oracle `{module}` not installed");
    }
    ok
}

/// `bsodwb analyze DIR --format json`, run as a user would (its own process), parsed; the
/// test fails with bsodwb's stderr when it does not succeed.
pub fn analyze_json(dir: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(["analyze", dir.to_str().expect("utf-8"), "--format", "json"])
        .output()
        .expect("run bsodwb");
    assert!(
        out.status.success(),
        "{}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}
