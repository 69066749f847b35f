//! Who may open a connection: at most [`crate::Limits::max_connections`]
//! at once, at most `connections_per_ip` from one address, and new ones
//! from one address at a bounded rate. A refused connection is answered
//! with a plain HTTP error saying why, then closed.
//!
//! A trusted proxy ([`crate::Limits::trusted_proxies`], loopback unless
//! `limit_loopback`) connects for everyone, so its connections count only
//! towards the total; each WebSocket it opens is then held to the
//! per-address limits of the client its `X-Forwarded-For` names
//! ([`Gate::admit_forwarded`], [`client_address`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::Limits;

/// Why a connection was refused, with its HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Full,
    TooManyFromAddress,
    TooFast,
}

impl Refusal {
    fn parts(self) -> (axum::http::StatusCode, &'static str, u32) {
        use axum::http::StatusCode;
        match self {
            Refusal::Full => (StatusCode::SERVICE_UNAVAILABLE, "the server is full; try again later", 30),
            Refusal::TooManyFromAddress => {
                (StatusCode::TOO_MANY_REQUESTS, "too many connections from your address", 10)
            }
            Refusal::TooFast => (StatusCode::TOO_MANY_REQUESTS, "connecting too often from your address", 5),
        }
    }

    /// The whole HTTP response that tells the client, for a connection
    /// refused before its request was read.
    pub fn response(self) -> String {
        let (status, reason, retry) = self.parts();
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
             Retry-After: {retry}\r\nConnection: close\r\n\r\n{reason}",
            reason.len()
        )
    }
}

impl axum::response::IntoResponse for Refusal {
    fn into_response(self) -> axum::response::Response {
        let (status, reason, retry) = self.parts();
        (status, [(axum::http::header::RETRY_AFTER, retry.to_string())], reason).into_response()
    }
}

#[derive(Debug)]
struct Address {
    open: usize,
    /// Tokens for new connections, refilled at the configured rate.
    tokens: f64,
    last: Instant,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    addresses: HashMap<IpAddr, Address>,
}

/// The limits, shared by the accept loop and every connection's permit.
#[derive(Debug)]
pub struct Gate {
    max_connections: usize,
    per_ip: usize,
    rate: f64,
    burst: f64,
    limit_loopback: bool,
    trusted_proxies: Vec<IpAddr>,
    state: Mutex<State>,
}

/// An admitted connection's place; given back when dropped.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Gate>,
    ip: Option<IpAddr>,
    /// Whether this permit holds a place in the total.
    counted: bool,
}

/// Where a request came from, put in its extensions by the accept loop so
/// the `/ws` handler can hold a proxied client to the limits.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub from: IpAddr,
    pub gate: Arc<Gate>,
    /// The connection's place: a WebSocket keeps it for its whole life
    /// (hyper is done with the connection once it is upgraded).
    pub permit: Arc<Permit>,
}

impl Arrival {
    /// Admits the WebSocket this request opens: a trusted proxy's for the
    /// client it names (`None` when it names nobody: only the proxy's
    /// connection counts); anyone else's was admitted at accept.
    pub fn admit_websocket(&self, headers: &axum::http::HeaderMap) -> Result<Option<Permit>, Refusal> {
        if !self.gate.is_trusted_proxy(self.from) {
            return Ok(None);
        }
        let forwarded: Vec<&str> =
            headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).collect();
        match client_address(&self.gate, &forwarded) {
            Some(client) => self.gate.admit_forwarded(client, Instant::now()).map(Some),
            None => Ok(None),
        }
    }
}

/// The client a trusted proxy's request is for: the right-most
/// `X-Forwarded-For` address that is not itself a trusted proxy (proxies
/// append the address they heard from, so entries left of it may be a
/// client's lies). `None` when the header is absent or unreadable.
pub fn client_address(gate: &Gate, forwarded_for: &[&str]) -> Option<IpAddr> {
    forwarded_for
        .iter()
        .flat_map(|header| header.split(','))
        .rev()
        .map(|entry| parse_forwarded_address(entry.trim()))
        .find(|entry| !matches!(entry, Some(ip) if gate.is_trusted_proxy(*ip)))
        .flatten()
}

