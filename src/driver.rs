//! `DriverKey`: one identity for a driver across every artefact of a case.
//!
//! A crash dump names `\SystemRoot\System32\drivers\filecrypt.sys`, Procmon names
//! `C:\Windows\System32\drivers\FileCrypt.sys` or `\Device\HarddiskVolume2\Windows\...`,
//! CodeIntegrity names `\Device\HarddiskVolume2\Windows\System32\drivers\filecrypt.sys`,
//! the hive's ImagePath says `system32\drivers\filecrypt.sys` and the service is `FileCrypt`.
//! They are one driver. The identity is the image's file name, lower-cased; the canonical
//! path (`windows\system32\drivers\filecrypt.sys`) is kept beside it when a spelling gives one.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The identity of a driver image: its lower-case file name (`filecrypt.sys`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DriverKey(String);

impl DriverKey {
    /// The key of any path-like spelling of a driver image (see the module docs).
    /// Returns `None` for an empty spelling or one that ends in a separator.
    pub fn from_path(spelling: &str) -> Option<DriverKey> {
        let trimmed = spelling.trim().trim_matches('"');
        let name = trimmed.rsplit(['\\', '/']).next()?.trim();
        if name.is_empty() {
            return None;
        }
        Some(DriverKey(name.to_ascii_lowercase()))
    }

    /// The key of a service: its ImagePath when the hive gives one, else `<name>.sys`,
    /// which is where the service control manager looks for a kernel driver without one.
    pub fn from_service(service_name: &str, image_path: Option<&str>) -> Option<DriverKey> {
        match image_path.filter(|p| !p.trim().is_empty()) {
            Some(path) => DriverKey::from_path(path),
            None => {
                let name = service_name.trim();
                if name.is_empty() {
                    None
                } else {
                    Some(DriverKey(format!("{}.sys", name.to_ascii_lowercase())))
                }
            }
        }
    }

    /// The lower-case file name, e.g. `filecrypt.sys`.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The file name without its extension, e.g. `filecrypt` (how WinDbg names a module).
    pub fn stem(&self) -> &str {
        self.0.rsplit_once('.').map_or(&self.0, |(s, _)| s)
    }

    /// Whether a path-like spelling names this driver.
    pub fn matches_path(&self, spelling: &str) -> bool {
        DriverKey::from_path(spelling).is_some_and(|k| k == *self)
    }
}

impl fmt::Display for DriverKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The canonical form of a Windows path to an image: lower case, backslashes, no drive,
/// device, `\??\` or `\SystemRoot\` prefix, rooted at the Windows folder where the spelling
/// implies it. `\SystemRoot\System32\drivers\x.sys`, `C:\WINDOWS\system32\DRIVERS\X.sys`,
/// `\Device\HarddiskVolume2\Windows\System32\drivers\x.sys` and the ImagePath
/// `system32\drivers\x.sys` all become `windows\system32\drivers\x.sys`.
pub fn canonical_path(spelling: &str) -> String {
    let mut p = spelling
        .trim()
        .trim_matches('"')
        .replace('/', "\\")
        .to_ascii_lowercase();
    for prefix in ["\\??\\", "\\\\?\\", "\\\\.\\"] {
        if let Some(rest) = p.strip_prefix(prefix) {
            p = rest.to_string();
        }
    }
    if let Some(rest) = p.strip_prefix("\\device\\") {
        // \Device\HarddiskVolume2\Windows\... : drop the device name.
        p = rest
            .split_once('\\')
            .map_or(String::new(), |(_, r)| r.to_string());
    } else if p.len() >= 2 && p.as_bytes()[1] == b':' {
        p = p[2..].trim_start_matches('\\').to_string();
    }
    for (prefix, root) in [
        ("\\systemroot\\", "windows\\"),
        ("%systemroot%\\", "windows\\"),
        ("%windir%\\", "windows\\"),
    ] {
        if let Some(rest) = p.strip_prefix(prefix) {
            p = format!("{root}{rest}");
        }
    }
    let p = p.trim_start_matches('\\').to_string();
    // An ImagePath relative to the Windows folder: system32\drivers\x.sys.
    if p.starts_with("system32\\") || p.starts_with("syswow64\\") {
        return format!("windows\\{p}");
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spellings of filecrypt.sys seen in dumps, hives, event logs and boot logs.
    const SPELLINGS: [&str; 5] = [
        "\\SystemRoot\\System32\\drivers\\filecrypt.sys",
        "\\Device\\HarddiskVolume2\\Windows\\System32\\drivers\\filecrypt.sys",
        "C:\\WINDOWS\\system32\\DRIVERS\\FileCrypt.sys",
        "\\??\\C:\\Windows\\System32\\drivers\\filecrypt.sys",
        "system32\\drivers\\filecrypt.sys",
    ];

    fn key(s: &str) -> DriverKey {
        DriverKey::from_path(s).expect("a key")
    }

    #[test]
    fn every_spelling_of_filecrypt_is_one_driver() {
        let expected = key("filecrypt.sys");
        let more = [
            "filecrypt.sys",
            "\"C:\\Windows\\System32\\drivers\\FILECRYPT.SYS\"",
        ];
        for spelling in SPELLINGS.into_iter().chain(more) {
            assert_eq!(key(spelling), expected, "{spelling}");
            assert!(expected.matches_path(spelling));
        }
        assert_eq!(expected.name(), "filecrypt.sys");
        assert_eq!(expected.stem(), "filecrypt");
    }

    #[test]
    fn a_service_name_maps_through_its_image_path() {
        let by_image =
            DriverKey::from_service("FileCrypt", Some("system32\\drivers\\filecrypt.sys"));
        assert_eq!(by_image, Some(key("filecrypt.sys")));
        // A service whose image is named differently maps to the image, not the service name.
        let renamed = DriverKey::from_service("Tcpip", Some("System32\\drivers\\tcpip.sys"));
        assert_eq!(renamed, Some(key("tcpip.sys")));
        let vendor = DriverKey::from_service(
            "FTDIBUS",
            Some("\\SystemRoot\\System32\\drivers\\ftdibus.sys"),
        );
        assert_eq!(vendor, Some(key("ftdibus.sys")));
        // Without an ImagePath a kernel driver service loads <name>.sys.
        assert_eq!(
            DriverKey::from_service("FileCrypt", None),
            Some(key("filecrypt.sys"))
        );
        assert_eq!(DriverKey::from_service("", None), None);
    }

    #[test]
    fn different_drivers_stay_apart() {
        assert_ne!(
            key("\\SystemRoot\\System32\\drivers\\filecrypt.sys"),
            key("C:\\Windows\\System32\\drivers\\fileinfo.sys")
        );
        assert_ne!(key("cdrom.sys"), key("cdrom.sys.bak"));
        assert!(
            !key("filecrypt.sys").matches_path("\\SystemRoot\\System32\\drivers\\filecrypt.sys\\")
        );
        assert_eq!(DriverKey::from_path("C:\\Windows\\"), None);
    }

    #[test]
    fn canonical_paths_agree_across_spellings() {
        let want = "windows\\system32\\drivers\\filecrypt.sys";
        let more = ["%SystemRoot%\\System32\\drivers\\filecrypt.sys"];
        for spelling in SPELLINGS.into_iter().chain(more) {
            assert_eq!(canonical_path(spelling), want, "{spelling}");
        }
    }
}
