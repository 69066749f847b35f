//! The desktop home of the web app: inside the Tauri shell the page has no
//! WebRTC (WebKitGTK lacks it) and keeps nothing itself. The embedded
//! native peer owns storage and the network; this module is the page's link
//! to it over Tauri IPC, speaking the same peer protocol the browser speaks
//! with remote peers (the native peer is just its nearest peer), plus the
//! few commands a desktop needs (board list, window title, menu, dialogs).

use std::collections::VecDeque;

use board_model::blob::{Hash, MemoryStore};
use board_model::session::{self, Event as SessionEvent};
use board_model::{Board, Session, presence};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::engine::{self, Engine};
use crate::notify;
use crate::platform;
use crate::view_model::Status;

/// Frames in flight to the native peer at most (they go one invoke at a time, in order).
const OUTBOX_LIMIT: usize = 32;

/// True inside the Tauri shell (`app.withGlobalTauri` exposes `window.__TAURI__`).
pub fn active() -> bool {
    tauri().is_some()
}

fn tauri() -> Option<JsValue> {
    let window = platform::window()?;
    let value = Reflect::get(&window, &JsValue::from_str("__TAURI__")).ok()?;
    (!value.is_undefined() && !value.is_null()).then_some(value)
}

fn path(value: &JsValue, names: &[&str]) -> Option<JsValue> {
    let mut current = value.clone();
    for name in names {
        current = Reflect::get(&current, &JsValue::from_str(name)).ok()?;
        if current.is_undefined() {
            return None;
        }
    }
    Some(current)
}

fn error_text(error: JsValue) -> String {
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}

/// Calls a command of the shell; its result as JS.
pub async fn invoke(command: &str, args: &JsValue) -> Result<JsValue, String> {
    invoke_with(command, args, &JsValue::UNDEFINED).await
}

async fn invoke_with(command: &str, args: &JsValue, options: &JsValue) -> Result<JsValue, String> {
    let tauri = tauri().ok_or("not in the desktop app")?;
    let core = path(&tauri, &["core"]).ok_or("no Tauri core")?;
    let invoke: Function = path(&core, &["invoke"]).ok_or("no invoke")?.dyn_into().map_err(error_text)?;
    let promise: Promise = invoke
        .call3(&core, &JsValue::from_str(command), args, options)
        .map_err(error_text)?
        .dyn_into()
        .map_err(error_text)?;
    JsFuture::from(promise).await.map_err(error_text)
}

/// An object of string keys to JS values.
pub fn args(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// Listens to a shell event for as long as the page lives; `f` gets its payload.
pub fn listen(event: &str, f: impl FnMut(JsValue) + 'static) {
    let Some(tauri) = tauri() else { return };
    let Some(listen) = path(&tauri, &["event", "listen"]).and_then(|f| f.dyn_into::<Function>().ok()) else {
        return;
    };
    let mut f = f;
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        f(path(&event, &["payload"]).unwrap_or(JsValue::NULL));
    });
    let _ = listen.call2(&JsValue::NULL, &JsValue::from_str(event), handler.as_ref());
    handler.forget();
}

/// Runs a command without waiting; failures become a toast.
pub fn fire(command: &'static str, arguments: JsValue) {
    leptos::task::spawn_local(async move {
        if let Err(error) = invoke(command, &arguments).await {
            notify::error(&format!("The desktop app refused “{command}”: {error}"));
        }
    });
}

/// The page's link to the embedded native peer for the open board.
pub struct Link {
    board: String,
    fragment: String,
    replica: u64,
    session: Option<Session>,
    generation: u64,
    outbox: VecDeque<Vec<u8>>,
    /// Whether the shell has opened this generation's link (`open_board`
    /// answered): frames wait until then, since a frame the node gets before
    /// the link exists is lost, and the hello must be the first it sees.
    opened: bool,
    sending: bool,
    offline: bool,
    status: Status,
    progress: std::collections::HashMap<Hash, f64>,
    presence: Option<presence::State>,
    handler: Option<Closure<dyn FnMut(JsValue)>>,
}

