//! Versions, save and load: full and trimmed snapshots, updates since a
//! version, and importing a peer's or a file's bytes (arbitrary bytes give
//! an error and leave the board as it was).

use loro::{ExportMode, Frontiers, VersionVector};

use super::{Board, Imported, Version};
use crate::error::{Error, LoadError};

impl Board {
    /// Everything this replica holds.
    pub fn version(&self) -> Version {
        Version(self.doc.oplog_vv())
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

    /// Imports a snapshot or updates from a peer or a file. Arbitrary bytes
    /// give an error and leave the board as it was.
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
