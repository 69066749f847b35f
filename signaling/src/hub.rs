//! The rooms: which connection is which peer in which room, and delivery of
//! frames to them. Each connection has a bounded outbox; a connection that
//! cannot keep up is cut off rather than allowed to grow the server's memory.
//!
//! With a [`Cluster`] (`--redis`), a room spans every instance: the hub
//! also keeps its view of the room's peers connected elsewhere, claims each
//! join in Redis (so the room's size limit holds across instances), and
//! publishes joins, leaves and signals for the other instances, whose
//! bulletins come back through [`Hub::arrive`]. Without one, a room is this
//! process's alone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, mpsc};

use crate::Limits;
use crate::cluster::{Bulletin, Claim, Cluster};
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

/// What this instance last heard of a peer connected to another instance.
#[derive(Clone, Copy, Debug)]
struct Sighting {
    /// In the room (false: a recent leave, kept so a stale membership read
    /// does not bring the peer back).
    present: bool,
    /// When it was learned, on the hub's own counter.
    seen: u64,
}

#[derive(Debug, Default)]
struct Room {
    /// The peers connected to this instance.
    members: HashMap<String, Outbox>,
    /// The peers connected to other instances (with a cluster).
    elsewhere: HashMap<String, Sighting>,
    /// Joins under way (the room stays while one is).
    joining: usize,
}

impl Room {
    fn tell_members(&self, frame: &Arc<str>, except: Option<&str>) {
        for (peer, member) in &self.members {
            if except != Some(peer.as_str()) {
                member.deliver(frame);
            }
        }
    }

    fn is_unused(&self) -> bool {
        self.members.is_empty() && self.joining == 0
    }

    /// Marks a peer elsewhere as present; tells the members if that is news.
    fn sight(&mut self, room: &str, peer: &str, seen: u64) {
        if self.members.contains_key(peer) {
            return;
        }
        let sighting = self.elsewhere.entry(peer.to_owned()).or_insert(Sighting { present: false, seen });
        sighting.seen = seen;
        if !sighting.present {
            sighting.present = true;
            let notice = ServerFrame::PeerJoined { room: room.to_owned(), peer: peer.to_owned() };
            self.tell_members(&notice.to_json().into(), None);
        }
    }

    /// Marks a peer elsewhere as gone; tells the members if it was there.
    fn lose(&mut self, room: &str, peer: &str, seen: u64) {
        let Some(sighting) = self.elsewhere.get_mut(peer) else { return };
        sighting.seen = seen;
        if sighting.present {
            sighting.present = false;
            let notice = ServerFrame::PeerLeft { room: room.to_owned(), peer: peer.to_owned() };
            self.tell_members(&notice.to_json().into(), None);
        }
    }
}

#[derive(Debug, Default)]
struct Rooms {
    rooms: HashMap<String, Room>,
    /// Counts every change to a room's view of other instances.
    clock: u64,
}

impl Rooms {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
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
    cluster: Option<Arc<Cluster>>,
}

/// Counts for `/healthz` and the load test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub connections: usize,
    pub rooms: usize,
    /// Peers connected to this instance.
    pub peers: usize,
    /// Peers connected to other instances, in rooms that have peers here.
    pub peers_elsewhere: usize,
}

/// The peers of this instance's rooms, for the cluster's heartbeat.
#[derive(Debug)]
pub struct Census {
    /// The hub's counter when it was taken: views of other instances older
    /// than this may be corrected by what the heartbeat reads.
    pub taken: u64,
    /// Each room with peers here, and those peers.
    pub rooms: Vec<(String, Vec<String>)>,
}

/// Undoes a join's hold on its room however the join ends.
struct JoinHold<'a> {
    hub: &'a Hub,
    room: &'a str,
}

impl Drop for JoinHold<'_> {
    fn drop(&mut self) {
        let mut rooms = self.hub.rooms();
        if let Some(room) = rooms.rooms.get_mut(self.room) {
            room.joining = room.joining.saturating_sub(1);
            if room.is_unused() {
                rooms.rooms.remove(self.room);
            }
        }
    }
}

impl Hub {
    pub fn new(limits: Limits) -> Hub {
        Hub::with_ice(limits, crate::ice::IceConfig::default())
    }

    /// A hub handing `ice` to every client that joins a room.
    pub fn with_ice(limits: Limits, ice: crate::ice::IceConfig) -> Hub {
        Hub::with_cluster(limits, ice, None)
    }

