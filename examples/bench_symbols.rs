//! PDB readers side by side: the `pdb` crate (what `symbols` uses) and Microsoft's `ms-pdb`, on
//! the same PDBs: what each reads (publics and procedures, as RVAs) and how fast; then lookups.
//!
//! ```sh
//! cargo run --release --example bench_symbols -- [PDB...]
//! ```
//! Without arguments it reads the windows-seh-tests PDBs from the samples folder
//! (`$BSODWB_SAMPLES`, else `../shared/samples`).

use bsod_workbench::symbols::pdbfile;
use bsod_workbench::symbols::table::{SymbolEntry, SymbolTable, undecorate_msvc};
use ms_pdb::syms::{SymData, SymKind};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Publics and procedures read with ms-pdb, translated with the PDB's section headers (and the
/// same undecoration of C++ publics that `pdbfile` applies).
fn load_ms_pdb(path: &Path) -> anyhow::Result<(Vec<SymbolEntry>, usize, usize)> {
    let pdb = ms_pdb::Pdb::open(path)?;
    let sections = pdb.section_headers()?;
    let rva = |seg: u16, off: u32| -> Option<u32> {
        let s = sections.get(usize::from(seg).checked_sub(1)?)?;
        s.virtual_address.checked_add(off)
    };
    let mut entries = Vec::new();
    let (mut publics, mut procs) = (0, 0);
    for sym in pdb.gss()?.iter_syms() {
        if sym.kind == SymKind::S_PUB32
            && let Ok(SymData::Pub(p)) = sym.parse()
            && let Some(r) = rva(p.offset_segment().segment(), p.offset_segment().offset())
        {
            entries.push(SymbolEntry {
                rva: r,
                len: None,
                name: undecorate_msvc(&p.name.to_string()).unwrap_or_else(|| p.name.to_string()),
            });
            publics += 1;
        }
    }
    for m in pdb.modules()?.iter() {
        let Some(md) = pdb.read_module_stream(&m)? else {
            continue;
        };
        for sym in md.iter_syms() {
            if matches!(sym.kind, SymKind::S_GPROC32 | SymKind::S_LPROC32)
                && let Ok(SymData::Proc(p)) = sym.parse()
                && let Some(r) = rva(
                    p.fixed.offset_segment.segment(),
                    p.fixed.offset_segment.offset(),
                )
            {
                entries.push(SymbolEntry {
                    rva: r,
                    len: Some(p.fixed.proc_len.get()),
                    name: p.name.to_string(),
                });
                procs += 1;
            }
        }
    }
    Ok((entries, publics, procs))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    (median(times), last.expect("runs > 0"))
}

