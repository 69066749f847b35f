//! The one boundary between the board engine and the home it runs in. A
//! home gives the engine a clock, a network, a board library, maybe a store
//! for board contents, and a shell; the engine never knows which home it has.
//!
//! - [`browser`]: a browser tab — the signaling WebSocket and
//!   `RTCPeerConnection`s; IndexedDB for the library, boards and images;
//! - [`desktop`]: inside the Tauri shell — one IPC link to the embedded
//!   native node, which keeps the boards and does all networking (the page
//!   keeps no board contents: it has no [`BoardStore`]);
//! - `memory` (tests): in-memory implementations, so the engine runs on
//!   the host under plain `cargo test`.
//!
//! [`store_contract`] is what every [`BoardStore`] must do, run against each.
//!
//! The home is chosen once at start-up ([`start`]) and reaches components
//! through Leptos context ([`use_platform`]).

pub mod browser;
pub mod desktop;
#[cfg(test)]
pub mod memory;
pub mod store_contract;
pub mod web;

use std::rc::Rc;

use async_trait::async_trait;
use board_key::link::ShareLink;
use board_model::blob::Hash;
use board_model::presence::Identity;
use board_room::{LinkId, Output};
use desktop_wire::{BoardEntry, IceServer, MenuItem};

use crate::view_model::Status;

/// Why storing or reading failed; shown to the user as a short message.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StorageError {
    #[error("this browser does not allow storing boards (IndexedDB is unavailable: {0})")]
    Unavailable(String),
    #[error("storing the board failed: {0}")]
    Failed(String),
    #[error("stored data is damaged: {0}")]
    Damaged(String),
    #[error("refused to write an empty snapshot over the board; nothing was written")]
    EmptySnapshot,
    #[error("the board was closed before it was saved")]
    Closed,
}

/// What is stored of one board: its last snapshot and the updates after it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StoredBoard {
    pub snapshot: Option<Vec<u8>>,
    /// Updates after the snapshot, in order, with their sequence numbers.
    pub updates: Vec<(u64, Vec<u8>)>,
}

/// Wall-clock time and randomness (the board model takes both as arguments).
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Fills a buffer from a cryptographic random source.
    fn fill_random(&self, buffer: &mut [u8]);
}

/// Random bytes from a clock's source.
pub fn random_bytes<const N: usize>(clock: &dyn Clock) -> [u8; N] {
    let mut bytes = [0u8; N];
    clock.fill_random(&mut bytes);
    bytes
}

/// The boards this home knows, for the home screen.
#[async_trait(?Send)]
pub trait Library {
    /// Every board, most recently opened first.
    async fn list(&self) -> Result<Vec<BoardEntry>, StorageError>;
    /// Creates an empty board titled `title`; its link.
    async fn create(&self, title: &str) -> Result<ShareLink, StorageError>;
    /// Removes this device's copy of a board.
    async fn delete(&self, board: uuid::Uuid) -> Result<(), StorageError>;
    /// The board's entry, if listed.
    async fn entry(&self, board: uuid::Uuid) -> Result<Option<BoardEntry>, StorageError>;
    /// Records a board's entry (title, size, when opened).
    async fn put_entry(&self, entry: &BoardEntry) -> Result<(), StorageError>;
}

/// What [`BoardStore::compact`] asks of its caller, inside its transaction:
/// one snapshot holding everything stored of the board (given).
pub type Fold<'a> = &'a mut dyn FnMut(&StoredBoard) -> Result<Vec<u8>, StorageError>;

