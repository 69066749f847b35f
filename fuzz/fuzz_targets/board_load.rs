#![no_main]
//! Fuzz target: board_model::fuzzing::board_load must return for any input, never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = board_model::fuzzing::board_load(data);
});
