//! Family 1, 0x7B INACCESSIBLE_BOOT_DEVICE: what in the SYSTEM hive keeps the boot disk from
//! starting.
//!
//! * A class-wide filter (`UpperFilters`/`LowerFilters` of the DiskDrive, Volume, SCSIAdapter
//!   or HDC class, `Control\Class\{GUID}`) naming a service that has no key or is disabled:
//!   PnP cannot start any device of the class, so the boot volume never appears (the classic
//!   0x7B after an uninstalled backup, encryption or DLP filter). Microsoft: "If a class
//!   filter driver fails to load, the device stack cannot be built" (Installing a Filter
//!   Driver). This proves the fault, with or without a dump.
//! * With a 0x7B crash: a storage driver that is disabled (or carries a `StartOverride` key,
//!   which Windows reads before `Start`: the AHCI/RAID switch case), or boot-start with its
//!   image missing from a case that holds the drivers folder. These only suggest: the case
//!   does not tell which controller holds the boot disk.
//!
//! The 0x7B finding carries the boot's last events (Procmon boot log, ntbtlog.txt).

use super::{Evidence, Finding, Inputs, boot_log_tail, catalogue, ntbtlog_lines, service_line};
use crate::registry::{Service, SystemHive};

/// The inbox and common vendor storage drivers (controller miniports, the Hyper-V and VMware
/// storage paths, volume and partition managers) a boot disk sits behind.
pub const BOOT_STORAGE_DRIVERS: &[&str] = &[
    "stornvme",
    "storahci",
    "iaStorAVC",
    "iaStorAC",
    "iaStorV",
    "iaStorA",
    "iaStorVD",
    "storvsc",
    "vmbus",
    "pvscsi",
    "vmci",
    "LSI_SAS",
    "LSI_SAS2i",
    "LSI_SAS3i",
    "LSI_SSS",
    "megasas",
    "megasas2i",
    "megasas35i",
    "percsas2i",
    "percsas3i",
    "SmartSAMD",
    "arcsas",
    "HpSAMD",
    "ADP80XX",
    "amdsata",
    "amdsbs",
    "rcraid",
    "secnvme",
    "nvme",
    "vhdmp",
    "disk",
    "partmgr",
    "volmgr",
    "volume",
    "mountmgr",
    "storport",
    "pci",
    "msahci",
    "atapi",
];

fn is_boot_storage(s: &Service) -> bool {
    BOOT_STORAGE_DRIVERS
        .iter()
        .any(|d| d.eq_ignore_ascii_case(&s.name))
        || s.group
            .as_deref()
            .is_some_and(|g| g.eq_ignore_ascii_case("SCSI miniport"))
}

/// Every boot-device finding of the case.
pub(super) fn findings(inputs: &Inputs, out: &mut Vec<Finding>) {
    let Some(hive) = &inputs.case.hive else {
        return;
    };
    let crash = inputs.crash().filter(|c| c.info.code == 0x7b);
    let mut context: Vec<Evidence> = Vec::new();
    if let Some(c) = &crash {
        context.push(c.line());
        context.extend(c.param_line(1));
        context.extend(c.param_line(2));
    }
    let before = out.len();
    class_filters(inputs, hive, &context, out);
    if crash.is_some() {
        storage_drivers(inputs, hive, &context, out);
    }
    // Where the boot stopped, on the first (most telling) finding of the family.
    if let Some(f) = out.get_mut(before) {
        f.evidence.extend(boot_log_tail(inputs.case, 3));
        let image = f.driver.as_ref().map(|d| d.name().to_string());
        f.evidence
            .extend(ntbtlog_lines(inputs.ntbtlogs, image.as_deref()));
    }
}

