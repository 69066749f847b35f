//! The `.corkboard` backup: a zip holding `corkboard.json` (what this is:
//! format, version, the board's share link and title), `history.loro` (the
//! board's every change, as Loro updates) and `images/<sha-256>` (each
//! image the board shows that this home had). It restores on a device with
//! no network, or merges into the board a device already has, as a peer's
//! changes would: the history is imported as updates only (never a
//! snapshot), each image is kept only if its bytes hash to its name, and a
//! history of some other board than the manifest names is refused.
//!
//! The manifest holds the board's key, as the share link does: a backup is
//! as secret as the link.

use board_key::link::ShareLink;
use board_model::blob::{self, Hash};
use board_model::{Board, ReplicaId, Version};
use serde_json::{Value, json};

use crate::Error;
#[cfg(feature = "zip")]
use crate::entries;
use crate::entries::Entry;

const MANIFEST: &str = "corkboard.json";
const HISTORY: &str = "history.loro";
const IMAGES: &str = "images/";
/// The format's name in the manifest.
const FORMAT: &str = "corkboard-backup";
/// The version this code writes; it reads this and older.
pub const VERSION: u64 = 1;

/// A backup read and checked.
#[derive(Debug)]
pub struct Backup {
    pub link: ShareLink,
    pub title: String,
    /// The board's changes (Loro updates), for [`Board::import_updates`].
    pub history: Vec<u8>,
    /// The board as the history builds it, for a device that lacks it.
    pub board: Board,
    /// Images whose bytes match their hash.
    pub images: Vec<(Hash, Vec<u8>)>,
    /// Image entries left out: their bytes are not what their name says.
    pub bad_images: usize,
}

/// The backup of `board` (shared as `link`) with the images `image` gives.
#[cfg(feature = "zip")]
pub fn write(
    board: &Board,
    link: &ShareLink,
    image: &dyn Fn(&Hash) -> Option<Vec<u8>>,
) -> Result<Vec<u8>, Error> {
    entries::write(&to_entries(board, link, image)?)
}

/// The backup's entries, manifest first (zipped in this order, so
/// [`looks_like_backup`] knows one by its first bytes).
pub fn to_entries(
    board: &Board,
    link: &ShareLink,
    image: &dyn Fn(&Hash) -> Option<Vec<u8>>,
) -> Result<Vec<Entry>, Error> {
    let manifest = json!({
        "format": FORMAT,
        "version": VERSION,
        "link": link.to_app_link(),
        "title": board.title(),
        "cards": board.card_count(),
    });
    let history = board.updates_since(&Version::empty());
    if history.is_empty() {
        return Err(Error::Write("the board has no history to back up".into()));
    }
    let mut out = vec![
        Entry { name: MANIFEST.into(), bytes: manifest.to_string().into_bytes() },
        Entry { name: HISTORY.into(), bytes: history },
    ];
    let mut hashes = board.referenced_blobs();
    hashes.sort_by_key(|hash| hash.0);
    hashes.dedup();
    for hash in hashes {
        if let Some(bytes) = image(&hash) {
            out.push(Entry { name: format!("{IMAGES}{}", hash.to_hex()), bytes });
        }
    }
    Ok(out)
}

/// Whether `bytes` look like a backup (a zip whose first entry is the
/// manifest, as [`write`] puts it), to tell it from a canvas zip.
pub fn looks_like_backup(bytes: &[u8]) -> bool {
    // A zip's first local header: the signature, 26 bytes of fields, the name.
    bytes.starts_with(b"PK\x03\x04") && bytes.get(30..30 + MANIFEST.len()) == Some(MANIFEST.as_bytes())
}

/// Reads and checks a backup; `replica` is the id the restored board will
/// write under.
#[cfg(feature = "zip")]
pub fn read(bytes: &[u8], replica: ReplicaId) -> Result<Backup, Error> {
    from_entries(entries::read(bytes)?, replica)
}

/// Checks a backup's entries (as a zip held them) and reads the board.
pub fn from_entries(entries: Vec<Entry>, replica: ReplicaId) -> Result<Backup, Error> {
    let mut manifest = None;
    let mut history = None;
    let mut images = Vec::new();
    let mut bad_images = 0;
    for entry in entries {
        if entry.name == MANIFEST {
            manifest = Some(entry.bytes);
        } else if entry.name == HISTORY {
            history = Some(entry.bytes);
        } else if let Some(hex) = entry.name.strip_prefix(IMAGES) {
            match Hash::from_hex(hex) {
                Ok(hash)
                    if Hash::of(&entry.bytes) == hash && entry.bytes.len() as u64 <= blob::MAX_BLOB_SIZE =>
                {
                    images.push((hash, entry.bytes));
                }
                _ => bad_images += 1,
            }
        }
    }
    let manifest = manifest.ok_or_else(|| Error::NotBackup(format!("no {MANIFEST}")))?;
    let manifest: Value =
        serde_json::from_slice(&manifest).map_err(|e| Error::NotBackup(format!("{MANIFEST}: {e}")))?;
    if manifest.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(Error::NotBackup("its manifest names another format".into()));
    }
    match manifest.get("version").and_then(Value::as_u64) {
        Some(version) if version <= VERSION => {}
        Some(version) => {
            return Err(Error::NotBackup(format!(
                "it is format version {version}, newer than this app reads ({VERSION}): update Corkboard"
            )));
        }
        None => return Err(Error::NotBackup("its manifest has no version".into())),
    }
    let link_text = manifest.get("link").and_then(Value::as_str).unwrap_or_default();
    let link = ShareLink::parse(link_text).map_err(|e| Error::NotBackup(format!("its link: {e}")))?;
    let history = history.ok_or_else(|| Error::NotBackup(format!("no {HISTORY}")))?;
    let mut board = Board::empty(replica).map_err(|e| Error::History(e.to_string()))?;
    board.import_updates(&history).map_err(|e| Error::History(e.to_string()))?;
    if board.id().map(|id| id.0) != Some(link.board) {
        return Err(Error::WrongBoard { said: link.board.to_string() });
    }
    board.clear_undo();
    let title = board.title();
    Ok(Backup { link, title, history, board, images, bad_images })
}

