//! The peer protocol as a sans-IO state machine: one [`Session`] per remote
//! peer of one board. Feed it the frames that arrive ([`Session::receive`]),
//! poll it for frames to send ([`Session::poll_transmit`]) whenever the
//! channel has room, poll it for events ([`Session::poll_event`]) and tick it
//! with the time now and then ([`Session::tick`]). It never touches a socket,
//! a clock or a random number.
//!
//! Sync: each side's hello carries its version; each answers with the
//! changes the other lacks, so two replicas that diverged offline reconcile
//! in one round trip. Afterwards local changes stream as they are committed,
//! and a periodic version exchange repairs anything lost and tells each side
//! when both hold the same board. A peer that lacks more than
//! [`SYNC_PART_OPS`] operations (a fresh replica of a board with a long
//! past) gets them in parts, oldest first, a part per poll: it draws the
//! board as the parts arrive, and no message nears the size limit.
//!
//! ```
//! use board_model::{blob, presence, Board, BoardId, ReplicaId, Session, session};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut a = Board::create(BoardId::from_random_bytes([1; 16]), "Plans", ReplicaId(1))?;
//! let mut b = Board::empty(ReplicaId(2))?;
//! let (mut blobs_a, mut blobs_b) = (blob::MemoryStore::new(), blob::MemoryStore::new());
//! let identity = |name: &str| presence::Identity { name: name.into(), color: "#336699".into() };
//! let mut sa = Session::new(session::Config::new(1, identity("Ann")));
//! let mut sb = Session::new(session::Config::new(2, identity("Bo")));
//! // Move frames both ways until neither side has anything to say.
//! loop {
//!     let mut moved = false;
//!     while let Some(frame) = sa.poll_transmit(&a, &blobs_a) {
//!         sb.receive(&frame, &mut b, &mut blobs_b, 0)?;
//!         moved = true;
//!     }
//!     while let Some(frame) = sb.poll_transmit(&b, &blobs_b) {
//!         sa.receive(&frame, &mut a, &mut blobs_a, 0)?;
//!         moved = true;
//!     }
//!     if !moved { break; }
//! }
//! assert_eq!(b.title(), "Plans");
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, VecDeque};

use serde_bytes::ByteBuf;

use crate::blob::{self, Hash};
use crate::board::{Board, Heads, SYNC_PART_OPS, SyncPart, Version};
use crate::card::{CardId, Point};
use crate::error::LoadError;
use crate::presence::{self, Identity, Path};
use crate::protocol::{self, Message, Reassembler};

mod blobs;

/// How often each side re-announces its version (anti-entropy), in milliseconds.
pub const SYNC_INTERVAL_MS: u64 = 5_000;
/// A wanted blob with no answer for this long is given up (the application
/// can want it again, perhaps from another peer), in milliseconds.
pub const BLOB_STALL_MS: u64 = 20_000;
/// Most sync requests a peer may send in one second: each may cost an
/// export of the board, so more is treated as an attack.
pub const MAX_SYNC_REQUESTS_PER_SECOND: u32 = 50;
/// Most blob requests a peer may have outstanding with us.
pub const MAX_OUTSTANDING_BLOB_REQUESTS: usize = 1_024;
/// Most answers to a peer's requests waiting to be sent: a peer that keeps
/// asking without reading the answers is cut off at this many.
pub const MAX_UNREAD_REPLIES: usize = 256;
/// Most blobs this side fetches from one remote at a time (each may grow
/// to [`crate::blob::MAX_BLOB_SIZE`] as its bytes arrive).
pub const MAX_WANTS_PER_PEER: usize = 4;

/// Least time between two state digests sent on one session, in
/// milliseconds (a digest reads the whole board; versions change often).
pub const DIGEST_INTERVAL_MS: u64 = 30_000;

