//! What a user does: clicks, double-clicks, typing, key chords and drags,
//! through WebDriver actions so the page sees real pointer and keyboard
//! events. Positions are offsets from an element's top-left corner, in CSS
//! pixels. Helpers taking a selector first wait for the element
//! ([`check::element`]).

use std::time::Duration;

use anyhow::{Context, Result};
use fantoccini::Client;
use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions, PointerAction,
};
use fantoccini::elements::Element;
use fantoccini::key::Key;

use crate::check;

/// How many pointer moves a drag is split into (pages that react to
/// `pointermove` see a path, not a jump).
const DRAG_STEPS: u32 = 8;

/// Waits for `selector`, then clicks its centre; the element.
pub async fn click(client: &Client, selector: &str) -> Result<Element> {
    let element = check::element(client, selector).await?;
    element.click().await.with_context(|| format!("cannot click {selector}"))?;
    Ok(element)
}

/// A pointer move to `(x, y)` from `element`'s top-left corner (WebDriver
/// measures from the element's centre).
async fn move_to(element: &Element, x: f64, y: f64) -> Result<PointerAction> {
    let (_, _, width, height) = element.rectangle().await.context("cannot measure the element")?;
    Ok(PointerAction::MoveToElement {
        element: element.clone(),
        duration: None,
        x: x - width / 2.0,
        y: y - height / 2.0,
    })
}

/// Performs a mouse sequence, then releases every input.
async fn perform(client: &Client, mouse: MouseActions) -> Result<()> {
    client.perform_actions(mouse).await.context("WebDriver actions failed")?;
    client.release_actions().await.context("cannot release the inputs")?;
    Ok(())
}

/// Clicks at `(x, y)` from `element`'s top-left corner.
pub async fn click_at(client: &Client, element: &Element, x: f64, y: f64) -> Result<()> {
    let mouse = MouseActions::new("mouse".into())
        .then(move_to(element, x, y).await?)
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    perform(client, mouse).await
}

/// Double-clicks at `(x, y)` from `element`'s top-left corner.
pub async fn double_click(client: &Client, element: &Element, x: f64, y: f64) -> Result<()> {
    let mouse = MouseActions::new("mouse".into())
        .then(move_to(element, x, y).await?)
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    perform(client, mouse).await
}

/// Waits for `selector`, then double-clicks at `(x, y)` from its top-left
/// corner; the element.
pub async fn double_click_on(client: &Client, selector: &str, x: f64, y: f64) -> Result<Element> {
    let element = check::element(client, selector).await?;
    double_click(client, &element, x, y).await?;
    Ok(element)
}

/// The left button pressed at `grab` (from `element`'s top-left corner),
/// then moves by `by` in several steps.
async fn press_and_move(element: &Element, grab: (f64, f64), by: (f64, f64)) -> Result<MouseActions> {
    let step = (by.0 / f64::from(DRAG_STEPS), by.1 / f64::from(DRAG_STEPS));
    let mut mouse = MouseActions::new("mouse".into())
        .then(move_to(element, grab.0, grab.1).await?)
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT });
    for _ in 0..DRAG_STEPS {
        mouse = mouse.then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(20)),
            x: step.0,
            y: step.1,
        });
    }
    Ok(mouse)
}

/// Presses the left button at `grab` (from `element`'s top-left corner),
/// moves by `by` in several steps, and releases.
pub async fn drag(client: &Client, element: &Element, grab: (f64, f64), by: (f64, f64)) -> Result<()> {
    let mouse = press_and_move(element, grab, by).await?;
    perform(client, mouse.then(PointerAction::Up { button: MOUSE_BUTTON_LEFT })).await
}

/// Like [`drag`] without letting go: a drag still in the hand, for seeing
/// what others see of it. [`release`] ends it.
pub async fn hold_drag(client: &Client, element: &Element, grab: (f64, f64), by: (f64, f64)) -> Result<()> {
    let mouse = press_and_move(element, grab, by).await?;
    client.perform_actions(mouse).await.context("WebDriver actions failed")
}

/// Lets go of the left button held by [`hold_drag`].
pub async fn release(client: &Client) -> Result<()> {
    perform(client, MouseActions::new("mouse".into()).then(PointerAction::Up { button: MOUSE_BUTTON_LEFT }))
        .await
}

/// Waits for `selector`, then drags it from `grab` (from its top-left
/// corner) by `by`; the element.
pub async fn drag_by(client: &Client, selector: &str, grab: (f64, f64), by: (f64, f64)) -> Result<Element> {
    let element = check::element(client, selector).await?;
    drag(client, &element, grab, by).await?;
    Ok(element)
}

/// Types `text` into the focused element.
pub async fn type_text(client: &Client, text: &str) -> Result<()> {
    let focused = client.active_element().await.context("no focused element")?;
    focused.send_keys(text).await.context("cannot type")
}

/// Waits for `selector`, then types `text` into it (WebDriver focuses it
/// first); the element.
pub async fn type_into(client: &Client, selector: &str, text: &str) -> Result<Element> {
    let element = check::element(client, selector).await?;
    element.send_keys(text).await.with_context(|| format!("cannot type into {selector}"))?;
    Ok(element)
}

/// Presses and releases `key` (to whatever has the focus).
pub async fn press(client: &Client, key: Key) -> Result<()> {
    chord(client, &[], key.into()).await
}

/// Holds `modifiers`, presses `key`, releases everything: for example
/// `chord(client, &[Key::Control], 'z')`.
pub async fn chord(client: &Client, modifiers: &[Key], key: char) -> Result<()> {
    let mut keys = KeyActions::new("keyboard".into());
    for modifier in modifiers {
        keys = keys.then(KeyAction::Down { value: (*modifier).into() });
    }
    keys = keys.then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
    for modifier in modifiers.iter().rev() {
        keys = keys.then(KeyAction::Up { value: (*modifier).into() });
    }
    client.perform_actions(keys).await.context("WebDriver key actions failed")?;
    client.release_actions().await.context("cannot release the inputs")?;
    Ok(())
}
