//! `bsodwb analyze CASE`: load a whole case and print what the rules conclude, with evidence.

use bsod_workbench::analysis::CaseAnalysis;
use bsod_workbench::case::Case;
use bsod_workbench::escape::escape_field;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The case folder.
    pub case: PathBuf,
    /// Output format: text (findings with evidence), json (findings, drivers, problems) or md
    /// (a ticket-ready Markdown report: summary, findings with fixes, crash history, drivers).
    #[arg(long, value_enum, default_value_t = AnalyzeFormat::Text)]
    pub format: AnalyzeFormat,
}

/// `analyze`'s formats: the shared ones and Markdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AnalyzeFormat {
    Text,
    Json,
    Csv,
    Md,
}

#[derive(serde::Serialize)]
struct Report<'a> {
    findings: &'a [bsod_workbench::findings::Finding],
    drivers: &'a bsod_workbench::links::DriverIndex,
    problems: &'a [bsod_workbench::case::Problem],
    /// Every driver INF of the case with the catalog and driver files it names, found in the case.
    driver_packages: &'a [bsod_workbench::inf::InfPackage],
    /// Each BCD store: its case path and its default entry's effective integrity settings.
    bcd: Vec<BcdSummary<'a>>,
}

#[derive(serde::Serialize)]
struct BcdSummary<'a> {
    file: &'a str,
    integrity: Option<bsod_workbench::registry::bcd::Integrity>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let case = Case::load(&args.case, &mut |_| {})?;
    let analysis = CaseAnalysis::build(&case);
    let shared = match args.format {
        AnalyzeFormat::Json => super::Format::Json,
        AnalyzeFormat::Csv => super::Format::Csv,
        // Markdown is text: the report escapes case content itself, and the terminal-safe
        // writer guards the rest.
        AnalyzeFormat::Text | AnalyzeFormat::Md => super::Format::Text,
    };
    let mut out = super::stdout(shared);
    match args.format {
        AnalyzeFormat::Md => {
            write!(
                out,
                "{}",
                bsod_workbench::report::markdown(&case, &analysis)
            )?;
        }
        AnalyzeFormat::Json => {
            let r = Report {
                findings: &analysis.findings,
                drivers: &analysis.links,
                problems: &case.problems,
                driver_packages: &analysis.driver_packages,
                bcd: case
                    .bcd
                    .iter()
                    .map(|b| BcdSummary {
                        file: &b.file,
                        integrity: b.store.integrity(),
                    })
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut out, &r)?;
            writeln!(out)?;
        }
        AnalyzeFormat::Text | AnalyzeFormat::Csv => {
            if analysis.findings.is_empty() {
                writeln!(out, "No findings.")?;
            }
            for f in &analysis.findings {
                writeln!(out, "{}", f.to_text())?;
            }
            for p in &case.problems {
                writeln!(
                    out,
                    "problem: {}: {}",
                    escape_field(&p.path),
                    escape_field(&p.message)
                )?;
            }
        }
    }
    out.flush()?;
    // A folder with nothing bsodwb reads was not analysed: "No findings." alone would read as
    // a clean bill of health.
    let files = case.inventory.as_ref().map_or(&[][..], |i| &i.files[..]);
    if files
        .iter()
        .all(|f| f.kind == bsod_workbench::case::Kind::Unknown)
    {
        anyhow::bail!(
            "{}: nothing was judged: no dump, boot log, event log, hive, driver or catalog among its {} file(s)",
            args.case.display(),
            files.len()
        );
    }
    Ok(())
}
