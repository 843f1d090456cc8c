//! Transaction log replay for dirty hives (`SYSTEM.LOG1`, `SYSTEM.LOG2`, `SYSTEM.LOG`).
//!
//! Format (regf specification, "Transaction log files"): a log starts with a copy of the base
//! block (512 bytes). The new format (Windows 8.1 and later) follows it with log entries:
//! +0x00 "HvLE", +0x04 size (multiple of 512), +0x08 flags, +0x0C sequence number,
//! +0x10 hive bins size, +0x14 dirty page count, +0x18 hash-1, +0x20 hash-2, +0x28 dirty page
//! references (offset, size; relative to the first hive bin), then the pages in order.
//! Hash-1 is Marvin32 of the entry from +0x28 to its end, hash-2 Marvin32 of its first 32
//! bytes, both with the seed [`LOG_SEED`]. The old format (up to Windows 8) has "DIRT" at 512,
//! a bitmap with one bit per 512-byte sector of the hive bins, then the dirty sectors from the
//! next 512-byte boundary.

use super::regf::{BASE_BLOCK_LEN, BaseBlock, FILE_TYPE_LOG_NEW, parse_base_block};
use crate::le::u32_at;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Marvin32 seed used by the registry's log entries.
pub const LOG_SEED: u64 = 0x82EF_4D88_7A4E_55C5;
const ENTRY_HEADER: usize = 40;
/// A hive larger than this is not believed (the log would be corrupt).
const MAX_HBINS: u32 = 0x4000_0000;

/// Marvin32 (the .NET / SymCrypt string hash), 64-bit result `hi << 32 | lo`.
pub fn marvin32(data: &[u8], seed: u64) -> u64 {
    let mut lo = seed as u32;
    let mut hi = (seed >> 32) as u32;
    let mut mix = |v: u32| {
        lo = lo.wrapping_add(v);
        hi ^= lo;
        lo = lo.rotate_left(20).wrapping_add(hi);
        hi = hi.rotate_left(9) ^ lo;
        lo = lo.rotate_left(27).wrapping_add(hi);
        hi = hi.rotate_left(19);
    };
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        mix(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    }
    let tail = blocks.remainder();
    let last = tail
        .iter()
        .rev()
        .fold(0x80u32, |acc, &b| (acc << 8) | u32::from(b));
    mix(last);
    mix(0);
    ((hi as u64) << 32) | lo as u64
}

/// The transaction logs that sit beside `path`: `<name>.LOG1`, `<name>.LOG2`, `<name>.LOG`,
/// matched case-insensitively (a case folder copied from Windows keeps its spelling).
pub fn logs_beside(path: &Path) -> Vec<PathBuf> {
    let Some(dir) = path.parent() else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(usize, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        for (rank, ext) in ["LOG1", "LOG2", "LOG"].iter().enumerate() {
            if file.eq_ignore_ascii_case(&format!("{name}.{ext}")) {
                found.push((rank, entry.path()));
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// Which of the two log formats a log is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// "HvLE" log entries (Windows 8.1 and later).
    New,
    /// A "DIRT" dirty vector and 512-byte dirty pages (Windows XP to 8).
    Old,
}

impl LogFormat {
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::New => "new format, HvLE entries",
            LogFormat::Old => "old format, DIRT vector",
        }
    }
}

/// How one transaction log beside a dirty hive was used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogUse {
    pub path: PathBuf,
    /// `None` when the file holds neither format (empty, unused, damaged).
    pub format: Option<LogFormat>,
    /// The sequence number of the log's own base block: for the new format, the number its
    /// first entry must carry.
    pub base_sequence: Option<u32>,
    /// Whether any of its data went into the recovered hive.
    pub applied: bool,
    /// When it was applied: 1 for the first log applied, 2 for the one continuing it.
    pub order: Option<u32>,
    /// Log entries applied (new format).
    pub entries_applied: u32,
    /// Sequence numbers of the first and last entry applied (new format).
    pub sequences: Option<(u32, u32)>,
    /// Dirty pages written from this log (new format: page references; old format: 512-byte
    /// sectors).
    pub dirty_pages: u32,
    /// Why the log was not applied, or where its replay stopped.
    pub note: Option<String>,
}

impl LogUse {
    fn new(path: &Path) -> LogUse {
        LogUse {
            path: path.to_path_buf(),
            format: None,
            base_sequence: None,
            applied: false,
            order: None,
            entries_applied: 0,
            sequences: None,
            dirty_pages: 0,
            note: None,
        }
    }

