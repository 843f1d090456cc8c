//! EventLog 6008 ("the previous system shutdown ... was unexpected"): the time comes from the
//! event's Binary data (a local SYSTEMTIME, then the same instant in UTC), not from the display
//! strings Windows fills with invisible left-to-right marks.

use bsod_workbench::eventlog::{self, Selection, SystemEvent};
use bsod_workbench::synth::evtx::EvtxWriter;
use evtx::Timestamp;

fn t(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn when_of(writer: EvtxWriter) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("System.evtx");
    writer.write_to(&path).expect("write");
    let log = eventlog::open_with(&path, &Selection::boot_failure()).expect("open");
    let event = log
        .events
        .iter()
        .find(|e| e.event_id == 6008)
        .expect("6008");
    match event.system() {
        Some(SystemEvent::UnexpectedShutdown { when }) => when.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_time_comes_from_the_binary_systemtimes() {
    // 2:13:41 AM Pacific daylight time on 14 May 2024 is 09:13:41 UTC.
    let writer = EvtxWriter::new().eventlog_6008_with_binary(
        t("2024-05-14T09:15:02Z"),
        (2024, 5, 14, 2, 13, 41, 578),
        (2024, 5, 14, 9, 13, 41, 578),
    );
    // The display strings carry U+200E marks; the result has none and is the binary's time.
    let spec = &writer.events()[0];
    let shown = format!("{:?}", spec.data);
    assert!(shown.contains("\\u{200e}"), "{shown}");
    let when = when_of(writer).expect("a time");
    assert_eq!(when, "2024-05-14 02:13:41 local (2024-05-14T09:13:41Z)");
    assert!(!when.contains('\u{200E}'));
}

#[test]
fn without_binary_data_the_display_strings_are_used_without_direction_marks() {
    let when = when_of(EvtxWriter::new().eventlog_6008(
        t("2024-05-14T09:15:02Z"),
        "2:13:41 AM",
        "\u{200E}5/\u{200E}14/\u{200E}2024",
    ));
    assert_eq!(when.as_deref(), Some("2:13:41 AM 5/14/2024"));
}
