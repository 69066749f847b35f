//! The store contract (`platform::store_contract`), run against IndexedDB
//! in a real browser: headless Chromium through chromedriver, by
//! `wasm-bindgen-test-runner` (`./x test` sets it up; `webdriver.json`
//! beside this crate's manifest holds Chromium's flags).

#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use corkboard_ui::platform::browser::IndexedDb;
use corkboard_ui::platform::store_contract;
use corkboard_ui::platform::web::WebClock;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn indexeddb_keeps_the_store_contract() {
    // A database of its own, so the test never meets the app's boards.
    let name = format!("corkboard-contract-{}", js_sys::Date::now());
    let store = IndexedDb::named(&name, Rc::new(WebClock));
    if let Err(broken) = store_contract::run(&store).await {
        panic!("{broken}");
    }
}

#[wasm_bindgen_test]
async fn two_tabs_on_one_indexeddb_keep_the_store_contract() {
    // Two connections to one database, as two tabs have.
    let name = format!("corkboard-two-tabs-{}", js_sys::Date::now());
    let (first, second) =
        (IndexedDb::named(&name, Rc::new(WebClock)), IndexedDb::named(&name, Rc::new(WebClock)));
    if let Err(broken) = store_contract::run_two_writers(&first, &second).await {
        panic!("{broken}");
    }
}
