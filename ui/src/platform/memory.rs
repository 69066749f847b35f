//! In-memory implementations of the boundary, for host tests: a clock the
//! test moves, a store that can be told to fail, a transport that records
//! what the engine asks of it, and a shell that hands out fake image URLs.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use async_trait::async_trait;
use board_key::BoardKey;
use board_key::link::ShareLink;
use board_model::blob::Hash;
use board_model::presence::Identity;
use board_room::{LinkId, Output};
use desktop_wire::{BoardEntry, IceServer};

use super::{
    BoardStore, Clock, Fold, Library, NetSink, Network, Platform, Shell, ShellSink, StorageError,
    StoredBoard, Transport,
};
use crate::view_model::Status;

/// Time the test sets; randomness from a counter.
#[derive(Debug, Default)]
pub struct TestClock {
    pub now: Cell<u64>,
    counter: Cell<u64>,
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }

    fn fill_random(&self, buffer: &mut [u8]) {
        for byte in buffer.iter_mut() {
            let n = self.counter.get().wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.counter.set(n);
            *byte = (n >> 33) as u8;
        }
    }
}

/// Boards, updates and images in maps; `fail` makes every write fail,
/// `fail_reads` every read of a board.
#[derive(Debug, Default)]
pub struct TestStore {
    pub entries: RefCell<BTreeMap<uuid::Uuid, BoardEntry>>,
    pub snapshots: RefCell<HashMap<uuid::Uuid, Vec<u8>>>,
    pub updates: RefCell<HashMap<uuid::Uuid, BTreeMap<u64, Vec<u8>>>>,
    pub blobs: RefCell<HashMap<Hash, Vec<u8>>>,
    pub fail: Cell<bool>,
    pub fail_reads: Cell<bool>,
    pub writes: Cell<usize>,
}

impl TestStore {
    fn write(&self) -> Result<(), StorageError> {
        if self.fail.get() {
            return Err(StorageError::Failed("the disk is full".into()));
        }
        self.writes.set(self.writes.get() + 1);
        Ok(())
    }
}

#[async_trait(?Send)]
impl Library for TestStore {
    async fn list(&self) -> Result<Vec<BoardEntry>, StorageError> {
        let mut list: Vec<BoardEntry> = self.entries.borrow().values().cloned().collect();
        list.sort_by_key(|b| std::cmp::Reverse(b.last_opened_ms));
        Ok(list)
    }

    async fn create(&self, title: &str) -> Result<ShareLink, StorageError> {
        self.write()?;
        let n = self.entries.borrow().len() as u8 + 1;
        let link = ShareLink { board: uuid::Uuid::from_bytes([n; 16]), key: BoardKey([n; 32]) };
        let entry = BoardEntry {
            board: link.board.hyphenated().to_string(),
            key: link.key_text(),
            title: title.to_owned(),
            created_ms: 0,
            last_opened_ms: 0,
            card_count: 0,
        };
        self.entries.borrow_mut().insert(link.board, entry);
        Ok(link)
    }

    async fn delete(&self, board: uuid::Uuid) -> Result<(), StorageError> {
        self.write()?;
        self.entries.borrow_mut().remove(&board);
        self.remove(board).await
    }

    async fn entry(&self, board: uuid::Uuid) -> Result<Option<BoardEntry>, StorageError> {
        Ok(self.entries.borrow().get(&board).cloned())
    }

    async fn put_entry(&self, entry: &BoardEntry) -> Result<(), StorageError> {
        self.write()?;
        let board = uuid::Uuid::try_parse(&entry.board).map_err(|e| StorageError::Failed(e.to_string()))?;
        self.entries.borrow_mut().insert(board, entry.clone());
        Ok(())
    }
}

#[async_trait(?Send)]
impl BoardStore for TestStore {
    async fn load(&self, board: uuid::Uuid) -> Result<StoredBoard, StorageError> {
        if self.fail_reads.get() {
            return Err(StorageError::Failed("the database could not be read".into()));
        }
        let updates =
            self.updates.borrow().get(&board).map(|u| u.iter().map(|(s, b)| (*s, b.clone())).collect());
        Ok(StoredBoard {
            snapshot: self.snapshots.borrow().get(&board).cloned(),
            updates: updates.unwrap_or_default(),
        })
    }

    async fn append(&self, board: uuid::Uuid, bytes: &[u8]) -> Result<u64, StorageError> {
        self.write()?;
        let mut updates = self.updates.borrow_mut();
        let updates = updates.entry(board).or_default();
        let seq = updates.keys().next_back().map_or(1, |last| last + 1);
        updates.insert(seq, bytes.to_vec());
        Ok(seq)
    }

    async fn compact(&self, board: uuid::Uuid, fold: Fold<'_>) -> Result<(), StorageError> {
        let stored = self.load(board).await?;
        let snapshot = fold(&stored)?;
        if snapshot.is_empty() {
            return Err(StorageError::EmptySnapshot);
        }
        self.write()?;
        self.snapshots.borrow_mut().insert(board, snapshot);
        self.updates.borrow_mut().remove(&board);
        Ok(())
    }

    async fn remove(&self, board: uuid::Uuid) -> Result<(), StorageError> {
        self.snapshots.borrow_mut().remove(&board);
        self.updates.borrow_mut().remove(&board);
        Ok(())
    }

