//! The motivating case as data: which drivers a broken Windows Server 2016 had, how each is
//! configured, which catalog vouches for it and where that catalog is. Every writer of the demo
//! case reads this one table, so the dump, the boot log, the event logs, the hive, the driver
//! files and the catalogs tell one consistent story (../shared/seed/bsod-live-example.txt).

/// Where the catalog that lists a driver's hash lives in the demo case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogHome {
    /// In `CatRoot\{F750E6C3-...}`: the driver verifies.
    CatRoot,
    /// Only in `servicing\Packages`: CatRoot lost it (the fault of the story).
    ServicingOnly,
}

/// One driver of the story.
#[derive(Clone, Copy, Debug)]
pub struct StoryDriver {
    /// The image file name as Windows spells it.
    pub file: &'static str,
    /// The service key name.
    pub service: &'static str,
    /// Start: 0 boot, 1 system, 2 auto, 3 demand, 4 disabled.
    pub start: u32,
    /// Type: 1 kernel driver, 2 file-system driver.
    pub service_type: u32,
    /// ErrorControl: 0 ignore, 1 normal, 2 severe, 3 critical.
    pub error_control: u32,
    pub group: &'static str,
    pub display_name: &'static str,
    pub company: &'static str,
    pub description: &'static str,
    pub catalog: CatalogHome,
    /// Loaded before the machine died (in the dump's module list and the boot log's loads).
    pub loaded: bool,
}

const MS: &str = "Microsoft Corporation";

#[allow(clippy::too_many_arguments)] // a table row constructor: one argument per column
const fn d(
    file: &'static str,
    service: &'static str,
    start: u32,
    service_type: u32,
    error_control: u32,
    group: &'static str,
    description: &'static str,
    catalog: CatalogHome,
    loaded: bool,
) -> StoryDriver {
    StoryDriver {
        file,
        service,
        start,
        service_type,
        error_control,
        group,
        display_name: description,
        company: MS,
        description,
        catalog,
        loaded,
    }
}

use CatalogHome::{CatRoot, ServicingOnly};

/// The catalog that CatRoot lost, found only in `servicing\Packages` (the seed's sigcheck output).
pub const LOST_CATALOG: &str = "Package_1257_for_KB5036899~31bf3856ad364e35~amd64~~10.0.1.27.cat";
/// A catalog still present in CatRoot, vouching for the drivers that load fine.
pub const GOOD_CATALOG: &str =
    "Microsoft-Windows-Server-Features-Package0116~31bf3856ad364e35~amd64~~10.0.14393.6795.cat";
/// The CatRoot database folder name.
pub const CATROOT_GUID: &str = "{F750E6C3-38EE-11D1-85E5-00C04FC295EE}";
/// The OS build of the story (IMAGE_VERSION in the seed).
pub const OS_VERSION: (u16, u16, u16, u16) = (10, 0, 14393, 6795);
/// The driver whose failed load bugchecks the machine.
pub const CULPRIT: &str = "filecrypt.sys";