    /// One line: `SYSTEM.LOG1 (new format, base sequence 12): applied entries 12..=14, 9 dirty pages`.
    pub fn describe(&self) -> String {
        let mut out = self.path.display().to_string();
        let mut what = Vec::new();
        if let Some(f) = self.format {
            what.push(f.name().to_string());
        }
        if let Some(s) = self.base_sequence {
            what.push(format!("base sequence {s}"));
        }
        if !what.is_empty() {
            out.push_str(&format!(" ({})", what.join(", ")));
        }
        if self.applied {
            match self.sequences {
                Some((a, b)) => out.push_str(&format!(
                    ": applied {} entr{} (sequence {a}..={b}), {} dirty page{}",
                    self.entries_applied,
                    if self.entries_applied == 1 {
                        "y"
                    } else {
                        "ies"
                    },
                    self.dirty_pages,
                    if self.dirty_pages == 1 { "" } else { "s" }
                )),
                None => out.push_str(&format!(": applied {} dirty sectors", self.dirty_pages)),
            }
        } else {
            out.push_str(": not applied");
        }
        if let Some(n) = &self.note {
            out.push_str(if self.applied { "; " } else { ": " });
            out.push_str(n);
        }
        out
    }
}

/// What replaying the logs of a dirty hive did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// Every log considered, in the order given (`.LOG1`, `.LOG2`, `.LOG`).
    pub logs: Vec<LogUse>,
    /// Dirty pages written in all.
    pub dirty_pages: u32,
    /// The sequence number the recovered base block carries (both fields).
    pub sequence: Option<u32>,
    /// Hive bins size before and after replay (logs can grow the hive).
    pub hbins_before: u32,
    pub hbins_after: u32,
}

impl Recovery {
    /// The logs whose data went into the hive, in the order they were applied.
    pub fn applied(&self) -> impl Iterator<Item = &LogUse> {
        let mut logs: Vec<&LogUse> = self.logs.iter().filter(|l| l.applied).collect();
        logs.sort_by_key(|l| l.order);
        logs.into_iter()
    }
}

/// One valid new-format log entry.
struct Entry {
    offset: usize,
    sequence: u32,
    flags: u32,
    hbins_size: u32,
    size: usize,
    /// (offset from the first hive bin, range of the page in the log)
    pages: Vec<(u32, std::ops::Range<usize>)>,
}

/// A log read and checked.
struct Log {
    index: usize,
    /// 0 `.LOG1`, 1 `.LOG2`, 2 anything else (`.LOG`).
    rank: u8,
    bytes: Vec<u8>,
    base: BaseBlock,
    format: LogFormat,
    entries: Vec<Entry>,
    /// Why the entries end where they do, when that is not the plain end of the log data.
    stop: Option<String>,
}

/// The most bytes read from one transaction log: four times the hive's size plus 16 MiB,
/// at most 1 GiB. A log holds the hive's dirty pages, a few times over at most; anything
/// longer (a sparse multi-GiB file, a device) is read only this far.
pub fn log_read_bound(hive_len: u64) -> u64 {
    hive_len
        .saturating_mul(4)
        .saturating_add(16 << 20)
        .min(1 << 30)
}

/// Read at most `bound` bytes of a transaction log, refusing anything that is not a regular
/// file (a FIFO would block, a device never ends). Returns the bytes and the file's length.
pub fn read_log(path: &Path, bound: u64) -> Result<(Vec<u8>, u64), String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "not a regular file ({}); transaction logs are read only as regular files",
            file_kind(&meta)
        ));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: a FIFO swapped in after the check above must not block the open.
        options.custom_flags(0o4000);
    }
    let file = options
        .open(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "not a regular file ({}); transaction logs are read only as regular files",
            file_kind(&meta)
        ));
    }
    let len = meta.len();
    let mut bytes = Vec::with_capacity(len.min(bound).min(64 << 20) as usize);
    file.take(bound)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    Ok((bytes, len))
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a file"
}

fn rank(path: &Path) -> u8 {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_uppercase();
    if name.ends_with(".LOG1") {
        0
    } else if name.ends_with(".LOG2") {
        1
    } else {
        2
    }
}

