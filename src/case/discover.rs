//! Discovery: walk a case folder, look inside archives and compressed streams, sniff every file.
//!
//! Compressed content is sniffed before it is inflated: only an entry whose first inflated bytes
//! are an artefact bsodwb reads is written (to the case's private temp folder, see
//! [`super::temp`]). What is written is bounded per entry, per case (one budget shared by nested
//! archives) and by the free space of the temp file system; sizes claimed by zip headers are
//! checked before and the actual sizes while inflating. Memory stays bounded: every decoder
//! streams, the xz one with a dictionary memory limit. A stream cut short keeps what inflated.

use super::sniff::{SNIFF_LEN, Wrapper, sniff};
use super::temp::{self, CaseTemp};
use super::{CaseError, CaseFile, Kind, Problem};
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The most one archive entry or compressed stream may inflate to before it is refused.
/// A case file is at most a full memory dump; 64 GiB leaves room for those while stopping
/// decompression bombs. `BSODWB_MAX_INFLATE` (bytes) overrides it.
pub const DEFAULT_MAX_INFLATE: u64 = 64 << 30;
/// The most a whole case may write to its temp folder, nested archives included.
/// `BSODWB_MAX_CASE_INFLATE` (bytes) overrides it.
pub const DEFAULT_MAX_CASE_INFLATE: u64 = 64 << 30;
/// How deep archives may nest (a zip of zipped logs is common; deeper is suspicious).
const MAX_NESTING: usize = 3;
/// Compression ratios beyond this are named in the problems (a likely bomb).
const BOMB_RATIO: u64 = 1000;
/// The xz decoder's memory limit (KiB): `xz -9` needs a 64 MiB dictionary; a header asking
/// for more than this is refused instead of allocated.
const XZ_MEM_LIMIT_KIB: u32 = 256 * 1024;
/// How often (bytes written) the temp file system's free space is asked again.
const FREE_SPACE_EVERY: u64 = 64 << 20;

/// The bounds on what discovery writes to the temp folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most one entry or stream may inflate to.
    pub per_entry: u64,
    /// The most the whole case may write, nested archives included.
    pub per_case: u64,
}

impl Limits {
    /// The defaults, overridden by `BSODWB_MAX_INFLATE` and `BSODWB_MAX_CASE_INFLATE` (bytes).
    pub fn from_env() -> Limits {
        Limits {
            per_entry: env_bytes("BSODWB_MAX_INFLATE", DEFAULT_MAX_INFLATE),
            per_case: env_bytes("BSODWB_MAX_CASE_INFLATE", DEFAULT_MAX_CASE_INFLATE),
        }
    }
}

/// What discovery does with compressed content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extract {
    /// Only sniff through compression (for `bsodwb scan`): nothing is written anywhere, and only
    /// the first bytes of each compressed entry are inflated (in memory).
    SniffOnly,
    /// Inflate archive entries and compressed streams into a private temp dir so parsers can map them.
    ToTempDir,
}

/// Where discovery is: files and bytes (on disk, compressed) done of the total; never goes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoverProgress<'p> {
    pub path: &'p str,
    pub files_done: usize,
    pub files_total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Bytes written to the temp folder so far.
    pub written: u64,
}

pub(super) struct Walker<'a> {
    pub root: PathBuf,
    pub extract: Extract,
    pub max_inflate: u64,
    pub max_case: u64,
    /// Bytes written to the temp folder by this walk (the case's budget).
    pub written: u64,
    pub files: Vec<CaseFile>,
    pub problems: Vec<Problem>,
    pub temp: Option<CaseTemp>,
    progress: &'a mut dyn FnMut(&DiscoverProgress),
    files_total: usize,
    bytes_total: u64,
    files_done: usize,
    bytes_done: u64,
    /// How far into the current disk file reading has got.
    current: Arc<AtomicU64>,
    current_size: u64,
    last_reported: u64,
    last_written: u64,
    next_slot: usize,
    free_checked_at: Option<u64>,
    /// The time of the zip entry being visited, for the files it holds (gzip inside too).
    entry_stamp: Option<super::FileStamp>,
}

