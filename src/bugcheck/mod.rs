//! Bug-check knowledge: names of every code, what P1..P4 mean for the common and boot-related
//! ones, how to decode each parameter, and where to look next.
//!
//! The knowledge is data in `assets/` (embedded at build time):
//! * `bugcheck_codes.tsv`: every documented code with its name (assets/bugcheck_codes.tsv;
//!   sources in docs/formats/crash-dump.md §4);
//! * `bugcheck_params.tsv`: per code and parameter, a decoding kind and a meaning in our own words,
//!   with rows that apply only when another parameter has a given value (`P1=0x3`);
//! * `bugcheck_values.tsv`: labels for enumerated parameters (trap numbers, access kinds...);
//! * `bugcheck_hints.tsv`: where to look next (which pane), per code and parameter value;
//! * `bugcheck_summaries.tsv`: one line on what happened, per code;
//! * `ntstatus_codes.tsv`: NTSTATUS names, for [`ntstatus::name`].
//!
//! Decoding that needs the dump (module+offset of an address, a UNICODE_STRING in memory, a driver
//! object's name) goes through a [`ParamResolver`] that the caller supplies.

use serde::{Serialize, Serializer};
use std::collections::HashMap;
use std::sync::OnceLock;

const CODES_TSV: &str = include_str!("../../assets/bugcheck_codes.tsv");
const PARAMS_TSV: &str = include_str!("../../assets/bugcheck_params.tsv");
const VALUES_TSV: &str = include_str!("../../assets/bugcheck_values.tsv");
const HINTS_TSV: &str = include_str!("../../assets/bugcheck_hints.tsv");
const SUMMARIES_TSV: &str = include_str!("../../assets/bugcheck_summaries.tsv");

/// The `_M` flag of 0x1000007E-style codes: same parameters as the base code (docs/formats/crash-dump.md §4).
const M_FLAG: u32 = 0x1000_0000;

fn parse_hex(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(s, 16).ok()
}

/// Data rows of an embedded TSV: skips `#` comments, blank lines and the header line.
fn rows(tsv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    tsv.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
}

/// A sorted `(code, name)` table loaded once from an embedded TSV.
fn name_table(
    tsv: &'static str,
    cell: &'static OnceLock<Vec<(u32, &'static str)>>,
) -> &'static [(u32, &'static str)] {
    cell.get_or_init(|| {
        let mut v: Vec<(u32, &'static str)> = rows(tsv)
            .filter_map(|r| {
                let code = u32::try_from(parse_hex(r.first()?)?).ok()?;
                Some((code, r.get(1)?.trim()))
            })
            .collect();
        v.sort_by_key(|e| e.0);
        v.dedup_by_key(|e| e.0);
        v
    })
}

fn lookup(table: &[(u32, &'static str)], code: u32) -> Option<&'static str> {
    table
        .binary_search_by_key(&code, |e| e.0)
        .ok()
        .and_then(|i| table.get(i))
        .map(|e| e.1)
}

/// NTSTATUS names (from mingw-w64's public-domain `ntstatus.h`, via assets/ntstatus_codes.tsv).
pub mod ntstatus {
    use std::sync::OnceLock;

    const NTSTATUS_TSV: &str = include_str!("../../assets/ntstatus_codes.tsv");
    static TABLE: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();

    /// The name of an NTSTATUS (`0xC0000428` → `STATUS_INVALID_IMAGE_HASH`).
    pub fn name(status: u32) -> Option<&'static str> {
        super::lookup(super::name_table(NTSTATUS_TSV, &TABLE), status)
    }

    /// The NTSTATUS held in a 64-bit bug-check parameter: the low 32 bits when the high half is
    /// zero or the sign extension of an error status (`ffffffffc0000428`).
    pub fn from_param(value: u64) -> Option<u32> {
        let hi = (value >> 32) as u32;
        let lo = value as u32;
        match hi {
            0 => Some(lo),
            0xffff_ffff if lo & 0x8000_0000 != 0 => Some(lo),
            _ => None,
        }
    }

    /// Number of names in the table.
    pub fn count() -> usize {
        super::name_table(NTSTATUS_TSV, &TABLE).len()
    }
}

static CODES: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();

/// The name of a bug-check code (`0x5A` → `CRITICAL_SERVICE_FAILED`).
pub fn name(code: u32) -> Option<&'static str> {
    lookup(name_table(CODES_TSV, &CODES), code)
}

/// Every known code with its name, sorted by code.
pub fn all() -> &'static [(u32, &'static str)] {
    name_table(CODES_TSV, &CODES)
}

