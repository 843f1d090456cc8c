//! `CaseAnalysis`: what the workbench concludes from a loaded [`Case`], apart from the artefacts.
//!
//! A [`Case`] holds the artefacts as read; this module joins them once, after loading, into
//! the answers every consumer asks for: each event's drivers (service names resolved through
//! the hive, CodeIntegrity 3089 records attributed through their ActivityID), every reference to
//! each driver ([`DriverIndex`]), what each driver's row in the Drivers pane shows
//! ([`DriverFacts`]), the driver packages the INFs describe, and the findings. The panes and the
//! CLI read these; none recomputes them.

use crate::case::{Case, Inventory, Kind};
use crate::driver::DriverKey;
use crate::dump::analysis::Analysis as DumpAnalysis;
use crate::dump::lmvm::VersionFacts;
use crate::dump::{CrashDump, Module};
use crate::findings::Finding;
use crate::history::{History, TimelineRow};
use crate::inf::{self, InfPackage, LinkedFile, MAX_INF_BYTES};
use crate::links::DriverIndex;
use std::collections::BTreeMap;

/// What other artefacts of the case say about a driver, shown beside its service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverFacts {
    /// The signature verdict (`signed-catalog`, `catalog-only-in-servicing`, ...).
    pub verdict: Option<String>,
    /// Whether the crash dump's module list has the driver loaded (`None`: no dump).
    pub loaded_in_dump: Option<bool>,
}

/// Everything joined across a case's artefacts, built once by [`CaseAnalysis::build`].
#[derive(Clone, Debug, Default)]
pub struct CaseAnalysis {
    /// The drivers each event concerns, `event_drivers[log][event]` in the order of
    /// `case.event_logs[log].events[event]`: the drivers it names, the drivers of the service
    /// keys it names (7000, 7023, 7040...), and for a CodeIntegrity 3089 (which names no file)
    /// the drivers of the records sharing its ActivityID.
    pub event_drivers: Vec<Vec<Vec<DriverKey>>>,
    /// The drivers a catalog event concerns through their catalog, `[log][event]` as above:
    /// a CodeIntegrity event that names a catalog (3010 could not load it, 3011...) concerns
    /// every driver whose signature rests on, or is listed by, a catalog of that file name
    /// (wherever the case holds it: CatRoot lost it, servicing\Packages still has it).
    pub catalog_event_drivers: Vec<Vec<Vec<DriverKey>>>,
    /// Every reference to each driver across the artefacts.
    pub links: DriverIndex,
    /// Per driver: its signature verdict and whether the dump has it loaded.
    pub driver_facts: BTreeMap<DriverKey, DriverFacts>,
    /// Every driver INF of the case with the catalog and driver files it names, found in the case.
    pub driver_packages: Vec<InfPackage>,
    /// Every crash and every change of the case.
    pub history: History,
    /// The history's crashes, boot marks and changes interleaved, oldest first (the History
    /// pane and `bsodwb timeline`).
    pub timeline: Vec<TimelineRow>,
    /// What the rules conclude, most severe first.
    pub findings: Vec<Finding>,
}

impl CaseAnalysis {
    /// Join every artefact of `case`, then run the rules.
    pub fn build(case: &Case) -> CaseAnalysis {
        let event_drivers = event_drivers(case);
        let catalog_event_drivers = catalog_event_drivers(case);
        let links = DriverIndex::build(case, &event_drivers);
        let driver_facts = driver_facts(case, &links);
        let driver_packages = case
            .inventory
            .as_ref()
            .map(driver_packages)
            .unwrap_or_default();
        let history = History::build(case);
        let ntbtlogs = ntbtlogs(case);
        let findings = crate::findings::analyze(&crate::findings::Inputs::new(
            case,
            &links,
            &history,
            &ntbtlogs,
            &driver_packages,
        ));
        CaseAnalysis {
            timeline: history.timeline(),
            history,
            event_drivers,
            catalog_event_drivers,
            links,
            driver_facts,
            driver_packages,
            findings,
        }
    }

