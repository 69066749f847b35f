//! The board's past. Every change records when it was made (the caller's
//! clock, passed in with [`Board::set_clock`]; this module never reads one)
//! and each replica's author's name (a root map `authors`, replica id →
//! name, written once per replica and name, outside undo). From those:
//! the changes in time order, grouped into sessions of work; the board as
//! it was at any point (a read-only copy); restoring a past version as a
//! new change (history is never rewritten: peers see the restore like any
//! edit); and copying the past into a new board.
//!
//! Boards from before times were recorded have changes at time 0 ("time
//! unknown"); a trimmed (shallow) board's history begins where it was
//! trimmed ([`History::trimmed`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use loro::{
    ContainerID, ExportMode, Frontiers, ID, IdSpan, JsonMapOp, JsonOpContent, LoroDoc, LoroValue,
    ValueOrContainer, VersionVector,
};

use super::{Board, BoardId, CARDS, ReplicaId};
use crate::card::{self, Card, CardId, Content, NewCard, limits};
use crate::edge::{Edge, EdgeId, NewEdge};
use crate::error::Error;

/// The root map of authors' names, by replica id.
pub(crate) const AUTHORS: &str = "authors";
/// Commits this module makes for itself (an author's name) carry this
/// origin, which undo skips.
pub(crate) const BOOKKEEPING: &str = "corkboard:bookkeeping";
/// A replica's edits within this many seconds of its change's start join
/// that change (its time is the first edit's): the history's finest step.
pub(crate) const CHANGE_SECS: i64 = 10;
/// A pause longer than this between changes starts a new session of work.
pub const SESSION_GAP_SECS: i64 = 30 * 60;

/// A point in the board's history: the changes it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PastVersion {
    pub(crate) frontiers: Frontiers,
    /// How many of [`History::changes`] it holds.
    changes: usize,
}

/// One change: a run of operations one replica made at one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryChange {
    pub replica: ReplicaId,
    /// The replica's counter at its first operation.
    pub counter: i32,
    /// How many operations it holds.
    pub ops: usize,
    /// Seconds since the Unix epoch; 0 when the board did not record times yet.
    pub at: i64,
    pub lamport: u32,
    /// The name its author went by, if the replica said.
    pub author: Option<String>,
}

impl HistoryChange {
    fn last_op(&self) -> ID {
        ID::new(self.replica.0, self.counter + self.ops.saturating_sub(1) as i32)
    }
}

/// A session of work: changes with no pause longer than
/// [`SESSION_GAP_SECS`] between them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkSession {
    /// When its first and last changes were made (seconds since the epoch; 0: unknown).
    pub from: i64,
    pub to: i64,
    /// Who made its changes, in the order they first did.
    pub authors: Vec<String>,
    pub changes: usize,
    /// Cards it touched (added, moved, edited or deleted).
    pub cards: usize,
    /// Where its changes are in [`History::changes`]: `first..end`.
    pub first: usize,
    pub end: usize,
}

/// The board's changes in the order they were made.
#[derive(Clone, Debug, Default)]
pub struct History {
    changes: Vec<HistoryChange>,
    trimmed: bool,
    /// Where a trimmed history begins (empty when it is whole).
    root: Vec<ID>,
}

/// A board's history and its sessions of work, read in one place and used
/// in another (the web app reads them in a worker, off the page's thread):
/// [`Reading::encode`] and [`Reading::decode`].
#[derive(Clone, Debug, Default)]
pub struct Reading {
    pub history: History,
    pub sessions: Vec<WorkSession>,
}

