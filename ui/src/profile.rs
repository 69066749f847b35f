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