fn env_bytes(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Why copying an entry stopped early.
enum CopyStop {
    /// A limit was reached, or the process is exiting: the partial copy is removed.
    Refused(String),
    /// The stream is corrupt or cut short after `n` bytes: what inflated is kept.
    Cut { n: u64, error: io::Error },
}

impl<'a> Walker<'a> {
    pub fn new(
        root: &Path,
        extract: Extract,
        limits: Limits,
        progress: &'a mut dyn FnMut(&DiscoverProgress),
    ) -> Walker<'a> {
        Walker {
            root: root.to_path_buf(),
            extract,
            max_inflate: limits.per_entry,
            max_case: limits.per_case,
            written: 0,
            files: Vec::new(),
            problems: Vec::new(),
            temp: None,
            progress,
            files_total: 0,
            bytes_total: 0,
            files_done: 0,
            bytes_done: 0,
            current: Arc::new(AtomicU64::new(0)),
            current_size: 0,
            last_reported: 0,
            last_written: 0,
            next_slot: 0,
            free_checked_at: None,
            entry_stamp: None,
        }
    }

    pub fn walk(&mut self) -> Result<(), CaseError> {
        let meta = std::fs::metadata(&self.root).map_err(|e| CaseError::Open {
            path: self.root.clone(),
            source: crate::input::plain(e),
        })?;
        if !meta.is_file() && !meta.is_dir() {
            // A FIFO, socket or device as the case: refused before anything opens it.
            return Err(CaseError::Open {
                path: self.root.clone(),
                source: crate::input::not_regular(&meta.file_type()),
            });
        }
        let mut plan = Vec::new();
        if meta.is_file() {
            // A single file given as the case: its folder's display name is the file name.
            let name = self
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            plan.push((self.root.clone(), name, meta.len()));
        } else {
            let root = self.root.clone();
            self.list_dir(&root, "", &mut plan);
        }
        self.files_total = plan.len();
        self.bytes_total = plan.iter().map(|p| p.2).sum();
        for (path, rel, size) in plan {
            self.current = Arc::new(AtomicU64::new(0));
            self.current_size = size;
            self.report(&rel, true);
            self.visit_disk_file(&path, &rel, size);
            self.files_done += 1;
            self.bytes_done = self.bytes_done.saturating_add(size);
            self.current_size = 0;
            self.report(&rel, true);
        }
        Ok(())
    }

    /// Tell the caller where the walk is (at most every 1 MiB of reading unless `force`).
    fn report(&mut self, path: &str, force: bool) {
        let within = self.current.load(Ordering::Relaxed).min(self.current_size);
        let done = self.bytes_done.saturating_add(within);
        if !force
            && done.saturating_sub(self.last_reported) < (1 << 20)
            && self.written.saturating_sub(self.last_written) < (16 << 20)
        {
            return;
        }
        self.last_reported = done;
        self.last_written = self.written;
        (self.progress)(&DiscoverProgress {
            path,
            files_done: self.files_done,
            files_total: self.files_total,
            bytes_done: done,
            bytes_total: self.bytes_total,
            written: self.written,
        });
    }

    fn list_dir(&mut self, dir: &Path, rel: &str, plan: &mut Vec<(PathBuf, String, u64)>) {
        let mut entries: Vec<_> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.filter_map(Result::ok).collect(),
            Err(e) => {
                self.problems.push(Problem::new(
                    display(rel, "."),
                    format!("cannot list folder: {}", crate::input::plain(e)),
                ));
                return;
            }
        };
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Our own housekeeping (the demo's version stamp, notes' temp files) is not evidence.
            if name.starts_with(".bsodwb") {
                continue;
            }
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                self.list_dir(&entry.path(), &child_rel, plan);
            } else if ft.is_file() {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                plan.push((entry.path(), child_rel, size));
            } else if ft.is_symlink() {
                self.list_link(&entry.path(), &child_rel, plan);
            } else {
                // FIFOs, sockets, devices: never opened (a FIFO would block the load).
                self.problems.push(Problem::new(
                    child_rel,
                    format!("skipped: {}", crate::input::not_regular(&ft)),
                ));
            }
        }
    }

    /// A symbolic link is followed only to a regular file inside the case folder: a link out of
    /// the case could read anything on this machine, and a link to a folder inside it would
    /// list files twice (or loop). Everything else is named as skipped.
    fn list_link(&mut self, link: &Path, rel: &str, plan: &mut Vec<(PathBuf, String, u64)>) {
        let skipped = |why: String| Problem::new(rel.to_string(), format!("skipped: {why}"));
        let target = match std::fs::canonicalize(link) {
            Ok(t) => t,
            Err(e) => {
                let e = crate::input::plain(e);
                self.problems.push(skipped(format!(
                    "symbolic link that cannot be followed: {e}"
                )));
                return;
            }
        };
        let inside = std::fs::canonicalize(&self.root).is_ok_and(|root| target.starts_with(root));
        if !inside {
            self.problems.push(skipped(format!(
                "symbolic link to {}, outside the case folder",
                target.display()
            )));
            return;
        }
        match std::fs::metadata(&target) {
            Ok(m) if m.is_file() => plan.push((link.to_path_buf(), rel.to_string(), m.len())),
            Ok(m) if m.is_dir() => self.problems.push(skipped(
                "symbolic link to a folder of the case (its files are listed where they are)"
                    .into(),
            )),
            Ok(m) => self.problems.push(skipped(format!(
                "symbolic link to {}",
                crate::input::not_regular(&m.file_type())
            ))),
            Err(e) => self
                .problems
                .push(skipped(crate::input::plain(e).to_string())),
        }
    }

    fn visit_disk_file(&mut self, path: &Path, rel: &str, size: u64) {
        let head = match read_head(path) {
            Ok(h) => h,
            Err(e) => {
                self.problems
                    .push(Problem::new(rel.to_string(), format!("cannot read: {e}")));
                return;
            }
        };
        let open = || -> io::Result<Tracked> {
            Ok(Tracked {
                file: crate::input::open_regular(path)?.0,
                pos: 0,
                seen: self.current.clone(),
            })
        };
        match Wrapper::sniff(&head) {
            Some(Wrapper::Zip) => match open() {
                Ok(src) => self.visit_zip(src, rel, 0),
                Err(e) => self
                    .problems
                    .push(Problem::new(rel.to_string(), format!("cannot open: {e}"))),
            },
            Some(w) => {
                let src = match open() {
                    Ok(s) => s,
                    Err(e) => {
                        return self
                            .problems
                            .push(Problem::new(rel.to_string(), format!("cannot open: {e}")));
                    }
                };
                let name = rel.rsplit('/').next().unwrap_or(rel).to_string();
                let reader = decoder(w, io::BufReader::new(src));
                match self.visit_content(reader, rel, &name, w, size, None, 1) {
                    Ok(()) => {}
                    // Not really compressed (a zlib look-alike header): sniff the raw bytes.
                    Err(_) if w == Wrapper::Zlib => self.push_plain(path, rel, size, &head),
                    Err(e) => self.problems.push(Problem::new(
                        rel.to_string(),
                        format!("{} stream is corrupt at its start: {e}", wrapper_word(w)),
                    )),
                }
            }
            None => self.push_plain(path, rel, size, &head),
        }
    }

    fn push_plain(&mut self, path: &Path, rel: &str, size: u64, head: &[u8]) {
        let (mut kind, mut detail) = sniff(head);
        // Text whose telling part lies past the head (an INF's [Version] after a long licence
        // comment): sniff a longer head once.
        if super::sniff::wants_longer_text_head(head, kind)
            && let Ok(longer) = read_head_n(path, super::sniff::TEXT_SNIFF_LEN)
        {
            (kind, detail) = sniff(&longer);
        }
        self.files.push(CaseFile {
            path: rel.to_string(),
            local: Some(path.to_path_buf()),
            kind,
            size,
            detail,
            wrapper: None,
            modified: file_system_stamp(path),
        });
    }

    /// Look at inflated content (`r`, produced by wrapper `w` from `compressed` bytes): sniff its
    /// head, follow a nested wrapper, and write it to the temp folder only when it is an artefact.
    /// `claimed` is the size a zip header claims. An error before the first byte is returned.
    #[allow(clippy::too_many_arguments)]
    fn visit_content(
        &mut self,
        mut r: Box<dyn Read + '_>,
        rel: &str,
        name: &str,
        w: Wrapper,
        compressed: u64,
        claimed: Option<u64>,
        depth: usize,
    ) -> io::Result<()> {
        let (head, head_error) = read_head_of(&mut r);
        if head.is_empty() {
            return Err(head_error.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "stream inflates to nothing")
            }));
        }
        let inner = if head_error.is_none() {
            Wrapper::sniff(&head)
        } else {
            None
        };
        match inner {
            Some(w2) if depth > MAX_NESTING => {
                self.problems.push(Problem::new(
                    rel.to_string(),
                    format!(
                        "{} nested more than {MAX_NESTING} deep inside compression; not inflated",
                        wrapper_word(w2)
                    ),
                ));
                return Ok(());
            }
            Some(Wrapper::Zip) => {
                if self.extract == Extract::SniffOnly {
                    self.files.push(CaseFile {
                        path: rel.to_string(),
                        local: None,
                        kind: Kind::Unknown,
                        size: claimed.unwrap_or(compressed),
                        detail: format!(
                            "zip inside {} (open the case to look inside)",
                            wrapper_article(w)
                        ),
                        wrapper: Some(w),
                        modified: self.entry_stamp,
                    });
                    return Ok(());
                }
                // A zip needs a seekable file: it is written (within the budget), read, removed.
                if self.claim_refused(rel, claimed) {
                    return Ok(());
                }
                let Some((local, out)) = self.new_temp_file(rel, name) else {
                    return Ok(());
                };
                match self.copy_out(&head, &mut r, out, rel, claimed) {
                    Ok(_) => {
                        match File::open(&local) {
                            Ok(f) => {
                                let src = Tracked {
                                    file: f,
                                    pos: 0,
                                    seen: Arc::new(AtomicU64::new(0)),
                                };
                                self.visit_zip(src, rel, depth);
                            }
                            Err(e) => self
                                .problems
                                .push(Problem::new(rel.to_string(), format!("temp file: {e}"))),
                        }
                        let _ = std::fs::remove_file(&local);
                    }
                    Err(stop) => {
                        let _ = std::fs::remove_file(&local);
                        self.stopped(rel, w, compressed, stop);
                    }
                }
                return Ok(());
            }
            Some(w2) => {
                let chained = io::Cursor::new(head).chain(r);
                let inner_reader = decoder(w2, io::BufReader::new(chained));
                let inner_name = strip_compression_ext(name);
                if let Err(e) = self.visit_content(
                    inner_reader,
                    rel,
                    &inner_name,
                    w2,
                    compressed,
                    None,
                    depth + 1,
                ) {
                    self.problems.push(Problem::new(
                        rel.to_string(),
                        format!(
                            "{} stream inside {} is corrupt at its start: {e}",
                            wrapper_word(w2),
                            wrapper_article(w)
                        ),
                    ));
                }
                return Ok(());
            }
            None => {}
        }
        let (kind, detail) = sniff(&head);
        let size = claimed.unwrap_or(compressed);
        if self.extract == Extract::SniffOnly || kind == Kind::Unknown {
            let how = if self.extract == Extract::ToTempDir {
                format!("{}, not inflated: not a kind bsodwb reads", wrapper_name(w))
            } else {
                wrapper_name(w).to_string()
            };
            if let Some(c) = claimed {
                self.check_ratio(rel, c, compressed, "claims");
            }
            if let Some(e) = head_error {
                self.problems.push(Problem::new(
                    rel.to_string(),
                    cut_message(w, head.len() as u64, &e),
                ));
            }
            self.files.push(CaseFile {
                path: rel.to_string(),
                local: None,
                kind,
                size,
                detail: join_detail(&detail, &how),
                wrapper: Some(w),
                modified: self.entry_stamp,
            });
            return Ok(());
        }
        if self.claim_refused(rel, claimed) {
            return Ok(());
        }
        let Some((local, out)) = self.new_temp_file(rel, &strip_compression_ext(name)) else {
            return Ok(());
        };
        let (n, cut) = if let Some(e) = head_error {
            // The head itself is all there is: keep it.
            match self.copy_out(&head, &mut io::empty(), out, rel, claimed) {
                Ok(n) => (n, Some(e)),
                Err(stop) => {
                    let _ = std::fs::remove_file(&local);
                    self.stopped(rel, w, compressed, stop);
                    return Ok(());
                }
            }
        } else {
            match self.copy_out(&head, &mut r, out, rel, claimed) {
                Ok(n) => (n, None),
                Err(CopyStop::Cut { n, error }) => (n, Some(error)),
                Err(stop) => {
                    let _ = std::fs::remove_file(&local);
                    self.stopped(rel, w, compressed, stop);
                    return Ok(());
                }
            }
        };
        self.check_ratio(rel, n, compressed, "inflates to");
        let mut how = format!("{}, {n} bytes inflated", wrapper_name(w));
        if let Some(e) = cut {
            self.problems
                .push(Problem::new(rel.to_string(), cut_message(w, n, &e)));
            how.push_str(", cut short");
        }
        self.files.push(CaseFile {
            path: rel.to_string(),
            local: Some(local),
            kind,
            size,
            detail: join_detail(&detail, &how),
            wrapper: Some(w),
            modified: self.entry_stamp,
        });
        Ok(())
    }

    /// Refuse before writing when a zip header claims more than may be written.
    fn claim_refused(&mut self, rel: &str, claimed: Option<u64>) -> bool {
        let Some(declared) = claimed else {
            return false;
        };
        let left = self.max_case.saturating_sub(self.written);
        let msg = if declared > self.max_inflate {
            format!(
                "zip entry claims {declared} bytes, past the {} byte bound per entry (BSODWB_MAX_INFLATE); refused",
                self.max_inflate
            )
        } else if declared > left {
            format!(
                "zip entry claims {declared} bytes, past the {left} bytes left of the case's {} byte budget (BSODWB_MAX_CASE_INFLATE); refused",
                self.max_case
            )
        } else {
            return false;
        };
        self.problems.push(Problem::new(rel.to_string(), msg));
        true
    }

    fn stopped(&mut self, rel: &str, w: Wrapper, compressed: u64, stop: CopyStop) {
        match stop {
            CopyStop::Refused(msg) => self.problems.push(Problem::new(rel.to_string(), msg)),
            CopyStop::Cut { n, error } => {
                self.check_ratio(rel, n, compressed, "inflates to");
                self.problems
                    .push(Problem::new(rel.to_string(), cut_message(w, n, &error)));
            }
        }
    }

    fn check_ratio(&mut self, rel: &str, inflated: u64, compressed: u64, verb: &str) {
        if inflated > compressed.max(1).saturating_mul(BOMB_RATIO) {
            self.problems.push(Problem::new(
                rel.to_string(),
                format!(
                    "{verb} {inflated} bytes from {compressed} compressed: a ratio of {}:1, beyond {BOMB_RATIO}:1 (a likely decompression bomb)",
                    inflated / compressed.max(1)
                ),
            ));
        }
    }

    fn temp(&mut self) -> Result<&CaseTemp, String> {
        if self.temp.is_none() {
            let t = CaseTemp::create().map_err(|e| {
                format!("cannot create a private temp dir for archive entries: {e}")
            })?;
            self.temp = Some(t);
        }
        self.temp.as_ref().ok_or_else(|| "no temp dir".to_string())
    }

    /// A fresh file in the temp dir; its name keeps the entry's file name (parsers look for
    /// rollover siblings and extensions) under a numbered folder so entries never collide.
    fn new_temp_file(&mut self, rel: &str, name: &str) -> Option<(PathBuf, File)> {
        self.next_slot += 1;
        let slot = self.next_slot;
        let made = (|| {
            let t = self.temp()?;
            let dir = unique_dir(t.path().join(slot.to_string()));
            t.create_dir(&dir).map_err(|e| format!("temp dir: {e}"))?;
            let path = dir.join(safe_name(name));
            let file = t
                .create_file(&path)
                .map_err(|e| format!("temp file: {e}"))?;
            Ok::<_, String>((path, file))
        })();
        match made {
            Ok(x) => Some(x),
            Err(msg) => {
                self.problems.push(Problem::new(rel.to_string(), msg));
                None
            }
        }
    }

    /// Write `head` then the rest of `src` to `out` within every bound: the per-entry bound, the
    /// size a zip header claims, the case's budget and the temp file system's reserve.
    fn copy_out(
        &mut self,
        head: &[u8],
        src: &mut dyn Read,
        out: File,
        rel: &str,
        claimed: Option<u64>,
    ) -> Result<u64, CopyStop> {
        let mut out = io::BufWriter::with_capacity(1 << 20, out);
        let mut buf = vec![0u8; 1 << 18];
        let mut n: u64 = 0;
        let mut chunk: Vec<u8> = head.to_vec();
        loop {
            if !chunk.is_empty() {
                let k = chunk.len() as u64;
                self.admit(n, k, claimed)?;
                out.write_all(&chunk)
                    .map_err(|e| CopyStop::Refused(format!("temp file: {e}")))?;
                n += k;
                self.written += k;
                self.report(rel, false);
            }
            let got = loop {
                match src.read(&mut buf) {
                    Ok(g) => break g,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => {
                        out.flush()
                            .map_err(|e| CopyStop::Refused(format!("temp file: {e}")))?;
                        return Err(CopyStop::Cut { n, error });
                    }
                }
            };
            if got == 0 {
                break;
            }
            chunk.clear();
            chunk.extend_from_slice(&buf[..got]);
        }
        out.flush()
            .map_err(|e| CopyStop::Refused(format!("temp file: {e}")))?;
        Ok(n)
    }

    /// May `k` more bytes be written to an entry that has `n`?
    fn admit(&mut self, n: u64, k: u64, claimed: Option<u64>) -> Result<(), CopyStop> {
        if temp::cancelled() {
            return Err(CopyStop::Refused(
                "inflation stopped: the workbench is exiting".into(),
            ));
        }
        let after = n.saturating_add(k);
        if after > self.max_inflate {
            return Err(CopyStop::Refused(format!(
                "inflates past {} bytes (BSODWB_MAX_INFLATE); refused as a likely decompression bomb",
                self.max_inflate
            )));
        }
        if let Some(c) = claimed.filter(|c| after > *c) {
            return Err(CopyStop::Refused(format!(
                "inflates past the {c} bytes its zip header claims; refused (the entry lies about its size)"
            )));
        }
        if self.written.saturating_add(k) > self.max_case {
            return Err(CopyStop::Refused(format!(
                "refused after {n} bytes: the case's budget of {} bytes for inflated files is spent ({} written; BSODWB_MAX_CASE_INFLATE)",
                self.max_case, self.written
            )));
        }
        let due = match self.free_checked_at {
            None => true,
            Some(at) => self.written.saturating_sub(at) >= FREE_SPACE_EVERY,
        };
        if due {
            self.free_checked_at = Some(self.written);
            if let Some(dir) = self.temp.as_ref().map(|t| t.path().to_path_buf())
                && let Some((reserve, avail)) = temp::free_space(&dir)
                && avail < reserve.saturating_add(FREE_SPACE_EVERY)
            {
                return Err(CopyStop::Refused(format!(
                    "refused after {n} bytes: only {avail} bytes are free in {}, and {reserve} must stay free",
                    dir.parent().unwrap_or(&dir).display()
                )));
            }
        }
        Ok(())
    }

    fn visit_zip(&mut self, src: Tracked, rel: &str, depth: usize) {
        let mut archive = match zip::ZipArchive::new(src) {
            Ok(a) => a,
            Err(e) => {
                return self.problems.push(Problem::new(
                    rel.to_string(),
                    format!("zip archive unreadable ({e}); expected a central directory at the end of the file"),
                ));
            }
        };
        let mut claimed_total: u64 = 0;
        for i in 0..archive.len() {
            let entry = match archive.by_index(i) {
                Ok(e) => e,
                Err(e) => {
                    self.problems.push(Problem::new(
                        format!("{rel}!#{i}"),
                        format!("zip entry unreadable: {e}"),
                    ));
                    continue;
                }
            };
            if entry.is_dir() {
                continue;
            }
            // An entry path never escapes: names with `..`, absolute paths or drive letters are
            // refused, with Windows' backslashes read as separators (`..\..\x` too).
            let Some(inner) = zip_entry_path(entry.name()) else {
                self.problems.push(Problem::new(
                    format!("{rel}!{}", crate::escape::escape_field(entry.name())),
                    "zip entry path escapes the archive (absolute or `..`); refused, nothing written"
                        .into(),
                ));
                continue;
            };
            let entry_rel = format!("{rel}!{inner}");
            self.report(&entry_rel, false);
            let declared = entry.size();
            let packed = entry.compressed_size();
            claimed_total = claimed_total.saturating_add(declared);
            let name = inner.rsplit('/').next().unwrap_or(&inner).to_string();
            let w = Wrapper::Zip;
            let outer_stamp = self.entry_stamp;
            self.entry_stamp = zip_entry_stamp(entry.extra_data(), entry.last_modified());
            let visited = self.visit_content(
                Box::new(entry),
                &entry_rel,
                &name,
                w,
                packed,
                Some(declared),
                depth + 1,
            );
            self.entry_stamp = outer_stamp;
            if let Err(e) = visited {
                self.problems.push(Problem::new(
                    entry_rel,
                    format!("zip entry unreadable: {e}"),
                ));
            }
        }
        if claimed_total > self.max_case && self.extract == Extract::ToTempDir {
            self.problems.push(Problem::new(
                rel.to_string(),
                format!(
                    "the archive's entries claim {claimed_total} bytes in all, more than the case's {} byte budget (BSODWB_MAX_CASE_INFLATE); what does not fit is refused entry by entry",
                    self.max_case
                ),
            ));
        }
    }
}

