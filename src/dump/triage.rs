//! Triage ("small memory") dumps: TRIAGE_DUMP64 at 0x2000 (TRIAGE_DUMP32 at 0x1000), the driver
//! list and its string pool, unloaded drivers, the data blocks that are the dump's memory, the
//! call-stack window and the EPROCESS copy (docs/formats/crash-dump.md §2.6). No crate reads these.

use super::le::{u32_at, u64_at, utf16_at};
use super::memory::{Backing, Block, Memory};
use super::{CrashDump, DumpError, Module, ThreadInfo, UnloadedModule};
use serde::Serialize;

/// TRIAGE_DUMP64 fields (file offsets unless named otherwise).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TriageHeader {
    pub service_pack_build: u32,
    pub size_of_dump: u32,
    pub valid_offset: u32,
    /// Whether `TRGD` sits at ValidOffset.
    pub valid: bool,
    pub context_offset: u32,
    pub exception_offset: u32,
    pub mm_offset: u32,
    pub unloaded_drivers_offset: u32,
    pub prcb_offset: u32,
    pub process_offset: u32,
    pub thread_offset: u32,
    pub call_stack_offset: u32,
    pub size_of_call_stack: u32,
    pub driver_list_offset: u32,
    pub driver_count: u32,
    pub string_pool_offset: u32,
    pub string_pool_size: u32,
    pub broken_driver_offset: u32,
    pub triage_options: u32,
    pub top_of_stack: u64,
    pub data_page_address: u64,
    pub data_page_offset: u32,
    pub data_page_size: u32,
    pub debugger_data_offset: u32,
    pub debugger_data_size: u32,
    pub data_blocks_offset: u32,
    pub data_blocks_count: u32,
    /// The CPUID vendor string kept in the saved KPRCB (`GenuineIntel`, `AuthenticAMD`...):
    /// WinDbg names 0x124's MODULE_NAME after it.
    pub cpu_vendor: Option<String>,
}

/// x86/x64 CPUID vendor strings (KPRCB.VendorString: 12 characters and a NUL).
const CPU_VENDORS: &[&[u8; 12]] = &[
    b"GenuineIntel",
    b"AuthenticAMD",
    b"HygonGenuine",
    b"CentaurHauls",
    b"  Shanghai  ",
];

/// The vendor string within the first 64 KiB of the saved KPRCB at file offset `prcb`.
fn cpu_vendor(b: &[u8], prcb: usize) -> Option<String> {
    let region = b.get(prcb..)?;
    let region = &region[..region.len().min(0x1_0000)];
    region.windows(13).find_map(|w| {
        CPU_VENDORS
            .iter()
            .find(|v| w[..12] == v[..] && w[12] == 0)
            .map(|v| String::from_utf8_lossy(&v[..]).into_owned())
    })
}

/// `TRGD`, the end marker at ValidOffset.
const TRGD: u32 = 0x4447_5254;

fn parse_header64(b: &[u8], at: usize) -> Option<TriageHeader> {
    let d = |o: usize| u32_at(b, at + o);
    Some(TriageHeader {
        service_pack_build: d(0)?,
        size_of_dump: d(4)?,
        valid_offset: d(8)?,
        valid: false,
        context_offset: d(0xc)?,
        exception_offset: d(0x10)?,
        mm_offset: d(0x14)?,
        unloaded_drivers_offset: d(0x18)?,
        prcb_offset: d(0x1c)?,
        process_offset: d(0x20)?,
        thread_offset: d(0x24)?,
        call_stack_offset: d(0x28)?,
        size_of_call_stack: d(0x2c)?,
        driver_list_offset: d(0x30)?,
        driver_count: d(0x34)?,
        string_pool_offset: d(0x38)?,
        string_pool_size: d(0x3c)?,
        broken_driver_offset: d(0x40)?,
        triage_options: d(0x44)?,
        top_of_stack: u64_at(b, at + 0x48)?,
        data_page_address: u64_at(b, at + 0x60)?,
        data_page_offset: d(0x68)?,
        data_page_size: d(0x6c)?,
        debugger_data_offset: d(0x70)?,
        debugger_data_size: d(0x74)?,
        data_blocks_offset: d(0x78)?,
        data_blocks_count: d(0x7c)?,
        cpu_vendor: None,
    })
}

