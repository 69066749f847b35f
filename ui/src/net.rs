//! The browser's side of the peer network: one WebSocket to the signaling
//! server (sealed envelopes only), one `RTCPeerConnection` and data channel
//! per remote peer, and one protocol [`Session`] on each channel. The same
//! rules as the native node (`peer/src/node.rs`): in a room, the peer with
//! the smaller signaling id offers; SDP is exchanged whole (non-trickle);
//! each hello proves the board key bound to both DTLS fingerprints.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use board_key::envelope::{Envelopes, Signal};
use board_key::link::ShareLink;
use board_key::{proof, room};
use board_model::blob::{Hash, MemoryStore};
use board_model::session::{self, Event as SessionEvent};
use board_model::{Board, Session, presence};
use leptos::prelude::*;
use signal_wire::{ClientFrame, ServerFrame};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MessageEvent, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelType, RtcPeerConnection, RtcSdpType,
    RtcSessionDescriptionInit, WebSocket,
};

use crate::engine::{self, Engine};
use crate::notify;
use crate::platform;
use crate::storage;
use crate::view_model::Status;

/// The data channel's label (as the native peer's).
const LABEL: &str = "corkboard";
/// Bytes a channel may hold unsent before we stop handing it frames.
const SEND_BUFFER_LIMIT: u32 = 1024 * 1024;
/// Most connections per board (full mesh).
pub const MAX_CONNECTIONS: usize = 20;
/// Most frames kept from a peer before this side's session is ready (its
/// hello and a few more; a peer sending more is dropped).
const EARLY_FRAMES: usize = 64;
/// How long gathering ICE candidates may take before the SDP goes as is.
const GATHERING_TIMEOUT_MS: f64 = 5_000.0;

type Handler<T> = Closure<dyn FnMut(T)>;

struct Peer {
    generation: u64,
    pc: RtcPeerConnection,
    channel: Option<RtcDataChannel>,
    session: Option<Session>,
    /// Frames that arrived after the channel opened but before the session
    /// existed (it waits for this side's fingerprints): read once it does.
    early: Vec<Vec<u8>>,
    /// The JS callbacks of this connection; dropped (after detaching) on close.
    handlers: Vec<Box<dyn std::any::Any>>,
}

