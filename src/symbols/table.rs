//! An address-sorted symbol table for one module, from a PDB or from an export table, and the
//! nearest-preceding lookup that turns an RVA into `name+offset`.

use crate::pe::{Exports, Pe};
use serde::Serialize;

/// Where a symbol name came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolSource {
    /// Public or procedure symbols of a matching PDB.
    Pdb,
    /// The image's export table (no PDB): names are the nearest preceding export.
    Export,
}

/// One symbol: its RVA, its length when the PDB gives one (procedures), and its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SymbolEntry {
    pub rva: u32,
    pub len: Option<u32>,
    pub name: String,
}

/// A resolved address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Symbol {
    pub name: String,
    /// The distance from the symbol's start (`name+0xoffset`).
    pub offset: u64,
    pub source: SymbolSource,
}

impl Symbol {
    /// `name+0xoffset`, or `name` at offset 0 (WinDbg's call-site form, after `module!`).
    pub fn display(&self) -> String {
        if self.offset == 0 {
            self.name.clone()
        } else {
            format!("{}+0x{:x}", self.name, self.offset)
        }
    }
}

/// Symbols of one module, sorted by RVA, with the section extents used to keep a lookup inside
/// the section of the address.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SymbolTable {
    entries: Vec<SymbolEntry>,
    sections: Vec<(u32, u32)>,
}

impl SymbolTable {
    /// Build from unsorted entries and section extents `(start, end)` (RVAs; may be empty).
    /// At one RVA the entry with a length (a procedure) and then an undecorated name wins.
    pub fn new(mut entries: Vec<SymbolEntry>, sections: Vec<(u32, u32)>) -> SymbolTable {
        entries.sort_by(|a, b| {
            a.rva
                .cmp(&b.rva)
                .then(b.len.is_some().cmp(&a.len.is_some()))
                .then(a.name.starts_with('?').cmp(&b.name.starts_with('?')))
        });
        entries.dedup_by_key(|e| e.rva);
        SymbolTable { entries, sections }
    }

    /// The export table of `pe` as symbols (forwarders have no code here and are left out;
    /// ordinal-only exports are named `Ordinal<n>` as WinDbg does).
    pub fn from_exports(exports: &Exports, pe: &Pe) -> SymbolTable {
        let entries = exports
            .entries
            .iter()
            .filter(|e| e.forwarder.is_none())
            .map(|e| SymbolEntry {
                rva: e.rva,
                len: None,
                name: e
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("Ordinal{}", e.ordinal)),
            })
            .collect();
        SymbolTable::new(entries, section_extents(pe))
    }

    /// The same symbols, kept inside these section extents instead (an image's own sections are
    /// more reliable than a PDB's copy, which predates OMAP reordering in kernel builds).
    pub fn with_sections(mut self, sections: Vec<(u32, u32)>) -> SymbolTable {
        self.sections = sections;
        self
    }

    pub fn entries(&self) -> &[SymbolEntry] {
        &self.entries
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The symbol at or before `rva`, and the offset from it. When the address lies in a known
    /// section, the symbol must start in that section too (a code address is never named after
    /// data that happens to precede it).
    pub fn lookup(&self, rva: u32) -> Option<(&SymbolEntry, u32)> {
        let i = self.entries.partition_point(|e| e.rva <= rva);
        let e = self.entries.get(i.checked_sub(1)?)?;
        if let Some(&(start, _)) = self
            .sections
            .iter()
            .find(|(s, end)| *s <= rva && rva < *end)
            && e.rva < start
        {
            return None;
        }
        Some((e, rva - e.rva))
    }

    /// The entry whose name is `name` (first match).
    pub fn find_by_name(&self, name: &str) -> Option<&SymbolEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// The `(start, end)` RVA extents of an image's sections.
pub fn section_extents(pe: &Pe) -> Vec<(u32, u32)> {
    pe.sections()
        .iter()
        .map(|s| {
            (
                s.virtual_address,
                s.virtual_address.saturating_add(s.mapped_size()),
            )
        })
        .filter(|(a, b)| a < b)
        .collect()
}

/// Undecorate a C name of an x86 PDB public (`_Foo@12` → `Foo`, `@Bar@8` → `Bar`, `_Baz` → `Baz`).
/// C++ names (`?...`) are left as they are.
pub fn undecorate_x86(name: &str) -> &str {
    let Some(first) = name.chars().next() else {
        return name;
    };
    if first != '_' && first != '@' {
        return name;
    }
    let body = &name[1..];
    match body.rsplit_once('@') {
        Some((n, digits))
            if !n.is_empty()
                && !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            n
        }
        _ if first == '_' => body,
        _ => name,
    }
}

