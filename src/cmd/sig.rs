//! `bsodwb sig PATH... [--catalogs DIR]... [--roots PEM] [--import REPORT]... --format text|json|csv`

use bsod_workbench::escape::escape_field;
use bsod_workbench::signing::{
    self, CatalogDir, CatalogIndex, FileVerdict, IndexProgress, RootStore, Summary,
};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Driver files, or folders to search for `.sys` files (recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// A folder of catalogs (or one `.cat`) to look hashes up in; repeatable. The CatRoot and
    /// servicing\Packages folders of a case folder containing PATH are found automatically.
    #[arg(long = "catalogs", value_name = "DIR")]
    pub catalogs: Vec<PathBuf>,
    /// Trusted roots (PEM) for a chain check of embedded and catalog signatures.
    #[arg(long, value_name = "PEM")]
    pub roots: Option<PathBuf>,
    /// A sigcheck CSV or SIGVERIF.TXT to show beside our verdicts; repeatable. Reports in the
    /// case folder are found automatically.
    #[arg(long = "import", value_name = "REPORT")]
    pub import: Vec<PathBuf>,
    /// Do not look for catalog folders and reports around PATH.
    #[arg(long)]
    pub no_case: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let roots = match &args.roots {
        Some(p) => {
            let store = RootStore::from_pem_file(p)?;
            if store.is_empty() {
                anyhow::bail!(
                    "{}: PEM expected, but no -----BEGIN CERTIFICATE----- block was found",
                    p.display()
                );
            }
            Some(store)
        }
        None => None,
    };
    let mut dirs: Vec<CatalogDir> = args.catalogs.iter().map(CatalogDir::new).collect();
    let mut reports: Vec<PathBuf> = args.import.clone();
    let mut files = Vec::new();
    for p in &args.paths {
        files.extend(driver_files(p)?);
        if !args.no_case
            && let Some(root) = signing::find_case_root(p)
        {
            dirs.extend(signing::case_catalogs(&root));
            reports.extend(signing::imported::find_reports(&root));
        }
    }
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    dirs.dedup();
    reports.sort();
    reports.dedup();
    files.sort();
    files.dedup();
    if files.is_empty() {
        let names: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!(
            "{}: no driver files (.sys) found: nothing to judge",
            names.join(", ")
        );
    }

    let index = CatalogIndex::build(&dirs, &|p: IndexProgress| {
        if p.total >= 1024 {
            eprint!("\rindexing catalogs: {}/{}", p.done, p.total); // numbers only
            if p.done == p.total {
                eprintln!();
            }
        }
    });
    for d in &dirs {
        super::eline!("catalogs: {} ({})", d.path.display(), d.location.as_str());
    }
    let unreadable = index.catalogs.iter().filter(|c| c.error.is_some()).count();
    super::eline!(
        "indexed {} catalogs, {} member hashes{}",
        index.catalogs.len(),
        index.member_count(),
        if unreadable > 0 {
            format!(", {unreadable} with errors")
        } else {
            String::new()
        }
    );
    let mut verdicts = signing::verdicts(&files, &index, roots.as_ref());
    let mut third = Vec::new();
    for r in &reports {
        match signing::imported::read_report(r) {
            Ok(lines) => third.extend(lines),
            Err(e) => super::eline!("warning: {e}"),
        }
    }
    signing::attach_third_party(&mut verdicts, &third);

    let mut out = super::stdout(args.format);
    match args.format {
        super::Format::Json => {
            serde_json::to_writer_pretty(&mut out, &verdicts)?;
            writeln!(out)?;
        }
        super::Format::Csv => write_csv(&mut out, &verdicts)?,
        super::Format::Text => write_text(&mut out, &verdicts)?,
    }
    out.flush()?;
    // A run that judged no file (only unreadable files, or files that are not PE images and
    // no catalog lists) did not answer the question: say so in the exit code.
    if !verdicts.iter().any(judged) {
        anyhow::bail!(
            "no file was judged: {} file(s), none a readable PE image or catalogued",
            verdicts.len()
        );
    }
    Ok(())
}

/// Whether a verdict answers "is this driver signed?".
fn judged(v: &FileVerdict) -> bool {
    v.verdict != signing::Verdict::Unreadable && !not_a_pe(v)
}

/// A file that is not a PE image and that no catalog lists: "unsigned" would misstate it.
fn not_a_pe(v: &FileVerdict) -> bool {
    v.hash_kind == signing::HashKind::Flat && v.verdict == signing::Verdict::Unsigned
}

/// The verdict as shown: "not a PE image" rather than "unsigned" for a file that is no driver.
fn verdict_label(v: &FileVerdict, csv: bool) -> String {
    match (not_a_pe(v), csv) {
        (true, true) => "not-a-pe-image".into(),
        (true, false) => "not a PE image (no driver; no catalog lists its hash)".into(),
        (false, _) => v.verdict.to_string(),
    }
}

