//! Procmon's filter rules: `COLUMN RELATION VALUE [include|exclude]` (docs/formats/pml.md §20).
//! Includes on one column are OR-ed, different columns AND-ed, and any exclude wins. Columns the
//! index holds (path, process, operation, result, thread, time) are matched per distinct value
//! without decoding events; Detail and Category decode the event.

use super::index::EventIndex;
use super::render;
use super::{PmlLog, names};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// A column a rule can test: Procmon's column names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Column {
    TimeOfDay,
    ProcessName,
    Pid,
    Operation,
    Path,
    Result,
    Detail,
    DateTime,
    RelativeTime,
    Duration,
    EventClass,
    ImagePath,
    Company,
    Description,
    Version,
    User,
    AuthenticationId,
    Session,
    CommandLine,
    Tid,
    Virtualized,
    Integrity,
    Category,
    ParentPid,
    Architecture,
}

impl Column {
    /// Every column with its CSV header name.
    pub const ALL: &'static [(Column, &'static str)] = &[
        (Column::TimeOfDay, "Time of Day"),
        (Column::ProcessName, "Process Name"),
        (Column::Pid, "PID"),
        (Column::Operation, "Operation"),
        (Column::Path, "Path"),
        (Column::Result, "Result"),
        (Column::Detail, "Detail"),
        (Column::DateTime, "Date & Time"),
        (Column::RelativeTime, "Relative Time"),
        (Column::Duration, "Duration"),
        (Column::EventClass, "Event Class"),
        (Column::ImagePath, "Image Path"),
        (Column::Company, "Company"),
        (Column::Description, "Description"),
        (Column::Version, "Version"),
        (Column::User, "User"),
        (Column::AuthenticationId, "Authentication ID"),
        (Column::Session, "Session"),
        (Column::CommandLine, "Command Line"),
        (Column::Tid, "TID"),
        (Column::Virtualized, "Virtualized"),
        (Column::Integrity, "Integrity"),
        (Column::Category, "Category"),
        (Column::ParentPid, "Parent PID"),
        (Column::Architecture, "Architecture"),
    ];

    /// The CSV header name.
    pub fn name(self) -> &'static str {
        Column::ALL
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("", |(_, n)| n)
    }
}

/// Procmon's relations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Relation {
    Is,
    IsNot,
    LessThan,
    MoreThan,
    BeginsWith,
    EndsWith,
    Contains,
    Excludes,
}

impl Relation {
    /// Every relation with its name ("is not" before "is", as a parser must try them).
    pub const ALL: &'static [(Relation, &'static str)] = &[
        (Relation::IsNot, "is not"),
        (Relation::Is, "is"),
        (Relation::LessThan, "less than"),
        (Relation::MoreThan, "more than"),
        (Relation::BeginsWith, "begins with"),
        (Relation::EndsWith, "ends with"),
        (Relation::Contains, "contains"),
        (Relation::Excludes, "excludes"),
    ];

    pub fn name(self) -> &'static str {
        Relation::ALL
            .iter()
            .find(|(r, _)| *r == self)
            .map_or("", |(_, n)| n)
    }
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    pub column: Column,
    pub relation: Relation,
    pub value: String,
    /// Include (true) or exclude.
    pub include: bool,
    /// `value` lower-cased, for case-insensitive matching.
    #[serde(skip)]
    lower: String,
    /// The value as seconds, for ordering a Time of Day or Relative Time rule.
    #[serde(skip)]
    seconds: Option<f64>,
}

/// A rule that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("filter rule {0:?}: expected a column name first (e.g. Path, Process Name, Result)")]
    Column(String),
    #[error(
        "filter rule {0:?}: expected a relation after the column (is, is not, less than, more than, begins with, ends with, contains, excludes)"
    )]
    Relation(String),
    #[error("filter rule {rule:?}: {why}")]
    Value { rule: String, why: String },
}

/// Columns whose cells are numbers (integers, or seconds for Duration).
fn is_numeric_column(c: Column) -> bool {
    matches!(
        c,
        Column::Pid | Column::Tid | Column::Session | Column::ParentPid | Column::Duration
    )
}

