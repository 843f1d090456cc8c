//! Windows Error Reporting's `Report.wer`: the manifest of one report (UTF-16 `Name=Value`
//! lines). Kernel reports (`EventType=BlueScreen`, `LiveKernelEvent`) carry the bug check in
//! their signature: `Sig[0].Name=BCCode` (or `Code`) and `BCP1..BCP4` (or `Parameter 1..4`),
//! values in hex without `0x`; `EventTime` is a FILETIME in decimal (UTC).

use crate::bugcheck::Bugcheck;
use crate::filetime::FileTime;
use std::collections::HashMap;

/// The bytes read of one manifest (they are a few KiB).
pub const MAX_WER_BYTES: u64 = 1 << 20;

/// A parsed `Report.wer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WerReport {
    /// `BlueScreen`, `LiveKernelEvent`, `APPCRASH`...
    pub event_type: String,
    /// `EventTime` (UTC seconds).
    pub time: Option<i64>,
    pub bugcheck: Option<Bugcheck>,
    pub report_id: Option<String>,
}

impl WerReport {
    /// A kernel report (a bug check or a live kernel event).
    pub fn is_kernel(&self) -> bool {
        matches!(
            self.event_type.to_ascii_lowercase().as_str(),
            "bluescreen" | "livekernelevent"
        ) || self.bugcheck.is_some()
    }

    pub fn is_live(&self) -> bool {
        self.event_type.eq_ignore_ascii_case("LiveKernelEvent")
    }
}

fn hex(v: &str) -> Option<u64> {
    let v = v.trim();
    let v = v
        .strip_prefix("0x")
        .or_else(|| v.strip_prefix("0X"))
        .unwrap_or(v);
    (!v.is_empty() && v.len() <= 16)
        .then(|| u64::from_str_radix(v, 16).ok())
        .flatten()
}

/// Parse a manifest's text; `None` when it is not one (no `EventType=`).
pub fn parse(text: &str) -> Option<WerReport> {
    let mut values: HashMap<String, &str> = HashMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            values
                .entry(k.trim().to_ascii_lowercase())
                .or_insert(v.trim());
        }
    }
    let event_type = values.get("eventtype")?.to_string();
    let time = values
        .get("eventtime")
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|t| *t != 0)
        .map(|t| FileTime(t).unix_seconds());
    // Signature parameters by name.
    let mut sig: HashMap<String, &str> = HashMap::new();
    for i in 0..16 {
        if let (Some(n), Some(v)) = (
            values.get(&format!("sig[{i}].name")),
            values.get(&format!("sig[{i}].value")),
        ) {
            sig.insert(n.to_ascii_lowercase().replace(' ', ""), v);
        }
    }
    let code = sig
        .get("bccode")
        .or_else(|| sig.get("code"))
        .and_then(|v| hex(v));
    let bugcheck = code.map(|c| {
        let mut parameters = [0u64; 4];
        for (i, slot) in parameters.iter_mut().enumerate() {
            *slot = sig
                .get(&format!("bcp{}", i + 1))
                .or_else(|| sig.get(&format!("parameter{}", i + 1)))
                .and_then(|v| hex(v))
                .unwrap_or(0);
        }
        Bugcheck {
            code: c as u32,
            parameters,
        }
    });
    Some(WerReport {
        event_type,
        time,
        bugcheck,
        report_id: values.get("reportidentifier").map(|s| s.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bluescreen_manifest_gives_its_bug_check_and_time() {
        let text = "Version=1\r\nEventType=BlueScreen\r\nEventTime=133601264210000000\r\n\
                    ReportIdentifier=0a1b\r\nSig[0].Name=BCCode\r\nSig[0].Value=5a\r\n\
                    Sig[1].Name=BCP1\r\nSig[1].Value=0000000000000001\r\n\
                    Sig[4].Name=BCP4\r\nSig[4].Value=FFFFFFFFC0000428\r\n";
        let r = parse(text).unwrap();
        assert!(r.is_kernel() && !r.is_live());
        let b = r.bugcheck.unwrap();
        assert_eq!(b.code, 0x5a);
        assert_eq!(b.parameters, [1, 0, 0, 0xffff_ffff_c000_0428]);
        assert_eq!(
            r.time,
            Some(FileTime(133_601_264_210_000_000).unix_seconds())
        );
        let live = "EventType=LiveKernelEvent\nSig[0].Name=Code\nSig[0].Value=141\n\
                    Sig[1].Name=Parameter 1\nSig[1].Value=ffffa00f1c4e2010\n";
        let r = parse(live).unwrap();
        assert!(r.is_live());
        assert_eq!(r.bugcheck.unwrap().parameters[0], 0xffff_a00f_1c4e_2010);
        assert_eq!(parse("just text"), None);
    }
}
