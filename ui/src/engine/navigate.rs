//! Moving between cards by keyboard: reading order (rows from the top,
//! each left to right; cards whose tops are within half a row of each other
//! share a row) for Tab, and the nearest card in a direction for the arrow
//! keys. Pure: it sees only where cards are.

use board_model::CardId;
use leptos::prelude::*;

/// A card's place on the board.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placed {
    pub id: CardId,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Placed {
    fn centre(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Left,
    Right,
    Up,
    Down,
}

/// Tops closer than this share a row.
const ROW: f64 = 60.0;

/// `cards` in reading order.
pub fn reading_order(mut cards: Vec<Placed>) -> Vec<Placed> {
    cards.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x)));
    // Rows: a card starts a new row when its top is a row below the row's first.
    let mut rows: Vec<Vec<Placed>> = Vec::new();
    for card in cards {
        match rows.last_mut() {
            Some(row) if row.first().is_some_and(|first| card.y - first.y < ROW) => row.push(card),
            _ => rows.push(vec![card]),
        }
    }
    rows.into_iter()
        .flat_map(|mut row| {
            row.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
            row
        })
        .collect()
}

/// The card after (or before) `current` in reading order; the first (or
/// last) when there is no current card; `None` past either end.
pub fn next_in_reading_order(cards: Vec<Placed>, current: Option<CardId>, forward: bool) -> Option<CardId> {
    let order = reading_order(cards);
    let Some(current) = current else {
        return if forward { order.first() } else { order.last() }.map(|c| c.id);
    };
    let at = order.iter().position(|c| c.id == current)?;
    let next = if forward { at.checked_add(1)? } else { at.checked_sub(1)? };
    order.get(next).map(|c| c.id)
}

/// The nearest card from `from` in `direction`: its centre past `from`'s
/// in that direction, closest by distance along it plus twice the
/// distance across it (so a card straight ahead wins over a nearer one
/// off to the side).
pub fn nearest(cards: &[Placed], from: CardId, direction: Direction) -> Option<CardId> {
    let origin = cards.iter().find(|c| c.id == from)?.centre();
    cards
        .iter()
        .filter(|c| c.id != from)
        .filter_map(|c| {
            let (x, y) = c.centre();
            let (along, across) = match direction {
                Direction::Right => (x - origin.0, y - origin.1),
                Direction::Left => (origin.0 - x, y - origin.1),
                Direction::Down => (y - origin.1, x - origin.0),
                Direction::Up => (origin.1 - y, x - origin.0),
            };
            (along > 1.0).then(|| (along + 2.0 * across.abs(), c.id))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, id)| id)
}

impl super::Engine {
    /// Every card's place as drawn.
    fn placed(&self) -> Vec<Placed> {
        self.cards
            .iter()
            .map(|(id, signal)| signal.with_untracked(|v| Placed { id: *id, x: v.x, y: v.y, w: v.w, h: v.h }))
            .collect()
    }

    /// The card Tab (or Shift+Tab) goes to from `current`.
    pub fn card_in_reading_order(&self, current: Option<CardId>, forward: bool) -> Option<CardId> {
        next_in_reading_order(self.placed(), current, forward)
    }

    /// The card an arrow key goes to from `from`.
    pub fn card_towards(&self, from: CardId, direction: Direction) -> Option<CardId> {
        nearest(&self.placed(), from, direction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(n: u8, x: f64, y: f64) -> Placed {
        Placed { id: CardId::from_random_bytes([n; 16]), x, y, w: 200.0, h: 120.0 }
    }

    fn ids(cards: &[Placed]) -> Vec<u8> {
        cards.iter().map(|c| c.id.0.as_bytes()[0]).collect()
    }

    #[test]
    fn reading_order_is_rows_from_the_top_each_left_to_right() {
        // A slightly uneven row of three, then a row of two.
        let cards = vec![
            card(3, 600.0, 10.0),
            card(1, 0.0, 20.0),
            card(2, 300.0, 0.0),
            card(5, 300.0, 300.0),
            card(4, 0.0, 310.0),
        ];
        assert_eq!(ids(&reading_order(cards)), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn tab_walks_the_reading_order_and_stops_at_the_ends() {
        let cards = vec![card(1, 0.0, 0.0), card(2, 300.0, 0.0), card(3, 0.0, 300.0)];
        let id = |n: u8| CardId::from_random_bytes([n; 16]);
        assert_eq!(next_in_reading_order(cards.clone(), None, true), Some(id(1)));
        assert_eq!(next_in_reading_order(cards.clone(), None, false), Some(id(3)));
        assert_eq!(next_in_reading_order(cards.clone(), Some(id(2)), true), Some(id(3)));
        assert_eq!(next_in_reading_order(cards.clone(), Some(id(2)), false), Some(id(1)));
        assert_eq!(next_in_reading_order(cards, Some(id(3)), true), None);
    }

    #[test]
    fn arrows_go_to_the_card_ahead_rather_than_one_off_to_the_side() {
        let cards = vec![card(1, 0.0, 0.0), card(2, 400.0, 0.0), card(3, 250.0, 200.0), card(4, 0.0, 400.0)];
        let id = |n: u8| CardId::from_random_bytes([n; 16]);
        assert_eq!(nearest(&cards, id(1), Direction::Right), Some(id(2)));
        assert_eq!(nearest(&cards, id(1), Direction::Down), Some(id(4)));
        assert_eq!(nearest(&cards, id(2), Direction::Left), Some(id(1)));
        assert_eq!(nearest(&cards, id(4), Direction::Up), Some(id(1)));
        assert_eq!(nearest(&cards, id(1), Direction::Left), None);
    }
}
