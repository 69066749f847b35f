//! The native node: drives one protocol [`Session`] per remote peer per
//! board over WebRTC, introduced through the signaling server with sealed
//! envelopes, and keeps every board and blob on disk. One task owns all
//! state; the signaling client, the data channels and a timer feed it
//! events.
//!
//! Who calls whom: in each room the peer with the smaller signaling id makes
//! the offer, so two peers never offer to each other at once. A broken
//! connection is offered again while both are in the room.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use board_key::envelope::{Envelopes, Signal};
use board_key::link::ShareLink;
use board_key::{proof, room};
use board_model::blob::{Hash, Store as _};
use board_model::presence::Identity;
use board_model::session::{self, Event as SessionEvent};
use board_model::{Board, Session};
use tokio::sync::mpsc;

use crate::signal_client::{self, Event as SignalEvent};
use crate::storage::{BoardFile, DataDir, DiskBlobs};
use crate::transport::{self, LinkEvent};
use crate::{clock, random};

/// How the node runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The signaling server (`ws://host:port/ws` or `http://host:port`).
    pub signal_url: String,
    pub identity: Identity,
    pub transport: transport::Options,
}

/// When the node stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// Until interrupted.
    Serve,
    /// Once every board is held identically by this node and at least one
    /// peer, with all its images.
    Sync,
}

/// Why the node failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
    #[error("no board to serve: create one with `new` or name one with --board")]
    NothingToServe,
    #[error("timed out after {0:?} before a peer held the same board{1}")]
    Timeout(Duration, String),
}

enum Input {
    Signal(SignalEvent),
    Link { room: String, remote: String, generation: u64, event: LinkEvent },
    Interrupt,
}

struct Peer {
    generation: u64,
    connection: transport::Connection,
    writer: Option<mpsc::Sender<Vec<u8>>>,
    session: Option<Session>,
}

struct Room {
    link: ShareLink,
    board: Board,
    file: BoardFile,
    blobs: DiskBlobs,
    envelopes: Option<Envelopes>,
    me: Option<String>,
    present: HashSet<String>,
    peers: HashMap<String, Peer>,
    retry_at: HashMap<String, Instant>,
    blob_turn: usize,
}

struct Node {
    config: Config,
    rooms: HashMap<String, Room>,
    signal: signal_client::Handle,
    inputs: mpsc::UnboundedSender<Input>,
    next_generation: u64,
}

/// Runs the node for these boards until the goal is met (or forever for
/// `Serve`, until SIGINT/SIGTERM).
pub async fn run(
    config: Config,
    data: &DataDir,
    links: Vec<ShareLink>,
    goal: Goal,
    timeout: Option<Duration>,
) -> Result<(), Error> {
    if links.is_empty() {
        return Err(Error::NothingToServe);
    }
    let (inputs, mut input_rx) = mpsc::unbounded_channel();
    let (signal, mut signal_events) = signal_client::spawn(&config.signal_url);
    {
        let inputs = inputs.clone();
        tokio::spawn(async move {
            while let Some(event) = signal_events.recv().await {
                if inputs.send(Input::Signal(event)).is_err() {
                    break;
                }
            }
        });
    }
    {
        let inputs = inputs.clone();
        tokio::spawn(async move {
            wait_for_interrupt().await;
            let _ = inputs.send(Input::Interrupt);
        });
    }
    let mut node = Node { config, rooms: HashMap::new(), signal, inputs, next_generation: 1 };
    for link in links {
        let (file, board) = data.open_or_join(&link, random::replica())?;
        let room = room::room_id(&link.key);
        tracing::info!(board = %link.board, title = %board.title(), cards = board.card_count(), "serving board");
        node.signal.join(&room);
        node.rooms.insert(
            room,
            Room {
                link,
                board,
                file,
                blobs: data.blobs(),
                envelopes: None,
                me: None,
                present: HashSet::new(),
                peers: HashMap::new(),
                retry_at: HashMap::new(),
                blob_turn: 0,
            },
        );
    }
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            input = input_rx.recv() => match input {
                Some(Input::Interrupt) | None => {
                    node.shut_down().await;
                    return Ok(());
                }
                Some(Input::Signal(event)) => node.on_signal(event).await,
                Some(Input::Link { room, remote, generation, event }) => node.on_link(&room, &remote, generation, event).await,
            },
            _ = ticker.tick() => node.on_tick().await,
        }
        if goal == Goal::Sync && node.all_synced() {
            node.persist_all();
            node.shut_down().await;
            return Ok(());
        }
        if let Some(limit) = timeout
            && started.elapsed() > limit
        {
            let status = node.status();
            node.shut_down().await;
            return Err(Error::Timeout(limit, status));
        }
    }
}

