//! A read canvas onto a board: cards and edges, with what Corkboard does
//! not use kept beside them for the way back.

use std::collections::HashMap;

use board_model::card::limits;
use board_model::{Board, CardId, Content, EdgeId, End, ImageRef, NewCard, NewEdge, Point, Size};
use serde_json::{Map, Value, json};

use crate::Error;
use crate::read::{Canvas, Node, NodeKind};

/// An image file beside the canvas, as the caller read and stored it.
pub type ImageFile = ImageRef;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub cards: usize,
    pub edges: usize,
    /// Nodes and edges left out: unusable in the file, refused by the
    /// board, or edges to nodes that are not there.
    pub skipped: usize,
    /// Image files the canvas names that the caller did not have (kept as
    /// file cards with their path).
    pub missing_images: Vec<String>,
}

/// Adds `canvas` to `board` (best on a new, empty board): one card per
/// node in the file's order (the stacking order), one edge per edge.
/// `images` holds the image files read beside the canvas, by path; ids
/// come from `random`, times and the author from the caller.
pub fn import(
    canvas: &Canvas,
    board: &mut Board,
    images: &HashMap<String, ImageFile>,
    mut random: impl FnMut() -> [u8; 16],
    author: &str,
    now: i64,
) -> Result<Imported, Error> {
    let mut report = Imported { skipped: canvas.skipped, ..Imported::default() };
    let mut cards: Vec<(NewCard, Map<String, Value>)> = Vec::with_capacity(canvas.nodes.len());
    for node in &canvas.nodes {
        let Some((content, mut kept)) = content_of(node, images, &mut report) else {
            report.skipped += 1;
            continue;
        };
        let coordinate = |v: f64| v.clamp(-limits::MAX_COORDINATE, limits::MAX_COORDINATE);
        let dimension = |v: f64| v.clamp(1.0, limits::MAX_DIMENSION);
        let size = match (node.width, node.height) {
            (Some(w), Some(h)) => Some(Size { width: dimension(w), height: dimension(h) }),
            _ => None,
        };
        kept.insert("id".into(), Value::String(node.id.clone()));
        kept.insert("keys".into(), json!(node.keys));
        kept.insert("written".into(), Value::Object(node.written.clone()));
        if !node.extra.is_empty() {
            kept.insert("extra".into(), Value::Object(node.extra.clone()));
        }
        let card = NewCard {
            id: CardId::from_random_bytes(random()),
            position: Point { x: coordinate(node.x), y: coordinate(node.y) },
            size,
            color: node.color.clone(),
            content,
            created_by: author.to_owned(),
            created_at: now,
        };
        cards.push((card, kept));
    }
    let tried = cards.len();
    let added = add_all(board, cards, Board::add_cards, Board::add_card);
    report.skipped += tried - added.len();
    let ids: HashMap<&str, CardId> =
        added.iter().filter_map(|(card, kept)| Some((kept.get("id")?.as_str()?, card.id))).collect();

    let mut edges: Vec<(NewEdge, Map<String, Value>)> = Vec::new();
    for edge in &canvas.edges {
        let (Some(from), Some(to)) = (ids.get(edge.from_node.as_str()), ids.get(edge.to_node.as_str()))
        else {
            report.skipped += 1;
            continue;
        };
        let mut new = NewEdge::between(EdgeId::from_random_bytes(random()), *from, *to);
        new.from.side = edge.from_side;
        new.to.side = edge.to_side;
        new.from.end = edge.from_end.unwrap_or(End::None);
        new.to.end = edge.to_end.unwrap_or(End::Arrow);
        new.color = edge.color.clone();
        new.label = truncate(&edge.label, limits::MAX_EDGE_LABEL_CHARS);
        new.created_by = author.to_owned();
        new.created_at = now;
        let mut kept = Map::new();
        kept.insert("id".into(), Value::String(edge.id.clone()));
        kept.insert("keys".into(), json!(edge.keys));
        kept.insert("written".into(), Value::Object(edge.written.clone()));
        if !edge.extra.is_empty() {
            kept.insert("extra".into(), Value::Object(edge.extra.clone()));
        }
        edges.push((new, kept));
    }
    let tried = edges.len();
    let drawn = add_all(board, edges, Board::add_edges, Board::add_edge);
    report.skipped += tried - drawn.len();

    // Where each card ended up (a card may not be smaller than its kind
    // allows): an export writes the file's own numbers back while the card
    // is still there.
    let mut kept_cards = Vec::with_capacity(added.len());
    for (card, mut kept) in added {
        if let Some(now) = board.card(card.id) {
            kept.insert(
                "imported".into(),
                json!([now.position.x, now.position.y, now.size.width, now.size.height]),
            );
        }
        kept_cards.push((card.id, Value::Object(kept).to_string()));
    }
    let kept_edges: Vec<(EdgeId, String)> =
        drawn.into_iter().map(|(edge, kept)| (edge.id, Value::Object(kept).to_string())).collect();
    report.cards = kept_cards.len();
    report.edges = kept_edges.len();
    let fits = |kept: &String| kept.len() <= board_model::board::MAX_KEPT_BYTES;
    let kept_cards: Vec<_> = kept_cards.into_iter().filter(|(_, kept)| fits(kept)).collect();
    let kept_edges: Vec<_> = kept_edges.into_iter().filter(|(_, kept)| fits(kept)).collect();
    board.set_kept_fields(&kept_cards, &kept_edges)?;
    Ok(report)
}

