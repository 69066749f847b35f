//! The desktop page's transport: one local link to the embedded native
//! node over Tauri IPC, carrying the same peer protocol the browser speaks
//! with remote peers (the node is just the page's nearest peer, and relays
//! who else is on the board). Frames from the node arrive on a Tauri
//! `Channel`; frames to it go one `send_frame` at a time, in order, and
//! only once the shell has opened the link (the hello must be the first
//! frame the node sees). Offline, profile and STUN/TURN settings go to the
//! node, which owns the network.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use board_key::link::ShareLink;
use board_model::presence::Identity;
use board_room::{Input, Kind, LinkId, Output};
use desktop_wire::{IceServer, Signaling, command};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::ipc;
use crate::platform::{NetEvent, NetSink, Network, Transport};
use crate::view_model::Status;

/// Frames in flight to the node at most (they go one invoke at a time, in order).
const OUTBOX_LIMIT: usize = 32;

/// Opens desktop transports; keeps the node's latest status for them.
pub struct DesktopNetwork {
    pub status: Rc<RefCell<Option<desktop_wire::Status>>>,
    /// The open board's sink, told when the status changes.
    pub current: Rc<RefCell<Option<NetSink>>>,
}

impl Network for DesktopNetwork {
    fn open(&self, link: &ShareLink, identity: &Identity, sink: NetSink) -> Box<dyn Transport> {
        *self.current.borrow_mut() = Some(Rc::clone(&sink));
        let state = State {
            board: link.board.hyphenated().to_string(),
            fragment: link.fragment(),
            identity: identity.clone(),
            generation: 0,
            link: None,
            outbox: VecDeque::new(),
            opened: false,
            sending: false,
            handler: None,
        };
        Box::new(DesktopTransport {
            shared: Rc::new(Shared { sink, state: RefCell::new(state) }),
            status: Rc::clone(&self.status),
        })
    }
}

struct Shared {
    sink: NetSink,
    state: RefCell<State>,
}

struct State {
    board: String,
    fragment: String,
    identity: Identity,
    generation: u64,
    /// The current link, while open.
    link: Option<LinkId>,
    outbox: VecDeque<Vec<u8>>,
    /// Whether the shell has opened this generation's link.
    opened: bool,
    sending: bool,
    handler: Option<Closure<dyn FnMut(JsValue)>>,
}

struct DesktopTransport {
    shared: Rc<Shared>,
    status: Rc<RefCell<Option<desktop_wire::Status>>>,
}

/// Runs a command; a failure becomes a notice.
fn fire(shared: &Rc<Shared>, name: &'static str, arguments: JsValue) {
    let weak = Rc::downgrade(shared);
    ipc::fire(name, arguments, move |message| {
        if let Some(shared) = weak.upgrade() {
            (shared.sink)(NetEvent::Notice(message));
        }
    });
}

fn open_link(shared: &Rc<Shared>) {
    let (link, generation, fragment) = {
        let mut state = shared.state.borrow_mut();
        state.generation += 1;
        let link = LinkId::local(state.generation);
        state.link = Some(link);
        state.outbox.clear();
        state.opened = false;
        state.sending = false;
        (link, state.generation, state.fragment.clone())
    };
    let weak = Rc::downgrade(shared);
    let handler = Closure::<dyn FnMut(JsValue)>::new({
        let weak = weak.clone();
        move |message: JsValue| {
            let frame = if message.is_instance_of::<js_sys::ArrayBuffer>()
                || message.is_instance_of::<Uint8Array>()
            {
                Uint8Array::new(&message).to_vec()
            } else if let Ok(array) = message.clone().dyn_into::<Array>() {
                // Older shells send a JSON array of numbers.
                array.iter().map(|v| v.as_f64().unwrap_or(0.0) as u8).collect()
            } else {
                return;
            };
            if let Some(shared) = weak.upgrade() {
                (shared.sink)(NetEvent::Room(Input::Frame { link, frame }));
            }
        }
    });
    let Some(channel) = ipc::channel(&handler) else { return };
    shared.state.borrow_mut().handler = Some(handler);
    (shared.sink)(NetEvent::Room(Input::LocalLinkUp { link, kind: Kind::Node }));
    let arguments = ipc::to_js(&desktop_wire::OpenBoard { fragment });
    let _ = js_sys::Reflect::set(&arguments, &JsValue::from_str("onFrame"), &channel);
    leptos::task::spawn_local(async move {
        let result = ipc::invoke(command::OPEN_BOARD, &arguments).await;
        let Some(shared) = weak.upgrade() else { return };
        match result {
            Ok(_) => {
                let current = {
                    let mut state = shared.state.borrow_mut();
                    let current = state.generation == generation;
                    state.opened |= current;
                    current
                };
                if current {
                    pump(&shared);
                    (shared.sink)(NetEvent::Writable(link));
                }
            }
            Err(error) => {
                (shared.sink)(NetEvent::Notice(format!("The desktop app could not open this board: {error}")))
            }
        }
    });
}

