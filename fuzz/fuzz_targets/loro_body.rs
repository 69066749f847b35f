#![no_main]
//! Fuzz target: board_model::fuzzing::loro_body must return for any blob
//! body behind a valid Loro header (magic and checksum fixed up), never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = board_model::fuzzing::loro_body(data);
});
