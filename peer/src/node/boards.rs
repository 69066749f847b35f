//! A served board: its replica, its files, its room and the connections and
//! local links the room's links run on; and the node's board lifecycle
//! (serve, open with a local link, list, create, delete, save).

use std::collections::HashMap;

use board_key::link::ShareLink;
use board_model::Board;
use board_room::{Cause, Event, Input as RoomInput, Kind, LinkId, Room};
use tokio::sync::mpsc;

use super::connections::Slot;
use super::event_loop::{Input, Node};
use super::{BoardSummary, Error, LocalLink};
use crate::signal_client;
use crate::storage::{BoardFile, DiskBlobs};
use crate::{clock, random, transport};

/// What a served board needs to reach the network.
pub(super) struct Net<'a> {
    /// `None` while offline.
    pub signal: Option<&'a signal_client::Handle>,
    pub inputs: &'a mpsc::UnboundedSender<Input>,
    pub transport: &'a transport::Options,
}

pub(super) struct Served {
    pub link: ShareLink,
    pub room_id: String,
    pub board: Board,
    pub file: BoardFile,
    pub blobs: DiskBlobs,
    pub room: Room,
    /// The connection under each remote link.
    pub connections: HashMap<LinkId, Slot>,
    /// The app's end of each local link.
    pub apps: HashMap<LinkId, mpsc::UnboundedSender<Vec<u8>>>,
    /// The room took inputs whose outcome is not carried out yet ([`Served::pump`]).
    pub pending: bool,
    /// The board changed since it was last saved.
    pub dirty: bool,
    /// The last connection built with TURN servers got no relay address
    /// from any of them (credentials refused or expired, or unreachable).
    pub relay_missing: bool,
}

impl Served {
    /// Hands the room an input; what follows is carried out by the next
    /// [`Served::pump`] (the node pumps once per batch of inputs, so a burst
    /// of changes is saved with one synced write).
    pub fn handle(&mut self, input: RoomInput, _net: &Net) {
        self.room.handle(input, &mut self.board, &mut self.blobs, clock::now_ms());
        self.pending = true;
    }

    /// Saves what changed first (one synced write), then does what the room
    /// asks, then hands the channels their frames: nothing that tells a peer
    /// what this node holds leaves before it is on disk.
    pub fn pump(&mut self, net: &Net) {
        self.pending = false;
        while let Some(event) = self.room.poll_event() {
            self.on_event(event);
        }
        if self.dirty {
            self.dirty = false;
            self.persist();
        }
        self.board.take_changes();
        while let Some(output) = self.room.poll_output() {
            self.execute(output, net);
        }
        self.flush(net);
    }

    fn on_event(&mut self, event: Event) {
        let board = self.link.board;
        match event {
            Event::BoardChanged { .. } => self.dirty = true,
            Event::LinkOpened { link, kind, remote } => {
                let path = match self.connections.get(&link) {
                    Some(Slot::Built { path: Some(path), .. }) => path.as_str(),
                    Some(_) => "unknown",
                    None => "local",
                };
                tracing::info!(
                    %board, peer = %remote.identity.name, replica = remote.peer, via = kind.as_str(), %link,
                    path, "peer connected"
                )
            }
            Event::LinkClosed { link, kind, cause: Cause::Failed(error) } => tracing::warn!(
                %board, %link, via = kind.as_str(), %error, "closing the connection to a misbehaving peer"
            ),
            Event::LinkClosed { link, kind, cause } => {
                tracing::info!(%board, %link, via = kind.as_str(), %cause, "peer disconnected")
            }
            Event::BlobReady { hash } => tracing::info!(image = %hash, "image received and verified"),
            Event::BlobRejected { hash, reason } => {
                tracing::warn!(image = %hash, %reason, "image rejected; fetching it again")
            }
            Event::SignalRefused { from, error } => {
                tracing::warn!(%from, %error, "refused a signaling envelope")
            }
            Event::MeshFull { limit } => {
                tracing::warn!(%board, limit, "the board's room is full: no more connections")
            }
            Event::PersonJoined { .. }
            | Event::PersonLeft { .. }
            | Event::Presence { .. }
            | Event::PersonPath { .. }
            | Event::BlobProgress { .. } => {}
        }
    }

    pub fn persist(&mut self) {
        if let Err(error) = self.file.persist(&self.board) {
            tracing::error!(%error, "could not save the board");
        }
    }

    /// Applies changes other commands left in the board's inbox.
    pub fn apply_inbox(&mut self) {
        match self.file.apply_inbox(&mut self.board) {
            Ok(0) => {}
            Ok(applied) => {
                self.board.take_changes();
                tracing::info!(board = %self.link.board, applied, "applied changes made by other commands");
            }
            Err(error) => tracing::error!(%error, "could not apply the board's inbox"),
        }
    }

    /// Every image here and some peer holds what this node holds.
    pub fn synced(&mut self) -> bool {
        self.missing_images() == 0 && self.room.synced_with_a_peer(&self.board)
    }

    pub fn missing_images(&mut self) -> usize {
        self.room.missing_blobs(&self.board, &self.blobs)
    }