/// Seconds since midnight (Time of Day, `7:37:18.1234567 AM` or `19:37:18`) or since the
/// start of the log (Relative Time, `00:01:02.5`); `None` for anything else.
fn parse_clock(s: &str, column: Column) -> Option<f64> {
    let s = s.trim();
    let (clock, ampm) = match s.rsplit_once(' ') {
        Some((c, m)) if m.eq_ignore_ascii_case("am") => (c.trim_end(), Some(false)),
        Some((c, m)) if m.eq_ignore_ascii_case("pm") => (c.trim_end(), Some(true)),
        _ => (s, None),
    };
    let mut parts = clock.split(':');
    let h: u64 = digits(parts.next()?)?;
    let m: u64 = digits(parts.next()?)?;
    let sec: f64 = match parts.next() {
        Some(p) => {
            let (whole, frac) = p.split_once('.').unwrap_or((p, ""));
            let w: u64 = digits(whole)?;
            if !frac.is_empty() && !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let f: f64 = if frac.is_empty() {
                0.0
            } else {
                format!("0.{frac}").parse().ok()?
            };
            w as f64 + f
        }
        None => 0.0,
    };
    if parts.next().is_some() || m > 59 || sec >= 60.0 {
        return None;
    }
    let h = match (column, ampm) {
        (Column::TimeOfDay, Some(pm)) if (1..=12).contains(&h) => h % 12 + if pm { 12 } else { 0 },
        (Column::TimeOfDay, None) if h < 24 => h,
        (Column::RelativeTime, None) => h,
        _ => return None,
    };
    Some((h * 3600 + m * 60) as f64 + sec)
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = s.get(prefix.len()..)?;
    // The word must end here.
    if rest.is_empty() || rest.starts_with(' ') {
        Some(rest.trim_start())
    } else {
        None
    }
}

impl Rule {
    pub fn new(column: Column, relation: Relation, value: &str, include: bool) -> Rule {
        Rule {
            column,
            relation,
            value: value.to_string(),
            include,
            lower: value.to_lowercase(),
            seconds: parse_clock(value, column),
        }
    }

    /// Parses `COLUMN RELATION VALUE [include|exclude]` (case-insensitive names).
    pub fn parse(text: &str) -> Result<Rule, FilterError> {
        let t = text.trim();
        let mut cols: Vec<&(Column, &str)> = Column::ALL.iter().collect();
        cols.sort_by_key(|(_, n)| std::cmp::Reverse(n.len()));
        let (column, rest) = cols
            .iter()
            .find_map(|(c, n)| strip_prefix_ci(t, n).map(|r| (*c, r)))
            .ok_or_else(|| FilterError::Column(text.to_string()))?;
        let (relation, rest) = Relation::ALL
            .iter()
            .find_map(|(r, n)| strip_prefix_ci(rest, n).map(|x| (*r, x)))
            .ok_or_else(|| FilterError::Relation(text.to_string()))?;
        let (value, include) = if let Some(v) = rest
            .strip_suffix(" exclude")
            .or_else(|| rest.strip_suffix(" Exclude"))
        {
            (v, false)
        } else if let Some(v) = rest
            .strip_suffix(" include")
            .or_else(|| rest.strip_suffix(" Include"))
        {
            (v, true)
        } else if rest.eq_ignore_ascii_case("include") || rest.eq_ignore_ascii_case("exclude") {
            ("", rest.eq_ignore_ascii_case("include"))
        } else {
            (rest, true)
        };
        let rule = Rule::new(column, relation, value.trim(), include);
        rule.validate(text)?;
        Ok(rule)
    }

