//! The board page: the title bar, the infinite canvas with its cards and
//! others' cursors, and the toolbar. Gestures are `gestures`', keys and the
//! clipboard `keys`', the title bar `top_bar`'s.

use std::cell::RefCell;
use std::collections::HashMap;

use board_key::link::ShareLink;
use board_model::{CardId, Color, Kind};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::card_menu::CardMenu;
use super::card_view::CardElement;
use super::edges::{EdgeLabelsLayer, EdgesLayer};
use super::find_bar::FindBar;
use super::gestures::Canvas;
use super::history_panel::{HistoryBanner, HistoryPanel};
use super::keys::{add_files, ask_for_link, on_copy, on_key, paste_text};
use super::menus::HelpOverlay;
use super::swatches::PresetSwatches;
use super::top_bar::TopBar;
use crate::dom;
use crate::engine;
use crate::platform::use_platform;
use crate::profile::Profile;
use crate::view_model::{BACKGROUNDS, BoardSignals};

thread_local! {
    static PENDING_TITLES: RefCell<HashMap<uuid::Uuid, String>> = RefCell::new(HashMap::new());
}

/// A rename asked for on the home screen, applied when the board opens.
pub fn set_pending_title(board: uuid::Uuid, title: &str) {
    PENDING_TITLES.with(|p| p.borrow_mut().insert(board, title.to_owned()));
}

