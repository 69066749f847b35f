//! The browser's storage, on IndexedDB: the list of local boards, each
//! board's last snapshot plus the updates made since (appended on every
//! change), and images by hash.

use std::cell::RefCell;
use std::rc::Rc;

use async_trait::async_trait;
use board_key::BoardKey;
use board_key::link::ShareLink;
use board_model::blob::Hash;
use board_model::{Board, BoardId, ReplicaId};
use desktop_wire::BoardEntry;
use idb::{
    Database, DatabaseEvent, Factory, KeyRange, ObjectStoreParams, Query, Transaction, TransactionMode,
};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};

use crate::platform::{BoardStore, Clock, Fold, Library, StorageError, StoredBoard, random_bytes};

const DATABASE: &str = "corkboard";
const VERSION: u32 = 1;
const BOARDS: &str = "boards";
const SNAPSHOTS: &str = "snapshots";
const UPDATES: &str = "updates";
const BLOBS: &str = "blobs";

fn failed(error: idb::Error) -> StorageError {
    StorageError::Failed(error.to_string())
}

/// Opens (creating or upgrading) the database `name`.
async fn open_database(name: &str) -> Result<Database, StorageError> {
    let factory = Factory::new().map_err(|e| StorageError::Unavailable(e.to_string()))?;
    let mut request =
        factory.open(name, Some(VERSION)).map_err(|e| StorageError::Unavailable(e.to_string()))?;
    request.on_upgrade_needed(|event| {
        let Ok(database) = event.database() else { return };
        let existing = database.store_names();
        for store in [BOARDS, SNAPSHOTS, UPDATES, BLOBS] {
            if !existing.iter().any(|n| n == store) {
                let _ = database.create_object_store(store, ObjectStoreParams::new());
            }
        }
    });
    request.await.map_err(|e| StorageError::Unavailable(e.to_string()))
}

fn bytes_value(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

fn value_bytes(value: &JsValue) -> Option<Vec<u8>> {
    if value.is_instance_of::<Uint8Array>() || value.is_instance_of::<js_sys::ArrayBuffer>() {
        Some(Uint8Array::new(value).to_vec())
    } else {
        None
    }
}

/// The key of one update record: the board id, then a zero-padded sequence
/// number, so a key range selects one board's updates in order.
fn update_key(board: &str, seq: u64) -> String {
    format!("{board}/{seq:016}")
}

fn update_range(board: &str) -> Result<Query, StorageError> {
    let range = KeyRange::bound(
        &JsValue::from_str(&format!("{board}/")),
        &JsValue::from_str(&format!("{board}/~")),
        None,
        None,
    )
    .map_err(failed)?;
    Ok(Query::KeyRange(range))
}

/// IndexedDB, as this browser's [`Library`] and [`BoardStore`].
pub struct IndexedDb {
    name: String,
    clock: Rc<dyn Clock>,
    /// Opened on first use, once.
    db: RefCell<Option<Rc<Database>>>,
}

impl std::fmt::Debug for IndexedDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexedDb").field("name", &self.name).finish_non_exhaustive()
    }
}

impl IndexedDb {
    /// The app's database.
    pub fn new(clock: Rc<dyn Clock>) -> IndexedDb {
        IndexedDb::named(DATABASE, clock)
    }

    /// A database of another name (tests keep theirs apart).
    pub fn named(name: &str, clock: Rc<dyn Clock>) -> IndexedDb {
        IndexedDb { name: name.to_owned(), clock, db: RefCell::new(None) }
    }

    async fn database(&self) -> Result<Rc<Database>, StorageError> {
        if let Some(db) = self.db.borrow().clone() {
            return Ok(db);
        }
        let db = Rc::new(open_database(&self.name).await?);
        *self.db.borrow_mut() = Some(Rc::clone(&db));
        Ok(db)
    }

    /// Puts one value in one object store, in a transaction of its own.
    async fn put_one(&self, store: &str, key: &JsValue, value: &JsValue) -> Result<(), StorageError> {
        let db = self.database().await?;
        let tx = db.transaction(&[store], TransactionMode::ReadWrite).map_err(failed)?;
        tx.object_store(store)
            .map_err(failed)?
            .put(value, Some(key))
            .map_err(failed)?
            .await
            .map_err(failed)?;
        tx.commit().map_err(failed)?.await.map_err(failed)?;
        Ok(())
    }

