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

fn err(error: super::StorageError) -> String {
    error.to_string()
}

/// Runs the whole suite on an empty store; the first broken rule is the error.
pub async fn run(store: &dyn BoardStore) -> Result<(), String> {
    let (a, b) = (board(0xa1), board(0xb2));
    check(store.load(a).await.map_err(err)? == StoredBoard::default(), "an unknown board loads empty")?;

    let mut numbers = Vec::new();
    for bytes in [b"one".as_slice(), b"two", b"three"] {
        numbers.push(store.append(a, bytes).await.map_err(err)?);
    }
    check(numbers == vec![1, 2, 3], "appends are numbered 1, 2, 3 by the store")?;
    store.append(b, b"other board").await.map_err(err)?;
    let loaded = store.load(a).await.map_err(err)?;
    check(loaded.snapshot.is_none(), "no snapshot before one is written")?;
    let expected: Vec<(u64, Vec<u8>)> =
        vec![(1, b"one".to_vec()), (2, b"two".to_vec()), (3, b"three".to_vec())];
    check(loaded.updates == expected, "updates load in order with their numbers, and only this board's")?;

    // Updates past 9 sort by number, not as text.
    for seq in 4..=12u8 {
        store.append(a, &[seq]).await.map_err(err)?;
    }
    let seqs: Vec<u64> = store.load(a).await.map_err(err)?.updates.iter().map(|(s, _)| *s).collect();
    check(seqs == (1..=12).collect::<Vec<_>>(), "updates come back in numeric order")?;

    let mut seen = None;
    store
        .compact(a, &mut |stored| {
            seen = Some(stored.clone());
            Ok(b"snapshot".to_vec())
        })
        .await
        .map_err(err)?;
    check(
        seen.is_some_and(|s| s.updates.len() == 12 && s.snapshot.is_none()),
        "a compaction's fold is given everything stored",
    )?;
    let compacted = store.load(a).await.map_err(err)?;
    check(
        compacted.snapshot.as_deref() == Some(b"snapshot".as_slice()) && compacted.updates.is_empty(),
        "compaction writes the snapshot and drops the updates it was given",
    )?;
    let next = store.append(a, b"after").await.map_err(err)?;
    store
        .compact(a, &mut |stored| {
            let mut all = stored.snapshot.clone().unwrap_or_default();
            for (_, update) in &stored.updates {
                all.extend_from_slice(update);
            }
            Ok(all)
        })
        .await
        .map_err(err)?;
    let again = store.load(a).await.map_err(err)?;
    check(
        again.snapshot.as_deref() == Some(b"snapshotafter".as_slice()) && again.updates.is_empty(),
        "a later compaction folds the snapshot and the updates after it",
    )?;
    check(next >= 1, "an append after a compaction is numbered")?;

    // An empty snapshot (a failed export) would load as an empty board and
    // take the updates with it: it is refused and nothing changes. So is a
    // fold that fails.
    store.append(a, b"kept").await.map_err(err)?;
    let before = store.load(a).await.map_err(err)?;
    check(store.compact(a, &mut |_| Ok(Vec::new())).await.is_err(), "an empty snapshot is refused")?;
    check(store.load(a).await.map_err(err)? == before, "a refused compaction changes nothing")?;
    let failing = store.compact(a, &mut |_| Err(super::StorageError::Failed("export failed".into()))).await;
    check(failing.is_err(), "a failed fold fails the compaction")?;
    check(store.load(a).await.map_err(err)? == before, "a failed fold changes nothing")?;
    store.compact(a, &mut |_| Ok(b"snapshot 2".to_vec())).await.map_err(err)?;
    check(
        store.load(a).await.map_err(err)?.snapshot.as_deref() == Some(b"snapshot 2".as_slice()),
        "a compaction replaces the snapshot",
    )?;

    let other = store.load(b).await.map_err(err)?;
    check(other.updates == vec![(1, b"other board".to_vec())], "another board's updates are untouched")?;

    let small = Hash::of(b"a picture");
    let big_bytes: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let big = Hash::of(&big_bytes);
    store.put_blob(&small, b"a picture").await.map_err(err)?;
    store.put_blob(&big, &big_bytes).await.map_err(err)?;
    check(
        store.get_blob(&small).await.map_err(err)?.as_deref() == Some(b"a picture".as_slice()),
        "a blob reads back",
    )?;
    check(store.get_blob(&big).await.map_err(err)? == Some(big_bytes), "a 1 MiB blob reads back whole")?;
    check(store.get_blob(&Hash::of(b"nothing")).await.map_err(err)?.is_none(), "an unknown blob is none")?;

    store.remove(a).await.map_err(err)?;
    check(store.load(a).await.map_err(err)? == StoredBoard::default(), "a removed board loads empty")?;
    check(store.load(b).await.map_err(err)?.updates.len() == 1, "removing one board keeps the others")?;
    check(store.get_blob(&small).await.map_err(err)?.is_some(), "removing a board keeps the images")?;
    Ok(())
}

/// Two writers on one store (two tabs on one database): appends never
/// replace each other's records, and a compaction by one folds in what the
/// other wrote. `first` and `second` must share their storage.
pub async fn run_two_writers(first: &dyn BoardStore, second: &dyn BoardStore) -> Result<(), String> {
    let board = board(0xc3);
    let mut numbers = Vec::new();
    for n in 0..6u8 {
        let writer = if n % 2 == 0 { first } else { second };
        numbers.push(writer.append(board, &[n]).await.map_err(err)?);
    }
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    sorted.dedup();
    check(sorted.len() == 6, "two writers' appends get different numbers")?;
    let stored = second.load(board).await.map_err(err)?;
    let bytes: Vec<Vec<u8>> = stored.updates.iter().map(|(_, b)| b.clone()).collect();
    check(bytes == (0..6u8).map(|n| vec![n]).collect::<Vec<_>>(), "no writer's record replaced another's")?;
    let mut folded = 0;
    first
        .compact(board, &mut |stored| {
            folded = stored.updates.len();
            Ok(b"both".to_vec())
        })
        .await
        .map_err(err)?;
    check(folded == 6, "a compaction folds in the other writer's records")?;
    second.append(board, b"later").await.map_err(err)?;
    let after = first.load(board).await.map_err(err)?;
    check(
        after.snapshot.as_deref() == Some(b"both".as_slice()) && after.updates.len() == 1,
        "a record the other writer appends after a compaction stays",
    )?;
    Ok(())
}
