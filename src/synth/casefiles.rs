//! Writers for the other files of a real case: driver INF files (with their catalog and driver
//! beside them), the text logs Windows keeps (setupapi.dev.log, CBS.log, dism.log,
//! ntbtlog.txt) and registry transaction-log base blocks. Fixtures for recognition tests.

use super::catalog::{CatalogSpec, CatalogVersion, MemberKind, MemberSpec, write_catalog};
use super::pe::{PeSpec, write_pe};
use std::io;
use std::path::Path;

/// How an INF's bytes are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-16LE with a BOM (what `stampinf` and Windows' own INFs use).
    Utf16Bom,
    Utf8Bom,
    /// Windows-1252 (Latin-1 characters as single bytes).
    Ansi,
}

/// A driver package's INF.
#[derive(Clone, Debug)]
pub struct InfSpec {
    pub provider: String,
    pub driver_date: String,
    pub driver_version: String,
    pub catalog: String,
    pub service: String,
    /// The driver file, e.g. `bsodflt.sys`.
    pub driver_file: String,
    pub start_type: u32,
    pub error_control: u32,
    /// Licence comment lines before `[Version]` (real INFs push it past 8 KiB this way).
    pub preamble_lines: usize,
}

impl InfSpec {
    /// A boot-start filter driver package named after `name` (`name.sys`, `name.cat`).
    pub fn driver(name: &str) -> InfSpec {
        InfSpec {
            provider: "Contoso Ltd.".into(),
            driver_date: "05/14/2024".into(),
            driver_version: "10.0.14393.1".into(),
            catalog: format!("{name}.cat"),
            service: name.to_string(),
            driver_file: format!("{name}.sys"),
            start_type: 0,
            error_control: 3,
            preamble_lines: 0,
        }
    }
}

/// The INF text (CRLF lines).
pub fn inf_text(spec: &InfSpec) -> String {
    let mut s = String::new();
    if spec.preamble_lines > 0 {
        let stem = spec
            .driver_file
            .strip_suffix(".sys")
            .unwrap_or(&spec.driver_file);
        s.push_str(&format!("; {}.INF\r\n;\r\n", stem.to_ascii_uppercase()));
    }
    for i in 0..spec.preamble_lines {
        s.push_str(&format!(
            "; Licence line {i}: this comment is as long as the ones real vendors write, padding.\r\n"
        ));
    }
    let svc = &spec.service;
    s.push_str(&format!(
        "[Version]\r\nSignature   = \"$WINDOWS NT$\"\r\nClass       = System ; a comment\r\n\
         ClassGuid   = {{4d36e97d-e325-11ce-bfc1-08002be10318}}\r\nProvider    = %ProviderName%\r\n\
         DriverVer   = {},{}\r\nCatalogFile = {}\r\nPnpLockdown = 1\r\n\r\n\
         [DestinationDirs]\r\nDefaultDestDir = 12\r\n{svc}.CopyDriver = 12\r\n\r\n\
         [DefaultInstall.NTamd64]\r\nOptionDesc = %ServiceDescription%\r\nCopyFiles  = {svc}.CopyDriver\r\n\r\n\
         [DefaultInstall.NTamd64.Services]\r\nAddService = %ServiceName%,,{svc}.Service\r\n\r\n\
         [{svc}.Service]\r\nDisplayName    = %ServiceName%\r\nServiceBinary  = %12%\\{}\r\n\
         ServiceType    = 2 ;SERVICE_FILE_SYSTEM_DRIVER\r\nStartType      = {}\r\nErrorControl   = {}\r\n\
         LoadOrderGroup = \"FSFilter Encryption\"\r\n\r\n\
         [{svc}.CopyDriver]\r\n{},,,0x00004000\r\n\r\n\
         [SourceDisksNames]\r\n1 = %DiskId1%,,,\"\"\r\n\r\n[SourceDisksFiles]\r\n{} = 1,,\r\n\r\n\
         [Strings]\r\nProviderName = \"{}\"\r\nServiceDescription = \"Synthetic filter, caf\u{e9}\"\r\n\
         ServiceName = \"{svc}\"\r\nDiskId1 = \"Installation disk\"\r\n",
        spec.driver_date,
        spec.driver_version,
        spec.catalog,
        spec.driver_file,
        spec.start_type,
        spec.error_control,
        spec.driver_file,
        spec.driver_file,
        spec.provider,
    ));
    s
}

/// The INF bytes in an encoding.
pub fn write_inf(spec: &InfSpec, encoding: TextEncoding) -> Vec<u8> {
    encode(&inf_text(spec), encoding)
}

