//! Keeps the app's webview on the app: a link on a board, a dropped file or
//! a script can never navigate the window to another page, which would run
//! with the app's IPC. Only the embedded app's own URLs load.

use tauri::Url;
use tauri::plugin::{Builder, TauriPlugin};

/// Whether `url` is the embedded web app (`tauri://localhost` on Linux and
/// macOS, `http(s)://tauri.localhost` on Windows and Android).
pub fn is_app_url(url: &Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

/// The plugin that refuses every other navigation.
pub fn guard<R: tauri::Runtime>() -> TauriPlugin<R> {
    Builder::new("navigation-guard")
        .on_navigation(|_, url| {
            let allowed = is_app_url(url);
            if !allowed {
                tracing::warn!(%url, "refused a navigation away from the app");
            }
            allowed
        })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_app_itself_loads_in_its_window() {
        let url = |text: &str| Url::parse(text).expect("url");
        assert!(is_app_url(&url("tauri://localhost/")));
        assert!(is_app_url(&url("tauri://localhost/#board=1&key=2")));
        assert!(is_app_url(&url("http://tauri.localhost/index.html")));
        for other in [
            "https://example.com/",
            "http://localhost:8080/",
            "blob:tauri://localhost/1234",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "tauri://evil/",
            "javascript:alert(1)",
        ] {
            assert!(!is_app_url(&url(other)), "{other}");
        }
    }
}
