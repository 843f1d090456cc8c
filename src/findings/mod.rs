//! Findings: rules over a loaded case that state what went wrong, with the evidence from each
//! artefact and what to do about it. They join the clues an engineer would otherwise join by
//! hand across WinDbg, the event viewer, sigcheck and regedit.

mod bcd;
mod boot_device;
pub mod catalogue;
mod code_integrity;
mod driver_fault;
mod load_failure;
mod stop_families;

pub use catalogue::{Rule, Weight};
pub use code_integrity::{DRIVER_POLICY_ID, DRIVER_POLICY_NAME};

use crate::case::Case;
use crate::driver::DriverKey;
use crate::eventlog::SystemEvent;
use crate::history::History;
use crate::links::{DriverIndex, DriverLinks};
use crate::signing::Verdict;
use serde::Serialize;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Error,
    Warning,
    #[default]
    Info,
}

/// Where a clue comes from, typed, so a viewer can open its source row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceRef {
    /// `case.dumps[dump]`: its bug check and parameters.
    Dump { dump: usize },
    /// Frame `frame` (STACK_TEXT index) of `case.dumps[dump]`'s analysed stack.
    Frame { dump: usize, frame: usize },
    /// `case.event_logs[log].events[event]`, with the event's record ID.
    Event {
        log: usize,
        event: usize,
        record: u64,
    },
    /// A driver's signature verdict (its row of the signature table).
    Signature { driver: DriverKey },
    /// A driver's service in the SYSTEM hive.
    Service { driver: DriverKey },
    /// A row of the case's history of crashes and changes: `History::changes[change]`, else
    /// `History::crashes[crash]`, else the first row about `driver`, else the first crash. A
    /// clue that counts several of its rows points at the first.
    History {
        driver: Option<DriverKey>,
        crash: Option<usize>,
        change: Option<usize>,
    },
}

/// One clue of a finding: the sentence, naming its artefact, and where it comes from when it
/// is one row of an artefact. Serialised as the sentence alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub text: String,
    pub source: Option<SourceRef>,
}

impl Evidence {
    pub fn at(text: String, source: SourceRef) -> Evidence {
        Evidence {
            text,
            source: Some(source),
        }
    }
}

impl Evidence {
    /// A clue about event `event` of log `log`: `{label} {id} at {time}: {summary}`,
    /// pointing at the event's row.
    pub(crate) fn event(
        label: &str,
        log: usize,
        event: usize,
        e: &crate::eventlog::Event,
    ) -> Evidence {
        Evidence::at(
            format!("{label} {} at {}: {}", e.event_id, e.time, e.summary()),
            SourceRef::Event {
                log,
                event,
                record: e.record_id,
            },
        )
    }

    /// A clue pointing at a driver's row when the driver is known.
    fn maybe(
        text: String,
        driver: Option<DriverKey>,
        source: impl FnOnce(DriverKey) -> SourceRef,
    ) -> Evidence {
        Evidence {
            text,
            source: driver.map(source),
        }
    }
}

impl From<String> for Evidence {
    fn from(text: String) -> Evidence {
        Evidence { text, source: None }
    }
}

impl std::ops::Deref for Evidence {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::borrow::Borrow<str> for Evidence {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// One conclusion with its evidence.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub title: String,
    /// The driver the finding is about, when it is about one (focus it to see every clue).
    pub driver: Option<DriverKey>,
    /// One line per clue, each naming its artefact (and pointing at its row when it is one).
    pub evidence: Vec<Evidence>,
    /// What to do, when the finding implies a fix.
    pub remediation: Option<String>,
    /// The same fix from the recovery environment (WinRE), for a machine that does not boot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_winre: Option<String>,
    /// The catalogue rule (`assets/findings_rules.tsv`) behind the finding, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// Whether the evidence proves the finding or only suggests it ("may").
    pub weight: Weight,
}

impl Finding {
    /// The finding as `bsodwb analyze` prints it: `[Severity] title`, one `    - ` line per
    /// clue, `    => ` the fix.
    pub fn to_text(&self) -> String {
        let mut out = format!("[{:?}] {}\n", self.severity, self.title);
        for e in &self.evidence {
            out.push_str(&format!("    - {e}\n"));
        }
        if let Some(r) = &self.remediation {
            out.push_str(&format!("    => {r}\n"));
        }
        if let Some(r) = &self.remediation_winre {
            out.push_str(&format!("    => from WinRE: {r}\n"));
        }
        out
    }
}

/// The CatRoot database folder (sigcheck's and the seed's `{F750E6C3-...}`).
pub const CATROOT: &str = r"C:\Windows\System32\CatRoot\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}";

/// What the rules read: the case, its drivers' links, its history, and the text artefacts
/// parsed for the rules (`ntbtlog.txt`, driver INFs).
pub struct Inputs<'a> {
    pub case: &'a Case,
    pub ix: &'a DriverIndex,
    pub history: &'a History,
    pub ntbtlogs: &'a [crate::ntbtlog::Ntbtlog],
    pub packages: &'a [crate::inf::InfPackage],
    /// The first dump's bug check, explained once for every rule ([`Inputs::new`]).
    crash: Option<Crash<'a>>,
}

