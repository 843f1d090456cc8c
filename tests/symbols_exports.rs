//! Export-table symbolization (no PDB): the nearest preceding export and its offset, from an
//! image in memory or an image file found in a store, as the dump's written nt images need
//! (`nt!IopLoadDriver+0x...`).

use bsod_workbench::pe::{ImageKind, Layout, Pe};
use bsod_workbench::symbols::{ModuleRef, SymbolPath, SymbolSource, Symbolizer, module_short_name};

const TS: u32 = 0x5f3e_1a2b;
const SIZE: u32 = 0x8000;

/// A PE32+ image whose file layout equals its memory layout (alignment 0x1000): `.text` at
/// 0x1000..0x4000 with three exports, an `INIT` code section at 0x5000 without exports, and the
/// export directory in `.rdata` at 0x6000.
fn kernel_like_image() -> Vec<u8> {
    let mut img = vec![0u8; SIZE as usize];
    let put16 =
        |img: &mut Vec<u8>, o: usize, v: u16| img[o..o + 2].copy_from_slice(&v.to_le_bytes());
    let put32 =
        |img: &mut Vec<u8>, o: usize, v: u32| img[o..o + 4].copy_from_slice(&v.to_le_bytes());
    img[0..2].copy_from_slice(b"MZ");
    put32(&mut img, 0x3c, 0x80);
    img[0x80..0x84].copy_from_slice(b"PE\0\0");
    let coff = 0x84;
    put16(&mut img, coff, 0x8664);
    put16(&mut img, coff + 2, 3);
    put32(&mut img, coff + 4, TS);
    put16(&mut img, coff + 16, 240);
    put16(&mut img, coff + 18, 0x22);
    let opt = coff + 20;
    put16(&mut img, opt, 0x20b);
    put32(&mut img, opt + 32, 0x1000);
    put32(&mut img, opt + 36, 0x1000);
    put32(&mut img, opt + 56, SIZE);
    put32(&mut img, opt + 60, 0x1000);
    put16(&mut img, opt + 68, 1); // native
    put32(&mut img, opt + 108, 16);
    put32(&mut img, opt + 112, 0x6000); // export directory
    put32(&mut img, opt + 116, 0x200);
    let sec = opt + 240;
    for (i, (name, va, size, ch)) in [
        (&b".text"[..], 0x1000u32, 0x3000u32, 0x6000_0020u32),
        (b"INIT", 0x5000, 0x1000, 0x6000_0020),
        (b".rdata", 0x6000, 0x1000, 0x4000_0040),
    ]
    .iter()
    .enumerate()
    {
        let s = sec + 40 * i;
        img[s..s + name.len()].copy_from_slice(name);
        put32(&mut img, s + 8, *size);
        put32(&mut img, s + 12, *va);
        put32(&mut img, s + 16, *size);
        put32(&mut img, s + 20, *va);
        put32(&mut img, s + 36, *ch);
    }
    let e = 0x6000;
    put32(&mut img, e + 12, 0x6100);
    put32(&mut img, e + 16, 1);
    put32(&mut img, e + 20, 3);
    put32(&mut img, e + 24, 3);
    put32(&mut img, e + 28, 0x6040);
    put32(&mut img, e + 32, 0x6060);
    put32(&mut img, e + 36, 0x6080);
    // Functions in ordinal order; names sorted alphabetically as linkers write them.
    put32(&mut img, 0x6040, 0x1000); // KeBugCheckEx
    put32(&mut img, 0x6044, 0x2000); // IopLoadDriver
    put32(&mut img, 0x6048, 0x3000); // IopInitializeSystemDrivers
    let names = [
        ("IopInitializeSystemDrivers", 2u16),
        ("IopLoadDriver", 1),
        ("KeBugCheckEx", 0),
    ];
    let mut at = 0x6120;
    for (i, (n, idx)) in names.iter().enumerate() {
        put32(&mut img, 0x6060 + 4 * i, at as u32);
        put16(&mut img, 0x6080 + 2 * i, *idx);
        img[at..at + n.len()].copy_from_slice(n.as_bytes());
        at += n.len() + 1;
    }
    img[0x6100..0x610c].copy_from_slice(b"ntoskrnl.exe");
    img
}

#[test]
fn nearest_preceding_export_with_offset_from_memory() {
    let img = kernel_like_image();
    let pe = Pe::parse(&img, Layout::Mapped).expect("parse");
    assert_eq!(
        pe.image_kind(Some("ntoskrnl.exe")),
        ImageKind::NativeExecutable
    );
    assert_eq!(pe.exports().entries.len(), 3);
    let sym = Symbolizer::new(&SymbolPath::default(), &[]);
    let m = ModuleRef::new("\\SystemRoot\\system32\\ntoskrnl.exe", TS, SIZE).with_image(&img);
    let at = |rva: u32| sym.symbolize(&m, rva).map(|s| (s.display(), s.source));
    assert_eq!(
        at(0x1000),
        Some(("KeBugCheckEx".to_string(), SymbolSource::Export))
    );
    assert_eq!(
        at(0x2488),
        Some(("IopLoadDriver+0x488".to_string(), SymbolSource::Export))
    );
    assert_eq!(
        at(0x3137),
        Some((
            "IopInitializeSystemDrivers+0x137".to_string(),
            SymbolSource::Export
        ))
    );
    assert_eq!(at(0x0fff), None, "before the first export");
    assert_eq!(
        at(0x5010),
        None,
        "INIT has no export of its own: no borrowed name from .text"
    );
    assert_eq!(module_short_name(m.file_name()), "nt");
    let ms = sym.module_symbols(&m);
    assert!(ms.pdb_path.is_none() && ms.image_path.is_none());
}

#[test]
fn image_file_from_a_store_gives_exports() {
    let img = kernel_like_image();
    let dir = tempfile::tempdir().expect("tempdir");
    // The store as WinDbg fills it: <name>/<TS:08X><SIZE:x>/<name>.
    let key_dir = dir
        .path()
        .join("ntoskrnl.exe")
        .join(format!("{TS:08X}{SIZE:x}"));
    std::fs::create_dir_all(&key_dir).expect("mkdir");
    std::fs::write(key_dir.join("ntoskrnl.exe"), &img).expect("write");
    let path = SymbolPath::parse(&format!(
        "SRV*{}*https://msdl.microsoft.com/download/symbols",
        dir.path().display()
    ));
    let sym = Symbolizer::new(&path, &[]);
    let m = ModuleRef::new("ntoskrnl.exe", TS, SIZE);
    let s = sym.symbolize(&m, 0x2010).expect("named");
    assert_eq!(
        (s.name.as_str(), s.offset, s.source),
        ("IopLoadDriver", 0x10, SymbolSource::Export)
    );
    let ms = sym.module_symbols(&m);
    assert_eq!(
        ms.image_path.as_deref(),
        Some(key_dir.join("ntoskrnl.exe").as_path())
    );
    assert!(
        ms.notes.is_empty() || ms.codeview.is_none(),
        "{:?}",
        ms.notes
    );
    // A different build of the kernel is not this one.
    assert!(
        sym.symbolize(&ModuleRef::new("ntoskrnl.exe", TS + 1, SIZE), 0x2010)
            .is_none()
    );
}
