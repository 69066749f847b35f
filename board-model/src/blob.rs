//! Blobs: image bytes addressed by their SHA-256, stored apart from the board
//! document and moved between peers in chunks. Storage is a trait (memory
//! here; disk and IndexedDB live at the edges); verification lives here, so a
//! blob is only ever handed to the application after its hash matched.

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest, Sha256};

/// Largest blob a peer will accept.
pub const MAX_BLOB_SIZE: u64 = 64 * 1024 * 1024;

/// Largest chunk of blob data in one message: it leaves room for the
/// envelope so a chunk always fits one 64 KiB data-channel message.
pub const CHUNK_SIZE: usize = 64 * 1024 - 256;

/// A blob's SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }

    pub fn from_hex(hex: &str) -> Result<Hash, StoreError> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(StoreError::BadHash);
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let high = hex_value(pair[0]).ok_or(StoreError::BadHash)?;
            let low = hex_value(pair[1]).ok_or(StoreError::BadHash)?;
            out[i] = high << 4 | low;
        }
        Ok(Hash(out))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", &self.to_hex()[..12])
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Why a blob store refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("not a SHA-256 hash")]
    BadHash,
    #[error("blob {0} is not in the store")]
    NotFound(Hash),
    #[error("blob {hash} did not match its hash after {size} bytes; it was discarded")]
    HashMismatch { hash: Hash, size: u64 },
    #[error("blob is larger than {max} bytes")]
    TooLarge { max: u64 },
    #[error("blob storage failed: {0}")]
    Io(String),
}

/// Where blobs live. Implementations only store bytes: this module verifies
/// hashes (see [`finish`]).
pub trait Store {
    /// Size of a complete blob, if held.
    fn complete_len(&self, hash: &Hash) -> Option<u64>;
    /// Up to `max` bytes of a complete blob from `offset`.
    fn read(&self, hash: &Hash, offset: u64, max: usize) -> Result<Vec<u8>, StoreError>;
    /// Bytes held of an incomplete blob being received (0 when none): where a
    /// transfer resumes.
    fn partial_len(&self, hash: &Hash) -> u64;
    /// Up to `max` bytes of an incomplete blob from `offset`.
    fn read_partial(&self, hash: &Hash, offset: u64, max: usize) -> Result<Vec<u8>, StoreError>;
    /// Appends to an incomplete blob.
    fn append_partial(&mut self, hash: &Hash, data: &[u8]) -> Result<(), StoreError>;
    /// Nobody is sending this incomplete blob any more. A store in memory
    /// lets it go (memory holds only transfers under way); one on disk may
    /// keep it to resume later.
    fn partial_abandoned(&mut self, hash: &Hash) {
        self.discard_partial(hash);
    }
    /// Turns a verified incomplete blob into a complete one.
    fn promote_partial(&mut self, hash: &Hash) -> Result<(), StoreError>;
    /// Forgets an incomplete blob.
    fn discard_partial(&mut self, hash: &Hash);
    /// Stores a complete blob whose hash the caller computed from these bytes.
    fn put_verified(&mut self, hash: Hash, bytes: Vec<u8>) -> Result<(), StoreError>;
}

/// The media type of image bytes, judged by their signature: PNG, JPEG,
/// GIF, WebP or BMP (pictures a browser shows without running anything;
/// never SVG, which can carry script), else `None`.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some("image/png"),
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        [b'B', b'M', ..] if bytes.len() > 26 => Some("image/bmp"),
        _ => None,
    }
}

/// The type to show verified bytes as: what their signature says (see
/// [`image_type`]), whatever a card claims; else `application/octet-stream`,
/// which a browser never renders or runs.
pub fn display_type(bytes: &[u8]) -> &'static str {
    image_type(bytes).unwrap_or("application/octet-stream")
}

/// Adds bytes the user supplied (a dropped file) and returns their hash.
pub fn insert(store: &mut dyn Store, bytes: Vec<u8>) -> Result<Hash, StoreError> {
    if bytes.len() as u64 > MAX_BLOB_SIZE {
        return Err(StoreError::TooLarge { max: MAX_BLOB_SIZE });
    }
    let hash = Hash::of(&bytes);
    if store.complete_len(&hash).is_none() {
        store.put_verified(hash, bytes)?;
    }
    Ok(hash)
}

