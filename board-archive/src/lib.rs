//! Boards in zip files. [`backup`] is the `.corkboard` file: a board's
//! whole history and its images, restored on a device with no network or
//! merged into the copy it already has. [`canvas_zip`] is a JSON Canvas
//! folder (`board.canvas` and its images) as one zip, as the app downloads
//! it and as people send canvases around. Both formats are lists of
//! [`Entry`]s; with the `zip` feature, `zip_entries` reads any zip with
//! bounds (a zip is untrusted, and its sizes may lie) and `write_zip`
//! writes one.

pub mod backup;
pub mod canvas_zip;
mod entries;

pub use entries::{Entry, MAX_ENTRIES, MAX_TOTAL_BYTES};
#[cfg(feature = "zip")]
pub use entries::{read as zip_entries, write as write_zip};

/// What is wrong with an archive.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not a zip file: {0}")]
    NotZip(String),
    #[error("the zip has more than {max} entries")]
    TooManyEntries { max: usize },
    #[error("the zip unpacks to more than {max} bytes")]
    TooBig { max: u64 },
    #[error("cannot read {name} in the zip: {reason}")]
    Entry { name: String, reason: String },
    #[error("this is not a Corkboard backup: {0}")]
    NotBackup(String),
    #[error("the backup's history cannot be read: {0}")]
    History(String),
    #[error("the backup says it is board {said}, but its history is of another board")]
    WrongBoard { said: String },
    #[error("the zip holds no .canvas file")]
    NoCanvas,
    #[error("could not write the zip: {0}")]
    Write(String),
}
