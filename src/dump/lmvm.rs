//! WinDbg's `lmvm MODULE` for one module of a dump: start and end, image path and name, the
//! link time stamp as a date and raw, checksum, image size, the version resource (from the
//! image in the dump's memory, or a matching file of the case) and the symbol status (what
//! named the module's frames on the stack). Also the small facts the module list shows
//! (link date, frames on the stack). Plain data: the Dump pane and any other consumer draw it.

use super::analysis::{Analysis, NameSource};
use super::image::{Image, ImageSource};
use super::{CrashDump, Module};

/// A module's version resource, with where it was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionFacts {
    pub file_version: Option<String>,
    pub product_version: Option<String>,
    pub company: Option<String>,
    pub product: Option<String>,
    pub description: Option<String>,
    pub original_filename: Option<String>,
    /// `the dump's memory` or the case file it came from.
    pub source: String,
}

/// `Thu Apr 18 09:59:10 2024` (UTC), WinDbg's form of a link time stamp.
pub fn link_date(timestamp: u32) -> String {
    let secs = i64::from(timestamp);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::filetime::civil_from_days(days);
    // 1970-01-01 was a Thursday.
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = DAYS[days.rem_euclid(7) as usize];
    let mon = MONTHS[(m as usize).saturating_sub(1).min(11)];
    format!(
        "{wd} {mon} {d:2} {:02}:{:02}:{:02} {y}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `2024-04-18` (UTC): the link date as the module list's Date column shows it.
pub fn link_day(timestamp: u32) -> String {
    let (y, m, d) = crate::filetime::civil_from_days(i64::from(timestamp).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// FileVersion from the image mapped in the dump's memory (VS_FIXEDFILEINFO), when the dump
/// holds its resource pages.
pub fn version_in_dump(dump: &CrashDump, m: &Module) -> Option<String> {
    Image::load(ImageSource::Memory {
        memory: &dump.memory,
        base: m.base,
    })?
    .version()
}

/// Whether the module in the dump's memory is a reproducible build (its time stamp a hash).
pub fn reproducible_in_dump(dump: &CrashDump, m: &Module) -> Option<bool> {
    Image::load(ImageSource::Memory {
        memory: &dump.memory,
        base: m.base,
    })?
    .is_reproducible()
}

/// FileVersion and whether it is a reproducible build, from one read of the image in the
/// dump's memory (`(None, None)` when the dump does not hold its headers).
pub fn image_in_dump(dump: &CrashDump, m: &Module) -> (Option<String>, Option<bool>) {
    match Image::load(ImageSource::Memory {
        memory: &dump.memory,
        base: m.base,
    }) {
        Some(img) => (img.version(), img.is_reproducible()),
        None => (None, None),
    }
}

/// How many frames of the stack run in `m`.
pub fn frames_in(an: &Analysis, m: &Module) -> usize {
    an.stack.iter().filter(|f| m.contains(f.ip)).count()
}

/// The symbol status `lm` shows, from what named the module's frames on the stack.
pub fn symbol_status(an: &Analysis, m: &Module) -> &'static str {
    let sources: Vec<NameSource> = an
        .stack
        .iter()
        .filter(|f| m.contains(f.ip))
        .map(|f| f.name_source)
        .collect();
    if sources.contains(&NameSource::Pdb) {
        "pdb symbols"
    } else if sources.contains(&NameSource::Exports) {
        "export symbols"
    } else if sources.is_empty() {
        "deferred (no frame on the stack)"
    } else {
        "no symbols"
    }
}

/// `lmvm` of `m`: label/value lines in WinDbg's order.
pub fn lmvm(
    dump: &CrashDump,
    an: &Analysis,
    m: &Module,
    version: Option<&VersionFacts>,
) -> Vec<(String, String)> {
    let end = m.base.wrapping_add(u64::from(m.size));
    let split = |v: u64| format!("{:08x}`{:08x}", v >> 32, v & 0xffff_ffff);
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| out.push((k.to_string(), v));
    put("start", split(m.base));
    put("end", split(end));
    put(
        "module name",
        format!("{}   ({})", m.short_name(), symbol_status(an, m)),
    );
    put("Image path", m.path.clone());
    put("Image name", m.name.clone());
    put(
        "Timestamp",
        if reproducible_in_dump(dump, m) == Some(true) {
            format!(
                "{:08X} (This is a reproducible build file hash, not a timestamp)",
                m.timestamp
            )
        } else {
            format!("{} ({:08X})", link_date(m.timestamp), m.timestamp)
        },
    );
    put("CheckSum", format!("{:08X}", m.checksum));
    put("ImageSize", format!("{:08X}", m.size));
    let frames = frames_in(an, m);
    put(
        "On the stack",
        if frames == 0 {
            "no frame".to_string()
        } else {
            format!("{frames} frame(s)")
        },
    );
    let dump_version = version_in_dump(dump, m);
    match version {
        Some(v) => {
            let file_version = v.file_version.clone().or(dump_version);
            for (k, f) in [
                ("File version", &file_version),
                ("Product version", &v.product_version),
                ("CompanyName", &v.company),
                ("ProductName", &v.product),
                ("FileDescription", &v.description),
                ("OriginalFilename", &v.original_filename),
            ] {
                if let Some(f) = f {
                    put(k, f.clone());
                }
            }
            put("Version from", v.source.clone());
        }
        None => match dump_version {
            Some(fv) => {
                put("File version", fv);
                put(
                    "Version from",
                    "the dump's memory (VS_FIXEDFILEINFO)".into(),
                );
            }
            None => put(
                "Version",
                "not known: no version resource in the dump, no file of this build in the case"
                    .into(),
            ),
        },
    }
    if let Some((_, from)) = an.images.iter().find(|(n, _)| n == &m.name) {
        put("Unwound with", from.clone());
    }
    for mm in an.image_mismatches.iter().filter(|x| x.module == m.name) {
        put("Mismatch", mm.sentence());
    }
    if an.faulting_module.as_deref() == Some(m.name.as_str()) {
        put("Culprit", "the faulting module".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_dates_as_windbg_prints_them() {
        // `Thu Apr 18 09:59:10 2024 (6620EEEE)`.
        assert_eq!(link_date(0x6620_eeee), "Thu Apr 18 09:59:10 2024");
        assert_eq!(link_date(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(link_day(0x6620_eeee), "2024-04-18");
    }
}
