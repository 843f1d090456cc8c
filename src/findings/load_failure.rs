//! Family 2, a driver or service that must start and does not:
//!
//! * 0x5A CRITICAL_SERVICE_FAILED: the boot loaded a driver with ErrorControl critical, the
//!   load failed with the status of P4, and the kernel stopped (P2/P3 name the driver). Any
//!   status: the image missing (c0000034), a bad image (c000007b, c0000359 a 32-bit image),
//!   its signature (c0000428 hash not found, c0000603 certificate revoked)...
//! * 0x6B PROCESS1_INITIALIZATION_FAILED: smss.exe could not start (P1 the status).
//! * Service Control Manager chains: 7000/7023 (a service or driver failed, its error) and
//!   the 7001 of each service that depends on it; a boot- or system-start driver failing is an
//!   error, a service failing with dependents a warning.
//!
//! `ntbtlog.txt` joins each: whether the last boot loaded the driver, and its last line.

use super::{
    Evidence, Finding, Inputs, catalogue, ntbtlog_lines, push_driver_context, service_line,
};
use crate::driver::DriverKey;
use crate::eventlog::SystemEvent;

pub(super) fn findings(inputs: &Inputs, out: &mut Vec<Finding>) {
    critical_load(inputs, out);
    process1(inputs, out);
    scm_chains(inputs, out);
}

/// What a load status means, the fix on a running machine and from WinRE.
fn load_fix(status: u32, file: &str, service: &str, set: &str) -> (&'static str, String, String) {
    let offline = |cmd: &str| {
        format!(
            "reg load HKLM\\OFFLINE C:\\Windows\\System32\\config\\SYSTEM && {cmd} && reg unload HKLM\\OFFLINE"
        )
    };
    let restore = format!(
        "find a copy: dir /s /b C:\\Windows\\System32\\DriverStore\\FileRepository\\{file} (or the install media of the same build), then copy it to C:\\Windows\\System32\\drivers\\"
    );
    match status {
        0xC000_0034 | 0xC000_003A | 0xC000_0225 | 0xC000_000F => (
            "its image is not on the disk",
            restore.clone(),
            format!("{restore} (from WinRE, with the Windows volume's letter)"),
        ),
        0xC000_007B | 0xC000_0359 | 0xC000_012F | 0xC000_0221 | 0xC000_0130 | 0xC000_0131 => (
            "its image is damaged or not a driver for this Windows",
            format!("replace the file: {restore}"),
            format!("replace the file from WinRE: {restore}"),
        ),
        0xC000_0428 | 0xC000_0603 | 0xC000_0361 | 0xC000_0362 => (
            "Code Integrity refused its signature",
            "restore what vouches for it (its catalog in CatRoot, see the signature findings) or install the vendor's signed driver; sigcheck -i confirms".to_string(),
            "boot once with Startup Settings > 7 (Disable driver signature enforcement), then restore its catalog or signed driver".to_string(),
        ),
        _ => (
            "the load failed",
            format!(
                "read the CodeIntegrity and System events about {service}, repair or reinstall its driver package"
            ),
            format!(
                "let Windows start without it for one boot, then repair it: {}",
                offline(&format!(
                    "reg add \"HKLM\\OFFLINE\\{set}\\Services\\{service}\" /v ErrorControl /t REG_DWORD /d 1 /f"
                ))
            ),
        ),
    }
}

fn status_text(status: u32) -> String {
    match crate::bugcheck::ntstatus::name(status) {
        Some(n) => format!("{status:08x} {n}"),
        None => format!("{status:08x}"),
    }
}

/// System and CodeIntegrity events naming the driver or its service, as evidence.
fn events_about(inputs: &Inputs, key: &DriverKey, service: Option<&str>) -> Vec<Evidence> {
    let mut out = Vec::new();
    for (li, log) in inputs.case.event_logs.iter().enumerate() {
        for (ei, e) in log.events.iter().enumerate() {
            let named = e.drivers.contains(key)
                || service.is_some_and(|s| e.services.iter().any(|x| x.eq_ignore_ascii_case(s)))
                || matches!(e.system(), Some(SystemEvent::BootDriversNotLoaded { drivers })
                    if service.is_some_and(|s| drivers.iter().any(|d| d.eq_ignore_ascii_case(s))));
            if named && e.severity() >= 2 {
                out.push(Evidence::event(
                    e.provider.trim_start_matches("Microsoft-Windows-"),
                    li,
                    ei,
                    e,
                ));
            }
        }
    }
    out.truncate(6);
    out
}

