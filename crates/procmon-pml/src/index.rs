//! The column index: one pass over the event headers builds compact columns (time, process
//! slot, thread, operation id, result id, interned path id) that serve filtering and sorting
//! without decoding events: 22 bytes per event plus the distinct paths. (A Duration rule reads
//! the event header in the map instead: it is rare, and a column would cost 4 bytes an event.) The pass runs
//! on every core (rayon), each chunk interning its own paths, then merges.

use super::event::{PathRef, path_of, utf16_to_string};
use super::format::{self, EVENT_HEADER_SIZE};
use super::{PmlFile, PmlLog, names};
use rayon::prelude::*;
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
pub const NO_PROCESS: u16 = u16::MAX;
/// Operation id of events whose header could not be read.
pub const NO_OP: u16 = u16::MAX;

/// Compact columns over every event of a log, in event order.
pub struct EventIndex {
    /// FILETIME, UTC.
    pub time: Vec<u64>,
    /// Process slot ([`NO_PROCESS`] when the record is missing).
    pub process: Vec<u16>,
    pub tid: Vec<u32>,
    /// Index into `ops` ([`NO_OP`] for unreadable events).
    pub op: Vec<u16>,
    /// Index into `results`.
    pub result: Vec<u16>,
    /// Index into `paths`; 0 is the empty path.
    pub path: Vec<u32>,
    pub ops: Vec<OpKey>,
    pub results: Vec<u32>,
    pub paths: Vec<Box<str>>,
    /// Events whose header could not be read (their columns hold zeros).
    pub unreadable: Vec<usize>,
}

/// Mutable views of one chunk's rows in the final columns.
struct Rows<'a> {
    time: &'a mut [u64],
    process: &'a mut [u16],
    tid: &'a mut [u32],
    op: &'a mut [u16],
    result: &'a mut [u16],
    path: &'a mut [u32],
}

/// What a chunk interned, with chunk-local ids (the rows hold these ids until remapped).
#[derive(Default)]
struct Tables {
    ops: Vec<OpKey>,
    results: Vec<u32>,
    paths: Vec<Box<str>>,
    unreadable: Vec<usize>,
}

fn index_chunk(
    file: &PmlFile,
    range: std::ops::Range<usize>,
    first_number: usize,
    rows: Rows,
) -> Tables {
    let mut t = Tables {
        paths: vec![Box::from("")],
        ..Tables::default()
    };
    let mut path_ids: FastMap<Box<[u8]>, u32> = FastMap::default();
    path_ids.insert(Box::from(&b""[..]), 0);
    let mut op_ids: FastMap<OpKey, u16> = FastMap::default();
    let mut result_ids: FastMap<u32, u16> = FastMap::default();
    let b = file.bytes();
    let ptr = file.pointer_size();
    for (k, local) in range.enumerate() {
        let parsed = file
            .event_offset(local)
            .and_then(|off| Some((off, format::event_header(b.get(off..)?).ok()?.1)));
        let Some((off, h)) = parsed else {
            t.unreadable.push(first_number + k);
            rows.process[k] = NO_PROCESS;
            rows.op[k] = NO_OP;
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
        let tcp = h.class == names::CLASS_NETWORK && detail.first().is_some_and(|f| f & 4 != 0);
        let key = OpKey {
            class: h.class,
            operation: h.operation,
            sub,
            tcp,
        };
        let op = *op_ids.entry(key).or_insert_with(|| {
            t.ops.push(key);
            u16::try_from(t.ops.len() - 1).unwrap_or(NO_OP)
        });
        let result = *result_ids.entry(h.result).or_insert_with(|| {
            t.results.push(h.result);
            u16::try_from(t.results.len() - 1).unwrap_or(u16::MAX)
        });
        let (p, _) = path_of(file, &h, detail);
        let scratch: String;
        let bytes: &[u8] = match &p {
            PathRef::Empty => b"",
            PathRef::Narrow(s) if s.is_ascii() => s,
            PathRef::Narrow(s) => {
                scratch = s.iter().map(|&ch| char::from(ch)).collect();
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
                let id = t.paths.len() as u32;
                t.paths
                    .push(String::from_utf8_lossy(bytes).into_owned().into_boxed_str());
                path_ids.insert(Box::from(bytes), id);
                id
            }
        };
        rows.time[k] = h.timestamp;
        rows.process[k] = file
            .process_slot(h.process_index)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(NO_PROCESS);
        rows.tid[k] = h.tid;
        rows.op[k] = op;
        rows.result[k] = result;
        rows.path[k] = path;
    }
    t
}

/// Events per parallel chunk: large enough that merging is cheap.
const CHUNK: usize = 1 << 18;

/// Splits `v` into consecutive mutable pieces of the given lengths.
fn split_lengths<'a, T>(mut v: &'a mut [T], lens: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(lens.len());
    for &n in lens {
        let n = n.min(v.len());
        let (a, rest) = std::mem::take(&mut v).split_at_mut(n);
        out.push(a);
        v = rest;
    }
    out
}

