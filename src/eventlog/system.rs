//! System-log events that matter in a boot failure, typed (docs/formats/evtx.md §2.5, field
//! names measured on the omerbenamram samples where they hold them).

use super::codeintegrity::field;
use super::codes::{NtStatus, Win32Error, parse_number};
use super::json::Field;
use serde::Serialize;

pub const SCM: &str = "Service Control Manager";
pub const KERNEL_POWER: &str = "Microsoft-Windows-Kernel-Power";
pub const WER_SYSTEM: &str = "Microsoft-Windows-WER-SystemErrorReporting";
/// Older systems log the 1001 bugcheck under the event source name.
pub const BUGCHECK_SOURCE: &str = "BugCheck";
pub const EVENTLOG: &str = "EventLog";
pub const KERNEL_PNP: &str = "Microsoft-Windows-Kernel-PnP";
pub const KERNEL_GENERAL: &str = "Microsoft-Windows-Kernel-General";
pub const WINDOWS_UPDATE_CLIENT: &str = "Microsoft-Windows-WindowsUpdateClient";

/// A bug check as Kernel-Power 41 or WER 1001 report it: the same type as the dump's.
pub use crate::bugcheck::Bugcheck;

/// A typed System event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SystemEvent {
    /// SCM 7000: a service or driver failed to start. `key_name` comes from the Binary data.
    ServiceStartFailed {
        service: String,
        error: Win32Error,
        key_name: Option<String>,
    },
    /// SCM 7001: a service depends on one that failed to start.
    DependencyStartFailed {
        service: String,
        dependency: String,
        error: Win32Error,
    },
    /// SCM 7009: timeout waiting for a service to connect.
    ServiceConnectTimeout {
        timeout_ms: Option<u32>,
        service: String,
    },
    /// SCM 7011: timeout waiting for a transaction response.
    TransactionTimeout {
        timeout_ms: Option<u32>,
        service: String,
    },
    /// SCM 7022: a service hung on starting.
    ServiceHung { service: String },
    /// SCM 7023: a service terminated with an error.
    ServiceTerminated {
        service: String,
        error: Win32Error,
        key_name: Option<String>,
    },
    /// SCM 7024: a service terminated with a service-specific error.
    ServiceSpecificError { service: String, error: Win32Error },
    /// SCM 7026: boot-start or system-start drivers that did not load (service key names).
    BootDriversNotLoaded { drivers: Vec<String> },
    /// SCM 7034: a service terminated unexpectedly.
    ServiceCrashed { service: String, times: Option<u32> },
    /// SCM 7040: a service's start type changed (a Start=4 change shows up here).
    StartTypeChanged {
        service: String,
        old: String,
        new: String,
        key_name: Option<String>,
    },
    /// SCM 7045: a service was installed.
    ServiceInstalled {
        name: String,
        image_path: String,
        service_type: String,
        start_type: String,
        account: String,
    },
    /// Kernel-Power 41: rebooted without a clean shutdown; the bug check when there was one.
    /// (BugcheckCode is decimal in this event: 159 = 0x9F.)
    UncleanReboot {
        bugcheck: Option<Bugcheck>,
        sleep_in_progress: Option<String>,
        power_button_timestamp: Option<String>,
    },
    /// WER 1001 BugCheck: the bug check of the previous boot, its dump and report.
    BugCheckReport {
        bugcheck: Option<Bugcheck>,
        text: String,
        dump_path: Option<String>,
        report_id: Option<String>,
    },
    /// EventLog 6008: the previous shutdown was unexpected (time and date as logged).
    UnexpectedShutdown { when: Option<String> },
    /// Kernel-PnP 219: a driver failed to load for a device. `driver` is the service behind
    /// FailureName `\Driver\<service>`.
    DeviceDriverFailed {
        device: String,
        status: Option<NtStatus>,
        failure_name: String,
        driver: Option<String>,
    },
    /// Kernel-General 12: the operating system started.
    OsStarted {
        start_time: Option<String>,
        version: Option<String>,
    },
    /// Kernel-General 13: the operating system is shutting down.
    OsStopped { stop_time: Option<String> },
}

/// The IDs typed here, per provider.
pub(crate) fn is_typed(provider: &str, id: u16) -> bool {
    match provider {
        SCM => matches!(
            id,
            7000 | 7001 | 7009 | 7011 | 7022 | 7023 | 7024 | 7026 | 7034 | 7040 | 7045
        ),
        KERNEL_POWER => id == 41,
        WER_SYSTEM | BUGCHECK_SOURCE => id == 1001,
        EVENTLOG => id == 6008,
        KERNEL_PNP => id == 219,
        KERNEL_GENERAL => matches!(id, 12 | 13),
        _ => false,
    }
}