/// A bug check as raised: the code and its four parameters (from a dump header, a Kernel-Power 41
/// or a WER 1001 event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bugcheck {
    pub code: u32,
    pub parameters: [u64; 4],
}

impl Bugcheck {
    /// The bug check's name (`CRITICAL_SERVICE_FAILED` for 0x5A).
    pub fn name(&self) -> Option<&'static str> {
        name(self.code)
    }
}

/// A code as users type it: `0xD1`, `d1` (hex), `209` (decimal when only digits), or a name
/// (`DRIVER_IRQL_NOT_LESS_OR_EQUAL`, any case).
pub fn parse_code(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u32::from_str_radix(h, 16).ok();
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u32::from_str_radix(s, 16).ok();
    }
    all()
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(s))
        .map(|e| e.0)
}

/// The code whose meanings apply: an `_M` variant (0x1000007E) folds to its base (0x7E).
pub fn base_code(code: u32) -> u32 {
    table_code(code)
}

/// Every code with parameter meanings, sorted.
pub fn documented() -> Vec<u32> {
    let mut v: Vec<u32> = knowledge().params.keys().copied().collect();
    v.sort_unstable();
    v
}

/// How a parameter's value is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// An NTSTATUS, named from the NTSTATUS table.
    Ntstatus,
    /// An instruction address: module+offset (or a symbol) through the resolver.
    Code,
    /// The address of a structure; module+offset when it falls in a module (globals like
    /// nt!TRIAGE_9F_PNP), otherwise plain.
    Pointer,
    /// An IRP address (read it with `!irp` in a debugger).
    Irp,
    /// A DRIVER_OBJECT address: its name through the resolver.
    DriverObject,
    /// A DEVICE_OBJECT address: its name or driver through the resolver when it can tell.
    DeviceObject,
    /// The address of a UNICODE_STRING: its text through the resolver.
    UnicodeString,
    /// The address of NUL-terminated ASCII text: the text through the resolver.
    AsciiString,
    /// An IRQL (0 PASSIVE, 1 APC, 2 DISPATCH...).
    Irql,
    /// A value with labels from `bugcheck_values.tsv`.
    Enum,
    /// Up to 8 ASCII characters packed little-endian in the value.
    PackedAscii,
    /// A count (of pages, entries, ticks...).
    Count,
    /// A plain number.
    Value,
    /// Not used or reserved.
    Reserved,
}

impl ParamKind {
    fn from_tag(tag: &str) -> Option<ParamKind> {
        Some(match tag.trim() {
            "ntstatus" => ParamKind::Ntstatus,
            "code" => ParamKind::Code,
            "pointer" => ParamKind::Pointer,
            "irp" => ParamKind::Irp,
            "count" => ParamKind::Count,
            "driver_object" => ParamKind::DriverObject,
            "device_object" => ParamKind::DeviceObject,
            "unicode_string" => ParamKind::UnicodeString,
            "ascii_string" => ParamKind::AsciiString,
            "irql" => ParamKind::Irql,
            "enum" => ParamKind::Enum,
            "packed_ascii" => ParamKind::PackedAscii,
            "value" => ParamKind::Value,
            "reserved" => ParamKind::Reserved,
            _ => return None,
        })
    }
}

/// What a hint says to look at next: a kind of evidence of the case, not a screen (the TUI
/// maps it to the pane that shows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Artefact {
    /// The case as a whole (its findings and files): the crash itself says little.
    Case,
    /// The crash dump: its stack, modules and parameters.
    CrashDump,
    /// The boot log (Procmon): what loaded and failed during boot.
    BootLog,
    /// Signature evidence: embedded signatures, catalogs, CodeIntegrity events.
    Signatures,
    /// The driver services of the SYSTEM hive: start types, groups, image paths.
    Services,
}

impl Artefact {
    fn from_tag(tag: &str) -> Option<Artefact> {
        Some(match tag.trim() {
            "case" => Artefact::Case,
            "crash_dump" => Artefact::CrashDump,
            "boot_log" => Artefact::BootLog,
            "signatures" => Artefact::Signatures,
            "services" => Artefact::Services,
            _ => return None,
        })
    }

    /// Its words in reports ("HINT (signatures): ...").
    pub fn as_str(self) -> &'static str {
        match self {
            Artefact::Case => "case",
            Artefact::CrashDump => "crash dump",
            Artefact::BootLog => "boot log",
            Artefact::Signatures => "signatures",
            Artefact::Services => "services",
        }
    }
}

/// Where to look next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hint {
    pub look_at: Artefact,
    pub text: &'static str,
}

/// A condition on another parameter (`P4=0xC0000428`): index 0..3 and value.
#[derive(Clone, Copy, Debug)]
struct When {
    param: usize,
    value: u64,
}

