//! WinDbg's culprit rules as data: which frames `!analyze` passes over (`assets/triage_followup.tsv`,
//! modelled on triage.ini) and how it spells the FAILURE_BUCKET_ID prefix of a bug check
//! (`assets/bugcheck_buckets.tsv`, each row citing a public `!analyze -v` output).

use std::sync::OnceLock;

const FOLLOWUP_TSV: &str = include_str!("../../assets/triage_followup.tsv");
const BUCKETS_TSV: &str = include_str!("../../assets/bugcheck_buckets.tsv");
const FAST_FAIL_TSV: &str = include_str!("../../assets/fast_fail_codes.tsv");

/// The FAST_FAIL_* name of a code (`CORRUPT_LIST_ENTRY` for 3).
pub fn fast_fail_name(code: u64) -> Option<&'static str> {
    static NAMES: OnceLock<Vec<(u64, &'static str)>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            rows(FAST_FAIL_TSV)
                .filter_map(|c| {
                    let v = u64::from_str_radix(c.first()?.trim_start_matches("0x"), 16).ok()?;
                    Some((v, *c.get(1)?))
                })
                .collect()
        })
        .iter()
        .find(|(v, _)| *v == code)
        .map(|(_, n)| *n)
}

/// What the followup rules say about a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Followup {
    /// Plumbing: never the culprit.
    Ignore,
    /// A Microsoft core module: the culprit only when nothing else is left.
    LastResort,
    /// Anything else: a candidate.
    Candidate,
}

struct Rule {
    module: String,
    function: String,
    action: Followup,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        rows(FOLLOWUP_TSV)
            .filter_map(|c| {
                let (m, f) = c.first()?.split_once('!')?;
                let action = match *c.get(1)? {
                    "ignore" => Followup::Ignore,
                    "last_resort" => Followup::LastResort,
                    _ => return None,
                };
                Some(Rule {
                    module: m.to_ascii_lowercase(),
                    function: f.to_ascii_lowercase(),
                    action,
                })
            })
            .collect()
    })
}

/// Data rows of a TSV asset: `#` comments and the header row skipped.
fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| l.split('\t').collect())
}

/// `*`-glob match without regard to case (`pattern` is lower case).
fn glob(pattern: &str, text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The rule for a frame in module `short` (`nt`, `amdppm`) with function `function` when named.
/// The first matching row wins; a function pattern other than `*` needs a named frame.
pub fn classify(short: &str, function: Option<&str>) -> Followup {
    let short = short.to_ascii_lowercase();
    for r in rules() {
        if !glob(&r.module, &short) {
            continue;
        }
        let hit = if r.function == "*" {
            true
        } else {
            function.is_some_and(|f| glob(&r.function, f))
        };
        if hit {
            return r.action;
        }
    }
    Followup::Candidate
}

/// How a bug check's bucket prefix is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketClass {
    Av,
    Exception,
    ExceptionAccess,
    PageFault,
    Param1,
    RaisedIrql,
    FastFail,
    DpcIsr,
    Code,
}

/// One row of `bugcheck_buckets.tsv`.
#[derive(Clone, Debug)]
pub struct BucketRule {
    pub code: u32,
    pub spelling: &'static str,
    pub class: BucketClass,
    pub source: &'static str,
}

/// Every bucket rule.
pub fn bucket_rules() -> &'static [BucketRule] {
    static RULES: OnceLock<Vec<BucketRule>> = OnceLock::new();
    RULES.get_or_init(|| {
        rows(BUCKETS_TSV)
            .filter_map(|c| {
                let code = u32::from_str_radix(c.first()?.trim_start_matches("0x"), 16).ok()?;
                let class = match *c.get(2)? {
                    "av" => BucketClass::Av,
                    "exception" => BucketClass::Exception,
                    "exception_rw" => BucketClass::ExceptionAccess,
                    "page_fault" => BucketClass::PageFault,
                    "param1" => BucketClass::Param1,
                    "raised_irql" => BucketClass::RaisedIrql,
                    "fast_fail" => BucketClass::FastFail,
                    "dpc_isr" => BucketClass::DpcIsr,
                    "code" => BucketClass::Code,
                    _ => return None,
                };
                Some(BucketRule {
                    code,
                    spelling: c.get(1)?,
                    class,
                    source: c.get(3).copied().unwrap_or(""),
                })
            })
            .collect()
    })
}

