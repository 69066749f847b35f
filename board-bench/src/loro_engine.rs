//! The same workloads on raw Loro, used the fastest straightforward way
//! (card handles kept in a Vec, no validation, no events, no undo): the
//! baseline our board model must stay within 1.5× of.

use std::time::{Duration, Instant};

use loro::{ExportMode, LoroDoc, LoroMap, LoroText, LoroValue, ValueOrContainer};

use crate::engine::{Colours, Engine, Lcg, Reconcile, card_id};

pub struct LoroEngine;

fn doc_with(cards: usize, peer: u64, with_text: bool) -> (LoroDoc, Vec<LoroMap>) {
    let doc = LoroDoc::new();
    doc.set_peer_id(peer).expect("peer id");
    let root = doc.get_map("cards");
    let handles: Vec<LoroMap> = (0..cards)
        .map(|i| {
            let card = root.ensure_mergeable_map(&card_id(i)).expect("card");
            for (key, value) in [("x", 0.0), ("y", 0.0), ("w", 200.0), ("h", 150.0)] {
                card.insert(key, value).expect("insert");
            }
            if with_text {
                card.ensure_mergeable_text("text").expect("text");
            }
            card
        })
        .collect();
    doc.commit();
    (doc, handles)
}

fn moved(doc: &LoroDoc, handles: &[LoroMap], moves: usize, rng: &mut Lcg) {
    for _ in 0..moves {
        let card = &handles[rng.below(handles.len())];
        card.insert("x", rng.coordinate()).expect("x");
        card.insert("y", rng.coordinate()).expect("y");
        doc.commit();
    }
}

fn handles_of(doc: &LoroDoc, cards: usize) -> Vec<LoroMap> {
    let root = doc.get_map("cards");
    (0..cards)
        .map(|i| match root.get(&card_id(i)) {
            Some(ValueOrContainer::Container(loro::Container::Map(map))) => map,
            _ => panic!("card {i} missing"),
        })
        .collect()
}

fn text_of(card: &LoroMap) -> LoroText {
    match card.get("text") {
        Some(ValueOrContainer::Container(loro::Container::Text(text))) => text,
        _ => panic!("text missing"),
    }
}

