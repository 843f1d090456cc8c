//! A reader of Process Monitor logs (PML, format version 9, 32- and 64-bit captures) over a
//! memory map, lazy where it matters.
//!
//! [`open`] maps the file (and its rollover siblings `name-1.pml`, `name-2.pml`, …), reads the
//! header and the tables, and stops: events decode on demand with [`PmlLog::event`], and
//! [`PmlLog::index`] builds once a compact column index (time, process, thread, operation,
//! result, interned path) that serves [`Filter`]s and sorting. A log cut short (a boot log from
//! a machine that died) yields every event that can be read plus a [`Warning`] naming the
//! offset where reading stopped. Events render the way Procmon's CSV export shows them
//! ([`csv`], [`render`], [`detail`]).
//!
//! ```no_run
//! let log = procmon_pml::open(std::path::Path::new("Bootlog.pml"))?;
//! for number in 0..log.len().min(10) {
//!     let event = log.event(number)?;
//!     let result = procmon_pml::names::result_text(event.result);
//!     println!("{} {} {result}", event.operation_name, event.path);
//! }
//! for warning in log.warnings() {
//!     eprintln!("{warning}");
//! }
//! # Ok::<(), procmon_pml::PmlError>(())
//! ```
//!
//! Sections cited as `§N` below are those of the format notes in the bsod-workbench repository
//! (`docs/formats/pml.md`).

#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod csv;
pub mod detail;
pub mod event;
pub mod filter;
pub mod format;
pub mod index;
pub mod names;
pub mod render;

use format::{EVENT_HEADER_SIZE, HEADER_SIZE, Header, Module, Process};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use event::{Event, Frame};
pub use filter::{Column, Filter, Relation, Rule};
pub use index::EventIndex;

/// The bytes of one file of a log: a memory map, a vector, or a mapping the caller supplies
/// (see [`open_with`]).
type Source = Box<dyn AsRef<[u8]> + Send + Sync>;

/// What can go wrong opening or reading a log.
#[derive(Debug, thiserror::Error)]
pub enum PmlError {
    #[error("{}: {}", path.display(), self.cause())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {}", path.display(), self.cause())]
    Format {
        path: PathBuf,
        offset: u64,
        expected: String,
    },
    #[error("event {number} does not exist (the log has {count} events)")]
    NoSuchEvent { number: usize, count: usize },
}

impl PmlError {
    /// What went wrong, without the file (for a listing that names the file itself).
    pub fn cause(&self) -> String {
        match self {
            PmlError::Io { source, .. } => format!("cannot read: {source}"),
            PmlError::Format {
                offset, expected, ..
            } => format!("offset 0x{offset:x}: expected {expected}"),
            PmlError::NoSuchEvent { number, count } => {
                format!("event {number} does not exist (the log has {count} events)")
            }
        }
    }
}

/// A problem that did not stop reading: what was read is kept, this says what was not.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Warning {
    pub file: PathBuf,
    pub offset: u64,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: offset 0x{:x}: {}",
            self.file.display(),
            self.offset,
            self.message
        )
    }
}

/// Where a file's events are: the offset array inside the file (§8), or offsets recovered by
/// walking a log that was never closed.
enum EventOffsets {
    InFile { start: usize, count: usize },
    Recovered(Vec<u32>),
}

/// One PML file of a (possibly chained) log.
pub struct PmlFile {
    pub path: PathBuf,
    bytes: Source,
    pub header: Header,
    offsets: EventOffsets,
    /// Process index → slot in [`PmlLog::processes`]: dense when indices are compact.
    proc_base: u32,
    proc_dense: Vec<u32>,
    proc_sparse: HashMap<u32, u32>,
    /// Slot of the System process (PID 4), whose module list holds the kernel modules.
    system_slot: Option<u32>,
    hosts: HashMap<[u8; 16], String>,
    ports: HashMap<(u16, bool), String>,
}