/// `text` in an encoding (characters outside Latin-1 become `?` in ANSI).
pub fn encode(text: &str, encoding: TextEncoding) -> Vec<u8> {
    match encoding {
        TextEncoding::Utf16Bom => [0xff, 0xfe]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
        TextEncoding::Utf8Bom => b"\xef\xbb\xbf"
            .iter()
            .copied()
            .chain(text.bytes())
            .collect(),
        TextEncoding::Ansi => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect(),
    }
}

/// Writes an INF, its catalog (listing the driver) and the driver into `dir`: `name.inf`,
/// `name.cat`, `name.sys`.
pub fn write_inf_package(dir: &Path, spec: &InfSpec, encoding: TextEncoding) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let pe = write_pe(&PeSpec::driver(&spec.driver_file));
    let mut cat = CatalogSpec::new(0x1f, CatalogVersion::V2Sha256);
    cat.members.push(MemberSpec {
        digest: vec![0x5a; 32],
        file: spec.driver_file.clone(),
        os_attr: Some("2:10.0".into()),
        kind: MemberKind::PeImage,
    });
    let stem = spec
        .driver_file
        .strip_suffix(".sys")
        .unwrap_or(&spec.driver_file);
    std::fs::write(dir.join(format!("{stem}.inf")), write_inf(spec, encoding))?;
    std::fs::write(dir.join(&spec.catalog), write_catalog(&cat))?;
    std::fs::write(dir.join(&spec.driver_file), pe)?;
    Ok(())
}

/// A `setupapi.dev.log` installing `inf` (UTF-8, CRLF).
pub fn setupapi_dev_log(inf: &str) -> Vec<u8> {
    format!(
        "[Device Install Log]\r\n     OS Version = 10.0.14393\r\n     Service Pack = 0.0\r\n     Suite = 0x0110\r\n\
         \x20    ProductType = 3\r\n     Architecture = amd64\r\n\r\n[BeginLog]\r\n\r\n\
         [Boot Session: 2024/05/14 02:10:11.500]\r\n\r\n\
         >>>  [Device Install (DiInstallDriver) - C:\\Drivers\\{inf}]\r\n>>>  Section start 2024/05/14 02:12:01.093\r\n\
         \x20     cmd: pnputil /add-driver {inf}\r\n     inf: Driver package '{inf}' is already imported.\r\n\
         <<<  Section end 2024/05/14 02:12:01.312\r\n<<<  [Exit status: SUCCESS]\r\n"
    )
    .into_bytes()
}

/// A `CBS.log` excerpt (UTF-8, CRLF), cut off in its last line.
pub fn cbs_log() -> Vec<u8> {
    b"2024-05-14 02:13:01, Info                  CBS    TI: --- Initializing Trusted Installer ---\r\n\
      2024-05-14 02:13:01, Info                  CBS    Starting TrustedInstaller initialization.\r\n\
      2024-05-14 02:13:02, Info                  CSI    00000001@2024/5/14:02:13:02.171 WcpInitialize: wcp.dll version 10.0.14393.0\r\n\
      2024-05-14 02:13:04, Error                 CBS    Failed to load the catalog [HRESULT = 0x800b0100 - TRUST_E_NOSIGNATU"
        .to_vec()
}

/// A `dism.log` excerpt (UTF-8, CRLF).
pub fn dism_log() -> Vec<u8> {
    b"2024-05-14 02:20:00, Info                  DISM   PID=1234 TID=5678 Scratch directory set to 'C:\\Windows\\TEMP\\'. - CDISMManager::put_ScratchDir\r\n\
      2024-05-14 02:20:00, Info                  DISM   DISM.EXE: <----- Starting Dism.exe session ----->\r\n\
      2024-05-14 02:20:01, Info                  DISM   DISM Provider Store: PID=1234 TID=5678 Getting the collection of providers\r\n"
        .to_vec()
}

/// An `ntbtlog.txt` (UTF-16LE with BOM, as Windows writes it) listing `loaded` and `failed`.
pub fn ntbtlog(loaded: &[&str], failed: &[&str]) -> Vec<u8> {
    let mut s = String::from(
        "Microsoft (R) Windows (R) Version 10.0 (Build 14393)\r\n5 14 2024 02:10:07.500\r\n",
    );
    for d in loaded {
        s.push_str(&format!(
            "Loaded driver \\SystemRoot\\system32\\drivers\\{d}\r\n"
        ));
    }
    for d in failed {
        s.push_str(&format!(
            "Did not load driver \\SystemRoot\\system32\\drivers\\{d}\r\n"
        ));
    }
    encode(&s, TextEncoding::Utf16Bom)
}

