//! Settings kept in this browser: the STUN/TURN servers used for peer
//! connections (none by default: peers on one network need none).

use crate::platform;

const ICE_SERVERS: &str = "corkboard.iceServers";

/// The configured ICE server URLs (`stun:…`, `turn:…`).
pub fn ice_servers() -> Vec<String> {
    platform::load_local(ICE_SERVERS).map(|text| parse_ice_servers(&text)).unwrap_or_default()
}

/// Stores the ICE servers given one per line or comma-separated; returns
/// the ones kept (only `stun:`, `stuns:`, `turn:` and `turns:` URLs).
pub fn set_ice_servers(text: &str) -> Vec<String> {
    let servers = parse_ice_servers(text);
    platform::store_local(ICE_SERVERS, &servers.join("\n"));
    servers
}

fn parse_ice_servers(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|url| ["stun:", "stuns:", "turn:", "turns:"].iter().any(|p| url.starts_with(p)))
        .filter(|url| url.len() <= 512)
        .map(str::to_owned)
        .take(8)
        .collect()
}
