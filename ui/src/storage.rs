//! The browser's persistence: IndexedDB holds the list of local boards,
//! each board's last snapshot plus the updates made since (appended on
//! every change, so a closed tab loses at most the edit in flight), and
//! the image blobs by hash. Everything here is async; the board model
//! never sees it.

use std::cell::RefCell;
use std::rc::Rc;

use idb::{Database, DatabaseEvent, Factory, KeyRange, ObjectStoreParams, Query, TransactionMode};
use js_sys::Uint8Array;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

const DATABASE: &str = "corkboard";
const VERSION: u32 = 1;
const BOARDS: &str = "boards";
const SNAPSHOTS: &str = "snapshots";
const UPDATES: &str = "updates";
const BLOBS: &str = "blobs";

/// Why storage failed; shown to the user as a short message.
#[derive(Debug, thiserror::Error, Clone)]
pub enum Error {
    #[error("this browser does not allow storing boards (IndexedDB is unavailable: {0})")]
    Unavailable(String),
    #[error("storing the board failed: {0}")]
    Failed(String),
    #[error("stored data is damaged: {0}")]
    Damaged(String),
}

impl From<idb::Error> for Error {
    fn from(error: idb::Error) -> Self {
        Error::Failed(error.to_string())
    }
}

/// One board in the home screen's list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoardEntry {
    /// The share link (`http://…/#board=…&key=…` form's fragment parts).
    pub board: String,
    pub key: String,
    pub title: String,
    pub created_ms: u64,
    pub last_opened_ms: u64,
    #[serde(default)]
    pub card_count: usize,
}

/// What is stored of one board.
#[derive(Debug, Default)]
pub struct StoredBoard {
    pub snapshot: Option<Vec<u8>>,
    /// Updates after the snapshot, in order, with their sequence numbers.
    pub updates: Vec<(u64, Vec<u8>)>,
}

thread_local! {
    static DB: RefCell<Option<Rc<Database>>> = const { RefCell::new(None) };
}