    /// Closes every connection and local link at once.
    pub async fn close_everything(&mut self) {
        self.apps.clear();
        for (_, slot) in self.connections.drain() {
            if let Slot::Built { connection, .. } = slot {
                connection.close().await;
            }
        }
    }
}

impl Node {
    /// Starts serving a board (idempotent); returns its room id.
    pub fn serve(&mut self, link: ShareLink) -> Result<String, Error> {
        let room_id = board_key::room::room_id(&link.key);
        if self.boards.contains_key(&room_id) {
            return Ok(room_id);
        }
        let (file, board) = self.data.open_or_join(&link, random::replica())?;
        tracing::info!(board = %link.board, title = %board.title(), cards = board.card_count(), "serving board");
        let mut seed = [0u8; 32];
        random::fill(&mut seed);
        let mut config =
            board_room::Config::new(link.clone(), board.replica().0, self.config.identity.clone(), seed);
        if self.config.relay {
            config = config.relay();
        }
        let net = self.net();
        if let Some(signal) = net.signal {
            signal.join(&room_id);
        }
        let served = Served {
            room: Room::new(config),
            room_id: room_id.clone(),
            link,
            board,
            file,
            blobs: self.data.blobs(),
            connections: HashMap::new(),
            apps: HashMap::new(),
            pending: false,
            dirty: false,
            relay_missing: false,
        };
        self.boards.insert(room_id.clone(), served);
        Ok(room_id)
    }

    /// Serves the board and attaches a new local link for the app, ending
    /// the board's previous one.
    pub fn open_local(&mut self, link: ShareLink) -> Result<LocalLink, Error> {
        let board = link.board;
        let room_id = self.serve(link)?;
        if let Err(error) = self.data.mark_opened(&board, clock::now_ms()) {
            tracing::warn!(%error, "could not note when the board was opened");
        }
        let id = LinkId::local(self.next_local);
        self.next_local += 1;
        let (to_app, from_node) = mpsc::unbounded_channel();
        let (to_node, mut from_app) = mpsc::unbounded_channel::<Vec<u8>>();
        {
            let inputs = self.inputs();
            let room = room_id.clone();
            tokio::spawn(async move {
                while let Some(frame) = from_app.recv().await {
                    let input = Input::Local { room: room.clone(), link: id, frame: Some(frame) };
                    if inputs.send(input).is_err() {
                        return;
                    }
                }
                let _ = inputs.send(Input::Local { room, link: id, frame: None });
            });
        }
        let Some((served, net)) = self.board_and_net(&room_id) else { return Err(Error::Stopped) };
        let now = clock::now_ms();
        let old: Vec<LinkId> = served.apps.keys().copied().collect();
        for link in old {
            served.room.close_link(link, "the board was opened again", now);
        }
        served.apps.insert(id, to_app);
        served.handle(RoomInput::LocalLinkUp { link: id, kind: Kind::App }, &net);
        Ok(LocalLink { board, from_node, to_node })
    }

    /// Ends the board's local link (the board stays served).
    pub fn close_local(&mut self, board: uuid::Uuid) {
        let Some(room_id) = self.room_of(board) else { return };
        let Some((served, net)) = self.board_and_net(&room_id) else { return };
        let now = clock::now_ms();
        let apps: Vec<LinkId> = served.apps.keys().copied().collect();
        for link in apps {
            served.room.close_link(link, "the board was closed", now);
        }
        served.pump(&net);
    }

    fn room_of(&self, board: uuid::Uuid) -> Option<String> {
        self.boards.iter().find(|(_, served)| served.link.board == board).map(|(id, _)| id.clone())
    }

    pub fn list_boards(&self) -> Result<Vec<BoardSummary>, Error> {
        let mut boards = Vec::new();
        for listed in self.data.boards()? {
            let served = self.boards.values().find(|served| served.link.board == listed.link.board);
            let (title, card_count) = match served {
                Some(served) => (served.board.title(), served.board.card_count()),
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

    pub fn create_board(&self, title: &str) -> Result<ShareLink, Error> {
        Ok(crate::commands::new_board(&self.data, title)?)
    }

    /// Stops serving the board (goodbyes to its peers and its app) and
    /// removes this device's copy of it.
    pub fn delete_board(&mut self, board: uuid::Uuid) -> Result<(), Error> {
        if let Some(room_id) = self.room_of(board)
            && let Some((served, net)) = self.board_and_net(&room_id)
        {
            served.room.shut_down("the board was deleted on this device", clock::now_ms());
            served.pump(&net);
            if let Some(signal) = net.signal {
                signal.leave(&room_id);
            }
            if let Some(served) = self.boards.remove(&room_id) {
                // The board's files close now (they are deleted next); its
                // connections a moment later, once the goodbyes went out.
                let connections: Vec<transport::Connection> = served
                    .connections
                    .into_values()
                    .filter_map(|slot| match slot {
                        Slot::Built { connection, .. } => Some(connection),
                        Slot::Building => None,
                    })
                    .collect();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    for connection in connections {
                        connection.close().await;
                    }
                });
            }
        }
        self.data.delete_board(&board)?;
        Ok(())
    }
}
