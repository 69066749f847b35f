//! The board document: operations, validation, events, undo, save and load.

use board_model::{
    Board, BoardId, CardId, Color, Content, Error, Event, ImageRef, Kind, LoadError, NewCard, Point,
    ReplicaId, Size, Source, Version, blob,
};

use crate::support::{id, new_board, note, rendered};

#[test]
fn a_new_board_has_its_id_and_title_and_nothing_to_undo() {
    let board = new_board(1);
    assert_eq!(board.id(), Some(BoardId::from_random_bytes([9; 16])));
    assert_eq!(board.title(), "Trip");
    assert!(board.cards().is_empty());
    assert!(!board.can_undo());
}

#[test]
fn a_headless_board_edits_and_syncs_but_has_no_undo_and_no_events() {
    let mut node = Board::load_headless(&new_board(1).save().expect("save"), ReplicaId(1)).expect("load");
    node.add_card(note(id(1), "Kept", 0.0, 0.0)).expect("add");
    node.move_card(id(1), Point { x: 5.0, y: 5.0 }).expect("move");
    node.begin_undo_group().expect("a group is nothing to do");
    node.end_undo_group();
    assert!(!node.can_undo() && !node.can_redo());
    assert!(!node.undo().expect("undo"), "nothing to undo");
    assert!(node.take_changes().is_empty(), "nobody watches a headless board");
    assert_eq!(node.card(id(1)).map(|c| c.position), Some(Point { x: 5.0, y: 5.0 }));
    let mut other = Board::load(&node.save().expect("save"), ReplicaId(2)).expect("load");
    assert_eq!(rendered(&other), rendered(&node));
    other.move_card(id(1), Point { x: 9.0, y: 9.0 }).expect("move");
    node.import_updates(&other.updates_since(&node.version())).expect("import");
    assert_eq!(rendered(&other), rendered(&node));
    assert!(node.take_changes().is_empty());
}

#[test]
fn a_headless_board_reads_the_stack_and_its_cards_as_they_are_now() {
    // No events keep its caches current: what it reads must still be now.
    let mut node = Board::empty_headless(ReplicaId(1)).expect("empty");
    let mut peer = new_board(2);
    peer.add_card(note(id(1), "one", 0.0, 0.0)).expect("add");
    peer.add_card(note(id(2), "two", 0.0, 0.0)).expect("add");
    node.import_updates(&peer.updates_since(&node.version())).expect("import");
    assert_eq!(node.card(id(1)).map(|c| c.z), Some(0));
    node.bring_to_front(&[id(1)]).expect("front");
    assert_eq!(node.card(id(1)).map(|c| c.z), Some(1), "its own change to the stack");
    assert_eq!(node.card(id(2)).map(|c| c.z), Some(0));
    peer.import_updates(&node.updates_since(&peer.version())).expect("import");
    peer.bring_to_front(&[id(2)]).expect("front");
    node.import_updates(&peer.updates_since(&node.version())).expect("import");
    assert_eq!(node.card(id(2)).map(|c| c.z), Some(1), "a peer's change to the stack");
    node.move_card(id(2), Point { x: 3.0, y: 4.0 }).expect("move");
    node.delete_cards(&[id(2)]).expect("delete");
    assert!(node.card(id(2)).is_none());
    assert!(
        matches!(node.move_card(id(2), Point { x: 1.0, y: 1.0 }), Err(Error::UnknownCard(_))),
        "a deleted card is not moved through a stale handle"
    );
    peer.import_updates(&node.updates_since(&peer.version())).expect("import");
    assert_eq!(rendered(&peer), rendered(&node));
}

#[test]
fn added_cards_are_listed_in_z_order_with_their_fields() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "first", 10.0, 20.0)).unwrap();
    board.add_card(note(id(2), "second", 30.0, 40.0)).unwrap();
    let cards = board.cards();
    assert_eq!(cards.iter().map(|c| c.id).collect::<Vec<_>>(), vec![id(1), id(2)]);
    assert_eq!(cards[0].position, Point { x: 10.0, y: 20.0 });
    assert_eq!(cards[0].size, Kind::Note.default_size());
    assert_eq!(cards[1].z, 1);
    assert_eq!(cards[1].content, Content::Note { text: "second".into() });
    assert_eq!(board.card(id(2)).map(|c| c.z), Some(1));
}

