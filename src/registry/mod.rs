//! The SYSTEM registry hive: control set, services and drivers, time zone.
//!
//! Our own regf reader (see [`regf`]): the SYSTEM hive needs only keys, values and subkey
//! lists, and a reader of our own handles dirty hives and their transaction logs ([`log`])
//! without the nom-7 pin notatin needs or the GPL of nt-hive.
//!
//! ```no_run
//! let hive = bsod_workbench::registry::open("SYSTEM")?;
//! let fc = hive.service("FileCrypt").expect("FileCrypt");
//! assert_eq!(fc.error_control.map(|e| e.0), Some(3));
//! # Ok::<(), bsod_workbench::registry::HiveError>(())
//! ```

pub mod bcd;
pub mod log;
pub mod regf;
mod service;
mod time;
mod value;

pub use service::{ErrorControl, Service, ServiceType, StartType};
pub use time::{FileTime, TimeZone, TransitionRule, days_from_civil, format_unix};
pub use value::{RegValue, ValueData, hex, kind_name};

use crate::driver::DriverKey;
use regf::{Hive, KeyNode};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Why a hive could not be read at all (anything less is a warning on [`SystemHive`]).
#[derive(Debug, thiserror::Error)]
pub enum HiveError {
    #[error(transparent)]
    Io(#[from] crate::mapped::OpenError),
    #[error("{}: {}", path.display(), self.cause())]
    Malformed {
        path: PathBuf,
        offset: u64,
        expected: String,
    },
    #[error("{}: {}", path.display(), self.cause())]
    NotSystemHive { path: PathBuf, reason: String },
    /// A `.LOG1`/`.LOG2`/`.LOG` given where a hive was expected.
    #[error("{}: {}", path.display(), self.cause())]
    TransactionLog {
        path: PathBuf,
        format: String,
        of: String,
    },
    /// The file ends before the hive bins its base block states, and what was read does not
    /// reach the SYSTEM hive's keys.
    #[error("{}: {}", path.display(), self.cause())]
    Truncated {
        path: PathBuf,
        at: u64,
        stated: u64,
        read: String,
    },
}

impl HiveError {
    /// What went wrong, without the file (for a listing that names the file itself).
    pub fn cause(&self) -> String {
        match self {
            HiveError::Io(e) => e.cause(),
            HiveError::Malformed {
                offset, expected, ..
            } => format!("offset {offset:#x}: expected {expected}"),
            HiveError::NotSystemHive { reason, .. } => format!("not a SYSTEM hive: {reason}"),
            HiveError::TransactionLog { format, of, .. } => format!(
                "a registry transaction log ({format}) of the hive {of}, not a hive itself; open the hive: its logs beside it are replayed when it is dirty"
            ),
            HiveError::Truncated {
                at, stated, read, ..
            } => format!("truncated at offset {at:#x}, the header says {stated:#x}; {read}"),
        }
    }

    pub(crate) fn malformed(path: &Path, offset: u64, expected: impl Into<String>) -> HiveError {
        HiveError::Malformed {
            path: path.to_path_buf(),
            offset,
            expected: expected.into(),
        }
    }
}

/// The `Select` key and the control set chosen from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ControlSet {
    /// `Select\Current`: the set the machine booted with (`CurrentControlSet` does not exist
    /// in a hive file).
    pub current: u32,
    pub default: Option<u32>,
    pub failed: Option<u32>,
    pub last_known_good: Option<u32>,
    /// The key read, e.g. `ControlSet001`.
    pub key: String,
}

/// What the base block says about the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HiveHeader {
    pub primary_sequence: u32,
    pub secondary_sequence: u32,
    pub last_written: FileTime,
    /// Format version, e.g. "1.5".
    pub version: String,
    pub checksum_ok: bool,
    /// The file was dirty as found (before any log replay).
    pub dirty: bool,
}