impl PmlFile {
    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }

    /// Number of events in this file.
    pub fn len(&self) -> usize {
        match &self.offsets {
            EventOffsets::InFile { count, .. } => *count,
            EventOffsets::Recovered(v) => v.len(),
        }
    }

    /// Whether this file holds no events.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// File offset of local event `i`.
    #[inline]
    pub fn event_offset(&self, i: usize) -> Option<usize> {
        match &self.offsets {
            EventOffsets::InFile { start, .. } => {
                let at = start.checked_add(i.checked_mul(5)?)?;
                let b = self.bytes().get(at..at + 4)?;
                Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            }
            EventOffsets::Recovered(v) => v.get(i).map(|&o| o as usize),
        }
    }

    /// The process slot for a process index, if the record exists.
    #[inline]
    pub fn process_slot(&self, process_index: u32) -> Option<u32> {
        if let Some(rel) = process_index.checked_sub(self.proc_base)
            && let Some(&s) = self.proc_dense.get(rel as usize)
        {
            return (s != u32::MAX).then_some(s);
        }
        self.proc_sparse.get(&process_index).copied()
    }

    /// Pointer size of the capture (4 or 8).
    pub fn pointer_size(&self) -> usize {
        self.header.pointer_size()
    }

    /// A host name for an address, or the address as Procmon prints it.
    pub fn host_name(&self, ip: &[u8; 16], is_v4: bool) -> String {
        if let Some(h) = self.hosts.get(ip).filter(|h| !h.is_empty()) {
            return h.clone();
        }
        if is_v4 {
            format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
        } else {
            // Procmon drops leading zeros per group and never compresses runs of zeros.
            ip.chunks_exact(2)
                .map(|g| format!("{:x}", u16::from_be_bytes([g[0], g[1]])))
                .collect::<Vec<_>>()
                .join(":")
        }
    }

    /// A service name for a port, or the number.
    pub fn port_name(&self, port: u16, tcp: bool) -> String {
        self.ports
            .get(&(port, tcp))
            .cloned()
            .unwrap_or_else(|| port.to_string())
    }
}

/// A Procmon log: one file or a rollover chain, as one timeline.
pub struct PmlLog {
    files: Vec<PmlFile>,
    /// Global number of each file's first event.
    starts: Vec<usize>,
    processes: Vec<Process>,
    warnings: Vec<Warning>,
    index: OnceLock<EventIndex>,
    sid_names: OnceLock<HashMap<String, String>>,
    options: render::RenderOptions,
}

/// Opens a log and its rollover siblings (`name-1.pml`, `name-2.pml`, … beside `name.pml`),
/// each memory-mapped read-only (see [`map_file`]).
pub fn open(path: &Path) -> Result<PmlLog, PmlError> {
    open_with(path, map_file)
}

/// Opens a log and its rollover siblings with the caller's own way of getting a file's bytes,
/// e.g. a mapping guarded against the file shrinking while it is open. `map` is called once
/// per file, in timeline order; its error becomes [`PmlError::Io`] naming the file.
pub fn open_with<S, F>(path: &Path, map: F) -> Result<PmlLog, PmlError>
where
    S: AsRef<[u8]> + Send + Sync + 'static,
    F: FnMut(&Path) -> std::io::Result<S>,
{
    let mut paths = vec![path.to_path_buf()];
    paths.extend(rollover_siblings(path));
    PmlLog::open_files_with(&paths, map)
}

/// Opens one log held in memory (e.g. inflated from an archive); `name` is the name warnings
/// and errors give it.
pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<PmlLog, PmlError> {
    let mut log = PmlLog::empty();
    log.add_file(name.to_path_buf(), Box::new(bytes))?;
    Ok(log)
}

/// Maps a regular file read-only (an empty file is held as an empty vector: mmap refuses
/// length 0). Anything but a regular file (a FIFO, a device, a folder) is refused.
///
/// The map is only as stable as the file: if another process truncates the file while it is
/// mapped, reading the lost range raises SIGBUS on unix. An application that must survive that
/// passes its own guarded mapping to [`open_with`].
pub fn map_file(path: &Path) -> std::io::Result<memmap2::Mmap> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let file = std::fs::File::open(path)?;
    #[allow(unsafe_code)]
    // SAFETY: the map is read-only and private to this process, and the file is opened
    // read-only; nothing in this crate writes through it or keeps it past the log. The one
    // hazard left, another process truncating the file, is documented above.
    let map = unsafe { memmap2::MmapOptions::new().map(&file)? };
    Ok(map)
}

