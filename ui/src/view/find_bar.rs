//! Find on board (`Ctrl+F`): a bar over the board that searches note text,
//! link titles and addresses, image file names, group labels and edge
//! labels as the user types; Enter (or ↓) goes to the next match, Shift+Enter
//! (or ↑) to the previous one; each match is selected and the view pans and
//! zooms to it; Escape closes.

use leptos::html;
use leptos::prelude::*;

use super::gestures::Canvas;
use crate::engine;

/// Room left around a match shown, in screen pixels.
const PADDING: f64 = 120.0;

#[component]
pub fn FindBar(canvas: Canvas, open: RwSignal<bool>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    // The match shown, and how many there are.
    let at = RwSignal::new(0usize);
    let total = RwSignal::new(0usize);
    let input: NodeRef<html::Input> = NodeRef::new();
    let go = move |step: isize| {
        let found = engine::with(|e| e.find(&query.get_untracked())).unwrap_or_default();
        total.set(found.len());
        if found.is_empty() {
            at.set(0);
            return;
        }
        let next = (at.get_untracked() as isize + step).rem_euclid(found.len() as isize) as usize;
        at.set(next);
        let (what, rect) = found[next];
        engine::with(|e| e.show_found(what));
        canvas.zoom_to_rect(rect, PADDING);
    };
    Effect::new(move |_| {
        if open.get()
            && let Some(input) = input.get()
        {
            let _ = input.focus();
            input.select();
        }
    });
    let count = move || match (query.with(|q| q.trim().is_empty()), total.get()) {
        (true, _) => String::new(),
        (false, 0) => "No matches".to_owned(),
        (false, n) => format!("{} of {n}", at.get() + 1),
    };
    view! {
        <div class="find-bar" class:hidden=move || !open.get() data-testid="find" role="search">
            <input node_ref=input class="input find-input" type="search" placeholder="Find on board"
                aria-label="Find on board" data-testid="find-input"
                prop:value=move || query.get()
                on:input=move |ev| {
                    query.set(event_target_value(&ev));
                    at.set(0);
                    go(0);
                }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    match ev.key().as_str() {
                        "Enter" => go(if ev.shift_key() { -1 } else { 1 }),
                        "ArrowDown" => go(1),
                        "ArrowUp" => go(-1),
                        "Escape" => open.set(false),
                        _ => return,
                    }
                    ev.prevent_default();
                    ev.stop_propagation();
                }/>
            <span class="find-count" data-testid="find-count" aria-live="polite">{count}</span>
            <button class="tool icon" title="Previous match (Shift+Enter)" data-testid="find-previous"
                on:click=move |_| go(-1)>"↑"</button>
            <button class="tool icon" title="Next match (Enter)" data-testid="find-next"
                on:click=move |_| go(1)>"↓"</button>
            <button class="tool icon" title="Close (Esc)" data-testid="find-close"
                on:click=move |_| open.set(false)>"×"</button>
        </div>
    }
}
