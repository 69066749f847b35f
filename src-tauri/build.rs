//! Tauri's build step: reads `tauri.conf.json` and the capabilities, and
//! generates the app's context here rather than in `generate_context!`, so
//! that a rebuilt web app (`ui/dist`) or icon is embedded again by a plain
//! `cargo build` (the build script reruns when they change).

fn main() {
    println!("cargo:rerun-if-changed=capabilities");
    let attributes = tauri_build::Attributes::new().codegen(tauri_build::CodegenContext::new());
    if let Err(error) = tauri_build::try_build(attributes) {
        // A build script reports failure by panicking: there is no other way.
        panic!("tauri-build failed: {error:#}");
    }
}
