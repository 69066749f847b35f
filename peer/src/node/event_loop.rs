//! The node's task: one owner for every served board, taking inputs from
//! the signaling client, the connections, local links and a timer, and
//! handing each to the room of its board.

use std::collections::HashMap;
use std::time::Duration;

use board_model::presence::Identity;
use board_room::{Input as RoomInput, LinkId};
use tokio::sync::mpsc;

use super::boards::{Net, Served};
use super::{Config, NodeStatus, SignalingState};
use crate::signal_client::{self, Event as SignalEvent};
use crate::storage::DataDir;
use crate::transport::{self, LinkEvent};

/// Most inputs taken before the boards' rooms are carried out (and their
/// changes saved): bounds the delay a burst adds to everything else.
pub const INPUT_BATCH: usize = 512;

/// Everything that reaches the node's task.
pub(crate) enum Input {
    /// An event of signaling client number `client` (events of a client
    /// replaced by going offline are ignored).
    Signal {
        client: u64,
        event: SignalEvent,
    },
    /// A connection built off the loop, with its offer or answer SDP, or why it failed.
    Setup {
        room: String,
        link: LinkId,
        result: Result<(transport::Connection, String), String>,
    },
    /// What a connection's data channel did.
    Link {
        room: String,
        link: LinkId,
        event: LinkEvent,
    },
    /// A frame from a local link; `None` when the app dropped its sender.
    Local {
        room: String,
        link: LinkId,
        frame: Option<Vec<u8>>,
    },
    /// A local link's flush stopped at its budget: continue it.
    LocalWritable {
        room: String,
        link: LinkId,
    },
    Interrupt,
}

pub(crate) struct Node {
    pub(super) config: Config,
    pub(super) data: DataDir,
    /// Served boards by room id.
    pub(super) boards: HashMap<String, Served>,
    /// `None` while offline.
    signal: Option<signal_client::Handle>,
    /// Numbers signaling clients, so a replaced client's late events are ignored.
    signal_client: u64,
    signaling: SignalingState,
    inputs: mpsc::UnboundedSender<Input>,
    pub(super) next_local: u64,
    /// When to ask the signaling server for fresh TURN credentials (Unix
    /// seconds): halfway to the expiry of those handed out.
    ice_refresh_at: Option<u64>,
}

impl Node {
    pub fn new(config: Config, data: DataDir) -> (Node, mpsc::UnboundedReceiver<Input>) {
        let (inputs, input_rx) = mpsc::unbounded_channel();
        let mut node = Node {
            config,
            data,
            boards: HashMap::new(),
            signal: None,
            signal_client: 0,
            signaling: SignalingState::Offline,
            inputs,
            next_local: 1,
            ice_refresh_at: None,
        };
        node.go_online();
        (node, input_rx)
    }

    pub fn inputs(&self) -> mpsc::UnboundedSender<Input> {
        self.inputs.clone()
    }

