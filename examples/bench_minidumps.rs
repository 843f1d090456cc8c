//! Benchmark: analyse 200 minidumps with a warm symbol cache, as `bsodwb dump --symbols
//! 'srv*CACHE*URL'` does for each (open, unwind with the cached image's `.pdata`, name the
//! frames from the cached PDB), and count the symbol lookups per second.
//!
//!     cargo run --release --example bench_minidumps [-- SAMPLES_DIR]
//!
//! The dumps are user-mode minidumps written by `synth::minidump`, each stopped on a real direct
//! call inside xcpt4.exe or nested_collided.exe (../shared/samples/windows-seh-tests), so their
//! two frames are real code of those programs. The cache holds the two images and their PDBs in
//! the symbol-store layout; the server URL points to a closed port on 127.0.0.1, and the run
//! checks that no request was sent. Every dump gets a new symbolizer (each CLI run is a new
//! process); the two halves run on two threads (the target machine has two cores).

use bsod_workbench::dump;
use bsod_workbench::pe::{Layout, Pe};
use bsod_workbench::symbols::fetch::{self, FetchOptions};
use bsod_workbench::symbols::server::ServerOptions;
use bsod_workbench::symbols::{ModuleRef, SymbolPath, Symbolizer};
use bsod_workbench::synth::minidump::{self, MinidumpModule, UserMinidump};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const COUNT: usize = 200;

struct Program {
    name: String,
    base: u64,
    size: u32,
    timestamp: u32,
    calls: Vec<(u32, u32)>,
}

fn store(samples: &Path, cache: &Path, name: &str, base: u64) -> anyhow::Result<Program> {
    let exe = samples.join(format!("{name}.exe"));
    let bytes = std::fs::read(&exe)?;
    let pe = Pe::parse(&bytes, Layout::File)?;
    let cv = pe
        .codeview()
        .ok_or_else(|| anyhow::anyhow!("{name}: no CodeView"))?;
    let key = format!("{:08X}{:x}", pe.timestamp(), pe.size_of_image());
    let img = cache.join(format!("{name}.exe/{key}"));
    std::fs::create_dir_all(&img)?;
    std::fs::copy(&exe, img.join(format!("{name}.exe")))?;
    let pdb = cache.join(cv.pdb_name()).join(cv.store_key());
    std::fs::create_dir_all(&pdb)?;
    std::fs::copy(samples.join(format!("{name}.pdb")), pdb.join(cv.pdb_name()))?;
    Ok(Program {
        name: format!("{name}.exe"),
        base,
        size: pe.size_of_image(),
        timestamp: pe.timestamp(),
        calls: minidump::direct_calls(&pe),
    })
}

fn main() -> anyhow::Result<()> {
    let samples = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("BSODWB_SAMPLES").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples"))
        .join("windows-seh-tests");
    let t = tempfile::tempdir()?;
    let cache = t.path().join("cache");
    let programs = [
        store(&samples, &cache, "xcpt4", 0x1_4000_0000)?,
        store(&samples, &cache, "nested_collided", 0x1_5000_0000)?,
    ];
    let modules: Vec<MinidumpModule> = programs
        .iter()
        .map(|p| MinidumpModule {
            path: format!("C:\\bench\\{}", p.name),
            base: p.base,
            size: p.size,
            timestamp: p.timestamp,
            checksum: 0,
        })
        .collect();
    let dumps_dir = t.path().join("dumps");
    std::fs::create_dir_all(&dumps_dir)?;
    let mut paths = Vec::new();
    for i in 0..COUNT {
        let p = &programs[i % 2];
        let (callee, ret) = p.calls[(i / 2 * 7) % p.calls.len()];
        let rsp = 0x7ff0_0000_0000u64 - 0x1008;
        let mut stack = (p.base + u64::from(ret)).to_le_bytes().to_vec();
        stack.resize(0x800, 0);
        let bytes = minidump::write_user_minidump(&UserMinidump {
            modules: modules.clone(),
            rip: p.base + u64::from(callee),
            rsp,
            stack,
            exception_code: 0xc000_0005,
            thread_id: 0x100 + i as u32,
        });
        let path = dumps_dir.join(format!("{i:03}.dmp"));
        std::fs::write(&path, bytes)?;
        paths.push(path);
    }
    // A closed port: any request would fail (and be counted).
    let path = SymbolPath::parse(&format!(
        "srv*{}*http://127.0.0.1:9/symbols",
        cache.display()
    ));
    let server = ServerOptions {
        connect_timeout: Duration::from_millis(200),
        retries: 0,
        default_cache: cache.clone(),
        ..ServerOptions::default()
    };
    let analyse = |chunk: &[PathBuf]| -> anyhow::Result<(usize, usize, u64)> {
        let (mut frames, mut named, mut requests) = (0, 0, 0);
        for p in chunk {
            let d = dump::open(p)?;
            let f = fetch::analyze(
                &d,
                &FetchOptions {
                    path: path.clone(),
                    folders: Vec::new(),
                    server: server.clone(),
                    progress: None,
                    max_frames: 64,
                },
            );
            frames += f.analysis.stack.len();
            named += f
                .analysis
                .stack
                .iter()
                .filter(|fr| fr.symbol.is_some())
                .count();
            requests += f.requests;
        }
        Ok((frames, named, requests))
    };
    let started = Instant::now();
    let (a, b) = paths.split_at(COUNT / 2);
    let (ra, rb) = std::thread::scope(|s| {
        let h = s.spawn(|| analyse(b));
        (analyse(a), h.join())
    });
    let elapsed = started.elapsed().as_secs_f64();
    let (fa, na, qa) = ra?;
    let (fb, nb, qb) = rb.map_err(|_| anyhow::anyhow!("worker panicked"))??;
    let (frames, named, requests) = (fa + fb, na + nb, qa + qb);
    anyhow::ensure!(requests == 0, "{requests} requests with a warm cache");
    anyhow::ensure!(named == frames, "{named} of {frames} frames named");
    println!(
        "{COUNT} minidumps, warm cache, 2 threads: {elapsed:.3} s ({:.2} ms per dump), {frames} frames, all named; {:.0} frames named/s end to end; 0 requests",
        elapsed * 1e3 / COUNT as f64,
        named as f64 / elapsed
    );

    // Lookups alone on a warm symbolizer (PDB loaded): every .pdata function start and middle.
    let sym = Symbolizer::with_default_cache(&path, &[], &cache);
    let p = &programs[0];
    let m = ModuleRef::new(&p.name, p.timestamp, p.size);
    let exe = std::fs::read(samples.join("xcpt4.exe"))?;
    let rvas: Vec<u32> = Pe::parse(&exe, Layout::File)?
        .runtime_functions()
        .iter()
        .flat_map(|f| [f.begin, f.begin + (f.end - f.begin) / 2])
        .collect();
    sym.symbolize(&m, rvas[0]);
    let rounds = 2000;
    let started = Instant::now();
    let mut hits = 0usize;
    for _ in 0..rounds {
        for &r in &rvas {
            hits += usize::from(sym.symbolize(&m, r).is_some());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "symbol lookups on a loaded PDB (xcpt4.pdb, {} addresses x {rounds}): {:.1} M/s ({hits} named)",
        rvas.len(),
        (rvas.len() * rounds) as f64 / secs / 1e6
    );
    Ok(())
}
