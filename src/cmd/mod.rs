//! One module per sub-command: argument structs (clap) and the glue that prints a library result.
//! Knowledge lives in the library; these only choose the output format.

pub mod analyze;
pub mod demo;
pub mod dump;
pub mod evtx;
pub mod hive;
pub mod pml;
pub mod scan;
pub mod sig;

/// Output formats shared by the artefact sub-commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
}
