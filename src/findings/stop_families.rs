//! Family 4, the bug checks whose culprit is not a faulting instruction:
//!
//! * 0x9F DRIVER_POWER_STATE_FAILURE, P1 = 3: a device stack held a power IRP past the
//!   timeout; the driver holding the IRP (its current stack location's device) is the one to
//!   update, the stack's PDO (P2) names the device.
//! * 0x133 DPC_WATCHDOG_VIOLATION: P1 = 0, one DPC ran too long (its driver is on the stack:
//!   proves); P1 = 1, the processor stayed at DISPATCH_LEVEL too long in total (whoever was
//!   running when it fired only may be the one: suggests).
//! * 0x124 WHEA_UNCORRECTABLE_ERROR: the hardware reported an error it could not correct; the
//!   WHEA-Logger events of the System log say which component. Not a driver.
//! * 0xEF CRITICAL_PROCESS_DIED, 0xF4 CRITICAL_OBJECT_TERMINATION, 0xC000021A: a process
//!   Windows cannot run without ended: which one, and its status.
//! * Driver Verifier (0xC4, 0xC9, 0xD6...): Verifier caught a driver it checks
//!   (`Session Manager\Memory Management\VerifyDrivers`); and Verifier left on.

use super::driver_fault::culprit_finding;
use super::{Evidence, Finding, Inputs, catalogue};

/// The bug checks Driver Verifier raises when it catches a driver (Microsoft's Driver
/// Verifier page and the bug check reference).
pub const VERIFIER_CODES: &[u32] = &[0xc4, 0xc9, 0xd6, 0xc1, 0xc2, 0xcb, 0xd5, 0xe6];

/// The WHEA-Logger provider of the System log.
pub const WHEA_LOGGER: &str = "Microsoft-Windows-WHEA-Logger";

pub(super) fn findings(inputs: &Inputs, out: &mut Vec<Finding>) {
    if let Some(crash) = inputs.crash() {
        match crash.info.code {
            0x9f => power(inputs, crash, out),
            0x133 => watchdog(inputs, crash, out),
            0x124 => whea(inputs, crash, out),
            0xef | 0xf4 | 0xc000_021a => critical_process(inputs, crash, out),
            c if VERIFIER_CODES.contains(&c) => verifier_caught(inputs, crash, out),
            _ => {}
        }
    }
    verifier_on(inputs, out);
}

fn power(inputs: &Inputs, crash: &super::Crash, out: &mut Vec<Finding>) {
    if crash.param(1).map(|p| p.value) != Some(3) {
        return;
    }
    let an = &crash.art.analysis;
    let Some(holder) = an.power_irp_holder.as_deref() else {
        return;
    };
    // The holder is the driver to update; the PDO's driver names the device.
    let pdo = an
        .image_name
        .clone()
        .unwrap_or_else(|| "its device".to_string());
    let holder_file = if holder.contains('.') {
        holder.to_string()
    } else {
        format!("{holder}.sys")
    };
    let Some(key) = crate::driver::DriverKey::from_path(&holder_file) else {
        return;
    };
    let mut evidence = vec![crash.line()];
    evidence.extend((1..=4).filter_map(|n| crash.param_line(n)));
    evidence.push(
        format!(
            "{}: the blocked IRP's current stack location belongs to {holder}; the stack's physical device object to {pdo}",
            crash.art.file
        )
        .into(),
    );
    if let Some(l) = inputs.ix.drivers.get(&key) {
        super::push_driver_context(inputs.case, l, &mut evidence);
    }
    let service = inputs.service_name(&key);
    let fix = format!(
        "update {key} (and the device's firmware); as a stopgap, turn off the device's power saving in Device Manager (Power Management tab) or set the power plan's PCI Express Link State Power Management off"
    );
    let set = inputs.control_set();
    out.extend(catalogue::finding(
        "power-irp-blocked",
        &[
            ("driver", key.name()),
            ("vendor", ""),
            ("pdo", &pdo),
            ("fix", &fix),
            ("service", &service),
            ("set", &set),
        ],
        Some(key.clone()),
        evidence,
    ));
}

fn watchdog(inputs: &Inputs, crash: &super::Crash, out: &mut Vec<Finding>) {
    let id = match crash.param(1).map(|p| p.value) {
        Some(0) => "dpc-watchdog-single",
        Some(1) => "dpc-watchdog-cumulative",
        _ => return,
    };
    culprit_finding(|_| id, inputs, crash, &[], out);
}

