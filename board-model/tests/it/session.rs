//! The per-peer protocol state machine over a perfect in-memory link: hello,
//! sync, live changes, blobs, presence, and refusal of bad peers.

use board_model::protocol::{self, Message, PROTOCOL_VERSION};
use board_model::session::{self, Error, Event};
use board_model::{Board, Content, ImageRef, NewCard, Point, ReplicaId, Session, blob, presence};
use serde_bytes::ByteBuf;

use crate::support::{Peer, config, events, id, new_board, note, pump, rendered};

fn pair(a: Board, b: Board) -> ((Peer, Session), (Peer, Session)) {
    let sa = Session::new(config(a.replica().0));
    let sb = Session::new(config(b.replica().0));
    ((Peer::new(a), sa), (Peer::new(b), sb))
}

#[test]
fn two_peers_greet_and_an_empty_replica_receives_the_board() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "hello", 5.0, 5.0)).unwrap();
    let (mut a, mut b) = pair(board, Board::empty(ReplicaId(2)).unwrap());
    pump(&mut a, &mut b, 0);
    assert_eq!(rendered(&a.0.board), rendered(&b.0.board));
    let opened = events(&mut b.1);
    assert!(
        matches!(&opened[0], Event::Opened(remote) if remote.peer == 1 && remote.identity.name == "peer 1")
    );
    assert!(opened.contains(&Event::BoardChanged));
    assert_eq!(b.1.remote().map(|r| r.peer), Some(1));
}

#[test]
fn live_changes_stream_both_ways() {
    let board = new_board(1);
    let copy = Board::load(&board.save().expect("save"), ReplicaId(2)).unwrap();
    let (mut a, mut b) = pair(board, copy);
    pump(&mut a, &mut b, 0);
    a.0.board.add_card(note(id(1), "from a", 0.0, 0.0)).unwrap();
    pump(&mut a, &mut b, 1);
    assert!(b.0.board.contains(id(1)));
    b.0.board.move_card(id(1), Point { x: 9.0, y: 9.0 }).unwrap();
    let traffic = pump(&mut a, &mut b, 2);
    assert_eq!(traffic.frames, 1, "one move is one frame");
    assert_eq!(a.0.board.card(id(1)).map(|c| c.position), Some(Point { x: 9.0, y: 9.0 }));
}

#[test]
fn diverged_replicas_reconcile_in_one_round_trip() {
    let mut base = new_board(1);
    base.add_card(note(id(1), "shared", 0.0, 0.0)).unwrap();
    let mut other = Board::load(&base.save().expect("save"), ReplicaId(2)).unwrap();
    for n in 0..50 {
        base.move_card(id(1), Point { x: f64::from(n), y: 0.0 }).unwrap();
        other.splice_text(id(1), 0, 0, "b").unwrap();
    }
    base.add_card(note(id(2), "only a", 0.0, 0.0)).unwrap();
    other.add_card(note(id(3), "only b", 0.0, 0.0)).unwrap();
    let (mut a, mut b) = pair(base, other);
    let traffic = pump(&mut a, &mut b, 0);
    assert_eq!(rendered(&a.0.board), rendered(&b.0.board));
    // Hellos carry versions, so the updates follow at once: hello out, hello
    // and updates back, updates out.
    assert!(traffic.flights <= 3, "{traffic:?}");
    // Nothing but the missing changes travels: no full history.
    assert!(traffic.bytes < 2 * (a.0.board.save().expect("save").len()), "{traffic:?}");
}

#[test]
fn both_sides_learn_when_they_hold_the_same_board() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "x", 0.0, 0.0)).unwrap();
    let (mut a, mut b) = pair(board, Board::empty(ReplicaId(2)).unwrap());
    pump(&mut a, &mut b, 0);
    a.1.tick(&a.0.board, 10);
    b.1.tick(&b.0.board, 10);
    pump(&mut a, &mut b, 10);
    assert!(a.1.is_synced(&a.0.board));
    assert!(b.1.is_synced(&b.0.board));
    a.0.board.set_title("changed").unwrap();
    assert!(!a.1.is_synced(&a.0.board));
}

