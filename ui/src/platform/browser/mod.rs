//! The browser home: a tab talking to peers itself (signaling WebSocket and
//! `RTCPeerConnection`s) and keeping boards in IndexedDB.

mod indexeddb;
mod network;
mod offline;
mod shell;
mod signaling;
mod webrtc;

use std::cell::RefCell;
use std::rc::Rc;

pub use indexeddb::IndexedDb;

use crate::platform::web::WebClock;
use crate::platform::{Clock, Platform};

/// The browser home, with the STUN/TURN servers saved in this browser.
pub fn platform() -> Platform {
    offline::start();
    let clock: Rc<dyn Clock> = Rc::new(WebClock);
    let storage = Rc::new(IndexedDb::new(Rc::clone(&clock)));
    let ice = Rc::new(RefCell::new(crate::settings::ice_servers()));
    Platform {
        clock,
        library: storage.clone(),
        store: Some(storage),
        network: Rc::new(network::BrowserNetwork {
            ice,
            relay_only: Rc::new(std::cell::Cell::new(crate::settings::relay_only())),
        }),
        shell: Rc::new(shell::BrowserShell),
    }
}
