//! `bsodwb evtx`: the CodeIntegrity and System events of an EVTX file, typed.

use bsod_workbench::escape::escape_field;
use bsod_workbench::eventlog::{self, Selection};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The EVTX file to read (a cut or dirty log gives the records it holds).
    pub file: PathBuf,
    /// Keep every record (other providers with their raw fields), not only the boot-failure set.
    #[arg(long)]
    pub all: bool,
    /// Output format: text (one event a line), json, csv.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let selection = if args.all {
        Selection::all()
    } else {
        Selection::boot_failure()
    };
    super::check_file(&args.file)?;
    let log = eventlog::open_with(&args.file, &selection)?;
    match print(&log, args.format) {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

fn print(log: &eventlog::EventLog, format: super::Format) -> anyhow::Result<()> {
    let mut out = super::stdout(format);
    match format {
        super::Format::Json => {
            serde_json::to_writer_pretty(&mut out, log).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        super::Format::Text => write_text(&mut out, log)?,
        super::Format::Csv => write_csv(&mut out, log)?,
    }
    out.flush()?;
    Ok(())
}

fn drivers(e: &eventlog::Event) -> String {
    e.drivers
        .iter()
        .map(|d| d.name())
        .collect::<Vec<_>>()
        .join(",")
}

fn write_text(out: &mut impl Write, log: &eventlog::EventLog) -> anyhow::Result<()> {
    writeln!(
        out,
        "{}: {} events selected of {} records ({} chunks), {} warnings",
        log.path.display(),
        log.events.len(),
        log.stats.records,
        log.stats.chunks,
        log.warnings.len()
    )?;
    for e in &log.events {
        let d = drivers(e);
        writeln!(
            out,
            "{}  {:<40} {:>5}  {:<11} {}{}",
            e.time,
            escape_field(&e.provider),
            e.event_id,
            e.level_name().unwrap_or("-"),
            escape_field(&e.summary()),
            if d.is_empty() {
                String::new()
            } else {
                format!("  [driver {d}]")
            }
        )?;
    }
    for w in &log.warnings {
        writeln!(out, "warning: {}", escape_field(&w.to_string()))?;
    }
    Ok(())
}

fn write_csv(out: &mut impl Write, log: &eventlog::EventLog) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "time",
        "record_id",
        "provider",
        "event_id",
        "level",
        "channel",
        "drivers",
        "summary",
    ])?;
    for e in &log.events {
        w.write_record([
            e.time.to_string(),
            e.record_id.to_string(),
            e.provider.clone(),
            e.event_id.to_string(),
            e.level_name().unwrap_or("").to_string(),
            e.channel.clone(),
            drivers(e),
            e.summary(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
