//! The embedded node (`node::spawn`) and its local link: a `Session` in
//! the test plays the desktop app's UI, speaking the peer protocol over the
//! link's channels, while real peers (`corkboard-peer serve`) reach the node
//! over real WebRTC through a real signaling server.

use std::time::{Duration, Instant};

use board_key::link::ShareLink;
use board_model::blob::{self, MemoryStore, Store as _};
use board_model::presence::Identity;
use board_model::{Board, CardId, Content, ImageRef, NewCard, Point, Session, session};
use peer::node::{self, LocalLink, NodeHandle, SignalingState};
use peer::storage::DataDir;
use tokio::sync::mpsc::error::TryRecvError;

use crate::network::{Serving, png, show, start_signaling};
use crate::support::{run, temp_dir};

fn config(signal: &str) -> node::Config {
    node::Config {
        signal_url: signal.to_owned(),
        signal_ca: None,
        relay: false,
        identity: Identity { name: "Desktop".into(), color: "#336699".into() },
        transport: peer::transport::Options { udp_addrs: vec!["127.0.0.1:0".into()], ..Default::default() },
    }
}

/// The UI's side of a local link: its own replica, images and session.
struct Ui {
    board: Board,
    blobs: MemoryStore,
    session: Session,
    link: LocalLink,
    /// The node ended the link.
    ended: bool,
    /// Why the node said goodbye, if it did.
    bye: Option<String>,
    /// The other peers the node says are on the board.
    relayed: std::collections::BTreeMap<u64, Identity>,
}

impl Ui {
    fn new(link: LocalLink) -> Ui {
        let replica = peer::random::replica();
        let identity = Identity { name: "UI".into(), color: "#aa3355".into() };
        Ui {
            board: Board::empty(replica).expect("board"),
            blobs: MemoryStore::new(),
            session: Session::new(session::Config {
                accept_relayed_presence: true,
                ..session::Config::new(replica.0, identity)
            }),
            link,
            ended: false,
            bye: None,
            relayed: Default::default(),
        }
    }

    /// Moves frames both ways once, and wants the images it lacks (as the app does).
    fn pump(&mut self) {
        let now = peer::clock::now_ms();
        loop {
            match self.link.from_node.try_recv() {
                Ok(frame) => {
                    let received = self.session.receive(&frame, &mut self.board, &mut self.blobs, now);
                    assert!(received.is_ok(), "the node sent a bad frame: {received:?}");
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.ended = true;
                    break;
                }
            }
        }
        if self.session.is_open() {
            for hash in self.board.referenced_blobs() {
                if self.blobs.complete_len(&hash).is_none() {
                    self.session.want_blob(hash, &self.blobs);
                }
            }
        }
        self.session.tick(&self.board, now);
        while let Some(frame) = self.session.poll_transmit(&self.board, &self.blobs) {
            let _ = self.link.to_node.send(frame);
        }
        while let Some(event) = self.session.poll_event() {
            match event {
                session::Event::Closed { reason } => self.bye = Some(reason),
                session::Event::RelayedPresence { peer, identity, .. } => {
                    self.relayed.insert(peer, identity);
                }
                session::Event::RelayedLeft { peer } => {
                    self.relayed.remove(&peer);
                }
                _ => {}
            }
        }
        self.board.take_changes();
    }