/// A case file being read, remembering how far reading got (for the progress line).
struct Tracked {
    file: File,
    pos: u64,
    seen: Arc<AtomicU64>,
}

impl Read for Tracked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.pos += n as u64;
        self.seen.fetch_max(self.pos, Ordering::Relaxed);
        Ok(n)
    }
}

impl Seek for Tracked {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

/// Read up to [`SNIFF_LEN`] bytes; an error after some bytes is returned beside them.
fn read_head_of(r: &mut dyn Read) -> (Vec<u8>, Option<io::Error>) {
    let mut head = vec![0u8; SNIFF_LEN];
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                head.truncate(n);
                return (head, Some(e));
            }
        }
    }
    head.truncate(n);
    (head, None)
}

fn cut_message(w: Wrapper, n: u64, e: &io::Error) -> String {
    format!(
        "{} stream cut short or corrupt at inflated offset {n} (0x{n:x}): {e}; the {n} bytes before it are used",
        wrapper_word(w)
    )
}

fn safe_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == ':' || c == '\0' {
                '_'
            } else {
                c
            }
        })
        .collect();
    if safe.is_empty() || safe == "." || safe == ".." {
        "entry".to_string()
    } else {
        safe
    }
}

fn wrapper_word(w: Wrapper) -> &'static str {
    match w {
        Wrapper::Zip => "zip entry",
        Wrapper::Gzip => "gzip",
        Wrapper::Xz => "xz",
        Wrapper::Zlib => "zlib",
    }
}

