//! The board document: a Loro document holding the board's meta data, its
//! cards, their stacking order and the edges between them, with validated operations, change events,
//! undo of local changes, and save/load.
//!
//! Layout of the document (root containers):
//! - `meta`: map with `id`, `title`, `background`.
//! - `cards`: map from card id (hyphenated UUID) to a mergeable map of the
//!   card's fields (`kind`, `x`, `y`, `w`, `h`, `color`, `created_by`,
//!   `created_at`, and per kind `text` (a mergeable text), `sha256`,
//!   `media_type`, `natural_w`, `natural_h`, `file_name`, `url`, `title`).
//!   Groups have a `label`, pinned boards a `link`, file cards a `path`.
//! - `order`: movable list of card ids, bottom first.
//! - `edges`: map from edge id to a mergeable map of the edge's fields
//!   (see `board/edges.rs`).
//! - `authors`: map from replica id to the name its changes were made
//!   under (see `board/history.rs`).
//!
//! Every operation validates all of its input before it touches the document
//! and commits once, so a refused operation leaves the board unchanged and an
//! accepted one is a single undo step.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use loro::{
    Frontiers, LoroDoc, LoroMap, LoroMovableList, LoroText, LoroValue, Subscription, UndoManager,
    ValueOrContainer, VersionVector,
};

use crate::blob;
use crate::card::{self, Card, CardId, Color, Content, Kind, NewCard, Point, Size, limits};
use crate::error::{Error, LoadError};
use crate::event::{self, Changes};

mod edges;
mod history;
mod kept;
mod read;
mod save;
mod sync_parts;
pub use history::{
    History, HistoryChange, Past, PastVersion, Reading, SEGMENT_OPS, SESSION_GAP_SECS, WorkSession,
};
pub use kept::MAX_KEPT_BYTES;
pub use save::MAX_PENDING_OPS;
pub use sync_parts::{SYNC_PART_OPS, SyncPart};

use read::{bounded_field, kind_of, read_card, string_field};

pub(crate) const META: &str = "meta";
pub(crate) const CARDS: &str = "cards";
pub(crate) const ORDER: &str = "order";
pub(crate) const EDGES: &str = "edges";

/// A board's identity, shared by every replica of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoardId(pub uuid::Uuid);

impl BoardId {
    /// Builds an id from 16 random bytes supplied by the caller.
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        BoardId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
}

impl fmt::Display for BoardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The identity of one replica in the document's history. It must be unique
/// per running replica (draw it at random each time a board is opened).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplicaId(pub u64);

/// A point in a board's history: which changes of which replica it contains.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Version(pub(crate) VersionVector);

impl Version {
    /// The empty version: nothing seen yet.
    pub fn empty() -> Self {
        Version(VersionVector::default())
    }

    pub fn encode(&self) -> Vec<u8> {
        self.0.encode()
    }

    /// Decodes a version received from a peer or read from a file.
    pub fn decode(bytes: &[u8]) -> Result<Self, LoadError> {
        VersionVector::decode(bytes).map(Version).map_err(|error| LoadError::Corrupt(error.to_string()))
    }

    /// True when every change in `self` is also in `other`.
    pub fn included_in(&self, other: &Version) -> bool {
        self.0.iter().all(|(peer, counter)| other.0.get(peer).is_some_and(|theirs| theirs >= counter))
    }

    /// Adds everything `other` has to `self`.
    pub fn merge(&mut self, other: &Version) {
        self.0.merge(&other.0);
    }
}

/// The latest changes a replica holds: a cheap fingerprint of its
/// [`Version`] (equal heads on one board mean equal versions), for telling
/// "nothing new since" without comparing whole version vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heads(pub(crate) Frontiers);

/// What importing bytes did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// The changes now held by the board, including any still waiting for
    /// their dependencies: the sender holds all of these.
    pub received: Version,
    /// Some changes wait for earlier changes this board has not seen yet.
    pub pending: bool,
}

