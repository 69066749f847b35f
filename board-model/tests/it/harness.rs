//! A deterministic network of 3–5 peers: random operations, seeded random
//! delivery with drops, duplicates, reordering, disconnects and reconnects.
//! At the end the network heals and every peer must hold the same board and
//! the same blobs. A seed that once failed becomes a named test below.

use std::collections::{BTreeMap, VecDeque};

use board_model::session::Event;
use board_model::{
    Board, CardId, Color, Content, EdgeId, End, ImageRef, NewCard, NewEdge, Point, ReplicaId, Session, Side,
    Size, blob,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::support::{Peer, config, rendered};

/// How often the network misbehaves while the peers work.
#[derive(Clone, Copy, Debug)]
struct Faults {
    drop: f64,
    duplicate: f64,
    reorder: f64,
}

struct Link {
    /// Session held by the lower-numbered peer, then by the higher.
    sessions: [Session; 2],
    /// Frames in flight: `queues[0]` from low to high, `queues[1]` back.
    queues: [VecDeque<Vec<u8>>; 2],
}

struct Network {
    rng: ChaCha8Rng,
    /// Draws the edge and group operations, apart from `rng` so the card
    /// operations a seed makes stay what they were (regression seeds keep
    /// their story); `None` makes none.
    extras: Option<ChaCha8Rng>,
    peers: Vec<Peer>,
    links: BTreeMap<(usize, usize), Link>,
    now: u64,
    faults: Faults,
    log: Vec<String>,
}

impl Network {
    fn new(seed: u64, peer_count: usize, faults: Faults, extras: bool) -> Network {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let extras = extras.then(|| ChaCha8Rng::seed_from_u64(seed ^ 0xed6e));
        let creator =
            Board::create(board_model::BoardId::from_random_bytes(rng.random()), "Harness", ReplicaId(1))
                .expect("create");
        let saved = creator.save().expect("save");
        let mut peers = vec![Peer::new(creator)];
        for n in 2..=peer_count as u64 {
            // Some peers start with the board, others join empty.
            let board = if rng.random_bool(0.5) {
                Board::load(&saved, ReplicaId(n)).expect("load")
            } else {
                Board::empty(ReplicaId(n)).expect("empty")
            };
            peers.push(Peer::new(board));
        }
        Network { rng, extras, peers, links: BTreeMap::new(), now: 0, faults, log: Vec::new() }
    }

    fn connect(&mut self, a: usize, b: usize) {
        let (low, high) = (a.min(b), a.max(b));
        if low == high || self.links.contains_key(&(low, high)) {
            return;
        }
        let sessions = [
            Session::new(config(self.peers[low].board.replica().0)),
            Session::new(config(self.peers[high].board.replica().0)),
        ];
        self.links.insert((low, high), Link { sessions, queues: [VecDeque::new(), VecDeque::new()] });
        self.log.push(format!("connect {low}-{high}"));
    }

    fn disconnect(&mut self, key: (usize, usize), why: &str) {
        if self.links.remove(&key).is_some() {
            self.log.push(format!("disconnect {}-{}: {why}", key.0, key.1));
        }
    }

    /// Moves every frame the sessions want to send into the in-flight queues.
    fn flush_outboxes(&mut self) {
        for ((low, high), link) in &mut self.links {
            for side in 0..2 {
                let peer = &self.peers[if side == 0 { *low } else { *high }];
                while let Some(frame) = link.sessions[side].poll_transmit(&peer.board, &peer.blobs) {
                    link.queues[side].push_back(frame);
                }
            }
        }
    }

    /// Delivers one frame on a random busy link, perhaps misbehaving.
    fn deliver_one(&mut self) {
        self.flush_outboxes();
        let busy: Vec<((usize, usize), usize)> = self
            .links
            .iter()
            .flat_map(|(key, link)| (0..2).filter(|s| !link.queues[*s].is_empty()).map(move |s| (*key, s)))
            .collect();
        if busy.is_empty() {
            return;
        }
        let (key, side) = busy[self.rng.random_range(0..busy.len())];
        let faults = self.faults;
        let (drop, duplicate, reorder) = (
            self.rng.random_bool(faults.drop),
            self.rng.random_bool(faults.duplicate),
            self.rng.random_bool(faults.reorder),
        );
        let Some(link) = self.links.get_mut(&key) else { return };
        let queue = &mut link.queues[side];
        if reorder && queue.len() >= 2 {
            queue.swap(0, 1);
        }
        let Some(frame) = queue.pop_front() else { return };
        if drop {
            return;
        }
        let copies = if duplicate { 2 } else { 1 };
        let receiver = if side == 0 { key.1 } else { key.0 };
        for _ in 0..copies {
            let result = self.receive(key, 1 - side, receiver, &frame);
            if let Err(error) = result {
                self.disconnect(key, &error);
                return;
            }
        }
    }

    fn receive(
        &mut self,
        key: (usize, usize),
        side: usize,
        receiver: usize,
        frame: &[u8],
    ) -> Result<(), String> {
        let now = self.now;
        let Some(link) = self.links.get_mut(&key) else { return Ok(()) };
        let peer = &mut self.peers[receiver];
        let session = &mut link.sessions[side];
        session.receive(frame, &mut peer.board, &mut peer.blobs, now).map_err(|e| e.to_string())?;
        while let Some(event) = session.poll_event() {
            if let Event::Closed { reason } = event {
                return Err(format!("bye: {reason}"));
            }
        }
        Ok(())
    }

    /// Time passes: sessions tick and peers ask for blobs they lack.
    fn tick(&mut self, step_ms: u64) {
        self.now += step_ms;
        let now = self.now;
        for ((low, high), link) in &mut self.links {
            for side in 0..2 {
                let peer = &self.peers[if side == 0 { *low } else { *high }];
                link.sessions[side].tick(&peer.board, now);
            }
        }
        self.want_missing_blobs();
    }

    fn want_missing_blobs(&mut self) {
        for index in 0..self.peers.len() {
            let missing: Vec<blob::Hash> = {
                let peer = &self.peers[index];
                peer.board.referenced_blobs().into_iter().filter(|h| peer.blobs.get(h).is_none()).collect()
            };
            for hash in missing {
                let open: Vec<(usize, usize)> = self
                    .links
                    .iter()
                    .filter(|(key, link)| {
                        let side = usize::from(key.1 == index);
                        (key.0 == index || key.1 == index) && link.sessions[side].is_open()
                    })
                    .map(|(key, _)| *key)
                    .collect();
                let already = open.iter().any(|key| {
                    let side = usize::from(key.1 == index);
                    self.links[key].sessions[side].wanted_blobs().any(|h| *h == hash)
                });
                if already || open.is_empty() {
                    continue;
                }
                let key = open[self.rng.random_range(0..open.len())];
                let side = usize::from(key.1 == index);
                let blobs = &self.peers[index].blobs;
                if let Some(link) = self.links.get_mut(&key) {
                    link.sessions[side].want_blob(hash, blobs);
                }
            }
        }
    }

    fn random_card(&mut self, peer: usize) -> Option<CardId> {
        let cards = self.peers[peer].board.cards();
        if cards.is_empty() {
            return None;
        }
        Some(cards[self.rng.random_range(0..cards.len())].id)
    }

    fn random_point(&mut self) -> Point {
        Point {
            x: f64::from(self.rng.random_range(-500..500)),
            y: f64::from(self.rng.random_range(-500..500)),
        }
    }

    /// One random user action on one random peer. Refused actions (a card a
    /// peer no longer has) are fine: they must just change nothing.
    fn local_operation(&mut self) {
        let peer = self.rng.random_range(0..self.peers.len());
        let choice = self.rng.random_range(0..100);
        let card = self.random_card(peer);
        let point = self.random_point();
        let new_id = CardId::from_random_bytes(self.rng.random());
        let base = NewCard {
            id: new_id,
            position: point,
            size: None,
            color: None,
            content: Content::Note { text: String::new() },
            created_by: format!("peer {peer}"),
            created_at: i64::try_from(self.now).unwrap_or(0),
        };
        let board = &mut self.peers[peer].board;
        let _ = match (choice, card) {
            (0..=14, _) | (_, None) => {
                board.add_card(NewCard { content: Content::Note { text: "note".into() }, ..base })
            }
            (15..=17, _) => {
                let len = self.rng.random_range(1..3000);
                let bytes: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
                let peer_state = &mut self.peers[peer];
                let hash = blob::insert(&mut peer_state.blobs, bytes).expect("insert");
                let image = ImageRef {
                    hash,
                    media_type: "image/png".into(),
                    natural_width: 40,
                    natural_height: 30,
                    file_name: "pic.png".into(),
                };
                peer_state.board.add_card(NewCard { content: Content::Image(image), ..base })
            }
            (18..=19, _) => board.add_card(NewCard {
                content: Content::Link { url: "https://example.org".into(), title: "ex".into() },
                ..base
            }),
            (20..=39, Some(id)) => board.move_card(id, point),
            (40..=44, Some(id)) => {
                let other = self.random_card(peer).unwrap_or(id);
                let board = &mut self.peers[peer].board;
                board.move_cards(&[(id, point), (other, Point { x: point.x + 10.0, y: point.y })])
            }
            (45..=49, Some(id)) => board
                .resize_card(id, Size { width: point.x.abs() + 50.0, height: point.y.abs() + 50.0 })
                .map(|_| ()),
            (50..=54, Some(id)) => {
                let color = Color::parse(&format!("{}", 1 + point.x.abs() as u32 % 6)).ok();
                board.set_color(&[id], color)
            }
            (55..=69, Some(id)) => match board.text(id) {
                Ok(text) => {
                    let len = text.chars().count();
                    let start = self.rng.random_range(0..=len);
                    let delete = self.rng.random_range(0..=(len - start).min(3));
                    let insert = ["a", "bc", "é", "🌍", ""][self.rng.random_range(0..5)];
                    self.peers[peer].board.splice_text(id, start, delete, insert)
                }
                Err(error) => Err(error),
            },
            (70..=74, Some(id)) => board.delete_cards(&[id]),
            (75..=79, Some(id)) => board.bring_to_front(&[id]).map(|_| ()),
            (80..=86, _) => board.undo().map(|_| ()),
            (87..=91, _) => board.redo().map(|_| ()),
            (92..=94, _) => board.set_title(&format!("Title {}", self.now)),
            (_, _) => board.set_background(Color::parse("#fafafa").ok()),
        };
        self.peers[peer].board.take_changes();
        self.extra_operation(peer);
    }

    /// Sometimes, an edge or group operation on `peer`'s board: edges drawn
    /// between cards others may be deleting, relabelled, restyled,
    /// deleted; groups made and moved with their members.
    fn extra_operation(&mut self, peer: usize) {
        let Some(rng) = self.extras.as_mut() else { return };
        if !rng.random_bool(0.3) {
            return;
        }
        let board = &mut self.peers[peer].board;
        let cards = board.cards();
        let edges = board.edges();
        let choice = rng.random_range(0..100);
        let pick_card =
            |rng: &mut ChaCha8Rng| (!cards.is_empty()).then(|| cards[rng.random_range(0..cards.len())].id);
        let pick_edge =
            |rng: &mut ChaCha8Rng| (!edges.is_empty()).then(|| edges[rng.random_range(0..edges.len())].id);
        let _ = match choice {
            0..=39 => match (pick_card(rng), pick_card(rng)) {
                (Some(from), Some(to)) => {
                    let mut edge = NewEdge::between(EdgeId::from_random_bytes(rng.random()), from, to);
                    edge.from.side = [None, Some(Side::Right), Some(Side::Top)][rng.random_range(0..3)];
                    edge.label = ["", "leads to", "é🌍"][rng.random_range(0..3)].to_owned();
                    board.add_edge(edge)
                }
                _ => Ok(()),
            },
            40..=54 => match pick_edge(rng) {
                Some(id) => board.set_edge_label(id, ["because", "", "then"][rng.random_range(0..3)]),
                None => Ok(()),
            },
            55..=64 => match pick_edge(rng) {
                Some(id) => board.change_edge(
                    id,
                    &board_model::EdgeChange {
                        from_end: Some(End::Arrow),
                        color: Some(Color::parse("4").ok()),
                        ..Default::default()
                    },
                ),
                None => Ok(()),
            },
            65..=74 => match pick_edge(rng) {
                Some(id) => board.delete_edges(&[id]),
                None => Ok(()),
            },
            75..=84 => board.add_card(NewCard {
                id: CardId::from_random_bytes(rng.random()),
                position: Point {
                    x: f64::from(rng.random_range(-600..0)),
                    y: f64::from(rng.random_range(-600..0)),
                },
                size: Some(Size { width: 700.0, height: 700.0 }),
                color: Color::parse("2").ok(),
                content: Content::Group { label: "Group".into() },
                created_by: format!("peer {peer}"),
                created_at: 0,
            }),
            _ => match cards.iter().find(|card| matches!(card.content, Content::Group { .. })) {
                Some(group) => {
                    let (dx, dy) =
                        (f64::from(rng.random_range(-50..50)), f64::from(rng.random_range(-50..50)));
                    let mut moves =
                        vec![(group.id, Point { x: group.position.x + dx, y: group.position.y + dy })];
                    for member in board.members_of(group.id) {
                        if let Some(card) = cards.iter().find(|card| card.id == member) {
                            moves.push((member, Point { x: card.position.x + dx, y: card.position.y + dy }));
                        }
                    }
                    board.move_cards(&moves)
                }
                None => Ok(()),
            },
        };
        self.peers[peer].board.take_changes();
    }

    fn step(&mut self) {
        match self.rng.random_range(0..100) {
            0..=34 => self.local_operation(),
            35..=84 => self.deliver_one(),
            85..=89 => {
                let keys: Vec<(usize, usize)> = self.links.keys().copied().collect();
                if !keys.is_empty() {
                    let key = keys[self.rng.random_range(0..keys.len())];
                    self.disconnect(key, "random disconnect");
                }
            }
            90..=94 => {
                let a = self.rng.random_range(0..self.peers.len());
                let b = self.rng.random_range(0..self.peers.len());
                self.connect(a, b);
            }
            _ => {
                let step = self.rng.random_range(0..3_000);
                self.tick(step);
            }
        }
    }

    /// Heals the network: no more faults, everyone connected, time passes
    /// until every frame is delivered and all blobs have moved.
    fn heal(&mut self) {
        self.faults = Faults { drop: 0.0, duplicate: 0.0, reorder: 0.0 };
        for a in 0..self.peers.len() {
            for b in a + 1..self.peers.len() {
                self.connect(a, b);
            }
        }
        for _ in 0..50 {
            self.tick(board_model::session::SYNC_INTERVAL_MS);
            loop {
                self.flush_outboxes();
                if self.links.values().all(|l| l.queues.iter().all(VecDeque::is_empty)) {
                    break;
                }
                self.deliver_one();
            }
            if self.converged() {
                return;
            }
        }
    }

    fn converged(&self) -> bool {
        let first = rendered(&self.peers[0].board);
        let all_boards = self.peers.iter().all(|p| rendered(&p.board) == first);
        let all_blobs =
            self.peers.iter().all(|p| p.board.referenced_blobs().iter().all(|h| p.blobs.get(h).is_some()));
        all_boards && all_blobs
    }
}

fn run(seed: u64, steps: usize, faults: Faults) {
    run_with(seed, steps, faults, true);
}

/// `extras`: edge and group operations too.
fn run_with(seed: u64, steps: usize, faults: Faults, extras: bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let peer_count = rng.random_range(3..=5);
    let mut network = Network::new(seed, peer_count, faults, extras);
    for a in 0..peer_count {
        for b in a + 1..peer_count {
            if rng.random_bool(0.6) {
                network.connect(a, b);
            }
        }
    }
    for _ in 0..steps {
        network.step();
    }
    network.heal();
    if !network.converged() {
        let first = rendered(&network.peers[0].board);
        for (i, peer) in network.peers.iter().enumerate() {
            let missing: Vec<_> =
                peer.board.referenced_blobs().into_iter().filter(|h| peer.blobs.get(h).is_none()).collect();
            let same = rendered(&peer.board) == first;
            eprintln!("peer {i}: same board as peer 0: {same}; missing blobs: {missing:?}");
            if !same {
                eprintln!("  peer 0: {first}\n  peer {i}: {}", rendered(&peer.board));
            }
        }
        eprintln!("log tail: {:?}", &network.log[network.log.len().saturating_sub(20)..]);
        panic!("seed {seed}: peers did not converge");
    }
    let cards = network.peers[0].board.cards();
    // No edge shows without both of its cards, on any peer.
    for peer in &network.peers {
        let ids: std::collections::HashSet<CardId> = peer.board.cards().iter().map(|card| card.id).collect();
        for edge in peer.board.edges() {
            assert!(
                ids.contains(&edge.from.card) && ids.contains(&edge.to.card),
                "seed {seed}: a dangling edge"
            );
        }
    }
    for card in &cards {
        if let Content::Note { text } = &card.content {
            for peer in &network.peers {
                assert_eq!(peer.board.text(card.id).ok().as_ref(), Some(text), "seed {seed}");
            }
        }
    }
}

const NOISY: Faults = Faults { drop: 0.02, duplicate: 0.02, reorder: 0.02 };
const CLEAN: Faults = Faults { drop: 0.0, duplicate: 0.0, reorder: 0.0 };

#[test]
fn peers_converge_over_a_faulty_network_for_many_seeds() {
    let seeds: u64 = std::env::var("HARNESS_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    for seed in 0..seeds {
        run(seed, 300, NOISY);
    }
}

#[test]
fn peers_converge_over_a_clean_network_with_churn() {
    for seed in 1_000..1_100 {
        run(seed, 300, CLEAN);
    }
}

#[test]
fn peers_converge_when_the_network_is_very_lossy() {
    for seed in 2_000..2_030 {
        run(seed, 400, Faults { drop: 0.2, duplicate: 0.1, reorder: 0.2 });
    }
}

/// Seed 2006 once ended with a peer missing a blob forever: its want was
/// dropped in flight and the session waited for an answer that never came.
/// Wants with no answer now stall out and are asked again.
#[test]
fn regression_seed_2006_a_lost_blob_want_is_asked_again() {
    run_with(2006, 400, Faults { drop: 0.2, duplicate: 0.1, reorder: 0.2 }, false);
}
