//! Discovery: walk a case folder, look inside archives and compressed streams, sniff every file.

use super::sniff::{SNIFF_LEN, Wrapper, sniff};
use super::{CaseError, CaseFile, Problem};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The most an archive entry or compressed stream may inflate to before it is refused.
/// A case file is at most a full memory dump; 64 GiB leaves room for those while stopping
/// decompression bombs. `BSODWB_MAX_INFLATE` (bytes) overrides it.
pub const DEFAULT_MAX_INFLATE: u64 = 64 << 30;
/// How deep archives may nest (a zip of zipped logs is common; deeper is suspicious).
const MAX_NESTING: usize = 3;

/// What discovery does with compressed content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extract {
    /// Only sniff through compression (for `bsodwb scan`): nothing is written anywhere.
    SniffOnly,
    /// Inflate archive entries and compressed streams into a private temp dir so parsers can map them.
    ToTempDir,
}

pub(super) struct Walker<'a> {
    pub root: PathBuf,
    pub extract: Extract,
    pub max_inflate: u64,
    pub files: Vec<CaseFile>,
    pub problems: Vec<Problem>,
    pub temp: Option<tempfile::TempDir>,
    pub progress: &'a mut dyn FnMut(&str),
}

fn max_inflate_from_env() -> u64 {
    std::env::var("BSODWB_MAX_INFLATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_INFLATE)
}

impl<'a> Walker<'a> {
    pub fn new(root: &Path, extract: Extract, progress: &'a mut dyn FnMut(&str)) -> Walker<'a> {
        Walker {
            root: root.to_path_buf(),
            extract,
            max_inflate: max_inflate_from_env(),
            files: Vec::new(),
            problems: Vec::new(),
            temp: None,
            progress,
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
        if meta.is_file() {
            // A single file given as the case: its folder's display name is the file name.
            let root = self.root.clone();
            let name = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.visit_file(&root, &name, 0);
            return Ok(());
        }
        let root = self.root.clone();
        self.walk_dir(&root, "");
        Ok(())
    }

    fn walk_dir(&mut self, dir: &Path, rel: &str) {
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
                self.walk_dir(&entry.path(), &child_rel);
            } else if ft.is_file() {
                self.visit_file(&entry.path(), &child_rel, 0);
            } else if ft.is_symlink() {
                self.visit_link(&entry.path(), &child_rel);
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
    fn visit_link(&mut self, link: &Path, rel: &str) {
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
            Ok(m) if m.is_file() => self.visit_file(link, rel, 0),
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

    fn visit_file(&mut self, path: &Path, rel: &str, depth: usize) {
        (self.progress)(rel);
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let head = match read_head(path) {
            Ok(h) => h,
            Err(e) => {
                self.problems
                    .push(Problem::new(rel.to_string(), format!("cannot read: {e}")));
                return;
            }
        };
        match Wrapper::sniff(&head) {
            Some(Wrapper::Zip) if depth < MAX_NESTING => self.visit_zip(path, rel, size, depth),
            Some(w @ (Wrapper::Gzip | Wrapper::Xz | Wrapper::Zlib)) if depth < MAX_NESTING => {
                match inflated_head(path, w) {
                    Ok(inner) => self.visit_stream(path, rel, size, w, &inner, depth),
                    // Not really compressed (a zlib look-alike header): sniff the raw bytes.
                    Err(_) if w == Wrapper::Zlib => self.push_plain(path, rel, size, &head),
                    Err(e) => self.problems.push(Problem::new(
                        rel.to_string(),
                        format!("{w:?} stream is corrupt at its start: {e}").to_lowercase(),
                    )),
                }
            }
            _ => self.push_plain(path, rel, size, &head),
        }
    }

    fn push_plain(&mut self, path: &Path, rel: &str, size: u64, head: &[u8]) {
        let (kind, detail) = sniff(head);
        self.files.push(CaseFile {
            path: rel.to_string(),
            local: Some(path.to_path_buf()),
            kind,
            size,
            detail,
            wrapper: None,
        });
    }

    fn visit_stream(
        &mut self,
        path: &Path,
        rel: &str,
        size: u64,
        w: Wrapper,
        inner: &[u8],
        depth: usize,
    ) {
        let wrapper_name = wrapper_name(w);
        if Wrapper::sniff(inner) == Some(Wrapper::Zip) || (self.extract == Extract::ToTempDir) {
            // Inflate to the temp dir: the parsers need the bytes, and a zipped zip needs a seekable file.
            let stem = rel.rsplit('/').next().unwrap_or(rel);
            match self.inflate_stream_to_temp(path, w, stem) {
                Ok(local) => {
                    let (kind, detail) = sniff(inner);
                    if Wrapper::sniff(inner).is_some() {
                        self.visit_file(&local, &format!("{rel}!"), depth + 1);
                        return;
                    }
                    let inflated = std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0);
                    self.files.push(CaseFile {
                        path: rel.to_string(),
                        local: Some(local),
                        kind,
                        size,
                        detail: join_detail(
                            &detail,
                            &format!("{wrapper_name}, {inflated} bytes inflated"),
                        ),
                        wrapper: Some(w),
                    });
                }
                Err(msg) => self.problems.push(Problem::new(rel.to_string(), msg)),
            }
            return;
        }
        let (kind, detail) = sniff(inner);
        self.files.push(CaseFile {
            path: rel.to_string(),
            local: None,
            kind,
            size,
            detail: join_detail(&detail, wrapper_name),
            wrapper: Some(w),
        });
    }

    fn temp_dir(&mut self) -> Result<PathBuf, String> {
        if self.temp.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("bsodwb-case-")
                .tempdir()
                .map_err(|e| {
                    format!("cannot create a private temp dir for archive entries: {e}")
                })?;
            self.temp = Some(dir);
        }
        self.temp
            .as_ref()
            .map(|t| t.path().to_path_buf())
            .ok_or_else(|| "no temp dir".to_string())
    }

    /// A fresh file in the temp dir; its name keeps the entry's file name (parsers look for
    /// rollover siblings and extensions) under a numbered folder so entries never collide.
    fn temp_file_for(&mut self, name: &str) -> Result<(PathBuf, File), String> {
        let dir = self
            .temp_dir()?
            .join(format!("{}", self.files.len() + self.problems.len() + 1));
        let dir = unique_dir(dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("temp dir: {e}"))?;
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
        let safe = if safe.is_empty() || safe == "." || safe == ".." {
            "entry".to_string()
        } else {
            safe
        };
        let path = dir.join(safe);
        let file = File::create(&path).map_err(|e| format!("temp file: {e}"))?;
        Ok((path, file))
    }

    fn inflate_stream_to_temp(
        &mut self,
        path: &Path,
        w: Wrapper,
        name: &str,
    ) -> Result<PathBuf, String> {
        let name = strip_compression_ext(name);
        let (local, mut out) = self.temp_file_for(&name)?;
        let src = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
        let mut reader = decoder(w, src);
        copy_bounded(&mut reader, &mut out, self.max_inflate, wrapper_name(w))?;
        Ok(local)
    }

    fn visit_zip(&mut self, path: &Path, rel: &str, size: u64, depth: usize) {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                return self
                    .problems
                    .push(Problem::new(rel.to_string(), format!("cannot open: {e}")));
            }
        };
        let mut archive = match zip::ZipArchive::new(file) {
            Ok(a) => a,
            Err(e) => {
                return self.problems.push(Problem::new(
                    rel.to_string(),
                    format!("zip archive unreadable ({e}); expected a central directory at the end of the file"),
                ));
            }
        };
        let mut total: u64 = 0;
        for i in 0..archive.len() {
            let mut entry = match archive.by_index(i) {
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
            // An entry path never escapes: names with `..`, absolute paths or drive letters are refused.
            let Some(inner) = entry.enclosed_name() else {
                self.problems.push(Problem::new(
                    format!("{rel}!{}", entry.name()),
                    "zip entry path escapes the archive (absolute or `..`); refused".into(),
                ));
                continue;
            };
            let inner = inner.to_string_lossy().replace('\\', "/");
            let entry_rel = format!("{rel}!{inner}");
            (self.progress)(&entry_rel);
            let declared = entry.size();
            total = total.saturating_add(declared);
            if declared > self.max_inflate || total > self.max_inflate.saturating_mul(2) {
                self.problems.push(Problem::new(
                    entry_rel,
                    format!(
                        "zip entry would inflate to {declared} bytes, past the {} byte bound (BSODWB_MAX_INFLATE); refused",
                        self.max_inflate
                    ),
                ));
                continue;
            }
            let name = inner.rsplit('/').next().unwrap_or(&inner).to_string();
            if self.extract == Extract::SniffOnly {
                let mut head = Vec::with_capacity(SNIFF_LEN);
                if let Err(e) = (&mut entry).take(SNIFF_LEN as u64).read_to_end(&mut head) {
                    self.problems.push(Problem::new(
                        entry_rel,
                        format!("zip entry unreadable: {e}"),
                    ));
                    continue;
                }
                if let Some(w) = Wrapper::sniff(&head) {
                    // Nested compression: the entry must be inflated to be looked into; use memory.
                    drop(entry);
                    self.sniff_nested_entry(&mut archive, i, &entry_rel, w, declared);
                    continue;
                }
                let (kind, detail) = sniff(&head);
                self.files.push(CaseFile {
                    path: entry_rel,
                    local: None,
                    kind,
                    size: declared,
                    detail: join_detail(&detail, "in zip"),
                    wrapper: Some(Wrapper::Zip),
                });
                continue;
            }
            let (local, mut out) = match self.temp_file_for(&name) {
                Ok(x) => x,
                Err(msg) => {
                    self.problems.push(Problem::new(entry_rel, msg));
                    continue;
                }
            };
            if let Err(msg) = copy_bounded(&mut entry, &mut out, self.max_inflate, "zip entry") {
                self.problems.push(Problem::new(entry_rel, msg));
                continue;
            }
            drop(out);
            self.visit_file(&local, &entry_rel, depth + 1);
            if let Some(last) = self.files.last_mut().filter(|f| f.path == entry_rel) {
                last.wrapper = Some(Wrapper::Zip);
            }
        }
        let _ = size;
    }

    fn sniff_nested_entry(
        &mut self,
        archive: &mut zip::ZipArchive<File>,
        i: usize,
        rel: &str,
        w: Wrapper,
        size: u64,
    ) {
        let Ok(entry) = archive.by_index(i) else {
            return;
        };
        if w == Wrapper::Zip {
            self.files.push(CaseFile {
                path: rel.to_string(),
                local: None,
                kind: super::Kind::Unknown,
                size,
                detail: "zip inside a zip (open the case to look inside)".into(),
                wrapper: Some(Wrapper::Zip),
            });
            return;
        }
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let ok = decoder(w, entry)
            .take(SNIFF_LEN as u64)
            .read_to_end(&mut head)
            .is_ok();
        let (kind, detail) = if ok {
            sniff(&head)
        } else {
            (super::Kind::Unknown, String::new())
        };
        self.files.push(CaseFile {
            path: rel.to_string(),
            local: None,
            kind,
            size,
            detail: join_detail(&detail, &format!("{} in zip", wrapper_name(w))),
            wrapper: Some(w),
        });
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

fn read_head(path: &Path) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    // Checked on the open descriptor: a file swapped for a FIFO after the walk never blocks.
    crate::input::open_regular(path)?
        .0
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// A streaming decoder for a single-stream wrapper.
fn decoder<'r, R: Read + 'r>(w: Wrapper, src: R) -> Box<dyn Read + 'r> {
    match w {
        Wrapper::Gzip => Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(src))),
        Wrapper::Zlib => Box::new(flate2::read::ZlibDecoder::new(io::BufReader::new(src))),
        Wrapper::Xz => Box::new(XzReader::new(src)),
        Wrapper::Zip => Box::new(io::empty()),
    }
}

/// The first [`SNIFF_LEN`] bytes of a compressed stream, inflated.
fn inflated_head(path: &Path, w: Wrapper) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    decoder(w, File::open(path)?)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)?;
    if head.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "stream inflates to nothing",
        ));
    }
    Ok(head)
}

