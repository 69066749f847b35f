//! Helpers shared by the integration tests: boards, cards and ids.

use board_model::{Board, BoardId, CardId, Content, NewCard, Point, ReplicaId};

pub fn id(n: u8) -> CardId {
    CardId::from_random_bytes([n; 16])
}

pub fn new_board(replica: u64) -> Board {
    Board::create(BoardId::from_random_bytes([9; 16]), "Trip", ReplicaId(replica)).expect("create board")
}

pub fn note(id: CardId, text: &str, x: f64, y: f64) -> NewCard {
    NewCard {
        id,
        position: Point { x, y },
        size: None,
        color: None,
        content: Content::Note { text: text.into() },
        created_by: "tester".into(),
        created_at: 1_700_000_000_000,
    }
}

/// What a user sees: every card with its fields and note text, in z-order.
pub fn rendered(board: &Board) -> String {
    format!("{}|{:?}|{:?}|{:?}", board.title(), board.background(), board.cards(), board.edges())
}

use board_model::{Session, blob, presence, session};

/// One replica of a board with its blobs, as a peer holds it.
pub struct Peer {
    pub board: Board,
    pub blobs: blob::MemoryStore,
}

impl Peer {
    pub fn new(board: Board) -> Peer {
        Peer { board, blobs: blob::MemoryStore::new() }
    }
}

pub fn config(replica: u64) -> session::Config {
    session::Config::new(
        replica,
        presence::Identity { name: format!("peer {replica}"), color: "#3366cc".into() },
    )
}

/// What moving frames between two sessions until both are quiet took.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Times the direction of traffic changed (a round trip is two).
    pub flights: usize,
    pub bytes: usize,
    pub frames: usize,
}

/// Moves frames between two sessions over a perfect in-memory link until
/// neither has anything to send. Panics on a protocol error.
pub fn pump(a: &mut (Peer, Session), b: &mut (Peer, Session), now_ms: u64) -> Traffic {
    let mut traffic = Traffic::default();
    loop {
        let forward = flight(a, b, now_ms, &mut traffic);
        let back = flight(b, a, now_ms, &mut traffic);
        if !forward && !back {
            return traffic;
        }
    }
}

fn flight(from: &mut (Peer, Session), to: &mut (Peer, Session), now_ms: u64, traffic: &mut Traffic) -> bool {
    let mut moved = false;
    while let Some(frame) = from.1.poll_transmit(&from.0.board, &from.0.blobs) {
        traffic.bytes += frame.len();
        traffic.frames += 1;
        to.1.receive(&frame, &mut to.0.board, &mut to.0.blobs, now_ms).expect("frame accepted");
        moved = true;
    }
    if moved {
        traffic.flights += 1;
    }
    moved
}

/// Drains a session's events.
pub fn events(session: &mut Session) -> Vec<session::Event> {
    std::iter::from_fn(|| session.poll_event()).collect()
}
