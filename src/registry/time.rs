//! The machine's time zone (`Control\TimeZoneInformation`), so events can be shown in the
//! machine's local time. FILETIMEs and civil dates live in [`crate::filetime`].

use serde::Serialize;

pub use crate::filetime::{FileTime, civil_from_days, days_from_civil, format_unix};

/// A daylight-saving transition as `TimeZoneInformation` stores it: the kernel's TIME_FIELDS
/// (16 bytes: Year, Month, Day, Hour, Minute, Second, Milliseconds, Weekday; not the
/// SYSTEMTIME order of the `TZI` values, as the regipy sample shows: Pacific's StandardStart
/// is `0000 0b00 0100 0200 ...` = November, week 1, 02:00, Sunday). Year 0 means "every year",
/// `day` is then the week of the month (1-4, 5 = last) and `day_of_week` the weekday
/// (0 = Sunday); a non-zero year gives an absolute date. Month 0: no transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TransitionRule {
    pub year: u16,
    pub month: u16,
    pub day_of_week: u16,
    pub day: u16,
    pub hour: u16,
    pub minute: u16,
    pub second: u16,
}

impl TransitionRule {
    pub fn from_time_fields(bytes: &[u8]) -> Option<TransitionRule> {
        let w = |i: usize| {
            bytes
                .get(i * 2..i * 2 + 2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
        };
        Some(TransitionRule {
            year: w(0)?,
            month: w(1)?,
            day: w(2)?,
            hour: w(3)?,
            minute: w(4)?,
            second: w(5)?,
            day_of_week: w(7)?,
        })
    }

    /// The 16 TIME_FIELDS bytes of this rule (milliseconds 0).
    pub fn to_time_fields(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        let fields = [
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            0,
            self.day_of_week,
        ];
        for (chunk, f) in out.chunks_exact_mut(2).zip(fields) {
            chunk.copy_from_slice(&f.to_le_bytes());
        }
        out
    }

    /// Local wall-clock seconds (since 1970, as if UTC) of this transition in `year`.
    fn local_seconds_in(&self, year: i64) -> Option<i64> {
        if self.month == 0 || self.month > 12 {
            return None;
        }
        let month = u32::from(self.month);
        let day = if self.year != 0 {
            if i64::from(self.year) != year {
                return None;
            }
            u32::from(self.day)
        } else {
            let first = days_from_civil(year, month, 1);
            // 1970-01-01 was a Thursday (4).
            let first_dow = (first + 4).rem_euclid(7) as u32;
            let dow = u32::from(self.day_of_week % 7);
            let mut day = 1 + (dow + 7 - first_dow) % 7 + 7 * (u32::from(self.day.clamp(1, 5)) - 1);
            let next_month = if month == 12 {
                days_from_civil(year + 1, 1, 1)
            } else {
                days_from_civil(year, month + 1, 1)
            };
            let month_len = (next_month - first) as u32;
            while day > month_len {
                day -= 7;
            }
            day
        };
        Some(
            days_from_civil(year, month, day) * 86_400
                + i64::from(self.hour) * 3600
                + i64::from(self.minute) * 60
                + i64::from(self.second),
        )
    }
}

/// `ControlSet00N\Control\TimeZoneInformation`. Biases are in minutes and follow Windows'
/// sign: UTC = local time + bias.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TimeZone {
    /// `TimeZoneKeyName`, e.g. "Pacific Standard Time" (Vista and later).
    pub key_name: Option<String>,
    pub bias: Option<i32>,
    pub standard_name: Option<String>,
    pub standard_bias: Option<i32>,
    pub standard_start: Option<TransitionRule>,
    pub daylight_name: Option<String>,
    pub daylight_bias: Option<i32>,
    pub daylight_start: Option<TransitionRule>,
    /// The bias in force when the machine last wrote the key.
    pub active_time_bias: Option<i32>,
    pub dynamic_daylight_time_disabled: Option<u32>,
    /// Non-zero when the hardware clock keeps UTC.
    pub real_time_is_universal: Option<u32>,
}

