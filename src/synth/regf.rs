//! A small regf writer: SYSTEM hives for fixtures and the demo case, and new-format ("HvLE")
//! transaction logs that make a written hive dirty the way a crashed machine leaves it.
//!
//! Layout follows the regf specification cited in `registry::regf`: a 4 KiB base block with its
//! checksum, then 4 KiB-aligned hive bins holding 8-byte-aligned cells: one shared `sk`
//! security cell, `nk` keys, `vk` values (data of up to 4 bytes resident, larger in its own
//! cell, over 16344 bytes in `db` segments), value lists and `lh` subkey lists sorted by
//! upper-case name with their hashes.
//!
//! ```no_run
//! use bsod_workbench::synth::regf::{HiveWriter, ServiceSpec};
//! HiveWriter::system()
//!     .service(
//!         ServiceSpec::driver("FileCrypt", 1, 2, 3)
//!             .image_path("system32\\drivers\\filecrypt.sys")
//!             .group("FSFilter Encryption")
//!             .display_name("@%systemroot%\\system32\\drivers\\filecrypt.sys,-100"),
//!     )
//!     .write_to(std::path::Path::new("SYSTEM"))?;
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::le::u32_at;
use crate::registry::log::{LOG_SEED, marvin32};
use crate::registry::regf::{BASE_BLOCK_LEN, BIG_DATA_SEGMENT, checksum, lh_hash};
use crate::registry::{FileTime, TimeZone, TransitionRule};
use std::path::Path;

/// Value data to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegData {
    Dword(u32),
    Qword(u64),
    Sz(String),
    ExpandSz(String),
    MultiSz(Vec<String>),
    Binary(Vec<u8>),
    /// Any type code with its bytes as they should be stored.
    Raw {
        kind: u32,
        bytes: Vec<u8>,
    },
}

impl RegData {
    /// The `REG_*` type code and the stored bytes (strings UTF-16LE with terminators).
    pub fn encode(&self) -> (u32, Vec<u8>) {
        let utf16z = |s: &str| -> Vec<u8> {
            s.encode_utf16()
                .chain([0])
                .flat_map(u16::to_le_bytes)
                .collect()
        };
        match self {
            RegData::Dword(v) => (4, v.to_le_bytes().to_vec()),
            RegData::Qword(v) => (11, v.to_le_bytes().to_vec()),
            RegData::Sz(s) => (1, utf16z(s)),
            RegData::ExpandSz(s) => (2, utf16z(s)),
            RegData::MultiSz(list) => {
                let mut bytes: Vec<u8> = list.iter().flat_map(|s| utf16z(s)).collect();
                bytes.extend([0, 0]);
                (7, bytes)
            }
            RegData::Binary(b) => (3, b.clone()),
            RegData::Raw { kind, bytes } => (*kind, bytes.clone()),
        }
    }
}

/// A key to write: its values in order and its subkeys (sorted when written).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySpec {
    pub name: String,
    /// Last write time; the hive's time when `None`.
    pub last_write: Option<FileTime>,
    pub values: Vec<(String, RegData)>,
    pub subkeys: Vec<KeySpec>,
}

impl KeySpec {
    pub fn new(name: impl Into<String>) -> KeySpec {
        KeySpec {
            name: name.into(),
            ..KeySpec::default()
        }
    }

    /// Set (replace or add) a value.
    pub fn set(&mut self, name: impl Into<String>, data: RegData) -> &mut KeySpec {
        let name = name.into();
        match self
            .values
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(slot) => slot.1 = data,
            None => self.values.push((name, data)),
        }
        self
    }

    /// The subkey at a backslash-separated path, created as needed.
    pub fn key(&mut self, path: &str) -> &mut KeySpec {
        let mut current = self;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            let index = match current
                .subkeys
                .iter()
                .position(|k| k.name.eq_ignore_ascii_case(part))
            {
                Some(i) => i,
                None => {
                    current.subkeys.push(KeySpec::new(part));
                    current.subkeys.len() - 1
                }
            };
            current = &mut current.subkeys[index];
        }
        current
    }
}

/// A service key to write under `ControlSet001\Services`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    pub start: u32,
    pub type_: u32,
    pub error_control: u32,
    pub image_path: Option<String>,
    pub group: Option<String>,
    pub tag: Option<u32>,
    pub depend_on_service: Vec<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// Further values, written after the common ones.
    pub values: Vec<(String, RegData)>,
    /// Subkeys such as `Parameters` or `Instances`.
    pub subkeys: Vec<KeySpec>,
    pub last_write: Option<FileTime>,
}

