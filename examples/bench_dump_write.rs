//! Write the demo dumps: `cargo run --example bench_dump_write -- DIR [SIZE_GIB]` writes
//! DIR/MEMORY.DMP (bitmap, 0x5A demo case), DIR/Minidump/031424-01.dmp (triage) and the module
//! images in a symbol-store layout under DIR/symbols, for manual runs of `bsodwb dump`.

use bsod_workbench::synth::dump::{
    DumpSpec, write_bitmap_dump, write_module_images, write_triage_dump,
};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map_or("demo-dumps", String::as_str));
    let gib: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    std::fs::create_dir_all(dir.join("Minidump"))?;
    let mut spec = DumpSpec::demo_0x5a();
    spec.size_bytes = gib << 30;
    write_bitmap_dump(&dir.join("MEMORY.DMP"), &spec)?;
    write_triage_dump(&dir.join("Minidump").join("031424-01.dmp"), &spec)?;
    write_module_images(&dir.join("symbols"), &spec)?;
    println!("wrote {}", dir.display());
    Ok(())
}