/// `name-1.pml`, `name-2.pml`, … that exist beside `name.pml`, in order.
pub fn rollover_siblings(path: &Path) -> Vec<PathBuf> {
    let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else {
        return Vec::new();
    };
    let (stem, ext) = (stem.to_string_lossy(), ext.to_string_lossy());
    let mut out = Vec::new();
    for n in 1.. {
        let p = path.with_file_name(format!("{stem}-{n}.{ext}"));
        if !p.is_file() {
            break;
        }
        out.push(p);
    }
    out
}

impl PmlLog {
    fn empty() -> PmlLog {
        PmlLog {
            files: Vec::new(),
            starts: Vec::new(),
            processes: Vec::new(),
            warnings: Vec::new(),
            index: OnceLock::new(),
            sid_names: OnceLock::new(),
            options: render::RenderOptions::default(),
        }
    }

    /// How events are rendered from now on (time zone, listing layout); default: UTC and the
    /// current Procmon's layout.
    pub fn set_render_options(&mut self, options: render::RenderOptions) {
        self.options = options;
    }

    /// How events are rendered.
    pub fn render_options(&self) -> &render::RenderOptions {
        &self.options
    }

    /// Opens the given files as one timeline, in the given order, each mapped with [`map_file`].
    pub fn open_files(paths: &[PathBuf]) -> Result<PmlLog, PmlError> {
        PmlLog::open_files_with(paths, map_file)
    }

    /// Opens the given files as one timeline, in the given order, with the caller's way of
    /// getting a file's bytes (see [`open_with`]).
    pub fn open_files_with<S, F>(paths: &[PathBuf], mut map: F) -> Result<PmlLog, PmlError>
    where
        S: AsRef<[u8]> + Send + Sync + 'static,
        F: FnMut(&Path) -> std::io::Result<S>,
    {
        let mut log = PmlLog::empty();
        for p in paths {
            let bytes = map(p).map_err(|source| PmlError::Io {
                path: p.clone(),
                source,
            })?;
            log.add_file(p.clone(), Box::new(bytes))?;
        }
        Ok(log)
    }

    fn warn(&mut self, file: &Path, offset: u64, message: impl Into<String>) {
        self.warnings.push(Warning {
            file: file.to_path_buf(),
            offset,
            message: message.into(),
        });
    }

