//! Disk storage under a data directory: per board a snapshot plus an
//! append-only log of updates, and content-addressed blob files.
//!
//! ```text
//! DATA/boards/<board id>/link       the share link (id and key), mode 0600
//! DATA/boards/<board id>/snapshot   "CBS1", crc32, a full board snapshot
//! DATA/boards/<board id>/log        records: len u32, crc32 u32, board updates
//! DATA/boards/<board id>/lock       held (flock) by the process writing the board
//! DATA/boards/<board id>/opened     when an app last opened the board (ms, decimal)
//! DATA/boards/<board id>/inbox/      changes made by other processes while
//!                                    one holds the lock (each file synced
//!                                    and renamed into place), applied by
//!                                    the lock holder
//! DATA/blobs/<sha256 hex>           complete blobs, verified on first read
//! DATA/blobs/partial/<sha256 hex>   blobs being received
//! ```
//!
//! Every write is crash-safe: snapshots are written to a temporary file,
//! synced and renamed over the old one; log records are appended and synced
//! before `persist` returns, and each carries a checksum, so a kill at any
//! moment loses at most the record being written. A write that fails half
//! way (a full disk) is cut back to the last whole record before anything
//! else is appended. On open, a torn tail is cut off (the damaged log is
//! kept aside first, as `log.damaged`, `log.damaged.2`, …: an earlier one is
//! never overwritten), and anything corrupt is reported naming the file
//! while the rest stays usable.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use board_key::link::ShareLink;
use board_model::blob::{self, Hash, StoreError};
use board_model::{Board, ReplicaId, Version};

const SNAPSHOT_MAGIC: &[u8; 4] = b"CBS1";
const RECORD_HEADER: usize = 8;
/// Largest log record accepted when reading (a big import).
const MAX_RECORD: usize = 256 * 1024 * 1024;
/// Compact once the log holds this many bytes.
pub const COMPACT_LOG_BYTES: u64 = 4 * 1024 * 1024;

/// What went wrong with the data directory; always names the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is damaged: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "board {board} is open in another corkboard-peer process (such as `serve`) using {path}; stop it first"
    )]
    Busy { board: String, path: PathBuf },
    #[error("no board {0} in this data directory (create it with `new` or fetch it with `sync`)")]
    NoSuchBoard(String),
    #[error("board {0} already exists in this data directory")]
    AlreadyExists(String),
    #[error(
        "this link's key is not the key of board {0} stored here (a mistyped link, or another board claiming its id); the stored board and its key were left as they are"
    )]
    WrongKey(String),
    #[error("board: {0}")]
    Board(#[from] board_model::Error),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_owned(), source }
}

/// A data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// A board listed in a data directory.
#[derive(Debug, Clone)]
pub struct Listed {
    pub link: ShareLink,
    pub dir: PathBuf,
}

fn modified_ms(path: &Path) -> Option<u64> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(since.as_millis()).ok()
}

impl Listed {
    /// When the board came to this device (its link file was written).
    pub fn created_ms(&self) -> u64 {
        modified_ms(&self.dir.join("link")).unwrap_or(0)
    }

    /// When an app last opened it, if ever.
    pub fn last_opened_ms(&self) -> Option<u64> {
        fs::read_to_string(self.dir.join("opened")).ok()?.trim().parse().ok()
    }
}

impl DataDir {
    /// The platform's data directory for Corkboard (`~/.local/share/corkboard` on Linux).
    pub fn default_root() -> PathBuf {
        directories::ProjectDirs::from("org", "Corkboard", "corkboard")
            .map(|dirs| dirs.data_dir().to_owned())
            .unwrap_or_else(|| PathBuf::from(".corkboard"))
    }