impl EventIndex {
    /// One pass over every event header and path, in parallel chunks that write straight
    /// into the final columns (no second copy), then a merge of the chunks' interned tables.
    pub fn build(log: &PmlLog) -> EventIndex {
        let mut jobs = Vec::new();
        let mut number = 0usize;
        for file in log.files() {
            let mut start = 0;
            while start < file.len() {
                let end = (start + CHUNK).min(file.len());
                jobs.push((file, start..end, number + start));
                start = end;
            }
            number += file.len();
        }
        let n = log.len();
        let lens: Vec<usize> = jobs.iter().map(|j| j.1.len()).collect();
        let mut ix = EventIndex {
            time: vec![0; n],
            process: vec![0; n],
            tid: vec![0; n],
            op: vec![0; n],
            result: vec![0; n],
            path: vec![0; n],
            ops: Vec::new(),
            results: Vec::new(),
            paths: vec![Box::from("")],
            unreadable: Vec::new(),
        };
        let tables: Vec<Tables> = {
            let parts = split_lengths(&mut ix.time, &lens)
                .into_iter()
                .zip(split_lengths(&mut ix.process, &lens))
                .zip(split_lengths(&mut ix.tid, &lens))
                .zip(split_lengths(&mut ix.op, &lens))
                .zip(split_lengths(&mut ix.result, &lens))
                .zip(split_lengths(&mut ix.path, &lens))
                .map(|(((((time, process), tid), op), result), path)| Rows {
                    time,
                    process,
                    tid,
                    op,
                    result,
                    path,
                });
            jobs.into_iter()
                .zip(parts)
                .collect::<Vec<_>>()
                .into_par_iter()
                .map(|((f, r, first), rows)| index_chunk(f, r, first, rows))
                .collect()
        };
        // Merge the chunks' tables: chunk-local id → global id.
        let mut path_ids: FastMap<Box<str>, u32> = FastMap::default();
        path_ids.insert(Box::from(""), 0);
        let mut op_ids: FastMap<OpKey, u16> = FastMap::default();
        let mut result_ids: FastMap<u32, u16> = FastMap::default();
        let mut maps = Vec::with_capacity(tables.len());
        for t in tables {
            let path_map: Vec<u32> = t
                .paths
                .into_iter()
                .map(|p| match path_ids.get(&p) {
                    Some(&id) => id,
                    None => {
                        let id = ix.paths.len() as u32;
                        ix.paths.push(p.clone());
                        path_ids.insert(p, id);
                        id
                    }
                })
                .collect();
            let op_map: Vec<u16> = t
                .ops
                .iter()
                .map(|k| {
                    *op_ids.entry(*k).or_insert_with(|| {
                        ix.ops.push(*k);
                        u16::try_from(ix.ops.len() - 1).unwrap_or(NO_OP)
                    })
                })
                .collect();
            let result_map: Vec<u16> = t
                .results
                .iter()
                .map(|r| {
                    *result_ids.entry(*r).or_insert_with(|| {
                        ix.results.push(*r);
                        u16::try_from(ix.results.len() - 1).unwrap_or(u16::MAX)
                    })
                })
                .collect();
            ix.unreadable.extend(t.unreadable);
            maps.push((op_map, result_map, path_map));
        }
        drop(path_ids);
        split_lengths(&mut ix.op, &lens)
            .into_iter()
            .zip(split_lengths(&mut ix.result, &lens))
            .zip(split_lengths(&mut ix.path, &lens))
            .zip(maps)
            .collect::<Vec<_>>()
            .into_par_iter()
            .for_each(
                |(((ops, results), paths), (op_map, result_map, path_map))| {
                    for o in ops.iter_mut() {
                        *o = op_map.get(usize::from(*o)).copied().unwrap_or(NO_OP);
                    }
                    for r in results.iter_mut() {
                        *r = result_map.get(usize::from(*r)).copied().unwrap_or(0);
                    }
                    for p in paths.iter_mut() {
                        *p = path_map.get(*p as usize).copied().unwrap_or(0);
                    }
                },
            );
        if ix.results.is_empty() {
            ix.results.push(0);
        }
        ix
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

    /// The process slot of event `i`.
    pub fn process_of(&self, i: usize) -> Option<u32> {
        self.process
            .get(i)
            .filter(|&&p| p != NO_PROCESS)
            .map(|&p| u32::from(p))
    }

    /// The result code of event `i`.
    pub fn result_of(&self, i: usize) -> u32 {
        self.result
            .get(i)
            .and_then(|&r| self.results.get(usize::from(r)))
            .copied()
            .unwrap_or(0)
    }

    /// The first event at or after `filetime` (events are time-ordered within a file).
    pub fn first_at_or_after(&self, filetime: u64) -> usize {
        self.time.partition_point(|&t| t < filetime)
    }

    /// Heap bytes held by the index (columns and distinct paths), for memory budgets.
    pub fn heap_bytes(&self) -> usize {
        self.time.capacity() * 8
            + self.process.capacity() * 2
            + self.tid.capacity() * 4
            + self.op.capacity() * 2
            + self.result.capacity() * 2
            + self.path.capacity() * 4
            + self.paths.iter().map(|p| p.len() + 16).sum::<usize>()
            + self.ops.capacity() * std::mem::size_of::<OpKey>()
            + self.results.capacity() * 4
    }
}