    /// A value the relation cannot use is an error, not a rule that silently matches all or
    /// nothing: an empty text for contains/begins/ends/excludes, a number that is not finite,
    /// a time of day past 23:59:59.
    fn validate(&self, text: &str) -> Result<(), FilterError> {
        let fail = |why: String| {
            Err(FilterError::Value {
                rule: text.to_string(),
                why,
            })
        };
        let ordered = matches!(self.relation, Relation::LessThan | Relation::MoreThan);
        if self.value.is_empty() && !matches!(self.relation, Relation::Is | Relation::IsNot) {
            return fail(format!(
                "the value is empty: `{} {}` needs a value",
                self.column.name(),
                self.relation.name()
            ));
        }
        if !ordered {
            return Ok(());
        }
        match self.column {
            c if is_numeric_column(c) => match parse_num(&self.lower) {
                Some(v) if v.is_finite() => Ok(()),
                _ => fail(format!(
                    "{:?} is not a number ({} {} expects {})",
                    self.value,
                    c.name(),
                    self.relation.name(),
                    if c == Column::Duration {
                        "seconds, e.g. 0.5"
                    } else {
                        "an integer"
                    }
                )),
            },
            c @ (Column::TimeOfDay | Column::RelativeTime) if self.seconds.is_none() => {
                fail(format!(
                    "{:?} is not a time ({} expects {})",
                    self.value,
                    c.name(),
                    if c == Column::TimeOfDay {
                        "H:MM:SS[.fffffff] [AM|PM], e.g. 7:37:18 AM or 19:37:18.5"
                    } else {
                        "HH:MM:SS[.fffffff], e.g. 00:00:12.5"
                    }
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether a cell's text satisfies the relation (case-insensitive; numeric comparison
    /// for "less than"/"more than" when both sides are numbers).
    pub fn test(&self, cell: &str) -> bool {
        let lower_cell;
        let cell_l = if cell.bytes().any(|b| b.is_ascii_uppercase()) || !cell.is_ascii() {
            lower_cell = cell.to_lowercase();
            lower_cell.as_str()
        } else {
            cell
        };
        let v = self.lower.as_str();
        match self.relation {
            Relation::Is => cell_l == v,
            Relation::IsNot => cell_l != v,
            Relation::BeginsWith => cell_l.starts_with(v),
            Relation::EndsWith => cell_l.ends_with(v),
            Relation::Contains => cell_l.contains(v),
            Relation::Excludes => !cell_l.contains(v),
            Relation::LessThan | Relation::MoreThan => {
                let clock = self
                    .seconds
                    .and_then(|b| parse_clock(cell, self.column).map(|a| (a, b)));
                let ord = match (clock, parse_num(cell_l), parse_num(v)) {
                    (Some((a, b)), _, _) => a.partial_cmp(&b),
                    (None, Some(a), Some(b)) => a.partial_cmp(&b),
                    _ => Some(cell_l.cmp(v)),
                };
                match self.relation {
                    Relation::LessThan => ord == Some(std::cmp::Ordering::Less),
                    _ => ord == Some(std::cmp::Ordering::Greater),
                }
            }
        }
    }
}

fn parse_num(s: &str) -> Option<f64> {
    let t = s.trim().replace(',', "");
    if let Some(h) = t.strip_prefix("0x") {
        return u64::from_str_radix(h, 16).ok().map(|v| v as f64);
    }
    t.parse().ok()
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.column.name(),
            self.relation.name(),
            self.value,
            if self.include { "include" } else { "exclude" }
        )
    }
}

/// A set of rules.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Filter {
    pub rules: Vec<Rule>,
}

/// The text of a process column for a process slot.
fn process_cell(log: &PmlLog, slot: Option<u32>, col: Column) -> String {
    let Some(p) = slot.and_then(|s| log.process(s)) else {
        return String::new();
    };
    match col {
        Column::ProcessName => p.name.clone(),
        Column::Pid => p.pid.to_string(),
        Column::ImagePath => p.image_path.clone(),
        Column::Company => p.company.clone(),
        Column::Description => p.description.clone(),
        Column::Version => p.version.clone(),
        Column::User => p.user.clone(),
        Column::AuthenticationId => format!(
            "{:08x}:{:08x}",
            p.authentication_id >> 32,
            p.authentication_id & 0xffff_ffff
        ),
        Column::Session => p.session.to_string(),
        Column::CommandLine => p.command_line.clone(),
        Column::Virtualized => match p.virtualized {
            0 => "False".into(),
            1 => "True".into(),
            _ => "n/a".into(),
        },
        Column::Integrity => p.integrity.clone(),
        Column::ParentPid => p.parent_pid.to_string(),
        Column::Architecture => if p.is_64bit { "64-bit" } else { "32-bit" }.into(),
        _ => String::new(),
    }
}

fn is_process_column(c: Column) -> bool {
    matches!(
        c,
        Column::ProcessName
            | Column::Pid
            | Column::ImagePath
            | Column::Company
            | Column::Description
            | Column::Version
            | Column::User
            | Column::AuthenticationId
            | Column::Session
            | Column::CommandLine
            | Column::Virtualized
            | Column::Integrity
            | Column::ParentPid
            | Column::Architecture
    )
}

/// A rule's verdict precomputed per distinct value of its column.
enum Prepared<'r> {
    ByPath(Vec<bool>),
    ByProcess(Vec<bool>, bool),
    ByOp(Vec<bool>),
    ByResult(&'r Rule),
    PerEvent(&'r Rule),
}

impl Filter {
    /// Parses every rule.
    pub fn parse<S: AsRef<str>>(rules: &[S]) -> Result<Filter, FilterError> {
        Ok(Filter {
            rules: rules
                .iter()
                .map(|r| Rule::parse(r.as_ref()))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether evaluating needs decoded events (Detail or Category rules).
    pub fn needs_decode(&self) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r.column, Column::Detail | Column::Category))
    }

    fn prepare<'r>(&'r self, log: &PmlLog, ix: &EventIndex) -> Vec<Prepared<'r>> {
        self.rules
            .iter()
            .map(|r| match r.column {
                Column::Path => Prepared::ByPath(ix.paths.iter().map(|p| r.test(p)).collect()),
                c if is_process_column(c) => Prepared::ByProcess(
                    (0..log.processes().len() as u32)
                        .map(|s| r.test(&process_cell(log, Some(s), c)))
                        .collect(),
                    r.test(""),
                ),
                Column::Operation => {
                    Prepared::ByOp(ix.ops.iter().map(|o| r.test(&o.name())).collect())
                }
                Column::EventClass => Prepared::ByOp(
                    ix.ops
                        .iter()
                        .map(|o| r.test(names::class_name(o.class).unwrap_or("")))
                        .collect(),
                ),
                Column::Result => Prepared::ByResult(r),
                _ => Prepared::PerEvent(r),
            })
            .collect()
    }

    /// The numbers of the events that pass, in event order. `progress(done, total)` is called
    /// now and then; setting `cancel` stops early (returning what matched so far).
    pub fn apply(
        &self,
        log: &PmlLog,
        progress: &mut dyn FnMut(usize, usize),
        cancel: &AtomicBool,
    ) -> Vec<u32> {
        let ix = log.index();
        let n = ix.len();
        if self.rules.is_empty() {
            progress(n, n);
            return (0..n as u32).collect();
        }
        let prepared = self.prepare(log, ix);
        let first = log.first_timestamp().unwrap_or(0);
        let mut result_cache: Vec<HashMap<u32, bool>> = vec![HashMap::new(); prepared.len()];
        // Column groups: includes on the same column are OR-ed.
        let mut include_cols: Vec<Column> = self
            .rules
            .iter()
            .filter(|r| r.include)
            .map(|r| r.column)
            .collect();
        include_cols.dedup();
        include_cols.sort_by_key(|c| c.name());
        include_cols.dedup();
        let mut out = Vec::new();
        let mut hits = vec![false; prepared.len()];
        for i in 0..n {
            if i % 65_536 == 0 {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                progress(i, n);
            }
            let mut decoded = None;
            for (k, p) in prepared.iter().enumerate() {
                hits[k] = match p {
                    Prepared::ByPath(v) => ix
                        .path
                        .get(i)
                        .and_then(|&id| v.get(id as usize))
                        .copied()
                        .unwrap_or(false),
                    Prepared::ByProcess(v, none) => match ix.process_of(i) {
                        Some(s) => v.get(s as usize).copied().unwrap_or(*none),
                        None => *none,
                    },
                    Prepared::ByOp(v) => ix
                        .op
                        .get(i)
                        .and_then(|&o| v.get(usize::from(o)))
                        .copied()
                        .unwrap_or(false),
                    Prepared::ByResult(r) => {
                        let code = ix.result_of(i);
                        *result_cache[k]
                            .entry(code)
                            .or_insert_with(|| r.test(&names::result_text(code)))
                    }
                    Prepared::PerEvent(r) => {
                        per_event(log, ix, i, first, r, &mut decoded).unwrap_or(false)
                    }
                };
            }
            let excluded = self.rules.iter().zip(&hits).any(|(r, &h)| !r.include && h);
            if excluded {
                continue;
            }
            let included = include_cols.iter().all(|c| {
                self.rules
                    .iter()
                    .zip(&hits)
                    .any(|(r, &h)| r.include && r.column == *c && h)
            });
            if included {
                out.push(i as u32);
            }
        }
        progress(n, n);
        out
    }

    /// Whether one event passes.
    pub fn matches(&self, log: &PmlLog, i: usize) -> bool {
        if self.rules.is_empty() {
            return true;
        }
        let ix = log.index();
        let first = log.first_timestamp().unwrap_or(0);
        let mut decoded = None;
        let hits: Vec<bool> = self
            .rules
            .iter()
            .map(|r| match r.column {
                Column::Path => r.test(ix.path_of(i)),
                c if is_process_column(c) => r.test(&process_cell(log, ix.process_of(i), c)),
                Column::Operation => r.test(&ix.op_of(i).map(|o| o.name()).unwrap_or_default()),
                Column::EventClass => r.test(
                    ix.op_of(i)
                        .and_then(|o| names::class_name(o.class))
                        .unwrap_or(""),
                ),
                Column::Result => r.test(&names::result_text(ix.result_of(i))),
                _ => per_event(log, ix, i, first, r, &mut decoded).unwrap_or(false),
            })
            .collect();
        if self.rules.iter().zip(&hits).any(|(r, &h)| !r.include && h) {
            return false;
        }
        self.rules.iter().filter(|r| r.include).all(|r| {
            self.rules
                .iter()
                .zip(&hits)
                .any(|(q, &h)| q.include && q.column == r.column && h)
        })
    }
}

fn per_event(
    log: &PmlLog,
    ix: &EventIndex,
    i: usize,
    first: u64,
    r: &Rule,
    decoded: &mut Option<Option<super::Event>>,
) -> Option<bool> {
    let t = *ix.time.get(i)?;
    let cell = match r.column {
        Column::TimeOfDay => render::time_of_day_in(t, &log.render_options().tz),
        Column::DateTime => render::date_time_in(t, &log.render_options().tz),
        Column::RelativeTime => render::relative_time(t.saturating_sub(first)),
        Column::Duration => render::duration(log.duration_of(i)?),
        Column::Tid => ix.tid.get(i)?.to_string(),
        Column::Detail | Column::Category => {
            let ev = decoded.get_or_insert_with(|| log.event(i).ok()).as_ref()?;
            if r.column == Column::Detail {
                ev.detail_text()
            } else {
                ev.category.clone()
            }
        }
        _ => return None,
    };
    Some(r.test(&cell))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_in_procmon_form() {
        let r = Rule::parse("Path ends with .sys").expect("rule");
        assert_eq!(
            (r.column, r.relation, r.value.as_str(), r.include),
            (Column::Path, Relation::EndsWith, ".sys", true)
        );
        let r = Rule::parse("Result is not SUCCESS exclude").expect("rule");
        assert_eq!(
            (r.column, r.relation, r.value.as_str(), r.include),
            (Column::Result, Relation::IsNot, "SUCCESS", false)
        );
        let r = Rule::parse("process name is System").expect("rule");
        assert_eq!(r.column, Column::ProcessName);
        assert!(r.test("SYSTEM"));
        let r = Rule::parse("PID less than 100").expect("rule");
        assert!(r.test("4") && !r.test("1000"));
        assert!(matches!(
            Rule::parse("Nope is x"),
            Err(FilterError::Column(_))
        ));
        assert!(matches!(
            Rule::parse("Path resembles x"),
            Err(FilterError::Relation(_))
        ));
        assert_eq!(
            Rule::parse("Path contains a b c include")
                .expect("rule")
                .to_string(),
            "Path contains a b c include"
        );
    }

    #[test]
    fn values_a_relation_cannot_use_are_refused_with_the_reason() {
        let why = |t: &str| match Rule::parse(t) {
            Err(FilterError::Value { why, .. }) => why,
            other => panic!("{t}: {other:?}"),
        };
        assert!(why("Duration less than NaN").contains("not a number"));
        assert!(why("Duration more than inf").contains("not a number"));
        assert!(why("PID less than ten").contains("an integer"));
        assert!(why("Time of Day less than 99:99:99").contains("not a time"));
        assert!(why("Time of Day less than 13:00:00 PM").contains("not a time"));
        assert!(why("Relative Time more than 1:2:3:4").contains("not a time"));
        assert!(why("Path contains").contains("empty"));
        assert!(why("Path contains include").contains("empty"));
        // Still accepted: an empty `is` (events without a path), hex numbers, both clocks.
        assert!(Rule::parse("Path is").is_ok());
        assert!(Rule::parse("PID more than 0x10").is_ok());
        assert!(Rule::parse("Duration less than 0.5").is_ok());
        assert!(Rule::parse("Time of Day more than 23:59:59.9999999").is_ok());
        assert!(Rule::parse("Time of Day less than 7:37:18 AM").is_ok());
    }

    #[test]
    fn times_of_day_order_as_times_not_as_text() {
        // As text "10:00:00" < "9:00:00"; as times it is later.
        let r = Rule::parse("Time of Day more than 9:00:00 AM").expect("rule");
        assert!(r.test("10:00:00.0000000 AM"));
        assert!(!r.test("8:59:59.9999999 AM"));
        assert!(r.test("1:00:00.0000000 PM"));
        assert!(!r.test("12:30:00.0000000 AM"));
        let r = Rule::parse("Time of Day less than 13:00").expect("rule");
        assert!(r.test("12:59:59.0000000 PM") && !r.test("1:00:01.0000000 PM"));
        let r = Rule::parse("Relative Time less than 00:00:10").expect("rule");
        assert!(r.test("00:00:09.9000000") && !r.test("00:01:00.0000000"));
    }
}
