//! The commands the web app calls through `window.__TAURI__.core.invoke`;
//! their names, arguments and results are `desktop_wire`'s. Boards travel
//! as share-link fragments; protocol frames travel raw: from the node on a
//! `Channel` as `ArrayBuffer`s, to the node as a raw request body with the
//! board's id in the [`desktop_wire::BOARD_HEADER`] header. Errors reach
//! JavaScript as strings.

use board_key::link::ShareLink;
use board_model::presence::Identity;
use desktop_wire::{BoardEntry, Invalid, Profile, Signaling, Status};
use peer::node::{LocalLink, NodeStatus, SignalingState};
use serde::Serialize;
use tauri::ipc::{Channel, InvokeBody, InvokeResponseBody, Request, Response};
use tauri::{State, WebviewWindow};

use crate::state::{Desktop, lock};

/// Why a command failed; serialised as its message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Link(#[from] board_key::link::Error),
    #[error("{0}")]
    Node(#[from] peer::node::Error),
    #[error("not a board id: {0}")]
    BadBoard(String),
    #[error("board {0} is not open")]
    NotOpen(String),
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("{0}")]
    Window(#[from] tauri::Error),
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

type Result<T, E = Error> = std::result::Result<T, E>;

fn board_id(text: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::try_parse(text.trim()).map_err(|_| Error::BadBoard(text.to_owned()))
}

#[tauri::command]
pub async fn list_boards(state: State<'_, Desktop>) -> Result<Vec<BoardEntry>> {
    let boards = state.node.list_boards().await?;
    Ok(boards
        .into_iter()
        .map(|summary| BoardEntry {
            board: summary.link.board.hyphenated().to_string(),
            key: summary.link.key_text(),
            title: summary.title,
            created_ms: summary.created_ms,
            last_opened_ms: summary.last_opened_ms,
            card_count: summary.card_count,
        })
        .collect())
}

/// Creates a board on disk; returns its fragment.
#[tauri::command]
pub async fn create_board(title: String, state: State<'_, Desktop>) -> Result<String> {
    let title = title.trim();
    let title = if title.is_empty() { "Untitled board" } else { title };
    let created = state.node.create_board(title.to_owned()).await?;
    Ok(created.fragment())
}

/// Removes this device's copy of a board.
#[tauri::command]
pub async fn delete_board(board: String, state: State<'_, Desktop>) -> Result<()> {
    let board = board_id(&board)?;
    lock(&state.links).remove(&board);
    state.node.delete_board(board).await?;
    Ok(())
}

/// Opens a board: the node serves it and attaches a local link whose frames
/// arrive on `on_frame`, each as an `ArrayBuffer`. Opening a board again
/// replaces its link (the old channel gets a bye).
#[tauri::command]
pub async fn open_board(
    fragment: String,
    on_frame: Channel<InvokeResponseBody>,
    state: State<'_, Desktop>,
) -> Result<()> {
    let link = ShareLink::parse_any(&fragment)?;
    let LocalLink { board, mut from_node, to_node } = state.node.open(link).await?;
    lock(&state.links).insert(board, to_node);
    tauri::async_runtime::spawn(async move {
        while let Some(frame) = from_node.recv().await {
            if let Err(error) = on_frame.send(InvokeResponseBody::Raw(frame)) {
                tracing::warn!(%error, %board, "could not hand a frame to the webview; closing the link");
                break;
            }
        }
    });
    Ok(())
}

/// One protocol frame from the UI: the raw request body, for the board in
/// the board header.
#[tauri::command]
pub async fn send_frame(request: Request<'_>, state: State<'_, Desktop>) -> Result<()> {
    let board = request
        .headers()
        .get(desktop_wire::BOARD_HEADER)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| Invalid("send_frame needs a `board` header".into()))?;
    let board = board_id(board)?;
    let InvokeBody::Raw(frame) = request.body() else {
        return Err(Invalid("send_frame takes the frame as raw bytes (a Uint8Array)".into()).into());
    };
    let links = lock(&state.links);
    let sender = links.get(&board).ok_or_else(|| Error::NotOpen(board.to_string()))?;
    sender.send(frame.clone()).map_err(|_| Error::NotOpen(board.to_string()))
}

/// Ends the board's local link (the board keeps syncing in the background).
#[tauri::command]
pub async fn close_board(board: String, state: State<'_, Desktop>) -> Result<()> {
    let board = board_id(&board)?;
    lock(&state.links).remove(&board);
    state.node.close_local(board).await?;
    Ok(())
}

/// Work offline: every peer connection closed, signaling left; `false` reconnects.
#[tauri::command]
pub async fn set_offline(offline: bool, state: State<'_, Desktop>) -> Result<()> {
    Ok(state.node.set_offline(offline).await?)
}

/// The name and colour remote peers see.
#[tauri::command]
pub async fn set_profile(name: String, color: String, state: State<'_, Desktop>) -> Result<()> {
    Ok(state.node.set_identity(identity(&name, &color)?).await?)
}

/// The STUN/TURN servers for connections made from now on; an empty list
/// means host candidates only (peers on one network need no more).
#[tauri::command]
pub async fn set_ice_servers(
    servers: Vec<desktop_wire::IceServer>,
    relay_only: Option<bool>,
    state: State<'_, Desktop>,
) -> Result<()> {
    desktop_wire::check_ice_servers(&servers)?;
    let servers = servers
        .into_iter()
        .map(|server| peer::transport::IceServer {
            urls: vec![server.url],
            username: server.username,
            credential: server.credential,
        })
        .collect::<Vec<_>>();
    // URLs only: credentials are never logged.
    let urls: Vec<&str> = servers.iter().flat_map(|s| s.urls.iter().map(String::as_str)).collect();
    let relay_only = relay_only.unwrap_or(false);
    tracing::info!(?urls, relay_only, "STUN/TURN servers for new connections");
    Ok(state.node.set_ice_servers(servers, relay_only).await?)
}

