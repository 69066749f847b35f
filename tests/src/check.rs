//! Waiting assertions. Every check polls (every [`POLL`]) until the state it
//! wants is reached, and fails only when it is never reached within a
//! generous deadline ([`deadline`], 20 s unless `CORKBOARD_E2E_DEADLINE`
//! says otherwise, in seconds). A test never fails because the machine was
//! slow, only because the state never came.
//!
//! A failed check saves a screenshot of the page when `CORKBOARD_E2E_SHOTS`
//! names a directory.

use std::fmt::Display;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use fantoccini::Client;
use fantoccini::elements::Element;
use tokio::time::Instant;

use crate::{find, harness};

/// How often a check looks again.
pub const POLL: Duration = Duration::from_millis(50);
/// The default deadline of a check.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The deadline of a check: `$CORKBOARD_E2E_DEADLINE` seconds if set, else
/// [`DEADLINE`].
pub fn deadline() -> Duration {
    std::env::var("CORKBOARD_E2E_DEADLINE")
        .ok()
        .and_then(|secs| secs.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEADLINE)
}

/// Calls `attempt` every [`POLL`] until it succeeds, within [`deadline`].
/// An error from `attempt` means "not yet"; the last one is reported if the
/// deadline passes. `what` describes the awaited state for that report.
pub async fn eventually<T, F, Fut>(what: impl Display, attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    eventually_within(deadline(), what, attempt).await
}

