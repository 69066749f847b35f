//! Short messages for the user: errors and notices appear as toasts for a
//! few seconds. Every error a person should know about goes through here,
//! in plain words. This module only keeps the list; the app's toast view
//! dismisses each after [`SHOWN_MS`].

use std::cell::Cell;

use leptos::prelude::*;

use crate::view_model::Toasts;

/// How long a toast stays.
pub const SHOWN_MS: i32 = 7_000;

thread_local! {
    static TOASTS: Cell<Option<Toasts>> = const { Cell::new(None) };
    static NEXT: Cell<u64> = const { Cell::new(1) };
}

/// Makes `toasts` the place messages go.
pub fn install(toasts: Toasts) {
    TOASTS.with(|t| t.set(Some(toasts)));
}

fn push(kind: &str, message: &str) {
    let Some(toasts) = TOASTS.with(Cell::get) else { return };
    let id = NEXT.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    let text = format!("{kind}{message}");
    // The same message twice in a row is shown once.
    if toasts.0.with_untracked(|list| list.iter().any(|(_, t)| *t == text)) {
        return;
    }
    toasts.0.update(|list| {
        list.push((id, text));
        if list.len() > 4 {
            list.remove(0);
        }
    });
}

/// Tells the user something went wrong.
pub fn error(message: &str) {
    crate::log::warn(message);
    push("!", message);
}

/// Tells the user something they should know.
pub fn info(message: &str) {
    push("i", message);
}

pub fn dismiss(id: u64) {
    if let Some(toasts) = TOASTS.with(Cell::get) {
        toasts.0.update(|list| list.retain(|(i, _)| *i != id));
    }
}
