//! The same workloads on Yrs (the Rust port of Yjs): a root map `cards` of nested maps, one
//! transaction per action, reconciled with the Yjs state-vector exchange.

use std::time::{Duration, Instant};

use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Doc, Map, MapPrelim, MapRef, Out, ReadTxn, StateVector, Text, TextPrelim, TextRef, Transact, Update,
};

use crate::engine::{Colours, Engine, Lcg, Reconcile, card_id};

/// Yrs, used the straightforward way: card map handles kept in a Vec, one transaction per action.
#[derive(Debug)]
pub struct YrsEngine;

/// A board of `cards` cards at the origin, created in one transaction; returns the card maps.
fn doc_with(cards: usize, client: u64, with_text: bool) -> (Doc, Vec<MapRef>) {
    let doc = Doc::with_client_id(client);
    let root = doc.get_or_insert_map("cards");
    let handles = {
        let mut txn = doc.transact_mut();
        (0..cards)
            .map(|i| {
                // Fields are inserted one by one rather than through a filled `MapPrelim` (a
                // HashMap), so that the encoding, and hence every size, is the same on every run.
                let card = root.insert(&mut txn, card_id(i), MapPrelim::default());
                for (key, value) in [("x", 0.0), ("y", 0.0), ("w", 200.0), ("h", 150.0)] {
                    card.insert(&mut txn, key, value);
                }
                if with_text {
                    card.insert(&mut txn, "text", TextPrelim::new(""));
                }
                card
            })
            .collect()
    };
    (doc, handles)
}

fn moved(doc: &Doc, handles: &[MapRef], moves: usize, rng: &mut Lcg) {
    for _ in 0..moves {
        let card = &handles[rng.below(handles.len())];
        let x = rng.coordinate();
        let y = rng.coordinate();
        let mut txn = doc.transact_mut();
        card.insert(&mut txn, "x", x);
        card.insert(&mut txn, "y", y);
    }
}

/// A document with `client` id holding the state of `update` (a full v1 update).
fn loaded(update: &[u8], client: u64) -> Doc {
    let doc = Doc::with_client_id(client);
    apply(&doc, update);
    doc
}

/// Decodes a v1 update and applies it in one transaction.
fn apply(doc: &Doc, update: &[u8]) {
    let update = Update::decode_v1(update).expect("decode update");
    doc.transact_mut().apply_update(update).expect("apply update");
}

fn full_state(doc: &Doc) -> Vec<u8> {
    doc.transact().encode_state_as_update_v1(&StateVector::default())
}

fn handles_of(doc: &Doc, cards: usize) -> Vec<MapRef> {
    let root = doc.get_or_insert_map("cards");
    let txn = doc.transact();
    (0..cards)
        .map(|i| match root.get(&txn, &card_id(i)) {
            Some(Out::YMap(card)) => card,
            other => panic!("card {i} missing: {other:?}"),
        })
        .collect()
}

fn text_of<T: ReadTxn>(card: &MapRef, txn: &T) -> TextRef {
    match card.get(txn, "text") {
        Some(Out::YText(text)) => text,
        other => panic!("text missing: {other:?}"),
    }
}

/// The whole board as JSON-like values, to compare replicas.
fn board(doc: &Doc) -> Any {
    let root = doc.get_or_insert_map("cards");
    root.to_json(&doc.transact())
}

impl Engine for YrsEngine {
    const NAME: &'static str = "Yrs";

    fn timed_moves(cards: usize, moves: usize, seed: u64) -> Duration {
        let (doc, handles) = doc_with(cards, 1, false);
        let mut rng = Lcg::new(seed);
        let start = Instant::now();
        moved(&doc, &handles, moves, &mut rng);
        start.elapsed()
    }

    fn saved_history(cards: usize, moves: usize, seed: u64) -> (Vec<u8>, Option<Vec<u8>>) {
        let (doc, handles) = doc_with(cards, 1, false);
        moved(&doc, &handles, moves, &mut Lcg::new(seed));
        // No trimmed save: Yrs garbage-collects overwritten map values as it goes (only their ids
        // remain, as tombstones), so the full update is already close to the current state.
        (full_state(&doc), None)
    }

    fn load_and_read(bytes: &[u8]) -> usize {
        let doc = loaded(bytes, 1);
        let root = doc.get_or_insert_map("cards");
        let txn = doc.transact();
        let coordinate = |card: &MapRef, key: &str| match card.get(&txn, key) {
            Some(Out::Any(Any::Number(n))) => n.as_f64(),
            _ => None,
        };
        let mut read = 0;
        for (_, value) in root.iter(&txn) {
            if let Out::YMap(card) = value
                && let (Some(x), Some(y)) = (coordinate(&card, "x"), coordinate(&card, "y"))
                && x.is_finite()
                && y.is_finite()
            {
                read += 1;
            }
        }
        read
    }

