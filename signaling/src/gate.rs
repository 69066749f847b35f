//! Who may open a connection: at most [`crate::Limits::max_connections`]
//! at once, at most `connections_per_ip` from one address, and new ones
//! from one address at a bounded rate. A refused connection is answered
//! with a plain HTTP error saying why, then closed. Loopback is exempt
//! from the per-address limits unless `limit_loopback` (a reverse proxy on
//! this machine connects from loopback for everyone).

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
    /// The whole HTTP response that tells the client.
    pub fn response(self) -> String {
        let (status, reason, retry) = match self {
            Refusal::Full => ("503 Service Unavailable", "the server is full; try again later", 30),
            Refusal::TooManyFromAddress => {
                ("429 Too Many Requests", "too many connections from your address", 10)
            }
            Refusal::TooFast => ("429 Too Many Requests", "connecting too often from your address", 5),
        };
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
             Retry-After: {retry}\r\nConnection: close\r\n\r\n{reason}",
            reason.len()
        )
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
    state: Mutex<State>,
}

/// An admitted connection's place; given back when dropped.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Gate>,
    ip: Option<IpAddr>,
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
            state: Mutex::new(State::default()),
        })
    }

    /// Lets a connection from `ip` in, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Result<Permit, Refusal> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.total >= self.max_connections {
            return Err(Refusal::Full);
        }
        let limited = self.limit_loopback || !ip.is_loopback();
        if limited {
            // Forget addresses with nothing open whose bucket is full again,
            // so the map stays as small as the open connections.
            if state.addresses.len() > 2 * self.max_connections.max(1024) {
                let (rate, burst) = (self.rate, self.burst);
                state.addresses.retain(|_, a| {
                    a.open > 0 || a.tokens + now.duration_since(a.last).as_secs_f64() * rate < burst
                });
            }
            let address =
                state.addresses.entry(ip).or_insert(Address { open: 0, tokens: self.burst, last: now });
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
        }
        state.total += 1;
        Ok(Permit { gate: Arc::clone(self), ip: limited.then_some(ip) })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.gate.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.total = state.total.saturating_sub(1);
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
    fn a_refusal_is_a_whole_http_response_that_says_why() {
        let response = Refusal::TooManyFromAddress.response();
        assert!(response.starts_with("HTTP/1.1 429 "));
        assert!(response.ends_with("too many connections from your address"));
        assert!(Refusal::Full.response().starts_with("HTTP/1.1 503 "));
    }
}
