//! Corkboard's end-to-end harness: the real processes (signaling server,
//! native peers, headless Chromium over WebDriver) and the vocabulary the
//! scenarios in `e2e/` are written in.
//!
//! - [`harness`] starts and stops processes;
//! - [`find`] holds every CSS selector of the web app's test contract;
//! - [`action`] clicks, types and drags like a user;
//! - [`desktop`] runs the desktop app under Xvfb through tauri-driver;
//! - [`check`] waits for a state with a generous deadline, so tests fail on
//!   states never reached, never on speed;
//! - [`rogue`] is a native peer that joins a board and speaks garbage.
//!
//! The browser tests need Debian's `chromium` and `chromium-driver` and fail
//! (saying to run `./x test`) without them.

pub mod action;
pub mod check;
pub mod desktop;
pub mod find;
pub mod harness;
pub mod netns;
pub mod rogue;
