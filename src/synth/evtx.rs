//! An EVTX writer: CodeIntegrity and System events as real `.evtx` files for fixtures, the demo
//! case and benchmarks.
//!
//! Layout as MS-EVEN6 gives it and as Windows writes it: a 4 KiB file header, 64 KiB chunks
//! (512-byte header with CRC32s of the header and of the records), records (`**\0\0`, size,
//! record ID, FILETIME, BinXML, size again). Each record's BinXML is a template instance whose
//! template is defined inline (resident) right there: `<Event>` with `<System>` and
//! `<EventData>`, every System value and every data value a typed substitution. Names are
//! written inline each time. Both the `evtx` crate and python-evtx read what this writes
//! (tests/eventlog_writer.rs checks it).

use crate::eventlog::codes::NtStatus;
use evtx::Timestamp;
use std::fmt;
use std::path::Path;

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 65536;
const CHUNK_HEADER_SIZE: usize = 512;
const RECORD_HEADER_SIZE: usize = 24;
const EVENT_NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// A Windows GUID (Data1-3 little-endian, Data4 as bytes), shown `{xxxxxxxx-xxxx-...}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// The GUID whose canonical text is the hex digits of `v` (`0x2d9f3a42_01d4_4733_...`).
    pub fn from_u128(v: u128) -> Guid {
        let b = v.to_be_bytes();
        let mut out = [0u8; 16];
        out[0..4].copy_from_slice(&[b[3], b[2], b[1], b[0]]);
        out[4..6].copy_from_slice(&[b[5], b[4]]);
        out[6..8].copy_from_slice(&[b[7], b[6]]);
        out[8..16].copy_from_slice(&b[8..16]);
        Guid(out)
    }

    /// Parse `{2d9f3a42-01d4-4733-97f7-041e8021dc84}` (braces optional).
    pub fn parse(text: &str) -> Option<Guid> {
        let hex: String = text
            .trim()
            .trim_matches(['{', '}'])
            .chars()
            .filter(|c| *c != '-')
            .collect();
        if hex.len() != 32 {
            return None;
        }
        u128::from_str_radix(&hex, 16).ok().map(Guid::from_u128)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{{{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}}}",
            b[3],
            b[2],
            b[1],
            b[0],
            b[5],
            b[4],
            b[7],
            b[6],
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

/// A typed value, as a BinXML substitution (MS-EVEN6 §2.2.13 value types).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    Bool(bool),
    Binary(Vec<u8>),
    Guid(Guid),
    /// 100 ns ticks since 1601-01-01 UTC.
    FileTime(u64),
    HexU32(u32),
    HexU64(u64),
}

