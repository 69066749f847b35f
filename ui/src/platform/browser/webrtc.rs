//! The browser's peer connections: one `RTCPeerConnection` and one ordered
//! data channel per link, SDP exchanged whole (non-trickle: gathering
//! finishes first), the DTLS fingerprints read from `getStats()` for the
//! room's key proof, backpressure by `bufferedAmount`.

use std::rc::{Rc, Weak};

use board_room::{Fingerprints, Input, LinkId, Path};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MessageEvent, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelState, RtcDataChannelType,
    RtcPeerConnection, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
};

use super::network::Shared;
use crate::dom;
use crate::platform::NetEvent;

/// The data channel's label (as the native peer's).
const LABEL: &str = "corkboard";
/// Bytes a channel may hold unsent before we stop handing it frames.
const SEND_BUFFER_LIMIT: u32 = 1024 * 1024;
/// How long gathering ICE candidates may take before the SDP goes as is.
const GATHERING_TIMEOUT_MS: f64 = 5_000.0;

type Handler<T> = Closure<dyn FnMut(T)>;

/// One link's connection.
pub(super) struct PeerLink {
    pc: RtcPeerConnection,
    channel: Option<RtcDataChannel>,
    /// The JS callbacks of this connection; dropped (after detaching) on close.
    handlers: Vec<Box<dyn std::any::Any>>,
}

