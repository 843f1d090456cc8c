//! Opening case and input files safely: every path is checked before it is read.
//!
//! A case folder or a command-line argument may name a FIFO (an open would block forever), a
//! device (`/dev/zero` never ends), a socket, a folder or a huge file. [`open_regular`] opens
//! without blocking, checks with `fstat` on the open descriptor (no race with a rename) that it
//! is a regular file, and only then hands it out; [`read_bounded`] reads a file whole only up
//! to a bound. Errors are [`std::io::Error`]s whose text names the real cause once ("not a
//! regular file (a FIFO)", "permission denied", "too many levels of symbolic links"), so a
//! caller that prints `path: error` says everything.

use std::collections::HashMap;
use std::fs::{File, FileType, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// The bound for text inputs read whole: sigcheck CSV, SIGVERIF.TXT, a PEM root store.
/// Real ones are kilobytes to a few megabytes.
pub const MAX_REPORT_BYTES: u64 = 64 << 20;
/// The bound for the notes file (a person's Markdown; the editor holds it in memory).
pub const MAX_NOTES_BYTES: u64 = 16 << 20;

/// What a non-regular file is, in words ("a FIFO", "a folder").
pub fn kind_name(ft: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
    }
    if ft.is_dir() {
        "a folder"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// The error for a path that is not a regular file: a folder reads "is a folder, not a file",
/// anything else "not a regular file (a FIFO)".
pub fn not_regular(ft: &FileType) -> io::Error {
    if ft.is_dir() {
        io::Error::new(io::ErrorKind::IsADirectory, "is a folder, not a file")
    } else {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", kind_name(ft)),
        )
    }
}

/// An OS error rewritten as its cause in plain words, without the "(os error N)" tail, so it
/// reads once when printed after a path.
pub fn plain(e: io::Error) -> io::Error {
    let Some(code) = e.raw_os_error() else {
        return e;
    };
    let text = match code {
        libc_codes::ENOENT => "no such file or folder",
        libc_codes::EACCES | libc_codes::EPERM => "permission denied",
        libc_codes::ELOOP => "too many levels of symbolic links",
        libc_codes::ENOTDIR => "a component of the path is not a folder",
        libc_codes::EISDIR => "is a folder, not a file",
        libc_codes::ENAMETOOLONG => "file name too long",
        libc_codes::ENXIO => "not a regular file (a socket or a device without a reader)",
        libc_codes::ENODEV => "not a regular file (a device)",
        libc_codes::EMFILE | libc_codes::ENFILE => "too many open files",
        libc_codes::EIO => "input/output error",
        _ => return e,
    };
    io::Error::new(e.kind(), text)
}

/// Linux errno values (the same on every Linux architecture we build for).
mod libc_codes {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const ENXIO: i32 = 6;
    pub const EACCES: i32 = 13;
    pub const ENODEV: i32 = 19;
    pub const ENOTDIR: i32 = 20;
    pub const EISDIR: i32 = 21;
    pub const ENFILE: i32 = 23;
    pub const EMFILE: i32 = 24;
    pub const ENAMETOOLONG: i32 = 36;
    pub const ELOOP: i32 = 40;
}

/// Open `path` read-only if, and only if, it is a regular file (symlinks are followed).
///
/// On unix the open uses `O_NONBLOCK | O_NOCTTY`, so naming a FIFO never blocks and naming a
/// terminal never adopts it; the type is checked on the open descriptor, and the non-blocking
/// flag is cleared again before the file is handed out.
pub fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    let file = open_nonblocking(path).map_err(plain)?;
    let meta = file.metadata().map_err(plain)?;
    if !meta.file_type().is_file() {
        return Err(not_regular(&meta.file_type()));
    }
    #[cfg(unix)]
    {
        use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
        let flags = fcntl_getfl(&file).map_err(io::Error::from)?;
        fcntl_setfl(&file, flags - OFlags::NONBLOCK).map_err(io::Error::from)?;
    }
    Ok((file, meta))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Check that `path` names a regular file that can be opened for reading; returns its metadata.
/// For command-line arguments before they go to a parser.
pub fn check_regular(path: &Path) -> io::Result<Metadata> {
    open_regular(path).map(|(_, m)| m)
}

/// The error for a file over a bound.
pub fn too_large(size: u64, bound: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "too large to read whole: {} bytes (the bound is {} bytes)",
            size, bound
        ),
    )
}