impl Link {
    pub fn new(board: &str, fragment: &str, replica: u64) -> Link {
        Link {
            board: board.to_owned(),
            fragment: fragment.to_owned(),
            replica,
            session: None,
            generation: 0,
            outbox: VecDeque::new(),
            opened: false,
            sending: false,
            offline: false,
            status: Status::Connecting,
            progress: Default::default(),
            presence: None,
            handler: None,
        }
    }

    pub fn status(&self) -> Status {
        self.status.clone()
    }

    pub fn progress(&self, hash: &Hash) -> Option<f64> {
        self.progress.get(hash).copied()
    }

    /// Opens the link: a fresh session, and a channel the shell sends the native peer's frames on.
    pub fn start(&mut self, identity: presence::Identity) {
        self.generation += 1;
        let generation = self.generation;
        // The embedded peer relays who else is on the board: the page has no
        // network of its own to learn it from.
        let mut config = session::Config::new(self.replica, identity);
        config.accept_relayed_presence = true;
        let mut session = Session::new(config);
        if let Some(state) = self.presence.clone() {
            session.set_presence(state);
        }
        self.session = Some(session);
        self.outbox.clear();
        self.opened = false;
        let Some(channel_class) = tauri().and_then(|t| path(&t, &["core", "Channel"])) else { return };
        let Ok(channel_class) = channel_class.dyn_into::<Function>() else { return };
        let Ok(channel) = Reflect::construct(&channel_class, &Array::new()) else { return };
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |message: JsValue| {
            let bytes = if message.is_instance_of::<js_sys::ArrayBuffer>()
                || message.is_instance_of::<Uint8Array>()
            {
                Uint8Array::new(&message).to_vec()
            } else if let Ok(array) = message.clone().dyn_into::<Array>() {
                // Older shells send a JSON array of numbers.
                array.iter().map(|v| v.as_f64().unwrap_or(0.0) as u8).collect()
            } else {
                return;
            };
            engine::with(|e| e.on_desktop_frame(generation, &bytes));
        });
        let _ = Reflect::set(&channel, &JsValue::from_str("onmessage"), handler.as_ref());
        self.handler = Some(handler);
        let arguments = args(&[("fragment", JsValue::from_str(&self.fragment)), ("onFrame", channel)]);
        leptos::task::spawn_local(async move {
            match invoke("open_board", &arguments).await {
                Ok(_) => {
                    engine::with(|e| e.desktop_opened(generation));
                }
                Err(error) => notify::error(&format!("The desktop app could not open this board: {error}")),
            }
        });
    }

    pub fn stop(&mut self) {
        if let Some(session) = self.session.as_mut() {
            session.close("the board was closed");
        }
        self.session = None;
        fire("close_board", args(&[("board", JsValue::from_str(&self.board))]));
    }

    pub fn set_presence(&mut self, state: &presence::State) {
        self.presence = Some(state.clone());
        if let Some(session) = self.session.as_mut().filter(|s| s.is_open()) {
            session.set_presence(state.clone());
        }
    }

    pub fn want_missing_blobs(&mut self, board: &Board, blobs: &MemoryStore) {
        let Some(session) = self.session.as_mut().filter(|s| s.is_open()) else { return };
        let wanted: Vec<Hash> = session.wanted_blobs().copied().collect();
        for hash in board.referenced_blobs() {
            if blobs.get(&hash).is_none() && !wanted.contains(&hash) {
                session.want_blob(hash, blobs);
            }
        }
    }

    /// Queues the session's frames and sends the next one if none is in flight.
    pub fn flush(&mut self, board: &Board, blobs: &MemoryStore) {
        if let Some(session) = self.session.as_mut() {
            while self.outbox.len() < OUTBOX_LIMIT {
                let Some(frame) = session.poll_transmit(board, blobs) else { break };
                self.outbox.push_back(frame);
            }
        }
        self.pump();
    }

    fn pump(&mut self) {
        if self.sending || !self.opened {
            return;
        }
        let Some(frame) = self.outbox.pop_front() else { return };
        self.sending = true;
        let generation = self.generation;
        let body: JsValue = Uint8Array::from(frame.as_slice()).into();
        let headers = args(&[("board", JsValue::from_str(&self.board))]);
        let options = args(&[("headers", headers)]);
        leptos::task::spawn_local(async move {
            let result = invoke_with("send_frame", &body, &options).await;
            engine::with(|e| e.desktop_sent(generation, result));
        });
    }
}

