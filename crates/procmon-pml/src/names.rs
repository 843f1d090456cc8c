//! Names Procmon prints for raw values: event classes, operations, sub-operations, results,
//! access masks and flags. Enumerations follow docs/formats/pml.md §11–§12 (restated from
//! procmon-parser, MIT); result and IOCTL tables live in `assets/procmon_*.tsv`.
//! Every lookup returns `None` (or a numeric rendering) for values it does not know.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Event classes (event header +0x08).
pub const CLASS_PROCESS: u32 = 1;
pub const CLASS_REGISTRY: u32 = 2;
pub const CLASS_FILE_SYSTEM: u32 = 3;
pub const CLASS_PROFILING: u32 = 4;
pub const CLASS_NETWORK: u32 = 5;
/// "IPC" in procmon-parser 0.4.0: decoded with the file-system tables (no sample has it).
pub const CLASS_IPC: u32 = 6;

/// The "Event Class" column text.
pub fn class_name(class: u32) -> Option<&'static str> {
    Some(match class {
        0 => "Unknown",
        CLASS_PROCESS => "Process",
        CLASS_REGISTRY => "Registry",
        CLASS_FILE_SYSTEM => "File System",
        CLASS_PROFILING => "Profiling",
        CLASS_NETWORK => "Network",
        CLASS_IPC => "IPC",
        _ => return None,
    })
}

const PROCESS_OPS: &[&str] = &[
    "Process Defined",
    "Process Create",
    "Process Exit",
    "Thread Create",
    "Thread Exit",
    "Load Image",
    "Thread Profile",
    "Process Start",
    "Process Statistics",
    "System Statistics",
];

const REGISTRY_OPS: &[&str] = &[
    "RegOpenKey",
    "RegCreateKey",
    "RegCloseKey",
    "RegQueryKey",
    "RegSetValue",
    "RegQueryValue",
    "RegEnumValue",
    "RegEnumKey",
    "RegSetInfoKey",
    "RegDeleteKey",
    "RegDeleteValue",
    "RegFlushKey",
    "RegLoadKey",
    "RegUnloadKey",
    "RegRenameKey",
    "RegQueryMultipleValueKey",
    "RegSetKeySecurity",
    "RegQueryKeySecurity",
    "RegSaveKey",
    "RegLoadKey",
    "RegRestoreKey",
];

const FS_OPS: &[&str] = &[
    "VolumeDismount",
    "VolumeMount",
    "FASTIO_MDL_WRITE_COMPLETE",
    "WriteFile",
    "FASTIO_MDL_READ_COMPLETE",
    "ReadFile",
    "QueryOpen",
    "FASTIO_CHECK_IF_POSSIBLE",
    "IRP_MJ_12",
    "IRP_MJ_11",
    "IRP_MJ_10",
    "IRP_MJ_9",
    "IRP_MJ_8",
    "FASTIO_NOTIFY_STREAM_FO_CREATION",
    "FASTIO_RELEASE_FOR_CC_FLUSH",
    "FASTIO_ACQUIRE_FOR_CC_FLUSH",
    "FASTIO_RELEASE_FOR_MOD_WRITE",
    "FASTIO_ACQUIRE_FOR_MOD_WRITE",
    "FASTIO_RELEASE_FOR_SECTION_SYNCHRONIZATION",
    "CreateFileMapping",
    "CreateFile",
    "CreatePipe",
    "IRP_MJ_CLOSE",
    "ReadFile",
    "WriteFile",
    "QueryInformationFile",
    "SetInformationFile",
    "QueryEAFile",
    "SetEAFile",
    "FlushBuffersFile",
    "QueryVolumeInformation",
    "SetVolumeInformation",
    "DirectoryControl",
    "FileSystemControl",
    "DeviceIoControl",
    "InternalDeviceIoControl",
    "Shutdown",
    "LockUnlockFile",
    "CloseFile",
    "CreateMailSlot",
    "QuerySecurityFile",
    "SetSecurityFile",
    "Power",
    "SystemControl",
    "DeviceChange",
    "QueryFileQuota",
    "SetFileQuota",
    "PlugAndPlay",
];

