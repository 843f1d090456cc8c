//! The engineer's notes file (`CASE/bsodwb-notes.md`): read safely, never lost on save.
//!
//! Reading checks the path first (a FIFO, a device or a folder in its place is named, never
//! opened for reading or saved over) and bounds the size. Text that is not UTF-8 (notes written
//! on the Windows machine in Windows-1252, or UTF-16 with a byte-order mark) is decoded for the
//! editor, and the original bytes are kept beside it, under [`original_name`], before the first
//! save writes UTF-8. Binary content opens read-only. Saving keeps the file's permission bits
//! and its line endings (CRLF stays CRLF), writes a temp file in the same folder and renames it
//! over the notes; temp files a killed save left behind are removed at the next open. Every
//! message names the notes file, never a temp file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The prefix of the temp files a save writes beside the notes (hidden, skipped by discovery).
pub const TEMP_PREFIX: &str = ".bsodwb-notes-";

/// How the notes file's bytes were turned into text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// Not UTF-8: decoded as Windows-1252 (the ANSI code page of western Windows installs).
    Windows1252,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Windows1252 => "Windows-1252",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
        }
    }
}

/// What was read, and what a save must respect.
#[derive(Clone, Debug)]
pub struct Notes {
    pub path: PathBuf,
    /// The text for the editor (line ends normalised to `\n`).
    pub text: String,
    /// The file existed.
    pub exists: bool,
    /// Lines ended in CRLF: a save writes CRLF again.
    pub crlf: bool,
    pub encoding: Encoding,
    /// The original bytes, when they were not UTF-8: written beside the notes before the first
    /// save replaces them.
    pub original: Option<Vec<u8>>,
    /// Why the notes must not be saved over (binary content, not a regular file, too large,
    /// unreadable); `None` when saving is fine.
    pub read_only: Option<String>,
    /// Permission bits of the existing file, restored on save.
    pub mode: Option<u32>,
    /// Temp files of interrupted saves that were removed.
    pub cleaned: usize,
}

impl Notes {
    /// One line for the status bar: what was read and anything unusual about it.
    pub fn status(&self) -> String {
        if let Some(why) = &self.read_only {
            return format!("read-only: {why}");
        }
        if !self.exists {
            return "new notes".into();
        }
        let mut s = String::from("loaded");
        if self.encoding != Encoding::Utf8 {
            s.push_str(&format!(
                "; decoded from {}, the original is kept as {} on save",
                self.encoding.name(),
                original_name(&self.path, self.encoding)
            ));
        }
        if self.cleaned > 0 {
            s.push_str(&format!(
                "; removed {} temp file(s) of an interrupted save",
                self.cleaned
            ));
        }
        s
    }
}

/// Where the original bytes of non-UTF-8 notes are kept: `bsodwb-notes.windows-1252.md`.
pub fn original_name(path: &Path, enc: Encoding) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "notes".into());
    format!("{stem}.{}.md", enc.name().to_ascii_lowercase())
}

/// Read the notes at `path` (absent is fine: empty new notes). Never blocks on a FIFO and never
/// reads more than [`crate::input::MAX_NOTES_BYTES`].
pub fn load(path: &Path) -> Notes {
    let cleaned = path.parent().map_or(0, clean_leftovers);
    let mut notes = Notes {
        path: path.to_path_buf(),
        text: String::new(),
        exists: false,
        crlf: false,
        encoding: Encoding::Utf8,
        original: None,
        read_only: None,
        mode: None,
        cleaned,
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return notes,
        _ => notes.exists = true,
    }
    let bytes = match crate::input::read_bounded(path, crate::input::MAX_NOTES_BYTES) {
        Ok(b) => b,
        Err(e) => {
            notes.read_only = Some(format!("cannot read {}: {e}", path.display()));
            return notes;
        }
    };
    notes.mode = file_mode(path);
    let (text, encoding) = decode(&bytes);
    if text.contains('\0') {
        notes.read_only = Some(format!(
            "{} holds binary data (NUL bytes), not notes; it is shown, never saved over",
            path.display()
        ));
    }
    if encoding != Encoding::Utf8 {
        notes.original = Some(bytes);
    }
    notes.crlf = text.contains("\r\n");
    notes.text = text.replace("\r\n", "\n");
    notes.encoding = encoding;
    notes
}

fn decode(bytes: &[u8]) -> (String, Encoding) {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return (String::from_utf8_lossy(rest).into_owned(), Encoding::Utf8);
    }
    if bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff") {
        let (enc, e) = if bytes[0] == 0xff {
            (encoding_rs::UTF_16LE, Encoding::Utf16Le)
        } else {
            (encoding_rs::UTF_16BE, Encoding::Utf16Be)
        };
        let (text, _) = enc.decode_with_bom_removal(bytes);
        return (text.into_owned(), e);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), Encoding::Utf8),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (text.into_owned(), Encoding::Windows1252)
        }
    }
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Option<u32> {
    None
}

/// Remove the temp files (`.bsodwb-notes-*`, regular files only) that a killed save left in
/// `dir`; returns how many.
pub fn clean_leftovers(dir: &Path) -> usize {
    crate::input::remove_leftovers(dir, TEMP_PREFIX)
}