impl ServiceSpec {
    /// A service with its Start, Type and ErrorControl codes.
    pub fn driver(name: impl Into<String>, start: u32, type_: u32, error_control: u32) -> Self {
        ServiceSpec {
            name: name.into(),
            start,
            type_,
            error_control,
            ..ServiceSpec::default()
        }
    }
    pub fn image_path(mut self, v: impl Into<String>) -> Self {
        self.image_path = Some(v.into());
        self
    }
    pub fn group(mut self, v: impl Into<String>) -> Self {
        self.group = Some(v.into());
        self
    }
    pub fn display_name(mut self, v: impl Into<String>) -> Self {
        self.display_name = Some(v.into());
        self
    }
    pub fn description(mut self, v: impl Into<String>) -> Self {
        self.description = Some(v.into());
        self
    }
    pub fn tag(mut self, v: u32) -> Self {
        self.tag = Some(v);
        self
    }
    pub fn depend_on_service(mut self, v: impl Into<String>) -> Self {
        self.depend_on_service.push(v.into());
        self
    }
    pub fn value(mut self, name: impl Into<String>, data: RegData) -> Self {
        self.values.push((name.into(), data));
        self
    }
    pub fn subkey(mut self, key: KeySpec) -> Self {
        self.subkeys.push(key);
        self
    }
    pub fn last_write(mut self, t: FileTime) -> Self {
        self.last_write = Some(t);
        self
    }

    /// The key as written: values in the order Windows' setup writes them.
    pub fn to_key(&self) -> KeySpec {
        let mut key = KeySpec::new(&self.name);
        key.last_write = self.last_write;
        if !self.depend_on_service.is_empty() {
            key.set(
                "DependOnService",
                RegData::MultiSz(self.depend_on_service.clone()),
            );
        }
        if let Some(v) = &self.description {
            key.set("Description", RegData::Sz(v.clone()));
        }
        if let Some(v) = &self.display_name {
            key.set("DisplayName", RegData::Sz(v.clone()));
        }
        key.set("ErrorControl", RegData::Dword(self.error_control));
        if let Some(v) = &self.group {
            key.set("Group", RegData::Sz(v.clone()));
        }
        if let Some(v) = &self.image_path {
            key.set("ImagePath", RegData::ExpandSz(v.clone()));
        }
        key.set("Start", RegData::Dword(self.start));
        if let Some(v) = self.tag {
            key.set("Tag", RegData::Dword(v));
        }
        key.set("Type", RegData::Dword(self.type_));
        for (name, data) in &self.values {
            key.set(name.clone(), data.clone());
        }
        key.subkeys.extend(self.subkeys.iter().cloned());
        key
    }
}

/// `Control\ServiceGroupOrder\List` as Windows 10 1709 has it (the regipy sample).
pub const SERVICE_GROUP_ORDER: &[&str] = &[
    "System Reserved",
    "EMS",
    "WdfLoadGroup",
    "Boot Bus Extender",
    "System Bus Extender",
    "SCSI miniport",
    "Port",
    "Primary Disk",
    "SCSI Class",
    "SCSI CDROM Class",
    "FSFilter Infrastructure",
    "FSFilter System",
    "FSFilter Bottom",
    "FSFilter Copy Protection",
    "FSFilter Security Enhancer",
    "FSFilter Open File",
    "FSFilter Physical Quota Management",
    "FSFilter Virtualization",
    "FSFilter Encryption",
    "FSFilter Compression",
    "FSFilter Imaging",
    "FSFilter HSM",
    "FSFilter Cluster File System",
    "FSFilter System Recovery",
    "FSFilter Quota Management",
    "FSFilter Content Screener",
    "FSFilter Continuous Backup",
    "FSFilter Replication",
    "FSFilter Anti-Virus",
    "FSFilter Undelete",
    "FSFilter Activity Monitor",
    "FSFilter Top",
    "Filter",
    "Boot File System",
    "Base",
    "Pointer Port",
    "Keyboard Port",
    "Pointer Class",
    "Keyboard Class",
    "Video Init",
    "Video",
    "Video Save",
    "File System",
    "Streams Drivers",
    "NDIS Wrapper",
    "COM Infrastructure",
    "Event Log",
    "PerceptionGroup",
    "ProfSvc_Group",
    "AudioGroup",
    "UIGroup",
    "MS_WindowsLocalValidation",
    "PlugPlay",
    "Cryptography",
    "PNP_TDI",
    "NDIS",
    "TDI",
    "iSCSI",
    "NetBIOSGroup",
    "ShellSvcGroup",
    "SchedulerGroup",
    "SpoolerGroup",
    "SmartCardGroup",
    "NetworkProvider",
    "MS_WindowsRemoteValidation",
    "NetDDEGroup",
    "Parallel arbitrator",
    "Extended Base",
    "PCI Configuration",
    "MS Transactions",
];

