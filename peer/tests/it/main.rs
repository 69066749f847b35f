//! The native peer's integration tests: disk storage and the command line.

mod cli;
mod network;
mod storage;
mod support;