impl Engine {
    /// The periodic work of the link: version announcements, blob retries.
    pub fn desktop_tick(&mut self, now: u64) {
        let Some(link) = self.desktop.as_mut() else { return };
        if let Some(session) = link.session.as_mut() {
            session.tick(&self.board, now);
        }
        link.want_missing_blobs(&self.board, &self.blobs);
        link.flush(&self.board, &self.blobs);
        self.refresh_status();
    }

    fn on_desktop_frame(&mut self, generation: u64, bytes: &[u8]) {
        let now = platform::now_ms();
        let Some(link) = self.desktop.as_mut().filter(|l| l.generation == generation) else { return };
        let Some(session) = link.session.as_mut() else { return };
        let result = session.receive(bytes, &mut self.board, &mut self.blobs, now);
        let mut events = Vec::new();
        while let Some(event) = session.poll_event() {
            events.push(event);
        }
        let mut changed = false;
        for event in events {
            match event {
                SessionEvent::Opened(_) => {
                    self.want_blobs();
                }
                SessionEvent::BoardChanged => changed = true,
                SessionEvent::BlobProgress { hash, received, total } => {
                    if let Some(link) = self.desktop.as_mut() {
                        link.progress.insert(hash, received as f64 / total.max(1) as f64);
                    }
                    self.refresh_image_cards(&hash);
                }
                SessionEvent::BlobReady { hash } => {
                    if let Some(link) = self.desktop.as_mut() {
                        link.progress.remove(&hash);
                    }
                    self.blob_arrived(hash);
                }
                SessionEvent::BlobUnavailable { .. } | SessionEvent::BlobStalled { .. } => {}
                SessionEvent::BlobRejected { reason, .. } => {
                    notify::error(&format!("An image was damaged on the way: {reason}"))
                }
                SessionEvent::Presence { .. } => {}
                SessionEvent::RelayedPresence { peer, identity, state } => {
                    if self.identity_of(peer) != Some(&identity) {
                        self.peer_opened(peer, identity);
                    }
                    self.remote_presence(peer, state);
                }
                SessionEvent::RelayedLeft { peer } => self.peer_closed(peer),
                SessionEvent::Closed { reason } => {
                    web_sys::console::info_1(
                        &format!("corkboard: the desktop peer closed the link: {reason}").into(),
                    );
                    self.forget_relayed_peers();
                }
            }
        }
        if changed {
            self.after_change();
        }
        if let Err(error) = result {
            notify::error(&format!("The desktop app's peer sent something broken ({error}); reconnecting."));
            self.forget_relayed_peers();
            let identity = self.identity();
            if let Some(link) = self.desktop.as_mut() {
                link.start(identity);
            }
        }
        self.flush_network();
    }

    /// The shell has opened the link of `generation`: its frames may go.
    fn desktop_opened(&mut self, generation: u64) {
        let Some(link) = self.desktop.as_mut().filter(|l| l.generation == generation) else { return };
        link.opened = true;
        self.flush_network();
    }

    fn desktop_sent(&mut self, generation: u64, result: Result<JsValue, String>) {
        let Some(link) = self.desktop.as_mut() else { return };
        link.sending = false;
        if link.generation != generation {
            return;
        }
        if let Err(error) = result {
            web_sys::console::warn_1(
                &format!("corkboard: a frame to the desktop peer failed: {error}").into(),
            );
        }
        link.flush(&self.board, &self.blobs);
    }

    /// The shell's status for this board.
    pub fn on_desktop_status(&mut self, payload: &JsValue) {
        let Some(link) = self.desktop.as_mut() else { return };
        let signaling = path(payload, &["signaling"]).and_then(|v| v.as_string()).unwrap_or_default();
        let peers = path(payload, &["peers", &link.board]).and_then(|v| v.as_f64()).unwrap_or(0.0) as usize;
        link.status = match signaling.as_str() {
            "offline" => Status::Offline,
            _ if peers > 0 => Status::Online { peers },
            "connected" => Status::Online { peers: 0 },
            "unreachable" => Status::Unreachable,
            _ => Status::Connecting,
        };
        link.offline = signaling == "offline";
        self.refresh_status();
    }
}

