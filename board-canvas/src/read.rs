//! Reading a `.canvas` file leniently into typed nodes and edges.

use board_model::card::limits;
use board_model::{Color, End, Side};
use serde_json::{Map, Value};

use crate::Error;

/// A canvas as read: its usable nodes and edges, in file order, and how
/// many entries were skipped as unusable.
#[derive(Clone, Debug, PartialEq)]
pub struct Canvas {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub skipped: usize,
}

/// One node. `extra` holds every key this reader does not use, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub x: f64,
    pub y: f64,
    /// `None` when the file gives none (a card of the kind's default size).
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub color: Option<Color>,
    /// The keys of the node as written, in order, for writing it back the
    /// same way.
    pub keys: Vec<String>,
    /// Geometry and colour as written (numbers may be floats or strings,
    /// colours upper-case or numbers), by key.
    pub written: Map<String, Value>,
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Text { text: String },
    File { file: String, subpath: Option<String> },
    Link { url: String, title: Option<String> },
    Group { label: String, background: Option<String>, background_style: Option<String> },
}

/// One edge. Ends and sides are `None` where the file leaves them out.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub id: String,
    pub from_node: String,
    pub from_side: Option<Side>,
    pub from_end: Option<End>,
    pub to_node: String,
    pub to_side: Option<Side>,
    pub to_end: Option<End>,
    pub color: Option<Color>,
    pub label: String,
    pub keys: Vec<String>,
    /// The colour as written.
    pub written: Map<String, Value>,
    pub extra: Map<String, Value>,
}

const NODE_KEYS: [&str; 8] = ["id", "type", "x", "y", "width", "height", "color", "text"];
const FILE_KEYS: [&str; 2] = ["file", "subpath"];
const LINK_KEYS: [&str; 2] = ["url", "title"];
const GROUP_KEYS: [&str; 3] = ["label", "background", "backgroundStyle"];
const EDGE_KEYS: [&str; 9] =
    ["id", "fromNode", "fromSide", "fromEnd", "toNode", "toSide", "toEnd", "color", "label"];

impl Canvas {
    /// Reads a canvas file. Only a file that is not JSON, or not an object
    /// with node and edge lists, is an error; single unusable entries are
    /// skipped.
    pub fn parse(bytes: &[u8]) -> Result<Canvas, Error> {
        let value: Value =
            serde_json::from_slice(strip_bom(bytes)).map_err(|e| Error::NotJson(e.to_string()))?;
        let Value::Object(root) = value else {
            return Err(Error::NotCanvas("the file is not a JSON object"));
        };
        let list = |key: &str| match root.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(_) => Err(Error::NotCanvas("nodes and edges must be lists")),
        };
        let (nodes, edges) = (list("nodes")?, list("edges")?);
        if nodes.len() > limits::MAX_CARDS {
            return Err(Error::TooLarge(format!("{} nodes, at most {}", nodes.len(), limits::MAX_CARDS)));
        }
        if edges.len() > limits::MAX_EDGES {
            return Err(Error::TooLarge(format!("{} edges, at most {}", edges.len(), limits::MAX_EDGES)));
        }
        let mut skipped = 0;
        let mut seen = std::collections::HashSet::new();
        let mut read_nodes = Vec::with_capacity(nodes.len());
        for node in &nodes {
            match read_node(node) {
                Some(node) if seen.insert(node.id.clone()) => read_nodes.push(node),
                _ => skipped += 1,
            }
        }
        let mut read_edges = Vec::with_capacity(edges.len());
        let mut edge_ids = std::collections::HashSet::new();
        for edge in &edges {
            match read_edge(edge) {
                Some(edge) if edge_ids.insert(edge.id.clone()) => read_edges.push(edge),
                _ => skipped += 1,
            }
        }
        Ok(Canvas { nodes: read_nodes, edges: read_edges, skipped })
    }

    /// The paths of file nodes that name images, to be read beside the
    /// canvas (each once).
    pub fn image_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|node| match &node.kind {
                NodeKind::File { file, .. } if crate::is_image_path(file) => Some(file.clone()),
                _ => None,
            })
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
}

