//! The BCD store (`Boot\BCD`, `EFI\Microsoft\Boot\BCD`): boot configuration data, kept in a
//! registry hive and read here as `bcdedit /enum all /store FILE` shows it.
//!
//! Layout: `Objects\{GUID}\Description\Type` (a REG_DWORD object type) and
//! `Objects\{GUID}\Elements\<element type, 8 hex digits>\Element` (the value).
//! Element types pack a class (bits 28-31: 1 library, 2 application, 3 device), a data format
//! (bits 24-27: 1 device, 2 string, 3 object, 4 object list, 5 integer, 6 boolean, 7 integer
//! list) and a subtype (Microsoft, "BcdElementType structure",
//! <https://learn.microsoft.com/en-us/previous-versions/windows/desktop/bcd/bcdelementtype>).
//! Element IDs and their bcdedit names: "BcdLibraryElementTypes", "BcdOSLoaderElementTypes",
//! "BcdBootMgrElementTypes", "BcdResumeElementTypes", "BcdMemDiagElementTypes",
//! "BcdDeviceObjectElementTypes" (<https://learn.microsoft.com/en-us/previous-versions/windows/desktop/bcd/>)
//! and the bcdedit names of "BCDEdit /set" and "Mapping boot options to elements". Object
//! types: "BcdObject.Type" (bits 28-31: 1 application, 2 inheritable settings, 3 device;
//! applications: bits 20-23 the image type, bits 0-19 the application type). Device elements
//! are a 16-byte options GUID then a boot-library device descriptor (type, flags, size,
//! reserved, then the per-type data), as ReactOS' `bl.h` describes it.
//!
//! Values are stored as bcdedit writes them: strings and objects REG_SZ, object lists
//! REG_MULTI_SZ, booleans, integers, integer lists and devices REG_BINARY (a boolean is one
//! byte, an integer eight). Other encodings (a REG_DWORD written by a script) are read too.

use super::regf::{Hive, KeyNode};
use super::{HiveError, HiveHeader, ValueData, log};
use crate::registry::FileTime;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A BCD store as read.
#[derive(Clone, Debug, Serialize)]
pub struct BcdStore {
    pub path: PathBuf,
    pub header: HiveHeader,
    /// Objects in bcdedit's order: by object type (boot managers, firmware applications,
    /// loaders, resume, tools, settings, devices), loaders in display order.
    pub objects: Vec<BcdObject>,
    pub logs_applied: Vec<PathBuf>,
    pub recovery: Option<log::Recovery>,
    /// What could not be read.
    pub warnings: Vec<crate::warning::Warning>,
    /// Identifier (lower case) to alias, for display without a search per identifier.
    #[serde(skip)]
    aliases: std::collections::HashMap<String, String>,
    /// Identifier and alias (lower case) to the object's index.
    #[serde(skip)]
    index: std::collections::HashMap<String, usize>,
}

/// One object (`Objects\{GUID}`).
#[derive(Clone, Debug, Serialize)]
pub struct BcdObject {
    /// The key name, lower-case, with braces: `{9dea862c-5cdd-4e70-acc1-f32b344d4795}`.
    pub id: String,
    /// The name bcdedit shows for it (`{bootmgr}`, `{default}`, `{globalsettings}`...).
    pub alias: Option<String>,
    /// `Description\Type`.
    pub object_type: Option<u32>,
    /// bcdedit's heading: "Windows Boot Manager", "Windows Boot Loader"...
    pub kind: String,
    pub last_write: FileTime,
    pub elements: Vec<BcdElement>,
}

/// One element of an object.
#[derive(Clone, Debug, Serialize)]
pub struct BcdElement {
    /// The element type (`Elements\<hex>`).
    pub element_type: u32,
    /// bcdedit's name, or `custom:XXXXXXXX` for one it has no name for.
    pub name: String,
    pub value: ElementValue,
}

/// An element's value, decoded by the element type's format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "format", content = "value")]
pub enum ElementValue {
    Device(Device),
    String(String),
    Object(String),
    ObjectList(Vec<String>),
    Integer(u64),
    Boolean(bool),
    IntegerList(Vec<u64>),
    /// Stored in a way its format does not allow: the registry type and the bytes in hex.
    Undecoded {
        reg_type: u32,
        hex: String,
    },
}

/// A device element: what bcdedit prints after `device` or `osdevice`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Device {
    /// bcdedit-like text: `boot`, `partition=...`, `locate`, `ramdisk=...`.
    pub text: String,
    /// The additional options object (`{ramdiskoptions}`-like), when not all zero.
    pub options: Option<String>,
}

/// The object an element comes from when it is inherited (the effective value).
#[derive(Clone, Copy, Debug)]
pub struct Effective<'a> {
    pub element: &'a BcdElement,
    /// The object that sets it (the object itself, or one it inherits from).
    pub from: &'a BcdObject,
}