    fn add_file(&mut self, path: PathBuf, source: Source) -> Result<(), PmlError> {
        let bytes: &[u8] = (*source).as_ref();
        let fmt_err = |offset: u64, expected: &str| PmlError::Format {
            path: path.clone(),
            offset,
            expected: expected.to_string(),
        };
        if bytes.get(0..4) != Some(b"PML_".as_slice()) {
            return Err(fmt_err(0, "the magic \"PML_\" of a Procmon log"));
        }
        let header = match format::header(bytes) {
            Ok((_, h)) => h,
            Err(_) => {
                return Err(fmt_err(
                    bytes.len() as u64,
                    "a complete 0x3A8-byte PML header",
                ));
            }
        };
        if header.version != 9 {
            self.warn(
                &path,
                4,
                format!(
                    "format version {} (only version 9 is known); reading it as version 9",
                    header.version
                ),
            );
        }
        let len = bytes.len() as u64;
        let ptr = header.pointer_size();
        let count = header.event_count as usize;

        // The event-offset array (§8), or a walk over the events when it is missing.
        let array_ok = header.event_offsets_offset != 0
            && header
                .event_offsets_offset
                .checked_add(5 * count as u64)
                .is_some_and(|end| end <= len);
        let offsets = if array_ok {
            EventOffsets::InFile {
                start: header.event_offsets_offset as usize,
                count,
            }
        } else {
            let start = if header.events_offset == 0 {
                HEADER_SIZE as u64
            } else {
                header.events_offset
            };
            let limit = if header.event_offsets_offset != 0 && header.event_offsets_offset <= len {
                header.event_offsets_offset
            } else {
                len
            };
            let (found, stop, why) = walk_events(bytes, start as usize, limit as usize, ptr);
            let reason = if header.event_offsets_offset == 0 {
                "the log was not closed (no event-offset array)".to_string()
            } else {
                format!(
                    "the event-offset array at 0x{:x} lies past the end of the file (0x{len:x} bytes): the log is cut short",
                    header.event_offsets_offset
                )
            };
            self.warn(
                &path,
                stop as u64,
                format!(
                    "{reason}; recovered {} events by walking from 0x{start:x}; stopped here: {why}",
                    found.len()
                ),
            );
            EventOffsets::Recovered(found)
        };

        // String table (§4), needed only to name processes and modules.
        let strings = read_string_offsets(bytes, header.strings_offset);
        if strings.is_none() {
            self.warn(
                &path,
                header.strings_offset,
                "string table missing or cut short: process and module names are empty",
            );
        }
        let string = |i: u32| -> String {
            strings
                .as_ref()
                .and_then(|t| string_at(bytes, t, i))
                .unwrap_or_default()
        };

        // Process table (§5).
        let mut procs: Vec<Process> = Vec::new();
        match read_process_table(bytes, header.process_table_offset, ptr) {
            Ok(raws) => {
                for (raw, mods) in raws {
                    let s = raw.strings.map(&string);
                    let [
                        integrity,
                        user,
                        name,
                        image_path,
                        command_line,
                        company,
                        version,
                        description,
                    ] = s;
                    procs.push(Process {
                        process_index: raw.process_index,
                        pid: raw.pid,
                        parent_pid: raw.parent_pid,
                        parent_process_index: raw.parent_process_index,
                        authentication_id: raw.authentication_id,
                        session: raw.session,
                        start_time: raw.start_time,
                        end_time: raw.end_time,
                        virtualized: raw.virtualized,
                        is_64bit: raw.is_64bit != 0,
                        integrity,
                        user,
                        name,
                        image_path,
                        command_line,
                        company,
                        version,
                        description,
                        modules: mods
                            .into_iter()
                            .map(|m| Module {
                                base: m.base,
                                size: m.size,
                                path: string(m.strings[0]),
                                version: string(m.strings[1]),
                                company: string(m.strings[2]),
                                description: string(m.strings[3]),
                                timestamp: m.timestamp,
                            })
                            .collect(),
                    });
                }
            }
            Err((offset, read)) => {
                self.warn(
                    &path,
                    offset,
                    format!(
                        "process table missing or cut short after {read} records: events of other processes show no process name or PID"
                    ),
                );
            }
        }
        // Keep the records read before a cut in the table.
        if procs.is_empty()
            && let Some(partial) =
                read_process_table_partial(bytes, header.process_table_offset, ptr)
        {
            for (raw, _) in partial {
                let mut p = Process::unknown(raw.process_index);
                p.pid = raw.pid;
                p.parent_pid = raw.parent_pid;
                procs.push(p);
            }
        }

        // Hosts and ports (§7): only network events need them.
        let mut hosts = HashMap::new();
        let mut ports = HashMap::new();
        let hp = header.hosts_ports_offset as usize;
        match bytes
            .get(hp..)
            .filter(|_| hp != 0)
            .map(format::hosts_and_ports)
        {
            Some(Ok((_, (h, p)))) => {
                hosts.extend(h);
                ports.extend(p.into_iter().map(|(port, tcp, n)| ((port, tcp), n)));
            }
            _ => self.warn(
                &path,
                header.hosts_ports_offset,
                "hosts and ports tables missing or cut short: network addresses print numerically",
            ),
        }

        // Register the processes globally with a dense lookup when indices are compact.
        let base_slot = self.processes.len() as u32;
        let min = procs.iter().map(|p| p.process_index).min().unwrap_or(0);
        let max = procs.iter().map(|p| p.process_index).max().unwrap_or(0);
        let mut proc_dense = Vec::new();
        let mut proc_sparse = HashMap::new();
        if max - min < 1 << 20 {
            proc_dense = vec![u32::MAX; (max - min + 1) as usize];
        }
        let mut system_slot = None;
        for (k, p) in procs.iter().enumerate() {
            let slot = base_slot + k as u32;
            match proc_dense.get_mut((p.process_index - min) as usize) {
                Some(d) => *d = slot,
                None => {
                    proc_sparse.insert(p.process_index, slot);
                }
            }
            if p.pid == 4 && system_slot.is_none() {
                system_slot = Some(slot);
            }
        }
        self.processes.extend(procs);
        let start = self.len();
        self.starts.push(start);
        self.files.push(PmlFile {
            path,
            bytes: source,
            header,
            offsets,
            proc_base: min,
            proc_dense,
            proc_sparse,
            system_slot,
            hosts,
            ports,
        });
        Ok(())
    }