    /// Pumps until `done` holds (30 s at most).
    fn until(&mut self, what: &str, done: impl Fn(&Ui) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.pump();
            if done(self) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn has_note(&self, text: &str) -> bool {
        self.board.cards().iter().any(|card| matches!(&card.content, Content::Note { text: t } if t == text))
    }

    fn add_note(&mut self, text: &str) {
        self.board.add_card(card(Content::Note { text: text.into() })).expect("note");
    }
}

fn card(content: Content) -> NewCard {
    NewCard {
        id: CardId::from_random_bytes(peer::random::bytes16()),
        position: Point { x: 10.0, y: 20.0 },
        size: None,
        color: None,
        content,
        created_by: "ui".into(),
        created_at: 0,
    }
}

fn has_text(board: &serde_json::Value, text: &str) -> bool {
    board["cards"].as_array().into_iter().flatten().any(|card| card["text"] == text)
}

/// Polls `show` of a data directory until `done` holds (30 s at most).
fn shown_when(link: &str, data: &str, what: &str, done: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(&show(link, data)) {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_status(
    runtime: &tokio::runtime::Runtime,
    node: &NodeHandle,
    what: &str,
    done: impl Fn(&node::NodeStatus) -> bool,
) {
    let mut status = node.status();
    let waited = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), status.wait_for(|status| done(status))).await.is_ok()
    });
    assert!(waited, "timed out waiting until {what}: {:?}", node.status().borrow());
}

#[test]
fn a_local_link_converges_with_a_remote_peer_over_webrtc_both_ways_with_images() {
    let (signal, runtime) = start_signaling();
    let (a, b) = (temp_dir("local-a"), temp_dir("local-b"));
    let node = runtime.block_on(async { node::spawn(config(&signal), DataDir::open(&a).expect("data")) });
    let link = runtime.block_on(node.create_board("Desk".into())).expect("create");
    let app_link = link.to_app_link();
    let mut ui = Ui::new(runtime.block_on(node.open(link.clone())).expect("open"));
    ui.until("the UI holds the board", |ui| ui.board.title() == "Desk" && ui.session.is_open());

    // The UI adds a note and an image only it holds.
    ui.add_note("from the ui");
    let picture = std::path::PathBuf::from(&a).with_extension("png");
    png(&picture, 120, 80);
    let bytes = std::fs::read(&picture).expect("png");
    let hash = blob::insert(&mut ui.blobs, bytes.clone()).expect("blob");
    let image = ImageRef {
        hash,
        media_type: "image/png".into(),
        natural_width: 120,
        natural_height: 80,
        file_name: "ui.png".into(),
    };
    ui.board.add_card(card(Content::Image(image))).expect("image");
    ui.pump();

    // A remote peer gets both, the image via the node, which fetched it from the UI.
    let serving_b = Serving::start_with(&signal, &b, &["--board", &app_link]);
    wait_status(&runtime, &node, "B is connected", |s| s.peers.get(&link.board.to_string()) == Some(&1));
    // The UI, which has no network, is told who else is here.
    ui.until("the node relays B's presence", |ui| ui.relayed.len() == 1);
    assert!(ui.relayed.values().all(|who| !who.name.is_empty()), "{:?}", ui.relayed);
    let blob_on_b = std::path::Path::new(&b).join("blobs").join(hash.to_hex());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(has_text(&show(&app_link, &b), "from the ui") && blob_on_b.is_file()) {
        ui.pump();
        assert!(Instant::now() < deadline, "B never got the UI's note and image");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::read(&blob_on_b).expect("blob on b"), bytes);
    assert!(std::path::Path::new(&a).join("blobs").join(hash.to_hex()).is_file(), "the node kept the image");

    // B's edits and image reach the UI through the node.
    let (ok, _, error) = run(&["add-note", "--board", &app_link, "--text", "from b", "--data", &b]);
    assert!(ok, "{error}");
    let b_picture = std::path::PathBuf::from(&b).with_extension("png");
    png(&b_picture, 64, 64);
    let (ok, _, error) =
        run(&["add-image", "--board", &app_link, "--file", &b_picture.to_string_lossy(), "--data", &b]);
    assert!(ok, "{error}");
    let b_hash = blob::Hash::of(&std::fs::read(&b_picture).expect("b png"));
    ui.until("B's note and image reach the UI", |ui| {
        ui.has_note("from b") && ui.blobs.complete_len(&b_hash).is_some()
    });

    // Offline: no peers, no signaling; an edit stays local until back online.
    runtime.block_on(node.set_offline(true)).expect("offline");
    wait_status(&runtime, &node, "offline with no peers", |s| {
        s.signaling == SignalingState::Offline && s.peers.values().all(|n| *n == 0)
    });
    ui.until("the node says B has gone", |ui| ui.relayed.is_empty());
    ui.add_note("written offline");
    ui.until("the node has the offline edit", |ui| ui.session.is_synced(&ui.board));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!has_text(&show(&app_link, &b), "written offline"));
    runtime.block_on(node.set_offline(false)).expect("online");
    wait_status(&runtime, &node, "back online with B", |s| {
        s.signaling == SignalingState::Connected && s.peers.get(&link.board.to_string()) == Some(&1)
    });
    shown_when(&app_link, &b, "B gets the offline edit", |v| has_text(v, "written offline"));
    ui.until("B is shown again", |ui| ui.relayed.len() == 1);

    // Everyone ends with the same board, and the node's copy on disk is it too.
    ui.until("the UI is in sync", |ui| ui.session.is_synced(&ui.board));
    runtime.block_on(node.shut_down()).expect("shut down");
    serving_b.stop();
    let on_a = show(&app_link, &a);
    assert_eq!(on_a, show(&app_link, &b));
    assert_eq!(on_a, peer::commands::board_json(&link, &ui.board));
    assert_eq!(on_a["cards"].as_array().map(Vec::len), Some(5), "{on_a}");
}