/// A collaborative board.
pub struct Board {
    doc: LoroDoc,
    cards: LoroMap,
    order: LoroMovableList,
    meta: LoroMap,
    edges: LoroMap,
    /// This replica's undo steps; `None` where nobody undoes ([`Board::load_headless`]).
    undo: Option<UndoManager>,
    changes: Arc<Mutex<Vec<Changes>>>,
    /// Handles of the live cards' maps, kept current by the document's own
    /// events (local, remote, undo alike): the hot path of a move skips the
    /// map lookup.
    handles: Arc<Mutex<HashMap<CardId, LoroMap>>>,
    /// Each card's place in the stack, built on first need after the order
    /// changed (dropped by the document's events; on a board nobody
    /// watches, kept with the version it was built at): reading one card
    /// is not a walk of the whole order list.
    stack: Arc<Mutex<Option<Stack>>>,
    /// How far imported changes still waiting for their dependencies reach.
    pending_until: VersionVector,
    /// The last [`Board::state_digest`], with the version it was taken at.
    digest: Mutex<Option<(VersionVector, [u8; 32])>>,
    /// When this replica's next changes are made (seconds since the epoch;
    /// 0: not told), and by whom (see `board/history.rs`).
    now_secs: i64,
    author: String,
    author_recorded: std::sync::atomic::AtomicBool,
    /// The document's events, while someone watches this replica (see
    /// [`Board::load_headless`]); `None` on a headless replica.
    subscription: Option<Subscription>,
}

/// Each card's place in the stack (see `Board::stack`).
struct Stack {
    /// The state it was built from, on a board without events (`None`:
    /// events drop it when the order changes).
    built_at: Option<Frontiers>,
    places: HashMap<CardId, usize>,
}

impl fmt::Debug for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Board")
            .field("id", &self.id())
            .field("title", &self.title())
            .field("cards", &self.cards.len())
            .finish_non_exhaustive()
    }
}

impl Board {
    /// Creates a new board: its first change writes the id and title.
    pub fn create(id: BoardId, title: &str, replica: ReplicaId) -> Result<Board, Error> {
        Board::create_at(id, title, replica, 0, "")
    }

    /// Creates a new board at `now_ms` (milliseconds since the Unix epoch)
    /// by `author`, who goes on making its changes (see [`Board::set_clock`]).
    pub fn create_at(
        id: BoardId,
        title: &str,
        replica: ReplicaId,
        now_ms: i64,
        author: &str,
    ) -> Result<Board, Error> {
        card::check_chars("title", title, limits::MAX_TITLE_CHARS)?;
        let mut board = Board::with_doc(LoroDoc::new(), replica)?.watched();
        board.set_clock(now_ms);
        board.set_author(author);
        board.meta.insert("id", id.to_string())?;
        board.meta.insert("title", title)?;
        board.commit();
        // Creating the board is not something to undo.
        board.clear_undo();
        Ok(board)
    }

    /// An empty replica that will receive the board from its peers.
    pub fn empty(replica: ReplicaId) -> Result<Board, Error> {
        Ok(Board::with_doc(LoroDoc::new(), replica)?.watched())
    }

    /// An empty replica nobody draws or undoes on (see [`Board::load_headless`]).
    pub fn empty_headless(replica: ReplicaId) -> Result<Board, Error> {
        Board::with_doc(LoroDoc::new(), replica)
    }

    /// Loads a board from a snapshot or from updates (as written by
    /// [`Board::save`], [`Board::save_shallow`] or [`Board::updates_since`]).
    /// Arbitrary bytes give an error, never a panic.
    pub fn load(bytes: &[u8], replica: ReplicaId) -> Result<Board, LoadError> {
        Ok(Board::load_headless(bytes, replica)?.watched())
    }

    /// Loads a replica nobody draws or undoes on: a node's (`corkboard-peer
    /// serve`, the desktop app's embedded node, the command line's). It
    /// keeps no undo steps and no change events ([`Board::take_changes`]
    /// gives nothing), so Loro computes no diffs for anyone on a commit or
    /// an import: a move costs what it costs Loro itself.
    pub fn load_headless(bytes: &[u8], replica: ReplicaId) -> Result<Board, LoadError> {
        if bytes.is_empty() {
            return Err(LoadError::Empty);
        }
        // A snapshot loads lazily and before anyone listens: no events to
        // build for a board nobody has drawn yet. Updates are imported.
        let doc = match LoroDoc::from_snapshot(bytes) {
            Ok(doc) => doc,
            Err(_) => {
                let doc = LoroDoc::new();
                doc.import(bytes).map_err(|error| LoadError::Corrupt(error.to_string()))?;
                doc
            }
        };
        Board::with_doc(doc, replica).map_err(|error| LoadError::Corrupt(error.to_string()))
    }

