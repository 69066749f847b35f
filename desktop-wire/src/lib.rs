//! The contract between the web app's page and the desktop shell, in one
//! place for both sides (as `signal-wire` is for the signaling server):
//! every command the page invokes with its arguments and result, every
//! event the shell emits with its payload, and the checks both apply to what
//! crosses. Serde only.
//!
//! Boards cross as share-link fragments (`board=<uuid>&key=<base64url>`,
//! printed and parsed by `board_key::link`); protocol frames cross raw:
//! from the node on a Tauri `Channel` as `ArrayBuffer`s, to the node as the
//! raw body of [`command::SEND_FRAME`] with the board's id in the
//! [`BOARD_HEADER`] header.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The commands the page invokes (`window.__TAURI__.core.invoke`).
pub mod command {
    /// No arguments → `Vec<BoardEntry>`.
    pub const LIST_BOARDS: &str = "list_boards";
    /// [`super::CreateBoard`] → the new board's fragment.
    pub const CREATE_BOARD: &str = "create_board";
    /// [`super::BoardArg`] → nothing.
    pub const DELETE_BOARD: &str = "delete_board";
    /// [`super::OpenBoard`] plus `onFrame`, a Tauri `Channel` → nothing.
    pub const OPEN_BOARD: &str = "open_board";
    /// A raw frame as the body, the board in [`super::BOARD_HEADER`] → nothing.
    pub const SEND_FRAME: &str = "send_frame";
    /// [`super::BoardArg`] → nothing.
    pub const CLOSE_BOARD: &str = "close_board";
    /// [`super::SetOffline`] → nothing.
    pub const SET_OFFLINE: &str = "set_offline";
    /// [`super::Profile`] → nothing.
    pub const SET_PROFILE: &str = "set_profile";
    /// [`super::SetIceServers`] → nothing.
    pub const SET_ICE_SERVERS: &str = "set_ice_servers";
    /// No arguments → [`super::Status`].
    pub const STATUS: &str = "status";
    /// No arguments → the fragment the app was started with, once (or null).
    pub const TAKE_INITIAL_LINK: &str = "take_initial_link";
    /// No arguments → the signaling server's web address.
    pub const SIGNAL_URL: &str = "signal_url";
    /// [`super::SetTitle`] → nothing.
    pub const SET_TITLE: &str = "set_title";
    /// [`super::ReadImportFile`] → the file's bytes (raw).
    pub const READ_IMPORT_FILE: &str = "read_import_file";
    /// The file's bytes as the raw body, its suggested name in
    /// [`super::FILE_NAME_HEADER`] → where it was saved, or null when the
    /// person cancelled the save dialog.
    pub const SAVE_FILE: &str = "save_file";
}

/// The events the shell emits.
pub mod event {
    /// [`super::Status`], whenever it changes.
    pub const STATUS: &str = "corkboard://status";
    /// A [`super::MenuItem`] for the page.
    pub const MENU: &str = "corkboard://menu";
    /// A share-link fragment the OS handed to the running app.
    pub const OPEN_LINK: &str = "corkboard://open-link";
    /// The path of a file chosen in the import dialog (an image or a board file).
    pub const IMPORT_FILE: &str = "corkboard://import-file";
}

/// The request header naming the board of a [`command::SEND_FRAME`].
pub const BOARD_HEADER: &str = "board";

/// The request header with a [`command::SAVE_FILE`]'s suggested name,
/// percent-encoded UTF-8.
pub const FILE_NAME_HEADER: &str = "corkboard-file-name";

/// A name from [`FILE_NAME_HEADER`], decoded; `None` when it is not
/// percent-encoded UTF-8 or names a path rather than a file.
pub fn decode_file_name(header: &str) -> Option<String> {
    let bytes = header.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    let plain = !name.is_empty()
        && name.len() <= 255
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control);
    (plain && name != "." && name != "..").then_some(name)
}

