//! The colour presets as a row of swatches, "no colour" first: the colours
//! of the selected cards, of the selected edge and of a card's menu. Each
//! swatch says its colour's name to assistive technology.

use board_model::Color;
use leptos::prelude::*;

use crate::view_model::PRESETS;

#[component]
pub fn PresetSwatches(
    /// Each swatch's `data-testid`: `{testid}-none`, `{testid}-1` … `{testid}-6`.
    testid: &'static str,
    /// What "no colour" means here ("No colour", "Default colour").
    none_title: &'static str,
    /// Round swatches (an edge's line colour) rather than square (a card's).
    #[prop(optional)]
    round: bool,
    /// Items of a menu (`role="menuitem"`) rather than buttons of a toolbar.
    #[prop(optional)]
    menu: bool,
    /// Called with the colour picked.
    pick: Callback<Option<Color>>,
) -> impl IntoView {
    let role = menu.then_some("menuitem");
    let presets = PRESETS
        .iter()
        .enumerate()
        .map(|(i, (name, css))| {
            let preset = (i + 1) as u8;
            view! {
                <button class="swatch" class:round=round title=*name aria-label=*name role=role
                    style=format!("background:{css}") data-testid=format!("{testid}-{preset}")
                    on:click=move |_| pick.run(Some(Color::Preset(preset)))>
                </button>
            }
        })
        .collect_view();
    view! {
        <span class="swatches" data-testid=format!("{testid}s")>
            <button class="swatch none" title=none_title aria-label=none_title role=role
                data-testid=format!("{testid}-none") on:click=move |_| pick.run(None)></button>
            {presets}
        </span>
    }
}
