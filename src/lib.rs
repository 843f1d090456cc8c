//! bsod-workbench: the knowledge behind `bsodwb`.
//!
//! Module map, by role:
//!
//! * **Artefacts** (parsers; each exposes `open(path)` and plain data types, never draws):
//!   [`case`] finds and sniffs the files of a case folder, [`dump`] reads crash dumps,
//!   [`symbols`] finds PDBs in symbol stores, [`pml`] reads Procmon logs (the workspace crate
//!   `procmon-pml`, re-exported; the per-driver query and the Timeline view stay here),
//!   [`eventlog`] reads EVTX, [`signing`] checks Authenticode and catalogs, [`registry`] reads
//!   the SYSTEM hive.
//! * **Correlation**: [`driver`] gives one identity to every spelling of a driver.
//! * **Writers**: [`synth`] writes every format for fixtures, the demo case and benchmarks.
//! * **Presentation**: [`ui`] is the terminal workbench (ratatui); it reads a loaded case and
//!   never parses bytes.
//! * **Shared primitives** (one copy each): [`filetime`] converts FILETIMEs and civil dates,
//!   `le` reads little-endian integers bounds-checked, [`text`] decodes UTF-16LE and base64.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod case;
pub mod driver;
pub mod dump;
pub mod escape;
pub mod eventlog;
pub mod filetime;
pub mod findings;
pub mod inf;
pub mod input;
pub(crate) mod le;
pub mod links;
pub mod mapped;
pub mod notes;
pub mod pe;
pub mod pml;
pub mod registry;
pub mod signing;
pub mod symbols;
pub mod synth;
pub mod text;
pub mod ui;
