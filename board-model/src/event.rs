//! Change events for a view: what changed on the board, for local and remote
//! changes alike, so a UI updates exactly what changed instead of re-reading
//! the whole board.

use std::collections::{BTreeMap, HashSet};

use loro::event::{Diff, DiffEvent};
use loro::{ContainerID, ContainerType, EventTriggerKind, Index, TextDelta};

use crate::board::{CARDS, EDGES, META, ORDER};
use crate::card::CardId;
use crate::edge::EdgeId;

/// Where a batch of changes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// This replica's own operation, undo or redo.
    Local,
    /// Updates imported from a peer or a file.
    Remote,
}

/// Which fields of a card changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    pub position: bool,
    pub size: bool,
    pub color: bool,
    /// Anything about what the card shows other than note text (url, title, image).
    pub content: bool,
}

impl Fields {
    fn mark(&mut self, key: &str) {
        match key {
            "x" | "y" => self.position = true,
            "w" | "h" => self.size = true,
            "color" => self.color = true,
            _ => self.content = true,
        }
    }

    fn merge(&mut self, other: Fields) {
        self.position |= other.position;
        self.size |= other.size;
        self.color |= other.color;
        self.content |= other.content;
    }
}

/// One piece of a note-text change, in Unicode scalar values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextEdit {
    Retain(usize),
    Insert(String),
    Delete(usize),
}

/// Something that changed on a board.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A card appeared (created, received from a peer, or restored by undo).
    CardAdded(CardId),
    /// Some fields of an existing card changed.
    CardChanged { id: CardId, fields: Fields },
    /// A note's text changed; `edits` apply to the text as it was before.
    TextChanged { id: CardId, edits: Vec<TextEdit> },
    /// A card was deleted.
    CardRemoved(CardId),
    /// The stacking order changed.
    OrderChanged,
    /// Title or background changed.
    MetaChanged,
    /// An edge appeared (drawn, received, or restored by undo). It shows
    /// only while both of its cards exist.
    EdgeAdded(EdgeId),
    /// An edge's sides, ends, colour or label changed.
    EdgeChanged(EdgeId),
    /// An edge was deleted.
    EdgeRemoved(EdgeId),
}

impl Event {
    /// Whether the event can change which card is where in the stack.
    pub fn changes_stack(&self) -> bool {
        matches!(self, Event::CardAdded(_) | Event::CardRemoved(_) | Event::OrderChanged)
    }
}

/// A batch of events from one commit or import.
#[derive(Clone, Debug, PartialEq)]
pub struct Changes {
    pub source: Source,
    pub events: Vec<Event>,
}

/// The ids of the board's root containers, made once per board.
pub(crate) struct Roots {
    cards: ContainerID,
    order: ContainerID,
    meta: ContainerID,
    edges: ContainerID,
}

impl Roots {
    pub(crate) fn new() -> Roots {
        Roots {
            cards: ContainerID::new_root(CARDS, ContainerType::Map),
            order: ContainerID::new_root(ORDER, ContainerType::MovableList),
            meta: ContainerID::new_root(META, ContainerType::Map),
            edges: ContainerID::new_root(EDGES, ContainerType::Map),
        }
    }
}

