//! The native menu. Items that are the web app's business are emitted to it
//! as `desktop_wire::event::MENU` events carrying a `desktop_wire::MenuItem`
//! (on Linux also undo and redo, where GTK has no predefined undo; and the
//! exports, which the page makes and hands back to `save_file`); "Import…"
//! opens the native file dialog and emits `desktop_wire::event::IMPORT_FILE`
//! with each chosen path, whose bytes the web app then fetches with
//! `read_import_file`.
//!
//! Shortcuts are menu accelerators only where the web app has no meaning of
//! its own for the keys, since an accelerator takes the key before the
//! webview sees it (Ctrl+Z inside a note must stay the note's text undo).

use desktop_wire::{MenuItem, event};
use tauri::menu::{Menu, MenuBuilder, MenuEvent, MenuItemBuilder, SubmenuBuilder};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_dialog::DialogExt;

use crate::state::{Desktop, lock};

/// Extensions the import dialog shows (the bytes are checked when read).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "gif", "webp", "bmp"];
/// Board files the import dialog shows: JSON Canvas, a zip of one, a backup.
pub const BOARD_EXTENSIONS: [&str; 3] = ["canvas", "zip", "corkboard"];

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let item = |id: &str, text: &str, accelerator: Option<&str>| {
        let builder = MenuItemBuilder::with_id(id, text);
        match accelerator {
            Some(accelerator) => builder.accelerator(accelerator),
            None => builder,
        }
        .build(app)
    };
    let file = SubmenuBuilder::new(app, "File")
        .item(&item(MenuItem::NewBoard.id(), "New board", Some("CmdOrCtrl+N"))?)
        .item(&item("import", "Import…", Some("CmdOrCtrl+O"))?)
        .separator()
        .item(&item(MenuItem::ExportCanvas.id(), "Export as JSON Canvas…", None)?)
        .item(&item(MenuItem::ExportSvg.id(), "Export as SVG…", None)?)
        .item(&item(MenuItem::ExportPng.id(), "Export as PNG…", None)?)
        .item(&item(MenuItem::ExportBackup.id(), "Back up (.corkboard)…", None)?)
        .separator()
        .item(&item("quit", "Quit", Some("CmdOrCtrl+Q"))?)
        .build()?;
    let edit = SubmenuBuilder::new(app, "Edit");
    let edit = if cfg!(target_os = "linux") {
        edit.item(&item(MenuItem::Undo.id(), "Undo", None)?).item(&item(MenuItem::Redo.id(), "Redo", None)?)
    } else {
        edit.undo().redo()
    };
    let edit = edit.separator().cut().copy().paste().separator().select_all().build()?;
    let view = SubmenuBuilder::new(app, "View")
        .item(&item(MenuItem::ZoomIn.id(), "Zoom in", Some("CmdOrCtrl+="))?)
        .item(&item(MenuItem::ZoomOut.id(), "Zoom out", Some("CmdOrCtrl+-"))?)
        .item(&item(MenuItem::ZoomFit.id(), "Zoom to fit", None)?)
        .build()?;
    let help = SubmenuBuilder::new(app, "Help")
        .item(&item(MenuItem::Help.id(), "Keyboard shortcuts", Some("F1"))?)
        .build()?;
    MenuBuilder::new(app).items(&[&file, &edit, &view, &help]).build()
}

pub fn on_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        "quit" => app.exit(0),
        "import" => import_file(app),
        id => {
            let Some(item) = MenuItem::from_id(id) else { return };
            if let Err(error) = app.emit(event::MENU, item) {
                tracing::warn!(%error, "could not pass a menu action to the web app");
            }
        }
    }
}

fn import_file<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    let mut all = IMAGE_EXTENSIONS.to_vec();
    all.extend(BOARD_EXTENSIONS);
    let mut dialog = app
        .dialog()
        .file()
        .set_title("Import")
        .add_filter("Images and boards", &all)
        .add_filter("Images", &IMAGE_EXTENSIONS)
        .add_filter("Boards (JSON Canvas, zip, backup)", &BOARD_EXTENSIONS);
    if let Some(window) = app.get_webview_window("main") {
        dialog = dialog.set_parent(&window);
    }
    dialog.pick_files(move |files| {
        for file in files.unwrap_or_default() {
            let Ok(path) = file.into_path() else { continue };
            if let Some(state) = handle.try_state::<Desktop>() {
                lock(&state.granted_files).insert(path.clone());
            }
            if let Err(error) = handle.emit(event::IMPORT_FILE, path.to_string_lossy()) {
                tracing::warn!(%error, "could not pass the chosen file to the web app");
            }
        }
    });
}
