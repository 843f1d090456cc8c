//! Symbol servers: the `srv*` / `symsrv*` elements of a symbol path whose last part is an
//! `http://` or `https://` store, fetched as SymSrv does (reference docs/formats/crash-dump.md §2.11).
//!
//! For a file `name` under a store key (a PDB's `GUIDAGE`, an image's `TIMESTAMPSIZEOFIMAGE`):
//! 1. the chain's downstream stores (local caches) are searched first;
//! 2. the server is asked for `name/KEY/name`, then the CAB-compressed `name/KEY/nam_` (MSZIP or
//!    LZX, expanded here), then `name/KEY/file.ptr` (`PATH:` a file or URL, `MSG:` a reason);
//!    a server whose root has `index2.txt` is two-tier (`na/name/KEY/name`);
//! 3. what came down is checked by the caller (the PDB's GUID and age, the image's timestamp and
//!    size) and written to every downstream store of the chain in the same layout, atomically
//!    (a temporary file in the same folder, then a rename);
//! 4. a miss is remembered in the first downstream store (`.bsodwb-misses/`) and not asked for
//!    again until it expires.
//!
//! Transfers are bounded: connect and per-read timeouts, a size limit (a hostile server cannot
//! fill the disk), retries with exponential backoff on transient errors (connection failures,
//! timeouts, 5xx, 429). Proxies come from the environment (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`); loopback servers are reached directly. Nothing here runs unless the
//! symbol path names a server: [`SymbolServer::from_path`] is `None` otherwise.

use super::path::{SymbolPath, SymbolPathEntry};
use super::store::{self, CaseFolder, StoreHit};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How transfers behave.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// TCP (and TLS) connection setup.
    pub connect_timeout: Duration,
    /// The longest wait for the response headers, and for each read of the body.
    pub read_timeout: Duration,
    /// Retries of a transient failure (so `retries + 1` attempts).
    pub retries: u32,
    /// The first retry waits this long; each next one twice as long.
    pub backoff: Duration,
    /// The largest file accepted (downloaded, or expanded from a CAB).
    pub max_download: u64,
    /// Downloads at once ([`crate::symbols::Symbolizer::prefetch`]).
    pub parallel: usize,
    /// How long a miss is remembered.
    pub negative_ttl: Duration,
    /// The downstream store of a `srv*URL` element that names none (and of `cache*`).
    pub default_cache: PathBuf,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            retries: 2,
            backoff: Duration::from_millis(500),
            max_download: 2 << 30,
            parallel: 4,
            negative_ttl: Duration::from_secs(24 * 3600),
            default_cache: default_cache_dir(),
        }
    }
}

/// `~/.cache/bsodwb/symbols` (the platform's cache folder).
pub fn default_cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("bsodwb")
        .join("symbols")
}

/// The symbol path that would name frames from Microsoft's public symbol server.
pub fn suggested_path() -> String {
    let cache = default_cache_dir();
    let shown = match dirs::home_dir() {
        Some(h) => match cache.strip_prefix(&h) {
            Ok(rest) => format!("~/{}", rest.display()),
            Err(_) => cache.display().to_string(),
        },
        None => cache.display().to_string(),
    };
    format!("srv*{shown}*https://msdl.microsoft.com/download/symbols")
}

/// One `srv*` element: its downstream stores (local caches, first is where misses are kept)
/// and its upstream URLs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    pub caches: Vec<PathBuf>,
    pub urls: Vec<String>,
}

/// What a transfer is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Bytes are coming.
    Receiving,
    /// Stored in the downstream cache.
    Done,
    /// No server has it (404, `MSG:` in a `file.ptr`, or remembered as missing).
    Missing(String),
    /// A transfer failed after its retries (timeouts, refused connections, limits).
    Failed(String),
}

/// Progress of one file, for a progress line (stderr) or the Dump pane.
#[derive(Clone, Debug)]
pub struct Progress {
    pub file: String,
    pub url: String,
    pub bytes: u64,
    pub total: Option<u64>,
    /// Bytes per second since the transfer started.
    pub rate: f64,
    pub stage: Stage,
}

