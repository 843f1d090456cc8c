//! How Procmon renders numbers and times in its CSV export (pml-format.md §14).

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

fn twelve_hour(h: u32) -> (u32, &'static str) {
    let ampm = if h < 12 { "AM" } else { "PM" };
    let h12 = match h % 12 {
        0 => 12,
        x => x,
    };
    (h12, ampm)
}

/// "Time of Day": `7:37:18.2093997 AM` (12-hour, no leading zero, 7 fractional digits).
pub fn time_of_day(filetime: u64) -> String {
    let c = civil(filetime);
    let (h, ampm) = twelve_hour(c.hour);
    format!("{h}:{:02}:{:02}.{:07} {ampm}", c.minute, c.second, c.ticks)
}

/// "Date & Time" and dates inside details: `7/31/2020 7:37:18 AM`.
pub fn date_time(filetime: u64) -> String {
    let c = civil(filetime);
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
}
