//! The board's edges (root container `edges`: edge id → a mergeable map of
//! `from`, `to`, `from_side`, `to_side`, `from_end`, `to_end`, `color`,
//! `created_by`, `created_at` and a mergeable text `label`), and the group
//! membership read from card bounds. Operations validate everything first
//! and commit once, like the card operations.

use std::collections::HashSet;

use loro::{LoroMap, LoroText, LoroValue, ValueOrContainer};

use super::Board;
use super::read::{bounded, integer_field, string_field};
use crate::card::{self, CardId, Color, Kind, limits};
use crate::edge::{Edge, EdgeChange, EdgeId, End, Endpoint, NewEdge, Side};
use crate::error::Error;

impl Board {
    /// Every edge whose two cards exist, in id order (stable on every
    /// replica).
    pub fn edges(&self) -> Vec<Edge> {
        let mut edges: Vec<Edge> = self
            .edges
            .keys()
            .filter_map(|key| key.parse::<EdgeId>().ok())
            .filter_map(|id| self.edge(id))
            .take(limits::MAX_EDGES)
            .collect();
        edges.sort_by_key(|edge| edge.id);
        edges
    }

    /// One edge, if it exists, is well formed and both of its cards exist.
    pub fn edge(&self, id: EdgeId) -> Option<Edge> {
        let map = self.edge_map(id)?;
        let edge = read_edge(id, &map)?;
        (self.contains(edge.from.card) && self.contains(edge.to.card)).then_some(edge)
    }

    /// The edges attached to any of `cards`.
    pub fn edges_touching(&self, cards: &HashSet<CardId>) -> Vec<Edge> {
        self.edges()
            .into_iter()
            .filter(|edge| cards.contains(&edge.from.card) || cards.contains(&edge.to.card))
            .collect()
    }

    pub fn edge_count(&self) -> usize {
        self.edges().len()
    }

    /// Draws an edge between two existing cards.
    pub fn add_edge(&mut self, new: NewEdge) -> Result<(), Error> {
        self.add_edges(vec![new])
    }

    /// Draws several edges as one undo step (an import, a paste).
    pub fn add_edges(&mut self, edges: Vec<NewEdge>) -> Result<(), Error> {
        if self.edges.len() + edges.len() > limits::MAX_EDGES {
            return Err(Error::TooManyEdges { max: limits::MAX_EDGES });
        }
        let mut seen = HashSet::new();
        for new in &edges {
            if self.edge_map(new.id).is_some() || !seen.insert(new.id) {
                return Err(Error::DuplicateEdge(new.id));
            }
            for card in [new.from.card, new.to.card] {
                self.existing(card)?;
            }
            if new.from.card == new.to.card && new.from.side == new.to.side {
                return Err(Error::InvalidField {
                    what: "edge",
                    reason: "must not start and end at one place",
                });
            }
            card::check_chars("edge label", &new.label, limits::MAX_EDGE_LABEL_CHARS)?;
            card::check_chars("author", &new.created_by, limits::MAX_AUTHOR_CHARS)?;
        }
        if edges.is_empty() {
            return Ok(());
        }
        for new in edges {
            let map = self.edges.ensure_mergeable_map(&new.id.to_string())?;
            map.insert("from", new.from.card.to_string())?;
            map.insert("to", new.to.card.to_string())?;
            write_side(&map, "from_side", new.from.side)?;
            write_side(&map, "to_side", new.to.side)?;
            map.insert("from_end", new.from.end.as_str())?;
            map.insert("to_end", new.to.end.as_str())?;
            if let Some(color) = &new.color {
                map.insert("color", color.to_string())?;
            }
            map.insert("created_by", new.created_by.as_str())?;
            map.insert("created_at", new.created_at)?;
            let label = map.ensure_mergeable_text("label")?;
            if !new.label.is_empty() {
                label.insert(0, &new.label)?;
            }
        }
        self.commit();
        Ok(())
    }

    /// Changes an edge's sides, ends or colour (one undo step).
    pub fn change_edge(&mut self, id: EdgeId, change: &EdgeChange) -> Result<(), Error> {
        let map = self.existing_edge(id)?;
        if let Some(side) = change.from_side {
            write_side(&map, "from_side", side)?;
        }
        if let Some(side) = change.to_side {
            write_side(&map, "to_side", side)?;
        }
        if let Some(end) = change.from_end {
            map.insert("from_end", end.as_str())?;
        }
        if let Some(end) = change.to_end {
            map.insert("to_end", end.as_str())?;
        }
        if let Some(color) = &change.color {
            match color {
                Some(color) => map.insert("color", color.to_string())?,
                None => map.delete("color")?,
            }
        }
        self.commit();
        Ok(())
    }

    /// Sets or clears the colour of edges (one undo step).
    pub fn set_edge_color(&mut self, ids: &[EdgeId], color: Option<Color>) -> Result<(), Error> {
        let maps = ids.iter().map(|id| self.existing_edge(*id)).collect::<Result<Vec<_>, _>>()?;
        for map in &maps {
            match &color {
                Some(color) => map.insert("color", color.to_string())?,
                None => map.delete("color")?,
            }
        }
        if !maps.is_empty() {
            self.commit();
        }
        Ok(())
    }