impl When {
    fn parse(s: &str) -> Option<Option<When>> {
        let s = s.trim();
        if s == "-" || s.is_empty() {
            return Some(None);
        }
        let (p, v) = s.split_once('=')?;
        let n: usize = p.trim().strip_prefix('P')?.parse().ok()?;
        if !(1..=4).contains(&n) {
            return None;
        }
        Some(Some(When {
            param: n - 1,
            value: parse_hex(v)?,
        }))
    }
    /// Matches the raw value, or its low 32 bits when it is a sign-extended status.
    fn matches(&self, params: &[u64; 4]) -> bool {
        let Some(&v) = params.get(self.param) else {
            return false;
        };
        v == self.value || ntstatus::from_param(v).is_some_and(|s| u64::from(s) == self.value)
    }
}

struct ParamRow {
    when: Option<When>,
    param: usize,
    kind: ParamKind,
    meaning: &'static str,
}

struct HintRow {
    when: Option<When>,
    hint: Hint,
}

#[derive(Default)]
struct Knowledge {
    params: HashMap<u32, Vec<ParamRow>>,
    values: HashMap<(u32, usize, u64), &'static str>,
    hints: HashMap<u32, Vec<HintRow>>,
    summaries: HashMap<u32, Summary>,
}

/// What the reference page says about a code, condensed: what happened, why, what to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub summary: &'static str,
    pub cause: Option<&'static str>,
    pub resolution: Option<&'static str>,
    /// The reference page the row was condensed from.
    pub source: Option<&'static str>,
}

fn knowledge() -> &'static Knowledge {
    static K: OnceLock<Knowledge> = OnceLock::new();
    K.get_or_init(|| {
        let mut k = Knowledge::default();
        // Rows that do not parse are skipped; the asset tests below check that none does.
        for r in rows(PARAMS_TSV) {
            let parsed = (|| {
                let code = u32::try_from(parse_hex(r.first()?)?).ok()?;
                let when = When::parse(r.get(1)?)?;
                let param: usize = r.get(2)?.trim().parse().ok()?;
                let kind = ParamKind::from_tag(r.get(3)?)?;
                let meaning = r.get(4)?.trim();
                (1..=4).contains(&param).then_some((
                    code,
                    ParamRow {
                        when,
                        param: param - 1,
                        kind,
                        meaning,
                    },
                ))
            })();
            if let Some((code, row)) = parsed {
                k.params.entry(code).or_default().push(row);
            }
        }
        for r in rows(VALUES_TSV) {
            let parsed = (|| {
                let code = u32::try_from(parse_hex(r.first()?)?).ok()?;
                let param: usize = r.get(1)?.trim().parse().ok()?;
                Some((
                    (code, param.checked_sub(1)?, parse_hex(r.get(2)?)?),
                    r.get(3)?.trim(),
                ))
            })();
            if let Some((key, label)) = parsed {
                k.values.insert(key, label);
            }
        }
        for r in rows(HINTS_TSV) {
            let parsed = (|| {
                let code = u32::try_from(parse_hex(r.first()?)?).ok()?;
                let when = When::parse(r.get(1)?)?;
                let look_at = Artefact::from_tag(r.get(2)?)?;
                Some((
                    code,
                    HintRow {
                        when,
                        hint: Hint {
                            look_at,
                            text: r.get(3)?.trim(),
                        },
                    },
                ))
            })();
            if let Some((code, row)) = parsed {
                k.hints.entry(code).or_default().push(row);
            }
        }
        let cell = |r: &[&'static str], i: usize| -> Option<&'static str> {
            r.get(i)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty() && *s != "-")
        };
        for r in rows(SUMMARIES_TSV) {
            if let (Some(code), Some(summary)) = (
                r.first()
                    .and_then(|c| parse_hex(c))
                    .and_then(|c| u32::try_from(c).ok()),
                cell(&r, 1),
            ) {
                k.summaries.insert(
                    code,
                    Summary {
                        summary,
                        cause: cell(&r, 2),
                        resolution: cell(&r, 3),
                        source: cell(&r, 4),
                    },
                );
            }
        }
        k
    })
}

/// The code whose parameter rows apply: the code itself, or the base of an `_M` variant.
fn table_code(code: u32) -> u32 {
    let k = knowledge();
    if !k.params.contains_key(&code) && code & M_FLAG != 0 && name(code & !M_FLAG).is_some() {
        code & !M_FLAG
    } else {
        code
    }
}

/// Whether the workbench knows what this code's parameters mean.
pub fn has_parameter_meanings(code: u32) -> bool {
    knowledge().params.contains_key(&table_code(code))
}

