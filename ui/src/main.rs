//! Corkboard's web app: a Leptos client-side app built with Trunk. The
//! modules split as the rest of the product does: `engine` drives the pure
//! board model, `view_model` holds what the view draws, `board_view`,
//! `card_view` and `home` draw it, and `net` and `storage` are the
//! browser's platform layer (WebRTC and IndexedDB).

mod app;
mod board_view;
mod card_view;
mod desktop;
mod engine;
mod home;
mod images;
mod net;
mod notify;
mod platform;
mod profile;
mod settings;
mod storage;
mod view_model;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
