//! The native node: drives one protocol [`Session`] per remote peer per
//! board over WebRTC, introduced through the signaling server with sealed
//! envelopes, and keeps every board and blob on disk. One task owns all
//! state; the signaling client, the data channels, local links and a timer
//! feed it events.
//!
//! Two ways to run it: [`run`] serves a fixed set of boards until a goal is
//! met (`corkboard-peer serve` and `sync`); [`spawn`] starts a long-lived
//! node controlled through a [`NodeHandle`] (the desktop app), which serves
//! boards as they are opened and attaches a *local link* to each: a
//! [`Session`] inside the node whose frames travel over in-process channels.
//! The app's UI speaks the same peer protocol over that link as it does with
//! remote peers; to the node it is just its nearest peer, whose changes are
//! saved, relayed to remote peers and whose images are fetched like anyone
//! else's.
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
use board_model::presence::{self, Identity};
use board_model::session::{self, Event as SessionEvent};
use board_model::{Board, Session};
use tokio::sync::{mpsc, oneshot, watch};

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
    #[error(transparent)]
    Command(#[from] crate::commands::CommandError),
    #[error("no board to serve: create one with `new` or name one with --board")]
    NothingToServe,
    #[error("timed out after {0:?} before a peer held the same board{1}")]
    Timeout(Duration, String),
    #[error("the node has stopped")]
    Stopped,
}

/// The node's connection to the signaling server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalingState {
    Connected,
    Connecting,
    /// The server cannot be reached; the node keeps retrying.
    Unreachable,
    /// Working offline: no signaling, no peer connections.
    Offline,
}

/// What the node is connected to, for a status line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NodeStatus {
    pub signaling: SignalingState,
    /// Per served board (its uuid): the remote peers with an open session.
    pub peers: HashMap<String, usize>,
}

/// A board in the data directory, for a home screen.
#[derive(Clone, Debug)]
pub struct BoardSummary {
    pub link: ShareLink,
    pub title: String,
    pub created_ms: u64,
    /// When the board was last opened through [`NodeHandle::open`] (its creation if never).
    pub last_opened_ms: u64,
    pub card_count: usize,
}

/// The app's end of a local link: frames the node's local session sends,
/// and where to put frames for it. Dropping `to_node` ends the link; a new
/// [`NodeHandle::open`] of the same board replaces it (`from_node` then
/// ends after a bye).
#[derive(Debug)]
pub struct LocalLink {
    pub board: uuid::Uuid,
    pub from_node: mpsc::UnboundedReceiver<Vec<u8>>,
    pub to_node: mpsc::UnboundedSender<Vec<u8>>,
}

/// Controls a node started with [`spawn`]. Cloning it is cheap; the node
/// shuts down (saving everything) when the last handle is dropped or on
/// [`NodeHandle::shut_down`].
#[derive(Clone, Debug)]
pub struct NodeHandle {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<NodeStatus>,
}

impl NodeHandle {
    async fn ask<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(command(reply)).map_err(|_| Error::Stopped)?;
        answer.await.map_err(|_| Error::Stopped)
    }

    /// Serves the board (joins its room; an unknown board starts as an empty
    /// replica that peers fill) and attaches a new local link to it,
    /// replacing the previous local link of that board.
    pub async fn open(&self, link: ShareLink) -> Result<LocalLink, Error> {
        self.ask(|reply| Command::Open { link, reply }).await?
    }

    /// Ends the board's local link (the board stays served).
    pub async fn close_local(&self, board: uuid::Uuid) -> Result<(), Error> {
        self.ask(|reply| Command::CloseLocal { board, reply }).await
    }

    /// Offline closes every peer connection and leaves the signaling server;
    /// back online rejoins every served board's room.
    pub async fn set_offline(&self, offline: bool) -> Result<(), Error> {
        self.ask(|reply| Command::SetOffline { offline, reply }).await
    }

    /// The name and colour shown to peers from now on.
    pub async fn set_identity(&self, identity: Identity) -> Result<(), Error> {
        self.ask(|reply| Command::SetIdentity { identity, reply }).await
    }

    /// The STUN/TURN servers for connections made from now on.
    pub async fn set_ice_servers(&self, servers: Vec<transport::IceServer>) -> Result<(), Error> {
        self.ask(|reply| Command::SetIceServers { servers, reply }).await
    }

    /// Every board in the data directory, most recently opened first.
    pub async fn list_boards(&self) -> Result<Vec<BoardSummary>, Error> {
        self.ask(|reply| Command::ListBoards { reply }).await?
    }

    /// Creates an empty board on disk; returns its share link.
    pub async fn create_board(&self, title: String) -> Result<ShareLink, Error> {
        self.ask(|reply| Command::CreateBoard { title, reply }).await?
    }

    /// Stops serving the board and removes this device's copy of it.
    pub async fn delete_board(&self, board: uuid::Uuid) -> Result<(), Error> {
        self.ask(|reply| Command::DeleteBoard { board, reply }).await?
    }

    /// Says goodbye to every peer, saves every board and stops the node.
    pub async fn shut_down(&self) -> Result<(), Error> {
        self.ask(|reply| Command::ShutDown { reply }).await
    }

    /// The node's status, updated whenever it changes.
    pub fn status(&self) -> watch::Receiver<NodeStatus> {
        self.status.clone()
    }
}