async fn wait_for_interrupt() {
    #[cfg(unix)]
    {
        if let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = terminate.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

impl Node {
    fn all_synced(&self) -> bool {
        self.rooms.values().all(|room| {
            let blobs_here = room.board.referenced_blobs().iter().all(|hash| room.blobs.contains(hash));
            blobs_here
                && room
                    .peers
                    .values()
                    .any(|peer| peer.session.as_ref().is_some_and(|s| s.is_synced(&room.board)))
        })
    }

    fn status(&self) -> String {
        let connected: usize =
            self.rooms.values().map(|r| r.peers.values().filter(|p| p.session.is_some()).count()).sum();
        let missing: usize = self
            .rooms
            .values()
            .map(|r| r.board.referenced_blobs().iter().filter(|h| !r.blobs.contains(h)).count())
            .sum();
        format!(" ({connected} peers connected, {missing} images missing)")
    }

    fn persist_all(&mut self) {
        for room in self.rooms.values_mut() {
            if let Err(error) = room.file.persist(&room.board) {
                tracing::error!(%error, "could not save the board");
            }
        }
    }

    async fn shut_down(&mut self) {
        for room in self.rooms.values_mut() {
            for peer in room.peers.values_mut() {
                if let Some(session) = peer.session.as_mut() {
                    session.close("the peer is shutting down");
                }
                flush(peer, &room.board, &room.blobs);
            }
        }
        // Let the byes go out.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.persist_all();
        for room in self.rooms.values_mut() {
            for peer in room.peers.values() {
                peer.connection.close().await;
            }
            if let Some(me) = &room.me {
                tracing::debug!(%me, "leaving room");
            }
        }
    }

    async fn on_signal(&mut self, event: SignalEvent) {
        match event {
            SignalEvent::Connected => tracing::info!("connected to the signaling server"),
            SignalEvent::Disconnected { reason, retry_in } => {
                tracing::warn!(%reason, ?retry_in, "signaling server unreachable; retrying");
            }
            SignalEvent::Refused { code, message } => {
                tracing::warn!(?code, %message, "the signaling server refused")
            }
            SignalEvent::Joined { room, me, peers } => {
                let Some(state) = self.rooms.get_mut(&room) else { return };
                state.envelopes = Some(Envelopes::new(&state.link.key, &room, &me));
                state.me = Some(me);
                state.present = peers.iter().cloned().collect();
                for peer in peers {
                    self.maybe_offer(&room, &peer).await;
                }
            }
            SignalEvent::PeerJoined { room, peer } => {
                if let Some(state) = self.rooms.get_mut(&room) {
                    state.present.insert(peer.clone());
                }
                self.maybe_offer(&room, &peer).await;
            }
            SignalEvent::PeerLeft { room, peer } => {
                if let Some(state) = self.rooms.get_mut(&room) {
                    state.present.remove(&peer);
                }
            }
            SignalEvent::Signal { room, from, data } => self.on_envelope(&room, &from, &data).await,
        }
    }

    /// Offers a connection when we are the side that offers and none exists.
    async fn maybe_offer(&mut self, room_id: &str, remote: &str) {
        let Some(room) = self.rooms.get_mut(room_id) else { return };
        let Some(me) = room.me.clone() else { return };
        if me.as_str() >= remote || room.peers.contains_key(remote) {
            return;
        }
        let Some((generation, events, mut connection)) = self.new_connection(room_id, remote, false).await
        else {
            return;
        };
        let sdp = match connection.offer(events).await {
            Ok(sdp) => sdp,
            Err(error) => {
                tracing::warn!(%error, "could not make an offer");
                connection.close().await;
                return;
            }
        };
        let Some(room) = self.rooms.get_mut(room_id) else { return };
        let Some(envelopes) = room.envelopes.as_mut() else { return };
        let sealed = envelopes.seal(Some(remote), Signal::Offer { sdp }, nonce(), clock::now_ms());
        self.signal.signal(room_id, Some(remote), sealed);
        room.peers.insert(remote.to_owned(), Peer { generation, connection, writer: None, session: None });
    }

    async fn on_envelope(&mut self, room_id: &str, from: &str, data: &[u8]) {
        let Some(room) = self.rooms.get_mut(room_id) else { return };
        let Some(envelopes) = room.envelopes.as_mut() else { return };
        let opened = match envelopes.open(from, data, clock::now_ms()) {
            Ok(opened) => opened,
            Err(error) => {
                tracing::warn!(%from, %error, "refused a signaling envelope");
                return;
            }
        };
        match opened.signal {
            Signal::Offer { sdp } => {
                if let Some(old) = room.peers.remove(from) {
                    old.connection.close().await;
                }
                let Some((generation, events, mut connection)) =
                    self.new_connection(room_id, from, true).await
                else {
                    return;
                };
                let answer = match connection.answer(sdp, events).await {
                    Ok(answer) => answer,
                    Err(error) => {
                        tracing::warn!(%from, %error, "could not answer an offer");
                        connection.close().await;
                        return;
                    }
                };
                let Some(room) = self.rooms.get_mut(room_id) else { return };
                let Some(envelopes) = room.envelopes.as_mut() else { return };
                let sealed =
                    envelopes.seal(Some(from), Signal::Answer { sdp: answer }, nonce(), clock::now_ms());
                self.signal.signal(room_id, Some(from), sealed);
                room.peers
                    .insert(from.to_owned(), Peer { generation, connection, writer: None, session: None });
            }
            Signal::Answer { sdp } => {
                let Some(peer) = room.peers.get(from) else { return };
                if let Err(error) = peer.connection.accept_answer(sdp).await {
                    tracing::warn!(%from, %error, "could not apply an answer");
                }
            }
            Signal::Announce | Signal::Candidate { .. } | Signal::Bye => {}
        }
    }

    /// A new peer connection with its generation and the channel for its events.
    async fn new_connection(
        &mut self,
        room_id: &str,
        remote: &str,
        answering: bool,
    ) -> Option<(u64, mpsc::UnboundedSender<LinkEvent>, transport::Connection)> {
        let generation = self.next_generation;
        self.next_generation += 1;
        let events = self.link_events(room_id, remote, generation);
        match transport::connect(&self.config.transport, answering).await {
            Ok(connection) => Some((generation, events, connection)),
            Err(error) => {
                tracing::warn!(%error, "could not create a peer connection");
                None
            }
        }
    }

    /// A channel for one connection's link events, tagged and forwarded to the node.
    fn link_events(&self, room: &str, remote: &str, generation: u64) -> mpsc::UnboundedSender<LinkEvent> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let inputs = self.inputs.clone();
        let (room, remote) = (room.to_owned(), remote.to_owned());
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let input = Input::Link { room: room.clone(), remote: remote.clone(), generation, event };
                if inputs.send(input).is_err() {
                    break;
                }
            }
        });
        tx
    }

    async fn on_link(&mut self, room_id: &str, remote: &str, generation: u64, event: LinkEvent) {
        let identity = self.config.identity.clone();
        let Some(room) = self.rooms.get_mut(room_id) else { return };
        let current = room.peers.get(remote).is_some_and(|peer| peer.generation == generation);
        if !current {
            return; // An event of a connection already replaced.
        }
        let now = clock::now_ms();
        let mut failed: Option<String> = None;
        match event {
            LinkEvent::Open { local_fingerprint, remote_fingerprint, writer } => {
                let mut config = session::Config::new(room.board.replica().0, identity);
                config.proof = Some(proof::proof(&room.link.key, &local_fingerprint, &remote_fingerprint));
                config.expected_remote_proof = Some(proof::expected_from_remote(
                    &room.link.key,
                    &local_fingerprint,
                    &remote_fingerprint,
                ));
                if let Some(peer) = room.peers.get_mut(remote) {
                    peer.writer = Some(writer);
                    peer.session = Some(Session::new(config));
                }
            }
            LinkEvent::Message(frame) => {
                let Room { peers, board, blobs, .. } = room;
                if let Some(session) = peers.get_mut(remote).and_then(|peer| peer.session.as_mut())
                    && let Err(error) = session.receive(&frame, board, blobs, now)
                {
                    failed = Some(error.to_string());
                }
            }
            LinkEvent::Writable => {}
            LinkEvent::Closed(reason) => {
                tracing::info!(%remote, %reason, "peer disconnected");
                if let Some(peer) = room.peers.remove(remote) {
                    peer.connection.close().await;
                }
                room.retry_at.insert(remote.to_owned(), Instant::now() + Duration::from_secs(1));
                return;
            }
        }
        handle_session_events(room, remote);
        if let Some(reason) = failed {
            tracing::warn!(%remote, %reason, "closing the connection to a misbehaving peer");
            if let Some(peer) = room.peers.get_mut(remote) {
                flush(peer, &room.board, &room.blobs);
            }
            if let Some(peer) = room.peers.remove(remote) {
                let connection = peer.connection;
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    connection.close().await;
                });
            }
        }
        flush_room(room);
    }

    async fn on_tick(&mut self) {
        let now = clock::now_ms();
        let mut retries = Vec::new();
        for (room_id, room) in &mut self.rooms {
            for peer in room.peers.values_mut() {
                if let Some(session) = peer.session.as_mut() {
                    session.tick(&room.board, now);
                }
            }
            let remotes: Vec<String> = room.peers.keys().cloned().collect();
            for remote in remotes {
                handle_session_events(room, &remote);
            }
            match room.file.apply_inbox(&mut room.board) {
                Ok(0) => {}
                Ok(applied) => {
                    room.board.take_changes();
                    tracing::info!(board = %room.link.board, applied, "applied changes made by other commands");
                }
                Err(error) => tracing::error!(%error, "could not apply the board's inbox"),
            }
            want_missing_blobs(room);
            flush_room(room);
            let due: Vec<String> = room
                .retry_at
                .iter()
                .filter(|(remote, at)| **at <= Instant::now() && room.present.contains(*remote))
                .map(|(remote, _)| remote.clone())
                .collect();
            for remote in due {
                room.retry_at.remove(&remote);
                retries.push((room_id.clone(), remote));
            }
        }
        for (room, remote) in retries {
            self.maybe_offer(&room, &remote).await;
        }
    }
}