/// The default identity, until the UI sets the user's profile.
pub fn default_identity() -> Identity {
    Identity { name: DEFAULT_NAME.into(), color: "#5b7fa6".into() }
}

const DEFAULT_NAME: &str = "Desktop user";

/// Checks a profile (see `desktop_wire::Profile::checked`).
pub fn identity(name: &str, color: &str) -> Result<Identity> {
    let Profile { name, color } = Profile::checked(name, color, DEFAULT_NAME)?;
    Ok(Identity { name, color })
}

/// The node's status as the contract carries it.
pub fn status_of(status: &NodeStatus) -> Status {
    let signaling = match status.signaling {
        SignalingState::Connected => Signaling::Connected,
        SignalingState::Connecting => Signaling::Connecting,
        SignalingState::Unreachable => Signaling::Unreachable,
        SignalingState::Offline => Signaling::Offline,
    };
    Status { signaling, peers: status.peers.iter().map(|(board, peers)| (board.clone(), *peers)).collect() }
}

#[tauri::command]
pub fn status(state: State<'_, Desktop>) -> Status {
    status_of(&state.node.status().borrow())
}

/// The signaling server's web address: share links for browsers point there.
#[tauri::command]
pub fn signal_url() -> String {
    crate::startup::signal_url()
}

/// The share link the app was started with (fragment form), once.
#[tauri::command]
pub fn take_initial_link(state: State<'_, Desktop>) -> Option<String> {
    lock(&state.initial_link).take()
}

#[tauri::command]
pub fn set_title(title: String, window: WebviewWindow) -> Result<()> {
    let title = title.trim();
    let title = if title.is_empty() { "Corkboard".to_owned() } else { format!("{title} — Corkboard") };
    Ok(window.set_title(&title)?)
}

/// The most bytes a board file chosen for import may have (a backup holds
/// a board's images).
const MAX_BOARD_FILE: u64 = 1024 * 1024 * 1024;

/// The bytes of a file the user picked in the import dialog (no other
/// file): an image, or a board file (`.canvas`, `.zip`, `.corkboard`) that
/// the page reads with bounds.
#[tauri::command]
pub async fn read_import_file(path: String, state: State<'_, Desktop>) -> Result<Response> {
    let path_buf = std::path::PathBuf::from(&path);
    if !lock(&state.granted_files).contains(&path_buf) {
        return Err(Error::File {
            path,
            reason: "only files chosen in the import dialog can be read".into(),
        });
    }
    let file = |reason: String| Error::File { path: path.clone(), reason };
    let extension =
        path_buf.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let board_file = crate::menu::BOARD_EXTENSIONS.contains(&extension.as_str());
    let most = if board_file { MAX_BOARD_FILE } else { board_model::blob::MAX_BLOB_SIZE };
    let size = std::fs::metadata(&path_buf).map_err(|e| file(e.to_string()))?.len();
    if size > most {
        return Err(file(format!("the file is too large ({size} bytes; at most {most})")));
    }
    let bytes = tokio::fs::read(&path_buf).await.map_err(|e| file(e.to_string()))?;
    if !board_file {
        peer::commands::inspect_image(&bytes).map_err(file)?;
    }
    Ok(Response::new(bytes))
}

/// Saves an export: the raw body is the file, its suggested name in the
/// file-name header; the native save dialog asks where. Returns the path,
/// or nothing when the person cancelled. The file is written whole or not
/// at all (a temporary file renamed over it).
#[tauri::command]
pub async fn save_file(request: Request<'_>, window: WebviewWindow) -> Result<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let name = request
        .headers()
        .get(desktop_wire::FILE_NAME_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(desktop_wire::decode_file_name)
        .ok_or_else(|| Invalid("save_file needs a plain file name in its header".into()))?;
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(Invalid("save_file takes the file as raw bytes (a Uint8Array)".into()).into());
    };
    let bytes = bytes.clone();
    let target = match std::env::var_os("CORKBOARD_SAVE_DIR") {
        // For automated tests, which cannot drive a native dialog.
        Some(dir) => Some(std::path::PathBuf::from(dir).join(&name)),
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            window.dialog().file().set_title("Export").set_file_name(&name).set_parent(&window).save_file(
                move |chosen| {
                    let _ = tx.send(chosen.and_then(|path| path.into_path().ok()));
                },
            );
            rx.await.ok().flatten()
        }
    };
    let Some(target) = target else { return Ok(None) };
    let shown = target.display().to_string();
    let write = target.clone();
    tokio::task::spawn_blocking(move || peer::storage::write_atomically(&write, &bytes, false))
        .await
        .map_err(|e| Error::File { path: shown.clone(), reason: e.to_string() })?
        .map_err(|e| Error::File { path: shown.clone(), reason: e.to_string() })?;
    Ok(Some(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_checked_and_trimmed() {
        assert_eq!(
            identity("  Ann ", "#AABBCC").map(|i| (i.name, i.color)).ok(),
            Some(("Ann".into(), "#aabbcc".into()))
        );
        assert_eq!(identity("", "#112233").map(|i| i.name).ok(), Some("Desktop user".into()));
        assert_eq!(identity(&"x".repeat(500), "#112233").map(|i| i.name.len()).ok(), Some(64));
        assert!(identity("Ann", "red").is_err());
        assert!(identity("Ann", "#12345g").is_err());
    }

    #[test]
    fn errors_serialise_as_their_message() {
        let json = serde_json::to_string(&Error::NotOpen("b".into())).unwrap_or_default();
        assert_eq!(json, "\"board b is not open\"");
    }
}
