//! Benchmark: load the CodeIntegrity and System events of a large EVTX file (default: the
//! 48 MiB mixed sample), side by side with the evtx crate rendering every record and with
//! `evtx_dump` (the evtx crate's CLI) on the same input. Target: under 1 s.
//!
//! cargo run --release --example bench_evtx -- [FILE] [--runs N]
//! `evtx_dump` is looked up in $EVTX_DUMP, then PATH, then ~/.cargo/bin
//! (`cargo install evtx` installs it).

use bsod_workbench::eventlog::{self, Selection};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut file: Option<PathBuf> = None;
    let mut runs = 5usize;
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs);
        } else {
            file = Some(PathBuf::from(a));
        }
    }
    let samples = std::env::var_os("BSODWB_SAMPLES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples"),
        PathBuf::from,
    );
    let file = file.unwrap_or_else(|| samples.join("synthetic-evtx/synth_mixed_48MiB.evtx"));
    let size = std::fs::metadata(&file)?.len();
    println!(
        "input: {} ({:.1} MiB), {} cores, best of {runs} runs",
        file.display(),
        size as f64 / 1048576.0,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let mut selected = 0;
    let mut stats = eventlog::LoadStats::default();
    let ours = best(runs, || {
        let log = eventlog::open(&file).expect("open");
        selected = log.events.len();
        assert!(log.stats.records > 0);
        stats = log.stats.clone();
    });
    println!(
        "bsodwb eventlog::open (CodeIntegrity + System selection): {:>8.1} ms  ({selected} events)",
        ms(ours)
    );

    println!(
        "  {} records; {} skipped from their bytes; {} of {} chunks built by the evtx crate",
        stats.records, stats.skipped_unrendered, stats.chunks_parsed, stats.chunks
    );
    let mut all = 0;
    let ours_all = best(runs.min(3), || {
        let log = eventlog::open_with(&file, &Selection::all()).expect("open");
        all = log.events.len();
    });
    println!(
        "bsodwb eventlog::open_with(all), every record typed:      {:>8.1} ms  ({all} events)",
        ms(ours_all)
    );

    let crate_json = best(runs.min(3), || {
        let mut p = evtx::EvtxParser::from_path(&file)
            .expect("parser")
            .with_configuration(evtx::ParserSettings::new().num_threads(0).indent(false));
        let n = p.records_json().filter(|r| r.is_ok()).count();
        assert!(n > 0);
    });
    println!(
        "evtx crate records_json(), every record (2 threads):     {:>8.1} ms",
        ms(crate_json)
    );

    let dump = evtx_dump().map(|bin| {
        let t = best(runs.min(3), || {
            let status = Command::new(&bin)
                .args(["-o", "jsonl"])
                .arg(&file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("evtx_dump runs");
            assert!(status.success(), "evtx_dump failed");
        });
        println!(
            "evtx_dump -o jsonl > /dev/null ({}):        {:>8.1} ms",
            bin.display(),
            ms(t)
        );
        t
    });
    if dump.is_none() {
        println!("evtx_dump: not found (cargo install evtx), no comparison");
    }

    println!();
    println!(
        "target < 1000 ms: {}",
        if ours < Duration::from_secs(1) {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "ratio  evtx crate records_json / bsodwb selection: {:.1}x",
        ratio(crate_json, ours)
    );
    if let Some(d) = dump {
        println!(
            "ratio  evtx_dump / bsodwb selection:               {:.1}x",
            ratio(d, ours)
        );
        println!(
            "ratio  evtx_dump / bsodwb all records typed:       {:.1}x",
            ratio(d, ours_all)
        );
    }
    Ok(())
}

fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn evtx_dump() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EVTX_DUMP") {
        return Some(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("evtx_dump"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        dirs::home_dir()
            .map(|h| h.join(".cargo/bin/evtx_dump"))
            .filter(|p| Path::new(p).is_file())
    })
}
