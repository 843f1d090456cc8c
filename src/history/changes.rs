//! What was installed or changed, from the artefacts that record it.
//!
//! * `setupapi.dev.log` / `setupapi.app.log`: one change per section (`>>>  [title]`,
//!   `>>>  Section start`, `<<<  Section end`, `<<<  [Exit status: ...]`), with the INF and the
//!   driver files copied (`flq: Copying '...' to '...'`). Times are the machine's local time.
//! * `CBS.log` / `dism.log`: one change per package identity named (`Package_for_KB...~...`),
//!   its first mention, the KB, and the last non-zero `[HRESULT = 0x... - NAME]` on its lines;
//!   error lines with an HRESULT that name no package are changes of their own.
//! * `servicing\Packages`: `*.mum` manifests and `*.cat` catalogs grouped by KB, each catalog
//!   with whether CatRoot still has it.
//! * System log: SCM 7045 and 7040, WindowsUpdateClient 19 (installed), 20 (failed), 43 (started),
//!   Kernel-PnP 219 (a device's driver failed to load); Kernel-PnP/Configuration 400, 410, 411,
//!   420, 430 (a device configured with a driver package, started, a problem, deleted, needing
//!   installation).
//! * SYSTEM hive: each service key's last-write time. Driver files: the PE link date.
//!
//! A change is linked to the drivers it concerns: files it copied, the service it names, or,
//! for a KB, the drivers listed by that KB's catalogs.

use super::text::{self, civil_seconds};
use super::{MachineClock, base_name, case_path};
use crate::case::{Case, Kind, Problem};
use crate::driver::DriverKey;
use crate::eventlog::SystemEvent;
use crate::eventlog::system as sys;
use serde::Serialize;
use std::collections::BTreeMap;

/// Error lines without a package kept per log (a failing CBS.log repeats itself thousands of times).
const MAX_ERROR_CHANGES: usize = 200;

/// What a change is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// A SetupAPI section: a device or driver install.
    DeviceInstall,
    /// A CBS/DISM package install (or removal) step.
    PackageInstall,
    /// A CBS/DISM error line with an HRESULT, naming no package.
    ServicingError,
    /// SCM 7045.
    ServiceInstalled,
    /// SCM 7040.
    StartTypeChanged,
    /// WindowsUpdateClient 43.
    UpdateStarted,
    /// WindowsUpdateClient 19.
    UpdateInstalled,
    /// WindowsUpdateClient 20.
    UpdateFailed,
    /// A service key's last-write time.
    ServiceKeyWritten,
    /// A driver file's PE link date (when it was built, not installed).
    DriverLinked,
    /// A driver file's modification time as its archive entry keeps it.
    DriverFileTime,
    /// Kernel-PnP 219: a device's driver failed to load.
    DeviceDriverFailed,
    /// Kernel-PnP 400 (Configuration log): a device was configured with a driver package.
    DeviceConfigured,
    /// Kernel-PnP 410: a device was started after its configuration.
    DeviceStarted,
    /// Kernel-PnP 411: a device had a problem starting.
    DeviceProblem,
    /// Kernel-PnP 420: a device was deleted.
    DeviceDeleted,
    /// Kernel-PnP 430: a device requires further installation.
    DeviceNeedsInstall,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::DeviceInstall => "device-install",
            ChangeKind::PackageInstall => "package-install",
            ChangeKind::ServicingError => "servicing-error",
            ChangeKind::ServiceInstalled => "service-installed",
            ChangeKind::StartTypeChanged => "start-type-changed",
            ChangeKind::UpdateStarted => "update-started",
            ChangeKind::UpdateInstalled => "update-installed",
            ChangeKind::UpdateFailed => "update-failed",
            ChangeKind::ServiceKeyWritten => "service-key-written",
            ChangeKind::DriverLinked => "driver-linked",
            ChangeKind::DriverFileTime => "driver-file-time",
            ChangeKind::DeviceDriverFailed => "device-driver-failed",
            ChangeKind::DeviceConfigured => "device-configured",
            ChangeKind::DeviceStarted => "device-started",
            ChangeKind::DeviceProblem => "device-problem",
            ChangeKind::DeviceDeleted => "device-deleted",
            ChangeKind::DeviceNeedsInstall => "device-needs-install",
        }
    }

    /// A change made on the machine (a link date is when the file was built elsewhere).
    pub fn is_on_machine(self) -> bool {
        self != ChangeKind::DriverLinked
    }
}

