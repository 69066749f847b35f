//! The home screen: the boards kept in this browser (newest first), a new
//! board, and opening a board from a share link.

use board_key::BoardKey;
use board_key::link::ShareLink;
use board_model::{Board, BoardId};
use leptos::prelude::*;

use crate::notify;
use crate::platform;
use crate::storage::{self, BoardEntry};

/// Creates a board in IndexedDB and returns its link.
pub async fn create_board(title: &str) -> Result<ShareLink, String> {
    if crate::desktop::active() {
        let fragment = crate::desktop::create_board(title).await?;
        return ShareLink::parse(&format!("corkboard://board#{fragment}")).map_err(|e| e.to_string());
    }
    let link = ShareLink {
        board: uuid::Builder::from_random_bytes(platform::random_bytes()).into_uuid(),
        key: BoardKey(platform::random_bytes()),
    };
    let board =
        Board::create(BoardId(link.board), title, platform::fresh_replica()).map_err(|e| e.to_string())?;
    let id = link.board.hyphenated().to_string();
    storage::compact(&id, &board.save(), 0).await.map_err(|e| e.to_string())?;
    let now = platform::now_ms();
    let fragment = fragment_of(&link);
    let key = fragment.split("key=").nth(1).unwrap_or_default().to_owned();
    storage::put_board_entry(&BoardEntry {
        board: id,
        key,
        title: title.to_owned(),
        created_ms: now,
        last_opened_ms: now,
        card_count: 0,
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(link)
}

/// The `board=…&key=…` fragment of a link.
pub fn fragment_of(link: &ShareLink) -> String {
    link.to_web_link("").trim_start_matches("/#").to_owned()
}

fn entry_fragment(entry: &BoardEntry) -> String {
    format!("board={}&key={}", entry.board, entry.key)
}

#[component]
pub fn Home() -> impl IntoView {
    let boards = RwSignal::new(None::<Vec<BoardEntry>>);
    let reload = move || {
        leptos::task::spawn_local(async move {
            match storage::list_boards().await {
                Ok(list) => boards.set(Some(list)),
                Err(error) => {
                    notify::error(&error.to_string());
                    boards.set(Some(Vec::new()));
                }
            }
        });
    };
    reload();
    if let Some(document) = platform::document() {
        document.set_title("Corkboard");
    }
    crate::desktop::set_window_title("");

    let creating = RwSignal::new(false);
    let new_board = move |_| {
        if creating.get_untracked() {
            return;
        }
        creating.set(true);
        leptos::task::spawn_local(async move {
            match create_board("Untitled board").await {
                Ok(link) => platform::set_hash(&fragment_of(&link)),
                Err(error) => notify::error(&format!("Could not create a board: {error}")),
            }
            creating.set(false);
        });
    };

    let link_text = RwSignal::new(String::new());
    let open_link = move || {
        let text = link_text.get_untracked();
        match ShareLink::parse(&text) {
            Ok(link) => platform::set_hash(&fragment_of(&link)),
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
                    <p>{if crate::desktop::active() {
                        "Create a board, or open one someone shared with you. Boards live on this computer and sync directly with the people you share them with."
                    } else {
                        "Create a board, or open one someone shared with you. Boards live in this browser and sync directly with the people you share them with."
                    }}</p>
                </div>
            }
            .into_any();
        }
        view! {
            <ul class="board-list">
                {list
                    .into_iter()
                    .map(|entry| view! { <BoardRow entry=entry on_change=reload/> })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };

    view! {
        <div class="home">
            <header class="home-header">
                <div class="brand"><span class="brand-mark" aria-hidden="true"></span>"Corkboard"</div>
                <button class="button primary" data-testid="new-board" on:click=new_board disabled=move || creating.get()>
                    "+ New board"
                </button>
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
            </main>
        </div>
    }
}

#[component]
fn BoardRow(entry: BoardEntry, on_change: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let fragment = entry_fragment(&entry);
    let open = {
        let fragment = fragment.clone();
        move |_| platform::set_hash(&fragment)
    };
    let rename = {
        let entry = entry.clone();
        move |ev: leptos::ev::MouseEvent| {
            ev.stop_propagation();
            let Some(window) = platform::window() else { return };
            let Ok(Some(title)) = window.prompt_with_message_and_default("Rename board", &entry.title) else {
                return;
            };
            // The title lives in the board itself: open it to rename for everyone.
            let title = title.trim().to_owned();
            if title.is_empty() {
                return;
            }
            crate::board_view::set_pending_title(&entry.board, &title);
            platform::set_hash(&entry_fragment(&entry));
        }
    };
    let delete = {
        let entry = entry.clone();
        move |ev: leptos::ev::MouseEvent| {
            ev.stop_propagation();
            let Some(window) = platform::window() else { return };
            let question = format!(
                "Delete “{}” from this browser? People you shared it with keep their copies.",
                entry.title
            );
            if !window.confirm_with_message(&question).unwrap_or(false) {
                return;
            }
            let board = entry.board.clone();
            leptos::task::spawn_local(async move {
                if let Err(error) = storage::delete_board(&board).await {
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
                <div class="board-row-meta">{cards}" · opened "{platform::relative_time(entry.last_opened_ms)}</div>
            </div>
            <div class="board-row-actions">
                <button class="button ghost small" on:click=rename>"Rename"</button>
                <button class="button ghost small danger" data-testid="delete-board" on:click=delete>"Delete"</button>
            </div>
        </li>
    }
}
