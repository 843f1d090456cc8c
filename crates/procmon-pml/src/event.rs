//! One decoded event (docs/formats/pml.md §9) and where its path lives in the detail blob.

use super::format::{self, EVENT_HEADER_SIZE, EventHeader};
use super::names::{self, fs_op, proc_op, reg_op};
use super::{PmlError, PmlFile, PmlLog, detail};
use serde::Serialize;
use std::borrow::Cow;

/// A decoded event: raw values beside the texts Procmon shows.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Global event number across the chain.
    pub number: usize,
    /// File of the chain the event is in, and its offset there.
    pub file: usize,
    pub offset: u64,
    /// Process slot in [`PmlLog::processes`], `None` when the record is missing.
    pub process: Option<u32>,
    pub process_index: u32,
    pub tid: u32,
    /// Event class code (1 Process, 2 Registry, 3 File System, 4 Profiling, 5 Network).
    pub class: u32,
    pub operation: u16,
    /// File-system sub-operation byte (0 for other classes).
    pub sub_operation: u8,
    /// The Operation column.
    pub operation_name: String,
    /// 100 ns ticks.
    pub duration: u64,
    /// FILETIME, UTC.
    pub timestamp: u64,
    /// NTSTATUS.
    pub result: u32,
    /// The Path column.
    pub path: String,
    /// The Category column (Read, Write, Read Metadata, Write Metadata or empty).
    pub category: String,
    /// The Detail column as (key, value) pairs, rendered as Procmon's CSV does.
    pub details: Vec<(Cow<'static, str>, String)>,
    /// Return addresses, innermost first.
    pub stack: Vec<u64>,
    /// Image base and size of a Load Image event.
    pub image: Option<ImageLoad>,
}

/// The image of a Load Image event.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct ImageLoad {
    pub base: u64,
    pub size: u32,
}

/// A stack frame resolved to module + offset.
#[derive(Clone, Debug, Serialize)]
pub struct Frame {
    pub address: u64,
    /// Above the capture's highest user address.
    pub kernel: bool,
    /// Path of the module containing the address.
    pub module: Option<String>,
    pub offset: Option<u64>,
}

impl Frame {
    /// `ntoskrnl.exe+0x1a2b3` or the bare address.
    pub fn label(&self) -> String {
        match (&self.module, self.offset) {
            (Some(m), Some(o)) => {
                let name = m.rsplit(['\\', '/']).next().unwrap_or(m);
                format!("{name}+0x{o:x}")
            }
            _ => format!("0x{:x}", self.address),
        }
    }
}

