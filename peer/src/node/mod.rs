//! The native node: serves boards from the data directory to their rooms of
//! peers. The rules of a room (who offers, retries, the mesh cap, proofs,
//! image fetching, presence relay) are `board_room::Room`'s; the node only
//! drives one room per served board over real IO: the signaling client,
//! webrtc-rs connections, disk storage, and local links to an embedded app.
//!
//! - [`handle`]: [`NodeHandle`], the commands of a long-lived node;
//! - [`event_loop`]: the task that owns every board and takes every input;
//! - [`boards`]: a served board and its lifecycle (serve, open, list, delete, save);
//! - [`connections`]: what a room asks of the network, done off the loop
//!   (building a connection runs on its own task; its result comes back as
//!   an input), and handing frames to channels as they have room.
//!
//! Two ways to run it: [`run`] serves a fixed set of boards until a goal is
//! met (`corkboard-peer serve` and `sync`); [`spawn`] starts a long-lived
//! node controlled through a [`NodeHandle`] (the desktop app), which serves
//! boards as they are opened and attaches a *local link* to each: a session
//! inside the node whose frames travel over in-process channels. The app's
//! UI speaks the same peer protocol over that link as it does with remote
//! peers; to the node it is just its nearest peer, whose changes are saved,
//! relayed to remote peers and whose images are fetched like anyone else's.

mod boards;
mod connections;
mod event_loop;
mod handle;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use board_key::link::ShareLink;
use board_model::presence::Identity;

use crate::storage::DataDir;
use crate::transport;

pub use handle::{LocalLink, NodeHandle};

/// How the node runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The signaling server (`ws://host:port/ws` or `http://host:port`).
    pub signal_url: String,
    pub identity: Identity,
    pub transport: transport::Options,
    /// A PEM file of CA certificates trusted for `wss://` besides the
    /// system's (a private CA).
    pub signal_ca: Option<std::path::PathBuf>,
    /// An always-on relay for big rooms (`serve --relay`): it says so to
    /// each board's room, links to every other relay and to its share of
    /// the other peers, and passes their presence on (`board_room::mesh`).
    pub relay: bool,
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

/// How often rooms tick (session announcements, timeouts, retries, presence).
const TICK: Duration = Duration::from_millis(100);

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
    let (mut node, mut input_rx) = event_loop::Node::new(config, data.clone());
    {
        let inputs = node.inputs();
        tokio::spawn(async move {
            wait_for_interrupt().await;
            let _ = inputs.send(event_loop::Input::Interrupt);
        });
    }
    for link in links {
        node.serve(link)?;
    }
    let started = Instant::now();
    let mut ticker = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            input = input_rx.recv() => match input {
                Some(event_loop::Input::Interrupt) | None => {
                    node.shut_down().await;
                    return Ok(());
                }
                Some(input) => {
                    if !node.on_inputs(input, &mut input_rx) {
                        node.shut_down().await;
                        return Ok(());
                    }
                }
            },
            _ = ticker.tick() => node.on_tick(),
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
    let (node, input_rx) = event_loop::Node::new(config, data);
    handle::spawn(node, input_rx)
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
