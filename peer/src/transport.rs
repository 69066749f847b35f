//! WebRTC transport (webrtc-rs): builds peer connections, makes offers and
//! answers (non-trickle: the SDP carries every candidate), and runs two small
//! tasks per data channel: a pump that turns the channel's events into
//! [`LinkEvent`]s and a writer that sends frames, blocking when the channel's
//! send buffer is full (the flow control the protocol session relies on).

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::{mpsc, watch};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceGatheringState, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnectionState,
    RTCSessionDescription, RTCStatsReportEntry, SettingEngineBuilder, StatsSelector,
};

/// The data channel's label.
pub const LABEL: &str = "corkboard";
/// Bytes a channel may hold unsent before `send` waits.
pub const SEND_BUFFER_LIMIT: usize = 1024 * 1024;
/// Frames queued between the node and a channel's writer.
pub const WRITER_QUEUE: usize = 16;
/// How long gathering ICE candidates may take before the SDP goes as is (as in the web app).
pub const GATHERING_TIMEOUT: Duration = Duration::from_secs(5);

/// STUN/TURN servers and where to bind.
#[derive(Clone, Debug)]
pub struct Options {
    /// The servers the user configured.
    pub ice_servers: Vec<IceServer>,
    /// The servers the signaling server handed out on the last join (TURN
    /// with credentials made for it); used as well as the user's.
    pub server_ice: Vec<IceServer>,
    /// Use TURN relays only: peers never learn this machine's addresses.
    pub relay_only: bool,
    /// UDP addresses to bind (`127.0.0.1:0` for loopback only; a wildcard
    /// binds every interface but loopback).
    pub udp_addrs: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

impl IceServer {
    /// A server as the signaling server hands it out; `None` for one a
    /// client must not use (see [`signal_wire::IceServer::is_usable`]).
    pub fn from_wire(server: &signal_wire::IceServer) -> Option<IceServer> {
        server.is_usable().then(|| IceServer {
            urls: server.urls.clone(),
            username: server.username.clone().unwrap_or_default(),
            credential: server.credential.clone().unwrap_or_default(),
        })
    }
}

/// What is said when TURN servers were given but none gave a relay address.
pub const NO_RELAY: &str = "no TURN server gave a relay address: it refused the credentials (a wrong \
     or expired secret) or did not answer; peers on other networks cannot be reached through it";

pub use board_room::Path;

impl Default for Options {
    fn default() -> Self {
        Options {
            ice_servers: Vec::new(),
            server_ice: Vec::new(),
            relay_only: false,
            udp_addrs: vec!["0.0.0.0:0".into(), "127.0.0.1:0".into()],
        }
    }
}

/// Frames of one channel read but not yet handled by the node: the channel
/// is not read further until the node catches up, so a peer sending faster
/// than it is handled is slowed by the transport's flow control (SCTP's
/// receive window) instead of filling memory.
pub const INBOUND_FRAMES: usize = 256;

/// One frame read from a data channel; it counts against the channel's
/// [`INBOUND_FRAMES`] until dropped.
#[derive(Debug)]
pub struct Inbound {
    pub frame: Vec<u8>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// What a data channel did.
#[derive(Debug)]
pub enum LinkEvent {
    /// The channel opened; the DTLS certificate fingerprints of both ends
    /// (`"sha-256 ab:cd:…"`, lowercase) bind the protocol's hello proof.
    Open {
        local_fingerprint: String,
        remote_fingerprint: String,
        writer: mpsc::Sender<Vec<u8>>,
        /// How the packets travel, when the stats say.
        path: Option<Path>,
    },
    Message(Inbound),
    /// How the packets travel, learnt after the channel opened (the stats
    /// did not name the selected pair yet at `Open`).
    Path(Path),
    /// The writer sent a frame: there may be room for more.
    Writable,
    /// The connection lost contact with the remote (it may recover).
    Disconnected,
    Closed(String),
}

/// Transport failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("WebRTC: {0}")]
    WebRtc(String),
    #[error("ICE gathering did not complete")]
    Gathering,
}

fn webrtc_error(error: impl std::fmt::Display) -> Error {
    Error::WebRtc(error.to_string())
}

struct Handler {
    gathering: watch::Sender<RTCIceGatheringState>,
    state: watch::Sender<RTCPeerConnectionState>,
    remote_channel: mpsc::UnboundedSender<Arc<dyn DataChannel>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.gathering.send_replace(state);
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let _ = self.remote_channel.send(channel);
    }
}