    /// A replica of `doc` that nobody watches yet: no events, no undo.
    fn with_doc(doc: LoroDoc, replica: ReplicaId) -> Result<Board, Error> {
        doc.set_peer_id(replica.0)?;
        // One change per replica per CHANGE_SECS of work at most: the
        // history slider's finest step (Loro's default merges 1,000 s).
        doc.set_change_merge_interval(history::CHANGE_SECS);
        Ok(Board {
            cards: doc.get_map(CARDS),
            order: doc.get_movable_list(ORDER),
            meta: doc.get_map(META),
            edges: doc.get_map(EDGES),
            doc,
            undo: None,
            changes: Arc::default(),
            handles: Arc::default(),
            stack: Arc::default(),
            pending_until: VersionVector::default(),
            digest: Mutex::new(None),
            now_secs: 0,
            author: String::new(),
            author_recorded: std::sync::atomic::AtomicBool::new(false),
            subscription: None,
        })
    }

    /// This replica with change events for a view and undo of its own
    /// changes (what every public constructor but the headless ones gives).
    /// Subscribing is what makes Loro compute diffs on every change, so a
    /// headless replica never does.
    fn watched(mut self) -> Board {
        let sink = Arc::clone(&self.changes);
        let live = Arc::clone(&self.handles);
        let stale = Arc::clone(&self.stack);
        let roots = event::Roots::new();
        self.subscription = Some(self.doc.subscribe_root(Arc::new(move |diff| {
            event::track_cards(&diff, &roots, &mut live.lock().unwrap_or_else(PoisonError::into_inner));
            let batch = event::translate(&diff, &roots);
            if batch.events.iter().any(event::Event::changes_stack) {
                *stale.lock().unwrap_or_else(PoisonError::into_inner) = None;
            }
            if !batch.events.is_empty() {
                sink.lock().unwrap_or_else(PoisonError::into_inner).push(batch);
            }
        })));
        let mut undo = UndoManager::new(&self.doc);
        // One commit is one undo step; grouping is explicit (see `begin_undo_group`).
        undo.set_merge_interval(0);
        undo.set_max_undo_steps(500);
        undo.add_exclude_origin_prefix(history::BOOKKEEPING);
        self.undo = Some(undo);
        self
    }

    /// Whether the document's events keep this replica's caches current.
    fn is_watched(&self) -> bool {
        self.subscription.is_some()
    }

    // ----- reading -------------------------------------------------------

    /// The board's id, once the creator's first change has arrived.
    pub fn id(&self) -> Option<BoardId> {
        string_field(&self.meta, "id").and_then(|s| uuid::Uuid::try_parse(&s).ok()).map(BoardId)
    }

    pub fn title(&self) -> String {
        bounded_field(&self.meta, "title", limits::MAX_TITLE_CHARS).unwrap_or_default()
    }

    pub fn background(&self) -> Option<Color> {
        string_field(&self.meta, "background").and_then(|s| Color::parse(&s).ok())
    }

    pub fn replica(&self) -> ReplicaId {
        ReplicaId(self.doc.peer_id())
    }

    /// Number of cards on the board.
    pub fn card_count(&self) -> usize {
        self.cards.len()
    }

    pub fn contains(&self, id: CardId) -> bool {
        self.cards.get(&id.to_string()).is_some()
    }

    /// One card, if it exists and is well formed.
    pub fn card(&self, id: CardId) -> Option<Card> {
        let map = self.card_map(id)?;
        let mut stack = self.stack.lock().unwrap_or_else(PoisonError::into_inner);
        // Without events, any change since the places were built may have moved them.
        let built_at = (!self.is_watched()).then(|| self.doc.state_frontiers());
        if stack.as_ref().is_some_and(|stack| stack.built_at != built_at) {
            *stack = None;
        }
        let stack = stack.get_or_insert_with(|| {
            let mut places = HashMap::new();
            for (place, (listed, _)) in self.order_positions().into_iter().enumerate() {
                places.entry(listed).or_insert(place);
            }
            Stack { built_at, places }
        });
        let z = stack.places.get(&id).copied().unwrap_or(self.order.len());
        read_card(id, &map, z)
    }

