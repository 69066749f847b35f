//! A board by touch on a phone-size screen (390×844, touch emulated, input
//! through the DevTools protocol's `Input.dispatchTouchEvent`): one finger
//! drags a note (and the native peer gets the move), a long press opens
//! the card's menu and recolours it, a double tap makes a note, two
//! fingers pinch to zoom and pan. The phone layout is looked at in light and dark.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use corkboard_e2e::harness::{Browser, NativePeer, Signaling, cdp};
use corkboard_e2e::{check, find};
use fantoccini::Client;
use serde_json::{Value, json};

use crate::support;

async fn touch(client: &Client, kind: &str, points: &[(f64, f64)]) -> Result<()> {
    let points: Vec<Value> =
        points.iter().enumerate().map(|(id, (x, y))| json!({ "x": x, "y": y, "id": id })).collect();
    cdp(client, "Input.dispatchTouchEvent", json!({ "type": kind, "touchPoints": points })).await?;
    Ok(())
}

/// Fingers moving from `from` to `to` (one point each) in `steps` steps, then lifted.
async fn swipe(client: &Client, from: &[(f64, f64)], to: &[(f64, f64)], steps: usize) -> Result<()> {
    touch(client, "touchStart", from).await?;
    for step in 1..=steps {
        let t = step as f64 / steps as f64;
        let now: Vec<(f64, f64)> =
            from.iter().zip(to).map(|(a, b)| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)).collect();
        touch(client, "touchMove", &now).await?;
        tokio::time::sleep(Duration::from_millis(16)).await;
    }
    touch(client, "touchEnd", &[]).await
}

async fn tap(client: &Client, at: (f64, f64)) -> Result<()> {
    touch(client, "touchStart", &[at]).await?;
    tokio::time::sleep(Duration::from_millis(40)).await;
    touch(client, "touchEnd", &[]).await
}

/// The middle of card `id` on screen.
async fn card_centre(client: &Client, id: &str) -> Result<(f64, f64)> {
    let r = client
        .execute(
            "const r = document.querySelector(`[data-card-id=\"${arguments[0]}\"]`).getBoundingClientRect();
             return [r.left + r.width / 2, r.top + r.height / 2];",
            vec![json!(id)],
        )
        .await?;
    Ok((r[0].as_f64().context("x")?, r[1].as_f64().context("y")?))
}

/// The world's translation and zoom as drawn.
async fn camera(client: &Client) -> Result<(f64, f64, f64)> {
    let v = client
        .execute(
            "const m = /translate\\(([-\\d.e]+)px, ?([-\\d.e]+)px\\) scale\\(([-\\d.e]+)\\)/
               .exec(document.querySelector('.world').style.transform);
             return m ? [+m[1], +m[2], +m[3]] : null;",
            vec![],
        )
        .await?;
    Ok((v[0].as_f64().context("x")?, v[1].as_f64().context("y")?, v[2].as_f64().context("zoom")?))
}

/// Makes `client` a phone: 390×844 CSS px, touch, a mobile viewport.
pub async fn be_a_phone(client: &Client) -> Result<()> {
    cdp(
        client,
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
    )
    .await?;
    cdp(client, "Emulation.setTouchEmulationEnabled", json!({ "enabled": true, "maxTouchPoints": 5 }))
        .await?;
    Ok(())
}