    pub fn open(root: impl Into<PathBuf>) -> Result<DataDir, Error> {
        let root = root.into();
        for dir in [root.join("boards"), root.join("blobs").join("partial")] {
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        }
        Ok(DataDir { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn board_dir(&self, board: &uuid::Uuid) -> PathBuf {
        self.root.join("boards").join(board.hyphenated().to_string())
    }

    /// Every board stored here (boards whose link file is unreadable are skipped with a warning).
    pub fn boards(&self) -> Result<Vec<Listed>, Error> {
        let dir = self.root.join("boards");
        let mut listed = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
            let entry = entry.map_err(io_error(&dir))?;
            let link_path = entry.path().join("link");
            match fs::read_to_string(&link_path).ok().and_then(|text| ShareLink::parse(&text).ok()) {
                Some(link) => listed.push(Listed { link, dir: entry.path() }),
                None => {
                    tracing::warn!(path = %link_path.display(), "skipping a board without a readable link")
                }
            }
        }
        listed.sort_by_key(|l| l.link.board);
        Ok(listed)
    }

    /// Stores a new board (or one received from peers) and opens it for writing.
    pub fn create(&self, link: &ShareLink, board: &Board) -> Result<BoardFile, Error> {
        let dir = self.board_dir(&link.board);
        if dir.join("link").exists() {
            return Err(Error::AlreadyExists(link.board.to_string()));
        }
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let mut file = BoardFile::lock(&dir, link)?;
        write_atomically(&dir.join("link"), link.to_app_link().as_bytes(), true)?;
        file.compact(board)?;
        Ok(file)
    }

    /// Opens a stored board for writing (one process at a time) and loads it.
    pub fn open_board(&self, link: &ShareLink, replica: ReplicaId) -> Result<(BoardFile, Board), Error> {
        let dir = self.board_dir(&link.board);
        let link_path = dir.join("link");
        if !link_path.exists() {
            return Err(Error::NoSuchBoard(link.board.to_string()));
        }
        let text = fs::read_to_string(&link_path).map_err(io_error(&link_path))?;
        let stored = ShareLink::parse(text.trim())
            .map_err(|error| Error::Corrupt { path: link_path.clone(), reason: error.to_string() })?;
        if stored.key != link.key {
            return Err(Error::WrongKey(link.board.to_string()));
        }
        let mut file = BoardFile::lock(&dir, link)?;
        let board = file.load(replica)?;
        Ok((file, board))
    }

    /// Opens a stored board, or creates an empty replica of it to receive from peers.
    pub fn open_or_join(&self, link: &ShareLink, replica: ReplicaId) -> Result<(BoardFile, Board), Error> {
        match self.open_board(link, replica) {
            Err(Error::NoSuchBoard(_)) => {
                let board = Board::empty_headless(replica)?;
                Ok((self.create(link, &board)?, board))
            }
            other => other,
        }
    }

    /// Notes when the board was opened (for "last opened" on a home screen).
    pub fn mark_opened(&self, board: &uuid::Uuid, now_ms: u64) -> Result<(), Error> {
        let dir = self.board_dir(board);
        if !dir.join("link").exists() {
            return Err(Error::NoSuchBoard(board.to_string()));
        }
        write_atomically(&dir.join("opened"), now_ms.to_string().as_bytes(), false)
    }

    /// Removes this device's copy of a board (its blobs stay: other boards
    /// may show them). Refused while another process writes the board.
    pub fn delete_board(&self, board: &uuid::Uuid) -> Result<(), Error> {
        let dir = self.board_dir(board);
        let link_path = dir.join("link");
        let link = match fs::read_to_string(&link_path) {
            Ok(text) => ShareLink::parse(&text).ok(),
            Err(error) if error.kind() == io::ErrorKind::NotFound && !dir.exists() => {
                return Err(Error::NoSuchBoard(board.to_string()));
            }
            Err(_) => None,
        };
        // Hold the lock while removing, so no other process is writing it.
        let lock = match &link {
            Some(link) => Some(BoardFile::lock(&dir, link)?),
            None => None,
        };
        // Take the link away first: a crash halfway leaves no half-listed board.
        match fs::remove_file(&link_path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::Io { path: link_path, source }),
        }
        drop(lock);
        fs::remove_dir_all(&dir).map_err(io_error(&dir))
    }

    /// Reads a board without locking it: works while another process
    /// (`serve`) writes it; a record being written is ignored.
    pub fn read_board(&self, board: &uuid::Uuid, replica: ReplicaId) -> Result<Board, Error> {
        let dir = self.board_dir(board);
        if !dir.join("link").exists() {
            return Err(Error::NoSuchBoard(board.to_string()));
        }
        // A compaction may replace the snapshot and empty the log between our
        // two reads; read again when the snapshot changed under us.
        for _ in 0..5 {
            let before = snapshot_stamp(&dir);
            let mut loaded = read_snapshot(&dir.join("snapshot"), replica)?;
            let (records, _) = read_log(&dir.join("log"))?;
            if snapshot_stamp(&dir) != before {
                continue;
            }
            for record in records {
                let _ = loaded.import(&record);
            }
            return Ok(loaded);
        }
        Err(Error::Corrupt { path: dir.join("snapshot"), reason: "kept changing while being read".into() })
    }

    /// Hands a change to the process that holds a board's lock (or to the
    /// next process that opens it): a synced file in the board's inbox.
    pub fn deliver_to_inbox(&self, board: &uuid::Uuid, updates: &[u8]) -> Result<PathBuf, Error> {
        let dir = self.board_dir(board).join("inbox");
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let stamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let unique: String = crate::random::bytes16()[..6].iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!("{stamp:032}-{unique}.upd"));
        write_atomically(&path, updates, false)?;
        Ok(path)
    }

