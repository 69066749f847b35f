//! The history view: the board's changes as sessions of work and a slider
//! through them. While it is open the board shows the step chosen,
//! read-only, and changes from peers still arrive and are saved (the view
//! shows them when the slider is back at now). "Restore this version"
//! makes that state again as a new change everyone receives; "copy to a
//! new board" opens a new board holding it.

use std::collections::HashSet;

use board_model::{Board, BoardId, CardId, Edge, History, Past, Reading};
use leptos::prelude::*;

use super::{Engine, plural, with};
use crate::notify;
use crate::view_model::{CardEntry, CardView, HistoryView, SessionView};

/// What the engine keeps while the history view is open.
pub(super) struct Viewing {
    history: History,
    past: Past,
    /// How many changes the board shows (all of them: now).
    step: usize,
    /// The slider moved since the last idle tick (see [`prepare_history_when_idle`]).
    moved: bool,
}

/// Between two pieces of the history viewer's preparation: the page
/// handles what came in meanwhile.
const PREPARE_TICK_MS: i32 = 60;

impl Engine {
    /// Opens the history view at now, reading the history here (the web
    /// app reads it in its worker: [`open_history_view`]).
    pub fn open_history(&mut self) {
        if self.viewing.is_none() {
            self.open_history_read(Reading::of(&self.board), None);
        }
    }

    /// The board saved, for reading its history elsewhere, as the panel
    /// says it is reading; `None` when the view is open or being read.
    fn begin_reading_history(&mut self) -> Option<Vec<u8>> {
        if self.viewing.is_some() || self.signals.history_reading.get_untracked() {
            return None;
        }
        let saved = self.board.save().ok()?;
        self.signals.history_reading.set(true);
        Some(saved)
    }

    /// Opens the view with the history read elsewhere (or, when that
    /// failed, read here), unless it was closed while being read.
    /// `saved` is the snapshot it was read from.
    fn finish_reading_history(&mut self, reading: Result<Reading, String>, saved: &[u8]) {
        if !self.signals.history_reading.get_untracked() {
            return;
        }
        self.signals.history_reading.set(false);
        match reading {
            Ok(reading) => self.open_history_read(reading, Some(saved)),
            Err(error) => {
                crate::log::warn(&format!("the history was read on the page: {error}"));
                self.open_history();
            }
        }
    }

    /// Opens the history view at now, with `reading` (this board's history
    /// and sessions, read from `saved` when that is given).
    fn open_history_read(&mut self, reading: Reading, saved: Option<&[u8]>) {
        if self.viewing.is_some() {
            return;
        }
        self.end_text_edit();
        let Reading { history, sessions } = reading;
        let past = match saved {
            Some(saved) => self.board.past_from(&history, saved),
            None => self.board.past(&history),
        };
        let past = match past {
            Ok(past) => past,
            Err(error) => {
                notify::error(&format!("The board's history can't be shown: {error}"));
                return;
            }
        };
        let sessions = sessions
            .into_iter()
            .map(|s| SessionView {
                from: s.from,
                to: s.to,
                authors: s.authors,
                changes: s.changes,
                cards: s.cards,
                end: s.end,
            })
            .collect();
        let steps = history.changes().len();
        self.signals.history.set(Some(HistoryView {
            steps,
            step: steps,
            at: history.changes().last().map_or(0, |c| c.at),
            trimmed: history.trimmed(),
            begins_at: history.begins_at(),
            sessions,
        }));
        self.select_only(None);
        self.signals.history_ready.set(false);
        self.viewing = Some(Viewing { history, past, step: steps, moved: false });
    }

    /// Takes the next of the history viewer's segments, made in the worker.
    fn take_history_segment(&mut self, index: usize, snapshot: Vec<u8>) {
        let Some(viewing) = self.viewing.as_mut() else { return };
        if !viewing.past.add_segment(index, snapshot) {
            self.signals.history_ready.set(true);
        }
    }

    /// Makes one piece of the history viewer (see `board_model::Past::prepare`)
    /// unless the slider moved since the last call; returns whether there is
    /// more to make (false once the view is closed).
    pub fn prepare_history_piece(&mut self) -> bool {
        let Some(viewing) = self.viewing.as_mut() else { return false };
        if std::mem::take(&mut viewing.moved) {
            return true;
        }
        let more = viewing.past.prepare(&self.board);
        if !more {
            self.signals.history_ready.set(true);
        }
        more
    }

