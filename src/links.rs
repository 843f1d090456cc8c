//! `DriverIndex`: every reference to each driver in every artefact of a case.
//!
//! The panes and the findings ask one question again and again: "what does the case say about
//! this driver?". The index answers it once, after loading: the dump's module and stack frames,
//! the hive's service, the signature verdict, the event-log events and the case's files.

use crate::case::{Case, Kind};
use crate::driver::DriverKey;
use crate::signing::Verdict;
use serde::Serialize;
use std::collections::BTreeMap;

/// The dump's view of a driver.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct InDump {
    /// Loaded when the machine crashed: base, size, link timestamp.
    pub base: Option<u64>,
    pub size: Option<u32>,
    pub timestamp: Option<u32>,
    /// Stack frames inside the driver.
    pub frames: usize,
    /// Chosen as the faulting module by the analysis.
    pub faulting: bool,
    /// Named by a bug-check parameter (0x5A's driver, for instance).
    pub named_by_parameter: bool,
    /// In the unloaded-driver list.
    pub unloaded: bool,
}

/// The hive's service for a driver.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ServiceLink {
    pub name: String,
    pub start: Option<u32>,
    pub start_name: Option<&'static str>,
    pub service_type: Option<u32>,
    pub error_control: Option<u32>,
    pub error_control_name: Option<&'static str>,
    pub group: Option<String>,
    pub image_path: Option<String>,
}

impl ServiceLink {
    /// Boot- or system-start with ErrorControl critical: if it fails to load, Windows bugchecks
    /// 0x5A CRITICAL_SERVICE_FAILED (or falls back to LastKnownGood).
    pub fn is_critical_boot_driver(&self) -> bool {
        matches!(self.start, Some(0) | Some(1)) && self.error_control == Some(3)
    }
}

/// The event logs' view of a driver.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct InEvents {
    pub code_integrity: usize,
    pub system: usize,
    /// Distinct event IDs, ascending.
    pub ids: Vec<u16>,
    /// 3 error/critical, 2 warning, 1 other.
    pub worst_severity: u8,
    /// The worst status named (NTSTATUS name or hex).
    pub worst_status: Option<String>,
    pub first: Option<String>,
    pub last: Option<String>,
}

/// The signature verdict of a driver's file.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SignatureLink {
    pub verdict: Verdict,
    pub catalog: Option<String>,
    pub catalog_location: Option<&'static str>,
    /// What sigcheck / sigverif said, when the case has their reports.
    pub third_party: Vec<String>,
}

/// Everything the case says about one driver.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct DriverLinks {
    pub key: Option<DriverKey>,
    pub dump: Option<InDump>,
    pub service: Option<ServiceLink>,
    pub signature: Option<SignatureLink>,
    pub events: InEvents,
    /// Events of the boot log on the driver's image or under its service key.
    pub boot_log_events: usize,
    /// The boot log shows a Load Image of it.
    pub boot_log_loaded: bool,
    /// The case files that are this driver.
    pub files: Vec<String>,
}

impl DriverLinks {
    /// Something in the case points at this driver as a problem.
    pub fn is_suspect(&self) -> bool {
        let bad_sig = self
            .signature
            .as_ref()
            .is_some_and(|s| !s.verdict.is_signed());
        let dump = self
            .dump
            .as_ref()
            .is_some_and(|d| d.faulting || d.named_by_parameter);
        bad_sig || dump || self.events.worst_severity >= 3
    }
}

/// Every driver the case knows, by identity.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DriverIndex {
    pub drivers: BTreeMap<DriverKey, DriverLinks>,
}