fn wrapper_article(w: Wrapper) -> &'static str {
    match w {
        Wrapper::Zip => "a zip",
        Wrapper::Gzip => "a gzip stream",
        Wrapper::Xz => "an xz stream",
        Wrapper::Zlib => "a zlib stream",
    }
}

fn unique_dir(mut dir: PathBuf) -> PathBuf {
    let mut n = 0;
    while dir.exists() {
        n += 1;
        let name = format!(
            "{}-{n}",
            dir.file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        dir.set_file_name(name);
    }
    dir
}

fn display(rel: &str, fallback: &str) -> String {
    if rel.is_empty() {
        fallback.to_string()
    } else {
        rel.to_string()
    }
}

fn wrapper_name(w: Wrapper) -> &'static str {
    match w {
        Wrapper::Zip => "zip",
        Wrapper::Gzip => "gzip-compressed",
        Wrapper::Xz => "xz-compressed",
        Wrapper::Zlib => "zlib-compressed",
    }
}

fn join_detail(detail: &str, extra: &str) -> String {
    if detail.is_empty() {
        extra.to_string()
    } else {
        format!("{detail} ({extra})")
    }
}

fn strip_compression_ext(name: &str) -> String {
    for ext in [".gz", ".xz", ".zz", ".zlib", ".z"] {
        if name.len() > ext.len() && name.to_ascii_lowercase().ends_with(ext) {
            return name[..name.len() - ext.len()].to_string();
        }
    }
    name.to_string()
}