/// A native menu item the page acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MenuItem {
    NewBoard,
    ZoomIn,
    ZoomOut,
    ZoomFit,
    Help,
    Undo,
    Redo,
    /// Export the open board as a JSON Canvas zip.
    ExportCanvas,
    ExportSvg,
    ExportPng,
    /// Save a `.corkboard` backup of the open board.
    ExportBackup,
}

impl MenuItem {
    /// The menu item's id in the shell's menu (its serialised name).
    pub fn id(self) -> &'static str {
        match self {
            MenuItem::NewBoard => "new-board",
            MenuItem::ZoomIn => "zoom-in",
            MenuItem::ZoomOut => "zoom-out",
            MenuItem::ZoomFit => "zoom-fit",
            MenuItem::Help => "help",
            MenuItem::Undo => "undo",
            MenuItem::Redo => "redo",
            MenuItem::ExportCanvas => "export-canvas",
            MenuItem::ExportSvg => "export-svg",
            MenuItem::ExportPng => "export-png",
            MenuItem::ExportBackup => "export-backup",
        }
    }

    pub fn from_id(id: &str) -> Option<MenuItem> {
        [
            MenuItem::NewBoard,
            MenuItem::ZoomIn,
            MenuItem::ZoomOut,
            MenuItem::ZoomFit,
            MenuItem::Help,
            MenuItem::Undo,
            MenuItem::Redo,
            MenuItem::ExportCanvas,
            MenuItem::ExportSvg,
            MenuItem::ExportPng,
            MenuItem::ExportBackup,
        ]
        .into_iter()
        .find(|item| item.id() == id)
    }
}

/// A board on the home screen (also how the web app keeps its list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardEntry {
    /// The board's uuid, hyphenated.
    pub board: String,
    /// The board key, base64url without padding.
    pub key: String,
    pub title: String,
    pub created_ms: u64,
    pub last_opened_ms: u64,
    #[serde(default)]
    pub card_count: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateBoard {
    pub title: String,
}

/// A board named by its uuid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardArg {
    pub board: String,
}

/// The board to open, as a share-link fragment (the `onFrame` channel goes beside it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenBoard {
    pub fragment: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetOffline {
    pub offline: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetTitle {
    pub title: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadImportFile {
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetIceServers {
    pub servers: Vec<IceServer>,
    /// Use TURN relays only (peers never learn this machine's addresses).
    #[serde(default)]
    pub relay_only: bool,
}

/// The embedded node's connection to the signaling server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signaling {
    Connected,
    Connecting,
    Unreachable,
    Offline,
}

/// The embedded node's status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub signaling: Signaling,
    /// Per served board (its uuid): the remote peers with an open session.
    pub peers: BTreeMap<String, usize>,
}

/// Why something that crossed the boundary was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A person's name and colour, as peers see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
}

impl Profile {
    /// The profile as both sides keep it: the name trimmed to
    /// [`MAX_NAME_CHARS`] (`default_name` when blank), the colour a
    /// lowercase `#rrggbb`.
    pub fn checked(name: &str, color: &str, default_name: &str) -> Result<Profile, Invalid> {
        let name = name.trim();
        let name = if name.is_empty() {
            default_name.to_owned()
        } else {
            name.chars().take(MAX_NAME_CHARS).collect()
        };
        if !is_hex_colour(color) {
            return Err(Invalid(format!("not a colour (#rrggbb): {color}")));
        }
        Ok(Profile { name, color: color.to_ascii_lowercase() })
    }
}

/// True for `#rrggbb`.
pub fn is_hex_colour(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Most STUN/TURN servers a profile may list, and the longest URL.
pub use signal_wire::{MAX_ICE_SERVERS, MAX_ICE_URL_BYTES};

/// A STUN or TURN server for peer connections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub url: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub credential: String,
}

impl IceServer {
    pub fn new(url: &str) -> IceServer {
        IceServer { url: url.trim().to_owned(), username: String::new(), credential: String::new() }
    }