impl DriverIndex {
    /// Link every artefact of `case`; `event_drivers[log][event]` are each event's drivers
    /// (`analysis::CaseAnalysis::event_drivers`).
    pub fn build(case: &Case, event_drivers: &[Vec<Vec<DriverKey>>]) -> DriverIndex {
        let mut ix = DriverIndex::default();
        if let Some(d) = case.dump() {
            for m in &d.dump.modules {
                if let Some(k) = m.key() {
                    let e = ix.entry(&k).dump.get_or_insert_with(InDump::default);
                    e.base = Some(m.base);
                    e.size = Some(m.size);
                    e.timestamp = Some(m.timestamp);
                }
            }
            for u in &d.dump.unloaded_modules {
                if let Some(k) = DriverKey::from_path(&u.name) {
                    ix.entry(&k)
                        .dump
                        .get_or_insert_with(InDump::default)
                        .unloaded = true;
                }
            }
            for (i, f) in d.analysis.stack.iter().enumerate() {
                if let Some(k) = f.module.as_deref().and_then(DriverKey::from_path) {
                    let e = ix.entry(&k).dump.get_or_insert_with(InDump::default);
                    e.frames += 1;
                    e.faulting |= d.analysis.faulting_frame == Some(i);
                }
            }
            if let Some(k) = d
                .analysis
                .faulting_module
                .as_deref()
                .and_then(DriverKey::from_path)
            {
                ix.entry(&k)
                    .dump
                    .get_or_insert_with(InDump::default)
                    .faulting = true;
            }
            if let Some(k) = d
                .analysis
                .parameter_driver
                .as_deref()
                .and_then(DriverKey::from_path)
            {
                ix.entry(&k)
                    .dump
                    .get_or_insert_with(InDump::default)
                    .named_by_parameter = true;
            }
        }
        if let Some(h) = &case.hive {
            for s in h
                .services
                .iter()
                .filter(|s| s.service_type.is_some_and(|t| t.is_driver()))
            {
                let Some(k) = DriverKey::from_service(&s.name, s.image_path.as_deref()) else {
                    continue;
                };
                ix.entry(&k).service = Some(ServiceLink {
                    name: s.name.clone(),
                    start: s.start.map(|v| v.0),
                    start_name: s.start.and_then(|v| v.name()),
                    service_type: s.service_type.map(|v| v.0),
                    error_control: s.error_control.map(|v| v.0),
                    error_control_name: s.error_control.and_then(|v| v.name()),
                    group: s.group.clone(),
                    image_path: s.image_path.clone(),
                });
            }
        }
        for v in &case.signatures {
            let Some(k) = v.driver.clone() else { continue };
            ix.entry(&k).signature = Some(SignatureLink {
                verdict: v.verdict,
                catalog: v.catalog.as_ref().map(|c| case_relative(case, &c.path)),
                catalog_location: v.catalog.as_ref().map(|c| c.location.as_str()),
                third_party: v
                    .third_party
                    .iter()
                    .map(|t| format!("{}: {}", t.source, t.status))
                    .collect(),
            });
        }
        for (log, drivers) in case.event_logs.iter().zip(event_drivers) {
            for (ev, keys) in log.events.iter().zip(drivers) {
                let mut keys = keys.clone();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let e = &mut ix.entry(&k).events;
                    if ev.code_integrity().is_some() {
                        e.code_integrity += 1;
                    } else {
                        e.system += 1;
                    }
                    if let Err(pos) = e.ids.binary_search(&ev.event_id) {
                        e.ids.insert(pos, ev.event_id);
                    }
                    if ev.severity() >= e.worst_severity {
                        e.worst_severity = ev.severity();
                        if let Some(st) = ev.status() {
                            e.worst_status = Some(st.to_string());
                        }
                    }
                    let t = ev.time.to_string();
                    if e.first.as_ref().is_none_or(|f| t < *f) {
                        e.first = Some(t.clone());
                    }
                    if e.last.as_ref().is_none_or(|l| t > *l) {
                        e.last = Some(t);
                    }
                }
            }
        }
        if let Some(log) = &case.boot_log {
            ix.link_boot_log(log);
        }
        if let Some(inv) = &case.inventory {
            for f in inv.of_kind(Kind::PeImage) {
                if let Some(k) = DriverKey::from_path(&f.path.replace('/', "\\"))
                    && (ix.drivers.contains_key(&k) || f.detail.starts_with("driver"))
                {
                    ix.entry(&k).files.push(f.path.clone());
                }
            }
        }
        ix
    }

    /// Count, in one pass over the boot log's column index, the events on each driver's image
    /// (file system, Load Image) and under its service key in the registry.
    fn link_boot_log(&mut self, log: &crate::pml::PmlLog) {
        use crate::pml::names::{CLASS_PROCESS, CLASS_REGISTRY, proc_op};
        let ix = log.index();
        let services: BTreeMap<String, DriverKey> = self
            .drivers
            .iter()
            .filter_map(|(k, l)| Some((l.service.as_ref()?.name.to_ascii_lowercase(), k.clone())))
            .collect();
        // Path id -> (driver, is the image itself).
        let by_path: Vec<Option<(DriverKey, bool)>> = ix
            .paths
            .iter()
            .map(|p| {
                let lower = p.to_ascii_lowercase();
                if lower.ends_with(".sys")
                    || lower.ends_with(".dll") && lower.contains("\\system32\\")
                {
                    return DriverKey::from_path(p)
                        .filter(|k| lower.ends_with(".sys") || self.drivers.contains_key(k))
                        .map(|k| (k, true));
                }
                let (_, rest) = lower.split_once("\\services\\")?;
                let name = rest.split('\\').next()?;
                services.get(name).map(|k| (k.clone(), false))
            })
            .collect();
        let mut counts: BTreeMap<DriverKey, (usize, bool)> = BTreeMap::new();
        for i in 0..ix.len() {
            let Some(Some((key, image))) = ix.path.get(i).and_then(|p| by_path.get(*p as usize))
            else {
                continue;
            };
            let Some(op) = ix.op_of(i) else { continue };
            if !image && op.class != CLASS_REGISTRY {
                continue;
            }
            let e = counts.entry(key.clone()).or_default();
            e.0 += 1;
            e.1 |= op.class == CLASS_PROCESS && op.operation == proc_op::LOAD_IMAGE;
        }
        for (k, (n, loaded)) in counts {
            let e = self.entry(&k);
            e.boot_log_events = n;
            e.boot_log_loaded = loaded;
        }
    }

    fn entry(&mut self, k: &DriverKey) -> &mut DriverLinks {
        self.drivers
            .entry(k.clone())
            .or_insert_with(|| DriverLinks {
                key: Some(k.clone()),
                ..DriverLinks::default()
            })
    }

    pub fn get(&self, k: &DriverKey) -> Option<&DriverLinks> {
        self.drivers.get(k)
    }

    /// Map a service key name (`FileCrypt`) to its driver, through the links' services.
    pub fn by_service(&self, name: &str) -> Option<&DriverKey> {
        self.drivers
            .iter()
            .find(|(_, l)| {
                l.service
                    .as_ref()
                    .is_some_and(|s| s.name.eq_ignore_ascii_case(name))
            })
            .map(|(k, _)| k)
    }
}

/// A path inside the case shown relative to the case folder (`Windows/servicing/Packages/x.cat`).
fn case_relative(case: &Case, path: &std::path::Path) -> String {
    case.root
        .as_deref()
        .and_then(|r| path.strip_prefix(r).ok())
        .unwrap_or(path)
        .display()
        .to_string()
}
