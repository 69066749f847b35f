//! Integration tests of board-model, compiled as one binary.

mod board;
mod edges;
mod fuzz_crashers;
mod harness;
mod history;
mod session;
mod support;
