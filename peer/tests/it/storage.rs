//! Disk storage: round trips, torn logs, corrupt files, locking, blobs.

use std::fs::{self, OpenOptions};
use std::io::Write;

use board_key::BoardKey;
use board_key::link::ShareLink;
use board_model::blob::{self, Store};
use board_model::{Board, BoardId, CardId, Content, NewCard, Point, ReplicaId};
use peer::storage::{DataDir, Error};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("corkboard-storage-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn link(n: u8) -> ShareLink {
    ShareLink { board: uuid::Uuid::from_bytes([n; 16]), key: BoardKey([n; 32]) }
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

fn created(data: &DataDir, n: u8) -> (peer::storage::BoardFile, Board) {
    let board = Board::create(BoardId(link(n).board), "Stored", ReplicaId(1)).expect("create");
    let file = data.create(&link(n), &board).expect("store");
    (file, board)
}

#[test]
fn persisted_changes_survive_reopening() {
    let data = DataDir::open(temp_dir("roundtrip")).unwrap();
    let (mut file, mut board) = created(&data, 1);
    for n in 0..10 {
        board.add_card(note(n)).unwrap();
        assert!(file.persist(&board).unwrap());
    }
    assert!(!file.persist(&board).unwrap(), "nothing new to write");
    let expected = board.cards();
    drop(file);
    let (_, reopened) = data.open_board(&link(1), ReplicaId(2)).unwrap();
    assert_eq!(reopened.cards(), expected);
    assert_eq!(data.boards().unwrap().len(), 1);
}

#[test]
fn a_torn_log_tail_is_cut_off_and_kept_aside() {
    let data = DataDir::open(temp_dir("torn")).unwrap();
    let (mut file, mut board) = created(&data, 2);
    board.add_card(note(1)).unwrap();
    file.persist(&board).unwrap();
    let dir = file.dir().to_owned();
    drop(file);
    // A crash in the middle of writing the next record.
    let mut log = OpenOptions::new().append(true).open(dir.join("log")).unwrap();
    log.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 9, 9]).unwrap();
    drop(log);
    let (mut file, mut reopened) = data.open_board(&link(2), ReplicaId(3)).unwrap();
    assert_eq!(reopened.cards().len(), 1);
    assert!(dir.join("log.damaged").exists());
    reopened.add_card(note(2)).unwrap();
    file.persist(&reopened).unwrap();
    drop(file);
    let (_, again) = data.open_board(&link(2), ReplicaId(4)).unwrap();
    assert_eq!(again.cards().len(), 2, "appending after the repair works");
}

#[test]
fn a_corrupt_snapshot_is_reported_naming_the_file_and_other_boards_stay_usable() {
    let data = DataDir::open(temp_dir("corrupt")).unwrap();
    let (file, _) = created(&data, 3);
    let dir = file.dir().to_owned();
    drop(file);
    created(&data, 4);
    let mut bytes = fs::read(dir.join("snapshot")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(dir.join("snapshot"), bytes).unwrap();
    let error = data.open_board(&link(3), ReplicaId(5)).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("snapshot") && error.contains("damaged"), "{error}");
    assert!(data.read_board(&link(4).board, ReplicaId(6)).is_ok());
}

#[test]
fn a_board_is_written_by_one_process_but_readable_meanwhile() {
    let data = DataDir::open(temp_dir("lock")).unwrap();
    let (mut file, mut board) = created(&data, 5);
    assert!(matches!(data.open_board(&link(5), ReplicaId(7)), Err(Error::Busy { .. })));
    board.add_card(note(1)).unwrap();
    file.persist(&board).unwrap();
    let read = data.read_board(&link(5).board, ReplicaId(8)).unwrap();
    assert_eq!(read.cards(), board.cards());
    drop(file);
    assert!(data.open_board(&link(5), ReplicaId(9)).is_ok(), "the lock is released on drop");
}

#[test]
fn compaction_keeps_everything_and_empties_the_log() {
    let data = DataDir::open(temp_dir("compact")).unwrap();
    let (mut file, mut board) = created(&data, 6);
    for n in 0..5 {
        board.add_card(note(n)).unwrap();
        file.persist(&board).unwrap();
    }
    file.compact(&board).unwrap();
    assert_eq!(fs::metadata(file.dir().join("log")).unwrap().len(), 0);
    drop(file);
    assert_eq!(data.open_board(&link(6), ReplicaId(10)).unwrap().1.cards(), board.cards());
}

