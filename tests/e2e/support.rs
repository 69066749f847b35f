//! Steps several scenarios share: making a board in a browser, joining it
//! from another, reading what a card looks like, editing a note's text at a
//! chosen place, reading every note, choosing a file.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use corkboard_e2e::harness::{Browser, Signaling};
use corkboard_e2e::{action, check, find};
use fantoccini::Client;
use fantoccini::key::Key;
use serde_json::{Value, json};

/// Creates a board from the home screen; its share URL.
pub async fn new_board(browser: &Browser, url: &str) -> Result<String> {
    let client = browser.client();
    browser.open(url).await?;
    action::click(client, find::NEW_BOARD).await?;
    check::element(client, find::BOARD).await?;
    check::script(client, "a board URL", "return location.hash.includes('key=') ? location.href : ''", vec![])
        .await
        .map(|v| v.as_str().unwrap_or_default().to_owned())
}

/// Two browsers connected on a new board (Alice made it, Bob opened its
/// link): `(alice, bob, board URL)`.
pub async fn two_on_a_board(signaling: &Signaling) -> Result<(Browser, Browser, String)> {
    let alice = Browser::start().await?;
    let bob = Browser::start().await?;
    let url = new_board(&alice, &signaling.url()).await?;
    bob.open(&url).await?;
    check::peers(alice.client(), 1).await?;
    check::peers(bob.client(), 1).await?;
    Ok((alice, bob, url))
}

/// Double-clicks empty board space at (x, y) and types `text` into the new note; its id.
pub async fn add_note(client: &Client, x: f64, y: f64, text: &str) -> Result<String> {
    let before = note_ids(client).await?;
    let board = check::element(client, find::BOARD).await?;
    action::double_click(client, &board, x, y).await?;
    let id = check::on_page(client, "a new note", || async {
        let now = note_ids(client).await?;
        now.into_iter().find(|id| !before.contains(id)).context("no new note yet")
    })
    .await?;
    check::focused(client, &find::note_text(&id)).await?;
    action::type_text(client, text).await?;
    check::value_is(client, &find::note_text(&id), text).await?;
    Ok(id)
}

pub async fn note_ids(client: &Client) -> Result<Vec<String>> {
    let value = client
        .execute(
            "return [...document.querySelectorAll('[data-card-id][data-kind=\"note\"]')].map(e => e.dataset.cardId)",
            vec![],
        )
        .await?;
    Ok(value
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default())
}

/// A card's geometry and colour as drawn: `{x, y, w, h, bg}` (from its inline style).
pub async fn card_look(client: &Client, id: &str) -> Result<Value> {
    client
        .execute(
            "const e = document.querySelector(`[data-card-id=\"${arguments[0]}\"]`);
             if (!e) return null;
             const m = /translate\\(([-\\d.e]+)px, ?([-\\d.e]+)px\\)/.exec(e.style.transform) || [];
             return { x: +m[1], y: +m[2], w: parseFloat(e.style.width), h: parseFloat(e.style.height),
                      bg: e.style.getPropertyValue('--card-bg') || null };",
            vec![json!(id)],
        )
        .await
        .context("reading a card")
}

/// Waits until `client` draws card `id` exactly as `expected` (from [`card_look`]).
pub async fn card_looks(client: &Client, id: &str, expected: &Value) -> Result<()> {
    check::on_page(client, format!("card {id} to look like {expected}"), || async {
        let look = card_look(client, id).await?;
        anyhow::ensure!(look == *expected, "it looks like {look}");
        Ok(())
    })
    .await
}

/// Clicks empty space (deselects, ends editing) at (x, y) of the board.
pub async fn click_empty(client: &Client, x: f64, y: f64) -> Result<()> {
    let board = check::element(client, find::BOARD).await?;
    action::click_at(client, &board, x, y).await
}

