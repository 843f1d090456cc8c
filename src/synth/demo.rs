//! The demo case: the motivating case of `../shared/seed/bsod-live-example.txt` as a real case
//! folder, every artefact in its native format, written by the other writers of this module from
//! the one story table in [`super::story`]. Also the benchmark-sized case of the same shape.
//!
//! Layout written:
//!
//! ```text
//! MEMORY.DMP                                  bitmap kernel dump, 0x5A, P4 = c0000428
//! Bootlog.pml                                 Procmon boot log, cut short where the machine died
//! Microsoft-Windows-CodeIntegrity%4Operational.evtx   3001/3004/3010 events
//! System.evtx                                 7000, 7026, Kernel-Power 41, EventLog 6008, BugCheck 1001
//! ProgramData/Microsoft/Windows/WER/ReportArchive/Kernel_5a_*/Report.wer   the crash's WER report
//! SYSTEM                                      the registry hive (FileCrypt: Start=1, ErrorControl=3)
//! Windows/System32/drivers/*.sys              the story's drivers (System32 for the .dll ones)
//! Windows/System32/CatRoot/{F750E6C3-...}/    catalogs, without the one listing filecrypt.sys
//! Windows/servicing/Packages/*.cat            every catalog, the lost one included
//! Windows/Logs/CBS/CBS.log                    the KB5036899 install, half an hour before the crash
//! ```

use super::catalog::{CatalogSpec, CatalogVersion, MemberSpec, write_catalog};
use super::dump::{DumpSpec, ModuleSpec as DumpModule, write_bitmap_dump};
use super::evtx::EvtxWriter;
use super::pe::{PeSpec, write_pe};
use super::pml::{
    Capture, EventSpec, ModuleSpec as PmlModule, PmlWriter, ProcessSpec, RegData, status,
};
use super::regf::{HiveWriter, ServiceSpec};
use super::story::{self, CATROOT_GUID, CatalogHome, GOOD_CATALOG, LOST_CATALOG, StoryDriver};
use crate::eventlog::codes::NtStatus;
use crate::signing::authenticode::authenticode_hashes;
use std::io;
use std::path::{Path, PathBuf};

/// The synthetic root of the demo's catalogs (PEM), written into the demo folder.
pub const SYNTHETIC_ROOT_FILE: &str = "synthetic-root.pem";

/// Bumped whenever the demo case's content changes, so a cached copy is rewritten.
pub const DEMO_VERSION: &str = "bsodwb-demo-7";
const STAMP: &str = ".bsodwb-demo";

/// The crash: 2024-05-14 02:13:41 UTC, as a FILETIME.
const CRASH_UNIX: i64 = 1_715_652_821;
const BOOT_UNIX: i64 = CRASH_UNIX - 9;
const KERNEL_BASE: u64 = 0xfffff803_e3c00000;

fn filetime(unix: i64, extra_100ns: u64) -> u64 {
    crate::filetime::FileTime::from_unix_seconds(unix).0 + extra_100ns
}

fn evtx_time(unix: i64, millis: i64) -> io::Result<evtx::Timestamp> {
    evtx::Timestamp::from_millisecond(unix * 1000 + millis)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

/// What a demo write produced.
#[derive(Debug, Default)]
pub struct DemoSummary {
    pub root: PathBuf,
    pub files: Vec<PathBuf>,
}

fn is_system32(d: &StoryDriver) -> bool {
    d.file.to_ascii_lowercase().ends_with(".dll")
}

/// The driver's path inside the case and as Windows spells it under C:.
fn driver_paths(d: &StoryDriver) -> (String, String) {
    if is_system32(d) {
        (
            format!("Windows/System32/{}", d.file),
            format!("C:\\Windows\\System32\\{}", d.file),
        )
    } else {
        (
            format!("Windows/System32/drivers/{}", d.file),
            format!("C:\\Windows\\System32\\drivers\\{}", d.file),
        )
    }
}

/// `\SystemRoot\...` as the loader and the hive's ImagePath spell it.
fn image_path(d: &StoryDriver) -> String {
    if is_system32(d) {
        format!("System32\\{}", d.file)
    } else {
        format!("System32\\drivers\\{}", d.file)
    }
}

fn write(root: &Path, rel: &str, bytes: &[u8], summary: &mut DemoSummary) -> io::Result<()> {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, bytes)?;
    summary.files.push(path);
    Ok(())
}