    pub fn blobs(&self) -> DiskBlobs {
        DiskBlobs { dir: self.root.join("blobs"), verified: Mutex::default() }
    }
}

fn snapshot_stamp(dir: &Path) -> Option<(u64, std::time::SystemTime)> {
    let meta = fs::metadata(dir.join("snapshot")).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Writes a file so that readers see the old or the new content, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> Result<(), Error> {
    let temporary = path.with_extension("tmp");
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&temporary).map_err(io_error(&temporary))?;
    file.write_all(bytes).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    fs::rename(&temporary, path).map_err(io_error(path))?;
    if let Some(parent) = path.parent()
        && let Ok(dir) = File::open(parent)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn read_snapshot(path: &Path, replica: ReplicaId) -> Result<Board, Error> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    let corrupt = |reason: String| Error::Corrupt { path: path.to_owned(), reason };
    if bytes.len() < 8 || &bytes[..4] != SNAPSHOT_MAGIC {
        return Err(corrupt("not a Corkboard snapshot".into()));
    }
    let stored = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let body = &bytes[8..];
    if crc32fast::hash(body) != stored {
        return Err(corrupt("checksum mismatch".into()));
    }
    // What a node holds on disk it serves, saves and prints: nobody draws
    // or undoes on it (the desktop page keeps its own replica).
    if body.is_empty() {
        return Ok(Board::empty_headless(replica)?);
    }
    Board::load_headless(body, replica).map_err(|error| corrupt(error.to_string()))
}

/// Reads log records up to the first torn or damaged one; returns the
/// records and the length of the good prefix.
fn read_log(path: &Path) -> Result<(Vec<Vec<u8>>, u64), Error> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(source) => return Err(Error::Io { path: path.to_owned(), source }),
    };
    let mut records = Vec::new();
    let mut offset = 0usize;
    while bytes.len() - offset >= RECORD_HEADER {
        let header = &bytes[offset..offset + RECORD_HEADER];
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let start = offset + RECORD_HEADER;
        if len > MAX_RECORD || bytes.len() - start < len {
            break;
        }
        let body = &bytes[start..start + len];
        if crc32fast::hash(body) != crc {
            break;
        }
        records.push(body.to_vec());
        offset = start + len;
    }
    Ok((records, offset as u64))
}

/// The log as appended to: a file, or in tests one that fails part way.
trait LogWriter: Write + Send + std::fmt::Debug {
    fn sync(&mut self) -> io::Result<()>;
}