// Element types this workbench judges, with their bcdedit names.
/// `testsigning` (BcdLibraryBoolean_AllowPrereleaseSignatures).
pub const TESTSIGNING: u32 = 0x1600_0049;
/// `nointegritychecks` (BcdLibraryBoolean_DisableIntegrityChecks).
pub const NOINTEGRITYCHECKS: u32 = 0x1600_0048;
/// `loadoptions` (BcdLibraryString_LoadOptionsString).
pub const LOADOPTIONS: u32 = 0x1200_0030;
/// `recoveryenabled` (BcdLibraryBoolean_AutoRecoveryEnabled).
pub const RECOVERYENABLED: u32 = 0x1600_0009;
/// `bootdebug` (BcdLibraryBoolean_DebuggerEnabled).
pub const BOOTDEBUG: u32 = 0x1600_0010;
/// `description` (BcdLibraryString_Description).
pub const DESCRIPTION: u32 = 0x1200_0004;
/// `path` (BcdLibraryString_ApplicationPath).
pub const PATH: u32 = 0x1200_0002;
/// `inherit` (BcdLibraryObjectList_InheritedObjects).
pub const INHERIT: u32 = 0x1400_0006;
/// `safeboot` (BcdOSLoaderInteger_SafeBoot).
pub const SAFEBOOT: u32 = 0x2500_0080;
/// `bootlog` (BcdOSLoaderBoolean_BootLogInitialization).
pub const BOOTLOG: u32 = 0x2600_0090;
/// `bootstatuspolicy` (BcdOSLoaderInteger_BootStatusPolicy).
pub const BOOTSTATUSPOLICY: u32 = 0x2500_00e0;
/// `hypervisorlaunchtype` (BcdOSLoaderInteger_HypervisorLaunchType).
pub const HYPERVISORLAUNCHTYPE: u32 = 0x2500_00f0;
/// `debug` (BcdOSLoaderBoolean_KernelDebuggerEnabled).
pub const DEBUG: u32 = 0x2600_00a0;
/// `default` of the boot manager (BcdBootMgrObject_DefaultObject).
pub const DEFAULT: u32 = 0x2300_0003;

/// The boot manager's well-known identifier.
pub const BOOTMGR: &str = "{9dea862c-5cdd-4e70-acc1-f32b344d4795}";

/// Well-known object identifiers and the names bcdedit shows for them (Microsoft, "BCDEdit
/// /? ID" and "BCD identifiers"; `{resumeloadersettings}` is the GUID bcdedit's table holds,
/// which Windows' own stores do not use).
const WELL_KNOWN: &[(&str, &str)] = &[
    (BOOTMGR, "{bootmgr}"),
    ("{a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba}", "{fwbootmgr}"),
    ("{b2721d73-1db4-4c62-bf78-c548a880142d}", "{memdiag}"),
    ("{466f5a88-0af2-4f76-9038-095b170dc21c}", "{ntldr}"),
    ("{5189b25c-5558-4bf2-bca4-289b11bd29e2}", "{badmemory}"),
    (
        "{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}",
        "{bootloadersettings}",
    ),
    ("{4636856e-540f-4170-a130-a84776f4c654}", "{dbgsettings}"),
    ("{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}", "{emssettings}"),
    ("{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}", "{globalsettings}"),
    (
        "{7ff607e0-4395-11db-b0de-0800200c9a66}",
        "{hypervisorsettings}",
    ),
    (
        "{1afa9c49-16ab-4a5c-4a90-212802da9460}",
        "{resumeloadersettings}",
    ),
    ("{ae5534e0-a924-466c-b836-758539a3ee3a}", "{ramdiskoptions}"),
    (
        "{313e8eed-7098-4586-a9bf-309c61f8d449}",
        "{kerneldbgsettings}",
    ),
    ("{1cae1eb7-a0df-4d4d-9851-4860e34ef535}", "{default}"),
    ("{fa926493-6f1c-4193-a414-58f0b2456d1e}", "{current}"),
];

/// Open a BCD store read-only; a dirty store is recovered from the logs beside it
/// (`BCD.LOG1`, `BCD.LOG2`, `BCD.LOG`), as the SYSTEM hive is.
pub fn open(path: impl AsRef<Path>) -> Result<BcdStore, HiveError> {
    let path = path.as_ref();
    let bytes = crate::mapped::Bytes::open_file(path)?;
    let logs = log::logs_beside(path);
    from_bytes_with_logs(&bytes, path, &logs)
}

/// Read a BCD store held in memory, replaying `logs` when it is dirty.
pub fn from_bytes_with_logs(
    data: &[u8],
    path: &Path,
    logs: &[PathBuf],
) -> Result<BcdStore, HiveError> {
    let p = super::prepare(data, path, logs)?;
    let data = p.recovered.as_deref().unwrap_or(data);
    let mut warnings = p.warnings;
    let hive = Hive::new(data, path, &p.base);
    let root = hive.key(p.base.root_cell)?;
    let Some(objects_key) = hive.subkey(&root, "Objects", &mut warnings) else {
        let names: Vec<String> = hive
            .subkeys(&root, &mut warnings)
            .into_iter()
            .map(|k| k.name)
            .collect();
        return Err(HiveError::NotSystemHive {
            path: path.to_path_buf(),
            reason: format!(
                "not a BCD store either: no Objects key below the root (keys: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
        });
    };
    let mut objects: Vec<BcdObject> = hive
        .subkeys(&objects_key, &mut warnings)
        .into_iter()
        .map(|k| read_object(&hive, k, &mut warnings))
        .collect();
    // {default}: the object the boot manager starts by default.
    let default = objects
        .iter()
        .find(|o| o.id == BOOTMGR)
        .and_then(|b| b.element(DEFAULT))
        .and_then(|e| match &e.value {
            ElementValue::Object(g) => Some(g.to_ascii_lowercase()),
            _ => None,
        });
    let alias_of = |id: &str| -> Option<String> {
        if default.as_deref() == Some(id) {
            return Some("{default}".into());
        }
        well_known(id).map(str::to_string)
    };
    for o in &mut objects {
        o.alias = alias_of(&o.id);
        o.kind = kind_name(o.object_type, o.alias.as_deref());
    }
    let order: Vec<String> = objects
        .iter()
        .find(|o| o.id == BOOTMGR)
        .and_then(|b| b.element(0x2400_0001))
        .and_then(|e| match &e.value {
            ElementValue::ObjectList(l) => Some(l.iter().map(|g| g.to_ascii_lowercase()).collect()),
            _ => None,
        })
        .unwrap_or_default();
    objects.sort_by_key(|o| {
        (
            o.object_type.unwrap_or(u32::MAX),
            order.iter().position(|g| *g == o.id).unwrap_or(usize::MAX),
            o.id.clone(),
        )
    });
    let aliases = objects
        .iter()
        .filter_map(|o| Some((o.id.clone(), o.alias.clone()?)))
        .collect();
    let mut index = std::collections::HashMap::new();
    for (i, o) in objects.iter().enumerate() {
        index.entry(o.id.clone()).or_insert(i);
        if let Some(a) = &o.alias {
            index.entry(a.clone()).or_insert(i);
        }
    }
    Ok(BcdStore {
        index,
        aliases,
        path: path.to_path_buf(),
        header: p.header,
        objects,
        logs_applied: p.logs_applied,
        recovery: p.recovery,
        warnings: warnings
            .into_iter()
            .map(|m| crate::warning::Warning::new(path, m))
            .collect(),
    })
}

/// The alias of a well-known identifier (`{bootmgr}`...), case-insensitive.
pub fn well_known(id: &str) -> Option<&'static str> {
    WELL_KNOWN
        .iter()
        .find(|(g, _)| g.eq_ignore_ascii_case(id))
        .map(|(_, a)| *a)
}