/// Pacific time as Windows 10 writes it (the regipy sample's values).
pub fn pacific_time_zone() -> TimeZone {
    let rule = |month, day| TransitionRule {
        year: 0,
        month,
        day_of_week: 0,
        day,
        hour: 2,
        minute: 0,
        second: 0,
    };
    TimeZone {
        key_name: Some("Pacific Standard Time".into()),
        bias: Some(480),
        standard_name: Some("@tzres.dll,-212".into()),
        standard_bias: Some(0),
        standard_start: Some(rule(11, 1)),
        daylight_name: Some("@tzres.dll,-211".into()),
        daylight_bias: Some(-60),
        daylight_start: Some(rule(3, 2)),
        active_time_bias: Some(420),
        dynamic_daylight_time_disabled: Some(0),
        real_time_is_universal: None,
    }
}

/// Builds a hive and writes it.
#[derive(Clone, Debug)]
pub struct HiveWriter {
    pub root: KeySpec,
    pub last_written: FileTime,
    /// Base block sequence numbers (equal: a clean hive).
    pub sequence: u32,
    /// The base block's file name field (+0x30, at most 31 characters kept), e.g. `SYSTEM`
    /// or `\??\C:\Windows\System32\Config\SOFTWARE`'s tail.
    pub file_name: String,
}

/// 2024-04-09T07:12:00Z, a fixed default so written fixtures are reproducible.
const DEFAULT_TIME: FileTime = FileTime(133_571_203_200_000_000);

impl Default for HiveWriter {
    fn default() -> Self {
        HiveWriter {
            root: KeySpec::new("ROOT"),
            last_written: DEFAULT_TIME,
            sequence: 1,
            file_name: "SYSTEM".to_string(),
        }
    }
}

impl HiveWriter {
    /// An empty hive (root key only).
    pub fn new() -> HiveWriter {
        HiveWriter::default()
    }

    /// A SYSTEM hive skeleton: `Select` (Current = Default = LastKnownGood = 1, Failed = 0),
    /// `ControlSet001\Control\TimeZoneInformation` (Pacific), `Control\ComputerName`,
    /// `Control\ServiceGroupOrder`, and an empty `ControlSet001\Services`.
    pub fn system() -> HiveWriter {
        let mut w = HiveWriter::new();
        let select = w.root.key("Select");
        select.set("Current", RegData::Dword(1));
        select.set("Default", RegData::Dword(1));
        select.set("Failed", RegData::Dword(0));
        select.set("LastKnownGood", RegData::Dword(1));
        w.root.key("ControlSet001\\Services");
        w.root.key("ControlSet001\\Control\\ServiceGroupOrder").set(
            "List",
            RegData::MultiSz(SERVICE_GROUP_ORDER.iter().map(|g| g.to_string()).collect()),
        );
        w.time_zone(&pacific_time_zone())
            .computer_name("DESKTOP-BSODWB")
    }

    /// The key at `path` below the root, created as needed.
    pub fn key(&mut self, path: &str) -> &mut KeySpec {
        self.root.key(path)
    }

    /// Set a value of the key at `path`.
    pub fn value(mut self, path: &str, name: &str, data: RegData) -> HiveWriter {
        self.root.key(path).set(name, data);
        self
    }

    /// Add (or replace) a service of `ControlSet001`.
    pub fn service(mut self, spec: ServiceSpec) -> HiveWriter {
        let services = self.root.key("ControlSet001\\Services");
        services
            .subkeys
            .retain(|k| !k.name.eq_ignore_ascii_case(&spec.name));
        services.subkeys.push(spec.to_key());
        self
    }

