//! `bsodwb sig PATH... [--catalogs DIR]... [--roots PEM]... [--no-default-roots] [--import REPORT]... --format text|json|csv`

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
    /// More trusted roots (PEM), added to the shipped Microsoft roots and cross-certificates;
    /// repeatable.
    #[arg(long, value_name = "PEM")]
    pub roots: Vec<PathBuf>,
    /// Do not trust the shipped roots and cross-certificates (only `--roots`).
    #[arg(long)]
    pub no_default_roots: bool,
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
    let mut roots = if args.no_default_roots {
        RootStore::empty()
    } else {
        RootStore::builtin()
    };
    for p in &args.roots {
        let before = roots.len();
        roots.add_pem_file(p)?;
        if roots.len() == before {
            anyhow::bail!(
                "{}: PEM expected, but no -----BEGIN CERTIFICATE----- block was found",
                p.display()
            );
        }
    }
    let mut dirs: Vec<CatalogDir> = args.catalogs.iter().map(CatalogDir::new).collect();
    let mut reports: Vec<PathBuf> = args.import.clone();
    let mut files = Vec::new();
    let mut catalogs = Vec::new();
    for p in &args.paths {
        if p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("cat")) {
            // A catalog given by itself is described: members, signer, signature states.
            super::check_file(p)?;
            catalogs.push(signing::CatalogReport::open(p, &roots)?);
            continue;
        }
        files.extend(driver_files(p)?);
        if !args.no_case
            && let Some(root) = signing::find_case_root(p)
        {
            dirs.extend(signing::discover_catalog_dirs(&root));
            reports.extend(signing::imported::find_reports(&root));
        }
    }
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    dirs.dedup();
    reports.sort();
    reports.dedup();
    files.sort();
    files.dedup();
    if files.is_empty() && catalogs.is_empty() {
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
    for d in dirs
        .iter()
        .filter(|d| d.location != signing::CatalogLocation::Elsewhere)
    {
        super::eline!("catalogs: {} ({})", d.path.display(), d.location.as_str());
    }
    let loose = dirs
        .iter()
        .filter(|d| d.location == signing::CatalogLocation::Elsewhere)
        .count();
    if loose > 0 {
        super::eline!(
            "catalogs: {loose} more .cat file(s) elsewhere in the case (not in the catalog database)"
        );
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
    let mut verdicts = signing::verdicts(&files, &index, &roots);
    let mut third = Vec::new();
    for r in &reports {
        match signing::imported::read_report(r) {
            Ok(lines) => third.extend(lines),
            Err(e) => super::eline!("warning: {e}"),
        }
    }
    signing::attach_third_party(&mut verdicts, &third);

    let mut out = super::stdout(args.format);
    if !catalogs.is_empty() {
        match args.format {
            super::Format::Json => {
                let both = serde_json::json!({ "catalogs": catalogs, "files": verdicts });
                serde_json::to_writer_pretty(&mut out, &both)?;
                writeln!(out)?;
            }
            super::Format::Csv => write_catalog_csv(&mut out, &catalogs)?,
            super::Format::Text => {
                write_catalog_text(&mut out, &catalogs)?;
                if !verdicts.is_empty() {
                    write_text(&mut out, &verdicts)?;
                }
            }
        }
        out.flush()?;
        return Ok(());
    }
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
    !matches!(
        v.verdict,
        signing::Verdict::Unreadable | signing::Verdict::NotAPeImage
    )
}

/// The verdict as shown: the library's word in CSV, a sentence for a file that is no driver.
fn verdict_label(v: &FileVerdict, csv: bool) -> String {
    match (v.verdict, csv) {
        (signing::Verdict::NotAPeImage, false) => {
            "not a PE image (no driver; no catalog lists its hash)".into()
        }
        (verdict, _) => verdict.to_string(),
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
        "chain",
        "catalog",
        "location",
        "reason",
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
            v.embedded
                .chain
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            v.catalog
                .as_ref()
                .map(|c| c.path.display().to_string())
                .unwrap_or_default(),
            v.catalog
                .as_ref()
                .map(|c| c.location.as_str().to_string())
                .unwrap_or_default(),
            v.reason.clone(),
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
        writeln!(out, "    Why:         {}", v.reason)?;
        writeln!(out, "    Windows:     {}", v.windows)?;
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
            writeln!(out, "                 {}", bits.join("; "))?;
            write_catalog_states(out, &c.signature)?;
            for other in v.catalogs.iter().filter(|o| o.path != c.path) {
                writeln!(
                    out,
                    "    Also in:     {} ({}): {}",
                    other.path.display(),
                    other.location.as_str(),
                    other.signature.reason
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
        if let Some(why) = &v.embedded.unreadable {
            writeln!(out, "    Embedded:    unreadable ({why})")?;
        }
        if v.embedded.present {
            for s in &v.embedded.signatures {
                let label = if s.depth == 0 { "Signer:" } else { "Nested:" };
                writeln!(
                    out,
                    "    {label:<12} {} (issuer {}), {}: {}",
                    s.signer.as_deref().unwrap_or("?"),
                    s.issuer.as_deref().unwrap_or("?"),
                    s.digest_algorithm,
                    s.trust_str(),
                )?;
                write_states(
                    out,
                    "                 ",
                    Some(&s.digest),
                    &s.message_digest,
                    &s.signature,
                    &s.chain,
                    &s.timestamp,
                    Some(&s.page_hashes),
                )?;
            }
        } else if v.image.is_some() {
            writeln!(out, "    Embedded:    none")?;
        }
        if let Some(c) = &v.checksum {
            writeln!(out, "    CheckSum:    {c}")?;
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
            writeln!(out, "    warning:     {}", clean(&w.shown_for(&v.path)))?;
        }
    }
    let summary = Summary::of(verdicts);
    let not_pe = summary
        .counts
        .get(&signing::Verdict::NotAPeImage)
        .copied()
        .unwrap_or(0);
    let mut counts: Vec<String> = summary
        .counts
        .iter()
        .filter(|(k, _)| **k != signing::Verdict::NotAPeImage)
        .map(|(k, n)| format!("{n} {k}"))
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

/// The checks of a catalog's signature (no file digest, no page hashes), under its lines.
fn write_catalog_states(
    out: &mut impl Write,
    sig: &signing::CatalogSignature,
) -> std::io::Result<()> {
    write_states(
        out,
        "                 ",
        None,
        &sig.message_digest,
        &sig.signature,
        &sig.chain,
        &sig.timestamp,
        None,
    )
}

/// The states of one signature, one per line.
#[allow(clippy::too_many_arguments)]
fn write_states(
    out: &mut impl Write,
    indent: &str,
    digest: Option<&signing::Check>,
    message_digest: &signing::Check,
    signature: &signing::Check,
    chain: &signing::ChainReport,
    timestamp: &signing::Timestamp,
    page_hashes: Option<&signing::Check>,
) -> std::io::Result<()> {
    if let Some(d) = digest {
        writeln!(out, "{indent}digest:         {}", d.describe())?;
    }
    writeln!(out, "{indent}message digest: {}", message_digest.describe())?;
    writeln!(out, "{indent}signature:      {}", signature.describe())?;
    writeln!(out, "{indent}chain:          {}", chain.describe())?;
    if !chain.subjects.is_empty() {
        writeln!(
            out,
            "{indent}                {}",
            chain.subjects.join(" <- ")
        )?;
    }
    writeln!(out, "{indent}timestamp:      {}", timestamp.describe())?;
    if let Some(p) = page_hashes {
        writeln!(out, "{indent}page hashes:    {}", p.describe())?;
    }
    Ok(())
}

/// Control characters of hostile catalogs shown as `\u{..}`, never sent to the terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One block per catalog given by itself: signature states, then every member.
fn write_catalog_text(
    out: &mut impl Write,
    catalogs: &[signing::CatalogReport],
) -> std::io::Result<()> {
    for c in catalogs {
        writeln!(out, "{} (catalog):", c.catalog.path.display())?;
        writeln!(
            out,
            "    Signer:      {} (issuer {}): {}",
            clean(c.catalog.signature.signer.as_deref().unwrap_or("?")),
            clean(c.catalog.signature.signer_issuer.as_deref().unwrap_or("?")),
            clean(&c.catalog.signature.reason)
        )?;
        write_catalog_states(out, &c.catalog.signature)?;
        if let Some(t) = &c.this_update {
            writeln!(out, "    Updated:     {t}")?;
        }
        for (k, v) in &c.attributes {
            writeln!(out, "    {:<12} {}", clean(&format!("{k}:")), clean(v))?;
        }
        writeln!(out, "    Members:     {}", c.members.len())?;
        for m in &c.members {
            writeln!(
                out,
                "      {} {} {}{}",
                m.digest_algorithm,
                signing::der::hex_upper(&m.digest),
                clean(m.file.as_deref().unwrap_or(&m.tag)),
                m.os_attr
                    .as_deref()
                    .map(|o| format!(" (OSAttr {})", clean(o)))
                    .unwrap_or_default()
            )?;
        }
        for w in &c.catalog.warnings {
            writeln!(out, "    warning:     {}", clean(&w.to_string()))?;
        }
    }
    Ok(())
}

/// One CSV line per catalog member, with the catalog's judgement.
fn write_catalog_csv(
    out: &mut impl Write,
    catalogs: &[signing::CatalogReport],
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "catalog",
        "trust",
        "signer",
        "member",
        "digest_algorithm",
        "digest",
        "os_attr",
    ])?;
    for c in catalogs {
        for m in &c.members {
            w.write_record([
                c.catalog.path.display().to_string(),
                format!("{:?}", c.catalog.signature.trust).to_lowercase(),
                c.catalog.signature.signer.clone().unwrap_or_default(),
                m.file.clone().unwrap_or_else(|| m.tag.clone()),
                m.digest_algorithm.clone(),
                signing::der::hex_upper(&m.digest),
                m.os_attr.clone().unwrap_or_default(),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}
