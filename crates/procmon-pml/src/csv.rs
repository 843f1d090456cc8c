//! Procmon's CSV export: the same columns in the same order, rendered the same way
//! (docs/formats/pml.md §14): UTF-8 with BOM, every field quoted, CRLF rows.

use super::event::Event;
use super::format::Process;
use super::render;
use super::{PmlLog, names};
use std::collections::HashMap;
use std::io::{self, Write};

/// The columns of Procmon's CSV export, in its order.
pub const HEADER: &[&str] = &[
    "Time of Day",
    "Process Name",
    "PID",
    "Operation",
    "Path",
    "Result",
    "Detail",
    "Date & Time",
    "Relative Time",
    "Duration",
    "Completion Time",
    "Event Class",
    "Sequence",
    "Image Path",
    "Company",
    "Description",
    "Version",
    "User",
    "Authentication ID",
    "Session",
    "Command Line",
    "TID",
    "Virtualized",
    "Integrity",
    "Category",
    "Parent PID",
    "Architecture",
];

/// Renders events of one log as CSV cells.
pub struct Renderer<'a> {
    log: &'a PmlLog,
    first: u64,
}

impl<'a> Renderer<'a> {
    pub fn new(log: &'a PmlLog) -> Renderer<'a> {
        Renderer {
            log,
            first: log.first_timestamp().unwrap_or(0),
        }
    }

    /// The cells of an event in [`HEADER`] order.
    pub fn row(&self, ev: &Event) -> Vec<String> {
        let p: Option<&Process> = ev.process.and_then(|s| self.log.process(s));
        let pf = |f: fn(&Process) -> String| p.map(f).unwrap_or_default();
        let result = names::result_text(ev.result);
        // Pending operations (empty result text) have no duration or completion time.
        let pending = result.is_empty();
        let tz = &self.log.render_options().tz;
        vec![
            render::time_of_day_in(ev.timestamp, tz),
            pf(|p| p.name.clone()),
            pf(|p| p.pid.to_string()),
            ev.operation_name.clone(),
            ev.path.clone(),
            result.into_owned(),
            detail_cell(ev),
            render::date_time_in(ev.timestamp, tz),
            render::relative_time(ev.timestamp.saturating_sub(self.first)),
            if pending {
                String::new()
            } else {
                render::duration(ev.duration)
            },
            if pending {
                String::new()
            } else {
                render::time_of_day_in(ev.timestamp.saturating_add(ev.duration), tz)
            },
            names::class_name(ev.class).map_or_else(|| ev.class.to_string(), str::to_string),
            "n/a".to_string(),
            pf(|p| p.image_path.clone()),
            pf(|p| p.company.clone()),
            pf(|p| p.description.clone()),
            pf(|p| p.version.clone()),
            pf(|p| p.user.clone()),
            pf(|p| {
                format!(
                    "{:08x}:{:08x}",
                    p.authentication_id >> 32,
                    p.authentication_id & 0xffff_ffff
                )
            }),
            pf(|p| p.session.to_string()),
            pf(|p| p.command_line.clone()),
            ev.tid.to_string(),
            pf(|p| {
                match p.virtualized {
                    0 => "False",
                    1 => "True",
                    _ => "n/a",
                }
                .to_string()
            }),
            pf(|p| p.integrity.clone()),
            ev.category.clone(),
            pf(|p| p.parent_pid.to_string()),
            pf(|p| if p.is_64bit { "64-bit" } else { "32-bit" }.to_string()),
        ]
    }

    /// The cells of an event by column name.
    pub fn columns(&self, ev: &Event) -> HashMap<&'static str, String> {
        HEADER.iter().copied().zip(self.row(ev)).collect()
    }
}

/// Procmon's Detail cell holds at most 4095 characters (its buffer is 4096 with the NUL).
pub fn detail_cell(ev: &Event) -> String {
    let d = ev.detail_text();
    match d.char_indices().nth(4095) {
        Some((cut, _)) => d[..cut].to_string(),
        None => d,
    }
}

fn write_row<W: Write>(w: &mut W, cells: &[String]) -> io::Result<()> {
    for (k, c) in cells.iter().enumerate() {
        if k > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"\"")?;
        w.write_all(c.replace('"', "\"\"").as_bytes())?;
        w.write_all(b"\"")?;
    }
    w.write_all(b"\r\n")
}

/// Writes the BOM and the header row.
pub fn write_header<W: Write>(w: &mut W) -> io::Result<()> {
    w.write_all(b"\xEF\xBB\xBF")?;
    let h: Vec<String> = HEADER.iter().map(|s| s.to_string()).collect();
    write_row(w, &h)
}

/// Writes one event row.
pub fn write_event<W: Write>(w: &mut W, r: &Renderer, ev: &Event) -> io::Result<()> {
    write_row(w, &r.row(ev))
}
