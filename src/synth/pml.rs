//! A Procmon log (PML v9) writer for fixtures, the demo case and scale benchmarks: boot-log-like
//! captures with a System process whose module list holds the drivers, Load Image events of
//! `.sys` files, registry reads under `Services\<name>` and file opens that fail. Layouts are
//! those the reader decodes (docs/formats/pml.md §3–§12).
//!
//! Two ways to use it: [`PmlWriter::new`] keeps events in memory and [`PmlWriter::write_to`]
//! writes the file; [`PmlWriter::create`] streams events to the file as they are added and
//! [`PmlWriter::finish`] appends the tables (for logs of millions of events).

use crate::text::utf16le as utf16;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

const HEADER_SIZE: u64 = 0x3A8;

/// NTSTATUS values the builders use.
pub mod status {
    pub const SUCCESS: u32 = 0;
    pub const NAME_NOT_FOUND: u32 = 0xC000_0034;
    pub const PATH_NOT_FOUND: u32 = 0xC000_003A;
    pub const ACCESS_DENIED: u32 = 0xC000_0022;
    pub const INVALID_IMAGE_HASH: u32 = 0xC000_0428;
    pub const BUFFER_OVERFLOW: u32 = 0x8000_0005;
}

/// The capture host described by the header.
#[derive(Clone, Debug)]
pub struct Capture {
    pub is_64bit: bool,
    pub computer_name: String,
    pub system_root: String,
    pub os_major: u32,
    pub os_minor: u32,
    pub os_build: u32,
    pub processors: u32,
    pub memory_bytes: u64,
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            is_64bit: true,
            computer_name: "BSOD-LAB".into(),
            system_root: "C:\\Windows".into(),
            os_major: 10,
            os_minor: 0,
            os_build: 19045,
            processors: 2,
            memory_bytes: 4 << 30,
        }
    }
}

/// A process record to write.
#[derive(Clone, Debug, Default)]
pub struct ProcessSpec {
    pub pid: u32,
    pub parent_pid: u32,
    pub name: String,
    pub image_path: String,
    pub command_line: String,
    pub user: String,
    pub integrity: String,
    pub company: String,
    pub version: String,
    pub description: String,
    pub is_64bit: bool,
    pub session: u32,
    pub authentication_id: u64,
    pub start_time: u64,
}

impl ProcessSpec {
    /// The System process (PID 4, NT AUTHORITY\\SYSTEM, 64-bit, started at `start_time`).
    pub fn system(start_time: u64) -> ProcessSpec {
        ProcessSpec {
            pid: 4,
            name: "System".into(),
            user: "NT AUTHORITY\\SYSTEM".into(),
            integrity: "System".into(),
            is_64bit: true,
            authentication_id: 0x3e7,
            start_time,
            ..Default::default()
        }
    }
}

/// A module of a process.
#[derive(Clone, Debug, Default)]
pub struct ModuleSpec {
    pub base: u64,
    pub size: u32,
    pub path: String,
    pub version: String,
    pub company: String,
    pub description: String,
    pub timestamp: u32,
}

/// A written process: its process index, the key events use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessId(pub u32);

/// The common fields of an event.
#[derive(Clone, Debug)]
pub struct EventSpec {
    pub process: ProcessId,
    pub tid: u32,
    /// FILETIME, UTC.
    pub time: u64,
    /// 100 ns ticks.
    pub duration: u64,
    pub result: u32,
    /// Return addresses, innermost first.
    pub stack: Vec<u64>,
}

/// Registry data for a RegQueryValue reply.
#[derive(Clone, Debug)]
pub enum RegData {
    Dword(u32),
    Sz(String),
    ExpandSz(String),
    Binary(Vec<u8>),
}