/// Sets the "work offline" switch.
pub async fn set_offline(client: &Client, offline: bool) -> Result<()> {
    let switch = check::element(client, find::OFFLINE_SWITCH).await?;
    if switch.is_selected().await? != offline {
        switch.click().await?;
    }
    check::text_contains(client, find::STATUS, if offline { "Offline" } else { "Online" }).await?;
    Ok(())
}

/// Every note on the page: its id and the current value of its text.
pub async fn notes(client: &Client) -> Result<BTreeMap<String, String>> {
    let value = client
        .execute(
            "return [...document.querySelectorAll(arguments[0])]
                 .map(e => [e.dataset.cardId, (e.querySelector('textarea') || {}).value ?? null]);",
            vec![json!(find::NOTE)],
        )
        .await
        .context("reading the notes")?;
    let mut notes = BTreeMap::new();
    for pair in value.as_array().into_iter().flatten() {
        let (Some(id), Some(text)) = (pair[0].as_str(), pair[1].as_str()) else {
            bail!("a note without an id or text: {pair}");
        };
        notes.insert(id.to_owned(), text.to_owned());
    }
    Ok(notes)
}

/// Waits until `client` shows exactly these notes (ids and texts).
pub async fn notes_are(client: &Client, expected: &BTreeMap<String, String>) -> Result<()> {
    check::on_page(client, format!("the notes {expected:?}"), || async {
        let shown = notes(client).await?;
        ensure!(shown == *expected, "the page shows {shown:?}");
        Ok(())
    })
    .await
}

/// Starts editing note `id` (double-click), puts the caret at `caret`
/// (`Key::Home` or `Key::End` in a one-line note) and types `text`.
pub async fn type_in_note(client: &Client, id: &str, caret: Key, text: &str) -> Result<()> {
    action::double_click_on(client, &find::card(id), 100.0, 100.0).await?;
    check::focused(client, &find::note_text(id)).await?;
    action::press(client, caret).await?;
    action::type_text(client, text).await
}

/// Waits until a toast says something containing `needle`.
pub async fn toast(client: &Client, needle: &str) -> Result<String> {
    let toast = check::text_contains(client, find::TOAST, needle).await?;
    Ok(toast.text().await?)
}

/// The texts of the toasts on the page now.
pub async fn toasts(client: &Client) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for toast in client.find_all(find::css(find::TOAST)).await? {
        texts.push(toast.text().await?);
    }
    Ok(texts)
}

/// Chooses `file` in the (hidden) file input `selector`, as a file picker would.
pub async fn choose_file_in(client: &Client, selector: &str, file: &Path) -> Result<()> {
    let path = file.canonicalize().with_context(|| format!("no file {}", file.display()))?;
    let input =
        check::on_page(client, "the file input", || async { Ok(client.find(find::css(selector)).await?) })
            .await?;
    let path = path.to_str().context("a file path that is not UTF-8")?;
    input.send_keys(path).await.with_context(|| format!("cannot choose {path}"))
}

/// Chooses `file` in the board's (hidden) image input, as a file picker would.
pub async fn choose_file(client: &Client, file: &Path) -> Result<()> {
    let path = file.canonicalize().with_context(|| format!("no file {}", file.display()))?;
    let input = check::on_page(client, "the image input", || async {
        Ok(client.find(find::css(find::IMAGE_INPUT)).await?)
    })
    .await?;
    let path = path.to_str().context("a file path that is not UTF-8")?;
    input.send_keys(path).await.with_context(|| format!("cannot choose {path}"))
}

/// Waits until an image card's picture has loaded at `width`×`height`
/// (its natural size): the image's bytes arrived whole and decode.
pub async fn image_shown(client: &Client, width: u32, height: u32) -> Result<()> {
    let script = "const i = document.querySelector(arguments[0]);
                  return !!i && i.complete && i.naturalWidth === arguments[1] && i.naturalHeight === arguments[2];";
    check::script(
        client,
        &format!("an image card showing a {width}×{height} picture"),
        script,
        vec![json!(find::IMAGE_PICTURE), json!(width), json!(height)],
    )
    .await
    .map(drop)
}