fn kind_name(object_type: Option<u32>, alias: Option<&str>) -> String {
    let Some(t) = object_type else {
        return "Object without a type".into();
    };
    let named = match t {
        0x1010_0001 => "Firmware Boot Manager",
        0x1010_0002 => "Windows Boot Manager",
        0x1020_0003 => "Windows Boot Loader",
        0x1020_0004 => "Resume from Hibernate",
        0x1020_0005 => "Windows Memory Tester",
        0x1030_0006 => "Windows Legacy OS Loader",
        0x1040_0008 => "Real-mode Boot Sector",
        _ => "",
    };
    if !named.is_empty() {
        return named.into();
    }
    match t >> 28 {
        1 if (t >> 20) & 0xF == 1 => format!("Firmware Application ({t:x})"),
        1 => format!("Application ({t:08x})"),
        2 => match alias {
            Some("{globalsettings}") => "Global Settings".into(),
            Some("{bootloadersettings}") => "Boot Loader Settings".into(),
            Some("{dbgsettings}") => "Debugger Settings".into(),
            Some("{kerneldbgsettings}") => "Kernel Debugger Settings".into(),
            Some("{emssettings}") => "EMS Settings".into(),
            Some("{badmemory}") => "RAM Defects".into(),
            Some("{hypervisorsettings}") => "Hypervisor Settings".into(),
            Some("{resumeloadersettings}") => "Resume Loader Settings".into(),
            _ => match t {
                0x2020_0003 => "Boot Loader Settings".into(),
                0x2020_0004 => "Resume Loader Settings".into(),
                _ => format!("Inherited Settings ({t:08x})"),
            },
        },
        3 => "Device options".into(),
        _ => format!("Object ({t:08x})"),
    }
}

/// Which element table applies to an application-class element: the object's application type
/// (for inheritable settings, the application type they are for).
#[derive(Clone, Copy, PartialEq, Eq)]
enum App {
    BootMgr,
    OsLoader,
    Resume,
    MemDiag,
    Other,
}

fn app_of(object_type: Option<u32>) -> App {
    let Some(t) = object_type else {
        return App::Other;
    };
    if t >> 28 == 3 {
        return App::Other;
    }
    match t & 0xF_FFFF {
        1 | 2 => App::BootMgr,
        3 => App::OsLoader,
        4 => App::Resume,
        5 => App::MemDiag,
        _ => App::Other,
    }
}

fn read_object(hive: &Hive, key: KeyNode, warnings: &mut Vec<String>) -> BcdObject {
    let object_type = hive
        .subkey(&key, "Description", warnings)
        .and_then(|d| {
            super::values_of(hive, &d, warnings)
                .into_iter()
                .find(|v| v.name.eq_ignore_ascii_case("Type"))
        })
        .and_then(|v| v.data.as_dword());
    if object_type.is_none() {
        warnings.push(format!(
            "{}: Objects\\{}: no Description\\Type",
            hive.path().display(),
            key.name
        ));
    }
    let app = app_of(object_type);
    let mut elements = Vec::new();
    if let Some(el) = hive.subkey(&key, "Elements", warnings) {
        for e in hive.subkeys(&el, warnings) {
            let Ok(element_type) = u32::from_str_radix(&e.name, 16) else {
                warnings.push(format!(
                    "{}: Objects\\{}\\Elements\\{}: not an element type (8 hex digits)",
                    hive.path().display(),
                    key.name,
                    e.name
                ));
                continue;
            };
            let Some(v) = super::values_of(hive, &e, warnings)
                .into_iter()
                .find(|v| v.name.eq_ignore_ascii_case("Element"))
            else {
                warnings.push(format!(
                    "{}: Objects\\{}\\Elements\\{}: no Element value",
                    hive.path().display(),
                    key.name,
                    e.name
                ));
                continue;
            };
            elements.push(BcdElement {
                element_type,
                name: element_name(element_type, app)
                    .map_or_else(|| format!("custom:{element_type:08x}"), str::to_string),
                value: decode(element_type, v.kind, &v.data),
            });
        }
    }
    BcdObject {
        id: key.name.to_ascii_lowercase(),
        alias: None,
        object_type,
        kind: String::new(),
        last_write: FileTime(key.last_written),
        elements,
    }
}

