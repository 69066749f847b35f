//! The colour theme: the system's (`prefers-color-scheme`) unless the
//! person picked light or dark in the profile menu. Kept in localStorage
//! (in a browser and in the desktop's webview alike) and set as
//! `data-theme` on `<html>`, which the stylesheet's `light-dark()` colours
//! follow; applied before the app first draws, so nothing flashes.

use crate::dom;

const THEME: &str = "corkboard.theme";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    /// The stored choice (the system's when none or an unknown one).
    pub fn load() -> Theme {
        match dom::load_local(THEME).as_deref() {
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            _ => Theme::System,
        }
    }

    /// Stores this choice and shows it at once.
    pub fn choose(self) {
        dom::store_local(THEME, self.as_str());
        self.apply();
    }

    /// Sets `data-theme` on `<html>` (none: follow the system).
    pub fn apply(self) {
        let Some(root) = dom::document().and_then(|d| d.document_element()) else { return };
        let _ = match self {
            Theme::System => root.remove_attribute("data-theme"),
            Theme::Light | Theme::Dark => root.set_attribute("data-theme", self.as_str()),
        };
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }
}