/// The qualified name of a simple MSVC-decorated C++ name, the part WinDbg shows before the
/// offset: `?Bar@Foo@ns@@QEAAXH@Z` → `ns::Foo::Bar`, `??0Foo@@...` → `Foo::Foo`, `??1Foo@@...` →
/// `Foo::~Foo`, `??2@...`/`??3@...` → `operator new`/`operator delete`. `None` for what this small
/// reader does not take apart (templates, back-references, special names such as `??_C` strings).
pub fn undecorate_msvc(name: &str) -> Option<String> {
    let rest = name.strip_prefix('?')?;
    let (special, rest) = match rest.strip_prefix('?') {
        Some(r) => {
            let mut chars = r.chars();
            let code = chars.next()?;
            (Some(code), chars.as_str())
        }
        None => (None, rest),
    };
    // Global operator new/delete have an empty scope: `??2@...`, `??3@...`.
    if let Some(code @ ('2' | '3')) = special
        && rest.starts_with('@')
    {
        return Some(
            if code == '2' {
                "operator new"
            } else {
                "operator delete"
            }
            .to_string(),
        );
    }
    let (qualified, _) = rest.split_once("@@")?;
    let parts: Vec<&str> = qualified.split('@').collect();
    let simple = |p: &&str| {
        !p.is_empty()
            && !p.starts_with('?')
            && !p.starts_with('$')
            && !p.bytes().all(|b| b.is_ascii_digit())
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    match special {
        None => {
            if !parts.iter().all(simple) {
                return None;
            }
            Some(parts.iter().rev().copied().collect::<Vec<_>>().join("::"))
        }
        Some(code @ ('0' | '1')) => {
            if !parts.iter().all(simple) {
                return None;
            }
            let class = parts.first()?;
            let scope = parts.iter().rev().copied().collect::<Vec<_>>().join("::");
            let tilde = if code == '1' { "~" } else { "" };
            Some(format!("{scope}::{tilde}{class}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(rva: u32, len: Option<u32>, name: &str) -> SymbolEntry {
        SymbolEntry {
            rva,
            len,
            name: name.into(),
        }
    }

    #[test]
    fn nearest_preceding_in_the_same_section() {
        let t = SymbolTable::new(
            vec![
                e(0x2000, None, "B"),
                e(0x1000, None, "?A@@YAXXZ"),
                e(0x1000, Some(0x20), "A"),
                e(0x5000, None, "Data"),
            ],
            vec![(0x1000, 0x4000), (0x5000, 0x6000), (0x7000, 0x8000)],
        );
        assert_eq!(t.len(), 3);
        assert_eq!(
            t.lookup(0x1000).map(|(e, o)| (e.name.as_str(), o)),
            Some(("A", 0))
        );
        assert_eq!(
            t.lookup(0x1010).map(|(e, o)| (e.name.as_str(), o)),
            Some(("A", 0x10))
        );
        assert_eq!(
            t.lookup(0x3fff).map(|(e, o)| (e.name.as_str(), o)),
            Some(("B", 0x1fff))
        );
        assert_eq!(
            t.lookup(0x5004).map(|(e, o)| (e.name.as_str(), o)),
            Some(("Data", 4))
        );
        assert!(
            t.lookup(0x7004).is_none(),
            "a section with no symbol of its own"
        );
        assert!(t.lookup(0x0fff).is_none());
        // Outside every known section: nearest preceding all the same.
        assert_eq!(t.lookup(0x9000).map(|(e, _)| e.name.as_str()), Some("Data"));
    }

    #[test]
    fn msvc_scopes() {
        assert_eq!(
            undecorate_msvc("?Test82Foo@@YAXXZ").as_deref(),
            Some("Test82Foo")
        );
        assert_eq!(
            undecorate_msvc("?Bar@Foo@ns@@QEAAXH@Z").as_deref(),
            Some("ns::Foo::Bar")
        );
        assert_eq!(
            undecorate_msvc("??0Foo@ns@@QEAA@XZ").as_deref(),
            Some("ns::Foo::Foo")
        );
        assert_eq!(
            undecorate_msvc("??1Foo@@QEAA@XZ").as_deref(),
            Some("Foo::~Foo")
        );
        assert_eq!(
            undecorate_msvc("??3@YAXPEAX_K@Z").as_deref(),
            Some("operator delete")
        );
        assert_eq!(undecorate_msvc("??0?$Destructable@$0FK@@@QEAA@H@Z"), None);
        assert_eq!(undecorate_msvc("??_C@_07GLGIIGGC@failed?6@"), None);
        assert_eq!(undecorate_msvc("KeBugCheckEx"), None);
        assert_eq!(undecorate_msvc("?"), None);
        assert_eq!(undecorate_msvc("??"), None);
    }

    #[test]
    fn x86_undecoration() {
        assert_eq!(undecorate_x86("_KeBugCheckEx@20"), "KeBugCheckEx");
        assert_eq!(undecorate_x86("@KfRaiseIrql@4"), "KfRaiseIrql");
        assert_eq!(undecorate_x86("_memcpy"), "memcpy");
        assert_eq!(undecorate_x86("?f@@YAXXZ"), "?f@@YAXXZ");
        assert_eq!(undecorate_x86("main"), "main");
        assert_eq!(undecorate_x86("_"), "");
    }
}
