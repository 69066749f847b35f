//! Bad input gets a plain message and breaks nothing: a damaged board link,
//! a file that is not an image, and a peer that speaks garbage (or a
//! protocol version from the future) over a real data channel.

use anyhow::{Result, ensure};
use corkboard_e2e::harness::{self, Browser, Signaling};
use corkboard_e2e::rogue::{self, When};
use corkboard_e2e::{check, find};

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_link_is_explained_and_home_still_works() -> Result<()> {
    let signaling = Signaling::start()?;
    let browser = Browser::start().await?;
    let client = browser.client();
    browser.open(&format!("{}/#board=not-a-uuid&key=short", signaling.url())).await?;

    let message = support::toast(client, "link doesn't work").await?;
    ensure!(message.contains("board id is not valid"), "the toast does not say what is wrong: {message:?}");
    browser.shot("bad-input-link-toast").await?;

    // The home screen is there and works.
    check::element(client, find::NEW_BOARD).await?;
    support::new_board(&browser, &signaling.url()).await?;
    support::add_note(client, 240.0, 160.0, "Still works").await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_an_image_is_refused() -> Result<()> {
    let dir = harness::temp_dir("bad-input")?;
    let text = dir.join("shopping.txt");
    std::fs::write(&text, "eggs\nflour\nmilk\n")?;
    let signaling = Signaling::start()?;
    let browser = Browser::start().await?;
    let client = browser.client();
    support::new_board(&browser, &signaling.url()).await?;

    support::choose_file(client, &text).await?;
    let message = support::toast(client, "is not an image").await?;
    ensure!(message.contains("shopping.txt"), "the toast does not name the file: {message:?}");
    check::count(client, find::CARD, 0).await?;
    browser.shot("bad-input-not-an-image").await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_speaking_garbage_is_refused_and_the_board_is_unchanged() -> Result<()> {
    let signaling = Signaling::start()?;
    let browser = Browser::start().await?;
    let client = browser.client();
    let url = support::new_board(&browser, &signaling.url()).await?;
    support::add_note(client, 240.0, 160.0, "Before the rogue").await?;
    support::click_empty(client, 900.0, 600.0).await?;
    let before = support::notes(client).await?;
    let (signal, limit) = (signaling.url(), check::deadline());

    // Garbage instead of a hello: the browser says goodbye and tells its
    // user once (what followed the garbage on that channel is not read).
    let frames = vec![rogue::garbage(), rogue::garbage(), rogue::frame_from_the_future()];
    let outcome = rogue::misbehave(&signal, &url, When::AfterTheirHello, frames, limit).await?;
    ensure!(outcome.bye.as_deref().is_some_and(|r| r.contains("not a Corkboard frame")), "{outcome:?}");
    support::toast(client, "sent something broken").await?;
    // The channel is closed: every frame was read, every toast is up.
    let toasts = support::toasts(client).await?;
    ensure!(toasts.len() == 1, "one message expected, the page shows {toasts:?}");
    support::notes_are(client, &before).await?;
    browser.shot("bad-input-garbage-peer").await?;

    // A frame from a newer protocol: the browser asks its user to update.
    let frames = vec![rogue::frame_from_the_future()];
    let outcome = rogue::misbehave(&signal, &url, When::AfterTheirHello, frames, limit).await?;
    ensure!(outcome.bye.as_deref().is_some_and(|r| r.contains("newer")), "{outcome:?}");
    support::toast(client, "newer version of Corkboard").await?;
    support::notes_are(client, &before).await?;

    // Garbage the moment the channel opens, before the browser has set up
    // its side: refused all the same (nothing is read unchecked, nothing lost).
    let outcome = rogue::misbehave(&signal, &url, When::AtOnce, vec![rogue::garbage()], limit).await?;
    ensure!(outcome.bye.as_deref().is_some_and(|r| r.contains("not a Corkboard frame")), "{outcome:?}");
    support::notes_are(client, &before).await?;

    // Still usable: nobody connected, the board as it was, a new note works.
    check::peers(client, 0).await?;
    support::add_note(client, 560.0, 320.0, "After the rogue").await?;
    check::count(client, find::NOTE, before.len() + 1).await?;
    browser.close().await
}