impl LogWriter for File {
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

/// A name for a damaged log kept aside that no earlier one has.
fn free_damaged_name(dir: &Path) -> PathBuf {
    let first = dir.join("log.damaged");
    if !first.exists() {
        return first;
    }
    (2u32..).map(|n| dir.join(format!("log.damaged.{n}"))).find(|path| !path.exists()).unwrap_or(first)
}

/// A board's files, opened for writing by this process.
#[derive(Debug)]
pub struct BoardFile {
    dir: PathBuf,
    link: ShareLink,
    _lock: File,
    log: Option<Box<dyn LogWriter>>,
    saved: Version,
    /// The length of the log's whole records: all of it is good.
    log_bytes: u64,
    /// A write failed part way: the log may hold torn bytes past `log_bytes`.
    torn: bool,
}

impl BoardFile {
    fn lock(dir: &Path, link: &ShareLink) -> Result<BoardFile, Error> {
        let path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::Busy { board: link.board.to_string(), path: dir.to_owned() });
            }
            Err(fs::TryLockError::Error(source)) => return Err(Error::Io { path, source }),
        }
        Ok(BoardFile {
            dir: dir.to_owned(),
            link: link.clone(),
            _lock: lock,
            log: None,
            saved: Version::empty(),
            log_bytes: 0,
            torn: false,
        })
    }

    pub fn link(&self) -> &ShareLink {
        &self.link
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Loads the snapshot and replays the log, cutting off a torn tail (a
    /// damaged log is first copied aside under a name of its own).
    fn load(&mut self, replica: ReplicaId) -> Result<Board, Error> {
        let mut board = read_snapshot(&self.dir.join("snapshot"), replica)?;
        let log_path = self.dir.join("log");
        let (records, good) = read_log(&log_path)?;
        let total = fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        for record in &records {
            if let Err(error) = board.import(record) {
                tracing::warn!(path = %log_path.display(), %error, "skipping a log record the board refused");
            }
        }
        if good < total {
            let aside = free_damaged_name(&self.dir);
            fs::copy(&log_path, &aside).map_err(io_error(&aside))?;
            tracing::warn!(path = %log_path.display(), kept = good, lost = total - good, aside = %aside.display(),
                "the log ended in a torn or damaged record (a crash while writing); it was cut off and the original kept aside");
            let file = OpenOptions::new().write(true).open(&log_path).map_err(io_error(&log_path))?;
            file.set_len(good).map_err(io_error(&log_path))?;
            file.sync_all().map_err(io_error(&log_path))?;
        }
        self.log_bytes = good;
        self.saved = board.version();
        self.apply_inbox(&mut board)?;
        board.take_changes();
        Ok(board)
    }

    /// Applies the changes other processes left in the inbox, saves them in
    /// the log, then removes the inbox files. Returns how many were applied.
    pub fn apply_inbox(&mut self, board: &mut Board) -> Result<usize, Error> {
        let dir = self.dir.join("inbox");
        let Ok(entries) = fs::read_dir(&dir) else { return Ok(0) };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "upd"))
            .collect();
        if files.is_empty() {
            return Ok(0);
        }
        files.sort();
        let mut applied = 0;
        for path in &files {
            let bytes = fs::read(path).map_err(io_error(path))?;
            match board.import(&bytes) {
                Ok(_) => applied += 1,
                Err(error) => {
                    let aside = path.with_extension("refused");
                    tracing::warn!(path = %path.display(), %error, "an inbox change could not be applied; kept as .refused");
                    let _ = fs::rename(path, &aside);
                }
            }
        }
        // On disk in the log before the inbox files go.
        self.persist(board)?;
        for path in &files {
            let _ = fs::remove_file(path);
        }
        Ok(applied)
    }

    /// Appends whatever the board has that is not on disk yet, synced before
    /// returning. Returns true when something was written.
    pub fn persist(&mut self, board: &Board) -> Result<bool, Error> {
        let updates = board.updates_since(&self.saved);
        if updates.is_empty() {
            return Ok(false);
        }
        let path = self.dir.join("log");
        if self.torn {
            self.cut_torn_tail()?;
        }
        if self.log.is_none() {
            let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io_error(&path))?;
            self.log = Some(Box::new(file));
        }
        let Some(log) = self.log.as_mut() else { return Ok(false) };
        let mut record = Vec::with_capacity(RECORD_HEADER + updates.len());
        record.extend_from_slice(&(updates.len() as u32).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(&updates).to_le_bytes());
        record.extend_from_slice(&updates);
        if let Err(source) = log.write_all(&record).and_then(|()| log.sync()) {
            // Whatever part of the record reached the file must go before
            // the next one is appended, or that one would follow torn bytes
            // and be cut off with them on the next open.
            self.log = None;
            self.torn = true;
            if let Err(error) = self.cut_torn_tail() {
                tracing::warn!(%error, "the log could not be cut back after a failed write; tried again before the next");
            }
            return Err(Error::Io { path, source });
        }
        self.log_bytes += record.len() as u64;
        self.saved = board.version();
        if self.log_bytes >= COMPACT_LOG_BYTES {
            self.compact(board)?;
        }
        Ok(true)
    }

    /// Cuts the log back to its whole records after a failed write.
    fn cut_torn_tail(&mut self) -> Result<(), Error> {
        let path = self.dir.join("log");
        let file = OpenOptions::new().write(true).open(&path).map_err(io_error(&path))?;
        file.set_len(self.log_bytes).map_err(io_error(&path))?;
        file.sync_all().map_err(io_error(&path))?;
        self.torn = false;
        Ok(())
    }

    /// Writes a fresh snapshot and empties the log.
    pub fn compact(&mut self, board: &Board) -> Result<(), Error> {
        // A failed export is an error before any file is touched.
        let body = board.save()?;
        let mut bytes = Vec::with_capacity(8 + body.len());
        bytes.extend_from_slice(SNAPSHOT_MAGIC);
        bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        write_atomically(&self.dir.join("snapshot"), &bytes, false)?;
        // The snapshot holds everything now; a crash before the log is
        // emptied only means records are replayed again, harmlessly.
        let path = self.dir.join("log");
        let log = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        log.sync_all().map_err(io_error(&path))?;
        self.log = None;
        self.log_bytes = 0;
        self.torn = false;
        self.saved = board.version();
        Ok(())
    }
}