/// A number as tools write it: a JSON number, or a string holding one.
pub(crate) fn number(value: Option<&Value>) -> Option<f64> {
    let n = match value? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// A colour in any form tools write: "1"–"6", 1–6, "#rrggbb", "#rgb".
pub(crate) fn color(value: Option<&Value>) -> Option<Color> {
    match value? {
        Value::Number(n) => n.as_u64().filter(|n| (1..=6).contains(n)).map(|n| Color::Preset(n as u8)),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(color) = Color::parse(s) {
                return Some(color);
            }
            let short = s
                .strip_prefix('#')
                .filter(|hex| hex.len() == 3 && hex.bytes().all(|b| b.is_ascii_hexdigit()))?;
            let long: String = short.chars().flat_map(|c| [c, c]).collect();
            Color::parse(&format!("#{long}")).ok()
        }
        _ => None,
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// An id as tools write it: a string, or a number.
fn id(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn read_node(value: &Value) -> Option<Node> {
    let Value::Object(map) = value else { return None };
    let id = id(map.get("id"))?;
    let kind_name = text(map.get("type")).unwrap_or_else(|| "text".into());
    let (kind, own_keys): (NodeKind, &[&str]) = match kind_name.as_str() {
        "text" => (NodeKind::Text { text: text(map.get("text")).unwrap_or_default() }, &[]),
        "file" => {
            (NodeKind::File { file: text(map.get("file"))?, subpath: text(map.get("subpath")) }, &FILE_KEYS)
        }
        "link" => (NodeKind::Link { url: text(map.get("url"))?, title: text(map.get("title")) }, &LINK_KEYS),
        "group" => (
            NodeKind::Group {
                label: text(map.get("label")).unwrap_or_default(),
                background: text(map.get("background")),
                background_style: text(map.get("backgroundStyle")),
            },
            &GROUP_KEYS,
        ),
        _ => return None,
    };
    let mut written = Map::new();
    for key in ["x", "y", "width", "height", "color"] {
        if let Some(value) = map.get(key) {
            written.insert(key.to_owned(), value.clone());
        }
    }
    let color_read = color(map.get("color"));
    let extra: Map<String, Value> = map
        .iter()
        .filter(|(key, _)| {
            let key = key.as_str();
            let known = NODE_KEYS.contains(&key) || own_keys.contains(&key);
            // A colour this reader cannot use is kept as written, and so is
            // a `text` key on a node that is not a text node.
            !known || (key == "color" && color_read.is_none()) || (key == "text" && kind_name != "text")
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Some(Node {
        id,
        kind,
        x: number(map.get("x")).unwrap_or(0.0),
        y: number(map.get("y")).unwrap_or(0.0),
        width: number(map.get("width")),
        height: number(map.get("height")),
        color: color_read,
        keys: map.keys().cloned().collect(),
        written,
        extra,
    })
}

fn read_edge(value: &Value) -> Option<Edge> {
    let Value::Object(map) = value else { return None };
    let side = |key| text(map.get(key)).and_then(|s| Side::parse(&s.to_ascii_lowercase()));
    let end = |key| text(map.get(key)).and_then(|s| End::parse(&s.to_ascii_lowercase()));
    let color_read = color(map.get("color"));
    let extra = map
        .iter()
        .filter(|(key, _)| {
            !EDGE_KEYS.contains(&key.as_str()) || (key.as_str() == "color" && color_read.is_none())
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Some(Edge {
        id: id(map.get("id"))?,
        from_node: id(map.get("fromNode"))?,
        from_side: side("fromSide"),
        from_end: end("fromEnd"),
        to_node: id(map.get("toNode"))?,
        to_side: side("toSide"),
        to_end: end("toEnd"),
        color: color_read,
        label: text(map.get("label")).unwrap_or_default(),
        keys: map.keys().cloned().collect(),
        written: map
            .get("color")
            .map(|c| Map::from_iter([("color".to_owned(), c.clone())]))
            .unwrap_or_default(),
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_world_shapes_are_read() {
        let file = br##"{"edges":[{"id":"e1","fromNode":"a","toNode":"b","toEnd":"none","color":3}],
            "nodes":[
              {"id":"a","type":"text","text":"# Hi","x":-10.5,"y":"20","width":250,"height":60,"color":"#f0a",
               "styleAttributes":{"shape":"pill"}},
              {"id":"b","type":"link","url":"https://example.org","x":0,"y":0,"width":400,"height":400},
              {"id":"c","type":"mystery","x":0,"y":0},
              {"id":"d","type":"file","file":"pics/cat.png","x":0,"y":0,"width":400,"height":300}
            ]}"##;
        let canvas = Canvas::parse(file).unwrap();
        assert_eq!(canvas.nodes.len(), 3);
        assert_eq!(canvas.skipped, 1);
        let a = &canvas.nodes[0];
        assert_eq!((a.x, a.y), (-10.5, 20.0));
        assert_eq!(a.color, Some(Color::Rgb([0xff, 0x00, 0xaa])));
        assert!(a.extra.contains_key("styleAttributes"));
        assert_eq!(canvas.edges[0].color, Some(Color::Preset(3)));
        assert_eq!(canvas.edges[0].to_end, Some(End::None));
        assert_eq!(canvas.image_paths(), vec!["pics/cat.png".to_owned()]);
    }

    #[test]
    fn what_is_not_a_canvas_is_an_error() {
        assert!(matches!(Canvas::parse(b"{"), Err(Error::NotJson(_))));
        assert!(matches!(Canvas::parse(b"[1]"), Err(Error::NotCanvas(_))));
        assert!(matches!(Canvas::parse(br#"{"nodes":5}"#), Err(Error::NotCanvas(_))));
        assert_eq!(Canvas::parse(b"{}").unwrap().nodes.len(), 0);
        assert_eq!(Canvas::parse(b"\xef\xbb\xbf{}").unwrap().nodes.len(), 0);
    }
}
