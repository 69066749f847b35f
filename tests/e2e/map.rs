//! A board as a map of ideas, live between two browsers and a native peer
//! (one `[data-edge-id]` element per edge, its label `[data-label-of]`):
//! edges and groups made by `corkboard-peer` show in the browsers, a
//! Markdown note shows formatted, an edge drawn from a card's handle in one
//! browser reaches the other and the native peer, edges follow a card
//! another person moves, a deleted edge goes everywhere, `Ctrl+G` groups
//! the selection, and `Ctrl+F` finds text in notes and edge labels.

use anyhow::{Context, Result, ensure};
use corkboard_e2e::harness::{Browser, NativePeer, Signaling};
use corkboard_e2e::{action, check, find};
use fantoccini::key::Key;
use serde_json::Value;

use crate::support;

fn edges(shown: &Value) -> Vec<Value> {
    shown["edges"].as_array().cloned().unwrap_or_default()
}

fn edge_between(from: &str, to: &str) -> String {
    format!(r#"[data-edge-id][data-from="{from}"][data-to="{to}"]"#)
}

/// The drawn curve of an edge (its `d`), as the page has it now.
async fn curve(client: &fantoccini::Client, selector: &str) -> Result<String> {
    let line = check::element(client, &format!("{selector} .edge-line")).await?;
    line.attr("d").await?.context("an edge line without a path")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edges_groups_and_markdown_work_live_between_browsers_and_a_native_peer() -> Result<()> {
    let signaling = Signaling::start()?;
    let native = NativePeer::new("map-native")?;
    let link = native.new_board("Map")?;
    let plan = native.add_note(&link, "# Plan\n\n- [ ] tickets\n- [x] dates\n\n**soon**", 60.0, 60.0)?;
    let book = native.add_note(&link, "Book", 500.0, 60.0)?;
    let hotel = native.add_note(&link, "Hotel", 900.0, 60.0)?;
    let then =
        native.run_ok(&["connect", "--board", &link, "--from", &plan, "--to", &book, "--label", "then"])?;
    let trip = native.run_ok(&[
        "add-group",
        "--board",
        &link,
        "--label",
        "Trip",
        "--x",
        "20",
        "--y",
        "20",
        "--width",
        "760",
        "--height",
        "260",
    ])?;
    let _serve = native.spawn_serve(&signaling.url(), &[])?;

    let (alice, bob) = (Browser::start().await?, Browser::start().await?);
    let (a, b) = (alice.client(), bob.client());
    alice.open(&signaling.board_url(&link)?).await?;
    bob.open(&signaling.board_url(&link)?).await?;

    // What the native peer made, drawn in both browsers.
    for client in [a, b] {
        let edge = check::element(client, &edge_between(&plan, &book)).await?;
        check::count(client, "[data-edge-id]", 1).await?;
        ensure!(edge.attr("data-edge-id").await?.as_deref() == Some(then.as_str()), "the edge's id");
        check::text_contains(client, &format!(r#"[data-label-of="{then}"]"#), "then").await?;
        check::text_contains(client, &format!(r#"[data-card-id="{trip}"][data-kind="group"]"#), "Trip")
            .await?;
        check::text_contains(client, &format!("{} h1", find::card(&plan)), "Plan").await?;
        check::count(client, &format!("{} input[type=checkbox]", find::card(&plan)), 2).await?;
        check::text_contains(client, &format!("{} strong", find::card(&plan)), "soon").await?;
    }
    alice.shot("map-from-the-native-peer").await?;

    // Alice draws an edge from Book's right-hand handle to Hotel.
    let book_card = check::element(a, &find::card(&book)).await?;
    let (_, _, width, height) = book_card.rectangle().await?;
    action::drag(a, &book_card, (width, height / 2.0), (400.0 - width + 60.0, 0.0)).await?;
    check::element(a, &edge_between(&book, &hotel)).await?;
    check::element(b, &edge_between(&book, &hotel)).await?;
    check::native(&native, &link, "the native peer has the drawn edge", |shown| {
        edges(shown).iter().any(|e| e["from"] == book.as_str() && e["to"] == hotel.as_str())
    })
    .await?;

    // Bob moves Plan: Alice's edge from Plan follows it.
    let before = curve(a, &edge_between(&plan, &book)).await?;
    action::drag_by(b, &find::card(&plan), (110.0, 130.0), (0.0, 90.0)).await?;
    check::on_page(a, "the edge follows the card Bob moved", || async {
        let now = curve(a, &edge_between(&plan, &book)).await?;
        ensure!(now != before, "the edge is still drawn at {now}");
        Ok(())
    })
    .await?;

    // Alice selects the labelled edge and relabels it in place: Bob and
    // the native peer see the new label.
    action::click(a, &format!(r#"[data-label-of="{then}"]"#)).await?;
    action::click(a, r#"[data-testid="edge-label"]"#).await?;
    check::focused(a, r#"[data-testid="edge-label-input"]"#).await?;
    // WebDriver types at the end of the text: "then" goes first.
    let erase: String = std::iter::repeat_n(char::from(Key::Backspace), "then".len()).collect();
    action::type_text(a, &format!("{erase}after that")).await?;
    alice.shot("map-edge-label-editing").await?;
    action::press(a, Key::Enter).await?;
    check::absent(a, r#"[data-testid="edge-label-input"]"#).await?;
    check::text_contains(b, &format!(r#"[data-label-of="{then}"]"#), "after that").await?;
    check::native(&native, &link, "the native peer has the new label", |shown| {
        edges(shown).iter().any(|e| e["id"] == then.as_str() && e["label"] == "after that")
    })
    .await?;
    // …and deletes it: gone everywhere.
    check::element(a, r#"[data-testid="delete-edge"]"#).await?;
    action::press(a, Key::Delete).await?;
    check::absent(b, &edge_between(&plan, &book)).await?;
    check::native(&native, &link, "the native peer lost the deleted edge", |shown| {
        !edges(shown).iter().any(|e| e["id"] == then.as_str())
    })
    .await?;

    // Bob groups Hotel with Ctrl+G.
    action::click_at(b, &check::element(b, &find::card(&hotel)).await?, 100.0, 120.0).await?;
    action::chord(b, &[Key::Control], 'g').await?;
    check::count(a, r#"[data-card-id][data-kind="group"]"#, 2).await?;
    // …and names it in place, at once: the name reaches everyone.
    check::focused(b, r#"[data-testid="group-label-input"]"#).await?;
    action::type_text(b, "Stay").await?;
    action::press(b, Key::Enter).await?;
    check::absent(b, r#"[data-testid="group-label-input"]"#).await?;
    check::text_contains(a, r#"[data-kind="group"] [data-testid="group-label"]"#, "Stay").await?;
    check::native(&native, &link, "the native peer has the new group", |shown| {
        shown["cards"]
            .as_array()
            .is_some_and(|cards| cards.iter().filter(|c| c["kind"] == "group").count() == 2)
            && shown.to_string().contains("Stay")
    })
    .await?;
    support::click_empty(a, 1100.0, 600.0).await?;
    alice.shot("map-edited-live").await?;

    // Find: Ctrl+F, a word in a note and in an edge's label; Enter goes on.
    let label = native
        .run_ok(&["connect", "--board", &link, "--from", &hotel, "--to", &plan, "--label", "Booked"])?;
    check::element(a, &format!(r#"[data-edge-id="{label}"]"#)).await?;
    action::chord(a, &[Key::Control], 'f').await?;
    check::focused(a, r#"[data-testid="find-input"]"#).await?;
    action::type_text(a, "book").await?;
    // In reading order: the edge (its cards' frame starts at Plan's left
    // edge, on Hotel's line), then the Book note.
    check::text_contains(a, r#"[data-testid="find-count"]"#, "1 of 2").await?;
    check::element(a, &format!(r#"[data-edge-id="{label}"].selected"#)).await?;
    action::press(a, Key::Enter).await?;
    check::text_contains(a, r#"[data-testid="find-count"]"#, "2 of 2").await?;
    check::element(a, &format!("{}.selected", find::card(&book))).await?;
    alice.shot("map-find").await?;
    action::press(a, Key::Escape).await?;
    check::absent(a, r#"[data-testid="find"]:not(.hidden)"#).await?;
    alice.close().await?;
    bob.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_obsidian_canvas_picked_in_the_browser_comes_onto_the_board_for_everyone() -> Result<()> {
    let signaling = Signaling::start()?;
    let native = NativePeer::new("canvas-native")?;
    let link = native.new_board("Imported here")?;
    let _serve = native.spawn_serve(&signaling.url(), &[])?;
    let browser = Browser::start().await?;
    let client = browser.client();
    browser.open(&signaling.board_url(&link)?).await?;
    check::element(client, find::BOARD_SAVED).await?;
    let canvas = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../board-canvas/tests/fixtures/obsidian.canvas");
    support::choose_file(client, &canvas).await?;
    // 8 nodes (the image's file is not in a single .canvas: a file card
    // keeping its path), 4 edges, 2 groups, the Markdown note formatted.
    check::count(client, find::CARD, 8).await?;
    check::count(client, "[data-edge-id]", 4).await?;
    check::count(client, r#"[data-card-id][data-kind="group"]"#, 2).await?;
    check::text_contains(client, "[data-card-id] h1", "Goals").await?;
    check::text_contains(client, "[data-label-of]", "what to bring").await?;
    support::toast(client, "Imported 8 cards and 4 edges").await?;
    check::native(&native, &link, "the native peer has the imported canvas", |shown| {
        edges(shown).len() == 4 && shown["cards"].as_array().is_some_and(|cards| cards.len() == 8)
    })
    .await?;
    action::click(client, r#"[data-testid="zoom-fit"]"#).await?;
    action::press(client, Key::Escape).await?;
    browser.shot("map-imported-canvas").await?;
    browser.close().await
}
