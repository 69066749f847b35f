//! Typed errors of the board model: what a caller did wrong (bad numbers,
//! unknown ids, oversized fields) and what was wrong with bytes it loaded.

use crate::card::{CardId, Kind};
use crate::edge::EdgeId;

/// An operation on a board was refused. The board is unchanged when this is returned.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    #[error("no card with id {0} on this board")]
    UnknownCard(CardId),
    #[error("a card with id {0} already exists")]
    DuplicateCard(CardId),
    #[error("card {id} is a {found} card, not a {expected} card")]
    WrongKind { id: CardId, expected: Kind, found: Kind },
    #[error("{what} must be a finite number within limits, got {value}")]
    InvalidNumber { what: &'static str, value: f64 },
    #[error("{what} is longer than {max}")]
    TooLong { what: &'static str, max: usize },
    #[error("invalid {what}: {reason}")]
    InvalidField { what: &'static str, reason: &'static str },
    #[error("not a card id: {0:?}")]
    InvalidCardId(String),
    #[error("not a colour: {0:?} (use \"1\"-\"6\" or #rrggbb)")]
    InvalidColor(String),
    #[error("text range {start}+{delete} is outside the note's {len} characters")]
    TextRange { start: usize, delete: usize, len: usize },
    #[error("a board holds at most {max} cards")]
    TooManyCards { max: usize },
    #[error("no edge with id {0} on this board")]
    UnknownEdge(EdgeId),
    #[error("an edge with id {0} already exists")]
    DuplicateEdge(EdgeId),
    #[error("not an edge id: {0:?}")]
    InvalidEdgeId(String),
    #[error("a board holds at most {max} edges")]
    TooManyEdges { max: usize },
    #[error("the document refused the change: {0}")]
    Document(String),
    #[error("this board holds no such moment of its history")]
    UnknownVersion,
    #[error("the board could not be exported ({0}); nothing was written")]
    Export(String),
}

/// Bytes could not be loaded as a board (snapshot or update).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LoadError {
    #[error("empty input")]
    Empty,
    #[error("not a board document: {0}")]
    Corrupt(String),
    #[error("the update depends on changes this board has not seen yet")]
    MissingDependencies,
    #[error("a peer may send only updates, not a {0}")]
    NotUpdates(String),
    #[error("the update holds changes under this replica's own id that it never made")]
    Impersonation,
    #[error("more than {max} changes are waiting for earlier ones the peer never sent")]
    TooMuchPending { max: u64 },
}

impl From<loro::LoroError> for Error {
    fn from(error: loro::LoroError) -> Self {
        Error::Document(error.to_string())
    }
}
