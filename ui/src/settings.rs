//! Settings kept by this page (localStorage, in a browser and in the
//! desktop's webview alike): the STUN/TURN servers used for peer
//! connections (none by default: peers on one network need none, and the
//! signaling server may hand out its own), the username and credential for
//! the TURN ones, and whether to use TURN relays only.

use desktop_wire::IceServer;

use crate::dom;

const ICE_SERVERS: &str = "corkboard.iceServers";
const TURN_USERNAME: &str = "corkboard.turnUsername";
const TURN_CREDENTIAL: &str = "corkboard.turnCredential";
const RELAY_ONLY: &str = "corkboard.relayOnly";

/// What the profile menu edits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IceSettings {
    /// One URL per line, as typed.
    pub urls: String,
    pub turn_username: String,
    pub turn_credential: String,
    pub relay_only: bool,
}

impl IceSettings {
    pub fn load() -> IceSettings {
        IceSettings {
            urls: dom::load_local(ICE_SERVERS).unwrap_or_default(),
            turn_username: dom::load_local(TURN_USERNAME).unwrap_or_default(),
            turn_credential: dom::load_local(TURN_CREDENTIAL).unwrap_or_default(),
            relay_only: dom::load_local(RELAY_ONLY).is_some_and(|value| value == "true"),
        }
    }

    /// Stores the settings, keeping only valid URLs (`stun:`, `stuns:`,
    /// `turn:`, `turns:`); returns the servers to use.
    pub fn save(&self) -> Vec<IceServer> {
        let servers = self.servers();
        let lines: Vec<&str> = servers.iter().map(|server| server.url.as_str()).collect();
        dom::store_local(ICE_SERVERS, &lines.join("\n"));
        dom::store_local(TURN_USERNAME, self.turn_username.trim());
        dom::store_local(TURN_CREDENTIAL, &self.turn_credential);
        dom::store_local(RELAY_ONLY, if self.relay_only { "true" } else { "false" });
        servers
    }

    /// The servers, TURN ones with the username and credential (a browser
    /// refuses a TURN server without them: such a server is left out).
    pub fn servers(&self) -> Vec<IceServer> {
        let (username, credential) = (self.turn_username.trim(), self.turn_credential.as_str());
        desktop_wire::parse_ice_servers(&self.urls)
            .into_iter()
            .filter_map(|mut server| {
                if server.url.starts_with("turn") {
                    if username.is_empty() || credential.is_empty() {
                        crate::log::warn(&format!(
                            "{} needs a TURN username and credential; not used",
                            server.url
                        ));
                        return None;
                    }
                    server.username = username.to_owned();
                    server.credential = credential.to_owned();
                }
                Some(server)
            })
            .collect()
    }
}

/// The configured STUN/TURN servers.
pub fn ice_servers() -> Vec<IceServer> {
    IceSettings::load().servers()
}

/// Whether peer connections use TURN relays only.
pub fn relay_only() -> bool {
    IceSettings::load().relay_only
}
