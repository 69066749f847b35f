//! Signaling room ids: a domain-separated SHA-256 of the board key, so the
//! signaling server can group a board's peers without learning which board
//! it is or anything that would let it join.

use sha2::{Digest, Sha256};

use crate::BoardKey;

/// The room a board's peers meet in, as 64 lowercase hex characters.
pub fn room_id(key: &BoardKey) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"corkboard/room/v1\0");
    hasher.update(key.0);
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// True for a string shaped like a room id (what a server accepts).
pub fn is_room_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_ids_are_stable_distinct_and_reveal_nothing_of_the_key() {
        let a = room_id(&BoardKey([1; 32]));
        assert_eq!(a, room_id(&BoardKey([1; 32])));
        assert_ne!(a, room_id(&BoardKey([2; 32])));
        assert!(is_room_id(&a));
        assert!(!a.contains(&"01".repeat(8)));
        assert!(!is_room_id("ABC"));
    }
}