/// A string-pool entry at a file offset: u32 character count, then UTF-16 text.
fn pool_string(b: &[u8], off: u32) -> Option<String> {
    let off = off as usize;
    let n = u32_at(b, off)? as usize;
    utf16_at(b, off + 4, n.min(1024))
}

fn file_name(path: &str) -> String {
    path.rsplit(['\\', '/']).next().unwrap_or(path).to_string()
}

/// EPROCESS.ImageFileName offset by build (x64), checked on 19041; the older value is the one
/// public symbol dumps give for 1507–1909. Validated by content before use.
fn image_file_name_offset(machine: u32, build: u32) -> &'static [usize] {
    match (machine, build) {
        (0x8664, b) if b >= 19041 => &[0x5a8, 0x450],
        (0x8664, _) => &[0x450, 0x5a8],
        (0xaa64, _) => &[0x5a8, 0x450, 0x5c0],
        _ => &[0x174, 0x16c],
    }
}

/// A process name: 1..15 printable ASCII bytes then NUL.
fn plausible_name(b: &[u8]) -> Option<String> {
    let end = b.iter().take(15).position(|&c| c == 0)?;
    let s = b.get(..end)?;
    (end > 0 && s.iter().all(|c| c.is_ascii_graphic() || *c == b' '))
        .then(|| String::from_utf8_lossy(s).into_owned())
}

/// Read the 64-bit triage body into `dump`.
pub fn read_triage64(
    dump: &mut CrashDump,
    bytes: &std::sync::Arc<crate::mapped::Bytes>,
) -> Result<(), DumpError> {
    let b: &[u8] = bytes;
    let mut h = parse_header64(b, 0x2000).ok_or_else(|| DumpError::Format {
        path: dump.path.clone(),
        offset: 0x2000,
        expected: "a TRIAGE_DUMP64 header (0x80 bytes)".to_string(),
    })?;
    h.valid = u32_at(b, h.valid_offset as usize) == Some(TRGD);
    if h.prcb_offset != 0 {
        h.cpu_vendor = cpu_vendor(b, h.prcb_offset as usize);
    }
    if !h.valid {
        dump.warn(format!(
            "triage ValidOffset {:#x} does not hold `TRGD`: the dump may be truncated",
            h.valid_offset
        ));
    }
    // Drivers: 0x90-byte entries, name offset +0, DllBase +0x38, SizeOfImage +0x48,
    // CheckSum +0x80, TimeDateStamp +0x88.
    for i in 0..h.driver_count.min(4096) as usize {
        let e = h.driver_list_offset as usize + i * 0x90;
        let Some(name_off) = u32_at(b, e) else {
            dump.warn_at(
                e as u64,
                format!("driver entry {i} is past the end of the file"),
            );
            break;
        };
        let path = pool_string(b, name_off).unwrap_or_else(|| {
            dump.warn_at(
                name_off as u64,
                format!("driver entry {i}: name unreadable"),
            );
            String::new()
        });
        dump.modules.push(Module {
            name: file_name(&path),
            path,
            base: u64_at(b, e + 0x38).unwrap_or(0),
            size: u32_at(b, e + 0x48).unwrap_or(0),
            checksum: u32_at(b, e + 0x80).unwrap_or(0),
            timestamp: u32_at(b, e + 0x88).unwrap_or(0),
        });
    }
    // Unloaded drivers: u32 count + pad, then 0x38-byte entries.
    if h.unloaded_drivers_offset != 0 {
        let at = h.unloaded_drivers_offset as usize;
        let count = u32_at(b, at).unwrap_or(0).min(64) as usize;
        for i in 0..count {
            let e = at + 8 + i * 0x38;
            let len = super::le::u16_at(b, e).unwrap_or(0) as usize / 2;
            let Some(name) = utf16_at(b, e + 0x10, len.min(12)) else {
                break;
            };
            dump.unloaded_modules.push(UnloadedModule {
                name,
                start: u64_at(b, e + 0x28).unwrap_or(0),
                end: u64_at(b, e + 0x30).unwrap_or(0),
            });
        }
    }
    // Memory: data blocks {VA u64, FileOffset u32, Size u32}, plus the call-stack window.
    let mut blocks = Vec::with_capacity(h.data_blocks_count.min(1 << 16) as usize + 1);
    for i in 0..h.data_blocks_count.min(1 << 20) as usize {
        let e = h.data_blocks_offset as usize + i * 16;
        let (Some(va), Some(off), Some(size)) = (u64_at(b, e), u32_at(b, e + 8), u32_at(b, e + 12))
        else {
            dump.warn_at(
                e as u64,
                format!("data block {i} is past the end of the file"),
            );
            break;
        };
        blocks.push(Block {
            va,
            file_offset: off.into(),
            size: size.into(),
        });
    }
    if h.call_stack_offset != 0 && h.size_of_call_stack != 0 {
        blocks.push(Block {
            va: h.top_of_stack,
            file_offset: h.call_stack_offset.into(),
            size: h.size_of_call_stack.into(),
        });
    }
    dump.thread = Some(ThreadInfo {
        id: None,
        address: None,
        stack_start: Some(h.top_of_stack),
        stack_size: Some(h.size_of_call_stack.into()),
    });
    if h.process_offset != 0 {
        for off in image_file_name_offset(dump.machine, dump.build) {
            let at = h.process_offset as usize + off;
            if let Some(name) = b.get(at..at + 16).and_then(plausible_name) {
                dump.process_name = Some(name);
                break;
            }
        }
    }
    dump.memory = Memory::new(bytes.clone(), Backing::Blocks(blocks));
    dump.triage = Some(h);
    Ok(())
}

