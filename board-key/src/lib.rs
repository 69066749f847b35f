//! A board's secret key and everything derived from it, pure and shared by
//! every home (native peer, browser, desktop):
//!
//! - [`link`]: share links (`corkboard://` and web links with the key in the
//!   URL fragment) carrying a board's id and key;
//! - [`room`]: the signaling room id, a domain-separated hash of the key, so
//!   the signaling server never learns the board or the key;
//! - [`envelope`]: signaling messages sealed with an AEAD keyed from the
//!   board key, bound to the room, sender and recipient, with replay
//!   protection;
//! - [`proof`]: the proof a peer sends in its hello that it holds the key,
//!   bound to both ends' DTLS certificate fingerprints.
//!
//! No IO, no clock, no randomness: nonces, ids and times are passed in.

pub mod envelope;
pub mod link;
pub mod proof;
pub mod room;

use hkdf::Hkdf;
use sha2::Sha256;

/// A board's 256-bit secret: whoever holds it can read and edit the board.
#[derive(Clone, PartialEq, Eq)]
pub struct BoardKey(pub [u8; 32]);

impl std::fmt::Debug for BoardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoardKey(…)")
    }
}

impl BoardKey {
    /// Derives a 32-byte subkey for one purpose (HKDF-SHA256, domain-separated).
    pub(crate) fn derive(&self, purpose: &str) -> [u8; 32] {
        let hkdf = Hkdf::<Sha256>::new(Some(b"corkboard/v1"), &self.0);
        let mut out = [0u8; 32];
        // 32 bytes is always a valid HKDF-SHA256 output length.
        let _ = hkdf.expand(purpose.as_bytes(), &mut out);
        out
    }
}
