//! The STUN and TURN servers a client is handed each time it joins a room.
//! STUN URLs go out as given; TURN URLs go out with credentials made for
//! that join in the TURN REST scheme that coturn's `use-auth-secret`
//! checks: the username is `expiry:id` (expiry in Unix seconds), the
//! credential the base64 HMAC-SHA1 of the username under the shared
//! secret. The secret itself never leaves the server; a credential stops
//! working at its expiry.

use std::time::Duration;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use signal_wire::{IceServer, is_ice_url};

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// How long handed-out TURN credentials last by default (a day, as
/// coturn's examples and most TURN REST deployments use).
pub const DEFAULT_TTL: Duration = Duration::from_secs(86_400);

/// What is wrong with the ICE flags.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0:?} is not a STUN URL (stun:host[:port] or stuns:…)")]
    NotStun(String),
    #[error("{0:?} is not a TURN URL (turn:host[:port][?transport=udp|tcp] or turns:…)")]
    NotTurn(String),
    #[error("TURN URLs need --turn-secret (the static-auth-secret coturn is started with)")]
    NoSecret,
    #[error("--turn-secret is given but no --turn-url")]
    SecretWithoutTurn,
    #[error("--turn-ttl must be between 1 and 604800 seconds (a week)")]
    BadTtl,
}

/// The servers to hand out; empty by default (clients then use only the
/// servers their users configured).
#[derive(Clone, Default)]
pub struct IceConfig {
    stun: Vec<String>,
    turn: Vec<String>,
    secret: Vec<u8>,
    ttl: Duration,
}

impl std::fmt::Debug for IceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret, not even in logs.
        f.debug_struct("IceConfig")
            .field("stun", &self.stun)
            .field("turn", &self.turn)
            .finish_non_exhaustive()
    }
}

impl IceConfig {
    pub fn new(
        stun: Vec<String>,
        turn: Vec<String>,
        secret: Option<String>,
        ttl: Duration,
    ) -> Result<IceConfig, ConfigError> {
        if let Some(bad) = stun.iter().find(|url| !(is_ice_url(url) && url.starts_with("stun"))) {
            return Err(ConfigError::NotStun(bad.clone()));
        }
        if let Some(bad) = turn.iter().find(|url| !(is_ice_url(url) && url.starts_with("turn"))) {
            return Err(ConfigError::NotTurn(bad.clone()));
        }
        let secret = secret.filter(|secret| !secret.is_empty());
        match (&secret, turn.is_empty()) {
            (None, false) => return Err(ConfigError::NoSecret),
            (Some(_), true) => return Err(ConfigError::SecretWithoutTurn),
            _ => {}
        }
        if ttl.is_zero() || ttl > Duration::from_secs(7 * 86_400) {
            return Err(ConfigError::BadTtl);
        }
        Ok(IceConfig { stun, turn, secret: secret.map(String::into_bytes).unwrap_or_default(), ttl })
    }

    /// Whether there is anything to hand out.
    pub fn is_empty(&self) -> bool {
        self.stun.is_empty() && self.turn.is_empty()
    }

    /// The servers for one join at `now_unix` (seconds), with `id` (random,
    /// fresh per join) in the TURN username.
    pub fn servers(&self, now_unix: u64, id: &str) -> Vec<IceServer> {
        let mut servers = Vec::new();
        if !self.stun.is_empty() {
            servers.push(IceServer { urls: self.stun.clone(), username: None, credential: None });
        }
        if !self.turn.is_empty() {
            let username = format!("{}:{id}", now_unix.saturating_add(self.ttl.as_secs()));
            let credential = turn_credential(&self.secret, &username);
            servers.push(IceServer {
                urls: self.turn.clone(),
                username: Some(username),
                credential: Some(credential),
            });
        }
        servers
    }
}

/// The TURN REST credential for `username`: base64 of HMAC-SHA1 under `secret`.
pub fn turn_credential(secret: &[u8], username: &str) -> String {
    // ok: HMAC takes keys of any length.
    let mut mac = HmacSha1::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_is_what_coturn_computes() {
        // RFC-draft "REST API for access to TURN services" / coturn: the
        // password is base64(HMAC-SHA1(secret, "expiry:user")). Checked
        // against `printf '1700000000:alice' | openssl dgst -sha1 -hmac north -binary | base64`.
        assert_eq!(turn_credential(b"north", "1700000000:alice"), "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
    }

    #[test]
    fn each_join_gets_its_own_expiring_username_and_the_secret_stays_here() {
        let config = IceConfig::new(
            vec!["stun:stun.example.org:3478".into()],
            vec!["turn:turn.example.org:3478".into(), "turn:turn.example.org:443?transport=tcp".into()],
            Some("s3cret".into()),
            Duration::from_secs(600),
        );
        let Ok(config) = config else { panic!("valid config: {config:?}") };
        let servers = config.servers(1_000, "ab");
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].username, None);
        let turn = &servers[1];
        assert_eq!(turn.username.as_deref(), Some("1600:ab"));
        assert_eq!(turn.credential, Some(turn_credential(b"s3cret", "1600:ab")));
        assert!(servers.iter().all(IceServer::is_usable));
        let other = config.servers(1_000, "cd");
        assert_ne!(other[1].credential, turn.credential);
        let shown = format!("{config:?} {servers:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn bad_flags_are_refused_with_what_is_wrong() {
        let ttl = DEFAULT_TTL;
        let turn = || vec!["turn:t.example.org".to_owned()];
        assert_eq!(IceConfig::new(vec![], turn(), None, ttl).err(), Some(ConfigError::NoSecret));
        assert_eq!(
            IceConfig::new(vec![], vec![], Some("s".into()), ttl).err(),
            Some(ConfigError::SecretWithoutTurn)
        );
        assert!(matches!(
            IceConfig::new(vec!["turn:x".into()], vec![], None, ttl),
            Err(ConfigError::NotStun(_))
        ));
        assert!(matches!(
            IceConfig::new(vec![], vec!["http://x".into()], Some("s".into()), ttl),
            Err(ConfigError::NotTurn(_))
        ));
        assert_eq!(
            IceConfig::new(vec![], turn(), Some("s".into()), Duration::ZERO).err(),
            Some(ConfigError::BadTtl)
        );
        assert!(IceConfig::new(vec![], vec![], None, ttl).is_ok_and(|config| config.is_empty()));
    }
}
