//! Talking to the Tauri shell: commands (`core.invoke`), events
//! (`event.listen`) and channels, with arguments serialised from
//! `desktop_wire`'s types. `app.withGlobalTauri` exposes `window.__TAURI__`.

use js_sys::{Function, Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::dom;

/// The shell's API, inside the desktop app.
pub fn tauri() -> Option<JsValue> {
    let window = dom::window()?;
    let value = Reflect::get(&window, &JsValue::from_str("__TAURI__")).ok()?;
    (!value.is_undefined() && !value.is_null()).then_some(value)
}

pub fn path(value: &JsValue, names: &[&str]) -> Option<JsValue> {
    let mut current = value.clone();
    for name in names {
        current = Reflect::get(&current, &JsValue::from_str(name)).ok()?;
        if current.is_undefined() {
            return None;
        }
    }
    Some(current)
}

pub fn error_text(error: JsValue) -> String {
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}

/// Arguments for a command, from a contract type.
pub fn to_js(value: &impl Serialize) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// A command's result as a contract type.
pub fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue) -> Result<T, String> {
    let text = js_sys::JSON::stringify(value).map_err(error_text)?.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// An object of string keys to JS values.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// Calls a command of the shell; its result as JS.
pub async fn invoke(command: &str, args: &JsValue) -> Result<JsValue, String> {
    invoke_with(command, args, &JsValue::UNDEFINED).await
}

pub async fn invoke_with(command: &str, args: &JsValue, options: &JsValue) -> Result<JsValue, String> {
    let tauri = tauri().ok_or("not in the desktop app")?;
    let core = path(&tauri, &["core"]).ok_or("no Tauri core")?;
    let invoke: Function = path(&core, &["invoke"]).ok_or("no invoke")?.dyn_into().map_err(error_text)?;
    let promise: Promise = invoke
        .call3(&core, &JsValue::from_str(command), args, options)
        .map_err(error_text)?
        .dyn_into()
        .map_err(error_text)?;
    JsFuture::from(promise).await.map_err(error_text)
}

/// Runs a command without waiting; a failure is reported to `failed`.
pub fn fire(command: &'static str, arguments: JsValue, failed: impl FnOnce(String) + 'static) {
    leptos::task::spawn_local(async move {
        if let Err(error) = invoke(command, &arguments).await {
            failed(format!("The desktop app refused “{command}”: {error}"));
        }
    });
}

/// Listens to a shell event for as long as the page lives; `f` gets its payload.
pub fn listen(event: &str, f: impl FnMut(JsValue) + 'static) {
    let Some(tauri) = tauri() else { return };
    let Some(listen) = path(&tauri, &["event", "listen"]).and_then(|f| f.dyn_into::<Function>().ok()) else {
        return;
    };
    let mut f = f;
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        f(path(&event, &["payload"]).unwrap_or(JsValue::NULL));
    });
    let _ = listen.call2(&JsValue::NULL, &JsValue::from_str(event), handler.as_ref());
    handler.forget();
}

/// A new Tauri `Channel` whose messages go to `onmessage`.
pub fn channel(onmessage: &Closure<dyn FnMut(JsValue)>) -> Option<JsValue> {
    let class = tauri().and_then(|t| path(&t, &["core", "Channel"]))?.dyn_into::<Function>().ok()?;
    let channel = Reflect::construct(&class, &js_sys::Array::new()).ok()?;
    Reflect::set(&channel, &JsValue::from_str("onmessage"), onmessage.as_ref()).ok()?;
    Some(channel)
}