/// A zip entry's path inside the archive, `/`-separated, or `None` when it would escape it: an
/// absolute path, a drive letter, or a `..` component, with a backslash counted as a separator as
/// Windows' extractors do.
fn zip_entry_path(name: &str) -> Option<String> {
    let unified = name.replace('\\', "/");
    if unified.starts_with('/') || unified.as_bytes().get(1) == Some(&b':') {
        return None;
    }
    let mut parts = Vec::new();
    for part in unified.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn read_head(path: &Path) -> io::Result<Vec<u8>> {
    read_head_n(path, SNIFF_LEN)
}

fn read_head_n(path: &Path, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    // Checked on the open descriptor: a file swapped for a FIFO after the walk never blocks.
    crate::input::open_regular(path)?
        .0
        .take(n as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// A streaming decoder for a single-stream wrapper; memory stays bounded whatever the input.
fn decoder<'r, R: BufRead + 'r>(w: Wrapper, src: R) -> Box<dyn Read + 'r> {
    match w {
        Wrapper::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(src)),
        Wrapper::Zlib => Box::new(ZlibReader::new(src)),
        Wrapper::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
            src,
            true,
            XZ_MEM_LIMIT_KIB,
        )),
        Wrapper::Zip => Box::new(io::empty()),
    }
}

