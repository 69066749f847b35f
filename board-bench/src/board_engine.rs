//! The workloads on Corkboard's own board model: validated operations,
//! change events (drained as a UI would), undo recording, and the sans-IO
//! session for sync.

use std::time::{Duration, Instant};

use board_model::{
    Board, BoardId, CardId, Color, Content, NewCard, Point, ReplicaId, Session, Size, blob, presence, session,
};

use crate::engine::{Colours, Engine, Lcg, Reconcile, card_id};

pub struct BoardEngine;

fn id(i: usize) -> CardId {
    card_id(i).parse().expect("card ids are UUIDs")
}

fn board_with(cards: usize, replica: u64, with_text: bool) -> Board {
    let mut board =
        Board::create(BoardId::from_random_bytes([7; 16]), "bench", ReplicaId(replica)).expect("create");
    let new_cards = (0..cards)
        .map(|i| NewCard {
            id: id(i),
            position: Point { x: 0.0, y: 0.0 },
            size: Some(Size { width: 200.0, height: 150.0 }),
            color: None,
            content: Content::Note { text: if with_text { String::new() } else { "x".into() } },
            created_by: "bench".into(),
            created_at: 0,
        })
        .collect();
    board.add_cards(new_cards).expect("add cards");
    board.take_changes();
    board
}

fn moved(board: &mut Board, cards: usize, moves: usize, rng: &mut Lcg, ids: &[CardId]) {
    for _ in 0..moves {
        let card = rng.below(cards);
        let to = Point { x: rng.coordinate(), y: rng.coordinate() };
        board.move_card(ids[card], to).expect("move");
        // A view drains events every frame; draining every move is the worst case.
        board.take_changes();
    }
}

/// Committed moves on a replica nobody draws or undoes on, as a node keeps
/// ([`Board::load_headless`]: no undo, no change events): the same
/// workload as [`Engine::timed_moves`].
pub fn timed_moves_headless(cards: usize, moves: usize, seed: u64) -> Duration {
    let saved = board_with(cards, 1, false).save().expect("save");
    let mut board = Board::load_headless(&saved, ReplicaId(1)).expect("load");
    let ids: Vec<CardId> = (0..cards).map(id).collect();
    let mut rng = Lcg::new(seed);
    let start = Instant::now();
    moved(&mut board, cards, moves, &mut rng, &ids);
    start.elapsed()
}

impl Engine for BoardEngine {
    const NAME: &'static str = "Corkboard board-model";

    fn timed_moves(cards: usize, moves: usize, seed: u64) -> Duration {
        let mut board = board_with(cards, 1, false);
        let ids: Vec<CardId> = (0..cards).map(id).collect();
        let mut rng = Lcg::new(seed);
        let start = Instant::now();
        moved(&mut board, cards, moves, &mut rng, &ids);
        start.elapsed()
    }

    fn saved_history(cards: usize, moves: usize, seed: u64) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut board = board_with(cards, 1, false);
        let ids: Vec<CardId> = (0..cards).map(id).collect();
        moved(&mut board, cards, moves, &mut Lcg::new(seed), &ids);
        (board.save().expect("save"), Some(board.save_shallow().expect("save")))
    }

    fn load_and_read(bytes: &[u8]) -> usize {
        let board = Board::load(bytes, ReplicaId(99)).expect("load");
        board.cards().iter().filter(|card| card.position.x.is_finite()).count()
    }

    fn reconcile(edits: usize, seed: u64) -> Reconcile {
        let mut a = board_with(100, 1, true);
        let mut b = Board::load(&a.save().expect("save"), ReplicaId(2)).expect("load");
        let fork = a.version();
        let ids: Vec<CardId> = (0..100).map(id).collect();
        for (board, mut rng) in [(&mut a, Lcg::new(seed)), (&mut b, Lcg::new(seed + 1))] {
            for _ in 0..edits {
                if rng.below(5) == 0 {
                    let card = ids[rng.below(100)];
                    let len = board.text(card).expect("text").chars().count();
                    board.splice_text(card, rng.below(len + 1), 0, "a").expect("splice");
                } else {
                    let card = ids[rng.below(100)];
                    board.move_card(card, Point { x: rng.coordinate(), y: rng.coordinate() }).expect("move");
                }
                board.take_changes();
            }
        }
        let change_bytes = a.updates_since(&fork).len() + b.updates_since(&fork).len();
        let identity = |name: &str| presence::Identity { name: name.into(), color: "#336699".into() };
        let mut sa = Session::new(session::Config::new(1, identity("a")));
        let mut sb = Session::new(session::Config::new(2, identity("b")));
        let (mut blobs_a, mut blobs_b) = (blob::MemoryStore::new(), blob::MemoryStore::new());
        let mut bytes_exchanged = 0;
        let mut rounds = 0usize;
        let mut compute = Duration::ZERO;
        // Both sides send at once each round, as two peers on a real link do.
        loop {
            let start = Instant::now();
            let from_a: Vec<Vec<u8>> = std::iter::from_fn(|| sa.poll_transmit(&a, &blobs_a)).collect();
            let from_b: Vec<Vec<u8>> = std::iter::from_fn(|| sb.poll_transmit(&b, &blobs_b)).collect();
            if from_a.is_empty() && from_b.is_empty() {
                compute += start.elapsed();
                break;
            }
            rounds += 1;
            for frame in &from_a {
                bytes_exchanged += frame.len();
                sb.receive(frame, &mut b, &mut blobs_b, 0).expect("a's frame");
            }
            for frame in &from_b {
                bytes_exchanged += frame.len();
                sa.receive(frame, &mut a, &mut blobs_a, 0).expect("b's frame");
            }
            compute += start.elapsed();
        }
        assert_eq!(a.cards(), b.cards(), "replicas did not converge");
        // A round is both sides sending at once: half a round trip.
        Reconcile { bytes_exchanged, change_bytes, round_trips: rounds as f64 / 2.0, compute }
    }

    fn concurrent_colours(peers: usize) -> Colours {
        let base = board_with(1, 1, false);
        let saved = base.save().expect("save");
        let fork = base.version();
        let updates: Vec<Vec<u8>> = (0..peers)
            .map(|i| {
                let mut replica = Board::load(&saved, ReplicaId(10 + i as u64)).expect("load");
                let color = Color::parse(&format!("#{:06x}", i * 997)).expect("colour");
                replica.set_color(&[id(0)], Some(color)).expect("colour");
                replica.updates_since(&fork)
            })
            .collect();
        let mut receiver = Board::load(&saved, ReplicaId(5_000)).expect("load");
        let start = Instant::now();
        for update in &updates {
            receiver.import(update).expect("import");
        }
        receiver.take_changes();
        let apply = start.elapsed();
        let mut reverse = Board::load(&saved, ReplicaId(5_001)).expect("load");
        for update in updates.iter().rev() {
            reverse.import(update).expect("import");
        }
        let converged = receiver.card(id(0)).map(|c| c.color) == reverse.card(id(0)).map(|c| c.color);
        Colours { apply, saved_bytes: receiver.save().expect("save").len(), converged }
    }
}
