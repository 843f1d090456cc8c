//! The symbol path: WinDbg's `_NT_SYMBOL_PATH` syntax.
//!
//! `;`-separated elements (docs/formats/crash-dump.md §2.11):
//! * `srv*[cache*]store` (also `SRV*`, `symsrv*symsrv.dll*...`): a symbol server chain; every element
//!   but the last is a downstream store (a local cache), the last is the upstream store (a folder,
//!   a share or a URL);
//! * `cache*[dir]`: a cache for the elements that follow;
//! * anything else: a plain folder (flat, or itself laid out as a store).
//!
//! Folders may start with `~/` (the home folder). URLs are fetched only by
//! [`crate::symbols::server::SymbolServer`], never by this parser.

use super::config::expand_tilde;
use serde::Serialize;
use std::path::PathBuf;

/// One element of a symbol path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum SymbolPathEntry {
    /// `srv*...`: local stores in search order (downstream caches first), and upstream URLs.
    Server {
        stores: Vec<PathBuf>,
        urls: Vec<String>,
    },
    /// `cache*dir`: a local cache (`None` for `cache*` with the default location, unknown offline).
    Cache { dir: Option<PathBuf> },
    /// A plain folder.
    Folder(PathBuf),
}

/// A parsed symbol path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SymbolPath {
    pub entries: Vec<SymbolPathEntry>,
    /// The text it was parsed from.
    pub source: String,
}

fn is_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

impl SymbolPath {
    /// Parse a symbol path. Never fails: empty elements are skipped, odd ones kept as folders.
    pub fn parse(text: &str) -> SymbolPath {
        let mut entries = Vec::new();
        for element in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let parts: Vec<&str> = element.split('*').map(str::trim).collect();
            let head = parts
                .first()
                .map(|h| h.to_ascii_lowercase())
                .unwrap_or_default();
            match head.as_str() {
                "srv" | "symsrv" => {
                    // symsrv*symsrv.dll*a*b: the second part names the server DLL.
                    let rest = if head == "symsrv" {
                        parts.get(2..)
                    } else {
                        parts.get(1..)
                    };
                    let mut stores = Vec::new();
                    let mut urls = Vec::new();
                    for p in rest.unwrap_or(&[]).iter().filter(|p| !p.is_empty()) {
                        if is_url(p) {
                            urls.push((*p).to_string());
                        } else {
                            stores.push(expand_tilde(p));
                        }
                    }
                    entries.push(SymbolPathEntry::Server { stores, urls });
                }
                "cache" => {
                    let dir = parts
                        .get(1)
                        .filter(|d| !d.is_empty())
                        .map(|d| expand_tilde(d));
                    entries.push(SymbolPathEntry::Cache { dir });
                }
                _ => {
                    if is_url(element) {
                        entries.push(SymbolPathEntry::Server {
                            stores: Vec::new(),
                            urls: vec![element.to_string()],
                        });
                    } else {
                        entries.push(SymbolPathEntry::Folder(expand_tilde(element)));
                    }
                }
            }
        }
        SymbolPath {
            entries,
            source: text.to_string(),
        }
    }

    /// The symbol path from the environment: `_NT_ALT_SYMBOL_PATH` then `_NT_SYMBOL_PATH`, as the
    /// debuggers search them; when neither is set, the `path` of the configuration file's
    /// `[symbols]` table ([`crate::symbols::config`]). Empty when none is set.
    pub fn from_env() -> SymbolPath {
        let parts: Vec<String> = ["_NT_ALT_SYMBOL_PATH", "_NT_SYMBOL_PATH"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .filter(|v| !v.trim().is_empty())
            .collect();
        if parts.is_empty()
            && let Some(p) = super::config::SymbolsConfig::load().path
        {
            return SymbolPath::parse(&p);
        }
        SymbolPath::parse(&parts.join(";"))
    }

    /// `--symbols` when given, else the environment.
    pub fn from_arg_or_env(arg: Option<&str>) -> SymbolPath {
        match arg {
            Some(a) => SymbolPath::parse(a),
            None => SymbolPath::from_env(),
        }
    }

    /// The local directories to search, in order, without duplicates.
    pub fn local_dirs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for e in &self.entries {
            let dirs: Vec<&PathBuf> = match e {
                SymbolPathEntry::Server { stores, .. } => stores.iter().collect(),
                SymbolPathEntry::Cache { dir } => dir.iter().collect(),
                SymbolPathEntry::Folder(d) => vec![d],
            };
            for d in dirs {
                if !out.contains(d) {
                    out.push(d.clone());
                }
            }
        }
        out
    }

    /// The symbol-server URLs named in the path.
    pub fn urls(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                SymbolPathEntry::Server { urls, .. } => Some(urls.iter().map(String::as_str)),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

impl std::str::FromStr for SymbolPath {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SymbolPath::parse(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windbg_examples() {
        // The motivating case's path (shared/seed/bsod-live-example.txt).
        let p = SymbolPath::parse("SRV*C:\\SymCache*http://msdl.microsoft.com/download/symbols");
        assert_eq!(
            p.entries,
            vec![SymbolPathEntry::Server {
                stores: vec![PathBuf::from("C:\\SymCache")],
                urls: vec!["http://msdl.microsoft.com/download/symbols".into()]
            }]
        );
        assert_eq!(p.urls(), ["http://msdl.microsoft.com/download/symbols"]);
        assert_eq!(p.local_dirs(), [PathBuf::from("C:\\SymCache")]);
    }

    #[test]
    fn mixed_elements_in_order() {
        let p = SymbolPath::parse(
            " cache*/tmp/c ; /case/symbols;srv*/s1*/s2*https://sym.example/x;; symsrv*symsrv.dll*/s3*HTTPS://b ;cache*;/case/symbols",
        );
        assert_eq!(p.entries.len(), 6);
        assert_eq!(
            p.entries[0],
            SymbolPathEntry::Cache {
                dir: Some("/tmp/c".into())
            }
        );
        assert_eq!(
            p.entries[1],
            SymbolPathEntry::Folder("/case/symbols".into())
        );
        assert_eq!(
            p.entries[2],
            SymbolPathEntry::Server {
                stores: vec!["/s1".into(), "/s2".into()],
                urls: vec!["https://sym.example/x".into()]
            }
        );
        assert_eq!(
            p.entries[3],
            SymbolPathEntry::Server {
                stores: vec!["/s3".into()],
                urls: vec!["HTTPS://b".into()]
            }
        );
        assert_eq!(p.entries[4], SymbolPathEntry::Cache { dir: None });
        let dirs: Vec<PathBuf> = ["/tmp/c", "/case/symbols", "/s1", "/s2", "/s3"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(p.local_dirs(), dirs, "order kept, duplicates dropped");
        assert_eq!(p.urls(), ["https://sym.example/x", "HTTPS://b"]);
    }

    #[test]
    fn empty_and_bare_server() {
        assert!(SymbolPath::parse("").entries.is_empty());
        assert!(SymbolPath::parse(" ; ;").entries.is_empty());
        let p = SymbolPath::parse("srv*");
        assert_eq!(
            p.entries,
            vec![SymbolPathEntry::Server {
                stores: vec![],
                urls: vec![]
            }]
        );
        let p = SymbolPath::parse("https://msdl.microsoft.com/download/symbols");
        assert_eq!(p.urls().len(), 1);
        assert!(p.local_dirs().is_empty());
    }
}