/// Decode an element's registry value by its element type's format.
pub fn decode(element_type: u32, reg_type: u32, data: &ValueData) -> ElementValue {
    let undecoded = || ElementValue::Undecoded {
        reg_type,
        hex: match data {
            ValueData::Bytes(b) => super::hex(b),
            other => other.reg_query_text(),
        },
    };
    let bytes = data.as_bytes();
    let le = |b: &[u8]| {
        let mut n = [0u8; 8];
        n[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
        u64::from_le_bytes(n)
    };
    match (element_type >> 24) & 0xF {
        1 => match bytes {
            Some(b) => ElementValue::Device(decode_device(b)),
            None => undecoded(),
        },
        2 => match data.as_str() {
            Some(s) => ElementValue::String(s.to_string()),
            None => undecoded(),
        },
        3 => match data.as_str() {
            Some(s) => ElementValue::Object(s.to_ascii_lowercase()),
            None => undecoded(),
        },
        4 => match data {
            ValueData::MultiString(l) => ElementValue::ObjectList(
                l.iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| s.to_ascii_lowercase())
                    .collect(),
            ),
            ValueData::String(s) => ElementValue::ObjectList(vec![s.to_ascii_lowercase()]),
            _ => undecoded(),
        },
        5 => match data {
            ValueData::Dword(d) => ElementValue::Integer(u64::from(*d)),
            ValueData::Qword(q) => ElementValue::Integer(*q),
            ValueData::Bytes(b) if !b.is_empty() && b.len() <= 8 => ElementValue::Integer(le(b)),
            _ => undecoded(),
        },
        6 => match data {
            ValueData::Dword(d) => ElementValue::Boolean(*d != 0),
            ValueData::Qword(q) => ElementValue::Boolean(*q != 0),
            ValueData::Bytes(b) if !b.is_empty() && b.len() <= 8 => {
                ElementValue::Boolean(b.iter().any(|&x| x != 0))
            }
            _ => undecoded(),
        },
        7 => match bytes {
            Some(b) if b.len() % 8 == 0 => {
                ElementValue::IntegerList(b.chunks_exact(8).map(le).collect())
            }
            _ => undecoded(),
        },
        _ => undecoded(),
    }
}