impl TimeZone {
    /// Whether daylight saving time is in force at `utc`.
    pub fn is_daylight(&self, utc: FileTime) -> bool {
        let (Some(bias), Some(ds), Some(ss)) =
            (self.bias, self.daylight_start, self.standard_start)
        else {
            return false;
        };
        if self.dynamic_daylight_time_disabled == Some(1) && ds.month == 0 {
            return false;
        }
        let t = utc.unix_seconds();
        let (year, _, _) = civil_from_days(t.div_euclid(86_400));
        let std_bias = self.standard_bias.unwrap_or(0);
        let dst_bias = self.daylight_bias.unwrap_or(0);
        // Daylight time starts at its local standard time, standard time at its local daylight time.
        let (Some(d_local), Some(s_local)) = (ds.local_seconds_in(year), ss.local_seconds_in(year))
        else {
            return false;
        };
        let d_utc = d_local + i64::from(bias + std_bias) * 60;
        let s_utc = s_local + i64::from(bias + dst_bias) * 60;
        if d_utc < s_utc {
            t >= d_utc && t < s_utc
        } else {
            // Southern hemisphere: daylight time spans the new year.
            t >= d_utc || t < s_utc
        }
    }

    /// Local time minus UTC, in minutes, at `utc`: `-(Bias + StandardBias or DaylightBias)`.
    /// Falls back to `ActiveTimeBias` when the rules are missing.
    pub fn utc_offset_minutes(&self, utc: FileTime) -> Option<i32> {
        match self.bias {
            Some(bias) => {
                let extra = if self.is_daylight(utc) {
                    self.daylight_bias.unwrap_or(0)
                } else {
                    self.standard_bias.unwrap_or(0)
                };
                Some(-(bias + extra))
            }
            None => self.active_time_bias.map(|b| -b),
        }
    }

    /// `utc` as ISO 8601 local time with its offset, e.g. `2017-10-20T00:47:58-07:00`.
    pub fn local_string(&self, utc: FileTime) -> Option<String> {
        let offset = self.utc_offset_minutes(utc)?;
        Some(format_unix(
            utc.unix_seconds() + i64::from(offset) * 60,
            offset,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacific() -> TimeZone {
        TimeZone {
            key_name: Some("Pacific Standard Time".into()),
            bias: Some(480),
            standard_bias: Some(0),
            daylight_bias: Some(-60),
            // First Sunday of November 02:00 / second Sunday of March 02:00.
            standard_start: Some(TransitionRule {
                year: 0,
                month: 11,
                day_of_week: 0,
                day: 1,
                hour: 2,
                minute: 0,
                second: 0,
            }),
            daylight_start: Some(TransitionRule {
                year: 0,
                month: 3,
                day_of_week: 0,
                day: 2,
                hour: 2,
                minute: 0,
                second: 0,
            }),
            ..TimeZone::default()
        }
    }

    fn utc(y: i64, m: u32, d: u32, h: i64) -> FileTime {
        FileTime::from_unix_seconds(days_from_civil(y, m, d) * 86_400 + h * 3600)
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-800_000, -1, 0, 1, 17_000, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(
            FileTime(131_530_000_000_000_000).utc_string().as_deref(),
            Some("2017-10-20T19:06:40Z")
        );
    }

    #[test]
    fn pacific_time_switches_on_the_2024_dates() {
        let tz = pacific();
        // 2024: DST from 10 March 10:00 UTC to 3 November 09:00 UTC.
        assert_eq!(tz.utc_offset_minutes(utc(2024, 3, 10, 9)), Some(-480));
        assert_eq!(tz.utc_offset_minutes(utc(2024, 3, 10, 11)), Some(-420));
        assert_eq!(tz.utc_offset_minutes(utc(2024, 11, 3, 8)), Some(-420));
        assert_eq!(tz.utc_offset_minutes(utc(2024, 11, 3, 10)), Some(-480));
        assert_eq!(
            tz.local_string(utc(2024, 7, 1, 12)).as_deref(),
            Some("2024-07-01T05:00:00-07:00")
        );
    }

    #[test]
    fn southern_hemisphere_daylight_spans_new_year() {
        // AUS Eastern: Bias -600, DST from first Sunday of October to first Sunday of April.
        let tz = TimeZone {
            bias: Some(-600),
            standard_bias: Some(0),
            daylight_bias: Some(-60),
            standard_start: Some(TransitionRule {
                year: 0,
                month: 4,
                day_of_week: 0,
                day: 1,
                hour: 3,
                minute: 0,
                second: 0,
            }),
            daylight_start: Some(TransitionRule {
                year: 0,
                month: 10,
                day_of_week: 0,
                day: 1,
                hour: 2,
                minute: 0,
                second: 0,
            }),
            ..TimeZone::default()
        };
        assert_eq!(tz.utc_offset_minutes(utc(2024, 1, 15, 0)), Some(660));
        assert_eq!(tz.utc_offset_minutes(utc(2024, 7, 15, 0)), Some(600));
    }
}
