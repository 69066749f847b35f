//! The Tauri shell around the desktop page: the window title, the native
//! menu's items, links the OS hands to the running app, images chosen in
//! the native import dialog, and the signaling server's web address (share
//! links for browsers point there).

use async_trait::async_trait;
use desktop_wire::{MenuItem, command, event};
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;

use super::ipc;
use crate::dom;
use crate::platform::{Shell, ShellEvent, ShellSink, web};

#[derive(Debug, Default)]
pub struct DesktopShell;

#[async_trait(?Send)]
impl Shell for DesktopShell {
    fn install(&self, sink: ShellSink) {
        ipc::listen(event::MENU, {
            let sink = sink.clone();
            move |payload| {
                let item = payload.as_string().and_then(|id| MenuItem::from_id(&id));
                if let Some(item) = item {
                    sink(ShellEvent::Menu(item));
                }
            }
        });
        ipc::listen(event::OPEN_LINK, {
            let sink = sink.clone();
            move |payload| {
                if let Some(fragment) = payload.as_string() {
                    sink(ShellEvent::OpenLink(fragment));
                }
            }
        });
        ipc::listen(event::IMPORT_FILE, {
            let sink = sink.clone();
            move |payload| {
                let Some(path) = payload.as_string() else { return };
                let sink = sink.clone();
                leptos::task::spawn_local(async move {
                    let arguments = ipc::to_js(&desktop_wire::ReadImportFile { path: path.clone() });
                    match ipc::invoke(command::READ_IMPORT_FILE, &arguments).await {
                        Ok(value) => {
                            let name = path.rsplit(['/', '\\']).next().unwrap_or(&path).to_owned();
                            sink(ShellEvent::ImportFile { name, bytes: Uint8Array::new(&value).to_vec() });
                        }
                        Err(error) => sink(ShellEvent::Notice(format!("Could not read “{path}”: {error}"))),
                    }
                });
            }
        });
        leptos::task::spawn_local(async move {
            if let Ok(value) = ipc::invoke(command::TAKE_INITIAL_LINK, &JsValue::UNDEFINED).await
                && let Some(fragment) = value.as_string()
            {
                sink(ShellEvent::OpenLink(fragment));
            }
        });
    }

    fn set_title(&self, board_title: Option<&str>) {
        if let Some(document) = dom::document() {
            document.set_title(&match board_title {
                Some(title) => format!("{title} — Corkboard"),
                None => "Corkboard".to_owned(),
            });
        }
        // The shell adds " — Corkboard" itself.
        let title = board_title.unwrap_or_default().to_owned();
        ipc::fire(command::SET_TITLE, ipc::to_js(&desktop_wire::SetTitle { title }), |message| {
            crate::log::warn(&message)
        });
    }

    async fn web_origin(&self) -> String {
        match ipc::invoke(command::SIGNAL_URL, &JsValue::UNDEFINED).await {
            Ok(value) => {
                value.as_string().map(|url| url.trim_end_matches('/').to_owned()).unwrap_or_else(dom::origin)
            }
            Err(_) => dom::origin(),
        }
    }

    fn image_url(&self, bytes: &[u8], media_type: &str) -> Option<String> {
        web::object_url(bytes, media_type)
    }

    fn release_image_url(&self, url: &str) {
        web::revoke_object_url(url);
    }

    fn where_boards_live(&self) -> &'static str {
        "on this computer"
    }

    async fn save_file(
        &self,
        name: &str,
        _media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<String>, String> {
        // The shell asks where (its native dialog) and writes the file.
        let body: JsValue = Uint8Array::from(bytes.as_slice()).into();
        let headers = ipc::object(&[(desktop_wire::FILE_NAME_HEADER, JsValue::from_str(&encode_name(name)))]);
        let options = ipc::object(&[("headers", headers)]);
        let saved = ipc::invoke_with(command::SAVE_FILE, &body, &options).await?;
        Ok(saved.as_string())
    }
}

/// A file name as a header value can carry it (percent-encoded UTF-8).
fn encode_name(name: &str) -> String {
    let mut out = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b" .-_()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
