//! The room machine: links to the board's other devices, driven by
//! [`Input`]s, asking for [`Output`]s, reporting [`Event`]s.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use board_key::envelope::{Envelopes, Signal};
use board_key::link::ShareLink;
use board_key::{proof, room};
use board_model::blob;
use board_model::presence::{self, Identity};
use board_model::session::{self, Event as SessionEvent, Remote};
use board_model::{Board, Session};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use crate::fetch::Fetcher;
use crate::io::{Cause, Event, Fingerprints, Input, Output};
use crate::link::{Kind, Link, LinkId, Phase};
use crate::people::People;
use crate::retry::Retries;
use crate::{CLOSE_GRACE_MS, CONNECT_TIMEOUT_MS, EARLY_FRAMES, MAX_CONNECTIONS};

/// What a room needs to know about this device and its board.
#[derive(Clone, Debug)]
pub struct Config {
    /// The board and its key: the room id, the envelopes and the proofs derive from it.
    pub link: ShareLink,
    /// This replica's id (the board's [`board_model::ReplicaId`]).
    pub replica: u64,
    /// The name and colour peers see.
    pub identity: Identity,
    /// Seeds the nonces of sealed signals (fresh randomness from the driver).
    pub seed: [u8; 32],
    /// Most connections to remote peers at once.
    pub max_connections: usize,
}

impl Config {
    pub fn new(link: ShareLink, replica: u64, identity: Identity, seed: [u8; 32]) -> Config {
        Config { link, replica, identity, seed, max_connections: MAX_CONNECTIONS }
    }
}

#[derive(Debug)]
struct Signaling {
    me: String,
    envelopes: Envelopes,
}

/// One board's room of peers (see the crate documentation).
#[derive(Debug)]
pub struct Room {
    config: Config,
    room_id: String,
    rng: ChaCha20Rng,
    signaling: Option<Signaling>,
    /// Other peers in the signaling room.
    present: BTreeSet<String>,
    offline: bool,
    links: BTreeMap<LinkId, Link>,
    next_link: u64,
    retries: Retries,
    fetcher: Fetcher,
    people: People,
    own_presence: Option<presence::State>,
    relay_due: bool,
    told_full: bool,
    outputs: VecDeque<Output>,
    events: VecDeque<Event>,
}

impl Room {
    pub fn new(config: Config) -> Room {
        Room {
            room_id: room::room_id(&config.link.key),
            rng: ChaCha20Rng::from_seed(config.seed),
            signaling: None,
            present: BTreeSet::new(),
            offline: false,
            links: BTreeMap::new(),
            next_link: 1,
            retries: Retries::default(),
            fetcher: Fetcher::default(),
            people: People::default(),
            own_presence: None,
            relay_due: false,
            told_full: false,
            outputs: VecDeque::new(),
            events: VecDeque::new(),
            config,
        }
    }

    /// The signaling room id (a hash of the board key).
    pub fn room_id(&self) -> &str {
        &self.room_id
    }

    pub fn share_link(&self) -> &ShareLink {
        &self.config.link
    }

    pub fn identity(&self) -> &Identity {
        &self.config.identity
    }

    /// This device's id in the signaling room, while joined.
    pub fn me(&self) -> Option<&str> {
        self.signaling.as_ref().map(|signaling| signaling.me.as_str())
    }

    /// The other peers in the signaling room.
    pub fn present(&self) -> impl Iterator<Item = &String> {
        self.present.iter()
    }

    /// Peers a retry is scheduled for.
    pub fn retrying(&self) -> impl Iterator<Item = &String> {
        self.retries.peers()
    }

    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// Every link: its id, kind, remote signaling id (remote links) and
    /// whether its remote's hello was accepted.
    pub fn links(&self) -> impl Iterator<Item = (LinkId, Kind, Option<&str>, bool)> {
        self.links
            .iter()
            .map(|(id, link)| (*id, link.kind, link.peer.as_deref(), link.open_session().is_some()))
    }

    /// Remote peers with an open session.
    pub fn connected_peers(&self) -> usize {
        self.links.values().filter(|link| link.kind == Kind::Remote && link.open_session().is_some()).count()
    }

    /// People on the board other than this device (seen directly or relayed).
    pub fn people(&self) -> usize {
        self.people.len()
    }

    /// Who is at the other end of a link, once its hello was accepted.
    pub fn remote(&self, link: LinkId) -> Option<&Remote> {
        self.links.get(&link)?.open_session()?.remote()
    }

    /// True when some remote peer told us it holds exactly this board.
    pub fn synced_with_a_peer(&self, board: &Board) -> bool {
        self.links
            .values()
            .any(|link| link.kind == Kind::Remote && link.open_session().is_some_and(|s| s.is_synced(board)))
    }

