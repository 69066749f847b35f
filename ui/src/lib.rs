//! Corkboard's web app: a Leptos client-side app built with Trunk, run in a
//! browser tab or in the desktop shell. The modules split as the rest of the
//! product does: `engine` drives the pure board model and its room of peers,
//! `view_model` holds what the view draws, `view` draws it, and `platform`
//! is the one boundary to the home the page runs in (browser or desktop).

mod app;
mod dom;
pub mod engine;
mod file_worker;
mod images;
mod log;
mod markdown;
mod notify;
pub mod platform;
mod profile;
mod settings;
mod theme;
mod view;
pub mod view_model;

/// Starts the app in the page.
pub fn run() {
    console_error_panic_hook::set_once();
    theme::Theme::load().apply();
    leptos::mount::mount_to_body(app::App);
}
