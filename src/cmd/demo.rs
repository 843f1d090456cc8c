//! `bsodwb demo [DIR]` and `bsodwb synth --out DIR --scale small|large`: write the demo case
//! (the motivating 0x5A case) or a benchmark-sized case of the same shape.

use bsod_workbench::synth::demo::{self, Scale};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Where to write the demo case (default: the user's cache folder).
    pub dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ScaleArg {
    Small,
    Large,
}

#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// The folder to write the case into.
    #[arg(long)]
    pub out: PathBuf,
    /// small: the demo case; large: a 5 M-event boot log, a 4 GiB sparse bitmap dump, 500 drivers
    /// and 6,000 catalogs, for the benchmarks.
    #[arg(long, value_enum, default_value_t = ScaleArg::Small)]
    pub scale: ScaleArg,
}

pub fn run_demo(args: DemoArgs) -> anyhow::Result<()> {
    let dir = args.dir.unwrap_or_else(demo::default_demo_dir);
    let start = std::time::Instant::now();
    let s = demo::write_demo_case(&dir)?;
    println!(
        "wrote the demo case to {} ({} files, {:.0?})",
        dir.display(),
        s.files.len(),
        start.elapsed()
    );
    println!(
        "open it: BSODWB_ROOTS={} bsodwb {} (its catalogs are signed by bsodwb's synthetic test root, trusted only when given)",
        dir.join(demo::SYNTHETIC_ROOT_FILE).display(),
        dir.display()
    );
    Ok(())
}

pub fn run_synth(args: SynthArgs) -> anyhow::Result<()> {
    let scale = match args.scale {
        ScaleArg::Small => Scale::Small,
        ScaleArg::Large => Scale::Large,
    };
    let start = std::time::Instant::now();
    let s = demo::write_scaled_case(&args.out, scale, &mut |stage| eprintln!("{stage}..."))?;
    println!(
        "wrote {} files to {} in {:.1?}",
        s.files.len(),
        args.out.display(),
        start.elapsed()
    );
    Ok(())
}