    /// Shows the board after its first `step` changes (read-only).
    pub fn show_step(&mut self, step: usize) {
        let Some(viewing) = self.viewing.as_mut() else { return };
        let step = step.min(viewing.history.changes().len());
        viewing.step = step;
        viewing.moved = true;
        let at = step.checked_sub(1).and_then(|i| viewing.history.changes().get(i)).map_or(0, |c| c.at);
        let version = viewing.history.version_after(step);
        let views = match viewing.past.show(&version) {
            Ok(board) => board_views(board),
            Err(error) => {
                notify::error(&format!("That moment of the board can't be shown: {error}"));
                return;
            }
        };
        self.show_views(views);
        self.signals.history.update(|h| {
            if let Some(h) = h {
                h.step = step;
                h.at = at;
            }
        });
    }

    /// Closes the history view: the board as it is now, editable.
    pub fn close_history(&mut self) {
        self.signals.history_reading.set(false);
        crate::file_worker::stop_history();
        if self.viewing.take().is_none() {
            return;
        }
        self.signals.history.set(None);
        let views = board_views(&self.board);
        self.show_views(views);
    }

    /// Whether the board shows its past (nothing can be edited then).
    pub fn viewing_history(&self) -> bool {
        self.viewing.is_some()
    }

    /// Makes the board as it was at the step shown, as a new change.
    pub fn restore_shown(&mut self) {
        let Some(viewing) = self.viewing.as_ref() else { return };
        let version = viewing.history.version_after(viewing.step);
        self.close_history();
        if !self.writable() {
            return;
        }
        match self.board.restore(&version) {
            Ok(()) => notify::info("Restored that version (a new change: Undo takes it back)."),
            Err(error) => notify::error(&format!("That version can't be restored: {error}")),
        }
        self.after_change();
    }

    /// Makes the selected cards as they were at the step shown again, as a
    /// new change (the rest of the board stays as it is now), and selects them.
    pub fn restore_shown_cards(&mut self) {
        let Some(viewing) = self.viewing.as_ref() else { return };
        let version = viewing.history.version_after(viewing.step);
        let ids = self.selection();
        if ids.is_empty() {
            return;
        }
        self.close_history();
        if !self.writable() {
            return;
        }
        match self.board.restore_cards(&version, &ids) {
            Ok(0) => notify::info("Those cards were not on the board then: nothing was changed."),
            Ok(count) => notify::info(&format!(
                "Restored {} as {} then (a new change: Undo takes it back).",
                plural(count, "card", "cards"),
                if count == 1 { "it was" } else { "they were" }
            )),
            Err(error) => notify::error(&format!("Those cards can't be restored: {error}")),
        }
        self.after_change();
        // Selected afresh: a returning card's view is new.
        let back: HashSet<CardId> = ids.into_iter().filter(|id| self.board.contains(*id)).collect();
        self.set_selection(HashSet::new());
        self.set_selection(back);
    }

    /// The title of a copy of the step shown: "Trip (as on 7 Dec 2026, 09:10)".
    fn shown_copy_title(&self) -> Option<String> {
        let viewing = self.viewing.as_ref()?;
        Some(copy_title(&self.board.title(), viewing_time(viewing)))
    }

    /// The board as it was at the step shown, as a new board `id` of its
    /// own: its changes, to bring into that board as it opens.
    fn copy_of_shown(&self, id: BoardId, title: &str) -> Result<Vec<u8>, String> {
        let viewing = self.viewing.as_ref().ok_or("the history view is not open")?;
        let version = viewing.history.version_after(viewing.step);
        let replica = super::fresh_replica(&self.platform);
        let copy = self.board.copy_at(&version, id, title, replica).map_err(|e| e.to_string())?;
        Ok(copy.updates_since(&board_model::Version::empty()))
    }

    /// Brings a copied past into this (new) board.
    pub(super) fn take_copy(&mut self, bytes: &[u8]) {
        if let Err(error) = self.board.import(bytes) {
            notify::error(&format!("The copy could not be made: {error}"));
        }
        self.board.clear_undo();
        self.after_change();
    }

