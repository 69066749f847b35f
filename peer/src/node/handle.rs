//! The handle of a long-lived node ([`super::spawn`]): commands travel to
//! the node's task and answers come back, so the desktop app never touches
//! the node's state.

use board_key::link::ShareLink;
use board_model::presence::Identity;
use tokio::sync::{mpsc, oneshot, watch};

use super::event_loop::{Input, Node};
use super::{BoardSummary, Error, NodeStatus, TICK};
use crate::transport;

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

/// Controls a node started with [`super::spawn`]. Cloning it is cheap; the
/// node shuts down (saving everything) when the last handle is dropped or on
/// [`NodeHandle::shut_down`].
#[derive(Clone, Debug)]
pub struct NodeHandle {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<NodeStatus>,
}

pub(super) enum Command {
    Open { link: ShareLink, reply: oneshot::Sender<Result<LocalLink, Error>> },
    CloseLocal { board: uuid::Uuid, reply: oneshot::Sender<()> },
    SetOffline { offline: bool, reply: oneshot::Sender<()> },
    SetIdentity { identity: Identity, reply: oneshot::Sender<()> },
    SetIceServers { servers: Vec<transport::IceServer>, relay_only: bool, reply: oneshot::Sender<()> },
    ListBoards { reply: oneshot::Sender<Result<Vec<BoardSummary>, Error>> },
    CreateBoard { title: String, reply: oneshot::Sender<Result<ShareLink, Error>> },
    DeleteBoard { board: uuid::Uuid, reply: oneshot::Sender<Result<(), Error>> },
    ShutDown { reply: oneshot::Sender<()> },
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

    /// The name and colour shown to peers from now on (connections are made
    /// again so peers see it).
    pub async fn set_identity(&self, identity: Identity) -> Result<(), Error> {
        self.ask(|reply| Command::SetIdentity { identity, reply }).await
    }

    /// The STUN/TURN servers for connections made from now on, and
    /// whether to use TURN relays only.
    pub async fn set_ice_servers(
        &self,
        servers: Vec<transport::IceServer>,
        relay_only: bool,
    ) -> Result<(), Error> {
        self.ask(|reply| Command::SetIceServers { servers, relay_only, reply }).await
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

/// Runs `node` on its own task, taking commands from the returned handle.
pub(super) fn spawn(node: Node, input_rx: mpsc::UnboundedReceiver<Input>) -> NodeHandle {
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
    let mut ticker = tokio::time::interval(TICK);
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
                Some(command) => {
                    on_command(&mut node, command);
                    node.settle();
                }
            },
            input = input_rx.recv() => match input {
                Some(Input::Interrupt) | None => {}
                Some(input) => {
                    node.on_inputs(input, &mut input_rx);
                }
            },
            _ = ticker.tick() => node.on_tick(),
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

fn on_command(node: &mut Node, command: Command) {
    match command {
        Command::Open { link, reply } => {
            let _ = reply.send(node.open_local(link));
        }
        Command::CloseLocal { board, reply } => {
            node.close_local(board);
            let _ = reply.send(());
        }
        Command::SetOffline { offline, reply } => {
            node.set_offline(offline);
            let _ = reply.send(());
        }
        Command::SetIdentity { identity, reply } => {
            node.set_identity(identity);
            let _ = reply.send(());
        }
        Command::SetIceServers { servers, relay_only, reply } => {
            node.set_ice_servers(servers, relay_only);
            let _ = reply.send(());
        }
        Command::ListBoards { reply } => {
            let _ = reply.send(node.list_boards());
        }
        Command::CreateBoard { title, reply } => {
            let _ = reply.send(node.create_board(&title));
        }
        Command::DeleteBoard { board, reply } => {
            let _ = reply.send(node.delete_board(board));
        }
        Command::ShutDown { reply } => {
            // Handled by the loop, which stops after it.
            let _ = reply.send(());
        }
    }
}
