//! `bsodwb bcd FILE`: a BCD store as `bcdedit /enum all /store FILE` prints it.

use bsod_workbench::registry::bcd;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The BCD store (`Boot\BCD`, `EFI\Microsoft\Boot\BCD`); its transaction logs beside it are
    /// replayed if it is dirty.
    pub file: PathBuf,
    /// Output format: text (bcdedit's layout) or json (every object and element, decoded).
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    super::check_file(&args.file)?;
    let store = bcd::open(&args.file)?;
    let mut out = super::stdout(args.format);
    match args.format {
        super::Format::Json => {
            let doc = serde_json::json!({
                "path": store.path,
                "header": store.header,
                "default": store.default_loader().map(|o| &o.id),
                "integrity": store.integrity(),
                "objects": store.objects,
                "logs_applied": store.logs_applied,
                "warnings": store.warnings,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        super::Format::Text | super::Format::Csv => {
            write!(out, "{}", store.to_text())?;
        }
    }
    out.flush()?;
    for w in &store.warnings {
        super::eline!("warning: {w}");
    }
    Ok(())
}
