//! The fixed structures of a PML file, decoded with nom: header (docs/formats/pml.md §3), string
//! table (§4), process and module records (§5), hosts and ports (§7), event header (§9).

use nom::bytes::complete::take;
use nom::number::complete::{le_u8, le_u16, le_u32, le_u64};
use nom::{IResult, Parser};
use serde::Serialize;

/// Size of the file header; also where the first event starts in every known file.
pub const HEADER_SIZE: usize = 0x3A8;
/// Size of the fixed event header (§9), the same for 32- and 64-bit logs.
pub const EVENT_HEADER_SIZE: usize = 0x34;

/// The PML file header (0x3A8 bytes).
#[derive(Clone, Debug, Serialize)]
pub struct Header {
    /// 0x004: format version, 9 in every known file.
    pub version: u32,
    /// 0x008: 1 when the capture host was 64-bit (pointer size 8).
    pub is_64bit: bool,
    /// 0x00C: computer name.
    pub computer_name: String,
    /// 0x02C: system root (`C:\Windows`).
    pub system_root: String,
    /// 0x234: number of events.
    pub event_count: u32,
    /// 0x240: offset of the first event.
    pub events_offset: u64,
    /// 0x248: offset of the event-offset array.
    pub event_offsets_offset: u64,
    /// 0x250: offset of the process table.
    pub process_table_offset: u64,
    /// 0x258: offset of the string table.
    pub strings_offset: u64,
    /// 0x260: offset of the icon table.
    pub icon_table_offset: u64,
    /// 0x268: the highest user-mode address of the capture host (kernel frames lie above).
    pub max_user_address: u64,
    /// 0x274/0x278/0x27C: Windows major, minor, build (a verbatim OSVERSIONINFOEXW at 0x270).
    pub os_major: u32,
    pub os_minor: u32,
    pub os_build: u32,
    /// 0x284: service-pack text.
    pub service_pack: String,
    /// 0x38C: logical processors.
    pub processors: u32,
    /// 0x390: physical memory in bytes.
    pub memory_bytes: u64,
    /// 0x398: header size, 0x3A8 in every known file.
    pub header_size: u64,
    /// 0x3A0: offset of the hosts and ports tables.
    pub hosts_ports_offset: u64,
}

impl Header {
    /// Pointer size of the log: 8 or 4.
    pub fn pointer_size(&self) -> usize {
        if self.is_64bit { 8 } else { 4 }
    }

    /// Windows name as Procmon's System Details show it (build ≥ 22000 is Windows 11).
    pub fn os_name(&self) -> String {
        let name = match (self.os_major, self.os_minor) {
            (6, 0) => "Windows Vista",
            (6, 1) => "Windows 7",
            (6, 2) => "Windows 8",
            (6, 3) => "Windows 8.1",
            (10, 0) if self.os_build >= 22000 => "Windows 11",
            (10, 0) => "Windows 10",
            _ => "Windows",
        };
        let sp = if self.service_pack.is_empty() {
            String::new()
        } else {
            format!(", {}", self.service_pack)
        };
        format!("{name}{sp} (build {})", self.os_build)
    }
}