    /// Every well-formed card, bottom of the stack first. Cards whose fields a
    /// peer wrote in a shape this version does not understand are left out.
    pub fn cards(&self) -> Vec<Card> {
        // A peer's document may hold more cards than a board may: the rest is not read.
        self.stack_order()
            .into_iter()
            .enumerate()
            .filter_map(|(z, id)| read_card(id, &self.card_map(id)?, z))
            .take(limits::MAX_CARDS)
            .collect()
    }

    /// The ids of the cards, bottom of the stack first, without reading the
    /// cards (their place in this list is their `z`): for redrawing the
    /// stack after a card comes or goes without reading every card again.
    pub fn stack_order(&self) -> Vec<CardId> {
        let mut listed = HashSet::new();
        let mut ids = Vec::with_capacity(self.cards.len());
        self.order.for_each(|value| {
            if let ValueOrContainer::Value(LoroValue::String(s)) = value
                && let Ok(id) = s.parse::<CardId>()
                && listed.insert(id)
            {
                ids.push(id);
            }
        });
        ids.retain(|id| self.cards.get(&id.to_string()).is_some());
        // Cards missing from the order list (a peer's malformed change) go on top, by id.
        let mut unlisted: Vec<CardId> = self
            .cards
            .keys()
            .filter_map(|key| key.parse::<CardId>().ok())
            .filter(|id| !listed.contains(id))
            .collect();
        unlisted.sort();
        ids.extend(unlisted);
        ids
    }

    /// Hashes of every image the board references, for fetching blobs.
    pub fn referenced_blobs(&self) -> Vec<blob::Hash> {
        let mut hashes: Vec<blob::Hash> = self
            .cards
            .values()
            .filter_map(|value| match value {
                ValueOrContainer::Container(loro::Container::Map(map)) => {
                    string_field(&map, "sha256").and_then(|hex| blob::Hash::from_hex(&hex).ok())
                }
                _ => None,
            })
            .collect();
        hashes.sort();
        hashes.dedup();
        hashes
    }

    /// The note text of a card.
    pub fn text(&self, id: CardId) -> Result<String, Error> {
        Ok(self.note_text(id)?.to_string())
    }

    // ----- operations ----------------------------------------------------

    /// Adds a card on top of the stack.
    pub fn add_card(&mut self, new: NewCard) -> Result<(), Error> {
        self.add_cards(vec![new])
    }

    /// Adds several cards as one undo step (a paste, an import).
    pub fn add_cards(&mut self, cards: Vec<NewCard>) -> Result<(), Error> {
        if self.cards.len() + cards.len() > limits::MAX_CARDS {
            return Err(Error::TooManyCards { max: limits::MAX_CARDS });
        }
        let mut seen = HashSet::new();
        let mut prepared = Vec::with_capacity(cards.len());
        for new in cards {
            if self.contains(new.id) || !seen.insert(new.id) {
                return Err(Error::DuplicateCard(new.id));
            }
            let position = card::check_point(new.position)?;
            card::check_content(&new.content)?;
            card::check_chars("author", &new.created_by, limits::MAX_AUTHOR_CHARS)?;
            let kind = new.content.kind();
            let size = match (new.size, &new.content) {
                (Some(size), _) => card::clamp_size(kind, size)?,
                (None, Content::Image(image)) => card::clamp_size(kind, card::image_default_size(image))?,
                (None, _) => kind.default_size(),
            };
            prepared.push((new, position, size));
        }
        if prepared.is_empty() {
            return Ok(());
        }
        for (new, position, size) in prepared {
            let key = new.id.to_string();
            let map = self.cards.ensure_mergeable_map(&key)?;
            map.insert("kind", new.content.kind().as_str())?;
            map.insert("x", position.x)?;
            map.insert("y", position.y)?;
            map.insert("w", size.width)?;
            map.insert("h", size.height)?;
            if let Some(color) = &new.color {
                map.insert("color", color.to_string())?;
            }
            map.insert("created_by", new.created_by.as_str())?;
            map.insert("created_at", new.created_at)?;
            match &new.content {
                Content::Note { text } => {
                    let note = map.ensure_mergeable_text("text")?;
                    if !text.is_empty() {
                        note.insert(0, text)?;
                    }
                }
                Content::Image(image) => {
                    map.insert("sha256", image.hash.to_hex())?;
                    map.insert("media_type", image.media_type.as_str())?;
                    map.insert("natural_w", i64::from(image.natural_width))?;
                    map.insert("natural_h", i64::from(image.natural_height))?;
                    map.insert("file_name", image.file_name.as_str())?;
                }
                Content::Link { url, title } => {
                    map.insert("url", url.trim())?;
                    map.insert("title", title.as_str())?;
                }
                Content::Group { label } => map.insert("label", label.as_str())?,
                Content::Board { link } => map.insert("link", link.as_str())?,
                Content::File { path } => map.insert("path", path.as_str())?,
            }
            self.order.push(key)?;
        }
        self.commit();
        Ok(())
    }