/// Every driver of the story, in load order. The first group loads; filecrypt.sys, a boot-start
/// critical file-system filter, fails with STATUS_INVALID_IMAGE_HASH and the machine bugchecks
/// 0x5A before the rest (the drivers the seed had to re-sign) are reached.
pub const DRIVERS: &[StoryDriver] = &[
    d(
        "CLFS.SYS",
        "CLFS",
        0,
        1,
        3,
        "Boot Bus Extender",
        "Common Log File System Driver",
        CatRoot,
        true,
    ),
    d("tm.sys", "tm", 0, 1, 1, "", "KTM", CatRoot, true),
    d(
        "PSHED.dll",
        "PSHED",
        0,
        1,
        1,
        "",
        "Platform Specific Hardware Error Driver",
        CatRoot,
        true,
    ),
    d(
        "CI.dll",
        "CI",
        0,
        1,
        3,
        "",
        "Code Integrity Module",
        CatRoot,
        true,
    ),
    d(
        "msrpc.sys",
        "msrpc",
        0,
        1,
        1,
        "",
        "Kernel Remote Procedure Call Provider",
        CatRoot,
        true,
    ),
    d(
        "Wdf01000.sys",
        "Wdf01000",
        0,
        1,
        1,
        "WdfLoadGroup",
        "Kernel Mode Driver Frameworks service",
        CatRoot,
        true,
    ),
    d(
        "acpi.sys",
        "ACPI",
        0,
        1,
        3,
        "Core",
        "ACPI Driver for NT",
        CatRoot,
        true,
    ),
    d(
        "pci.sys",
        "pci",
        0,
        1,
        3,
        "Boot Bus Extender",
        "NT Plug and Play PCI Enumerator",
        CatRoot,
        true,
    ),
    d(
        "volmgr.sys",
        "volmgr",
        0,
        1,
        3,
        "System Bus Extender",
        "Volume Manager Driver",
        CatRoot,
        true,
    ),
    d(
        "disk.sys",
        "disk",
        0,
        1,
        1,
        "SCSI Class",
        "PnP Disk Driver",
        CatRoot,
        true,
    ),
    d(
        "Ntfs.sys",
        "Ntfs",
        3,
        2,
        1,
        "Boot File System",
        "NT File System Driver",
        CatRoot,
        true,
    ),
    d(
        "ndis.sys",
        "NDIS",
        0,
        1,
        3,
        "NDIS Wrapper",
        "NDIS System Driver",
        CatRoot,
        true,
    ),
    d(
        "tcpip.sys",
        "Tcpip",
        0,
        1,
        1,
        "PNP_TDI",
        "TCP/IP Protocol Driver",
        CatRoot,
        true,
    ),
    d(
        "fltmgr.sys",
        "FltMgr",
        0,
        2,
        3,
        "FSFilter Infrastructure",
        "FltMgr",
        CatRoot,
        true,
    ),
    d(
        "filecrypt.sys",
        "FileCrypt",
        1,
        2,
        3,
        "FSFilter Encryption",
        "FileCrypt",
        ServicingOnly,
        false,
    ),
    d(
        "BasicDisplay.sys",
        "BasicDisplay",
        1,
        1,
        0,
        "Video",
        "Microsoft Basic Display Driver",
        ServicingOnly,
        false,
    ),
    d(
        "BasicRender.sys",
        "BasicRender",
        1,
        1,
        0,
        "Video",
        "Microsoft Basic Render Driver",
        ServicingOnly,
        false,
    ),
    d(
        "cdrom.sys",
        "cdrom",
        1,
        1,
        1,
        "SCSI CDROM Class",
        "CD-ROM Driver",
        ServicingOnly,
        false,
    ),
    d(
        "CmBatt.sys",
        "CmBatt",
        3,
        1,
        1,
        "",
        "Microsoft ACPI Control Method Battery Driver",
        ServicingOnly,
        false,
    ),
    d(
        "CompositeBus.sys",
        "CompositeBus",
        3,
        1,
        1,
        "",
        "Composite Bus Enumerator Driver",
        ServicingOnly,
        false,
    ),
    d(
        "fdc.sys",
        "fdc",
        3,
        1,
        1,
        "",
        "Floppy Disk Controller Driver",
        ServicingOnly,
        false,
    ),
    d(
        "flpydisk.sys",
        "flpydisk",
        3,
        1,
        1,
        "",
        "Floppy Disk Driver",
        ServicingOnly,
        false,
    ),
    d(
        "i8042prt.sys",
        "i8042prt",
        3,
        1,
        1,
        "Keyboard Port",
        "i8042 Keyboard and PS/2 Mouse Port Driver",
        ServicingOnly,
        false,
    ),
    d(
        "intelppm.sys",
        "intelppm",
        3,
        1,
        1,
        "Extended Base",
        "Intel Processor Driver",
        ServicingOnly,
        false,
    ),
    d(
        "kdnic.sys",
        "kdnic",
        3,
        1,
        1,
        "",
        "Microsoft Kernel Debug Network Adapter",
        ServicingOnly,
        false,
    ),
    d(
        "monitor.sys",
        "monitor",
        3,
        1,
        1,
        "",
        "Microsoft Monitor Class Function Driver Service",
        ServicingOnly,
        false,
    ),
    d(
        "NdisVirtualBus.sys",
        "NdisVirtualBus",
        3,
        1,
        1,
        "",
        "Microsoft Virtual Network Adapter Enumerator",
        ServicingOnly,
        false,
    ),
    d(
        "rdpbus.sys",
        "rdpbus",
        3,
        1,
        1,
        "",
        "Remote Desktop Device Redirector Bus Driver",
        ServicingOnly,
        false,
    ),
    d(
        "umbus.sys",
        "umbus",
        3,
        1,
        1,
        "",
        "UMBus Enumerator Driver",
        ServicingOnly,
        false,
    ),
    d(
        "vmgencounter.sys",
        "vmgencounter",
        3,
        1,
        1,
        "",
        "Microsoft Hyper-V Generation Counter",
        ServicingOnly,
        false,
    ),
    d(
        "WUDFRd.sys",
        "WUDFRd",
        3,
        1,
        1,
        "",
        "Windows Driver Foundation - User-mode Driver Framework Reflector",
        ServicingOnly,
        false,
    ),
];

/// The drivers of the story whose catalog CatRoot lost.
pub fn lost_drivers() -> impl Iterator<Item = &'static StoryDriver> {
    DRIVERS.iter().filter(|d| d.catalog == ServicingOnly)
}

/// The story's driver for a file name (case-insensitive).
pub fn driver(file: &str) -> Option<&'static StoryDriver> {
    DRIVERS.iter().find(|d| d.file.eq_ignore_ascii_case(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_story_holds_together() {
        let culprit = driver(CULPRIT).expect("filecrypt.sys is in the story");
        assert_eq!(
            (culprit.start, culprit.service_type, culprit.error_control),
            (1, 2, 3)
        );
        assert_eq!(culprit.group, "FSFilter Encryption");
        assert_eq!(culprit.catalog, ServicingOnly);
        assert!(!culprit.loaded);
        // The sixteen drivers the seed re-signed are all there, and all lost their catalog.
        for f in [
            "BasicDisplay.sys",
            "cdrom.sys",
            "CmBatt.sys",
            "WUDFRd.sys",
            "vmgencounter.sys",
        ] {
            assert_eq!(driver(f).map(|d| d.catalog), Some(ServicingOnly), "{f}");
        }
        assert_eq!(lost_drivers().count(), 17);
        assert!(
            DRIVERS
                .iter()
                .filter(|d| d.loaded)
                .all(|d| d.catalog == CatRoot)
        );
    }
}
