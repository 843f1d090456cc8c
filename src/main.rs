//! `bsodwb`: the command line and the terminal workbench. A thin shell over the library.

mod cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "bsodwb",
    version,
    about = "A terminal workbench for Windows blue-screen and boot-failure cases"
)]
struct Cli {
    /// The case folder to open in the workbench (default: the demo case).
    case: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every file of a case folder with the kind sniffed from its content.
    Scan(cmd::scan::Args),
    /// Read a Procmon log (PML): Procmon's CSV export, JSON or text.
    Pml(cmd::pml::Args),
    /// Analyse a crash dump like `!analyze -v`, with the module list.
    Dump(cmd::dump::Args),
    /// Read an event log (EVTX): CodeIntegrity and System events as typed records.
    Evtx(cmd::evtx::Args),
    /// Signature verdicts of driver files: embedded Authenticode or the catalog that vouches.
    Sig(cmd::sig::Args),
    /// The services of a SYSTEM hive.
    Hive(cmd::hive::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Scan(a)) => cmd::scan::run(a),
        Some(Command::Pml(a)) => cmd::pml::run(a),
        Some(Command::Dump(a)) => cmd::dump::run(a),
        Some(Command::Evtx(a)) => cmd::evtx::run(a),
        Some(Command::Sig(a)) => cmd::sig::run(a),
        Some(Command::Hive(a)) => cmd::hive::run(a),
        None => anyhow::bail!("the workbench is not built yet: {:?}", cli.case),
    }
}