    /// Moves one card.
    pub fn move_card(&mut self, id: CardId, to: Point) -> Result<(), Error> {
        let to = card::check_point(to)?;
        let map = self.existing(id)?;
        map.insert("x", to.x)?;
        map.insert("y", to.y)?;
        self.commit();
        Ok(())
    }

    /// Moves several cards at once: one undo step (a multi-selection drag
    /// committed on drop).
    pub fn move_cards(&mut self, moves: &[(CardId, Point)]) -> Result<(), Error> {
        let mut checked = Vec::with_capacity(moves.len());
        for &(id, to) in moves {
            checked.push((self.existing(id)?, card::check_point(to)?));
        }
        for (map, to) in checked {
            map.insert("x", to.x)?;
            map.insert("y", to.y)?;
        }
        self.commit_if_any(moves.len());
        Ok(())
    }

    /// Resizes a card; the size is clamped up to the kind's minimum. Returns the size applied.
    pub fn resize_card(&mut self, id: CardId, size: Size) -> Result<Size, Error> {
        let map = self.existing(id)?;
        let kind = kind_of(&map).ok_or(Error::UnknownCard(id))?;
        let size = card::clamp_size(kind, size)?;
        map.insert("w", size.width)?;
        map.insert("h", size.height)?;
        self.commit();
        Ok(size)
    }

    /// Moves and resizes a card in one step (resizing from a top or left handle).
    pub fn set_bounds(&mut self, id: CardId, at: Point, size: Size) -> Result<Size, Error> {
        let at = card::check_point(at)?;
        let map = self.existing(id)?;
        let kind = kind_of(&map).ok_or(Error::UnknownCard(id))?;
        let size = card::clamp_size(kind, size)?;
        map.insert("x", at.x)?;
        map.insert("y", at.y)?;
        map.insert("w", size.width)?;
        map.insert("h", size.height)?;
        self.commit();
        Ok(size)
    }

    /// Sets or clears the colour of cards.
    pub fn set_color(&mut self, ids: &[CardId], color: Option<Color>) -> Result<(), Error> {
        let maps = self.existing_all(ids)?;
        for map in maps {
            match &color {
                Some(color) => map.insert("color", color.to_string())?,
                None => map.delete("color")?,
            }
        }
        self.commit_if_any(ids.len());
        Ok(())
    }

    /// Replaces `delete` characters at `start` of a note's text with `insert`
    /// (Unicode scalar values). Concurrent splices merge character by character.
    pub fn splice_text(
        &mut self,
        id: CardId,
        start: usize,
        delete: usize,
        insert: &str,
    ) -> Result<(), Error> {
        let text = self.note_text(id)?;
        let len = text.len_unicode();
        check_splice(start, delete, len, insert.chars().count())?;
        text.splice(start, delete, insert)?;
        self.commit();
        Ok(())
    }

    /// As [`Board::splice_text`], in UTF-16 code units (what browsers count).
    pub fn splice_text_utf16(
        &mut self,
        id: CardId,
        start: usize,
        delete: usize,
        insert: &str,
    ) -> Result<(), Error> {
        let text = self.note_text(id)?;
        let len = text.len_utf16();
        check_splice(start, delete, len, insert.encode_utf16().count())?;
        if text.len_unicode() + insert.chars().count() > limits::MAX_NOTE_CHARS + delete {
            return Err(Error::TooLong { what: "note text", max: limits::MAX_NOTE_CHARS });
        }
        // Loro refuses a UTF-16 index that splits a surrogate pair.
        text.splice_utf16(start, delete, insert).map_err(|_| Error::TextRange { start, delete, len })?;
        self.commit();
        Ok(())
    }

