//! `bsodwb bugcheck`: the table covers the reference's codes with a source per row, enumerated
//! parameters decode, and the must-show commands print what WinDbg's `!analyze -show` says.

use std::process::Command;

fn bsodwb(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(args)
        .output()
        .expect("run bsodwb");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn data_rows(tsv: &str) -> Vec<Vec<&str>> {
    tsv.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect()
}

const URL: &str = "https://learn.microsoft.com/windows-hardware/drivers/debugger/bug-check-0x";

#[test]
fn every_row_has_a_source_and_codes_are_known() {
    let codes: std::collections::HashSet<u32> =
        data_rows(include_str!("../assets/bugcheck_codes.tsv"))
            .iter()
            .map(|r| u32::from_str_radix(r[0].trim_start_matches("0x"), 16).unwrap())
            .collect();
    for (file, tsv, col) in [
        ("params", include_str!("../assets/bugcheck_params.tsv"), 5),
        ("values", include_str!("../assets/bugcheck_values.tsv"), 4),
        (
            "summaries",
            include_str!("../assets/bugcheck_summaries.tsv"),
            4,
        ),
    ] {
        for r in data_rows(tsv) {
            let code = u32::from_str_radix(r[0].trim_start_matches("0x"), 16).unwrap();
            assert!(
                codes.contains(&code),
                "{file}: 0x{code:x} not in bugcheck_codes.tsv"
            );
            let src = r.get(col).copied().unwrap_or("");
            assert!(src.starts_with(URL), "{file}: row {r:?} has no source page");
        }
    }
    let documented: std::collections::HashSet<&str> =
        data_rows(include_str!("../assets/bugcheck_params.tsv"))
            .iter()
            .map(|r| r[0])
            .collect();
    assert!(
        documented.len() >= 300,
        "{} codes with meanings",
        documented.len()
    );
    let list: serde_json::Value =
        serde_json::from_str(&bsodwb(&["bugcheck", "--list", "--format", "json"])).unwrap();
    let with = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["parameter_meanings"] == true)
        .count();
    assert!(with >= 300, "--list: {with} codes with parameter meanings");
}

#[test]
fn must_show_0x4a_and_0x133() {
    let t = bsodwb(&[
        "bugcheck",
        "0x4A",
        "7ffe7350d0c4",
        "2",
        "0",
        "ffffa704eeb6bec0",
    ]);
    assert!(t.starts_with("IRQL_GT_ZERO_AT_SYSTEM_SERVICE (4a)"), "{t}");
    assert!(
        t.contains("Arg1: 00007ffe7350d0c4, Address of the system function"),
        "{t}"
    );
    assert!(
        t.contains("Arg2: 0000000000000002, Current IRQL => DISPATCH_LEVEL"),
        "{t}"
    );
    let t = bsodwb(&["bugcheck", "0x133", "1", "1e00", "fffff80304cfb320", "0"]);
    assert!(t.contains("Arg1: 0000000000000001, Which DPC watchdog fired => too much time in total at DISPATCH_LEVEL or above"), "{t}");
    assert!(t.contains("Arg2: 0000000000001e00, Watchdog period"), "{t}");
}

fn decoded(args: &[&str], p: usize) -> String {
    let mut a = vec!["bugcheck"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--format", "json"]);
    let j: serde_json::Value = serde_json::from_str(&bsodwb(&a)).unwrap();
    j["params"][p - 1]["decoded"]
        .as_str()
        .unwrap_or("")
        .to_lowercase()
}

#[test]
fn enumerated_parameters_decode() {
    assert!(decoded(&["0x1a", "41790"], 1).contains("page-table page"));
    assert!(decoded(&["0x133", "0"], 1).contains("single dpc"));
    assert!(decoded(&["0x139", "3"], 1).contains("list_entry"));
    assert!(decoded(&["0x9f", "3"], 1).contains("irp"));
    assert!(!decoded(&["0xc4", "0"], 1).is_empty());
    assert!(decoded(&["0x7f", "8"], 1).contains("double fault"));
    assert!(!decoded(&["0x19", "20"], 1).is_empty());
    assert_eq!(decoded(&["0xd1", "0", "2", "1"], 3), "write");
    assert!(
        !decoded(&["0x50", "0", "0"], 3).is_empty() || !decoded(&["0x50", "0", "2"], 2).is_empty()
    );
    // Names, decimal and bare hex reach the same code; _M folds to its base's rows.
    let n = |c: &str| {
        bsodwb(&["bugcheck", c])
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(n("0xD1"), n("d1"));
    assert_eq!(n("209"), n("DRIVER_IRQL_NOT_LESS_OR_EQUAL"));
    assert!(bsodwb(&["bugcheck", "0x1000007E", "c0000005"]).contains("STATUS_ACCESS_VIOLATION"));
}
