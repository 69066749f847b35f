//! Saving the open board in this page's store: an update appended after
//! every change (so a closed tab loses at most the edit in flight), folded
//! into one snapshot every [`COMPACT_AFTER`] updates or [`COMPACT_AFTER_BYTES`]
//! of them (a board received whole from a peer arrives as megabytes of
//! updates: kept as a snapshot, it loads lazily next time and the snapshot
//! the history view hands its worker is cheap), by one writer per page.
//! Other tabs may write the same board: the store numbers records itself
//! and never replaces one, and a compaction first takes in whatever the
//! store holds that this page has not seen. A write that fails is not
//! counted as saved: the board says so and the writer tries again. A board
//! whose saved copy could not be read is open read-only: nothing is written
//! over what could not be read. Where the page keeps no store (the
//! desktop's node saves), nothing here runs.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;

use board_model::Version;
use desktop_wire::BoardEntry;
use leptos::prelude::*;

use super::{Engine, with};
use crate::notify;
use crate::platform::{BoardStore, StorageError, StoredBoard};

/// Updates appended before the board is compacted into one snapshot.
pub(super) const COMPACT_AFTER: u64 = 200;
/// Bytes of updates appended before the board is compacted into one
/// snapshot (whichever comes first).
pub(super) const COMPACT_AFTER_BYTES: u64 = 4 << 20;

#[derive(Debug)]
pub(super) struct Persist {
    saved: Version,
    since_compaction: u64,
    /// Bytes appended since the last compaction.
    bytes_since_compaction: u64,
    /// Why nothing may be written (the saved copy could not be read).
    read_only: Option<String>,
    /// A digest of the snapshot this page last wrote (a compaction that
    /// finds it there need not take it in again).
    written_snapshot: Option<u64>,
    saving: bool,
    /// The last write failed: try again.
    failed: bool,
    /// The board's title and size when the home list was last told.
    listed: (String, usize),
    /// When the board was first kept here (for the home list).
    created_ms: u64,
}

impl Persist {
    pub fn new(saved: Version, entry: &BoardEntry, read_only: Option<String>) -> Persist {
        Persist {
            saved,
            since_compaction: 0,
            bytes_since_compaction: 0,
            read_only,
            written_snapshot: None,
            saving: false,
            failed: false,
            listed: (entry.title.clone(), entry.card_count),
            created_ms: entry.created_ms,
        }
    }
}

/// One write.
enum SaveWork {
    Append {
        bytes: Vec<u8>,
        previous: Version,
    },
    /// The snapshot is made inside the store's transaction ([`Engine::fold`]).
    Compact {
        previous: Version,
    },
}