const PROFILING_OPS: &[&str] = &[
    "Thread Profiling",
    "Process Profiling",
    "Debug Output Profiling",
];

const NETWORK_OPS: &[&str] = &[
    "Unknown",
    "Other",
    "Send",
    "Receive",
    "Accept",
    "Connect",
    "Disconnect",
    "Reconnect",
    "Retransmit",
    "TCPCopy",
];

/// File-system operation numbers the decoder branches on.
pub mod fs_op {
    pub const FASTIO_MDL_READ_COMPLETE: u16 = 4;
    pub const QUERY_OPEN: u16 = 6;
    pub const FASTIO_ACQUIRE_FOR_MOD_WRITE: u16 = 17;
    pub const CREATE_FILE_MAPPING: u16 = 19;
    pub const CREATE_FILE: u16 = 20;
    pub const CREATE_PIPE: u16 = 21;
    pub const READ_FILE: u16 = 23;
    pub const WRITE_FILE: u16 = 24;
    pub const QUERY_INFORMATION_FILE: u16 = 25;
    pub const SET_INFORMATION_FILE: u16 = 26;
    pub const QUERY_EA_FILE: u16 = 27;
    pub const SET_EA_FILE: u16 = 28;
    pub const QUERY_VOLUME_INFORMATION: u16 = 30;
    pub const SET_VOLUME_INFORMATION: u16 = 31;
    pub const DIRECTORY_CONTROL: u16 = 32;
    pub const FILE_SYSTEM_CONTROL: u16 = 33;
    pub const DEVICE_IO_CONTROL: u16 = 34;
    pub const INTERNAL_DEVICE_IO_CONTROL: u16 = 35;
    pub const LOCK_UNLOCK_FILE: u16 = 37;
    pub const CREATE_MAIL_SLOT: u16 = 39;
    pub const QUERY_SECURITY_FILE: u16 = 40;
    pub const SET_SECURITY_FILE: u16 = 41;
    pub const PLUG_AND_PLAY: u16 = 47;
}

/// Process-class operation numbers.
pub mod proc_op {
    pub const PROCESS_DEFINED: u16 = 0;
    pub const PROCESS_CREATE: u16 = 1;
    pub const PROCESS_EXIT: u16 = 2;
    pub const THREAD_CREATE: u16 = 3;
    pub const THREAD_EXIT: u16 = 4;
    pub const LOAD_IMAGE: u16 = 5;
    pub const PROCESS_START: u16 = 7;
    pub const PROCESS_STATISTICS: u16 = 8;
}

/// Registry-class operation numbers.
pub mod reg_op {
    pub const OPEN_KEY: u16 = 0;
    pub const CREATE_KEY: u16 = 1;
    pub const CLOSE_KEY: u16 = 2;
    pub const QUERY_KEY: u16 = 3;
    pub const SET_VALUE: u16 = 4;
    pub const QUERY_VALUE: u16 = 5;
    pub const ENUM_VALUE: u16 = 6;
    pub const ENUM_KEY: u16 = 7;
    pub const SET_INFO_KEY: u16 = 8;
    pub const DELETE_KEY: u16 = 9;
    pub const DELETE_VALUE: u16 = 10;
    pub const LOAD_KEY: u16 = 12;
    pub const RENAME_KEY: u16 = 14;
    pub const QUERY_MULTIPLE_VALUE_KEY: u16 = 15;
    pub const SET_KEY_SECURITY: u16 = 16;
    pub const QUERY_KEY_SECURITY: u16 = 17;
}

/// The base name of an operation (before sub-operations and the network protocol prefix).
pub fn operation_name(class: u32, op: u16) -> Option<&'static str> {
    let table = match class {
        CLASS_PROCESS => PROCESS_OPS,
        CLASS_REGISTRY => REGISTRY_OPS,
        CLASS_FILE_SYSTEM | CLASS_IPC => FS_OPS,
        CLASS_PROFILING => PROFILING_OPS,
        CLASS_NETWORK => NETWORK_OPS,
        _ => return None,
    };
    table.get(usize::from(op)).copied()
}

