//! One card on the board. Each card reads only its own signal, so moving or
//! editing one card re-renders that card alone. Pointer gestures are handled
//! by the board (event delegation); a card only handles its own text. A
//! note shows its text as Markdown ([`crate::markdown`]) until it is edited;
//! a group is a labelled frame, a pinned board shows the board it opens.

use board_model::{CardId, Kind};
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::label_input::LabelInput;
use crate::engine;
use crate::view_model::CardView;

#[component]
pub fn CardElement(
    signal: ArcRwSignal<CardView>,
    editing: RwSignal<Option<CardId>>,
    renaming: RwSignal<Option<CardId>>,
) -> impl IntoView {
    let (id, kind) = signal.with_untracked(|c| (c.id, c.kind));
    let is_editing = Memo::new(move |_| editing.get() == Some(id));
    let geometry = {
        let signal = signal.clone();
        Memo::new(move |_| signal.with(|c| (c.x, c.y, c.w, c.h)))
    };
    let look = {
        let signal = signal.clone();
        Memo::new(move |_| {
            signal.with(|c| {
                (c.color.clone(), c.selected, c.remote_selected.clone(), c.remote_drag.clone(), c.dragging)
            })
        })
    };
    let style = move || {
        let (x, y, w, h) = geometry.get();
        let (color, _, remote, dragger, _) = look.get();
        let mut style = format!("transform:translate({x}px,{y}px);width:{w}px;height:{h}px;");
        if let Some(color) = color {
            style.push_str(&format!("--card-bg:{color};"));
        }
        if let Some(remote) = dragger.or(remote) {
            style.push_str(&format!("--remote:{remote};"));
        }
        style
    };
    let class = move || {
        let (_, selected, remote, dragger, dragging) = look.get();
        let mut class = format!("card {}", kind.as_str());
        if selected {
            class.push_str(" selected");
        }
        if remote.is_some() {
            class.push_str(" remote-selected");
        }
        if dragger.is_some() {
            class.push_str(" remote-dragging");
        }
        if dragging {
            class.push_str(" dragging");
        }
        if is_editing.get() {
            class.push_str(" editing");
        }
        class
    };
    let spoken = {
        let signal = signal.clone();
        Memo::new(move |_| signal.with(CardView::spoken))
    };
    let body = match kind {
        Kind::Note => view! { <NoteText signal=signal.clone() id=id editing=editing/> }.into_any(),
        Kind::Link => view! { <LinkBody signal=signal.clone()/> }.into_any(),
        Kind::Image => view! { <ImageBody signal=signal.clone()/> }.into_any(),
        Kind::Group => view! { <GroupLabel signal=signal.clone() renaming=renaming/> }.into_any(),
        Kind::Board => view! { <PinnedBoard signal=signal.clone()/> }.into_any(),
        Kind::File => view! { <FileBody signal=signal.clone()/> }.into_any(),
    };
    let handles = (kind != Kind::Group).then(|| {
        board_model::Side::ALL
            .map(|side| {
                view! {
                    <div class=format!("connect-handle {}", side.as_str()) data-handle="connect"
                        data-side=side.as_str() title="Drag to another card to connect" aria-hidden="true"></div>
                }
            })
            .collect_view()
    });
    view! {
        <div class=class style=style data-card-id=id.to_string() data-kind=kind.as_str()
            tabindex="-1" role="group" aria-roledescription="card" aria-label=move || spoken.get()>
            {body}
            {handles}
            <div class="resize-handle" data-handle="resize" aria-hidden="true"></div>
        </div>
    }
}

