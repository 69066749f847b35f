//! What a room asks of the network, over webrtc-rs. Building a connection
//! (and waiting for its ICE candidates, up to seconds) runs on its own task,
//! so one slow or silent peer never holds up the node; the result comes back
//! as [`Input::Setup`]. Each connection's channel events come back as
//! [`Input::Link`], tagged with the room and link they belong to.

use board_room::{Fingerprints, Input as RoomInput, LinkId, Output};
use tokio::sync::mpsc;

use super::boards::{Net, Served};
use super::event_loop::Input;
use crate::transport::{self, LinkEvent};

/// Bytes a local link's flush hands over before letting other inputs in.
const LOCAL_FLUSH_BUDGET: usize = 1024 * 1024;

/// The connection under a remote link.
pub(super) enum Slot {
    /// Its setup task is running.
    Building,
    Built {
        connection: transport::Connection,
        /// Once its data channel is open.
        writer: Option<mpsc::Sender<Vec<u8>>>,
        /// How its packets travel, once its data channel is open.
        path: Option<transport::Path>,
    },
}

impl Served {
    pub fn execute(&mut self, output: Output, net: &Net) {
        match output {
            Output::Signal { to, data } => {
                if let Some(signal) = net.signal {
                    signal.signal(&self.room_id, to.as_deref(), data);
                }
            }
            Output::Connect { link, .. } => {
                self.connections.insert(link, Slot::Building);
                spawn_setup(net, &self.room_id, link, None);
            }
            Output::Answer { link, sdp, .. } => {
                self.connections.insert(link, Slot::Building);
                spawn_setup(net, &self.room_id, link, Some(sdp));
            }
            Output::AcceptAnswer { link, sdp } => {
                let Some(Slot::Built { connection, .. }) = self.connections.get(&link) else { return };
                let apply = connection.accept_answer(sdp);
                let (inputs, room) = (net.inputs.clone(), self.room_id.clone());
                tokio::spawn(async move {
                    if let Err(error) = apply.await {
                        let event = LinkEvent::Closed(format!("could not apply the answer: {error}"));
                        let _ = inputs.send(Input::Link { room, link, event });
                    }
                });
            }
            Output::Close { link, .. } => {
                if self.apps.remove(&link).is_some() {
                    return;
                }
                if let Some(Slot::Built { connection, .. }) = self.connections.remove(&link) {
                    tokio::spawn(async move { connection.close().await });
                }
            }
        }
    }

    /// A setup task finished.
    pub fn on_setup(
        &mut self,
        link: LinkId,
        result: Result<(transport::Connection, String), String>,
        net: &Net,
    ) {
        let building = matches!(self.connections.get(&link), Some(Slot::Building));
        match result {
            Ok((connection, sdp)) if building => {
                self.check_relay(&sdp, net.transport);
                self.connections.insert(link, Slot::Built { connection, writer: None, path: None });
                self.handle(RoomInput::Described { link, sdp }, net);
            }
            Ok((connection, _)) => {
                // The room gave up on this link meanwhile.
                tokio::spawn(async move { connection.close().await });
            }
            Err(reason) if building => {
                tracing::warn!(%link, %reason, "could not build a peer connection");
                self.connections.remove(&link);
                self.handle(RoomInput::SetupFailed { link, reason }, net);
            }
            Err(_) => {}
        }
    }

    /// With TURN servers configured, a connection's SDP must carry a relay
    /// candidate; when none does, the servers refused the credentials
    /// (wrong secret, expired) or did not answer: said once, and kept for
    /// the status.
    fn check_relay(&mut self, sdp: &str, options: &transport::Options) {
        let turn = options
            .ice_servers
            .iter()
            .chain(&options.server_ice)
            .flat_map(|server| &server.urls)
            .any(|url| url.starts_with("turn:"));
        let missing = turn && !sdp.contains(" typ relay");
        if missing && !self.relay_missing {
            tracing::warn!(
                board = %self.link.board,
                "{}", transport::NO_RELAY
            );
        }
        self.relay_missing = missing;
    }

