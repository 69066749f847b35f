//! A board lives in the browser: its notes survive a page reload and a
//! browser restart on the same profile, and the restarted browser lists the
//! board on its home screen.

use anyhow::Result;
use corkboard_e2e::harness::{self, Browser, Signaling};
use corkboard_e2e::{action, check, find};
use serde_json::json;

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

/// The saved copy in IndexedDB is damaged (here: its snapshot record is not
/// bytes, as another program or a disk fault could leave it): the board
/// opens read-only with a banner that says so, edits are refused, and the
/// damaged record is still there after a reload — nothing was written over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_whose_saved_copy_cannot_be_read_opens_read_only_and_keeps_it() -> Result<()> {
    let signaling = Signaling::start()?;
    let browser = Browser::start().await?;
    let client = browser.client();
    let url = support::new_board(&browser, &signaling.url()).await?;
    support::add_note(client, 240.0, 160.0, "Saved before the damage").await?;
    support::click_empty(client, 900.0, 600.0).await?;
    check::element(client, find::BOARD_SAVED).await?;
    let board = url
        .split("board=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .ok_or_else(|| anyhow::anyhow!("no board id in {url}"))?
        .to_owned();

    // Away from the board, damage its snapshot record.
    browser.open(&signaling.url()).await?;
    check::element(client, find::NEW_BOARD).await?;
    let damage = r#"
        const [board, value, done] = arguments;
        const open = indexedDB.open("corkboard");
        open.onerror = () => done("cannot open: " + open.error);
        open.onsuccess = () => {
            const tx = open.result.transaction("snapshots", "readwrite");
            if (value !== null) tx.objectStore("snapshots").put(value, board);
            const read = tx.objectStore("snapshots").get(board);
            tx.oncomplete = () => { open.result.close(); done(read.result); };
            tx.onerror = () => done("failed: " + tx.error);
        };
    "#;
    let stored = client.execute_async(damage, vec![json!(board), json!("not a snapshot")]).await?;
    anyhow::ensure!(stored == json!("not a snapshot"), "the record was not damaged: {stored}");

    browser.open(&url).await?;
    check::text_contains(client, find::READ_ONLY, "could not be read").await?;
    check::text_contains(client, find::READ_ONLY, "nothing will be written over it").await?;
    browser.shot("reload-read-only").await?;
    // An edit is refused rather than saved over the unread copy.
    action::double_click_on(client, find::BOARD, 500.0, 400.0).await?;
    support::toast(client, "nothing was changed").await?;
    check::count(client, find::CARD, 0).await?;

    client.refresh().await?;
    check::element(client, find::READ_ONLY).await?;
    let kept = client.execute_async(damage, vec![json!(board), json!(null)]).await?;
    anyhow::ensure!(kept == json!("not a snapshot"), "the damaged record was written over: {kept}");
    browser.close().await
}