/// One change.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// UTC seconds since the Unix epoch.
    pub time: i64,
    /// What the time is (`section start (local time)`, `key last written`...).
    pub timestamp_desc: String,
    pub kind: ChangeKind,
    pub message: String,
    /// The drivers it concerns.
    pub drivers: Vec<DriverKey>,
    /// The update's KB number (`KB5036899`).
    pub kb: Option<String>,
    /// The outcome as logged (`SUCCESS`, `0x800f0922 CBS_E_INSTALLERS_FAILED`, an error code).
    pub status: Option<String>,
    /// The case file, and the line (text logs) or record (events).
    pub file: String,
    pub line: Option<usize>,
    pub record_id: Option<u64>,
}

/// An update package of `servicing\Packages`: its manifests and catalogs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServicingPackage {
    pub kb: String,
    /// `*.mum` case paths.
    pub manifests: Vec<String>,
    /// `*.cat` case paths, each with whether CatRoot has a catalog of that name.
    pub catalogs: Vec<(String, bool)>,
    /// The drivers its catalogs list.
    pub drivers: Vec<DriverKey>,
}

impl ServicingPackage {
    /// Catalogs of the package that CatRoot lacks.
    pub fn missing_from_catroot(&self) -> impl Iterator<Item = &str> {
        self.catalogs
            .iter()
            .filter(|(_, in_catroot)| !in_catroot)
            .map(|(p, _)| p.as_str())
    }
}

/// `KB5036899` from any text naming it.
pub fn kb_of(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i].eq_ignore_ascii_case(&b'k')
            && b[i + 1].eq_ignore_ascii_case(&b'b')
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        {
            let digits: String = s[i + 2..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if (6..=8).contains(&digits.len()) {
                return Some(format!("KB{digits}"));
            }
        }
        i += 1;
    }
    None
}

