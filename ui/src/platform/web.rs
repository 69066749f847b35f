//! What both web-based homes (a browser tab and the desktop's webview)
//! share: the JavaScript clock and Web Crypto randomness, and object URLs
//! for images.

use crate::dom;
use crate::platform::Clock;

/// `Date.now()` and `crypto.getRandomValues`.
#[derive(Debug, Default)]
pub struct WebClock;

impl Clock for WebClock {
    fn now_ms(&self) -> u64 {
        dom::now_ms()
    }

    fn fill_random(&self, buffer: &mut [u8]) {
        let crypto = web_sys::window().and_then(|w| w.crypto().ok());
        let filled = crypto.is_some_and(|c| c.get_random_values_with_u8_array(buffer).is_ok());
        if !filled {
            // No Web Crypto (never the case in a supported browser): fall back to
            // Math.random, which is still unique enough for ids but not for keys.
            for byte in buffer.iter_mut() {
                *byte = (js_sys::Math::random() * 256.0) as u8;
            }
        }
    }
}

/// An object URL for bytes of a media type.
pub fn object_url(bytes: &[u8], media_type: &str) -> Option<String> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(media_type);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

pub fn revoke_object_url(url: &str) {
    let _ = web_sys::Url::revoke_object_url(url);
}

/// Hands bytes to the browser as a download named `name`.
pub fn download(name: &str, media_type: &str, bytes: &[u8]) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let url = object_url(bytes, media_type).ok_or("the browser could not hold the file")?;
    let document = dom::document().ok_or("no document")?;
    let anchor: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(|e| format!("{e:?}"))?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.set_attribute("data-testid", "download").ok();
    anchor.click();
    // The download has its bytes once it started; the URL may go later.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || revoke_object_url(&url));
    if let Some(window) = dom::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    }
    Ok(())
}
