//! The history panel: a slider through the board's changes (the board shows
//! each step, read-only, live as it is dragged), the sessions of work
//! (who, when, how many cards; a click goes to a session's end), and
//! "restore this version", "restore the selected cards" (select cards in
//! the past to bring just them back) / "copy to a new board".

use leptos::prelude::*;

use crate::dom;
use crate::engine;
use crate::view_model::{BoardSignals, HistoryView, SessionView};

/// "7 Dec 2026, 09:10", or what to say when the time was not recorded.
fn when(secs: i64) -> String {
    if secs > 0 { dom::local_date_time(secs) } else { "a time not recorded".to_owned() }
}

fn session_line(session: &SessionView) -> (String, String) {
    let time = if session.from <= 0 {
        "Before times were recorded".to_owned()
    } else if session.to - session.from < 60 {
        when(session.from)
    } else {
        format!("{} – {}", when(session.from), dom::local_time(session.to))
    };
    let who = if session.authors.is_empty() { "Someone".to_owned() } else { session.authors.join(", ") };
    let changes = engine::plural(session.changes, "change", "changes");
    let cards = engine::plural(session.cards, "card", "cards");
    (time, format!("{who} · {changes} · {cards}"))
}

#[component]
pub fn HistoryPanel(signals: BoardSignals) -> impl IntoView {
    move || match signals.history.get() {
        Some(view) => Some(view! { <Panel view=view signals=signals/> }.into_any()),
        None if signals.history_reading.get() => Some(view! { <Reading/> }.into_any()),
        None => None,
    }
}

/// The panel's title and its "Done" (which also stops a reading).
#[component]
fn Header() -> impl IntoView {
    view! {
        <header class="history-header">
            <h2>"History"</h2>
            <button class="button ghost small" data-testid="history-close" aria-label="Close the history"
                on:click=move |_| { engine::with(|e| e.close_history()); }>"Done"</button>
        </header>
    }
}

/// The panel while the board's history is read (the board stays as it is, editable).
#[component]
fn Reading() -> impl IntoView {
    view! {
        <aside class="history-panel" data-testid="history" data-reading="true" aria-label="Board history" aria-busy="true"
            on:pointerdown=|ev| ev.stop_propagation() on:keydown=|ev| ev.stop_propagation()>
            <Header/>
            <p class="history-note" role="status">"Reading the board's history…"</p>
        </aside>
    }
}

#[component]
fn Panel(view: HistoryView, signals: BoardSignals) -> impl IntoView {
    let steps = view.steps;
    let step = move || signals.history.with(|h| h.as_ref().map_or(steps, |h| h.step));
    let showing = move || {
        signals.history.with(|h| {
            let Some(h) = h else { return String::new() };
            if h.step == h.steps {
                "Now".to_owned()
            } else if h.step == 0 {
                "Before the first change".to_owned()
            } else {
                when(h.at)
            }
        })
    };
    let at_now = move || step() == steps;
    let begins = match (view.trimmed, view.begins_at) {
        (true, Some(at)) => Some(format!(
            "Older history was trimmed when this board was compacted; it begins on {}.",
            when(at)
        )),
        (true, None) => {
            Some("Older history was trimmed when this board was compacted; it begins here.".to_owned())
        }
        (false, _) => None,
    };
    let sessions = view
        .sessions
        .iter()
        .rev()
        .map(|session| {
            let (time, what) = session_line(session);
            let end = session.end;
            view! {
                <li>
                    <button class="history-session" data-testid="history-session" class:current=move || step() == end
                        on:click=move |_| { engine::with(|e| e.show_step(end)); }>
                        <span class="history-session-time">{time}</span>
                        <span class="history-session-what">{what}</span>
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <aside class="history-panel" data-testid="history" aria-label="Board history"
            data-ready=move || signals.history_ready.get().to_string()
            on:pointerdown=|ev| ev.stop_propagation() on:keydown=|ev| ev.stop_propagation()>
            <Header/>
            {begins.map(|text| view! { <p class="history-note" data-testid="history-trimmed">{text}</p> })}
            <label class="history-showing">
                <span>"Showing: "<strong data-testid="history-showing">{showing}</strong></span>
                <input type="range" class="history-slider" data-testid="history-slider" min="0" max=steps.to_string()
                    step="1" prop:value=move || step().to_string() aria-label="Moment in the board's history"
                    on:input=move |ev| {
                        if let Ok(step) = event_target_value(&ev).parse::<usize>() {
                            engine::with(|e| e.show_step(step));
                        }
                    }/>
            </label>
            <div class="history-actions">
                <button class="button small" data-testid="history-restore" disabled=at_now
                    title="Make the board look like this again, as a new change everyone sees (Undo takes it back)"
                    on:click=move |_| { engine::with(|e| e.restore_shown()); }>"Restore this version"</button>
                <button class="button small" data-testid="history-restore-cards"
                    disabled=move || at_now() || signals.selection_count.get() == 0
                    title="Bring back the selected cards as they were here; the rest of the board stays as it is now"
                    on:click=move |_| { engine::with(|e| e.restore_shown_cards()); }>
                    {move || match signals.selection_count.get() {
                        0 | 1 => "Restore the selected card".to_owned(),
                        n => format!("Restore the {n} selected cards"),
                    }}
                </button>
                <button class="button small" data-testid="history-copy" title="A new board holding the board as it was here"
                    on:click=move |_| leptos::task::spawn_local(engine::copy_shown_to_new_board())>"Copy to a new board"</button>
            </div>
            <h3 class="history-subtitle">"Sessions"</h3>
            <ol class="history-sessions" data-testid="history-sessions">{sessions}</ol>
        </aside>
    }
}

/// Over the board while it shows the past: which moment, read-only.
#[component]
pub fn HistoryBanner(signals: BoardSignals) -> impl IntoView {
    move || {
        let text = signals.history.with(|h| {
            let h = h.as_ref()?;
            (h.step < h.steps).then(|| match h.step {
                0 => "The board before its first change (read-only)".to_owned(),
                _ => format!("The board on {} (read-only)", when(h.at)),
            })
        })?;
        Some(
            view! { <div class="read-only-banner history-banner" role="status" data-testid="history-banner">{text}</div> },
        )
    }
}
