//! `bsodwb scan CASE`: every file of a case folder with the kind sniffed from its content.

use bsod_workbench::case;
use bsod_workbench::escape::escape_field;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The case folder (or a single file).
    pub case: PathBuf,
    /// Output format: text (a table) or json (an array of {path, kind, size, detail}).
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let inv = case::scan(&args.case)?;
    let mut out = super::stdout(args.format);
    match args.format {
        super::Format::Json => {
            serde_json::to_writer_pretty(&mut out, &inv.files)?;
            writeln!(out)?;
        }
        super::Format::Text | super::Format::Csv => {
            let width = inv
                .files
                .iter()
                .map(|f| escape_field(&f.path).chars().count())
                .max()
                .unwrap_or(4)
                .min(70);
            for f in &inv.files {
                writeln!(
                    out,
                    "{:<width$}  {:<13}  {:>12}  {}",
                    escape_field(&f.path),
                    f.kind.as_str(),
                    f.size,
                    escape_field(&f.detail)
                )?;
            }
            writeln!(out, "{} files", inv.files.len())?;
        }
    }
    out.flush()?;
    for p in &inv.problems {
        super::eline!(
            "problem: {}: {}",
            escape_field(&p.path),
            escape_field(&p.message)
        );
    }
    Ok(())
}
