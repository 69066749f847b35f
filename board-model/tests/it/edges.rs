//! Edges and groups: drawing, restyling, deleting with their cards,
//! converging when a card is deleted while a peer draws an edge to it,
//! undo, events, and group membership by bounds.

use std::collections::HashSet;

use board_model::{
    Board, CardId, Color, Content, EdgeChange, EdgeId, End, Error, Event, NewCard, NewEdge, ReplicaId, Side,
    Size,
};

use crate::support::{id, new_board, note, rendered};

fn edge_id(n: u8) -> EdgeId {
    EdgeId::from_random_bytes([n; 16])
}

fn group(id: CardId, x: f64, y: f64, w: f64, h: f64) -> NewCard {
    NewCard {
        size: Some(Size { width: w, height: h }),
        content: Content::Group { label: "Ideas".into() },
        ..note(id, "", x, y)
    }
}

/// A board with notes 1 and 2 and an edge 1 → 2.
fn connected() -> Board {
    let mut board = new_board(1);
    board.add_card(note(id(1), "a", 0.0, 0.0)).expect("card 1");
    board.add_card(note(id(2), "b", 400.0, 0.0)).expect("card 2");
    board.add_edge(NewEdge::between(edge_id(1), id(1), id(2))).expect("edge");
    board
}

/// Both boards hold everything the other has.
fn sync(a: &mut Board, b: &mut Board) {
    let to_b = a.updates_since(&b.version());
    let to_a = b.updates_since(&a.version());
    for (board, updates) in [(b, to_b), (a, to_a)] {
        if !updates.is_empty() {
            board.import_updates(&updates).expect("import");
        }
    }
}

#[test]
fn an_edge_joins_two_cards_with_its_sides_ends_colour_and_label() {
    let mut board = connected();
    let edges = board.edges();
    assert_eq!(edges.len(), 1);
    let edge = &edges[0];
    assert_eq!((edge.from.card, edge.to.card), (id(1), id(2)));
    assert_eq!((edge.from.end, edge.to.end), (End::None, End::Arrow));
    board
        .change_edge(
            edge_id(1),
            &EdgeChange {
                from_side: Some(Some(Side::Right)),
                to_side: Some(Some(Side::Left)),
                from_end: Some(End::Arrow),
                to_end: Some(End::None),
                color: Some(Some(Color::Preset(5))),
            },
        )
        .unwrap();
    board.set_edge_label(edge_id(1), "leads to").unwrap();
    let edge = board.edge(edge_id(1)).unwrap();
    assert_eq!((edge.from.side, edge.to.side), (Some(Side::Right), Some(Side::Left)));
    assert_eq!((edge.from.end, edge.to.end), (End::Arrow, End::None));
    assert_eq!(edge.color, Some(Color::Preset(5)));
    assert_eq!(edge.label, "leads to");
    // Each change is one undo step.
    assert!(board.undo().unwrap());
    assert_eq!(board.edge(edge_id(1)).unwrap().label, "");
}

#[test]
fn edges_to_missing_cards_or_duplicates_are_refused_and_change_nothing() {
    let mut board = connected();
    let before = rendered(&board);
    assert!(matches!(board.add_edge(NewEdge::between(edge_id(2), id(1), id(9))), Err(Error::UnknownCard(_))));
    assert!(matches!(
        board.add_edge(NewEdge::between(edge_id(1), id(2), id(1))),
        Err(Error::DuplicateEdge(_))
    ));
    assert!(board.add_edge(NewEdge::between(edge_id(3), id(1), id(1))).is_err(), "a loop on one spot");
    let long = NewEdge { label: "x".repeat(5_000), ..NewEdge::between(edge_id(4), id(1), id(2)) };
    assert!(matches!(board.add_edge(long), Err(Error::TooLong { .. })));
    assert!(matches!(board.delete_edges(&[edge_id(7)]), Err(Error::UnknownEdge(_))));
    assert_eq!(rendered(&board), before);
}

#[test]
fn deleting_a_card_deletes_its_edges_and_undo_brings_both_back() {
    let mut board = connected();
    board.take_changes();
    board.delete_cards(&[id(2)]).unwrap();
    assert!(board.edges().is_empty());
    let events: Vec<Event> = board.take_changes().into_iter().flat_map(|c| c.events).collect();
    assert!(events.contains(&Event::EdgeRemoved(edge_id(1))), "{events:?}");
    assert!(board.undo().unwrap());
    assert_eq!(board.edges().len(), 1);
    let events: Vec<Event> = board.take_changes().into_iter().flat_map(|c| c.events).collect();
    assert!(events.contains(&Event::EdgeAdded(edge_id(1))), "{events:?}");
}

