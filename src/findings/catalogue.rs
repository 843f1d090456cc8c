//! The rule catalogue: what each rule concludes, how sure it is, its fixes (on a running machine
//! and from WinRE) and the documentation it rests on, kept as data in
//! `assets/findings_rules.tsv`. The code of each rule gathers the evidence and fills the
//! templates; [`Rule::finding`] builds the finding.

use super::{Evidence, Finding, Severity};
use crate::driver::DriverKey;
use serde::Serialize;
use std::sync::OnceLock;

/// How far a rule's evidence goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weight {
    /// The evidence establishes the fault.
    #[default]
    Proves,
    /// The evidence is consistent with the fault; the title says "may".
    Suggests,
}

/// One row of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: &'static str,
    /// `boot-device`, `load-failure`, `driver-fault`, `stop-code`, `code-integrity`.
    pub family: &'static str,
    /// The bug checks the rule explains, e.g. `0x7B`.
    pub bugchecks: Vec<u32>,
    pub weight: Weight,
    /// The most a finding of the rule is (a rule may report less when its evidence is weaker).
    pub severity: Severity,
    pub title: &'static str,
    /// The fix on a machine that still boots.
    pub fix: &'static str,
    /// The fix from the recovery environment (WinRE), for a machine that does not boot.
    pub winre: &'static str,
    /// Microsoft's page the rule rests on.
    pub source: &'static str,
}

const TSV: &str = include_str!("../../assets/findings_rules.tsv");

/// Parse the catalogue's text (comments `#`, tab-separated columns).
pub fn parse(text: &'static str) -> Result<Vec<Rule>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |what: String| format!("assets/findings_rules.tsv line {}: {what}", n + 1);
        let cols: Vec<&'static str> = line.split('\t').collect();
        let [
            id,
            family,
            bugchecks,
            weight,
            severity,
            title,
            fix,
            winre,
            source,
        ] = cols[..]
        else {
            return Err(at(format!("{} columns, 9 expected", cols.len())));
        };
        let bugchecks = if bugchecks == "-" {
            Vec::new()
        } else {
            bugchecks
                .split(',')
                .map(|b| {
                    u32::from_str_radix(b.trim().trim_start_matches("0x"), 16)
                        .map_err(|e| at(format!("bug check {b:?}: {e}")))
                })
                .collect::<Result<Vec<u32>, String>>()?
        };
        let weight = match weight {
            "proves" => Weight::Proves,
            "suggests" => Weight::Suggests,
            w => return Err(at(format!("weight {w:?}"))),
        };
        let severity = match severity {
            "critical" => Severity::Critical,
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "info" => Severity::Info,
            s => return Err(at(format!("severity {s:?}"))),
        };
        if weight == Weight::Suggests && severity < Severity::Warning {
            return Err(at("a rule that only suggests is at most a warning".into()));
        }
        if weight == Weight::Suggests && !title.contains("may") {
            return Err(at("a rule that only suggests says \"may\"".into()));
        }
        if !source.starts_with("https://learn.microsoft.com/") {
            return Err(at(format!(
                "source {source:?} is not a Microsoft Learn page"
            )));
        }
        out.push(Rule {
            id,
            family,
            bugchecks,
            weight,
            severity,
            title,
            fix,
            winre,
            source,
        });
    }
    Ok(out)
}

/// Every rule of the shipped catalogue.
pub fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        // The catalogue ships inside the binary and a unit test parses it: this cannot fail in
        // a built program.
        parse(TSV).unwrap_or_default()
    })
}

/// The rule `id` of the shipped catalogue (every id the code uses is checked by a test).
pub fn rule(id: &str) -> Option<&'static Rule> {
    rules().iter().find(|r| r.id == id)
}

/// `template` with each `{name}` replaced by its value; unknown placeholders stay as written
/// (`{default}` in a bcdedit command is bcdedit's own).
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

impl Rule {
    /// Whether the rule explains bug check `code`.
    pub fn explains(&self, code: u32) -> bool {
        self.bugchecks.contains(&code)
    }

    /// The finding of this rule: the templates filled with `vars`, at the rule's severity.
    pub fn finding(
        &'static self,
        vars: &[(&str, &str)],
        driver: Option<DriverKey>,
        evidence: Vec<Evidence>,
    ) -> Finding {
        Finding {
            severity: self.severity,
            title: fill(self.title, vars),
            driver,
            evidence,
            remediation: Some(fill(self.fix, vars)),
            remediation_winre: Some(fill(self.winre, vars)),
            rule: Some(self.id),
            weight: self.weight,
        }
    }
}

/// The finding of rule `id` (see [`Rule::finding`]); `None` only if the id is not in the
/// catalogue, which a unit test rules out for every id the rules use.
pub fn finding(
    id: &str,
    vars: &[(&str, &str)],
    driver: Option<DriverKey>,
    evidence: Vec<Evidence>,
) -> Option<Finding> {
    rule(id).map(|r| r.finding(vars, driver, evidence))
}

/// Every rule id the rule modules use (checked against the catalogue by a test).
pub const USED: &[&str] = &[
    "boot-filter-missing",
    "boot-filter-disabled",
    "boot-storage-disabled",
    "boot-storage-missing",
    "critical-load-failed",
    "process1-init-failed",
    "scm-chain-driver",
    "scm-chain-service",
    "driver-fault",
    "driver-fault-unverified",
    "power-irp-blocked",
    "dpc-watchdog-single",
    "dpc-watchdog-cumulative",
    "whea-hardware",
    "critical-process-died",
    "verifier-caught",
    "verifier-on",
    "ci-signing-level",
    "ci-driver-blocklist",
    "ci-policy-block",
    "ci-revoked",
    "ci-hvci",
    "ci-whql",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_parses_and_suggesting_rules_stay_below_proving_ones() {
        let rules = parse(TSV).expect("assets/findings_rules.tsv");
        for r in &rules {
            assert!(!r.winre.is_empty(), "{}: no WinRE fix", r.id);
            assert!(!r.fix.is_empty(), "{}: no fix", r.id);
            if r.weight == Weight::Suggests {
                assert!(r.severity >= Severity::Warning, "{}", r.id);
            }
        }
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), rules.len(), "rule ids are unique");
        for id in USED {
            assert!(rule(id).is_some(), "{id} is used but not in the catalogue");
        }
        for r in &rules {
            assert!(
                USED.contains(&r.id),
                "{} is in the catalogue but no rule uses it",
                r.id
            );
        }
    }

    #[test]
    fn bad_rows_are_refused() {
        let src = "https://learn.microsoft.com/x";
        let row = |w: &str, s: &str, t: &str| -> String {
            format!("a\tf\t0x7B\t{w}\t{s}\t{t}\tr\tw\t{src}")
        };
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        assert!(parse(leak(row("suggests", "critical", "x may"))).is_err());
        assert!(parse(leak(row("suggests", "warning", "no hedge"))).is_err());
        assert!(parse(leak(row("proves", "error", "t"))).is_ok());
        assert!(parse("a\tf\t0x7B\tproves").is_err());
        assert!(parse("a\tf\tzz\tproves\terror\tt\tr\tw\thttps://learn.microsoft.com/").is_err());
        assert!(parse("a\tf\t-\tproves\terror\tt\tr\tw\thttps://example.com/").is_err());
    }

    #[test]
    fn fill_replaces_known_placeholders() {
        assert_eq!(fill("{a} and {b}", &[("a", "1")]), "1 and {b}");
    }
}
