//! The room's rules, one test each, with rooms driven by hand.

use board_key::BoardKey;
use board_key::link::ShareLink;
use board_model::blob::{self, MemoryStore};
use board_model::presence::{self, Identity};
use board_model::session::{self, Session};
use board_model::{Board, BoardId, CardId, Content, ImageRef, NewCard, Point, ReplicaId};
use board_room::{
    CONNECT_TIMEOUT_MS, Cause, Config, Event, Fingerprints, Input, Kind, LinkId, MAX_CONNECTIONS, Output,
    Path, Room,
};

fn share_link() -> ShareLink {
    ShareLink { board: uuid::Uuid::from_bytes([3; 16]), key: BoardKey([5; 32]) }
}

fn identity(name: &str) -> Identity {
    Identity { name: name.into(), color: "#336699".into() }
}

struct Side {
    room: Room,
    board: Board,
    blobs: MemoryStore,
}

impl Side {
    fn new(replica: u64, board: Board) -> Side {
        let config =
            Config::new(share_link(), replica, identity(&format!("side {replica}")), [replica as u8; 32]);
        Side { room: Room::new(config), board, blobs: MemoryStore::new() }
    }

    fn empty(replica: u64) -> Side {
        Side::new(replica, Board::empty(ReplicaId(replica)).expect("empty board"))
    }

    fn handle(&mut self, input: Input, now: u64) {
        self.room.handle(input, &mut self.board, &mut self.blobs, now);
        self.board.take_changes();
    }

    fn outputs(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.room.poll_output()).collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.room.poll_event()).collect()
    }

    fn frames(&mut self, link: LinkId) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| self.room.poll_transmit(link, &self.board, &self.blobs)).collect()
    }
}

fn connects(outputs: &[Output]) -> Vec<(LinkId, String)> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Connect { link, peer } => Some((*link, peer.clone())),
            _ => None,
        })
        .collect()
}

fn signal_of(outputs: &[Output]) -> Vec<u8> {
    outputs
        .iter()
        .find_map(|output| match output {
            Output::Signal { data, .. } => Some(data.clone()),
            _ => None,
        })
        .expect("a signal")
}

/// Two rooms "a" (offers) and "b", connected through a perfect world; the
/// fingerprints each side reads, which `b_reads` may falsify.
fn connect(a: &mut Side, b: &mut Side, b_reads: Option<Fingerprints>) -> (LinkId, LinkId) {
    a.handle(Input::Joined { me: "a".into(), peers: vec!["b".into()] }, 0);
    b.handle(Input::Joined { me: "b".into(), peers: vec!["a".into()] }, 0);
    let offers = connects(&a.outputs());
    let [(a_link, peer)] = &offers[..] else { panic!("a offers to b") };
    let a_link = *a_link;
    assert_eq!(peer, "b");
    assert!(connects(&b.outputs()).is_empty(), "the larger id does not offer");
    a.handle(Input::Described { link: a_link, sdp: "offer-sdp".into() }, 1);
    let offer = signal_of(&a.outputs());
    b.handle(Input::Signal { from: "a".into(), data: offer }, 2);
    let b_link = match &b.outputs()[..] {
        [Output::Answer { link, peer, sdp }] if peer == "a" && sdp == "offer-sdp" => *link,
        other => panic!("b answers a: {other:?}"),
    };
    b.handle(Input::Described { link: b_link, sdp: "answer-sdp".into() }, 3);
    let answer = signal_of(&b.outputs());
    a.handle(Input::Signal { from: "b".into(), data: answer }, 4);
    assert_eq!(a.outputs(), vec![Output::AcceptAnswer { link: a_link, sdp: "answer-sdp".into() }]);
    let a_reads = Fingerprints { local: "sha-256 aa".into(), remote: "sha-256 bb".into() };
    let b_reads = b_reads.unwrap_or(Fingerprints { local: "sha-256 bb".into(), remote: "sha-256 aa".into() });
    a.handle(Input::ChannelOpened { link: a_link, fingerprints: Some(a_reads) }, 5);
    b.handle(Input::ChannelOpened { link: b_link, fingerprints: Some(b_reads) }, 5);
    pump(a, a_link, b, b_link, 6);
    (a_link, b_link)
}