/// Read and check one log; `Err` names why it cannot be used at all.
fn load_log(index: usize, path: &Path, bound: u64, use_: &mut LogUse) -> Result<Log, String> {
    let (bytes, len) = read_log(path, bound)?;
    let base = parse_base_block(&bytes, path).map_err(|e| match e {
        super::HiveError::Malformed {
            offset, expected, ..
        } => {
            format!("offset {offset:#x}: expected {expected}; not a transaction log")
        }
        other => other.to_string(),
    })?;
    use_.base_sequence = Some(base.primary_sequence);
    let format = match bytes.get(512..516) {
        Some(b"HvLE") => LogFormat::New,
        Some(b"DIRT") => LogFormat::Old,
        Some(_) if bytes[512..].iter().all(|&b| b == 0) => {
            return Err("holds no log data after its base block (an unused log)".into());
        }
        Some(_) => {
            return Err(
                "offset 0x200: expected \"HvLE\" log entries or a \"DIRT\" vector; the log holds neither".into(),
            );
        }
        None => return Err("holds only a base block, no log data (an unused log)".into()),
    };
    use_.format = Some(format);
    if !base.checksum_ok {
        return Err(format!(
            "its own base block checksum is wrong ({:#010x} stored, {:#010x} computed): the log was being written when the machine stopped",
            base.checksum,
            super::regf::checksum(&bytes)
        ));
    }
    if base.primary_sequence != base.secondary_sequence {
        return Err(format!(
            "its own base block sequence numbers differ ({}/{}): the log itself is dirty",
            base.primary_sequence, base.secondary_sequence
        ));
    }
    if format == LogFormat::New && base.file_type != FILE_TYPE_LOG_NEW {
        return Err(format!(
            "offset 0x1c: file type {} where a new-format log has 6",
            base.file_type
        ));
    }
    let mut log = Log {
        index,
        rank: rank(path),
        bytes,
        base,
        format,
        entries: Vec::new(),
        stop: None,
    };
    if format == LogFormat::New {
        let (entries, stop) = new_format_entries(&log.bytes, log.base.primary_sequence);
        log.entries = entries;
        log.stop = stop;
    }
    if len > log.bytes.len() as u64 {
        let note = format!(
            "only the first {} of its {len} bytes were read (bound: 4 x the hive's size + 16 MiB)",
            log.bytes.len()
        );
        log.stop = Some(match log.stop.take() {
            Some(s) => format!("{s}; {note}"),
            None => note,
        });
    }
    Ok(log)
}

/// The hive being rebuilt.
struct State {
    data: Vec<u8>,
    hbins: u32,
    last_sequence: Option<u32>,
    /// Base block flags (+0x90); bit 0 follows the log entries.
    flags: u32,
    /// The log whose base block replaces an invalid primary base block.
    base_from: Option<usize>,
    dirty_pages: u32,
    /// Logs applied so far.
    applied_logs: u32,
}