#[test]
fn the_node_lists_creates_and_deletes_boards_and_replaces_a_local_link() {
    // No signaling server there: everything local still works.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let data = temp_dir("local-boards");
    let node = runtime
        .block_on(async { node::spawn(config("http://127.0.0.1:9"), DataDir::open(&data).expect("data")) });
    wait_status(&runtime, &node, "signaling is unreachable", |s| s.signaling == SignalingState::Unreachable);

    let first = runtime.block_on(node.create_board("First".into())).expect("create");
    let second = runtime.block_on(node.create_board("Second".into())).expect("create");
    let mut ui = Ui::new(runtime.block_on(node.open(second.clone())).expect("open"));
    ui.until("the UI holds the second board", |ui| ui.board.title() == "Second");
    ui.add_note("one");
    ui.until("the node saved the note", |ui| ui.session.is_synced(&ui.board));
    wait_status(&runtime, &node, "the board is served", |s| {
        s.peers.get(&second.board.to_string()) == Some(&0)
    });

    let listed = runtime.block_on(node.list_boards()).expect("list");
    let titles: Vec<(&str, usize)> = listed.iter().map(|b| (b.title.as_str(), b.card_count)).collect();
    assert_eq!(titles, [("Second", 1), ("First", 0)], "most recently opened first");
    assert!(listed[0].last_opened_ms >= listed[0].created_ms && listed[0].created_ms > 0);
    assert_eq!(listed[0].link, second);

    // Opening again replaces the link: the old one gets a bye and ends.
    let mut again = Ui::new(runtime.block_on(node.open(second.clone())).expect("open again"));
    ui.until("the old link ended", |ui| ui.ended);
    assert!(ui.bye.is_some());
    again.until("the new link holds the note", |ui| ui.has_note("one"));

    // Closing the local link ends it; the board can be opened again.
    runtime.block_on(node.close_local(second.board)).expect("close");
    again.until("the closed link ended", |ui| ui.ended);
    let mut third = Ui::new(runtime.block_on(node.open(second.clone())).expect("reopen"));
    third.until("the reopened link holds the note", |ui| ui.has_note("one"));

    // Deleting removes the served board and its directory; the other stays.
    runtime.block_on(node.delete_board(second.board)).expect("delete");
    third.until("the deleted board's link ended", |ui| ui.ended);
    assert!(!std::path::Path::new(&data).join("boards").join(second.board.to_string()).exists());
    let listed = runtime.block_on(node.list_boards()).expect("list");
    assert_eq!(listed.iter().map(|b| b.link.clone()).collect::<Vec<ShareLink>>(), [first]);
    assert!(runtime.block_on(node.delete_board(second.board)).is_err(), "deleting twice is an error");
    runtime.block_on(node.shut_down()).expect("shut down");
    assert!(runtime.block_on(node.list_boards()).is_err(), "a stopped node says so");
}

