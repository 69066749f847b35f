//! The page's side of the file worker (`ui/file-worker`): starts it for
//! one request — a PNG of the board's SVG, a zip of entries, the entries
//! of a zip, a board's history — and waits for its answer, so heavy file work never blocks
//! the board and its code is fetched only when someone needs it.

use board_archive::Entry;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// Where Trunk puts the worker's loader (workers keep unhashed names).
const LOADER: &str = "./corkboard-file-worker_loader.js";

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in pairs {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

fn field(value: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(value, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined())
}

fn bytes(value: Option<JsValue>) -> Option<Vec<u8>> {
    value.and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok()).map(|a| a.to_vec())
}

/// Sends `request` to a fresh worker once it listens; its answer, or the
/// error it gave.
async fn call(request: JsValue) -> Result<JsValue, String> {
    let worker = web_sys::Worker::new(LOADER).map_err(|e| format!("the file worker did not start: {e:?}"))?;
    let (tx, rx) = futures_channel::oneshot::channel::<Result<JsValue, String>>();
    let tx = std::rc::Rc::new(std::cell::RefCell::new(Some(tx)));
    let send = {
        let tx = tx.clone();
        move |result: Result<JsValue, String>| {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(result);
            }
        }
    };
    let answer = {
        let (worker, send) = (worker.clone(), send.clone());
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let data = event.data();
            // A message sent before the worker listens would be lost.
            if field(&data, "ready").is_some_and(|v| v.is_truthy()) {
                if let Err(error) = worker.post_message(&request) {
                    send(Err(format!("{error:?}")));
                }
                return;
            }
            match field(&data, "error").and_then(|e| e.as_string()) {
                Some(error) => send(Err(error)),
                None => send(Ok(data)),
            }
        })
    };
    let failed = Closure::<dyn FnMut(web_sys::Event)>::new(move |_event: web_sys::Event| {
        send(Err("the file worker failed to load or crashed".into()));
    });
    worker.set_onmessage(Some(answer.as_ref().unchecked_ref()));
    worker.set_onerror(Some(failed.as_ref().unchecked_ref()));
    let result = rx.await.unwrap_or_else(|_| Err("the file worker went away".into()));
    worker.terminate();
    drop((answer, failed));
    result
}

/// The PNG of `svg` (two pixels per board unit).
pub async fn png(svg: String) -> Result<Vec<u8>, String> {
    let answer = call(object(&[("op", "png".into()), ("svg", svg.into())])).await?;
    bytes(field(&answer, "png")).ok_or_else(|| "the file worker sent no PNG".into())
}

/// A zip of `entries`.
pub async fn zip(entries: Vec<Entry>) -> Result<Vec<u8>, String> {
    let (names, files) = (js_sys::Array::new(), js_sys::Array::new());
    for entry in entries {
        names.push(&entry.name.into());
        files.push(&js_sys::Uint8Array::from(entry.bytes.as_slice()));
    }
    let answer =
        call(object(&[("op", "zip".into()), ("names", names.into()), ("files", files.into())])).await?;
    bytes(field(&answer, "zip")).ok_or_else(|| "the file worker sent no zip".into())
}

thread_local! {
    /// The worker reading the open history view's board, kept while it
    /// makes the viewer's segments (see [`history`]).
    static HISTORY_WORKER: std::cell::RefCell<Option<HistoryWorker>> = const { std::cell::RefCell::new(None) };
}

struct HistoryWorker {
    worker: web_sys::Worker,
    _answer: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _failed: Closure<dyn FnMut(web_sys::Event)>,
}

/// Stops the history worker, if one runs (the history view closed).
pub fn stop_history() {
    if let Some(running) = HISTORY_WORKER.with(|w| w.borrow_mut().take()) {
        running.worker.terminate();
    }
}

/// The history and sessions of the board saved as `board` (a snapshot),
/// read in a worker. The worker then goes on making the history viewer's
/// segments: `segment` gets each as it is made, `ended` what became of
/// them (done, or the error that stopped it) unless [`stop_history`]
/// stopped it first.
pub async fn history(
    board: &[u8],
    segment: impl Fn(usize, Vec<u8>) + 'static,
    ended: impl Fn(Result<(), String>) + 'static,
) -> Result<board_model::Reading, String> {
    stop_history();
    let worker = web_sys::Worker::new(LOADER).map_err(|e| format!("the file worker did not start: {e:?}"))?;
    let request = object(&[("op", "history".into()), ("board", js_sys::Uint8Array::from(board).into())]);
    let (tx, rx) = futures_channel::oneshot::channel::<Result<board_model::Reading, String>>();
    let tx = std::rc::Rc::new(std::cell::RefCell::new(Some(tx)));
    let ended = std::rc::Rc::new(ended);
    // The history goes to the caller; after it, what ends the worker goes to `ended`.
    let finish = {
        let (tx, ended, worker) = (tx.clone(), ended.clone(), worker.clone());
        move |outcome: Result<(), String>| {
            worker.terminate();
            match tx.borrow_mut().take() {
                Some(tx) => {
                    let _ = tx
                        .send(Err(outcome.err().unwrap_or_else(|| "the file worker sent no history".into())));
                }
                None => ended(outcome),
            }
        }
    };
    let answer = {
        let (worker, tx, finish) = (worker.clone(), tx.clone(), finish.clone());
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let data = event.data();
            if field(&data, "ready").is_some_and(|v| v.is_truthy()) {
                if let Err(error) = worker.post_message(&request) {
                    finish(Err(format!("{error:?}")));
                }
            } else if let Some(snapshot) = bytes(field(&data, "segment")) {
                let index = field(&data, "index").and_then(|i| i.as_f64()).unwrap_or(f64::NAN);
                if index >= 0.0 {
                    segment(index as usize, snapshot);
                }
            } else if let Some(reading) = bytes(field(&data, "history")) {
                if let Some(tx) = tx.borrow_mut().take() {
                    let _ = tx.send(board_model::Reading::decode(&reading).map_err(|e| e.to_string()));
                }
            } else {
                finish(field(&data, "error").and_then(|e| e.as_string()).map_or(Ok(()), Err));
            }
        })
    };
    let failed = Closure::<dyn FnMut(web_sys::Event)>::new(move |_event: web_sys::Event| {
        finish(Err("the file worker failed to load or crashed".into()));
    });
    worker.set_onmessage(Some(answer.as_ref().unchecked_ref()));
    worker.set_onerror(Some(failed.as_ref().unchecked_ref()));
    HISTORY_WORKER
        .with(|w| *w.borrow_mut() = Some(HistoryWorker { worker, _answer: answer, _failed: failed }));
    rx.await.unwrap_or_else(|_| Err("the file worker went away".into()))
}

/// The entries of `zip`, read with bounds.
pub async fn unzip(zip: &[u8]) -> Result<Vec<Entry>, String> {
    let request = object(&[("op", "unzip".into()), ("zip", js_sys::Uint8Array::from(zip).into())]);
    let answer = call(request).await?;
    let names = js_sys::Array::from(&field(&answer, "names").unwrap_or_default());
    let files = js_sys::Array::from(&field(&answer, "files").unwrap_or_default());
    names
        .iter()
        .zip(files.iter())
        .map(|(name, file)| {
            Ok(Entry {
                name: name.as_string().ok_or("an entry without a name")?,
                bytes: bytes(Some(file)).ok_or("an entry without bytes")?,
            })
        })
        .collect()
}