impl Progress {
    /// `ntkrnlmp.pdb 1.2 MiB of 30.0 MiB, 4.5 MiB/s` (or `... stored`, `... not on the server`).
    pub fn line(&self) -> String {
        let total = self.total.map_or(String::new(), |t| {
            format!(" of {}", crate::text::human_size(t))
        });
        match &self.stage {
            Stage::Receiving => format!(
                "{} {}{total}, {}/s",
                self.file,
                crate::text::human_size(self.bytes),
                crate::text::human_size(self.rate as u64)
            ),
            Stage::Done => format!(
                "{} {} stored, {}/s",
                self.file,
                crate::text::human_size(self.bytes),
                crate::text::human_size(self.rate as u64)
            ),
            Stage::Missing(why) => format!("{}: {why}", self.file),
            Stage::Failed(why) => format!("{}: failed: {why}", self.file),
        }
    }
}

pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// (file name, store key), lower- and upper-cased.
type FileId = (String, String);

/// The file a lookup wants: its name, its store key, and the check a found copy must pass.
#[derive(Clone, Copy)]
struct Wanted<'a> {
    name: &'a str,
    key: &'a str,
    accept: &'a dyn Fn(&Path) -> bool,
}

/// The outcome of asking one server.
enum Got {
    File(PathBuf),
    Missing(String),
}

/// A symbol-server client over the `srv*` chains of a symbol path.
pub struct SymbolServer {
    chains: Vec<Chain>,
    opts: ServerOptions,
    proxied: ureq::Agent,
    direct: ureq::Agent,
    progress: Option<ProgressFn>,
    folders: CaseFolder,
    /// (name, key) asked for and missed in this session.
    misses: Mutex<HashSet<(String, String)>>,
    /// Server root -> two-tier (`index2.txt` present).
    layouts: Mutex<HashMap<String, bool>>,
    /// One transfer per (name, key) at a time; the others wait and then find it in the cache.
    inflight: Mutex<HashMap<FileId, Arc<Mutex<()>>>>,
    requests: AtomicU64,
    notes: Mutex<Vec<String>>,
    /// Servers that failed after their retries: not asked again in this session.
    down: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for SymbolServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymbolServer")
            .field("chains", &self.chains)
            .finish_non_exhaustive()
    }
}

/// The server chains of a symbol path: `srv*` elements with a URL, their downstream stores
/// (else the `cache*` store before them, else the default cache).
pub fn chains(path: &SymbolPath, default_cache: &Path) -> Vec<Chain> {
    let mut out = Vec::new();
    let mut cache: Option<PathBuf> = None;
    for e in &path.entries {
        match e {
            SymbolPathEntry::Cache { dir } => {
                cache = Some(dir.clone().unwrap_or_else(|| default_cache.to_path_buf()));
            }
            SymbolPathEntry::Server { stores, urls } if !urls.is_empty() => {
                let mut caches = stores.clone();
                if caches.is_empty() {
                    caches.push(cache.clone().unwrap_or_else(|| default_cache.to_path_buf()));
                }
                out.push(Chain {
                    caches,
                    urls: urls
                        .iter()
                        .map(|u| u.trim_end_matches('/').to_string())
                        .collect(),
                });
            }
            _ => {}
        }
    }
    out
}

/// A name that is one safe path component and URL segment.
fn safe_component(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s != "."
        && s != ".."
        && !s.starts_with('.')
        && !s.chars().any(|c| c.is_control() || matches!(c, '/' | '\\'))
}