pub(crate) fn collect(
    case: &Case,
    clock: MachineClock,
    warnings: &mut Vec<Problem>,
) -> (Vec<Change>, Vec<ServicingPackage>) {
    let packages = servicing_packages(case);
    let kb_drivers: BTreeMap<&str, &[DriverKey]> = packages
        .iter()
        .map(|p| (p.kb.as_str(), p.drivers.as_slice()))
        .collect();
    let drivers_of_kb = |kb: &Option<String>| -> Vec<DriverKey> {
        kb.as_deref()
            .and_then(|k| kb_drivers.get(k))
            .map(|d| d.to_vec())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    if let Some(inv) = &case.inventory {
        for f in &inv.files {
            let Some(local) = &f.local else { continue };
            match f.kind {
                Kind::SetupapiLog => {
                    if let Some(log) = text::read(local, &f.path, warnings) {
                        setupapi(&log, &f.path, clock, &mut out, warnings);
                    }
                }
                Kind::CbsLog | Kind::DismLog => {
                    if let Some(log) = text::read(local, &f.path, warnings) {
                        servicing_log(&log, &f.path, clock, &drivers_of_kb, &mut out, warnings);
                    }
                }
                _ => {}
            }
        }
        file_times(inv, clock, &mut out);
    }
    events(case, &drivers_of_kb, &mut out);
    if let Some(hive) = &case.hive {
        let file = case_path(case, &hive.path);
        for s in hive.services() {
            if s.last_write.0 == 0 {
                continue;
            }
            out.push(Change {
                time: s.last_write.unix_seconds(),
                timestamp_desc: "service key last written".into(),
                kind: ChangeKind::ServiceKeyWritten,
                message: format!(
                    "service key {} last written (Start={}{})",
                    s.name,
                    s.start.map_or("?".to_string(), |v| v.0.to_string()),
                    s.image_path
                        .as_deref()
                        .map(|p| format!(", ImagePath={p}"))
                        .unwrap_or_default()
                ),
                drivers: s.driver.iter().cloned().collect(),
                kb: None,
                status: None,
                file: file.clone(),
                line: None,
                record_id: None,
            });
        }
    }
    for v in &case.signatures {
        let (Some(img), Some(d)) = (&v.image, &v.driver) else {
            continue;
        };
        // Reproducible builds write a hash, not a date, in TimeDateStamp: only plausible dates.
        let t = i64::from(img.timestamp);
        if !(788_918_400..4_102_444_800).contains(&t) {
            continue;
        }
        out.push(Change {
            time: t,
            timestamp_desc: "PE link time (TimeDateStamp)".into(),
            kind: ChangeKind::DriverLinked,
            message: format!(
                "{d} {} built (link date){}",
                img.file_version.as_deref().unwrap_or(""),
                img.company
                    .as_deref()
                    .map(|c| format!(", {c}"))
                    .unwrap_or_default()
            ),
            drivers: vec![d.clone()],
            kb: None,
            status: None,
            file: case_path(case, &v.path),
            line: None,
            record_id: None,
        });
    }
    out.sort_by(|a, b| a.time.cmp(&b.time).then(a.file.cmp(&b.file)));
    (out, packages)
}

/// `servicing\Packages` manifests and catalogs by KB, with the drivers those catalogs list.
fn servicing_packages(case: &Case) -> Vec<ServicingPackage> {
    let Some(inv) = &case.inventory else {
        return Vec::new();
    };
    let in_servicing = |p: &str| p.to_ascii_lowercase().contains("servicing/packages/");
    let catroot: std::collections::HashSet<String> = inv
        .files
        .iter()
        .filter(|f| f.path.to_ascii_lowercase().contains("catroot") && !in_servicing(&f.path))
        .map(|f| base_name(&f.path).to_ascii_lowercase())
        .collect();
    let mut by_kb: BTreeMap<String, ServicingPackage> = BTreeMap::new();
    for f in &inv.files {
        if !in_servicing(&f.path) {
            continue;
        }
        let name = base_name(&f.path);
        let lower = name.to_ascii_lowercase();
        let Some(kb) = kb_of(name) else { continue };
        let p = by_kb.entry(kb.clone()).or_insert_with(|| ServicingPackage {
            kb,
            ..ServicingPackage::default()
        });
        if lower.ends_with(".mum") {
            p.manifests.push(f.path.clone());
        } else if lower.ends_with(".cat") {
            p.catalogs.push((f.path.clone(), catroot.contains(&lower)));
        }
    }
    for p in by_kb.values_mut() {
        let names: Vec<String> = p
            .catalogs
            .iter()
            .map(|(c, _)| base_name(c).to_ascii_lowercase())
            .collect();
        for v in &case.signatures {
            let Some(d) = &v.driver else { continue };
            let listed = v.catalogs.iter().chain(&v.listed_by_name).any(|c| {
                let n = c
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_ascii_lowercase());
                n.is_some_and(|n| names.contains(&n))
            });
            if listed && !p.drivers.contains(d) {
                p.drivers.push(d.clone());
            }
        }
    }
    by_kb.into_values().collect()
}

/// One SetupAPI section being read.
#[derive(Default)]
struct Section {
    title: String,
    line: usize,
    start: Option<i64>,
    end: Option<i64>,
    inf: Option<String>,
    files: Vec<String>,
    status: Option<String>,
}

/// The first word ending in `.inf` (quotes and brackets stripped).
fn inf_in(s: &str) -> Option<String> {
    s.split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '[' | ']' | '{' | '}' | ','))
        .find(|w| w.len() > 4 && w.to_ascii_lowercase().ends_with(".inf"))
        .map(|w| base_name(w).to_string())
}