    /// Write `ControlSet001\Control\TimeZoneInformation` from `tz` (fields that are `None`
    /// are left out). Transition rules are stored as TIME_FIELDS, as Windows does.
    pub fn time_zone(mut self, tz: &TimeZone) -> HiveWriter {
        let key = self.root.key("ControlSet001\\Control\\TimeZoneInformation");
        *key = KeySpec::new("TimeZoneInformation");
        let dword = |v: Option<i32>| v.map(|b| RegData::Dword(b as u32));
        let fields: [(&str, Option<RegData>); 11] = [
            ("Bias", dword(tz.bias)),
            ("DaylightBias", dword(tz.daylight_bias)),
            ("DaylightName", tz.daylight_name.clone().map(RegData::Sz)),
            (
                "DaylightStart",
                tz.daylight_start
                    .map(|r| RegData::Binary(r.to_time_fields().to_vec())),
            ),
            (
                "DynamicDaylightTimeDisabled",
                tz.dynamic_daylight_time_disabled.map(RegData::Dword),
            ),
            ("StandardBias", dword(tz.standard_bias)),
            ("StandardName", tz.standard_name.clone().map(RegData::Sz)),
            (
                "StandardStart",
                tz.standard_start
                    .map(|r| RegData::Binary(r.to_time_fields().to_vec())),
            ),
            ("TimeZoneKeyName", tz.key_name.clone().map(RegData::Sz)),
            ("ActiveTimeBias", dword(tz.active_time_bias)),
            (
                "RealTimeIsUniversal",
                tz.real_time_is_universal.map(RegData::Dword),
            ),
        ];
        for (name, data) in fields {
            if let Some(data) = data {
                key.set(name, data);
            }
        }
        self
    }

    pub fn computer_name(mut self, name: &str) -> HiveWriter {
        self.root
            .key("ControlSet001\\Control\\ComputerName\\ComputerName")
            .set("ComputerName", RegData::Sz(name.to_string()));
        self
    }

    /// Set the base block's file name field.
    pub fn file_name(mut self, name: &str) -> HiveWriter {
        self.file_name = name.to_string();
        self
    }

    pub fn last_written(mut self, t: FileTime) -> HiveWriter {
        self.last_written = t;
        self
    }

    /// The hive file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bins = Bins::default();
        // The root key is the first cell, as in Windows' hives (regipy finds it there rather
        // than at the base block's root offset).
        let root = bins.alloc(0x4C + encode_name(&self.root.name).0.len());
        let sk = bins.alloc(SK_HEADER + SECURITY_DESCRIPTOR.len());
        let mut keys = 0u32;
        let ctx = KeyContext {
            sk,
            default_time: self.last_written,
        };
        bins.write_key(&self.root, 0, Some(root), &ctx, &mut keys);
        // The security cell: a one-entry list pointing at itself, used by every key.
        let mut cell = Vec::with_capacity(SK_HEADER + SECURITY_DESCRIPTOR.len());
        cell.extend_from_slice(b"sk\0\0");
        cell.extend_from_slice(&sk.to_le_bytes());
        cell.extend_from_slice(&sk.to_le_bytes());
        cell.extend_from_slice(&keys.to_le_bytes());
        cell.extend_from_slice(&(SECURITY_DESCRIPTOR.len() as u32).to_le_bytes());
        cell.extend_from_slice(SECURITY_DESCRIPTOR);
        bins.fill(sk, &cell);
        let hbins = bins.finish(self.last_written);

        let mut out = vec![0u8; BASE_BLOCK_LEN];
        let put = |out: &mut Vec<u8>, at: usize, bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
        };
        put(&mut out, 0, b"regf");
        put(&mut out, 4, &self.sequence.to_le_bytes());
        put(&mut out, 8, &self.sequence.to_le_bytes());
        put(&mut out, 0x0C, &self.last_written.0.to_le_bytes());
        put(&mut out, 0x14, &1u32.to_le_bytes()); // major
        put(&mut out, 0x18, &5u32.to_le_bytes()); // minor: 1.5 (lh lists, db big data)
        put(&mut out, 0x1C, &0u32.to_le_bytes()); // primary file
        put(&mut out, 0x20, &1u32.to_le_bytes()); // direct memory load
        put(&mut out, 0x24, &root.to_le_bytes());
        put(&mut out, 0x28, &(hbins.len() as u32).to_le_bytes());
        put(&mut out, 0x2C, &1u32.to_le_bytes()); // clustering factor
        // 64 bytes: 31 UTF-16 units and a terminator; Windows keeps the tail of a long path.
        let units: Vec<u16> = self.file_name.encode_utf16().collect();
        let tail = &units[units.len().saturating_sub(31)..];
        let name: Vec<u8> = tail.iter().flat_map(|u| u.to_le_bytes()).collect();
        put(&mut out, 0x30, &name);
        let sum = checksum(&out);
        put(&mut out, 0x1FC, &sum.to_le_bytes());
        out.extend_from_slice(&hbins);
        out
    }

    /// Write the hive to `path` (created or truncated).
    pub fn write_to(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_bytes())
    }
}

/// `sk` cell header: signature, reserved, flink, blink, reference count, descriptor size.
const SK_HEADER: usize = 20;

