//! The engine on the host, over the in-memory home: opening a board,
//! operations turning into exactly the view updates they should, saving
//! (and a store that fails), remote changes and presence through a link.

use std::collections::BTreeMap;

use board_key::BoardKey;
use board_key::link::ShareLink;
use board_model::blob::MemoryStore;
use board_model::presence::{self, Identity};
use board_model::session::{self, Session};
use board_model::{Board, BoardId, CardId, Content, NewCard, Point, ReplicaId};
use board_room::{Input, Kind, LinkId, Output};
use leptos::prelude::*;

use super::{Engine, ExportBody, ExportFormat, close, open, with};
use crate::notify;
use crate::platform::memory::TestHome;
use crate::platform::{BoardStore, NetEvent};
use crate::profile::Profile;
use crate::view_model::{BoardSignals, Status, Toasts};

pub(super) fn link() -> ShareLink {
    ShareLink { board: uuid::Uuid::from_bytes([7; 16]), key: BoardKey([9; 32]) }
}

pub(super) fn profile() -> Profile {
    Profile { name: "Ann Tester".into(), color: "#336699".into() }
}

pub(super) fn note(n: u8, text: &str, x: f64) -> NewCard {
    NewCard {
        id: CardId::from_random_bytes([n; 16]),
        position: Point { x, y: 10.0 },
        size: None,
        color: None,
        content: Content::Note { text: text.into() },
        created_by: "test".into(),
        created_at: 0,
    }
}

/// Runs spawned tasks (the save loop) until none can go on.
pub(super) fn settle() {
    any_spawner::Executor::poll_local();
}

/// A home whose store holds a board "Trip" with three notes; opened.
pub(super) fn opened(home: &TestHome, signals: BoardSignals) {
    let _ = any_spawner::Executor::init_futures_executor();
    let mut board = Board::create(BoardId(link().board), "Trip", ReplicaId(5)).expect("board");
    for (n, text) in [(1, "one"), (2, "two"), (3, "three")] {
        board.add_card(note(n, text, f64::from(n) * 100.0)).expect("card");
    }
    let store = home.store.clone();
    futures::executor::block_on(async {
        let snapshot = board.save().expect("save");
        store.compact(link().board, &mut |_| Ok(snapshot.clone())).await.expect("stored");
        open(home.platform.clone(), link(), signals, profile(), None).await;
    });
    settle();
}

pub(super) fn ids(signals: BoardSignals) -> Vec<CardId> {
    signals.order.get_untracked().iter().map(|entry| entry.id).collect()
}

#[test]
fn opening_a_board_draws_every_card_in_order_and_starts_the_network() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    assert_eq!(ids(signals), (1..=3).map(|n| CardId::from_random_bytes([n; 16])).collect::<Vec<_>>());
    assert_eq!(signals.title.get_untracked(), "Trip");
    assert!(signals.loaded.get_untracked());
    assert_eq!(home.net.borrow().started, 1);
    assert_eq!(signals.people.get_untracked().len(), 1, "only this user is here");
    let listed = home.store.entries.borrow().get(&link().board).map(|entry| entry.card_count);
    assert_eq!(listed, Some(3), "the board is listed with its size");
    close();
}

#[test]
fn a_drag_moves_only_the_dragged_cards_and_commits_once_on_drop() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let (one, two) = (CardId::from_random_bytes([1; 16]), CardId::from_random_bytes([2; 16]));
    let before: BTreeMap<CardId, (f64, f64)> = signals
        .order
        .get_untracked()
        .iter()
        .map(|entry| (entry.id, entry.signal.with_untracked(|v| (v.x, v.y))))
        .collect();
    let version = with(|e| e.board.version()).expect("open");
    with(|e| {
        e.select_only(Some(one));
        e.begin_drag();
        e.drag_by(40.0, 5.0, Point { x: 0.0, y: 0.0 });
    });
    let now = |id: CardId| super::card_signal(id).map(|s| s.with_untracked(|v| (v.x, v.y, v.dragging)));
    assert_eq!(
        now(one),
        Some((before[&one].0 + 40.0, before[&one].1 + 5.0, true)),
        "the dragged card follows"
    );
    assert_eq!(now(two), Some((before[&two].0, before[&two].1, false)), "the others stay");
    let mid_drag = with(|e| e.board.version()).expect("open");
    with(|e| e.end_drag());
    let after = with(|e| (e.board.card(one).map(|c| c.position), e.board.version())).expect("open");
    assert_eq!(after.0, Some(Point { x: before[&one].0 + 40.0, y: before[&one].1 + 5.0 }));
    assert_ne!(after.1, mid_drag, "the drop is one commit");
    let _ = version;
    assert_eq!(now(one).map(|v| v.2), Some(false));
    assert_eq!(ids(signals).last(), Some(&one), "a dragged card comes to the front");
    close();
}

