//! Edges: connections between two cards, as JSON Canvas models them — a
//! from-card and a to-card, the side of each card it attaches to (or
//! automatic), an end style at each end, an optional colour and label.
//! An edge whose card is gone is not part of the board: reading skips it,
//! so a card deleted while a peer drew an edge to it leaves no dangling
//! edge on any replica, and undoing the deletion brings both back.

use std::fmt;
use std::str::FromStr;

use crate::card::{CardId, Color, truncate_for_message};
use crate::error::Error;

/// An edge's identity: a UUID chosen by the peer that draws it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EdgeId(pub uuid::Uuid);

impl EdgeId {
    /// Builds an id from 16 random bytes supplied by the caller.
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        EdgeId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
}

impl fmt::Display for EdgeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for EdgeId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        uuid::Uuid::try_parse(s).map(EdgeId).map_err(|_| Error::InvalidEdgeId(truncate_for_message(s)))
    }
}

/// The side of a card an edge attaches to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Top,
    Right,
    Bottom,
    Left,
}

impl Side {
    pub const ALL: [Side; 4] = [Side::Top, Side::Right, Side::Bottom, Side::Left];

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Top => "top",
            Side::Right => "right",
            Side::Bottom => "bottom",
            Side::Left => "left",
        }
    }

    pub fn parse(s: &str) -> Option<Side> {
        Side::ALL.into_iter().find(|side| side.as_str() == s)
    }
}

/// How an end of an edge is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum End {
    None,
    Arrow,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::None => "none",
            End::Arrow => "arrow",
        }
    }

    pub fn parse(s: &str) -> Option<End> {
        match s {
            "none" => Some(End::None),
            "arrow" => Some(End::Arrow),
            _ => None,
        }
    }
}

/// One end of an edge: its card, the side (`None`: automatic, the side
/// facing the other card) and how the end is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub card: CardId,
    pub side: Option<Side>,
    pub end: End,
}

/// Everything needed to draw an edge. Ids and times come from the caller.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEdge {
    pub id: EdgeId,
    pub from: Endpoint,
    pub to: Endpoint,
    pub color: Option<Color>,
    pub label: String,
    pub created_by: String,
    /// Milliseconds since the Unix epoch, as the caller's clock says.
    pub created_at: i64,
}

impl NewEdge {
    /// An edge from one card to another as JSON Canvas draws it by default:
    /// automatic sides, no end at the start, an arrow at the end.
    pub fn between(id: EdgeId, from: CardId, to: CardId) -> NewEdge {
        NewEdge {
            id,
            from: Endpoint { card: from, side: None, end: End::None },
            to: Endpoint { card: to, side: None, end: End::Arrow },
            color: None,
            label: String::new(),
            created_by: String::new(),
            created_at: 0,
        }
    }
}

/// An edge as the board holds it now (both of its cards exist).
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub id: EdgeId,
    pub from: Endpoint,
    pub to: Endpoint,
    pub color: Option<Color>,
    pub label: String,
    pub created_by: String,
    pub created_at: i64,
}

impl Edge {
    /// Whether the edge attaches to `card` at either end.
    pub fn touches(&self, card: CardId) -> bool {
        self.from.card == card || self.to.card == card
    }
}

/// Which fields of an edge to change (`None` leaves a field as it is).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EdgeChange {
    pub from_side: Option<Option<Side>>,
    pub to_side: Option<Option<Side>>,
    pub from_end: Option<End>,
    pub to_end: Option<End>,
    pub color: Option<Option<Color>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_and_ends_print_as_json_canvas_names() {
        for side in Side::ALL {
            assert_eq!(Side::parse(side.as_str()), Some(side));
        }
        assert_eq!(Side::parse("middle"), None);
        assert_eq!(End::parse("arrow"), Some(End::Arrow));
        assert_eq!(End::parse("none"), Some(End::None));
        assert_eq!(End::parse("circle"), None);
    }

    #[test]
    fn a_new_edge_has_an_arrow_at_its_end_only() {
        let (a, b) = (CardId::from_random_bytes([1; 16]), CardId::from_random_bytes([2; 16]));
        let edge = NewEdge::between(EdgeId::from_random_bytes([3; 16]), a, b);
        assert_eq!((edge.from.end, edge.to.end), (End::None, End::Arrow));
        assert_eq!((edge.from.side, edge.to.side), (None, None));
    }
}
