//! Virtual-memory reads over every dump layout: triage data blocks and the call-stack window,
//! physical pages with a page walk (x64 4-level; x86 PAE 3-level and non-PAE 2-level) for full,
//! bitmap and range dumps, user minidump ranges.

use super::physical::PhysMap;
use std::sync::Arc;

/// Why a virtual address could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The dump does not hold the bytes (normal for triage and kernel dumps).
    #[error("{0:#x}: not in the dump")]
    NotInDump(u64),
    /// The page tables say the page is not present (paged out or prototype PTE).
    #[error("{0:#x}: page not present (paged out)")]
    NotPresent(u64),
    /// This dump carries no readable memory.
    #[error("this dump holds no readable memory")]
    NoMemory,
}

/// A span of a dump file that holds the bytes of `[va, va+size)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub va: u64,
    pub file_offset: u64,
    pub size: u64,
}

impl Block {
    fn end(&self) -> u64 {
        self.va.saturating_add(self.size)
    }
}

/// How the dump stores memory.
#[derive(Debug)]
pub enum Backing {
    None,
    /// Blocks sorted by VA (triage data blocks plus the stack window; user memory ranges).
    Blocks(Vec<Block>),
    /// Physical pages, the kernel page-table root and how to walk the tables.
    Physical {
        phys: PhysMap,
        cr3: u64,
        paging: Paging,
    },
}

/// The page-table format of a physical-backed dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Paging {
    /// x64 4-level (PML4, PDPT, PD, PT; 8-byte entries).
    X64,
    /// x86 PAE 3-level (4-entry PDPT at CR3 & ~0x1f, PD, PT; 8-byte entries; 2 MiB large pages).
    X86Pae,
    /// x86 without PAE 2-level (PD, PT; 4-byte entries; 4 MiB large pages).
    X86,
}

/// The memory of a dump. Cheap to share (`Arc` of the file bytes).
pub struct Memory {
    bytes: Arc<crate::mapped::Bytes>,
    backing: Backing,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("backing", &self.backing)
            .finish()
    }
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            bytes: Arc::new(crate::mapped::Bytes::Owned(Vec::new())),
            backing: Backing::None,
        }
    }
}

const PFN_MASK: u64 = 0x000f_ffff_ffff_f000;

impl Memory {
    pub fn new(bytes: Arc<crate::mapped::Bytes>, backing: Backing) -> Memory {
        let backing = match backing {
            Backing::Blocks(mut v) => {
                v.sort_by_key(|b| b.va);
                Backing::Blocks(v)
            }
            other => other,
        };
        Memory { bytes, backing }
    }

    pub fn backing(&self) -> &Backing {
        &self.backing
    }

    /// The shared file bytes (for a new backing over the same file).
    pub fn shared_bytes(&self) -> Arc<crate::mapped::Bytes> {
        self.bytes.clone()
    }

    /// The file bytes behind the dump.
    pub fn file(&self) -> &[u8] {
        &self.bytes
    }

    /// Read `buf.len()` bytes at `va`; fails unless every byte is in the dump.
    pub fn read(&self, va: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        match &self.backing {
            Backing::None => Err(ReadError::NoMemory),
            Backing::Blocks(blocks) => self.read_blocks(blocks, va, buf),
            Backing::Physical { phys, cr3, paging } => {
                let mut done = 0usize;
                while done < buf.len() {
                    let cur = va.wrapping_add(done as u64);
                    let pa = translate(phys, &self.bytes, *cr3, *paging, cur)?;
                    let in_page = (0x1000 - (cur & 0xfff)) as usize;
                    let n = in_page.min(buf.len() - done);
                    let src = phys
                        .page(&self.bytes, pa >> 12)
                        .ok_or(ReadError::NotInDump(cur))?;
                    let off = (pa & 0xfff) as usize;
                    let (Some(s), Some(d)) = (src.get(off..off + n), buf.get_mut(done..done + n))
                    else {
                        return Err(ReadError::NotInDump(cur));
                    };
                    d.copy_from_slice(s);
                    done += n;
                }
                Ok(())
            }
        }
    }

    fn read_blocks(&self, blocks: &[Block], va: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let mut done = 0usize;
        while done < buf.len() {
            let cur = va.wrapping_add(done as u64);
            // The last block starting at or below `cur` (blocks may overlap: try a few back).
            let idx = blocks.partition_point(|b| b.va <= cur);
            let block = blocks[..idx]
                .iter()
                .rev()
                .take(4)
                .find(|b| cur < b.end())
                .ok_or(ReadError::NotInDump(cur))?;
            let avail = (block.end() - cur) as usize;
            let n = avail.min(buf.len() - done);
            let start = block.file_offset + (cur - block.va);
            let src = usize::try_from(start)
                .ok()
                .and_then(|s| self.bytes.get(s..s.checked_add(n)?))
                .ok_or(ReadError::NotInDump(cur))?;
            let Some(d) = buf.get_mut(done..done + n) else {
                return Err(ReadError::NotInDump(cur));
            };
            d.copy_from_slice(src);
            done += n;
        }
        Ok(())
    }