    /// The drivers of event `event` of log `log` (see [`CaseAnalysis::event_drivers`]).
    pub fn drivers_of_event(&self, log: usize, event: usize) -> &[DriverKey] {
        self.event_drivers
            .get(log)
            .and_then(|l| l.get(event))
            .map_or(&[], Vec::as_slice)
    }

    /// The drivers event `event` of log `log` concerns through the catalog it names.
    pub fn catalog_drivers_of_event(&self, log: usize, event: usize) -> &[DriverKey] {
        self.catalog_event_drivers
            .get(log)
            .and_then(|l| l.get(event))
            .map_or(&[], Vec::as_slice)
    }

    /// The driver of a service key name (`FileCrypt`), through the hive's services.
    pub fn driver_of_service(&self, name: &str) -> Option<&DriverKey> {
        self.links.by_service(name)
    }
}

/// Each event's drivers: named, by service, and 3089 by ActivityID.
fn event_drivers(case: &Case) -> Vec<Vec<Vec<DriverKey>>> {
    let hive = case.hive.as_ref();
    let mut out: Vec<Vec<Vec<DriverKey>>> = case
        .event_logs
        .iter()
        .map(|log| {
            log.events
                .iter()
                .map(|e| {
                    let mut drivers = e.drivers.clone();
                    for s in &e.services {
                        if let Some(d) = hive
                            .and_then(|h| h.service(s))
                            .and_then(|svc| svc.driver.clone())
                            .filter(|d| !drivers.contains(d))
                        {
                            drivers.push(d);
                        }
                    }
                    drivers
                })
                .collect()
        })
        .collect();
    // A 3089 names no file: it belongs to the driver of the record with its ActivityID.
    let mut by_activity: BTreeMap<String, Vec<DriverKey>> = BTreeMap::new();
    for (li, log) in case.event_logs.iter().enumerate() {
        for (ei, e) in log.events.iter().enumerate() {
            let drivers = &out[li][ei];
            if let (Some(act), Some(ci)) = (&e.activity_id, e.code_integrity())
                && ci.id != 3089
                && !drivers.is_empty()
            {
                by_activity
                    .entry(act.to_ascii_lowercase())
                    .or_default()
                    .extend(drivers.iter().cloned());
            }
        }
    }
    for (li, log) in case.event_logs.iter().enumerate() {
        for (ei, e) in log.events.iter().enumerate() {
            if let (Some(act), Some(ci)) = (&e.activity_id, e.code_integrity())
                && ci.id == 3089
                && out[li][ei].is_empty()
                && let Some(d) = by_activity.get(&act.to_ascii_lowercase())
            {
                let mut d = d.clone();
                d.dedup();
                out[li][ei] = d;
            }
        }
    }
    out
}