/// One peer connection under construction or in use.
pub struct Connection {
    pub pc: Arc<dyn PeerConnection>,
    gathering: watch::Receiver<RTCIceGatheringState>,
    pub state: watch::Receiver<RTCPeerConnectionState>,
    remote_channel: mpsc::UnboundedReceiver<Arc<dyn DataChannel>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("state", &*self.state.borrow()).finish_non_exhaustive()
    }
}

/// A runtime that enlarges each UDP socket's receive buffer: with the
/// kernel's default, bursts on a fast link overflow it and SCTP stalls for a
/// second per loss.
#[derive(Debug)]
struct LargeBuffers {
    inner: webrtc::runtime::TokioRuntime,
}

type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl webrtc::runtime::Runtime for LargeBuffers {
    fn spawn(&self, future: Boxed<'static, ()>) -> Box<dyn webrtc::runtime::JoinHandle> {
        self.inner.spawn(future)
    }
    fn spawn_reactor(&self, n: usize, future: Boxed<'static, ()>) -> Box<dyn webrtc::runtime::JoinHandle> {
        self.inner.spawn_reactor(n, future)
    }
    fn wrap_udp_socket(
        &self,
        socket: std::net::UdpSocket,
    ) -> std::io::Result<Arc<dyn webrtc::runtime::AsyncUdpSocket>> {
        // Best effort: the kernel caps it at net.core.rmem_max.
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(4 * 1024 * 1024);
        self.inner.wrap_udp_socket(socket)
    }
    fn wrap_tcp_listener(
        &self,
        listener: std::net::TcpListener,
    ) -> std::io::Result<Arc<dyn webrtc::runtime::AsyncTcpListener>> {
        self.inner.wrap_tcp_listener(listener)
    }
    fn connect_tcp<'a>(
        &'a self,
        address: std::net::SocketAddr,
    ) -> Boxed<'a, std::io::Result<Arc<dyn webrtc::runtime::AsyncTcpStream>>> {
        self.inner.connect_tcp(address)
    }
    fn resolve_host<'a>(&'a self, host: &'a str) -> Boxed<'a, std::io::Result<Vec<std::net::SocketAddr>>> {
        self.inner.resolve_host(host)
    }
    fn now(&self) -> std::time::Instant {
        self.inner.now()
    }
    fn sleep(&self, duration: Duration) -> Boxed<'static, ()> {
        self.inner.sleep(duration)
    }
    fn interval(&self, period: Duration) -> Box<dyn webrtc::runtime::AsyncInterval> {
        self.inner.interval(period)
    }
    fn block_on(&self, future: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>) {
        self.inner.block_on(future)
    }
    fn yield_now(&self) -> Boxed<'static, ()> {
        self.inner.yield_now()
    }
    fn name(&self) -> &'static str {
        "tokio with large UDP buffers"
    }
}

/// Builds a peer connection. `answering` connections take the DTLS server
/// role so the offerer (which opened the data channel) starts the handshake.
pub async fn connect(options: &Options, answering: bool) -> Result<Connection, Error> {
    let (gathering_tx, gathering) = watch::channel(RTCIceGatheringState::New);
    let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
    let (channel_tx, remote_channel) = mpsc::unbounded_channel();
    let ice_servers = options
        .ice_servers
        .iter()
        .chain(&options.server_ice)
        .map(|server| RTCIceServer {
            urls: server.urls.clone(),
            username: server.username.clone(),
            credential: server.credential.clone(),
        })
        .collect();
    let policy = if options.relay_only { RTCIceTransportPolicy::Relay } else { RTCIceTransportPolicy::All };
    let configuration = RTCConfigurationBuilder::new()
        .with_ice_servers(ice_servers)
        .with_ice_transport_policy(policy)
        .build();
    let mut settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        // Quicker connectivity checks, same overall patience (10 ms × 140 = 1.4 s).
        .with_ice_connection_attempts(Some(Duration::from_millis(10)), Some(140));
    if answering {
        settings = settings.with_answering_dtls_role(rtc::peer_connection::transport::RTCDtlsRole::Server);
    }
    let pc = PeerConnectionBuilder::new()
        .with_runtime(Arc::new(LargeBuffers { inner: webrtc::runtime::TokioRuntime }))
        .with_configuration(configuration)
        .with_setting_engine(settings.build())
        .with_handler(Arc::new(Handler {
            gathering: gathering_tx,
            state: state_tx,
            remote_channel: channel_tx,
        }))
        .with_udp_addrs(options.udp_addrs.clone())
        .with_data_channel_send_buffer_limit(SEND_BUFFER_LIMIT)
        .build()
        .await
        .map_err(webrtc_error)?;
    Ok(Connection { pc: Arc::new(pc), gathering, state, remote_channel })
}

