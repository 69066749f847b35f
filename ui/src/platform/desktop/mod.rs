//! The desktop home: the page inside the Tauri shell, which has no WebRTC
//! (WebKitGTK lacks it) and keeps nothing itself. The embedded native node
//! owns storage and the network; the page reaches it over IPC with the same
//! peer protocol the browser speaks with remote peers.

mod ipc;
mod library;
mod link;
mod shell;

use std::cell::RefCell;
use std::rc::Rc;

use desktop_wire::event;

use crate::platform::web::WebClock;
use crate::platform::{NetEvent, Platform};

/// The desktop home, when the page runs inside the shell.
pub fn platform() -> Option<Platform> {
    ipc::tauri()?;
    let status = Rc::new(RefCell::new(None));
    let current = Rc::new(RefCell::new(None::<crate::platform::NetSink>));
    ipc::listen(event::STATUS, {
        let (status, current) = (Rc::clone(&status), Rc::clone(&current));
        move |payload| {
            if let Ok(now) = ipc::from_js::<desktop_wire::Status>(&payload) {
                *status.borrow_mut() = Some(now);
                let sink = current.borrow().clone();
                if let Some(sink) = sink {
                    sink(NetEvent::Status);
                }
            }
        }
    });
    Some(Platform {
        clock: Rc::new(WebClock),
        library: Rc::new(library::NodeLibrary),
        store: None,
        network: Rc::new(link::DesktopNetwork { status, current }),
        shell: Rc::new(shell::DesktopShell),
    })
}
