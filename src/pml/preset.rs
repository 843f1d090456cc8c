//! The Timeline's rule list as data: filter and highlight rules, each on or off ([`RuleEntry`]);
//! presets saved and loaded as TOML (`~/.config/bsodwb/filters/NAME.toml`, under
//! `$XDG_CONFIG_HOME` when set); Procmon's own configuration files (`.PMC`, and filter files
//! in the same record format) imported; and Tab completion of a rule being typed (columns,
//! relations, include/exclude).
//!
//! Procmon's configuration format (docs/PMC Format.md of procmon-parser, which the tests use as
//! the oracle): a run of records `u32 record size, u32 0x10, u32 0x10 + name bytes, u32 data
//! size, UTF-16 name, data`; the `FilterRules` and `HighlightRules` records hold `u8 1, u32
//! count` and per rule `u32 column id, u32 relation, u8 include, u32 value bytes, UTF-16
//! value, u32 value as integer, u32 reserved`.

use super::{Column, Filter, Relation, Rule};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a rule of the list does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// Includes or excludes events (`bsodwb pml --filter`).
    Filter,
    /// Marks matching events without hiding any.
    Highlight,
}

/// One rule of the list, switched on or off (an off rule stays listed and does nothing).
#[derive(Clone, Debug, PartialEq)]
pub struct RuleEntry {
    pub rule: Rule,
    pub kind: RuleKind,
    pub on: bool,
}

impl RuleEntry {
    pub fn new(rule: Rule, kind: RuleKind) -> RuleEntry {
        RuleEntry {
            rule,
            kind,
            on: true,
        }
    }
}

/// The rules of `kind` that are on, as one filter.
pub fn active(entries: &[RuleEntry], kind: RuleKind) -> Filter {
    Filter {
        rules: entries
            .iter()
            .filter(|e| e.on && e.kind == kind)
            .map(|e| e.rule.clone())
            .collect(),
    }
}

/// Why a preset could not be saved, loaded or imported.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error(
        "preset name {0:?}: use letters, digits, '-', '_' or '.' (at most 64, not starting with '.')"
    )]
    Name(String),
    #[error("no configuration folder: neither $XDG_CONFIG_HOME nor $HOME is set")]
    NoConfigDir,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Bad { path: PathBuf, why: String },
}

/// Presets and imports larger than this are refused (a preset is a few hundred bytes; a
/// Procmon configuration file a few kilobytes).
pub const MAX_PRESET_BYTES: u64 = 1024 * 1024;

/// The folder presets live in: `$XDG_CONFIG_HOME/bsodwb/filters`, else
/// `$HOME/.config/bsodwb/filters`.
pub fn presets_dir() -> Option<PathBuf> {
    Some(dirs::config_dir()?.join("bsodwb").join("filters"))
}

fn check_name(name: &str) -> Result<(), PresetError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(PresetError::Name(
            crate::escape::escape_field(name).into_owned(),
        ))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    #[serde(default)]
    rule: Vec<PresetRule>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetRule {
    kind: RuleKind,
    /// The rule as `bsodwb pml --filter` takes it.
    rule: String,
    #[serde(default = "yes")]
    on: bool,
}

fn yes() -> bool {
    true
}

/// The TOML text of a rule list.
pub fn to_toml(entries: &[RuleEntry]) -> String {
    let file = PresetFile {
        rule: entries
            .iter()
            .map(|e| PresetRule {
                kind: e.kind,
                rule: e.rule.to_string(),
                on: e.on,
            })
            .collect(),
    };
    let body = toml::to_string(&file).unwrap_or_default();
    format!(
        "# bsodwb Timeline filter preset: each rule as `bsodwb pml --filter` takes it.\n\
         # kind = \"filter\" or \"highlight\"; on = false keeps a rule listed but unused.\n\n{body}"
    )
}

/// A rule list from a preset's TOML text (`path` names it in errors).
pub fn from_toml(text: &str, path: &Path) -> Result<Vec<RuleEntry>, PresetError> {
    let bad = |why: String| PresetError::Bad {
        path: path.to_path_buf(),
        why,
    };
    let file: PresetFile = toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
    file.rule
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            Rule::parse(&r.rule)
                .map(|rule| RuleEntry {
                    rule,
                    kind: r.kind,
                    on: r.on,
                })
                .map_err(|e| bad(format!("rule {}: {e}", i + 1)))
        })
        .collect()
}

/// Save `entries` as preset `name` in `dir` (created when missing); the file written.
pub fn save_in(dir: &Path, name: &str, entries: &[RuleEntry]) -> Result<PathBuf, PresetError> {
    check_name(name)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PresetError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, to_toml(entries)).map_err(io(&path))?;
    Ok(path)
}