/// Moves frames both ways until both sides are quiet.
fn pump(a: &mut Side, a_link: LinkId, b: &mut Side, b_link: LinkId, now: u64) {
    loop {
        let to_b = a.frames(a_link);
        let to_a = b.frames(b_link);
        if to_a.is_empty() && to_b.is_empty() {
            return;
        }
        for frame in to_b {
            b.handle(Input::Frame { link: b_link, frame }, now);
        }
        for frame in to_a {
            a.handle(Input::Frame { link: a_link, frame }, now);
        }
    }
}

#[test]
fn two_rooms_connect_and_sync_through_the_smaller_ids_offer() {
    let board = Board::create(BoardId(share_link().board), "Plans", ReplicaId(1)).expect("board");
    let (mut a, mut b) = (Side::new(1, board), Side::empty(2));
    connect(&mut a, &mut b, None);
    assert_eq!(b.board.title(), "Plans");
    assert_eq!((a.room.connected_peers(), b.room.connected_peers()), (1, 1));
    let joined: Vec<Event> =
        b.events().into_iter().filter(|e| matches!(e, Event::PersonJoined { .. })).collect();
    assert_eq!(joined, vec![Event::PersonJoined { peer: 1, identity: identity("side 1") }]);
}

#[test]
fn a_connection_whose_fingerprints_differ_fails_its_proof() {
    let (mut a, mut b) = (Side::empty(1), Side::empty(2));
    // b reads other certificates than a has: a relayed or spliced connection.
    let spliced = Fingerprints { local: "sha-256 cc".into(), remote: "sha-256 aa".into() };
    let (_, b_link) = connect(&mut a, &mut b, Some(spliced));
    let closed = b.events().into_iter().find_map(|event| match event {
        Event::LinkClosed { link, cause, .. } if link == b_link => Some(cause),
        _ => None,
    });
    assert_eq!(closed, Some(Cause::Failed(session::Error::AuthenticationFailed)));
    assert_eq!(b.room.connected_peers(), 0);
    assert_eq!(b.room.people(), 0, "nobody is shown from a connection that failed its proof");
}

#[test]
fn an_unanswered_offer_times_out_and_is_retried_later_and_later() {
    let mut a = Side::empty(1);
    a.handle(Input::Joined { me: "a".into(), peers: vec!["b".into()] }, 0);
    let mut attempts = Vec::new();
    let mut now = 0;
    while now < 200_000 {
        for (link, _) in connects(&a.outputs()) {
            attempts.push(now);
            a.handle(Input::Described { link, sdp: "offer".into() }, now);
        }
        now += 100;
        a.handle(Input::Tick, now);
    }
    assert!(attempts.len() >= 4, "attempts at {attempts:?}");
    let gaps: Vec<u64> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|gap| *gap >= CONNECT_TIMEOUT_MS),
        "each attempt waited for its timeout: {gaps:?}"
    );
    assert!(gaps.windows(2).all(|w| w[1] >= w[0]), "the waits grow: {gaps:?}");
    assert!(gaps.last().is_some_and(|gap| *gap <= CONNECT_TIMEOUT_MS + 30_000), "up to a ceiling: {gaps:?}");
}

#[test]
fn a_peer_that_leaves_takes_its_attempt_and_its_retries_with_it() {
    let mut a = Side::empty(1);
    a.handle(Input::Joined { me: "a".into(), peers: vec!["b".into()] }, 0);
    let offers = connects(&a.outputs());
    let [(link, _)] = &offers[..] else { panic!("an offer to b") };
    let link = *link;
    a.handle(Input::PeerLeft { peer: "b".into() }, 10);
    assert!(a.outputs().contains(&Output::Close { link, failed: true }));
    for now in (100..60_000).step_by(100) {
        a.handle(Input::Tick, now);
    }
    assert!(connects(&a.outputs()).is_empty(), "nobody is offered to once they left");
    assert_eq!(a.room.links().count(), 0);
    assert_eq!(a.room.retrying().count(), 0);
}

