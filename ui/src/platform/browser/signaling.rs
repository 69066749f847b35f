//! The browser's signaling connection for one board: a WebSocket joining the
//! board's room under a fresh random id, relaying sealed envelopes both ways
//! (`signal_wire` frames), and reconnecting with backoff when it drops.

use std::rc::{Rc, Weak};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use board_room::Input;
use desktop_wire::IceServer;
use signal_wire::{ClientFrame, ServerFrame};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, WebSocket};

use super::network::{Shared, State};
use crate::dom;
use crate::platform::web::WebClock;
use crate::platform::{Clock, NetEvent};

type Handler<T> = Closure<dyn FnMut(T)>;

/// An open (or opening) signaling connection.
pub(super) struct Socket {
    ws: WebSocket,
    _handlers: Vec<Box<dyn std::any::Any>>,
    pub open: bool,
    /// This page's id in the room, fresh per connection.
    pub me: String,
    generation: u64,
}

fn signaling_url() -> String {
    let location = dom::window().map(|w| w.location());
    let protocol = location.as_ref().and_then(|l| l.protocol().ok()).unwrap_or_else(|| "http:".into());
    let host = location.as_ref().and_then(|l| l.host().ok()).unwrap_or_else(|| "127.0.0.1:8787".into());
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/ws")
}