#[test]
fn a_peer_with_a_newer_protocol_is_refused_and_told_why() {
    let (mut a, _) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    let mut frame = Message::Bye { reason: String::new() }.encode(1 << 16).remove(0);
    frame[2] = PROTOCOL_VERSION + 1;
    let error = a.1.receive(&frame, &mut a.0.board, &mut a.0.blobs, 0).err();
    assert!(matches!(error, Some(Error::Protocol(protocol::Error::PeerTooNew { .. }))));
    assert!(a.1.is_closed());
    // The last frame out is a bye carrying the reason.
    let mut last = None;
    while let Some(frame) = a.1.poll_transmit(&a.0.board, &a.0.blobs) {
        last = Some(frame);
    }
    let bye = protocol::decode_frames([last.unwrap_or_default().as_slice()]).unwrap();
    assert!(matches!(&bye[0], Message::Bye { reason } if reason.contains("newer")));
    assert_eq!(a.1.receive(b"CB", &mut a.0.board, &mut a.0.blobs, 0), Err(Error::Closed));
}

#[test]
fn messages_before_hello_and_bad_updates_are_refused_without_touching_the_board() {
    let mut board = new_board(1);
    board.add_card(note(id(1), "safe", 0.0, 0.0)).unwrap();
    let before = rendered(&board);
    let (mut a, _) = pair(board, Board::empty(ReplicaId(2)).unwrap());
    let early = Message::SyncUpdates { updates: ByteBuf::from(vec![1, 2, 3]) }.encode(1 << 16);
    assert_eq!(
        a.1.receive(&early[0], &mut a.0.board, &mut a.0.blobs, 0),
        Err(Error::BeforeHello("sync updates"))
    );

    let (mut a2, _) = pair(
        Board::load(&a.0.board.save().expect("save"), ReplicaId(3)).unwrap(),
        Board::empty(ReplicaId(4)).unwrap(),
    );
    let hello = Message::Hello(protocol::Hello {
        peer: 9,
        name: "x".into(),
        color: "#000000".into(),
        proof: None,
        version: ByteBuf::from(board_model::Version::empty().encode()),
    });
    for message in [hello, Message::SyncUpdates { updates: ByteBuf::from(b"not loro".to_vec()) }] {
        let frames = message.encode(1 << 16);
        let result = a2.1.receive(&frames[0], &mut a2.0.board, &mut a2.0.blobs, 0);
        if matches!(message, Message::SyncUpdates { .. }) {
            assert!(matches!(result, Err(Error::BadUpdates(_))), "{result:?}");
        }
    }
    assert_eq!(rendered(&a.0.board), before);
    assert_eq!(rendered(&a2.0.board), before);
}

#[test]
fn a_peer_without_the_right_proof_is_refused() {
    let mut ca = config(1);
    ca.expected_remote_proof = Some(vec![7; 32]);
    let mut cb = config(2);
    cb.proof = Some(vec![8; 32]);
    let mut a = (Peer::new(new_board(1)), Session::new(ca));
    let mut b = (Peer::new(Board::empty(ReplicaId(2)).unwrap()), Session::new(cb));
    let hello = b.1.poll_transmit(&b.0.board, &b.0.blobs).unwrap();
    assert_eq!(a.1.receive(&hello, &mut a.0.board, &mut a.0.blobs, 0), Err(Error::AuthenticationFailed));
}

#[test]
fn a_peer_claiming_our_replica_id_is_refused() {
    let (mut a, _) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    let mut twin = Session::new(config(1));
    let hello = twin.poll_transmit(&a.0.board, &a.0.blobs).unwrap();
    assert_eq!(a.1.receive(&hello, &mut a.0.board, &mut a.0.blobs, 0), Err(Error::SameReplica));
}

