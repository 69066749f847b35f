//! The screenshots in the README, made the way a person would make them:
//! two people on a board with notes in colours, a picture and a link; one
//! sees the other's cursor and selection. Saved when `CORKBOARD_E2E_SHOTS`
//! names a directory (as `showcase-board.png`, `showcase-home.png`); the
//! scenario also checks what it shows.

use std::path::Path;

use anyhow::{Context, Result};
use corkboard_e2e::harness::{self, Browser, Signaling};
use corkboard_e2e::{action, check, find};
use fantoccini::key::Key;

use crate::support;

/// A calm landscape picture (sky, sea, sand), 640×400.
fn write_picture(path: &Path) -> Result<()> {
    let image = image::RgbImage::from_fn(640, 400, |x, y| {
        let t = y as f32 / 400.0;
        let wave = ((x as f32 / 37.0).sin() * 6.0) as i32;
        if (y as i32) < 230 + wave {
            let sky = [120.0 + 100.0 * t, 170.0 + 60.0 * t, 230.0];
            image::Rgb(sky.map(|c| c.min(255.0) as u8))
        } else if (y as i32) < 320 + wave / 2 {
            image::Rgb([40, 110 + (t * 60.0) as u8, 160])
        } else {
            image::Rgb([226, 205, 160])
        }
    });
    image
        .save_with_format(path, image::ImageFormat::Png)
        .with_context(|| format!("cannot write {}", path.display()))
}

async fn set_profile(client: &fantoccini::Client, name: &str) -> Result<()> {
    action::click(client, r#"[data-testid="profile"]"#).await.context("step 1")?;
    let input = check::element(client, r#"[data-testid="profile-name"]"#).await.context("step 2")?;
    input.clear().await.context("step 3")?;
    input.send_keys(name).await.context("step 4")?;
    action::click(client, r#"[data-testid="profile-save"]"#).await.context("step 5")?;
    check::text_contains(client, find::PERSON, &name[..1]).await.context("step 6")?;
    Ok(())
}

async fn colour_note(client: &fantoccini::Client, id: &str, key: char) -> Result<()> {
    action::press(client, Key::Escape).await.context("step 7")?;
    action::click(client, &find::card(id)).await.context("step 8")?;
    action::chord(client, &[], key).await.context("step 9")?;
    check::script(
        client,
        "the note coloured",
        "const e = document.querySelector(`[data-card-id=\"${arguments[0]}\"]`); return e && e.style.getPropertyValue('--card-bg');",
        vec![serde_json::json!(id)],
    )
    .await
    .map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_plan_a_trip() -> Result<()> {
    let dir = harness::temp_dir("showcase")?;
    let picture = dir.join("lisbon.png");
    write_picture(&picture)?;
    let signaling = Signaling::start()?;
    let ana = Browser::start().await.context("step 10")?;
    let a = ana.client();
    let url = support::new_board(&ana, &signaling.url()).await.context("step 11")?;
    set_profile(a, "Ana").await.context("step 12")?;

    action::click(a, r#"[data-testid="title"]"#).await.context("step 13")?;
    check::focused(a, r#"[data-testid="title-input"]"#).await.context("step 14")?;
    action::chord(a, &[Key::Control], 'a').await.context("step 15")?;
    action::type_text(a, "Trip to Lisbon").await.context("step 16")?;
    action::press(a, Key::Enter).await.context("step 17")?;
    check::text_contains(a, r#"[data-testid="title"]"#, "Trip to Lisbon").await.context("step 18")?;

    let flights =
        support::add_note(a, 150.0, 90.0, "Book the flights\nTue 14 → Sat 18").await.context("step 19")?;
    colour_note(a, &flights, '3').await.context("step 20")?;
    let day1 =
        support::add_note(a, 150.0, 330.0, "Day 1\nAlfama walk, fado at night").await.context("step 21")?;
    colour_note(a, &day1, '5').await.context("step 22")?;
    let food = support::add_note(a, 420.0, 330.0, "Pastéis de Belém — go early, the queue is long")
        .await
        .context("step 23")?;
    colour_note(a, &food, '2').await.context("step 24")?;
    support::add_note(a, 420.0, 90.0, "Ask Rita about the tram 28 pass").await.context("step 25")?;
    action::press(a, Key::Escape).await.context("step 26")?;

    support::click_empty(a, 1000.0, 500.0).await.context("step 27")?;
    support::choose_file(a, &picture).await.context("step 28")?;
    check::count(a, find::IMAGE, 1).await.context("step 29")?;
    support::image_shown(a, 640, 400).await.context("step 30")?;
    let image = check::element(a, find::IMAGE).await.context("step 31")?;
    let (x, y, ..) = image.rectangle().await.context("step 32")?;
    let board = check::element(a, find::BOARD).await.context("step 33")?;
    let (bx, by, ..) = board.rectangle().await.context("step 34")?;
    action::drag(a, &image, (40.0, 40.0), (820.0 - (x - bx), 60.0 - (y - by))).await.context("step 35")?;

    action::click(a, r#"[data-testid="add-link"]"#).await.context("step 36")?;
    a.send_alert_text("https://www.visitlisboa.com/en").await.context("step 37")?;
    a.accept_alert().await.context("step 38")?;
    check::count(a, find::LINK, 1).await.context("step 39")?;
    let link = check::element(a, find::LINK).await.context("step 40")?;
    let (x, y, ..) = link.rectangle().await.context("step 41")?;
    action::drag(a, &link, (100.0, 20.0), (840.0 - (x - bx), 360.0 - (y - by))).await.context("step 42")?;
    support::click_empty(a, 1100.0, 560.0).await.context("step 43")?;

    // Rui joins from the link, selects the food note and points at the picture.
    let rui = Browser::start().await.context("step 44")?;
    let b = rui.client();
    rui.open(&url).await.context("step 45")?;
    set_profile(b, "Rui").await.context("step 46")?;
    check::peers(a, 1).await.context("step 47")?;
    check::count(b, find::NOTE, 4).await.context("step 48")?;
    support::image_shown(b, 640, 400).await.context("step 49")?;
    let rui_board = check::element(b, find::BOARD).await.context("step 50")?;
    action::click(b, &find::card(&food)).await.context("step 51")?;
    use fantoccini::actions::InputSource as _;
    let pointer = fantoccini::actions::MouseActions::new("mouse".into()).then(
        fantoccini::actions::PointerAction::MoveToElement {
            element: rui_board.clone(),
            duration: None,
            x: 360.0,
            y: -120.0,
        },
    );
    b.perform_actions(pointer).await.context("step 52")?;
    check::element(a, r#"[data-testid="remote-cursor"]"#).await.context("step 53")?;
    check::element(a, ".card.remote-selected").await.context("step 54")?;
    ana.shot("showcase-board").await.context("step 55")?;
    rui.shot("showcase-board-rui").await.context("step 56")?;

    action::click(a, ".home-link").await.context("step 57")?;
    check::element(a, find::BOARD_ROW).await.context("step 58")?;
    ana.shot("showcase-home").await.context("step 59")?;
    rui.close().await.context("step 60")?;
    ana.close().await
}