/// A SYSTEM hive as read: services of the current control set and the time zone.
#[derive(Clone, Debug, Serialize)]
pub struct SystemHive {
    pub path: PathBuf,
    pub header: HiveHeader,
    pub control_set: ControlSet,
    /// Services in hive order (sorted by upper-case name, as Windows keeps subkeys).
    pub services: Vec<Service>,
    pub time_zone: Option<TimeZone>,
    /// `Control\ComputerName\ComputerName\ComputerName`.
    pub computer_name: Option<String>,
    /// `Control\ServiceGroupOrder\List`: the order in which service groups load at boot.
    pub service_group_order: Vec<String>,
    /// The class-wide filter drivers of the storage device classes ([`STORAGE_CLASSES`]), read
    /// from `Control\Class\{GUID}`; a class whose key is absent is not listed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub class_filters: Vec<ClassFilters>,
    /// Driver Verifier's settings (`Control\Session Manager\Memory Management`), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verifier: Option<VerifierSettings>,
    /// Transaction logs replayed onto the primary.
    pub logs_applied: Vec<PathBuf>,
    /// How the transaction logs of a dirty hive were used (`None` for a clean hive).
    pub recovery: Option<log::Recovery>,
    /// What could not be read, or was read from a dirty file as is.
    pub warnings: Vec<crate::warning::Warning>,
}

/// Open a SYSTEM hive read-only. A dirty hive is recovered from the transaction logs beside
/// it (`SYSTEM.LOG1`, `SYSTEM.LOG2`, `SYSTEM.LOG`) when they hold the missing writes, else read
/// as is with a warning.
pub fn open(path: impl AsRef<Path>) -> Result<SystemHive, HiveError> {
    let path = path.as_ref();
    let bytes = crate::mapped::Bytes::open_file(path)?;
    let logs = log::logs_beside(path);
    from_bytes_with_logs(&bytes, path, &logs)
}

/// Read a hive held in memory (e.g. decompressed); `path` names it in errors. No log replay.
pub fn from_bytes(data: &[u8], path: &Path) -> Result<SystemHive, HiveError> {
    from_bytes_with_logs(data, path, &[])
}

/// A hive file made ready to walk: its base block, recovered from its transaction logs when it
/// is dirty, with what was noticed on the way. Shared by the SYSTEM hive and the BCD store.
pub(crate) struct Prepared {
    pub header: HiveHeader,
    pub base: regf::BaseBlock,
    /// The replayed hive when the logs applied.
    pub recovered: Option<Vec<u8>>,
    pub logs_applied: Vec<PathBuf>,
    pub recovery: Option<log::Recovery>,
    pub warnings: Vec<String>,
    /// Where the file ends when it is shorter than its base block states.
    pub truncated: Option<u64>,
    /// The length the base block states.
    pub stated: u64,
}

