//! bsod-workbench: the knowledge behind `bsodwb`.
//!
//! Module map, by role (docs/ARCHITECTURE.md has the data flow, the import rules and the
//! threads):
//!
//! * **Primitives**, below every format:
//!   * [`input`]: opens case and argument files safely (regular files only, bounded reads).
//!   * [`mapped`]: read-only memory maps with the SIGBUS guard; the one `unsafe` module.
//!   * [`escape`]: case text never reaches a terminal as a control sequence.
//!   * [`text`]: UTF-16LE strings and base64, shared by parsers and writers.
//!   * [`filetime`]: FILETIMEs and civil dates, one conversion for every format.
//!   * `le`: bounds-checked little-endian integer reads (crate-internal).
//!   * [`driver`]: `DriverKey`, one identity for every spelling of a driver.
//!   * [`bugcheck`]: bug-check codes, parameter meanings, values, summaries and the one
//!     NTSTATUS table, shared by the dump and event-log readers.
//! * **Artefact readers** (parsers: plain data types, never draw):
//!   * [`dump`]: crash dumps (kernel and minidumps), unwinding and the `!analyze`-like summary.
//!   * [`pe`]: PE32/PE32+ images, on disk or mapped in a dump.
//!   * [`symbols`]: symbol paths, stores, PDBs, symbol servers and the download worker.
//!   * [`pml`]: Procmon logs (the workspace crate `procmon-pml`, re-exported) plus the
//!     per-driver query and the Timeline's view.
//!   * [`eventlog`]: EVTX CodeIntegrity and System events, typed.
//!   * [`registry`]: the SYSTEM hive, dirty hives with their transaction logs.
//!   * [`signing`]: Authenticode, embedded signatures, catalogs, chains and verdicts.
//!   * [`inf`]: driver INF files and the packages they describe.
//!   * [`notes`]: the engineer's notes file, read safely and saved atomically.
//! * **Case discovery and loading**:
//!   * [`case`]: discover, sniff, inflate into a private temp folder, load every artefact.
//! * **Correlation**:
//!   * [`analysis`]: `CaseAnalysis`, every join across a case's artefacts, built once.
//!   * [`links`]: `DriverIndex`, every reference to each driver across the artefacts.
//!   * [`history`]: every crash and every change of the case, on one timeline.
//!   * [`findings`]: the rules that state what went wrong, with evidence and what to do.
//!   * [`report`]: the ticket-ready Markdown report of a case.
//!   * [`warning`]: the one `Warning { file, offset, message }` every reader gives.
//! * **Writers**:
//!   * [`synth`]: a writer for every format read, for fixtures, the demo case and benchmarks.
//! * **Presentation**:
//!   * [`ui`]: the terminal workbench (ratatui); reads a loaded case, never parses bytes.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod analysis;
pub mod bugcheck;
pub mod case;
pub mod driver;
pub mod dump;
pub mod escape;
pub mod eventlog;
pub mod filetime;
pub mod findings;
pub mod history;
pub mod inf;
pub mod input;
pub(crate) mod le;
pub mod links;
pub mod mapped;
pub mod notes;
pub mod ntbtlog;
pub mod pe;
pub mod pml;
pub mod registry;
pub mod report;
pub mod signing;
pub mod symbols;
pub mod synth;
pub mod text;
pub mod ui;
pub mod warning;