    async fn put_blob(&self, hash: &Hash, bytes: &[u8]) -> Result<(), StorageError> {
        self.write()?;
        self.blobs.borrow_mut().insert(*hash, bytes.to_vec());
        Ok(())
    }

    async fn get_blob(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.blobs.borrow().get(hash).cloned())
    }
}

/// What the engine asked of its transport.
#[derive(Default)]
pub struct NetLog {
    pub started: usize,
    pub stopped: usize,
    pub outputs: Vec<Output>,
    pub sent: Vec<(LinkId, Vec<u8>)>,
    pub offline: Option<bool>,
    pub identity: Option<Identity>,
    pub ice: Option<(Vec<IceServer>, bool)>,
    /// Links whose channel takes frames.
    pub open: Vec<LinkId>,
    pub sink: Option<NetSink>,
}

impl std::fmt::Debug for NetLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetLog")
            .field("outputs", &self.outputs)
            .field("sent", &self.sent.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub struct TestNetwork {
    pub log: Rc<RefCell<NetLog>>,
}

impl Network for TestNetwork {
    fn open(&self, _link: &ShareLink, _identity: &Identity, sink: NetSink) -> Box<dyn Transport> {
        self.log.borrow_mut().sink = Some(sink);
        Box::new(TestTransport { log: Rc::clone(&self.log) })
    }
}

struct TestTransport {
    log: Rc<RefCell<NetLog>>,
}

impl Transport for TestTransport {
    fn start(&mut self) {
        self.log.borrow_mut().started += 1;
    }

    fn stop(&mut self) {
        self.log.borrow_mut().stopped += 1;
    }

    fn execute(&mut self, output: Output) {
        self.log.borrow_mut().outputs.push(output);
    }

    fn has_room(&self, link: LinkId) -> bool {
        self.log.borrow().open.contains(&link)
    }

    fn send(&mut self, link: LinkId, frame: Vec<u8>) {
        self.log.borrow_mut().sent.push((link, frame));
    }

    fn status(&self, connected_peers: usize) -> Status {
        Status::Online { peers: connected_peers }
    }

    fn set_offline(&mut self, offline: bool) {
        self.log.borrow_mut().offline = Some(offline);
    }

    fn set_identity(&mut self, identity: &Identity) {
        self.log.borrow_mut().identity = Some(identity.clone());
    }

    fn set_ice_servers(&mut self, servers: &[IceServer], relay_only: bool) {
        self.log.borrow_mut().ice = Some((servers.to_vec(), relay_only));
    }
}

#[derive(Debug, Default)]
pub struct TestShell {
    pub title: RefCell<Option<String>>,
    urls: Cell<u64>,
    /// Files saved (exports), in order.
    pub saved: RefCell<Vec<(String, Vec<u8>)>>,
}

#[async_trait(?Send)]
impl Shell for TestShell {
    fn install(&self, _sink: ShellSink) {}

    fn set_title(&self, board_title: Option<&str>) {
        *self.title.borrow_mut() = board_title.map(str::to_owned);
    }

    async fn web_origin(&self) -> String {
        "http://test.invalid".into()
    }

    fn image_url(&self, bytes: &[u8], media_type: &str) -> Option<String> {
        self.urls.set(self.urls.get() + 1);
        Some(format!("blob:test/{}/{media_type}/{}", self.urls.get(), bytes.len()))
    }

    fn release_image_url(&self, _url: &str) {}

    fn where_boards_live(&self) -> &'static str {
        "in this test"
    }

    async fn save_file(
        &self,
        name: &str,
        _media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<String>, String> {
        self.saved.borrow_mut().push((name.to_owned(), bytes));
        Ok(Some(name.to_owned()))
    }
}

/// A whole in-memory home, with handles to each part.
#[derive(Debug)]
pub struct TestHome {
    pub platform: Platform,
    pub clock: Rc<TestClock>,
    pub store: Rc<TestStore>,
    pub net: Rc<RefCell<NetLog>>,
}

impl Default for TestHome {
    fn default() -> Self {
        TestHome::new()
    }
}

impl TestHome {
    pub fn new() -> TestHome {
        let clock = Rc::new(TestClock::default());
        clock.now.set(1_700_000_000_000);
        let store = Rc::new(TestStore::default());
        let network = TestNetwork::default();
        let net = Rc::clone(&network.log);
        let platform = Platform {
            clock: clock.clone(),
            library: store.clone(),
            store: Some(store.clone()),
            network: Rc::new(network),
            shell: Rc::new(TestShell::default()),
        };
        TestHome { platform, clock, store, net }
    }
}

#[cfg(test)]
mod tests {
    use super::TestStore;

    #[test]
    fn the_memory_store_keeps_the_store_contract() {
        let store = TestStore::default();
        if let Err(broken) = futures::executor::block_on(crate::platform::store_contract::run(&store)) {
            panic!("{broken}");
        }
    }

    #[test]
    fn two_writers_on_the_memory_store_keep_the_store_contract() {
        let store = TestStore::default();
        let run = crate::platform::store_contract::run_two_writers(&store, &store);
        if let Err(broken) = futures::executor::block_on(run) {
            panic!("{broken}");
        }
    }
}