/// Copy at most `bound` bytes; refuse (and say so) when the stream would inflate past it.
fn copy_bounded(src: &mut dyn Read, out: &mut File, bound: u64, what: &str) -> Result<u64, String> {
    let mut limited = src.take(bound.saturating_add(1));
    let mut buf = io::BufWriter::with_capacity(1 << 20, out);
    let n = io::copy(&mut limited, &mut buf).map_err(|e| format!("{what} is corrupt: {e}"))?;
    buf.flush().map_err(|e| format!("temp file: {e}"))?;
    if n > bound {
        return Err(format!(
            "{what} inflates past {bound} bytes (BSODWB_MAX_INFLATE); refused as a likely decompression bomb"
        ));
    }
    Ok(n)
}

/// lzma-rs decodes xz from a BufRead into a Write; this adapts it to a Read by decoding on a
/// thread into a pipe-like channel, so xz streams inflate with bounded memory like the others.
struct XzReader {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    pos: usize,
}

struct ChannelWriter(std::sync::mpsc::SyncSender<io::Result<Vec<u8>>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(Ok(buf.to_vec()))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "reader gone"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl XzReader {
    fn new<R: Read>(src: R) -> XzReader {
        // The source is read fully here (xz case files are small: hives, logs); decoding streams out.
        let mut data = Vec::new();
        let read = io::BufReader::new(src).read_to_end(&mut data);
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        std::thread::spawn(move || {
            if let Err(e) = read {
                let _ = tx.send(Err(e));
                return;
            }
            let mut input = io::Cursor::new(data);
            let mut w = io::BufWriter::with_capacity(1 << 16, ChannelWriter(tx.clone()));
            let result = lzma_rs::xz_decompress(&mut input, &mut w)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
            let result = result.and_then(|()| w.flush());
            if let Err(e) = result {
                let _ = tx.send(Err(e));
            }
        });
        XzReader {
            rx,
            pending: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for XzReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.pending.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.pending = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