/// Write the demo case into `root` (created if needed). Existing files of the same names are
/// replaced; nothing else in `root` is touched.
pub fn write_demo_case(root: &Path) -> io::Result<DemoSummary> {
    std::fs::create_dir_all(root)?;
    let mut summary = DemoSummary {
        root: root.to_path_buf(),
        files: Vec::new(),
    };
    let hashes = write_drivers(root, &mut summary)?;
    write_catalogs(root, &hashes, &mut summary)?;
    // The synthetic test root the catalogs are signed with: another process trusts it only when
    // given (`BSODWB_ROOTS=…/synthetic-root.pem bsodwb DIR`, `bsodwb sig --roots …`).
    let pem = root.join(SYNTHETIC_ROOT_FILE);
    std::fs::write(&pem, super::signer::SYNTHETIC_ROOT_PEM)?;
    summary.files.push(pem);
    write_hive(root, &mut summary)?;
    write_event_logs(root, &mut summary)?;
    write_servicing_log(root, &mut summary)?;
    write_boot_log(root, &mut summary)?;
    write_dump(root, 64 << 20, &mut summary)?;
    std::fs::write(root.join(STAMP), DEMO_VERSION)?;
    Ok(summary)
}

/// The default home of the demo case: the user's cache folder (`~/.cache/bsodwb/demo-case`).
pub fn default_demo_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("bsodwb")
        .join("demo-case")
}

/// The demo case folder, written on first use and reused while its version stamp matches.
pub fn ensure_demo_case(root: &Path) -> io::Result<PathBuf> {
    // This process wrote (or writes now) the demo's catalogs with the synthetic root.
    super::signer::trust_synthetic_root();
    let current = std::fs::read_to_string(root.join(STAMP)).ok();
    if current.as_deref() != Some(DEMO_VERSION) {
        write_demo_case(root)?;
    }
    Ok(root.to_path_buf())
}

