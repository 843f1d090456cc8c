//! `bsodwb crashes CASE` and `bsodwb timeline CASE`: the case's crash history, and its crashes and
//! changes on one timeline (text, CSV, JSON, or Timesketch's JSONL import format).

use bsod_workbench::case::Case;
use bsod_workbench::history::{History, export, iso_utc};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct CrashesArgs {
    /// The case folder.
    pub case: PathBuf,
    /// Output format: text (a table and the counts), json (crashes and counts) or csv.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

/// The timeline's output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TimelineFormat {
    Text,
    Csv,
    /// Timesketch's JSONL import format: one event per line.
    Jsonl,
}

#[derive(clap::Args, Debug)]
pub struct TimelineArgs {
    /// The case folder.
    pub case: PathBuf,
    /// Output format: text, csv, or jsonl (Timesketch's import format).
    #[arg(long, value_enum, default_value_t = TimelineFormat::Text)]
    pub format: TimelineFormat,
}

fn load(case: &std::path::Path) -> anyhow::Result<History> {
    let case = Case::load(case, &mut |_| {})?;
    let h = History::build(&case);
    for w in &h.warnings {
        super::eline!("bsodwb: warning: {}: {}", w.path, w.message);
    }
    Ok(h)
}

#[derive(serde::Serialize)]
struct CrashReport<'a> {
    crashes: &'a [bsod_workbench::history::Crash],
    by_culprit: &'a [bsod_workbench::history::Count],
    by_bugcheck: &'a [bsod_workbench::history::Count],
}

pub fn run_crashes(args: CrashesArgs) -> anyhow::Result<()> {
    let h = load(&args.case)?;
    let mut out = super::stdout(args.format);
    match args.format {
        super::Format::Json => {
            let r = CrashReport {
                crashes: &h.crashes,
                by_culprit: &h.by_culprit,
                by_bugcheck: &h.by_bugcheck,
            };
            serde_json::to_writer_pretty(&mut out, &r)?;
            writeln!(out)?;
        }
        super::Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(export::CRASH_COLUMNS)?;
            for c in &h.crashes {
                w.write_record(export::crash_row(c))?;
            }
            w.flush()?;
        }
        super::Format::Text => {
            if h.crashes.is_empty() {
                writeln!(out, "No crash recorded in the case.")?;
            }
            for c in &h.crashes {
                writeln!(
                    out,
                    "{}  {}",
                    c.time.map(iso_utc).unwrap_or_else(|| "(no time)".into()),
                    c.message()
                )?;
                if let Some(m) = &c.machine_time {
                    writeln!(out, "    machine time {m} ({})", c.time_basis.describe())?;
                }
                if let Some(u) = c.uptime_seconds {
                    writeln!(
                        out,
                        "    uptime {}h {:02}m {:02}s",
                        u / 3600,
                        u / 60 % 60,
                        u % 60
                    )?;
                }
                if let Some(k) = &c.culprit {
                    writeln!(
                        out,
                        "    culprit {} {} {} {}",
                        k.driver,
                        k.version.as_deref().unwrap_or("-"),
                        k.company.as_deref().unwrap_or("-"),
                        k.file_date.as_deref().unwrap_or("-")
                    )?;
                }
                for s in &c.sources {
                    writeln!(out, "    source: {}", s.describe())?;
                }
            }
            if !h.by_culprit.is_empty() {
                writeln!(out, "\nBy culprit:")?;
                for c in &h.by_culprit {
                    writeln!(out, "    {}", c.sentence())?;
                }
            }
            if !h.by_bugcheck.is_empty() {
                writeln!(out, "\nBy bug check:")?;
                for c in &h.by_bugcheck {
                    writeln!(out, "    {}", c.sentence())?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

pub fn run_timeline(args: TimelineArgs) -> anyhow::Result<()> {
    let h = load(&args.case)?;
    let rows = h.timeline();
    let escape_as = match args.format {
        TimelineFormat::Text => super::Format::Text,
        TimelineFormat::Csv => super::Format::Csv,
        TimelineFormat::Jsonl => super::Format::Json,
    };
    let mut out = super::stdout(escape_as);
    match args.format {
        TimelineFormat::Jsonl => {
            for r in &rows {
                serde_json::to_writer(&mut out, &export::timesketch_event(&h, r))?;
                writeln!(out)?;
            }
        }
        TimelineFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(export::TIMELINE_COLUMNS)?;
            for r in &rows {
                w.write_record(export::timeline_row(r))?;
            }
            w.flush()?;
        }
        TimelineFormat::Text => {
            for r in &rows {
                let drivers: Vec<String> = r.drivers.iter().map(|d| d.to_string()).collect();
                writeln!(
                    out,
                    "{}  {:<20} {}{}",
                    iso_utc(r.time),
                    r.kind,
                    r.message,
                    if drivers.is_empty() {
                        String::new()
                    } else {
                        format!("  [{}]", drivers.join(", "))
                    }
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
