//! The open board's network: what the transport reports goes to the room,
//! what the room decides goes back to the transport, and what the room
//! reports updates the view. The same path in every home: a frame from a
//! peer (or from the desktop's node) is `NetEvent::Room(Input::Frame)` →
//! `Room::handle` → room events → the view, then frames out.

use board_model::presence::Identity;
use board_model::protocol::Error as ProtocolError;
use board_model::session::Error as SessionError;
use board_room::{Cause, Event, Input, Kind};
use desktop_wire::IceServer;
use leptos::prelude::*;

use super::{Engine, sink};
use crate::notify;
use crate::platform::NetEvent;
use crate::profile::Profile;

impl Engine {
    /// Starts talking to peers (or the node that reaches them).
    pub(super) fn start_network(&mut self) {
        let network = self.platform.network.clone();
        let mut transport = network.open(&self.link, &self.identity(), sink());
        if self.signals.working_offline.get_untracked() {
            transport.set_offline(true);
        }
        transport.start();
        self.transport = Some(transport);
        self.refresh_status();
    }

    /// What the transport reports.
    pub fn on_net(&mut self, event: NetEvent) {
        match event {
            NetEvent::Room(input) => self.room_input(input),
            NetEvent::Writable(_) => self.flush_links(),
            NetEvent::Status => self.refresh_status(),
            NetEvent::Notice(message) => notify::error(&message),
        }
    }

    fn room_input(&mut self, input: Input) {
        let now = self.now();
        self.room.handle(input, &mut self.board, &mut self.blobs, now);
        self.pump_room();
    }

    /// The room's events first (the view and the store learn of changes),
    /// then what it asks of the transport, then the frames it has.
    fn pump_room(&mut self) {
        while let Some(event) = self.room.poll_event() {
            self.on_room_event(event);
        }
        while let Some(output) = self.room.poll_output() {
            if let Some(transport) = self.transport.as_mut() {
                transport.execute(output);
            }
        }
        self.flush_links();
        self.refresh_status();
    }

    fn on_room_event(&mut self, event: Event) {
        match event {
            Event::BoardChanged { .. } => self.after_change(),
            Event::LinkOpened { .. } => {}
            Event::LinkClosed { kind, cause, .. } => link_closed(kind, &cause),
            Event::PersonJoined { peer, identity } => self.person_joined(peer, identity),
            Event::PersonLeft { peer } => self.person_left(peer),
            Event::PersonPath { peer, path } => self.person_path(peer, path),
            Event::Presence { peer, state } => self.apply_remote_presence(peer, state),
            Event::BlobProgress { hash, received, total } => self.blob_progress(hash, received, total),
            Event::BlobReady { hash } => self.blob_received(hash),
            Event::BlobRejected { hash, reason } => {
                crate::log::warn(&format!("image {hash} arrived damaged ({reason}); fetching it again"))
            }
            Event::SignalRefused { from, error } => {
                crate::log::warn(&format!("refused a signaling envelope from {from}: {error}"))
            }
            Event::MeshFull { limit } => notify::info(&format!(
                "This board is busy: connected to {limit} people, the most at once. Others still sync through them."
            )),
        }
    }

    /// Hands every link the frames its session has, while its channel has room.
    pub fn flush_links(&mut self) {
        let Some(transport) = self.transport.as_mut() else { return };
        for link in self.room.sending_links() {
            while transport.has_room(link) {
                let Some(frame) = self.room.poll_transmit(link, &self.board, &self.blobs) else { break };
                transport.send(link, frame);
            }
        }
    }

    /// The periodic work: the room's timers, saving again after a failure.
    pub fn tick(&mut self) {
        // The time this page's next changes are recorded at (see the board's history).
        let now = self.now();
        self.board.set_clock(i64::try_from(now).unwrap_or(0));
        self.room_input(Input::Tick);
        self.retry_failed_save();
    }

    pub fn refresh_status(&self) {
        let Some(transport) = self.transport.as_ref() else { return };
        let status = transport.status(self.room.connected_peers());
        if self.signals.status.get_untracked() != status {
            self.signals.status.set(status);
        }
        let receiving = self.room.receiving(&self.board);
        if self.signals.receiving.get_untracked() != receiving {
            self.signals.receiving.set(receiving);
        }
    }

    /// Working offline: goodbyes to every peer, then no connections until
    /// switched back.
    pub fn set_offline(&mut self, offline: bool) {
        self.signals.working_offline.set(offline);
        let now = self.now();
        self.room.set_offline(offline, now);
        self.pump_room();
        if let Some(transport) = self.transport.as_mut() {
            transport.set_offline(offline);
        }
        self.refresh_status();
    }

    /// Says goodbye on every link at once (the page goes away or the board closes).
    pub fn shut_down(&mut self, reason: &str) {
        let now = self.now();
        self.room.shut_down(reason, now);
        self.pump_room();
    }

    /// The page went away: goodbyes, and every connection closed now.
    pub fn suspend(&mut self) {
        self.shut_down("the page was closed");
        if let Some(transport) = self.transport.as_mut() {
            transport.stop();
        }
        self.refresh_status();
    }

    /// The page came back (from the back/forward cache): connect again.
    pub fn resume(&mut self) {
        if let Some(transport) = self.transport.as_mut() {
            transport.start();
        }
        self.refresh_status();
    }

    /// A new name or colour: shown at once here, and to peers (who get new
    /// connections carrying it).
    pub fn set_profile(&mut self, profile: Profile) {
        self.board.set_author(&profile.name);
        self.profile = profile;
        self.refresh_people();
        let identity: Identity = self.identity();
        let now = self.now();
        self.room.set_identity(identity.clone(), now);
        if let Some(transport) = self.transport.as_mut() {
            transport.set_identity(&identity);
        }
        self.pump_room();
    }

    /// The STUN/TURN servers for connections made from now on.
    pub fn set_ice_servers(&mut self, servers: &[IceServer], relay_only: bool) {
        if let Some(transport) = self.transport.as_mut() {
            transport.set_ice_servers(servers, relay_only);
        }
    }
}

/// Tells the user about a link that ended badly, in plain words.
fn link_closed(kind: Kind, cause: &Cause) {
    match (kind, cause) {
        (Kind::Remote, Cause::Failed(error)) => notify::error(&match error {
            SessionError::Protocol(ProtocolError::PeerTooNew { .. }) => "Someone on this board uses a newer version of Corkboard. Reload this page to update, then you can work together.".to_owned(),
            SessionError::Protocol(ProtocolError::PeerTooOld { .. }) => "Someone on this board uses an older version of Corkboard; they need to update to work with you.".to_owned(),
            SessionError::AuthenticationFailed => "A connection was refused: the other side could not prove it holds this board's key.".to_owned(),
            SessionError::Diverged => "Someone on this board holds a copy that differs from yours under the same history: someone with the link wrote changes under another person's identity. You are no longer syncing with them; your board is unaffected.".to_owned(),
            other => format!("A peer sent something broken and was disconnected ({other}). Your board is unaffected."),
        }),
        (Kind::Node, Cause::Failed(error)) => {
            notify::error(&format!("The desktop app's peer sent something broken ({error}); reconnecting."))
        }
        (_, Cause::Goodbye(reason)) if reason.contains("version") || reason.contains("another peer's id") => {
            notify::error(&format!("A peer disconnected: {reason}"))
        }
        (_, cause) => crate::log::info(&format!("a {} link ended: {cause}", kind.as_str())),
    }
}