#[test]
fn image_and_link_cards_keep_their_references() {
    let mut board = new_board(1);
    let image = ImageRef {
        hash: blob::Hash::of(b"png"),
        media_type: "image/png".into(),
        natural_width: 800,
        natural_height: 600,
        file_name: "cat.png".into(),
    };
    board.add_card(NewCard { content: Content::Image(image.clone()), ..note(id(1), "", 0.0, 0.0) }).unwrap();
    let link = Content::Link { url: "https://example.org".into(), title: "Example".into() };
    board.add_card(NewCard { content: link.clone(), ..note(id(2), "", 0.0, 0.0) }).unwrap();
    let cards = board.cards();
    assert_eq!(cards[0].content, Content::Image(image.clone()));
    // Default size keeps the natural aspect ratio.
    assert_eq!(cards[0].size, Size { width: 320.0, height: 240.0 });
    assert_eq!(cards[1].content, link);
    assert_eq!(board.referenced_blobs(), vec![image.hash]);
}

#[test]
fn invalid_input_is_refused_and_changes_nothing() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "a", 0.0, 0.0)).unwrap();
    let before = rendered(&board);
    let nan = Point { x: f64::NAN, y: 0.0 };
    assert!(matches!(board.move_card(id(1), nan), Err(Error::InvalidNumber { .. })));
    assert!(matches!(
        board.move_card(id(1), Point { x: f64::INFINITY, y: 0.0 }),
        Err(Error::InvalidNumber { .. })
    ));
    assert_eq!(board.move_card(id(9), Point { x: 1.0, y: 1.0 }), Err(Error::UnknownCard(id(9))));
    // A multi-move with one unknown card moves none.
    let moves = [(id(1), Point { x: 5.0, y: 5.0 }), (id(9), Point { x: 1.0, y: 1.0 })];
    assert_eq!(board.move_cards(&moves), Err(Error::UnknownCard(id(9))));
    assert_eq!(board.add_card(note(id(1), "dup", 0.0, 0.0)), Err(Error::DuplicateCard(id(1))));
    let huge = "x".repeat(board_model::card::limits::MAX_NOTE_CHARS + 1);
    assert!(matches!(board.add_card(note(id(2), &huge, 0.0, 0.0)), Err(Error::TooLong { .. })));
    assert!(matches!(board.splice_text(id(1), 5, 0, "x"), Err(Error::TextRange { .. })));
    assert!(matches!(board.splice_text(id(1), 0, usize::MAX, ""), Err(Error::TextRange { .. })));
    let bad_link = Content::Link { url: "javascript:alert(1)".into(), title: String::new() };
    assert!(board.add_card(NewCard { content: bad_link, ..note(id(3), "", 0.0, 0.0) }).is_err());
    assert!(matches!(board.set_link(id(1), "https://a.example", ""), Err(Error::WrongKind { .. })));
    assert!(board.delete_cards(&[id(1), id(9)]).is_err());
    assert!(board.set_title(&"t".repeat(201)).is_err());
    assert_eq!(rendered(&board), before);
    assert!(board.can_undo());
    board.undo().unwrap();
    assert!(board.cards().is_empty(), "only the successful add was recorded");
}

#[test]
fn resizing_clamps_to_the_kind_minimum() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "", 0.0, 0.0)).unwrap();
    let applied = board.resize_card(id(1), Size { width: 5.0, height: 400.0 }).unwrap();
    assert_eq!(applied, Size { width: Kind::Note.min_size().width, height: 400.0 });
    assert_eq!(board.card(id(1)).map(|c| c.size), Some(applied));
    assert!(board.resize_card(id(1), Size { width: f64::NAN, height: 1.0 }).is_err());
}

#[test]
fn colours_set_and_clear_on_several_cards() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "", 0.0, 0.0)).unwrap();
    board.add_card(note(id(2), "", 0.0, 0.0)).unwrap();
    let red = Color::parse("1").unwrap();
    board.set_color(&[id(1), id(2)], Some(red.clone())).unwrap();
    assert!(board.cards().iter().all(|c| c.color == Some(red.clone())));
    board.set_color(&[id(2)], None).unwrap();
    assert_eq!(board.card(id(2)).and_then(|c| c.color), None);
    board.set_background(Some(Color::parse("#f5f1e8").unwrap())).unwrap();
    assert_eq!(board.background().map(|c| c.to_string()).as_deref(), Some("#f5f1e8"));
}

