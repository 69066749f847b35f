//! The connection proof a peer puts in its protocol hello: an HMAC, keyed
//! from the board key, over the sender's and the receiver's DTLS certificate
//! fingerprints. A relay or splice between two different DTLS connections
//! (a man in the middle) cannot produce it without the key, and a proof
//! from another connection does not verify on this one.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::BoardKey;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The proof the side with certificate `own_fingerprint` sends to the side
/// with `remote_fingerprint`. Fingerprints as the DTLS stack prints them
/// (such as `sha-256 AB:CD:…`); they are compared case-insensitively.
pub fn proof(key: &BoardKey, own_fingerprint: &str, remote_fingerprint: &str) -> Vec<u8> {
    // ok: HMAC accepts keys of any length, and this one is always 32 bytes.
    let mut mac =
        HmacSha256::new_from_slice(&key.derive("hello proof")).expect("HMAC accepts keys of any length");
    mac.update(b"corkboard/dtls/v1\0");
    mac.update(normalise(own_fingerprint).as_bytes());
    mac.update(b"\0");
    mac.update(normalise(remote_fingerprint).as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The proof this side must receive: the remote's proof over its own
/// fingerprint then ours.
pub fn expected_from_remote(key: &BoardKey, own_fingerprint: &str, remote_fingerprint: &str) -> Vec<u8> {
    proof(key, remote_fingerprint, own_fingerprint)
}

fn normalise(fingerprint: &str) -> String {
    fingerprint.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_agree_and_a_splice_fails() {
        let key = BoardKey([5; 32]);
        let (a, b, mitm) = ("sha-256 AA:01", "sha-256 BB:02", "sha-256 CC:03");
        assert_eq!(proof(&key, a, b), expected_from_remote(&key, b, a));
        // Fingerprints are compared case-insensitively.
        assert_eq!(proof(&key, "SHA-256 aa:01", b), proof(&key, a, b));
        // A proof made on a connection to someone else does not verify here.
        assert_ne!(proof(&key, a, mitm), expected_from_remote(&key, b, a));
        // Nor does one made without the key.
        assert_ne!(proof(&BoardKey([6; 32]), a, b), expected_from_remote(&key, b, a));
        // Direction matters.
        assert_ne!(proof(&key, a, b), proof(&key, b, a));
    }
}