/// Whether the first byte of a file-system detail blob names a sub-operation for `op`
/// (only these seven operations use it; docs/formats/pml.md §11).
pub fn has_sub_operations(op: u16) -> bool {
    matches!(op, 25 | 26 | 30 | 31 | 32 | 37 | 47)
}

/// The name of a file-system sub-operation, `None` when Procmon shows `<Unknown>`.
pub fn sub_operation_name(op: u16, sub: u8) -> Option<&'static str> {
    Some(match (op, sub) {
        (25, 4) => "QueryBasicInformationFile",
        (25, 5) => "QueryStandardInformationFile",
        (25, 6) => "QueryFileInternalInformationFile",
        (25, 7) => "QueryEaInformationFile",
        (25, 9) => "QueryNameInformationFile",
        (25, 14) => "QueryPositionInformationFile",
        (25, 18) => "QueryAllInformationFile",
        (25, 20) => "QueryEndOfFile",
        (25, 22) => "QueryStreamInformationFile",
        (25, 28) => "QueryCompressionInformationFile",
        (25, 29) => "QueryId",
        (25, 31) => "QueryMoveClusterInformationFile",
        (25, 34) => "QueryNetworkOpenInformationFile",
        (25, 35) => "QueryAttributeTagFile",
        (25, 37) => "QueryIdBothDirectory",
        (25, 39) => "QueryValidDataLength",
        (25, 40) => "QueryShortNameInformationFile",
        (25, 43) => "QueryIoPiorityHint",
        (25, 46) => "QueryLinks",
        (25, 48) => "QueryNormalizedNameInformationFile",
        (25, 49) => "QueryNetworkPhysicalNameInformationFile",
        (25, 50) => "QueryIdGlobalTxDirectoryInformation",
        (25, 51) => "QueryIsRemoteDeviceInformation",
        (25, 52) => "QueryAttributeCacheInformation",
        (25, 53) => "QueryNumaNodeInformation",
        (25, 54) => "QueryStandardLinkInformation",
        (25, 55) => "QueryRemoteProtocolInformation",
        (25, 56) => "QueryRenameInformationBypassAccessCheck",
        (25, 57) => "QueryLinkInformationBypassAccessCheck",
        (25, 58) => "QueryVolumeNameInformation",
        (25, 59) => "QueryIdInformation",
        (25, 60) => "QueryIdExtdDirectoryInformation",
        (25, 62) => "QueryHardLinkFullIdInformation",
        (25, 63) => "QueryIdExtdBothDirectoryInformation",
        (25, 67) => "QueryDesiredStorageClassInformation",
        (25, 68) => "QueryStatInformation",
        (25, 69) => "QueryMemoryPartitionInformation",
        (26, 4) => "SetBasicInformationFile",
        (26, 10) => "SetRenameInformationFile",
        (26, 11) => "SetLinkInformationFile",
        (26, 13) => "SetDispositionInformationFile",
        (26, 14) => "SetPositionInformationFile",
        (26, 19) => "SetAllocationInformationFile",
        (26, 20) => "SetEndOfFileInformationFile",
        (26, 22) => "SetFileStreamInformation",
        (26, 23) => "SetPipeInformation",
        (26, 39) => "SetValidDataLengthInformationFile",
        (26, 40) => "SetShortNameInformation",
        (26, 61) => "SetReplaceCompletionInformation",
        (26, 64) => "SetDispositionInformationEx",
        (26, 65) => "SetRenameInformationEx",
        (26, 66) => "SetRenameInformationExBypassAccessCheck",
        (30, 1) => "QueryInformationVolume",
        (30, 2) => "QueryLabelInformationVolume",
        (30, 3) => "QuerySizeInformationVolume",
        (30, 4) => "QueryDeviceInformationVolume",
        (30, 5) => "QueryAttributeInformationVolume",
        (30, 6) => "QueryControlInformationVolume",
        (30, 7) => "QueryFullSizeInformationVolume",
        (30, 8) => "QueryObjectIdInformationVolume",
        (31, 1) => "SetControlInformationVolume",
        (31, 2) => "SetLabelInformationVolume",
        (31, 8) => "SetObjectIdInformationVolume",
        (32, 1) => "QueryDirectory",
        (32, 2) => "NotifyChangeDirectory",
        (37, 1) => "LockFile",
        (37, 2) => "UnlockFileSingle",
        (37, 3) => "UnlockFileAll",
        (37, 4) => "UnlockFileByKey",
        (47, 0) => "StartDevice",
        (47, 1) => "QueryRemoveDevice",
        (47, 2) => "RemoveDevice",
        (47, 3) => "CancelRemoveDevice",
        (47, 4) => "StopDevice",
        (47, 5) => "QueryStopDevice",
        (47, 6) => "CancelStopDevice",
        (47, 7) => "QueryDeviceRelations",
        (47, 8) => "QueryInterface",
        (47, 9) => "QueryCapabilities",
        (47, 10) => "QueryResources",
        (47, 11) => "QueryResourceRequirements",
        (47, 12) => "QueryDeviceText",
        (47, 13) => "FilterResourceRequirements",
        (47, 15) => "ReadConfig",
        (47, 16) => "WriteConfig",
        (47, 17) => "Eject",
        (47, 18) => "SetLock",
        (47, 19) => "QueryId2",
        (47, 20) => "QueryPnpDeviceState",
        (47, 21) => "QueryBusInformation",
        (47, 22) => "DeviceUsageNotification",
        (47, 23) => "SurpriseRemoval",
        (47, 24) => "QueryLegacyBusInformation",
        _ => return None,
    })
}