#[test]
fn the_mesh_is_capped_and_says_so_once() {
    let mut a = Side::empty(1);
    a.room = Room::new(Config { max_connections: 4, ..Config::new(share_link(), 1, identity("a"), [1; 32]) });
    let peers: Vec<String> = (0..9).map(|n| format!("b{n:02}")).collect();
    a.handle(Input::Joined { me: "a".into(), peers }, 0);
    assert_eq!(connects(&a.outputs()).len(), 4);
    a.handle(Input::PeerJoined { peer: "c".into() }, 1);
    assert!(connects(&a.outputs()).is_empty());
    let full: Vec<Event> = a.events().into_iter().filter(|e| matches!(e, Event::MeshFull { .. })).collect();
    assert_eq!(full, vec![Event::MeshFull { limit: 4 }]);
}

/// Past a full mesh, a device offers to a few peers only, and never to
/// more than its cap however big the room.
#[test]
fn a_big_room_is_not_a_full_mesh() {
    let mut a = Side::empty(1);
    let peers: Vec<String> = (0..200).map(|n| format!("b{n:03}")).collect();
    a.handle(Input::Joined { me: "a".into(), peers }, 0);
    let offers = connects(&a.outputs()).len();
    assert!((1..=MAX_CONNECTIONS).contains(&offers), "{offers} offers in a room of 200");
    assert!(offers <= 12, "{offers} offers in a room of 200");
    assert!(a.events().iter().all(|e| !matches!(e, Event::MeshFull { .. })));
}

#[test]
fn frames_before_the_session_exists_are_kept_and_read_once_it_does() {
    let (mut a, mut b) = (Side::empty(1), Side::empty(2));
    a.handle(Input::Joined { me: "a".into(), peers: vec!["b".into()] }, 0);
    b.handle(Input::Joined { me: "b".into(), peers: vec!["a".into()] }, 0);
    let offers = connects(&a.outputs());
    let [(a_link, _)] = &offers[..] else { panic!("an offer") };
    let a_link = *a_link;
    a.handle(Input::Described { link: a_link, sdp: "o".into() }, 1);
    b.handle(Input::Signal { from: "a".into(), data: signal_of(&a.outputs()) }, 2);
    let answers = b.outputs();
    let [Output::Answer { link: b_link, .. }] = &answers[..] else { panic!("an answer") };
    let b_link = *b_link;
    b.handle(Input::Described { link: b_link, sdp: "x".into() }, 3);
    a.handle(Input::Signal { from: "b".into(), data: signal_of(&b.outputs()) }, 4);
    // a is quicker: its hello reaches b before b's channel reports open.
    a.handle(
        Input::ChannelOpened {
            link: a_link,
            fingerprints: Some(Fingerprints { local: "x".into(), remote: "y".into() }),
        },
        5,
    );
    for frame in a.frames(a_link) {
        b.handle(Input::Frame { link: b_link, frame }, 5);
    }
    b.handle(
        Input::ChannelOpened {
            link: b_link,
            fingerprints: Some(Fingerprints { local: "y".into(), remote: "x".into() }),
        },
        6,
    );
    pump(&mut a, a_link, &mut b, b_link, 7);
    assert_eq!((a.room.connected_peers(), b.room.connected_peers()), (1, 1));
}

