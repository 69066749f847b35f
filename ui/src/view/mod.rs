//! What the user sees: the home screen and the board page (with its parts:
//! the title bar, menus, gestures, keys and cards). Views read signals and
//! call the engine; they are the only code that touches the DOM besides
//! the web-based homes in `platform`.

pub mod board_page;
pub mod card_menu;
pub mod card_view;
pub mod edges;
pub mod file_menu;
pub mod find_bar;
pub mod gestures;
pub mod history_panel;
pub mod home;
pub mod keys;
pub mod label_input;
pub mod menus;
pub mod swatches;
pub mod top_bar;
