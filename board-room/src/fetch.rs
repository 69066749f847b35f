//! Fetching the images a board shows but this device lacks: each missing
//! image is asked of one open session at a time, taking turns between them,
//! and a session that said it lacks an image is left alone about it for
//! [`crate::LACKING_BACKOFF_MS`].

use std::collections::BTreeMap;

use board_model::blob::{self, Hash};
use board_model::{Board, Session};

use crate::LACKING_BACKOFF_MS;
use crate::link::LinkId;

#[derive(Debug, Default)]
pub(crate) struct Fetcher {
    /// Moves on after each failure so the next attempt asks another session.
    turn: usize,
    /// (session, image) → until when it is not asked again.
    lacking: BTreeMap<(LinkId, Hash), u64>,
}

impl Fetcher {
    /// A session said it lacks `hash` (or stopped answering about it).
    pub fn lacks(&mut self, link: LinkId, hash: Hash, now: u64) {
        self.lacking.insert((link, hash), now + LACKING_BACKOFF_MS);
        self.turn = self.turn.wrapping_add(1);
    }

    /// A fetch failed in another way (a damaged image): ask someone else next.
    pub fn next_turn(&mut self) {
        self.turn = self.turn.wrapping_add(1);
    }

    pub fn link_gone(&mut self, link: LinkId) {
        self.lacking.retain(|(who, _), _| *who != link);
    }

    pub fn expire(&mut self, now: u64) {
        self.lacking.retain(|_, until| *until > now);
    }

    /// Asks open sessions for every missing image nobody is fetching yet.
    pub fn want_missing<'a>(
        &mut self,
        board: &Board,
        blobs: &dyn blob::Store,
        sessions: impl Iterator<Item = (LinkId, &'a mut Session)>,
    ) {
        let missing: Vec<Hash> =
            board.referenced_blobs().into_iter().filter(|hash| blobs.complete_len(hash).is_none()).collect();
        if missing.is_empty() {
            return;
        }
        let mut open: Vec<(LinkId, &mut Session)> = sessions.collect();
        if open.is_empty() {
            return;
        }
        for (i, hash) in missing.iter().enumerate() {
            if open.iter().any(|(_, session)| session.wanted_blobs().any(|wanted| wanted == hash)) {
                continue;
            }
            let candidates: Vec<usize> = (0..open.len())
                .filter(|index| !self.lacking.contains_key(&(open[*index].0, *hash)))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let chosen = candidates[(self.turn.wrapping_add(i)) % candidates.len()];
            open[chosen].1.want_blob(*hash, blobs);
        }
    }
}