/// Decoding that needs the dump, supplied by the caller. Every method may return `None`.
pub trait ParamResolver {
    /// An address as `module+0xoffset` or `module!symbol+0xoffset`.
    fn symbolize(&self, _address: u64) -> Option<String> {
        None
    }
    /// The text of the UNICODE_STRING structure at `address`.
    fn unicode_string(&self, _address: u64) -> Option<String> {
        None
    }
    /// The NUL-terminated ASCII text at `address`.
    fn ascii_string(&self, _address: u64) -> Option<String> {
        None
    }
    /// The name of the DRIVER_OBJECT at `address` (e.g. `\Driver\storahci`).
    fn driver_object(&self, _address: u64) -> Option<String> {
        None
    }
    /// A description of the DEVICE_OBJECT at `address` (its driver's name, say).
    fn device_object(&self, _address: u64) -> Option<String> {
        None
    }
}

/// A resolver that knows nothing: only table-based decoding (names, labels) happens.
pub struct NoDump;
impl ParamResolver for NoDump {}

/// A resolver from a closure that symbolizes addresses (for callers with only a module list).
pub struct SymbolizeWith<F: Fn(u64) -> Option<String>>(pub F);
impl<F: Fn(u64) -> Option<String>> ParamResolver for SymbolizeWith<F> {
    fn symbolize(&self, address: u64) -> Option<String> {
        (self.0)(address)
    }
}

fn hex_u64<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{v:x}"))
}
fn hex_u32<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{v:x}"))
}

/// One parameter: its raw value beside what it means and what it decodes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParamInfo {
    /// Serialised as a lower-case `0x...` string.
    #[serde(serialize_with = "hex_u64")]
    pub value: u64,
    /// What this parameter means for this code (None when the workbench does not know).
    pub meaning: Option<&'static str>,
    /// The decoded value: an NTSTATUS name, module+offset, a string from the dump, a label.
    pub decoded: Option<String>,
    pub kind: ParamKind,
}

/// A bug check explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BugcheckInfo {
    /// Serialised as a lower-case `0x...` string.
    #[serde(serialize_with = "hex_u32")]
    pub code: u32,
    pub name: Option<&'static str>,
    /// What happened, in one line.
    pub summary: Option<&'static str>,
    /// Why it happens, condensed from the reference page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
    /// What to do first, condensed from the reference page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<&'static str>,
    /// The reference page these meanings come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    pub params: [ParamInfo; 4],
    pub hint: Option<Hint>,
}

/// What WinDbg's `!analyze -show CODE P1..P4` prints: the name, the summary, each argument
/// with its meaning (and its decoded value for the `given` arguments), the cause, the
/// resolution, our hint and the source page; one item a line.
pub fn show_text(code: u32, b: &BugcheckInfo, given: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({:x})",
        b.name.unwrap_or("UNKNOWN_BUGCHECK_CODE"),
        code
    );
    let base = base_code(code);
    if base != code {
        let _ = writeln!(out, "(the _M variant of 0x{base:x}: same parameters)");
    }
    if let Some(s) = b.summary {
        let _ = writeln!(out, "{s}");
    }
    let _ = writeln!(out, "Arguments:");
    for (i, p) in b.params.iter().enumerate() {
        let value = if i < given {
            format!("{:016x}", p.value)
        } else {
            "-".repeat(16)
        };
        let meaning = p.meaning.unwrap_or("not documented");
        let _ = match (&p.decoded, i < given) {
            (Some(d), true) => writeln!(out, "Arg{}: {value}, {meaning} => {d}", i + 1),
            _ => writeln!(out, "Arg{}: {value}, {meaning}", i + 1),
        };
    }
    if let Some(c) = b.cause {
        let _ = writeln!(out, "CAUSE: {c}");
    }
    if let Some(r) = b.resolution {
        let _ = writeln!(out, "RESOLUTION: {r}");
    }
    if let Some(h) = &b.hint {
        let _ = writeln!(out, "HINT ({}): {}", h.look_at.as_str(), h.text);
    }
    if let Some(s) = b.source {
        let _ = writeln!(out, "SOURCE: {s}");
    }
    out
}

/// Explain a bug check with table knowledge only (no dump to read strings from).
pub fn describe(code: u32, params: [u64; 4]) -> BugcheckInfo {
    describe_with(code, params, &NoDump)
}

