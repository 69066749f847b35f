//! The board's past in the browser: Alice and Bob share a board; Bob
//! deletes a note; Alice opens the version history, drags the slider back
//! to before the delete (the note is drawn again, read-only, and Bob's
//! board is unchanged), restores that version (Bob gets the note back like
//! any edit), then copies an earlier moment to a new board. Looked at in
//! light and dark.

use anyhow::{Context, Result, ensure};
use corkboard_e2e::harness::Signaling;
use corkboard_e2e::{action, check, find};
use fantoccini::Client;
use serde_json::json;

use crate::support;

/// Moves the history slider to `step` as a person dragging it does.
async fn slide_to(client: &Client, step: u64) -> Result<()> {
    client
        .execute(
            "const s = document.querySelector('[data-testid=\"history-slider\"]');
             s.value = String(arguments[0]);
             s.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![json!(step)],
        )
        .await?;
    Ok(())
}

async fn slider_max(client: &Client) -> Result<u64> {
    let max = check::element(client, r#"[data-testid="history-slider"]"#).await?.attr("max").await?;
    max.context("the slider has no max")?.parse().context("the slider's max")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_shows_the_past_restores_it_for_everyone_and_copies_it() -> Result<()> {
    let signaling = Signaling::start()?;
    let (alice, bob, _url) = support::two_on_a_board(&signaling).await?;
    let (a, b) = (alice.client(), bob.client());
    let keep = support::add_note(a, 200.0, 160.0, "Keep this").await?;
    support::click_empty(a, 700.0, 500.0).await?;
    let doomed = support::add_note(a, 520.0, 160.0, "Deleted by Bob").await?;
    support::click_empty(a, 700.0, 500.0).await?;
    check::value_is(b, &find::note_text(&doomed), "Deleted by Bob").await?;

    // Bob deletes one note.
    let card = check::element(b, &format!(r#"[data-card-id="{doomed}"]"#)).await?;
    action::click_at(b, &card, 20.0, 8.0).await?;
    action::click(b, r#"[data-testid="delete"]"#).await?;
    check::absent(a, &format!(r#"[data-card-id="{doomed}"]"#)).await?;

    // Alice looks back.
    action::click(a, r#"[data-testid="file"]"#).await?;
    action::click(a, r#"[data-testid="open-history"]"#).await?;
    check::element(a, r#"[data-testid="history"]"#).await?;
    let sessions = check::count(a, r#"[data-testid="history-session"]"#, 1).await?;
    let said = sessions[0].text().await?;
    let who = said.lines().last().unwrap_or_default().split(" · ").next().unwrap_or_default();
    ensure!(who.split(", ").count() == 2, "the session should name both of them: {said:?}");
    let steps = slider_max(a).await?;
    ensure!(steps >= 3, "only {steps} changes in the history");
    slide_to(a, steps - 1).await?;
    check::value_is(a, &find::note_text(&doomed), "Deleted by Bob")
        .await
        .context("the past shows the note")?;
    check::element(a, r#"[data-testid="history-banner"]"#).await?;
    check::element(a, r#"[data-testid="board"][data-history="true"]"#).await?;
    alice.shot("history-past").await?;
    crate::touch::dark(a, true).await?;
    alice.shot("history-past-dark").await?;
    crate::touch::dark(a, false).await?;
    // Looking is not editing: Bob's board is as it was, and a double-click makes nothing.
    check::absent(b, &format!(r#"[data-card-id="{doomed}"]"#)).await?;
    let board = check::element(a, find::BOARD).await?;
    action::double_click(a, &board, 300.0, 520.0).await?;
    check::count(a, find::NOTE, 2).await?;

    // Restore: a new change, which Bob receives.
    action::click(a, r#"[data-testid="history-restore"]"#).await?;
    check::absent(a, r#"[data-testid="history"]"#).await?;
    check::value_is(a, &find::note_text(&doomed), "Deleted by Bob").await?;
    check::value_is(b, &find::note_text(&doomed), "Deleted by Bob")
        .await
        .context("Bob never got the restore")?;
    check::value_is(b, &find::note_text(&keep), "Keep this").await?;

    // Copy the moment after the first note to a new board.
    action::click(a, r#"[data-testid="file"]"#).await?;
    action::click(a, r#"[data-testid="open-history"]"#).await?;
    let steps = slider_max(a).await?;
    let notes_at = |step: u64| async move {
        slide_to(a, step).await?;
        support::note_ids(a).await
    };
    let mut first_step = None;
    for step in 0..=steps {
        if notes_at(step).await?.len() == 1 {
            first_step = Some(step);
            break;
        }
    }
    let first_step = first_step.context("no moment with just the first note")?;
    slide_to(a, first_step).await?;
    let board_url: serde_json::Value = a.execute("return location.href", vec![]).await?;
    action::click(a, r#"[data-testid="history-copy"]"#).await?;
    check::script(a, "a new board", "return location.href !== arguments[0]", vec![board_url.clone()]).await?;
    check::count(a, find::NOTE, 1).await?;
    check::value_is(a, &find::note_text(&keep), "Keep this").await?;
    check::text_contains(a, find::TITLE, "(as on").await?;
    check::absent(a, r#"[data-testid="history"]"#).await?;
    check::peers(a, 0).await.context("the copy is a board of its own")?;
    alice.shot("history-copy").await?;

    bob.close().await?;
    alice.close().await?;
    Ok(())
}
