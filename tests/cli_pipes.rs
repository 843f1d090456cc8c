//! `bsodwb ... | head`: a reader that goes away early is not an error (no panic, no backtrace,
//! exit 0), for every sub-command that writes a lot.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

/// Run bsodwb with `args`, read a few bytes of its output, close the pipe, and return the exit
/// status and stderr.
fn read_a_little_then_close(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bsodwb");
    let mut first = [0u8; 64];
    let mut stdout = child.stdout.take().expect("stdout");
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    (child.wait().expect("wait"), err)
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let pml = sample_or_skip!("procmon-parser/uncompressed/CompressedLogFileUTC32Filesystem.pml");
    let pml = pml.to_str().expect("utf-8 path");
    // Each of these writes megabytes: far beyond a pipe's buffer, so the write must fail.
    for format in ["csv", "json", "text"] {
        let (status, err) = read_a_little_then_close(&["pml", pml, "--format", format]);
        assert!(status.success(), "pml --format {format}: {status:?} {err}");
        assert!(!err.contains("panicked"), "pml --format {format}: {err}");
        assert!(!err.contains("Broken pipe"), "pml --format {format}: {err}");
    }
}

/// `bsodwb CASE` with no terminal (a pipe, cron, `ssh host bsodwb` without -t): a sentence
/// naming `bsodwb analyze`, exit 1, no panic and no escape sequence on stdout.
#[test]
fn the_workbench_without_a_terminal_points_to_analyze() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .arg(dir.path())
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run bsodwb");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bsodwb analyze CASE"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.stdout.contains(&0x1b), "{:?}", out.stdout);
}