/// A GUID in its registry text form from 16 little-endian bytes.
pub fn guid_text(b: &[u8]) -> Option<String> {
    let b: &[u8; 16] = b.get(..16)?.try_into().ok()?;
    Some(format!(
        "{{{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}}}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// Decode a device element: options GUID (16 bytes), then the descriptor's type (+0x10),
/// flags, size and a reserved dword, then the type's data at +0x20. Device types: 0 disk or
/// RAM disk, 2 legacy partition, 3 serial, 4 UDP, 5 boot, 6 partition, 8 locate. A partition
/// names its disk by partition style at +0x34 (0 GPT: partition GUID at +0x20, disk GUID at
/// +0x38; 1 MBR: partition offset at +0x20, disk signature at +0x38). bcdedit resolves
/// partitions to drive letters on the live machine only; offline it cannot, so the disk and
/// partition identities are shown.
pub fn decode_device(b: &[u8]) -> Device {
    let u32_at = |at: usize| crate::le::u32_at(b, at);
    let options = guid_text(b).filter(|g| g != "{00000000-0000-0000-0000-000000000000}");
    let unknown = |why: &str| Device {
        text: format!("unknown ({why}, {} bytes)", b.len()),
        options: options.clone(),
    };
    let Some(kind) = u32_at(0x10) else {
        return unknown("too short for a device descriptor");
    };
    let text = match kind {
        5 => "boot".to_string(),
        8 => "locate".to_string(),
        6 | 2 => match (u32_at(0x34), b.get(0x20..0x28)) {
            (Some(0), _) => match (
                b.get(0x20..0x30).and_then(guid_text),
                b.get(0x38..0x48).and_then(guid_text),
            ) {
                (Some(part), Some(disk)) => format!("partition=GPT disk {disk} partition {part}"),
                _ => return unknown("GPT partition cut short"),
            },
            (Some(1), Some(off)) => {
                let offset = u64::from_le_bytes(off.try_into().unwrap_or([0; 8]));
                match u32_at(0x38) {
                    Some(sig) => {
                        format!("partition=MBR disk {sig:#010x} partition at offset {offset:#x}")
                    }
                    None => return unknown("MBR partition cut short"),
                }
            }
            (Some(style), _) => return unknown(&format!("partition style {style}")),
            (None, _) => return unknown("partition cut short"),
        },
        0 => {
            // A RAM disk (WinRE's boot.wim or Winre.wim): its image path is a UTF-16 string in
            // the descriptor; the options object names its SDI file.
            match find_utf16_path(b) {
                Some(path) => format!("ramdisk={path}"),
                None => return unknown("disk device"),
            }
        }
        3 => "serial".to_string(),
        4 => "udp".to_string(),
        other => return unknown(&format!("device type {other}")),
    };
    let text = match (&options, kind) {
        (Some(g), 0) => format!("{text},{}", well_known(g).unwrap_or(g)),
        _ => text,
    };
    Device { text, options }
}

/// The first UTF-16LE string starting with a backslash of at least 4 characters (a RAM disk's
/// image path), at an even offset after the descriptor header.
fn find_utf16_path(b: &[u8]) -> Option<String> {
    let units: Vec<u16> = b
        .get(0x20..)?
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let start = units.iter().position(|&u| u == u16::from(b'\\'))?;
    let end = units[start..]
        .iter()
        .position(|&u| u == 0)
        .map_or(units.len(), |e| start + e);
    let s = String::from_utf16(&units[start..end]).ok()?;
    (s.chars().count() >= 4 && s.chars().all(|c| !c.is_control())).then_some(s)
}

/// bcdedit's name of an element type for an object of application kind `app`.
fn element_name(t: u32, app: App) -> Option<&'static str> {
    match t >> 28 {
        1 => library_name(t),
        2 => match app {
            App::BootMgr => bootmgr_name(t),
            App::OsLoader => osloader_name(t),
            App::Resume => resume_name(t),
            App::MemDiag => memdiag_name(t),
            App::Other => None,
        },
        3 => device_name(t),
        _ => None,
    }
}

/// BcdLibraryElementTypes.
fn library_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0x1100_0001 => "device",
        0x1200_0002 => "path",
        0x1200_0004 => "description",
        0x1200_0005 => "locale",
        0x1400_0006 => "inherit",
        0x1500_0007 => "truncatememory",
        0x1400_0008 => "recoverysequence",
        0x1600_0009 => "recoveryenabled",
        0x1700_000a => "badmemorylist",
        0x1600_000b => "badmemoryaccess",
        0x1500_000c => "firstmegabytepolicy",
        0x1500_000d => "relocatephysical",
        0x1500_000e => "avoidlowmemory",
        0x1600_000f => "traditionalkseg",
        0x1600_0010 => "bootdebug",
        0x1500_0011 => "debugtype",
        0x1500_0012 => "debugaddress",
        0x1500_0013 => "debugport",
        0x1500_0014 => "baudrate",
        0x1500_0015 => "channel",
        0x1200_0016 => "targetname",
        0x1600_0017 => "noumex",
        0x1500_0018 => "debugstart",
        0x1200_0019 => "busparams",
        0x1500_001a => "hostip",
        0x1500_001b => "port",
        0x1600_001c => "dhcp",
        0x1200_001d => "key",
        0x1600_001e => "vm",
        0x1600_0020 => "bootems",
        0x1500_0022 => "emsport",
        0x1500_0023 => "emsbaudrate",
        0x1200_0030 => "loadoptions",
        0x1600_0040 => "advancedoptions",
        0x1600_0041 => "optionsedit",
        0x1500_0042 => "keyringaddress",
        0x1100_0043 => "bootstatdevice",
        0x1200_0044 => "bootstatfilepath",
        0x1600_0045 => "preservebootstat",
        0x1600_0046 => "graphicsmodedisabled",
        0x1500_0047 => "configaccesspolicy",
        0x1600_0048 => "nointegritychecks",
        0x1600_0049 => "testsigning",
        0x1200_004a => "fontpath",
        0x1500_004b => "integrityservices",
        0x1500_004c => "volumebandid",
        0x1600_0050 => "extendedinput",
        0x1500_0051 => "initialconsoleinput",
        0x1500_0052 => "graphicsresolution",
        0x1600_0053 => "restartonfailure",
        0x1600_0054 => "highestmode",
        0x1600_0060 => "isolatedcontext",
        0x1500_0065 => "displaymessage",
        0x1500_0066 => "displaymessageoverride",
        0x1600_006c => "bootuxdisabled",
        0x1700_0077 => "allowedinmemorysettings",
        _ => return None,
    })
}

/// BcdBootMgrElementTypes.
fn bootmgr_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0x2400_0001 => "displayorder",
        0x2400_0002 => "bootsequence",
        0x2300_0003 => "default",
        0x2500_0004 => "timeout",
        0x2600_0005 => "resume",
        0x2300_0006 => "resumeobject",
        0x2400_0010 => "toolsdisplayorder",
        0x2600_0020 => "displaybootmenu",
        0x2600_0021 => "noerrordisplay",
        0x2100_0022 => "bcddevice",
        0x2200_0023 => "bcdfilepath",
        0x2600_0028 => "processcustomactionsfirst",
        0x2700_0030 => "customactions",
        0x2600_0031 => "persistbootsequence",
        _ => return None,
    })
}

