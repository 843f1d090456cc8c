//! Writers for every format we read: fixtures, the demo case and scale benchmarks.
pub mod bcd;
pub mod casefiles;
pub mod catalog;
pub mod demo;
pub mod dump;
pub mod evtx;
pub mod minidump;
pub mod pe;
pub mod pml;
pub mod regf;
pub mod scenarios;
pub mod signer;
pub mod story;
