//! Windows event logs (EVTX): CodeIntegrity and System events as typed records.
//!
//! `open(path)` reads a `.evtx` file through the `evtx` crate on all cores. Records are selected
//! by provider and event ID *before* they are rendered (see the `template` module): the template of each
//! record says where its provider name and event ID are, so a 48 MiB mixed log renders only its
//! few hundred interesting records. Damaged chunks and records become [`Warning`]s naming the
//! chunk and file offset; loading goes on past them. Events come out time-ordered and typed:
//! [`codeintegrity::CiEvent`] for Microsoft-Windows-CodeIntegrity (3089's signer information
//! joined to its event by ActivityID), [`system::SystemEvent`] for the boot-failure System
//! events, and the raw fields of every other selected ID. Every path that names a driver image
//! maps to a [`DriverKey`], with a per-driver lookup.

pub(crate) mod codeintegrity;
pub mod codes;
mod json;
pub mod system;
mod template;

pub use codeintegrity::{CiEvent, CiEventInfo, CiPolicy, CiSignature};
pub use codes::{NtStatus, SignatureType, SigningLevel, VerificationError, Win32Error};
pub use json::Field;
pub use system::{Bugcheck, SystemEvent};

use crate::driver::DriverKey;
use crate::le::u32_at;
use evtx::{EvtxRecord, ParserSettings, Timestamp};
use json::JNode;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// EVTX layout (MS-EVEN6 §2.1-2.3): a 4 KiB file header, then 64 KiB chunks, each with a
/// 512-byte header: magic `ElfChnk\0`, free-space offset at +48, records CRC32 at +52, header
/// CRC32 at +124 over bytes 0..120 and 128..512.
const FILE_HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: u64 = 65536;
const CHUNK_HEADER_SIZE: usize = 512;

/// Why a log could not be read at all. Damage inside a readable log is a [`Warning`] instead.
#[derive(Debug, thiserror::Error)]
pub enum EvtxError {
    #[error(transparent)]
    Io(#[from] crate::mapped::OpenError),
    #[error("{}: {}", path.display(), self.cause())]
    Header { path: PathBuf, reason: String },
}

impl EvtxError {
    /// What went wrong, without the file (for a listing that names the file itself).
    pub fn cause(&self) -> String {
        match self {
            EvtxError::Io(e) => e.cause(),
            EvtxError::Header { reason, .. } => {
                format!("offset 0: expected an EVTX file header (`ElfFile\\0`): {reason}")
            }
        }
    }
}

pub use crate::warning::Warning;

/// What a chunk worker could not read, before the file is known: made a [`Warning`] with the
/// chunk and record in its message.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Unread {
    /// The chunk's number in the file, when known.
    chunk: Option<u64>,
    /// The byte offset in the file, when known.
    offset: Option<u64>,
    record_id: Option<u64>,
    message: String,
}

impl Unread {
    fn into_warning(self, path: &Path) -> Warning {
        let mut message = String::new();
        if let Some(c) = self.chunk {
            message.push_str(&format!("chunk {c}: "));
        }
        if let Some(r) = self.record_id {
            message.push_str(&format!("record {r}: "));
        }
        message.push_str(&self.message);
        Warning {
            file: path.to_path_buf(),
            offset: self.offset,
            message,
        }
    }
}

/// Which records to keep: per provider, all its IDs or a list of them.
#[derive(Clone, Debug)]
pub struct Selection {
    all: bool,
    providers: HashMap<String, Option<Vec<u16>>>,
}

impl Selection {
    /// Every record, typed where we can, raw otherwise (slower: every record is rendered).
    pub fn all() -> Selection {
        Selection {
            all: true,
            providers: HashMap::new(),
        }
    }

    /// What a boot failure needs (the default of [`open`]): every CodeIntegrity event, the
    /// typed System events, and a few neighbours kept raw (boot and shutdown markers,
    /// Kernel-Boot status, Security 5038/6281 image-hash failures).
    pub fn boot_failure() -> Selection {
        let mut providers: HashMap<String, Option<Vec<u16>>> = HashMap::new();
        providers.insert(codeintegrity::PROVIDER.into(), None);
        // Hardware errors (0x124 WHEA_UNCORRECTABLE_ERROR): every WHEA-Logger event.
        providers.insert("Microsoft-Windows-WHEA-Logger".into(), None);
        let lists: [(&str, &[u16]); 11] = [
            (
                system::SCM,
                &[
                    7000, 7001, 7009, 7011, 7022, 7023, 7024, 7026, 7031, 7034, 7040, 7045,
                ],
            ),
            (system::KERNEL_POWER, &[41, 109]),
            (system::WER_SYSTEM, &[1001]),
            (system::BUGCHECK_SOURCE, &[1001]),
            (system::EVENTLOG, &[6005, 6006, 6008, 6009, 6013]),
            // 219 in the System log; 400-430 in Kernel-PnP/Configuration: the case history.
            (system::KERNEL_PNP, &[219, 400, 410, 411, 420, 430]),
            (system::KERNEL_GENERAL, &[12, 13]),
            ("Microsoft-Windows-Kernel-Boot", &[20, 153]),
            ("User32", &[1074]),
            // Update installs started, done and failed, for the case history.
            (system::WINDOWS_UPDATE_CLIENT, &[19, 20, 43]),
            ("Microsoft-Windows-Security-Auditing", &[5038, 6281]),
        ];
        for (p, ids) in lists {
            providers.insert(p.into(), Some(ids.to_vec()));
        }
        Selection {
            all: false,
            providers,
        }
    }

