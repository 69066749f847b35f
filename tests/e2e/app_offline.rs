//! The web app itself with no network: loaded once, it opens again from
//! its service worker with the signaling server stopped (and its port
//! black-holed, so nothing answers: a request would hang, not fail), lists
//! the board, opens it and takes an edit; the app says how much it stores.
//! When the server is back on the same address, the edit made while it was
//! gone reaches another browser.

use anyhow::{Context, Result, ensure};
use corkboard_e2e::harness::{self, Browser, Signaling};
use corkboard_e2e::{check, find};

use crate::support;

/// Waits until the page is controlled by the service worker and its cache
/// holds the app (the first load registers it; this is the moment a
/// person could go offline).
async fn app_kept(client: &fantoccini::Client) -> Result<()> {
    check::script(
        client,
        "the app kept by its service worker",
        "return (async () => {
           if (!navigator.serviceWorker.controller) return false;
           const names = (await caches.keys()).filter(n => n.startsWith('corkboard-app-'));
           if (names.length === 0) return false;
           const kept = await (await caches.open(names[names.length - 1])).keys();
           return kept.some(r => r.url.endsWith('.wasm')) && kept.some(r => r.url.endsWith('/'));
         })().catch(() => false);",
        vec![],
    )
    .await
    .map(|_| ())
}

/// Drops every packet to `port` on this machine (root only), undone on drop.
struct BlackHole(Option<String>);

