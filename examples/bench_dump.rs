//! Benchmark: open a 4 GiB bitmap kernel dump (a sparse file written by `synth::dump`) and
//! produce the whole analysis (header, module list, unloaded drivers, unwound and symbolized
//! stack, JSON report), side by side with kdmp-parser (PyPI) opening the same file.
//!
//!     cargo run --release --example bench_dump [-- PATH [SIZE_GIB]]
//!
//! Each side runs in its own process so that resident-set figures are not mixed: ours is a
//! re-execution of this program with `--read PATH`, kdmp-parser's a `python3` child.

use bsod_workbench::dump::{self, analysis, report};
use bsod_workbench::synth::dump::{DumpSpec, write_bitmap_dump};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Peak resident set of this process in KiB (VmHWM).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The measured side: open + analyze + JSON, then print `seconds rss_kib frames modules`.
fn read(path: &Path) -> anyhow::Result<()> {
    let t = Instant::now();
    let d = dump::open(path)?;
    let a = analysis::analyze(&d, &analysis::AnalyzeOptions::default());
    let json = serde_json::to_string(&report::json_report(&d, &a))?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{secs:.4} {} {} {} {}",
        peak_rss_kib(),
        a.stack.len(),
        d.modules.len(),
        json.len()
    );
    Ok(())
}

const KDMP: &str = r#"
import sys, time, resource
import kdmp_parser
t = time.perf_counter()
p = kdmp_parser.KernelDumpParser(sys.argv[1])
rsp = p.context.Rsp
page = p.read_virtual_page(rsp & ~0xfff)
secs = time.perf_counter() - t
print(f"{secs:.4f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} {p.type.name} {page is not None}")
"#;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--read") {
        return read(Path::new(args.get(2).map_or("", String::as_str)));
    }
    let gib: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);
    let tmp;
    let path = match args.get(1) {
        Some(p) => PathBuf::from(p),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().join("MEMORY.DMP")
        }
    };
    if !path.exists() {
        let mut spec = DumpSpec::demo_0x5a();
        spec.size_bytes = gib << 30;
        let t = Instant::now();
        write_bitmap_dump(&path, &spec)?;
        println!(
            "wrote {} ({} GiB of physical memory, sparse) in {:.2} s",
            path.display(),
            gib,
            t.elapsed().as_secs_f64()
        );
    }
    let me = std::env::current_exe()?;
    let mut ours = Vec::new();
    for _ in 0..5 {
        let out = Command::new(&me).arg("--read").arg(&path).output()?;
        anyhow::ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ours.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let best = |runs: &[String]| -> (f64, u64, String) {
        let mut v: Vec<(f64, u64, String)> = runs
            .iter()
            .map(|r| {
                let f: Vec<&str> = r.split_whitespace().collect();
                (
                    f.first().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN),
                    f.get(1).and_then(|s| s.parse().ok()).unwrap_or(0),
                    f.get(2..).map(|x| x.join(" ")).unwrap_or_default(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v.get(v.len() / 2)
            .cloned()
            .unwrap_or((f64::NAN, 0, String::new()))
    };
    let (t_ours, rss_ours, extra) = best(&ours);
    println!(
        "bsodwb dump (open + full analysis + JSON): median {:.1} ms, peak RSS {:.1} MiB  [frames modules json-bytes: {extra}]",
        t_ours * 1e3,
        rss_ours as f64 / 1024.0
    );
    let mut theirs = Vec::new();
    for _ in 0..5 {
        match Command::new("python3")
            .args(["-c", KDMP])
            .arg(&path)
            .output()
        {
            Ok(out) if out.status.success() => {
                theirs.push(String::from_utf8_lossy(&out.stdout).trim().to_string())
            }
            Ok(out) => {
                println!(
                    "kdmp-parser (PyPI) not usable: {}",
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                );
                return Ok(());
            }
            Err(e) => {
                println!("python3 not available: {e}");
                return Ok(());
            }
        }
    }
    let (t_kd, rss_kd, extra_kd) = best(&theirs);
    println!(
        "kdmp-parser 0.7.4 (open + one virtual read): median {:.1} ms, peak RSS {:.1} MiB (whole python process)  [{extra_kd}]",
        t_kd * 1e3,
        rss_kd as f64 / 1024.0
    );
    println!(
        "ratio (kdmp-parser time / ours): {:.1}x; RSS ratio: {:.1}x",
        t_kd / t_ours,
        rss_kd as f64 / rss_ours.max(1) as f64
    );
    Ok(())
}
