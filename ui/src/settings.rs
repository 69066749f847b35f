//! Settings kept by this page (localStorage, in a browser and in the
//! desktop's webview alike): the STUN/TURN servers used for peer
//! connections (none by default: peers on one network need none).

use desktop_wire::IceServer;

use crate::dom;

const ICE_SERVERS: &str = "corkboard.iceServers";

/// The configured STUN/TURN servers.
pub fn ice_servers() -> Vec<IceServer> {
    dom::load_local(ICE_SERVERS).map(|text| desktop_wire::parse_ice_servers(&text)).unwrap_or_default()
}

/// Stores the servers given one per line or comma-separated; returns the
/// ones kept (only `stun:`, `stuns:`, `turn:` and `turns:` URLs).
pub fn set_ice_servers(text: &str) -> Vec<IceServer> {
    let servers = desktop_wire::parse_ice_servers(text);
    let lines: Vec<&str> = servers.iter().map(|server| server.url.as_str()).collect();
    dom::store_local(ICE_SERVERS, &lines.join("\n"));
    servers
}