/// A group's label, on the frame's top edge (dragging it moves the group;
/// double-clicking it renames).
#[component]
fn GroupLabel(signal: ArcRwSignal<CardView>, renaming: RwSignal<Option<CardId>>) -> impl IntoView {
    let id = signal.with_untracked(|c| c.id);
    let label = Memo::new(move |_| signal.with(|c| c.link_title.clone()));
    let editing = Memo::new(move |_| renaming.get() == Some(id));
    move || {
        if editing.get() {
            view! {
                <LabelInput value=label.get_untracked() class="group-label group-label-input"
                    testid="group-label-input" aria_label="Group name"
                    on_keep=Callback::new(move |text: String| { engine::with(|e| e.set_group_label(id, &text)); })
                    on_end=Callback::new(move |()| renaming.set(None))/>
            }
            .into_any()
        } else {
            view! {
                <div class="group-label" data-testid="group-label" title="Double-click to rename">
                    {move || { let label = label.get(); if label.is_empty() { "Group".to_owned() } else { label } }}
                </div>
            }
            .into_any()
        }
    }
}

/// Another board pinned here: its title when this device has it, opened
/// by a double-click.
#[component]
fn PinnedBoard(signal: ArcRwSignal<CardView>) -> impl IntoView {
    // The pinned board's title, when this home has that board.
    let known = RwSignal::new(String::new());
    let board = {
        let signal = signal.clone();
        Memo::new(move |_| {
            signal.with(|c| board_key::link::ShareLink::parse_any(&c.url).ok().map(|l| l.board))
        })
    };
    Effect::new(move |_| {
        let Some(board) = board.get() else { return };
        let library = crate::platform::use_platform().library;
        leptos::task::spawn_local(async move {
            if let Ok(Some(entry)) = library.entry(board).await {
                let _ = known.try_set(entry.title);
            }
        });
    });
    let link = Memo::new(move |_| {
        let title = known.get();
        signal.with(|c| (c.url.clone(), if title.is_empty() { c.link_title.clone() } else { title }))
    });
    view! {
        <div class="pinned-board">
            <div class="pinned-icon" aria-hidden="true">
                <svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round">
                    <rect x="3" y="4" width="18" height="16" rx="2"/><path d="M7 9h5M7 13h8"/>
                </svg>
            </div>
            <div class="link-text">
                <div class="link-title">{move || { let (_, title) = link.get(); if title.is_empty() { "A pinned board".to_owned() } else { title } }}</div>
                <div class="pinned-hint">"Double-click to open"</div>
            </div>
        </div>
    }
}

/// A file a canvas named, by its path (Corkboard keeps it for the way back).
#[component]
fn FileBody(signal: ArcRwSignal<CardView>) -> impl IntoView {
    let path = Memo::new(move |_| signal.with(|c| c.url.clone()));
    view! {
        <div class="link-body file-body">
            <div class="link-icon" aria-hidden="true">
                <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round">
                    <path d="M6 2h8l4 4v16H6z"/><path d="M14 2v4h4"/>
                </svg>
            </div>
            <div class="link-text">
                <div class="link-title">{move || path.get().rsplit('/').next().unwrap_or_default().to_owned()}</div>
                <div class="pinned-hint">{move || path.get()}</div>
            </div>
        </div>
    }
}

#[component]
fn NoteText(signal: ArcRwSignal<CardView>, id: CardId, editing: RwSignal<Option<CardId>>) -> impl IntoView {
    let text = Memo::new(move |_| signal.with(|c| c.text.clone()));
    let node: NodeRef<html::Textarea> = NodeRef::new();
    // Remote edits replace the value; keep the caret where the user's
    // typing was by shifting it past text inserted before it.
    Effect::new(move |_| {
        let text = text.get();
        let Some(area) = node.get() else { return };
        let old = area.value();
        if old == text {
            return;
        }
        let focused = crate::dom::document()
            .and_then(|d| d.active_element())
            .is_some_and(|a| a.is_same_node(Some(area.unchecked_ref())));
        if !focused {
            area.set_value(&text);
            return;
        }
        let (start, end) = (
            area.selection_start().ok().flatten().unwrap_or(0),
            area.selection_end().ok().flatten().unwrap_or(0),
        );
        let shift = |pos: u32| shift_caret(&old, &text, pos);
        area.set_value(&text);
        let _ = area.set_selection_range(shift(start), shift(end));
    });
    let rendered = Memo::new(move |_| crate::markdown::to_html(&text.get()));
    view! {
        <div class="note-md" data-testid="note-markdown" inner_html=move || rendered.get()></div>
        <textarea
            node_ref=node
            class="note-text"
            placeholder="Type something…"
            spellcheck="false"
            prop:value=move || text.get_untracked()
            on:focus=move |_| {
                editing.set(Some(id));
                engine::with(|e| {
                    e.begin_text_edit(id);
                    if !e.is_selected(id) {
                        e.select_only(Some(id));
                    }
                });
            }
            on:blur=move |_| {
                if editing.get_untracked() == Some(id) {
                    editing.set(None);
                }
                engine::with(|e| e.end_text_edit());
            }
            on:input=move |ev| {
                let value = event_target_value(&ev);
                engine::with(|e| e.set_text(id, &value));
            }
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape"
                    && let Some(area) = node.get_untracked()
                {
                    let _ = area.blur();
                }
                ev.stop_propagation();
            }
        ></textarea>
    }
}

