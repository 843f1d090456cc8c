//! `ntbtlog.txt`: the boot log Windows appends to at each boot when boot logging is on (BCD
//! `bootlog yes`, or F8 "Enable Boot Logging"). UTF-16LE with a BOM. Each boot opens with a
//! version line and a date line, then one line per driver:
//!
//! ```text
//! Microsoft (R) Windows (R) Version 10.0 (Build 19041)
//!  4 21 2021 10:15:06.500
//! Loaded driver \SystemRoot\system32\ntoskrnl.exe
//! Did not load driver \SystemRoot\System32\drivers\sbp2port.sys
//! ```
//!
//! Some builds write the message IDs instead of the English text (`BOOTLOG_LOADED`,
//! `BOOTLOG_NOT_LOADED`). Localised lines we cannot classify are counted, not guessed. "Did not
//! load" is routine for drivers of absent hardware: the log is evidence beside other clues,
//! never a finding on its own.

/// One boot of the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Boot {
    /// The version line (`Microsoft (R) Windows (R) Version 10.0 (Build 19041)`).
    pub header: String,
    /// The date line as written (the machine's local time, `M D YYYY HH:MM:SS.mmm`).
    pub when: Option<String>,
    /// Image paths loaded, in order.
    pub loaded: Vec<String>,
    /// Image paths not loaded, in order.
    pub not_loaded: Vec<String>,
    /// The 1-based line of the boot's header.
    pub line: usize,
    /// Lines that name an image but whose words we do not know (another language).
    pub unclassified: usize,
    /// The last driver line of the boot (loaded or not): where a boot that hung stopped.
    pub last: Option<(bool, String)>,
}

/// A parsed `ntbtlog.txt`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ntbtlog {
    /// The file's case path.
    pub file: String,
    pub boots: Vec<Boot>,
}

/// The most this reader takes of a file (a boot log grows by ~20 KB a boot).
pub const MAX_BYTES: u64 = 16 << 20;

impl Ntbtlog {
    /// The last boot of the log.
    pub fn last_boot(&self) -> Option<&Boot> {
        self.boots.last()
    }

    /// Whether the last boot did not load `image` (a file name, any case), and the line.
    pub fn not_loaded_in_last_boot(&self, image: &str) -> Option<&str> {
        self.last_boot()?
            .not_loaded
            .iter()
            .find(|p| file_name(p).eq_ignore_ascii_case(image))
            .map(String::as_str)
    }
}

fn file_name(p: &str) -> &str {
    p.rsplit(['\\', '/']).next().unwrap_or(p)
}

/// Parse the text of an `ntbtlog.txt` (already decoded, see [`crate::text::decode_text`]).
pub fn parse(file: &str, text: &str) -> Ntbtlog {
    let mut boots: Vec<Boot> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if line.is_empty() {
            continue;
        }
        if line.starts_with("Microsoft (R) Windows") {
            boots.push(Boot {
                header: line.to_string(),
                line: n + 1,
                ..Boot::default()
            });
            continue;
        }
        // A log whose first header was cut off: its lines still belong to a boot.
        if boots.is_empty() {
            boots.push(Boot {
                line: n + 1,
                ..Boot::default()
            });
        }
        let Some(boot) = boots.last_mut() else {
            continue;
        };
        let loaded = ["Loaded driver ", "BOOTLOG_LOADED "]
            .iter()
            .find_map(|p| line.strip_prefix(p));
        let not_loaded = ["Did not load driver ", "BOOTLOG_NOT_LOADED "]
            .iter()
            .find_map(|p| line.strip_prefix(p));
        match (loaded, not_loaded) {
            (Some(path), _) => {
                boot.loaded.push(path.trim().to_string());
                boot.last = Some((true, path.trim().to_string()));
            }
            (None, Some(path)) => {
                boot.not_loaded.push(path.trim().to_string());
                boot.last = Some((false, path.trim().to_string()));
            }
            (None, None)
                if boot.when.is_none()
                    && boot.loaded.is_empty()
                    && line.as_bytes()[0].is_ascii_digit() =>
            {
                boot.when = Some(line.to_string());
            }
            (None, None) if line.contains('\\') => boot.unclassified += 1,
            (None, None) => {}
        }
    }
    Ntbtlog {
        file: file.to_string(),
        boots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boots_loaded_and_not_loaded_in_both_spellings() {
        let text = "\u{feff}Microsoft (R) Windows (R) Version 10.0 (Build 19041)\r\n 4 21 2021 10:15:06.500\r\n\
            Loaded driver \\SystemRoot\\system32\\ntoskrnl.exe\r\n\
            Did not load driver \\SystemRoot\\System32\\drivers\\sbp2port.sys\r\n\
            Microsoft (R) Windows (R) Version 10.0 (Build 19041)\r\n 4 22 2021 08:00:01.250\r\n\
            BOOTLOG_LOADED \\SystemRoot\\system32\\hal.dll\r\n\
            BOOTLOG_NOT_LOADED \\SystemRoot\\System32\\drivers\\contoso.sys\r\n\
            Pilote charg\u{e9} \\SystemRoot\\system32\\kd.dll\r\n";
        let log = parse("Windows/ntbtlog.txt", text);
        assert_eq!(log.boots.len(), 2);
        assert_eq!(log.boots[0].when.as_deref(), Some("4 21 2021 10:15:06.500"));
        assert_eq!(
            log.boots[0].loaded,
            ["\\SystemRoot\\system32\\ntoskrnl.exe"]
        );
        assert_eq!(log.boots[1].line, 5);
        assert_eq!(log.boots[1].unclassified, 1);
        assert_eq!(
            log.not_loaded_in_last_boot("CONTOSO.SYS"),
            Some("\\SystemRoot\\System32\\drivers\\contoso.sys")
        );
        assert_eq!(log.not_loaded_in_last_boot("sbp2port.sys"), None);
        assert_eq!(
            log.boots[1].last,
            Some((
                false,
                "\\SystemRoot\\System32\\drivers\\contoso.sys".to_string()
            ))
        );
    }

    #[test]
    fn the_synthetic_writer_round_trips() {
        let bytes = crate::synth::casefiles::ntbtlog(&["disk.sys"], &["bkfilter.sys"]);
        let log = parse("ntbtlog.txt", &crate::text::decode_text(&bytes));
        assert_eq!(log.boots.len(), 1);
        assert!(log.not_loaded_in_last_boot("bkfilter.sys").is_some());
        assert_eq!(log.boots[0].loaded.len(), 1);
    }
}
