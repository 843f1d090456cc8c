//! Signature reports made on the machine by other tools: Sysinternals sigcheck CSV (`-c`, with
//! `-h`/`-i` columns when present) and sigverif's SIGVERIF.TXT. They are shown beside our own
//! verdicts, never instead of them (docs/formats/signing.md §4.3-4.4).

use crate::driver::DriverKey;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One file's line in a third-party report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThirdPartyVerdict {
    /// `sigcheck` or `sigverif`.
    pub source: &'static str,
    /// The report file.
    pub report: PathBuf,
    /// The file as the report names it (a Windows path, or a bare name for sigverif).
    pub file: String,
    /// The tool's own words: sigcheck "Verified" (`Signed`, `Unsigned`, …), sigverif "Status".
    pub status: String,
    pub catalog: Option<String>,
    pub signer: Option<String>,
    /// sigcheck's PESHA1 (Authenticode SHA1), when the report has the `-h` columns.
    pub pesha1: Option<String>,
}

impl ThirdPartyVerdict {
    /// The driver the line names.
    pub fn driver(&self) -> Option<DriverKey> {
        DriverKey::from_path(&self.file)
    }
}

/// Errors reading a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: expected {expected}")]
    Format {
        path: PathBuf,
        line: usize,
        expected: String,
    },
}

/// Text of a report: UTF-16LE with a BOM (sigcheck's `-w` output and Unicode redirects), UTF-8
/// (BOM optional) or, failing that, Latin-1.
fn report_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        return crate::text::utf16le_lossy(rest);
    }
    let bytes = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A report file's text, read within the report bound.
fn read_text(path: &Path) -> Result<String, ReportError> {
    let bytes =
        crate::input::read_bounded(path, crate::input::MAX_REPORT_BYTES).map_err(|source| {
            ReportError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
    Ok(report_text(&bytes))
}

/// Read a sigcheck CSV (`sigcheck -c [-h] [-i] …`): columns found by header name.
pub fn read_sigcheck_csv(path: &Path) -> Result<Vec<ThirdPartyVerdict>, ReportError> {
    parse_sigcheck_csv(&read_text(path)?, path)
}

/// Parse sigcheck CSV text (`report` names the source in results and errors).
pub fn parse_sigcheck_csv(
    text: &str,
    report: &Path,
) -> Result<Vec<ThirdPartyVerdict>, ReportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|_| ReportError::Format {
            path: report.to_path_buf(),
            line: 1,
            expected: "a CSV header line".into(),
        })?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(path_col), Some(verified_col)) = (col("path"), col("verified")) else {
        return Err(ReportError::Format {
            path: report.to_path_buf(),
            line: 1,
            expected: "sigcheck columns \"Path\" and \"Verified\"".into(),
        });
    };
    let catalog_col = col("catalog");
    let signer_col = col("signers").or_else(|| col("publisher"));
    let pesha1_col = col("pesha1");
    let mut out = Vec::new();
    for rec in rdr.records().flatten() {
        let get = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty() && s != "n/a")
        };
        let Some(file) = get(Some(path_col)) else {
            continue;
        };
        out.push(ThirdPartyVerdict {
            source: "sigcheck",
            report: report.to_path_buf(),
            file,
            status: get(Some(verified_col)).unwrap_or_default(),
            catalog: get(catalog_col),
            signer: get(signer_col),
            pesha1: get(pesha1_col).map(|s| s.to_ascii_uppercase()),
        });
    }
    Ok(out)
}

/// Read a SIGVERIF.TXT: `[directory]` headers followed by fixed-width rows
/// `File  Modified  Version  Status  Catalog  Signed By`, split on runs of 2+ spaces.
pub fn read_sigverif(path: &Path) -> Result<Vec<ThirdPartyVerdict>, ReportError> {
    Ok(parse_sigverif(&read_text(path)?, path))
}

/// Parse SIGVERIF.TXT text leniently (its layout is not documented; unknown lines are skipped).
pub fn parse_sigverif(text: &str, report: &Path) -> Vec<ThirdPartyVerdict> {
    let mut out = Vec::new();
    let mut dir: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end();
        let trimmed = line.trim();
        if let Some(inner) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            dir = Some(inner.to_string());
            continue;
        }
        let Some(dir) = &dir else { continue };
        let cols: Vec<&str> = trimmed
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        // File, Modified, Version, Status, Catalog, Signed By (the last two may be absent).
        if cols.len() < 4 {
            continue;
        }
        let status_at = cols
            .iter()
            .position(|c| {
                let l = c.to_ascii_lowercase();
                l == "signed" || l == "not signed" || l == "unsigned"
            })
            .unwrap_or(3);
        let file = cols.first().copied().unwrap_or_default();
        out.push(ThirdPartyVerdict {
            source: "sigverif",
            report: report.to_path_buf(),
            file: format!("{}\\{}", dir.trim_end_matches('\\'), file),
            status: cols.get(status_at).copied().unwrap_or_default().to_string(),
            catalog: cols
                .get(status_at + 1)
                .map(|s| s.to_string())
                .filter(|s| s != "N/A"),
            signer: cols.get(status_at + 2).map(|s| s.to_string()),
            pesha1: None,
        });
    }
    out
}