fn fresh_peer_id() -> String {
    let mut bytes = [0u8; 16];
    WebClock.fill_random(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens the signaling connection (replacing any).
pub(super) fn connect(shared: &Rc<Shared>) {
    let mut state = shared.state.borrow_mut();
    close(&mut state);
    let ws = match WebSocket::new(&signaling_url()) {
        Ok(ws) => ws,
        Err(_) => {
            state.socket_failures += 1;
            let failures = state.socket_failures;
            drop(state);
            schedule_reconnect(Rc::downgrade(shared), failures);
            return;
        }
    };
    state.socket_generation += 1;
    let generation = state.socket_generation;
    let weak = Rc::downgrade(shared);
    let onopen: Handler<web_sys::Event> = Closure::new({
        let weak = weak.clone();
        move |_| {
            if let Some(shared) = weak.upgrade() {
                on_open(&shared, generation);
            }
        }
    });
    let onmessage: Handler<MessageEvent> = Closure::new({
        let weak = weak.clone();
        move |event: MessageEvent| {
            if let (Some(shared), Some(text)) = (weak.upgrade(), event.data().as_string()) {
                on_text(&shared, generation, &text);
            }
        }
    });
    let onclose: Handler<web_sys::Event> = Closure::new({
        let weak = weak.clone();
        move |_| {
            if let Some(shared) = weak.upgrade() {
                on_closed(&shared, generation);
            }
        }
    });
    ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
    state.socket = Some(Socket {
        ws,
        _handlers: vec![Box::new(onopen), Box::new(onmessage), Box::new(onclose)],
        open: false,
        me: fresh_peer_id(),
        generation,
    });
}

/// Closes the signaling connection without reconnecting.
pub(super) fn close(state: &mut State) {
    if let Some(socket) = state.socket.take() {
        socket.ws.set_onopen(None);
        socket.ws.set_onmessage(None);
        socket.ws.set_onclose(None);
        socket.ws.set_onerror(None);
        let _ = socket.ws.close();
    }
}

fn send(socket: &Socket, frame: &ClientFrame) {
    if socket.open
        && let Ok(text) = serde_json::to_string(frame)
    {
        let _ = socket.ws.send_with_str(&text);
    }
}

/// Relays sealed bytes to one peer of the room.
pub(super) fn send_signal(state: &State, to: Option<&str>, data: &[u8]) {
    if let Some(socket) = &state.socket {
        let frame = ClientFrame::Signal {
            room: state.room.clone(),
            to: to.map(str::to_owned),
            data: STANDARD.encode(data),
        };
        send(socket, &frame);
    }
}

fn current(state: &State, generation: u64) -> bool {
    state.socket.as_ref().is_some_and(|socket| socket.generation == generation)
}

fn on_open(shared: &Rc<Shared>, generation: u64) {
    {
        let mut state = shared.state.borrow_mut();
        if !current(&state, generation) {
            return;
        }
        state.socket_failures = 0;
        let room = state.room.clone();
        let Some(socket) = state.socket.as_mut() else { return };
        socket.open = true;
        let join = ClientFrame::Join { room, peer: socket.me.clone() };
        send(socket, &join);
    }
    schedule_keepalive(Rc::downgrade(shared), generation);
    shared.emit(NetEvent::Status);
}

/// How often an open signaling connection says it is alive (the server
/// closes connections silent for a minute).
const KEEPALIVE_MS: i32 = 20_000;

/// Pings the server while this connection lasts, and asks for fresh TURN
/// credentials when those handed out are halfway to their expiry.
fn schedule_keepalive(shared: Weak<Shared>, generation: u64) {
    dom::set_timeout(KEEPALIVE_MS, move || {
        let Some(shared) = shared.upgrade() else { return };
        let mut state = shared.state.borrow_mut();
        if !current(&state, generation) {
            return;
        }
        let now = unix_secs();
        let refresh = state.ice_refresh_at.is_some_and(|at| now >= at);
        if refresh {
            // Asked again a minute later if no answer comes.
            state.ice_refresh_at = Some(now + 60);
        }
        if let Some(socket) = &state.socket {
            send(socket, &ClientFrame::Ping);
            if refresh {
                send(socket, &ClientFrame::Ice);
            }
        }
        drop(state);
        schedule_keepalive(Rc::downgrade(&shared), generation);
    });
}

fn unix_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Takes the servers a `joined` or `ice` frame hands out (the newest are
/// used) and when to ask for fresh ones.
fn take_server_ice(state: &mut State, servers: &[signal_wire::IceServer]) {
    let now = unix_secs();
    state.ice_refresh_at = signal_wire::IceServer::refresh_at(servers, now);
    state.server_ice = handed_out(servers);
}

fn on_text(shared: &Rc<Shared>, generation: u64, text: &str) {
    let input = {
        let state = shared.state.borrow();
        if !current(&state, generation) {
            return;
        }
        let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else {
            crate::log::warn("the signaling server sent a frame we don't understand");
            return;
        };
        let me = state.socket.as_ref().map(|socket| socket.me.clone()).unwrap_or_default();
        match frame {
            ServerFrame::Joined { room, peers, ice_servers } if room == state.room => {
                drop(state);
                // Fresh TURN credentials come with every join: the newest are used.
                take_server_ice(&mut shared.state.borrow_mut(), &ice_servers);
                Input::Joined { me, peers }
            }
            ServerFrame::Ice { ice_servers } => {
                drop(state);
                take_server_ice(&mut shared.state.borrow_mut(), &ice_servers);
                return;
            }
            ServerFrame::PeerJoined { room, peer } if room == state.room => Input::PeerJoined { peer },
            ServerFrame::PeerLeft { room, peer } if room == state.room => Input::PeerLeft { peer },
            ServerFrame::Signal { room, from, data } if room == state.room => {
                let Ok(data) = STANDARD.decode(data) else { return };
                Input::Signal { from, data }
            }
            ServerFrame::Error { message, fatal, .. } => {
                crate::log::warn(&format!("signaling server: {message}"));
                drop(state);
                if fatal {
                    shared.emit(NetEvent::Notice(format!(
                        "The signaling server refused this board: {message}"
                    )));
                }
                return;
            }
            _ => return,
        }
    };
    shared.emit(NetEvent::Room(input));
}

fn on_closed(shared: &Rc<Shared>, generation: u64) {
    let retry = {
        let mut state = shared.state.borrow_mut();
        if !current(&state, generation) {
            return;
        }
        close(&mut state);
        if state.running && !state.offline {
            state.socket_failures += 1;
            Some(state.socket_failures)
        } else {
            None
        }
    };
    if let Some(failures) = retry {
        schedule_reconnect(Rc::downgrade(shared), failures);
    }
    shared.emit(NetEvent::Room(Input::SignalingLost));
    shared.emit(NetEvent::Status);
}

fn schedule_reconnect(shared: Weak<Shared>, failures: u32) {
    let delay = (250 * 2i32.saturating_pow(failures.min(6))).min(10_000);
    dom::set_timeout(delay, move || {
        let Some(shared) = shared.upgrade() else { return };
        let due = {
            let state = shared.state.borrow();
            state.running && !state.offline && state.socket.is_none()
        };
        if due {
            connect(&shared);
        }
    });
}

/// The STUN/TURN servers a `joined` frame hands out, one per URL as the
/// settings hold them; servers a browser would throw on are left out.
fn handed_out(servers: &[signal_wire::IceServer]) -> Vec<IceServer> {
    servers
        .iter()
        .take(signal_wire::MAX_ICE_SERVERS)
        .filter(|server| server.is_usable())
        .flat_map(|server| {
            server.urls.iter().map(|url| IceServer {
                url: url.clone(),
                username: server.username.clone().unwrap_or_default(),
                credential: server.credential.clone().unwrap_or_default(),
            })
        })
        .collect()
}
