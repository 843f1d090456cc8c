//! Renderings of a dump and its analysis: the JSON schema of `bsodwb dump --format json`
//! (addresses and codes as lower-case `0x...` strings) and the `!analyze -v`-shaped text.

use super::analysis::Analysis;
use super::bugcheck::{self, BugcheckInfo, ParamResolver};
use super::{CrashDump, filetime_to_string};
use serde::Serialize;
use std::fmt::Write as _;

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// Decoding of bug-check parameters through the dump: strings, driver names, module+offset.
pub struct DumpResolver<'a> {
    pub dump: &'a CrashDump,
}

impl ParamResolver for DumpResolver<'_> {
    fn symbolize(&self, address: u64) -> Option<String> {
        let m = self.dump.module_at(address)?;
        Some(format!("{}+{:#x}", m.short_name(), address - m.base))
    }
    fn unicode_string(&self, address: u64) -> Option<String> {
        self.dump.memory.read_unicode_string64(address).ok()
    }
    fn ascii_string(&self, address: u64) -> Option<String> {
        let b = self.dump.memory.read_prefix(address, 256);
        let end = b.iter().position(|&c| c == 0)?;
        Some(String::from_utf8_lossy(&b[..end]).into_owned())
    }
    fn driver_object(&self, address: u64) -> Option<String> {
        // DRIVER_OBJECT x64: DriverName UNICODE_STRING at +0x38.
        self.dump
            .memory
            .read_unicode_string64(address + 0x38)
            .ok()
            .filter(|s| s.starts_with('\\'))
    }
}

/// The bug check of `dump` explained (names, parameter meanings, decoded values, hint).
pub fn bugcheck_info(dump: &CrashDump) -> Option<BugcheckInfo> {
    let bc = dump.bugcheck.as_ref()?;
    Some(bugcheck::describe_with(
        bc.code,
        bc.parameters,
        &DumpResolver { dump },
    ))
}

#[derive(Serialize)]
pub struct JsonBugcheck {
    pub code: String,
    pub name: Option<&'static str>,
    pub parameters: Vec<String>,
    pub details: Option<BugcheckInfo>,
}

#[derive(Serialize)]
pub struct JsonModule {
    pub name: String,
    pub path: String,
    pub base: String,
    pub size: String,
    pub timestamp: String,
    pub checksum: String,
}

#[derive(Serialize)]
pub struct JsonUnloaded {
    pub name: String,
    pub start: String,
    pub end: String,
}

#[derive(Serialize)]
pub struct JsonFrame {
    pub index: usize,
    pub child_sp: String,
    pub return_address: String,
    pub args: Vec<Option<String>>,
    pub call_site: String,
    pub module: Option<String>,
    pub offset: Option<String>,
    pub symbol: Option<String>,
    pub method: &'static str,
    pub verified: bool,
    pub trap_frame: bool,
    /// How the frame was found: `unwind`, `trap` (restored from a KTRAP_FRAME the scan
    /// recognised), `scan-verified`, `scan-unverified` (x86: `frame-pointer[-unverified]`).
    pub walk: &'static str,
    /// Where its name came from: `pdb`, `exports` or `none`.
    pub symbol_source: &'static str,
    /// The KTRAP_FRAME its unwind went through (WinDbg's `(TrapFrame @ ...)`).
    pub trap_frame_address: Option<String>,
}

/// The JSON document of `bsodwb dump --format json`.
#[derive(Serialize)]
pub struct JsonReport {
    pub file: String,
    pub bugcheck: Option<JsonBugcheck>,
    pub dump_type: String,
    pub dump_type_code: u32,
    pub machine: String,
    pub build: u32,
    pub os_version: Option<String>,
    pub system_time: Option<String>,
    pub uptime_seconds: Option<f64>,
    pub processors: u32,
    pub process_name: Option<String>,
    pub context: Option<Vec<(String, String)>>,
    pub exception: Option<serde_json::Value>,
    pub modules: Vec<JsonModule>,
    pub unloaded_modules: Vec<JsonUnloaded>,
    pub stack: Vec<JsonFrame>,
    pub symbol_name: Option<String>,
    pub module_name: Option<String>,
    pub image_name: Option<String>,
    pub image_version: Option<String>,
    pub faulting_module: Option<String>,
    pub failure_bucket_id: Option<String>,
    pub faulting_ip: Option<String>,
    pub faulting_ip_disasm: Option<String>,
    pub parameter_driver: Option<String>,
    /// Where the stack's starting context came from (dump header, `.cxr`, `.trap`).
    pub context_source: Option<String>,
    /// The EXCEPTION_RECORD a bug-check parameter points to.
    pub exception_record: Option<serde_json::Value>,
    /// Case files named like a loaded module that are not the image the dump ran.
    pub image_mismatches: Vec<super::image::ImageMismatch>,
    pub warnings: Vec<crate::warning::Warning>,
}

