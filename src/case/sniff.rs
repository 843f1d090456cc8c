//! Sniffing: what a file is, from its first bytes, never from its name.

use crate::le::{u16_at, u32_at};
use serde::Serialize;
use std::fmt;

/// The kind of a case file. The strings are part of `bsodwb scan`'s JSON contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    CrashDump,
    UserDump,
    ProcmonLog,
    EventLog,
    RegistryHive,
    PeImage,
    Catalog,
    Pdb,
    SigcheckCsv,
    SigverifLog,
    /// A registry transaction log (`.LOG`, `.LOG1`, `.LOG2`).
    RegistryLog,
    /// A driver INF file.
    Inf,
    /// An X.509 certificate, DER or PEM (`.cer`, `.crt`, `.pem`).
    Certificate,
    /// Procmon's CSV export.
    ProcmonCsv,
    /// `setupapi.dev.log` / `setupapi.app.log`.
    SetupapiLog,
    /// `CBS.log` (component servicing).
    CbsLog,
    /// `dism.log`.
    DismLog,
    /// `ntbtlog.txt`, the boot log Windows writes with "Enable boot logging".
    Ntbtlog,
    /// A Windows Error Reporting manifest (`Report.wer`), by its `Name=Value` lines.
    WerReport,
    Unknown,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CrashDump => "crash-dump",
            Kind::UserDump => "user-dump",
            Kind::ProcmonLog => "procmon-log",
            Kind::EventLog => "event-log",
            Kind::RegistryHive => "registry-hive",
            Kind::PeImage => "pe-image",
            Kind::Catalog => "catalog",
            Kind::Pdb => "pdb",
            Kind::SigcheckCsv => "sigcheck-csv",
            Kind::SigverifLog => "sigverif-log",
            Kind::RegistryLog => "registry-log",
            Kind::Inf => "inf",
            Kind::Certificate => "certificate",
            Kind::ProcmonCsv => "procmon-csv",
            Kind::SetupapiLog => "setupapi-log",
            Kind::CbsLog => "cbs-log",
            Kind::DismLog => "dism-log",
            Kind::Ntbtlog => "ntbtlog",
            Kind::WerReport => "wer-report",
            Kind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many leading bytes sniffing wants: enough for a dump header's DumpType (0xF98) and the
/// bitmap signature at 0x2000, a PE header, and a catalog's outer DER structure.
pub const SNIFF_LEN: usize = 0x2010;

/// How much of a plain text file sniffing reads when the first [`SNIFF_LEN`] bytes were not
/// enough (see [`wants_longer_text_head`]).
pub const TEXT_SNIFF_LEN: usize = 256 * 1024;

/// Whether an unrecognised head is text that fills the whole sniff window, so a longer head
/// may tell what it is (an INF whose `[Version]` follows a long licence comment).
pub fn wants_longer_text_head(head: &[u8], kind: Kind) -> bool {
    if head.len() < SNIFF_LEN || !matches!(kind, Kind::Unknown | Kind::Inf) {
        return false;
    }
    let text = decode_text_head(head);
    !text.is_empty() && (kind == Kind::Unknown || inf_preamble_only(&text))
}

/// A compression wrapper recognised around a file's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Wrapper {
    Zip,
    Gzip,
    Xz,
    Zlib,
}

