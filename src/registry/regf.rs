//! The regf cell layer: base block, cells, key nodes (`nk`), values (`vk`), subkey lists
//! (`li`/`lf`/`lh`/`ri`) and big data (`db`).
//!
//! Format facts follow Maxim Suhanov's "Windows registry file format specification"
//! (github.com/msuhanov/regf, `Windows registry file format specification.md`); offsets are
//! given beside each parser. Cell offsets in the file are relative to the first hive bin,
//! which starts right after the 4 KiB base block.

use super::HiveError;
use crate::le::u32_at;
use nom::bytes::complete::{tag, take};
use nom::number::complete::{le_i32, le_u16, le_u32, le_u64};
use nom::{IResult, Parser};
use std::borrow::Cow;
use std::path::Path;

/// Length of the base block; hive bins start here.
pub const BASE_BLOCK_LEN: usize = 4096;
/// Largest value data held in one cell in hives of version 1.4 and later; longer data is
/// split into `db` segments of this size.
pub const BIG_DATA_SEGMENT: usize = 16344;
/// `nk` flag: the key name is stored in Latin-1 ("compressed") rather than UTF-16LE.
pub const KEY_COMP_NAME: u16 = 0x0020;
/// `vk` flag: the value name is stored in Latin-1 rather than UTF-16LE.
pub const VALUE_COMP_NAME: u16 = 0x0001;
/// Marks "no cell" in an offset field.
pub const NO_CELL: u32 = 0xFFFF_FFFF;

/// The hive's base block (offsets from the start of the file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseBlock {
    /// +0x04: incremented before a write starts.
    pub primary_sequence: u32,
    /// +0x08: set equal to the primary sequence once the write completed.
    pub secondary_sequence: u32,
    /// +0x0C: FILETIME of the last write.
    pub last_written: u64,
    /// +0x14 / +0x18: format version, 1.3 to 1.6.
    pub major: u32,
    pub minor: u32,
    /// +0x1C: 0 primary file, 1/2/6 transaction logs.
    pub file_type: u32,
    /// +0x24: offset of the root key node (relative to the first hive bin).
    pub root_cell: u32,
    /// +0x28: total size of the hive bins.
    pub hbins_size: u32,
    /// +0x30: the file name Windows recorded (UTF-16LE, 64 bytes): the tail of the hive's
    /// path, e.g. `\??\C:\Windows\system32\config\SYSTEM` cut to its last 31 characters.
    pub file_name: String,
    /// +0x1FC: XOR of the first 127 dwords (see [`checksum`]).
    pub checksum: u32,
    /// Whether `checksum` matches the block.
    pub checksum_ok: bool,
}

/// Base block file types (+0x1C).
pub const FILE_TYPE_PRIMARY: u32 = 0;
/// Old-format transaction log (Windows XP to 8); 2 in Windows 2000.
pub const FILE_TYPE_LOG_OLD: u32 = 1;
pub const FILE_TYPE_LOG_VERY_OLD: u32 = 2;
/// New-format transaction log (Windows 8.1 and later).
pub const FILE_TYPE_LOG_NEW: u32 = 6;

impl BaseBlock {
    /// The hive's short name from the recorded file name: its last path component, e.g.
    /// `SYSTEM` or `NTUSER.DAT` (empty when the field is empty).
    pub fn short_name(&self) -> &str {
        self.file_name
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or("")
            .trim_matches(char::from(0))
            .trim()
    }

    /// A transaction log's base block rather than a primary file's.
    pub fn is_log(&self) -> bool {
        matches!(
            self.file_type,
            FILE_TYPE_LOG_OLD | FILE_TYPE_LOG_VERY_OLD | FILE_TYPE_LOG_NEW
        )
    }

    /// A hive is dirty when a write started but did not complete, or its base block is damaged.
    pub fn is_dirty(&self) -> bool {
        self.primary_sequence != self.secondary_sequence || !self.checksum_ok
    }
}