#[test]
fn bring_to_front_keeps_relative_order_and_skips_no_ops() {
    let mut board = new_board(1);
    for n in 1..=4 {
        board.add_card(note(id(n), "", 0.0, 0.0)).unwrap();
    }
    assert!(board.bring_to_front(&[id(2), id(1)]).unwrap());
    let order: Vec<CardId> = board.cards().iter().map(|c| c.id).collect();
    assert_eq!(order, vec![id(3), id(4), id(1), id(2)]);
    assert_eq!(board.stack_order(), order, "the stack without reading the cards");
    assert!(!board.bring_to_front(&[id(1), id(2)]).unwrap(), "already on top");
    board.delete_cards(&[id(4)]).unwrap();
    assert_eq!(board.stack_order(), vec![id(3), id(1), id(2)]);
}

#[test]
fn deleting_cards_removes_them_and_undo_restores_them_with_their_text() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "keep me", 0.0, 0.0)).unwrap();
    board.add_card(note(id(2), "", 0.0, 0.0)).unwrap();
    board.delete_cards(&[id(1), id(2)]).unwrap();
    assert!(board.cards().is_empty());
    assert!(board.undo().unwrap());
    assert_eq!(board.cards().len(), 2);
    assert_eq!(board.text(id(1)).unwrap(), "keep me");
    assert_eq!(board.cards()[0].id, id(1), "z-order restored");
    assert!(board.redo().unwrap());
    assert!(board.cards().is_empty());
}

#[test]
fn text_splices_count_characters_and_utf16_units() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "héllo", 0.0, 0.0)).unwrap();
    board.splice_text(id(1), 1, 1, "e").unwrap();
    assert_eq!(board.text(id(1)).unwrap(), "hello");
    board.splice_text(id(1), 5, 0, " 🌍").unwrap();
    board.splice_text_utf16(id(1), 8, 0, "!").unwrap();
    assert_eq!(board.text(id(1)).unwrap(), "hello 🌍!");
    // Splitting the surrogate pair is refused.
    assert!(board.splice_text_utf16(id(1), 7, 0, "x").is_err());
    board.set_text(id(1), "hello world!").unwrap();
    assert_eq!(board.text(id(1)).unwrap(), "hello world!");
}

#[test]
fn a_multi_card_move_is_one_undo_step() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "", 0.0, 0.0)).unwrap();
    board.add_card(note(id(2), "", 10.0, 10.0)).unwrap();
    board.move_cards(&[(id(1), Point { x: 100.0, y: 0.0 }), (id(2), Point { x: 110.0, y: 10.0 })]).unwrap();
    board.undo().unwrap();
    let positions: Vec<Point> = board.cards().iter().map(|c| c.position).collect();
    assert_eq!(positions, vec![Point { x: 0.0, y: 0.0 }, Point { x: 10.0, y: 10.0 }]);
}

#[test]
fn an_undo_group_is_one_step() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "", 0.0, 0.0)).unwrap();
    board.begin_undo_group().unwrap();
    for (i, ch) in "word".chars().enumerate() {
        board.splice_text(id(1), i, 0, &ch.to_string()).unwrap();
    }
    board.end_undo_group();
    board.undo().unwrap();
    assert_eq!(board.text(id(1)).unwrap(), "");
}

#[test]
fn undo_never_reverts_a_peers_change() {
    let mut ours = new_board(1);
    ours.add_card(note(id(1), "", 0.0, 0.0)).unwrap();
    let mut theirs = Board::load(&ours.save().expect("save"), ReplicaId(2)).unwrap();
    theirs.move_card(id(1), Point { x: 500.0, y: 500.0 }).unwrap();
    theirs.add_card(note(id(2), "theirs", 0.0, 0.0)).unwrap();
    ours.import(&theirs.updates_since(&ours.version())).unwrap();
    ours.set_title("Ours").unwrap();
    assert!(ours.undo().unwrap());
    assert_eq!(ours.title(), "Trip");
    assert!(ours.undo().unwrap(), "undo of our own add");
    assert!(!ours.contains(id(1)));
    assert!(ours.contains(id(2)), "their card stays");
    assert!(!ours.can_undo());
}