/// Load preset `name` from `dir`.
pub fn load_in(dir: &Path, name: &str) -> Result<Vec<RuleEntry>, PresetError> {
    check_name(name)?;
    let path = dir.join(format!("{name}.toml"));
    let bytes = read_bounded(&path)?;
    let text = String::from_utf8(bytes).map_err(|e| PresetError::Bad {
        path: path.clone(),
        why: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })?;
    from_toml(&text, &path)
}

/// The presets saved in `dir`, by name, sorted.
pub fn list_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".toml")?.to_string();
            check_name(&stem).ok().map(|()| stem)
        })
        .collect();
    names.sort();
    names
}

/// A regular file's bytes, at most [`MAX_PRESET_BYTES`].
fn read_bounded(path: &Path) -> Result<Vec<u8>, PresetError> {
    use std::io::Read;
    let io = |source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(PresetError::Bad {
            path: path.to_path_buf(),
            why: "not a regular file".into(),
        });
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_PRESET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_PRESET_BYTES {
        return Err(PresetError::Bad {
            path: path.to_path_buf(),
            why: format!("larger than {MAX_PRESET_BYTES} bytes"),
        });
    }
    Ok(bytes)
}

/// Procmon's numeric column ids (procmon-parser's `Column`) for the columns bsodwb filters on.
const PROCMON_COLUMNS: &[(u32, Column)] = &[
    (40052, Column::DateTime),
    (40053, Column::ProcessName),
    (40054, Column::Pid),
    (40055, Column::Operation),
    (40056, Column::Result),
    (40057, Column::Detail),
    (40064, Column::Company),
    (40065, Column::Description),
    (40066, Column::CommandLine),
    (40067, Column::User),
    (40068, Column::ImagePath),
    (40069, Column::Session),
    (40071, Column::Path),
    (40072, Column::Tid),
    (40076, Column::RelativeTime),
    (40077, Column::Duration),
    (40078, Column::TimeOfDay),
    (40081, Column::Version),
    (40082, Column::EventClass),
    (40083, Column::AuthenticationId),
    (40084, Column::Virtualized),
    (40085, Column::Integrity),
    (40086, Column::Category),
    (40087, Column::ParentPid),
    (40088, Column::Architecture),
];

/// Procmon's relation numbers, in order (0 is, 1 is not, ... 7 excludes).
const PROCMON_RELATIONS: [Relation; 8] = [
    Relation::Is,
    Relation::IsNot,
    Relation::LessThan,
    Relation::MoreThan,
    Relation::BeginsWith,
    Relation::EndsWith,
    Relation::Contains,
    Relation::Excludes,
];

/// What an import read: the rules, and the ones left out with why.
#[derive(Debug, Default)]
pub struct Imported {
    pub entries: Vec<RuleEntry>,
    pub skipped: Vec<String>,
}

/// Read the filter and highlight rules of a Procmon configuration file.
pub fn import_procmon(path: &Path) -> Result<Imported, PresetError> {
    let bytes = read_bounded(path)?;
    parse_procmon(&bytes).map_err(|why| PresetError::Bad {
        path: path.to_path_buf(),
        why,
    })
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..end])
}

/// The rules of a Procmon configuration file's bytes; an error names the offset.
pub fn parse_procmon(b: &[u8]) -> Result<Imported, String> {
    let mut out = Imported::default();
    let mut at = 0usize;
    let mut found = false;
    while at < b.len() {
        let head = |k: usize| u32_at(b, at + 4 * k).map(|v| v as usize);
        let (Some(size), Some(hdr), Some(hdr_name), Some(data)) =
            (head(0), head(1), head(2), head(3))
        else {
            return Err(format!("offset {at}: a record header cut short"));
        };
        if hdr != 0x10 || hdr_name < 0x10 || hdr_name.checked_add(data) != Some(size) {
            return Err(format!(
                "offset {at}: not a Procmon configuration record (sizes {size}, {hdr}, {hdr_name}, {data})"
            ));
        }
        let end = at
            .checked_add(size)
            .filter(|&e| e <= b.len())
            .ok_or_else(|| format!("offset {at}: a record of {size} bytes runs past the end"))?;
        let name = utf16(&b[at + 0x10..at + hdr_name]);
        let kind = match name.as_str() {
            "FilterRules" => Some(RuleKind::Filter),
            "HighlightRules" => Some(RuleKind::Highlight),
            _ => None,
        };
        if let Some(kind) = kind {
            found = true;
            parse_rules(&b[at + hdr_name..end], at + hdr_name, kind, &mut out)?;
        }
        at = end;
    }
    if !found {
        return Err("no FilterRules or HighlightRules record".into());
    }
    Ok(out)
}