/// Write every story driver as a small PE; their Authenticode hashes, in story order.
fn write_drivers(
    root: &Path,
    summary: &mut DemoSummary,
) -> io::Result<Vec<crate::signing::authenticode::AuthenticodeHashes>> {
    let (ma, mi, build, rev) = story::OS_VERSION;
    let mut out = Vec::new();
    for (i, d) in story::DRIVERS.iter().enumerate() {
        let mut spec = PeSpec::driver(d.file);
        spec.version = [ma, mi, build, rev];
        spec.company = d.company.to_string();
        spec.description = d.description.to_string();
        spec.timestamp = 0x6620_0000 + i as u32 * 0x1111;
        let bytes = write_pe(&spec);
        let hashes = authenticode_hashes(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        write(root, &driver_paths(d).0, &bytes, summary)?;
        out.push(hashes);
    }
    Ok(out)
}

fn catalog_for(
    seed: u64,
    drivers: &[(
        &StoryDriver,
        &crate::signing::authenticode::AuthenticodeHashes,
    )],
) -> Vec<u8> {
    let mut spec = CatalogSpec::new(seed, CatalogVersion::V2Sha256);
    for (d, h) in drivers {
        spec.members.push(MemberSpec::pe(
            &d.file.to_ascii_lowercase(),
            h,
            CatalogVersion::V2Sha256,
        ));
    }
    write_catalog(&spec)
}

/// CatRoot keeps the good catalog and loses the one listing filecrypt.sys and the other
/// drivers the seed had to fix; servicing\Packages keeps both.
fn write_catalogs(
    root: &Path,
    hashes: &[crate::signing::authenticode::AuthenticodeHashes],
    summary: &mut DemoSummary,
) -> io::Result<()> {
    let pairs: Vec<_> = story::DRIVERS.iter().zip(hashes).collect();
    let good: Vec<_> = pairs
        .iter()
        .filter(|(d, _)| d.catalog == CatalogHome::CatRoot)
        .copied()
        .collect();
    let lost: Vec<_> = pairs
        .iter()
        .filter(|(d, _)| d.catalog == CatalogHome::ServicingOnly)
        .copied()
        .collect();
    let good_cat = catalog_for(0x5eed_0001, &good);
    let lost_cat = catalog_for(0x5eed_1257, &lost);
    let catroot = format!("Windows/System32/CatRoot/{CATROOT_GUID}");
    write(
        root,
        &format!("{catroot}/{GOOD_CATALOG}"),
        &good_cat,
        summary,
    )?;
    write(
        root,
        &format!("Windows/servicing/Packages/{GOOD_CATALOG}"),
        &good_cat,
        summary,
    )?;
    write(
        root,
        &format!("Windows/servicing/Packages/{LOST_CATALOG}"),
        &lost_cat,
        summary,
    )?;
    // A few unrelated catalogs on both sides, as on any server.
    for n in 0..6u64 {
        let name = format!(
            "Package_{}_for_KB50{}~31bf3856ad364e35~amd64~~10.0.1.{n}.cat",
            100 + n * 37,
            30000 + n * 111
        );
        let bytes = catalog_for(0x7000 + n, &[]);
        write(root, &format!("{catroot}/{name}"), &bytes, summary)?;
        write(
            root,
            &format!("Windows/servicing/Packages/{name}"),
            &bytes,
            summary,
        )?;
    }
    Ok(())
}

fn write_hive(root: &Path, summary: &mut DemoSummary) -> io::Result<()> {
    let mut hive = HiveWriter::system()
        .computer_name("SRV-FS01")
        .time_zone(&super::regf::pacific_time_zone());
    for d in story::DRIVERS {
        hive = hive.service(
            ServiceSpec::driver(d.service, d.start, d.service_type, d.error_control)
                .image_path(image_path(d))
                .group(d.group)
                .display_name(d.display_name)
                .description(d.description),
        );
    }
    write(root, "SYSTEM", &hive.to_bytes(), summary)
}

fn write_event_logs(root: &Path, summary: &mut DemoSummary) -> io::Result<()> {
    let invalid_hash = NtStatus { code: 0xC000_0428 };
    let nt_path = |d: &StoryDriver| {
        let (_, c) = driver_paths(d);
        c.replacen("C:", "\\Device\\HarddiskVolume2", 1)
    };
    // The failing boot: CodeIntegrity cannot find the catalogs, then refuses the drivers.
    let mut ci = EvtxWriter::new().computer("SRV-FS01");
    let mut ms = 0;
    let cat_path = format!(
        "\\Device\\HarddiskVolume2\\Windows\\System32\\CatRoot\\{CATROOT_GUID}\\{LOST_CATALOG}"
    );
    ci = ci.code_integrity_3010(
        evtx_time(BOOT_UNIX + 2, ms)?,
        &cat_path,
        NtStatus { code: 0xC000_0034 },
    );
    for d in story::lost_drivers() {
        ms += 37;
        let t = evtx_time(BOOT_UNIX + 3, ms)?;
        if d.file == story::CULPRIT {
            ci = ci.code_integrity_3004(t, &nt_path(d), "System", invalid_hash, None);
        } else {
            ci = ci.code_integrity_3001(t, &nt_path(d), "System");
        }
    }
    let bytes = ci.to_bytes();
    write(
        root,
        "Microsoft-Windows-CodeIntegrity%4Operational.evtx",
        &bytes,
        summary,
    )?;

    // The next boot (signature enforcement off) records what the crashed boot left behind.
    let next = CRASH_UNIX + 600;
    let culprit = story::driver(story::CULPRIT);
    let boot_drivers: Vec<&str> = story::lost_drivers()
        .filter(|d| d.start <= 1 && d.file != story::CULPRIT)
        .map(|d| d.service)
        .collect();
    let mut sys = EvtxWriter::new()
        .computer("SRV-FS01")
        .kernel_general_12(evtx_time(next, 0)?, [10, 0, 14393, 6795])
        .eventlog_6008(evtx_time(next + 20, 0)?, "2:13:41 AM", "5/14/2024")
        .kernel_power_41(evtx_time(next + 21, 0)?, 0x5a, REPORTED_PARAMS)
        // The boot after the crash reports it: BugCheck 1001 names the dump it saved.
        .wer_1001(
            evtx_time(next + 25, 0)?,
            0x5a,
            REPORTED_PARAMS,
            "C:\\Windows\\MEMORY.DMP",
            REPORT_ID,
        );
    if let Some(c) = culprit {
        // 577: Windows cannot verify the digital signature for this file.
        sys = sys.scm_7000(evtx_time(next + 30, 0)?, c.display_name, 577, c.service);
    }
    sys = sys.scm_7026(evtx_time(next + 31, 0)?, &boot_drivers);
    write(root, "System.evtx", &sys.to_bytes(), summary)?;
    // Windows Error Reporting keeps the same report (its manifest, UTF-16).
    write(
        root,
        &format!(
            "ProgramData/Microsoft/Windows/WER/ReportArchive/Kernel_5a_{REPORT_ID}/Report.wer"
        ),
        &super::casefiles::report_wer(false, filetime(next + 25, 0), 0x5a, REPORTED_PARAMS),
        summary,
    )
}

/// The bug check parameters the next boot reported (Kernel-Power 41, BugCheck 1001, WER): the
/// dump's own, P2 and P3 the addresses where the dump writer put the driver object's name and
/// the image path (`tests/history.rs` checks that every report joins the dump's crash).
const REPORTED_PARAMS: [u64; 4] = [
    1,
    0xffff_c08b_e400_0030,
    0xffff_c08b_e400_00a0,
    0xffff_ffff_c000_0428,
];

/// The WER report of the crash (its folder name and the 1001 event's Report Id).
const REPORT_ID: &str = "051424-13843-01";

/// CBS.log: KB5036899 installed half an hour before the crash (the machine's local time,
/// Pacific: 18:40 PDT on 2024-05-13 is 01:40 UTC on the 14th). Its catalog is the one CatRoot
/// lost (`Package_1257_for_KB5036899...cat`, kept in servicing\Packages only).
fn write_servicing_log(root: &Path, summary: &mut DemoSummary) -> io::Result<()> {
    let text = super::casefiles::cbs_install_lines(
        "2024-05-13 18:40:00",
        "Package_for_KB5036899~31bf3856ad364e35~amd64~~10.0.1.27",
        (0, "S_OK"),
    );
    write(root, "Windows/Logs/CBS/CBS.log", text.as_bytes(), summary)
}

fn write_boot_log(root: &Path, summary: &mut DemoSummary) -> io::Result<()> {
    let path = root.join("Bootlog.pml");
    let capture = Capture {
        computer_name: "SRV-FS01".into(),
        os_build: 14393,
        processors: 4,
        memory_bytes: 16 << 30,
        ..Capture::default()
    };
    let mut w = PmlWriter::create(&path, capture)?;
    let boot = filetime(BOOT_UNIX, 0);
    let system = w.add_process(ProcessSpec::system(boot));
    let (ma, mi, build, rev) = story::OS_VERSION;
    let version = format!("{ma}.{mi}.{build}.{rev} (rs1_release.240404-1844)");
    w.add_module(
        system,
        PmlModule {
            base: KERNEL_BASE,
            size: 0x0090_0000,
            path: "C:\\Windows\\system32\\ntoskrnl.exe".into(),
            version: version.clone(),
            company: "Microsoft Corporation".into(),
            description: "NT Kernel & System".into(),
            timestamp: 0x6620_0000,
        },
    );
    let bases: Vec<(u64, u32)> = (0..story::DRIVERS.len())
        .map(|i| (0xfffff803_e5000000 + i as u64 * 0x20_0000, 0x4_0000))
        .collect();
    for (d, (base, size)) in story::DRIVERS.iter().zip(&bases) {
        if d.loaded {
            w.add_module(
                system,
                PmlModule {
                    base: *base,
                    size: *size,
                    path: driver_paths(d).1,
                    version: version.clone(),
                    company: d.company.into(),
                    description: d.description.into(),
                    timestamp: 0x6620_0000,
                },
            );
        }
    }
    let mut time = boot;
    let mut tick = |n: u64| {
        time += n;
        time
    };
    // IopLoadDriver's neighbourhood in nt, then the driver itself once loaded.
    let nt_stack = |extra: Option<u64>| {
        let mut s = vec![
            KERNEL_BASE + 0x5b_3e10,
            KERNEL_BASE + 0x59_d87e,
            KERNEL_BASE + 0x55_9304,
        ];
        if let Some(x) = extra {
            s.insert(0, x);
        }
        s
    };
    let ev = |time: u64, result: u32, stack: Vec<u64>| EventSpec {
        process: system,
        tid: 8,
        time,
        duration: 120,
        result,
        stack,
    };
    for (d, (base, size)) in story::DRIVERS.iter().zip(&bases) {
        let service = format!("HKLM\\System\\CurrentControlSet\\Services\\{}", d.service);
        let (_, image) = driver_paths(d);
        w.reg_open_key(
            &ev(tick(900), status::SUCCESS, nt_stack(None)),
            &service,
            0x20019,
        )?;
        w.reg_query_value(
            &ev(tick(300), status::SUCCESS, nt_stack(None)),
            &format!("{service}\\Start"),
            Some(&RegData::Dword(d.start)),
        )?;
        w.reg_query_value(
            &ev(tick(300), status::SUCCESS, nt_stack(None)),
            &format!("{service}\\ImagePath"),
            Some(&RegData::ExpandSz(image_path(d))),
        )?;
        w.create_file(
            &ev(tick(1500), status::SUCCESS, nt_stack(None)),
            &image,
            0x1200a9,
            1,
            0x60,
            5,
            Some(1),
        )?;
        if d.loaded {
            w.load_image(
                &ev(tick(4000), status::SUCCESS, nt_stack(None)),
                &image,
                *base,
                *size,
            )?;
        } else {
            // Code integrity looks for the catalog that should vouch for the image, and fails.
            let cat = format!("C:\\Windows\\System32\\CatRoot\\{CATROOT_GUID}\\{LOST_CATALOG}");
            w.create_file(
                &ev(tick(2500), status::NAME_NOT_FOUND, nt_stack(None)),
                &cat,
                0x120089,
                1,
                0x60,
                7,
                None,
            )?;
            // The critical filecrypt.sys is the last thing the machine did.
            if d.file == story::CULPRIT {
                break;
            }
        }
    }
    // Procmon turns the boot-time capture into a closed log at the next boot: the events stop
    // where the machine died, the file itself is complete.
    w.finish()?;
    summary.files.push(path);
    Ok(())
}

/// The dump spec of the story: loaded drivers in the module list, filecrypt.sys named by P2/P3.
pub fn story_dump_spec(size_bytes: u64) -> DumpSpec {
    let mut spec = DumpSpec::demo_0x5a();
    let mut modules = vec![
        DumpModule::system("ntoskrnl.exe"),
        DumpModule::system("hal.dll"),
        DumpModule::system("kd.dll"),
        DumpModule::system("mcupdate_GenuineIntel.dll"),
    ];
    for d in story::DRIVERS.iter().filter(|d| d.loaded) {
        if is_system32(d) {
            modules.push(DumpModule::system(d.file));
        } else {
            modules.push(DumpModule::driver(d.file));
        }
    }
    if let (Some(nt), Some(old)) = (modules.first_mut(), spec.modules.first()) {
        nt.functions = old.functions.clone();
    }
    spec.modules = modules;
    spec.params = [
        1,
        0xffff9907_c7d23060,
        0xffffd50f_e22139c0,
        0xffffffff_c0000428,
    ];
    // Windows Server 2016: the header's build and the images' version resources agree
    // (IMAGE_VERSION 10.0.14393.6795, as the drivers and System event 12 say).
    let (_, _, build, rev) = story::OS_VERSION;
    spec.build = u32::from(build);
    spec.revision = Some(rev);
    spec.system_time = filetime(CRASH_UNIX, 0);
    spec.uptime = 9 * 10_000_000;
    spec.size_bytes = size_bytes;
    spec.dense_bitmap = size_bytes <= 64 << 20;
    spec
}

fn write_dump(root: &Path, size_bytes: u64, summary: &mut DemoSummary) -> io::Result<()> {
    let path = root.join("MEMORY.DMP");
    write_bitmap_dump(&path, &story_dump_spec(size_bytes))
        .map_err(|e| io::Error::other(e.to_string()))?;
    summary.files.push(path);
    Ok(())
}

/// The size of a written case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// The demo case itself.
    Small,
    /// Benchmark size: a 5 M-event boot log, a 4 GiB sparse bitmap dump, 500 drivers and
    /// 6,000 catalogs.
    Large,
}

