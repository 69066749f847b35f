//! The signaling client: WebSockets to the signaling server carrying any
//! number of rooms — each connection at most [`ROOMS_PER_CONNECTION`] (the
//! server's limit), more connections opened as boards are added — each
//! reconnecting with backoff when the server goes away.
//! It moves sealed envelopes and room notices; it never sees an envelope's
//! contents (that is `board_key::envelope`, used by the node).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use signal_wire::{ClientFrame, ErrorCode, ServerFrame};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// What the server told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Connected (again); rooms are being joined.
    Connected,
    /// Joined a room as `me`, with these peers already there, and the
    /// STUN/TURN servers the server hands out for it (maybe none).
    Joined {
        room: String,
        me: String,
        peers: Vec<String>,
        ice_servers: Vec<signal_wire::IceServer>,
    },
    PeerJoined {
        room: String,
        peer: String,
    },
    PeerLeft {
        room: String,
        peer: String,
    },
    /// A sealed envelope from a peer.
    Signal {
        room: String,
        from: String,
        data: Vec<u8>,
    },
    /// Fresh STUN/TURN servers, asked for with [`Handle::refresh_ice`].
    Ice {
        ice_servers: Vec<signal_wire::IceServer>,
    },
    /// The server refused something.
    Refused {
        code: ErrorCode,
        message: String,
    },
    /// A connection dropped, with the rooms it carried; it is retried after `retry_in`.
    Disconnected {
        reason: String,
        retry_in: Duration,
        rooms: Vec<String>,
    },
}

/// What we ask of the client.
#[derive(Debug, Clone)]
pub enum Command {
    Join {
        room: String,
    },
    Leave {
        room: String,
    },
    Signal {
        room: String,
        to: Option<String>,
        data: Vec<u8>,
    },
    /// Ask for fresh STUN/TURN servers (on the first connection).
    RefreshIce,
}

/// Sends commands to the client task.
#[derive(Debug, Clone)]
pub struct Handle {
    commands: mpsc::UnboundedSender<Command>,
}

impl Handle {
    pub fn join(&self, room: &str) {
        let _ = self.commands.send(Command::Join { room: room.to_owned() });
    }

    pub fn leave(&self, room: &str) {
        let _ = self.commands.send(Command::Leave { room: room.to_owned() });
    }

    /// Asks for fresh STUN/TURN credentials (answered by [`Event::Ice`]).
    pub fn refresh_ice(&self) {
        let _ = self.commands.send(Command::RefreshIce);
    }

    pub fn signal(&self, room: &str, to: Option<&str>, data: Vec<u8>) {
        let _ =
            self.commands.send(Command::Signal { room: room.to_owned(), to: to.map(str::to_owned), data });
    }
}

/// Rooms one connection carries: the signaling server's limit per
/// connection (its default; a server refusing more is reported).
pub const ROOMS_PER_CONNECTION: usize = 64;

/// What is wrong with the certificates to trust for `wss://`.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA certificate {path}: {reason}")]
    Ca { path: String, reason: String },
    #[error("{0} holds no certificate (PEM)")]
    NoCertificate(String),
}

