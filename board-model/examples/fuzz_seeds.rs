//! Writes seed inputs for the fuzz targets into `fuzz/corpus/<target>/`:
//! real snapshots, updates and the frames of a real two-peer session, so the
//! fuzzers start from valid input and mutate from there.
//! Run: `cargo run -p board-model --example fuzz_seeds`.

use std::path::Path;

use board_model::{
    Board, BoardId, CardId, Content, NewCard, Point, ReplicaId, Session, blob, presence, session,
};

fn frame_stream(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        let len = u16::try_from(frame.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&frame[..usize::from(len)]);
    }
    out
}

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut board = Board::create(BoardId::from_random_bytes([3; 16]), "Seed", ReplicaId(5))
        .map_err(std::io::Error::other)?;
    let empty = board.version();
    for n in 0..4u8 {
        let card = NewCard {
            id: CardId::from_random_bytes([n; 16]),
            position: Point { x: f64::from(n) * 10.0, y: 0.0 },
            size: None,
            color: None,
            content: Content::Note { text: format!("note {n}") },
            created_by: "seed".into(),
            created_at: 0,
        };
        board.add_card(card).map_err(std::io::Error::other)?;
    }
    let write = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)
    };
    write("board_load", "snapshot", &board.save().expect("save"))?;
    write("board_load", "shallow", &board.save_shallow().expect("save"))?;
    write("board_load", "updates", &board.updates_since(&empty))?;
    write("board_load", "version", &board.version().encode())?;
    // The same blobs without their 20-byte header (magic and checksum),
    // which the `loro_body` target puts back right.
    write("loro_body", "snapshot", &board.save().expect("save")[20..])?;
    write("loro_body", "shallow", &board.save_shallow().expect("save")[20..])?;
    write("loro_body", "updates", &board.updates_since(&empty)[20..])?;

    // The frames a peer sends when it opens a session and streams a change.
    let identity = presence::Identity { name: "seed".into(), color: "#123456".into() };
    let mut sender = Session::new(session::Config::new(9, identity.clone()));
    let mut receiver = Session::new(session::Config::new(1, identity));
    let blobs = blob::MemoryStore::new();
    let mut peer_board = Board::empty(ReplicaId(9)).map_err(std::io::Error::other)?;
    let mut peer_blobs = blob::MemoryStore::new();
    let mut frames = Vec::new();
    while let Some(frame) = receiver.poll_transmit(&board, &blobs) {
        let _ = sender.receive(&frame, &mut peer_board, &mut peer_blobs, 0);
    }
    sender.set_presence(presence::State {
        cursor: Some(Point { x: 1.0, y: 2.0 }),
        selection: vec![CardId::from_random_bytes([1; 16])],
        dragging: vec![],
    });
    sender.want_blob(blob::Hash::of(b"x"), &peer_blobs);
    peer_board.set_title("from the peer").map_err(std::io::Error::other)?;
    while let Some(frame) = sender.poll_transmit(&peer_board, &peer_blobs) {
        frames.push(frame);
    }
    write("session_receive", "open-and-sync", &frame_stream(&frames))?;
    write("frames", "open-and-sync", &frame_stream(&frames))?;
    // A large message in fragments.
    let big =
        board_model::protocol::Message::SyncUpdates { updates: serde_bytes::ByteBuf::from(vec![7u8; 3000]) };
    write("frames", "fragments", &frame_stream(&big.encode(1024)))?;
    println!("seeds written under {}", root.display());
    Ok(())
}