enum Command {
    Open { link: ShareLink, reply: oneshot::Sender<Result<LocalLink, Error>> },
    CloseLocal { board: uuid::Uuid, reply: oneshot::Sender<()> },
    SetOffline { offline: bool, reply: oneshot::Sender<()> },
    SetIdentity { identity: Identity, reply: oneshot::Sender<()> },
    SetIceServers { servers: Vec<transport::IceServer>, reply: oneshot::Sender<()> },
    ListBoards { reply: oneshot::Sender<Result<Vec<BoardSummary>, Error>> },
    CreateBoard { title: String, reply: oneshot::Sender<Result<ShareLink, Error>> },
    DeleteBoard { board: uuid::Uuid, reply: oneshot::Sender<Result<(), Error>> },
    ShutDown { reply: oneshot::Sender<()> },
}

enum Input {
    /// An event of signaling client number `client` (events of a client
    /// replaced by going offline are ignored).
    Signal {
        client: u64,
        event: SignalEvent,
    },
    Link {
        room: String,
        remote: String,
        generation: u64,
        event: LinkEvent,
    },
    /// A frame from a local link; `None` when the app dropped its sender.
    Local {
        room: String,
        generation: u64,
        frame: Option<Vec<u8>>,
    },
    /// A local link's flush stopped at its budget: continue it.
    LocalWritable {
        room: String,
        generation: u64,
    },
    Interrupt,
}

struct Peer {
    generation: u64,
    connection: transport::Connection,
    writer: Option<mpsc::Sender<Vec<u8>>>,
    session: Option<Session>,
    /// What this peer last said of its presence (relayed to the local link).
    presence: presence::State,
}

/// The session of a board's local link.
struct Local {
    generation: u64,
    session: Session,
    to_app: mpsc::UnboundedSender<Vec<u8>>,
    /// The remote peers' presence as last relayed to the app, and when.
    relayed: HashMap<u64, (Identity, presence::State, u64)>,
}

/// Which session of a room.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Who {
    Local,
    Remote(String),
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Who::Local => f.write_str("local link"),
            Who::Remote(id) => f.write_str(id),
        }
    }
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
    local: Option<Local>,
    /// The local link's latest presence, shown to remote peers.
    local_presence: Option<presence::State>,
    /// A session that said it lacks a blob is not asked for it again until then.
    lacking: HashMap<(Who, Hash), Instant>,
}

/// One session of a room, borrowing only the fields that hold sessions.
fn session_of<'a>(
    local: &'a mut Option<Local>,
    peers: &'a mut HashMap<String, Peer>,
    who: &Who,
) -> Option<&'a mut Session> {
    match who {
        Who::Local => local.as_mut().map(|local| &mut local.session),
        Who::Remote(id) => peers.get_mut(id).and_then(|peer| peer.session.as_mut()),
    }
}

impl Room {
    fn sessions(&self) -> impl Iterator<Item = (Who, &Session)> {
        let local = self.local.as_ref().map(|local| (Who::Local, &local.session));
        let remote = self
            .peers
            .iter()
            .filter_map(|(id, peer)| peer.session.as_ref().map(|session| (Who::Remote(id.clone()), session)));
        local.into_iter().chain(remote)
    }