fn main() -> anyhow::Result<()> {
    let mut pdbs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if pdbs.is_empty() {
        let root = std::env::var_os("BSODWB_SAMPLES")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples"));
        pdbs = ["xcpt4.pdb", "nested_collided.pdb"]
            .iter()
            .map(|n| root.join("windows-seh-tests").join(n))
            .collect();
    }
    const RUNS: usize = 50;
    const LOOKUPS: u32 = 1_000_000;
    println!(
        "median of {RUNS} runs; lookups: {LOOKUPS} nearest-preceding queries over the built table"
    );
    for path in &pdbs {
        println!(
            "\n{} ({} bytes)",
            path.display(),
            std::fs::metadata(path)?.len()
        );
        let (t_pdb, ours) = time(RUNS, || pdbfile::load(path, None));
        let ours = ours?;
        let (t_ms, theirs) = time(RUNS, || load_ms_pdb(path));
        let (ms_entries, ms_pub, ms_proc) = theirs?;
        println!(
            "  pdb 0.8      load {:>9.3?}  publics {:>5}  procedures {:>5}  skipped {}",
            t_pdb, ours.publics, ours.procedures, ours.skipped
        );
        println!(
            "  ms-pdb 0.1.22 load {:>9.3?}  publics {:>5}  procedures {:>5}",
            t_ms, ms_pub, ms_proc
        );
        // Same symbols? Compare (rva, name) sets of both readers before de-duplication.
        let theirs_set: BTreeSet<(u32, String)> =
            ms_entries.iter().map(|e| (e.rva, e.name.clone())).collect();
        let ms_table = SymbolTable::new(ms_entries, Vec::new());
        let ours_set: BTreeSet<(u32, String)> = ours
            .table
            .entries()
            .iter()
            .map(|e| (e.rva, e.name.clone()))
            .collect();
        let ms_dedup: BTreeSet<(u32, String)> = ms_table
            .entries()
            .iter()
            .map(|e| (e.rva, e.name.clone()))
            .collect();
        println!(
            "  same table after de-duplication: {} ({} entries; {} raw (rva,name) pairs from ms-pdb)",
            ours_set == ms_dedup,
            ours_set.len(),
            theirs_set.len()
        );
        // Lookups: a spread of RVAs over the covered range.
        let (lo, hi) = match (ours.table.entries().first(), ours.table.entries().last()) {
            (Some(a), Some(b)) => (a.rva, b.rva + 0x100),
            _ => continue,
        };
        let span = (hi - lo).max(1);
        let t = Instant::now();
        let mut named = 0u32;
        for i in 0..LOOKUPS {
            let rva = lo + (i.wrapping_mul(2_654_435_761) % span);
            if ours.table.lookup(std::hint::black_box(rva)).is_some() {
                named += 1;
            }
        }
        let el = t.elapsed();
        println!(
            "  table lookup  {:>7.1} ns/query ({named} of {LOOKUPS} named)",
            el.as_nanos() as f64 / f64::from(LOOKUPS)
        );
        // ms-pdb's own address search (PSI address map) finds only exact starts.
        let pdb = ms_pdb::Pdb::open(path)?;
        let (gss, psi) = (pdb.gss()?, pdb.psi()?);
        let starts: Vec<_> = ours
            .table
            .entries()
            .iter()
            .filter(|e| e.len.is_some())
            .take(50)
            .collect();
        let sections = pdb.section_headers()?;
        let seg_off = |rva: u32| {
            sections.iter().enumerate().find_map(|(i, s)| {
                let end =
                    s.virtual_address + s.physical_address_or_virtual_size.max(s.size_of_raw_data);
                (s.virtual_address <= rva && rva < end)
                    .then(|| ((i + 1) as u16, rva - s.virtual_address))
            })
        };
        let (mut exact, mut inside) = (0, 0);
        for e in &starts {
            if let Some((seg, off)) = seg_off(e.rva) {
                if psi.find_symbol_by_addr(gss, seg, off)?.is_some() {
                    exact += 1;
                }
                if psi.find_symbol_by_addr(gss, seg, off + 1)?.is_some() {
                    inside += 1;
                }
            }
        }
        println!(
            "  ms-pdb find_symbol_by_addr: {exact} of {} function starts, {inside} of {} addresses one byte in",
            starts.len(),
            starts.len()
        );
    }
    symbolizer_end_to_end(&pdbs)?;
    Ok(())
}

/// The whole path a dump takes: a store holding the PDB, the image beside it in a case folder,
/// first lookup (find image, find PDB, load) and then cached lookups through `Symbolizer`.
fn symbolizer_end_to_end(pdbs: &[PathBuf]) -> anyhow::Result<()> {
    use bsod_workbench::pe::{Layout, Pe};
    use bsod_workbench::symbols::{ModuleRef, SymbolPath, Symbolizer};
    println!("\nSymbolizer (store + case folder, per-module cache)");
    for pdb in pdbs {
        let exe = pdb.with_extension("exe");
        let Ok(bytes) = std::fs::read(&exe) else {
            continue;
        };
        let pe = Pe::parse(&bytes, Layout::File)?;
        let Some(cv) = pe.codeview() else { continue };
        let dir = tempfile::tempdir()?;
        let key_dir = dir
            .path()
            .join("store")
            .join(cv.pdb_name())
            .join(cv.store_key());
        std::fs::create_dir_all(&key_dir)?;
        std::fs::copy(pdb, key_dir.join(cv.pdb_name()))?;
        std::fs::create_dir_all(dir.path().join("case"))?;
        std::fs::copy(
            &exe,
            dir.path()
                .join("case")
                .join(exe.file_name().unwrap_or_default()),
        )?;
        let path = SymbolPath::parse(&format!("srv*{}", dir.path().join("store").display()));
        let name = exe
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let rfs = pe.runtime_functions();
        let (cold, _) = time(20, || {
            let sym = Symbolizer::new(&path, &[dir.path().join("case")]);
            sym.symbolize(
                &ModuleRef::new(&name, pe.timestamp(), pe.size_of_image()),
                pe.headers().entry_point,
            )
        });
        let sym = Symbolizer::new(&path, &[dir.path().join("case")]);
        let m = ModuleRef::new(&name, pe.timestamp(), pe.size_of_image());
        let _ = sym.symbolize(&m, 0);
        let n = 200_000u32;
        let t = Instant::now();
        let mut named = 0;
        for i in 0..n {
            let Some(rf) = rfs.get(i as usize % rfs.len().max(1)) else {
                break;
            };
            if sym
                .symbolize(&m, std::hint::black_box(rf.begin + 1))
                .is_some()
            {
                named += 1;
            }
        }
        println!(
            "  {name}: first symbolize {:>9.3?} (find image + PDB, load); then {:>6.1} ns/address cached ({named} of {n} named)",
            cold,
            t.elapsed().as_nanos() as f64 / f64::from(n)
        );
    }
    Ok(())
}