fn whea(inputs: &Inputs, crash: &super::Crash, out: &mut Vec<Finding>) {
    let an = &crash.art.analysis;
    let mut evidence = vec![crash.line()];
    evidence.extend((1..=2).filter_map(|n| crash.param_line(n)));
    let mut error = String::new();
    if let Some(b) = &an.failure_bucket_id {
        evidence.push(crash.about(format_args!("FAILURE_BUCKET_ID {b}")));
        if let Some(kind) = ["PROCESSOR_CACHE", "_UNKNOWN"]
            .iter()
            .find(|k| b.contains(*k))
        {
            error = format!(
                " ({})",
                kind.trim_start_matches('_')
                    .replace('_', " ")
                    .to_lowercase()
            );
        }
    }
    if let Some(v) = an
        .module_name
        .as_deref()
        .filter(|v| an.image_name.as_deref() == Some(&format!("{v}.sys")))
    {
        evidence.push(crash.about(format_args!("the processor is {v}")));
    }
    let events = whea_events(inputs);
    let fatal = events.iter().filter(|(_, fatal)| *fatal).count();
    if !events.is_empty() {
        // The count points at the first (fatal first) of the events it counts.
        evidence.push(Evidence {
            text: format!(
                "System log: {} WHEA-Logger events, {fatal} of them fatal hardware errors",
                events.len()
            ),
            source: events.first().and_then(|(e, _)| e.source.clone()),
        });
    }
    evidence.extend(events.into_iter().take(5).map(|(e, _)| e));
    let set = inputs.control_set();
    out.extend(catalogue::finding(
        "whea-hardware",
        &[("error", &error), ("set", &set)],
        None,
        evidence,
    ));
}

/// The WHEA-Logger events of the case, fatal ones (level critical/error) first.
fn whea_events(inputs: &Inputs) -> Vec<(Evidence, bool)> {
    let mut out = Vec::new();
    for (li, log) in inputs.case.event_logs.iter().enumerate() {
        for (ei, e) in log.events.iter().enumerate() {
            if e.provider != WHEA_LOGGER {
                continue;
            }
            let fatal = e.severity() >= 3;
            out.push((Evidence::event("WHEA-Logger", li, ei, e), fatal));
        }
    }
    out.sort_by_key(|(_, fatal)| !fatal);
    out
}

fn critical_process(inputs: &Inputs, crash: &super::Crash, out: &mut Vec<Finding>) {
    let decoded = |n: usize| crash.param(n).and_then(|p| p.decoded.clone());
    let (process, status) = match crash.info.code {
        0xf4 => (decoded(3), None),
        0xc000_021a => (decoded(1), decoded(2)),
        _ => (None, None),
    };
    let process = process
        .or_else(|| crash.art.dump.process_name.clone())
        .unwrap_or_else(|| "(not named in the dump)".to_string());
    let mut evidence = vec![crash.line()];
    evidence.extend((1..=4).filter_map(|n| crash.param_line(n)));
    if let Some(p) = &crash.art.dump.process_name {
        evidence.push(crash.about(format_args!("PROCESS_NAME {p}")));
    }
    let status = status.map(|s| format!(" with {s}")).unwrap_or_default();
    let code = format!("{:X}", crash.info.code);
    let set = inputs.control_set();
    out.extend(catalogue::finding(
        "critical-process-died",
        &[
            ("process", &process),
            ("status", &status),
            ("code", &code),
            ("name", crash.info.name.unwrap_or("unknown bug check")),
            ("set", &set),
        ],
        None,
        evidence,
    ));
}

fn verified_list(inputs: &Inputs) -> Option<(String, Evidence)> {
    let hive = inputs.case.hive.as_ref()?;
    let v = hive.verifier.as_ref()?;
    let list = v.drivers.join(" ");
    let level = v
        .level
        .map(|l| format!(", VerifyDriverLevel 0x{l:x}"))
        .unwrap_or_default();
    Some((
        if list == "*" {
            "every driver".to_string()
        } else {
            list.clone()
        },
        format!(
            "{} {}\\Control\\Session Manager\\Memory Management: VerifyDrivers \"{list}\"{level}",
            super::hive_path(inputs.case, hive),
            hive.control_set.key
        )
        .into(),
    ))
}

fn verifier_caught(inputs: &Inputs, crash: &super::Crash, out: &mut Vec<Finding>) {
    let (verified, line) = verified_list(inputs).unwrap_or_else(|| {
        (
            "(the SYSTEM hive does not say)".to_string(),
            Evidence::from(String::new()),
        )
    });
    let before = out.len();
    if culprit_finding(
        |_| "verifier-caught",
        inputs,
        crash,
        &[("verified", &verified)],
        out,
    ) && let Some(f) = out.get_mut(before)
        && !line.text.is_empty()
    {
        f.evidence.insert(1, line);
    }
}

fn verifier_on(inputs: &Inputs, out: &mut Vec<Finding>) {
    if out.iter().any(|f| f.rule == Some("verifier-caught")) {
        return;
    }
    let Some((verified, line)) = verified_list(inputs) else {
        return;
    };
    let mut evidence = vec![line];
    if let Some(h) = inputs.history.by_culprit.first() {
        evidence.push(Evidence::at(
            format!("history: {}", h.sentence()),
            super::SourceRef::History {
                driver: crate::driver::DriverKey::from_path(&h.what),
                crash: None,
                change: None,
            },
        ));
    }
    let set = inputs.control_set();
    out.extend(catalogue::finding(
        "verifier-on",
        &[("verified", &verified), ("set", &set)],
        None,
        evidence,
    ));
}