/// Write a case of the demo's shape at `scale` into `root`.
pub fn write_scaled_case(
    root: &Path,
    scale: Scale,
    progress: &mut dyn FnMut(&str),
) -> io::Result<DemoSummary> {
    if scale == Scale::Small {
        progress("writing the demo case");
        return write_demo_case(root);
    }
    std::fs::create_dir_all(root)?;
    let mut summary = DemoSummary {
        root: root.to_path_buf(),
        files: Vec::new(),
    };
    progress("writing 500 drivers");
    let mut hashes = Vec::new();
    let mut names = Vec::new();
    for i in 0..500u32 {
        let name = format!("drv{i:03}.sys");
        let mut spec = PeSpec::driver(&name);
        spec.timestamp = 0x6000_0000 + i;
        let bytes = write_pe(&spec);
        hashes.push(
            authenticode_hashes(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?,
        );
        write(
            root,
            &format!("Windows/System32/drivers/{name}"),
            &bytes,
            &mut summary,
        )?;
        names.push(name);
    }
    progress("writing 6,000 catalogs");
    let catroot = format!("Windows/System32/CatRoot/{CATROOT_GUID}");
    for c in 0..6000u64 {
        let mut spec = CatalogSpec::new(c + 1, CatalogVersion::V2Sha256);
        // Every twelfth catalog lists a driver; the rest list hashes of nothing in the case.
        let driver = (c % 12 == 0)
            .then_some((c / 12) as usize)
            .filter(|d| *d < names.len());
        if let Some(d) = driver {
            spec.members.push(MemberSpec::pe(
                &names[d],
                &hashes[d],
                CatalogVersion::V2Sha256,
            ));
        }
        for m in 0..8u64 {
            let mut digest = [0u8; 32];
            digest[..8].copy_from_slice(&(c * 8 + m).to_le_bytes());
            spec.members.push(MemberSpec {
                digest: digest.to_vec(),
                file: format!("file{c}_{m}.dll"),
                os_attr: Some("2:10.0".into()),
                kind: super::catalog::MemberKind::PeImage,
            });
        }
        // One driver in ten is vouched for only in servicing\Packages.
        let home = if driver.is_some_and(|d| d % 10 == 0) {
            "Windows/servicing/Packages".to_string()
        } else {
            catroot.clone()
        };
        write(
            root,
            &format!("{home}/Package_{c}.cat"),
            &write_catalog(&spec),
            &mut summary,
        )?;
    }
    progress("writing a 5 M-event boot log");
    let driver_names: Vec<&str> = names.iter().map(String::as_str).collect();
    super::pml::write_boot_log(&root.join("Bootlog.pml"), 5_000_000, &driver_names)?;
    summary.files.push(root.join("Bootlog.pml"));
    progress("writing a 4 GiB sparse bitmap dump");
    write_dump(root, 4 << 30, &mut summary)?;
    write_hive(root, &mut summary)?;
    write_event_logs(root, &mut summary)?;
    Ok(summary)
}