fn setupapi(
    log: &text::TextLog,
    file: &str,
    clock: MachineClock,
    out: &mut Vec<Change>,
    warnings: &mut Vec<Problem>,
) {
    let mut cur: Option<Section> = None;
    let finish = |s: Section, out: &mut Vec<Change>, warnings: &mut Vec<Problem>| {
        let Some(start) = s.start.or(s.end) else {
            warnings.push(Problem::new(
                file.to_string(),
                format!(
                    "line {}: SetupAPI section without a readable start time skipped",
                    s.line
                ),
            ));
            return;
        };
        let drivers: Vec<DriverKey> = s
            .files
            .iter()
            .filter(|f| {
                let l = f.to_ascii_lowercase();
                l.ends_with(".sys") || l.ends_with(".dll")
            })
            .filter_map(|f| DriverKey::from_path(f))
            .fold(Vec::new(), |mut v, d| {
                if !v.contains(&d) {
                    v.push(d);
                }
                v
            });
        let mut message = s.title.clone();
        if let Some(inf) = &s.inf
            && !message
                .to_ascii_lowercase()
                .contains(&inf.to_ascii_lowercase())
        {
            message.push_str(&format!(", INF {inf}"));
        }
        if !s.files.is_empty() {
            message.push_str(&format!(", copied {}", s.files.join(", ")));
        }
        if let (Some(a), Some(b)) = (s.start, s.end) {
            message.push_str(&format!(" ({} s)", (b - a).max(0)));
        }
        message.push_str(&format!(
            ": {}",
            s.status.as_deref().unwrap_or("no exit status (cut off)")
        ));
        out.push(Change {
            time: clock.to_utc(start),
            timestamp_desc: if clock.knows_zone() {
                "SetupAPI section start".into()
            } else {
                "SetupAPI section start (local time, no time zone known)".into()
            },
            kind: ChangeKind::DeviceInstall,
            kb: kb_of(&s.title),
            message,
            drivers,
            status: s.status,
            file: file.to_string(),
            line: Some(s.line),
            record_id: None,
        });
    };
    for (i, raw) in log.text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        let t = line.trim_start();
        if let Some(rest) = line.strip_prefix(">>>  [") {
            if let Some(s) = cur.take() {
                finish(s, out, warnings);
            }
            cur = Some(Section {
                title: rest.trim_end_matches(']').trim().to_string(),
                line: n,
                inf: inf_in(rest),
                ..Section::default()
            });
        } else if let Some(rest) = line.strip_prefix(">>>  Section start ") {
            if let Some(s) = cur.as_mut() {
                s.start = civil_seconds(rest.trim());
                if s.start.is_none() {
                    warnings.push(Problem::new(
                        file.to_string(),
                        format!("line {n}: unreadable section start time"),
                    ));
                }
            }
        } else if let Some(rest) = line.strip_prefix("<<<  Section end ") {
            if let Some(s) = cur.as_mut() {
                s.end = civil_seconds(rest.trim());
            }
        } else if let Some(rest) = line.strip_prefix("<<<  [Exit status: ") {
            if let Some(mut s) = cur.take() {
                s.status = Some(rest.trim_end_matches(']').trim().to_string());
                finish(s, out, warnings);
            }
        } else if let Some(s) = cur.as_mut() {
            if s.inf.is_none()
                && (t.starts_with("inf:") || t.starts_with("sto:") || t.starts_with("cmd:"))
            {
                s.inf = inf_in(t);
            }
            // `flq: Copying 'C:\...\foo.sys' to 'C:\Windows\System32\drivers\foo.sys'.`
            if t.starts_with("flq:")
                && let Some(at) = t.find(" to '")
                && let Some(target) = t[at + 5..].split('\'').next()
            {
                let name = base_name(target).to_string();
                if !name.is_empty() && !s.files.contains(&name) {
                    s.files.push(name);
                }
            }
        }
    }
    if let Some(s) = cur.take() {
        warnings.push(Problem::new(
            file.to_string(),
            format!(
                "line {}: the last section has no end{}",
                s.line,
                if log.cut_off {
                    " (the file is cut off)"
                } else {
                    ""
                }
            ),
        ));
        finish(s, out, warnings);
    }
}

/// `Package_for_KB5036899~31bf3856ad364e35~amd64~~14393.6897.1.10` from a CBS/DISM line.
fn package_in(msg: &str) -> Option<&str> {
    let at = msg.find("Package_")?;
    let rest = &msg[at..];
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '[' | '\'' | '"' | ')' | '('))
        .unwrap_or(rest.len());
    let p = rest[..end].trim_end_matches(['.', ':']);
    (p.len() > 8).then_some(p)
}