/// Translates one Loro diff event into the board's typed events. Containers
/// that do not fit the board's schema (written by a confused or hostile peer)
/// are ignored here; the read view skips them too.
pub(crate) fn translate(event: &DiffEvent<'_>, roots: &Roots) -> Changes {
    let source = match event.triggered_by {
        EventTriggerKind::Import => Source::Remote,
        EventTriggerKind::Local | EventTriggerKind::Checkout => Source::Local,
    };
    let (cards_root, order_root, meta_root) = (&roots.cards, &roots.order, &roots.meta);

    let mut added: Vec<CardId> = Vec::new();
    let mut removed: Vec<CardId> = Vec::new();
    let mut changed: BTreeMap<CardId, Fields> = BTreeMap::new();
    let mut texts: Vec<Event> = Vec::new();
    let mut order = false;
    let mut meta = false;
    let mut edges_added: Vec<EdgeId> = Vec::new();
    let mut edges_removed: Vec<EdgeId> = Vec::new();
    let mut edges_changed: Vec<EdgeId> = Vec::new();

    for diff in &event.events {
        let target = diff.target;
        if target == cards_root {
            if let Diff::Map(map) = &diff.diff {
                for (key, value) in &map.updated {
                    let Ok(id) = key.parse::<CardId>() else { continue };
                    if value.is_some() {
                        added.push(id);
                    } else {
                        removed.push(id);
                    }
                }
            }
        } else if target == order_root {
            order = true;
        } else if target == meta_root {
            meta = true;
        } else if *target == roots.edges {
            if let Diff::Map(map) = &diff.diff {
                for (key, value) in &map.updated {
                    let Ok(id) = key.parse::<EdgeId>() else { continue };
                    if value.is_some() {
                        edges_added.push(id);
                    } else {
                        edges_removed.push(id);
                    }
                }
            }
        } else if let Some(id) = key_under(diff.path, &roots.edges).and_then(|key| key.parse::<EdgeId>().ok())
        {
            edges_changed.push(id);
        } else if let Some(id) = card_of(diff.path, cards_root) {
            match &diff.diff {
                Diff::Map(map) => {
                    let fields = changed.entry(id).or_default();
                    for key in map.updated.keys() {
                        fields.mark(key);
                    }
                }
                Diff::Text(delta) => texts.push(Event::TextChanged { id, edits: text_edits(delta) }),
                _ => changed.entry(id).or_default().merge(Fields { content: true, ..Fields::default() }),
            }
        }
    }

    let fresh: HashSet<CardId> = added.iter().chain(&removed).copied().collect();
    let mut events = Vec::new();
    for id in &removed {
        events.push(Event::CardRemoved(*id));
    }
    for id in &added {
        events.push(Event::CardAdded(*id));
    }
    for (id, fields) in changed {
        // A card added in this batch is reported once, as added.
        if !fresh.contains(&id) {
            events.push(Event::CardChanged { id, fields });
        }
    }
    events.extend(texts.into_iter().filter(|event| match event {
        Event::TextChanged { id, .. } => !fresh.contains(id),
        _ => true,
    }));
    if order {
        events.push(Event::OrderChanged);
    }
    if meta {
        events.push(Event::MetaChanged);
    }
    events.extend(edges_removed.iter().map(|id| Event::EdgeRemoved(*id)));
    events.extend(edges_added.iter().map(|id| Event::EdgeAdded(*id)));
    let fresh: HashSet<EdgeId> = edges_added.iter().chain(&edges_removed).copied().collect();
    let mut reported = HashSet::new();
    for id in edges_changed {
        if !fresh.contains(&id) && reported.insert(id) {
            events.push(Event::EdgeChanged(id));
        }
    }
    Changes { source, events }
}

/// Keeps the map of live card handles current: cards added or restored
/// appear, deleted cards disappear.
pub(crate) fn track_cards(
    event: &DiffEvent<'_>,
    roots: &Roots,
    handles: &mut std::collections::HashMap<CardId, loro::LoroMap>,
) {
    for diff in &event.events {
        if *diff.target != roots.cards {
            continue;
        }
        if let Diff::Map(map) = &diff.diff {
            for (key, value) in &map.updated {
                let Ok(id) = key.parse::<CardId>() else { continue };
                match value {
                    Some(loro::ValueOrContainer::Container(loro::Container::Map(card))) => {
                        handles.insert(id, card.clone());
                    }
                    _ => {
                        handles.remove(&id);
                    }
                }
            }
        }
    }
}

/// The card a nested container belongs to: its path starts at the cards root
/// and the next step is the card's key.
fn card_of(path: &[(ContainerID, Index)], cards_root: &ContainerID) -> Option<CardId> {
    key_under(path, cards_root)?.parse().ok()
}

/// The key under `root` a nested container's path goes through.
fn key_under<'a>(path: &'a [(ContainerID, Index)], root: &ContainerID) -> Option<&'a str> {
    let position = path.iter().position(|(container, _)| container == root)?;
    match path.get(position + 1) {
        Some((_, Index::Key(key))) => Some(&**key),
        _ => None,
    }
}

fn text_edits(delta: &[TextDelta]) -> Vec<TextEdit> {
    delta
        .iter()
        .map(|item| match item {
            TextDelta::Retain { retain, .. } => TextEdit::Retain(*retain),
            TextDelta::Insert { insert, .. } => TextEdit::Insert(insert.clone()),
            TextDelta::Delete { delete } => TextEdit::Delete(*delete),
        })
        .collect()
}
