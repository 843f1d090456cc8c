//! The Dump pane's disassembly names call and jump targets (issue 12): direct calls by the
//! target's name, calls through an import pointer by the pointer's target.

use bsod_workbench::dump::analysis::disassemble_named;

#[test]
fn call_targets_are_named_direct_and_through_pointers() {
    let ip = 0xffff_f803_1200_1350u64;
    // call rel32 -> ip+5+0x100; call qword ptr [rip+0x20]; jmp short +2; int3
    let mut code = vec![0xe8, 0x00, 0x01, 0x00, 0x00];
    code.extend_from_slice(&[0xff, 0x15, 0x20, 0x00, 0x00, 0x00]);
    code.extend_from_slice(&[0xeb, 0x02, 0xcc]);
    let direct = ip + 5 + 0x100;
    let slot = ip + 11 + 0x20;
    let import = 0xffff_f803_1300_0000u64;
    let name = |va: u64| match va {
        v if v == direct => Some("nt!KeBugCheckEx".to_string()),
        v if v == import => Some("nt!ExAllocatePool2".to_string()),
        _ => None,
    };
    let ptr = |va: u64| (va == slot).then_some(import);
    let out = disassemble_named(0x8664, ip, &code, 4, &name, &ptr);
    assert_eq!(out.len(), 4, "{out:?}");
    assert!(out[0].1.ends_with("call nt!KeBugCheckEx"), "{}", out[0].1);
    assert!(out[1].1.ends_with("; nt!ExAllocatePool2"), "{}", out[1].1);
    assert!(out[1].1.contains("call qword ptr"), "{}", out[1].1);
    // An unnamed target stays an address.
    assert!(
        out[2].1.contains("jmp short 0FFFFF8031200135Fh"),
        "{}",
        out[2].1
    );
    // Nothing for machines we do not decode.
    assert!(disassemble_named(0xaa64, ip, &code, 4, &name, &ptr).is_empty());
}