    /// Read `len` bytes at `va` into a vector.
    pub fn read_vec(&self, va: u64, len: usize) -> Result<Vec<u8>, ReadError> {
        let mut v = vec![0u8; len];
        self.read(va, &mut v)?;
        Ok(v)
    }

    /// As many bytes as can be read from `va` up to `len` (stops at the first gap).
    pub fn read_prefix(&self, va: u64, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cur = va;
        while out.len() < len {
            let chunk = ((0x1000 - (cur & 0xfff)) as usize).min(len - out.len());
            match self.read_vec(cur, chunk) {
                Ok(v) => out.extend_from_slice(&v),
                Err(_) => {
                    // Fall back to single bytes inside a partially covered page.
                    let mut b = [0u8; 1];
                    if self.read(cur, &mut b).is_err() {
                        break;
                    }
                    out.push(b[0]);
                    cur = cur.wrapping_add(1);
                    continue;
                }
            }
            cur = cur.wrapping_add(chunk as u64);
        }
        out
    }

    pub fn read_u64(&self, va: u64) -> Result<u64, ReadError> {
        let mut b = [0u8; 8];
        self.read(va, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn read_u32(&self, va: u64) -> Result<u32, ReadError> {
        let mut b = [0u8; 4];
        self.read(va, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn read_u16(&self, va: u64) -> Result<u16, ReadError> {
        let mut b = [0u8; 2];
        self.read(va, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    /// Read a UNICODE_STRING64 at `va` (Length u16, MaximumLength u16, Buffer u64 at +8).
    pub fn read_unicode_string64(&self, va: u64) -> Result<String, ReadError> {
        let len = self.read_u16(va)? as usize;
        let buffer = self.read_u64(va + 8)?;
        let raw = self.read_vec(buffer, len.min(0x1000))?;
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(String::from_utf16_lossy(&units))
    }

    /// Read a UNICODE_STRING32 at `va` (Length u16, MaximumLength u16, Buffer u32 at +4).
    pub fn read_unicode_string32(&self, va: u64) -> Result<String, ReadError> {
        let len = self.read_u16(va)? as usize;
        let buffer = self.read_u32(va.checked_add(4).ok_or(ReadError::NotInDump(va))?)?;
        let raw = self.read_vec(buffer.into(), len.min(0x1000))?;
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(String::from_utf16_lossy(&units))
    }

    /// A UNICODE_STRING of the dump's pointer width (`wide` = 64-bit).
    pub fn read_unicode_string(&self, va: u64, wide: bool) -> Result<String, ReadError> {
        if wide {
            self.read_unicode_string64(va)
        } else {
            self.read_unicode_string32(va)
        }
    }

    /// A pointer of the dump's width (`wide` = 64-bit), zero-extended.
    pub fn read_ptr(&self, va: u64, wide: bool) -> Result<u64, ReadError> {
        if wide {
            self.read_u64(va)
        } else {
            self.read_u32(va).map(u64::from)
        }
    }

    /// The page-table format, for physical-backed dumps.
    pub fn paging(&self) -> Option<Paging> {
        match &self.backing {
            Backing::Physical { paging, .. } => Some(*paging),
            _ => None,
        }
    }

    /// Translate a virtual address to a physical one (physical-backed dumps only).
    pub fn translate(&self, va: u64) -> Result<u64, ReadError> {
        match &self.backing {
            Backing::Physical { phys, cr3, paging } => {
                translate(phys, &self.bytes, *cr3, *paging, va)
            }
            _ => Err(ReadError::NoMemory),
        }
    }
}

fn read_phys_u64(phys: &PhysMap, bytes: &[u8], pa: u64) -> Result<u64, ReadError> {
    let page = phys.page(bytes, pa >> 12).ok_or(ReadError::NotInDump(pa))?;
    let off = (pa & 0xfff) as usize;
    super::le::u64_at(page, off).ok_or(ReadError::NotInDump(pa))
}

fn read_phys_u32(phys: &PhysMap, bytes: &[u8], pa: u64) -> Result<u32, ReadError> {
    let page = phys.page(bytes, pa >> 12).ok_or(ReadError::NotInDump(pa))?;
    let off = (pa & 0xfff) as usize;
    super::le::u32_at(page, off).ok_or(ReadError::NotInDump(pa))
}

/// Virtual to physical by the dump's paging mode.
fn translate(
    phys: &PhysMap,
    bytes: &[u8],
    cr3: u64,
    paging: Paging,
    va: u64,
) -> Result<u64, ReadError> {
    match paging {
        Paging::X64 => translate_x64(phys, bytes, cr3, va),
        Paging::X86Pae => translate_pae(phys, bytes, cr3, va),
        Paging::X86 => translate_x86(phys, bytes, cr3, va),
    }
}

/// A leaf PTE that names a page in RAM: present, or a transition PTE (bit 11 set, prototype
/// bit 10 clear), which x64 and x86 (PAE or not) Windows share.
fn leaf_in_ram(pte: u64) -> bool {
    pte & 1 != 0 || (pte & (1 << 11) != 0 && pte & (1 << 10) == 0)
}

/// x86 PAE walk: CR3 is 32-byte aligned and points at 4 PDPTEs (bits 31:30 of the VA), then a
/// PD (29:21) and a PT (20:12) of 8-byte entries; PS in a PDE maps a 2 MiB page.
fn translate_pae(phys: &PhysMap, bytes: &[u8], cr3: u64, va: u64) -> Result<u64, ReadError> {
    if va > 0xffff_ffff {
        return Err(ReadError::NotInDump(va));
    }
    let pdpt = cr3 & 0xffff_ffe0;
    let pdpte = read_phys_u64(phys, bytes, pdpt + ((va >> 30) & 3) * 8)?;
    if pdpte & 1 == 0 {
        return Err(ReadError::NotPresent(va));
    }
    let pde = read_phys_u64(phys, bytes, (pdpte & PFN_MASK) + ((va >> 21) & 0x1ff) * 8)?;
    if pde & 1 == 0 {
        return Err(ReadError::NotPresent(va));
    }
    if pde & 0x80 != 0 {
        return Ok((pde & 0x000f_ffff_ffe0_0000) | (va & 0x1f_ffff));
    }
    let pte = read_phys_u64(phys, bytes, (pde & PFN_MASK) + ((va >> 12) & 0x1ff) * 8)?;
    if !leaf_in_ram(pte) {
        return Err(ReadError::NotPresent(va));
    }
    Ok((pte & PFN_MASK) | (va & 0xfff))
}

/// x86 non-PAE walk: a PD at CR3 & ~0xfff (bits 31:22 of the VA), then a PT (21:12) of 4-byte
/// entries; PS in a PDE maps a 4 MiB page (PSE-36: PDE bits 20:13 are PA bits 39:32).
fn translate_x86(phys: &PhysMap, bytes: &[u8], cr3: u64, va: u64) -> Result<u64, ReadError> {
    if va > 0xffff_ffff {
        return Err(ReadError::NotInDump(va));
    }
    let pd = cr3 & 0xffff_f000;
    let pde = u64::from(read_phys_u32(phys, bytes, pd + (va >> 22) * 4)?);
    if pde & 1 == 0 {
        return Err(ReadError::NotPresent(va));
    }
    if pde & 0x80 != 0 {
        let high = ((pde >> 13) & 0xff) << 32;
        return Ok(high | (pde & 0xffc0_0000) | (va & 0x3f_ffff));
    }
    let pte = u64::from(read_phys_u32(
        phys,
        bytes,
        (pde & 0xffff_f000) + ((va >> 12) & 0x3ff) * 4,
    )?);
    if !leaf_in_ram(pte) {
        return Err(ReadError::NotPresent(va));
    }
    Ok((pte & 0xffff_f000) | (va & 0xfff))
}

/// x64 4-level walk (docs/formats/crash-dump.md §2.9): large (PS) pages at PDPT/PD, transition PTEs read through.
fn translate_x64(phys: &PhysMap, bytes: &[u8], cr3: u64, va: u64) -> Result<u64, ReadError> {
    let table = cr3 & PFN_MASK;
    let idx = |shift: u32| (va >> shift) & 0x1ff;
    let pml4e = read_phys_u64(phys, bytes, table + idx(39) * 8)?;
    if pml4e & 1 == 0 {
        return Err(ReadError::NotPresent(va));
    }
    let pdpte = read_phys_u64(phys, bytes, (pml4e & PFN_MASK) + idx(30) * 8)?;
    if pdpte & 1 == 0 {
        return Err(ReadError::NotPresent(va));
    }
    if pdpte & 0x80 != 0 {
        return Ok((pdpte & 0x000f_ffff_c000_0000) | (va & 0x3fff_ffff));
    }
    let pde = read_phys_u64(phys, bytes, (pdpte & PFN_MASK) + idx(21) * 8)?;
    if pde & 1 == 0 {
        return Err(ReadError::NotPresent(va));
    }
    if pde & 0x80 != 0 {
        return Ok((pde & 0x000f_ffff_ffe0_0000) | (va & 0x1f_ffff));
    }
    let pte = read_phys_u64(phys, bytes, (pde & PFN_MASK) + idx(12) * 8)?;
    let present = pte & 1 != 0;
    // A transition PTE (bit 11 set, prototype bit 10 clear) still names the page in RAM.
    let transition = pte & (1 << 11) != 0 && pte & (1 << 10) == 0;
    if !present && !transition {
        return Err(ReadError::NotPresent(va));
    }
    Ok((pte & PFN_MASK) | (va & 0xfff))
}