fn exception_json(e: &super::ExceptionRecord) -> serde_json::Value {
    serde_json::json!({
        "code": hex(e.code.into()),
        "name": bugcheck::ntstatus::name(e.code),
        "flags": hex(e.flags.into()),
        "address": hex(e.address),
        "parameters": e.parameters.iter().map(|&p| hex(p)).collect::<Vec<_>>(),
    })
}

/// Build the JSON document.
pub fn json_report(dump: &CrashDump, a: &Analysis) -> JsonReport {
    let bugcheck = dump.bugcheck.as_ref().map(|bc| JsonBugcheck {
        code: hex(bc.code.into()),
        name: bugcheck::name(bc.code),
        parameters: bc.parameters.iter().map(|&p| hex(p)).collect(),
        details: bugcheck_info(dump),
    });
    let mut warnings = dump.warnings.clone();
    warnings.extend(a.warnings.iter().cloned());
    JsonReport {
        file: dump.path.display().to_string(),
        bugcheck,
        dump_type: dump.dump_type_name(),
        dump_type_code: dump.dump_type,
        machine: hex(dump.machine.into()),
        build: dump.build,
        os_version: dump.os_version.clone(),
        system_time: dump
            .system_time
            .map(|t| format!("{}Z", filetime_to_string(t))),
        uptime_seconds: dump.system_uptime.map(|u| u as f64 / 1e7),
        processors: dump.processors,
        process_name: dump.process_name.clone(),
        context: dump.context.as_ref().map(|c| {
            c.registers()
                .into_iter()
                .map(|(n, v)| (n.to_string(), hex(v)))
                .collect()
        }),
        exception: dump.exception.as_ref().map(exception_json),
        modules: dump
            .modules
            .iter()
            .map(|m| JsonModule {
                name: m.name.clone(),
                path: m.path.clone(),
                base: hex(m.base),
                size: hex(m.size.into()),
                timestamp: hex(m.timestamp.into()),
                checksum: hex(m.checksum.into()),
            })
            .collect(),
        unloaded_modules: dump
            .unloaded_modules
            .iter()
            .map(|u| JsonUnloaded {
                name: u.name.clone(),
                start: hex(u.start),
                end: hex(u.end),
            })
            .collect(),
        stack: a
            .stack
            .iter()
            .map(|f| JsonFrame {
                index: f.index,
                child_sp: hex(f.child_sp),
                return_address: hex(f.return_address),
                args: f.args.iter().map(|a| a.map(hex)).collect(),
                call_site: f.call_site.clone(),
                module: f.module.clone(),
                offset: f.offset.map(hex),
                symbol: f.symbol.clone(),
                method: f.method.as_str(),
                verified: f.verified,
                trap_frame: f.trap_frame,
                walk: f.walk_label(),
                symbol_source: f.name_source.as_str(),
                trap_frame_address: f.trap_frame_address.map(hex),
            })
            .collect(),
        symbol_name: a.symbol_name.clone(),
        module_name: a.module_name.clone(),
        image_name: a.image_name.clone(),
        image_version: a.image_version.clone(),
        faulting_module: a.faulting_module.clone(),
        failure_bucket_id: a.failure_bucket_id.clone(),
        faulting_ip: a.faulting_ip.map(hex),
        faulting_ip_disasm: a.faulting_ip_disasm.clone(),
        parameter_driver: a.parameter_driver.clone(),
        context_source: a.context_source.clone(),
        exception_record: a.exception_record.as_ref().map(exception_json),
        image_mismatches: a.image_mismatches.clone(),
        warnings,
    }
}

/// `0000000f`-style 64-bit column like WinDbg's `fffff804`7b…` (without the backtick).
fn q(v: u64) -> String {
    format!("{v:016x}")
}