/// What Procmon prints for values it does not recognise.
pub const UNKNOWN: &str = "<Unknown>";

/// The Operation column text of an event. `sub` is the file-system sub-operation byte
/// (ignored for operations without sub-operations); `tcp` the network protocol flag.
pub fn operation_text(class: u32, op: u16, sub: u8, tcp: bool) -> std::borrow::Cow<'static, str> {
    use std::borrow::Cow;
    let is_fs = class == CLASS_FILE_SYSTEM || class == CLASS_IPC;
    // Sub-operation 0 keeps the base name (procmon-parser and the oracle agree), except for
    // PlugAndPlay where 0 is StartDevice.
    if is_fs && has_sub_operations(op) && (sub != 0 || op == fs_op::PLUG_AND_PLAY) {
        return Cow::Borrowed(sub_operation_name(op, sub).unwrap_or(UNKNOWN));
    }
    match operation_name(class, op) {
        Some(name) if class == CLASS_NETWORK => {
            Cow::Owned(format!("{} {name}", if tcp { "TCP" } else { "UDP" }))
        }
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(format!("<Unknown: {op}>")),
    }
}

fn parse_hex_tsv(text: &'static str) -> HashMap<u32, &'static str> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let code = cols.next()?.trim_start_matches("0x");
            let name = cols.next()?;
            Some((u32::from_str_radix(code, 16).ok()?, name))
        })
        .collect()
}

/// Procmon's short text for a result code (observed texts first, then the NTSTATUS name).
pub fn result_name(code: u32) -> Option<&'static str> {
    static TABLE: OnceLock<HashMap<u32, &'static str>> = OnceLock::new();
    TABLE
        .get_or_init(|| parse_hex_tsv(include_str!("../assets/procmon_result_names.tsv")))
        .get(&code)
        .copied()
}

/// The Result column text: the name, or `0x…` hex for codes without one; empty for
/// STATUS_PENDING (0x103), which Procmon leaves blank.
pub fn result_text(code: u32) -> std::borrow::Cow<'static, str> {
    match result_name(code) {
        Some(n) => std::borrow::Cow::Borrowed(n),
        None => std::borrow::Cow::Owned(format!("0x{code:X}")),
    }
}

