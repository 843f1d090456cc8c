//! User-mode minidumps (`MDMP`): header, stream directory, system info, modules, unloaded
//! modules, threads, the exception stream and the memory lists. Our own small reader: the few
//! streams we need are fixed-layout records (MINIDUMP_* structures of minidumpapiset.h).

use super::header::{Context, ExceptionRecord};
use super::le::{u16_at, u32_at, u64_at, utf16_at};
use super::memory::{Backing, Block, Memory};
use super::{CrashDump, DumpError, DumpKind, Module, ThreadInfo, UnloadedModule};
use std::path::Path;
use std::sync::Arc;

const THREAD_LIST: u32 = 3;
const MODULE_LIST: u32 = 4;
const MEMORY_LIST: u32 = 5;
const EXCEPTION: u32 = 6;
const SYSTEM_INFO: u32 = 7;
const MEMORY64_LIST: u32 = 9;
const UNLOADED_MODULE_LIST: u32 = 14;
const MISC_INFO: u32 = 15;

/// A MINIDUMP_STRING at `rva`: u32 byte length then UTF-16.
fn md_string(b: &[u8], rva: u32) -> Option<String> {
    let len = u32_at(b, rva as usize)? as usize;
    utf16_at(b, rva as usize + 4, (len / 2).min(2048))
}

fn base_name(path: &str) -> String {
    path.rsplit(['\\', '/']).next().unwrap_or(path).to_string()
}