    /// Replaces a note's whole text, recorded as the minimal character edits
    /// (so a concurrent edit elsewhere in the note survives).
    pub fn set_text(&mut self, id: CardId, new_text: &str) -> Result<(), Error> {
        card::check_chars("note text", new_text, limits::MAX_NOTE_CHARS)?;
        let text = self.note_text(id)?;
        text.update(new_text, loro::UpdateOptions::default())
            .map_err(|error| Error::Document(error.to_string()))?;
        self.commit();
        Ok(())
    }

    /// Changes a link card's url and title.
    pub fn set_link(&mut self, id: CardId, url: &str, title: &str) -> Result<(), Error> {
        card::check_content(&Content::Link { url: url.to_owned(), title: title.to_owned() })?;
        let map = self.existing(id)?;
        let kind = kind_of(&map).ok_or(Error::UnknownCard(id))?;
        if kind != Kind::Link {
            return Err(Error::WrongKind { id, expected: Kind::Link, found: kind });
        }
        map.insert("url", url.trim())?;
        map.insert("title", title)?;
        self.commit();
        Ok(())
    }

    /// Deletes cards and the edges attached to them (one undo step).
    pub fn delete_cards(&mut self, ids: &[CardId]) -> Result<(), Error> {
        self.existing_all(ids)?;
        let unique: HashSet<CardId> = ids.iter().copied().collect();
        self.delete_edges_of(&unique)?;
        let positions = self.order_positions();
        let mut doomed: Vec<usize> =
            positions.iter().filter(|(id, _)| unique.contains(id)).map(|(_, index)| *index).collect();
        // Delete from the back so earlier indexes stay valid.
        doomed.sort_unstable_by(|a, b| b.cmp(a));
        for index in doomed {
            self.order.delete(index, 1)?;
        }
        for id in &unique {
            self.cards.delete(&id.to_string())?;
        }
        self.commit_if_any(unique.len());
        Ok(())
    }

    /// Brings cards to the front, keeping their order among themselves.
    /// Returns false (and records nothing) when they are already on top.
    pub fn bring_to_front(&mut self, ids: &[CardId]) -> Result<bool, Error> {
        self.existing_all(ids)?;
        let unique: HashSet<CardId> = ids.iter().copied().collect();
        let positions = self.order_positions();
        let mut selected: Vec<(usize, CardId)> =
            positions.iter().filter(|(id, _)| unique.contains(id)).map(|(id, index)| (*index, *id)).collect();
        selected.sort_unstable();
        let len = self.order.len();
        let on_top = selected.len() == unique.len()
            && selected.iter().enumerate().all(|(i, (index, _))| *index == len - selected.len() + i);
        if on_top {
            return Ok(false);
        }
        // Taken in stack order, each moved card shifts the later ones down
        // by one: the k-th is at its old index minus k (checked, searched
        // for only if the list is not as expected).
        for (moved, (index, id)) in selected.iter().enumerate() {
            let key = id.to_string();
            let expected = index - moved;
            let from = if is_key_at(&self.order, expected, &key) {
                Some(expected)
            } else {
                (0..self.order.len()).find(|&i| is_key_at(&self.order, i, &key))
            };
            if let Some(from) = from {
                self.order.mov(from, self.order.len() - 1)?;
            }
        }
        // Cards missing from the order list (malformed peer change) are appended.
        for id in unique.iter().filter(|id| !selected.iter().any(|(_, s)| s == *id)) {
            self.order.push(id.to_string())?;
        }
        self.commit();
        Ok(true)
    }

    pub fn set_title(&mut self, title: &str) -> Result<(), Error> {
        card::check_chars("title", title, limits::MAX_TITLE_CHARS)?;
        self.meta.insert("title", title)?;
        self.commit();
        Ok(())
    }

    pub fn set_background(&mut self, color: Option<Color>) -> Result<(), Error> {
        match color {
            Some(color) => self.meta.insert("background", color.to_string())?,
            None => self.meta.delete("background")?,
        }
        self.commit();
        Ok(())
    }

    // ----- undo ----------------------------------------------------------

    /// Undoes this replica's last change (never a peer's). Returns whether anything changed.
    pub fn undo(&mut self) -> Result<bool, Error> {
        self.stamp_next_commit();
        Ok(match self.undo.as_mut() {
            Some(undo) => undo.undo()?,
            None => false,
        })
    }