    /// Add a provider, with all its IDs (`None`) or some.
    pub fn with_provider(mut self, provider: &str, ids: Option<Vec<u16>>) -> Selection {
        self.providers.insert(provider.to_string(), ids);
        self
    }

    pub fn wants(&self, provider: &str, id: u16) -> bool {
        self.all
            || self
                .providers
                .get(provider)
                .is_some_and(|ids| ids.as_ref().is_none_or(|ids| ids.contains(&id)))
    }
}

/// What an event is, typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "category", content = "detail", rename_all = "snake_case")]
pub enum EventKind {
    CodeIntegrity(Box<CiEvent>),
    System(SystemEvent),
    /// Kept with its raw fields only.
    Other,
}

/// One event record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The record's time (UTC).
    pub time: Timestamp,
    pub record_id: u64,
    pub provider: String,
    pub event_id: u16,
    pub version: Option<u8>,
    pub level: Option<u8>,
    pub task: Option<u16>,
    pub opcode: Option<u8>,
    pub keywords: Option<String>,
    pub channel: String,
    pub computer: String,
    /// `System/Correlation/@ActivityID`, which ties a 3089 to its event.
    pub activity_id: Option<String>,
    pub process_id: Option<u32>,
    pub thread_id: Option<u32>,
    /// EventData / UserData as logged.
    pub fields: Vec<Field>,
    pub kind: EventKind,
    /// The driver images the event names: CodeIntegrity file paths, 7045 kernel-driver image
    /// paths, 7026's boot/system-start drivers and 219's `\Driver\<service>`.
    pub drivers: Vec<DriverKey>,
    /// Service key names the event names (7000/7023 Binary, 7040 param4). Whether such a
    /// service is a driver takes the hive: `registry` maps the name to its ImagePath.
    pub services: Vec<String>,
}

