//! What every [`BoardStore`] must do, as one suite run against each
//! implementation (automerge-repo's `runStorageAdapterTests` is the model):
//! the in-memory store under `cargo test`, IndexedDB in headless Chromium
//! (`ui/tests/indexeddb.rs`).

use board_model::blob::Hash;

use super::{BoardStore, StoredBoard};

fn check(condition: bool, what: &str) -> Result<(), String> {
    if condition { Ok(()) } else { Err(format!("store contract: {what}")) }
}

fn board(n: u8) -> uuid::Uuid {
    uuid::Uuid::from_bytes([n; 16])
}

/// Runs the whole suite on an empty store; the first broken rule is the error.
pub async fn run(store: &dyn BoardStore) -> Result<(), String> {
    let (a, b) = (board(0xa1), board(0xb2));
    check(
        store.load(a).await.map_err(|e| e.to_string())? == StoredBoard::default(),
        "an unknown board loads empty",
    )?;

    for (seq, bytes) in [(1, b"one".as_slice()), (2, b"two"), (3, b"three")] {
        store.append(a, seq, bytes).await.map_err(|e| e.to_string())?;
    }
    store.append(b, 1, b"other board").await.map_err(|e| e.to_string())?;
    let loaded = store.load(a).await.map_err(|e| e.to_string())?;
    check(loaded.snapshot.is_none(), "no snapshot before one is written")?;
    let expected: Vec<(u64, Vec<u8>)> =
        vec![(1, b"one".to_vec()), (2, b"two".to_vec()), (3, b"three".to_vec())];
    check(loaded.updates == expected, "updates load in order with their numbers, and only this board's")?;

    // Updates past 9 sort by number, not as text.
    for seq in 4..=12 {
        store.append(a, seq, &[seq as u8]).await.map_err(|e| e.to_string())?;
    }
    let seqs: Vec<u64> =
        store.load(a).await.map_err(|e| e.to_string())?.updates.iter().map(|(s, _)| *s).collect();
    check(seqs == (1..=12).collect::<Vec<_>>(), "updates come back in numeric order")?;

    store.compact(a, b"snapshot", 10).await.map_err(|e| e.to_string())?;
    let compacted = store.load(a).await.map_err(|e| e.to_string())?;
    check(compacted.snapshot.as_deref() == Some(b"snapshot".as_slice()), "compaction writes the snapshot")?;
    let left: Vec<u64> = compacted.updates.iter().map(|(s, _)| *s).collect();
    check(left == vec![11, 12], "compaction drops exactly the updates it includes")?;
    store.compact(a, b"snapshot 2", 12).await.map_err(|e| e.to_string())?;
    let again = store.load(a).await.map_err(|e| e.to_string())?;
    check(
        again.snapshot.as_deref() == Some(b"snapshot 2".as_slice()) && again.updates.is_empty(),
        "a later compaction replaces the snapshot",
    )?;

    // An empty snapshot (a failed export) would load as an empty board and
    // take the updates with it: it is refused and nothing changes.
    check(store.compact(a, b"", 12).await.is_err(), "an empty snapshot is refused")?;
    check(store.load(a).await.map_err(|e| e.to_string())? == again, "a refused compaction changes nothing")?;

    let other = store.load(b).await.map_err(|e| e.to_string())?;
    check(other.updates == vec![(1, b"other board".to_vec())], "another board's updates are untouched")?;

    let small = Hash::of(b"a picture");
    let big_bytes: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let big = Hash::of(&big_bytes);
    store.put_blob(&small, b"a picture").await.map_err(|e| e.to_string())?;
    store.put_blob(&big, &big_bytes).await.map_err(|e| e.to_string())?;
    check(
        store.get_blob(&small).await.map_err(|e| e.to_string())?.as_deref() == Some(b"a picture".as_slice()),
        "a blob reads back",
    )?;
    check(
        store.get_blob(&big).await.map_err(|e| e.to_string())? == Some(big_bytes),
        "a 1 MiB blob reads back whole",
    )?;
    check(
        store.get_blob(&Hash::of(b"nothing")).await.map_err(|e| e.to_string())?.is_none(),
        "an unknown blob is none",
    )?;

    store.remove(a).await.map_err(|e| e.to_string())?;
    check(
        store.load(a).await.map_err(|e| e.to_string())? == StoredBoard::default(),
        "a removed board loads empty",
    )?;
    check(
        store.load(b).await.map_err(|e| e.to_string())?.updates.len() == 1,
        "removing one board keeps the others",
    )?;
    check(
        store.get_blob(&small).await.map_err(|e| e.to_string())?.is_some(),
        "removing a board keeps the images",
    )?;
    Ok(())
}
