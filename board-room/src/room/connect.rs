//! Connections: the signaling room, who is a relay, offers and answers,
//! who offers, whom to link with (the mesh policy and its cap), the key
//! proof, and how a link ends (a goodbye, a retry planned).

use std::collections::BTreeSet;

use board_key::envelope::{Envelopes, Signal};
use board_key::proof;
use board_model::Board;
use board_model::blob;
use board_model::session;
use rand_chacha::rand_core::Rng;

use super::{Room, Signaling};
use crate::io::{Cause, Event, Fingerprints, Output};
use crate::link::{Kind, Link, LinkId, Phase};
use crate::mesh::{self, Member};
use crate::{CLOSE_GRACE_MS, PRUNE_AFTER_MS, RELAY_ANNOUNCE_INTERVAL_MS};

impl Room {
    pub(super) fn on_joined(&mut self, me: String, peers: Vec<String>, now: u64) {
        if self.offline {
            return;
        }
        let envelopes = Envelopes::new(&self.config.link.key, &self.room_id, &me);
        self.present = peers.into_iter().filter(|peer| *peer != me).collect();
        self.relays.clear();
        self.wanted = None;
        self.signaling = Some(Signaling { me, envelopes });
        if self.config.relay {
            self.announce(None, now);
        }
        self.ensure_connections(now);
    }

    pub(super) fn on_peer_joined(&mut self, peer: String, now: u64) {
        if self.offline || self.signaling.as_ref().is_none_or(|s| s.me == peer) {
            return;
        }
        if self.config.relay {
            self.announce(Some(&peer), now);
        }
        self.present.insert(peer);
        self.wanted = None;
        // Past a full mesh, who to link with is weighed at the next tick,
        // once for a burst of arrivals.
        if !mesh::is_partial(self.present.len()) {
            self.ensure_connections(now);
        }
    }

    /// Tells one peer (or the whole room) that this device is a relay.
    pub(super) fn announce(&mut self, to: Option<&str>, now: u64) {
        let Some(signaling) = self.signaling.as_mut() else { return };
        let mut nonce = [0u8; 24];
        self.rng.fill_bytes(&mut nonce);
        let data = signaling.envelopes.seal(to, Signal::Announce { relay: true }, nonce, now);
        if to.is_none() {
            self.announced_at = now;
        }
        self.outputs.push_back(Output::Signal { to: to.map(str::to_owned), data });
    }

    /// A relay says again, now and then, that it is one.
    pub(super) fn announce_if_due(&mut self, now: u64) {
        if self.config.relay
            && self.signaling.is_some()
            && now.saturating_sub(self.announced_at) >= RELAY_ANNOUNCE_INTERVAL_MS
        {
            self.announce(None, now);
        }
    }

    /// The signaling connection is gone: so is everything learned through it.
    pub(super) fn forget_signaling(&mut self) {
        self.signaling = None;
        self.present.clear();
        self.relays.clear();
        self.wanted = None;
        self.retries.clear();
    }

