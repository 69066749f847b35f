//! Sealed signaling envelopes. Everything peers say through the signaling
//! server (announcements, offers, answers, candidates) is encrypted and
//! authenticated with XChaCha20-Poly1305 under a key derived from the board
//! key, and bound to the room, the sender and (for directed messages) the
//! recipient. Each sender numbers its envelopes; a receiver refuses any
//! number it has seen, and broadcast envelopes must be fresh. So the server
//! (or anyone without the key) can neither read an offer nor forge, alter,
//! redirect or replay one.
//!
//! Sealed form: 24-byte nonce, then the ciphertext of a postcard-encoded
//! [`Signal`] with its header. Nonces are passed in (the caller draws them at
//! random); times too.

use std::collections::HashMap;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use crate::BoardKey;

/// Largest sealed envelope accepted, in bytes (an SDP is a few KiB).
pub const MAX_SEALED_BYTES: usize = 32 * 1024;
/// How old (or how far in the future) a broadcast envelope may be, in milliseconds.
pub const FRESHNESS_MS: u64 = 120_000;
/// Longest peer id, in bytes.
pub const MAX_PEER_ID_BYTES: usize = 64;

const NONCE_BYTES: usize = 24;

/// What peers say to each other through the signaling server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// "I am here, and this is what I am": an always-on relay says so to
    /// the room on joining, to each peer that joins after, and now and then
    /// (the server learns nothing: the role is sealed like the rest).
    Announce { relay: bool },
    /// A WebRTC offer (complete, with its ICE candidates).
    Offer { sdp: String },
    /// A WebRTC answer.
    Answer { sdp: String },
    /// A trickled ICE candidate, as JSON.
    Candidate { candidate: String },
    /// "I am leaving."
    Bye,
}

#[derive(Serialize, Deserialize)]
struct Inner {
    from: String,
    to: Option<String>,
    seq: u64,
    sent_at_ms: u64,
    signal: Signal,
}

/// Why an envelope was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("envelope of {0} bytes is too large")]
    TooLarge(usize),
    #[error("envelope too short")]
    Truncated,
    #[error("envelope failed authentication (wrong board key, or altered on the way)")]
    Unauthentic,
    #[error("envelope is malformed")]
    Malformed,
    #[error("envelope claims another sender than the one it came from")]
    WrongSender,
    #[error("envelope is addressed to another peer")]
    NotForUs,
    #[error("envelope was already received (replay)")]
    Replay,
    #[error("broadcast envelope is stale")]
    Stale,
}

/// A signal opened and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub from: String,
    /// True when addressed to us alone (not broadcast to the room).
    pub directed: bool,
    pub signal: Signal,
}

fn aad(room: &str) -> Vec<u8> {
    let mut aad = b"corkboard/signal/v1\0".to_vec();
    aad.extend_from_slice(room.as_bytes());
    aad
}

/// Seals and opens one peer's envelopes in one room.
pub struct Envelopes {
    cipher: XChaCha20Poly1305,
    room: String,
    me: String,
    next_seq: u64,
    seen: HashMap<String, u64>,
}

impl std::fmt::Debug for Envelopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelopes").field("room", &self.room).field("me", &self.me).finish_non_exhaustive()
    }
}

impl Envelopes {
    /// `me` is this peer's id in the room (fresh and random per connection).
    pub fn new(key: &BoardKey, room: &str, me: &str) -> Envelopes {
        let cipher = XChaCha20Poly1305::new(&key.derive("signaling envelope").into());
        Envelopes { cipher, room: room.to_owned(), me: me.to_owned(), next_seq: 1, seen: HashMap::new() }
    }

