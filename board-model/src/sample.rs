//! Boards made to a recipe, for benchmarks and tests that need a big board
//! with a long past — the same board natively and in the browser.

use crate::board::{Board, BoardId, ReplicaId};
use crate::card::{CardId, Content, NewCard, Point};
use crate::error::Error;

/// Cards on a [`worked_board`].
pub const WORKED_CARDS: usize = 1_000;

/// The `i`th card of a [`worked_board`].
pub fn worked_card(i: usize) -> CardId {
    let mut bytes = [7u8; 16];
    bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
    CardId::from_random_bytes(bytes)
}

/// A board of [`WORKED_CARDS`] notes in a 40-wide grid that its author
/// "Ann" then moved `moves` times, one move every 100 ms of her clock from
/// `start_ms` (so a million moves are about a day and a half of work, in
/// ten-second changes), each card in turn a few units off its place.
pub fn worked_board(id: BoardId, replica: ReplicaId, start_ms: i64, moves: usize) -> Result<Board, Error> {
    let mut board = Board::create_at(id, "History", replica, start_ms, "Ann")?;
    let place = |i: usize| Point { x: (i % 40) as f64 * 240.0, y: (i / 40) as f64 * 180.0 };
    let cards = (0..WORKED_CARDS)
        .map(|i| NewCard {
            id: worked_card(i),
            position: place(i),
            size: None,
            color: None,
            content: Content::Note { text: format!("Note {i}") },
            created_by: "Ann".into(),
            created_at: start_ms,
        })
        .collect();
    board.add_cards(cards)?;
    for n in 0..moves {
        board.set_clock(start_ms + n as i64 * 100);
        let i = n % WORKED_CARDS;
        let at = place(i);
        let at = Point { x: at.x + (n % 97) as f64, y: at.y + (n % 89) as f64 };
        board.move_cards(&[(worked_card(i), at)])?;
    }
    Ok(board)
}
