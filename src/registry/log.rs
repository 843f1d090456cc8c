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

use super::regf::{BASE_BLOCK_LEN, BaseBlock, parse_base_block, read_u32};
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

/// One valid new-format log entry.
struct Entry {
    sequence: u32,
    hbins_size: u32,
    /// (offset from the first hive bin, page bytes)
    pages: Vec<(u32, Vec<u8>)>,
}

/// What replay did: the patched hive and which logs contributed.
pub struct Replay {
    pub data: Vec<u8>,
    pub logs_applied: Vec<PathBuf>,
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

/// Replay the logs onto a copy of the primary. Returns `None` when no log had anything to
/// apply; notes explain why each log was passed over.
pub fn replay(primary: &[u8], base: &BaseBlock, logs: &[PathBuf]) -> (Option<Replay>, Vec<String>) {
    let mut notes = Vec::new();
    let mut entries: Vec<(Entry, usize)> = Vec::new();
    let mut dirt: Option<(Vec<u8>, usize)> = None;
    for (index, log) in logs.iter().enumerate() {
        // Read-only: std::fs::read opens for reading.
        let bytes = match std::fs::read(log) {
            Ok(b) => b,
            Err(e) => {
                notes.push(format!("{}: cannot read: {e}", log.display()));
                continue;
            }
        };
        let log_base = match parse_base_block(&bytes, log) {
            Ok(b) => b,
            Err(e) => {
                notes.push(format!("{e} (transaction log passed over)"));
                continue;
            }
        };
        match bytes.get(512..516) {
            Some(b"HvLE") => {
                let (found, mut why) = new_format_entries(&bytes, log);
                notes.append(&mut why);
                entries.extend(found.into_iter().map(|e| (e, index)));
            }
            Some(b"DIRT") => {
                if !log_base.checksum_ok || log_base.primary_sequence != log_base.secondary_sequence {
                    notes.push(format!(
                        "{}: old-format log whose own base block is not consistent; passed over",
                        log.display()
                    ));
                } else if dirt.is_none() {
                    dirt = Some((bytes, index));
                }
            }
            _ => notes.push(format!(
                "{}: offset 0x200: expected \"HvLE\" or \"DIRT\" log data; the log is empty or unknown",
                log.display()
            )),
        }
    }

    let mut data = primary.to_vec();
    let mut applied_from: Vec<usize> = Vec::new();

    if !entries.is_empty() {
        // Apply entries in sequence order from the primary's last completed write on,
        // taking each sequence number from whichever log holds it, and stop at a gap.
        let mut expected = if base.checksum_ok {
            base.secondary_sequence
        } else {
            entries.iter().map(|(e, _)| e.sequence).min().unwrap_or(0)
        };
        let (mut count, first) = (0u32, expected);
        let mut hbins = base.hbins_size;
        while let Some(pos) = entries.iter().position(|(e, _)| e.sequence == expected) {
            let (entry, log) = entries.swap_remove(pos);
            // Drop duplicates of the same sequence number from the other log.
            entries.retain(|(e, _)| e.sequence != expected);
            hbins = entry.hbins_size;
            let end = BASE_BLOCK_LEN + entry.hbins_size as usize;
            if data.len() < end {
                data.resize(end, 0);
            }
            for (offset, page) in entry.pages {
                let start = BASE_BLOCK_LEN + offset as usize;
                let stop = start + page.len();
                if stop > data.len() {
                    data.resize(stop, 0);
                }
                if let Some(target) = data.get_mut(start..stop) {
                    target.copy_from_slice(&page);
                }
            }
            if !applied_from.contains(&log) {
                applied_from.push(log);
            }
            count += 1;
            expected = expected.wrapping_add(1);
        }
        if count == 0 {
            notes.push(format!(
                "no log entry continues the primary's sequence number {first}; logs not applied"
            ));
            return (None, notes);
        }
        data.truncate(BASE_BLOCK_LEN + hbins as usize);
        finish_base_block(&mut data, expected, hbins);
        notes.push(format!(
            "applied {count} log entr{} (sequence {first}..={})",
            if count == 1 { "y" } else { "ies" },
            expected.wrapping_sub(1)
        ));
    } else if let Some((bytes, index)) = dirt {
        match apply_dirt(&mut data, &bytes) {
            Ok((sectors, seq, hbins)) => {
                finish_base_block(&mut data, seq, hbins);
                applied_from.push(index);
                notes.push(format!(
                    "applied {sectors} dirty sectors from an old-format log"
                ));
            }
            Err(why) => {
                notes.push(format!(
                    "{}: {why}",
                    logs.get(index)
                        .map_or(String::new(), |p| p.display().to_string())
                ));
                return (None, notes);
            }
        }
    } else {
        return (None, notes);
    }

    let logs_applied = applied_from
        .into_iter()
        .filter_map(|i| logs.get(i).cloned())
        .collect();
    (Some(Replay { data, logs_applied }), notes)
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

/// The valid entries of a new-format log, in file order, until the first invalid one.
fn new_format_entries(bytes: &[u8], log: &Path) -> (Vec<Entry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    let mut at = 512usize;
    while let Some(header) = bytes.get(at..at + ENTRY_HEADER) {
        if &header[..4] != b"HvLE" {
            break;
        }
        let field = |o: usize| read_u32(header, o).unwrap_or(0);
        let size = field(4) as usize;
        let (sequence, hbins_size, count) = (field(0x0C), field(0x10), field(0x14) as usize);
        let Some(entry) = bytes
            .get(at..at.saturating_add(size))
            .filter(|_| size >= ENTRY_HEADER && size.is_multiple_of(512))
        else {
            notes.push(format!(
                "{}: offset {at:#x}: expected a log entry size that is a multiple of 512 inside the file (found {size}); later entries ignored",
                log.display()
            ));
            break;
        };
        let hash1 = u64::from(field(0x18)) | (u64::from(field(0x1C)) << 32);
        let hash2 = u64::from(field(0x20)) | (u64::from(field(0x24)) << 32);
        if marvin32(&entry[..32], LOG_SEED) != hash2
            || marvin32(&entry[ENTRY_HEADER..], LOG_SEED) != hash1
        {
            // Normal at the end of a log: older entries that were overwritten partially.
            notes.push(format!(
                "{}: offset {at:#x}: log entry {sequence} fails its Marvin32 hashes; it and later entries ignored",
                log.display()
            ));
            break;
        }
        if hbins_size == 0 || !hbins_size.is_multiple_of(4096) || hbins_size > MAX_HBINS {
            notes.push(format!(
                "{}: offset {at:#x}: expected a hive bins size that is a multiple of 4096 (found {hbins_size}); later entries ignored",
                log.display()
            ));
            break;
        }
        let refs_end = ENTRY_HEADER + count * 8;
        let mut page_at = refs_end;
        let mut pages = Vec::with_capacity(count);
        let mut ok = true;
        for r in 0..count {
            let off = read_u32(entry, ENTRY_HEADER + r * 8);
            let len = read_u32(entry, ENTRY_HEADER + r * 8 + 4);
            let (Some(off), Some(len)) = (off, len) else {
                ok = false;
                break;
            };
            let Some(page) = entry.get(page_at..page_at + len as usize) else {
                ok = false;
                break;
            };
            if u64::from(off) + u64::from(len) > u64::from(hbins_size) {
                ok = false;
                break;
            }
            pages.push((off, page.to_vec()));
            page_at += len as usize;
        }
        if !ok {
            notes.push(format!(
                "{}: offset {at:#x}: log entry {sequence} has dirty page references outside the entry or the hive; it and later entries ignored",
                log.display()
            ));
            break;
        }
        entries.push(Entry {
            sequence,
            hbins_size,
            pages,
        });
        at += size;
    }
    (entries, notes)
}

/// Apply an old-format ("DIRT") log. Returns (sectors, sequence, hive bins size).
fn apply_dirt(data: &mut Vec<u8>, log: &[u8]) -> Result<(usize, u32, u32), String> {
    let log_base = read_u32(log, 0x28).ok_or("a base block")?;
    let sequence = read_u32(log, 4).ok_or("a base block")?;
    let hbins = log_base;
    if hbins > MAX_HBINS {
        return Err(format!(
            "offset 0x28: a plausible hive bins size (found {hbins})"
        ));
    }
    let sectors = hbins as usize / 512;
    let bitmap_len = sectors.div_ceil(8);
    let bitmap = log
        .get(516..516 + bitmap_len)
        .ok_or("offset 0x204: expected the dirty sector bitmap; the log is truncated")?;
    let mut at = (516 + bitmap_len).div_ceil(512) * 512;
    let end = BASE_BLOCK_LEN + hbins as usize;
    if data.len() < end {
        data.resize(end, 0);
    }
    let mut count = 0;
    for sector in 0..sectors {
        let set = bitmap
            .get(sector / 8)
            .is_some_and(|b| b >> (sector % 8) & 1 == 1);
        if !set {
            continue;
        }
        let page = log.get(at..at + 512).ok_or_else(|| {
            format!("offset {at:#x}: expected a dirty sector; the log is truncated")
        })?;
        let start = BASE_BLOCK_LEN + sector * 512;
        if let Some(target) = data.get_mut(start..start + 512) {
            target.copy_from_slice(page);
        }
        at += 512;
        count += 1;
    }
    data.truncate(end);
    Ok((count, sequence, hbins))
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
