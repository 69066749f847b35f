//! Corkboard's native peer: everything a board needs on a machine with a
//! disk and a network. The pure model and protocol live in `board-model`;
//! this crate is the edge around them:
//!
//! - [`storage`]: boards and blobs on disk, crash-safe;
//! - [`commands`]: the offline commands (`new`, `add-note`, `add-image`,
//!   `move`, `show`) of the `corkboard-peer` tool;
//! - [`random`] and [`clock`]: the randomness and time the pure core is given.

pub mod commands;
pub mod node;
pub mod signal_client;
pub mod storage;
pub mod transport;

/// Random ids for replicas, cards and keys, from the operating system.
pub mod random {
    /// 16 random bytes.
    pub fn bytes16() -> [u8; 16] {
        let mut bytes = [0u8; 16];
        fill(&mut bytes);
        bytes
    }

    /// Fills a buffer from the OS's random source (aborts if it has none:
    /// there is no safe way to make keys without it).
    pub fn fill(buffer: &mut [u8]) {
        if let Err(error) = getrandom::fill(buffer) {
            // ok: no peer, file or user input reaches this; only a broken OS does.
            panic!("the operating system has no random source: {error}");
        }
    }

    /// A replica id, fresh every time a board is opened.
    pub fn replica() -> board_model::ReplicaId {
        let mut bytes = [0u8; 8];
        fill(&mut bytes);
        // Loro reserves u64::MAX.
        board_model::ReplicaId(u64::from_le_bytes(bytes) % (u64::MAX - 1))
    }
}

/// Who edits boards from this machine's command line: its user's name.
pub fn author_name() -> String {
    std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "corkboard-peer".into())
}

/// The wall clock, in milliseconds since the Unix epoch.
pub mod clock {
    /// Seconds since the Unix epoch (what TURN credentials expire in).
    pub fn unix_secs() -> u64 {
        now_ms() / 1000
    }

    pub fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}
