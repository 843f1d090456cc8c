//! Writers for every format we read: fixtures, the demo case and scale benchmarks.
pub mod pml;