/// The crash the case's first dump records, explained.
pub(crate) struct Crash<'a> {
    /// Its index in `case.dumps`.
    pub index: usize,
    pub art: &'a crate::case::DumpArtefact,
    pub info: crate::bugcheck::BugcheckInfo,
}

impl Crash<'_> {
    /// `0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL`.
    pub fn label(&self) -> String {
        format!(
            "0x{:X} {}",
            self.info.code,
            self.info.name.unwrap_or("unknown bug check")
        )
    }

    /// Parameter `n` (1-based).
    pub fn param(&self, n: usize) -> Option<&crate::bugcheck::ParamInfo> {
        self.info.params.get(n.wrapping_sub(1))
    }

    /// The evidence line of parameter `n`, pointing at the dump.
    pub fn param_line(&self, n: usize) -> Option<Evidence> {
        let p = self.param(n)?;
        let mut line = format!("{}: P{n} = 0x{:x}", self.art.file, p.value);
        if let Some(m) = p.meaning {
            line.push_str(&format!(" ({m})"));
        }
        if let Some(d) = &p.decoded {
            line.push_str(&format!(": {d}"));
        }
        Some(Evidence::at(line, SourceRef::Dump { dump: self.index }))
    }

    /// A clue read from the dump: `{file}: {text}`, pointing at the dump.
    pub fn about(&self, text: impl std::fmt::Display) -> Evidence {
        Evidence::at(
            format!("{}: {text}", self.art.file),
            SourceRef::Dump { dump: self.index },
        )
    }

    /// The evidence line of the bug check itself.
    pub fn line(&self) -> Evidence {
        Evidence::at(
            format!("{}: bug check {}", self.art.file, self.label()),
            SourceRef::Dump { dump: self.index },
        )
    }
}

impl<'a> Inputs<'a> {
    /// The inputs of the rules; the crash's bug check is explained here, once.
    pub fn new(
        case: &'a Case,
        ix: &'a DriverIndex,
        history: &'a History,
        ntbtlogs: &'a [crate::ntbtlog::Ntbtlog],
        packages: &'a [crate::inf::InfPackage],
    ) -> Inputs<'a> {
        let crash = case.dump().and_then(|art| {
            Some(Crash {
                index: 0,
                art,
                info: crate::dump::report::bugcheck_info(&art.dump)?,
            })
        });
        Inputs {
            case,
            ix,
            history,
            ntbtlogs,
            packages,
            crash,
        }
    }

    pub(crate) fn crash(&self) -> Option<&Crash<'a>> {
        self.crash.as_ref()
    }

    /// The current control set's key name (`ControlSet001`), for offline `reg` commands.
    pub(crate) fn control_set(&self) -> String {
        self.case
            .hive
            .as_ref()
            .map_or("ControlSet001".to_string(), |h| h.control_set.key.clone())
    }

    /// The service key name of a driver (through the hive, else the file's stem), for `sc`
    /// and `reg` commands.
    pub(crate) fn service_name(&self, key: &DriverKey) -> String {
        self.case
            .hive
            .as_ref()
            .and_then(|h| h.service_for_driver(key))
            .map_or_else(|| key.stem().to_string(), |s| s.name.clone())
    }
}