/// A zlib stream reader that says when the stream ends before its end marker (flate2's reader
/// quietly returns end-of-file there, which would pass a cut file off as whole).
struct ZlibReader<R> {
    src: R,
    z: flate2::Decompress,
    done: bool,
}

impl<R: BufRead> ZlibReader<R> {
    fn new(src: R) -> Self {
        ZlibReader {
            src,
            z: flate2::Decompress::new(true),
            done: false,
        }
    }
}

impl<R: BufRead> Read for ZlibReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.src.fill_buf()?;
            let eof = input.is_empty();
            let (in0, out0) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress(input, buf, flate2::FlushDecompress::None)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let used = (self.z.total_in() - in0) as usize;
            let made = (self.z.total_out() - out0) as usize;
            self.src.consume(used);
            if status == flate2::Status::StreamEnd {
                self.done = true;
                return Ok(made);
            }
            if made > 0 {
                return Ok(made);
            }
            if eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the stream ends after {} compressed bytes, before its end marker",
                        self.z.total_in()
                    ),
                ));
            }
        }
    }
}

/// A plain file's mtime.
fn file_system_stamp(path: &Path) -> Option<super::FileStamp> {
    let t = std::fs::symlink_metadata(path).ok()?.modified().ok()?;
    let seconds = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok()?,
        Err(e) => -i64::try_from(e.duration().as_secs()).ok()?,
    };
    Some(super::FileStamp {
        seconds,
        source: super::StampSource::FileSystem,
    })
}