impl Peer {
    fn close(self) {
        if let Some(channel) = &self.channel {
            channel.set_onopen(None);
            channel.set_onmessage(None);
            channel.set_onclose(None);
            channel.set_onbufferedamountlow(None);
            channel.close();
        }
        self.pc.set_ondatachannel(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.close();
        drop(self.handlers);
    }
}

pub struct Mesh {
    link: ShareLink,
    room: String,
    running: bool,
    socket: Option<WebSocket>,
    socket_handlers: Vec<Box<dyn std::any::Any>>,
    socket_open: bool,
    socket_failures: u32,
    socket_generation: u64,
    me: Option<String>,
    envelopes: Option<Envelopes>,
    present: HashSet<String>,
    peers: HashMap<String, Peer>,
    retry_at: HashMap<String, f64>,
    next_generation: u64,
    progress: HashMap<Hash, f64>,
    blob_turn: usize,
    presence: Option<presence::State>,
    told_busy: bool,
}

impl Mesh {
    pub fn new(link: &ShareLink) -> Mesh {
        Mesh {
            room: room::room_id(&link.key),
            link: link.clone(),
            running: false,
            socket: None,
            socket_handlers: Vec::new(),
            socket_open: false,
            socket_failures: 0,
            socket_generation: 0,
            me: None,
            envelopes: None,
            present: HashSet::new(),
            peers: HashMap::new(),
            retry_at: HashMap::new(),
            next_generation: 1,
            progress: HashMap::new(),
            blob_turn: 0,
            presence: None,
            told_busy: false,
        }
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Connects to the signaling server (and through it, to peers).
    pub fn start(&mut self) {
        if self.running {
            return;
        }
        self.running = true;
        self.socket_failures = 0;
        self.connect_signaling();
    }

    /// Says goodbye to every peer and closes every connection.
    pub fn stop(&mut self, board: &Board, blobs: &MemoryStore) {
        self.running = false;
        for peer in self.peers.values_mut() {
            if let Some(session) = peer.session.as_mut() {
                session.close("the peer went offline");
            }
        }
        self.flush_all(board, blobs);
        for (_, peer) in self.peers.drain() {
            peer.close();
        }
        self.close_socket();
        self.retry_at.clear();
        self.present.clear();
    }

    fn close_socket(&mut self) {
        if let Some(socket) = self.socket.take() {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            socket.set_onerror(None);
            let _ = socket.close();
        }
        self.socket_handlers.clear();
        self.socket_open = false;
        self.me = None;
        self.envelopes = None;
    }

    pub fn status(&self) -> Status {
        if !self.running {
            Status::Offline
        } else if !self.socket_open && self.open_sessions() == 0 {
            if self.socket_failures > 1 { Status::Unreachable } else { Status::Connecting }
        } else {
            Status::Online { peers: self.open_sessions() }
        }
    }

    fn open_sessions(&self) -> usize {
        self.peers.values().filter(|p| p.session.as_ref().is_some_and(Session::is_open)).count()
    }

    pub fn has_open_session_with(&self, replica: u64) -> bool {
        self.peers.values().any(|p| {
            p.session.as_ref().is_some_and(|s| s.is_open() && s.remote().is_some_and(|r| r.peer == replica))
        })
    }

    pub fn progress(&self, hash: &Hash) -> Option<f64> {
        self.progress.get(hash).copied()
    }

    pub fn set_presence(&mut self, state: &presence::State, board: &Board, blobs: &MemoryStore) {
        self.presence = Some(state.clone());
        for peer in self.peers.values_mut() {
            if let Some(session) = peer.session.as_mut().filter(|s| s.is_open()) {
                session.set_presence(state.clone());
            }
        }
        self.flush_all(board, blobs);
    }

    /// Hands every open channel the frames its session has, while it has room.
    pub fn flush_all(&mut self, board: &Board, blobs: &MemoryStore) {
        for peer in self.peers.values_mut() {
            flush(peer, board, blobs);
        }
    }

    /// Asks an open session for each image the board shows but this browser lacks.
    pub fn want_missing_blobs(&mut self, board: &Board, blobs: &MemoryStore) {
        let missing: Vec<Hash> =
            board.referenced_blobs().into_iter().filter(|h| blobs.get(h).is_none()).collect();
        if missing.is_empty() {
            return;
        }
        let mut open: Vec<String> = self
            .peers
            .iter()
            .filter(|(_, p)| p.session.as_ref().is_some_and(Session::is_open))
            .map(|(k, _)| k.clone())
            .collect();
        if open.is_empty() {
            return;
        }
        open.sort();
        for (i, hash) in missing.iter().enumerate() {
            let wanted = self
                .peers
                .values()
                .any(|p| p.session.as_ref().is_some_and(|s| s.wanted_blobs().any(|h| h == hash)));
            if wanted {
                continue;
            }
            let chosen = &open[(self.blob_turn + i) % open.len()];
            if let Some(session) = self.peers.get_mut(chosen).and_then(|p| p.session.as_mut()) {
                session.want_blob(*hash, blobs);
            }
        }
    }

    // ----- signaling -------------------------------------------------------------

    fn connect_signaling(&mut self) {
        self.close_socket();
        let url = signaling_url();
        let socket = match WebSocket::new(&url) {
            Ok(socket) => socket,
            Err(_) => {
                self.socket_failures += 1;
                schedule_reconnect(self.socket_failures);
                return;
            }
        };
        self.socket_generation += 1;
        let generation = self.socket_generation;
        let onopen: Handler<web_sys::Event> = Closure::new(move |_| {
            engine::with(|e| e.on_socket_open(generation));
        });
        let onmessage: Handler<MessageEvent> = Closure::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                engine::with(|e| e.on_socket_text(generation, &text));
            }
        });
        let onclose: Handler<web_sys::Event> = Closure::new(move |_| {
            engine::with(|e| e.on_socket_closed(generation));
        });
        socket.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        socket.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        self.socket_handlers = vec![Box::new(onopen), Box::new(onmessage), Box::new(onclose)];
        self.socket = Some(socket);
    }

    fn send_frame(&self, frame: &ClientFrame) {
        if let (Some(socket), Ok(text)) = (&self.socket, serde_json::to_string(frame))
            && self.socket_open
        {
            let _ = socket.send_with_str(&text);
        }
    }

    fn send_signal(&mut self, to: &str, signal: Signal) {
        let Some(envelopes) = self.envelopes.as_mut() else { return };
        let sealed = envelopes.seal(Some(to), signal, platform::random_bytes(), platform::now_ms());
        let frame = ClientFrame::Signal {
            room: self.room.clone(),
            to: Some(to.to_owned()),
            data: STANDARD.encode(sealed),
        };
        self.send_frame(&frame);
    }
}