impl Connection {
    /// The local SDP once every ICE candidate is gathered, or after
    /// [`GATHERING_TIMEOUT`] with those gathered so far (a STUN or TURN
    /// server that does not answer must not keep peers apart: the host
    /// candidates may well do).
    async fn gathered_sdp(&mut self) -> Result<String, Error> {
        let complete = tokio::time::timeout(
            GATHERING_TIMEOUT,
            self.gathering.wait_for(|state| *state == RTCIceGatheringState::Complete),
        )
        .await
        .is_ok_and(|waited| waited.is_ok());
        if !complete {
            tracing::warn!(
                "ICE gathering is taking long (a STUN/TURN server not answering?); offering what is gathered"
            );
        }
        Ok(self.pc.local_description().await.ok_or(Error::Gathering)?.sdp)
    }

    /// Offerer: opens the data channel (its events go to `events`) and
    /// returns the complete offer SDP.
    pub async fn offer(&mut self, events: mpsc::UnboundedSender<LinkEvent>) -> Result<String, Error> {
        let channel = self.pc.create_data_channel(LABEL, None).await.map_err(webrtc_error)?;
        self.watch_state(events.clone());
        spawn_channel(Arc::clone(&self.pc), channel, events, true);
        let offer = self.pc.create_offer(None).await.map_err(webrtc_error)?;
        self.pc.set_local_description(offer).await.map_err(webrtc_error)?;
        self.gathered_sdp().await
    }

    /// Offerer: applies the answer (the returned future owns what it needs,
    /// so it can run on its own task).
    pub fn accept_answer(
        &self,
        sdp: String,
    ) -> impl std::future::Future<Output = Result<(), Error>> + Send + 'static {
        let pc = Arc::clone(&self.pc);
        async move {
            let (sdp, candidates) = split_candidates(&sdp);
            let answer = RTCSessionDescription::answer(sdp).map_err(webrtc_error)?;
            pc.set_remote_description(answer).await.map_err(webrtc_error)?;
            add_candidates(&*pc, candidates).await
        }
    }

    /// Reports the connection's state to `events`: a lost contact as
    /// [`LinkEvent::Disconnected`], a failed or closed connection as
    /// [`LinkEvent::Closed`].
    fn watch_state(&self, events: mpsc::UnboundedSender<LinkEvent>) {
        let mut state = self.state.clone();
        tokio::spawn(async move {
            while state.changed().await.is_ok() {
                let now = *state.borrow_and_update();
                let event = match now {
                    RTCPeerConnectionState::Disconnected => LinkEvent::Disconnected,
                    RTCPeerConnectionState::Failed => LinkEvent::Closed("the connection failed".into()),
                    RTCPeerConnectionState::Closed => LinkEvent::Closed("the connection closed".into()),
                    _ => continue,
                };
                let last = matches!(event, LinkEvent::Closed(_));
                if events.send(event).is_err() || last {
                    return;
                }
            }
        });
    }

    /// Answerer: applies the offer, returns the complete answer SDP, and
    /// routes the data channel the offerer opens to `events`.
    pub async fn answer(
        &mut self,
        sdp: String,
        events: mpsc::UnboundedSender<LinkEvent>,
    ) -> Result<String, Error> {
        let (sdp, candidates) = split_candidates(&sdp);
        let offer = RTCSessionDescription::offer(sdp).map_err(webrtc_error)?;
        self.watch_state(events.clone());
        self.pc.set_remote_description(offer).await.map_err(webrtc_error)?;
        add_candidates(&*self.pc, candidates).await?;
        let answer = self.pc.create_answer(None).await.map_err(webrtc_error)?;
        self.pc.set_local_description(answer).await.map_err(webrtc_error)?;
        let sdp = self.gathered_sdp().await?;
        let (forward_tx, mut forward_rx) =
            (events, std::mem::replace(&mut self.remote_channel, mpsc::unbounded_channel().1));
        let pc = Arc::clone(&self.pc);
        tokio::spawn(async move {
            if let Some(channel) = forward_rx.recv().await {
                spawn_channel(pc, channel, forward_tx, false);
            }
        });
        Ok(sdp)
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// The certificate fingerprints (local, remote) of a connected peer connection.
async fn fingerprints(pc: &dyn PeerConnection) -> Option<(String, String)> {
    let report = pc.get_stats(std::time::Instant::now(), StatsSelector::None).await;
    let (local_id, remote_id) = report.iter().find_map(|entry| match entry {
        RTCStatsReportEntry::Transport(transport) if !transport.remote_certificate_id.is_empty() => {
            Some((transport.local_certificate_id.clone(), transport.remote_certificate_id.clone()))
        }
        _ => None,
    })?;
    let find = |id: &str| {
        report.iter().find_map(|entry| match entry {
            RTCStatsReportEntry::Certificate(certificate) if certificate.stats.id == id => Some(
                format!("{} {}", certificate.fingerprint_algorithm, certificate.fingerprint)
                    .to_ascii_lowercase(),
            ),
            _ => None,
        })
    };
    Some((find(&local_id)?, find(&remote_id)?))
}

/// A remote description without its candidates, and the candidates (each
/// with its section), to be added one by one after the description as
/// trickled candidates are: webrtc-rs keeps stats (and so the candidate
/// types) only for candidates added that way, under the ids its ICE agent
/// pairs them by, so the path of the selected pair can be told on this
/// side too.
fn split_candidates(sdp: &str) -> (String, Vec<RTCIceCandidateInit>) {
    let (mut kept, mut candidates) = (String::with_capacity(sdp.len()), Vec::new());
    let mut index: Option<u16> = None;
    for line in sdp.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare.starts_with("m=") {
            index = Some(index.map_or(0, |i| i.saturating_add(1)));
        }
        match bare.strip_prefix("a=") {
            Some(candidate) if candidate.starts_with("candidate:") => {
                candidates.push((candidate.to_owned(), index));
            }
            Some("end-of-candidates") => {}
            _ => kept.push_str(line),
        }
    }
    let mids = section_mids(sdp);
    let candidates = candidates
        .into_iter()
        .map(|(candidate, index)| RTCIceCandidateInit {
            candidate,
            sdp_mid: index.and_then(|i| mids.get(usize::from(i)).cloned().flatten()),
            sdp_mline_index: index,
            ..Default::default()
        })
        .collect();
    (kept, candidates)
}

