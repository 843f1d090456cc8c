//! The panes, one file each.

pub mod absent;
pub mod drivers;
pub mod dump;
pub mod integrity;
pub mod notes;
pub mod overview;
pub mod timeline;

use super::pane::Pane;
use crate::case::Case;

/// The six panes for a loaded case, in tab order. A pane whose artefact the case lacks says
/// which file it needs.
pub fn build(case: &Case) -> Vec<Box<dyn Pane>> {
    vec![
        Box::new(overview::OverviewPane::new()),
        if case.dumps.is_empty() {
            Box::new(absent::AbsentPane::new(
                "Dump",
                &[
                    "MEMORY.DMP (a kernel or complete memory dump)",
                    "Minidump\\*.dmp (a small memory dump)",
                ],
            ))
        } else {
            Box::new(dump::DumpPane::from_case(case))
        },
        match timeline::TimelinePane::from_case(case) {
            Some(pane) => Box::new(pane),
            None => Box::new(absent::AbsentPane::new(
                "Timeline",
                &["Bootlog.pml (a Procmon boot log; zipped is fine)"],
            )),
        },
        Box::new(integrity::IntegrityPane::new()),
        Box::new(drivers::DriversPane::from_case(case)),
        Box::new(notes::NotesPane::new(case)),
    ]
}
