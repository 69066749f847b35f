//! Links: one per connection the room has or is making, each with its
//! protocol session once its channel is open.

use std::collections::{BTreeMap, BTreeSet};

use board_model::Session;
use board_model::presence::{self, Identity, Path};

/// Names one link of a room. The room numbers the links it makes itself
/// (connections to remote peers); a driver numbers its local links with
/// [`LinkId::local`], so both never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(u64);

const LOCAL_BIT: u64 = 1 << 63;

impl LinkId {
    /// A local link numbered by the driver (`n` is taken modulo 2^63).
    pub fn local(n: u64) -> LinkId {
        LinkId(n | LOCAL_BIT)
    }

    pub(crate) fn remote(n: u64) -> LinkId {
        LinkId(n & !LOCAL_BIT)
    }

    /// Whether the driver numbered this link (a local link).
    pub fn is_local(self) -> bool {
        self.0 & LOCAL_BIT != 0
    }

    /// The number inside, for logs and maps (unique within a room).
    pub fn value(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_local() {
            write!(f, "local link {}", self.0 & !LOCAL_BIT)
        } else {
            write!(f, "link {}", self.0)
        }
    }
}

/// What is at the other end of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Another device, met through the signaling server, over a data
    /// channel. It must prove it holds the board key for this connection.
    Remote,
    /// The app's own page on this device (the node's end of a local link):
    /// its presence is this device's presence, and it is shown who else is
    /// on the board (the page has no network of its own).
    App,
    /// The native node this page is embedded in (the page's end of a local
    /// link): it relays the presence of the peers it reaches.
    Node,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Remote => "remote peer",
            Kind::App => "app",
            Kind::Node => "embedded node",
        }
    }
}

/// Where a link is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for the driver's offer or answer SDP.
    Describing,
    /// Our SDP went out; waiting for the channel to open.
    Connecting,
    /// The channel is open (the session exists; its hello may be pending).
    Open,
    /// Saying goodbye: frames still go out until `until`, then it is closed.
    Closing { until: u64, failed: bool },
}

/// One link.
#[derive(Debug)]
pub(crate) struct Link {
    pub kind: Kind,
    /// The remote's signaling id (remote links).
    pub peer: Option<String>,
    /// Whether this side offered (remote links).
    pub offered: bool,
    pub phase: Phase,
    pub session: Option<Session>,
    /// Frames that arrived before the session existed.
    pub early: Vec<Vec<u8>>,
    pub started_ms: u64,
    /// When the remote's hello was accepted.
    pub opened_ms: Option<u64>,
    /// The remote's replica, once its hello was accepted.
    pub replica: Option<u64>,
    /// The transport lost contact (it may recover).
    pub disconnected: bool,
    /// How the link's packets travel, once the transport said (remote links).
    pub path: Option<Path>,
    /// App links (and a relay's remote links): the people last relayed to
    /// it, with what and when.
    pub relayed: BTreeMap<u64, Relayed>,
    /// How far it has been shown the room's changes of people.
    pub relay_progress: RelayProgress,
}

/// How far a link has been shown who else is here: every change of people
/// up to `through` (see `People::relay_to`), but for those `held` back by
/// the rate cap.
#[derive(Debug, Default)]
pub(crate) struct RelayProgress {
    pub through: u64,
    pub held: BTreeSet<u64>,
}

/// What an app link was last shown of a person, and when.
#[derive(Debug, PartialEq)]
pub(crate) struct Relayed {
    pub identity: Identity,
    pub state: presence::State,
    pub path: Option<Path>,
    pub at: u64,
}

impl Link {
    pub fn new(kind: Kind, peer: Option<String>, offered: bool, phase: Phase, now: u64) -> Link {
        Link {
            kind,
            peer,
            offered,
            phase,
            session: None,
            early: Vec::new(),
            started_ms: now,
            opened_ms: None,
            replica: None,
            disconnected: false,
            path: None,
            relayed: BTreeMap::new(),
            relay_progress: RelayProgress::default(),
        }
    }

    /// The session, when its hello was accepted and it is not closing.
    pub fn open_session(&self) -> Option<&Session> {
        self.session.as_ref().filter(|session| session.is_open() && self.phase == Phase::Open)
    }

    pub fn open_session_mut(&mut self) -> Option<&mut Session> {
        if self.phase != Phase::Open {
            return None;
        }
        self.session.as_mut().filter(|session| session.is_open())
    }

    pub fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing { .. })
    }
}
