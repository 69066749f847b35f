//! Replays the fuzz corpus and every input a fuzzer ever crashed on: each
//! must be handled (crashers must now return an error), never panic.

use std::fs;
use std::path::{Path, PathBuf};

use board_model::fuzzing;

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    paths.sort();
    paths
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("fuzz")
}

fn replay(target: &str, run: impl Fn(&[u8]) -> bool) {
    let corpus = inputs(&root().join("corpus").join(target));
    let crashers = inputs(&root().join("crashers").join(target));
    for path in corpus.iter().chain(&crashers) {
        let data = fs::read(path).expect("read input");
        let ok = run(&data);
        if crashers.contains(path) {
            assert!(!ok, "{} should be refused with an error", path.display());
        }
    }
}

#[test]
fn frame_decoder_corpus_and_crashers_replay_without_panics() {
    replay("frames", |data| fuzzing::frames(data).is_ok());
}

#[test]
fn loro_decoder_corpus_and_crashers_replay_without_panics() {
    replay("loro_body", |data| fuzzing::loro_body(data).is_ok());
}

#[test]
fn a_valid_header_is_put_back_exactly_as_loro_writes_it() {
    let board = board_model::Board::create(
        board_model::BoardId::from_random_bytes([3; 16]),
        "Seed",
        board_model::ReplicaId(5),
    )
    .expect("board");
    let saved = board.save().expect("save");
    assert_eq!(fuzzing::with_valid_header(&saved[20..]), saved, "the target's header is Loro's");
    assert!(fuzzing::loro_body(&saved[20..]).is_ok(), "a real body behind the header loads");
}

#[test]
fn board_loader_corpus_and_crashers_replay_without_panics() {
    replay("board_load", |data| fuzzing::board_load(data).is_ok());
}

#[test]
fn session_corpus_and_crashers_replay_without_panics() {
    replay("session_receive", |data| fuzzing::session_receive(data).is_ok());
}
