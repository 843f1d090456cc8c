//! The Detail column: per-class, per-operation decoding of the detail and extra-detail blobs
//! (docs/formats/pml.md §12), rendered the way Procmon's CSV export shows it (§14). A blob that ends
//! early stops the decoding of that event's details; it never fails the event.

use super::PmlFile;
use super::event::utf16_to_string as utf16_units;
use super::event::{Event, ImageLoad, fs_block_size, narrow_to_string, string_info};
use super::format::utf16_until_nul as utf16_nul;
use super::names::{self, fs_op, proc_op, reg_op};
use super::render::{ListingLayout, RenderOptions, date_time_in, duration, sid_text, thousands};
use std::borrow::Cow;

/// A bounds-checked little-endian cursor over a blob.
#[derive(Clone, Copy)]
pub struct Cur<'a> {
    b: &'a [u8],
    pub pos: usize,
}

impl<'a> Cur<'a> {
    pub fn new(b: &'a [u8]) -> Cur<'a> {
        Cur { b, pos: 0 }
    }
    pub fn at(b: &'a [u8], pos: usize) -> Cur<'a> {
        Cur { b, pos }
    }
    pub fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.bytes(n).map(|_| ())
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|s| s[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|s| u16::from_le_bytes([s[0], s[1]]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub fn u64(&mut self) -> Option<u64> {
        self.bytes(8)
            .map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
    }
    pub fn ptr(&mut self, size: usize) -> Option<u64> {
        if size == 8 {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }
    /// A detail string given its info word (§10).
    pub fn string(&mut self, info: u16) -> Option<String> {
        let (narrow, len) = string_info(info);
        let b = self.bytes(len)?;
        Some(if narrow {
            narrow_to_string(b)
        } else {
            utf16_units(b)
        })
    }
    /// UTF-16LE of `size` bytes, ending early at a NUL (the cursor still moves `size` bytes,
    /// or to the end of the blob when it is shorter).
    pub fn utf16(&mut self, size: usize) -> String {
        let end = self.pos.saturating_add(size).min(self.b.len());
        let s = self.b.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        utf16_nul(s)
    }
    /// UTF-16LE up to a NUL or the end of the blob.
    pub fn utf16_rest(&mut self) -> String {
        let s = self.b.get(self.pos..).unwrap_or_default();
        let n = s
            .chunks_exact(2)
            .position(|c| c == [0, 0])
            .map_or(s.len() / 2 * 2, |i| i * 2 + 2);
        self.pos += n;
        utf16_nul(s)
    }
    /// A multi-sz in `size` bytes (or to the end): strings split at NUL, ended by two NULs.
    pub fn multi_sz(&mut self, size: Option<usize>) -> Vec<String> {
        let end = size.map_or(self.b.len(), |n| {
            self.pos.saturating_add(n).min(self.b.len())
        });
        let s = self.b.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        let mut out = Vec::new();
        let mut cur: Vec<u16> = Vec::new();
        let mut after_nul = false;
        for c in s.chunks_exact(2) {
            let u = u16::from_le_bytes([c[0], c[1]]);
            if u == 0 {
                if after_nul {
                    return out;
                }
                after_nul = true;
                out.push(String::from_utf16_lossy(&cur));
                cur.clear();
            } else {
                after_nul = false;
                cur.push(u);
            }
        }
        if !cur.is_empty() {
            out.push(String::from_utf16_lossy(&cur));
        }
        out
    }
}

struct Out<'e> {
    ev: &'e mut Event,
    opts: &'e RenderOptions,
}

impl Out<'_> {
    /// A FILETIME inside a detail, in the viewer's time zone.
    fn date(&self, filetime: u64) -> String {
        date_time_in(filetime, &self.opts.tz)
    }
    fn put(&mut self, k: &'static str, v: impl Into<String>) {
        self.ev.details.push((Cow::Borrowed(k), v.into()));
    }
    fn put_owned(&mut self, k: String, v: impl Into<String>) {
        self.ev.details.push((Cow::Owned(k), v.into()));
    }
    fn category(&mut self, c: &str) {
        self.ev.category = c.to_string();
    }
}

fn bool_text(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Fills `ev.details`, `ev.category` (and `ev.image`) from the blobs. `path_end` is where the
/// path string ends in `detail` (operation-specific data follows it).
pub fn decode(
    file: &PmlFile,
    opts: &RenderOptions,
    ev: &mut Event,
    detail: &[u8],
    extra: Option<&[u8]>,
    path_end: Option<usize>,
) {
    let ptr = file.pointer_size();
    let mut out = Out { ev, opts };
    let class = out.ev.class;
    let _ = match class {
        names::CLASS_PROCESS => process(&mut out, ptr, detail),
        names::CLASS_REGISTRY => registry(&mut out, detail, extra, path_end),
        names::CLASS_FILE_SYSTEM | names::CLASS_IPC => {
            file_system(&mut out, ptr, detail, extra, path_end)
        }
        names::CLASS_PROFILING => profiling(&mut out, detail),
        names::CLASS_NETWORK => network(&mut out, detail),
        _ => None,
    };
}

fn process(o: &mut Out, ptr: usize, d: &[u8]) -> Option<()> {
    let mut c = Cur::new(d);
    match o.ev.operation {
        proc_op::PROCESS_DEFINED | proc_op::PROCESS_CREATE => {
            c.skip(4)?;
            o.put("PID", c.u32()?.to_string());
            c.skip(0x24)?;
            let a = usize::from(c.u8()?);
            let b = usize::from(c.u8()?);
            let path_info = c.u16()?;
            let cmd_info = c.u16()?;
            c.skip(2 + a + b)?;
            let _path = c.string(path_info)?;
            o.put("Command line", c.string(cmd_info)?);
        }
        proc_op::PROCESS_START => {
            o.put("Parent PID", c.u32()?.to_string());
            let cmd = c.u16()?;
            let dir = c.u16()?;
            let env_chars = c.u32()? as usize;
            o.put("Command line", c.string(cmd)?);
            o.put("Current directory", c.string(dir)?);
            let env = c.multi_sz(Some(env_chars * 2));
            // Procmon separates environment entries with CR + ";\t" (a bare CR in the CSV).
            let mut v = String::new();
            for e in env {
                v.push_str("\r;\t");
                v.push_str(&e);
            }
            o.put("Environment", v);
        }
        proc_op::PROCESS_EXIT | proc_op::PROCESS_STATISTICS => {
            let status = c.u32()?;
            let kernel = c.u64()?;
            let user = c.u64()?;
            let ws = c.u64()?;
            let peak_ws = c.u64()?;
            let private = c.u64()?;
            let peak_private = c.u64()?;
            // The exit status prints as a signed decimal (-1073740756 = 0xC000042C).
            o.put("Exit Status", (status as i32).to_string());
            o.put("User Time", format!("{} seconds", duration(user)));
            o.put("Kernel Time", format!("{} seconds", duration(kernel)));
            o.put("Private Bytes", thousands(i128::from(private)));
            o.put("Peak Private Bytes", thousands(i128::from(peak_private)));
            o.put("Working Set", thousands(i128::from(ws)));
            o.put("Peak Working Set", thousands(i128::from(peak_ws)));
        }
        proc_op::THREAD_CREATE => o.put("Thread ID", c.u32()?.to_string()),
        proc_op::THREAD_EXIT => {
            let tid = o.ev.tid;
            o.put("Thread ID", tid.to_string());
            c.skip(4)?;
            let kernel = c.u64()?;
            let user = c.u64()?;
            o.put("User Time", duration(user));
            o.put("Kernel Time", duration(kernel));
        }
        proc_op::LOAD_IMAGE => {
            let base = c.ptr(ptr)?;
            let size = c.u32()?;
            o.ev.image = Some(ImageLoad { base, size });
            o.put("Image Base", format!("0x{base:x}"));
            o.put("Image Size", format!("0x{size:x}"));
        }
        _ => {}
    }
    Some(())
}

fn profiling(o: &mut Out, d: &[u8]) -> Option<()> {
    let mut c = Cur::new(d);
    match o.ev.operation {
        1 => {
            let user = c.u64()?;
            let kernel = c.u64()?;
            let ws = c.u64()?;
            let private = c.u64()?;
            o.put("User Time", format!("{} seconds", duration(user)));
            o.put("Kernel Time", format!("{} seconds", duration(kernel)));
            o.put("Private Bytes", thousands(i128::from(private)));
            o.put("Working Set", thousands(i128::from(ws)));
        }
        0 => {
            let user = c.u32()?;
            let kernel = c.u32()?;
            let switches = c.u32()?;
            o.put("User Time", duration(u64::from(user)));
            o.put("Kernel Time", duration(u64::from(kernel)));
            o.put("Context Switches", switches.to_string());
        }
        _ => {}
    }
    Some(())
}

fn network(o: &mut Out, d: &[u8]) -> Option<()> {
    let mut c = Cur::new(d);
    c.skip(4)?;
    o.put("Length", c.u32()?.to_string());
    c.skip(36)?;
    let pairs = c.multi_sz(None);
    for kv in pairs.chunks_exact(2) {
        o.put_owned(kv[0].clone(), kv[1].clone());
    }
    Some(())
}

/// Registry data as the CSV shows it (§14): REG_BINARY as spaced hex, REG_QWORD blank,
/// REG_MULTI_SZ joined by ", ", line breaks in strings as "\n;".
fn registry_data(c: &mut Cur, reg_type: u32, len: usize, binary_cap: usize) -> String {
    match reg_type {
        4 => c.u32().map(|v| v.to_string()).unwrap_or_default(),
        11 => String::new(),
        1 | 2 => c.utf16_rest().split("\r\n").collect::<Vec<_>>().join("\n;"),
        3 => {
            let n = len.min(binary_cap).min(c.remaining());
            c.bytes(n)
                .unwrap_or_default()
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
        7 => c.multi_sz(Some(len)).join(", "),
        _ => String::new(),
    }
}

fn reg_type_text(t: u32) -> String {
    names::reg_type_name(t).map_or_else(|| format!("<Unknown: {t}>"), str::to_string)
}

fn registry(o: &mut Out, d: &[u8], extra: Option<&[u8]>, path_end: Option<usize>) -> Option<()> {
    let op = o.ev.operation;
    let mut c = Cur::at(d, 2);
    let after_path = path_end.unwrap_or(d.len());
    match op {
        reg_op::OPEN_KEY | reg_op::CREATE_KEY => {
            o.category("Read");
            c.skip(2)?;
            let desired = c.u32()?;
            if desired == 0 {
                return Some(());
            }
            let desired_text = names::registry_access_text(desired);
            let max_allowed = desired_text == "Maximum Allowed";
            o.put("Desired Access", desired_text);
            let mut x = Cur::new(extra?);
            let granted = x.u32()?;
            if max_allowed {
                o.put("Granted Access", names::registry_access_text(granted));
            }
            match x.u32()? {
                1 => {
                    o.put("Disposition", "REG_CREATED_NEW_KEY");
                    o.category("Write");
                }
                2 => o.put("Disposition", "REG_OPENED_EXISTING_KEY"),
                _ => {}
            }
        }
        reg_op::QUERY_KEY | reg_op::ENUM_KEY => {
            o.category("Read");
            c.skip(2)?;
            let length = c.u32()?;
            let index = if op == reg_op::ENUM_KEY { c.u32()? } else { 0 };
            let class = c.u32()?;
            let class_name = names::key_information_class_name(class)
                .map_or_else(|| format!("<Unknown: {class}>"), str::to_string);
            if op == reg_op::ENUM_KEY {
                o.put("Index", thousands(i128::from(index)));
            } else {
                o.put("Query", class_name);
            }
            let Some(x) = extra else {
                o.put("Length", thousands(i128::from(length)));
                return Some(());
            };
            let mut x = Cur::new(x);
            // KEY_*_INFORMATION (§12.7); Procmon drops TitleIndex, Max*Len, Class*, and
            // LastWriteTime from the CSV.
            let show_name = op != reg_op::QUERY_KEY;
            match class {
                3 => {
                    let n = x.u32()? as usize;
                    let name = x.utf16(n);
                    if show_name {
                        o.put("Name", name);
                    }
                }
                7 => o.put("HandleTags", format!("0x{:x}", x.u32()?)),
                5 => o.put("UserFlags", format!("0x{:x}", x.u32()?)),
                4 => {
                    x.skip(12)?;
                    let subkeys = x.u32()?;
                    x.skip(4)?;
                    let values = x.u32()?;
                    o.put("SubKeys", thousands(i128::from(subkeys)));
                    o.put("Values", thousands(i128::from(values)));
                }
                0 => {
                    x.skip(12)?;
                    let n = x.u32()? as usize;
                    o.put("Name", x.utf16(n));
                }
                2 => {
                    x.skip(20)?;
                    let subkeys = x.u32()?;
                    x.skip(8)?;
                    let values = x.u32()?;
                    o.put("SubKeys", thousands(i128::from(subkeys)));
                    o.put("Values", thousands(i128::from(values)));
                }
                1 => {
                    x.skip(20)?;
                    let n = x.u32()? as usize;
                    o.put("Name", x.utf16(n));
                }
                _ => {}
            }
        }
        reg_op::QUERY_VALUE | reg_op::ENUM_VALUE => {
            o.category("Read");
            c.skip(2)?;
            let length = c.u32()?;
            let index = if op == reg_op::ENUM_VALUE {
                c.u32()?
            } else {
                0
            };
            let class = c.u32()?;
            if op == reg_op::ENUM_VALUE {
                o.put("Index", thousands(i128::from(index)));
            }
            let Some(xb) = extra else {
                o.put("Length", thousands(i128::from(length)));
                return Some(());
            };
            let mut x = Cur::new(xb);
            x.skip(4)?;
            let reg_type = x.u32()?;
            let data_len = match class {
                1 => {
                    let data_off = x.u32()? as usize;
                    let len = x.u32()?;
                    let n = x.u32()? as usize;
                    let name = x.utf16(n);
                    if op != reg_op::QUERY_VALUE {
                        o.put("Name", name);
                    }
                    x = Cur::at(xb, data_off);
                    len
                }
                2 => x.u32()?,
                _ => {
                    o.put("Type", reg_type_text(reg_type));
                    return Some(());
                }
            };
            o.put("Type", reg_type_text(reg_type));
            o.put("Length", thousands(i128::from(data_len)));
            if data_len > 0 {
                // Procmon's CSV shows at most the first 16 bytes of REG_BINARY data.
                o.put(
                    "Data",
                    registry_data(&mut x, reg_type, data_len as usize, 16),
                );
            }
        }
        reg_op::SET_INFO_KEY => {
            o.category("Write Metadata");
            c.skip(2)?;
            let class = c.u32()?;
            c.skip(4)?;
            let length = c.u16()?;
            let class_text = match class {
                0 => "KeyWriteTimeInformation".to_string(),
                1 => "KeyWow64FlagsInformation".to_string(),
                5 => "KeySetHandleTagsInformation".to_string(),
                n => format!("<Unknown: {n}>"),
            };
            o.put("KeySetInformationClass", class_text);
            o.put("Length", thousands(i128::from(length)));
            if length > 0 {
                let mut x = Cur::at(d, after_path);
                match class {
                    0 => {
                        let t = o.date(x.u64()?);
                        o.put("LastWriteTime", t)
                    }
                    1 => o.put("Wow64Flags", format!("0x{:x}", x.u32()?)),
                    5 => o.put("HandleTags", format!("0x{:x}", x.u32()?)),
                    _ => {}
                }
            }
        }
        reg_op::SET_VALUE => {
            o.category("Write");
            c.skip(2)?;
            let reg_type = c.u32()?;
            let length = c.u32()?;
            let copied = c.u32()?;
            let type_text = reg_type_text(reg_type);
            let known = names::reg_type_name(reg_type).is_some();
            o.put("Type", type_text);
            o.put("Length", thousands(i128::from(length)));
            let n = length.min(copied) as usize;
            if n > 0 && known {
                let mut x = Cur::at(d, after_path);
                let sub = x.bytes(n.min(x.remaining()))?;
                // Procmon's CSV shows only the first 16 bytes of REG_BINARY data written.
                o.put("Data", registry_data(&mut Cur::new(sub), reg_type, n, 16));
            }
        }
        reg_op::DELETE_KEY | reg_op::DELETE_VALUE => o.category("Write"),
        reg_op::QUERY_MULTIPLE_VALUE_KEY => o.category("Read"),
        reg_op::SET_KEY_SECURITY => o.category("Write Metadata"),
        reg_op::QUERY_KEY_SECURITY => o.category("Read Metadata"),
        reg_op::LOAD_KEY | reg_op::RENAME_KEY => {
            let info2 = Cur::at(d, 2).u16()?;
            let mut x = Cur::at(d, after_path);
            let s = x.string(info2)?;
            if op == reg_op::LOAD_KEY {
                o.put("Hive Path", s);
            } else {
                o.category("Write");
                o.put("New Name", s);
            }
        }
        _ => {}
    }
    Some(())
}

/// Field offsets inside the file-system parameter block differ by pointer size (§12.6).
struct Blk<'a> {
    b: &'a [u8],
    ptr: usize,
}

impl Blk<'_> {
    fn u32(&self, off32: usize, off64: usize) -> Option<u32> {
        Cur::at(self.b, if self.ptr == 8 { off64 } else { off32 }).u32()
    }
    fn u16(&self, off32: usize, off64: usize) -> Option<u16> {
        Cur::at(self.b, if self.ptr == 8 { off64 } else { off32 }).u16()
    }
    fn u64(&self, off32: usize, off64: usize) -> Option<u64> {
        Cur::at(self.b, if self.ptr == 8 { off64 } else { off32 }).u64()
    }
    fn ptr(&self, off32: usize, off64: usize) -> Option<u64> {
        Cur::at(self.b, if self.ptr == 8 { off64 } else { off32 }).ptr(self.ptr)
    }
}

fn file_system(
    o: &mut Out,
    ptr: usize,
    d: &[u8],
    extra: Option<&[u8]>,
    path_end: Option<usize>,
) -> Option<()> {
    let op = o.ev.operation;
    let sub = o.ev.sub_operation;
    // Categories by operation, whatever the sub-operation (oracle CSVs).
    match op {
        fs_op::QUERY_INFORMATION_FILE | fs_op::QUERY_EA_FILE => o.category("Read Metadata"),
        fs_op::SET_INFORMATION_FILE | fs_op::SET_EA_FILE => o.category("Write Metadata"),
        _ => {}
    }
    if names::has_sub_operations(op)
        && (sub != 0 || op == fs_op::PLUG_AND_PLAY)
        && names::sub_operation_name(op, sub).is_none()
    {
        // Procmon shows no detail for sub-operations it does not know.
        return Some(());
    }
    let blk = Blk {
        b: d.get(4..4 + fs_block_size(ptr))?,
        ptr,
    };
    let after = path_end?;
    let mut tail = Cur::at(d, after);
    match (op, sub) {
        (fs_op::CREATE_FILE, _) => {
            let access = tail.u32()?;
            let sid_len = usize::from(tail.u8()?);
            tail.skip(3)?;
            o.put("Desired Access", names::file_access_text(access));
            let disp_opts = blk.u32(0x10, 0x14)?;
            let disposition = disp_opts >> 24;
            let options = disp_opts & 0xff_ffff;
            let attributes = blk.u16(0x14, 0x1C)?;
            let share = blk.u16(0x16, 0x1E)?;
            let allocation = blk.u32(0x24, 0x34)?;
            let disp_name = match disposition {
                0 => "Supersede",
                1 => "Open",
                2 => "Create",
                3 => "OpenIf",
                4 => "Overwrite",
                5 => "OverwriteIf",
                _ => "<unknown>",
            };
            o.put("Disposition", disp_name);
            o.put(
                "Options",
                names::mask_text(options, names::CREATE_OPTIONS, ", "),
            );
            o.put(
                "Attributes",
                names::file_attributes_text(u32::from(attributes)),
            );
            o.put("ShareMode", names::share_mode_text(u32::from(share)));
            // The allocation size only matters when the open may create the file.
            if matches!(disposition, 0 | 2 | 3 | 5) {
                o.put("AllocationSize", thousands(i128::from(allocation)));
            } else {
                o.put("AllocationSize", "n/a");
            }
            if sid_len > 0 {
                o.put("Impersonating", sid_text(tail.bytes(sid_len)?));
            }
            let open_result = extra.and_then(|x| Cur::new(x).u32());
            if let Some(r) = open_result {
                let name = match r {
                    0 => "Superseded",
                    1 => "Opened",
                    2 => "Created",
                    3 => "Overwritten",
                    4 => "Exists",
                    5 => "DoesNotExist",
                    _ => "<unknown>",
                };
                o.put("OpenResult", name);
            }
            // Category Write for opens that create or replace (§12.6).
            let write = match open_result {
                Some(0 | 2 | 3) => true,
                Some(1 | 4 | 5) => false,
                _ => !matches!(disposition, 1) && disposition <= 5,
            };
            if write {
                o.category("Write");
            }
        }
        (fs_op::CREATE_FILE_MAPPING, _) => {
            let sync = blk.u32(0x0C, 0x0C)?;
            o.put(
                "SyncType",
                match sync {
                    0 => "SyncTypeOther".to_string(),
                    1 => "SyncTypeCreateSection".to_string(),
                    n => format!("Unknown: {n:#x}"),
                },
            );
            // Procmon's 64-bit build reads the dword 4 bytes past the PageProtection field (procmon-parser PR #24:
            // `rsi+4Ch` instead of `rsi+48h`), i.e. the low half of the OutputInformation
            // pointer, so what it prints for a 64-bit log comes from that dword; a NULL
            // pointer (Windows 7 has no section-sync output) prints no PageProtection.
            if let Some(text) = page_protection_text(blk.u32(0x10, 0x14)?) {
                o.put("PageProtection", text);
            }
        }
        (fs_op::READ_FILE | fs_op::WRITE_FILE, _) => {
            o.category(if op == fs_op::READ_FILE {
                "Read"
            } else {
                "Write"
            });
            let flags = blk.u32(0x04, 0x04)?;
            let mut length = blk.u32(0x0C, 0x0C)?;
            let offset = blk.u64(0x14, 0x1C)? as i64;
            if let Some(n) = extra.and_then(|x| Cur::new(x).u32()) {
                length = n;
            }
            o.put("Offset", thousands(i128::from(offset)));
            o.put("Length", thousands(i128::from(length)));
            let io = flags & 0x00e0_00ff;
            if io != 0 {
                o.put("I/O Flags", names::io_flags_text(io));
            }
            let priority = (flags >> 17) & 7;
            if priority != 0 {
                o.put("Priority", names::priority_text(priority));
            }
        }
        (fs_op::FILE_SYSTEM_CONTROL | fs_op::DEVICE_IO_CONTROL, _) => {
            let write_len = blk.u32(0x08, 0x08)?;
            let read_len = blk.u32(0x0C, 0x0C)?;
            let code = blk.u32(0x14, 0x1C)?;
            let control = names::ioctl_text(code);
            let category = match control.as_str() {
                "FSCTL_OFFLOAD_READ" | "FSCTL_GET_REPARSE_POINT" | "FSCTL_READ_RAW_ENCRYPTED" => {
                    "Read"
                }
                "FSCTL_OFFLOAD_WRITE"
                | "FSCTL_MOVE_FILE"
                | "FSCTL_DELETE_REPARSE_POINT"
                | "FSCTL_WRITE_RAW_ENCRYPTED"
                | "FSCTL_PIPE_TRANSCEIVE"
                | "FSCTL_PIPE_INTERNAL_TRANSCEIVE" => "Write",
                "FSCTL_SET_COMPRESSION"
                | "FSCTL_WRITE_PROPERTY_DATA"
                | "FSCTL_SET_OBJECT_ID"
                | "FSCTL_DELETE_OBJECT_ID"
                | "FSCTL_SET_REPARSE_POINT"
                | "FSCTL_SET_SPARSE"
                | "FSCTL_SET_ENCRYPTION"
                | "FSCTL_CREATE_USN_JOURNAL"
                | "FSCTL_WRITE_USN_CLOSE_RECORD"
                | "FSCTL_EXTEND_VOLUME"
                | "FSCTL_DELETE_USN_JOURNAL" => "Write Metadata",
                "FSCTL_QUERY_RETRIEVAL_POINTERS"
                | "FSCTL_GET_COMPRESSION"
                | "FSCTL_QUERY_FAT_BPB"
                | "FSCTL_FILESYSTEM_GET_STATISTICS"
                | "FSCTL_GET_NTFS_VOLUME_DATA"
                | "FSCTL_GET_NTFS_FILE_RECORD"
                | "FSCTL_GET_VOLUME_BITMAP"
                | "FSCTL_GET_RETRIEVAL_POINTERS"
                | "FSCTL_IS_VOLUME_DIRTY"
                | "FSCTL_READ_PROPERTY_DATA"
                | "FSCTL_FIND_FILES_BY_SID"
                | "FSCTL_GET_OBJECT_ID"
                | "FSCTL_READ_USN_JOURNAL"
                | "FSCTL_SET_OBJECT_ID_EXTENDED"
                | "FSCTL_CREATE_OR_GET_OBJECT_ID"
                | "FSCTL_READ_FILE_USN_DATA"
                | "FSCTL_QUERY_USN_JOURNAL" => "Read Metadata",
                _ => "",
            };
            if !category.is_empty() {
                o.category(category);
            }
            o.put("Control", control.clone());
            if op == fs_op::FILE_SYSTEM_CONTROL {
                match control.as_str() {
                    "FSCTL_PIPE_INTERNAL_WRITE" => {
                        o.put("Length", thousands(i128::from(write_len)))
                    }
                    "FSCTL_PIPE_INTERNAL_READ" => o.put("Length", thousands(i128::from(read_len))),
                    "FSCTL_OFFLOAD_READ" | "FSCTL_OFFLOAD_WRITE" => {
                        // FSCTL_OFFLOAD_{READ,WRITE}_INPUT after the path: Size, Flags,
                        // (read only: TokenTimeToLive, Reserved), FileOffset, CopyLength.
                        tail.skip(if control == "FSCTL_OFFLOAD_READ" {
                            16
                        } else {
                            8
                        })?;
                        let off = tail.u64()? as i64;
                        let len = tail.u64()?;
                        o.put("Offset", thousands(i128::from(off)));
                        o.put("Length", thousands(i128::from(len)));
                    }
                    "FSCTL_PIPE_TRANSCEIVE" | "FSCTL_PIPE_INTERNAL_TRANSCEIVE" => {
                        o.put("WriteLength", thousands(i128::from(write_len)));
                        o.put("ReadLength", thousands(i128::from(read_len)));
                    }
                    _ => {}
                }
            }
        }
        (fs_op::DIRECTORY_CONTROL, 1) => query_directory(o, &blk, &mut tail, extra)?,
        (fs_op::DIRECTORY_CONTROL, 2) => {
            o.category("Read Metadata");
            o.put("Filter", names::notify_change_text(blk.u32(0x10, 0x14)?));
        }
        (fs_op::QUERY_INFORMATION_FILE, _) => query_information(o, &blk, sub, extra)?,
        (fs_op::SET_INFORMATION_FILE, _) => set_information(o, sub, &mut tail)?,
        (fs_op::QUERY_VOLUME_INFORMATION, _) => query_volume(o, sub, extra)?,
        (fs_op::QUERY_SECURITY_FILE, _) => {
            o.category("Read Metadata");
            o.put(
                "Information",
                names::security_information_text(blk.u32(0x0C, 0x0C)?),
            );
        }
        (fs_op::SET_SECURITY_FILE, _) => {
            o.category("Write Metadata");
            o.put(
                "Information",
                names::security_information_text(blk.u32(0x0C, 0x0C)?),
            );
        }
        (fs_op::LOCK_UNLOCK_FILE, 1..=4) => {
            // FLT_PARAMETERS.LockControl: Length (pointer to the value, copied into the
            // tail), Key, ByteOffset, then the FailImmediately and ExclusiveLock flags.
            let offset = blk.u64(0x14, 0x1C)? as i64;
            // The Length value follows the path; a 32-bit Procmon shows its low half.
            let length = if ptr == 8 {
                tail.u64()?
            } else {
                u64::from(tail.u32()?)
            };
            if sub == 1 {
                let fail = Cur::at(blk.b, if ptr == 8 { 0x2C } else { 0x20 }).u8()?;
                let excl = Cur::at(blk.b, if ptr == 8 { 0x2D } else { 0x21 }).u8()?;
                o.put("Exclusive", bool_text(excl != 0));
                o.put("Offset", thousands(i128::from(offset)));
                o.put("Length", thousands(i128::from(length)));
                o.put("Fail Immediately", bool_text(fail != 0));
            } else if sub == 2 {
                o.put("Offset", thousands(i128::from(offset)));
                o.put("Length", thousands(i128::from(length)));
            }
        }
        (fs_op::FASTIO_ACQUIRE_FOR_MOD_WRITE, _) => {
            // The EndingOffset value (the parameter is a pointer) is copied after the path.
            let end = tail.u64()? as i64;
            o.put("EndingOffset", thousands(i128::from(end)));
        }
        (fs_op::FASTIO_MDL_READ_COMPLETE, _) => {
            o.put("MDL", format!("0x{:x}", blk.ptr(0x0C, 0x0C)?));
        }
        (fs_op::CREATE_PIPE | fs_op::CREATE_MAIL_SLOT, _) => {
            let mut c = Cur::at(blk.b, 4);
            o.put("Minor ID", "0x0");
            o.put("IRP Flags", format!("0x{:x}", c.u32()?));
            o.put("Flags", format!("0x{:x}", c.u32()?));
            o.put("Arg1", format!("0x{:x}", c.u64()?));
            o.put("Arg2", format!("0x{:x}", c.u32()?));
            c.skip(4)?;
            o.put("Arg3", format!("0x{:x}", c.u64()?));
            o.put("Arg4", format!("0x{:x}", c.u64()?));
        }
        _ => {}
    }
    Some(())
}

/// PageProtection as Procmon renders it: the first of its six base protections present
/// (in its order, not by value), then `|PAGE_NOCACHE`; nothing when neither is set.
fn page_protection_text(prot: u32) -> Option<String> {
    let base = [
        (0x02, "PAGE_READONLY"),
        (0x04, "PAGE_READWRITE"),
        (0x08, "PAGE_WRITECOPY"),
        (0x10, "PAGE_EXECUTE"),
        (0x20, "PAGE_EXECUTE_READ"),
        (0x40, "PAGE_EXECUTE_READWRITE"),
    ]
    .into_iter()
    .find(|(bit, _)| prot & bit != 0)
    .map(|(_, name)| name);
    let nocache = prot & 0x200 != 0;
    match (base, nocache) {
        (None, false) => None,
        (base, nocache) => Some(format!(
            "{}{}",
            base.unwrap_or(""),
            if nocache { "|PAGE_NOCACHE" } else { "" }
        )),
    }
}

fn query_directory(o: &mut Out, blk: &Blk, tail: &mut Cur, extra: Option<&[u8]>) -> Option<()> {
    o.category("Read Metadata");
    let first = o.ev.details.len();
    let class = blk.u32(0x14, 0x1C)?;
    let class_name = names::file_information_class_name(class)
        .map_or_else(|| format!("<Unknown: {class}>"), str::to_string);
    let layout = o.opts.listing;
    if layout == ListingLayout::ClassFirst {
        o.put("FileInformationClass", class_name.clone());
    }
    let info = tail.u16()?;
    let filter = tail.string(info)?;
    if !filter.is_empty() {
        o.put("Filter", filter);
    }
    // The listing: FILE_*_DIRECTORY_INFORMATION records chained by NextEntryOffset. Procmon
    // numbers each name by its place in the detail list (so the first name is 0, 1 or 2).
    if let Some(x) = extra {
        for name in listing_names(x, class) {
            let n = o.ev.details.len() - first;
            o.put_owned(n.to_string(), name);
        }
    }
    if layout == ListingLayout::ClassInSlot2 {
        // Procmon 3.5x writes FileInformationClass into slot 2 of the detail list: appended
        // when the list holds exactly two items, overwriting the third item when longer,
        // dropped when shorter (observed in every 2020 oracle CSV that shows it).
        let slot = first + 2;
        match o.ev.details.len().cmp(&slot) {
            std::cmp::Ordering::Equal => o.put("FileInformationClass", class_name),
            std::cmp::Ordering::Greater => {
                if let Some(item) = o.ev.details.get_mut(slot) {
                    *item = (Cow::Borrowed("FileInformationClass"), class_name);
                }
            }
            std::cmp::Ordering::Less => {}
        }
    }
    Some(())
}

/// The names of a directory listing of information class `class`, as far as the blob holds
/// whole records (a cut-off record ends the list; a loop of offsets cannot run away).
fn listing_names(x: &[u8], class: u32) -> Vec<String> {
    let (len_at, name_off) = match class {
        1 => (0x3C, 0x40),  // FileDirectoryInformation: name length at 0x3C, name at 0x40
        2 => (0x3C, 0x44),  // FileFullDirectoryInformation
        3 => (0x3C, 0x5E),  // FileBothDirectoryInformation
        12 => (0x08, 0x0C), // FileNamesInformation
        37 => (0x3C, 0x68), // FileIdBothDirectoryInformation
        38 => (0x3C, 0x50), // FileIdFullDirectoryInformation
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut entry = 0usize;
    while out.len() < 65_536 {
        let (Some(next), Some(len)) = (
            Cur::at(x, entry).u32(),
            Cur::at(x, entry.saturating_add(len_at)).u32(),
        ) else {
            break;
        };
        out.push(Cur::at(x, entry.saturating_add(name_off)).utf16(len as usize));
        if next == 0 {
            break;
        }
        match entry.checked_add(next as usize) {
            Some(e) => entry = e,
            None => break,
        }
    }
    out
}

fn file_time_fields(o: &mut Out, c: &mut Cur) -> Option<()> {
    for k in [
        "CreationTime",
        "LastAccessTime",
        "LastWriteTime",
        "ChangeTime",
    ] {
        let t = o.date(c.u64()?);
        o.put(k, t);
    }
    Some(())
}

fn query_information(o: &mut Out, blk: &Blk, sub: u8, extra: Option<&[u8]>) -> Option<()> {
    let Some(xb) = extra else {
        return Some(());
    };
    let mut x = Cur::new(xb);
    match sub {
        4 => {
            file_time_fields(o, &mut x)?;
            o.put("FileAttributes", names::file_attributes_text(x.u32()?));
        }
        34 => {
            file_time_fields(o, &mut x)?;
            // Procmon quirk reproduced: it formats these two sizes as dates.
            let (alloc, eof) = (o.date(x.u64()?), o.date(x.u64()?));
            o.put("AllocationSize", alloc);
            o.put("EndOfFile", eof);
            o.put("FileAttributes", names::file_attributes_text(x.u32()?));
        }
        18 => {
            // FILE_ALL_INFORMATION: Basic, Standard, Internal, Ea, Access, Position, Mode,
            // Alignment, Name.
            file_time_fields(o, &mut x)?;
            o.put("FileAttributes", names::file_attributes_text(x.u32()?));
            x.skip(4)?;
            standard_fields(o, &mut x)?;
            x.skip(2)?;
            o.put("IndexNumber", format!("0x{:x}", x.u64()?));
            o.put("EaSize", x.u32()?.to_string());
            o.put("Access", names::file_access_text(x.u32()?));
            o.put("Position", thousands(i128::from(x.u64()? as i64)));
            o.put(
                "Mode",
                names::mask_text(x.u32()?, names::CREATE_OPTIONS, ", "),
            );
            o.put("AlignmentRequirement", alignment_text(x.u32()?));
        }
        5 => standard_fields(o, &mut x)?,
        6 => o.put("IndexNumber", format!("0x{:x}", x.u64()?)),
        7 => o.put("EaSize", x.u32()?.to_string()),
        35 => {
            o.put("Attributes", names::file_attributes_text(x.u32()?));
            o.put("ReparseTag", format!("0x{:x}", x.u32()?));
        }
        9 => {
            // FILE_NAME_INFORMATION: the name length, then as much of the name as the
            // caller's buffer held.
            let buf = blk.u32(0x0C, 0x0C).unwrap_or(u32::MAX) as usize;
            let n = x.u32()? as usize;
            o.put("Name", x.utf16(n.min(buf.saturating_sub(4))));
        }
        _ => {}
    }
    Some(())
}

fn standard_fields(o: &mut Out, x: &mut Cur) -> Option<()> {
    let alloc = x.u64()? as i64;
    let eof = x.u64()? as i64;
    let links = x.u32()?;
    let delete = x.u8()?;
    let dir = x.u8()?;
    o.put("AllocationSize", thousands(i128::from(alloc)));
    o.put("EndOfFile", thousands(i128::from(eof)));
    o.put("NumberOfLinks", links.to_string());
    o.put("DeletePending", bool_text(delete != 0));
    o.put("Directory", bool_text(dir != 0));
    Some(())
}

fn alignment_text(a: u32) -> String {
    match a {
        0 => "Byte".into(),
        1 => "Word".into(),
        3 => "Long".into(),
        7 => "Quad".into(),
        15 => "Octa".into(),
        31 => "32 Byte".into(),
        63 => "64 Byte".into(),
        127 => "128 Byte".into(),
        255 => "256 Byte".into(),
        511 => "512 Byte".into(),
        n => format!("0x{n:x}"),
    }
}

fn set_information(o: &mut Out, sub: u8, tail: &mut Cur) -> Option<()> {
    match sub {
        13 => {
            let delete = tail.u8()? != 0;
            o.put("Delete", bool_text(delete));
            if delete {
                o.category("Write");
            }
        }
        4 => {
            file_time_fields(o, tail)?;
            o.put("FileAttributes", names::file_attributes_text(tail.u32()?));
        }
        19 => {
            o.put("AllocationSize", thousands(i128::from(tail.u64()? as i64)));
        }
        20 => {
            o.put("EndOfFile", thousands(i128::from(tail.u64()? as i64)));
        }
        _ => {}
    }
    Some(())
}

fn query_volume(o: &mut Out, sub: u8, extra: Option<&[u8]>) -> Option<()> {
    let mut x = Cur::new(extra?);
    match sub {
        1 => {
            let created = x.u64()?;
            let serial = x.u32()?;
            let label_len = x.u32()? as usize;
            let objects = x.u8()?;
            x.skip(1)?;
            let created = o.date(created);
            o.put("VolumeCreationTime", created);
            o.put(
                "VolumeSerialNumber",
                format!("{:04X}-{:04X}", serial >> 16, serial & 0xffff),
            );
            o.put("SupportsObjects", bool_text(objects != 0));
            o.put("VolumeLabel", x.utf16(label_len));
        }
        3 => {
            o.put(
                "TotalAllocationUnits",
                thousands(i128::from(x.u64()? as i64)),
            );
            o.put(
                "AvailableAllocationUnits",
                thousands(i128::from(x.u64()? as i64)),
            );
            o.put("SectorsPerAllocationUnit", thousands(i128::from(x.u32()?)));
            o.put("BytesPerSector", thousands(i128::from(x.u32()?)));
        }
        7 => {
            o.put(
                "TotalAllocationUnits",
                thousands(i128::from(x.u64()? as i64)),
            );
            o.put(
                "CallerAvailableAllocationUnits",
                thousands(i128::from(x.u64()? as i64)),
            );
            o.put(
                "ActualAvailableAllocationUnits",
                thousands(i128::from(x.u64()? as i64)),
            );
            o.put("SectorsPerAllocationUnit", thousands(i128::from(x.u32()?)));
            o.put("BytesPerSector", thousands(i128::from(x.u32()?)));
        }
        5 => {
            let attrs = x.u32()?;
            let max_len = x.u32()?;
            let name_len = x.u32()? as usize;
            o.put("FileSystemAttributes", names::fs_attributes_text(attrs));
            o.put("MaximumComponentNameLength", max_len.to_string());
            o.put("FileSystemName", x.utf16(name_len));
        }
        8 => {
            let id = x.bytes(16)?;
            o.put(
                "ObjectId",
                id.iter().map(|b| format!("{b:02X}")).collect::<String>(),
            );
        }
        _ => {}
    }
    Some(())
}