/// A zip entry's modification time: the extended timestamp extra field (0x5455) when it has
/// one, else the NTFS extra field (0x000a), else the MS-DOS date and time of its header (APPNOTE
/// 4.5 and 4.4.6; Info-ZIP's extra field list).
fn zip_entry_stamp(extra: Option<&[u8]>, dos: Option<zip::DateTime>) -> Option<super::FileStamp> {
    use super::{FileStamp, StampSource};
    let mut ntfs = None;
    let mut rest = extra.unwrap_or(&[]);
    while rest.len() >= 4 {
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        let size = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let Some(body) = rest.get(4..4 + size) else {
            break;
        };
        match id {
            // UT: flags, then the modification time (bit 0) as Unix seconds.
            0x5455 if body.first().is_some_and(|f| f & 1 == 1) && body.len() >= 5 => {
                let t = u32::from_le_bytes([body[1], body[2], body[3], body[4]]);
                return Some(FileStamp {
                    seconds: i64::from(t),
                    source: StampSource::ZipExtended,
                });
            }
            // NTFS: 4 reserved bytes, then tagged attributes; tag 1 holds mtime, atime,
            // ctime as FILETIMEs.
            0x000a => {
                let mut attrs = body.get(4..).unwrap_or(&[]);
                while attrs.len() >= 4 {
                    let tag = u16::from_le_bytes([attrs[0], attrs[1]]);
                    let len = usize::from(u16::from_le_bytes([attrs[2], attrs[3]]));
                    let Some(value) = attrs.get(4..4 + len) else {
                        break;
                    };
                    if tag == 1
                        && let Some(m) = value.get(..8)
                    {
                        let ft = u64::from_le_bytes(m.try_into().unwrap_or([0; 8]));
                        if ft != 0 {
                            ntfs = Some(FileStamp {
                                seconds: crate::filetime::FileTime(ft).unix_seconds(),
                                source: StampSource::ZipNtfs,
                            });
                        }
                    }
                    attrs = &attrs[4 + len..];
                }
            }
            _ => {}
        }
        rest = &rest[4 + size..];
    }
    if ntfs.is_some() {
        return ntfs;
    }
    let d = dos.filter(zip::DateTime::is_valid)?;
    let days = crate::filetime::days_from_civil(
        i64::from(d.year()),
        u32::from(d.month()),
        u32::from(d.day()),
    );
    Some(FileStamp {
        seconds: days * 86_400
            + i64::from(d.hour()) * 3600
            + i64::from(d.minute()) * 60
            + i64::from(d.second()),
        source: StampSource::ZipDos,
    })
}

