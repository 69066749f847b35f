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
//! (others' presence → signals), [`images`], [`files`] (export and import
//! of canvases, pictures and backups), [`network`] (room ↔ transport) and
//! [`persist`] (saving).

#[cfg(test)]
mod bench;
mod clipboard;
mod edges;
mod edit;
mod files;
mod find;
mod history;
mod images;
mod navigate;
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
use crate::view_model::{BoardSignals, CardView, EdgeView, Region};

pub use edit::NewImage;
pub use files::plural;
pub use files::{
    ExportBody, ExportFile, ExportFormat, import_board_file, import_board_file_as_new, is_board_file,
};
pub use find::Found;
pub use history::{copy_shown_to_new_board, open_history_view, prepare_history_when_idle};
pub use navigate::Direction;

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
    /// How often each card's signal was made anew (see `EdgeView::epoch`).
    card_epochs: HashMap<CardId, u64>,
    selection: HashSet<CardId>,
    /// Positions of cards being dragged here, not yet committed.
    drag: Option<selection::Drag>,
    text_editing: Option<CardId>,
    /// What this device shows others of itself.
    local_presence: presence::State,
    people: people::People,
    images: images::Images,
    persist: persist::Persist,
    /// The history view, while it is open.
    viewing: Option<history::Viewing>,
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

/// The edges of `edges` that are drawn for `region`: those whose two
/// cards' bounds together meet it (an edge across the view between two
/// cards outside it is drawn).
pub fn edges_drawn_in(edges: &[EdgeView], region: &Region) -> Vec<EdgeView> {
    let bounds = |e: &Engine, id: CardId| {
        e.cards.get(&id).map(|s| s.with_untracked(|v| (v.x, v.y, v.x + v.w, v.y + v.h)))
    };
    with(|e| {
        edges
            .iter()
            .filter(|edge| match (bounds(e, edge.from), bounds(e, edge.to)) {
                (Some(a), Some(b)) => {
                    let (left, top) = (a.0.min(b.0), a.1.min(b.1));
                    region.meets(left, top, a.2.max(b.2) - left, a.3.max(b.3) - top)
                }
                _ => false,
            })
            .cloned()
            .collect()
    })
    .unwrap_or_default()
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
/// A link whose key is not the stored board's does not open (the view
/// says why); a saved copy that cannot be read opens read-only.
pub async fn open(
    platform: Platform,
    link: ShareLink,
    signals: BoardSignals,
    profile: Profile,
    create_title: Option<String>,
) {
    close();
    let listed = platform.library.entry(link.board).await;
    if let Ok(Some(entry)) = &listed
        && !same_key(entry, &link)
    {
        signals.refused.set(Some(WRONG_KEY.into()));
        return;
    }
    let (stored, mut read_only) = match (&platform.store, &listed) {
        (_, Err(error)) => (StoredBoard::default(), Some(error.to_string())),
        (Some(store), Ok(_)) => match store.load(link.board).await {
            Ok(stored) => (stored, None),
            Err(error) => (StoredBoard::default(), Some(error.to_string())),
        },
        // The embedded node holds the board; it arrives over the link.
        (None, Ok(_)) => (StoredBoard::default(), None),
    };
    let replica = fresh_replica(&platform);
    let (mut board, damage) = board_from(&stored, &link, replica, create_title.as_deref());
    read_only = read_only.or(damage);
    let now = platform.clock.now_ms();
    board.set_clock(i64::try_from(now).unwrap_or(0));
    board.set_author(&profile.name);
    let listed = listed.ok().flatten();
    let entry = BoardEntry {
        board: link.board.hyphenated().to_string(),
        key: link.key_text(),
        title: board.title(),
        created_ms: listed.as_ref().map_or(now, |e| e.created_ms),
        last_opened_ms: now,
        card_count: board.card_count(),
    };
    if read_only.is_none()
        && let Err(error) = platform.library.put_entry(&entry).await
    {
        notify::error(&error.to_string());
    }
    let read_only = read_only.map(|why| format!("{READ_ONLY}: {why}."));
    if let Some(message) = &read_only {
        notify::error(message);
        signals.read_only.set(Some(message.clone()));
    }
    let needs_snapshot = stored.snapshot.is_none() && platform.store.is_some() && read_only.is_none();
    let identity = Identity { name: profile.name.clone(), color: profile.color.clone() };
    let room = Room::new(Config::new(link.clone(), replica.0, identity, random_bytes(&*platform.clock)));
    let mut engine = Engine {
        images: images::Images::default(),
        persist: persist::Persist::new(board.version(), &entry, read_only),
        platform,
        link,
        board,
        blobs: MemoryStore::new(),
        room,
        transport: None,
        signals,
        profile,
        cards: HashMap::new(),
        card_epochs: HashMap::new(),
        selection: HashSet::new(),
        drag: None,
        text_editing: None,
        local_presence: presence::State::default(),
        people: people::People::default(),
        viewing: None,
    };
    engine.rebuild_view();
    let missing = engine.board.referenced_blobs();
    let board_id = engine.link.board;
    ENGINE.with(|cell| *cell.borrow_mut() = Some(engine));
    if needs_snapshot {
        with(Engine::save_everything);
    }
    files::bring_pending(board_id).await;
    signals.loaded.set(true);
    images::load_blobs(missing).await;
    with(|e| {
        e.refresh_people();
        e.start_network();
    });
}

/// Shown instead of a board opened with a link whose key is not the key
/// stored for that board id.
pub const WRONG_KEY: &str = "This link does not open the board saved here: it has the board's id but \
    another key (a mistyped link, or someone else's board claiming this one's id). The saved board \
    and its key were left as they are.";

/// The start of the message on a board that opened read-only.
pub const READ_ONLY: &str = "The saved copy of this board could not be read, so it is open read-only and nothing will be written over it; reload to try again";

/// Whether the listed board has the link's key (an entry whose key does not
/// parse counts as another key: it is never silently replaced).
fn same_key(entry: &BoardEntry, link: &ShareLink) -> bool {
    ShareLink::from_parts(&entry.board, &entry.key).is_ok_and(|stored| stored.key == link.key)
}

/// The board as stored (snapshot, then updates), a new one, or an empty
/// replica; and what of the stored copy could not be read, if anything.
fn board_from(
    stored: &StoredBoard,
    link: &ShareLink,
    replica: ReplicaId,
    create_title: Option<&str>,
) -> (Board, Option<String>) {
    let mut damage = None;
    let mut board = match (&stored.snapshot, create_title) {
        (Some(snapshot), _) => Board::load(snapshot, replica).unwrap_or_else(|error| {
            damage = Some(format!("the snapshot is damaged ({error})"));
            empty_board(replica)
        }),
        (None, Some(title)) => {
            Board::create(BoardId(link.board), title, replica).unwrap_or_else(|_| empty_board(replica))
        }
        (None, None) => empty_board(replica),
    };
    for (seq, update) in &stored.updates {
        if let Err(error) = board.import(update) {
            damage.get_or_insert_with(|| format!("saved update {seq} is damaged ({error})"));
        }
    }
    board.take_changes();
    (board, damage)
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

    /// Whether the user may change the board; when read-only, says so.
    fn writable(&self) -> bool {
        if self.viewing_history() {
            notify::error("This is the board's past: close the history to edit, or restore this version.");
            return false;
        }
        if self.read_only().is_none() {
            return true;
        }
        notify::error(
            "This board is open read-only (its saved copy could not be read): nothing was changed.",
        );
        false
    }

    fn report(&self, result: Result<(), board_model::Error>) {
        if let Err(error) = result {
            notify::error(&error.to_string());
        }
    }
}