    /// What a served board needs to reach the network.
    pub(super) fn net(&self) -> Net<'_> {
        Net { signal: self.signal.as_ref(), inputs: &self.inputs, transport: &self.config.transport }
    }

    /// A served board and the network, borrowed together.
    pub(super) fn board_and_net(&mut self, room: &str) -> Option<(&mut Served, Net<'_>)> {
        let net =
            Net { signal: self.signal.as_ref(), inputs: &self.inputs, transport: &self.config.transport };
        Some((self.boards.get_mut(room)?, net))
    }

    pub fn on_input(&mut self, input: Input) {
        match input {
            Input::Signal { client, event } if client == self.signal_client && self.signal.is_some() => {
                self.on_signal(event)
            }
            Input::Signal { .. } | Input::Interrupt => {}
            Input::Setup { room, link, result } => {
                if let Some((served, net)) = self.board_and_net(&room) {
                    served.on_setup(link, result, &net);
                } else if let Ok((connection, _)) = result {
                    tokio::spawn(async move { connection.close().await });
                }
            }
            Input::Link { room, link, event } => {
                if let Some((served, net)) = self.board_and_net(&room) {
                    served.on_link(link, event, &net);
                }
            }
            Input::Local { room, link, frame } => {
                let Some((served, net)) = self.board_and_net(&room) else { return };
                let input = match frame {
                    Some(frame) => RoomInput::Frame { link, frame },
                    None => RoomInput::ChannelClosed { link, reason: "the app closed the board".into() },
                };
                served.handle(input, &net);
            }
            Input::LocalWritable { room, link } => {
                if let Some((served, net)) = self.board_and_net(&room)
                    && served.apps.contains_key(&link)
                {
                    served.flush(&net);
                }
            }
        }
    }

    /// Takes `first` and whatever else is already waiting (up to
    /// [`INPUT_BATCH`]), then carries out what the boards' rooms decided: a
    /// flood of changes costs one synced write per batch, not one per
    /// message. Returns false when told to stop.
    pub fn on_inputs(&mut self, first: Input, inputs: &mut mpsc::UnboundedReceiver<Input>) -> bool {
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(input) = next.take() {
            if matches!(input, Input::Interrupt) {
                self.settle();
                return false;
            }
            self.on_input(input);
            taken += 1;
            if taken < INPUT_BATCH {
                next = inputs.try_recv().ok();
            }
        }
        self.settle();
        true
    }

    /// Carries out what every board's room decided since its last pump.
    pub fn settle(&mut self) {
        let net =
            Net { signal: self.signal.as_ref(), inputs: &self.inputs, transport: &self.config.transport };
        for served in self.boards.values_mut() {
            if served.pending {
                served.pump(&net);
            }
        }
    }

    pub fn on_tick(&mut self) {
        self.refresh_ice_if_due();
        let net =
            Net { signal: self.signal.as_ref(), inputs: &self.inputs, transport: &self.config.transport };
        for served in self.boards.values_mut() {
            served.apply_inbox();
            served.handle(RoomInput::Tick, &net);
            served.pump(&net);
        }
    }

    fn on_signal(&mut self, event: SignalEvent) {
        let (room, input) = match event {
            SignalEvent::Connected => {
                tracing::info!("connected to the signaling server");
                self.signaling = SignalingState::Connected;
                return;
            }
            SignalEvent::Disconnected { reason, retry_in, rooms } => {
                tracing::warn!(%reason, ?retry_in, rooms = rooms.len(), "signaling server unreachable; retrying");
                self.signaling = SignalingState::Unreachable;
                let net = Net {
                    signal: self.signal.as_ref(),
                    inputs: &self.inputs,
                    transport: &self.config.transport,
                };
                for room in &rooms {
                    if let Some(served) = self.boards.get_mut(room) {
                        served.handle(RoomInput::SignalingLost, &net);
                    }
                }
                return;
            }
            SignalEvent::Refused { code, message } => {
                tracing::warn!(?code, %message, "the signaling server refused");
                return;
            }
            SignalEvent::Joined { room, me, peers, ice_servers } => {
                self.take_server_ice(&ice_servers);
                (room, RoomInput::Joined { me, peers })
            }
            SignalEvent::Ice { ice_servers } => {
                self.take_server_ice(&ice_servers);
                return;
            }
            SignalEvent::PeerJoined { room, peer } => (room, RoomInput::PeerJoined { peer }),
            SignalEvent::PeerLeft { room, peer } => (room, RoomInput::PeerLeft { peer }),
            SignalEvent::Signal { room, from, data } => (room, RoomInput::Signal { from, data }),
        };
        if let Some((served, net)) = self.board_and_net(&room) {
            served.handle(input, &net);
        }
    }

    /// The STUN/TURN servers the signaling server handed out (on a join or
    /// when asked): the newest are used, and fresh ones are asked for
    /// halfway to their credentials' expiry, so a peer serving for days
    /// never holds expired ones.
    fn take_server_ice(&mut self, servers: &[signal_wire::IceServer]) {
        let handed: Vec<transport::IceServer> =
            servers.iter().filter_map(transport::IceServer::from_wire).collect();
        if !handed.is_empty() && handed != self.config.transport.server_ice {
            let urls: Vec<&str> = handed.iter().flat_map(|s| s.urls.iter().map(String::as_str)).collect();
            tracing::info!(?urls, "using the ICE servers the signaling server handed out");
        }
        let now = crate::clock::unix_secs();
        self.ice_refresh_at = signal_wire::IceServer::refresh_at(servers, now);
        self.config.transport.server_ice = handed;
    }

    /// Asks for fresh TURN credentials when due (again a minute later if
    /// no answer came).
    fn refresh_ice_if_due(&mut self) {
        let now = crate::clock::unix_secs();
        if let (Some(at), Some(signal)) = (self.ice_refresh_at, self.signal.as_ref())
            && now >= at
        {
            signal.refresh_ice();
            self.ice_refresh_at = Some(now + 60);
        }
    }

    pub fn status(&self) -> NodeStatus {
        NodeStatus {
            signaling: self.signaling,
            peers: self
                .boards
                .values()
                .map(|served| (served.link.board.to_string(), served.room.connected_peers()))
                .collect(),
        }
    }

    fn go_online(&mut self) {
        self.signal_client += 1;
        let client = self.signal_client;
        let tls = match signal_client::tls_config(self.config.signal_ca.as_deref()) {
            Ok(tls) => tls,
            Err(error) => {
                // Checked when the node starts; a file gone since then.
                tracing::warn!(%error, "trusting the system's certificates only");
                signal_client::system_tls()
            }
        };
        let (handle, mut events) = signal_client::spawn(&self.config.signal_url, tls);
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if inputs.send(Input::Signal { client, event }).is_err() {
                    break;
                }
            }
        });
        for room_id in self.boards.keys() {
            handle.join(room_id);
        }
        self.signal = Some(handle);
        self.signaling = SignalingState::Connecting;
    }

    /// Offline: every remote peer gets a goodbye and its connection closes,
    /// every room is left and the signaling server disconnected; online
    /// again rejoins every served board's room.
    pub fn set_offline(&mut self, offline: bool) {
        let now = crate::clock::now_ms();
        if offline {
            let Some(signal) = self.signal.take() else { return };
            self.signaling = SignalingState::Offline;
            let net = Net { signal: None, inputs: &self.inputs, transport: &self.config.transport };
            for (room_id, served) in &mut self.boards {
                served.room.set_offline(true, now);
                served.pump(&net);
                signal.leave(room_id);
            }
            // Dropping the handle ends the client after the leaves went out.
            drop(signal);
        } else if self.signal.is_none() {
            for served in self.boards.values_mut() {
                served.room.set_offline(false, now);
            }
            self.go_online();
        }
    }

    /// The name and colour peers see (connections are made again so they do).
    pub fn set_identity(&mut self, identity: Identity) {
        let now = crate::clock::now_ms();
        self.config.identity = identity.clone();
        let net =
            Net { signal: self.signal.as_ref(), inputs: &self.inputs, transport: &self.config.transport };
        for served in self.boards.values_mut() {
            served.room.set_identity(identity.clone(), now);
            served.pump(&net);
        }
    }

    /// The STUN/TURN servers for connections made from now on, and
    /// whether to use TURN relays only.
    pub fn set_ice_servers(&mut self, servers: Vec<transport::IceServer>, relay_only: bool) {
        self.config.transport.ice_servers = servers;
        self.config.transport.relay_only = relay_only;
    }

    pub fn all_synced(&mut self) -> bool {
        self.boards.values_mut().all(Served::synced)
    }

    /// What the node holds, for a timeout's message.
    pub fn describe(&mut self) -> String {
        let connected: usize = self.boards.values().map(|served| served.room.connected_peers()).sum();
        let missing: usize = self.boards.values_mut().map(Served::missing_images).sum();
        let relay = if self.boards.values().any(|served| served.relay_missing) {
            format!("; {}", transport::NO_RELAY)
        } else {
            String::new()
        };
        format!(" ({connected} peers connected, {missing} images missing{relay})")
    }

    pub fn persist_all(&mut self) {
        for served in self.boards.values_mut() {
            served.persist();
        }
    }

    /// Says goodbye to every peer and every local link, saves every board,
    /// closes every connection.
    pub async fn shut_down(&mut self) {
        let now = crate::clock::now_ms();
        let net =
            Net { signal: self.signal.as_ref(), inputs: &self.inputs, transport: &self.config.transport };
        for served in self.boards.values_mut() {
            served.room.shut_down("the peer is shutting down", now);
            served.pump(&net);
        }
        // Let the goodbyes go out.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.persist_all();
        for served in self.boards.values_mut() {
            served.close_everything().await;
        }
    }
}
