//! Reads a Procmon log and prints what it holds: the capture's header, the events per class and
//! operation, the warnings, and the first events as Procmon's CSV export writes them.
//!
//! ```text
//! cargo run -p procmon-pml --example read_log -- path/to/Logfile.pml [rows]
//! ```
//!
//! Rollover siblings (`Logfile-1.pml`, …) beside the file join as one timeline.

use procmon_pml::{csv, names};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: read_log LOG.pml [ROWS]");
        return ExitCode::from(2);
    };
    let rows: usize = match args.next().map(|a| a.to_string_lossy().parse()) {
        None => 5,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("ROWS: {e}");
            return ExitCode::from(2);
        }
    };
    let log = match procmon_pml::open(&path) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    for f in log.files() {
        let h = &f.header;
        println!(
            "{}: PML version {}, {}-bit, {}, {} processors, {} events",
            f.path.display(),
            h.version,
            f.pointer_size() * 8,
            h.os_name(),
            h.processors,
            f.len(),
        );
    }
    println!(
        "{} events, {} processes, {} kernel modules",
        log.len(),
        log.processes().len(),
        log.kernel_modules().len()
    );

    // Per class and operation, from the column index (no event is decoded for this).
    let ix = log.index();
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for i in 0..ix.len() {
        if let Some(op) = ix.op_of(i) {
            let class = names::class_name(op.class).unwrap_or("?").to_string();
            *counts.entry((class, op.name())).or_default() += 1;
        }
    }
    for ((class, op), n) in &counts {
        println!("{n:>9}  {class:<12} {op}");
    }
    for w in log.warnings() {
        println!("warning: {w}");
    }

    // The first rows as Procmon's "Save as CSV" writes them.
    let renderer = csv::Renderer::new(&log);
    let mut out = std::io::stdout().lock();
    let mut write = || -> std::io::Result<()> {
        csv::write_header(&mut out)?;
        for number in 0..log.len().min(rows) {
            match log.event(number) {
                Ok(ev) => csv::write_event(&mut out, &renderer, &ev)?,
                Err(e) => writeln!(out, "event {number}: {e}")?,
            }
        }
        out.flush()
    };
    if let Err(e) = write() {
        eprintln!("stdout: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
