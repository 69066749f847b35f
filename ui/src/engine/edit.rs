//! The user's operations on the board: each one model call, then the view,
//! the store and the peers learn of it through [`Engine::after_change`].

use board_model::card::limits;
use board_model::{CardId, Color, Content, ImageRef, Kind, NewCard, Point, Size};
use leptos::prelude::*;

use super::Engine;
use crate::notify;
use crate::platform::random_bytes;

/// An image the user supplied, already checked to be one (see `images`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewImage {
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub name: String,
}

impl Engine {
    pub(super) fn new_card(&self, content: Content, at: Point, size: Option<Size>) -> NewCard {
        NewCard {
            id: CardId::from_random_bytes(random_bytes(&*self.platform.clock)),
            position: at,
            size,
            color: None,
            content,
            created_by: self.profile.name.clone(),
            created_at: self.now() as i64,
        }
    }

    /// The board point in the middle of the visible board.
    pub fn view_center(&self) -> Point {
        let (width, height) = self.signals.viewport.get_untracked();
        let (x, y) = self.signals.camera.get_untracked().to_board(width / 2.0, height / 2.0);
        Point { x, y }
    }

    /// A new note centred on `at`; selected, and focused once drawn.
    pub fn add_note(&mut self, at: Point, text: &str) -> Option<CardId> {
        let size = Kind::Note.default_size();
        let corner = Point { x: at.x - size.width / 2.0, y: at.y - 24.0 };
        let card = self.new_card(Content::Note { text: text.to_owned() }, corner, None);
        let id = self.add_and_select(card)?;
        self.signals.focus_request.set(Some(id));
        Some(id)
    }

    /// Adds one card the user made and selects it; its id, or `None` (with a
    /// message) when the board refused it.
    pub(super) fn add_and_select(&mut self, card: NewCard) -> Option<CardId> {
        if !self.writable() {
            return None;
        }
        let id = card.id;
        let result = self.board.add_card(card);
        let ok = result.is_ok();
        self.report(result);
        self.after_change();
        ok.then(|| {
            self.select_only(Some(id));
            id
        })
    }

    /// Pins another board (Pushpin's board-in-board), centred on `at`.
    /// Its link, key included, goes into this board like any content:
    /// everyone on this board can then open the pinned one (said).
    pub fn pin_board(&mut self, at: Point, link: &board_key::link::ShareLink) -> Option<CardId> {
        if link.board == self.link.board {
            notify::error("A board can't be pinned on itself.");
            return None;
        }
        let size = Kind::Board.default_size();
        let size = Size { width: size.width.max(240.0), height: size.height.max(72.0) };
        let corner = Point { x: at.x - size.width / 2.0, y: at.y - size.height / 2.0 };
        let card = self.new_card(Content::Board { link: link.to_app_link() }, corner, Some(size));
        let pinned = self.add_and_select(card);
        if pinned.is_some() {
            notify::info(
                "Pinned the board. Everyone on this board can now open it: its link, key included, is part of this board.",
            );
        }
        pinned
    }

    pub fn add_link(&mut self, at: Point, url: &str, title: &str) -> Option<CardId> {
        let size = Kind::Link.default_size();
        let corner = Point { x: at.x - size.width / 2.0, y: at.y - size.height / 2.0 };
        let card =
            self.new_card(Content::Link { url: url.to_owned(), title: title.to_owned() }, corner, None);
        self.add_and_select(card)
    }

    /// Adds an image the user supplied, centred on `at`, kept in this
    /// page's store as well.
    pub fn add_image(&mut self, image: NewImage, at: Point) -> Option<CardId> {
        if !self.writable() {
            return None;
        }
        let NewImage { bytes, media_type, width, height, name } = image;
        let hash = match self.keep_blob(bytes) {
            Ok(hash) => hash,
            Err(error) => {
                notify::error(&format!("“{name}” can't be added: {error}"));
                return None;
            }
        };
        let (w, h) = (width.max(1) as f64, height.max(1) as f64);
        let scale = (320.0 / w).min(320.0 / h).min(1.0);
        let size = Size { width: (w * scale).max(48.0), height: (h * scale).max(48.0) };
        let corner = Point { x: at.x - size.width / 2.0, y: at.y - size.height / 2.0 };
        let image = ImageRef {
            hash,
            media_type: media_type.to_owned(),
            natural_width: width,
            natural_height: height,
            file_name: name.chars().take(limits::MAX_LABEL_CHARS).collect(),
        };
        let card = self.new_card(Content::Image(image), corner, Some(size));
        self.add_and_select(card)
    }

    pub fn set_text(&mut self, id: CardId, text: &str) {
        if !self.writable() {
            return;
        }
        let result = self.board.set_text(id, text);
        self.report(result);
        self.after_change();
    }

    pub fn set_link(&mut self, id: CardId, url: &str, title: &str) {
        if !self.writable() {
            return;
        }
        let result = self.board.set_link(id, url, title);
        self.report(result);
        self.after_change();
    }

    /// Typing in a note is one undo step per editing session.
    pub fn begin_text_edit(&mut self, id: CardId) {
        if !self.writable() {
            return;
        }
        if self.text_editing != Some(id) {
            self.end_text_edit();
            let _ = self.board.begin_undo_group();
            self.text_editing = Some(id);
        }
    }

    pub fn end_text_edit(&mut self) {
        if self.text_editing.take().is_some() {
            self.board.end_undo_group();
        }
    }

    pub fn delete_selection(&mut self) {
        if !self.writable() {
            return;
        }
        let ids: Vec<CardId> = self.selection.iter().copied().collect();
        if ids.is_empty() {
            return;
        }
        let result = self.board.delete_cards(&ids);
        self.report(result);
        self.after_change();
    }

    pub fn color_selection(&mut self, color: Option<Color>) {
        if !self.writable() {
            return;
        }
        let ids: Vec<CardId> = self.selection.iter().copied().collect();
        if ids.is_empty() {
            return;
        }
        let result = self.board.set_color(&ids, color);
        self.report(result);
        self.after_change();
    }

    pub fn bring_to_front(&mut self, ids: &[CardId]) {
        if !self.writable() {
            return;
        }
        if let Err(error) = self.board.bring_to_front(ids) {
            notify::error(&error.to_string());
        }
        self.after_change();
    }

    pub fn undo(&mut self) {
        if !self.writable() {
            return;
        }
        self.end_text_edit();
        let result = self.board.undo().map(|_| ());
        self.report(result);
        self.after_change();
    }

    pub fn redo(&mut self) {
        if !self.writable() {
            return;
        }
        self.end_text_edit();
        let result = self.board.redo().map(|_| ());
        self.report(result);
        self.after_change();
    }

    pub fn set_title(&mut self, title: &str) {
        if !self.writable() {
            return;
        }
        let result = self.board.set_title(title);
        self.report(result);
        self.after_change();
    }

    pub fn set_background(&mut self, color: Option<Color>) {
        if !self.writable() {
            return;
        }
        let result = self.board.set_background(color);
        self.report(result);
        self.after_change();
    }

    /// Moves the selection by a small step (arrow keys).
    pub fn nudge(&mut self, dx: f64, dy: f64) {
        if !self.writable() {
            return;
        }
        let moves: Vec<(CardId, Point)> = self
            .selection
            .iter()
            .filter_map(|id| {
                self.board.card(*id).map(|c| (*id, Point { x: c.position.x + dx, y: c.position.y + dy }))
            })
            .collect();
        if moves.is_empty() {
            return;
        }
        let result = self.board.move_cards(&moves);
        self.report(result);
        self.after_change();
    }
}