/// Check the base block, refuse a transaction log, replay the logs of a dirty hive and note a
/// truncated file.
pub(crate) fn prepare(data: &[u8], path: &Path, logs: &[PathBuf]) -> Result<Prepared, HiveError> {
    let base = regf::parse_base_block(data, path)?;
    let log_data = matches!(data.get(512..516), Some(b"HvLE" | b"DIRT"));
    if base.is_log() || log_data {
        let format = match data.get(512..516) {
            Some(b"HvLE") => "new format, HvLE entries",
            Some(b"DIRT") => "old format, DIRT vector",
            _ => "holding no log data",
        };
        return Err(HiveError::TransactionLog {
            path: path.to_path_buf(),
            format: format!("file type {}, {format}", base.file_type),
            of: describe_file_name(&base),
        });
    }
    let mut warnings = Vec::new();
    let header = HiveHeader {
        primary_sequence: base.primary_sequence,
        secondary_sequence: base.secondary_sequence,
        last_written: FileTime(base.last_written),
        version: format!("{}.{}", base.major, base.minor),
        checksum_ok: base.checksum_ok,
        dirty: base.is_dirty(),
    };
    let mut logs_applied = Vec::new();
    let mut recovered: Option<Vec<u8>> = None;
    let mut recovery = None;
    if base.is_dirty() {
        let state = if base.checksum_ok {
            format!(
                "sequence numbers {} and {} differ",
                base.primary_sequence, base.secondary_sequence
            )
        } else {
            format!(
                "its base block checksum is wrong ({:#010x} stored, {:#010x} computed)",
                base.checksum,
                regf::checksum(data)
            )
        };
        let (replayed, report) = log::replay(data, &base, logs);
        let each = report
            .logs
            .iter()
            .map(log::LogUse::describe)
            .collect::<Vec<_>>()
            .join("; ");
        match replayed {
            Some(bytes) => {
                logs_applied = report.applied().map(|l| l.path.clone()).collect();
                warnings.push(format!(
                    "the hive is dirty ({state}); recovered from its transaction logs: {} dirty pages, now at sequence {}{}: {each}",
                    report.dirty_pages,
                    report.sequence.unwrap_or(0),
                    if report.hbins_after != report.hbins_before {
                        format!(
                            ", hive bins {} -> {} bytes",
                            report.hbins_before, report.hbins_after
                        )
                    } else {
                        String::new()
                    }
                ));
                recovered = Some(bytes);
            }
            None => {
                let why = if logs.is_empty() {
                    "no transaction log (.LOG1/.LOG2/.LOG) beside it".to_string()
                } else {
                    format!("no log applies: {each}")
                };
                warnings.push(format!(
                    "the hive is dirty ({state}) and was read as is: {why}; the last writes before the machine stopped may be missing"
                ));
            }
        }
        recovery = Some(report);
    }
    let data = recovered.as_deref().unwrap_or(data);
    let base = if recovered.is_some() {
        regf::parse_base_block(data, path)?
    } else {
        base
    };
    // A file shorter than the hive bins its base block states: say so, read what is there.
    let stated = regf::BASE_BLOCK_LEN as u64 + u64::from(base.hbins_size);
    // (Only a base block with a valid checksum is believed about the size.)
    let truncated = (base.checksum_ok && base.hbins_size != 0 && (data.len() as u64) < stated).then(|| {
        let at = data.len() as u64;
        warnings.push(format!(
            "truncated at offset {at:#x}, the header says {stated:#x} (hive bins of {} bytes); {} bytes of hive bins are missing, keys and values there are not read; {}",
            base.hbins_size,
            stated - at,
            scan_summary(data)
        ));
        at
    });
    Ok(Prepared {
        header,
        base,
        recovered,
        logs_applied,
        recovery,
        warnings,
        truncated,
        stated,
    })
}

