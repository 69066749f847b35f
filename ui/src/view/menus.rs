//! The board page's menus and overlays: sharing, the profile (name, colour,
//! STUN/TURN servers) and the keyboard shortcuts.

use board_key::link::ShareLink;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::dom;
use crate::engine;
use crate::platform::use_platform;
use crate::profile::{self, Profile};
use crate::settings;
use crate::theme::Theme;

#[component]
pub fn ShareMenu(link: ShareLink, open: RwSignal<bool>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let web_link = RwSignal::new(link.to_web_link(&dom::origin()));
    let app_link = link.to_app_link();
    {
        let (link, shell) = (link.clone(), use_platform().shell);
        leptos::task::spawn_local(async move {
            let origin = shell.web_origin().await;
            web_link.set(link.to_web_link(&origin));
        });
    }
    let copy = move |_| {
        if let Some(window) = dom::window() {
            let _ = window.navigator().clipboard().write_text(&web_link.get_untracked());
            copied.set(true);
        }
    };
    let select_all = |ev: leptos::ev::FocusEvent| {
        if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
            input.select();
        }
    };
    view! {
        <div class="menu share-menu" on:pointerdown=|ev| ev.stop_propagation()>
            <div class="menu-title">"Share this board"</div>
            <p class="menu-text">"Anyone with this link can see and edit the board. The key after # never reaches the server."</p>
            <input class="input mono" readonly data-testid="share-link" prop:value=move || web_link.get() on:focus=select_all/>
            <label class="field">"For the desktop app"
                <input class="input mono" readonly data-testid="share-app-link" prop:value=app_link on:focus=select_all/>
            </label>
            <div class="menu-row">
                <button class="button primary small" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy link" }}</button>
                <button class="button ghost small" on:click=move |_| open.set(false)>"Close"</button>
            </div>
        </div>
    }
}

#[component]
pub fn ProfileMenu(open: RwSignal<bool>) -> impl IntoView {
    let current = Profile::load(&*use_platform().clock);
    let name = RwSignal::new(current.name.clone());
    let color = RwSignal::new(current.color.clone());
    let stored = settings::IceSettings::load();
    let ice = RwSignal::new(stored.urls);
    let turn_username = RwSignal::new(stored.turn_username);
    let turn_credential = RwSignal::new(stored.turn_credential);
    let relay_only = RwSignal::new(stored.relay_only);
    let theme = RwSignal::new(Theme::load());
    let save = move || {
        let profile = Profile::sanitised(&name.get_untracked(), &color.get_untracked());
        profile.save();
        let settings = settings::IceSettings {
            urls: ice.get_untracked(),
            turn_username: turn_username.get_untracked(),
            turn_credential: turn_credential.get_untracked(),
            relay_only: relay_only.get_untracked(),
        };
        let servers = settings.save();
        engine::with(|e| {
            e.set_ice_servers(&servers, settings.relay_only);
            e.set_profile(profile);
        });
        open.set(false);
    };
    view! {
        <div class="menu profile-menu" on:pointerdown=|ev| ev.stop_propagation()>
            <div class="menu-title">"You"</div>
            <label class="field">"Name"
                <input class="input" data-testid="profile-name" maxlength="64" prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| { ev.stop_propagation(); if ev.key() == "Enter" { save(); } }/>
            </label>
            <div class="field">"Colour"
                <div class="swatches">
                    {profile::PALETTE
                        .iter()
                        .map(|c| {
                            let c = (*c).to_owned();
                            let chosen = c.clone();
                            let value = c.clone();
                            view! {
                                <button class="swatch round" class:chosen=move || color.get() == chosen
                                    style=format!("background:{c}") on:click=move |_| color.set(value.clone())></button>
                            }
                        })
                        .collect_view()}
                </div>
            </div>
            <div class="field">"Appearance"
                <div class="segmented" role="radiogroup" aria-label="Appearance">
                    {Theme::ALL
                        .into_iter()
                        .map(|choice| view! {
                            <button class="segment" role="radio" data-testid=format!("theme-{}", choice.as_str())
                                aria-checked=move || (theme.get() == choice).to_string()
                                on:click=move |_| { choice.choose(); theme.set(choice); }>
                                {choice.label()}
                            </button>
                        })
                        .collect_view()}
                </div>
            </div>
            <label class="field">"STUN/TURN servers (one per line, optional)"
                <textarea class="input mono" rows="2" data-testid="profile-ice" placeholder="stun:stun.example.org:3478"
                    prop:value=move || ice.get() on:input=move |ev| ice.set(event_target_value(&ev))
                    on:keydown=|ev: leptos::ev::KeyboardEvent| ev.stop_propagation()></textarea>
            </label>
            <div class="field-pair">
                <label class="field">"TURN username"
                    <input class="input mono" data-testid="profile-turn-username" autocomplete="off" maxlength="512"
                        prop:value=move || turn_username.get() on:input=move |ev| turn_username.set(event_target_value(&ev))
                        on:keydown=|ev: leptos::ev::KeyboardEvent| ev.stop_propagation()/>
                </label>
                <label class="field">"TURN credential"
                    <input class="input mono" type="password" data-testid="profile-turn-credential" autocomplete="off" maxlength="512"
                        prop:value=move || turn_credential.get() on:input=move |ev| turn_credential.set(event_target_value(&ev))
                        on:keydown=|ev: leptos::ev::KeyboardEvent| ev.stop_propagation()/>
                </label>
            </div>
            <label class="check-field">
                <input type="checkbox" data-testid="profile-relay-only" prop:checked=move || relay_only.get()
                    on:change=move |ev| relay_only.set(event_target_checked(&ev))/>
                <span>"Relay only: connect through TURN servers, so peers never see your addresses"</span>
            </label>
            <div class="menu-row">
                <button class="button primary small" data-testid="profile-save" on:click=move |_| save()>"Save"</button>
                <button class="button ghost small" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </div>
    }
}

