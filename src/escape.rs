//! Text from a case never reaches a terminal as a control sequence.
//!
//! A service name, a driver path inside a dump, an event string or a file name may hold
//! `ESC ] 0 ; … BEL` (retitles the terminal), `ESC [ ? 1049 l` (leaves the alternate screen),
//! a C1 control (U+009B is a one-character CSI), a bidi override that reorders what is shown,
//! or bytes that are not UTF-8. [`escape_field`] turns one value into a single printable line;
//! [`SafeWriter`] does the same to a byte stream, keeping the line structure of the output.
//!
//! Escapes: C0 controls and DEL as `\x1b`, C1 controls, bidi controls and other invisible
//! format characters as `\u{9b}`, bytes that are not UTF-8 as `\xff`. JSON output keeps valid
//! JSON: those characters become `\u009b` escapes (only found inside strings).

use std::borrow::Cow;
use std::io::{self, Write};

/// How a [`SafeWriter`] treats the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Bytes pass unchanged (CSV or JSON to a file or a pipe).
    Raw,
    /// Human text: `\n` and `\t` stay, everything else that controls the terminal is escaped.
    Text,
    /// CSV to a terminal: as Text, and a `\r\n` record end stays.
    Csv,
    /// JSON to a terminal: DEL, C1 and bidi controls as `\uXXXX` (still valid JSON).
    Json,
}

/// Whether a character (not ASCII) must not reach a terminal as itself.
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'          // C1 controls (U+009B = CSI, U+009D = OSC)
        | '\u{061c}'                 // Arabic letter mark
        | '\u{200b}'..='\u{200f}'    // zero-width space/joiners, LRM, RLM
        | '\u{2028}' | '\u{2029}'    // line and paragraph separators
        | '\u{202a}'..='\u{202e}'    // bidi embeddings and overrides
        | '\u{2066}'..='\u{2069}'    // bidi isolates
        | '\u{feff}'                 // zero-width no-break space
    )
}

/// One value as one printable line: every control character (newlines too) escaped.
pub fn escape_field(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| c.is_ascii_control() || (!c.is_ascii() && is_hidden(c)))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_char(&mut out, c, true);
    }
    Cow::Owned(out)
}

/// Bytes (maybe not UTF-8) as one printable line.
pub fn escape_bytes_field(b: &[u8]) -> String {
    let mut out = Vec::new();
    let mut e = Escaper::new(Mode::Text);
    e.feed(b, &mut out);
    e.finish(&mut out);
    String::from_utf8_lossy(&out)
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

fn push_char(out: &mut String, c: char, escape_newline: bool) {
    use std::fmt::Write as _;
    match c {
        '\n' | '\t' if !escape_newline => out.push(c),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c.is_ascii_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if !c.is_ascii() && is_hidden(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// A streaming escaper: bytes in, safe bytes out; a UTF-8 sequence split between two writes is
/// held until the next.
#[derive(Debug)]
pub struct Escaper {
    mode: Mode,
    pending: Vec<u8>,
}

impl Escaper {
    pub fn new(mode: Mode) -> Escaper {
        Escaper {
            mode,
            pending: Vec::new(),
        }
    }

    /// Escape `data` onto `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if self.mode == Mode::Raw {
            out.extend_from_slice(data);
            return;
        }
        let joined;
        let mut rest: &[u8] = if self.pending.is_empty() {
            data
        } else {
            let mut v = std::mem::take(&mut self.pending);
            v.extend_from_slice(data);
            joined = v;
            &joined
        };
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.push_str(s, out);
                    return;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    if let Ok(s) = std::str::from_utf8(good) {
                        self.push_str(s, out);
                    }
                    match e.error_len() {
                        // A sequence cut by the end of this write: wait for the rest.
                        None if bad.len() < 4 => {
                            self.pending = bad.to_vec();
                            return;
                        }
                        None => {
                            self.push_bad(bad, out);
                            return;
                        }
                        Some(n) => {
                            self.push_bad(&bad[..n], out);
                            rest = &bad[n..];
                        }
                    }
                }
            }
        }
    }

    /// The end of the stream: bytes still held are not UTF-8 and are written escaped.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let held = std::mem::take(&mut self.pending);
        if held == b"\r" {
            out.extend_from_slice(b"\\r");
        } else if !held.is_empty() {
            self.push_bad(&held, out);
        }
    }

    fn push_bad(&self, bytes: &[u8], out: &mut Vec<u8>) {
        use std::io::Write as _;
        for b in bytes {
            let _ = match self.mode {
                // Cannot occur in serde_json output; keep it valid JSON anyway.
                Mode::Json => write!(out, "\\ufffd"),
                _ => write!(out, "\\x{b:02x}"),
            };
        }
    }

    fn push_str(&mut self, s: &str, out: &mut Vec<u8>) {
        let bytes = s.as_bytes();
        let mut start = 0;
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let plain = match c {
                '\n' | '\t' => true,
                '\r' if self.mode == Mode::Csv => {
                    match chars.peek() {
                        Some((_, '\n')) => true,
                        Some(_) => false,
                        None => {
                            // A record end split between writes: hold the CR.
                            out.extend_from_slice(&bytes[start..i]);
                            self.pending = b"\r".to_vec();
                            return;
                        }
                    }
                }
                '\r' => false,
                c if c.is_ascii_control() => false,
                c if c.is_ascii() => true,
                c => !is_hidden(c),
            };
            if plain {
                continue;
            }
            out.extend_from_slice(&bytes[start..i]);
            start = i + c.len_utf8();
            let mut esc = String::new();
            if self.mode == Mode::Json {
                if c.is_ascii_control() || is_hidden(c) {
                    use std::fmt::Write as _;
                    let _ = write!(esc, "\\u{:04x}", c as u32);
                }
            } else {
                push_char(&mut esc, c, true);
            }
            out.extend_from_slice(esc.as_bytes());
        }
        out.extend_from_slice(&bytes[start..]);
    }
}