/// Read a hive held in memory, replaying the given transaction logs if it is dirty.
pub fn from_bytes_with_logs(
    data: &[u8],
    path: &Path,
    logs: &[PathBuf],
) -> Result<SystemHive, HiveError> {
    let Prepared {
        header,
        base,
        recovered,
        logs_applied,
        recovery,
        mut warnings,
        truncated,
        stated,
    } = prepare(data, path, logs)?;
    let data = recovered.as_deref().unwrap_or(data);
    let hive = Hive::new(data, path, &base);
    let root = match hive.key(base.root_cell) {
        Ok(root) => root,
        Err(e) => {
            return Err(match truncated {
                Some(at) => HiveError::Truncated {
                    path: path.to_path_buf(),
                    at,
                    stated,
                    read: format!("the root key is not readable ({e}); {}", scan_summary(data)),
                },
                None => e,
            });
        }
    };
    let not_system = |e: HiveError, warnings: &mut Vec<String>| -> HiveError {
        let HiveError::NotSystemHive { reason, .. } = e else {
            return e;
        };
        let names: Vec<String> = hive
            .subkeys(&root, warnings)
            .into_iter()
            .map(|k| k.name)
            .collect();
        let listed = if names.is_empty() {
            "no readable key below the root".to_string()
        } else {
            format!(
                "keys below the root: {}{}",
                names
                    .iter()
                    .take(12)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if names.len() > 12 { ", ..." } else { "" }
            )
        };
        match truncated {
            Some(at) => HiveError::Truncated {
                path: path.to_path_buf(),
                at,
                stated,
                read: format!("{reason}; read: {listed}; {}", scan_summary(data)),
            },
            None => HiveError::NotSystemHive {
                path: path.to_path_buf(),
                reason: match identify(&base, &names) {
                    Some(kind) if kind.contains("BCD") => format!(
                        "it is {kind} (base block file name {:?}; {listed}); bsodwb bcd reads it",
                        base.file_name
                    ),
                    Some(kind) if !kind.contains("SYSTEM") => format!(
                        "it is {kind} (base block file name {:?}; {listed})",
                        base.file_name
                    ),
                    _ => format!(
                        "{reason} (base block file name {:?}; {listed})",
                        base.file_name
                    ),
                },
            },
        }
    };
    let control_set = match control_set(&hive, &root, &mut warnings) {
        Ok(c) => c,
        Err(e) => return Err(not_system(e, &mut warnings)),
    };
    let Some(set) = hive.subkey(&root, &control_set.key, &mut warnings) else {
        let e = HiveError::NotSystemHive {
            path: path.to_path_buf(),
            reason: format!("no {} key below the root", control_set.key),
        };
        return Err(not_system(e, &mut warnings));
    };
    let services = match hive.subkey(&set, "Services", &mut warnings) {
        Some(key) => read_services(&hive, &key, &mut warnings),
        None if truncated.is_some() => {
            // The Services key or its list lies past the cut: read the service keys found in
            // the whole bins whose Services key belongs to this control set.
            let scan = regf::scan_cells(data);
            let mut found: Vec<Service> = scan
                .service_cells
                .iter()
                .filter(|(_, _, set_cell)| *set_cell == set.offset)
                .filter_map(|(cell, _, _)| hive.key(*cell).ok())
                .map(|key| read_service(&hive, key, &mut warnings))
                .collect();
            found.sort_by_key(|s| s.name.to_uppercase());
            warnings.push(format!(
                "{}\\Services is not readable in the truncated file; {} service keys of it were found in the whole hive bins and are read",
                control_set.key,
                found.len()
            ));
            found
        }
        None => {
            warnings.push(format!("{} has no Services key", control_set.key));
            Vec::new()
        }
    };
    let time_zone = hive
        .descend(&set, "Control\\TimeZoneInformation", &mut warnings)
        .map(|k| read_time_zone(&hive, &k, &mut warnings));
    if time_zone.is_none() {
        warnings.push(format!(
            "{}\\Control\\TimeZoneInformation is missing; times stay in UTC",
            control_set.key
        ));
    }
    let computer_name = hive
        .descend(&set, "Control\\ComputerName\\ComputerName", &mut warnings)
        .and_then(|k| {
            values_of(&hive, &k, &mut warnings)
                .into_iter()
                .find(|v| v.name.eq_ignore_ascii_case("ComputerName"))
        })
        .and_then(|v| v.data.as_str().map(str::to_string));
    let service_group_order = hive
        .descend(&set, "Control\\ServiceGroupOrder", &mut warnings)
        .and_then(|k| {
            values_of(&hive, &k, &mut warnings)
                .into_iter()
                .find(|v| v.name.eq_ignore_ascii_case("List"))
        })
        .and_then(|v| v.data.as_strings().map(<[String]>::to_vec))
        .unwrap_or_default();
    let class_filters = read_class_filters(&hive, &set, &mut warnings);
    let verifier = read_verifier(&hive, &set, &mut warnings);
    Ok(SystemHive {
        path: path.to_path_buf(),
        header,
        control_set,
        services,
        time_zone,
        computer_name,
        service_group_order,
        class_filters,
        verifier,
        logs_applied,
        recovery,
        warnings: warnings
            .into_iter()
            .map(|m| crate::warning::Warning::new(path, m))
            .collect(),
    })
}

/// What the whole hive bins of a truncated file hold, for its error message.
fn scan_summary(data: &[u8]) -> String {
    let scan = regf::scan_cells(data);
    let mut out = format!(
        "the whole hive bins up to offset {:#x} hold {} keys and {} values",
        scan.bins_end, scan.keys, scan.values
    );
    if !scan.services.is_empty() {
        let shown: Vec<&str> = scan.services.iter().take(12).map(String::as_str).collect();
        out.push_str(&format!(
            ", {} of them service keys ({}{})",
            scan.services.len(),
            shown.join(", "),
            if scan.services.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        ));
    }
    out
}

