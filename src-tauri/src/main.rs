//! `corkboard-desktop`: the web app (`ui/dist`) in a Tauri window over the
//! embedded native peer. The webview has no WebRTC of its own (WebKitGTK
//! lacks it): the UI syncs with the node over IPC using the peer protocol,
//! and the node does the rest (disk, signaling, WebRTC).
//!
//! - [`startup`]: data directory, signaling URL, the node, links, exit;
//! - [`commands`]: what the web app invokes;
//! - [`menu`]: the native menu;
//! - [`link`]: share links in their several forms;
//! - [`state`]: what the app holds while it runs.

mod commands;
mod link;
mod menu;
mod startup;
mod state;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(
                "warn,peer=info,corkboard_desktop=info,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_sctp=error,webrtc=error",
            )
        }))
        .with_writer(std::io::stderr)
        .init();
    let mut builder = tauri::Builder::default();
    // One app per user: a second start (the OS opening a corkboard:// link)
    // hands its arguments to the running app and exits. Test runs with their
    // own data directory may run side by side.
    if std::env::var_os("CORKBOARD_DATA_DIR").is_none() {
        builder = builder.plugin(tauri_plugin_single_instance::init(startup::another_instance));
    }
    let app = builder
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_deep_link::init())
        .menu(menu::build)
        .on_menu_event(menu::on_event)
        .setup(startup::setup)
        .invoke_handler(tauri::generate_handler![
            commands::list_boards,
            commands::create_board,
            commands::delete_board,
            commands::open_board,
            commands::send_frame,
            commands::close_board,
            commands::set_offline,
            commands::set_profile,
            commands::set_ice_servers,
            commands::status,
            commands::take_initial_link,
            commands::set_title,
            commands::read_image_file,
        ])
        .build(tauri::generate_context!());
    match app {
        Ok(app) => {
            app.run(startup::on_run_event);
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("corkboard-desktop: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
