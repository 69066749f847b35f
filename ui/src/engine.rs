//! The open board's engine: owns the [`Board`], its image blobs, presence
//! and the peer mesh, applies the user's operations, and turns the board's
//! change events into exactly the signal updates the view needs. One board
//! is open per tab; the engine lives in a thread-local so DOM and network
//! callbacks can reach it without holding references into the view.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use board_key::link::ShareLink;
use board_model::blob::{self, Hash, MemoryStore};
use board_model::presence::{self, Identity};
use board_model::{Board, BoardId, CardId, Color, Content, Event, ImageRef, Kind, NewCard, Point, Size};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::net::Mesh;
use crate::notify;
use crate::platform;
use crate::profile::Profile;
use crate::storage;
use crate::view_model::{BoardSignals, CardEntry, CardView, CursorView, Person};

/// Updates appended before the board is compacted into one snapshot.
const COMPACT_AFTER: u64 = 200;
/// Offset of pasted or duplicated cards from their originals.
const PASTE_OFFSET: f64 = 24.0;

pub struct Engine {
    pub link: ShareLink,
    pub board: Board,
    pub blobs: MemoryStore,
    pub signals: BoardSignals,
    pub profile: Profile,
    pub mesh: Mesh,
    /// In the desktop app: the link to the embedded native peer (then the mesh stays idle).
    pub desktop: Option<crate::desktop::Link>,
    cards: HashMap<CardId, ArcRwSignal<CardView>>,
    selection: HashSet<CardId>,
    /// Positions of cards being dragged here, not yet committed.
    drag: Option<Drag>,
    presence: presence::Store,
    identities: HashMap<u64, Identity>,
    /// Cards others are dragging: (peer, position).
    remote_drags: HashMap<CardId, (u64, Point)>,
    remote_selections: HashMap<u64, Vec<CardId>>,
    object_urls: HashMap<Hash, String>,
    local_presence: presence::State,
    persist: Persist,
    text_editing: Option<CardId>,
}

struct Drag {
    start: Vec<(CardId, Point)>,
    current: Vec<(CardId, Point)>,
}

#[derive(Default)]
struct Persist {
    saved: Option<board_model::Version>,
    next_seq: u64,
    since_compaction: u64,
    saving: bool,
    /// The board's title and size when the home list was last told.
    listed: (String, usize),
    /// When the board was first kept here (for the home list).
    created_ms: u64,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// Runs `f` with the open board's engine, if a board is open. Never
/// re-entrant: a callback arriving while the engine is busy is dropped with
/// a console warning rather than a panic.
pub fn with<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
    ENGINE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut engine) => engine.as_mut().map(f),
        Err(_) => {
            web_sys::console::warn_1(&"corkboard: engine busy; event dropped".into());
            None
        }
    })
}

/// The signal of one card, for the view.
pub fn card_signal(id: CardId) -> Option<ArcRwSignal<CardView>> {
    with(|e| e.cards.get(&id).cloned()).flatten()
}

/// Closes the open board (when leaving its view).
pub fn close() {
    let engine = ENGINE.with(|cell| cell.try_borrow_mut().ok().and_then(|mut e| e.take()));
    if let Some(mut engine) = engine {
        match engine.desktop.as_mut() {
            Some(link) => link.stop(),
            None => engine.mesh.stop(&engine.board, &engine.blobs),
        }
        for url in engine.object_urls.values() {
            let _ = web_sys::Url::revoke_object_url(url);
        }
    }
}

