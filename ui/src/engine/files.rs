//! Boards in and out as files, the same in every home: export as a JSON
//! Canvas zip (`board.canvas` and its images), an SVG or PNG picture of
//! the board or the selection (PNG rendered from that SVG by the PNG
//! worker), or a `.corkboard` backup (whole history and images); import a
//! `.canvas`, a zip of one, or a backup — merged into the open board when
//! it is that board, else restored as its board, which then opens.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use board_archive::backup::Backup;
use board_model::blob::{self, Hash};
use board_model::{CardId, ImageRef, Point};

use super::{Engine, with};
use crate::notify;

/// What the user exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// `board.canvas` and its images, zipped.
    CanvasZip,
    Svg,
    Png,
    /// The `.corkboard` backup.
    Backup,
}

/// A file to save, as the engine makes it: the zipping and the PNG
/// rendering are left to the file worker (see `file_worker`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportFile {
    pub name: String,
    pub media_type: &'static str,
    pub body: ExportBody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportBody {
    /// The file's bytes.
    Bytes(Vec<u8>),
    /// A zip of these entries.
    Zip(Vec<board_archive::Entry>),
    /// The PNG rendered from this SVG.
    Png(String),
}

/// A file to bring onto a board that is about to open.
enum Pending {
    /// A backup of that board.
    Backup(Box<Backup>),
    /// A canvas chosen on the home screen, for the new board made for it.
    Canvas { board: uuid::Uuid, bytes: Vec<u8>, name: String },
    /// A board's past copied by the history view, for the new board made for it.
    Copy { board: uuid::Uuid, bytes: Vec<u8> },
}

/// A past copied into new board `board`, brought in as it opens.
pub(super) fn await_copy(board: uuid::Uuid, bytes: Vec<u8>) {
    PENDING.with(|pending| *pending.borrow_mut() = Some(Pending::Copy { board, bytes }));
}

