//! WebKitGTK's DMA-BUF renderer draws nothing where the machine has no GPU
//! render node (virtual machines, remote desktops, Xvfb): the window stays
//! blank although the app runs. There the app starts itself again, once,
//! with that renderer off (WebKit then draws in software); the user's own
//! `WEBKIT_DISABLE_DMABUF_RENDERER` always wins. Not under a WebDriver
//! (`TAURI_WEBVIEW_AUTOMATION`): a restart loses the automation session,
//! and automated WebKit draws without that renderer anyway.

/// The variable WebKitGTK reads.
const VAR: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";

/// Call first thing in `main`: returns only if no restart was needed (or it
/// could not be done).
pub fn restart_without_dmabuf_if_no_gpu() {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let automated = std::env::var_os("TAURI_WEBVIEW_AUTOMATION").is_some();
        if automated || std::env::var_os(VAR).is_some() || has_render_node() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else { return };
        // `exec` only returns on failure; the app then starts as it is.
        let error = std::process::Command::new(exe).args(std::env::args_os().skip(1)).env(VAR, "1").exec();
        eprintln!("corkboard-desktop: could not restart with WebKit's DMA-BUF renderer off: {error}");
    }
}

#[cfg(target_os = "linux")]
fn has_render_node() -> bool {
    std::fs::read_dir("/dev/dri")
        .map(|entries| {
            entries.flatten().any(|entry| entry.file_name().to_string_lossy().starts_with("renderD"))
        })
        .unwrap_or(false)
}
