//! The same workloads on Automerge (`AutoCommit`, one commit per action), reconciled with
//! Automerge's own sync protocol.

use std::time::{Duration, Instant};

use automerge::sync::{Message, State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc};

use crate::engine::{Colours, Engine, Lcg, Reconcile, card_id};

/// Automerge, used the straightforward way: card object ids kept in a Vec, one commit per action.
#[derive(Debug)]
pub struct AutomergeEngine;

/// A deterministic actor id of the usual 16 bytes.
fn actor(n: u64) -> ActorId {
    ActorId::from(u128::from(n).to_be_bytes().as_slice())
}

/// A board of `cards` cards at the origin, created in one commit; returns the card objects.
fn doc_with(cards: usize, peer: u64, with_text: bool) -> (AutoCommit, Vec<ObjId>) {
    let mut doc = AutoCommit::new().with_actor(actor(peer));
    let root = doc.put_object(ROOT, "cards", ObjType::Map).expect("cards map");
    let handles: Vec<ObjId> = (0..cards)
        .map(|i| {
            let card = doc.put_object(&root, card_id(i), ObjType::Map).expect("card");
            for (key, value) in [("x", 0.0), ("y", 0.0), ("w", 200.0), ("h", 150.0)] {
                doc.put(&card, key, value).expect("insert");
            }
            if with_text {
                doc.put_object(&card, "text", ObjType::Text).expect("text");
            }
            card
        })
        .collect();
    doc.commit();
    (doc, handles)
}

fn moved(doc: &mut AutoCommit, handles: &[ObjId], moves: usize, rng: &mut Lcg) {
    for _ in 0..moves {
        let card = &handles[rng.below(handles.len())];
        let x = rng.coordinate();
        let y = rng.coordinate();
        doc.put(card, "x", x).expect("x");
        doc.put(card, "y", y).expect("y");
        doc.commit();
    }
}

/// The `cards` map, if the document has one.
fn cards_of(doc: &AutoCommit) -> Option<ObjId> {
    match doc.get(ROOT, "cards").expect("read cards") {
        Some((automerge::Value::Object(ObjType::Map), id)) => Some(id),
        _ => None,
    }
}

/// The object stored under `key` in `obj`, which must be of type `kind`.
fn object(doc: &AutoCommit, obj: &ObjId, key: &str, kind: ObjType) -> ObjId {
    match doc.get(obj, key).expect("read") {
        Some((automerge::Value::Object(found), id)) if found == kind => id,
        other => panic!("{key}: expected a {kind:?}, found {other:?}"),
    }
}

fn handles_of(doc: &AutoCommit, cards: usize) -> Vec<ObjId> {
    let root = cards_of(doc).expect("cards map missing");
    (0..cards).map(|i| object(doc, &root, &card_id(i), ObjType::Map)).collect()
}

/// Encodes `message` for the wire and applies it on the other side, as a network would.
fn deliver(message: Message, to: &mut AutoCommit, state: &mut State) -> usize {
    let bytes = message.encode();
    let decoded = Message::decode(&bytes).expect("decode sync message");
    to.sync().receive_sync_message(state, decoded).expect("receive sync message");
    bytes.len()
}

impl Engine for AutomergeEngine {
    const NAME: &'static str = "Automerge";

    fn timed_moves(cards: usize, moves: usize, seed: u64) -> Duration {
        let (mut doc, handles) = doc_with(cards, 1, false);
        let mut rng = Lcg::new(seed);
        let start = Instant::now();
        moved(&mut doc, &handles, moves, &mut rng);
        start.elapsed()
    }

    fn saved_history(cards: usize, moves: usize, seed: u64) -> (Vec<u8>, Option<Vec<u8>>) {
        let (mut doc, handles) = doc_with(cards, 1, false);
        moved(&mut doc, &handles, moves, &mut Lcg::new(seed));
        // Automerge keeps every change: there is no save without history.
        (doc.save(), None)
    }

    fn load_and_read(bytes: &[u8]) -> usize {
        let doc = AutoCommit::load(bytes).expect("load");
        let Some(root) = cards_of(&doc) else { return 0 };
        let mut read = 0;
        for item in doc.map_range(&root, ..) {
            let card = item.id();
            let coordinate =
                |key: &str| doc.get(&card, key).expect("read").and_then(|(value, _)| value.as_f64());
            if let (Some(x), Some(y)) = (coordinate("x"), coordinate("y"))
                && x.is_finite()
                && y.is_finite()
            {
                read += 1;
            }
        }
        read
    }

