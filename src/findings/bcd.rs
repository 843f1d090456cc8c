//! Findings from the BCD store of the case, joined to the drivers' signatures: a test-signed
//! driver the boot loader will refuse, safe mode left on, code integrity weakened, boot logging
//! on. Each gives the exact bcdedit command, for the running machine and for WinRE (with the
//! store's path, since WinRE's own BCD is another store).
//!
//! What the settings do: Microsoft, "BCDEdit /set" (testsigning, nointegritychecks,
//! loadoptions DISABLE_INTEGRITY_CHECKS, safeboot, bootlog: "%SystemRoot%\ntbtlog.txt"),
//! <https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--set>; both
//! integrity options are ignored while Secure Boot is on ("The value is protected by Secure
//! Boot policy").

use super::{Evidence, Finding, Severity};
use crate::case::{BcdArtefact, Case};
use crate::driver::DriverKey;
use crate::links::DriverIndex;
use crate::registry::bcd::{
    self, BOOTLOG, BcdObject, BcdStore, ElementValue, LOADOPTIONS, NOINTEGRITYCHECKS, SAFEBOOT,
    TESTSIGNING,
};
use crate::signing::Verdict;

/// Every BCD finding of the case.
pub(super) fn findings(case: &Case, ix: &DriverIndex, out: &mut Vec<Finding>) {
    for a in &case.bcd {
        let store = &a.store;
        let Some(loader) = store.default_loader() else {
            continue;
        };
        let ctx = Ctx { a, store, loader };
        test_signed_drivers(&ctx, case, ix, out);
        safeboot(&ctx, out);
        integrity_off(&ctx, ix, out);
        bootlog(&ctx, out);
    }
}

struct Ctx<'a> {
    a: &'a BcdArtefact,
    store: &'a BcdStore,
    loader: &'a BcdObject,
}

impl Ctx<'_> {
    /// The entry as bcdedit names it: `{default}`, or its GUID.
    fn id(&self) -> &str {
        self.store.display_id(&self.loader.id)
    }

    /// `{default} ("Windows Server")`.
    fn entry(&self) -> String {
        match self.loader.string(bcd::DESCRIPTION) {
            Some(d) => format!("{} (\"{d}\")", self.id()),
            None => self.id().to_string(),
        }
    }

    fn flag(&self, t: u32) -> Option<(bool, &str)> {
        let e = self.store.effective(self.loader, t)?;
        let on = e.element.value == ElementValue::Boolean(true);
        Some((on, self.store.display_id(&e.from.id)))
    }

    /// One evidence line for a setting: `Boot/BCD: {default} ("...") testsigning Yes (set on
    /// {globalsettings})`.
    fn setting(&self, t: u32, name: &str) -> String {
        match self.store.effective(self.loader, t) {
            Some(e) => {
                let from = if e.from.id == self.loader.id {
                    String::new()
                } else {
                    format!(" (inherited from {})", self.store.display_id(&e.from.id))
                };
                format!(
                    "{}: {} {name} {}{from}",
                    self.a.file,
                    self.entry(),
                    self.store.value_text(e.from, e.element).replace('\n', ", ")
                )
            }
            None => format!("{}: {} {name} not set", self.a.file, self.entry()),
        }
    }

    /// The fix as a command for the running machine and for WinRE, with this store's path.
    fn fix(&self, args: &str) -> String {
        let path = self.a.file.to_ascii_lowercase().replace('\\', "/");
        let winre = if path.ends_with("efi/microsoft/boot/bcd") {
            format!(
                r"from WinRE: mountvol S: /s, then bcdedit /store S:\EFI\Microsoft\Boot\BCD {args}"
            )
        } else if path.ends_with("boot/bcd") {
            format!(
                r"from WinRE: bcdedit /store X:\Boot\BCD {args} (X: the system partition's letter in WinRE; diskpart list vol shows it)"
            )
        } else {
            format!(
                "from WinRE: bcdedit /store <this store's path, {}> {args}",
                self.a.file
            )
        };
        format!("on the machine (elevated): bcdedit {args}; {winre}")
    }
}

