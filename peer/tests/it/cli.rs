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

/// A board with a note, an image, an edge and a group.
fn a_board_with_everything(data: &str) -> String {
    let (_, link, _) = run(&["new", "--title", "Everything", "--data", data]);
    let (_, a, _) = run(&["add-note", "--board", &link, "--text", "# Plan\n\n- [ ] tent", "--data", data]);
    let (_, b, _) = run(&["add-note", "--board", &link, "--text", "Ferry", "--x", "500", "--data", data]);
    assert!(
        run(&["connect", "--board", &link, "--from", &a, "--to", &b, "--label", "then", "--data", data]).0
    );
    let group = ["--x", "-40", "--y", "-40", "--width", "900", "--height", "400"];
    assert!(
        run(&[&["add-group", "--board", &link, "--label", "Trip", "--data", data][..], &group[..]].concat())
            .0
    );
    let png = std::env::temp_dir().join(format!("everything-{}.png", std::process::id()));
    let mut buffer = Vec::new();
    image::RgbImage::from_pixel(30, 20, image::Rgb([20, 120, 200]))
        .write_to(&mut std::io::Cursor::new(&mut buffer), image::ImageFormat::Png)
        .expect("encode");
    std::fs::write(&png, &buffer).expect("write");
    assert!(
        run(&["add-image", "--board", &link, "--file", &png.to_string_lossy(), "--y", "300", "--data", data])
            .0
    );
    link
}

fn show(link: &str, data: &str) -> serde_json::Value {
    let (ok, json, error) = run(&["show", "--board", link, "--json", "--data", data]);
    assert!(ok, "{error}");
    serde_json::from_str(&json).expect("JSON")
}

#[test]
fn pictures_of_a_board_are_an_svg_and_the_png_rendered_from_it() {
    let data = temp_dir("pictures");
    let link = a_board_with_everything(&data);
    let out = std::path::Path::new(&data).join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (svg_path, png_path) = (out.join("board.svg"), out.join("board.png"));
    let svg_arg = svg_path.to_string_lossy().into_owned();
    assert!(run(&["export", "--board", &link, "--format", "svg", "--out", &svg_arg, "--data", &data]).0);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for shown in ["Plan", "tent", "Ferry", "then", "Trip", "data:image/png;base64,"] {
        assert!(svg.contains(shown), "the SVG lacks {shown}");
    }
    let png_arg = png_path.to_string_lossy().into_owned();
    let (ok, _, error) =
        run(&["export", "--board", &link, "--format", "png", "--out", &png_arg, "--data", &data]);
    assert!(ok, "{error}");
    let png = image::open(&png_path).expect("a PNG image");
    let width: f64 = svg.split("width=\"").nth(1).and_then(|w| w.split('"').next()).unwrap().parse().unwrap();
    assert_eq!(f64::from(png.width()), width * 2.0, "two pixels per board unit");
    // Not blank: the board's background and cards differ.
    let rgb = png.to_rgb8();
    let first = rgb.get_pixel(0, 0);
    assert!(rgb.pixels().any(|p| p != first), "the PNG is one colour");
}

#[test]
fn a_backup_restores_the_board_elsewhere_and_merges_into_a_copy() {
    let (here, there) = (temp_dir("backup-here"), temp_dir("backup-there"));
    let link = a_board_with_everything(&here);
    let file = std::path::Path::new(&here).join("everything.corkboard");
    let file_arg = file.to_string_lossy().into_owned();
    assert!(
        run(&["export", "--board", &link, "--format", "corkboard", "--out", &file_arg, "--data", &here]).0
    );
    // Restored on a device with no copy: the same board, image included.
    let (ok, restored, error) = run(&["import", "--file", &file_arg, "--data", &there]);
    assert!(ok, "{error}");
    assert_eq!(restored, link);
    assert!(error.contains("restored the backup: 4 cards, 1 images"), "{error}");
    let original = show(&link, &here);
    assert_eq!(show(&link, &there), original);
    let image = original["cards"].as_array().unwrap().iter().find(|c| c["kind"] == "image").unwrap();
    let hash = image["image"].as_str().unwrap();
    assert!(std::path::Path::new(&there).join("blobs").join(hash).is_file());
    // Each side changes the board; the other's backup merges in.
    assert!(run(&["add-note", "--board", &link, "--text", "there", "--data", &there]).0);
    let back = std::path::Path::new(&there).join("back.corkboard").to_string_lossy().into_owned();
    assert!(run(&["export", "--board", &link, "--format", "corkboard", "--out", &back, "--data", &there]).0);
    assert!(run(&["add-note", "--board", &link, "--text", "here", "--data", &here]).0);
    let (ok, _, error) = run(&["import", "--file", &back, "--data", &here]);
    assert!(ok && error.contains("merged the backup"), "{error}");
    let merged = show(&link, &here);
    let texts: Vec<&str> =
        merged["cards"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).collect();
    assert!(texts.contains(&"here") && texts.contains(&"there"), "{texts:?}");
    // A damaged backup is refused with a clear message, nothing changed.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes.truncate(middle);
    let damaged = std::path::Path::new(&here).join("damaged.corkboard");
    std::fs::write(&damaged, &bytes).unwrap();
    let (ok, _, error) = run(&["import", "--file", &damaged.to_string_lossy(), "--data", &here]);
    assert!(!ok && error.contains("damaged.corkboard"), "{error}");
    assert_eq!(show(&link, &here), merged);
}