/// Opens a board from IndexedDB (or joins it empty when new here) and starts syncing.
pub async fn open(link: ShareLink, signals: BoardSignals, create_title: Option<String>) {
    close();
    let board_id = link.board.hyphenated().to_string();
    let stored = match storage::load_board(&board_id).await {
        Ok(stored) => stored,
        Err(error) => {
            notify::error(&error.to_string());
            storage::StoredBoard::default()
        }
    };
    let replica = platform::fresh_replica();
    let mut next_seq = 1;
    let mut board = match &stored.snapshot {
        Some(snapshot) => match Board::load(snapshot, replica) {
            Ok(board) => board,
            Err(error) => {
                notify::error(&format!(
                    "The saved copy of this board is damaged ({error}); it will be fetched from peers."
                ));
                empty_board(replica)
            }
        },
        None => match &create_title {
            Some(title) => {
                Board::create(BoardId(link.board), title, replica).unwrap_or_else(|_| empty_board(replica))
            }
            None => empty_board(replica),
        },
    };
    for (seq, update) in &stored.updates {
        if let Err(error) = board.import(update) {
            web_sys::console::warn_1(&format!("corkboard: skipped a damaged saved update: {error}").into());
        }
        next_seq = next_seq.max(seq + 1);
    }
    board.take_changes();
    let profile = Profile::load();
    let entry = storage::get_board_entry(&board_id).await.ok().flatten();
    let now = platform::now_ms();
    let entry = storage::BoardEntry {
        board: board_id.clone(),
        key: key_text(&link),
        title: board.title(),
        created_ms: entry.as_ref().map(|e| e.created_ms).unwrap_or(now),
        last_opened_ms: now,
        card_count: board.card_count(),
    };
    if let Err(error) = storage::put_board_entry(&entry).await {
        notify::error(&error.to_string());
    }
    let needs_snapshot = stored.snapshot.is_none();
    let desktop = crate::desktop::active()
        .then(|| crate::desktop::Link::new(&board_id, &crate::home::fragment_of(&link), replica.0));
    let mut engine = Engine {
        mesh: Mesh::new(&link),
        desktop,
        link,
        board,
        blobs: MemoryStore::new(),
        signals,
        profile,
        cards: HashMap::new(),
        selection: HashSet::new(),
        drag: None,
        presence: presence::Store::new(),
        identities: HashMap::new(),
        remote_drags: HashMap::new(),
        remote_selections: HashMap::new(),
        object_urls: HashMap::new(),
        local_presence: presence::State::default(),
        persist: Persist { next_seq, ..Persist::default() },
        text_editing: None,
    };
    engine.persist.saved = Some(engine.board.version());
    engine.persist.listed = (entry.title.clone(), entry.card_count);
    engine.persist.created_ms = entry.created_ms;
    engine.rebuild_view();
    let missing = engine.board.referenced_blobs();
    ENGINE.with(|cell| *cell.borrow_mut() = Some(engine));
    if needs_snapshot {
        with(|e| e.persist.since_compaction = COMPACT_AFTER);
        schedule_save();
    }
    signals.loaded.set(true);
    mark_when_drawn("corkboard:board-drawn");
    load_blobs(missing).await;
    with(|e| {
        e.refresh_people();
        let offline = e.signals.working_offline.get_untracked();
        if !offline || e.desktop.is_some() {
            e.start_network();
        }
    });
}

/// Records a performance mark once the next frame is painted (for the
/// time-to-first-paint benchmark; visible in the browser's profiler).
fn mark_when_drawn(name: &'static str) {
    use wasm_bindgen::JsCast;
    let after_paint = wasm_bindgen::closure::Closure::once_into_js(move || {
        // The frame callback runs before paint; a zero-delay task after it runs once painted.
        platform::set_timeout(0, move || {
            if let Some(performance) = platform::window().and_then(|w| w.performance()) {
                let _ = performance.mark(name);
            }
        });
    });
    if let Some(window) = platform::window() {
        let _ = window.request_animation_frame(after_paint.unchecked_ref());
    }
}

fn empty_board(replica: board_model::ReplicaId) -> Board {
    // ok: an empty document always builds (only a Loro bug could fail here).
    Board::empty(replica).unwrap_or_else(|_| Board::empty(board_model::ReplicaId(1)).expect("empty board"))
}

fn key_text(link: &ShareLink) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(link.key.0)
}

/// Reads the board's images from IndexedDB into memory (verifying each).
async fn load_blobs(hashes: Vec<Hash>) {
    for hash in hashes {
        let here = with(|e| e.blobs.get(&hash).is_some()).unwrap_or(true);
        if here {
            continue;
        }
        match storage::get_blob(&hash.to_hex()).await {
            Ok(Some(bytes)) if Hash::of(&bytes) == hash => {
                with(|e| {
                    let _ = blob::Store::put_verified(&mut e.blobs, hash, bytes);
                    e.blob_arrived(hash);
                });
            }
            Ok(Some(_)) => {
                web_sys::console::warn_1(&"corkboard: a stored image was damaged; refetching".into())
            }
            Ok(None) => {}
            Err(error) => notify::error(&error.to_string()),
        }
    }
    with(Engine::want_blobs);
}

/// Writes what changed since the last save to IndexedDB (one writer at a time).
pub fn schedule_save() {
    with(Engine::request_save);
}

/// The single writer: appends updates (or compacts) until nothing is left.
async fn save_loop() {
    while let Some(Some(work)) = with(Engine::take_unsaved) {
        let result = match &work {
            SaveWork::Append { board, seq, bytes, .. } => storage::append_update(board, *seq, bytes).await,
            SaveWork::Compact { board, snapshot, up_to } => storage::compact(board, snapshot, *up_to).await,
        };
        if let Err(error) = result {
            notify::error(&error.to_string());
            // Nothing of this write is kept: the next save writes it again.
            if let SaveWork::Append { previous, .. } = work {
                with(|e| e.persist.saved = Some(previous));
            }
            break;
        }
        if let Some(entry) = with(Engine::home_entry_if_changed).flatten() {
            let _ = storage::put_board_entry(&entry).await;
        }
    }
    with(|e| {
        e.persist.saving = false;
        e.signals.saved.set(true);
    });
}