/// The `!analyze -v`-shaped text, then an `lm`-style module table.
pub fn text_report(dump: &CrashDump, a: &Analysis) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Dump file:       {}", dump.path.display());
    let _ = writeln!(
        s,
        "Dump type:       {} (DumpType {:#x})",
        dump.dump_type_name(),
        dump.dump_type
    );
    let _ = writeln!(
        s,
        "Machine:         {} ({:#x}), {} processors, build {}{}",
        dump.machine_name().unwrap_or("unknown"),
        dump.machine,
        dump.processors,
        dump.build,
        dump.os_version
            .as_deref()
            .map_or(String::new(), |v| format!(" ({v})"))
    );
    if let Some(t) = dump.system_time {
        let _ = writeln!(s, "System time:     {} UTC", filetime_to_string(t));
    }
    if let Some(u) = dump.system_uptime {
        let _ = writeln!(s, "System uptime:   {:.3} s", u as f64 / 1e7);
    }
    let _ = writeln!(s);
    if let Some(info) = bugcheck_info(dump) {
        let _ = writeln!(
            s,
            "{} ({:x})",
            info.name.unwrap_or("UNKNOWN_BUGCHECK"),
            info.code
        );
        let _ = writeln!(s, "\nBUGCHECK_CODE:  {:x}", info.code);
        for (i, p) in info.params.iter().enumerate() {
            let _ = write!(s, "BUGCHECK_P{}: {:x}", i + 1, p.value);
            if let Some(m) = p.meaning {
                let _ = write!(s, "  {m}");
            }
            if let Some(d) = &p.decoded {
                let _ = write!(s, "  => {d}");
            }
            let _ = writeln!(s);
        }
        if let Some(h) = &info.hint {
            let _ = writeln!(s, "HINT ({}): {}", h.look_at.as_str(), h.text);
        }
    }
    if let Some(p) = &dump.process_name {
        let _ = writeln!(s, "\nPROCESS_NAME:  {p}");
    }
    if let Some(e) = &dump.exception {
        let _ = writeln!(
            s,
            "\nEXCEPTION_RECORD (header): code {:x} flags {:x} address {:x} params {:x?}",
            e.code, e.flags, e.address, e.parameters
        );
    }
    if let Some(e) = &a.exception_record {
        let _ = writeln!(
            s,
            "\nEXCEPTION_RECORD:  (from the bug-check parameter)\nExceptionAddress: {:016x}\n   ExceptionCode: {:08x}{}\n  ExceptionFlags: {:08x}\nNumberParameters: {}",
            e.address,
            e.code,
            bugcheck::ntstatus::name(e.code).map_or(String::new(), |n| format!(" ({n})")),
            e.flags,
            e.parameters.len()
        );
        for (i, p) in e.parameters.iter().enumerate() {
            let _ = writeln!(s, "   Parameter[{i}]: {p:016x}");
        }
    }
    if let Some(c) = &a.context {
        let _ = writeln!(
            s,
            "\nCONTEXT:  {}",
            a.context_source.as_deref().unwrap_or("")
        );
        let regs = c.registers();
        for chunk in regs.chunks(3) {
            let line: Vec<String> = chunk
                .iter()
                .map(|(n, v)| format!("{n:>3}={v:016x}"))
                .collect();
            let _ = writeln!(s, "{}", line.join(" "));
        }
    }
    if let (Some(ip), Some(d)) = (a.faulting_ip, &a.faulting_ip_disasm) {
        let _ = writeln!(s, "\nFAULTING_IP:\n{}  {d}", q(ip));
    }
    let _ = writeln!(s, "\nSTACK_TEXT:");
    for f in &a.stack {
        let args: Vec<String> = f
            .args
            .iter()
            .map(|a| a.map_or_else(|| "????????????????".to_string(), q))
            .collect();
        let mut mark = match (f.method, f.verified) {
            (super::analysis::FrameMethod::Scan, true) => "  (scan)",
            (super::analysis::FrameMethod::Scan, false) => "  (scan, unverified)",
            (super::analysis::FrameMethod::FramePointer, false) => "  (ebp, unverified)",
            _ => "",
        }
        .to_string();
        if let Some(t) = f.trap_frame_address {
            mark = format!(
                " (TrapFrame @ {:08x}`{:08x}){mark}",
                t >> 32,
                t & 0xffff_ffff
            );
        } else if f.trap_frame {
            mark = format!(" (TrapFrame){mark}");
        }
        let _ = writeln!(
            s,
            "{} {} : {} : {}{mark}",
            q(f.child_sp),
            q(f.return_address),
            args.join(" "),
            f.call_site
        );
    }
    let _ = writeln!(s);
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unknown)".to_string());
    let _ = writeln!(s, "SYMBOL_NAME:  {}", opt(&a.symbol_name));
    let _ = writeln!(s, "MODULE_NAME: {}", opt(&a.module_name));
    let _ = writeln!(s, "IMAGE_NAME:  {}", opt(&a.image_name));
    let _ = writeln!(s, "IMAGE_VERSION:  {}", opt(&a.image_version));
    let _ = writeln!(s, "FAULTING_MODULE: {}", opt(&a.faulting_module));
    let _ = writeln!(s, "FAILURE_BUCKET_ID:  {}", opt(&a.failure_bucket_id));
    if let Some(d) = &a.parameter_driver {
        let _ = writeln!(s, "DRIVER_IN_PARAMETER: {d}");
    }
    let _ = writeln!(
        s,
        "\nstart             end                 module name     timestamp checksum path"
    );
    for m in &dump.modules {
        let mark = if a.faulting_module.as_deref() == Some(m.name.as_str()) {
            "*"
        } else {
            " "
        };
        let _ = writeln!(
            s,
            "{} {}{mark}  {:<15} {:08x}  {:08x} {}",
            q(m.base),
            q(m.base.wrapping_add(u64::from(m.size))),
            m.short_name(),
            m.timestamp,
            m.checksum,
            m.path
        );
    }
    if !dump.unloaded_modules.is_empty() {
        let _ = writeln!(s, "\nUnloaded modules:");
        for u in &dump.unloaded_modules {
            let _ = writeln!(s, "{} {}   {}", q(u.start), q(u.end), u.name);
        }
    }
    let warnings: Vec<_> = dump.warnings.iter().chain(a.warnings.iter()).collect();
    if !warnings.is_empty() {
        let _ = writeln!(s, "\nWarnings:");
        for w in warnings {
            let _ = writeln!(s, "  {w}");
        }
    }
    s
}
