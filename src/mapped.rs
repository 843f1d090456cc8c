//! Read-only memory maps of case files: the one place that needs `unsafe`.
//!
//! A mapped file that shrinks while it is open (someone truncates the boot log or the dump the
//! workbench is showing) would kill the process with SIGBUS on the next read past the new end.
//! On unix every mapping is registered in a fixed, lock-free table; a SIGBUS handler that finds
//! the faulting address in a registered mapping maps zero pages over the lost range, flags the
//! mapping as changed and returns, so the read sees zeros instead of killing the process. The
//! flag is checked by [`Bytes::changed_while_open`] and collected by [`take_changed`] (the TUI
//! and the CLI say "the file changed while open"). Faults anywhere else keep their default
//! action. (Windows does not let a mapped file be truncated, so nothing is needed there.)

use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A file that could not be opened or mapped: the same error for every reader.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", path.display(), self.cause())]
pub struct OpenError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl OpenError {
    /// What went wrong, without the file.
    pub fn cause(&self) -> String {
        format!("cannot read: {}", self.source)
    }
}

/// The bytes of a file, memory-mapped read-only (or held in memory for inflated archive entries).
pub enum Bytes {
    Mapped(Mapping),
    Owned(Vec<u8>),
}

/// A read-only map of a file, guarded against the file shrinking (see the module doc).
pub struct Mapping {
    map: memmap2::Mmap,
    /// The guard table's slot, when one was free.
    slot: Option<usize>,
}

impl Bytes {
    /// Map `path` read-only. Empty files are held as an empty vector (mmap refuses length 0).
    /// [`Bytes::open`] with the file named in the error.
    pub fn open_file(path: &Path) -> Result<Bytes, OpenError> {
        Bytes::open(path).map_err(|source| OpenError {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn open(path: &Path) -> std::io::Result<Bytes> {
        // A FIFO or device is refused on the open descriptor (it would block or never end).
        let (file, meta) = crate::input::open_regular(path)?;
        if meta.len() == 0 {
            return Ok(Bytes::Owned(Vec::new()));
        }
        guard::install();
        #[allow(unsafe_code)]
        // SAFETY: the map is read-only and private to this process; case files are opened
        // read-only and never written by us. A concurrent truncation would fault (SIGBUS): the
        // mapping is registered with the guard below before any read, which turns that fault
        // into zero pages and a "changed while open" flag instead of a dead process.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        let slot = guard::register(map.as_ptr() as usize, map.len(), path);
        Ok(Bytes::Mapped(Mapping { map, slot }))
    }

    /// Whether the file shrank while mapped: reads past its new end see zeros.
    pub fn changed_while_open(&self) -> bool {
        match self {
            Bytes::Mapped(m) => m.slot.is_some_and(guard::changed),
            Bytes::Owned(_) => false,
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            guard::unregister(slot);
        }
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => &m.map,
            Bytes::Owned(v) => v,
        }
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes::Owned(v)
    }
}

/// A mapped file that shrank while open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changed {
    pub path: PathBuf,
    /// The first offset that read as zeros instead of the file's bytes.
    pub offset: u64,
}

impl std::fmt::Display for Changed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: the file changed while open (it shrank); from offset 0x{:x} on it reads as zeros",
            self.path.display(),
            self.offset
        )
    }
}

/// The mapped files that shrank since the last call (each reported once).
pub fn take_changed() -> Vec<Changed> {
    guard::take_changed()
}

