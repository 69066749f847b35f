//! Fetching the images a board shows but this device lacks: each missing
//! image is asked of one open session at a time, taking turns between them,
//! and a session that said it lacks an image is left alone about it for
//! [`crate::LACKING_BACKOFF_MS`]. At most [`MAX_FETCHES`] are under way at
//! once (each session takes at most `MAX_WANTS_PER_PEER`), and the bytes
//! held of an image nobody is sending any more are let go.

use std::collections::BTreeMap;

use board_model::blob::{self, Hash};
use board_model::{Board, Session, Version};

use crate::LACKING_BACKOFF_MS;
use crate::link::LinkId;

/// Most images fetched at once, over all sessions of a board.
pub const MAX_FETCHES: usize = 8;

#[derive(Debug, Default)]
pub(crate) struct Fetcher {
    /// Moves on after each failure so the next attempt asks another session.
    turn: usize,
    /// (session, image) → until when it is not asked again.
    lacking: BTreeMap<(LinkId, Hash), u64>,
    /// The images the board showed at this version that the store lacked:
    /// the board is read again only when it changed, and only the missing
    /// images are looked up in the store (a disk store stats each one).
    missing: Option<(Version, Vec<Hash>)>,
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

    /// The images the board shows that the store lacks.
    pub fn missing(&mut self, board: &Board, blobs: &dyn blob::Store) -> &[Hash] {
        let version = board.version();
        let known = self.missing.take().filter(|(seen, _)| *seen == version);
        let (version, mut missing) = match known {
            Some(known) => known,
            None => (version, board.referenced_blobs()),
        };
        missing.retain(|hash| blobs.complete_len(hash).is_none());
        &self.missing.insert((version, missing)).1
    }

    /// Asks open sessions for missing images nobody is fetching yet, up to
    /// [`MAX_FETCHES`] under way; lets go of the bytes held of images no
    /// session is fetching.
    pub fn want_missing<'a>(
        &mut self,
        board: &Board,
        blobs: &mut dyn blob::Store,
        sessions: impl Iterator<Item = (LinkId, &'a mut Session)>,
    ) {
        let missing: Vec<Hash> = self.missing(board, blobs).to_vec();
        if missing.is_empty() {
            return;
        }
        let mut open: Vec<(LinkId, &mut Session)> = sessions.collect();
        let wanted = |open: &[(LinkId, &mut Session)], hash: &Hash| {
            open.iter().any(|(_, session)| session.wanted_blobs().any(|wanted| wanted == hash))
        };
        let mut under_way: usize = open.iter().map(|(_, session)| session.wanted_blobs().count()).sum();
        for (i, hash) in missing.iter().enumerate() {
            if under_way >= MAX_FETCHES {
                break;
            }
            if wanted(&open, hash) {
                continue;
            }
            let candidates: Vec<usize> = (0..open.len())
                .filter(|index| !self.lacking.contains_key(&(open[*index].0, *hash)))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let chosen = candidates[(self.turn.wrapping_add(i)) % candidates.len()];
            if open[chosen].1.want_blob(*hash, blobs) {
                under_way += 1;
            }
        }
        for hash in &missing {
            if blobs.partial_len(hash) > 0 && !wanted(&open, hash) {
                blobs.partial_abandoned(hash);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use board_model::blob::{MemoryStore, Store};
    use board_model::presence::Identity;
    use board_model::session::Config;
    use board_model::{BoardId, CardId, Content, ImageRef, NewCard, Point, ReplicaId};

    use super::*;

    fn board_showing(images: u8) -> Board {
        let mut board = Board::create(BoardId(uuid::Uuid::from_bytes([1; 16])), "b", ReplicaId(1)).unwrap();
        for n in 0..images {
            let image = ImageRef {
                hash: Hash::of(&[n]),
                media_type: "image/png".into(),
                natural_width: 1,
                natural_height: 1,
                file_name: String::new(),
            };
            let card = NewCard {
                id: CardId::from_random_bytes([n; 16]),
                position: Point { x: 0.0, y: 0.0 },
                size: None,
                color: None,
                content: Content::Image(image),
                created_by: String::new(),
                created_at: 0,
            };
            board.add_card(card).unwrap();
        }
        board
    }

    fn session(n: u64) -> Session {
        Session::new(Config::new(n, Identity { name: "p".into(), color: "#000000".into() }))
    }

    #[test]
    fn fetches_under_way_are_capped_over_all_sessions() {
        let board = board_showing(40);
        let mut blobs = MemoryStore::new();
        let mut sessions: Vec<Session> = (10..13).map(session).collect();
        let mut fetcher = Fetcher::default();
        let links = sessions.iter_mut().enumerate().map(|(i, s)| (LinkId::local(i as u64), s));
        fetcher.want_missing(&board, &mut blobs, links);
        let under_way: usize = sessions.iter().map(|s| s.wanted_blobs().count()).sum();
        assert_eq!(under_way, MAX_FETCHES);
    }

    #[test]
    fn bytes_of_an_image_nobody_sends_any_more_are_let_go() {
        let board = board_showing(1);
        let mut blobs = MemoryStore::new();
        blobs.append_partial(&Hash::of(&[0]), &[7; 1000]).unwrap();
        let mut fetcher = Fetcher::default();
        fetcher.want_missing(&board, &mut blobs, std::iter::empty());
        assert_eq!(blobs.partial_count(), 0, "no session is fetching it: the partial is released");
    }
}
