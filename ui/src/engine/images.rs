//! Images on the board: the verified bytes in memory, a URL for each one
//! the shell can show, the progress of those still travelling, and reading
//! them back from this page's store on open.

use std::collections::HashMap;

use board_model::CardId;
use board_model::blob::{self, Hash};
use leptos::prelude::*;

use super::{Engine, with};
use crate::notify;
use crate::platform::Shell;
use crate::view_model::CardView;

#[derive(Debug, Default)]
pub(super) struct Images {
    urls: HashMap<Hash, String>,
    /// Fraction received of images travelling from a peer.
    progress: HashMap<Hash, f64>,
}

impl Images {
    /// An image card's picture, or its progress while it travels.
    pub fn decorate(&self, view: &mut CardView) {
        if let Some(image) = view.image.as_mut()
            && let Ok(hash) = Hash::from_hex(&image.hash)
        {
            image.src = self.urls.get(&hash).cloned();
            if image.src.is_none() {
                image.progress = Some(self.progress.get(&hash).copied().unwrap_or(0.0));
            }
        }
    }

    pub fn release_all(&mut self, shell: &dyn Shell) {
        for url in self.urls.values() {
            shell.release_image_url(url);
        }
        self.urls.clear();
    }
}

impl Engine {
    /// An image is here and verified: give its cards a picture.
    pub(super) fn blob_arrived(&mut self, hash: Hash) {
        self.images.progress.remove(&hash);
        if !self.images.urls.contains_key(&hash)
            && let Some(bytes) = self.blobs.get(&hash)
        {
            // Shown as what the bytes are, never as what a card claims (a
            // peer's "image/svg+xml" would run script in this origin).
            let media_type = board_model::blob::display_type(bytes);
            if let Some(url) = self.platform.shell.image_url(bytes, media_type) {
                self.images.urls.insert(hash, url);
            }
        }
        self.refresh_image_cards(&hash);
    }

    /// A wanted image arrived from a peer: keep it in this page's store too.
    pub(super) fn blob_received(&mut self, hash: Hash) {
        if let (Some(store), Some(bytes)) =
            (self.platform.store.clone(), self.blobs.get(&hash).map(<[u8]>::to_vec))
        {
            leptos::task::spawn_local(async move {
                if let Err(error) = store.put_blob(&hash, &bytes).await {
                    notify::error(&error.to_string());
                }
            });
        }
        self.blob_arrived(hash);
    }

    pub(super) fn blob_progress(&mut self, hash: Hash, received: u64, total: u64) {
        self.images.progress.insert(hash, received as f64 / total.max(1) as f64);
        self.refresh_image_cards(&hash);
    }

    pub(super) fn refresh_image_cards(&mut self, hash: &Hash) {
        let hex = hash.to_hex();
        let ids: Vec<CardId> = self
            .cards
            .iter()
            .filter(|(_, s)| s.with_untracked(|v| v.image.as_ref().is_some_and(|i| i.hash == hex)))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.refresh_card(id);
        }
    }

    /// Images the board shows that are not in memory yet.
    pub(super) fn missing_blobs(&self) -> Vec<Hash> {
        self.board.referenced_blobs().into_iter().filter(|h| self.blobs.get(h).is_none()).collect()
    }
}

/// Reads images from this page's store into memory (verifying each), then
/// asks peers for the rest.
pub(super) async fn load_blobs(hashes: Vec<Hash>) {
    let Some(store) = with(|e| e.platform.store.clone()).flatten() else {
        with(|e| e.room.fetch_missing_blobs(&e.board, &mut e.blobs));
        return;
    };
    for hash in hashes {
        if with(|e| e.blobs.get(&hash).is_some()).unwrap_or(true) {
            continue;
        }
        match store.get_blob(&hash).await {
            Ok(Some(bytes)) if Hash::of(&bytes) == hash => {
                with(|e| {
                    if blob::Store::put_verified(&mut e.blobs, hash, bytes).is_ok() {
                        e.blob_arrived(hash);
                    }
                });
            }
            Ok(Some(_)) => crate::log::warn("a stored image was damaged; fetching it again"),
            Ok(None) => {}
            Err(error) => notify::error(&error.to_string()),
        }
    }
    with(|e| {
        e.room.fetch_missing_blobs(&e.board, &mut e.blobs);
        e.flush_links();
    });
}
