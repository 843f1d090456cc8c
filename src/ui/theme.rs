//! The theme: named style slots in the 16 ANSI colours, a monochrome variant for `NO_COLOR`,
//! and an ASCII symbol set for terminals without box-drawing glyphs.

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
    pub border_set: border::Set<'static>,
    pub ascii: bool,
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
            border_set: border::PLAIN,
            ascii: false,
        }
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
            border_set: border::PLAIN,
            ascii: false,
        }
    }

    /// The theme the environment asks for: `NO_COLOR` (any non-empty value) means monochrome.
    pub fn from_env(ascii: bool) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let theme = if no_color {
            Theme::monochrome()
        } else {
            Theme::ansi16()
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