#[component]
pub fn HelpOverlay(help: RwSignal<bool>) -> impl IntoView {
    let rows: [(&str, &str); 24] = [
        ("Double-click empty space", "New note there"),
        ("N", "New note in the middle"),
        ("Double-click a note / Enter", "Edit its text"),
        ("Esc", "Stop editing, clear selection"),
        ("Drag a card", "Move it (and everything selected)"),
        ("Shift+click", "Add to or remove from the selection"),
        ("Shift+drag empty space", "Select with a marquee"),
        ("Ctrl+A", "Select all"),
        ("Delete / Backspace", "Delete the selection"),
        ("Arrows (Shift: ×10)", "Nudge the selection"),
        ("Ctrl+D", "Duplicate"),
        ("Drag from a card's side dot", "Draw an arrow to another card"),
        ("Click an arrow / double-click it", "Select it (Delete removes it) / label it"),
        ("Ctrl+G", "Group the selection (drag the group by its label)"),
        ("Ctrl+F (Enter, Shift+Enter)", "Find on board (next, previous)"),
        ("Ctrl+C / X / V", "Copy, cut, paste (cards, images, text, links)"),
        ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo your own changes"),
        ("1 – 6, 0", "Colour the selection, or clear it"),
        ("Drag empty space / wheel", "Pan"),
        ("Ctrl+wheel / pinch", "Zoom around the pointer"),
        ("Ctrl+= / Ctrl+- / Ctrl+0", "Zoom in, out, to 100%"),
        ("Shift+1", "Zoom to fit"),
        ("Drop or paste an image", "Add it as a card"),
        ("?", "Show or hide this help"),
    ];
    view! {
        <div class="overlay" data-testid="help-overlay" on:click=move |_| help.set(false)>
            <div class="help" on:click=|ev| ev.stop_propagation()>
                <div class="help-header">
                    <h2>"Keyboard shortcuts"</h2>
                    <button class="button ghost small" on:click=move |_| help.set(false)>"Close"</button>
                </div>
                <table class="help-table">
                    {rows.iter().map(|(keys, what)| view! { <tr><td class="keys">{*keys}</td><td>{*what}</td></tr> }).collect_view()}
                </table>
            </div>
        </div>
    }
}
