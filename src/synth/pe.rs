//! A writer of small, valid PE32+ native driver images: code for chosen functions, optional
//! export table, optional `.pdata` (RUNTIME_FUNCTION + UNWIND_INFO), optional CodeView (RSDS)
//! debug record, a version resource, and a correct CheckSum. Unsigned: signatures come from
//! catalogs written by [`super::catalog`].
//!
//! Layout facts: Microsoft "PE Format" (headers, section table, export directory, debug
//! directory, resource directory), "x64 exception handling" (RUNTIME_FUNCTION, UNWIND_INFO,
//! UWOP_ALLOC_SMALL/LARGE), Win32 "VS_VERSIONINFO" (version resource blocks).

/// One function in `.text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSpec {
    pub name: String,
    /// Code size in bytes (at least prolog + epilog; padded with NOPs).
    pub size: u32,
    /// Bytes reserved on the stack by the prolog (`sub rsp, n`; rounded up to 8; 0 = leaf).
    pub stack_alloc: u32,
}

impl FunctionSpec {
    pub fn new(name: &str, size: u32, stack_alloc: u32) -> FunctionSpec {
        FunctionSpec {
            name: name.to_string(),
            size,
            stack_alloc,
        }
    }
}

/// A CodeView RSDS record (what a symbol store is keyed by).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeViewSpec {
    pub guid: [u8; 16],
    pub age: u32,
    pub pdb_path: String,
}

/// What to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeSpec {
    /// File name, e.g. `filecrypt.sys` (InternalName / OriginalFilename, export DLL name).
    pub name: String,
    /// IMAGE_FILE_MACHINE_* (0x8664 AMD64 is the tested value).
    pub machine: u16,
    /// COFF TimeDateStamp.
    pub timestamp: u32,
    /// File and product version (major, minor, build, revision).
    pub version: [u16; 4],
    pub company: String,
    pub description: String,
    pub product: String,
    /// Functions in `.text`, in order; the first is the entry point.
    pub functions: Vec<FunctionSpec>,
    /// Names (of `functions`) to export.
    pub exports: Vec<String>,
    /// Write `.pdata` with one RUNTIME_FUNCTION per function.
    pub pdata: bool,
    pub codeview: Option<CodeViewSpec>,
    /// Extra initialised data in `.data` (to reach realistic file sizes).
    pub data_size: u32,
}

impl PeSpec {
    /// A Microsoft-looking inbox driver with a DriverEntry and a few functions.
    pub fn driver(name: &str) -> PeSpec {
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        PeSpec {
            name: name.to_string(),
            machine: 0x8664,
            timestamp: 0x5f3c_2a10,
            version: [10, 0, 19041, 3636],
            company: "Microsoft Corporation".to_string(),
            description: format!("{stem} driver"),
            product: "Microsoft\u{ae} Windows\u{ae} Operating System".to_string(),
            functions: vec![
                FunctionSpec::new("DriverEntry", 64, 0x28),
                FunctionSpec::new(&format!("{stem}Dispatch"), 96, 0x48),
                FunctionSpec::new(&format!("{stem}Unload"), 32, 0),
            ],
            exports: Vec::new(),
            pdata: true,
            codeview: None,
            data_size: 0x200,
        }
    }
}

const FILE_ALIGN: u32 = 0x200;
const SECTION_ALIGN: u32 = 0x1000;
const IMAGE_BASE: u64 = 0x1_c000_0000;
const E_LFANEW: u32 = 0x80;
const OPT_HEADER_SIZE: u16 = 240; // PE32+: 112 fixed + 16 data directories
const CODE: u32 = 0x6000_0020; // CNT_CODE | MEM_EXECUTE | MEM_READ
const RDATA: u32 = 0x4000_0040; // CNT_INITIALIZED_DATA | MEM_READ
const DATA: u32 = 0xc000_0040; // + MEM_WRITE

fn align(v: u32, a: u32) -> u32 {
    v.div_ceil(a) * a
}

fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn pad_to(b: &mut Vec<u8>, a: usize, fill: u8) {
    while !b.len().is_multiple_of(a) {
        b.push(fill);
    }
}
fn len32(b: &[u8]) -> u32 {
    u32::try_from(b.len()).unwrap_or(u32::MAX)
}

/// Where the sections sit in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageLayout {
    /// As a linker writes it: sections at 0x200-aligned file offsets, CheckSum computed.
    File,
    /// As the loader maps it (a dump's memory): file offsets equal RVAs (both alignments
    /// 0x1000), so the bytes are the memory bytes; the CheckSum is the one given.
    Loaded { checksum: u32 },
}

/// One section: `data` at `rva`, padded with `fill` to `size` bytes (`size` is at least the
/// data's length; it is the VirtualSize, and in the loaded layout the raw size too).
pub struct SectionSpec {
    pub name: &'static [u8; 8],
    pub rva: u32,
    pub data: Vec<u8>,
    pub size: u32,
    pub fill: u8,
    pub characteristics: u32,
}

impl SectionSpec {
    /// A section sized to its data.
    pub fn new(name: &'static [u8; 8], rva: u32, data: Vec<u8>, characteristics: u32) -> Self {
        let size = len32(&data);
        SectionSpec {
            name,
            rva,
            data,
            size,
            fill: 0,
            characteristics,
        }
    }
}

/// An image put together from finished sections: the one header writer for PE32 (machine
/// 0x14c) and PE32+ images, in the file or the loaded layout.
pub struct ImageSpec {
    pub machine: u16,
    pub base: u64,
    pub timestamp: u32,
    pub entry: u32,
    pub sections: Vec<SectionSpec>,
    /// Data directories (RVA, size): 0 export, 2 resource, 3 exception, 6 debug...
    pub dirs: [(u32, u32); 16],
    pub layout: ImageLayout,
}

impl ImageSpec {
    fn is_pe32(&self) -> bool {
        self.machine == 0x14c
    }
    fn opt_header_size(&self) -> u16 {
        if self.is_pe32() { 224 } else { OPT_HEADER_SIZE }
    }
    fn file_align(&self) -> u32 {
        match self.layout {
            ImageLayout::File => FILE_ALIGN,
            ImageLayout::Loaded { .. } => SECTION_ALIGN,
        }
    }
    /// A section's size in the file.
    fn raw_size(&self, s: &SectionSpec) -> u32 {
        match self.layout {
            ImageLayout::File => align(len32(&s.data), FILE_ALIGN),
            ImageLayout::Loaded { .. } => align(s.size.max(len32(&s.data)), SECTION_ALIGN),
        }
    }
    fn virtual_size(&self, s: &SectionSpec) -> u32 {
        s.size.max(len32(&s.data))
    }
}

