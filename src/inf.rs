//! Driver INF files: what a driver package says it is and installs.
//!
//! An INF is an ini-like text (UTF-16LE with a BOM, or UTF-8/ANSI): `[Section]` headers,
//! `key = value, value` lines, `;` comments, `\` line continuations and `%token%` strings from
//! `[Strings]`. From it we read the `[Version]` section (Provider, DriverVer, CatalogFile, Class),
//! the services `AddService` directives install (with their service-install section's binary,
//! start type and error control), and the files the package copies (`CopyFiles` sections and
//! `SourceDisksFiles`). `analysis::driver_packages` links each INF of a case to the catalog and
//! the driver files the case holds. The reader is tolerant: a cut-off last line, odd encodings or a missing
//! section give what was readable, never an error.

use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Largest INF read (real ones are well under 1 MiB).
pub const MAX_INF_BYTES: usize = 16 << 20;

/// Most services and files kept from one INF.
pub const MAX_LIST: usize = 4096;

/// A service an INF installs (`AddService = name, flags, install-section`).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct InfService {
    pub name: String,
    /// `ServiceBinary`, e.g. `%12%\ftdibus.sys` with dirids as written.
    pub binary: Option<String>,
    pub start_type: Option<u32>,
    pub service_type: Option<u32>,
    pub error_control: Option<u32>,
    pub load_order_group: Option<String>,
}

/// What an INF declares.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Inf {
    pub signature: Option<String>,
    pub class: Option<String>,
    pub provider: Option<String>,
    /// `DriverVer`'s date (`mm/dd/yyyy`) and version.
    pub driver_date: Option<String>,
    pub driver_version: Option<String>,
    /// `CatalogFile` and its per-architecture variants (`CatalogFile.NTamd64`), deduplicated.
    pub catalog_files: Vec<String>,
    pub services: Vec<InfService>,
    /// File names the package copies (CopyFiles and SourceDisksFiles), deduplicated, in order.
    pub files: Vec<String>,
}

impl Inf {
    /// The driver (`.sys`) files among [`Inf::files`] and the services' binaries.
    pub fn driver_files(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let binaries = self
            .services
            .iter()
            .filter_map(|s| s.binary.as_deref())
            .map(|b| b.rsplit(['\\', '/']).next().unwrap_or(b).to_string());
        for f in self.files.iter().cloned().chain(binaries) {
            if f.to_ascii_lowercase().ends_with(".sys")
                && !out.iter().any(|o| o.eq_ignore_ascii_case(&f))
            {
                out.push(f);
            }
        }
        out
    }

    /// One line for `bsodwb scan`.
    pub fn summary(&self) -> String {
        let mut parts = vec!["driver INF".to_string()];
        if let Some(p) = &self.provider {
            parts.push(format!("provider {p}"));
        }
        if let Some(v) = &self.driver_version {
            parts.push(format!(
                "DriverVer {}{v}",
                self.driver_date
                    .as_deref()
                    .map(|d| format!("{d} "))
                    .unwrap_or_default()
            ));
        }
        if !self.catalog_files.is_empty() {
            parts.push(format!("catalog {}", self.catalog_files.join(" ")));
        }
        if !self.services.is_empty() {
            let names: Vec<&str> = self.services.iter().map(|s| s.name.as_str()).collect();
            parts.push(format!("services {}", names.join(" ")));
        }
        let drivers = self.driver_files();
        if !drivers.is_empty() {
            parts.push(format!("drivers {}", drivers.join(" ")));
        }
        parts.join(", ")
    }
}

/// The text of an INF: UTF-16LE/BE by BOM (or by NUL bytes in every other place), UTF-8 with or
/// without BOM, else ANSI (Windows-1252's Latin-1 subset). An odd trailing byte is dropped.
pub fn decode_text(bytes: &[u8]) -> String {
    crate::text::decode_text(&bytes[..bytes.len().min(MAX_INF_BYTES)])
}