/// Adds everything in one step; if the board refuses the batch, one by one,
/// leaving out what it refuses. Returns what was added.
fn add_all<T: Clone>(
    board: &mut Board,
    items: Vec<(T, Map<String, Value>)>,
    batch: impl Fn(&mut Board, Vec<T>) -> Result<(), board_model::Error>,
    one: impl Fn(&mut Board, T) -> Result<(), board_model::Error>,
) -> Vec<(T, Map<String, Value>)> {
    if batch(board, items.iter().map(|(item, _)| item.clone()).collect()).is_ok() {
        return items;
    }
    items.into_iter().filter(|(item, _)| one(board, item.clone()).is_ok()).collect()
}

/// The card content of a node, and what to keep for it; `None` when the
/// node can be no card.
fn content_of(
    node: &Node,
    images: &HashMap<String, ImageFile>,
    report: &mut Imported,
) -> Option<(Content, Map<String, Value>)> {
    let mut kept = Map::new();
    let content = match &node.kind {
        NodeKind::Text { text } => Content::Note { text: truncate(text, limits::MAX_NOTE_CHARS) },
        NodeKind::File { file, subpath } => {
            if let Some(subpath) = subpath {
                kept.insert("subpath".into(), Value::String(subpath.clone()));
            }
            kept.insert("file".into(), Value::String(file.clone()));
            match images.get(file) {
                Some(image) => Content::Image(image.clone()),
                None => {
                    if crate::is_image_path(file) {
                        report.missing_images.push(file.clone());
                    }
                    Content::File { path: file.clone() }
                }
            }
        }
        NodeKind::Link { url, title } => {
            let title =
                title.as_deref().map(|t| truncate(&clean(t), limits::MAX_LABEL_CHARS)).unwrap_or_default();
            if is_share_link(url) {
                Content::Board { link: url.clone() }
            } else if board_model::card::is_allowed_url(url) {
                Content::Link { url: url.clone(), title }
            } else {
                // A link Corkboard will not open (another scheme): its
                // address as a note, written back as the link it was.
                kept.insert("link".into(), Value::String(url.clone()));
                Content::Note { text: truncate(url, limits::MAX_NOTE_CHARS) }
            }
        }
        NodeKind::Group { label, background, background_style } => {
            if let Some(background) = background {
                kept.insert("background".into(), Value::String(background.clone()));
            }
            if let Some(style) = background_style {
                kept.insert("backgroundStyle".into(), Value::String(style.clone()));
            }
            Content::Group { label: truncate(&clean(label), limits::MAX_LABEL_CHARS) }
        }
    };
    Some((content, kept))
}

/// A Corkboard share link (a pinned board), as an export writes one.
fn is_share_link(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("corkboard://") && lower.contains("board=") && lower.contains("key=")
}

/// Control characters (newlines in a label) as spaces.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}
