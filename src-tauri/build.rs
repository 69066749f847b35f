//! Tauri's build step: reads `tauri.conf.json` and the capabilities, embeds
//! the icon and the web app's `ui/dist`.

fn main() {
    tauri_build::build();
}