impl RegData {
    fn type_code(&self) -> u32 {
        match self {
            RegData::Sz(_) => 1,
            RegData::ExpandSz(_) => 2,
            RegData::Binary(_) => 3,
            RegData::Dword(_) => 4,
        }
    }
    fn bytes(&self) -> Vec<u8> {
        match self {
            RegData::Dword(v) => v.to_le_bytes().to_vec(),
            RegData::Sz(s) | RegData::ExpandSz(s) => {
                let mut b = utf16(s);
                b.extend_from_slice(&[0, 0]);
                b
            }
            RegData::Binary(b) => b.clone(),
        }
    }
}

/// A detail string: 8-bit when ASCII (bit 15 of the info word), else UTF-16 (§10).
fn detail_string(s: &str) -> (u16, Vec<u8>) {
    if s.is_ascii() {
        let n = s.len().min(0x7fff);
        (0x8000 | n as u16, s.as_bytes()[..n].to_vec())
    } else {
        let units: Vec<u16> = s.encode_utf16().take(0x7fff).collect();
        (
            units.len() as u16,
            units.iter().flat_map(|u| u.to_le_bytes()).collect(),
        )
    }
}

enum Sink {
    Memory(Vec<u8>),
    File(BufWriter<File>),
}

/// Builds a PML file.
pub struct PmlWriter {
    capture: Capture,
    strings: Vec<String>,
    string_ids: HashMap<String, u32>,
    processes: Vec<(ProcessSpec, Vec<ModuleSpec>)>,
    sink: Sink,
    /// File offset of each event.
    offsets: Vec<u32>,
    pos: u64,
    scratch: Vec<u8>,
}

/// First process index (Procmon's are arbitrary numbers, not PIDs).
const FIRST_PROCESS_INDEX: u32 = 1000;

impl PmlWriter {
    /// A writer that keeps events in memory until [`PmlWriter::write_to`].
    pub fn new(capture: Capture) -> PmlWriter {
        PmlWriter::with_sink(capture, Sink::Memory(Vec::new()))
    }

    /// A writer that streams events to `path`; call [`PmlWriter::finish`] at the end.
    pub fn create(path: &Path, capture: Capture) -> io::Result<PmlWriter> {
        let mut f = BufWriter::with_capacity(1 << 20, File::create(path)?);
        f.write_all(&[0u8; HEADER_SIZE as usize])?;
        Ok(PmlWriter::with_sink(capture, Sink::File(f)))
    }

    fn with_sink(capture: Capture, sink: Sink) -> PmlWriter {
        let mut w = PmlWriter {
            capture,
            strings: Vec::new(),
            string_ids: HashMap::new(),
            processes: Vec::new(),
            sink,
            offsets: Vec::new(),
            pos: HEADER_SIZE,
            scratch: Vec::with_capacity(1024),
        };
        w.string("");
        w
    }

    fn ptr(&self) -> usize {
        if self.capture.is_64bit { 8 } else { 4 }
    }

