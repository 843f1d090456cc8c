//! Selecting records before rendering them. A record's BinXML is an instance of a template
//! defined once per chunk; the template says where `System/Provider/@Name` and
//! `System/EventID` come from: a literal in the template, or substitution value N. We read that
//! once per template (by its chunk offset), then each record's provider and event ID cost a
//! look at its substitution values, so records of providers we do not want are never rendered.
//!
//! Token layout: MS-EVEN6 §2.2.12 (BinXml); template definition header: next offset (4),
//! GUID (16), data size (4), then a fragment.

use evtx::binxml::value_variant::BinXmlValue;

/// Where one System value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Literal(String),
    Substitution(u16),
}

/// What a template says about the provider and the event ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateInfo {
    pub provider: Option<Source>,
    pub event_id: Option<Source>,
}

const TEMPLATE_HEADER: usize = 24;

struct Reader<'a> {
    chunk: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.chunk.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.chunk.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.chunk.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        if self.pos + n > self.chunk.len() {
            return None;
        }
        self.pos += n;
        Some(())
    }
    fn utf16(&mut self, units: usize) -> Option<String> {
        let bytes = self.chunk.get(self.pos..self.pos + units * 2)?;
        self.pos += units * 2;
        let u: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Some(String::from_utf16_lossy(&u))
    }

    /// A name reference: a chunk offset to a name string (next offset 4, hash 2, length 2,
    /// UTF-16, NUL), written inline when it points right here.
    fn name(&mut self) -> Option<String> {
        let offset = self.u32()? as usize;
        if offset == self.pos {
            self.skip(6)?;
            let len = self.u16()? as usize;
            let s = self.utf16(len)?;
            self.skip(2)?;
            Some(s)
        } else {
            let mut at = Reader {
                chunk: self.chunk,
                pos: offset,
            };
            at.skip(6)?;
            let len = at.u16()? as usize;
            at.utf16(len)
        }
    }
}

/// Read the template defined at `def_offset` of `chunk`; `None` when it is not one we can read
/// (then the caller renders the record and decides afterwards).
pub(crate) fn scan_template(chunk: &[u8], def_offset: u32) -> Option<TemplateInfo> {
    let mut r = Reader {
        chunk,
        pos: def_offset as usize + TEMPLATE_HEADER,
    };
    let mut stack: Vec<String> = Vec::new();
    let mut attr: Option<String> = None;
    let mut info = TemplateInfo {
        provider: None,
        event_id: None,
    };
    // A template has a few dozen tokens; the bound keeps a damaged one from looping long.
    for _ in 0..10_000 {
        let token = r.u8()?;
        match token & 0x0f {
            0x00 => return Some(info),
            0x01 => {
                r.skip(2 + 4)?; // dependency id, data size
                let name = r.name()?;
                if token & 0x40 != 0 {
                    r.skip(4)?; // attribute list size
                }
                stack.push(name);
                attr = None;
            }
            0x02 => attr = None,
            0x03 | 0x04 => {
                stack.pop();
                attr = None;
            }
            0x05 => {
                let ty = r.u8()?;
                if ty != 0x01 {
                    return None;
                }
                let len = r.u16()? as usize;
                let text = r.utf16(len)?;
                note(&stack, attr.as_deref(), Source::Literal(text), &mut info);
            }
            0x06 => attr = Some(r.name()?),
            0x07 => {
                let len = r.u16()? as usize;
                r.skip(len * 2)?;
            }
            0x08 => r.skip(2)?,
            0x09 | 0x0a => {
                r.name()?;
            }
            0x0b => {
                let len = r.u16()? as usize;
                r.skip(len * 2)?;
            }
            0x0d | 0x0e => {
                let id = r.u16()?;
                r.skip(1)?;
                note(&stack, attr.as_deref(), Source::Substitution(id), &mut info);
            }
            0x0f => r.skip(3)?,
            _ => return None,
        }
    }
    None
}

fn note(stack: &[String], attr: Option<&str>, src: Source, info: &mut TemplateInfo) {
    let Some(top) = stack.last() else { return };
    let in_system = stack.len() >= 2 && stack[stack.len() - 2] == "System";
    if !in_system {
        return;
    }
    match (top.as_str(), attr) {
        ("Provider", Some("Name")) => info.provider = Some(src),
        ("EventID", None) => info.event_id = Some(src),
        _ => {}
    }
}

/// A substitution value as text (provider names are strings).
pub(crate) fn value_text(v: &BinXmlValue<'_>) -> Option<String> {
    match v {
        BinXmlValue::StringType(s) => s.to_string().ok(),
        BinXmlValue::AnsiStringType(s) => Some((*s).to_string()),
        _ => value_number(v).map(|n| n.to_string()),
    }
}