/// The symbolic name of an IOCTL/FSCTL code.
pub fn ioctl_name(code: u32) -> Option<&'static str> {
    static TABLE: OnceLock<HashMap<u32, &'static str>> = OnceLock::new();
    TABLE
        .get_or_init(|| parse_hex_tsv(include_str!("../assets/procmon_ioctl_names.tsv")))
        .get(&code)
        .copied()
}

/// The Detail rendering of an IOCTL code: its name, or its CTL_CODE decomposition.
pub fn ioctl_text(code: u32) -> String {
    match ioctl_name(code) {
        Some(n) => n.to_string(),
        None => format!(
            "0x{code:x} (Device:0x{:x} Function:{} Method: {})",
            code >> 16,
            (code >> 2) & 0xfff,
            code & 3
        ),
    }
}

/// Joins the names of the bits of `mask` in table order; each entry consumes its bits.
pub fn mask_text(mut mask: u32, table: &[(u32, &str)], sep: &str) -> String {
    let mut out = String::new();
    for &(bits, name) in table {
        if bits != 0 && mask & bits == bits {
            if !out.is_empty() {
                out.push_str(sep);
            }
            out.push_str(name);
            mask &= !bits;
        }
    }
    out
}

const COMMON_ACCESS: &[(u32, &str)] = &[
    (0x10000, "Delete"),
    (0x20000, "Read Control"),
    (0x40000, "Write DAC"),
    (0x80000, "Write Owner"),
    (0x100000, "Synchronize"),
    (0x1000000, "Access System Security"),
    (0x2000000, "Maximum Allowed"),
];

const REGISTRY_ACCESS: &[(u32, &str)] = &[
    (0xf003f, "All Access"),
    (0x2001f, "Read/Write"),
    (0x20019, "Read"),
    (0x20006, "Write"),
    (0x1, "Query Value"),
    (0x2, "Set Value"),
    (0x4, "Create Sub Key"),
    (0x8, "Enumerate Sub Keys"),
    (0x10, "Notify"),
    (0x20, "Create Link"),
    (0x300, "WOW64_Res"),
    (0x200, "WOW64_32Key"),
    (0x100, "WOW64_64Key"),
];

const FILE_ACCESS: &[(u32, &str)] = &[
    (0x1f01ff, "All Access"),
    (0x1201bf, "Generic Read/Write/Execute"),
    (0x12019f, "Generic Read/Write"),
    (0x1200a9, "Generic Read/Execute"),
    (0x1201b6, "Generic Write/Execute"),
    (0x120089, "Generic Read"),
    (0x120116, "Generic Write"),
    (0x1200a0, "Generic Execute"),
    (0x1, "Read Data/List Directory"),
    (0x2, "Write Data/Add File"),
    (0x4, "Append Data/Add Subdirectory/Create Pipe Instance"),
    (0x8, "Read EA"),
    (0x10, "Write EA"),
    (0x20, "Execute/Traverse"),
    (0x40, "Delete Child"),
    (0x80, "Read Attributes"),
    (0x100, "Write Attributes"),
];

fn access_text(mut mask: u32, generic: [u32; 4], specific: &[(u32, &str)]) -> String {
    // GENERIC_READ/WRITE/EXECUTE/ALL map to specific rights as MapGenericMask does.
    for (bit, mapped) in [0x8000_0000u32, 0x4000_0000, 0x2000_0000, 0x1000_0000]
        .into_iter()
        .zip(generic)
    {
        if mask & bit != 0 {
            mask |= mapped;
        }
    }
    let mut table: Vec<(u32, &str)> = specific.to_vec();
    table.extend_from_slice(COMMON_ACCESS);
    let s = mask_text(mask, &table, ", ");
    if s.is_empty() {
        format!("None 0x{mask:x}")
    } else {
        s
    }
}

/// KEY_* access mask text ("Read", "All Access", "Query Value, Set Value", …).
pub fn registry_access_text(mask: u32) -> String {
    access_text(mask, [0x20019, 0x20006, 0x20019, 0xf003f], REGISTRY_ACCESS)
}