fn digest(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

impl Engine {
    /// Writes the whole board as one snapshot (a board new to this store).
    pub(super) fn save_everything(&mut self) {
        self.persist.since_compaction = COMPACT_AFTER;
        self.persist.saved = Version::empty();
        self.request_save();
    }

    /// Starts the writer unless it is running (it picks up whatever is new).
    pub(super) fn request_save(&mut self) {
        if self.platform.store.is_none() || self.persist.read_only.is_some() {
            return;
        }
        if self.board.version() != self.persist.saved {
            self.signals.saved.set(false);
        }
        if self.persist.saving {
            return;
        }
        self.persist.saving = true;
        leptos::task::spawn_local(save_loop());
    }

    /// After a failed write, the next tick tries again.
    pub(super) fn retry_failed_save(&mut self) {
        if self.persist.failed && !self.persist.saving {
            self.persist.failed = false;
            self.request_save();
        }
    }

    /// Why the board is read-only, if it is.
    pub fn read_only(&self) -> Option<&str> {
        self.persist.read_only.as_deref()
    }

    fn take_unsaved(&mut self) -> Option<(Rc<dyn BoardStore>, uuid::Uuid, SaveWork)> {
        if self.persist.read_only.is_some() {
            return None;
        }
        let store = self.platform.store.clone()?;
        let board = self.link.board;
        let previous = self.persist.saved.clone();
        if self.persist.since_compaction >= COMPACT_AFTER
            || self.persist.bytes_since_compaction >= COMPACT_AFTER_BYTES
        {
            self.persist.since_compaction = 0;
            self.persist.bytes_since_compaction = 0;
            return Some((store, board, SaveWork::Compact { previous }));
        }
        let now = self.board.version();
        if now == previous {
            return None;
        }
        let bytes = self.board.updates_since(&previous);
        self.persist.saved = now;
        self.persist.since_compaction += 1;
        self.persist.bytes_since_compaction += bytes.len() as u64;
        Some((store, board, SaveWork::Append { bytes, previous }))
    }

    /// Inside the store's compaction: takes in what is stored (other tabs'
    /// records, another tab's snapshot), then the board's snapshot holding
    /// all of it. Nothing counts as saved until the store has committed it.
    fn fold(&mut self, stored: &StoredBoard) -> Result<Vec<u8>, StorageError> {
        let damaged = |error: board_model::LoadError| StorageError::Damaged(error.to_string());
        if let Some(snapshot) = &stored.snapshot
            && self.persist.written_snapshot != Some(digest(snapshot))
        {
            self.board.import(snapshot).map_err(damaged)?;
        }
        for (_, update) in &stored.updates {
            self.board.import(update).map_err(damaged)?;
        }
        self.after_change();
        let snapshot = self.board.save().map_err(|error| StorageError::Failed(error.to_string()))?;
        self.persist.written_snapshot = Some(digest(&snapshot));
        self.persist.saved = self.board.version();
        Ok(snapshot)
    }

    /// Nothing of a failed write is kept: the next one writes it again.
    fn save_failed(&mut self, work: SaveWork) {
        self.persist.failed = true;
        match work {
            SaveWork::Append { previous, .. } => self.persist.saved = previous,
            SaveWork::Compact { previous } => {
                self.persist.saved = previous;
                self.persist.written_snapshot = None;
                self.persist.since_compaction = COMPACT_AFTER;
            }
        }
    }

    fn home_entry_if_changed(&mut self) -> Option<BoardEntry> {
        let now = (self.board.title(), self.board.card_count());
        if now == self.persist.listed {
            return None;
        }
        self.persist.listed = now.clone();
        Some(BoardEntry {
            board: self.link.board.hyphenated().to_string(),
            key: self.link.key_text(),
            title: now.0,
            created_ms: self.persist.created_ms,
            last_opened_ms: self.now(),
            card_count: now.1,
        })
    }

    fn save_finished(&mut self) {
        self.persist.saving = false;
        let saved = !self.persist.failed && self.persist.saved == self.board.version();
        self.signals.saved.set(saved);
    }

    /// Whether every change is in the store.
    pub fn is_saved(&self) -> bool {
        self.platform.store.is_none()
            || (self.persist.read_only.is_none()
                && !self.persist.failed
                && self.persist.saved == self.board.version())
    }
}

/// The single writer: appends updates (or compacts) until nothing is left.
async fn save_loop() {
    while let Some(Some((store, board, work))) = with(Engine::take_unsaved) {
        let result = match &work {
            SaveWork::Append { bytes, .. } => store.append(board, bytes).await.map(|_| ()),
            SaveWork::Compact { .. } => {
                let mut fold =
                    |stored: &StoredBoard| with(|e| e.fold(stored)).unwrap_or(Err(StorageError::Closed));
                store.compact(board, &mut fold).await
            }
        };
        if let Err(error) = result {
            notify::error(&error.to_string());
            with(|e| e.save_failed(work));
            break;
        }
        let entry = with(Engine::home_entry_if_changed).flatten();
        let library = with(|e| e.platform.library.clone());
        if let (Some(entry), Some(library)) = (entry, library) {
            let _ = library.put_entry(&entry).await;
        }
    }
    with(Engine::save_finished);
}