    /// One value of one object store, if there.
    async fn get_one(&self, store: &str, key: JsValue) -> Result<Option<JsValue>, StorageError> {
        let db = self.database().await?;
        let tx = db.transaction(&[store], TransactionMode::ReadOnly).map_err(failed)?;
        tx.object_store(store).map_err(failed)?.get(key).map_err(failed)?.await.map_err(failed)
    }
}

fn key(board: uuid::Uuid) -> String {
    board.hyphenated().to_string()
}

#[async_trait(?Send)]
impl Library for IndexedDb {
    async fn list(&self) -> Result<Vec<BoardEntry>, StorageError> {
        let db = self.database().await?;
        let tx = db.transaction(&[BOARDS], TransactionMode::ReadOnly).map_err(failed)?;
        let values = tx
            .object_store(BOARDS)
            .map_err(failed)?
            .get_all(None, None)
            .map_err(failed)?
            .await
            .map_err(failed)?;
        let mut boards: Vec<BoardEntry> = values
            .iter()
            .filter_map(|v| v.as_string())
            .filter_map(|text| serde_json::from_str::<BoardEntry>(&text).ok())
            .collect();
        boards.sort_by_key(|b| std::cmp::Reverse(b.last_opened_ms));
        Ok(boards)
    }

    async fn create(&self, title: &str) -> Result<ShareLink, StorageError> {
        let link = ShareLink {
            board: uuid::Builder::from_random_bytes(random_bytes(&*self.clock)).into_uuid(),
            key: BoardKey(random_bytes(&*self.clock)),
        };
        let replica = ReplicaId(u64::from_le_bytes(random_bytes(&*self.clock)) % (u64::MAX - 1));
        let now = i64::try_from(self.clock.now_ms()).unwrap_or(0);
        let author = crate::profile::Profile::load(&*self.clock).name;
        let board = Board::create_at(BoardId(link.board), title, replica, now, &author)
            .map_err(|e| StorageError::Failed(e.to_string()))?;
        let snapshot = board.save().map_err(|e| StorageError::Failed(e.to_string()))?;
        self.compact(link.board, &mut |_| Ok(snapshot.clone())).await?;
        let now = self.clock.now_ms();
        self.put_entry(&BoardEntry {
            board: key(link.board),
            key: link.key_text(),
            title: title.to_owned(),
            created_ms: now,
            last_opened_ms: now,
            card_count: 0,
        })
        .await?;
        Ok(link)
    }

    async fn delete(&self, board: uuid::Uuid) -> Result<(), StorageError> {
        let db = self.database().await?;
        let tx = db.transaction(&[BOARDS], TransactionMode::ReadWrite).map_err(failed)?;
        tx.object_store(BOARDS)
            .map_err(failed)?
            .delete(JsValue::from_str(&key(board)))
            .map_err(failed)?
            .await
            .map_err(failed)?;
        tx.commit().map_err(failed)?.await.map_err(failed)?;
        self.remove(board).await
    }

    async fn entry(&self, board: uuid::Uuid) -> Result<Option<BoardEntry>, StorageError> {
        let value = self.get_one(BOARDS, JsValue::from_str(&key(board))).await?;
        Ok(value.and_then(|v| v.as_string()).and_then(|text| serde_json::from_str(&text).ok()))
    }

    async fn put_entry(&self, entry: &BoardEntry) -> Result<(), StorageError> {
        let text = serde_json::to_string(entry).map_err(|e| StorageError::Failed(e.to_string()))?;
        self.put_one(BOARDS, &JsValue::from_str(&entry.board), &JsValue::from_str(&text)).await
    }
}

/// The number in an update record's key.
fn record_seq(key: &JsValue) -> Option<u64> {
    key.as_string().and_then(|k| k.rsplit('/').next().and_then(|n| n.parse::<u64>().ok()))
}

/// The snapshot and updates of `board` as the transaction `tx` sees them.
async fn read_stored(tx: &Transaction, board: &str) -> Result<StoredBoard, StorageError> {
    let snapshot = tx
        .object_store(SNAPSHOTS)
        .map_err(failed)?
        .get(JsValue::from_str(board))
        .map_err(failed)?
        .await
        .map_err(failed)?;
    let snapshot = match snapshot {
        Some(value) => {
            Some(value_bytes(&value).ok_or_else(|| StorageError::Damaged("snapshot is not bytes".into()))?)
        }
        None => None,
    };
    let updates_store = tx.object_store(UPDATES).map_err(failed)?;
    let keys = updates_store
        .get_all_keys(Some(update_range(board)?), None)
        .map_err(failed)?
        .await
        .map_err(failed)?;
    let values =
        updates_store.get_all(Some(update_range(board)?), None).map_err(failed)?.await.map_err(failed)?;
    let mut updates = Vec::with_capacity(values.len());
    for (key, value) in keys.iter().zip(values.iter()) {
        let seq =
            record_seq(key).ok_or_else(|| StorageError::Damaged("an update record has a bad key".into()))?;
        let bytes = value_bytes(value)
            .ok_or_else(|| StorageError::Damaged(format!("update record {seq} is not bytes")))?;
        updates.push((seq, bytes));
    }
    Ok(StoredBoard { snapshot, updates })
}