/// BcdOSLoaderElementTypes.
fn osloader_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0x2100_0001 => "osdevice",
        0x2200_0002 => "systemroot",
        0x2300_0003 => "resumeobject",
        0x2600_0010 => "detecthal",
        0x2200_0011 => "kernel",
        0x2200_0012 => "hal",
        0x2200_0013 => "dbgtransport",
        0x2500_0020 => "nx",
        0x2500_0021 => "pae",
        0x2600_0022 => "winpe",
        0x2600_0024 => "nocrashautoreboot",
        0x2600_0025 => "lastknowngood",
        0x2600_0026 => "oslnointegritychecks",
        0x2600_0027 => "osltestsigning",
        0x2600_0030 => "nolowmem",
        0x2500_0031 => "removememory",
        0x2500_0032 => "increaseuserva",
        0x2500_0033 => "perfmem",
        0x2600_0040 => "vga",
        0x2600_0041 => "quietboot",
        0x2600_0042 => "novesa",
        0x2600_0043 => "novga",
        0x2500_0050 => "clustermodeaddressing",
        0x2600_0051 => "usephysicaldestination",
        0x2500_0052 => "restrictapiccluster",
        0x2200_0053 => "evstore",
        0x2600_0054 => "uselegacyapicmode",
        0x2500_0055 => "x2apicpolicy",
        0x2600_0060 => "onecpu",
        0x2500_0061 => "numproc",
        0x2600_0062 => "maxproc",
        0x2500_0063 => "configflags",
        0x2600_0064 => "maxgroup",
        0x2600_0065 => "groupaware",
        0x2500_0066 => "groupsize",
        0x2600_0070 => "usefirmwarepcisettings",
        0x2500_0071 => "msi",
        0x2500_0072 => "pciexpress",
        0x2500_0080 => "safeboot",
        0x2600_0081 => "safebootalternateshell",
        0x2600_0090 => "bootlog",
        0x2600_0091 => "sos",
        0x2600_00a0 => "debug",
        0x2600_00a1 => "halbreakpoint",
        0x2600_00a2 => "useplatformclock",
        0x2600_00a3 => "forcelegacyplatform",
        0x2600_00a4 => "useplatformtick",
        0x2600_00a5 => "disabledynamictick",
        0x2500_00a6 => "tscsyncpolicy",
        0x2600_00b0 => "ems",
        0x2500_00c0 => "forcefailure",
        0x2500_00c1 => "driverloadfailurepolicy",
        0x2500_00c2 => "bootmenupolicy",
        0x2600_00c3 => "onetimeadvancedoptions",
        0x2600_00c4 => "onetimeoptionsedit",
        0x2500_00e0 => "bootstatuspolicy",
        0x2600_00e1 => "disableelamdrivers",
        0x2500_00f0 => "hypervisorlaunchtype",
        0x2200_00f1 => "hypervisorpath",
        0x2600_00f2 => "hypervisordebug",
        0x2500_00f3 => "hypervisordebugtype",
        0x2500_00f4 => "hypervisordebugport",
        0x2500_00f5 => "hypervisorbaudrate",
        0x2500_00f6 => "hypervisorchannel",
        0x2500_00f7 => "bootux",
        0x2600_00f8 => "hypervisordisableslat",
        0x2200_00f9 => "hypervisorbusparams",
        0x2500_00fa => "hypervisornumproc",
        0x2500_00fb => "hypervisorrootprocpernode",
        0x2600_00fc => "hypervisoruselargevtlb",
        0x2500_00fd => "hypervisorhostip",
        0x2500_00fe => "hypervisorhostport",
        0x2500_00ff => "hypervisordebugpages",
        0x2500_0100 => "tpmbootentropy",
        0x2200_0110 => "hypervisorusekey",
        0x2200_0112 => "hypervisorproductskutype",
        0x2500_0113 => "hypervisorrootproc",
        0x2600_0114 => "hypervisordhcp",
        0x2500_0115 => "hypervisoriommupolicy",
        0x2600_0116 => "hypervisorusevapic",
        0x2200_0117 => "hypervisorloadoptions",
        0x2500_0118 => "hypervisormsrfilterpolicy",
        0x2500_0119 => "hypervisormmionxpolicy",
        0x2500_011a => "hypervisorschedulertype",
        0x2500_0120 => "xsavepolicy",
        0x2500_0130 => "claimedtpmcounter",
        _ => return None,
    })
}

/// BcdResumeElementTypes (bcdedit calls the reserved device and path `filedevice`, `filepath`).
fn resume_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0x2100_0001 => "filedevice",
        0x2200_0002 => "filepath",
        0x2600_0003 => "customsettings",
        0x2600_0004 => "pae",
        0x2100_0005 => "associatedosdevice",
        0x2600_0006 => "debugoptionenabled",
        0x2500_0007 => "bootux",
        0x2500_0008 => "bootmenupolicy",
        0x2600_0024 => "hormenabled",
        _ => return None,
    })
}

/// BcdMemDiagElementTypes.
fn memdiag_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0x2500_0001 => "passcount",
        0x2500_0002 => "testmix",
        0x2500_0003 => "failurecount",
        0x2500_0004 => "testtofail",
        0x2600_0005 => "cacheenable",
        _ => return None,
    })
}

/// BcdDeviceObjectElementTypes (RAM disk options).
fn device_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0x3500_0001 => "ramdiskimageoffset",
        0x3500_0002 => "ramdisktftpclientport",
        0x3100_0003 => "ramdisksdidevice",
        0x3200_0004 => "ramdisksdipath",
        0x3500_0005 => "ramdiskimagelength",
        0x3600_0006 => "exportascd",
        0x3500_0007 => "ramdisktftpblocksize",
        0x3500_0008 => "ramdisktftpwindowsize",
        0x3600_0009 => "ramdiskmcenabled",
        0x3600_000a => "ramdiskmctftpfallback",
        0x3600_000b => "ramdisktftpvarwindow",
        _ => return None,
    })
}