/// `0x800f0922 - CBS_E_INSTALLERS_FAILED` from `[HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]`.
fn hresult_in(msg: &str) -> Option<(u32, String)> {
    let at = msg.find("HRESULT = ")?;
    let rest = &msg[at + 10..];
    let inner = rest.split(']').next()?;
    let code = inner.split_whitespace().next()?;
    let value =
        u32::from_str_radix(code.trim_start_matches("0x").trim_start_matches("0X"), 16).ok()?;
    Some((value, inner.replace(" - ", " ").trim().to_string()))
}

struct Pkg {
    first: i64,
    line: usize,
    actions: Vec<&'static str>,
    status: Option<String>,
    failed: bool,
}

fn servicing_log(
    log: &text::TextLog,
    file: &str,
    clock: MachineClock,
    drivers_of_kb: &dyn Fn(&Option<String>) -> Vec<DriverKey>,
    out: &mut Vec<Change>,
    warnings: &mut Vec<Problem>,
) {
    let mut pkgs: BTreeMap<String, Pkg> = BTreeMap::new();
    let mut errors: BTreeMap<String, (i64, usize)> = BTreeMap::new();
    let mut dropped = 0usize;
    let mut skipped = 0usize;
    let mut first_skipped = None;
    let lines: Vec<&str> = log.text.lines().collect();
    for (i, raw) in lines.iter().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some(local) = civil_seconds(line) else {
            // Continuation lines of a multi-line entry carry no time.
            if line.len() >= 19 && line.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
                skipped += 1;
                first_skipped.get_or_insert(n);
            }
            continue;
        };
        let rest = line.get(20..).unwrap_or("").trim_start();
        let mut words = rest.splitn(3, char::is_whitespace);
        let level = words.next().unwrap_or("");
        let msg = rest[level.len()..].trim_start();
        let msg = msg
            .split_once(char::is_whitespace)
            .map_or(msg, |(_, m)| m.trim_start());
        let time = clock.to_utc(local);
        let hr = hresult_in(msg);
        if let Some(p) = package_in(msg) {
            let e = pkgs.entry(p.to_string()).or_insert(Pkg {
                first: time,
                line: n,
                actions: Vec::new(),
                status: None,
                failed: false,
            });
            let lower = msg.to_ascii_lowercase();
            let action = if lower.contains("uninstall") || lower.contains("remov") {
                Some("uninstall")
            } else if lower.contains("install") {
                Some("install")
            } else if lower.contains("stag") {
                Some("stage")
            } else {
                None
            };
            if let Some(a) = action
                && !e.actions.contains(&a)
            {
                e.actions.push(a);
            }
            if let Some((code, text)) = hr {
                if code != 0 {
                    e.failed = true;
                    e.status = Some(text);
                } else if !e.failed {
                    e.status = Some(text);
                }
            }
        } else if level == "Error"
            && let Some((code, _)) = hr
            && code != 0
        {
            let key = msg.to_string();
            if errors.len() < MAX_ERROR_CHANGES || errors.contains_key(&key) {
                errors.entry(key).or_insert((time, n));
            } else {
                dropped += 1;
            }
        }
    }
    if log.cut_off {
        warnings.push(Problem::new(
            file.to_string(),
            format!("line {}: the last line is cut off", lines.len()),
        ));
    }
    if let Some(first) = first_skipped {
        warnings.push(Problem::new(
            file.to_string(),
            format!("line {first}: {skipped} line(s) with an unreadable time skipped"),
        ));
    }
    if dropped > 0 {
        warnings.push(Problem::new(
            file.to_string(),
            format!("{dropped} more error line(s) past the first {MAX_ERROR_CHANGES} distinct ones not listed"),
        ));
    }
    let desc = if clock.knows_zone() {
        "first logged"
    } else {
        "first logged (local time, no time zone known)"
    };
    for (name, p) in pkgs {
        let kb = kb_of(&name);
        let actions = if p.actions.is_empty() {
            "named".to_string()
        } else {
            p.actions.join(", ")
        };
        out.push(Change {
            time: p.first,
            timestamp_desc: desc.into(),
            kind: ChangeKind::PackageInstall,
            message: format!(
                "package {name}{}: {actions}{}",
                kb.as_deref().map(|k| format!(" ({k})")).unwrap_or_default(),
                p.status
                    .as_deref()
                    .map(|s| format!(", HRESULT {s}"))
                    .unwrap_or_default()
            ),
            drivers: drivers_of_kb(&kb),
            kb,
            status: p.status,
            file: file.to_string(),
            line: Some(p.line),
            record_id: None,
        });
    }
    for (msg, (time, line)) in errors {
        let kb = kb_of(&msg);
        out.push(Change {
            time,
            timestamp_desc: desc.into(),
            kind: ChangeKind::ServicingError,
            status: hresult_in(&msg).map(|(_, t)| t),
            message: msg,
            drivers: drivers_of_kb(&kb),
            kb,
            file: file.to_string(),
            line: Some(line),
            record_id: None,
        });
    }
}