/// Decodes UTF-16LE up to the first NUL (lossy: unpaired surrogates become U+FFFD). The bytes
/// after a terminator are often leftovers; an odd last byte is ignored.
pub fn utf16_until_nul(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

fn utf16_field(n: usize) -> impl FnMut(&[u8]) -> IResult<&[u8], String> {
    move |i| {
        let (i, raw) = take(n)(i)?;
        Ok((i, utf16_until_nul(raw)))
    }
}

/// Parses the header (the caller checks the magic first).
pub fn header(input: &[u8]) -> IResult<&[u8], Header> {
    let (i, _magic) = take(4usize)(input)?;
    let (i, (version, is_64bit)) = (le_u32, le_u32).parse(i)?;
    let (i, computer_name) = utf16_field(0x20)(i)?;
    let (i, system_root) = utf16_field(0x208)(i)?;
    let (i, (event_count, _unused, events_offset, event_offsets_offset)) =
        (le_u32, le_u64, le_u64, le_u64).parse(i)?;
    let (i, (process_table_offset, strings_offset, icon_table_offset, max_user_address)) =
        (le_u64, le_u64, le_u64, le_u64).parse(i)?;
    let (i, (_osv_size, os_major, os_minor, os_build, _platform)) =
        (le_u32, le_u32, le_u32, le_u32, le_u32).parse(i)?;
    let (i, service_pack) = utf16_field(0x100)(i)?;
    let (i, _sp_suite_product) = take(8usize)(i)?;
    let (i, (processors, memory_bytes, header_size, hosts_ports_offset)) =
        (le_u32, le_u64, le_u64, le_u64).parse(i)?;
    Ok((
        i,
        Header {
            version,
            is_64bit: is_64bit != 0,
            computer_name,
            system_root,
            event_count,
            events_offset,
            event_offsets_offset,
            process_table_offset,
            strings_offset,
            icon_table_offset,
            max_user_address,
            os_major,
            os_minor,
            os_build,
            service_pack,
            processors,
            memory_bytes,
            header_size,
            hosts_ports_offset,
        },
    ))
}

/// A module (loaded image) of a process (§5); kernel drivers are in the System process.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Module {
    pub base: u64,
    pub size: u32,
    pub path: String,
    pub version: String,
    pub company: String,
    pub description: String,
    /// PE TimeDateStamp: with the file name and size, the symbol-server key of the image.
    pub timestamp: u32,
}

impl Module {
    /// Whether `address` lies inside the image.
    pub fn contains(&self, address: u64) -> bool {
        address >= self.base && address - self.base < u64::from(self.size)
    }
    /// The file name of the image.
    pub fn file_name(&self) -> &str {
        self.path.rsplit(['\\', '/']).next().unwrap_or(&self.path)
    }
}

/// A process record (§5).
#[derive(Clone, Debug, Serialize)]
pub struct Process {
    /// The key events use (unique per file, not the PID).
    pub process_index: u32,
    pub pid: u32,
    pub parent_pid: u32,
    pub parent_process_index: u32,
    pub authentication_id: u64,
    pub session: u32,
    pub start_time: u64,
    pub end_time: u64,
    pub virtualized: u32,
    pub is_64bit: bool,
    pub integrity: String,
    pub user: String,
    pub name: String,
    pub image_path: String,
    pub command_line: String,
    pub company: String,
    pub version: String,
    pub description: String,
    pub modules: Vec<Module>,
}

impl Process {
    /// A placeholder for events whose process record is missing (truncated logs).
    pub fn unknown(process_index: u32) -> Process {
        Process {
            process_index,
            pid: 0,
            parent_pid: 0,
            parent_process_index: 0,
            authentication_id: 0,
            session: 0,
            start_time: 0,
            end_time: 0,
            virtualized: 0,
            is_64bit: false,
            integrity: String::new(),
            user: String::new(),
            name: String::new(),
            image_path: String::new(),
            command_line: String::new(),
            company: String::new(),
            version: String::new(),
            description: String::new(),
            modules: Vec::new(),
        }
    }

    /// The module containing `address`, if any.
    pub fn module_at(&self, address: u64) -> Option<&Module> {
        self.modules.iter().find(|m| m.contains(address))
    }
}

/// The raw numbers of a process record before string indices are resolved.
pub struct RawProcess {
    pub process_index: u32,
    pub pid: u32,
    pub parent_pid: u32,
    pub parent_process_index: u32,
    pub authentication_id: u64,
    pub session: u32,
    pub start_time: u64,
    pub end_time: u64,
    pub virtualized: u32,
    pub is_64bit: u32,
    /// integrity, user, name, image path, command line, company, version, description.
    pub strings: [u32; 8],
    pub module_count: u32,
}