fn nonce() -> [u8; 24] {
    let mut nonce = [0u8; 24];
    random::fill(&mut nonce);
    nonce
}

/// Sends what a session has while its writer has room.
fn flush(peer: &mut Peer, board: &Board, blobs: &DiskBlobs) {
    let (Some(writer), Some(session)) = (peer.writer.as_ref(), peer.session.as_mut()) else { return };
    while writer.capacity() > 0 {
        let Some(frame) = session.poll_transmit(board, blobs) else { break };
        if writer.try_send(frame).is_err() {
            break;
        }
    }
}

fn flush_room(room: &mut Room) {
    for peer in room.peers.values_mut() {
        flush(peer, &room.board, &room.blobs);
    }
}

/// Reacts to what a session reports: logs connections, saves changes,
/// fetches images.
fn handle_session_events(room: &mut Room, remote: &str) {
    let mut changed = false;
    let mut retry_blobs = false;
    let Some(session) = room.peers.get_mut(remote).and_then(|p| p.session.as_mut()) else { return };
    while let Some(event) = session.poll_event() {
        match event {
            SessionEvent::Opened(who) => tracing::info!(
                board = %room.link.board,
                peer = %who.identity.name,
                replica = who.peer,
                "peer connected"
            ),
            SessionEvent::BoardChanged => changed = true,
            SessionEvent::BlobReady { hash } => tracing::info!(image = %hash, "image received and verified"),
            SessionEvent::BlobRejected { hash, reason } => {
                tracing::warn!(image = %hash, %reason, "image rejected; fetching it again");
                retry_blobs = true;
            }
            SessionEvent::BlobUnavailable { .. } | SessionEvent::BlobStalled { .. } => retry_blobs = true,
            SessionEvent::Closed { reason } => tracing::info!(%remote, %reason, "peer said goodbye"),
            SessionEvent::Presence { .. } | SessionEvent::BlobProgress { .. } => {}
        }
    }
    room.board.take_changes();
    if changed {
        if let Err(error) = room.file.persist(&room.board) {
            tracing::error!(%error, "could not save the board");
        }
        want_missing_blobs(room);
    } else if retry_blobs {
        room.blob_turn += 1;
        want_missing_blobs(room);
    }
}

/// Asks an open session for each image the board shows but the disk lacks,
/// taking turns between peers.
fn want_missing_blobs(room: &mut Room) {
    let missing: Vec<Hash> =
        room.board.referenced_blobs().into_iter().filter(|hash| !room.blobs.contains(hash)).collect();
    if missing.is_empty() {
        return;
    }
    let mut open: Vec<&String> = room
        .peers
        .iter()
        .filter(|(_, p)| p.session.as_ref().is_some_and(Session::is_open))
        .map(|(k, _)| k)
        .collect();
    if open.is_empty() {
        return;
    }
    open.sort();
    let open: Vec<String> = open.into_iter().cloned().collect();
    for (i, hash) in missing.iter().enumerate() {
        let wanted = room
            .peers
            .values()
            .any(|p| p.session.as_ref().is_some_and(|s| s.wanted_blobs().any(|h| h == hash)));
        if wanted || room.blobs.complete_len(hash).is_some() {
            continue;
        }
        let chosen = &open[(room.blob_turn + i) % open.len()];
        if let Some(session) = room.peers.get_mut(chosen).and_then(|p| p.session.as_mut()) {
            session.want_blob(*hash, &room.blobs);
        }
    }
}