#[test]
fn a_card_deleted_while_a_peer_draws_an_edge_to_it_leaves_no_dangling_edge() {
    let mut a = connected();
    let mut b = Board::load(&a.save().unwrap(), ReplicaId(2)).unwrap();
    b.add_card(note(id(3), "c", 0.0, 300.0)).unwrap();
    sync(&mut a, &mut b);
    // At once: A deletes card 2; B draws 3 → 2.
    a.delete_cards(&[id(2)]).unwrap();
    b.add_edge(NewEdge::between(edge_id(2), id(3), id(2))).unwrap();
    sync(&mut a, &mut b);
    assert!(a.edges().is_empty(), "{:?}", a.edges());
    assert!(b.edges().is_empty(), "{:?}", b.edges());
    assert_eq!(rendered(&a), rendered(&b));
    // The deleter undoes: card 2 and both edges to it are back, everywhere.
    assert!(a.undo().unwrap());
    sync(&mut a, &mut b);
    let ids = |board: &Board| board.edges().iter().map(|edge| edge.id).collect::<HashSet<_>>();
    assert_eq!(ids(&a), HashSet::from([edge_id(1), edge_id(2)]));
    assert_eq!(ids(&a), ids(&b));
}

#[test]
fn concurrent_label_edits_merge() {
    let mut a = connected();
    a.set_edge_label(edge_id(1), "ab").unwrap();
    let mut b = Board::load(&a.save().unwrap(), ReplicaId(2)).unwrap();
    a.set_edge_label(edge_id(1), "Xab").unwrap();
    b.set_edge_label(edge_id(1), "abY").unwrap();
    sync(&mut a, &mut b);
    assert_eq!(a.edge(edge_id(1)).unwrap().label, "XabY");
    assert_eq!(rendered(&a), rendered(&b));
}

#[test]
fn edge_events_say_which_edge_changed() {
    let mut board = connected();
    board.take_changes();
    board.set_edge_label(edge_id(1), "why").unwrap();
    board.set_edge_color(&[edge_id(1)], Some(Color::Preset(2))).unwrap();
    let events: Vec<Event> = board.take_changes().into_iter().flat_map(|c| c.events).collect();
    assert_eq!(events, vec![Event::EdgeChanged(edge_id(1)), Event::EdgeChanged(edge_id(1))]);
    board.delete_edges(&[edge_id(1)]).unwrap();
    let events: Vec<Event> = board.take_changes().into_iter().flat_map(|c| c.events).collect();
    assert_eq!(events, vec![Event::EdgeRemoved(edge_id(1))]);
}

#[test]
fn edges_survive_save_and_load() {
    let mut board = connected();
    board.set_edge_label(edge_id(1), "kept").unwrap();
    let loaded = Board::load(&board.save().unwrap(), ReplicaId(5)).unwrap();
    assert_eq!(loaded.edges(), board.edges());
}

#[test]
fn a_group_frames_the_cards_inside_its_bounds_and_groups_nest() {
    let mut board = new_board(1);
    board.add_card(group(id(10), 0.0, 0.0, 1000.0, 800.0)).unwrap();
    board.add_card(group(id(11), 50.0, 50.0, 500.0, 400.0)).unwrap();
    board.add_card(note(id(1), "inside both", 100.0, 100.0)).unwrap();
    board.add_card(note(id(2), "inside the outer", 700.0, 500.0)).unwrap();
    board.add_card(note(id(3), "half out", 900.0, 100.0)).unwrap();
    board.add_card(note(id(4), "outside", 2000.0, 0.0)).unwrap();
    let members = |board: &Board, group| board.members_of(group).into_iter().collect::<HashSet<_>>();
    assert_eq!(members(&board, id(10)), HashSet::from([id(11), id(1), id(2)]));
    assert_eq!(members(&board, id(11)), HashSet::from([id(1)]));
    assert!(board.members_of(id(1)).is_empty(), "a note frames nothing");
    board.set_group_label(id(10), "Plans").unwrap();
    assert_eq!(board.card(id(10)).unwrap().content, Content::Group { label: "Plans".into() });
    assert!(matches!(board.set_group_label(id(1), "x"), Err(Error::WrongKind { .. })));
    assert!(board.set_group_label(id(10), "bad\nlabel").is_err());
}

#[test]
fn pinned_boards_and_files_keep_their_link_and_path() {
    let mut board = new_board(1);
    let link = "corkboard://board#board=6f9c1b1e-93a1-4a8e-9c7e-0b0c3f3b5a11&key=abc";
    board
        .add_card(NewCard { content: Content::Board { link: link.into() }, ..note(id(1), "", 0.0, 0.0) })
        .unwrap();
    board
        .add_card(NewCard {
            content: Content::File { path: "docs/plan.pdf".into() },
            ..note(id(2), "", 0.0, 0.0)
        })
        .unwrap();
    assert_eq!(board.card(id(1)).unwrap().content, Content::Board { link: link.into() });
    assert_eq!(board.card(id(2)).unwrap().content, Content::File { path: "docs/plan.pdf".into() });
    for bad in ["https://example.org", "javascript:x#board=1&key=2", "corkboard://board#board=1&key=2 x"] {
        let card = NewCard { content: Content::Board { link: bad.into() }, ..note(id(3), "", 0.0, 0.0) };
        assert!(board.add_card(card).is_err(), "{bad}");
    }
    for bad in ["", "/etc/passwd", "../up.txt", "a//b", "C:\\x", "a/../../b"] {
        let card = NewCard { content: Content::File { path: bad.into() }, ..note(id(4), "", 0.0, 0.0) };
        assert!(board.add_card(card).is_err(), "{bad:?}");
    }
}
