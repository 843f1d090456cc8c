//! A BCD store writer (on the regf writer): the store `bcdboot` creates for one Windows
//! installation, with elements encoded as bcdedit stores them (see `registry::bcd`), for the
//! BCD tests and the findings' synthetic cases.
//!
//! ```no_run
//! use bsod_workbench::synth::bcd::BcdWriter;
//! BcdWriter::windows()
//!     .loader_flag(bsod_workbench::registry::bcd::TESTSIGNING, true)
//!     .write_to(std::path::Path::new("BCD"))?;
//! # Ok::<(), std::io::Error>(())
//! ```

use super::regf::{HiveWriter, KeySpec, RegData};
use crate::registry::bcd;
use std::path::Path;

/// The loader entry's identifier in written stores.
pub const LOADER: &str = "{3e7f2a10-5b1c-11ef-9a2b-00155d012345}";
/// The resume entry's identifier in written stores.
pub const RESUME: &str = "{3e7f2a11-5b1c-11ef-9a2b-00155d012345}";
const GLOBALSETTINGS: &str = "{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}";
const BOOTLOADERSETTINGS: &str = "{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}";
const MEMDIAG: &str = "{b2721d73-1db4-4c62-bf78-c548a880142d}";

/// An element value to write.
#[derive(Clone, Debug)]
pub enum Element {
    String(String),
    Object(String),
    ObjectList(Vec<String>),
    Integer(u64),
    Boolean(bool),
    Device(Vec<u8>),
}

impl Element {
    fn data(&self) -> RegData {
        match self {
            Element::String(s) | Element::Object(s) => RegData::Sz(s.clone()),
            Element::ObjectList(l) => RegData::MultiSz(l.clone()),
            Element::Integer(n) => RegData::Binary(n.to_le_bytes().to_vec()),
            Element::Boolean(b) => RegData::Binary(vec![u8::from(*b)]),
            Element::Device(d) => RegData::Binary(d.clone()),
        }
    }
}

/// A device element of a GPT partition (partition and disk GUIDs as 16 bytes each).
pub fn gpt_partition(partition: [u8; 16], disk: [u8; 16]) -> Vec<u8> {
    let mut d = vec![0u8; 0x58];
    d[0x10..0x14].copy_from_slice(&6u32.to_le_bytes());
    d[0x18..0x1c].copy_from_slice(&0x48u32.to_le_bytes());
    d[0x20..0x30].copy_from_slice(&partition);
    d[0x34..0x38].copy_from_slice(&0u32.to_le_bytes());
    d[0x38..0x48].copy_from_slice(&disk);
    d
}

/// The `boot` device.
pub fn boot_device() -> Vec<u8> {
    let mut d = vec![0u8; 0x48];
    d[0x10..0x14].copy_from_slice(&5u32.to_le_bytes());
    d[0x18..0x1c].copy_from_slice(&0x48u32.to_le_bytes());
    d
}

/// Builds a BCD store.
#[derive(Clone, Debug)]
pub struct BcdWriter {
    pub hive: HiveWriter,
}

impl BcdWriter {
    /// An empty store: the root's `Description` (KeyName BCD00000000) and `Objects`.
    pub fn empty() -> BcdWriter {
        let mut hive = HiveWriter::new().file_name("BCD");
        hive.key("Description")
            .set("KeyName", RegData::Sz("BCD00000000".into()))
            .set("System", RegData::Dword(1))
            .set("TreatAsSystem", RegData::Dword(1));
        hive.key("Objects");
        BcdWriter { hive }
    }

