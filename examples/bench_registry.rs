//! Benchmark: open a SYSTEM hive and list its services, ours against regipy.
//!
//! ```text
//! cargo run --release --example bench_registry [HIVE]
//! ```
//! Without HIVE it decompresses the regipy sample (`$BSODWB_SAMPLES` or ../shared/samples,
//! `regipy/SYSTEM_WIN_10_1709.xz`) to a temporary folder. regipy is timed inside Python
//! (parse + list services with their values), so interpreter start-up is not counted.

use bsod_workbench::registry;
use std::path::PathBuf;
use std::time::Instant;

const REGIPY: &str = r#"
import sys, time
from regipy.registry import RegistryHive
t = time.perf_counter()
c = time.process_time()
hive = RegistryHive(sys.argv[1])
current = hive.get_key('\\Select').get_value('Current')
n = 0
for sk in hive.get_key('\\ControlSet%03d\\Services' % current).iter_subkeys():
    values = {v.name: v.value for v in sk.iter_values(trim_values=False)}
    n += 1
print(n, time.perf_counter() - t, time.process_time() - c)
"#;

fn main() -> anyhow::Result<()> {
    let _scratch;
    let path = match std::env::args_os().nth(1) {
        Some(p) => PathBuf::from(p),
        None => {
            let samples = std::env::var_os("BSODWB_SAMPLES").map_or_else(
                || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples"),
                PathBuf::from,
            );
            let xz = samples.join("regipy/SYSTEM_WIN_10_1709.xz");
            let mut input = std::io::BufReader::new(std::fs::File::open(&xz)?);
            let mut bytes = Vec::new();
            lzma_rs::xz_decompress(&mut input, &mut bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", xz.display()))?;
            _scratch = tempfile::tempdir()?;
            let out = _scratch.path().join("SYSTEM");
            std::fs::write(&out, bytes)?;
            out
        }
    };
    let size = std::fs::metadata(&path)?.len();

    // Ours: open (map, parse, read every service with all values) and list; best of 10.
    let mut best = f64::MAX;
    let mut services = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let hive = registry::open(&path)?;
        services = hive.services().len();
        let listed = hive.services().iter().filter(|s| s.start.is_some()).count();
        std::hint::black_box(listed);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "bsodwb   {:>8.2} ms  {services} services  ({:.1} MiB hive, best of 10)",
        best * 1e3,
        size as f64 / 1048576.0
    );

    let out = std::process::Command::new("python3")
        .args(["-c", REGIPY])
        .arg(&path)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let mut parts = text.split_whitespace();
            let n: usize = parts.next().unwrap_or("0").parse().unwrap_or(0);
            let secs: f64 = parts.next().unwrap_or("0").parse().unwrap_or(0.0);
            let cpu: f64 = parts.next().unwrap_or("0").parse().unwrap_or(0.0);
            println!(
                "regipy   {:>8.2} ms  {n} services  (one run, in-process wall; {:.2} ms CPU)",
                secs * 1e3,
                cpu * 1e3
            );
            if best > 0.0 {
                println!(
                    "ratio    regipy / bsodwb = {:.0}x wall, {:.0}x with regipy's CPU time",
                    secs / best,
                    cpu / best
                );
            }
        }
        Ok(o) => println!(
            "regipy   failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => println!("regipy   not run: {e}"),
    }
    Ok(())
}