    pub(super) fn on_peer_left(&mut self, peer: &str, now: u64) {
        self.present.remove(peer);
        self.relays.remove(peer);
        self.wanted = None;
        self.retries.forget(peer);
        let links: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, link)| link.peer.as_deref() == Some(peer))
            .filter(|(_, link)| link.open_session().is_none() || link.disconnected)
            .map(|(id, _)| *id)
            .collect();
        for id in links {
            self.end(id, Cause::Lost("the peer left".into()), now);
        }
    }

    pub(super) fn on_signal(&mut self, from: String, data: &[u8], now: u64) {
        let Some(signaling) = self.signaling.as_mut() else { return };
        let opened = match signaling.envelopes.open(&from, data, now) {
            Ok(opened) => opened,
            Err(error) => {
                self.events.push_back(Event::SignalRefused { from, error });
                return;
            }
        };
        if let Signal::Announce { relay } = opened.signal {
            self.on_announce(from, relay, now);
            return;
        }
        if !opened.directed {
            return;
        }
        match opened.signal {
            Signal::Offer { sdp } => self.on_offer(from, sdp, now),
            Signal::Answer { sdp } => {
                let offering = self.links.iter().find(|(_, link)| {
                    link.peer.as_deref() == Some(from.as_str())
                        && link.offered
                        && link.phase == Phase::Connecting
                });
                if let Some((id, _)) = offering {
                    self.outputs.push_back(Output::AcceptAnswer { link: *id, sdp });
                }
            }
            Signal::Announce { .. } | Signal::Candidate { .. } | Signal::Bye => {}
        }
    }

    /// A present peer said what it is.
    fn on_announce(&mut self, from: String, relay: bool, now: u64) {
        if !self.present.contains(&from) {
            return;
        }
        let changed = if relay { self.relays.insert(from) } else { self.relays.remove(&from) };
        if changed {
            self.wanted = None;
            self.ensure_connections(now);
        }
    }

    pub(super) fn on_offer(&mut self, from: String, sdp: String, now: u64) {
        if self.offline {
            return;
        }
        // A new offer from a peer replaces whatever link we had with it.
        let old: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, link)| link.peer.as_deref() == Some(from.as_str()) && !link.is_closing())
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            self.end(id, Cause::Closed("the peer connected again".into()), now);
        }
        if self.remote_links() >= self.config.max_connections {
            self.mesh_full();
            return;
        }
        let link = self.new_link_id();
        self.links.insert(link, Link::new(Kind::Remote, Some(from.clone()), false, Phase::Describing, now));
        self.outputs.push_back(Output::Answer { link, peer: from, sdp });
    }

    pub(super) fn on_described(&mut self, id: LinkId, sdp: String, now: u64) {
        let Some(link) = self.links.get_mut(&id).filter(|link| link.phase == Phase::Describing) else {
            return;
        };
        let (Some(signaling), Some(peer)) = (self.signaling.as_mut(), link.peer.clone()) else {
            self.end(id, Cause::Lost("the signaling server went away".into()), now);
            return;
        };
        let signal = if link.offered { Signal::Offer { sdp } } else { Signal::Answer { sdp } };
        let mut nonce = [0u8; 24];
        self.rng.fill_bytes(&mut nonce);
        let data = signaling.envelopes.seal(Some(&peer), signal, nonce, now);
        link.phase = Phase::Connecting;
        self.outputs.push_back(Output::Signal { to: Some(peer), data });
    }

    pub(super) fn on_channel_opened(
        &mut self,
        id: LinkId,
        fingerprints: Option<Fingerprints>,
        board: &mut Board,
        blobs: &mut dyn blob::Store,
        now: u64,
    ) {
        let Some(link) = self.links.get_mut(&id) else { return };
        if link.kind != Kind::Remote || !matches!(link.phase, Phase::Describing | Phase::Connecting) {
            return;
        }
        let Some(prints) = fingerprints else {
            self.end(id, Cause::Lost("the connection has no DTLS fingerprints".into()), now);
            return;
        };
        let key = &self.config.link.key;
        let mut config = session::Config::new(self.config.replica, self.config.identity.clone());
        config.proof = Some(proof::proof(key, &prints.local, &prints.remote));
        config.expected_remote_proof = Some(proof::expected_from_remote(key, &prints.local, &prints.remote));
        // A relay speaks for the people it sees. Whether this remote is one
        // may be learned after its channel opened: the session takes what
        // it relays, and the room heeds it only while the remote is a
        // relay (see `Room::drain_session`).
        config.accept_relayed_presence = true;
        self.start_session(id, config, board, blobs, now);
    }

    pub(super) fn on_local_link_up(
        &mut self,
        id: LinkId,
        kind: Kind,
        board: &mut Board,
        blobs: &mut dyn blob::Store,
        now: u64,
    ) {
        if kind == Kind::Remote || self.links.contains_key(&id) {
            return;
        }
        self.links.insert(id, Link::new(kind, None, false, Phase::Connecting, now));
        let mut config = session::Config::new(self.config.replica, self.config.identity.clone());
        // The embedded node speaks for the peers it reaches.
        config.accept_relayed_presence = kind == Kind::Node;
        self.start_session(id, config, board, blobs, now);
    }

    pub(super) fn new_link_id(&mut self) -> LinkId {
        let id = LinkId::remote(self.next_link);
        self.next_link += 1;
        id
    }

    pub(super) fn links_of(&self, kind: Kind) -> impl Iterator<Item = LinkId> + '_ {
        self.links.iter().filter(move |(_, link)| link.kind == kind && !link.is_closing()).map(|(id, _)| *id)
    }

    /// Remote links that count against the mesh cap.
    pub(super) fn remote_links(&self) -> usize {
        self.links_of(Kind::Remote).count()
    }

    pub(super) fn mesh_full(&mut self) {
        if !self.told_full {
            self.told_full = true;
            self.events.push_back(Event::MeshFull { limit: self.config.max_connections });
        }
    }

    /// The present peers the mesh policy wants links with (computed once
    /// per view of the room).
    pub(super) fn wanted_peers(&mut self) -> &BTreeSet<String> {
        let me = self.signaling.as_ref().map(|signaling| signaling.me.as_str()).unwrap_or_default();
        let (present, relays, relay) = (&self.present, &self.relays, self.config.relay);
        self.wanted.get_or_insert_with(|| {
            let others: Vec<Member> =
                present.iter().map(|id| Member { id, relay: relays.contains(id) }).collect();
            mesh::wanted(Member { id: me, relay }, &others)
        })
    }

    /// Offers to every present peer this side should offer to (the smaller
    /// signaling id offers) that the mesh policy wants, that has no link and
    /// whose retry is due; past a full mesh, closes links the policy has
    /// not wanted for a while.
    pub(super) fn ensure_connections(&mut self, now: u64) {
        if self.offline {
            return;
        }
        let Some(me) = self.signaling.as_ref().map(|signaling| signaling.me.clone()) else { return };
        self.prune_unwanted(now);
        let wanted = self.wanted_peers().clone();
        let linked: BTreeSet<&str> = self.links.values().filter_map(|link| link.peer.as_deref()).collect();
        let due: Vec<String> = wanted
            .iter()
            .filter(|peer| me.as_str() < peer.as_str() && !linked.contains(peer.as_str()))
            .filter(|peer| self.retries.due(peer, now))
            .cloned()
            .collect();
        let room = self.config.max_connections.saturating_sub(self.remote_links());
        if due.len() > room {
            self.mesh_full();
        }
        for peer in due.into_iter().take(room) {
            let link = self.new_link_id();
            let state = Link::new(Kind::Remote, Some(peer.clone()), true, Phase::Describing, now);
            self.links.insert(link, state);
            self.outputs.push_back(Output::Connect { link, peer });
        }
    }

    /// Past a full mesh: an open link to a present peer that the policy has
    /// not wanted for [`PRUNE_AFTER_MS`] says goodbye (the other side, seeing
    /// the same room, does not want it either, so neither offers again).
    fn prune_unwanted(&mut self, now: u64) {
        if !mesh::is_partial(self.present.len()) {
            self.unwanted_since.clear();
            return;
        }
        let wanted = self.wanted_peers().clone();
        let unwanted: BTreeSet<LinkId> = self
            .links
            .iter()
            .filter(|(_, link)| link.kind == Kind::Remote && !link.is_closing() && link.opened_ms.is_some())
            .filter(|(_, link)| {
                link.peer.as_ref().is_some_and(|peer| self.present.contains(peer) && !wanted.contains(peer))
            })
            .map(|(id, _)| *id)
            .collect();
        self.unwanted_since.retain(|id, _| unwanted.contains(id));
        let mut due = Vec::new();
        for id in unwanted {
            let since = *self.unwanted_since.entry(id).or_insert(now);
            if now.saturating_sub(since) >= PRUNE_AFTER_MS {
                due.push(id);
            }
        }
        for id in due {
            self.unwanted_since.remove(&id);
            self.end(id, Cause::Closed("the room is big: each device keeps a few links".into()), now);
        }
    }

    /// Ends a link: a goodbye where its channel can still carry one, every
    /// person and fetch it brought forgotten, a retry planned while its peer
    /// is present (the side that offers retries).
    pub(super) fn end(&mut self, id: LinkId, cause: Cause, now: u64) {
        let Some(link) = self.links.get_mut(&id) else { return };
        let lost = matches!(cause, Cause::Lost(_));
        if let Phase::Closing { failed, .. } = link.phase {
            // Already saying goodbye: a closed channel just finishes it.
            if lost {
                self.links.remove(&id);
                self.outputs.push_back(Output::Close { link: id, failed });
            }
            return;
        }
        let failed = !matches!(cause, Cause::Goodbye(_) | Cause::Closed(_));
        if let Some(session) = link.session.as_mut() {
            match &cause {
                Cause::Closed(reason) => session.close(reason),
                Cause::TimedOut => session.close("the connection did not open in time"),
                // A failed session queued its own goodbye; a remote that said
                // goodbye or a channel that closed needs none.
                Cause::Failed(_) | Cause::Goodbye(_) | Cause::Lost(_) => {}
            }
        }
        let can_say_goodbye = link.phase == Phase::Open && link.session.is_some() && !lost;
        let (kind, peer, opened) = (link.kind, link.peer.clone(), link.opened_ms);
        if can_say_goodbye && !matches!(cause, Cause::Goodbye(_)) {
            link.phase = Phase::Closing { until: now + CLOSE_GRACE_MS, failed };
        } else {
            self.links.remove(&id);
            self.outputs.push_back(Output::Close { link: id, failed });
        }
        self.people.link_gone(id, &mut self.events);
        self.fetcher.link_gone(id);
        if let Some(peer) = peer {
            if self.present.contains(&peer) && !self.offline {
                self.retries.ended(&peer, failed, opened, now);
            } else {
                self.retries.forget(&peer);
            }
        }
        self.relay_due = true;
        self.events.push_back(Event::LinkClosed { link: id, kind, cause });
    }
}