/// FILE_* access mask text ("Generic Read", "Read Attributes, Synchronize", …).
pub fn file_access_text(mask: u32) -> String {
    access_text(mask, [0x120089, 0x120116, 0x1200a0, 0x1f01ff], FILE_ACCESS)
}

pub const CREATE_OPTIONS: &[(u32, &str)] = &[
    (0x1, "Directory"),
    (0x2, "Write Through"),
    (0x4, "Sequential Access"),
    (0x8, "No Buffering"),
    (0x10, "Synchronous IO Alert"),
    (0x20, "Synchronous IO Non-Alert"),
    (0x40, "Non-Directory File"),
    (0x80, "Create Tree Connection"),
    (0x100, "Complete If Oplocked"),
    (0x200, "No EA Knowledge"),
    (0x400, "Open for Recovery"),
    (0x800, "Random Access"),
    (0x1000, "Delete On Close"),
    (0x2000, "Open By ID"),
    (0x4000, "Open For Backup"),
    (0x8000, "No Compression"),
    (0x100000, "Reserve OpFilter"),
    (0x200000, "Open Reparse Point"),
    (0x400000, "Open No Recall"),
    (0x800000, "Open For Free Space Query"),
    (0x10000, "Open Requiring Oplock"),
    (0x20000, "Disallow Exclusive"),
];

const FILE_ATTRIBUTES: &[(u32, &str)] = &[
    (0x1, "R"),
    (0x2, "H"),
    (0x4, "S"),
    (0x10, "D"),
    (0x20, "A"),
    (0x40, "D"),
    (0x80, "N"),
    (0x100, "T"),
    (0x200, "SF"),
    (0x400, "RP"),
    (0x800, "C"),
    (0x1000, "O"),
    (0x2000, "NCI"),
    (0x4000, "E"),
    (0x10000, "V"),
    (0x180000, " 0x180000"),
    (0x80000, " 0x80000"),
    (0x100000, " 0x100000"),
];

/// FILE_ATTRIBUTE_* letters ("A", "HSD", …; 0 ⇒ "n/a").
pub fn file_attributes_text(mask: u32) -> String {
    if mask == 0 {
        return "n/a".to_string();
    }
    mask_text(mask, FILE_ATTRIBUTES, "")
}

/// Share access ("Read, Write"; 0 ⇒ "None").
pub fn share_mode_text(mask: u32) -> String {
    if mask == 0 {
        return "None".to_string();
    }
    mask_text(
        mask,
        &[(0x1, "Read"), (0x2, "Write"), (0x4, "Delete")],
        ", ",
    )
}

/// IRP flags shown as "I/O Flags".
pub fn io_flags_text(mask: u32) -> String {
    mask_text(
        mask,
        &[
            (0x10, "Buffered"),
            (0x1, "Non-cached"),
            (0x2, "Paging I/O"),
            (0x4, "Synchronous"),
            (0x40, "Synchronous Paging I/O"),
            (0x400000, "Write Through"),
        ],
        ", ",
    )
}

/// I/O priority hint names.
pub fn priority_text(p: u32) -> String {
    match p {
        0 => String::new(),
        1 => "Very Low".into(),
        2 => "Low".into(),
        3 => "Normal".into(),
        4 => "High".into(),
        5 => "Critical".into(),
        _ => format!("0x{p:x}"),
    }
}

/// FILE_NOTIFY_CHANGE_* filter names.
pub fn notify_change_text(mask: u32) -> String {
    mask_text(
        mask,
        &[
            (0x1, "FILE_NOTIFY_CHANGE_FILE_NAME"),
            (0x2, "FILE_NOTIFY_CHANGE_DIR_NAME"),
            (0x3, "FILE_NOTIFY_CHANGE_NAME"),
            (0x4, "FILE_NOTIFY_CHANGE_ATTRIBUTES"),
            (0x8, "FILE_NOTIFY_CHANGE_SIZE"),
            (0x10, "FILE_NOTIFY_CHANGE_LAST_WRITE"),
            (0x20, "FILE_NOTIFY_CHANGE_LAST_ACCESS"),
            (0x40, "FILE_NOTIFY_CHANGE_CREATION"),
            (0x80, "FILE_NOTIFY_CHANGE_EA"),
            (0x100, "FILE_NOTIFY_CHANGE_SECURITY"),
            (0x200, "FILE_NOTIFY_CHANGE_STREAM_NAME"),
            (0x400, "FILE_NOTIFY_CHANGE_STREAM_SIZE"),
            (0x800, "FILE_NOTIFY_CHANGE_STREAM_WRITE"),
        ],
        ", ",
    )
}