/// The hive's recorded file name for messages: `"SYSTEM" (\??\C:\...\SYSTEM)`.
fn describe_file_name(base: &regf::BaseBlock) -> String {
    match (base.short_name(), base.file_name.as_str()) {
        ("", _) => "(no file name in its base block)".to_string(),
        (short, full) if short == full => format!("{short:?}"),
        (short, full) => format!("{short:?} ({full})"),
    }
}

/// Which Windows hive this is, from the file name its base block records and the keys below
/// its root: "the SOFTWARE hive", "a user's NTUSER.DAT"...
pub fn identify(base: &regf::BaseBlock, root_keys: &[String]) -> Option<&'static str> {
    let by_name = match base.short_name().to_ascii_uppercase().as_str() {
        "SYSTEM" => Some("the SYSTEM hive"),
        "SOFTWARE" => Some("the SOFTWARE hive"),
        "SAM" => Some("the SAM hive (local accounts)"),
        "SECURITY" => Some("the SECURITY hive (LSA policy and secrets)"),
        "DEFAULT" => Some("the DEFAULT hive (the profile of the system account)"),
        "NTUSER.DAT" => Some("a user's NTUSER.DAT"),
        "USRCLASS.DAT" => Some("a user's UsrClass.dat"),
        "AMCACHE.HVE" => Some("Amcache.hve (program inventory)"),
        "BCD" | "BCD-TEMPLATE" => Some("a BCD store (boot configuration data)"),
        "COMPONENTS" => Some("the COMPONENTS hive (servicing store)"),
        "DRIVERS" => Some("the DRIVERS hive (driver store database)"),
        "ELAM" => Some("the ELAM hive (early-launch anti-malware)"),
        "BBI" => Some("the BBI hive"),
        _ => None,
    };
    if by_name.is_some() {
        return by_name;
    }
    let has = |name: &str| root_keys.iter().any(|k| k.eq_ignore_ascii_case(name));
    if has("Select")
        || root_keys
            .iter()
            .any(|k| k.to_ascii_lowercase().starts_with("controlset"))
    {
        Some("a SYSTEM hive")
    } else if has("Objects") && has("Description") {
        Some("a BCD store (boot configuration data)")
    } else if has("Microsoft") && (has("Classes") || has("Policies") || has("Clients")) {
        Some("a SOFTWARE hive")
    } else if has("Control Panel") || has("Environment") || has("AppEvents") {
        Some("a user profile hive (NTUSER.DAT or DEFAULT)")
    } else if has("SAM") && root_keys.len() == 1 {
        Some("a SAM hive (local accounts)")
    } else if has("Policy") && has("RXACT") {
        Some("a SECURITY hive (LSA policy and secrets)")
    } else if has("DriverDatabase") {
        Some("a DRIVERS hive (driver store database)")
    } else if has("Root")
        && root_keys.len() <= 2
        && base.short_name().to_ascii_lowercase().contains("amcache")
    {
        Some("Amcache.hve (program inventory)")
    } else if has("CanonicalData") || has("DerivedData") {
        Some("a COMPONENTS hive (servicing store)")
    } else {
        None
    }
}

