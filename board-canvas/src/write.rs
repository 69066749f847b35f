//! A board out as JSON Canvas 1.0: nodes in stacking order, edges in id
//! order, with what an import kept written back where nobody changed it.

use std::collections::HashMap;

use board_model::blob::Hash;
use board_model::{Board, Card, CardId, Color, Content, End};
use serde_json::{Map, Value, json};

/// A board as a canvas: the file's text, and which image blob goes to
/// which path beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct Exported {
    pub json: String,
    pub files: Vec<(String, Hash)>,
}

/// Writes the board as a canvas (tab-indented, as Obsidian writes).
pub fn export(board: &Board) -> Exported {
    let cards = board.cards();
    let mut node_ids: HashMap<CardId, String> = HashMap::new();
    let mut files = ImagePaths::default();
    let mut nodes = Vec::with_capacity(cards.len());
    for card in &cards {
        let kept = kept_map(board.kept_fields(card.id));
        let id = kept
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| card.id.0.simple().to_string(), str::to_owned);
        node_ids.insert(card.id, id.clone());
        nodes.push(Value::Object(node(card, id, &kept, &mut files)));
    }
    let mut edges = Vec::new();
    for edge in board.edges() {
        let (Some(from), Some(to)) = (node_ids.get(&edge.from.card), node_ids.get(&edge.to.card)) else {
            continue;
        };
        let kept = kept_map(board.edge_kept_fields(edge.id));
        let keys = kept_keys(&kept);
        let id = kept
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| edge.id.0.simple().to_string(), str::to_owned);
        let mut map = Map::new();
        map.insert("id".into(), Value::String(id));
        map.insert("fromNode".into(), Value::String(from.clone()));
        if let Some(side) = edge.from.side {
            map.insert("fromSide".into(), side.as_str().into());
        }
        if edge.from.end != End::None || keys.iter().any(|k| k == "fromEnd") {
            map.insert("fromEnd".into(), edge.from.end.as_str().into());
        }
        map.insert("toNode".into(), Value::String(to.clone()));
        if let Some(side) = edge.to.side {
            map.insert("toSide".into(), side.as_str().into());
        }
        if edge.to.end != End::Arrow || keys.iter().any(|k| k == "toEnd") {
            map.insert("toEnd".into(), edge.to.end.as_str().into());
        }
        if let Some(color) = &edge.color {
            map.insert("color".into(), color_value(color, &kept));
        }
        if !edge.label.is_empty() {
            map.insert("label".into(), Value::String(edge.label.clone()));
        }
        merge_extra(&mut map, &kept);
        edges.push(Value::Object(in_kept_order(map, &keys)));
    }
    let canvas = json!({ "nodes": nodes, "edges": edges });
    Exported { json: pretty(&canvas), files: files.list }
}

fn node(card: &Card, id: String, kept: &Map<String, Value>, files: &mut ImagePaths) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("id".into(), Value::String(id));
    let text_of = |s: &str| Value::String(s.to_owned());
    match &card.content {
        Content::Note { text } => match kept.get("link").and_then(Value::as_str) {
            // A link of a scheme Corkboard does not open, kept as a note.
            Some(_) => {
                map.insert("type".into(), "link".into());
                map.insert("url".into(), text_of(text));
            }
            None => {
                map.insert("type".into(), "text".into());
                map.insert("text".into(), text_of(text));
            }
        },
        Content::Image(image) => {
            map.insert("type".into(), "file".into());
            let kept_path = kept.get("file").and_then(Value::as_str).filter(|p| crate::is_image_path(p));
            map.insert("file".into(), Value::String(files.path_for(image, kept_path)));
        }
        Content::File { path } => {
            map.insert("type".into(), "file".into());
            map.insert("file".into(), text_of(path));
        }
        Content::Link { url, title } => {
            map.insert("type".into(), "link".into());
            map.insert("url".into(), text_of(url));
            if !title.is_empty() {
                map.insert("title".into(), text_of(title));
            }
        }
        Content::Board { link } => {
            map.insert("type".into(), "link".into());
            map.insert("url".into(), text_of(link));
        }
        Content::Group { label } => {
            map.insert("type".into(), "group".into());
            if !label.is_empty() || kept_keys(kept).iter().any(|k| k == "label") {
                map.insert("label".into(), text_of(label));
            }
        }
    }
    if matches!(card.content, Content::Image(_) | Content::File { .. })
        && let Some(subpath) = kept.get("subpath")
    {
        map.insert("subpath".into(), subpath.clone());
    }
    if matches!(card.content, Content::Group { .. }) {
        for key in ["background", "backgroundStyle"] {
            if let Some(value) = kept.get(key) {
                map.insert(key.into(), value.clone());
            }
        }
    }
    // Geometry: the file's own numbers while the card is where the import
    // put it, integers otherwise (the spec's type).
    let now = [card.position.x, card.position.y, card.size.width, card.size.height];
    let imported: Option<Vec<f64>> =
        kept.get("imported").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_f64).collect());
    let geometry = kept.get("written").and_then(Value::as_object);
    for (i, key) in ["x", "y", "width", "height"].into_iter().enumerate() {
        let unchanged = imported.as_ref().and_then(|a| a.get(i)).is_some_and(|v| *v == now[i]);
        let original = geometry.and_then(|g| g.get(key)).filter(|_| unchanged);
        let value = match original {
            Some(value) => value.clone(),
            None => json!(now[i].round() as i64),
        };
        map.insert(key.into(), value);
    }
    if let Some(color) = &card.color {
        map.insert("color".into(), color_value(color, kept));
    }
    merge_extra(&mut map, kept);
    in_kept_order(map, &kept_keys(kept))
}