/// Read a regular file whole, refusing it when it is larger than `bound` bytes (checked on the
/// size before reading, and again while reading, for a file that grows).
pub fn read_bounded(path: &Path, bound: u64) -> io::Result<Vec<u8>> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > bound {
        return Err(too_large(meta.len(), bound));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(bound + 1)
        .read_to_end(&mut bytes)
        .map_err(plain)?;
    if bytes.len() as u64 > bound {
        return Err(too_large(bytes.len() as u64, bound));
    }
    Ok(bytes)
}

/// How deep [`index_by_name`] walks below each folder, and how many entries it reads at most.
pub const INDEX_MAX_DEPTH: usize = 8;
pub const INDEX_MAX_FILES: usize = 200_000;

/// The regular files below `dirs` by lower-case file name, each name's paths in walk order
/// (folders in the order given, entries sorted by name). Bounded: at most [`INDEX_MAX_DEPTH`]
/// levels and [`INDEX_MAX_FILES`] entries; folder links are never followed, file links only
/// with `links` (a symbol folder of links to PDBs), unreadable folders skipped.
pub fn index_by_name(
    dirs: &[std::path::PathBuf],
    links: bool,
) -> HashMap<String, Vec<std::path::PathBuf>> {
    let mut index: HashMap<String, Vec<std::path::PathBuf>> = HashMap::new();
    let mut count = 0usize;
    let mut stack: Vec<(std::path::PathBuf, usize)> =
        dirs.iter().rev().map(|d| (d.clone(), 0)).collect();
    while let Some((dir, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            count += 1;
            if count > INDEX_MAX_FILES {
                return index;
            }
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if depth < INDEX_MAX_DEPTH {
                    stack.push((e.path(), depth + 1));
                }
            } else if (ft.is_file()
                || links
                    && ft.is_symlink()
                    && std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()))
                && let Some(n) = e.file_name().to_str()
            {
                index
                    .entry(n.to_ascii_lowercase())
                    .or_default()
                    .push(e.path());
            }
        }
    }
    index
}

/// Remove the regular files of `dir` whose names start with `prefix` (the temp files a killed
/// atomic save left behind); returns how many. Links with that name are left alone.
pub fn remove_leftovers(dir: &Path, prefix: &str) -> usize {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let is_temp = e.file_name().to_string_lossy().starts_with(prefix);
        // file_type() does not follow links.
        if is_temp
            && e.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(e.path()).is_ok()
        {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_device_and_missing_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = check_regular(dir.path()).unwrap_err();
        assert_eq!(e.to_string(), "is a folder, not a file");
        let e = check_regular(&dir.path().join("nope")).unwrap_err();
        assert_eq!(e.to_string(), "no such file or folder");
        #[cfg(unix)]
        {
            let e = read_bounded(Path::new("/dev/zero"), 10).unwrap_err();
            assert_eq!(e.to_string(), "not a regular file (a character device)");
        }
    }

    #[test]
    fn bounded_read_refuses_a_larger_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![b'a'; 100]).unwrap();
        assert_eq!(read_bounded(&p, 100).unwrap().len(), 100);
        let e = read_bounded(&p, 99).unwrap_err();
        assert!(e.to_string().contains("100 bytes"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &p, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
        let e = read_bounded(&p, 10).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a FIFO)");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_reads_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let e = check_regular(&a).unwrap_err();
        assert_eq!(e.to_string(), "too many levels of symbolic links");
    }
}