/// Verifies a fully received blob against its hash. On a match the blob
/// becomes complete; otherwise the bytes are discarded and an error returned.
pub fn finish(store: &mut dyn Store, hash: &Hash) -> Result<u64, StoreError> {
    let size = store.partial_len(hash);
    let mut hasher = Sha256::new();
    let mut offset = 0;
    while offset < size {
        let chunk = store.read_partial(hash, offset, 1 << 20)?;
        if chunk.is_empty() {
            break;
        }
        offset += chunk.len() as u64;
        hasher.update(&chunk);
    }
    if <[u8; 32]>::from(hasher.finalize()) == hash.0 && offset == size {
        store.promote_partial(hash)?;
        Ok(size)
    } else {
        store.discard_partial(hash);
        Err(StoreError::HashMismatch { hash: *hash, size })
    }
}

/// Verifies a blob while it arrives: every byte appended to the partial blob
/// also goes through the hash, so completing it costs no second read.
#[derive(Clone, Default)]
pub struct Verifier {
    hasher: Sha256,
    bytes: u64,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").field("bytes", &self.bytes).finish()
    }
}

impl Verifier {
    /// Starts verifying a partial blob, hashing what the store already holds of it.
    pub fn resume(store: &dyn Store, hash: &Hash) -> Result<Verifier, StoreError> {
        let mut verifier = Verifier::default();
        let held = store.partial_len(hash);
        while verifier.bytes < held {
            let chunk = store.read_partial(hash, verifier.bytes, 1 << 20)?;
            if chunk.is_empty() {
                break;
            }
            verifier.update(&chunk);
        }
        Ok(verifier)
    }

    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Completes the blob if everything the store holds was hashed and the
    /// hash matches; otherwise discards the partial bytes and reports why.
    pub fn finish(self, store: &mut dyn Store, hash: &Hash) -> Result<u64, StoreError> {
        let size = store.partial_len(hash);
        if self.bytes == size && <[u8; 32]>::from(self.hasher.finalize()) == hash.0 {
            store.promote_partial(hash)?;
            Ok(size)
        } else {
            store.discard_partial(hash);
            Err(StoreError::HashMismatch { hash: *hash, size })
        }
    }
}

/// Blobs in memory: for tests and for short-lived peers.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    complete: HashMap<Hash, Vec<u8>>,
    partial: HashMap<Hash, Vec<u8>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A complete blob's bytes.
    pub fn get(&self, hash: &Hash) -> Option<&[u8]> {
        self.complete.get(hash).map(Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.complete.len()
    }

    /// Bytes of memory set aside for incomplete blobs: never more than was
    /// received of them (a peer's announced size reserves nothing).
    pub fn partial_bytes_reserved(&self) -> usize {
        self.partial.values().map(Vec::capacity).sum()
    }

    /// How many incomplete blobs are held.
    pub fn partial_count(&self) -> usize {
        self.partial.len()
    }

    pub fn is_empty(&self) -> bool {
        self.complete.is_empty()
    }
}

fn slice(bytes: &[u8], offset: u64, max: usize) -> Vec<u8> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
    let end = start.saturating_add(max).min(bytes.len());
    bytes[start..end].to_vec()
}

impl Store for MemoryStore {
    fn complete_len(&self, hash: &Hash) -> Option<u64> {
        self.complete.get(hash).map(|bytes| bytes.len() as u64)
    }

    fn read(&self, hash: &Hash, offset: u64, max: usize) -> Result<Vec<u8>, StoreError> {
        let bytes = self.complete.get(hash).ok_or(StoreError::NotFound(*hash))?;
        Ok(slice(bytes, offset, max))
    }

    fn partial_len(&self, hash: &Hash) -> u64 {
        self.partial.get(hash).map_or(0, |bytes| bytes.len() as u64)
    }

    fn read_partial(&self, hash: &Hash, offset: u64, max: usize) -> Result<Vec<u8>, StoreError> {
        let bytes = self.partial.get(hash).ok_or(StoreError::NotFound(*hash))?;
        Ok(slice(bytes, offset, max))
    }