#[cfg(test)]
mod zip_path_tests {
    use super::{zip_entry_path, zip_entry_stamp};

    #[test]
    fn zip_entry_times_by_extra_field_then_dos() {
        use crate::case::StampSource;
        // UT with the modification time: 2024-05-14 01:30:00 UTC.
        let mut ut = vec![0x55, 0x54, 5, 0, 1];
        ut.extend(1_715_650_200u32.to_le_bytes());
        let s = zip_entry_stamp(Some(&ut), None).expect("stamp");
        assert_eq!(
            (s.seconds, s.source),
            (1_715_650_200, StampSource::ZipExtended)
        );
        // NTFS: reserved, tag 1 of 24 bytes (mtime, atime, ctime FILETIMEs).
        let ft = crate::filetime::FileTime::from_unix_seconds(1_715_650_200).0;
        let mut ntfs = vec![0x0a, 0, 32, 0, 0, 0, 0, 0, 1, 0, 24, 0];
        ntfs.extend(ft.to_le_bytes());
        ntfs.extend([0u8; 16]);
        let s = zip_entry_stamp(Some(&ntfs), None).expect("stamp");
        assert_eq!((s.seconds, s.source), (1_715_650_200, StampSource::ZipNtfs));
        // A UT field without the modification-time flag, and a cut field, leave the DOS time.
        let dos = zip::DateTime::from_date_and_time(2024, 5, 13, 18, 30, 0).ok();
        let s = zip_entry_stamp(Some(&[0x55, 0x54, 1, 0, 2, 0x0a, 0, 40, 0]), dos).expect("stamp");
        assert_eq!((s.seconds, s.source), (1_715_625_000, StampSource::ZipDos));
        assert_eq!(zip_entry_stamp(None, None), None);
    }

    #[test]
    fn entry_paths_that_escape_are_refused_with_either_separator() {
        assert_eq!(zip_entry_path("a/b.sys").as_deref(), Some("a/b.sys"));
        assert_eq!(zip_entry_path("a\\b.sys").as_deref(), Some("a/b.sys"));
        assert_eq!(zip_entry_path("./a//b").as_deref(), Some("a/b"));
        for bad in [
            "../x",
            "..\\..\\x",
            "a/../../x",
            "a\\..\\b",
            "/etc/x",
            "\\x",
            "C:\\x",
            "c:x",
            "",
        ] {
            assert_eq!(zip_entry_path(bad), None, "{bad}");
        }
    }
}
