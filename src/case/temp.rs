//! The private temp folder where a case's compressed files are inflated.
//!
//! The folder is `bsodwb-case-<pid>-<random>` in the system temp dir, mode 0700, its files 0600:
//! an inflated MEMORY.DMP is as private as the machine's memory. It is removed when its case is
//! dropped, and also by [`remove_all`] (called on `q`, on SIGTERM/SIGINT/SIGHUP/SIGQUIT and on
//! panic), which first raises a cancel flag so a running inflation stops writing. Folders whose
//! process is gone (killed with SIGKILL, a power cut) are removed at the next start: a live
//! folder's `.lock` is held (flock) by its process for as long as it lives, which also holds
//! across PID reuse and PID namespaces; a folder without one is judged by its PID.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

const PREFIX: &str = "bsodwb-case-";
const LOCK: &str = ".lock";

/// Every live temp folder of this process, for the signal and panic paths.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Raised when the process is about to exit: inflation stops at its next chunk.
static CANCEL: AtomicBool = AtomicBool::new(false);

/// Whether the process is shutting down (inflation checks this between chunks).
pub fn cancelled() -> bool {
    CANCEL.load(Ordering::Relaxed)
}

/// Stop every inflation and remove every temp folder of this process. Safe to call from any
/// thread (not from a signal handler), more than once.
pub fn remove_all() {
    CANCEL.store(true, Ordering::Relaxed);
    let dirs: Vec<PathBuf> = match LIVE.lock() {
        Ok(l) => l.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    for dir in dirs {
        // A writer may still add a file between the walk and the rmdir: try a few times.
        for _ in 0..5 {
            match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                _ => break,
            }
        }
    }
}

/// A case's private temp folder; removed on drop.
#[derive(Debug)]
pub struct CaseTemp {
    dir: tempfile::TempDir,
    /// Held locked while the folder lives (see the module doc).
    _lock: Option<File>,
}

impl CaseTemp {
    /// Create the folder in the system temp dir (after removing folders left by dead processes).
    pub fn create() -> io::Result<CaseTemp> {
        let base = std::env::temp_dir();
        remove_stale(&base);
        let mut builder = tempfile::Builder::new();
        let prefix = format!("{PREFIX}{}-", std::process::id());
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder.tempdir_in(&base)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        }
        if let Ok(mut l) = LIVE.lock() {
            l.push(dir.path().to_path_buf());
        }
        let lock = File::create(dir.path().join(LOCK)).ok().filter(lock_held);
        Ok(CaseTemp { dir, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A new sub-folder (0700).
    pub fn create_dir(&self, path: &Path) -> io::Result<()> {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(path)
    }

    /// A new file (0600); fails if it exists.
    pub fn create_file(&self, path: &Path) -> io::Result<File> {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        o.open(path)
    }
}

impl Drop for CaseTemp {
    fn drop(&mut self) {
        // Remove the folder while it is still listed: a signal that ends the process during
        // this drop runs `remove_all`, which must still find it (were it unlisted first, an
        // exit in the middle of the removal would leave the folder behind).
        let _ = std::fs::remove_dir_all(self.dir.path());
        if let Ok(mut l) = LIVE.lock() {
            l.retain(|p| p != self.dir.path());
        }
    }
}

/// Remove `bsodwb-case-<pid>-*` folders in `base` owned by this user whose process is gone.
/// Returns how many were removed.
pub fn remove_stale(base: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(base) else {
        return 0;
    };
    let mut removed = 0;
    for entry in rd.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if !meta.is_dir() || !owned_by_us(&meta) {
            continue;
        }
        let alive = match File::open(entry.path().join(LOCK)) {
            // Taking the lock succeeds only when no live process holds it (a folder made in the
            // last minute may still be between its creation and its lock: judged by its pid).
            Ok(f) => !lock_held(&f) || (younger_than_a_minute(&meta) && process_alive(pid)),
            Err(_) => process_alive(pid),
        };
        if alive {
            continue;
        }
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn younger_than_a_minute(meta: &std::fs::Metadata) -> bool {
    meta.modified()
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|age| age < std::time::Duration::from_secs(60))
}

/// Take an exclusive lock on `f` without waiting; true when taken.
#[cfg(unix)]
fn lock_held(f: &File) -> bool {
    rustix::fs::flock(f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok()
}

#[cfg(not(unix))]
fn lock_held(_f: &File) -> bool {
    false
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return true;
    };
    // Signal 0 only checks: ESRCH means no such process; EPERM means it exists (another user's).
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

#[cfg(unix)]
fn owned_by_us(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.uid() == rustix::process::geteuid().as_raw()
}

#[cfg(not(unix))]
fn owned_by_us(_meta: &std::fs::Metadata) -> bool {
    false
}

/// Bytes that must stay free on the file system holding `dir`: 10 % of it, at most 2 GiB;
/// and how many are free now. `None` when the file system cannot be asked.
#[cfg(unix)]
pub fn free_space(dir: &Path) -> Option<(u64, u64)> {
    let st = rustix::fs::statvfs(dir).ok()?;
    let frsize = st.f_frsize.max(1);
    let total = st.f_blocks.saturating_mul(frsize);
    let avail = st.f_bavail.saturating_mul(frsize);
    let reserve = (total / 10).min(2 << 30);
    Some((reserve, avail))
}

#[cfg(not(unix))]
pub fn free_space(_dir: &Path) -> Option<(u64, u64)> {
    None
}