    fn open_remote_sessions(&self) -> usize {
        self.peers.values().filter(|peer| peer.session.as_ref().is_some_and(Session::is_open)).count()
    }
}

/// Bytes a local link's flush hands over before letting other events in.
const LOCAL_FLUSH_BUDGET: usize = 1024 * 1024;
/// How long a session that lacks a blob is left alone about it.
const LACKING_BACKOFF: Duration = Duration::from_secs(2);

struct Node {
    config: Config,
    data: DataDir,
    rooms: HashMap<String, Room>,
    /// `None` while offline.
    signal: Option<signal_client::Handle>,
    /// Numbers signaling clients, so a replaced client's late events are ignored.
    signal_client: u64,
    signaling: SignalingState,
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
    let (mut node, mut input_rx) = Node::new(config, data.clone(), true);
    {
        let inputs = node.inputs.clone();
        tokio::spawn(async move {
            wait_for_interrupt().await;
            let _ = inputs.send(Input::Interrupt);
        });
    }
    for link in links {
        node.serve(link)?;
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
                Some(input) => node.on_input(input).await,
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
            let status = node.describe();
            node.shut_down().await;
            return Err(Error::Timeout(limit, status));
        }
    }
}

/// Starts a long-lived node on the current tokio runtime, online, serving
/// nothing until boards are opened through the handle.
pub fn spawn(config: Config, data: DataDir) -> NodeHandle {
    let (node, input_rx) = Node::new(config, data, true);
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (status_tx, status) = watch::channel(node.status());
    tokio::spawn(serve_commands(node, input_rx, command_rx, status_tx));
    NodeHandle { commands, status }
}