/// The names bcdedit shows for an enumerated integer element (from the enumerations of the
/// element docs: BcdOSLoader_NxPolicy, _PAEPolicy, _SafeBoot, _BootStatusPolicy,
/// BcdLibrary_DebuggerType, HypervisorLaunchType...).
fn integer_names(t: u32, app: App) -> Option<&'static [&'static str]> {
    Some(match (t, app) {
        (0x1500_0011, _) => &["Serial", "1394", "USB", "NET", "Local"],
        (0x1500_000c, _) => &["UseNone", "UseAll", "UsePrivate"],
        (0x1500_0047, _) => &["Default", "DisallowMmConfig"],
        (0x2500_0020, App::OsLoader) => &["OptIn", "OptOut", "AlwaysOff", "AlwaysOn"],
        (0x2500_0021, App::OsLoader) => &["Default", "ForceEnable", "ForceDisable"],
        (0x2500_0055, App::OsLoader) => &["Default", "Disable", "Enable"],
        (0x2500_0071 | 0x2500_0072, App::OsLoader) => &["Default", "ForceDisable"],
        (0x2500_0080, App::OsLoader) => &["Minimal", "Network", "DsRepair"],
        (0x2500_00a6, App::OsLoader) => &["Default", "Legacy", "Enhanced"],
        (0x2500_00c1, App::OsLoader) => &["Fatal", "UseErrorControl"],
        (0x2500_00c2, App::OsLoader) | (0x2500_0008, App::Resume) => &["Legacy", "Standard"],
        (0x2500_00e0, App::OsLoader) => &[
            "DisplayAllFailures",
            "IgnoreAllFailures",
            "IgnoreShutdownFailures",
            "IgnoreBootFailures",
            "IgnoreCheckpointFailures",
            "DisplayShutdownFailures",
            "DisplayBootFailures",
            "DisplayCheckpointFailures",
        ],
        (0x2500_00f0, App::OsLoader) => &["Off", "Auto"],
        (0x2500_00f3, App::OsLoader) => &["Serial", "1394", "None", "Net"],
        (0x2500_00f7, App::OsLoader) | (0x2500_0007, App::Resume) => {
            &["Disabled", "Basic", "Standard"]
        }
        _ => return None,
    })
}

impl BcdStore {
    /// The object with identifier `id` (a GUID or a well-known alias such as `{bootmgr}`).
    pub fn object(&self, id: &str) -> Option<&BcdObject> {
        let i = self.index.get(&id.to_ascii_lowercase())?;
        self.objects.get(*i)
    }

    /// The entry the boot manager starts by default (`{default}`); with no boot manager, the
    /// only OS loader of the store.
    pub fn default_loader(&self) -> Option<&BcdObject> {
        if let Some(o) = self
            .objects
            .iter()
            .find(|o| o.alias.as_deref() == Some("{default}"))
        {
            return Some(o);
        }
        let mut loaders = self
            .objects
            .iter()
            .filter(|o| o.object_type == Some(0x1020_0003));
        match (loaders.next(), loaders.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    /// The value of element `t` for `object` as the boot application sees it: its own element,
    /// else the first found through its `inherit` list, depth first (cycles are cut).
    pub fn effective<'a>(&'a self, object: &'a BcdObject, t: u32) -> Option<Effective<'a>> {
        let mut seen: Vec<&str> = Vec::new();
        self.effective_in(object, t, &mut seen)
    }

    fn effective_in<'a>(
        &'a self,
        object: &'a BcdObject,
        t: u32,
        seen: &mut Vec<&'a str>,
    ) -> Option<Effective<'a>> {
        if seen.contains(&object.id.as_str()) || seen.len() > 32 {
            return None;
        }
        seen.push(&object.id);
        if let Some(e) = object.element(t) {
            return Some(Effective {
                element: e,
                from: object,
            });
        }
        let ElementValue::ObjectList(parents) = &object.element(INHERIT)?.value else {
            return None;
        };
        parents
            .iter()
            .filter_map(|p| self.object(p))
            .find_map(|p| self.effective_in(p, t, seen))
    }

    /// How an identifier reads in bcdedit's output: its alias when it has one.
    pub fn display_id<'a>(&'a self, id: &'a str) -> &'a str {
        self.aliases
            .get(id)
            .or_else(|| self.aliases.get(&id.to_ascii_lowercase()))
            .map(String::as_str)
            .or_else(|| well_known(id))
            .unwrap_or(id)
    }

    /// The effective integrity settings of the default loader, for one-line summaries.
    pub fn integrity(&self) -> Option<Integrity> {
        let o = self.default_loader()?;
        let flag = |t| {
            self.effective(o, t)
                .is_some_and(|e| e.element.value == ElementValue::Boolean(true))
        };
        let loadoptions = self
            .effective(o, LOADOPTIONS)
            .and_then(|e| match &e.element.value {
                ElementValue::String(s) => Some(s.clone()),
                _ => None,
            });
        Some(Integrity {
            entry: self.display_id(&o.id).to_string(),
            description: o.string(DESCRIPTION).map(str::to_string),
            testsigning: flag(TESTSIGNING),
            nointegritychecks: flag(NOINTEGRITYCHECKS),
            disable_integrity_checks_option: loadoptions
                .as_deref()
                .is_some_and(|s| s.to_ascii_uppercase().contains("DISABLE_INTEGRITY_CHECKS")),
            safeboot: self
                .effective(o, SAFEBOOT)
                .map(|e| self.value_text(e.from, e.element)),
            bootlog: flag(BOOTLOG),
            bootdebug: flag(BOOTDEBUG),
            debug: flag(DEBUG),
            recoveryenabled: self
                .effective(o, RECOVERYENABLED)
                .map(|e| e.element.value == ElementValue::Boolean(true)),
            bootstatuspolicy: self
                .effective(o, BOOTSTATUSPOLICY)
                .map(|e| self.value_text(e.from, e.element)),
            hypervisorlaunchtype: self
                .effective(o, HYPERVISORLAUNCHTYPE)
                .map(|e| self.value_text(e.from, e.element)),
        })
    }