thread_local! {
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

fn take_pending(board: uuid::Uuid) -> Option<Pending> {
    PENDING.with(|pending| {
        let mut pending = pending.borrow_mut();
        let for_it = match pending.as_ref() {
            Some(Pending::Backup(backup)) => backup.link.board == board,
            Some(Pending::Canvas { board: waiting, .. } | Pending::Copy { board: waiting, .. }) => {
                *waiting == board
            }
            None => false,
        };
        if for_it { pending.take() } else { None }
    })
}

/// `n` and the noun for it ("1 card", "2 cards").
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A file name from a board title: no path separators or control
/// characters, never empty.
pub fn file_stem(title: &str) -> String {
    let cleaned: String = title
        .chars()
        .map(|c| if c.is_control() || "/\\:*?\"<>|".contains(c) { '-' } else { c })
        .take(80)
        .collect();
    let cleaned = cleaned.trim().trim_matches('.').to_owned();
    if cleaned.is_empty() { "Board".to_owned() } else { cleaned }
}

impl Engine {
    /// Keeps image bytes the user brought (memory, and this page's store).
    pub(super) fn keep_blob(&mut self, bytes: Vec<u8>) -> Result<Hash, blob::StoreError> {
        let hash = blob::insert(&mut self.blobs, bytes.clone())?;
        if let Some(store) = self.platform.store.clone() {
            leptos::task::spawn_local(async move {
                if let Err(error) = store.put_blob(&hash, &bytes).await {
                    notify::error(&error.to_string());
                }
            });
        }
        self.blob_arrived(hash);
        Ok(hash)
    }

    fn image_bytes(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.blobs.get(hash).map(<[u8]>::to_vec)
    }

    /// The SVG of the selection when `selection_only` and something is
    /// selected, else of the whole board.
    pub fn picture(&self, selection_only: bool) -> board_picture::Picture {
        let only: Option<HashSet<CardId>> =
            (selection_only && !self.selection.is_empty()).then(|| self.selection.clone());
        board_picture::svg(&self.board, only.as_ref(), &|hash| self.image_bytes(hash))
    }

    /// The board (or the selection, for pictures) as a file to save.
    pub fn export(&self, format: ExportFormat, selection_only: bool) -> Result<ExportFile, String> {
        let stem = file_stem(&self.board.title());
        let image = |hash: &Hash| self.image_bytes(hash);
        let file = |name: String, media_type, body| ExportFile { name, media_type, body };
        match format {
            ExportFormat::CanvasZip => {
                let exported = board_canvas::export(&self.board);
                let entries = board_archive::canvas_zip::to_entries(&exported, &image);
                Ok(file(format!("{stem}.zip"), "application/zip", ExportBody::Zip(entries)))
            }
            ExportFormat::Svg => {
                let svg = self.picture(selection_only).svg.into_bytes();
                Ok(file(format!("{stem}.svg"), "image/svg+xml", ExportBody::Bytes(svg)))
            }
            ExportFormat::Png => {
                let svg = self.picture(selection_only).svg;
                Ok(file(format!("{stem}.png"), "image/png", ExportBody::Png(svg)))
            }
            ExportFormat::Backup => {
                let entries = board_archive::backup::to_entries(&self.board, &self.link, &image)
                    .map_err(|e| e.to_string())?;
                Ok(file(format!("{stem}.corkboard"), "application/zip", ExportBody::Zip(entries)))
            }
        }
    }

    /// Merges a backup of this board: its changes as a peer's would come,
    /// its images kept.
    fn merge_backup(&mut self, backup: &Backup) {
        let (before, new_here) = (self.board.card_count(), self.board.id().is_none());
        if let Err(error) = self.board.import_updates(&backup.history) {
            notify::error(&format!("The backup could not be merged: {error}."));
            return;
        }
        for (_, bytes) in &backup.images {
            if let Err(error) = self.keep_blob(bytes.clone()) {
                notify::error(&format!("An image of the backup could not be kept: {error}"));
            }
        }
        self.after_change();
        let (title, cards) = (self.board.title(), self.board.card_count());
        let images = plural(backup.images.len(), "image", "images");
        let mut said = if new_here {
            format!("Restored “{title}” from its backup: {}, {images}", plural(cards, "card", "cards"))
        } else {
            let added = cards.saturating_sub(before);
            format!(
                "Merged the backup of “{title}”: {} now, {added} new, {images}",
                plural(cards, "card", "cards")
            )
        };
        if backup.bad_images > 0 {
            said.push_str(&format!("; {} left out (damaged)", plural(backup.bad_images, "image", "images")));
        }
        notify::info(&format!("{said}."));
    }

    /// Adds a canvas's nodes and edges, its images from `files` (path in
    /// the canvas → measured image), centred on `at`, as one undo step.
    pub fn import_canvas_with(
        &mut self,
        mut canvas: board_canvas::Canvas,
        files: Vec<(String, super::NewImage)>,
        name: &str,
        at: Point,
    ) {
        if !self.writable() {
            return;
        }
        let mut images = HashMap::new();
        for (path, image) in files {
            let super::NewImage { bytes, media_type, width, height, name: file_name } = image;
            match self.keep_blob(bytes) {
                Ok(hash) => {
                    images.insert(
                        path,
                        ImageRef {
                            hash,
                            media_type: media_type.to_owned(),
                            natural_width: width,
                            natural_height: height,
                            file_name,
                        },
                    );
                }
                Err(error) => notify::error(&format!("An image in “{name}” can't be added: {error}")),
            }
        }
        super::edges::centre_on(&mut canvas, at);
        self.import_canvas_nodes(&canvas, &images, name);
    }
}

/// Whether a file is a board file by its name or first bytes.
pub fn is_board_file(name: &str, bytes: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    [".canvas", ".corkboard", ".zip"].iter().any(|ext| lower.ends_with(ext))
        || bytes.starts_with(b"PK\x03\x04")
}

/// A board file chosen on the home screen: a backup restores its board; a
/// canvas (or a zip of one) becomes a new board titled by the file's name.
/// Either then opens.
pub async fn import_board_file_as_new(name: String, bytes: Vec<u8>) {
    if board_archive::backup::looks_like_backup(&bytes) || name.to_ascii_lowercase().ends_with(".corkboard") {
        restore_backup(&name, &bytes).await;
        return;
    }
    let title = name.rsplit_once('.').map_or(name.as_str(), |(stem, _)| stem).to_owned();
    let title: String = title.chars().take(board_model::card::limits::MAX_TITLE_CHARS).collect();
    match crate::platform::use_platform().library.create(&title).await {
        Ok(link) => {
            PENDING.with(|pending| {
                *pending.borrow_mut() = Some(Pending::Canvas { board: link.board, bytes, name })
            });
            crate::dom::set_hash(&link.fragment());
        }
        Err(error) => notify::error(&format!("Could not make a board for “{name}”: {error}")),
    }
}

/// Imports a file the user picked or dropped that is a board: a `.canvas`,
/// a zip holding one, or a `.corkboard` backup. Returns `false` when the
/// file is none of these (the caller tries it as an image).
pub async fn import_board_file(name: String, bytes: Vec<u8>, at: Point) -> bool {
    let lower = name.to_ascii_lowercase();
    if board_archive::backup::looks_like_backup(&bytes) || lower.ends_with(".corkboard") {
        restore_backup(&name, &bytes).await;
        return true;
    }
    if lower.ends_with(".canvas") {
        with(|e| e.import_canvas(&bytes, &name, at));
        return true;
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return false;
    }
    let read = unzip(&bytes).await;
    let zipped = match read
        .and_then(|entries| board_archive::canvas_zip::from_entries(entries).map_err(|e| e.to_string()))
    {
        Ok(zipped) => zipped,
        Err(error) => {
            notify::error(&format!("“{name}” can't be imported: {error}."));
            return true;
        }
    };
    let mut files = Vec::new();
    for (path, bytes) in zipped.files {
        let file_name = path.rsplit('/').next().unwrap_or(&path).to_owned();
        // Files that are not pictures stay file cards with their paths.
        if let Ok(image) = crate::images::from_bytes(bytes, file_name).await {
            files.push((path, image));
        }
    }
    with(|e| e.import_canvas_with(zipped.canvas, files, &name, at));
    true
}

/// A zip's entries, unpacked by the file worker.
async fn unzip(bytes: &[u8]) -> Result<Vec<board_archive::Entry>, String> {
    crate::file_worker::unzip(bytes).await
}

/// A backup: merged into the open board when it is that board, else kept
/// until its board opens (created from the backup where this home lacks it).
async fn restore_backup(name: &str, bytes: &[u8]) {
    // The board read here only checks the backup; its changes are merged
    // into the board as it opens, under that board's own replica id.
    let replica = super::fresh_replica(&crate::platform::use_platform());
    let read = unzip(bytes).await;
    let backup = match read
        .and_then(|entries| board_archive::backup::from_entries(entries, replica).map_err(|e| e.to_string()))
    {
        Ok(backup) => backup,
        Err(error) => {
            notify::error(&format!("“{name}” can't be restored: {error}."));
            return;
        }
    };
    let open_here = with(|e| e.link.board == backup.link.board).unwrap_or(false);
    if open_here {
        with(|e| e.merge_backup(&backup));
        return;
    }
    let fragment = backup.link.fragment();
    PENDING.with(|pending| *pending.borrow_mut() = Some(Pending::Backup(Box::new(backup))));
    crate::dom::set_hash(&fragment);
}

/// Once a board opened: the file waiting for it, brought in.
pub(super) async fn bring_pending(board: uuid::Uuid) {
    match take_pending(board) {
        Some(Pending::Backup(backup)) => {
            with(|e| e.merge_backup(&backup));
        }
        Some(Pending::Canvas { bytes, name, .. }) => {
            let at = with(|e| e.view_center()).unwrap_or(Point { x: 0.0, y: 0.0 });
            import_board_file(name, bytes, at).await;
            // A new board starts with what came in: nothing to undo.
            with(|e| {
                e.board.clear_undo();
                e.after_change();
            });
        }
        Some(Pending::Copy { bytes, .. }) => {
            with(|e| e.take_copy(&bytes));
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_titles_are_safe_and_never_empty() {
        assert_eq!(file_stem("Trip / Plans: 2027?"), "Trip - Plans- 2027-");
        assert_eq!(file_stem("   "), "Board");
        assert_eq!(file_stem("..."), "Board");
        assert_eq!(file_stem("a\u{0}b"), "a-b");
    }
}