#[test]
fn every_change_is_saved_and_reopens_as_it_was() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let added = with(|e| e.add_note(Point { x: 5.0, y: 5.0 }, "new note")).flatten().expect("added");
    settle();
    assert!(signals.saved.get_untracked());
    assert!(with(|e| e.is_saved()).unwrap_or(false));
    close();
    let again = BoardSignals::new();
    futures::executor::block_on(open(home.platform.clone(), link(), again, profile(), None));
    assert!(ids(again).contains(&added), "the note is there after reopening");
    assert_eq!(with(|e| e.board.text(added).ok()).flatten().as_deref(), Some("new note"));
    close();
}

#[test]
fn a_failed_write_is_not_counted_as_saved_and_is_written_again() {
    let home = TestHome::new();
    let toasts = Toasts::new();
    notify::install(toasts);
    let signals = BoardSignals::new();
    opened(&home, signals);
    home.store.fail.set(true);
    let added = with(|e| e.add_note(Point { x: 5.0, y: 5.0 }, "kept")).flatten().expect("added");
    settle();
    assert!(!signals.saved.get_untracked(), "the board says it is not saved");
    assert!(
        toasts.0.get_untracked().iter().any(|(_, text)| text.contains("the disk is full")),
        "the user is told"
    );
    // The disk recovers: the next tick writes the change.
    home.store.fail.set(false);
    with(Engine::tick);
    settle();
    assert!(signals.saved.get_untracked());
    close();
    let again = BoardSignals::new();
    futures::executor::block_on(open(home.platform.clone(), link(), again, profile(), None));
    assert!(ids(again).contains(&added), "the change written after the failure is there");
    close();
}

#[test]
fn a_board_whose_saved_copy_cannot_be_read_opens_read_only_and_nothing_is_written() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    close();
    let snapshot = home.store.snapshots.borrow().get(&link().board).cloned();
    let writes = home.store.writes.get();
    home.store.fail_reads.set(true);
    let again = BoardSignals::new();
    futures::executor::block_on(open(home.platform.clone(), link(), again, profile(), None));
    settle();
    let why = again.read_only.get_untracked().unwrap_or_default();
    assert!(why.contains("read-only") && why.contains("could not be read"), "the user is told: {why}");
    assert_eq!(with(|e| e.add_note(Point { x: 1.0, y: 1.0 }, "lost?")).flatten(), None, "edits are refused");
    with(Engine::tick);
    settle();
    assert_eq!(home.store.writes.get(), writes, "nothing was written");
    assert_eq!(
        home.store.snapshots.borrow().get(&link().board).cloned(),
        snapshot,
        "the saved board is intact"
    );
    close();
    home.store.fail_reads.set(false);
    let later = BoardSignals::new();
    futures::executor::block_on(open(home.platform.clone(), link(), later, profile(), None));
    assert_eq!(ids(later).len(), 3, "once readable, the board is all there");
    assert_eq!(later.read_only.get_untracked(), None);
    close();
}

#[test]
fn a_link_with_the_stored_board_id_and_another_key_does_not_open() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    close();
    let entry = home.store.entries.borrow().get(&link().board).cloned();
    let writes = home.store.writes.get();
    let forged = ShareLink { board: link().board, key: BoardKey([1; 32]) };
    let again = BoardSignals::new();
    futures::executor::block_on(open(home.platform.clone(), forged, again, profile(), None));
    settle();
    assert!(again.refused.get_untracked().is_some_and(|why| why.contains("another key")));
    assert!(!again.loaded.get_untracked() && with(|_| ()).is_none(), "nothing was opened");
    assert_eq!(home.store.entries.borrow().get(&link().board).cloned(), entry, "the stored key is unchanged");
    assert_eq!(home.store.writes.get(), writes, "nothing was written");
    assert_eq!(home.net.borrow().started, 1, "no network was started for it");
}