/// [`eventually`] with an explicit deadline.
pub async fn eventually_within<T, F, Fut>(limit: Duration, what: impl Display, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let start = Instant::now();
    let mut last = anyhow!("never tried");
    loop {
        // An attempt that hangs (a stuck WebDriver call) counts as failed
        // once the deadline has passed.
        let remaining = limit.saturating_sub(start.elapsed()).max(POLL);
        match tokio::time::timeout(remaining, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => last = error,
            Err(_) => last = anyhow!("the last attempt did not finish"),
        }
        if start.elapsed() >= limit {
            bail!("{what}: not reached within {:.1} s; last: {}", limit.as_secs_f64(), describe(&last));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// An error as a report line; a WebDriver error shows its kind and message
/// (its `Display` alone can be empty, as WebKitWebDriver's often are).
fn describe(error: &anyhow::Error) -> String {
    match error.downcast_ref::<fantoccini::error::CmdError>() {
        Some(fantoccini::error::CmdError::Standard(wd)) => {
            format!("webdriver error “{}”: {:?} {}", wd.error(), wd.message, wd.stacktrace)
        }
        Some(other) => format!("{other:?}"),
        None => format!("{error:#}"),
    }
}

/// [`eventually`] on a page: on failure, also saves a screenshot named
/// after `what` (see [`harness::save_shot`]).
pub async fn on_page<T, F, Fut>(client: &Client, what: impl Display, attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let what = what.to_string();
    let result = eventually(&what, attempt).await;
    if result.is_err() {
        let _ = harness::save_shot(client, &format!("failed-{what}")).await;
    }
    result
}

/// Waits for a displayed element matching `selector`; the first such.
pub async fn element(client: &Client, selector: &str) -> Result<Element> {
    on_page(client, format!("an element {selector} is shown"), || async {
        for element in client.find_all(find::css(selector)).await? {
            if element.is_displayed().await.unwrap_or(false) {
                return Ok(element);
            }
        }
        bail!("none shown")
    })
    .await
}

/// Waits until exactly `count` elements match `selector`; them.
pub async fn count(client: &Client, selector: &str, count: usize) -> Result<Vec<Element>> {
    on_page(client, format!("{count} elements {selector}"), || async {
        let found = client.find_all(find::css(selector)).await?;
        ensure!(found.len() == count, "{} found", found.len());
        Ok(found)
    })
    .await
}

/// Waits until nothing matches `selector`.
pub async fn absent(client: &Client, selector: &str) -> Result<()> {
    on_page(client, format!("no element {selector}"), || async {
        let found = client.find_all(find::css(selector)).await?;
        ensure!(found.is_empty(), "{} found", found.len());
        Ok(())
    })
    .await
}

/// Waits for an element matching `selector` whose text contains `needle`.
pub async fn text_contains(client: &Client, selector: &str, needle: &str) -> Result<Element> {
    on_page(client, format!("an element {selector} with text containing {needle:?}"), || async {
        let mut seen = Vec::new();
        for element in client.find_all(find::css(selector)).await? {
            let text = element.text().await?;
            if text.contains(needle) {
                return Ok(element);
            }
            seen.push(text);
        }
        bail!("texts seen: {seen:?}")
    })
    .await
}

/// Waits for an element matching `selector` (an input or textarea) whose
/// current value is exactly `expected`.
pub async fn value_is(client: &Client, selector: &str, expected: &str) -> Result<Element> {
    on_page(client, format!("an element {selector} with the value {expected:?}"), || async {
        let mut seen = Vec::new();
        for element in client.find_all(find::css(selector)).await? {
            let value = element.prop("value").await?.unwrap_or_default();
            if value == expected {
                return Ok(element);
            }
            seen.push(value);
        }
        bail!("values seen: {seen:?}")
    })
    .await
}

/// Waits until the focused element matches `selector`.
pub async fn focused(client: &Client, selector: &str) -> Result<()> {
    let script = "const e = document.activeElement; return !!e && e.matches(arguments[0]);";
    on_page(client, format!("the focus is on {selector}"), || async {
        let matches = client.execute(script, vec![selector.into()]).await?;
        ensure!(matches == serde_json::Value::Bool(true), "focus elsewhere");
        Ok(())
    })
    .await
}

/// Waits until `script` (a function body, given `args`) returns a truthy
/// value; that value. `what` names the awaited state.
pub async fn script(
    client: &Client,
    what: &str,
    script: &str,
    args: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    on_page(client, what, || async {
        let value = client.execute(script, args.clone()).await?;
        let truthy = match &value {
            serde_json::Value::Null => false,
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
            serde_json::Value::String(s) => !s.is_empty(),
            _ => true,
        };
        ensure!(truthy, "returned {value}");
        Ok(value)
    })
    .await
}

/// Waits until the connection status says `peers` peers are connected
/// (its text holds that number).
pub async fn peers(client: &Client, peers: usize) -> Result<()> {
    on_page(client, format!("{peers} connected peers in the status"), || async {
        let text = client.find(find::css(find::STATUS)).await?.text().await?;
        ensure!(numbers(&text).contains(&peers), "status says {text:?}");
        Ok(())
    })
    .await
}

/// The whole numbers written in `text`.
pub fn numbers(text: &str) -> Vec<usize> {
    text.split(|c: char| !c.is_ascii_digit()).filter_map(|run| run.parse().ok()).collect()
}

/// Waits until a native peer's `show --json` satisfies `ready`; that JSON.
pub async fn native<F>(
    peer: &harness::NativePeer,
    link: &str,
    what: &str,
    mut ready: F,
) -> Result<serde_json::Value>
where
    F: FnMut(&serde_json::Value) -> bool,
{
    eventually(what, || {
        let shown = peer.show(link).context("show");
        let ok = shown.as_ref().map(&mut ready).unwrap_or(false);
        async move {
            let shown = shown?;
            ensure!(ok, "the peer shows {shown}");
            Ok(shown)
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_status_text() {
        assert_eq!(numbers("Connected · 2 peers"), vec![2]);
        assert_eq!(numbers("offline"), Vec::<usize>::new());
        assert_eq!(numbers("12 of 30"), vec![12, 30]);
    }

    #[tokio::test]
    async fn eventually_reports_what_never_came() {
        let error = eventually_within(Duration::from_millis(120), "the impossible", || async {
            Err::<(), _>(anyhow!("no"))
        })
        .await
        .unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("the impossible") && message.contains("no"), "{message}");
    }

    #[tokio::test]
    async fn eventually_returns_once_reached() {
        let mut tries = 0;
        let value = eventually_within(Duration::from_secs(5), "three tries", || {
            tries += 1;
            let now = tries;
            async move {
                ensure!(now >= 3, "only {now}");
                Ok(now)
            }
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
    }
}
