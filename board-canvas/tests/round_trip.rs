//! JSON Canvas in and out on real-world shapes: an Obsidian canvas nobody
//! edited comes back with the same content; lenient files are read as far
//! as they can be; edits show in the export; what is exported follows the
//! spec's rules and reads back the same.

use std::collections::{HashMap, HashSet};

use board_canvas::{Canvas, export, import};
use board_model::blob::Hash;
use board_model::{Board, BoardId, Color, Content, EdgeId, ImageRef, NewEdge, Point, ReplicaId};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn counter() -> impl FnMut() -> [u8; 16] {
    let mut n = 0u8;
    move || {
        n = n.wrapping_add(1);
        [n; 16]
    }
}

fn harbour() -> ImageRef {
    ImageRef {
        hash: Hash::of(b"harbour"),
        media_type: "image/png".into(),
        natural_width: 800,
        natural_height: 600,
        file_name: "harbour.png".into(),
    }
}

fn imported(name: &str) -> (Board, board_canvas::Imported) {
    let canvas = Canvas::parse(&fixture(name)).expect("parse");
    let mut board =
        Board::create(BoardId::from_random_bytes([7; 16]), "Imported", ReplicaId(1)).expect("board");
    let images = HashMap::from([("attachments/harbour.png".to_owned(), harbour())]);
    let report = import(&canvas, &mut board, &images, counter(), "tester", 0).expect("import");
    (board, report)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

/// The spec's rules: unique ids, known types with their required fields,
/// integer geometry, colours as presets or #rrggbb, edges between nodes
/// that exist, known sides and ends.
fn assert_valid_canvas(canvas: &Value) {
    let nodes = canvas["nodes"].as_array().expect("nodes");
    let mut ids = HashSet::new();
    for node in nodes {
        let id = node["id"].as_str().expect("node id");
        assert!(ids.insert(id.to_owned()), "duplicate id {id}");
        let required: &[&str] = match node["type"].as_str().expect("type") {
            "text" => &["text"],
            "file" => &["file"],
            "link" => &["url"],
            "group" => &[],
            other => panic!("unknown type {other}"),
        };
        for key in required {
            assert!(node[*key].is_string(), "{id} lacks {key}");
        }
        for key in ["x", "y", "width", "height"] {
            assert!(node[key].is_i64(), "{id}.{key} is {}", node[key]);
        }
        if let Some(color) = node.get("color") {
            let color = color.as_str().expect("colour string");
            assert!(Color::parse(color).is_ok(), "{id} colour {color}");
        }
    }
    for edge in canvas["edges"].as_array().expect("edges") {
        let id = edge["id"].as_str().expect("edge id");
        assert!(ids.insert(id.to_owned()), "duplicate id {id}");
        for key in ["fromNode", "toNode"] {
            let node = edge[key].as_str().expect("endpoint");
            assert!(nodes.iter().any(|n| n["id"] == node), "{id}.{key} names no node");
        }
        for key in ["fromSide", "toSide"] {
            if let Some(side) = edge.get(key) {
                assert!(["top", "right", "bottom", "left"].contains(&side.as_str().expect("side")));
            }
        }
        for key in ["fromEnd", "toEnd"] {
            if let Some(end) = edge.get(key) {
                assert!(["none", "arrow"].contains(&end.as_str().expect("end")));
            }
        }
    }
}

#[test]
fn an_obsidian_canvas_nobody_edited_exports_with_the_same_content() {
    let (board, report) = imported("obsidian.canvas");
    assert_eq!((report.cards, report.edges, report.skipped), (8, 4, 0));
    assert!(report.missing_images.is_empty());
    let exported = export(&board);
    assert_eq!(json(&exported.json), json(std::str::from_utf8(&fixture("obsidian.canvas")).expect("UTF-8")));
    assert_eq!(exported.files, vec![("attachments/harbour.png".to_owned(), harbour().hash)]);
    assert!(exported.json.contains("\n\t\"nodes\""), "tab-indented as Obsidian writes");
}

#[test]
fn every_node_type_becomes_the_card_it_should() {
    let (board, _) = imported("obsidian.canvas");
    let cards = board.cards();
    let kinds: Vec<&str> = cards.iter().map(|card| card.kind().as_str()).collect();
    assert_eq!(kinds, ["group", "group", "note", "note", "image", "file", "link", "note"]);
    assert_eq!(cards[0].content, Content::Group { label: "Trip plan".into() });
    assert!(matches!(&cards[2].content, Content::Note { text } if text.starts_with("# Goals")));
    assert_eq!(cards[4].content, Content::Image(harbour()));
    assert_eq!(cards[5].content, Content::File { path: "Notes/Packing.md".into() });
    assert_eq!(cards[0].color, Some(Color::Preset(4)));
    let edges = board.edges();
    assert_eq!(edges.len(), 4);
    let labelled = edges.iter().find(|edge| edge.label == "what to bring").expect("labelled edge");
    assert_eq!(labelled.color, Some(Color::Preset(5)));
    // The group frames the cards inside it.
    assert!(board.members_of(cards[0].id).contains(&cards[2].id));
}

#[test]
fn lenient_files_are_read_as_far_as_they_can_be() {
    let (board, report) = imported("lenient.canvas");
    // n3 (unknown type), the duplicate n2, the node without id, n5 (a path
    // leaving the folder); x2 (to a missing node), x3 (no fromNode).
    assert_eq!(report.skipped, 6, "{report:?}");
    let cards = board.cards();
    assert_eq!(cards.len(), 4);
    let floats =
        cards.iter().find(|card| card.content == Content::Note { text: "floats".into() }).expect("n1");
    assert_eq!(floats.position, Point { x: 10.75, y: -20.0 });
    assert_eq!(floats.color, Some(Color::Rgb([0xaa, 0xbb, 0xcc])));
    // A link Corkboard will not open is kept as a note with its address.
    assert!(cards.iter().any(|card| card.content == Content::Note { text: "javascript:alert(1)".into() }));
    let edges = board.edges();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].color, Some(Color::Preset(2)));
    let exported = json(&export(&board).json);
    // Unknown keys and values come back as they were.
    let n1 = exported["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "n1").expect("n1 exported");
    assert_eq!(n1["metadata"]["source"], "other tool");
    assert_eq!(n1["x"], 10.75, "an unmoved card keeps the file's own numbers");
    let n2 = exported["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "n2").expect("n2 exported");
    assert_eq!(n2["color"], 7, "a colour Corkboard cannot read is kept as written");
    let n4 = exported["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "n4").expect("n4 exported");
    assert_eq!((n4["type"].as_str(), n4["url"].as_str()), (Some("link"), Some("javascript:alert(1)")));
}

#[test]
fn edits_show_in_the_export_and_it_follows_the_spec() {
    let (mut board, _) = imported("obsidian.canvas");
    let cards = board.cards();
    let (goals, ask) = (cards[2].id, cards[3].id);
    board.move_card(goals, Point { x: 12.4, y: 99.6 }).unwrap();
    board.set_color(&[ask], Some(Color::Preset(6))).unwrap();
    board.add_edge(NewEdge::between(EdgeId::from_random_bytes([200; 16]), ask, goals)).unwrap();
    board.delete_cards(&[cards[6].id]).unwrap();
    let exported = json(&export(&board).json);
    assert_valid_canvas(&exported);
    let nodes = exported["nodes"].as_array().unwrap();
    let goals_node = nodes.iter().find(|n| n["id"] == "1f0e2d3c4b5a6978").unwrap();
    assert_eq!((goals_node["x"].as_i64(), goals_node["y"].as_i64()), (Some(12), Some(100)));
    let ask_node = nodes.iter().find(|n| n["id"] == "2e1d3c4b5a697887").unwrap();
    assert_eq!(ask_node["color"], "6");
    assert_eq!(ask_node["styleAttributes"]["border"], "dashed", "unknown keys stay");
    assert_eq!(nodes.len(), 7);
    let edges = exported["edges"].as_array().unwrap();
    // The link's edge went with it; the new edge is there.
    assert_eq!(edges.len(), 4);
    assert!(edges.iter().any(|e| e["fromNode"] == "2e1d3c4b5a697887" && e["toNode"] == "1f0e2d3c4b5a6978"));
}

#[test]
fn a_corkboard_board_goes_out_and_comes_back_the_same() {
    let (board, _) = imported("lenient.canvas");
    let first = export(&board);
    let again = Canvas::parse(first.json.as_bytes()).expect("our export parses");
    let mut copy = Board::create(BoardId::from_random_bytes([8; 16]), "Copy", ReplicaId(2)).expect("board");
    import(&again, &mut copy, &HashMap::new(), counter(), "tester", 0).expect("import");
    let contents =
        |board: &Board| board.cards().into_iter().map(|c| (c.content, c.color)).collect::<Vec<_>>();
    assert_eq!(contents(&copy), contents(&board));
    assert_eq!(json(&export(&copy).json), json(&first.json));
}
