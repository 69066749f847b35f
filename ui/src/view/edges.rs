//! The edges layer: one SVG over the groups and under the other cards,
//! each edge reading only its two cards' signals (so it follows them during
//! anyone's drag, this user's or a peer's) and drawn with a stroke of the
//! same width at every zoom; and the edge being drawn from a card's handle.

use board_model::End;
use leptos::prelude::*;

use super::label_input::LabelInput;
use crate::engine;
use crate::view_model::{BoardSignals, CardView, EdgeView};
use board_picture::geometry::{self as edge_geometry, EdgeShape, Rect};

fn rect(view: &CardView) -> Rect {
    Rect { x: view.x, y: view.y, w: view.w, h: view.h }
}

/// The edges drawn: those near the view, like the cards
/// ([`crate::view_model::Region`]).
fn drawn_edges(signals: BoardSignals) -> Memo<Vec<EdgeView>> {
    Memo::new(move |_| {
        let (width, height) = signals.viewport.get();
        let region = signals.camera.get().drawn_region(width, height);
        signals.geometry.track();
        signals.edges.with(|edges| engine::edges_drawn_in(edges, &region))
    })
}

#[component]
pub fn EdgesLayer(signals: BoardSignals) -> impl IntoView {
    let connecting = move || {
        let (from, side, to) = signals.connecting.get()?;
        let card = engine::card_signal(from)?;
        let shape = card.with(|view| edge_geometry::to_point(rect(view), side, to));
        Some(view! {
            <g class="edge connecting" data-testid="edge-preview">
                <path class="edge-line" d=shape.d.clone()></path>
                {shape.arrows.into_iter().map(|points| view! { <polygon class="edge-arrow" points=points></polygon> }).collect_view()}
            </g>
        })
    };
    let drawn = drawn_edges(signals);
    view! {
        <svg class="edges" aria-hidden="true">
            <For
                each=move || drawn.get()
                key=|edge| edge.clone()
                children=move |edge| view! { <EdgeElement edge=edge signals=signals/> }
            />
            {connecting}
        </svg>
    }
}

#[component]
fn EdgeElement(edge: EdgeView, signals: BoardSignals) -> impl IntoView {
    let (Some(from), Some(to)) = (engine::card_signal(edge.from), engine::card_signal(edge.to)) else {
        return ().into_any();
    };
    let id = edge.id;
    let selected = Memo::new(move |_| signals.selected_edge.get() == Some(id));
    let (from_side, to_side, from_end, to_end) = (edge.from_side, edge.to_side, edge.from_end, edge.to_end);
    let shape: Memo<EdgeShape> = Memo::new(move |_| {
        let (a, b) = (from.with(rect), to.with(rect));
        edge_geometry::shape(a, from_side, from_end, b, to_side, to_end)
    });
    let style = edge.color.as_ref().map(|color| format!("--edge:{color}"));
    let ends = format!("{}-{}", end_name(from_end), end_name(to_end));
    view! {
        <g class="edge" class:selected=move || selected.get() style=style data-edge-id=id.to_string()
            data-from=edge.from.to_string() data-to=edge.to.to_string() data-ends=ends
            data-label=edge.label.clone()>
            <path class="edge-hit" d=move || shape.with(|s| s.d.clone())></path>
            <path class="edge-line" d=move || shape.with(|s| s.d.clone())></path>
            {move || shape.with(|s| s.arrows.clone()).into_iter()
                .map(|points| view! { <polygon class="edge-arrow" points=points></polygon> })
                .collect_view()}
        </g>
    }
    .into_any()
}

/// Edge labels, in a layer over the cards (an edge runs under the cards it
/// passes, its label stays readable). `data-label-of` names the edge.
#[component]
pub fn EdgeLabelsLayer(signals: BoardSignals) -> impl IntoView {
    let drawn = drawn_edges(signals);
    view! {
        <svg class="edges edge-labels" aria-hidden="true">
            <For
                each=move || drawn.with(|edges| edges.iter().filter(|e| !e.label.is_empty()).cloned().collect::<Vec<_>>())
                key=|edge| edge.clone()
                children=move |edge| view! { <EdgeLabel edge=edge signals=signals/> }
            />
            {move || {
                let id = signals.labelling.get()?;
                let edge = signals.edges.with_untracked(|edges| edges.iter().find(|e| e.id == id).cloned())?;
                Some(view! { <EdgeLabelEditor edge=edge signals=signals/> })
            }}
        </svg>
    }
}

#[component]
fn EdgeLabel(edge: EdgeView, signals: BoardSignals) -> impl IntoView {
    let (Some(from), Some(to)) = (engine::card_signal(edge.from), engine::card_signal(edge.to)) else {
        return ().into_any();
    };
    let id = edge.id;
    let selected = Memo::new(move |_| signals.selected_edge.get() == Some(id));
    let (from_side, to_side, from_end, to_end) = (edge.from_side, edge.to_side, edge.from_end, edge.to_end);
    let middle = Memo::new(move |_| {
        let (a, b) = (from.with(rect), to.with(rect));
        edge_geometry::shape(a, from_side, from_end, b, to_side, to_end).middle
    });
    view! {
        <text class="edge-label" class:selected=move || selected.get() data-label-of=id.to_string()
            class:hidden=move || signals.labelling.get() == Some(id)
            text-anchor="middle" dominant-baseline="middle"
            x=move || middle.get().x y=move || middle.get().y>{edge.label.clone()}</text>
    }
    .into_any()
}

/// An edge's label written in place, at the middle of its curve: Enter
/// keeps it, Escape leaves it as it was.
#[component]
fn EdgeLabelEditor(edge: EdgeView, signals: BoardSignals) -> impl IntoView {
    let (Some(from), Some(to)) = (engine::card_signal(edge.from), engine::card_signal(edge.to)) else {
        return ().into_any();
    };
    let id = edge.id;
    let (from_side, to_side, from_end, to_end) = (edge.from_side, edge.to_side, edge.from_end, edge.to_end);
    let middle = Memo::new(move |_| {
        let (a, b) = (from.with(rect), to.with(rect));
        edge_geometry::shape(a, from_side, from_end, b, to_side, to_end).middle
    });
    const WIDTH: f64 = 220.0;
    view! {
        <foreignObject class="edge-label-editor" width=WIDTH height="30"
            x=move || middle.get().x - WIDTH / 2.0 y=move || middle.get().y - 15.0>
            <LabelInput value=edge.label.clone() class="edge-label-input" testid="edge-label-input"
                aria_label="Edge label"
                on_keep=Callback::new(move |text: String| { engine::with(|e| e.set_edge_label(id, &text)); })
                on_end=Callback::new(move |()| signals.labelling.set(None))/>
        </foreignObject>
    }
    .into_any()
}

fn end_name(end: End) -> &'static str {
    end.as_str()
}