/// The base block checksum: XOR of the 127 little-endian dwords before +0x1FC, with 0 mapped to 1
/// and 0xFFFFFFFF mapped to 0xFFFFFFFE.
pub fn checksum(block: &[u8]) -> u32 {
    let mut sum = 0u32;
    for chunk in block.chunks_exact(4).take(127) {
        sum ^= u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    match sum {
        0 => 1,
        0xFFFF_FFFF => 0xFFFF_FFFE,
        s => s,
    }
}

fn base_block_fields(i: &[u8]) -> IResult<&[u8], BaseBlock> {
    let (i, _) = tag(&b"regf"[..]).parse(i)?;
    let (i, (primary_sequence, secondary_sequence, last_written)) =
        (le_u32, le_u32, le_u64).parse(i)?;
    let (i, (major, minor, file_type, _format, root_cell, hbins_size)) =
        (le_u32, le_u32, le_u32, le_u32, le_u32, le_u32).parse(i)?;
    Ok((
        i,
        BaseBlock {
            primary_sequence,
            secondary_sequence,
            last_written,
            major,
            minor,
            file_type,
            root_cell,
            hbins_size,
            file_name: String::new(),
            checksum: 0,
            checksum_ok: false,
        },
    ))
}

/// Parse the base block at the start of `data` (a primary file or a transaction log).
pub fn parse_base_block(data: &[u8], path: &Path) -> Result<BaseBlock, HiveError> {
    if data.len() < 512 {
        return Err(HiveError::malformed(
            path,
            data.len() as u64,
            "a 512-byte regf base block (the file is shorter)",
        ));
    }
    let (_, mut block) = base_block_fields(data)
        .map_err(|_| HiveError::malformed(path, 0, "the signature \"regf\" of a registry hive"))?;
    block.checksum = u32_at(data, 0x1FC).unwrap_or(0);
    block.file_name = data
        .get(0x30..0x70)
        .map(crate::text::utf16le_until_nul)
        .unwrap_or_default();
    block.checksum_ok = block.checksum == checksum(data);
    Ok(block)
}

/// A key node (`nk`).
#[derive(Clone, Debug)]
pub struct KeyNode {
    /// Cell offset (relative to the first hive bin).
    pub offset: u32,
    pub flags: u16,
    /// FILETIME of the key's last write.
    pub last_written: u64,
    pub subkey_count: u32,
    pub subkey_list: u32,
    pub value_count: u32,
    pub value_list: u32,
    pub name: String,
}

/// A value (`vk`).
#[derive(Clone, Debug)]
pub struct ValueNode {
    pub offset: u32,
    pub name: String,
    /// Data size; bit 31 set means the data (at most 4 bytes) sits in `data_offset` itself.
    pub raw_size: u32,
    pub data_offset: u32,
    /// `REG_*` type code.
    pub kind: u32,
    pub flags: u16,
}

/// nk: +0x00 "nk", +0x02 flags, +0x04 last written, +0x0C access bits, +0x10 parent,
/// +0x14 subkeys, +0x18 volatile subkeys, +0x1C subkey list, +0x20 volatile list,
/// +0x24 values, +0x28 value list, +0x2C security, +0x30 class, +0x34..+0x47 largest sizes
/// and work var, +0x48 name length, +0x4A class length, +0x4C name.
fn key_node(i: &[u8]) -> IResult<&[u8], KeyNode> {
    let (i, _) = tag(&b"nk"[..]).parse(i)?;
    let (i, (flags, last_written, _access, _parent)) = (le_u16, le_u64, le_u32, le_u32).parse(i)?;
    let (i, (subkey_count, _volatile_count, subkey_list, _volatile_list)) =
        (le_u32, le_u32, le_u32, le_u32).parse(i)?;
    let (i, (value_count, value_list)) = (le_u32, le_u32).parse(i)?;
    let (i, _) = take(28usize).parse(i)?;
    let (i, (name_len, _class_len)) = (le_u16, le_u16).parse(i)?;
    let (i, name) = take(name_len).parse(i)?;
    Ok((
        i,
        KeyNode {
            offset: 0,
            flags,
            last_written,
            subkey_count,
            subkey_list,
            value_count,
            value_list,
            name: decode_name(name, flags & KEY_COMP_NAME != 0),
        },
    ))
}

/// vk: +0x00 "vk", +0x02 name length, +0x04 data size, +0x08 data offset, +0x0C type,
/// +0x10 flags, +0x12 spare, +0x14 name.
fn value_node(i: &[u8]) -> IResult<&[u8], ValueNode> {
    let (i, _) = tag(&b"vk"[..]).parse(i)?;
    let (i, (name_len, raw_size, data_offset, kind, flags, _spare)) =
        (le_u16, le_u32, le_u32, le_u32, le_u16, le_u16).parse(i)?;
    let (i, name) = take(name_len).parse(i)?;
    Ok((
        i,
        ValueNode {
            offset: 0,
            name: decode_name(name, flags & VALUE_COMP_NAME != 0),
            raw_size,
            data_offset,
            kind,
            flags,
        },
    ))
}

/// A subkey list: `li` (offsets), `lf`/`lh` (offset + 4-byte hint or hash) or `ri` (offsets of
/// further lists). Returns the signature and the offsets.
fn subkey_list(i: &[u8]) -> IResult<&[u8], ([u8; 2], Vec<u32>)> {
    let (i, sig) = take(2usize).parse(i)?;
    let (mut i, count) = le_u16(i)?;
    let sig = [
        sig.first().copied().unwrap_or(0),
        sig.get(1).copied().unwrap_or(0),
    ];
    let stride = match &sig {
        b"lf" | b"lh" => 8,
        b"li" | b"ri" => 4,
        _ => {
            return Err(nom::Err::Error(nom::error::Error::new(
                i,
                nom::error::ErrorKind::Tag,
            )));
        }
    };
    let mut offsets = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let (rest, entry) = take(stride as usize).parse(i)?;
        let (_, offset) = le_u32(entry)?;
        offsets.push(offset);
        i = rest;
    }
    Ok((i, (sig, offsets)))
}