/// The 4 KiB base block of a registry transaction log of `hive` (e.g. `SYSTEM`): `regf`,
/// sequence numbers, file type 2 (new format, HvLE entries from 0x200... written as one
/// empty entry header) or 1 (old format), and the file-name field.
pub fn registry_log_base_block(hive: &str, new_format: bool, seq: (u32, u32)) -> Vec<u8> {
    let mut b = vec![0u8; 0x1000];
    b[0..4].copy_from_slice(b"regf");
    b[4..8].copy_from_slice(&seq.0.to_le_bytes());
    b[8..12].copy_from_slice(&seq.1.to_le_bytes());
    b[0x14..0x18].copy_from_slice(&1u32.to_le_bytes()); // major
    b[0x18..0x1C].copy_from_slice(&5u32.to_le_bytes()); // minor
    let file_type: u32 = if new_format { 6 } else { 1 };
    b[0x1C..0x20].copy_from_slice(&file_type.to_le_bytes());
    b[0x20..0x24].copy_from_slice(&1u32.to_le_bytes()); // format: direct memory load
    let name: Vec<u8> = format!("\\SystemRoot\\System32\\Config\\{hive}")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    // The field holds the tail of the path (64 bytes).
    let tail = &name[name.len().saturating_sub(62)..];
    b[0x30..0x30 + tail.len()].copy_from_slice(tail);
    b[0x200..0x204].copy_from_slice(if new_format { b"HvLE" } else { b"DIRT" });
    b
}

/// One SetupAPI install section: a title, local start and end times (`YYYY/MM/DD hh:mm:ss.fff`),
/// the files copied (target paths) and the exit status.
pub struct SetupapiSection<'a> {
    pub title: &'a str,
    pub start: &'a str,
    pub end: &'a str,
    pub copied: &'a [&'a str],
    pub status: &'a str,
}

/// A `setupapi.dev.log` of `sections` (UTF-8, CRLF), as Windows 10 writes them.
pub fn setupapi_dev_log_sections(sections: &[SetupapiSection]) -> Vec<u8> {
    let mut s = String::from(
        "[Device Install Log]\r\n     OS Version = 10.0.14393\r\n     Service Pack = 0.0\r\n\
         \x20    Suite = 0x0110\r\n     ProductType = 3\r\n     Architecture = amd64\r\n\r\n[BeginLog]\r\n",
    );
    for sec in sections {
        s.push_str(&format!(
            "\r\n>>>  [{}]\r\n>>>  Section start {}\r\n",
            sec.title, sec.start
        ));
        for f in sec.copied {
            let name = f.rsplit('\\').next().unwrap_or(f);
            s.push_str(&format!(
                "     flq: Copying 'C:\\Windows\\System32\\DriverStore\\FileRepository\\pkg\\{name}' to '{f}'.\r\n"
            ));
        }
        s.push_str(&format!(
            "<<<  Section end {}\r\n<<<  [Exit status: {}]\r\n",
            sec.end, sec.status
        ));
    }
    s.into_bytes()
}

/// `CBS.log` lines installing `package` at local `time` (`YYYY-MM-DD hh:mm:ss`), ending with
/// `hresult` (0 = S_OK) as CBS writes it.
pub fn cbs_install_lines(time: &str, package: &str, hresult: (u32, &str)) -> String {
    format!(
        "{time}, Info                  CBS    Exec: Installing Package: {package}, Update: 1\r\n\
         {time}, Info                  CBS    Exec: Package {package} install completed [HRESULT = 0x{:08x} - {}]\r\n",
        hresult.0, hresult.1
    )
}

/// A WER `Report.wer` (UTF-16LE with BOM) of a bug check (`BlueScreen`) or a live kernel event
/// (`LiveKernelEvent`): `EventTime` a FILETIME, the bug check in the signature.
pub fn report_wer(live: bool, event_time: u64, code: u32, parameters: [u64; 4]) -> Vec<u8> {
    let (event, code_name, p): (&str, &str, [&str; 4]) = if live {
        (
            "LiveKernelEvent",
            "Code",
            ["Parameter 1", "Parameter 2", "Parameter 3", "Parameter 4"],
        )
    } else {
        ("BlueScreen", "BCCode", ["BCP1", "BCP2", "BCP3", "BCP4"])
    };
    let mut s = format!(
        "Version=1\r\nEventType={event}\r\nEventTime={event_time}\r\nReportType=4\r\nConsent=1\r\n\
         ReportIdentifier=6b1f0c2e-0a1b-4c1d-9e2f-3a4b5c6d7e8f\r\n\
         Sig[0].Name={code_name}\r\nSig[0].Value={code:x}\r\n"
    );
    for (i, (n, v)) in p.iter().zip(parameters).enumerate() {
        s.push_str(&format!(
            "Sig[{}].Name={n}\r\nSig[{}].Value={v:016X}\r\n",
            i + 1,
            i + 1
        ));
    }
    s.push_str("Sig[5].Name=OS version\r\nSig[5].Value=10_0_14393\r\nFriendlyEventName=Shut down unexpectedly\r\n");
    let mut out = vec![0xff, 0xfe];
    out.extend(crate::text::utf16le(&s));
    out
}