fn critical_load(inputs: &Inputs, out: &mut Vec<Finding>) {
    let Some(crash) = inputs.crash().filter(|c| c.info.code == 0x5a) else {
        return;
    };
    let an = &crash.art.analysis;
    let Some(key) = an
        .parameter_driver
        .as_deref()
        .and_then(DriverKey::from_path)
    else {
        return;
    };
    let status = crash.param(4).map_or(0, |p| p.value as u32);
    // The hash family of the seed already has its finding (CodeIntegrity refused the driver).
    if status == 0xC000_0428
        && out
            .iter()
            .any(|f| f.driver.as_ref() == Some(&key) && f.title.contains("code-integrity check"))
    {
        return;
    }
    let set = inputs.control_set();
    let service = inputs
        .case
        .hive
        .as_ref()
        .and_then(|h| h.service_for_driver(&key));
    let service_name = service.map_or_else(|| key.stem().to_string(), |s| s.name.clone());
    let (meaning, fix, fix_winre) = load_fix(status, key.name(), &service_name, &set);
    let mut evidence = vec![crash.line()];
    evidence.extend((2..=4).filter_map(|n| crash.param_line(n)));
    if let Some(l) = inputs.ix.drivers.get(&key) {
        push_driver_context(inputs.case, l, &mut evidence);
    } else if let (Some(h), Some(s)) = (&inputs.case.hive, service) {
        evidence.push(service_line(inputs.case, h, s));
    }
    evidence.extend(events_about(inputs, &key, Some(&service_name)));
    evidence.extend(ntbtlog_lines(inputs.ntbtlogs, Some(key.name())));
    let status_s = status_text(status);
    out.extend(catalogue::finding(
        "critical-load-failed",
        &[
            ("driver", key.name()),
            ("status", &status_s),
            ("meaning", meaning),
            ("fix", &fix),
            ("fix_winre", &fix_winre),
            ("set", &set),
        ],
        Some(key.clone()),
        evidence,
    ));
}

fn process1(inputs: &Inputs, out: &mut Vec<Finding>) {
    let Some(crash) = inputs.crash().filter(|c| c.info.code == 0x6b) else {
        return;
    };
    let status = crash.param(1).map_or(0, |p| p.value as u32);
    let meaning = match status {
        0xC000_0034 | 0xC000_003A | 0xC000_0225 | 0xC000_000F => {
            "a file the session manager needs is missing"
        }
        0xC000_007B | 0xC000_0221 | 0xC000_012F => "a system file is damaged",
        0xC000_0428 | 0xC000_0603 => "a system file's signature was refused",
        0xC000_0017 | 0xC000_009A => "the system ran out of memory or resources",
        _ => "the status says why",
    };
    let mut evidence = vec![crash.line()];
    evidence.extend((1..=2).filter_map(|n| crash.param_line(n)));
    evidence.extend(super::boot_log_tail(inputs.case, 3));
    evidence.extend(ntbtlog_lines(inputs.ntbtlogs, None));
    let status_s = status_text(status);
    let set = inputs.control_set();
    out.extend(catalogue::finding(
        "process1-init-failed",
        &[("status", &status_s), ("meaning", meaning), ("set", &set)],
        None,
        evidence,
    ));
}

/// One failed service and the services that failed because they depend on it.
struct Chain {
    root: String,
    error: String,
    error_code: Option<u32>,
    key_name: Option<String>,
    events: Vec<Evidence>,
    dependents: Vec<String>,
}

