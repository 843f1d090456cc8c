//! One small case per findings family (`bsodwb synth --scenario NAME --out DIR`, listed by
//! `bsodwb synth --list`), each with a healthy twin (`--healthy`): the same machine without
//! the fault, for the negative tests. Every artefact is written in its native format by the
//! other writers of this module: the SYSTEM hive, crash dumps, event logs, ntbtlog.txt,
//! driver files and INFs, a BCD store.

use super::bcd::BcdWriter;
use super::casefiles::{InfSpec, TextEncoding, ntbtlog, write_inf_package};
use super::dump::{DumpSpec, ModuleSpec, write_bitmap_dump, write_triage_dump};
use super::evtx::EvtxWriter;
use super::pe::{PeSpec, write_pe};
use super::regf::{HiveWriter, RegData, ServiceSpec};
use std::io;
use std::path::Path;

/// One scenario: its name, its family, the rule whose finding comes first, and its writer.
pub struct Scenario {
    pub name: &'static str,
    pub family: &'static str,
    /// The rule (`assets/findings_rules.tsv`) of the finding `bsodwb analyze` gives first.
    pub rule: &'static str,
    pub about: &'static str,
    write: fn(&Path, bool) -> io::Result<()>,
}

impl Scenario {
    /// Write the case into `dir` (created); `healthy`: the same machine without the fault.
    pub fn write(&self, dir: &Path, healthy: bool) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        (self.write)(dir, healthy)
    }
}

/// Every scenario, in family order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "boot-filter-0x7b",
        family: "boot-device",
        rule: "boot-filter-missing",
        about: "0x7B: the Volume class UpperFilters names a backup filter whose service was removed",
        write: boot_filter,
    },
    Scenario {
        name: "critical-driver-missing-0x5a",
        family: "load-failure",
        rule: "critical-load-failed",
        about: "0x5A with c0000034: a critical boot filter's image is gone; SCM 7000/7001 chain, ntbtlog",
        write: critical_missing,
    },
    Scenario {
        name: "driver-fault-0xd1",
        family: "driver-fault",
        rule: "driver-fault",
        about: "0xD1 in a 2017 network driver, three crashes, a newer package in the DriverStore",
        write: driver_fault,
    },
    Scenario {
        name: "power-irp-0x9f",
        family: "stop-code",
        rule: "power-irp-blocked",
        about: "0x9F P1=3: a USB driver holds a power IRP",
        write: power_irp,
    },
    Scenario {
        name: "dpc-watchdog-0x133",
        family: "stop-code",
        rule: "dpc-watchdog-single",
        about: "0x133 P1=0: one DPC of a wireless driver ran too long",
        write: dpc_watchdog,
    },
    Scenario {
        name: "whea-0x124",
        family: "stop-code",
        rule: "whea-hardware",
        about: "0x124 with WHEA-Logger 18 in the System log: a hardware error",
        write: whea,
    },
    Scenario {
        name: "critical-process-0xef",
        family: "stop-code",
        rule: "critical-process-died",
        about: "0xEF: a critical svchost.exe died",
        write: critical_process,
    },
    Scenario {
        name: "verifier-0xc4",
        family: "stop-code",
        rule: "verifier-caught",
        about: "0xC4: Driver Verifier, on for one driver (VerifyDrivers), caught it",
        write: verifier,
    },
    Scenario {
        name: "ci-driver-blocklist",
        family: "code-integrity",
        rule: "ci-driver-blocklist",
        about: "CodeIntegrity 3077: the vulnerable driver blocklist blocked an auto-start driver",
        write: ci_blocklist,
    },
    Scenario {
        name: "bcd-testsigning",
        family: "bcd",
        rule: "",
        about: "a test-signed system-start driver while BCD testsigning is off",
        write: bcd_testsigning,
    },
];

/// The scenario called `name`.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// The crash of every scenario: 2024-03-14 07:15:02 UTC (the dump writer's default).
const CRASH: u64 = 133_548_741_020_000_000;
const CRASH_UNIX: i64 = 1_710_400_502;
/// 2017-03-02 10:00:00 UTC, the link time of the old vendor driver.
const BUILT_2017: u32 = 1_488_448_800;

fn put(dir: &Path, rel: &str, bytes: &[u8]) -> io::Result<()> {
    let path = dir.join(rel);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(path, bytes)
}

