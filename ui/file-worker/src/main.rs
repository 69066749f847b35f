//! The file worker: a web worker for the heavy, rarely used file work of
//! the web app, in its own wasm fetched only when someone exports or
//! imports a file, so resvg, its font and the zip code stay out of the
//! app's payload. Once it listens it says `{ ready: true }`; then it takes
//! one request and answers it:
//!
//! - `{ op: "png", svg }` → `{ png: Uint8Array }`: the board's SVG rendered
//!   by `board_picture::png`, the same renderer and embedded font the CLI
//!   and the desktop use, so every home makes the same picture;
//! - `{ op: "zip", names: [..], files: [Uint8Array..] }` → `{ zip }`;
//! - `{ op: "unzip", zip: Uint8Array }` → `{ names, files }`, read with
//!   `board_archive`'s bounds (entry count, unpacked size, safe names);
//! - `{ op: "history", board: Uint8Array }` → `{ history: Uint8Array }`:
//!   the board's changes and sessions of work (`board_model::Reading`),
//!   which take seconds on a board with a long past (Loro decodes all of
//!   it), so the history view opens without stopping the page; then the
//!   history viewer's segments (`board_model::Past`), each as it is made,
//!   `{ segment: Uint8Array, index }`, and last `{ done: true }`;
//!
//! or `{ error: string }`. Trunk builds it (`data-type="worker"` in
//! `ui/index.html`); the page starts it as `corkboard-file-worker_loader.js`.

#[cfg(target_arch = "wasm32")]
fn main() {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;

    console_error_panic_hook::set_once();
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply_to = scope.clone();
    let on_message: Closure<dyn FnMut(web_sys::MessageEvent)> =
        Closure::new(move |event: web_sys::MessageEvent| {
            let post = |answer: &JsValue| {
                let _ = reply_to.post_message(answer);
            };
            let answer = match answer(&event.data(), &post) {
                Ok(answer) => answer,
                Err(error) => object(&[("error", JsValue::from_str(&error))]),
            };
            post(&answer);
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // Listening now: the page sends its request when it hears this.
    let _ = scope.post_message(&object(&[("ready", JsValue::TRUE)]));
}

#[cfg(target_arch = "wasm32")]
fn object(pairs: &[(&str, wasm_bindgen::JsValue)]) -> wasm_bindgen::JsValue {
    let object = js_sys::Object::new();
    for (key, value) in pairs {
        let _ = js_sys::Reflect::set(&object, &(*key).into(), value);
    }
    object.into()
}

#[cfg(target_arch = "wasm32")]
fn answer(
    request: &wasm_bindgen::JsValue,
    post: &dyn Fn(&wasm_bindgen::JsValue),
) -> Result<wasm_bindgen::JsValue, String> {
    use wasm_bindgen::JsCast;
    let field = |key: &str| js_sys::Reflect::get(request, &key.into()).ok();
    let bytes = |value: Option<wasm_bindgen::JsValue>| {
        value.and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok()).map(|a| a.to_vec())
    };
    match field("op").and_then(|op| op.as_string()).as_deref() {
        Some("png") => {
            let svg = field("svg").and_then(|s| s.as_string()).ok_or("a PNG needs an SVG string")?;
            let png = board_picture::png::png(&svg, 2.0).map_err(|e| e.to_string())?;
            Ok(object(&[("png", js_sys::Uint8Array::from(png.as_slice()).into())]))
        }
        Some("zip") => {
            let names = js_sys::Array::from(&field("names").unwrap_or_default());
            let files = js_sys::Array::from(&field("files").unwrap_or_default());
            let mut entries = Vec::with_capacity(names.length() as usize);
            for (name, file) in names.iter().zip(files.iter()) {
                let name = name.as_string().ok_or("a zip entry's name must be a string")?;
                let bytes = bytes(Some(file)).ok_or("a zip entry's bytes must be a Uint8Array")?;
                entries.push(board_archive::Entry { name, bytes });
            }
            let zip = board_archive::write_zip(&entries).map_err(|e| e.to_string())?;
            Ok(object(&[("zip", js_sys::Uint8Array::from(zip.as_slice()).into())]))
        }
        Some("unzip") => {
            let zip = bytes(field("zip")).ok_or("unzip needs the zip as a Uint8Array")?;
            let entries = board_archive::zip_entries(&zip).map_err(|e| e.to_string())?;
            let (names, files) = (js_sys::Array::new(), js_sys::Array::new());
            for entry in entries {
                names.push(&entry.name.into());
                files.push(&js_sys::Uint8Array::from(entry.bytes.as_slice()));
            }
            Ok(object(&[("names", names.into()), ("files", files.into())]))
        }
        Some("history") => {
            let saved = bytes(field("board")).ok_or("history needs the board as a Uint8Array")?;
            let board = board_model::Board::load_headless(&saved, board_model::ReplicaId(0))
                .map_err(|e| e.to_string())?;
            let reading = board_model::Reading::of(&board);
            post(&object(&[("history", js_sys::Uint8Array::from(reading.encode().as_slice()).into())]));
            // The viewer's segments, made here as the page's viewer would
            // (its whole copy from the same bytes: the board is not copied).
            let mut past = board.past_from(&reading.history, &saved).map_err(|e| e.to_string())?;
            let mut made = 0;
            while past.preparing() {
                past.prepare(&board);
                while let Some(snapshot) = past.segment_snapshot(made) {
                    post(&object(&[
                        ("segment", js_sys::Uint8Array::from(snapshot).into()),
                        ("index", wasm_bindgen::JsValue::from(made as u32)),
                    ]));
                    made += 1;
                }
            }
            Ok(object(&[("done", wasm_bindgen::JsValue::TRUE)]))
        }
        _ => Err("the file worker does png, zip, unzip and history".into()),
    }
}

/// The worker only runs in a browser; on the host there is nothing to do.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
