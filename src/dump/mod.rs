//! Crash dumps: kernel (full, kernel, bitmap, triage) and user-mode minidumps.
pub mod bugcheck;