fn parse_rules(d: &[u8], base: usize, kind: RuleKind, out: &mut Imported) -> Result<(), String> {
    let count = u32_at(d, 1).ok_or_else(|| format!("offset {base}: a rule list cut short"))?;
    let mut at = 5usize;
    for n in 0..count {
        let start = at;
        let cut = || format!("offset {}: rule {} cut short", base + start, n + 1);
        let column = u32_at(d, at).ok_or_else(cut)?;
        let relation = u32_at(d, at + 4).ok_or_else(cut)?;
        let include = *d.get(at + 8).ok_or_else(cut)? != 0;
        let len = u32_at(d, at + 9).ok_or_else(cut)? as usize;
        let value_at = at + 13;
        let value = d
            .get(value_at..value_at.checked_add(len).ok_or_else(cut)?)
            .ok_or_else(cut)?;
        let value = utf16(value);
        at = value_at + len + 8;
        if at > d.len() {
            return Err(cut());
        }
        let col = PROCMON_COLUMNS.iter().find(|(id, _)| *id == column);
        let rel = PROCMON_RELATIONS.get(relation as usize);
        match (col, rel) {
            (Some((_, c)), Some(r)) => {
                let text = format!(
                    "{} {} {value} {}",
                    c.name(),
                    r.name(),
                    if include { "include" } else { "exclude" }
                );
                match Rule::parse(&text) {
                    Ok(rule) => out.entries.push(RuleEntry::new(rule, kind)),
                    Err(e) => out.skipped.push(e.to_string()),
                }
            }
            _ => out.skipped.push(format!(
                "rule {}: column {column} / relation {relation} is not one bsodwb filters on",
                n + 1
            )),
        }
    }
    Ok(())
}

/// What Tab does to a rule being typed: the completed text (`None`: nothing to add) and the
/// choices left when several fit.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Completion {
    pub text: Option<String>,
    pub choices: Vec<&'static str>,
}