fn class_filters(inputs: &Inputs, hive: &SystemHive, context: &[Evidence], out: &mut Vec<Finding>) {
    let set = &hive.control_set.key;
    for class in &hive.class_filters {
        for (list_name, list) in class.lists() {
            for name in list {
                let service = hive.service(name);
                let id = match service {
                    None => "boot-filter-missing",
                    Some(s) if s.start.is_some_and(|v| v.0 == 4) => "boot-filter-disabled",
                    Some(_) => continue,
                };
                let remaining: Vec<&str> = list
                    .iter()
                    .filter(|n| !n.eq_ignore_ascii_case(name))
                    .map(String::as_str)
                    .collect();
                let key = |root: &str| format!("{root}\\Control\\Class\\{}", class.guid);
                let edit = |root: &str| {
                    if remaining.is_empty() {
                        format!("reg delete \"{}\" /v {list_name} /f", key(root))
                    } else {
                        format!(
                            "reg add \"{}\" /v {list_name} /t REG_MULTI_SZ /d \"{}\" /f",
                            key(root),
                            remaining.join("\\0")
                        )
                    }
                };
                let fix = edit("HKLM\\SYSTEM\\CurrentControlSet");
                let fix_offline = edit(&format!("HKLM\\OFFLINE\\{set}"));
                let mut evidence: Vec<Evidence> = vec![
                    format!(
                        "{} {set}\\{}: {list_name} = {} (the {} class)",
                        super::hive_path(inputs.case, hive),
                        class.key_path(),
                        list.join(", "),
                        class.class
                    )
                    .into(),
                ];
                match service {
                    None => evidence.push(
                        format!(
                            "{} {set}\\Services: no key named {name} (of {} services read)",
                            super::hive_path(inputs.case, hive),
                            hive.services.len()
                        )
                        .into(),
                    ),
                    Some(s) => evidence.push(service_line(inputs.case, hive, s)),
                }
                evidence.extend(context.iter().cloned());
                out.extend(catalogue::finding(
                    id,
                    &[
                        ("class", &class.class),
                        ("list", list_name),
                        ("service", name),
                        ("fix", &fix),
                        ("fix_offline", &fix_offline),
                        // Filters of the boot disk's stack start with it.
                        ("start", "boot"),
                        ("set", set),
                    ],
                    service.and_then(|s| s.driver.clone()),
                    evidence,
                ));
            }
        }
    }
}

/// Whether the case holds a `System32\drivers` folder, and a file named `file` anywhere.
fn image_in_case(inputs: &Inputs, file: &str) -> (bool, bool) {
    let Some(inv) = &inputs.case.inventory else {
        return (false, false);
    };
    let mut folder = false;
    for f in &inv.files {
        let lower = f.path.to_ascii_lowercase().replace('\\', "/");
        if lower.contains("system32/drivers/") {
            folder = true;
        }
        let name = f.path.rsplit(['/', '\\', '!']).next().unwrap_or(&f.path);
        if name.eq_ignore_ascii_case(file) {
            return (true, true);
        }
    }
    (false, folder)
}

fn storage_drivers(
    inputs: &Inputs,
    hive: &SystemHive,
    context: &[Evidence],
    out: &mut Vec<Finding>,
) {
    let set = &hive.control_set.key;
    let mut found = 0;
    for s in hive.services.iter().filter(|s| is_boot_storage(s)) {
        if found >= 4 {
            break;
        }
        let start = s.start.map(|v| v.0);
        let file = s
            .driver
            .as_ref()
            .map(|d| d.name().to_string())
            .unwrap_or_else(|| format!("{}.sys", s.name));
        let overridden = s
            .subkeys
            .iter()
            .any(|k| k.eq_ignore_ascii_case("StartOverride"));
        let mut evidence = vec![service_line(inputs.case, hive, s)];
        if overridden {
            evidence.push(
                format!(
                    "{} {set}\\Services\\{}\\StartOverride exists: Windows reads its start type there before Start",
                    super::hive_path(inputs.case, hive),
                    s.name
                )
                .into(),
            );
        }
        evidence.extend(context.iter().cloned());
        if start == Some(4) || (overridden && start.is_some_and(|v| v <= 1)) {
            let state = if start == Some(4) {
                "disabled (Start=4)".to_string()
            } else {
                "overridden at boot (StartOverride)".to_string()
            };
            if let Some(d) = inputs.case.dump() {
                let loaded = d
                    .dump
                    .modules
                    .iter()
                    .any(|m| m.name.eq_ignore_ascii_case(&file));
                evidence.push(
                    format!(
                        "{}: {file} is {} the loaded-module list",
                        d.file,
                        if loaded { "in" } else { "not in" }
                    )
                    .into(),
                );
            }
            found += 1;
            out.extend(catalogue::finding(
                "boot-storage-disabled",
                &[("service", &s.name), ("state", &state), ("set", set)],
                s.driver.clone(),
                evidence,
            ));
        } else if start == Some(0) {
            let (present, folder) = image_in_case(inputs, &file);
            if present || !folder {
                continue;
            }
            evidence.insert(
                1,
                format!("the case has a System32\\drivers folder and no file named {file}").into(),
            );
            found += 1;
            out.extend(catalogue::finding(
                "boot-storage-missing",
                &[
                    ("service", &s.name),
                    ("image", s.image_path.as_deref().unwrap_or(&file)),
                    ("set", set),
                ],
                s.driver.clone(),
                evidence,
            ));
        }
    }
}