/// The driver files of one PATH argument: the file itself, or the `.sys` files of a folder.
/// Anything else (a FIFO, a device, a socket) is refused before it is opened.
fn driver_files(p: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    let named = |e: std::io::Error| anyhow::anyhow!("{}: {}", p.display(), e);
    let meta = std::fs::metadata(p)
        .map_err(bsod_workbench::input::plain)
        .map_err(named)?;
    if meta.is_dir() {
        std::fs::read_dir(p)
            .map_err(bsod_workbench::input::plain)
            .map_err(named)?;
        return Ok(signing::driver_files(p));
    }
    super::check_file(p)?;
    Ok(vec![p.to_path_buf()])
}

fn write_csv(out: &mut impl Write, verdicts: &[FileVerdict]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "path",
        "verdict",
        "sha1",
        "sha256",
        "embedded",
        "signer",
        "digest_ok",
        "catalog",
        "location",
    ])?;
    for v in verdicts {
        w.write_record([
            v.path.display().to_string(),
            verdict_label(v, true),
            v.sha1.clone().unwrap_or_default(),
            v.sha256.clone().unwrap_or_default(),
            v.embedded.present.to_string(),
            v.embedded.signer.clone().unwrap_or_default(),
            v.embedded
                .digest_ok
                .map(|b| b.to_string())
                .unwrap_or_default(),
            v.catalog
                .as_ref()
                .map(|c| c.path.display().to_string())
                .unwrap_or_default(),
            v.catalog
                .as_ref()
                .map(|c| c.location.as_str().to_string())
                .unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// sigcheck-like blocks, one per file, then the counts.
fn write_text(out: &mut impl Write, verdicts: &[FileVerdict]) -> std::io::Result<()> {
    for v in verdicts {
        writeln!(out, "{}:", escape_field(&v.path.display().to_string()))?;
        writeln!(out, "    Verdict:     {}", verdict_label(v, false))?;
        if let Some(c) = &v.catalog {
            writeln!(
                out,
                "    Catalog:     {} ({})",
                c.path.display(),
                c.location.as_str()
            )?;
            let mut bits = Vec::new();
            if let Some(f) = &c.member_file {
                bits.push(format!("File {f}"));
            }
            if let Some(o) = &c.os_attr {
                bits.push(format!("OSAttr {o}"));
            }
            bits.push(match &c.signer {
                Some(s) => format!("signed by {s}"),
                None => "unsigned catalog".to_string(),
            });
            if let Some(ch) = c.chain {
                bits.push(format!("chain {}", ch.as_str()));
            }
            writeln!(out, "                 {}", bits.join("; "))?;
            for other in v.catalogs.iter().skip(1) {
                writeln!(
                    out,
                    "    Also in:     {} ({})",
                    other.path.display(),
                    other.location.as_str()
                )?;
            }
        }
        for n in &v.listed_by_name {
            writeln!(
                out,
                "    Named in:    {} ({}) under another hash",
                n.path.display(),
                n.location.as_str()
            )?;
        }
        if v.embedded.present {
            for s in &v.embedded.signatures {
                let label = if s.depth == 0 { "Signer:" } else { "Nested:" };
                writeln!(
                    out,
                    "    {label:<12} {} (issuer {}), {}, digest {}{}{}",
                    s.signer.as_deref().unwrap_or("?"),
                    s.issuer.as_deref().unwrap_or("?"),
                    s.digest_algorithm,
                    if s.digest_ok { "ok" } else { "MISMATCH" },
                    s.signing_time
                        .as_deref()
                        .map(|t| format!(", signed {t}"))
                        .unwrap_or_default(),
                    s.chain
                        .as_ref()
                        .map(|c| format!(", chain {}", c.status.as_str()))
                        .unwrap_or_default(),
                )?;
            }
        } else if v.image.is_some() {
            writeln!(out, "    Embedded:    none")?;
        }
        if let Some(img) = &v.image {
            if let Some(c) = &img.company {
                writeln!(out, "    Company:     {c}")?;
            }
            if let Some(f) = &img.file_version {
                writeln!(out, "    File version: {f}")?;
            }
        }
        let (k1, k256) = match v.hash_kind {
            signing::HashKind::Authenticode => ("PESHA1:", "PESHA256:"),
            _ => ("SHA1:", "SHA256:"),
        };
        if let Some(h) = &v.sha1 {
            writeln!(out, "    {k1:<12} {h}")?;
        }
        if let Some(h) = &v.sha256 {
            writeln!(out, "    {k256:<12} {h}")?;
        }
        for t in &v.third_party {
            writeln!(
                out,
                "    {:<12} {} ({})",
                format!("{}:", t.source),
                t.status,
                t.report.display()
            )?;
        }
        for w in &v.warnings {
            writeln!(out, "    warning:     {w}")?;
        }
    }
    let summary = Summary::of(verdicts);
    let not_pe = verdicts.iter().filter(|v| not_a_pe(v)).count();
    let mut counts: Vec<String> = summary
        .counts
        .iter()
        .map(|(k, n)| {
            let n = if *k == signing::Verdict::Unsigned {
                n - not_pe
            } else {
                *n
            };
            format!("{n} {k}")
        })
        .filter(|c| !c.starts_with("0 "))
        .collect();
    if not_pe > 0 {
        counts.push(format!("{not_pe} not a PE image"));
    }
    writeln!(out, "\n{} file(s): {}", summary.files, counts.join(", "))?;
    if let Some(a) = summary.advice() {
        writeln!(out, "{a}")?;
    }
    Ok(())
}