/// A writer that escapes what passes through it (see [`Mode`]). Call `flush` at the end: it
/// writes any held partial sequence escaped.
pub struct SafeWriter<W: Write> {
    inner: W,
    esc: Escaper,
    buf: Vec<u8>,
}

impl<W: Write> SafeWriter<W> {
    pub fn new(inner: W, mode: Mode) -> SafeWriter<W> {
        SafeWriter {
            inner,
            esc: Escaper::new(mode),
            buf: Vec::new(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.esc.mode
    }
}

impl<W: Write> Write for SafeWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.esc.mode == Mode::Raw {
            return self.inner.write(data);
        }
        self.buf.clear();
        self.esc.feed(data, &mut self.buf);
        self.inner.write_all(&self.buf)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.buf.clear();
        self.esc.finish(&mut self.buf);
        self.inner.write_all(&self.buf)?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(mode: Mode, pieces: &[&[u8]]) -> String {
        let mut w = SafeWriter::new(Vec::new(), mode);
        for p in pieces {
            w.write_all(p).unwrap();
        }
        w.flush().unwrap();
        String::from_utf8(w.inner).unwrap()
    }

    #[test]
    fn osc_title_and_alternate_screen_are_escaped() {
        let s = "svc\x1b]0;pwned\x07\x1b[?1049l\n";
        assert_eq!(
            through(Mode::Text, &[s.as_bytes()]),
            "svc\\x1b]0;pwned\\x07\\x1b[?1049l\n"
        );
    }

    #[test]
    fn c1_bidi_and_invalid_bytes_are_escaped_even_when_split() {
        let s = "a\u{9b}31m b\u{202e}gnp.exe\n".as_bytes();
        // Split inside the two-byte C1 and the three-byte override.
        let out = through(Mode::Text, &[&s[..2], &s[2..8], &s[8..]]);
        assert_eq!(out, "a\\u{9b}31m b\\u{202e}gnp.exe\n");
        assert_eq!(through(Mode::Text, &[b"x\xff\xc3"]), "x\\xff\\xc3");
        assert_eq!(through(Mode::Text, &[b"caf\xc3", b"\xa9"]), "café");
    }

    #[test]
    fn csv_keeps_record_ends_and_raw_keeps_everything() {
        assert_eq!(
            through(Mode::Csv, &[b"a,\"b\x1bc\"\r", b"\nx\ry\r\n"]),
            "a,\"b\\x1bc\"\r\nx\\ry\r\n"
        );
        assert_eq!(through(Mode::Raw, &[b"\x1b[2J\r\n"]), "\x1b[2J\r\n");
    }

    #[test]
    fn json_stays_valid_json() {
        let v = serde_json::json!({"name": "a\u{9b}b\u{7f}\u{202e}\u{1b}"});
        let out = through(Mode::Json, &[serde_json::to_string(&v).unwrap().as_bytes()]);
        assert!(!out.contains('\u{9b}') && !out.contains('\u{1b}'), "{out}");
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn a_field_is_one_line() {
        assert_eq!(escape_field("a\nb\tc"), "a\\nb\\tc");
        assert!(matches!(escape_field("plain C:\\x"), Cow::Borrowed(_)));
        assert_eq!(escape_bytes_field(b"n\xe9\n"), "n\\xe9\\n");
    }
}
