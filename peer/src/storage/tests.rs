//! Faults in the middle of a write: a log that takes only part of a record
//! (a disk that fills up), then takes the next one whole.

use board_key::BoardKey;
use board_model::{BoardId, CardId, Content, NewCard, Point};

use super::*;

/// A log file that accepts `budget` more bytes, then fails as a full disk does.
#[derive(Debug)]
struct FailAfter {
    file: File,
    budget: usize,
}

impl Write for FailAfter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.budget == 0 {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "no space left on device"));
        }
        let n = self.file.write(&buf[..buf.len().min(self.budget)])?;
        self.budget -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl LogWriter for FailAfter {
    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

fn note(n: u8) -> NewCard {
    NewCard {
        id: CardId::from_random_bytes([n; 16]),
        position: Point { x: f64::from(n), y: 0.0 },
        size: None,
        color: None,
        content: Content::Note { text: format!("note {n}") },
        created_by: "test".into(),
        created_at: 0,
    }
}

#[test]
fn a_write_that_fails_half_way_loses_no_acknowledged_edit() {
    let root = std::env::temp_dir().join(format!("corkboard-torn-write-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let data = DataDir::open(&root).expect("data dir");
    let link = ShareLink { board: uuid::Uuid::from_bytes([3; 16]), key: BoardKey([3; 32]) };
    let mut board = Board::create(BoardId(link.board), "Torn", ReplicaId(1)).expect("board");
    let mut file = data.create(&link, &board).expect("stored");
    board.add_card(note(1)).expect("card");
    assert!(file.persist(&board).expect("acknowledged"));

    // The disk fills up five bytes into the next record.
    let log = file.dir.join("log");
    let append = OpenOptions::new().append(true).open(&log).expect("log");
    file.log = Some(Box::new(FailAfter { file: append, budget: 5 }));
    board.add_card(note(2)).expect("card");
    assert!(file.persist(&board).is_err(), "the failed write is reported, not acknowledged");
    assert_eq!(fs::metadata(&log).expect("log").len(), file.log_bytes, "the torn bytes are gone");

    // Space again: the next write holds both edits and is acknowledged.
    board.add_card(note(3)).expect("card");
    assert!(file.persist(&board).expect("acknowledged"));
    drop(file);
    let (_, reopened) = data.open_board(&link, ReplicaId(2)).expect("reopens");
    assert_eq!(reopened.card_count(), 3, "every acknowledged edit survives");
    assert!(!file_exists(&root, &link, "log.damaged"), "nothing had to be cut off on open");
}

fn file_exists(root: &Path, link: &ShareLink, name: &str) -> bool {
    root.join("boards").join(link.board.hyphenated().to_string()).join(name).exists()
}
