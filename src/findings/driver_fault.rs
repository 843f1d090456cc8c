//! Family 3, driver faults (0x7E/0x1000007E, 0x8E, 0x3B, 0xD1, 0xA, 0x50, 0x1E, 0xC5, 0xBE,
//! 0x139): the driver the dump's analysis names (the culprit `!analyze` would name), with what
//! an engineer asks next: its version and vendor, how old its build is at the crash, whether a
//! newer copy of it sits in the case (DriverStore\FileRepository, a vendor package), and how
//! many crashes of the history blame it. A culprit resting on a stack frame the unwinder could
//! not verify only suggests. A Microsoft module as culprit gets no finding of this family: the
//! bug check finding names it, and the fault usually lies with what called it.

use super::{Crash, Evidence, Finding, Inputs, SourceRef, catalogue, push_driver_context};
use crate::driver::DriverKey;
use crate::dump::Module;

/// The codes of the family.
pub const CODES: &[u32] = &[
    0x7e,
    0x1000_007e,
    0x8e,
    0x1000_008e,
    0x3b,
    0xd1,
    0x0a,
    0x50,
    0x1000_0050,
    0x1e,
    0x1000_001e,
    0xc5,
    0xbe,
    0x139,
];

/// The crash's culprit driver, as the dump's analysis names it, with what the case knows of it.
pub(super) struct Culprit<'a> {
    pub key: DriverKey,
    pub module: Option<&'a Module>,
    pub version: Option<String>,
    pub company: Option<String>,
    /// ` (Contoso Ltd., 2.1.0.5)`, or empty.
    pub vendor: String,
    /// What the culprit rests on when that is weaker than a verified frame.
    pub unverified: Option<String>,
}

impl Culprit<'_> {
    pub fn is_microsoft(&self) -> bool {
        self.company
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().contains("microsoft"))
    }
}

/// The culprit of `crash`: the faulting module of the analysis (else the driver its
/// parameters name), never the kernel image.
pub(super) fn culprit<'a>(inputs: &Inputs, crash: &Crash<'a>) -> Option<Culprit<'a>> {
    let an = &crash.art.analysis;
    let key = an
        .image_name
        .as_deref()
        .or(an.faulting_module.as_deref())
        .or(an.parameter_driver.as_deref())
        .and_then(DriverKey::from_path)
        .filter(|k| !crate::dump::is_kernel_image(&k.name().to_ascii_lowercase()))?;
    let dump = &crash.art.dump;
    let module = dump.modules.iter().find(|m| m.key().as_ref() == Some(&key));
    let facts = module.and_then(|m| crate::analysis::module_version(inputs.case, dump, m));
    let version = facts.as_ref().and_then(|v| v.file_version.clone());
    let company = facts.as_ref().and_then(|v| v.company.clone()).or_else(|| {
        crate::signing::for_driver(&inputs.case.signatures, &key)
            .iter()
            .find_map(|v| v.image.as_ref().and_then(|i| i.company.clone()))
    });
    let parts: Vec<&str> = [company.as_deref(), version.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let vendor = if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    };
    Some(Culprit {
        key,
        module,
        version,
        company,
        vendor,
        unverified: an.culprit_basis(),
    })
}