    fn reconcile(edits: usize, seed: u64) -> Reconcile {
        let (a, _) = doc_with(100, 1, true);
        let b = loaded(&full_state(&a), 2);
        let fork = a.transact().state_vector();
        for (doc, mut rng) in [(&a, Lcg::new(seed)), (&b, Lcg::new(seed + 1))] {
            let handles = handles_of(doc, 100);
            for _ in 0..edits {
                let mut txn = doc.transact_mut();
                if rng.below(5) == 0 {
                    let text = text_of(&handles[rng.below(100)], &txn);
                    let at = rng.below(text.len(&txn) as usize + 1);
                    text.insert(&mut txn, u32::try_from(at).expect("text index"), "a");
                } else {
                    let card = &handles[rng.below(100)];
                    let x = rng.coordinate();
                    let y = rng.coordinate();
                    card.insert(&mut txn, "x", x);
                    card.insert(&mut txn, "y", y);
                }
            }
        }
        let diff = |doc: &Doc, sv: &StateVector| doc.transact().encode_diff_v1(sv);
        let change_bytes = diff(&a, &fork).len() + diff(&b, &fork).len();

        // The Yjs sync: each side sends its state vector, each answers with what the other lacks
        // and applies the answer it gets. One round trip.
        let start = Instant::now();
        let (sv_a, sv_b) = (a.transact().state_vector().encode_v1(), b.transact().state_vector().encode_v1());
        let for_b = diff(&a, &StateVector::decode_v1(&sv_b).expect("state vector"));
        let for_a = diff(&b, &StateVector::decode_v1(&sv_a).expect("state vector"));
        apply(&b, &for_b);
        apply(&a, &for_a);
        let compute = start.elapsed();
        assert_eq!(
            a.transact().state_vector(),
            b.transact().state_vector(),
            "replicas have different states"
        );
        assert_eq!(board(&a), board(&b), "replicas did not converge");
        Reconcile {
            bytes_exchanged: sv_a.len() + sv_b.len() + for_a.len() + for_b.len(),
            change_bytes,
            round_trips: 1.0,
            compute,
        }
    }

    fn concurrent_colours(peers: usize) -> Colours {
        let (base, _) = doc_with(1, 1, false);
        let saved = full_state(&base);
        let fork = base.transact().state_vector();
        let updates: Vec<Vec<u8>> = (0..peers)
            .map(|i| {
                let doc = loaded(&saved, 10 + i as u64);
                let card = handles_of(&doc, 1).remove(0);
                card.insert(&mut doc.transact_mut(), "color", format!("#{:06x}", i * 997));
                doc.transact().encode_diff_v1(&fork)
            })
            .collect();
        let receiver = loaded(&saved, 5_000);
        let start = Instant::now();
        for update in &updates {
            apply(&receiver, update);
        }
        let apply_time = start.elapsed();
        let reverse = loaded(&saved, 5_001);
        for update in updates.iter().rev() {
            apply(&reverse, update);
        }
        let colour = |doc: &Doc| {
            let card = handles_of(doc, 1).remove(0);
            let txn = doc.transact();
            card.get(&txn, "color").map(|value| value.to_string(&txn))
        };
        let converged = colour(&receiver).is_some()
            && colour(&receiver) == colour(&reverse)
            && board(&receiver) == board(&reverse);
        Colours { apply: apply_time, saved_bytes: full_state(&receiver).len(), converged }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_at_tiny_sizes() {
        let moves = YrsEngine::timed_moves(10, 100, 1);
        let (full, trimmed) = YrsEngine::saved_history(10, 100, 3);
        assert!(trimmed.is_none());
        assert_eq!(YrsEngine::load_and_read(&full), 10);
        let reconcile = YrsEngine::reconcile(50, 4);
        assert!(reconcile.round_trips >= 1.0, "{reconcile:?}");
        assert!(reconcile.bytes_exchanged > 0 && reconcile.change_bytes > 0, "{reconcile:?}");
        let colours = YrsEngine::concurrent_colours(5);
        assert!(colours.converged, "{colours:?}");
        assert!(colours.saved_bytes > 0);
        println!("Yrs: 100 moves {moves:?}, save {} bytes, {reconcile:?}, {colours:?}", full.len());
    }

    #[test]
    fn the_same_seed_gives_the_same_document() {
        let (first, _) = YrsEngine::saved_history(10, 50, 7);
        let (second, _) = YrsEngine::saved_history(10, 50, 7);
        assert_eq!(first, second);
    }
}
