//! The theme: named style slots in the 16 ANSI colours, a monochrome variant for `NO_COLOR`,
//! and an ASCII symbol set for terminals without box-drawing glyphs. 256-colour and 24-bit
//! codes are used only when the terminal says it has them ([`ColorDepth::detect`]: `COLORTERM`
//! truecolor/24bit, `TERM` ending in -256color); nothing that must be read is drawn in bright
//! black (DarkGray), which is the background colour in common 16-colour palettes.

/// How many colours the terminal says it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorDepth {
    Ansi16,
    Ansi256,
    TrueColor,
}

impl ColorDepth {
    /// From `$COLORTERM` and `$TERM` as terminals set them: `COLORTERM=truecolor` or `24bit`
    /// (any case), then a TERM ending in `-256color` (or `-direct`); anything else (xterm,
    /// screen, linux, vt100, none) is 16 colours.
    pub fn detect(colorterm: Option<&str>, term: Option<&str>) -> ColorDepth {
        let ct = colorterm.unwrap_or("").to_ascii_lowercase();
        let term = term.unwrap_or("").to_ascii_lowercase();
        if ct == "truecolor" || ct == "24bit" || term.ends_with("-direct") {
            ColorDepth::TrueColor
        } else if term.ends_with("-256color") || term.ends_with("256") {
            ColorDepth::Ansi256
        } else {
            ColorDepth::Ansi16
        }
    }
}

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

#[derive(Clone, Debug)]
pub struct Theme {
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub border: Style,
    pub border_active: Style,
    pub header: Style,
    pub selected: Style,
    pub focused_driver: Style,
    pub bad: Style,
    pub warn: Style,
    pub good: Style,
    pub key: Style,
    pub tab_active: Style,
    pub status: Style,
    /// Rows a highlight rule marks (the Timeline): Procmon's light-blue band where the
    /// terminal has the colours for it, else bold cyan text.
    pub highlight: Style,
    pub border_set: border::Set<'static>,
    pub ascii: bool,
    pub depth: ColorDepth,
}

/// Borders drawn with `+ - |` for PuTTY and fonts without line-drawing glyphs.
pub const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

impl Theme {
    /// The default theme: 16 named colours, reset backgrounds, selection in reverse video.
    pub fn ansi16() -> Theme {
        Theme {
            text: Style::new(),
            // Faint, not bright black: in common 16-colour palettes bright black is the
            // background colour, and hints and fix lines must stay readable.
            dim: Style::new().add_modifier(Modifier::DIM),
            title: Style::new().add_modifier(Modifier::BOLD),
            border: Style::new().fg(Color::DarkGray),
            border_active: Style::new().fg(Color::Cyan),
            header: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            focused_driver: Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            bad: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            warn: Style::new().fg(Color::Yellow),
            good: Style::new().fg(Color::Green),
            key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            tab_active: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            status: Style::new().add_modifier(Modifier::REVERSED),
            highlight: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            border_set: border::PLAIN,
            ascii: false,
            depth: ColorDepth::Ansi16,
        }
    }

    /// The 16-colour theme with what a richer terminal adds (the highlight band, its text in
    /// black set explicitly so it reads on any palette).
    pub fn with_depth(mut self, depth: ColorDepth) -> Theme {
        self.depth = depth;
        self.highlight = match depth {
            ColorDepth::Ansi16 => self.highlight,
            ColorDepth::Ansi256 => Style::new().fg(Color::Indexed(16)).bg(Color::Indexed(153)),
            ColorDepth::TrueColor => Style::new()
                .fg(Color::Rgb(0, 0, 0))
                .bg(Color::Rgb(0xC6, 0xE2, 0xFF)),
        };
        self
    }