fn image_card(hash: blob::Hash) -> NewCard {
    NewCard {
        content: Content::Image(ImageRef {
            hash,
            media_type: "image/png".into(),
            natural_width: 10,
            natural_height: 10,
            file_name: "x.png".into(),
        }),
        ..note(id(5), "", 0.0, 0.0)
    }
}

fn blob_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn a_wanted_blob_arrives_in_chunks_and_is_verified() {
    let bytes = blob_bytes(300_000);
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    let hash = blob::insert(&mut a.0.blobs, bytes.clone()).unwrap();
    a.0.board.add_card(image_card(hash)).unwrap();
    pump(&mut a, &mut b, 0);
    assert_eq!(b.0.board.referenced_blobs(), vec![hash]);
    assert!(b.1.want_blob(hash, &b.0.blobs));
    assert!(!b.1.want_blob(hash, &b.0.blobs), "already wanted");
    pump(&mut a, &mut b, 1);
    assert_eq!(b.0.blobs.get(&hash), Some(bytes.as_slice()));
    let seen = events(&mut b.1);
    let progress: Vec<u64> = seen
        .iter()
        .filter_map(|e| match e {
            Event::BlobProgress { received, .. } => Some(*received),
            _ => None,
        })
        .collect();
    assert_eq!(progress.len(), 300_000usize.div_ceil(blob::CHUNK_SIZE));
    assert_eq!(progress.last(), Some(&300_000));
    assert_eq!(seen.last(), Some(&Event::BlobReady { hash }));
}

#[test]
fn a_blob_transfer_resumes_where_it_stopped() {
    let bytes = blob_bytes(200_000);
    let hash = blob::Hash::of(&bytes);
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    a.0.blobs.put_verified(hash, bytes.clone()).unwrap();
    use board_model::blob::Store;
    b.0.blobs.append_partial(&hash, &bytes[..150_000]).unwrap();
    pump(&mut a, &mut b, 0);
    b.1.want_blob(hash, &b.0.blobs);
    let traffic = pump(&mut a, &mut b, 0);
    assert!(traffic.bytes < 60_000, "only the missing tail travelled: {traffic:?}");
    assert_eq!(b.0.blobs.get(&hash), Some(bytes.as_slice()));
}

#[test]
fn a_wrong_blob_is_rejected_and_not_kept() {
    // A lying peer serves other bytes under the wanted hash.
    let wanted = blob::Hash::of(b"the real image");
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    a.0.blobs.put_verified(wanted, b"a fake image!!".to_vec()).unwrap();
    pump(&mut a, &mut b, 0);
    b.1.want_blob(wanted, &b.0.blobs);
    pump(&mut a, &mut b, 0);
    use board_model::blob::Store;
    assert_eq!(b.0.blobs.complete_len(&wanted), None);
    assert_eq!(b.0.blobs.partial_len(&wanted), 0);
    assert!(
        events(&mut b.1).iter().any(|e| matches!(e, Event::BlobRejected { hash, .. } if *hash == wanted))
    );
    // It can be wanted again (from another peer).
    assert!(b.1.want_blob(wanted, &b.0.blobs));
}

#[test]
fn a_blob_the_peer_lacks_is_reported_unavailable() {
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    pump(&mut a, &mut b, 0);
    let hash = blob::Hash::of(b"nobody has this");
    b.1.want_blob(hash, &b.0.blobs);
    pump(&mut a, &mut b, 0);
    assert!(events(&mut b.1).contains(&Event::BlobUnavailable { hash }));
}

#[test]
fn chunks_out_of_place_are_a_protocol_error() {
    let bytes = blob_bytes(100_000);
    let hash = blob::Hash::of(&bytes);
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    pump(&mut a, &mut b, 0);
    b.1.want_blob(hash, &b.0.blobs);
    let _want = b.1.poll_transmit(&b.0.board, &b.0.blobs);
    let have = Message::BlobHave { hash, size: 100_000 }.encode(1 << 16).remove(0);
    b.1.receive(&have, &mut b.0.board, &mut b.0.blobs, 0).unwrap();
    let chunk = Message::BlobChunk { hash, offset: 500, data: ByteBuf::from(vec![0; 10]) };
    let frame = chunk.encode(1 << 16).remove(0);
    assert!(matches!(b.1.receive(&frame, &mut b.0.board, &mut b.0.blobs, 0), Err(Error::BlobProtocol(_))));
}