/// SECURITY_INFORMATION names; bits Procmon has no name for (0x100 access filter, …)
/// follow as one hex number.
pub fn security_information_text(mask: u32) -> String {
    let named = 0xF001_00FF;
    let mut s = security_named(mask & named);
    if mask & !named != 0 {
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(&format!("0x{:x}", mask & !named));
    }
    s
}

fn security_named(mask: u32) -> String {
    mask_text(
        mask,
        &[
            (0x1, "Owner"),
            (0x2, "Group"),
            (0x4, "DACL"),
            (0x8, "SACL"),
            (0x10, "Label"),
            (0x20, "Attribute"),
            (0x40, "Scope"),
            (0x80, "Process Trust Label"),
            (0x10000, "Backup"),
            (0x80000000, "DACL Protected"),
            (0x40000000, "SACL Protected"),
            (0x20000000, "DACL Unprotected"),
            (0x10000000, "SACL Unprotected"),
        ],
        ", ",
    )
}

/// FILE_FS_ATTRIBUTE_INFORMATION flags in the order the oracle CSVs show them; Procmon
/// appends the bits it has no name for as one hex number.
pub fn fs_attributes_text(mask: u32) -> String {
    const T: &[(u32, &str)] = &[
        (0x2, "Case Preserved"),
        (0x1, "Case Sensitive"),
        (0x4, "Unicode"),
        (0x8, "ACLs"),
        (0x10, "Compression"),
        (0x40000, "Named Streams"),
        (0x20000, "EFS"),
        (0x10000, "Object IDs"),
        (0x80, "Reparse Points"),
        (0x40, "Sparse Files"),
        (0x20, "Quotas"),
        (0x200000, "Transactions"),
    ];
    let mut out = mask_text(mask, T, ", ");
    let named: u32 = T.iter().map(|(b, _)| b).fold(0, |a, b| a | b);
    let rest = mask & !named;
    if rest != 0 {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&format!("0x{rest:x}"));
    }
    out
}

/// REG_* type names.
pub fn reg_type_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0 => "REG_NONE",
        1 => "REG_SZ",
        2 => "REG_EXPAND_SZ",
        3 => "REG_BINARY",
        4 => "REG_DWORD",
        5 => "REG_DWORD_BIG_ENDIAN",
        6 => "REG_LINK",
        7 => "REG_MULTI_SZ",
        8 => "REG_RESOURCE_LIST",
        9 => "REG_FULL_RESOURCE_DESCRIPTOR",
        10 => "REG_RESOURCE_REQUIREMENTS_LIST",
        11 => "REG_QWORD",
        _ => return None,
    })
}

/// KEY_INFORMATION_CLASS names as Procmon shows them in "Query:".
pub fn key_information_class_name(c: u32) -> Option<&'static str> {
    Some(match c {
        0 => "Basic",
        1 => "Node",
        2 => "Full",
        3 => "Name",
        4 => "Cached",
        5 => "Flags",
        6 => "Virtualization",
        7 => "HandleTags",
        8 => "Trust",
        9 => "Layer",
        _ => return None,
    })
}