    pub fn redo(&mut self) -> Result<bool, Error> {
        self.stamp_next_commit();
        Ok(match self.undo.as_mut() {
            Some(undo) => undo.redo()?,
            None => false,
        })
    }

    pub fn can_undo(&self) -> bool {
        self.undo.as_ref().is_some_and(UndoManager::can_undo)
    }

    pub fn can_redo(&self) -> bool {
        self.undo.as_ref().is_some_and(UndoManager::can_redo)
    }

    /// Starts grouping operations into one undo step (typing a word, a gesture).
    pub fn begin_undo_group(&mut self) -> Result<(), Error> {
        if let Some(undo) = self.undo.as_mut() {
            undo.group_start()?;
        }
        Ok(())
    }

    /// Forgets every undo step (a board just made from a file starts there).
    pub fn clear_undo(&mut self) {
        if let Some(undo) = self.undo.as_mut() {
            undo.clear();
        }
    }

    pub fn end_undo_group(&mut self) {
        if let Some(undo) = self.undo.as_mut() {
            undo.group_end();
        }
    }

    // ----- events --------------------------------------------------------

    /// Takes the change batches recorded since the last call, oldest first.
    pub fn take_changes(&mut self) -> Vec<Changes> {
        std::mem::take(&mut *self.changes.lock().unwrap_or_else(PoisonError::into_inner))
    }

    // ----- helpers -------------------------------------------------------

    fn card_map(&self, id: CardId) -> Option<LoroMap> {
        let mut key = [0u8; uuid::fmt::Hyphenated::LENGTH];
        match self.cards.get(id.0.hyphenated().encode_lower(&mut key))? {
            ValueOrContainer::Container(loro::Container::Map(map)) => Some(map),
            _ => None,
        }
    }

    fn existing(&self, id: CardId) -> Result<LoroMap, Error> {
        if !self.is_watched() {
            // No events keep a cache of handles current here.
            return self.card_map(id).ok_or(Error::UnknownCard(id));
        }
        let mut handles = self.handles.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(map) = handles.get(&id) {
            return Ok(map.clone());
        }
        // Cards loaded from a snapshot enter the cache on first use; events
        // keep it current from then on.
        let map = self.card_map(id).ok_or(Error::UnknownCard(id))?;
        handles.insert(id, map.clone());
        Ok(map)
    }

    fn existing_all(&self, ids: &[CardId]) -> Result<Vec<LoroMap>, Error> {
        if ids.len() > limits::MAX_CARDS {
            return Err(Error::TooManyCards { max: limits::MAX_CARDS });
        }
        ids.iter().map(|&id| self.existing(id)).collect()
    }

    fn note_text(&self, id: CardId) -> Result<LoroText, Error> {
        let map = self.existing(id)?;
        let kind = kind_of(&map).ok_or(Error::UnknownCard(id))?;
        if kind != Kind::Note {
            return Err(Error::WrongKind { id, expected: Kind::Note, found: kind });
        }
        match map.get("text") {
            Some(ValueOrContainer::Container(loro::Container::Text(text))) => Ok(text),
            _ => Ok(map.ensure_mergeable_text("text")?),
        }
    }

    fn commit_if_any(&self, count: usize) {
        if count > 0 {
            self.commit();
        }
    }

    fn order_positions(&self) -> Vec<(CardId, usize)> {
        let mut positions = Vec::with_capacity(self.order.len());
        let mut index = 0;
        self.order.for_each(|value| {
            if let ValueOrContainer::Value(LoroValue::String(s)) = value
                && let Ok(id) = s.parse::<CardId>()
            {
                positions.push((id, index));
            }
            index += 1;
        });
        positions
    }
}

fn check_splice(start: usize, delete: usize, len: usize, inserted: usize) -> Result<(), Error> {
    let end = start.checked_add(delete).ok_or(Error::TextRange { start, delete, len })?;
    if end > len {
        return Err(Error::TextRange { start, delete, len });
    }
    if len - delete + inserted > limits::MAX_NOTE_CHARS {
        return Err(Error::TooLong { what: "note text", max: limits::MAX_NOTE_CHARS });
    }
    Ok(())
}

fn is_key_at(list: &LoroMovableList, index: usize, key: &str) -> bool {
    matches!(list.get(index), Some(ValueOrContainer::Value(LoroValue::String(s))) if *s == key)
}