#[test]
fn a_compaction_takes_in_what_another_tab_saved_and_no_record_is_replaced() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    // Another tab, with the same saved board, adds a note.
    let mut other =
        Board::load(home.store.snapshots.borrow().get(&link().board).expect("stored"), ReplicaId(77))
            .expect("loads");
    let before = other.version();
    let theirs = CardId::from_random_bytes([42; 16]);
    other.add_card(note(42, "from the other tab", 900.0)).expect("card");
    let store = home.store.clone();
    futures::executor::block_on(store.append(link().board, &other.updates_since(&before))).expect("appended");
    // This tab saves enough to compact.
    for n in 0..=super::persist::COMPACT_AFTER {
        with(|e| e.add_note(Point { x: n as f64, y: 0.0 }, "mine"));
        settle();
    }
    assert!(signals.saved.get_untracked());
    let stored = home.store.snapshots.borrow().get(&link().board).cloned().expect("snapshot");
    let compacted = Board::load(&stored, ReplicaId(78)).expect("loads");
    assert!(compacted.contains(theirs), "the other tab's note is in the new snapshot");
    assert!(ids(signals).contains(&theirs), "and on this tab's board");
    close();
}

#[test]
fn megabytes_of_updates_are_compacted_before_two_hundred_of_them() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    // About 5 MB in 50 updates (a board arriving whole from a peer is the same).
    let text: String = "Long notes make big updates. ".repeat(3_400);
    for n in 0..50 {
        with(|e| e.add_note(Point { x: n as f64 * 400.0, y: 0.0 }, &text));
        settle();
    }
    assert!(signals.saved.get_untracked());
    let records = home.store.updates.borrow().get(&link().board).map_or(0, BTreeMap::len);
    assert!(records < 50, "compacted by size: {records} records left");
    close();
    let again = BoardSignals::new();
    futures::executor::block_on(open(home.platform.clone(), link(), again, profile(), None));
    assert_eq!(ids(again).len(), 3 + 50, "every note is kept");
    close();
}

#[test]
fn a_failed_compaction_is_not_counted_as_saved_and_is_tried_again() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    for n in 0..super::persist::COMPACT_AFTER {
        with(|e| e.add_note(Point { x: n as f64, y: 0.0 }, "note"));
        settle();
    }
    home.store.fail.set(true);
    let last = with(|e| e.add_note(Point { x: 0.0, y: 500.0 }, "last")).flatten().expect("added");
    settle();
    assert!(!signals.saved.get_untracked(), "a failed compaction is not saved");
    home.store.fail.set(false);
    with(Engine::tick);
    settle();
    assert!(signals.saved.get_untracked());
    close();
    let again = BoardSignals::new();
    futures::executor::block_on(open(home.platform.clone(), link(), again, profile(), None));
    assert!(ids(again).contains(&last));
    assert_eq!(ids(again).len(), 3 + super::persist::COMPACT_AFTER as usize + 1);
    close();
}

/// The page's end of a link to a node (as in the desktop app), played by a
/// raw session over the engine's room.
pub(super) struct Node {
    session: Session,
    pub board: Board,
    pub blobs: MemoryStore,
    link: LinkId,
}

impl Node {
    pub fn attach(home: &TestHome) -> Node {
        let link = LinkId::local(1);
        home.net.borrow_mut().open.push(link);
        with(|e| e.on_net(NetEvent::Room(Input::LocalLinkUp { link, kind: Kind::Node })));
        let board = Board::empty(ReplicaId(77)).expect("board");
        Node {
            session: Session::new(session::Config::new(77, identity("node"))),
            board,
            blobs: MemoryStore::new(),
            link,
        }
    }

