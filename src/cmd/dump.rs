//! `bsodwb dump FILE [--symbols PATH] --format text|json`: `!analyze -v` in text, or the JSON
//! schema of `dump::report::JsonReport`. A symbol path naming a server (`srv*CACHE*https://...`)
//! downloads the PDBs and images the stack needs, with progress on stderr.

use bsod_workbench::dump::{self, report};
use bsod_workbench::symbols::SymbolPath;
use bsod_workbench::symbols::config::SymbolsConfig;
use bsod_workbench::symbols::fetch::{self, FetchOptions};
use bsod_workbench::symbols::server::{Progress, Stage};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The crash dump to read (MEMORY.DMP, a Minidump\*.dmp, a user-mode .dmp).
    pub file: PathBuf,
    /// Symbol path (`srv*~/.cache/bsodwb/symbols*https://msdl.microsoft.com/download/symbols;C:\more`);
    /// default `_NT_SYMBOL_PATH`, then `path` in ~/.config/bsodwb/config.toml. Only `srv*`
    /// elements with a URL download anything.
    #[arg(long)]
    pub symbols: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

/// Progress lines on stderr: updated in place on a terminal, one line per finished file
/// otherwise. Names and messages come from the dump and the server: control characters are
/// replaced.
fn stderr_progress() -> Arc<dyn Fn(&Progress) + Send + Sync> {
    let tty = std::io::stderr().is_terminal();
    Arc::new(move |p: &Progress| {
        let line: String = p
            .line()
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        let mut err = std::io::stderr().lock();
        match (&p.stage, tty) {
            (Stage::Receiving, true) => {
                let _ = write!(err, "\r{:<79.79}", format!("downloading {line}"));
            }
            (Stage::Receiving, false) if p.bytes == 0 => {
                let _ = writeln!(err, "downloading {} from {}", p.file, p.url);
            }
            (Stage::Receiving, false) => {}
            (_, true) => {
                let _ = writeln!(err, "\r{line:<79}");
            }
            (_, false) => {
                let _ = writeln!(err, "{line}");
            }
        }
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    super::check_file(&args.file)?;
    let d = dump::open(&args.file)?;
    let path = SymbolPath::from_arg_or_env(args.symbols.as_deref());
    let config = SymbolsConfig::load();
    let case_dir: Vec<PathBuf> = args
        .file
        .parent()
        .map(|p| p.to_path_buf())
        .into_iter()
        .collect();
    if args.format == super::Format::Csv {
        anyhow::bail!("bsodwb dump: csv is not offered; use text or json");
    }
    let fetched = fetch::analyze(
        &d,
        &FetchOptions {
            path: path.clone(),
            folders: case_dir,
            server: config.options(),
            progress: Some(stderr_progress()),
            max_frames: 64,
        },
    );
    let a = fetched.analysis;
    let mut out = super::stdout(args.format);
    match args.format {
        super::Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report::json_report(&d, &a))?;
            writeln!(out)?;
        }
        _ => write!(out, "{}", report::text_report(&d, &a))?,
    }
    out.flush()?;
    if let Some(hint) = fetch::symbol_path_hint(&path, &a) {
        super::eline!("bsodwb: {hint}");
    }
    Ok(())
}
