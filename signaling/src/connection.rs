//! One client connection: reads frames, enforces the limits (frame size,
//! rate, rooms per connection, idleness), talks to the hub, and writes what
//! the hub queues for it. Generic over the socket's `Sink`/`Stream`, so tests
//! can drive it with plain channels.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, Utf8Bytes};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use crate::hub::{Hub, Outbox};
use crate::wire::{self, ClientFrame, ErrorCode, ServerFrame};

/// A token bucket: `rate` frames a second, bursts up to `burst`.
#[derive(Debug)]
struct RateLimit {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Instant,
}

impl RateLimit {
    fn new(rate: u32, burst: u32) -> RateLimit {
        RateLimit {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            rate: f64::from(rate),
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// After this many refused frames in a row-ish, the connection is closed.
const MAX_VIOLATIONS: u32 = 50;

enum Step {
    Continue,
    Close,
}

struct Connection {
    hub: Arc<Hub>,
    outbox: Outbox,
    memberships: HashMap<String, String>,
    rate: RateLimit,
    broadcasts: RateLimit,
    violations: u32,
}

/// Serves one client until it leaves, misbehaves past the limits, goes idle
/// or cannot keep up.
pub async fn serve<S, E>(hub: Arc<Hub>, socket: S)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin,
    E: std::fmt::Display,
{
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Arc<str>>(hub.limits.outbox_frames);
    let kill = Arc::new(Notify::new());
    let conn = hub.connect();
    let limits = hub.limits.clone();
    let mut connection = Connection {
        outbox: Outbox { conn, tx, kill: Arc::clone(&kill) },
        memberships: HashMap::new(),
        rate: RateLimit::new(limits.messages_per_second, limits.burst),
        broadcasts: RateLimit::new(limits.broadcasts_per_second, limits.broadcast_burst),
        violations: 0,
        hub: Arc::clone(&hub),
    };
    let idle = tokio::time::sleep(limits.idle_timeout);
    tokio::pin!(idle);
    loop {
        tokio::select! {
            incoming = stream.next() => {
                let Some(Ok(message)) = incoming else { break };
                idle.as_mut().reset(Instant::now() + limits.idle_timeout);
                let (replies, step) = connection.handle(message).await;
                let mut failed = false;
                for reply in replies {
                    if sink.send(Message::Text(Utf8Bytes::from(reply.to_json()))).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed || matches!(step, Step::Close) {
                    break;
                }
            }
            Some(frame) = rx.recv() => {
                if sink.send(Message::Text(Utf8Bytes::from(frame.as_ref()))).await.is_err() {
                    break;
                }
            }
            () = kill.notified() => {
                let frame = ServerFrame::error(ErrorCode::SlowConsumer, "too many frames waiting for this connection", true);
                let _ = sink.send(Message::Text(Utf8Bytes::from(frame.to_json()))).await;
                break;
            }
            () = &mut idle => {
                let frame = ServerFrame::error(ErrorCode::Idle, "no message within the idle timeout (send ping)", true);
                let _ = sink.send(Message::Text(Utf8Bytes::from(frame.to_json()))).await;
                break;
            }
        }
    }
    hub.disconnect(conn, &connection.memberships);
    let _ = sink.send(Message::Close(None)).await;
    let _ = sink.close().await;
    tracing::debug!(conn, "connection closed");
}

impl Connection {
    async fn handle(&mut self, message: Message) -> (Vec<ServerFrame>, Step) {
        if matches!(message, Message::Close(_)) {
            return (Vec::new(), Step::Close);
        }
        // Every frame counts against the rate, WebSocket pings too.
        if !self.rate.allow() {
            return self.refuse(ErrorCode::RateLimited, "too many messages; slow down");
        }
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) | Message::Ping(_) | Message::Pong(_) => return (Vec::new(), Step::Continue),
            Message::Binary(_) => {
                return self.refuse(ErrorCode::BadRequest, "binary frames are not accepted");
            }
        };
        if text.len() > self.hub.limits.max_frame_bytes {
            let max = self.hub.limits.max_frame_bytes;
            return self.refuse(ErrorCode::TooLarge, format!("frames are limited to {max} bytes"));
        }
        let frame: ClientFrame = match serde_json::from_str(text.as_str()) {
            Ok(frame) => frame,
            Err(error) => {
                return self.refuse(ErrorCode::BadRequest, format!("not a signaling frame: {error}"));
            }
        };
        match frame {
            ClientFrame::Ping => (vec![ServerFrame::Pong], Step::Continue),
            ClientFrame::Ice if self.memberships.is_empty() => {
                self.refuse(ErrorCode::NotInRoom, "join a room before asking for ICE servers")
            }
            ClientFrame::Ice => (vec![ServerFrame::Ice { ice_servers: self.ice_servers() }], Step::Continue),
            ClientFrame::Join { room, peer } => self.join(room, peer).await,
            ClientFrame::Leave { room } => {
                if let Some(peer) = self.memberships.remove(&room) {
                    self.hub.leave(self.outbox.conn, &room, &peer);
                }
                (Vec::new(), Step::Continue)
            }
            ClientFrame::Signal { room, to, data } => {
                let Some(from) = self.memberships.get(&room) else {
                    return self.refuse(ErrorCode::NotInRoom, "join the room before signalling in it");
                };
                if !wire::is_envelope_data(&data) || to.as_deref().is_some_and(|to| !wire::is_peer_id(to)) {
                    return self
                        .refuse(ErrorCode::BadRequest, "signal data must be base64 and `to` a peer id");
                }
                if to.is_none() && !self.broadcasts.allow() {
                    return self
                        .refuse(ErrorCode::RateLimited, "too many signals to the whole room; slow down");
                }
                match self.hub.relay(&room, from, to.as_deref(), data) {
                    Ok(()) => (Vec::new(), Step::Continue),
                    Err(code) => self.refuse(code, "that peer is not in the room"),
                }
            }
        }
    }

    async fn join(&mut self, room: String, peer: String) -> (Vec<ServerFrame>, Step) {
        if !wire::is_room_id(&room) || !wire::is_peer_id(&peer) {
            return self
                .refuse(ErrorCode::BadRequest, "a room is 64 hex characters, a peer 1-64 of [A-Za-z0-9_-]");
        }
        if self.memberships.contains_key(&room) {
            return self.refuse(ErrorCode::DuplicatePeer, "already in this room");
        }
        if self.memberships.len() >= self.hub.limits.rooms_per_connection {
            let max = self.hub.limits.rooms_per_connection;
            return self
                .refuse(ErrorCode::TooManyRooms, format!("a connection may be in at most {max} rooms"));
        }
        match self.hub.join(&room, &peer, self.outbox.clone()).await {
            Ok(peers) => {
                self.memberships.insert(room.clone(), peer);
                let ice_servers = self.ice_servers();
                (vec![ServerFrame::Joined { room, peers, ice_servers }], Step::Continue)
            }
            Err(ErrorCode::RoomFull) => {
                let max = self.hub.limits.peers_per_room;
                self.refuse(ErrorCode::RoomFull, format!("this board already has {max} peers connected"))
            }
            Err(code) => self.refuse(code, "that peer id is taken in this room"),
        }
    }

    /// Fresh TURN credentials for this join (a random id in each username).
    fn ice_servers(&self) -> Vec<wire::IceServer> {
        let ice = &self.hub.ice;
        if ice.is_empty() {
            return Vec::new();
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let mut id = [0u8; 8];
        if getrandom::fill(&mut id).is_err() {
            // No randomness: the connection number still tells joins apart.
            id[..8].copy_from_slice(&self.outbox.conn.to_le_bytes());
        }
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        ice.servers(now, &id)
    }

    fn refuse(&mut self, code: ErrorCode, message: impl Into<String>) -> (Vec<ServerFrame>, Step) {
        self.violations += 1;
        let fatal = self.violations > MAX_VIOLATIONS;
        let mut message = message.into();
        if fatal {
            message.push_str(" (too many refused frames: closing)");
        }
        (vec![ServerFrame::error(code, message, fatal)], if fatal { Step::Close } else { Step::Continue })
    }
}