    fn append_partial(&mut self, hash: &Hash, data: &[u8]) -> Result<(), StoreError> {
        let entry = self.partial.entry(*hash).or_default();
        if entry.len() as u64 + data.len() as u64 > MAX_BLOB_SIZE {
            return Err(StoreError::TooLarge { max: MAX_BLOB_SIZE });
        }
        entry.extend_from_slice(data);
        Ok(())
    }

    fn promote_partial(&mut self, hash: &Hash) -> Result<(), StoreError> {
        let bytes = self.partial.remove(hash).ok_or(StoreError::NotFound(*hash))?;
        self.complete.insert(*hash, bytes);
        Ok(())
    }

    fn discard_partial(&mut self, hash: &Hash) {
        self.partial.remove(hash);
    }

    fn put_verified(&mut self, hash: Hash, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.complete.insert(hash, bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shown_type_comes_from_the_bytes_never_from_a_claim() {
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0];
        assert_eq!(display_type(&png), "image/png");
        assert_eq!(display_type(b"\xff\xd8\xff\xe0"), "image/jpeg");
        assert_eq!(display_type(b"GIF89a...."), "image/gif");
        assert_eq!(display_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#;
        assert_eq!(display_type(svg), "application/octet-stream");
        assert_eq!(display_type(b"<html><script>alert(1)</script>"), "application/octet-stream");
        assert_eq!(display_type(b""), "application/octet-stream");
        assert_eq!(display_type(b"BM"), "application/octet-stream", "too short for a bitmap");
    }

    #[test]
    fn hash_hex_round_trips_and_rejects_garbage() {
        let hash = Hash::of(b"hello");
        assert_eq!(hash.to_hex(), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(Hash::from_hex(&hash.to_hex()), Ok(hash));
        assert_eq!(Hash::from_hex("xyz"), Err(StoreError::BadHash));
        assert_eq!(Hash::from_hex(&"g".repeat(64)), Err(StoreError::BadHash));
    }

    #[test]
    fn a_verified_partial_blob_becomes_complete() {
        let mut store = MemoryStore::new();
        let hash = Hash::of(b"abcdef");
        store.append_partial(&hash, b"abc").ok();
        store.append_partial(&hash, b"def").ok();
        assert_eq!(finish(&mut store, &hash), Ok(6));
        assert_eq!(store.get(&hash), Some(&b"abcdef"[..]));
        assert_eq!(store.partial_len(&hash), 0);
    }

    #[test]
    fn a_wrong_blob_is_discarded_not_kept() {
        let mut store = MemoryStore::new();
        let hash = Hash::of(b"abcdef");
        store.append_partial(&hash, b"abcdeX").ok();
        assert!(matches!(finish(&mut store, &hash), Err(StoreError::HashMismatch { .. })));
        assert_eq!(store.complete_len(&hash), None);
        assert_eq!(store.partial_len(&hash), 0);
    }

    #[test]
    fn a_streaming_verifier_agrees_with_a_full_read_and_resumes() {
        let mut store = MemoryStore::new();
        let hash = Hash::of(b"stream me");
        store.append_partial(&hash, b"stream").ok();
        let mut verifier = Verifier::resume(&store, &hash).unwrap_or_default();
        assert_eq!(verifier.len(), 6);
        store.append_partial(&hash, b" me").ok();
        verifier.update(b" me");
        assert_eq!(verifier.finish(&mut store, &hash), Ok(9));
        assert_eq!(store.get(&hash), Some(&b"stream me"[..]));
        // A wrong byte anywhere is caught.
        let mut verifier = Verifier::default();
        store.append_partial(&Hash::of(b"abc"), b"abd").ok();
        verifier.update(b"abd");
        assert!(verifier.finish(&mut store, &Hash::of(b"abc")).is_err());
        assert_eq!(store.partial_len(&Hash::of(b"abc")), 0);
    }

    #[test]
    fn insert_is_idempotent_and_bounded() {
        let mut store = MemoryStore::new();
        let a = insert(&mut store, b"img".to_vec());
        let b = insert(&mut store, b"img".to_vec());
        assert_eq!(a, b);
        assert_eq!(store.len(), 1);
    }
}