fn control_set(
    hive: &Hive,
    root: &KeyNode,
    warnings: &mut Vec<String>,
) -> Result<ControlSet, HiveError> {
    let path = hive.path();
    if let Some(select) = hive.subkey(root, "Select", warnings) {
        let values = values_of(hive, &select, warnings);
        let get = |name: &str| {
            values
                .iter()
                .find(|v| v.name.eq_ignore_ascii_case(name))
                .and_then(|v| v.data.as_dword())
        };
        if let Some(current) = get("Current") {
            return Ok(ControlSet {
                current,
                default: get("Default"),
                failed: get("Failed"),
                last_known_good: get("LastKnownGood"),
                key: format!("ControlSet{current:03}"),
            });
        }
        warnings.push("Select has no Current value".to_string());
    } else {
        warnings.push("no Select key below the root".to_string());
    }
    // Without Select, take the lowest-numbered control set there is.
    let mut sets: Vec<u32> = hive
        .subkeys(root, warnings)
        .iter()
        .filter_map(|k| {
            let n = k.name.get(..10)?;
            n.eq_ignore_ascii_case("ControlSet")
                .then(|| k.name.get(10..)?.parse().ok())?
        })
        .collect();
    sets.sort_unstable();
    match sets.first() {
        Some(&current) => {
            warnings.push(format!(
                "using ControlSet{current:03}, the lowest control set present"
            ));
            Ok(ControlSet {
                current,
                default: None,
                failed: None,
                last_known_good: None,
                key: format!("ControlSet{current:03}"),
            })
        }
        None => Err(HiveError::NotSystemHive {
            path: path.to_path_buf(),
            reason: "no Select key and no ControlSet00N key below the root".into(),
        }),
    }
}

/// The device setup classes whose class-wide filters sit in the boot disk's stack: a filter
/// named there whose service is absent or disabled stops the disk or volume stack from
/// starting, and the boot fails with 0x7B INACCESSIBLE_BOOT_DEVICE. GUIDs from Microsoft's
/// "System-Defined Device Setup Classes Available to Vendors"
/// (<https://learn.microsoft.com/en-us/windows-hardware/drivers/install/system-defined-device-setup-classes-available-to-vendors>):
/// DiskDrive, Volume, SCSIAdapter, HDC.
pub const STORAGE_CLASSES: &[(&str, &str)] = &[
    ("{4d36e967-e325-11ce-bfc1-08002be10318}", "DiskDrive"),
    ("{71a27cdd-812a-11d0-bec7-08002be2092f}", "Volume"),
    ("{4d36e97b-e325-11ce-bfc1-08002be10318}", "SCSIAdapter"),
    ("{4d36e96a-e325-11ce-bfc1-08002be10318}", "HDC"),
];

/// `Control\Class\{GUID}`'s `UpperFilters` and `LowerFilters` of one device setup class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClassFilters {
    /// The class GUID as written in the hive's key name.
    pub guid: String,
    /// The class name (`Class` value, else the name Microsoft documents for the GUID).
    pub class: String,
    pub upper: Vec<String>,
    pub lower: Vec<String>,
}

impl ClassFilters {
    /// The key path below the control set, for evidence lines.
    pub fn key_path(&self) -> String {
        format!("Control\\Class\\{}", self.guid)
    }

    /// `(value name, its list)` for both filter values.
    pub fn lists(&self) -> [(&'static str, &[String]); 2] {
        [("UpperFilters", &self.upper), ("LowerFilters", &self.lower)]
    }
}

fn read_class_filters(hive: &Hive, set: &KeyNode, warnings: &mut Vec<String>) -> Vec<ClassFilters> {
    let Some(class_key) = hive.descend(set, "Control\\Class", warnings) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (guid, name) in STORAGE_CLASSES {
        let Some(key) = hive.subkey(&class_key, guid, warnings) else {
            continue;
        };
        let values = values_of(hive, &key, warnings);
        let list = |n: &str| -> Vec<String> {
            let Some(v) = values.iter().find(|v| v.name.eq_ignore_ascii_case(n)) else {
                return Vec::new();
            };
            // REG_MULTI_SZ as Windows writes it; a REG_SZ filter list is read as one name.
            match (v.data.as_strings(), v.data.as_str()) {
                (Some(l), _) => l.iter().filter(|s| !s.trim().is_empty()).cloned().collect(),
                (None, Some(s)) if !s.trim().is_empty() => vec![s.to_string()],
                _ => Vec::new(),
            }
        };
        let class = values
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case("Class"))
            .and_then(|v| v.data.as_str())
            .unwrap_or(name)
            .to_string();
        out.push(ClassFilters {
            guid: key.name.clone(),
            class,
            upper: list("UpperFilters"),
            lower: list("LowerFilters"),
        });
    }
    out
}

