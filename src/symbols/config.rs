//! The configuration file, `~/.config/bsodwb/config.toml` (or `$BSODWB_CONFIG`): its `[symbols]`
//! table gives the symbol path used when neither `--symbols` nor `_NT_SYMBOL_PATH` is set, the
//! default downstream store, and the symbol-server client's limits.
//!
//! ```toml
//! [symbols]
//! path = "srv*~/.cache/bsodwb/symbols*https://msdl.microsoft.com/download/symbols"
//! cache = "~/.cache/bsodwb/symbols"   # store for `srv*URL` and `cache*` without a folder
//! connect_timeout_secs = 10
//! read_timeout_secs = 30
//! retries = 2
//! parallel = 4
//! max_download_mib = 2048
//! negative_cache_hours = 24
//! ```

use super::server::ServerOptions;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `[symbols]` table.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SymbolsConfig {
    pub path: Option<String>,
    pub cache: Option<String>,
    pub connect_timeout_secs: Option<f64>,
    pub read_timeout_secs: Option<f64>,
    pub retries: Option<u32>,
    pub parallel: Option<usize>,
    pub max_download_mib: Option<u64>,
    pub negative_cache_hours: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    symbols: SymbolsConfig,
}

/// Where the configuration file is: `$BSODWB_CONFIG`, else `~/.config/bsodwb/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BSODWB_CONFIG") {
        return Some(PathBuf::from(p));
    }
    Some(dirs::config_dir()?.join("bsodwb").join("config.toml"))
}

/// `~/x` with the home folder; anything else as given.
pub fn expand_tilde(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/").or_else(|| p.strip_prefix("~\\"))
        && let Some(h) = dirs::home_dir()
    {
        return h.join(rest);
    }
    if p == "~"
        && let Some(h) = dirs::home_dir()
    {
        return h;
    }
    PathBuf::from(p)
}

fn secs(v: Option<f64>, default: Duration) -> Duration {
    v.filter(|s| s.is_finite() && *s > 0.0)
        .map_or(default, |s| Duration::from_secs_f64(s.min(1e6)))
}

impl SymbolsConfig {
    /// The `[symbols]` table of the file at `path`; an absent file is an empty table.
    pub fn read(path: &Path) -> Result<SymbolsConfig, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str::<ConfigFile>(&text)
                .map(|f| f.symbols)
                .map_err(|e| format!("{}: {}", path.display(), e.message())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SymbolsConfig::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// The user's configuration (empty when there is none; a broken file is reported once on
    /// the log and ignored).
    pub fn load() -> SymbolsConfig {
        let Some(p) = config_path() else {
            return SymbolsConfig::default();
        };
        SymbolsConfig::read(&p).unwrap_or_else(|e| {
            tracing::warn!("ignoring the configuration file: {e}");
            SymbolsConfig::default()
        })
    }

    /// The client options, defaults where the file says nothing.
    pub fn options(&self) -> ServerOptions {
        let d = ServerOptions::default();
        ServerOptions {
            connect_timeout: secs(self.connect_timeout_secs, d.connect_timeout),
            read_timeout: secs(self.read_timeout_secs, d.read_timeout),
            retries: self.retries.map_or(d.retries, |r| r.min(10)),
            backoff: d.backoff,
            max_download: self
                .max_download_mib
                .map_or(d.max_download, |m| m.saturating_mul(1 << 20)),
            parallel: self.parallel.map_or(d.parallel, |p| p.clamp(1, 32)),
            negative_ttl: self
                .negative_cache_hours
                .filter(|h| h.is_finite() && *h >= 0.0)
                .map_or(d.negative_ttl, |h| {
                    Duration::from_secs_f64(h.min(1e5) * 3600.0)
                }),
            default_cache: self.cache.as_deref().map_or(d.default_cache, expand_tilde),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_symbols_table() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("config.toml");
        assert_eq!(SymbolsConfig::read(&p), Ok(SymbolsConfig::default()));
        std::fs::write(
            &p,
            "[symbols]\npath = \"srv*/c*https://s\"\ncache = \"/cc\"\nread_timeout_secs = 0.5\nretries = 1\nparallel = 2\nmax_download_mib = 3\nnegative_cache_hours = 0\n",
        )
        .unwrap();
        let c = SymbolsConfig::read(&p).unwrap();
        assert_eq!(c.path.as_deref(), Some("srv*/c*https://s"));
        let o = c.options();
        assert_eq!(o.read_timeout, Duration::from_millis(500));
        assert_eq!(o.connect_timeout, Duration::from_secs(10));
        assert_eq!((o.retries, o.parallel, o.max_download), (1, 2, 3 << 20));
        assert_eq!(o.negative_ttl, Duration::ZERO);
        assert_eq!(o.default_cache, PathBuf::from("/cc"));
        std::fs::write(&p, "[symbols]\npaht = 1\n").unwrap();
        let e = SymbolsConfig::read(&p).unwrap_err();
        assert!(e.contains("config.toml") && e.contains("paht"), "{e}");
    }

    #[test]
    fn tilde() {
        if let Some(h) = dirs::home_dir() {
            assert_eq!(expand_tilde("~/.cache/x"), h.join(".cache/x"));
        }
        assert_eq!(expand_tilde("/a/~/b"), PathBuf::from("/a/~/b"));
    }
}
