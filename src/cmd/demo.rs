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
    #[arg(long, required_unless_present = "list")]
    pub out: Option<PathBuf>,
    /// Write the small case of one findings family instead (names: --list).
    #[arg(long, conflicts_with = "scale")]
    pub scenario: Option<String>,
    /// With --scenario: the same machine without the fault (for negative tests).
    #[arg(long, requires = "scenario")]
    pub healthy: bool,
    /// List the scenarios.
    #[arg(long)]
    pub list: bool,
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
    use bsod_workbench::synth::scenarios::{self, SCENARIOS};
    if args.list {
        for s in SCENARIOS {
            println!("{:<30} {:<15} {}", s.name, s.family, s.about);
        }
        return Ok(());
    }
    let out = args
        .out
        .ok_or_else(|| anyhow::anyhow!("--out DIR is needed"))?;
    if let Some(name) = &args.scenario {
        let s = scenarios::find(name).ok_or_else(|| {
            anyhow::anyhow!(
                "no scenario {name:?}; bsodwb synth --list names them: {}",
                SCENARIOS
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        s.write(&out, args.healthy)
            .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
        println!(
            "wrote the {}{} case to {}; read it with: bsodwb analyze {}",
            s.name,
            if args.healthy { " (healthy twin)" } else { "" },
            out.display(),
            out.display()
        );
        return Ok(());
    }
    let scale = match args.scale {
        ScaleArg::Small => Scale::Small,
        ScaleArg::Large => Scale::Large,
    };
    let start = std::time::Instant::now();
    let s = demo::write_scaled_case(&out, scale, &mut |stage| eprintln!("{stage}..."))?;
    println!(
        "wrote {} files to {} in {:.1?}",
        s.files.len(),
        out.display(),
        start.elapsed()
    );
    Ok(())
}