impl Value {
    fn type_code(&self) -> u8 {
        match self {
            Value::Str(_) => 0x01,
            Value::U8(_) => 0x04,
            Value::U16(_) => 0x06,
            Value::U32(_) => 0x08,
            Value::U64(_) => 0x0a,
            Value::Bool(_) => 0x0d,
            Value::Binary(_) => 0x0e,
            Value::Guid(_) => 0x0f,
            Value::FileTime(_) => 0x11,
            Value::HexU32(_) => 0x14,
            Value::HexU64(_) => 0x15,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Value::Str(s) => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Value::U8(v) => vec![*v],
            Value::U16(v) => v.to_le_bytes().to_vec(),
            Value::U32(v) | Value::HexU32(v) => v.to_le_bytes().to_vec(),
            Value::U64(v) | Value::HexU64(v) | Value::FileTime(v) => v.to_le_bytes().to_vec(),
            // BinXML booleans are 32-bit.
            Value::Bool(v) => u32::from(*v).to_le_bytes().to_vec(),
            Value::Binary(b) => b.clone(),
            Value::Guid(g) => g.0.to_vec(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

/// The FILETIME of a timestamp (clamped to the FILETIME range).
pub fn filetime(t: Timestamp) -> u64 {
    let ticks = t.as_nanosecond() / 100 + i128::from(crate::filetime::FILETIME_UNIX_EPOCH);
    ticks.clamp(0, i128::from(u64::MAX)) as u64
}

/// One data element of EventData: `<Data Name="name">value</Data>`, `<Data>value</Data>` when
/// unnamed (classic providers), or `<Binary>value</Binary>`.
#[derive(Clone, Debug, PartialEq)]
pub enum DataItem {
    Named(String, Value),
    Unnamed(Value),
    Binary(Vec<u8>),
}

/// One event, as a record will hold it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSpec {
    pub time: Timestamp,
    pub provider: String,
    pub provider_guid: Option<Guid>,
    /// Classic providers also name their event source.
    pub event_source_name: Option<String>,
    pub event_id: u16,
    pub qualifiers: Option<u16>,
    pub version: u8,
    pub level: u8,
    pub task: u16,
    pub opcode: u8,
    pub keywords: u64,
    pub activity_id: Option<Guid>,
    pub process_id: u32,
    pub thread_id: u32,
    pub channel: String,
    pub data: Vec<DataItem>,
}

/// The file and process name fields CodeIntegrity events open with.
fn file_and_process(file: &str, process: &str) -> Vec<DataItem> {
    vec![
        named("FileNameLength", Value::U16(units(file))),
        named("FileNameBuffer", file.into()),
        named("ProcessNameLength", Value::U16(units(process))),
        named("ProcessNameBuffer", process.into()),
    ]
}

impl EventSpec {
    /// An event of `provider` in `channel`: level 4 (information), no GUIDs, qualifiers,
    /// task, opcode, keywords or process; the writers below set what their event has.
    pub fn new(
        time: Timestamp,
        provider: &str,
        event_id: u16,
        channel: &str,
        data: Vec<DataItem>,
    ) -> EventSpec {
        EventSpec {
            time,
            provider: provider.to_string(),
            provider_guid: None,
            event_source_name: None,
            event_id,
            qualifiers: None,
            version: 0,
            level: 4,
            task: 0,
            opcode: 0,
            keywords: 0,
            activity_id: None,
            process_id: 0,
            thread_id: 0,
            channel: channel.to_string(),
            data,
        }
    }
}

const CI_GUID: u128 = 0x4ee76bd8_3cf4_44a0_a0ac_3937643e37a3;
const CI_CHANNEL: &str = "Microsoft-Windows-CodeIntegrity/Operational";
const SCM_GUID: u128 = 0x555908d1_a6d7_4695_8e1e_26931d2012f4;
const KERNEL_POWER_GUID: u128 = 0x331c3b3a_2005_44c2_ac5e_77220c37d6b4;
const WER_GUID: u128 = 0xabce23e7_de45_4366_8631_84fa6c525952;
/// Microsoft-Windows-WHEA-Logger.
const WHEA_GUID: u128 = 0xc26c4f3c_3f66_4e99_8f8a_39405cfed220;
const KERNEL_GENERAL_GUID: u128 = 0xa68ca8b7_004f_d7b6_a698_07e2de0f1f5d;

/// The signature information of a 3089 event (docs/formats/evtx.md §2.2, v2 fields).
#[derive(Clone, Debug, PartialEq)]
pub struct Signature3089 {
    pub total_signature_count: u32,
    pub index: u32,
    pub cache_state: u32,
    pub hash: Vec<u8>,
    pub page_hash: bool,
    pub signature_type: u8,
    pub validated_level: u8,
    pub verification_error: u8,
    pub flags: u32,
    pub policy_bits: u32,
    pub not_valid_before: Timestamp,
    pub not_valid_after: Timestamp,
    pub publisher: String,
    pub issuer: String,
    pub publisher_tbs_hash: Vec<u8>,
    pub issuer_tbs_hash: Vec<u8>,
}

fn named(name: &str, v: Value) -> DataItem {
    DataItem::Named(name.to_string(), v)
}

/// The number of UTF-16 units of a string, as the `*Length` fields count them.
fn units(s: &str) -> u16 {
    s.encode_utf16().count().min(usize::from(u16::MAX)) as u16
}

/// Writes an `.evtx` file of the events pushed, in order, with record IDs from 1.
#[derive(Clone, Debug)]
pub struct EvtxWriter {
    computer: String,
    events: Vec<EventSpec>,
}

impl Default for EvtxWriter {
    fn default() -> Self {
        EvtxWriter::new()
    }
}

impl EvtxWriter {
    pub fn new() -> EvtxWriter {
        EvtxWriter {
            computer: "WORKSTATION".to_string(),
            events: Vec::new(),
        }
    }

    /// The computer name every record carries.
    pub fn computer(mut self, name: &str) -> Self {
        self.computer = name.to_string();
        self
    }

    pub fn event(mut self, e: EventSpec) -> Self {
        self.events.push(e);
        self
    }

    pub fn events(&self) -> &[EventSpec] {
        &self.events
    }

    fn ci(
        self,
        time: Timestamp,
        id: u16,
        level: u8,
        opcode: u8,
        activity: Option<Guid>,
        data: Vec<DataItem>,
    ) -> Self {
        self.event(EventSpec {
            provider_guid: Some(Guid::from_u128(CI_GUID)),
            level,
            task: 1,
            opcode,
            keywords: 0x8000_0000_0000_0000,
            activity_id: activity,
            process_id: 4,
            thread_id: 8,
            ..EventSpec::new(
                time,
                crate::eventlog::codeintegrity::PROVIDER,
                id,
                CI_CHANNEL,
                data,
            )
        })
    }

    /// CodeIntegrity 3001: an unsigned kernel module was loaded.
    pub fn code_integrity_3001(self, time: Timestamp, file: &str, process: &str) -> Self {
        let data = file_and_process(file, process);
        self.ci(time, 3001, 3, 0, None, data)
    }

    /// CodeIntegrity 3004: the file hash could not be found on the system (`status` is an
    /// NTSTATUS, e.g. 0xC0000428). `activity` ties it to its 3089 events.
    pub fn code_integrity_3004(
        self,
        time: Timestamp,
        file: &str,
        process: &str,
        status: NtStatus,
        activity: Option<Guid>,
    ) -> Self {
        let mut data = file_and_process(file, process);
        data.extend([named("Status", Value::U32(status.code))]);
        self.ci(time, 3004, 2, 0, activity, data)
    }

    /// CodeIntegrity 3010 (v1): a catalog could not be loaded.
    pub fn code_integrity_3010(self, time: Timestamp, catalog: &str, status: NtStatus) -> Self {
        let data = vec![
            named("FileNameLength", Value::U16(units(catalog))),
            named("FileNameBuffer", catalog.into()),
            named("Status", Value::U32(status.code)),
        ];
        let mut w = self.ci(time, 3010, 3, 0, None, data);
        if let Some(e) = w.events.last_mut() {
            e.version = 1;
        }
        w
    }

    /// CodeIntegrity 3033 (v0): an image did not meet the signing level requirements.
    #[allow(clippy::too_many_arguments)]
    pub fn code_integrity_3033(
        self,
        time: Timestamp,
        file: &str,
        process: &str,
        requested_level: u8,
        validated_level: u8,
        status: NtStatus,
        activity: Option<Guid>,
    ) -> Self {
        let mut data = file_and_process(file, process);
        data.extend([
            named("RequestedPolicy", Value::U8(requested_level)),
            named("ValidatedPolicy", Value::U8(validated_level)),
            named("Status", Value::U32(status.code)),
        ]);
        self.ci(time, 3033, 2, 111, activity, data)
    }

    /// A CodeIntegrity event `id` about `file` loaded by `process`, with only those two
    /// fields (3023 revoked, 3083 WHQL, 3087 HVCI...), at `level` (2 error, 3 warning).
    pub fn code_integrity_file(
        self,
        time: Timestamp,
        id: u16,
        level: u8,
        file: &str,
        process: &str,
    ) -> Self {
        let data = file_and_process(file, process);
        self.ci(time, id, level, 0, None, data)
    }

    /// CodeIntegrity 3077: an App Control policy blocked the file (the enforced twin of
    /// 3076), with the policy's name and ID, as Microsoft's event documentation lists them.
    #[allow(clippy::too_many_arguments)]
    pub fn code_integrity_3077(
        self,
        time: Timestamp,
        file: &str,
        process: &str,
        requested_level: u8,
        validated_level: u8,
        policy_name: &str,
        policy_id: &str,
    ) -> Self {
        let data = vec![
            named("File Name", file.into()),
            named("Process Name", process.into()),
            named("Requested Signing Level", Value::U8(requested_level)),
            named("Validated Signing Level", Value::U8(validated_level)),
            named("Status", Value::U32(0xC000_0428)),
            named("PolicyName", policy_name.into()),
            named("PolicyID", policy_id.into()),
        ];
        self.ci(time, 3077, 2, 0, None, data)
    }

    /// WHEA-Logger 18: a fatal hardware error (`component` such as "Processor Core",
    /// `source` such as "Machine Check Exception"), level error.
    pub fn whea_18(self, time: Timestamp, source: &str, component: &str, processor: u32) -> Self {
        let data = vec![
            named("ErrorSource", source.into()),
            named("ErrorType", "Cache Hierarchy Error".into()),
            named("ProcessorAPICID", Value::U32(processor)),
            named("ComponentName", component.into()),
        ];
        self.event(EventSpec {
            provider_guid: Some(Guid::from_u128(WHEA_GUID)),
            level: 2,
            process_id: 4,
            thread_id: 200,
            ..EventSpec::new(time, "Microsoft-Windows-WHEA-Logger", 18, "System", data)
        })
    }

    /// CodeIntegrity 3089 (v2): one signature of the file of the event with the same ActivityID.
    pub fn code_integrity_3089(self, time: Timestamp, activity: Guid, s: &Signature3089) -> Self {
        let data = vec![
            named("TotalSignatureCount", Value::U32(s.total_signature_count)),
            named("Signature", Value::U32(s.index)),
            named("CacheState", Value::U32(s.cache_state)),
            named("Hash Size", Value::U32(s.hash.len() as u32)),
            named("Hash", Value::Binary(s.hash.clone())),
            named("PageHash", Value::Bool(s.page_hash)),
            named("SignatureType", Value::U8(s.signature_type)),
            named("ValidatedSigningLevel", Value::U8(s.validated_level)),
            named("VerificationError", Value::U8(s.verification_error)),
            named("Flags", Value::U32(s.flags)),
            named("PolicyBits", Value::U32(s.policy_bits)),
            named(
                "NotValidBefore",
                Value::FileTime(filetime(s.not_valid_before)),
            ),
            named(
                "NotValidAfter",
                Value::FileTime(filetime(s.not_valid_after)),
            ),
            named(
                "PublisherNameLength",
                Value::U32(u32::from(units(&s.publisher))),
            ),
            named("PublisherName", s.publisher.as_str().into()),
            named("IssuerNameLength", Value::U32(u32::from(units(&s.issuer)))),
            named("IssuerName", s.issuer.as_str().into()),
            named(
                "PublisherTBSHashSize",
                Value::U32(s.publisher_tbs_hash.len() as u32),
            ),
            named(
                "PublisherTBSHash",
                Value::Binary(s.publisher_tbs_hash.clone()),
            ),
            named(
                "IssuerTBSHashSize",
                Value::U32(s.issuer_tbs_hash.len() as u32),
            ),
            named("IssuerTBSHash", Value::Binary(s.issuer_tbs_hash.clone())),
        ];
        let mut w = self.ci(time, 3089, 4, 0, Some(activity), data);
        if let Some(e) = w.events.last_mut() {
            e.version = 2;
        }
        w
    }

    fn scm(self, time: Timestamp, id: u16, level: u8, data: Vec<DataItem>) -> Self {
        let qualifiers = match level {
            2 => 49152,
            3 => 32768,
            _ => 16384,
        };
        self.event(EventSpec {
            provider_guid: Some(Guid::from_u128(SCM_GUID)),
            event_source_name: Some(crate::eventlog::system::SCM.to_string()),
            qualifiers: Some(qualifiers),
            level,
            keywords: 0x8080_0000_0000_0000,
            process_id: 700,
            thread_id: 704,
            ..EventSpec::new(time, crate::eventlog::system::SCM, id, "System", data)
        })
    }

    /// SCM 7000: `service` (display name) failed to start with Win32 error `error`
    /// (logged `%%577`); the Binary data holds its key name.
    pub fn scm_7000(self, time: Timestamp, service: &str, error: u32, key_name: &str) -> Self {
        let key: Vec<u8> = key_name
            .encode_utf16()
            .chain(std::iter::once(0))
            .flat_map(u16::to_le_bytes)
            .collect();
        let data = vec![
            named("param1", service.into()),
            named("param2", Value::Str(format!("%%{error}"))),
            DataItem::Binary(key),
        ];
        self.scm(time, 7000, 2, data)
    }

    /// SCM 7001: `service` depends on `dependency` (display names), which failed to start
    /// with Win32 error `error` (`%%1068` is the usual: the dependency failed).
    pub fn scm_7001(self, time: Timestamp, service: &str, dependency: &str, error: u32) -> Self {
        let data = vec![
            named("param1", service.into()),
            named("param2", dependency.into()),
            named("param3", Value::Str(format!("%%{error}"))),
        ];
        self.scm(time, 7001, 2, data)
    }

    /// SCM 7026: boot-start or system-start drivers that did not load (key names).
    pub fn scm_7026(self, time: Timestamp, drivers: &[&str]) -> Self {
        let list: String = drivers.iter().map(|d| format!("\r\n{d}")).collect();
        self.scm(time, 7026, 2, vec![named("param1", Value::Str(list))])
    }

    /// SCM 7045: a service was installed.
    pub fn scm_7045(
        self,
        time: Timestamp,
        name: &str,
        image_path: &str,
        service_type: &str,
        start_type: &str,
    ) -> Self {
        let data = vec![
            named("ServiceName", name.into()),
            named("ImagePath", image_path.into()),
            named("ServiceType", service_type.into()),
            named("StartType", start_type.into()),
            named("AccountName", "".into()),
        ];
        self.scm(time, 7045, 4, data)
    }

    /// Kernel-Power 41: rebooted without a clean shutdown, after bug check `code` (logged
    /// in decimal) with its four parameters.
    pub fn kernel_power_41(self, time: Timestamp, code: u32, parameters: [u64; 4]) -> Self {
        let mut data = vec![named("BugcheckCode", Value::U32(code))];
        for (i, p) in parameters.iter().enumerate() {
            data.push(named(
                &format!("BugcheckParameter{}", i + 1),
                Value::HexU64(*p),
            ));
        }
        data.push(named("SleepInProgress", Value::U32(0)));
        data.push(named("PowerButtonTimestamp", Value::U64(0)));
        self.event(EventSpec {
            provider_guid: Some(Guid::from_u128(KERNEL_POWER_GUID)),
            version: 8,
            level: 1,
            task: 63,
            keywords: 0x8000_4000_0000_0002,
            process_id: 4,
            thread_id: 8,
            ..EventSpec::new(
                time,
                crate::eventlog::system::KERNEL_POWER,
                41,
                "System",
                data,
            )
        })
    }

    /// WER 1001 BugCheck: "The computer has rebooted from a bugcheck. The bugcheck was: %1.
    /// A dump was saved in: %2. Report Id: %3."
    pub fn wer_1001(
        self,
        time: Timestamp,
        code: u32,
        parameters: [u64; 4],
        dump_path: &str,
        report_id: &str,
    ) -> Self {
        let text = format!(
            "0x{code:08x} (0x{:016x}, 0x{:016x}, 0x{:016x}, 0x{:016x})",
            parameters[0], parameters[1], parameters[2], parameters[3]
        );
        let data = vec![
            named("param1", Value::Str(text)),
            named("param2", dump_path.into()),
            named("param3", report_id.into()),
        ];
        self.event(EventSpec {
            provider_guid: Some(Guid::from_u128(WER_GUID)),
            event_source_name: Some("BugCheck".to_string()),
            qualifiers: Some(16384),
            level: 2,
            keywords: 0x0080_0000_0000_0000,
            ..EventSpec::new(
                time,
                crate::eventlog::system::WER_SYSTEM,
                1001,
                "System",
                data,
            )
        })
    }

    /// EventLog 6008: "The previous system shutdown at %1 on %2 was unexpected."
    pub fn eventlog_6008(self, time: Timestamp, at_time: &str, on_date: &str) -> Self {
        let data = vec![
            DataItem::Unnamed(at_time.into()),
            DataItem::Unnamed(on_date.into()),
        ];
        self.eventlog_6008_event(time, data)
    }

    fn eventlog_6008_event(self, time: Timestamp, data: Vec<DataItem>) -> Self {
        self.event(EventSpec {
            qualifiers: Some(32768),
            level: 2,
            keywords: 0x0080_0000_0000_0000,
            ..EventSpec::new(
                time,
                crate::eventlog::system::EVENTLOG,
                6008,
                "System",
                data,
            )
        })
    }

    /// EventLog 6008 as Windows 10 writes it: the display strings of the local time with the
    /// invisible left-to-right marks (U+200E) Windows puts in dates ("2:13:41 AM",
    /// "\u{200E}5/\u{200E}14/\u{200E}2024"), five more empty or numeric strings, and the Binary
    /// data: the shutdown time as a SYSTEMTIME in local time, then as a SYSTEMTIME in UTC.
    /// `local` and `utc` are (year, month, day, hour, minute, second, milliseconds).
    pub fn eventlog_6008_with_binary(
        self,
        time: Timestamp,
        local: (u16, u16, u16, u16, u16, u16, u16),
        utc: (u16, u16, u16, u16, u16, u16, u16),
    ) -> Self {
        let systemtime = |(y, mo, d, h, mi, s, ms): (u16, u16, u16, u16, u16, u16, u16)| {
            // Day of week by Zeller-like count from the civil date (0 = Sunday).
            let days = crate::registry::days_from_civil(i64::from(y), u32::from(mo), u32::from(d));
            let dow = (days + 4).rem_euclid(7) as u16;
            [y, mo, dow, d, h, mi, s, ms]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>()
        };
        let mut binary = systemtime(local);
        binary.extend(systemtime(utc));
        let (_, mo, d, h, mi, sec, _) = local;
        let (hour12, ampm) = match h {
            0 => (12, "AM"),
            1..=11 => (h, "AM"),
            12 => (12, "PM"),
            _ => (h - 12, "PM"),
        };
        let lrm = '\u{200E}';
        let at_time = format!("{hour12}:{mi:02}:{sec:02} {ampm}");
        let on_date = format!("{lrm}{mo}/{lrm}{d}/{lrm}{}", local.0);
        let mut data = vec![
            DataItem::Unnamed(Value::Str(at_time)),
            DataItem::Unnamed(Value::Str(on_date)),
            DataItem::Unnamed(Value::Str(String::new())),
            DataItem::Unnamed(Value::Str(String::new())),
            DataItem::Unnamed("6".into()),
            DataItem::Unnamed(Value::Str(String::new())),
            DataItem::Unnamed(Value::Str(String::new())),
        ];
        data.push(DataItem::Binary(binary));
        self.eventlog_6008_event(time, data)
    }

    /// Kernel-General 12: the operating system started (version parts, start time).
    pub fn kernel_general_12(self, time: Timestamp, version: [u32; 4]) -> Self {
        let names = ["MajorVersion", "MinorVersion", "BuildVersion", "QfeVersion"];
        let mut data: Vec<DataItem> = names
            .iter()
            .zip(version)
            .map(|(n, v)| named(n, Value::U32(v)))
            .collect();
        data.push(named("StartTime", Value::FileTime(filetime(time))));
        self.event(EventSpec {
            provider_guid: Some(Guid::from_u128(KERNEL_GENERAL_GUID)),
            task: 1,
            keywords: 0x8000_0000_0000_0080,
            process_id: 4,
            thread_id: 8,
            ..EventSpec::new(
                time,
                crate::eventlog::system::KERNEL_GENERAL,
                12,
                "System",
                data,
            )
        })
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let mut chunk = ChunkBuilder::new(1);
        for (i, e) in self.events.iter().enumerate() {
            let id = i as u64 + 1;
            if !chunk.push(id, e, &self.computer) {
                chunks.push(chunk.finish());
                chunk = ChunkBuilder::new(id);
                // A record that does not fit an empty chunk cannot be written at all.
                if !chunk.push(id, e, &self.computer) {
                    continue;
                }
            }
        }
        if chunk.count > 0 || chunks.is_empty() {
            chunks.push(chunk.finish());
        }
        let mut file = vec![0u8; FILE_HEADER_SIZE];
        put(&mut file, 0, b"ElfFile\0");
        put(&mut file, 8, &0u64.to_le_bytes()); // first chunk
        put(&mut file, 16, &(chunks.len() as u64 - 1).to_le_bytes()); // last chunk
        put(&mut file, 24, &(self.events.len() as u64 + 1).to_le_bytes()); // next record ID
        put(&mut file, 32, &128u32.to_le_bytes()); // header size
        put(&mut file, 36, &1u16.to_le_bytes()); // minor version
        put(&mut file, 38, &3u16.to_le_bytes()); // major version
        put(&mut file, 40, &(FILE_HEADER_SIZE as u16).to_le_bytes());
        put(&mut file, 42, &(chunks.len() as u16).to_le_bytes());
        let crc = crc32fast::hash(&file[..120]);
        put(&mut file, 124, &crc.to_le_bytes());
        for c in chunks {
            file.extend_from_slice(&c);
        }
        file
    }

    /// Write the file (created or truncated).
    pub fn write_to(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_bytes())
    }
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

struct ChunkBuilder {
    data: Vec<u8>,
    first_id: u64,
    count: u64,
    last_record: usize,
}

impl ChunkBuilder {
    fn new(first_id: u64) -> ChunkBuilder {
        ChunkBuilder {
            data: vec![0u8; CHUNK_HEADER_SIZE],
            first_id,
            count: 0,
            last_record: CHUNK_HEADER_SIZE,
        }
    }

    /// Append the record; false when it does not fit.
    fn push(&mut self, id: u64, e: &EventSpec, computer: &str) -> bool {
        let start = self.data.len();
        let binxml = record_binxml(start + RECORD_HEADER_SIZE, id, e, computer);
        let size = RECORD_HEADER_SIZE + binxml.len() + 4;
        if start + size > CHUNK_SIZE {
            return false;
        }
        self.data.extend_from_slice(&[0x2a, 0x2a, 0, 0]);
        self.data.extend_from_slice(&(size as u32).to_le_bytes());
        self.data.extend_from_slice(&id.to_le_bytes());
        self.data.extend_from_slice(&filetime(e.time).to_le_bytes());
        self.data.extend_from_slice(&binxml);
        self.data.extend_from_slice(&(size as u32).to_le_bytes());
        self.last_record = start;
        self.count += 1;
        true
    }

    fn finish(mut self) -> Vec<u8> {
        let free = self.data.len();
        let last_id = self.first_id + self.count.saturating_sub(1);
        self.data.resize(CHUNK_SIZE, 0);
        let d = &mut self.data;
        put(d, 0, b"ElfChnk\0");
        for (at, v) in [
            (8, self.first_id),
            (16, last_id),
            (24, self.first_id),
            (32, last_id),
        ] {
            put(d, at, &v.to_le_bytes());
        }
        put(d, 40, &128u32.to_le_bytes());
        put(d, 44, &(self.last_record as u32).to_le_bytes());
        put(d, 48, &(free as u32).to_le_bytes());
        let records_crc = crc32fast::hash(&d[CHUNK_HEADER_SIZE..free]);
        put(d, 52, &records_crc.to_le_bytes());
        let mut h = crc32fast::Hasher::new();
        h.update(&d[..120]);
        h.update(&d[128..CHUNK_HEADER_SIZE]);
        let header_crc = h.finalize();
        put(d, 124, &header_crc.to_le_bytes());
        self.data
    }
}

/// BinXML written at chunk offset `base` (names and templates point into the chunk).
struct BinXml {
    base: usize,
    bytes: Vec<u8>,
}

impl BinXml {
    fn pos(&self) -> usize {
        self.base + self.bytes.len()
    }
    fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn utf16(&mut self, s: &str) {
        for u in s.encode_utf16() {
            self.u16(u);
        }
    }

    /// A name written inline: offset (pointing just past itself), next-name offset, hash,
    /// length, UTF-16, NUL.
    fn name(&mut self, name: &str) {
        let at = self.pos() + 4;
        self.u32(at as u32);
        self.u32(0);
        self.u16(name_hash(name));
        self.u16(units(name));
        self.utf16(name);
        self.u16(0);
    }

    /// An element start (with the dependency ID of template definitions, none).
    fn open(&mut self, name: &str, has_attributes: bool) {
        self.u8(if has_attributes { 0x41 } else { 0x01 });
        self.u16(0xffff);
        self.u32(0); // data size: readers skip it
        self.name(name);
        if has_attributes {
            self.u32(0); // attribute list size: readers skip it
        }
    }

    fn attribute(&mut self, name: &str, more_follow: bool) {
        self.u8(if more_follow { 0x46 } else { 0x06 });
        self.name(name);
    }

    fn text(&mut self, s: &str) {
        self.u8(0x05);
        self.u8(0x01);
        self.u16(units(s));
        self.utf16(s);
    }

    fn substitution(&mut self, id: u16, ty: u8) {
        self.u8(0x0d);
        self.u16(id);
        self.u8(ty);
    }

    fn close_start(&mut self) {
        self.u8(0x02);
    }
    fn close_empty(&mut self) {
        self.u8(0x03);
    }
    fn end(&mut self) {
        self.u8(0x04);
    }
}

/// The name hash of MS-EVEN6 §2.2.12: the low 16 bits of `hash * 65599 + unit` over the name.
fn name_hash(name: &str) -> u16 {
    let mut h: u32 = 0;
    for u in name.encode_utf16() {
        h = h.wrapping_mul(65599).wrapping_add(u32::from(u));
    }
    h as u16
}

/// Substitution values collected while the template is written.
struct Subs(Vec<Value>);

impl Subs {
    fn add(&mut self, v: Value) -> (u16, u8) {
        let ty = v.type_code();
        self.0.push(v);
        ((self.0.len() - 1) as u16, ty)
    }
}

/// An element whose content is one substitution: `<name>%n</name>`.
fn value_element(x: &mut BinXml, subs: &mut Subs, name: &str, v: Value) {
    x.open(name, false);
    x.close_start();
    let (id, ty) = subs.add(v);
    x.substitution(id, ty);
    x.end();
}

/// An empty element whose attributes are substitutions (a `None` value leaves it out).
fn attr_element(x: &mut BinXml, subs: &mut Subs, name: &str, attrs: Vec<(&str, Option<Value>)>) {
    let attrs: Vec<(&str, Value)> = attrs
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect();
    x.open(name, !attrs.is_empty());
    let n = attrs.len();
    for (i, (a, v)) in attrs.into_iter().enumerate() {
        x.attribute(a, i + 1 < n);
        let (id, ty) = subs.add(v);
        x.substitution(id, ty);
    }
    x.close_empty();
}

/// The record's BinXML: fragment header, template instance with its definition inline, values.
fn record_binxml(base: usize, record_id: u64, e: &EventSpec, computer: &str) -> Vec<u8> {
    let mut x = BinXml {
        base,
        bytes: Vec::new(),
    };
    x.bytes.extend_from_slice(&[0x0f, 0x01, 0x01, 0x00]);
    x.u8(0x0c);
    x.u8(0x01);
    let template_id_at = x.bytes.len();
    x.u32(0); // template ID, set below
    let def_offset = x.pos() + 4;
    x.u32(def_offset as u32);
    // Template definition header: next definition, GUID, data size.
    x.u32(0);
    let guid_at = x.bytes.len();
    x.bytes.extend_from_slice(&[0u8; 16]);
    let size_at = x.bytes.len();
    x.u32(0);
    let body_start = x.bytes.len();

    let mut subs = Subs(Vec::new());
    x.bytes.extend_from_slice(&[0x0f, 0x01, 0x01, 0x00]);
    x.open("Event", true);
    x.attribute("xmlns", false);
    x.text(EVENT_NS);
    x.close_start();
    x.open("System", false);
    x.close_start();
    {
        // <Provider Name=%s Guid="{..}" EventSourceName=".."/>: Name is a substitution like
        // Windows writes it; the others are literals.
        let extra =
            usize::from(e.provider_guid.is_some()) + usize::from(e.event_source_name.is_some());
        x.open("Provider", true);
        x.attribute("Name", extra > 0);
        let (id, ty) = subs.add(Value::Str(e.provider.clone()));
        x.substitution(id, ty);
        if let Some(g) = e.provider_guid {
            x.attribute("Guid", e.event_source_name.is_some());
            x.text(&g.to_string().to_uppercase());
        }
        if let Some(src) = &e.event_source_name {
            x.attribute("EventSourceName", false);
            x.text(src);
        }
        x.close_empty();
    }
    {
        x.open("EventID", e.qualifiers.is_some());
        if let Some(q) = e.qualifiers {
            x.attribute("Qualifiers", false);
            let (id, ty) = subs.add(Value::U16(q));
            x.substitution(id, ty);
        }
        x.close_start();
        let (id, ty) = subs.add(Value::U16(e.event_id));
        x.substitution(id, ty);
        x.end();
    }
    value_element(&mut x, &mut subs, "Version", Value::U8(e.version));
    value_element(&mut x, &mut subs, "Level", Value::U8(e.level));
    value_element(&mut x, &mut subs, "Task", Value::U16(e.task));
    value_element(&mut x, &mut subs, "Opcode", Value::U8(e.opcode));
    value_element(&mut x, &mut subs, "Keywords", Value::HexU64(e.keywords));
    attr_element(
        &mut x,
        &mut subs,
        "TimeCreated",
        vec![("SystemTime", Some(Value::FileTime(filetime(e.time))))],
    );
    value_element(&mut x, &mut subs, "EventRecordID", Value::U64(record_id));
    attr_element(
        &mut x,
        &mut subs,
        "Correlation",
        vec![("ActivityID", e.activity_id.map(Value::Guid))],
    );
    attr_element(
        &mut x,
        &mut subs,
        "Execution",
        vec![
            ("ProcessID", Some(Value::U32(e.process_id))),
            ("ThreadID", Some(Value::U32(e.thread_id))),
        ],
    );
    value_element(&mut x, &mut subs, "Channel", Value::Str(e.channel.clone()));
    value_element(
        &mut x,
        &mut subs,
        "Computer",
        Value::Str(computer.to_string()),
    );
    x.open("Security", false);
    x.close_empty();
    x.end(); // System
    x.open("EventData", false);
    x.close_start();
    for item in &e.data {
        match item {
            DataItem::Named(name, v) => {
                x.open("Data", true);
                x.attribute("Name", false);
                x.text(name);
                x.close_start();
                let (id, ty) = subs.add(v.clone());
                x.substitution(id, ty);
                x.end();
            }
            DataItem::Unnamed(v) => value_element(&mut x, &mut subs, "Data", v.clone()),
            DataItem::Binary(b) => {
                value_element(&mut x, &mut subs, "Binary", Value::Binary(b.clone()))
            }
        }
    }
    x.end(); // EventData
    x.end(); // Event
    x.u8(0x00); // EOF

    let body_len = x.bytes.len() - body_start;
    x.bytes[size_at..size_at + 4].copy_from_slice(&(body_len as u32).to_le_bytes());
    // The template GUID and ID: a digest of the definition, so equal templates share them and
    // different ones never collide in a reader's template cache.
    let digest = {
        use sha2::Digest;
        sha2::Sha256::digest(&x.bytes[body_start..])
    };
    x.bytes[guid_at..guid_at + 16].copy_from_slice(&digest[..16]);
    x.bytes[template_id_at..template_id_at + 4].copy_from_slice(&digest[16..20]);

    // The values: count, descriptors (size, type, padding), bytes.
    let values: Vec<(u8, Vec<u8>)> = subs.0.iter().map(|v| (v.type_code(), v.bytes())).collect();
    x.u32(values.len() as u32);
    for (ty, b) in &values {
        x.u16(b.len().min(usize::from(u16::MAX)) as u16);
        x.u8(*ty);
        x.u8(0);
    }
    for (_, b) in &values {
        x.bytes.extend_from_slice(b);
    }
    x.bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_round_trip_through_text() {
        let g = Guid::parse("{2d9f3a42-01d4-4733-97f7-041e8021dc84}").expect("guid");
        assert_eq!(g.to_string(), "{2d9f3a42-01d4-4733-97f7-041e8021dc84}");
        assert_eq!(g.0[0], 0x42, "Data1 is little-endian");
    }

    #[test]
    fn the_unix_epoch_is_its_filetime() {
        let t: Timestamp = "1970-01-01T00:00:00Z".parse().expect("ts");
        assert_eq!(filetime(t), 116_444_736_000_000_000);
    }

    #[test]
    fn chunk_checksums_are_correct() {
        let t: Timestamp = "2026-11-27T10:00:00Z".parse().expect("ts");
        let bytes = EvtxWriter::new().scm_7026(t, &["filecrypt"]).to_bytes();
        let chunk = &bytes[FILE_HEADER_SIZE..FILE_HEADER_SIZE + CHUNK_SIZE];
        let free = u32::from_le_bytes([chunk[48], chunk[49], chunk[50], chunk[51]]) as usize;
        let stored = u32::from_le_bytes([chunk[52], chunk[53], chunk[54], chunk[55]]);
        assert_eq!(crc32fast::hash(&chunk[CHUNK_HEADER_SIZE..free]), stored);
        let file_crc = u32::from_le_bytes([bytes[124], bytes[125], bytes[126], bytes[127]]);
        assert_eq!(crc32fast::hash(&bytes[..120]), file_crc);
    }
}