/// A self-relative security descriptor: owner Administrators, group SYSTEM, and a DACL
/// granting KEY_ALL_ACCESS to SYSTEM and Administrators (inherited by subkeys).
const SECURITY_DESCRIPTOR: &[u8] = &[
    // Revision 1, Sbz1, Control = SE_SELF_RELATIVE | SE_DACL_PRESENT
    0x01, 0x00, 0x04, 0x80, //
    // Owner at 0x44, group at 0x54, no SACL, DACL at 0x14
    0x44, 0x00, 0x00, 0x00, 0x54, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
    // ACL: revision 2, size 0x30, 2 ACEs
    0x02, 0x00, 0x30, 0x00, 0x02, 0x00, 0x00, 0x00, //
    // ACCESS_ALLOWED, CONTAINER_INHERIT, size 0x14, mask 0xF003F, S-1-5-18
    0x00, 0x02, 0x14, 0x00, 0x3F, 0x00, 0x0F, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
    0x12, 0x00, 0x00, 0x00, //
    // ACCESS_ALLOWED, CONTAINER_INHERIT, size 0x18, mask 0xF003F, S-1-5-32-544
    0x00, 0x02, 0x18, 0x00, 0x3F, 0x00, 0x0F, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
    0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00, //
    // Owner S-1-5-32-544
    0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00,
    // Group S-1-5-18
    0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x12, 0x00, 0x00, 0x00,
];

const HBIN_HEADER: usize = 32;
const HBIN_SIZE: usize = 4096;

/// What every key cell shares: the security cell and the default last-write time.
struct KeyContext {
    sk: u32,
    default_time: FileTime,
}

/// The hive bins being written; offsets are relative to the first bin.
#[derive(Default)]
struct Bins {
    data: Vec<u8>,
    bin_start: usize,
    bin_end: usize,
}

/// Latin-1 ("compressed") when every character fits, else UTF-16LE.
fn encode_name(name: &str) -> (Vec<u8>, bool) {
    if name.chars().all(|c| (c as u32) < 0x100) {
        (name.chars().map(|c| c as u8).collect(), true)
    } else {
        (
            name.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            false,
        )
    }
}

fn utf16_len(name: &str) -> u32 {
    name.encode_utf16().count() as u32 * 2
}

impl Bins {
    /// Close the current bin: its free space becomes one free cell.
    fn close_bin(&mut self) {
        let rest = self.bin_end - self.data.len();
        if rest > 0 {
            let at = self.data.len();
            self.data.resize(self.bin_end, 0);
            self.data[at..at + 4].copy_from_slice(&(rest as i32).to_le_bytes());
        }
    }

    /// Allocate a cell for `payload` bytes; returns its offset.
    fn alloc(&mut self, payload: usize) -> u32 {
        let size = (payload + 4).next_multiple_of(8);
        if self.data.len() + size > self.bin_end {
            self.close_bin();
            let bin_size = (size + HBIN_HEADER).next_multiple_of(HBIN_SIZE);
            self.bin_start = self.data.len();
            self.bin_end = self.bin_start + bin_size;
            let mut header = [0u8; HBIN_HEADER];
            header[..4].copy_from_slice(b"hbin");
            header[4..8].copy_from_slice(&(self.bin_start as u32).to_le_bytes());
            header[8..12].copy_from_slice(&(bin_size as u32).to_le_bytes());
            self.data.extend_from_slice(&header);
        }
        let at = self.data.len();
        self.data.resize(at + size, 0);
        self.data[at..at + 4].copy_from_slice(&(-(size as i32)).to_le_bytes());
        at as u32
    }

    /// Write a cell's payload.
    fn fill(&mut self, cell: u32, payload: &[u8]) {
        let at = cell as usize + 4;
        self.data[at..at + payload.len()].copy_from_slice(payload);
    }

    fn cell_with(&mut self, payload: &[u8]) -> u32 {
        let cell = self.alloc(payload.len());
        self.fill(cell, payload);
        cell
    }