    /// Replaces what the view shows with `views` (cards in stacking order):
    /// signals of cards still there are updated in place, so only what
    /// differs is drawn again.
    fn show_views(&mut self, (views, edges, title): (Vec<CardView>, Vec<Edge>, String)) {
        let mut order = Vec::with_capacity(views.len());
        let mut seen = HashSet::with_capacity(views.len());
        for mut view in views {
            self.decorate(&mut view);
            let id = view.id;
            seen.insert(id);
            let signal = match self.cards.get(&id) {
                Some(signal) => {
                    self.show_card(signal, view);
                    signal.clone()
                }
                None => {
                    let signal = ArcRwSignal::new(view);
                    self.cards.insert(id, signal.clone());
                    *self.card_epochs.entry(id).or_default() += 1;
                    signal
                }
            };
            order.push(CardEntry { id, signal });
        }
        self.cards.retain(|id, _| seen.contains(id));
        let same_order = self.signals.order.with_untracked(|old| {
            old.len() == order.len() && old.iter().zip(&order).all(|(a, b)| a.id == b.id)
        });
        if !same_order {
            self.signals.order.set(order);
        }
        self.show_edges(edges);
        if self.signals.title.with_untracked(|old| *old != title) {
            self.signals.title.set(title);
        }
    }
}

/// What the view draws of `board`: its cards bottom first, its edges, its title.
fn board_views(board: &Board) -> (Vec<CardView>, Vec<Edge>, String) {
    let mut cards = board.cards();
    cards.sort_by_key(|c| c.z);
    (cards.iter().map(CardView::from_card).collect(), board.edges(), board.title())
}

fn viewing_time(viewing: &Viewing) -> i64 {
    viewing.step.checked_sub(1).and_then(|i| viewing.history.changes().get(i)).map_or(0, |c| c.at)
}

/// "Trip (as on 7 Dec 2026, 09:10)".
fn copy_title(title: &str, at: i64) -> String {
    let base = if title.trim().is_empty() { "Untitled board" } else { title.trim() };
    let when = if at > 0 { crate::dom::local_date_time(at) } else { "an earlier time".to_owned() };
    let full = format!("{base} (as on {when})");
    full.chars().take(board_model::card::limits::MAX_TITLE_CHARS).collect()
}

/// Opens the history view: the board's history is read in the file worker
/// (seconds on a long past) while the page goes on; then the viewer is
/// prepared in idle time.
pub async fn open_history_view() {
    let Some(saved) = with(Engine::begin_reading_history).flatten() else { return };
    let segment = |index: usize, snapshot: Vec<u8>| {
        with(|e| e.take_history_segment(index, snapshot));
    };
    // The worker stopped before every segment was made: the page makes the rest.
    let ended = |outcome: Result<(), String>| {
        if let Err(error) = outcome {
            crate::log::warn(&format!("the history viewer is prepared on the page: {error}"));
            prepare_history_when_idle();
        }
    };
    let reading = crate::file_worker::history(&saved, segment, ended).await;
    let read_here = reading.is_err();
    with(|e| e.finish_reading_history(reading, &saved));
    if read_here {
        prepare_history_when_idle();
    }
}

/// Prepares the open history view a piece at a time while the page is
/// idle: a piece every [`PREPARE_TICK_MS`], none while the slider moves.
pub fn prepare_history_when_idle() {
    crate::dom::set_timeout(PREPARE_TICK_MS, || {
        if with(Engine::prepare_history_piece) == Some(true) {
            prepare_history_when_idle();
        }
    });
}

/// "Copy to a new board": makes the board and opens it with the past in it.
pub async fn copy_shown_to_new_board() {
    let platform = crate::platform::use_platform();
    let Some(title) = with(|e| e.shown_copy_title()).flatten() else { return };
    let link = match platform.library.create(&title).await {
        Ok(link) => link,
        Err(error) => {
            notify::error(&format!("Could not make a board for the copy: {error}"));
            return;
        }
    };
    match with(|e| e.copy_of_shown(BoardId(link.board), &title)) {
        Some(Ok(bytes)) => {
            super::files::await_copy(link.board, bytes);
            with(Engine::close_history);
            notify::info(&format!("Opened “{title}”, a new board."));
            crate::dom::set_hash(&link.fragment());
        }
        Some(Err(error)) => notify::error(&format!("The copy could not be made: {error}")),
        None => {}
    }
}