impl Event {
    /// The Result column.
    pub fn result_text(&self) -> Cow<'static, str> {
        names::result_text(self.result)
    }

    /// The Event Class column.
    pub fn class_name(&self) -> Option<&'static str> {
        names::class_name(self.class)
    }

    /// The Detail column: `Key: value` pairs joined by ", ".
    pub fn detail_text(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.details {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(k);
            s.push_str(": ");
            s.push_str(v);
        }
        s
    }

    /// The value of one detail key.
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Where an event's path is: borrowed bytes of the blob or a built string.
#[derive(Debug)]
pub enum PathRef<'a> {
    Empty,
    /// 8-bit characters (Procmon's "ASCII" strings; bytes ≥ 0x80 read as Latin-1).
    Narrow(&'a [u8]),
    Utf16(&'a [u8]),
    Owned(String),
}

/// Decodes 8-bit characters (ASCII; other bytes as Latin-1, never failing).
pub fn narrow_to_string(b: &[u8]) -> String {
    if b.is_ascii() {
        // Cannot fail: ASCII is UTF-8.
        String::from_utf8_lossy(b).into_owned()
    } else {
        b.iter().map(|&c| char::from(c)).collect()
    }
}

/// Decodes UTF-16LE without stopping at NUL (lossy; an odd last byte is ignored).
pub fn utf16_to_string(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

impl PathRef<'_> {
    /// The path as text.
    pub fn to_text(&self) -> String {
        match self {
            PathRef::Empty => String::new(),
            PathRef::Narrow(b) => narrow_to_string(b),
            PathRef::Utf16(b) => utf16_to_string(b),
            PathRef::Owned(s) => s.clone(),
        }
    }
}

/// A detail string's info word (§10): bit 15 = 8-bit characters, bits 0–14 = count.
/// Returns (is_narrow, byte length).
#[inline]
pub fn string_info(info: u16) -> (bool, usize) {
    let n = usize::from(info & 0x7fff);
    if info & 0x8000 != 0 {
        (true, n)
    } else {
        (false, n * 2)
    }
}

#[inline]
fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// A detail string at `at` whose info word is at `info_at`.
#[inline]
fn string_ref(detail: &[u8], info_at: usize, at: usize) -> Option<(PathRef<'_>, usize)> {
    let (narrow, len) = string_info(u16_at(detail, info_at)?);
    let bytes = detail.get(at..at.checked_add(len)?)?;
    let r = if len == 0 {
        PathRef::Empty
    } else if narrow {
        PathRef::Narrow(bytes)
    } else {
        PathRef::Utf16(bytes)
    };
    Some((r, at + len))
}

/// Offset of the registry path string after the per-operation fields (§12.7).
pub fn registry_path_start(op: u16) -> usize {
    match op {
        reg_op::LOAD_KEY | reg_op::RENAME_KEY => 4,
        reg_op::OPEN_KEY | reg_op::CREATE_KEY => 8,
        reg_op::QUERY_KEY | reg_op::QUERY_VALUE => 12,
        reg_op::ENUM_VALUE | reg_op::ENUM_KEY | reg_op::SET_INFO_KEY | reg_op::SET_VALUE => 16,
        _ => 2,
    }
}

/// Size of the file-system parameter block (§12.6): 5 pointers + 0x14.
pub fn fs_block_size(ptr: usize) -> usize {
    5 * ptr + 0x14
}

/// The Path column of an event from its header and detail blob; shared by the decoder and
/// the index so that both agree. Also returns where the path string ends in the blob.
pub fn path_of<'a>(
    file: &PmlFile,
    h: &EventHeader,
    detail: &'a [u8],
) -> (PathRef<'a>, Option<usize>) {
    let ptr = file.pointer_size();
    let found = match h.class {
        names::CLASS_FILE_SYSTEM | names::CLASS_IPC => {
            let info_at = 4 + fs_block_size(ptr);
            string_ref(detail, info_at, info_at + 4).map(|(p, end)| {
                let sub = detail.first().copied().unwrap_or(0);
                if h.operation == fs_op::DIRECTORY_CONTROL && sub == 1 {
                    // QueryDirectory: the filter string follows and extends the path.
                    if let Some((filter, _)) = string_ref(detail, end, end + 2) {
                        let f = filter.to_text();
                        if !f.is_empty() {
                            let mut s = p.to_text();
                            if !s.ends_with('\\') {
                                s.push('\\');
                            }
                            s.push_str(&f);
                            return (PathRef::Owned(s), end);
                        }
                    }
                }
                (p, end)
            })
        }
        names::CLASS_REGISTRY => string_ref(detail, 0, registry_path_start(h.operation)),
        names::CLASS_PROCESS => match h.operation {
            proc_op::LOAD_IMAGE => string_ref(detail, ptr + 4, ptr + 8),
            proc_op::PROCESS_CREATE | proc_op::PROCESS_DEFINED => {
                let a = usize::from(detail.get(0x2C).copied().unwrap_or(0));
                let b = usize::from(detail.get(0x2D).copied().unwrap_or(0));
                string_ref(detail, 0x2E, 0x34 + a + b)
            }
            _ => None,
        },
        names::CLASS_PROFILING if h.operation == 0 => {
            Some((PathRef::Owned(format!("Thread {}", h.tid)), 0))
        }
        names::CLASS_NETWORK => network_path(file, detail).map(|p| (PathRef::Owned(p), 0)),
        _ => None,
    };
    match found {
        Some((p, end)) => (p, Some(end)),
        None => (PathRef::Empty, None),
    }
}

/// "host:port -> host:port" of a network event (§12.8).
fn network_path(file: &PmlFile, d: &[u8]) -> Option<String> {
    let flags = u16_at(d, 0)?;
    let tcp = flags & 4 != 0;
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(d.get(8..24)?);
    dst.copy_from_slice(d.get(24..40)?);
    let sport = u16_at(d, 40)?;
    let dport = u16_at(d, 42)?;
    Some(format!(
        "{}:{} -> {}:{}",
        file.host_name(&src, flags & 1 != 0),
        file.port_name(sport, tcp),
        file.host_name(&dst, flags & 2 != 0),
        file.port_name(dport, tcp)
    ))
}