    /// Value data: resident (up to 4 bytes), one cell, or `db` segments.
    fn write_data(&mut self, bytes: &[u8]) -> (u32, u32) {
        if bytes.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..bytes.len()].copy_from_slice(bytes);
            return (bytes.len() as u32 | 0x8000_0000, u32::from_le_bytes(inline));
        }
        if bytes.len() <= BIG_DATA_SEGMENT {
            return (bytes.len() as u32, self.cell_with(bytes));
        }
        let segments: Vec<u32> = bytes
            .chunks(BIG_DATA_SEGMENT)
            .map(|chunk| self.cell_with(chunk))
            .collect();
        let list: Vec<u8> = segments.iter().flat_map(|s| s.to_le_bytes()).collect();
        let list = self.cell_with(&list);
        let mut db = Vec::with_capacity(8);
        db.extend_from_slice(b"db");
        db.extend_from_slice(&(segments.len() as u16).to_le_bytes());
        db.extend_from_slice(&list.to_le_bytes());
        (bytes.len() as u32, self.cell_with(&db))
    }

    /// Write `key` and its subtree; `root` is the root's pre-allocated cell.
    fn write_key(
        &mut self,
        key: &KeySpec,
        parent: u32,
        root: Option<u32>,
        ctx: &KeyContext,
        keys: &mut u32,
    ) -> u32 {
        *keys += 1;
        let (name, compressed) = encode_name(&key.name);
        let is_root = root.is_some();
        let nk = root.unwrap_or_else(|| self.alloc(0x4C + name.len()));
        let (sk, default_time) = (ctx.sk, ctx.default_time);

        let mut value_cells = Vec::with_capacity(key.values.len());
        let (mut max_value_name, mut max_value_data) = (0u32, 0u32);
        for (vname, data) in &key.values {
            let (kind, bytes) = data.encode();
            let (encoded, vcomp) = encode_name(vname);
            max_value_name = max_value_name.max(utf16_len(vname));
            max_value_data = max_value_data.max(bytes.len() as u32);
            let (size, data_offset) = self.write_data(&bytes);
            let mut vk = Vec::with_capacity(0x14 + encoded.len());
            vk.extend_from_slice(b"vk");
            vk.extend_from_slice(&(encoded.len() as u16).to_le_bytes());
            vk.extend_from_slice(&size.to_le_bytes());
            vk.extend_from_slice(&data_offset.to_le_bytes());
            vk.extend_from_slice(&kind.to_le_bytes());
            vk.extend_from_slice(&u16::from(vcomp).to_le_bytes());
            vk.extend_from_slice(&[0, 0]);
            vk.extend_from_slice(&encoded);
            value_cells.push(self.cell_with(&vk));
        }
        let value_list = if value_cells.is_empty() {
            u32::MAX
        } else {
            let list: Vec<u8> = value_cells.iter().flat_map(|c| c.to_le_bytes()).collect();
            self.cell_with(&list)
        };

        // Windows keeps subkey lists sorted by upper-case name; lookups rely on it.
        let mut children: Vec<&KeySpec> = key.subkeys.iter().collect();
        children.sort_by_key(|k| k.name.to_uppercase());
        let max_subkey_name = children
            .iter()
            .map(|k| utf16_len(&k.name))
            .max()
            .unwrap_or(0);
        let child_cells: Vec<(u32, u32)> = children
            .iter()
            .map(|k| {
                let cell = self.write_key(k, nk, None, ctx, keys);
                (cell, lh_hash(&k.name))
            })
            .collect();
        let subkey_list = if child_cells.is_empty() {
            u32::MAX
        } else {
            let mut lh = Vec::with_capacity(4 + 8 * child_cells.len());
            lh.extend_from_slice(b"lh");
            lh.extend_from_slice(&(child_cells.len() as u16).to_le_bytes());
            for (cell, hash) in &child_cells {
                lh.extend_from_slice(&cell.to_le_bytes());
                lh.extend_from_slice(&hash.to_le_bytes());
            }
            self.cell_with(&lh)
        };

        // KEY_HIVE_ENTRY | KEY_NO_DELETE for the root; KEY_COMP_NAME for Latin-1 names.
        let mut flags: u16 = if is_root { 0x0C } else { 0 };
        if compressed {
            flags |= 0x20;
        }
        let fields: [u32; 16] = [
            0, // access bits
            parent,
            child_cells.len() as u32,
            0, // volatile subkeys
            subkey_list,
            u32::MAX, // volatile subkey list
            value_cells.len() as u32,
            value_list,
            sk,
            u32::MAX, // class name
            max_subkey_name,
            0, // largest class name
            max_value_name,
            max_value_data,
            0, // work var
            0, // name and class lengths, written below
        ];
        let mut cell = Vec::with_capacity(0x4C + name.len());
        cell.extend_from_slice(b"nk");
        cell.extend_from_slice(&flags.to_le_bytes());
        cell.extend_from_slice(&key.last_write.unwrap_or(default_time).0.to_le_bytes());
        for f in &fields[..15] {
            cell.extend_from_slice(&f.to_le_bytes());
        }
        cell.extend_from_slice(&(name.len() as u16).to_le_bytes());
        cell.extend_from_slice(&0u16.to_le_bytes());
        cell.extend_from_slice(&name);
        self.fill(nk, &cell);
        nk
    }

    /// Close the last bin and stamp the first bin's timestamp.
    fn finish(mut self, time: FileTime) -> Vec<u8> {
        if self.data.is_empty() {
            self.alloc(0);
        }
        self.close_bin();
        if let Some(ts) = self.data.get_mut(0x14..0x1C) {
            ts.copy_from_slice(&time.0.to_le_bytes());
        }
        self.data
    }
}