/// db: +0x00 "db", +0x02 segment count, +0x04 offset of the segment list.
fn big_data(i: &[u8]) -> IResult<&[u8], (u16, u32)> {
    let (i, _) = tag(&b"db"[..]).parse(i)?;
    (le_u16, le_u32).parse(i)
}

/// Decode a key or value name: Latin-1 when the "compressed" flag is set, else UTF-16LE.
pub fn decode_name(bytes: &[u8], compressed: bool) -> String {
    if compressed {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        crate::text::utf16le_lossy(bytes)
    }
}

/// A hive's cells over its bytes. All reads are bounds-checked; damaged cells become errors
/// that name the file and the absolute file offset.
pub struct Hive<'a> {
    data: &'a [u8],
    path: &'a Path,
    /// End of the hive bins as the base block states it, clipped to the file.
    end: usize,
    /// Minor version: `db` big data exists from 1.4.
    minor: u32,
}

/// Nesting limit for `ri` lists (real hives use one level); stops loops in damaged hives.
const MAX_RI_DEPTH: u32 = 8;
/// Subkey offsets collected below one key at most.
const MAX_LISTED: usize = 1 << 24;

impl<'a> Hive<'a> {
    pub fn new(data: &'a [u8], path: &'a Path, base: &BaseBlock) -> Hive<'a> {
        let stated = BASE_BLOCK_LEN.saturating_add(base.hbins_size as usize);
        // A dirty hive may state a size the file does not have; trust the file when it is shorter,
        // and when the stated size is zero (damaged), read to the end of the file.
        let end = if base.hbins_size == 0 {
            data.len()
        } else {
            stated.min(data.len())
        };
        Hive {
            data,
            path,
            end,
            minor: base.minor,
        }
    }

    pub fn path(&self) -> &Path {
        self.path
    }

    fn err(&self, cell: u32, expected: impl Into<String>) -> HiveError {
        HiveError::malformed(self.path, file_offset(cell), expected)
    }

    /// The payload of the cell at `offset` (after its 4-byte size field).
    pub fn cell(&self, offset: u32) -> Result<&'a [u8], HiveError> {
        let start = BASE_BLOCK_LEN.saturating_add(offset as usize);
        let size_bytes = self
            .data
            .get(start..start.saturating_add(4))
            .filter(|_| start.saturating_add(4) <= self.end)
            .ok_or_else(|| self.err(offset, "a cell inside the hive bins"))?;
        let (_, size) = le_i32::<_, nom::error::Error<&[u8]>>(size_bytes)
            .map_err(|_| self.err(offset, "a cell size"))?;
        // Allocated cells have a negative size; a positive one is a free cell, which a dirty
        // hive can still reference: read it all the same.
        let len = size.unsigned_abs() as usize;
        if len < 4 {
            return Err(self.err(offset, format!("a cell size of at least 4 (found {size})")));
        }
        let stop = start.saturating_add(len);
        if stop > self.end {
            return Err(self.err(
                offset,
                format!("a cell of {len} bytes that ends inside the hive bins"),
            ));
        }
        self.data
            .get(start + 4..stop)
            .ok_or_else(|| self.err(offset, "a cell inside the file"))
    }

    /// The key node at `offset`.
    pub fn key(&self, offset: u32) -> Result<KeyNode, HiveError> {
        let cell = self.cell(offset)?;
        let (_, key) = key_node(cell).map_err(|_| self.err(offset, "a key node (\"nk\")"))?;
        Ok(KeyNode { offset, ..key })
    }

    /// The subkeys of `key`. Damaged lists or keys are skipped with a warning each; the rest
    /// is returned.
    pub fn subkeys(&self, key: &KeyNode, warnings: &mut Vec<String>) -> Vec<KeyNode> {
        let mut offsets = Vec::new();
        if key.subkey_count > 0 && key.subkey_list != NO_CELL {
            self.collect_list(key.subkey_list, 0, &mut offsets, warnings);
        }
        // Damaged `ri` lists can repeat a list many times over: keep no more than the key
        // says it has.
        if offsets.len() > key.subkey_count as usize {
            warnings.push(format!(
                "{:?} lists {} subkeys but says it has {}; extra entries ignored",
                key.name,
                offsets.len(),
                key.subkey_count
            ));
            offsets.truncate(key.subkey_count as usize);
        }
        let mut keys = Vec::with_capacity(offsets.len());
        for offset in offsets {
            match self.key(offset) {
                Ok(k) => keys.push(k),
                Err(e) => warnings.push(format!("skipped a subkey of {:?}: {e}", key.name)),
            }
        }
        keys
    }

    fn collect_list(
        &self,
        offset: u32,
        depth: u32,
        out: &mut Vec<u32>,
        warnings: &mut Vec<String>,
    ) {
        let parsed = self.cell(offset).and_then(|cell| {
            subkey_list(cell)
                .map(|(_, v)| v)
                .map_err(|_| self.err(offset, "a subkey list (\"li\", \"lf\", \"lh\" or \"ri\")"))
        });
        match parsed {
            Ok((sig, offsets)) if &sig == b"ri" => {
                if depth >= MAX_RI_DEPTH {
                    warnings.push(
                        self.err(offset, "at most 8 nested \"ri\" lists")
                            .to_string(),
                    );
                    return;
                }
                for sub in offsets {
                    self.collect_list(sub, depth + 1, out, warnings);
                }
            }
            // 16M entries: far beyond any real key, small enough to stop damaged `ri` fan-out.
            Ok((_, offsets)) if out.len() + offsets.len() <= MAX_LISTED => out.extend(offsets),
            Ok(_) => warnings.push(
                self.err(offset, "at most 16M subkeys below one key")
                    .to_string(),
            ),
            Err(e) => warnings.push(e.to_string()),
        }
    }

    /// The subkey of `key` named `name` (case-insensitive, as Windows compares key names).
    pub fn subkey(&self, key: &KeyNode, name: &str, warnings: &mut Vec<String>) -> Option<KeyNode> {
        self.subkeys(key, warnings)
            .into_iter()
            .find(|k| k.name.eq_ignore_ascii_case(name))
    }

    /// The key at a backslash-separated path below `key`.
    pub fn descend(
        &self,
        key: &KeyNode,
        path: &str,
        warnings: &mut Vec<String>,
    ) -> Option<KeyNode> {
        let mut current = key.clone();
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            current = self.subkey(&current, part, warnings)?;
        }
        Some(current)
    }

    /// The values of `key`; damaged ones are skipped with a warning.
    pub fn values(&self, key: &KeyNode, warnings: &mut Vec<String>) -> Vec<ValueNode> {
        if key.value_count == 0 || key.value_list == NO_CELL {
            return Vec::new();
        }
        let list = match self.cell(key.value_list) {
            Ok(c) => c,
            Err(e) => {
                warnings.push(format!("values of {:?} unreadable: {e}", key.name));
                return Vec::new();
            }
        };
        let available = list.len() / 4;
        if (key.value_count as usize) > available {
            warnings.push(
                self.err(
                    key.value_list,
                    format!(
                        "a value list of {} entries for {:?} (room for {available})",
                        key.value_count, key.name
                    ),
                )
                .to_string(),
            );
        }
        let mut values = Vec::new();
        for chunk in list.chunks_exact(4).take(key.value_count as usize) {
            let offset = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            match self.value(offset) {
                Ok(v) => values.push(v),
                Err(e) => warnings.push(format!("skipped a value of {:?}: {e}", key.name)),
            }
        }
        values
    }

    fn value(&self, offset: u32) -> Result<ValueNode, HiveError> {
        let cell = self.cell(offset)?;
        let (_, value) = value_node(cell).map_err(|_| self.err(offset, "a value (\"vk\")"))?;
        Ok(ValueNode { offset, ..value })
    }

    /// The data bytes of a value, from the value itself, one cell or big-data segments.
    pub fn value_data(&self, value: &ValueNode) -> Result<Cow<'a, [u8]>, HiveError> {
        let size = (value.raw_size & 0x7FFF_FFFF) as usize;
        if value.raw_size & 0x8000_0000 != 0 {
            // Resident data: up to 4 bytes in the data offset field itself.
            let bytes = value.data_offset.to_le_bytes();
            return Ok(Cow::Owned(bytes.get(..size.min(4)).unwrap_or(&[]).to_vec()));
        }
        if size == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        let cell = self.cell(value.data_offset)?;
        if size > BIG_DATA_SEGMENT && self.minor >= 4 && cell.starts_with(b"db") {
            return self.big_data(value.data_offset, cell, size).map(Cow::Owned);
        }
        cell.get(..size).map(Cow::Borrowed).ok_or_else(|| {
            self.err(
                value.data_offset,
                format!(
                    "{size} bytes of data for value {:?} (the cell holds {})",
                    value.name,
                    cell.len()
                ),
            )
        })
    }

    fn big_data(&self, offset: u32, cell: &[u8], size: usize) -> Result<Vec<u8>, HiveError> {
        let (_, (count, list)) =
            big_data(cell).map_err(|_| self.err(offset, "a big data cell (\"db\")"))?;
        let list = self.cell(list)?;
        let mut out = Vec::with_capacity(size);
        for chunk in list.chunks_exact(4).take(usize::from(count)) {
            let seg = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let data = self.cell(seg)?;
            let want = (size - out.len()).min(BIG_DATA_SEGMENT).min(data.len());
            out.extend_from_slice(data.get(..want).unwrap_or(data));
            if out.len() >= size {
                break;
            }
        }
        if out.len() < size {
            return Err(self.err(
                offset,
                format!("{size} bytes of big data (found {})", out.len()),
            ));
        }
        Ok(out)
    }
}