/// Where a caret at UTF-16 offset `pos` in `old` belongs in `new`.
pub fn shift_caret(old: &str, new: &str, pos: u32) -> u32 {
    let old16: Vec<u16> = old.encode_utf16().collect();
    let new16: Vec<u16> = new.encode_utf16().collect();
    let prefix = old16.iter().zip(&new16).take_while(|(a, b)| a == b).count();
    let max_suffix = old16.len().min(new16.len()) - prefix;
    let suffix =
        old16.iter().rev().zip(new16.iter().rev()).take(max_suffix).take_while(|(a, b)| a == b).count();
    let pos = pos as usize;
    if pos <= prefix {
        pos as u32
    } else if pos >= old16.len() - suffix {
        (pos + new16.len() - old16.len()) as u32
    } else {
        (new16.len() - suffix) as u32
    }
}

#[component]
fn LinkBody(signal: ArcRwSignal<CardView>) -> impl IntoView {
    let data = Memo::new(move |_| signal.with(|c| (c.url.clone(), c.link_title.clone())));
    let host = move || {
        let (url, _) = data.get();
        url.split("://").nth(1).unwrap_or(&url).split('/').next().unwrap_or_default().to_owned()
    };
    let title = move || {
        let (url, title) = data.get();
        if title.trim().is_empty() { url } else { title }
    };
    view! {
        <div class="link-body">
            <div class="link-icon" aria-hidden="true">
                <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round">
                    <path d="M10 14a5 5 0 0 0 7.07 0l3-3a5 5 0 0 0-7.07-7.07l-1.5 1.5"/>
                    <path d="M14 10a5 5 0 0 0-7.07 0l-3 3a5 5 0 0 0 7.07 7.07l1.5-1.5"/>
                </svg>
            </div>
            <div class="link-text">
                <div class="link-title">{title}</div>
                <a class="link-url" href=move || data.get().0 target="_blank" rel="noopener noreferrer">
                    {host}" ↗"
                </a>
            </div>
        </div>
    }
}

#[component]
fn ImageBody(signal: ArcRwSignal<CardView>) -> impl IntoView {
    let image = Memo::new(move |_| signal.with(|c| c.image.clone()));
    move || match image.get() {
        Some(image) => match image.src {
            Some(src) => view! {
                <img class="image" src=src alt=image.file_name.clone() draggable="false" decoding="async"/>
            }
            .into_any(),
            None => {
                let percent = (image.progress.unwrap_or(0.0) * 100.0).round();
                let label = if percent > 0.0 {
                    format!("Receiving image… {percent}%")
                } else {
                    "Waiting for a peer who has this image…".to_owned()
                };
                view! {
                    <div class="image-pending" data-testid="image-pending">
                        <div class="image-pending-label">{label}</div>
                        <div class="progress"><div class="progress-bar" style=format!("width:{percent}%")></div></div>
                    </div>
                }
                .into_any()
            }
        },
        None => view! { <div></div> }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::shift_caret;

    #[test]
    fn caret_moves_past_text_inserted_before_it() {
        assert_eq!(shift_caret("hello world", "oh hello world", 6), 9);
        assert_eq!(shift_caret("hello world", "hello world!", 3), 3);
        assert_eq!(shift_caret("hello world", "hello", 11), 5);
    }
}
