//! `bsodwb hive`: the services, control set and time zone of a SYSTEM hive.

use bsod_workbench::escape::escape_field;
use bsod_workbench::registry::{self, Service, SystemHive};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The SYSTEM hive to read (transaction logs beside it are replayed if it is dirty).
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
    /// Only kernel-mode driver services.
    #[arg(long)]
    pub drivers: bool,
    /// Only the service with this name (case-insensitive).
    #[arg(long)]
    pub service: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    super::check_file(&args.file)?;
    let hive = registry::open(&args.file)?;
    let selected: Vec<&Service> = hive
        .services()
        .iter()
        .filter(|s| !args.drivers || s.is_driver())
        .filter(|s| {
            args.service
                .as_deref()
                .is_none_or(|n| s.name.eq_ignore_ascii_case(n))
        })
        .collect();
    if let Some(name) = &args.service
        && selected.is_empty()
    {
        anyhow::bail!(
            "{}: no service named {:?} under {}\\Services",
            args.file.display(),
            name,
            hive.control_set.key
        );
    }
    let mut out = super::stdout(args.format);
    match args.format {
        super::Format::Json => {
            let doc = serde_json::json!({
                "path": hive.path,
                "header": hive.header,
                "control_set": hive.control_set,
                "time_zone": hive.time_zone,
                "computer_name": hive.computer_name,
                "service_group_order": hive.service_group_order,
                "logs_applied": hive.logs_applied,
                "recovery": hive.recovery,
                "warnings": hive.warnings,
                "services": selected,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        super::Format::Csv => write_csv(&mut out, &selected)?,
        super::Format::Text => write_text(&mut out, &hive, &selected)?,
    }
    out.flush()?;
    for w in &hive.warnings {
        super::eline!("warning: {w}");
    }
    Ok(())
}

fn code(raw: Option<u32>, name: Option<&str>) -> String {
    match (raw, name) {
        (Some(r), Some(n)) => format!("{r} {n}"),
        (Some(r), None) => format!("{r:#x}"),
        _ => "-".into(),
    }
}

fn write_text(
    out: &mut impl Write,
    hive: &SystemHive,
    services: &[&Service],
) -> anyhow::Result<()> {
    let cs = &hive.control_set;
    writeln!(out, "hive          {}", hive.path.display())?;
    writeln!(
        out,
        "base block    version {}, sequence {}/{}{}, last written {}",
        hive.header.version,
        hive.header.primary_sequence,
        hive.header.secondary_sequence,
        if hive.header.dirty { " (dirty)" } else { "" },
        hive.header.last_written
    )?;
    if let Some(r) = &hive.recovery {
        let applied: Vec<_> = r.applied().collect();
        if applied.is_empty() {
            writeln!(
                out,
                "recovery      dirty, read as is (no transaction log applies)"
            )?;
        } else {
            writeln!(
                out,
                "recovery      {} dirty pages from {}, now at sequence {}{}",
                r.dirty_pages,
                applied
                    .iter()
                    .map(|l| l.path.file_name().map_or_else(
                        || l.path.display().to_string(),
                        |n| n.to_string_lossy().into_owned()
                    ))
                    .collect::<Vec<_>>()
                    .join(" + "),
                r.sequence.map_or_else(|| "-".into(), |s| s.to_string()),
                if r.hbins_after != r.hbins_before {
                    format!(" (hive bins {} -> {} bytes)", r.hbins_before, r.hbins_after)
                } else {
                    String::new()
                }
            )?;
        }
        for l in &r.logs {
            writeln!(out, "  log         {}", l.describe())?;
        }
    }
    writeln!(
        out,
        "control set   {} (Select: Current={} Default={} Failed={} LastKnownGood={})",
        cs.key,
        cs.current,
        opt(cs.default),
        opt(cs.failed),
        opt(cs.last_known_good)
    )?;
    if let Some(name) = &hive.computer_name {
        writeln!(out, "computer      {name}")?;
    }
    match &hive.time_zone {
        Some(tz) => writeln!(
            out,
            "time zone     {} (Bias {} min, StandardBias {}, DaylightBias {}, ActiveTimeBias {}; {} / {})",
            tz.key_name.as_deref().unwrap_or("-"),
            opt(tz.bias),
            opt(tz.standard_bias),
            opt(tz.daylight_bias),
            opt(tz.active_time_bias),
            tz.standard_name.as_deref().unwrap_or("-"),
            tz.daylight_name.as_deref().unwrap_or("-"),
        )?,
        None => writeln!(out, "time zone     -")?,
    }
    writeln!(out, "services      {}", services.len())?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<32} {:<11} {:<22} {:<12} {:<20} {:<28} {:<44} DISPLAY NAME",
        "NAME", "START", "TYPE", "ERROR", "LAST WRITE (UTC)", "GROUP", "IMAGE PATH"
    )?;
    for s in services {
        let mark = if s.is_critical_boot_driver() { "!" } else { "" };
        writeln!(
            out,
            "{:<32} {:<11} {:<22} {:<12} {:<20} {:<28} {:<44} {}",
            format!("{}{mark}", escape_field(&s.name)),
            code(s.start.map(|v| v.0), s.start.and_then(|v| v.name())),
            code(
                s.service_type.map(|v| v.0),
                s.service_type.and_then(|v| v.name())
            ),
            code(
                s.error_control.map(|v| v.0),
                s.error_control.and_then(|v| v.name())
            ),
            s.last_write
                .utc_string()
                .unwrap_or_else(|| "-".into())
                .trim_end_matches('Z'),
            escape_field(s.group.as_deref().unwrap_or("-")),
            escape_field(s.image_path.as_deref().unwrap_or("-")),
            escape_field(s.display_name.as_deref().unwrap_or("-")),
        )?;
    }
    if services.iter().any(|s| s.is_critical_boot_driver()) {
        writeln!(
            out,
            "\n! boot/system-start driver with ErrorControl=3 (critical): its failure bug checks 0x5A"
        )?;
    }
    Ok(())
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn write_csv(out: &mut impl Write, services: &[&Service]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "name",
        "start",
        "start_name",
        "type",
        "type_name",
        "error_control",
        "error_control_name",
        "image_path",
        "group",
        "display_name",
        "last_write_utc",
    ])?;
    for s in services {
        w.write_record([
            s.name.clone(),
            opt(s.start.map(|v| v.0)),
            s.start.and_then(|v| v.name()).unwrap_or("").into(),
            opt(s.service_type.map(|v| v.0)),
            s.service_type.and_then(|v| v.name()).unwrap_or("").into(),
            opt(s.error_control.map(|v| v.0)),
            s.error_control.and_then(|v| v.name()).unwrap_or("").into(),
            s.image_path.clone().unwrap_or_default(),
            s.group.clone().unwrap_or_default(),
            s.display_name.clone().unwrap_or_default(),
            s.last_write.utc_string().unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