/// Every finding of `case` (with `ix`, its drivers' links), most severe first; when the case
/// has a crash, the findings that explain its bug check come before the others.
pub fn analyze(inputs: &Inputs) -> Vec<Finding> {
    let (case, ix, history) = (inputs.case, inputs.ix, inputs.history);
    let mut out = Vec::new();
    bugcheck(case, &mut out);
    changes_before_first_crash(history, &mut out);
    refused_drivers(case, ix, &mut out);
    lost_catalogs(ix, &mut out);
    bad_signatures(case, ix, &mut out);
    boot_driver_checksums(case, ix, &mut out);
    drivers_not_loaded(case, ix, &mut out);
    bcd::findings(case, ix, &mut out);
    boot_device::findings(inputs, &mut out);
    load_failure::findings(inputs, &mut out);
    driver_fault::findings(inputs, &mut out);
    stop_families::findings(inputs, &mut out);
    code_integrity::findings(inputs, &mut out);
    let code = inputs.crash().map(|c| c.info.code);
    out.sort_by_key(|f| (!code.is_some_and(|c| f.explains(c)), f.severity));
    out
}

impl Finding {
    /// Whether the finding's rule explains bug check `code`.
    pub fn explains(&self, code: u32) -> bool {
        self.rule
            .and_then(catalogue::rule)
            .is_some_and(|r| r.explains(code))
    }
}

fn bugcheck(case: &Case, out: &mut Vec<Finding>) {
    let Some(d) = case.dump() else { return };
    let Some(info) = crate::dump::report::bugcheck_info(&d.dump) else {
        return;
    };
    let name = info.name.unwrap_or("unknown bug check");
    let di = case
        .dumps
        .iter()
        .position(|x| std::ptr::eq(x, d))
        .unwrap_or(0);
    let mut evidence = vec![Evidence::at(
        format!("{}: bug check 0x{:x} {name}", d.file, info.code),
        SourceRef::Dump { dump: di },
    )];
    for (i, p) in info.params.iter().enumerate() {
        let mut line = format!("P{} = 0x{:x}", i + 1, p.value);
        if let Some(m) = p.meaning {
            line.push_str(&format!(": {m}"));
        }
        if let Some(dec) = &p.decoded {
            line.push_str(&format!(" ({dec})"));
        }
        evidence.push(Evidence::at(line, SourceRef::Dump { dump: di }));
    }
    if let Some(sym) = &d.analysis.symbol_name {
        let text = format!("stack: faulting frame {sym}");
        evidence.push(match d.analysis.faulting_frame {
            Some(frame) => Evidence::at(text, SourceRef::Frame { dump: di, frame }),
            None => Evidence::at(text, SourceRef::Dump { dump: di }),
        });
    }
    let driver = d
        .analysis
        .parameter_driver
        .as_deref()
        .or(d.analysis.faulting_module.as_deref())
        .and_then(DriverKey::from_path)
        .filter(|k| !crate::dump::is_kernel_image(k.name()));
    if let Some(k) = &driver {
        evidence.push(Evidence::at(
            format!("the dump points at {k}"),
            SourceRef::Dump { dump: di },
        ));
    }
    out.push(Finding {
        severity: Severity::Critical,
        title: format!("Bug check 0x{:X} {name}", info.code),
        driver,
        evidence,
        remediation: info.hint.map(|h| h.text.to_string()),
        ..Default::default()
    });
}

/// How far back before the first crash a change is a suspect.
pub const CHANGE_WINDOW_HOURS: i64 = 72;

