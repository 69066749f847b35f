//! A label written in place (a group's name, an edge's label): an input
//! that appears focused with its text selected, keeps the text on Enter or
//! when it loses focus, leaves it on Escape, and keeps its keys and
//! pointer presses from the board's shortcuts and gestures.

use leptos::prelude::*;

#[component]
pub fn LabelInput(
    /// The text it starts with.
    value: String,
    class: &'static str,
    testid: &'static str,
    aria_label: &'static str,
    /// Called once with the trimmed text, only when it changed.
    on_keep: Callback<String>,
    /// Called once when editing ends (kept, left or unchanged).
    on_end: Callback<()>,
) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
            input.select();
        }
    });
    let done = StoredValue::new(false);
    let before = StoredValue::new(value.clone());
    let finish = move |kept: Option<String>| {
        if done.get_value() {
            return;
        }
        done.set_value(true);
        on_end.run(());
        if let Some(text) = kept.map(|text| text.trim().to_owned())
            && before.with_value(|before| *before != text)
        {
            on_keep.run(text);
        }
    };
    view! {
        <input node_ref=input class=class data-testid=testid maxlength="1000" aria-label=aria_label
            placeholder="Label" prop:value=value
            on:pointerdown=|ev| ev.stop_propagation()
            on:dblclick=|ev| ev.stop_propagation()
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                ev.stop_propagation();
                match ev.key().as_str() {
                    "Enter" => finish(Some(event_target_value(&ev))),
                    "Escape" => finish(None),
                    _ => {}
                }
            }
            on:blur=move |ev| finish(Some(event_target_value(&ev)))/>
    }
}