/// Test-signed drivers (by the signature verdicts) and the loader's testsigning: off means the
/// loader refuses them (a boot- or system-start one fails the boot).
fn test_signed_drivers(ctx: &Ctx, case: &Case, ix: &DriverIndex, out: &mut Vec<Finding>) {
    if ctx.flag(TESTSIGNING).is_some_and(|(on, _)| on) {
        // With testsigning on, test-signed drivers load: the signature rule's guess that the
        // boot fails on them does not hold (the integrity finding says testsigning is on).
        out.retain(|f| {
            !(f.title.contains(" is test-signed and starts at boot")
                && f.driver.as_ref().is_some_and(|k| {
                    ix.drivers
                        .get(k)
                        .and_then(|l| l.signature.as_ref())
                        .is_some_and(|s| s.verdict == Verdict::TestSigned)
                }))
        });
        return;
    }
    for (key, links) in &ix.drivers {
        let Some(sig) = &links.signature else {
            continue;
        };
        if sig.verdict != Verdict::TestSigned {
            continue;
        }
        let start = links.service.as_ref().and_then(|s| s.start);
        let boot = matches!(start, Some(0 | 1));
        let mut evidence = vec![ctx.setting(TESTSIGNING, "testsigning")];
        if let Some(v) = case
            .signatures
            .iter()
            .find(|v| v.driver.as_ref() == Some(key))
        {
            evidence.push(format!(
                "{}: {} ({})",
                v.path.display(),
                v.verdict.as_str(),
                v.reason
            ));
        }
        if let Some(s) = &links.service {
            evidence.push(format!(
                "service {}: Start={} ({}), ErrorControl={} ({})",
                s.name,
                s.start.map_or("?".into(), |v| v.to_string()),
                s.start_name.unwrap_or("?"),
                s.error_control.map_or("?".into(), |v| v.to_string()),
                s.error_control_name.unwrap_or("?"),
            ));
        }
        let (severity, title) = if boot {
            (
                Severity::Error,
                format!(
                    "{key} is test-signed and BCD testsigning is off for {}: the loader refuses it at boot",
                    ctx.id()
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "{key} is test-signed and BCD testsigning is off for {}: it will not load",
                    ctx.id()
                ),
            )
        };
        // This finding replaces the signature rule's guess about BCD for the same driver.
        let prefix = format!("{key} is test-signed");
        out.retain(|f| {
            !(f.driver.as_ref() == Some(key)
                && f.title.starts_with(&prefix)
                && !f.title.contains("BCD testsigning"))
        });
        out.push(Finding {
            severity,
            title,
            driver: Some(key.clone()),
            evidence: evidence.into_iter().map(Evidence::from).collect(),
            remediation: Some(format!(
                "install the vendor's release-signed (WHQL or attestation) driver; on a test machine only, with Secure Boot off: {}",
                ctx.fix(&format!("/set {} testsigning on", ctx.id()))
            )),
            ..Default::default()
        });
    }
}

/// `safeboot` on the default entry: every boot starts in Safe Mode until it is removed.
fn safeboot(ctx: &Ctx, out: &mut Vec<Finding>) {
    let Some(e) = ctx.store.effective(ctx.loader, SAFEBOOT) else {
        return;
    };
    let mode = ctx.store.value_text(e.from, e.element);
    let mut evidence = vec![ctx.setting(SAFEBOOT, "safeboot")];
    if ctx.store.effective(ctx.loader, 0x2600_0081).is_some() {
        evidence.push(ctx.setting(0x2600_0081, "safebootalternateshell"));
    }
    evidence.push(
        "safe mode loads only the drivers listed under Control\\SafeBoot: a boot driver missing there fails the boot"
            .into(),
    );
    let on = if e.from.id == ctx.loader.id {
        ctx.id().to_string()
    } else {
        ctx.store.display_id(&e.from.id).to_string()
    };
    out.push(Finding {
        severity: Severity::Warning,
        title: format!(
            "BCD safeboot {mode} is left on for {}: every boot starts in Safe Mode",
            ctx.id()
        ),
        driver: None,
        evidence: evidence.into_iter().map(Evidence::from).collect(),
        remediation: Some(ctx.fix(&format!("/deletevalue {on} safeboot"))),
        ..Default::default()
    });
}

