//! PML benchmark: on a written boot log of ≥ 5 M events, the column index build rate, a
//! Path-substring filter, resident memory per event beyond the mapped file, full decode and
//! CSV rendering rate; then, in the same run, procmon-reader and procmon-parser (PyPI) on the
//! same file through `examples/bench_pml_peers.py`, and the ratios. Then the Timeline pane over
//! the same log: the time to draw one 160x48 frame, idle and while its worker filters and sorts.
//!
//! cargo run --release --example bench_pml -- [EVENTS] [PATH]
//! (defaults: 5,000,000 events in a temporary file; peers need `pip install -r
//! .ci/requirements-pml.txt`; PML_BENCH_PEER_EVENTS caps the Python readers' event counts,
//! default 1,000,000 for procmon-reader and a fifth of it for procmon-parser.)

use bsod_workbench::analysis::CaseAnalysis;
use bsod_workbench::case::Case;
use bsod_workbench::pml::{self, Filter};
use bsod_workbench::synth::pml::write_boot_log;
use bsod_workbench::ui::action::Outcome;
use bsod_workbench::ui::pane::{Pane, PaneContext};
use bsod_workbench::ui::panes::timeline::TimelinePane;
use bsod_workbench::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU seconds of this process (all threads), from /proc/self/stat (utime + stime, 100 Hz).
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            // Fields after the command: state is skipped by the parse; utime, stime are 14, 15.
            Some((f.get(10)? + f.get(11)?) as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

fn peer(path: &std::path::Path, tool: &str, max: usize) -> Option<(usize, f64, f64)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/bench_pml_peers.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(path)
        .arg(tool)
        .arg(max.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "  {tool}: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("failed")
        );
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some((
        v["events"].as_u64()? as usize,
        v["seconds"].as_f64()?,
        v["events_per_s"].as_f64()?,
    ))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000_000);
    let dir = tempfile::tempdir()?;
    let path: PathBuf = args
        .get(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("Bootlog.pml"));
    let drivers = [
        "filecrypt",
        "disk",
        "tcpip",
        "ntfs",
        "fltmgr",
        "volmgr",
        "partmgr",
        "storport",
        "acpi",
        "pci",
        "cng",
        "ksecdd",
        "wdf01000",
        "netio",
        "afd",
        "ndis",
    ];
    let t = Instant::now();
    if std::env::var_os("PML_BENCH_REUSE").is_some() && path.exists() {
        println!("reusing {}", path.display());
    } else {
        let s = write_boot_log(&path, n, &drivers)?;
        println!(
            "wrote {} events, {:.1} MB in {:.2} s ({})",
            s.events,
            s.bytes as f64 / 1e6,
            t.elapsed().as_secs_f64(),
            path.display()
        );
    }
    // Bring the file into the page cache so the index pass measures parsing, not the disk.
    let _ = std::fs::read(&path).map(|b| b.len());

    let anon0 = status_kb("RssAnon:");
    let t = Instant::now();
    let log = Arc::new(pml::open(&path)?);
    let open_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let cpu0 = cpu_secs();
    let ix = log.index();
    let index_s = t.elapsed().as_secs_f64();
    let index_cpu = cpu_secs() - cpu0;
    let anon1 = status_kb("RssAnon:");
    let index_rate = ix.len() as f64 / index_s;
    let per_event = (anon1.saturating_sub(anon0) * 1024) as f64 / ix.len() as f64;
    println!("open: {:.1} ms", open_s * 1e3);
    println!(
        "index: {} events in {:.3} s wall = {:.2} M events/s ({:.2} CPU-s on {} threads; {} distinct paths)",
        ix.len(),
        index_s,
        index_rate / 1e6,
        index_cpu,
        rayon::current_num_threads(),
        ix.paths.len()
    );
    println!(
        "memory beyond the map: {:.1} B/event resident (RssAnon delta), index heap {:.1} B/event",
        per_event,
        ix.heap_bytes() as f64 / ix.len() as f64
    );

    let filter = Filter::parse(&["Path contains filecrypt"])?;
    let t = Instant::now();
    let hits = filter.apply(&log, &mut |_, _| {}, &AtomicBool::new(false));
    let filter_s = t.elapsed().as_secs_f64();
    println!(
        "filter 'Path contains filecrypt': {} hits in {:.3} s",
        hits.len(),
        filter_s
    );

    // Full decode + Procmon CSV rendering of the same columns, for a fair per-event rate.
    let sample = ix.len().min(1_000_000);
    let r = pml::csv::Renderer::new(&log);
    let t = Instant::now();
    let mut bytes = 0usize;
    for i in 0..sample {
        let ev = log.event(i)?;
        let row = r.row(&ev);
        bytes += row[0].len() + row[1].len() + row[3].len() + row[4].len() + row[5].len();
    }
    let decode_rate = sample as f64 / t.elapsed().as_secs_f64();
    println!(
        "decode + render {} events: {:.2} M events/s ({} bytes of cells)",
        sample,
        decode_rate / 1e6,
        bytes
    );

    timeline_frames(&log)?;

    let peer_max: usize = std::env::var("PML_BENCH_PEER_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!("peers on the same file (time, process, PID, TID, operation, path, result):");
    if let Some((events, secs, rate)) = peer(&path, "reader", peer_max) {
        println!(
            "  procmon-reader 0.1.1: {events} events in {secs:.2} s = {:.0} events/s; bsodwb index is {:.0}x, decode+render {:.1}x",
            rate,
            index_rate / rate,
            decode_rate / rate
        );
    }
    if let Some((events, secs, _)) = peer(&path, "reader-filter", usize::MAX) {
        println!(
            "  procmon-reader filter 'path contains filecrypt': {events} hits in {secs:.2} s; bsodwb filter is {:.1}x faster",
            secs / filter_s
        );
    }
    if let Some((events, secs, rate)) = peer(&path, "parser", (peer_max / 5).max(1)) {
        println!(
            "  procmon-parser 0.4.0 (no stacks, no details): {events} events in {secs:.2} s = {:.0} events/s; bsodwb index is {:.0}x",
            rate,
            index_rate / rate
        );
    }
    Ok(())
}

