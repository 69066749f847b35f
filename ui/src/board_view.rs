//! The board page: title bar (title, people, connection status, sharing,
//! profile), the infinite canvas with its cards and others' cursors, and
//! the toolbar. Pointer gestures are handled here for every card at once
//! (event delegation): drag to move, handle to resize, click and
//! shift-click to select, shift-drag for a marquee, drag empty space or
//! wheel to pan, ctrl/cmd+wheel to zoom around the pointer.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use board_key::link::ShareLink;
use board_model::{CardId, Color, Kind, Point, Size};
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::card_view::CardElement;
use crate::engine;
use crate::images;
use crate::net;
use crate::notify;
use crate::platform;
use crate::profile::{self, Profile};
use crate::view_model::{BACKGROUNDS, BoardSignals, Camera, PRESETS};

/// Pixels a pointer must travel before a press becomes a drag.
const DRAG_THRESHOLD: f64 = 3.0;
/// People shown as avatars in the top bar; the rest are counted.
const MAX_AVATARS: usize = 8;

/// An avatar's letters: the first letter or digit of the first two words
/// that have one ("Quiet Lynx" → "QL", "ana" → "A", "peer (home)" → "PH").
fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .collect();
    if letters.is_empty() { "?".into() } else { letters.to_uppercase() }
}

/// How far apart (CSS px) the two presses of a double-click may land.
const DOUBLE_CLICK_SLOP: f64 = 8.0;