/// A raw field of an event by name (WindowsUpdateClient's `updateTitle`, `errorCode`).
fn raw_field<'a>(e: &'a crate::eventlog::Event, name: &str) -> Option<&'a str> {
    e.fields
        .iter()
        .find(|f| {
            f.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(|f| f.value.trim())
}

/// Driver files' modification times where the case keeps them: archive entries (a copy to a
/// jump box resets a plain file's mtime, so those are not used). A DOS time is the archiving
/// machine's local time and goes through the hive's time zone.
fn file_times(inv: &crate::case::Inventory, clock: MachineClock, out: &mut Vec<Change>) {
    use crate::case::StampSource;
    for f in inv.of_kind(Kind::PeImage) {
        let Some(stamp) = f.modified.filter(|s| s.source.from_archive()) else {
            continue;
        };
        let Some(driver) = DriverKey::from_path(&f.path) else {
            continue;
        };
        let time = if stamp.source == StampSource::ZipDos {
            clock.to_utc(stamp.seconds)
        } else {
            stamp.seconds
        };
        out.push(Change {
            time,
            timestamp_desc: format!("file modified ({})", stamp.source.words()),
            kind: ChangeKind::DriverFileTime,
            message: format!("{driver} last written ({})", stamp.source.words()),
            drivers: vec![driver],
            kb: None,
            status: None,
            file: f.path.clone(),
            line: None,
            record_id: None,
        });
    }
}

/// What a Kernel-PnP Configuration event says: the device, and its driver package, service or
/// problem (fields as the event logs them; a missing one is left out).
fn pnp_message(kind: ChangeKind, e: &crate::eventlog::Event) -> String {
    let f = |n: &str| raw_field(e, n).filter(|v| !v.is_empty());
    let device = f("DeviceInstanceId").unwrap_or("a device");
    let text = match kind {
        ChangeKind::DeviceConfigured => {
            let mut t = format!("device {device} configured");
            if let Some(inf) = f("DriverName") {
                t.push_str(&format!(" with {inf}"));
            }
            if let Some(v) = f("DriverVersion") {
                t.push_str(&format!(" {v}"));
            }
            if let Some(p) = f("DriverProvider") {
                t.push_str(&format!(" from {p}"));
            }
            t
        }
        ChangeKind::DeviceStarted => match f("ServiceName") {
            Some(s) => format!("device {device} started (service {s})"),
            None => format!("device {device} started"),
        },
        ChangeKind::DeviceProblem => format!(
            "device {device} had a problem starting (problem {}, status {})",
            f("Problem").unwrap_or("?"),
            f("ProblemStatus").or_else(|| f("Status")).unwrap_or("?")
        ),
        ChangeKind::DeviceDeleted => format!("device {device} deleted"),
        _ => format!("device {device} requires further installation"),
    };
    format!(
        "{} (Kernel-PnP {})",
        text.chars().take(400).collect::<String>(),
        e.event_id
    )
}

fn events(
    case: &Case,
    drivers_of_kb: &dyn Fn(&Option<String>) -> Vec<DriverKey>,
    out: &mut Vec<Change>,
) {
    let mut seen = std::collections::HashSet::new();
    for log in &case.event_logs {
        let file = case_path(case, &log.path);
        for e in &log.events {
            let kind = match (e.provider.as_str(), e.event_id, e.system()) {
                (sys::SCM, 7045, _) => ChangeKind::ServiceInstalled,
                (sys::SCM, 7040, _) => ChangeKind::StartTypeChanged,
                (sys::WINDOWS_UPDATE_CLIENT, 19, _) => ChangeKind::UpdateInstalled,
                (sys::WINDOWS_UPDATE_CLIENT, 20, _) => ChangeKind::UpdateFailed,
                (sys::WINDOWS_UPDATE_CLIENT, 43, _) => ChangeKind::UpdateStarted,
                (sys::KERNEL_PNP, 219, _) => ChangeKind::DeviceDriverFailed,
                (sys::KERNEL_PNP, 400, _) => ChangeKind::DeviceConfigured,
                (sys::KERNEL_PNP, 410, _) => ChangeKind::DeviceStarted,
                (sys::KERNEL_PNP, 411, _) => ChangeKind::DeviceProblem,
                (sys::KERNEL_PNP, 420, _) => ChangeKind::DeviceDeleted,
                (sys::KERNEL_PNP, 430, _) => ChangeKind::DeviceNeedsInstall,
                _ => continue,
            };
            if !seen.insert((
                e.computer.to_ascii_lowercase(),
                e.record_id,
                e.event_id,
                e.time.as_millisecond(),
            )) {
                continue;
            }
            let mut drivers = e.drivers.clone();
            // Kernel-PnP 410/411 name the device's service (function driver).
            let pnp_service = raw_field(e, "ServiceName").filter(|s| !s.is_empty());
            for s in e.services.iter().map(String::as_str).chain(pnp_service) {
                if let Some(d) = case
                    .hive
                    .as_ref()
                    .and_then(|h| h.service(s))
                    .and_then(|svc| svc.driver.clone())
                    .filter(|d| !drivers.contains(d))
                {
                    drivers.push(d);
                }
            }
            let (kb, status) = match kind {
                ChangeKind::UpdateInstalled
                | ChangeKind::UpdateFailed
                | ChangeKind::UpdateStarted => {
                    let title = raw_field(e, "updateTitle").unwrap_or("");
                    let status = raw_field(e, "errorCode").map(str::to_string);
                    (kb_of(title), status)
                }
                _ => (None, None),
            };
            for d in drivers_of_kb(&kb) {
                if !drivers.contains(&d) {
                    drivers.push(d);
                }
            }
            let message = match (kind, e.system()) {
                (ChangeKind::DeviceDriverFailed, _) => format!(
                    "{} (Kernel-PnP 219)",
                    e.summary()
                        .replace('\n', " ")
                        .chars()
                        .take(400)
                        .collect::<String>()
                ),
                (
                    ChangeKind::DeviceConfigured
                    | ChangeKind::DeviceStarted
                    | ChangeKind::DeviceProblem
                    | ChangeKind::DeviceDeleted
                    | ChangeKind::DeviceNeedsInstall,
                    _,
                ) => pnp_message(kind, e),
                (
                    _,
                    Some(
                        s @ (SystemEvent::ServiceInstalled { .. }
                        | SystemEvent::StartTypeChanged { .. }),
                    ),
                ) => {
                    e.summary()
                        .replace('\n', " ")
                        .chars()
                        .take(400)
                        .collect::<String>()
                        + if matches!(s, SystemEvent::ServiceInstalled { .. }) {
                            " (SCM 7045)"
                        } else {
                            " (SCM 7040)"
                        }
                }
                _ => {
                    let title = raw_field(e, "updateTitle").unwrap_or("an update");
                    match kind {
                        ChangeKind::UpdateInstalled => format!("update installed: {title}"),
                        ChangeKind::UpdateFailed => format!(
                            "update failed: {title}{}",
                            status
                                .as_deref()
                                .map(|s| format!(", error {s}"))
                                .unwrap_or_default()
                        ),
                        _ => format!("update install started: {title}"),
                    }
                }
            };
            out.push(Change {
                time: e.time.as_second(),
                timestamp_desc: "event logged".into(),
                kind,
                message,
                drivers,
                kb,
                status,
                file: file.clone(),
                line: None,
                record_id: Some(e.record_id),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> text::TextLog {
        text::TextLog {
            text: text.to_string(),
            cut_off: !text.ends_with('\n'),
        }
    }

    #[test]
    fn a_setupapi_section_gives_its_inf_files_and_status() {
        let log = read(
            "[Device Install Log]\r\n>>>  [Device Install (DiInstallDriver) - C:\\Drivers\\fc.inf]\r\n\
             >>>  Section start 2024/05/14 02:12:01.093\r\n     flq: Copying 'C:\\Drivers\\filecrypt.sys' to 'C:\\Windows\\System32\\drivers\\filecrypt.sys'.\r\n\
             <<<  Section end 2024/05/14 02:12:03.312\r\n<<<  [Exit status: SUCCESS]\r\n\
             >>>  [Device Install (Hardware initiated) - USB\\VID_1]\r\n>>>  Section start 2024/05/14 02:13:00.000\r\n     dvi: cut",
        );
        let mut out = Vec::new();
        let mut w = Vec::new();
        setupapi(
            &log,
            "Windows/INF/setupapi.dev.log",
            MachineClock::default(),
            &mut out,
            &mut w,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].time, 1_715_652_721);
        assert_eq!(out[0].status.as_deref(), Some("SUCCESS"));
        assert_eq!(
            out[0].drivers,
            vec![DriverKey::from_path("filecrypt.sys").unwrap()]
        );
        assert!(
            out[0].message.contains("copied filecrypt.sys (2 s)"),
            "{}",
            out[0].message
        );
        assert_eq!(out[1].status, None);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].message
                .starts_with("line 7: the last section has no end (the file is cut off)"),
            "{:?}",
            w
        );
    }

    #[test]
    fn cbs_lines_give_one_change_per_package_with_its_worst_hresult() {
        let log = read(
            "2024-05-14 02:05:01, Info                  CBS    Exec: Installing Package: Package_for_KB5036899~31bf3856ad364e35~amd64~~14393.6897.1.10, Update: 5036899-1\r\n\
             2024-05-14 02:05:09, Error                 CBS    Failed to stage Package_for_KB5036899~31bf3856ad364e35~amd64~~14393.6897.1.10 [HRESULT = 0x800b0100 - TRUST_E_NOSIGNATURE]\r\n\
             2024-05-14 02:05:10, Error                 CBS    Failed to load the catalog [HRESULT = 0x800b0100 - TRUST_E_NOSIGNATURE]\r\n\
             2024-05-14 02:05:11, Info                  CBS    Session: 1 finalized [HRESULT = 0x00000000 - S_OK]\r\n\
             2024-05-14 02:05:1",
        );
        let mut out = Vec::new();
        let mut w = Vec::new();
        servicing_log(
            &log,
            "CBS.log",
            MachineClock::default(),
            &|_| Vec::new(),
            &mut out,
            &mut w,
        );
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].kind, ChangeKind::PackageInstall);
        assert_eq!(out[0].kb.as_deref(), Some("KB5036899"));
        assert_eq!(
            out[0].status.as_deref(),
            Some("0x800b0100 TRUST_E_NOSIGNATURE")
        );
        assert!(
            out[0].message.contains("install, stage"),
            "{}",
            out[0].message
        );
        assert_eq!(out[1].kind, ChangeKind::ServicingError);
        assert!(w.iter().any(|p| p.message.contains("line 5")), "{w:?}");
    }

    #[test]
    fn kb_numbers_are_found_in_names() {
        assert_eq!(
            kb_of("Package_1257_for_KB5036899~31bf.cat").as_deref(),
            Some("KB5036899")
        );
        assert_eq!(
            kb_of("2024-04 Cumulative Update (KB5036899)").as_deref(),
            Some("KB5036899")
        );
        assert_eq!(kb_of("no kb here, KB12"), None);
    }
}
