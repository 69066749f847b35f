//! The room machine: links to the board's other devices, driven by
//! [`Input`]s, asking for [`Output`]s, reporting [`Event`]s.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use board_key::envelope::Envelopes;
use board_key::link::ShareLink;
use board_key::room;
use board_model::Board;
use board_model::blob;
use board_model::presence::{self, Identity};
use board_model::session::Remote;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

mod connect;
mod sessions;

use crate::fetch::Fetcher;
use crate::io::{Cause, Event, Input, Output};
use crate::link::{Kind, Link, LinkId, Phase};
use crate::people::People;
use crate::retry::Retries;
use crate::{MAX_CONNECTIONS, MAX_RELAY_CONNECTIONS};

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
    /// This device is an always-on relay: it says so (sealed) to the room,
    /// links to every other relay and to its share of everyone else, and
    /// passes on the presence of the people it sees (see [`crate::mesh`]).
    pub relay: bool,
    /// Most bytes of unfinished messages over all links ([`crate::REASSEMBLY_BUDGET`]).
    pub reassembly_budget: usize,
}

impl Config {
    pub fn new(link: ShareLink, replica: u64, identity: Identity, seed: [u8; 32]) -> Config {
        Config {
            link,
            replica,
            identity,
            seed,
            max_connections: MAX_CONNECTIONS,
            relay: false,
            reassembly_budget: crate::REASSEMBLY_BUDGET,
        }
    }

    /// The same device as an always-on relay (and its larger link cap).
    pub fn relay(mut self) -> Config {
        self.relay = true;
        self.max_connections = self.max_connections.max(MAX_RELAY_CONNECTIONS);
        self
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
    /// Those of them that announced themselves as relays.
    relays: BTreeSet<String>,
    /// The peers the mesh policy wants links with, while `present` and
    /// `relays` stay as they were.
    wanted: Option<BTreeSet<String>>,
    /// Open links the policy stopped wanting, and since when.
    unwanted_since: BTreeMap<LinkId, u64>,
    /// When this relay last told the room it is one.
    announced_at: u64,
    offline: bool,
    links: BTreeMap<LinkId, Link>,
    next_link: u64,
    retries: Retries,
    fetcher: Fetcher,
    people: People,
    own_presence: Option<presence::State>,
    relay_due: bool,
    /// When [`Room::relay`] next looks at every person, not only who changed.
    relay_full_at: u64,
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
            relays: BTreeSet::new(),
            wanted: None,
            unwanted_since: BTreeMap::new(),
            announced_at: 0,
            offline: false,
            links: BTreeMap::new(),
            next_link: 1,
            retries: Retries::default(),
            fetcher: Fetcher::default(),
            people: People::default(),
            own_presence: None,
            relay_due: false,
            relay_full_at: 0,
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

    /// The other peers in the signaling room that announced themselves as relays.
    pub fn relays(&self) -> impl Iterator<Item = &String> {
        self.relays.iter()
    }

    /// Whether this device is an always-on relay.
    pub fn is_relay(&self) -> bool {
        self.config.relay
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

    /// True while a peer (or this page's node) holds changes the board
    /// lacks and has told us so: the board is still arriving.
    pub fn receiving(&self, board: &Board) -> bool {
        self.links.values().any(|link| link.open_session().is_some_and(|s| s.is_behind(board)))
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
            Input::PeerJoined { peer } => self.on_peer_joined(peer, now),
            Input::PeerLeft { peer } => self.on_peer_left(&peer, now),
            Input::SignalingLost => self.forget_signaling(),
            Input::Signal { from, data } => self.on_signal(from, &data, now),
            Input::Described { link, sdp } => self.on_described(link, sdp, now),
            Input::SetupFailed { link, reason } => self.end(link, Cause::Lost(reason), now),
            Input::PathFound { link, path } => self.on_path_found(link, path),
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
        self.people.release_held(now, &mut self.events);
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
            self.forget_signaling();
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
        self.forget_signaling();
    }

    /// How many images the board shows that the store lacks.
    pub fn missing_blobs(&mut self, board: &Board, blobs: &dyn blob::Store) -> usize {
        self.fetcher.missing(board, blobs).len()
    }

    /// Asks for every image the board shows but the store lacks (the driver
    /// calls it when images arrived or went missing outside the room).
    pub fn fetch_missing_blobs(&mut self, board: &Board, blobs: &mut dyn blob::Store) {
        let sessions = self.links.iter_mut().filter_map(|(id, link)| Some((*id, link.open_session_mut()?)));
        self.fetcher.want_missing(board, blobs, sessions);
    }
}