/// The raw parts of an event: header, stack bytes, detail blob and extra-detail blob.
pub struct RawEvent<'a> {
    pub header: EventHeader,
    pub stack: &'a [u8],
    pub detail: &'a [u8],
    pub extra: Option<&'a [u8]>,
}

/// Splits the event at `off` into its parts, bounds-checked.
pub fn raw_event(file: &PmlFile, off: usize) -> Result<RawEvent<'_>, PmlError> {
    let b = file.bytes();
    let err = |offset: usize, expected: &str| PmlError::Format {
        path: file.path.clone(),
        offset: offset as u64,
        expected: expected.to_string(),
    };
    let (_, header) = b
        .get(off..)
        .and_then(|s| format::event_header(s).ok())
        .ok_or_else(|| err(off, "a 0x34-byte event header"))?;
    let ptr = file.pointer_size();
    let stack_start = off + EVENT_HEADER_SIZE;
    let stack_len = ptr * usize::from(header.stack_depth);
    let stack = b
        .get(stack_start..stack_start + stack_len)
        .ok_or_else(|| err(stack_start, "the event's stack frames"))?;
    let d_start = stack_start + stack_len;
    let detail = b
        .get(d_start..d_start + header.detail_size as usize)
        .ok_or_else(|| err(d_start, "the event's detail blob"))?;
    let extra = if header.extra_offset != 0 {
        let x = off + header.extra_offset as usize;
        let size = u16_at(b, x).ok_or_else(|| err(x, "the extra-detail size"))?;
        Some(
            b.get(x + 2..x + 2 + usize::from(size))
                .ok_or_else(|| err(x + 2, "the extra-detail blob"))?,
        )
    } else {
        None
    };
    Ok(RawEvent {
        header,
        stack,
        detail,
        extra,
    })
}

/// Decodes local event `local` of file `f` as global event `number`.
pub fn decode(log: &PmlLog, f: usize, local: usize, number: usize) -> Result<Event, PmlError> {
    let file = log.files.get(f).ok_or(PmlError::NoSuchEvent {
        number,
        count: log.len(),
    })?;
    let off = file.event_offset(local).ok_or_else(|| PmlError::Format {
        path: file.path.clone(),
        offset: 0,
        expected: format!("an entry for event {local} in the event-offset array"),
    })?;
    let raw = raw_event(file, off)?;
    let h = raw.header;
    let ptr = file.pointer_size();
    let stack = raw
        .stack
        .chunks_exact(ptr)
        .map(|c| {
            if ptr == 8 {
                u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
            } else {
                u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            }
        })
        .collect();
    let sub = if h.class == names::CLASS_FILE_SYSTEM || h.class == names::CLASS_IPC {
        raw.detail.first().copied().unwrap_or(0)
    } else {
        0
    };
    let tcp = h.class == names::CLASS_NETWORK && u16_at(raw.detail, 0).is_some_and(|f| f & 4 != 0);
    let (path, path_end) = path_of(file, &h, raw.detail);
    let mut ev = Event {
        number,
        file: f,
        offset: off as u64,
        process: file.process_slot(h.process_index),
        process_index: h.process_index,
        tid: h.tid,
        class: h.class,
        operation: h.operation,
        sub_operation: sub,
        operation_name: names::operation_text(h.class, h.operation, sub, tcp).into_owned(),
        duration: h.duration,
        timestamp: h.timestamp,
        result: h.result,
        path: path.to_text(),
        category: String::new(),
        details: Vec::new(),
        stack,
        image: None,
    };
    detail::decode(
        file,
        log.render_options(),
        &mut ev,
        raw.detail,
        raw.extra,
        path_end,
    );
    // Procmon shows the account of an impersonation SID, not the SID.
    for (k, v) in ev.details.iter_mut() {
        if k == "Impersonating"
            && let Some(name) = log.account_name(v)
        {
            *v = name.to_string();
        }
    }
    Ok(ev)
}
