//! Copy, cut and paste of cards, as text (so it also works between tabs
//! and boards): every field of each card, with images by hash.

use std::collections::HashSet;

use board_model::blob::Hash;
use board_model::{CardId, Color, Content, ImageRef, Point, Size};
use serde::{Deserialize, Serialize};

use super::{Engine, images};

/// Offset of pasted or duplicated cards from their originals.
const PASTE_OFFSET: f64 = 24.0;

/// What the clipboard carries for cards (as text, so it also works between tabs).
#[derive(Serialize, Deserialize)]
struct ClipboardCards {
    corkboard: u32,
    cards: Vec<ClipboardCard>,
}

/// One card. `url` also carries a pinned board's link and a file card's
/// path, `title` a group's label (the kind says which).
#[derive(Serialize, Deserialize)]
struct ClipboardCard {
    kind: String,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    color: Option<String>,
    text: String,
    url: String,
    title: String,
    image: Option<(String, String, u32, u32, String)>,
}

impl Engine {
    /// The selection as clipboard text.
    pub fn copy_selection(&self) -> Option<String> {
        let cards: Vec<ClipboardCard> = self
            .selection
            .iter()
            .filter_map(|id| self.board.card(*id))
            .map(|card| {
                let (text, url, title, image) = match &card.content {
                    Content::Note { text } => (text.clone(), String::new(), String::new(), None),
                    Content::Link { url, title } => (String::new(), url.clone(), title.clone(), None),
                    Content::Group { label } => (String::new(), String::new(), label.clone(), None),
                    Content::Board { link } => (String::new(), link.clone(), String::new(), None),
                    Content::File { path } => (String::new(), path.clone(), String::new(), None),
                    Content::Image(i) => (
                        String::new(),
                        String::new(),
                        String::new(),
                        Some((
                            i.hash.to_hex(),
                            i.media_type.clone(),
                            i.natural_width,
                            i.natural_height,
                            i.file_name.clone(),
                        )),
                    ),
                };
                ClipboardCard {
                    kind: card.kind().as_str().to_owned(),
                    x: card.position.x,
                    y: card.position.y,
                    w: card.size.width,
                    h: card.size.height,
                    color: card.color.as_ref().map(ToString::to_string),
                    text,
                    url,
                    title,
                    image,
                }
            })
            .collect();
        if cards.is_empty() {
            return None;
        }
        serde_json::to_string(&ClipboardCards { corkboard: 1, cards }).ok()
    }

    /// Pastes cards from clipboard text; false when the text is not cards.
    /// With `at`, the cards are centred there; otherwise offset from their originals.
    pub fn paste_cards(&mut self, text: &str, at: Option<Point>) -> bool {
        if !self.writable() {
            return true;
        }
        let Ok(clip) = serde_json::from_str::<ClipboardCards>(text) else { return false };
        if clip.corkboard != 1 || clip.cards.is_empty() {
            return false;
        }
        let min_x = clip.cards.iter().map(|c| c.x).fold(f64::INFINITY, f64::min);
        let min_y = clip.cards.iter().map(|c| c.y).fold(f64::INFINITY, f64::min);
        let (dx, dy) = match at {
            Some(p) => (p.x - min_x, p.y - min_y),
            None => (PASTE_OFFSET, PASTE_OFFSET),
        };
        let mut new_cards = Vec::new();
        for card in clip.cards.iter().take(board_model::card::limits::MAX_CARDS) {
            let content = match card.kind.as_str() {
                "note" => Content::Note { text: card.text.clone() },
                "link" => Content::Link { url: card.url.clone(), title: card.title.clone() },
                "group" => Content::Group { label: card.title.clone() },
                "board" => Content::Board { link: card.url.clone() },
                "file" => Content::File { path: card.url.clone() },
                "image" => {
                    let Some((hash, media_type, w, h, name)) = &card.image else { continue };
                    let Ok(hash) = Hash::from_hex(hash) else { continue };
                    Content::Image(ImageRef {
                        hash,
                        media_type: media_type.clone(),
                        natural_width: *w,
                        natural_height: *h,
                        file_name: name.clone(),
                    })
                }
                _ => continue,
            };
            let mut new = self.new_card(
                content,
                Point { x: card.x + dx, y: card.y + dy },
                Some(Size { width: card.w, height: card.h }),
            );
            new.color = card.color.as_deref().and_then(|c| Color::parse(c).ok());
            new_cards.push(new);
        }
        let ids: HashSet<CardId> = new_cards.iter().map(|c| c.id).collect();
        let result = self.board.add_cards(new_cards);
        let ok = result.is_ok();
        self.report(result);
        self.after_change();
        if ok {
            self.set_selection(ids);
            // Images pasted from another board may be in this page's store already.
            leptos::task::spawn_local(images::load_blobs(self.missing_blobs()));
        }
        true
    }

    pub fn duplicate_selection(&mut self) {
        if let Some(text) = self.copy_selection() {
            self.paste_cards(&text, None);
        }
    }
}
