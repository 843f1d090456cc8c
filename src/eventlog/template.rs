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
