//! The commands the web app calls through `window.__TAURI__.core.invoke`.
//! Boards travel as the web app's fragment (`board=<uuid>&key=<base64url>`);
//! protocol frames travel raw: from the node on a `Channel` as
//! `ArrayBuffer`s, to the node as a raw request body with the board's id in
//! the `board` header. Errors reach JavaScript as strings.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use board_model::presence::Identity;
use peer::node::{LocalLink, NodeStatus};
use serde::Serialize;
use tauri::ipc::{Channel, InvokeBody, InvokeResponseBody, Request, Response};
use tauri::{State, WebviewWindow};

use crate::link;
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
    Invalid(String),
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

/// A board on the home screen.
#[derive(Debug, Serialize)]
pub struct BoardEntry {
    pub board: String,
    pub key: String,
    pub title: String,
    pub created_ms: u64,
    pub last_opened_ms: u64,
    pub card_count: usize,
}

#[tauri::command]
pub async fn list_boards(state: State<'_, Desktop>) -> Result<Vec<BoardEntry>> {
    let boards = state.node.list_boards().await?;
    Ok(boards
        .into_iter()
        .map(|summary| BoardEntry {
            board: summary.link.board.hyphenated().to_string(),
            key: URL_SAFE_NO_PAD.encode(summary.link.key.0),
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
    Ok(link::fragment(&created))
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
    let link = link::parse(&fragment)?;
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
/// the `board` header.
#[tauri::command]
pub async fn send_frame(request: Request<'_>, state: State<'_, Desktop>) -> Result<()> {
    let board = request
        .headers()
        .get("board")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| Error::Invalid("send_frame needs a `board` header".into()))?;
    let board = board_id(board)?;
    let InvokeBody::Raw(frame) = request.body() else {
        return Err(Error::Invalid("send_frame takes the frame as raw bytes (a Uint8Array)".into()));
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

/// The STUN/TURN servers (`stun:`, `stuns:`, `turn:`, `turns:` URLs, at
/// most 8) for connections made from now on; an empty list means host
/// candidates only (peers on one network need no more).
#[tauri::command]
pub async fn set_ice_servers(urls: Vec<String>, state: State<'_, Desktop>) -> Result<()> {
    Ok(state.node.set_ice_servers(ice_servers(&urls)?).await?)
}

/// Checks ICE server URLs.
pub fn ice_servers(urls: &[String]) -> Result<Vec<peer::transport::IceServer>> {
    if urls.len() > 8 {
        return Err(Error::Invalid("at most 8 STUN/TURN servers".into()));
    }
    urls.iter()
        .map(|url| {
            let url = url.trim();
            let known = ["stun:", "stuns:", "turn:", "turns:"].iter().any(|scheme| url.starts_with(scheme));
            if !known || url.len() > 512 {
                return Err(Error::Invalid(format!("not a STUN or TURN server URL: {url}")));
            }
            Ok(peer::transport::IceServer {
                urls: vec![url.to_owned()],
                username: String::new(),
                credential: String::new(),
            })
        })
        .collect()
}

/// The default identity, until the UI sets the user's profile.
pub fn default_identity() -> Identity {
    Identity { name: "Desktop user".into(), color: "#5b7fa6".into() }
}

/// Checks a profile: a name of at most 64 characters (blank means the
/// default), a `#rrggbb` colour.
pub fn identity(name: &str, color: &str) -> Result<Identity> {
    let name = name.trim();
    let name = if name.is_empty() { default_identity().name } else { name.chars().take(64).collect() };
    let hex = color.strip_prefix('#').unwrap_or("");
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Invalid(format!("not a colour (#rrggbb): {color}")));
    }
    Ok(Identity { name, color: color.to_ascii_lowercase() })
}

#[tauri::command]
pub fn status(state: State<'_, Desktop>) -> NodeStatus {
    state.node.status().borrow().clone()
}

/// The share link the app was started with (fragment form), once.
/// The signaling server's web address: share links for browsers point there.
#[tauri::command]
pub fn signal_url() -> String {
    crate::startup::signal_url()
}

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

/// The bytes of an image file the user picked in the import dialog (no other file).
#[tauri::command]
pub async fn read_image_file(path: String, state: State<'_, Desktop>) -> Result<Response> {
    let path_buf = std::path::PathBuf::from(&path);
    if !lock(&state.granted_files).contains(&path_buf) {
        return Err(Error::File {
            path,
            reason: "only files chosen in the import dialog can be read".into(),
        });
    }
    let file = |reason: String| Error::File { path: path.clone(), reason };
    let size = std::fs::metadata(&path_buf).map_err(|e| file(e.to_string()))?.len();
    if size > board_model::blob::MAX_BLOB_SIZE {
        return Err(file(format!(
            "the image is too large ({size} bytes; at most {})",
            board_model::blob::MAX_BLOB_SIZE
        )));
    }
    let bytes = tokio::fs::read(&path_buf).await.map_err(|e| file(e.to_string()))?;
    peer::commands::inspect_image(&bytes).map_err(file)?;
    Ok(Response::new(bytes))
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
    fn only_stun_and_turn_urls_are_taken() {
        let urls = |list: &[&str]| list.iter().map(|u| (*u).to_owned()).collect::<Vec<_>>();
        let servers = ice_servers(&urls(&["stun:stun.example.org:3478", " turn:relay.example.org "]));
        assert_eq!(servers.map(|s| s.len()).ok(), Some(2));
        assert!(ice_servers(&urls(&["http://example.org"])).is_err());
        assert!(ice_servers(&urls(&["stun:a"; 9])).is_err());
    }

    #[test]
    fn errors_serialise_as_their_message() {
        let json = serde_json::to_string(&Error::NotOpen("b".into())).unwrap_or_default();
        assert_eq!(json, "\"board b is not open\"");
    }
}