/// The first crash, what changed on the machine in the 72 hours before it, and which of the
/// changed drivers the crashes blame. An error when a crash blames a driver a change in the
/// window touched; a warning when things changed but no crash names what they touched.
fn changes_before_first_crash(h: &History, out: &mut Vec<Finding>) {
    let Some(first) = h.first_crash() else { return };
    let Some(t) = first.time else { return };
    let changes: Vec<&crate::history::Change> = h
        .changes_before(t, CHANGE_WINDOW_HOURS)
        .filter(|c| c.kind.is_on_machine())
        .collect();
    if changes.is_empty() {
        return;
    }
    let blamed: Vec<&DriverKey> = h
        .crashes
        .iter()
        .filter_map(|c| c.culprit.as_ref().map(|k| &k.driver))
        .collect();
    let mut hit: Option<(&DriverKey, usize)> = None;
    for d in &blamed {
        if changes.iter().any(|c| c.drivers.contains(d)) {
            let n = blamed.iter().filter(|x| *x == d).count();
            if hit.is_none_or(|(_, m)| n > m) {
                hit = Some((d, n));
            }
        }
    }
    let label = first
        .bugcheck_label()
        .unwrap_or_else(|| first.kind.as_str().to_string());
    let when = crate::history::iso_utc(t);
    let index_of = |c: &crate::history::Change| h.changes.iter().position(|x| std::ptr::eq(x, c));
    let first_row = SourceRef::History {
        driver: None,
        crash: h.crashes.iter().position(|c| std::ptr::eq(c, first)),
        change: None,
    };
    let mut evidence = vec![Evidence::at(
        format!(
            "first crash: {label} at {when}{} ({})",
            first
                .machine_time
                .as_deref()
                .map(|m| format!(", machine time {m}"))
                .unwrap_or_default(),
            first
                .sources
                .iter()
                .map(|s| s.describe())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        first_row,
    )];
    // The changes touching a blamed driver first, then the rest, newest first.
    let mut listed: Vec<&&crate::history::Change> = changes.iter().collect();
    listed.sort_by_key(|c| {
        (
            !c.drivers.iter().any(|d| blamed.contains(&d)),
            std::cmp::Reverse(c.time),
        )
    });
    for c in listed.iter().take(8) {
        evidence.push(Evidence::at(
            format!(
                "{} {}: {} ({}{})",
                crate::history::iso_utc(c.time),
                c.kind.as_str(),
                c.message,
                c.file,
                c.line.map(|l| format!(" line {l}")).unwrap_or_default()
            ),
            SourceRef::History {
                driver: c.drivers.first().cloned(),
                crash: None,
                change: index_of(c),
            },
        ));
    }
    if let Some(ninth) = listed.get(8) {
        evidence.push(Evidence::at(
            format!("... and {} more changes in the window", listed.len() - 8),
            SourceRef::History {
                driver: None,
                crash: None,
                change: index_of(ninth),
            },
        ));
    }
    for c in h.by_culprit.iter().take(3) {
        evidence.push(Evidence::at(
            c.sentence(),
            SourceRef::History {
                driver: DriverKey::from_path(&c.what),
                crash: None,
                change: None,
            },
        ));
    }
    // An update of the window whose catalogs CatRoot no longer has.
    for p in &h.packages {
        if !changes
            .iter()
            .any(|c| c.kb.as_deref() == Some(p.kb.as_str()))
        {
            continue;
        }
        for cat in p.missing_from_catroot().take(3) {
            evidence.push(
                format!(
                    "{}'s catalog {cat} is in servicing\\Packages but missing from CatRoot",
                    p.kb
                )
                .into(),
            );
        }
    }
    let (severity, title, driver) = match hit {
        Some((d, n)) => (
            Severity::Error,
            format!(
                "{d}, blamed by {n} of {} crashes, changed in the {CHANGE_WINDOW_HOURS} hours before the first crash",
                h.by_culprit.first().map_or(n, |c| c.of)
            ),
            Some(d.clone()),
        ),
        None => (
            Severity::Warning,
            format!(
                "{} changes in the {CHANGE_WINDOW_HOURS} hours before the first crash ({label}, {when})",
                changes.len()
            ),
            None,
        ),
    };
    out.push(Finding {
        severity,
        title,
        driver,
        evidence,
        remediation: hit.map(|(d, _)| {
            format!("roll back or repair the change that touched {d} (the update or driver install listed), then check it boots")
        }),
        ..Default::default()
    });
}

/// CodeIntegrity (or a 0x5A status) refused a driver: the chain from the event to the service.
fn refused_drivers(case: &Case, ix: &DriverIndex, out: &mut Vec<Finding>) {
    for (key, links) in &ix.drivers {
        let ci_failures: Vec<Evidence> = case
            .event_logs
            .iter()
            .enumerate()
            .flat_map(|(li, l)| {
                l.by_driver_indexed(key)
                    .into_iter()
                    .map(move |(ei, e)| (li, ei, e))
            })
            .filter(|(_, _, e)| {
                e.code_integrity().is_some()
                    && e.severity() >= 2
                    && !code_integrity::HANDLED.contains(&e.event_id)
            })
            .map(|(li, ei, e)| Evidence::event("CodeIntegrity", li, ei, e))
            .collect();
        if ci_failures.is_empty() {
            continue;
        }
        // Warnings (3001 and friends) about drivers that are not critical are summed up by the
        // catalog and signature findings; a driver gets its own finding when it could stop the boot.
        let critical = links
            .service
            .as_ref()
            .is_some_and(|s| s.is_critical_boot_driver());
        let ci_error = case
            .event_logs
            .iter()
            .flat_map(|l| l.by_driver(key))
            .any(|e| {
                e.code_integrity().is_some()
                    && e.severity() >= 3
                    && !code_integrity::HANDLED.contains(&e.event_id)
            });
        if !critical && !ci_error {
            continue;
        }
        let mut evidence = ci_failures;
        evidence.truncate(6);
        push_driver_context(case, links, &mut evidence);
        let critical = links
            .service
            .as_ref()
            .is_some_and(|s| s.is_critical_boot_driver());
        let title = if critical {
            format!(
                "{key} failed its code-integrity check and is a critical boot driver: this is what bugchecks 0x5A"
            )
        } else {
            format!("{key} failed its code-integrity check")
        };
        let remediation = match links.signature.as_ref().map(|s| s.verdict) {
            Some(Verdict::CatalogOnlyInServicing) => Some(format!(
                "restore its catalog: xcopy C:\\Windows\\servicing\\Packages\\*.cat {CATROOT}\\ then confirm with sigcheck -i"
            )),
            Some(Verdict::CatalogNotInCatroot) => Some(format!(
                "its catalog is in the case ({}) but not in the catalog database: install the driver package (pnputil /add-driver <inf> /install) or register the catalog (signtool catdb /v /u <catalog>)",
                links.signature.as_ref().and_then(|s| s.catalog.as_deref()).unwrap_or("?")
            )),
            Some(Verdict::DigestMismatch) => Some("the file changed after signing: replace it from the install media or a healthy machine of the same build".into()),
            Some(Verdict::Unsigned) => Some("no catalog in the case vouches for it: find the catalog that lists it (servicing\\Packages of a healthy machine) or replace the file".into()),
            Some(Verdict::TestSigned) => Some("it is test-signed: it loads only with BCD testsigning on; install the vendor's release-signed driver".into()),
            Some(Verdict::UntrustedSigner | Verdict::BadSignature) => Some("its signature does not hold for kernel code: replace it with the vendor's release-signed (WHQL or attestation) driver".into()),
            _ => None,
        };
        out.push(Finding {
            severity: if critical {
                Severity::Critical
            } else {
                Severity::Error
            },
            title,
            driver: Some(key.clone()),
            evidence,
            remediation,
            ..Default::default()
        });
    }
}

pub(crate) fn push_driver_context(case: &Case, links: &DriverLinks, evidence: &mut Vec<Evidence>) {
    if let Some(s) = &links.signature {
        let cat = s
            .catalog
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        evidence.push(Evidence::maybe(
            format!("signature: {}{cat}", s.verdict.as_str()),
            links.key.clone(),
            |driver| SourceRef::Signature { driver },
        ));
        for t in &s.third_party {
            evidence.push(format!("report: {t}").into());
        }
    }
    if let Some(s) = &links.service {
        let text = format!(
            "service {}: Start={} ({}), ErrorControl={} ({}), Group \"{}\"",
            s.name,
            s.start.map_or("?".into(), |v| v.to_string()),
            s.start_name.unwrap_or("?"),
            s.error_control.map_or("?".into(), |v| v.to_string()),
            s.error_control_name.unwrap_or("?"),
            s.group.as_deref().unwrap_or("")
        );
        evidence.push(Evidence::maybe(text, links.key.clone(), |driver| {
            SourceRef::Service { driver }
        }));
    }
    if let Some(d) = case.dump() {
        let what = match &links.dump {
            Some(l) if l.base.is_some() => "loaded when the machine crashed",
            Some(l) if l.named_by_parameter => "named by the bug-check parameters",
            _ => "not in the loaded-module list (it never loaded)",
        };
        // `case.dump()` is the first dump.
        evidence.push(Evidence::at(
            format!("{}: {what}", d.file),
            SourceRef::Dump { dump: 0 },
        ));
    }
    if case.boot_log.is_some() {
        let loaded = if links.boot_log_loaded {
            "loaded"
        } else {
            "no Load Image: it never loaded"
        };
        evidence.push(
            format!(
                "boot log: {} events on its image and service key; {loaded}",
                links.boot_log_events
            )
            .into(),
        );
    }
}

/// Drivers whose hash only a servicing\Packages catalog lists: CatRoot lost catalogs.
fn lost_catalogs(ix: &DriverIndex, out: &mut Vec<Finding>) {
    let lost: Vec<(&DriverKey, &DriverLinks)> = ix
        .drivers
        .iter()
        .filter(|(_, l)| {
            l.signature
                .as_ref()
                .is_some_and(|s| s.verdict == Verdict::CatalogOnlyInServicing)
        })
        .collect();
    if lost.is_empty() {
        return;
    }
    let mut catalogs: Vec<String> = lost
        .iter()
        .filter_map(|(_, l)| l.signature.as_ref()?.catalog.clone())
        .map(|c| c.rsplit(['/', '\\']).next().unwrap_or(&c).to_string())
        .collect();
    catalogs.sort();
    catalogs.dedup();
    let mut evidence: Vec<Evidence> = lost
        .iter()
        .map(|(k, l)| {
            let cat = l
                .signature
                .as_ref()
                .and_then(|s| s.catalog.as_deref())
                .unwrap_or("?");
            Evidence::at(
                format!("{k}: listed only in {cat}"),
                SourceRef::Signature {
                    driver: (*k).clone(),
                },
            )
        })
        .collect();
    evidence.insert(
        0,
        format!("catalogs missing from CatRoot: {}", catalogs.join(", ")).into(),
    );
    out.push(Finding {
        severity: Severity::Error,
        title: format!(
            "{} driver(s) are vouched for only by catalogs in servicing\\Packages: CatRoot lost them",
            lost.len()
        ),
        driver: lost.first().map(|(k, _)| (*k).clone()),
        evidence,
        remediation: Some(format!(
            "boot with driver signature enforcement disabled, then: xcopy C:\\Windows\\servicing\\Packages\\*.cat {CATROOT}\\ ; check with sigcheck -i on each driver; re-enable enforcement"
        )),
        ..Default::default()
    });
}

fn bad_signatures(case: &Case, ix: &DriverIndex, out: &mut Vec<Finding>) {
    for (key, links) in &ix.drivers {
        let Some(sig) = &links.signature else {
            continue;
        };
        let boot_or_system = links
            .service
            .as_ref()
            .is_some_and(|s| matches!(s.start, Some(0) | Some(1)));
        let (severity, what, remediation) = match sig.verdict {
            Verdict::DigestMismatch => (
                Severity::Error,
                "was changed after it was signed (digest mismatch)",
                None,
            ),
            Verdict::Unsigned
                if file_verdict(case, key).is_some_and(|v| !v.listed_by_name.is_empty()) =>
            {
                (
                    Severity::Warning,
                    "is not the file its catalog lists: a catalog of the case names it under another hash (replaced or patched), so it is unsigned",
                    Some(
                        "replace it with the version its catalog lists (from the vendor's package or a healthy machine of the same build)",
                    ),
                )
            }
            Verdict::Unsigned => (
                Severity::Warning,
                "is unsigned and in no catalog of the case",
                None,
            ),
            Verdict::NotAPeImage => (
                Severity::Warning,
                "is not a PE image: the loader refuses it (STATUS_INVALID_IMAGE_FORMAT)",
                Some("replace it from the vendor's package or a healthy machine"),
            ),
            Verdict::CatalogNotInCatroot => (
                if boot_or_system {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                "is listed only by a catalog Code Integrity does not consult at boot (not in CatRoot): it loads as unsigned",
                Some(
                    "install its driver package (pnputil /add-driver <inf> /install) or register the catalog in the catalog database (signtool catdb /v /u <catalog>)",
                ),
            ),
            // No BCD reader yet: the finding says what the driver needs, not what BCD holds.
            Verdict::TestSigned if boot_or_system => (
                Severity::Error,
                "is test-signed and starts at boot: it loads only with testsigning on, so with testsigning off the boot fails on it",
                Some(
                    "check BCD (bcdedit /enum {current}: testsigning); install the vendor's release-signed driver",
                ),
            ),
            Verdict::TestSigned => (
                Severity::Warning,
                "is test-signed: it loads only with testsigning on",
                Some("install the vendor's release-signed driver"),
            ),
            Verdict::UntrustedSigner => (
                Severity::Error,
                "is signed, but not through a root Windows trusts for kernel code",
                Some("replace it with the vendor's release-signed (WHQL or attestation) driver"),
            ),
            Verdict::BadSignature => (
                Severity::Error,
                "carries a signature that does not verify",
                Some("replace it from the vendor's package or a healthy machine"),
            ),
            _ => continue,
        };
        // Drivers with CodeIntegrity errors already have their finding.
        if links.events.code_integrity > 0 && links.events.worst_severity >= 3 {
            continue;
        }
        let mut evidence: Vec<Evidence> = Vec::new();
        if let Some(v) = file_verdict(case, key) {
            evidence.push(format!("why: {}", v.reason).into());
            evidence.push(format!("Windows: {}", v.verdict.windows()).into());
        }
        push_driver_context(case, links, &mut evidence);
        out.push(Finding {
            severity,
            title: format!("{key} {what}"),
            driver: Some(key.clone()),
            evidence,
            remediation: remediation.map(str::to_string),
            ..Default::default()
        });
    }
}

/// The signature verdict of a driver's file (the first one of that name).
fn file_verdict<'c>(case: &'c Case, key: &DriverKey) -> Option<&'c crate::signing::FileVerdict> {
    case.signatures
        .iter()
        .find(|v| v.driver.as_ref() == Some(key))
}