#[test]
fn presence_reaches_the_peer_latest_state_wins_and_is_refreshed() {
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    pump(&mut a, &mut b, 0);
    events(&mut b.1);
    let at = |x: f64| presence::State {
        cursor: Some(Point { x, y: 1.0 }),
        selection: vec![id(1)],
        dragging: vec![(id(1), Point { x, y: 2.0 })],
    };
    a.1.set_presence(at(1.0));
    a.1.set_presence(at(2.0));
    let traffic = pump(&mut a, &mut b, 0);
    assert_eq!(traffic.frames, 1, "only the latest presence is sent");
    assert_eq!(events(&mut b.1), vec![Event::Presence { peer: 1, state: at(2.0) }]);
    a.1.tick(&a.0.board, presence::REFRESH_MS + 1);
    pump(&mut a, &mut b, presence::REFRESH_MS + 1);
    assert!(events(&mut b.1).contains(&Event::Presence { peer: 1, state: at(2.0) }));
}

/// Two open sessions, the second taking presence relayed by the first.
fn relaying_pair() -> ((Peer, Session), (Peer, Session)) {
    let mut cb = config(2);
    cb.accept_relayed_presence = true;
    let mut a = (Peer::new(new_board(1)), Session::new(config(1)));
    let mut b = (Peer::new(Board::empty(ReplicaId(2)).expect("board")), Session::new(cb));
    pump(&mut a, &mut b, 0);
    events(&mut b.1);
    (a, b)
}

#[test]
fn relayed_presence_reaches_a_session_that_takes_it() {
    let (mut a, mut b) = relaying_pair();
    let rui = presence::Identity { name: "Rui".into(), color: "#aa3300".into() };
    let state = presence::State {
        cursor: Some(Point { x: 3.0, y: 4.0 }),
        selection: vec![id(7)],
        dragging: vec![(id(7), Point { x: 5.0, y: 6.0 })],
    };
    a.1.relay_presence(9, &rui, &state, Some(presence::Path::Relayed));
    a.1.relay_left(9);
    pump(&mut a, &mut b, 0);
    assert_eq!(
        events(&mut b.1),
        vec![
            Event::RelayedPresence { peer: 9, identity: rui, state, path: Some(presence::Path::Relayed) },
            Event::RelayedLeft { peer: 9 }
        ]
    );
}

#[test]
fn our_hello_goes_first_even_when_theirs_came_before_our_first_poll() {
    // A relay's session hears the remote's hello before the driver first
    // polls it, and queues a relayed person's presence at once.
    let mut cb = config(2);
    cb.accept_relayed_presence = true;
    let mut a = (Peer::new(new_board(1)), Session::new(config(1)));
    let mut b = (Peer::new(Board::empty(ReplicaId(2)).expect("board")), Session::new(cb));
    let hello_b = b.1.poll_transmit(&b.0.board, &b.0.blobs).expect("b's hello");
    a.1.receive(&hello_b, &mut a.0.board, &mut a.0.blobs, 0).expect("a takes b's hello");
    assert!(a.1.is_open());
    let rui = presence::Identity { name: "Rui".into(), color: "#aa3300".into() };
    a.1.relay_presence(9, &rui, &presence::State::default(), None);
    let first = a.1.poll_transmit(&a.0.board, &a.0.blobs).expect("a's first frame");
    b.1.receive(&first, &mut b.0.board, &mut b.0.blobs, 0).expect("a's hello comes first");
    pump(&mut a, &mut b, 0);
    assert!(events(&mut b.1).iter().any(|event| matches!(event, Event::RelayedPresence { peer: 9, .. })));
}