    fn reconcile(edits: usize, seed: u64) -> Reconcile {
        let (mut a, _) = doc_with(100, 1, true);
        let mut b = AutoCommit::load(&a.save()).expect("load").with_actor(actor(2));
        let fork = a.get_heads();
        for (doc, mut rng) in [(&mut a, Lcg::new(seed)), (&mut b, Lcg::new(seed + 1))] {
            let handles = handles_of(doc, 100);
            for _ in 0..edits {
                if rng.below(5) == 0 {
                    let text = object(doc, &handles[rng.below(100)], "text", ObjType::Text);
                    let at = rng.below(doc.length(&text) + 1);
                    doc.splice_text(&text, at, 0, "a").expect("insert");
                } else {
                    let card = &handles[rng.below(100)];
                    let x = rng.coordinate();
                    let y = rng.coordinate();
                    doc.put(card, "x", x).expect("x");
                    doc.put(card, "y", y).expect("y");
                }
                doc.commit();
            }
        }
        // Each side's changes since the fork, as Automerge encodes them on their own.
        let change_bytes = a.save_after(&fork).len() + b.save_after(&fork).len();

        // Automerge's sync protocol from fresh sync states: each side sends until neither has
        // anything left to say. A message from `a` then one from `b` is one round trip. `compute`
        // covers generating, encoding, decoding and receiving messages (the other engines' figures
        // include encoding and decoding their updates too), not the bookkeeping or the checks.
        let (mut state_a, mut state_b) = (State::new(), State::new());
        let (mut bytes_exchanged, mut flights) = (0, 0);
        let mut compute = Duration::ZERO;
        loop {
            let mut sent = false;
            let start = Instant::now();
            if let Some(message) = a.sync().generate_sync_message(&mut state_a) {
                bytes_exchanged += deliver(message, &mut b, &mut state_b);
                flights += 1;
                sent = true;
            }
            if let Some(message) = b.sync().generate_sync_message(&mut state_b) {
                bytes_exchanged += deliver(message, &mut a, &mut state_a);
                flights += 1;
                sent = true;
            }
            compute += start.elapsed();
            if !sent {
                break;
            }
        }
        assert_eq!(a.get_heads(), b.get_heads(), "replicas have different heads after sync");
        assert_eq!(
            a.hydrate(ROOT, None).expect("hydrate a"),
            b.hydrate(ROOT, None).expect("hydrate b"),
            "replicas did not converge"
        );
        Reconcile { bytes_exchanged, change_bytes, round_trips: f64::from(flights) / 2.0, compute }
    }

    fn concurrent_colours(peers: usize) -> Colours {
        let (mut base, _) = doc_with(1, 1, false);
        let saved = base.save();
        let fork = base.get_heads();
        let load = |peer: u64| AutoCommit::load(&saved).expect("load").with_actor(actor(peer));
        let updates: Vec<Vec<u8>> = (0..peers)
            .map(|i| {
                let mut doc = load(10 + i as u64);
                let card = handles_of(&doc, 1).remove(0);
                doc.put(&card, "color", format!("#{:06x}", i * 997)).expect("colour");
                doc.commit();
                doc.save_after(&fork)
            })
            .collect();
        let mut receiver = load(5_000);
        let start = Instant::now();
        for update in &updates {
            receiver.load_incremental(update).expect("apply changes");
        }
        let apply = start.elapsed();
        let mut reverse = load(5_001);
        for update in updates.iter().rev() {
            reverse.load_incremental(update).expect("apply changes");
        }
        let colour = |doc: &AutoCommit| {
            let card = handles_of(doc, 1).remove(0);
            doc.get(&card, "color").expect("read").map(|(value, _)| value.to_string())
        };
        let converged = colour(&receiver).is_some()
            && colour(&receiver) == colour(&reverse)
            && receiver.hydrate(ROOT, None).ok() == reverse.hydrate(ROOT, None).ok();
        Colours { apply, saved_bytes: receiver.save().len(), converged }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_at_tiny_sizes() {
        let moves = AutomergeEngine::timed_moves(10, 100, 1);
        let (full, trimmed) = AutomergeEngine::saved_history(10, 100, 3);
        assert!(trimmed.is_none());
        assert_eq!(AutomergeEngine::load_and_read(&full), 10);
        let reconcile = AutomergeEngine::reconcile(50, 4);
        assert!(reconcile.round_trips >= 1.0, "{reconcile:?}");
        assert!(reconcile.bytes_exchanged > 0 && reconcile.change_bytes > 0, "{reconcile:?}");
        let colours = AutomergeEngine::concurrent_colours(5);
        assert!(colours.converged, "{colours:?}");
        assert!(colours.saved_bytes > 0);
        println!("Automerge: 100 moves {moves:?}, save {} bytes, {reconcile:?}, {colours:?}", full.len());
    }

    #[test]
    fn the_same_seed_gives_the_same_document() {
        let (first, _) = AutomergeEngine::saved_history(10, 50, 7);
        let (second, _) = AutomergeEngine::saved_history(10, 50, 7);
        assert_eq!(first, second);
    }
}