/// `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443` or `203.0.113.7:443`.
fn parse_forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|socket| socket.ip()))
}

impl Gate {
    pub fn new(limits: &Limits) -> Arc<Gate> {
        let rate = f64::from(limits.new_connections_per_ip_per_second.max(1));
        Arc::new(Gate {
            max_connections: limits.max_connections,
            per_ip: limits.connections_per_ip,
            rate,
            burst: rate * 4.0,
            limit_loopback: limits.limit_loopback,
            trusted_proxies: limits.trusted_proxies.clone(),
            state: Mutex::new(State::default()),
        })
    }

    /// Whether `ip` is a proxy that speaks for others: its connections are
    /// not held to the per-address limits, the clients it names are.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        !self.limit_loopback && (ip.is_loopback() || self.trusted_proxies.contains(&ip))
    }

    /// Lets a connection from `ip` in, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Result<Permit, Refusal> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.total >= self.max_connections {
            return Err(Refusal::Full);
        }
        let limited = !self.is_trusted_proxy(ip);
        if limited {
            self.take_address_place(&mut state, ip, now)?;
        }
        state.total += 1;
        Ok(Permit { gate: Arc::clone(self), ip: limited.then_some(ip), counted: true })
    }

    /// Lets a WebSocket a trusted proxy opens for `client` in, or says why
    /// not: the per-address limits only, the proxy's connection already
    /// counts towards the total.
    pub fn admit_forwarded(self: &Arc<Self>, client: IpAddr, now: Instant) -> Result<Permit, Refusal> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.take_address_place(&mut state, client, now)?;
        Ok(Permit { gate: Arc::clone(self), ip: Some(client), counted: false })
    }

    fn take_address_place(&self, state: &mut State, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        // Forget addresses with nothing open whose bucket is full again,
        // so the map stays as small as the open connections.
        if state.addresses.len() > 2 * self.max_connections.max(1024) {
            let (rate, burst) = (self.rate, self.burst);
            state.addresses.retain(|_, a| {
                a.open > 0 || a.tokens + now.duration_since(a.last).as_secs_f64() * rate < burst
            });
        }
        let address = state.addresses.entry(ip).or_insert(Address { open: 0, tokens: self.burst, last: now });
        address.tokens =
            (address.tokens + now.duration_since(address.last).as_secs_f64() * self.rate).min(self.burst);
        address.last = now;
        if address.open >= self.per_ip {
            return Err(Refusal::TooManyFromAddress);
        }
        if address.tokens < 1.0 {
            return Err(Refusal::TooFast);
        }
        address.tokens -= 1.0;
        address.open += 1;
        Ok(())
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.gate.state.lock().unwrap_or_else(PoisonError::into_inner);
        if self.counted {
            state.total = state.total.saturating_sub(1);
        }
        if let Some(address) = self.ip.and_then(|ip| state.addresses.get_mut(&ip)) {
            address.open = address.open.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_ip: usize, rate: u32) -> Limits {
        Limits {
            max_connections: total,
            connections_per_ip: per_ip,
            new_connections_per_ip_per_second: rate,
            limit_loopback: true,
            ..Limits::default()
        }
    }

    #[test]
    fn caps_hold_and_places_are_given_back() {
        let gate = Gate::new(&limits(3, 2, 100));
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let now = Instant::now();
        let first = gate.admit(a, now);
        let second = gate.admit(a, now);
        assert!(first.is_ok() && second.is_ok());
        assert_eq!(gate.admit(a, now).err(), Some(Refusal::TooManyFromAddress));
        let third = gate.admit(b, now);
        assert!(third.is_ok());
        assert_eq!(gate.admit(b, now).err(), Some(Refusal::Full));
        drop(first);
        assert_eq!(gate.open(), 2);
        assert!(gate.admit(a, now).is_ok(), "a place given back is taken again");
    }

    #[test]
    fn new_connections_from_one_address_are_rate_limited_and_refill() {
        let gate = Gate::new(&limits(1000, 1000, 1));
        let ip: IpAddr = [10, 0, 0, 9].into();
        let now = Instant::now();
        // A burst of four, then refused until a second has passed.
        let held: Vec<_> = (0..4).map(|_| gate.admit(ip, now)).collect();
        assert!(held.iter().all(Result::is_ok));
        assert_eq!(gate.admit(ip, now).err(), Some(Refusal::TooFast));
        assert!(gate.admit(ip, now + std::time::Duration::from_millis(1_100)).is_ok());
        // Another address is not held up.
        assert!(gate.admit([10, 0, 0, 8].into(), now).is_ok());
    }

    #[test]
    fn loopback_is_exempt_from_the_per_address_limits_unless_asked() {
        let exempt = Gate::new(&Limits { connections_per_ip: 1, ..Limits::default() });
        let lo: IpAddr = [127, 0, 0, 1].into();
        let now = Instant::now();
        let held: Vec<_> = (0..10).map(|_| exempt.admit(lo, now)).collect();
        assert!(held.iter().all(Result::is_ok), "a proxy on loopback speaks for everyone");
        let strict = Gate::new(&limits(100, 1, 100));
        let _one = strict.admit(lo, now);
        assert_eq!(strict.admit(lo, now).err(), Some(Refusal::TooManyFromAddress));
    }

    #[test]
    fn clients_behind_a_trusted_proxy_are_held_to_the_per_address_limits() {
        let gate = Gate::new(&Limits {
            connections_per_ip: 1,
            trusted_proxies: vec![[10, 9, 9, 9].into()],
            ..Limits::default()
        });
        let now = Instant::now();
        let proxy: IpAddr = [10, 9, 9, 9].into();
        let proxied: Vec<_> = (0..3).map(|_| gate.admit(proxy, now)).collect();
        assert!(proxied.iter().all(Result::is_ok), "the proxy speaks for many");
        let client: IpAddr = [203, 0, 113, 7].into();
        let one = gate.admit_forwarded(client, now);
        assert!(one.is_ok());
        assert_eq!(gate.admit_forwarded(client, now).err(), Some(Refusal::TooManyFromAddress));
        assert!(gate.admit_forwarded([203, 0, 113, 8].into(), now).is_ok());
        assert_eq!(gate.open(), 3, "forwarded permits do not count twice");
        drop(one);
        assert!(gate.admit_forwarded(client, now).is_ok(), "a place given back is taken again");
    }

    #[test]
    fn the_client_is_the_right_most_forwarded_address_that_is_no_proxy() {
        let gate = Gate::new(&Limits { trusted_proxies: vec![[10, 9, 9, 9].into()], ..Limits::default() });
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        assert_eq!(client_address(&gate, &["203.0.113.7"]), ip("203.0.113.7"));
        // A client may put anything left of what the proxy appends.
        assert_eq!(client_address(&gate, &["1.2.3.4, 203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(client_address(&gate, &["1.2.3.4", "203.0.113.7, 10.9.9.9"]), ip("203.0.113.7"));
        assert_eq!(client_address(&gate, &["[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(client_address(&gate, &["203.0.113.7:5000"]), ip("203.0.113.7"));
        assert_eq!(client_address(&gate, &[]), None);
        assert_eq!(client_address(&gate, &["nonsense"]), None);
        assert_eq!(client_address(&gate, &["10.9.9.9"]), None, "only proxies: nobody to hold");
    }

    #[test]
    fn a_refusal_is_a_whole_http_response_that_says_why() {
        let response = Refusal::TooManyFromAddress.response();
        assert!(response.starts_with("HTTP/1.1 429 "));
        assert!(response.ends_with("too many connections from your address"));
        assert!(Refusal::Full.response().starts_with("HTTP/1.1 503 "));
    }
}
