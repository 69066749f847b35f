//! Corkboard's pure core: the board document (on Loro) and the sans-IO peer
//! protocol. No IO, no clock, no randomness: ids, times and bytes are passed
//! in, bytes come out. Builds for the host and for `wasm32-unknown-unknown`.
//!
//! - [`board`]: the [`Board`], its validated operations, undo, save/load.
//! - [`card`]: what a card is and the limits on its fields.
//! - [`edge`]: connections between cards.
//! - [`event`]: typed change events for views.
//! - [`protocol`]: the wire format between peers.
//! - [`session`]: the per-peer protocol state machine.
//! - [`blob`]: content-addressed image bytes and their verification.
//! - [`presence`]: cursors, selections and live drags (never saved).
//! - [`sample`]: boards made to a recipe, for benchmarks.

pub mod blob;
pub mod board;
pub mod card;
pub mod edge;
pub mod error;
pub mod event;
pub mod fuzzing;
pub mod presence;
pub mod protocol;
pub mod sample;
pub mod session;

pub use board::{
    Board, BoardId, Heads, History, HistoryChange, Imported, MAX_PENDING_OPS, Past, PastVersion, Reading,
    ReplicaId, SEGMENT_OPS, SESSION_GAP_SECS, SYNC_PART_OPS, SyncPart, Version, WorkSession,
};
pub use card::{Card, CardId, Color, Content, ImageRef, Kind, NewCard, Point, Size};
pub use edge::{Edge, EdgeChange, EdgeId, End, Endpoint, NewEdge, Side};
pub use error::{Error, LoadError};
pub use event::{Changes, Event, Fields, Source};
pub use session::Session;
