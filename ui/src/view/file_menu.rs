//! The board's File menu: export as a JSON Canvas zip, an SVG or PNG of
//! the board (or only the selection), or a `.corkboard` backup; import a
//! board file; open the version history. The same export runs from the
//! desktop's native menu.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::engine::{self, ExportBody, ExportFormat};
use crate::notify;
use crate::platform::use_platform;
use crate::view_model::BoardSignals;

/// Makes the file and hands it to the home to save (a download, or the
/// desktop's save dialog); says how it went.
pub fn export(format: ExportFormat, selection_only: bool) {
    let shell = use_platform().shell;
    leptos::task::spawn_local(async move {
        let Some(made) = engine::with(|e| e.export(format, selection_only)) else { return };
        let file = match made {
            Ok(file) => file,
            Err(error) => return notify::error(&format!("The export failed: {error}.")),
        };
        let bytes = match file.body {
            ExportBody::Bytes(bytes) => Ok(bytes),
            ExportBody::Zip(entries) => crate::file_worker::zip(entries).await,
            ExportBody::Png(svg) => crate::file_worker::png(svg).await,
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(error) => return notify::error(&format!("“{}” could not be made: {error}.", file.name)),
        };
        match shell.save_file(&file.name, file.media_type, bytes).await {
            Ok(Some(place)) => notify::info(&format!("Saved {place}.")),
            Ok(None) => {}
            Err(error) => notify::error(&format!("“{}” could not be saved: {error}", file.name)),
        }
    });
}

#[component]
pub fn FileMenu(open: RwSignal<bool>, signals: BoardSignals) -> impl IntoView {
    let selection_only = RwSignal::new(false);
    let has_selection = move || signals.selection_count.get() > 0;
    let import_input = NodeRef::<leptos::html::Input>::new();
    let run = move |format: ExportFormat| {
        export(format, selection_only.get_untracked() && has_selection());
        open.set(false);
    };
    let on_chosen = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        if let Some(files) = input.files() {
            let at = engine::with(|e| e.view_center()).unwrap_or(board_model::Point { x: 0.0, y: 0.0 });
            super::keys::add_files(files, at);
        }
        input.set_value("");
        open.set(false);
    };
    view! {
        <div class="menu file-menu" data-testid="file-menu" on:pointerdown=|ev| ev.stop_propagation()>
            <div class="menu-title">"Export"</div>
            <button class="menu-item" data-testid="export-canvas" on:click=move |_| run(ExportFormat::CanvasZip)>
                "JSON Canvas (.zip)" <span class="menu-hint">"Obsidian and other canvas apps"</span>
            </button>
            <button class="menu-item" data-testid="export-svg" on:click=move |_| run(ExportFormat::Svg)>
                "SVG picture" <span class="menu-hint">"sharp at any size"</span>
            </button>
            <button class="menu-item" data-testid="export-png" on:click=move |_| run(ExportFormat::Png)>
                "PNG picture" <span class="menu-hint">"twice the board's size"</span>
            </button>
            {move || has_selection().then(|| view! {
                <label class="menu-check">
                    <input type="checkbox" data-testid="export-selection" prop:checked=move || selection_only.get()
                        on:change=move |ev| selection_only.set(event_target_checked(&ev))/>
                    "Pictures of the selection only"
                </label>
            })}
            <button class="menu-item" data-testid="export-backup" on:click=move |_| run(ExportFormat::Backup)>
                "Backup (.corkboard)" <span class="menu-hint">"whole history and images; holds the board's key"</span>
            </button>
            <div class="menu-sep"></div>
            <button class="menu-item" data-testid="import" on:click=move |_| {
                if let Some(input) = import_input.get_untracked() { input.click(); }
            }>
                "Import…" <span class="menu-hint">".canvas, a zip of one, a .corkboard backup, images"</span>
            </button>
            <input node_ref=import_input type="file" accept=".canvas,.zip,.corkboard,image/*" multiple class="hidden"
                data-testid="import-input" on:change=on_chosen/>
            <div class="menu-sep"></div>
            <button class="menu-item" data-testid="open-history" on:click=move |_| {
                open.set(false);
                leptos::task::spawn_local(engine::open_history_view());
            }>
                "Version history…" <span class="menu-hint">"the board at any moment; restore or copy it"</span>
            </button>
        </div>
    }
}