    /// A hub whose rooms span every instance of `cluster`.
    pub fn with_cluster(limits: Limits, ice: crate::ice::IceConfig, cluster: Option<Arc<Cluster>>) -> Hub {
        Hub {
            limits,
            ice,
            rooms: Mutex::default(),
            next_conn: AtomicU64::new(1),
            connections: AtomicUsize::new(0),
            cluster,
        }
    }

    /// The cluster this hub belongs to, if any.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
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
        let live = || rooms.rooms.values().filter(|room| !room.members.is_empty());
        Stats {
            connections: self.connections.load(Ordering::Relaxed),
            rooms: live().count(),
            peers: live().map(|room| room.members.len()).sum(),
            peers_elsewhere: live()
                .map(|room| room.elsewhere.values().filter(|sighting| sighting.present).count())
                .sum(),
        }
    }

    /// Adds a peer to a room; returns the peers already there (on every
    /// instance). With a cluster the join is claimed in Redis first; while
    /// Redis cannot be reached the room works on this instance alone.
    pub async fn join(&self, room: &str, peer: &str, outbox: Outbox) -> Result<Vec<String>, ErrorCode> {
        let Some(cluster) = &self.cluster else {
            return self.join_here(room, peer, outbox, None);
        };
        {
            let mut rooms = self.rooms();
            let entry = rooms.rooms.entry(room.to_owned()).or_default();
            if entry.members.contains_key(peer) {
                return Err(ErrorCode::DuplicatePeer);
            }
            if entry.members.len() >= self.limits.peers_per_room {
                return Err(ErrorCode::RoomFull);
            }
            entry.joining += 1;
        }
        let _hold = JoinHold { hub: self, room };
        // Subscribed before the claim, so nothing sent to the new peer from
        // elsewhere once it is listed can be missed.
        cluster.subscribe(room).await;
        let elsewhere = match cluster.claim(room, peer, self.limits.peers_per_room).await {
            Claim::Granted(members) => Some(members),
            Claim::Full => return Err(ErrorCode::RoomFull),
            Claim::Taken => return Err(ErrorCode::DuplicatePeer),
            Claim::Unavailable => None,
        };
        let claimed = elsewhere.is_some();
        let joined = self.join_here(room, peer, outbox, elsewhere);
        match &joined {
            Ok(_) => cluster.announce(room, Bulletin::Joined { peer: peer.to_owned() }),
            Err(_) if claimed => cluster.release(room, peer),
            Err(_) => {}
        }
        joined
    }

    fn join_here(
        &self,
        room: &str,
        peer: &str,
        outbox: Outbox,
        elsewhere: Option<Vec<String>>,
    ) -> Result<Vec<String>, ErrorCode> {
        let mut rooms = self.rooms();
        let seen = rooms.tick();
        let members = rooms.rooms.entry(room.to_owned()).or_default();
        if members.members.contains_key(peer) {
            return Err(ErrorCode::DuplicatePeer);
        }
        if members.members.len() >= self.limits.peers_per_room {
            return Err(ErrorCode::RoomFull);
        }
        for other in elsewhere.iter().flatten().filter(|other| *other != peer) {
            members.sight(room, other, seen);
        }
        let mut others: Vec<String> = members.members.keys().cloned().collect();
        others.extend(
            members
                .elsewhere
                .iter()
                .filter(|(other, sighting)| sighting.present && *other != peer)
                .map(|(other, _)| other.clone()),
        );
        others.sort();
        members.elsewhere.remove(peer);
        let notice: Arc<str> =
            ServerFrame::PeerJoined { room: room.to_owned(), peer: peer.to_owned() }.to_json().into();
        members.tell_members(&notice, None);
        members.members.insert(peer.to_owned(), outbox);
        Ok(others)
    }

    /// Removes a peer from a room (only if this connection holds that peer).
    pub fn leave(&self, conn: ConnId, room: &str, peer: &str) {
        let mut rooms = self.rooms();
        let Some(members) = rooms.rooms.get_mut(room) else { return };
        if members.members.get(peer).is_none_or(|member| member.conn != conn) {
            return;
        }
        members.members.remove(peer);
        let notice: Arc<str> =
            ServerFrame::PeerLeft { room: room.to_owned(), peer: peer.to_owned() }.to_json().into();
        members.tell_members(&notice, None);
        if members.is_unused() {
            rooms.rooms.remove(room);
        }
        drop(rooms);
        if let Some(cluster) = &self.cluster {
            cluster.release(room, peer);
            cluster.announce(room, Bulletin::Left { peer: peer.to_owned() });
        }
    }

    /// Relays opaque data from `from` to one peer or to every other peer
    /// (on every instance).
    pub fn relay(&self, room: &str, from: &str, to: Option<&str>, data: String) -> Result<(), ErrorCode> {
        let rooms = self.rooms();
        let members = rooms.rooms.get(room).ok_or(ErrorCode::NotInRoom)?;
        if let Some(to) = to
            && !members.members.contains_key(to)
        {
            let elsewhere = members.elsewhere.get(to).is_some_and(|sighting| sighting.present);
            return match &self.cluster {
                Some(cluster) if elsewhere => {
                    drop(rooms);
                    let bulletin = Bulletin::Signal { from: from.to_owned(), to: Some(to.to_owned()), data };
                    cluster.announce(room, bulletin);
                    Ok(())
                }
                _ => Err(ErrorCode::UnknownPeer),
            };
        }
        let frame: Arc<str> =
            ServerFrame::Signal { room: room.to_owned(), from: from.to_owned(), data: data.clone() }
                .to_json()
                .into();
        match to {
            Some(to) => {
                if let Some(member) = members.members.get(to) {
                    member.deliver(&frame);
                }
            }
            None => {
                members.tell_members(&frame, Some(from));
                drop(rooms);
                if let Some(cluster) = &self.cluster {
                    cluster.announce(room, Bulletin::Signal { from: from.to_owned(), to: None, data });
                }
            }
        }
        Ok(())
    }

    /// A bulletin from another instance about one of this instance's rooms.
    pub fn arrive(&self, room: &str, bulletin: Bulletin) {
        let mut rooms = self.rooms();
        let seen = rooms.tick();
        let Some(members) = rooms.rooms.get_mut(room) else { return };
        match bulletin {
            Bulletin::Joined { peer } => members.sight(room, &peer, seen),
            Bulletin::Left { peer } => members.lose(room, &peer, seen),
            Bulletin::Signal { from, to, data } => {
                if members.members.contains_key(&from) {
                    return;
                }
                let frame: Arc<str> =
                    ServerFrame::Signal { room: room.to_owned(), from: from.clone(), data }.to_json().into();
                match to {
                    Some(to) => {
                        if let Some(member) = members.members.get(&to) {
                            member.deliver(&frame);
                        }
                    }
                    None => members.tell_members(&frame, None),
                }
            }
        }
    }

    /// Every room with peers here, for the heartbeat that keeps them listed.
    pub fn census(&self) -> Census {
        let rooms = self.rooms();
        let mut listed: Vec<(String, Vec<String>)> = rooms
            .rooms
            .iter()
            .filter(|(_, room)| !room.members.is_empty())
            .map(|(id, room)| (id.clone(), room.members.keys().cloned().collect()))
            .collect();
        listed.sort();
        Census { taken: rooms.clock, rooms: listed }
    }

    /// Whether a room is in use here (peers, or a join under way).
    pub fn has_room(&self, room: &str) -> bool {
        self.rooms().rooms.contains_key(room)
    }

    /// Corrects the view of a room's peers elsewhere from the membership
    /// read from Redis: peers that joined unseen (while Redis was away) are
    /// announced to the members here, peers whose listing expired (their
    /// instance died) leave. What was learned after `census.taken` stands.
    pub fn reconcile(&self, room: &str, listed: &[String], taken: u64) {
        let mut rooms = self.rooms();
        let seen = rooms.tick();
        let Some(members) = rooms.rooms.get_mut(room) else { return };
        for peer in listed {
            let known = members.elsewhere.get(peer.as_str());
            if known.is_none_or(|sighting| !sighting.present && sighting.seen <= taken) {
                members.sight(room, peer, seen);
            }
        }
        let listed: std::collections::HashSet<&str> = listed.iter().map(String::as_str).collect();
        let gone: Vec<String> = members
            .elsewhere
            .iter()
            .filter(|(peer, sighting)| {
                sighting.present && sighting.seen <= taken && !listed.contains(peer.as_str())
            })
            .map(|(peer, _)| peer.clone())
            .collect();
        for peer in gone {
            members.lose(room, &peer, seen);
        }
        members.elsewhere.retain(|_, sighting| sighting.present || sighting.seen > taken);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(hub: &Hub) -> (Outbox, mpsc::Receiver<Arc<str>>) {
        let (tx, rx) = mpsc::channel(16);
        (Outbox { conn: hub.connect(), tx, kill: Arc::new(Notify::new()) }, rx)
    }

    fn frames(rx: &mut mpsc::Receiver<Arc<str>>) -> Vec<serde_json::Value> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .filter_map(|frame| serde_json::from_str(&frame).ok())
            .collect()
    }

    const ROOM: &str = "0000000000000000000000000000000000000000000000000000000000000001";

    #[tokio::test]
    async fn peers_elsewhere_are_announced_once_and_a_stale_listing_does_not_undo_news() {
        let hub = Hub::new(Limits::default());
        let (outbox, mut rx) = member(&hub);
        assert_eq!(hub.join(ROOM, "here", outbox).await, Ok(vec![]));

        // A bulletin, then the same peer again in a listing: one notice.
        let before = hub.census().taken;
        hub.arrive(ROOM, Bulletin::Joined { peer: "there".into() });
        hub.reconcile(ROOM, &["here".into(), "there".into()], hub.census().taken);
        let got = frames(&mut rx);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0]["type"].as_str(), got[0]["peer"].as_str()), (Some("peer-joined"), Some("there")));

        // A listing read before the bulletin does not make it leave…
        hub.reconcile(ROOM, &["here".into()], before);
        assert!(frames(&mut rx).is_empty());
        assert_eq!(hub.stats().peers_elsewhere, 1);
        // …a listing read after it, without it (its instance died), does.
        hub.reconcile(ROOM, &["here".into()], hub.census().taken);
        let got = frames(&mut rx);
        assert_eq!((got[0]["type"].as_str(), got[0]["peer"].as_str()), (Some("peer-left"), Some("there")));
        assert_eq!(hub.stats().peers_elsewhere, 0);

        // A leave heard after a listing was read is not undone by that listing.
        hub.arrive(ROOM, Bulletin::Joined { peer: "again".into() });
        let read = hub.census().taken;
        hub.arrive(ROOM, Bulletin::Left { peer: "again".into() });
        hub.reconcile(ROOM, &["here".into(), "again".into()], read);
        let got: Vec<_> = frames(&mut rx).iter().map(|f| f["type"].as_str().map(str::to_owned)).collect();
        assert_eq!(got, [Some("peer-joined".to_owned()), Some("peer-left".to_owned())]);
        assert_eq!(hub.stats().peers_elsewhere, 0);
    }

    #[tokio::test]
    async fn signals_from_elsewhere_reach_only_their_peer_and_a_new_member_is_told_who_is_elsewhere() {
        let hub = Hub::new(Limits::default());
        let (a, mut a_rx) = member(&hub);
        let (b, mut b_rx) = member(&hub);
        hub.join(ROOM, "a", a).await.ok();
        hub.arrive(ROOM, Bulletin::Joined { peer: "far".into() });
        assert_eq!(hub.join(ROOM, "b", b).await, Ok(vec!["a".to_owned(), "far".to_owned()]));
        frames(&mut a_rx);
        let signal = Bulletin::Signal { from: "far".into(), to: Some("b".into()), data: "b2s=".into() };
        hub.arrive(ROOM, signal);
        assert!(frames(&mut a_rx).is_empty());
        let got = frames(&mut b_rx);
        assert_eq!((got[0]["type"].as_str(), got[0]["from"].as_str()), (Some("signal"), Some("far")));
        // A bulletin claiming to come from a peer here is not believed.
        hub.arrive(ROOM, Bulletin::Signal { from: "a".into(), to: Some("b".into()), data: "eA==".into() });
        assert!(frames(&mut b_rx).is_empty());
        // Without a cluster a peer elsewhere cannot be signalled.
        assert_eq!(hub.relay(ROOM, "a", Some("far"), "eA==".into()), Err(ErrorCode::UnknownPeer));
        // Rooms with no peers here ignore bulletins.
        hub.arrive(&ROOM.replace('1', "2"), Bulletin::Joined { peer: "x".into() });
        assert_eq!(hub.stats().rooms, 1);
    }
}