    /// Every line `bcdedit /enum all /store FILE` prints, objects separated by blank lines.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (i, o) in self.objects.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&o.kind);
            out.push('\n');
            out.push_str(&"-".repeat(o.kind.chars().count()));
            out.push('\n');
            push_line(&mut out, "identifier", self.display_id(&o.id));
            for e in &o.elements {
                let text = self.value_text(o, e);
                let mut lines = text.split('\n');
                push_line(&mut out, &e.name, lines.next().unwrap_or(""));
                for l in lines {
                    push_line(&mut out, "", l);
                }
            }
        }
        out
    }

    /// An element's value as bcdedit prints it (object lists one identifier a line).
    pub fn value_text(&self, object: &BcdObject, e: &BcdElement) -> String {
        let app = app_of(object.object_type);
        match &e.value {
            ElementValue::Device(d) => d.text.clone(),
            ElementValue::String(s) => s.clone(),
            ElementValue::Object(g) => self.display_id(g).to_string(),
            ElementValue::ObjectList(l) => l
                .iter()
                .map(|g| self.display_id(g))
                .collect::<Vec<_>>()
                .join("\n"),
            ElementValue::Boolean(b) => if *b { "Yes" } else { "No" }.to_string(),
            ElementValue::Integer(n) => match integer_names(e.element_type, app)
                .and_then(|names| names.get(usize::try_from(*n).ok()?))
            {
                Some(name) => (*name).to_string(),
                None => n.to_string(),
            },
            ElementValue::IntegerList(l) => l
                .iter()
                .map(|n| format!("{n:#x}"))
                .collect::<Vec<_>>()
                .join("\n"),
            ElementValue::Undecoded { reg_type, hex } => {
                format!("(stored as registry type {reg_type}: {hex})")
            }
        }
    }
}

fn push_line(out: &mut String, name: &str, value: &str) {
    out.push_str(&format!("{name:<24}{value}\n"));
}

/// The default loader's integrity settings (effective values, inheritance followed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Integrity {
    /// The entry, as bcdedit names it (`{default}` or its GUID).
    pub entry: String,
    pub description: Option<String>,
    pub testsigning: bool,
    pub nointegritychecks: bool,
    /// `loadoptions` holds DISABLE_INTEGRITY_CHECKS.
    pub disable_integrity_checks_option: bool,
    /// `safeboot`, as bcdedit names it (Minimal, Network...), when set.
    pub safeboot: Option<String>,
    pub bootlog: bool,
    /// `bootdebug` (the boot application's debugger) and `debug` (the kernel debugger).
    pub bootdebug: bool,
    pub debug: bool,
    /// `recoveryenabled`, when set.
    pub recoveryenabled: Option<bool>,
    /// `bootstatuspolicy` and `hypervisorlaunchtype` as bcdedit names them, when set.
    pub bootstatuspolicy: Option<String>,
    pub hypervisorlaunchtype: Option<String>,
}

impl Integrity {
    /// One line for the Overview and Drivers panes.
    pub fn summary(&self) -> String {
        let onoff = |b: bool| if b { "on" } else { "off" };
        let mut s = format!(
            "BCD {}: testsigning {}, integrity checks {}",
            self.entry,
            onoff(self.testsigning),
            if self.nointegritychecks || self.disable_integrity_checks_option {
                "OFF"
            } else {
                "on"
            }
        );
        if let Some(sb) = &self.safeboot {
            s.push_str(&format!(", safeboot {sb}"));
        }
        s
    }
}

impl BcdObject {
    /// The object's own element of type `t`.
    pub fn element(&self, t: u32) -> Option<&BcdElement> {
        self.elements.iter().find(|e| e.element_type == t)
    }

    /// The object's own string element of type `t`.
    pub fn string(&self, t: u32) -> Option<&str> {
        match &self.element(t)?.value {
            ElementValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Whether a hive's root keys make it a BCD store (`Description` and `Objects`).
pub fn is_bcd_root(root_keys: &[String]) -> bool {
    let has = |n: &str| root_keys.iter().any(|k| k.eq_ignore_ascii_case(n));
    has("Objects") && has("Description")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_booleans_and_lists_decode_by_format() {
        let b = |v: &[u8]| ValueData::Bytes(v.to_vec());
        assert_eq!(
            decode(TESTSIGNING, 3, &b(&[1])),
            ElementValue::Boolean(true)
        );
        assert_eq!(
            decode(SAFEBOOT, 3, &b(&[1, 0, 0, 0, 0, 0, 0, 0])),
            ElementValue::Integer(1)
        );
        assert_eq!(
            decode(0x1700_0077, 3, &b(&[0x75, 0, 0, 0x15, 0, 0, 0, 0])),
            ElementValue::IntegerList(vec![0x1500_0075])
        );
        assert!(matches!(
            decode(TESTSIGNING, 1, &ValueData::String("x".into())),
            ElementValue::Undecoded { .. }
        ));
    }

    #[test]
    fn devices_decode_boot_gpt_and_mbr() {
        let mut d = vec![0u8; 0x48];
        d[0x10] = 5;
        assert_eq!(decode_device(&d).text, "boot");
        d[0x10] = 6;
        d[0x20] = 0x11;
        d[0x38] = 0x22;
        let t = decode_device(&d).text;
        assert!(t.starts_with("partition=GPT disk {00000022-"), "{t}");
        d[0x34] = 1;
        d[0x20..0x28].copy_from_slice(&0x10_0000u64.to_le_bytes());
        d[0x38..0x3c].copy_from_slice(&0xdead_beefu32.to_le_bytes());
        assert_eq!(
            decode_device(&d).text,
            "partition=MBR disk 0xdeadbeef partition at offset 0x100000"
        );
        assert!(decode_device(&[1, 2, 3]).text.starts_with("unknown"));
    }
}
