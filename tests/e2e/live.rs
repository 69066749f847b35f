//! Two browsers on one board, live: what one does, the other shows within
//! seconds — new notes and their text, moves, resizes, colours, deletes, and
//! the other person's cursor.

use anyhow::Result;
use corkboard_e2e::harness::Signaling;
use corkboard_e2e::{action, check, find};
use fantoccini::key::Key;

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_see_each_others_edits_live() -> Result<()> {
    let signaling = Signaling::start()?;
    let (alice, bob, _url) = support::two_on_a_board(&signaling).await?;
    let (a, b) = (alice.client(), bob.client());

    // A note and its text.
    let id = support::add_note(a, 240.0, 160.0, "Plan the offsite").await?;
    check::value_is(b, &find::note_text(&id), "Plan the offsite").await?;

    // Typing more, in Bob's browser this time.
    support::click_empty(b, 700.0, 420.0).await?;
    action::double_click_on(b, &find::card(&id), 100.0, 100.0).await?;
    check::focused(b, &find::note_text(&id)).await?;
    action::press(b, Key::End).await?;
    action::type_text(b, " in May").await?;
    check::value_is(a, &find::note_text(&id), "Plan the offsite in May").await?;

    // Moving it in Alice's browser.
    support::click_empty(a, 700.0, 420.0).await?;
    action::drag_by(a, &find::card(&id), (60.0, 8.0), (180.0, 90.0)).await?;
    let look = support::card_look(a, &id).await?;
    support::card_looks(b, &id, &look).await?;

    // Resizing from its handle.
    action::drag_by(a, &format!("{} [data-handle=resize]", find::card(&id)), (4.0, 4.0), (80.0, 60.0))
        .await?;
    let resized = support::card_look(a, &id).await?;
    anyhow::ensure!(resized["w"] != look["w"], "the resize did not change the width: {resized}");
    support::card_looks(b, &id, &resized).await?;

    // A colour from the toolbar (the card is still selected).
    action::click(a, r#"[data-testid="color-3"]"#).await?;
    let coloured = support::card_look(a, &id).await?;
    anyhow::ensure!(!coloured["bg"].is_null(), "no colour: {coloured}");
    support::card_looks(b, &id, &coloured).await?;

    // Alice's cursor is visible to Bob, named.
    let board = check::element(a, find::BOARD).await?;
    action::click_at(a, &board, 500.0, 300.0).await?;
    check::element(b, r#"[data-testid="remote-cursor"]"#).await?;
    bob.shot("live-remote-cursor").await?;

    // Deleting in Bob's browser (Escape ends his editing of the note first).
    action::press(b, Key::Escape).await?;
    action::click(b, &find::card(&id)).await?;
    action::press(b, Key::Delete).await?;
    check::count(a, find::NOTE, 0).await?;
    check::count(b, find::NOTE, 0).await?;

    bob.close().await?;
    check::peers(a, 0).await?;
    alice.close().await
}