fn time(unix: i64) -> io::Result<evtx::Timestamp> {
    evtx::Timestamp::from_second(unix)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

fn dump_error(e: super::dump::SynthDumpError) -> io::Error {
    io::Error::other(e.to_string())
}

fn chain(frames: &[&str]) -> Vec<String> {
    frames.iter().map(|s| s.to_string()).collect()
}

/// A scenario's crash: the demo's machine and modules with bug check `code`, its parameters
/// and its call chain (innermost first), in a 16 MiB sparse dump.
fn crash_spec(code: u32, params: [u64; 4], frames: &[&str]) -> DumpSpec {
    let mut spec = DumpSpec::demo_0x5a();
    spec.bugcheck = code;
    spec.params = params;
    spec.string_params.clear();
    spec.call_chain = chain(frames);
    spec.size_bytes = 16 << 20;
    spec
}

/// The crash written where Windows writes it, `Windows/MEMORY.DMP`.
fn write_crash(dir: &Path, spec: &DumpSpec) -> io::Result<()> {
    write_bitmap_dump(&dir.join("Windows/MEMORY.DMP"), spec).map_err(dump_error)
}

/// A SYSTEM hive with the inbox storage stack (AHCI boot disk) and its class filters, as a
/// Windows 10 machine has them.
fn base_hive() -> HiveWriter {
    let mut hive = HiveWriter::system().computer_name("CASE-PC");
    for (name, start, group) in [
        ("disk", 0, "SCSI Class"),
        ("partmgr", 0, "System Bus Extender"),
        ("volmgr", 0, "System Bus Extender"),
        ("volsnap", 0, "Filter"),
        ("storahci", 0, "SCSI miniport"),
        ("stornvme", 3, "SCSI miniport"),
        ("storport", 0, "SCSI miniport"),
        ("Ntfs", 0, "Boot File System"),
    ] {
        hive = hive.service(
            ServiceSpec::driver(name, start, if name == "Ntfs" { 2 } else { 1 }, 3)
                .image_path(format!(
                    "System32\\drivers\\{}.sys",
                    name.to_ascii_lowercase()
                ))
                .group(group),
        );
    }
    hive.key("ControlSet001\\Control\\Class\\{4d36e967-e325-11ce-bfc1-08002be10318}")
        .set("Class", RegData::Sz("DiskDrive".into()))
        .set("UpperFilters", RegData::MultiSz(vec!["partmgr".into()]));
    hive
}

fn volume_filters(hive: &mut HiveWriter, filters: &[&str]) {
    hive.key("ControlSet001\\Control\\Class\\{71a27cdd-812a-11d0-bec7-08002be2092f}")
        .set("Class", RegData::Sz("Volume".into()))
        .set(
            "UpperFilters",
            RegData::MultiSz(filters.iter().map(|s| s.to_string()).collect()),
        );
}

fn write_hive(dir: &Path, hive: &HiveWriter) -> io::Result<()> {
    std::fs::create_dir_all(dir.join("Windows/System32/config"))?;
    hive.write_to(&dir.join("Windows/System32/config/SYSTEM"))
}

/// A vendor driver file: `version`, Contoso's, linked at `timestamp`.
fn vendor_driver(name: &str, version: [u16; 4], timestamp: u32) -> Vec<u8> {
    let mut spec = PeSpec::driver(name);
    spec.company = "Contoso Ltd.".into();
    spec.product = "Contoso Drivers".into();
    spec.version = version;
    spec.timestamp = timestamp;
    write_pe(&spec)
}

fn boot_filter(dir: &Path, healthy: bool) -> io::Result<()> {
    let mut hive = base_hive();
    volume_filters(&mut hive, &["volsnap", "bkfilter"]);
    if healthy {
        hive = hive.service(
            ServiceSpec::driver("bkfilter", 0, 1, 1)
                .image_path("System32\\drivers\\bkfilter.sys")
                .group("FSFilter Bottom"),
        );
    }
    write_hive(dir, &hive)?;
    let loaded = [
        "disk.sys",
        "partmgr.sys",
        "volmgr.sys",
        "storahci.sys",
        "volsnap.sys",
    ];
    let failed: &[&str] = if healthy { &[] } else { &["bkfilter.sys"] };
    put(dir, "Windows/ntbtlog.txt", &ntbtlog(&loaded, failed))?;
    if !healthy {
        let spec = crash_spec(
            0x7b,
            [0xffff_e10b_2c6f_5a90, 0xffff_ffff_c000_0034, 0, 0],
            &[
                "nt!KeBugCheckEx",
                "nt!PnpBootDeviceWait",
                "nt!IopInitializeBootDrivers",
                "nt!IoInitSystemPreDrivers",
                "nt!IoInitSystem",
                "nt!Phase1Initialization",
                "nt!PspSystemThreadStartup",
                "nt!KiStartSystemThread",
            ],
        );
        write_crash(dir, &spec)?;
    }
    Ok(())
}

fn critical_missing(dir: &Path, healthy: bool) -> io::Result<()> {
    let hive = base_hive()
        .service(
            ServiceSpec::driver("contosoflt", 0, 2, 3)
                .image_path("System32\\drivers\\contosoflt.sys")
                .group("FSFilter Activity Monitor")
                .display_name("Contoso Backup Filter"),
        )
        .service(
            ServiceSpec::driver("ContosoBackup", 2, 0x10, 1)
                .image_path("\"C:\\Program Files\\Contoso\\backupsvc.exe\"")
                .display_name("Contoso Backup Service")
                .depend_on_service("contosoflt"),
        );
    write_hive(dir, &hive)?;
    for d in ["disk.sys", "partmgr.sys", "volsnap.sys"] {
        put(
            dir,
            &format!("Windows/System32/drivers/{d}"),
            &write_pe(&PeSpec::driver(d)),
        )?;
    }
    let mut sys = EvtxWriter::new().computer("CASE-PC");
    if healthy {
        put(
            dir,
            "Windows/System32/drivers/contosoflt.sys",
            &vendor_driver("contosoflt.sys", [3, 2, 0, 11], 0x6500_0000),
        )?;
        sys = sys.kernel_general_12(time(CRASH_UNIX - 86_400)?, [10, 0, 19041, 3636]);
    } else {
        // The boot before the crash: the filter did not start, the service after it neither.
        let t = CRASH_UNIX - 3_600;
        sys = sys
            .kernel_general_12(time(t)?, [10, 0, 19041, 3636])
            .scm_7000(time(t + 20)?, "Contoso Backup Filter", 2, "contosoflt")
            .scm_7001(
                time(t + 21)?,
                "Contoso Backup Service",
                "Contoso Backup Filter",
                1068,
            )
            .scm_7026(time(t + 22)?, &["contosoflt"]);
        let mut spec = DumpSpec::demo_0x5a();
        spec.string_params = vec![
            (1, "\\FileSystem\\contosoflt".to_string()),
            (
                2,
                "\\SystemRoot\\System32\\drivers\\contosoflt.sys".to_string(),
            ),
        ];
        spec.params[3] = 0xffff_ffff_c000_0034;
        spec.size_bytes = 16 << 20;
        write_crash(dir, &spec)?;
    }
    put(
        dir,
        "Windows/System32/winevt/Logs/System.evtx",
        &sys.to_bytes(),
    )?;
    let failed: &[&str] = if healthy { &[] } else { &["contosoflt.sys"] };
    let loaded: &[&str] = if healthy {
        &["disk.sys", "volsnap.sys", "contosoflt.sys"]
    } else {
        &["disk.sys", "volsnap.sys"]
    };
    put(dir, "Windows/ntbtlog.txt", &ntbtlog(loaded, failed))
}

/// A network driver that faults: Contoso's, linked in 2017.
fn contosonet_spec(bugcheck: u32) -> DumpSpec {
    let mut spec = DumpSpec::demo_0xd1();
    spec.bugcheck = bugcheck;
    spec.modules.retain(|m| m.name != "faultydrv.sys");
    let mut m = ModuleSpec::driver("contosonet.sys");
    m.timestamp = Some(BUILT_2017);
    spec.modules.push(m);
    for f in &mut spec.call_chain {
        *f = f.replace("faultydrv!", "contosonet!");
    }
    spec.size_bytes = 16 << 20;
    spec
}

/// The case files of contosonet.sys: the 2017 build in drivers\, the 2023 package in the
/// DriverStore, its service (demand start).
fn contosonet_files(dir: &Path, hive: HiveWriter) -> io::Result<()> {
    put(
        dir,
        "Windows/System32/drivers/contosonet.sys",
        &vendor_driver("contosonet.sys", [2, 1, 0, 5], BUILT_2017),
    )?;
    let pkg = dir
        .join("Windows/System32/DriverStore/FileRepository/contosonet.inf_amd64_7d1e2f3a9b8c4d5e");
    let mut inf = InfSpec::driver("contosonet");
    inf.start_type = 3;
    inf.error_control = 1;
    inf.driver_version = "2.4.0.0".into();
    inf.driver_date = "06/12/2023".into();
    write_inf_package(&pkg, &inf, TextEncoding::Utf16Bom)?;
    std::fs::write(
        pkg.join("contosonet.sys"),
        vendor_driver("contosonet.sys", [2, 4, 0, 0], 1_686_560_000),
    )?;
    let hive = hive.service(
        ServiceSpec::driver("contosonet", 3, 1, 1)
            .image_path("System32\\drivers\\contosonet.sys")
            .group("NDIS")
            .display_name("Contoso Gigabit Network Adapter"),
    );
    write_hive(dir, &hive)
}

fn driver_fault(dir: &Path, healthy: bool) -> io::Result<()> {
    contosonet_files(dir, base_hive())?;
    if healthy {
        return Ok(());
    }
    let spec = contosonet_spec(0xd1);
    write_crash(dir, &spec)?;
    // Two earlier crashes of the same driver, a day and two days before.
    std::fs::create_dir_all(dir.join("Windows/Minidump"))?;
    for (i, name) in ["031224-10093-01.dmp", "031324-9812-01.dmp"]
        .iter()
        .enumerate()
    {
        let mut earlier = spec.clone();
        earlier.system_time = CRASH - (2 - i as u64) * 864_000_000_000;
        write_triage_dump(&dir.join("Windows/Minidump").join(name), &earlier)
            .map_err(dump_error)?;
    }
    Ok(())
}

/// The base hive with a demand-start vendor driver `name` (`name.sys` in drivers\\), written.
fn vendor_case(dir: &Path, name: &str, version: [u16; 4], timestamp: u32) -> io::Result<()> {
    let file = format!("{name}.sys");
    let hive = base_hive().service(
        ServiceSpec::driver(name, 3, 1, 1)
            .image_path(format!("System32\\drivers\\{file}"))
            .group("NDIS"),
    );
    write_hive(dir, &hive)?;
    put(
        dir,
        &format!("Windows/System32/drivers/{file}"),
        &vendor_driver(&file, version, timestamp),
    )
}

fn power_irp(dir: &Path, healthy: bool) -> io::Result<()> {
    vendor_case(dir, "contosousb", [1, 8, 2, 0], 0x5c00_0000)?;
    if healthy {
        return Ok(());
    }
    let mut spec = crash_spec(
        0x9f,
        [3, 0, 0xffff_f801_3bb1_1850, 0],
        &[
            "nt!KeBugCheckEx",
            "nt!PopIrpWatchdogBugcheck",
            "nt!PopIrpWatchdog",
        ],
    );
    spec.modules.push(ModuleSpec::driver("contosousb.sys"));
    spec.power_irp = Some(("pci.sys".into(), "contosousb.sys".into()));
    write_crash(dir, &spec)
}

fn dpc_watchdog(dir: &Path, healthy: bool) -> io::Result<()> {
    vendor_case(dir, "contosowlan", [5, 1, 7, 0], 0x6100_0000)?;
    if healthy {
        return Ok(());
    }
    write_crash(dir, &dpc_watchdog_spec(0))
}

/// 0x133 with P1 `p1` (0: one DPC ran too long; 1: the cumulative watchdog): the clock
/// interrupt's trap frame interrupted contosowlan.sys's DPC.
pub fn dpc_watchdog_spec(p1: u64) -> DumpSpec {
    let params = if p1 == 0 {
        [0, 0x501, 0x500, 0]
    } else {
        [1, 0x1e00, 0, 0]
    };
    let mut spec = crash_spec(
        0x133,
        params,
        &[
            "nt!KeBugCheckEx",
            "nt!KeAccumulateTicks",
            "nt!KeClockInterruptNotify",
            "hal!HalpTimerClockInterrupt",
            "nt!KiCallInterruptServiceNoLock",
            "nt!KiInterruptDispatchNoLockNoEtw",
            "contosowlan!DpcRoutine",
            "nt!KiExecuteAllDpcs",
            "nt!KiRetireDpcList",
        ],
    );
    let mut drv = ModuleSpec::driver("contosowlan.sys");
    drv.functions.push("DpcRoutine".into());
    drv.timestamp = Some(0x6100_0000);
    spec.modules.push(drv);
    spec
}

fn whea(dir: &Path, healthy: bool) -> io::Result<()> {
    write_hive(dir, &base_hive())?;
    let mut sys = EvtxWriter::new()
        .computer("CASE-PC")
        .kernel_general_12(time(CRASH_UNIX - 7_200)?, [10, 0, 19041, 3636]);
    if !healthy {
        sys = sys
            .whea_18(
                time(CRASH_UNIX + 300)?,
                "Machine Check Exception",
                "Processor Core",
                2,
            )
            .kernel_power_41(
                time(CRASH_UNIX + 301)?,
                0x124,
                [0, 0xffff_a50f_3d6e_9028, 0xbe00_0000, 0x0080_0400],
            );
        let spec = crash_spec(
            0x124,
            [0, 0xffff_a50f_3d6e_9028, 0xbe00_0000, 0x0080_0400],
            &[
                "nt!KeBugCheckEx",
                "nt!WheaReportHwError",
                "nt!KiMcheckAlternateReturn",
                "nt!KxMcheckAbort",
                "nt!KiMcheckAbort",
            ],
        );
        write_crash(dir, &spec)?;
    }
    put(
        dir,
        "Windows/System32/winevt/Logs/System.evtx",
        &sys.to_bytes(),
    )
}

fn critical_process(dir: &Path, healthy: bool) -> io::Result<()> {
    write_hive(dir, &base_hive())?;
    if healthy {
        return Ok(());
    }
    let mut spec = crash_spec(
        0xef,
        [0xffff_c08b_e5a2_1080, 0, 0, 0],
        &[
            "nt!KeBugCheckEx",
            "nt!PspCatchCriticalBreak",
            "nt!PspTerminateAllThreads",
            "nt!PspTerminateProcess",
            "nt!NtTerminateProcess",
        ],
    );
    spec.process_name = "svchost.exe".into();
    write_crash(dir, &spec)
}

fn verifier(dir: &Path, healthy: bool) -> io::Result<()> {
    let mut hive = base_hive();
    if !healthy {
        hive.key("ControlSet001\\Control\\Session Manager\\Memory Management")
            .set("VerifyDrivers", RegData::Sz("contosonet.sys".into()))
            .set("VerifyDriverLevel", RegData::Dword(0x209bb));
    }
    contosonet_files(dir, hive)?;
    if healthy {
        return Ok(());
    }
    let mut spec = contosonet_spec(0xc4);
    spec.params = [0x62, 0xffff_c08b_e5a2_2000, 0xffff_c08b_e5a2_2100, 3];
    spec.fault_ip_param = None;
    spec.call_chain = chain(&[
        "nt!KeBugCheckEx",
        "nt!VerifierBugCheckIfAppropriate",
        "nt!VfPoolCheckForLeaks",
        "nt!MmUnloadSystemImage",
        "contosonet!ReadRegisterBlock",
        "contosonet!DispatchDeviceControl",
        "nt!IofCallDriver",
    ]);
    write_crash(dir, &spec)
}

fn ci_blocklist(dir: &Path, healthy: bool) -> io::Result<()> {
    let hive = base_hive().service(
        ServiceSpec::driver("RTCore64", 2, 1, 1)
            .image_path("System32\\drivers\\RTCore64.sys")
            .display_name("RTCore64"),
    );
    write_hive(dir, &hive)?;
    put(
        dir,
        "Windows/System32/drivers/RTCore64.sys",
        &vendor_driver("RTCore64.sys", [4, 6, 2, 0], 0x5600_0000),
    )?;
    let mut ci = EvtxWriter::new().computer("CASE-PC");
    if !healthy {
        ci = ci.code_integrity_3077(
            time(CRASH_UNIX)?,
            "\\Device\\HarddiskVolume3\\Windows\\System32\\drivers\\RTCore64.sys",
            "System",
            12,
            4,
            crate::findings::DRIVER_POLICY_NAME,
            &format!("{{{}}}", crate::findings::DRIVER_POLICY_ID),
        );
    }
    put(
        dir,
        "Windows/System32/winevt/Logs/Microsoft-Windows-CodeIntegrity%4Operational.evtx",
        &ci.to_bytes(),
    )
}

fn bcd_testsigning(dir: &Path, healthy: bool) -> io::Result<()> {
    use super::catalog::{CatalogSpec, CatalogVersion, MemberSpec, write_catalog};
    let hive = base_hive().service(
        ServiceSpec::driver("TestDrv", 1, 1, 1)
            .image_path(r"System32\drivers\testdrv.sys")
            .group("Boot Bus Extender"),
    );
    write_hive(dir, &hive)?;
    let pe = write_pe(&PeSpec::driver("testdrv.sys"));
    let hashes = crate::signing::authenticode_hashes(&pe)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    put(dir, "Windows/System32/drivers/testdrv.sys", &pe)?;
    let mut spec = CatalogSpec::new(41, CatalogVersion::V2Sha256);
    spec.members.push(MemberSpec::pe(
        "testdrv.sys",
        &hashes,
        CatalogVersion::V2Sha256,
    ));
    put(
        dir,
        "Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}/oem7.cat",
        &write_catalog(&spec),
    )?;
    let store = if healthy {
        BcdWriter::windows().loader_flag(crate::registry::bcd::TESTSIGNING, true)
    } else {
        BcdWriter::windows()
    };
    let path = dir.join("EFI/Microsoft/Boot/BCD");
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    store.write_to(&path)
}