#[test]
fn blobs_are_stored_by_hash_and_verified_on_read() {
    let root = temp_dir("blobs");
    let data = DataDir::open(&root).unwrap();
    let mut blobs = data.blobs();
    let hash = blob::insert(&mut blobs, b"picture bytes".to_vec()).unwrap();
    assert_eq!(blobs.get(&hash).unwrap(), b"picture bytes");
    // Resumable partial transfer, verified before it becomes a blob.
    let other = blob::Hash::of(b"second picture");
    blobs.append_partial(&other, b"second ").unwrap();
    assert_eq!(blobs.partial_len(&other), 7);
    blobs.append_partial(&other, b"picture").unwrap();
    assert_eq!(blob::finish(&mut blobs, &other).unwrap(), 14);
    assert!(data.blobs().contains(&other));
    // A blob file damaged on disk is refused by a new process, named, and moved aside.
    fs::write(root.join("blobs").join(hash.to_hex()), b"tampered").unwrap();
    let fresh = data.blobs();
    let error = fresh.get(&hash).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains(&hash.to_hex()) && error.contains("does not match"), "{error}");
    assert_eq!(fresh.complete_len(&hash), None);
}

#[test]
fn a_board_is_deleted_only_when_nobody_writes_it_and_remembers_when_it_was_opened() {
    let dir = temp_dir("delete");
    let data = DataDir::open(&dir).expect("data dir");
    let (file, _) = created(&data, 8);
    assert!(matches!(data.delete_board(&link(8).board), Err(Error::Busy { .. })));
    drop(file);
    let listed = data.boards().expect("list");
    assert_eq!(listed[0].last_opened_ms(), None);
    assert!(listed[0].created_ms() > 0);
    data.mark_opened(&link(8).board, 1_234).expect("mark");
    assert_eq!(data.boards().expect("list")[0].last_opened_ms(), Some(1_234));
    data.delete_board(&link(8).board).expect("delete");
    assert!(data.boards().expect("list").is_empty());
    assert!(!dir.join("boards").join(link(8).board.to_string()).exists());
    assert!(matches!(data.delete_board(&link(8).board), Err(Error::NoSuchBoard(_))));
    assert!(matches!(data.mark_opened(&link(8).board, 1), Err(Error::NoSuchBoard(_))));
}

#[test]
fn a_link_with_the_right_board_id_and_a_wrong_key_is_refused_and_changes_nothing() {
    let data = DataDir::open(temp_dir("wrong-key")).unwrap();
    let (mut file, mut board) = created(&data, 11);
    board.add_card(note(1)).unwrap();
    file.persist(&board).unwrap();
    drop(file);
    let link_file = data.root().join("boards").join(link(11).board.hyphenated().to_string()).join("link");
    let before = fs::read(&link_file).unwrap();
    let forged = ShareLink { board: link(11).board, key: BoardKey([99; 32]) };
    for result in [data.open_board(&forged, ReplicaId(2)), data.open_or_join(&forged, ReplicaId(3))] {
        let error = result.expect_err("a wrong key is refused");
        assert!(matches!(error, Error::WrongKey(_)), "{error}");
        assert!(error.to_string().contains("left as they are"), "{error}");
    }
    assert_eq!(fs::read(&link_file).unwrap(), before, "the stored key is unchanged");
    let (_, reopened) = data.open_board(&link(11), ReplicaId(4)).unwrap();
    assert_eq!(reopened.cards(), board.cards(), "the board is unchanged");
}

#[test]
fn a_second_torn_log_never_overwrites_the_first_one_kept_aside() {
    let data = DataDir::open(temp_dir("torn-twice")).unwrap();
    let (mut file, mut board) = created(&data, 12);
    let dir = file.dir().to_owned();
    let mut kept = Vec::new();
    for n in 0..2u8 {
        board.add_card(note(n)).unwrap();
        file.persist(&board).unwrap();
        drop(file);
        // A crash in the middle of writing the next record.
        let mut log = OpenOptions::new().append(true).open(dir.join("log")).unwrap();
        log.write_all(&[200, 0, 0, 0, n, 2, 3, 4, 9, 9]).unwrap();
        drop(log);
        kept.push(fs::read(dir.join("log")).unwrap());
        let (reopened_file, reopened) = data.open_board(&link(12), ReplicaId(20 + u64::from(n))).unwrap();
        (file, board) = (reopened_file, reopened);
    }
    assert_eq!(fs::read(dir.join("log.damaged")).unwrap(), kept[0], "the first incident's log is kept");
    assert_eq!(fs::read(dir.join("log.damaged.2")).unwrap(), kept[1], "the second is kept beside it");
    assert_eq!(board.card_count(), 2);
}
