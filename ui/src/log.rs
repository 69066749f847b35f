//! Diagnostics for developers: the browser's console in a page, standard
//! error on the host (tests). Users hear of problems through `notify`.

/// A warning in the console.
pub fn warn(message: &str) {
    #[cfg(target_arch = "wasm32")]
    web_sys::console::warn_1(&format!("corkboard: {message}").into());
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("corkboard: warning: {message}");
}

/// A note in the console.
pub fn info(message: &str) {
    #[cfg(target_arch = "wasm32")]
    web_sys::console::info_1(&format!("corkboard: {message}").into());
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("corkboard: {message}");
}