    /// Number of events across all files.
    pub fn len(&self) -> usize {
        match (self.starts.last(), self.files.last()) {
            (Some(s), Some(f)) => s + f.len(),
            _ => 0,
        }
    }

    /// Whether the log holds no events.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The files of the chain, in timeline order.
    pub fn files(&self) -> &[PmlFile] {
        &self.files
    }

    /// The header of the first file.
    pub fn header(&self) -> Option<&Header> {
        self.files.first().map(|f| &f.header)
    }

    /// Every process record of every file (slots used by events and the index).
    pub fn processes(&self) -> &[Process] {
        &self.processes
    }

    /// A process by slot.
    pub fn process(&self, slot: u32) -> Option<&Process> {
        self.processes.get(slot as usize)
    }

    /// What was not read, with the offset where reading stopped.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The kernel module list: the System process's modules of the first file that has one.
    pub fn kernel_modules(&self) -> &[Module] {
        self.files
            .iter()
            .find_map(|f| f.system_slot.and_then(|s| self.process(s)))
            .map_or(&[], |p| p.modules.as_slice())
    }

    /// (file number, local event number) of a global event number.
    pub fn locate(&self, number: usize) -> Option<(usize, usize)> {
        let f = self
            .starts
            .partition_point(|&s| s <= number)
            .checked_sub(1)?;
        let local = number - self.starts.get(f)?;
        (local < self.files.get(f)?.len()).then_some((f, local))
    }

    /// The duration (100 ns ticks) in event `number`'s header, read from the map without
    /// decoding the event.
    pub fn duration_of(&self, number: usize) -> Option<u64> {
        let (f, local) = self.locate(number)?;
        let file = self.files.get(f)?;
        let off = file.event_offset(local)?;
        Some(
            format::event_header(file.bytes().get(off..)?)
                .ok()?
                .1
                .duration,
        )
    }

    /// Decodes event `number` (0-based, across the chain).
    pub fn event(&self, number: usize) -> Result<Event, PmlError> {
        let (f, local) = self.locate(number).ok_or(PmlError::NoSuchEvent {
            number,
            count: self.len(),
        })?;
        event::decode(self, f, local, number)
    }

    /// The column index, built on first use (one pass over the event headers).
    pub fn index(&self) -> &EventIndex {
        self.index.get_or_init(|| EventIndex::build(self))
    }

    /// The account name of a SID, as Procmon shows it for "Impersonating": well-known SIDs,
    /// and the user of every process whose Process Create event carries that SID.
    pub fn account_name(&self, sid: &str) -> Option<&str> {
        self.sid_names
            .get_or_init(|| self.collect_sid_names())
            .get(sid)
            .map(String::as_str)
    }