/// Driver Verifier's registry settings, as `verifier /querysettings` reads them
/// (<https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/driver-verifier-command-syntax>):
/// `VerifyDrivers` (REG_SZ, space-separated driver names, `*` for all) and
/// `VerifyDriverLevel` (the flags).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifierSettings {
    /// The drivers named by `VerifyDrivers` (`*`: every driver).
    pub drivers: Vec<String>,
    pub level: Option<u32>,
}

fn read_verifier(
    hive: &Hive,
    set: &KeyNode,
    warnings: &mut Vec<String>,
) -> Option<VerifierSettings> {
    let key = hive.descend(set, "Control\\Session Manager\\Memory Management", warnings)?;
    let values = values_of(hive, &key, warnings);
    let get = |n: &str| values.iter().find(|v| v.name.eq_ignore_ascii_case(n));
    let drivers: Vec<String> = get("VerifyDrivers")
        .and_then(|v| {
            v.data
                .as_str()
                .map(|s| vec![s.to_string()])
                .or_else(|| v.data.as_strings().map(<[String]>::to_vec))
        })
        .unwrap_or_default()
        .iter()
        .flat_map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let level = get("VerifyDriverLevel").and_then(|v| v.data.as_dword());
    // Verifier is on when it names drivers; a level alone (left after /reset on some builds)
    // verifies nothing.
    (!drivers.is_empty()).then_some(VerifierSettings { drivers, level })
}

impl VerifierSettings {
    /// Whether Verifier checks `image` (a file name such as `contoso.sys`).
    pub fn verifies(&self, image: &str) -> bool {
        self.drivers
            .iter()
            .any(|d| d == "*" || d.eq_ignore_ascii_case(image))
    }
}

fn values_of(hive: &Hive, key: &KeyNode, warnings: &mut Vec<String>) -> Vec<RegValue> {
    hive.values(key, warnings)
        .into_iter()
        .filter_map(|v| match hive.value_data(&v) {
            Ok(bytes) => Some(RegValue {
                data: ValueData::decode(v.kind, &bytes),
                name: v.name,
                kind: v.kind,
            }),
            Err(e) => {
                warnings.push(format!("value {:?} of {:?}: {e}", v.name, key.name));
                None
            }
        })
        .collect()
}

fn read_services(hive: &Hive, services: &KeyNode, warnings: &mut Vec<String>) -> Vec<Service> {
    hive.subkeys(services, warnings)
        .into_iter()
        .map(|key| read_service(hive, key, warnings))
        .collect()
}

fn read_service(hive: &Hive, key: KeyNode, warnings: &mut Vec<String>) -> Service {
    let values = values_of(hive, &key, warnings);
    let find = |name: &str| values.iter().find(|v| v.name.eq_ignore_ascii_case(name));
    // Values stored with another type than Windows writes are read as `reg query` shows them
    // (numbers from 4- or 8-byte binary data and QWORDs, text from any type), never dropped,
    // with a warning naming the type.
    let odd = std::cell::RefCell::new(Vec::new());
    let dword = |name: &str| {
        let v = find(name)?;
        if let Some(d) = v.data.as_dword() {
            return Some(d);
        }
        let n = v.data.number().and_then(|n| u32::try_from(n).ok());
        odd.borrow_mut().push(format!(
            "{}: {} is {} ({}) where Windows writes REG_DWORD; {}",
            key.name,
            v.name,
            v.kind_name()
                .map_or_else(|| format!("type {:#x}", v.kind), str::to_string),
            v.data,
            match n {
                Some(n) => format!("read as the number {n}"),
                None => "not a 32-bit number, left unread".to_string(),
            }
        ));
        n
    };
    let string = |name: &str| {
        let v = find(name)?;
        if let Some(s) = v.data.as_str() {
            return Some(s.to_string());
        }
        let text = v.data.reg_query_text();
        odd.borrow_mut().push(format!(
            "{}: {} is {} where Windows writes a string; shown as reg query shows it: {text}",
            key.name,
            v.name,
            v.kind_name()
                .map_or_else(|| format!("type {:#x}", v.kind), str::to_string),
        ));
        Some(text)
    };
    let strings = |name: &str| {
        find(name)
            .map(|v| match &v.data {
                ValueData::MultiString(list) => list.clone(),
                ValueData::String(s) if !s.is_empty() => vec![s.clone()],
                _ => Vec::new(),
            })
            .unwrap_or_default()
    };
    let service_type = dword("Type").map(ServiceType);
    let image_path = string("ImagePath");
    let driver = service_type
        .filter(|t| t.is_driver())
        .and_then(|_| DriverKey::from_service(&key.name, image_path.as_deref()));
    let subkeys = hive
        .subkeys(&key, warnings)
        .into_iter()
        .map(|k| k.name)
        .collect();
    let start = dword("Start").map(StartType);
    let error_control = dword("ErrorControl").map(ErrorControl);
    let group = string("Group");
    let display_name = string("DisplayName");
    let description = string("Description");
    let tag = dword("Tag");
    warnings.append(&mut odd.borrow_mut());
    Service {
        start,
        service_type,
        error_control,
        group,
        display_name,
        description,
        tag,
        depend_on_service: strings("DependOnService"),
        depend_on_group: strings("DependOnGroup"),
        last_write: FileTime(key.last_written),
        image_path,
        driver,
        subkeys,
        name: key.name,
        values,
    }
}

