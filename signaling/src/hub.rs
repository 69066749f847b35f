//! The rooms: which connection is which peer in which room, and delivery of
//! frames to them. Each connection has a bounded outbox; a connection that
//! cannot keep up is cut off rather than allowed to grow the server's memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, mpsc};

use crate::Limits;
use crate::wire::{ErrorCode, ServerFrame};

/// One connection's identity inside the hub.
pub type ConnId = u64;

/// How a connection is reached: its outbox and its kill switch.
#[derive(Clone, Debug)]
pub struct Outbox {
    pub conn: ConnId,
    pub tx: mpsc::Sender<Arc<str>>,
    pub kill: Arc<Notify>,
}

impl Outbox {
    /// Queues a frame; a full outbox means a slow consumer, which is cut off.
    fn deliver(&self, frame: &Arc<str>) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(Arc::clone(frame)) {
            self.kill.notify_one();
        }
    }
}

#[derive(Debug, Default)]
struct Rooms {
    rooms: HashMap<String, HashMap<String, Outbox>>,
}

/// Every room and its members.
#[derive(Debug)]
pub struct Hub {
    pub limits: Limits,
    /// The STUN/TURN servers handed to each client as it joins.
    pub ice: crate::ice::IceConfig,
    rooms: Mutex<Rooms>,
    next_conn: AtomicU64,
    connections: AtomicUsize,
}

/// Counts for `/healthz` and the load test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub connections: usize,
    pub rooms: usize,
    pub peers: usize,
}

impl Hub {
    pub fn new(limits: Limits) -> Hub {
        Hub::with_ice(limits, crate::ice::IceConfig::default())
    }

    /// A hub handing `ice` to every client that joins a room.
    pub fn with_ice(limits: Limits, ice: crate::ice::IceConfig) -> Hub {
        Hub {
            limits,
            ice,
            rooms: Mutex::default(),
            next_conn: AtomicU64::new(1),
            connections: AtomicUsize::new(0),
        }
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, Rooms> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn connect(&self) -> ConnId {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub fn disconnect(&self, conn: ConnId, memberships: &HashMap<String, String>) {
        for (room, peer) in memberships {
            self.leave(conn, room, peer);
        }
        self.connections.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> Stats {
        let rooms = self.rooms();
        Stats {
            connections: self.connections.load(Ordering::Relaxed),
            rooms: rooms.rooms.len(),
            peers: rooms.rooms.values().map(HashMap::len).sum(),
        }
    }

    /// Adds a peer to a room; returns the peers already there.
    pub fn join(&self, room: &str, peer: &str, outbox: Outbox) -> Result<Vec<String>, ErrorCode> {
        let mut rooms = self.rooms();
        let members = rooms.rooms.entry(room.to_owned()).or_default();
        if members.contains_key(peer) {
            return Err(ErrorCode::DuplicatePeer);
        }
        if members.len() >= self.limits.peers_per_room {
            return Err(ErrorCode::RoomFull);
        }
        let mut others: Vec<String> = members.keys().cloned().collect();
        others.sort();
        let notice: Arc<str> =
            ServerFrame::PeerJoined { room: room.to_owned(), peer: peer.to_owned() }.to_json().into();
        for member in members.values() {
            member.deliver(&notice);
        }
        members.insert(peer.to_owned(), outbox);
        Ok(others)
    }

    /// Removes a peer from a room (only if this connection holds that peer).
    pub fn leave(&self, conn: ConnId, room: &str, peer: &str) {
        let mut rooms = self.rooms();
        let Some(members) = rooms.rooms.get_mut(room) else { return };
        if members.get(peer).is_none_or(|member| member.conn != conn) {
            return;
        }
        members.remove(peer);
        let notice: Arc<str> =
            ServerFrame::PeerLeft { room: room.to_owned(), peer: peer.to_owned() }.to_json().into();
        for member in members.values() {
            member.deliver(&notice);
        }
        if members.is_empty() {
            rooms.rooms.remove(room);
        }
    }

    /// Relays opaque data from `from` to one peer or to every other peer.
    pub fn relay(&self, room: &str, from: &str, to: Option<&str>, data: String) -> Result<(), ErrorCode> {
        let rooms = self.rooms();
        let members = rooms.rooms.get(room).ok_or(ErrorCode::NotInRoom)?;
        let frame: Arc<str> =
            ServerFrame::Signal { room: room.to_owned(), from: from.to_owned(), data }.to_json().into();
        match to {
            Some(to) => members.get(to).ok_or(ErrorCode::UnknownPeer)?.deliver(&frame),
            None => {
                for (peer, member) in members {
                    if peer != from {
                        member.deliver(&frame);
                    }
                }
            }
        }
        Ok(())
    }
}