    /// Frames both ways until quiet.
    pub fn exchange(&mut self, home: &TestHome) {
        loop {
            let sent: Vec<Vec<u8>> = std::mem::take(&mut home.net.borrow_mut().sent)
                .into_iter()
                .filter(|(link, _)| *link == self.link)
                .map(|(_, frame)| frame)
                .collect();
            for frame in &sent {
                self.session
                    .receive(frame, &mut self.board, &mut self.blobs, 0)
                    .expect("node takes the frame");
            }
            self.board.take_changes();
            let mut back = Vec::new();
            while let Some(frame) = self.session.poll_transmit(&self.board, &self.blobs) {
                back.push(frame);
            }
            if sent.is_empty() && back.is_empty() {
                return;
            }
            for frame in back {
                with(|e| e.on_net(NetEvent::Room(Input::Frame { link: self.link, frame })));
            }
        }
    }
}

pub(super) fn identity(name: &str) -> Identity {
    Identity { name: name.into(), color: "#aa3366".into() }
}

#[test]
fn changes_from_a_link_reach_the_view_and_the_view_reaches_the_link() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let mut node = Node::attach(&home);
    node.exchange(&home);
    assert_eq!(node.board.card_count(), 3, "the node got the page's board");
    node.board.add_card(note(9, "from the node", 900.0)).expect("card");
    node.exchange(&home);
    assert!(ids(signals).contains(&CardId::from_random_bytes([9; 16])), "a remote card is drawn");
    let sig = super::card_signal(CardId::from_random_bytes([9; 16])).expect("signal");
    assert_eq!(sig.with_untracked(|v| v.text.clone()), "from the node");
    with(|e| e.set_text(CardId::from_random_bytes([9; 16]), "edited here"));
    node.exchange(&home);
    assert_eq!(node.board.text(CardId::from_random_bytes([9; 16])).ok().as_deref(), Some("edited here"));
    settle();
    close();
}

#[test]
fn people_relayed_by_a_node_are_listed_with_their_path_cursor_and_drags() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let mut node = Node::attach(&home);
    node.exchange(&home);
    let dragged = CardId::from_random_bytes([2; 16]);
    let state = presence::State {
        cursor: Some(Point { x: 12.0, y: 34.0 }),
        selection: vec![dragged],
        dragging: vec![(dragged, Point { x: 500.0, y: 600.0 })],
    };
    node.session.relay_presence(42, &identity("Bo Remote"), &state, Some(board_room::Path::Relayed));
    node.exchange(&home);
    let people = signals.people.get_untracked();
    let names: Vec<String> = people.iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, vec!["Ann Tester".to_owned(), "Bo Remote".to_owned()]);
    assert_eq!(people[1].path, Some(board_room::Path::Relayed), "the node's path to them is shown");
    let cursors = signals.cursors.get_untracked();
    assert_eq!(cursors.len(), 1);
    assert_eq!((cursors[0].x, cursors[0].y, cursors[0].name.as_str()), (12.0, 34.0, "Bo Remote"));
    let view = super::card_signal(dragged).expect("card").get_untracked();
    assert_eq!((view.x, view.y), (500.0, 600.0), "a live drag moves the card here");
    assert_eq!(view.remote_selected.as_deref(), Some("#aa3366"));
    // They leave: the card goes back to where the board has it, and they are gone.
    node.session.relay_left(42);
    node.exchange(&home);
    assert_eq!(signals.people.get_untracked().len(), 1);
    assert!(signals.cursors.get_untracked().is_empty());
    let view = super::card_signal(dragged).expect("card").get_untracked();
    assert_eq!((view.x, view.y, view.remote_selected), (200.0, 10.0, None));
    close();
}

#[test]
fn this_users_presence_goes_out_on_every_link() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let mut node = Node::attach(&home);
    node.exchange(&home);
    with(|e| e.set_cursor(Some(Point { x: 3.0, y: 4.0 })));
    node.exchange(&home);
    let seen: Vec<session::Event> = std::iter::from_fn(|| node.session.poll_event()).collect();
    assert!(
        seen.iter().any(|event| matches!(event,
            session::Event::Presence { state, .. } if state.cursor == Some(Point { x: 3.0, y: 4.0 }))),
        "{seen:?}"
    );
    close();
}