enum SaveWork {
    Append { board: String, seq: u64, bytes: Vec<u8>, previous: board_model::Version },
    Compact { board: String, snapshot: Vec<u8>, up_to: u64 },
}

/// What the clipboard carries for cards (as text, so it also works between tabs).
#[derive(Serialize, Deserialize)]
struct ClipboardCards {
    corkboard: u32,
    cards: Vec<ClipboardCard>,
}

#[derive(Serialize, Deserialize)]
struct ClipboardCard {
    kind: String,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    color: Option<String>,
    text: String,
    url: String,
    title: String,
    image: Option<(String, String, u32, u32, String)>,
}

impl Engine {
    /// Starts the writer unless it is running (it picks up whatever is new).
    /// Called from inside the engine: never through [`with`].
    fn request_save(&mut self) {
        self.signals.saved.set(false);
        if self.persist.saving {
            return;
        }
        self.persist.saving = true;
        leptos::task::spawn_local(save_loop());
    }

    fn take_unsaved(&mut self) -> Option<SaveWork> {
        let board = self.link.board.hyphenated().to_string();
        if self.persist.since_compaction >= COMPACT_AFTER {
            let up_to = self.persist.next_seq.saturating_sub(1);
            self.persist.since_compaction = 0;
            self.persist.saved = Some(self.board.version());
            return Some(SaveWork::Compact { board, snapshot: self.board.save(), up_to });
        }
        let saved = self.persist.saved.clone().unwrap_or_else(board_model::Version::empty);
        let now = self.board.version();
        if now == saved {
            return None;
        }
        let bytes = self.board.updates_since(&saved);
        self.persist.saved = Some(now);
        let seq = self.persist.next_seq;
        self.persist.next_seq += 1;
        self.persist.since_compaction += 1;
        Some(SaveWork::Append { board, seq, bytes, previous: saved })
    }

    fn home_entry_if_changed(&mut self) -> Option<storage::BoardEntry> {
        let now = (self.board.title(), self.board.card_count());
        if now == self.persist.listed {
            return None;
        }
        self.persist.listed = now.clone();
        Some(storage::BoardEntry {
            board: self.link.board.hyphenated().to_string(),
            key: key_text(&self.link),
            title: now.0,
            created_ms: self.persist.created_ms,
            last_opened_ms: platform::now_ms(),
            card_count: now.1,
        })
    }

    // ----- from the board to the view ---------------------------------------

    /// Builds every card signal from the board (on open).
    fn rebuild_view(&mut self) {
        self.cards.clear();
        let mut cards = self.board.cards();
        cards.sort_by_key(|c| c.z);
        let mut order = Vec::with_capacity(cards.len());
        for card in &cards {
            let mut view = CardView::from_card(card);
            self.decorate(&mut view);
            let signal = ArcRwSignal::new(view);
            self.cards.insert(card.id, signal.clone());
            order.push(CardEntry { id: card.id, signal });
        }
        self.signals.order.set(order);
        self.signals.title.set(self.board.title());
        self.signals.background.set(self.board.background().map(|c| crate::view_model::css_colour(&c)));
        self.refresh_undo();
    }

    /// Adds what the view keeps beside the document: selection, drags, image URLs.
    fn decorate(&self, view: &mut CardView) {
        view.selected = self.selection.contains(&view.id);
        if let Some(drag) = &self.drag
            && let Some((_, at)) = drag.current.iter().find(|(id, _)| *id == view.id)
        {
            view.x = at.x;
            view.y = at.y;
            view.dragging = true;
        }
        if let Some((peer, at)) = self.remote_drags.get(&view.id) {
            view.x = at.x;
            view.y = at.y;
            view.remote_drag = self.identities.get(peer).map(|i| i.color.clone());
        }
        view.remote_selected = self
            .remote_selections
            .iter()
            .find(|(_, ids)| ids.contains(&view.id))
            .and_then(|(peer, _)| self.identities.get(peer).map(|i| i.color.clone()));
        if let Some(image) = view.image.as_mut()
            && let Ok(hash) = Hash::from_hex(&image.hash)
        {
            image.src = self.object_urls.get(&hash).cloned();
            if image.src.is_none() {
                let progress = match &self.desktop {
                    Some(link) => link.progress(&hash),
                    None => self.mesh.progress(&hash),
                };
                image.progress = Some(progress.unwrap_or(0.0));
            }
        }
    }

    fn refresh_card(&mut self, id: CardId) {
        let Some(card) = self.board.card(id) else { return };
        let mut view = CardView::from_card(&card);
        self.decorate(&mut view);
        match self.cards.get(&id) {
            Some(signal) => {
                if signal.with_untracked(|old| *old != view) {
                    signal.set(view);
                }
            }
            None => {
                self.cards.insert(id, ArcRwSignal::new(view));
            }
        }
    }