/// Whom `wss://` connections trust: the system's root certificates, plus
/// the PEM certificates in `extra_ca` (a private CA) if given.
pub fn tls_config(extra_ca: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for error in &system.errors {
        tracing::debug!(%error, "a system root certificate could not be read");
    }
    let (added, _) = roots.add_parsable_certificates(system.certs);
    tracing::debug!(added, "system root certificates");
    if let Some(path) = extra_ca {
        let ca = |reason: String| TlsError::Ca { path: path.display().to_string(), reason };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| ca(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ca(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate(path.display().to_string()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| ca(e.to_string()))?;
        }
    }
    Ok(trusting(roots))
}

/// A client configuration trusting `roots`.
fn trusting(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // ok: ring supports rustls's default protocol versions (nothing from
    // outside goes into this).
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions");
    Arc::new(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Trusting the system's root certificates only.
pub fn system_tls() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    trusting(roots)
}

/// Starts the client for a server URL (`ws(s)://host:port/ws`, or an
/// `http(s)://host:port` base); `wss://` trusts `tls`.
pub fn spawn(url: &str, tls: Arc<rustls::ClientConfig>) -> (Handle, mpsc::UnboundedReceiver<Event>) {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (events, event_rx) = mpsc::unbounded_channel();
    tokio::spawn(route(websocket_url(url), tls, command_rx, events));
    (Handle { commands }, event_rx)
}

/// One connection of the pool: where its commands go, and its rooms.
struct Connection {
    commands: mpsc::UnboundedSender<Command>,
    rooms: std::collections::HashSet<String>,
}

impl Connection {
    fn open(url: &str, tls: &Arc<rustls::ClientConfig>, events: &mpsc::UnboundedSender<Event>) -> Connection {
        let (commands, command_rx) = mpsc::unbounded_channel();
        tokio::spawn(run(url.to_owned(), Arc::clone(tls), command_rx, events.clone()));
        Connection { commands, rooms: std::collections::HashSet::new() }
    }
}

/// Places every room on a connection with room for it (opening another
/// when all are full) and sends each command where its room is.
async fn route(
    url: String,
    tls: Arc<rustls::ClientConfig>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut pool = vec![Connection::open(&url, &tls, &events)];
    while let Some(command) = commands.recv().await {
        let room = match &command {
            Command::Join { room } | Command::Leave { room } | Command::Signal { room, .. } => room.clone(),
            Command::RefreshIce => {
                if let Some(connection) = pool.iter().find(|c| !c.rooms.is_empty()) {
                    let _ = connection.commands.send(command);
                }
                continue;
            }
        };
        let holding = pool.iter().position(|c| c.rooms.contains(&room));
        let index = match (&command, holding) {
            (_, Some(index)) => index,
            (Command::Join { .. }, None) => {
                match pool.iter().position(|c| c.rooms.len() < ROOMS_PER_CONNECTION) {
                    Some(index) => index,
                    None => {
                        pool.push(Connection::open(&url, &tls, &events));
                        pool.len() - 1
                    }
                }
            }
            // Not in that room: nothing to leave, nobody to signal.
            (_, None) => continue,
        };
        let connection = &mut pool[index];
        match &command {
            Command::Join { .. } => {
                connection.rooms.insert(room);
            }
            Command::Leave { .. } => {
                connection.rooms.remove(&room);
            }
            Command::Signal { .. } | Command::RefreshIce => {}
        }
        let _ = connection.commands.send(command);
    }
}

/// Accepts `ws(s)://…/ws` as is and turns `http(s)://host[:port][/]` into its `/ws` endpoint.
pub fn websocket_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        url.to_owned()
    };
    if url.ends_with("/ws") { url } else { format!("{url}/ws") }
}