/// FILE_INFORMATION_CLASS names (QueryDirectory's FileInformationClass).
pub fn file_information_class_name(c: u32) -> Option<&'static str> {
    const T: &[&str] = &[
        "Unknown",
        "FileDirectoryInformation",
        "FileFullDirectoryInformation",
        "FileBothDirectoryInformation",
        "FileBasicInformation",
        "FileStandardInformation",
        "FileInternalInformation",
        "FileEaInformation",
        "FileAccessInformation",
        "FileNameInformation",
        "FileRenameInformation",
        "FileLinkInformation",
        "FileNamesInformation",
        "FileDispositionInformation",
        "FilePositionInformation",
        "FileFullEaInformation",
        "FileModeInformation",
        "FileAlignmentInformation",
        "FileAllInformation",
        "FileAllocationInformation",
        "FileEndOfFileInformation",
        "FileAlternateNameInformation",
        "FileStreamInformation",
        "FilePipeInformation",
        "FilePipeLocalInformation",
        "FilePipeRemoteInformation",
        "FileMailslotQueryInformation",
        "FileMailslotSetInformation",
        "FileCompressionInformation",
        "FileObjectIdInformation",
        "FileCompletionInformation",
        "FileMoveClusterInformation",
        "FileQuotaInformation",
        "FileReparsePointInformation",
        "FileNetworkOpenInformation",
        "FileAttributeTagInformation",
        "FileTrackingInformation",
        "FileIdBothDirectoryInformation",
        "FileIdFullDirectoryInformation",
        "FileValidDataLengthInformation",
        "FileShortNameInformation",
        "FileIoCompletionNotificationInformation",
        "FileIoStatusBlockRangeInformation",
        "FileIoPriorityHintInformation",
        "FileSfioReserveInformation",
        "FileSfioVolumeInformation",
        "FileHardLinkInformation",
        "FileProcessIdsUsingFileInformation",
        "FileNormalizedNameInformation",
        "FileNetworkPhysicalNameInformation",
        "FileIdGlobalTxDirectoryInformation",
        "FileIsRemoteDeviceInformation",
        "FileUnusedInformation",
        "FileNumaNodeInformation",
        "FileStandardLinkInformation",
        "FileRemoteProtocolInformation",
        "FileRenameInformationBypassAccessCheck",
        "FileLinkInformationBypassAccessCheck",
        "FileVolumeNameInformation",
        "FileIdInformation",
        "FileIdExtdDirectoryInformation",
        "FileReplaceCompletionInformation",
        "FileHardLinkFullIdInformation",
        "FileIdExtdBothDirectoryInformation",
        "FileDispositionInformationEx",
        "FileRenameInformationEx",
        "FileRenameInformationExBypassAccessCheck",
        "FileDesiredStorageClassInformation",
        "FileStatInformation",
        "FileMemoryPartitionInformation",
    ];
    T.get(usize::try_from(c).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_names_render_like_procmon() {
        assert_eq!(registry_access_text(0x20019), "Read");
        assert_eq!(registry_access_text(0x2000000), "Maximum Allowed");
        assert_eq!(registry_access_text(0x80000000), "Read");
        assert_eq!(file_access_text(0x100080), "Read Attributes, Synchronize");
        assert_eq!(file_attributes_text(0), "n/a");
        assert_eq!(share_mode_text(7), "Read, Write, Delete");
        assert_eq!(result_text(0xC0000034), "NAME NOT FOUND");
        assert_eq!(result_text(0xC0000428), "INVALID IMAGE HASH");
        assert_eq!(result_text(0x368), "0x368");
        assert_eq!(result_text(0xDEAD0001), "0xDEAD0001");
        assert_eq!(
            ioctl_text(0x902eb),
            "0x902eb (Device:0x9 Function:186 Method: 3)"
        );
        assert_eq!(ioctl_text(0x900a8), "FSCTL_GET_REPARSE_POINT");
        assert_eq!(operation_text(3, 25, 71, false), UNKNOWN);
        assert_eq!(operation_text(3, 25, 4, false), "QueryBasicInformationFile");
        assert_eq!(operation_text(3, 33, 4, false), "FileSystemControl");
        assert_eq!(operation_text(5, 2, 0, true), "TCP Send");
        assert_eq!(operation_text(9, 2, 0, true), "<Unknown: 2>");
    }
}