#[test]
fn concurrent_text_edits_merge_character_by_character() {
    let mut a = new_board(1);
    a.add_card(note(id(1), "the cat", 0.0, 0.0)).unwrap();
    let mut b = Board::load(&a.save().expect("save"), ReplicaId(2)).unwrap();
    a.splice_text(id(1), 4, 0, "big ").unwrap();
    b.splice_text(id(1), 7, 0, " sat").unwrap();
    let (va, vb) = (a.version(), b.version());
    a.import(&b.updates_since(&va)).unwrap();
    b.import(&a.updates_since(&vb)).unwrap();
    assert_eq!(a.text(id(1)).unwrap(), "the big cat sat");
    assert_eq!(rendered(&a), rendered(&b));
}

#[test]
fn a_card_deleted_while_a_peer_moves_it_comes_back_with_the_move_on_undo() {
    let mut a = new_board(1);
    a.add_card(note(id(1), "x", 0.0, 0.0)).unwrap();
    let mut b = Board::load(&a.save().expect("save"), ReplicaId(2)).unwrap();
    a.delete_cards(&[id(1)]).unwrap();
    b.move_card(id(1), Point { x: 42.0, y: 7.0 }).unwrap();
    a.import(&b.updates_since(&Board::empty(ReplicaId(3)).unwrap().version())).unwrap();
    assert!(!a.contains(id(1)));
    a.undo().unwrap();
    assert_eq!(a.card(id(1)).map(|c| c.position), Some(Point { x: 42.0, y: 7.0 }));
}

#[test]
fn events_report_local_and_remote_changes_precisely() {
    let mut a = new_board(1);
    a.take_changes();
    a.add_card(note(id(1), "hi", 0.0, 0.0)).unwrap();
    let changes = a.take_changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].source, Source::Local);
    assert!(changes[0].events.contains(&Event::CardAdded(id(1))));
    assert!(changes[0].events.contains(&Event::OrderChanged));

    a.move_card(id(1), Point { x: 1.0, y: 2.0 }).unwrap();
    let events = a.take_changes().remove(0).events;
    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0], Event::CardChanged { id: card, fields } if *card == id(1) && fields.position && !fields.size)
    );

    let mut b = Board::load(&a.save().expect("save"), ReplicaId(2)).unwrap();
    assert!(b.take_changes().is_empty(), "load starts with a clean event queue");
    let version = b.version();
    a.splice_text(id(1), 2, 0, "!").unwrap();
    a.set_title("New").unwrap();
    a.delete_cards(&[id(1)]).unwrap();
    b.import(&a.updates_since(&version)).unwrap();
    let remote: Vec<Event> = b
        .take_changes()
        .into_iter()
        .flat_map(|c| {
            assert_eq!(c.source, Source::Remote);
            c.events
        })
        .collect();
    assert!(remote.contains(&Event::CardRemoved(id(1))), "{remote:?}");
    assert!(remote.contains(&Event::MetaChanged), "{remote:?}");
}

#[test]
fn text_events_carry_the_edit() {
    let mut a = new_board(1);
    a.add_card(note(id(1), "ab", 0.0, 0.0)).unwrap();
    a.take_changes();
    a.splice_text(id(1), 1, 0, "X").unwrap();
    let events = a.take_changes().remove(0).events;
    assert_eq!(
        events,
        vec![Event::TextChanged {
            id: id(1),
            edits: vec![
                board_model::event::TextEdit::Retain(1),
                board_model::event::TextEdit::Insert("X".into())
            ]
        }]
    );
}

#[test]
fn save_load_and_shallow_snapshots_round_trip() {
    let mut board = new_board(1);
    for n in 1..=20 {
        board.add_card(note(id(n), &format!("card {n}"), f64::from(n), 0.0)).unwrap();
        for step in 0..20 {
            board.move_card(id(n), Point { x: f64::from(step), y: f64::from(n) }).unwrap();
        }
    }
    let full = board.save().expect("save");
    let shallow = board.save_shallow().expect("save");
    assert!(shallow.len() < full.len(), "trimmed history is smaller: {} vs {}", shallow.len(), full.len());
    for bytes in [&full, &shallow] {
        let loaded = Board::load(bytes, ReplicaId(7)).unwrap();
        assert_eq!(rendered(&loaded), rendered(&board));
        assert_eq!(loaded.replica(), ReplicaId(7));
    }
    // Incremental updates since a version bring a copy up to date.
    let mut copy = Board::load(&full, ReplicaId(8)).unwrap();
    let since = copy.version();
    board.set_title("Later").unwrap();
    assert!(board.updates_since(&board.version()).is_empty());
    copy.import(&board.updates_since(&since)).unwrap();
    assert_eq!(copy.title(), "Later");
}