/// Wires the shell's events to the page: status, menu commands, an image
/// chosen in the native dialog, and the link the app was started with.
pub fn install() {
    if !active() {
        return;
    }
    listen("corkboard://status", |payload| {
        engine::with(|e| e.on_desktop_status(&payload));
    });
    listen("corkboard://menu", |payload| {
        let Some(item) = payload.as_string() else { return };
        match item.as_str() {
            "new-board" => leptos::task::spawn_local(async {
                match crate::home::create_board("Untitled board").await {
                    Ok(link) => platform::set_hash(&crate::home::fragment_of(&link)),
                    Err(error) => notify::error(&format!("Could not create a board: {error}")),
                }
            }),
            "zoom-in" => press_key("=", true, false),
            "zoom-out" => press_key("-", true, false),
            "zoom-reset" => press_key("0", true, false),
            "zoom-fit" => press_key("!", false, true),
            "help" => press_key("?", false, false),
            _ => {}
        }
    });
    listen("corkboard://open-link", |payload| {
        if let Some(fragment) = payload.as_string() {
            platform::set_hash(fragment.trim_start_matches('#'));
        }
    });
    listen("corkboard://import-image", |payload| {
        let Some(file) = payload.as_string() else { return };
        leptos::task::spawn_local(async move {
            let bytes = match invoke("read_image_file", &args(&[("path", JsValue::from_str(&file))])).await {
                Ok(value) => Uint8Array::new(&value).to_vec(),
                Err(error) => {
                    notify::error(&format!("Could not read “{file}”: {error}"));
                    return;
                }
            };
            let name = file.rsplit(['/', '\\']).next().unwrap_or(&file).to_owned();
            match crate::images::from_bytes(bytes, name).await {
                Ok(image) => {
                    engine::with(|e| {
                        let at = e.view_center();
                        e.add_image(image, at)
                    });
                }
                Err(message) => notify::error(&message),
            }
        });
    });
    leptos::task::spawn_local(async {
        if let Ok(value) = invoke("take_initial_link", &JsValue::UNDEFINED).await
            && let Some(fragment) = value.as_string()
        {
            platform::set_hash(&fragment);
        }
    });
}

fn press_key(key: &str, ctrl: bool, shift: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_ctrl_key(ctrl);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    if let (Some(window), Ok(event)) =
        (platform::window(), web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init))
    {
        let _ = window.dispatch_event(&event);
    }
}

/// The web origin browsers reach this board through: the signaling server's
/// address in the desktop app, the page's own in a browser.
pub async fn web_origin() -> String {
    if active()
        && let Ok(value) = invoke("signal_url", &JsValue::UNDEFINED).await
        && let Some(url) = value.as_string()
    {
        return url.trim_end_matches('/').to_owned();
    }
    platform::origin()
}

/// The window title follows the board's.
pub fn set_window_title(title: &str) {
    if active() {
        fire("set_title", args(&[("title", JsValue::from_str(title))]));
    }
}

/// Lists the native peer's boards as home-screen entries.
pub async fn list_boards() -> Result<Vec<crate::storage::BoardEntry>, String> {
    let value = invoke("list_boards", &JsValue::UNDEFINED).await?;
    let text = js_sys::JSON::stringify(&value).map_err(error_text)?.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Creates a board in the native peer; its `board=…&key=…` fragment.
pub async fn create_board(title: &str) -> Result<String, String> {
    let value = invoke("create_board", &args(&[("title", JsValue::from_str(title))])).await?;
    value.as_string().ok_or_else(|| "the desktop app returned no link".to_owned())
}

pub async fn delete_board(board: &str) -> Result<(), String> {
    invoke("delete_board", &args(&[("board", JsValue::from_str(board))])).await.map(|_| ())
}
