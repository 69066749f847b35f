//! A board out of the browser and back in: the File menu downloads the
//! board as a JSON Canvas zip (with its image), an SVG and a PNG picture
//! of it, and a `.corkboard` backup; a second browser with no copy of the
//! board, while no peer of it is online, restores the backup from its home
//! screen (cards, edge and image there) and makes a new board from the zip.
//! The CLI reads what the browser wrote.

use anyhow::{Context, Result, ensure};
use corkboard_e2e::harness::{self, Browser, NativePeer, Signaling};
use corkboard_e2e::{action, check, find};

use crate::support;

/// A small PNG the picture exports embed.
fn write_png(path: &std::path::Path) -> Result<()> {
    let image = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 160]));
    image
        .save_with_format(path, image::ImageFormat::Png)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The width and height a PNG's header says.
fn png_size(png: &[u8]) -> Result<(u32, u32)> {
    ensure!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 24, "not a PNG");
    Ok((
        u32::from_be_bytes([png[16], png[17], png[18], png[19]]),
        u32::from_be_bytes([png[20], png[21], png[22], png[23]]),
    ))
}

async fn export(browser: &Browser, testid: &str, name: &str) -> Result<Vec<u8>> {
    let client = browser.client();
    action::click(client, r#"[data-testid="file"]"#).await?;
    action::click(client, &format!(r#"[data-testid="{testid}"]"#)).await?;
    browser.downloaded(name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_goes_out_as_canvas_svg_png_and_backup_and_comes_back_in_elsewhere() -> Result<()> {
    let dir = harness::temp_dir("files")?;
    let signaling = Signaling::start()?;
    let native = NativePeer::new("files-native")?;
    let link = native.new_board("Trip")?;
    let plan = native.add_note(&link, "# Plan\n\nPack the *tent*", 40.0, 40.0)?;
    let book = native.add_note(&link, "Book the ferry", 420.0, 40.0)?;
    native.run_ok(&["connect", "--board", &link, "--from", &plan, "--to", &book, "--label", "then"])?;
    let png = dir.join("map.png");
    write_png(&png)?;
    let png_path = png.to_str().context("a temporary path that is not UTF-8")?;
    native.run_ok(&["add-image", "--board", &link, "--file", png_path, "--x", "40", "--y", "300"])?;
    let serve = native.spawn_serve(&signaling.url(), &[])?;

    let alice = Browser::start().await?;
    let a = alice.client();
    alice.open(&signaling.board_url(&link)?).await?;
    check::count(a, find::CARD, 3).await?;
    support::image_shown(a, 64, 48).await?;
    check::element(a, "[data-edge-id]").await?;

    // The File menu, looked at on a desktop and a phone screen.
    action::click(a, r#"[data-testid="file"]"#).await?;
    check::element(a, r#"[data-testid="file-menu"]"#).await?;
    alice.shot("file-menu").await?;
    a.set_window_size(390, 844).await?;
    alice.shot("file-menu-phone").await?;
    a.set_window_size(1280, 800).await?;
    action::click(a, r#"[data-testid="file"]"#).await?;
    check::absent(a, r#"[data-testid="file-menu"]"#).await?;

    // A JSON Canvas zip: board.canvas names the image beside it.
    let zip = export(&alice, "export-canvas", "Trip.zip").await?;
    let entries = board_archive::zip_entries(&zip)?;
    let canvas = entries.iter().find(|e| e.name == "board.canvas").context("no board.canvas in the zip")?;
    let parsed = board_canvas::Canvas::parse(&canvas.bytes)?;
    ensure!(parsed.nodes.len() == 3 && parsed.edges.len() == 1, "the canvas: {parsed:?}");
    let image_path = parsed.image_paths().into_iter().next().context("the canvas names no image")?;
    ensure!(entries.iter().any(|e| e.name == image_path), "the image {image_path} is not in the zip");
    std::fs::write(dir.join("Trip.zip"), &zip)?;

    // An SVG that looks like the board, and the PNG made from it.
    let svg = String::from_utf8(export(&alice, "export-svg", "Trip.svg").await?)?;
    ensure!(svg.starts_with("<svg") && svg.contains("Plan") && svg.contains("then"), "the SVG: {svg:.300}");
    ensure!(svg.contains("data:image/png;base64,"), "the SVG does not hold the image");
    ensure!(!svg.contains("<script") && !svg.contains("key="), "the SVG must hold no script and no key");
    let picture = export(&alice, "export-png", "Trip.png").await?;
    let (width, height) = png_size(&picture)?;
    let svg_width: f64 =
        svg.split("width=\"").nth(1).and_then(|w| w.split('"').next()).context("width")?.parse()?;
    ensure!(f64::from(width) == svg_width * 2.0, "the PNG is {width}×{height}, the SVG {svg_width} wide");
    std::fs::write(dir.join("Trip.png"), &picture)?;

    // The backup; the CLI reads it as the board.
    let backup = export(&alice, "export-backup", "Trip.corkboard").await?;
    let backup_path = dir.join("Trip.corkboard");
    std::fs::write(&backup_path, &backup)?;
    let elsewhere = NativePeer::new("files-elsewhere")?;
    let restored = elsewhere.run_ok(&["import", "--file", backup_path.to_str().context("path")?])?;
    ensure!(restored.trim() == link.trim(), "the restored board's link: {restored}");
    let shown = elsewhere.show(&link)?;
    ensure!(shown["cards"].as_array().map(Vec::len) == Some(3), "the restored board: {shown}");
    ensure!(shown["edges"].as_array().map(Vec::len) == Some(1), "the restored board: {shown}");
    alice.close().await?;

    // Nobody of this board is online now: Bob's browser restores it from
    // the backup alone, then makes a new board from the zip.
    serve.stop();
    let bob = Browser::start().await?;
    let b = bob.client();
    bob.open(&signaling.url()).await?;
    check::element(b, r#"[data-testid="home-import"]"#).await?;
    bob.shot("files-home-import").await?;
    support::choose_file_in(b, r#"[data-testid="home-import-input"]"#, &backup_path).await?;
    check::count(b, find::CARD, 3).await?;
    check::element(b, "[data-edge-id]").await?;
    check::text_contains(b, &format!("{} h1", find::card(&plan)), "Plan").await?;
    support::image_shown(b, 64, 48).await?;
    support::toast(b, "Restored “Trip” from its backup: 3 cards, 1 image").await?;
    bob.shot("files-restored-backup").await?;

    action::click(b, ".home-link").await?;
    support::choose_file_in(b, r#"[data-testid="home-import-input"]"#, &dir.join("Trip.zip")).await?;
    check::text_contains(b, r#"[data-testid="title"]"#, "Trip").await?;
    check::count(b, find::CARD, 3).await?;
    check::element(b, "[data-edge-id]").await?;
    support::image_shown(b, 64, 48).await?;
    support::toast(b, "Imported 3 cards and 1 edge").await?;
    bob.close().await
}