impl BlackHole {
    fn port(port: u16) -> Result<BlackHole> {
        if !nix::unistd::Uid::effective().is_root() {
            println!("NOTE: not root, so the stopped server's port is refused rather than black-holed");
            return Ok(BlackHole(None));
        }
        let table = format!("corkboard_blackhole_{port}");
        let hole = BlackHole(Some(table.clone()));
        let chain = "{ type filter hook output priority 0; }".to_owned();
        let port = port.to_string();
        for args in [
            vec!["add", "table", "inet", &table],
            vec!["add", "chain", "inet", &table, "out", &chain],
            vec!["add", "rule", "inet", &table, "out", "tcp", "dport", &port, "drop"],
        ] {
            let status = std::process::Command::new("nft").args(&args).status().context("cannot run nft")?;
            ensure!(status.success(), "nft refused {}", args.join(" "));
        }
        Ok(hole)
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        if let Some(table) = &self.0 {
            let _ = std::process::Command::new("nft").args(["delete", "table", "inet", table]).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_opens_and_edits_with_the_server_gone_and_syncs_when_it_is_back() -> Result<()> {
    let signaling = Signaling::start()?;
    let addr = signaling.addr();
    let home = signaling.url();
    let alice = Browser::start().await?;
    let a = alice.client();
    let url = support::new_board(&alice, &home).await?;
    let first = support::add_note(a, 240.0, 160.0, "Written online").await?;
    support::click_empty(a, 700.0, 500.0).await?;
    check::element(a, find::BOARD_SAVED).await?;
    app_kept(a).await?;

    // The home screen says what this browser keeps.
    alice.open(&home).await?;
    let storage = check::element(a, r#"[data-testid="storage-use"]"#).await?;
    let said = storage.text().await?;
    ensure!(said.contains("stored in this browser"), "the storage line says {said:?}");
    alice.shot("app-offline-home-online").await?;

    // The server goes away, and its port answers nothing at all.
    drop(signaling);
    let hole = BlackHole::port(addr.port())?;
    a.refresh().await?;
    check::count(a, find::BOARD_ROW, 1).await.context("the home screen, opened with the server gone")?;
    alice.shot("app-offline-home").await?;
    alice.open(&url).await?;
    check::value_is(a, &find::note_text(&first), "Written online").await?;
    let second = support::add_note(a, 520.0, 320.0, "Written with the server gone").await?;
    support::click_empty(a, 900.0, 600.0).await?;
    check::element(a, find::BOARD_SAVED).await?;
    alice.shot("app-offline-board").await?;

    // A reload while it is still gone keeps the edit.
    a.refresh().await?;
    check::value_is(a, &find::note_text(&second), "Written with the server gone").await?;

    // Back on the same address: the edit reaches another browser.
    drop(hole);
    let signaling = Signaling::start_on(&addr.to_string(), Some(&harness::dist_dir()?))?;
    let bob = Browser::start().await?;
    let b = bob.client();
    bob.open(&url).await?;
    check::peers(b, 1).await.context("Alice's page never reconnected to the server that came back")?;
    check::value_is(b, &find::note_text(&second), "Written with the server gone").await?;
    check::value_is(b, &find::note_text(&first), "Written online").await?;
    bob.close().await?;
    alice.close().await?;
    drop(signaling);
    Ok(())
}

/// A copy of the built app in `dir` made into another build: its script
/// renamed (as a new build's hashed names differ), the page, the service
/// worker's file list and its version rewritten to match.
fn another_build(dir: &std::path::Path) -> Result<String> {
    let dist = harness::dist_dir()?;
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(&dist)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name()))?;
        }
    }
    let index = std::fs::read_to_string(dir.join("index.html"))?;
    let script = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|name| name.starts_with("corkboard-ui-") && name.ends_with(".js"))
        .context("no app script in the build")?;
    let renamed = script.replace(".js", "-next.js");
    std::fs::rename(dir.join(&script), dir.join(&renamed))?;
    std::fs::write(dir.join("index.html"), index.replace(&script, &renamed))?;
    let worker = std::fs::read_to_string(dir.join("service-worker.js"))?;
    let version = worker
        .lines()
        .find_map(|l| l.strip_prefix("const VERSION = \"")?.strip_suffix("\";"))
        .context("the service worker has no version")?
        .to_owned();
    let worker = worker.replace(&script, &renamed).replace(&version, &format!("{version}next"));
    std::fs::write(dir.join("service-worker.js"), worker)?;
    Ok(renamed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_build_is_used_whole_from_the_next_load_and_says_so() -> Result<()> {
    let signaling = Signaling::start()?;
    let addr = signaling.addr();
    let alice = Browser::start().await?;
    let a = alice.client();
    alice.open(&signaling.url()).await?;
    app_kept(a).await?;
    let old: serde_json::Value =
        a.execute("return document.querySelector('link[rel=modulepreload]').href", vec![]).await?;

    // The server now serves a new build.
    let next_dir = harness::temp_dir("next-build")?.join("dist");
    let next_script = another_build(&next_dir)?;
    drop(signaling);
    let signaling = Signaling::start_on(&addr.to_string(), Some(&next_dir))?;

    // This load is still the old build, whole; the new one arrives behind it.
    a.refresh().await?;
    check::element(a, find::NEW_BOARD).await?;
    let now: serde_json::Value =
        a.execute("return document.querySelector('link[rel=modulepreload]').href", vec![]).await?;
    ensure!(now == old, "the page changed build before the new one was kept: {now}");
    check::script(
        a,
        "the new build kept",
        "return (async () => {
           const name = (await caches.keys()).find(n => n.endsWith('next'));
           const kept = name && await (await caches.open(name)).match('./');
           const registration = await navigator.serviceWorker.getRegistration();
           return !!kept && !!registration && !registration.installing && !registration.waiting;
         })().catch(() => false);",
        vec![],
    )
    .await?;

    // The next load is the new build, every file of it, and says it was updated.
    a.refresh().await?;
    check::element(a, find::NEW_BOARD).await?;
    let loaded: serde_json::Value = a
        .execute(
            "return [document.querySelector('link[rel=modulepreload]').href,
                     performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('corkboard-ui-'))]",
            vec![],
        )
        .await?;
    ensure!(
        loaded[0].as_str().is_some_and(|href| href.ends_with(&next_script)),
        "the page is not the new build: {loaded}"
    );
    let old_script = old.as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned();
    ensure!(
        !loaded[1]
            .as_array()
            .is_some_and(|files| files.iter().any(|f| f.as_str().is_some_and(|f| f.ends_with(&old_script)))),
        "the new page loaded a file of the old build: {loaded}"
    );
    support::toast(a, "updated").await.context("no \"updated\" notice")?;
    alice.shot("app-updated").await?;
    alice.close().await?;
    drop(signaling);
    Ok(())
}
