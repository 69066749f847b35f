//! The home screen: the boards kept in this browser (newest first), a new
//! board, and opening a board from a share link.

use board_key::link::ShareLink;
use desktop_wire::BoardEntry;
use leptos::prelude::*;

use crate::dom;
use crate::engine;
use crate::notify;
use crate::platform::use_platform;

/// The entry's board, if its link parts are sound.
fn entry_link(entry: &BoardEntry) -> Option<ShareLink> {
    ShareLink::from_parts(&entry.board, &entry.key).ok()
}

#[component]
pub fn Home() -> impl IntoView {
    let platform = use_platform();
    let boards = RwSignal::new(None::<Vec<BoardEntry>>);
    let reload = move || {
        let library = use_platform().library;
        leptos::task::spawn_local(async move {
            match library.list().await {
                Ok(list) => boards.set(Some(list)),
                Err(error) => {
                    notify::error(&error.to_string());
                    boards.set(Some(Vec::new()));
                }
            }
        });
    };
    reload();
    platform.shell.set_title(None);
    let where_boards_live = platform.shell.where_boards_live();
    let storage = LocalResource::new({
        let shell = platform.shell.clone();
        move || {
            let shell = shell.clone();
            async move { shell.storage_use().await }
        }
    });
    let storage_line = move || {
        let used = storage.get().flatten()?;
        let kept = if used.persistent {
            "kept: the browser will not clear it"
        } else {
            "the browser may clear it when space runs low (export a backup to be safe)"
        };
        Some(view! {
            <p class="storage-use" data-testid="storage-use" data-persistent=used.persistent.to_string()>
                {format!("{} stored {where_boards_live}; {kept}.", human_size(used.used_bytes))}
            </p>
        })
    };

    let creating = RwSignal::new(false);
    let new_board = move |_| {
        if creating.get_untracked() {
            return;
        }
        creating.set(true);
        let library = use_platform().library;
        leptos::task::spawn_local(async move {
            match library.create("Untitled board").await {
                Ok(link) => dom::set_hash(&link.fragment()),
                Err(error) => notify::error(&format!("Could not create a board: {error}")),
            }
            creating.set(false);
        });
    };

    // Import: a backup restores its board, a canvas becomes a new board.
    let import_input = NodeRef::<leptos::html::Input>::new();
    let on_import = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        input.set_value("");
        leptos::task::spawn_local(async move {
            let name = file.name();
            match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buffer) => {
                    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                    if engine::is_board_file(&name, &bytes) {
                        engine::import_board_file_as_new(name, bytes).await;
                    } else {
                        notify::error(&format!(
                            "“{name}” is not a board file (.canvas, a zip of one, or .corkboard)."
                        ));
                    }
                }
                Err(_) => notify::error(&format!("“{name}” could not be read.")),
            }
        });
    };

    let link_text = RwSignal::new(String::new());
    let open_link = move || {
        let text = link_text.get_untracked();
        match ShareLink::parse(&text) {
            Ok(link) => dom::set_hash(&link.fragment()),
            Err(error) => notify::error(&format!("That board link doesn't work: {error}.")),
        }
    };

    let list = move || {
        let Some(list) = boards.get() else {
            return view! { <p class="home-loading">"Loading your boards…"</p> }.into_any();
        };
        if list.is_empty() {
            return view! {
                <div class="home-empty">
                    <div class="home-empty-art" aria-hidden="true">
                        <span class="pin-note a"></span><span class="pin-note b"></span><span class="pin-note c"></span>
                    </div>
                    <h2>"No boards yet"</h2>
                    <p>{format!(
                        "Create a board, or open one someone shared with you. Boards live {where_boards_live} and sync directly with the people you share them with."
                    )}</p>
                </div>
            }
            .into_any();
        }
        view! {
            <ul class="board-list">
                {list
                    .into_iter()
                    .filter_map(|entry| Some((entry_link(&entry)?, entry)))
                    .map(|(link, entry)| view! { <BoardRow entry=entry link=link on_change=reload/> })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };

    view! {
        <div class="home">
            <header class="home-header">
                <div class="brand"><span class="brand-mark" aria-hidden="true"></span>"Corkboard"</div>
                <div class="home-actions">
                    <button class="button ghost" data-testid="home-import" title="Open a .corkboard backup, or a JSON Canvas as a new board"
                        on:click=move |_| { if let Some(input) = import_input.get_untracked() { input.click(); } }>
                        "Import…"
                    </button>
                    <input node_ref=import_input type="file" accept=".corkboard,.canvas,.zip" class="hidden"
                        data-testid="home-import-input" on:change=on_import/>
                    <button class="button primary" data-testid="new-board" on:click=new_board disabled=move || creating.get()>
                        "+ New board"
                    </button>
                </div>
            </header>
            <main class="home-main">
                <section class="open-link">
                    <form on:submit=move |ev| { ev.prevent_default(); open_link(); }>
                        <input
                            class="input"
                            data-testid="open-link-input"
                            type="text"
                            placeholder="Paste a board link to open it…"
                            prop:value=move || link_text.get()
                            on:input=move |ev| link_text.set(event_target_value(&ev))
                        />
                        <button class="button" type="submit" data-testid="open-link">"Open"</button>
                    </form>
                </section>
                <h1 class="home-title">"Your boards"</h1>
                {list}
                {storage_line}
            </main>
        </div>
    }
}

#[component]
fn BoardRow(
    entry: BoardEntry,
    link: ShareLink,
    on_change: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let fragment = link.fragment();
    let open = {
        let fragment = fragment.clone();
        move |_| dom::set_hash(&fragment)
    };
    let rename = {
        let entry = entry.clone();
        let fragment = fragment.clone();
        let board = link.board;
        move |ev: leptos::ev::MouseEvent| {
            ev.stop_propagation();
            let Some(window) = dom::window() else { return };
            let Ok(Some(title)) = window.prompt_with_message_and_default("Rename board", &entry.title) else {
                return;
            };
            // The title lives in the board itself: open it to rename for everyone.
            let title = title.trim().to_owned();
            if title.is_empty() {
                return;
            }
            super::board_page::set_pending_title(board, &title);
            dom::set_hash(&fragment);
        }
    };
    let delete = {
        let entry = entry.clone();
        let (board, library) = (link.board, use_platform().library);
        move |ev: leptos::ev::MouseEvent| {
            ev.stop_propagation();
            let Some(window) = dom::window() else { return };
            let question = format!(
                "Delete “{}” from this browser? People you shared it with keep their copies.",
                entry.title
            );
            if !window.confirm_with_message(&question).unwrap_or(false) {
                return;
            }
            let library = library.clone();
            leptos::task::spawn_local(async move {
                if let Err(error) = library.delete(board).await {
                    notify::error(&error.to_string());
                }
                on_change();
            });
        }
    };
    let title = if entry.title.trim().is_empty() { "Untitled board".to_owned() } else { entry.title.clone() };
    let cards = match entry.card_count {
        0 => "empty".to_owned(),
        1 => "1 card".to_owned(),
        n => format!("{n} cards"),
    };
    view! {
        <li class="board-row" data-testid="board-row" on:click=open>
            <div class="board-thumb" aria-hidden="true"></div>
            <div class="board-row-text">
                <div class="board-row-title">{title}</div>
                <div class="board-row-meta">{cards}" · opened "{dom::relative_time(entry.last_opened_ms)}</div>
            </div>
            <div class="board-row-actions">
                <button class="button ghost small" on:click=rename>"Rename"</button>
                <button class="button ghost small danger" data-testid="delete-board" on:click=delete>"Delete"</button>
            </div>
        </li>
    }
}

/// Bytes as people read them: "640 KB", "3.2 MB".
fn human_size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{} KB", bytes / 1_000),
        1_000_000..1_000_000_000 => format!("{:.1} MB", bytes as f64 / 1e6),
        _ => format!("{:.1} GB", bytes as f64 / 1e9),
    }
}
