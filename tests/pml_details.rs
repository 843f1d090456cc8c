//! Procmon's Detail column for the operations whose rendering depends on Procmon's own quirks
//! (issue 12): QueryDirectory's listing in each Procmon layout, CreateFileMapping's
//! PageProtection as the 32- and 64-bit Procmon print it, SetBasicInformationFile's special
//! FILETIMEs, and the viewer's time zone (`--tz`). Logs written by `synth::pml`; the real
//! captures are checked against Procmon's CSVs in `pml_oracle.rs`.

use bsod_workbench::pml::render::{ListingLayout, RenderOptions, TimeZone};
use bsod_workbench::pml::{self, csv as pmlcsv};
use bsod_workbench::synth::pml::{Capture, EventSpec, PmlWriter, ProcessSpec, status};

/// 2020-07-31 07:37:18 UTC.
const T: u64 = 132_406_546_380_000_000;

fn write(is_64bit: bool, build: impl FnOnce(&mut PmlWriter, &EventSpec)) -> pml::PmlLog {
    let mut w = PmlWriter::new(Capture {
        is_64bit,
        ..Capture::default()
    });
    let p = w.add_process(ProcessSpec {
        pid: 1234,
        name: "explorer.exe".into(),
        is_64bit,
        ..Default::default()
    });
    let ev = EventSpec {
        process: p,
        tid: 1,
        time: T,
        duration: 10,
        result: status::SUCCESS,
        stack: Vec::new(),
    };
    build(&mut w, &ev);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.pml");
    w.write_to(&path).expect("write pml");
    let bytes = std::fs::read(&path).expect("read back");
    pml::from_bytes(&path, bytes).expect("open")
}

fn details(log: &mut pml::PmlLog, listing: ListingLayout) -> Vec<String> {
    log.set_render_options(RenderOptions {
        tz: TimeZone::Utc,
        listing,
    });
    (0..log.len())
        .map(|i| log.event(i).expect("event").detail_text())
        .collect()
}

#[test]
fn query_directory_lists_as_each_procmon_version_does() {
    for is_64bit in [true, false] {
        let mut log = write(is_64bit, |w, ev| {
            w.query_directory(ev, "C:\\Windows\\System32", "ntdll.dll", 3, &["ntdll.dll"])
                .expect("event");
            w.query_directory(ev, "C:\\Temp", "", 37, &[".", "..", "a.txt", "b.txt"])
                .expect("event");
            let mut missing = ev.clone();
            missing.result = 0xC000_000F; // NO SUCH FILE: no listing
            w.query_directory(&missing, "C:\\Temp", "zz*", 1, &[])
                .expect("event");
        });
        // Current Procmon: the class first, names numbered by their place in the list.
        assert_eq!(
            details(&mut log, ListingLayout::ClassFirst),
            [
                "FileInformationClass: FileBothDirectoryInformation, Filter: ntdll.dll, 2: ntdll.dll",
                "FileInformationClass: FileIdBothDirectoryInformation, 1: ., 2: .., 3: a.txt, 4: b.txt",
                "FileInformationClass: FileDirectoryInformation, Filter: zz*",
            ],
            "64-bit: {is_64bit}"
        );
        // Procmon 3.5x (the 2020 sample CSVs): the class in slot 2.
        assert_eq!(
            details(&mut log, ListingLayout::ClassInSlot2),
            [
                "Filter: ntdll.dll, 1: ntdll.dll, FileInformationClass: FileBothDirectoryInformation",
                "0: ., 1: .., FileInformationClass: FileIdBothDirectoryInformation, 3: b.txt",
                "Filter: zz*",
            ]
        );
        assert_eq!(
            details(&mut log, ListingLayout::NoClass),
            [
                "Filter: ntdll.dll, 1: ntdll.dll",
                "0: ., 1: .., 2: a.txt, 3: b.txt",
                "Filter: zz*",
            ]
        );
        // The Path column carries the filter.
        assert_eq!(
            log.event(0).expect("event").path,
            "C:\\Windows\\System32\\ntdll.dll"
        );
    }
}