    /// The store of one UEFI Windows installation: {bootmgr} (default, displayorder, timeout
    /// 30), the Windows Boot Loader, its resume entry, {memdiag}, {globalsettings} and
    /// {bootloadersettings}.
    pub fn windows() -> BcdWriter {
        let esp = gpt_partition([0x11; 16], [0x22; 16]);
        let os = gpt_partition([0x33; 16], [0x22; 16]);
        BcdWriter::empty()
            .object(bcd::BOOTMGR, 0x1010_0002)
            .element(bcd::BOOTMGR, 0x1100_0001, Element::Device(esp.clone()))
            .element(
                bcd::BOOTMGR,
                bcd::PATH,
                Element::String(r"\EFI\Microsoft\Boot\bootmgfw.efi".into()),
            )
            .element(
                bcd::BOOTMGR,
                bcd::DESCRIPTION,
                Element::String("Windows Boot Manager".into()),
            )
            .element(bcd::BOOTMGR, 0x1200_0005, Element::String("en-US".into()))
            .element(
                bcd::BOOTMGR,
                bcd::INHERIT,
                Element::ObjectList(vec![GLOBALSETTINGS.into()]),
            )
            .element(bcd::BOOTMGR, bcd::DEFAULT, Element::Object(LOADER.into()))
            .element(bcd::BOOTMGR, 0x2300_0006, Element::Object(RESUME.into()))
            .element(
                bcd::BOOTMGR,
                0x2400_0001,
                Element::ObjectList(vec![LOADER.into()]),
            )
            .element(
                bcd::BOOTMGR,
                0x2400_0010,
                Element::ObjectList(vec![MEMDIAG.into()]),
            )
            .element(bcd::BOOTMGR, 0x2500_0004, Element::Integer(30))
            .object(LOADER, 0x1020_0003)
            .element(LOADER, 0x1100_0001, Element::Device(os.clone()))
            .element(
                LOADER,
                bcd::PATH,
                Element::String(r"\Windows\system32\winload.efi".into()),
            )
            .element(
                LOADER,
                bcd::DESCRIPTION,
                Element::String("Windows Server".into()),
            )
            .element(LOADER, 0x1200_0005, Element::String("en-US".into()))
            .element(
                LOADER,
                bcd::INHERIT,
                Element::ObjectList(vec![BOOTLOADERSETTINGS.into()]),
            )
            .element(LOADER, bcd::RECOVERYENABLED, Element::Boolean(false))
            .element(LOADER, 0x2100_0001, Element::Device(os.clone()))
            .element(LOADER, 0x2200_0002, Element::String(r"\Windows".into()))
            .element(LOADER, 0x2300_0003, Element::Object(RESUME.into()))
            .element(LOADER, 0x2500_0020, Element::Integer(0))
            .element(LOADER, 0x2500_00c2, Element::Integer(1))
            .object(RESUME, 0x1020_0004)
            .element(RESUME, 0x1100_0001, Element::Device(os.clone()))
            .element(
                RESUME,
                bcd::PATH,
                Element::String(r"\Windows\system32\winresume.efi".into()),
            )
            .element(
                RESUME,
                bcd::DESCRIPTION,
                Element::String("Windows Resume Application".into()),
            )
            .element(RESUME, 0x2100_0001, Element::Device(os))
            .element(
                RESUME,
                0x2200_0002,
                Element::String(r"\hiberfil.sys".into()),
            )
            .object(MEMDIAG, 0x1020_0005)
            .element(MEMDIAG, 0x1100_0001, Element::Device(esp))
            .element(
                MEMDIAG,
                bcd::PATH,
                Element::String(r"\EFI\Microsoft\Boot\memtest.efi".into()),
            )
            .element(
                MEMDIAG,
                bcd::DESCRIPTION,
                Element::String("Windows Memory Diagnostic".into()),
            )
            .object(GLOBALSETTINGS, 0x2010_0000)
            .object(BOOTLOADERSETTINGS, 0x2020_0003)
            .element(
                BOOTLOADERSETTINGS,
                bcd::INHERIT,
                Element::ObjectList(vec![GLOBALSETTINGS.into()]),
            )
    }

    /// Add an object (its `Description\Type`).
    pub fn object(mut self, id: &str, object_type: u32) -> BcdWriter {
        self.hive
            .key(&format!("Objects\\{id}\\Description"))
            .set("Type", RegData::Dword(object_type));
        self.hive.key(&format!("Objects\\{id}\\Elements"));
        self
    }

    /// Set an element of an object.
    pub fn element(mut self, id: &str, element_type: u32, value: Element) -> BcdWriter {
        self.hive
            .key(&format!("Objects\\{id}\\Elements\\{element_type:08x}"))
            .set("Element", value.data());
        self
    }

    /// Set an element with any registry data (a value stored the wrong way).
    pub fn raw_element(mut self, id: &str, element_type: u32, data: RegData) -> BcdWriter {
        self.hive
            .key(&format!("Objects\\{id}\\Elements\\{element_type:08x}"))
            .set("Element", data);
        self
    }

    /// Remove an element of an object.
    pub fn remove(mut self, id: &str, element_type: u32) -> BcdWriter {
        let elements: &mut KeySpec = self.hive.key(&format!("Objects\\{id}\\Elements"));
        let name = format!("{element_type:08x}");
        elements
            .subkeys
            .retain(|k| !k.name.eq_ignore_ascii_case(&name));
        self
    }

    /// Set a boolean element of the loader entry.
    pub fn loader_flag(self, element_type: u32, on: bool) -> BcdWriter {
        self.element(LOADER, element_type, Element::Boolean(on))
    }

    /// Set an integer element of the loader entry.
    pub fn loader_integer(self, element_type: u32, n: u64) -> BcdWriter {
        self.element(LOADER, element_type, Element::Integer(n))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.hive.to_bytes()
    }

    pub fn write_to(&self, path: &Path) -> std::io::Result<()> {
        self.hive.write_to(path)
    }
}
