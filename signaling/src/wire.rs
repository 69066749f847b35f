//! The signaling wire format: JSON text frames. The server understands only
//! room ids, peer ids and the frame types below; `data` is an opaque sealed
//! envelope (base64) it relays without reading.

use serde::{Deserialize, Serialize};

/// What a client may send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Join a room under a peer id of the client's choosing (random per connection).
    Join {
        room: String,
        peer: String,
    },
    Leave {
        room: String,
    },
    /// Relay `data` to one peer of the room (`to`) or to all others (`to: null`).
    Signal {
        room: String,
        to: Option<String>,
        data: String,
    },
    Ping,
}

/// What the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerFrame {
    /// Joined: the peers already in the room.
    Joined {
        room: String,
        peers: Vec<String>,
    },
    PeerJoined {
        room: String,
        peer: String,
    },
    PeerLeft {
        room: String,
        peer: String,
    },
    Signal {
        room: String,
        from: String,
        data: String,
    },
    Pong,
    /// A refused request; the connection stays open unless `fatal`.
    Error {
        code: ErrorCode,
        message: String,
        fatal: bool,
    },
}

/// Machine-readable error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    BadRequest,
    TooLarge,
    RateLimited,
    RoomFull,
    TooManyRooms,
    NotInRoom,
    UnknownPeer,
    DuplicatePeer,
    Idle,
    SlowConsumer,
}

impl ServerFrame {
    pub fn error(code: ErrorCode, message: impl Into<String>, fatal: bool) -> ServerFrame {
        ServerFrame::Error { code, message: message.into(), fatal }
    }

    pub fn to_json(&self) -> String {
        // Serialising these plain enums cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// True for a room id as clients derive it: 64 lowercase hex characters.
pub fn is_room_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// True for a peer id: 1–64 characters of `[A-Za-z0-9_-]`.
pub fn is_peer_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True for relayed data: base64 (standard or URL-safe), bounded by the frame limit.
pub fn is_envelope_data(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}