/// The mid of each media section, in order.
fn section_mids(sdp: &str) -> Vec<Option<String>> {
    let mut mids: Vec<Option<String>> = Vec::new();
    for line in sdp.lines() {
        if line.starts_with("m=") {
            mids.push(None);
        } else if let (Some(value), Some(last)) = (line.strip_prefix("a=mid:"), mids.last_mut()) {
            *last = Some(value.trim().to_owned());
        }
    }
    mids
}

async fn add_candidates(pc: &dyn PeerConnection, candidates: Vec<RTCIceCandidateInit>) -> Result<(), Error> {
    for candidate in candidates {
        // One candidate the stack cannot use (an mDNS name, a TCP type it
        // does not speak) must not cost the others.
        if let Err(error) = pc.add_ice_candidate(candidate.clone()).await {
            tracing::debug!(%error, candidate = %candidate.candidate, "skipped a remote candidate");
        }
    }
    Ok(())
}

/// How a connected peer connection's packets travel: the selected
/// candidate pair, relayed when either end of it is a TURN relay.
/// How often, and how long apart, a path the stats did not give at open is
/// asked for again.
const PATH_TRIES: usize = 40;
const PATH_RETRY: std::time::Duration = std::time::Duration::from_millis(250);

async fn path(pc: &dyn PeerConnection) -> Option<Path> {
    let report = pc.get_stats(std::time::Instant::now(), StatsSelector::None).await;
    let pair_id = report.iter().find_map(|entry| match entry {
        RTCStatsReportEntry::Transport(transport) if !transport.selected_candidate_pair_id.is_empty() => {
            Some(transport.selected_candidate_pair_id.clone())
        }
        _ => None,
    });
    let pair = report.iter().find_map(|entry| match entry {
        RTCStatsReportEntry::IceCandidatePair(pair)
            if pair_id.as_ref().map_or(pair.nominated, |id| *id == pair.stats.id) =>
        {
            Some((pair.local_candidate_id.clone(), pair.remote_candidate_id.clone()))
        }
        _ => None,
    })?;
    // The pair names its candidates by their ICE ids; their stats carry
    // those ids behind a prefix.
    let candidate = |id: &str, prefix: &str| {
        report.iter().find_map(|entry| match entry {
            RTCStatsReportEntry::LocalCandidate(candidate)
            | RTCStatsReportEntry::RemoteCandidate(candidate)
                if candidate.stats.id == id || candidate.stats.id.strip_prefix(prefix) == Some(id) =>
            {
                Some((candidate.candidate_type.to_string(), candidate.address.clone()))
            }
            _ => None,
        })
    };
    let (local, local_address) = candidate(&pair.0, "RTCLocalIceCandidate_")?;
    // A remote candidate learnt from a connectivity check (not announced)
    // has no stats: it is the remote's address as seen here, not a relay's.
    let (remote, remote_address) =
        candidate(&pair.1, "RTCRemoteIceCandidate_").unwrap_or_else(|| ("prflx".into(), None));
    // Peer-reflexive says only that the address was learnt from a check (on
    // one machine that is the usual race between a check and the trickled
    // candidate), not that a NAT is in between: a pair that starts on a
    // loopback address, or reaches one of this machine's own addresses,
    // is direct.
    let own: Vec<String> = report
        .iter()
        .filter_map(|entry| match entry {
            RTCStatsReportEntry::LocalCandidate(candidate) => candidate.address.clone(),
            _ => None,
        })
        .collect();
    let loopback = |address: &Option<String>| {
        address.as_deref().and_then(|a| a.parse::<std::net::IpAddr>().ok()).is_some_and(|ip| ip.is_loopback())
    };
    let same_machine = loopback(&local_address)
        || loopback(&remote_address)
        || remote_address.as_ref().is_some_and(|address| own.contains(address));
    if same_machine && local != "relay" && remote != "relay" {
        return Some(Path::Direct);
    }
    Some(Path::from_candidate_types(&local, &remote))
}

