//! What the app holds while it runs: the embedded node, the link given on
//! the command line, the open boards' local links and the files the user
//! chose in a native dialog (the only files the webview may read).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use peer::node::NodeHandle;
use tokio::sync::mpsc;

/// Tauri-managed state.
#[derive(Debug)]
pub struct Desktop {
    pub node: NodeHandle,
    /// A share link (fragment form) the app was started with, until the UI takes it.
    pub initial_link: Mutex<InitialLink>,
    /// Where to put frames from the UI, per open board.
    pub links: Mutex<HashMap<uuid::Uuid, mpsc::UnboundedSender<Vec<u8>>>>,
    /// Files picked in the import dialog.
    pub granted_files: Mutex<HashSet<PathBuf>>,
}

impl Desktop {
    pub fn new(node: NodeHandle, initial_link: Option<String>) -> Desktop {
        Desktop {
            node,
            initial_link: Mutex::new(InitialLink { link: initial_link, taken: false }),
            links: Mutex::default(),
            granted_files: Mutex::default(),
        }
    }
}

/// The link to open first, handed to the web app once.
#[derive(Debug, Default)]
pub struct InitialLink {
    pub link: Option<String>,
    /// The web app asked already: later links go to it as events.
    pub taken: bool,
}

impl InitialLink {
    pub fn take(&mut self) -> Option<String> {
        self.taken = true;
        self.link.take()
    }
}

/// Locks a mutex; a panic elsewhere while holding it leaves plain data
/// that is still usable.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
