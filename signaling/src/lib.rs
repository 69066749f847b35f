//! Corkboard's signaling server: peers of a board meet in a room named by a
//! hash of the board key and exchange sealed envelopes (offers, answers)
//! that the server relays without being able to read or forge them. It
//! stores nothing and keeps no history. It also serves the web app.
//!
//! `app(state)` builds the whole HTTP service; `main.rs` only parses flags,
//! binds and shuts down gracefully.

pub mod cluster;
pub mod connection;
pub mod gate;
pub mod hub;
pub mod ice;
pub mod server;
pub mod web_app;
/// The wire format lives in its own crate, shared with the clients.
pub use signal_wire as wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::{IntoResponse, Json};
use axum::routing::get;

pub use hub::{Hub, Stats};

/// The server's limits; every one is enforced with a clear error frame.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest text frame accepted, in bytes.
    pub max_frame_bytes: usize,
    /// Sustained frames per second per connection.
    pub messages_per_second: u32,
    /// Burst of frames per connection.
    pub burst: u32,
    /// Sustained signals to a whole room (`to: null`) per second per
    /// connection: each one fans out to every member, so they are held to
    /// far fewer than directed frames.
    pub broadcasts_per_second: u32,
    /// Burst of signals to a whole room (a relay announcing itself in each
    /// of its rooms at once).
    pub broadcast_burst: u32,
    /// Most peers in one room. Past 16 a board's peers no longer all link
    /// to each other (each keeps a few links, through always-on relays), so
    /// the room is not bounded by a full mesh.
    pub peers_per_room: usize,
    /// Most rooms one connection may join.
    pub rooms_per_connection: usize,
    /// A connection that sends nothing for this long is closed (clients ping).
    pub idle_timeout: Duration,
    /// Frames queued for a connection before it counts as too slow and is cut off.
    pub outbox_frames: usize,
    /// A connection whose request headers take longer than this is closed.
    pub header_read_timeout: Duration,
    /// Most connections open at once, from everyone.
    pub max_connections: usize,
    /// Most connections open at once from one IP address.
    pub connections_per_ip: usize,
    /// New connections a second one IP address may open (sustained; bursts
    /// up to four times as many).
    pub new_connections_per_ip_per_second: u32,
    /// Whether loopback clients are held to the per-address limits too (off
    /// by default: a reverse proxy on this machine connects from loopback
    /// for everyone). When on, no address is trusted as a proxy.
    pub limit_loopback: bool,
    /// Proxies besides loopback (a load balancer) that connect for others:
    /// their WebSockets are held to the limits of the client their
    /// `X-Forwarded-For` names.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Origins whose pages may open `/ws` (empty: any). Native clients send
    /// no `Origin` and are always let in.
    pub allowed_origins: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 64 * 1024,
            messages_per_second: 50,
            burst: 200,
            broadcasts_per_second: 2,
            broadcast_burst: 64,
            peers_per_room: 256,
            rooms_per_connection: 64,
            idle_timeout: Duration::from_secs(60),
            outbox_frames: 512,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 50_000,
            connections_per_ip: 64,
            new_connections_per_ip_per_second: 10,
            limit_loopback: false,
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
        }
    }
}

/// Everything the server needs.
#[derive(Clone, Debug)]
pub struct AppState {
    pub hub: Arc<Hub>,
    /// Directory of the web app to serve (with `index.html` as the fallback).
    pub static_dir: Option<PathBuf>,
}

impl AppState {
    pub fn new(limits: Limits, static_dir: Option<PathBuf>) -> AppState {
        AppState::with_ice(limits, static_dir, ice::IceConfig::default())
    }

    /// A server that hands out `ice` (STUN, and TURN with fresh credentials) on every join.
    pub fn with_ice(limits: Limits, static_dir: Option<PathBuf>, ice: ice::IceConfig) -> AppState {
        AppState { hub: Arc::new(Hub::with_ice(limits, ice)), static_dir }
    }

    /// A server whose rooms span every instance sharing `cluster`'s Redis.
    /// Starts the cluster's background work on the current Tokio runtime.
    pub fn with_cluster(
        limits: Limits,
        static_dir: Option<PathBuf>,
        ice: ice::IceConfig,
        cluster: cluster::Pending,
    ) -> AppState {
        let hub = Arc::new(Hub::with_cluster(limits, ice, Some(cluster.cluster())));
        cluster.start(&hub);
        AppState { hub, static_dir }
    }
}

/// The whole service: `/ws` (signaling), `/healthz`, and the web app.
pub fn app(state: AppState) -> Router {
    let router = Router::new().route("/ws", get(websocket)).route("/healthz", get(healthz));
    let router = match &state.static_dir {
        Some(dir) => web_app::serve(router, dir),
        None => router,
    };
    router.with_state(state)
}

async fn websocket(
    State(state): State<AppState>,
    arrival: Option<axum::Extension<gate::Arrival>>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> axum::response::Response {
    let allowed = &state.hub.limits.allowed_origins;
    if let Some(origin) = headers.get(axum::http::header::ORIGIN)
        && !allowed.is_empty()
    {
        let origin = origin.to_str().unwrap_or_default();
        if !allowed.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin)) {
            let reason = format!("this signaling server does not serve pages from {origin}");
            return (axum::http::StatusCode::FORBIDDEN, reason).into_response();
        }
    }
    // Behind a trusted proxy, the client it names is held to the limits.
    let forwarded = match arrival.as_ref().map(|arrival| arrival.admit_websocket(&headers)).transpose() {
        Ok(permit) => permit.flatten(),
        Err(refusal) => return refusal.into_response(),
    };
    // The connection's own place is held as long as the socket lives.
    let permits = (forwarded, arrival.map(|arrival| std::sync::Arc::clone(&arrival.permit)));
    // The transport refuses frames far over the limit outright; frames just
    // over it reach the connection, which answers with a clear error.
    let hard_limit = state.hub.limits.max_frame_bytes * 4;
    upgrade
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        // Signaling frames are small: small buffers keep 10,000 idle peers cheap.
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| async move {
            connection::serve(state.hub, socket).await;
            drop(permits);
        })
        .into_response()
}

/// Counts, and with `--redis` whether Redis is reachable: `degraded` while
/// it is not (rooms then work on this instance alone).
async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    let stats = state.hub.stats();
    let mut health = serde_json::json!({
        "status": "ok",
        "connections": stats.connections,
        "rooms": stats.rooms,
        "peers": stats.peers,
    });
    if let Some(cluster) = state.hub.cluster() {
        let reached = cluster.is_healthy();
        health["status"] = (if reached { "ok" } else { "degraded" }).into();
        health["redis"] = (if reached { "reachable" } else { "unreachable" }).into();
        health["instance"] = cluster.instance().into();
        health["peers_elsewhere"] = stats.peers_elsewhere.into();
    }
    Json(health)
}