#[cfg(all(test, feature = "zip"))]
mod tests {
    use super::*;
    use board_key::BoardKey;
    use board_model::{BoardId, CardId, Content, NewCard, Point};

    fn link() -> ShareLink {
        ShareLink { board: uuid::Uuid::from_bytes([7; 16]), key: BoardKey([9; 32]) }
    }

    fn board_with_a_note(link: &ShareLink, replica: u64) -> Board {
        let mut board = Board::create(BoardId(link.board), "Trip", ReplicaId(replica)).expect("board");
        board
            .add_card(NewCard {
                id: CardId::from_random_bytes([replica as u8; 16]),
                position: Point { x: 10.0, y: 20.0 },
                size: None,
                color: None,
                content: Content::Note { text: format!("from {replica}") },
                created_by: "me".into(),
                created_at: 0,
            })
            .expect("card");
        board
    }

    #[test]
    fn a_backup_restores_the_board_with_its_history_and_images() {
        let link = link();
        let board = board_with_a_note(&link, 1);
        let picture = b"\x89PNG\r\n\x1a\nnot really".to_vec();
        let hash = Hash::of(&picture);
        let zip = write(&board, &link, &|h| (*h == hash).then(|| picture.clone())).expect("backup");
        assert!(looks_like_backup(&zip));
        let restored = read(&zip, ReplicaId(2)).expect("read");
        assert_eq!(restored.link, link);
        assert_eq!(restored.title, "Trip");
        assert_eq!(restored.board.state_digest(), board.state_digest());
        assert_eq!(restored.bad_images, 0);
    }

    #[test]
    fn a_backup_merges_into_the_copy_a_device_already_has() {
        let link = link();
        let mine = board_with_a_note(&link, 1);
        let mut theirs = Board::empty(ReplicaId(3)).expect("empty");
        theirs.import_updates(&mine.updates_since(&Version::empty())).expect("sync");
        let mut theirs_later = theirs;
        theirs_later
            .add_card(NewCard {
                id: CardId::from_random_bytes([3; 16]),
                position: Point { x: 0.0, y: 0.0 },
                size: None,
                color: None,
                content: Content::Note { text: "theirs".into() },
                created_by: "them".into(),
                created_at: 0,
            })
            .expect("card");
        let zip = write(&theirs_later, &link, &|_| None).expect("backup");
        let backup = read(&zip, ReplicaId(4)).expect("read");
        let mut mine = mine;
        mine.import_updates(&backup.history).expect("merge");
        assert_eq!(mine.card_count(), 2);
        assert_eq!(mine.state_digest(), theirs_later.state_digest());
    }

    #[test]
    fn lies_in_a_backup_are_refused_or_left_out() {
        let link = link();
        let board = board_with_a_note(&link, 1);
        // An image whose bytes are not what its name says.
        let history = board.updates_since(&Version::empty());
        let manifest = json!({ "format": FORMAT, "version": 1, "link": link.to_app_link() }).to_string();
        let zip = |manifest: &str, history: &[u8]| {
            entries::write(&[
                Entry { name: MANIFEST.into(), bytes: manifest.as_bytes().to_vec() },
                Entry { name: HISTORY.into(), bytes: history.to_vec() },
                Entry { name: format!("{IMAGES}{}", Hash::of(b"a").to_hex()), bytes: b"b".to_vec() },
            ])
            .expect("zip")
        };
        assert_eq!(read(&zip(&manifest, &history), ReplicaId(2)).expect("read").bad_images, 1);
        // A history of another board than the manifest says.
        let other = ShareLink { board: uuid::Uuid::from_bytes([1; 16]), key: BoardKey([9; 32]) };
        let lying = json!({ "format": FORMAT, "version": 1, "link": other.to_app_link() }).to_string();
        assert!(matches!(read(&zip(&lying, &history), ReplicaId(2)), Err(Error::WrongBoard { .. })));
        // A snapshot instead of updates, garbage, a newer format, no manifest.
        let snapshot = board.save().expect("snapshot");
        assert!(matches!(read(&zip(&manifest, &snapshot), ReplicaId(2)), Err(Error::History(_))));
        assert!(matches!(read(&zip(&manifest, b"garbage"), ReplicaId(2)), Err(Error::History(_))));
        let newer = json!({ "format": FORMAT, "version": 99, "link": link.to_app_link() }).to_string();
        assert!(matches!(read(&zip(&newer, &history), ReplicaId(2)), Err(Error::NotBackup(_))));
        let canvas =
            entries::write(&[Entry { name: "board.canvas".into(), bytes: b"{}".to_vec() }]).expect("zip");
        assert!(matches!(read(&canvas, ReplicaId(2)), Err(Error::NotBackup(_))));
        assert!(!looks_like_backup(&canvas));
    }
}