#[test]
fn create_file_mapping_page_protection_reads_where_procmon_does() {
    // 64-bit Procmon prints the dword after PageProtection (the low half of the output
    // pointer): 0xed1f06a0 = PAGE_EXECUTE_READ | PAGE_NOCACHE, whatever PageProtection says.
    let mut log = write(true, |w, ev| {
        w.create_file_mapping(ev, "C:\\a.dll", 1, 0x02, 0xffff_c004_ed1f_06a0)
            .expect("event");
        w.create_file_mapping(ev, "C:\\b.dll", 1, 0x10, 0xffff_c004_eb61_b410)
            .expect("event");
        w.create_file_mapping(ev, "C:\\c.dll", 1, 0x02, 0xffff_c004_0000_0200)
            .expect("event");
        // Windows 7 x64: no section-sync output, a NULL pointer: no PageProtection at all.
        w.create_file_mapping(ev, "C:\\d.dll", 1, 0x02, 0)
            .expect("event");
        w.create_file_mapping(ev, "C:\\e.dll", 0, 0, 0)
            .expect("event");
    });
    assert_eq!(
        details(&mut log, ListingLayout::ClassFirst),
        [
            "SyncType: SyncTypeCreateSection, PageProtection: PAGE_EXECUTE_READ|PAGE_NOCACHE",
            "SyncType: SyncTypeCreateSection, PageProtection: PAGE_EXECUTE",
            "SyncType: SyncTypeCreateSection, PageProtection: |PAGE_NOCACHE",
            "SyncType: SyncTypeCreateSection",
            "SyncType: SyncTypeOther",
        ]
    );
    // The 32-bit Procmon reads the field itself.
    let mut log = write(false, |w, ev| {
        w.create_file_mapping(ev, "C:\\a.dll", 1, 0x02, 0x8a00_06a0)
            .expect("event");
        w.create_file_mapping(ev, "C:\\b.dll", 1, 0x08, 0)
            .expect("event");
    });
    assert_eq!(
        details(&mut log, ListingLayout::ClassFirst),
        [
            "SyncType: SyncTypeCreateSection, PageProtection: PAGE_READONLY",
            "SyncType: SyncTypeCreateSection, PageProtection: PAGE_WRITECOPY",
        ]
    );
}

#[test]
fn set_basic_information_special_times_stay_in_1601() {
    let mut log = write(true, |w, ev| {
        // -1: "don't update on I/O", 0: "don't change".
        w.set_basic_information(ev, "C:\\x.txt", [0, -1, T as i64, -1], 0x20)
            .expect("event");
    });
    assert_eq!(
        details(&mut log, ListingLayout::ClassFirst),
        [
            "CreationTime: 1/1/1601 12:00:00 AM, LastAccessTime: 1/1/1601 12:00:00 AM, \
          LastWriteTime: 7/31/2020 7:37:18 AM, ChangeTime: 1/1/1601 12:00:00 AM, FileAttributes: A"
        ]
    );
    // Seen from UTC+2, -1 is one tick before 1601-01-01 02:00 and 0 is 02:00.
    log.set_render_options(RenderOptions {
        tz: TimeZone::parse("+02:00").expect("tz"),
        ..Default::default()
    });
    let ev = log.event(0).expect("event");
    assert_eq!(
        ev.detail_text(),
        "CreationTime: 1/1/1601 2:00:00 AM, LastAccessTime: 1/1/1601 1:59:59 AM, \
         LastWriteTime: 7/31/2020 9:37:18 AM, ChangeTime: 1/1/1601 1:59:59 AM, FileAttributes: A"
    );
    let r = pmlcsv::Renderer::new(&log);
    let cols = r.columns(&ev);
    assert_eq!(cols["Time of Day"], "9:37:18.0000000 AM");
    assert_eq!(cols["Date & Time"], "7/31/2020 9:37:18 AM");
    assert_eq!(cols["Completion Time"], "9:37:18.0000010 AM");
    assert_eq!(cols["Relative Time"], "00:00:00.0000000");
}

#[test]
fn the_cli_shows_times_in_the_zone_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.pml");
    let mut w = PmlWriter::new(Capture::default());
    let p = w.add_process(ProcessSpec {
        pid: 8,
        name: "svchost.exe".into(),
        ..Default::default()
    });
    let ev = EventSpec {
        process: p,
        tid: 1,
        time: T,
        duration: 0,
        result: status::SUCCESS,
        stack: Vec::new(),
    };
    w.thread_create(&ev, 77).expect("event");
    w.write_to(&path).expect("write");
    let run = |tz: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
            .args([
                "pml",
                path.to_str().expect("utf-8"),
                "--format",
                "csv",
                "--tz",
                tz,
            ])
            .output()
            .expect("run bsodwb");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.success(),
        )
    };
    let (csv, _, ok) = run("-05:00");
    assert!(ok);
    let row = csv.lines().nth(1).expect("a row");
    assert!(row.starts_with("\"2:37:18.0000000 AM\""), "{row}");
    assert!(row.contains("\"7/31/2020 2:37:18 AM\""), "{row}");
    let (csv, _, ok) = run("utc");
    assert!(
        ok && csv
            .lines()
            .nth(1)
            .is_some_and(|r| r.starts_with("\"7:37:18.0000000 AM\""))
    );
    let (_, err, ok) = run("mars");
    assert!(!ok && err.contains("--tz"), "{err}");
}
