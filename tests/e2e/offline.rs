//! Two browsers on one board both work offline: each edits the same note
//! (one at its end, one at its start) and adds a note of its own, seeing
//! only its own changes; once both are back online their boards are the
//! same, with both edits to the shared note.

use anyhow::{Result, ensure};
use corkboard_e2e::harness::Signaling;
use corkboard_e2e::{check, find};
use fantoccini::key::Key;

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_merge_when_both_reconnect() -> Result<()> {
    let signaling = Signaling::start()?;
    let (alice, bob, _url) = support::two_on_a_board(&signaling).await?;
    let (a, b) = (alice.client(), bob.client());
    check::count(a, find::PERSON, 2).await?;
    let shared = support::add_note(a, 240.0, 160.0, "Pack the tent").await?;
    check::value_is(b, &find::note_text(&shared), "Pack the tent").await?;
    support::click_empty(a, 700.0, 500.0).await?;

    // Both go offline.
    support::set_offline(a, true).await?;
    support::set_offline(b, true).await?;
    for client in [a, b] {
        check::text_contains(client, find::STATUS, "Offline").await?;
        check::peers(client, 0).await?;
        // Nobody else is shown as here any more.
        check::count(client, find::PERSON, 1).await?;
    }

    // The same note, edited at both ends, and a note each.
    support::type_in_note(a, &shared, Key::End, " and the stove").await?;
    support::type_in_note(b, &shared, Key::Home, "Saturday: ").await?;
    check::value_is(a, &find::note_text(&shared), "Pack the tent and the stove").await?;
    check::value_is(b, &find::note_text(&shared), "Saturday: Pack the tent").await?;
    support::click_empty(a, 700.0, 500.0).await?;
    support::click_empty(b, 700.0, 500.0).await?;
    let from_alice = support::add_note(a, 520.0, 320.0, "Alice was offline").await?;
    let from_bob = support::add_note(b, 300.0, 420.0, "Bob was offline").await?;
    support::click_empty(a, 900.0, 600.0).await?;
    support::click_empty(b, 900.0, 600.0).await?;

    // Offline, each sees only its own work.
    let alone_a = support::notes(a).await?;
    let alone_b = support::notes(b).await?;
    ensure!(
        alone_a.len() == 2 && !alone_a.contains_key(&from_bob),
        "Alice's notes while offline: {alone_a:?}"
    );
    ensure!(
        alone_b.len() == 2 && !alone_b.contains_key(&from_alice),
        "Bob's notes while offline: {alone_b:?}"
    );
    for client in [a, b] {
        check::text_contains(client, find::STATUS, "Offline").await?;
    }
    alice.shot("offline-alice-alone").await?;

    // Back online: the boards converge.
    support::set_offline(a, false).await?;
    support::set_offline(b, false).await?;
    check::peers(a, 1).await?;
    check::peers(b, 1).await?;
    check::count(a, find::PERSON, 2).await?;
    check::count(b, find::PERSON, 2).await?;
    let expected = [
        (shared.clone(), "Saturday: Pack the tent and the stove".to_owned()),
        (from_alice, "Alice was offline".to_owned()),
        (from_bob, "Bob was offline".to_owned()),
    ]
    .into_iter()
    .collect();
    support::notes_are(a, &expected).await?;
    support::notes_are(b, &expected).await?;
    bob.shot("offline-bob-merged").await?;

    bob.close().await?;
    alice.close().await
}