    fn string(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.string_ids.get(s) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.to_string());
        self.string_ids.insert(s.to_string(), i);
        i
    }

    /// Adds a process record; events refer to it by the returned id.
    pub fn add_process(&mut self, p: ProcessSpec) -> ProcessId {
        let id = ProcessId(FIRST_PROCESS_INDEX + self.processes.len() as u32);
        self.processes.push((p, Vec::new()));
        id
    }

    /// Adds a module to a process's module list (the System process's list is the kernel's).
    pub fn add_module(&mut self, p: ProcessId, m: ModuleSpec) {
        if let Some((_, mods)) = self.processes.get_mut((p.0 - FIRST_PROCESS_INDEX) as usize) {
            mods.push(m);
        }
    }

    /// Number of events written so far.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether no event was written.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Writes one event with an arbitrary class, operation and blobs (§9).
    pub fn add_raw_event(
        &mut self,
        ev: &EventSpec,
        class: u32,
        operation: u16,
        detail: &[u8],
        extra: Option<&[u8]>,
    ) -> io::Result<()> {
        let ptr = self.ptr();
        let depth = ev.stack.len().min(u16::MAX as usize);
        let body = 0x34 + ptr * depth + detail.len();
        let b = &mut self.scratch;
        b.clear();
        b.extend_from_slice(&ev.process.0.to_le_bytes());
        b.extend_from_slice(&ev.tid.to_le_bytes());
        b.extend_from_slice(&class.to_le_bytes());
        b.extend_from_slice(&operation.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(self.offsets.len() as u32).to_le_bytes());
        b.extend_from_slice(&ev.duration.to_le_bytes());
        b.extend_from_slice(&ev.time.to_le_bytes());
        b.extend_from_slice(&ev.result.to_le_bytes());
        b.extend_from_slice(&(depth as u16).to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(detail.len() as u32).to_le_bytes());
        let extra_off = if extra.is_some() { body as u32 } else { 0 };
        b.extend_from_slice(&extra_off.to_le_bytes());
        for &a in ev.stack.iter().take(depth) {
            if ptr == 8 {
                b.extend_from_slice(&a.to_le_bytes());
            } else {
                b.extend_from_slice(&(a as u32).to_le_bytes());
            }
        }
        b.extend_from_slice(detail);
        if let Some(x) = extra {
            let n = x.len().min(u16::MAX as usize);
            b.extend_from_slice(&(n as u16).to_le_bytes());
            b.extend_from_slice(&x[..n]);
        }
        let offset = u32::try_from(self.pos).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "a PML file cannot exceed 4 GiB (u32 event offsets); roll over to name-1.pml",
            )
        })?;
        match &mut self.sink {
            Sink::Memory(v) => v.extend_from_slice(b),
            Sink::File(f) => f.write_all(b)?,
        }
        self.offsets.push(offset);
        self.pos += b.len() as u64;
        Ok(())
    }

    /// A Load Image event (§12.5).
    pub fn load_image(
        &mut self,
        ev: &EventSpec,
        path: &str,
        base: u64,
        size: u32,
    ) -> io::Result<()> {
        let ptr = self.ptr();
        let (info, s) = detail_string(path);
        let mut d = Vec::with_capacity(16 + s.len());
        if ptr == 8 {
            d.extend_from_slice(&base.to_le_bytes());
        } else {
            d.extend_from_slice(&(base as u32).to_le_bytes());
        }
        d.extend_from_slice(&size.to_le_bytes());
        d.extend_from_slice(&info.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&s);
        self.add_raw_event(ev, 1, 5, &d, None)
    }

    /// A RegOpenKey event (§12.7); a successful open records the opened-existing disposition.
    pub fn reg_open_key(
        &mut self,
        ev: &EventSpec,
        key: &str,
        desired_access: u32,
    ) -> io::Result<()> {
        let (info, s) = detail_string(key);
        let mut d = Vec::with_capacity(8 + s.len());
        d.extend_from_slice(&info.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&desired_access.to_le_bytes());
        d.extend_from_slice(&s);
        let mut x = Vec::new();
        x.extend_from_slice(&desired_access.to_le_bytes());
        x.extend_from_slice(&2u32.to_le_bytes()); // REG_OPENED_EXISTING_KEY
        let extra = (ev.result == status::SUCCESS).then_some(x);
        self.add_raw_event(ev, 2, 0, &d, extra.as_deref())
    }

    /// A RegQueryValue event asking KeyValuePartialInformation; `data` is the reply (None
    /// for a failed query, which Procmon shows as "Length: n").
    pub fn reg_query_value(
        &mut self,
        ev: &EventSpec,
        value_path: &str,
        data: Option<&RegData>,
    ) -> io::Result<()> {
        let (info, s) = detail_string(value_path);
        let mut d = Vec::with_capacity(12 + s.len());
        d.extend_from_slice(&info.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&144u32.to_le_bytes()); // caller's buffer length
        d.extend_from_slice(&2u32.to_le_bytes()); // KeyValuePartialInformation
        d.extend_from_slice(&s);
        let extra = data.map(|v| {
            let bytes = v.bytes();
            let mut x = Vec::with_capacity(12 + bytes.len());
            x.extend_from_slice(&0u32.to_le_bytes());
            x.extend_from_slice(&v.type_code().to_le_bytes());
            x.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            x.extend_from_slice(&bytes);
            x
        });
        self.add_raw_event(ev, 2, 5, &d, extra.as_deref())
    }

    /// A CreateFile event (§12.6): `disposition` 1 = Open; `open_result` (e.g. 1 Opened) is
    /// recorded only when the open succeeded.
    #[allow(clippy::too_many_arguments)]
    pub fn create_file(
        &mut self,
        ev: &EventSpec,
        path: &str,
        desired_access: u32,
        disposition: u32,
        options: u32,
        share: u16,
        open_result: Option<u32>,
    ) -> io::Result<()> {
        let ptr = self.ptr();
        let blk_len = 5 * ptr + 0x14;
        let mut blk = vec![0u8; blk_len];
        let (do_at, share_at) = if ptr == 8 { (0x14, 0x1E) } else { (0x10, 0x16) };
        let disp_opts = (disposition << 24) | (options & 0xff_ffff);
        blk[do_at..do_at + 4].copy_from_slice(&disp_opts.to_le_bytes());
        blk[share_at..share_at + 2].copy_from_slice(&share.to_le_bytes());
        let (info, s) = detail_string(path);
        let mut d = Vec::with_capacity(4 + blk_len + 4 + s.len() + 8);
        d.extend_from_slice(&[0, 0, 0, 0]);
        d.extend_from_slice(&blk);
        d.extend_from_slice(&info.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&s);
        d.extend_from_slice(&desired_access.to_le_bytes());
        d.extend_from_slice(&[0, 0, 0, 0]);
        let extra = open_result
            .filter(|_| ev.result == status::SUCCESS)
            .map(|r| r.to_le_bytes());
        self.add_raw_event(ev, 3, 20, &d, extra.as_ref().map(|x| &x[..]))
    }

    /// A file-system event (§12.6) of `operation`/`sub`: the parameter block (padded or cut to
    /// its 5 pointers + 0x14 bytes), the path, then `tail` (what the operation keeps after the
    /// path) and the extra-detail blob.
    #[allow(clippy::too_many_arguments)]
    pub fn file_system_event(
        &mut self,
        ev: &EventSpec,
        operation: u16,
        sub: u8,
        block: &[u8],
        path: &str,
        tail: &[u8],
        extra: Option<&[u8]>,
    ) -> io::Result<()> {
        let blk_len = 5 * self.ptr() + 0x14;
        let (info, s) = detail_string(path);
        let mut d = Vec::with_capacity(8 + blk_len + s.len() + tail.len());
        d.extend_from_slice(&[sub, 0, 0, 0]);
        let n = block.len().min(blk_len);
        d.extend_from_slice(&block[..n]);
        d.resize(4 + blk_len, 0);
        d.extend_from_slice(&info.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&s);
        d.extend_from_slice(tail);
        self.add_raw_event(ev, 3, operation, &d, extra)
    }

    /// A QueryDirectory event (IRP_MJ_DIRECTORY_CONTROL, sub 1) of information class
    /// `class` (1, 2, 3, 12, 37 or 38) with an optional filter and the names it returned.
    pub fn query_directory(
        &mut self,
        ev: &EventSpec,
        dir: &str,
        filter: &str,
        class: u32,
        names: &[&str],
    ) -> io::Result<()> {
        let ptr = self.ptr();
        let mut blk = vec![0u8; 5 * ptr + 0x14];
        let at = if ptr == 8 { 0x1C } else { 0x14 };
        blk[at..at + 4].copy_from_slice(&class.to_le_bytes());
        let (info, f) = detail_string(filter);
        let mut tail = info.to_le_bytes().to_vec();
        tail.extend_from_slice(&f);
        let name_off = match class {
            1 => 0x40,
            2 => 0x44,
            3 => 0x5E,
            12 => 0x0C,
            37 => 0x68,
            _ => 0x50,
        };
        let len_at = if class == 12 { 0x08 } else { 0x3C };
        let mut extra = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let units: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let size = (name_off + units.len()).next_multiple_of(8);
            let next = if i + 1 == names.len() { 0 } else { size as u32 };
            let mut rec = vec![0u8; size];
            rec[0..4].copy_from_slice(&next.to_le_bytes());
            rec[len_at..len_at + 4].copy_from_slice(&(units.len() as u32).to_le_bytes());
            rec[name_off..name_off + units.len()].copy_from_slice(&units);
            extra.extend_from_slice(&rec);
        }
        let extra = (!names.is_empty()).then_some(extra);
        self.file_system_event(ev, 32, 1, &blk, dir, &tail, extra.as_deref())
    }

    /// A CreateFileMapping event (IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION): SyncType,
    /// PageProtection and the OutputInformation pointer that follows them.
    pub fn create_file_mapping(
        &mut self,
        ev: &EventSpec,
        path: &str,
        sync_type: u32,
        page_protection: u32,
        output_information: u64,
    ) -> io::Result<()> {
        let ptr = self.ptr();
        let mut blk = vec![0u8; 5 * ptr + 0x14];
        blk[0x0C..0x10].copy_from_slice(&sync_type.to_le_bytes());
        blk[0x10..0x14].copy_from_slice(&page_protection.to_le_bytes());
        if ptr == 8 {
            blk[0x14..0x1C].copy_from_slice(&output_information.to_le_bytes());
        } else {
            blk[0x14..0x18].copy_from_slice(&(output_information as u32).to_le_bytes());
        }
        self.file_system_event(ev, 19, 0, &blk, path, &[], None)
    }

    /// A SetBasicInformationFile event: the FILE_BASIC_INFORMATION the caller passed
    /// (FILETIMEs as signed values: 0 and -1 are "don't change" requests).
    pub fn set_basic_information(
        &mut self,
        ev: &EventSpec,
        path: &str,
        times: [i64; 4],
        attributes: u32,
    ) -> io::Result<()> {
        let blk = vec![0u8; 5 * self.ptr() + 0x14];
        let mut tail = Vec::with_capacity(40);
        for t in times {
            tail.extend_from_slice(&t.to_le_bytes());
        }
        tail.extend_from_slice(&attributes.to_le_bytes());
        tail.extend_from_slice(&[0, 0, 0, 0]);
        self.file_system_event(ev, 26, 4, &blk, path, &tail, None)
    }

    /// A Thread Create event.
    pub fn thread_create(&mut self, ev: &EventSpec, new_tid: u32) -> io::Result<()> {
        self.add_raw_event(ev, 1, 3, &new_tid.to_le_bytes(), None)
    }

    /// Writes the file (memory writer) at `path`.
    pub fn write_to(self, path: &Path) -> io::Result<()> {
        let Sink::Memory(events) = &self.sink else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "write_to is for PmlWriter::new; a streaming writer ends with finish()",
            ));
        };
        let mut f = BufWriter::new(File::create(path)?);
        f.write_all(&[0u8; HEADER_SIZE as usize])?;
        f.write_all(events)?;
        let tables = self.tables(true);
        f.write_all(&tables.bytes)?;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&self.header(&tables))?;
        f.flush()
    }

    /// Ends a streaming writer: appends the tables and fills in the header.
    pub fn finish(self) -> io::Result<()> {
        self.end(true)
    }

    /// Ends a streaming writer like a capture that never closed (a machine that died during a
    /// boot log): events only, the header's table offsets left zero.
    pub fn finish_unclosed(self) -> io::Result<()> {
        self.end(false)
    }

    fn end(mut self, closed: bool) -> io::Result<()> {
        let sink = std::mem::replace(&mut self.sink, Sink::Memory(Vec::new()));
        let Sink::File(mut f) = sink else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "finish is for PmlWriter::create; an in-memory writer ends with write_to()",
            ));
        };
        let tables = self.tables(closed);
        f.write_all(&tables.bytes)?;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&self.header(&tables))?;
        f.flush()
    }

    fn tables(&self, closed: bool) -> Tables {
        let ptr = self.ptr();
        let mut b = Vec::new();
        let base = self.pos;
        let mut t = Tables::default();
        if !closed {
            return t;
        }
        t.offsets_array = base;
        for &o in &self.offsets {
            b.extend_from_slice(&o.to_le_bytes());
            b.push(0);
        }
        // Process table (§5): string indices must exist before the string table is written.
        let mut strings = self.strings.clone();
        let mut ids = self.string_ids.clone();
        let mut sid = |s: &str| -> u32 {
            if let Some(&i) = ids.get(s) {
                return i;
            }
            let i = strings.len() as u32;
            strings.push(s.to_string());
            ids.insert(s.to_string(), i);
            i
        };
        t.process_table = base + b.len() as u64;
        let n = self.processes.len();
        let table_start = b.len();
        b.extend_from_slice(&(n as u32).to_le_bytes());
        for k in 0..n {
            b.extend_from_slice(&(FIRST_PROCESS_INDEX + k as u32).to_le_bytes());
        }
        let rel_at = b.len();
        b.resize(b.len() + 4 * n, 0);
        for (k, (p, mods)) in self.processes.iter().enumerate() {
            let rel = (b.len() - table_start) as u32;
            b[rel_at + 4 * k..rel_at + 4 * k + 4].copy_from_slice(&rel.to_le_bytes());
            let parent_index = self
                .processes
                .iter()
                .position(|(q, _)| q.pid == p.parent_pid && p.parent_pid != 0)
                .map_or(0, |i| FIRST_PROCESS_INDEX + i as u32);
            for v in [
                FIRST_PROCESS_INDEX + k as u32,
                p.pid,
                p.parent_pid,
                parent_index,
            ] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&p.authentication_id.to_le_bytes());
            b.extend_from_slice(&p.session.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(&p.start_time.to_le_bytes());
            b.extend_from_slice(&0u64.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(&u32::from(p.is_64bit).to_le_bytes());
            for s in [
                &p.integrity,
                &p.user,
                &p.name,
                &p.image_path,
                &p.command_line,
                &p.company,
                &p.version,
                &p.description,
            ] {
                b.extend_from_slice(&sid(s).to_le_bytes());
            }
            b.extend_from_slice(&[0u8; 8]);
            b.extend(std::iter::repeat_n(0u8, ptr));
            b.extend_from_slice(&(mods.len() as u32).to_le_bytes());
            for m in mods {
                b.extend(std::iter::repeat_n(0u8, ptr));
                if ptr == 8 {
                    b.extend_from_slice(&m.base.to_le_bytes());
                } else {
                    b.extend_from_slice(&(m.base as u32).to_le_bytes());
                }
                b.extend_from_slice(&m.size.to_le_bytes());
                for s in [&m.path, &m.version, &m.company, &m.description] {
                    b.extend_from_slice(&sid(s).to_le_bytes());
                }
                b.extend_from_slice(&m.timestamp.to_le_bytes());
                b.extend_from_slice(&[0u8; 24]);
            }
        }
        // String table (§4).
        t.strings = base + b.len() as u64;
        let start = b.len();
        b.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        let off_at = b.len();
        b.resize(b.len() + 4 * strings.len(), 0);
        for (k, s) in strings.iter().enumerate() {
            let rel = (b.len() - start) as u32;
            b[off_at + 4 * k..off_at + 4 * k + 4].copy_from_slice(&rel.to_le_bytes());
            if s.is_empty() {
                b.extend_from_slice(&0u32.to_le_bytes());
            } else {
                let mut u = utf16(s);
                u.extend_from_slice(&[0, 0]);
                b.extend_from_slice(&(u.len() as u32).to_le_bytes());
                b.extend_from_slice(&u);
            }
        }
        // Icon table (§6): one empty placeholder entry.
        t.icons = base + b.len() as u64;
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&8u32.to_le_bytes());
        b.extend_from_slice(&[0u8; 8]);
        // Hosts and ports (§7): none in a boot log.
        t.hosts_ports = base + b.len() as u64;
        b.extend_from_slice(&[0u8; 8]);
        t.bytes = b;
        t
    }

    fn header(&self, t: &Tables) -> Vec<u8> {
        let c = &self.capture;
        let mut h = Vec::with_capacity(HEADER_SIZE as usize);
        h.extend_from_slice(b"PML_");
        h.extend_from_slice(&9u32.to_le_bytes());
        h.extend_from_slice(&u32::from(c.is_64bit).to_le_bytes());
        let fixed = |s: &str, n: usize| {
            let mut u = utf16(s);
            u.resize(n, 0);
            u
        };
        h.extend_from_slice(&fixed(&c.computer_name, 0x20));
        h.extend_from_slice(&fixed(&c.system_root, 0x208));
        h.extend_from_slice(&(self.offsets.len() as u32).to_le_bytes());
        h.extend_from_slice(&0u64.to_le_bytes());
        let events = if t.offsets_array == 0 { 0 } else { HEADER_SIZE };
        for v in [events, t.offsets_array, t.process_table, t.strings, t.icons] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        let max_user: u64 = if c.is_64bit {
            0x7FFF_FFFE_FFFF
        } else {
            0x7FFE_FFFF
        };
        h.extend_from_slice(&max_user.to_le_bytes());
        for v in [284u32, c.os_major, c.os_minor, c.os_build, 2] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&[0u8; 0x100]);
        h.extend_from_slice(&[0u8; 6]);
        h.push(1); // VER_NT_WORKSTATION
        h.push(0);
        h.extend_from_slice(&c.processors.to_le_bytes());
        h.extend_from_slice(&c.memory_bytes.to_le_bytes());
        h.extend_from_slice(&HEADER_SIZE.to_le_bytes());
        h.extend_from_slice(&t.hosts_ports.to_le_bytes());
        h
    }
}

