//! `bsodwb pml FILE --format csv|json|text [--filter RULE]... [--driver NAME]`.

use bsod_workbench::driver::DriverKey;
use bsod_workbench::escape::escape_field;
use bsod_workbench::pml::{self, DriverQuery, Filter, csv as pmlcsv};
use serde::Serialize;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The log to read (`name.pml`; rollover siblings `name-1.pml`, … are read too).
    pub file: PathBuf,
    /// Output format: csv = Procmon's CSV export, json = one object per line with the stack,
    /// text = one aligned line per event.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
    /// A Procmon filter rule, `'COLUMN RELATION VALUE [include|exclude]'`, e.g.
    /// `'Path ends with .sys'` or `'Result is SUCCESS exclude'`. Repeatable.
    #[arg(long = "filter", value_name = "RULE")]
    pub filters: Vec<String>,
    /// Only the events of one driver (Load Image, file events on it, registry under its
    /// service key, stacks through it), e.g. `filecrypt.sys`.
    #[arg(long)]
    pub driver: Option<String>,
    /// Stop after this many events.
    #[arg(long)]
    pub limit: Option<usize>,
    /// The time zone of the Time of Day, Completion Time and Date & Time columns and of the
    /// dates in details: utc, local (this machine's zone) or an offset like +02:00. Procmon
    /// shows the viewer's local time, so pass the zone of the machine that made a CSV to
    /// compare with it.
    #[arg(
        long,
        value_name = "utc|local|±hh:mm",
        default_value = "utc",
        allow_hyphen_values = true
    )]
    pub tz: String,
}

#[derive(Serialize)]
struct JsonEvent<'a> {
    number: usize,
    #[serde(flatten)]
    columns: std::collections::BTreeMap<&'static str, String>,
    class: u32,
    operation: u16,
    result: u32,
    stack: Vec<JsonFrame>,
    #[serde(skip)]
    _p: std::marker::PhantomData<&'a ()>,
}

#[derive(Serialize)]
struct JsonFrame {
    address: String,
    kernel: bool,
    module: Option<String>,
    location: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // Rules first: a typo is reported before a large log is read.
    let filter = Filter::parse(&args.filters)?;
    let tz = pml::render::TimeZone::parse(&args.tz).map_err(|e| anyhow::anyhow!("--tz {e}"))?;
    super::check_file(&args.file)?;
    let mut log = pml::open(&args.file)?;
    log.set_render_options(pml::render::RenderOptions {
        tz,
        ..Default::default()
    });
    for w in log.warnings() {
        super::eline!("warning: {w}");
    }
    let cancel = AtomicBool::new(false);
    let mut selected = filter.apply(&log, &mut |_, _| {}, &cancel);
    if let Some(name) = &args.driver {
        let key = DriverKey::from_path(name)
            .ok_or_else(|| anyhow::anyhow!("--driver {name:?}: not a driver file name"))?;
        let mine = log.driver_events(&key, None).all;
        let keep: std::collections::HashSet<u32> = mine.into_iter().collect();
        selected.retain(|i| keep.contains(i));
    }
    if let Some(n) = args.limit {
        selected.truncate(n);
    }
    let mut out = super::stdout(args.format);
    let result = write_events(&log, &selected, args.format, &mut out);
    match result.and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn write_events<W: Write>(
    log: &pml::PmlLog,
    selected: &[u32],
    format: super::Format,
    out: &mut W,
) -> io::Result<()> {
    let r = pmlcsv::Renderer::new(log);
    if format == super::Format::Csv {
        pmlcsv::write_header(out)?;
    }
    let mut failed = 0usize;
    for &i in selected {
        let ev = match log.event(i as usize) {
            Ok(ev) => ev,
            Err(e) => {
                failed += 1;
                if failed <= 10 {
                    super::eline!("warning: {e}");
                }
                continue;
            }
        };
        match format {
            super::Format::Csv => pmlcsv::write_event(out, &r, &ev)?,
            super::Format::Json => {
                let stack = log
                    .stack(&ev)
                    .into_iter()
                    .map(|f| JsonFrame {
                        address: format!("0x{:x}", f.address),
                        kernel: f.kernel,
                        location: f.label(),
                        module: f.module,
                    })
                    .collect();
                let row = JsonEvent {
                    number: ev.number,
                    columns: r.columns(&ev).into_iter().collect(),
                    class: ev.class,
                    operation: ev.operation,
                    result: ev.result,
                    stack,
                    _p: std::marker::PhantomData,
                };
                serde_json::to_writer(&mut *out, &row)?;
                out.write_all(b"\n")?;
            }
            super::Format::Text => {
                let c = r.row(&ev);
                // One event, one line: a newline inside a path or a name is shown escaped.
                let get = |k: usize| escape_field(c.get(k).map(String::as_str).unwrap_or(""));
                writeln!(
                    out,
                    "{:>9} {:<18} {:>14} {:>6} {:<28} {:<60} {:<18} {}",
                    ev.number,
                    get(0),
                    get(1),
                    get(2),
                    get(3),
                    get(4),
                    get(5),
                    get(6)
                )?;
            }
        }
    }
    if failed > 10 {
        super::eline!("warning: {failed} events could not be decoded");
    }
    if format == super::Format::Text {
        writeln!(out, "{} of {} events", selected.len(), log.len())?;
    }
    Ok(())
}
