//! A board lives in the browser: its notes survive a page reload and a
//! browser restart on the same profile, and the restarted browser lists the
//! board on its home screen.

use anyhow::Result;
use corkboard_e2e::harness::{self, Browser, Signaling};
use corkboard_e2e::{action, check, find};

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_survives_reload_and_browser_restart() -> Result<()> {
    let signaling = Signaling::start()?;
    let profile = harness::temp_dir("reload")?.join("profile");
    let browser = Browser::start_with_profile(&profile).await?;
    let client = browser.client();

    let url = support::new_board(&browser, &signaling.url()).await?;
    support::add_note(client, 240.0, 160.0, "Water the plants").await?;
    support::click_empty(client, 900.0, 600.0).await?;
    support::add_note(client, 620.0, 340.0, "Call the plumber").await?;
    support::click_empty(client, 900.0, 600.0).await?;
    let notes = support::notes(client).await?;
    anyhow::ensure!(notes.len() == 2, "two notes expected, the page shows {notes:?}");

    // A reload reads the board back from IndexedDB (once it is all there).
    check::element(client, find::BOARD_SAVED).await?;
    client.refresh().await?;
    check::element(client, find::BOARD).await?;
    support::notes_are(client, &notes).await?;

    // So does a restarted browser on the same profile.
    browser.close().await?;
    let browser = Browser::start_with_profile(&profile).await?;
    let client = browser.client();
    browser.open(&url).await?;
    support::notes_are(client, &notes).await?;
    browser.shot("reload-after-restart").await?;

    // And its home screen lists the board with its two cards; a click opens it.
    browser.open(&signaling.url()).await?;
    check::count(client, find::BOARD_ROW, 1).await?;
    check::text_contains(client, find::BOARD_ROW, "2 cards").await?;
    browser.shot("reload-home-list").await?;
    action::click(client, find::BOARD_ROW).await?;
    support::notes_are(client, &notes).await?;
    browser.close().await
}