/// `2.10.0.5 (built by ...)` -> [2, 10, 0, 5].
fn version_tuple(v: &str) -> Vec<u32> {
    v.split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()
        .unwrap_or("")
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The evidence an engineer wants about a culprit: the faulting frame, its build and age,
/// newer copies in the case, the history's count. Also the fix: the newer package when the
/// case has one.
pub(super) fn culprit_evidence(
    inputs: &Inputs,
    crash: &Crash,
    c: &Culprit,
    evidence: &mut Vec<Evidence>,
) -> String {
    let an = &crash.art.analysis;
    let dump = &crash.art.dump;
    if let Some(sym) = &an.symbol_name {
        let text = format!("{}: faulting frame {sym}", crash.art.file);
        evidence.push(match an.faulting_frame {
            Some(frame) => Evidence::at(
                text,
                SourceRef::Frame {
                    dump: crash.index,
                    frame,
                },
            ),
            None => Evidence::at(text, SourceRef::Dump { dump: crash.index }),
        });
    }
    if let Some(why) = &c.unverified {
        evidence.push(crash.about(format_args!("the culprit rests on {why}")));
    }
    let crash_unix = dump
        .system_time
        .map(|t| crate::filetime::FileTime(t).unix_seconds());
    let mut built: Option<i64> = None;
    if let Some(m) = c.module {
        let (_, repro) = crate::dump::lmvm::image_in_dump(dump, m);
        let ts = i64::from(m.timestamp);
        let age = match crash_unix {
            _ if repro == Some(true) => {
                " (its time stamp is a reproducible-build hash, not a date)".to_string()
            }
            Some(t) if ts > t => {
                " (its time stamp is after the crash: a build hash, not a date)".to_string()
            }
            Some(t) => {
                built = Some(ts);
                let years = (t - ts) / (365 * 86_400);
                match years {
                    0 => ", less than a year before the crash".to_string(),
                    1 => ", a year before the crash".to_string(),
                    n => format!(", {n} years before the crash"),
                }
            }
            None => String::new(),
        };
        evidence.push(
            format!(
                "{}: {} {} from {}, built {}{age}",
                crash.art.file,
                c.key,
                c.version.as_deref().unwrap_or("(version unknown)"),
                c.company.as_deref().unwrap_or("an unknown vendor"),
                crate::dump::lmvm::link_day(m.timestamp),
            )
            .into(),
        );
    }
    // Newer copies of the driver in the case.
    let mine = c.version.as_deref().map(version_tuple);
    let mut newest: Option<(&crate::signing::FileVerdict, Vec<u32>)> = None;
    for v in crate::signing::for_driver(&inputs.case.signatures, &c.key) {
        let Some(img) = &v.image else { continue };
        let theirs = img.file_version.as_deref().map(version_tuple);
        let newer = match (&mine, &theirs) {
            (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => b > a,
            _ => built.is_some_and(|b| i64::from(img.timestamp) > b),
        };
        if newer
            && newest
                .as_ref()
                .is_none_or(|(_, n)| theirs.as_ref().is_some_and(|t| t > n))
        {
            newest = Some((v, theirs.unwrap_or_default()));
        }
    }
    let mut fix = None;
    if let Some((v, _)) = newest {
        let path = v.path.display().to_string();
        let shown = inputs
            .case
            .inventory
            .as_ref()
            .map_or(path.clone(), |inv| inv.shorten(&path));
        let img = v.image.as_ref();
        evidence.push(
            format!(
                "a newer {} is in the case: {shown} ({}, built {})",
                c.key,
                img.and_then(|i| i.file_version.as_deref())
                    .unwrap_or("version unknown"),
                img.map_or("?".into(), |i| crate::dump::lmvm::link_day(i.timestamp))
            )
            .into(),
        );
        // Its package: an INF of the same folder that names the driver.
        let folder = shown.rsplit_once(['/', '\\']).map_or("", |(d, _)| d);
        let inf = inputs.packages.iter().find(|p| {
            p.path.rsplit_once(['/', '\\']).map_or("", |(d, _)| d) == folder
                || p.drivers
                    .iter()
                    .any(|d| d.in_case.as_deref() == Some(shown.as_str()))
        });
        fix = Some(match inf.and_then(|p| super::machine_path(&p.path)) {
            Some(inf) => format!(
                "install the newer package the machine already has: pnputil /add-driver \"{inf}\" /install, then restart"
            ),
            None => format!(
                "install the newer {} the case holds ({shown}) through its package (pnputil /add-driver <its INF> /install)",
                c.key
            ),
        });
    }
    if let Some(count) = inputs
        .history
        .by_culprit
        .iter()
        .find(|n| n.what.eq_ignore_ascii_case(c.key.name()))
    {
        evidence.push(Evidence::at(
            format!("history: {}", count.sentence()),
            SourceRef::History {
                driver: Some(c.key.clone()),
                crash: None,
                change: None,
            },
        ));
    }
    if let Some(l) = inputs.ix.drivers.get(&c.key) {
        push_driver_context(inputs.case, l, evidence);
    }
    let service = inputs.service_name(&c.key);
    fix.unwrap_or_else(|| {
        format!(
            "install {}'s current {} (the crashing build is {}); if it keeps crashing and the machine can run without it, sc config {service} start= disabled",
            c.company.as_deref().unwrap_or("the vendor"),
            c.key,
            c.version.as_deref().unwrap_or("of unknown version")
        )
    })
}

pub(super) fn findings(inputs: &Inputs, out: &mut Vec<Finding>) {
    let Some(crash) = inputs.crash() else { return };
    if !CODES.contains(&crash.info.code) {
        return;
    }
    // A culprit resting on an unverified frame only suggests.
    let id = |c: &Culprit| {
        if c.unverified.is_some() {
            "driver-fault-unverified"
        } else {
            "driver-fault"
        }
    };
    culprit_finding(id, inputs, crash, &[], out);
}

/// The finding of rule `id(culprit)` about the crash's culprit (when it is not Microsoft's),
/// with its evidence and fix; `extra` fills further placeholders. Whether one was made.
pub(super) fn culprit_finding(
    id: impl FnOnce(&Culprit) -> &'static str,
    inputs: &Inputs,
    crash: &Crash,
    extra: &[(&str, &str)],
    out: &mut Vec<Finding>,
) -> bool {
    let Some(c) = culprit(inputs, crash) else {
        return false;
    };
    if c.is_microsoft() {
        return false;
    }
    let mut evidence = vec![crash.line()];
    evidence.extend((1..=4).filter_map(|n| crash.param_line(n)));
    let fix = culprit_evidence(inputs, crash, &c, &mut evidence);
    let service = inputs.service_name(&c.key);
    let code = format!("{:X}", crash.info.code);
    let set = inputs.control_set();
    let mut vars: Vec<(&str, &str)> = vec![
        ("driver", c.key.name()),
        ("vendor", &c.vendor),
        ("code", &code),
        ("name", crash.info.name.unwrap_or("unknown bug check")),
        ("fix", &fix),
        ("service", &service),
        ("set", &set),
    ];
    vars.extend_from_slice(extra);
    out.extend(catalogue::finding(
        id(&c),
        &vars,
        Some(c.key.clone()),
        evidence,
    ));
    true
}
