//! Entry points shared by the fuzz targets (`fuzz/`) and the test that
//! replays their corpus and crashers: each takes arbitrary bytes and must
//! return, never panic.

use crate::blob;
use crate::board::{Board, BoardId, ReplicaId, Version};
use crate::card::{CardId, Content, NewCard, Point};
use crate::presence::Identity;
use crate::protocol::{self, Reassembler};
use crate::session::{Config, Session};

/// Splits input into frames: each frame is a little-endian u16 length then that many bytes.
fn split_frames(data: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        let take = len.min(rest.len());
        frames.push(&rest[..take]);
        rest = &rest[take..];
    }
    frames
}

/// Frames and messages: reassembly and decoding of arbitrary frames.
pub fn frames(data: &[u8]) -> Result<usize, protocol::Error> {
    let mut reassembler = Reassembler::new();
    let mut decoded = 0;
    for frame in split_frames(data) {
        if let Some(body) = reassembler.push(frame)? {
            protocol::Message::decode(&body)?;
            decoded += 1;
        }
    }
    // The whole input as one message body too.
    protocol::Message::decode(data)?;
    Ok(decoded + 1)
}

/// A Loro blob around `body` (its two mode bytes, then the encoded
/// document) with the magic and the checksum its header must carry: a
/// fuzzer's mutations then reach the decoder instead of all failing the
/// checksum check first.
pub fn with_valid_header(body: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(20 + body.len());
    blob.extend_from_slice(b"loro");
    blob.extend_from_slice(&[0; 12]);
    let seed = u32::from_le_bytes(*b"LORO");
    blob.extend_from_slice(&xxhash_rust::xxh32::xxh32(body, seed).to_le_bytes());
    blob.extend_from_slice(body);
    blob
}

/// Loro's decoder itself: arbitrary blob bodies behind a valid header,
/// imported as a peer's updates into a board with content, and loaded as
/// a document.
pub fn loro_body(data: &[u8]) -> Result<usize, crate::LoadError> {
    let blob = with_valid_header(data);
    let mut board = Board::create(BoardId::from_random_bytes([1; 16]), "fuzz", ReplicaId(1))
        .map_err(|error| crate::LoadError::Corrupt(error.to_string()))?;
    let _ = board.import_updates(&blob);
    let _ = board.cards();
    let loaded = Board::load(&blob, ReplicaId(2))?;
    Ok(loaded.cards().len())
}

/// Snapshots, updates and versions from arbitrary bytes.
pub fn board_load(data: &[u8]) -> Result<usize, crate::LoadError> {
    let _ = Version::decode(data);
    let board = Board::load(data, ReplicaId(1))?;
    Ok(board.cards().len())
}

/// A session fed arbitrary frames from a peer: it may refuse them, but the
/// board must stay readable and keep working.
pub fn session_receive(data: &[u8]) -> Result<(), crate::session::Error> {
    let mut board = Board::create(BoardId::from_random_bytes([1; 16]), "fuzz", ReplicaId(1))
        .map_err(|_| crate::session::Error::Closed)?;
    let card = CardId::from_random_bytes([2; 16]);
    let _ = board.add_card(NewCard {
        id: card,
        position: Point { x: 0.0, y: 0.0 },
        size: None,
        color: None,
        content: Content::Note { text: "fuzz".into() },
        created_by: String::new(),
        created_at: 0,
    });
    let mut blobs = blob::MemoryStore::new();
    let identity = Identity { name: "fuzz".into(), color: "#000000".into() };
    // Half the inputs also exercise relayed presence (the desktop page's session).
    let mut config = Config::new(1, identity);
    config.accept_relayed_presence = data.first().is_some_and(|b| b & 1 == 1);
    let mut session = Session::new(config);
    let mut result = Ok(());
    for (now, frame) in split_frames(data).into_iter().enumerate() {
        result = session.receive(frame, &mut board, &mut blobs, now as u64);
        while session.poll_transmit(&board, &blobs).is_some() {}
        while session.poll_event().is_some() {}
        if result.is_err() {
            break;
        }
    }
    // The board still works whatever the peer sent.
    let _ = board.cards();
    let _ = board.move_card(card, Point { x: 1.0, y: 1.0 });
    result
}
