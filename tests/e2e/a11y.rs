//! An automated accessibility audit (axe-core, from npm, run in Chromium)
//! of the home screen and of a board with cards, edges and a group, in
//! light and dark: no serious or critical violations.

use anyhow::{Context, Result, bail};
use corkboard_e2e::harness::{Browser, NativePeer, Signaling, save_shot};
use corkboard_e2e::{check, find};
use fantoccini::Client;
use serde_json::Value;

/// axe-core's script: `$CORKBOARD_AXE` (`./x test` installs it), else the
/// place `./x` puts it.
fn axe_script() -> Result<String> {
    let path = match std::env::var_os("CORKBOARD_AXE") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
            .join(".cache/corkboard/tools/node_modules/axe-core/axe.min.js"),
    };
    std::fs::read_to_string(&path)
        .with_context(|| format!("axe-core is not at {} (./x test installs it)", path.display()))
}

/// Runs axe on the page; the serious and critical violations, described.
async fn audit(client: &Client, axe: &str) -> Result<Vec<String>> {
    client.execute(axe, vec![]).await.context("loading axe-core")?;
    let result: Value = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
               .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))
               .catch(e => done([{ id: 'axe-error', help: String(e), nodes: [] }]));",
            vec![],
        )
        .await?;
    Ok(result
        .as_array()
        .map(|violations| {
            violations
                .iter()
                .map(|v| format!("{} ({}): {}\n    {}", v["id"], v["impact"], v["help"], v["nodes"]))
                .collect()
        })
        .unwrap_or_default())
}

/// Audits the page in light and in dark (a screenshot of each named `shot`).
async fn audit_both_schemes(client: &Client, axe: &str, what: &str, shot: &str) -> Result<()> {
    let mut found = Vec::new();
    for dark in [false, true] {
        crate::touch::dark(client, dark).await?;
        save_shot(client, &format!("{shot}-{}", if dark { "dark" } else { "light" })).await?;
        for violation in audit(client, axe).await? {
            found.push(format!("{what}, {}: {violation}", if dark { "dark" } else { "light" }));
        }
    }
    crate::touch::dark(client, false).await?;
    if !found.is_empty() {
        bail!("accessibility violations:\n{}", found.join("\n"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_and_board_have_no_serious_accessibility_violations() -> Result<()> {
    let axe = axe_script()?;
    let signaling = Signaling::start()?;
    let native = NativePeer::new("a11y-native")?;
    let link = native.new_board("Audit")?;
    let plan = native.add_note(
        &link,
        "# Plan\n\n- [x] book\n- [ ] pack *light*\n\n[map](https://example.org)",
        40.0,
        40.0,
    )?;
    let next = native.add_note(&link, "Then the ferry", 420.0, 40.0)?;
    native.run_ok(&["connect", "--board", &link, "--from", &plan, "--to", &next, "--label", "then"])?;
    native.run_ok(&[
        "add-group",
        "--board",
        &link,
        "--label",
        "Trip",
        "--x",
        "0",
        "--y",
        "0",
        "--width",
        "760",
        "--height",
        "320",
    ])?;
    let serve = native.spawn_serve(&signaling.url(), &[])?;

    let browser = Browser::start().await?;
    let c = browser.client();
    browser.open(&signaling.board_url(&link)?).await?;
    check::count(c, find::NOTE, 2).await?;
    check::element(c, "[data-edge-id]").await?;
    audit_both_schemes(c, &axe, "a board", "a11y-board").await?;
    browser.open(&signaling.url()).await?;
    check::count(c, find::BOARD_ROW, 1).await?;
    audit_both_schemes(c, &axe, "the home screen", "a11y-home").await?;
    browser.close().await?;
    serve.stop();
    Ok(())
}