/// Where a page keeps board contents and images itself. Every implementation
/// passes `store_contract`. Several pages (tabs) may use one store at once:
/// no record is ever replaced, and a compaction folds in what others wrote.
#[async_trait(?Send)]
pub trait BoardStore {
    /// The stored snapshot and updates of a board (empty when never stored).
    async fn load(&self, board: uuid::Uuid) -> Result<StoredBoard, StorageError>;
    /// Appends one update record after the board's last one and returns its
    /// number. A record is never replaced: writers appending at once get
    /// different numbers.
    async fn append(&self, board: uuid::Uuid, bytes: &[u8]) -> Result<u64, StorageError>;
    /// Replaces what is stored of a board by one snapshot, at once: `fold`
    /// gets the stored snapshot and updates and returns a snapshot holding
    /// all of them. A fold that fails, or an empty snapshot, changes nothing.
    async fn compact(&self, board: uuid::Uuid, fold: Fold<'_>) -> Result<(), StorageError>;
    /// Forgets a board's contents (its images stay: other boards may show them).
    async fn remove(&self, board: uuid::Uuid) -> Result<(), StorageError>;
    async fn put_blob(&self, hash: &Hash, bytes: &[u8]) -> Result<(), StorageError>;
    /// A stored image's bytes (the caller verifies them).
    async fn get_blob(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StorageError>;
}

/// What a transport tells the engine.
#[derive(Debug)]
pub enum NetEvent {
    /// Something for the board's room.
    Room(board_room::Input),
    /// A link's channel has room again.
    Writable(LinkId),
    /// The connection status may have changed.
    Status,
    /// Something the user should know, in plain words.
    Notice(String),
}

/// Where a transport sends what happens.
pub type NetSink = Rc<dyn Fn(NetEvent)>;

/// Opens the network of one board.
pub trait Network {
    /// A transport for the board's room; what happens comes back through `sink`.
    fn open(&self, link: &ShareLink, identity: &Identity, sink: NetSink) -> Box<dyn Transport>;
}

/// Moves one board's bytes: carries out what the room asks, sends frames on
/// its links, and reports what happens through its sink.
pub trait Transport {
    /// Starts reaching peers (or the node that reaches them).
    fn start(&mut self);
    /// Closes every connection at once (the board is closed or the page goes away).
    fn stop(&mut self);
    /// Does what the room asks.
    fn execute(&mut self, output: Output);
    /// Whether the link's channel can take a frame now.
    fn has_room(&self, link: LinkId) -> bool;
    fn send(&mut self, link: LinkId, frame: Vec<u8>);
    /// The status line, given how many peers the room has open sessions with.
    fn status(&self, connected_peers: usize) -> Status;
    /// Working offline (the room has said goodbye to its peers) or not.
    fn set_offline(&mut self, offline: bool);
    /// The name and colour peers see changed.
    fn set_identity(&mut self, identity: &Identity);
    /// The STUN/TURN servers for connections made from now on, and
    /// whether to use TURN relays only.
    fn set_ice_servers(&mut self, servers: &[IceServer], relay_only: bool);
}

/// What the shell around the page tells the app.
#[derive(Debug)]
pub enum ShellEvent {
    Menu(MenuItem),
    /// Open this board (a share-link fragment).
    OpenLink(String),
    /// A file the user chose in a native dialog (an image, or a board:
    /// a `.canvas`, a zip of one, a `.corkboard` backup).
    ImportFile {
        name: String,
        bytes: Vec<u8>,
    },
    /// The page is going away (or coming back from the back/forward cache).
    PageHidden,
    PageShown,
    Notice(String),
}

pub type ShellSink = Rc<dyn Fn(ShellEvent)>;

/// The window and surroundings of the page.
#[async_trait(?Send)]
pub trait Shell {
    /// Starts passing the shell's events to `sink`.
    fn install(&self, sink: ShellSink);
    /// The open board's title (`None` on the home screen).
    fn set_title(&self, board_title: Option<&str>);
    /// The web origin browsers reach boards through (for share links).
    async fn web_origin(&self) -> String;
    /// A URL showing these verified image bytes.
    fn image_url(&self, bytes: &[u8], media_type: &str) -> Option<String>;
    fn release_image_url(&self, url: &str);
    /// Where this home keeps boards, for the home screen ("in this browser").
    fn where_boards_live(&self) -> &'static str;
    /// How much this home stores, where it could be evicted (a browser's);
    /// `None` where boards are files on disk (the desktop).
    async fn storage_use(&self) -> Option<StorageUse> {
        None
    }
    /// Saves a file the user exported: a download in a browser, the native
    /// save dialog on the desktop. `Ok(None)` when the person cancelled,
    /// else where it went (as the home can say it).
    async fn save_file(&self, name: &str, media_type: &str, bytes: Vec<u8>)
    -> Result<Option<String>, String>;
}

/// What a browser keeps for this app: bytes used, and whether the browser
/// promised not to evict them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageUse {
    pub used_bytes: u64,
    pub persistent: bool,
}

/// One home: everything the engine and the views use of the world.
#[derive(Clone)]
pub struct Platform {
    pub clock: Rc<dyn Clock>,
    pub library: Rc<dyn Library>,
    /// `None` when board contents live elsewhere (the desktop's node).
    pub store: Option<Rc<dyn BoardStore>>,
    pub network: Rc<dyn Network>,
    pub shell: Rc<dyn Shell>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform").field("store", &self.store.is_some()).finish_non_exhaustive()
    }
}

thread_local! {
    static STARTED: std::cell::OnceCell<Platform> = const { std::cell::OnceCell::new() };
}

/// The home this page runs in, chosen once: the desktop shell when present,
/// else the browser.
pub fn start() -> Platform {
    STARTED
        .with(|started| started.get_or_init(|| desktop::platform().unwrap_or_else(browser::platform)).clone())
}

/// The platform, from Leptos context (the app provides it at start; event
/// handlers that run outside any component get the one started).
pub fn use_platform() -> Platform {
    match leptos::prelude::use_context::<send_wrapper::SendWrapper<Platform>>() {
        Some(platform) => (*platform).clone(),
        None => start(),
    }
}

/// Makes `platform` the one components use.
pub fn provide_platform(platform: Platform) {
    leptos::prelude::provide_context(send_wrapper::SendWrapper::new(platform));
}