fn signaling_url() -> String {
    let location = platform::window().map(|w| w.location());
    let protocol = location.as_ref().and_then(|l| l.protocol().ok()).unwrap_or_else(|| "http:".into());
    let host = location.as_ref().and_then(|l| l.host().ok()).unwrap_or_else(|| "127.0.0.1:8787".into());
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/ws")
}

fn schedule_reconnect(failures: u32) {
    let delay = (250 * 2i32.saturating_pow(failures.min(6))).min(10_000);
    platform::set_timeout(delay, || {
        engine::with(|e| {
            if e.mesh.running && e.mesh.socket.is_none() {
                e.mesh.connect_signaling();
            }
        });
    });
}

fn fresh_peer_id() -> String {
    platform::random_bytes::<16>().iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends what a session has while its channel has room.
fn flush(peer: &mut Peer, board: &Board, blobs: &MemoryStore) {
    let (Some(channel), Some(session)) = (peer.channel.as_ref(), peer.session.as_mut()) else { return };
    if channel.ready_state() != web_sys::RtcDataChannelState::Open {
        return;
    }
    while channel.buffered_amount() < SEND_BUFFER_LIMIT {
        let Some(frame) = session.poll_transmit(board, blobs) else { break };
        if channel.send_with_u8_array(&frame).is_err() {
            break;
        }
    }
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = platform::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Waits until the connection has gathered its ICE candidates (or a timeout).
async fn gathered(pc: &RtcPeerConnection) {
    let started = platform::performance_now();
    while pc.ice_gathering_state() != web_sys::RtcIceGatheringState::Complete
        && platform::performance_now() - started < GATHERING_TIMEOUT_MS
    {
        sleep(10).await;
    }
}

fn description(kind: RtcSdpType, sdp: &str) -> RtcSessionDescriptionInit {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    init
}

/// The DTLS certificate fingerprints (local, remote) from `getStats()`, as
/// `"<algorithm> <hex>"` lowercased: the form `board_key::proof` expects.
async fn fingerprints(pc: &RtcPeerConnection) -> Option<(String, String)> {
    let report = JsFuture::from(pc.get_stats()).await.ok()?;
    let map: js_sys::Map = report.unchecked_into();
    let mut stats: Vec<JsValue> = Vec::new();
    map.for_each(&mut |value, _| stats.push(value));
    let get = |value: &JsValue, field: &str| {
        js_sys::Reflect::get(value, &JsValue::from_str(field)).ok().and_then(|v| v.as_string())
    };
    let transport = stats.iter().find(|s| {
        get(s, "type").as_deref() == Some("transport") && get(s, "remoteCertificateId").is_some()
    })?;
    let (local_id, remote_id) =
        (get(transport, "localCertificateId")?, get(transport, "remoteCertificateId")?);
    let fingerprint = |id: &str| {
        let certificate = stats.iter().find(|s| get(s, "id").as_deref() == Some(id))?;
        Some(
            format!("{} {}", get(certificate, "fingerprintAlgorithm")?, get(certificate, "fingerprint")?)
                .to_ascii_lowercase(),
        )
    };
    Some((fingerprint(&local_id)?, fingerprint(&remote_id)?))
}

fn ice_configuration() -> web_sys::RtcConfiguration {
    let config = web_sys::RtcConfiguration::new();
    let servers = js_sys::Array::new();
    for url in crate::settings::ice_servers() {
        let server = web_sys::RtcIceServer::new();
        server.set_urls(&JsValue::from_str(&url));
        servers.push(&server);
    }
    config.set_ice_servers(&servers);
    config
}

/// Starts the periodic work of the open board: session ticks, presence expiry, retries.
pub fn start_ticker() {
    platform::set_interval(200, || {
        engine::with(Engine::on_tick);
    });
}

impl Engine {
    fn on_socket_open(&mut self, generation: u64) {
        if generation != self.mesh.socket_generation {
            return;
        }
        self.mesh.socket_open = true;
        self.mesh.socket_failures = 0;
        let me = fresh_peer_id();
        self.mesh.envelopes = Some(Envelopes::new(&self.mesh.link.key, &self.mesh.room, &me));
        self.mesh.me = Some(me.clone());
        self.mesh.send_frame(&ClientFrame::Join { room: self.mesh.room.clone(), peer: me });
        self.refresh_status();
    }

    fn on_socket_closed(&mut self, generation: u64) {
        if generation != self.mesh.socket_generation {
            return;
        }
        self.mesh.close_socket();
        self.mesh.present.clear();
        if self.mesh.running {
            self.mesh.socket_failures += 1;
            schedule_reconnect(self.mesh.socket_failures);
        }
        self.refresh_status();
    }

    fn on_socket_text(&mut self, generation: u64, text: &str) {
        if generation != self.mesh.socket_generation {
            return;
        }
        let frame = match serde_json::from_str::<ServerFrame>(text) {
            Ok(frame) => frame,
            Err(_) => {
                web_sys::console::warn_1(
                    &"corkboard: the signaling server sent a frame we don't understand".into(),
                );
                return;
            }
        };
        match frame {
            ServerFrame::Joined { room, peers } if room == self.mesh.room => {
                self.mesh.present = peers.iter().cloned().collect();
                for peer in peers {
                    self.maybe_offer(&peer);
                }
            }
            ServerFrame::PeerJoined { room, peer } if room == self.mesh.room => {
                self.mesh.present.insert(peer.clone());
                self.maybe_offer(&peer);
            }
            ServerFrame::PeerLeft { room, peer } if room == self.mesh.room => {
                self.mesh.present.remove(&peer);
                if let Some(generation) = self.mesh.peers.get(&peer).map(|p| p.generation) {
                    self.on_connection_state(&peer, generation);
                }
            }
            ServerFrame::Signal { room, from, data } if room == self.mesh.room => {
                self.on_envelope(&from, &data);
            }
            ServerFrame::Error { message, fatal, .. } => {
                web_sys::console::warn_1(&format!("corkboard: signaling server: {message}").into());
                if fatal {
                    notify::error(&format!("The signaling server refused this board: {message}"));
                }
            }
            _ => {}
        }
        self.refresh_status();
    }

    fn on_envelope(&mut self, from: &str, data: &str) {
        let Ok(sealed) = STANDARD.decode(data) else { return };
        let Some(envelopes) = self.mesh.envelopes.as_mut() else { return };
        let opened = match envelopes.open(from, &sealed, platform::now_ms()) {
            Ok(opened) => opened,
            Err(error) => {
                web_sys::console::warn_1(&format!("corkboard: refused a signaling envelope: {error}").into());
                return;
            }
        };
        match opened.signal {
            Signal::Offer { sdp } => self.answer(from, sdp),
            Signal::Answer { sdp } => {
                let Some(peer) = self.mesh.peers.get(from) else { return };
                let pc = peer.pc.clone();
                leptos::task::spawn_local(async move {
                    let answer = description(RtcSdpType::Answer, &sdp);
                    if JsFuture::from(pc.set_remote_description(&answer)).await.is_err() {
                        web_sys::console::warn_1(&"corkboard: a peer's answer could not be applied".into());
                    }
                });
            }
            Signal::Announce | Signal::Candidate { .. } | Signal::Bye => {}
        }
    }

    fn new_peer(&mut self, remote: &str) -> Option<(u64, RtcPeerConnection)> {
        if self.mesh.peers.len() >= MAX_CONNECTIONS {
            if !self.mesh.told_busy {
                self.mesh.told_busy = true;
                notify::info(&format!(
                    "This board is busy: connected to {MAX_CONNECTIONS} people, the most at once. Others still sync through them."
                ));
            }
            return None;
        }
        let pc = RtcPeerConnection::new_with_configuration(&ice_configuration()).ok()?;
        let generation = self.mesh.next_generation;
        self.mesh.next_generation += 1;
        let remote_id = remote.to_owned();
        let onstate: Handler<web_sys::Event> = Closure::new(move |_| {
            engine::with(|e| e.on_connection_state(&remote_id, generation));
        });
        pc.set_onconnectionstatechange(Some(onstate.as_ref().unchecked_ref()));
        let peer = Peer {
            generation,
            pc: pc.clone(),
            channel: None,
            session: None,
            early: Vec::new(),
            handlers: vec![Box::new(onstate)],
        };
        self.mesh.peers.insert(remote.to_owned(), peer);
        Some((generation, pc))
    }

    /// Offers a connection when we are the side that offers and none exists.
    fn maybe_offer(&mut self, remote: &str) {
        let Some(me) = self.mesh.me.clone() else { return };
        if me.as_str() >= remote || self.mesh.peers.contains_key(remote) || !self.mesh.running {
            return;
        }
        let Some((generation, pc)) = self.new_peer(remote) else { return };
        let init = web_sys::RtcDataChannelInit::new();
        init.set_ordered(true);
        let channel = pc.create_data_channel_with_data_channel_dict(LABEL, &init);
        self.attach_channel(remote, generation, channel);
        let remote = remote.to_owned();
        leptos::task::spawn_local(async move {
            let sdp = async {
                let offer = JsFuture::from(pc.create_offer()).await.ok()?;
                let sdp = js_sys::Reflect::get(&offer, &JsValue::from_str("sdp")).ok()?.as_string()?;
                JsFuture::from(pc.set_local_description(&description(RtcSdpType::Offer, &sdp))).await.ok()?;
                gathered(&pc).await;
                Some(pc.local_description()?.sdp())
            }
            .await;
            engine::with(|e| match sdp {
                Some(sdp) if e.mesh.peers.get(&remote).is_some_and(|p| p.generation == generation) => {
                    e.mesh.send_signal(&remote, Signal::Offer { sdp });
                }
                Some(_) => {}
                None => e.drop_peer(&remote, generation, "could not make an offer"),
            });
        });
    }

    fn answer(&mut self, from: &str, sdp: String) {
        if let Some(old) = self.mesh.peers.remove(from) {
            old.close();
        }
        if !self.mesh.running {
            return;
        }
        let Some((generation, pc)) = self.new_peer(from) else { return };
        let remote = from.to_owned();
        let ondatachannel: Handler<RtcDataChannelEvent> = Closure::new(move |event: RtcDataChannelEvent| {
            let channel = event.channel();
            engine::with(|e| e.attach_channel(&remote, generation, channel));
        });
        pc.set_ondatachannel(Some(ondatachannel.as_ref().unchecked_ref()));
        if let Some(peer) = self.mesh.peers.get_mut(from) {
            peer.handlers.push(Box::new(ondatachannel));
        }
        let remote = from.to_owned();
        leptos::task::spawn_local(async move {
            let answer = async {
                JsFuture::from(pc.set_remote_description(&description(RtcSdpType::Offer, &sdp)))
                    .await
                    .ok()?;
                let answer = JsFuture::from(pc.create_answer()).await.ok()?;
                let sdp = js_sys::Reflect::get(&answer, &JsValue::from_str("sdp")).ok()?.as_string()?;
                JsFuture::from(pc.set_local_description(&description(RtcSdpType::Answer, &sdp)))
                    .await
                    .ok()?;
                gathered(&pc).await;
                Some(pc.local_description()?.sdp())
            }
            .await;
            engine::with(|e| match answer {
                Some(sdp) if e.mesh.peers.get(&remote).is_some_and(|p| p.generation == generation) => {
                    e.mesh.send_signal(&remote, Signal::Answer { sdp });
                }
                Some(_) => {}
                None => e.drop_peer(&remote, generation, "could not answer an offer"),
            });
        });
    }

    fn attach_channel(&mut self, remote: &str, generation: u64, channel: RtcDataChannel) {
        let Some(peer) = self.mesh.peers.get_mut(remote).filter(|p| p.generation == generation) else {
            channel.close();
            return;
        };
        channel.set_binary_type(RtcDataChannelType::Arraybuffer);
        channel.set_buffered_amount_low_threshold(SEND_BUFFER_LIMIT / 4);
        let id = remote.to_owned();
        let onopen: Handler<web_sys::Event> = Closure::new(move |_| {
            let pc = engine::with(|e| {
                e.mesh.peers.get(&id).filter(|p| p.generation == generation).map(|p| p.pc.clone())
            })
            .flatten();
            let Some(pc) = pc else { return };
            let id = id.clone();
            leptos::task::spawn_local(async move {
                let prints = fingerprints(&pc).await;
                engine::with(|e| e.on_channel_open(&id, generation, prints));
            });
        });
        let id = remote.to_owned();
        let onmessage: Handler<MessageEvent> = Closure::new(move |event: MessageEvent| {
            let data = event.data();
            let bytes = if data.is_instance_of::<js_sys::ArrayBuffer>() {
                js_sys::Uint8Array::new(&data).to_vec()
            } else {
                // Text or anything else is not our protocol.
                b"not a frame".to_vec()
            };
            engine::with(|e| e.on_channel_message(&id, generation, &bytes));
        });
        let id = remote.to_owned();
        let onclose: Handler<web_sys::Event> = Closure::new(move |_| {
            engine::with(|e| e.drop_peer(&id, generation, "the connection closed"));
        });
        let id = remote.to_owned();
        let onlow: Handler<web_sys::Event> = Closure::new(move |_| {
            engine::with(|e| {
                if let Some(peer) = e.mesh.peers.get_mut(&id).filter(|p| p.generation == generation) {
                    flush(peer, &e.board, &e.blobs);
                }
            });
        });
        channel.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        channel.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        channel.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        channel.set_onbufferedamountlow(Some(onlow.as_ref().unchecked_ref()));
        peer.handlers.extend([
            Box::new(onopen) as Box<dyn std::any::Any>,
            Box::new(onmessage),
            Box::new(onclose),
            Box::new(onlow),
        ]);
        peer.channel = Some(channel);
    }

    fn on_channel_open(&mut self, remote: &str, generation: u64, prints: Option<(String, String)>) {
        let Some((local, remote_print)) = prints else {
            self.drop_peer(remote, generation, "no DTLS fingerprints");
            return;
        };
        let identity = self.identity();
        let replica = self.board.replica().0;
        let key = self.mesh.link.key.clone();
        let presence_state = self.mesh.presence.clone();
        let Some(peer) = self.mesh.peers.get_mut(remote).filter(|p| p.generation == generation) else {
            return;
        };
        let mut config = session::Config::new(replica, identity);
        config.proof = Some(proof::proof(&key, &local, &remote_print));
        config.expected_remote_proof = Some(proof::expected_from_remote(&key, &local, &remote_print));
        let mut session = Session::new(config);
        if let Some(state) = presence_state {
            session.set_presence(state);
        }
        peer.session = Some(session);
        let early = std::mem::take(&mut peer.early);
        flush(peer, &self.board, &self.blobs);
        for frame in early {
            self.on_channel_message(remote, generation, &frame);
        }
        self.refresh_status();
    }

    fn on_channel_message(&mut self, remote: &str, generation: u64, bytes: &[u8]) {
        let now = platform::now_ms();
        let Some(peer) = self.mesh.peers.get_mut(remote).filter(|p| p.generation == generation) else {
            return;
        };
        let Some(session) = peer.session.as_mut() else {
            // The remote was quicker to set up its side: keep its hello.
            if peer.early.len() < EARLY_FRAMES {
                peer.early.push(bytes.to_vec());
            } else {
                self.drop_peer(remote, generation, "too many frames before the session started");
            }
            return;
        };
        if session.is_closed() {
            // It failed or said goodbye; the channel closes shortly. What
            // was sent after is not read (and not reported again).
            return;
        }
        let result = session.receive(bytes, &mut self.board, &mut self.blobs, now);
        self.handle_session_events(remote);
        if let Err(error) = result {
            let message = match &error {
                session::Error::Protocol(board_model::protocol::Error::PeerTooNew { .. }) => {
                    "Someone on this board uses a newer version of Corkboard. Reload this page to update, then you can work together.".to_owned()
                }
                session::Error::Protocol(board_model::protocol::Error::PeerTooOld { .. }) => {
                    "Someone on this board uses an older version of Corkboard; they need to update to work with you.".to_owned()
                }
                session::Error::AuthenticationFailed => {
                    "A connection was refused: the other side could not prove it holds this board's key.".to_owned()
                }
                other => format!("A peer sent something broken and was disconnected ({other}). Your board is unaffected."),
            };
            notify::error(&message);
            if let Some(peer) = self.mesh.peers.get_mut(remote) {
                flush(peer, &self.board, &self.blobs);
            }
            let id = remote.to_owned();
            // Let the bye go out before closing.
            platform::set_timeout(200, move || {
                engine::with(|e| e.drop_peer(&id, generation, "misbehaving peer"));
            });
        }
        if let Some(peer) = self.mesh.peers.get_mut(remote) {
            flush(peer, &self.board, &self.blobs);
        }
    }

    /// Reacts to what a session reports.
    fn handle_session_events(&mut self, remote: &str) {
        let mut events = Vec::new();
        if let Some(session) = self.mesh.peers.get_mut(remote).and_then(|p| p.session.as_mut()) {
            while let Some(event) = session.poll_event() {
                events.push(event);
            }
        }
        let mut board_changed = false;
        let mut retry_blobs = false;
        for event in events {
            match event {
                SessionEvent::Opened(who) => {
                    self.peer_opened(who.peer, who.identity);
                    if let Some(state) = self.mesh.presence.clone()
                        && let Some(session) =
                            self.mesh.peers.get_mut(remote).and_then(|p| p.session.as_mut())
                    {
                        session.set_presence(state);
                    }
                    self.mesh.want_missing_blobs(&self.board, &self.blobs);
                    self.refresh_status();
                }
                SessionEvent::BoardChanged => board_changed = true,
                SessionEvent::Presence { peer, state } => self.remote_presence(peer, state),
                // Browser sessions do not take relayed presence (the session refuses it).
                SessionEvent::RelayedPresence { .. } | SessionEvent::RelayedLeft { .. } => {}
                SessionEvent::BlobProgress { hash, received, total } => {
                    self.mesh.progress.insert(hash, received as f64 / total.max(1) as f64);
                    self.refresh_image_cards(&hash);
                }
                SessionEvent::BlobReady { hash } => {
                    self.mesh.progress.remove(&hash);
                    if let Some(bytes) = self.blobs.get(&hash).map(<[u8]>::to_vec) {
                        let hex = hash.to_hex();
                        leptos::task::spawn_local(async move {
                            if let Err(error) = storage::put_blob(&hex, &bytes).await {
                                notify::error(&error.to_string());
                            }
                        });
                    }
                    self.blob_arrived(hash);
                }
                SessionEvent::BlobRejected { .. }
                | SessionEvent::BlobUnavailable { .. }
                | SessionEvent::BlobStalled { .. } => retry_blobs = true,
                SessionEvent::Closed { reason } => {
                    web_sys::console::info_1(&format!("corkboard: a peer said goodbye: {reason}").into());
                    if reason.contains("version") {
                        notify::error(&format!("A peer disconnected: {reason}"));
                    }
                }
            }
        }
        if board_changed {
            self.after_change();
        }
        if retry_blobs {
            self.mesh.blob_turn += 1;
            self.mesh.want_missing_blobs(&self.board, &self.blobs);
        }
    }

    fn on_connection_state(&mut self, remote: &str, generation: u64) {
        let Some(peer) = self.mesh.peers.get(remote).filter(|p| p.generation == generation) else { return };
        use web_sys::RtcPeerConnectionState as State;
        match peer.pc.connection_state() {
            State::Failed | State::Closed => self.drop_peer(remote, generation, "the connection failed"),
            // Lost contact and gone from the signaling server too: the other
            // side quit or crashed. Waiting for ICE to give up would keep
            // them listed for half a minute.
            State::Disconnected if !self.mesh.present.contains(remote) => {
                self.drop_peer(remote, generation, "the peer went away")
            }
            _ => {}
        }
    }

    /// Forgets a connection (if still current) and plans a retry.
    fn drop_peer(&mut self, remote: &str, generation: u64, why: &str) {
        let current = self.mesh.peers.get(remote).is_some_and(|p| p.generation == generation);
        if !current {
            return;
        }
        let Some(peer) = self.mesh.peers.remove(remote) else { return };
        web_sys::console::info_1(&format!("corkboard: peer {remote} disconnected: {why}").into());
        let replica = peer.session.as_ref().and_then(|s| s.remote()).map(|r| r.peer);
        peer.close();
        if let Some(replica) = replica {
            self.peer_closed(replica);
        }
        if self.mesh.running {
            self.mesh.retry_at.insert(remote.to_owned(), platform::performance_now() + 1_000.0);
        }
        self.refresh_status();
    }

    /// Closes every connection and forgets the people they brought (their
    /// avatars, cursors, selections and drags): nobody is here any more.
    pub fn stop_mesh(&mut self) {
        let replicas: Vec<u64> = self
            .mesh
            .peers
            .values()
            .filter_map(|p| p.session.as_ref().and_then(|s| s.remote()).map(|r| r.peer))
            .collect();
        self.mesh.stop(&self.board, &self.blobs);
        for replica in replicas {
            self.peer_closed(replica);
        }
        self.refresh_status();
    }

    pub fn refresh_status(&self) {
        let status = match &self.desktop {
            Some(link) => link.status(),
            None => self.mesh.status(),
        };
        if self.signals.status.get_untracked() != status {
            self.signals.status.set(status);
        }
    }

    fn on_tick(&mut self) {
        let now = platform::now_ms();
        if self.desktop.is_some() {
            self.desktop_tick(now);
            return;
        }
        let remotes: Vec<String> = self.mesh.peers.keys().cloned().collect();
        for remote in &remotes {
            if let Some(session) = self.mesh.peers.get_mut(remote).and_then(|p| p.session.as_mut()) {
                session.tick(&self.board, now);
            }
            self.handle_session_events(remote);
        }
        self.expire_presence();
        self.mesh.want_missing_blobs(&self.board, &self.blobs);
        self.mesh.flush_all(&self.board, &self.blobs);
        let clock = platform::performance_now();
        let due: Vec<String> = self
            .mesh
            .retry_at
            .iter()
            .filter(|(remote, at)| **at <= clock && self.mesh.present.contains(*remote))
            .map(|(remote, _)| remote.clone())
            .collect();
        for remote in due {
            self.mesh.retry_at.remove(&remote);
            self.maybe_offer(&remote);
        }
        self.refresh_status();
    }
}

/// Says goodbye to every peer when the page goes away (tab closed, reload,
/// navigation), so they see this person leave at once rather than when
/// their connection times out; reconnects if the page comes back from the
/// back/forward cache.
pub fn leave_on_pagehide() {
    let Some(window) = platform::window() else { return };
    let hide: Handler<web_sys::Event> = Closure::new(|_| {
        engine::with(Engine::stop_mesh);
    });
    let show: Handler<web_sys::Event> = Closure::new(|event: web_sys::Event| {
        let restored = js_sys::Reflect::get(&event, &JsValue::from_str("persisted"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if restored {
            engine::with(|e| {
                if !e.signals.working_offline.get_untracked() {
                    e.mesh.start();
                    e.refresh_status();
                }
            });
        }
    });
    let _ = window.add_event_listener_with_callback("pagehide", hide.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("pageshow", show.as_ref().unchecked_ref());
    hide.forget();
    show.forget();
}

/// Switches between working offline and online.
pub fn set_offline(offline: bool) {
    engine::with(|e| {
        e.signals.working_offline.set(offline);
        if e.desktop.is_some() {
            // The native peer owns the network: it closes and reopens it.
            crate::desktop::fire("set_offline", crate::desktop::args(&[("offline", offline.into())]));
            return;
        }
        if offline {
            e.stop_mesh();
        } else {
            e.mesh.start();
        }
        e.refresh_status();
    });
}