fn fresh_peer_id() -> String {
    let bytes = crate::random::bytes16();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn run(
    url: String,
    tls: Arc<rustls::ClientConfig>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut rooms: Vec<String> = Vec::new();
    let mut backoff = Duration::from_millis(250);
    loop {
        let connector = Some(tokio_tungstenite::Connector::Rustls(Arc::clone(&tls)));
        let reason =
            match tokio_tungstenite::connect_async_tls_with_config(&url, None, false, connector).await {
                Ok((socket, _)) => {
                    backoff = Duration::from_millis(250);
                    let _ = events.send(Event::Connected);
                    session(socket, &mut rooms, &mut commands, &events).await
                }
                Err(error) => format!("cannot reach the signaling server at {url}: {error}"),
            };
        if events.is_closed() {
            return;
        }
        let _ = events.send(Event::Disconnected { reason, retry_in: backoff, rooms: rooms.clone() });
        // Keep taking commands while waiting, so rooms joined meanwhile are remembered.
        let deadline = tokio::time::sleep(backoff);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => break,
                command = commands.recv() => match command {
                    Some(Command::Join { room }) => if !rooms.contains(&room) { rooms.push(room) },
                    Some(Command::Leave { room }) => rooms.retain(|r| *r != room),
                    Some(Command::Signal { .. } | Command::RefreshIce) => {}
                    None => return,
                },
            }
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One connection: joins every room, relays until the connection drops.
async fn session(
    socket: Socket,
    rooms: &mut Vec<String>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    events: &mpsc::UnboundedSender<Event>,
) -> String {
    let (mut sink, mut stream) = socket.split();
    let mut my_ids: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let join = |room: &str, ids: &mut std::collections::HashMap<String, String>| {
        let me = fresh_peer_id();
        ids.insert(room.to_owned(), me.clone());
        encode(&ClientFrame::Join { room: room.to_owned(), peer: me })
    };
    for room in rooms.iter() {
        let frame = join(room, &mut my_ids);
        if let Err(error) = sink.send(Message::Text(frame.into())).await {
            return error.to_string();
        }
    }
    let mut ping = tokio::time::interval(Duration::from_secs(20));
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if let Err(error) = sink.send(Message::Text(encode(&ClientFrame::Ping).into())).await {
                    return error.to_string();
                }
            }
            command = commands.recv() => {
                let frame = match command {
                    None => return "closed".into(),
                    Some(Command::Join { room }) => {
                        if rooms.contains(&room) { continue; }
                        rooms.push(room.clone());
                        join(&room, &mut my_ids)
                    }
                    Some(Command::Leave { room }) => {
                        rooms.retain(|r| *r != room);
                        my_ids.remove(&room);
                        encode(&ClientFrame::Leave { room })
                    }
                    Some(Command::Signal { room, to, data }) => {
                        encode(&ClientFrame::Signal { room, to, data: STANDARD.encode(data) })
                    }
                    Some(Command::RefreshIce) => encode(&ClientFrame::Ice),
                };
                if let Err(error) = sink.send(Message::Text(frame.into())).await {
                    return error.to_string();
                }
            }
            incoming = stream.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None => return "the server closed the connection".into(),
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => return error.to_string(),
                };
                let Ok(frame) = serde_json::from_str::<ServerFrame>(text.as_str()) else {
                    tracing::warn!("ignoring a frame from the signaling server that is not a signaling frame");
                    continue;
                };
                let fatal = matches!(&frame, ServerFrame::Error { fatal: true, .. });
                if let Some(event) = parse(frame, &my_ids) {
                    let reason = match &event {
                        Event::Refused { message, .. } => message.clone(),
                        _ => String::new(),
                    };
                    if events.send(event).is_err() {
                        return "closed".into();
                    }
                    if fatal {
                        return format!("the server closed the connection: {reason}");
                    }
                }
            }
        }
    }
}

fn encode(frame: &ClientFrame) -> String {
    // Serialising these plain enums cannot fail.
    serde_json::to_string(frame).unwrap_or_default()
}

/// Turns a server frame into an event; a notice for a room we are not in is dropped.
fn parse(frame: ServerFrame, my_ids: &std::collections::HashMap<String, String>) -> Option<Event> {
    match frame {
        ServerFrame::Joined { room, peers, mut ice_servers } => {
            ice_servers.truncate(signal_wire::MAX_ICE_SERVERS);
            Some(Event::Joined { me: my_ids.get(&room)?.clone(), peers, room, ice_servers })
        }
        ServerFrame::PeerJoined { room, peer } => Some(Event::PeerJoined { room, peer }),
        ServerFrame::PeerLeft { room, peer } => Some(Event::PeerLeft { room, peer }),
        ServerFrame::Signal { room, from, data } => {
            Some(Event::Signal { room, from, data: STANDARD.decode(data).ok()? })
        }
        ServerFrame::Ice { mut ice_servers } => {
            ice_servers.truncate(signal_wire::MAX_ICE_SERVERS);
            Some(Event::Ice { ice_servers })
        }
        ServerFrame::Error { code, message, .. } => Some(Event::Refused { code, message }),
        ServerFrame::Pong => None,
    }
}
