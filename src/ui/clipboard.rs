//! Copy to the user's clipboard through the terminal: OSC 52 (`ESC ] 52 ; c ; base64 BEL`).
//!
//! Over SSH and inside tmux there is no local clipboard to call; the terminal emulator on the
//! user's desk owns it. OSC 52 asks that terminal to set it (xterm, kitty, WezTerm, iTerm2,
//! Windows Terminal, foot, Alacritty); tmux with `set-clipboard on` stores the text as a paste
//! buffer and passes it on to the outer terminal. Case text is copied as text: control
//! characters other than tab and newline become `\xNN`, so pasting a copied path into a shell
//! can never run an escape sequence or a command hidden behind a carriage return.

use crate::text::base64_encode;

/// Most characters sent in one copy: terminals cap OSC 52 (xterm at about 100 kB of base64 by
/// default, tmux at its input buffer); more is cut, and the message says so.
pub const MAX_COPY_CHARS: usize = 74_000;

/// What a copy will put on the clipboard, made safe, and whether it was cut.
pub fn prepare(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len().min(MAX_COPY_CHARS * 4));
    let mut cut = false;
    for (n, c) in text.chars().enumerate() {
        if n >= MAX_COPY_CHARS {
            cut = true;
            break;
        }
        match c {
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    (out, cut)
}

/// The OSC 52 sequence that sets the clipboard (`c`) to `text` (already prepared).
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64_encode(text.as_bytes()))
}

/// The status-line message for a copy of `text` (prepared), cut or not.
pub fn message(what: &str, text: &str, cut: bool) -> String {
    let n = text.chars().count();
    if cut {
        format!("copied {what}: the first {n} chars (terminals take no more)")
    } else {
        format!("copied {what}: {n} chars")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_matches_rfc4648() {
        // RFC 4648 §10 test vectors.
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), enc);
            assert_eq!(
                crate::text::base64_decode(enc).as_deref(),
                Some(plain.as_bytes())
            );
        }
    }

    #[test]
    fn copied_text_carries_no_control_sequence() {
        let (t, cut) = prepare("a\x1b]0;owned\x07b\r\nc\td");
        assert_eq!(t, "a\\x1b]0;owned\\x07b\\x0d\nc\td");
        assert!(!cut);
        let seq = osc52(&t);
        assert!(seq.starts_with("\x1b]52;c;") && seq.ends_with('\x07'));
        // The payload is base64 only: no second ESC or BEL inside.
        assert_eq!(seq.matches('\x1b').count(), 1);
        assert_eq!(seq.matches('\x07').count(), 1);
    }

    #[test]
    fn long_copies_are_cut_and_say_so() {
        let long = "x".repeat(MAX_COPY_CHARS + 10);
        let (t, cut) = prepare(&long);
        assert!(cut);
        assert_eq!(t.chars().count(), MAX_COPY_CHARS);
        assert!(message("view", &t, cut).contains("the first 74000 chars"));
    }
}
