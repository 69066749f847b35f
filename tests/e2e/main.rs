//! End-to-end scenarios, one module per file: the real signaling server
//! serving the built web app (`ui/dist`, or `$CORKBOARD_DIST`), native
//! peers and headless Chromiums driven over WebDriver.
//!
//! Needs the `corkboard-signaling` and `corkboard-peer` binaries (built by
//! `cargo test --workspace`), the built web app, and Debian's `chromium` and
//! `chromium-driver` (`./x test` installs them). Set `CORKBOARD_E2E_SHOTS`
//! to a directory to keep screenshots, including one per failed check.

mod a11y;
mod app_offline;
mod bad_input;
mod cluster;
mod desktop;
mod files;
mod history;
mod home;
mod images;
mod live;
mod map;
mod native;
mod networks;
mod offline;
mod package;
mod reload;
mod showcase;
mod support;
mod touch;
