//! How Procmon renders numbers and times in its CSV export (docs/formats/pml.md §14).

/// 100 ns ticks per second.
pub const TICKS_PER_SECOND: u64 = 10_000_000;

/// A FILETIME broken into civil UTC fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 100 ns ticks within the second.
    pub ticks: u32,
}

/// Converts a FILETIME (100 ns since 1601-01-01 UTC) to civil fields.
pub fn civil(filetime: u64) -> Civil {
    let secs = filetime / TICKS_PER_SECOND;
    let ticks = (filetime % TICKS_PER_SECOND) as u32;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days since 1601-01-01 → since 1970-01-01, then Howard Hinnant's civil_from_days.
    let z = days - 134_774 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: ((rem / 60) % 60) as u32,
        second: (rem % 60) as u32,
        ticks,
    }
}

/// The time zone the Time of Day, Completion Time and Date & Time columns and the dates inside
/// details are shown in. Procmon shows them in the time zone of the machine that *views* the
/// log, so comparing with a CSV made elsewhere needs that machine's zone.
#[derive(Clone, Debug, Default)]
pub enum TimeZone {
    #[default]
    Utc,
    /// A fixed offset east of UTC, in seconds.
    Fixed(i32),
    /// This machine's zone, with the offset (daylight saving time included) in force at each
    /// moment.
    Local(jiff::tz::TimeZone),
}

/// Where Procmon's export puts QueryDirectory's FileInformationClass; it moved between Procmon
/// versions, and nothing in the log says which version will view it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListingLayout {
    /// Current Procmon: `FileInformationClass: …, Filter: …, 2: name, …`; the returned names
    /// are numbered by their place in the list.
    #[default]
    ClassFirst,
    /// Procmon 3.5x-3.6x (2020): `Filter: …, 1: name, FileInformationClass: …`; the class is
    /// written into slot 2 of the list (appended when the list holds two items, replacing the
    /// third when longer, dropped when shorter).
    ClassInSlot2,
    /// An older Procmon that does not show the class: `Filter: …, 1: name`.
    NoClass,
}

/// How a log is rendered: the viewer's time zone and the Procmon version's listing layout.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    pub tz: TimeZone,
    pub listing: ListingLayout,
}

/// A time zone that [`TimeZone::parse`] does not understand.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: expected utc, local or an offset like +02:00 or -05:30")]
pub struct BadTimeZone {
    /// The text as given.
    pub text: String,
}

/// Seconds between 1601-01-01 and 1970-01-01.
const EPOCH_DIFF_SECS: i64 = 11_644_473_600;

