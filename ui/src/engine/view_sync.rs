//! From the board to the view: every card signal built on open, then only
//! the signals the board's change events name.

use board_model::{CardId, Event};
use leptos::prelude::*;

use super::Engine;
use crate::view_model::{CardEntry, CardView, css_colour};

impl Engine {
    /// Builds every card signal from the board (on open).
    pub(super) fn rebuild_view(&mut self) {
        self.cards.clear();
        let mut cards = self.board.cards();
        cards.sort_by_key(|c| c.z);
        let mut order = Vec::with_capacity(cards.len());
        for card in &cards {
            let mut view = CardView::from_card(card);
            self.decorate(&mut view);
            let signal = ArcRwSignal::new(view);
            self.cards.insert(card.id, signal.clone());
            order.push(CardEntry { id: card.id, signal });
        }
        self.signals.order.set(order);
        self.refresh_edges();
        self.refresh_meta();
        self.refresh_undo();
    }

    fn refresh_meta(&self) {
        self.signals.title.set(self.board.title());
        self.signals.background.set(self.board.background().map(|c| css_colour(&c)));
    }

    /// Adds what the view keeps beside the document: selection, drags, image URLs.
    pub(super) fn decorate(&self, view: &mut CardView) {
        view.selected = self.selection.contains(&view.id);
        if let Some(drag) = &self.drag
            && let Some((_, at)) = drag.current.iter().find(|(id, _)| *id == view.id)
        {
            view.x = at.x;
            view.y = at.y;
            view.dragging = true;
        }
        self.people.decorate(view);
        self.images.decorate(view);
    }

    pub(super) fn refresh_card(&mut self, id: CardId) {
        let Some(card) = self.board.card(id) else { return };
        let mut view = CardView::from_card(&card);
        self.decorate(&mut view);
        match self.cards.get(&id) {
            Some(signal) => self.show_card(signal, view),
            None => {
                self.cards.insert(id, ArcRwSignal::new(view));
                *self.card_epochs.entry(id).or_default() += 1;
            }
        }
    }

    /// Shows `view` in a card's signal if it differs, telling the view when
    /// the card comes into or leaves the drawn region (only then is what is
    /// drawn worked out again).
    pub(super) fn show_card(&self, signal: &ArcRwSignal<CardView>, view: CardView) {
        let region = self.signals.drawn.get_value();
        let (changed, crossed) =
            signal.with_untracked(|old| (*old != view, old.drawn_in(&region) != view.drawn_in(&region)));
        if changed {
            signal.set(view);
        }
        if crossed {
            self.signals.geometry.notify();
        }
    }

    /// Updates card `id`'s view in place, telling the view when the card
    /// comes into or leaves the drawn region.
    pub(super) fn update_card(&self, id: CardId, change: impl FnOnce(&mut CardView)) {
        let Some(signal) = self.cards.get(&id) else { return };
        let region = self.signals.drawn.get_value();
        let mut crossed = false;
        signal.update(|view| {
            let before = view.drawn_in(&region);
            change(view);
            crossed = before != view.drawn_in(&region);
        });
        if crossed {
            self.signals.geometry.notify();
        }
    }

    /// The stack again, from the board's order alone (the cards' views are
    /// kept current by [`Engine::refresh_card`]): a card added to a board
    /// of 10,000 does not read the other 9,999.
    fn refresh_order(&mut self) {
        let order: Vec<CardEntry> = self
            .board
            .stack_order()
            .into_iter()
            .filter_map(|id| self.cards.get(&id).map(|signal| CardEntry { id, signal: signal.clone() }))
            .collect();
        self.signals.order.set(order);
    }

    pub(super) fn refresh_undo(&self) {
        self.signals.can_undo.set(self.board.can_undo());
        self.signals.can_redo.set(self.board.can_redo());
    }

    /// Applies the board's pending change events to the view, saves, and
    /// lets the peers know. Called after every local operation and import.
    pub fn after_change(&mut self) {
        let changes = self.board.take_changes();
        if changes.is_empty() {
            return;
        }
        if self.viewing_history() {
            // The view shows the past; the present is drawn when it closes.
            self.request_save();
            self.room.fetch_missing_blobs(&self.board, &mut self.blobs);
            self.flush_links();
            return;
        }
        let mut order = false;
        let mut edges = false;
        let mut refresh: Vec<CardId> = Vec::new();
        let mut blobs_changed = false;
        for change in &changes {
            for event in &change.events {
                match event {
                    Event::CardAdded(id) => {
                        order = true;
                        edges = true;
                        refresh.push(*id);
                        blobs_changed = true;
                    }
                    Event::CardChanged { id, .. } | Event::TextChanged { id, .. } => refresh.push(*id),
                    Event::CardRemoved(id) => {
                        order = true;
                        edges = true;
                        self.cards.remove(id);
                        if self.selection.remove(id) {
                            self.selection_changed();
                        }
                    }
                    Event::OrderChanged => order = true,
                    Event::MetaChanged => self.refresh_meta(),
                    Event::EdgeAdded(_) | Event::EdgeChanged(_) | Event::EdgeRemoved(_) => edges = true,
                }
            }
        }
        refresh.sort();
        refresh.dedup();
        for id in refresh {
            if self.board.contains(id) {
                self.refresh_card(id);
            }
        }
        if order {
            self.refresh_order();
        }
        if edges {
            self.refresh_edges();
        }
        self.refresh_undo();
        self.request_save();
        if blobs_changed {
            self.room.fetch_missing_blobs(&self.board, &mut self.blobs);
        }
        self.flush_links();
    }
}
