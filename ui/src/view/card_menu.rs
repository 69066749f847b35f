//! A card's menu, opened by a long press (touch has no right button and no
//! toolbar within reach of a thumb): its colour, bring to front, delete.

use board_model::CardId;
use leptos::prelude::*;

use super::swatches::PresetSwatches;
use crate::engine;
use crate::view_model::BoardSignals;

/// The menu's size, for keeping it on screen.
const WIDTH: f64 = 232.0;
const HEIGHT: f64 = 112.0;

#[component]
pub fn CardMenu(signals: BoardSignals) -> impl IntoView {
    move || {
        let (id, (x, y)) = signals.card_menu.get()?;
        let (w, h) = signals.viewport.get_untracked();
        // Above the finger, kept inside the board.
        let left = (x - WIDTH / 2.0).clamp(8.0, (w - WIDTH - 8.0).max(8.0));
        let top = if y - HEIGHT - 24.0 >= 8.0 {
            y - HEIGHT - 24.0
        } else {
            (y + 24.0).min((h - HEIGHT - 8.0).max(8.0))
        };
        let close = move || signals.card_menu.set(None);
        let act = move |f: fn(&mut engine::Engine, CardId)| {
            move |_| {
                engine::with(|e| f(e, id));
                close();
            }
        };
        Some(view! {
            <div class="card-menu" role="menu" aria-label="Card" data-testid="card-menu"
                style=format!("left:{left}px;top:{top}px;")
                on:pointerdown=|ev| ev.stop_propagation()>
                <PresetSwatches testid="card-menu-color" none_title="No colour" menu=true
                    pick=Callback::new(move |color| {
                        engine::with(|e| e.color_selection(color));
                        close();
                    })/>
                <div class="card-menu-row">
                    <button class="button small" role="menuitem" data-testid="card-menu-front"
                        on:click=act(|e, id| e.bring_to_front(&[id]))>"Bring to front"</button>
                    <button class="button small danger" role="menuitem" data-testid="card-menu-delete"
                        on:click=act(|e, _| e.delete_selection())>"Delete"</button>
                </div>
            </div>
        })
    }
}