impl Event {
    pub fn level_name(&self) -> Option<&'static str> {
        Some(match self.level? {
            0 => "Information",
            1 => "Critical",
            2 => "Error",
            3 => "Warning",
            4 => "Information",
            5 => "Verbose",
            _ => return None,
        })
    }

    /// How bad this event is, for sorting by worst: 3 critical/error, 2 warning, 1 other.
    pub fn severity(&self) -> u8 {
        match self.level {
            Some(1) | Some(2) => 3,
            Some(3) => 2,
            _ => 1,
        }
    }

    pub fn code_integrity(&self) -> Option<&CiEvent> {
        match &self.kind {
            EventKind::CodeIntegrity(ci) => Some(ci),
            _ => None,
        }
    }

    pub fn system(&self) -> Option<&SystemEvent> {
        match &self.kind {
            EventKind::System(s) => Some(s),
            _ => None,
        }
    }

    /// The status the event reports, when it has one (CodeIntegrity Status, PnP 219 Status).
    pub fn status(&self) -> Option<NtStatus> {
        match &self.kind {
            EventKind::CodeIntegrity(ci) => ci.status,
            EventKind::System(SystemEvent::DeviceDriverFailed { status, .. }) => *status,
            _ => None,
        }
    }

    /// The event as Event Viewer's detail shows it: the General text (the summary built from the
    /// key fields), the General tab's properties (Log Name, Source, Event ID, Level, Logged...),
    /// then every EventData/UserData field as logged (Details, Friendly View), in document
    /// order. Labels, then values; case text is returned as read (callers escape it).
    pub fn detail(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| out.push((k.to_string(), v));
        put("General", self.summary());
        put("Log Name", self.channel.clone());
        put("Source", self.provider.clone());
        put("Event ID", self.event_id.to_string());
        put(
            "Level",
            match (self.level_name(), self.level) {
                (Some(n), Some(l)) => format!("{n} ({l})"),
                (_, Some(l)) => l.to_string(),
                _ => "-".to_string(),
            },
        );
        put(
            "Logged (UTC)",
            self.time.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        );
        if let Some(t) = self.task {
            put("Task Category", t.to_string());
        }
        if let Some(o) = self.opcode {
            put("OpCode", o.to_string());
        }
        if let Some(k) = &self.keywords {
            put("Keywords", k.clone());
        }
        put("Computer", self.computer.clone());
        put("Record", self.record_id.to_string());
        if let (Some(p), Some(t)) = (self.process_id, self.thread_id) {
            put("Process/Thread", format!("{p} / {t}"));
        }
        if let Some(a) = &self.activity_id {
            put("Activity ID", a.clone());
        }
        for (i, f) in self.fields.iter().enumerate() {
            let name = f.name.clone().unwrap_or_else(|| format!("Data[{i}]"));
            out.push((format!("EventData {name}"), f.value.clone()));
        }
        out
    }

    /// A one-line description built from the key fields (no message DLL needed).
    pub fn summary(&self) -> String {
        match &self.kind {
            EventKind::CodeIntegrity(ci) => ci_summary(ci),
            EventKind::System(s) => system_summary(s),
            EventKind::Other => self
                .fields
                .iter()
                .take(4)
                .map(|f| match &f.name {
                    Some(n) => format!("{n}={}", f.value.trim()),
                    None => f.value.trim().to_string(),
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

fn ci_summary(ci: &CiEvent) -> String {
    let mut s = ci.info().map_or_else(
        || format!("CodeIntegrity {}", ci.id),
        |i| i.meaning.to_string(),
    );
    if let Some(f) = &ci.file {
        s.push_str(&format!(": {f}"));
    }
    if let Some(c) = &ci.catalog {
        s.push_str(&format!(" catalog {c}"));
    }
    if let Some(p) = &ci.process {
        s.push_str(&format!(" by {p}"));
    }
    if let Some(st) = ci.status {
        s.push_str(&format!(" status {st}"));
    }
    if let (Some(r), Some(v)) = (ci.requested_level, ci.validated_level) {
        s.push_str(&format!(
            " level {}->{}",
            r.name().unwrap_or("?"),
            v.name().unwrap_or("?")
        ));
    }
    if let Some(sig) = &ci.signature {
        if let Some(p) = &sig.publisher {
            s.push_str(&format!(" publisher {p}"));
        }
        if let Some(e) = sig.verification_error {
            s.push_str(&format!(" error {}", e.name().unwrap_or("?")));
        }
    }
    for sig in &ci.signatures {
        s.push_str(&format!(
            " [signature {}: {}]",
            sig.index.unwrap_or(0),
            sig.publisher.as_deref().unwrap_or("unsigned")
        ));
    }
    if let (Some(a), Some(b)) = (&ci.settings, &ci.exemption) {
        s.push_str(&format!(" settings {a} exemption {b}"));
    }
    s
}

fn system_summary(s: &SystemEvent) -> String {
    use SystemEvent::*;
    match s {
        ServiceStartFailed {
            service,
            error,
            key_name,
        } => format!(
            "service {service}{} failed to start: {error}",
            key_name
                .as_deref()
                .map(|k| format!(" ({k})"))
                .unwrap_or_default()
        ),
        DependencyStartFailed {
            service,
            dependency,
            error,
        } => format!("service {service} depends on {dependency}, which failed: {error}"),
        ServiceConnectTimeout {
            timeout_ms,
            service,
        } => format!(
            "timeout ({} ms) waiting for {service} to connect",
            timeout_ms.unwrap_or(0)
        ),
        TransactionTimeout {
            timeout_ms,
            service,
        } => format!(
            "timeout ({} ms) waiting for a transaction response from {service}",
            timeout_ms.unwrap_or(0)
        ),
        ServiceHung { service } => format!("service {service} hung on starting"),
        ServiceTerminated { service, error, .. } => {
            format!("service {service} terminated: {error}")
        }
        ServiceSpecificError { service, error } => {
            format!("service {service} terminated with service-specific error {error}")
        }
        BootDriversNotLoaded { drivers } => {
            format!(
                "boot/system-start drivers did not load: {}",
                drivers.join(", ")
            )
        }
        ServiceCrashed { service, times } => format!(
            "service {service} terminated unexpectedly ({} times)",
            times.unwrap_or(1)
        ),
        StartTypeChanged {
            service, old, new, ..
        } => format!("start type of {service} changed from {old} to {new}"),
        ServiceInstalled {
            name,
            image_path,
            start_type,
            ..
        } => format!("service {name} installed: {image_path} ({start_type})"),
        UncleanReboot { bugcheck, .. } => match bugcheck {
            Some(b) => format!(
                "rebooted without clean shutdown; bugcheck {:#x} {}({:#x}, {:#x}, {:#x}, {:#x})",
                b.code,
                b.name().map(|n| format!("{n} ")).unwrap_or_default(),
                b.parameters[0],
                b.parameters[1],
                b.parameters[2],
                b.parameters[3]
            ),
            None => "rebooted without clean shutdown".to_string(),
        },
        BugCheckReport {
            text, dump_path, ..
        } => format!(
            "rebooted from a bugcheck: {text}{}",
            dump_path
                .as_deref()
                .map(|d| format!("; dump {d}"))
                .unwrap_or_default()
        ),
        UnexpectedShutdown { when } => format!(
            "previous shutdown was unexpected{}",
            when.as_deref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        ),
        DeviceDriverFailed {
            device,
            status,
            failure_name,
            ..
        } => format!(
            "driver {failure_name} failed to load for {device}{}",
            status.map(|s| format!(": {s}")).unwrap_or_default()
        ),
        OsStarted {
            start_time,
            version,
        } => format!(
            "OS started {} {}",
            version.as_deref().unwrap_or(""),
            start_time.as_deref().unwrap_or("")
        )
        .trim_end()
        .to_string(),
        OsStopped { stop_time } => format!("OS stopping {}", stop_time.as_deref().unwrap_or(""))
            .trim_end()
            .to_string(),
    }
}

/// How loading went.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LoadStats {
    /// Chunks in the file (by size).
    pub chunks: u64,
    /// Chunks the evtx crate built because they held records to render.
    pub chunks_parsed: u64,
    /// Records read (selected or not).
    pub records: u64,
    /// Records skipped by provider and ID without rendering.
    pub skipped_unrendered: u64,
    /// Records rendered then not selected (their template did not say who they were).
    pub skipped_rendered: u64,
}

/// A loaded event log.
#[derive(Clone, Debug, Serialize)]
pub struct EventLog {
    pub path: PathBuf,
    /// Selected events, time-ordered (then by record ID).
    pub events: Vec<Event>,
    pub warnings: Vec<Warning>,
    pub stats: LoadStats,
    #[serde(skip)]
    by_driver: BTreeMap<DriverKey, Vec<usize>>,
    /// Lower-case service key name to events.
    #[serde(skip)]
    by_service: HashMap<String, Vec<usize>>,
}

impl EventLog {
    /// The events that name `driver`, time-ordered.
    pub fn by_driver(&self, driver: &DriverKey) -> Vec<&Event> {
        self.by_driver
            .get(driver)
            .map(|ix| ix.iter().filter_map(|i| self.events.get(*i)).collect())
            .unwrap_or_default()
    }

    /// [`EventLog::by_driver`] with each event's index in `events`.
    pub fn by_driver_indexed(&self, driver: &DriverKey) -> Vec<(usize, &Event)> {
        self.by_driver
            .get(driver)
            .map(|ix| {
                ix.iter()
                    .filter_map(|&i| self.events.get(i).map(|e| (i, e)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The events that name the service key `name` (case-insensitive), time-ordered.
    pub fn by_service(&self, name: &str) -> Vec<&Event> {
        self.by_service
            .get(&name.to_ascii_lowercase())
            .map(|ix| ix.iter().filter_map(|i| self.events.get(*i)).collect())
            .unwrap_or_default()
    }

    /// Every driver the events name, sorted.
    pub fn drivers(&self) -> impl Iterator<Item = &DriverKey> {
        self.by_driver.keys()
    }

    /// The CodeIntegrity events.
    pub fn code_integrity(&self) -> impl Iterator<Item = (&Event, &CiEvent)> {
        self.events
            .iter()
            .filter_map(|e| e.code_integrity().map(|c| (e, c)))
    }
}

/// Read an EVTX file with the boot-failure selection.
pub fn open(path: &Path) -> Result<EventLog, EvtxError> {
    open_with(path, &Selection::boot_failure())
}

/// Read an EVTX file, keeping what `selection` wants.
pub fn open_with(path: &Path, selection: &Selection) -> Result<EventLog, EvtxError> {
    let bytes = crate::mapped::Bytes::open_file(path)?;
    from_bytes(path, &bytes, selection)
}

/// Read an EVTX file already in memory (`path` names it in messages).
pub fn from_bytes(path: &Path, bytes: &[u8], selection: &Selection) -> Result<EventLog, EvtxError> {
    if bytes.get(..8) != Some(b"ElfFile\0".as_slice()) {
        return Err(EvtxError::Header {
            path: path.to_path_buf(),
            reason: "the magic is missing".into(),
        });
    }
    let mut warnings = checksum_warnings(bytes);
    let settings = Arc::new(
        ParserSettings::new()
            .indent(false)
            .validate_checksums(false),
    );
    let body = (bytes.len() as u64).saturating_sub(FILE_HEADER_SIZE);
    let whole = body / CHUNK_SIZE;
    let cut = body % CHUNK_SIZE;
    // A chunk cut short is read as far as it goes (its records up to the cut).
    let chunks = whole + u64::from(cut > 0);
    warnings.extend(truncation_warnings(bytes, whole, cut));
    // One task per chunk on the rayon pool; each decides record by record from the bytes
    // whether to build the chunk at all (see `load_chunk`).
    let outcomes: Vec<ChunkOutcome> = (0..chunks)
        .into_par_iter()
        .map(|n| load_chunk(bytes, n, selection, &settings))
        .collect();
    let mut stats = LoadStats {
        chunks,
        ..LoadStats::default()
    };
    let mut events = Vec::new();
    for o in outcomes {
        stats.records += o.records;
        stats.skipped_unrendered += o.skipped_unrendered;
        stats.skipped_rendered += o.skipped_rendered;
        if o.parsed {
            stats.chunks_parsed += 1;
        }
        events.extend(o.events);
        warnings.extend(o.warnings);
    }
    events.sort_by(|a, b| a.time.cmp(&b.time).then(a.record_id.cmp(&b.record_id)));
    join_signatures(&mut events);
    warnings.sort_by_key(|w| (w.offset.unwrap_or(u64::MAX), w.record_id));
    let mut by_driver: BTreeMap<DriverKey, Vec<usize>> = BTreeMap::new();
    let mut by_service: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        for d in &e.drivers {
            by_driver.entry(d.clone()).or_default().push(i);
        }
        for s in &e.services {
            by_service
                .entry(s.to_ascii_lowercase())
                .or_default()
                .push(i);
        }
    }
    Ok(EventLog {
        path: path.to_path_buf(),
        events,
        warnings: warnings.into_iter().map(|w| w.into_warning(path)).collect(),
        stats,
        by_driver,
        by_service,
    })
}

/// What one chunk gave.
#[derive(Default)]
struct ChunkOutcome {
    events: Vec<Event>,
    warnings: Vec<Unread>,
    records: u64,
    skipped_unrendered: u64,
    skipped_rendered: u64,
    /// Whether the evtx crate built the chunk (it had records to render).
    parsed: bool,
}

/// The records of chunk `n` to render: the chunk-relative BinXML offsets of the records that
/// are wanted or that cannot be identified from their bytes, and how many records there are.
/// `None` when the chunk's record layout is not the plain one (the evtx crate then decides).
fn plan_chunk(data: &[u8], sel: &Selection) -> Option<(HashSet<u64>, u64)> {
    let free = (u32_at(data, 48)? as usize).clamp(CHUNK_HEADER_SIZE, data.len());
    let mut cache = HashMap::new();
    let mut render = HashSet::new();
    let mut total = 0u64;
    let mut at = CHUNK_HEADER_SIZE;
    // Record: `**\0\0` (4), size (4), record ID (8), FILETIME (8), BinXML, size (4).
    while at + 24 <= free {
        if data.get(at..at + 4)? != [0x2a, 0x2a, 0, 0] {
            return None;
        }
        let size = u32_at(data, at + 4)? as usize;
        if size < 28 || at + size > free {
            return None;
        }
        let binxml = at + 24;
        let keep = template::record_wanted(data, binxml, at + size - 4, &mut cache, |p, id| {
            sel.wants(p, id)
        })
        .unwrap_or(true);
        if keep {
            render.insert(binxml as u64);
        }
        total += 1;
        at += size;
    }
    Some((render, total))
}

fn load_chunk(
    bytes: &[u8],
    n: u64,
    sel: &Selection,
    settings: &Arc<ParserSettings>,
) -> ChunkOutcome {
    let mut out = ChunkOutcome::default();
    let start = chunk_offset(n) as usize;
    let Some(data) = bytes.get(start..bytes.len().min(start + CHUNK_SIZE as usize)) else {
        return out;
    };
    // The last chunk of a truncated file: zero-filled to its full size, so the records before
    // the cut parse and the first one past it fails (a warning).
    let present = data.len() as u64;
    let padded;
    let data = if data.len() < CHUNK_SIZE as usize {
        let mut v = data.to_vec();
        v.resize(CHUNK_SIZE as usize, 0);
        padded = v;
        padded.as_slice()
    } else {
        data
    };
    let magic_ok = data.get(..8) == Some(b"ElfChnk\0".as_slice());
    // Empty chunks are normal at the end of a log that has not filled up.
    if !magic_ok && data.iter().all(|b| *b == 0) {
        return out;
    }
    let plan = if sel.all || !magic_ok {
        None
    } else {
        plan_chunk(data, sel)
    };
    if let Some((render, total)) = &plan
        && render.is_empty()
    {
        out.records = *total;
        out.skipped_unrendered = *total;
        return out;
    }
    let chunk_warning = |message: String| Unread {
        chunk: Some(n),
        offset: Some(start as u64),
        record_id: None,
        message,
    };
    let mut chunk_data = match evtx::EvtxChunkData::new(data.to_vec(), false) {
        Ok(c) => c,
        Err(e) => {
            out.warnings
                .push(chunk_warning(format!("chunk skipped: {}", error_chain(&e))));
            return out;
        }
    };
    chunk_data.number = Some(n);
    let mut chunk = match chunk_data.parse(Arc::clone(settings)) {
        Ok(c) => c,
        Err(e) => {
            out.warnings
                .push(chunk_warning(format!("chunk skipped: {}", error_chain(&e))));
            return out;
        }
    };
    out.parsed = true;
    let mut cache = HashMap::new();
    for rec in chunk.iter() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                out.warnings.push(warning_from(&e));
                continue;
            }
        };
        // A record that runs past the end of a cut chunk is partly zeros: not given.
        let end = rec.binxml_offset + u64::from(rec.binxml_size) + 4;
        if end > present {
            out.warnings.push(Unread {
                chunk: Some(n),
                offset: Some(start as u64 + rec.binxml_offset.saturating_sub(24)),
                record_id: Some(rec.event_record_id),
                message: format!(
                    "record runs to offset {:#x}, past the end of the file at {:#x}; not read",
                    start as u64 + end,
                    start as u64 + present
                ),
            });
            continue;
        }
        out.records += 1;
        let outcome = match &plan {
            Some((render, _)) if !render.contains(&rec.binxml_offset) => Outcome::Skipped,
            Some(_) => render_and_type(rec, sel),
            None => select_and_type(rec, sel, &mut cache),
        };
        match outcome {
            Outcome::Skipped => out.skipped_unrendered += 1,
            Outcome::NotWanted => out.skipped_rendered += 1,
            Outcome::Kept(e) => out.events.push(*e),
            Outcome::Failed { record_id, message } => out.warnings.push(Unread {
                chunk: Some(n),
                offset: None,
                record_id: Some(record_id),
                message,
            }),
        }
    }
    out
}

/// What became of one record in the worker.
enum Outcome {
    Skipped,
    NotWanted,
    Kept(Box<Event>),
    Failed { record_id: u64, message: String },
}

/// Decide from the template whether the record is wanted; render and type it only if so.
fn select_and_type(
    rec: EvtxRecord<'_>,
    sel: &Selection,
    cache: &mut HashMap<u32, Option<template::TemplateInfo>>,
) -> Outcome {
    if !sel.all
        && let Ok(instances) = rec.template_instances()
        && let Some(root) = instances.first()
    {
        let info = cache
            .entry(root.template_def_offset)
            .or_insert_with(|| template::scan_template(rec.chunk.data, root.template_def_offset));
        if let Some(template::TemplateInfo {
            provider: Some(p),
            event_id: Some(id),
        }) = info
        {
            let provider = template::resolve_text(p, &root.values);
            let id = template::resolve_number(id, &root.values);
            if let (Some(provider), Some(id)) = (provider, id)
                && !sel.wants(&provider, id as u16)
            {
                return Outcome::Skipped;
            }
        }
    }
    render_and_type(rec, sel)
}

/// Render a record and type it.
fn render_and_type(rec: EvtxRecord<'_>, sel: &Selection) -> Outcome {
    let record_id = rec.event_record_id;
    let time = rec.timestamp;
    let rendered = match rec.into_json() {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Failed {
                record_id,
                message: error_chain(&e),
            };
        }
    };
    let tree: JNode = match serde_json::from_str(&rendered.data) {
        Ok(t) => t,
        Err(e) => {
            return Outcome::Failed {
                record_id,
                message: format!("rendered JSON does not parse: {e}"),
            };
        }
    };
    match event_from_tree(&tree, record_id, time) {
        Some(e) if sel.wants(&e.provider, e.event_id) => Outcome::Kept(Box::new(e)),
        Some(_) => Outcome::NotWanted,
        None => Outcome::Failed {
            record_id,
            message: "the record has no Event/System/EventID".into(),
        },
    }
}

fn num<T: TryFrom<u64>>(n: Option<&JNode>) -> Option<T> {
    n.and_then(JNode::text)
        .and_then(|t| codes::parse_number(&t))
        .and_then(|v| T::try_from(v).ok())
}

/// Build the event from its rendered tree.
fn event_from_tree(tree: &JNode, record_id: u64, time: Timestamp) -> Option<Event> {
    let root = tree.get("Event")?;
    let sys = root.get("System")?;
    let provider_node = sys.get("Provider");
    let provider = provider_node
        .and_then(|p| p.attr("Name").or_else(|| p.attr("EventSourceName")))
        .unwrap_or_default();
    let event_id: u16 = num(sys.get("EventID"))?;
    let correlation = sys.get("Correlation");
    let execution = sys.get("Execution");
    let mut fields = Vec::new();
    if let Some(ed) = root.get("EventData") {
        json::flatten_data(ed, Some("EventData"), &mut fields);
    } else if let Some(ud) = root.get("UserData") {
        json::flatten_data(ud, None, &mut fields);
    }
    let (kind, drivers, services) = type_event(&provider, event_id, &fields);
    Some(Event {
        time,
        record_id,
        event_id,
        version: num(sys.get("Version")),
        level: num(sys.get("Level")),
        task: num(sys.get("Task")),
        opcode: num(sys.get("Opcode")),
        keywords: sys.get("Keywords").and_then(JNode::text),
        channel: sys.get("Channel").and_then(JNode::text).unwrap_or_default(),
        computer: sys
            .get("Computer")
            .and_then(JNode::text)
            .unwrap_or_default(),
        activity_id: correlation
            .and_then(|c| c.attr("ActivityID"))
            .filter(|s| !s.is_empty()),
        process_id: execution
            .and_then(|e| e.attr("ProcessID"))
            .and_then(|t| t.parse().ok()),
        thread_id: execution
            .and_then(|e| e.attr("ThreadID"))
            .and_then(|t| t.parse().ok()),
        provider,
        fields,
        kind,
        drivers,
        services,
    })
}

/// The typed form of an event, the drivers it names and the services it names.
pub(crate) fn type_event(
    provider: &str,
    id: u16,
    fields: &[Field],
) -> (EventKind, Vec<DriverKey>, Vec<String>) {
    if provider == codeintegrity::PROVIDER {
        let ci = codeintegrity::from_fields(id, fields);
        let drivers = ci
            .image_path()
            .and_then(DriverKey::from_path)
            .into_iter()
            .collect();
        return (EventKind::CodeIntegrity(Box::new(ci)), drivers, Vec::new());
    }
    if let Some(s) = system::from_fields(provider, id, fields) {
        let mut drivers: Vec<DriverKey> = Vec::new();
        let mut services: Vec<String> = Vec::new();
        let is_driver_install = matches!(&s, SystemEvent::ServiceInstalled { service_type, .. }
            if service_type.to_ascii_lowercase().contains("driver"));
        for sp in s.driver_spellings() {
            let key = match sp {
                system::DriverSpelling::Driver(name) => DriverKey::from_service(name, None),
                system::DriverSpelling::Path(p) if is_driver_install => DriverKey::from_path(p),
                system::DriverSpelling::Path(_) => None,
                system::DriverSpelling::Service(name) => {
                    services.push(name.to_string());
                    None
                }
            };
            if let Some(k) = key
                && !drivers.contains(&k)
            {
                drivers.push(k);
            }
        }
        return (EventKind::System(s), drivers, services);
    }
    (EventKind::Other, Vec::new(), Vec::new())
}

/// Attach each 3089's signature to the other CodeIntegrity events with its ActivityID.
fn join_signatures(events: &mut [Event]) {
    let mut sigs: HashMap<String, Vec<CiSignature>> = HashMap::new();
    for e in events.iter() {
        if let (Some(act), Some(ci)) = (&e.activity_id, e.code_integrity())
            && let Some(sig) = &ci.signature
        {
            sigs.entry(act.to_ascii_lowercase())
                .or_default()
                .push(sig.clone());
        }
    }
    if sigs.is_empty() {
        return;
    }
    for e in events.iter_mut() {
        let Some(act) = e.activity_id.as_ref().map(|a| a.to_ascii_lowercase()) else {
            continue;
        };
        if let EventKind::CodeIntegrity(ci) = &mut e.kind
            && ci.id != 3089
            && let Some(found) = sigs.get(&act)
        {
            ci.signatures = found.clone();
            ci.signatures.sort_by_key(|s| s.index.unwrap_or(0));
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn chunk_offset(chunk: u64) -> u64 {
    FILE_HEADER_SIZE + chunk.saturating_mul(CHUNK_SIZE)
}

fn warning_from(e: &evtx::err::EvtxError) -> Unread {
    use evtx::err::EvtxError as E;
    match e {
        E::FailedToParseChunk { chunk_id, .. } => Unread {
            chunk: Some(*chunk_id),
            offset: Some(chunk_offset(*chunk_id)),
            record_id: None,
            message: format!("chunk skipped: {}", error_chain(e)),
        },
        E::FailedToReadRecordAt { chunk, offset, .. } => Unread {
            chunk: *chunk,
            offset: Some(chunk.map_or(*offset, |c| chunk_offset(c) + offset)),
            record_id: None,
            message: format!("record skipped: {}", error_chain(e)),
        },
        E::FailedToParseRecord { record_id, .. } => Unread {
            chunk: None,
            offset: None,
            record_id: Some(*record_id),
            message: format!("record skipped: {}", error_chain(e)),
        },
        other => Unread {
            chunk: None,
            offset: None,
            record_id: None,
            message: error_chain(other),
        },
    }
}

/// Check the CRC32s of every chunk ourselves: the evtx crate can skip chunks whose checksums
/// fail, but a bad checksum still leaves most records readable, so we read them and say so.
/// Warnings for a file shorter than its header or its last chunk says: the header's chunk
/// count (MS-EVEN6 file header +0x2A) against the chunks the file holds, and a last chunk cut
/// before its 64 KiB, with the offsets.
fn truncation_warnings(bytes: &[u8], whole: u64, cut: u64) -> Vec<Unread> {
    let mut out = Vec::new();
    let len = bytes.len() as u64;
    let claimed = bytes
        .get(42..44)
        .map_or(0, |b| u64::from(u16::from_le_bytes([b[0], b[1]])));
    let held = whole + u64::from(cut > 0);
    if claimed > whole {
        let missing_bytes = (FILE_HEADER_SIZE + claimed * CHUNK_SIZE).saturating_sub(len);
        out.push(Unread {
            chunk: None,
            offset: Some(len),
            record_id: None,
            message: format!(
                "truncated at offset {len:#x}: the file header says {claimed} chunks (to offset {:#x}), the file holds {whole} whole chunk{}{}; {missing_bytes} bytes missing{}",
                FILE_HEADER_SIZE + claimed * CHUNK_SIZE,
                if whole == 1 { "" } else { "s" },
                if cut > 0 {
                    format!(" and {cut} bytes of chunk {whole}")
                } else {
                    String::new()
                },
                if claimed > held {
                    format!(", chunks {held}..{} absent", claimed - 1)
                } else {
                    String::new()
                }
            ),
        });
    }
    if cut > 0 {
        let start = chunk_offset(whole);
        let holds_data = bytes
            .get(start as usize..)
            .is_some_and(|b| b.iter().any(|&x| x != 0));
        if holds_data {
            out.push(Unread {
                chunk: Some(whole),
                offset: Some(start),
                record_id: None,
                message: format!(
                    "chunk cut at offset {len:#x} after {cut} of its {CHUNK_SIZE} bytes: records up to the cut are read, later ones are missing"
                ),
            });
        }
    }
    out
}

fn checksum_warnings(bytes: &[u8]) -> Vec<Unread> {
    let mut out = Vec::new();
    let count = (bytes.len() as u64).saturating_sub(FILE_HEADER_SIZE) / CHUNK_SIZE;
    for n in 0..count {
        let start = chunk_offset(n) as usize;
        let Some(chunk) = bytes.get(start..start + CHUNK_SIZE as usize) else {
            break;
        };
        if chunk.get(..8) != Some(b"ElfChnk\0".as_slice()) {
            // Empty chunks are normal; others the parser reports when it reaches them.
            continue;
        }
        let (Some(header_crc), Some(records_crc), Some(free)) =
            (u32_at(chunk, 124), u32_at(chunk, 52), u32_at(chunk, 48))
        else {
            continue;
        };
        let warn = |message: String| Unread {
            chunk: Some(n),
            offset: Some(start as u64),
            record_id: None,
            message,
        };
        if header_crc == 0 && records_crc == 0 {
            out.push(warn(
                "chunk checksums are zero, not verified (records read anyway)".into(),
            ));
            continue;
        }
        let (Some(h1), Some(h2)) = (chunk.get(..120), chunk.get(128..CHUNK_HEADER_SIZE)) else {
            continue;
        };
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(h1);
        hasher.update(h2);
        if hasher.finalize() != header_crc {
            out.push(warn(
                "chunk header CRC32 mismatch (records read anyway)".into(),
            ));
        }
        let free = (free as usize).clamp(CHUNK_HEADER_SIZE, chunk.len());
        if let Some(records) = chunk.get(CHUNK_HEADER_SIZE..free)
            && crc32fast::hash(records) != records_crc
        {
            out.push(warn("records CRC32 mismatch (records read anyway)".into()));
        }
    }
    out
}
