//! Images from the case: a PE anywhere in the case folder whose TimeDateStamp and SizeOfImage
//! match a loaded module is used (unwinding, export names, IMAGE_VERSION); a file of the same
//! name that does not match is reported with both builds and not used.

use bsod_workbench::dump::{self, analysis};
use bsod_workbench::synth::dump::{DumpSpec, write_module_images, write_triage_dump};

#[test]
fn case_images_are_used_and_mismatches_reported() {
    let case = tempfile::tempdir().unwrap();
    let spec = DumpSpec::demo_0xd1();
    let p = case.path().join("Minidump").join("120426-01.dmp");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    write_triage_dump(&p, &spec).unwrap();
    // The images, as a case copied from the machine holds them.
    let store = tempfile::tempdir().unwrap();
    let files = write_module_images(store.path(), &spec).unwrap();
    let sys32 = case.path().join("Windows").join("System32");
    let drivers = sys32.join("drivers");
    std::fs::create_dir_all(&drivers).unwrap();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        if name == "ntoskrnl.exe" {
            // An older build of the kernel: another TimeDateStamp.
            let mut b = std::fs::read(f).unwrap();
            let pe = u32::from_le_bytes(b[0x3c..0x40].try_into().unwrap()) as usize;
            let ts = u32::from_le_bytes(b[pe + 8..pe + 12].try_into().unwrap());
            b[pe + 8..pe + 12].copy_from_slice(&(ts - 86_400).to_le_bytes());
            std::fs::write(sys32.join("ntoskrnl.exe"), b).unwrap();
        } else {
            std::fs::copy(f, drivers.join(&name)).unwrap();
        }
    }
    let d = dump::open(&p).unwrap();
    let a = analysis::analyze(
        &d,
        &analysis::AnalyzeOptions {
            image_folders: vec![case.path().to_path_buf()],
            ..Default::default()
        },
    );
    // faultydrv.sys came from the case: its frames are unwound and named by its exports.
    assert!(
        a.images
            .iter()
            .any(|(m, from)| m == "faultydrv.sys" && from.contains("drivers")),
        "{:?}",
        a.images
    );
    assert_eq!(a.module_name.as_deref(), Some("faultydrv"));
    assert!(
        a.image_version.is_some(),
        "IMAGE_VERSION from the case's file"
    );
    let culprit = &a.stack[a.faulting_frame.unwrap()];
    assert_eq!(culprit.symbol.as_deref(), Some("ReadRegisterBlock"));
    // The kernel in the case is another build: reported, not used.
    assert_eq!(a.image_mismatches.len(), 1, "{:?}", a.image_mismatches);
    let mm = &a.image_mismatches[0];
    assert_eq!(mm.module, "ntoskrnl.exe");
    assert_eq!(mm.file_timestamp + 86_400, mm.dump_timestamp);
    assert!(mm.file_version.is_some());
    assert!(!a.images.iter().any(|(m, _)| m == "ntoskrnl.exe"));
    let text = dump::report::text_report(&d, &a);
    assert!(text.contains("the case's ntoskrnl.exe is "), "{text}");
    let json = serde_json::to_value(dump::report::json_report(&d, &a)).unwrap();
    assert_eq!(json["image_mismatches"][0]["module"], "ntoskrnl.exe");
}