/// Blob files, verified against their hash the first time this process reads them.
#[derive(Debug)]
pub struct DiskBlobs {
    dir: PathBuf,
    verified: Mutex<HashSet<Hash>>,
}

impl DiskBlobs {
    fn complete_path(&self, hash: &Hash) -> PathBuf {
        self.dir.join(hash.to_hex())
    }

    fn partial_path(&self, hash: &Hash) -> PathBuf {
        self.dir.join("partial").join(hash.to_hex())
    }

    /// Checks a complete blob's bytes against its name; a mismatch moves the
    /// file aside (`<hash>.corrupt`) and reports it.
    fn verify(&self, hash: &Hash) -> Result<(), StoreError> {
        if self.verified.lock().unwrap_or_else(PoisonError::into_inner).contains(hash) {
            return Ok(());
        }
        let path = self.complete_path(hash);
        let bytes = fs::read(&path).map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
        if Hash::of(&bytes) != *hash {
            let aside = path.with_extension("corrupt");
            let _ = fs::rename(&path, &aside);
            return Err(StoreError::Io(format!(
                "{} does not match its hash; moved to {}",
                path.display(),
                aside.display()
            )));
        }
        self.verified.lock().unwrap_or_else(PoisonError::into_inner).insert(*hash);
        Ok(())
    }

    /// A complete, verified blob's bytes.
    pub fn get(&self, hash: &Hash) -> Result<Vec<u8>, StoreError> {
        self.verify(hash)?;
        let path = self.complete_path(hash);
        fs::read(&path).map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.complete_path(hash).is_file()
    }
}

fn read_range(path: &Path, offset: u64, max: usize) -> Result<Vec<u8>, StoreError> {
    let io = |e: io::Error| StoreError::Io(format!("{}: {e}", path.display()));
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut out = Vec::with_capacity(max.min(1 << 20));
    file.take(max as u64).read_to_end(&mut out).map_err(io)?;
    Ok(out)
}

impl blob::Store for DiskBlobs {
    fn complete_len(&self, hash: &Hash) -> Option<u64> {
        let meta = fs::metadata(self.complete_path(hash)).ok()?;
        self.verify(hash).ok()?;
        Some(meta.len())
    }

    fn read(&self, hash: &Hash, offset: u64, max: usize) -> Result<Vec<u8>, StoreError> {
        self.verify(hash)?;
        read_range(&self.complete_path(hash), offset, max)
    }

    fn partial_len(&self, hash: &Hash) -> u64 {
        fs::metadata(self.partial_path(hash)).map_or(0, |m| m.len())
    }

    fn read_partial(&self, hash: &Hash, offset: u64, max: usize) -> Result<Vec<u8>, StoreError> {
        read_range(&self.partial_path(hash), offset, max)
    }

    fn append_partial(&mut self, hash: &Hash, data: &[u8]) -> Result<(), StoreError> {
        let path = self.partial_path(hash);
        if self.partial_len(hash) + data.len() as u64 > blob::MAX_BLOB_SIZE {
            return Err(StoreError::TooLarge { max: blob::MAX_BLOB_SIZE });
        }
        let io = |e: io::Error| StoreError::Io(format!("{}: {e}", path.display()));
        let mut file = OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        file.write_all(data).map_err(io)
    }

    fn promote_partial(&mut self, hash: &Hash) -> Result<(), StoreError> {
        let from = self.partial_path(hash);
        let to = self.complete_path(hash);
        let io = |e: io::Error| StoreError::Io(format!("{}: {e}", to.display()));
        File::open(&from).and_then(|f| f.sync_all()).map_err(io)?;
        fs::rename(&from, &to).map_err(io)?;
        // `finish` hashed these bytes just now.
        self.verified.lock().unwrap_or_else(PoisonError::into_inner).insert(*hash);
        Ok(())
    }

    /// A partial file stays on disk (bounded by the blob size limit, and
    /// only for images a board shows), so a later transfer resumes it.
    fn partial_abandoned(&mut self, _hash: &Hash) {}

    fn discard_partial(&mut self, hash: &Hash) {
        let _ = fs::remove_file(self.partial_path(hash));
    }

    fn put_verified(&mut self, hash: Hash, bytes: Vec<u8>) -> Result<(), StoreError> {
        write_atomically(&self.complete_path(&hash), &bytes, false)
            .map_err(|e| StoreError::Io(e.to_string()))?;
        self.verified.lock().unwrap_or_else(PoisonError::into_inner).insert(hash);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
