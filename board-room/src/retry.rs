//! When to try a remote peer again: soon after a connection that had
//! proven itself ends, later and later after each failure, never for a peer
//! that left.

use std::collections::BTreeMap;

use crate::STABLE_MS;

/// The first retry after a clean end.
pub const RETRY_MIN_MS: u64 = 500;
/// The first retry after a failure; it doubles with each further failure.
pub const RETRY_FAILED_MS: u64 = 1_000;
/// The longest wait between attempts.
pub const RETRY_MAX_MS: u64 = 30_000;

#[derive(Clone, Copy, Debug, Default)]
struct Attempts {
    failures: u32,
    next_ms: u64,
}

/// Per remote signaling id: failures in a row and when the next attempt may start.
#[derive(Debug, Default)]
pub(crate) struct Retries {
    peers: BTreeMap<String, Attempts>,
}

impl Retries {
    /// Whether an attempt to `peer` may start now.
    pub fn due(&self, peer: &str, now: u64) -> bool {
        self.peers.get(peer).is_none_or(|attempts| attempts.next_ms <= now)
    }

    /// A link to `peer` ended; `failed` when it never proved itself.
    pub fn ended(&mut self, peer: &str, failed: bool, opened_ms: Option<u64>, now: u64) {
        let attempts = self.peers.entry(peer.to_owned()).or_default();
        let stable = opened_ms.is_some_and(|opened| now.saturating_sub(opened) >= STABLE_MS);
        if failed && !stable {
            attempts.failures = attempts.failures.saturating_add(1);
        } else {
            attempts.failures = 0;
        }
        attempts.next_ms = now + delay(attempts.failures);
    }

    /// Forgets a peer (it left: its id is never used again).
    pub fn forget(&mut self, peer: &str) {
        self.peers.remove(peer);
    }

    pub fn clear(&mut self) {
        self.peers.clear();
    }

    pub fn peers(&self) -> impl Iterator<Item = &String> {
        self.peers.keys()
    }
}

/// The wait before the next attempt after `failures` failures in a row.
pub fn delay(failures: u32) -> u64 {
    if failures == 0 {
        return RETRY_MIN_MS;
    }
    let doublings = (failures - 1).min(16);
    (RETRY_FAILED_MS << doublings).min(RETRY_MAX_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_to_a_ceiling_and_a_stable_link_resets_them() {
        assert_eq!(delay(0), RETRY_MIN_MS);
        assert_eq!(delay(1), 1_000);
        assert_eq!(delay(2), 2_000);
        assert_eq!(delay(30), RETRY_MAX_MS);
        let mut retries = Retries::default();
        retries.ended("b", true, None, 0);
        retries.ended("b", true, None, 1_000);
        assert!(!retries.due("b", 2_999));
        assert!(retries.due("b", 3_000));
        // Open long enough: its failure is not held against it.
        retries.ended("b", true, Some(10_000), 30_000);
        assert!(retries.due("b", 30_000 + RETRY_MIN_MS));
        retries.forget("b");
        assert!(retries.due("b", 0));
    }
}
