//! The browser's transport for one board: a WebSocket to the signaling
//! server ([`super::signaling`]) and one `RTCPeerConnection` with its data
//! channel per link ([`super::webrtc`]). It only moves bytes: when to
//! connect, what to seal and whom to trust is the room's.
//!
//! Its state is shared between the transport the engine holds and the
//! JavaScript callbacks (which hold it weakly); a callback reports to the
//! engine through the sink only after letting go of the state.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use board_key::link::ShareLink;
use board_model::presence::Identity;
use board_room::{LinkId, Output};
use desktop_wire::IceServer;

use super::{signaling, webrtc};
use crate::platform::{NetEvent, NetSink, Network, Transport};
use crate::view_model::Status;

/// Opens browser transports; the STUN/TURN servers are shared by all.
pub struct BrowserNetwork {
    pub ice: Rc<RefCell<Vec<IceServer>>>,
    /// Use TURN relays only.
    pub relay_only: Rc<std::cell::Cell<bool>>,
}

impl Network for BrowserNetwork {
    fn open(&self, link: &ShareLink, _identity: &Identity, sink: NetSink) -> Box<dyn Transport> {
        let state = State {
            room: board_key::room::room_id(&link.key),
            ice: Rc::clone(&self.ice),
            relay_only: Rc::clone(&self.relay_only),
            server_ice: Vec::new(),
            ice_refresh_at: None,
            running: false,
            offline: false,
            socket: None,
            socket_failures: 0,
            socket_generation: 0,
            links: HashMap::new(),
        };
        Box::new(BrowserTransport { shared: Rc::new(Shared { sink, state: RefCell::new(state) }) })
    }
}

pub(super) struct Shared {
    pub sink: NetSink,
    pub state: RefCell<State>,
}

impl Shared {
    /// Reports to the engine (call it while not borrowing the state).
    pub fn emit(&self, event: NetEvent) {
        (self.sink)(event);
    }
}

pub(super) struct State {
    pub room: String,
    /// The servers the user configured (shared by every board).
    pub ice: Rc<RefCell<Vec<IceServer>>>,
    pub relay_only: Rc<std::cell::Cell<bool>>,
    /// The servers the signaling server handed out on the last join.
    pub server_ice: Vec<IceServer>,
    /// When to ask for fresh TURN credentials (Unix seconds).
    pub ice_refresh_at: Option<u64>,
    pub running: bool,
    pub offline: bool,
    pub socket: Option<signaling::Socket>,
    pub socket_failures: u32,
    pub socket_generation: u64,
    pub links: HashMap<LinkId, webrtc::PeerLink>,
}

struct BrowserTransport {
    shared: Rc<Shared>,
}

impl Transport for BrowserTransport {
    fn start(&mut self) {
        let connect = {
            let mut state = self.shared.state.borrow_mut();
            state.running = true;
            state.socket_failures = 0;
            !state.offline && state.socket.is_none()
        };
        if connect {
            signaling::connect(&self.shared);
        }
    }

    fn stop(&mut self) {
        let mut state = self.shared.state.borrow_mut();
        state.running = false;
        signaling::close(&mut state);
        for (_, link) in state.links.drain() {
            link.close();
        }
    }

    fn execute(&mut self, output: Output) {
        match output {
            Output::Signal { to, data } => {
                let state = self.shared.state.borrow();
                signaling::send_signal(&state, to.as_deref(), &data);
            }
            Output::Connect { link, .. } => webrtc::offer(&self.shared, link),
            Output::Answer { link, sdp, .. } => webrtc::answer(&self.shared, link, sdp),
            Output::AcceptAnswer { link, sdp } => webrtc::accept_answer(&self.shared, link, sdp),
            Output::Close { link, .. } => {
                let closed = self.shared.state.borrow_mut().links.remove(&link);
                if let Some(closed) = closed {
                    closed.close();
                }
            }
        }
    }

    fn has_room(&self, link: LinkId) -> bool {
        self.shared.state.borrow().links.get(&link).is_some_and(webrtc::PeerLink::has_room)
    }

    fn send(&mut self, link: LinkId, frame: Vec<u8>) {
        if let Some(peer) = self.shared.state.borrow().links.get(&link) {
            peer.send(&frame);
            if crate::dom::tracing() {
                crate::dom::trace("__corkboardSent", frame.len() as f64);
            }
        }
    }

    fn status(&self, connected_peers: usize) -> Status {
        let state = self.shared.state.borrow();
        let socket_open = state.socket.as_ref().is_some_and(|socket| socket.open);
        if state.offline || !state.running {
            Status::Offline
        } else if !socket_open && connected_peers == 0 {
            if state.socket_failures > 1 { Status::Unreachable } else { Status::Connecting }
        } else {
            Status::Online { peers: connected_peers }
        }
    }

    fn set_offline(&mut self, offline: bool) {
        let connect = {
            let mut state = self.shared.state.borrow_mut();
            state.offline = offline;
            if offline {
                // The room said goodbye to every peer and closes their links.
                signaling::close(&mut state);
                false
            } else {
                state.socket_failures = 0;
                state.running && state.socket.is_none()
            }
        };
        if connect {
            signaling::connect(&self.shared);
        }
    }

    fn set_identity(&mut self, _identity: &Identity) {
        // The room makes its connections again; each hello carries the new name.
    }

    fn set_ice_servers(&mut self, servers: &[IceServer], relay_only: bool) {
        let state = self.shared.state.borrow();
        *state.ice.borrow_mut() = servers.to_vec();
        state.relay_only.set(relay_only);
    }
}
