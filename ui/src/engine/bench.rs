//! Costs that must grow with what changed, not with the board: a board of
//! 20,000 cards arriving from a peer, and a peer toggling a 1,000-card
//! selection on it (the engine on the host, over the in-memory home).
//! `./x bench` runs it; alone:
//! `cargo test -p corkboard-ui --release --lib engine::bench -- --ignored --nocapture`
//! (`CORKBOARD_BENCH_CARDS=N` for a smaller board).

use std::time::{Duration, Instant};

use board_model::presence;
use board_model::{CardId, Content, NewCard, Point};

use super::tests::{Node, identity, ids, opened};
use super::{Engine, close, with};
use crate::platform::memory::TestHome;
use crate::view_model::BoardSignals;

fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let started = Instant::now();
    let result = f();
    (result, started.elapsed())
}

fn card(n: u32) -> NewCard {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&n.to_le_bytes());
    id[15] = 0xbe;
    NewCard {
        id: CardId::from_random_bytes(id),
        position: Point { x: f64::from(n % 200) * 250.0, y: f64::from(n / 200) * 200.0 },
        size: None,
        color: None,
        content: Content::Note { text: format!("card {n}") },
        created_by: "bench".into(),
        created_at: 0,
    }
}

#[test]
#[ignore = "a benchmark: ./x bench"]
fn bench_20000_cards_from_a_peer_and_a_1000_card_selection_toggled_by_a_peer() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let mut node = Node::attach(&home);
    node.exchange(&home);
    // `CORKBOARD_BENCH_CARDS` sets a smaller board (to compare with code too slow for the largest).
    let total = std::env::var("CORKBOARD_BENCH_CARDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(board_model::card::limits::MAX_CARDS)
        .min(board_model::card::limits::MAX_CARDS);
    let have = ids(signals).len();
    node.board.add_cards((0..(total - have) as u32).map(card).collect()).expect("cards");
    let ((), import) = timed(|| node.exchange(&home));
    assert_eq!(ids(signals).len(), total, "every card arrived");

    let selection: Vec<CardId> = ids(signals).into_iter().take(presence::MAX_LISTED_CARDS).collect();
    let peer = 4242;
    with(|e| e.person_joined(peer, identity("Bob")));
    let rounds = 40u32;
    let ((), toggles) = timed(|| {
        for round in 0..rounds {
            let state = presence::State {
                selection: if round % 2 == 0 { selection.clone() } else { Vec::new() },
                ..presence::State::default()
            };
            with(|e: &mut Engine| e.apply_remote_presence(peer, state));
        }
    });
    println!("### The engine at {total} cards (host, release build)\n");
    println!("| what | figure |\n|---|---:|");
    println!(
        "| a {total}-card board arriving from a peer, to every card signal | {:.0} ms |",
        import.as_secs_f64() * 1e3
    );
    println!(
        "| a peer toggling a {}-card selection on it, per toggle | {:.2} ms |",
        selection.len(),
        toggles.as_secs_f64() * 1e3 / f64::from(rounds)
    );
    close();
}