    /// What a connection's channel did.
    pub fn on_link(&mut self, link: LinkId, event: LinkEvent, net: &Net) {
        let input = match event {
            LinkEvent::Open { local_fingerprint, remote_fingerprint, writer, path } => {
                let Some(Slot::Built { writer: slot, path: seen, .. }) = self.connections.get_mut(&link)
                else {
                    return;
                };
                *slot = Some(writer);
                *seen = path;
                if let Some(path) = path {
                    self.handle(RoomInput::PathFound { link, path }, net);
                }
                let fingerprints = Fingerprints { local: local_fingerprint, remote: remote_fingerprint };
                RoomInput::ChannelOpened { link, fingerprints: Some(fingerprints) }
            }
            LinkEvent::Message(inbound) => RoomInput::Frame { link, frame: inbound.frame },
            LinkEvent::Path(found) => {
                if let Some(Slot::Built { path, .. }) = self.connections.get_mut(&link) {
                    *path = Some(found);
                }
                tracing::info!(board = %self.link.board, %link, path = found.as_str(), "connection path known");
                RoomInput::PathFound { link, path: found }
            }
            LinkEvent::Writable => {
                self.flush(net);
                return;
            }
            LinkEvent::Disconnected => RoomInput::Disconnected { link },
            LinkEvent::Closed(reason) => RoomInput::ChannelClosed { link, reason },
        };
        self.handle(input, net);
    }

    /// Hands every link the frames its session has while its channel has
    /// room (a local link up to a budget, continued by [`Input::LocalWritable`]).
    pub fn flush(&mut self, net: &Net) {
        let mut gone = Vec::new();
        for link in self.room.sending_links() {
            if let Some(to_app) = self.apps.get(&link) {
                let mut budget = LOCAL_FLUSH_BUDGET;
                loop {
                    if budget == 0 {
                        let _ = net.inputs.send(Input::LocalWritable { room: self.room_id.clone(), link });
                        break;
                    }
                    let Some(frame) = self.room.poll_transmit(link, &self.board, &self.blobs) else { break };
                    budget = budget.saturating_sub(frame.len());
                    if to_app.send(frame).is_err() {
                        gone.push(link);
                        break;
                    }
                }
            } else if let Some(Slot::Built { writer: Some(writer), .. }) = self.connections.get(&link) {
                while writer.capacity() > 0 {
                    let Some(frame) = self.room.poll_transmit(link, &self.board, &self.blobs) else { break };
                    if writer.try_send(frame).is_err() {
                        break;
                    }
                }
            }
        }
        for link in gone {
            self.apps.remove(&link);
            self.handle(RoomInput::ChannelClosed { link, reason: "the app is gone".into() }, net);
        }
    }
}

/// Builds a connection on its own task: an offer (`offer` is `None`) or the
/// answer to `offer`, with every ICE candidate gathered.
fn spawn_setup(net: &Net, room: &str, link: LinkId, offer: Option<String>) {
    let (options, inputs, room) = (net.transport.clone(), net.inputs.clone(), room.to_owned());
    let events = link_events(&inputs, &room, link);
    tokio::spawn(async move {
        let result = async {
            let mut connection =
                transport::connect(&options, offer.is_some()).await.map_err(|e| e.to_string())?;
            let sdp = match offer {
                None => connection.offer(events).await,
                Some(sdp) => connection.answer(sdp, events).await,
            };
            match sdp {
                Ok(sdp) => Ok((connection, sdp)),
                Err(error) => {
                    connection.close().await;
                    Err(error.to_string())
                }
            }
        }
        .await;
        let _ = inputs.send(Input::Setup { room, link, result });
    });
}

/// A channel for one connection's events, tagged and forwarded to the node.
fn link_events(
    inputs: &mpsc::UnboundedSender<Input>,
    room: &str,
    link: LinkId,
) -> mpsc::UnboundedSender<LinkEvent> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (inputs, room) = (inputs.clone(), room.to_owned());
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if inputs.send(Input::Link { room: room.clone(), link, event }).is_err() {
                break;
            }
        }
    });
    tx
}