#[async_trait(?Send)]
impl BoardStore for IndexedDb {
    async fn load(&self, board: uuid::Uuid) -> Result<StoredBoard, StorageError> {
        let db = self.database().await?;
        let tx = db.transaction(&[SNAPSHOTS, UPDATES], TransactionMode::ReadOnly).map_err(failed)?;
        read_stored(&tx, &key(board)).await
    }

    async fn append(&self, board: uuid::Uuid, bytes: &[u8]) -> Result<u64, StorageError> {
        let board = key(board);
        let db = self.database().await?;
        // Read-write transactions on one store run one at a time, in every
        // tab: the last number read here is still the last when adding.
        let tx = db.transaction(&[UPDATES], TransactionMode::ReadWrite).map_err(failed)?;
        let store = tx.object_store(UPDATES).map_err(failed)?;
        let keys =
            store.get_all_keys(Some(update_range(&board)?), None).map_err(failed)?.await.map_err(failed)?;
        let seq = keys.iter().filter_map(record_seq).max().unwrap_or(0) + 1;
        // `add`, not `put`: an existing record is an error, never replaced.
        store
            .add(&bytes_value(bytes), Some(&JsValue::from_str(&update_key(&board, seq))))
            .map_err(failed)?
            .await
            .map_err(failed)?;
        tx.commit().map_err(failed)?.await.map_err(failed)?;
        Ok(seq)
    }

    async fn compact(&self, board: uuid::Uuid, fold: Fold<'_>) -> Result<(), StorageError> {
        let board = key(board);
        let db = self.database().await?;
        let tx = db.transaction(&[SNAPSHOTS, UPDATES], TransactionMode::ReadWrite).map_err(failed)?;
        let stored = read_stored(&tx, &board).await?;
        // The fold runs inside the transaction: nobody writes this board
        // until the new snapshot and the emptied log are committed.
        let snapshot = match fold(&stored) {
            Ok(snapshot) if !snapshot.is_empty() => snapshot,
            outcome => {
                let _ = tx.abort();
                return Err(outcome.err().unwrap_or(StorageError::EmptySnapshot));
            }
        };
        tx.object_store(SNAPSHOTS)
            .map_err(failed)?
            .put(&bytes_value(&snapshot), Some(&JsValue::from_str(&board)))
            .map_err(failed)?
            .await
            .map_err(failed)?;
        tx.object_store(UPDATES)
            .map_err(failed)?
            .delete(update_range(&board)?)
            .map_err(failed)?
            .await
            .map_err(failed)?;
        tx.commit().map_err(failed)?.await.map_err(failed)?;
        Ok(())
    }

    async fn remove(&self, board: uuid::Uuid) -> Result<(), StorageError> {
        let board = key(board);
        let db = self.database().await?;
        let tx = db.transaction(&[SNAPSHOTS, UPDATES], TransactionMode::ReadWrite).map_err(failed)?;
        tx.object_store(SNAPSHOTS)
            .map_err(failed)?
            .delete(JsValue::from_str(&board))
            .map_err(failed)?
            .await
            .map_err(failed)?;
        tx.object_store(UPDATES)
            .map_err(failed)?
            .delete(update_range(&board)?)
            .map_err(failed)?
            .await
            .map_err(failed)?;
        tx.commit().map_err(failed)?.await.map_err(failed)?;
        Ok(())
    }

    async fn put_blob(&self, hash: &Hash, bytes: &[u8]) -> Result<(), StorageError> {
        self.put_one(BLOBS, &JsValue::from_str(&hash.to_hex()), &bytes_value(bytes)).await
    }

    async fn get_blob(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        let value = self.get_one(BLOBS, JsValue::from_str(&hash.to_hex())).await?;
        Ok(value.as_ref().and_then(value_bytes))
    }
}
