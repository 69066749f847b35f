//! What goes into a room and what comes out: the driver's whole interface.

use board_key::envelope;
use board_model::blob::Hash;
use board_model::presence::{self, Identity, Path};
use board_model::session::{self, Remote};

use crate::link::{Kind, LinkId};

/// The DTLS certificate fingerprints of a connection, as `"sha-256 ab:cd:…"`
/// lowercased (what `board_key::proof` binds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprints {
    pub local: String,
    pub remote: String,
}

/// Something that happened outside the room.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// The signaling server let us into the room as `me`; `peers` were there.
    Joined { me: String, peers: Vec<String> },
    /// Another peer entered the room.
    PeerJoined { peer: String },
    /// A peer left the room (its connection, if any, may still be open).
    PeerLeft { peer: String },
    /// The connection to the signaling server dropped (open links stay).
    SignalingLost,
    /// A sealed envelope from a peer, through the signaling server.
    Signal { from: String, data: Vec<u8> },
    /// The driver has the complete SDP asked for by [`Output::Connect`] or
    /// [`Output::Answer`].
    Described { link: LinkId, sdp: String },
    /// The driver could not build the connection or its description.
    SetupFailed { link: LinkId, reason: String },
    /// The transport read how a remote link's packets travel (when its
    /// channel opened, and again if the selected candidate pair changed).
    PathFound { link: LinkId, path: Path },
    /// A link's channel opened (remote links carry their fingerprints).
    ChannelOpened { link: LinkId, fingerprints: Option<Fingerprints> },
    /// A local link the driver made itself is up (the node's end towards its
    /// app, the page's end towards its node).
    LocalLinkUp { link: LinkId, kind: Kind },
    /// A frame arrived on a link.
    Frame { link: LinkId, frame: Vec<u8> },
    /// A link's channel or connection closed or failed.
    ChannelClosed { link: LinkId, reason: String },
    /// The connection lost contact with the remote (it may recover).
    Disconnected { link: LinkId },
    /// Time passed (call every 100–200 ms).
    Tick,
}

/// Something the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send these sealed bytes to `to` through the signaling server (to
    /// everyone in the room when `None`).
    Signal { to: Option<String>, data: Vec<u8> },
    /// Build a connection to `peer` that opens the data channel, and answer
    /// with its offer ([`Input::Described`]).
    Connect { link: LinkId, peer: String },
    /// Build a connection for `peer`'s offer and answer with the answer SDP.
    Answer { link: LinkId, peer: String, sdp: String },
    /// Apply the remote's answer to the connection that offered.
    AcceptAnswer { link: LinkId, sdp: String },
    /// Close the link (its last frames went out). `failed` says it ended on
    /// an error rather than a goodbye: a driver whose only link this is may
    /// open a new one.
    Close { link: LinkId, failed: bool },
}

/// Why a link ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Cause {
    /// The remote broke the protocol, or could not prove the board key.
    Failed(session::Error),
    /// The remote said goodbye, with its reason.
    Goodbye(String),
    /// The channel or connection closed or failed.
    Lost(String),
    /// Not open within [`crate::CONNECT_TIMEOUT_MS`].
    TimedOut,
    /// This side closed it, with its reason.
    Closed(String),
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Failed(error) => write!(f, "{error}"),
            Cause::Goodbye(reason) => write!(f, "the peer said goodbye: {reason}"),
            Cause::Lost(reason) => write!(f, "{reason}"),
            Cause::TimedOut => f.write_str("the connection did not open in time"),
            Cause::Closed(reason) => write!(f, "{reason}"),
        }
    }
}

/// Something the application should know.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Changes from a link were applied to the board: save them before
    /// anything else (the board's own change events say what changed).
    BoardChanged { link: LinkId },
    /// A link's remote said hello.
    LinkOpened { link: LinkId, kind: Kind, remote: Remote },
    /// A link ended (every person only it brought is gone too).
    LinkClosed { link: LinkId, kind: Kind, cause: Cause },
    /// A person is on the board (seen directly or relayed), or changed name
    /// or colour.
    PersonJoined { peer: u64, identity: Identity },
    /// How this device's packets reach a person became known or changed
    /// (for a relayed person, as the node that sees them said).
    PersonPath { peer: u64, path: Path },
    /// A person is no longer on the board.
    PersonLeft { peer: u64 },
    /// A person's cursor, selection or live drags changed (an empty state
    /// when it expired).
    Presence { peer: u64, state: presence::State },
    /// Part of a wanted image arrived.
    BlobProgress { hash: Hash, received: u64, total: u64 },
    /// A wanted image arrived whole and matched its hash.
    BlobReady { hash: Hash },
    /// An image arrived damaged and was discarded (it is fetched again).
    BlobRejected { hash: Hash, reason: String },
    /// A peer sent an envelope that did not open.
    SignalRefused { from: String, error: envelope::Error },
    /// The mesh is full: no more connections (said once per room).
    MeshFull { limit: usize },
}