/// A colour as the imported file wrote it while it is still that colour,
/// else in the spec's form.
fn color_value(color: &Color, kept: &Map<String, Value>) -> Value {
    let written = kept.get("written").and_then(|w| w.get("color"));
    match written {
        Some(value) if crate::read::color(Some(value)).as_ref() == Some(color) => value.clone(),
        _ => Value::String(color.to_string()),
    }
}

fn kept_map(kept: Option<String>) -> Map<String, Value> {
    kept.and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|value| match value {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default()
}

fn kept_keys(kept: &Map<String, Value>) -> Vec<String> {
    kept.get("keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Adds the kept unknown keys (never over a key written from the board).
fn merge_extra(map: &mut Map<String, Value>, kept: &Map<String, Value>) {
    if let Some(Value::Object(extra)) = kept.get("extra") {
        for (key, value) in extra {
            if !map.contains_key(key) {
                map.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The keys in the order the imported file had them, new keys after.
fn in_kept_order(mut map: Map<String, Value>, keys: &[String]) -> Map<String, Value> {
    if keys.is_empty() {
        return map;
    }
    let mut ordered = Map::new();
    for key in keys {
        if let Some(value) = map.remove(key) {
            ordered.insert(key.clone(), value);
        }
    }
    ordered.extend(map);
    ordered
}

/// Paths for image blobs beside the canvas: the path an import kept, else
/// `images/<file name>` (made unique), one path per blob.
#[derive(Default)]
struct ImagePaths {
    by_hash: HashMap<Hash, String>,
    taken: std::collections::HashSet<String>,
    list: Vec<(String, Hash)>,
}

impl ImagePaths {
    fn path_for(&mut self, image: &board_model::ImageRef, kept: Option<&str>) -> String {
        if let Some(path) = kept
            && self.by_hash.get(&image.hash).is_none_or(|p| p == path)
        {
            if !self.by_hash.contains_key(&image.hash) {
                self.record(path.to_owned(), image.hash);
            }
            return path.to_owned();
        }
        if let Some(path) = self.by_hash.get(&image.hash) {
            return path.clone();
        }
        let extension = match image.media_type.as_str() {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/gif" => "gif",
            "image/webp" => "webp",
            "image/bmp" => "bmp",
            _ => "bin",
        };
        let stem: String = image
            .file_name
            .rsplit_once('.')
            .map_or(image.file_name.as_str(), |(stem, _)| stem)
            .chars()
            .map(|c| if c.is_alphanumeric() || "-_ ".contains(c) { c } else { '_' })
            .take(80)
            .collect();
        let stem = if stem.trim().is_empty() { image.hash.to_hex()[..12].to_owned() } else { stem };
        let mut path = format!("images/{stem}.{extension}");
        let mut n = 2;
        while self.taken.contains(&path) {
            path = format!("images/{stem}-{n}.{extension}");
            n += 1;
        }
        self.record(path.clone(), image.hash);
        path
    }

    fn record(&mut self, path: String, hash: Hash) {
        self.taken.insert(path.clone());
        self.by_hash.insert(hash, path.clone());
        self.list.push((path, hash));
    }
}

/// Tab-indented JSON, as Obsidian writes canvases.
fn pretty(value: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    if serde::Serialize::serialize(value, &mut serializer).is_err() {
        return value.to_string();
    }
    String::from_utf8(out).unwrap_or_else(|_| value.to_string())
}
