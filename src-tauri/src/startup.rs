//! Starting and stopping: the data directory (the platform's app data
//! directory, or `CORKBOARD_DATA_DIR`), the signaling server
//! (`CORKBOARD_SIGNAL`, default `http://127.0.0.1:8787`), the embedded node,
//! the link given on the command line, by the OS or by a second start of the
//! app, status events, and a clean shutdown that saves every board.

use std::path::PathBuf;
use std::time::Duration;

use board_key::link::ShareLink;
use desktop_wire::event;
use peer::node::{self, Config};
use peer::storage::DataDir;
use tauri::{App, AppHandle, Emitter, Manager, RunEvent};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::link;
use crate::state::{Desktop, lock};

pub const DEFAULT_SIGNAL: &str = "http://127.0.0.1:8787";

/// The signaling server the embedded peer uses (`CORKBOARD_SIGNAL`, else the default).
pub fn signal_url() -> String {
    std::env::var("CORKBOARD_SIGNAL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SIGNAL.to_owned())
}

pub fn setup(app: &mut App) -> Result<(), Box<dyn std::error::Error>> {
    let testing = std::env::var_os("CORKBOARD_DATA_DIR").is_some();
    let root = match std::env::var_os("CORKBOARD_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => app.path().app_data_dir()?,
    };
    let data = DataDir::open(&root)?;
    let signal_url = signal_url();
    tracing::info!(data = %root.display(), signal = %signal_url, "starting the embedded peer");
    let config = Config {
        signal_url,
        identity: crate::commands::default_identity(),
        transport: peer::transport::Options::default(),
        // A private CA for a self-hosted wss:// server, as for corkboard-peer.
        signal_ca: std::env::var_os("CORKBOARD_SIGNAL_CA").map(std::path::PathBuf::from),
        relay: false,
    };
    let node = tauri::async_runtime::block_on(async move { node::spawn(config, data) });

    let initial = link::from_arguments(std::env::args().skip(1)).map(|link| link.fragment());
    let mut status = node.status();
    app.manage(Desktop::new(node, initial));

    let handle = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let now = crate::commands::status_of(&status.borrow_and_update());
            if let Err(error) = handle.emit(event::STATUS, &now) {
                tracing::warn!(%error, "could not emit the status");
            }
            if status.changed().await.is_err() {
                return;
            }
        }
    });

    // Links the OS hands to the running app (macOS; elsewhere a link starts
    // the app, and a second start forwards it: `another_instance`).
    let handle = app.handle().clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            match ShareLink::parse_any(url.as_str()) {
                Ok(parsed) => open_link(&handle, parsed.fragment()),
                Err(error) => tracing::warn!(%error, "the OS handed over a link that is not a board link"),
            }
        }
    });
    // Be the corkboard:// handler (Linux and Windows; a test run leaves the desktop alone).
    #[cfg(any(target_os = "linux", windows))]
    if !testing && let Err(error) = app.deep_link().register_all() {
        tracing::warn!(%error, "could not register the corkboard:// link handler");
    }
    let _ = testing;
    Ok(())
}

/// A second start of the app: open the link it was given, or just come to the front.
pub fn another_instance(app: &AppHandle, arguments: Vec<String>, _cwd: String) {
    match link::from_arguments(arguments.into_iter().skip(1)) {
        Some(parsed) => open_link(app, parsed.fragment()),
        None => {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }
    }
}

/// Hands a link to the web app, or keeps it for `take_initial_link` when the
/// web app has not asked yet.
fn open_link(app: &AppHandle, fragment: String) {
    tracing::info!("opening a board link handed to the running app");
    if let Some(state) = app.try_state::<Desktop>() {
        let mut initial = lock(&state.initial_link);
        if !initial.taken {
            initial.link = Some(fragment.clone());
        }
    }
    if let Err(error) = app.emit(event::OPEN_LINK, fragment) {
        tracing::warn!(%error, "could not pass a link to the web app");
    }
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.set_focus();
    }
}

/// On exit: byes to every peer, every board saved.
pub fn on_run_event(app: &AppHandle, event: RunEvent) {
    if let RunEvent::Exit = event
        && let Some(state) = app.try_state::<Desktop>()
    {
        let node = state.node.clone();
        tauri::async_runtime::block_on(async move {
            if tokio::time::timeout(Duration::from_secs(3), node.shut_down()).await.is_err() {
                tracing::warn!("the embedded peer took too long to stop");
            }
        });
    }
}