/// What a walk over the hive bins found, cell by cell, without following the key tree: for a
/// truncated hive whose tree cannot be walked from the root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CellScan {
    /// Where the last whole hive bin ends (file offset).
    pub bins_end: u64,
    pub keys: usize,
    pub values: usize,
    /// Names of the keys whose parent key is named `Services` (in file order).
    pub services: Vec<String>,
    /// The same keys as (cell offset of the key, of its `Services` key, of that key's parent).
    pub service_cells: Vec<(u32, u32, u32)>,
}

/// Walk the hive bins of `data` (from 4096, each "hbin" with its size at +8) and count the
/// allocated key and value cells; stop at the first bin that is not whole.
pub fn scan_cells(data: &[u8]) -> CellScan {
    let mut scan = CellScan {
        bins_end: BASE_BLOCK_LEN as u64,
        ..CellScan::default()
    };
    let mut parents: Vec<(u32, u32)> = Vec::new(); // (parent offset, key offset) of every key
    let mut names: std::collections::HashMap<u32, String> = std::collections::HashMap::new();
    let mut bin = BASE_BLOCK_LEN;
    while let Some(header) = data.get(bin..bin + 32) {
        let size = u32_at(header, 8).unwrap_or(0) as usize;
        if &header[..4] != b"hbin" || size < 4096 || !size.is_multiple_of(4096) {
            break;
        }
        let Some(cells) = data.get(bin + 32..bin + size) else {
            break;
        };
        let mut at = 0usize;
        while let Some(raw) = cells.get(at..at + 4) {
            let len = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let abs = len.unsigned_abs() as usize;
            if abs < 8 || at + abs > cells.len() {
                break;
            }
            if len < 0 {
                let cell = &cells[at + 4..at + abs];
                let offset = (bin + 32 + at - BASE_BLOCK_LEN) as u32;
                if let Ok((_, key)) = key_node(cell) {
                    scan.keys += 1;
                    parents.push((u32_at(cell, 0x10).unwrap_or(NO_CELL), offset));
                    names.insert(offset, key.name);
                } else if cell.starts_with(b"vk") {
                    scan.values += 1;
                }
            }
            at += abs;
        }
        bin += size;
        scan.bins_end = bin as u64;
    }
    let parent_of: std::collections::HashMap<u32, u32> =
        parents.iter().map(|&(p, k)| (k, p)).collect();
    for (parent, key) in parents {
        if names
            .get(&parent)
            .is_some_and(|n| n.eq_ignore_ascii_case("Services"))
            && let Some(name) = names.get(&key)
        {
            scan.services.push(name.clone());
            let grandparent = parent_of.get(&parent).copied().unwrap_or(NO_CELL);
            scan.service_cells.push((key, parent, grandparent));
        }
    }
    scan
}

/// Absolute file offset of a cell.
pub fn file_offset(cell: u32) -> u64 {
    BASE_BLOCK_LEN as u64 + u64::from(cell)
}

/// The lh hash of a name: h = h * 37 + upcase(unit), over its UTF-16 units.
pub fn lh_hash(name: &str) -> u32 {
    name.encode_utf16().fold(0u32, |h, u| {
        h.wrapping_mul(37).wrapping_add(u32::from(upcase_unit(u)))
    })
}

/// Upper-case one UTF-16 unit the way key-name comparisons do (simple one-to-one mappings).
pub fn upcase_unit(u: u16) -> u16 {
    char::from_u32(u32::from(u))
        .and_then(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(x), None) => u16::try_from(u32::from(x)).ok(),
                _ => None,
            }
        })
        .unwrap_or(u)
}
