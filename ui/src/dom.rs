//! DOM helpers for the views and the web-based homes: the window and
//! document, the URL fragment, localStorage, timers. The engine never uses
//! them (it reaches the world through `platform`).

use wasm_bindgen::JsCast;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

/// A high-resolution timestamp in milliseconds (for measuring, not for dates).
pub fn performance_now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

pub fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

pub fn document() -> Option<web_sys::Document> {
    window().and_then(|w| w.document())
}

/// The page's origin, such as `http://127.0.0.1:8787`.
pub fn origin() -> String {
    window().and_then(|w| w.location().origin().ok()).unwrap_or_default()
}

/// The page's URL fragment without the `#`.
pub fn hash() -> String {
    let hash = window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    hash.trim_start_matches('#').to_owned()
}

/// Replaces the fragment (and adds a history entry) without reloading.
pub fn set_hash(fragment: &str) {
    if let Some(window) = window() {
        let target = if fragment.is_empty() { " ".to_owned() } else { format!("#{fragment}") };
        let url = if fragment.is_empty() {
            window.location().pathname().unwrap_or_else(|_| "/".into())
        } else {
            target
        };
        let _ = window
            .history()
            .and_then(|h| h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url)));
        // pushState fires no hashchange: tell the router ourselves.
        if let Ok(event) = web_sys::HashChangeEvent::new("hashchange") {
            let _ = window.dispatch_event(&event);
        }
    }
}

/// Whether keyboard focus is in a text field (where shortcuts must not fire).
pub fn focus_is_in_text_field() -> bool {
    let Some(active) = document().and_then(|d| d.active_element()) else { return false };
    active.dyn_ref::<web_sys::HtmlTextAreaElement>().is_some()
        || active.dyn_ref::<web_sys::HtmlInputElement>().is_some()
        || active.get_attribute("contenteditable").is_some_and(|v| v != "false")
}

/// Puts the string in localStorage (best effort).
pub fn store_local(key: &str, value: &str) {
    if let Some(storage) = window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(key, value);
    }
}

pub fn load_local(key: &str) -> Option<String> {
    window().and_then(|w| w.local_storage().ok().flatten()).and_then(|s| s.get_item(key).ok().flatten())
}

/// Whether the page records when remote presence arrives, for the
/// benchmarks (`localStorage["corkboard:trace"] = "1"` before it loads).
pub fn tracing() -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        thread_local! {
            static TRACING: bool = load_local("corkboard:trace").as_deref() == Some("1");
        }
        TRACING.with(|on| *on)
    }
    #[cfg(not(target_arch = "wasm32"))]
    false
}

/// Records `[ms since the epoch, value]` in the array `window[list]`
/// (while [`tracing`]): when remote presence reached the board state
/// (`__corkboardPresence`, the dragged card's x), when a frame went to a
/// data channel (`__corkboardSent`, its length), when a data channel's
/// message event began (`__corkboardReceived`).
pub fn trace(list: &str, value: f64) {
    #[cfg(target_arch = "wasm32")]
    if let Some(window) = window() {
        let key = wasm_bindgen::JsValue::from_str(list);
        let list = js_sys::Reflect::get(&window, &key).ok().filter(|v| v.is_object()).unwrap_or_else(|| {
            let list: wasm_bindgen::JsValue = js_sys::Array::new().into();
            let _ = js_sys::Reflect::set(&window, &key, &list);
            list
        });
        let at = window.performance().map_or(0.0, |p| p.time_origin() + p.now());
        let entry = js_sys::Array::of2(&at.into(), &value.into());
        if let Ok(list) = list.dyn_into::<js_sys::Array>() {
            list.push(&entry);
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (list, value);
}

/// Calls `f` after `ms` milliseconds.
pub fn set_timeout(ms: i32, f: impl FnOnce() + 'static) {
    let closure = wasm_bindgen::closure::Closure::once_into_js(f);
    if let Some(window) = window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(closure.unchecked_ref(), ms);
    }
}

/// Calls `f` every `ms` milliseconds for as long as the page lives.
pub fn set_interval(ms: i32, f: impl FnMut() + 'static) {
    let closure = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(f);
    if let Some(window) = window() {
        let _ = window
            .set_interval_with_callback_and_timeout_and_arguments_0(closure.as_ref().unchecked_ref(), ms);
    }
    closure.forget();
}

/// Formats a time as "just now", "5 min ago", "yesterday" or a date.
pub fn relative_time(then_ms: u64) -> String {
    let now = now_ms();
    let seconds = now.saturating_sub(then_ms) / 1000;
    match seconds {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        86_400..=172_799 => "yesterday".into(),
        _ => {
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
            local_format(then_ms as f64, &options)
        }
    }
}

/// A moment as this person reads dates: "7 Dec 2026, 09:10" in their
/// locale and time zone (`secs` since the Unix epoch).
pub fn local_date_time(secs: i64) -> String {
    local_moment(secs, true)
}

/// The time of day of a moment, as this person reads times: "09:40".
pub fn local_time(secs: i64) -> String {
    local_moment(secs, false)
}

fn local_moment(secs: i64, with_date: bool) -> String {
    let options = js_sys::Object::new();
    if with_date {
        let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    }
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    local_format(secs as f64 * 1000.0, &options)
}

/// A moment (`ms` since the epoch) written with Intl `options` in this
/// person's language, else the engine's default one, else as
/// "2026-11-30 09:00" in local time.
fn local_format(ms: f64, options: &js_sys::Object) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    // Called through Reflect.apply, so that a locale the engine refuses (a
    // system set to `LANG=C` makes WebKitGTK's language "C": a RangeError)
    // is an `Err` here, not an exception through the app.
    let format = js_sys::Reflect::get(&date, &"toLocaleString".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let language = window().and_then(|w| w.navigator().language()).map(wasm_bindgen::JsValue::from);
    for locales in language.into_iter().chain([wasm_bindgen::JsValue::UNDEFINED]) {
        let Some(format) = &format else { break };
        let args = js_sys::Array::of2(&locales, options);
        if let Ok(text) = js_sys::Reflect::apply(format, &date, &args)
            && let Some(text) = text.as_string()
        {
            return text;
        }
    }
    let time = format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    if js_sys::Reflect::has(options, &"dateStyle".into()).unwrap_or(false) {
        let day = format!("{}-{:02}-{:02}", date.get_full_year(), date.get_month() + 1, date.get_date());
        if js_sys::Reflect::has(options, &"timeStyle".into()).unwrap_or(false) {
            format!("{day} {time}")
        } else {
            day
        }
    } else {
        time
    }
}
