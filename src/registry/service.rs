//! Service keys (`ControlSet00N\Services\<name>`) and their codes.
//!
//! Codes: Microsoft, "CurrentControlSet\Services Subkey Entries" and winnt.h
//! (`SERVICE_BOOT_START`..., `SERVICE_KERNEL_DRIVER`..., `SERVICE_ERROR_*`).

use super::time::FileTime;
use super::value::RegValue;
use crate::driver::DriverKey;
use serde::{Serialize, Serializer};

/// Serialise a code as `{"code": n, "name": "..."}` (name null when unknown).
fn code_and_name<S: Serializer>(s: S, code: u32, name: Option<&str>) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Code", 2)?;
    st.serialize_field("code", &code)?;
    st.serialize_field("name", &name)?;
    st.end()
}

/// `Start`: when the service is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StartType(pub u32);

impl StartType {
    pub const BOOT: u32 = 0;
    pub const SYSTEM: u32 = 1;
    pub const AUTO: u32 = 2;
    pub const DEMAND: u32 = 3;
    pub const DISABLED: u32 = 4;

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "boot",
            1 => "system",
            2 => "auto",
            3 => "demand",
            4 => "disabled",
            _ => return None,
        })
    }

    /// Boot (0) and system (1) start drivers are loaded by the kernel during boot, before
    /// the service control manager runs.
    pub fn is_boot_or_system(self) -> bool {
        self.0 <= 1
    }
}

/// `Type`: a bit mask; drivers are 1, 2 (and 8), processes 0x10/0x20 (+0x100 interactive,
/// +0x40 user service, +0x80 user service instance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceType(pub u32);

impl ServiceType {
    pub const KERNEL_DRIVER: u32 = 0x1;
    pub const FILE_SYSTEM_DRIVER: u32 = 0x2;

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x1 => "kernel driver",
            0x2 => "file-system driver",
            0x4 => "adapter",
            0x8 => "recognizer driver",
            0x10 => "own process",
            0x20 => "share process",
            0x110 => "own process, interactive",
            0x120 => "share process, interactive",
            0x50 => "user own process",
            0x60 => "user share process",
            0xD0 => "user own process instance",
            0xE0 => "user share process instance",
            _ => return None,
        })
    }

    /// A kernel-mode driver (kernel, file-system or recognizer driver), loaded by the I/O manager.
    pub fn is_driver(self) -> bool {
        self.0 & 0xB != 0 && self.0 & 0x30 == 0
    }
}

/// `ErrorControl`: what happens when the service fails to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorControl(pub u32);

impl ErrorControl {
    pub const CRITICAL: u32 = 3;

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "ignore",
            1 => "normal",
            2 => "severe",
            3 => "critical",
            _ => return None,
        })
    }

    /// Critical: the boot fails (bug check 0x5A CRITICAL_SERVICE_FAILED for a boot-time
    /// driver), or falls back to the last known good configuration.
    pub fn is_critical(self) -> bool {
        self.0 == Self::CRITICAL
    }
}

macro_rules! serialize_code {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                code_and_name(s, self.0, self.name())
            }
        }
    )*};
}
serialize_code!(StartType, ServiceType, ErrorControl);

/// One service key with its common values decoded, plus every value and subkey name as read.
#[derive(Clone, Debug, Serialize)]
pub struct Service {
    /// The key name, e.g. `FileCrypt`.
    pub name: String,
    pub start: Option<StartType>,
    #[serde(rename = "type")]
    pub service_type: Option<ServiceType>,
    pub error_control: Option<ErrorControl>,
    pub image_path: Option<String>,
    pub group: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// Load order within the group.
    pub tag: Option<u32>,
    pub depend_on_service: Vec<String>,
    pub depend_on_group: Vec<String>,
    /// Last write time of the service key.
    pub last_write: FileTime,
    /// The driver image of a kernel-mode driver service (see [`DriverKey::from_service`]).
    pub driver: Option<DriverKey>,
    /// Every value of the key, in hive order.
    pub values: Vec<RegValue>,
    /// Names of the key's subkeys (`Parameters`, `Instances`, `Enum`...).
    pub subkeys: Vec<String>,
}

impl Service {
    /// A boot- or system-start driver with ErrorControl = critical: if it fails to load, the
    /// machine bug checks 0x5A CRITICAL_SERVICE_FAILED.
    pub fn is_critical_boot_driver(&self) -> bool {
        self.start.is_some_and(StartType::is_boot_or_system)
            && self.error_control.is_some_and(ErrorControl::is_critical)
            && self.is_driver()
    }

    /// A kernel-mode driver service.
    pub fn is_driver(&self) -> bool {
        self.service_type.is_some_and(ServiceType::is_driver)
    }

    /// The value named `name` (case-insensitive).
    pub fn value(&self, name: &str) -> Option<&RegValue> {
        self.values
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
    }
}
