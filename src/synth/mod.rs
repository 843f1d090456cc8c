//! Writers for every format we read: fixtures, the demo case and scale benchmarks.
pub mod story;
pub mod regf;
pub mod catalog;
pub mod pe;
pub mod dump;