#[test]
fn relayed_presence_is_refused_where_not_taken_and_checked_where_taken() {
    let someone = presence::Identity { name: "Someone".into(), color: "#000000".into() };
    for relay in [
        |s: &mut Session, who: &presence::Identity| {
            s.relay_presence(9, who, &presence::State::default(), None)
        },
        |s: &mut Session, _: &presence::Identity| s.relay_left(9),
    ] {
        let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
        pump(&mut a, &mut b, 0);
        relay(&mut a.1, &someone);
        let frame = a.1.poll_transmit(&a.0.board, &a.0.blobs).expect("a relayed frame");
        assert!(matches!(
            b.1.receive(&frame, &mut b.0.board, &mut b.0.blobs, 0),
            Err(Error::UnexpectedRelay)
        ));
    }

    // Where it is taken, a bad colour or a coordinate that is not a number is refused.
    let wire = |cursor: (f64, f64)| protocol::Presence {
        seq: 0,
        cursor: Some(cursor),
        selection: vec![],
        dragging: vec![],
    };
    for (color, cursor) in
        [("red", (1.0, 1.0)), ("#ffffff", (f64::NAN, 1.0)), ("#ffffff", (1.0, f64::INFINITY))]
    {
        let (_, mut b) = relaying_pair();
        let message = Message::PeerPresence {
            peer: 9,
            name: "x".into(),
            color: color.into(),
            presence: wire(cursor),
            path: None,
        };
        let frame = message.encode(1 << 16).remove(0);
        assert!(
            matches!(b.1.receive(&frame, &mut b.0.board, &mut b.0.blobs, 0), Err(Error::Protocol(_))),
            "{color} {cursor:?} accepted"
        );
    }
}

#[test]
fn a_big_first_sync_travels_in_fragments_within_the_frame_limit() {
    let mut board = new_board(1);
    for n in 0..200u8 {
        let text = "lorem ipsum dolor sit amet ".repeat(40);
        board.add_card(note(board_model::CardId::from_random_bytes([n; 16]), &text, 0.0, 0.0)).unwrap();
    }
    let mut ca = config(1);
    ca.max_frame_size = 16 * 1024;
    let mut a = (Peer::new(board), Session::new(ca));
    let mut b = (Peer::new(Board::empty(ReplicaId(2)).unwrap()), Session::new(config(2)));
    let mut largest = 0;
    loop {
        let mut moved = false;
        while let Some(frame) = a.1.poll_transmit(&a.0.board, &a.0.blobs) {
            largest = largest.max(frame.len());
            b.1.receive(&frame, &mut b.0.board, &mut b.0.blobs, 0).unwrap();
            moved = true;
        }
        while let Some(frame) = b.1.poll_transmit(&b.0.board, &b.0.blobs) {
            a.1.receive(&frame, &mut a.0.board, &mut a.0.blobs, 0).unwrap();
            moved = true;
        }
        if !moved {
            break;
        }
    }
    assert!(largest <= 16 * 1024);
    assert_eq!(b.0.board.cards().len(), 200);
}

#[test]
fn a_bye_closes_the_session_with_its_reason() {
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    pump(&mut a, &mut b, 0);
    events(&mut b.1);
    a.1.close("going offline");
    pump(&mut a, &mut b, 0);
    assert_eq!(events(&mut b.1), vec![Event::Closed { reason: "going offline".into() }]);
    assert!(b.1.is_closed());
    let _ = session::SYNC_INTERVAL_MS;
}

#[test]
fn a_blob_want_with_no_answer_stalls_out_and_can_be_asked_again() {
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    pump(&mut a, &mut b, 0);
    let hash = blob::Hash::of(b"lost");
    b.1.want_blob(hash, &b.0.blobs);
    // The want is lost on the way: drain it without delivering.
    while b.1.poll_transmit(&b.0.board, &b.0.blobs).is_some() {}
    b.1.tick(&b.0.board, 1_000);
    assert!(!events(&mut b.1).iter().any(|e| matches!(e, Event::BlobStalled { .. })));
    b.1.tick(&b.0.board, 1_000 + session::BLOB_STALL_MS);
    assert!(events(&mut b.1).contains(&Event::BlobStalled { hash }));
    assert!(b.1.want_blob(hash, &b.0.blobs));
}

