//! The web app's stable test contract, in one place: every CSS selector the
//! scenarios use. When the UI changes its markup, only this file changes.
//!
//! - the board surface is `[data-testid="board"]`; double-clicking empty
//!   space on it creates a note there and focuses the note's textarea;
//! - every card carries `data-card-id` (its id) and `data-kind` (`note`,
//!   `image` or `link`); a note's editable text is a `textarea` inside it;
//! - the board surface says `data-saved="true"` once every change is stored;
//! - the connection status is `[data-testid="status"]`, its text holding the
//!   number of connected peers;
//! - the home screen's new-board control is `[data-testid="new-board"]`,
//!   and each board kept in the browser is a `[data-testid="board-row"]`;
//! - messages for the user are toasts, `[data-testid="toast"]`;
//! - everyone on the board (this user first) has an avatar
//!   `[data-testid="person"]` in the title bar;
//! - the "work offline" switch is the checkbox `[data-testid="offline-switch"]`;
//! - the hidden file input behind the toolbar's Image button is
//!   `[data-testid="image-input"]`; an image card's picture is an `img`.

use anyhow::{Result, anyhow};
use fantoccini::Locator;
use fantoccini::elements::Element;

/// The board surface.
pub const BOARD: &str = r#"[data-testid="board"]"#;
/// The board surface once every change is stored in the browser.
pub const BOARD_SAVED: &str = r#"[data-testid="board"][data-saved="true"]"#;
/// The home screen's control that creates a board.
pub const NEW_BOARD: &str = r#"[data-testid="new-board"]"#;
/// The board's title in the title bar.
pub const TITLE: &str = r#"[data-testid="title"]"#;
/// The connection status (its text holds the number of connected peers).
pub const STATUS: &str = r#"[data-testid="status"]"#;
/// One avatar in the title bar's list of people on the board (this user included).
pub const PERSON: &str = r#"[data-testid="person"]"#;
/// The "work offline" switch (a checkbox).
pub const OFFLINE_SWITCH: &str = r#"[data-testid="offline-switch"]"#;
/// The banner of a board open read-only (its saved copy could not be read).
pub const READ_ONLY: &str = r#"[data-testid="read-only"]"#;
/// A message for the user.
pub const TOAST: &str = r#"[data-testid="toast"]"#;
/// A board in the home screen's list.
pub const BOARD_ROW: &str = r#"[data-testid="board-row"]"#;
/// The (hidden) file input that adds images.
pub const IMAGE_INPUT: &str = r#"[data-testid="image-input"]"#;

/// Any card.
pub const CARD: &str = "[data-card-id]";
/// Note cards.
pub const NOTE: &str = r#"[data-card-id][data-kind="note"]"#;
/// Image cards.
pub const IMAGE: &str = r#"[data-card-id][data-kind="image"]"#;
/// Link cards.
pub const LINK: &str = r#"[data-card-id][data-kind="link"]"#;
/// The picture of every image card (present once its bytes are here).
pub const IMAGE_PICTURE: &str = r#"[data-card-id][data-kind="image"] img"#;
/// The editable text of every note.
pub const NOTE_TEXT: &str = r#"[data-card-id][data-kind="note"] textarea"#;

/// The attribute holding a card's id.
pub const CARD_ID_ATTR: &str = "data-card-id";
/// The attribute holding a card's kind.
pub const KIND_ATTR: &str = "data-kind";

/// A WebDriver locator for a CSS selector.
pub fn css(selector: &str) -> Locator<'_> {
    Locator::Css(selector)
}

/// The card with id `id`.
pub fn card(id: &str) -> String {
    format!(r#"[data-card-id="{}"]"#, escape(id))
}

/// The editable text of the note with id `id`.
pub fn note_text(id: &str) -> String {
    format!("{} textarea", card(id))
}

/// The id of a card element (its `data-card-id`).
pub async fn card_id(card: &Element) -> Result<String> {
    card.attr(CARD_ID_ATTR).await?.ok_or_else(|| anyhow!("element has no {CARD_ID_ATTR}"))
}

/// Escapes a value for a double-quoted CSS attribute selector.
fn escape(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', r#"\""#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_selectors_quote_ids() {
        assert_eq!(card("abc"), r#"[data-card-id="abc"]"#);
        assert_eq!(card(r#"a"b"#), r#"[data-card-id="a\"b"]"#);
        assert_eq!(note_text("x"), r#"[data-card-id="x"] textarea"#);
    }
}
