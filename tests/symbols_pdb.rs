//! Symbol stores and PDB symbolization on the real windows-seh-tests programs and their PDBs,
//! checked against llvm-symbolizer (LLVM's own PDB reader) and the images' `.pdata`.

mod common;

use bsod_workbench::pe::{Layout, Pe};
use bsod_workbench::symbols::{ModuleRef, SymbolPath, SymbolSource, Symbolizer, pdbfile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether llvm-symbolizer runs; prints one skip line (or fails under BSODWB_REQUIRE_ORACLES=1).
fn llvm_symbolizer() -> bool {
    let ok = Command::new("llvm-symbolizer")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("BSODWB_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!("llvm-symbolizer (Debian package llvm) is required (BSODWB_REQUIRE_ORACLES=1)");
        }
        eprintln!("SKIP: llvm-symbolizer not installed");
    }
    ok
}

/// Function names llvm-symbolizer gives for `rvas` of `exe` (with its PDB beside it).
fn oracle_names(exe: &Path, image_base: u64, rvas: &[u32]) -> Vec<String> {
    let input: String = rvas
        .iter()
        .map(|r| format!("0x{:x}\n", image_base + u64::from(*r)))
        .collect();
    let mut child = Command::new("llvm-symbolizer")
        .args(["--functions=linkage", "--no-inlines", "--output-style=LLVM"])
        .arg(format!("--obj={}", exe.display()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn llvm-symbolizer");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("llvm-symbolizer output");
    let text = String::from_utf8_lossy(&out.stdout);
    // Records are blank-line separated: function name, then file:line.
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| b.lines().next().unwrap_or("").to_string())
        .collect()
}

/// The demangler's spelling reduced to the PDB procedure name: no parameter list, and
/// LLVM's short "dtor" for MSVC's "destructor".
fn normalise(oracle: &str) -> String {
    let mut s = oracle.replace("dtor'", "destructor'");
    if s.ends_with(')')
        && let Some(i) = s.rfind('(')
    {
        s.truncate(i);
    }
    s
}

/// A temporary symbol store holding links to the sample PDBs (`name.pdb/GUIDAGE/name.pdb`) and a
/// flat folder with the exe beside its PDB (llvm-symbolizer finds PDBs there).
struct Fixture {
    _dir: tempfile::TempDir,
    store: PathBuf,
    flat: PathBuf,
}

fn link(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(src, dst).expect("symlink");
}

fn fixture(samples: &Path, names: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let flat = dir.path().join("flat");
    for n in names {
        let exe = samples.join(format!("{n}.exe"));
        let pdb = samples.join(format!("{n}.pdb"));
        let bytes = std::fs::read(&exe).expect("read exe");
        let pe = Pe::parse(&bytes, Layout::File).expect("parse exe");
        let cv = pe.codeview().expect("codeview");
        // Upper-case PDB folder, as a Windows store may spell it: lookups ignore case.
        link(
            &pdb,
            &store
                .join(cv.pdb_name().to_uppercase())
                .join(cv.store_key())
                .join(cv.pdb_name()),
        );
        link(&exe, &flat.join(format!("{n}.exe")));
        link(&pdb, &flat.join(format!("{n}.pdb")));
    }
    Fixture {
        _dir: dir,
        store,
        flat,
    }
}

#[test]
fn store_lookup_and_pdb_symbols_match_llvm_symbolizer() {
    let xcpt4 = sample_or_skip!("windows-seh-tests/xcpt4.exe");
    let samples = xcpt4.parent().expect("dir").to_path_buf();
    let fx = fixture(&samples, &["xcpt4", "nested_collided"]);
    let path = SymbolPath::parse(&format!(
        "srv*{}*https://msdl.microsoft.com/download/symbols",
        fx.store.display()
    ));
    let sym = Symbolizer::new(&path, &[]);
    assert_eq!(sym.urls(), ["https://msdl.microsoft.com/download/symbols"]);
    let have_oracle = llvm_symbolizer();

    for name in ["xcpt4", "nested_collided"] {
        let exe = samples.join(format!("{name}.exe"));
        let bytes = std::fs::read(&exe).expect("read");
        let pe = Pe::parse(&bytes, Layout::File).expect("parse");
        let cv = pe.codeview().expect("codeview");
        let found = sym.find_pdb(&cv).expect("PDB found in the store");
        assert!(
            found.ends_with(format!("{name}.pdb")),
            "{}",
            found.display()
        );
        assert!(pdbfile::identity(&found).expect("identity").matches(&cv));

        // Every function start in .pdata, and a point inside each, resolves through the PDB.
        let file_name = format!("{name}.exe");
        let m = ModuleRef::new(&file_name, pe.timestamp(), pe.size_of_image());
        // The image is not in the store: give it through an extra folder.
        let sym2 = Symbolizer::new(&path, std::slice::from_ref(&fx.flat));
        let ms = sym2.module_symbols(&m);
        assert_eq!(ms.source, Some(SymbolSource::Pdb), "{:?}", ms.notes);
        assert!(ms.image_path.is_some());
        let rfs = pe.runtime_functions();
        let mut rvas = Vec::new();
        for rf in &rfs {
            rvas.push(rf.begin);
            rvas.push(rf.begin + (rf.end - rf.begin) / 2);
        }
        let ours: Vec<_> = rvas.iter().map(|&r| sym2.symbolize(&m, r)).collect();
        let named = ours.iter().filter(|s| s.is_some()).count();
        assert_eq!(named, rvas.len(), "every .pdata address is named");
        // Function starts are symbols at offset 0 (each RUNTIME_FUNCTION begins a function or
        // a separated funclet/chained fragment, which the PDB names too).
        let at_zero = ours
            .iter()
            .step_by(2)
            .filter(|s| s.as_ref().is_some_and(|s| s.offset == 0))
            .count();
        assert!(
            at_zero * 10 >= rfs.len() * 9,
            "{at_zero} of {} function starts at offset 0",
            rfs.len()
        );
        // The entry point is the CRT's mainCRTStartup.
        let entry = sym2
            .symbolize(&m, pe.headers().entry_point)
            .expect("entry point named");
        assert_eq!((entry.name.as_str(), entry.offset), ("mainCRTStartup", 0));

        if have_oracle {
            let theirs = oracle_names(&fx.flat.join(&file_name), pe.headers().image_base, &rvas);
            assert_eq!(
                theirs.len(),
                rvas.len(),
                "llvm-symbolizer answered every address"
            );
            let mut disagree = BTreeMap::new();
            for ((rva, o), t) in rvas.iter().zip(&ours).zip(&theirs) {
                let o = o.as_ref().map(|s| s.name.as_str()).unwrap_or("??");
                if o != normalise(t) {
                    disagree.insert(*rva, (o.to_string(), t.clone()));
                }
            }
            // Both read the same PDB; names may differ only where llvm-symbolizer has no symbol.
            let real: Vec<_> = disagree.iter().filter(|(_, (_, t))| t != "??").collect();
            assert!(
                real.is_empty(),
                "{name}: names differ from llvm-symbolizer: {real:?}"
            );
            assert!(
                disagree.len() * 20 <= rvas.len(),
                "{name}: llvm-symbolizer names {} fewer",
                disagree.len()
            );
        }
    }
}

#[test]
fn a_codeview_record_alone_is_enough() {
    let xcpt4 = sample_or_skip!("windows-seh-tests/xcpt4.exe");
    let samples = xcpt4.parent().expect("dir").to_path_buf();
    let fx = fixture(&samples, &["xcpt4"]);
    let bytes = std::fs::read(&xcpt4).expect("read");
    let pe = Pe::parse(&bytes, Layout::File).expect("parse");
    let cv = pe.codeview().expect("cv");
    // No image anywhere: the store holds only the PDB.
    let sym = Symbolizer::new(&SymbolPath::parse(&fx.store.to_string_lossy()), &[]);
    let m = ModuleRef::new("xcpt4.exe", pe.timestamp(), pe.size_of_image()).with_codeview(&cv);
    let entry = sym.symbolize(&m, pe.headers().entry_point).expect("named");
    assert_eq!(
        (entry.name.as_str(), entry.offset, entry.source),
        ("mainCRTStartup", 0, SymbolSource::Pdb)
    );
    let ms = sym.module_symbols(&m);
    assert!(ms.image_path.is_none() && ms.pdb_path.is_some());
    // Without the record nothing can be found, and the notes say why.
    let bare = sym.module_symbols(&ModuleRef::new("other.exe", 1, 0x1000));
    assert!(bare.source.is_none());
    assert!(
        bare.notes.iter().any(|n| n.contains("other.exe/00000001")),
        "{:?}",
        bare.notes
    );
}

#[test]
fn flat_folder_pdb_must_match_the_codeview_record() {
    let xcpt4 = sample_or_skip!("windows-seh-tests/xcpt4.exe");
    let samples = xcpt4.parent().expect("dir").to_path_buf();
    let dir = tempfile::tempdir().expect("tempdir");
    // A flat folder where "xcpt4.pdb" is really nested_collided's PDB: found, rejected.
    link(
        &samples.join("nested_collided.pdb"),
        &dir.path().join("wrong/xcpt4.pdb"),
    );
    link(
        &samples.join("xcpt4.pdb"),
        &dir.path().join("right/xcpt4.pdb"),
    );
    let bytes = std::fs::read(&xcpt4).expect("read");
    let cv = Pe::parse(&bytes, Layout::File)
        .expect("parse")
        .codeview()
        .expect("cv");
    let wrong = Symbolizer::new(
        &SymbolPath::parse(&dir.path().join("wrong").to_string_lossy()),
        &[],
    );
    assert_eq!(wrong.find_pdb(&cv), None);
    let right = Symbolizer::new(
        &SymbolPath::parse(&dir.path().join("wrong").to_string_lossy()),
        &[dir.path().join("right")],
    );
    assert_eq!(
        right.find_pdb(&cv),
        Some(dir.path().join("right/xcpt4.pdb"))
    );
}

#[test]
fn image_lookup_by_timestamp_and_size() {
    let xcpt4 = sample_or_skip!("windows-seh-tests/xcpt4.exe");
    let bytes = std::fs::read(&xcpt4).expect("read");
    let pe = Pe::parse(&bytes, Layout::File).expect("parse");
    let dir = tempfile::tempdir().expect("tempdir");
    let key = format!("{:08X}{:x}", pe.timestamp(), pe.size_of_image());
    assert_eq!(key, "62524D63e000");
    link(
        &xcpt4,
        &dir.path()
            .join("store/xcpt4.exe")
            .join(&key)
            .join("xcpt4.exe"),
    );
    let sym = Symbolizer::new(
        &SymbolPath::parse(&format!("cache*{}", dir.path().join("store").display())),
        &[],
    );
    let found = sym.find_image(
        "\\Device\\HarddiskVolume3\\tests\\XCPT4.EXE",
        pe.timestamp(),
        pe.size_of_image(),
    );
    assert_eq!(
        found,
        Some(
            dir.path()
                .join("store/xcpt4.exe")
                .join(&key)
                .join("xcpt4.exe")
        )
    );
    assert_eq!(
        sym.find_image("xcpt4.exe", pe.timestamp() + 1, pe.size_of_image()),
        None,
        "wrong timestamp"
    );
    // In a case folder, found by name and checked by timestamp and size.
    let case = Symbolizer::new(
        &SymbolPath::default(),
        &[xcpt4.parent().expect("dir").to_path_buf()],
    );
    assert_eq!(
        case.find_image("xcpt4.exe", pe.timestamp(), pe.size_of_image()),
        Some(xcpt4.clone())
    );
    assert_eq!(
        case.find_image("xcpt4.exe", pe.timestamp(), 0x1000),
        None,
        "wrong size"
    );
}

/// The scope names read from MSVC-decorated publics agree with llvm-undname on every decorated
/// public of the sample PDBs (listed by llvm-pdbutil) that the small reader takes apart.
#[test]
fn msvc_undecoration_agrees_with_llvm_undname() {
    let xcpt4 = sample_or_skip!("windows-seh-tests/xcpt4.pdb");
    if !llvm_symbolizer() {
        return; // llvm-pdbutil and llvm-undname come in the same package
    }
    let mut checked = 0;
    for pdb in [xcpt4.clone(), xcpt4.with_file_name("nested_collided.pdb")] {
        let out = Command::new("llvm-pdbutil")
            .args(["dump", "-publics"])
            .arg(&pdb)
            .output()
            .expect("llvm-pdbutil");
        let text = String::from_utf8_lossy(&out.stdout);
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once("S_PUB32"))
            .filter_map(|(_, r)| r.split('`').nth(1))
            .collect();
        assert!(
            names.len() > 100,
            "llvm-pdbutil listed {} publics",
            names.len()
        );
        for n in names.iter().filter(|n| n.starts_with('?')) {
            let Some(ours) = bsod_workbench::symbols::table::undecorate_msvc(n) else {
                continue;
            };
            let und = Command::new("llvm-undname")
                .arg(n)
                .output()
                .expect("llvm-undname");
            let theirs = String::from_utf8_lossy(&und.stdout);
            let theirs = theirs.lines().nth(1).unwrap_or("").to_string();
            assert!(
                theirs.contains(&format!("{ours}(")) || theirs.ends_with(&ours),
                "{n}: ours {ours}, llvm-undname {theirs}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} decorated names checked");
}
