//! The `corkboard-peer` command line, run as a real process.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{peer, run, temp_dir};

#[test]
fn a_board_is_created_edited_and_shown_offline() {
    let data = temp_dir("offline");
    let (ok, link, _) = run(&["new", "--title", "Trip", "--data", &data]);
    assert!(ok && link.starts_with("corkboard://"));
    let (ok, card, _) = run(&["add-note", "--board", &link, "--text", "hello", "--x", "-5", "--data", &data]);
    assert!(ok);
    assert!(run(&["move", "--board", &link, "--card", &card, "--x", "7", "--y", "8", "--data", &data]).0);
    let (ok, json, _) = run(&["show", "--board", &link, "--json", "--data", &data]);
    assert!(ok);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["title"], "Trip");
    assert_eq!(value["cards"][0]["id"], card.as_str());
    assert_eq!((value["cards"][0]["x"].as_f64(), value["cards"][0]["y"].as_f64()), (Some(7.0), Some(8.0)));
    // The web form of the link is accepted too.
    let web = link.replacen("corkboard://board", "http://127.0.0.1:8787/", 1);
    assert!(run(&["show", "--board", &web, "--json", "--data", &data]).0);
}

#[test]
fn bad_input_gets_a_clear_message_and_a_failure_status() {
    let data = temp_dir("bad");
    let (_, link, _) = run(&["new", "--data", &data]);
    let (ok, _, error) = run(&["show", "--board", "not a link", "--data", &data]);
    assert!(!ok && error.contains("not a valid board link"), "{error}");
    let text_file = std::env::temp_dir().join(format!("not-an-image-{}.png", std::process::id()));
    std::fs::write(&text_file, "plain text").unwrap();
    let (ok, _, error) =
        run(&["add-image", "--board", &link, "--file", &text_file.to_string_lossy(), "--data", &data]);
    assert!(!ok && error.contains("not an image"), "{error}");
    let (ok, _, error) =
        run(&["move", "--board", &link, "--card", "nope", "--x", "1", "--y", "1", "--data", &data]);
    assert!(!ok && error.contains("not a card id"), "{error}");
    let other = "corkboard://board#board=00000000-0000-4000-8000-000000000000&key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (ok, _, error) = run(&["show", "--board", other, "--data", &data]);
    assert!(!ok && error.contains("no board"), "{error}");
}

#[test]
fn an_image_file_becomes_an_image_card_with_its_size() {
    let data = temp_dir("image");
    let (_, link, _) = run(&["new", "--data", &data]);
    let png = std::env::temp_dir().join(format!("pixel-{}.png", std::process::id()));
    let mut buffer = Vec::new();
    image::RgbImage::from_pixel(3, 2, image::Rgb([200, 10, 10]))
        .write_to(&mut std::io::Cursor::new(&mut buffer), image::ImageFormat::Png)
        .unwrap();
    std::fs::write(&png, &buffer).unwrap();
    let (ok, _, error) =
        run(&["add-image", "--board", &link, "--file", &png.to_string_lossy(), "--data", &data]);
    assert!(ok, "{error}");
    let (_, json, _) = run(&["show", "--board", &link, "--json", "--data", &data]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let card = &value["cards"][0];
    assert_eq!((card["kind"].as_str(), card["natural_width"].as_u64()), (Some("image"), Some(3)));
    assert_eq!(card["media_type"], "image/png");
    let hash = card["image"].as_str().unwrap_or_default();
    assert!(std::path::Path::new(&data).join("blobs").join(hash).is_file());
}

#[test]
fn a_kill_while_writing_loses_no_acknowledged_update() {
    let data = temp_dir("crash");
    let (_, link, _) = run(&["new", "--data", &data]);
    let mut child = peer()
        .args(["add-note", "--board", &link, "--text", "x", "--repeat", "100000", "--data", &data])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acknowledged = Vec::new();
    for line in BufReader::new(stdout).lines() {
        acknowledged.push(line.unwrap());
        if acknowledged.len() == 300 {
            // SIGKILL in the middle of the stream of writes.
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    let (ok, json, error) = run(&["show", "--board", &link, "--json", "--data", &data]);
    assert!(ok, "{error}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ids: std::collections::HashSet<&str> =
        value["cards"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    for id in &acknowledged {
        assert!(ids.contains(id.as_str()), "acknowledged card {id} was lost");
    }
    // The files open cleanly for writing again.
    assert!(run(&["add-note", "--board", &link, "--text", "after", "--data", &data]).0);
}