/// Boot-start drivers whose PE CheckSum does not match the file: the loader verifies the
/// checksum of every driver (PE format, "CheckSum: … checked for validation at load time: all
/// drivers, any DLL loaded at boot time, and any DLL that is loaded into a critical Windows
/// process", <https://learn.microsoft.com/en-us/windows/win32/debug/pe-format#optional-header-windows-specific-fields-image-only>).
fn boot_driver_checksums(case: &Case, ix: &DriverIndex, out: &mut Vec<Finding>) {
    for (key, links) in &ix.drivers {
        let boot = links.service.as_ref().is_some_and(|s| s.start == Some(0));
        if !boot {
            continue;
        }
        let Some(v) = file_verdict(case, key) else {
            continue;
        };
        let Some(c) = v.checksum.as_ref().filter(|c| c.mismatch()) else {
            continue;
        };
        let mut evidence: Vec<Evidence> = vec![
            format!(
                "{}: CheckSum {:#010x} in the header, {:#010x} computed from the file",
                v.path.display(),
                c.header,
                c.computed
            )
            .into(),
        ];
        push_driver_context(case, links, &mut evidence);
        out.push(Finding {
            severity: Severity::Error,
            title: format!(
                "{key} is a boot driver whose PE checksum does not match: the loader refuses it"
            ),
            driver: Some(key.clone()),
            evidence,
            remediation: Some(
                "the file was altered or damaged: replace it from the install media or a healthy machine"
                    .into(),
            ),
            ..Default::default()
        });
    }
}

