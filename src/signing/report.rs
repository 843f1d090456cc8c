//! A `sigcheck -i -h` style report of one file's verdict, as label/value lines: the verdict in
//! sigcheck's words and ours, link and signing dates, the catalog that signs the file, every
//! signer with its chain (primary, then nested signatures), the version resource (company,
//! description, product, file version), the machine type and the Authenticode hashes. The
//! workbench's signature view and any other consumer read it; nothing here draws.

use super::{FileVerdict, HashKind};

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time.
fn date(secs: u32) -> String {
    crate::filetime::format_unix(i64::from(secs), 0)
        .trim_end_matches('Z')
        .replacen('T', " ", 1)
}

/// The report, label then value; labels are empty on continuation lines.
pub fn sigcheck_info(v: &FileVerdict) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| out.push((k.to_string(), v));
    put("File", v.path.display().to_string());
    // sigcheck's word, then ours and why.
    let word = if v.verdict.is_signed() {
        "Signed"
    } else {
        "Unsigned (not accepted by kernel-mode code signing)"
    };
    put("Verified", format!("{word}: {}", v.verdict));
    put("Why", v.reason.clone());
    put("Windows", v.windows.clone());
    if let Some(img) = &v.image {
        put(
            "Link date",
            format!("{} ({:#010x})", date(img.timestamp), img.timestamp),
        );
    }
    if let Some(t) = &v.embedded.signing_time {
        put("Signing date", t.clone());
    }
    match &v.catalog {
        Some(c) => {
            put(
                "Catalog",
                format!("{} ({})", c.path.display(), c.location.as_str()),
            );
            put(
                "",
                format!(
                    "signed by {}; {}",
                    c.signer.as_deref().unwrap_or("nobody (unsigned catalog)"),
                    c.signature.chain.describe()
                ),
            );
            for (i, s) in c.signature.chain.subjects.iter().enumerate() {
                put(if i == 0 { "Catalog chain" } else { "" }, s.clone());
            }
        }
        None if v.embedded.present => put("Catalog", "none (embedded signature)".into()),
        None => put("Catalog", "no catalog of the case lists the file".into()),
    }
    for other in v
        .catalogs
        .iter()
        .filter(|o| Some(&o.path) != v.catalog.as_ref().map(|c| &c.path))
    {
        put(
            "Also in",
            format!("{} ({})", other.path.display(), other.location.as_str()),
        );
    }
    for n in &v.listed_by_name {
        put(
            "Named in",
            format!(
                "{} ({}) under another hash",
                n.path.display(),
                n.location.as_str()
            ),
        );
    }
    if let Some(why) = &v.embedded.unreadable {
        put("Embedded", format!("unreadable ({why})"));
    }
    if v.embedded.present {
        for s in &v.embedded.signatures {
            let label = if s.depth == 0 {
                "Signer"
            } else {
                "Nested signer"
            };
            put(
                label,
                format!(
                    "{} ({}, {}): {}",
                    s.signer.as_deref().unwrap_or("?"),
                    s.digest_algorithm,
                    s.signing_time.as_deref().unwrap_or("no signing time"),
                    s.trust_str()
                ),
            );
            put(
                "",
                format!("Cert Issuer: {}", s.issuer.as_deref().unwrap_or("?")),
            );
            put("", format!("Chain: {}", s.chain.describe()));
            for subject in &s.chain.subjects {
                put("", format!("  {subject}"));
            }
        }
    } else if v.image.is_some() {
        put("Embedded", "none".into());
    }
    let img = v.image.as_ref();
    let field = |f: Option<&String>| f.cloned().unwrap_or_else(|| "n/a".to_string());
    put("Company", field(img.and_then(|i| i.company.as_ref())));
    put(
        "Description",
        field(img.and_then(|i| i.description.as_ref())),
    );
    put("Product", field(img.and_then(|i| i.product.as_ref())));
    put(
        "File version",
        field(img.and_then(|i| i.file_version.as_ref())),
    );
    put(
        "Original name",
        field(img.and_then(|i| i.original_filename.as_ref())),
    );
    if let Some(i) = img {
        put(
            "MachineType",
            i.machine_name
                .map_or_else(|| format!("{:#06x}", i.machine), str::to_string),
        );
    }
    if let Some(c) = &v.checksum {
        put("CheckSum", c.to_string());
    }
    let (k1, k256) = match v.hash_kind {
        HashKind::Authenticode => ("PESHA1", "PESHA256"),
        _ => ("SHA1", "SHA256"),
    };
    if let Some(h) = &v.sha1 {
        put(k1, h.clone());
    }
    if let Some(h) = &v.sha256 {
        put(k256, h.clone());
    }
    if v.hash_kind == HashKind::Authenticode {
        if let Some(h) = &v.flat_sha1 {
            put("SHA1", h.clone());
        }
        if let Some(h) = &v.flat_sha256 {
            put("SHA256", h.clone());
        }
    }
    for t in &v.third_party {
        put(
            &format!("{} says", t.source),
            format!("{} ({})", t.status, t.report.display()),
        );
    }
    for w in &v.warnings {
        put("Warning", w.shown_for(&v.path));
    }
    out
}
