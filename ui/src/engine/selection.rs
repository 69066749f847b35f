//! Selection, drags and resizes, and what others see of them: this device's
//! cursor, selection and live drags go to peers as presence; a drag moves
//! only the dragged cards' signals and commits once, on drop.

use std::collections::HashSet;

use board_model::presence;
use board_model::{CardId, Point, Size};
use leptos::prelude::*;

use super::Engine;

#[derive(Debug)]
pub(super) struct Drag {
    pub start: Vec<(CardId, Point)>,
    pub current: Vec<(CardId, Point)>,
}

impl Engine {
    pub fn selection(&self) -> Vec<CardId> {
        self.selection.iter().copied().collect()
    }

    pub fn is_selected(&self, id: CardId) -> bool {
        self.selection.contains(&id)
    }

    pub fn select_only(&mut self, id: Option<CardId>) {
        let new: HashSet<CardId> = id.into_iter().collect();
        self.set_selection(new);
    }

    pub fn toggle_selected(&mut self, id: CardId) {
        let mut new = self.selection.clone();
        if !new.remove(&id) {
            new.insert(id);
        }
        self.set_selection(new);
    }

    pub fn select_all(&mut self) {
        let all: HashSet<CardId> = self.cards.keys().copied().collect();
        self.set_selection(all);
    }

    pub fn set_selection(&mut self, new: HashSet<CardId>) {
        // Cards and an edge are never selected together.
        if !new.is_empty() && self.signals.selected_edge.get_untracked().is_some() {
            self.signals.selected_edge.set(None);
        }
        if new == self.selection {
            return;
        }
        let changed: Vec<CardId> = new.symmetric_difference(&self.selection).copied().collect();
        self.selection = new;
        for id in changed {
            let selected = self.selection.contains(&id);
            self.update_card(id, |v| v.selected = selected);
        }
        self.selection_changed();
    }

    pub(super) fn selection_changed(&mut self) {
        self.signals.selection_count.set(self.selection.len());
        let mut selection: Vec<CardId> = self.selection.iter().copied().collect();
        selection.sort();
        selection.truncate(presence::MAX_LISTED_CARDS);
        self.local_presence.selection = selection;
        self.send_presence();
    }

    /// Cards whose bounds intersect a board rectangle (marquee).
    pub fn cards_in(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> HashSet<CardId> {
        let (left, right) = (x0.min(x1), x0.max(x1));
        let (top, bottom) = (y0.min(y1), y0.max(y1));
        self.cards
            .iter()
            .filter(|(_, s)| {
                s.with_untracked(|v| v.x < right && v.x + v.w > left && v.y < bottom && v.y + v.h > top)
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// The bounding box of every card (for zoom to fit).
    pub fn bounds(&self) -> Option<(f64, f64, f64, f64)> {
        let mut bounds: Option<(f64, f64, f64, f64)> = None;
        for signal in self.cards.values() {
            signal.with_untracked(|v| {
                let b = bounds.get_or_insert((v.x, v.y, v.x + v.w, v.y + v.h));
                *b = (b.0.min(v.x), b.1.min(v.y), b.2.max(v.x + v.w), b.3.max(v.y + v.h));
            });
        }
        bounds
    }

    /// Starts dragging the selection: brings it to the front.
    pub fn begin_drag(&mut self) {
        if !self.writable() {
            return;
        }
        let ids: Vec<CardId> = self.selection.iter().copied().collect();
        // A group moves with the cards inside it.
        let moving = self.with_group_members(&ids);
        let start: Vec<(CardId, Point)> =
            moving.iter().filter_map(|id| self.board.card(*id).map(|c| (*id, c.position))).collect();
        self.drag = Some(Drag { current: start.clone(), start });
        if !ids.is_empty() {
            self.bring_to_front(&ids);
        }
    }

    /// Moves the dragged cards by (dx, dy) board units from where they started:
    /// only their signals change, and peers see it as presence — sent first,
    /// so the frame leaves before this page's own redrawing is set going.
    pub fn drag_by(&mut self, dx: f64, dy: f64, cursor: Point) {
        self.local_presence.cursor = Some(cursor);
        let Some(drag) = self.drag.as_mut() else { return };
        drag.current = drag.start.iter().map(|(id, p)| (*id, Point { x: p.x + dx, y: p.y + dy })).collect();
        let mut dragging = drag.current.clone();
        dragging.truncate(presence::MAX_LISTED_CARDS);
        self.local_presence.dragging = dragging;
        self.send_presence();
        let Some(drag) = self.drag.as_ref() else { return };
        for (id, at) in &drag.current {
            if let Some(signal) = self.cards.get(id) {
                signal.update(|v| {
                    v.x = at.x;
                    v.y = at.y;
                    v.dragging = true;
                });
            }
        }
    }

    /// Ends a drag: one commit for all moved cards.
    pub fn end_drag(&mut self) {
        let Some(drag) = self.drag.take() else { return };
        self.local_presence.dragging.clear();
        let moved = drag.current.iter().zip(&drag.start).any(|(a, b)| a.1 != b.1);
        if moved {
            let result = self.board.move_cards(&drag.current);
            self.report(result);
        }
        self.after_change();
        for (id, _) in &drag.current {
            self.refresh_card(*id);
        }
        self.send_presence();
    }

    /// Shows a card at a new size while its handle is dragged.
    pub fn preview_size(&mut self, id: CardId, size: Size) {
        if let Some(signal) = self.cards.get(&id) {
            signal.update(|v| {
                v.w = size.width;
                v.h = size.height;
            });
        }
    }

    pub fn commit_size(&mut self, id: CardId, size: Size) {
        if !self.writable() {
            return;
        }
        let result = self.board.resize_card(id, size).map(|_| ());
        self.report(result);
        self.after_change();
        self.refresh_card(id);
    }

    pub fn set_cursor(&mut self, at: Option<Point>) {
        if self.local_presence.cursor != at {
            self.local_presence.cursor = at;
            self.send_presence();
        }
    }

    fn send_presence(&mut self) {
        self.room.set_presence(self.local_presence.clone());
        self.flush_links();
    }
}
