//! JSON Canvas 1.0 (jsoncanvas.org) in and out of a board. Pure: bytes of
//! JSON in, board operations out; board in, JSON out. Files beside a
//! canvas (images) are the caller's business: [`Canvas::image_paths`] says
//! which to read, [`import`] takes what was read, [`export`] says which
//! blob goes to which path.
//!
//! - Reading ([`Canvas::parse`]) is lenient, as real files are written:
//!   floats where the spec says integers, unknown keys (Obsidian's
//!   `styleAttributes`, other tools' `metadata`), edges before nodes,
//!   colours as numbers or `#rgb`; nodes and edges that cannot be used are
//!   skipped and counted, never an error for the whole file.
//! - Text nodes are notes (Markdown text), file nodes naming an image are
//!   image cards, other file nodes file cards, link nodes link cards, group
//!   nodes groups; edges keep sides, ends, colour and label; node order is
//!   the stacking order.
//! - What Corkboard does not use (a node's original id, unknown keys, a
//!   file node's subpath, a group's background, sizes smaller than a card
//!   may be) is kept with the card ([`board_model::Board::set_kept_fields`])
//!   and written back on export, so a canvas nobody edited comes back with
//!   the same content.

mod read;
mod write;

pub use read::{Canvas, Edge, Node, NodeKind};
pub use write::{Exported, export};

mod import;
pub use import::{ImageFile, Imported, import};

/// A canvas file could not be read at all.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a JSON Canvas: {0}")]
    NotCanvas(&'static str),
    #[error("the canvas is larger than a board may be: {0}")]
    TooLarge(String),
    #[error("the board refused the canvas: {0}")]
    Board(#[from] board_model::Error),
}

/// File extensions of images Corkboard shows (by their bytes; this only
/// decides which file nodes are worth reading as images).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "gif", "webp", "bmp"];

/// Whether a file node's path names an image Corkboard can show.
pub fn is_image_path(path: &str) -> bool {
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}