/// Sends the next queued frame unless one is in flight.
fn pump(shared: &Rc<Shared>) {
    let (frame, board, generation, link) = {
        let mut state = shared.state.borrow_mut();
        if state.sending || !state.opened {
            return;
        }
        let (Some(frame), Some(link)) = (state.outbox.pop_front(), state.link) else { return };
        state.sending = true;
        (frame, state.board.clone(), state.generation, link)
    };
    let body: JsValue = Uint8Array::from(frame.as_slice()).into();
    let headers = ipc::object(&[(desktop_wire::BOARD_HEADER, JsValue::from_str(&board))]);
    let options = ipc::object(&[("headers", headers)]);
    let weak: Weak<Shared> = Rc::downgrade(shared);
    leptos::task::spawn_local(async move {
        let result = ipc::invoke_with(command::SEND_FRAME, &body, &options).await;
        let Some(shared) = weak.upgrade() else { return };
        let current = {
            let mut state = shared.state.borrow_mut();
            state.sending = false;
            state.generation == generation
        };
        if let Err(error) = result {
            crate::log::warn(&format!("a frame to the desktop peer failed: {error}"));
        }
        if current {
            pump(&shared);
            (shared.sink)(NetEvent::Writable(link));
        }
    });
}

impl Transport for DesktopTransport {
    fn start(&mut self) {
        let identity = self.shared.state.borrow().identity.clone();
        self.set_identity(&identity);
        self.set_ice_servers(&crate::settings::ice_servers(), crate::settings::relay_only());
        open_link(&self.shared);
    }

    fn stop(&mut self) {
        let board = {
            let mut state = self.shared.state.borrow_mut();
            state.link = None;
            state.outbox.clear();
            state.board.clone()
        };
        fire(&self.shared, command::CLOSE_BOARD, ipc::to_js(&desktop_wire::BoardArg { board }));
    }

    fn execute(&mut self, output: Output) {
        // The page's room has no signaling: only its link to the node closes.
        if let Output::Close { link, failed } = output {
            let current = self.shared.state.borrow().link == Some(link);
            if current {
                self.shared.state.borrow_mut().link = None;
                if failed {
                    // The node's end broke the protocol: open a fresh link.
                    open_link(&self.shared);
                }
            }
        }
    }

    fn has_room(&self, link: LinkId) -> bool {
        let state = self.shared.state.borrow();
        state.link == Some(link) && state.outbox.len() < OUTBOX_LIMIT
    }

    fn send(&mut self, link: LinkId, frame: Vec<u8>) {
        {
            let mut state = self.shared.state.borrow_mut();
            if state.link != Some(link) {
                return;
            }
            state.outbox.push_back(frame);
        }
        pump(&self.shared);
    }

    fn status(&self, _connected_peers: usize) -> Status {
        let board = self.shared.state.borrow().board.clone();
        let Some(status) = self.status.borrow().clone() else { return Status::Connecting };
        let peers = status.peers.get(&board).copied().unwrap_or(0);
        match status.signaling {
            Signaling::Offline => Status::Offline,
            _ if peers > 0 => Status::Online { peers },
            Signaling::Connected => Status::Online { peers: 0 },
            Signaling::Unreachable => Status::Unreachable,
            Signaling::Connecting => Status::Connecting,
        }
    }

    fn set_offline(&mut self, offline: bool) {
        fire(&self.shared, command::SET_OFFLINE, ipc::to_js(&desktop_wire::SetOffline { offline }));
    }

    fn set_identity(&mut self, identity: &Identity) {
        self.shared.state.borrow_mut().identity = identity.clone();
        let profile = desktop_wire::Profile { name: identity.name.clone(), color: identity.color.clone() };
        fire(&self.shared, command::SET_PROFILE, ipc::to_js(&profile));
    }

    fn set_ice_servers(&mut self, servers: &[IceServer], relay_only: bool) {
        let arguments = desktop_wire::SetIceServers { servers: servers.to_vec(), relay_only };
        fire(&self.shared, command::SET_ICE_SERVERS, ipc::to_js(&arguments));
    }
}