async fn serve_commands(
    mut node: Node,
    mut input_rx: mpsc::UnboundedReceiver<Input>,
    mut command_rx: mpsc::UnboundedReceiver<Command>,
    status: watch::Sender<NodeStatus>,
) {
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            command = command_rx.recv() => match command {
                None => {
                    node.shut_down().await;
                    return;
                }
                Some(Command::ShutDown { reply }) => {
                    node.shut_down().await;
                    let _ = reply.send(());
                    return;
                }
                Some(command) => node.on_command(command).await,
            },
            input = input_rx.recv() => match input {
                Some(Input::Interrupt) | None => {}
                Some(input) => node.on_input(input).await,
            },
            _ = ticker.tick() => node.on_tick().await,
        }
        let now = node.status();
        status.send_if_modified(|old| {
            let changed = *old != now;
            if changed {
                *old = now;
            }
            changed
        });
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
    fn new(config: Config, data: DataDir, online: bool) -> (Node, mpsc::UnboundedReceiver<Input>) {
        let (inputs, input_rx) = mpsc::unbounded_channel();
        let mut node = Node {
            config,
            data,
            rooms: HashMap::new(),
            signal: None,
            signal_client: 0,
            signaling: SignalingState::Offline,
            inputs,
            next_generation: 1,
        };
        if online {
            node.go_online();
        }
        (node, input_rx)
    }

    async fn on_input(&mut self, input: Input) {
        match input {
            Input::Signal { client, event } if client == self.signal_client && self.signal.is_some() => {
                self.on_signal(event).await
            }
            Input::Signal { .. } | Input::Interrupt => {}
            Input::Link { room, remote, generation, event } => {
                self.on_link(&room, &remote, generation, event).await
            }
            Input::Local { room, generation, frame } => self.on_local(&room, generation, frame),
            Input::LocalWritable { room, generation } => {
                let inputs = &self.inputs;
                if let Some(state) = self.rooms.get_mut(&room)
                    && state.local.as_ref().is_some_and(|local| local.generation == generation)
                {
                    flush_room(state, &room, inputs);
                }
            }
        }
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Open { link, reply } => {
                let _ = reply.send(self.open_local(link));
            }
            Command::CloseLocal { board, reply } => {
                if let Some(room) = self.rooms.values_mut().find(|room| room.link.board == board) {
                    end_local(room, "the board was closed");
                }
                let _ = reply.send(());
            }
            Command::SetOffline { offline, reply } => {
                if offline {
                    self.go_offline().await;
                } else if self.signal.is_none() {
                    self.go_online();
                }
                let _ = reply.send(());
            }
            Command::SetIdentity { identity, reply } => {
                self.config.identity = identity;
                let _ = reply.send(());
            }
            Command::SetIceServers { servers, reply } => {
                self.config.transport.ice_servers = servers;
                let _ = reply.send(());
            }
            Command::ListBoards { reply } => {
                let _ = reply.send(self.list_boards());
            }
            Command::CreateBoard { title, reply } => {
                let created = crate::commands::new_board(&self.data, &title).map_err(Error::from);
                let _ = reply.send(created);
            }
            Command::DeleteBoard { board, reply } => {
                let _ = reply.send(self.delete_board(board).await);
            }
            Command::ShutDown { reply } => {
                // Handled by the loop, which stops after it.
                let _ = reply.send(());
            }
        }
    }

    fn status(&self) -> NodeStatus {
        NodeStatus {
            signaling: self.signaling,
            peers: self
                .rooms
                .values()
                .map(|room| (room.link.board.to_string(), room.open_remote_sessions()))
                .collect(),
        }
    }

    fn go_online(&mut self) {
        self.signal_client += 1;
        let client = self.signal_client;
        let (handle, mut events) = signal_client::spawn(&self.config.signal_url);
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if inputs.send(Input::Signal { client, event }).is_err() {
                    break;
                }
            }
        });
        for room_id in self.rooms.keys() {
            handle.join(room_id);
        }
        self.signal = Some(handle);
        self.signaling = SignalingState::Connecting;
    }

    /// Says goodbye to every remote peer, closes every connection, leaves
    /// every room and disconnects from the signaling server.
    async fn go_offline(&mut self) {
        let Some(signal) = self.signal.take() else { return };
        self.signaling = SignalingState::Offline;
        for room in self.rooms.values_mut() {
            for peer in room.peers.values_mut() {
                if let Some(session) = peer.session.as_mut() {
                    session.close("the peer went offline");
                }
                flush(peer, &room.board, &room.blobs);
            }
        }
        // Let the byes go out.
        tokio::time::sleep(Duration::from_millis(50)).await;
        for (room_id, room) in &mut self.rooms {
            for (_, peer) in room.peers.drain() {
                peer.connection.close().await;
            }
            signal.leave(room_id);
            room.envelopes = None;
            room.me = None;
            room.present.clear();
            room.retry_at.clear();
            room.lacking.retain(|(who, _), _| *who == Who::Local);
        }
        // Dropping the handle ends the client after the leaves went out.
        drop(signal);
    }

    /// Starts serving a board (idempotent); returns its room id.
    fn serve(&mut self, link: ShareLink) -> Result<String, Error> {
        let room_id = room::room_id(&link.key);
        if self.rooms.contains_key(&room_id) {
            return Ok(room_id);
        }
        let (file, board) = self.data.open_or_join(&link, random::replica())?;
        tracing::info!(board = %link.board, title = %board.title(), cards = board.card_count(), "serving board");
        if let Some(signal) = &self.signal {
            signal.join(&room_id);
        }
        self.rooms.insert(
            room_id.clone(),
            Room {
                link,
                board,
                file,
                blobs: self.data.blobs(),
                envelopes: None,
                me: None,
                present: HashSet::new(),
                peers: HashMap::new(),
                retry_at: HashMap::new(),
                blob_turn: 0,
                local: None,
                local_presence: None,
                lacking: HashMap::new(),
            },
        );
        Ok(room_id)
    }

    fn open_local(&mut self, link: ShareLink) -> Result<LocalLink, Error> {
        let board = link.board;
        let room_id = self.serve(link)?;
        if let Err(error) = self.data.mark_opened(&board, clock::now_ms()) {
            tracing::warn!(%error, "could not note when the board was opened");
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        let (to_app, from_node) = mpsc::unbounded_channel();
        let (to_node, mut from_app) = mpsc::unbounded_channel::<Vec<u8>>();
        {
            let inputs = self.inputs.clone();
            let room = room_id.clone();
            tokio::spawn(async move {
                while let Some(frame) = from_app.recv().await {
                    let input = Input::Local { room: room.clone(), generation, frame: Some(frame) };
                    if inputs.send(input).is_err() {
                        return;
                    }
                }
                let _ = inputs.send(Input::Local { room, generation, frame: None });
            });
        }
        let identity = self.config.identity.clone();
        let inputs = &self.inputs;
        let Some(room) = self.rooms.get_mut(&room_id) else { return Err(Error::Stopped) };
        end_local(room, "the board was opened again");
        let config = session::Config::new(room.board.replica().0, identity);
        room.local =
            Some(Local { generation, session: Session::new(config), to_app, relayed: HashMap::new() });
        flush_room(room, &room_id, inputs);
        Ok(LocalLink { board, from_node, to_node })
    }

    fn on_local(&mut self, room_id: &str, generation: u64, frame: Option<Vec<u8>>) {
        let inputs = &self.inputs;
        let Some(room) = self.rooms.get_mut(room_id) else { return };
        let Some(local) = room.local.as_mut().filter(|local| local.generation == generation) else { return };
        let Some(frame) = frame else {
            room.local = None;
            return;
        };
        let now = clock::now_ms();
        if let Err(error) = local.session.receive(&frame, &mut room.board, &mut room.blobs, now) {
            tracing::warn!(%error, "the local link broke the protocol; closing it");
        }
        handle_session_events(room, &Who::Local);
        if room.local.as_ref().is_some_and(|local| local.session.is_closed()) {
            end_local(room, "");
        }
        flush_room(room, room_id, inputs);
    }

    fn list_boards(&self) -> Result<Vec<BoardSummary>, Error> {
        let mut boards = Vec::new();
        for listed in self.data.boards()? {
            let served = self.rooms.values().find(|room| room.link.board == listed.link.board);
            let (title, card_count) = match served {
                Some(room) => (room.board.title(), room.board.card_count()),
                None => match self.data.read_board(&listed.link.board, random::replica()) {
                    Ok(board) => (board.title(), board.card_count()),
                    Err(error) => {
                        tracing::warn!(board = %listed.link.board, %error, "listing an unreadable board");
                        (String::new(), 0)
                    }
                },
            };
            let created_ms = listed.created_ms();
            boards.push(BoardSummary {
                title,
                card_count,
                created_ms,
                last_opened_ms: listed.last_opened_ms().unwrap_or(created_ms),
                link: listed.link,
            });
        }
        boards.sort_by(|a, b| b.last_opened_ms.cmp(&a.last_opened_ms).then(a.link.board.cmp(&b.link.board)));
        Ok(boards)
    }

    async fn delete_board(&mut self, board: uuid::Uuid) -> Result<(), Error> {
        let served = self.rooms.iter().find(|(_, room)| room.link.board == board).map(|(id, _)| id.clone());
        if let Some(room_id) = served
            && let Some(mut room) = self.rooms.remove(&room_id)
        {
            end_local(&mut room, "the board was deleted on this device");
            for peer in room.peers.values_mut() {
                if let Some(session) = peer.session.as_mut() {
                    session.close("the board was deleted on this device");
                }
                flush(peer, &room.board, &room.blobs);
            }
            for (_, peer) in room.peers.drain() {
                let connection = peer.connection;
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    connection.close().await;
                });
            }
            if let Some(signal) = &self.signal {
                signal.leave(&room_id);
            }
        }
        self.data.delete_board(&board)?;
        Ok(())
    }

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

    fn describe(&self) -> String {
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
            end_local(room, "the app is closing");
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
            SignalEvent::Connected => {
                tracing::info!("connected to the signaling server");
                self.signaling = SignalingState::Connected;
            }
            SignalEvent::Disconnected { reason, retry_in } => {
                tracing::warn!(%reason, ?retry_in, "signaling server unreachable; retrying");
                self.signaling = SignalingState::Unreachable;
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
        if self.signal.is_none() {
            return;
        }
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
        self.send_and_keep(room_id, remote, Signal::Offer { sdp }, generation, connection).await;
    }

    /// Seals `signal` to `remote` and keeps its connection as that peer's;
    /// closes the connection when the room or the signaling link is gone.
    async fn send_and_keep(
        &mut self,
        room_id: &str,
        remote: &str,
        signal: Signal,
        generation: u64,
        connection: transport::Connection,
    ) {
        let (Some(room), Some(client)) = (self.rooms.get_mut(room_id), self.signal.as_ref()) else {
            connection.close().await;
            return;
        };
        let Some(envelopes) = room.envelopes.as_mut() else {
            connection.close().await;
            return;
        };
        let sealed = envelopes.seal(Some(remote), signal, nonce(), clock::now_ms());
        client.signal(room_id, Some(remote), sealed);
        room.peers.insert(
            remote.to_owned(),
            Peer {
                generation,
                connection,
                writer: None,
                session: None,
                presence: presence::State::default(),
            },
        );
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
                self.send_and_keep(room_id, from, Signal::Answer { sdp: answer }, generation, connection)
                    .await;
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
        let inputs = &self.inputs;
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
                room.lacking.retain(|(who, _), _| *who != Who::Remote(remote.to_owned()));
                room.retry_at.insert(remote.to_owned(), Instant::now() + Duration::from_secs(1));
                return;
            }
        }
        handle_session_events(room, &Who::Remote(remote.to_owned()));
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
        flush_room(room, room_id, inputs);
    }

    async fn on_tick(&mut self) {
        let now = clock::now_ms();
        let mut retries = Vec::new();
        let inputs = &self.inputs;
        for (room_id, room) in &mut self.rooms {
            for peer in room.peers.values_mut() {
                if let Some(session) = peer.session.as_mut() {
                    session.tick(&room.board, now);
                }
            }
            if let Some(local) = room.local.as_mut() {
                local.session.tick(&room.board, now);
            }
            let mut everyone: Vec<Who> = room.peers.keys().cloned().map(Who::Remote).collect();
            everyone.push(Who::Local);
            for who in everyone {
                handle_session_events(room, &who);
            }
            relay_presence(room, now);
            match room.file.apply_inbox(&mut room.board) {
                Ok(0) => {}
                Ok(applied) => {
                    room.board.take_changes();
                    tracing::info!(board = %room.link.board, applied, "applied changes made by other commands");
                }
                Err(error) => tracing::error!(%error, "could not apply the board's inbox"),
            }
            let instant = Instant::now();
            room.lacking.retain(|_, until| *until > instant);
            want_missing_blobs(room);
            flush_room(room, room_id, inputs);
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

/// Hands the local session's frames to the app, up to a budget; returns
/// true when it stopped at the budget with more to send. A local link whose
/// app end is gone is dropped.
fn flush_local(room: &mut Room) -> bool {
    let Some(local) = room.local.as_mut() else { return false };
    let mut budget = LOCAL_FLUSH_BUDGET;
    loop {
        if budget == 0 {
            return true;
        }
        let Some(frame) = local.session.poll_transmit(&room.board, &room.blobs) else { return false };
        budget = budget.saturating_sub(frame.len());
        if local.to_app.send(frame).is_err() {
            room.local = None;
            return false;
        }
    }
}

fn flush_room(room: &mut Room, room_id: &str, inputs: &mpsc::UnboundedSender<Input>) {
    for peer in room.peers.values_mut() {
        flush(peer, &room.board, &room.blobs);
    }
    if flush_local(room)
        && let Some(local) = room.local.as_ref()
    {
        let _ = inputs.send(Input::LocalWritable { room: room_id.to_owned(), generation: local.generation });
    }
}

/// Ends a room's local link (if any): a bye when a reason is given, then
/// the app's receiver ends.
fn end_local(room: &mut Room, reason: &str) {
    let Some(mut local) = room.local.take() else { return };
    if !reason.is_empty() {
        local.session.close(reason);
    }
    while let Some(frame) = local.session.poll_transmit(&room.board, &room.blobs) {
        if local.to_app.send(frame).is_err() {
            break;
        }
    }
    room.lacking.retain(|(who, _), _| *who != Who::Local);
}

/// Reacts to what a session reports: logs connections, saves changes,
/// relays the local link's presence, fetches images.
fn handle_session_events(room: &mut Room, who: &Who) {
    let mut changed = false;
    let mut retry_blobs = false;
    let mut opened = false;
    let mut local_presence = None;
    let mut remote_presence = None;
    let mut lacking = Vec::new();
    let Some(session) = session_of(&mut room.local, &mut room.peers, who) else { return };
    while let Some(event) = session.poll_event() {
        match event {
            SessionEvent::Opened(remote) => {
                opened = true;
                tracing::info!(
                    board = %room.link.board,
                    peer = %remote.identity.name,
                    replica = remote.peer,
                    via = %who,
                    "peer connected"
                );
            }
            SessionEvent::BoardChanged => changed = true,
            SessionEvent::BlobReady { hash } => {
                tracing::info!(image = %hash, from = %who, "image received and verified")
            }
            SessionEvent::BlobRejected { hash, reason } => {
                tracing::warn!(image = %hash, %reason, "image rejected; fetching it again");
                retry_blobs = true;
            }
            SessionEvent::BlobUnavailable { hash } | SessionEvent::BlobStalled { hash } => {
                lacking.push(hash);
                retry_blobs = true;
            }
            SessionEvent::Closed { reason } => tracing::info!(%who, %reason, "peer said goodbye"),
            SessionEvent::Presence { state, .. } => match who {
                Who::Local => local_presence = Some(state),
                Who::Remote(id) => remote_presence = Some((id.clone(), state)),
            },
            // Peers relay presence only to a desktop page, never to a node.
            SessionEvent::RelayedPresence { .. } | SessionEvent::RelayedLeft { .. } => {}
            SessionEvent::BlobProgress { .. } => {}
        }
    }
    if opened
        && *who != Who::Local
        && let Some(state) = room.local_presence.clone()
        && let Some(session) = session_of(&mut room.local, &mut room.peers, who)
    {
        session.set_presence(state);
    }
    let relay_due = opened || remote_presence.is_some();
    if let Some((id, state)) = remote_presence
        && let Some(peer) = room.peers.get_mut(&id)
    {
        peer.presence = state;
    }
    // (Departures and refreshes are relayed by the tick.)
    if relay_due {
        relay_presence(room, clock::now_ms());
    }
    if let Some(state) = local_presence {
        for peer in room.peers.values_mut() {
            if let Some(session) = peer.session.as_mut() {
                session.set_presence(state.clone());
            }
        }
        room.local_presence = Some(state);
    }
    let until = Instant::now() + LACKING_BACKOFF;
    for hash in lacking {
        room.lacking.insert((who.clone(), hash), until);
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

/// Shows the local link (the desktop page, which has no network of its own)
/// who else is on the board and where: each open remote session's identity
/// and presence, sent when it changes or is about to expire, and a departure
/// for each peer gone since.
fn relay_presence(room: &mut Room, now: u64) {
    let Some(local) = room.local.as_mut().filter(|local| local.session.is_open()) else { return };
    let present: HashMap<u64, (Identity, presence::State)> = room
        .peers
        .values()
        .filter_map(|peer| {
            let remote = peer.session.as_ref().filter(|s| s.is_open())?.remote()?;
            Some((remote.peer, (remote.identity.clone(), peer.presence.clone())))
        })
        .collect();
    let gone: Vec<u64> = local.relayed.keys().filter(|peer| !present.contains_key(peer)).copied().collect();
    for peer in gone {
        local.relayed.remove(&peer);
        local.session.relay_left(peer);
    }
    for (peer, (identity, state)) in present {
        let fresh = local.relayed.get(&peer).is_some_and(|(i, s, at)| {
            *i == identity && *s == state && now.saturating_sub(*at) < presence::REFRESH_MS
        });
        if !fresh {
            local.session.relay_presence(peer, &identity, &state);
            local.relayed.insert(peer, (identity, state, now));
        }
    }
}

/// Asks an open session (a remote peer's or the local link's) for each
/// image the board shows but the disk lacks, taking turns between them and
/// leaving alone for a while a session that said it lacks that image.
fn want_missing_blobs(room: &mut Room) {
    let missing: Vec<Hash> =
        room.board.referenced_blobs().into_iter().filter(|hash| !room.blobs.contains(hash)).collect();
    if missing.is_empty() {
        return;
    }
    let mut open: Vec<Who> =
        room.sessions().filter(|(_, session)| session.is_open()).map(|(who, _)| who).collect();
    if open.is_empty() {
        return;
    }
    open.sort();
    for (i, hash) in missing.iter().enumerate() {
        let wanted = room.sessions().any(|(_, session)| session.wanted_blobs().any(|h| h == hash));
        if wanted || room.blobs.complete_len(hash).is_some() {
            continue;
        }
        let candidates: Vec<&Who> =
            open.iter().filter(|who| !room.lacking.contains_key(&((*who).clone(), *hash))).collect();
        if candidates.is_empty() {
            continue;
        }
        let chosen = candidates[(room.blob_turn + i) % candidates.len()].clone();
        if let Some(session) = session_of(&mut room.local, &mut room.peers, &chosen) {
            session.want_blob(*hash, &room.blobs);
        }
    }
}
