//! `bsodwb pml`.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file to read.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::bail!("bsodwb pml: not built yet ({})", args.file.display())
}
