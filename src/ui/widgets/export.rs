//! A pane's view as a table of text, and that table written as CSV, TSV, Markdown or JSON
//! (`:export`, and `Y`'s TSV).

use super::command::ExportFormat;

/// What a pane shows, as text: a header and the rows in display order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl ViewTable {
    pub fn new(header: &[&str]) -> ViewTable {
        ViewTable {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Tab-separated, a header line first (tabs and line breaks inside cells become spaces).
    pub fn to_tsv(&self) -> String {
        let mut out = tsv_line(&self.header);
        for r in &self.rows {
            out.push_str(&tsv_line(r));
        }
        out
    }

    /// One row as a TSV line (no line end).
    pub fn row_tsv(&self, i: usize) -> Option<String> {
        self.rows.get(i).map(|r| tsv_line(r).trim_end().to_string())
    }

    /// The table in `format`.
    pub fn to_bytes(&self, format: ExportFormat) -> Vec<u8> {
        match format {
            ExportFormat::Tsv => self.to_tsv().into_bytes(),
            ExportFormat::Csv => {
                // RFC 4180: CRLF record ends, fields with a comma, quote or line break quoted.
                let mut out = String::new();
                for r in std::iter::once(&self.header).chain(&self.rows) {
                    let cells: Vec<String> = r.iter().map(|c| csv_field(c)).collect();
                    out.push_str(&cells.join(","));
                    out.push_str("\r\n");
                }
                out.into_bytes()
            }
            ExportFormat::Markdown => {
                let line = |r: &[String]| {
                    let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
                    format!("| {} |\n", cells.join(" | "))
                };
                let mut out = line(&self.header);
                out.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
                for r in &self.rows {
                    out.push_str(&line(r));
                }
                out.into_bytes()
            }
            ExportFormat::Json => {
                let rows: Vec<serde_json::Map<String, serde_json::Value>> = self
                    .rows
                    .iter()
                    .map(|r| {
                        self.header
                            .iter()
                            .zip(r)
                            .map(|(h, c)| (h.clone(), serde_json::Value::String(c.clone())))
                            .collect()
                    })
                    .collect();
                let mut out = serde_json::to_vec_pretty(&rows).unwrap_or_default();
                out.push(b'\n');
                out
            }
        }
    }
}

fn tsv_line(r: &[String]) -> String {
    let cells: Vec<String> = r
        .iter()
        .map(|c| c.replace(['\t', '\r', '\n'], " "))
        .collect();
    format!("{}\n", cells.join("\t"))
}

fn csv_field(c: &str) -> String {
    if c.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_string()
    }
}

fn md_cell(c: &str) -> String {
    c.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ViewTable {
        let mut t = ViewTable::new(&["Name", "Path"]);
        t.rows.push(vec!["a,b".into(), "C:\\x|y".into()]);
        t.rows.push(vec!["say \"hi\"".into(), "two\nlines".into()]);
        t
    }

    #[test]
    fn csv_quotes_as_rfc4180() {
        let csv = String::from_utf8(table().to_bytes(ExportFormat::Csv)).unwrap();
        assert_eq!(
            csv,
            "Name,Path\r\n\"a,b\",C:\\x|y\r\n\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn markdown_escapes_pipes_and_breaks() {
        let md = String::from_utf8(table().to_bytes(ExportFormat::Markdown)).unwrap();
        assert!(md.starts_with("| Name | Path |\n|---|---|\n"), "{md}");
        assert!(md.contains("| a,b | C:\\\\x\\|y |"), "{md}");
        assert!(md.contains("two<br>lines"), "{md}");
    }

    #[test]
    fn json_is_an_array_of_objects_and_tsv_one_line_a_row() {
        let v: serde_json::Value =
            serde_json::from_slice(&table().to_bytes(ExportFormat::Json)).unwrap();
        assert_eq!(v[1]["Path"], "two\nlines");
        let tsv = table().to_tsv();
        assert_eq!(tsv.lines().count(), 3);
        assert_eq!(table().row_tsv(1).as_deref(), Some("say \"hi\"\ttwo lines"));
    }
}