    /// `NO_COLOR`: no colours at all; meaning carried by bold, underline and reverse video.
    pub fn monochrome() -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            text: Style::new(),
            dim: Style::new(),
            title: bold,
            border: Style::new(),
            border_active: bold,
            header: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            focused_driver: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            bad: bold,
            warn: Style::new().add_modifier(Modifier::UNDERLINED),
            good: Style::new(),
            key: bold,
            tab_active: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            status: Style::new().add_modifier(Modifier::REVERSED),
            highlight: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            border_set: border::PLAIN,
            ascii: false,
            depth: ColorDepth::Ansi16,
        }
    }

    /// The theme the environment asks for: `NO_COLOR` (any non-empty value) means monochrome.
    pub fn from_env(ascii: bool) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let var = |k: &str| std::env::var(k).ok();
        let theme = if no_color {
            Theme::monochrome()
        } else {
            Theme::ansi16().with_depth(ColorDepth::detect(
                var("COLORTERM").as_deref(),
                var("TERM").as_deref(),
            ))
        };
        if ascii { theme.with_ascii() } else { theme }
    }

    pub fn with_ascii(mut self) -> Theme {
        self.border_set = ASCII_BORDER;
        self.ascii = true;
        self
    }

    /// The marker drawn before the selected row.
    pub fn cursor(&self) -> &'static str {
        if self.ascii { "> " } else { "▶ " }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every style slot with its name.
    fn slots(t: &Theme) -> Vec<(&'static str, Style)> {
        vec![
            ("text", t.text),
            ("dim", t.dim),
            ("title", t.title),
            ("border", t.border),
            ("border_active", t.border_active),
            ("header", t.header),
            ("selected", t.selected),
            ("focused_driver", t.focused_driver),
            ("bad", t.bad),
            ("warn", t.warn),
            ("good", t.good),
            ("key", t.key),
            ("tab_active", t.tab_active),
            ("status", t.status),
            ("highlight", t.highlight),
        ]
    }

    fn rich(c: Option<Color>) -> bool {
        matches!(c, Some(Color::Indexed(_) | Color::Rgb(..)))
    }

    #[test]
    fn colour_depth_comes_from_colorterm_and_term() {
        use ColorDepth::*;
        assert_eq!(
            ColorDepth::detect(Some("truecolor"), Some("xterm")),
            TrueColor
        );
        assert_eq!(ColorDepth::detect(Some("24BIT"), None), TrueColor);
        assert_eq!(ColorDepth::detect(None, Some("xterm-256color")), Ansi256);
        assert_eq!(ColorDepth::detect(None, Some("screen-256color")), Ansi256);
        for term in [
            Some("xterm"),
            Some("screen"),
            Some("linux"),
            Some("vt100"),
            None,
        ] {
            assert_eq!(ColorDepth::detect(None, term), Ansi16, "{term:?}");
        }
        assert_eq!(ColorDepth::detect(Some("yes"), Some("xterm")), Ansi16);
    }

    #[test]
    fn sixteen_colour_terminals_get_no_256_colour_codes_and_nothing_to_read_in_bright_black() {
        for t in [
            Theme::ansi16(),
            Theme::ansi16().with_depth(ColorDepth::Ansi16),
            Theme::monochrome(),
        ] {
            for (name, s) in slots(&t) {
                assert!(!rich(s.fg) && !rich(s.bg), "{name}: {s:?}");
                // Bright black is the background in common palettes: only the (unread)
                // border lines may use it.
                if name != "border" {
                    assert_ne!(s.fg, Some(Color::DarkGray), "{name}");
                    assert_ne!(s.bg, Some(Color::DarkGray), "{name}");
                }
            }
        }
        for depth in [ColorDepth::Ansi256, ColorDepth::TrueColor] {
            let t = Theme::ansi16().with_depth(depth);
            // The highlight band sets its own text colour, so it reads on any palette.
            assert!(rich(t.highlight.bg) && rich(t.highlight.fg), "{depth:?}");
            let rgb = matches!(t.highlight.bg, Some(Color::Rgb(..)));
            assert_eq!(rgb, depth == ColorDepth::TrueColor);
        }
    }
}