impl Engine for LoroEngine {
    const NAME: &'static str = "Loro (raw)";

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
        let full = doc.export(ExportMode::Snapshot).expect("snapshot");
        let frontiers = doc.oplog_frontiers();
        let trimmed = doc.export(ExportMode::shallow_snapshot(&frontiers)).expect("shallow");
        (full, Some(trimmed))
    }

    fn load_and_read(bytes: &[u8]) -> usize {
        let doc = LoroDoc::new();
        doc.import(bytes).expect("import");
        let mut read = 0;
        doc.get_map("cards").for_each(|_, value| {
            if let ValueOrContainer::Container(loro::Container::Map(card)) = value
                && let Some(ValueOrContainer::Value(LoroValue::Double(x))) = card.get("x")
                && x.is_finite()
            {
                read += 1;
            }
        });
        read
    }

    fn reconcile(edits: usize, seed: u64) -> Reconcile {
        let (a, _) = doc_with(100, 1, true);
        let b = LoroDoc::new();
        b.set_peer_id(2).expect("peer");
        b.import(&a.export(ExportMode::Snapshot).expect("snapshot")).expect("import");
        let fork = a.oplog_vv();
        for (doc, mut rng) in [(&a, Lcg::new(seed)), (&b, Lcg::new(seed + 1))] {
            let handles = handles_of(doc, 100);
            for _ in 0..edits {
                if rng.below(5) == 0 {
                    let text = text_of(&handles[rng.below(100)]);
                    let at = rng.below(text.len_unicode() + 1);
                    text.insert(at, "a").expect("insert");
                } else {
                    let card = &handles[rng.below(100)];
                    card.insert("x", rng.coordinate()).expect("x");
                    card.insert("y", rng.coordinate()).expect("y");
                }
                doc.commit();
            }
        }
        let updates = |doc: &LoroDoc, vv| doc.export(ExportMode::updates(vv)).expect("updates");
        let change_bytes = updates(&a, &fork).len() + updates(&b, &fork).len();
        // Loro's sync: each side sends its version vector, each answers with what the other lacks.
        let start = Instant::now();
        let (vv_a, vv_b) = (a.oplog_vv().encode(), b.oplog_vv().encode());
        let (theirs_b, theirs_a) = (
            loro::VersionVector::decode(&vv_b).expect("vv"),
            loro::VersionVector::decode(&vv_a).expect("vv"),
        );
        let for_b = a.export(ExportMode::updates(&theirs_b)).expect("updates");
        let for_a = b.export(ExportMode::updates(&theirs_a)).expect("updates");
        b.import(&for_b).expect("import");
        a.import(&for_a).expect("import");
        let compute = start.elapsed();
        assert_eq!(a.get_deep_value(), b.get_deep_value(), "replicas did not converge");
        Reconcile {
            bytes_exchanged: vv_a.len() + vv_b.len() + for_a.len() + for_b.len(),
            change_bytes,
            round_trips: 1.0,
            compute,
        }
    }

    fn concurrent_colours(peers: usize) -> Colours {
        let (base, _) = doc_with(1, 1, false);
        let saved = base.export(ExportMode::Snapshot).expect("snapshot");
        let fork = base.oplog_vv();
        let load = |peer: u64| {
            let doc = LoroDoc::new();
            doc.set_peer_id(peer).expect("peer");
            doc.import(&saved).expect("import");
            doc
        };
        let updates: Vec<Vec<u8>> = (0..peers)
            .map(|i| {
                let doc = load(10 + i as u64);
                handles_of(&doc, 1)[0].insert("color", format!("#{:06x}", i * 997)).expect("colour");
                doc.commit();
                doc.export(ExportMode::updates(&fork)).expect("updates")
            })
            .collect();
        let receiver = load(5_000);
        let start = Instant::now();
        for update in &updates {
            receiver.import(update).expect("import");
        }
        let apply = start.elapsed();
        let reverse = load(5_001);
        for update in updates.iter().rev() {
            reverse.import(update).expect("import");
        }
        Colours {
            apply,
            saved_bytes: receiver.export(ExportMode::Snapshot).expect("snapshot").len(),
            converged: receiver.get_deep_value() == reverse.get_deep_value(),
        }
    }
}

/// Raw Loro doing what the board model does on every commit besides the
/// write itself: an undo manager records it and a subscriber receives its
/// events. The fair baseline for the move commit; other workloads as [`LoroEngine`].
pub struct LoroUndoEventsEngine;

impl Engine for LoroUndoEventsEngine {
    const NAME: &'static str = "Loro (raw, with undo and events)";

    fn timed_moves(cards: usize, moves: usize, seed: u64) -> Duration {
        let (doc, handles) = doc_with(cards, 1, false);
        let mut undo = loro::UndoManager::new(&doc);
        undo.set_merge_interval(0);
        let subscription = doc.subscribe_root(std::sync::Arc::new(|event| {
            std::hint::black_box(event.events.len());
        }));
        let mut rng = Lcg::new(seed);
        let start = Instant::now();
        moved(&doc, &handles, moves, &mut rng);
        let elapsed = start.elapsed();
        drop(subscription);
        elapsed
    }

    fn saved_history(cards: usize, moves: usize, seed: u64) -> (Vec<u8>, Option<Vec<u8>>) {
        LoroEngine::saved_history(cards, moves, seed)
    }

    fn load_and_read(bytes: &[u8]) -> usize {
        LoroEngine::load_and_read(bytes)
    }

    fn reconcile(edits: usize, seed: u64) -> Reconcile {
        LoroEngine::reconcile(edits, seed)
    }

    fn concurrent_colours(peers: usize) -> Colours {
        LoroEngine::concurrent_colours(peers)
    }
}