impl Wrapper {
    pub fn sniff(head: &[u8]) -> Option<Wrapper> {
        match head {
            [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Some(Wrapper::Zip),
            [0x1f, 0x8b, 8, ..] => Some(Wrapper::Gzip),
            [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Some(Wrapper::Xz),
            // RFC 1950: CM=8 (deflate), window <= 32 KiB, and (CMF*256+FLG) % 31 == 0, no preset dictionary.
            [cmf, flg, ..]
                if cmf & 0x0f == 8
                    && cmf >> 4 <= 7
                    && flg & 0x20 == 0
                    && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0 =>
            {
                Some(Wrapper::Zlib)
            }
            _ => None,
        }
    }
}

/// The kind of a file and a one-line detail, from its first bytes (`head`, up to [`SNIFF_LEN`]).
/// The detail never holds control characters (text from the file is shown on terminals).
pub fn sniff(head: &[u8]) -> (Kind, String) {
    let (kind, detail) = sniff_raw(head);
    if detail.chars().any(char::is_control) {
        return (
            kind,
            detail
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect(),
        );
    }
    (kind, detail)
}

fn sniff_raw(head: &[u8]) -> (Kind, String) {
    if head.starts_with(b"PAGEDU64") || head.starts_with(b"PAGEDUMP") {
        return (Kind::CrashDump, dump_detail(head));
    }
    if head.starts_with(b"MDMP") {
        return (Kind::UserDump, "user-mode minidump".into());
    }
    if head.starts_with(b"PML_") {
        let version = u32_at(head, 4).unwrap_or(0);
        let bits = if u32_at(head, 8) == Some(1) {
            "64-bit"
        } else {
            "32-bit"
        };
        return (Kind::ProcmonLog, format!("Procmon log v{version}, {bits}"));
    }
    if head.starts_with(b"ElfFile\0") {
        return (Kind::EventLog, "EVTX event log".into());
    }
    if head.starts_with(b"regf") {
        // Base block 0x1C: file type, 0 = primary file, 1/2/6 = transaction log.
        return match u32_at(head, 0x1c) {
            Some(1 | 2 | 6) => (Kind::RegistryLog, log_detail(head)),
            _ => (Kind::RegistryHive, hive_detail(head)),
        };
    }
    if head.starts_with(b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0") {
        return (Kind::Pdb, "PDB (MSF 7.00)".into());
    }
    if let Some(detail) = pe_detail(head) {
        return (Kind::PeImage, detail);
    }
    if head.starts_with(b"MZ") {
        return (Kind::Unknown, "MZ header without a PE header".into());
    }
    if is_catalog(head) {
        return (Kind::Catalog, "security catalog (PKCS#7 CTL)".into());
    }
    if let Some(subject) = certificate_subject(head) {
        return (
            Kind::Certificate,
            format!("X.509 certificate (DER), subject {subject}"),
        );
    }
    let text = decode_text_head(head);
    if let Some(kind) = sniff_text(&text) {
        return kind;
    }
    (Kind::Unknown, String::new())
}

fn dump_detail(head: &[u8]) -> String {
    let is64 = head.starts_with(b"PAGEDU64");
    let type_off = if is64 { 0xf98 } else { 0xf88 };
    let dump_type = u32_at(head, type_off);
    let bitmap_sig = head.get(0x2000..0x2004);
    let kind = match dump_type {
        Some(1) => "full".to_string(),
        Some(2) => "summary (kernel)".to_string(),
        Some(4) => "triage (small memory dump)".to_string(),
        Some(5) | Some(6) => match bitmap_sig {
            Some(b"SDMP") => "bitmap kernel (SDMP)".to_string(),
            Some(b"FDMP") => "bitmap complete (FDMP)".to_string(),
            _ => "bitmap".to_string(),
        },
        Some(8..=10) => "range (RDMP)".to_string(),
        Some(t) => format!("type {t}"),
        None => "header cut short".to_string(),
    };
    format!(
        "{} kernel dump, {kind}",
        if is64 { "64-bit" } else { "32-bit" }
    )
}

/// The hive a base block belongs to: the last component of its file-name field (0x30, 64 bytes
/// of UTF-16LE holding the tail of the hive's path), e.g. `SYSTEM`.
fn base_block_hive(head: &[u8]) -> String {
    let name: String = head
        .get(0x30..0x70)
        .map(crate::text::utf16le_until_nul)
        .unwrap_or_default();
    name.rsplit(['\\', '/'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn log_detail(head: &[u8]) -> String {
    let format = match u32_at(head, 0x1c) {
        Some(1) => "old format",
        _ => "new format",
    };
    // New-format logs hold HvLE entries from 0x200 (Windows 8.1+); old ones a DIRT vector.
    let entries = match head.get(0x200..0x204) {
        Some(b"HvLE") => ", HvLE entries",
        Some(b"DIRT") => ", dirty vector",
        _ => "",
    };
    let seq = match (u32_at(head, 4), u32_at(head, 8)) {
        (Some(a), Some(b)) => format!(", sequence {a}/{b}"),
        _ => String::new(),
    };
    match base_block_hive(head) {
        h if h.is_empty() => format!("registry transaction log ({format}{entries}{seq})"),
        h => format!("registry transaction log of {h} ({format}{entries}{seq})"),
    }
}

fn hive_detail(head: &[u8]) -> String {
    // Base block: file name, UTF-16LE, 64 bytes at 0x30 (the tail of the hive's original path).
    let name: String = head
        .get(0x30..0x70)
        .map(crate::text::utf16le_lossy)
        .unwrap_or_default();
    let dirty = u32_at(head, 4) != u32_at(head, 8);
    let mut detail = if name.is_empty() {
        "registry hive".to_string()
    } else {
        format!("registry hive {name}")
    };
    if dirty {
        detail.push_str(" (dirty: sequence numbers differ)");
    }
    detail
}

fn pe_detail(head: &[u8]) -> Option<String> {
    if !head.starts_with(b"MZ") {
        return None;
    }
    let pe = usize::try_from(u32_at(head, 0x3c)?).ok()?;
    if head.get(pe..pe + 4)? != b"PE\0\0" {
        return None;
    }
    let machine = u16_at(head, pe + 4)?;
    let characteristics = u16_at(head, pe + 22)?;
    let opt = pe + 24;
    let magic = u16_at(head, opt)?;
    let subsystem = u16_at(head, opt + 68)?;
    let machine_name = match machine {
        0x8664 => "x64",
        0x14c => "x86",
        0xaa64 => "ARM64",
        0x1c4 => "ARM",
        _ => "unknown machine",
    };
    let role = if subsystem == 1 {
        "driver"
    } else if characteristics & 0x2000 != 0 {
        "dll"
    } else {
        "exe"
    };
    let bits = if magic == 0x20b { "PE32+" } else { "PE32" };
    Some(format!("{role}, {machine_name} {bits}"))
}

/// A DER reader just deep enough to find a PKCS#7 SignedData's content type.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The next TLV: (tag, content). Lengths may exceed the sniffed head; the content is cut.
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            rest = &rest[n..];
            len
        };
        let take = len.min(rest.len());
        let (content, after) = rest.split_at(take);
        self.0 = after;
        Some((tag, content))
    }
}

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_CTL: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x0a, 0x01];

/// ContentInfo { signedData, [0] SignedData { version, digestAlgorithms, EncapsulatedContentInfo { CTL OID, ... } } }
fn is_catalog(head: &[u8]) -> bool {
    (|| {
        let (0x30, content_info) = Der(head).next()? else {
            return None;
        };
        let mut ci = Der(content_info);
        let (0x06, oid) = ci.next()? else { return None };
        if oid != OID_SIGNED_DATA {
            return None;
        }
        let (0xa0, explicit) = ci.next()? else {
            return None;
        };
        let (0x30, signed_data) = Der(explicit).next()? else {
            return None;
        };
        let mut sd = Der(signed_data);
        let (0x02, _version) = sd.next()? else {
            return None;
        };
        let (0x31, _digests) = sd.next()? else {
            return None;
        };
        let (0x30, encap) = sd.next()? else {
            return None;
        };
        let (0x06, content_type) = Der(encap).next()? else {
            return None;
        };
        Some(content_type == OID_CTL)
    })()
    .unwrap_or(false)
}

/// The subject of a DER X.509 certificate: `Certificate { TBSCertificate { [0] version,
/// serial, signature, issuer, validity, subject, ... }, ... }`, as `CN=..., O=...`.
fn certificate_subject(der: &[u8]) -> Option<String> {
    let (0x30, cert) = Der(der).next()? else {
        return None;
    };
    let (0x30, tbs) = Der(cert).next()? else {
        return None;
    };
    let mut t = Der(tbs);
    let mut item = t.next()?;
    if item.0 == 0xa0 {
        item = t.next()?;
    }
    if item.0 != 0x02 {
        return None; // serial number
    }
    let (0x30, _alg) = t.next()? else { return None };
    let (0x30, _issuer) = t.next()? else {
        return None;
    };
    let (0x30, validity) = t.next()? else {
        return None;
    };
    let (0x17 | 0x18, _) = Der(validity).next()? else {
        return None;
    };
    let (0x30, subject) = t.next()? else {
        return None;
    };
    Some(name_text(subject))
}

/// An X.501 Name's CN, OU, O, L, C attributes, `CN=..., O=...` (most specific first).
fn name_text(name: &[u8]) -> String {
    let mut parts: Vec<(usize, String)> = Vec::new();
    let mut rdns = Der(name);
    while let Some((0x31, set)) = rdns.next() {
        let mut atvs = Der(set);
        while let Some((0x30, atv)) = atvs.next() {
            let mut a = Der(atv);
            let (Some((0x06, oid)), Some((_, value))) = (a.next(), a.next()) else {
                continue;
            };
            let label = match oid {
                [0x55, 0x04, 0x03] => (0, "CN"),
                [0x55, 0x04, 0x0b] => (1, "OU"),
                [0x55, 0x04, 0x0a] => (2, "O"),
                [0x55, 0x04, 0x07] => (3, "L"),
                [0x55, 0x04, 0x06] => (4, "C"),
                _ => continue,
            };
            let text: String = String::from_utf8_lossy(value)
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            parts.push((label.0, format!("{}={text}", label.1)));
        }
    }
    parts.sort_by_key(|p| p.0);
    parts
        .into_iter()
        .map(|p| p.1)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The head as text: UTF-16 by BOM or by NULs in every other byte (ntbtlog.txt, INFs,
/// sigcheck's Unicode output), else UTF-8 (BOM stripped); empty for binary.
fn decode_text_head(head: &[u8]) -> String {
    let probe = &head[..head.len().min(512)];
    let odd_nuls = probe.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    let even_nuls = probe.iter().step_by(2).filter(|b| **b == 0).count();
    if head.starts_with(&[0xff, 0xfe])
        || head.starts_with(&[0xfe, 0xff])
        || (probe.len() >= 16 && odd_nuls * 10 >= probe.len() / 2 * 9 && even_nuls == 0)
    {
        return crate::inf::decode_text(head);
    }
    let rest = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    if rest.iter().take(512).filter(|b| **b == 0).count() > 8 {
        return String::new(); // binary
    }
    // UTF-8, else ANSI (an INF in Windows-1252).
    crate::inf::decode_text(rest)
}

fn sniff_text(text: &str) -> Option<(Kind, String)> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let lower = first.to_ascii_lowercase();
    // Procmon's "Save as CSV": a quoted header row with its column names.
    if lower.contains("\"time of day\"")
        && lower.contains("\"operation\"")
        && lower.contains("\"process name\"")
    {
        let columns = first.split("\",\"").count();
        return Some((
            Kind::ProcmonCsv,
            format!("Procmon CSV export ({columns} columns)"),
        ));
    }
    // sigcheck -c / -ct: a header row naming Path and Verified, comma or tab separated.
    if (lower.contains(',') || lower.contains('\t'))
        && lower.contains("path")
        && lower.contains("verified")
    {
        let sep = if lower.contains('\t') { "tab" } else { "comma" };
        return Some((
            Kind::SigcheckCsv,
            format!("sigcheck export ({sep}-separated)"),
        ));
    }
    let head: String = text
        .lines()
        .take(6)
        .collect::<Vec<_>>()
        .join("\n")
        .to_ascii_lowercase();
    if head.contains("signature verification")
        && (head.contains("log file generated") || head.contains("scan results"))
    {
        return Some((Kind::SigverifLog, "sigverif log".into()));
    }
    if let Some(found) = sniff_windows_logs(text) {
        return Some(found);
    }
    if crate::inf::looks_like_inf(text) {
        // The head holds [Version]; the services and files come from the whole file.
        let inf = crate::inf::parse_text(text);
        return Some((Kind::Inf, inf.summary()));
    }
    if inf_preamble_only(text) {
        return Some((
            Kind::Inf,
            "driver INF (its [Version] lies past the first bytes read)".into(),
        ));
    }
    if let Some(at) = text.find("-----BEGIN CERTIFICATE-----") {
        let body = &text[at + 27..];
        let end = body.find("-----END CERTIFICATE-----").unwrap_or(body.len());
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let subject = crate::text::base64_decode(&b64)
            .and_then(|der| certificate_subject(&der))
            .map(|s| format!(", first subject {s}"))
            .unwrap_or_default();
        let n = text.matches("-----BEGIN CERTIFICATE-----").count();
        let more = if n > 1 {
            format!(" ({n} in the first {} KiB)", SNIFF_LEN / 1024)
        } else {
            String::new()
        };
        return Some((
            Kind::Certificate,
            format!("X.509 certificate (PEM){more}{subject}"),
        ));
    }
    None
}

/// A head that is nothing but an INF's licence comment (`; FTDIBUS.INF`, `; Copyright ...`): every
/// line a `;` comment (the last may be cut) and one naming a `.inf` file. A zipped INF is
/// sniffed from its first bytes only.
fn inf_preamble_only(text: &str) -> bool {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let whole = match lines.split_last() {
        Some((_, rest)) if !text.ends_with('\n') => rest,
        _ => &lines[..],
    };
    whole.len() >= 3
        && whole.iter().all(|l| l.starts_with(';'))
        && whole.iter().take(20).any(|l| {
            l.to_ascii_lowercase()
                .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
                .any(|w| w.len() > 4 && w.ends_with(".inf"))
        })
}

/// `YYYY-MM-DD HH:MM:SS, Level  Component ...` (CBS.log, dism.log): the component.
fn servicing_component(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if !(digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && b.get(10) == Some(&b' ')
        && digits(11..13)
        && digits(14..16)
        && digits(17..19)
        && b.get(19) == Some(&b','))
    {
        return None;
    }
    let mut words = line.get(20..)?.split_whitespace();
    let level = words.next()?;
    if !matches!(level, "Info" | "Error" | "Warning" | "Perf" | "Trace") {
        return None;
    }
    words.next()
}

/// setupapi.dev.log / setupapi.app.log, CBS.log, dism.log and ntbtlog.txt, by their lines.
fn sniff_windows_logs(text: &str) -> Option<(Kind, String)> {
    let lines: Vec<&str> = text.lines().take(200).collect();
    // A WER manifest: `Version=` and `EventType=` lines, whatever the file is called.
    let value = |key: &str| {
        lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(key).map(str::trim))
    };
    if let (Some(_), Some(event_type)) = (value("Version="), value("EventType=")) {
        let event_type: String = event_type.chars().take(40).collect();
        return Some((
            Kind::WerReport,
            format!("Windows Error Reporting manifest ({event_type})"),
        ));
    }
    // SetupAPI: a "[Device Install Log]" header, or sections ">>>  [..." / "<<<  [Exit status".
    let setupapi_header = lines.iter().find(|l| {
        let t = l.trim();
        t.starts_with("[Device Install Log]")
            || t.starts_with("[Application Install Log]")
            || t.starts_with("[SetupAPI")
    });
    let sections = lines
        .iter()
        .filter(|l| {
            l.starts_with(">>>  [") || l.starts_with("<<<  [") || l.starts_with("[Boot Session:")
        })
        .count();
    if setupapi_header.is_some() || sections >= 2 {
        let os = lines
            .iter()
            .find_map(|l| l.trim().strip_prefix("OS Version = "))
            .map(|v| format!(", OS version {}", v.trim()))
            .unwrap_or_default();
        let which = match setupapi_header.map(|h| h.trim()) {
            Some(h) if h.starts_with("[Application") => "application install",
            Some(h) if h.starts_with("[Device") => "device install",
            _ => "install",
        };
        return Some((Kind::SetupapiLog, format!("SetupAPI {which} log{os}")));
    }
    let mut cbs = 0;
    let mut dism = 0;
    for l in &lines {
        match servicing_component(l) {
            Some("CBS" | "CSI" | "TI" | "CBS:") => cbs += 1,
            Some(c) if c.eq_ignore_ascii_case("DISM") => dism += 1,
            _ => {}
        }
    }
    if cbs + dism >= 1 {
        let first_time = lines
            .iter()
            .find(|l| servicing_component(l).is_some())
            .and_then(|l| l.get(..19))
            .unwrap_or_default();
        return Some(if dism > cbs {
            (Kind::DismLog, format!("DISM log from {first_time}"))
        } else {
            (Kind::CbsLog, format!("CBS servicing log from {first_time}"))
        });
    }
    let loaded = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("Loaded driver "))
        .count();
    let not_loaded = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("Did not load driver "))
        .count();
    if loaded + not_loaded >= 1 {
        let version = lines
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with("Microsoft (R) Windows"))
            .map(|v| format!(", {v}"))
            .unwrap_or_default();
        return Some((
            Kind::Ntbtlog,
            format!(
                "Windows boot log (ntbtlog){version}: {loaded} loaded, {not_loaded} not loaded in the first lines"
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(b"PML_\x09\0\0\0\x01\0\0\0").0, Kind::ProcmonLog);
        assert_eq!(sniff(b"ElfFile\0rest").0, Kind::EventLog);
        assert_eq!(sniff(b"MDMP\x93\xa7").0, Kind::UserDump);
        assert_eq!(sniff(b"regf\x01\0\0\0\x01\0\0\0").0, Kind::RegistryHive);
        assert_eq!(sniff(b"hello world").0, Kind::Unknown);
        assert_eq!(sniff(b"").0, Kind::Unknown);
    }

    #[test]
    fn dump_types_are_named() {
        let mut h = vec![0u8; SNIFF_LEN];
        h[..8].copy_from_slice(b"PAGEDU64");
        h[0xf98] = 5;
        h[0x2000..0x2004].copy_from_slice(b"SDMP");
        assert_eq!(
            sniff(&h),
            (
                Kind::CrashDump,
                "64-bit kernel dump, bitmap kernel (SDMP)".into()
            )
        );
        h[0xf98] = 4;
        assert!(sniff(&h).1.contains("triage"));
        assert!(sniff(b"PAGEDU64").1.contains("cut short"));
    }

    #[test]
    fn text_exports() {
        let csv = "\"Path\",\"Verified\",\"Date\",\"Publisher\"\r\n\"c:\\windows\\system32\\drivers\\filecrypt.sys\",\"Unsigned\",\"n/a\",\"n/a\"\r\n";
        assert_eq!(sniff(csv.as_bytes()).0, Kind::SigcheckCsv);
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(csv.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(sniff(&utf16).0, Kind::SigcheckCsv);
        let sigverif = "\r\n********************************\r\n\r\nMicrosoft Signature Verification\r\n\r\nLog file generated on 5/1/2024 at 10:00 AM\r\n";
        assert_eq!(sniff(sigverif.as_bytes()).0, Kind::SigverifLog);
    }

    #[test]
    fn case_text_logs_and_transaction_logs() {
        // ntbtlog.txt in UTF-16LE without a BOM, cut off mid-line and mid-character.
        let ntbt: Vec<u8> = "Microsoft (R) Windows (R) Version 10.0 (Build 14393)\r\nLoaded driver \\SystemRoot\\system32\\ntoskrnl.exe\r\nDid not load driver \\SystemRoot\\sys"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let (kind, detail) = sniff(&ntbt[..ntbt.len() - 1]);
        assert_eq!(kind, Kind::Ntbtlog, "{detail}");
        assert!(detail.contains("1 loaded, 1 not loaded"), "{detail}");
        let cbs = b"2024-05-14 02:13:01, Info                  CBS    Loaded Servicing Stack v10.0.14393.6795 with Core: C:\\Win";
        assert_eq!(sniff(cbs).0, Kind::CbsLog);
        let dism = b"2024-05-14 02:20:00, Info                  DISM   DISM.EXE: <----- Starting Dism.exe session ----->\r\n";
        assert_eq!(sniff(dism).0, Kind::DismLog);
        assert_eq!(
            sniff(b"\xef\xbb\xbf[Device Install Log]\r\n     OS Version = 10.0.19045\r\n").0,
            Kind::SetupapiLog
        );
        // Not every dated line is a servicing log, nor every text an INF.
        assert_eq!(
            sniff(b"2024-05-14 02:13:01, hello world\n").0,
            Kind::Unknown
        );
        assert_eq!(sniff(b"[Version]\nfoo=bar\n").0, Kind::Unknown);
        assert_eq!(sniff(b"{\"a\": 1}").0, Kind::Unknown);
        // A transaction log's base block: file type 6 (new format), the hive from its name.
        let mut log = vec![0u8; SNIFF_LEN];
        log[..4].copy_from_slice(b"regf");
        log[0x1c] = 6;
        let name: Vec<u8> = "\\SystemRoot\\System32\\Config\\SYSTEM"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        // The field holds the path's last 31 characters.
        let tail = &name[name.len() - 62..];
        log[0x30..0x30 + tail.len()].copy_from_slice(tail);
        log[0x200..0x204].copy_from_slice(b"HvLE");
        let (kind, detail) = sniff(&log);
        assert_eq!(kind, Kind::RegistryLog);
        assert!(
            detail.contains("of SYSTEM (new format, HvLE entries"),
            "{detail}"
        );
        log[0x1c] = 0;
        assert_eq!(sniff(&log).0, Kind::RegistryHive);
    }

    #[test]
    fn a_wer_manifest_by_its_lines_in_utf16_or_utf8() {
        let text = "Version=1\r\nEventType=BlueScreen\r\nEventTime=133569540000000000\r\nSig[0].Name=BCCode\r\nSig[0].Value=5a\r\n";
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        for bytes in [utf16, text.as_bytes().to_vec()] {
            let (kind, detail) = sniff(&bytes);
            assert_eq!(kind, Kind::WerReport, "{detail}");
            assert!(detail.contains("BlueScreen"), "{detail}");
        }
        // Name=Value lines without EventType are not a manifest.
        assert_ne!(sniff(b"Version=1\r\nName=x\r\n").0, Kind::WerReport);
    }

    #[test]
    fn an_inf_licence_preamble_is_an_inf() {
        let mut t = String::from("; FTDIBUS.INF\r\n;\r\n; Copyright (c) 2000-2021 Someone\r\n");
        while t.len() < SNIFF_LEN {
            t.push_str("; licence text that goes on and on, as vendors write it\r\n");
        }
        let head = &t.as_bytes()[..SNIFF_LEN];
        assert_eq!(sniff(head).0, Kind::Inf);
        // Comments alone are not enough: one must name an INF.
        let ini = "; settings\n; more\n; and more\n";
        assert_eq!(sniff(ini.as_bytes()).0, Kind::Unknown);
    }

    #[test]
    fn details_hold_no_control_characters() {
        let inf = "[Version]\r\nSignature=\"$Windows NT$\"\r\nProvider=Evil\u{1b}[2J\u{7}Corp\r\n";
        let (kind, detail) = sniff(inf.as_bytes());
        assert_eq!(kind, Kind::Inf);
        assert!(!detail.chars().any(char::is_control), "{detail:?}");
        assert!(detail.contains("Evil?[2J?Corp"), "{detail:?}");
    }

    #[test]
    fn wrappers() {
        assert_eq!(Wrapper::sniff(&[0x78, 0x9c, 0]), Some(Wrapper::Zlib));
        assert_eq!(Wrapper::sniff(&[0x78, 0x01]), Some(Wrapper::Zlib));
        assert_eq!(Wrapper::sniff(&[0x78, 0x9d]), None);
        assert_eq!(Wrapper::sniff(b"PK\x03\x04"), Some(Wrapper::Zip));
        assert_eq!(Wrapper::sniff(b"MZ\x90\0"), None);
    }
}