/// Write the headers and the sections of `img`.
pub fn assemble(img: &ImageSpec) -> Vec<u8> {
    let n_sections = u32::try_from(img.sections.len()).unwrap_or(0);
    let headers_size = align(
        E_LFANEW + 4 + 20 + u32::from(img.opt_header_size()) + 40 * n_sections,
        img.file_align(),
    );
    let size_of_image = img.sections.last().map_or(headers_size, |s| {
        s.rva + align(img.virtual_size(s).max(1), SECTION_ALIGN)
    });
    let mut out = Vec::new();
    out.extend_from_slice(b"MZ");
    out.resize(0x3c, 0);
    put_u32(&mut out, E_LFANEW);
    // A DOS stub message, as linkers write (not executed by anything here).
    out.extend_from_slice(b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$");
    out.resize(E_LFANEW as usize, 0);
    out.extend_from_slice(b"PE\0\0");
    put_u16(&mut out, img.machine);
    put_u16(&mut out, u16::try_from(n_sections).unwrap_or(0));
    put_u32(&mut out, img.timestamp);
    put_u32(&mut out, 0); // PointerToSymbolTable
    put_u32(&mut out, 0); // NumberOfSymbols
    put_u16(&mut out, img.opt_header_size());
    // EXECUTABLE_IMAGE | 32BIT_MACHINE, or EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE.
    put_u16(&mut out, if img.is_pe32() { 0x0102 } else { 0x0022 });
    let code_size: u32 = img
        .sections
        .iter()
        .filter(|s| s.characteristics == CODE)
        .map(|s| img.raw_size(s))
        .sum();
    let init_size: u32 = img
        .sections
        .iter()
        .filter(|s| s.characteristics != CODE)
        .map(|s| img.raw_size(s))
        .sum();
    let base_of_code = img
        .sections
        .iter()
        .find(|s| s.characteristics == CODE)
        .map_or(0, |s| s.rva);
    put_u16(&mut out, if img.is_pe32() { 0x10b } else { 0x20b });
    out.push(14); // linker 14.x
    out.push(20);
    put_u32(&mut out, code_size);
    put_u32(&mut out, init_size);
    put_u32(&mut out, 0);
    put_u32(&mut out, img.entry); // AddressOfEntryPoint
    put_u32(&mut out, base_of_code);
    if img.is_pe32() {
        let base_of_data = img
            .sections
            .iter()
            .find(|s| s.characteristics != CODE)
            .map_or(0, |s| s.rva);
        put_u32(&mut out, base_of_data);
        put_u32(&mut out, img.base as u32);
    } else {
        out.extend_from_slice(&img.base.to_le_bytes());
    }
    put_u32(&mut out, SECTION_ALIGN);
    put_u32(&mut out, img.file_align());
    for v in [10u16, 0, 10, 0, 10, 0] {
        put_u16(&mut out, v); // OS, image, subsystem versions
    }
    put_u32(&mut out, 0); // Win32VersionValue
    put_u32(&mut out, size_of_image);
    put_u32(&mut out, headers_size);
    let checksum_offset = out.len();
    let given = match img.layout {
        ImageLayout::File => 0, // filled below
        ImageLayout::Loaded { checksum } => checksum,
    };
    put_u32(&mut out, given);
    put_u16(&mut out, 1); // IMAGE_SUBSYSTEM_NATIVE
    put_u16(&mut out, 0x0100); // NX_COMPAT
    for v in [0x40000u64, 0x1000, 0x100000, 0x1000] {
        // stack/heap reserve/commit
        if img.is_pe32() {
            put_u32(&mut out, v as u32);
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    put_u32(&mut out, 0); // LoaderFlags
    put_u32(&mut out, 16); // NumberOfRvaAndSizes
    for (rva, size) in img.dirs {
        put_u32(&mut out, rva);
        put_u32(&mut out, size);
    }
    let mut file_off = headers_size;
    for s in &img.sections {
        let raw = img.raw_size(s);
        let at = match img.layout {
            ImageLayout::File => file_off,
            ImageLayout::Loaded { .. } => s.rva,
        };
        out.extend_from_slice(s.name);
        put_u32(&mut out, img.virtual_size(s));
        put_u32(&mut out, s.rva);
        put_u32(&mut out, raw);
        put_u32(&mut out, at);
        put_u32(&mut out, 0);
        put_u32(&mut out, 0);
        put_u32(&mut out, 0);
        put_u32(&mut out, s.characteristics);
        file_off += raw;
    }
    out.resize(headers_size as usize, 0);
    for s in &img.sections {
        if let ImageLayout::Loaded { .. } = img.layout {
            out.resize(s.rva as usize, 0);
        }
        let start = out.len();
        out.extend_from_slice(&s.data);
        out.resize(start + img.virtual_size(s) as usize, s.fill);
        let a = match img.layout {
            ImageLayout::File => FILE_ALIGN,
            ImageLayout::Loaded { .. } => SECTION_ALIGN,
        };
        pad_to(&mut out, a as usize, 0);
    }
    if img.layout == ImageLayout::File {
        let sum = crate::pe::compute_checksum(&out, checksum_offset);
        out[checksum_offset..checksum_offset + 4].copy_from_slice(&sum.to_le_bytes());
    }
    out
}

/// An export directory at `export_rva` naming `funcs` (name, rva) of the image `dll_name`,
/// sorted by name as the loader's binary search wants; the strings follow the ordinals.
pub fn export_directory(
    dll_name: &str,
    funcs: &[(&str, u32)],
    export_rva: u32,
    timestamp: u32,
) -> Vec<u8> {
    let mut names: Vec<(&str, u32)> = funcs.to_vec();
    names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let n = u32::try_from(names.len()).unwrap_or(0);
    let funcs_rva = export_rva + 40;
    let names_rva = funcs_rva + 4 * n;
    let ords_rva = names_rva + 4 * n;
    let dll_name_rva = ords_rva + 2 * n;
    let mut strings = Vec::new();
    strings.extend_from_slice(dll_name.as_bytes());
    strings.push(0);
    let mut name_rvas = Vec::new();
    for (name, _) in &names {
        name_rvas.push(dll_name_rva + len32(&strings));
        strings.extend_from_slice(name.as_bytes());
        strings.push(0);
    }
    let mut exp = Vec::new();
    put_u32(&mut exp, 0); // Characteristics
    put_u32(&mut exp, timestamp);
    put_u32(&mut exp, 0); // Major/MinorVersion
    put_u32(&mut exp, dll_name_rva);
    put_u32(&mut exp, 1); // Base
    put_u32(&mut exp, n);
    put_u32(&mut exp, n);
    put_u32(&mut exp, funcs_rva);
    put_u32(&mut exp, names_rva);
    put_u32(&mut exp, ords_rva);
    for (_, rva) in &names {
        put_u32(&mut exp, *rva);
    }
    for r in &name_rvas {
        put_u32(&mut exp, *r);
    }
    for i in 0..names.len() {
        put_u16(&mut exp, u16::try_from(i).unwrap_or(u16::MAX));
    }
    exp.extend_from_slice(&strings);
    exp
}

/// Write the image.
pub fn write_pe(spec: &PeSpec) -> Vec<u8> {
    let mut functions = spec.functions.clone();
    if functions.is_empty() {
        functions.push(FunctionSpec::new("DriverEntry", 16, 0));
    }
    let n_sections = 4 + u32::from(spec.pdata); // .text .rdata .data .rsrc [+ .pdata]
    let headers_size = align(
        E_LFANEW + 4 + 20 + u32::from(OPT_HEADER_SIZE) + 40 * n_sections,
        FILE_ALIGN,
    );

    // .text: functions 16-aligned, each `sub rsp,n; xor eax,eax; nop…; add rsp,n; ret`.
    let text_rva = SECTION_ALIGN;
    let mut text = Vec::new();
    let mut placed = Vec::new(); // (begin rva, end rva, prolog size, alloc)
    for f in &functions {
        pad_to(&mut text, 16, 0xcc);
        let begin = text_rva + len32(&text);
        let alloc = align(f.stack_alloc, 8);
        let (prolog, epilog): (Vec<u8>, Vec<u8>) = match alloc {
            0 => (Vec::new(), Vec::new()),
            1..=0x78 => {
                let n = u8::try_from(alloc).unwrap_or(0x78);
                (vec![0x48, 0x83, 0xec, n], vec![0x48, 0x83, 0xc4, n])
            }
            _ => {
                let mut p = vec![0x48, 0x81, 0xec];
                p.extend_from_slice(&alloc.to_le_bytes());
                let mut e = vec![0x48, 0x81, 0xc4];
                e.extend_from_slice(&alloc.to_le_bytes());
                (p, e)
            }
        };
        text.extend_from_slice(&prolog);
        text.extend_from_slice(&[0x33, 0xc0]);
        let used = prolog.len() + 2 + epilog.len() + 1;
        let size = usize::try_from(f.size).unwrap_or(0).max(used);
        text.extend(std::iter::repeat_n(0x90, size - used));
        text.extend_from_slice(&epilog);
        text.push(0xc3);
        let end = text_rva + len32(&text);
        placed.push((begin, end, u8::try_from(prolog.len()).unwrap_or(0), alloc));
    }
    let text_file = headers_size;
    let rdata_rva = text_rva + align(len32(&text).max(1), SECTION_ALIGN);
    let rdata_file = text_file + align(len32(&text), FILE_ALIGN);

    // .rdata: unwind infos, export directory, debug directory + RSDS.
    let mut rdata = Vec::new();
    let mut unwind_rvas = Vec::new();
    for &(_, _, prolog, alloc) in &placed {
        pad_to(&mut rdata, 4, 0);
        unwind_rvas.push(rdata_rva + len32(&rdata));
        let mut codes: Vec<u16> = Vec::new();
        if alloc > 0 && alloc <= 128 {
            // UWOP_ALLOC_SMALL (2): info = size/8 - 1.
            codes.push(u16::from(prolog) | ((2 | (((alloc / 8 - 1) as u16) << 4)) << 8));
        } else if alloc > 128 {
            // UWOP_ALLOC_LARGE (1), info 0: next slot = size/8.
            codes.push(u16::from(prolog) | (1 << 8));
            codes.push(u16::try_from(alloc / 8).unwrap_or(u16::MAX));
        }
        rdata.push(1); // version 1, no flags
        rdata.push(prolog);
        rdata.push(u8::try_from(codes.len()).unwrap_or(0));
        rdata.push(0); // no frame register
        for c in &codes {
            put_u16(&mut rdata, *c);
        }
        if !codes.len().is_multiple_of(2) {
            put_u16(&mut rdata, 0);
        }
    }
    let mut export_dir = None;
    if !spec.exports.is_empty() {
        let names: Vec<(&str, u32)> = spec
            .exports
            .iter()
            .filter_map(|n| {
                functions
                    .iter()
                    .position(|f| &f.name == n)
                    .and_then(|i| placed.get(i))
                    .map(|p| (n.as_str(), p.0))
            })
            .collect();
        pad_to(&mut rdata, 4, 0);
        let dir_rva = rdata_rva + len32(&rdata);
        let exp = export_directory(&spec.name, &names, dir_rva, spec.timestamp);
        rdata.extend_from_slice(&exp);
        export_dir = Some((dir_rva, len32(&exp)));
    }
    let mut debug_dir = None;
    if let Some(cv) = &spec.codeview {
        pad_to(&mut rdata, 4, 0);
        let dir_rva = rdata_rva + len32(&rdata);
        let rec_off = len32(&rdata) + 28;
        let mut rec = b"RSDS".to_vec();
        rec.extend_from_slice(&cv.guid);
        put_u32(&mut rec, cv.age);
        rec.extend_from_slice(cv.pdb_path.as_bytes());
        rec.push(0);
        put_u32(&mut rdata, 0);
        put_u32(&mut rdata, spec.timestamp);
        put_u32(&mut rdata, 0);
        put_u32(&mut rdata, 2); // IMAGE_DEBUG_TYPE_CODEVIEW
        put_u32(&mut rdata, len32(&rec));
        put_u32(&mut rdata, rdata_rva + rec_off);
        put_u32(&mut rdata, rdata_file + rec_off);
        rdata.extend_from_slice(&rec);
        debug_dir = Some((dir_rva, 28));
    }
    if rdata.is_empty() {
        rdata.push(0);
    }

    let data_rva = rdata_rva + align(len32(&rdata), SECTION_ALIGN);
    let data: Vec<u8> = (0..spec.data_size.max(1))
        .map(|i| u8::try_from(i.wrapping_mul(2_654_435_761) >> 24).unwrap_or(0))
        .collect();
    let mut next_rva = data_rva + align(len32(&data), SECTION_ALIGN);

    let mut pdata_section = None;
    if spec.pdata {
        let mut p = Vec::new();
        for (i, &(begin, end, _, _)) in placed.iter().enumerate() {
            put_u32(&mut p, begin);
            put_u32(&mut p, end);
            put_u32(&mut p, unwind_rvas.get(i).copied().unwrap_or(0));
        }
        let size = align(len32(&p).max(1), SECTION_ALIGN);
        pdata_section = Some((next_rva, p));
        next_rva += size;
    }
    let rsrc_rva = next_rva;
    let rsrc = resource_section(&version_info(spec.version, &driver_strings(spec)), rsrc_rva);

    let mut sections = vec![
        SectionSpec::new(b".text\0\0\0", text_rva, text, CODE),
        SectionSpec::new(b".rdata\0\0", rdata_rva, rdata, RDATA),
        SectionSpec::new(b".data\0\0\0", data_rva, data, DATA),
    ];
    let mut dirs = [(0u32, 0u32); 16];
    if let Some((rva, p)) = pdata_section {
        dirs[3] = (rva, len32(&p));
        sections.push(SectionSpec::new(b".pdata\0\0", rva, p, RDATA));
    }
    if let Some(e) = export_dir {
        dirs[0] = e;
    }
    dirs[2] = (rsrc_rva, len32(&rsrc));
    if let Some(d) = debug_dir {
        dirs[6] = d;
    }
    sections.push(SectionSpec::new(b".rsrc\0\0\0", rsrc_rva, rsrc, RDATA));
    assemble(&ImageSpec {
        machine: spec.machine,
        base: IMAGE_BASE,
        timestamp: spec.timestamp,
        entry: placed.first().map_or(text_rva, |p| p.0),
        sections,
        dirs,
        layout: ImageLayout::File,
    })
}

/// `.rsrc` at `rva` with one RT_VERSION (16) / ID 1 / LANG 0x409 entry holding `info` (a
/// VS_VERSIONINFO from [`version_info`]).
pub fn resource_section(info: &[u8], rva: u32) -> Vec<u8> {
    let mut r = Vec::new();
    // Three one-entry directories (16-byte header + 8-byte entry each), then the data entry.
    let dir = |r: &mut Vec<u8>, id: u32, target: u32| {
        put_u32(r, 0);
        put_u32(r, 0);
        put_u32(r, 0);
        put_u16(r, 0);
        put_u16(r, 1);
        put_u32(r, id);
        put_u32(r, target);
    };
    dir(&mut r, 16, 0x8000_0000 | 24);
    dir(&mut r, 1, 0x8000_0000 | 48);
    dir(&mut r, 0x409, 72);
    put_u32(&mut r, rva + 88); // data entry: OffsetToData is an RVA
    put_u32(&mut r, len32(info));
    put_u32(&mut r, 0);
    put_u32(&mut r, 0);
    r.extend_from_slice(info);
    r
}

/// One version-resource block: wLength, wValueLength, wType, szKey, padding, Value, padding,
/// children (each 4-aligned).
fn block(key: &str, value: &[u8], value_len: u16, text: bool, children: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0u8; 6];
    b.extend_from_slice(&crate::text::utf16le_z(key));
    pad_to(&mut b, 4, 0);
    b.extend_from_slice(value);
    for c in children {
        pad_to(&mut b, 4, 0);
        b.extend_from_slice(c);
    }
    let len = u16::try_from(b.len()).unwrap_or(u16::MAX).to_le_bytes();
    b[0..2].copy_from_slice(&len);
    b[2..4].copy_from_slice(&value_len.to_le_bytes());
    b[4..6].copy_from_slice(&u16::from(text).to_le_bytes());
    b
}

/// The StringFileInfo strings a driver's version resource carries.
fn driver_strings(spec: &PeSpec) -> Vec<(&'static str, String)> {
    let [a, b, c, d] = spec.version;
    let version = format!("{a}.{b}.{c}.{d}");
    let stem = spec
        .name
        .rsplit_once('.')
        .map_or(spec.name.as_str(), |(s, _)| s);
    vec![
        ("CompanyName", spec.company.clone()),
        ("FileDescription", spec.description.clone()),
        ("FileVersion", version.clone()),
        ("InternalName", stem.to_string()),
        (
            "LegalCopyright",
            "\u{a9} Microsoft Corporation. All rights reserved.".to_string(),
        ),
        ("OriginalFilename", spec.name.clone()),
        ("ProductName", spec.product.clone()),
        ("ProductVersion", version),
    ]
}

/// A VS_VERSIONINFO for a driver (VFT_DRV) of `version`, with `strings` in a StringFileInfo
/// table for U.S. English / Unicode (none: the fixed part and the translation only).
pub fn version_info(version: [u16; 4], strings: &[(&str, String)]) -> Vec<u8> {
    let [a, b, c, d] = version.map(u32::from);
    let entries: Vec<Vec<u8>> = strings
        .iter()
        .map(|(k, v)| {
            let value = crate::text::utf16le_z(v);
            let words = u16::try_from(value.len() / 2).unwrap_or(u16::MAX);
            block(k, &value, words, true, &[])
        })
        .collect();
    let mut children = Vec::new();
    if !entries.is_empty() {
        let table = block("040904B0", &[], 0, true, &entries);
        children.push(block("StringFileInfo", &[], 0, true, &[table]));
    }
    let translation = block("Translation", &[0x09, 0x04, 0xb0, 0x04], 4, false, &[]);
    children.push(block("VarFileInfo", &[], 0, true, &[translation]));
    let mut fixed = Vec::new();
    for v in [
        0xfeef_04bd,
        0x0001_0000,
        (a << 16) | b,
        (c << 16) | d,
        (a << 16) | b,
        (c << 16) | d,
        0x3f,
        0,
        0x0004_0004, // VOS_NT_WINDOWS32
        3,           // VFT_DRV
        7,           // VFT2_DRV_SYSTEM
        0,
        0,
    ] {
        put_u32(&mut fixed, v);
    }
    block("VS_VERSION_INFO", &fixed, 52, false, &children)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pe::{Layout, Pe};

    #[test]
    fn a_written_driver_reads_back_through_our_pe_reader() {
        let mut spec = PeSpec::driver("filecrypt.sys");
        spec.exports = vec!["DriverEntry".into(), "filecryptDispatch".into()];
        spec.functions
            .push(FunctionSpec::new("BigFrame", 64, 0x1008));
        spec.codeview = Some(CodeViewSpec {
            guid: [7; 16],
            age: 3,
            pdb_path: "filecrypt.pdb".into(),
        });
        let bytes = write_pe(&spec);
        let pe = Pe::parse(&bytes, Layout::File).expect("parses");
        assert_eq!(pe.machine(), 0x8664);
        assert_eq!(pe.timestamp(), spec.timestamp);
        assert_eq!(pe.checksum(), pe.compute_checksum());
        let vi = pe.version_info().expect("version resource");
        assert_eq!(vi.company_name(), Some("Microsoft Corporation"));
        assert_eq!(vi.original_filename(), Some("filecrypt.sys"));
        assert_eq!(vi.file_version().as_deref(), Some("10.0.19041.3636"));
        let exports = pe.exports();
        let names: Vec<_> = exports
            .entries
            .iter()
            .filter_map(|e| e.name.clone())
            .collect();
        assert_eq!(names, vec!["DriverEntry", "filecryptDispatch"]);
        let rf = pe.runtime_functions();
        assert_eq!(rf.len(), 4);
        let big = pe.unwind_info(rf[3].unwind_info).expect("unwind");
        assert_eq!(big.size_of_prolog, 7);
        let cv = pe.codeview().expect("codeview");
        assert_eq!((cv.pdb_path.as_str(), cv.age), ("filecrypt.pdb", 3));
        // Authenticode works on it and no signature is present.
        let emb = crate::signing::embedded_signature(&bytes).expect("pe");
        assert!(!emb.present);
    }
}