#[test]
fn loading_garbage_returns_an_error_not_a_panic() {
    assert_eq!(Board::load(b"", ReplicaId(1)).err(), Some(LoadError::Empty));
    let good = new_board(1).save().expect("save");
    let mut inputs: Vec<Vec<u8>> = vec![b"garbage".to_vec(), vec![0; 100], vec![0xff; 3]];
    inputs.push(good[..good.len() / 2].to_vec());
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x5a;
    inputs.push(flipped);
    for input in inputs {
        assert!(Board::load(&input, ReplicaId(2)).is_err(), "{} bytes loaded", input.len());
    }
    let mut board = new_board(3);
    let before = rendered(&board);
    assert!(board.import(b"loro but not really").is_err());
    assert_eq!(rendered(&board), before);
}

#[test]
fn malformed_fields_written_by_a_peer_are_read_leniently() {
    // A peer with another version (or hostile intent) writes odd values
    // straight into the document; the view stays well formed.
    let doc = loro::LoroDoc::new();
    doc.set_peer_id(5).unwrap();
    let cards = doc.get_map("cards");
    let good = cards.ensure_mergeable_map(&id(1).to_string()).unwrap();
    good.insert("kind", "note").unwrap();
    good.insert("x", f64::NAN).unwrap();
    good.insert("y", 1.0e300).unwrap();
    good.insert("w", -5.0).unwrap();
    good.insert("color", "purple").unwrap();
    let unknown = cards.ensure_mergeable_map(&id(2).to_string()).unwrap();
    unknown.insert("kind", "hologram").unwrap();
    cards.insert("not-a-uuid", "x").unwrap();
    doc.get_movable_list("order").push(id(1).to_string()).unwrap();
    doc.get_movable_list("order").push(id(1).to_string()).unwrap();
    doc.commit();
    let bytes = doc.export(loro::ExportMode::Snapshot).unwrap();
    let board = Board::load(&bytes, ReplicaId(6)).unwrap();
    let cards = board.cards();
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(cards[0].position, Point { x: 0.0, y: board_model::card::limits::MAX_COORDINATE });
    assert_eq!(cards[0].size.width, Kind::Note.min_size().width);
    assert_eq!(cards[0].color, None);
}

#[test]
fn a_card_deleted_by_a_peer_can_no_longer_be_edited_here_until_restored() {
    let mut a = new_board(1);
    a.add_card(note(id(1), "x", 0.0, 0.0)).unwrap();
    a.move_card(id(1), Point { x: 1.0, y: 1.0 }).unwrap();
    let mut b = Board::load(&a.save().expect("save"), ReplicaId(2)).unwrap();
    let version = a.version();
    b.delete_cards(&[id(1)]).unwrap();
    a.import(&b.updates_since(&version)).unwrap();
    assert_eq!(a.move_card(id(1), Point { x: 2.0, y: 2.0 }), Err(Error::UnknownCard(id(1))));
    let version = a.version();
    b.undo().unwrap();
    a.import(&b.updates_since(&version)).unwrap();
    a.move_card(id(1), Point { x: 3.0, y: 3.0 }).unwrap();
    assert_eq!(a.card(id(1)).map(|c| c.position), Some(Point { x: 3.0, y: 3.0 }));
}

/// Issue 10 #4: a save is never empty bytes — an export that fails or comes
/// out empty is an error — so nothing empty is ever written over a board
/// (an empty snapshot would load as an empty board and take its log along).
#[test]
fn a_save_is_never_empty_bytes() {
    let mut full = new_board(1);
    full.add_card(note(id(1), "kept", 1.0, 2.0)).expect("card");
    for board in [Board::empty(ReplicaId(2)).expect("empty"), new_board(3), full] {
        assert!(board.save().is_ok_and(|bytes| !bytes.is_empty()));
        assert!(board.save_shallow().is_ok_and(|bytes| !bytes.is_empty()));
    }
}

