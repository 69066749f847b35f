//! Who this user is on every board: a display name and a colour, editable
//! in the profile menu and remembered in localStorage.

use serde::{Deserialize, Serialize};

use crate::dom;
use crate::platform::{Clock, random_bytes};

const KEY: &str = "corkboard.profile";

/// Colours offered for a person's cursor and selection outline.
pub const PALETTE: [&str; 8] =
    ["#e5484d", "#f76b15", "#ffb224", "#30a46c", "#12a594", "#0090ff", "#6e56cf", "#d6409f"];

/// A fresh profile's name is "<adjective> <animal>": 16 × 16 names, so two
/// newcomers on a board rarely share one (and their avatars' two initials
/// tell them apart).
const ADJECTIVES: [&str; 16] = [
    "Amber", "Brisk", "Calm", "Clever", "Curious", "Gentle", "Happy", "Jolly", "Kind", "Lucky", "Merry",
    "Nimble", "Quiet", "Sunny", "Swift", "Witty",
];
const ANIMALS: [&str; 16] = [
    "Otter", "Heron", "Lynx", "Badger", "Wren", "Marten", "Ibex", "Puffin", "Newt", "Kestrel", "Hare",
    "Moth", "Fox", "Owl", "Seal", "Yak",
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub color: String,
}

impl Profile {
    /// The remembered profile, or a fresh one with a friendly random name.
    pub fn load(clock: &dyn Clock) -> Profile {
        if let Some(profile) =
            dom::load_local(KEY).and_then(|text| serde_json::from_str::<Profile>(&text).ok())
            && !profile.name.trim().is_empty()
            && is_hex_colour(&profile.color)
        {
            return profile;
        }
        let [a, b, c] = random_bytes::<3>(clock);
        let profile = Profile {
            name: format!(
                "{} {}",
                ADJECTIVES[a as usize % ADJECTIVES.len()],
                ANIMALS[b as usize % ANIMALS.len()]
            ),
            color: PALETTE[c as usize % PALETTE.len()].to_owned(),
        };
        profile.save();
        profile
    }

    pub fn save(&self) {
        if let Ok(text) = serde_json::to_string(self) {
            dom::store_local(KEY, &text);
        }
    }

    /// A cleaned-up copy (the checks the desktop shell applies too): name
    /// trimmed to 64 characters ("Guest" when blank), a bad colour replaced.
    pub fn sanitised(name: &str, color: &str) -> Profile {
        let color = if is_hex_colour(color) { color } else { PALETTE[5] };
        match desktop_wire::Profile::checked(name, color, "Guest") {
            Ok(checked) => Profile { name: checked.name, color: checked.color },
            Err(_) => Profile { name: "Guest".into(), color: PALETTE[5].to_owned() },
        }
    }
}

pub use desktop_wire::is_hex_colour;

/// A person's colour as a badge with readable text on it (WCAG AA, 4.5:1):
/// `(background, text)`. The colour itself with white or near-black text
/// when either reads well enough, else the colour darkened until white does.
pub fn badge_colours(colour: &str) -> (String, &'static str) {
    let Some(rgb) = parse_hex(colour) else { return ("#59636e".to_owned(), "#ffffff") };
    let luminance = |[r, g, b]: [f64; 3]| {
        let linear = |c: f64| if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) };
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    };
    const DARK_INK: f64 = 0.0160; // #1f2328
    let with_white = |rgb| 1.05 / (luminance(rgb) + 0.05);
    let with_dark = |rgb| (luminance(rgb) + 0.05) / (DARK_INK + 0.05);
    if with_white(rgb) >= 4.5 {
        return (colour.to_owned(), "#ffffff");
    }
    if with_dark(rgb) >= 4.5 {
        return (colour.to_owned(), "#1f2328");
    }
    let mut darker = rgb;
    while with_white(darker) < 4.5 {
        darker = darker.map(|c| c * 0.9);
    }
    let hex = |c: f64| (c * 255.0).round().clamp(0.0, 255.0) as u8;
    (format!("#{:02x}{:02x}{:02x}", hex(darker[0]), hex(darker[1]), hex(darker[2])), "#ffffff")
}

fn parse_hex(colour: &str) -> Option<[f64; 3]> {
    let hex = colour.strip_prefix('#').filter(|h| h.len() == 6)?;
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok().map(|v| f64::from(v) / 255.0);
    Some([channel(0)?, channel(2)?, channel(4)?])
}

#[cfg(test)]
mod badge_tests {
    use super::*;

    #[test]
    fn every_colour_gets_text_that_reads() {
        for colour in PALETTE.iter().copied().chain(["#5b7fa6", "#777777", "#ffffff", "#000000", "bad"]) {
            let (background, ink) = badge_colours(colour);
            assert!(ink == "#ffffff" || ink == "#1f2328", "{colour}");
            assert!(background.starts_with('#') && background.len() == 7, "{colour} → {background}");
        }
        assert_eq!(badge_colours("#ffb224"), ("#ffb224".to_owned(), "#1f2328"));
        assert_eq!(badge_colours("#000000"), ("#000000".to_owned(), "#ffffff"));
        assert_ne!(badge_colours("#5b7fa6").0, "#5b7fa6", "a middle colour is darkened for white text");
    }
}