    fn refresh_order(&mut self) {
        let mut cards: Vec<(usize, CardId)> = self.board.cards().iter().map(|c| (c.z, c.id)).collect();
        cards.sort();
        let order: Vec<CardEntry> = cards
            .into_iter()
            .filter_map(|(_, id)| self.cards.get(&id).map(|signal| CardEntry { id, signal: signal.clone() }))
            .collect();
        self.signals.order.set(order);
    }

    fn refresh_undo(&self) {
        self.signals.can_undo.set(self.board.can_undo());
        self.signals.can_redo.set(self.board.can_redo());
    }

    /// Applies the board's pending change events to the view, saves, and
    /// lets the peers know. Called after every local operation and import.
    pub fn after_change(&mut self) {
        let changes = self.board.take_changes();
        if changes.is_empty() {
            return;
        }
        let mut order = false;
        let mut refresh: Vec<CardId> = Vec::new();
        let mut blobs_changed = false;
        for change in &changes {
            for event in &change.events {
                match event {
                    Event::CardAdded(id) => {
                        order = true;
                        refresh.push(*id);
                        blobs_changed = true;
                    }
                    Event::CardChanged { id, .. } | Event::TextChanged { id, .. } => refresh.push(*id),
                    Event::CardRemoved(id) => {
                        order = true;
                        self.cards.remove(id);
                        if self.selection.remove(id) {
                            self.selection_changed();
                        }
                    }
                    Event::OrderChanged => order = true,
                    Event::MetaChanged => {
                        self.signals.title.set(self.board.title());
                        self.signals
                            .background
                            .set(self.board.background().map(|c| crate::view_model::css_colour(&c)));
                    }
                }
            }
        }
        refresh.sort();
        refresh.dedup();
        for id in refresh {
            if self.board.contains(id) {
                self.refresh_card(id);
            }
        }
        if order {
            self.refresh_order();
        }
        self.refresh_undo();
        self.request_save();
        if blobs_changed {
            self.want_blobs();
        }
        self.flush_network();
    }

    fn report(&self, result: Result<(), board_model::Error>) {
        if let Err(error) = result {
            notify::error(&error.to_string());
        }
    }

    // ----- cards ---------------------------------------------------------------

    fn new_card(&self, content: Content, at: Point, size: Option<Size>) -> NewCard {
        NewCard {
            id: CardId::from_random_bytes(platform::random_bytes()),
            position: at,
            size,
            color: None,
            content,
            created_by: self.profile.name.clone(),
            created_at: platform::now_ms() as i64,
        }
    }

    /// A new empty note centred on `at`; selected, and focused once drawn.
    pub fn add_note(&mut self, at: Point, text: &str) -> Option<CardId> {
        let size = Kind::Note.default_size();
        let corner = Point { x: at.x - size.width / 2.0, y: at.y - 24.0 };
        let card = self.new_card(Content::Note { text: text.to_owned() }, corner, None);
        let id = self.add_and_select(card)?;
        self.signals.focus_request.set(Some(id));
        Some(id)
    }

    /// Adds one card the user made and selects it; its id, or `None` (with a
    /// message) when the board refused it.
    fn add_and_select(&mut self, card: NewCard) -> Option<CardId> {
        let id = card.id;
        let result = self.board.add_card(card);
        let ok = result.is_ok();
        self.report(result);
        self.after_change();
        ok.then(|| {
            self.select_only(Some(id));
            id
        })
    }

    pub fn add_link(&mut self, at: Point, url: &str, title: &str) {
        let size = Kind::Link.default_size();
        let corner = Point { x: at.x - size.width / 2.0, y: at.y - size.height / 2.0 };
        let card =
            self.new_card(Content::Link { url: url.to_owned(), title: title.to_owned() }, corner, None);
        self.add_and_select(card);
    }

    /// Adds an image the user supplied (already checked to be an image).
    pub fn add_image(&mut self, image: crate::images::Image, at: Point) {
        let crate::images::Image { bytes, media_type, width, height, name } = image;
        let (dims, name) = ((width, height), name.as_str());
        let hash = match blob::insert(&mut self.blobs, bytes.clone()) {
            Ok(hash) => hash,
            Err(error) => {
                notify::error(&format!("“{name}” can't be added: {error}"));
                return;
            }
        };
        let hex = hash.to_hex();
        leptos::task::spawn_local(async move {
            if let Err(error) = storage::put_blob(&hex, &bytes).await {
                notify::error(&error.to_string());
            }
        });
        self.blob_arrived(hash);
        let (w, h) = (dims.0.max(1) as f64, dims.1.max(1) as f64);
        let scale = (320.0 / w).min(320.0 / h).min(1.0);
        let size = Size { width: (w * scale).max(48.0), height: (h * scale).max(48.0) };
        let corner = Point { x: at.x - size.width / 2.0, y: at.y - size.height / 2.0 };
        let image = ImageRef {
            hash,
            media_type: media_type.to_owned(),
            natural_width: dims.0,
            natural_height: dims.1,
            file_name: name.chars().take(board_model::card::limits::MAX_LABEL_CHARS).collect(),
        };
        let card = self.new_card(Content::Image(image), corner, Some(size));
        self.add_and_select(card);
    }

