//! The signaling wire format, shared by the server, the native peer and the
//! browser: JSON text frames. The server understands only room ids, peer
//! ids and the frame types below; `data` is an opaque sealed envelope
//! (base64) it relays without reading.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_documented_json_shape() {
        let join = ClientFrame::Join { room: "a".repeat(64), peer: "p1".into() };
        let text = serde_json::to_string(&join).unwrap_or_default();
        assert_eq!(text, format!(r#"{{"type":"join","room":"{}","peer":"p1"}}"#, "a".repeat(64)));
        let parsed: ClientFrame = serde_json::from_str(&text).unwrap_or(ClientFrame::Ping);
        assert_eq!(parsed, join);
        let error = ServerFrame::error(ErrorCode::RoomFull, "full", false).to_json();
        assert_eq!(error, r#"{"type":"error","code":"room-full","message":"full","fatal":false}"#);
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"leave","room":"r","extra":1}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout"}"#).is_err());
    }

    #[test]
    fn ids_and_data_are_validated() {
        assert!(is_room_id(&"0f".repeat(32)));
        assert!(!is_room_id(&"0F".repeat(32)));
        assert!(
            is_peer_id("a-b_C9") && !is_peer_id("") && !is_peer_id("a b") && !is_peer_id(&"x".repeat(65))
        );
        assert!(is_envelope_data("aGVsbG8=") && !is_envelope_data("") && !is_envelope_data("<script>"));
    }
}
