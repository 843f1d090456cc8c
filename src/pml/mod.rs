//! Procmon logs: the reader is the workspace crate `procmon-pml` (crates/procmon-pml), re-exported
//! here as `pml`; what only a case needs stays in the application: the per-driver query keyed by
//! the case's [`DriverKey`](crate::driver::DriverKey) ([`driver`]) and the Timeline pane's view
//! ([`view`]). Files are opened through [`crate::mapped`], so a log truncated while it is open
//! reads as zeros with a warning instead of killing the process.

pub use procmon_pml::*;

pub(crate) mod driver;
pub mod preset;
pub mod view;

pub use driver::{DriverEvents, DriverQuery};

/// Opens a log and its rollover siblings (`name-1.pml`, `name-2.pml`, … beside `name.pml`),
/// each mapped read-only with the SIGBUS guard of [`crate::mapped`] (a FIFO or device refused).
pub fn open(path: &std::path::Path) -> Result<PmlLog, PmlError> {
    procmon_pml::open_with(path, crate::mapped::Bytes::open)
}