#[test]
fn a_peer_flooding_sync_requests_is_cut_off() {
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    pump(&mut a, &mut b, 0);
    let request = Message::SyncRequest { version: ByteBuf::from(board_model::Version::empty().encode()) };
    let frame = request.encode(1 << 16).remove(0);
    let mut result = Ok(());
    for _ in 0..=session::MAX_SYNC_REQUESTS_PER_SECOND {
        result = a.1.receive(&frame, &mut a.0.board, &mut a.0.blobs, 500);
    }
    assert_eq!(result, Err(Error::Flooding("sync request")));
    // A well-behaved rate is fine.
    let (mut c, mut d) = pair(new_board(3), Board::empty(ReplicaId(4)).unwrap());
    pump(&mut c, &mut d, 0);
    for second in 0..5 {
        for _ in 0..10 {
            assert!(c.1.receive(&frame, &mut c.0.board, &mut c.0.blobs, 1_000 * second).is_ok());
        }
    }
}

#[test]
fn a_claimed_blob_size_reserves_no_memory_and_wants_per_peer_are_capped() {
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    pump(&mut a, &mut b, 0);
    // A hostile peer answers every want: "I have it, 32 MiB", and sends nothing.
    let mut asked = 0;
    for n in 0..40u8 {
        let hash = blob::Hash::of(&[n]);
        if !b.1.want_blob(hash, &b.0.blobs) {
            continue;
        }
        asked += 1;
        let have = Message::BlobHave { hash, size: blob::MAX_BLOB_SIZE }.encode(1 << 16).remove(0);
        b.1.receive(&have, &mut b.0.board, &mut b.0.blobs, 0).unwrap();
    }
    assert_eq!(asked, session::MAX_WANTS_PER_PEER, "wants from one peer are capped");
    assert!(
        b.0.blobs.partial_bytes_reserved() < 1024,
        "memory grows with bytes received, not bytes claimed: {} reserved",
        b.0.blobs.partial_bytes_reserved()
    );
}

#[test]
fn a_peer_asking_without_reading_the_answers_is_cut_off_with_a_bye() {
    let (mut a, mut b) = pair(new_board(1), Board::empty(ReplicaId(2)).unwrap());
    pump(&mut a, &mut b, 0);
    // The hostile side sends wants for unknown images and never reads.
    let mut outcome = Ok(());
    let mut sent = 0;
    for n in 0..10_000u32 {
        let want = Message::BlobWant { hash: blob::Hash::of(&n.to_le_bytes()), offset: 0 };
        outcome = a.1.receive(&want.encode(1 << 16).remove(0), &mut a.0.board, &mut a.0.blobs, 0);
        sent += 1;
        if outcome.is_err() {
            break;
        }
    }
    assert!(matches!(outcome, Err(Error::NotReading(_))), "{outcome:?} after {sent} wants");
    assert!(sent <= session::MAX_UNREAD_REPLIES + 1, "cut off at the limit, after {sent}");
    let frame = a.1.poll_transmit(&a.0.board, &a.0.blobs).expect("a bye");
    let bye =
        protocol::Reassembler::default().push(&frame).unwrap().map(|body| Message::decode(&body).unwrap());
    assert!(matches!(bye, Some(Message::Bye { reason }) if reason.contains("without reading")));
}