/// The node's end of a local link and a remote peer's presence: the app is
/// shown who else is here and how the node reaches them, and told when they
/// leave.
#[test]
fn an_app_link_is_shown_the_remote_peers_their_paths_and_their_departure() {
    let (mut node, mut remote) = (Side::empty(1), Side::empty(2));
    let app_link = LinkId::local(1);
    node.handle(Input::LocalLinkUp { link: app_link, kind: Kind::App }, 0);
    let mut config = session::Config::new(50, identity("app"));
    config.accept_relayed_presence = true;
    let mut app = Session::new(config);
    let mut app_board = Board::empty(ReplicaId(50)).expect("board");
    let mut app_blobs = MemoryStore::new();
    let mut exchange = |node: &mut Side, app: &mut Session, now: u64| loop {
        let to_app = node.frames(app_link);
        let mut to_node = Vec::new();
        for frame in &to_app {
            app.receive(frame, &mut app_board, &mut app_blobs, now).expect("app takes the frame");
        }
        while let Some(frame) = app.poll_transmit(&app_board, &app_blobs) {
            to_node.push(frame);
        }
        if to_app.is_empty() && to_node.is_empty() {
            break;
        }
        for frame in to_node {
            node.handle(Input::Frame { link: app_link, frame }, now);
        }
    };
    exchange(&mut node, &mut app, 1);
    let (_, remote_link) = connect(&mut node, &mut remote, None);
    let cursor = presence::State { cursor: Some(Point { x: 3.0, y: 4.0 }), ..Default::default() };
    remote.room.set_presence(cursor.clone());
    let node_link = node.room.links().find(|(_, kind, _, _)| *kind == Kind::Remote).map(|(id, ..)| id);
    let node_link_id = node_link.expect("a remote link");
    pump(&mut node, node_link_id, &mut remote, remote_link, 10);
    node.events();
    node.handle(Input::PathFound { link: node_link_id, path: Path::Relayed }, 15);
    assert!(
        node.events().contains(&Event::PersonPath { peer: 2, path: Path::Relayed }),
        "the node's own room reports the path"
    );
    node.handle(Input::Tick, 20);
    exchange(&mut node, &mut app, 20);
    let relayed: Vec<session::Event> = std::iter::from_fn(|| app.poll_event()).collect();
    assert!(
        relayed.iter().any(|event| matches!(event,
            session::Event::RelayedPresence { peer: 2, state, path: Some(Path::Relayed), .. }
                if *state == cursor)),
        "the app sees the remote's cursor and path: {relayed:?}"
    );
    // The remote goes: the app is told.
    if let Some(link) = node_link {
        node.handle(Input::ChannelClosed { link, reason: "gone".into() }, 30);
    }
    exchange(&mut node, &mut app, 30);
    let after: Vec<session::Event> = std::iter::from_fn(|| app.poll_event()).collect();
    assert!(after.contains(&session::Event::RelayedLeft { peer: 2 }), "{after:?}");
}

/// Two peers hold the board; one says it lacks an image: it is not asked
/// again for a while, and the other one is.
#[test]
fn a_peer_lacking_an_image_is_left_alone_while_another_is_asked() {
    let mut board = Board::create(BoardId(share_link().board), "Pics", ReplicaId(9)).expect("board");
    let mut store = MemoryStore::new();
    let hash = blob::insert(&mut store, vec![7; 5_000]).expect("insert");
    let image = ImageRef {
        hash,
        media_type: "image/png".into(),
        natural_width: 1,
        natural_height: 1,
        file_name: "p.png".into(),
    };
    board
        .add_card(NewCard {
            id: CardId::from_random_bytes([1; 16]),
            position: Point { x: 0.0, y: 0.0 },
            size: None,
            color: None,
            content: Content::Image(image),
            created_by: "t".into(),
            created_at: 0,
        })
        .expect("card");
    let saved = board.save().expect("save");
    let mut me = Side::new(1, Board::load(&saved, ReplicaId(1)).expect("load"));
    // Two local links stand in for two peers that hold the board but not the image.
    let (first, second) = (LinkId::local(1), LinkId::local(2));
    let mut peers: Vec<(LinkId, Session, Board, MemoryStore)> = [first, second]
        .into_iter()
        .enumerate()
        .map(|(i, link)| {
            me.handle(Input::LocalLinkUp { link, kind: Kind::App }, 0);
            let replica = 10 + i as u64;
            let session = Session::new(session::Config::new(replica, identity("peer")));
            (link, session, Board::load(&saved, ReplicaId(replica)).expect("load"), MemoryStore::new())
        })
        .collect();
    let mut wants = Vec::new();
    for now in [1, 2, 3, 500, 1_000, 1_500] {
        me.handle(Input::Tick, now);
        for (link, session, board, blobs) in &mut peers {
            for frame in me.frames(*link) {
                let decoded = board_model::protocol::decode_frames([frame.as_slice()]);
                if decoded
                    .iter()
                    .flatten()
                    .any(|m| matches!(m, board_model::protocol::Message::BlobWant { .. }))
                {
                    wants.push((*link, now));
                }
                session.receive(&frame, board, blobs, now).expect("peer takes the frame");
            }
            while let Some(frame) = session.poll_transmit(board, blobs) {
                me.handle(Input::Frame { link: *link, frame }, now);
            }
        }
    }
    let asked: Vec<LinkId> = wants.iter().map(|(link, _)| *link).collect();
    assert!(asked.contains(&first) && asked.contains(&second), "both were asked in turn: {wants:?}");
    assert!(wants.len() <= 3, "a peer that lacks it is not asked again at once: {wants:?}");
}