/// How this side presents itself.
#[derive(Clone, Debug)]
pub struct Config {
    /// This replica's id (the board's [`crate::ReplicaId`]).
    pub peer: u64,
    pub identity: Identity,
    /// Largest frame this side sends (the channel's message size limit).
    pub max_frame_size: usize,
    /// Proof of holding the board key bound to this connection, sent in the hello.
    pub proof: Option<Vec<u8>>,
    /// The proof the remote must present; `None` accepts any.
    pub expected_remote_proof: Option<Vec<u8>>,
    /// Whether the remote may relay other peers' presence
    /// ([`Event::RelayedPresence`]): only where the remote is trusted to speak
    /// for others, as the desktop page trusts its own embedded peer. Elsewhere
    /// a relayed presence is a protocol error.
    pub accept_relayed_presence: bool,
}

impl Config {
    pub fn new(peer: u64, identity: Identity) -> Config {
        Config {
            peer,
            identity,
            max_frame_size: protocol::DEFAULT_MAX_FRAME_SIZE,
            proof: None,
            expected_remote_proof: None,
            accept_relayed_presence: false,
        }
    }
}

/// Who is on the other end, once its hello arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    pub peer: u64,
    pub identity: Identity,
}

/// Something the application should know about.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The remote's hello was accepted.
    Opened(Remote),
    /// Changes from the remote were applied to the board (the board's own
    /// change events say what changed).
    BoardChanged,
    /// The remote's presence changed.
    Presence { peer: u64, state: presence::State },
    /// A third peer's presence, relayed by the remote (see
    /// [`Config::accept_relayed_presence`]).
    /// `path`: how the remote's packets reach that peer, when it knows.
    RelayedPresence { peer: u64, identity: Identity, state: presence::State, path: Option<Path> },
    /// A relayed peer has gone.
    RelayedLeft { peer: u64 },
    /// Part of a wanted blob arrived.
    BlobProgress { hash: Hash, received: u64, total: u64 },
    /// A wanted blob arrived whole and its hash matched.
    BlobReady { hash: Hash },
    /// The remote does not have a wanted blob.
    BlobUnavailable { hash: Hash },
    /// The remote stopped answering about a wanted blob; the want was dropped.
    BlobStalled { hash: Hash },
    /// A blob arrived but did not match its hash; it was discarded.
    BlobRejected { hash: Hash, reason: String },
    /// The remote said goodbye.
    Closed { reason: String },
}