/// Parses the fixed part of a process record; the modules follow.
pub fn process_record(ptr: usize) -> impl FnMut(&[u8]) -> IResult<&[u8], RawProcess> {
    move |i| {
        let (i, (process_index, pid, parent_pid, parent_process_index, authentication_id)) =
            (le_u32, le_u32, le_u32, le_u32, le_u64).parse(i)?;
        let (i, (session, _garbage, start_time, end_time, virtualized, is_64bit)) =
            (le_u32, le_u32, le_u64, le_u64, le_u32, le_u32).parse(i)?;
        let (i, (a, b, c, d, e, f, g, h)) = (
            le_u32, le_u32, le_u32, le_u32, le_u32, le_u32, le_u32, le_u32,
        )
            .parse(i)?;
        let (i, (_icon_small, _icon_big, _unknown_ptr, module_count)) =
            (le_u32, le_u32, take(ptr), le_u32).parse(i)?;
        Ok((
            i,
            RawProcess {
                process_index,
                pid,
                parent_pid,
                parent_process_index,
                authentication_id,
                session,
                start_time,
                end_time,
                virtualized,
                is_64bit,
                strings: [a, b, c, d, e, f, g, h],
                module_count,
            },
        ))
    }
}

/// The raw numbers of a module record: base, size, path/version/company/description string
/// indices and the PE timestamp.
pub struct RawModule {
    pub base: u64,
    pub size: u32,
    pub strings: [u32; 4],
    pub timestamp: u32,
}

/// Reads a pointer-sized little-endian value.
pub fn pointer(ptr: usize) -> impl FnMut(&[u8]) -> IResult<&[u8], u64> {
    move |i| {
        if ptr == 8 {
            le_u64(i)
        } else {
            le_u32.map(u64::from).parse(i)
        }
    }
}

/// Parses one module record (0x38 bytes on 32-bit, 0x40 on 64-bit).
pub fn module_record(ptr: usize) -> impl FnMut(&[u8]) -> IResult<&[u8], RawModule> {
    move |i| {
        let (i, (_unknown, base, size)) = (pointer(ptr), pointer(ptr), le_u32).parse(i)?;
        let (i, (a, b, c, d, timestamp, _tail)) =
            (le_u32, le_u32, le_u32, le_u32, le_u32, take(24usize)).parse(i)?;
        Ok((
            i,
            RawModule {
                base,
                size,
                strings: [a, b, c, d],
                timestamp,
            },
        ))
    }
}

/// The fixed event header (§9).
#[derive(Clone, Copy, Debug)]
pub struct EventHeader {
    pub process_index: u32,
    pub tid: u32,
    pub class: u32,
    pub operation: u16,
    pub duration: u64,
    pub timestamp: u64,
    pub result: u32,
    pub stack_depth: u16,
    pub detail_size: u32,
    pub extra_offset: u32,
}

/// Parses the 0x34-byte event header.
pub fn event_header(i: &[u8]) -> IResult<&[u8], EventHeader> {
    let (i, (process_index, tid, class, operation, _unk, _seq, duration, timestamp)) = (
        le_u32, le_u32, le_u32, le_u16, le_u16, le_u32, le_u64, le_u64,
    )
        .parse(i)?;
    let (i, (result, stack_depth, _unk2, detail_size, extra_offset)) =
        (le_u32, le_u16, le_u16, le_u32, le_u32).parse(i)?;
    Ok((
        i,
        EventHeader {
            process_index,
            tid,
            class,
            operation,
            duration,
            timestamp,
            result,
            stack_depth,
            detail_size,
            extra_offset,
        },
    ))
}

/// Parses the hosts table then the ports table (§7).
#[allow(clippy::type_complexity)]
pub fn hosts_and_ports(
    i: &[u8],
) -> IResult<&[u8], (Vec<([u8; 16], String)>, Vec<(u16, bool, String)>)> {
    let (mut i, n) = le_u32(i)?;
    let mut hosts = Vec::new();
    for _ in 0..n {
        let (r, (ip, len)) = (take(16usize), le_u32).parse(i)?;
        let (r, name) = take(len as usize)(r)?;
        let mut key = [0u8; 16];
        key.copy_from_slice(ip);
        hosts.push((key, utf16_until_nul(name)));
        i = r;
    }
    let (mut i, n) = le_u32(i)?;
    let mut ports = Vec::new();
    for _ in 0..n {
        let (r, (port, tcp, len)) = (le_u16, le_u16, le_u32).parse(i)?;
        let (r, name) = take(len as usize)(r)?;
        ports.push((port, tcp != 0, utf16_until_nul(name)));
        i = r;
    }
    Ok((i, (hosts, ports)))
}

/// A byte of the input, for small ad-hoc reads.
pub fn byte(i: &[u8]) -> IResult<&[u8], u8> {
    le_u8(i)
}