/// System 7026, once for the whole case: which boot/system-start drivers did not load, when.
fn drivers_not_loaded(case: &Case, ix: &DriverIndex, out: &mut Vec<Finding>) {
    let mut names: Vec<String> = Vec::new();
    let mut evidence = Vec::new();
    for (li, log) in case.event_logs.iter().enumerate() {
        for (ei, e) in log.events.iter().enumerate() {
            let Some(SystemEvent::BootDriversNotLoaded { drivers }) = e.system() else {
                continue;
            };
            evidence.push(Evidence::at(
                format!("System 7026 at {}: {}", e.time, drivers.join(", ")),
                SourceRef::Event {
                    log: li,
                    event: ei,
                    record: e.record_id,
                },
            ));
            for d in drivers {
                if !names.iter().any(|n| n.eq_ignore_ascii_case(d)) {
                    names.push(d.clone());
                }
            }
        }
    }
    if names.is_empty() {
        return;
    }
    evidence.sort_by(|a, b| a.text.cmp(&b.text));
    evidence.dedup_by(|a, b| a.text == b.text);
    let driver = names.iter().find_map(|d| ix.by_service(d).cloned());
    out.push(Finding {
        severity: Severity::Warning,
        title: format!(
            "boot- or system-start drivers did not load: {}",
            names.join(", ")
        ),
        driver,
        evidence,
        remediation: None,
        ..Default::default()
    });
}