/// Milliseconds to draw one frame of the pane.
fn draw_ms(
    term: &mut Terminal<TestBackend>,
    pane: &mut TimelinePane,
    (case, analysis): (&Case, &CaseAnalysis),
    theme: &Theme,
) -> anyhow::Result<f64> {
    let t = Instant::now();
    term.draw(|f| {
        let ctx = PaneContext {
            case,
            analysis,
            focus: None,
            theme,
        };
        pane.render(f, f.area(), &ctx);
    })?;
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

/// Draw frames until the pane's worker is done: (frames, worst ms, seconds until done).
fn frames_while_busy(
    term: &mut Terminal<TestBackend>,
    pane: &mut TimelinePane,
    case: (&Case, &CaseAnalysis),
    theme: &Theme,
) -> anyhow::Result<(usize, f64, f64)> {
    let t = Instant::now();
    let (mut frames, mut worst) = (0usize, 0f64);
    while pane.is_busy() {
        worst = worst.max(draw_ms(term, pane, case, theme)?);
        frames += 1;
        pane.tick();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok((frames, worst, t.elapsed().as_secs_f64()))
}

/// The Timeline pane over the benchmark log: only the visible rows are decoded per frame, and
/// filtering and sorting run on its worker thread while frames keep being drawn.
fn timeline_frames(log: &Arc<pml::PmlLog>) -> anyhow::Result<()> {
    let case = Case {
        boot_log: Some(Arc::clone(log)),
        boot_log_path: Some("Bootlog.pml".into()),
        ..Case::default()
    };
    let theme = Theme::ansi16();
    // Analysed once, as the workbench does on its loader thread.
    let analysis = CaseAnalysis::build(&case);
    let mut pane = TimelinePane::from_case(&case).ok_or_else(|| anyhow::anyhow!("no log"))?;
    let mut term = Terminal::new(TestBackend::new(160, 48))?;
    let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
    let press = |pane: &mut TimelinePane, c: KeyCode| {
        let ctx = PaneContext {
            case: &case,
            analysis: &analysis,
            focus: None,
            theme: &theme,
        };
        pane.handle_key(key(c), &ctx)
    };
    let mut idle: Vec<f64> = Vec::new();
    for k in 0..20 {
        if k == 10 {
            press(&mut pane, KeyCode::End);
        }
        idle.push(draw_ms(&mut term, &mut pane, (&case, &analysis), &theme)?);
    }
    idle.sort_by(f64::total_cmp);
    println!(
        "timeline pane, 160x48 frame over {} rows: median {:.2} ms, worst {:.2} ms (idle)",
        pane.rows().len(),
        idle[idle.len() / 2],
        idle[idle.len() - 1]
    );
    // `+`: a filter rule (the keymap's add-filter).
    press(&mut pane, KeyCode::Char('+'));
    for ch in "Path contains filecrypt".chars() {
        press(&mut pane, KeyCode::Char(ch));
    }
    press(&mut pane, KeyCode::Enter);
    let (frames, worst, secs) =
        frames_while_busy(&mut term, &mut pane, (&case, &analysis), &theme)?;
    println!(
        "timeline pane, filter 'Path contains filecrypt' on the worker: {} rows in {:.3} s; {} frames drawn meanwhile, worst {:.2} ms",
        pane.rows().len(),
        secs,
        frames,
        worst
    );
    // `X`: clear the rules; `s` then `5`: the sort picker's fifth column, the path.
    press(&mut pane, KeyCode::Char('X'));
    press(&mut pane, KeyCode::Char('s'));
    let sorted = press(&mut pane, KeyCode::Char('5'));
    anyhow::ensure!(
        matches!(&sorted, Outcome::Message(m) if m.starts_with("sorted by")),
        "the sort keys did not sort: {sorted:?}"
    );
    let (frames, worst, secs) =
        frames_while_busy(&mut term, &mut pane, (&case, &analysis), &theme)?;
    println!(
        "timeline pane, sort {} rows by path on the worker: {:.3} s; {} frames drawn meanwhile, worst {:.2} ms",
        pane.rows().len(),
        secs,
        frames,
        worst
    );
    let key = bsod_workbench::driver::DriverKey::from_path("filecrypt.sys")
        .ok_or_else(|| anyhow::anyhow!("driver key"))?;
    pane.on_focus(&PaneContext {
        case: &case,
        analysis: &analysis,
        focus: Some(&key),
        theme: &Theme::ansi16(),
    });
    let (frames, worst, secs) =
        frames_while_busy(&mut term, &mut pane, (&case, &analysis), &theme)?;
    println!(
        "timeline pane, focus filecrypt.sys (its image, service key and stack events, sorted by path): {} rows in {:.3} s; {} frames drawn meanwhile, worst {:.2} ms",
        pane.rows().len(),
        secs,
        frames,
        worst
    );
    Ok(())
}