/// Each catalog event's drivers: those whose verdict names a catalog of the same file name (the
/// one that vouches, any that lists the file, or one that lists it under another hash).
fn catalog_event_drivers(case: &Case) -> Vec<Vec<Vec<DriverKey>>> {
    let mut by_catalog: BTreeMap<String, Vec<DriverKey>> = BTreeMap::new();
    for v in &case.signatures {
        let Some(d) = &v.driver else { continue };
        for c in v.catalog.iter().chain(&v.catalogs).chain(&v.listed_by_name) {
            if let Some(name) = c.path.file_name() {
                let list = by_catalog
                    .entry(name.to_string_lossy().to_ascii_lowercase())
                    .or_default();
                if !list.contains(d) {
                    list.push(d.clone());
                }
            }
        }
    }
    case.event_logs
        .iter()
        .map(|log| {
            log.events
                .iter()
                .map(|e| {
                    e.code_integrity()
                        .and_then(|ci| ci.catalog.as_deref())
                        .map(|c| base_name(c).to_ascii_lowercase())
                        .and_then(|name| by_catalog.get(&name).cloned())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

/// What the Dump pane's module list shows beside a module, joined across the case: its link
/// date, version resource (from a case file of the same build, else the dump's memory), the
/// frames it has on the stack, and whether it is Microsoft's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleFacts {
    /// The link date (`2024-04-18`), or `repro hash` for a reproducible build, whose time
    /// stamp is a hash of the build (WinDbg says so too).
    pub date: String,
    pub version: Option<VersionFacts>,
    /// Frames of the analysed stack inside the module (BlueScreenView marks such modules).
    pub frames: usize,
    /// `Some(false)`: not Microsoft's (by its CompanyName, or by the chain that vouches for its
    /// file); `None`: nothing in the case tells.
    pub microsoft: Option<bool>,
}

/// A dump module's version resource: a file of the case for the same driver and the same
/// build (its link time stamp equals the module's), else FileVersion from the dump's memory.
pub fn module_version(case: &Case, dump: &CrashDump, m: &Module) -> Option<VersionFacts> {
    version_with(case, m, || crate::dump::lmvm::version_in_dump(dump, m))
}

/// [`module_version`] with the dump's FileVersion given lazily (read only without a case file).
fn version_with(
    case: &Case,
    m: &Module,
    in_dump: impl FnOnce() -> Option<String>,
) -> Option<VersionFacts> {
    let file = m.key().and_then(|k| {
        crate::signing::for_driver(&case.signatures, &k)
            .into_iter()
            .find(|v| v.image.as_ref().is_some_and(|i| i.timestamp == m.timestamp))
    });
    if let Some(v) = file
        && let Some(img) = &v.image
    {
        let path = v.path.display().to_string();
        return Some(VersionFacts {
            file_version: img.file_version.clone(),
            product_version: None,
            company: img.company.clone(),
            product: img.product.clone(),
            description: img.description.clone(),
            original_filename: img.original_filename.clone(),
            source: case
                .inventory
                .as_ref()
                .map_or(path.clone(), |inv| inv.shorten(&path)),
        });
    }
    in_dump().map(|fv| VersionFacts {
        file_version: Some(fv),
        source: "the dump's memory (VS_FIXEDFILEINFO)".to_string(),
        ..VersionFacts::default()
    })
}

/// [`ModuleFacts`] of every module of `dump`, in its module order.
pub fn module_facts(case: &Case, dump: &CrashDump, an: &DumpAnalysis) -> Vec<ModuleFacts> {
    let crash = dump
        .system_time
        .map(|t| crate::filetime::FileTime(t).unix_seconds());
    dump.modules
        .iter()
        .map(|m| {
            // One read of the image's headers in the dump: its FileVersion and whether its
            // time stamp is a build hash.
            let (dump_version, repro) = crate::dump::lmvm::image_in_dump(dump, m);
            let version = version_with(case, m, || dump_version);
            // The vendor: the CompanyName of this build, else of any file of the driver in
            // the case (vendors do not change between builds), else the name of the signer
            // that vouches for its file.
            let files = m
                .key()
                .map(|k| crate::signing::for_driver(&case.signatures, &k))
                .unwrap_or_default();
            let company = version
                .as_ref()
                .and_then(|v| v.company.clone())
                .or_else(|| {
                    files
                        .iter()
                        .find_map(|v| v.image.as_ref().and_then(|i| i.company.clone()))
                });
            let signer = files.first().and_then(|v| {
                v.catalog
                    .as_ref()
                    .and_then(|c| c.signer.clone())
                    .or_else(|| v.embedded.signer.clone())
            });
            let microsoft = company
                .or(signer)
                .map(|c| c.to_ascii_lowercase().contains("microsoft"));
            ModuleFacts {
                // A time stamp after the crash is no link time either: a build hash.
                date: if repro == Some(true) {
                    "repro hash".to_string()
                } else if crash.is_some_and(|c| i64::from(m.timestamp) > c) {
                    "hash?".to_string()
                } else {
                    crate::dump::lmvm::link_day(m.timestamp)
                },
                frames: crate::dump::lmvm::frames_in(an, m),
                microsoft,
                version,
            }
        })
        .collect()
}

/// Each driver's signature verdict and whether the dump's module list has it loaded.
fn driver_facts(case: &Case, links: &DriverIndex) -> BTreeMap<DriverKey, DriverFacts> {
    let mut facts = BTreeMap::new();
    let has_dump = case.dump().is_some();
    for (key, l) in &links.drivers {
        let loaded = l
            .dump
            .as_ref()
            .is_some_and(|d| d.base.is_some() && !d.unloaded);
        facts.insert(
            key.clone(),
            DriverFacts {
                verdict: l.signature.as_ref().map(|s| s.verdict.as_str().to_string()),
                loaded_in_dump: has_dump.then_some(loaded),
            },
        );
    }
    if has_dump && let Some(hive) = &case.hive {
        // Drivers the dump never mentions were not loaded when it was taken.
        for key in hive.drivers().filter_map(|s| s.driver.clone()) {
            facts.entry(key).or_insert(DriverFacts {
                verdict: None,
                loaded_in_dump: Some(false),
            });
        }
    }
    facts
}

/// Every `ntbtlog.txt` of the case, parsed (files that cannot be read are skipped: the
/// inventory names them).
pub fn ntbtlogs(case: &Case) -> Vec<crate::ntbtlog::Ntbtlog> {
    let Some(inv) = &case.inventory else {
        return Vec::new();
    };
    inv.of_kind(Kind::Ntbtlog)
        .filter_map(|f| {
            let local = f.local.as_ref()?;
            let bytes = crate::input::read_bounded(local, crate::ntbtlog::MAX_BYTES).ok()?;
            Some(crate::ntbtlog::parse(
                &f.path,
                &crate::text::decode_text(&bytes),
            ))
        })
        .collect()
}

/// Every INF of the inventory, parsed, with its catalog and drivers found in the case (same
/// folder first, then anywhere). INFs whose bytes cannot be read are skipped (the inventory
/// already names them).
pub fn driver_packages(inv: &Inventory) -> Vec<InfPackage> {
    let mut out = Vec::new();
    for f in inv.of_kind(Kind::Inf) {
        let Some(local) = &f.local else { continue };
        let Ok(bytes) = crate::input::read_bounded(local, MAX_INF_BYTES as u64) else {
            continue;
        };
        let inf = inf::parse(&bytes);
        let dir = parent(&f.path);
        let find = |name: &str, kind: Kind| -> Option<String> {
            let mut hits: Vec<&str> = inv
                .of_kind(kind)
                .filter(|c| base_name(&c.path).eq_ignore_ascii_case(name))
                .map(|c| c.path.as_str())
                .collect();
            hits.sort_by_key(|p| (parent(p) != dir, p.len()));
            hits.first().map(|s| s.to_string())
        };
        let catalogs = inf
            .catalog_files
            .iter()
            .map(|c| LinkedFile {
                name: c.clone(),
                in_case: find(c, Kind::Catalog),
            })
            .collect();
        let drivers = inf
            .driver_files()
            .iter()
            .map(|d| LinkedFile {
                name: d.clone(),
                in_case: find(d, Kind::PeImage),
            })
            .collect();
        out.push(InfPackage {
            path: f.path.clone(),
            inf,
            catalogs,
            drivers,
        });
    }
    out
}

fn base_name(p: &str) -> &str {
    p.rsplit(['/', '\\', '!']).next().unwrap_or(p)
}

fn parent(p: &str) -> &str {
    match p.rfind(['/', '\\', '!']) {
        Some(i) => &p[..i],
        None => "",
    }
}