/// Issue 10 #10: a peer's document is held to the same limits as local
/// writes when it is read: megabyte titles, names and texts are cut to their
/// limits, an over-long address is dropped, and at most `MAX_CARDS` cards
/// are read.
#[test]
fn fields_a_peer_wrote_past_their_limits_are_read_within_them() {
    use board_model::card::limits;
    let doc = loro::LoroDoc::new();
    doc.set_peer_id(5).unwrap();
    let huge = "x".repeat(1_000_000);
    doc.get_map("meta").insert("title", huge.as_str()).unwrap();
    let cards = doc.get_map("cards");
    let image = cards.ensure_mergeable_map(&id(1).to_string()).unwrap();
    image.insert("kind", "image").unwrap();
    image.insert("sha256", "ab".repeat(32).as_str()).unwrap();
    image.insert("file_name", huge.as_str()).unwrap();
    image.insert("media_type", huge.as_str()).unwrap();
    image.insert("created_by", huge.as_str()).unwrap();
    let link = cards.ensure_mergeable_map(&id(2).to_string()).unwrap();
    link.insert("kind", "link").unwrap();
    link.insert("url", format!("https://example.org/{huge}").as_str()).unwrap();
    link.insert("title", huge.as_str()).unwrap();
    let note = cards.ensure_mergeable_map(&id(3).to_string()).unwrap();
    note.insert("kind", "note").unwrap();
    let text = note.insert_container("text", loro::LoroText::new()).unwrap();
    text.insert(0, &"y".repeat(limits::MAX_NOTE_CHARS + 5_000)).unwrap();
    doc.commit();
    let board = Board::load(&doc.export(loro::ExportMode::Snapshot).unwrap(), ReplicaId(6)).unwrap();
    assert_eq!(board.title().chars().count(), limits::MAX_TITLE_CHARS);
    for card in board.cards() {
        assert!(card.created_by.chars().count() <= limits::MAX_AUTHOR_CHARS);
        match card.content {
            Content::Image(image) => {
                assert_eq!(image.file_name.chars().count(), limits::MAX_LABEL_CHARS);
                assert!(image.media_type.len() <= limits::MAX_MEDIA_TYPE_BYTES);
            }
            Content::Link { url, title } => {
                assert!(url.is_empty(), "an address past the limit is dropped ({} bytes)", url.len());
                assert_eq!(title.chars().count(), limits::MAX_LABEL_CHARS);
            }
            Content::Note { text } => assert_eq!(text.chars().count(), limits::MAX_NOTE_CHARS),
            other => panic!("only notes, images and links were written: {other:?}"),
        }
    }
}

/// Issue 10 #10: a document with more cards than a board may hold is read
/// up to `MAX_CARDS` of them (the top of the stack is what is left out).
#[test]
fn a_document_with_too_many_cards_is_read_up_to_the_limit() {
    use board_model::card::limits;
    let doc = loro::LoroDoc::new();
    doc.set_peer_id(5).unwrap();
    let cards = doc.get_map("cards");
    let order = doc.get_movable_list("order");
    for n in 0..limits::MAX_CARDS + 10 {
        let card = CardId::from_random_bytes((n as u128).to_le_bytes());
        let map = cards.ensure_mergeable_map(&card.to_string()).unwrap();
        map.insert("kind", "link").unwrap();
        order.push(card.to_string()).unwrap();
    }
    doc.commit();
    let board = Board::load(&doc.export(loro::ExportMode::Snapshot).unwrap(), ReplicaId(6)).unwrap();
    assert_eq!(board.cards().len(), limits::MAX_CARDS);
}

#[test]
fn a_peer_may_send_updates_only_never_a_snapshot_or_a_shallow_snapshot() {
    let mut theirs = new_board(1);
    // Highly compressible content: a snapshot of it is a small blob that
    // unpacks large (a snapshot is never even decoded past its header).
    theirs.add_card(note(id(1), &"a".repeat(100_000), 0.0, 0.0)).unwrap();
    let mut ours = Board::empty(ReplicaId(2)).unwrap();
    let before = rendered(&ours);
    for (kind, bytes) in
        [("snapshot", theirs.save().unwrap()), ("shallow snapshot", theirs.save_shallow().unwrap())]
    {
        let refused = ours.import_updates(&bytes);
        assert!(matches!(refused, Err(LoadError::NotUpdates(_))), "a {kind}: {refused:?}");
        assert_eq!(rendered(&ours), before, "a refused {kind} changes nothing");
    }
    let updates = theirs.updates_since(&ours.version());
    assert!(ours.import_updates(&updates).is_ok(), "updates are taken");
    assert_eq!(ours.card_count(), 1);
}