/// The open database (opened once per page).
pub async fn database() -> Result<Rc<Database>, Error> {
    if let Some(db) = DB.with(|db| db.borrow().clone()) {
        return Ok(db);
    }
    let factory = Factory::new().map_err(|e| Error::Unavailable(e.to_string()))?;
    let mut request = factory.open(DATABASE, Some(VERSION)).map_err(|e| Error::Unavailable(e.to_string()))?;
    request.on_upgrade_needed(|event| {
        let Ok(database) = event.database() else { return };
        let existing = database.store_names();
        for name in [BOARDS, SNAPSHOTS, UPDATES, BLOBS] {
            if !existing.iter().any(|n| n == name) {
                let _ = database.create_object_store(name, ObjectStoreParams::new());
            }
        }
    });
    let database = Rc::new(request.await.map_err(|e| Error::Unavailable(e.to_string()))?);
    DB.with(|db| *db.borrow_mut() = Some(Rc::clone(&database)));
    Ok(database)
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

fn update_range(board: &str) -> Result<Query, Error> {
    let range = KeyRange::bound(
        &JsValue::from_str(&format!("{board}/")),
        &JsValue::from_str(&format!("{board}/~")),
        None,
        None,
    )?;
    Ok(Query::KeyRange(range))
}

/// Every local board, most recently opened first.
pub async fn list_boards() -> Result<Vec<BoardEntry>, Error> {
    if crate::desktop::active() {
        let mut boards = crate::desktop::list_boards().await.map_err(Error::Failed)?;
        boards.sort_by_key(|b| std::cmp::Reverse(b.last_opened_ms));
        return Ok(boards);
    }
    let db = database().await?;
    let tx = db.transaction(&[BOARDS], TransactionMode::ReadOnly)?;
    let values = tx.object_store(BOARDS)?.get_all(None, None)?.await?;
    let mut boards: Vec<BoardEntry> = values
        .iter()
        .filter_map(|v| v.as_string())
        .filter_map(|text| serde_json::from_str::<BoardEntry>(&text).ok())
        .collect();
    boards.sort_by_key(|b| std::cmp::Reverse(b.last_opened_ms));
    Ok(boards)
}

pub async fn get_board_entry(board: &str) -> Result<Option<BoardEntry>, Error> {
    if crate::desktop::active() {
        return Ok(None);
    }
    let db = database().await?;
    let tx = db.transaction(&[BOARDS], TransactionMode::ReadOnly)?;
    let value = tx.object_store(BOARDS)?.get(JsValue::from_str(board))?.await?;
    Ok(value.and_then(|v| v.as_string()).and_then(|text| serde_json::from_str(&text).ok()))
}

pub async fn put_board_entry(entry: &BoardEntry) -> Result<(), Error> {
    if crate::desktop::active() {
        return Ok(()); // The native peer keeps its own list.
    }
    let db = database().await?;
    let text = serde_json::to_string(entry).map_err(|e| Error::Failed(e.to_string()))?;
    let tx = db.transaction(&[BOARDS], TransactionMode::ReadWrite)?;
    tx.object_store(BOARDS)?.put(&JsValue::from_str(&text), Some(&JsValue::from_str(&entry.board)))?.await?;
    tx.commit()?.await?;
    Ok(())
}

/// Deletes the local copy of a board (its images stay: other boards may show them).
pub async fn delete_board(board: &str) -> Result<(), Error> {
    if crate::desktop::active() {
        return crate::desktop::delete_board(board).await.map_err(Error::Failed);
    }
    let db = database().await?;
    let tx = db.transaction(&[BOARDS, SNAPSHOTS, UPDATES], TransactionMode::ReadWrite)?;
    tx.object_store(BOARDS)?.delete(JsValue::from_str(board))?.await?;
    tx.object_store(SNAPSHOTS)?.delete(JsValue::from_str(board))?.await?;
    tx.object_store(UPDATES)?.delete(update_range(board)?)?.await?;
    tx.commit()?.await?;
    Ok(())
}

/// The stored snapshot and updates of a board (empty when never stored).
pub async fn load_board(board: &str) -> Result<StoredBoard, Error> {
    if crate::desktop::active() {
        // The native peer holds the board; it arrives over the link.
        return Ok(StoredBoard::default());
    }
    let db = database().await?;
    let tx = db.transaction(&[SNAPSHOTS, UPDATES], TransactionMode::ReadOnly)?;
    let snapshot = tx.object_store(SNAPSHOTS)?.get(JsValue::from_str(board))?.await?;
    let snapshot = match snapshot {
        Some(value) => {
            Some(value_bytes(&value).ok_or_else(|| Error::Damaged("snapshot is not bytes".into()))?)
        }
        None => None,
    };
    let updates_store = tx.object_store(UPDATES)?;
    let keys = updates_store.get_all_keys(Some(update_range(board)?), None)?.await?;
    let values = updates_store.get_all(Some(update_range(board)?), None)?.await?;
    let mut updates = Vec::with_capacity(values.len());
    for (key, value) in keys.iter().zip(values.iter()) {
        let seq = key
            .as_string()
            .and_then(|k| k.rsplit('/').next().and_then(|n| n.parse::<u64>().ok()))
            .ok_or_else(|| Error::Damaged("an update record has a bad key".into()))?;
        // A damaged record is skipped: the rest still loads.
        if let Some(bytes) = value_bytes(value) {
            updates.push((seq, bytes));
        }
    }
    Ok(StoredBoard { snapshot, updates })
}

/// Appends one update record.
pub async fn append_update(board: &str, seq: u64, bytes: &[u8]) -> Result<(), Error> {
    if crate::desktop::active() {
        return Ok(()); // Saved by the native peer once it has the change.
    }
    let db = database().await?;
    let tx = db.transaction(&[UPDATES], TransactionMode::ReadWrite)?;
    let key = JsValue::from_str(&update_key(board, seq));
    tx.object_store(UPDATES)?.put(&bytes_value(bytes), Some(&key))?.await?;
    tx.commit()?.await?;
    Ok(())
}

/// Replaces the snapshot and drops the updates it includes (`..=up_to`), in one transaction.
pub async fn compact(board: &str, snapshot: &[u8], up_to: u64) -> Result<(), Error> {
    if crate::desktop::active() {
        return Ok(());
    }
    let db = database().await?;
    let tx = db.transaction(&[SNAPSHOTS, UPDATES], TransactionMode::ReadWrite)?;
    tx.object_store(SNAPSHOTS)?.put(&bytes_value(snapshot), Some(&JsValue::from_str(board)))?.await?;
    let range = KeyRange::bound(
        &JsValue::from_str(&format!("{board}/")),
        &JsValue::from_str(&update_key(board, up_to)),
        None,
        None,
    )?;
    tx.object_store(UPDATES)?.delete(Query::KeyRange(range))?.await?;
    tx.commit()?.await?;
    Ok(())
}

pub async fn put_blob(hash_hex: &str, bytes: &[u8]) -> Result<(), Error> {
    if crate::desktop::active() {
        return Ok(()); // The native peer fetches it over the link and keeps it on disk.
    }
    let db = database().await?;
    let tx = db.transaction(&[BLOBS], TransactionMode::ReadWrite)?;
    tx.object_store(BLOBS)?.put(&bytes_value(bytes), Some(&JsValue::from_str(hash_hex)))?.await?;
    tx.commit()?.await?;
    Ok(())
}

pub async fn get_blob(hash_hex: &str) -> Result<Option<Vec<u8>>, Error> {
    if crate::desktop::active() {
        return Ok(None);
    }
    let db = database().await?;
    let tx = db.transaction(&[BLOBS], TransactionMode::ReadOnly)?;
    let value = tx.object_store(BLOBS)?.get(JsValue::from_str(hash_hex))?.await?;
    Ok(value.as_ref().and_then(value_bytes))
}