#[test]
fn working_offline_says_goodbye_and_tells_the_transport() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    with(|e| e.on_net(NetEvent::Room(Input::Joined { me: "a".into(), peers: vec!["b".into()] })));
    assert!(home.net.borrow().outputs.iter().any(|o| matches!(o, Output::Connect { .. })), "a offers to b");
    with(|e| e.set_offline(true));
    assert_eq!(home.net.borrow().offline, Some(true));
    assert!(signals.working_offline.get_untracked());
    assert!(
        home.net.borrow().outputs.iter().any(|o| matches!(o, Output::Close { .. })),
        "the attempt is closed"
    );
    with(|e| e.on_net(NetEvent::Room(Input::PeerJoined { peer: "c".into() })));
    let connects = home.net.borrow().outputs.iter().filter(|o| matches!(o, Output::Connect { .. })).count();
    assert_eq!(connects, 1, "no new connections while offline");
    assert_eq!(signals.status.get_untracked(), Status::Online { peers: 0 });
    close();
}

#[test]
fn an_image_a_peer_says_is_svg_is_shown_as_what_its_bytes_are() {
    use board_model::{ImageRef, blob};
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let mut node = Node::attach(&home);
    node.exchange(&home);
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(localStorage.length)</script></svg>"#;
    let hash = blob::insert(&mut node.blobs, svg.to_vec()).expect("blob");
    let image = ImageRef {
        hash,
        media_type: "image/svg+xml".into(),
        natural_width: 10,
        natural_height: 10,
        file_name: "cat.svg".into(),
    };
    let id = CardId::from_random_bytes([20; 16]);
    node.board.add_card(NewCard { content: Content::Image(image), ..note(20, "", 0.0) }).expect("card");
    node.exchange(&home);
    settle();
    node.exchange(&home);
    let src = super::card_signal(id)
        .and_then(|s| s.with_untracked(|v| v.image.as_ref().and_then(|i| i.src.clone())));
    let src = src.expect("the image arrived and is shown");
    assert!(src.contains("application/octet-stream") && !src.contains("svg"), "shown as {src}");
    close();
}

#[test]
fn edges_are_drawn_while_both_cards_exist_and_find_takes_the_user_to_matches() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let (one, two, three) = (
        CardId::from_random_bytes([1; 16]),
        CardId::from_random_bytes([2; 16]),
        CardId::from_random_bytes([3; 16]),
    );
    let edge = with(|e| e.connect(one, Some(board_model::Side::Right), two)).flatten().expect("an edge");
    assert_eq!(signals.edges.get_untracked().len(), 1);
    assert_eq!(signals.selected_edge.get_untracked(), Some(edge), "a new edge is selected");
    with(|e| e.set_edge_label(edge, "leads to three"));
    with(|e| {
        e.select_only(Some(two));
        e.delete_selection();
    });
    assert!(signals.edges.get_untracked().is_empty(), "an edge without its card is not drawn");
    assert_eq!(signals.selected_edge.get_untracked(), None);
    with(|e| e.undo());
    let edges = signals.edges.get_untracked();
    assert_eq!(edges.len(), 1, "undoing the delete brings the edge back");
    assert!(edges[0].epoch > 0, "drawn again from the card's new signal");
    // Find: notes and edge labels, in reading order (the edge between
    // cards 1 and 2 starts left of card 3, on the same line).
    let found = with(|e| e.find("THREE")).expect("open");
    let kinds: Vec<super::Found> = found.iter().map(|(found, _)| *found).collect();
    assert_eq!(kinds, vec![super::Found::Edge(edge), super::Found::Card(three)]);
    assert!(with(|e| e.find("  ")).expect("open").is_empty());
    close();
}

#[test]
fn a_group_moves_with_the_cards_inside_it_in_one_step() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let (one, two) = (CardId::from_random_bytes([1; 16]), CardId::from_random_bytes([2; 16]));
    let group = with(|e| {
        e.select_only(Some(one));
        e.toggle_selected(two);
        e.group_selection()
    })
    .flatten()
    .expect("a group");
    let members = with(|e| e.board.members_of(group)).expect("open");
    assert_eq!(members.len(), 2, "the group frames the selection: {members:?}");
    let before = with(|e| e.board.card(one).map(|c| c.position)).flatten().expect("card");
    with(|e| {
        e.select_only(Some(group));
        e.begin_drag();
        e.drag_by(30.0, 40.0, Point { x: 0.0, y: 0.0 });
        e.end_drag();
    });
    let after = with(|e| e.board.card(one).map(|c| c.position)).flatten().expect("card");
    assert_eq!(after, Point { x: before.x + 30.0, y: before.y + 40.0 });
    with(|e| e.undo());
    let undone = with(|e| e.board.card(one).map(|c| c.position)).flatten().expect("card");
    assert_eq!(undone, before, "one undo step puts the group and its cards back");
    close();
}

