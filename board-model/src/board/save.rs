//! Versions, save and load: full and trimmed snapshots, updates since a
//! version, and importing a peer's or a file's bytes (arbitrary bytes give
//! an error and leave the board as it was).

use loro::{EncodedBlobMode, ExportMode, Frontiers, LoroDoc, LoroValue, VersionVector};
use sha2::{Digest, Sha256};

use super::{Board, Heads, Imported, Version};
use crate::error::{Error, LoadError};

/// Most operations a board holds waiting for earlier changes a peer never
/// sent; past it, that peer's updates are refused.
pub const MAX_PENDING_OPS: u64 = 200_000;

impl Board {
    /// Everything this replica holds.
    pub fn version(&self) -> Version {
        Version(self.doc.oplog_vv())
    }

    /// The latest changes this replica holds (cheaper than [`Board::version`]).
    pub fn heads(&self) -> Heads {
        Heads(self.doc.oplog_frontiers())
    }

    /// A SHA-256 digest of the board's state (every container's value,
    /// map keys in order): two replicas holding the same changes have the
    /// same digest. Different digests at the same version mean someone
    /// wrote different changes under the same ids (a forged replica id).
    /// Kept until the version changes.
    pub fn state_digest(&self) -> [u8; 32] {
        let version = self.doc.oplog_vv();
        let mut cached = self.digest.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, digest)) = cached.as_ref()
            && *at == version
        {
            return *digest;
        }
        let mut hasher = Sha256::new();
        hash_value(&self.doc.get_deep_value(), &mut hasher);
        let digest: [u8; 32] = hasher.finalize().into();
        *cached = Some((version, digest));
        digest
    }

    /// The whole board with its full history. Never empty: an export that
    /// fails or comes out empty is an error, so nothing empty is ever
    /// written over a saved board.
    pub fn save(&self) -> Result<Vec<u8>, Error> {
        self.export(ExportMode::Snapshot)
    }

    /// The board as it is now with its history trimmed: for an explicit
    /// "compact this board" and for handing a big board to a new peer quickly.
    pub fn save_shallow(&self) -> Result<Vec<u8>, Error> {
        let frontiers: Frontiers = self.doc.oplog_frontiers();
        self.export(ExportMode::shallow_snapshot(&frontiers))
    }

    /// The changes this replica has that `since` lacks (empty when none).
    pub fn updates_since(&self, since: &Version) -> Vec<u8> {
        if self.version().included_in(since) {
            return Vec::new();
        }
        // A failed export sends nothing now; the next version announcement asks again.
        self.export(ExportMode::updates(&since.0)).unwrap_or_default()
    }

    /// Imports a peer's changes, checked before anything is decoded beyond
    /// the header: only the kind the protocol sends (updates; never a
    /// snapshot, which a peer has no reason to send and which is compressed,
    /// so a small one can unpack to gigabytes), never changes under this
    /// replica's own id that it did not make (they would make the replicas
    /// diverge), and no more than [`MAX_PENDING_OPS`] held waiting for
    /// earlier changes the peer never sends.
    pub fn import_updates(&mut self, bytes: &[u8]) -> Result<Imported, LoadError> {
        if bytes.is_empty() {
            return Err(LoadError::Empty);
        }
        let meta = LoroDoc::decode_import_blob_meta(bytes, true)
            .map_err(|error| LoadError::Corrupt(error.to_string()))?;
        if meta.mode != EncodedBlobMode::Updates {
            return Err(LoadError::NotUpdates(meta.mode.to_string()));
        }
        let me = self.doc.peer_id();
        let made = self.doc.oplog_vv().get(&me).copied().unwrap_or(0);
        if meta.partial_end_vv.get(&me).is_some_and(|end| *end > made) {
            return Err(LoadError::Impersonation);
        }
        if self.pending_ops() > MAX_PENDING_OPS {
            return Err(LoadError::TooMuchPending { max: MAX_PENDING_OPS });
        }
        self.import(bytes)
    }

    /// Changes held that wait for earlier ones not received yet (an upper
    /// bound, in operations).
    fn pending_ops(&self) -> u64 {
        let have = self.doc.oplog_vv();
        self.pending_until
            .iter()
            .map(|(peer, end)| u64::try_from(end - have.get(peer).copied().unwrap_or(0)).unwrap_or(0))
            .sum()
    }

    /// Imports a snapshot or updates from this device's own storage or a
    /// file. Arbitrary bytes give an error and leave the board as it was.
    /// (A peer's bytes go through [`Board::import_updates`].)
    pub fn import(&mut self, bytes: &[u8]) -> Result<Imported, LoadError> {
        if bytes.is_empty() {
            return Err(LoadError::Empty);
        }
        let status = self.doc.import(bytes).map_err(|error| LoadError::Corrupt(error.to_string()))?;
        let mut received = VersionVector::default();
        for (peer, (_, end)) in status.success.iter() {
            received.insert(*peer, *end);
        }
        let pending = match &status.pending {
            Some(range) => {
                for (peer, (_, end)) in range.iter() {
                    if received.get(peer).is_none_or(|have| have < end) {
                        received.insert(*peer, *end);
                    }
                    if self.pending_until.get(peer).is_none_or(|until| until < end) {
                        self.pending_until.insert(*peer, *end);
                    }
                }
                true
            }
            None => false,
        };
        Ok(Imported { received: Version(received), pending })
    }

    fn export(&self, mode: ExportMode<'_>) -> Result<Vec<u8>, Error> {
        match self.doc.export(mode) {
            Ok(bytes) if !bytes.is_empty() => Ok(bytes),
            Ok(_) => Err(Error::Export("the export came out empty".into())),
            Err(error) => Err(Error::Export(error.to_string())),
        }
    }
}

/// Feeds a value to the hasher unambiguously: a tag per kind, lengths
/// before contents, map entries sorted by key.
fn hash_value(value: &LoroValue, hasher: &mut Sha256) {
    match value {
        LoroValue::Null => hasher.update([0]),
        LoroValue::Bool(b) => hasher.update([1, u8::from(*b)]),
        LoroValue::Double(d) => {
            hasher.update([2]);
            hasher.update(d.to_bits().to_le_bytes());
        }
        LoroValue::I64(i) => {
            hasher.update([3]);
            hasher.update(i.to_le_bytes());
        }
        LoroValue::Binary(bytes) => {
            hasher.update([4]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes[..]);
        }
        LoroValue::String(text) => {
            hasher.update([5]);
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        LoroValue::List(items) => {
            hasher.update([6]);
            hasher.update((items.len() as u64).to_le_bytes());
            for item in items.iter() {
                hash_value(item, hasher);
            }
        }
        LoroValue::Map(map) => {
            hasher.update([7]);
            hasher.update((map.len() as u64).to_le_bytes());
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (key, item) in entries {
                hasher.update((key.len() as u64).to_le_bytes());
                hasher.update(key.as_bytes());
                hash_value(item, hasher);
            }
        }
        LoroValue::Container(id) => {
            hasher.update([8]);
            hasher.update(id.to_string().as_bytes());
        }
    }
}
