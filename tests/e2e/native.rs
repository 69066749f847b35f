//! A browser and `corkboard-peer serve` share a board both ways: a note made
//! natively before serving shows in the browser, a note typed in the browser
//! reaches the native peer's disk, a move made natively shows in the
//! browser, and both sides agree on every card's place, size and text.

use anyhow::{Context, Result, ensure};
use corkboard_e2e::harness::{Browser, NativePeer, Signaling};
use corkboard_e2e::{action, check, find};
use fantoccini::Client;
use fantoccini::key::Key;
use serde_json::Value;

use crate::support;

/// Whether `shown` (from `show --json`) has a note `id` with `text`.
fn has_note(shown: &Value, id: &str, text: &str) -> bool {
    cards(shown).iter().any(|card| card["id"] == id && card["kind"] == "note" && card["text"] == text)
}

fn cards(shown: &Value) -> Vec<Value> {
    shown["cards"].as_array().cloned().unwrap_or_default()
}

/// Waits until the browser draws every card of `shown` where the native
/// peer has it, at its size, with its text, and draws no other card.
async fn browser_agrees(client: &Client, shown: &Value) -> Result<()> {
    let expected = cards(shown);
    check::on_page(client, "the browser and the native peer agree on every card", || async {
        let notes = support::notes(client).await?;
        let drawn = client.find_all(find::css(find::CARD)).await?.len();
        ensure!(
            drawn == expected.len(),
            "the browser draws {drawn} cards, the native peer has {}",
            expected.len()
        );
        for card in &expected {
            let id = card["id"].as_str().context("a card without an id")?;
            let look = support::card_look(client, id).await?;
            for (native, drawn) in [("x", "x"), ("y", "y"), ("width", "w"), ("height", "h")] {
                let (want, got) = (card[native].as_f64(), look[drawn].as_f64());
                ensure!(want == got, "card {id}: {native} is {want:?} natively, {got:?} in the browser");
            }
            ensure!(
                card["text"].as_str() == notes.get(id).map(String::as_str),
                "card {id}: text {} natively, {:?} in the browser",
                card["text"],
                notes.get(id)
            );
        }
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_and_native_peer_share_a_board() -> Result<()> {
    let signaling = Signaling::start()?;
    let native = NativePeer::new("native")?;
    let link = native.new_board("Shared with a terminal")?;
    let native_note = native.add_note(&link, "Written in a terminal", 120.0, 80.0)?;
    let _serve = native.spawn_serve(&signaling.url(), &[])?;

    let browser = Browser::start().await?;
    let client = browser.client();
    browser.open(&signaling.board_url(&link)?).await?;
    check::peers(client, 1).await?;
    check::value_is(client, &find::note_text(&native_note), "Written in a terminal").await?;
    check::text_contains(client, find::TITLE, "Shared with a terminal").await?;

    // Browser → native.
    let web_note = support::add_note(client, 560.0, 320.0, "Typed in a browser").await?;
    support::click_empty(client, 900.0, 600.0).await?;
    let shown = check::native(&native, &link, "the native peer has the browser's note", |shown| {
        has_note(shown, &native_note, "Written in a terminal")
            && has_note(shown, &web_note, "Typed in a browser")
    })
    .await?;
    browser_agrees(client, &shown).await?;

    // Native → browser, while serve holds the board (through its inbox).
    native.run_ok(&["move", "--board", &link, "--card", &web_note, "--x", "40", "--y", "420"])?;
    let moved = check::native(&native, &link, "the native peer moved the note", |shown| {
        cards(shown)
            .iter()
            .any(|card| card["id"] == web_note.as_str() && card["x"] == 40.0 && card["y"] == 420.0)
    })
    .await?;
    browser_agrees(client, &moved).await?;
    browser.shot("native-agrees").await?;
    browser.close().await
}

/// Only the cards in or near the view are in the page: a note far off is
/// counted but not drawn, comes into the page when a peer moves it into
/// view and leaves when it goes, and the keyboard still reaches it (the
/// view goes to it and draws it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_far_from_the_view_are_left_out_of_the_page_until_it_comes_to_them() -> Result<()> {
    let signaling = Signaling::start()?;
    let native = NativePeer::new("culling")?;
    let link = native.new_board("A long way across")?;
    let near = native.add_note(&link, "Here", 120.0, 80.0)?;
    let far = native.add_note(&link, "Over there", 9_000.0, 6_000.0)?;
    let _serve = native.spawn_serve(&signaling.url(), &[])?;

    let browser = Browser::start().await?;
    let client = browser.client();
    browser.open(&signaling.board_url(&link)?).await?;
    check::value_is(client, &find::note_text(&near), "Here").await?;
    check::element(client, r#"[data-testid="board"][data-cards="2"][data-drawn="1"]"#).await?;
    check::absent(client, &find::card(&far)).await?;

    // A peer brings it into view, then takes it away again.
    native.run_ok(&["move", "--board", &link, "--card", &far, "--x", "500", "--y", "300"])?;
    check::value_is(client, &find::note_text(&far), "Over there").await?;
    check::element(client, r#"[data-testid="board"][data-drawn="2"]"#).await?;
    native.run_ok(&["move", "--board", &link, "--card", &far, "--x", "-8000", "--y", "-5000"])?;
    check::absent(client, &find::card(&far)).await?;
    check::element(client, r#"[data-testid="board"][data-cards="2"][data-drawn="1"]"#).await?;

    // The keyboard goes through every card, drawn or not: the view goes to
    // the far one (first in reading order now) and draws it.
    client.execute("document.querySelector(arguments[0]).focus()", vec![find::BOARD.into()]).await?;
    check::focused(client, find::BOARD).await?;
    action::press(client, Key::Tab).await?;
    check::focused(client, &find::card(&far)).await?;
    check::absent(client, &find::card(&near)).await?;
    browser.shot("culling-far-card-focused").await?;
    browser.close().await
}

/// A board with a long past arrives in parts: the page says it is still
/// receiving (the status and `data-receiving`) while the cards are already
/// drawn, and stops saying so once all of it is here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_with_a_long_past_says_it_is_still_arriving_until_it_has_all_of_it() -> Result<()> {
    let signaling = Signaling::start()?;
    let native = NativePeer::new("long-past")?;
    let mut key = [0u8; 32];
    peer::random::fill(&mut key);
    let link = board_key::link::ShareLink {
        board: uuid::Builder::from_random_bytes(peer::random::bytes16()).into_uuid(),
        key: board_key::BoardKey(key),
    };
    let moves = 60_000;
    let board = board_model::sample::worked_board(
        board_model::BoardId(link.board),
        board_model::ReplicaId(21),
        1_796_634_000_000,
        moves,
    )?;
    ensure!(board.ops_missing_from(&board_model::Version::empty()) > 2 * board_model::SYNC_PART_OPS);
    peer::storage::DataDir::open(native.data_dir())?.create(&link, &board)?;
    let _serve = native.spawn_serve(&signaling.url(), &[])?;

    let browser = Browser::start().await?;
    let client = browser.client();
    browser.open(&signaling.board_url(&link.to_app_link())?).await?;
    check::element(client, r#"[data-testid="board"][data-receiving="true"]"#).await?;
    check::text_contains(client, r#"[data-testid="status"]"#, "receiving the board").await?;
    browser.shot("long-past-receiving").await?;
    let cards = board_model::sample::WORKED_CARDS;
    check::element(
        client,
        &format!(r#"[data-testid="board"][data-receiving="false"][data-cards="{cards}"]"#),
    )
    .await?;
    check::absent(client, r#"[data-testid="status"] .receiving"#).await?;

    // The same join on a phone in the dark: the hint fits and reads.
    let phone = Browser::start().await?;
    crate::touch::be_a_phone(phone.client()).await?;
    crate::touch::dark(phone.client(), true).await?;
    phone.open(&signaling.board_url(&link.to_app_link())?).await?;
    check::element(phone.client(), r#"[data-testid="arriving-hint"]"#).await?;
    phone.shot("long-past-receiving-phone-dark").await?;
    check::element(
        phone.client(),
        &format!(r#"[data-testid="board"][data-receiving="false"][data-cards="{cards}"]"#),
    )
    .await?;
    phone.close().await?;
    browser.close().await
}
