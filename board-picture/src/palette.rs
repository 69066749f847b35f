//! The colours of a board: the six JSON Canvas presets as soft card
//! backgrounds and as stronger line colours, and the default surfaces.

use board_model::Color;

/// The six JSON Canvas presets as soft card colours (name, CSS colour).
pub const PRESETS: [(&str, &str); 6] = [
    ("Red", "#ffd8d6"),
    ("Orange", "#ffe1c4"),
    ("Yellow", "#fff2a8"),
    ("Green", "#d3f2d5"),
    ("Cyan", "#cdeef4"),
    ("Purple", "#e7ddfb"),
];

/// The presets as line colours: an edge in a soft colour would vanish.
pub const LINE_PRESETS: [&str; 6] = ["#e5484d", "#f2893f", "#d9b500", "#3aa757", "#1aa6c1", "#8e5bd9"];

/// A card with no colour.
pub const CARD: &str = "#ffffff";
/// A board with no background colour.
pub const BOARD: &str = "#f4f1ea";
/// An edge with no colour.
pub const LINE: &str = "#8b929c";
/// A group with no colour.
pub const GROUP: &str = "#8a94a6";
/// Text.
pub const INK: &str = "#1f2328";
/// Secondary text.
pub const INK_SOFT: &str = "#59636e";
/// Links and the accent.
pub const ACCENT: &str = "#3b6ff5";

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A card's (or the board's) background for `color`.
pub fn fill(color: &Color) -> String {
    match color {
        Color::Preset(n) => PRESETS.get(usize::from(*n).wrapping_sub(1)).map_or(CARD, |p| p.1).to_owned(),
        Color::Rgb(rgb) => hex(*rgb),
    }
}

/// An edge's (or a group frame's) line colour for `color`.
pub fn line(color: &Color) -> String {
    match color {
        Color::Preset(n) => {
            LINE_PRESETS.get(usize::from(*n).wrapping_sub(1)).copied().unwrap_or(LINE).to_owned()
        }
        Color::Rgb(rgb) => hex(*rgb),
    }
}

/// Whether text on `background` (`#rrggbb`) should be light.
pub fn is_dark(background: &str) -> bool {
    let channel = |i: usize| u8::from_str_radix(background.get(i..i + 2).unwrap_or("ff"), 16).unwrap_or(255);
    let (r, g, b) = (f64::from(channel(1)), f64::from(channel(3)), f64::from(channel(5)));
    0.299 * r + 0.587 * g + 0.114 * b < 128.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_rgb_colours() {
        assert_eq!(fill(&Color::Preset(1)), "#ffd8d6");
        assert_eq!(line(&Color::Preset(6)), "#8e5bd9");
        assert_eq!(fill(&Color::Rgb([1, 2, 255])), "#0102ff");
        assert!(is_dark("#2b2d31") && !is_dark(BOARD));
    }
}
