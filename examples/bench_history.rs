//! Benchmark: the case history of a big case: 500 minidumps, a System log of 100,000 events
//! (500 crashes reported by 12/6008/41/1001, 1,000 service installs, the rest SCM 7036 noise)
//! and a 20 MB setupapi.dev.log. Times the case load (dumps analysed, logs read) apart from what
//! this benchmark is about: `History::build` (crash merge, text logs, changes) plus
//! `History::timeline`, on the loaded case.
//!
//!     cargo run --release --example bench_history
//!
//! Target: history and timeline under 2 s on 2 cores. For comparison, BlueScreenView (Windows
//! only, no Linux peer) lists minidumps only, one row per file, and reads no event log.

use bsod_workbench::case::Case;
use bsod_workbench::history::History;
use bsod_workbench::synth::dump::DumpSpec;
use bsod_workbench::synth::evtx::{DataItem, EventSpec, EvtxWriter, Value};
use bsod_workbench::synth::minidump::write_minidump_folder;
use std::time::Instant;

const DUMPS: usize = 500;
const EVENTS: usize = 100_000;
const SETUPAPI_BYTES: usize = 20 << 20;
const START: i64 = 1_704_067_200; // 2024-01-01

fn ts(unix: i64) -> anyhow::Result<evtx::Timestamp> {
    Ok(evtx::Timestamp::from_second(unix)?)
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    let t0 = Instant::now();
    // 500 crashes, 8 hours apart; each a minidump and its reports at the next boot.
    let spec = DumpSpec::demo_0x5a();
    let params = [
        1,
        0xffff_9907_c7d2_3060,
        0xffff_d50f_e221_39c0,
        0xffff_ffff_c000_0428,
    ];
    let dumps = write_minidump_folder(
        &root.join("Windows/Minidump"),
        &spec,
        DUMPS,
        START,
        8 * 3600,
    )?;
    let mut sys = EvtxWriter::new().computer("SRV-FS01");
    let mut events = 0;
    for (name, crash) in &dumps {
        let crash = *crash;
        let boot = crash + 600;
        let (y, mo, d, h, mi, s) = civil(crash);
        sys = sys
            .kernel_general_12(ts(boot)?, [10, 0, 14393, 6795])
            .eventlog_6008_with_binary(
                ts(boot + 20)?,
                (y, mo, d, h, mi, s, 0),
                (y, mo, d, h, mi, s, 0),
            )
            .kernel_power_41(ts(boot + 21)?, 0x5a, params)
            .wer_1001(
                ts(boot + 90)?,
                0x5a,
                params,
                &format!("C:\\Windows\\Minidump\\{name}"),
                "0a1b",
            );
        events += 4;
    }
    for i in 0..1000 {
        sys = sys.scm_7045(
            ts(START + i * 4000 + 7)?,
            &format!("svc{i}"),
            &format!("\\SystemRoot\\System32\\drivers\\drv{i}.sys"),
            "kernel mode driver",
            "boot start",
        );
        events += 1;
    }
    let mut i = 0i64;
    while events < EVENTS {
        sys = sys.event(EventSpec {
            time: ts(START + i * 14)?,
            provider: "Service Control Manager".into(),
            provider_guid: None,
            event_source_name: Some("Service Control Manager".into()),
            event_id: 7036,
            qualifiers: Some(16384),
            version: 0,
            level: 4,
            task: 0,
            opcode: 0,
            keywords: 0x8080_0000_0000_0000,
            activity_id: None,
            process_id: 700,
            thread_id: 704,
            channel: "System".into(),
            data: vec![
                DataItem::Named("param1".into(), Value::Str(format!("Service {}", i % 97))),
                DataItem::Named("param2".into(), Value::Str("running".into())),
            ],
        });
        events += 1;
        i += 1;
    }
    sys.write_to(&root.join("System.evtx"))?;
    // A 20 MB setupapi.dev.log of install sections.
    let inf = root.join("Windows/INF");
    std::fs::create_dir_all(&inf)?;
    let mut log =
        String::from("[Device Install Log]\r\n     OS Version = 10.0.14393\r\n[BeginLog]\r\n");
    let mut n = 0i64;
    while log.len() < SETUPAPI_BYTES {
        let (y, mo, d, h, mi, s) = civil(START + n * 600);
        let at = format!("{y:04}/{mo:02}/{d:02} {h:02}:{mi:02}:{s:02}.000");
        log.push_str(&format!(
            "\r\n>>>  [Device Install (DiInstallDriver) - C:\\Drivers\\pkg{n}\\oem{n}.inf]\r\n>>>  Section start {at}\r\n"
        ));
        for k in 0..24 {
            log.push_str(&format!("     dvi:      Searching for hardware ID(s): pci\\ven_8086&dev_{k:04x}&subsys_00000000\r\n"));
        }
        log.push_str(&format!(
            "     flq: Copying 'C:\\Drivers\\pkg{n}\\drv{n}.sys' to 'C:\\Windows\\System32\\drivers\\drv{n}.sys'.\r\n<<<  Section end {at}\r\n<<<  [Exit status: SUCCESS]\r\n"
        ));
        n += 1;
    }
    std::fs::write(inf.join("setupapi.dev.log"), &log)?;
    println!(
        "wrote {DUMPS} minidumps, {events} System events, a {} MiB setupapi.dev.log ({n} sections) in {:.1} s",
        log.len() >> 20,
        t0.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let case = Case::load(root, &mut |_| {})?;
    println!(
        "case load (every dump analysed, logs read): {:.2} s; {} dumps, {} problems",
        t.elapsed().as_secs_f64(),
        case.dumps.len(),
        case.problems.len()
    );
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..3 {
        let t = Instant::now();
        let h = History::build(&case);
        let rows = h.timeline();
        best = best.min(t.elapsed().as_secs_f64());
        last = Some((h.crashes.len(), h.changes.len(), rows.len()));
    }
    let (crashes, changes, rows) = last.unwrap_or_default();
    println!(
        "history + timeline: {best:.3} s (best of 3): {crashes} crashes, {changes} changes, {rows} timeline rows"
    );
    anyhow::ensure!(crashes == DUMPS, "{crashes} crash rows for {DUMPS} crashes");
    Ok(())
}

/// (year, month, day, hour, minute, second) of Unix seconds, UTC.
fn civil(t: i64) -> (u16, u16, u16, u16, u16, u16) {
    let (y, m, d) = bsod_workbench::filetime::civil_from_days(t.div_euclid(86_400));
    let r = t.rem_euclid(86_400);
    (
        y as u16,
        m as u16,
        d as u16,
        (r / 3600) as u16,
        (r / 60 % 60) as u16,
        (r % 60) as u16,
    )
}