impl PeerLink {
    pub fn close(self) {
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

    pub fn has_room(&self) -> bool {
        self.channel.as_ref().is_some_and(|channel| {
            channel.ready_state() == RtcDataChannelState::Open
                && channel.buffered_amount() < SEND_BUFFER_LIMIT
        })
    }

    pub fn send(&self, frame: &[u8]) {
        if let Some(channel) = &self.channel {
            let _ = channel.send_with_u8_array(frame);
        }
    }
}

fn ice_configuration(shared: &Shared) -> web_sys::RtcConfiguration {
    let config = web_sys::RtcConfiguration::new();
    let servers = js_sys::Array::new();
    let state = shared.state.borrow();
    let configured = state.ice.borrow();
    for ice in configured.iter().chain(&state.server_ice) {
        let server = web_sys::RtcIceServer::new();
        server.set_urls(&JsValue::from_str(&ice.url));
        if !ice.username.is_empty() {
            server.set_username(&ice.username);
            server.set_credential(&ice.credential);
        }
        servers.push(&server);
    }
    config.set_ice_servers(&servers);
    if state.relay_only.get() {
        config.set_ice_transport_policy(web_sys::RtcIceTransportPolicy::Relay);
    }
    config
}

/// A new connection for `link`, watched for failure.
fn new_connection(shared: &Rc<Shared>, link: LinkId) -> Option<RtcPeerConnection> {
    let pc = RtcPeerConnection::new_with_configuration(&ice_configuration(shared)).ok()?;
    let weak = Rc::downgrade(shared);
    let watched = pc.clone();
    let onstate: Handler<web_sys::Event> = Closure::new(move |_| {
        let Some(shared) = weak.upgrade() else { return };
        let input = match watched.connection_state() {
            RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed => {
                Input::ChannelClosed { link, reason: "the connection failed".into() }
            }
            RtcPeerConnectionState::Disconnected => Input::Disconnected { link },
            _ => return,
        };
        shared.emit(NetEvent::Room(input));
    });
    pc.set_onconnectionstatechange(Some(onstate.as_ref().unchecked_ref()));
    // A TURN server refusing this page's credentials (a wrong or expired
    // secret) or not answering: said once per page, in plain words.
    let weak = Rc::downgrade(shared);
    let onerror: Handler<web_sys::Event> = Closure::new(move |event: web_sys::Event| {
        let Some(error) = event.dyn_ref::<web_sys::RtcPeerConnectionIceErrorEvent>() else { return };
        let url = error.url();
        if !url.starts_with("turn") || TURN_TROUBLE_SAID.with(|said| said.replace(true)) {
            return;
        }
        let Some(shared) = weak.upgrade() else { return };
        let code = error.error_code();
        let why = if code == 401 {
            "refused this app's credentials (a wrong or expired secret)".to_owned()
        } else {
            format!("did not answer ({code} {})", error.error_text())
        };
        crate::log::warn(&format!("TURN server {url}: {code} {}", error.error_text()));
        shared.emit(NetEvent::Notice(format!(
            "The relay server {url} {why}: people on other networks may not be reachable."
        )));
    });
    let _ = pc.add_event_listener_with_callback("icecandidateerror", onerror.as_ref().unchecked_ref());
    let peer =
        PeerLink { pc: pc.clone(), channel: None, handlers: vec![Box::new(onstate), Box::new(onerror)] };
    shared.state.borrow_mut().links.insert(link, peer);
    Some(pc)
}

thread_local! {
    /// Whether this page has told its user about a TURN server's trouble.
    static TURN_TROUBLE_SAID: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn failed(shared: &Weak<Shared>, link: LinkId, why: &str) {
    if let Some(shared) = shared.upgrade() {
        shared.emit(NetEvent::Room(Input::SetupFailed { link, reason: why.to_owned() }));
    }
}

/// Builds a connection that opens the data channel, and reports its offer.
pub(super) fn offer(shared: &Rc<Shared>, link: LinkId) {
    let weak = Rc::downgrade(shared);
    let Some(pc) = new_connection(shared, link) else { return failed(&weak, link, "no peer connection") };
    let init = web_sys::RtcDataChannelInit::new();
    init.set_ordered(true);
    let channel = pc.create_data_channel_with_data_channel_dict(LABEL, &init);
    attach_channel(shared, link, channel);
    leptos::task::spawn_local(async move {
        let sdp = async {
            let offer = JsFuture::from(pc.create_offer()).await.ok()?;
            let sdp = js_sys::Reflect::get(&offer, &JsValue::from_str("sdp")).ok()?.as_string()?;
            JsFuture::from(pc.set_local_description(&description(RtcSdpType::Offer, &sdp))).await.ok()?;
            gathered(&pc).await;
            Some(pc.local_description()?.sdp())
        }
        .await;
        described(&weak, link, sdp, "could not make an offer");
    });
}

/// Builds a connection for a peer's offer, and reports its answer.
pub(super) fn answer(shared: &Rc<Shared>, link: LinkId, offer: String) {
    let weak = Rc::downgrade(shared);
    let Some(pc) = new_connection(shared, link) else { return failed(&weak, link, "no peer connection") };
    let ondatachannel: Handler<RtcDataChannelEvent> = Closure::new({
        let weak = weak.clone();
        move |event: RtcDataChannelEvent| {
            if let Some(shared) = weak.upgrade() {
                attach_channel(&shared, link, event.channel());
            }
        }
    });
    pc.set_ondatachannel(Some(ondatachannel.as_ref().unchecked_ref()));
    if let Some(peer) = shared.state.borrow_mut().links.get_mut(&link) {
        peer.handlers.push(Box::new(ondatachannel));
    }
    leptos::task::spawn_local(async move {
        let sdp = async {
            JsFuture::from(pc.set_remote_description(&description(RtcSdpType::Offer, &offer))).await.ok()?;
            let answer = JsFuture::from(pc.create_answer()).await.ok()?;
            let sdp = js_sys::Reflect::get(&answer, &JsValue::from_str("sdp")).ok()?.as_string()?;
            JsFuture::from(pc.set_local_description(&description(RtcSdpType::Answer, &sdp))).await.ok()?;
            gathered(&pc).await;
            Some(pc.local_description()?.sdp())
        }
        .await;
        described(&weak, link, sdp, "could not answer an offer");
    });
}

/// Reports a connection's complete SDP, or that it could not be made.
fn described(shared: &Weak<Shared>, link: LinkId, sdp: Option<String>, why_not: &str) {
    match (sdp, shared.upgrade()) {
        (Some(sdp), Some(shared)) => shared.emit(NetEvent::Room(Input::Described { link, sdp })),
        (None, _) => failed(shared, link, why_not),
        (Some(_), None) => {}
    }
}

/// Applies the peer's answer to the connection that offered.
pub(super) fn accept_answer(shared: &Rc<Shared>, link: LinkId, sdp: String) {
    let Some(pc) = shared.state.borrow().links.get(&link).map(|peer| peer.pc.clone()) else { return };
    let weak = Rc::downgrade(shared);
    leptos::task::spawn_local(async move {
        let answer = description(RtcSdpType::Answer, &sdp);
        if JsFuture::from(pc.set_remote_description(&answer)).await.is_err()
            && let Some(shared) = weak.upgrade()
        {
            let reason = "the peer's answer could not be applied".to_owned();
            shared.emit(NetEvent::Room(Input::ChannelClosed { link, reason }));
        }
    });
}

fn attach_channel(shared: &Rc<Shared>, link: LinkId, channel: RtcDataChannel) {
    let mut state = shared.state.borrow_mut();
    let Some(peer) = state.links.get_mut(&link) else {
        channel.close();
        return;
    };
    channel.set_binary_type(RtcDataChannelType::Arraybuffer);
    channel.set_buffered_amount_low_threshold(SEND_BUFFER_LIMIT / 4);
    let weak = Rc::downgrade(shared);
    let pc = peer.pc.clone();
    let onopen: Handler<web_sys::Event> = Closure::new({
        let weak = weak.clone();
        move |_| {
            let (weak, pc) = (weak.clone(), pc.clone());
            leptos::task::spawn_local(async move {
                let stats = stats(&pc).await;
                let fingerprints = fingerprints(&stats);
                let path = path(&stats);
                if let Some(shared) = weak.upgrade() {
                    if let Some(path) = path {
                        shared.emit(NetEvent::Room(Input::PathFound { link, path }));
                    }
                    shared.emit(NetEvent::Room(Input::ChannelOpened { link, fingerprints }));
                }
            });
        }
    });
    let onmessage: Handler<MessageEvent> = Closure::new({
        let weak = weak.clone();
        move |event: MessageEvent| {
            if crate::dom::tracing() {
                crate::dom::trace("__corkboardReceived", 0.0);
            }
            let data = event.data();
            let frame = if data.is_instance_of::<js_sys::ArrayBuffer>() {
                js_sys::Uint8Array::new(&data).to_vec()
            } else {
                // Text or anything else is not our protocol.
                b"not a frame".to_vec()
            };
            if let Some(shared) = weak.upgrade() {
                shared.emit(NetEvent::Room(Input::Frame { link, frame }));
            }
        }
    });
    let onclose: Handler<web_sys::Event> = Closure::new({
        let weak = weak.clone();
        move |_| {
            if let Some(shared) = weak.upgrade() {
                let reason = "the connection closed".to_owned();
                shared.emit(NetEvent::Room(Input::ChannelClosed { link, reason }));
            }
        }
    });
    let onlow: Handler<web_sys::Event> = Closure::new(move |_| {
        if let Some(shared) = weak.upgrade() {
            shared.emit(NetEvent::Writable(link));
        }
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

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = dom::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Waits until the connection has gathered its ICE candidates (or a timeout).
async fn gathered(pc: &RtcPeerConnection) {
    let started = dom::performance_now();
    while pc.ice_gathering_state() != web_sys::RtcIceGatheringState::Complete
        && dom::performance_now() - started < GATHERING_TIMEOUT_MS
    {
        sleep(10).await;
    }
}

fn description(kind: RtcSdpType, sdp: &str) -> RtcSessionDescriptionInit {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    init
}

/// Every entry of the connection's `getStats()` report.
async fn stats(pc: &RtcPeerConnection) -> Vec<JsValue> {
    let mut stats: Vec<JsValue> = Vec::new();
    if let Ok(report) = JsFuture::from(pc.get_stats()).await {
        let map: js_sys::Map = report.unchecked_into();
        map.for_each(&mut |value, _| stats.push(value));
    }
    stats
}

fn get(value: &JsValue, field: &str) -> Option<String> {
    js_sys::Reflect::get(value, &JsValue::from_str(field)).ok().and_then(|v| v.as_string())
}

/// How the packets travel: the transport's selected candidate pair and
/// the types of its two candidates.
fn path(stats: &[JsValue]) -> Option<Path> {
    let by_id = |id: &str| stats.iter().find(|s| get(s, "id").as_deref() == Some(id));
    let transport = stats.iter().find(|s| get(s, "type").as_deref() == Some("transport"))?;
    let pair = by_id(&get(transport, "selectedCandidatePairId")?)?;
    let local = get(by_id(&get(pair, "localCandidateId")?)?, "candidateType")?;
    let remote = get(by_id(&get(pair, "remoteCandidateId")?)?, "candidateType")?;
    Some(Path::from_candidate_types(&local, &remote))
}

/// The DTLS certificate fingerprints from `getStats()`, as
/// `"<algorithm> <hex>"` lowercased: the form `board_key::proof` expects.
fn fingerprints(stats: &[JsValue]) -> Option<Fingerprints> {
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
    Some(Fingerprints { local: fingerprint(&local_id)?, remote: fingerprint(&remote_id)? })
}
