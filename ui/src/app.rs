//! The app shell: picks the home once ([`platform::start`]), routes between
//! the home screen and a board named by the URL fragment, shows the toasts,
//! ticks the open board, and acts on what the shell around the page says
//! (menu items, links handed over, imported images, the page going away).

use board_key::link::ShareLink;
use desktop_wire::MenuItem;
use leptos::prelude::*;

use crate::dom;
use crate::engine::{self, ExportFormat};
use crate::images;
use crate::notify;
use crate::platform::{self, ShellEvent};
use crate::view::board_page::BoardPage;
use crate::view::file_menu;
use crate::view::home::Home;
use crate::view_model::Toasts;

/// How often the open board's timers run (session announcements, retries, presence expiry).
const TICK_MS: i32 = 200;

#[component]
pub fn App() -> impl IntoView {
    let platform = platform::start();
    platform::provide_platform(platform.clone());
    let toasts = Toasts::new();
    notify::install(toasts);
    dom::set_interval(TICK_MS, || {
        engine::with(engine::Engine::tick);
    });
    platform.shell.install(std::rc::Rc::new(on_shell_event));
    let route = RwSignal::new(dom::hash());
    let handle = window_event_listener(leptos::ev::hashchange, move |_| route.set(dom::hash()));
    on_cleanup(move || handle.remove());

    let page = move || {
        let fragment = route.get();
        if fragment.trim().is_empty() {
            return view! { <Home/> }.into_any();
        }
        // The fragment alone (the page may be http://… or, in the desktop app, tauri://…).
        match ShareLink::parse_fragment(&fragment) {
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
                    dom::set_timeout(notify::SHOWN_MS, move || notify::dismiss(id));
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

fn on_shell_event(event: ShellEvent) {
    match event {
        ShellEvent::Menu(MenuItem::NewBoard) => leptos::task::spawn_local(async {
            match platform::use_platform().library.create("Untitled board").await {
                Ok(link) => dom::set_hash(&link.fragment()),
                Err(error) => notify::error(&format!("Could not create a board: {error}")),
            }
        }),
        ShellEvent::Menu(MenuItem::ZoomIn) => press_key("=", true, false),
        ShellEvent::Menu(MenuItem::ZoomOut) => press_key("-", true, false),
        ShellEvent::Menu(MenuItem::ZoomFit) => press_key("!", false, true),
        ShellEvent::Menu(MenuItem::Help) => press_key("?", false, false),
        ShellEvent::Menu(MenuItem::Undo) => {
            engine::with(|e| e.undo());
        }
        ShellEvent::Menu(MenuItem::Redo) => {
            engine::with(|e| e.redo());
        }
        ShellEvent::OpenLink(text) => match ShareLink::parse_any(&text) {
            Ok(link) => dom::set_hash(&link.fragment()),
            Err(error) => notify::error(&format!("That board link doesn't work: {error}.")),
        },
        ShellEvent::Menu(MenuItem::ExportCanvas) => file_menu::export(ExportFormat::CanvasZip, false),
        ShellEvent::Menu(MenuItem::ExportSvg) => file_menu::export(ExportFormat::Svg, false),
        ShellEvent::Menu(MenuItem::ExportPng) => file_menu::export(ExportFormat::Png, false),
        ShellEvent::Menu(MenuItem::ExportBackup) => file_menu::export(ExportFormat::Backup, false),
        ShellEvent::ImportFile { name, bytes } => leptos::task::spawn_local(async move {
            let at = engine::with(|e| e.view_center());
            if let Some(at) = at
                && engine::import_board_file(name.clone(), bytes.clone(), at).await
            {
                return;
            }
            match images::from_bytes(bytes, name).await {
                Ok(image) => {
                    engine::with(|e| {
                        let at = e.view_center();
                        e.add_image(image, at)
                    });
                }
                Err(message) => notify::error(&message),
            }
        }),
        ShellEvent::PageHidden => {
            engine::with(engine::Engine::suspend);
        }
        ShellEvent::PageShown => {
            engine::with(engine::Engine::resume);
        }
        ShellEvent::Notice(message) => notify::error(&message),
    }
}

/// The menu's zoom and help items act as their shortcuts do.
fn press_key(key: &str, ctrl: bool, shift: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_ctrl_key(ctrl);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    if let (Some(window), Ok(event)) =
        (dom::window(), web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init))
    {
        let _ = window.dispatch_event(&event);
    }
}