/// Explain a bug check, decoding parameters through `resolver`.
pub fn describe_with(code: u32, params: [u64; 4], resolver: &dyn ParamResolver) -> BugcheckInfo {
    let k = knowledge();
    let tcode = table_code(code);
    let rows = k.params.get(&tcode).map(Vec::as_slice).unwrap_or(&[]);
    let info = |i: usize| -> ParamInfo {
        let value = params.get(i).copied().unwrap_or(0);
        // A conditional row beats the plain one.
        let row = rows
            .iter()
            .filter(|r| r.param == i && r.when.is_some_and(|w| w.matches(&params)))
            .chain(rows.iter().filter(|r| r.param == i && r.when.is_none()))
            .next();
        let kind = row.map_or(ParamKind::Value, |r| r.kind);
        let decoded = decode(tcode, i, value, kind, resolver);
        ParamInfo {
            value,
            meaning: row.map(|r| r.meaning),
            decoded,
            kind,
        }
    };
    let hint_rows = k.hints.get(&tcode).map(Vec::as_slice).unwrap_or(&[]);
    let hint = hint_rows
        .iter()
        .find(|r| r.when.is_some_and(|w| w.matches(&params)))
        .or_else(|| hint_rows.iter().find(|r| r.when.is_none()))
        .map(|r| r.hint.clone());
    BugcheckInfo {
        code,
        name: name(code),
        summary: k.summaries.get(&tcode).map(|s| s.summary),
        cause: k.summaries.get(&tcode).and_then(|s| s.cause),
        resolution: k.summaries.get(&tcode).and_then(|s| s.resolution),
        source: k.summaries.get(&tcode).and_then(|s| s.source),
        params: [info(0), info(1), info(2), info(3)],
        hint,
    }
}

/// IRQL names on x64 (the values above DISPATCH_LEVEL are device levels up to HIGH_LEVEL 15).
fn irql_name(v: u64) -> Option<String> {
    Some(match v {
        0 => "PASSIVE_LEVEL".into(),
        1 => "APC_LEVEL".into(),
        2 => "DISPATCH_LEVEL".into(),
        3..=12 => format!("DIRQL {v}"),
        13 => "CLOCK_LEVEL".into(),
        14 => "IPI_LEVEL".into(),
        15 => "HIGH_LEVEL".into(),
        _ => return None,
    })
}