/// Open a user-mode minidump.
pub fn open_user(path: &Path, bytes: Arc<crate::mapped::Bytes>) -> Result<CrashDump, DumpError> {
    let b: &[u8] = &bytes;
    let err = |offset: u64, expected: &str| DumpError::Format {
        path: path.to_path_buf(),
        offset,
        expected: expected.to_string(),
    };
    let version = u32_at(b, 4).ok_or_else(|| err(4, "MINIDUMP_HEADER.Version"))?;
    if version & 0xffff != 0xa793 {
        return Err(err(4, "minidump version 0xa793"));
    }
    let nstreams = u32_at(b, 8).ok_or_else(|| err(8, "NumberOfStreams"))?;
    let dir = u32_at(b, 0xc).ok_or_else(|| err(0xc, "StreamDirectoryRva"))? as usize;
    let time = u32_at(b, 0x14).unwrap_or(0);
    let mut streams = Vec::new();
    for i in 0..nstreams.min(4096) as usize {
        let e = dir + i * 12;
        let (Some(kind), Some(size), Some(rva)) =
            (u32_at(b, e), u32_at(b, e + 4), u32_at(b, e + 8))
        else {
            return Err(err(e as u64, "a 12-byte stream directory entry"));
        };
        streams.push((kind, size, rva as usize));
    }
    let find = |k: u32| streams.iter().find(|s| s.0 == k).map(|s| s.2);
    let mut dump = CrashDump {
        system_time: (time != 0)
            .then(|| crate::filetime::FileTime::from_unix_seconds(i64::from(time)).0),
        ..CrashDump::new(path, DumpKind::UserMinidump, Memory::default())
    };
    if let Some(at) = find(SYSTEM_INFO) {
        dump.machine = match u16_at(b, at).unwrap_or(0xffff) {
            0 => 0x14c,
            9 => 0x8664,
            12 => 0xaa64,
            5 => 0x1c4,
            other => {
                dump.warn(format!("processor architecture {other} not known"));
                0
            }
        };
        dump.processors = b.get(at + 6).copied().unwrap_or(0).into();
        let major = u32_at(b, at + 8).unwrap_or(0);
        let minor = u32_at(b, at + 0xc).unwrap_or(0);
        dump.build = u32_at(b, at + 0x10).unwrap_or(0);
        dump.major_version = major;
        dump.os_version = Some(format!("{major}.{minor}.{}", dump.build));
    } else {
        dump.warn("no SystemInfo stream".to_string());
    }
    if let Some(at) = find(MODULE_LIST) {
        let n = u32_at(b, at).unwrap_or(0).min(65_536) as usize;
        for i in 0..n {
            let e = at + 4 + i * 108;
            let Some(base) = u64_at(b, e) else { break };
            let path = md_string(b, u32_at(b, e + 0x14).unwrap_or(0)).unwrap_or_default();
            dump.modules.push(Module {
                name: base_name(&path),
                path,
                base,
                size: u32_at(b, e + 8).unwrap_or(0),
                checksum: u32_at(b, e + 0xc).unwrap_or(0),
                timestamp: u32_at(b, e + 0x10).unwrap_or(0),
            });
        }
        dump.process_name = dump.modules.first().map(|m| m.name.clone());
    }
    if let Some(at) = find(UNLOADED_MODULE_LIST) {
        let hdr = u32_at(b, at).unwrap_or(12) as usize;
        let entry = u32_at(b, at + 4).unwrap_or(24) as usize;
        let n = u32_at(b, at + 8).unwrap_or(0).min(4096) as usize;
        for i in 0..n {
            let e = at + hdr + i * entry.max(24);
            let Some(start) = u64_at(b, e) else { break };
            let size = u32_at(b, e + 8).unwrap_or(0);
            let name = md_string(b, u32_at(b, e + 0x14).unwrap_or(0)).unwrap_or_default();
            dump.unloaded_modules.push(UnloadedModule {
                name: base_name(&name),
                start,
                end: start.saturating_add(u64::from(size)),
            });
        }
    }
    let context_at = |size: u32, rva: u32| {
        b.get(rva as usize..(rva as usize).saturating_add(size as usize))
            .and_then(|c| Context::parse(dump.machine, c))
    };
    // Threads: 48-byte MINIDUMP_THREAD; stack memory descriptor at +0x18, context at +0x28.
    let mut blocks = Vec::new();
    let mut threads = Vec::new();
    if let Some(at) = find(THREAD_LIST) {
        let n = u32_at(b, at).unwrap_or(0).min(65_536) as usize;
        for i in 0..n {
            let e = at + 4 + i * 48;
            let (Some(id), Some(start), Some(size), Some(rva)) = (
                u32_at(b, e),
                u64_at(b, e + 0x18),
                u32_at(b, e + 0x20),
                u32_at(b, e + 0x24),
            ) else {
                break;
            };
            blocks.push(Block {
                va: start,
                file_offset: rva.into(),
                size: size.into(),
            });
            let ctx = context_at(
                u32_at(b, e + 0x28).unwrap_or(0),
                u32_at(b, e + 0x2c).unwrap_or(0),
            );
            threads.push((id, start, size, ctx));
        }
    }
    let mut crashing = threads.first().map(|t| t.0);
    if let Some(at) = find(EXCEPTION) {
        let tid = u32_at(b, at).unwrap_or(0);
        crashing = Some(tid);
        dump.exception = b.get(at + 8..at + 0xa0).and_then(ExceptionRecord::parse64);
        dump.context = context_at(
            u32_at(b, at + 0xa0).unwrap_or(0),
            u32_at(b, at + 0xa4).unwrap_or(0),
        );
    }
    if let Some(t) = threads.iter().find(|t| Some(t.0) == crashing) {
        if dump.context.is_none() {
            dump.context = t.3.clone();
        }
        dump.thread = Some(ThreadInfo {
            id: Some(t.0),
            address: None,
            stack_start: Some(t.1),
            stack_size: Some(t.2.into()),
        });
    }
    if let Some(at) = find(MEMORY_LIST) {
        let n = u32_at(b, at).unwrap_or(0).min(1 << 20) as usize;
        for i in 0..n {
            let e = at + 4 + i * 16;
            let (Some(va), Some(size), Some(rva)) =
                (u64_at(b, e), u32_at(b, e + 8), u32_at(b, e + 12))
            else {
                break;
            };
            blocks.push(Block {
                va,
                file_offset: rva.into(),
                size: size.into(),
            });
        }
    }
    if let Some(at) = find(MEMORY64_LIST) {
        let n = u64_at(b, at).unwrap_or(0).min(1 << 24) as usize;
        let mut off = u64_at(b, at + 8).unwrap_or(0);
        for i in 0..n {
            let e = at + 16 + i * 16;
            let (Some(va), Some(size)) = (u64_at(b, e), u64_at(b, e + 8)) else {
                break;
            };
            blocks.push(Block {
                va,
                file_offset: off,
                size,
            });
            off = off.saturating_add(size);
        }
    }
    if let Some(at) = find(MISC_INFO) {
        // MINIDUMP_MISC_INFO: Flags1 @4 (bit 1 = process times), ProcessCreateTime @0xC (time_t).
        let flags = u32_at(b, at + 4).unwrap_or(0);
        let created = u32_at(b, at + 0xc).unwrap_or(0);
        if flags & 2 != 0 && created != 0 && time >= created {
            dump.system_uptime = Some(u64::from(time - created) * 10_000_000);
        }
    }
    dump.memory = Memory::new(bytes.clone(), Backing::Blocks(blocks));
    Ok(dump)
}
