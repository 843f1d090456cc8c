//! `bsodwb dump FILE [--symbols PATH] --format text|json`: `!analyze -v` in text, or the JSON
//! schema of `dump::report::JsonReport`.

use bsod_workbench::dump::{self, analysis, report};
use bsod_workbench::symbols::{SymbolPath, Symbolizer};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The crash dump to read (MEMORY.DMP, a Minidump\*.dmp, a user-mode .dmp).
    pub file: PathBuf,
    /// Symbol path (`srv*C:\SymCache*https://...;C:\more`); default `_NT_SYMBOL_PATH`.
    /// Only local folders are used: nothing is downloaded.
    #[arg(long)]
    pub symbols: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    super::check_file(&args.file)?;
    let d = dump::open(&args.file)?;
    let path = SymbolPath::from_arg_or_env(args.symbols.as_deref());
    let case_dir: Vec<PathBuf> = args
        .file
        .parent()
        .map(|p| p.to_path_buf())
        .into_iter()
        .collect();
    let symbolizer = Symbolizer::new(&path, &case_dir);
    let opts = analysis::AnalyzeOptions {
        symbol_path: args.symbols.clone(),
        image_folders: case_dir,
        symbols: Some(&symbolizer),
        max_frames: 64,
    };
    let a = analysis::analyze(&d, &opts);
    if args.format == super::Format::Csv {
        anyhow::bail!("bsodwb dump: csv is not offered; use text or json");
    }
    let mut out = super::stdout(args.format);
    match args.format {
        super::Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report::json_report(&d, &a))?;
            writeln!(out)?;
        }
        _ => write!(out, "{}", report::text_report(&d, &a))?,
    }
    out.flush()?;
    Ok(())
}
