//! The panes, one file each.

pub mod absent;
pub mod drivers;
pub mod dump;
pub mod history;
pub mod integrity;
pub mod notes;
pub mod overview;
pub mod timeline;

use super::pane::Pane;
use super::pane_id::PaneId;
use crate::analysis::CaseAnalysis;
use crate::case::Case;

/// One pane per [`PaneId`], in tab order. A pane whose artefact the case lacks says which file
/// it needs.
pub fn build(case: &Case, analysis: &CaseAnalysis) -> Vec<Box<dyn Pane>> {
    PaneId::ALL
        .into_iter()
        .map(|id| pane(id, case, analysis))
        .collect()
}

fn pane(id: PaneId, case: &Case, _analysis: &CaseAnalysis) -> Box<dyn Pane> {
    match id {
        PaneId::Overview => Box::new(overview::OverviewPane::new()),
        PaneId::Dump if case.dumps.is_empty() => Box::new(absent::AbsentPane::new(
            id.title(),
            &[
                "MEMORY.DMP (a kernel or complete memory dump)",
                "Minidump\\*.dmp (a small memory dump)",
            ],
        )),
        PaneId::Dump => Box::new(dump::DumpPane::from_case(case)),
        PaneId::Timeline => match timeline::TimelinePane::from_case(case) {
            Some(pane) => Box::new(pane),
            None => Box::new(absent::AbsentPane::new(
                id.title(),
                &["Bootlog.pml (a Procmon boot log; zipped is fine)"],
            )),
        },
        PaneId::Integrity => Box::new(integrity::IntegrityPane::new()),
        PaneId::Drivers => Box::new(drivers::DriversPane::new()),
        PaneId::Notes => Box::new(notes::NotesPane::new(case)),
        PaneId::History => Box::new(history::HistoryPane::new()),
    }
}