/// The wire form of a [`Reading`] (postcard): authors' names once, by index.
#[derive(serde::Serialize, serde::Deserialize)]
struct ReadingWire {
    changes: Vec<ChangeWire>,
    authors: Vec<String>,
    trimmed: bool,
    root: Vec<(u64, i32)>,
    sessions: Vec<SessionWire>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ChangeWire {
    replica: u64,
    counter: i32,
    ops: u32,
    at: i64,
    lamport: u32,
    author: Option<u32>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SessionWire {
    from: i64,
    to: i64,
    authors: Vec<u32>,
    changes: u32,
    cards: u32,
    first: u32,
    end: u32,
}

impl Reading {
    /// Reads `board`'s history and sessions.
    pub fn of(board: &Board) -> Reading {
        let history = board.history();
        let sessions = board.sessions(&history);
        Reading { history, sessions }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut authors: Vec<String> = Vec::new();
        let mut author_index = |name: &str| -> u32 {
            let index = authors.iter().position(|known| known == name).unwrap_or_else(|| {
                authors.push(name.to_owned());
                authors.len() - 1
            });
            u32::try_from(index).unwrap_or(u32::MAX)
        };
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let changes = self
            .history
            .changes
            .iter()
            .map(|c| ChangeWire {
                replica: c.replica.0,
                counter: c.counter,
                ops: count(c.ops),
                at: c.at,
                lamport: c.lamport,
                author: c.author.as_deref().map(&mut author_index),
            })
            .collect();
        let sessions = self
            .sessions
            .iter()
            .map(|s| SessionWire {
                from: s.from,
                to: s.to,
                authors: s.authors.iter().map(|name| author_index(name)).collect(),
                changes: count(s.changes),
                cards: count(s.cards),
                first: count(s.first),
                end: count(s.end),
            })
            .collect();
        let wire = ReadingWire {
            changes,
            authors,
            trimmed: self.history.trimmed,
            root: self.history.root.iter().map(|id| (id.peer, id.counter)).collect(),
            sessions,
        };
        postcard::to_allocvec(&wire).unwrap_or_default()
    }

    /// Reads what [`Reading::encode`] wrote; anything else is an error.
    pub fn decode(bytes: &[u8]) -> Result<Reading, crate::error::LoadError> {
        let corrupt = |what: &str| crate::error::LoadError::Corrupt(format!("a history reading: {what}"));
        let wire: ReadingWire = postcard::from_bytes(bytes).map_err(|error| corrupt(&error.to_string()))?;
        let author =
            |index: u32| wire.authors.get(index as usize).cloned().ok_or_else(|| corrupt("no such author"));
        let changes = wire
            .changes
            .iter()
            .map(|c| {
                Ok(HistoryChange {
                    replica: ReplicaId(c.replica),
                    counter: c.counter,
                    ops: c.ops as usize,
                    at: c.at,
                    lamport: c.lamport,
                    author: c.author.map(author).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let total = changes.len();
        let sessions = wire
            .sessions
            .iter()
            .map(|s| {
                let (first, end) = (s.first as usize, s.end as usize);
                if first > end || end > total {
                    return Err(corrupt("a session outside the history"));
                }
                Ok(WorkSession {
                    from: s.from,
                    to: s.to,
                    authors: s.authors.iter().map(|&index| author(index)).collect::<Result<_, _>>()?,
                    changes: s.changes as usize,
                    cards: s.cards as usize,
                    first,
                    end,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let root = wire.root.iter().map(|&(peer, counter)| ID::new(peer, counter)).collect();
        Ok(Reading { history: History { changes, trimmed: wire.trimmed, root }, sessions })
    }
}

impl History {
    /// Every change, oldest first (by time, then causal order).
    pub fn changes(&self) -> &[HistoryChange] {
        &self.changes
    }

    /// True when older history was trimmed away (a shallow snapshot): it
    /// begins at its first change.
    pub fn trimmed(&self) -> bool {
        self.trimmed
    }

    /// When the history begins, if times were recorded.
    pub fn begins_at(&self) -> Option<i64> {
        self.changes.iter().map(|c| c.at).find(|at| *at > 0)
    }

    /// The version holding the first `count` changes (and whatever they
    /// depend on): what the board looked like after them.
    pub fn version_after(&self, count: usize) -> PastVersion {
        let mut last: HashMap<u64, i32> = HashMap::new();
        // A trimmed history begins at its root, not at nothing.
        for id in &self.root {
            let entry = last.entry(id.peer).or_insert(id.counter);
            *entry = (*entry).max(id.counter);
        }
        for change in self.changes.iter().take(count) {
            let end = change.last_op();
            let entry = last.entry(end.peer).or_insert(end.counter);
            *entry = (*entry).max(end.counter);
        }
        let frontiers = last.into_iter().map(|(peer, counter)| ID::new(peer, counter)).collect();
        PastVersion { frontiers, changes: count.min(self.changes.len()) }
    }

    /// The version holding every change made at or before `at` (seconds
    /// since the epoch), and what those depend on.
    pub fn version_at(&self, at: i64) -> PastVersion {
        self.version_after(self.changes.partition_point(|c| c.at <= at))
    }
}

impl Board {
    /// The time this replica's next changes are recorded at, in
    /// milliseconds since the Unix epoch (kept in seconds, as Loro does).
    /// Callers set it from their clock before they edit; a change never
    /// records a time before the changes it follows.
    pub fn set_clock(&mut self, now_ms: i64) {
        self.now_secs = now_ms.div_euclid(1000).max(0);
    }

    /// The name this replica's changes are recorded under (written into the
    /// board once, with this replica's next change).
    pub fn set_author(&mut self, name: &str) {
        let name: String = name.trim().chars().take(limits::MAX_AUTHOR_CHARS).collect();
        if self.author != name {
            self.author = name;
            self.author_recorded.store(false, Ordering::Relaxed);
        }
    }

    /// Commits the pending operations at this replica's time; then, the
    /// first time, records its author's name (a commit of its own, which
    /// undo skips: undoing an edit never forgets who made it).
    pub(crate) fn commit(&self) {
        self.stamp_next_commit();
        self.doc.commit();
        if self.author.is_empty() || self.author_recorded.swap(true, Ordering::Relaxed) {
            return;
        }
        let authors = self.doc.get_map(AUTHORS);
        let me = self.doc.peer_id().to_string();
        let known = matches!(authors.get(&me), Some(ValueOrContainer::Value(LoroValue::String(s))) if *s == *self.author);
        if !known && authors.insert(&me, self.author.as_str()).is_ok() {
            self.doc.set_next_commit_origin(BOOKKEEPING);
            self.stamp_next_commit();
            self.doc.commit();
        }
    }

    /// The next commit is made at this replica's time (Loro keeps a change
    /// no earlier than those it follows).
    pub(crate) fn stamp_next_commit(&self) {
        if self.now_secs > 0 {
            self.doc.set_next_commit_timestamp(self.now_secs);
        }
    }

    /// Every change this board holds, oldest first, with its author.
    pub fn history(&self) -> History {
        let authors = self.authors();
        let heads: Vec<ID> = self.doc.oplog_frontiers().iter().collect();
        let mut changes = Vec::new();
        // Every change from the heads back (to where a trimmed history begins).
        let _ = self.doc.travel_change_ancestors(&heads, &mut |meta| {
            changes.push(HistoryChange {
                replica: ReplicaId(meta.id.peer),
                counter: meta.id.counter,
                ops: meta.len.max(1),
                at: meta.timestamp.max(0),
                lamport: meta.lamport,
                author: authors.get(&meta.id.peer).cloned(),
            });
            std::ops::ControlFlow::Continue(())
        });
        changes.sort_by_key(|c| (c.at, c.lamport, c.replica, c.counter));
        let trimmed = self.doc.is_shallow();
        let root = if trimmed { self.doc.shallow_since_frontiers().iter().collect() } else { Vec::new() };
        History { changes, trimmed, root }
    }

    /// Sessions of work, oldest first: who worked when, on how many cards.
    pub fn sessions(&self, history: &History) -> Vec<WorkSession> {
        let mut sessions: Vec<WorkSession> = Vec::new();
        let mut cards: HashSet<CardId> = HashSet::new();
        let mut owners: HashMap<ContainerID, Option<CardId>> = HashMap::new();
        for (index, change) in history.changes.iter().enumerate() {
            let starts_new = match sessions.last() {
                None => true,
                Some(last) => change.at - last.to > SESSION_GAP_SECS,
            };
            if starts_new {
                if let Some(last) = sessions.last_mut() {
                    last.cards = cards.len();
                }
                cards.clear();
                sessions.push(WorkSession {
                    from: change.at,
                    to: change.at,
                    authors: Vec::new(),
                    changes: 0,
                    cards: 0,
                    first: index,
                    end: index,
                });
            }
            let Some(session) = sessions.last_mut() else { continue };
            session.to = session.to.max(change.at);
            session.changes += 1;
            session.end = index + 1;
            if let Some(author) = &change.author
                && !session.authors.contains(author)
            {
                session.authors.push(author.clone());
            }
            let touched =
                self.doc.get_changed_containers_in(ID::new(change.replica.0, change.counter), change.ops);
            let mut cards_map = false;
            for container in touched {
                cards_map |= is_root(&container, CARDS);
                let card = *owners.entry(container).or_insert_with_key(card_of_container);
                cards.extend(card);
            }
            if cards_map {
                // A card added or deleted: the keys the change wrote in `cards`.
                cards.extend(self.cards_keyed_in(change));
            }
        }
        if let Some(last) = sessions.last_mut() {
            last.cards = cards.len();
        }
        sessions
    }

    /// The board as it was at `version`: a copy to read (its replica id is
    /// this one's; it is never to be edited or sent).
    pub fn at(&self, version: &PastVersion) -> Result<Board, Error> {
        let doc = self.doc.fork_at(&version.frontiers)?;
        Board::with_doc(doc, self.replica())
    }

    /// A viewer of this board's past (`history`, as [`Board::history`]
    /// read it): a copy of it that moves to any past version (and back to
    /// the present) cheaply, step after step, for a history slider. A long
    /// past is cut into segments of about [`SEGMENT_OPS`] operations, each
    /// shown by a small copy of its own, prepared a piece at a time while
    /// the viewer is idle ([`Past::prepare`]): a jump costs about one
    /// segment's work, not the whole past's.
    pub fn past(&self, history: &History) -> Result<Past, Error> {
        self.past_in_segments(history, SEGMENT_OPS)
    }

    /// [`Board::past`] from `snapshot`, a snapshot of this board the caller
    /// holds already (saved when `history` was read: the web app saves one
    /// for its worker), which spares copying the board again.
    pub fn past_from(&self, history: &History, snapshot: &[u8]) -> Result<Past, Error> {
        let whole = Board::load_headless(snapshot, self.replica())
            .map_err(|error| Error::Document(error.to_string()))?;
        self.past_of(history, whole, SEGMENT_OPS)
    }

    /// [`Board::past`] with segments of about `segment_ops` operations.
    pub fn past_in_segments(&self, history: &History, segment_ops: usize) -> Result<Past, Error> {
        let whole = Board::with_doc(self.doc.fork(), self.replica())?;
        self.past_of(history, whole, segment_ops)
    }

    /// A viewer of `history` whose last segment `whole` shows.
    fn past_of(&self, history: &History, whole: Board, segment_ops: usize) -> Result<Past, Error> {
        let mut ends = Vec::new();
        // A trimmed past is shown by the whole copy alone.
        if !history.trimmed {
            let total: u64 = history.changes.iter().map(|c| c.ops as u64).sum();
            let segments = total.div_ceil(segment_ops.max(1) as u64).min(MAX_SEGMENTS as u64);
            let (mut seen, mut next) = (0u64, 1u64);
            for (index, change) in history.changes.iter().enumerate() {
                seen += change.ops as u64;
                if next < segments && seen >= total * next / segments {
                    let version = history.version_after(index + 1);
                    // The version with everything it depends on.
                    let Some(vv) = self.doc.frontiers_to_vv(&version.frontiers) else { break };
                    ends.push(SegmentEnd { changes: index + 1, vv });
                    next = seen * segments / total + 1;
                }
            }
        }
        Ok(Past { whole, ends, sweep: None, segments: Vec::new(), recent: Vec::new(), failed: false })
    }

    /// Makes the board as it was at `version` again, as one new change
    /// (one undo step; every peer sees it like any edit).
    pub fn restore(&mut self, version: &PastVersion) -> Result<(), Error> {
        self.doc.commit();
        self.doc.revert_to(&version.frontiers)?;
        self.commit();
        Ok(())
    }

    /// Makes cards `ids` as they were at `version` again, as one new change
    /// (one undo step): a card still on the board gets its place, size,
    /// colour and text back; a card deleted since comes back (with its id,
    /// so what pointed at it points at it again), with the edges it had
    /// then to cards that are still here. Cards that did not exist at
    /// `version` are left alone. Returns how many cards were restored.
    pub fn restore_cards(&mut self, version: &PastVersion, ids: &[CardId]) -> Result<usize, Error> {
        let past = self.at(version)?;
        let wanted: HashSet<CardId> = ids.iter().copied().collect();
        let then: Vec<Card> = past.cards().into_iter().filter(|card| wanted.contains(&card.id)).collect();
        if then.is_empty() {
            return Ok(0);
        }
        self.doc.commit();
        self.begin_undo_group()?;
        let result = self.put_back(&past, &then);
        self.end_undo_group();
        result.map(|()| then.len())
    }

    /// The work of [`Board::restore_cards`], inside its undo group.
    fn put_back(&mut self, past: &Board, then: &[Card]) -> Result<(), Error> {
        let mut returning = Vec::new();
        for card in then {
            if !self.contains(card.id) {
                // Its text is written below: a card's containers keep their
                // state when it is deleted, so the text may already be there.
                let content = match &card.content {
                    Content::Note { .. } => Content::Note { text: String::new() },
                    other => other.clone(),
                };
                returning.push(NewCard {
                    id: card.id,
                    position: card.position,
                    size: Some(card.size),
                    color: card.color.clone(),
                    content,
                    created_by: card.created_by.clone(),
                    created_at: card.created_at,
                });
            }
        }
        let returned: HashSet<CardId> = returning.iter().map(|new| new.id).collect();
        self.add_cards(returning)?;
        let kept: Vec<(CardId, String)> =
            returned.iter().filter_map(|id| past.kept_fields(*id).map(|kept| (*id, kept))).collect();
        self.set_kept_fields(&kept, &[])?;
        for card in then {
            if !returned.contains(&card.id) {
                self.set_bounds(card.id, card.position, card.size)?;
                self.set_color(&[card.id], card.color.clone())?;
            }
            match &card.content {
                Content::Note { text } => self.set_text(card.id, text)?,
                Content::Link { url, title } if !returned.contains(&card.id) => {
                    self.set_link(card.id, url, title)?
                }
                Content::Group { label } if !returned.contains(&card.id) => {
                    self.set_group_label(card.id, label)?
                }
                _ => {}
            }
        }
        // The returning cards' edges, where both ends are on the board now.
        let edges: Vec<Edge> = past
            .edges_touching(&returned)
            .into_iter()
            .filter(|edge| self.edge(edge.id).is_none())
            .filter(|edge| self.contains(edge.from.card) && self.contains(edge.to.card))
            .collect();
        let labels: Vec<(EdgeId, String)> = edges.iter().map(|edge| (edge.id, edge.label.clone())).collect();
        self.add_edges(
            edges
                .into_iter()
                .map(|edge| NewEdge {
                    id: edge.id,
                    from: edge.from,
                    to: edge.to,
                    color: edge.color,
                    label: String::new(),
                    created_by: edge.created_by,
                    created_at: edge.created_at,
                })
                .collect(),
        )?;
        for (id, label) in labels {
            self.set_edge_label(id, &label)?;
        }
        Ok(())
    }

    /// A new board, `id` titled `title`, holding this board as it was at
    /// `version` with the history up to it.
    pub fn copy_at(
        &self,
        version: &PastVersion,
        id: BoardId,
        title: &str,
        replica: ReplicaId,
    ) -> Result<Board, Error> {
        card::check_chars("title", title, limits::MAX_TITLE_CHARS)?;
        let doc = self.doc.fork_at(&version.frontiers)?;
        let mut board = Board::with_doc(doc, replica)?;
        board.now_secs = self.now_secs;
        board.set_author(&self.author.clone());
        board.meta.insert("id", id.to_string())?;
        board.meta.insert("title", title)?;
        board.commit();
        board.clear_undo();
        Ok(board)
    }

    /// The cards whose entries in the root `cards` map `change` wrote (added
    /// or deleted them).
    fn cards_keyed_in(&self, change: &HistoryChange) -> Vec<CardId> {
        let span = IdSpan::new(change.replica.0, change.counter, change.counter + change.ops as i32);
        self.doc
            .export_json_in_id_span(span)
            .iter()
            .flat_map(|json| &json.ops)
            .filter(|op| is_root(&op.container, CARDS))
            .filter_map(|op| match &op.content {
                JsonOpContent::Map(JsonMapOp::Insert { key, .. } | JsonMapOp::Delete { key }) => {
                    key.parse().ok()
                }
                _ => None,
            })
            .collect()
    }

    /// Authors' names by replica, as the board holds them.
    fn authors(&self) -> HashMap<u64, String> {
        let mut names = HashMap::new();
        if let LoroValue::Map(map) = self.doc.get_map(AUTHORS).get_value() {
            for (peer, name) in map.iter() {
                if let (Ok(peer), LoroValue::String(name)) = (peer.parse::<u64>(), name) {
                    names.insert(peer, name.chars().take(limits::MAX_AUTHOR_CHARS).collect());
                }
            }
        }
        names
    }
}

/// Operations in one segment of a [`Past`]: about what a jump costs at
/// most (see BENCHMARKS.md for the time).
pub const SEGMENT_OPS: usize = 20_000;
/// Segments of a [`Past`] at most.
const MAX_SEGMENTS: usize = 128;
/// Segment copies a [`Past`] keeps loaded (each holds one segment's changes).
const RECENT_SEGMENTS: usize = 3;

/// Copies of a board moved through its past (see [`Board::past`]); they are
/// only read, never edited or sent.
///
/// Loro finds a map key's value at a past version by walking that key's
/// writes back from the latest one the document holds, so moving a copy
/// of the whole board to a moment long ago costs every write made since.
/// The past is therefore cut into segments, and a moment is shown by a copy
/// that holds only its segment: a trimmed (shallow) snapshot that begins
/// where the segment begins and ends where it ends. The segments' snapshots
/// are made oldest first by a copy that takes in the board's changes one
/// segment at a time ([`Past::prepare`]). The last segment, and any not
/// made yet, is shown by a copy of the whole board.
#[derive(Debug)]
pub struct Past {
    whole: Board,
    /// Where each segment but the last ends, oldest first.
    ends: Vec<SegmentEnd>,
    /// The copy that takes in the changes while the segments are made: it
    /// holds them up to the end of the last segment made.
    sweep: Option<LoroDoc>,
    /// Each segment made so far, as a snapshot holding only its history.
    segments: Vec<Vec<u8>>,
    /// Copies of segments shown lately, by segment, the latest last.
    recent: Vec<(usize, Board)>,
    /// A segment could not be made: the whole copy shows everything.
    failed: bool,
}

#[derive(Debug)]
struct SegmentEnd {
    /// How many of the history's changes come before it.
    changes: usize,
    /// The version there, with everything it depends on.
    vv: VersionVector,
}

impl Past {
    /// The board as it was at `version`.
    pub fn show(&mut self, version: &PastVersion) -> Result<&Board, Error> {
        let segment = self.ends.partition_point(|end| end.changes < version.changes);
        // A segment not made yet is shown by the whole copy: slower, not wrong.
        if segment < self.segments.len() && !self.failed {
            // The version as the copy names it: a replica idle since before
            // the segment began is there only as part of where it begins.
            let wanted = self.whole.doc.frontiers_to_vv(&version.frontiers).ok_or(Error::UnknownVersion)?;
            match self.segment(segment).and_then(|index| {
                let copy = &self.recent[index].1.doc;
                copy.checkout(&copy.vv_to_frontiers(&wanted))?;
                Ok(index)
            }) {
                Ok(index) => return Ok(&self.recent[index].1),
                Err(_) => self.failed = true,
            }
        }
        self.whole.doc.checkout(&version.frontiers)?;
        Ok(&self.whole)
    }

    /// Makes the next segment from `board`, the board this past is of (a
    /// bounded piece of work, for idle time); returns whether more remain.
    /// Every moment can be shown before and while they are made, by the
    /// whole copy until its segment is.
    pub fn prepare(&mut self, board: &Board) -> bool {
        if self.preparing() && self.make_segment(board).is_err() {
            self.failed = true;
        }
        self.preparing()
    }

    /// The snapshot of segment `index` once it is made (to hand to another
    /// viewer of the same board and history: [`Past::add_segment`]).
    pub fn segment_snapshot(&self, index: usize) -> Option<&[u8]> {
        self.segments.get(index).map(Vec::as_slice)
    }

    /// Takes segment `index`'s snapshot as made elsewhere (by a viewer of
    /// the same board and history: the web app makes them in its worker),
    /// if it is the next one; returns whether more remain. A snapshot that
    /// turns out not to load makes the whole copy show everything, as a
    /// failed segment does.
    pub fn add_segment(&mut self, index: usize, snapshot: Vec<u8>) -> bool {
        if self.preparing() && index == self.segments.len() {
            self.segments.push(snapshot);
        }
        self.preparing()
    }

    /// Whether moments before the last segment are shown by segment
    /// copies (false: by the whole copy alone, for a short or trimmed past,
    /// or after a segment could not be made).
    pub fn segmented(&self) -> bool {
        !self.failed && !self.ends.is_empty()
    }

    /// Whether pieces remain to prepare.
    pub fn preparing(&self) -> bool {
        !self.failed && self.segments.len() < self.ends.len()
    }

    /// Makes the next segment's snapshot, with changes read from `board`.
    fn make_segment(&mut self, board: &Board) -> Result<(), Error> {
        let segment = self.segments.len();
        let from = segment.checked_sub(1).map(|before| &self.ends[before].vv);
        let Some(to) = self.ends.get(segment).map(|end| &end.vv) else { return Ok(()) };
        let spans: Vec<IdSpan> = to
            .iter()
            .filter_map(|(peer, end)| {
                let start = from.and_then(|from| from.get(peer).copied()).unwrap_or(0);
                (start < *end).then(|| IdSpan::new(*peer, start, *end))
            })
            .collect();
        let changes = board
            .doc
            .export(ExportMode::updates_in_range(spans))
            .map_err(|error| Error::Export(error.to_string()))?;
        let sweep = self.sweep.get_or_insert_with(LoroDoc::new);
        let status = sweep.import(&changes)?;
        if status.pending.is_some() {
            return Err(Error::UnknownVersion);
        }
        let mode = match from {
            Some(from) => ExportMode::shallow_snapshot_owned(sweep.vv_to_frontiers(from)),
            None => ExportMode::Snapshot,
        };
        let snapshot = sweep.export(mode).map_err(|error| Error::Export(error.to_string()))?;
        self.segments.push(snapshot);
        if !self.preparing() {
            self.sweep = None;
        }
        Ok(())
    }

    /// The place in `recent` of (made) segment `segment`'s copy, loaded if
    /// need be.
    fn segment(&mut self, segment: usize) -> Result<usize, Error> {
        if let Some(index) = self.recent.iter().position(|(s, _)| *s == segment) {
            let copy = self.recent.remove(index);
            self.recent.push(copy);
            return Ok(self.recent.len() - 1);
        }
        let snapshot = self.segments.get(segment).ok_or(Error::UnknownVersion)?;
        let doc = LoroDoc::from_snapshot(snapshot)?;
        let copy = Board::with_doc(doc, self.whole.replica())?;
        if self.recent.len() >= RECENT_SEGMENTS {
            self.recent.remove(0);
        }
        self.recent.push((segment, copy));
        Ok(self.recent.len() - 1)
    }
}

fn is_root(container: &ContainerID, root: &str) -> bool {
    matches!(container, ContainerID::Root { name, .. } if name.as_str() == root)
}

/// The card a container belongs to: a card's own map, or something inside
/// it (a note's text); `None` for the board's own containers and edges.
fn card_of_container(container: &ContainerID) -> Option<CardId> {
    let mut current = container.clone();
    // Mergeable containers name their parent and key; a card is a key of `cards`.
    for _ in 0..8 {
        let (parent, key, _) = current.parse_mergeable()?;
        if is_root(&parent, CARDS) {
            return key.parse().ok();
        }
        current = parent;
    }
    None
}