fn named(fields: &[Field], name: &str) -> String {
    field(fields, &[name])
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn opt(fields: &[Field], names: &[&str]) -> Option<String> {
    field(fields, names)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The `i`-th positional value: `paramN` for classic providers rendered with names, or the
/// N-th unnamed `<Data>`.
fn param(fields: &[Field], i: usize) -> String {
    if let Some(v) = field(fields, &[&format!("param{i}")]) {
        return v.trim().to_string();
    }
    fields
        .iter()
        .filter(|f| f.name.is_none())
        .nth(i.saturating_sub(1))
        .map(|f| f.value.trim().to_string())
        .unwrap_or_default()
}

/// The service key name in SCM's Binary data: UTF-16LE, NUL-terminated, rendered as hex
/// (the evtx crate) or base64 (python-evtx).
pub(crate) fn binary_key_name(fields: &[Field]) -> Option<String> {
    let raw = field(fields, &["Binary"])?.trim();
    let bytes = decode_hex(raw).or_else(|| crate::text::base64_decode(raw))?;
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    let s = String::from_utf16(&units).ok()?;
    (!s.is_empty() && s.chars().all(|c| !c.is_control())).then_some(s)
}

/// Remove the Unicode direction marks Windows puts in localised dates (U+200E, U+200F, the
/// embeddings U+202A..U+202E and isolates U+2066..U+2069), which are invisible but break
/// comparisons and parsing.
pub(crate) fn strip_direction_marks(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// A SYSTEMTIME (wYear, wMonth, wDayOfWeek, wDay, wHour, wMinute, wSecond, wMilliseconds;
/// eight little-endian u16) as `YYYY-MM-DD hh:mm:ss`, `None` when a field is out of range.
fn systemtime(b: &[u8]) -> Option<String> {
    let w: Vec<u16> = b
        .get(..16)?
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let (y, mo, dow, d, h, mi, sec, ms) = (w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]);
    let ok = (1601..=30827).contains(&y)
        && (1..=12).contains(&mo)
        && dow <= 6
        && (1..=31).contains(&d)
        && h <= 23
        && mi <= 59
        && sec <= 59
        && ms <= 999;
    ok.then(|| format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{sec:02}"))
}

/// EventLog 6008's Binary data: the time of the unexpected shutdown as a SYSTEMTIME in local
/// time, then (Windows XP and later) the same instant as a SYSTEMTIME in UTC. Gives
/// `2019-11-29 09:06:50 local (2019-11-29T17:06:50Z)`.
fn shutdown_time_from_binary(fields: &[Field]) -> Option<String> {
    let raw = field(fields, &["Binary"])?.trim();
    let bytes = decode_hex(raw).or_else(|| crate::text::base64_decode(raw))?;
    let local = systemtime(&bytes)?;
    Some(match bytes.get(16..32).and_then(systemtime) {
        Some(utc) => format!("{local} local ({}Z)", utc.replacen(' ', "T", 1)),
        None => format!("{local} local"),
    })
}

/// A SYSTEMTIME as seconds since the Unix epoch (of its own clock: local or UTC).
fn systemtime_seconds(b: &[u8]) -> Option<i64> {
    systemtime(b)?;
    let w = |i: usize| i64::from(u16::from_le_bytes([b[i * 2], b[i * 2 + 1]]));
    let days = crate::filetime::days_from_civil(w(0), w(1) as u32, w(3) as u32);
    Some(days * 86_400 + w(4) * 3600 + w(5) * 60 + w(6))
}

/// EventLog 6008's shutdown instant from its Binary data, as seconds since the Unix epoch:
/// `(local, utc)`, the machine's local clock and (Windows XP and later) UTC. The display
/// strings are never parsed: they are localised and hold invisible direction marks.
pub fn unexpected_shutdown_seconds(fields: &[Field]) -> (Option<i64>, Option<i64>) {
    let Some(raw) = field(fields, &["Binary"]).map(str::trim) else {
        return (None, None);
    };
    let Some(bytes) = decode_hex(raw).or_else(|| crate::text::base64_decode(raw)) else {
        return (None, None);
    };
    (
        systemtime_seconds(&bytes),
        bytes.get(16..32).and_then(systemtime_seconds),
    )
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Parse WER 1001's first insertion: `0x0000005a (0x…, 0x…, 0x…, 0xffffffffc0000428)`.
fn parse_bugcheck_text(text: &str) -> Option<Bugcheck> {
    let (code, rest) = text.trim().split_once('(')?;
    let code = parse_number(code)? as u32;
    let mut parameters = [0u64; 4];
    let inner = rest.split(')').next()?;
    for (slot, p) in parameters.iter_mut().zip(inner.split(',')) {
        *slot = parse_number(p)?;
    }
    Some(Bugcheck { code, parameters })
}

fn split_driver_list(list: &str) -> Vec<String> {
    list.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Type a System event, or `None` when (provider, id) is not one typed here.
pub(crate) fn from_fields(provider: &str, id: u16, fields: &[Field]) -> Option<SystemEvent> {
    if !is_typed(provider, id) {
        return None;
    }
    Some(match (provider, id) {
        (SCM, 7000) => SystemEvent::ServiceStartFailed {
            service: param(fields, 1),
            error: Win32Error::parse(&param(fields, 2)),
            key_name: binary_key_name(fields),
        },
        (SCM, 7001) => SystemEvent::DependencyStartFailed {
            service: param(fields, 1),
            dependency: param(fields, 2),
            error: Win32Error::parse(&param(fields, 3)),
        },
        (SCM, 7009) => SystemEvent::ServiceConnectTimeout {
            timeout_ms: param(fields, 1).parse().ok(),
            service: param(fields, 2),
        },
        (SCM, 7011) => SystemEvent::TransactionTimeout {
            timeout_ms: param(fields, 1).parse().ok(),
            service: param(fields, 2),
        },
        (SCM, 7022) => SystemEvent::ServiceHung {
            service: param(fields, 1),
        },
        (SCM, 7023) => SystemEvent::ServiceTerminated {
            service: param(fields, 1),
            error: Win32Error::parse(&param(fields, 2)),
            key_name: binary_key_name(fields),
        },
        (SCM, 7024) => SystemEvent::ServiceSpecificError {
            service: param(fields, 1),
            error: Win32Error::parse(&param(fields, 2)),
        },
        (SCM, 7026) => SystemEvent::BootDriversNotLoaded {
            drivers: split_driver_list(&param(fields, 1)),
        },
        (SCM, 7034) => SystemEvent::ServiceCrashed {
            service: param(fields, 1),
            times: param(fields, 2).parse().ok(),
        },
        (SCM, 7040) => SystemEvent::StartTypeChanged {
            service: param(fields, 1),
            old: param(fields, 2),
            new: param(fields, 3),
            key_name: Some(param(fields, 4)).filter(|s| !s.is_empty()),
        },
        (SCM, 7045) => SystemEvent::ServiceInstalled {
            name: named(fields, "ServiceName"),
            image_path: named(fields, "ImagePath"),
            service_type: named(fields, "ServiceType"),
            start_type: named(fields, "StartType"),
            account: named(fields, "AccountName"),
        },
        (KERNEL_POWER, 41) => {
            let code = field(fields, &["BugcheckCode"]).and_then(|c| c.trim().parse::<u64>().ok());
            let bugcheck = code.filter(|c| *c != 0).map(|c| {
                let mut parameters = [0u64; 4];
                for (i, slot) in parameters.iter_mut().enumerate() {
                    *slot = field(fields, &[&format!("BugcheckParameter{}", i + 1)])
                        .and_then(parse_number)
                        .unwrap_or(0);
                }
                Bugcheck {
                    code: c as u32,
                    parameters,
                }
            });
            SystemEvent::UncleanReboot {
                bugcheck,
                sleep_in_progress: opt(fields, &["SleepInProgress"]),
                power_button_timestamp: opt(fields, &["PowerButtonTimestamp"]),
            }
        }
        (_, 1001) => {
            let text = param(fields, 1);
            SystemEvent::BugCheckReport {
                bugcheck: parse_bugcheck_text(&text),
                text,
                dump_path: Some(param(fields, 2)).filter(|s| !s.is_empty()),
                report_id: Some(param(fields, 3)).filter(|s| !s.is_empty()),
            }
        }
        (EVENTLOG, 6008) => {
            // The time from the Binary data (two SYSTEMTIMEs); the display strings only when
            // there is none, without their invisible direction marks.
            let when = shutdown_time_from_binary(fields).or_else(|| {
                let parts: Vec<String> = (1..=2)
                    .map(|i| strip_direction_marks(&param(fields, i)))
                    .filter(|s| !s.is_empty())
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            });
            SystemEvent::UnexpectedShutdown { when }
        }
        (KERNEL_PNP, 219) => {
            let failure_name = named(fields, "FailureName");
            let driver = failure_name
                .strip_prefix("\\Driver\\")
                .map(str::to_string)
                .filter(|s| !s.is_empty());
            SystemEvent::DeviceDriverFailed {
                device: named(fields, "DriverName"),
                status: field(fields, &["Status"]).and_then(NtStatus::parse),
                failure_name,
                driver,
            }
        }
        (KERNEL_GENERAL, 12) => {
            let part = |n: &str| opt(fields, &[n]);
            let version = match (
                part("MajorVersion"),
                part("MinorVersion"),
                part("BuildVersion"),
                part("QfeVersion"),
            ) {
                (Some(a), Some(b), Some(c), Some(d)) => Some(format!("{a}.{b}.{c}.{d}")),
                (Some(a), Some(b), Some(c), None) => Some(format!("{a}.{b}.{c}")),
                _ => None,
            };
            SystemEvent::OsStarted {
                start_time: opt(fields, &["StartTime"]),
                version,
            }
        }
        (KERNEL_GENERAL, 13) => SystemEvent::OsStopped {
            stop_time: opt(fields, &["StopTime"]),
        },
        _ => return None,
    })
}

impl SystemEvent {
    /// The service key names or image paths this event names, for the driver lookup.
    pub(crate) fn driver_spellings(&self) -> Vec<DriverSpelling<'_>> {
        match self {
            SystemEvent::ServiceStartFailed { key_name, .. }
            | SystemEvent::ServiceTerminated { key_name, .. }
            | SystemEvent::StartTypeChanged { key_name, .. } => key_name
                .as_deref()
                .map(DriverSpelling::Service)
                .into_iter()
                .collect(),
            SystemEvent::BootDriversNotLoaded { drivers } => drivers
                .iter()
                .map(|d| DriverSpelling::Driver(d.as_str()))
                .collect(),
            SystemEvent::ServiceInstalled { image_path, .. } if !image_path.is_empty() => {
                vec![DriverSpelling::Path(image_path)]
            }
            SystemEvent::DeviceDriverFailed {
                driver: Some(d), ..
            } => vec![DriverSpelling::Driver(d)],
            _ => Vec::new(),
        }
    }
}

/// How an event names a driver or service.
pub(crate) enum DriverSpelling<'a> {
    /// The service key of a driver (7026 lists boot/system-start drivers; 219 names a
    /// driver object): `<name>.sys` unless the hive says otherwise.
    Driver(&'a str),
    /// A service key that may be a driver or a user-mode service.
    Service(&'a str),
    /// An image path.
    Path(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: Option<&str>, value: &str) -> Field {
        Field {
            name: name.map(str::to_string),
            value: value.into(),
        }
    }

    #[test]
    fn scm_7000_reads_its_key_name_from_hex_or_base64_binary() {
        for binary in ["43006C00640046006C0074000000", "QwBsAGQARgBsAHQAAAA="] {
            let fields = [
                f(Some("param1"), "CldFlt"),
                f(Some("param2"), "%%50"),
                f(Some("Binary"), binary),
            ];
            let Some(SystemEvent::ServiceStartFailed {
                error, key_name, ..
            }) = from_fields(SCM, 7000, &fields)
            else {
                panic!("typed");
            };
            assert_eq!(error.name(), Some("ERROR_NOT_SUPPORTED"));
            assert_eq!(key_name.as_deref(), Some("CldFlt"), "{binary}");
        }
    }

    #[test]
    fn kernel_power_41_reads_its_bugcheck_code_as_decimal() {
        let fields = [
            f(Some("BugcheckCode"), "90"),
            f(Some("BugcheckParameter1"), "0x1"),
            f(Some("BugcheckParameter4"), "0xffffffffc0000428"),
        ];
        let Some(SystemEvent::UncleanReboot {
            bugcheck: Some(b), ..
        }) = from_fields(KERNEL_POWER, 41, &fields)
        else {
            panic!("typed");
        };
        assert_eq!(b.code, 0x5A);
        assert_eq!(b.name(), Some("CRITICAL_SERVICE_FAILED"));
        assert_eq!(b.parameters, [1, 0, 0, 0xffff_ffff_c000_0428]);
    }

    #[test]
    fn wer_1001_parses_its_bugcheck_line() {
        let fields = [
            f(
                Some("param1"),
                "0x0000005a (0x0000000000000001, 0xffffc00000000000, 0x0000000000000000, 0xffffffffc0000428)",
            ),
            f(Some("param2"), "C:\\Windows\\MEMORY.DMP"),
            f(Some("param3"), "0a1b"),
        ];
        let Some(SystemEvent::BugCheckReport {
            bugcheck: Some(b),
            dump_path,
            ..
        }) = from_fields(WER_SYSTEM, 1001, &fields)
        else {
            panic!("typed");
        };
        assert_eq!(b.code, 0x5A);
        assert_eq!(b.parameters[3], 0xffff_ffff_c000_0428);
        assert_eq!(dump_path.as_deref(), Some("C:\\Windows\\MEMORY.DMP"));
    }

    #[test]
    fn scm_7026_splits_its_driver_list() {
        let fields = [f(Some("param1"), "\r\nCSC\r\ndam")];
        assert_eq!(
            from_fields(SCM, 7026, &fields),
            Some(SystemEvent::BootDriversNotLoaded {
                drivers: vec!["CSC".into(), "dam".into()]
            })
        );
        // Winlogon also logs a 7001; only SCM's is typed.
        assert_eq!(
            from_fields("Microsoft-Windows-Winlogon", 7001, &fields),
            None
        );
    }
}