/// The cause of an error without the temp file's name that `tempfile` adds to its messages.
pub(crate) fn cause(e: &io::Error) -> String {
    // tempfile wraps the OS error with the temp file's path; the OS error alone is the cause.
    // Its error has no source to ask, only the text "… (os error N) at path …".
    let os = e.raw_os_error().or_else(|| {
        let text = e.to_string();
        let code = text.split("(os error ").nth(1)?.split(')').next()?;
        code.parse().ok()
    });
    if let Some(code) = os {
        return crate::input::plain(io::Error::from_raw_os_error(code)).to_string();
    }
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied (the folder is not writable)".into(),
        k => k.to_string(),
    }
}

/// What a successful save did beyond writing the notes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Saved {
    /// Where the original (non-UTF-8) bytes were kept, on the first save.
    pub kept_original: Option<PathBuf>,
}

/// Save `text` (lines joined by `\n`) over the notes, keeping what [`load`] recorded: the
/// original bytes (once), the line endings and the permission bits. On success the notes no
/// longer need their original kept (`notes.original` is taken).
pub fn save(notes: &mut Notes, text: &str) -> Result<Saved, String> {
    let path = notes.path.clone();
    let fail = |what: String| format!("cannot save {}: {what}", path.display());
    if let Some(why) = &notes.read_only {
        return Err(fail(format!("opened read-only: {why}")));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut saved = Saved::default();
    if let Some(orig) = &notes.original {
        let keep = keep_original(&dir, &original_name(&path, notes.encoding), orig)
            .map_err(|e| fail(format!("the original could not be kept beside it: {e}")))?;
        saved.kept_original = Some(keep);
    }
    let mut body = text.to_string();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    if notes.crlf {
        body = body.replace('\n', "\r\n");
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(&dir)
        .map_err(|e| fail(cause(&e)))?;
    tmp.write_all(body.as_bytes())
        .map_err(|e| fail(cause(&e)))?;
    #[cfg(unix)]
    if let Some(mode) = notes.mode {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| fail(cause(&e)))?;
    }
    tmp.as_file().sync_all().map_err(|e| fail(cause(&e)))?;
    tmp.persist(&path).map_err(|e| fail(cause(&e.error)))?;
    notes.original = None;
    notes.encoding = Encoding::Utf8;
    notes.exists = true;
    Ok(saved)
}

/// Write `bytes` to `dir/name` without replacing anything: `name`, else `name` with a number.
/// An existing file with the same bytes is the copy already kept.
fn keep_original(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, "md"));
    for i in 0..100 {
        let candidate = if i == 0 {
            dir.join(name)
        } else {
            dir.join(format!("{stem}-{i}.{ext}"))
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(mut f) => {
                f.write_all(bytes)?;
                f.sync_all()?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if crate::input::read_bounded(&candidate, crate::input::MAX_NOTES_BYTES)
                    .is_ok_and(|b| b == bytes)
                {
                    return Ok(candidate);
                }
            }
            Err(e) => return Err(crate::input::plain(e)),
        }
    }
    Err(io::Error::other("too many kept originals"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_notes_are_decoded_and_the_original_kept_on_save() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bsodwb-notes.md");
        let orig = b"Caf\xe9: filecrypt.sys \x96 catalog missing\r\nZeile 2\r\n".to_vec();
        std::fs::write(&p, &orig).unwrap();
        let mut n = load(&p);
        assert_eq!(n.encoding, Encoding::Windows1252);
        assert!(n.read_only.is_none());
        assert!(n.crlf);
        assert_eq!(n.text, "Café: filecrypt.sys – catalog missing\nZeile 2\n");
        let s = save(&mut n, "Café: fixed\nZeile 2").unwrap();
        let kept = s.kept_original.unwrap();
        assert_eq!(kept, dir.path().join("bsodwb-notes.windows-1252.md"));
        assert_eq!(std::fs::read(&kept).unwrap(), orig);
        assert_eq!(
            std::fs::read(&p).unwrap(),
            "Café: fixed\r\nZeile 2\r\n".as_bytes()
        );
        // A second save does not keep another copy.
        assert_eq!(save(&mut n, "x").unwrap(), Saved::default());
    }

    #[cfg(unix)]
    #[test]
    fn mode_is_kept_and_leftovers_are_removed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bsodwb-notes.md");
        std::fs::write(&p, "a\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(dir.path().join(".bsodwb-notes-abc123"), "half").unwrap();
        let mut n = load(&p);
        assert_eq!(n.cleaned, 1);
        assert!(!dir.path().join(".bsodwb-notes-abc123").exists());
        save(&mut n, "b").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert!(!n.crlf);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "b\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_binary_notes_are_read_only_and_never_saved_over() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bsodwb-notes.md");
        rustix::fs::mkfifoat(rustix::fs::CWD, &p, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
        let mut n = load(&p);
        let why = n.read_only.clone().unwrap();
        assert!(why.contains("not a regular file (a FIFO)"), "{why}");
        let e = save(&mut n, "x").unwrap_err();
        assert!(
            e.contains(&p.display().to_string()) && e.contains("read-only"),
            "{e}"
        );
        let q = dir.path().join("bin.md");
        std::fs::write(&q, b"\x00\x01\x02").unwrap();
        assert!(load(&q).read_only.unwrap().contains("binary"));
    }

    #[test]
    fn a_failed_save_names_the_notes_file_not_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let case = dir.path().join("case");
        std::fs::create_dir(&case).unwrap();
        let p = case.join("bsodwb-notes.md");
        let mut n = load(&p);
        // The folder goes away (an unplugged disk): the save fails and says where and why.
        std::fs::remove_dir(&case).unwrap();
        let e = save(&mut n, "x").unwrap_err();
        assert_eq!(
            e,
            format!("cannot save {}: no such file or folder", p.display())
        );
    }
}
