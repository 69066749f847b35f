//! The open board's engine: owns the [`Board`], its images, the board's
//! [`Room`] of peers and the view's per-card signals; applies the user's
//! operations to the board; turns the board's change events into exactly
//! the signal updates the view needs; hands the room what its transport
//! reports and the transport what the room asks. It knows the world only
//! through [`Platform`]: no `web_sys`, no home of its own, so it runs on the
//! host under `cargo test` with the in-memory platform.
//!
//! One board is open per page; the engine lives in a thread-local
//! ([`with`]) so DOM callbacks and transports reach it without references
//! into the view. Submodules split it by concern:
//! [`view_sync`] (board → signals), [`edit`] (operations), [`selection`]
//! (selection, drags, resizes, own presence), [`clipboard`], [`people`]
//! (others' presence → signals), [`images`], [`network`] (room ↔ transport)
//! and [`persist`] (saving).

mod clipboard;
mod edit;
mod images;
mod network;
mod people;
mod persist;
mod selection;
#[cfg(test)]
mod tests;
mod view_sync;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};

use board_key::link::ShareLink;
use board_model::blob::MemoryStore;
use board_model::presence::{self, Identity};
use board_model::{Board, BoardId, CardId, ReplicaId};
use board_room::{Config, Room};
use desktop_wire::BoardEntry;
use leptos::prelude::*;

use crate::notify;
use crate::platform::{NetEvent, NetSink, Platform, StoredBoard, Transport, random_bytes};
use crate::profile::Profile;
use crate::view_model::{BoardSignals, CardView};

pub use edit::NewImage;

pub struct Engine {
    platform: Platform,
    link: ShareLink,
    board: Board,
    blobs: MemoryStore,
    room: Room,
    /// Once the network was started.
    transport: Option<Box<dyn Transport>>,
    signals: BoardSignals,
    profile: Profile,
    cards: HashMap<CardId, ArcRwSignal<CardView>>,
    selection: HashSet<CardId>,
    /// Positions of cards being dragged here, not yet committed.
    drag: Option<selection::Drag>,
    text_editing: Option<CardId>,
    /// What this device shows others of itself.
    local_presence: presence::State,
    people: people::People,
    images: images::Images,
    persist: persist::Persist,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("board", &self.link.board)
            .field("cards", &self.cards.len())
            .finish_non_exhaustive()
    }
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// Transport events that arrived while the engine was busy.
    static PENDING: RefCell<VecDeque<NetEvent>> = const { RefCell::new(VecDeque::new()) };
}

/// Runs `f` with the open board's engine, if a board is open. Never
/// re-entrant: a call while the engine is busy gets `None` (transport
/// events are kept instead and handled when it is free).
pub fn with<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
    let result = ENGINE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut engine) => engine.as_mut().map(f),
        Err(_) => {
            crate::log::warn("engine busy; call dropped");
            None
        }
    });
    drain_pending();
    result
}

fn drain_pending() {
    loop {
        let Some(event) = PENDING.with(|pending| pending.borrow_mut().pop_front()) else { return };
        let handled = ENGINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut engine) => {
                if let Some(engine) = engine.as_mut() {
                    engine.on_net(event);
                }
                true
            }
            Err(_) => {
                PENDING.with(|pending| pending.borrow_mut().push_front(event));
                false
            }
        });
        if !handled {
            return;
        }
    }
}

/// Where the open board's transport sends what happens.
fn sink() -> NetSink {
    std::rc::Rc::new(|event: NetEvent| {
        PENDING.with(|pending| pending.borrow_mut().push_back(event));
        drain_pending();
    })
}

/// The signal of one card, for the view.
pub fn card_signal(id: CardId) -> Option<ArcRwSignal<CardView>> {
    with(|e| e.cards.get(&id).cloned()).flatten()
}

/// Closes the open board (when leaving its view): goodbyes to its peers,
/// then every connection closed.
pub fn close() {
    with(|engine| engine.shut_down("the board was closed"));
    let engine = ENGINE.with(|cell| cell.try_borrow_mut().ok().and_then(|mut e| e.take()));
    if let Some(mut engine) = engine {
        if let Some(transport) = engine.transport.as_mut() {
            transport.stop();
        }
        engine.images.release_all(&*engine.platform.shell);
    }
    PENDING.with(|pending| pending.borrow_mut().clear());
}