pub async fn dark(client: &Client, dark: bool) -> Result<()> {
    let scheme = if dark { "dark" } else { "light" };
    cdp(
        client,
        "Emulation.setEmulatedMedia",
        json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
    )
    .await?;
    // Past the colours' transitions (0.12 s), so a screenshot shows them settled.
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_drags_long_presses_double_taps_pinches_and_pans() -> Result<()> {
    let signaling = Signaling::start()?;
    let native = NativePeer::new("touch-native")?;
    let link = native.new_board("Pocket")?;
    let first = native.add_note(&link, "# Groceries\n\n- [ ] milk", 20.0, 40.0)?;
    let second = native.add_note(&link, "Call *Sam*", 20.0, 300.0)?;
    let serve = native.spawn_serve(&signaling.url(), &[])?;

    let phone = Browser::start().await?;
    let p = phone.client();
    be_a_phone(p).await?;
    phone.open(&signaling.board_url(&link)?).await?;
    check::count(p, find::NOTE, 2).await?;
    check::peers(p, 1).await?;
    let matches_coarse: Value = p.execute("return matchMedia('(pointer: coarse)').matches", vec![]).await?;
    ensure!(matches_coarse == json!(true), "the page does not see a touch screen");
    let overflow: Value = p
        .execute(
            "return [document.documentElement.scrollWidth, document.querySelector('.topbar').scrollWidth]",
            vec![],
        )
        .await?;
    ensure!(overflow[0].as_f64() <= Some(390.0), "the page is wider than the phone: {overflow}");
    phone.shot("touch-phone").await?;
    dark(p, true).await?;
    phone.shot("touch-phone-dark").await?;
    dark(p, false).await?;

    // One finger drags a note; the move reaches the native peer.
    let before = support::card_look(p, &first).await?;
    let (cx, cy) = card_centre(p, &first).await?;
    swipe(p, &[(cx, cy)], &[(cx + 120.0, cy + 60.0)], 12).await?;
    let (zoom_before, after) = (camera(p).await?.2, support::card_look(p, &first).await?);
    let moved = (after["x"].as_f64().unwrap_or(0.0) - before["x"].as_f64().unwrap_or(0.0)) * zoom_before;
    ensure!(
        (moved - 120.0).abs() < 12.0,
        "the note moved {moved} px under a 120 px drag: {before} → {after}"
    );
    let x = after["x"].as_f64().context("x")?;
    check::on_page(p, "the native peer to get the move", || async {
        let shown = native.show(&link)?;
        let card =
            shown["cards"].as_array().and_then(|c| c.iter().find(|c| c["id"] == json!(first))).cloned();
        let there = card.and_then(|c| c["x"].as_f64());
        ensure!(there.is_some_and(|there| (there - x).abs() < 0.5), "the peer has x = {there:?}, not {x}");
        Ok(())
    })
    .await?;

    // A double tap on empty space makes a note, ready to type in.
    let notes = support::note_ids(p).await?;
    let empty = (300.0, 650.0);
    tap(p, empty).await?;
    tokio::time::sleep(Duration::from_millis(80)).await;
    tap(p, empty).await?;
    let new_note = check::on_page(p, "a note made by a double tap", || async {
        let now = support::note_ids(p).await?;
        now.into_iter().find(|id| !notes.contains(id)).context("no new note yet")
    })
    .await?;
    check::focused(p, &find::note_text(&new_note)).await?;
    tap(p, (60.0, 700.0)).await?;

    // A long press on a note selects it and opens its menu; a colour there recolours it.
    let (cx, cy) = card_centre(p, &second).await?;
    touch(p, "touchStart", &[(cx, cy)]).await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    touch(p, "touchEnd", &[]).await?;
    check::element(p, r#"[data-testid="card-menu"]"#).await.context("no menu after a long press")?;
    phone.shot("touch-card-menu").await?;
    let swatch = p.find(fantoccini::Locator::Css(r#"[data-testid="card-menu-color-3"]"#)).await?;
    let rect = swatch.rectangle().await?;
    tap(p, (rect.0 + rect.2 / 2.0, rect.1 + rect.3 / 2.0)).await?;
    check::absent(p, r#"[data-testid="card-menu"]"#).await?;
    check::on_page(p, "the long-pressed note to be yellow", || async {
        let look = support::card_look(p, &second).await?;
        ensure!(look["bg"] == json!("#fff2a8"), "it looks like {look}");
        Ok(())
    })
    .await?;
    // Two fingers spreading apart zoom in around their midpoint.
    let (x0, y0, zoom0) = camera(p).await?;
    swipe(p, &[(150.0, 600.0), (240.0, 600.0)], &[(100.0, 600.0), (290.0, 600.0)], 10).await?;
    let (_, _, zoom1) = camera(p).await?;
    ensure!(zoom1 > zoom0 * 1.8, "a pinch from 90 px to 190 px zoomed {zoom0} → {zoom1}");
    // The board point under the fingers' midpoint stayed under it.
    let (x1, y1, _) = camera(p).await?;
    let mid = (195.0, 600.0);
    let board_y = |y: f64, cy: f64, z: f64| (y - cy) / z;
    let top =
        p.execute("return document.querySelector('.board').getBoundingClientRect().top", vec![]).await?;
    let top = top.as_f64().unwrap_or(0.0);
    let (before_mid, after_mid) = (board_y(mid.1 - top, y0, zoom0), board_y(mid.1 - top, y1, zoom1));
    ensure!(
        (before_mid - after_mid).abs() < 3.0,
        "the pinch drifted: {before_mid} → {after_mid} (x {x0} → {x1})"
    );

    // Two fingers moving together pan without zooming.
    swipe(p, &[(150.0, 500.0), (240.0, 500.0)], &[(150.0, 620.0), (240.0, 620.0)], 10).await?;
    let (_, y2, zoom2) = camera(p).await?;
    ensure!((zoom2 - zoom1).abs() < 0.02, "a two-finger pan zoomed {zoom1} → {zoom2}");
    ensure!((y2 - y1 - 120.0).abs() < 8.0, "a 120 px two-finger pan moved the board {} px", y2 - y1);

    phone.shot("touch-after").await?;

    phone.close().await?;
    serve.stop();
    Ok(())
}