/// Read a report by sniffing: SIGVERIF.TXT by name or banner, else sigcheck CSV.
pub fn read_report(path: &Path) -> Result<Vec<ThirdPartyVerdict>, ReportError> {
    let text = read_text(path)?;
    let is_sigverif = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("sigverif.txt"))
        || text.contains("Microsoft Signature Verification");
    if is_sigverif {
        Ok(parse_sigverif(&text, path))
    } else {
        parse_sigcheck_csv(&text, path)
    }
}

/// Reports found in a case folder (up to three levels deep): `SIGVERIF.TXT` files and CSV
/// files whose header has sigcheck's `Path` and `Verified` columns.
pub fn find_reports(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    find_in(root, 0, &mut out);
    out.sort();
    out
}

fn find_in(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        let name = e.file_name().to_string_lossy().to_ascii_lowercase();
        if ft.is_dir() {
            if depth < 2 {
                find_in(&p, depth + 1, out);
            }
        } else if name == "sigverif.txt" || (name.ends_with(".csv") && looks_like_sigcheck(&p)) {
            out.push(p);
        }
    }
}

fn looks_like_sigcheck(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 512];
    // Only a regular file: a FIFO named *.csv in a case folder must not block the search.
    let n = crate::input::open_regular(path)
        .and_then(|(mut f, _)| f.read(&mut head))
        .unwrap_or(0);
    let text = report_text(head.get(..n).unwrap_or_default()).to_ascii_lowercase();
    let first = text.lines().next().unwrap_or_default();
    first.contains("path") && first.contains("verified")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigcheck_csv_by_header_names() {
        let text = "Path,Verified,Date,Publisher,Company,Description,Product,Product Version,File Version,Machine Type,MD5,SHA1,PESHA1,PESHA256,SHA256,IMP\n\
            c:\\windows\\system32\\drivers\\filecrypt.sys,Unsigned,12:00 AM 1/1/2024,n/a,Microsoft Corporation,Windows sandboxing and encryption filter,,,,64-bit,x,y,d416e183eeaea1e03f1b13c8a352bff5c22544a2,z,w,n/a\n";
        let v = parse_sigcheck_csv(text, Path::new("s.csv")).expect("parses");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].status, "Unsigned");
        assert_eq!(
            v[0].driver().map(|k| k.name().to_string()).as_deref(),
            Some("filecrypt.sys")
        );
        assert_eq!(
            v[0].pesha1.as_deref(),
            Some("D416E183EEAEA1E03F1B13C8A352BFF5C22544A2")
        );
        assert!(parse_sigcheck_csv("a,b\n1,2\n", Path::new("x.csv")).is_err());
    }

    #[test]
    fn utf16_reports_with_a_bom_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sigcheck.csv");
        let text = "Path,Verified\r\nc:\\windows\\system32\\drivers\\cdrom.sys,Signed\r\n";
        let mut bytes = vec![0xff, 0xfe];
        bytes.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        std::fs::write(&path, &bytes).expect("write");
        let v = read_report(&path).expect("reads");
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].source, v[0].status.as_str()), ("sigcheck", "Signed"));
        assert_eq!(find_reports(dir.path()), vec![path]);
    }

    #[test]
    fn sigverif_rows_under_directory_headers() {
        let text = "Microsoft Signature Verification\r\n\r\nLog file generated on 1/2/2024 at 10:00 AM\r\n\
            File                Modified    Version     Status        Catalog       Signed By\r\n\
            ------------------  ----------  ----------  ------------  ------------  -------------------\r\n\
            [c:\\windows\\system32\\drivers]\r\n\
            filecrypt.sys       1/1/2024    10.0        Not Signed    N/A\r\n\
            cdrom.sys           1/1/2024    10.0        Signed        Package_1.cat  Microsoft Windows\r\n";
        let v = parse_sigverif(text, Path::new("SIGVERIF.TXT"));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].file, "c:\\windows\\system32\\drivers\\filecrypt.sys");
        assert_eq!(v[0].status, "Not Signed");
        assert_eq!(v[0].catalog, None);
        assert_eq!(v[1].catalog.as_deref(), Some("Package_1.cat"));
        assert_eq!(v[1].signer.as_deref(), Some("Microsoft Windows"));
    }
}
