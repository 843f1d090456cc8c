//! On the real samples, no finding of severity critical or error that the evidence does not
//! support: each sample folder is analysed as a case, and the serious findings are exactly those
//! a third-party oracle backs (osslsigncode's digest mismatch for the tampered FTDI driver; the
//! bug check the dump's header records, as WinDbg prints it). A new rule that misfires on a real
//! file shows up here.

mod common;

fn serious(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let v = common::analyze_json(dir);
    v["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f["severity"] == "critical" || f["severity"] == "error")
        .map(|f| {
            // A serious finding always proves, and always shows its evidence.
            assert_eq!(f["weight"], "proves", "{f:#}");
            assert!(
                f["evidence"].as_array().is_some_and(|e| !e.is_empty()),
                "{f:#}"
            );
            (
                f["severity"].as_str().unwrap_or("").to_string(),
                f["rule"].as_str().unwrap_or("-").to_string(),
                f["title"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn real_samples_give_only_the_serious_findings_their_oracles_back() {
    let cases: &[(&str, &[&str])] = &[
        // osslsigncode verify: "MISMATCHED" message digest for the byte-patched copy.
        (
            "arduino-drivers",
            &["ftdibus.badhash.sys was changed after it was signed (digest mismatch)"],
        ),
        ("omerbenamram-evtx", &[]),
        ("synthetic-evtx", &[]),
        ("regipy", &[]),
        ("procmon-parser", &[]),
        // The dump header's bug check (WinDbg: "BugCheck 1C8").
        (
            "rizin-testbins",
            &["Bug check 0x1C8 MANUALLY_INITIATED_POWER_BUTTON_HOLD"],
        ),
        ("windows-seh-tests", &[]),
        ("tugix456-randaodcxjj", &[]),
    ];
    for (folder, expected) in cases {
        let Some(dir) = common::sample(folder) else {
            continue;
        };
        let got = serious(&dir);
        let titles: Vec<&str> = got.iter().map(|(_, _, t)| t.as_str()).collect();
        assert_eq!(&titles, expected, "{folder}: {got:#?}");
    }
}