/// Why a session ended. After an error the session is closed; a bye telling
/// the remote why is queued for sending.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    #[error(transparent)]
    Protocol(#[from] protocol::Error),
    #[error("the peer sent board changes that could not be applied: {0}")]
    BadUpdates(LoadError),
    #[error("the peer sent a {0} message before its hello")]
    BeforeHello(&'static str),
    #[error("the peer sent a second hello")]
    DuplicateHello,
    #[error("the peer uses our own replica id")]
    SameReplica,
    #[error("the peer could not prove it holds the board key")]
    AuthenticationFailed,
    #[error("the peer broke the blob transfer protocol: {0}")]
    BlobProtocol(&'static str),
    #[error("the peer asked for too many blobs at once")]
    TooManyBlobRequests,
    #[error("the peer sent too many {0} messages")]
    Flooding(&'static str),
    #[error("the peer kept asking without reading the answers ({0} unread)")]
    NotReading(usize),
    #[error("blob storage failed: {0}")]
    Store(#[from] blob::StoreError),
    #[error("the session is closed")]
    Closed,
    #[error("the peer relayed another peer's presence, which this session does not take")]
    UnexpectedRelay,
    #[error("the peer's unfinished messages passed this board's memory budget ({0} bytes held)")]
    OverMemoryBudget(usize),
    #[error(
        "the peer holds the same changes as this board but its board differs: someone wrote \
         changes under another peer's id; this peer is not synced with"
    )]
    Diverged,
    #[error("handling the peer's data failed inside this program ({0}); only this peer was cut off")]
    Internal(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    AwaitingHello,
    Open,
    Closed,
}

#[derive(Debug)]
struct Incoming {
    total: Option<u64>,
    /// Hashes the blob as it arrives (set once its size is known).
    verifier: Option<blob::Verifier>,
    /// When the remote last answered about this blob (set on the first tick).
    last_activity_ms: Option<u64>,
}

#[derive(Debug)]
struct Outgoing {
    hash: Hash,
    next: u64,
    size: u64,
}

/// The protocol with one remote peer of one board.
#[derive(Debug)]
pub struct Session {
    config: Config,
    phase: Phase,
    /// Our hello goes out with the first poll, carrying the board's version then.
    hello_sent: bool,
    remote: Option<Remote>,
    reassembler: Reassembler,
    /// Frames ready to go; a fragmented message's frames stay contiguous.
    queue: VecDeque<Vec<u8>>,
    /// Answers to the remote's requests (blob haves and misses), sent
    /// before anything else; at most [`MAX_UNREAD_REPLIES`].
    replies: VecDeque<Vec<u8>>,
    /// What we believe the remote holds: nothing we know it has is sent again.
    remote_known: Version,
    /// Our heads when everything we held was in `remote_known`: while the
    /// board's heads are still these, a poll has nothing to send (and
    /// skips comparing whole versions, costly with many replicas).
    remote_caught_up_at: Option<Heads>,
    /// The last version the remote told us it holds.
    remote_reported: Option<Version>,
    /// The rest of a sync too big for one message, sent a part per poll.
    sync_parts: VecDeque<SyncPart>,
    /// What the remote holds once every part sent has arrived: until it
    /// says it holds that, its announcements cross parts on their way.
    sync_until: Option<Version>,
    /// We imported changes or noticed a gap: announce our version at the next tick.
    announce_due: bool,
    last_announce_ms: Option<u64>,
    /// The version at which we last sent our state digest, and when.
    digest_sent: Option<(Version, u64)>,
    /// Sync requests received in the current one-second window.
    sync_requests: (u64, u32),
    local_presence: Option<presence::State>,
    presence_due: bool,
    presence_seq: u64,
    last_presence_ms: u64,
    remote_presence_seq: u64,
    incoming: HashMap<Hash, Incoming>,
    outgoing: VecDeque<Outgoing>,
    events: VecDeque<Event>,
}

impl Session {
    /// A new session; its hello is the first frame it sends.
    pub fn new(config: Config) -> Session {
        Session {
            phase: Phase::AwaitingHello,
            hello_sent: false,
            remote: None,
            reassembler: Reassembler::new(),
            queue: VecDeque::new(),
            replies: VecDeque::new(),
            remote_known: Version::empty(),
            remote_caught_up_at: None,
            remote_reported: None,
            sync_parts: VecDeque::new(),
            sync_until: None,
            announce_due: false,
            last_announce_ms: None,
            digest_sent: None,
            sync_requests: (0, 0),
            local_presence: None,
            presence_due: false,
            presence_seq: 0,
            last_presence_ms: 0,
            remote_presence_seq: 0,
            incoming: HashMap::new(),
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            config,
        }
    }

    fn send_hello(&mut self, board: &Board) {
        self.hello_sent = true;
        let hello = Message::Hello(protocol::Hello {
            peer: self.config.peer,
            name: self.config.identity.name.clone(),
            color: self.config.identity.color.clone(),
            proof: self.config.proof.clone().map(ByteBuf::from),
            version: ByteBuf::from(board.version().encode()),
        });
        // The hello goes first even when something was queued before the
        // first poll (a relay queues presence the moment the remote's hello
        // is in): a remote refuses anything before our hello.
        let queued = self.queue.len();
        self.send(&hello);
        self.queue.rotate_left(queued);
    }

    /// The remote peer, once its hello was accepted.
    pub fn remote(&self) -> Option<&Remote> {
        self.remote.as_ref()
    }

    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// True while the remote holds changes this board lacks (what its
    /// hello or last announcement said): a joiner is still receiving.
    pub fn is_behind(&self, board: &Board) -> bool {
        self.phase == Phase::Open
            && self.remote_reported.as_ref().is_some_and(|theirs| !theirs.included_in(&board.version()))
    }

    /// True when the remote told us it holds exactly what this board holds.
    pub fn is_synced(&self, board: &Board) -> bool {
        self.phase == Phase::Open && self.remote_reported.as_ref() == Some(&board.version())
    }

    /// Takes one frame from the remote. On error the session closes and
    /// queues a bye with the reason; the board is never left half-changed.
    pub fn receive(
        &mut self,
        frame: &[u8],
        board: &mut Board,
        blobs: &mut dyn blob::Store,
        now_ms: u64,
    ) -> Result<(), Error> {
        if self.phase == Phase::Closed {
            return Err(Error::Closed);
        }
        let result = self.receive_inner(frame, board, blobs, now_ms);
        if let Err(error) = &result {
            self.fail(error);
        }
        result
    }

    fn receive_inner(
        &mut self,
        frame: &[u8],
        board: &mut Board,
        blobs: &mut dyn blob::Store,
        now_ms: u64,
    ) -> Result<(), Error> {
        let Some(body) = self.reassembler.push(frame)? else {
            return Ok(());
        };
        let message = Message::decode(&body)?;
        if self.phase == Phase::AwaitingHello {
            return match message {
                Message::Hello(hello) => self.accept_hello(hello),
                Message::Bye { reason } => {
                    self.phase = Phase::Closed;
                    self.events.push_back(Event::Closed { reason });
                    Ok(())
                }
                other => Err(Error::BeforeHello(name_of(&other))),
            };
        }
        match message {
            Message::Hello(_) => Err(Error::DuplicateHello),
            Message::SyncRequest { version } => {
                let (window, count) = &mut self.sync_requests;
                if now_ms.saturating_sub(*window) >= 1_000 {
                    (*window, *count) = (now_ms, 0);
                }
                *count += 1;
                if *count > MAX_SYNC_REQUESTS_PER_SECOND {
                    return Err(Error::Flooding("sync request"));
                }
                let version = Version::decode(&version).map_err(Error::BadUpdates)?;
                if self.sync_until.as_ref().is_some_and(|until| !until.included_in(&version)) {
                    // Mid-way through a sync in parts, the parts sent are
                    // on their way (the channel is reliable): keep going.
                    self.remote_known.merge(&version);
                } else {
                    // Whatever we sent that their version lacks was lost: send it again.
                    self.sync_until = None;
                    self.remote_known = version.clone();
                    self.remote_caught_up_at = None;
                }
                self.remote_reported = Some(version);
                Ok(())
            }
            Message::SyncUpdates { updates } => {
                let imported = board.import_updates(&updates).map_err(Error::BadUpdates)?;
                self.remote_known.merge(&imported.received);
                self.events.push_back(Event::BoardChanged);
                self.announce_due = true;
                if imported.pending {
                    // A gap: ask for what is missing right away.
                    self.announce(board, now_ms);
                }
                Ok(())
            }
            Message::BlobWant { hash, offset } => self.on_blob_want(hash, offset, blobs),
            Message::BlobHave { hash, size } => self.on_blob_have(hash, size, blobs, now_ms),
            Message::BlobMissing { hash } => {
                if self.incoming.remove(&hash).is_some() {
                    self.events.push_back(Event::BlobUnavailable { hash });
                }
                Ok(())
            }
            Message::BlobChunk { hash, offset, data } => {
                self.on_blob_chunk(hash, offset, &data, blobs, now_ms)
            }
            Message::BlobCancel { hash } => {
                self.outgoing.retain(|outgoing| outgoing.hash != hash);
                Ok(())
            }
            Message::Presence(wire) => {
                if wire.seq <= self.remote_presence_seq {
                    return Ok(());
                }
                self.remote_presence_seq = wire.seq;
                let peer = self.remote.as_ref().map_or(0, |remote| remote.peer);
                self.events.push_back(Event::Presence { peer, state: presence_from_wire(&wire) });
                Ok(())
            }
            Message::Bye { reason } => {
                self.phase = Phase::Closed;
                self.events.push_back(Event::Closed { reason });
                Ok(())
            }
            Message::PeerPresence { peer, name, color, presence: wire, path } => {
                if !self.config.accept_relayed_presence {
                    return Err(Error::UnexpectedRelay);
                }
                let name: String = name.chars().take(presence::MAX_NAME_CHARS).collect();
                let identity = Identity { name, color };
                self.events.push_back(Event::RelayedPresence {
                    peer,
                    identity,
                    state: presence_from_wire(&wire),
                    path,
                });
                Ok(())
            }
            Message::PeerLeft { peer } => {
                if !self.config.accept_relayed_presence {
                    return Err(Error::UnexpectedRelay);
                }
                self.events.push_back(Event::RelayedLeft { peer });
                Ok(())
            }
            Message::StateDigest { version, digest } => {
                let version = Version::decode(&version).map_err(Error::BadUpdates)?;
                // Only a digest of what we hold now can be compared (the
                // board's digest is kept per version: repeats cost nothing).
                if version == board.version() && digest != board.state_digest() {
                    return Err(Error::Diverged);
                }
                Ok(())
            }
        }
    }

    fn accept_hello(&mut self, hello: protocol::Hello) -> Result<(), Error> {
        if hello.peer == self.config.peer {
            return Err(Error::SameReplica);
        }
        if let Some(expected) = &self.config.expected_remote_proof {
            let presented: &[u8] = hello.proof.as_deref().map_or(&[], |proof| proof.as_slice());
            if !constant_time_eq(presented, expected) {
                return Err(Error::AuthenticationFailed);
            }
        }
        let version = Version::decode(&hello.version).map_err(Error::BadUpdates)?;
        let name: String = hello.name.chars().take(presence::MAX_NAME_CHARS).collect();
        let remote = Remote { peer: hello.peer, identity: Identity { name, color: hello.color } };
        self.remote = Some(remote.clone());
        self.phase = Phase::Open;
        self.events.push_back(Event::Opened(remote));
        // What they hold: the next poll sends them what they lack.
        self.remote_known = version.clone();
        self.remote_caught_up_at = None;
        self.remote_reported = Some(version);
        if self.local_presence.is_some() {
            self.presence_due = true;
        }
        Ok(())
    }

    /// Sets what the remote sees of us; sent at the next poll, latest state wins.
    /// Tells the remote about a third peer's presence, and how this side's
    /// packets reach that peer (the remote must take relayed presence, see
    /// [`Config::accept_relayed_presence`]). Sent at once when the session
    /// is open; dropped otherwise.
    pub fn relay_presence(
        &mut self,
        peer: u64,
        identity: &Identity,
        state: &presence::State,
        path: Option<Path>,
    ) {
        if self.phase != Phase::Open {
            return;
        }
        let message = Message::PeerPresence {
            peer,
            name: truncate(&identity.name, protocol::MAX_TEXT_BYTES),
            color: identity.color.clone(),
            presence: presence_to_wire(state, 0),
            path,
        };
        self.send(&message);
    }

    /// Tells the remote that a relayed peer has gone.
    pub fn relay_left(&mut self, peer: u64) {
        if self.phase == Phase::Open {
            self.send(&Message::PeerLeft { peer });
        }
    }

    pub fn set_presence(&mut self, state: presence::State) {
        self.local_presence = Some(state);
        self.presence_due = self.phase == Phase::Open;
    }

    /// Lets time pass: announces our version when due (after imports and
    /// every [`SYNC_INTERVAL_MS`]) and refreshes presence before it expires.
    pub fn tick(&mut self, board: &Board, now_ms: u64) {
        if self.phase != Phase::Open {
            return;
        }
        // The hellos carried both versions: the first periodic announcement
        // is due an interval after the first tick, not at once (an early one
        // would cross the updates in flight and have them sent again).
        let last = *self.last_announce_ms.get_or_insert(now_ms);
        let interval_passed = now_ms.saturating_sub(last) >= SYNC_INTERVAL_MS;
        if self.announce_due || interval_passed {
            self.announce(board, now_ms);
        }
        self.send_digest_if_due(board, now_ms);
        let mut stalled = Vec::new();
        for (hash, incoming) in &mut self.incoming {
            match incoming.last_activity_ms {
                None => incoming.last_activity_ms = Some(now_ms),
                Some(last) if now_ms.saturating_sub(last) >= BLOB_STALL_MS => stalled.push(*hash),
                Some(_) => {}
            }
        }
        stalled.sort();
        for hash in stalled {
            self.cancel_blob(hash);
            self.events.push_back(Event::BlobStalled { hash });
        }
        if self.local_presence.is_some()
            && now_ms.saturating_sub(self.last_presence_ms) >= presence::REFRESH_MS
        {
            self.presence_due = true;
            self.last_presence_ms = now_ms;
        }
    }

    /// Both sides hold the same changes: say what our board's state is, so
    /// that boards made different under the same ids are found out.
    fn send_digest_if_due(&mut self, board: &Board, now_ms: u64) {
        if !self.is_synced(board) {
            return;
        }
        let version = board.version();
        let due = match &self.digest_sent {
            None => true,
            Some((sent, at)) => *sent != version && now_ms.saturating_sub(*at) >= DIGEST_INTERVAL_MS,
        };
        if due {
            let message = Message::StateDigest {
                version: ByteBuf::from(version.encode()),
                digest: board.state_digest(),
            };
            self.send(&message);
            self.digest_sent = Some((version, now_ms));
        }
    }

    fn announce(&mut self, board: &Board, now_ms: u64) {
        self.announce_due = false;
        self.last_announce_ms = Some(now_ms);
        self.send(&Message::SyncRequest { version: ByteBuf::from(board.version().encode()) });
    }

    /// Says goodbye; the session sends the bye and then nothing more.
    pub fn close(&mut self, reason: &str) {
        if self.phase != Phase::Closed {
            self.hello_sent = true;
            let reason = truncate(reason, protocol::MAX_TEXT_BYTES);
            self.send(&Message::Bye { reason });
            self.phase = Phase::Closed;
            self.reassembler = Reassembler::new();
        }
    }

    /// Bytes held of a message still arriving in fragments.
    pub fn buffered_bytes(&self) -> usize {
        self.reassembler.buffered()
    }

    /// Ends the session for a reason found outside it (such as a memory
    /// budget over several sessions): what it held is let go, and a bye
    /// with the reason is queued.
    pub fn abort(&mut self, error: &Error) {
        if self.phase == Phase::Closed {
            self.reassembler = Reassembler::new();
        } else {
            self.fail(error);
        }
    }

    fn fail(&mut self, error: &Error) {
        self.reassembler = Reassembler::new();
        self.queue.clear();
        self.replies.clear();
        self.sync_parts.clear();
        self.sync_until = None;
        self.hello_sent = true;
        self.outgoing.clear();
        let reason = truncate(&error.to_string(), protocol::MAX_TEXT_BYTES);
        self.send(&Message::Bye { reason });
        self.phase = Phase::Closed;
    }

    /// The next frame to send, if any. Call it only while the channel has
    /// room (its buffered amount is low): that is the flow control.
    pub fn poll_transmit(&mut self, board: &Board, blobs: &dyn blob::Store) -> Option<Vec<u8>> {
        if !self.hello_sent && self.phase != Phase::Closed {
            self.send_hello(board);
        }
        if let Some(frame) = self.queue.pop_front() {
            return Some(frame);
        }
        if let Some(frame) = self.replies.pop_front() {
            return Some(frame);
        }
        if self.phase != Phase::Open {
            return None;
        }
        if !self.sync_parts.is_empty() {
            // A long sync goes a part per poll, with live presence between parts.
            if let Some(frame) = self.next_presence() {
                return Some(frame);
            }
            if let Some(frame) = self.next_sync_part(board) {
                return Some(frame);
            }
        }
        let heads = board.heads();
        if self.remote_caught_up_at.as_ref() != Some(&heads) {
            let ours = board.version();
            if !ours.included_in(&self.remote_known) {
                if board.ops_missing_from(&self.remote_known) > SYNC_PART_OPS {
                    self.sync_parts = board.sync_parts(&self.remote_known, SYNC_PART_OPS);
                    if let Some(frame) = self.next_sync_part(board) {
                        return Some(frame);
                    }
                }
                let updates = board.updates_since(&self.remote_known);
                self.remote_known.merge(&ours);
                if !updates.is_empty() {
                    self.send(&Message::SyncUpdates { updates: ByteBuf::from(updates) });
                    self.remote_caught_up_at = Some(heads);
                    return self.queue.pop_front();
                }
            }
            self.remote_caught_up_at = Some(heads);
        }
        if let Some(frame) = self.next_presence() {
            return Some(frame);
        }
        self.next_blob_chunk(blobs)
    }

    /// Our presence, if it is due.
    fn next_presence(&mut self) -> Option<Vec<u8>> {
        if !self.presence_due {
            return None;
        }
        self.presence_due = false;
        let state = self.local_presence.as_ref()?;
        self.presence_seq += 1;
        let wire = presence_to_wire(state, self.presence_seq);
        self.send(&Message::Presence(wire));
        self.queue.pop_front()
    }

    /// The first frame of the next part of a sync in parts that the remote
    /// does not hold yet.
    fn next_sync_part(&mut self, board: &Board) -> Option<Vec<u8>> {
        while let Some(part) = self.sync_parts.pop_front() {
            if part.end().included_in(&self.remote_known) {
                continue;
            }
            let updates = board.export_part(&part);
            if updates.is_empty() {
                // The export failed: the rest goes in one piece (and what
                // fails again is asked for by the next announcement).
                self.sync_parts.clear();
                return None;
            }
            self.remote_known.merge(part.end());
            self.sync_until = Some(part.end().clone());
            self.send(&Message::SyncUpdates { updates: ByteBuf::from(updates) });
            return self.queue.pop_front();
        }
        None
    }

    /// The next event for the application, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn send(&mut self, message: &Message) {
        self.queue.extend(message.encode(self.config.max_frame_size));
    }

    /// Queues an answer to the remote's request; one that leaves more than
    /// [`MAX_UNREAD_REPLIES`] unsent means the remote is not reading.
    fn reply(&mut self, message: &Message) -> Result<(), Error> {
        if self.replies.len() >= MAX_UNREAD_REPLIES {
            return Err(Error::NotReading(self.replies.len()));
        }
        self.replies.extend(message.encode(self.config.max_frame_size));
        Ok(())
    }
}

fn name_of(message: &Message) -> &'static str {
    match message {
        Message::Hello(_) => "hello",
        Message::SyncRequest { .. } => "sync request",
        Message::SyncUpdates { .. } => "sync updates",
        Message::BlobWant { .. } => "blob want",
        Message::BlobHave { .. } => "blob have",
        Message::BlobMissing { .. } => "blob missing",
        Message::BlobChunk { .. } => "blob chunk",
        Message::BlobCancel { .. } => "blob cancel",
        Message::Presence(_) => "presence",
        Message::Bye { .. } => "bye",
        Message::PeerPresence { .. } => "relayed presence",
        Message::PeerLeft { .. } => "relayed departure",
        Message::StateDigest { .. } => "state digest",
    }
}

fn presence_to_wire(state: &presence::State, seq: u64) -> protocol::Presence {
    protocol::Presence {
        seq,
        cursor: state.cursor.map(|point| (point.x, point.y)),
        selection: state
            .selection
            .iter()
            .take(presence::MAX_LISTED_CARDS)
            .map(|id| *id.0.as_bytes())
            .collect(),
        dragging: state
            .dragging
            .iter()
            .take(presence::MAX_LISTED_CARDS)
            .map(|(id, point)| (*id.0.as_bytes(), point.x, point.y))
            .collect(),
    }
}

fn presence_from_wire(wire: &protocol::Presence) -> presence::State {
    let card = |bytes: &[u8; 16]| CardId(uuid::Uuid::from_bytes(*bytes));
    presence::State {
        cursor: wire.cursor.map(|(x, y)| Point { x, y }),
        selection: wire.selection.iter().map(card).collect(),
        dragging: wire.dragging.iter().map(|(id, x, y)| (card(id), Point { x: *x, y: *y })).collect(),
    }
}

fn truncate(text: &str, max_bytes: usize) -> String {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