#[test]
fn a_pinned_board_is_a_board_card_holding_its_link_and_a_board_is_never_pinned_on_itself() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let other = ShareLink { board: uuid::Uuid::from_bytes([9; 16]), key: BoardKey([4; 32]) };
    let pinned = with(|e| e.pin_board(Point { x: 0.0, y: 0.0 }, &other)).flatten().expect("pinned");
    let card = with(|e| e.board.card(pinned)).flatten().expect("card");
    assert_eq!(card.content, Content::Board { link: other.to_app_link() });
    let own = with(|e| e.link.clone()).expect("open");
    assert_eq!(with(|e| e.pin_board(Point { x: 0.0, y: 0.0 }, &own)).flatten(), None);
    assert_eq!(with(|e| e.board.card_count()), Some(4), "the test board's three cards, and the pinned one");
    close();
}

#[test]
fn exports_are_made_from_the_open_board_in_every_format() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let file = |format| with(|e| e.export(format, false)).expect("open").expect("export");
    let svg = file(ExportFormat::Svg);
    assert!(svg.name.ends_with(".svg") && svg.media_type == "image/svg+xml");
    assert!(matches!(&svg.body, ExportBody::Bytes(bytes) if bytes.starts_with(b"<svg")));
    assert!(matches!(file(ExportFormat::Png).body, ExportBody::Png(svg) if svg.starts_with("<svg")));
    let ExportBody::Zip(canvas) = file(ExportFormat::CanvasZip).body else { panic!("a zip") };
    assert!(canvas.iter().any(|entry| entry.name == "board.canvas"));
    let ExportBody::Zip(backup) = file(ExportFormat::Backup).body else { panic!("a zip") };
    let replica = board_model::ReplicaId(77);
    let read = board_archive::backup::from_entries(backup, replica).expect("a backup of the board");
    assert_eq!(read.board.card_count(), with(|e| e.board.card_count()).expect("open"));
    close();
}

#[test]
fn the_history_view_shows_past_steps_read_only_and_restores_one_as_a_new_change() {
    let home = TestHome::new();
    let signals = BoardSignals::new();
    opened(&home, signals);
    let two = CardId::from_random_bytes([2; 16]);
    with(|e| {
        e.board.set_clock(1_796_634_000_000);
        e.select_only(Some(two));
        e.delete_selection();
    });
    assert_eq!(ids(signals).len(), 2);
    with(Engine::open_history);
    let view = signals.history.get_untracked().expect("the history view is open");
    assert_eq!(view.step, view.steps);
    assert!(view.sessions.iter().any(|s| s.authors == ["Ann Tester"]), "{:?}", view.sessions);

    // One step back: the deleted card is drawn again; nothing can be edited.
    with(|e| e.show_step(view.steps - 1));
    assert_eq!(ids(signals).len(), 3);
    let version = with(|e| e.board.version()).expect("open");
    with(|e| e.add_note(Point { x: 0.0, y: 0.0 }, "not now"));
    assert_eq!(with(|e| e.board.version()), Some(version), "the past is read-only");
    with(|e| e.show_step(0));
    assert!(ids(signals).is_empty(), "before the first change");
    // Idle time prepares the viewer (nothing to cut on a past this short);
    // a tick right after the slider moved waits.
    assert_eq!(with(Engine::prepare_history_piece), Some(true), "the slider just moved");
    while with(Engine::prepare_history_piece) == Some(true) {}
    assert!(signals.history_ready.get_untracked());

    // Back to now, then restore the step before the delete.
    with(Engine::close_history);
    assert_eq!(ids(signals).len(), 2);
    with(Engine::open_history);
    with(|e| {
        e.show_step(view.steps - 1);
        e.restore_shown();
    });
    assert!(signals.history.get_untracked().is_none(), "restoring closes the history");
    assert_eq!(ids(signals).len(), 3, "the card is back");
    assert!(with(|e| e.board.contains(two)).unwrap_or(false));
    close();
}
