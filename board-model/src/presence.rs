//! Presence: who is on a board, where their cursor is, what they selected and
//! what they are dragging. Ephemeral: never part of the document or its
//! history, and forgotten when not refreshed. Times are passed in.

use std::collections::BTreeMap;

use crate::card::{CardId, Point};

/// How long a peer's presence lives without a refresh, in milliseconds.
pub const EXPIRY_MS: u64 = 30_000;
/// How often a session re-sends unchanged presence to keep it alive.
pub const REFRESH_MS: u64 = 10_000;
/// Most cards a presence may list as selected or dragged.
pub const MAX_LISTED_CARDS: usize = 1_000;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// One peer's presence on a board.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct State {
    /// Pointer position in board coordinates, when over the board.
    pub cursor: Option<Point>,
    pub selection: Vec<CardId>,
    /// Cards being dragged right now and where they are: shown live by
    /// others, committed to the document on drop.
    pub dragging: Vec<(CardId, Point)>,
}

/// How the packets of a connection to a peer travel, as its transport reads
/// it from the selected ICE candidate pair (for people to see; no rule
/// depends on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Path {
    /// Straight between the two devices' own addresses.
    Direct,
    /// Straight between the devices, through the address a NAT maps one of
    /// them to (learnt through STUN).
    DirectThroughNat,
    /// Through a TURN relay.
    Relayed,
}

impl Path {
    /// The path of a candidate pair from its two candidate types, as
    /// WebRTC names them (`host`, `srflx`, `prflx`, `relay`).
    pub fn from_candidate_types(local: &str, remote: &str) -> Path {
        let kinds = [local, remote];
        if kinds.contains(&"relay") {
            Path::Relayed
        } else if kinds.iter().any(|kind| matches!(*kind, "srflx" | "prflx")) {
            Path::DirectThroughNat
        } else {
            Path::Direct
        }
    }

    /// In plain words, for logs and the people list.
    pub fn as_str(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::DirectThroughNat => "direct (through NAT)",
            Path::Relayed => "relayed (TURN)",
        }
    }
}

/// Who a peer is, as told in its hello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    state: State,
    updated_at: u64,
}

/// The presence of every peer of one board, keyed by peer.
#[derive(Clone, Debug, Default)]
pub struct Store {
    peers: BTreeMap<u64, Entry>,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a peer's presence. Returns true when it differs from what was held.
    pub fn apply(&mut self, peer: u64, state: State, now_ms: u64) -> bool {
        let changed = self.peers.get(&peer).is_none_or(|entry| entry.state != state);
        self.peers.insert(peer, Entry { state, updated_at: now_ms });
        changed
    }

    /// Forgets a peer (it said bye or its connection closed).
    pub fn remove(&mut self, peer: u64) -> bool {
        self.peers.remove(&peer).is_some()
    }

    /// Forgets every peer not refreshed within [`EXPIRY_MS`]; returns them.
    pub fn expire(&mut self, now_ms: u64) -> Vec<u64> {
        let expired: Vec<u64> = self
            .peers
            .iter()
            .filter(|(_, entry)| now_ms.saturating_sub(entry.updated_at) > EXPIRY_MS)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in &expired {
            self.peers.remove(peer);
        }
        expired
    }

    pub fn get(&self, peer: u64) -> Option<&State> {
        self.peers.get(&peer).map(|entry| &entry.state)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &State)> {
        self.peers.iter().map(|(peer, entry)| (*peer, &entry.state))
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f64) -> State {
        State { cursor: Some(Point { x, y: 0.0 }), ..State::default() }
    }

    #[test]
    fn presence_expires_without_refresh() {
        let mut store = Store::new();
        store.apply(1, at(1.0), 0);
        store.apply(2, at(2.0), 20_000);
        assert_eq!(store.expire(EXPIRY_MS + 1), vec![1]);
        assert!(store.get(1).is_none());
        assert!(store.get(2).is_some());
    }

    #[test]
    fn a_refresh_keeps_presence_alive_and_reports_changes() {
        let mut store = Store::new();
        assert!(store.apply(1, at(1.0), 0));
        assert!(!store.apply(1, at(1.0), 25_000));
        assert!(store.expire(40_000).is_empty());
        assert!(store.apply(1, at(2.0), 41_000));
    }
}