thread_local! {
    static PENDING_TITLES: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

/// A rename asked for on the home screen, applied when the board opens.
pub fn set_pending_title(board: &str, title: &str) {
    PENDING_TITLES.with(|p| p.borrow_mut().insert(board.to_owned(), title.to_owned()));
}

#[derive(Clone, Debug, Default)]
enum Gesture {
    #[default]
    Idle,
    Pan {
        start: (f64, f64),
        camera: Camera,
    },
    Press {
        start: (f64, f64),
        board_start: (f64, f64),
        dragging: bool,
    },
    Resize {
        id: CardId,
        start: (f64, f64),
        size: Size,
        kind: Kind,
        aspect: Option<f64>,
    },
    Marquee {
        start: (f64, f64),
        base: HashSet<CardId>,
    },
}

#[component]
pub fn BoardPage(link: ShareLink) -> impl IntoView {
    let signals = BoardSignals::new();
    let editing = RwSignal::new(None::<CardId>);
    let board_id = link.board.hyphenated().to_string();
    {
        let link = link.clone();
        let board_id = board_id.clone();
        leptos::task::spawn_local(async move {
            engine::open(link, signals, None).await;
            if let Some(title) = PENDING_TITLES.with(|p| p.borrow_mut().remove(&board_id)) {
                engine::with(|e| e.set_title(&title));
            }
        });
    }
    on_cleanup(engine::close);

    // Window title follows the board title.
    Effect::new(move |_| {
        let title = signals.title.get();
        if let Some(document) = platform::document() {
            let title = if title.is_empty() { "Untitled board".into() } else { title };
            document.set_title(&format!("{title} — Corkboard"));
            // The shell adds " — Corkboard" itself.
            crate::desktop::set_window_title(&title);
        }
    });

    let board_ref: NodeRef<html::Div> = NodeRef::new();
    let gesture = StoredValue::new(Gesture::Idle);
    let marquee = RwSignal::new(None::<(f64, f64, f64, f64)>);
    let last_pointer = StoredValue::new(None::<(f64, f64)>);
    let help = RwSignal::new(false);
    let file_input: NodeRef<html::Input> = NodeRef::new();

    // Where the board's top-left corner is in the window. Kept between
    // pointer moves: reading it forces a layout, and during a drag every
    // frame has just moved cards. Read again on each press and on resize.
    let board_origin = StoredValue::new(None::<(f64, f64)>);
    // Board-relative screen coordinates of a client point.
    let to_screen = move |client_x: f64, client_y: f64| -> (f64, f64) {
        let origin = board_origin.get_value().or_else(|| {
            let rect = board_ref.get_untracked()?.get_bounding_client_rect();
            let origin = (rect.left(), rect.top());
            board_origin.set_value(Some(origin));
            Some(origin)
        });
        match origin {
            Some((left, top)) => (client_x - left, client_y - top),
            None => (client_x, client_y),
        }
    };
    let to_board = move |client_x: f64, client_y: f64| -> Point {
        let (sx, sy) = to_screen(client_x, client_y);
        let (x, y) = signals.camera.get_untracked().to_board(sx, sy);
        Point { x, y }
    };
    let view_center = move || -> Point {
        let Some(board) = board_ref.get_untracked() else { return Point { x: 0.0, y: 0.0 } };
        let rect = board.get_bounding_client_rect();
        let (x, y) = signals.camera.get_untracked().to_board(rect.width() / 2.0, rect.height() / 2.0);
        Point { x, y }
    };
    let paste_point = move || -> Point {
        match last_pointer.get_value() {
            Some((x, y)) => Point { x, y },
            None => view_center(),
        }
    };

    // Where the last two left-button presses were: a double-click counts
    // only when both landed in the same spot, whatever produced the events
    // (some synthetic input counts any two quick clicks as a double one).
    let presses = StoredValue::new([(f64::NAN, f64::NAN); 2]);
    let on_pointerdown = move |ev: leptos::ev::PointerEvent| {
        if ev.button() != 0 && ev.button() != 1 {
            return;
        }
        board_origin.set_value(None);
        if ev.button() == 0 {
            let here = (ev.client_x() as f64, ev.client_y() as f64);
            presses.update_value(|[before, last]| (*before, *last) = (*last, here));
        }
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
        if target.closest("a, button, input").ok().flatten().is_some() {
            return;
        }
        let card = target.closest("[data-card-id]").ok().flatten();
        let card_id = card
            .as_ref()
            .and_then(|c| c.get_attribute("data-card-id"))
            .and_then(|id| id.parse::<CardId>().ok());
        // Typing in a note being edited: leave the pointer to the text.
        if target.closest(".card.editing textarea").ok().flatten().is_some() {
            return;
        }
        ev.prevent_default();
        blur_active();
        let screen = to_screen(ev.client_x() as f64, ev.client_y() as f64);
        let board_point = to_board(ev.client_x() as f64, ev.client_y() as f64);
        let next = if ev.button() == 1 {
            Gesture::Pan { start: screen, camera: signals.camera.get_untracked() }
        } else if let Some(id) = card_id {
            if target.closest("[data-handle=resize]").ok().flatten().is_some() {
                let found = engine::with(|e| {
                    e.select_only(Some(id));
                    e.board.card(id)
                })
                .flatten();
                match found {
                    Some(card) => {
                        let aspect = match &card.content {
                            board_model::Content::Image(image) if image.natural_height > 0 => {
                                Some(image.natural_width as f64 / image.natural_height as f64)
                            }
                            _ => None,
                        };
                        Gesture::Resize { id, start: screen, size: card.size, kind: card.kind(), aspect }
                    }
                    None => Gesture::Idle,
                }
            } else {
                engine::with(|e| {
                    if ev.shift_key() || ev.meta_key() || ev.ctrl_key() {
                        e.toggle_selected(id);
                    } else if !e.is_selected(id) {
                        e.select_only(Some(id));
                    }
                });
                Gesture::Press { start: screen, board_start: (board_point.x, board_point.y), dragging: false }
            }
        } else if ev.shift_key() {
            let base: HashSet<CardId> =
                engine::with(|e| e.selection().into_iter().collect()).unwrap_or_default();
            Gesture::Marquee { start: (board_point.x, board_point.y), base }
        } else {
            engine::with(|e| e.select_only(None));
            Gesture::Pan { start: screen, camera: signals.camera.get_untracked() }
        };
        if let Some(board) = board_ref.get_untracked() {
            let _ = board.set_pointer_capture(ev.pointer_id());
        }
        gesture.set_value(next);
    };

    let on_pointermove = move |ev: leptos::ev::PointerEvent| {
        let screen = to_screen(ev.client_x() as f64, ev.client_y() as f64);
        let point = to_board(ev.client_x() as f64, ev.client_y() as f64);
        last_pointer.set_value(Some((point.x, point.y)));
        if !matches!(gesture.get_value(), Gesture::Press { dragging: true, .. }) {
            engine::with(|e| e.set_cursor(Some(point)));
        }
        let zoom = signals.camera.get_untracked().zoom;
        gesture.update_value(|g| match g {
            Gesture::Idle => {}
            Gesture::Pan { start, camera } => {
                signals.camera.set(Camera {
                    x: camera.x + screen.0 - start.0,
                    y: camera.y + screen.1 - start.1,
                    zoom: camera.zoom,
                });
            }
            Gesture::Press { start, board_start, dragging } => {
                let moved = (screen.0 - start.0).hypot(screen.1 - start.1);
                if !*dragging && moved >= DRAG_THRESHOLD {
                    *dragging = true;
                    engine::with(|e| e.begin_drag());
                }
                if *dragging {
                    let (dx, dy) = (point.x - board_start.0, point.y - board_start.1);
                    engine::with(|e| e.drag_by(dx, dy, point));
                }
            }
            Gesture::Resize { id, start, size, kind, aspect } => {
                let min = kind.min_size();
                let mut width = (size.width + (screen.0 - start.0) / zoom).max(min.width);
                let mut height = (size.height + (screen.1 - start.1) / zoom).max(min.height);
                if let Some(aspect) = aspect {
                    // Images keep their natural aspect ratio.
                    if width / height > *aspect {
                        height = (width / *aspect).max(min.height);
                    } else {
                        width = (height * *aspect).max(min.width);
                    }
                }
                let (id, size) = (*id, Size { width, height });
                engine::with(|e| e.preview_size(id, size));
            }
            Gesture::Marquee { start, base } => {
                let (x0, y0, x1, y1) = (start.0, start.1, point.x, point.y);
                marquee.set(Some((x0.min(x1), y0.min(y1), (x1 - x0).abs(), (y1 - y0).abs())));
                let mut selection = base.clone();
                let inside = engine::with(|e| e.cards_in(x0, y0, x1, y1)).unwrap_or_default();
                selection.extend(inside);
                engine::with(|e| e.set_selection(selection));
            }
        });
    };

    let on_pointerup = move |ev: leptos::ev::PointerEvent| {
        let finished = gesture.get_value();
        gesture.set_value(Gesture::Idle);
        if let Some(board) = board_ref.get_untracked() {
            let _ = board.release_pointer_capture(ev.pointer_id());
        }
        match finished {
            Gesture::Press { dragging: true, .. } => {
                engine::with(|e| e.end_drag());
            }
            Gesture::Resize { id, .. } => {
                let size =
                    engine::card_signal(id).map(|s| s.with_untracked(|v| Size { width: v.w, height: v.h }));
                if let Some(size) = size {
                    engine::with(|e| e.commit_size(id, size));
                }
            }
            Gesture::Marquee { .. } => marquee.set(None),
            _ => {}
        }
    };

    let on_pointerleave = move |_ev: leptos::ev::PointerEvent| {
        if matches!(gesture.get_value(), Gesture::Idle) {
            engine::with(|e| e.set_cursor(None));
        }
    };

    let on_dblclick = move |ev: leptos::ev::MouseEvent| {
        let [first, second] = presses.get_value();
        if (first.0 - second.0).hypot(first.1 - second.1) > DOUBLE_CLICK_SLOP {
            return;
        }
        // Pointer capture retargets clicks to the board: ask what is under the pointer.
        let under = platform::document()
            .and_then(|d| d.element_from_point(ev.client_x() as f32, ev.client_y() as f32));
        let Some(target) = under else { return };
        if target.closest("a, button, input").ok().flatten().is_some() {
            return;
        }
        let point = to_board(ev.client_x() as f64, ev.client_y() as f64);
        match target.closest("[data-card-id]").ok().flatten() {
            None => {
                engine::with(|e| e.add_note(point, ""));
            }
            Some(card) => {
                let Some(id) = card.get_attribute("data-card-id").and_then(|id| id.parse::<CardId>().ok())
                else {
                    return;
                };
                match card.get_attribute("data-kind").as_deref() {
                    Some("note") => signals.focus_request.set(Some(id)),
                    Some("link") => edit_link(id),
                    _ => {}
                }
            }
        }
    };

    // A new or double-clicked note gets the keyboard once it is drawn.
    Effect::new(move |_| {
        let Some(id) = signals.focus_request.get() else { return };
        request_frame(move || {
            let selector = format!("[data-card-id=\"{id}\"] textarea");
            let area = platform::document()
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

    // Wheel: pan, or zoom around the pointer with ctrl/cmd (and trackpad pinch).
    // Attached by hand: it must not be passive, to keep the page from zooming.
    Effect::new(move |_| {
        let Some(board) = board_ref.get() else { return };
        let handler = Closure::<dyn FnMut(web_sys::WheelEvent)>::new(move |ev: web_sys::WheelEvent| {
            ev.prevent_default();
            let (sx, sy) = to_screen(ev.client_x() as f64, ev.client_y() as f64);
            let camera = signals.camera.get_untracked();
            let unit = if ev.delta_mode() == 1 { 16.0 } else { 1.0 };
            if ev.ctrl_key() || ev.meta_key() {
                let factor = (-ev.delta_y() * unit * 0.01).exp();
                signals.camera.set(camera.zoom_around(camera.zoom * factor, sx, sy));
            } else {
                signals.camera.set(Camera {
                    x: camera.x - ev.delta_x() * unit,
                    y: camera.y - ev.delta_y() * unit,
                    zoom: camera.zoom,
                });
            }
        });
        let options = web_sys::AddEventListenerOptions::new();
        options.set_passive(false);
        let _ = board.add_event_listener_with_callback_and_add_event_listener_options(
            "wheel",
            handler.as_ref().unchecked_ref(),
            &options,
        );
        handler.forget();
    });

    // Files dropped on the board become image cards where they land.
    let on_dragover = move |ev: leptos::ev::DragEvent| ev.prevent_default();
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        let point = to_board(ev.client_x() as f64, ev.client_y() as f64);
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

    // Keyboard shortcuts and the clipboard, for the whole page while the board is open.
    let keydown = window_event_listener(leptos::ev::keydown, move |ev| {
        on_key(&ev, signals, help, view_center, board_ref);
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| board_origin.set_value(None));
    let copy = window_event_listener(leptos::ev::copy, move |ev| on_copy(&ev, false));
    let cut = window_event_listener(leptos::ev::cut, move |ev| on_copy(&ev, true));
    let paste = window_event_listener(leptos::ev::paste, move |ev| {
        if platform::focus_is_in_text_field() {
            return;
        }
        let Some(data) = ev.clipboard_data() else { return };
        ev.prevent_default();
        let point = paste_point();
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

    let cards = move || {
        view! {
            <For
                each=move || signals.order.get()
                key=|entry| entry.id
                children=move |entry| untrack(|| view! { <CardElement signal=entry.signal editing=editing/> })
            />
        }
    };

    let cursors = move || {
        view! {
            <For
                each=move || signals.cursors.with(|cs| cs.iter().map(|c| (c.peer, c.name.clone(), c.color.clone())).collect::<Vec<_>>())
                key=|c| c.clone()
                children=move |(peer, name, color)| {
                    let at = Memo::new(move |_| {
                        signals.cursors.with(|cs| cs.iter().find(|c| c.peer == peer).map(|c| (c.x, c.y)))
                    });
                    let style = move || {
                        let zoom = signals.camera.get().zoom;
                        let (x, y) = at.get().unwrap_or((0.0, 0.0));
                        format!("transform:translate({x}px,{y}px) scale({});--cursor:{color};", 1.0 / zoom)
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
    };

    let marquee_view = move || {
        marquee.get().map(|(x, y, w, h)| {
            view! { <div class="marquee" style=format!("transform:translate({x}px,{y}px);width:{w}px;height:{h}px;")></div> }
        })
    };

    let empty_hint = move || {
        (signals.loaded.get() && signals.order.with(Vec::is_empty)).then(|| {
            view! {
                <div class="empty-hint">
                    <div class="empty-hint-title">"This board is empty"</div>
                    <div>"Double-click anywhere to add a note, drop images here, or paste a link."</div>
                </div>
            }
        })
    };

    let on_file_chosen = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        if let Some(files) = input.files() {
            add_files(files, view_center());
        }
        input.set_value("");
    };

    view! {
        <div class="board-page">
            <TopBar signals=signals link=link/>
            <div
                node_ref=board_ref
                class=board_class
                style=board_style
                data-testid="board"
                data-saved=move || if signals.saved.get() { "true" } else { "false" }
                tabindex="-1"
                on:pointerdown=on_pointerdown
                on:pointermove=on_pointermove
                on:pointerup=on_pointerup
                on:pointercancel=on_pointerup
                on:pointerleave=on_pointerleave
                on:dblclick=on_dblclick
                on:dragover=on_dragover
                on:drop=on_drop
            >
                <div class="grid" style=grid_style></div>
                <div class="world" style=world_style>
                    {cards}
                    {marquee_view}
                    {cursors}
                </div>
                {empty_hint}
                {move || (!signals.loaded.get()).then(|| view! { <div class="loading">"Opening board…"</div> })}
            </div>
            <div class="toolbar" role="toolbar">
                <button class="tool" title="New note (N)" data-testid="add-note" on:click=move |_| {
                    let at = view_center();
                    engine::with(|e| e.add_note(at, ""));
                }>"Note"</button>
                <button class="tool" title="Add image" data-testid="add-image" on:click=move |_| {
                    if let Some(input) = file_input.get_untracked() { input.click(); }
                }>"Image"</button>
                <input node_ref=file_input type="file" accept="image/*" multiple class="hidden" data-testid="image-input" on:change=on_file_chosen/>
                <button class="tool" title="Add link" data-testid="add-link" on:click=move |_| {
                    let at = view_center();
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
                <button class="tool icon" title="Zoom out (Ctrl+-)" on:click=move |_| zoom_by(signals, board_ref, 1.0 / 1.25)>"−"</button>
                <button class="tool zoom-label" title="Reset zoom (Ctrl+0)" data-testid="zoom" on:click=move |_| zoom_to(signals, board_ref, 1.0)>
                    {move || format!("{}%", (signals.camera.get().zoom * 100.0).round())}
                </button>
                <button class="tool icon" title="Zoom in (Ctrl+=)" on:click=move |_| zoom_by(signals, board_ref, 1.25)>"+"</button>
                <button class="tool" title="Zoom to fit (Shift+1)" data-testid="zoom-fit" on:click=move |_| zoom_to_fit(signals, board_ref)>"Fit"</button>
                <button class="tool icon" title="Keyboard shortcuts (?)" data-testid="help" on:click=move |_| help.update(|h| *h = !*h)>"?"</button>
            </div>
            {move || help.get().then(|| view! { <HelpOverlay help=help/> })}
        </div>
    }
}

/// Colours and delete, shown while something is selected.
#[component]
fn SelectionTools(signals: BoardSignals) -> impl IntoView {
    move || {
        let count = signals.selection_count.get();
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
            <span class="swatches" data-testid="colors">
                <button class="swatch none" title="No colour" data-testid="color-none"
                    on:click=move |_| { engine::with(|e| e.color_selection(None)); }></button>
                {PRESETS
                    .iter()
                    .enumerate()
                    .map(|(i, (name, css))| {
                        let preset = (i + 1) as u8;
                        view! {
                            <button class="swatch" title=*name style=format!("background:{css}")
                                data-testid=format!("color-{preset}")
                                on:click=move |_| { engine::with(|e| e.color_selection(Some(Color::Preset(preset)))); }>
                            </button>
                        }
                    })
                    .collect_view()}
            </span>
            <button class="tool danger" title="Delete (Del)" data-testid="delete"
                on:click=move |_| { engine::with(|e| e.delete_selection()); }>
                {format!("Delete {}", if count == 1 { "card".to_owned() } else { format!("{count} cards") })}
            </button>
        }
        .into_any()
    }
}

#[component]
fn TopBar(signals: BoardSignals, link: ShareLink) -> impl IntoView {
    let editing_title = RwSignal::new(false);
    let share_open = RwSignal::new(false);
    let profile_open = RwSignal::new(false);
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
                let title = if person.me { format!("{} (you)", person.name) } else { person.name.clone() };
                view! {
                    <span class="avatar" class:me=person.me title=title data-testid="person" style=format!("background:{}", person.color)>
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
            <span class=status.class() data-testid="status"><span class="dot"></span>{status.label()}</span>
        }
    };
    view! {
        <header class="topbar">
            <a class="home-link" href="#" title="All boards" on:click=move |ev| { ev.prevent_default(); platform::set_hash(""); }>
                <span class="brand-mark" aria-hidden="true"></span>
            </a>
            {title_view}
            <div class="topbar-spacer"></div>
            <div class="people" data-testid="people">{people}</div>
            {status_view}
            <label class="switch" title="Work offline: close every connection until switched back">
                <input type="checkbox" data-testid="offline-switch"
                    prop:checked=move || signals.working_offline.get()
                    on:change=move |ev| net::set_offline(event_target_checked(&ev))/>
                <span>"Work offline"</span>
            </label>
            <div class="menu-anchor">
                <button class="button primary small" data-testid="share" on:click=move |_| share_open.update(|o| *o = !*o)>"Share"</button>
                {move || share_open.get().then(|| view! { <ShareMenu link=share_link.clone() open=share_open/> })}
            </div>
            <div class="menu-anchor">
                <button class="button ghost small" data-testid="profile" on:click=move |_| profile_open.update(|o| *o = !*o)>"Profile"</button>
                {move || profile_open.get().then(|| view! { <ProfileMenu open=profile_open signals=signals/> })}
            </div>
        </header>
    }
}

#[component]
fn ShareMenu(link: ShareLink, open: RwSignal<bool>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let web_link = RwSignal::new(link.to_web_link(&platform::origin()));
    let app_link = link.to_app_link();
    {
        let link = link.clone();
        leptos::task::spawn_local(async move {
            let origin = crate::desktop::web_origin().await;
            web_link.set(link.to_web_link(&origin));
        });
    }
    let copy = move |_| {
        if let Some(window) = platform::window() {
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
fn ProfileMenu(open: RwSignal<bool>, signals: BoardSignals) -> impl IntoView {
    let current = Profile::load();
    let name = RwSignal::new(current.name.clone());
    let color = RwSignal::new(current.color.clone());
    let ice = RwSignal::new(crate::settings::ice_servers().join("\n"));
    let save = move || {
        let profile = Profile::sanitised(&name.get_untracked(), &color.get_untracked());
        crate::settings::set_ice_servers(&ice.get_untracked());
        engine::with(|e| e.set_profile(profile));
        open.set(false);
    };
    let _ = signals;
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
            <label class="field">"STUN/TURN servers (one per line, optional)"
                <textarea class="input mono" rows="2" placeholder="stun:stun.example.org:3478"
                    prop:value=move || ice.get() on:input=move |ev| ice.set(event_target_value(&ev))
                    on:keydown=|ev: leptos::ev::KeyboardEvent| ev.stop_propagation()></textarea>
            </label>
            <div class="menu-row">
                <button class="button primary small" data-testid="profile-save" on:click=move |_| save()>"Save"</button>
                <button class="button ghost small" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </div>
    }
}

#[component]
fn HelpOverlay(help: RwSignal<bool>) -> impl IntoView {
    let rows: [(&str, &str); 20] = [
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

fn blur_active() {
    if let Some(active) = platform::document().and_then(|d| d.active_element())
        && let Ok(element) = active.dyn_into::<web_sys::HtmlElement>()
    {
        let _ = element.blur();
    }
}

fn request_frame(f: impl FnOnce() + 'static) {
    let closure = Closure::once_into_js(f);
    if let Some(window) = platform::window() {
        let _ = window.request_animation_frame(closure.unchecked_ref());
    }
}

fn board_size(board_ref: NodeRef<html::Div>) -> (f64, f64) {
    board_ref
        .get_untracked()
        .map(|b| {
            let rect = b.get_bounding_client_rect();
            (rect.width(), rect.height())
        })
        .unwrap_or((1280.0, 720.0))
}

fn zoom_by(signals: BoardSignals, board_ref: NodeRef<html::Div>, factor: f64) {
    let camera = signals.camera.get_untracked();
    zoom_to(signals, board_ref, camera.zoom * factor);
}

fn zoom_to(signals: BoardSignals, board_ref: NodeRef<html::Div>, zoom: f64) {
    let (w, h) = board_size(board_ref);
    let camera = signals.camera.get_untracked();
    signals.camera.set(camera.zoom_around(zoom, w / 2.0, h / 2.0));
}

fn zoom_to_fit(signals: BoardSignals, board_ref: NodeRef<html::Div>) {
    let Some((x0, y0, x1, y1)) = engine::with(|e| e.bounds()).flatten() else {
        signals.camera.set(Camera::default());
        return;
    };
    let (w, h) = board_size(board_ref);
    let padding = 64.0;
    let zoom = ((w - 2.0 * padding) / (x1 - x0).max(1.0))
        .min((h - 2.0 * padding) / (y1 - y0).max(1.0))
        .clamp(crate::view_model::MIN_ZOOM, 1.0);
    let x = w / 2.0 - (x0 + x1) / 2.0 * zoom;
    let y = h / 2.0 - (y0 + y1) / 2.0 * zoom;
    signals.camera.set(Camera { x, y, zoom });
}

fn on_key(
    ev: &web_sys::KeyboardEvent,
    signals: BoardSignals,
    help: RwSignal<bool>,
    view_center: impl Fn() -> Point,
    board_ref: NodeRef<html::Div>,
) {
    if platform::focus_is_in_text_field() || ev.default_prevented() {
        return;
    }
    let command = ev.ctrl_key() || ev.meta_key();
    let key = ev.key();
    let mut handled = true;
    match (command, key.as_str()) {
        (true, "z" | "Z") if ev.shift_key() => {
            engine::with(|e| e.redo());
        }
        (true, "z" | "Z") => {
            engine::with(|e| e.undo());
        }
        (true, "y" | "Y") => {
            engine::with(|e| e.redo());
        }
        (true, "a" | "A") => {
            engine::with(|e| e.select_all());
        }
        (true, "d" | "D") => {
            engine::with(|e| e.duplicate_selection());
        }
        (true, "=" | "+") => zoom_by(signals, board_ref, 1.25),
        (true, "-") => zoom_by(signals, board_ref, 1.0 / 1.25),
        (true, "0") => zoom_to(signals, board_ref, 1.0),
        (false, "Delete" | "Backspace") => {
            engine::with(|e| e.delete_selection());
        }
        (false, "Escape") => {
            help.set(false);
            engine::with(|e| e.select_only(None));
        }
        (false, "n" | "N") => {
            let at = view_center();
            engine::with(|e| e.add_note(at, ""));
        }
        (false, "Enter") => {
            let note = engine::with(|e| {
                let selection = e.selection();
                (selection.len() == 1)
                    .then(|| selection[0])
                    .filter(|id| e.board.card(*id).is_some_and(|c| c.kind() == Kind::Note))
            })
            .flatten();
            match note {
                Some(id) => signals.focus_request.set(Some(id)),
                None => handled = false,
            }
        }
        (false, "?") => help.update(|h| *h = !*h),
        (false, "!") if ev.shift_key() => zoom_to_fit(signals, board_ref),
        (false, "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown") => {
            let step = if ev.shift_key() { 10.0 } else { 1.0 };
            let (dx, dy) = match key.as_str() {
                "ArrowLeft" => (-step, 0.0),
                "ArrowRight" => (step, 0.0),
                "ArrowUp" => (0.0, -step),
                _ => (0.0, step),
            };
            engine::with(|e| e.nudge(dx, dy));
        }
        (false, digit @ ("0" | "1" | "2" | "3" | "4" | "5" | "6")) => {
            let color = digit.parse::<u8>().ok().filter(|n| *n > 0).map(Color::Preset);
            engine::with(|e| e.color_selection(color));
        }
        _ => handled = false,
    }
    if handled {
        ev.prevent_default();
    }
}

fn on_copy(ev: &web_sys::ClipboardEvent, cut: bool) {
    if platform::focus_is_in_text_field() {
        return;
    }
    let Some(text) = engine::with(|e| e.copy_selection()).flatten() else { return };
    if let Some(data) = ev.clipboard_data() {
        let _ = data.set_data("text/plain", &text);
        ev.prevent_default();
        if cut {
            engine::with(|e| e.delete_selection());
        }
    }
}

/// Text from the clipboard or a drop: cards, a link, or a new note.
fn paste_text(text: &str, at: Point) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    engine::with(|e| {
        if e.paste_cards(text, Some(at)) {
            return;
        }
        let single_line = !text.contains('\n');
        if single_line && (text.starts_with("http://") || text.starts_with("https://")) {
            e.add_link(at, text, "");
        } else {
            e.add_note(at, text);
        }
    });
}

fn ask_for_link(at: Point) {
    let Some(window) = platform::window() else { return };
    let Ok(Some(url)) = window.prompt_with_message_and_default("Link address", "https://") else { return };
    let url = url.trim().to_owned();
    if url.is_empty() || url == "https://" {
        return;
    }
    let url = if url.contains("://") { url } else { format!("https://{url}") };
    engine::with(|e| e.add_link(at, &url, ""));
}

fn edit_link(id: CardId) {
    let Some(window) = platform::window() else { return };
    let Some(card) = engine::with(|e| e.board.card(id)).flatten() else { return };
    let board_model::Content::Link { url, title } = card.content else { return };
    let Ok(Some(new_url)) = window.prompt_with_message_and_default("Link address", &url) else { return };
    let Ok(Some(new_title)) = window.prompt_with_message_and_default("Title (optional)", &title) else {
        return;
    };
    engine::with(|e| e.set_link(id, new_url.trim(), new_title.trim()));
}

/// Reads dropped, pasted or chosen files; images become cards, fanned out
/// from `at`; anything else gets a clear message.
fn add_files(files: web_sys::FileList, at: Point) {
    let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
    leptos::task::spawn_local(async move {
        for (i, file) in files.iter().enumerate() {
            match images::read_file(file).await {
                Ok(image) => {
                    let offset = i as f64 * 32.0;
                    let point = Point { x: at.x + offset, y: at.y + offset };
                    engine::with(|e| e.add_image(image, point));
                }
                Err(message) => notify::error(&message),
            }
        }
    });
}