/// Someone wrote two different histories under one replica id (a keyed
/// peer forging another's id): one replica got one, the other the other.
/// Both hold the same version, so nothing would ever sync them again; the
/// state digests they exchange when in sync show it, and both refuse.
#[test]
fn replicas_made_different_under_the_same_ids_find_out_and_refuse() {
    let base = new_board(1);
    let copy = |replica| Board::load(&base.save().expect("save"), ReplicaId(replica)).expect("load");
    let (mut real, mut forged) = (copy(7), copy(7));
    real.set_title("real").unwrap();
    forged.set_title("forged").unwrap();
    let (mut a_board, mut b_board) = (copy(2), copy(3));
    a_board.import_updates(&real.updates_since(&base.version())).expect("import");
    b_board.import_updates(&forged.updates_since(&base.version())).expect("import");
    assert_eq!(a_board.version(), b_board.version());
    assert_ne!(a_board.state_digest(), b_board.state_digest());
    // Honest copies agree.
    assert_eq!(copy(4).state_digest(), copy(5).state_digest());

    let (mut a, mut b) = pair(a_board, b_board);
    let mut errors = Vec::new();
    for now in [0, 10, session::SYNC_INTERVAL_MS + 10] {
        a.1.tick(&a.0.board, now);
        b.1.tick(&b.0.board, now);
        for _ in 0..4 {
            deliver(&mut a, &mut b, now, &mut errors);
            deliver(&mut b, &mut a, now, &mut errors);
        }
    }
    assert!(errors.contains(&Error::Diverged), "{errors:?}");
    assert!(a.1.is_closed() && b.1.is_closed());
    assert_eq!(a.0.board.title(), "real", "neither board was touched");
    assert_eq!(b.0.board.title(), "forged");
}

/// Moves every frame `from` has to `to`, keeping the errors.
fn deliver(
    from: &mut (crate::support::Peer, Session),
    to: &mut (crate::support::Peer, Session),
    now: u64,
    errors: &mut Vec<Error>,
) {
    while let Some(frame) = from.1.poll_transmit(&from.0.board, &from.0.blobs) {
        if let Err(error) = to.1.receive(&frame, &mut to.0.board, &mut to.0.blobs, now) {
            errors.push(error);
        }
    }
}

#[test]
fn a_fresh_replica_gets_a_long_past_in_parts_and_draws_it_as_they_come() {
    let moves = 24_000;
    let board = board_model::sample::worked_board(
        board_model::BoardId::from_random_bytes([4; 16]),
        ReplicaId(1),
        1_796_634_000_000,
        moves,
    )
    .unwrap();
    let whole = board.updates_since(&board_model::Version::empty()).len();
    assert!(board.ops_missing_from(&board_model::Version::empty()) > board_model::SYNC_PART_OPS);
    let (mut a, mut b) = pair(board, Board::empty(ReplicaId(2)).unwrap());
    // The joiner announces its version after every import, while the
    // sender still has parts on the way: the sender carries on.
    let (mut sent, mut drawn, mut now, mut behind_seen) = (0, 0, 0, false);
    loop {
        let mut moved = false;
        for _ in 0..8 {
            let Some(frame) = a.1.poll_transmit(&a.0.board, &a.0.blobs) else { break };
            sent += frame.len();
            b.1.receive(&frame, &mut b.0.board, &mut b.0.blobs, now).expect("frame accepted");
            moved = true;
        }
        drawn += events(&mut b.1).iter().filter(|event| **event == Event::BoardChanged).count();
        behind_seen |= b.1.is_behind(&b.0.board);
        now += 50;
        b.1.tick(&b.0.board, now);
        while let Some(frame) = b.1.poll_transmit(&b.0.board, &b.0.blobs) {
            a.1.receive(&frame, &mut a.0.board, &mut a.0.blobs, now).expect("frame accepted");
            moved = true;
        }
        if !moved {
            break;
        }
    }
    assert_eq!(rendered(&a.0.board), rendered(&b.0.board));
    assert!(drawn >= 2, "the board arrived in {drawn} parts");
    assert!(behind_seen, "the joiner knew it was still receiving");
    assert!(!b.1.is_behind(&b.0.board) && !a.1.is_behind(&a.0.board));
    assert!(sent < whole + whole / 10, "{sent} bytes sent for {whole} bytes of updates");
}