    /// A blob is now here: give its cards a picture.
    pub fn blob_arrived(&mut self, hash: Hash) {
        if !self.object_urls.contains_key(&hash)
            && let Some(bytes) = self.blobs.get(&hash)
        {
            let media_type = self
                .board
                .cards()
                .into_iter()
                .find_map(|c| match c.content {
                    Content::Image(image) if image.hash == hash => Some(image.media_type),
                    _ => None,
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            if let Some(url) = object_url(bytes, &media_type) {
                self.object_urls.insert(hash, url);
            }
        }
        self.refresh_image_cards(&hash);
    }

    pub fn refresh_image_cards(&mut self, hash: &Hash) {
        let ids: Vec<CardId> = self
            .cards
            .iter()
            .filter(|(_, s)| s.with_untracked(|v| v.image.as_ref().is_some_and(|i| i.hash == hash.to_hex())))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.refresh_card(id);
        }
    }

    pub fn set_text(&mut self, id: CardId, text: &str) {
        let result = self.board.set_text(id, text);
        self.report(result);
        self.after_change();
    }

    pub fn set_link(&mut self, id: CardId, url: &str, title: &str) {
        let result = self.board.set_link(id, url, title);
        self.report(result);
        self.after_change();
    }

    /// Typing in a note is one undo step per editing session.
    pub fn begin_text_edit(&mut self, id: CardId) {
        if self.text_editing != Some(id) {
            self.end_text_edit();
            let _ = self.board.begin_undo_group();
            self.text_editing = Some(id);
        }
    }

    pub fn end_text_edit(&mut self) {
        if self.text_editing.take().is_some() {
            self.board.end_undo_group();
        }
    }

    pub fn delete_selection(&mut self) {
        let ids: Vec<CardId> = self.selection.iter().copied().collect();
        if ids.is_empty() {
            return;
        }
        let result = self.board.delete_cards(&ids);
        self.report(result);
        self.after_change();
    }

    pub fn color_selection(&mut self, color: Option<Color>) {
        let ids: Vec<CardId> = self.selection.iter().copied().collect();
        if ids.is_empty() {
            return;
        }
        let result = self.board.set_color(&ids, color);
        self.report(result);
        self.after_change();
    }

    pub fn bring_to_front(&mut self, ids: &[CardId]) {
        if let Err(error) = self.board.bring_to_front(ids) {
            notify::error(&error.to_string());
        }
        self.after_change();
    }

    pub fn undo(&mut self) {
        self.end_text_edit();
        let result = self.board.undo().map(|_| ());
        self.report(result);
        self.after_change();
    }

    pub fn redo(&mut self) {
        self.end_text_edit();
        let result = self.board.redo().map(|_| ());
        self.report(result);
        self.after_change();
    }

    pub fn set_title(&mut self, title: &str) {
        let result = self.board.set_title(title);
        self.report(result);
        self.after_change();
    }

    pub fn set_background(&mut self, color: Option<Color>) {
        let result = self.board.set_background(color);
        self.report(result);
        self.after_change();
    }

    /// Moves the selection by a small step (arrow keys).
    pub fn nudge(&mut self, dx: f64, dy: f64) {
        let moves: Vec<(CardId, Point)> = self
            .selection
            .iter()
            .filter_map(|id| {
                self.board.card(*id).map(|c| (*id, Point { x: c.position.x + dx, y: c.position.y + dy }))
            })
            .collect();
        if moves.is_empty() {
            return;
        }
        let result = self.board.move_cards(&moves);
        self.report(result);
        self.after_change();
    }

    // ----- selection -------------------------------------------------------------

    pub fn selection(&self) -> Vec<CardId> {
        self.selection.iter().copied().collect()
    }

    pub fn is_selected(&self, id: CardId) -> bool {
        self.selection.contains(&id)
    }

    pub fn select_only(&mut self, id: Option<CardId>) {
        let new: HashSet<CardId> = id.into_iter().collect();
        self.set_selection(new);
    }

    pub fn toggle_selected(&mut self, id: CardId) {
        let mut new = self.selection.clone();
        if !new.remove(&id) {
            new.insert(id);
        }
        self.set_selection(new);
    }

    pub fn select_all(&mut self) {
        let all: HashSet<CardId> = self.cards.keys().copied().collect();
        self.set_selection(all);
    }

    pub fn set_selection(&mut self, new: HashSet<CardId>) {
        if new == self.selection {
            return;
        }
        let changed: Vec<CardId> = new.symmetric_difference(&self.selection).copied().collect();
        self.selection = new;
        for id in changed {
            if let Some(signal) = self.cards.get(&id) {
                let selected = self.selection.contains(&id);
                signal.update(|v| v.selected = selected);
            }
        }
        self.selection_changed();
    }

    fn selection_changed(&mut self) {
        self.signals.selection_count.set(self.selection.len());
        let mut selection: Vec<CardId> = self.selection.iter().copied().collect();
        selection.truncate(presence::MAX_LISTED_CARDS);
        self.local_presence.selection = selection;
        self.send_presence();
    }

    /// Cards whose bounds intersect a board rectangle (marquee).
    pub fn cards_in(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> HashSet<CardId> {
        let (left, right) = (x0.min(x1), x0.max(x1));
        let (top, bottom) = (y0.min(y1), y0.max(y1));
        self.cards
            .iter()
            .filter(|(_, s)| {
                s.with_untracked(|v| v.x < right && v.x + v.w > left && v.y < bottom && v.y + v.h > top)
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// The bounding box of every card (for zoom to fit).
    pub fn bounds(&self) -> Option<(f64, f64, f64, f64)> {
        let mut bounds: Option<(f64, f64, f64, f64)> = None;
        for signal in self.cards.values() {
            signal.with_untracked(|v| {
                let b = bounds.get_or_insert((v.x, v.y, v.x + v.w, v.y + v.h));
                *b = (b.0.min(v.x), b.1.min(v.y), b.2.max(v.x + v.w), b.3.max(v.y + v.h));
            });
        }
        bounds
    }

    // ----- dragging and resizing ---------------------------------------------------

    /// Starts dragging the selection: brings it to the front.
    pub fn begin_drag(&mut self) {
        let ids: Vec<CardId> = self.selection.iter().copied().collect();
        let start: Vec<(CardId, Point)> =
            ids.iter().filter_map(|id| self.board.card(*id).map(|c| (*id, c.position))).collect();
        self.drag = Some(Drag { current: start.clone(), start });
        if !ids.is_empty() {
            self.bring_to_front(&ids);
        }
    }

    /// Moves the dragged cards by (dx, dy) board units from where they started:
    /// only their signals change, and peers see it as presence.
    pub fn drag_by(&mut self, dx: f64, dy: f64, cursor: Point) {
        self.local_presence.cursor = Some(cursor);
        let Some(drag) = self.drag.as_mut() else { return };
        drag.current = drag.start.iter().map(|(id, p)| (*id, Point { x: p.x + dx, y: p.y + dy })).collect();
        for (id, at) in &drag.current {
            if let Some(signal) = self.cards.get(id) {
                signal.update(|v| {
                    v.x = at.x;
                    v.y = at.y;
                    v.dragging = true;
                });
            }
        }
        let mut dragging = drag.current.clone();
        dragging.truncate(presence::MAX_LISTED_CARDS);
        self.local_presence.dragging = dragging;
        self.send_presence();
    }

    /// Ends a drag: one commit for all moved cards.
    pub fn end_drag(&mut self) {
        let Some(drag) = self.drag.take() else { return };
        self.local_presence.dragging.clear();
        let moved = drag.current.iter().zip(&drag.start).any(|(a, b)| a.1 != b.1);
        if moved {
            let result = self.board.move_cards(&drag.current);
            self.report(result);
        }
        self.after_change();
        for (id, _) in &drag.current {
            self.refresh_card(*id);
        }
        self.send_presence();
    }

    /// Shows a card at a new size while its handle is dragged.
    pub fn preview_size(&mut self, id: CardId, size: Size) {
        if let Some(signal) = self.cards.get(&id) {
            signal.update(|v| {
                v.w = size.width;
                v.h = size.height;
            });
        }
    }

    pub fn commit_size(&mut self, id: CardId, size: Size) {
        let result = self.board.resize_card(id, size).map(|_| ());
        self.report(result);
        self.after_change();
        self.refresh_card(id);
    }

    // ----- clipboard ----------------------------------------------------------------

    /// The selection as clipboard text.
    pub fn copy_selection(&self) -> Option<String> {
        let cards: Vec<ClipboardCard> = self
            .selection
            .iter()
            .filter_map(|id| self.board.card(*id))
            .map(|card| {
                let (text, url, title, image) = match &card.content {
                    Content::Note { text } => (text.clone(), String::new(), String::new(), None),
                    Content::Link { url, title } => (String::new(), url.clone(), title.clone(), None),
                    Content::Image(i) => (
                        String::new(),
                        String::new(),
                        String::new(),
                        Some((
                            i.hash.to_hex(),
                            i.media_type.clone(),
                            i.natural_width,
                            i.natural_height,
                            i.file_name.clone(),
                        )),
                    ),
                };
                ClipboardCard {
                    kind: card.kind().as_str().to_owned(),
                    x: card.position.x,
                    y: card.position.y,
                    w: card.size.width,
                    h: card.size.height,
                    color: card.color.as_ref().map(ToString::to_string),
                    text,
                    url,
                    title,
                    image,
                }
            })
            .collect();
        if cards.is_empty() {
            return None;
        }
        serde_json::to_string(&ClipboardCards { corkboard: 1, cards }).ok()
    }

    /// Pastes cards from clipboard text; false when the text is not cards.
    /// With `at`, the cards are centred there; otherwise offset from their originals.
    pub fn paste_cards(&mut self, text: &str, at: Option<Point>) -> bool {
        let Ok(clip) = serde_json::from_str::<ClipboardCards>(text) else { return false };
        if clip.corkboard != 1 || clip.cards.is_empty() {
            return false;
        }
        let min_x = clip.cards.iter().map(|c| c.x).fold(f64::INFINITY, f64::min);
        let min_y = clip.cards.iter().map(|c| c.y).fold(f64::INFINITY, f64::min);
        let (dx, dy) = match at {
            Some(p) => (p.x - min_x, p.y - min_y),
            None => (PASTE_OFFSET, PASTE_OFFSET),
        };
        let mut new_cards = Vec::new();
        for card in clip.cards.iter().take(board_model::card::limits::MAX_CARDS) {
            let content = match card.kind.as_str() {
                "note" => Content::Note { text: card.text.clone() },
                "link" => Content::Link { url: card.url.clone(), title: card.title.clone() },
                "image" => {
                    let Some((hash, media_type, w, h, name)) = &card.image else { continue };
                    let Ok(hash) = Hash::from_hex(hash) else { continue };
                    Content::Image(ImageRef {
                        hash,
                        media_type: media_type.clone(),
                        natural_width: *w,
                        natural_height: *h,
                        file_name: name.clone(),
                    })
                }
                _ => continue,
            };
            let mut new = self.new_card(
                content,
                Point { x: card.x + dx, y: card.y + dy },
                Some(Size { width: card.w, height: card.h }),
            );
            new.color = card.color.as_deref().and_then(|c| Color::parse(c).ok());
            new_cards.push(new);
        }
        let ids: HashSet<CardId> = new_cards.iter().map(|c| c.id).collect();
        let result = self.board.add_cards(new_cards);
        let ok = result.is_ok();
        self.report(result);
        self.after_change();
        if ok {
            self.set_selection(ids);
            // Images pasted from another board may be in IndexedDB already.
            let missing: Vec<Hash> =
                self.board.referenced_blobs().into_iter().filter(|h| self.blobs.get(h).is_none()).collect();
            leptos::task::spawn_local(load_blobs(missing));
        }
        true
    }

    pub fn duplicate_selection(&mut self) {
        if let Some(text) = self.copy_selection() {
            self.paste_cards(&text, None);
        }
    }

    // ----- presence -------------------------------------------------------------------

    pub fn set_cursor(&mut self, at: Option<Point>) {
        if self.local_presence.cursor != at {
            self.local_presence.cursor = at;
            self.send_presence();
        }
    }

    fn send_presence(&mut self) {
        match self.desktop.as_mut() {
            Some(link) => {
                link.set_presence(&self.local_presence);
                link.flush(&self.board, &self.blobs);
            }
            None => self.mesh.set_presence(&self.local_presence, &self.board, &self.blobs),
        }
    }

    pub fn identity(&self) -> Identity {
        Identity { name: self.profile.name.clone(), color: self.profile.color.clone() }
    }

    pub fn set_profile(&mut self, profile: Profile) {
        profile.save();
        self.profile = profile;
        self.refresh_people();
        if self.desktop.is_some() {
            crate::desktop::fire(
                "set_profile",
                crate::desktop::args(&[
                    ("name", self.profile.name.as_str().into()),
                    ("color", self.profile.color.as_str().into()),
                ]),
            );
            return;
        }
        // The hello carries name and colour: reconnect so peers see the change.
        if self.mesh.is_running() {
            self.stop_mesh();
            self.mesh.start();
        }
    }

    /// Starts talking to peers: the mesh in a browser, the native peer on the desktop.
    pub fn start_network(&mut self) {
        let identity = self.identity();
        match self.desktop.as_mut() {
            Some(link) => link.start(identity),
            None => self.mesh.start(),
        }
    }

    /// Hands every link the frames its session has.
    pub fn flush_network(&mut self) {
        match self.desktop.as_mut() {
            Some(link) => link.flush(&self.board, &self.blobs),
            None => self.mesh.flush_all(&self.board, &self.blobs),
        }
    }

    /// Asks for every image the board shows but this page lacks.
    pub fn want_blobs(&mut self) {
        match self.desktop.as_mut() {
            Some(link) => link.want_missing_blobs(&self.board, &self.blobs),
            None => self.mesh.want_missing_blobs(&self.board, &self.blobs),
        }
    }

    /// The board point in the middle of the window (for cards made by menu or keyboard).
    pub fn view_center(&self) -> Point {
        let (width, height) = platform::window()
            .map(|w| {
                let size =
                    |v: Result<wasm_bindgen::JsValue, _>| v.ok().and_then(|v| v.as_f64()).unwrap_or(800.0);
                (size(w.inner_width()), size(w.inner_height()))
            })
            .unwrap_or((1280.0, 800.0));
        let camera = self.signals.camera.get_untracked();
        let (x, y) = camera.to_board(width / 2.0, (height - 52.0) / 2.0);
        Point { x, y }
    }

    /// A peer said hello.
    pub fn peer_opened(&mut self, peer: u64, identity: Identity) {
        self.identities.insert(peer, identity);
        self.refresh_people();
    }

    /// A peer's connection ended: forget its presence.
    pub fn peer_closed(&mut self, peer: u64) {
        if !self.mesh.has_open_session_with(peer) {
            self.identities.remove(&peer);
            self.presence.remove(peer);
            self.apply_remote_presence(peer, presence::State::default());
        }
        self.refresh_people();
    }

    /// Who a peer is, as last heard.
    pub fn identity_of(&self, peer: u64) -> Option<&Identity> {
        self.identities.get(&peer)
    }

    /// Forgets every peer the page knows of (the desktop link that relayed
    /// them ended; a new one relays them again).
    pub fn forget_relayed_peers(&mut self) {
        let peers: Vec<u64> = self.identities.keys().copied().collect();
        for peer in peers {
            self.peer_closed(peer);
        }
    }

    pub fn remote_presence(&mut self, peer: u64, state: presence::State) {
        self.presence.apply(peer, state.clone(), platform::now_ms());
        self.apply_remote_presence(peer, state);
    }

    fn apply_remote_presence(&mut self, peer: u64, state: presence::State) {
        // Cards this peer keeps dragging only move: their signals change
        // directly (the hot path of live motion), without reading the board.
        let mut moved_only: Vec<(CardId, Point)> = Vec::new();
        let mut touched: Vec<CardId> = Vec::new();
        let before: Vec<CardId> =
            self.remote_drags.iter().filter(|(_, (p, _))| *p == peer).map(|(id, _)| *id).collect();
        for id in &before {
            self.remote_drags.remove(id);
        }
        for (id, at) in &state.dragging {
            if self.cards.contains_key(id) && at.x.is_finite() && at.y.is_finite() {
                self.remote_drags.insert(*id, (peer, *at));
                if before.contains(id) {
                    moved_only.push((*id, *at));
                } else {
                    touched.push(*id);
                }
            }
        }
        touched.extend(before.into_iter().filter(|id| !self.remote_drags.contains_key(id)));
        // Selections.
        let old = self.remote_selections.remove(&peer).unwrap_or_default();
        if old != state.selection {
            touched.extend(old);
            touched.extend(state.selection.iter().copied());
        }
        if !state.selection.is_empty() {
            self.remote_selections.insert(peer, state.selection.clone());
        }
        for (id, at) in moved_only {
            if touched.contains(&id) {
                continue;
            }
            if let Some(signal) = self.cards.get(&id) {
                signal.update(|v| {
                    v.x = at.x;
                    v.y = at.y;
                });
            }
        }
        touched.sort();
        touched.dedup();
        for id in touched {
            self.refresh_card(id);
        }
        self.refresh_cursors();
    }

    fn refresh_cursors(&mut self) {
        let cursors: Vec<CursorView> = self
            .presence
            .iter()
            .filter_map(|(peer, state)| {
                let at = state.cursor?;
                let identity = self.identities.get(&peer)?;
                Some(CursorView {
                    peer,
                    name: identity.name.clone(),
                    color: identity.color.clone(),
                    x: at.x,
                    y: at.y,
                })
            })
            .collect();
        self.signals.cursors.set(cursors);
    }

    pub fn refresh_people(&mut self) {
        let mut people = vec![Person {
            peer: self.board.replica().0,
            name: self.profile.name.clone(),
            color: self.profile.color.clone(),
            me: true,
        }];
        let mut others: Vec<Person> = self
            .identities
            .iter()
            .map(|(peer, i)| Person { peer: *peer, name: i.name.clone(), color: i.color.clone(), me: false })
            .collect();
        others.sort_by(|a, b| a.name.cmp(&b.name));
        people.extend(others);
        self.signals.people.set(people);
    }

    /// Drops presence not refreshed in time.
    pub fn expire_presence(&mut self) {
        for peer in self.presence.expire(platform::now_ms()) {
            self.apply_remote_presence(peer, presence::State::default());
        }
    }
}

/// An object URL for bytes of a media type.
fn object_url(bytes: &[u8], media_type: &str) -> Option<String> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(media_type);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}
