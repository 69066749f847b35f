//! The home screen: a new board, and a first note made by double-clicking
//! the board and typing.

use anyhow::Result;
use corkboard_e2e::harness::{self, Browser, Signaling};
use corkboard_e2e::{action, check, find};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_board_then_double_click_makes_a_note() -> Result<()> {
    let dir = harness::temp_dir("home")?;
    let signaling = Signaling::start()?;
    let browser = Browser::start().await?;
    let client = browser.client();
    browser.open(&signaling.url()).await?;

    action::click(client, find::NEW_BOARD).await?;
    let board = check::element(client, find::BOARD).await?;
    // Empty space: a fresh board has no cards.
    action::double_click(client, &board, 160.0, 140.0).await?;
    check::focused(client, find::NOTE_TEXT).await?;
    action::type_text(client, "hello from e2e").await?;
    check::value_is(client, find::NOTE_TEXT, "hello from e2e").await?;
    check::count(client, find::NOTE, 1).await?;

    browser.screenshot(&dir.join("home.png")).await?;
    browser.shot("home-first-note").await?;
    browser.close().await
}