/// Issue 10 #7: anyone who knows the room id can join and leave over and
/// over under an id that sorts high, so this side always offers. Every
/// attempt must be closed when its peer leaves, and nothing may pile up.
#[test]
fn join_leave_churn_leaves_no_connection_behind() {
    let mut a = Side::empty(1);
    a.handle(Input::Joined { me: "a".into(), peers: vec![] }, 0);
    let (mut connects, mut closes) = (0, 0);
    for cycle in 0..200u64 {
        let peer = format!("z{cycle:04}");
        let now = cycle * 10;
        a.handle(Input::PeerJoined { peer: peer.clone() }, now);
        for output in a.outputs() {
            if let Output::Connect { link, .. } = output {
                connects += 1;
                // Half the attempts got as far as an offer.
                if cycle % 2 == 0 {
                    a.handle(Input::Described { link, sdp: "offer".into() }, now + 1);
                }
            }
        }
        a.handle(Input::PeerLeft { peer }, now + 2);
        closes += a.outputs().iter().filter(|o| matches!(o, Output::Close { .. })).count();
        a.handle(Input::Tick, now + 3);
    }
    assert_eq!(connects, 200, "each newcomer was offered to");
    assert_eq!(closes, 200, "and each attempt closed when its peer left");
    assert_eq!(a.room.links().count(), 0);
    assert_eq!(a.room.retrying().count(), 0);
    assert_eq!(a.room.present().count(), 0);
    // The mesh cap was never reached by dead entries: a real peer still gets a connection.
    a.handle(Input::PeerJoined { peer: "real".into() }, 5_000);
    assert_eq!(connects_in(&a.outputs()), 1);
}

fn connects_in(outputs: &[Output]) -> usize {
    outputs.iter().filter(|o| matches!(o, Output::Connect { .. })).count()
}

/// A blob store that panics, as a dependency with a bug would.
struct PanickingStore;

impl board_model::blob::Store for PanickingStore {
    fn complete_len(&self, _: &board_model::blob::Hash) -> Option<u64> {
        panic!("a bug in the store")
    }
    fn read(
        &self,
        _: &board_model::blob::Hash,
        _: u64,
        _: usize,
    ) -> Result<Vec<u8>, board_model::blob::StoreError> {
        panic!("a bug in the store")
    }
    fn partial_len(&self, _: &board_model::blob::Hash) -> u64 {
        0
    }
    fn read_partial(
        &self,
        _: &board_model::blob::Hash,
        _: u64,
        _: usize,
    ) -> Result<Vec<u8>, board_model::blob::StoreError> {
        panic!("a bug in the store")
    }
    fn append_partial(
        &mut self,
        _: &board_model::blob::Hash,
        _: &[u8],
    ) -> Result<(), board_model::blob::StoreError> {
        panic!("a bug in the store")
    }
    fn promote_partial(&mut self, _: &board_model::blob::Hash) -> Result<(), board_model::blob::StoreError> {
        panic!("a bug in the store")
    }
    fn discard_partial(&mut self, _: &board_model::blob::Hash) {}
    fn put_verified(
        &mut self,
        _: board_model::blob::Hash,
        _: Vec<u8>,
    ) -> Result<(), board_model::blob::StoreError> {
        panic!("a bug in the store")
    }
}