impl TimeZone {
    /// `utc`, `local`, or an offset `+hh:mm` / `-hh:mm` (also `+hh`, `+hhmm`).
    pub fn parse(text: &str) -> Result<TimeZone, BadTimeZone> {
        let t = text.trim();
        match t.to_ascii_lowercase().as_str() {
            "utc" | "z" => return Ok(TimeZone::Utc),
            "local" => return Ok(TimeZone::Local(jiff::tz::TimeZone::system())),
            _ => {}
        }
        let bad = || BadTimeZone {
            text: text.to_string(),
        };
        let (sign, rest) = match t.as_bytes().first() {
            Some(b'+') => (1, &t[1..]),
            Some(b'-') => (-1, &t[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = match rest.split_once(':') {
            Some((h, m)) => (h, m),
            None if rest.len() == 4 => rest.split_at(2),
            None => (rest, "0"),
        };
        let all_digits =
            |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(h) || !all_digits(m) {
            return Err(bad());
        }
        let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 14 || m > 59 || h * 60 + m > 14 * 60 {
            return Err(bad());
        }
        Ok(TimeZone::Fixed(sign * (h * 3600 + m * 60)))
    }

    /// The offset east of UTC, in seconds, at the UTC FILETIME `filetime`.
    pub fn offset_seconds(&self, filetime: u64) -> i32 {
        match self {
            TimeZone::Utc => 0,
            TimeZone::Fixed(s) => *s,
            TimeZone::Local(tz) => {
                let secs = (filetime / TICKS_PER_SECOND) as i64 - EPOCH_DIFF_SECS;
                jiff::Timestamp::from_second(secs)
                    .map(|ts| tz.to_offset(ts).seconds())
                    .unwrap_or(0)
            }
        }
    }

    /// The local FILETIME Procmon formats for a UTC FILETIME. FILETIMEs are signed
    /// (LARGE_INTEGER): -1 ("do not change" in SetBasicInformationFile) is one tick before
    /// 1601-01-01 00:00 UTC. A local time before 1601-01-01 prints as 1601-01-01 00:00:00,
    /// as Procmon does (its conversion truncates toward zero), never as a date in year 60056.
    pub fn local(&self, filetime: u64) -> u64 {
        let signed = i128::from(filetime as i64);
        let local =
            signed + i128::from(self.offset_seconds(filetime)) * i128::from(TICKS_PER_SECOND);
        u64::try_from(local.clamp(0, i128::from(i64::MAX))).unwrap_or(0)
    }
}

fn twelve_hour(h: u32) -> (u32, &'static str) {
    let ampm = if h < 12 { "AM" } else { "PM" };
    let h12 = match h % 12 {
        0 => 12,
        x => x,
    };
    (h12, ampm)
}

/// "Time of Day" in UTC: `7:37:18.2093997 AM` (12-hour, no leading zero, 7 fractional digits).
pub fn time_of_day(filetime: u64) -> String {
    time_of_day_in(filetime, &TimeZone::Utc)
}

/// "Time of Day" in a time zone.
pub fn time_of_day_in(filetime: u64, tz: &TimeZone) -> String {
    let c = civil(tz.local(filetime));
    let (h, ampm) = twelve_hour(c.hour);
    format!("{h}:{:02}:{:02}.{:07} {ampm}", c.minute, c.second, c.ticks)
}

/// "Date & Time" and dates inside details, in UTC: `7/31/2020 7:37:18 AM`.
pub fn date_time(filetime: u64) -> String {
    date_time_in(filetime, &TimeZone::Utc)
}

/// "Date & Time" and dates inside details, in a time zone.
pub fn date_time_in(filetime: u64, tz: &TimeZone) -> String {
    let c = civil(tz.local(filetime));
    let (h, ampm) = twelve_hour(c.hour);
    format!(
        "{}/{}/{} {h}:{:02}:{:02} {ampm}",
        c.month, c.day, c.year, c.minute, c.second
    )
}

/// "Relative Time": `00:00:08.4226954`.
pub fn relative_time(delta: u64) -> String {
    let secs = delta / TICKS_PER_SECOND;
    format!(
        "{:02}:{:02}:{:02}.{:07}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        delta % TICKS_PER_SECOND
    )
}

/// "Duration" and CPU times: `0.0000074`.
pub fn duration(ticks: u64) -> String {
    format!(
        "{}.{:07}",
        ticks / TICKS_PER_SECOND,
        ticks % TICKS_PER_SECOND
    )
}

/// An integer with thousands separators: `2,147,483,538`.
pub fn thousands(v: i128) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A SID in string form (`S-1-5-18`), empty when malformed (as Procmon leaves it).
pub fn sid_text(sid: &[u8]) -> String {
    let (Some(&rev), Some(&count)) = (sid.first(), sid.get(1)) else {
        return String::new();
    };
    if rev != 1 || sid.len() != 8 + 4 * usize::from(count) {
        return String::new();
    }
    let mut auth = 0u64;
    for b in sid.get(2..8).unwrap_or_default() {
        auth = (auth << 8) | u64::from(*b);
    }
    let mut s = format!("S-{rev}-{auth}");
    for c in sid.get(8..).unwrap_or_default().chunks_exact(4) {
        s.push_str(&format!(
            "-{}",
            u32::from_le_bytes([c[0], c[1], c[2], c[3]])
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_like_procmon() {
        // 2020-07-31 07:37:18.2093997 UTC
        let ft = 132_406_546_382_093_997u64;
        assert_eq!(time_of_day(ft), "7:37:18.2093997 AM");
        assert_eq!(date_time(ft), "7/31/2020 7:37:18 AM");
        assert_eq!(date_time(0), "1/1/1601 12:00:00 AM");
        assert_eq!(relative_time(84_226_954), "00:00:08.4226954");
        assert_eq!(duration(74), "0.0000074");
        assert_eq!(thousands(2_147_483_538), "2,147,483,538");
        assert_eq!(thousands(-1234), "-1,234");
        assert_eq!(thousands(999), "999");
        assert_eq!(sid_text(&[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]), "S-1-5-18");
    }

    #[test]
    fn time_zones_shift_the_clock_and_special_filetimes_stay_in_1601() {
        let ft = 132_406_546_382_093_997u64; // 2020-07-31 07:37:18.2093997 UTC
        let plus2 = TimeZone::parse("+02:00").expect("offset");
        let minus530 = TimeZone::parse("-05:30").expect("offset");
        assert_eq!(time_of_day_in(ft, &plus2), "9:37:18.2093997 AM");
        assert_eq!(date_time_in(ft, &minus530), "7/31/2020 2:07:18 AM");
        assert_eq!(
            date_time_in(ft, &TimeZone::parse("UTC").expect("utc")),
            "7/31/2020 7:37:18 AM"
        );
        // -1 ("don't change") and 0: 1601, never year 60056.
        assert_eq!(date_time(u64::MAX), "1/1/1601 12:00:00 AM");
        assert_eq!(date_time(0), "1/1/1601 12:00:00 AM");
        // One tick before 1601-01-01 UTC, seen from UTC+2.
        assert_eq!(date_time_in(u64::MAX, &plus2), "1/1/1601 1:59:59 AM");
        assert_eq!(date_time_in(u64::MAX, &minus530), "1/1/1601 12:00:00 AM");
        assert_eq!(date_time_in(0, &plus2), "1/1/1601 2:00:00 AM");
        for bad in ["", "+", "2", "+25:00", "+02:60", "+1:2:3", "east", "+0a:00"] {
            assert!(TimeZone::parse(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            TimeZone::parse("+0530"),
            Ok(TimeZone::Fixed(19_800))
        ));
        assert!(matches!(
            TimeZone::parse("-3"),
            Ok(TimeZone::Fixed(-10_800))
        ));
        assert!(matches!(TimeZone::parse("local"), Ok(TimeZone::Local(_))));
    }
}
