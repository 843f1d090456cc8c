//! FILETIMEs (100-ns ticks since 1601-01-01 UTC) and civil dates: the one conversion between
//! day counts and year-month-day (Howard Hinnant's algorithms) that every parser and writer of
//! the app uses. The `procmon-pml` crate keeps its own, as it depends on nothing of the app.

use serde::{Serialize, Serializer};
use std::fmt;

/// 100-ns intervals between 1601-01-01 and 1970-01-01.
pub const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;
pub const TICKS_PER_SECOND: u64 = 10_000_000;

/// A Windows FILETIME (100-ns ticks since 1601-01-01 UTC). Serialises as
/// `{"filetime": raw, "utc": "2017-10-20T07:47:58Z"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileTime(pub u64);

impl FileTime {
    /// Seconds since the Unix epoch (negative before 1970).
    pub fn unix_seconds(self) -> i64 {
        (self.0 as i128 - FILETIME_UNIX_EPOCH as i128).div_euclid(TICKS_PER_SECOND as i128) as i64
    }

    pub fn from_unix_seconds(secs: i64) -> FileTime {
        let ticks = i128::from(secs) * TICKS_PER_SECOND as i128 + FILETIME_UNIX_EPOCH as i128;
        FileTime(ticks.clamp(0, u64::MAX as i128) as u64)
    }

    /// ISO 8601 in UTC, to the second; `None` for 0 (unset).
    pub fn utc_string(self) -> Option<String> {
        (self.0 != 0).then(|| format_unix(self.unix_seconds(), 0))
    }
}

impl Serialize for FileTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FileTime", 2)?;
        st.serialize_field("filetime", &self.0)?;
        st.serialize_field("utc", &self.utc_string())?;
        st.end()
    }
}

impl fmt::Display for FileTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.utc_string().as_deref().unwrap_or("-"))
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS` plus `Z` for offset 0, else `+HH:MM`/`-HH:MM`; `secs` is already
/// shifted by `offset_minutes`.
pub fn format_unix(secs: i64, offset_minutes: i32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if offset_minutes == 0 {
        format!("{base}Z")
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let a = offset_minutes.unsigned_abs();
        format!("{base}{sign}{:02}:{:02}", a / 60, a % 60)
    }
}

/// A FILETIME as `YYYY-MM-DD HH:MM:SS.ffffff` UTC (microseconds; the dump report's form).
pub fn filetime_to_string(ft: u64) -> String {
    let micros = (ft % TICKS_PER_SECOND) / 10;
    let unix = FileTime(ft).unix_seconds();
    let days = unix.div_euclid(86_400);
    let rem = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{micros:06}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_name_the_same_second() {
        // 2017-10-20 19:06:40 UTC plus 1234567 ticks: the dump form keeps microseconds, the
        // ISO form is to the second; both go through the one civil conversion.
        let ft = 131_530_000_001_234_567;
        assert_eq!(filetime_to_string(ft), "2017-10-20 19:06:40.123456");
        assert_eq!(
            FileTime(ft).utc_string().as_deref(),
            Some("2017-10-20T19:06:40Z")
        );
        assert_eq!(FileTime::from_unix_seconds(0).0, FILETIME_UNIX_EPOCH);
        assert_eq!(days_from_civil(1601, 1, 1), -134_774);
        assert_eq!(civil_from_days(-134_774), (1601, 1, 1));
    }
}