/// Percent-encode one URL path segment.
fn encode(seg: &str) -> String {
    let mut out = String::new();
    for b in seg.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()+,;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_loopback(url: &str) -> bool {
    let rest = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let host = if let Some(h) = rest.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        rest.rsplit_once(':').map_or(rest, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Where `name` under `key` sits in the local store `root` (two-tier when `index2.txt` is
/// there).
fn store_target(root: &Path, name: &str, key: &str) -> PathBuf {
    let mut dir = root.to_path_buf();
    if root.join("index2.txt").is_file() {
        dir = dir.join(name.chars().take(2).collect::<String>());
    }
    dir.join(name).join(key).join(name)
}

/// The compressed spelling: the last character replaced by `_`.
fn compressed(name: &str) -> String {
    let mut s = name.to_string();
    s.pop();
    s.push('_');
    s
}

/// Whether bytes start a CAB (`MSCF`).
fn is_cab(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"MSCF"
}

/// Expand the file `name` (or the only file) of the CAB at `cab_path` into `out`, at most
/// `limit` bytes. Returns the expanded size.
pub fn expand_cab(
    cab_path: &Path,
    name: &str,
    out: &mut dyn Write,
    limit: u64,
) -> Result<u64, String> {
    let f = std::fs::File::open(cab_path).map_err(|e| format!("{}: {e}", cab_path.display()))?;
    let mut cab = cab::Cabinet::new(std::io::BufReader::new(f))
        .map_err(|e| format!("{}: not a readable CAB: {e}", cab_path.display()))?;
    let entries: Vec<(String, u32)> = cab
        .folder_entries()
        .flat_map(|fo| {
            fo.file_entries()
                .map(|fe| (fe.name().to_string(), fe.uncompressed_size()))
        })
        .collect();
    let (entry, size) = entries
        .iter()
        .find(|(n, _)| {
            n.rsplit(['\\', '/'])
                .next()
                .is_some_and(|b| b.eq_ignore_ascii_case(name))
        })
        .or_else(|| (entries.len() == 1).then(|| &entries[0]))
        .cloned()
        .ok_or_else(|| format!("{}: the CAB holds no {name}", cab_path.display()))?;
    if u64::from(size) > limit {
        return Err(format!(
            "{}: {name} would expand to {} (limit {})",
            cab_path.display(),
            crate::text::human_size(u64::from(size)),
            crate::text::human_size(limit)
        ));
    }
    let reader = cab
        .read_file(&entry)
        .map_err(|e| format!("{}: {e}", cab_path.display()))?;
    let n = std::io::copy(&mut reader.take(limit + 1), out)
        .map_err(|e| format!("{}: expanding {name}: {e}", cab_path.display()))?;
    if n > limit {
        return Err(format!(
            "{}: {name} expands past {}",
            cab_path.display(),
            crate::text::human_size(limit)
        ));
    }
    Ok(n)
}

impl SymbolServer {
    /// A client for the server chains of `path`; `None` when it names no server (then nothing
    /// may touch the network).
    pub fn from_path(path: &SymbolPath, opts: ServerOptions) -> Option<SymbolServer> {
        let chains = chains(path, &opts.default_cache);
        if chains.is_empty() {
            return None;
        }
        let agent = |proxy: Option<ureq::Proxy>| {
            ureq::Agent::config_builder()
                .proxy(proxy)
                .http_status_as_error(false)
                .timeout_connect(Some(opts.connect_timeout))
                .timeout_recv_response(Some(opts.read_timeout))
                .timeout_per_read(Some(opts.read_timeout))
                .max_redirects(8)
                .user_agent(concat!("bsodwb/", env!("CARGO_PKG_VERSION"), " (symsrv)"))
                .build()
                .new_agent()
        };
        Some(SymbolServer {
            chains,
            proxied: agent(ureq::Proxy::try_from_env()),
            direct: agent(None),
            opts,
            progress: None,
            folders: CaseFolder::default(),
            misses: Mutex::new(HashSet::new()),
            layouts: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            notes: Mutex::new(Vec::new()),
            down: Mutex::new(HashSet::new()),
        })
    }

    /// Report progress of every transfer to `f`.
    pub fn with_progress(mut self, f: ProgressFn) -> SymbolServer {
        self.progress = Some(f);
        self
    }

    pub fn chains(&self) -> &[Chain] {
        &self.chains
    }

    pub fn options(&self) -> &ServerOptions {
        &self.opts
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Failures and server messages so far (`MSG:` of a `file.ptr`, transfers that failed).
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    fn note(&self, s: String) {
        if let Ok(mut n) = self.notes.lock()
            && !n.contains(&s)
        {
            n.push(s);
        }
    }

    fn report(&self, p: Progress) {
        if let Some(f) = &self.progress {
            f(&p);
        }
    }

    /// The file `name` under `key`: from a chain's downstream stores, else downloaded into them.
    /// `accept` checks a candidate (the PDB's identity, the image's timestamp and size) before
    /// it is stored or used.
    pub fn fetch(&self, name: &str, key: &str, accept: &dyn Fn(&Path) -> bool) -> Option<PathBuf> {
        if !safe_component(name) || !safe_component(key) || name.len() < 2 {
            return None;
        }
        let id = (name.to_ascii_lowercase(), key.to_ascii_uppercase());
        // Downstream stores first (a cache written by an earlier run, or by WinDbg).
        if let Some(p) = self.in_caches(name, key, accept) {
            return Some(p);
        }
        if self.misses.lock().is_ok_and(|m| m.contains(&id)) {
            return None;
        }
        let gate = {
            let mut map = self.inflight.lock().ok()?;
            map.entry(id.clone()).or_default().clone()
        };
        let _one = gate.lock().ok()?;
        // Another thread may have fetched it meanwhile.
        if let Some(p) = self.in_caches(name, key, accept) {
            return Some(p);
        }
        if self.misses.lock().is_ok_and(|m| m.contains(&id)) {
            return None;
        }
        for chain in &self.chains {
            if self.remembered_miss(chain, name, key) {
                continue;
            }
            let mut reasons = Vec::new();
            let mut failed = false;
            for url in &chain.urls {
                if self.down.lock().is_ok_and(|d| d.contains(url)) {
                    failed = true;
                    continue;
                }
                match self.ask_server(chain, url, &Wanted { name, key, accept }) {
                    Ok(Got::File(p)) => return Some(p),
                    Ok(Got::Missing(why)) => reasons.push(why),
                    Err(e) => {
                        failed = true;
                        if let Ok(mut d) = self.down.lock() {
                            d.insert(url.clone());
                        }
                        self.note(format!("{name}: {e}"));
                        self.report(Progress {
                            file: name.to_string(),
                            url: url.clone(),
                            bytes: 0,
                            total: None,
                            rate: 0.0,
                            stage: Stage::Failed(e),
                        });
                    }
                }
            }
            // Only a clean miss is remembered on disk; a failure is retried next run.
            if !failed {
                self.remember_miss(chain, name, key, &reasons.join("; "));
                self.report_missing(chain, name, reasons.join("; "));
            }
        }
        if let Ok(mut m) = self.misses.lock() {
            m.insert(id);
        }
        None
    }

    fn in_caches(&self, name: &str, key: &str, accept: &dyn Fn(&Path) -> bool) -> Option<PathBuf> {
        for chain in &self.chains {
            for c in &chain.caches {
                if let Some(StoreHit::File(p)) = store::lookup(&self.folders, c, name, key)
                    && accept(&p)
                {
                    return Some(p);
                }
            }
        }
        None
    }

    fn miss_marker(chain: &Chain, name: &str, key: &str) -> Option<PathBuf> {
        let root = chain.caches.first()?;
        Some(
            root.join(".bsodwb-misses")
                .join(name.to_ascii_lowercase())
                .join(key.to_ascii_uppercase()),
        )
    }

    fn remembered_miss(&self, chain: &Chain, name: &str, key: &str) -> bool {
        let Some(m) = Self::miss_marker(chain, name, key) else {
            return false;
        };
        let fresh = std::fs::metadata(&m)
            .and_then(|md| md.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age < self.opts.negative_ttl);
        if fresh {
            let why = std::fs::read_to_string(&m).unwrap_or_default();
            self.report_missing(
                chain,
                name,
                format!(
                    "not on the server (remembered from an earlier run: {})",
                    why.trim()
                ),
            );
        }
        fresh
    }

    /// Say that `name` is on none of the chain's servers, and why.
    fn report_missing(&self, chain: &Chain, name: &str, why: String) {
        self.report(Progress {
            file: name.to_string(),
            url: chain.urls.join(" "),
            bytes: 0,
            total: None,
            rate: 0.0,
            stage: Stage::Missing(why),
        });
    }

    fn remember_miss(&self, chain: &Chain, name: &str, key: &str, why: &str) {
        let Some(m) = Self::miss_marker(chain, name, key) else {
            return;
        };
        if let Some(dir) = m.parent()
            && std::fs::create_dir_all(dir).is_ok()
            && let Ok(mut t) = tempfile::NamedTempFile::new_in(dir)
            && t.write_all(why.as_bytes()).is_ok()
        {
            let _ = t.persist(&m);
        }
    }

    /// Whether the server at `url` is two-tier (asked once per session).
    fn two_tier(&self, url: &str) -> Result<bool, String> {
        if let Some(v) = self.layouts.lock().ok().and_then(|l| l.get(url).copied()) {
            return Ok(v);
        }
        let v = match self.get(&format!("{url}/index2.txt"))? {
            Some(mut r) => {
                // Drain a little; the body does not matter.
                let _ = std::io::copy(
                    &mut r.body_mut().as_reader().take(4096),
                    &mut std::io::sink(),
                );
                true
            }
            None => false,
        };
        if let Ok(mut l) = self.layouts.lock() {
            l.insert(url.to_string(), v);
        }
        Ok(v)
    }

    fn ask_server(&self, chain: &Chain, url: &str, want: &Wanted) -> Result<Got, String> {
        let Wanted { name, key, accept } = *want;
        let prefix = if self.two_tier(url)? {
            format!("{}/", encode(&name.chars().take(2).collect::<String>()))
        } else {
            String::new()
        };
        let dir = format!("{url}/{prefix}{}/{}", encode(name), encode(key));
        // The file itself.
        if let Some(p) = self.download(chain, &format!("{dir}/{}", encode(name)), want)? {
            return Ok(Got::File(p));
        }
        // The CAB-compressed copy.
        let cname = compressed(name);
        if let Some(p) = self.download(chain, &format!("{dir}/{}", encode(&cname)), want)? {
            return Ok(Got::File(p));
        }
        // A pointer to where the file is.
        let Some(mut r) = self.get(&format!("{dir}/file.ptr"))? else {
            return Ok(Got::Missing(format!("not on {url}")));
        };
        let mut text = String::new();
        r.body_mut()
            .as_reader()
            .take(4096)
            .read_to_string(&mut text)
            .map_err(|e| format!("{dir}/file.ptr: {e}"))?;
        let line = text.lines().next().unwrap_or("").trim();
        if let Some(msg) = line.strip_prefix("MSG:") {
            let msg: String = msg
                .trim()
                .chars()
                .take(200)
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            self.note(format!("{name}: {url}: {msg}"));
            return Ok(Got::Missing(format!("{url} says: {msg}")));
        }
        let Some(target) = line.strip_prefix("PATH:").map(str::trim) else {
            return Ok(Got::Missing(format!("{dir}/file.ptr names nothing")));
        };
        let lower = target.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            if let Some(p) = self.download(chain, target, want)? {
                return Ok(Got::File(p));
            }
            return Ok(Got::Missing(format!(
                "{target} (from file.ptr) is not there"
            )));
        }
        let p = PathBuf::from(target);
        if p.is_file() {
            if is_cab(&p) {
                return match store_into(&chain.caches, name, key, accept, |out| {
                    expand_cab(&p, name, out, self.opts.max_download)
                })? {
                    Some(f) => Ok(Got::File(f)),
                    None => Ok(Got::Missing(format!("{target} does not match"))),
                };
            }
            if accept(&p) {
                return Ok(Got::File(p));
            }
            return Ok(Got::Missing(format!(
                "{target} (from file.ptr) does not match"
            )));
        }
        Ok(Got::Missing(format!(
            "file.ptr points to {target}, which is not reachable from here"
        )))
    }

    /// One GET with retries; `None` for 404/410/403 (not there).
    fn get(&self, url: &str) -> Result<Option<ureq::http::Response<ureq::Body>>, String> {
        let agent = if is_loopback(url) {
            &self.direct
        } else {
            &self.proxied
        };
        let mut last = String::new();
        for attempt in 0..=self.opts.retries {
            if attempt > 0 {
                std::thread::sleep(self.opts.backoff * 2u32.saturating_pow(attempt - 1));
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            match agent.get(url).call() {
                Ok(r) => {
                    let s = r.status().as_u16();
                    match s {
                        200..=299 => return Ok(Some(r)),
                        403 | 404 | 410 => return Ok(None),
                        408 | 429 | 500..=599 => last = format!("{url}: HTTP {s}"),
                        _ => return Err(format!("{url}: HTTP {s}")),
                    }
                }
                Err(ureq::Error::HostNotFound) => return Err(format!("{url}: host not found")),
                Err(e @ (ureq::Error::BadUri(_) | ureq::Error::InvalidProxyUrl)) => {
                    return Err(format!("{url}: {e}"));
                }
                Err(e) => last = format!("{url}: {e}"),
            }
        }
        Err(format!("{last} (after {} attempts)", self.opts.retries + 1))
    }

    /// GET `url` into a temporary file in the chain's first cache (expanding a CAB), check it,
    /// and store it. `None` when the server has no such file.
    fn download(&self, chain: &Chain, url: &str, want: &Wanted) -> Result<Option<PathBuf>, String> {
        let Wanted { name, key, accept } = *want;
        let Some(mut resp) = self.get(url)? else {
            return Ok(None);
        };
        let total = resp.body().content_length();
        let limit = self.opts.max_download;
        if let Some(t) = total.filter(|&t| t > limit) {
            return Err(format!(
                "{url}: {} is over the download limit of {}",
                crate::text::human_size(t),
                crate::text::human_size(limit)
            ));
        }
        let cache = chain.caches.first().ok_or("no downstream store")?;
        std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
        let mut raw = tempfile::NamedTempFile::new_in(cache)
            .map_err(|e| format!("{}: {e}", cache.display()))?;
        let started = Instant::now();
        let mut last_report = Instant::now();
        let mut reader = resp.body_mut().as_reader();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0u64;
        let rate = |got: u64| got as f64 / started.elapsed().as_secs_f64().max(1e-3);
        self.report(Progress {
            file: name.to_string(),
            url: url.to_string(),
            bytes: 0,
            total,
            rate: 0.0,
            stage: Stage::Receiving,
        });
        loop {
            let n = reader.read(&mut buf).map_err(|e| format!("{url}: {e}"))?;
            if n == 0 {
                break;
            }
            got += n as u64;
            // A server that drips bytes would keep a worker forever: below 512 B/s on
            // average after 30 s the transfer is given up.
            if started.elapsed() > Duration::from_secs(30) && rate(got) < 512.0 {
                return Err(format!("{url}: under 512 B/s, given up"));
            }
            if got > limit {
                return Err(format!(
                    "{url}: over the download limit of {}",
                    crate::text::human_size(limit)
                ));
            }
            raw.write_all(&buf[..n])
                .map_err(|e| format!("{}: {e}", cache.display()))?;
            if last_report.elapsed() > Duration::from_millis(100) {
                last_report = Instant::now();
                self.report(Progress {
                    file: name.to_string(),
                    url: url.to_string(),
                    bytes: got,
                    total,
                    rate: rate(got),
                    stage: Stage::Receiving,
                });
            }
        }
        raw.flush()
            .map_err(|e| format!("{}: {e}", cache.display()))?;
        let stored = if is_cab(raw.path()) {
            let cab_path = raw.path().to_path_buf();
            store_into(&chain.caches, name, key, accept, |out| {
                expand_cab(&cab_path, name, out, limit)
            })?
        } else {
            store_into(&chain.caches, name, key, accept, |out| {
                let mut f = std::fs::File::open(raw.path()).map_err(|e| e.to_string())?;
                f.rewind().map_err(|e| e.to_string())?;
                std::io::copy(&mut f, out).map_err(|e| e.to_string())
            })?
        };
        match &stored {
            Some(_) => self.report(Progress {
                file: name.to_string(),
                url: url.to_string(),
                bytes: got,
                total,
                rate: rate(got),
                stage: Stage::Done,
            }),
            None => self.note(format!(
                "{name}: {url} served a file that does not match {key}; not stored"
            )),
        }
        Ok(stored)
    }

    /// Expand a CAB-compressed store file found locally (`name.pd_` on a share or in a copied
    /// store) into the first downstream store.
    pub fn expand_local(
        &self,
        cab_path: &Path,
        name: &str,
        key: &str,
        accept: &dyn Fn(&Path) -> bool,
    ) -> Result<Option<PathBuf>, String> {
        let chain = self.chains.first().ok_or("no downstream store")?;
        let limit = self.opts.max_download;
        store_into(&chain.caches, name, key, accept, |out| {
            expand_cab(cab_path, name, out, limit)
        })
    }
}

/// Write what `fill` produces to a temporary file beside its place in the first store of
/// `caches`, check it with `accept`, and rename it into `name/key/name` (copies go to the other
/// stores, each written the same way). `None` when `accept` refuses it.
pub fn store_into(
    caches: &[PathBuf],
    name: &str,
    key: &str,
    accept: &dyn Fn(&Path) -> bool,
    fill: impl FnOnce(&mut dyn Write) -> Result<u64, String>,
) -> Result<Option<PathBuf>, String> {
    if !safe_component(name) || !safe_component(key) {
        return Err(format!("{name}/{key}: not a store file name"));
    }
    let cache = caches.first().ok_or("no downstream store")?;
    let target = store_target(cache, name, key);
    let dir = target.parent().ok_or("no folder")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    fill(tmp.as_file_mut())?;
    tmp.flush().map_err(|e| format!("{}: {e}", dir.display()))?;
    if !accept(tmp.path()) {
        return Ok(None);
    }
    for other in caches.iter().skip(1) {
        let t = store_target(other, name, key);
        if let Some(d) = t.parent()
            && std::fs::create_dir_all(d).is_ok()
            && let Ok(mut c) = tempfile::NamedTempFile::new_in(d)
            && let Ok(mut src) = std::fs::File::open(tmp.path())
            && std::io::copy(&mut src, c.as_file_mut()).is_ok()
        {
            let _ = c.persist(&t);
        }
    }
    tmp.persist(&target)
        .map_err(|e| format!("{}: {e}", target.display()))?;
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_caches_and_default() {
        let p = SymbolPath::parse(
            "srv*/c1*/c2*https://a/b/;cache*/cc;srv*http://x;/plain;srv*/local-only",
        );
        let c = chains(&p, Path::new("/def"));
        assert_eq!(
            c,
            vec![
                Chain {
                    caches: vec!["/c1".into(), "/c2".into()],
                    urls: vec!["https://a/b".into()]
                },
                Chain {
                    caches: vec!["/cc".into()],
                    urls: vec!["http://x".into()]
                }
            ]
        );
        let c = chains(&SymbolPath::parse("srv*https://m"), Path::new("/def"));
        assert_eq!(c[0].caches, vec![PathBuf::from("/def")]);
        assert!(chains(&SymbolPath::parse("/a;cache*/b;srv*/c"), Path::new("/d")).is_empty());
    }

    /// A CAB whose one folder is LZX (window 2^21): a single LZX "uncompressed" block (block
    /// type 3, LZX's own framing, read by the LZX decoder) split into 32 KiB CFDATA chunks.
    fn lzx_cab(name: &str, data: &[u8]) -> Vec<u8> {
        // Bits, MSB first in 16-bit little-endian words: E8 flag 0, block type 011, 24-bit
        // size, then padding to the word boundary; then R0..R2 and the bytes.
        let size = data.len() as u32;
        assert!(size < 1 << 24);
        let bits: u32 = (0b011 << 28) | (size << 4);
        let mut stream = Vec::new();
        stream.extend_from_slice(&((bits >> 16) as u16).to_le_bytes());
        stream.extend_from_slice(&(bits as u16).to_le_bytes());
        for _ in 0..3 {
            stream.extend_from_slice(&1u32.to_le_bytes());
        }
        let header = stream.len();
        stream.extend_from_slice(data);
        // CFDATA i holds the stream bytes that decode to output [32K*i, 32K*(i+1)).
        let mut blocks = Vec::new();
        let mut at = 0;
        for (i, chunk) in data.chunks(0x8000).enumerate() {
            let take = chunk.len() + if i == 0 { header } else { 0 };
            blocks.push((stream[at..at + take].to_vec(), chunk.len()));
            at += take;
        }
        let file_at = 36 + 8;
        let data_at = file_at + 16 + name.len() + 1;
        let mut cab = Vec::new();
        cab.extend_from_slice(b"MSCF");
        cab.extend_from_slice(&0u32.to_le_bytes());
        let total = data_at + blocks.iter().map(|(b, _)| 8 + b.len()).sum::<usize>();
        cab.extend_from_slice(&(total as u32).to_le_bytes());
        cab.extend_from_slice(&0u32.to_le_bytes());
        cab.extend_from_slice(&(file_at as u32).to_le_bytes());
        cab.extend_from_slice(&0u32.to_le_bytes());
        cab.extend_from_slice(&[3, 1]);
        cab.extend_from_slice(&1u16.to_le_bytes()); // folders
        cab.extend_from_slice(&1u16.to_le_bytes()); // files
        cab.extend_from_slice(&[0; 6]); // flags, set id, index
        cab.extend_from_slice(&(data_at as u32).to_le_bytes());
        cab.extend_from_slice(&(blocks.len() as u16).to_le_bytes());
        cab.extend_from_slice(&(0x0003u16 | (21 << 8)).to_le_bytes());
        cab.extend_from_slice(&size.to_le_bytes());
        cab.extend_from_slice(&0u32.to_le_bytes());
        cab.extend_from_slice(&0u16.to_le_bytes());
        cab.extend_from_slice(&0x5821u16.to_le_bytes()); // 2024-01-01
        cab.extend_from_slice(&0u16.to_le_bytes());
        cab.extend_from_slice(&0x20u16.to_le_bytes());
        cab.extend_from_slice(name.as_bytes());
        cab.push(0);
        assert_eq!(cab.len(), data_at);
        for (b, out) in blocks {
            cab.extend_from_slice(&0u32.to_le_bytes());
            cab.extend_from_slice(&(b.len() as u16).to_le_bytes());
            cab.extend_from_slice(&(out as u16).to_le_bytes());
            cab.extend_from_slice(&b);
        }
        cab
    }

    #[test]
    fn expands_lzx_and_mszip_cabs_within_the_limit() {
        let t = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let lzx = t.path().join("a.pd_");
        std::fs::write(&lzx, lzx_cab("A.PDB", &data)).unwrap();
        let mut out = Vec::new();
        assert_eq!(expand_cab(&lzx, "a.pdb", &mut out, 1 << 20), Ok(100_000));
        assert!(out == data, "LZX expanded byte for byte");
        let e = expand_cab(&lzx, "a.pdb", &mut Vec::new(), 50_000).unwrap_err();
        assert!(e.contains("would expand"), "{e}");
        // MSZIP, written by the cab crate.
        let mut b = cab::CabinetBuilder::new();
        b.add_folder(cab::CompressionType::MsZip).add_file("b.exe");
        let mut w = b.build(std::io::Cursor::new(Vec::new())).unwrap();
        while let Some(mut f) = w.next_file().unwrap() {
            f.write_all(&data).unwrap();
        }
        let mszip = t.path().join("b.ex_");
        std::fs::write(&mszip, w.finish().unwrap().into_inner()).unwrap();
        let mut out = Vec::new();
        assert_eq!(expand_cab(&mszip, "b.exe", &mut out, 1 << 20), Ok(100_000));
        assert!(out == data);
        assert!(is_cab(&mszip) && !is_cab(t.path()));
        // Not a CAB.
        let junk = t.path().join("junk");
        std::fs::write(&junk, b"MSCF\0\0\0\0garbage").unwrap();
        assert!(expand_cab(&junk, "x", &mut Vec::new(), 1 << 20).is_err());
    }

    #[test]
    fn names_urls_and_hosts() {
        assert!(safe_component("ntkrnlmp.pdb"));
        for bad in ["", ".", "..", "a/b", "a\\b", ".hidden", "a\u{1b}b"] {
            assert!(!safe_component(bad), "{bad:?}");
        }
        assert_eq!(encode("a b#c.pdb"), "a%20b%23c.pdb");
        assert_eq!(compressed("ntkrnlmp.pdb"), "ntkrnlmp.pd_");
        assert!(is_loopback("http://127.0.0.1:8080/x"));
        assert!(is_loopback("http://localhost/x"));
        assert!(is_loopback("http://[::1]:80/x"));
        assert!(!is_loopback("https://msdl.microsoft.com/download/symbols"));
        assert_eq!(crate::text::human_size(1536), "1.5 KiB");
        assert!(suggested_path().starts_with("srv*"));
        assert!(suggested_path().ends_with("*https://msdl.microsoft.com/download/symbols"));
    }
}