    /// Seals a signal for one peer (`to`) or for the whole room (`None`).
    pub fn seal(
        &mut self,
        to: Option<&str>,
        signal: Signal,
        nonce: [u8; NONCE_BYTES],
        now_ms: u64,
    ) -> Vec<u8> {
        let inner = Inner {
            from: self.me.clone(),
            to: to.map(str::to_owned),
            seq: self.next_seq,
            sent_at_ms: now_ms,
            signal,
        };
        self.next_seq += 1;
        let plaintext = postcard::to_allocvec(&inner).unwrap_or_default();
        let aad = aad(&self.room);
        let nonce_value = XNonce::from(nonce);
        // Encryption into a Vec cannot fail for these sizes.
        let ciphertext =
            self.cipher.encrypt(&nonce_value, Payload { msg: &plaintext, aad: &aad }).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Opens an envelope the server says came from `from`.
    pub fn open(&mut self, from: &str, sealed: &[u8], now_ms: u64) -> Result<Opened, Error> {
        if sealed.len() > MAX_SEALED_BYTES {
            return Err(Error::TooLarge(sealed.len()));
        }
        if sealed.len() < NONCE_BYTES + 16 {
            return Err(Error::Truncated);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let mut nonce_bytes = [0u8; NONCE_BYTES];
        nonce_bytes.copy_from_slice(nonce);
        let aad = aad(&self.room);
        let plaintext = self
            .cipher
            .decrypt(&XNonce::from(nonce_bytes), Payload { msg: ciphertext, aad: &aad })
            .map_err(|_| Error::Unauthentic)?;
        let inner: Inner = postcard::from_bytes(&plaintext).map_err(|_| Error::Malformed)?;
        if inner.from != from || inner.from.len() > MAX_PEER_ID_BYTES {
            return Err(Error::WrongSender);
        }
        match &inner.to {
            Some(to) if *to != self.me => return Err(Error::NotForUs),
            None if now_ms.abs_diff(inner.sent_at_ms) > FRESHNESS_MS => return Err(Error::Stale),
            _ => {}
        }
        let last = self.seen.get(&inner.from).copied().unwrap_or(0);
        if inner.seq <= last {
            return Err(Error::Replay);
        }
        self.seen.insert(inner.from.clone(), inner.seq);
        Ok(Opened { from: inner.from, directed: inner.to.is_some(), signal: inner.signal })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::room_id;

    fn pair() -> (Envelopes, Envelopes, String) {
        let key = BoardKey([9; 32]);
        let room = room_id(&key);
        (Envelopes::new(&key, &room, "alice"), Envelopes::new(&key, &room, "bob"), room)
    }

    fn offer() -> Signal {
        Signal::Offer { sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=fingerprint:sha-256 AB:CD".into() }
    }

    #[test]
    fn a_sealed_offer_opens_for_its_recipient_and_hides_the_sdp() {
        let (mut alice, mut bob, _) = pair();
        let sealed = alice.seal(Some("bob"), offer(), [1; 24], 1_000);
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("fingerprint") && !text.contains("127.0.0.1"));
        let opened = bob.open("alice", &sealed, 1_000).unwrap();
        assert_eq!(opened, Opened { from: "alice".into(), directed: true, signal: offer() });
    }

    #[test]
    fn without_the_key_an_offer_can_be_neither_read_nor_forged() {
        let (mut alice, mut bob, room) = pair();
        let mut mallory = Envelopes::new(&BoardKey([7; 32]), &room, "alice");
        let forged = mallory.seal(Some("bob"), offer(), [2; 24], 0);
        assert_eq!(bob.open("alice", &forged, 0), Err(Error::Unauthentic));
        let sealed = alice.seal(Some("bob"), offer(), [3; 24], 0);
        let mut mallory_reader = Envelopes::new(&BoardKey([7; 32]), &room, "bob");
        assert_eq!(mallory_reader.open("alice", &sealed, 0), Err(Error::Unauthentic));
    }

    #[test]
    fn an_altered_envelope_is_refused() {
        let (mut alice, mut bob, _) = pair();
        let mut sealed = alice.seal(Some("bob"), offer(), [4; 24], 0);
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(bob.open("alice", &sealed, 0), Err(Error::Unauthentic));
        sealed[last] ^= 1;
        sealed[30] ^= 0x80;
        assert_eq!(bob.open("alice", &sealed, 0), Err(Error::Unauthentic));
    }

    #[test]
    fn replays_redirects_and_spoofed_senders_are_refused() {
        let (mut alice, mut bob, room) = pair();
        let sealed = alice.seal(Some("bob"), offer(), [5; 24], 0);
        assert!(bob.open("alice", &sealed, 0).is_ok());
        assert_eq!(bob.open("alice", &sealed, 0), Err(Error::Replay));
        // The server claims another sender.
        let sealed = alice.seal(Some("bob"), offer(), [6; 24], 0);
        assert_eq!(bob.open("carol", &sealed, 0), Err(Error::WrongSender));
        // Redirected to a third peer.
        let mut carol = Envelopes::new(&BoardKey([9; 32]), &room, "carol");
        let to_bob = alice.seal(Some("bob"), offer(), [7; 24], 0);
        assert_eq!(carol.open("alice", &to_bob, 0), Err(Error::NotForUs));
        // Moved to another room.
        let mut elsewhere = Envelopes::new(&BoardKey([9; 32]), &"0".repeat(64), "bob");
        let to_bob = alice.seal(Some("bob"), offer(), [8; 24], 0);
        assert_eq!(elsewhere.open("alice", &to_bob, 0), Err(Error::Unauthentic));
    }

    #[test]
    fn stale_broadcasts_are_refused() {
        let (mut alice, mut bob, _) = pair();
        let sealed = alice.seal(None, Signal::Announce { relay: true }, [9; 24], 0);
        assert_eq!(bob.open("alice", &sealed, FRESHNESS_MS + 1), Err(Error::Stale));
        let sealed = alice.seal(None, Signal::Announce { relay: true }, [10; 24], 50_000);
        assert!(bob.open("alice", &sealed, 60_000).is_ok());
    }

    #[test]
    fn garbage_gets_errors_not_panics() {
        let (_, mut bob, _) = pair();
        assert_eq!(bob.open("alice", b"", 0), Err(Error::Truncated));
        assert_eq!(bob.open("alice", &[0; 100], 0), Err(Error::Unauthentic));
        assert_eq!(
            bob.open("alice", &vec![0; MAX_SEALED_BYTES + 1], 0),
            Err(Error::TooLarge(MAX_SEALED_BYTES + 1))
        );
    }
}
