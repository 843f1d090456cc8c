//! The symbolizer as the dump analysis's [`FrameSymbols`]: the analysis (a reader) knows only
//! its trait; the symbols layer, above it, supplies the store and PDB reader.

use super::{ModuleRef, SymbolSource, Symbolizer};
use crate::dump::Module;
use crate::dump::analysis::{FrameSymbols, NameSource};
use std::path::PathBuf;

/// The dump analysis names frames through the symbol store and PDB reader.
impl FrameSymbols for Symbolizer {
    fn symbolize(&self, module: &Module, rva: u32) -> Option<(String, u32)> {
        let m = ModuleRef::new(&module.name, module.timestamp, module.size);
        let s = Symbolizer::symbolize(self, &m, rva)?;
        Some((s.name, u32::try_from(s.offset).ok()?))
    }
    fn symbolize_sourced(&self, module: &Module, rva: u32) -> Option<(String, u32, NameSource)> {
        let m = ModuleRef::new(&module.name, module.timestamp, module.size);
        let s = Symbolizer::symbolize(self, &m, rva)?;
        let source = match s.source {
            SymbolSource::Pdb => NameSource::Pdb,
            _ => NameSource::Exports,
        };
        Some((s.name, u32::try_from(s.offset).ok()?, source))
    }
    fn find_image(&self, module: &Module) -> Option<PathBuf> {
        Symbolizer::find_image(self, &module.name, module.timestamp, module.size)
    }
}
