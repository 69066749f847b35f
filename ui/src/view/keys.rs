//! The keyboard and the clipboard on the board page: shortcuts for every
//! action, copy/cut/paste of cards, text, links and images, files dropped
//! or chosen, and the small prompts for links.

use board_model::{CardId, Color, Kind, Point};
use leptos::prelude::*;

use super::gestures::Canvas;
use crate::dom;
use crate::engine;
use crate::images;
use crate::notify;

/// A key pressed anywhere on the page while the board is open.
pub fn on_key(ev: &web_sys::KeyboardEvent, canvas: Canvas, help: RwSignal<bool>, find: RwSignal<bool>) {
    let signals = canvas.signals;
    let command = ev.ctrl_key() || ev.meta_key();
    // Find works from anywhere, a note being edited included.
    if command && matches!(ev.key().as_str(), "f" | "F") {
        find.set(true);
        ev.prevent_default();
        return;
    }
    if dom::focus_is_in_text_field() || ev.default_prevented() {
        return;
    }
    let key = ev.key();
    if on_card_key(ev, canvas, &key) {
        ev.prevent_default();
        return;
    }
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
        (true, "g" | "G") => {
            // A new group is named at once, in place.
            if let Some(group) = engine::with(|e| e.group_selection()).flatten() {
                signals.renaming.set(Some(group));
            }
        }
        (true, "=" | "+") => canvas.zoom_by(1.25),
        (true, "-") => canvas.zoom_by(1.0 / 1.25),
        (true, "0") => canvas.zoom_to(1.0),
        (false, "Delete" | "Backspace") => {
            engine::with(|e| {
                if !e.delete_selected_edge() {
                    e.delete_selection();
                }
            });
        }
        (false, "Escape") => {
            help.set(false);
            find.set(false);
            canvas.signals.card_menu.set(None);
            engine::with(|e| e.close_history());
            engine::with(|e| {
                e.select_only(None);
                e.select_edge(None);
            });
        }
        (false, "n" | "N") => {
            let at = canvas.view_center();
            engine::with(|e| e.add_note(at, ""));
        }
        (false, "Enter") => {
            let note = engine::with(|e| {
                let selection = e.selection();
                (selection.len() == 1)
                    .then(|| selection[0])
                    .filter(|id| e.board().card(*id).is_some_and(|c| c.kind() == Kind::Note))
            })
            .flatten();
            match note {
                Some(id) => signals.focus_request.set(Some(id)),
                None => handled = false,
            }
        }
        (false, "?") => help.update(|h| *h = !*h),
        (false, "!") if ev.shift_key() => canvas.zoom_to_fit(),
        // Alt+arrows nudge (keyboard users, whose arrows move between
        // cards); plain arrows too when no card has the focus (a mouse user's
        // selection).
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

/// The card that has the keyboard focus, if one has.
pub fn focused_card() -> Option<CardId> {
    let active = dom::document()?.active_element()?;
    active.get_attribute("data-card-id")?.parse().ok()
}

/// Gives card `id` the keyboard focus (and selects it), panning the view to
/// it when it is off screen.
pub fn focus_card(canvas: Canvas, id: CardId) {
    if let Some(card) = engine::card_signal(id) {
        let rect = card.with_untracked(|v| (v.x, v.y, v.x + v.w, v.y + v.h));
        canvas.reveal(rect);
    }
    if !focus_drawn_card(id) {
        // Off in the board, the card is drawn once the view has come to it.
        request_animation_frame(move || {
            focus_drawn_card(id);
        });
    }
}

/// Focuses card `id`'s element, if it is drawn.
fn focus_drawn_card(id: CardId) -> bool {
    let Some(element) = dom::document()
        .and_then(|d| d.query_selector(&format!(r#"[data-card-id="{id}"]"#)).ok().flatten())
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
    else {
        return false;
    };
    let options = web_sys::FocusOptions::new();
    options.set_prevent_scroll(true);
    element.focus_with_options(&options).is_ok()
}

/// Keys for the card that has the focus (or for the board, to reach the
/// cards): Tab and Shift+Tab go through the cards in reading order, arrows
/// to the nearest card that way, Enter edits (a note's text, a link's
/// address, a group's name; opens a pinned board). Whether it was handled.
fn on_card_key(ev: &web_sys::KeyboardEvent, canvas: Canvas, key: &str) -> bool {
    if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
        return false;
    }
    let focused = focused_card();
    let on_board = dom::document()
        .and_then(|d| d.active_element())
        .is_some_and(|a| a.get_attribute("data-testid").as_deref() == Some("board"));
    if focused.is_none() && !on_board {
        return false;
    }
    // Shift+Tab from the board itself leaves it (the cards come after it).
    if focused.is_none() && key == "Tab" && ev.shift_key() {
        return false;
    }
    let direction = match key {
        "ArrowLeft" => Some(engine::Direction::Left),
        "ArrowRight" => Some(engine::Direction::Right),
        "ArrowUp" => Some(engine::Direction::Up),
        "ArrowDown" => Some(engine::Direction::Down),
        _ => None,
    };
    let next = match (key, focused, direction) {
        ("Tab", current, _) => {
            // Past the last card (or before the first) Tab leaves the board as usual.
            engine::with(|e| e.card_in_reading_order(current, !ev.shift_key())).flatten()
        }
        (_, Some(from), Some(direction)) => engine::with(|e| e.card_towards(from, direction)).flatten(),
        (_, None, Some(_)) => engine::with(|e| e.card_in_reading_order(None, true)).flatten(),
        ("Enter", Some(id), _) => {
            edit_card(canvas, id);
            return true;
        }
        _ => return false,
    };
    match next {
        Some(id) => {
            if !ev.shift_key() || key != "Tab" {
                engine::with(|e| e.select_only(Some(id)));
            }
            focus_card(canvas, id);
            true
        }
        // An arrow with nowhere to go stays put.
        None => direction.is_some(),
    }
}

/// What Enter (or a double-click) on a card does.
pub fn edit_card(canvas: Canvas, id: CardId) {
    let kind = engine::card_signal(id).map(|s| s.with_untracked(|v| v.kind));
    match kind {
        Some(Kind::Note) => canvas.signals.focus_request.set(Some(id)),
        Some(Kind::Link) => edit_link(id),
        Some(Kind::Group) => canvas.signals.renaming.set(Some(id)),
        Some(Kind::Board) => super::gestures::open_pinned_board(id),
        _ => {}
    }
}

/// Copy or cut of the selected cards (as text any board can paste).
pub fn on_copy(ev: &web_sys::ClipboardEvent, cut: bool) {
    if dom::focus_is_in_text_field() {
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
pub fn paste_text(text: &str, at: Point) {
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

/// Asks for an address and adds a link card there.
pub fn ask_for_link(at: Point) {
    let Some(window) = dom::window() else { return };
    let asked = window.prompt_with_message_and_default(
        "Link address, or a Corkboard board link to pin that board",
        "https://",
    );
    let Ok(Some(url)) = asked else { return };
    let url = url.trim().to_owned();
    if url.is_empty() || url == "https://" {
        return;
    }
    // A board's share link pins that board here — which shares it.
    if let Ok(link) = board_key::link::ShareLink::parse_any(&url) {
        let sure = window.confirm_with_message(
            "Pin this board here? Everyone on this board will be able to open and edit the pinned board: its link, with its key, becomes part of this board.",
        );
        if sure.unwrap_or(false) {
            engine::with(|e| e.pin_board(at, &link));
        }
        return;
    }
    let url = if url.contains("://") { url } else { format!("https://{url}") };
    engine::with(|e| e.add_link(at, &url, ""));
}

/// Asks for a link card's new address and title.
pub fn edit_link(id: CardId) {
    let Some(window) = dom::window() else { return };
    let Some(card) = engine::with(|e| e.board().card(id)).flatten() else { return };
    let board_model::Content::Link { url, title } = card.content else { return };
    let Ok(Some(new_url)) = window.prompt_with_message_and_default("Link address", &url) else { return };
    let Ok(Some(new_title)) = window.prompt_with_message_and_default("Title (optional)", &title) else {
        return;
    };
    engine::with(|e| e.set_link(id, new_url.trim(), new_title.trim()));
}

/// Most bytes a `.canvas` file may have.
const MAX_CANVAS_BYTES: f64 = 32_000_000.0;
/// Most bytes a zip or backup may have (it holds a board's images).
const MAX_ARCHIVE_BYTES: f64 = 1_000_000_000.0;

/// A board file's bytes.
async fn read_bytes(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let name = file.name();
    let canvas = name.to_ascii_lowercase().ends_with(".canvas");
    let (most, said) = if canvas { (MAX_CANVAS_BYTES, "32 MB") } else { (MAX_ARCHIVE_BYTES, "1 GB") };
    if file.size() > most {
        return Err(format!("“{name}” is too large to import (the limit is {said})."));
    }
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| format!("“{name}” could not be read."))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Reads dropped, pasted or chosen files; images become cards, fanned out
/// from `at`; a board file — a JSON Canvas (`.canvas`), a zip of one, or a
/// `.corkboard` backup — comes in with its cards and edges there (a backup
/// merges, or opens its board); anything else gets a clear message.
pub fn add_files(files: web_sys::FileList, at: Point) {
    let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
    leptos::task::spawn_local(async move {
        for (i, file) in files.iter().enumerate() {
            let name = file.name();
            if engine::is_board_file(&name, &[]) {
                match read_bytes(file).await {
                    Ok(bytes) => {
                        if !engine::import_board_file(name.clone(), bytes, at).await {
                            notify::error(&format!("“{name}” is not a board file Corkboard reads."));
                        }
                    }
                    Err(message) => notify::error(&message),
                }
                continue;
            }
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
