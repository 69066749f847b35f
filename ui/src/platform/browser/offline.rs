//! The web app without a network: registers the service worker that keeps
//! this build of the app (`ui/service-worker.js`), asks the browser to keep
//! this origin's storage (boards live in IndexedDB, which a browser may
//! otherwise evict when space runs low), says how much is stored, and tells
//! the person when a new build of the app is running.

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::dom;
use crate::notify;
use crate::platform::StorageUse;

/// Where this page remembers which build it last ran.
const LAST_BUILD: &str = "corkboard.build";

/// Registers the service worker and asks for persistent storage (pages
/// served over http or https only; the desktop app has neither need), and
/// says "updated" when this build differs from the one last run here.
pub fn start() {
    let Some(window) = dom::window() else { return };
    let protocol = window.location().protocol().unwrap_or_default();
    if protocol != "http:" && protocol != "https:" {
        return;
    }
    let navigator = window.navigator();
    if js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).unwrap_or(false) {
        let registering = navigator.service_worker().register("./service-worker.js");
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(error) = JsFuture::from(registering).await {
                crate::log::warn(&format!("the app will not open offline: {error:?}"));
            }
        });
    }
    if let Ok(persisting) = navigator.storage().persist() {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(persisting).await;
        });
    }
    if let Some(build) = this_build() {
        let last = dom::load_local(LAST_BUILD);
        dom::store_local(LAST_BUILD, &build);
        if last.is_some_and(|last| last != build) {
            // After the app has mounted (toasts are installed then).
            dom::set_timeout(0, || notify::info("Corkboard was updated to a new version."));
        }
    }
}

/// This build, named by its script's hashed file name.
fn this_build() -> Option<String> {
    let link = dom::document()?.query_selector(r#"link[rel="modulepreload"]"#).ok()??;
    let href = link.get_attribute("href")?;
    Some(href.rsplit('/').next().unwrap_or(&href).to_owned())
}

/// How much this origin stores and whether the browser keeps it for sure.
pub async fn storage_use() -> Option<StorageUse> {
    let storage = dom::window()?.navigator().storage();
    let estimate = JsFuture::from(storage.estimate().ok()?).await.ok()?;
    let used = js_sys::Reflect::get(&estimate, &JsValue::from_str("usage")).ok()?.as_f64()?;
    let persistent = match storage.persisted() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|v| v.as_bool()).unwrap_or(false),
        Err(_) => false,
    };
    Some(StorageUse { used_bytes: used as u64, persistent })
}
