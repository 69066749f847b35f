//! The app shell: the route (home, or a board named by the URL fragment),
//! and the toasts.

use board_key::link::ShareLink;
use leptos::prelude::*;

use crate::board_view::BoardPage;
use crate::home::Home;
use crate::notify;
use crate::platform;
use crate::view_model::Toasts;

#[component]
pub fn App() -> impl IntoView {
    let toasts = Toasts::new();
    notify::install(toasts);
    crate::net::start_ticker();
    crate::desktop::install();
    crate::net::leave_on_pagehide();
    let route = RwSignal::new(platform::hash());
    let handle = window_event_listener(leptos::ev::hashchange, move |_| route.set(platform::hash()));
    on_cleanup(move || handle.remove());

    let page = move || {
        let fragment = route.get();
        if fragment.trim().is_empty() {
            return view! { <Home/> }.into_any();
        }
        // The fragment alone (the page may be http://… or, in the desktop app, tauri://…).
        match ShareLink::parse(&format!("corkboard://board#{fragment}")) {
            Ok(link) => view! { <BoardPage link=link/> }.into_any(),
            Err(error) => {
                notify::error(&format!("That board link doesn't work: {error}."));
                view! { <Home/> }.into_any()
            }
        }
    };

    view! {
        {page}
        <div class="toasts" role="status" aria-live="polite">
            <For
                each=move || toasts.0.get()
                key=|(id, _)| *id
                children=move |(id, text)| {
                    let (kind, message) = text.split_at(1);
                    let class = if kind == "!" { "toast error" } else { "toast" };
                    let message = message.to_owned();
                    view! {
                        <div class=class data-testid="toast">
                            <span>{message}</span>
                            <button class="toast-close" aria-label="Dismiss" on:click=move |_| notify::dismiss(id)>"×"</button>
                        </div>
                    }
                }
            />
        </div>
    }
}