    /// The next thing the driver must do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next thing the application should know.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Links with frames to send now or soon (open or saying goodbye).
    pub fn sending_links(&self) -> Vec<LinkId> {
        self.links
            .iter()
            .filter(|(_, link)| {
                link.session.is_some() && matches!(link.phase, Phase::Open | Phase::Closing { .. })
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// The next frame for `link`. Call it only while the link's channel has
    /// room: that is the protocol's flow control. Drain [`Room::poll_event`]
    /// first, so a change received is saved before it is passed on.
    pub fn poll_transmit(&mut self, link: LinkId, board: &Board, blobs: &dyn blob::Store) -> Option<Vec<u8>> {
        let link = self.links.get_mut(&link)?;
        if !matches!(link.phase, Phase::Open | Phase::Closing { .. }) {
            return None;
        }
        link.session.as_mut()?.poll_transmit(board, blobs)
    }

    /// Takes one input (see [`Input`]); `now` is the wall clock in milliseconds.
    pub fn handle(&mut self, input: Input, board: &mut Board, blobs: &mut dyn blob::Store, now: u64) {
        match input {
            Input::Joined { me, peers } => self.on_joined(me, peers, now),
            Input::PeerJoined { peer } => {
                if !self.offline && self.signaling.as_ref().is_some_and(|s| s.me != peer) {
                    self.present.insert(peer);
                    self.ensure_connections(now);
                }
            }
            Input::PeerLeft { peer } => self.on_peer_left(&peer, now),
            Input::SignalingLost => {
                self.signaling = None;
                self.present.clear();
                self.retries.clear();
            }
            Input::Signal { from, data } => self.on_signal(from, &data, now),
            Input::Described { link, sdp } => self.on_described(link, sdp, now),
            Input::SetupFailed { link, reason } => self.end(link, Cause::Lost(reason), now),
            Input::ChannelOpened { link, fingerprints } => {
                self.on_channel_opened(link, fingerprints, board, blobs, now)
            }
            Input::LocalLinkUp { link, kind } => self.on_local_link_up(link, kind, board, blobs, now),
            Input::Frame { link, frame } => self.on_frame(link, &frame, board, blobs, now),
            Input::ChannelClosed { link, reason } => self.end(link, Cause::Lost(reason), now),
            Input::Disconnected { link } => {
                let Some(state) = self.links.get_mut(&link) else { return };
                state.disconnected = true;
                let gone = state.peer.as_ref().is_some_and(|peer| !self.present.contains(peer));
                if gone {
                    // Lost contact and gone from the signaling server too: the
                    // other side quit or crashed. Waiting for ICE to give up
                    // would keep them listed for half a minute.
                    self.end(link, Cause::Lost("the peer went away".into()), now);
                }
            }
            Input::Tick => self.on_tick(board, blobs, now),
        }
        if std::mem::take(&mut self.relay_due) {
            self.relay(now);
        }
    }

    /// What this device shows others of itself (cursor, selection, drags).
    pub fn set_presence(&mut self, state: presence::State) {
        self.own_presence = Some(state.clone());
        for link in self.links.values_mut().filter(|link| link.kind != Kind::App) {
            if let Some(session) = link.session.as_mut() {
                session.set_presence(state.clone());
            }
        }
    }

    /// A new name or colour: remote links are made again so peers see it
    /// (a hello carries it).
    pub fn set_identity(&mut self, identity: Identity, now: u64) {
        if identity == self.config.identity {
            return;
        }
        self.config.identity = identity;
        let remote: Vec<LinkId> =
            self.links_of(Kind::Remote).filter(|id| self.links[id].session.is_some()).collect();
        for id in remote {
            self.end(id, Cause::Closed("the peer changed its name or colour".into()), now);
        }
    }

    /// Offline: every remote link says goodbye and closes, and no new one is
    /// made until back online (the driver leaves and rejoins signaling).
    /// Local links stay.
    pub fn set_offline(&mut self, offline: bool, now: u64) {
        if offline == self.offline {
            return;
        }
        self.offline = offline;
        if offline {
            let remote: Vec<LinkId> = self.links_of(Kind::Remote).collect();
            for id in remote {
                self.end(id, Cause::Closed("the peer went offline".into()), now);
            }
            self.signaling = None;
            self.present.clear();
            self.retries.clear();
        }
    }

    /// Ends one link with a goodbye.
    pub fn close_link(&mut self, link: LinkId, reason: &str, now: u64) {
        self.end(link, Cause::Closed(reason.to_owned()), now);
    }

    /// Says goodbye on every link; the driver flushes them, waits a moment
    /// and closes its connections (the room forgets them at once).
    pub fn shut_down(&mut self, reason: &str, now: u64) {
        let all: Vec<LinkId> = self.links.keys().copied().collect();
        for id in all {
            self.end(id, Cause::Closed(reason.to_owned()), now);
        }
        self.signaling = None;
        self.present.clear();
        self.retries.clear();
    }

    /// Asks for every image the board shows but the store lacks (the driver
    /// calls it when images arrived or went missing outside the room).
    pub fn fetch_missing_blobs(&mut self, board: &Board, blobs: &dyn blob::Store) {
        let sessions = self.links.iter_mut().filter_map(|(id, link)| Some((*id, link.open_session_mut()?)));
        self.fetcher.want_missing(board, blobs, sessions);
    }

    // ----- inputs ------------------------------------------------------------------

    fn on_joined(&mut self, me: String, peers: Vec<String>, now: u64) {
        if self.offline {
            return;
        }
        let envelopes = Envelopes::new(&self.config.link.key, &self.room_id, &me);
        self.present = peers.into_iter().filter(|peer| *peer != me).collect();
        self.signaling = Some(Signaling { me, envelopes });
        self.ensure_connections(now);
    }

    fn on_peer_left(&mut self, peer: &str, now: u64) {
        self.present.remove(peer);
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

    fn on_signal(&mut self, from: String, data: &[u8], now: u64) {
        let Some(signaling) = self.signaling.as_mut() else { return };
        let opened = match signaling.envelopes.open(&from, data, now) {
            Ok(opened) => opened,
            Err(error) => {
                self.events.push_back(Event::SignalRefused { from, error });
                return;
            }
        };
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
            Signal::Announce | Signal::Candidate { .. } | Signal::Bye => {}
        }
    }

    fn on_offer(&mut self, from: String, sdp: String, now: u64) {
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

    fn on_described(&mut self, id: LinkId, sdp: String, now: u64) {
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
        self.outputs.push_back(Output::Signal { to: peer, data });
    }

    fn on_channel_opened(
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
        self.start_session(id, config, board, blobs, now);
    }

    fn on_local_link_up(
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
        // The embedded node speaks for the peers it reaches; nobody else may.
        config.accept_relayed_presence = kind == Kind::Node;
        self.start_session(id, config, board, blobs, now);
    }

    fn start_session(
        &mut self,
        id: LinkId,
        config: session::Config,
        board: &mut Board,
        blobs: &mut dyn blob::Store,
        now: u64,
    ) {
        let Some(link) = self.links.get_mut(&id) else { return };
        let mut session = Session::new(config);
        if link.kind != Kind::App
            && let Some(state) = self.own_presence.clone()
        {
            session.set_presence(state);
        }
        link.session = Some(session);
        link.phase = Phase::Open;
        let early = std::mem::take(&mut link.early);
        for frame in early {
            self.on_frame(id, &frame, board, blobs, now);
        }
    }

    fn on_frame(
        &mut self,
        id: LinkId,
        frame: &[u8],
        board: &mut Board,
        blobs: &mut dyn blob::Store,
        now: u64,
    ) {
        let Some(link) = self.links.get_mut(&id) else { return };
        if link.is_closing() {
            // It failed or said goodbye; what was sent after is not read.
            return;
        }
        let Some(session) = link.session.as_mut() else {
            // The remote was quicker to set up its side: keep its hello.
            if link.early.len() < EARLY_FRAMES {
                link.early.push(frame.to_vec());
            } else {
                self.end(id, Cause::Lost("too many frames before the session started".into()), now);
            }
            return;
        };
        if session.is_closed() {
            return;
        }
        let result = session.receive(frame, board, blobs, now);
        self.drain_session(id, board, blobs, now);
        if let Err(error) = result {
            self.end(id, Cause::Failed(error), now);
        }
    }

    fn on_tick(&mut self, board: &mut Board, blobs: &mut dyn blob::Store, now: u64) {
        let ids: Vec<LinkId> = self.links.keys().copied().collect();
        for id in &ids {
            if let Some(session) = self.links.get_mut(id).and_then(Link::open_session_mut) {
                session.tick(board, now);
                self.drain_session(*id, board, blobs, now);
            }
        }
        self.people.expire(now, &mut self.events);
        self.fetcher.expire(now);
        for id in ids {
            let Some(link) = self.links.get(&id) else { continue };
            match link.phase {
                Phase::Closing { until, failed } if until <= now => {
                    self.links.remove(&id);
                    self.outputs.push_back(Output::Close { link: id, failed });
                }
                Phase::Closing { .. } => {}
                _ if link.opened_ms.is_none()
                    && now.saturating_sub(link.started_ms) >= CONNECT_TIMEOUT_MS =>
                {
                    self.end(id, Cause::TimedOut, now);
                }
                _ => {}
            }
        }
        self.ensure_connections(now);
        self.relay_due = true;
        self.fetch_missing_blobs(board, blobs);
    }

    // ----- sessions ----------------------------------------------------------------

    /// Acts on what a link's session reports.
    fn drain_session(&mut self, id: LinkId, board: &mut Board, blobs: &mut dyn blob::Store, now: u64) {
        let Some(link) = self.links.get_mut(&id) else { return };
        let kind = link.kind;
        let Some(session) = link.session.as_mut() else { return };
        let mut reported = Vec::new();
        while let Some(event) = session.poll_event() {
            reported.push(event);
        }
        let (mut changed, mut fetch) = (false, false);
        for event in reported {
            match event {
                SessionEvent::Opened(remote) => {
                    self.on_opened(id, kind, remote, now);
                    fetch = true;
                }
                SessionEvent::BoardChanged => changed = true,
                SessionEvent::Presence { peer, state } => match kind {
                    Kind::Remote => {
                        self.people.presence(peer, state, now, &mut self.events);
                        self.relay_due = true;
                    }
                    // The app's presence is this device's.
                    Kind::App => self.set_presence(state),
                    // The node shows others this page's presence as its own.
                    Kind::Node => {}
                },
                SessionEvent::RelayedPresence { peer, identity, state } => {
                    self.people.seen(peer, identity, id, false, &mut self.events);
                    self.people.presence(peer, state, now, &mut self.events);
                }
                SessionEvent::RelayedLeft { peer } => self.people.left_via(peer, id, &mut self.events),
                SessionEvent::BlobProgress { hash, received, total } => {
                    self.events.push_back(Event::BlobProgress { hash, received, total })
                }
                SessionEvent::BlobReady { hash } => self.events.push_back(Event::BlobReady { hash }),
                SessionEvent::BlobRejected { hash, reason } => {
                    self.events.push_back(Event::BlobRejected { hash, reason });
                    self.fetcher.next_turn();
                    fetch = true;
                }
                SessionEvent::BlobUnavailable { hash } | SessionEvent::BlobStalled { hash } => {
                    self.fetcher.lacks(id, hash, now);
                    fetch = true;
                }
                SessionEvent::Closed { reason } => {
                    self.end(id, Cause::Goodbye(reason), now);
                    fetch = true;
                }
            }
        }
        if changed {
            self.events.push_back(Event::BoardChanged { link: id });
            fetch = true;
        }
        if fetch {
            self.fetch_missing_blobs(board, blobs);
        }
    }

    fn on_opened(&mut self, id: LinkId, kind: Kind, remote: Remote, now: u64) {
        let Some(link) = self.links.get_mut(&id) else { return };
        link.opened_ms = Some(now);
        link.replica = Some(remote.peer);
        if kind != Kind::App
            && let (Some(state), Some(session)) = (self.own_presence.clone(), link.session.as_mut())
        {
            session.set_presence(state);
        }
        if kind == Kind::Remote {
            self.people.seen(remote.peer, remote.identity.clone(), id, true, &mut self.events);
        }
        self.relay_due = true;
        self.events.push_back(Event::LinkOpened { link: id, kind, remote });
    }

    /// Shows every app link who else is here.
    fn relay(&mut self, now: u64) {
        for link in self.links.values_mut().filter(|link| link.kind == Kind::App) {
            let Link { session, relayed, phase, .. } = link;
            if *phase != Phase::Open {
                continue;
            }
            if let Some(session) = session.as_mut().filter(|session| session.is_open()) {
                self.people.relay_to(session, relayed, now);
            }
        }
    }

    // ----- links -------------------------------------------------------------------

    fn new_link_id(&mut self) -> LinkId {
        let id = LinkId::remote(self.next_link);
        self.next_link += 1;
        id
    }

    fn links_of(&self, kind: Kind) -> impl Iterator<Item = LinkId> + '_ {
        self.links.iter().filter(move |(_, link)| link.kind == kind && !link.is_closing()).map(|(id, _)| *id)
    }

    /// Remote links that count against the mesh cap.
    fn remote_links(&self) -> usize {
        self.links_of(Kind::Remote).count()
    }

    fn mesh_full(&mut self) {
        if !self.told_full {
            self.told_full = true;
            self.events.push_back(Event::MeshFull { limit: self.config.max_connections });
        }
    }

    /// Offers to every present peer this side should offer to (the smaller
    /// signaling id offers) that has no link and whose retry is due.
    fn ensure_connections(&mut self, now: u64) {
        if self.offline {
            return;
        }
        let Some(me) = self.signaling.as_ref().map(|signaling| signaling.me.clone()) else { return };
        let linked: BTreeSet<&str> = self.links.values().filter_map(|link| link.peer.as_deref()).collect();
        let due: Vec<String> = self
            .present
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

    /// Ends a link: a goodbye where its channel can still carry one, every
    /// person and fetch it brought forgotten, a retry planned while its peer
    /// is present (the side that offers retries).
    fn end(&mut self, id: LinkId, cause: Cause, now: u64) {
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