/// Mark a written hive dirty as a crash leaves it: the primary sequence number one ahead of
/// the secondary (the write that the log holds never completed), checksum kept valid.
pub fn mark_dirty(hive: &mut [u8]) {
    let Some(secondary) = u32_at(hive, 8) else {
        return;
    };
    if let Some(b) = hive.get_mut(4..8) {
        b.copy_from_slice(&secondary.wrapping_add(1).to_le_bytes());
    }
    if hive.len() >= 512 {
        let sum = checksum(hive);
        hive[0x1FC..0x200].copy_from_slice(&sum.to_le_bytes());
    }
}

/// A new-format transaction log (`.LOG1`) with one entry that turns the hive `before` into
/// `after` (both as written by [`HiveWriter`]): the 4 KiB pages of the hive bins that differ.
/// The entry's sequence number is `before`'s secondary sequence number, so a reader replays
/// it onto `before` once [`mark_dirty`] has been applied.
pub fn transaction_log(before: &[u8], after: &[u8]) -> Vec<u8> {
    let sequence = u32_at(before, 8).unwrap_or(1);
    new_format_log(before, sequence, &[(before, after)])
}

/// The 4 KiB pages of `after`'s hive bins that differ from `before`'s (pages past `before`'s
/// end count as different): (offset from the first hive bin, bytes).
pub fn dirty_pages(before: &[u8], after: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let hbins_after = after.get(BASE_BLOCK_LEN..).unwrap_or(&[]);
    let hbins_before = before.get(BASE_BLOCK_LEN..).unwrap_or(&[]);
    hbins_after
        .chunks(HBIN_SIZE)
        .enumerate()
        .filter(|(i, page)| hbins_before.get(i * HBIN_SIZE..(i + 1) * HBIN_SIZE) != Some(*page))
        .map(|(i, page)| ((i * HBIN_SIZE) as u32, page.to_vec()))
        .collect()
}

/// One "HvLE" log entry: header, dirty page references, pages, padded to 512 bytes, with both
/// Marvin32 hashes.
pub fn log_entry(sequence: u32, hbins_size: u32, pages: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let refs_len = pages.len() * 8;
    let data_len: usize = pages.iter().map(|(_, p)| p.len()).sum();
    let size = (40 + refs_len + data_len).next_multiple_of(512);
    let mut entry = Vec::with_capacity(size);
    entry.extend_from_slice(b"HvLE");
    entry.extend_from_slice(&(size as u32).to_le_bytes());
    entry.extend_from_slice(&0u32.to_le_bytes()); // flags
    entry.extend_from_slice(&sequence.to_le_bytes());
    entry.extend_from_slice(&hbins_size.to_le_bytes());
    entry.extend_from_slice(&(pages.len() as u32).to_le_bytes());
    entry.extend_from_slice(&[0u8; 16]); // hashes, below
    for (offset, page) in pages {
        entry.extend_from_slice(&offset.to_le_bytes());
        entry.extend_from_slice(&(page.len() as u32).to_le_bytes());
    }
    for (_, page) in pages {
        entry.extend_from_slice(page);
    }
    entry.resize(size, 0);
    let hash1 = marvin32(&entry[40..], LOG_SEED);
    entry[0x18..0x20].copy_from_slice(&hash1.to_le_bytes());
    let hash2 = marvin32(&entry[..32], LOG_SEED);
    entry[0x20..0x28].copy_from_slice(&hash2.to_le_bytes());
    entry
}