fn spawn_channel(
    pc: Arc<dyn PeerConnection>,
    channel: Arc<dyn DataChannel>,
    events: mpsc::UnboundedSender<LinkEvent>,
    kick: bool,
) {
    // webrtc-rs 0.21 holds the first handshake packets until an internal
    // timer fires (~200 ms each); any channel setter wakes its event loop.
    // Kick it until the channel opens: this turns a 600 ms open into ~20 ms.
    let kicker = kick.then(|| {
        let channel = Arc::clone(&channel);
        tokio::spawn(async move {
            for _ in 0..2_000 {
                tokio::time::sleep(Duration::from_millis(2)).await;
                if channel.set_buffered_amount_low_threshold(0).await.is_err() {
                    break;
                }
            }
        })
    });
    let unhandled = Arc::new(tokio::sync::Semaphore::new(INBOUND_FRAMES));
    tokio::spawn(async move {
        let mut kicker = kicker;
        while let Some(event) = channel.poll().await {
            match event {
                DataChannelEvent::OnOpen => {
                    if let Some(kicker) = kicker.take() {
                        kicker.abort();
                    }
                    let Some((local, remote)) = fingerprints(&*pc).await else {
                        let _ = events.send(LinkEvent::Closed("no DTLS fingerprints".into()));
                        break;
                    };
                    let path = path(&*pc).await;
                    let (writer, frames) = mpsc::channel::<Vec<u8>>(WRITER_QUEUE);
                    spawn_writer(Arc::clone(&channel), frames, events.clone());
                    let open = LinkEvent::Open {
                        local_fingerprint: local,
                        remote_fingerprint: remote,
                        writer,
                        path,
                    };
                    if events.send(open).is_err() {
                        break;
                    }
                    if path.is_none() {
                        // Asked again for a while: the stats name the
                        // selected pair a little after the channel opens.
                        let (pc, events) = (Arc::clone(&pc), events.clone());
                        tokio::spawn(async move {
                            for _ in 0..PATH_TRIES {
                                tokio::time::sleep(PATH_RETRY).await;
                                if let Some(path) = self::path(&*pc).await {
                                    let _ = events.send(LinkEvent::Path(path));
                                    return;
                                }
                            }
                        });
                    }
                }
                DataChannelEvent::OnMessage(message) => {
                    // Waits while the node holds INBOUND_FRAMES of this channel.
                    let Ok(permit) = Arc::clone(&unhandled).acquire_owned().await else { break };
                    let inbound = Inbound { frame: message.data.to_vec(), _permit: permit };
                    if events.send(LinkEvent::Message(inbound)).is_err() {
                        break;
                    }
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
        if let Some(kicker) = kicker {
            kicker.abort();
        }
        let _ = events.send(LinkEvent::Closed("the data channel closed".into()));
    });
}

fn spawn_writer(
    channel: Arc<dyn DataChannel>,
    mut frames: mpsc::Receiver<Vec<u8>>,
    events: mpsc::UnboundedSender<LinkEvent>,
) {
    tokio::spawn(async move {
        while let Some(frame) = frames.recv().await {
            // Waits while the channel's send buffer is full: backpressure.
            if let Err(error) = channel.send(BytesMut::from(frame.as_slice())).await {
                let _ = events.send(LinkEvent::Closed(format!("send failed: {error}")));
                return;
            }
            if events.send(LinkEvent::Writable).is_err() {
                return;
            }
        }
    });
}
