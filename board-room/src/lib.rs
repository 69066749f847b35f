//! The policy of one board's room of peers, as a sans-IO state machine.
//!
//! A [`Room`] is everything a device decides about the other devices on a
//! board: who makes the offer (the smaller signaling id), how long a
//! connection attempt may take, when to try again while a peer is still
//! present (backoff), whom to hold links with (a full mesh in a small room;
//! past it a bounded set through always-on relays, see [`mesh`]), what a
//! connection must prove (the board key bound to both DTLS fingerprints),
//! which peer to ask for a missing image (in turn, leaving alone for a while
//! a peer that said it lacks it), whose presence to show and to relay, and
//! forgetting every trace of a peer that left or whose connection failed.
//! It runs one protocol [`board_model::Session`] per link.
//!
//! It does no IO, reads no clock and draws no random numbers of its own:
//! the driver feeds it [`Input`]s with the time, polls [`Output`]s (make an
//! offer, answer one, send a sealed signal, close a link) and [`Event`]s
//! (the board changed, someone joined, an image arrived), and pulls frames
//! with [`Room::poll_transmit`] while a link's channel has room. The native
//! node drives one room per served board over webrtc-rs; the web app drives
//! one over the browser's WebRTC, and the desktop page one whose only link
//! is its embedded node. None of them re-implements any of this.
//!
//! ```
//! use board_key::{BoardKey, link::ShareLink};
//! use board_model::{Board, BoardId, ReplicaId, blob::MemoryStore, presence::Identity};
//! use board_room::{Config, Input, Output, Room};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let link = ShareLink { board: uuid::Uuid::from_bytes([1; 16]), key: BoardKey([7; 32]) };
//! let identity = Identity { name: "Ann".into(), color: "#336699".into() };
//! let mut room = Room::new(Config::new(link, 1, identity, [0; 32]));
//! let mut board = Board::empty(ReplicaId(1))?;
//! let mut blobs = MemoryStore::new();
//! // The signaling server says we joined as "a" and "b" is already there:
//! // the smaller id offers, so the room asks for a connection to "b".
//! let joined = Input::Joined { me: "a".into(), peers: vec!["b".into()] };
//! room.handle(joined, &mut board, &mut blobs, 0);
//! assert!(matches!(room.poll_output(), Some(Output::Connect { peer, .. }) if peer == "b"));
//! # Ok(())
//! # }
//! ```

mod fetch;
mod io;
mod link;
pub mod mesh;
mod people;
mod retry;
mod room;

pub use board_model::presence::Path;
pub use io::{Cause, Event, Fingerprints, Input, Output};
pub use link::{Kind, LinkId};
pub use room::{Config, Room};

/// Most connections to remote peers at once for a device that is not a
/// relay (a full mesh of [`mesh::FULL_MESH_UP_TO`] fits; past it, the mesh
/// policy keeps far fewer).
pub const MAX_CONNECTIONS: usize = 20;
/// Most connections to remote peers at once for an always-on relay (it
/// serves a share of every device of a big room, see [`mesh`]).
pub const MAX_RELAY_CONNECTIONS: usize = 512;
/// Most people a room keeps track of (seen directly or relayed): a relay
/// cannot make a device remember more.
pub const MAX_PEOPLE: usize = 1_024;
/// A relay passes each person's presence to each link at most this often,
/// in milliseconds (latest wins; about 60 a second).
pub const RELAY_PRESENCE_INTERVAL_MS: u64 = 16;
/// How often the room looks again at every person it shows its links
/// (otherwise only at who changed), for the refreshes due every
/// [`board_model::presence::REFRESH_MS`].
pub const RELAY_FULL_PASS_MS: u64 = 1_000;
/// How often a relay says again that it is one (for peers that missed it).
pub const RELAY_ANNOUNCE_INTERVAL_MS: u64 = 20_000;
/// Past a full mesh, a link the mesh policy no longer wants is closed once
/// it has been unwanted this long (views of the room settle first).
pub const PRUNE_AFTER_MS: u64 = 3_000;
/// How long a connection may take from its first step to an accepted hello.
pub const CONNECT_TIMEOUT_MS: u64 = 20_000;
/// How long a closing link keeps sending (its goodbye) before it is closed.
pub const CLOSE_GRACE_MS: u64 = 200;
/// A link open this long has proven itself: its end does not count as a failure.
pub const STABLE_MS: u64 = 10_000;
/// How long a peer that said it lacks an image is not asked for it again.
pub const LACKING_BACKOFF_MS: u64 = 2_000;
/// Each person's presence is reported at most this often, in milliseconds
/// (125 a second: above a pointer's rate, so real motion passes whole).
pub const PRESENCE_INTERVAL_MS: u64 = 8;
/// Most bytes all of a board's sessions together may hold of messages still
/// arriving in fragments: one message of the largest size
/// ([`board_model::protocol::MAX_MESSAGE_SIZE`]) always fits, and a few
/// peers each filling a reassembly buffer cannot add up past it (the link
/// holding the most is cut off).
pub const REASSEMBLY_BUDGET: usize = 96 * 1024 * 1024;
/// Most frames kept from a link before its session exists (its hello and a
/// few more; a link sending more is dropped).
pub const EARLY_FRAMES: usize = 64;