#[test]
fn a_zipped_canvas_export_imports_as_the_same_board() {
    let data = temp_dir("canvas-zip");
    let link = a_board_with_everything(&data);
    let folder = std::path::Path::new(&data).join("exported");
    let folder_arg = folder.to_string_lossy().into_owned();
    assert!(
        run(&["export", "--board", &link, "--format", "canvas", "--out", &folder_arg, "--data", &data]).0
    );
    // Zip the folder as a person would send it, and import the zip.
    let mut entries = Vec::new();
    for entry in walk(&folder) {
        let name = entry.strip_prefix(&folder).unwrap().to_string_lossy().replace('\\', "/");
        entries.push(board_archive::Entry {
            name: format!("exported/{name}"),
            bytes: std::fs::read(&entry).unwrap(),
        });
    }
    let zip = std::path::Path::new(&data).join("exported.zip");
    std::fs::write(&zip, board_archive::write_zip(&entries).unwrap()).unwrap();
    let (ok, copy, error) = run(&["import", "--file", &zip.to_string_lossy(), "--data", &data]);
    assert!(ok, "{error}");
    let strip = |mut value: serde_json::Value| {
        let cards = value["cards"].as_array().cloned().unwrap_or_default();
        let shapes: Vec<(String, String)> = cards
            .iter()
            .map(|c| {
                (
                    c["kind"].to_string(),
                    c["text"].to_string() + &c["label"].to_string() + &c["image"].to_string(),
                )
            })
            .collect();
        value["cards"] = serde_json::json!(shapes.len());
        (shapes, value["edges"].as_array().map(Vec::len))
    };
    let (original, copied) = (strip(show(&link, &data)), strip(show(&copy, &data)));
    assert_eq!(copied, original, "the imported zip is the board that was exported");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

#[test]
fn history_lists_sessions_and_show_at_shows_the_board_as_it_was() {
    let data = temp_dir("history");
    let secs = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_secs()
    };
    let before = secs() - 1;
    let (_, link, _) = run(&["new", "--title", "Week", "--data", &data]);
    let (_, first, _) = run(&["add-note", "--board", &link, "--text", "Monday", "--data", &data]);
    // Times are kept in seconds: the second note is made in a later one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let between = secs();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (_, second, _) = run(&["add-note", "--board", &link, "--text", "Tuesday", "--data", &data]);

    let (ok, json, error) = run(&["history", "--board", &link, "--json", "--data", &data]);
    assert!(ok, "{error}");
    let history: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let sessions = history["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1, "{history}");
    assert_eq!(sessions[0]["cards"], 2);
    assert!(sessions[0]["authors"].as_array().is_some_and(|a| a.len() == 1), "{history}");
    assert!(sessions[0]["from"].as_str().is_some_and(|t| t.ends_with('Z')), "RFC 3339: {history}");
    assert_eq!(history["trimmed"], false);
    let (ok, text, _) = run(&["history", "--board", &link, "--data", &data]);
    assert!(ok && text.contains("2 cards"), "{text}");

    let cards_at = |at: &str| -> Vec<String> {
        let (ok, json, error) = run(&["show", "--board", &link, "--json", "--at", at, "--data", &data]);
        assert!(ok, "show --at {at}: {error}");
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        value["cards"]
            .as_array()
            .expect("cards")
            .iter()
            .map(|c| c["id"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(cards_at(&between.to_string()), std::slice::from_ref(&first));
    assert!(cards_at(&before.to_string()).is_empty());
    let mut now = cards_at(&(secs() + 5).to_string());
    now.sort();
    let mut both = vec![first.clone(), second];
    both.sort();
    assert_eq!(now, both);
    // RFC 3339 works too, and nonsense is refused clearly.
    let rfc = peer::commands::rfc3339(between as i64).expect("a time");
    assert_eq!(cards_at(&rfc), [first]);
    let (ok, _, error) = run(&["show", "--board", &link, "--json", "--at", "last tuesday", "--data", &data]);
    assert!(!ok && error.contains("is not a time"), "{error}");
}
