//! A browser tab as the app's shell: the document's title, the page's
//! origin for share links, object URLs for images, and the page going away
//! (so peers see this person leave at once rather than when their
//! connection times out) or coming back from the back/forward cache.

use async_trait::async_trait;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::dom;
use crate::platform::{Shell, ShellEvent, ShellSink, StorageUse, web};

#[derive(Debug, Default)]
pub struct BrowserShell;

#[async_trait(?Send)]
impl Shell for BrowserShell {
    fn install(&self, sink: ShellSink) {
        let Some(window) = dom::window() else { return };
        let hide: Closure<dyn FnMut(web_sys::Event)> = Closure::new({
            let sink = sink.clone();
            move |_| sink(ShellEvent::PageHidden)
        });
        let show: Closure<dyn FnMut(web_sys::Event)> = Closure::new(move |event: web_sys::Event| {
            let restored = js_sys::Reflect::get(&event, &JsValue::from_str("persisted"))
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if restored {
                sink(ShellEvent::PageShown);
            }
        });
        let _ = window.add_event_listener_with_callback("pagehide", hide.as_ref().unchecked_ref());
        let _ = window.add_event_listener_with_callback("pageshow", show.as_ref().unchecked_ref());
        hide.forget();
        show.forget();
    }

    fn set_title(&self, board_title: Option<&str>) {
        if let Some(document) = dom::document() {
            match board_title {
                Some(title) => document.set_title(&format!("{title} — Corkboard")),
                None => document.set_title("Corkboard"),
            }
        }
    }

    async fn web_origin(&self) -> String {
        dom::origin()
    }

    fn image_url(&self, bytes: &[u8], media_type: &str) -> Option<String> {
        web::object_url(bytes, media_type)
    }

    fn release_image_url(&self, url: &str) {
        web::revoke_object_url(url);
    }

    fn where_boards_live(&self) -> &'static str {
        "in this browser"
    }

    async fn storage_use(&self) -> Option<StorageUse> {
        super::offline::storage_use().await
    }

    async fn save_file(
        &self,
        name: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<String>, String> {
        web::download(name, media_type, &bytes)?;
        Ok(Some(format!("{name} (in your downloads)")))
    }
}
