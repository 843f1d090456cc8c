//! Reading a PDB's identity and its function symbols with the `pdb` crate.
//!
//! Why `pdb` (0.8) and not `ms-pdb` (0.1.22): see `examples/bench_symbols.rs` and the commit that
//! added it. In short: both read the sample PDBs' publics identically; `pdb` also gives the
//! address map (section:offset → RVA, including OMAP for kernel PDBs) and reads from any
//! `Read + Seek` (our memory maps), while ms-pdb's address lookup only finds exact matches, it
//! needs a file handle, and it pulls in a C build of zstd.

use super::table::{SymbolEntry, SymbolTable, undecorate_msvc, undecorate_x86};
use crate::pe::CodeView;
use pdb::FallibleIterator;
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// CodeView record kind of a public symbol (cvinfo.h).
const S_PUB32: u16 = 0x110e;

/// Why a PDB could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PdbError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a readable PDB (MSF 7.0 expected): {source}")]
    Pdb { path: PathBuf, source: pdb::Error },
    #[error("{path}: PDB {found} does not match the image's CodeView record {expected}")]
    Mismatch {
        path: PathBuf,
        found: String,
        expected: String,
    },
}

/// A PDB's identity: its GUID (registry spelling, lower case) and its ages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdbIdentity {
    pub guid: String,
    /// Age in the PDB information stream.
    pub age: u32,
    /// Age in the DBI stream (what the linker copies into the image's RSDS record).
    pub dbi_age: Option<u32>,
}

impl PdbIdentity {
    /// Whether this PDB is the one the CodeView record names: same GUID, and the record's age
    /// equals either age (the information stream's age moves on when a PDB is re-written).
    pub fn matches(&self, cv: &CodeView) -> bool {
        self.guid == cv.guid_string() && (self.age == cv.age || self.dbi_age == Some(cv.age))
    }
}

fn open_pdb<'s>(path: &Path, bytes: &'s [u8]) -> Result<pdb::PDB<'s, Cursor<&'s [u8]>>, PdbError> {
    pdb::PDB::open(Cursor::new(bytes)).map_err(|source| PdbError::Pdb {
        path: path.to_path_buf(),
        source,
    })
}

/// Read the identity of the PDB at `path`.
pub fn identity(path: &Path) -> Result<PdbIdentity, PdbError> {
    let bytes = crate::mapped::Bytes::open(path).map_err(|source| PdbError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut pdb = open_pdb(path, &bytes)?;
    let err = |source| PdbError::Pdb {
        path: path.to_path_buf(),
        source,
    };
    let info = pdb.pdb_information().map_err(err)?;
    let dbi_age = pdb.debug_information().ok().and_then(|d| d.age());
    Ok(PdbIdentity {
        guid: info.guid.hyphenated().to_string().to_ascii_lowercase(),
        age: info.age,
        dbi_age,
    })
}

/// What was read from a PDB.
#[derive(Clone, Debug)]
pub struct PdbSymbols {
    pub identity: PdbIdentity,
    pub table: SymbolTable,
    pub publics: usize,
    pub procedures: usize,
    /// Public or procedure records that could not be parsed or placed at an RVA (absolute
    /// symbols, damaged records); reading went on without them.
    pub skipped: usize,
}

/// Read the public (S_PUB32) and procedure (S_GPROC32/S_LPROC32) symbols of the PDB at `path`,
/// with RVAs through the PDB's address map. When `expect` is given the PDB must match it.
pub fn load(path: &Path, expect: Option<&CodeView>) -> Result<PdbSymbols, PdbError> {
    let bytes = crate::mapped::Bytes::open(path).map_err(|source| PdbError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_bytes(path, &bytes, expect)
}

/// [`load`] over bytes already in memory (`path` names them in errors).
pub fn load_bytes(
    path: &Path,
    bytes: &[u8],
    expect: Option<&CodeView>,
) -> Result<PdbSymbols, PdbError> {
    let err = |source| PdbError::Pdb {
        path: path.to_path_buf(),
        source,
    };
    let mut pdb = open_pdb(path, bytes)?;
    let info = pdb.pdb_information().map_err(err)?;
    let dbi = pdb.debug_information().map_err(err)?;
    let identity = PdbIdentity {
        guid: info.guid.hyphenated().to_string().to_ascii_lowercase(),
        age: info.age,
        dbi_age: dbi.age(),
    };
    if let Some(cv) = expect
        && !identity.matches(cv)
    {
        return Err(PdbError::Mismatch {
            path: path.to_path_buf(),
            found: format!("{} age {}", identity.guid, identity.age),
            expected: format!("{} age {}", cv.guid_string(), cv.age),
        });
    }
    let x86 = matches!(dbi.machine_type(), Ok(pdb::MachineType::X86));
    let address_map = pdb.address_map().map_err(err)?;
    let mut entries = Vec::new();
    let (mut publics, mut procedures, mut skipped) = (0usize, 0usize, 0usize);

    let globals = pdb.global_symbols().map_err(err)?;
    let mut it = globals.iter();
    loop {
        let sym = match it.next() {
            Ok(Some(s)) => s,
            Ok(None) => break,
            Err(_) => {
                skipped += 1;
                break; // the record stream is damaged past this point
            }
        };
        match sym.parse() {
            Ok(pdb::SymbolData::Public(p)) => match p.offset.to_rva(&address_map) {
                Some(rva) => {
                    let raw = p.name.to_string();
                    let name = match undecorate_msvc(&raw) {
                        Some(n) => n,
                        None if x86 => undecorate_x86(&raw).to_string(),
                        None => raw.into_owned(),
                    };
                    entries.push(SymbolEntry {
                        rva: rva.0,
                        len: None,
                        name,
                    });
                    publics += 1;
                }
                None => skipped += 1,
            },
            Ok(_) => {}
            // Kinds the crate does not decode are not ours to count; a bad S_PUB32 is.
            Err(_) if sym.raw_kind() == S_PUB32 => skipped += 1,
            Err(_) => {}
        }
    }

    // Procedures live in the module streams; they carry lengths and undecorated names.
    if let Ok(mut modules) = dbi.modules() {
        while let Ok(Some(module)) = modules.next() {
            let Ok(Some(mi)) = pdb.module_info(&module) else {
                continue;
            };
            let Ok(mut syms) = mi.symbols() else { continue };
            loop {
                let sym = match syms.next() {
                    Ok(Some(s)) => s,
                    Ok(None) => break,
                    Err(_) => {
                        skipped += 1;
                        break;
                    }
                };
                if let Ok(pdb::SymbolData::Procedure(p)) = sym.parse() {
                    match p.offset.to_rva(&address_map) {
                        Some(rva) => {
                            entries.push(SymbolEntry {
                                rva: rva.0,
                                len: Some(p.len),
                                name: p.name.to_string().into_owned(),
                            });
                            procedures += 1;
                        }
                        None => skipped += 1,
                    }
                }
            }
        }
    }

    let sections = pdb
        .sections()
        .ok()
        .flatten()
        .map(|v| {
            v.iter()
                .map(|s| {
                    (
                        s.virtual_address,
                        s.virtual_address
                            .saturating_add(s.virtual_size.max(s.size_of_raw_data)),
                    )
                })
                .filter(|(a, b)| a < b)
                .collect()
        })
        .unwrap_or_default();
    Ok(PdbSymbols {
        identity,
        table: SymbolTable::new(entries, sections),
        publics,
        procedures,
        skipped,
    })
}