/// A service as an evidence line: `SYSTEM ControlSet001\Services\X: Start=0 (boot),
/// ErrorControl=3 (critical), Group "...", ImagePath ..., DependOnService ...`.
pub(crate) fn service_line(
    case: &Case,
    hive: &crate::registry::SystemHive,
    s: &crate::registry::Service,
) -> Evidence {
    let mut text = format!(
        "{} {}\\Services\\{}: Start={} ({}), ErrorControl={} ({}), Group \"{}\", ImagePath {}",
        hive_path(case, hive),
        hive.control_set.key,
        s.name,
        s.start.map_or("?".into(), |v| v.0.to_string()),
        s.start.and_then(|v| v.name()).unwrap_or("?"),
        s.error_control.map_or("?".into(), |v| v.0.to_string()),
        s.error_control.and_then(|v| v.name()).unwrap_or("?"),
        s.group.as_deref().unwrap_or(""),
        s.image_path.as_deref().unwrap_or("(default)")
    );
    if !s.depend_on_service.is_empty() {
        text.push_str(&format!(
            ", DependOnService {}",
            s.depend_on_service.join(", ")
        ));
    }
    if !s.depend_on_group.is_empty() {
        text.push_str(&format!(", DependOnGroup {}", s.depend_on_group.join(", ")));
    }
    Evidence::maybe(text, s.driver.clone(), |driver| SourceRef::Service {
        driver,
    })
}