/// A new-format log (file type 6) whose base block is `base`'s first 512 bytes carrying
/// `first_sequence`, followed by one entry per step (the pages that turn the step's first hive
/// into its second), numbered from `first_sequence` on. This is how Windows 8.1 and later
/// leave `SYSTEM.LOG1`/`SYSTEM.LOG2`: a log's entries may start well after the primary's
/// secondary sequence number.
pub fn new_format_log(base: &[u8], first_sequence: u32, steps: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut log = base
        .get(..512)
        .map_or_else(|| vec![0u8; 512], <[u8]>::to_vec);
    log[4..8].copy_from_slice(&first_sequence.to_le_bytes());
    log[8..12].copy_from_slice(&first_sequence.to_le_bytes());
    log[0x1C..0x20].copy_from_slice(&6u32.to_le_bytes());
    let sum = checksum(&log);
    log[0x1FC..0x200].copy_from_slice(&sum.to_le_bytes());
    for (i, (before, after)) in steps.iter().enumerate() {
        let hbins = u32_at(after, 0x28).unwrap_or(0);
        let pages = dirty_pages(before, after);
        log.extend(log_entry(
            first_sequence.wrapping_add(i as u32),
            hbins,
            &pages,
        ));
    }
    log
}

/// An old-format log (Windows XP to 8, file type 1): `after`'s base block (sequence numbers
/// equal, its last written time), "DIRT" at 512, one bit per 512-byte sector of `after`'s
/// hive bins, then the sectors that differ from `before`, from the next 512-byte boundary.
pub fn old_format_log(before: &[u8], after: &[u8]) -> Vec<u8> {
    let mut log = after
        .get(..512)
        .map_or_else(|| vec![0u8; 512], <[u8]>::to_vec);
    let sequence = u32_at(before, 4).unwrap_or(1).wrapping_add(1);
    log[4..8].copy_from_slice(&sequence.to_le_bytes());
    log[8..12].copy_from_slice(&sequence.to_le_bytes());
    log[0x1C..0x20].copy_from_slice(&1u32.to_le_bytes());
    let sum = checksum(&log);
    log[0x1FC..0x200].copy_from_slice(&sum.to_le_bytes());
    let hbins = after.len().saturating_sub(BASE_BLOCK_LEN);
    let sectors = hbins / 512;
    // The vector has hive bins size / 4096 bytes: one bit per 512-byte sector.
    let mut bitmap = vec![0u8; hbins / 4096];
    let mut data = Vec::new();
    for i in 0..sectors {
        let range = BASE_BLOCK_LEN + i * 512..BASE_BLOCK_LEN + (i + 1) * 512;
        if before.get(range.clone()) != after.get(range.clone()) {
            bitmap[i / 8] |= 1 << (i % 8);
            data.extend_from_slice(&after[range]);
        }
    }
    log.extend_from_slice(b"DIRT");
    log.extend_from_slice(&bitmap);
    log.resize(log.len().next_multiple_of(512), 0);
    log.extend_from_slice(&data);
    log
}

/// A SYSTEM hive as a crash leaves it under Windows 8.1 and later, written to `dir` as
/// `SYSTEM`, `SYSTEM.LOG1` and `SYSTEM.LOG2`: the primary holds `states[0]` with sequence
/// numbers `secondary + 1`/`secondary` (dirty); `.LOG2` holds the entries turning `states[0]`
/// into `states[1]` and on up to `states[split]`, numbered from `secondary + gap`; `.LOG1`
/// the rest, continuing the numbers. So both logs start later than the primary's secondary
/// sequence number, and `.LOG2` holds the earlier entries. The primary file is padded with
/// zeros to the largest state's length (a primary file may hold data past its last hive bin),
/// so a replay that grows the hive bins writes inside the file.
pub fn write_dirty_with_dual_logs(
    dir: &Path,
    states: &[Vec<u8>],
    secondary: u32,
    gap: u32,
    split: usize,
) -> std::io::Result<()> {
    let Some(first) = states.first() else {
        return Ok(());
    };
    let mut primary = first.clone();
    primary[4..8].copy_from_slice(&secondary.to_le_bytes());
    primary[8..12].copy_from_slice(&secondary.to_le_bytes());
    mark_dirty(&mut primary);
    let longest = states.iter().map(Vec::len).max().unwrap_or(0);
    let steps: Vec<(&[u8], &[u8])> = states
        .windows(2)
        .map(|w| (w[0].as_slice(), w[1].as_slice()))
        .collect();
    let split = split.min(steps.len());
    let start = secondary.wrapping_add(gap);
    let log2 = new_format_log(&primary, start, &steps[..split]);
    let log1 = new_format_log(&primary, start.wrapping_add(split as u32), &steps[split..]);
    if primary.len() < longest {
        primary.resize(longest, 0);
    }
    std::fs::write(dir.join("SYSTEM"), &primary)?;
    std::fs::write(dir.join("SYSTEM.LOG1"), &log1)?;
    std::fs::write(dir.join("SYSTEM.LOG2"), &log2)?;
    Ok(())
}
