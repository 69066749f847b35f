//! A board as a picture. [`geometry`] is where edges run between cards and
//! [`palette`] the colours cards and lines are drawn in — the app draws
//! with both, so an export looks like the board. [`svg`] writes the whole
//! board or a selection as one self-contained SVG (images inside as data
//! URLs, no script, no external reference); with the `png` feature,
//! [`png`] renders that SVG with resvg and an embedded font, so the CLI,
//! the browser and the desktop app produce the same pixels.

pub mod geometry;
pub mod palette;
#[cfg(feature = "png")]
pub mod png;
pub mod svg;
mod text;

pub use svg::{Picture, svg};
