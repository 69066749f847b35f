//! Blobs over a session: wants, haves, chunks (resumable from the bytes
//! held, verified before use), cancels, and the chunks this side sends in
//! turn.

use serde_bytes::ByteBuf;

use super::{
    Error, Event, Incoming, MAX_OUTSTANDING_BLOB_REQUESTS, MAX_WANTS_PER_PEER, Outgoing, Phase, Session,
};
use crate::blob::{self, Hash};
use crate::protocol::Message;

impl Session {
    pub(super) fn on_blob_want(
        &mut self,
        hash: Hash,
        offset: u64,
        blobs: &dyn blob::Store,
    ) -> Result<(), Error> {
        self.outgoing.retain(|outgoing| outgoing.hash != hash);
        match blobs.complete_len(&hash) {
            Some(size) => {
                if self.outgoing.len() >= MAX_OUTSTANDING_BLOB_REQUESTS {
                    return Err(Error::TooManyBlobRequests);
                }
                self.reply(&Message::BlobHave { hash, size })?;
                let next = if offset <= size { offset } else { 0 };
                if next < size {
                    self.outgoing.push_back(Outgoing { hash, next, size });
                }
            }
            None => self.reply(&Message::BlobMissing { hash })?,
        }
        Ok(())
    }

    pub(super) fn on_blob_have(
        &mut self,
        hash: Hash,
        size: u64,
        blobs: &mut dyn blob::Store,
        now_ms: u64,
    ) -> Result<(), Error> {
        let Some(incoming) = self.incoming.get_mut(&hash) else {
            return Ok(()); // Not wanted (any more): chunks that follow are ignored.
        };
        incoming.total = Some(size);
        incoming.last_activity_ms = Some(now_ms);
        let held = blobs.partial_len(&hash);
        if held > size {
            // What we held does not belong to this blob: start again.
            blobs.discard_partial(&hash);
            self.send(&Message::BlobWant { hash, offset: 0 });
            return Ok(());
        }
        incoming.verifier = Some(blob::Verifier::resume(blobs, &hash)?);
        if held == size {
            self.finish_blob(hash, blobs);
        }
        Ok(())
    }

    pub(super) fn on_blob_chunk(
        &mut self,
        hash: Hash,
        offset: u64,
        data: &[u8],
        blobs: &mut dyn blob::Store,
        now_ms: u64,
    ) -> Result<(), Error> {
        let Some(incoming) = self.incoming.get_mut(&hash) else {
            return Ok(()); // Cancelled or never wanted.
        };
        let Some(total) = incoming.total else {
            return Ok(()); // A late chunk of an earlier, abandoned transfer.
        };
        incoming.last_activity_ms = Some(now_ms);
        if offset != blobs.partial_len(&hash) {
            return Err(Error::BlobProtocol("chunk at the wrong offset"));
        }
        if offset + data.len() as u64 > total {
            return Err(Error::BlobProtocol("chunk beyond the announced size"));
        }
        blobs.append_partial(&hash, data)?;
        if let Some(verifier) = incoming.verifier.as_mut() {
            verifier.update(data);
        }
        let received = offset + data.len() as u64;
        self.events.push_back(Event::BlobProgress { hash, received, total });
        if received == total {
            self.finish_blob(hash, blobs);
        }
        Ok(())
    }

    pub(super) fn finish_blob(&mut self, hash: Hash, blobs: &mut dyn blob::Store) {
        let verifier = self.incoming.remove(&hash).and_then(|incoming| incoming.verifier);
        let verified = match verifier {
            Some(verifier) => verifier.finish(blobs, &hash),
            None => blob::finish(blobs, &hash),
        };
        match verified {
            Ok(_) => self.events.push_back(Event::BlobReady { hash }),
            Err(error) => self.events.push_back(Event::BlobRejected { hash, reason: error.to_string() }),
        }
    }

    /// Asks the remote for a blob (resuming what the store already holds of
    /// it). Returns false when the blob is already here or already wanted,
    /// or [`MAX_WANTS_PER_PEER`] are already under way with this remote.
    pub fn want_blob(&mut self, hash: Hash, blobs: &dyn blob::Store) -> bool {
        if self.phase == Phase::Closed
            || blobs.complete_len(&hash).is_some()
            || self.incoming.contains_key(&hash)
            || self.incoming.len() >= MAX_WANTS_PER_PEER
        {
            return false;
        }
        self.incoming.insert(hash, Incoming { total: None, verifier: None, last_activity_ms: None });
        self.send(&Message::BlobWant { hash, offset: blobs.partial_len(&hash) });
        true
    }

    /// Stops fetching a blob (it arrived from another peer, or is no longer shown).
    pub fn cancel_blob(&mut self, hash: Hash) {
        if self.incoming.remove(&hash).is_some() {
            self.send(&Message::BlobCancel { hash });
        }
    }

    /// Blobs wanted from this remote and not yet arrived.
    pub fn wanted_blobs(&self) -> impl Iterator<Item = &Hash> {
        self.incoming.keys()
    }

    pub(super) fn next_blob_chunk(&mut self, blobs: &dyn blob::Store) -> Option<Vec<u8>> {
        let mut outgoing = self.outgoing.pop_front()?;
        match blobs.read(&outgoing.hash, outgoing.next, blob::CHUNK_SIZE) {
            Ok(data) if !data.is_empty() => {
                let offset = outgoing.next;
                outgoing.next += data.len() as u64;
                let hash = outgoing.hash;
                if outgoing.next < outgoing.size {
                    // Round robin between blobs in flight.
                    self.outgoing.push_back(outgoing);
                }
                self.send(&Message::BlobChunk { hash, offset, data: ByteBuf::from(data) });
            }
            _ => self.send(&Message::BlobMissing { hash: outgoing.hash }),
        }
        self.queue.pop_front()
    }
}