/// The 32-bit triage body at 0x1000 (TopOfStack and data blocks are 32-bit; driver entries are
/// DriverNameOffset + a 0x50-byte LDR_DATA_TABLE_ENTRY32). Not verified on a real file.
pub fn read_triage32(dump: &mut CrashDump, bytes: &std::sync::Arc<crate::mapped::Bytes>) {
    let b: &[u8] = bytes;
    let at = 0x1000;
    let d = |o: usize| u32_at(b, at + o).unwrap_or(0);
    let driver_list = d(0x30) as usize;
    let count = d(0x34).min(4096) as usize;
    for i in 0..count {
        let e = driver_list + i * 0x54;
        let Some(name_off) = u32_at(b, e) else { break };
        let path = pool_string(b, name_off).unwrap_or_default();
        dump.modules.push(Module {
            name: file_name(&path),
            path,
            base: u32_at(b, e + 0x1c).unwrap_or(0).into(),
            size: u32_at(b, e + 0x24).unwrap_or(0),
            checksum: u32_at(b, e + 0x44).unwrap_or(0),
            timestamp: u32_at(b, e + 0x48).unwrap_or(0),
        });
    }
    let mut blocks = Vec::new();
    for i in 0..d(0x64).min(1 << 20) as usize {
        let e = d(0x60) as usize + i * 12;
        let (Some(va), Some(off), Some(size)) = (u32_at(b, e), u32_at(b, e + 4), u32_at(b, e + 8))
        else {
            break;
        };
        blocks.push(Block {
            va: va.into(),
            file_offset: off.into(),
            size: size.into(),
        });
    }
    if d(0x28) != 0 {
        blocks.push(Block {
            va: d(0x48).into(),
            file_offset: d(0x28).into(),
            size: d(0x2c).into(),
        });
    }
    dump.memory = Memory::new(bytes.clone(), Backing::Blocks(blocks));
}
