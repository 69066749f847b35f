#![no_main]
//! Fuzz target: board_model::fuzzing::frames must return for any input, never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = board_model::fuzzing::frames(data);
});