/// A substitution value as a number (event IDs are UInt16).
pub(crate) fn value_number(v: &BinXmlValue<'_>) -> Option<u64> {
    Some(match v {
        BinXmlValue::UInt8Type(n) => u64::from(*n),
        BinXmlValue::UInt16Type(n) => u64::from(*n),
        BinXmlValue::UInt32Type(n) | BinXmlValue::HexInt32Type(n) => u64::from(*n),
        BinXmlValue::UInt64Type(n) | BinXmlValue::HexInt64Type(n) => *n,
        BinXmlValue::Int8Type(n) => *n as u64,
        BinXmlValue::Int16Type(n) => *n as u64,
        BinXmlValue::Int32Type(n) => *n as u64,
        BinXmlValue::Int64Type(n) => *n as u64,
        BinXmlValue::StringType(s) => s.to_string().ok()?.trim().parse().ok()?,
        _ => return None,
    })
}

/// Resolve a source against a record's substitution values.
pub(crate) fn resolve_text(src: &Source, values: &[BinXmlValue<'_>]) -> Option<String> {
    match src {
        Source::Literal(s) => Some(s.clone()),
        Source::Substitution(i) => values.get(*i as usize).and_then(value_text),
    }
}

pub(crate) fn resolve_number(src: &Source, values: &[BinXmlValue<'_>]) -> Option<u64> {
    match src {
        Source::Literal(s) => s.trim().parse().ok(),
        Source::Substitution(i) => values.get(*i as usize).and_then(value_number),
    }
}

/// Who a record is (provider, event ID), read from its bytes without building it: the
/// record's BinXML at `binxml..end` of `chunk` is a fragment header, then a template instance
/// (token 0x0c, 1 byte, template ID 4, definition offset 4, the definition itself when it is
/// resident right there, then value count 4, descriptors of 4 bytes (size 2, type 1, pad 1),
/// then the values), and whether `wants(provider, id)`. `None` when the record is laid out
/// otherwise; the caller then renders it to find out.
pub(crate) fn record_wanted(
    chunk: &[u8],
    binxml: usize,
    end: usize,
    cache: &mut std::collections::HashMap<u32, Option<TemplateInfo>>,
    wants: impl Fn(&str, u16) -> bool,
) -> Option<bool> {
    let bytes = chunk.get(..end)?;
    let mut r = Reader {
        chunk: bytes,
        pos: binxml,
    };
    if r.u8()? == 0x0f {
        r.skip(3)?;
    } else {
        r.pos -= 1;
    }
    if r.u8()? & 0x0f != 0x0c {
        return None;
    }
    r.skip(1 + 4)?;
    let def_offset = r.u32()?;
    if def_offset as usize == r.pos {
        r.skip(20)?;
        let size = r.u32()? as usize;
        r.skip(size)?;
    }
    let count = r.u32()? as usize;
    if count > 4096 {
        return None;
    }
    let desc_at = r.pos;
    let values_at = desc_at.checked_add(count * 4)?;
    let info = cache
        .entry(def_offset)
        .or_insert_with(|| scan_template(chunk, def_offset))
        .as_ref()?;
    // The value `i`: its type and bytes.
    let value = |i: u16| -> Option<(u8, &[u8])> {
        let i = usize::from(i);
        if i >= count {
            return None;
        }
        let mut at = values_at;
        for k in 0..i {
            let d = desc_at + k * 4;
            at += usize::from(u16::from_le_bytes([*bytes.get(d)?, *bytes.get(d + 1)?]));
        }
        let d = desc_at + i * 4;
        let size = usize::from(u16::from_le_bytes([*bytes.get(d)?, *bytes.get(d + 1)?]));
        let ty = *bytes.get(d + 2)?;
        Some((ty, bytes.get(at..at + size)?))
    };
    let id = match info.event_id.as_ref()? {
        Source::Literal(s) => s.trim().parse().ok()?,
        Source::Substitution(i) => match value(*i)? {
            (0x06, b) => u16::from_le_bytes([*b.first()?, *b.get(1)?]),
            (0x04, b) => u16::from(*b.first()?),
            (0x08, b) => u16::try_from(u32::from_le_bytes(b.get(..4)?.try_into().ok()?)).ok()?,
            _ => return None,
        },
    };
    // Real logs name the provider literally in the template: no allocation per record.
    match info.provider.as_ref()? {
        Source::Literal(s) => Some(wants(s, id)),
        Source::Substitution(i) => {
            let (ty, b) = value(*i)?;
            if ty != 0x01 {
                return None;
            }
            let units: Vec<u16> = b
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|u| *u != 0)
                .collect();
            Some(wants(&String::from_utf16(&units).ok()?, id))
        }
    }
}
