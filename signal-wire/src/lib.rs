//! The signaling wire format, shared by the server, the native peer and the
//! browser: JSON text frames. The server understands only room ids, peer
//! ids and the frame types below; `data` is an opaque sealed envelope
//! (base64) it relays without reading.
//!
//! The frames grow only by optional fields that an older peer ignores (the
//! server's frames are read leniently) and that default when an older
//! server leaves them out: `joined` carrying [`IceServer`]s is such a field.

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
    /// "Hand me fresh STUN/TURN servers" (credentials near their expiry).
    /// A server older than this answers with a `bad-request` error.
    Ice,
}

/// What the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerFrame {
    /// Joined: the peers already in the room, and the STUN/TURN servers to
    /// use for connections in it (TURN with credentials made for this join;
    /// none from a server that has none or predates them).
    Joined {
        room: String,
        peers: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
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
    /// The answer to `ice`: fresh STUN/TURN servers (as in `joined`).
    Ice {
        #[serde(default)]
        ice_servers: Vec<IceServer>,
    },
    /// A refused request; the connection stays open unless `fatal`.
    Error {
        code: ErrorCode,
        message: String,
        fatal: bool,
    },
}

/// A STUN or TURN server, as WebRTC's `RTCIceServer` has it: TURN servers
/// come with the username and credential to use (time-limited ones, in the
/// TURN REST scheme, from the signaling server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Most ICE servers a client takes from one `joined` frame.
pub const MAX_ICE_SERVERS: usize = 8;

/// Longest STUN/TURN URL.
pub const MAX_ICE_URL_BYTES: usize = 512;
const ICE_SCHEMES: [&str; 4] = ["stun:", "stuns:", "turn:", "turns:"];

/// True for a STUN or TURN URL a WebRTC stack takes (RFC 7064, RFC 7065):
/// `stun(s):host[:port]` or `turn(s):host[:port][?transport=udp|tcp]`, at
/// most [`MAX_ICE_URL_BYTES`] (a stack refuses to build any connection with
/// a malformed one, so one must never reach it).
pub fn is_ice_url(url: &str) -> bool {
    if url.len() > MAX_ICE_URL_BYTES {
        return false;
    }
    let Some((scheme, rest)) = url.split_once(':') else { return false };
    if !ICE_SCHEMES.iter().any(|known| known.trim_end_matches(':') == scheme) {
        return false;
    }
    let (address, query) = match rest.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (rest, None),
    };
    if let Some(query) = query
        && (scheme.starts_with("stun") || !matches!(query, "transport=udp" | "transport=tcp"))
    {
        return false;
    }
    let (host, port) = match address.strip_prefix('[') {
        Some(bracketed) => {
            let Some((ip, after)) = bracketed.split_once(']') else { return false };
            if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
                return false;
            }
            match after {
                "" => (ip, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (ip, Some(port)),
                    None => return false,
                },
            }
        }
        None => match address.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        },
    };
    let host_ok = !host.is_empty()
        && (address.starts_with('[')
            || host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|port| port > 0));
    host_ok && port_ok
}

impl IceServer {
    /// When this server's credential expires (Unix seconds), for a TURN
    /// REST username (`expiry:id`).
    pub fn expiry(&self) -> Option<u64> {
        self.username.as_deref()?.split_once(':')?.0.parse().ok()
    }

    /// When to ask for fresh credentials, at `now` (Unix seconds): halfway
    /// to the earliest expiry among `servers`, if any expires.
    pub fn refresh_at(servers: &[IceServer], now: u64) -> Option<u64> {
        let expiry = servers.iter().filter_map(IceServer::expiry).min()?;
        Some(now + expiry.saturating_sub(now) / 2)
    }

    /// Whether a client may use this server as it is: valid URLs, at most
    /// eight, and a username and credential on TURN (browsers throw on a
    /// TURN URL without them).
    pub fn is_usable(&self) -> bool {
        let text_ok = |text: &Option<String>| {
            text.as_ref().is_none_or(|t| t.len() <= 512 && !t.chars().any(char::is_control))
        };
        let turn = self.urls.iter().any(|url| url.starts_with("turn"));
        !self.urls.is_empty()
            && self.urls.len() <= MAX_ICE_SERVERS
            && self.urls.iter().all(|url| is_ice_url(url))
            && text_ok(&self.username)
            && text_ok(&self.credential)
            && (!turn || (self.username.is_some() && self.credential.is_some()))
    }
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
    fn joined_carries_ice_servers_only_when_there_are_some() {
        let bare = ServerFrame::Joined { room: "r".into(), peers: vec![], ice_servers: vec![] };
        assert_eq!(bare.to_json(), r#"{"type":"joined","room":"r","peers":[]}"#);
        // What an older server sends still reads, with no servers.
        let old: ServerFrame = serde_json::from_str(r#"{"type":"joined","room":"r","peers":["a"]}"#)
            .unwrap_or(ServerFrame::Pong);
        assert!(matches!(old, ServerFrame::Joined { ice_servers, .. } if ice_servers.is_empty()));
        let turn = IceServer {
            urls: vec!["turn:relay.example.org:3478?transport=udp".into()],
            username: Some("1700000000:ab12".into()),
            credential: Some("c2VjcmV0".into()),
        };
        let with = ServerFrame::Joined { room: "r".into(), peers: vec![], ice_servers: vec![turn.clone()] };
        let text = with.to_json();
        assert!(text.contains(r#""ice_servers":[{"urls":["turn:relay.example.org:3478?transport=udp"],"username":"1700000000:ab12","credential":"c2VjcmV0"}]"#), "{text}");
        assert_eq!(serde_json::from_str::<ServerFrame>(&text).ok(), Some(with));
        // An older client reading the new frame: extra fields are ignored.
        #[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "kebab-case")]
        enum OldServerFrame {
            Joined { peers: Vec<String> },
        }
        let old: Result<OldServerFrame, _> = serde_json::from_str(&text);
        assert!(matches!(old, Ok(OldServerFrame::Joined { peers }) if peers.is_empty()));
        assert!(turn.is_usable());
        assert!(!IceServer { username: None, ..turn.clone() }.is_usable(), "TURN needs credentials");
        assert!(
            IceServer { urls: vec!["stun:stun.example.org".into()], username: None, credential: None }
                .is_usable()
        );
        assert!(!IceServer { urls: vec!["http://x".into()], ..turn.clone() }.is_usable());
        assert!(!IceServer { urls: vec![], ..turn }.is_usable());
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