/// Opens a board from this page's store (or empty, for peers to fill) and
/// starts syncing. `create_title` makes a new board when none is stored.
pub async fn open(
    platform: Platform,
    link: ShareLink,
    signals: BoardSignals,
    profile: Profile,
    create_title: Option<String>,
) {
    close();
    let stored = match &platform.store {
        Some(store) => store.load(link.board).await.unwrap_or_else(|error| {
            notify::error(&error.to_string());
            StoredBoard::default()
        }),
        // The embedded node holds the board; it arrives over the link.
        None => StoredBoard::default(),
    };
    let replica = fresh_replica(&platform);
    let (board, next_seq) = board_from(&stored, &link, replica, create_title.as_deref());
    let now = platform.clock.now_ms();
    let listed = platform.library.entry(link.board).await.ok().flatten();
    let entry = BoardEntry {
        board: link.board.hyphenated().to_string(),
        key: link.key_text(),
        title: board.title(),
        created_ms: listed.as_ref().map_or(now, |e| e.created_ms),
        last_opened_ms: now,
        card_count: board.card_count(),
    };
    if let Err(error) = platform.library.put_entry(&entry).await {
        notify::error(&error.to_string());
    }
    let needs_snapshot = stored.snapshot.is_none() && platform.store.is_some();
    let identity = Identity { name: profile.name.clone(), color: profile.color.clone() };
    let room = Room::new(Config::new(link.clone(), replica.0, identity, random_bytes(&*platform.clock)));
    let mut engine = Engine {
        images: images::Images::default(),
        persist: persist::Persist::new(next_seq, board.version(), &entry),
        platform,
        link,
        board,
        blobs: MemoryStore::new(),
        room,
        transport: None,
        signals,
        profile,
        cards: HashMap::new(),
        selection: HashSet::new(),
        drag: None,
        text_editing: None,
        local_presence: presence::State::default(),
        people: people::People::default(),
    };
    engine.rebuild_view();
    let missing = engine.board.referenced_blobs();
    ENGINE.with(|cell| *cell.borrow_mut() = Some(engine));
    if needs_snapshot {
        with(Engine::save_everything);
    }
    signals.loaded.set(true);
    images::load_blobs(missing).await;
    with(|e| {
        e.refresh_people();
        e.start_network();
    });
}

/// The board as stored (snapshot, then updates), a new one, or an empty
/// replica; and the next update's sequence number.
fn board_from(
    stored: &StoredBoard,
    link: &ShareLink,
    replica: ReplicaId,
    create_title: Option<&str>,
) -> (Board, u64) {
    let mut board = match (&stored.snapshot, create_title) {
        (Some(snapshot), _) => Board::load(snapshot, replica).unwrap_or_else(|error| {
            notify::error(&format!(
                "The saved copy of this board is damaged ({error}); it will be fetched from peers."
            ));
            empty_board(replica)
        }),
        (None, Some(title)) => {
            Board::create(BoardId(link.board), title, replica).unwrap_or_else(|_| empty_board(replica))
        }
        (None, None) => empty_board(replica),
    };
    let mut next_seq = 1;
    for (seq, update) in &stored.updates {
        if let Err(error) = board.import(update) {
            crate::log::warn(&format!("skipped a damaged saved update: {error}"));
        }
        next_seq = next_seq.max(seq + 1);
    }
    board.take_changes();
    (board, next_seq)
}

fn empty_board(replica: ReplicaId) -> Board {
    // ok: an empty document always builds (only a Loro bug could fail here).
    Board::empty(replica).unwrap_or_else(|_| Board::empty(ReplicaId(1)).expect("empty board"))
}

/// A replica id, fresh every time a board is opened (Loro reserves `u64::MAX`).
fn fresh_replica(platform: &Platform) -> ReplicaId {
    ReplicaId(u64::from_le_bytes(random_bytes(&*platform.clock)) % (u64::MAX - 1))
}

impl Engine {
    pub fn board(&self) -> &Board {
        &self.board
    }

    pub fn link(&self) -> &ShareLink {
        &self.link
    }

    pub fn identity(&self) -> Identity {
        Identity { name: self.profile.name.clone(), color: self.profile.color.clone() }
    }

    fn now(&self) -> u64 {
        self.platform.clock.now_ms()
    }

    fn report(&self, result: Result<(), board_model::Error>) {
        if let Err(error) = result {
            notify::error(&error.to_string());
        }
    }
}
