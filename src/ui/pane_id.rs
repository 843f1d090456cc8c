//! The panes of the workbench, in tab order: the one place that order is written down.
//!
//! Everything else derives from [`PaneId::ALL`]: `panes::build` builds one pane per id, the tab
//! bar lists them, the keymap's `pane:<name>` actions select them, and an artefact (a file kind,
//! or what a parser's hint says to look at) is shown by the pane [`PaneId::showing`] names.

use crate::bugcheck::Artefact;
use crate::case::Kind;

/// One pane of the workbench.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaneId {
    Overview,
    Dump,
    Timeline,
    Integrity,
    Drivers,
    Notes,
    History,
}

impl PaneId {
    /// Every pane, in tab order.
    pub const ALL: [PaneId; 7] = [
        PaneId::Overview,
        PaneId::Dump,
        PaneId::Timeline,
        PaneId::Integrity,
        PaneId::Drivers,
        PaneId::Notes,
        PaneId::History,
    ];

    /// The title in the tab bar and the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            PaneId::Overview => "Overview",
            PaneId::Dump => "Dump",
            PaneId::Timeline => "Timeline",
            PaneId::Integrity => "Integrity",
            PaneId::Drivers => "Drivers",
            PaneId::Notes => "Notes",
            PaneId::History => "History",
        }
    }

    /// The name in `keymap.toml` (`action = "pane:dump"`).
    pub fn name(self) -> &'static str {
        match self {
            PaneId::Overview => "overview",
            PaneId::Dump => "dump",
            PaneId::Timeline => "timeline",
            PaneId::Integrity => "integrity",
            PaneId::Drivers => "drivers",
            PaneId::Notes => "notes",
            PaneId::History => "history",
        }
    }

    /// The pane called `name` in `keymap.toml`.
    pub fn from_name(name: &str) -> Option<PaneId> {
        PaneId::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The position in the tab bar (and in `panes::build`'s list).
    pub fn index(self) -> usize {
        PaneId::ALL
            .iter()
            .position(|p| *p == self)
            .unwrap_or_default()
    }

    /// The pane that shows what a parser's hint says to look at.
    pub fn showing(artefact: Artefact) -> PaneId {
        match artefact {
            Artefact::Case => PaneId::Overview,
            Artefact::CrashDump => PaneId::Dump,
            Artefact::BootLog => PaneId::Timeline,
            Artefact::Signatures => PaneId::Integrity,
            Artefact::Services => PaneId::Drivers,
        }
    }

    /// The pane that shows a kind of case file, if one reads it (else the Overview's file list
    /// is where it shows).
    pub fn for_file(kind: Kind) -> Option<PaneId> {
        match kind {
            Kind::CrashDump | Kind::UserDump | Kind::Pdb => Some(PaneId::Dump),
            Kind::ProcmonLog => Some(PaneId::Timeline),
            // Driver packages and certificates are signing evidence.
            Kind::EventLog
            | Kind::Catalog
            | Kind::PeImage
            | Kind::SigcheckCsv
            | Kind::SigverifLog
            | Kind::Inf
            | Kind::Certificate => Some(PaneId::Integrity),
            Kind::RegistryHive => Some(PaneId::Drivers),
            // What was installed, when: the History's change rows.
            Kind::SetupapiLog | Kind::CbsLog | Kind::DismLog | Kind::WerReport => {
                Some(PaneId::History)
            }
            Kind::RegistryLog | Kind::ProcmonCsv | Kind::Ntbtlog | Kind::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pane_has_its_own_index_and_name() {
        for (i, p) in PaneId::ALL.into_iter().enumerate() {
            assert_eq!(p.index(), i);
            assert_eq!(PaneId::from_name(p.name()), Some(p));
        }
        assert_eq!(PaneId::showing(Artefact::Signatures).title(), "Integrity");
        assert_eq!(PaneId::for_file(Kind::ProcmonLog), Some(PaneId::Timeline));
    }
}