#[test]
fn a_panic_while_handling_one_peers_bytes_ends_that_link_only() {
    let board = Board::create(BoardId(share_link().board), "Plans", ReplicaId(1)).expect("board");
    let (mut a, mut b) = (Side::new(1, board), Side::empty(2));
    let (a_link, _) = connect(&mut a, &mut b, None);
    a.events();
    let want =
        board_model::protocol::Message::BlobWant { hash: board_model::blob::Hash::of(b"x"), offset: 0 };
    for frame in want.encode(1 << 16) {
        a.room.handle(Input::Frame { link: a_link, frame }, &mut a.board, &mut PanickingStore, 10);
    }
    let closed = a.events().into_iter().find_map(|event| match event {
        Event::LinkClosed { cause, .. } => Some(cause.to_string()),
        _ => None,
    });
    assert!(closed.as_deref().is_some_and(|why| why.contains("a bug in the store")), "{closed:?}");
    assert_eq!(a.room.connected_peers(), 0, "that peer is cut off");
    // The room, and the board, go on working.
    a.handle(Input::Tick, 11);
    assert_eq!(a.board.title(), "Plans");
}

/// Several links each holding part of a large message: together they stay
/// within the board's one reassembly budget (the link holding the most is
/// cut off), and the others go on.
#[test]
fn unfinished_messages_of_all_links_share_one_memory_budget() {
    use board_model::protocol::{DEFAULT_MAX_FRAME_SIZE, Message};
    let mut hub = Side::empty(1);
    hub.room = Room::new(Config {
        reassembly_budget: 1024 * 1024,
        ..Config::new(share_link(), 1, identity("hub"), [1; 32])
    });
    // Three apps each start a message of 700 KiB and send part of it.
    let parts = [(LinkId::local(1), 400), (LinkId::local(2), 300), (LinkId::local(3), 450)];
    for (n, (link, _)) in parts.iter().enumerate() {
        hub.handle(Input::LocalLinkUp { link: *link, kind: Kind::App }, 0);
        let mut app = Session::new(session::Config::new(10 + n as u64, identity("app")));
        let board = Board::empty(ReplicaId(10 + n as u64)).expect("board");
        while let Some(frame) = app.poll_transmit(&board, &MemoryStore::new()) {
            hub.handle(Input::Frame { link: *link, frame }, 1);
        }
    }
    assert_eq!(hub.room.links().filter(|(.., open)| *open).count(), 3, "every hello was taken");
    hub.events();
    let big = Message::SyncUpdates { updates: serde_bytes::ByteBuf::from(vec![0u8; 700 * 1024]) };
    let frames = big.encode(DEFAULT_MAX_FRAME_SIZE);
    for (link, kib) in parts {
        for frame in frames.iter().take(kib / 64) {
            hub.handle(Input::Frame { link, frame: frame.clone() }, 2);
        }
    }
    let closed: Vec<(LinkId, Cause)> = hub
        .events()
        .into_iter()
        .filter_map(|event| match event {
            Event::LinkClosed { link, cause, .. } => Some((link, cause)),
            _ => None,
        })
        .collect();
    assert!(
        matches!(&closed[..], [(link, Cause::Failed(session::Error::OverMemoryBudget(_)))]
            if *link == LinkId::local(3)),
        "the link holding the most is cut off, once: {closed:?}"
    );
    let open: Vec<LinkId> = hub.room.links().filter(|(.., open)| *open).map(|(id, ..)| id).collect();
    assert_eq!(open, vec![LinkId::local(1), LinkId::local(2)], "the others go on");
}