    /// Replaces an edge's label, recorded as the minimal character edits.
    pub fn set_edge_label(&mut self, id: EdgeId, label: &str) -> Result<(), Error> {
        card::check_chars("edge label", label, limits::MAX_EDGE_LABEL_CHARS)?;
        let text = self.edge_label(id)?;
        text.update(label, loro::UpdateOptions::default())
            .map_err(|error| Error::Document(error.to_string()))?;
        self.commit();
        Ok(())
    }

    /// Deletes edges (one undo step).
    pub fn delete_edges(&mut self, ids: &[EdgeId]) -> Result<(), Error> {
        for id in ids {
            self.existing_edge(*id)?;
        }
        let unique: HashSet<EdgeId> = ids.iter().copied().collect();
        for id in &unique {
            self.edges.delete(&id.to_string())?;
        }
        if !unique.is_empty() {
            self.commit();
        }
        Ok(())
    }

    /// Deletes the edges attached to `cards`, without committing (part of
    /// deleting the cards).
    pub(super) fn delete_edges_of(&mut self, cards: &HashSet<CardId>) -> Result<(), Error> {
        let doomed: Vec<String> = self
            .edges
            .keys()
            .filter(|key| {
                let Ok(id) = key.parse::<EdgeId>() else { return false };
                self.edge_map(id).is_some_and(|map| {
                    [string_field(&map, "from"), string_field(&map, "to")]
                        .into_iter()
                        .flatten()
                        .filter_map(|card| card.parse::<CardId>().ok())
                        .any(|card| cards.contains(&card))
                })
            })
            .map(|key| key.to_string())
            .collect();
        for key in doomed {
            self.edges.delete(&key)?;
        }
        Ok(())
    }

    /// The cards a group frames, as JSON Canvas defines membership: every
    /// other card whose bounds lie inside the group's (nested groups and
    /// their cards included).
    pub fn members_of(&self, group: CardId) -> Vec<CardId> {
        let Some(frame) = self.card(group).filter(|card| card.kind() == Kind::Group) else {
            return Vec::new();
        };
        let (left, top) = (frame.position.x, frame.position.y);
        let (right, bottom) = (left + frame.size.width, top + frame.size.height);
        self.cards()
            .into_iter()
            .filter(|card| card.id != group)
            .filter(|card| {
                card.position.x >= left
                    && card.position.y >= top
                    && card.position.x + card.size.width <= right
                    && card.position.y + card.size.height <= bottom
            })
            .map(|card| card.id)
            .collect()
    }

    /// Renames a group.
    pub fn set_group_label(&mut self, id: CardId, label: &str) -> Result<(), Error> {
        card::check_label("group label", label)?;
        let map = self.existing(id)?;
        let kind = super::read::kind_of(&map).ok_or(Error::UnknownCard(id))?;
        if kind != Kind::Group {
            return Err(Error::WrongKind { id, expected: Kind::Group, found: kind });
        }
        map.insert("label", label)?;
        self.commit();
        Ok(())
    }

    fn edge_map(&self, id: EdgeId) -> Option<LoroMap> {
        match self.edges.get(&id.to_string())? {
            ValueOrContainer::Container(loro::Container::Map(map)) => Some(map),
            _ => None,
        }
    }

    pub(super) fn existing_edge(&self, id: EdgeId) -> Result<LoroMap, Error> {
        self.edge_map(id).ok_or(Error::UnknownEdge(id))
    }

    fn edge_label(&self, id: EdgeId) -> Result<LoroText, Error> {
        let map = self.existing_edge(id)?;
        match map.get("label") {
            Some(ValueOrContainer::Container(loro::Container::Text(text))) => Ok(text),
            _ => Ok(map.ensure_mergeable_text("label")?),
        }
    }
}

fn write_side(map: &LoroMap, key: &str, side: Option<Side>) -> Result<(), Error> {
    match side {
        Some(side) => map.insert(key, side.as_str())?,
        None => map.delete(key)?,
    }
    Ok(())
}

/// Reads an edge leniently: unknown sides read as automatic, unknown ends
/// as the defaults; an edge without two card ids is skipped.
pub(super) fn read_edge(id: EdgeId, map: &LoroMap) -> Option<Edge> {
    let card = |key| string_field(map, key).and_then(|s| s.parse::<CardId>().ok());
    let side = |key| string_field(map, key).and_then(|s| Side::parse(&s));
    let end = |key, default| string_field(map, key).and_then(|s| End::parse(&s)).unwrap_or(default);
    let label = match map.get("label") {
        Some(ValueOrContainer::Container(loro::Container::Text(text))) => {
            bounded(text.to_string(), limits::MAX_EDGE_LABEL_CHARS)
        }
        Some(ValueOrContainer::Value(LoroValue::String(text))) => {
            bounded(text.to_string(), limits::MAX_EDGE_LABEL_CHARS)
        }
        _ => String::new(),
    };
    Some(Edge {
        id,
        from: Endpoint { card: card("from")?, side: side("from_side"), end: end("from_end", End::None) },
        to: Endpoint { card: card("to")?, side: side("to_side"), end: end("to_end", End::Arrow) },
        color: string_field(map, "color").and_then(|s| Color::parse(&s).ok()),
        label,
        created_by: super::read::bounded_field(map, "created_by", limits::MAX_AUTHOR_CHARS)
            .unwrap_or_default(),
        created_at: integer_field(map, "created_at").unwrap_or(0),
    })
}