#[test]
fn a_local_link_sending_garbage_is_closed_and_the_board_is_unharmed() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let data = temp_dir("local-garbage");
    let node = runtime
        .block_on(async { node::spawn(config("http://127.0.0.1:9"), DataDir::open(&data).expect("data")) });
    let link = runtime.block_on(node.create_board("Sturdy".into())).expect("create");
    let mut ui = Ui::new(runtime.block_on(node.open(link.clone())).expect("open"));
    ui.add_note("keep me");
    ui.until("the node saved the note", |ui| ui.session.is_synced(&ui.board));
    let before = show(&link.to_app_link(), &data);

    let _ = ui.link.to_node.send(b"garbage".to_vec());
    let _ = ui.link.to_node.send(vec![b'C', b'B', 99, 0, 1, 2]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ended = false;
    let mut frames = 0;
    while Instant::now() < deadline {
        match ui.link.from_node.try_recv() {
            Ok(_) => frames += 1,
            Err(TryRecvError::Disconnected) => {
                ended = true;
                break;
            }
            Err(TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    assert!(ended, "the node ended the local link ({frames} frames after the garbage)");
    let mut fresh = Ui::new(runtime.block_on(node.open(link.clone())).expect("open again"));
    fresh.until("a fresh link works", |ui| ui.has_note("keep me"));
    runtime.block_on(node.shut_down()).expect("shut down");
    assert_eq!(show(&link.to_app_link(), &data), before);
}

/// Whole records in every board log under `data` (length, checksum, bytes).
fn log_records(data: &str) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(data).expect("data dir").flatten() {
        let Ok(bytes) = std::fs::read(entry.path().join("log")) else { continue };
        let mut at = 0;
        while at + 8 <= bytes.len() {
            let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
            at += 8 + len;
            count += 1;
        }
    }
    count
}

/// A burst of 2,000 changes from the app, each in its own frame, is saved in
/// far fewer synced writes than messages (the node saves once per batch of
/// inputs), and every change is on disk once the node says it holds it.
#[test]
fn a_burst_of_changes_is_saved_in_few_synced_writes_and_all_of_it_is_on_disk() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let data = temp_dir("local-burst");
    let node = runtime
        .block_on(async { node::spawn(config("http://127.0.0.1:9"), DataDir::open(&data).expect("data")) });
    let link = runtime.block_on(node.create_board("Busy".into())).expect("create");
    let mut ui = Ui::new(runtime.block_on(node.open(link.clone())).expect("open"));
    ui.until("the node said hello", |ui| ui.session.is_open());
    let note = card(Content::Note { text: "moving".into() });
    let id = note.id;
    ui.board.add_card(note).expect("note");
    ui.until("the node saved the note", |ui| ui.session.is_synced(&ui.board));
    let before = log_records(&data);

    // Made first, then sent as fast as a channel takes them.
    let moves = 2_000;
    let mut frames = Vec::new();
    for n in 0..moves {
        ui.board.move_card(id, Point { x: f64::from(n), y: 0.0 }).expect("move");
        let before = frames.len();
        frames.extend(std::iter::from_fn(|| ui.session.poll_transmit(&ui.board, &ui.blobs)));
        assert_eq!(frames.len(), before + 1, "each move travels in its own frame");
    }
    ui.board.take_changes();
    for frame in frames {
        let _ = ui.link.to_node.send(frame);
    }
    ui.until("the node holds every move", |ui| ui.session.is_synced(&ui.board));
    let writes = log_records(&data) - before;
    assert!(writes <= moves as usize / 4, "{writes} synced writes for {moves} messages");
    let shown = show(&link.to_app_link(), &data);
    let x = shown["cards"][0]["x"].as_f64();
    assert_eq!(x, Some(f64::from(moves - 1)), "the last move is on disk: {shown}");
    runtime.block_on(node.shut_down()).expect("shut down");
}