/// The longest text every candidate starts with (case-insensitively; spelled as the first).
fn common_prefix(c: &[&'static str]) -> String {
    let Some(first) = c.first() else {
        return String::new();
    };
    let mut n = first.len();
    for other in &c[1..] {
        n = first
            .chars()
            .zip(other.chars())
            .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
            .map(|(a, _)| a.len_utf8())
            .sum::<usize>()
            .min(n);
    }
    first[..n].to_string()
}

/// Complete `prefix` (the words typed) against `candidates`, after `head` (what is already
/// settled).
fn complete_word(head: &str, prefix: &str, candidates: &[&'static str]) -> Completion {
    let hits: Vec<&'static str> = candidates
        .iter()
        .copied()
        .filter(|c| {
            c.len() >= prefix.len()
                && c.get(..prefix.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        })
        .collect();
    if hits.is_empty() {
        return Completion::default();
    }
    let common = common_prefix(&hits);
    let exact_one = hits.len() == 1;
    let text = format!("{head}{common}{}", if exact_one { " " } else { "" });
    let typed = format!("{head}{prefix}");
    Completion {
        text: (text != typed).then_some(text),
        choices: if exact_one { Vec::new() } else { hits },
    }
}

/// Tab in the rule editor: the column name, then the relation, then include/exclude.
pub fn complete_rule(typed: &str) -> Completion {
    let t = typed.trim_start();
    let columns: Vec<&'static str> = Column::ALL.iter().map(|(_, n)| *n).collect();
    let relations: Vec<&'static str> = Relation::ALL.iter().map(|(_, n)| *n).collect();
    // The longest column name the text starts with, followed by a space.
    let settled = |text: &str, names: &[&'static str]| -> Option<usize> {
        names
            .iter()
            .filter(|n| {
                text.len() > n.len()
                    && text
                        .get(..n.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(n))
                    && text[n.len()..].starts_with(' ')
            })
            .map(|n| n.len() + 1)
            .max()
    };
    let Some(c) = settled(t, &columns) else {
        return complete_word("", t, &columns);
    };
    let (head, rest) = t.split_at(c);
    // "is n" is on its way to "is not", not the value "n" of "is".
    let longer = relations.iter().any(|n| {
        n.len() > rest.len()
            && n.get(..rest.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(rest))
    });
    let settled_relation = if longer {
        None
    } else {
        settled(rest, &relations)
    };
    let Some(r) = settled_relation else {
        // "is" may still become "is not": offer both.
        return complete_word(head, rest, &relations);
    };
    let (rel, value) = rest.split_at(r);
    match value.rsplit_once(' ') {
        Some((v, last)) if !v.trim().is_empty() && !last.is_empty() => {
            let c = complete_word(&format!("{head}{rel}{v} "), last, &["include", "exclude"]);
            Completion {
                text: c.text.map(|s| s.trim_end().to_string()),
                choices: c.choices,
            }
        }
        _ => Completion::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_completes_columns_relations_and_the_action() {
        assert_eq!(complete_rule("pat").text.as_deref(), Some("Path "));
        assert_eq!(complete_rule("pa").choices, ["Path", "Parent PID"]);
        let p = complete_rule("P");
        assert_eq!(p.text, None);
        assert!(p.choices.contains(&"Path") && p.choices.contains(&"PID"));
        assert_eq!(complete_rule("Proc").text.as_deref(), Some("Process Name "));
        assert_eq!(
            complete_rule("Path en").text.as_deref(),
            Some("Path ends with ")
        );
        let is = complete_rule("Path is");
        assert_eq!(is.text, None);
        assert_eq!(is.choices, ["is not", "is"]);
        assert_eq!(
            complete_rule("Path is n").text.as_deref(),
            Some("Path is not ")
        );
        assert_eq!(
            complete_rule("Path ends with .sys ex").text.as_deref(),
            Some("Path ends with .sys exclude")
        );
        assert_eq!(complete_rule("Path ends with .sys"), Completion::default());
        assert_eq!(complete_rule("zz"), Completion::default());
    }

    #[test]
    fn presets_round_trip_with_kinds_and_off_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut entries = vec![
            RuleEntry::new(
                Rule::parse("Path ends with .sys").expect("rule"),
                RuleKind::Filter,
            ),
            RuleEntry::new(
                Rule::parse("Result is NAME NOT FOUND exclude").expect("rule"),
                RuleKind::Filter,
            ),
            RuleEntry::new(
                Rule::parse("Process Name is System").expect("rule"),
                RuleKind::Highlight,
            ),
        ];
        entries[1].on = false;
        let path = save_in(dir.path(), "boot-drivers", &entries).expect("save");
        assert_eq!(path, dir.path().join("boot-drivers.toml"));
        assert_eq!(load_in(dir.path(), "boot-drivers").expect("load"), entries);
        assert_eq!(list_in(dir.path()), ["boot-drivers"]);
        assert_eq!(active(&entries, RuleKind::Filter).rules.len(), 1);
        // Names that would leave the folder, bad files: errors naming the cause.
        assert!(matches!(
            save_in(dir.path(), "../x", &entries),
            Err(PresetError::Name(_))
        ));
        std::fs::write(
            dir.path().join("bad.toml"),
            "[[rule]]\nkind = \"filter\"\nrule = \"Nope is x\"\n",
        )
        .expect("write");
        let e = load_in(dir.path(), "bad")
            .expect_err("bad rule")
            .to_string();
        assert!(e.contains("bad.toml") && e.contains("rule 1"), "{e}");
        assert!(load_in(dir.path(), "missing").is_err());
    }

    #[test]
    fn procmon_records_cut_or_forged_are_errors_not_panics() {
        assert!(parse_procmon(b"").unwrap_err().contains("no FilterRules"));
        assert!(
            parse_procmon(&[0x20, 0, 0, 0, 0x10])
                .unwrap_err()
                .contains("cut short")
        );
        // A record whose sizes do not add up.
        let mut rec = Vec::new();
        for v in [0x40u32, 0x10, 0x30, 0x20] {
            rec.extend_from_slice(&v.to_le_bytes());
        }
        assert!(
            parse_procmon(&rec)
                .unwrap_err()
                .contains("not a Procmon configuration record")
        );
        // A FilterRules record claiming a billion rules in a few bytes.
        let name: Vec<u8> = "FilterRules\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut data = vec![1u8];
        data.extend_from_slice(&1_000_000_000u32.to_le_bytes());
        let mut rec = Vec::new();
        let hn = 0x10 + name.len() as u32;
        for v in [hn + data.len() as u32, 0x10, hn, data.len() as u32] {
            rec.extend_from_slice(&v.to_le_bytes());
        }
        rec.extend_from_slice(&name);
        rec.extend_from_slice(&data);
        assert!(
            parse_procmon(&rec)
                .unwrap_err()
                .contains("rule 1 cut short")
        );
    }
}
