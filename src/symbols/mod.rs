//! Symbols: symbol paths, symbol-store layout, PDB lookup, export-table fallback.