/// Sections of an INF: lower-cased name → its lines (comments stripped, continuations joined).
fn sections(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut pending = String::new();
    for raw in text.split(['\n', '\r']) {
        let line = strip_comment(raw);
        let line = line.trim();
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            continue;
        }
        let line = if pending.is_empty() {
            line.to_string()
        } else {
            let mut s = std::mem::take(&mut pending);
            s.push_str(line);
            s
        };
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            if let Some(end) = line.find(']') {
                let name = line[1..end].trim().to_ascii_lowercase();
                out.entry(name.clone()).or_default();
                current = Some(name);
            }
            continue;
        }
        if let Some(sec) = &current {
            out.entry(sec.clone()).or_default().push(line);
        }
    }
    out
}

/// A line without its `;` comment (a `;` inside double quotes is text).
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

/// `key = value` (key lower-cased), or `None` for a line without `=`.
fn key_value(line: &str) -> Option<(String, &str)> {
    let (k, v) = line.split_once('=')?;
    Some((unquote(k.trim()).to_ascii_lowercase(), v.trim()))
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
}

/// The comma-separated fields of a value, unquoted.
fn fields(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in v.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

fn number(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Reads an INF's declarations from its bytes.
pub fn parse(bytes: &[u8]) -> Inf {
    parse_text(&decode_text(bytes))
}

/// Reads an INF's declarations from its text.
pub fn parse_text(text: &str) -> Inf {
    let secs = sections(text);
    let empty = Vec::new();
    let sec = |name: &str| secs.get(&name.to_ascii_lowercase()).unwrap_or(&empty);
    // %token% → [Strings] value (the first Strings section wins; localized ones fill gaps).
    let mut strings: BTreeMap<String, String> = BTreeMap::new();
    for (name, lines) in &secs {
        if name == "strings" || name.starts_with("strings.") {
            for l in lines {
                if let Some((k, v)) = key_value(l) {
                    strings.entry(k).or_insert_with(|| unquote(v).to_string());
                }
            }
        }
    }
    let subst = |s: &str| -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(a) = rest.find('%') {
            out.push_str(&rest[..a]);
            let after = &rest[a + 1..];
            match after.find('%') {
                Some(b) => {
                    let token = &after[..b];
                    match strings.get(&token.to_ascii_lowercase()) {
                        Some(v) => out.push_str(v),
                        None => {
                            out.push('%');
                            out.push_str(token);
                            out.push('%');
                        }
                    }
                    rest = &after[b + 1..];
                }
                None => {
                    out.push_str(&rest[a..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        unquote(&out).to_string()
    };
    let mut inf = Inf::default();
    for l in sec("Version") {
        let Some((k, v)) = key_value(l) else { continue };
        match k.as_str() {
            "signature" => inf.signature = Some(subst(v)),
            "class" => inf.class = Some(subst(v)),
            "provider" => inf.provider = Some(subst(v)),
            "driverver" => {
                let f = fields(v);
                inf.driver_date = f.first().filter(|s| !s.is_empty()).map(|s| subst(s));
                inf.driver_version = f.get(1).filter(|s| !s.is_empty()).map(|s| subst(s));
            }
            k if k == "catalogfile" || k.starts_with("catalogfile.") => {
                let c = subst(v);
                if !c.is_empty() && !inf.catalog_files.iter().any(|x| x.eq_ignore_ascii_case(&c)) {
                    inf.catalog_files.push(c);
                }
            }
            _ => {}
        }
    }
    // Hostile INFs: lists are capped and deduplicated through sets, and each CopyFiles
    // section is expanded once, so no input makes this quadratic.
    let mut seen_files: HashSet<String> = HashSet::new();
    let mut seen_services: HashSet<String> = HashSet::new();
    let mut expanded: HashSet<String> = HashSet::new();
    let push_file = |inf: &mut Inf, seen: &mut HashSet<String>, f: String| {
        let f = f.trim().to_string();
        if !f.is_empty() && inf.files.len() < MAX_LIST && seen.insert(f.to_ascii_lowercase()) {
            inf.files.push(f);
        }
    };
    // Every directive in every section: AddService and CopyFiles.
    for lines in secs.values() {
        for l in lines {
            let Some((k, v)) = key_value(l) else { continue };
            if k == "addservice" {
                let f = fields(v);
                let name = subst(f.first().map(String::as_str).unwrap_or_default());
                if name.is_empty()
                    || inf.services.len() >= MAX_LIST
                    || !seen_services.insert(name.to_ascii_lowercase())
                {
                    continue;
                }
                let mut svc = InfService {
                    name,
                    ..InfService::default()
                };
                if let Some(install) = f.get(2).filter(|s| !s.is_empty()) {
                    for il in sec(install) {
                        let Some((ik, iv)) = key_value(il) else {
                            continue;
                        };
                        match ik.as_str() {
                            "servicebinary" => svc.binary = Some(subst(iv)),
                            "starttype" => svc.start_type = number(&subst(iv)),
                            "servicetype" => svc.service_type = number(&subst(iv)),
                            "errorcontrol" => svc.error_control = number(&subst(iv)),
                            "loadordergroup" => svc.load_order_group = Some(subst(iv)),
                            _ => {}
                        }
                    }
                }
                inf.services.push(svc);
            } else if k == "copyfiles" {
                for item in fields(v) {
                    if let Some(file) = item.strip_prefix('@') {
                        push_file(&mut inf, &mut seen_files, subst(file));
                    } else if !item.is_empty() && expanded.insert(item.to_ascii_lowercase()) {
                        for fl in sec(&item) {
                            let first = fields(fl).into_iter().next().unwrap_or_default();
                            push_file(&mut inf, &mut seen_files, subst(&first));
                        }
                    }
                }
            }
        }
    }
    for (name, lines) in &secs {
        if name == "sourcedisksfiles" || name.starts_with("sourcedisksfiles.") {
            for l in lines {
                let key = key_value(l).map_or_else(|| l.clone(), |(k, _)| k);
                // key_value lower-cases the key; keep the spelling from the line.
                let spelled = l.split('=').next().map(unquote).unwrap_or(&key).to_string();
                push_file(&mut inf, &mut seen_files, subst(&spelled));
            }
        }
    }
    inf
}

/// Whether a text head looks like an INF: a `[Version]` section with a Signature of
/// `$Windows NT$`, `$Chicago$` or `$Windows 95$`.
pub fn looks_like_inf(text: &str) -> bool {
    let secs = sections(text);
    secs.get("version").is_some_and(|lines| {
        lines.iter().any(|l| {
            key_value(l).is_some_and(|(k, v)| {
                let v = unquote(v).to_ascii_lowercase();
                k == "signature"
                    && matches!(v.as_str(), "$windows nt$" | "$chicago$" | "$windows 95$")
            })
        })
    })
}

/// An INF of a case with the case files it points at.
#[derive(Clone, Debug, Serialize)]
pub struct InfPackage {
    /// The INF's path in the case.
    pub path: String,
    pub inf: Inf,
    /// Each declared catalog: the case file with that name (`None` when the case lacks it).
    pub catalogs: Vec<LinkedFile>,
    /// Each driver file the INF installs: the case file with that name, if any.
    pub drivers: Vec<LinkedFile>,
}

/// A file an INF names, and where it is in the case.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LinkedFile {
    pub name: String,
    pub in_case: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: &str = "; comment\r\n[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=USB\r\n\
        Provider=%FTDI% ; trailing comment\r\nCatalogFile=ftdibus.cat\r\nCatalogFile.NTamd64 = ftdibus.cat\r\n\
        DriverVer=07/05/2021,2.12.36.4\r\n\r\n[SourceDisksFiles.amd64]\r\nftdibus.sys = 1,amd64\r\nftbusui.dll = 1,amd64\r\n\
        [FtdiBus.NTamd64]\r\nCopyFiles=FtdiBus.NTamd64.Copy, @extra.sys\r\n[FtdiBus.NTamd64.Copy]\r\nftdibus.sys\r\n\
        [FtdiBus.NTamd64.Services]\r\nAddService = FTDIBUS, 0x00000002, FtdiBus.NT.AddService\r\n\
        [FtdiBus.NT.AddService]\r\nDisplayName = %SvcDesc%\r\nServiceType = 1\r\nStartType = 3\r\nErrorControl = 1\r\n\
        ServiceBinary = %12%\\ftdibus.sys\r\nLoadOrderGroup = Base\r\n[Strings]\r\nFTDI=\"FTDI; Ltd\"\r\nSvcDesc=\"USB Serial\"\r\n\
        [Cut]\r\nkey = val\\";

    #[test]
    fn reads_version_services_and_files() {
        let inf = parse_text(INF);
        assert_eq!(inf.provider.as_deref(), Some("FTDI; Ltd"));
        assert_eq!(inf.class.as_deref(), Some("USB"));
        assert_eq!(inf.driver_date.as_deref(), Some("07/05/2021"));
        assert_eq!(inf.driver_version.as_deref(), Some("2.12.36.4"));
        assert_eq!(inf.catalog_files, ["ftdibus.cat"]);
        assert_eq!(inf.services.len(), 1);
        let s = &inf.services[0];
        assert_eq!(s.name, "FTDIBUS");
        assert_eq!(s.binary.as_deref(), Some("%12%\\ftdibus.sys"));
        assert_eq!(
            (s.start_type, s.service_type, s.error_control),
            (Some(3), Some(1), Some(1))
        );
        assert_eq!(s.load_order_group.as_deref(), Some("Base"));
        assert_eq!(inf.files, ["ftdibus.sys", "extra.sys", "ftbusui.dll"]);
        assert_eq!(inf.driver_files(), ["ftdibus.sys", "extra.sys"]);
        assert!(looks_like_inf(INF));
        assert!(!looks_like_inf("[Version]\nfoo=bar\n"));
    }

    #[test]
    fn every_encoding_reads_the_same() {
        let want = parse_text(INF);
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(INF.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(parse(&utf16), want);
        let no_bom: Vec<u8> = INF.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(parse(&no_bom), want);
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain(INF.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(parse(&be), want);
        let utf8_bom: Vec<u8> = b"\xef\xbb\xbf".iter().copied().chain(INF.bytes()).collect();
        assert_eq!(parse(&utf8_bom), want);
        // ANSI: a Latin-1 byte in a string.
        let ansi = INF
            .replace("USB Serial", "USB S\u{e9}rie")
            .replace('\u{e9}', "\u{1}");
        let mut bytes = ansi.into_bytes();
        for b in &mut bytes {
            if *b == 1 {
                *b = 0xe9;
            }
        }
        assert_eq!(parse(&bytes).provider.as_deref(), Some("FTDI; Ltd"));
        // Cut anywhere: never a panic.
        for n in 0..utf16.len() {
            let _ = parse(&utf16[..n]);
        }
    }

    #[test]
    fn hostile_inf_stays_bounded() {
        // 20,000 CopyFiles lines naming one 20,000-line section, and 20,000 files.
        let mut t = String::from("[Version]\nSignature=$Windows NT$\n[Install]\n");
        for _ in 0..20_000 {
            t.push_str("CopyFiles = Big\nAddService = svc,,Svc\n");
        }
        t.push_str("[Big]\n");
        for i in 0..20_000 {
            t.push_str(&format!("f{i}.sys\n"));
        }
        let inf = parse_text(&t);
        assert_eq!(inf.files.len(), MAX_LIST);
        assert_eq!(inf.services.len(), 1);
    }
}