#[derive(Default)]
struct Tables {
    bytes: Vec<u8>,
    offsets_array: u64,
    process_table: u64,
    strings: u64,
    icons: u64,
    hosts_ports: u64,
}

/// What [`write_boot_log`] wrote.
#[derive(Clone, Debug)]
pub struct BootLogSummary {
    pub events: usize,
    pub bytes: u64,
    pub drivers: Vec<String>,
}

/// 2026-06-05 06:42:00 UTC as a FILETIME: the synthetic boot's start.
pub const BOOT_TIME: u64 = 134_250_229_200_000_000;

const KERNEL_BASE: u64 = 0xFFFF_F800_0000_0000;

/// The kernel base and size of driver `k` in the synthetic module list.
pub fn driver_range(k: usize) -> (u64, u32) {
    (
        KERNEL_BASE + 0x0100_0000 + (k as u64) * 0x0010_0000,
        0x8_0000,
    )
}

/// Writes a boot-log-like capture of `n_events` events: System (PID 4) with ntoskrnl and one
/// module per driver, then rounds of, per driver: Load Image of `C:\Windows\System32\drivers\
/// <name>.sys`, RegOpenKey of `HKLM\System\CurrentControlSet\Services\<name>`, RegQueryValue of
/// its Start and ImagePath, a CreateFile of its image, and a failing CreateFile of a catalog
/// (NAME NOT FOUND); stacks pass through ntoskrnl and the driver. Drivers are given by name
/// (`filecrypt` or `filecrypt.sys`).
pub fn write_boot_log(
    path: &Path,
    n_events: usize,
    drivers: &[&str],
) -> io::Result<BootLogSummary> {
    let mut w = PmlWriter::create(path, Capture::default())?;
    let names: Vec<String> = if drivers.is_empty() {
        vec!["disk".into()]
    } else {
        drivers
            .iter()
            .map(|d| {
                d.trim_end_matches(".sys")
                    .trim_end_matches(".SYS")
                    .to_string()
            })
            .collect()
    };
    let system = w.add_process(ProcessSpec::system(BOOT_TIME));
    w.add_module(
        system,
        ModuleSpec {
            base: KERNEL_BASE,
            size: 0x0100_0000,
            path: "C:\\Windows\\system32\\ntoskrnl.exe".into(),
            version: "10.0.19041.1 (WinBuild.160101.0800)".into(),
            company: "Microsoft Corporation".into(),
            description: "NT Kernel & System".into(),
            timestamp: 0x5f5e_1000,
        },
    );
    for (k, n) in names.iter().enumerate() {
        let (base, size) = driver_range(k);
        w.add_module(
            system,
            ModuleSpec {
                base,
                size,
                path: format!("C:\\Windows\\System32\\drivers\\{n}.sys"),
                version: "10.0.19041.1".into(),
                company: "Microsoft Corporation".into(),
                description: format!("{n} driver"),
                timestamp: 0x6000_0000 + k as u32,
            },
        );
    }
    let smss = w.add_process(ProcessSpec {
        pid: 356,
        parent_pid: 4,
        name: "smss.exe".into(),
        image_path: "C:\\Windows\\System32\\smss.exe".into(),
        command_line: "\\SystemRoot\\System32\\smss.exe".into(),
        user: "NT AUTHORITY\\SYSTEM".into(),
        integrity: "System".into(),
        is_64bit: true,
        authentication_id: 0x3e7,
        start_time: BOOT_TIME + 5_000_000,
        ..Default::default()
    });
    let mut time = BOOT_TIME;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut i = 0usize;
    'outer: loop {
        for (k, n) in names.iter().enumerate() {
            let (base, size) = driver_range(k);
            let image = format!("C:\\Windows\\System32\\drivers\\{n}.sys");
            let service = format!("HKLM\\System\\CurrentControlSet\\Services\\{n}");
            for step in 0..6 {
                if i >= n_events {
                    break 'outer;
                }
                let r = next();
                time += 1 + r % 200;
                let stack = vec![
                    KERNEL_BASE + 0x1000 + (r >> 20) % 0x10_0000,
                    base + (r >> 40) % u64::from(size),
                    KERNEL_BASE + 0x2_0000 + (r >> 8) % 0x1000,
                ];
                let mut ev = EventSpec {
                    process: if step == 5 && r % 4 == 0 {
                        smss
                    } else {
                        system
                    },
                    tid: 8 + (r % 64) as u32 * 4,
                    time,
                    duration: r % 500,
                    result: status::SUCCESS,
                    stack,
                };
                match step {
                    0 => w.load_image(&ev, &image, base, size)?,
                    1 => w.reg_open_key(&ev, &service, 0x20019)?,
                    2 => w.reg_query_value(
                        &ev,
                        &format!("{service}\\Start"),
                        Some(&RegData::Dword((r % 5) as u32)),
                    )?,
                    3 => w.reg_query_value(
                        &ev,
                        &format!("{service}\\ImagePath"),
                        Some(&RegData::ExpandSz(format!(
                            "\\SystemRoot\\System32\\drivers\\{n}.sys"
                        ))),
                    )?,
                    4 => w.create_file(&ev, &image, 0x120089, 1, 0x60, 1, Some(1))?,
                    _ => {
                        ev.result = status::NAME_NOT_FOUND;
                        w.create_file(
                            &ev,
                            &format!(
                                "C:\\Windows\\System32\\CatRoot\\{{F750E6C3-38EE-11D1-85E5-00C04FC295EE}}\\{n}-{}.cat",
                                r % 1000
                            ),
                            0x120089,
                            1,
                            0x60,
                            7,
                            None,
                        )?
                    }
                }
                i += 1;
            }
        }
    }
    let events = w.len();
    w.finish()?;
    Ok(BootLogSummary {
        events,
        bytes: std::fs::metadata(path)?.len(),
        drivers: names,
    })
}