    fn collect_sid_names(&self) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = [
            ("S-1-5-18", "NT AUTHORITY\\SYSTEM"),
            ("S-1-5-19", "NT AUTHORITY\\LOCAL SERVICE"),
            ("S-1-5-20", "NT AUTHORITY\\NETWORK SERVICE"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let ix = self.index();
        for i in 0..ix.len() {
            let Some(op) = ix.op_of(i) else { continue };
            if op.class != names::CLASS_PROCESS
                || !matches!(
                    op.operation,
                    names::proc_op::PROCESS_CREATE | names::proc_op::PROCESS_DEFINED
                )
            {
                continue;
            }
            let Some((f, local)) = self.locate(i) else {
                continue;
            };
            let Some(file) = self.files.get(f) else {
                continue;
            };
            let Some(off) = file.event_offset(local) else {
                continue;
            };
            let Ok(raw) = event::raw_event(file, off) else {
                continue;
            };
            // §12.1: child process index at 0, user SID (length at 0x2C) at 0x34.
            let d = raw.detail;
            let (Some(child), Some(&len)) = (u32_at(d, 0), d.get(0x2C)) else {
                continue;
            };
            let Some(sid) = d.get(0x34..0x34 + usize::from(len)) else {
                continue;
            };
            let sid = render::sid_text(sid);
            let user = file
                .process_slot(child)
                .and_then(|s| self.process(s))
                .map(|p| p.user.clone())
                .filter(|u| !u.is_empty());
            if let (false, Some(user)) = (sid.is_empty(), user) {
                m.entry(sid).or_insert(user);
            }
        }
        m
    }

    /// The first event's timestamp (the origin of "Relative Time").
    pub fn first_timestamp(&self) -> Option<u64> {
        self.files.first().and_then(|f| {
            let off = f.event_offset(0)?;
            let (_, h) = format::event_header(f.bytes().get(off..)?).ok()?;
            Some(h.timestamp)
        })
    }

    /// The stack frame of `address` in `event`, resolved to module + offset: addresses above
    /// the capture's highest user address through the System process's (kernel) modules,
    /// others through the event process's modules (docs/formats/pml.md §9).
    pub fn resolve_frame(&self, event: &Event, address: u64) -> Frame {
        let file = self.files.get(event.file);
        let kernel = file.is_some_and(|f| address > f.header.max_user_address);
        let system = file
            .and_then(|f| f.system_slot)
            .and_then(|s| self.process(s));
        let own = event.process.and_then(|s| self.process(s));
        let (first, second) = if kernel { (system, own) } else { (own, system) };
        let module = first
            .and_then(|p| p.module_at(address))
            .or_else(|| second.and_then(|p| p.module_at(address)));
        Frame {
            address,
            kernel,
            module: module.map(|m| m.path.clone()),
            offset: module.map(|m| address - m.base),
        }
    }

    /// The module (of the System process or the event's process, as [`PmlLog::resolve_frame`]
    /// chooses) that holds `address` in `event`'s stack.
    pub fn frame_module(&self, event: &Event, address: u64) -> Option<&Module> {
        let frame = self.resolve_frame(event, address);
        let path = frame.module?;
        let system = self.kernel_modules();
        let own = event
            .process
            .and_then(|s| self.process(s))
            .map_or(&[][..], |p| p.modules.as_slice());
        system
            .iter()
            .chain(own)
            .find(|m| m.path == path && m.contains(address))
    }

    /// The resolved stack of an event, innermost frame first.
    pub fn stack(&self, event: &Event) -> Vec<Frame> {
        event
            .stack
            .iter()
            .map(|&a| self.resolve_frame(event, a))
            .collect()
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The string table's offsets (§4), absolute in the file, or `None` when it is missing.
fn read_string_offsets(b: &[u8], table: u64) -> Option<Vec<usize>> {
    let t = usize::try_from(table).ok().filter(|&t| t != 0)?;
    let n = u32_at(b, t)? as usize;
    let arr = b.get(t + 4..t.checked_add(4)?.checked_add(n.checked_mul(4)?)?)?;
    Some(
        arr.chunks_exact(4)
            .map(|c| t + u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
            .collect(),
    )
}

fn string_at(b: &[u8], offsets: &[usize], i: u32) -> Option<String> {
    let at = *offsets.get(i as usize)?;
    let size = u32_at(b, at)? as usize;
    let raw = b.get(at + 4..(at + 4).checked_add(size)?)?;
    Some(format::utf16_until_nul(raw))
}

type RawProcessWithModules = (format::RawProcess, Vec<format::RawModule>);

/// Reads every process record; on failure, the offset and the number of records read.
fn read_process_table(
    b: &[u8],
    table: u64,
    ptr: usize,
) -> Result<Vec<RawProcessWithModules>, (u64, usize)> {
    let t = usize::try_from(table)
        .ok()
        .filter(|&t| t != 0)
        .ok_or((table, 0))?;
    let n = u32_at(b, t).ok_or((table, 0))? as usize;
    let mut out = Vec::with_capacity(n.min(65_536));
    for k in 0..n {
        let rec_off_at = t + 4 + 4 * n + 4 * k;
        let rel = u32_at(b, rec_off_at).ok_or((rec_off_at as u64, k))? as usize;
        let at = t + rel;
        let rec = b.get(at..).ok_or((at as u64, k))?;
        let (mut rest, raw) = format::process_record(ptr)(rec).map_err(|_| (at as u64, k))?;
        let mut mods = Vec::with_capacity((raw.module_count as usize).min(4096));
        for _ in 0..raw.module_count {
            let (r, m) =
                format::module_record(ptr)(rest).map_err(|_| ((b.len() - rest.len()) as u64, k))?;
            mods.push(m);
            rest = r;
        }
        out.push((raw, mods));
    }
    Ok(out)
}

/// The records of a process table that could be read before a cut (modules dropped).
fn read_process_table_partial(
    b: &[u8],
    table: u64,
    ptr: usize,
) -> Option<Vec<RawProcessWithModules>> {
    let t = usize::try_from(table).ok().filter(|&t| t != 0)?;
    let n = u32_at(b, t)? as usize;
    let mut out = Vec::new();
    for k in 0..n {
        let rel = u32_at(b, t + 4 + 4 * n + 4 * k)? as usize;
        let rec = b.get(t + rel..)?;
        let Ok((_, raw)) = format::process_record(ptr)(rec) else {
            break;
        };
        out.push((raw, Vec::new()));
    }
    Some(out)
}

/// The end offset of the event at `pos` if its header is plausible and it fits before `limit`.
fn event_end(b: &[u8], pos: usize, limit: usize, ptr: usize) -> Result<usize, &'static str> {
    let Some(hb) = b.get(pos..limit) else {
        return Err("no room for an event header");
    };
    let Ok((_, h)) = format::event_header(hb) else {
        return Err("an event header runs past the end of the file");
    };
    if h.class > 6 || h.timestamp == 0 || h.stack_depth > 1024 || h.detail_size > 1 << 24 {
        return Err("the bytes here are not an event header");
    }
    let mut end =
        pos + EVENT_HEADER_SIZE + ptr * usize::from(h.stack_depth) + h.detail_size as usize;
    if h.extra_offset != 0 {
        let x = pos + h.extra_offset as usize;
        if x < end {
            return Err("the extra-detail offset points inside the event");
        }
        let size = b
            .get(x..x + 2)
            .filter(|_| x + 2 <= limit)
            .map(|s| u16::from_le_bytes([s[0], s[1]]))
            .ok_or("the event's extra detail runs past the end of the file")?;
        end = x + 2 + usize::from(size);
    }
    if end > limit {
        return Err("the event runs past the end of the file");
    }
    Ok(end)
}

/// Walks events of a log without an offset array (docs/formats/pml.md §22.7): event after event,
/// tolerating the one-byte gaps seen in 32-bit captures. Returns the offsets, where it stopped
/// and why.
fn walk_events(b: &[u8], start: usize, limit: usize, ptr: usize) -> (Vec<u32>, usize, String) {
    let mut out = Vec::new();
    let mut pos = start;
    let mut last_time = 0u64;
    loop {
        if pos >= limit {
            return (out, pos, "end of the event area".into());
        }
        let mut found = None;
        let mut why = "";
        // A few bytes of slack: Procmon leaves 1-byte gaps after some events.
        for gap in 0..8 {
            let p = pos + gap;
            match event_end(b, p, limit, ptr) {
                Ok(end) => {
                    let t = format::event_header(&b[p..])
                        .map(|(_, h)| h.timestamp)
                        .unwrap_or(0);
                    // Events are time-ordered; a wild jump means we are reading garbage.
                    let plausible = last_time == 0
                        || (t.saturating_add(36_000_000_000) >= last_time
                            && t <= last_time.saturating_add(864_000_000_000));
                    if plausible {
                        found = Some((p, end, t));
                        break;
                    }
                    why = "the next event's time is implausible";
                }
                Err(e) => {
                    if gap == 0 {
                        why = e;
                    }
                }
            }
        }
        match found {
            Some((p, end, t)) if u32::try_from(p).is_ok() => {
                out.push(p as u32);
                last_time = t;
                pos = end;
            }
            _ => return (out, pos, why.to_string()),
        }
    }
}