fn read_time_zone(hive: &Hive, key: &KeyNode, warnings: &mut Vec<String>) -> TimeZone {
    let values = values_of(hive, key, warnings);
    let find = |name: &str| values.iter().find(|v| v.name.eq_ignore_ascii_case(name));
    // Biases are signed minutes stored as DWORDs.
    let bias = |name: &str| find(name).and_then(|v| v.data.as_dword()).map(|d| d as i32);
    let string = |name: &str| find(name).and_then(|v| v.data.as_str()).map(str::to_string);
    let rule = |name: &str| {
        find(name)
            .and_then(|v| v.data.as_bytes())
            .and_then(TransitionRule::from_time_fields)
    };
    TimeZone {
        key_name: string("TimeZoneKeyName"),
        bias: bias("Bias"),
        standard_name: string("StandardName"),
        standard_bias: bias("StandardBias"),
        standard_start: rule("StandardStart"),
        daylight_name: string("DaylightName"),
        daylight_bias: bias("DaylightBias"),
        daylight_start: rule("DaylightStart"),
        active_time_bias: bias("ActiveTimeBias"),
        dynamic_daylight_time_disabled: find("DynamicDaylightTimeDisabled")
            .and_then(|v| v.data.as_dword()),
        real_time_is_universal: find("RealTimeIsUniversal").and_then(|v| v.data.as_dword()),
    }
}

impl SystemHive {
    /// Every service of the current control set.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The service named `name` (case-insensitive).
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The driver service whose image is `driver` (by ImagePath, or `<name>.sys` without one).
    pub fn service_for_driver(&self, driver: &DriverKey) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.driver.as_ref() == Some(driver))
    }

    /// Kernel-mode driver services.
    pub fn drivers(&self) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(|s| s.is_driver())
    }

    /// Boot load order of a service: Start, then its group's place in
    /// `ServiceGroupOrder\List` (groups not listed load after), then Tag, then name. This is
    /// the order the kernel's boot loader and `IopInitializeBootDrivers` follow; it ignores
    /// `GroupOrderList`'s per-group tag order, which only refines ties within a group.
    pub fn load_order(&self, service: &Service) -> (u32, usize, u32, String) {
        let group = service
            .group
            .as_deref()
            .and_then(|g| {
                self.service_group_order
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(g))
            })
            .unwrap_or(usize::MAX);
        (
            service.start.map_or(u32::MAX, |s| s.0),
            group,
            service.tag.unwrap_or(u32::MAX),
            service.name.to_ascii_lowercase(),
        )
    }

    /// The machine's time zone, when the hive has one.
    pub fn time_zone(&self) -> Option<&TimeZone> {
        self.time_zone.as_ref()
    }
}