    /// Whether this is a well-formed STUN or TURN URL (RFC 7064, RFC 7065)
    /// of a sane length: a WebRTC stack refuses to build any connection
    /// with a malformed one, so it must never reach one.
    pub fn is_valid(&self) -> bool {
        signal_wire::is_ice_url(&self.url)
    }
}

/// Checks a list of servers: at most [`MAX_ICE_SERVERS`], each a STUN or TURN URL.
pub fn check_ice_servers(servers: &[IceServer]) -> Result<(), Invalid> {
    if servers.len() > MAX_ICE_SERVERS {
        return Err(Invalid(format!("at most {MAX_ICE_SERVERS} STUN/TURN servers")));
    }
    match servers.iter().find(|server| !server.is_valid()) {
        Some(server) => Err(Invalid(format!("not a STUN or TURN server URL: {}", server.url))),
        None => Ok(()),
    }
}

/// The servers in text a person typed (one per line or comma-separated),
/// keeping the valid ones, at most [`MAX_ICE_SERVERS`].
pub fn parse_ice_servers(text: &str) -> Vec<IceServer> {
    text.split([',', '\n']).map(IceServer::new).filter(IceServer::is_valid).take(MAX_ICE_SERVERS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cross_percent_encoded_and_never_as_paths() {
        assert_eq!(decode_file_name("Trip%20%E2%80%94%20plans.zip").as_deref(), Some("Trip — plans.zip"));
        assert_eq!(decode_file_name("a.svg").as_deref(), Some("a.svg"));
        for bad in ["", "..", "a%2Fb", "%2E%2E%2Fetc", "%ZZ", "%0A", "x%00"] {
            assert_eq!(decode_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn profiles_are_checked_and_trimmed() {
        let checked = |name: &str, color: &str| Profile::checked(name, color, "Desktop user");
        assert_eq!(checked("  Ann ", "#AABBCC"), Ok(Profile { name: "Ann".into(), color: "#aabbcc".into() }));
        assert_eq!(checked("", "#112233").map(|p| p.name), Ok("Desktop user".into()));
        assert_eq!(checked(&"x".repeat(500), "#112233").map(|p| p.name.len()), Ok(64));
        assert!(checked("Ann", "red").is_err());
        assert!(checked("Ann", "#12345g").is_err());
    }

    #[test]
    fn only_stun_and_turn_urls_are_taken() {
        let servers = parse_ice_servers("stun:stun.example.org:3478, turn:relay.example.org\nhttp://x");
        assert_eq!(servers.len(), 2);
        assert!(check_ice_servers(&servers).is_ok());
        assert!(check_ice_servers(&[IceServer::new("http://example.org")]).is_err());
        assert!(check_ice_servers(&vec![IceServer::new("stun:a"); 9]).is_err());
    }

    #[test]
    fn malformed_stun_and_turn_urls_are_refused() {
        for good in [
            "stun:stun.example.org",
            "stun:127.0.0.1:3478",
            "stuns:stun.example.org:5349",
            "turn:relay.example.org:3478?transport=tcp",
            "turns:[2001:db8::1]:5349?transport=tcp",
            "turn:[::1]",
        ] {
            assert!(IceServer::new(good).is_valid(), "{good}");
        }
        for bad in [
            "stun:127.0.0.1:49854stun:127.0.0.1:34234",
            "stun:",
            "stun://example.org",
            "stun:example.org:0",
            "stun:example.org:99999",
            "stun:example.org?transport=tcp",
            "turn:relay.example.org?transport=sctp",
            "turn:[::1",
            "turn:exa mple.org",
            "http://example.org",
        ] {
            assert!(!IceServer::new(bad).is_valid(), "{bad}");
        }
    }

    #[test]
    fn menu_items_cross_by_their_ids() {
        for item in [MenuItem::NewBoard, MenuItem::Help, MenuItem::Redo] {
            assert_eq!(MenuItem::from_id(item.id()), Some(item));
            assert_eq!(serde_json::to_string(&item).ok(), Some(format!("\"{}\"", item.id())));
        }
        assert_eq!(MenuItem::from_id("quit"), None);
    }
}