/// The hive's path as the case names it (relative to the case folder).
pub(crate) fn hive_path(case: &Case, hive: &crate::registry::SystemHive) -> String {
    let p = hive.path.display().to_string();
    case.inventory
        .as_ref()
        .map_or(p.clone(), |inv| inv.shorten(&p))
}

/// The `ntbtlog.txt` lines about `image` (a file name): whether the last boot of each log
/// loaded it, and where that boot stopped.
pub(crate) fn ntbtlog_lines(
    logs: &[crate::ntbtlog::Ntbtlog],
    image: Option<&str>,
) -> Vec<Evidence> {
    let mut out = Vec::new();
    for log in logs {
        let Some(boot) = log.last_boot() else {
            continue;
        };
        let when = boot
            .when
            .as_deref()
            .map(|w| format!(" (boot of {w})"))
            .unwrap_or_default();
        if let Some(image) = image {
            if let Some(line) = log.not_loaded_in_last_boot(image) {
                out.push(format!("{}{when}: Did not load driver {line}", log.file).into());
            } else if boot.loaded.iter().any(|p| {
                p.rsplit('\\')
                    .next()
                    .is_some_and(|n| n.eq_ignore_ascii_case(image))
            }) {
                out.push(format!("{}{when}: loaded {image}", log.file).into());
            }
        }
        if let Some((loaded, last)) = &boot.last {
            out.push(
                format!(
                    "{}{when}: the boot's last line, of {} driver lines, is \"{} {last}\"",
                    log.file,
                    boot.loaded.len() + boot.not_loaded.len(),
                    if *loaded {
                        "Loaded driver"
                    } else {
                        "Did not load driver"
                    },
                )
                .into(),
            );
        }
    }
    out
}

/// The last `n` events of the boot log, oldest first, as evidence lines: where the boot stopped.
pub(crate) fn boot_log_tail(case: &Case, n: usize) -> Vec<Evidence> {
    let Some(log) = &case.boot_log else {
        return Vec::new();
    };
    let file = case.boot_log_path.as_deref().unwrap_or("Bootlog.pml");
    let len = log.len();
    (len.saturating_sub(n)..len)
        .filter_map(|i| log.event(i).ok())
        .map(|e| {
            let result = procmon_pml::names::result_name(e.result)
                .map_or_else(|| format!("0x{:08X}", e.result), str::to_string);
            format!(
                "{file}: event {} of {len} (one of the last): {} {} -> {result}",
                e.number + 1,
                e.operation_name,
                e.path
            )
            .into()
        })
        .collect()
}

/// A case path as Windows spells it on the machine (`Windows/System32/x` ->
/// `C:\Windows\System32\x`), when the path runs through a `Windows` folder.
pub(crate) fn machine_path(case_path: &str) -> Option<String> {
    let p = case_path.replace(['/', '!'], "\\");
    let lower = p.to_ascii_lowercase();
    let at = if lower.starts_with("windows\\") {
        0
    } else {
        lower.find("\\windows\\")? + 1
    };
    Some(format!("C:\\{}", &p[at..]))
}