fn scm_chains(inputs: &Inputs, out: &mut Vec<Finding>) {
    let mut chains: Vec<Chain> = Vec::new();
    let mut deps: Vec<(String, String, Evidence)> = Vec::new();
    for (li, log) in inputs.case.event_logs.iter().enumerate() {
        for (ei, e) in log.events.iter().enumerate() {
            let line = || Evidence::event("System", li, ei, e);
            match e.system() {
                Some(
                    SystemEvent::ServiceStartFailed {
                        service,
                        error,
                        key_name,
                    }
                    | SystemEvent::ServiceTerminated {
                        service,
                        error,
                        key_name,
                    },
                ) => {
                    let pos = chains
                        .iter()
                        .position(|c| c.root.eq_ignore_ascii_case(service));
                    let c = match pos {
                        Some(i) => &mut chains[i],
                        None => {
                            chains.push(Chain {
                                root: service.clone(),
                                error: error.to_string(),
                                error_code: error.win32_code(),
                                key_name: key_name.clone(),
                                events: Vec::new(),
                                dependents: Vec::new(),
                            });
                            let n = chains.len() - 1;
                            &mut chains[n]
                        }
                    };
                    if c.events.len() < 4 {
                        c.events.push(line());
                    }
                }
                Some(SystemEvent::DependencyStartFailed {
                    service,
                    dependency,
                    ..
                }) => deps.push((service.clone(), dependency.clone(), line())),
                _ => {}
            }
        }
    }
    let Some(hive) = &inputs.case.hive else {
        // Without the hive the start types are unknown: nothing is judged.
        return;
    };
    let set = &hive.control_set.key;
    for mut c in chains {
        let mut dep_events = Vec::new();
        for (svc, dep, ev) in &deps {
            let matches = dep.eq_ignore_ascii_case(&c.root)
                || c.key_name
                    .as_deref()
                    .is_some_and(|k| dep.eq_ignore_ascii_case(k));
            if matches {
                if !c.dependents.iter().any(|d| d.eq_ignore_ascii_case(svc)) {
                    c.dependents.push(svc.clone());
                }
                if dep_events.len() < 4 {
                    dep_events.push(ev.clone());
                }
            }
        }
        // The service key: by the key name the event carries, else by display name.
        let svc = c
            .key_name
            .as_deref()
            .and_then(|k| hive.service(k))
            .or_else(|| hive.service(&c.root))
            .or_else(|| {
                hive.services.iter().find(|s| {
                    s.display_name
                        .as_deref()
                        .is_some_and(|d| d.eq_ignore_ascii_case(&c.root))
                })
            });
        let Some(svc) = svc else { continue };
        let boot_driver = svc.is_driver() && svc.start.is_some_and(|s| s.is_boot_or_system());
        if !boot_driver && c.dependents.is_empty() {
            continue;
        }
        // A driver another finding already explains (its signature refused, its load failed):
        // the SCM events join that finding instead of repeating it.
        if c.dependents.is_empty()
            && let Some(f) = out.iter_mut().find(|f| {
                f.driver.is_some()
                    && f.driver == svc.driver
                    && f.severity <= super::Severity::Error
                    // Not the bug check's summary: the finding about the driver itself.
                    && !f.title.starts_with("Bug check 0x")
            })
        {
            f.evidence.append(&mut c.events);
            continue;
        }
        let id = if boot_driver {
            "scm-chain-driver"
        } else {
            "scm-chain-service"
        };
        let image = svc.driver.as_ref().map(|d| d.name().to_string());
        let (fix, fix_winre) = scm_fix(c.error_code, &svc.name, image.as_deref(), set);
        let dependents = if c.dependents.is_empty() {
            String::new()
        } else {
            format!(", so {} did not start either", c.dependents.join(", "))
        };
        let mut evidence = std::mem::take(&mut c.events);
        evidence.extend(dep_events);
        evidence.push(service_line(inputs.case, hive, svc));
        evidence.extend(ntbtlog_lines(inputs.ntbtlogs, image.as_deref()));
        let start = svc.start.and_then(|s| s.name()).unwrap_or("?");
        out.extend(catalogue::finding(
            id,
            &[
                ("root", &svc.name),
                ("start", start),
                ("error", &c.error),
                ("dependents", &dependents),
                ("fix", &fix),
                ("fix_winre", &fix_winre),
                ("set", set),
            ],
            svc.driver.clone(),
            evidence,
        ));
    }
}

fn scm_fix(error: Option<u32>, service: &str, image: Option<&str>, set: &str) -> (String, String) {
    let offline = |cmd: String| {
        format!(
            "reg load HKLM\\OFFLINE C:\\Windows\\System32\\config\\SYSTEM && {cmd} && reg unload HKLM\\OFFLINE"
        )
    };
    match error {
        // ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND: the image is missing.
        Some(2 | 3) => {
            let file = image.unwrap_or("<its image>");
            let fix = format!(
                "restore {file}: dir /s /b C:\\Windows\\System32\\DriverStore\\FileRepository\\{file}, copy it back to the folder of its ImagePath, then sc start {service}"
            );
            (fix.clone(), format!("{fix} (from WinRE, with the Windows volume's letter)"))
        }
        // ERROR_SERVICE_DISABLED.
        Some(1058) => (
            format!("re-enable it: sc config {service} start= demand (or its usual start type), then sc start {service}"),
            offline(format!(
                "reg add \"HKLM\\OFFLINE\\{set}\\Services\\{service}\" /v Start /t REG_DWORD /d 3 /f"
            )),
        ),
        // ERROR_INVALID_IMAGE_HASH.
        Some(577) => (
            format!("its signature was refused: see its signature and CodeIntegrity findings, restore its catalog or install the vendor's signed driver, then sc start {service}"),
            "boot once with Startup Settings > 7 (Disable driver signature enforcement), then restore its catalog or signed driver".to_string(),
        ),
        _ => (
            format!("sc qc {service} and sc start {service} show its error; repair or reinstall what installs it; its dependents start once it does"),
            offline(format!(
                "reg query \"HKLM\\OFFLINE\\{set}\\Services\\{service}\""
            )),
        ),
    }
}
