//! The board page's title bar: the board's title (click to rename), who is
//! here, the connection status, the work-offline switch, and the share and
//! profile menus.

use board_key::link::ShareLink;
use leptos::prelude::*;

use super::file_menu::FileMenu;
use super::menus::{ProfileMenu, ShareMenu};
use crate::dom;
use crate::engine;
use crate::view_model::BoardSignals;

/// People shown as avatars in the top bar; the rest are counted.
const MAX_AVATARS: usize = 8;

/// An avatar's letters: the first letter or digit of the first two words
/// that have one ("Quiet Lynx" → "QL", "ana" → "A", "peer (home)" → "PH").
pub fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .collect();
    if letters.is_empty() { "?".into() } else { letters.to_uppercase() }
}

#[component]
pub fn TopBar(signals: BoardSignals, link: ShareLink) -> impl IntoView {
    let editing_title = RwSignal::new(false);
    let share_open = RwSignal::new(false);
    let profile_open = RwSignal::new(false);
    let file_open = RwSignal::new(false);
    let share_link = link.clone();
    let commit_title = move |value: String| {
        editing_title.set(false);
        let value = value.trim().to_owned();
        if !value.is_empty() && value != signals.title.get_untracked() {
            engine::with(|e| e.set_title(&value));
        }
    };
    let title_view = move || {
        if editing_title.get() {
            view! {
                <input class="title-input" data-testid="title-input" autofocus
                    prop:value=signals.title.get_untracked()
                    on:blur=move |ev| commit_title(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        ev.stop_propagation();
                        if ev.key() == "Enter" { commit_title(event_target_value(&ev)); }
                        if ev.key() == "Escape" { editing_title.set(false); }
                    }/>
            }
            .into_any()
        } else {
            view! {
                <button class="title" data-testid="title" title="Rename board" on:click=move |_| editing_title.set(true)>
                    {move || { let t = signals.title.get(); if t.is_empty() { "Untitled board".to_owned() } else { t } }}
                </button>
            }
            .into_any()
        }
    };
    let people = move || {
        let people = signals.people.get();
        let more = people.len().saturating_sub(MAX_AVATARS);
        let others: Vec<String> = people.iter().skip(MAX_AVATARS).map(|p| p.name.clone()).collect();
        let avatars = people
            .into_iter()
            .take(MAX_AVATARS)
            .map(|person| {
                let title = match (person.me, person.path) {
                    (true, _) => format!("{} (you)", person.name),
                    (false, Some(path)) => format!("{} — {}", person.name, match path {
                        board_room::Path::Direct => "connected directly",
                        board_room::Path::DirectThroughNat => "connected directly, through NAT",
                        board_room::Path::Relayed => "connected through a relay (TURN)",
                    }),
                    (false, None) => person.name.clone(),
                };
                let path = person.path.map(|path| match path {
                    board_room::Path::Direct => "direct",
                    board_room::Path::DirectThroughNat => "nat",
                    board_room::Path::Relayed => "relay",
                });
                let relayed = path == Some("relay");
                view! {
                    <span class="avatar" class:me=person.me class:relayed=relayed title=title data-testid="person"
                        data-path=path style={
                            let (background, ink) = crate::profile::badge_colours(&person.color);
                            format!("background:{background};color:{ink}")
                        }>
                        {initials(&person.name)}
                    </span>
                }
            })
            .collect_view();
        let rest = (more > 0)
            .then(|| view! { <span class="avatar more" title=others.join(", ")>{format!("+{more}")}</span> });
        view! { {avatars} {rest} }
    };
    let status_view = move || {
        let status = signals.status.get();
        view! {
            <span class=status.class() data-testid="status"><span class="dot"></span>{status.label()}
                {move || signals.receiving.get().then(|| view! { <span class="receiving">" · receiving the board…"</span> })}
            </span>
        }
    };
    view! {
        <header class="topbar">
            <a class="home-link" href="#" title="All boards" on:click=move |ev| { ev.prevent_default(); dom::set_hash(""); }>
                <span class="brand-mark" aria-hidden="true"></span>
            </a>
            {title_view}
            <div class="topbar-spacer"></div>
            <div class="people" data-testid="people">{people}</div>
            {status_view}
            <label class="switch" title="Work offline: close every connection until switched back">
                <input type="checkbox" data-testid="offline-switch"
                    prop:checked=move || signals.working_offline.get()
                    on:change=move |ev| { let offline = event_target_checked(&ev); engine::with(|e| e.set_offline(offline)); }/>
                <span>"Work offline"</span>
            </label>
            <div class="menu-anchor">
                <button class="button ghost small" data-testid="file" title="Export or import this board"
                    on:click=move |_| file_open.update(|o| *o = !*o)>"File"</button>
                {move || file_open.get().then(|| view! { <FileMenu open=file_open signals=signals/> })}
            </div>
            <div class="menu-anchor">
                <button class="button primary small" data-testid="share" on:click=move |_| share_open.update(|o| *o = !*o)>"Share"</button>
                {move || share_open.get().then(|| view! { <ShareMenu link=share_link.clone() open=share_open/> })}
            </div>
            <div class="menu-anchor">
                <button class="button ghost small" data-testid="profile" on:click=move |_| profile_open.update(|o| *o = !*o)>"Profile"</button>
                {move || profile_open.get().then(|| view! { <ProfileMenu open=profile_open/> })}
            </div>
        </header>
    }
}
