//! Family 5, CodeIntegrity beyond the hash family (3001-3005 and 3010 belong to the refused
//! driver and catalog findings): the events that block a driver, per Microsoft's "Understanding
//! App Control event IDs" (Microsoft-Windows-CodeIntegrity/Operational):
//!
//! | IDs | meaning | rule |
//! |---|---|---|
//! | 3077, 3081 with policy `Microsoft Windows Driver Policy` (`{d2bda982-ccf6-4344-ac5b-0b44427b6816}`) | the vulnerable driver blocklist (and the April 2026 end of cross-signed trust) blocked the driver | ci-driver-blocklist |
//! | 3077, 3079, 3081, 3092 with another policy | an App Control policy blocked it | ci-policy-block |
//! | 3087, 3074 | not compatible with memory integrity (HVCI) | ci-hvci |
//! | 3083 | the machine enforces WHQL and the driver is not | ci-whql |
//! | 3023, 3036 | its signing certificate is revoked | ci-revoked |
//! | 3033, 3063 | it did not meet the signing level (or SDL) requirement | ci-signing-level |
//!
//! Only kernel drivers are judged (a `.sys` file, or a file the System process loaded): 3033
//! for user-mode DLLs refused to a protected process is routine on healthy machines. Each
//! driver gets one finding, of the strongest rule its events meet, with every event and its
//! signature state (test-signed, untrusted root, revoked) as evidence.

use super::{Evidence, Finding, Inputs, catalogue, push_driver_context};
use crate::driver::DriverKey;

/// The CodeIntegrity event IDs this family judges (the refused-driver finding leaves them).
pub const HANDLED: &[u16] = &[
    3023, 3033, 3036, 3063, 3074, 3077, 3079, 3081, 3083, 3087, 3092,
];

/// The policy ID of the Microsoft Windows Driver Policy (the vulnerable driver blocklist), as
/// `citool --list-policies` and the 3077 events name it.
pub const DRIVER_POLICY_ID: &str = "d2bda982-ccf6-4344-ac5b-0b44427b6816";
pub const DRIVER_POLICY_NAME: &str = "Microsoft Windows Driver Policy";

/// The rules in order of strength, and the IDs that lead to each.
fn rule_of(id: u16, driver_policy: bool) -> Option<(u8, &'static str)> {
    Some(match id {
        3077 | 3081 if driver_policy => (0, "ci-driver-blocklist"),
        3077 | 3079 | 3081 | 3092 => (1, "ci-policy-block"),
        3087 | 3074 => (2, "ci-hvci"),
        3083 => (3, "ci-whql"),
        3023 | 3036 => (4, "ci-revoked"),
        3033 | 3063 => (5, "ci-signing-level"),
        _ => return None,
    })
}

fn is_kernel(ci: &crate::eventlog::codeintegrity::CiEvent) -> bool {
    let file_is_driver = ci
        .file
        .as_deref()
        .is_some_and(|f| f.to_ascii_lowercase().ends_with(".sys"));
    let by_system = ci
        .process
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("System"));
    file_is_driver || by_system
}

struct Hit {
    strength: u8,
    rule: &'static str,
    event_id: u16,
    policy: Option<String>,
    levels: Option<String>,
    evidence: Vec<Evidence>,
}

pub(super) fn findings(inputs: &Inputs, out: &mut Vec<Finding>) {
    let mut by_driver: std::collections::BTreeMap<DriverKey, Hit> = Default::default();
    for (li, log) in inputs.case.event_logs.iter().enumerate() {
        for (ei, e) in log.events.iter().enumerate() {
            let Some(ci) = e.code_integrity() else {
                continue;
            };
            if !HANDLED.contains(&e.event_id) || !is_kernel(ci) {
                continue;
            }
            let Some(key) = e
                .drivers
                .first()
                .cloned()
                .or_else(|| ci.file.as_deref().and_then(DriverKey::from_path))
            else {
                continue;
            };
            let policy = ci.policy.as_ref();
            let driver_policy = policy.is_some_and(|p| {
                p.name.as_deref() == Some(DRIVER_POLICY_NAME)
                    || [&p.id, &p.guid].iter().any(|v| {
                        v.as_deref().is_some_and(|v| {
                            v.trim_matches(['{', '}'])
                                .eq_ignore_ascii_case(DRIVER_POLICY_ID)
                        })
                    })
            });
            let Some((strength, rule)) = rule_of(e.event_id, driver_policy) else {
                continue;
            };
            let policy_name = policy.and_then(|p| p.name.clone().or_else(|| p.id.clone()));
            let levels = match (ci.requested_level, ci.validated_level) {
                (Some(r), Some(v)) => Some(format!(
                    "{} required, {} validated",
                    r.name().unwrap_or("?"),
                    v.name().unwrap_or("?")
                )),
                _ => None,
            };
            let mut ev = Evidence::event("CodeIntegrity", li, ei, e);
            if let Some(p) = &policy_name {
                ev.text.push_str(&format!(" (policy {p})"));
            }
            let hit = by_driver.entry(key).or_insert(Hit {
                strength,
                rule,
                event_id: e.event_id,
                policy: policy_name.clone(),
                levels: levels.clone(),
                evidence: Vec::new(),
            });
            if strength < hit.strength {
                hit.strength = strength;
                hit.rule = rule;
                hit.event_id = e.event_id;
                hit.policy = policy_name.or(hit.policy.take());
            }
            if hit.levels.is_none() {
                hit.levels = levels;
            }
            if hit.evidence.len() < 6 {
                hit.evidence.push(ev);
            }
        }
    }
    let set = inputs.control_set();
    for (key, mut hit) in by_driver {
        if let Some(l) = inputs.ix.drivers.get(&key) {
            push_driver_context(inputs.case, l, &mut hit.evidence);
        }
        let service = inputs.service_name(&key);
        let id = hit.event_id.to_string();
        let levels = hit
            .levels
            .unwrap_or_else(|| "the level its signature reaches is below the one required".into());
        out.extend(catalogue::finding(
            hit.rule,
            &[
                ("driver", key.name()),
                ("id", &id),
                ("policy", hit.policy.as_deref().unwrap_or("(unnamed)")),
                ("levels", &levels),
                ("service", &service),
                ("set", &set),
            ],
            Some(key.clone()),
            hit.evidence,
        ));
    }
}
