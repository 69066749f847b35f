//! Saving the open board in this page's store: an update appended after
//! every change (so a closed tab loses at most the edit in flight), folded
//! into one snapshot every [`COMPACT_AFTER`] updates, by one writer at a
//! time. A write that fails is not counted as saved: the board says so and
//! the writer tries again. Where the page keeps no store (the desktop's node
//! saves), nothing here runs.

use std::rc::Rc;

use board_model::Version;
use desktop_wire::BoardEntry;
use leptos::prelude::*;

use super::{Engine, with};
use crate::notify;
use crate::platform::BoardStore;

/// Updates appended before the board is compacted into one snapshot.
pub(super) const COMPACT_AFTER: u64 = 200;

#[derive(Debug)]
pub(super) struct Persist {
    saved: Version,
    next_seq: u64,
    since_compaction: u64,
    saving: bool,
    /// The last write failed: try again.
    failed: bool,
    /// The board's title and size when the home list was last told.
    listed: (String, usize),
    /// When the board was first kept here (for the home list).
    created_ms: u64,
}

impl Persist {
    pub fn new(next_seq: u64, saved: Version, entry: &BoardEntry) -> Persist {
        Persist {
            saved,
            next_seq,
            since_compaction: 0,
            saving: false,
            failed: false,
            listed: (entry.title.clone(), entry.card_count),
            created_ms: entry.created_ms,
        }
    }
}

/// One write.
enum SaveWork {
    Append { seq: u64, bytes: Vec<u8>, previous: Version },
    Compact { snapshot: Vec<u8>, up_to: u64, previous: Version },
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
        if self.platform.store.is_none() {
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

    fn take_unsaved(&mut self) -> Option<(Rc<dyn BoardStore>, uuid::Uuid, SaveWork)> {
        let store = self.platform.store.clone()?;
        let board = self.link.board;
        let previous = self.persist.saved.clone();
        let now = self.board.version();
        if self.persist.since_compaction >= COMPACT_AFTER {
            let snapshot = match self.board.save() {
                Ok(snapshot) => snapshot,
                Err(error) => {
                    // Nothing is written; the updates keep being appended.
                    crate::log::warn(&error.to_string());
                    self.persist.since_compaction = 0;
                    return self.take_unsaved();
                }
            };
            let up_to = self.persist.next_seq.saturating_sub(1);
            self.persist.since_compaction = 0;
            self.persist.saved = now;
            return Some((store, board, SaveWork::Compact { snapshot, up_to, previous }));
        }
        if now == previous {
            return None;
        }
        let bytes = self.board.updates_since(&previous);
        self.persist.saved = now;
        let seq = self.persist.next_seq;
        self.persist.next_seq += 1;
        self.persist.since_compaction += 1;
        Some((store, board, SaveWork::Append { seq, bytes, previous }))
    }

    /// Nothing of a failed write is kept: the next one writes it again.
    fn save_failed(&mut self, work: SaveWork) {
        self.persist.failed = true;
        match work {
            SaveWork::Append { previous, .. } => self.persist.saved = previous,
            SaveWork::Compact { previous, .. } => {
                self.persist.saved = previous;
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
        self.platform.store.is_none() || (!self.persist.failed && self.persist.saved == self.board.version())
    }
}

/// The single writer: appends updates (or compacts) until nothing is left.
async fn save_loop() {
    while let Some(Some((store, board, work))) = with(Engine::take_unsaved) {
        let result = match &work {
            SaveWork::Append { seq, bytes, .. } => store.append(board, *seq, bytes).await,
            SaveWork::Compact { snapshot, up_to, .. } => store.compact(board, snapshot, *up_to).await,
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