fn decode(
    tcode: u32,
    i: usize,
    value: u64,
    kind: ParamKind,
    r: &dyn ParamResolver,
) -> Option<String> {
    match kind {
        ParamKind::Ntstatus => {
            let st = ntstatus::from_param(value)?;
            // Only statuses with a name decode: a plain small number is probably not a status.
            ntstatus::name(st).map(str::to_string)
        }
        ParamKind::Code | ParamKind::Pointer => (value != 0).then(|| r.symbolize(value)).flatten(),
        ParamKind::DriverObject => (value != 0).then(|| r.driver_object(value)).flatten(),
        ParamKind::DeviceObject => (value != 0).then(|| r.device_object(value)).flatten(),
        ParamKind::UnicodeString => (value != 0).then(|| r.unicode_string(value)).flatten(),
        ParamKind::AsciiString => (value != 0).then(|| r.ascii_string(value)).flatten(),
        ParamKind::Irql => irql_name(value),
        ParamKind::Enum => knowledge()
            .values
            .get(&(tcode, i, value))
            .map(|s| s.to_string()),
        ParamKind::PackedAscii => {
            let s: String = value
                .to_le_bytes()
                .iter()
                .take_while(|&&b| b != 0)
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        char::from(b)
                    } else {
                        '.'
                    }
                })
                .collect();
            (!s.is_empty()).then_some(s)
        }
        ParamKind::Irp | ParamKind::Count | ParamKind::Value | ParamKind::Reserved => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_code_is_named() {
        // The table is assets/bugcheck_codes.tsv: 427 codes.
        assert_eq!(all().len(), 427);
        assert_eq!(name(0x5a), Some("CRITICAL_SERVICE_FAILED"));
        assert_eq!(
            name(0x1000_007e),
            Some("SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M")
        );
        assert_eq!(name(0xc000_021a), Some("WINLOGON_FATAL_ERROR"));
        assert_eq!(name(0xdead_dead), Some("MANUALLY_INITIATED_CRASH1"));
        assert_eq!(name(0x1c8), Some("MANUALLY_INITIATED_POWER_BUTTON_HOLD"));
        assert_eq!(name(0x7777_7777), None);
    }

    #[test]
    fn ntstatus_names() {
        assert_eq!(ntstatus::count(), 1674);
        assert_eq!(
            ntstatus::name(0xc000_0428),
            Some("STATUS_INVALID_IMAGE_HASH")
        );
        assert_eq!(ntstatus::name(0xc000_0005), Some("STATUS_ACCESS_VIOLATION"));
        assert_eq!(ntstatus::name(0), Some("STATUS_SUCCESS"));
        assert_eq!(
            ntstatus::from_param(0xffff_ffff_c000_0428),
            Some(0xc000_0428)
        );
        assert_eq!(ntstatus::from_param(0xffff_9907_c7d2_3060), None);
    }

    /// The motivating case (shared/seed/bsod-live-example.txt).
    #[test]
    fn critical_service_failed_invalid_image_hash_points_to_integrity() {
        let strings = |a: u64| match a {
            0xffff_9907_c7d2_3060 => Some("\\FileSystem\\FileCrypt".to_string()),
            0xffff_d50f_e221_39c0 => {
                Some("\\SystemRoot\\system32\\drivers\\filecrypt.sys".to_string())
            }
            _ => None,
        };
        struct R<F>(F);
        impl<F: Fn(u64) -> Option<String>> ParamResolver for R<F> {
            fn unicode_string(&self, a: u64) -> Option<String> {
                (self.0)(a)
            }
        }
        let p = [
            1,
            0xffff_9907_c7d2_3060,
            0xffff_d50f_e221_39c0,
            0xffff_ffff_c000_0428,
        ];
        let b = describe_with(0x5a, p, &R(strings));
        assert_eq!(b.name, Some("CRITICAL_SERVICE_FAILED"));
        assert!(b.summary.unwrap().contains("critical"));
        assert_eq!(b.params[3].kind, ParamKind::Ntstatus);
        assert_eq!(
            b.params[3].decoded.as_deref(),
            Some("STATUS_INVALID_IMAGE_HASH")
        );
        assert_eq!(
            b.params[1].decoded.as_deref(),
            Some("\\FileSystem\\FileCrypt")
        );
        assert_eq!(
            b.params[2].decoded.as_deref(),
            Some("\\SystemRoot\\system32\\drivers\\filecrypt.sys")
        );
        let hint = b.hint.unwrap();
        assert_eq!(hint.look_at, Artefact::Signatures);
        assert!(
            hint.text.contains("catalogs") && hint.text.contains("code integrity"),
            "{}",
            hint.text
        );
        // Without a dump the meanings and the status still read; strings do not.
        let plain = describe(0x5a, p);
        assert_eq!(
            plain.params[3].decoded.as_deref(),
            Some("STATUS_INVALID_IMAGE_HASH")
        );
        assert!(plain.params[1].decoded.is_none());
        assert!(plain.params[1].meaning.unwrap().contains("driver object"));
        // A different failure status points elsewhere.
        let other = describe(0x5a, [1, 0, 0, 0xffff_ffff_c000_0034]);
        assert_eq!(other.hint.unwrap().look_at, Artefact::Services);
        assert_eq!(
            other.params[3].decoded.as_deref(),
            Some("STATUS_OBJECT_NAME_NOT_FOUND")
        );
    }

    /// The x64 sample's bug check (rizin-testbins/triage_x64.expected.json): 0x1000007E reads
    /// through the base code's rows; amdppm.sys is at 0xfffff8048b580000, size 0x3b000.
    #[test]
    fn m_variant_uses_base_rows_and_symbolizes_code_addresses() {
        let p = [
            0xffff_ffff_c000_0005,
            0xffff_f804_8b58_334c,
            0xffff_8504_2989_1ee8,
            0xffff_8504_2989_1720,
        ];
        let (base, size) = (0xffff_f804_8b58_0000u64, 0x3b000u64);
        let sym = SymbolizeWith(|a: u64| {
            (base..base + size)
                .contains(&a)
                .then(|| format!("amdppm+0x{:x}", a - base))
        });
        let b = describe_with(0x1000_007e, p, &sym);
        assert_eq!(b.name, Some("SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M"));
        assert_eq!(
            b.params[0].decoded.as_deref(),
            Some("STATUS_ACCESS_VIOLATION")
        );
        assert_eq!(b.params[1].kind, ParamKind::Code);
        assert_eq!(b.params[1].decoded.as_deref(), Some("amdppm+0x334c"));
        assert!(b.params[3].meaning.unwrap().contains("CONTEXT"));
        assert!(
            b.params[2].decoded.is_none(),
            "a stack address is in no module"
        );
        assert_eq!(b.hint.unwrap().look_at, Artefact::CrashDump);
    }

    #[test]
    fn enums_irql_packed_ascii_and_conditional_rows() {
        let d = describe(0xd1, [0x10, 2, 1, 0xffff_f800_0000_1000]);
        assert_eq!(d.params[1].decoded.as_deref(), Some("DISPATCH_LEVEL"));
        assert_eq!(d.params[2].decoded.as_deref(), Some("write"));
        assert_eq!(d.params[3].kind, ParamKind::Code);
        let t = describe(0x7f, [8, 0, 0, 0]);
        assert!(
            t.params[0]
                .decoded
                .as_deref()
                .unwrap()
                .contains("double fault")
        );
        let pnp = describe(0x1d5, [u64::from_le_bytes(*b"storahci"), 0, 0, 120_000]);
        assert_eq!(pnp.params[0].decoded.as_deref(), Some("storahci"));
        // 0x9F: P1 = 3 switches P4 to "the blocked IRP"; P1 = 4 makes P2 seconds.
        assert!(
            describe(0x9f, [3, 0, 0, 0]).params[3]
                .meaning
                .unwrap()
                .contains("IRP")
        );
        assert!(
            describe(0x9f, [4, 0, 0, 0]).params[1]
                .meaning
                .unwrap()
                .contains("seconds")
        );
        assert_eq!(
            describe(0x9f, [7, 0, 0, 0]).params[1].meaning,
            Some("Depends on P1")
        );
        // 0x7B's P2 holds a status on recent systems.
        assert_eq!(
            describe(0x7b, [0, 0xc000_000e, 0, 0]).params[1]
                .decoded
                .as_deref(),
            Some("STATUS_NO_SUCH_DEVICE")
        );
        // An unknown code still gives its raw values.
        let u = describe(0x1234_5678, [1, 2, 3, 4]);
        assert_eq!(
            (u.name, u.params[2].value, u.params[2].meaning, u.hint),
            (None, 3, None, None)
        );
    }

    #[test]
    fn assets_parse_completely() {
        let count = |tsv: &'static str| rows(tsv).count();
        let k = knowledge();
        let params: usize = k.params.values().map(Vec::len).sum();
        assert_eq!(
            params,
            count(PARAMS_TSV),
            "every bugcheck_params.tsv row parses"
        );
        assert_eq!(
            k.values.len(),
            count(VALUES_TSV),
            "every bugcheck_values.tsv row parses, no duplicates"
        );
        let hints: usize = k.hints.values().map(Vec::len).sum();
        assert_eq!(
            hints,
            count(HINTS_TSV),
            "every bugcheck_hints.tsv row parses"
        );
        // Each code with meanings has a plain row for each of P1..P4, and is a known code.
        for (code, rows) in &k.params {
            assert!(
                name(*code).is_some(),
                "0x{code:x} is not in bugcheck_codes.tsv"
            );
            for p in 0..4 {
                assert!(
                    rows.iter().any(|r| r.param == p && r.when.is_none()),
                    "0x{code:x} lacks P{}",
                    p + 1
                );
            }
        }
        assert!(
            k.params.len() >= 300,
            "at least 300 codes have parameter meanings"
        );
        assert_eq!(
            k.summaries.len(),
            rows(SUMMARIES_TSV)
                .filter(|r| r.get(1).is_some_and(|s| s.trim() != "-"))
                .count(),
            "every summary row parses (`-`: the page has no summary)"
        );
        for code in k.params.keys() {
            assert!(
                k.summaries.contains_key(code)
                    || rows(SUMMARIES_TSV).any(|r| r
                        .first()
                        .and_then(|c| parse_hex(c))
                        .is_some_and(|c| c == u64::from(*code))),
                "0x{code:x} has meanings but no summary row (`-` when its page has none)"
            );
        }
        for code in k.summaries.keys().chain(k.hints.keys()) {
            assert!(
                name(*code).is_some(),
                "0x{code:x} is not in bugcheck_codes.tsv"
            );
        }
        for (code, _, _) in k.values.keys() {
            assert!(
                k.params.contains_key(code),
                "values for 0x{code:x} without parameter rows"
            );
        }
    }

    /// The tables are written by people: no text may stop mid-sentence (a cut-off copy of a page),
    /// and every row names the reference page its facts come from.
    #[test]
    fn table_text_is_complete_and_sourced() {
        const PAGE: &str =
            "https://learn.microsoft.com/windows-hardware/drivers/debugger/bug-check-0x";
        // A phrase (meaning, label) must not end on a joint that promises more words.
        const DANGLING: &[&str] = &[
            "a", "an", "the", "of", "and", "or", "with", "by", "that", "is", "from", "as", "when",
            "if", "which", "than", "but",
        ];
        let phrase_ok = |s: &str| {
            let s = s.trim();
            let last = s
                .rsplit(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            let cut = s.is_empty() || s.contains("...") || s.ends_with([',', ';', ':', '-', '(']);
            let dangling =
                s.ends_with(|c: char| c.is_alphabetic()) && DANGLING.contains(&last.as_str());
            !cut && !dangling
        };
        // A summary, cause or resolution is one or more whole sentences (or `-`: none).
        let sentence_ok = |s: &str| {
            let s = s.trim();
            s == "-"
                || (!s.contains("...")
                    && s.chars().next().is_some_and(|c| !c.is_lowercase())
                    && s.trim_end_matches([')', '"', '\''])
                        .ends_with(['.', '!', '?']))
        };
        let mut bad = Vec::new();
        for r in rows(PARAMS_TSV) {
            if !phrase_ok(r[4]) {
                bad.push(format!("params {} {} P{}: {:?}", r[0], r[1], r[2], r[4]));
            }
            if !r[5].starts_with(PAGE) {
                bad.push(format!("params {} P{}: source {:?}", r[0], r[2], r[5]));
            }
        }
        for r in rows(VALUES_TSV) {
            if !phrase_ok(r[3]) {
                bad.push(format!("values {} P{}={}: {:?}", r[0], r[1], r[2], r[3]));
            }
            if !r[4].starts_with(PAGE) {
                bad.push(format!(
                    "values {} P{}={}: source {:?}",
                    r[0], r[1], r[2], r[4]
                ));
            }
        }
        for r in rows(SUMMARIES_TSV) {
            for (i, what) in [(1, "summary"), (2, "cause"), (3, "resolution")] {
                if !sentence_ok(r[i]) {
                    bad.push(format!("summaries {} {what}: {:?}", r[0], r[i]));
                }
            }
            if !r[4].starts_with(PAGE) {
                bad.push(format!("summaries {}: source {:?}", r[0], r[4]));
            }
        }
        assert!(
            bad.is_empty(),
            "{} incomplete or unsourced rows:\n{}",
            bad.len(),
            bad.join("\n")
        );
    }

    /// The enumerated parameters users meet most decode to their documented meaning.
    #[test]
    fn common_enumerations_decode() {
        let dec = |code: u32, p: [u64; 4], i: usize| describe(code, p).params[i].decoded.clone();
        let has = |code: u32, p: [u64; 4], i: usize, want: &str| {
            let d = dec(code, p, i).unwrap_or_default();
            assert!(
                d.contains(want),
                "0x{code:x} P{}: {d:?} lacks {want:?}",
                i + 1
            );
        };
        has(0x1a, [0x41790, 0, 0, 0], 0, "page-table page");
        has(0x133, [1, 0x1e00, 0, 0], 0, "DISPATCH_LEVEL");
        has(0x133, [0, 0, 0, 0], 0, "single DPC");
        has(0x139, [3, 0, 0, 0], 0, "LIST_ENTRY");
        has(0x9f, [3, 0, 0, 0], 0, "power IRP");
        has(0x7f, [8, 0, 0, 0], 0, "double fault");
        has(0x19, [0x20, 0, 0, 0], 0, "size");
        has(0xc4, [0x62, 0, 0, 0], 0, "unload");
        assert_eq!(dec(0xd1, [0, 2, 8, 0], 2).as_deref(), Some("execute"));
        assert_eq!(dec(0xd1, [0, 2, 2, 0], 2).as_deref(), Some("execute"));
        assert_eq!(dec(0xa, [0, 2, 1, 0], 2).as_deref(), Some("write"));
        // 0x50: P2 is the access kind on current builds (0x10 execute, 2 write on x64).
        has(0x50, [0, 0x10, 0, 0], 1, "execute");
        has(0x50, [0, 2, 0, 0], 1, "write");
        has(0x50, [0, 0, 0, 2], 3, "NOT_PRESENT_PAGE_TABLE");
        // 0x4A names the system function and the IRQL.
        let d = describe(0x4a, [0x7ffe_7350_d0c4, 2, 0, 0]);
        assert!(d.params[0].meaning.unwrap().contains("system function"));
        assert!(d.params[1].meaning.unwrap().contains("IRQL"));
        assert_eq!(d.params[1].decoded.as_deref(), Some("DISPATCH_LEVEL"));
        // 0x154 documents no values for P1: it is the store context's address.
        assert_eq!(
            describe(0x154, [1, 0, 0, 0]).params[0].kind,
            ParamKind::Pointer
        );
    }

    #[test]
    fn json_uses_hex_strings() {
        let j = serde_json::to_value(describe(0x5a, [1, 2, 3, 0xffff_ffff_c000_0428])).unwrap();
        assert_eq!(j["code"], "0x5a");
        assert_eq!(j["params"][3]["value"], "0xffffffffc0000428");
        assert_eq!(j["params"][3]["kind"], "ntstatus");
        assert_eq!(j["hint"]["look_at"], "signatures");
    }
}