#[cfg(unix)]
#[allow(unsafe_code)]
mod guard {
    use super::Changed;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Mutex, Once};

    const SLOTS: usize = 1024;

    struct Slot {
        /// Start address; 0 when the slot is free (claimed first, released last).
        start: AtomicUsize,
        /// Length; 0 while the slot is being filled or emptied (the handler skips it).
        len: AtomicUsize,
        changed: AtomicBool,
        reported: AtomicBool,
        /// The lowest faulting offset in the mapping.
        fault: AtomicUsize,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: Slot = Slot {
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        changed: AtomicBool::new(false),
        reported: AtomicBool::new(false),
        fault: AtomicUsize::new(usize::MAX),
    };
    static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];
    /// Each slot's file path (read outside the handler only).
    static PATHS: Mutex<Vec<Option<PathBuf>>> = Mutex::new(Vec::new());
    static PAGE: AtomicUsize = AtomicUsize::new(4096);
    static INSTALL: Once = Once::new();
    /// The handler that was there before ours (Rust's own stack-overflow reporter, usually).
    static mut PREVIOUS: Option<libc::sigaction> = None;

    pub fn install() {
        INSTALL.call_once(|| {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            if page > 0 {
                PAGE.store(page as usize, Ordering::Relaxed);
            }
            // SAFETY: a zeroed sigaction is a valid value (empty mask, no flags) that is filled
            // in below; `on_sigbus` has the SA_SIGINFO signature. PREVIOUS is written once,
            // here, inside call_once and before the handler can run.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigbus as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGBUS, &action, &mut old) == 0 {
                    PREVIOUS = Some(old);
                }
            }
        });
    }

    pub fn register(start: usize, len: usize, path: &Path) -> Option<usize> {
        for (i, slot) in TABLE.iter().enumerate() {
            if slot
                .start
                .compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                slot.changed.store(false, Ordering::Relaxed);
                slot.reported.store(false, Ordering::Relaxed);
                slot.fault.store(usize::MAX, Ordering::Relaxed);
                if let Ok(mut paths) = PATHS.lock() {
                    if paths.len() < SLOTS {
                        paths.resize(SLOTS, None);
                    }
                    paths[i] = Some(path.to_path_buf());
                }
                slot.len.store(len, Ordering::Release);
                return Some(i);
            }
        }
        tracing::warn!("more than {SLOTS} files mapped at once: {path:?} is not guarded");
        None
    }

    pub fn unregister(i: usize) {
        let slot = &TABLE[i];
        slot.len.store(0, Ordering::Release);
        if let Ok(mut paths) = PATHS.lock()
            && let Some(p) = paths.get_mut(i)
        {
            *p = None;
        }
        slot.start.store(0, Ordering::Release);
    }

    pub fn changed(i: usize) -> bool {
        TABLE[i].changed.load(Ordering::Acquire)
    }

    pub fn take_changed() -> Vec<Changed> {
        let mut out = Vec::new();
        let paths = match PATHS.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        for (i, slot) in TABLE.iter().enumerate() {
            if slot.changed.load(Ordering::Acquire)
                && !slot.reported.swap(true, Ordering::AcqRel)
                && let Some(Some(path)) = paths.get(i)
            {
                out.push(Changed {
                    path: path.clone(),
                    offset: slot.fault.load(Ordering::Relaxed) as u64,
                });
            }
        }
        out
    }

    /// The SIGBUS handler. Only async-signal-safe work: atomics and mmap.
    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE.load(Ordering::Relaxed);
        for slot in TABLE.iter() {
            let len = slot.len.load(Ordering::Acquire);
            if len == 0 {
                continue;
            }
            let start = slot.start.load(Ordering::Acquire);
            if addr < start || addr >= start.saturating_add(len) {
                continue;
            }
            let from = addr & !(page - 1);
            let end = (start + len).div_ceil(page) * page;
            // SAFETY: [from, end) lies inside a read-only mapping this process made and still
            // holds (the slot is registered until just before it is unmapped); replacing its
            // pages past the file's new end with private zero pages changes no other memory.
            // The mapping's owner unmaps the whole range later, these pages included.
            let r = unsafe {
                libc::mmap(
                    from as *mut libc::c_void,
                    end - from,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if r != libc::MAP_FAILED {
                slot.fault.fetch_min(addr - start, Ordering::Relaxed);
                slot.changed.store(true, Ordering::Release);
                return;
            }
        }
        // Not a mapping of ours: what would have happened without us.
        // SAFETY: PREVIOUS was written once before this handler was installed and is only read.
        let previous = unsafe { *std::ptr::addr_of!(PREVIOUS) };
        if let Some(old) = previous
            && old.sa_sigaction != libc::SIG_DFL
            && old.sa_sigaction != libc::SIG_IGN
        {
            if old.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this signature.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(old.sa_sigaction) };
                f(sig, info, ctx);
            } else {
                // SAFETY: a handler installed without SA_SIGINFO takes only the signal number.
                let f: extern "C" fn(libc::c_int) =
                    unsafe { std::mem::transmute(old.sa_sigaction) };
                f(sig);
            }
            return;
        }
        // SAFETY: restoring the default action and re-raising are async-signal-safe; the signal
        // is blocked until this handler returns, then it terminates the process as it would have.
        unsafe {
            libc::signal(libc::SIGBUS, libc::SIG_DFL);
            libc::raise(libc::SIGBUS);
        }
    }
}

#[cfg(not(unix))]
mod guard {
    use super::Changed;
    use std::path::Path;

    pub fn install() {}
    pub fn register(_start: usize, _len: usize, _path: &Path) -> Option<usize> {
        None
    }
    pub fn unregister(_i: usize) {}
    pub fn changed(_i: usize) -> bool {
        false
    }
    pub fn take_changed() -> Vec<Changed> {
        Vec::new()
    }
}