#[component]
pub fn BoardPage(link: ShareLink) -> impl IntoView {
    let signals = BoardSignals::new();
    let editing = RwSignal::new(None::<CardId>);
    let platform = use_platform();
    {
        let (link, platform) = (link.clone(), platform.clone());
        leptos::task::spawn_local(async move {
            let profile = Profile::load(&*platform.clock);
            let board = link.board;
            engine::open(platform, link, signals, profile, None).await;
            mark_when_drawn("corkboard:board-drawn");
            if let Some(title) = PENDING_TITLES.with(|p| p.borrow_mut().remove(&board)) {
                engine::with(|e| e.set_title(&title));
            }
        });
    }
    on_cleanup(engine::close);

    // The window title follows the board's.
    let shell = platform.shell.clone();
    Effect::new(move |_| {
        let title = signals.title.get();
        let title = if title.is_empty() { "Untitled board".into() } else { title };
        shell.set_title(Some(&title));
    });

    let canvas = Canvas::new(signals);
    let help = RwSignal::new(false);
    canvas.install_wheel();
    // The engine places new cards in the middle of what is visible.
    Effect::new(move |_| {
        if canvas.board_ref.get().is_some() {
            canvas.measure();
        }
    });

    // A new or double-clicked note gets the keyboard once it is drawn.
    Effect::new(move |_| {
        let Some(id) = signals.focus_request.get() else { return };
        request_frame(move || {
            let selector = format!("[data-card-id=\"{id}\"] textarea");
            let area = dom::document()
                .and_then(|d| d.query_selector(&selector).ok().flatten())
                .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok());
            if let Some(area) = area {
                editing.set(Some(id));
                let _ = area.focus();
                let end = area.value().encode_utf16().count() as u32;
                let _ = area.set_selection_range(end, end);
            }
            signals.focus_request.set(None);
        });
    });

    // Files dropped on the board become image cards where they land.
    let on_dragover = move |ev: leptos::ev::DragEvent| ev.prevent_default();
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        let point = canvas.to_board(ev.client_x() as f64, ev.client_y() as f64);
        let Some(transfer) = ev.data_transfer() else { return };
        if let Some(files) = transfer.files()
            && files.length() > 0
        {
            add_files(files, point);
        } else if let Ok(text) =
            transfer.get_data("text/uri-list").or_else(|_| transfer.get_data("text/plain"))
        {
            paste_text(&text, point);
        }
    };

    let find = RwSignal::new(false);
    listen_to_the_page(canvas, help, find);

    let world_style = move || {
        let camera = signals.camera.get();
        format!("transform:translate({}px,{}px) scale({});", camera.x, camera.y, camera.zoom)
    };
    let board_style = move || match signals.background.get() {
        Some(color) => format!("--board-bg:{color};"),
        None => String::new(),
    };
    let board_class = move || {
        let dark = signals.background.get().is_some_and(|c| c == BACKGROUNDS[5].1);
        if dark { "board dark" } else { "board" }
    };
    let grid_style = move || {
        let camera = signals.camera.get();
        let step = 24.0 * camera.zoom;
        format!(
            "background-size:{step}px {step}px;background-position:{}px {}px;",
            camera.x.rem_euclid(step),
            camera.y.rem_euclid(step)
        )
    };

    // Only the cards in or near the view are in the page (a pan or a card
    // crossing the region's edge works it out again; the list changes only
    // when a card comes or goes).
    let drawn = Memo::new(move |_| {
        let (width, height) = signals.viewport.get();
        let region = signals.camera.get().drawn_region(width, height);
        signals.geometry.track();
        signals.drawn.set_value(region);
        // The card being written in stays, wherever the view goes.
        let kept = [editing.get(), signals.renaming.get()];
        signals.order.with(|order| {
            order
                .iter()
                .filter(|e| kept.contains(&Some(e.id)) || e.signal.with_untracked(|c| c.drawn_in(&region)))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    // Groups under the edges, the edges under every other card.
    let is_group =
        |entry: &crate::view_model::CardEntry| entry.signal.with_untracked(|c| c.kind == Kind::Group);
    let groups = move || {
        view! {
            <For
                each=move || drawn.with(|order| order.iter().filter(|e| is_group(e)).cloned().collect::<Vec<_>>())
                key=|entry| entry.id
                children=move |entry| untrack(|| view! { <CardElement signal=entry.signal editing=editing renaming=signals.renaming/> })
            />
        }
    };
    let cards = move || {
        view! {
            <For
                each=move || drawn.with(|order| order.iter().filter(|e| !is_group(e)).cloned().collect::<Vec<_>>())
                key=|entry| entry.id
                children=move |entry| untrack(|| view! { <CardElement signal=entry.signal editing=editing renaming=signals.renaming/> })
            />
        }
    };

    let marquee_view = move || {
        canvas.marquee.get().map(|(x, y, w, h)| {
            view! { <div class="marquee" style=format!("transform:translate({x}px,{y}px);width:{w}px;height:{h}px;")></div> }
        })
    };

    let empty_hint = move || {
        (signals.loaded.get() && signals.order.with(Vec::is_empty)).then(|| {
            // A board still on its way from a peer is not empty: it says so.
            if signals.receiving.get() {
                view! {
                    <div class="empty-hint" data-testid="arriving-hint">
                        <div class="empty-hint-title">"Receiving the board…"</div>
                        <div>"Its cards appear here as they arrive from the peer that has them."</div>
                    </div>
                }
                .into_any()
            } else {
                view! {
                    <div class="empty-hint">
                        <div class="empty-hint-title">"This board is empty"</div>
                        <div>"Double-click anywhere to add a note, drop images here, or paste a link."</div>
                    </div>
                }
                .into_any()
            }
        })
    };

    view! {
        <div class="board-page">
            {
                let link = link.clone();
                move || signals.refused.with(Option::is_none).then(|| view! { <TopBar signals=signals link=link.clone()/> })
            }
            <div
                node_ref=canvas.board_ref
                class=board_class
                style=board_style
                data-testid="board"
                role="application" aria-roledescription="board"
                aria-label=move || format!("Board {}: Tab or the arrow keys go through its cards, Enter edits one", signals.title.get())
                data-saved=move || if signals.saved.get() { "true" } else { "false" }
                data-history=move || signals.history.with(Option::is_some).to_string()
                data-cards=move || signals.order.with(Vec::len).to_string()
                data-receiving=move || signals.receiving.get().to_string()
                data-drawn=move || drawn.with(Vec::len).to_string()
                data-edges=move || signals.edges.with(Vec::len).to_string()
                tabindex="0"
                on:pointerdown=move |ev| canvas.pointer_down(&ev)
                on:pointermove=move |ev| canvas.pointer_move(&ev)
                on:pointerup=move |ev| canvas.pointer_up(&ev)
                on:pointercancel=move |ev| canvas.pointer_up(&ev)
                on:pointerleave=move |_| canvas.pointer_leave()
                on:dblclick=move |ev| canvas.double_click(&ev)
                on:dragover=on_dragover
                on:drop=on_drop
            >
                <div class="grid" style=grid_style></div>
                <div class="world" style=world_style>
                    {groups}
                    <EdgesLayer signals=signals/>
                    {cards}
                    <EdgeLabelsLayer signals=signals/>
                    {marquee_view}
                    <Cursors signals=signals/>
                </div>
                {empty_hint}
                {move || (!signals.loaded.get() && signals.refused.with(Option::is_none))
                    .then(|| view! { <div class="loading">"Opening board…"</div> })}
                {move || signals.refused.get().map(|why| view! {
                    <div class="refused" role="alert" data-testid="refused">
                        <div class="refused-title">"This board was not opened"</div>
                        <p>{why}</p>
                        <a href="#" on:click=move |ev| { ev.prevent_default(); dom::set_hash(""); }>"Back to your boards"</a>
                    </div>
                })}
                {move || signals.refused.with(Option::is_none).then(|| view! { <FindBar canvas=canvas open=find/> })}
                <CardMenu signals=signals/>
                <HistoryBanner signals=signals/>
                <HistoryPanel signals=signals/>
                {move || signals.read_only.get().map(|why| view! {
                    <div class="read-only-banner" role="status" data-testid="read-only">{why}</div>
                })}
            </div>
            {move || signals.refused.with(Option::is_none).then(|| view! { <Toolbar canvas=canvas help=help/> })}
            {move || help.get().then(|| view! { <HelpOverlay help=help/> })}
        </div>
    }
}

/// The tools under the board: new cards, colours, undo, zoom, help.
#[component]
fn Toolbar(canvas: Canvas, help: RwSignal<bool>) -> impl IntoView {
    let signals = canvas.signals;
    let file_input: NodeRef<leptos::html::Input> = NodeRef::new();
    let on_file_chosen = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        if let Some(files) = input.files() {
            add_files(files, canvas.view_center());
        }
        input.set_value("");
    };

    view! {
            <div class="toolbar" role="toolbar">
            <button class="tool" title="New note (N)" data-testid="add-note" on:click=move |_| {
                let at = canvas.view_center();
                engine::with(|e| e.add_note(at, ""));
            }>"Note"</button>
            <button class="tool" title="Add an image, or import a board file (.canvas, a zip of one, a .corkboard backup)" data-testid="add-image" on:click=move |_| {
                if let Some(input) = file_input.get_untracked() { input.click(); }
            }>"Image"</button>
            <input node_ref=file_input type="file" accept="image/*,.canvas,.zip,.corkboard" multiple class="hidden" data-testid="image-input" on:change=on_file_chosen/>
            <button class="tool" title="Add link" data-testid="add-link" on:click=move |_| {
                let at = canvas.view_center();
                ask_for_link(at);
            }>"Link"</button>
            <span class="tool-sep"></span>
            <SelectionTools signals=signals/>
            <span class="tool-sep"></span>
            <button class="tool icon" title="Undo (Ctrl+Z)" data-testid="undo" disabled=move || !signals.can_undo.get()
                on:click=move |_| { engine::with(|e| e.undo()); }>"↶"</button>
            <button class="tool icon" title="Redo (Ctrl+Shift+Z)" data-testid="redo" disabled=move || !signals.can_redo.get()
                on:click=move |_| { engine::with(|e| e.redo()); }>"↷"</button>
            <span class="tool-sep"></span>
            <button class="tool icon" title="Zoom out (Ctrl+-)" on:click=move |_| canvas.zoom_by(1.0 / 1.25)>"−"</button>
            <button class="tool zoom-label" title="Reset zoom (Ctrl+0)" data-testid="zoom" on:click=move |_| canvas.zoom_to(1.0)>
                {move || format!("{}%", (signals.camera.get().zoom * 100.0).round())}
            </button>
            <button class="tool icon" title="Zoom in (Ctrl+=)" on:click=move |_| canvas.zoom_by(1.25)>"+"</button>
            <button class="tool" title="Zoom to fit (Shift+1)" data-testid="zoom-fit" on:click=move |_| canvas.zoom_to_fit()>"Fit"</button>
            <button class="tool icon" title="Keyboard shortcuts (?)" data-testid="help" on:click=move |_| help.update(|h| *h = !*h)>"?"</button>
        </div>
    }
}

/// Other people's pointers, named, at the same size at every zoom.
#[component]
fn Cursors(signals: BoardSignals) -> impl IntoView {
    view! {
        <For
            each=move || signals.cursors.with(|cs| cs.iter().map(|c| (c.peer, c.name.clone(), c.color.clone())).collect::<Vec<_>>())
            key=|c| c.clone()
            children=move |(peer, name, color)| {
                let at = Memo::new(move |_| {
                    signals.cursors.with(|cs| cs.iter().find(|c| c.peer == peer).map(|c| (c.x, c.y)))
                });
                let (badge, ink) = crate::profile::badge_colours(&color);
                let style = move || {
                    let zoom = signals.camera.get().zoom;
                    let (x, y) = at.get().unwrap_or((0.0, 0.0));
                    format!(
                        "transform:translate({x}px,{y}px) scale({});--cursor:{color};--cursor-badge:{badge};--cursor-ink:{ink};",
                        1.0 / zoom
                    )
                };
                view! {
                    <div class="cursor" data-testid="remote-cursor" style=style>
                        <svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true">
                            <path d="M2 1 L2 15 L6 11 L9 17 L11 16 L8 10 L14 10 Z" fill="var(--cursor)" stroke="white" stroke-width="1.2"/>
                        </svg>
                        <span class="cursor-name">{name}</span>
                    </div>
                }
            }
        />
    }
}

/// Colours and delete, shown while something is selected.
#[component]
fn SelectionTools(signals: BoardSignals) -> impl IntoView {
    move || {
        // The past is not edited (its panel restores cards instead).
        if signals.history.with(Option::is_some) {
            return ().into_any();
        }
        let count = signals.selection_count.get();
        if count == 0 && signals.selected_edge.get().is_some() {
            return view! { <EdgeTools signals=signals/> }.into_any();
        }
        if count == 0 {
            return view! {
                <span class="swatches" title="Board background" data-testid="backgrounds">
                    {BACKGROUNDS
                        .iter()
                        .map(|(name, css)| {
                            let color = Color::parse(css).ok();
                            view! {
                                <button class="swatch round" title=format!("{name} background") style=format!("background:{css}")
                                    on:click=move |_| { let color = color.clone(); engine::with(|e| e.set_background(color)); }>
                                </button>
                            }
                        })
                        .collect_view()}
                </span>
            }
            .into_any();
        }
        view! {
            <PresetSwatches testid="color" none_title="No colour"
                pick=Callback::new(|color| { engine::with(|e| e.color_selection(color)); })/>
            <button class="tool danger" title="Delete (Del)" data-testid="delete"
                on:click=move |_| { engine::with(|e| e.delete_selection()); }>
                {format!("Delete {}", if count == 1 { "card".to_owned() } else { format!("{count} cards") })}
            </button>
        }
        .into_any()
    }
}

/// What can be done to the selected edge: its colour, its arrowheads, its
/// label, deleting it.
#[component]
fn EdgeTools(signals: BoardSignals) -> impl IntoView {
    view! {
        <PresetSwatches testid="edge-color" none_title="Default colour" round=true
            pick=Callback::new(|color| { engine::with(|e| e.set_selected_edge_color(color)); })/>
        <button class="tool" title="Arrowhead at the start" data-testid="edge-start-end"
            on:click=move |_| { engine::with(|e| e.toggle_selected_edge_end(true)); }>"◁ Start"</button>
        <button class="tool" title="Arrowhead at the end" data-testid="edge-end-end"
            on:click=move |_| { engine::with(|e| e.toggle_selected_edge_end(false)); }>"End ▷"</button>
        <button class="tool" title="Label (double-click the edge)" data-testid="edge-label"
            on:click=move |_| { if let Some(id) = engine::with(|e| e.selected_edge()).flatten() { signals.labelling.set(Some(id)); } }>"Label"</button>
        <button class="tool danger" title="Delete (Del)" data-testid="delete-edge"
            on:click=move |_| { engine::with(|e| e.delete_selected_edge()); }>"Delete edge"</button>
    }
}

/// Keyboard shortcuts, resizes and the clipboard, for the whole page while the board is open.
fn listen_to_the_page(canvas: Canvas, help: RwSignal<bool>, find: RwSignal<bool>) {
    let keydown = window_event_listener(leptos::ev::keydown, move |ev| {
        on_key(&ev, canvas, help, find);
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| {
        canvas.measure();
    });
    let copy = window_event_listener(leptos::ev::copy, move |ev| on_copy(&ev, false));
    let cut = window_event_listener(leptos::ev::cut, move |ev| on_copy(&ev, true));
    let paste = window_event_listener(leptos::ev::paste, move |ev| {
        if dom::focus_is_in_text_field() {
            return;
        }
        let Some(data) = ev.clipboard_data() else { return };
        ev.prevent_default();
        let point = canvas.paste_point();
        if let Some(files) = data.files()
            && files.length() > 0
        {
            add_files(files, point);
            return;
        }
        if let Ok(text) = data.get_data("text/plain") {
            paste_text(&text, point);
        }
    });
    on_cleanup(move || {
        keydown.remove();
        resize.remove();
        copy.remove();
        cut.remove();
        paste.remove();
    });
}

/// Records a performance mark once the next frame is painted (for the
/// time-to-first-paint benchmark; visible in the browser's profiler).
fn mark_when_drawn(name: &'static str) {
    let after_paint = Closure::once_into_js(move || {
        // The frame callback runs before paint; a zero-delay task after it runs once painted.
        dom::set_timeout(0, move || {
            if let Some(performance) = dom::window().and_then(|w| w.performance()) {
                let _ = performance.mark(name);
            }
        });
    });
    if let Some(window) = dom::window() {
        let _ = window.request_animation_frame(after_paint.unchecked_ref());
    }
}

fn request_frame(f: impl FnOnce() + 'static) {
    let closure = Closure::once_into_js(f);
    if let Some(window) = dom::window() {
        let _ = window.request_animation_frame(closure.unchecked_ref());
    }
}
