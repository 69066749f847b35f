//! The benchmark workloads, stated once as a trait that every engine
//! (our board model, raw Loro, Automerge, Yrs) implements the same way, so
//! ratios between engines come from one run on one machine.
//!
//! Shared conventions for every implementation:
//! - a board is a map `cards` from card id (the string `card_id(i)`) to a
//!   map with `x`, `y` (f64), `w`, `h` (f64), `color` (string) and, for the
//!   reconcile workload, a `text` (the engine's collaborative text type);
//! - "committed" means one transaction/commit per user action;
//! - randomness comes from `Lcg` with the seeds given, so every engine sees
//!   the same sequence of operations.

use std::time::Duration;

/// What one engine must do for the benchmark workloads.
pub trait Engine {
    /// Shown in the tables.
    const NAME: &'static str;

    /// Workload 1: creates a board of `cards` cards, then moves random
    /// cards `moves` times, one commit each, and returns the time taken by
    /// the moves alone.
    fn timed_moves(cards: usize, moves: usize, seed: u64) -> Duration;

    /// Workload 2a: a board of `cards` cards after `moves` committed moves
    /// (random cards, seeded). Returns the full save (all history) and, where
    /// the engine can, a trimmed save (current state, history dropped).
    fn saved_history(cards: usize, moves: usize, seed: u64) -> (Vec<u8>, Option<Vec<u8>>);

    /// Workload 2b: loads saved bytes and reads every card's position (what
    /// a first render needs). Returns the number of cards read.
    fn load_and_read(bytes: &[u8]) -> usize;

    /// Workload 3: two replicas share a board of 100 cards (each with a
    /// note text), go offline, each makes `edits` edits (seeded: 80% moves,
    /// 20% one-character text inserts), then reconcile through the engine's
    /// own sync mechanism until both are equal (checked).
    fn reconcile(edits: usize, seed: u64) -> Reconcile;

    /// Workload 4: `peers` replicas of a one-card board each set that card's
    /// colour once, concurrently; one replica then applies all their changes.
    fn concurrent_colours(peers: usize) -> Colours;
}

/// Result of the reconcile workload.
#[derive(Debug, Clone, Copy)]
pub struct Reconcile {
    /// Bytes of every sync message both sides sent.
    pub bytes_exchanged: usize,
    /// Bytes of the two sides' new changes, encoded on their own (the
    /// engine's "updates since the shared version" for each side, added).
    pub change_bytes: usize,
    /// Round trips until both sides were equal (one message each way is one).
    pub round_trips: f64,
    /// Time spent generating and applying sync messages (both sides).
    pub compute: Duration,
}

/// Result of the concurrent colours workload.
#[derive(Debug, Clone, Copy)]
pub struct Colours {
    /// Time for one replica to apply all the other replicas' changes.
    pub apply: Duration,
    /// Size of the resulting document, saved with history.
    pub saved_bytes: usize,
    /// The winning colour is the same on every replica (checked).
    pub converged: bool,
}

/// The id of card `i`, the same string in every engine.
pub fn card_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// A tiny deterministic generator so every engine sees the same operations.
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 11
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A coordinate in -5000..5000.
    pub fn coordinate(&mut self) -> f64 {
        (self.next_u64() % 10_000) as f64 - 5_000.0
    }
}