#[test]
fn a_peer_writing_changes_under_this_replicas_id_is_refused() {
    let mut ours = new_board(2);
    ours.add_card(note(id(1), "mine", 0.0, 0.0)).unwrap();
    // A forger who learned our replica id writes "our" next changes.
    let mut forged = Board::load(&ours.save().unwrap(), ReplicaId(2)).unwrap();
    let start = forged.version();
    forged.add_card(note(id(2), "not mine", 0.0, 0.0)).unwrap();
    let refused = ours.import_updates(&forged.updates_since(&start));
    assert_eq!(refused.err(), Some(LoadError::Impersonation));
    assert!(!ours.contains(id(2)));
    // Our own changes coming back (relayed by a peer) are fine.
    let echoed = ours.updates_since(&board_model::Version::empty());
    assert!(ours.import_updates(&echoed).is_ok());
}

#[test]
fn changes_held_for_missing_dependencies_are_bounded() {
    let mut theirs = new_board(50);
    let base = theirs.version();
    theirs.add_card(note(id(1), "first", 0.0, 0.0)).unwrap();
    let after_first = theirs.version();
    for n in 2..5 {
        theirs.add_card(note(id(n), &"x".repeat(100_000), 0.0, 0.0)).unwrap();
    }
    let big = theirs.updates_since(&after_first);
    let _ = base;
    let mut ours = Board::empty(ReplicaId(2)).unwrap();
    // Without the first change, the rest waits: held, up to the limit.
    let held = ours.import_updates(&big).expect("held");
    assert!(held.pending);
    let more = ours.import_updates(&theirs.updates_since(&after_first));
    assert_eq!(more.err(), Some(LoadError::TooMuchPending { max: board_model::MAX_PENDING_OPS }));
}

#[test]
fn a_long_past_goes_in_causal_parts_that_each_import_without_waiting() {
    // Two authors' interleaved edits, the second starting from a copy.
    let mut ann = new_board(1);
    for n in 0..40u8 {
        ann.add_card(note(id(n), "a", f64::from(n), 0.0)).unwrap();
    }
    let mut bo = Board::load(&ann.save().expect("save"), ReplicaId(2)).unwrap();
    for n in 0..300u32 {
        let card = id((n % 40) as u8);
        ann.move_card(card, Point { x: f64::from(n), y: 1.0 }).unwrap();
        bo.splice_text(card, 0, 0, "b").unwrap();
        if n % 50 == 0 {
            ann.import_updates(&bo.updates_since(&ann.version())).unwrap();
            bo.import_updates(&ann.updates_since(&bo.version())).unwrap();
        }
    }
    ann.import_updates(&bo.updates_since(&ann.version())).unwrap();
    let missing = ann.ops_missing_from(&Version::empty());
    let parts = ann.sync_parts(&Version::empty(), 97);
    assert!(parts.len() as u64 >= missing / 97, "{} parts for {missing} ops", parts.len());
    assert_eq!(parts.iter().map(|part| part.ops()).sum::<u64>(), missing);
    let mut fresh = Board::empty(ReplicaId(3)).unwrap();
    for part in &parts {
        assert!(part.ops() <= 97);
        let imported = fresh.import_updates(&ann.export_part(part)).expect("a part imports");
        assert!(!imported.pending, "a part never waits for a later one");
        assert_eq!(&fresh.version(), part.end());
    }
    assert_eq!(rendered(&fresh), rendered(&ann));
    // From part-way: only what is missing, and nothing when nothing is.
    let half = parts[parts.len() / 2].end().clone();
    let rest = ann.sync_parts(&half, 97);
    assert_eq!(rest.iter().map(|part| part.ops()).sum::<u64>(), ann.ops_missing_from(&half));
    assert!(ann.sync_parts(&ann.version(), 97).is_empty());
}