/// testsigning, nointegritychecks or loadoptions DISABLE_INTEGRITY_CHECKS on the default entry
/// (the loader looks for the option anywhere in the upper-cased string, as it does for every
/// load option):
/// a security and policy finding, with the drivers that load only because of it.
fn integrity_off(ctx: &Ctx, ix: &DriverIndex, out: &mut Vec<Finding>) {
    let mut what = Vec::new();
    let mut evidence = Vec::new();
    let mut fixes = Vec::new();
    let owner = |from: &str| -> String {
        if from == ctx.id() {
            ctx.id().to_string()
        } else {
            from.to_string()
        }
    };
    if let Some((true, from)) = ctx.flag(TESTSIGNING) {
        what.push("testsigning on");
        evidence.push(ctx.setting(TESTSIGNING, "testsigning"));
        fixes.push(ctx.fix(&format!("/deletevalue {} testsigning", owner(from))));
    }
    if let Some((true, from)) = ctx.flag(NOINTEGRITYCHECKS) {
        what.push("nointegritychecks on");
        evidence.push(ctx.setting(NOINTEGRITYCHECKS, "nointegritychecks"));
        fixes.push(ctx.fix(&format!("/deletevalue {} nointegritychecks", owner(from))));
    }
    if let Some(e) = ctx.store.effective(ctx.loader, LOADOPTIONS)
        && let ElementValue::String(s) = &e.element.value
        && s.to_ascii_uppercase().contains("DISABLE_INTEGRITY_CHECKS")
    {
        what.push("loadoptions DISABLE_INTEGRITY_CHECKS");
        evidence.push(ctx.setting(LOADOPTIONS, "loadoptions"));
        let rest: Vec<&str> = s
            .split_whitespace()
            .filter(|w| !w.to_ascii_uppercase().contains("DISABLE_INTEGRITY_CHECKS"))
            .collect();
        let from = owner(ctx.store.display_id(&e.from.id));
        fixes.push(if rest.is_empty() {
            ctx.fix(&format!("/deletevalue {from} loadoptions"))
        } else {
            ctx.fix(&format!("/set {from} loadoptions \"{}\"", rest.join(" ")))
        });
    }
    if what.is_empty() {
        return;
    }
    let relying: Vec<&DriverKey> = ix
        .drivers
        .iter()
        .filter(|(_, l)| {
            l.signature
                .as_ref()
                .is_some_and(|s| s.verdict == Verdict::TestSigned)
        })
        .map(|(k, _)| k)
        .collect();
    if !relying.is_empty() {
        evidence.push(format!(
            "test-signed drivers that load only because of it: {}",
            relying
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    evidence.push(
        "these settings take effect only with Secure Boot off; with it on, the boot manager ignores them"
            .into(),
    );
    out.push(Finding {
        severity: Severity::Warning,
        title: format!(
            "BCD weakens code integrity for {}: {} (unsigned or test-signed kernel code may load)",
            ctx.id(),
            what.join(", ")
        ),
        driver: relying.first().map(|k| (*k).clone()),
        evidence: evidence.into_iter().map(Evidence::from).collect(),
        remediation: Some(format!(
            "once the case no longer needs it (replace test-signed drivers first, or they stop loading): {}",
            fixes.join(" ; ")
        )),
        ..Default::default()
    });
}

/// `bootlog` on: Windows writes `%SystemRoot%\ntbtlog.txt` at each boot.
fn bootlog(ctx: &Ctx, out: &mut Vec<Finding>) {
    let Some((true, from)) = ctx.flag(BOOTLOG) else {
        return;
    };
    let from = from.to_string();
    out.push(Finding {
        severity: Severity::Info,
        title: format!(
            "BCD bootlog is on for {}: each boot writes %SystemRoot%\\ntbtlog.txt (the drivers loaded and not loaded)",
            ctx.id()
        ),
        driver: None,
        evidence: vec![ctx.setting(BOOTLOG, "bootlog").into()],
        remediation: Some(format!(
            "collect Windows\\ntbtlog.txt with the case; when done: {}",
            ctx.fix(&format!("/deletevalue {from} bootlog"))
        )),
        ..Default::default()
    });
}
