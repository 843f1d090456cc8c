//! The column index: one pass over the event headers builds compact columns (time, process
//! slot, thread, operation id, result, interned path id) that serve filtering and sorting
//! without decoding events. About 30 bytes per event plus the distinct paths.

use super::PmlLog;
use super::event::{PathRef, path_of, utf16_to_string};
use super::format::{self, EVENT_HEADER_SIZE};
use super::names;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small multiplicative hasher (FxHash's constant): paths are hashed once per event, and
/// SipHash would dominate the index pass.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        self.0 = h;
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// An operation as the Operation column distinguishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpKey {
    pub class: u32,
    pub operation: u16,
    /// File-system sub-operation (0 when not applicable).
    pub sub: u8,
    /// Network: TCP (true) or UDP.
    pub tcp: bool,
}

impl OpKey {
    /// The Operation column text.
    pub fn name(&self) -> String {
        names::operation_text(self.class, self.operation, self.sub, self.tcp).into_owned()
    }
}

/// Process slot stored for events whose process record is missing.
pub const NO_PROCESS: u32 = u32::MAX;

/// Compact columns over every event of a log, in event order.
pub struct EventIndex {
    pub time: Vec<u64>,
    /// Duration in 100 ns ticks, saturated at u32::MAX (~7 minutes) to keep the index small.
    pub duration: Vec<u32>,
    pub process: Vec<u32>,
    pub tid: Vec<u32>,
    pub op: Vec<u16>,
    pub result: Vec<u32>,
    pub path: Vec<u32>,
    /// Distinct operations; `op` values index it.
    pub ops: Vec<OpKey>,
    /// Distinct paths; `path` values index it. Id 0 is the empty path.
    pub paths: Vec<Box<str>>,
    /// Events whose header could not be read (their columns hold zeros).
    pub unreadable: Vec<usize>,
}

impl EventIndex {
    /// One pass over every event header and path.
    pub fn build(log: &PmlLog) -> EventIndex {
        let n = log.len();
        let mut ix = EventIndex {
            time: Vec::with_capacity(n),
            duration: Vec::with_capacity(n),
            process: Vec::with_capacity(n),
            tid: Vec::with_capacity(n),
            op: Vec::with_capacity(n),
            result: Vec::with_capacity(n),
            path: Vec::with_capacity(n),
            ops: Vec::new(),
            paths: vec![Box::from("")],
            unreadable: Vec::new(),
        };
        let mut path_ids: FastMap<Box<[u8]>, u32> = FastMap::default();
        path_ids.insert(Box::from(&b""[..]), 0);
        let mut op_ids: FastMap<OpKey, u16> = FastMap::default();
        for file in log.files() {
            let b = file.bytes();
            let ptr = file.pointer_size();
            for local in 0..file.len() {
                let number = ix.time.len();
                let parsed = file
                    .event_offset(local)
                    .and_then(|off| Some((off, format::event_header(b.get(off..)?).ok()?.1)));
                let Some((off, h)) = parsed else {
                    ix.push_blank(number);
                    continue;
                };
                let d_start = off + EVENT_HEADER_SIZE + ptr * usize::from(h.stack_depth);
                let detail = b
                    .get(d_start..d_start.saturating_add(h.detail_size as usize))
                    .unwrap_or_default();
                let is_fs = h.class == names::CLASS_FILE_SYSTEM || h.class == names::CLASS_IPC;
                let sub = if is_fs && names::has_sub_operations(h.operation) {
                    detail.first().copied().unwrap_or(0)
                } else {
                    0
                };
                let tcp =
                    h.class == names::CLASS_NETWORK && detail.first().is_some_and(|f| f & 4 != 0);
                let key = OpKey {
                    class: h.class,
                    operation: h.operation,
                    sub,
                    tcp,
                };
                let op = match op_ids.get(&key) {
                    Some(&id) => id,
                    None => {
                        let id = u16::try_from(ix.ops.len()).unwrap_or(u16::MAX);
                        if id != u16::MAX {
                            ix.ops.push(key);
                            op_ids.insert(key, id);
                        }
                        id
                    }
                };
                let (p, _) = path_of(file, &h, detail);
                let scratch: String;
                let bytes: &[u8] = match &p {
                    PathRef::Empty => b"",
                    PathRef::Narrow(s) if s.is_ascii() => s,
                    PathRef::Narrow(s) => {
                        scratch = s.iter().map(|&c| char::from(c)).collect();
                        scratch.as_bytes()
                    }
                    PathRef::Utf16(s) => {
                        scratch = utf16_to_string(s);
                        scratch.as_bytes()
                    }
                    PathRef::Owned(s) => s.as_bytes(),
                };
                let path = match path_ids.get(bytes) {
                    Some(&id) => id,
                    None => {
                        let id = ix.paths.len() as u32;
                        let text = String::from_utf8_lossy(bytes).into_owned();
                        ix.paths.push(text.into_boxed_str());
                        path_ids.insert(Box::from(bytes), id);
                        id
                    }
                };
                ix.time.push(h.timestamp);
                ix.duration
                    .push(u32::try_from(h.duration).unwrap_or(u32::MAX));
                ix.process
                    .push(file.process_slot(h.process_index).unwrap_or(NO_PROCESS));
                ix.tid.push(h.tid);
                ix.op.push(op);
                ix.result.push(h.result);
                ix.path.push(path);
            }
        }
        ix
    }

    fn push_blank(&mut self, number: usize) {
        self.unreadable.push(number);
        self.time.push(0);
        self.duration.push(0);
        self.process.push(NO_PROCESS);
        self.tid.push(0);
        self.op.push(u16::MAX);
        self.result.push(0);
        self.path.push(0);
    }

    /// Number of indexed events.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Whether no event is indexed.
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// The path of event `i`.
    pub fn path_of(&self, i: usize) -> &str {
        self.path
            .get(i)
            .and_then(|&p| self.paths.get(p as usize))
            .map_or("", |s| s)
    }

    /// The operation of event `i`.
    pub fn op_of(&self, i: usize) -> Option<OpKey> {
        self.op
            .get(i)
            .and_then(|&o| self.ops.get(usize::from(o)))
            .copied()
    }

    /// The first event at or after `filetime` (events are time-ordered within a file).
    pub fn first_at_or_after(&self, filetime: u64) -> usize {
        self.time.partition_point(|&t| t < filetime)
    }

    /// Heap bytes held by the index (columns and distinct paths), for memory budgets.
    pub fn heap_bytes(&self) -> usize {
        self.time.capacity() * 8
            + self.duration.capacity() * 4
            + self.process.capacity() * 4
            + self.tid.capacity() * 4
            + self.op.capacity() * 2
            + self.result.capacity() * 4
            + self.path.capacity() * 4
            + self.paths.iter().map(|p| p.len() + 16).sum::<usize>()
            + self.ops.capacity() * std::mem::size_of::<OpKey>()
    }
}
