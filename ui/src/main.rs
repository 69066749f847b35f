//! The web app's entry point (Trunk builds this binary); everything is in the library.

fn main() {
    corkboard_ui::run();
}