/// Replay the logs onto a copy of the primary as Windows does (regf specification,
/// "Format of transaction log files" and "Multiple transaction log files"; yarp's
/// `recover_auto`): the new format is preferred to the old, two logs to one.
///
/// New format: a log applies when its own base block is valid and, if the primary's base
/// block is valid, its sequence number is not older than the primary's secondary sequence
/// number; its entries apply from the first on, each carrying the next sequence number, up
/// to the first that does not (or fails its hashes). With `.LOG1` and `.LOG2` the log with
/// the earlier entries goes first and the other follows when it continues the sequence; when
/// the primary's base block is invalid, only the log with the latest entries is used and its
/// base block replaces the primary's.
///
/// Old format: the log whose base block is valid and not older than the primary (by last
/// written time) applies, the latest of `.LOG1`/`.LOG2`.
///
/// Returns the recovered bytes (`None` when nothing was applied) and what happened to each log.
pub fn replay(primary: &[u8], base: &BaseBlock, logs: &[PathBuf]) -> (Option<Vec<u8>>, Recovery) {
    let bound = log_read_bound(primary.len() as u64);
    let mut uses: Vec<LogUse> = logs.iter().map(|p| LogUse::new(p)).collect();
    let mut loaded: Vec<Log> = Vec::new();
    for (index, path) in logs.iter().enumerate() {
        match load_log(index, path, bound, &mut uses[index]) {
            Ok(log) => loaded.push(log),
            Err(why) => uses[index].note = Some(why),
        }
    }
    // The hive bins size the primary can be trusted for: its own when its base block is
    // valid, else what the file holds.
    let hbins_before = if base.checksum_ok {
        base.hbins_size
    } else {
        (primary.len().saturating_sub(BASE_BLOCK_LEN) / 4096 * 4096).min(MAX_HBINS as usize) as u32
    };
    if loaded.is_empty() {
        let recovery = Recovery {
            logs: uses,
            dirty_pages: 0,
            sequence: None,
            hbins_before,
            hbins_after: hbins_before,
        };
        return (None, recovery);
    }
    // The copy to patch: the base block and the hive bins the primary states (data past them
    // is remnant); log entries grow it as they need.
    let keep = primary
        .len()
        .min(BASE_BLOCK_LEN.saturating_add(hbins_before as usize));
    let mut state = State {
        data: primary[..keep].to_vec(),
        hbins: hbins_before,
        last_sequence: None,
        flags: u32_at(primary, 0x90).unwrap_or(0),
        base_from: None,
        dirty_pages: 0,
        applied_logs: 0,
    };
    let pick =
        |format: LogFormat, rank: u8| loaded.iter().find(|l| l.format == format && l.rank == rank);
    let (new1, new2, new_) = (
        pick(LogFormat::New, 0),
        pick(LogFormat::New, 1),
        pick(LogFormat::New, 2),
    );
    let (old1, old2, old_) = (
        pick(LogFormat::Old, 0),
        pick(LogFormat::Old, 1),
        pick(LogFormat::Old, 2),
    );
    let mut chosen: Vec<usize> = Vec::new();
    if let (Some(a), Some(b)) = (new1, new2) {
        let (first, second) = if starts_before(a.base.primary_sequence, b.base.primary_sequence) {
            (a, b)
        } else {
            (b, a)
        };
        chosen.extend([first.index, second.index]);
        if base.checksum_ok {
            match apply_new(&mut state, first, base, &mut uses[first.index]) {
                Err(why) => {
                    uses[first.index].note = Some(why);
                    if let Err(why) = apply_new(&mut state, second, base, &mut uses[second.index]) {
                        uses[second.index].note = Some(why);
                    }
                }
                Ok(()) => {
                    let next = state.last_sequence.map(|s| s.wrapping_add(1));
                    if next == Some(second.base.primary_sequence) {
                        if let Err(why) =
                            apply_new(&mut state, second, base, &mut uses[second.index])
                        {
                            uses[second.index].note = Some(why);
                        }
                    } else {
                        uses[second.index].note = Some(match state.last_sequence {
                            Some(last) => format!(
                                "its entries start at sequence {}, which does not continue {} (the last entry applied from {})",
                                second.base.primary_sequence,
                                last,
                                file_name(&logs[first.index])
                            ),
                            None => format!(
                                "no entry of {} applied, so there is no sequence for it to continue",
                                file_name(&logs[first.index])
                            ),
                        });
                    }
                }
            }
        } else {
            uses[first.index].note = Some(format!(
                "the primary's base block is invalid, so only the log with the latest entries ({}) is used, as Windows does",
                file_name(&logs[second.index])
            ));
            if let Err(why) = apply_new(&mut state, second, base, &mut uses[second.index]) {
                uses[second.index].note = Some(why);
            }
        }
    } else if let Some(log) = new1.or(new2).or(new_) {
        chosen.push(log.index);
        if let Err(why) = apply_new(&mut state, log, base, &mut uses[log.index]) {
            uses[log.index].note = Some(why);
        }
    } else {
        let log = match (old1, old2) {
            (Some(a), Some(b)) => {
                // The latest of the two by last written time (ties: .LOG1).
                let other = if a.base.last_written >= b.base.last_written {
                    b
                } else {
                    a
                };
                uses[other.index].note = Some(
                    "the other old-format log was written later; only the latest is used".into(),
                );
                Some(if other.index == b.index { a } else { b })
            }
            (a, b) => a.or(b).or(old_),
        };
        if let Some(log) = log {
            chosen.push(log.index);
            if let Err(why) = apply_old(&mut state, log, base, &mut uses[log.index]) {
                uses[log.index].note = Some(why);
            }
        }
    }
    // Logs loaded but not part of the scheme chosen.
    for log in &loaded {
        if !chosen.contains(&log.index) && uses[log.index].note.is_none() {
            uses[log.index].note = Some(match log.format {
                LogFormat::Old if new1.or(new2).or(new_).is_some() => {
                    "an old-format log beside new-format ones; the new format is used".to_string()
                }
                _ => "not part of the logging scheme used (.LOG1 and .LOG2 are preferred to .LOG)"
                    .to_string(),
            });
        }
    }
    let applied = uses.iter().any(|u| u.applied);
    let mut recovery = Recovery {
        logs: uses,
        dirty_pages: state.dirty_pages,
        sequence: None,
        hbins_before,
        hbins_after: state.hbins,
    };
    if !applied {
        recovery.hbins_after = hbins_before;
        return (None, recovery);
    }
    let sequence = state.last_sequence.unwrap_or(base.primary_sequence);
    let mut data = state.data;
    if let Some(from) = state.base_from
        && let Some(log) = loaded.iter().find(|l| l.index == from)
    {
        // Spec: an invalid primary base block is recovered from the log's, file type back to 0.
        if let (Some(dst), Some(src)) = (data.get_mut(..512), log.bytes.get(..512)) {
            dst.copy_from_slice(src);
        }
        if let Some(b) = data.get_mut(0x1C..0x20) {
            b.copy_from_slice(&0u32.to_le_bytes());
        }
    }
    data.truncate(BASE_BLOCK_LEN + state.hbins as usize);
    if let Some(b) = data.get_mut(0x90..0x94) {
        b.copy_from_slice(&state.flags.to_le_bytes());
    }
    finish_base_block(&mut data, sequence, state.hbins);
    recovery.sequence = Some(sequence);
    (Some(data), recovery)
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Whether a log whose base sequence is `this` holds earlier entries than one at `other`,
/// with sequence numbers that may have wrapped around.
fn starts_before(this: u32, other: u32) -> bool {
    let (delta, starting) = if this >= other {
        (this - other, false)
    } else {
        (other - this, true)
    };
    if delta <= 0x7FFF_FFFF {
        starting
    } else {
        !starting
    }
}

/// Apply a new-format log. `Err` when it is not eligible (nothing written).
fn apply_new(
    state: &mut State,
    log: &Log,
    primary: &BaseBlock,
    use_: &mut LogUse,
) -> Result<(), String> {
    let seq = log.base.primary_sequence;
    if let Some(last) = state.last_sequence
        && last >= seq
    {
        return Err(format!(
            "its entries start at sequence {seq}, not after {last}, the last entry already applied"
        ));
    }
    if primary.checksum_ok && seq < primary.secondary_sequence {
        return Err(format!(
            "its entries start at sequence {seq}, before the primary's secondary sequence number {}: they are already in the primary",
            primary.secondary_sequence
        ));
    }
    if !primary.checksum_ok {
        state.base_from = Some(log.index);
    }
    let mut stop = log.stop.clone();
    let mut applied: Vec<u32> = Vec::new();
    for entry in &log.entries {
        let end = BASE_BLOCK_LEN as u64 + u64::from(entry.hbins_size);
        let have = (state.data.len() as u64).max(BASE_BLOCK_LEN as u64 + u64::from(state.hbins));
        // A log entry grows the hive only by pages it carries.
        if end > have + entry.size as u64 {
            stop = Some(format!(
                "offset {:#x}: log entry {} states hive bins of {} bytes, more than the hive ({} bytes) grows by the {} bytes it carries; it and later entries ignored",
                entry.offset,
                entry.sequence,
                entry.hbins_size,
                have.saturating_sub(BASE_BLOCK_LEN as u64),
                entry.size
            ));
            break;
        }
        if (state.data.len() as u64) < end {
            state.data.resize(end as usize, 0);
        }
        for (offset, range) in &entry.pages {
            let start = BASE_BLOCK_LEN + *offset as usize;
            let stop_at = start + range.len();
            if stop_at > state.data.len() {
                state.data.resize(stop_at, 0);
            }
            if let (Some(dst), Some(src)) = (
                state.data.get_mut(start..stop_at),
                log.bytes.get(range.clone()),
            ) {
                dst.copy_from_slice(src);
            }
        }
        state.hbins = entry.hbins_size;
        state.flags = (state.flags & !1) | (entry.flags & 1);
        state.last_sequence = Some(entry.sequence);
        state.dirty_pages += entry.pages.len() as u32;
        use_.dirty_pages += entry.pages.len() as u32;
        applied.push(entry.sequence);
    }
    if let (Some(&a), Some(&b)) = (applied.first(), applied.last()) {
        state.applied_logs += 1;
        use_.order = Some(state.applied_logs);
        use_.applied = true;
        use_.entries_applied = applied.len() as u32;
        use_.sequences = Some((a, b));
        // The log's root cell and version, as yarp takes them.
        copy_base_fields(&mut state.data, &log.bytes);
    } else if stop.is_none() {
        stop = Some("it holds no log entries".into());
    }
    use_.note = stop;
    Ok(())
}

/// Root cell offset (+0x24) and version (+0x14, +0x18) from a log's base block.
fn copy_base_fields(data: &mut [u8], log: &[u8]) {
    for range in [0x14..0x1C, 0x24..0x28] {
        if let (Some(src), Some(dst)) = (log.get(range.clone()), data.get_mut(range)) {
            dst.copy_from_slice(src);
        }
    }
}

/// Mark the replayed copy clean: both sequence numbers, the hive bins size and the checksum.
fn finish_base_block(data: &mut [u8], sequence: u32, hbins: u32) {
    if let Some(b) = data.get_mut(4..12) {
        b[..4].copy_from_slice(&sequence.to_le_bytes());
        b[4..].copy_from_slice(&sequence.to_le_bytes());
    }
    if let Some(b) = data.get_mut(0x28..0x2C) {
        b.copy_from_slice(&hbins.to_le_bytes());
    }
    if data.len() >= 512 {
        let sum = super::regf::checksum(data);
        if let Some(b) = data.get_mut(0x1FC..0x200) {
            b.copy_from_slice(&sum.to_le_bytes());
        }
    }
}

/// The valid entries of a new-format log from offset 512, the first carrying `expected`
/// and each next one the next number, up to the first that is not valid. Also says why they
/// end when that is not the plain end of the log data.
fn new_format_entries(bytes: &[u8], mut expected: u32) -> (Vec<Entry>, Option<String>) {
    let mut entries = Vec::new();
    let mut at = 512usize;
    let stop = loop {
        let Some(header) = bytes.get(at..at + ENTRY_HEADER) else {
            break None;
        };
        if &header[..4] != b"HvLE" {
            // Garbage or older data after the last entry is normal.
            break None;
        }
        let field = |o: usize| u32_at(header, o).unwrap_or(0);
        let size = field(4) as usize;
        let (flags, sequence, hbins_size, count) =
            (field(8), field(0x0C), field(0x10), field(0x14) as usize);
        if size < 512 || !size.is_multiple_of(512) {
            break Some(format!(
                "offset {at:#x}: log entry size {size} is not a multiple of 512; it and later entries ignored"
            ));
        }
        let Some(entry) = bytes.get(at..at.saturating_add(size)) else {
            break Some(format!(
                "offset {at:#x}: log entry {sequence} of {size} bytes runs past the end of the log ({} bytes); it and later entries ignored",
                bytes.len()
            ));
        };
        if hbins_size < 4096 || !hbins_size.is_multiple_of(4096) || hbins_size > MAX_HBINS {
            break Some(format!(
                "offset {at:#x}: log entry {sequence} states hive bins of {hbins_size} bytes (expected a multiple of 4096); it and later entries ignored"
            ));
        }
        if count == 0 {
            break Some(format!(
                "offset {at:#x}: log entry {sequence} has no dirty pages; it and later entries ignored"
            ));
        }
        let hash1 = u64::from(field(0x18)) | (u64::from(field(0x1C)) << 32);
        let hash2 = u64::from(field(0x20)) | (u64::from(field(0x24)) << 32);
        if marvin32(&entry[..32], LOG_SEED) != hash2
            || marvin32(&entry[ENTRY_HEADER..], LOG_SEED) != hash1
        {
            // Normal at the end of a log: older entries that were overwritten partially.
            break Some(format!(
                "offset {at:#x}: log entry {sequence} fails its Marvin32 hashes; it and later entries ignored"
            ));
        }
        if sequence != expected {
            break Some(format!(
                "offset {at:#x}: log entry carries sequence {sequence} where {expected} follows; it and later entries ignored"
            ));
        }
        let refs_end = ENTRY_HEADER.saturating_add(count.saturating_mul(8));
        let mut page_at = refs_end;
        let mut pages = Vec::with_capacity(count.min(size / 8));
        let mut bad = false;
        for r in 0..count {
            let (Some(off), Some(len)) = (
                u32_at(entry, ENTRY_HEADER + r * 8),
                u32_at(entry, ENTRY_HEADER + r * 8 + 4),
            ) else {
                bad = true;
                break;
            };
            let end = page_at.saturating_add(len as usize);
            if end > entry.len() || u64::from(off) + u64::from(len) > u64::from(hbins_size) {
                bad = true;
                break;
            }
            pages.push((off, at + page_at..at + end));
            page_at = end;
        }
        if bad {
            break Some(format!(
                "offset {at:#x}: log entry {sequence} has dirty page references outside the entry or the hive bins; it and later entries ignored"
            ));
        }
        entries.push(Entry {
            offset: at,
            sequence,
            flags,
            hbins_size,
            size,
            pages,
        });
        expected = expected.wrapping_add(1);
        at += size;
    };
    (entries, stop)
}

/// Apply an old-format ("DIRT") log. `Err` when it is not eligible (nothing written).
fn apply_old(
    state: &mut State,
    log: &Log,
    primary: &BaseBlock,
    use_: &mut LogUse,
) -> Result<(), String> {
    // The primary's time: its base block's, or the first hive bin's when the block is invalid.
    let primary_time = if primary.checksum_ok {
        primary.last_written
    } else {
        state
            .data
            .get(BASE_BLOCK_LEN + 0x14..BASE_BLOCK_LEN + 0x1C)
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    if log.base.last_written < primary_time {
        return Err(format!(
            "its last written time ({}) is older than the primary's ({}): it holds an earlier write",
            super::FileTime(log.base.last_written),
            super::FileTime(primary_time)
        ));
    }
    let hbins = log.base.hbins_size;
    if hbins < 4096 || !hbins.is_multiple_of(4096) || hbins > MAX_HBINS {
        return Err(format!(
            "offset 0x28: hive bins size {hbins} in its base block is not a multiple of 4096"
        ));
    }
    let vector = hbins as usize / 4096;
    let Some(bitmap) = log.bytes.get(516..516 + vector) else {
        return Err(format!(
            "offset 0x204: the dirty vector of {vector} bytes runs past the end of the log ({} bytes)",
            log.bytes.len()
        ));
    };
    let end = BASE_BLOCK_LEN + hbins as usize;
    let set_bits: usize = bitmap.iter().map(|b| b.count_ones() as usize).sum();
    // The hive grows only by the sectors the log carries.
    if end > state.data.len().max(BASE_BLOCK_LEN + state.hbins as usize) + set_bits * 512 {
        return Err(format!(
            "offset 0x28: hive bins of {hbins} bytes are more than the hive grows by the {set_bits} sectors the log carries"
        ));
    }
    if !primary.checksum_ok {
        state.base_from = Some(log.index);
    }
    if state.data.len() < end {
        state.data.resize(end, 0);
    }
    let mut at = (516 + vector).div_ceil(512) * 512;
    let mut count = 0u32;
    let mut stop = None;
    for sector in 0..vector * 8 {
        if bitmap[sector / 8] >> (sector % 8) & 1 == 0 {
            continue;
        }
        let Some(page) = log.bytes.get(at..at + 512) else {
            stop = Some(format!(
                "offset {at:#x}: dirty sector {sector} runs past the end of the log ({} bytes); later sectors missing",
                log.bytes.len()
            ));
            break;
        };
        let start = BASE_BLOCK_LEN + sector * 512;
        if let Some(target) = state.data.get_mut(start..start + 512) {
            target.copy_from_slice(page);
        }
        at += 512;
        count += 1;
    }
    state.hbins = hbins;
    state.dirty_pages += count;
    copy_base_fields(&mut state.data, &log.bytes);
    state.flags = u32_at(&log.bytes, 0x90).unwrap_or(state.flags);
    state.applied_logs += 1;
    use_.order = Some(state.applied_logs);
    use_.applied = true;
    use_.dirty_pages = count;
    use_.note = stop.or(log.stop.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn marvin32_matches_the_dotnet_test_vectors() {
        // dotnet/runtime MarvinTests.cs, Seed1.
        let seed = 0x004F_B61A_001B_DBCC;
        for (data, want) in [
            ("", 0x30ED_35C1_00CD_3C7D_u64),
            ("af", 0x48E7_3FC7_7D75_DDC1),
            ("e70f", 0xB5F6_E1FC_485D_BFF8),
        ] {
            assert_eq!(marvin32(&unhex(data), seed), want, "{data}");
        }
    }
}