/// The rule of bug check `code`.
pub fn bucket_rule(code: u32) -> Option<&'static BucketRule> {
    bucket_rules().iter().find(|r| r.code == code)
}

/// Whether `code` is one whose culprit is the process that returned to user mode at raised IRQL.
pub fn is_raised_irql(code: u32) -> bool {
    bucket_rule(code).is_some_and(|r| r.class == BucketClass::RaisedIrql)
}

/// The FAILURE_BUCKET_ID prefix (before `_<module>!<function>`).
/// `exception_code`: the exception record's code (or P1 of the exception bug checks).
pub fn bucket_prefix(
    code: u32,
    params: [u64; 4],
    exception_code: Option<u32>,
    process: Option<&str>,
) -> String {
    let Some(rule) = bucket_rule(code) else {
        return format!("{code:#X}").replace("0X", "0x");
    };
    match rule.class {
        BucketClass::Av => "AV".to_string(),
        BucketClass::Exception => match exception_code {
            Some(0xc000_0005) => "AV".to_string(),
            // Upper-case hex, as in `0x7E_C000001D_...` and `0x3B_C0000002_nvlddmkm!...`.
            Some(e) => format!("{}_{e:08X}", rule.spelling),
            None => rule.spelling.to_string(),
        },
        // 0x1E: never `AV`; an access violation carries the access kind from P3 (the exception's
        // first parameter: 0 read, 1 write), as in `0x1E_c0000005_R_nt!CmpCreateKeyBody`.
        BucketClass::ExceptionAccess => match exception_code {
            Some(e @ 0xc000_0005) => match params[2] {
                0 => format!("{}_{e:08x}_R", rule.spelling),
                1 => format!("{}_{e:08x}_W", rule.spelling),
                _ => format!("{}_{e:08x}", rule.spelling),
            },
            Some(e) => format!("{}_{e:08X}", rule.spelling),
            None => rule.spelling.to_string(),
        },
        BucketClass::PageFault => {
            // P2 is the page-fault error code since Windows 8: bit 1 set for a write (bit 0 is
            // the not-present flag); `failure_bucket` maps the older 0/1 read/write values.
            let rw = if params[1] & 2 != 0 { "W" } else { "R" };
            // The memory-state slot is `(null)` in current WinDbg (`AV_R_(null)_win32kbase!...`,
            // `AV_W_(null)_Driver!unknown_function`); WinDbg 10.0.16299 printed `INVALID`.
            format!("AV_{rw}_(null)")
        }
        BucketClass::Param1 => format!("{}_{:x}", rule.spelling, params[0]),
        BucketClass::RaisedIrql => {
            format!("RAISED_IRQL_FAULT_{}", process.unwrap_or("unknown_process"))
        }
        BucketClass::FastFail => match fast_fail_name(params[0]) {
            Some(n) => format!("{}_{:x}_{n}", rule.spelling, params[0]),
            None => format!("{}_{:x}", rule.spelling, params[0]),
        },
        BucketClass::DpcIsr => {
            let kind = if params[0] == 0 { "DPC" } else { "ISR" };
            format!("{}_{kind}", rule.spelling)
        }
        BucketClass::Code => rule.spelling.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plumbing_and_core_modules() {
        assert_eq!(classify("nt", Some("KeBugCheckEx")), Followup::Ignore);
        assert_eq!(
            classify("nt", Some("KiSystemServiceExitPico")),
            Followup::Ignore
        );
        assert_eq!(classify("nt", Some("IopLoadDriver")), Followup::LastResort);
        assert_eq!(classify("nt", None), Followup::LastResort);
        assert_eq!(classify("Wdf01000", None), Followup::LastResort);
        assert_eq!(classify("amdppm", None), Followup::Candidate);
    }

    #[test]
    fn bucket_prefixes_follow_the_table() {
        assert!(bucket_rules().len() >= 25);
        assert!(bucket_rules().iter().all(|r| !r.source.is_empty()));
        assert_eq!(bucket_prefix(0xd1, [0; 4], None, None), "AV");
        assert_eq!(
            bucket_prefix(0x1000_007e, [0xc000_0005, 0, 0, 0], Some(0xc000_0005), None),
            "AV"
        );
        assert_eq!(
            bucket_prefix(0x7e, [0xc000_0096, 0, 0, 0], Some(0xc000_0096), None),
            "0x7E_C0000096"
        );
        assert_eq!(
            bucket_prefix(0x1a, [0x41792, 0, 0, 0], None, None),
            "0x1a_41792"
        );
        assert_eq!(bucket_prefix(0x9f, [3, 0, 0, 0], None, None), "0x9F_3");
        assert_eq!(
            bucket_prefix(0x1e, [0xc000_0005, 0, 0, 0x14], Some(0xc000_0005), None),
            "0x1E_c0000005_R"
        );
        assert_eq!(
            bucket_prefix(0x1e, [0xc000_0005, 0, 1, 0x14], Some(0xc000_0005), None),
            "0x1E_c0000005_W"
        );
        assert_eq!(
            bucket_prefix(0x1e, [0x8000_0003, 0, 0, 0], Some(0x8000_0003), None),
            "0x1E_80000003"
        );
        assert_eq!(
            bucket_prefix(0x1e, [0xc000_001d, 0, 0, 0], Some(0xc000_001d), None),
            "0x1E_C000001D"
        );
        assert_eq!(
            bucket_prefix(0x3b, [0xc000_0002, 0, 0, 0], Some(0xc000_0002), None),
            "0x3B_C0000002"
        );
        assert_eq!(bucket_prefix(0xc2, [0x99, 0, 0, 0], None, None), "0xc2_99");
        assert_eq!(
            bucket_prefix(0xc4, [0x122, 0, 0, 0], None, None),
            "0xc4_122"
        );
        assert_eq!(
            bucket_prefix(0x1a, [0x4477, 0, 0, 0], None, None),
            "0x1a_4477"
        );
        assert_eq!(bucket_prefix(0x7f, [8, 0, 0, 0], None, None), "0x7f_8");
        assert_eq!(bucket_prefix(0x19, [0x22, 0, 0, 0], None, None), "0x19_22");
        assert_eq!(
            bucket_prefix(0x13a, [0x12, 0, 0, 0], None, None),
            "0x13a_12"
        );
        assert_eq!(bucket_prefix(0xc5, [2, 0, 0, 0], None, None), "0xC5_2");
        assert_eq!(
            bucket_prefix(0x101, [0; 4], None, None),
            "CLOCK_WATCHDOG_TIMEOUT"
        );
        assert_eq!(bucket_prefix(0x13c, [0; 4], None, None), "0x13C");
        assert_eq!(bucket_prefix(0xe3, [0; 4], None, None), "0xE3");
        assert_eq!(
            bucket_prefix(0x4a, [0; 4], None, Some("notmyfault64.exe")),
            "RAISED_IRQL_FAULT_notmyfault64.exe"
        );
        assert_eq!(bucket_prefix(0x5a, [0; 4], None, None), "0x5A");
        assert_eq!(
            bucket_prefix(0x139, [3, 0, 0, 0], None, None),
            "0x139_3_CORRUPT_LIST_ENTRY"
        );
        assert_eq!(
            bucket_prefix(0x139, [0x1d, 0, 0, 0], None, None),
            "0x139_1d_INVALID_BALANCED_TREE"
        );
        assert_eq!(bucket_prefix(0x133, [0; 4], None, None), "0x133_DPC");
        assert_eq!(bucket_prefix(0x133, [1, 0, 0, 0], None, None), "0x133_ISR");
        assert_eq!(bucket_prefix(0x50, [0, 0, 0, 0], None, None), "AV_R_(null)");
        assert_eq!(bucket_prefix(0x50, [0, 2, 0, 0], None, None), "AV_W_(null)");
        assert_eq!(bucket_prefix(0x50, [0, 3, 0, 0], None, None), "AV_W_(null)");
        assert_eq!(bucket_prefix(0x1234, [0; 4], None, None), "0x1234");
    }
}
